"""tools/hcl_export.py (`make hcl`): what it writes per stack. Terraform validates the real export
in tests/test_hcl_exit_route.py."""

from __future__ import annotations

import os

import pytest

from tools import hcl_export


def fake_synthesized(tmp_path, name, text):
    stack = tmp_path / "stacks" / name
    (stack / "assets" / "fn").mkdir(parents=True)
    (stack / "cdk.tf").write_text(text)
    (stack / "assets" / "fn" / "archive.zip").write_text("zip")
    (stack / "metadata.json").write_text("{}")
    return stack


def test_bootstrap_state_path_points_at_the_same_file_from_the_export_folder(tmp_path):
    synthesized = fake_synthesized(tmp_path, "bootstrap", 'backend "local" {\npath = "../../../bootstrap/terraform.tfstate"\n}\n')
    target = hcl_export.ROOT / "hcl" / "bootstrap"
    out = tmp_path / "out" / "bootstrap"
    hcl_export.write_stack(synthesized, out)
    text = (out / "main.tf").read_text()
    relative = text.split('path = "')[1].split('"')[0]
    assert (out / relative).resolve() == hcl_export.BOOTSTRAP_STATE
    # in the default folder it is the short path a team would write by hand
    assert os.path.relpath(hcl_export.BOOTSTRAP_STATE, target) == "../../bootstrap/terraform.tfstate"


def test_only_main_tf_and_assets_are_rewritten(tmp_path):
    synthesized = fake_synthesized(tmp_path, "dev", 'resource "aws_vpc" "vpc" {\n}\n')
    out = tmp_path / "hcl" / "dev"
    (out / "assets" / "stale").mkdir(parents=True)
    (out / "team.tf").write_text("# ours")
    hcl_export.write_stack(synthesized, out)
    assert sorted(p.name for p in out.iterdir()) == ["assets", "main.tf", "team.tf"]
    assert (out / "team.tf").read_text() == "# ours"
    assert sorted(p.name for p in (out / "assets").iterdir()) == ["fn"]


def test_a_changed_bootstrap_state_path_is_reported_not_silently_copied(tmp_path):
    synthesized = fake_synthesized(tmp_path, "bootstrap", 'backend "local" {\npath = "elsewhere.tfstate"\n}\n')
    with pytest.raises(hcl_export.ExportError, match="local state path changed"):
        hcl_export.write_stack(synthesized, tmp_path / "out" / "bootstrap")


def test_a_configuration_error_stops_the_export(tmp_path, monkeypatch):
    monkeypatch.setattr(hcl_export, "ROOT", tmp_path)  # no backend.toml here
    (tmp_path / "main.py").write_text((hcl_export.Path(__file__).parent.parent / "main.py").read_text())
    for package in ("core",):
        (tmp_path / package).symlink_to(hcl_export.Path(__file__).parent.parent / package, target_is_directory=True)
    with pytest.raises(hcl_export.ExportError, match="backend.toml: \\(file\\): missing"):
        hcl_export.export(tmp_path / "hcl", terraform=None)
    assert not (tmp_path / "hcl").exists()


# What cdktf writes for a WAF rule's loosely typed `statement` (trimmed from a real synth).
UNTYPED_STATEMENT = """rule {
name = "common"

# Warning: The following attribute is of an unexpected type. Either there's a problem with the provider
# or CDKTF has chosen to skip generating a detailed type for this because it increases the size of the provider library significantly.
#
# We understand this is not ideal, so we suggest using JSON synthesis instead of HCL synthesis for this particular case.

statement = {
managed_rule_group_statement = {
name = "AWSManagedRulesCommonRuleSet"
rule_action_override = [
{
name = "SizeRestrictions_BODY"
action_to_use = {
count = {
}
}
},
{
name = "CrossSiteScripting_BODY"
action_to_use = {
count = {
}
}
},
]
scope_down_labels = [
"awswaf:label-a",
"awswaf:label-b",
]
}
}

visibility_config {
metric_name = "common"
}
}"""


def test_untyped_statement_becomes_nested_blocks_with_repeated_list_blocks():
    text = hcl_export.untyped_attributes_as_blocks(UNTYPED_STATEMENT)
    assert "Warning" not in text and " = {" not in text
    assert "statement {\nmanaged_rule_group_statement {" in text
    # A list of objects: one block per element, in order.
    assert text.count("rule_action_override {") == 2
    assert text.index('"SizeRestrictions_BODY"') < text.index('"CrossSiteScripting_BODY"')
    assert text.count("count {\n}") == 2
    # A list of scalars stays an argument.
    assert 'scope_down_labels = [\n"awswaf:label-a",\n"awswaf:label-b",\n]' in text
    # Everything after the attribute is untouched and the braces balance.
    assert text.endswith('visibility_config {\nmetric_name = "common"\n}\n}')
    assert text.count("{") == text.count("}")


def test_text_without_the_warning_is_left_alone():
    plain = 'resource "aws_s3_bucket" "b" {\ntags = {\nName = "x"\n}\n}'
    assert hcl_export.untyped_attributes_as_blocks(plain) == plain


@pytest.mark.parametrize("broken", [
    UNTYPED_STATEMENT.replace("statement = {", "statement = 1"),
    UNTYPED_STATEMENT.replace("]\nscope_down_labels", "}\nscope_down_labels"),
])
def test_an_unexpected_shape_is_reported_not_written(broken):
    with pytest.raises(hcl_export.ExportError, match="hcl export"):
        hcl_export.untyped_attributes_as_blocks(broken)
