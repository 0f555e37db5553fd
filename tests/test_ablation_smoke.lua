-- test_ablation_smoke.lua: experiments/ablation.lua end to end at a tiny size: first two
-- arms alone (arms=), then all of them in the same directory, which reuses what the
-- first run left (the small and large base models, small RL, the direct model).
local rz = require "rlzero"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")
local srcdir = os.getenv("srcdir") or "."

local dir = os.tmpname()
os.remove(dir)
local script = assert(loadfile(srcdir .. "/experiments/ablation.lua"))
local function tiny(arms)
  return {out = dir, arms = arms, steps = 2, pretrain_steps = 3, pretrain_batch = 4, eval_items = 12,
          curve_items = 4, eval_k = 2, dim = 16, layers = 1, large_dim = 16, large_layers = 1,
          small_dim = 16, small_layers = 1, heads = 2, group = 2, prompts = 2, eval_every = 1,
          cold_examples = 4, cold_sft_steps = 2, distill_prompts = 4, sft_steps = 2, sft_batch = 4}
end
local function rows(d)
  local res = rz.json_decode(io.open(d .. "/results.json"):read("a"))
  local names = {}
  for _, r in ipairs(res.rows) do
    names[#names + 1] = r.name
    T.ok(r.hard >= 0 and r.hard <= 1, r.name .. ": the hardest slice is scored")
  end
  return table.concat(names, ",")
end

T.ok(not pcall(script, tiny("cold_start")), "cold_start alone is refused: it is measured against r1zero")
T.ok(not pcall(script, tiny("distilled")), "distilled alone is refused: r1zero is its teacher")
local no_curve = tiny("r1zero,cold_start")
no_curve.eval_every = 0
local ok, msg = pcall(script, no_curve)
T.ok(not ok and tostring(msg):find("eval_every", 1, true), "cold start without held-out curves is refused")
T.ok(not pcall(script, tiny("distill")), "an unknown arm is refused")

script(tiny("small_rl,large_direct"))
T.eq(rows(dir), "small_rl,large_direct", "arms= runs only the arms named")
T.ok(not rz.exists(dir .. "/base_main.ckpt"), "no arm asked for the main base model")

script(tiny("all"))
T.eq(rows(dir), "base,r1zero,cold_sft,cold_start,distilled,small_rl,large_direct,r1zero_lang",
     "all arms, the reused ones included")
local md = io.open(dir .. "/results.md"):read("a")
T.ok(md:find("hardest slice: the chains with the most terms (6)", 1, true) ~= nil, "results.md explains the slice")

T.ok(md:find("English only (p_mixed=0)", 1, true) ~= nil, "results.md says the corpus is English only")

-- a bilingual corpus: its own base models (the tokenizer has the Greek letters too), and
-- the language rows measured on it
local mixed = tiny("base,r1zero,r1zero_lang")
mixed.out = dir .. "-mixed"
mixed.p_mixed = 0.5
script(mixed)
T.eq(rows(mixed.out), "base,r1zero,r1zero_lang", "the language arms on a bilingual corpus")
md = io.open(mixed.out .. "/results.md"):read("a")
T.ok(md:find("50% of its worked and tagged documents are in Greek", 1, true) ~= nil, "results.md explains the mixing")
local base = rz.load(mixed.out .. "/base_main.ckpt")
T.ok(pcall(function() return base:tokenizer():encode("αρα 14") end), "the base model's tokenizer has the Greek letters")

os.execute("rm -rf '" .. dir .. "' '" .. mixed.out .. "'")
T.done()
