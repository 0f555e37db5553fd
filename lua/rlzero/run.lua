-- rlzero.run: the run directory every experiment writes.
--
--   local run = require("rlzero.run").open("demo", defaults, overrides)
--   run.cfg        -- the validated config (defaults + command-line overrides)
--   run.dir        -- runs/NAME unless out= says otherwise
--   run:resume()                  -- model, step, state from last.ckpt (or nil): resume
--   run:log(step, metrics)        -- one JSON line in metrics.jsonl
--   run:episodes(step, samples)   -- appends sampled episodes to episodes.msgpack
--   run:progress(step, total, m)  -- a status line with ETA on a terminal, quiet otherwise
--   run:save(model, step, state)  -- last.ckpt; a failed write keeps the previous one
--   run:save(model, step, state, {reference = trainer})  -- and a GRPO trainer's KL reference
--   run:restore_reference(trainer, state)                -- which a resume puts back
--   run:should_stop(step)         -- Ctrl-C / SIGTERM seen: save, then run:stop(step)
--   run:results(t)                -- results.json, and prints where it is
--
-- Every script accepts out=, seed=, steps= and fresh=; re-running the same command
-- resumes from the checkpoint unless fresh=true. The pattern of a resumable loop:
--
--   local model, start, state = run:resume()       -- nil on a fresh start
--   for step = (start or 0) + 1, cfg.steps do
--     ... one step ...
--     local stop = run:should_stop(step)
--     if stop or step % every == 0 or step == cfg.steps then run:save(model, step, state) end
--     if stop then run:stop(step) end              -- exits 130 (SIGINT) or 143 (SIGTERM)
--   end
local rz = require "rlzero"

local Run = {}
Run.__index = Run

local M = {}

function M.open(name, defaults, overrides)
  assert(type(name) == "string", "rlzero.run.open: name must be a string")
  local d = {}
  for k, v in pairs(defaults or {}) do d[k] = v end
  if d.out == nil then d.out = "runs/" .. name end
  if d.seed == nil then d.seed = 1 end
  if d.steps == nil then d.steps = 100 end
  if d.fresh == nil then d.fresh = false end
  local cfg = rz.config(d, overrides, name)
  local self = setmetatable({name = name, cfg = cfg, dir = cfg.out, t0 = rz.clock(),
                             tty = rz.isatty(2), save_failures = 0, skipped = 0}, Run)
  rz.mkdir(self.dir)
  rz.write_file(self.dir .. "/config.json", rz.json(cfg, {pretty = true}) .. "\n")
  if cfg.fresh then
    os.remove(self.dir .. "/episodes.msgpack")
  end
  return self
end

-- Path of the run's checkpoint; nil when there is none to resume (or fresh=true).
function Run:checkpoint()
  local path = self.dir .. "/last.ckpt"
  if not self.cfg.fresh and rz.exists(path) then return path end
  return nil
end

function Run:checkpoint_path() return self.dir .. "/last.ckpt" end
function Run:episodes_path() return self.dir .. "/episodes.msgpack" end

-- Keeps metrics.jsonl consistent with a resumed run: drops lines past `step`.
function Run:truncate_metrics(step)
  local path = self.dir .. "/metrics.jsonl"
  local f = io.open(path, "r")
  if not f then return end
  local keep = {}
  for line in f:lines() do
    local ok, m = pcall(rz.json_decode, line)
    if ok and type(m) == "table" and (m.step or 0) <= step then keep[#keep + 1] = line end
  end
  f:close()
  rz.write_file(path, #keep > 0 and table.concat(keep, "\n") .. "\n" or "")
end

-- Loads last.ckpt (unless fresh=true): returns the model, the step saved with it, the
-- state table the script saved with run:save (decoded from the checkpoint's extra) and
-- rz.load's info, after dropping metrics and episodes logged past that step. nil when
-- there is nothing to resume.
function Run:resume()
  local ck = self:checkpoint()
  if not ck then return nil end
  local model, info = rz.load(ck)
  local state = {}
  if info.extra ~= "" then
    local ok, t = pcall(rz.json_decode, info.extra)
    if ok and type(t) == "table" then state = t end
  end
  local step = math.tointeger(state.step) or info.step
  self:truncate_metrics(step)
  rz.episodes_truncate(self:episodes_path(), step)
  self.save_failures = math.tointeger(state.save_failures) or 0
  self.skipped = math.tointeger(state.skipped) or 0
  self.saved_step = step
  print(string.format("resuming %s at step %d", ck, step))
  return model, step, state, info
end

-- Writes last.ckpt of `step` (the script's loop step; model:step() counts optimizer
-- steps) atomically, with `state` (a JSON-able table, returned by run:resume) in its
-- extra. A failed write (disk full, no permission, a non-finite parameter) leaves the
-- previous checkpoint as it was: the failure is said on stderr, counted, and returned as
-- false, message; training goes on and the next save tries again.
--
-- opts.reference = a GRPO trainer with beta > 0: its KL reference is written first, to
-- ref-STEP.ckpt, and named in the state, so that run:restore_reference puts back the very
-- reference of this checkpoint. The previous reference file goes only once the new
-- last.ckpt is in place, so a failure at any point leaves a matching pair.
function Run:save(model, step, state, opts)
  state = state or {}
  step = step or model:step()
  state.step = step
  state.skipped = self.skipped
  state.save_failures = self.save_failures
  local ref_name
  local ok, err = true, nil
  if opts and opts.reference then
    ref_name = string.format("ref-%d.ckpt", step)
    state.reference = ref_name
    ok, err = pcall(opts.reference.save_reference, opts.reference, self.dir .. "/" .. ref_name)
  end
  if ok then ok, err = pcall(model.save, model, self:checkpoint_path(), {extra = rz.json(state)}) end
  if ok then
    if self.saved_reference and self.saved_reference ~= ref_name then
      os.remove(self.dir .. "/" .. self.saved_reference)
    end
    self.saved_step, self.saved_reference = step, ref_name
    return true
  end
  if ref_name and ref_name ~= self.saved_reference then os.remove(self.dir .. "/" .. ref_name) end
  self.save_failures = self.save_failures + 1
  local prev = self.saved_step and string.format("the checkpoint of step %d is kept", self.saved_step)
               or "no earlier checkpoint exists"
  io.stderr:write(string.format("\n[%s] warning: checkpoint at step %d not written: %s\n[%s] %s\n",
                                self.name, step, tostring(err), self.name, prev))
  return false, tostring(err)
end

-- Puts back the KL reference a checkpoint was saved with (run:save's opts.reference) into
-- `trainer`, given the state run:resume returned. Does nothing for a state without one.
function Run:restore_reference(trainer, state)
  if state and state.reference then
    trainer:load_reference(self.dir .. "/" .. state.reference)
    self.saved_reference = state.reference
  end
end

-- Counts a skipped update (a non-finite loss or gradient) and says so.
function Run:skip(step, why)
  self.skipped = self.skipped + 1
  io.stderr:write(string.format("\n[%s] step %d: update skipped: %s (%d skipped so far)\n", self.name,
                                step, tostring(why), self.skipped))
end

-- The reason to stop after this step, or nil: "SIGINT"/"SIGTERM" from the host program, or
-- the step given by RLZERO_STOP_AT_STEP (a deterministic interruption, for tests).
function Run:should_stop(step)
  local sig = rz.interrupted()
  if sig then return sig end
  local at = tonumber(os.getenv("RLZERO_STOP_AT_STEP") or "")
  if at and step and step >= at then return "RLZERO_STOP_AT_STEP" end
  return nil
end

-- Ends an interrupted run after its checkpoint: says where to resume and exits 130 on
-- SIGINT, 143 on SIGTERM (128 + the signal, the shell's convention), 3 otherwise.
function Run:stop(step)
  local why = self:should_stop(step) or "stop"
  if self.metrics_file then self.metrics_file:close(); self.metrics_file = nil end
  if self.tty then io.stderr:write("\n") end
  local saved = self.saved_step == step and "checkpoint written" or
                string.format("the last checkpoint is of step %s", tostring(self.saved_step))
  io.stderr:write(string.format("[%s] %s at step %d: %s; re-run the same command to resume\n",
                                self.name, why, step, saved))
  io.stdout:flush()
  os.exit(why == "SIGINT" and 130 or why == "SIGTERM" and 143 or 3, true)
end

function Run:log(step, metrics)
  local m = {step = step}
  for k, v in pairs(metrics) do m[k] = v end
  if not self.metrics_file then
    local mode = (self.cfg.fresh and not self.appended) and "w" or "a"
    self.metrics_file = assert(io.open(self.dir .. "/metrics.jsonl", mode))
    self.appended = true
  end
  self.metrics_file:write(rz.json(m), "\n")
  self.metrics_file:flush()
end

-- Appends `samples` (as trainer:samples() returns them) to episodes.msgpack under `step`;
-- `max` keeps only the first max of them (default: all).
function Run:episodes(step, samples, max)
  if max and max < #samples then
    local some = {}
    for i = 1, max do some[i] = samples[i] end
    samples = some
  end
  rz.episodes_append(self:episodes_path(), samples, step)
end

local function fmt_time(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%dh%02dm", s // 3600, (s % 3600) // 60) end
  if s >= 60 then return string.format("%dm%02ds", s // 60, s % 60) end
  return string.format("%ds", s)
end

-- The known metrics, in display order, with their formats.
local shown = {
  {"loss", "loss %.4f"}, {"reward", "reward %.3f"}, {"accuracy", "acc %.3f"},
  {"len_mean", "len %.1f"}, {"tokens_per_s", "%.0f tok/s"}, {"gen_tokens_per_s", "%.0f tok/s"},
}

-- Formats a metrics table for the status line: step text from the known fields.
function M.format_metrics(m)
  if type(m) ~= "table" then return m and tostring(m) or "" end
  local parts = {}
  for _, f in ipairs(shown) do
    local v = m[f[1]]
    if type(v) == "number" and v == v then parts[#parts + 1] = string.format(f[2], v) end
  end
  return table.concat(parts, "  ")
end

-- A one-line status (step, the metrics given: loss or reward, accuracy, length,
-- tokens/s, then elapsed and ETA), redrawn in place on stderr when it is a terminal and
-- quiet otherwise (logs get the script's own lines). `m` is a metrics table or a string.
function Run:progress(step, total, m)
  local elapsed = rz.clock() - self.t0
  self.first_step = self.first_step or step - 1
  local done = step - self.first_step
  local eta = done > 0 and elapsed / done * (total - step) or math.huge
  local line = string.format("[%s] step %d/%d  %s  elapsed %s  eta %s", self.name, step, total,
                             M.format_metrics(m), fmt_time(elapsed), fmt_time(eta))
  if not self.tty then return line end
  -- at most ~10 redraws a second: a terminal is slow next to a tiny model's step
  local now = rz.clock()
  if step < total and self.drawn and now - self.drawn < 0.1 then return line end
  self.drawn = now
  io.stderr:write("\r\27[K", line)
  if step >= total then io.stderr:write("\n") end
  return line
end

function Run:results(t)
  t.wall_seconds = t.wall_seconds or (rz.clock() - self.t0)
  t.skipped_updates = t.skipped_updates or self.skipped
  t.checkpoint_failures = t.checkpoint_failures or self.save_failures
  local path = self.dir .. "/results.json"
  rz.write_file(path, rz.json(t, {pretty = true}) .. "\n")
  if self.metrics_file then self.metrics_file:close(); self.metrics_file = nil end
  print("results: " .. path)
  return path
end

return M
