-- wrk script for the black-box benchmark: every request creates a new customer.
--
--   wrk -t2 -c8 -d6s -s bench/create_customers.lua http://127.0.0.1:8000 -- \
--       <email prefix> <path> [X-API-Key] [responses per thread, 0 = no limit] [marker file]
--
-- Each email is unique across threads, rounds and runs (the prefix is unique per round). The
-- status of every response is counted; done() prints one line, "BENCH {json}", which the
-- driver reads: {"statuses": {"201": n, ...}, "errors": {...}, "duration_us": n}.
--
-- With a limit, a thread stops after that many responses and creates the marker file: wrk's
-- main thread sleeps for the whole -d regardless, so the driver interrupts it (SIGINT) then.

local threads = {}
local next_thread_id = 1

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1]
  path = args[2]
  limit = tonumber(args[4] or "0")
  marker = args[5]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[3] and args[3] ~= "" then
    wrk.headers["X-API-Key"] = args[3]
  end
  counter = 0
  responses = 0
  statuses = {}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"first_name": "Ada", "last_name": "Lovelace", "email": "%s-%d-%d@example.com", '
      .. '"phone": "+44 20 7946 0958", "country": "GB", "zipcode": "SW1A 2AA"}',
    prefix, thread_id, counter)
  return wrk.format(nil, path, nil, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  responses = responses + 1
  if limit > 0 and responses == limit then
    wrk.thread:stop()
    if marker then
      io.open(marker, "a"):close()
    end
  end
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"statuses": {%s}, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"timeout": %d}, "duration_us": %d, "latency_p50_us": %d, "latency_p99_us": %d}\n',
    table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
