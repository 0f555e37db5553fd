-- test_lua_games.lua: games, states, agents, self-play and evaluation from Lua, and their
-- misuse: every wrong call is a Lua error containing a stated fragment, never a crash.
local rz = require "rlzero"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")

-- games and states
local g = rz.game("tictactoe")
T.eq(g:name(), "tictactoe", "name")
T.eq(g:num_actions(), 9, "num_actions")
local s = g:new_state()
T.eq(s:current_player(), 0, "player 0 moves first")
T.eq(#s:legal_actions(), 9, "nine legal moves")
T.eq(s:legal_actions()[1], 0, "action ids are 0-based")
s:apply(4):apply(0):apply(2):apply(6):apply(3)
T.eq(s:serialize(), "4 0 2 6 3", "serialize")
local c = s:clone()
c:apply(1):apply(5)
T.eq(s:move_count(), 5, "a clone is independent")
T.ok(c:is_terminal(), "x completes the middle row")
T.eq(c:returns()[1], 1, "x wins")
T.eq(c:returns()[2], -1, "o loses")
T.eq(c:current_player(), -1, "nobody moves at the end")
T.ok(tostring(c):find("x wins", 1, true), "render says who won")
local d = g:deserialize("4 0 2 6 3 1 5")
T.eq(d:serialize(), c:serialize(), "deserialize round trip")
T.ok(#rz.games() >= 4, "registered games")

-- reference players and arena counts on known pairs
local mm, rnd = rz.player(g, "minimax"), rz.player(g, "random")
local r = rz.arena(mm, mm, {games = 10})
T.eq(r.draws, 20, "minimax vs minimax: all draws in both seats")
local nim = rz.game("nim(piles=3;5;7)")
local x = rz.arena(rz.player(nim, "nim"), rz.player(nim, "random"), {games = 50, seat = 0})
T.eq(x.wins, 50, "the XOR player wins from the winning seat")
local c4 = rz.game("connect4")
T.eq(rz.player(c4, "alphabeta(depth=2)"):act(c4:deserialize("0 1 0 1 0 1"), 5), 0, "alpha-beta takes the win")

-- self-play, agents, checkpoints
local t = rz.selfplay{game = g, hidden = 32, positions = 16, group = 4, seed = 3}
local m = t:step()
T.eq(m.step, 1, "one step")
T.eq(m.games, 64, "16 positions x 4 games")
T.ok(math.abs(m.win0 + m.win1 + m.draw - 1) < 1e-9, "outcome fractions")
local a = t:agent()
local mv = a:act(s)
T.ok(mv >= 0 and mv < 9, "the agent moves")
T.eq(a:act(s, {greedy = true}), mv, "greedy is deterministic")
local path = os.tmpname()
a:save(path)
local b, info = rz.load_agent(path)
T.eq(info.game, "tictactoe", "the game travels with the agent")
T.eq(b:act(s), mv, "the loaded agent plays the same")
t:save(path)
local t2 = rz.selfplay{game = "tictactoe", hidden = 32, positions = 16, group = 4, seed = 3}
T.eq(t2:load(path), 1, "resume at step 1")
local m1, m2 = t:step(), t2:step()
T.eq(m1.loss, m2.loss, "a resumed trainer continues bit-identically")
os.remove(path)
local e = rz.elo({rnd, mm}, {games = 5})
T.eq(e.ratings[1], 0, "anchored at the first agent")
T.ok(e.ratings[2] > 100, "minimax rates above random")
local pl = rz.perfect_lines(a, {seat = 1})
T.ok(pl.games > 0, "perfect lines walked")
local wm = rz.winning_moves(t:agent(), {})
T.ok(wm.positions > 0 and wm.correct <= wm.positions, "winning moves counted")

-- a value head and search agents
local vt = rz.selfplay{game = "nim(piles=2;3)", hidden = 16, positions = 8, group = 2, seed = 2,
                       value_coef = 1, value_lambda = 0.5, search_depth = 1, start_pool = 100}
local vm = vt:step()
T.ok(vm.value_loss > 0, "the value loss is reported")
local va = vt:agent()
local nim23 = rz.game("nim(piles=2;3)")
local ns = nim23:new_state()
local v0 = va:value(ns)
T.ok(v0 > -1 and v0 < 1, "a value in (-1, 1)")
local sa = vt:agent{search_depth = 2}
T.ok(tostring(sa):find("search depth 2", 1, true), "a searching agent says so")
local one = nim23:new_state():apply(0):apply(5)  -- piles 1 0: taking the last wins
T.eq(sa:act(one), 0, "the search takes the last object")
T.eq(va:search(1):act(one), 0, "agent:search makes a searching copy")
local sr = rz.arena(sa, rz.player(nim23, "random"), {games = 20})
T.eq(sr.wins + sr.draws + sr.losses, 40, "a searching agent plays in the arena")
T.ok(rz.winning_moves(sa, {}).positions > 0, "winning moves of a searching agent")
local vpath = os.tmpname()
vt:save(vpath)
local vt2 = rz.selfplay{game = "nim(piles=2;3)", hidden = 16, positions = 8, group = 2, seed = 2,
                        value_coef = 1, value_lambda = 0.5, search_depth = 1, start_pool = 100}
T.eq(vt2:load(vpath), 1, "resume a value trainer")
local w1, w2 = vt:step(), vt2:step()
T.eq(w1.loss, w2.loss, "a resumed value trainer continues bit-identically (policy)")
T.eq(w1.value_loss, w2.value_loss, "a resumed value trainer continues bit-identically (value)")
va:save(vpath)
local lv = rz.load_agent(vpath)
T.eq(lv:value(ns), v0, "the value head travels in the checkpoint")
T.eq(lv:search(2):act(one), 0, "a loaded agent searches")
os.remove(vpath)

-- exact solving: state:solve, exact value targets, agents that solve their end games
local ttt = rz.game("tictactoe")
local dv, dp, da = ttt:new_state():solve()
T.eq(dv, 0, "tic-tac-toe is a draw")
T.eq(dp, 0, "a draw has no moves to the end")
T.ok(da >= 0 and da < 9, "an optimal first move")
local xwin = ttt:new_state():apply(0):apply(3):apply(1):apply(4) -- x x . / o o . / . . .
local wv, wp, wa = xwin:solve()
T.eq(wv, 1, "x to move wins")
T.eq(wp, 1, "at once")
T.eq(wa, 2, "by completing the top row")
T.eq(select("#", xwin:outcome()), 1, "the value alone is one result")
T.eq(xwin:outcome(), 1, "the value alone: a win")
T.eq(ttt:new_state():solve(1), nil, "over budget: nil")
local lost = xwin:apply(2)
local lv2, lp2, la2 = lost:solve()
T.eq(lv2, -1, "a finished game is lost for the player who would move")
T.eq(lp2, 0, "with no moves left")
T.eq(la2, nil, "and no move")
T.eq(ttt:new_state():outcome(), 0, "the value alone: a draw")
T.eq(lost:outcome(), -1, "the value alone: a finished game")
T.eq(ttt:new_state():outcome(1), nil, "the value alone over budget: nil")
-- Pons' Test_L2_R2, third position (score 2: the player to move wins): its value alone is
-- decided within 10000 nodes, its exact solution is not
local pons = rz.game("connect4"):new_state()
for c in ("2531276566711153"):gmatch("%d") do pons:apply(tonumber(c) - 1) end
T.eq(pons:outcome(10000), 1, "Pons' position: a win for the mover, within 10000 nodes")
T.eq(pons:solve(10000), nil, "which the exact search cannot tell within them")
local c4 = rz.game("connect4")
local ct = rz.selfplay{game = c4, hidden = 8, positions = 2, group = 2, opening_max = 0, seed = 3,
                       value_coef = 1, solve_nodes = 2000}
local cm = ct:step()
T.ok(cm.solved > 0 and cm.solved < 1, "connect4: some decisions get exact targets, not all")
T.ok(cm.solve_seconds >= 0, "the solving time is reported")
T.eq(vm.solved, nil, "no exact targets without solve_nodes")
local cs = ct:agent():search(2, {solve_nodes = 100000})
T.ok(tostring(cs):find("solve_nodes 100000", 1, true), "a solving agent says so")
local c4win = c4:new_state():apply(0):apply(0):apply(1):apply(1):apply(2):apply(2)
T.eq(cs:act(c4win), 3, "the solving agent takes the fastest win")
local cr = rz.arena(cs, rz.player(c4, "random"), {games = 4, seed = 2})
T.eq(cr.seat0.wins + cr.seat0.draws + cr.seat0.losses, 4, "a solving agent plays in the arena")

-- misuse
local closed_state = g:new_state(); closed_state:close()
local g2 = rz.game("connect4"); local s2 = g2:new_state(); local p2 = rz.player(g2, "random"); g2:close()
local closed_agent = t:agent(); closed_agent:close()
local closed_t = rz.selfplay{game = "nim", positions = 1, group = 2}; closed_t:close()
local cases = {
  {function() rz.game("chess") end, "chess"},
  {function() rz.game(42) end, "unknown"},
  {function() rz.game("tictactoe(size=4)") end, "size"},
  {function() g:new_state():apply(9) end, "illegal action 9"},
  {function() g:new_state():apply(4):apply(4) end, "illegal action 4"},
  {function() g:new_state():apply(-1) end, "illegal action -1"},
  {function() g:new_state():apply("x") end, "must be an integer"},
  {function() g:new_state():apply(1.5) end, "must be an integer"},
  {function() c:apply(7) end, "illegal action 7"},
  {function() closed_state:legal_actions() end, "the state is closed"},
  {function() s2:apply(3) end, "game is closed"},
  {function() g2:new_state() end, "the game is closed"},
  {function() p2:act(s2) end, "closed"},
  {function() closed_agent:act(s) end, "the agent is closed"},
  {function() closed_t:step() end, "the trainer is closed"},
  {function() g.new_state(s) end, "rz.game expected"},
  {function() s.apply(g, 1) end, "rz.state expected"},
  {function() g:deserialize("4 4") end, "illegal"},
  {function() g:deserialize("a b") end, "deserialize"},
  {function() mm:act(c) end, "the game is over"},
  {function() a:act(nim:new_state()) end, "the agent plays tictactoe"},
  {function() a:act(s, {greedy = 1}) end, "field 'greedy' must be a boolean"},
  {function() a:act(s, {temp = 1}) end, "unknown field 'temp'"},
  {function() a:act(s, -1) end, "seed = -1"},
  {function() rz.player(g, "nim") end, "nim"},
  {function() rz.player(s, "random") end, "rz.game expected"},
  {function() rz.selfplay{game = "tictactoe", hiden = 3} end, "unknown field 'hiden'"},
  {function() rz.selfplay{game = "tictactoe", group = 1} end, "field 'group' = 1 is out of range"},
  {function() rz.selfplay{game = "tictactoe", lr = "fast"} end, "field 'lr' must be a number"},
  {function() rz.selfplay{game = "tictactoe", loss = "mse"} end, "field 'loss' = 'mse' is not one of"},
  {function() rz.selfplay{hidden = 8} end, "field 'game' is required"},
  {function() rz.selfplay{game = 7} end, "must be a string or an rz.game"},
  {function() rz.selfplay{game = "tictactoe", positions = 0.5} end, "field 'positions' must be an integer"},
  {function() rz.arena(a, rz.player(nim, "random")) end, "different games"},
  {function() rz.arena(a, mm, {games = 0}) end, "field 'games' = 0 is out of range"},
  {function() rz.arena(a, mm, {seat = 2}) end, "field 'seat' = 2 is out of range"},
  {function() rz.arena(a, g) end, "rz.agent expected"},
  {function() rz.elo({a}) end, "needs 2..256 agents"},
  {function() rz.elo({a, 3}) end, "entry 2 is not an rz.agent"},
  {function() rz.perfect_lines(mm) end, "must be a policy"},
  {function() mm:save(path) end, "only a policy can be saved"},
  {function() rz.load_agent("/nonexistent/x.ckpt") end, "rz.load_agent"},
  {function() t2:load("/nonexistent/x.ckpt") end, "selfplay:load"},
  {function() t:agent{search_depth = 1} end, "needs a network with a value head"},
  {function() a:search(1) end, "no value head"},
  {function() a:value(s) end, "no value head"},
  {function() va:search(9) end, "depth = 9"},
  {function() mm:search(1) end, "not a policy"},
  {function() va:value(s) end, "the agent plays nim"},
  {function() vt:agent{depth = 1} end, "unknown field 'depth'"},
  {function() rz.selfplay{game = "nim", search_depth = 1} end, "value_coef"},
  {function() rz.selfplay{game = "nim", value_lambda = 2} end, "value_lambda"},
  {function() rz.selfplay{game = "nim", mirror = true} end, "reflection"},
  {function() rz.selfplay{game = "connect4", mirror = 1} end, "mirror"},
  {function() rz.selfplay{game = "nim", solve_nodes = 10} end, "solve_nodes = 10 needs a value head"},
  {function() rz.selfplay{game = "nim", value_coef = 1, solve_nodes = -1} end, "field 'solve_nodes' = -1"},
  {function() va:search(2, {solve_nodes = -1}) end, "field 'solve_nodes' = -1"},
  {function() va:search(0, {solve_nodes = 10}) end, "solve_nodes = 10 needs depth > 0"},
  {function() va:search(2, {solve = 10}) end, "unknown field 'solve'"},
  {function() rz.arena(cs, rz.player(c4, "random"), {temperature = 1}) end, "needs a greedy search"},
  {function() s:solve(0) end, "max_nodes = 0"},
  {function() s:outcome(0) end, "state:outcome: max_nodes = 0"},
  {function() s:solve("many") end, "number expected"},
}
for i, case in ipairs(cases) do T.raises(case[1], case[2], "misuse case " .. i) end
local ms = rz.selfplay{game = "connect4", hidden = 8, positions = 2, group = 2, mirror = true}
T.ok(ms:step().decisions > 0, "a mirror-augmented trainer steps")
T.ok(tostring(closed_state):find("closed", 1, true), "a closed state prints as closed")
T.done()
