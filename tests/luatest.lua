-- luatest.lua: a tiny assertion library for the Lua tests; T.done() exits non-zero on
-- any failure so `make check` sees it.
local T = {failures = 0, checks = 0}

local function fail(msg)
  T.failures = T.failures + 1
  io.stderr:write("FAIL: ", msg, "\n", debug.traceback("", 3), "\n")
end

function T.ok(cond, msg)
  T.checks = T.checks + 1
  if not cond then fail(msg or "condition is false") end
end

function T.eq(a, b, msg)
  T.checks = T.checks + 1
  if a ~= b then fail(string.format("%s: expected %s, got %s", msg or "eq", tostring(b), tostring(a))) end
end

-- fn() must raise an error whose message contains `fragment` (a plain substring).
function T.raises(fn, fragment, msg)
  T.checks = T.checks + 1
  local ok, err = pcall(fn)
  if ok then
    fail(string.format("%s: no error raised (expected '%s')", msg or "raises", fragment))
  elseif not tostring(err):find(fragment, 1, true) then
    fail(string.format("%s: error '%s' does not contain '%s'", msg or "raises", tostring(err), fragment))
  end
  return err
end

function T.done()
  local name = arg and arg[0] or "lua test"
  if T.failures > 0 then
    io.stderr:write(string.format("%s: %d of %d checks failed\n", name, T.failures, T.checks))
    os.exit(1)
  end
  print(string.format("%s: all %d checks passed", name, T.checks))
  os.exit(0)
end

return T
