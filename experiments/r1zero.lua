-- r1zero.lua: DeepSeek-R1-Zero at desk scale. A small transformer is pretrained by
-- next-token prediction on generated "math text" (rlzero.corpus), then trained by pure RL:
-- GRPO with rule-based rewards only (answer accuracy and the <think>/<answer> format), no
-- supervised data, no reward that depends on length. Held-out accuracy and the length of
-- the responses are measured before, during and after RL.
--
--   rlzero experiments/r1zero.lua [out=runs/r1zero] [seed=1] [steps=N] [fresh=true]
--
-- The base model is cached in the run directory (base.ckpt) and reused by later runs with
-- the same settings; RL resumes from last.ckpt. Outputs: results.json, results.md,
-- metrics.jsonl (one line per RL step), accuracy.svg, length.svg, samples.md.
local rz = require "rlzero"
local r1 = require "rlzero.r1"

local run = require("rlzero.run").open("r1zero", {
  steps = 200,                 -- RL steps
  seed = 1,
  -- sums of 4 to 6 numbers in 1..9: hard at once, easy step by step
  env = "chain(min_terms=4,max_terms=6,max_term=9,equals=0)",
  -- the base model and its pretraining
  dim = 96, layers = 3, heads = 4, context = 80,
  pretrain_steps = 3200, pretrain_batch = 64, pretrain_lr = 4e-3,
  p_worked_think = 0.2,        -- share of tagged chain questions thought through in the corpus
  base = "",                   -- a base.ckpt to start from instead of the cached one
  -- RL
  -- a small learning rate: at 5e-4 RL switches to worked answers within 15 steps, too fast
  -- to watch the length grow (the first 10% of steps are already long)
  group = 8, prompts = 8, lr = 1e-4, temperature = 1.0, max_new = 64,
  w_accuracy = 1.0, w_format = 0.2,
  -- evaluation
  eval_items = 200, eval_k = 8, eval_every = 15, curve_items = 100,
  probe_items = 64,            -- held-out items sampled 4 times each: how often the model works step by step
}, ...)
local cfg = run.cfg
local t_start = rz.clock()

local env = rz.env(cfg.env)
local tok = r1.tokenizer()
print(string.format("r1zero: %s, %d RL steps, %d threads, run directory %s", rz.env(cfg.env):name(),
                    cfg.steps, rz.threads(), run.dir))

-- 1. The base model: pretraining only, never the held-out problems.
local corpus_opts = {seed = cfg.seed, p_worked_think = cfg.p_worked_think}
local base, pinfo
if cfg.base ~= "" then
  base = rz.load(cfg.base)
  pinfo = {cached = true, seconds = 0}
else
  local c = r1.corpus(env, corpus_opts)
  base, pinfo = r1.pretrain{path = run.dir .. "/base.ckpt", tokenizer = tok, corpus = c,
                            corpus_opts = c:options(), dim = cfg.dim, layers = cfg.layers,
                            heads = cfg.heads, context = cfg.context, steps = cfg.pretrain_steps,
                            batch = cfg.pretrain_batch, lr = cfg.pretrain_lr, seed = cfg.seed,
                            fresh = cfg.fresh, name = "pretrain", log = run.dir .. "/pretrain.jsonl"}
end
print(tostring(base))

-- 2. The base model with the template, on held-out items.
local function evaluate(model)
  return r1.evaluate{model = model, env = env, items = cfg.eval_items, k = cfg.eval_k,
                     max_new = cfg.max_new, seed = cfg.seed}
end
local t_eval0 = rz.clock()
local base_eval = evaluate(base)
local eval_seconds = rz.clock() - t_eval0
print(string.format("base: pass@1 greedy %.3f, sampled %.3f, maj@%d %.3f, format %.2f, length %.1f",
                    base_eval.pass1_greedy, base_eval.pass1_sampled, cfg.eval_k, base_eval.maj_k,
                    base_eval.format, base_eval.len_mean))

local function probe(model)
  local p = r1.probe{model = model, env = env, items = cfg.probe_items, n = 4, max_new = cfg.max_new,
                     seed = cfg.seed}
  print(string.format("  sampled: %.0f%% work step by step (right %.2f), the rest answer at once (right %.2f)",
                      100 * p.worked, p.right_worked, p.right_direct))
  return p
end
local base_probe = probe(base)

-- 3. Pure RL from the base.
local t_rl0 = rz.clock()
local model = r1.rl{run = run, model = base, env = env, steps = cfg.steps, group = cfg.group,
                    prompts = cfg.prompts, lr = cfg.lr, temperature = cfg.temperature,
                    max_new = cfg.max_new, rewards = {accuracy = cfg.w_accuracy, format = cfg.w_format},
                    seed = cfg.seed, eval_every = cfg.eval_every, eval_items = cfg.curve_items,
                    ckpt_every = 20, name = "rl"}
local rl_seconds = rz.clock() - t_rl0

-- 4. The trained model on the same held-out items.
local final_eval = evaluate(model)
print(string.format("final: pass@1 greedy %.3f, sampled %.3f, maj@%d %.3f, format %.2f, length %.1f",
                    final_eval.pass1_greedy, final_eval.pass1_sampled, cfg.eval_k, final_eval.maj_k,
                    final_eval.format, final_eval.len_mean))

local final_probe = probe(model)

local lines = r1.read_metrics(run.dir)
local len_start, len_end = r1.length_start_end(lines, cfg.steps)
r1.plots(run.dir, {{name = "r1zero", dir = run.dir}})
r1.samples_md(run.dir, env, base_eval, final_eval, cfg.steps)

local function row(name, ev)
  return string.format("| %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.1f |", name, ev.pass1_greedy,
                       ev.pass1_sampled, ev.maj_k, ev.pass_k, ev.format, ev.len_mean)
end
local md = {
  "# R1-Zero at desk scale\n",
  string.format("Task `%s`, %d held-out items, template `<problem>%s`, k = %d samples at temperature 1.\n",
                env:name(), cfg.eval_items, r1.template.suffix, cfg.eval_k),
  string.format("| model | pass@1 greedy | pass@1 sampled | maj@%d | pass@%d | format | length |", cfg.eval_k, cfg.eval_k),
  "|---|---|---|---|---|---|---|",
  row("base (pretrained only)", base_eval),
  row(string.format("R1-Zero (%d GRPO steps)", cfg.steps), final_eval),
  "",
  string.format("Mean response length during RL: %.1f tokens over the first 10%% of steps, %.1f over the last 10%% (x%.2f).",
                len_start, len_end, len_end / len_start),
  "",
  string.format("Sampled completions that work step by step: %.0f%% of the base model's (right %.2f; " ..
                "those answering at once right %.2f), %.0f%% after RL.", 100 * base_probe.worked,
                base_probe.right_worked, base_probe.right_direct, 100 * final_probe.worked),
  "",
  "Plots: accuracy.svg, length.svg. Completions: samples.md.",
}
rz.write_file(run.dir .. "/results.md", table.concat(md, "\n") .. "\n")

run:results{
  env = env:name(),
  pass1_base = base_eval.pass1_greedy,
  pass1_final = final_eval.pass1_greedy,
  pass1_sampled_base = base_eval.pass1_sampled,
  pass1_sampled_final = final_eval.pass1_sampled,
  maj_k_base = base_eval.maj_k,
  maj_k_final = final_eval.maj_k,
  pass_k_base = base_eval.pass_k,
  pass_k_final = final_eval.pass_k,
  k = cfg.eval_k,
  format_base = base_eval.format,
  format_final = final_eval.format,
  eval_len_base = base_eval.len_mean,
  eval_len_final = final_eval.len_mean,
  worked_base = base_probe.worked,
  worked_final = final_probe.worked,
  right_worked_base = base_probe.right_worked,
  right_direct_base = base_probe.right_direct,
  len_start = len_start,
  len_end = len_end,
  len_ratio = len_end / len_start,
  steps = cfg.steps,
  eval_items = cfg.eval_items,
  params = model:nparams(),
  base_cached = pinfo.cached,
  pretrain_seconds = pinfo.seconds,
  rl_seconds = rl_seconds,
  eval_seconds = eval_seconds,
  threads = rz.threads(),
  wall_seconds = rz.clock() - t_start,
}
