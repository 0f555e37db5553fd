-- connect4.lua: Connect Four from the rules alone by self-play with a learned value and a
-- search over the rules (the nim.lua recipe: TD(lambda) value targets from a two-ply
-- search, the policy head learning the search's move), the value taught exactly wherever
-- the rules decide a position cheaply (solve_nodes: each self-play game's positions are
-- decided, win, draw or loss, from its last back while a position takes at most 20000
-- nodes, about 60% of them, and those exact values replace their TD targets), the learning
-- rate decaying by a cosine to a tenth over the run. Then evaluation from both seats
-- against depth-limited alpha-beta (depth 2, the target, and depth 4, reported) and random.
--
-- Two agents are evaluated. "agent": the network searching eval_depth plies by alpha-beta
-- over the rules, leaves scored by its own value head (agent:search). "+exact": the same
-- agent playing its end games exactly (eval_solve_nodes: each move first tries to decide
-- the position within that many nodes; a won position is played as a win, a drawn or lost
-- one keeps its value and prefers the moves with the most losing replies for the opponent,
-- the network's search choosing among those). No hand-written evaluation enters either:
-- the rules, exact values the rules prove, and the network. Reported beside them: the
-- untrained network in the same two agents (what the solver does without the learning),
-- the policy head alone, and how often the value head has the right sign on Pascal Pons'
-- test positions (tests/data/connect4, never trained on).
--
-- Target: >= 90% wins against depth-2 alpha-beta from both seats (target_met: "+exact";
-- target_met_search_alone: "agent"). Measured at the defaults (seed 1, 2 threads, 549 s of
-- training on an idle machine, 13 minutes of evaluation), 50 games a seat, wins/draws/losses:
--   +exact           vs depth 2: 50/0/0 and 50/0/0 (100% / 100% wins); vs depth 4: 100% / 100%
--   agent            vs depth 2: 49/0/1 and 32/4/14 (98% / 64%);       vs depth 4: 90% / 86%
--   untrained +exact vs depth 2: 58% / 80%;  untrained agent vs depth 2: 26% / 36%
-- Seeds 2 and 3 (the same training; evaluated with the arena's seed 1): "+exact" 94% / 100%
-- and 100% / 100%; "agent" 36% / 66% and 94% / 84%. So the target holds at seeds 1-3 with
-- the solver, and the search alone is strong as the first player only.
-- Value sign right on 75% of Test_L2_R1 (untrained 45%). History at seed 1, against depth 2:
-- before exact targets and the decay, the agent won 46% / 76% (sign right on 70%); exact
-- targets alone (constant rate) 72% / 90%. For scale: the alpha-beta player's own
-- hand-written heuristic, searched 8 plies deep, wins 80% / 40% against depth 2.
--
--   rlzero experiments/connect4.lua [steps=2000] [seed=1] [out=runs/connect4] [fresh=true]
local rz = require "rlzero"
local run = require("rlzero.run").open("connect4", {
  steps = 2000, seed = 1, hidden = 128, layers = 2, positions = 32, group = 4, opening_max = 10,
  lr = 1e-3, min_lr_ratio = 0.1, value_coef = 1.0, value_lambda = 0.7, search_depth = 2,
  search_temperature = 0.05, mirror = false, solve_nodes = 20000, eval_depth = 8,
  eval_solve_nodes = 1000000, eval_games = 50, elo_games = 10, snapshots = 4, log_every = 50,
}, ...)
local cfg = run.cfg

local game = rz.game("connect4")
local trainer = rz.selfplay{game = game, hidden = cfg.hidden, layers = cfg.layers,
                            positions = cfg.positions, group = cfg.group,
                            opening_max = cfg.opening_max, lr = cfg.lr,
                            total_steps = cfg.min_lr_ratio < 1 and cfg.steps or 0,
                            min_lr_ratio = cfg.min_lr_ratio,
                            value_coef = cfg.value_coef, value_lambda = cfg.value_lambda,
                            search_depth = cfg.search_depth, mirror = cfg.mirror,
                            search_temperature = cfg.search_temperature,
                            solve_nodes = cfg.solve_nodes, seed = cfg.seed}
local untrained = trainer:agent()
local selfplay = require "rlzero.selfplay"
local every_snap = selfplay.snapshot_every(cfg.steps, cfg.snapshots)
local train_seconds, start = selfplay.train(run, trainer, {
  status = function(m)
    return string.format("len %.1f vloss %.3f win0 %.2f", m.length_mean, m.value_loss, m.win0)
  end,
  snapshots = cfg.snapshots,
})

local policy = trainer:agent()
policy:save(run.dir .. "/final.ckpt")
local agent = policy:search(cfg.eval_depth)
local opp = {random = rz.player(game, "random"), ab2 = rz.player(game, "alphabeta(depth=2)"),
             ab4 = rz.player(game, "alphabeta(depth=4)")}
local function wdl(r) return {wins = r.wins, draws = r.draws, losses = r.losses,
                              win_rate = r.wins / math.max(1, r.games)} end
local function versus(who, a, name)
  local t = rz.clock()
  local r = rz.arena(a, opp[name], {games = cfg.eval_games, seed = cfg.seed})
  local res = {seat0 = wdl(r.seat0), seat1 = wdl(r.seat1)}
  print(string.format("%-16s vs %-6s seat0 %d/%d/%d (%.0f%% wins), seat1 %d/%d/%d (%.0f%% wins)  %.0f s",
                      who, name, r.seat0.wins, r.seat0.draws, r.seat0.losses, 100 * res.seat0.win_rate,
                      r.seat1.wins, r.seat1.draws, r.seat1.losses, 100 * res.seat1.win_rate, rz.clock() - t))
  return res
end
local res, res_untrained, res_policy = {}, {}, {}
for _, name in ipairs{"random", "ab2", "ab4"} do res[name] = versus("agent", agent, name) end
local res_exact, res_untrained_exact -- nil with eval_solve_nodes = 0
if cfg.eval_solve_nodes > 0 then
  local exact = policy:search(cfg.eval_depth, {solve_nodes = cfg.eval_solve_nodes})
  res_exact = {}
  for _, name in ipairs{"ab2", "ab4"} do res_exact[name] = versus("+exact", exact, name) end
  -- what the solver does without the learning: the untrained network in its place
  local u = untrained:search(cfg.eval_depth, {solve_nodes = cfg.eval_solve_nodes})
  res_untrained_exact = {ab2 = versus("untrained +exact", u, "ab2")}
end
res_untrained.ab2 = versus("untrained", untrained:search(cfg.eval_depth), "ab2")
res_policy.ab2 = versus("policy", policy, "ab2")

-- The value head's sign on positions with known results (draws left out), by file.
local function value_sign(a, who)
  local dir = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".") .. "/../tests/data/connect4/"
  local out = {}
  for _, f in ipairs{"Test_L3_R1", "Test_L2_R1", "Test_L2_R2"} do
    local fh = io.open(dir .. f)
    if fh then
      local right, n = 0, 0
      for line in fh:lines() do
        local moves, score = line:match("^(%d+) (%-?%d+)")
        if moves and tonumber(score) ~= 0 then
          local s = game:new_state()
          for c in moves:gmatch("%d") do s = s:apply(tonumber(c) - 1) end
          n = n + 1
          if (a:value(s) > 0) == (tonumber(score) > 0) then right = right + 1 end
        end
      end
      fh:close()
      out[f] = {positions = n, sign_right = right / math.max(1, n)}
      print(string.format("%-9s value sign right on %s: %d of %d (%.1f%%)", who, f, right, n,
                          100 * right / math.max(1, n)))
    end
  end
  return out
end
local signs, signs_untrained = value_sign(policy, "agent"), value_sign(untrained, "untrained")

local names, agents = {"random"}, {opp.random}
local elo_depth = math.min(4, cfg.eval_depth)
if every_snap then -- nil with snapshots=0
  for step = every_snap, cfg.steps, every_snap do
    local path = string.format("%s/step%d.ckpt", run.dir, step)
    if rz.exists(path) then
      names[#names + 1] = "step" .. step
      agents[#agents + 1] = rz.load_agent(path, game):search(elo_depth)
    end
  end
end
names[#names + 1] = "ab2"; agents[#agents + 1] = opp.ab2
names[#names + 1] = "ab4"; agents[#agents + 1] = opp.ab4
local elo = rz.elo(agents, {games = cfg.elo_games, seed = cfg.seed, anchor = 1})
local ratings = {}
for i, n in ipairs(names) do
  ratings[n] = elo.ratings[i]
  print(string.format("elo %-10s %7.1f", n, elo.ratings[i]))
end
print(string.format("trained %d steps in %.1f s", cfg.steps - start, train_seconds))
local function met(r) return r.ab2.seat0.win_rate >= 0.9 and r.ab2.seat1.win_rate >= 0.9 end
run:results{
  game = game:name(), steps = cfg.steps, train_seconds = train_seconds, threads = rz.threads(),
  eval_depth = cfg.eval_depth, eval_solve_nodes = cfg.eval_solve_nodes, vs = res,
  exact_end_games_vs = res_exact, untrained_exact_end_games_vs = res_untrained_exact,
  untrained_vs = res_untrained, policy_vs = res_policy,
  value_sign = signs, untrained_value_sign = signs_untrained, elo = ratings, elo_search_depth = elo_depth,
  target_ab2_win_rate = 0.9, target_met = met(res_exact or res), target_met_search_alone = met(res),
}
