#!/usr/bin/env python
"""`make check`: checkov policy scan of every synthesized stack, against one reviewed
exceptions file.

Why a wrapper instead of plain `checkov -d cdktf.out`:
* checkov exits 0 when it cannot parse a file (e.g. `terraform.required_version` in cdktf JSON),
  so parse errors are counted here and fail the run;
* per-resource skip comments do not exist in JSON, so exceptions live in
  `checkov-exceptions.toml`, one check id per environment with a reason, and an exception that
  no longer matches anything fails the run too (the file stays honest);
* it runs offline: `--skip-download`, no result upload, no version check;
* ``[budget]`` in the same file caps how many findings the exceptions may cover per stack (prod:
  15, issue 14), so exceptions cannot pile up unnoticed.

* the default synthesis has no CI roles (github_repository is opt-in), so it also synthesizes
  the bootstrap stack with the GitHub CI feature on, scanned as the stack ``bootstrap-ci``.

Usage: policy_scan.py [--outdir cdktf.out] [--json]   (synthesizes first when --outdir is absent)
Exit codes: 0 clean, 1 findings or stale exceptions or parse errors, 2 usage/tool problems.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCEPTIONS_FILE = ROOT / "checkov-exceptions.toml"
# The bootstrap stack as a team with GitHub CI deploys it (any owner/name gives the same policies).
CI_BOOTSTRAP_STACK = "bootstrap-ci"
CI_SCAN_REPOSITORY = "example-org/litellm-infra"


@dataclass
class StackResult:
    stack: str
    passed: int = 0
    failed: list[dict] = field(default_factory=list)   # not excepted
    excepted: list[dict] = field(default_factory=list)
    parsing_errors: int = 0


def load_exceptions(path: Path = EXCEPTIONS_FILE) -> dict[tuple[str, str], str]:
    """(stack, check id) -> reason. Every entry needs a check, its stacks and a reason."""
    data = tomllib.loads(path.read_text())
    out: dict[tuple[str, str], str] = {}
    for index, entry in enumerate(data.get("exception", [])):
        check, stacks, reason = entry.get("check"), entry.get("stacks"), entry.get("reason", "").strip()
        if not check or not stacks or not reason:
            raise SystemExit(f"{path.name}: exception #{index + 1} needs check, stacks and reason")
        for stack in stacks:
            out[(stack, check)] = reason
    return out


def load_budget(path: Path = EXCEPTIONS_FILE) -> dict[str, int]:
    """Stack -> most findings its exceptions may cover (stacks without an entry: no cap)."""
    budget = tomllib.loads(path.read_text()).get("budget", {})
    for stack, limit in budget.items():
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise SystemExit(f"{path.name}: budget.{stack} must be a whole number >= 0")
    return budget


def over_budget(results: list[StackResult], budget: dict[str, int]) -> list[str]:
    return [f"{r.stack}: {len(r.excepted)} excepted findings, budget {budget[r.stack]}"
            for r in results if r.stack in budget and len(r.excepted) > budget[r.stack]]


def checkov_command() -> list[str]:
    local = Path(sys.executable).parent / "checkov"
    return [str(local) if local.exists() else "checkov"]


def scan_stack(stack_dir: Path, work: Path) -> dict:
    """Run checkov on one stack's cdk.tf.json; return its JSON report."""
    target = work / stack_dir.name
    target.mkdir()
    shutil.copy(stack_dir / "cdk.tf.json", target / "main.tf.json")
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE",
               ANSI_COLORS_DISABLED="1")
    result = subprocess.run(
        checkov_command() + ["-d", str(target), "--framework", "terraform_json", "--output", "json",
                             "--quiet", "--compact", "--skip-download", "--skip-results-upload"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"checkov crashed on {stack_dir.name} (exit {result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    if isinstance(report, list):
        report = next((r for r in report if r.get("check_type") == "terraform_json"), report[0] if report else {})
    if not report:
        # An empty report means checkov read nothing: treat it as a parse failure, never a pass.
        report = {"summary": {"parsing_errors": 1}}
    return report


def evaluate(stack: str, report: dict, exceptions: dict[tuple[str, str], str]) -> StackResult:
    summary = report.get("summary", {})
    result = StackResult(stack, passed=summary.get("passed", 0),
                         parsing_errors=summary.get("parsing_errors", 0))
    for finding in report.get("results", {}).get("failed_checks", []):
        bucket = result.excepted if (stack, finding["check_id"]) in exceptions else result.failed
        bucket.append(finding)
    return result


def _synth_env(outdir: Path) -> dict[str, str]:
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir))
    node_bin = ROOT / "node_modules" / ".bin"
    env["PATH"] = f"{node_bin}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("NODE_OPTIONS", "--disable-warning=DEP0044")
    return env


def synthesize(outdir: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=_synth_env(outdir), check=True)
    synthesize_ci_bootstrap(outdir)


# Run in a child process: jsii (and its Node process) stays out of this one, as for main.py.
_CI_BOOTSTRAP_PROGRAM = textwrap.dedent("""
    import dataclasses, sys
    root, outdir, repository = sys.argv[1:4]
    sys.path.insert(0, root)
    from core.config import load_project
    from core import provider_import
    provider_import.install()
    from cdktf import App
    from bootstrap.backend_stack import BootstrapStack
    project = load_project(root)
    backend = dataclasses.replace(project.backend, github_repository=repository)
    app = App(outdir=outdir)
    BootstrapStack(app, backend=backend, environments=project.environments)
    app.synth()
""")


def synthesize_ci_bootstrap(outdir: Path) -> None:
    """``<outdir>/stacks/bootstrap-ci``: bootstrap with ``github_repository`` set."""
    with tempfile.TemporaryDirectory(prefix="policy-ci-") as tmp:
        subprocess.run([sys.executable, "-c", _CI_BOOTSTRAP_PROGRAM, str(ROOT), tmp, CI_SCAN_REPOSITORY],
                       cwd=ROOT, env=_synth_env(Path(tmp)), check=True)
        shutil.copytree(Path(tmp) / "stacks" / "bootstrap", outdir / "stacks" / CI_BOOTSTRAP_STACK)


def run(outdir: Path, exceptions: dict[tuple[str, str], str]) -> tuple[list[StackResult], list[str]]:
    stacks = sorted(p for p in (outdir / "stacks").iterdir() if (p / "cdk.tf.json").is_file())
    # One checkov process per stack (checkov's own multi-directory output mixes the stacks up);
    # most of each run is checkov starting, so they run side by side.
    with tempfile.TemporaryDirectory(prefix="policy-scan-") as work, \
            ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        reports = list(pool.map(lambda stack_dir: scan_stack(stack_dir, Path(work)), stacks))
    results = [evaluate(stack_dir.name, report, exceptions) for stack_dir, report in zip(stacks, reports)]
    used = {(r.stack, f["check_id"]) for r in results for f in r.excepted}
    scanned = {r.stack for r in results}
    stale = [f"{stack}: {check}" for (stack, check) in sorted(exceptions)
             if stack in scanned and (stack, check) not in used]
    return results, stale


def report_text(results: list[StackResult], stale: list[str], over: list[str] = ()) -> str:
    lines = ["| stack | passed | failed | excepted | parse errors |", "|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.stack} | {r.passed} | {len(r.failed)} | {len(r.excepted)} | {r.parsing_errors} |")
    for r in results:
        for finding in r.failed:
            lines.append(f"FAIL {r.stack}: {finding['check_id']} {finding['resource']}: {finding['check_name']}")
        if r.parsing_errors:
            lines.append(f"FAIL {r.stack}: checkov could not parse the stack ({r.parsing_errors} file(s))")
    for entry in stale:
        lines.append(f"STALE exception (matches nothing; remove it): {entry}")
    for entry in over:
        lines.append(f"OVER BUDGET (fix findings instead of excepting them): {entry}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, help="existing cdktf.out to scan (default: synthesize)")
    args = parser.parse_args()
    exceptions = load_exceptions()
    budget = load_budget()
    if args.outdir:
        results, stale = run(args.outdir, exceptions)
    else:
        with tempfile.TemporaryDirectory(prefix="policy-synth-") as tmp:
            synthesize(Path(tmp))
            results, stale = run(Path(tmp), exceptions)
    over = over_budget(results, budget)
    print(report_text(results, stale, over))
    failed = any(r.failed or r.parsing_errors for r in results) or stale or over
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
