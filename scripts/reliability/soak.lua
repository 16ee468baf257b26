-- wrk script for scripts/reliability/soak: the benchmark's scripts/bench.d/requests.lua (the same
-- request file format, the same BENCH result line), plus a wait of DELAY_MS before each request,
-- which holds the rate near a target: with C connections and answers much faster than the delay,
-- about C * 1000 / DELAY_MS requests per second. (The benchmark itself defines no `delay`: wrk then
-- sends each request at once.)
--   wrk -s soak.lua URL -- REQUESTS_FILE DELAY_MS
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "../bench.d/requests.lua")

local pause = 0
local load_requests = init

function init(args)
  load_requests(args)
  pause = tonumber(args[2] or "0")
end

function delay()
  return pause
end
