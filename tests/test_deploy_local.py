"""tools/deploy_local/driver.py: the pure logic of `make deploy-local` (the run itself is
`make deploy-local`, in CI after `make test`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.terraform_harness import TerraformRun
from tools.deploy_local import driver

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "http://127.0.0.1:45678"


def test_the_callers_aws_and_terraform_settings_never_reach_the_run(tmp_path):
    caller = {"HOME": "/home/dev", "PATH": "/usr/bin", "AWS_PROFILE": "production", "AWS_ACCESS_KEY_ID": "fake-caller-key-id",
              "AWS_SESSION_TOKEN": "fake", "AWS_REGION": "us-east-1", "TF_VAR_rds_master_password": "fake",
              "TF_CLI_ARGS_apply": "-target=x", "TF_WORKSPACE": "prod", "TF_CLI_CONFIG_FILE": "/etc/tfrc"}
    env = driver.clean_environment(caller, ENDPOINT, tmp_path)
    assert env["HOME"] == "/home/dev" and env["PATH"] == "/usr/bin"
    assert env["AWS_ACCESS_KEY_ID"] == driver.MOCK_ACCESS_KEY and env["AWS_SECRET_ACCESS_KEY"] == driver.MOCK_SECRET_KEY
    assert env["AWS_ENDPOINT_URL"] == ENDPOINT
    assert not {k for k in env if k.startswith("TF_")} - {"TF_IN_AUTOMATION", "TF_INPUT"}
    assert {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"}.isdisjoint(env)
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == str(tmp_path / "aws-empty")


def test_every_provider_alias_talks_only_to_the_emulator():
    config = {"provider": {"aws": [{"region": "ap-southeast-1"}, {"alias": "us-east-1", "region": "us-east-1"}]}}
    blocks = driver.provider_override(config, ENDPOINT)
    assert [b.get("alias") for b in blocks] == [None, "us-east-1"]
    for block in blocks:
        (endpoints,) = block["endpoints"]
        assert set(endpoints.values()) == {ENDPOINT}
        assert {"sts", "s3", "ec2", "elasticache", "rds", "ecs", "lambda"} <= set(endpoints)
        # The account id comes from the emulated STS: skipping it makes security group references
        # come back as "account/sg-..." and every plan shows a diff.
        assert block["skip_requesting_account_id"] is False
        assert block["max_retries"] <= 3 and block["access_key"] == driver.MOCK_ACCESS_KEY


def test_s3_backend_is_restated_against_the_emulator_with_its_lock():
    config = {"terraform": {"backend": {"s3": {"bucket": "b", "key": "litellm/dev/terraform.tfstate",
                                               "region": "ap-southeast-1", "encrypt": True, "dynamodb_table": "lock"}}}}
    s3 = driver.backend_override(config, ENDPOINT, Path("/scratch/bootstrap.tfstate"))["s3"]
    assert (s3["bucket"], s3["key"], s3["dynamodb_table"], s3["encrypt"]) == ("b", "litellm/dev/terraform.tfstate", "lock", True)
    assert set(s3["endpoints"]) == {"s3", "dynamodb", "sts", "iam"} and set(s3["endpoints"].values()) == {ENDPOINT}
    assert s3["use_path_style"] is True


def test_bootstrap_state_goes_to_scratch_never_to_the_real_state_file(stack_json, tmp_path):
    config, override, notes = driver.prepare_config("bootstrap", stack_json("bootstrap"), ENDPOINT, tmp_path / "b.tfstate")
    assert override["terraform"]["backend"] == {"local": {"path": str(tmp_path / "b.tfstate")}}
    # Only the local run leaves the TLS-only bucket policy out, and it says so.
    assert "aws_s3_bucket_policy" not in config["resource"]
    assert "aws_s3_bucket_policy" in stack_json("bootstrap")["resource"]
    assert any("aws:SecureTransport" in note for note in notes)


def test_environment_stack_is_prepared_without_the_random_provider(stack_json, tmp_path):
    original = stack_json("dev")
    config, override, notes = driver.prepare_config("dev", original, ENDPOINT, tmp_path / "b.tfstate")
    assert not [t for t in config["resource"] if t.startswith("random_")]
    assert "random" not in config["terraform"]["required_providers"]
    assert any(note.startswith("random provider not mirrored") for note in notes)
    assert override["terraform"]["backend"]["s3"]["key"] == original["terraform"]["backend"]["s3"]["key"]
    # Nothing else is dropped from an environment stack but its TLS-only config bucket policy,
    # which moto cannot evaluate (the second plan's read of the config object got 403).
    policy = "aws_s3_bucket_policy"
    assert set(config["resource"]) - {policy} == {t for t in original["resource"] if not t.startswith("random_")} - {policy}
    dropped = set(original["resource"]["aws_s3_bucket_policy"]) - set(config["resource"].get("aws_s3_bucket_policy", {}))
    assert [name for name in dropped if "config-bucket" in name] == list(dropped) and len(dropped) == 1
    assert any("aws:SecureTransport" in note and "config-bucket" in note for note in notes)


def test_bucket_policies_with_more_than_tls_denies_stay(stack_json, tmp_path):
    original = stack_json("prod")
    config, _, _ = driver.prepare_config("prod", original, ENDPOINT, tmp_path / "b.tfstate")
    kept = set(config["resource"]["aws_s3_bucket_policy"])
    assert kept == set(original["resource"]["aws_s3_bucket_policy"]) - {
        n for n in original["resource"]["aws_s3_bucket_policy"] if "config-bucket" in n}
    assert any("access-logs" in name for name in kept)


def test_ephemeral_random_values_become_variables_too(tmp_path):
    # Write-only arguments (password_wo) fed from an ephemeral random_password: the random
    # provider is not mirrored, so the value must become a variable like any other random value.
    config = {"terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"},
                                                   "random": {"source": "hashicorp/random", "version": "3.7.2"}}},
              "ephemeral": {"random_password": {"db": {"length": 32}}, "aws_secretsmanager_secret_version": {}},
              "resource": {"aws_db_instance": {"db": {"password_wo": "${ephemeral.random_password.db.result}",
                                                      "password_wo_version": 1}}}}
    prepared, _, notes = driver.prepare_config("dev", config, ENDPOINT, tmp_path / "b.tfstate")
    assert "random_password" not in prepared.get("ephemeral", {})
    (variable,) = [name for name in prepared["variable"] if "random_password_db" in name]
    assert prepared["resource"]["aws_db_instance"]["db"]["password_wo"] == f"${{var.{variable}}}"
    assert prepared["variable"][variable]["sensitive"] is True
    assert "random" not in prepared["terraform"]["required_providers"]


def test_terraform_summaries_are_read():
    assert driver.apply_counts("...\nApply complete! Resources: 108 added, 0 changed, 0 destroyed.\n") == (108, 0, 0)
    assert driver.apply_counts("Error: boom") is None
    assert driver.destroyed_count("Destroy complete! Resources: 108 destroyed.") == 108
    plan = ("  # aws_ecs_service.litellm will be updated in-place\n  ~ resource \"aws_ecs_service\" {\n"
            "  # aws_instance.bastion must be replaced\n")
    assert driver.plan_changes(plan) == ["# aws_ecs_service.litellm will be updated in-place",
                                         "# aws_instance.bastion must be replaced"]


def _run(returncode: int, stdout: str = "", stderr: str = "") -> TerraformRun:
    return TerraformRun(["terraform", "destroy"], Path("."), returncode, stdout, stderr, 1.0)


def test_a_refused_destroy_is_told_apart_from_other_failures():
    refused = _run(1, stderr="Error: Instance cannot be destroyed\n... lifecycle.prevent_destroy set ...")
    assert driver.destroy_was_refused(refused)
    assert not driver.destroy_was_refused(_run(0, stdout="Destroy complete! Resources: 3 destroyed."))
    assert not driver.destroy_was_refused(_run(1, stderr="Error: connection refused"))


def test_stand_in_api_events_reach_the_handlers_routes():
    spec = importlib.util.spec_from_file_location("handler_for_test", ROOT / "modules/manual_control_lambda/handler.py")
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    override = driver.api_event("POST", "/litellm/override", b'{"hours": 1}')
    assert handler.route_of(override) == handler.ROUTE_OVERRIDE and handler._is_http(override)
    assert json.loads(override["body"]) == {"hours": 1}
    assert handler.route_of(driver.api_event("GET", "/litellm/status", None)) == handler.ROUTE_STATUS


def test_free_port_is_on_loopback():
    assert 1024 < driver.free_port() < 65536


def test_ci_runs_the_local_deploy_of_dev_and_prod_after_the_tests():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert lines.index("make deploy-local ENV=dev") > lines.index("make test")
    assert "make deploy-local ENV=prod" in lines


def test_make_target_is_declared_documented_and_passes_keep():
    import subprocess

    makefile = (ROOT / "Makefile").read_text()
    phony = next(line for line in makefile.splitlines() if line.startswith(".PHONY:"))
    assert "deploy-local" in phony.split()
    assert "make deploy-local ENV=dev" in makefile  # the help line
    dry = subprocess.run(["make", "-n", "--no-print-directory", "deploy-local", "ENV=prod", "KEEP=1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert "-m tools.deploy_local --env prod --keep" in dry.stdout, dry.stdout + dry.stderr
    # The moto-patch probes (kept out of make test by pytest.ini) run before the emulator starts.
    lines = dry.stdout.splitlines()
    probes = next(i for i, line in enumerate(lines) if "-m emulator tests/test_moto_patches.py" in line)
    assert probes < next(i for i, line in enumerate(lines) if "-m tools.deploy_local" in line)
