-- One request kind for wrk, chosen by environment variables (bench/wrk_run.py sets them):
--   WRK_METHOD, WRK_PATH, WRK_KEY (API key), WRK_TEXTS (0: no body; N: POST one of N
--   texts, WRK_TEXT followed by " Take <i>." for i > 0), WRK_EXPECT_HEADER and
--   WRK_EXPECT_VALUE (a response header every answer must carry, e.g. X-Cache: HIT).
-- done() prints one JSON line that bench/wrk_run.py parses.

local method = os.getenv("WRK_METHOD") or "GET"
local path = os.getenv("WRK_PATH") or "/"
local key = os.getenv("WRK_KEY")
local texts = tonumber(os.getenv("WRK_TEXTS") or "0")
local text = os.getenv("WRK_TEXT") or ""
local expect_header = os.getenv("WRK_EXPECT_HEADER")
local expect_value = os.getenv("WRK_EXPECT_VALUE")
local extra_header = os.getenv("WRK_HEADER")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local headers = {}
local bodies = {}
local next_body = 1
-- Global, so done() can read it from every thread with thread:get().
unexpected = 0

function init(args)
  if key then headers["Authorization"] = "Bearer " .. key end
  if extra_header then
    local name, value = extra_header:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  if texts > 0 then
    headers["Content-Type"] = "application/json"
    for i = 0, texts - 1 do
      local t = text
      if i > 0 then t = text .. " Take " .. i .. "." end
      bodies[#bodies + 1] = '{"text": "' .. t .. '"}'
    end
    next_body = (id or 0) % #bodies + 1
  end
end

function request()
  if texts > 0 then
    local body = bodies[next_body]
    next_body = next_body % #bodies + 1
    return wrk.format(method, path, headers, body)
  end
  return wrk.format(method, path, headers)
end

if expect_header then
  function response(status, hdrs, body)
    if hdrs[expect_header] ~= expect_value then
      unexpected = unexpected + 1
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("unexpected") or 0)
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "errors_connect": %d, "errors_read": %d, "errors_write": %d, ' ..
    '"errors_status": %d, "errors_timeout": %d, "unexpected": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, bad))
end
