-- test_interop.lua: model:export / rz.import round trip (safetensors), and a model with a
-- non-finite parameter is never written to a checkpoint (the previous one stays).
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")
local rz = require "rlzero"

local dir = os.tmpname()
os.remove(dir)
rz.mkdir(dir)

local tok = rz.tokenizer.chars{alphabet = "0123456789+=", specials = {"<think>"}}
local m = rz.transformer{tokenizer = tok, dim = 16, layers = 1, heads = 2, context = 16, seed = 3}
local opt = rz.adamw(m, {lr = 1e-2})
opt:sft{completions = {"12+3=15", "1+1=2"}}
T.eq(m:export(dir .. "/hf"), dir .. "/hf", "export returns the directory")
T.ok(rz.exists(dir .. "/hf/model.safetensors") and rz.exists(dir .. "/hf/config.json"), "files written")
local back = rz.import(dir .. "/hf")
local a, b = m:forward{{1, 4, 5, 6}}, back:forward{{1, 4, 5, 6}}
local same = true
for t = 1, 4 do for v = 1, tok:size() do same = same and a[1][t][v] == b[1][t][v] end end
T.ok(same, "imported model's logits equal the original's bit for bit")
T.ok(back:tokenizer() ~= nil and back:tokenizer():decode(back:tokenizer():encode("<think>1+2=3")) == "<think>1+2=3",
     "the tokenizer comes back")
T.raises(function() m:export(dir .. "/x", {format = "gguf"}) end, "format")
T.raises(function() rz.import(dir .. "/nowhere") end, "rz.import")

-- a NaN planted in the exported weights: the model imports, but no checkpoint takes it
local path = dir .. "/hf/model.safetensors"
local f = assert(io.open(path, "rb"))
local bytes = f:read("a")
f:close()
local hlen = string.unpack("<I8", bytes)
local at = 8 + hlen
bytes = bytes:sub(1, at) .. string.pack("<f", 0 / 0) .. bytes:sub(at + 5)
f = assert(io.open(path, "wb"))
f:write(bytes)
f:close()
local bad = rz.import(dir .. "/hf")
local ck = dir .. "/last.ckpt"
m:save(ck)
local before = assert(io.open(ck, "rb")):read("a")
T.raises(function() bad:save(ck) end, "non-finite value; not written")
T.eq(assert(io.open(ck, "rb")):read("a"), before, "the previous checkpoint is intact")

-- run:save reports the failure and keeps going
local run = require("rlzero.run").open("interop", {steps = 1}, {out = dir .. "/run"})
T.ok(run:save(m, 1, {x = 1}), "a good save")
local ok, err = run:save(bad, 2)
T.ok(ok == false and err:find("non-finite", 1, true), "a refused save returns false, message")
T.eq(run.save_failures, 1, "and is counted")
local m2, step, state = run:resume()
T.ok(m2 ~= nil and step == 1 and state.x == 1, "resume finds the good checkpoint")
T.eq(rz.interrupted(), false, "no signal came")
T.eq(run:should_stop(1), nil, "nothing to stop for")

-- skip_nonfinite: a normal step reports no skip
local l, g, n, skipped = opt:sft{completions = {"1+1=2"}, skip_nonfinite = true}
T.ok(l == l and g == g and n > 0 and skipped == nil, "a finite step is not skipped")

os.execute("rm -rf '" .. dir .. "'")
T.done()
