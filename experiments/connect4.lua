-- connect4.lua: Connect Four from the rules alone by GRPO self-play; evaluation against
-- depth-limited alpha-beta (depth 2, the target, and depth 4, reported) and random, from
-- both seats, plus an Elo table over snapshots and the reference players.
--
--   rlzero experiments/connect4.lua [steps=2000] [seed=1] [out=runs/connect4] [fresh=true]
local rz = require "rlzero"
local run = require("rlzero.run").open("connect4", {
  steps = 2000, seed = 1, hidden = 256, layers = 3, positions = 64, group = 8, opening_max = 8,
  lr = 1e-3, entropy_coef = 0.02, temperature = 1.0, eval_games = 200, snapshots = 4,
  log_every = 50,
}, ...)
local cfg = run.cfg

local game = rz.game("connect4")
local trainer = rz.selfplay{game = game, hidden = cfg.hidden, layers = cfg.layers,
                            positions = cfg.positions, group = cfg.group,
                            opening_max = cfg.opening_max, temperature = cfg.temperature,
                            lr = cfg.lr, entropy_coef = cfg.entropy_coef, seed = cfg.seed}
local selfplay = require "rlzero.selfplay"
local every_snap = selfplay.snapshot_every(cfg.steps, cfg.snapshots)
local train_seconds, start = selfplay.train(run, trainer, {
  status = function(m) return string.format("win0 %.2f len %.1f entropy %.2f", m.win0, m.length_mean, m.entropy) end,
  snapshots = cfg.snapshots,
})

local agent = trainer:agent()
agent:save(run.dir .. "/final.ckpt")
local opp = {random = rz.player(game, "random"), ab2 = rz.player(game, "alphabeta(depth=2)"),
             ab4 = rz.player(game, "alphabeta(depth=4)")}
local res = {}
local function wdl(r) return {wins = r.wins, draws = r.draws, losses = r.losses,
                              win_rate = r.wins / math.max(1, r.games)} end
for _, name in ipairs{"random", "ab2", "ab4"} do
  local r = rz.arena(agent, opp[name], {games = cfg.eval_games, seed = cfg.seed})
  res[name] = {seat0 = wdl(r.seat0), seat1 = wdl(r.seat1)}
  print(string.format("vs %-6s seat0 %d/%d/%d (%.0f%% wins), seat1 %d/%d/%d (%.0f%% wins)", name,
                      r.seat0.wins, r.seat0.draws, r.seat0.losses, 100 * res[name].seat0.win_rate,
                      r.seat1.wins, r.seat1.draws, r.seat1.losses, 100 * res[name].seat1.win_rate))
end
local names, agents = {"random"}, {opp.random}
for step = every_snap, cfg.steps, every_snap do
  local path = string.format("%s/step%d.ckpt", run.dir, step)
  if rz.exists(path) then
    names[#names + 1] = "step" .. step
    agents[#agents + 1] = rz.load_agent(path, game)
  end
end
names[#names + 1] = "ab2"; agents[#agents + 1] = opp.ab2
names[#names + 1] = "ab4"; agents[#agents + 1] = opp.ab4
local elo = rz.elo(agents, {games = 20, seed = cfg.seed, anchor = 1})
local ratings = {}
for i, n in ipairs(names) do
  ratings[n] = elo.ratings[i]
  print(string.format("elo %-10s %7.1f", n, elo.ratings[i]))
end
print(string.format("trained %d steps in %.1f s", cfg.steps - start, train_seconds))
local ok = res.ab2.seat0.win_rate >= 0.9 and res.ab2.seat1.win_rate >= 0.9
run:results{
  game = game:name(), steps = cfg.steps, train_seconds = train_seconds, threads = rz.threads(),
  vs = res, elo = ratings, target_ab2_win_rate = 0.9, target_met = ok,
}
