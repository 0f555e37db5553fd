-- test_lua_docs.lua: every ```lua example in docs/lua-api.md runs without error.
local T = dofile((os.getenv("srcdir") or ".") .. "/tests/luatest.lua")
local path = (os.getenv("srcdir") or ".") .. "/docs/lua-api.md"
local f = assert(io.open(path, "r"))
local text = f:read("a")
f:close()

local n = 0
for block in text:gmatch("```lua\n(.-)```") do
  n = n + 1
  local chunk, err = load(block, "=docs example " .. n)
  T.ok(chunk ~= nil, "example " .. n .. " compiles: " .. tostring(err))
  if chunk then
    local ok, msg = xpcall(chunk, debug.traceback)
    T.ok(ok, "example " .. n .. " runs: " .. tostring(msg))
  end
end
T.ok(n >= 9, "found " .. n .. " examples")
T.done()
