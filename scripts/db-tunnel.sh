#!/usr/bin/env bash
# Port-forward to an environment's PostgreSQL through its SSM bastion; see scripts/db_tunnel.py
# (or --help). Runs from any directory, with the project's virtualenv when there is one.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$root/.venv/bin/python" ]]; then
    python="$root/.venv/bin/python"
else
    python="$(command -v python3 || true)"
    if [[ -z "$python" ]]; then
        echo "db-tunnel: no Python found; run 'make install' first (it creates .venv/)" >&2
        exit 1
    fi
fi
exec "$python" "$root/scripts/db_tunnel.py" "$@"
