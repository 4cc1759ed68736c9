-- wrk script of scripts/bench: POST /v1/tenants/:tid/events as a till would, one purchase per
-- request with a unique Idempotency-Key, for customers drawn at random from a fixed set.
--
-- Settings come from the environment (scripts/bench sets them):
--   BENCH_PATH       /v1/tenants/<tid>/events
--   BENCH_KEY        the POS API key
--   BENCH_RUN        a label that keeps the keys of this step apart from every other step's
--   BENCH_CUSTOMERS  how many distinct phone numbers (default 10000)
--   BENCH_RATE       requests/s over all threads; 0 or unset sends as fast as the connections
--                    allow (closed loop)
--   BENCH_THREADS    wrk's -t, to split BENCH_RATE between the threads
-- done() prints one line, "bench-result key=value ...", that scripts/bench parses.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
  table.insert(threads, thread)
end

local path = os.getenv("BENCH_PATH")
local key = os.getenv("BENCH_KEY")
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "10000")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local stores = {"harare-cbd", "borrowdale", "avondale", "bulawayo-main", "mutare", "gweru"}
local skus = {"BREAD-700G", "MILK-2L", "SUGAR-2KG", "OIL-2L", "RICE-5KG", "SOAP-4PK", "TEA-100"}

local counter = 0
local interval_ms = 0
local next_slot = nil
-- Globals, not locals: done() reads them from each thread with thread:get().
statuses = {}
non2xx = 0
first_error = ""

function init(args)
  math.randomseed(id * 7919 + os.time())
  if rate > 0 then
    -- Each thread keeps its share of the schedule; delay() hands out its slots in turn.
    interval_ms = 1000 * tonumber(os.getenv("BENCH_THREADS") or "1") / rate
  end
end

function delay()
  if interval_ms <= 0 then return 0 end
  local now = now_ms()
  -- A timer that fires a little late is caught up on the next slots; a schedule more than a
  -- second behind (every connection busy) starts again from now rather than bursting.
  if next_slot == nil or next_slot < now - 1000 then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  if wait < 0 then return 0 end
  return math.floor(wait)
end

function request()
  counter = counter + 1
  -- Customer i's number is a fixed function of i: the same 10,000 customers come back.
  local i = math.random(0, customers - 1)
  local phone = string.format("+26377%07d", (i * 7919 + 1000003) % 10000000)
  local cents = math.random(300, 15000)
  local sku = skus[math.random(#skus)]
  local body = string.format(
    '{"customer":{"phone":"%s"},"type":"purchase","data":{"amount":"%d.%02d","currency":"USD",' ..
    '"store":"%s","till":"T%d","items":[{"sku":"%s","qty":%d}]}}',
    phone, math.floor(cents / 100), cents % 100, stores[math.random(#stores)],
    math.random(1, 12), sku, math.random(1, 4))
  local headers = {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d-%d-%08x", run, id, counter,
                                        math.random(0, 0x7fffffff)),
  }
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local counts, non2xx_total, first = {}, 0, ""
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
    local s = thread:get("statuses")
    for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
    if first == "" then first = thread:get("first_error") end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, code .. ":" .. n) end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format(
    "bench-result requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d socket_errors=%d timeouts=%d statuses=%s\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, non2xx_total, e.connect + e.read + e.write, e.timeout,
    table.concat(parts, ",")))
  if first ~= "" then io.write("bench-first-error " .. first:gsub("\n", " ") .. "\n") end
end
