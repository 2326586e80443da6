-- wrk script: POST loadtest/body-chat.json to a chat-completions URL with a bearer key.
-- Usage: KEY=sk-... wrk -t1 -c64 -d10s --latency -s loadtest/wrk-chat.lua http://127.0.0.1:4000/v1/chat/completions
-- (set STREAM=1 to ask for a stream). Run from the repository root.
local f = assert(io.open("loadtest/body-chat.json", "r"))
local body = f:read("*a")
f:close()
if os.getenv("STREAM") == "1" then
  body = body:gsub('"stream": false', '"stream": true', 1)
end
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KEY") or "sk-loadtest-0123456789")

function done(summary, latency, requests)
  io.write(string.format("RESULT p50_us=%d p99_us=%d rps=%.0f errors=%d\n",
    latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
