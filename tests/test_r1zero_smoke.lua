-- test_r1zero_smoke.lua: experiments/r1zero.lua end to end at a tiny size (pretraining,
-- base evaluation, GRPO, final evaluation, outputs), then again to check that the cached
-- base model and the RL checkpoint are reused.
local rz = require "rlzero"
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")
local srcdir = os.getenv("srcdir") or "."

local dir = os.tmpname()
os.remove(dir)
local script = assert(loadfile(srcdir .. "/experiments/r1zero.lua"))
local tiny = {out = dir, steps = 2, pretrain_steps = 5, pretrain_batch = 4, eval_items = 8,
              curve_items = 4, eval_k = 2, dim = 16, layers = 1, heads = 2, group = 2,
              prompts = 2, max_new = 24, eval_every = 1}
script(tiny)

local f = io.open(dir .. "/results.json")
T.ok(f ~= nil, "results.json written")
local res = rz.json_decode(f:read("a"))
f:close()
for _, k in ipairs{"pass1_base", "pass1_final", "len_start", "len_end", "wall_seconds"} do
  T.ok(type(res[k]) == "number" and res[k] == res[k], "results.json has a number " .. k)
end
T.ok(res.pass1_base >= 0 and res.pass1_base <= 1, "pass1_base is a fraction")
T.ok(res.len_start > 0 and res.len_end > 0, "lengths are positive")
T.eq(res.base_cached, false, "first run pretrains")
for _, name in ipairs{"results.md", "metrics.jsonl", "accuracy.svg", "length.svg", "samples.md",
                      "base.ckpt", "last.ckpt"} do
  T.ok(rz.exists(dir .. "/" .. name), name .. " written")
end
local lines = 0
for _ in io.lines(dir .. "/metrics.jsonl") do lines = lines + 1 end
T.eq(lines, 2, "one metrics line per RL step")
local svg = io.open(dir .. "/accuracy.svg"):read("a")
T.ok(svg:find("<svg", 1, true) and svg:find("</svg>", 1, true), "accuracy.svg is an SVG")

-- the same command again: the base model is reused and RL resumes where it ended
script(tiny)
res = rz.json_decode(io.open(dir .. "/results.json"):read("a"))
T.eq(res.base_cached, true, "second run reuses the base model")
lines = 0
for _ in io.lines(dir .. "/metrics.jsonl") do lines = lines + 1 end
T.eq(lines, 2, "resumed run adds no RL steps")

for _, name in ipairs{"results.json", "results.md", "metrics.jsonl", "accuracy.svg", "length.svg",
                      "samples.md", "base.ckpt", "last.ckpt", "config.json", "pretrain.jsonl",
                      "samples_step1.json", "samples_step2.json"} do
  os.remove(dir .. "/" .. name)
end
os.remove(dir)
T.done()
