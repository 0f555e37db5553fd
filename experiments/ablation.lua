-- ablation.lua: the R1 paper's comparisons at desk scale, one table.
--   (1) base            the pretrained model with the template, no training after pretraining
--   (2) r1zero          pure RL (GRPO, accuracy + format rewards) from the base
--   (3) cold_start      SFT on a handful (<= 64) of worked examples, then the same RL; how
--                       many RL steps it needs to reach (2)'s final held-out accuracy
--   (4) distilled       R1-Zero's model (2), larger than the student, writes reasoning for
--                       training problems; the correct ones (rejection sampling) teach a
--                       smaller student by SFT only (distilled needs r1zero)
--   (5) small_rl        the same small student base trained by RL directly
--   (6) large_direct    the larger base trained by SFT on direct answers (no reasoning)
--   (7) r1zero_lang     (2) with the language-consistency reward; language-mixing measured
--                       for every row (meaningful with p_mixed > 0: see below)
--
--   rlzero experiments/ablation.lua [out=runs/ablation] [seed=1] [steps=N] [fresh=true]
--                                   [arms=all | arms=distilled,large_direct,...]
--
-- The task: chains of 4-6 terms up to 99, where a six-term sum carries into every digit,
-- and a corpus whose tagged chain questions are thought through step by step only 5% of
-- the time (p_worked_think; the rest: a short thought and a guess), so the base model
-- rarely reasons inside the template and RL has to bring it out.
-- Measured at these defaults (seed 1; 32-36 min from scratch on two threads, most of it
-- pretraining the three bases):
--   R1-Zero: held-out pass@1 0.020 -> 0.965, mean length 15.4 -> 56.2 tokens.
--   cold start (SFT on 32 worked examples): 0.935 before any RL; reaches 90% and 95% of
--     R1-Zero's final accuracy (0.969, its curve's mean over the last fifth) at RL step 1,
--     R1-Zero at step 20, and 100% of it at step 35 vs 40; both end on the same plateau
--     (0.960 vs 0.965 at the end).
--   distillation (1000 traces of R1-Zero's model): the 64/2 student beats RL on the same
--     student (0.745 vs 0.655; hardest slice 0.696 vs 0.565) and the 128/4 model
--     fine-tuned on direct answers on the hardest slice (0.696 vs 0.058).
-- Other settings ("old kernels": measured before the kernels were built with fused
-- multiply-adds, which changed every run's last bits; a run now gives nearby figures, not
-- those exactly):
--   one-digit terms, max_term=9 context=80 max_new=64 p_worked_think=0.2 (36 min, one
--     thread, old kernels): R1-Zero 0.185 -> 1.000; cold start at 90/95% of R1-Zero's final at step 1
--     vs 30; distilled beats small RL (0.985 vs 0.965) but NOT the direct model on the
--     hardest slice (0.957 vs 1.000): a 128/4 model sums six one-digit terms at once.
--   p_worked_think=0.2 with two-digit terms (old kernels): the base already reasons in the template
--     sometimes and R1-Zero reaches 0.90 within 15 steps, so cold start is ahead only at
--     90% (step 1 vs 15), not at 95% (35 vs 15).
--   p_mixed=0.5, a bilingual corpus (arms=base,r1zero,r1zero_lang: 10 min on two threads;
--     measured with the current kernels at seeds 1 and 2). With the English-only default
--     the reasoning has no letters to mix, and r1zero_lang repeats R1-Zero's row. Here the
--     base reasons mostly in Greek (0.995 and 0.770 of the greedy reasoning's letters).
--     Pure RL sheds part of it on its own: its samples' language reward goes 0.45 -> 0.91
--     and 0.49 -> 0.72 from the first to the last tenth of the steps (greedy mixing 0.000
--     and 0.125). The language reward takes both to 1.000 (samples 0.52 -> 1.000 and
--     0.54 -> 0.999, mixing 0.000), here at no cost in accuracy (0.710 vs 0.675 and 0.615
--     vs 0.585; hardest slice 0.275 vs 0.290 and 0.274 vs 0.151). With the old kernels
--     seed 1 had pure RL keep mixing throughout (0.855; samples 0.45 in both tenths) and
--     the reward cost a little accuracy (0.745 vs 0.760): whether pure RL drifts to one
--     language is a property of the run, removing the mixing is the reward's. All arms at
--     p_mixed=0.5 (32 min, old kernels): cold start
--     reasons in English (mixing 0.000) and reaches R1-Zero's final accuracy (0.742) at
--     step 10, R1-Zero at 105; but the 64/2 student learns neither way (distilled 0.025,
--     small RL 0.020), so distillation does not reproduce there.
--
-- arms= names the arms to run (base, r1zero, cold_start, distilled, small_rl,
-- large_direct, r1zero_lang; cold_start and distilled need r1zero), for short runs that look at a few;
-- a later run of all of them in the same directory reuses what those left.
--
-- Each arm keeps its own directory (metrics.jsonl, checkpoints) under the run directory and
-- resumes; base models are cached. Outputs: results.json, results.md, accuracy.svg,
-- length.svg, samples.md (R1-Zero's completions).
local rz = require "rlzero"
local corpus = require "rlzero.corpus"
local r1 = require "rlzero.r1"
local Run = require "rlzero.run"

local run = Run.open("ablation", {
  steps = 200, seed = 1,
  max_term = 99, -- the chain task's largest term (see above for 9)
  p_worked_think = 0.05,
  p_mixed = 0.0, -- share of the corpus's worked and tagged documents in Greek (see above)
  -- the three sizes: main (as in r1zero.lua, the teacher), large (direct answers), small (student)
  dim = 96, layers = 3, large_dim = 128, large_layers = 4, small_dim = 64, small_layers = 2,
  -- max_term=99 needs context = 104: six terms of 99 make a template prompt of 20 tokens
  -- (21 with the start of text) and a worked answer of 74 (75 with the end of text)
  heads = 4, context = 104,
  pretrain_steps = 3200, pretrain_batch = 64, pretrain_lr = 4e-3,
  group = 8, prompts = 8, lr = 1e-4, temperature = 1.0, max_new = 80,
  w_accuracy = 1.0, w_format = 0.2, w_language = 0.2,
  cold_examples = 32, cold_sft_steps = 40,
  distill_prompts = 1024, distill_samples = 2, sft_steps = 200, sft_batch = 32, sft_lr = 2e-3,
  eval_items = 200, eval_k = 8, eval_every = 5, curve_items = 200,
  arms = "all",
}, ...)
local cfg = run.cfg
local t_start = rz.clock()
assert(cfg.cold_examples <= 64, "cold start uses at most 64 examples")
local ARMS = {"base", "r1zero", "cold_start", "distilled", "small_rl", "large_direct", "r1zero_lang"}
local arm = {}
for name in cfg.arms:gmatch("[^,%s]+") do
  if name == "all" then for _, a in ipairs(ARMS) do arm[a] = true end
  else
    local known = false
    for _, a in ipairs(ARMS) do known = known or a == name end
    assert(known, "ablation: unknown arm '" .. name .. "' (arms are " .. table.concat(ARMS, ", ") .. ")")
    arm[name] = true
  end
end
assert(not arm.cold_start or arm.r1zero, "ablation: cold_start is measured against r1zero: run both")
assert(not arm.cold_start or cfg.eval_every > 0,
       "ablation: cold_start is measured on the held-out curves: eval_every must be > 0")
assert(not arm.distilled or arm.r1zero, "ablation: distilled learns from r1zero's traces: run both")

local env = rz.env(string.format("chain(min_terms=4,max_terms=6,max_term=%d,equals=0)", cfg.max_term))
local tok = r1.tokenizer{mixed = cfg.p_mixed > 0}
-- documents are packed to the context, less room for the end of text
local c = r1.corpus(env, {seed = cfg.seed, p_worked_think = cfg.p_worked_think, p_mixed = cfg.p_mixed,
                          max_chars = cfg.context - 2})
local corpus_opts = c:options()

local function base_model(name, dim, layers)
  return (r1.pretrain{path = string.format("%s/base_%s.ckpt", run.dir, name), tokenizer = tok, corpus = c,
                      corpus_opts = corpus_opts, dim = dim, layers = layers, heads = cfg.heads,
                      context = cfg.context, steps = cfg.pretrain_steps, batch = cfg.pretrain_batch,
                      lr = cfg.pretrain_lr, seed = cfg.seed, fresh = cfg.fresh, name = "pretrain " .. name})
end

local function arm_run(name)
  return Run.open("ablation/" .. name, {}, {out = run.dir .. "/" .. name, seed = cfg.seed,
                                            steps = cfg.steps, fresh = cfg.fresh})
end

local function rl(name, model, rewards)
  local ar = arm_run(name)
  local m = r1.rl{run = ar, model = model, env = env, steps = cfg.steps, group = cfg.group,
                  prompts = cfg.prompts, lr = cfg.lr, temperature = cfg.temperature,
                  max_new = cfg.max_new, rewards = rewards, seed = cfg.seed,
                  eval_every = cfg.eval_every, eval_items = cfg.curve_items, ckpt_every = 20,
                  name = name}
  return m, ar
end

-- Held-out metrics plus language mixing (share of non-ASCII letters in the reasoning) and
-- the hardest slice: the longest chains of the task.
local function nterms(prompt)
  local n = 1
  for _ in prompt:gmatch("%+") do n = n + 1 end
  return n
end
local max_terms = tonumber(env:name():match("max_terms=(%d+)"))
local hard_items -- the size of the hardest slice (the same items for every arm)
local function evaluate(model)
  local ev = r1.evaluate{model = model, env = env, items = cfg.eval_items, k = cfg.eval_k,
                         max_new = cfg.max_new, seed = cfg.seed}
  local mix, hard, hard_n = 0, 0, 0
  for i, text in ipairs(ev.completions) do
    local reasoning = text:match("^(.-)</think>") or text
    mix = mix + rz.language_mixing(reasoning)
    if nterms(ev.items[i].prompt) >= max_terms then
      hard_n = hard_n + 1
      hard = hard + (ev.correct[i] and 1 or 0)
    end
  end
  ev.mixing = mix / #ev.completions
  ev.hard = hard_n > 0 and hard / hard_n or 0 / 0
  ev.hard_items = hard_n
  hard_items = hard_n
  return ev
end

local rows, curves = {}, {}
local function record(name, what, ev, extra)
  local r = {name = name, what = what, pass1_greedy = ev.pass1_greedy, pass1_sampled = ev.pass1_sampled,
             maj_k = ev.maj_k, pass_k = ev.pass_k, format = ev.format, language = ev.language,
             mixing = ev.mixing, hard = ev.hard, len = ev.len_mean}
  for k, v in pairs(extra or {}) do r[k] = v end
  rows[#rows + 1] = r
  print(string.format("%-13s pass@1 %.3f  sampled %.3f  maj@k %.3f  hardest %.3f  length %.1f", name,
                      ev.pass1_greedy, ev.pass1_sampled, ev.maj_k, ev.hard, ev.len_mean))
end

-- Worked prompt/completion pairs from training items (cold start's handful).
local function worked_pairs(n, first)
  local ps, cs = {}, {}
  for i = 0, n - 1 do
    local it = env:item("train", first + i)
    local terms = {}
    for t in it.prompt:gmatch("%d+") do terms[#terms + 1] = tonumber(t) end
    ps[#ps + 1] = it.prompt .. r1.template.suffix
    -- the chain restated, then its steps: the corpus's form of a thought-through answer
    -- (in English, for a bilingual corpus: the language of a readable cold start)
    cs[#cs + 1] = c:thought(terms, false) .. "</think> <answer>" .. it.answer .. "</answer>"
  end
  return ps, cs
end

-- (1), (2)
local base
if arm.base or arm.r1zero or arm.r1zero_lang then base = base_model("main", cfg.dim, cfg.layers) end
if arm.base then record("base", "pretrained only", evaluate(base)) end
local r1lines, target, r1zero = {}, nil, nil
-- the language reward of the sampled RL completions (the share of their reasoning's letters
-- in the prompt's script) over the first and last tenth of the steps, with and without it
local lang_rl = {}
local function record_lang_rl(name, lines)
  local first, last = r1.start_end(lines, "language", cfg.steps)
  lang_rl[#lang_rl + 1] = {name = name, first = first, last = last}
end
if arm.r1zero then
  local r1run
  r1zero, r1run = rl("r1zero", base, {accuracy = cfg.w_accuracy, format = cfg.w_format})
  record("r1zero", "pure RL", evaluate(r1zero))
  curves[#curves + 1] = {name = "r1zero", dir = r1run.dir}
  r1lines = r1.read_metrics(r1run.dir)
  -- its final accuracy: the mean of its held-out curve over the last fifth of the steps,
  -- steadier than the last point alone
  target = r1.mean_over(r1lines, "eval_pass1", cfg.steps * 4 // 5 + 1, cfg.steps)
  record_lang_rl("r1zero", r1lines)
end
local function first_reaching(lines, t)
  for _, m in ipairs(lines) do if m.eval_pass1 and m.eval_pass1 >= t then return m.step end end
  return nil
end

-- (3) cold start: fresh copy of the base, SFT on a handful, then RL
if arm.cold_start then
  local cold_dir = run.dir .. "/cold_start"
  rz.mkdir(cold_dir)
  local sft_path = cold_dir .. "/sft.ckpt"
  local m
  if not cfg.fresh and rz.exists(sft_path) then m = rz.load(sft_path)
  else
    m = rz.load(run.dir .. "/base_main.ckpt")
    local ps, cs = worked_pairs(cfg.cold_examples, 0)
    r1.sft{model = m, prompts = ps, completions = cs, steps = cfg.cold_sft_steps, batch = cfg.cold_examples,
           lr = cfg.sft_lr, seed = cfg.seed, name = "cold start sft"}
    m:save(sft_path)
  end
  local after_sft = evaluate(m)
  record("cold_sft", string.format("SFT on %d worked examples, no RL", cfg.cold_examples), after_sft)
  local cm, crun = rl("cold_start", m, {accuracy = cfg.w_accuracy, format = cfg.w_format})
  -- the first curve step at 90%, 95% and 100% of R1-Zero's final accuracy, for both runs
  -- (-1: never): a final accuracy near 1 is reached exactly only by chance
  local clines, reach = r1.read_metrics(crun.dir), {}
  for _, f in ipairs{0.9, 0.95, 1.0} do
    reach[#reach + 1] = {fraction = f, pass1 = f * target, cold_start = first_reaching(clines, f * target) or -1,
                         r1zero = first_reaching(r1lines, f * target) or -1}
  end
  record("cold_start", string.format("SFT on %d worked examples, then RL", cfg.cold_examples), evaluate(cm),
         {steps_to_r1zero_final = reach[3].cold_start, r1zero_steps_to_final = reach[3].r1zero, reach = reach})
  curves[#curves + 1] = {name = "cold start", dir = crun.dir}
end

-- (4) distillation: R1-Zero's model (2), larger than the student, is the teacher, as R1 was
-- for the paper's small models; (5) RL on the same student base
local large_base, small_base
if arm.large_direct then large_base = base_model("large", cfg.large_dim, cfg.large_layers) end
if arm.distilled or arm.small_rl then small_base = base_model("small", cfg.small_dim, cfg.small_layers) end
if arm.distilled then
  local student_path = run.dir .. "/distilled.ckpt"
  local student
  local kept = 0
  if not cfg.fresh and rz.exists(student_path) then
    local info
    student, info = rz.load(student_path)
    kept = tonumber(info.extra) or 0
  else
    -- traces on training items (never held-out), kept only when right and well formed
    local prompts, items = {}, {}
    for i = 0, cfg.distill_prompts - 1 do
      local it = env:item("train", 100000 + i)
      items[#items + 1] = it
      prompts[#prompts + 1] = it.prompt .. r1.template.suffix
    end
    local outs = r1zero:generate{prompts = prompts, n = cfg.distill_samples, max_new = cfg.max_new,
                                 temperature = 1.0, seed = cfg.seed + 7}
    local ps, cs, seen = {}, {}, {}
    for _, o in ipairs(outs) do
      local it = items[o.prompt]
      local g = env:grade(it, o.text)
      if g.accuracy == 1 and g.format == 1 and not seen[it.prompt .. o.text] then
        seen[it.prompt .. o.text] = true
        ps[#ps + 1], cs[#cs + 1] = prompts[o.prompt], o.text
      end
    end
    kept = #ps
    print(string.format("distillation: kept %d of %d teacher traces", kept, #outs))
    student = rz.load(run.dir .. "/base_small.ckpt")
    if kept > 0 then r1.sft{model = student, prompts = ps, completions = cs, steps = cfg.sft_steps, batch = cfg.sft_batch,
           lr = cfg.sft_lr, seed = cfg.seed, name = "distill sft"} end
    student:save(student_path, {extra = tostring(kept)})
  end
  record("distilled", string.format("small, SFT on %d traces of r1zero", kept), evaluate(student))
end
if arm.small_rl then
  local srl, srun = rl("small_rl", small_base, {accuracy = cfg.w_accuracy, format = cfg.w_format})
  record("small_rl", "small, pure RL", evaluate(srl))
  curves[#curves + 1] = {name = "small RL", dir = srun.dir}
end

-- (6) the larger base on direct answers, as many SFT steps as the student had
if arm.large_direct then
  local path = run.dir .. "/large_direct.ckpt"
  local m
  if not cfg.fresh and rz.exists(path) then m = rz.load(path)
  else
    m = large_base
    local ps, cs = {}, {}
    for i = 0, cfg.sft_steps * cfg.sft_batch // 4 - 1 do
      local it = env:item("train", 200000 + i)
      ps[#ps + 1] = it.prompt .. r1.template.suffix
      cs[#cs + 1] = "easy</think> <answer>" .. it.answer .. "</answer>"
    end
    r1.sft{model = m, prompts = ps, completions = cs, steps = cfg.sft_steps, batch = cfg.sft_batch,
           lr = cfg.sft_lr, seed = cfg.seed, name = "direct sft"}
    m:save(path)
  end
  record("large_direct", "large, SFT on direct answers", evaluate(m))
end

-- (7) the language-consistency reward
if arm.r1zero_lang then
  local lm, lrun = rl("r1zero_lang", rz.load(run.dir .. "/base_main.ckpt"),
                      {accuracy = cfg.w_accuracy, format = cfg.w_format, language = cfg.w_language})
  record("r1zero_lang", "pure RL + language reward", evaluate(lm))
  curves[#curves + 1] = {name = "r1zero+lang", dir = lrun.dir}
  record_lang_rl("r1zero+lang", r1.read_metrics(lrun.dir))
end

r1.plots(run.dir, curves)

local md = {
  "# Ablations\n",
  string.format("Task `%s`; %d held-out items; k = %d samples at temperature 1; %d RL steps per arm; " ..
                "hardest slice: the chains with the most terms (%d), %d of the items, the same for every arm.\n",
                env:name(), cfg.eval_items, cfg.eval_k, cfg.steps, max_terms, hard_items or 0),
  cfg.max_term < 10 and
    "With one-digit terms a larger model fine-tuned on direct answers can sum a whole chain at once, so the " ..
    "hardest slice may not need reasoning; the defaults (terms up to 99) make every column carry.\n" or
    "With two-digit terms a six-term sum carries into every digit; written out, each step is still one sum " ..
    "of two numbers.\n",
  "Test items stay out of every corpus and every fine-tuning set (the env's held-out split).\n",
  string.format("| arm | what | pass@1 greedy | pass@1 sampled | maj@%d | hardest slice | format | language | mixing | length |",
                cfg.eval_k),
  "|---|---|---|---|---|---|---|---|---|---|",
}
for _, r in ipairs(rows) do
  md[#md + 1] = string.format("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.3f | %.1f |", r.name, r.what,
                              r.pass1_greedy, r.pass1_sampled, r.maj_k, r.hard, r.format, r.language,
                              r.mixing, r.len)
end
for _, r in ipairs(rows) do
  if r.reach then
    md[#md + 1] = string.format("\nR1-Zero's final held-out pass@1 (its curve's mean over the last fifth of the steps) " ..
                                "is %.3f. The first RL step (curve every %d steps) at which each run reaches:\n",
                                target, cfg.eval_every)
    md[#md + 1] = "| share of R1-Zero's final | pass@1 | cold start | R1-Zero |\n|---|---|---|---|"
    local function step(s) return s >= 0 and tostring(s) or "never" end
    for _, x in ipairs(r.reach) do
      md[#md + 1] = string.format("| %.0f%% | %.3f | %s | %s |", 100 * x.fraction, x.pass1, step(x.cold_start),
                                  step(x.r1zero))
    end
  end
end
if cfg.p_mixed > 0 then
  md[#md + 1] = string.format("\nMixing is the share of non-ASCII letters in the greedy reasoning. The corpus is " ..
                              "bilingual: %.0f%% of its worked and tagged documents are in Greek words, and its " ..
                              "writers think in Greek %.0f%% of the time whatever the question's language; the " ..
                              "template has no words, so a model may reason in either. The language reward is " ..
                              "the share of the reasoning's letters in the prompt's script (ASCII).",
                              100 * cfg.p_mixed, 100 * cfg.p_mixed)
  if #lang_rl > 0 then
    md[#md + 1] = "\n| run | language reward of the RL samples, first tenth of the steps | last tenth |\n|---|---|---|"
    for _, l in ipairs(lang_rl) do md[#md + 1] = string.format("| %s | %.3f | %.3f |", l.name, l.first, l.last) end
  end
else
  md[#md + 1] = "\nMixing is the share of non-ASCII letters in the reasoning; the corpus is English only (p_mixed=0), " ..
                "so it is 0 by construction and the language reward here only rewards non-empty reasoning " ..
                "(p_mixed=0.5 makes the corpus bilingual)."
end
rz.write_file(run.dir .. "/results.md", table.concat(md, "\n") .. "\n")
local res = {env = env:name(), steps = cfg.steps, rows = rows, wall_seconds = rz.clock() - t_start,
             language_rl = #lang_rl > 0 and lang_rl or nil}
for _, r in ipairs(rows) do res["pass1_" .. r.name] = r.pass1_greedy end
run:results(res)
