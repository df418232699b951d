"""JSON-valued resource arguments (container definitions, event patterns) as Terraform locals.

A ``json.dumps`` string with ``${...}`` references inside is valid Terraform JSON, but it is an
escaped blob to review, and cdktf's JSON-to-HCL conversion (``cdktf synth --hcl``, our exit route)
mangles it. Keeping the structure as a native local and passing ``jsonencode(local.<name>)``
reads as plain JSON in ``cdk.tf.json`` and converts to valid HCL.
"""

from __future__ import annotations

from typing import Any

from cdktf import Fn, TerraformLocal
from constructs import Construct


def json_argument(scope: Construct, id_: str, value: Any) -> str:
    """``jsonencode(local.<id>)`` for ``value`` (dicts/lists whose strings may be references)."""
    local = TerraformLocal(scope, id_, value)
    return Fn.jsonencode(local.expression)
