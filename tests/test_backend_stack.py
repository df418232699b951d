"""bootstrap/backend_stack.py: the state bucket and lock table every other stack relies on."""

from __future__ import annotations

import dataclasses
import json

import pytest
from cdktf import Testing

from bootstrap.backend_stack import BOOTSTRAP_STATE_PATH, BootstrapStack
from tests.helpers import data_sources, resources


@pytest.fixture(scope="module")
def stack(stack_json):
    return stack_json("bootstrap")


def _only(stack, tf_type):
    (config,) = resources(stack, tf_type).values()
    return config


def test_bucket_is_named_from_config_and_protected(stack, project):
    bucket = _only(stack, "aws_s3_bucket")
    assert bucket["bucket"] == project.backend.state_bucket_name
    assert bucket["lifecycle"]["prevent_destroy"] is True
    assert bucket.get("force_destroy") in (None, False)


def test_bucket_is_versioned_encrypted_and_private(stack, stack_text):
    text = stack_text("bootstrap")
    assert Testing.to_have_resource_with_properties(
        text, "aws_s3_bucket_versioning", {"versioning_configuration": {"status": "Enabled"}})
    encryption = _only(stack, "aws_s3_bucket_server_side_encryption_configuration")
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    block = _only(stack, "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in (
        "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert _only(stack, "aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"


def test_old_state_versions_expire(stack, project):
    (rule,) = _only(stack, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == project.backend.noncurrent_version_expiration_days
    assert rule["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 7


def test_bucket_policy_denies_plain_http_and_old_tls(stack):
    policy = _only(stack, "aws_s3_bucket_policy")
    document = ref_target_data(stack, policy["policy"])
    conditions = {
        (s["effect"], s["condition"][0]["variable"], s["condition"][0]["values"][0])
        for s in document["statement"]
    }
    assert conditions == {("Deny", "aws:SecureTransport", "false"), ("Deny", "s3:TlsVersion", "1.2")}
    for statement in document["statement"]:
        assert len(statement["resources"]) == 2  # the bucket and every object in it


def ref_target_data(stack, value):
    name = value.removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
    return data_sources(stack, "aws_iam_policy_document")[name]


def test_lock_table(stack, project):
    table = _only(stack, "aws_dynamodb_table")
    assert table["name"] == project.backend.lock_table_name
    assert table["hash_key"] == "LockID"
    assert table["attribute"] == [{"name": "LockID", "type": "S"}]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"]["enabled"] is True
    assert table["server_side_encryption"]["enabled"] is True
    assert table["deletion_protection_enabled"] is True


def test_own_state_is_local_outside_cdktf_out(stack):
    assert stack["terraform"]["backend"] == {"local": {"path": BOOTSTRAP_STATE_PATH}}
    assert BOOTSTRAP_STATE_PATH.startswith("../../../")


def test_outputs(stack, project):
    outputs = stack["output"]
    assert set(outputs) == {"state_bucket_name", "state_region", "lock_table_name"}
    assert outputs["state_region"]["value"] == project.backend.aws_region


def test_lockfile_mode_creates_no_table(project):
    backend = dataclasses.replace(project.backend, state_locking="lockfile")
    synthesized = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend)))
    assert resources(synthesized, "aws_dynamodb_table") == {}
    assert "lock_table_name" not in synthesized["output"]
    assert len(resources(synthesized, "aws_s3_bucket")) == 1


def test_github_repository_adds_the_ci_roles_and_their_outputs(project):
    backend = dataclasses.replace(
        project.backend, github_repository="acme/litellm-infra", github_oidc_provider_arn=None,
    )
    synthesized = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend)))
    outputs = synthesized["output"]
    assert {"ci_plan_role_arn", "ci_deploy_role_arn"} <= set(outputs)
    roles = {r["name"]: name for name, r in resources(synthesized, "aws_iam_role").items()}
    prefix = backend.ci_role_name_prefix
    assert outputs["ci_plan_role_arn"]["value"] == f"${{aws_iam_role.{roles[f'{prefix}-plan']}.arn}}"
    assert outputs["ci_deploy_role_arn"]["value"] == f"${{aws_iam_role.{roles[f'{prefix}-deploy']}.arn}}"
    assert len(resources(synthesized, "aws_iam_openid_connect_provider")) == 1
    # The roles reach exactly the state bucket and lock table this stack creates.
    (bucket_id,) = resources(synthesized, "aws_s3_bucket")
    (table_id,) = resources(synthesized, "aws_dynamodb_table")
    statements = [s for d in data_sources(synthesized, "aws_iam_policy_document").values() for s in d["statement"]]
    lock = [s for s in statements if s.get("sid") == "StateLockTable"]
    assert lock and all(s["resources"] == [f"${{aws_dynamodb_table.{table_id}.arn}}"] for s in lock)
    assert any(s.get("resources") == [f"${{aws_s3_bucket.{bucket_id}.arn}}"] for s in statements)


def test_without_github_repository_there_is_no_ci_access(project):
    backend = dataclasses.replace(project.backend, github_repository=None)
    synthesized = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend)))
    assert not {"ci_plan_role_arn", "ci_deploy_role_arn"} & set(synthesized["output"])
    assert resources(synthesized, "aws_iam_role") == {}
    assert resources(synthesized, "aws_iam_openid_connect_provider") == {}
