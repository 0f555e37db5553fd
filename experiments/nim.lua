-- nim.lua: Nim from the rules alone by GRPO self-play; evaluation: the share of held-out
-- winning positions (the mover can force a win) where the greedy policy's move leaves a
-- lost position (XOR 0), and games against the XOR player and a random one.
--
-- Held out: positions whose observation hash is 0 mod `holdout` (rz.winning_moves docs).
-- Decisions at held-out positions carry no loss in training, so the policy never learns
-- at them; games may pass through them, played by the policy like any other position.
--
--   rlzero experiments/nim.lua [steps=1500] [seed=1] [out=runs/nim] [fresh=true]
local rz = require "rlzero"
local run = require("rlzero.run").open("nim", {
  game = "nim(piles=3;5;7)", steps = 1500, seed = 1, hidden = 128, layers = 2, positions = 256,
  group = 8, opening_max = 4, first_plies = 0, lr = 1e-3, entropy_coef = 0.05, mu = 1,
  minibatches = 1, holdout = 5, eval_games = 500, log_every = 100, start_pool = 0,
  temperature = 1.0, scale = "group", weight_decay = 0.0, activation = "relu", explore = 0,
}, ...)
local cfg = run.cfg

local game = rz.game(cfg.game)
local trainer = rz.selfplay{game = game, hidden = cfg.hidden, layers = cfg.layers,
                            positions = cfg.positions, group = cfg.group,
                            opening_max = cfg.opening_max, first_plies = cfg.first_plies,
                            lr = cfg.lr, entropy_coef = cfg.entropy_coef, mu = cfg.mu,
                            minibatches = cfg.minibatches, holdout = cfg.holdout, seed = cfg.seed,
                            start_pool = cfg.start_pool, temperature = cfg.temperature,
                            scale = cfg.scale, weight_decay = cfg.weight_decay,
                            activation = cfg.activation, explore = cfg.explore}
local train_seconds, start = require("rlzero.selfplay").train(run, trainer, {
  status = function(m) return string.format("len %.1f entropy %.2f", m.length_mean, m.entropy) end,
  snapshots = 0,
})

local agent = trainer:agent()
agent:save(run.dir .. "/final.ckpt")
local held = rz.winning_moves(agent, {holdout = cfg.holdout})
local seen = rz.winning_moves(agent, {holdout = -cfg.holdout})
local all = rz.winning_moves(agent, {})
local vs_xor = rz.arena(agent, rz.player(game, "nim"), {games = cfg.eval_games, seed = cfg.seed})
local vs_random = rz.arena(agent, rz.player(game, "random"), {games = cfg.eval_games, seed = cfg.seed})
print(string.format("trained %d steps in %.1f s", cfg.steps - start, train_seconds))
print(string.format("winning moves: held-out %d/%d (%.1f%%), trained-on %d/%d, all %d/%d",
                    held.correct, held.positions, 100 * held.rate, seen.correct, seen.positions,
                    all.correct, all.positions))
print(string.format("vs XOR player: %d/%d/%d; vs random: %d/%d/%d", vs_xor.wins, vs_xor.draws,
                    vs_xor.losses, vs_random.wins, vs_random.draws, vs_random.losses))
local function wdl(r) return {wins = r.wins, draws = r.draws, losses = r.losses} end
run:results{
  game = game:name(), steps = cfg.steps, train_seconds = train_seconds, threads = rz.threads(),
  holdout = cfg.holdout, winning_moves_heldout = held, winning_moves_trained = seen,
  winning_moves_all = all, target_heldout_rate = 0.95, target_met = held.rate >= 0.95,
  vs_xor = {seat0 = wdl(vs_xor.seat0), seat1 = wdl(vs_xor.seat1)},
  vs_random = {seat0 = wdl(vs_random.seat0), seat1 = wdl(vs_random.seat1)},
}
