"""modules/encryption_key.py on a Testing.app() stack."""

from __future__ import annotations

import json
import re

import pytest
from cdktf import Testing, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.encryption_key import EncryptionKey, EncryptionKeyProps
from tests.helpers import data_sources, ref_target, resources


@pytest.fixture(scope="module")
def synthesized() -> dict:
    app = Testing.app()
    stack = TerraformStack(app, "encryption-key")
    AwsProvider(stack, "aws", region="eu-west-1")
    key = EncryptionKey(stack, "key", props=EncryptionKeyProps(name="unit-prod", region="eu-west-1"))
    TerraformOutput(stack, "arn", value=key.arn)
    return json.loads(Testing.synth(stack))


def test_key_rotates_and_is_named_after_the_environment(synthesized):
    (key,) = resources(synthesized, "aws_kms_key").values()
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30
    (alias,) = resources(synthesized, "aws_kms_alias").values()
    assert alias["name"] == "alias/unit-prod" and ref_target(synthesized, alias["target_key_id"]) is key


def test_policy_lets_cloudwatch_logs_use_it_only_for_this_accounts_log_groups(synthesized):
    (policy,) = resources(synthesized, "aws_kms_key_policy").values()
    name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", policy["policy"]).group(1)
    statements = {s["sid"]: s for s in data_sources(synthesized, "aws_iam_policy_document")[name]["statement"]}
    assert set(statements) == {"AccountAdministersKey", "CloudWatchLogsOfThisAccount",
                               "CloudWatchAlarmsPublishToEncryptedTopic"}
    alarms = statements["CloudWatchAlarmsPublishToEncryptedTopic"]
    assert alarms["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    assert [c["variable"] for c in alarms["condition"]] == ["aws:SourceAccount"]
    root = statements["AccountAdministersKey"]
    assert root["principals"][0]["identifiers"][0].endswith(":root}") or root["principals"][0]["identifiers"][0].endswith(":root")
    logs = statements["CloudWatchLogsOfThisAccount"]
    assert logs["principals"] == [{"type": "Service", "identifiers": ["logs.eu-west-1.amazonaws.com"]}]
    (condition,) = logs["condition"]
    assert condition["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert condition["values"][0].endswith(":log-group:*")


def test_arn_waits_for_the_key_policy(synthesized):
    # Logs checks the key policy when a log group is associated: consumers must depend on it.
    arn = synthesized["output"]["arn"]["value"]
    assert re.search(r"key/\$\{aws_kms_key_policy\.[\w-]+\.key_id\}$", arn), arn
