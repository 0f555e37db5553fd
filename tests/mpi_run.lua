-- mpi_run.lua: a tiny resumable GRPO (reverse task) or self-play (tic-tac-toe) run for the
-- MPI tests; the same command under `mpirun -np N` splits each step over the ranks.
--
--   rlzero tests/mpi_run.lua out=DIR [mode=grpo|selfplay] [steps=3] [shards=0] [solve_nodes=0]
--                            [fail_rank=R fail=error|file fail_step=2]
local rz = require "rlzero"
local run = require("rlzero.run").open("mpi", {
  mode = "grpo", steps = 3, group = 4, prompts = 5, minibatches = 2, shards = 0, log_every = 1,
  dim = 16, layers = 1, context = 40, max_new = 10,
  fail_rank = -1, fail = "error", fail_step = 2, solve_nodes = 0,
}, ...)
local cfg = run.cfg

-- a failure on one rank only, after the ranks have worked together
local function maybe_fail(step)
  if step ~= cfg.fail_step or rz.rank() ~= cfg.fail_rank then return end
  if cfg.fail == "file" then rz.load(run.dir .. "/no-such-file.ckpt") end
  error(string.format("deliberate failure on rank %d at step %d", rz.rank(), step))
end

if cfg.mode == "selfplay" then
  -- solve_nodes > 0: a value head, and exact targets where that budget decides
  local solving = cfg.solve_nodes > 0
  local trainer = rz.selfplay{game = rz.game("tictactoe"), hidden = 16, layers = 1, positions = 5,
                              group = cfg.group, minibatches = cfg.minibatches, lr = 3e-3,
                              seed = cfg.seed, value_coef = solving and 1 or 0,
                              solve_nodes = cfg.solve_nodes}
  local start = 0
  local ck = run:checkpoint()
  if ck then
    start = trainer:load(ck)
    run:truncate_metrics(start)
    print(string.format("resuming %s at step %d", ck, start))
  end
  for step = start + 1, cfg.steps do
    maybe_fail(step)
    run:log(step, trainer:step())
    local stop = run:should_stop(step)
    if stop or step == cfg.steps then trainer:save(run:checkpoint_path()); run.saved_step = step end
    if stop then run:stop(step) end
  end
else
  local model, start, state = run:resume()
  start, state = start or 0, state or {}
  if not model then
    local tok = rz.tokenizer.chars{alphabet = "0123456789 abcdefghijklmnopqrstuvwxyz",
                                   specials = {"<think>", "</think>", "<answer>", "</answer>"}}
    model = rz.transformer{tokenizer = tok, dim = cfg.dim, layers = cfg.layers, heads = 2,
                           context = cfg.context, seed = cfg.seed}
  end
  local trainer = rz.grpo{policy = model, env = rz.env("reverse(min_len=2,max_len=3)"), group = cfg.group,
                          prompts = cfg.prompts, minibatches = cfg.minibatches, shards = cfg.shards,
                          max_new = cfg.max_new, lr = 3e-3, seed = cfg.seed, temperature = 1.5,
                          rewards = {accuracy = 1, format = 0.1}, stop = {"</answer>"},
                          template = {suffix = " <think>"},
                          -- a reward that varies from the first step: the gradients are not 0
                          reward_fn = function(_, text) return (#text % 3) * 0.5 end}
  if state.trainer then trainer:set_state(state.trainer) end
  for step = start + 1, cfg.steps do
    maybe_fail(step)
    run:log(step, trainer:step())
    run:episodes(step, trainer:samples())
    local stop = run:should_stop(step)
    if stop or step == cfg.steps then run:save(model, step, {trainer = trainer:state()}) end
    if stop then run:stop(step) end
  end
end
run:results{steps = cfg.steps, ranks = rz.ranks()}
