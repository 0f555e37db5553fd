-- rlzero.plot: line charts as SVG text, with no dependency.
--
--   local plot = require "rlzero.plot"
--   rz.write_file("acc.svg", plot.svg{title = "accuracy", xlabel = "step", ylabel = "pass@1",
--     series = {{name = "r1zero", x = {...}, y = {...}}, ...}, ymin = 0, ymax = 1})
local M = {}

local COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

local function esc(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function nice(v)
  if v == math.floor(v) and math.abs(v) < 1e6 then return string.format("%d", v) end
  return string.format("%.3g", v)
end

function M.svg(o)
  local W, H, L, R, T, B = o.width or 640, o.height or 400, 64, 150, 36, 48
  local xmin, xmax, ymin, ymax = math.huge, -math.huge, o.ymin or math.huge, o.ymax or -math.huge
  for _, s in ipairs(o.series) do
    for i = 1, #s.x do
      local x, y = s.x[i], s.y[i]
      if x == x and y == y then
        xmin, xmax = math.min(xmin, x), math.max(xmax, x)
        if not o.ymin then ymin = math.min(ymin, y) end
        if not o.ymax then ymax = math.max(ymax, y) end
      end
    end
  end
  if xmin > xmax then xmin, xmax = 0, 1 end
  if ymin > ymax then ymin, ymax = 0, 1 end
  if xmax == xmin then xmax = xmin + 1 end
  if ymax == ymin then ymax = ymin + 1 end
  local pw, ph = W - L - R, H - T - B
  local function px(x) return L + (x - xmin) / (xmax - xmin) * pw end
  local function py(y) return T + (1 - (y - ymin) / (ymax - ymin)) * ph end
  local out = {}
  local function add(...) out[#out + 1] = string.format(...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">', W, H)
  add('<rect width="100%%" height="100%%" fill="white"/>')
  add('<text x="%d" y="20" font-size="14">%s</text>', L, esc(o.title or ""))
  for i = 0, 4 do
    local yv = ymin + (ymax - ymin) * i / 4
    local xv = xmin + (xmax - xmin) * i / 4
    add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>', L, py(yv), L + pw, py(yv))
    add('<text x="%.1f" y="%.1f" text-anchor="end">%s</text>', L - 6, py(yv) + 4, nice(yv))
    add('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>', px(xv), T + ph + 16, nice(xv))
  end
  add('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>', L, T, pw, ph)
  add('<text x="%.1f" y="%d" text-anchor="middle">%s</text>', L + pw / 2, H - 8, esc(o.xlabel or ""))
  add('<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>',
      T + ph / 2, T + ph / 2, esc(o.ylabel or ""))
  for k, s in ipairs(o.series) do
    local color = s.color or COLORS[(k - 1) % #COLORS + 1]
    local pts = {}
    for i = 1, #s.x do
      if s.x[i] == s.x[i] and s.y[i] == s.y[i] then
        pts[#pts + 1] = string.format("%.1f,%.1f", px(s.x[i]), py(s.y[i]))
      end
    end
    if #pts == 1 then
      local cx, cy = pts[1]:match("([^,]+),([^,]+)")
      add('<circle cx="%s" cy="%s" r="3" fill="%s"/>', cx, cy, color)
    elseif #pts > 1 then
      add('<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>', color, table.concat(pts, " "))
    end
    add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>', W - R + 10, T + 8 + 18 * (k - 1),
        W - R + 30, T + 8 + 18 * (k - 1), color)
    add('<text x="%d" y="%d">%s</text>', W - R + 36, T + 12 + 18 * (k - 1), esc(s.name or ("series " .. k)))
  end
  add('</svg>')
  return table.concat(out, "\n") .. "\n"
end

-- A moving average over `w` points (for noisy per-step metrics).
function M.smooth(y, w)
  local out, sum, q = {}, 0, {}
  for i = 1, #y do
    sum = sum + y[i]
    q[#q + 1] = y[i]
    if #q > w then sum = sum - table.remove(q, 1) end
    out[i] = sum / #q
  end
  return out
end

return M
