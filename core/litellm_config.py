"""The LiteLLM proxy's config file and the container variables it may use, checked at config load.

LiteLLM resolves ``os.environ/NAME`` in its config from the container's environment at start; a
name nobody sets becomes ``None`` and fails only at the first request (or silently turns a feature
off). So every name the YAML uses must be supplied by the environment file (``litellm_secrets``,
``litellm_environment``) or by the stack and service module themselves. Those two declare the
variables they set here, and refuse at synth to set one that is not declared (see
``check_declared``), so this list is the code's own and cannot drift from the task definition.

Pure Python (PyYAML only): it runs before cdktf is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml

# Shipped with the repository; uploaded by every environment that names no other file.
DEFAULT_CONFIG_FILE = "config/litellm.yaml"
# LiteLLM's own default when general_settings.database_connection_pool_limit is absent.
LITELLM_DEFAULT_POOL_LIMIT = 10

# Set by stacks/environment_stack.py (data tier wiring and the public URL).
STACK_ENVIRONMENT = frozenset({
    "DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME",
    "REDIS_HOST", "REDIS_PORT", "REDIS_SSL", "PROXY_BASE_URL",
})
STACK_SECRETS = frozenset({"DATABASE_USERNAME", "DATABASE_PASSWORD", "REDIS_PASSWORD"})
# Set by modules/ecs_litellm.py (its defaults, the uploaded config, the generated keys).
MODULE_ENVIRONMENT = frozenset({
    "PORT", "NUM_WORKERS", "KEEPALIVE_TIMEOUT", "GRACEFUL_SHUTDOWN_TIMEOUT",
    "LITELLM_MODE", "LITELLM_LOG", "LITELLM_LOCAL_MODEL_COST_MAP", "REDIS_SSL", "FORWARDED_ALLOW_IPS",
    "LITELLM_CONFIG_BUCKET_NAME", "LITELLM_CONFIG_BUCKET_OBJECT_KEY", "LITELLM_CONFIG_SHA256",
})
MODULE_SECRETS = frozenset({"LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"})
PLATFORM_VARIABLES = STACK_ENVIRONMENT | STACK_SECRETS | MODULE_ENVIRONMENT | MODULE_SECRETS


def check_declared(owner: str, names: Iterable[str], declared: frozenset[str]) -> None:
    """Fail the synth when ``owner`` sets a variable this module does not declare (a programming
    error: the config check would not know the name is supplied)."""
    undeclared = sorted(set(names) - declared)
    if undeclared:
        raise AssertionError(
            f"{owner} sets {', '.join(undeclared)}, which core/litellm_config.py does not declare"
        )


def uvicorn_workers(cpu: int, num_workers: int) -> int:
    """NUM_WORKERS as the service module sets it: ``num_workers``, or one per vCPU (at least 1)."""
    return num_workers or max(1, cpu // 1024)


ENV_REFERENCE = "os.environ/"
# Values that are credentials by their key's name; they must be os.environ/ references.
_CREDENTIAL_KEY = re.compile(
    r"(^|_)(api_key|master_key|salt_key|password|secret|secret_key|secret_access_key|access_key_id"
    r"|session_token|auth_token|client_secret|api_secret|credentials)$"
    r"|^(database_url|redis_url|direct_url)$",
    re.IGNORECASE,
)
# Provider key shapes (OpenAI sk-/sk-proj-, Anthropic sk-ant-, LiteLLM sk-, AWS access key ids,
# Google API keys). Anchored on word boundaries so model names and URLs do not match.
_PROVIDER_KEY_SHAPES = (
    ("an OpenAI/Anthropic/LiteLLM-style key (sk-...)", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}")),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("a Google API key (AIza...)", re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}")),
)


def provider_key_shape(value: str) -> str | None:
    """What kind of provider key ``value`` contains, or None."""
    for description, pattern in _PROVIDER_KEY_SHAPES:
        if pattern.search(value):
            return description
    return None


@dataclass(frozen=True)
class LiteLLMConfigCheck:
    problems: tuple[str, ...]
    """``<yaml path>: <message>`` (or ``(file): ...``), without the file names."""
    pool_limit: int
    """general_settings.database_connection_pool_limit (LiteLLM's default when absent)."""


def _walk(node: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(yaml path, last key, value) for every scalar."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(value, (Mapping, list)):
                yield from _walk(value, child)
            else:
                yield child, str(key), value
    elif isinstance(node, list):
        for index, value in enumerate(node):
            child = f"{path}[{index}]"
            if isinstance(value, (Mapping, list)):
                yield from _walk(value, child)
            else:
                yield child, path.rsplit(".", 1)[-1], value


def check_file(path: Path, supplied: Iterable[str]) -> LiteLLMConfigCheck:
    """Parse and check a LiteLLM config: it loads, every ``os.environ/NAME`` is in ``supplied``,
    no literal secret, a sane pool limit."""
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return LiteLLMConfigCheck((f"(file): cannot read: {error}",), LITELLM_DEFAULT_POOL_LIMIT)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        return LiteLLMConfigCheck((f"(file): invalid YAML: {detail}",), LITELLM_DEFAULT_POOL_LIMIT)
    if not isinstance(document, Mapping):
        # LiteLLM refuses to start on an empty file ("Unable to load config").
        return LiteLLMConfigCheck(
            ("(file): must be a YAML mapping (model_list, general_settings, ...); "
             "LiteLLM refuses to start on an empty or non-mapping config",),
            LITELLM_DEFAULT_POOL_LIMIT,
        )

    known = set(supplied)
    # LiteLLM exports its config's own environment_variables before it resolves references.
    own = document.get("environment_variables")
    if isinstance(own, Mapping):
        known |= {str(name) for name in own}
    for yaml_path, key, value in _walk(document, ""):
        if not isinstance(value, str):
            continue
        if value.startswith(ENV_REFERENCE):
            name = value[len(ENV_REFERENCE):]
            if name not in known:
                problems.append(
                    f"{yaml_path}: {value} is not set in the container: map {name} to its "
                    "Secrets Manager ARN in litellm_secrets (or, if not secret, set it in "
                    "litellm_environment)"
                )
            continue
        shape = provider_key_shape(value)
        if shape:
            problems.append(f"{yaml_path}: holds {shape}; store it in Secrets Manager, map it in "
                            "litellm_secrets and write os.environ/<NAME> here")
        elif value and _CREDENTIAL_KEY.search(key):
            problems.append(f"{yaml_path}: a literal credential; write os.environ/<NAME> and map "
                            "<NAME> to its Secrets Manager ARN in litellm_secrets")

    pool_limit = LITELLM_DEFAULT_POOL_LIMIT
    general = document.get("general_settings")
    if general is not None and not isinstance(general, Mapping):
        problems.append("general_settings: must be a mapping")
    elif general is not None and "database_connection_pool_limit" in general:
        raw = general["database_connection_pool_limit"]
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            problems.append(f"general_settings.database_connection_pool_limit: {raw!r} must be a "
                            "whole number of connections per worker (at least 1)")
        else:
            pool_limit = raw
    return LiteLLMConfigCheck(tuple(problems), pool_limit)
