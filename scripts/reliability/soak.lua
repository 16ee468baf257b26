-- wrk script for scripts/reliability/soak: cycles through a mix of requests (a file, one a line:
--   METHOD <TAB> PATH <TAB> BODY (may be empty) <TAB> Header: value ...)
-- and waits DELAY_MS before each request, which holds the rate near a target: with C connections
-- and answers much faster than the delay, about C * 1000 / DELAY_MS requests per second.
--   wrk -s soak.lua URL -- REQUESTS_FILE DELAY_MS
local requests = {}
local index = 0
local pause = 0

function setup(thread)
  counter = (counter or 0) + 1
  thread:set("thread_number", counter)
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local fields = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      fields[#fields + 1] = field
    end
    local headers = {}
    for i = 4, #fields do
      local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
      if name then headers[name] = value end
    end
    local body = fields[3]
    if body == "" then body = nil end
    requests[#requests + 1] = wrk.format(fields[1], fields[2], headers, body)
  end
  file:close()
  pause = tonumber(args[2] or "0")
  index = (thread_number or 1) % #requests
end

function delay()
  return pause
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'SOAK {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
