-- rlzero.report: `rlzero report RUN_DIR [--out FILE] [--steps N,M,...]` writes one
-- self-contained HTML page (RUN_DIR/report.html): an inline SVG plot of every metric in
-- metrics.jsonl against step (reward components, accuracy, response length, KL, entropy,
-- clip fractions first), the config and results, and completions at chosen steps from
-- episodes.msgpack (default: the first, middle and last logged step). No external
-- scripts, styles or fonts: it opens offline. A few lines of inline script count the
-- drawn plots into <body data-plots-drawn=N> (the headless-browser test reads it).
local rz = require "rlzero"

local M = {}

local usage = "usage: rlzero report RUN_DIR [--out FILE] [--steps N,M,...]\n"

-- Plotted first, in this order, under these titles; any other numeric metric follows.
local known = {
  {"reward", "reward"}, {"accuracy", "accuracy"}, {"format", "format reward"},
  {"language", "language consistency"}, {"reward_fn", "reward_fn"}, {"reward_std", "reward std"},
  {"len_mean", "response length (tokens)"}, {"kl", "KL to the reference"}, {"entropy", "entropy"},
  {"clip_frac", "clip fraction"}, {"clip_low", "clip fraction (low)"},
  {"clip_high", "clip fraction (high)"}, {"frac_reward_zero_std", "groups with zero reward std"},
  {"frac_truncated", "truncated fraction"}, {"loss", "loss"}, {"grad_norm", "gradient norm"},
  {"lr", "learning rate"},
}
-- timing and bookkeeping fields are not worth a plot
local skip = {step = true, gen_seconds = true, update_seconds = true, step_seconds = true,
              gen_tokens = true, completions = true, groups = true}

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                        ['"'] = "&quot;", ["'"] = "&#39;"}))
end

-- A compact number for axis labels.
local function num(v)
  if v == 0 then return "0" end
  local a = math.abs(v)
  if a >= 1e5 or a < 1e-3 then return string.format("%.2e", v) end
  return (string.format("%.4g", v))
end

local function read_metrics(path)
  local rows = {}
  local f = io.open(path, "r")
  if not f then return rows end
  for line in f:lines() do
    local ok, m = pcall(rz.json_decode, line)
    if ok and type(m) == "table" and type(m.step) == "number" then rows[#rows + 1] = m end
  end
  f:close()
  table.sort(rows, function(a, b) return a.step < b.step end)
  return rows
end

-- The numeric series in plotting order: {key=, title=}.
local function series_of(rows)
  local present = {}
  for _, r in ipairs(rows) do
    for k, v in pairs(r) do
      if type(v) == "number" and not skip[k] then present[k] = true end
    end
  end
  local out, seen = {}, {}
  for _, kt in ipairs(known) do
    if present[kt[1]] then out[#out + 1] = {key = kt[1], title = kt[2]}; seen[kt[1]] = true end
  end
  local rest = {}
  for k in pairs(present) do if not seen[k] then rest[#rest + 1] = k end end
  table.sort(rest)
  for _, k in ipairs(rest) do out[#out + 1] = {key = k, title = k} end
  return out
end

-- One SVG line plot of rows[*][key] against step; non-numbers break the line.
local W, H, PL, PR, PT, PB = 460, 200, 58, 12, 12, 28
local function plot(rows, key, title)
  local xs, ys = {}, {}
  local x0, x1, y0, y1 = math.huge, -math.huge, math.huge, -math.huge
  for _, r in ipairs(rows) do
    local v = r[key]
    if type(v) == "number" and v == v and v > -math.huge and v < math.huge then
      x0, x1 = math.min(x0, r.step), math.max(x1, r.step)
      y0, y1 = math.min(y0, v), math.max(y1, v)
    end
  end
  if x0 > x1 then return nil end
  if x1 == x0 then x0, x1 = x0 - 1, x1 + 1 end
  if y1 == y0 then local d = math.abs(y0) * 0.1 + 1e-3; y0, y1 = y0 - d, y1 + d end
  local function X(x) return PL + (x - x0) / (x1 - x0) * (W - PL - PR) end
  local function Y(y) return H - PB - (y - y0) / (y1 - y0) * (H - PT - PB) end
  local d, pen, npts = {}, "M", 0
  for _, r in ipairs(rows) do
    local v = r[key]
    if type(v) == "number" and v == v and v > -math.huge and v < math.huge then
      d[#d + 1] = string.format("%s%.2f %.2f", pen, X(r.step), Y(v))
      pen, npts = "L", npts + 1
    else
      pen = "M"
    end
  end
  local path = table.concat(d, " ")
  local dots = ""
  if npts == 1 then -- a single point draws nothing as a line: mark it
    dots = string.format('<circle cx="%.2f" cy="%.2f" r="3" class="pt"/>', X(x0 + (x1 - x0) / 2), Y(y0))
    path = path .. string.format(" l0.01 0")
  end
  local t = {}
  t[#t + 1] = string.format('<figure><figcaption>%s</figcaption><svg class="plot" data-key="%s" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s against step">',
    esc(title), esc(key), W, H, W, H, esc(title))
  t[#t + 1] = string.format('<rect x="%d" y="%d" width="%d" height="%d" class="frame"/>', PL, PT, W - PL - PR, H - PT - PB)
  for i = 0, 4 do -- horizontal grid with value labels
    local yv = y0 + (y1 - y0) * i / 4
    local yy = Y(yv)
    t[#t + 1] = string.format('<line x1="%d" x2="%d" y1="%.2f" y2="%.2f" class="grid"/><text x="%d" y="%.2f" class="yl">%s</text>',
      PL, W - PR, yy, yy, PL - 4, yy + 4, num(yv))
  end
  for i = 0, 4 do
    local xv = x0 + (x1 - x0) * i / 4
    t[#t + 1] = string.format('<text x="%.2f" y="%d" class="xl">%s</text>', X(xv), H - PB + 16, num(math.floor(xv + 0.5)))
  end
  t[#t + 1] = string.format('<path class="series" d="%s"/>%s</svg></figure>', path, dots)
  return table.concat(t)
end

local css = [[
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}
.plots{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #ddd;padding:6px;border-radius:4px}
figcaption{font-weight:600;margin-bottom:2px}
.frame{fill:none;stroke:#bbb}.grid{stroke:#eee}
.series{fill:none;stroke:#1f6fb2;stroke-width:1.6;stroke-linejoin:round}
.pt{fill:#1f6fb2}.yl{font-size:10px;text-anchor:end;fill:#555}.xl{font-size:10px;text-anchor:middle;fill:#555}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
pre{background:#f6f6f6;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:0}
.ok{color:#137333}.bad{color:#b3261e}
]]

local counter = [[
(function(){var n=0;var ps=document.querySelectorAll('svg.plot path.series');
for(var i=0;i<ps.length;i++){try{var b=ps[i].getBBox();if(ps[i].getTotalLength()>0||b.width>0||b.height>0)n++;}catch(e){}}
document.body.setAttribute('data-plots-drawn',String(n));})();
]]

local function read_text(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Picks steps to show: the given ones, else the first, middle and last logged.
local function pick_steps(eps, wanted)
  local have, list = {}, {}
  for _, e in ipairs(eps) do
    if not have[e.step] then have[e.step] = true; list[#list + 1] = e.step end
  end
  table.sort(list)
  if wanted then
    local out = {}
    for _, s in ipairs(wanted) do out[#out + 1] = s end
    return out, have
  end
  if #list <= 3 then return list, have end
  return {list[1], list[(#list + 1) // 2], list[#list]}, have
end

local function completions_section(eps, steps, have, per_step)
  local t = {}
  for _, s in ipairs(steps) do
    t[#t + 1] = string.format("<h3>step %d</h3>", s)
    if not have[s] then
      t[#t + 1] = "<p>no episodes logged at this step</p>"
    else
      t[#t + 1] = "<table><tr><th>group</th><th>prompt</th><th>answer</th><th>completion</th><th>reward</th><th>accuracy</th><th>format</th><th>language</th><th>advantage</th><th>tokens</th></tr>"
      local n = 0
      for _, e in ipairs(eps) do
        if e.step == s and n < per_step then
          n = n + 1
          t[#t + 1] = string.format(
            '<tr><td>%d</td><td><pre>%s</pre></td><td><pre>%s</pre></td><td><pre>%s</pre></td><td class="%s">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d%s</td></tr>',
            e.group, esc(e.prompt), esc(e.answer), esc(e.completion), e.accuracy >= 1 and "ok" or "bad",
            num(e.reward), num(e.accuracy), num(e.format), num(e.language),
            e.advantage and num(e.advantage) or "-", e.tokens, e.truncated and " (truncated)" or "")
        end
      end
      t[#t + 1] = "</table>"
    end
  end
  return table.concat(t, "\n")
end

-- Builds the page for run directory `dir`; returns the HTML and the number of plots.
function M.build(dir, opts)
  opts = opts or {}
  local rows = read_metrics(dir .. "/metrics.jsonl")
  local parts = {}
  local nplots = 0
  for _, s in ipairs(series_of(rows)) do
    local svg = plot(rows, s.key, s.title)
    if svg then parts[#parts + 1] = svg; nplots = nplots + 1 end
  end
  local eps = {}
  local eppath = dir .. "/episodes.msgpack"
  if rz.exists(eppath) then eps = rz.episodes_read(eppath) end
  local steps, have = pick_steps(eps, opts.steps)
  local config = read_text(dir .. "/config.json")
  local results = read_text(dir .. "/results.json")
  local h = {}
  h[#h + 1] = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
  h[#h + 1] = string.format("<title>rlzero report: %s</title><style>%s</style></head><body>", esc(dir), css)
  h[#h + 1] = string.format("<h1>rlzero report: %s</h1>", esc(dir))
  h[#h + 1] = string.format("<p>%d logged steps (%s), %d episodes; rlzero %s</p>", #rows,
    #rows > 0 and string.format("%d to %d", rows[1].step, rows[#rows].step) or "none", #eps, esc(rz.version))
  h[#h + 1] = "<h2>Metrics against step</h2>"
  h[#h + 1] = nplots > 0 and ('<div class="plots">' .. table.concat(parts, "\n") .. "</div>") or "<p>no metrics logged</p>"
  if results then h[#h + 1] = "<h2>Results</h2><pre>" .. esc(results) .. "</pre>" end
  if config then h[#h + 1] = "<h2>Config</h2><pre>" .. esc(config) .. "</pre>" end
  if #eps > 0 then
    h[#h + 1] = "<h2>Completions</h2>"
    h[#h + 1] = completions_section(eps, steps, have, opts.per_step or 8)
  end
  h[#h + 1] = "<script>" .. counter .. "</script></body></html>\n"
  return table.concat(h, "\n"), nplots
end

function M.main(...)
  local args = {...}
  local dir, out, steps
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--out" then
      out = args[i + 1]
      i = i + 1
      if not out then io.stderr:write("rlzero report: --out needs a file\n", usage); return 2 end
    elseif a == "--steps" then
      steps = {}
      for s in (args[i + 1] or ""):gmatch("[^,]+") do
        local n = math.tointeger(tonumber(s))
        if not n then io.stderr:write("rlzero report: --steps takes N,M,... (got '", s, "')\n"); return 2 end
        steps[#steps + 1] = n
      end
      if #steps == 0 then io.stderr:write("rlzero report: --steps needs N,M,...\n", usage); return 2 end
      i = i + 1
    elseif a == "-h" or a == "--help" then
      io.stdout:write(usage)
      return 0
    elseif a:sub(1, 1) == "-" or dir then
      io.stderr:write("rlzero report: unexpected argument '", a, "'\n", usage)
      return 2
    else
      dir = a
    end
    i = i + 1
  end
  if not dir then io.stderr:write(usage); return 2 end
  if not rz.exists(dir .. "/.") then
    io.stderr:write("rlzero report: ", dir, ": no such run directory\n")
    return 1
  end
  if not rz.exists(dir .. "/metrics.jsonl") and not rz.exists(dir .. "/episodes.msgpack") then
    io.stderr:write("rlzero report: ", dir, ": no metrics.jsonl or episodes.msgpack: not a run directory?\n")
    return 1
  end
  local ok, html, nplots = pcall(M.build, dir, {steps = steps})
  if not ok then
    io.stderr:write("rlzero report: ", tostring(html):gsub("^[^:]*%.lua:%d+: ", ""), "\n")
    return 1
  end
  out = out or (dir .. "/report.html")
  rz.write_file(out, html)
  print(string.format("report: %s (%d plots)", out, nplots))
  return 0
end

return M
