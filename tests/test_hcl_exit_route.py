"""The exit route stays open: every stack exported as plain HCL by `make hcl` (tools/hcl_export.py,
what `cdktf synth --hcl` writes) passes `terraform validate`, so a team can leave cdktf for
hand-kept HCL at any time.

The random provider is not in the offline mirror, so `random_*` blocks are cut from a scratch copy
and their references become variables, as the JSON harness does (tests/terraform_harness.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests import prefetch
from tools import hcl_export
from tests import terraform_harness as th
from tests.conftest import ROOT
from tests.test_terraform_loop import STACKS, synthesized_stacks, toolchain  # noqa: F401 (fixtures)

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


# hcl-synth -> hcl-validate is one of the session's two longest serial chains: normal priority.
@prefetch.job("hcl-synth", prefetch.COLLECTION, consumers={"hcl_outdir"}, niceness=0)
def _export_hcl_as_make_hcl_does(ctx: prefetch.Context) -> tuple[Path, str | None]:
    """`make hcl` (tools/hcl_export.py: the app with SYNTH_HCL_OUTPUT, as `cdktf synth --hcl`
    runs it, then terraform fmt) into a scratch folder. Returns (folder, error or None)."""
    outdir = ctx.scratch / "hcl"
    env = {k: v for k, v in os.environ.items() if k != "TF_CLI_CONFIG_FILE"}
    try:
        hcl_export.export(outdir, env=env)
    except hcl_export.ExportError as error:
        return outdir, str(error)
    return outdir, None


@pytest.fixture(scope="module")
def hcl_outdir() -> Path:
    outdir, error = prefetch.result("hcl-synth")
    assert error is None, error[-3000:]
    return outdir


def test_every_stack_is_written_as_hcl(hcl_outdir, synthesized_stacks):  # noqa: F811
    for name in synthesized_stacks:
        text = (hcl_outdir / name / hcl_export.STACK_FILE).read_text()
        assert text.startswith("terraform {"), f"{name}: not HCL"


# A configuration with one known mistake, validated alongside the stacks: the joint validate must
# report exactly this, which proves the check can fail and that terraform got as far as
# validating every module (a parse error anywhere stops it before any module is validated).
CANARY = "canary-known-bad"
CANARY_TF = """terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "{version}" }}
  }}
}}

resource "aws_s3_bucket" "canary" {{
  bucket_nme = "typo-on-purpose"
}}
"""


@prefetch.job("hcl-validate", prefetch.SYNTH, consumers={"validated"}, needs=["hcl-synth", "terraform-toolchain"],
              niceness=0)
def _validate_every_stack_as_hcl(ctx: prefetch.Context) -> th.JointValidation | None:
    """Every stack's HCL (random_* stripped) plus the canary, in one `terraform validate`: one
    provider schema load instead of one per stack (see th.validate_together). None when the
    HCL synth failed (hcl_outdir reports why)."""
    outdir, error = ctx.need("hcl-synth")
    toolchain = ctx.need("terraform-toolchain")
    if error is not None:
        return None
    configurations = {}
    for stack in STACKS:
        work = ctx.scratch / "src" / stack
        shutil.copytree(outdir / stack, work)
        text, _ = strip_random((work / hcl_export.STACK_FILE).read_text())
        (work / hcl_export.STACK_FILE).write_text(text)
        configurations[stack] = work
    canary = ctx.scratch / "src" / CANARY
    canary.mkdir()
    version = max(r.version for r in toolchain.requirements if r.source.endswith("/hashicorp/aws"))
    (canary / "main.tf").write_text(CANARY_TF.format(version=version))
    configurations[CANARY] = canary
    return th.validate_together(configurations, ctx.scratch / "root", toolchain)


@pytest.fixture(scope="module")
def validated(hcl_outdir, toolchain, synth_outdir) -> th.JointValidation:  # noqa: F811
    joint = prefetch.result("hcl-validate", synth_outdir)
    assert joint is not None, "the HCL synth failed (see test_every_stack_is_written_as_hcl)"
    return joint


def test_the_joint_validate_ran_and_catches_a_bad_argument(validated):
    assert validated.failure() is None, validated.failure()
    canary = validated.diagnostics_for(CANARY)
    assert [(d["severity"], d["summary"]) for d in canary] == [("error", "Unsupported argument")], validated.report(CANARY)
    assert "bucket_nme" in canary[0]["detail"] + json.dumps(canary[0].get("snippet", {}))
    assert validated.result()["valid"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_hcl_of_every_stack_passes_terraform_validate(stack, validated):
    assert validated.failure() is None, validated.failure()
    errors = [d for d in validated.diagnostics_for(stack) if d["severity"] == "error"]
    assert not errors, validated.report(stack)
