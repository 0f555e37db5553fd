-- make_run.lua: a tiny resumable GRPO run (reverse task, beta = 0) for the episode-log,
-- report and GRPO-resume tests; the pattern an experiment script follows.
--
--   rlzero tests/make_run.lua out=DIR [steps=4] [fresh=true]
local rz = require "rlzero"
local run = require("rlzero.run").open("tiny-grpo", {steps = 4, group = 4, prompts = 3}, ...)
local cfg = run.cfg

local model, start, state = run:resume()
start, state = start or 0, state or {}
if not model then
  local tok = rz.tokenizer.chars{alphabet = "0123456789 abcdefghijklmnopqrstuvwxyz",
                                 specials = {"<think>", "</think>", "<answer>", "</answer>"}}
  model = rz.transformer{tokenizer = tok, dim = 16, layers = 1, heads = 2, context = 40, seed = cfg.seed}
end
local trainer = rz.grpo{policy = model, env = rz.env("reverse(min_len=2,max_len=3)"), group = cfg.group,
                        prompts = cfg.prompts, max_new = 10, lr = 3e-3, seed = cfg.seed,
                        rewards = {accuracy = 1, format = 0.1}, stop = {"</answer>"},
                        template = {suffix = " <think>"}}
if state.trainer then trainer:set_state(state.trainer) end

for step = start + 1, cfg.steps do
  local m = trainer:step()
  run:log(step, m)
  run:episodes(step, trainer:samples())
  run:progress(step, cfg.steps, m)
  local stop = run:should_stop(step)
  if stop or step == cfg.steps then run:save(model, step, {trainer = trainer:state()}) end
  if stop then run:stop(step) end
end
run:results{steps = cfg.steps}
