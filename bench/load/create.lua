-- wrk script for bench/bench_load.py's create phase: operators creating tickets through the API.
--
-- wrk is a C load generator: at 200 requests/s it needs a few percent of a core where locust
-- needs a third of one, and on a 2-core machine that CPU belongs to the server being measured.
-- The bodies (demo texts, a random mobile number each) are written by bench_load.py, one JSON
-- document per line; the token comes in the environment. Every thread walks its own offset
-- through them.
--
-- Run: wrk -t2 -c16 -d40s -s bench/load/create.lua http://127.0.0.1:PORT -- BODIES_FILE

local bodies = {}
local counter = 0
local token = os.getenv("LOAD_TOKEN") or ""
local threads = {}

-- Runs in wrk's main Lua state, once per thread before it starts: number the threads so each
-- starts at its own share of the bodies (their Lua states would all draw the same "random" start).
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  counter = math.floor(id * #bodies / 8) % #bodies
end

function request()
  counter = counter % #bodies + 1
  return wrk.format("POST", "/api/tickets/", {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Token " .. token,
  }, bodies[counter])
end

-- One JSON line for the driver: counts, the non-2xx answers and socket errors, and latency
-- percentiles in microseconds (wrk records every request's latency in its histogram).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d,'
      .. ' "p50": %d, "p95": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
