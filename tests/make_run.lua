-- make_run.lua: a tiny resumable GRPO run (reverse task) for the episode-log, report and
-- GRPO-resume tests; the pattern an experiment script follows. With beta > 0 the KL
-- reference is saved with each checkpoint and put back on resume.
--
--   rlzero tests/make_run.lua out=DIR [steps=4] [beta=0] [ref_reset=0] [w_language=0] [fresh=true]
local rz = require "rlzero"
local run = require("rlzero.run").open("tiny-grpo", {steps = 4, group = 4, prompts = 3, beta = 0.0, ref_reset = 0, w_language = 0.0}, ...)
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
                        rewards = {accuracy = 1, format = 0.1, language = cfg.w_language}, stop = {"</answer>"},
                        template = {suffix = " <think>"}, beta = cfg.beta, ref_reset = cfg.ref_reset}
if state.trainer then trainer:set_state(state.trainer) end
run:restore_reference(trainer, state)
local save_opts = {reference = cfg.beta > 0 and trainer or nil}

for step = start + 1, cfg.steps do
  local m = trainer:step()
  run:log(step, m)
  run:episodes(step, trainer:samples())
  run:progress(step, cfg.steps, m)
  local stop = run:should_stop(step)
  if stop or step == cfg.steps then run:save(model, step, {trainer = trainer:state()}, save_opts) end
  if stop then run:stop(step) end
end
run:results{steps = cfg.steps}
