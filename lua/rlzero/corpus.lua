-- rlzero.corpus: the synthetic "math text" a base model is pretrained on by next-token
-- prediction before any RL (experiments/r1zero.lua, experiments/ablation.lua).
--
--   local corpus = require "rlzero.corpus"
--   local c = corpus.new{seed = 1, max_digits = 3, exclude = {["173+288"] = true}}
--   c:batch(step, n)          -- n documents; a pure function of (seed, step)
--   corpus.worked(457, 386)   -- "457+386 7+6+0=13,3 45+38 5+8+1=14,43 4+3 4+3+1=8,843"
--
-- What it holds, like the web text a real base model saw:
--   direct   "457+386=843", "457 plus 386 is 843": answers without work (the bulk);
--   worked   "457+386 by columns 457+386 7+6+0=13,3 ... so 457+386=843": column additions
--            written out right to left (see M.worked);
--   tagged   questions in other words ("what is 457 plus 386?") followed by
--            <think>...</think> <answer>...</answer>, usually a short thought
--            ("easy"), sometimes (p_worked_think) the columns;
--   prose    small stories with numbers, and tagged prose questions.
-- What it never holds: a held-out test problem (the caller passes them as `exclude`, in
-- both orders), and the RL template ("A+B= <think>") followed by anything.
local M = {}

-- The tokenizer every model here uses: characters plus the four tags.
M.alphabet = "0123456789+-*/=().,?: abcdefghijklmnopqrstuvwxyz"
M.specials = {"<think>", "</think>", "<answer>", "</answer>"}

-- The column-by-column work for a + b (a, b >= 0), a scratchpad a small model can follow:
-- before each column the numbers left to add are written out (zero-padded to one width),
-- so the column's digits are always the ones just written; then "x+y+carry=sum,partial"
-- where partial is the answer's digits so far.
--   worked(173, 288) = "173+288 3+8+0=11,1 17+28 7+8+1=16,61 1+2 1+2+1=4,461"
function M.worked(a, b)
  local sa, sb = tostring(a), tostring(b)
  local n = math.max(#sa, #sb)
  sa, sb = string.rep("0", n - #sa) .. sa, string.rep("0", n - #sb) .. sb
  local carry, partial, steps = 0, "", {}
  for i = n, 1, -1 do
    local x, y = tonumber(sa:sub(i, i)), tonumber(sb:sub(i, i))
    local s = x + y + carry
    -- the last column writes its whole sum, so its partial is the answer
    partial = (i == 1 and tostring(s) or tostring(s % 10)) .. partial
    steps[#steps + 1] = string.format("%s+%s %d+%d+%d=%d,%s", sa:sub(1, i), sb:sub(1, i), x, y, carry, s, partial)
    carry = s // 10
  end
  return table.concat(steps, " ")
end

local Corpus = {}
Corpus.__index = Corpus

local DEFAULTS = {
  seed = 1,
  max_digits = 3,        -- operands have 1..max_digits digits
  exclude = nil,         -- set of "a+b" strings never to write (held-out items)
  p_direct = 0.30,       -- shares of the document kinds
  p_worked = 0.30,
  p_tagged = 0.35,
  p_prose = 0.05,
  p_worked_think = 0.15, -- of tagged arithmetic questions, the share thought through
  max_chars = 92,        -- documents are packed up to this many characters
}

function M.new(opts)
  local self = setmetatable({}, Corpus)
  for k, v in pairs(DEFAULTS) do self[k] = v end
  for k, v in pairs(opts or {}) do
    if DEFAULTS[k] == nil and k ~= "exclude" then error("rlzero.corpus: unknown option '" .. tostring(k) .. "'", 2) end
    self[k] = v
  end
  self.exclude = self.exclude or {}
  return self
end

local function pick(t) return t[math.random(1, #t)] end

-- Operands with a uniformly drawn digit count each, never a held-out pair.
function Corpus:operands()
  while true do
    local function num()
      -- half of the operands have the most digits, where the columns matter most
      local d = (self.max_digits == 1 or math.random() < 0.5) and self.max_digits
                or math.random(1, self.max_digits - 1)
      return d == 1 and math.random(0, 9) or math.random(10 ^ (d - 1), 10 ^ d - 1)
    end
    local a, b = num(), num()
    if not self.exclude[a .. "+" .. b] and not self.exclude[b .. "+" .. a] then return a, b end
  end
end

local SHORT_THOUGHTS = {"easy", "i know this", "simple", "quick sum", "known", "ok", "sure"}
local NOUNS = {"apples", "boats", "birds", "coins", "books", "cats", "stones", "cars", "trees"}
local NAMES = {"tom", "ann", "sam", "eva", "max", "lia", "ben", "zoe"}

function Corpus:direct()
  local a, b = self:operands()
  local forms = {
    "%d+%d=%d", "%d+%d=%d", "%d+%d=%d", "we know that %d+%d=%d", "%d plus %d is %d",
  }
  return string.format(pick(forms), a, b, a + b)
end

function Corpus:worked_doc()
  local a, b = self:operands()
  local head = "%d+%d by columns "
  return string.format(head, a, b) .. M.worked(a, b) .. string.format(" so %d+%d=%d", a, b, a + b)
end

function Corpus:tagged_arith()
  local a, b = self:operands()
  local q = string.format(pick{"what is %d plus %d?", "find %d+%d.", "%d+%d?", "%d+%d?"}, a, b)
  local think
  if math.random() < self.p_worked_think then think = M.worked(a, b)
  else think = pick(SHORT_THOUGHTS) end
  return string.format("%s <think>%s</think> <answer>%d</answer>", q, think, a + b)
end

function Corpus:prose()
  local n1, n2 = math.random(1, 30), math.random(1, 30)
  local who, what = pick(NAMES), pick(NOUNS)
  local forms = {
    function() return string.format("%s had %d %s and got %d more, now %s has %d %s.", who, n1, what, n2, who, n1 + n2, what) end,
    function() return string.format("there were %d %s. then %d left, so %d stayed.", n1 + n2, what, n2, n1) end,
    function() return string.format("%s counts %d %s in one row and %d in the other.", who, n1, what, n2) end,
  }
  return pick(forms)()
end

function Corpus:prose_tagged()
  local n1, n2 = math.random(1, 30), math.random(1, 30)
  local who, what = pick(NAMES), pick(NOUNS)
  local forms = {
    function() return string.format("how many %s does %s have? <think>%s has %d</think> <answer>%d</answer>", what, who, who, n1, n1) end,
    function() return string.format("which is more, %d or %d? <think>compare</think> <answer>%d</answer>", n1, n2, math.max(n1, n2)) end,
  }
  return pick(forms)()
end

-- One document and whether it is a tagged question (those end their sequence, so the
-- model learns that "</answer>" is followed by the end of text).
function Corpus:document()
  local r = math.random()
  if r < self.p_direct then return self:direct(), false end
  r = r - self.p_direct
  if r < self.p_worked then return self:worked_doc(), false end
  r = r - self.p_worked
  if r < self.p_tagged then return self:tagged_arith(), true end
  if math.random() < 0.3 then return self:prose_tagged(), true end
  return self:prose(), false
end

-- n texts for pretraining step `step`: documents packed with " " up to max_chars, a
-- tagged question always last. A pure function of (seed, step): resumed runs see the
-- same data.
function Corpus:batch(step, n)
  math.randomseed(self.seed * 1000003 + step * 7919 + 17)
  local out = {}
  for i = 1, n do
    local parts, len = {}, 0
    for _ = 1, 8 do
      local d, tagged = self:document()
      if len == 0 or len + #d + 1 <= self.max_chars then
        parts[#parts + 1] = d
        len = len + #d + 1
        if tagged then break end
      end
      if len >= self.max_chars - 8 then break end
    end
    out[i] = table.concat(parts, " ")
  end
  return out
end

return M
