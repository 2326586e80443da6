#!/usr/bin/env bash
# Direct-to-mock vs through Switchyard with wrk (Debian's package): added p50/p99, req/s and the
# gateway's peak RSS, interleaved repetitions. The oha-based bench.sh does the same with oha.
#
#   loadtest/wrk-bench.sh                        # 10 s runs, c=1 and c=64, chat + stream, 3 reps
#   DURATION=30s REPS=5 CONCURRENCY="1 16 64" loadtest/wrk-bench.sh
#
# Writes loadtest/results/<date>/wrk.csv and wrk.md. Needs release binaries (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"; REPS="${REPS:-3}"; CONCURRENCY="${CONCURRENCY:-1 64}"; MODES="${MODES:-chat stream}"
KEY="sk-loadtest-0123456789"
OUT="loadtest/results/$(date +%F)"; mkdir -p "$OUT"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
[[ -x "$TARGET_DIR/release/switchyard" && -x "$TARGET_DIR/release/switchyard-mock" ]] || cargo build --release --bins

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$TARGET_DIR/release/switchyard-mock" --host 127.0.0.1 --port 0 --threads 1 --chunks 24 > "$OUT/mock.log" 2>&1 &
pids+=($!)
until grep -q 'mock listening on' "$OUT/mock.log"; do sleep 0.1; done
MOCK="$(grep -o 'http://[0-9.:]*' "$OUT/mock.log" | head -1)"
cat > "$OUT/config.yaml" <<YAML
model_list:
  - model_name: loadtest
    litellm_params: {model: openai/loadtest, api_base: $MOCK/v1, api_key: sk-mock}
general_settings:
  master_key: $KEY
YAML
"$TARGET_DIR/release/switchyard" --config "$OUT/config.yaml" --host 127.0.0.1 --port 0 > "$OUT/gateway.log" 2>&1 &
GW_PID=$!; pids+=($GW_PID)
until grep -q 'listening on' "$OUT/gateway.log"; do sleep 0.1; done
GW="$(grep -o 'http://[0-9.:]*' "$OUT/gateway.log" | head -1)"

run() { # target url conc mode -> "p50_us p99_us rps errors"
  STREAM=$([[ $4 == stream ]] && echo 1 || echo 0) KEY=$KEY wrk -t1 -c"$3" -d"$DURATION" --latency \
    -s loadtest/wrk-chat.lua "$2/v1/chat/completions" | grep RESULT | sed 's/RESULT //; s/[a-z0-9_]*=//g'
}
echo "rep,mode,concurrency,target,p50_us,p99_us,rps,errors" > "$OUT/wrk.csv"
for rep in $(seq "$REPS"); do
  for mode in $MODES; do
    for c in $CONCURRENCY; do
      for target in direct switchyard; do
        url=$([[ $target == direct ]] && echo "$MOCK" || echo "$GW")
        read -r p50 p99 rps err < <(run "$target" "$url" "$c" "$mode")
        echo "$rep,$mode,$c,$target,$p50,$p99,$rps,$err" | tee -a "$OUT/wrk.csv"
      done
    done
  done
done
RSS_KB="$(awk '/VmHWM/ {print $2}' /proc/$GW_PID/status)"
python3 - "$OUT/wrk.csv" "$RSS_KB" > "$OUT/wrk.md" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rss = int(sys.argv[2]) / 1024
key = lambda r: (r["mode"], int(r["concurrency"]), r["target"])
groups = {}
for r in rows:
    groups.setdefault(key(r), []).append(r)
med = lambda k, f: statistics.median(float(r[f]) for r in groups[k])
print("| mode | c | direct p50 | via Switchyard p50 | added p50 | direct p99 | via p99 | added p99 | direct req/s | via req/s | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (mode, c, t) in sorted(k for k in groups if k[2] == "direct"):
    d, s = (mode, c, "direct"), (mode, c, "switchyard")
    err = sum(int(r["errors"]) for r in groups[s])
    print(f"| {mode} | {c} | {med(d,'p50_us')/1000:.3f} ms | {med(s,'p50_us')/1000:.3f} ms | +{(med(s,'p50_us')-med(d,'p50_us'))/1000:.3f} ms "
          f"| {med(d,'p99_us')/1000:.3f} ms | {med(s,'p99_us')/1000:.3f} ms | +{(med(s,'p99_us')-med(d,'p99_us'))/1000:.3f} ms "
          f"| {med(d,'rps'):,.0f} | {med(s,'rps'):,.0f} | {err} |")
print(f"\nGateway peak RSS: {rss:.1f} MiB. Medians of {len(groups[next(iter(groups))])} interleaved repetitions.")
PY
cat "$OUT/wrk.md"
