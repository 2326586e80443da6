#!/usr/bin/env bash
# bench.sh: one command that measures the gateway's overhead: oha straight at switchyard-mock vs through switchyard.
#
# Builds release `switchyard` and `switchyard-mock`, starts the mock on a free port and the gateway
# in front of it (model group `loadtest` -> `openai/loadtest`), then runs oha against both at each
# concurrency for DURATION, REPS times, interleaved (mock, gateway, mock, gateway, ...) so drift in
# the machine hits both alike. Writes results.csv, results.md and the raw oha JSON to
# loadtest/results/<date>/ (or RESULTS_DIR).
#
# Environment (all optional):
#   DURATION         oha duration per run (default 10s)
#   CONCURRENCY      list of connection counts (default "1 64")
#   REPS             repetitions (default 3)
#   MODES            "chat", "stream" or both (default "chat stream")
#   MASTER_KEY       gateway master key (default $LITELLM_MASTER_KEY or sk-loadtest-0123456789)
#   GATEWAY_WORKERS  switchyard --num-workers (default: nproc)
#   MOCK_THREADS     switchyard-mock --threads (default 2)
#   MOCK_ARGS        extra mock flags, e.g. "--latency-ms 20 --chunk-delay-ms 5"
#   GATEWAY_CPUS / MOCK_CPUS / OHA_CPUS   taskset CPU lists to pin each process (e.g. "0-3")
#   SKIP_BUILD=1     reuse existing release binaries
#   RESULTS_DIR      where to write results
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DURATION="${DURATION:-10s}"
CONCURRENCY="${CONCURRENCY:-1 64}"
REPS="${REPS:-3}"
MODES="${MODES:-chat stream}"
MASTER_KEY="${MASTER_KEY:-${LITELLM_MASTER_KEY:-sk-loadtest-0123456789}}"
GATEWAY_WORKERS="${GATEWAY_WORKERS:-$(nproc)}"
MOCK_THREADS="${MOCK_THREADS:-2}"
MOCK_ARGS="${MOCK_ARGS:-}"
SKIP_BUILD="${SKIP_BUILD:-0}"
BODY="$HERE/body-chat.json"

die() { echo "bench: $*" >&2; exit 1; }
for tool in oha python3 curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        [[ "$tool" == oha ]] && die "oha is not installed; install it with:  cargo install oha --locked"
        die "$tool is required"
    fi
done

# pin CPUS cmd...: runs cmd under `taskset -c CPUS` when CPUS is set (exec, so a backgrounded
# `pin ... &` is the process itself and $! is its pid).
pin() {
    local cpus="$1"; shift
    if [[ -n "$cpus" ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

TMP="$(mktemp -d)"
MOCK_PID=""
GW_PID=""
cleanup() {
    for pid in $GW_PID $MOCK_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build -------------------------------------------------------------------------------------
if [[ "$SKIP_BUILD" != 1 ]]; then
    echo "bench: building release binaries (this takes a while with fat LTO)"
    (cd "$ROOT" && cargo build --release --bin switchyard --bin switchyard-mock)
fi
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
[[ -x "$BIN/switchyard" && -x "$BIN/switchyard-mock" ]] || die "release binaries not found in $BIN"

DATE="$(date +%F)"
OUT="${RESULTS_DIR:-$HERE/results/$DATE}"
[[ -e "$OUT" && -z "${RESULTS_DIR:-}" ]] && OUT="$HERE/results/$DATE-$(date +%H%M%S)"
mkdir -p "$OUT/raw"

# ---- mock --------------------------------------------------------------------------------------
: >"$TMP/mock.out"
# shellcheck disable=SC2086 # MOCK_ARGS is a list of words on purpose
pin "${MOCK_CPUS:-}" "$BIN/switchyard-mock" --port 0 --threads "$MOCK_THREADS" $MOCK_ARGS \
    >"$TMP/mock.out" 2>"$OUT/mock.log" &
MOCK_PID=$!
MOCK_URL=""
for _ in $(seq 100); do
    MOCK_URL="$(sed -n 's/^mock listening on //p' "$TMP/mock.out" || true)"
    [[ -n "$MOCK_URL" ]] && break
    kill -0 "$MOCK_PID" 2>/dev/null || die "mock exited: $(cat "$OUT/mock.log")"
    sleep 0.1
done
[[ -n "$MOCK_URL" ]] || die "mock did not report its address"
echo "bench: mock on $MOCK_URL"

# ---- gateway -----------------------------------------------------------------------------------
GW_PORT="$(free_port)"
CONFIG="$OUT/config.yaml"
cat >"$CONFIG" <<EOF
model_list:
  - model_name: loadtest
    litellm_params:
      model: openai/loadtest
      api_base: $MOCK_URL
      api_key: sk-mock-upstream-key
general_settings:
  master_key: $MASTER_KEY
EOF
pin "${GATEWAY_CPUS:-}" "$BIN/switchyard" --config "$CONFIG" --host 127.0.0.1 --port "$GW_PORT" \
    --num-workers "$GATEWAY_WORKERS" >"$OUT/gateway.log" 2>&1 &
GW_PID=$!
GW="http://127.0.0.1:$GW_PORT"
ready=0
for _ in $(seq 300); do
    kill -0 "$GW_PID" 2>/dev/null || die "gateway exited: $(tail -20 "$OUT/gateway.log")"
    if curl -fsS -o /dev/null "$GW/health/readiness" 2>/dev/null; then ready=1; break; fi
    sleep 0.1
done
[[ "$ready" == 1 ]] || die "gateway not ready after 30s: $(tail -20 "$OUT/gateway.log")"
echo "bench: gateway on $GW (pid $GW_PID, $GATEWAY_WORKERS workers)"

# ---- bodies and a smoke request ----------------------------------------------------------------
python3 - "$BODY" "$TMP/stream.json" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
body["stream"] = True
body["stream_options"] = {"include_usage": True}
json.dump(body, open(sys.argv[2], "w"))
PY
smoke="$(curl -sS -w '\n%{http_code}' "$GW/v1/chat/completions" -H "authorization: Bearer $MASTER_KEY" \
    -H 'content-type: application/json' --data-binary "@$BODY")"
[[ "${smoke##*$'\n'}" == 200 && "$smoke" == *"Hello from"* ]] || die "smoke request through the gateway failed: $smoke"

# run_oha TARGET MODE C FILE: one oha run, JSON to FILE.
run_oha() {
    local target="$1" mode="$2" c="$3" file="$4" url key body
    if [[ "$target" == mock ]]; then url="$MOCK_URL/chat/completions"; key="sk-direct"
    else url="$GW/v1/chat/completions"; key="$MASTER_KEY"; fi
    if [[ "$mode" == stream ]]; then body="$TMP/stream.json"; else body="$BODY"; fi
    (pin "${OHA_CPUS:-}" oha --no-tui -w -z "$DURATION" -c "$c" -m POST \
        -H "authorization: Bearer $key" -H 'content-type: application/json' \
        -D "$body" --output-format json "$url") >"$file"
}

echo "bench: warm-up"
for target in mock gateway; do
    DURATION=2s run_oha "$target" chat 8 "$TMP/warmup.json"
done

CSV="$OUT/results.csv"
echo "rep,target,mode,concurrency,requests,non_200,success_rate,rps,p50_ms,p99_ms,ttfb_p50_ms,ttfb_p99_ms" >"$CSV"
for rep in $(seq "$REPS"); do
    for c in $CONCURRENCY; do
        for mode in $MODES; do
            for target in mock gateway; do
                raw="$OUT/raw/$target-$mode-c$c-r$rep.json"
                run_oha "$target" "$mode" "$c" "$raw"
                python3 - "$raw" "$rep" "$target" "$mode" "$c" >>"$CSV" <<'PY'
import json, sys
raw, rep, target, mode, c = sys.argv[1:]
r = json.load(open(raw))
lat = r.get("latencyPercentiles", {})
fb = r.get("firstBytePercentiles", {})
codes = r.get("statusCodeDistribution", {})
errors = sum(r.get("errorDistribution", {}).values())
requests = sum(codes.values()) + errors
non200 = requests - codes.get("200", 0)
ms = lambda d, k: "" if d.get(k) is None else f"{d[k] * 1000:.3f}"
print(f"{rep},{target},{mode},{c},{requests},{non200},{r['summary']['successRate']:.4f},"
      f"{r['summary']['requestsPerSec']:.1f},{ms(lat, 'p50')},{ms(lat, 'p99')},{ms(fb, 'p50')},{ms(fb, 'p99')}")
PY
                echo "bench: $(tail -1 "$CSV")"
            done
        done
    done
done

GW_HWM_KB="$(awk '/^VmHWM:/ {print $2}' "/proc/$GW_PID/status" 2>/dev/null || echo 0)"
MOCK_HWM_KB="$(awk '/^VmHWM:/ {print $2}' "/proc/$MOCK_PID/status" 2>/dev/null || echo 0)"
export DATE DURATION REPS GATEWAY_WORKERS MOCK_THREADS MOCK_ARGS GW_HWM_KB MOCK_HWM_KB
GIT_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
CPU="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)"
NPROC="$(nproc)"
OHA_VERSION="$(oha --version 2>/dev/null | head -1 || echo oha)"
export GIT_REV CPU NPROC OHA_VERSION

python3 - "$CSV" "$OUT/results.md" <<'PY'
import csv, os, statistics, sys
from collections import defaultdict
env = os.environ
rows = list(csv.DictReader(open(sys.argv[1])))
groups = defaultdict(list)
for r in rows:
    groups[(r["mode"], int(r["concurrency"]), r["target"])].append(r)

def med(rs, k):
    values = [float(r[k]) for r in rs if r[k] != ""]
    return statistics.median(values) if values else float("nan")

mib = lambda kb: int(kb or 0) / 1024
out = [
    f"# Switchyard load test, {env['DATE']}",
    "",
    f"- git {env['GIT_REV']}; CPU: {env['CPU']} x {env['NPROC']}; {env['OHA_VERSION']}",
    f"- oha -z {env['DURATION']} per run, {env['REPS']} interleaved repetitions (medians shown); "
    f"gateway --num-workers {env['GATEWAY_WORKERS']}; mock --threads {env['MOCK_THREADS']} {env['MOCK_ARGS']}".rstrip(),
    f"- gateway peak RSS (VmHWM): {mib(env['GW_HWM_KB']):.1f} MiB; mock peak RSS: {mib(env['MOCK_HWM_KB']):.1f} MiB",
    "",
    "| mode | c | target | p50 ms | p99 ms | RPS | TTFB p50 ms | non-200 | p50 overhead ms | RPS vs mock |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
]
for mode, c, target in sorted(groups, key=lambda k: (k[0], k[1], k[2] != "mock")):
    rs = groups[(mode, c, target)]
    p50, p99, rps, fb = med(rs, "p50_ms"), med(rs, "p99_ms"), med(rs, "rps"), med(rs, "ttfb_p50_ms")
    non200 = sum(int(r["non_200"]) for r in rs)
    over, ratio = "", ""
    base = groups.get((mode, c, "mock"))
    if target == "gateway" and base:
        over = f"{p50 - med(base, 'p50_ms'):+.3f}"
        ratio = f"{rps / med(base, 'rps') * 100:.0f}%"
    out.append(f"| {mode} | {c} | {target} | {p50:.3f} | {p99:.3f} | {rps:.0f} | {fb:.3f} | {non200} | {over} | {ratio} |")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
echo
echo "bench: wrote $CSV and $OUT/results.md"

# Run it (from the repository root; about REPS x |CONCURRENCY| x |MODES| x 2 x DURATION):
#   DURATION=10s CONCURRENCY="1 64" REPS=3 loadtest/bench.sh
