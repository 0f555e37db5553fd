-- demo.lua: train a small Llama-style transformer on generated arithmetic text and watch
-- its loss fall. The smallest end-to-end use of rlzero: tokenizer, model, AdamW, SFT
-- steps, checkpoints, resume, metrics.jsonl and results.json.
--
--   rlzero experiments/demo.lua [steps=300] [seed=1] [out=runs/demo] [fresh=true]
--
-- Ctrl-C (or SIGTERM) stops it after the current step with a checkpoint; re-running the
-- same command resumes, and the result equals an uninterrupted run bit for bit: step s's
-- batch depends only on (seed, s) and the checkpoint holds the parameters, the AdamW
-- moments and the step.
local rz = require "rlzero"
local run = require("rlzero.run").open("demo", {
  steps = 300, seed = 1, batch = 32, dim = 64, layers = 2, heads = 4, lr = 3e-3,
  log_every = 25,
}, ...)
local cfg = run.cfg

local tok = rz.tokenizer.chars{alphabet = "0123456789+-*= "}

-- Step s's batch depends only on (seed, s), so a resumed run sees the same data.
local function batch(step)
  math.randomseed(cfg.seed * 1000003 + step)
  local texts = {}
  for i = 1, cfg.batch do
    local a, b = math.random(0, 99), math.random(0, 99)
    local op = ({"+", "-", "*"})[math.random(1, 3)]
    local c = op == "+" and a + b or op == "-" and a - b or a * b
    texts[i] = string.format("%d%s%d=%d", a, op, b, c)
  end
  return texts
end

local model, start, state = run:resume()
start, state = start or 0, state or {}
if not model then
  model = rz.transformer{tokenizer = tok, dim = cfg.dim, layers = cfg.layers, heads = cfg.heads,
                         context = 32, seed = cfg.seed}
end
print(tostring(model))
local opt = rz.adamw(model, {lr = cfg.lr, warmup = 20, total_steps = cfg.steps, weight_decay = 0.01})

local first, last = state.loss_first, state.loss_last
for step = start + 1, cfg.steps do
  local t0 = rz.clock()
  local loss, gnorm, ntok, skipped = opt:sft{completions = batch(step), skip_nonfinite = true}
  local dt = rz.clock() - t0
  if skipped then
    run:skip(step, skipped)
  else
    first = first or loss
    last = loss
  end
  local m = {loss = loss, grad_norm = gnorm, lr = opt:lr(step - 1), tokens_per_s = ntok / dt,
             skipped = run.skipped}
  run:log(step, m)
  run:progress(step, cfg.steps, m)
  local stop = run:should_stop(step)
  if stop or step % cfg.log_every == 0 or step == cfg.steps then
    if step % cfg.log_every == 0 or step == cfg.steps then
      print(string.format("step %4d  loss %.4f  grad_norm %.3f", step, loss, gnorm))
    end
    run:save(model, step, {loss_first = first, loss_last = last})
  end
  if stop then run:stop(step) end
end

run:results{loss_first = first, loss_last = last, steps = cfg.steps, params = model:nparams()}
