-- test_lua_misuse.lua: every misuse is a Lua error with a stated fragment, never a crash.
-- All cases run in this one process, which must survive them.
local rz = require "rlzero"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")

local tok = rz.tokenizer.chars{alphabet = "ab"}
local m = rz.transformer{tokenizer = tok, dim = 8, layers = 1, heads = 2, context = 8}
local closed = rz.transformer{vocab = 5, dim = 8, layers = 1, heads = 2, context = 8}
closed:close()

local cases = {
  -- config tables
  {function() rz.transformer{vocab = 5, dimm = 8} end, "unknown field 'dimm'"},
  {function() rz.transformer{vocab = 5, dim = "big"} end, "field 'dim' must be an integer"},
  {function() rz.transformer{vocab = 5, dim = 8.5} end, "field 'dim' must be an integer"},
  {function() rz.transformer{vocab = 5, dim = -8} end, "field 'dim' = -8 is out of range"},
  {function() rz.transformer{vocab = 5, dim = 1 << 40} end, "out of range"},
  {function() rz.transformer{vocab = 5, dim = 9, heads = 2} end, "heads"},
  {function() rz.transformer{vocab = 5, rope_theta = 0 / 0} end, "field 'rope_theta' is NaN"},
  {function() rz.transformer{vocab = 5, tied = 1} end, "field 'tied' must be a boolean"},
  {function() rz.transformer{} end, "vocab"},
  {function() rz.transformer(42) end, "table expected"},
  {function() rz.transformer{vocab = 5, [1] = 2} end, "unexpected number key"},
  {function() rz.transformer{tokenizer = m} end, "rz.tokenizer expected"},
  {function() rz.tokenizer.chars{} end, "field 'alphabet' is required"},
  {function() rz.tokenizer.chars{alphabet = "aa"} end, "a"},
  {function() rz.tokenizer.chars{alphabet = "ab", specials = {1}} end, "specials[1] must be a string"},
  {function() rz.tokenizer.chars{alphabet = "ab", extra = 1} end, "unknown field 'extra'"},
  {function() rz.adamw(m, {lr = -1}) end, "field 'lr' = -1"},
  {function() rz.adamw(m, {lrr = 1}) end, "unknown field 'lrr'"},
  {function() rz.adamw(tok) end, "rz.transformer expected"},
  -- sizes and indices
  {function() m:forward{} end, "empty token table"},
  {function() m:forward{{1, 2}, {1}} end, "row 2 has 1 tokens"},
  {function() m:forward{{1, 99}} end, "token id 99 is out of range"},
  {function() m:forward{{1, -1}} end, "out of range"},
  {function() m:forward{{1, 1.5}} end, "not an integer token id"},
  {function() m:forward{{1, 2, 1, 2, 1, 2, 1, 2, 1}} end, "context"},
  {function() m:forward("abc") end, "table expected"},
  {function() local _ = m:forward{{1, 2}}[3] end, "out of range"},
  {function() m:loss({{1, 2}}, {{1}}) end, "targets are 1x1"},
  {function() m:loss({{1, 2}}, {{1, 2}}, {{1, -1}}) end, "weight (1, 2)"},
  {function() m:loss({{1, 2}}, {{1, 2}}, nil, {backwards = true}) end, "unknown field 'backwards'"},
  {function() tok:encode("abc") end, "'c'"},
  {function() tok:decode{99} end, "out of range"},
  -- closed objects
  {function() closed:forward{{1}} end, "closed"},
  {function() closed:save("x.ckpt") end, "closed"},
  {function() closed:nparams() end, "closed"},
  -- files
  {function() rz.load("/nonexistent/dir/x.ckpt") end, "/nonexistent/dir/x.ckpt"},
  {function() m:save("/nonexistent/dir/x.ckpt") end, "/nonexistent/dir/x.ckpt"},
  {function() rz.load(tok) end, "string expected"},
  -- overrides
  {function() rz.config({steps = 1}, {steps = "many"}) end, "'steps' must be a number"},
  {function() rz.config({steps = 1}, {steps = "1.5"}) end, "'steps' must be an integer"},
  {function() rz.config({fresh = false}, {fresh = "maybe"}) end, "'fresh' must be true or false"},
  {function() rz.config({seed = 1}, {sed = "2"}) end, "unknown key 'sed' (allowed: seed)"},
  {function() rz.json(function() end) end, "cannot encode a function"},
  {function() local t = {}; t.t = t; rz.json(t) end, "nested too deeply"},
  {function() rz.json_decode("{") end, "rz.json_decode"},
}

for i, c in ipairs(cases) do T.raises(c[1], c[2], "case " .. i) end
-- the process is still healthy afterwards
T.eq(m:forward{{1, 2}}:shape()[3], tok:size(), "model usable after the misuse table")
collectgarbage()
T.done()
