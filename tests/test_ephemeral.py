"""core/ephemeral.py: generated passwords through the plain-HCL ephemeral module."""

from __future__ import annotations

import json

import pytest
from cdktf import Testing, TerraformStack
from constructs import Construct

from cdktf_cdktf_provider_aws.provider import AwsProvider

from core.ephemeral import MODULE_DIR, ephemeral_random_password


def test_each_password_is_a_module_call_sharing_one_shipped_copy_of_the_module():
    app = Testing.app()
    stack = TerraformStack(app, "ephemeral")
    AwsProvider(stack, "aws", region="eu-west-1")
    first = ephemeral_random_password(Construct(stack, "a"), "pw", length=40, exclude_punctuation=True)
    second = ephemeral_random_password(Construct(stack, "b"), "pw", length=32, allowed_punctuation=":?#")
    synthesized = json.loads(Testing.synth(stack))
    modules = synthesized["module"]
    assert len(modules) == 2
    sources = {m["source"] for m in modules.values()}
    assert len(sources) == 1 and next(iter(sources)).startswith("./assets/ephemeral-password-module/")
    by_length = {m["length"]: m for m in modules.values()}
    assert by_length[40]["exclude_punctuation"] is True and "allowed_punctuation" not in by_length[40]
    assert by_length[32]["allowed_punctuation"] == ":?#"
    assert first != second
    # Nothing generated is persisted anywhere in the stack itself.
    assert "resource" not in synthesized or not any(t.startswith("random_") for t in synthesized["resource"])


def test_module_keeps_its_value_ephemeral_and_requires_every_character_class():
    text = (MODULE_DIR / "main.tf").read_text()
    assert 'ephemeral "aws_secretsmanager_random_password" "this"' in text
    assert "ephemeral = true" in text and "require_each_included_type = true" in text
    assert 'required_version = ">= 1.10"' in text


@pytest.mark.parametrize("bad", ['a"b', "a\\b", "${", "%{"])
def test_punctuation_that_cdktfs_hcl_conversion_would_mangle_is_refused(bad):
    app = Testing.app()
    stack = TerraformStack(app, "ephemeral-bad")
    with pytest.raises(ValueError, match="allowed_punctuation"):
        ephemeral_random_password(stack, "pw", length=20, allowed_punctuation=bad)
