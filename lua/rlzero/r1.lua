-- rlzero.r1: the stages of the R1-Zero experiments (experiments/r1zero.lua, ablation.lua):
-- pretraining a base model on the synthetic corpus, supervised fine-tuning, GRPO with rule
-- rewards, held-out evaluation, and the files a run leaves behind (samples, plots, tables).
--
--   local r1 = require "rlzero.r1"
--   local tok = r1.tokenizer()
--   local base = r1.pretrain{path = dir .. "/base.ckpt", tokenizer = tok, corpus = c, ...}
--   local model, info = r1.rl{run = run, model = base, env = env, steps = 200, ...}
--   local ev = r1.evaluate{model = model, env = env, items = 200, k = 8, ...}
local rz = require "rlzero"
local corpus = require "rlzero.corpus"
local plot = require "rlzero.plot"

local M = {}

-- R1-Zero's template adapted to a character tokenizer: the problem (a bare chain: the env
-- is chain(..., equals=0)), "?", then "<think>" so the model starts its reasoning; it must
-- close it and give "<answer>...</answer>". The corpus never holds this form.
M.template = {prefix = "", suffix = "? <think>"}

-- The characters of the corpus plus its four tags; opts.mixed = true adds the second
-- language's letters, for a bilingual corpus (corpus option p_mixed > 0).
function M.tokenizer(opts)
  for k in pairs(opts or {}) do
    if k ~= "mixed" then error("r1.tokenizer: unknown field '" .. tostring(k) .. "'", 2) end
  end
  local alphabet = corpus.alphabet .. ((opts or {}).mixed and corpus.greek or "")
  return rz.tokenizer.chars{alphabet = alphabet, specials = corpus.specials}
end

local function check_fields(o, allowed, what)
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  for k in pairs(o) do
    if not set[k] then error(string.format("%s: unknown field '%s'", what, tostring(k)), 3) end
  end
end

-- The pretraining corpus for a chain env: chains of its lengths and terms, never one that
-- is held out (env:held_out, by the hash that decides every seed's test split), nor any
-- step of one. opts: other corpus options (seed, p_worked_think, ...).
function M.corpus(env, opts)
  local name = env:name()
  assert(name:match("^chain%("), "r1.corpus: the corpus is written for the chain task, not " .. name)
  -- the env writes its prompts with or without a final "=": test the chain as it would
  local suffix = env:item("test", 0).prompt:match("=$") and "=" or ""
  local o = {held_out = function(chain) return env:held_out(chain .. suffix) end}
  for k, v in pairs(opts or {}) do o[k] = v end
  for _, k in ipairs{"min_terms", "max_terms", "max_term"} do
    o[k] = tonumber(name:match("[(,]" .. k .. "=(%d+)"))
  end
  return corpus.new(o)
end

local function append_line(path, s)
  local f = assert(io.open(path, "a"))
  f:write(s, "\n")
  f:close()
end

local function progress_line(name, step, total, text, t0)
  local every = math.max(1, total // 10)
  if step % every == 0 or step == total then
    io.stderr:write(string.format("[%s] step %d/%d %s  %.0fs\n", name, step, total, text, rz.clock() - t0))
  end
end

-- Next-token pretraining on the corpus. Cached: a finished model at `path` whose recorded
-- settings match is loaded instead; an unfinished one resumes from path .. ".partial".
-- -> model, {cached = bool, seconds = ...}
function M.pretrain(o)
  check_fields(o, {"path", "tokenizer", "corpus", "corpus_opts", "dim", "layers", "heads",
                   "context", "steps", "batch", "lr", "seed", "fresh", "name", "log"}, "r1.pretrain")
  local key = rz.json{kind = "base", dim = o.dim, layers = o.layers, heads = o.heads,
                      context = o.context, steps = o.steps, batch = o.batch, lr = o.lr,
                      seed = o.seed, corpus = o.corpus_opts}
  local t0 = rz.clock()
  if not o.fresh and rz.exists(o.path) then
    local m, info = rz.load(o.path)
    if info.extra == key then
      print(string.format("%s: reusing the cached base model %s", o.name or "pretrain", o.path))
      return m, {cached = true, seconds = 0}
    end
    print(string.format("%s: %s was made with other settings; pretraining again", o.name or "pretrain", o.path))
  end
  local partial = o.path .. ".partial"
  local model, start = nil, 0
  if not o.fresh and rz.exists(partial) then
    local info
    model, info = rz.load(partial)
    if info.extra == key then
      start = info.step
      print(string.format("%s: resuming pretraining at step %d", o.name or "pretrain", start))
    else
      model = nil
    end
  end
  if not model then
    model = rz.transformer{tokenizer = o.tokenizer, dim = o.dim, layers = o.layers, heads = o.heads,
                           context = o.context, seed = o.seed}
  end
  local opt = rz.adamw(model, {lr = o.lr, warmup = math.min(50, o.steps // 10), total_steps = o.steps,
                               weight_decay = 0.01, min_lr_ratio = 0.1})
  local loss = 0
  for step = start + 1, o.steps do
    local l, gn, ntok = opt:sft{completions = o.corpus:batch(step, o.batch), truncate = true}
    loss = step == start + 1 and l or 0.95 * loss + 0.05 * l
    if o.log and (step % 25 == 0 or step == o.steps) then
      append_line(o.log, rz.json{step = step, loss = l, loss_ema = loss, grad_norm = gn, tokens = ntok})
    end
    progress_line(o.name or "pretrain", step, o.steps, string.format("loss %.3f", loss), t0)
    local stop = rz.interrupted() -- Ctrl-C / SIGTERM: keep the partial model, resume later
    if stop or (step % 200 == 0 and step < o.steps) then model:save(partial, {extra = key}) end
    if stop then
      io.stderr:write(string.format("[%s] %s at step %d: %s written; re-run the same command to resume\n",
                                    o.name or "pretrain", stop, step, partial))
      os.exit(stop == "SIGINT" and 130 or stop == "SIGTERM" and 143 or 3, true)
    end
  end
  model:save(o.path, {extra = key})
  os.remove(partial)
  return model, {cached = false, seconds = rz.clock() - t0, loss = loss}
end

-- Supervised fine-tuning on prompt/completion pairs (loss on completions only), epochs
-- over the examples in fixed shuffled order.
function M.sft(o)
  check_fields(o, {"model", "prompts", "completions", "steps", "batch", "lr", "seed", "name"}, "r1.sft")
  local opt = rz.adamw(o.model, {lr = o.lr, warmup = math.min(10, o.steps // 10), total_steps = o.steps,
                                 weight_decay = 0.0, min_lr_ratio = 0.1})
  local n = #o.prompts
  local order = {}
  for i = 1, n do order[i] = i end
  math.randomseed(o.seed)
  local pos, loss = n + 1, 0
  local t0 = rz.clock()
  for step = 1, o.steps do
    local ps, cs = {}, {}
    for _ = 1, math.min(o.batch, n) do
      if pos > n then
        for i = n, 2, -1 do local j = math.random(1, i); order[i], order[j] = order[j], order[i] end
        pos = 1
      end
      ps[#ps + 1], cs[#cs + 1] = o.prompts[order[pos]], o.completions[order[pos]]
      pos = pos + 1
    end
    loss = opt:sft{prompts = ps, completions = cs, truncate = true}
    progress_line(o.name or "sft", step, o.steps, string.format("loss %.3f", loss), t0)
  end
  return loss
end

-- Held-out evaluation with the template. -> rz.evaluate's table, plus `items`: the
-- held-out items evaluated, in the order of its completions
function M.evaluate(o)
  check_fields(o, {"model", "env", "items", "k", "max_new", "temperature", "seed", "first"}, "r1.evaluate")
  local seed, first = o.seed or 1, o.first or 0
  local ev = rz.evaluate{model = o.model, env = o.env, items = o.items, k = o.k or 0, max_new = o.max_new,
                         temperature = o.temperature or 1.0, seed = seed, template = M.template,
                         first = first}
  -- the items evaluated: rz.evaluate draws them with its seed, which need not be the env's
  ev.items = {}
  for i = 1, o.items do ev.items[i] = o.env:item("test", first + i - 1, seed) end
  return ev
end

-- Whether a completion's reasoning holds a worked step ("7+2+5=9+5", "12+4=16").
function M.is_worked(text)
  local reasoning = text:match("^(.-)</think>") or text
  return reasoning:match("%d+%+%d+[+=]") ~= nil
end

-- Sampled completions with the template on the first `items` held-out items: the share
-- that work step by step, the accuracy of those and of the others. RL can only amplify
-- worked reasoning the base model already samples sometimes.
-- -> {worked =, right =, right_worked =, right_direct =, n =}
function M.probe(o)
  check_fields(o, {"model", "env", "items", "n", "max_new", "seed"}, "r1.probe")
  local prompts, items = {}, {}
  for i = 0, o.items - 1 do
    items[#items + 1] = o.env:item("test", i)
    prompts[#prompts + 1] = M.template.prefix .. items[#items].prompt .. M.template.suffix
  end
  local outs = o.model:generate{prompts = prompts, n = o.n, max_new = o.max_new, temperature = 1.0,
                                seed = (o.seed or 1) + 101}
  local c = {w = 0, d = 0, rw = 0, rd = 0}
  for _, out in ipairs(outs) do
    local acc = o.env:grade(items[out.prompt], out.text).accuracy
    if M.is_worked(out.text) then c.w, c.rw = c.w + 1, c.rw + acc else c.d, c.rd = c.d + 1, c.rd + acc end
  end
  local n = c.w + c.d
  return {n = n, worked = c.w / n, right = (c.rw + c.rd) / n,
          right_worked = c.w > 0 and c.rw / c.w or 0, right_direct = c.d > 0 and c.rd / c.d or 0}
end

-- Mean of field `key` over metrics lines (read_metrics) with step in [lo, hi]; NaN when
-- none has it.
function M.mean_over(lines, key, lo, hi)
  local s, n = 0, 0
  for _, m in ipairs(lines) do
    if m.step >= lo and m.step <= hi and type(m[key]) == "number" then s, n = s + m[key], n + 1 end
  end
  return n > 0 and s / n or 0 / 0
end

function M.read_metrics(dir)
  local lines = {}
  local f = io.open(dir .. "/metrics.jsonl", "r")
  if not f then return lines end
  for line in f:lines() do
    local ok, m = pcall(rz.json_decode, line)
    if ok and type(m) == "table" and m.step then lines[#lines + 1] = m end
  end
  f:close()
  table.sort(lines, function(a, b) return a.step < b.step end)
  return lines
end

-- Means of field `key` over the first and the last 10% of RL steps.
function M.start_end(lines, key, steps)
  local w = math.max(1, steps // 10)
  return M.mean_over(lines, key, 1, w), M.mean_over(lines, key, steps - w + 1, steps)
end

-- Mean completion length over the first and the last 10% of RL steps.
function M.length_start_end(lines, steps) return M.start_end(lines, "len_mean", steps) end

-- GRPO from `model` with the env's rule rewards. Checkpoints to run's last.ckpt every
-- ckpt_every steps and resumes from it. Logs per-step metrics (plus a greedy held-out
-- pass@1 every eval_every steps) to run's metrics.jsonl and keeps the completions of the
-- first, middle and last steps in samples_step*.json.
-- -> the trained model (a resumed one may be a new object)
function M.rl(o)
  check_fields(o, {"run", "model", "env", "steps", "group", "prompts", "lr", "temperature", "max_new",
                   "rewards", "reward_fn", "seed", "eval_every", "eval_items", "ckpt_every", "name",
                   "target", "stop_at_target", "beta"}, "r1.rl")
  local run, model = o.run, o.model
  -- the resumable-loop pattern of rlzero.run: resume, save every ckpt_every steps, and
  -- on Ctrl-C / SIGTERM save then stop (re-running the same command resumes)
  local resumed, _, state = run:resume()
  if resumed then
    model = resumed
    print(string.format("%s: resuming RL at step %d", o.name or run.name, state.trainer.steps))
  end
  local trainer = rz.grpo{
    policy = model, env = o.env, group = o.group, prompts = o.prompts, template = M.template,
    rewards = o.rewards, reward_fn = o.reward_fn, beta = o.beta or 0.0, loss = "token", eps_low = 0.2,
    eps_high = 0.28, lr = o.lr, warmup = 5, temperature = o.temperature, max_new = o.max_new,
    grad_clip = 1.0, seed = o.seed,
  }
  if resumed then
    trainer:set_state(state.trainer)
    run:restore_reference(trainer, state)
  end
  local save_opts = {reference = (o.beta or 0) > 0 and trainer or nil}
  local done = trainer:state().steps
  local mid = math.max(1, o.steps // 2)
  local keep = {[1] = "start", [mid] = "middle", [o.steps] = "end"}
  local t0 = rz.clock()
  for step = done + 1, o.steps do
    local m = trainer:step()
    if o.eval_every > 0 and (step % o.eval_every == 0 or step == 1 or step == o.steps) then
      local ev = M.evaluate{model = model, env = o.env, items = o.eval_items, max_new = o.max_new}
      m.eval_pass1 = ev.pass1_greedy
      m.eval_len = ev.len_mean
    end
    run:log(step, m)
    progress_line(o.name or run.name, step, o.steps,
                  string.format("acc %.2f len %.1f%s", m.accuracy, m.len_mean,
                                m.eval_pass1 and string.format(" heldout %.2f", m.eval_pass1) or ""), t0)
    if keep[step] then
      local s = trainer:samples()
      local pick = {}
      for i = 1, math.min(#s, 2 * o.group) do pick[#pick + 1] = s[i] end
      rz.write_file(string.format("%s/samples_step%d.json", run.dir, step),
                    rz.json({step = step, phase = keep[step], samples = pick}, {pretty = true}) .. "\n")
    end
    local stop = run:should_stop(step)
    local reached = o.stop_at_target and m.eval_pass1 and m.eval_pass1 >= o.target
    if stop or reached or step % o.ckpt_every == 0 or step == o.steps then
      run:save(model, step, {trainer = trainer:state()}, save_opts)
    end
    if stop then run:stop(step) end
    if reached then
      print(string.format("%s: reached held-out pass@1 %.3f at step %d", o.name or run.name, m.eval_pass1, step))
      break
    end
  end
  trainer:close()
  return model
end

-- The per-step curves of a run directory as two SVG plots.
function M.plots(dir, runs)
  local acc, len = {}, {}
  for _, r in ipairs(runs) do
    local lines = M.read_metrics(r.dir)
    local xs, ys, ex, ey, lx, ly = {}, {}, {}, {}, {}, {}
    for _, m in ipairs(lines) do
      xs[#xs + 1], ys[#ys + 1] = m.step, m.accuracy
      lx[#lx + 1], ly[#ly + 1] = m.step, m.len_mean
      if m.eval_pass1 then ex[#ex + 1], ey[#ey + 1] = m.step, m.eval_pass1 end
    end
    acc[#acc + 1] = {name = r.name .. " train", x = xs, y = plot.smooth(ys, 10)}
    acc[#acc + 1] = {name = r.name .. " held-out", x = ex, y = ey}
    len[#len + 1] = {name = r.name, x = lx, y = plot.smooth(ly, 5)}
  end
  rz.write_file(dir .. "/accuracy.svg", plot.svg{title = "accuracy during RL (train: mean of samples, smoothed; held-out: greedy pass@1)",
                                                 xlabel = "RL step", ylabel = "accuracy", series = acc, ymin = 0, ymax = 1})
  rz.write_file(dir .. "/length.svg", plot.svg{title = "mean response length during RL (tokens)",
                                               xlabel = "RL step", ylabel = "tokens", series = len, ymin = 0})
end

-- samples.md: held-out completions before and after RL, and training completions from the
-- start, middle and end of RL.
function M.samples_md(dir, env, base_eval, final_eval, steps, n)
  n = n or 8
  local out = {"# Completions\n"}
  local function evals(title, ev)
    out[#out + 1] = "## " .. title .. "\n"
    for i = 1, math.min(n, #ev.completions) do
      local it = ev.items[i]
      out[#out + 1] = string.format("- `%s` (answer %s, %s): `%s`", it.prompt .. M.template.suffix, it.answer,
                                    ev.correct[i] and "right" or "wrong", ev.completions[i])
    end
    out[#out + 1] = ""
  end
  if base_eval then evals("Held-out, greedy: the base model", base_eval) end
  local mid = math.max(1, steps // 2)
  for _, s in ipairs{1, mid, steps} do
    local f = io.open(string.format("%s/samples_step%d.json", dir, s), "r")
    if f then
      local t = rz.json_decode(f:read("a"))
      f:close()
      out[#out + 1] = string.format("## RL step %d (%s): training completions\n", t.step, t.phase)
      for i, smp in ipairs(t.samples) do
        if i > n then break end
        out[#out + 1] = string.format("- `%s` (answer %s, reward %.2f, %d tokens): `%s`", smp.prompt, smp.answer,
                                      smp.reward, smp.tokens, smp.completion)
      end
      out[#out + 1] = ""
    end
  end
  if final_eval then evals("Held-out, greedy: after RL", final_eval) end
  rz.write_file(dir .. "/samples.md", table.concat(out, "\n") .. "\n")
end

return M
