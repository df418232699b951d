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


def test_bucket_is_versioned_encrypted_with_its_own_key_and_private(stack, stack_text):
    text = stack_text("bootstrap")
    assert Testing.to_have_resource_with_properties(
        text, "aws_s3_bucket_versioning", {"versioning_configuration": {"status": "Enabled"}})
    encryption = _only(stack, "aws_s3_bucket_server_side_encryption_configuration")
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    # Issue 14: the AWS-managed key let anyone with ReadOnlyAccess read the state.
    (key_id,) = resources(stack, "aws_kms_key")
    assert default["kms_master_key_id"] == f"${{aws_kms_key.{key_id}.arn}}"
    key = _only(stack, "aws_kms_key")
    assert key["enable_key_rotation"] is True and key["lifecycle"]["prevent_destroy"] is True
    block = _only(stack, "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in (
        "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert _only(stack, "aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"


def test_environment_stacks_write_state_with_the_state_key(stack, stack_json, project):
    """Without kms_key_id the S3 backend asks for SSE-S3 and the key above would protect nothing."""
    alias = _only(stack, "aws_kms_alias")
    assert alias["name"] == project.backend.state_kms_key_alias
    for env in project.environments:
        assert stack_json(env.stack_name)["terraform"]["backend"]["s3"]["kms_key_id"] == alias["name"]


def test_old_state_versions_expire(stack, project):
    (rule,) = _only(stack, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == project.backend.noncurrent_version_expiration_days
    assert rule["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 7


def test_bucket_policy_denies_plain_http_and_old_tls(stack):
    policy = _only(stack, "aws_s3_bucket_policy")
    statements = {s["sid"]: s for s in ref_target_data(stack, policy["policy"])["statement"]}
    for sid, variable, value in (("DenyInsecureTransport", "aws:SecureTransport", "false"),
                                 ("DenyOutdatedTls", "s3:TlsVersion", "1.2")):
        statement = statements[sid]
        assert statement["effect"] == "Deny"
        assert (statement["condition"][0]["variable"], statement["condition"][0]["values"][0]) == (variable, value)
        assert len(statement["resources"]) == 2  # the bucket and every object in it


def _state_readers(synthesized: dict) -> list[str]:
    policy = _only(synthesized, "aws_s3_bucket_policy")
    statement = next(s for s in ref_target_data(synthesized, policy["policy"])["statement"]
                     if s["sid"] == "OnlyNamedPrincipalsTouchState")
    assert statement["effect"] == "Deny" and statement["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert {"s3:GetObject", "s3:PutObject"} <= set(statement["actions"])
    (condition,) = statement["condition"]
    assert (condition["test"], condition["variable"]) == ("ArnNotLike", "aws:PrincipalArn")
    return condition["values"]


def test_without_named_principals_the_key_alone_guards_state(stack):
    """Nobody named (no CI, no administrators): no deny that would lock out whoever runs
    `make deploy`; ReadOnlyAccess still cannot read state (it grants no kms:Decrypt on the key)."""
    policy = _only(stack, "aws_s3_bucket_policy")
    sids = {s["sid"] for s in ref_target_data(stack, policy["policy"])["statement"]}
    assert sids == {"DenyInsecureTransport", "DenyOutdatedTls", "DenyOtherEncryption"}


def test_the_stack_calls_no_api_at_plan_time(stack):
    """The account comes from the key's ARN, not data.aws_caller_identity (the offline loop)."""
    assert set(stack.get("data", {})) <= {"aws_iam_policy_document"}
    key_policy = _only(stack, "aws_kms_key_policy")
    (statement,) = ref_target_data(stack, key_policy["policy"])["statement"]
    (root,) = statement["principals"][0]["identifiers"]
    assert root.startswith("arn:${element(split(\":\", aws_kms_key.") and root.endswith(":root")


def test_state_admins_and_ci_roles_are_named_in_the_bucket_policy(project):
    admin = "arn:aws:iam::123456789012:role/platform-admin"
    backend = dataclasses.replace(project.backend, github_repository="acme/litellm-infra",
                                  state_admin_principal_arns=(admin,))
    synthesized = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend, environments=project.environments)))
    readers = _state_readers(synthesized)
    assert admin in readers and readers[0].endswith(":root")
    roles = {f"${{aws_iam_role.{k}.arn}}" for k in resources(synthesized, "aws_iam_role")}
    assert roles and roles <= set(readers)


def test_workload_boundary_is_created_for_every_name_prefix(project):
    """Always, CI or not: every environment role carries it (stacks/aspects.py)."""
    other = dataclasses.replace(project.environments[0], name_prefix="acme", stack_name="acme-dev")
    synthesized = json.loads(Testing.synth(BootstrapStack(
        Testing.app(), backend=project.backend, environments=(*project.environments, other))))
    names = sorted(p["name"] for p in resources(synthesized, "aws_iam_policy").values())
    assert names == ["acme-workload-boundary", "litellm-workload-boundary"]


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
    assert set(outputs) == {"state_bucket_name", "state_region", "lock_table_name", "state_kms_key_arn",
                            "workload_boundary_arn_litellm"}
    assert outputs["state_region"]["value"] == project.backend.aws_region


def test_lockfile_mode_creates_no_table(project):
    backend = dataclasses.replace(project.backend, state_locking="lockfile")
    synthesized = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend)))
    assert resources(synthesized, "aws_dynamodb_table") == {}
    assert "lock_table_name" not in synthesized["output"]
    assert len(resources(synthesized, "aws_s3_bucket")) == 1


def test_github_repository_adds_ci_roles_per_environment_and_their_outputs(project):
    backend = dataclasses.replace(
        project.backend, github_repository="acme/litellm-infra", github_oidc_provider_arn=None,
    )
    synthesized = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend, environments=project.environments)))
    outputs = synthesized["output"]
    roles = {r["name"]: name for name, r in resources(synthesized, "aws_iam_role").items()}
    prefix = backend.ci_role_name_prefix
    for env in project.environments:
        for kind in ("plan", "deploy"):
            output = outputs[f"ci_{env.stack_name}_{kind}_role_arn"]
            assert output["value"] == f"${{aws_iam_role.{roles[f'{prefix}-{env.stack_name}-{kind}']}.arn}}"
    assert len(roles) == 2 * len(project.environments)
    assert len(resources(synthesized, "aws_iam_openid_connect_provider")) == 1
    # The roles reach exactly the state bucket, key and lock table this stack creates.
    (bucket_id,) = resources(synthesized, "aws_s3_bucket")
    (table_id,) = resources(synthesized, "aws_dynamodb_table")
    (key_id,) = resources(synthesized, "aws_kms_key")
    statements = [s for d in data_sources(synthesized, "aws_iam_policy_document").values() for s in d["statement"]]
    lock = [s for s in statements if s.get("sid") == "StateLockTable"]
    assert lock and all(s["resources"] == [f"${{aws_dynamodb_table.{table_id}.arn}}"] for s in lock)
    assert any(s.get("resources") == [f"${{aws_kms_key.{key_id}.arn}}"] for s in statements)
    state = [s for s in statements if s.get("sid") == "StateObject"]
    assert state and all(s["resources"][0].startswith(f"${{aws_s3_bucket.{bucket_id}.arn}}/") for s in state)


def test_without_github_repository_there_is_no_ci_access(project):
    backend = dataclasses.replace(project.backend, github_repository=None)
    synthesized = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend)))
    assert not [name for name in synthesized["output"] if name.startswith("ci_")]
    assert resources(synthesized, "aws_iam_role") == {}
    assert resources(synthesized, "aws_iam_openid_connect_provider") == {}
