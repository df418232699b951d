"""Generated secrets that never enter Terraform state or plan files.

A ``random_password`` result is stored in state in plain text, and so is every argument it feeds
(``secret_string``, ``password``). Terraform 1.10+ has *ephemeral* resources, whose values exist
only while one plan/apply runs, and provider aws 5.x has *write-only* arguments
(``secret_string_wo``, ``password_wo``) that accept them and are never persisted. Together they
keep a generated secret out of state entirely: Secrets Manager generates it
(``GetRandomPassword``), Terraform hands it straight to the write-only argument, and only the
argument's ``..._wo_version`` number is stored.

cdktf 0.21 has no classes for ephemeral resources, so the block is written with a stack override
(Terraform JSON accepts a top-level ``"ephemeral"`` object). Its value is handed out through a
local (a local fed by an ephemeral value is itself ephemeral), because cdktf escapes a literal
``${...}`` passed into ``Fn`` calls while a local's token composes like any other reference.
A write-only argument is sent on create and again only when its ``_wo_version`` changes, so a
value generated this way is written once and then left alone (what the salt key needs).
"""

from __future__ import annotations

import re
import string

from cdktf import TerraformLocal, TerraformStack
from constructs import Construct

RANDOM_PASSWORD_TYPE = "aws_secretsmanager_random_password"
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def exclude_punctuation_except(allowed: str) -> str:
    """``exclude_characters`` for GetRandomPassword so that only ``allowed`` punctuation remains."""
    return "".join(c for c in string.punctuation if c not in allowed)


def ephemeral_random_password(
    scope: Construct, id_: str, *, length: int, exclude_punctuation: bool = False,
    exclude_characters: str | None = None,
) -> str:
    """Declare ``ephemeral "aws_secretsmanager_random_password"`` and return a token for its
    value, usable in write-only arguments only (Terraform rejects it anywhere that is persisted).

    Every character class present in the result is required (``require_each_included_type``),
    so a password always satisfies RDS's and LiteLLM's expectations."""
    stack = TerraformStack.of(scope)
    # Unique per stack and stable: the construct path below the stack.
    path = [c.node.id for c in scope.node.scopes if c is not stack and c.node.scope is not None]
    name = _NAME_UNSAFE.sub("_", "_".join([*path, id_]))
    block: dict[str, object] = {
        "password_length": length,
        "exclude_punctuation": exclude_punctuation,
        "include_space": False,
        "require_each_included_type": True,
    }
    if exclude_characters:
        block["exclude_characters"] = exclude_characters
    stack.add_override(f"ephemeral.{RANDOM_PASSWORD_TYPE}.{name}", block)
    value = TerraformLocal(scope, f"{id_}-value", f"${{ephemeral.{RANDOM_PASSWORD_TYPE}.{name}.random_password}}")
    return value.as_string
