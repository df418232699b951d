"""The exit route stays open: every stack synthesized as plain HCL (what `cdktf synth --hcl`
writes) passes `terraform validate`, so a team can leave cdktf for hand-kept HCL at any time.

The random provider is not in the offline mirror, so `random_*` blocks are cut from a scratch copy
and their references become variables, as the JSON harness does (tests/terraform_harness.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import terraform_harness as th
from tests.conftest import ROOT
from tests.test_terraform_loop import synthesized_stacks, toolchain  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.terraform, pytest.mark.xdist_group("terraform")]

_RANDOM_BLOCK = re.compile(r'^(provider "random"|resource "random_[a-z_]+" "[^"]+") \{')
_RANDOM_REF = re.compile(r"\brandom_([a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\b")


def strip_random(hcl: str) -> tuple[str, list[str]]:
    """Remove random provider/resource blocks and the random required_providers entry; turn each
    reference into a variable. Returns (new text, variable names). cdktf writes every top-level
    block starting at column 0 and closing with a lone "}" at column 0."""
    out, skipping, in_random_requirement = [], False, False
    for line in hcl.splitlines():
        if skipping:
            skipping = line != "}"
            continue
        if _RANDOM_BLOCK.match(line):
            skipping = not line.endswith("}")
            continue
        if line.strip() == "random = {":
            in_random_requirement = True
            continue
        if in_random_requirement:
            in_random_requirement = line.strip() != "}"
            continue
        out.append(line)
    variables: dict[str, None] = {}

    def to_variable(match: re.Match) -> str:
        name = "offline_random_" + "_".join(match.groups()).replace("-", "_")
        variables[name] = None
        return f"var.{name}"

    text = _RANDOM_REF.sub(to_variable, "\n".join(out) + "\n")
    for name in variables:
        text += f'\nvariable "{name}" {{\n  type      = string\n  sensitive = true\n  default   = "offline-placeholder"\n}}\n'
    return text, list(variables)


def test_strip_random_leaves_no_random_behind():
    hcl = '''terraform {
  required_providers {
    aws = {
      source = "aws"
    }
    random = {
      version = "3.7.2"
      source  = "hashicorp/random"
    }
  }
}
provider "random" {
}
resource "random_password" "db_pw-1" {
  length = 32
}
resource "aws_db_instance" "db" {
  password = "${random_password.db_pw-1.result}"
  url      = "${urlencode(random_password.db_pw-1.result)}"
}
'''
    text, variables = strip_random(hcl)
    assert "random_" not in text.replace("offline_random_", "")
    assert variables == ["offline_random_password_db_pw_1_result"]
    assert 'password = "${var.offline_random_password_db_pw_1_result}"' in text
    assert 'aws = {' in text and text.count("{") == text.count("}")


@pytest.fixture(scope="module")
def hcl_outdir(tmp_path_factory) -> Path:
    """`cdktf synth --hcl` through the pinned CLI: the JSON-to-HCL conversion lives in the CLI
    (an in-process App(hcl_output=True) still writes JSON into cdk.tf)."""
    cli = ROOT / "node_modules" / ".bin" / "cdktf"
    if not cli.exists():
        if th.must_fail_when_unavailable():
            pytest.fail("CI=true but the cdktf CLI is not installed (npm ci)")
        pytest.skip("cdktf CLI not installed (run make install)")
    outdir = tmp_path_factory.mktemp("cdktf-hcl")
    env = {k: v for k, v in os.environ.items() if k != "TF_CLI_CONFIG_FILE"}
    env.setdefault("NODE_OPTIONS", "--max-old-space-size=4096 --disable-warning=DEP0044")
    result = subprocess.run([str(cli), "synth", "--hcl", "--output", str(outdir)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return outdir


def test_every_stack_is_written_as_hcl(hcl_outdir, synthesized_stacks):  # noqa: F811
    for name in synthesized_stacks:
        text = (hcl_outdir / "stacks" / name / "cdk.tf").read_text()
        assert text.startswith("terraform {"), f"{name}: not HCL"


def _stack_params():
    from core.config import load_project

    return ["bootstrap"] + [env.stack_name for env in load_project(ROOT).environments]


@pytest.fixture(scope="module")
def validated(hcl_outdir, toolchain, tmp_path_factory) -> dict:  # noqa: F811
    """stack -> the run that decides it (validate, or init when init failed); all stacks at
    once, since each run mostly waits on the provider starting."""
    from concurrent.futures import ThreadPoolExecutor

    def prepare(stack: str) -> Path:
        work = tmp_path_factory.mktemp("hcl") / stack
        shutil.copytree(hcl_outdir / "stacks" / stack, work, ignore=shutil.ignore_patterns("metadata.json"))
        text, _ = strip_random((work / "cdk.tf").read_text())
        (work / "cdk.tf").write_text(text)
        return work

    stacks = _stack_params()
    workdirs = {stack: prepare(stack) for stack in stacks}
    # init shares the plugin cache, which is not safe for concurrent writers: one at a time
    # (th.validate_only's first step); validate then runs for all stacks at once.
    inits = {stack: toolchain.run(["init", "-backend=false", "-input=false", "-no-color"], work)
             for stack, work in workdirs.items()}

    def validate(stack: str):
        if not inits[stack].ok:
            return inits[stack]
        return toolchain.run(["validate", "-json", "-no-color"], workdirs[stack])

    with ThreadPoolExecutor(max_workers=len(stacks)) as pool:
        return dict(zip(stacks, pool.map(validate, stacks)))


@pytest.mark.parametrize("stack", _stack_params())
def test_hcl_of_every_stack_passes_terraform_validate(stack, validated):
    run = validated[stack]
    assert run.ok, run.report()
