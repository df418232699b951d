"""Generated secrets that never enter Terraform state or plan files.

A ``random_password`` result is stored in state in plain text, and so is every argument it feeds
(``secret_string``, ``password``). Terraform 1.10+ has *ephemeral* resources, whose values exist
only while one plan/apply runs, and provider aws 5.x has *write-only* arguments
(``secret_string_wo``, ``password_wo``) that accept them and are never persisted. Together they
keep a generated secret out of state entirely: Secrets Manager generates it
(``GetRandomPassword``), Terraform hands it straight to the write-only argument, and only the
argument's ``..._wo_version`` number is stored. A write-only argument is sent on create and
again only when its ``_wo_version`` changes, so a value generated this way is written once and
then left alone (what the salt key needs).

cdktf 0.21 has no classes for ephemeral resources, and a stack override (``"ephemeral": {...}``)
works in ``cdk.tf.json`` but ``cdktf synth --hcl`` silently drops unknown top-level blocks,
which would close the HCL exit route. So the ephemeral resource lives in a tiny plain-HCL child
module (``core/ephemeral_password/main.tf``, shipped next to the stack as an asset) whose
``value`` output is ephemeral; cdktf renders module calls in both formats.
"""

from __future__ import annotations

from pathlib import Path

from cdktf import AssetType, TerraformAsset, TerraformHclModule, TerraformStack
from constructs import Construct

MODULE_DIR = Path(__file__).resolve().parent / "ephemeral_password"
# The asset's construct id; its synthesized path (assets/<id>/<hash>) lets tools such as the
# offline test harness recognise calls of this module.
ASSET_ID = "ephemeral-password-module"


def _module_source(stack: TerraformStack) -> str:
    """One copy of the module per stack."""
    asset = stack.node.try_find_child(ASSET_ID)
    if asset is None:
        asset = TerraformAsset(stack, ASSET_ID, path=str(MODULE_DIR), type=AssetType.DIRECTORY)
    # A local module source must start with "./"; the asset path is relative to the stack.
    return f"./{asset.path}"


def ephemeral_random_password(
    scope: Construct, id_: str, *, length: int, exclude_punctuation: bool = False,
    allowed_punctuation: str | None = None,
) -> str:
    """A token for a Secrets Manager-generated password, usable in write-only arguments only
    (Terraform rejects an ephemeral value anywhere that is persisted).

    Every character class present in the result is required (``require_each_included_type``),
    so a password always satisfies RDS's and LiteLLM's expectations. ``allowed_punctuation``
    limits the punctuation to those characters (the module computes the exclusion list, since
    quotes and backslashes do not survive cdktf's HCL conversion)."""
    if allowed_punctuation is not None and ('"' in allowed_punctuation or "\\" in allowed_punctuation
                                            or "${" in allowed_punctuation or "%{" in allowed_punctuation):
        raise ValueError("allowed_punctuation must not hold quotes, backslashes or template sequences")
    variables: dict[str, object] = {"length": length, "exclude_punctuation": exclude_punctuation}
    if allowed_punctuation is not None:
        variables["allowed_punctuation"] = allowed_punctuation
    module = TerraformHclModule(
        scope, id_, source=_module_source(TerraformStack.of(scope)), variables=variables,
        # The asset above already ships the module; cdktf must not copy it again.
        skip_asset_creation_from_local_modules=True,
    )
    return module.get_string("value")
