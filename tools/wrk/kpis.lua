-- wrk script: GET /kpis (everything known, as of SUNLEDGER_AS_OF) with
-- SUNLEDGER_TOKEN; done() prints one JSON line of the figures tools/bench reads.

local token = os.getenv("SUNLEDGER_TOKEN") or ""
local as_of = os.getenv("SUNLEDGER_AS_OF") or "2025-06-30"

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  return wrk.format("GET", "/kpis?asOf=" .. as_of)
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"seconds":%.6f,"non2xx":%d,"socketErrors":%d,"p50Ms":%.3f,"p99Ms":%.3f,"maxMs":%.3f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
