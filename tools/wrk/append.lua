-- wrk script: POST /events with a batch of SUNLEDGER_BATCH events (1: a single
-- event as a JSON object), each with an id no request has used before.
-- The events are LegalEducationHeld on the units' org streams (no opener, no
-- personal data), dated SUNLEDGER_DATE; the store's clock records them.
-- Environment: SUNLEDGER_TOKEN (a clerk's or admin's secret), SUNLEDGER_BATCH,
-- SUNLEDGER_RUN (a prefix that makes ids unique across runs), SUNLEDGER_DATE.
-- done() prints one JSON line of the figures tools/bench reads.

local token = os.getenv("SUNLEDGER_TOKEN") or ""
local batch = tonumber(os.getenv("SUNLEDGER_BATCH") or "100")
local run = os.getenv("SUNLEDGER_RUN") or "w"
local date = os.getenv("SUNLEDGER_DATE") or "2025-06-01"
local units = { "xinchenglu", "zhenxin", "jiadingzhen", "nanxiang", "anting", "malu", "xuhang", "huating",
  "waigang", "jiangqiao", "juyuan", "industrial" }

local next_thread = 1
function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  sent = 0
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

local function event(k)
  local unit = units[(thread_number + k) % #units + 1]
  return string.format(
    '{"id":"%s-%d-%d-%d","stream":"org-%s","type":"LegalEducationHeld","occurredAt":"%s",' ..
    '"actor":"bench","orgUnit":"%s","data":{"attendees":%d,"topic":"law week"}}',
    run, thread_number, sent, k, unit, date, unit, 10 + k)
end

function request()
  sent = sent + 1
  local body
  if batch == 1 then
    body = event(1)
  else
    local parts = {}
    for k = 1, batch do parts[k] = event(k) end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format(nil, "/events", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"seconds":%.6f,"non2xx":%d,"socketErrors":%d,"p50Ms":%.3f,"p99Ms":%.3f,"maxMs":%.3f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
