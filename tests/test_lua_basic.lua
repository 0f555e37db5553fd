-- test_lua_basic.lua: the Lua API for tokenizers, models, optimizers and checkpoints.
local rz = require "rlzero"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")

local tok = rz.tokenizer.chars{alphabet = "abc0123456789", specials = {"<think>", "</think>"}}
T.eq(tok:size(), 3 + 2 + 13, "tokenizer size")
local ids = tok:encode("<think>ab1</think>")
T.eq(#ids, 5, "encode length")
T.eq(ids[1], tok:id("<think>"), "special id")
T.eq(tok:decode(ids), "<think>ab1</think>", "decode round trip")
T.raises(function() tok:encode("abz") end, "'z'", "unknown character named")

local m = rz.transformer{tokenizer = tok, dim = 16, layers = 2, heads = 2, context = 16, seed = 3}
T.eq(m:config().vocab, tok:size(), "vocab from the tokenizer")
T.ok(m:nparams() > 0, "nparams")
local logits = m:forward{{1, 4, 5}, {1, 6, 7}}
local shape = logits:shape()
T.eq(shape[1], 2); T.eq(shape[2], 3); T.eq(shape[3], tok:size(), "logits shape")
T.ok(math.abs(logits[1][3][1]) < 100, "logits finite")
T.eq(#m:tensors(), 1 + 9 * 2 + 1 + 1, "tensor count (embed, 9 per layer, norm, lm_head)")
T.eq(m:tensors()[1].name, "model.embed_tokens.weight", "HF names")

-- training lowers the loss on a fixed batch
local opt = rz.adamw(m, {lr = 1e-2, weight_decay = 0})
local l0 = opt:sft{completions = {"abc123", "cab321"}}
local l
for _ = 1, 30 do l = opt:sft{completions = {"abc123", "cab321"}} end
T.ok(l < l0 * 0.5, string.format("loss fell %.3f -> %.3f", l0, l))
T.eq(m:step(), 31, "optimizer steps counted")

-- checkpoint round trip: same logits bit for bit, tokenizer restored
local dir = os.getenv("TMPDIR") or "/tmp"
local path = string.format("%s/rz-lua-basic-%d.ckpt", dir, os.time())
m:save(path)
local m2, info = rz.load(path)
T.eq(info.step, 31, "step restored")
local a, b = m:forward{{1, 4, 5, 6}}, m2:forward{{1, 4, 5, 6}}
for v = 1, tok:size() do T.eq(a[1][4][v], b[1][4][v], "logit " .. v) end
T.eq(m2:tokenizer():decode(ids), "<think>ab1</think>", "tokenizer restored")
os.remove(path)

-- dynamic sampling: every completion is graded and passed to reward_fn exactly once,
-- however many resampling rounds the step takes
do
  local rtok = rz.tokenizer.chars{alphabet = "0123456789 abcdefghijklmnopqrstuvwxyz",
                                  specials = {"<think>", "</think>", "<answer>", "</answer>"}}
  local pm = rz.transformer{tokenizer = rtok, dim = 16, layers = 1, heads = 2, context = 32, seed = 2}
  local calls, seen = 0, {}
  local tr = rz.grpo{policy = pm, env = rz.env("reverse(min_len=2,max_len=3)"), group = 2,
                     prompts = 2, max_new = 6, dynamic_sampling = true, max_resample = 2,
                     reward_fn = function(item, text) calls = calls + 1; seen[#seen + 1] = text; return 0 end}
  local m = tr:step()
  T.eq(m.completions, 12, "three rounds of 2 prompts x 2 samples (no group informative)")
  T.eq(calls, m.completions, "reward_fn called once per completion")
  T.eq(#tr:samples(), m.completions, "samples cover every round")
  T.eq(tr:samples()[1].completion, seen[1], "first round's sample kept its place")
end

-- config overrides
local c = rz.config({steps = 10, lr = 0.5, name = "x", fresh = false}, {steps = "20", fresh = "true"})
T.eq(c.steps, 20); T.eq(math.type(c.steps), "integer"); T.eq(c.fresh, true); T.eq(c.lr, 0.5)
T.raises(function() rz.config({steps = 10}, {stpes = "3"}) end, "unknown key 'stpes'")

-- JSON
T.eq(rz.json({b = 1, a = {1, 2}}), '{"a":[1,2],"b":1}', "json sorted keys")
T.eq(rz.json_decode('{"x":[1,2.5]}').x[2], 2.5, "json decode")

-- closed objects refuse use
m2:close()
T.raises(function() m2:forward{{1}} end, "closed")
T.eq(tostring(m2), "rz.transformer (closed)")
T.done()
