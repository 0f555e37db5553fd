-- rlzero.run: the run directory every experiment writes.
--
--   local run = require("rlzero.run").open("demo", defaults, overrides)
--   run.cfg        -- the validated config (defaults + command-line overrides)
--   run.dir        -- runs/NAME unless out= says otherwise
--   run:log(step, metrics)        -- one JSON line in metrics.jsonl
--   run:progress(step, total, s)  -- a status line with ETA on a terminal, quiet otherwise
--   run:results(t)                -- results.json, and prints where it is
--
-- Every script accepts out=, seed=, steps= and fresh=; re-running the same command
-- resumes from run:checkpoint() unless fresh=true.
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
                             tty = rz.isatty(2)}, Run)
  rz.mkdir(self.dir)
  rz.write_file(self.dir .. "/config.json", rz.json(cfg, {pretty = true}) .. "\n")
  return self
end

-- Path of the run's checkpoint; nil when there is none to resume (or fresh=true).
function Run:checkpoint()
  local path = self.dir .. "/last.ckpt"
  if not self.cfg.fresh and rz.exists(path) then return path end
  return nil
end

function Run:checkpoint_path() return self.dir .. "/last.ckpt" end

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

local function fmt_time(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%dh%02dm", s // 3600, (s % 3600) // 60) end
  if s >= 60 then return string.format("%dm%02ds", s // 60, s % 60) end
  return string.format("%ds", s)
end

-- A one-line status with an ETA, redrawn in place on a terminal; on a pipe or a file,
-- only every `every`-th step (default: ~10 lines per run) so logs stay readable.
function Run:progress(step, total, text)
  local elapsed = rz.clock() - self.t0
  self.first_step = self.first_step or step - 1
  local done = step - self.first_step
  local eta = done > 0 and elapsed / done * (total - step) or math.huge
  local line = string.format("[%s] step %d/%d %s  elapsed %s  eta %s", self.name, step, total,
                             text or "", fmt_time(elapsed), fmt_time(eta))
  if self.tty then
    io.stderr:write("\r\27[K", line)
    if step >= total then io.stderr:write("\n") end
  else
    local every = math.max(1, total // 10)
    if step % every == 0 or step == total then io.stderr:write(line, "\n") end
  end
end

function Run:results(t)
  t.wall_seconds = t.wall_seconds or (rz.clock() - self.t0)
  local path = self.dir .. "/results.json"
  rz.write_file(path, rz.json(t, {pretty = true}) .. "\n")
  if self.metrics_file then self.metrics_file:close(); self.metrics_file = nil end
  print("results: " .. path)
  return path
end

return M
