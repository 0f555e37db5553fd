-- rlzero.selfplay: the training loop the game experiments share.
--
--   local train_seconds, start = require("rlzero.selfplay").train(run, trainer, {
--     status = function(m) return string.format("win0 %.2f", m.win0) end,
--     snapshots = 4})
--
-- Resumes from the run's checkpoint, then steps the self-play trainer to run.cfg.steps:
-- one metrics.jsonl line a step, a status line, a checkpoint every run.cfg.log_every steps
-- and at the end, `snapshots` policy snapshots (RUN_DIR/stepN.ckpt, for an Elo table) at
-- evenly spaced steps; on Ctrl-C or SIGTERM a checkpoint, then a clean exit that the same
-- command resumes.
local rz = require "rlzero"

local M = {}

-- The step interval between policy snapshots (nil when there are none).
function M.snapshot_every(steps, snapshots)
  return snapshots > 0 and math.max(1, steps // snapshots) or nil
end

function M.train(run, trainer, opts)
  opts = opts or {}
  local cfg = run.cfg
  local start = 0
  local ck = run:checkpoint()
  if ck then
    start = trainer:load(ck)
    run:truncate_metrics(start)
    print(string.format("resuming %s at step %d", ck, start))
  end
  local every_snap = M.snapshot_every(cfg.steps, opts.snapshots or 0)
  local t0 = rz.clock()
  for step = start + 1, cfg.steps do
    local m = trainer:step()
    run:log(step, m)
    run:progress(step, cfg.steps, opts.status and opts.status(m) or m)
    local stop = run:should_stop(step)
    if stop or step % cfg.log_every == 0 or step == cfg.steps then
      trainer:save(run:checkpoint_path())
      run.saved_step = step
    end
    if every_snap and step % every_snap == 0 then
      trainer:agent():save(string.format("%s/step%d.ckpt", run.dir, step))
    end
    if stop then run:stop(step) end
  end
  return rz.clock() - t0, start
end

return M
