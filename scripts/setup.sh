#!/usr/bin/env bash
# Installs whatever is missing, idempotently, on a Debian machine:
#   1. Debian packages: PostgreSQL and Redis servers (util-linux for setpriv,
#      patch for our Dapr patch series);
#   2. the Python virtualenv .venv with the project and its dev tools;
#   3. the Dapr runtime and CLI, built from Go modules (scripts/install-dapr.sh).
# Every step checks first and does nothing when already done.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- 1. Debian packages -----------------------------------------------------
missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v patch >/dev/null || missing+=(patch)  # applies tools/dapr-patches
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- 2. Python ----------------------------------------------------------------
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "setup: Python 3.11 is required (found $("$python" --version))" >&2; exit 1; }
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
stamp=.venv/.customer-service-installed
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi

# --- 3. Dapr ------------------------------------------------------------------
scripts/install-dapr.sh
