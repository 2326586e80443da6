#!/usr/bin/env bash
# install-litellm.sh: installs LiteLLM's proxy from PyPI into its own virtualenv, for the harness.
#
#   loadtest/install-litellm.sh            # -> ~/.cache/switchyard-loadtest/litellm-$LITELLM_VERSION
#
# The version is pinned (LITELLM_VERSION, default 1.109.1). Never 1.82.7, 1.82.8 or 1.107.0: those
# releases were compromised on PyPI, and this script refuses them. When a package index lags behind
# and lacks the exact `litellm-proxy-extras` / `litellm-enterprise` pins of the `proxy` extra (they
# hold database migrations and enterprise hooks, which a proxy without a database does not load),
# the newest available versions of those two are installed instead, and the script says so.
set -euo pipefail

LITELLM_VERSION="${LITELLM_VERSION:-1.109.1}"
case "$LITELLM_VERSION" in
    1.82.7|1.82.8|1.107.0) echo "install-litellm: $LITELLM_VERSION was a compromised release; refusing" >&2; exit 1 ;;
esac
VENV="${LITELLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-loadtest/litellm-$LITELLM_VERSION}"
PY="${PYTHON:-python3}"

if [[ -x "$VENV/bin/litellm" ]]; then
    echo "install-litellm: $VENV already has litellm $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')"
    exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "litellm==$LITELLM_VERSION"
# The proxy extra's requirements, as the installed metadata lists them, markers evaluated here.
mapfile -t REQS < <("$VENV/bin/python" - <<'PY'
import importlib.metadata as md
from packaging.requirements import Requirement
for line in md.requires("litellm") or []:
    r = Requirement(line)
    if r.marker is not None and r.marker.evaluate({"extra": "proxy"}) and not r.marker.evaluate({"extra": ""}):
        print(str(r).split(";")[0].strip())
PY
)
PINNED=()
LOOSE=()
for req in "${REQS[@]}"; do
    case "$req" in
        litellm-proxy-extras*|litellm-enterprise*) PINNED+=("$req") ;;
        *) LOOSE+=("$req") ;;
    esac
done
"$VENV/bin/python" -m pip install -q "${LOOSE[@]}"
for req in "${PINNED[@]}"; do
    if ! "$VENV/bin/python" -m pip install -q --no-deps "$req" 2>/dev/null; then
        name="${req%%=*}"
        echo "install-litellm: $req is not on this index; installing the newest $name instead" >&2
        "$VENV/bin/python" -m pip install -q --no-deps "$name"
    fi
done
echo "install-litellm: litellm $LITELLM_VERSION installed in $VENV"
