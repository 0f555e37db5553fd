-- test_games_smoke.lua: the game experiments (tictactoe.lua, nim.lua, connect4.lua) end
-- to end at a tiny size: each trains, evaluates and writes results.json with its figures.
local rz = require "rlzero"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")
local srcdir = os.getenv("srcdir") or "."

local function run(name, overrides)
  local dir = os.tmpname()
  os.remove(dir)
  overrides.out = dir
  local script = assert(loadfile(srcdir .. "/experiments/" .. name .. ".lua"))
  script(overrides)
  local res = rz.json_decode(io.open(dir .. "/results.json"):read("a"))
  T.ok(rz.exists(dir .. "/final.ckpt"), name .. ": the final policy is saved")
  os.execute("rm -rf '" .. dir .. "'")
  return res
end

local ttt = run("tictactoe", {steps = 3, positions = 4, group = 2, hidden = 8, eval_games = 4, snapshots = 1})
T.eq(ttt.steps, 3, "tictactoe: results.json holds the run")

local nim = run("nim", {steps = 3, positions = 4, group = 2, hidden = 8, eval_games = 4})
T.ok(nim.winning_moves_heldout.positions == 33, "nim: 33 held-out winning positions are scored")
T.ok(nim.target_met == (nim.winning_moves_heldout.rate >= 0.95), "nim: target_met follows the held-out rate")

local c4 = run("connect4", {steps = 4, positions = 4, group = 2, hidden = 8, eval_games = 2, elo_games = 1,
                            eval_depth = 2, snapshots = 2, solve_nodes = 2000, eval_solve_nodes = 2000})
T.eq(c4.eval_depth, 2, "connect4: the evaluated search depth is recorded")
for _, who in ipairs{"random", "ab2", "ab4"} do
  local r = c4.vs[who].seat0
  T.eq(r.wins + r.draws + r.losses, 2, "connect4: games against " .. who .. " from seat 0")
end
T.ok(c4.value_sign.Test_L2_R1.positions > 900, "connect4: the value head is scored on Pons' positions")
for _, who in ipairs{"ab2", "ab4"} do
  local r = c4.exact_end_games_vs[who].seat1
  T.eq(r.wins + r.draws + r.losses, 2, "connect4: the agent with exact end games against " .. who)
end
T.ok(c4.target_met == (c4.exact_end_games_vs.ab2.seat0.win_rate >= 0.9 and
                       c4.exact_end_games_vs.ab2.seat1.win_rate >= 0.9),
     "connect4: target_met follows the agent with exact end games")
T.ok(c4.untrained_vs.ab2.seat1 ~= nil and c4.policy_vs.ab2.seat0 ~= nil and
     c4.untrained_exact_end_games_vs.ab2.seat1 ~= nil, "connect4: the baselines are reported")
T.ok(c4.elo.step2 ~= nil and c4.elo.ab2 ~= nil, "connect4: the Elo table holds snapshots and references")
T.done()
