-- rlzero.episodes: `rlzero episodes RUN_DIR [--step N] [--json]` prints a run's episode
-- log (RUN_DIR/episodes.msgpack, or a log file given directly) readably, or as one JSON
-- object per line for jq and friends.
local rz = require "rlzero"

local M = {}

local usage = "usage: rlzero episodes RUN_DIR [--step N] [--json]\n"

-- The log of a run directory or the file itself.
function M.path(target)
  if rz.exists(target .. "/episodes.msgpack") then return target .. "/episodes.msgpack" end
  if rz.exists(target) and not rz.exists(target .. "/.") then return target end
  if rz.exists(target .. "/.") then error(target .. ": no episodes.msgpack in this run directory", 0) end
  error(target .. ": no such run directory or episode log", 0)
end

-- Text with control characters shown, one line per field.
local function show(s)
  return (s:gsub("\r", "\\r"):gsub("\n", "\\n"):gsub("\t", "\\t"):gsub("[%z\1-\8\11\12\14-\31\127]",
    function(c) return string.format("\\x%02x", c:byte()) end))
end

function M.format(e)
  local adv = e.advantage and string.format("%+.3f", e.advantage) or "-"
  return string.format(
    "step %d  group %d  reward %.4g (accuracy %.4g, format %.4g, language %.4g)  advantage %s  %d tokens%s\n" ..
    "  prompt:     %s\n  answer:     %s\n  completion: %s\n",
    e.step, e.group, e.reward, e.accuracy, e.format, e.language, adv, e.tokens,
    e.truncated and " (truncated)" or "", show(e.prompt), show(e.answer), show(e.completion))
end

function M.main(...)
  local args = {...}
  local target, step, json
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--json" then
      json = true
    elseif a == "--step" then
      step = math.tointeger(tonumber(args[i + 1] or ""))
      if not step or step < 0 then
        io.stderr:write("rlzero episodes: --step needs a step number\n", usage)
        return 2
      end
      i = i + 1
    elseif a == "-h" or a == "--help" then
      io.stdout:write(usage)
      return 0
    elseif a:sub(1, 1) == "-" or target then
      io.stderr:write("rlzero episodes: unexpected argument '", a, "'\n", usage)
      return 2
    else
      target = a
    end
    i = i + 1
  end
  if not target then
    io.stderr:write(usage)
    return 2
  end
  local ok, eps = pcall(function() return rz.episodes_read(M.path(target), {step = step}) end)
  if not ok then
    io.stderr:write("rlzero episodes: ", tostring(eps):gsub("^[^:]*%.lua:%d+: ", ""), "\n")
    return 1
  end
  if #eps == 0 then
    io.stderr:write(string.format("rlzero episodes: %s: no episodes%s\n", target,
                                  step and " at step " .. step or ""))
    return 1
  end
  for _, e in ipairs(eps) do
    if json then
      -- JSON has no NaN: an advantage the update did not give is simply absent
      local ok, line = pcall(rz.json, e)
      if not ok then e.prompt, e.answer, e.completion = show(e.prompt), show(e.answer), show(e.completion)
        line = rz.json(e) end
      io.stdout:write(line, "\n")
    else
      io.stdout:write(M.format(e))
    end
  end
  return 0
end

return M
