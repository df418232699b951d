"""No secret a user might hand us ever lands in cdktf.out: sentinels go in through every input
that could carry one (Terraform variables, AWS credentials, LiteLLM keys in the environment), the
whole app is synthesized, and every output file is searched for them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests import prefetch
from tests.config_files import write_project
from tests.conftest import ROOT
from tests.test_main import run_app

SENTINELS = {
    "TF_VAR_rds_master_password": "SENTINEL-rds-password-7f3a",
    "AWS_SECRET_ACCESS_KEY": "SENTINEL-aws-secret-9b21",
    "AWS_SESSION_TOKEN": "SENTINEL-aws-session-44c0",
    "LITELLM_MASTER_KEY": "sk-SENTINEL-master-key-0d5e",
    "LITELLM_SALT_KEY": "SENTINEL-salt-key-61aa",
    "REDIS_PASSWORD": "SENTINEL-redis-password-e2c9",
    "DATABASE_PASSWORD": "SENTINEL-db-password-3b77",
}
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:openai-AbCdEf"


@prefetch.job("sentinel-synth", prefetch.COLLECTION, consumers={"sentinel_synth"})
def _synthesize_with_sentinels(ctx: prefetch.Context):
    """The whole app, in its own process, with a sentinel in every input that could carry a secret."""
    root = write_project(ctx.scratch / "project", {
        "dev": {
            "rds_manage_master_password": False,
            "litellm_secrets": {"OPENAI_API_KEY": SECRET_ARN},
            "litellm_manual_control_enabled": True,
            "backend_db_bastion_enabled": True,
            "backend_rds_enabled": True,
        },
    })
    outdir = ctx.scratch / "cdktf.out"
    return outdir, run_app(root, outdir, extra_env=SENTINELS)


@pytest.fixture(scope="module")
def sentinel_synth():
    return prefetch.result("sentinel-synth")


def test_sentinel_secrets_never_reach_the_output(sentinel_synth):
    outdir, result = sentinel_synth
    assert result.returncode == 0, result.stderr[-3000:]
    files = [p for p in outdir.rglob("*") if p.is_file()]
    assert any(p.name == "cdk.tf.json" for p in files)
    for path in files:
        text = path.read_text(errors="replace")
        for name, value in SENTINELS.items():
            assert value not in text, f"{name} leaked into {path.relative_to(outdir)}"
    for stream in (result.stdout, result.stderr):
        assert not any(value in stream for value in SENTINELS.values())
    dev = (outdir / "stacks" / "dev" / "cdk.tf.json").read_text()
    assert "${var.rds_master_password}" in dev   # the password is referenced, never inlined
    assert SECRET_ARN in dev                       # a user's secret is passed by ARN only
