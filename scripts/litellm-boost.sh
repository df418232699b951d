#!/usr/bin/env bash
# Scale the LiteLLM service up/down or boost it for a few hours; see scripts/litellm_boost.py
# or `scripts/litellm-boost.sh --help`. A thin wrapper: the work is in Python (boto3).
set -euo pipefail

# The repository is this script's parent directory, wherever it is called from; the working
# directory is left alone so relative paths in the arguments (--project-root) mean what they say.
source_path="${BASH_SOURCE[0]}"
while [ -L "$source_path" ]; do
    link="$(readlink "$source_path")"
    case "$link" in
        /*) source_path="$link" ;;
        *) source_path="$(dirname "$source_path")/$link" ;;
    esac
done
repo_root="$(cd "$(dirname "$source_path")/.." && pwd -P)"

# The pipenv virtualenv (PIPENV_VENV_IN_PROJECT, see the Makefile) has boto3; fall back to the
# machine's Python so --help works before `make install`.
if [ -x "$repo_root/.venv/bin/python" ]; then
    python="$repo_root/.venv/bin/python"
else
    python="$(command -v python3 || command -v python || true)"
    if [ -z "$python" ]; then
        echo "error: no Python found: run \`make install\` in $repo_root" >&2
        exit 1
    fi
fi

exec "$python" "$repo_root/scripts/litellm_boost.py" "$@"
