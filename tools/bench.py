#!/usr/bin/env python
"""`make bench`: wall time and peak memory of the things every user waits for, with the stock
provider import and with core/provider_import's lazy import, as a markdown table.

Peak memory is the largest summed RSS of the whole process tree (Python *and* the jsii Node
process), sampled every 20 ms from /proc, so it counts what the machine really has to hold.
Each command runs ``--runs`` times (default 3) after one untimed warm-up; the table shows medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOCK = {"LITELLM_STOCK_PROVIDER_IMPORT": "1"}
LAZY = {"LITELLM_STOCK_PROVIDER_IMPORT": "0"}
PAGE = os.sysconf("SC_PAGE_SIZE")
SUITE_GOAL_SECONDS = 60

IMPORT_STOCK = "import cdktf_cdktf_provider_aws, cdktf_cdktf_provider_random"
# What the app itself imports: every stack module, hence every provider submodule it uses.
IMPORT_APP = (
    "from core import provider_import; provider_import.install(); "
    "import stacks.environment_stack, bootstrap.backend_stack"
)


def _tree_rss(root_pid: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * PAGE
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(wall seconds, peak tree RSS bytes) of one run; raises if the command fails."""
    full_env = dict(os.environ, **env)
    # Output goes to a file, not a pipe: a chatty command must never block on a full pipe, and
    # a failure must show what the command said (pytest reports failures on stdout).
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=output, stderr=subprocess.STDOUT)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - start
        if process.returncode != 0:
            output.seek(0)
            raise SystemExit(f"benchmark command failed ({process.returncode}): {' '.join(command)}\n"
                             f"{output.read().decode(errors='replace')[-6000:]}")
    return wall, peak


def median_of(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    measure(command, env)  # warm-up: .pyc files, page cache
    samples = [measure(command, env) for _ in range(runs)]
    return (statistics.median(s[0] for s in samples),
            statistics.median(s[1] for s in samples) / 2**20)


# `make diff ENV=dev` synthesizes only dev (LITELLM_STACKS): its synth step must not grow with the
# number of environment files. Goal: 20 files within 1.1x of 2.
MANY_ENVIRONMENTS = 20
ONE_STACK_GOAL = 1.1
_LINKED = ("core", "modules", "stacks", "bootstrap", "config", "node_modules")


def project_with_environments(dest: Path, count: int) -> Path:
    """A copy of the project whose environments/ holds the shipped files plus copies of dev.toml
    up to ``count`` files (each with its own environment name); code is linked, not copied."""
    dest.mkdir(parents=True)
    for name in ("main.py", "backend.toml", "cdktf.json"):
        (dest / name).write_bytes((ROOT / name).read_bytes())
    for name in _LINKED:
        if (ROOT / name).exists():
            (dest / name).symlink_to(ROOT / name, target_is_directory=True)
    environments = dest / "environments"
    environments.mkdir()
    shipped = sorted((ROOT / "environments").glob("*.toml"))
    for path in shipped:
        (environments / path.name).write_text(path.read_text())
    dev = (ROOT / "environments" / "dev.toml").read_text()
    for i in range(count - len(shipped)):
        name = f"team{i:02d}"
        (environments / f"{name}.toml").write_text(dev.replace('environment = "dev"', f'environment = "{name}"'))
    return dest


def one_stack_rows(row, scratch: Path) -> None:
    for count in (2, MANY_ENVIRONMENTS):
        project = project_with_environments(scratch / f"envs-{count}", count)
        row(f"`make diff ENV=dev` synth step (LITELLM_STACKS=dev), {count} environment files",
            [PYTHON, str(project / "main.py")],
            env={"CDKTF_OUTDIR": str(scratch / f"out-{count}"), "LITELLM_STACKS": "dev"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-tests", action="store_true", help="leave out the test suite rows")
    parser.add_argument("--one-stack-only", action="store_true",
                        help="only the one-stack synth rows (2 vs 20 environment files)")
    args = parser.parse_args()
    outdir = tempfile.mkdtemp(prefix="bench-cdktf-out-")
    synth = [PYTHON, "main.py"]
    synth_env = {"CDKTF_OUTDIR": outdir}
    cdktf = str(ROOT / "node_modules" / ".bin" / "cdktf")

    rows: list[tuple[str, tuple[float, float], tuple[float, float] | None]] = []

    def row(label, command, *, env=None, stock_command=None, stock_env=None):
        lazy = median_of(command, {**LAZY, **(env or {})}, args.runs)
        stock = None
        if stock_command is not None:
            stock = median_of(stock_command, {**STOCK, **(stock_env or env or {})}, args.runs)
        rows.append((label, lazy, stock))
        print(f"  measured: {label}", file=sys.stderr)

    if args.one_stack_only:
        one_stack_rows(row, Path(tempfile.mkdtemp(prefix="bench-envs-")))
        print_one_stack(rows, args.runs)
        return 0
    row("provider import alone (app's submodules vs whole package)",
        [PYTHON, "-c", IMPORT_APP], stock_command=[PYTHON, "-c", IMPORT_STOCK])
    row("synth step: main.py, all stacks", synth, env=synth_env, stock_command=synth)
    row("`cdktf synth` (what `make synth` runs)", [cdktf, "synth", "--output", outdir],
        stock_command=[cdktf, "synth", "--output", outdir])
    one_stack_rows(row, Path(tempfile.mkdtemp(prefix="bench-envs-")))
    if not args.skip_tests:
        tests = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        row("test suite: `pytest`, the first half of `make test`", tests, stock_command=tests)
        row("`make check` (checkov on every stack, workflow linters)", ["make", "--no-print-directory", "check"])

    stock_import = rows[0][2][0]
    print(f"\nMedian of {args.runs} runs after a warm-up, {os.cpu_count()} cores. "
          f"Peak memory: summed RSS of the process tree (Python + Node).\n")
    print("| what | lazy import: wall | peak MiB | stock import: wall | peak MiB | lazy/stock wall |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, lazy, stock in rows:
        stock_cells = f"{stock[0]:.2f} s | {stock[1]:.0f}" if stock else "- | -"
        ratio = f"{lazy[0] / stock[0]:.2f}" if stock else "-"
        print(f"| {label} | {lazy[0]:.2f} s | {lazy[1]:.0f} | {stock_cells} | {ratio} |")
    synth_lazy = rows[1][1][0]
    verdict = "meets" if synth_lazy <= stock_import / 2 else "MISSES"
    print(f"\nGoal (synth of all stacks <= half the stock provider import alone): "
          f"{synth_lazy:.2f} s vs {stock_import:.2f} s / 2 = {stock_import / 2:.2f} s -> {verdict}")
    print_one_stack_goal(rows)
    if not args.skip_tests:
        suite = rows[5][1][0]
        print(f"Goal (the full test suite under {SUITE_GOAL_SECONDS} s): {suite:.2f} s -> "
              f"{'meets' if suite < SUITE_GOAL_SECONDS else 'MISSES'}")
    return 0


def print_one_stack_goal(rows) -> None:
    few, many = (next(r[1][0] for r in rows if r[0].endswith(f", {n} environment files")) for n in (2, MANY_ENVIRONMENTS))
    ratio = many / few
    print(f"Goal (one stack's synth with {MANY_ENVIRONMENTS} environment files <= {ONE_STACK_GOAL}x the same with 2): "
          f"{many:.2f} s / {few:.2f} s = {ratio:.2f} -> {'meets' if ratio <= ONE_STACK_GOAL else 'MISSES'}")


def print_one_stack(rows, runs: int) -> None:
    print(f"\nMedian of {runs} runs after a warm-up, {os.cpu_count()} cores.\n")
    print("| what | wall | peak MiB |")
    print("|---|---:|---:|")
    for label, lazy, _ in rows:
        print(f"| {label} | {lazy[0]:.2f} s | {lazy[1]:.0f} |")
    print()
    print_one_stack_goal(rows)


if __name__ == "__main__":
    sys.exit(main())
