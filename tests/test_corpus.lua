-- test_corpus.lua: the R1-Zero pretraining corpus keeps clear of every held-out problem,
-- whatever seed the evaluation draws its test items with, and env:held_out is the rule
-- that decides the test split.
local rz = require "rlzero"
local r1 = require "rlzero.r1"
local corpus = require "rlzero.corpus"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")

for _, spec in ipairs{"chain(equals=0)", "chain"} do
  local env = rz.env(spec)
  -- the rule: every seed's test items are held out, no train item is
  local bad = 0
  for _, seed in ipairs{0, 1, 7} do
    for i = 0, 99 do
      if not env:held_out(env:item("test", i, seed).prompt) then bad = bad + 1 end
      if env:held_out(env:item("train", i, seed).prompt) then bad = bad + 1 end
    end
  end
  T.eq(bad, 0, spec .. ": env:held_out holds every test item (3 seeds) and no train item")

  -- the corpus: no chain of the task's shape in 400 texts is held out, as a problem or a step
  local c = r1.corpus(env, {seed = 3})
  local suffix = spec == "chain" and "=" or ""
  local chains, held = 0, {}
  for step = 1, 20 do
    for _, text in ipairs(c:batch(step, 20)) do
      for chain in text:gmatch("[%d+]+") do
        local terms, ok = 0, true
        for t in chain:gmatch("[^+]+") do
          terms = terms + 1
          ok = ok and tonumber(t) and tonumber(t) >= 1 and tonumber(t) <= 9
        end
        if ok and terms >= 4 and terms <= 6 and not chain:match("^%+") and not chain:match("%+$") then
          chains = chains + 1
          if env:held_out(chain .. suffix) then held[#held + 1] = chain end
        end
      end
    end
  end
  T.ok(chains > 300, spec .. ": the texts hold task-shaped chains (" .. chains .. ")")
  T.eq(#held, 0, spec .. ": none is held out (" .. table.concat(held, " ", 1, math.min(#held, 5)) .. ")")
end

-- a bilingual corpus (p_mixed): English and Greek documents, every thought-through answer
-- ending in words of one language, no held-out chain, and a tokenizer that reads it back
do
  local env = rz.env("chain(equals=0)")
  local c = r1.corpus(env, {seed = 3, p_mixed = 0.5, p_worked_think = 0.5})
  local tok = r1.tokenizer{mixed = true}
  local greek, english, thoughts, greek_thoughts, bad_thought, held, roundtrip = 0, 0, 0, 0, 0, 0, 0
  for step = 1, 10 do
    for _, text in ipairs(c:batch(step, 20)) do
      if text:find("αρα", 1, true) or text:find("ποσο", 1, true) or text:find("προσθεσε", 1, true) then
        greek = greek + 1
      end
      if text:find("what is", 1, true) or text:find("add ", 1, true) then english = english + 1 end
      for th in text:gmatch("<think>([^<]*=%d+[^<]*)</think>") do
        if th:find(", αρα %d+$") then greek_thoughts = greek_thoughts + 1
        elseif th:find(", so %d+$") then thoughts = thoughts + 1
        else bad_thought = bad_thought + 1 end
      end
      for chain in text:gmatch("[%d+]+") do
        local n = select(2, chain:gsub("%+", "")) + 1
        if n >= 4 and not chain:match("^%+") and not chain:match("%+$") and env:held_out(chain) then
          held = held + 1
        end
      end
      if tok:decode(tok:encode(text)) == text then roundtrip = roundtrip + 1 end
    end
  end
  T.ok(greek > 20 and english > 20, string.format("both languages are written (%d Greek, %d English texts)", greek, english))
  T.ok(thoughts > 10 and greek_thoughts > 10,
       string.format("thought-through answers in both languages (%d English, %d Greek)", thoughts, greek_thoughts))
  T.eq(bad_thought, 0, "every thought-through answer ends in words")
  T.eq(held, 0, "no held-out chain in the bilingual corpus")
  T.eq(roundtrip, 200, "the bilingual tokenizer reads every text back")
  T.ok(not pcall(function() return r1.tokenizer():encode("αρα") end), "the English tokenizer has no Greek letters")
  T.ok(not pcall(r1.tokenizer, {mixd = true}), "r1.tokenizer refuses an unknown field")
  local ok, msg = pcall(corpus.new, {p_mixed = 1.5})
  T.ok(not ok and tostring(msg):find("p_mixed", 1, true), "a share outside [0, 1] is refused, naming p_mixed")
  T.eq(r1.corpus(env, {seed = 3}):options().p_mixed, nil, "an English-only corpus's options are those of before")
  T.eq(c:options().p_mixed, 0.5, "a bilingual corpus's options name its share")
end

-- without the rule, about 1 in 8 chains would be held out: the check above can fail
local env = rz.env("chain(equals=0)")
local n, h = 0, 0
math.randomseed(5)
for _ = 1, 2000 do
  local t = {}
  for i = 1, math.random(4, 6) do t[i] = math.random(1, 9) end
  n = n + 1
  if env:held_out(corpus.chain(t)) then h = h + 1 end
end
T.ok(h > n / 16 and h < n / 4, string.format("random chains: %d of %d held out", h, n))
T.done()
