"""Small readers over synthesized cdk.tf.json, shared by the tests."""

from __future__ import annotations

import json
import re

_REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}")


def resources(stack: dict, tf_type: str) -> dict[str, dict]:
    """Logical id -> config of every resource of ``tf_type`` (empty when none)."""
    return stack.get("resource", {}).get(tf_type, {})


def data_sources(stack: dict, tf_type: str) -> dict[str, dict]:
    return stack.get("data", {}).get(tf_type, {})


def ref(value: str) -> tuple[str, str, str]:
    """``"${aws_vpc.network_vpc_1234.id}"`` -> ``("aws_vpc", "network_vpc_1234", "id")``."""
    match = _REF.fullmatch(value)
    assert match, f"not a single Terraform reference: {value!r}"
    return match.groups()


def ref_target(stack: dict, value: str) -> dict:
    """The config of the resource a reference points at."""
    tf_type, name, _ = ref(value)
    return stack["resource"][tf_type][name]


def by_tag_name(stack: dict, tf_type: str) -> dict[str, dict]:
    """Resources of ``tf_type`` keyed by their Name tag."""
    return {cfg["tags"]["Name"]: cfg for cfg in resources(stack, tf_type).values()}


_JSONENCODE_LOCAL = re.compile(r"\$\{jsonencode\(local\.([A-Za-z0-9_-]+)\)\}")


def json_argument(stack: dict, value: str):
    """The document behind a JSON-valued argument: ``${jsonencode(local.x)}`` (how our modules
    write them, see core/terraform_json.py) resolves to the local; a plain JSON string is parsed."""
    match = _JSONENCODE_LOCAL.fullmatch(value)
    if match:
        return stack["locals"][match.group(1)]
    return json.loads(value)
