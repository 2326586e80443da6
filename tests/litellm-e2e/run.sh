#!/usr/bin/env bash
# run.sh: runs LiteLLM's own end-to-end proxy tests (the tests/test_*.py files of a LiteLLM
# checkout, 1.109.1 era) against Switchyard. Starts switchyard-mock and switchyard on port 4000
# (master key sk-1234) with tests/litellm-e2e/proxy_server_config.yaml and a fresh Postgres
# database, runs pytest on the ten files, writes junit-*.xml, pytest.log, summary.txt and the two
# server logs to $E2E_OUT, and stops everything (and drops the database) on exit.
#
#   tests/litellm-e2e/run.sh /path/to/litellm/tests [pytest args, e.g. -k 'not test_key_with_budgets']
#
# Needs: target/debug/switchyard{,-mock} (cargo build --bins), a Python with litellm 1.109.1,
# pytest, pytest-asyncio, pytest-retry (LITELLM_VENV; loadtest/install-litellm.sh makes the venv,
# then `$LITELLM_VENV/bin/pip install pytest pytest-asyncio pytest-retry`), psql, curl, Redis.
# Environment: CARGO_TARGET_DIR, LITELLM_VENV, PGURL (postgres://postgres@127.0.0.1:5432),
# REDIS_HOST / REDIS_PORT (127.0.0.1 / 6379), E2E_OUT (default: a new temp dir).
set -euo pipefail

TESTS="$(cd "${1:?usage: run.sh LITELLM_TESTS_DIR [pytest args]}" && pwd)"
shift
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET" == /* ]] || TARGET="$ROOT/$TARGET"
VENV="${LITELLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-loadtest/litellm-1.109.1}"
PGURL="${PGURL:-postgres://postgres@127.0.0.1:5432}"
OUT="${E2E_OUT:-$(mktemp -d -t litellm-e2e.XXXXXX)}"
DB="switchyard_e2e_$$_$(date +%s)"
FILES=(test_keys.py test_team.py test_team_members.py test_users.py test_end_users.py
    test_spend_logs.py test_models.py test_openai_endpoints.py test_fallbacks.py test_health.py)
mkdir -p "$OUT"

pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for PID LOG CMD...: polls CMD (every 0.1 s, at most 60 s) while process PID lives.
wait_for() {
    local pid=$1 log=$2
    shift 2
    for _ in $(seq 600); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "run.sh: not ready: $*; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    return 1
}

if curl -s -o /dev/null http://127.0.0.1:4000/; then
    echo "run.sh: something already listens on port 4000" >&2
    exit 1
fi

# The mock upstream, on a free port; its first stdout line names its base URL (…/v1). Its
# Azure answers name gpt-35-turbo, as Azure names the base model of LiteLLM's CI deployment
# (azure/chatgpt-v-2), which test_keys.py prices the spend by.
"$TARGET/debug/switchyard-mock" --host 127.0.0.1 --port 0 --name e2e --azure-model gpt-35-turbo \
    >"$OUT/mock.log" 2>&1 &
pids+=($!)
wait_for "${pids[-1]}" "$OUT/mock.log" grep -q '^mock listening on' "$OUT/mock.log"
MOCK_API_BASE="$(sed -n 's/^mock listening on \(http[^ ]*\).*/\1/p' "$OUT/mock.log")"

# A fresh database for this run, dropped by cleanup.
psql "$PGURL/postgres" -qc "CREATE DATABASE \"$DB\"" >/dev/null

# Dummy provider keys for the config's os.environ/ references; LITELLM_MASTER_KEY for the tests
# that read it; LITELLM_LOCAL_MODEL_COST_MAP keeps `import litellm` off the network.
export MOCK_API_BASE DATABASE_URL="$PGURL/$DB" LITELLM_MASTER_KEY=sk-1234 \
    OPENAI_API_KEY=sk-mock-openai AZURE_API_KEY=mock-azure ANTHROPIC_API_KEY=sk-ant-mock \
    GROQ_API_KEY=gsk-mock MISTRAL_API_KEY=mock-mistral LITELLM_LOCAL_MODEL_COST_MAP=True \
    REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}"

"$TARGET/debug/switchyard" --config "$ROOT/tests/litellm-e2e/proxy_server_config.yaml" \
    --host 0.0.0.0 --port 4000 --allow-insecure-master-key >"$OUT/switchyard.log" 2>&1 &
pids+=($!)
wait_for "${pids[-1]}" "$OUT/switchyard.log" curl -sf http://127.0.0.1:4000/health/readiness
# test_fallbacks.py::test_chat_completion_with_timeout calls with sk-PIp1h0RekR, a key LiteLLM's
# CI database already holds; seed it.
curl -sf -o /dev/null http://127.0.0.1:4000/key/generate -H 'Authorization: Bearer sk-1234' \
    -H 'Content-Type: application/json' -d '{"key": "sk-PIp1h0RekR"}'

# LiteLLM's tests import siblings both as `tests.test_users` and as `large_text`. Two pytest
# processes share the gateway: test_end_users.py alone (its two tpm tests let the OpenAI SDK wait
# out `retry-after: 60` on each 429, about 9 minutes each) and the other nine files.
cd "$(dirname "$TESTS")"
pytest_on() {
    local name=$1
    shift
    PYTHONPATH="$TESTS:$(dirname "$TESTS")" "$VENV/bin/python" -m pytest -p no:cacheprovider -rfEs \
        --junitxml="$OUT/junit-$name.xml" "$@" >"$OUT/pytest-$name.log" 2>&1
}
REST=()
for f in "${FILES[@]}"; do [[ "$f" == test_end_users.py ]] || REST+=("$TESTS/$f"); done
set +e
pytest_on end_users "$TESTS/test_end_users.py" "$@" &
slow=$!
pytest_on rest "${REST[@]}" "$@"
rc=$?
wait "$slow" || rc=1
set -e
cat "$OUT/pytest-rest.log" "$OUT/pytest-end_users.log" >"$OUT/pytest.log"

# summary.txt: passed/failed/skipped per file, then each failure's first line.
"$VENV/bin/python" - "$OUT"/junit-*.xml >"$OUT/summary.txt" <<'PY'
import sys, collections, xml.etree.ElementTree as ET
counts, failures = collections.defaultdict(collections.Counter), []
cases = [c for path in sys.argv[1:] for c in ET.parse(path).iter("testcase")]
for case in cases:
    module = case.get("classname", "").rsplit(".", 1)[-1]
    bad = case.find("failure") if case.find("failure") is not None else case.find("error")
    kind = "skipped" if case.find("skipped") is not None else "failed" if bad is not None else "passed"
    counts[module][kind] += 1
    if bad is not None:
        failures.append(f"{module}::{case.get('name')}: {(bad.get('message') or '').splitlines()[0][:200] if bad.get('message') else ''}")
for module, c in sorted(counts.items()):
    print(f"{module:24} passed {c['passed']:3}  failed {c['failed']:3}  skipped {c['skipped']:3}")
print("\n".join(["", "failures:"] + failures) if failures else "\nno failures")
PY
cat "$OUT/summary.txt"
echo "run.sh: results in $OUT"
exit "$rc"
