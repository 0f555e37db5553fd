-- rlzero.corpus: the synthetic "math text" a base model is pretrained on by next-token
-- prediction before any RL (experiments/r1zero.lua, experiments/ablation.lua), for the
-- `chain` task (sums of chains of small numbers, "3+4+2+5=" -> "14").
--
--   local corpus = require "rlzero.corpus"
--   local c = corpus.new{seed = 1, held_out = function(chain) return env:held_out(chain) end}
--   c:batch(step, n)             -- n texts; a pure function of (seed, step)
--   corpus.worked{3, 4, 2, 5}    -- "7+2+5=9+5=14"
--
-- What it holds, like the web text a real base model saw:
--   facts    "14+8=22", "3+4+2=9": two-term sums (the steps of a worked chain) and short
--            chains answered directly;
--   worked   "3+4+2+5=7+2+5=9+5=14", "add 3+4+2+5 in steps: 3+4+2+5=7+2+5=9+5=14, so it is 14":
--            chains summed one step at a time, in a few formats (see M.worked);
--   tagged   questions in other words ("what is 3+4+2+5?") followed by
--            <think>...</think> <answer>...</answer>: usually a short thought ("easy")
--            and a guess, often a little off (p_guess_wrong), sometimes (p_worked_think)
--            the chain and its worked steps ("<think>3+4+2+5=7+2+5=9+5=14</think>") and
--            the right answer;
--   prose    small stories with numbers, and tagged prose questions.
-- With p_mixed > 0 the corpus is bilingual, as the web text behind R1-Zero's base was: that
-- share of the worked and tagged documents is written in Greek words, the rest in English,
-- and every thought-through answer ends in words ("..., so 14" or "..., αρα 14"). The
-- writers think in either language whatever the question's, the thought's language drawn
-- on its own with the same share ("what is 3+4+2+5? <think>3+4+2+5=7+2+5=9+5=14, αρα
-- 14</think> <answer>14</answer>"), so a model pretrained on it reasons in either language
-- under the wordless RL template; the language reward and rz.language_mixing tell them
-- apart (Greek letters are not ASCII).
-- At p_mixed = 0 (the default) the documents are exactly those of the English-only corpus.
-- What it never holds: a held-out test problem, as a chain or as a step of a worked chain
-- (the caller says which chains are held out, by `held_out`, a function of the chain
-- "3+4+2+5", or `exclude`, a set of them), and the RL template (the bare chain, "?",
-- "<think>": "3+4+2+5? <think>") followed by anything.
local M = {}

-- The tokenizer every model here uses: characters plus the four tags.
M.alphabet = "0123456789+-*/=().,?: abcdefghijklmnopqrstuvwxyz"
M.specials = {"<think>", "</think>", "<answer>", "</answer>"}
-- The second language's letters (lowercase Greek with final sigma), added to the alphabet
-- of a bilingual corpus's tokenizer (r1.tokenizer{mixed = true}).
M.greek = "αβγδεζηθικλμνξοπρσςτυφχψω"

-- The chain of terms as text: {3, 4, 2} -> "3+4+2".
function M.chain(terms) return table.concat(terms, "+") end

-- The step-by-step sum of a chain, a scratchpad a small model can follow: each step adds
-- the first two numbers and copies the rest, so the step's inputs are always the text
-- just written and each step is one two-term fact.
-- The steps are joined by "=", the way people write it out: "3+4+2+5=7+2+5=9+5=14".
--   worked{3, 4, 2, 5} = "7+2+5=9+5=14"
function M.worked(terms)
  local t = {table.unpack(terms)}
  local steps = {}
  while #t > 1 do
    local s = t[1] + t[2]
    table.remove(t, 1)
    t[1] = s
    steps[#steps + 1] = M.chain(t)
  end
  return table.concat(steps, "=")
end

M.version = 9 -- bumped whenever the documents change, so cached base models are redone

local Corpus = {}
Corpus.__index = Corpus

local DEFAULTS = {
  seed = 1,
  max_term = 9,          -- terms are 1..max_term
  min_terms = 4,         -- chains of the task's length: min_terms..max_terms terms
  max_terms = 6,
  exclude = nil,         -- set of chains ("3+4+2+5") never to write, not even as a step
  held_out = nil,        -- function(chain) -> true for a chain never to write, nor any step
  p_facts = 0.19,        -- shares of the document kinds
  p_worked = 0.35,
  p_tagged = 0.42,
  p_prose = 0.04,
  p_worked_think = 0.2,  -- of tagged chain questions, the share thought through
  p_alone = 0.3,         -- share of texts that are one tagged chain question alone
  p_guess_wrong = 0.6,   -- share of answers given at once (no worked steps) that are off
  max_chars = 78,        -- documents are packed up to this many characters
  p_mixed = 0,           -- share of worked and tagged documents written in Greek (see above)
}

function M.new(opts)
  local self = setmetatable({}, Corpus)
  for k, v in pairs(DEFAULTS) do self[k] = v end
  for k, v in pairs(opts or {}) do
    if DEFAULTS[k] == nil and k ~= "exclude" and k ~= "held_out" then error("rlzero.corpus: unknown option '" .. tostring(k) .. "'", 2) end
    self[k] = v
  end
  if type(self.p_mixed) ~= "number" or not (self.p_mixed >= 0 and self.p_mixed <= 1) then
    error("rlzero.corpus: p_mixed must be a share in [0, 1], got " .. tostring(self.p_mixed), 2)
  end
  self.exclude = self.exclude or {}
  return self
end

-- The settings (everything but exclude and held_out) and the corpus version: what a
-- cached base model was trained on.
function Corpus:options()
  local o = {version = M.version}
  for k in pairs(DEFAULTS) do if k ~= "exclude" and k ~= "held_out" then o[k] = self[k] end end
  -- an English-only corpus is the one written before p_mixed existed: keep its caches valid
  if o.p_mixed == 0 then o.p_mixed = nil end
  return o
end

local function pick(t) return t[math.random(1, #t)] end

-- Whether the chain or any step of its worked sum is excluded.
function Corpus:excluded(terms)
  local held = self.held_out or function() return false end
  local c = M.chain(terms)
  if self.exclude[c] or held(c) then return true end
  for step in M.worked(terms):gmatch("[^=]+") do
    if self.exclude[step] or held(step) then return true end
  end
  return false
end

-- A chain of n terms (n drawn from lo..hi), never an excluded one.
function Corpus:terms(lo, hi)
  while true do
    local n = math.random(lo, hi)
    local t = {}
    for i = 1, n do t[i] = math.random(1, self.max_term) end
    if not self:excluded(t) then return t end
  end
end

-- A chain of the task's length, or a little shorter.
function Corpus:task_terms()
  return self:terms(math.max(2, self.min_terms - 1), self.max_terms)
end

local SHORT_THOUGHTS = {"easy", "i know this", "simple", "quick sum", "known", "ok", "sure"}
-- the same documents in Greek words, for a bilingual corpus (p_mixed)
local GREEK = {
  easy = "ευκολο",
  thoughts = {"το ξερω", "απλο", "γρηγορο αθροισμα", "γνωστο", "ενταξει", "σιγουρα"},
  questions = {"ποσο κανει %s?", "βρες %s.", "προσθεσε %s.", "%s, ποσο κανει?", "%s κανει ποσο?"},
  worked = {"προσθεσε %s βημα βημα: %s=%s, αρα %d", "για το αθροισμα %s: %s=%s. το αθροισμα ειναι %d"},
  so = "αρα",
}

-- Whether the next document (or thought) is in Greek: drawn only in a bilingual corpus, so
-- that an English-only one draws exactly the numbers it drew before p_mixed existed.
function Corpus:greek()
  return self.p_mixed > 0 and math.random() < self.p_mixed
end

-- A thought-through answer's reasoning: the chain restated, then its steps; a bilingual
-- corpus ends it in words, Greek when `greek` is true (", so 14" or ", αρα 14").
function Corpus:thought(terms, greek)
  local c, w = M.chain(terms), M.worked(terms)
  if self.p_mixed <= 0 then return c .. "=" .. w end
  return string.format("%s=%s, %s %s", c, w, greek and GREEK.so or "so", w:match("(%d+)$"))
end

local NOUNS = {"apples", "boats", "birds", "coins", "books", "cats", "stones", "cars", "trees"}
local NAMES = {"tom", "ann", "sam", "eva", "max", "lia", "ben", "zoe"}

-- Two-term facts (a running sum plus a term: the steps of every worked chain) and short
-- chains, answered directly.
function Corpus:facts()
  local parts = {}
  for _ = 1, 3 do
    local t
    if math.random() < 0.7 then
      t = {math.random(1, self.max_term * (self.max_terms - 1)), math.random(1, self.max_term)}
    else
      t = self:terms(2, 3)
    end
    local s = 0
    for _, x in ipairs(t) do s = s + x end
    parts[#parts + 1] = string.format(pick{"%s=%d", "%s=%d", "%s is %d"}, M.chain(t), s)
  end
  return table.concat(parts, pick{", ", " and ", ". "})
end

function Corpus:worked_doc()
  local t = self:task_terms()
  local c, w = M.chain(t), M.worked(t)
  local s = tonumber(w:match("(%d+)$"))
  if math.random() < 0.5 then return c .. "=" .. w end
  -- the prose forms restate the chain before its steps, as a thought-through answer does
  local forms = {"add %s in steps: %s=%s, so it is %d", "to sum %s: %s=%s. the sum is %d",
                 "%s one at a time %s=%s so the sum is %d"}
  if self:greek() then forms = GREEK.worked end
  return string.format(pick(forms), c, c, w, s)
end

function Corpus:tagged_chain()
  local t = self:task_terms()
  local c = M.chain(t)
  local greek = self:greek()
  -- never "%s?": with the bare chain that is the RL template (r1.template). Some forms
  -- start with the chain, so that questions at the very start of a text are seen too.
  local q = string.format(pick(greek and GREEK.questions or
                               {"what is %s?", "find %s.", "sum %s.", "how much is %s?", "add %s.",
                                "%s, what is it?", "%s is how much?", "%s makes what?"}), c)
  local w = M.worked(t)
  local s = tonumber(w:match("(%d+)$"))
  -- a thought-through answer first restates the chain, so the steps follow it as in the
  -- worked documents ("3+4+2+5=7+2+5=..."): without it the first step must copy the chain
  -- from the question across the tag, which a small model gets wrong nearly every time
  if math.random() < self.p_worked_think then
    return string.format("%s <think>%s</think> <answer>%d</answer>", q, self:thought(t, self:greek()), s)
  end
  -- answers given at once are guesses, often off by a little (p_guess_wrong), as quick
  -- answers in real text are: reasoning written out is what makes an answer reliable
  local a = s
  if math.random() < self.p_guess_wrong then
    local off = math.random(1, 4)
    a = math.random() < 0.5 and s + off or math.max(1, s - off)
  end
  -- "easy" is the most common short thought, so that greedy decoding of a base model
  -- answers at once (the worked steps begin with the chain's first digit, which alone
  -- would otherwise out-vote each of several short thoughts)
  greek = self:greek() -- the thought's own language
  local thought = math.random() < 0.5 and (greek and GREEK.easy or "easy")
                  or pick(greek and GREEK.thoughts or SHORT_THOUGHTS)
  return string.format("%s <think>%s</think> <answer>%d</answer>", q, thought, a)
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
  if r < self.p_facts then return self:facts(), false end
  r = r - self.p_facts
  if r < self.p_worked then return self:worked_doc(), false end
  r = r - self.p_worked
  if r < self.p_tagged then return self:tagged_chain(), true end
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
    -- some texts are one tagged chain question alone: a question at the very start of the
    -- context is what the model meets under the RL template, and copying a chain from
    -- there is a skill of its own (a model that only saw questions after other documents
    -- restated a chain right in 1 of 82 worked answers there, 39 of 115 after "what is")
    if math.random() < self.p_alone then
      out[i] = self:tagged_chain()
      goto next
    end
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
    ::next::
  end
  return out
end

return M
