-- test_plot.lua: rlzero.plot draws a series of one point as a dot (a run of one step),
-- several as a line, and skips NaN points.
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")
local plot = require "rlzero.plot"

local one = plot.svg{title = "one", series = {{name = "a", x = {1}, y = {0.5}}}}
T.ok(one:find('<circle cx="[%d.]+" cy="[%d.]+" r="3"') ~= nil, "a single point is a dot with both coordinates")
local line = plot.svg{series = {{name = "a", x = {1, 2, 3}, y = {0, 0 / 0, 1}}}, ymin = 0, ymax = 1}
local pts = line:match('points="([^"]*)"')
T.ok(pts ~= nil, "several points are a line")
local n = 0
for _ in pts:gmatch("[%d.]+,[%d.]+") do n = n + 1 end
T.eq(n, 2, "the NaN point is left out")
T.done()
