-- requests.lua at a set pace: each connection waits DELAY_MS (the second argument) before each
-- request, so that 32 connections send 32 * 1000 / DELAY_MS requests a second at most — below what
-- the server can take, to measure the latency a hop adds rather than a queue (scripts/bench --shadow).
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "requests.lua")
local pace = 0
local load_requests = init

function init(args)
  load_requests(args)
  pace = tonumber(args[2]) or 0
end

function delay()
  return pace
end
