#!/usr/bin/env bash
# oha.sh: load one chat-completions URL with oha, non-streaming and streaming, and print oha's summaries.
#
# Usage: loadtest/oha.sh [URL]
#   URL          chat-completions URL (default: $URL or http://127.0.0.1:4000/v1/chat/completions)
# Environment:
#   KEY          bearer key sent as Authorization (default: sk-loadtest-0123456789)
#   C            concurrent connections (default: 64)
#   DURATION     oha duration per mode, e.g. 10s, 1m (default: 10s)
#   MODES        which of "chat stream" to run (default: "chat stream")
#   BODY         request body file (default: loadtest/body-chat.json); streaming adds
#                "stream":true and "stream_options":{"include_usage":true} to it
#   FORMAT       oha --output-format: text or json (default: text)
#   OHA_ARGS     extra oha arguments, e.g. "--http2" or "-q 500"
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
URL="${1:-${URL:-http://127.0.0.1:4000/v1/chat/completions}}"
KEY="${KEY:-sk-loadtest-0123456789}"
C="${C:-64}"
DURATION="${DURATION:-10s}"
MODES="${MODES:-chat stream}"
BODY="${BODY:-$HERE/body-chat.json}"
FORMAT="${FORMAT:-text}"
OHA_ARGS="${OHA_ARGS:-}"

if ! command -v oha >/dev/null 2>&1; then
    echo "oha is not installed; install it with:  cargo install oha --locked" >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 is needed to build the streaming body" >&2
    exit 1
fi
[[ -f "$BODY" ]] || { echo "body file not found: $BODY" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
STREAM_BODY="$TMP/body-stream.json"
python3 - "$BODY" "$STREAM_BODY" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
body["stream"] = True
body["stream_options"] = {"include_usage": True}
json.dump(body, open(sys.argv[2], "w"))
PY

for mode in $MODES; do
    case "$mode" in
        chat) body="$BODY" ;;
        stream) body="$STREAM_BODY" ;;
        *) echo "unknown mode: $mode (use chat or stream)" >&2; exit 1 ;;
    esac
    echo "== $mode: $URL  c=$C  duration=$DURATION"
    # shellcheck disable=SC2086 # OHA_ARGS is a list of words on purpose
    oha --no-tui -w -z "$DURATION" -c "$C" -m POST \
        -H "authorization: Bearer $KEY" -H "content-type: application/json" \
        -D "$body" --output-format "$FORMAT" $OHA_ARGS "$URL"
    echo
done

# Run it (gateway on :4000, 64 connections, 30 s per mode):
#   C=64 DURATION=30s loadtest/oha.sh http://127.0.0.1:4000/v1/chat/completions
