#!/usr/bin/env bash
# governed.sh: what governance costs. Gateway CPU per request with the master key vs a virtual
# key with a budget, rpm/tpm limits and spend logging (SQLite), same gateway, interleaved runs.
#
# Builds release `switchyard` and `switchyard-mock`, starts the mock and the gateway (its SQLite
# store in a temp dir), generates a virtual key (max_budget 1e6, rpm_limit and tpm_limit far
# above the load), then runs wrk against the gateway REPS times per key, alternating, and reads
# the gateway's CPU time (utime + stime from /proc/PID/stat) around each run; the order of the
# two modes alternates between repetitions. Prints CPU µs per
# request per mode, the median of the repetitions, and the governed/master ratio; writes
# results.md to loadtest/results/<date>-governed/ (or RESULTS_DIR).
#
# Environment (all optional): DURATION (wrk, default 10s), CONNECTIONS (default 16), REPS
# (default 3), GATEWAY_WORKERS (default nproc), SKIP_BUILD=1, RESULTS_DIR.
# Needs wrk (Debian: apt-get install -y wrk), python3, curl.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-16}"
REPS="${REPS:-3}"
GATEWAY_WORKERS="${GATEWAY_WORKERS:-$(nproc)}"
MASTER_KEY="sk-governed-bench-0123456789"

die() { echo "governed: $*" >&2; exit 1; }
for tool in wrk python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (wrk: apt-get install -y wrk)"
done
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release --bin switchyard --bin switchyard-mock)
fi
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
OUT="${RESULTS_DIR:-$HERE/results/$(date +%F)-governed}"
mkdir -p "$OUT"

"$BIN/switchyard-mock" --port 0 --threads 1 >"$TMP/mock.out" 2>"$TMP/mock.log" &
PIDS+=($!)
MOCK_URL=""
for _ in $(seq 100); do
    MOCK_URL="$(sed -n 's/^mock listening on //p' "$TMP/mock.out" || true)"
    [[ -n "$MOCK_URL" ]] && break
    sleep 0.1
done
[[ -n "$MOCK_URL" ]] || die "mock did not start"

PORT="$(free_port)"
cat >"$TMP/config.yaml" <<EOF
model_list:
  - model_name: loadtest
    litellm_params:
      model: openai/loadtest
      api_base: $MOCK_URL
      api_key: sk-mock-upstream-key
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
general_settings:
  master_key: $MASTER_KEY
EOF
(cd "$TMP" && exec "$BIN/switchyard" --config "$TMP/config.yaml" --host 127.0.0.1 --port "$PORT" \
    --num-workers "$GATEWAY_WORKERS" >"$TMP/gateway.log" 2>&1) &
GW_PID=$!
PIDS+=("$GW_PID")
GW="http://127.0.0.1:$PORT"
for _ in $(seq 300); do
    curl -fsS -o /dev/null "$GW/health/readiness" 2>/dev/null && break
    kill -0 "$GW_PID" 2>/dev/null || die "gateway exited: $(tail -5 "$TMP/gateway.log")"
    sleep 0.1
done
# The subshell's child is the gateway; find its pid for /proc.
GW_PROC="$(pgrep -P "$GW_PID" -x switchyard || echo "$GW_PID")"

VKEY="$(curl -fsS "$GW/key/generate" -H "authorization: Bearer $MASTER_KEY" \
    -H 'content-type: application/json' \
    -d '{"key_alias":"bench","max_budget":1000000,"rpm_limit":100000000,"tpm_limit":1000000000000,"budget_duration":"30d"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
[[ "$VKEY" == sk-* ]] || die "could not generate a virtual key"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$GW_PROC/stat"; }
TICK="$(getconf CLK_TCK)"

declare -A RESULTS
for rep in $(seq "$REPS"); do
    # Alternate which mode goes first (ABBA), so drift over the run hits both alike.
    order="master governed"; (( rep % 2 == 0 )) && order="governed master"
    for mode in $order; do
        key="$MASTER_KEY"; [[ "$mode" == governed ]] && key="$VKEY"
        before="$(cpu_ticks)"
        line="$(cd "$ROOT" && KEY="$key" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" \
            -s loadtest/wrk-chat.lua "$GW/v1/chat/completions" | grep '^RESULT')"
        after="$(cpu_ticks)"
        reqs="$(python3 -c "import re,sys; m=re.search(r'rps=(\d+)', sys.argv[1]); print(m.group(1))" "$line")"
        errors="$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$line")"
        secs="${DURATION%s}"
        us="$(python3 -c "print(round(($after-$before)/$TICK*1e6/max(1,$reqs*$secs),1))")"
        echo "rep $rep $mode: $line cpu_us_per_req=$us"
        [[ "$errors" == 0 ]] || echo "governed: warning: $errors errors in $mode run"
        RESULTS["$mode"]+="$us "
    done
done

python3 - "${RESULTS[master]}" "${RESULTS[governed]}" "$OUT/results.md" <<'PY'
import statistics, sys
m = [float(x) for x in sys.argv[1].split()]
g = [float(x) for x in sys.argv[2].split()]
mm, gm = statistics.median(m), statistics.median(g)
text = (
    "| mode | CPU µs/request (median) | runs |\n|---|---|---|\n"
    f"| master key only | {mm:.1f} | {' '.join(map(str, m))} |\n"
    f"| governed (virtual key, budget, rpm/tpm, spend to SQLite) | {gm:.1f} | {' '.join(map(str, g))} |\n"
    f"\ngoverned / master = {gm / mm:.3f} (+{(gm / mm - 1) * 100:.1f}%)\n"
)
open(sys.argv[3], "w").write(text)
print(text)
PY
echo "governed: results in $OUT/results.md"
