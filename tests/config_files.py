"""Write throw-away projects (backend.toml + environments/*.toml) for configuration tests.

Every test starts from one canonical valid environment and overrides keys, so each bad-input
case differs from a valid file in exactly one way."""

from __future__ import annotations

import json
from pathlib import Path

CANONICAL_BACKEND = {
    "aws_region": "eu-west-1",
    "state_bucket_name": "example-tf-state-eu-west-1",
    "lock_table_name": "example-tf-lock",
}

CANONICAL_ENVIRONMENT = {
    "aws_region": "eu-west-1",
    "availability_zones": ["eu-west-1a", "eu-west-1b"],
    "vpc_cidr": "10.40.0.0/16",
    # No certificate in throw-away projects: plain HTTP must be accepted explicitly.
    "alb_allow_http_only": True,
    # Default deletion protection makes the canonical environment production-like: a pinned
    # (obviously fake) digest and no alarm recipient, accepted knowingly.
    "litellm_container_image": "ghcr.io/berriai/litellm@sha256:" + "ab" * 32,
    "alarm_destination_waived": True,
}

DELETE = object()


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_text(data: dict) -> str:
    return "".join(f"{key} = {toml_value(value)}\n" for key, value in data.items())


def merged(base: dict, overrides: dict) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        if value is DELETE:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def write_project(root: Path, environments: dict[str, dict | str] | None = None,
                  backend: dict | str | None = None) -> Path:
    """``environments`` maps stack name -> overrides of the canonical file (or raw text)."""
    root.mkdir(parents=True, exist_ok=True)
    backend_body = backend if isinstance(backend, str) else toml_text(merged(CANONICAL_BACKEND, backend or {}))
    (root / "backend.toml").write_text(backend_body)
    env_dir = root / "environments"
    env_dir.mkdir(exist_ok=True)
    for name, spec in (environments if environments is not None else {"dev": {}}).items():
        body = spec if isinstance(spec, str) else toml_text(merged(CANONICAL_ENVIRONMENT, spec))
        (env_dir / f"{name}.toml").write_text(body)
    return root
