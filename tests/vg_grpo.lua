-- vg_grpo.lua: a short GRPO run for tests/valgrind.sh (2 steps of a tiny policy, with a
-- reference model, a Lua reward function, a checkpoint save/load and an evaluation).
local rz = require "rlzero"
local tok = rz.tokenizer.chars{alphabet = "0123456789 abcdefghijklmnopqrstuvwxyz",
                               specials = {"<think>", "</think>", "<answer>", "</answer>"}}
local model = rz.transformer{tokenizer = tok, dim = 16, layers = 1, heads = 2, context = 32, seed = 3}
local env = rz.env("reverse(min_len=2,max_len=3)")
local trainer = rz.grpo{policy = model, env = env, group = 2, prompts = 2, max_new = 8,
                        lr = 1e-3, beta = 0.04, rewards = {accuracy = 1, format = 0.1},
                        stop = {"</answer>"}, template = {suffix = " <think>"},
                        reward_fn = function(item, completion) return #completion > 3 and 0.01 or 0 end}
for _ = 1, 2 do
  local m = trainer:step()
  assert(m.completions == 4)
end
assert(#trainer:samples() == 4)
local path = os.tmpname()
model:save(path)
local back = rz.load(path)
os.remove(path)
assert(back:nparams() == model:nparams())
local r = rz.evaluate{model = back, env = env, items = 2, k = 2, max_new = 8}
assert(#r.completions == 2)
print("vg_grpo: ok")
