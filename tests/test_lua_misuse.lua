-- test_lua_misuse.lua: every misuse is a Lua error with a stated fragment, never a crash.
-- All cases run in this one process, which must survive them.
local rz = require "rlzero"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")

local tok = rz.tokenizer.chars{alphabet = "ab"}
local m = rz.transformer{tokenizer = tok, dim = 8, layers = 1, heads = 2, context = 8}
local closed = rz.transformer{vocab = 5, dim = 8, layers = 1, heads = 2, context = 8}
closed:close()
local env = rz.env("reverse(min_len=2,max_len=3)")
local item = env:item("test", 0)
local closed_env = rz.env("arith")
closed_env:close()
-- requests for more memory than any machine has: refused with their size, before allocating
local wide = rz.transformer{vocab = 1 << 20, dim = 2, layers = 1, heads = 1, context = 1 << 16}
local long_row = {}
for i = 1, 1 << 16 do long_row[i] = 1 end
local kv_model = rz.transformer{tokenizer = tok, dim = 512, layers = 1, heads = 2, context = 1 << 16}
local many = {}
for i = 1, 4096 do many[i] = "ab" end

-- a checkpoint of another shape, for trainer:load_reference
local other_ckpt = os.tmpname()
rz.transformer{tokenizer = tok, dim = 16, layers = 1, heads = 2, context = 8}:save(other_ckpt)
local function kl_trainer() return rz.grpo{policy = m, env = env, beta = 0.1, max_new = 4} end

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
  -- environments
  {function() rz.env("nosuchtask") end, "nosuchtask"},
  {function() rz.env("countdown(numbres=3)") end, "unknown parameter 'numbres'"},
  {function() rz.env("countdown(numbers=99)") end, "numbers"},
  {function() rz.env("arith", {sed = 1}) end, "unknown field 'sed'"},
  {function() env:item("valid", 1) end, "invalid option 'valid'"},
  {function() env:item("test", -1) end, "negative"},
  {function() env:item("test", 1 << 40) end, "test"},
  {function() env:grade({prompt = "1+1="}, "x") end, "no string 'answer'"},
  {function() env:grade(item, nil) end, "string expected"},
  {function() closed_env:item("test", 1) end, "closed"},
  -- generation, GRPO, evaluation
  {function() m:generate{} end, "field 'prompts' must be a table"},
  {function() m:generate{prompts = {"ab"}, max_new = 0} end, "field 'max_new' = 0"},
  {function() m:generate{prompts = {"ab"}, temperature = -1} end, "field 'temperature'"},
  {function() m:generate{prompts = {"ab"}, top_p = 0} end, "field 'top_p'"},
  {function() m:generate{prompts = {"abc"}} end, "'c'"},
  {function() m:generate{prompts = {"ab"}, stop = {""}} end, "stop[1]"},
  {function() m:generate{prompts = {"ab"}, tmperature = 1} end, "unknown field 'tmperature'"},
  {function() rz.grpo{env = env} end, "field 'policy' is required"},
  {function() rz.grpo{policy = m} end, "field 'env' is required"},
  {function() rz.grpo{policy = m, env = env, group = 0} end, "field 'group' = 0"},
  {function() rz.grpo{policy = m, env = env, loss = "sum"} end, "not one of: grpo, token, dr_grpo"},
  {function() rz.grpo{policy = m, env = env, rewards = {accuracy = "1"}} end, "maps component names to numbers"},
  {function() rz.grpo{policy = m, env = env, rewards = {acuracy = 1}} end, "unknown reward component 'acuracy'"},
  {function() rz.grpo{policy = m, env = env, reward_fn = 3} end, "'reward_fn' must be a function"},
  {function() rz.grpo{policy = m, env = env, beta = 0 / 0} end, "field 'beta' is NaN"},
  {function() rz.grpo{policy = m, env = env, groop = 8} end, "unknown field 'groop'"},
  {function() rz.grpo{policy = m, env = env, max_new = 4}:save_reference(other_ckpt) end,
   "trainer:save_reference: the trainer has no reference model (beta = 0)"},
  {function() kl_trainer():load_reference(other_ckpt .. ".missing") end, ".missing"},
  {function() kl_trainer():load_reference(other_ckpt) end, "is not a reference for this trainer's policy"},
  {function() rz.evaluate{model = m} end, "field 'env' is required"},
  {function() rz.evaluate{model = m, env = env, items = 0} end, "field 'items' = 0"},
  {function() rz.evaluate{model = m, env = env, items = 10000} end, "past the test split"},
  -- huge models and batches (TiB): an error stating the size, never an allocation
  {function() rz.transformer{vocab = 1 << 20, dim = 1 << 16, layers = 1, heads = 1} end,
   "parameters need 3023727230976 bytes (2816.1 GiB)"},
  {function() wide:forward{long_row} end, "bytes (528.1 GiB) for transformer activations"},
  {function() kv_model:generate{prompts = many, max_new = 65000} end,
   "kvcache: 4096 slots x 65002 positions need 1090602926080 bytes"},
}

for i, c in ipairs(cases) do T.raises(c[1], c[2], "case " .. i) end
-- the process is still healthy afterwards
T.eq(m:forward{{1, 2}}:shape()[3], tok:size(), "model usable after the misuse table")
collectgarbage()
os.remove(other_ckpt)
T.done()
