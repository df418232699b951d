"""Reading the files: parse, validate, apply seed-compatible defaults, build the frozen objects."""

from __future__ import annotations

import re
from pathlib import Path

from core.config.parsing import _parse_table, _read_toml
from core.config.problems import ConfigError, _problem
from core.config.schema import (
    BACKEND_FILE,
    ENVIRONMENTS_DIR,
    RESERVED_STACK_NAMES,
    BackendConfig,
    EnvironmentConfig,
    ProjectConfig,
    production_like,
)
from core.config.validate_backend import validate_backend
from core.config.validate_ci import _check_ci_role_names
from core.config.validate_data_tier import REDIS_ENGINE_VERSIONS
from core.config.validate_environment import validate_environment
from core.config.validate_network import default_subnet_cidrs
from core.config.validate_service import _check_litellm_config


_STACK_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


# --------------------------------------------------------------------------------------------
# Loading.
# --------------------------------------------------------------------------------------------


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def load_backend(root: Path, problems: list[str]) -> BackendConfig | None:
    path = root / BACKEND_FILE
    source = _relative(path, root)
    if not path.exists():
        problems.append(_problem(source, "(file)", "missing; it names the Terraform state bucket (see README)"))
        return None
    data = _read_toml(path, source, problems)
    if data is None:
        return None
    before = len(problems)
    values = _parse_table(BackendConfig, data, source, problems)
    validate_backend(values, source, problems)
    if len(problems) > before:
        return None
    return BackendConfig(**values)


def load_environment(path: Path, root: Path, problems: list[str]) -> EnvironmentConfig | None:
    source = _relative(path, root)
    stack_name = path.stem
    before = len(problems)
    if not _STACK_NAME_RE.match(stack_name):
        problems.append(_problem(source, "(file name)", f"{stack_name!r} is not a valid stack name (lowercase letters, digits, '-'; starts with a letter)"))
    elif stack_name in RESERVED_STACK_NAMES:
        problems.append(_problem(source, "(file name)", f"{stack_name!r} is reserved for the state backend stack"))
    data = _read_toml(path, source, problems)
    if data is None:
        return None
    values = _parse_table(EnvironmentConfig, data, source, problems)
    values.setdefault("environment", stack_name)
    validate_environment(values, source, problems)
    _check_litellm_config(values, root, source, problems)
    if len(problems) > before:
        return None
    seed_url = values.get("litellm_environment", {}).get("PROXY_BASE_URL")
    if seed_url is not None:
        # The seed's spelling: honoured as the public URL (the stack then sets the same value).
        values.setdefault("litellm_public_url", seed_url)
    if values.get("enable_nat_gateway") is not None and "nat_gateway_mode" not in values:
        values["nat_gateway_mode"] = "single" if values["enable_nat_gateway"] else "none"
    zones = values["availability_zones"]
    public, private = default_subnet_cidrs(values.get("vpc_cidr", EnvironmentConfig.vpc_cidr), len(zones))
    values.setdefault("public_subnet_cidrs", public)
    values.setdefault("private_subnet_cidrs", private)
    if not values["public_subnet_cidrs"]:
        values["public_subnet_cidrs"] = public
    if not values["private_subnet_cidrs"]:
        values["private_subnet_cidrs"] = private
    if "redis_engine" in values and "redis_engine_version" not in values:
        values["redis_engine_version"] = REDIS_ENGINE_VERSIONS[values["redis_engine"]][-1]
    if values.get("secret_recovery_window_days") is None:
        # A destroyed secret keeps its name for the whole window, so a non-production environment
        # torn down and redeployed (dev) would fail for a week; production keeps the safety net.
        values["secret_recovery_window_days"] = 7 if production_like(
            values["environment"], values.get("rds_deletion_protection", EnvironmentConfig.rds_deletion_protection)) else 0
    prefix = f"{values.get('name_prefix', EnvironmentConfig.name_prefix)}-{values['environment']}"
    if not values.get("backend_rds_secret_name"):
        values["backend_rds_secret_name"] = f"{prefix}/backend-rds"
    return EnvironmentConfig(**values, stack_name=stack_name, source=source)


def load_project(root: Path | str = ".") -> ProjectConfig:
    """Read ``backend.toml`` and every ``environments/*.toml``; raise ConfigError listing every
    problem in every file."""
    root = Path(root).resolve()
    problems: list[str] = []
    backend = load_backend(root, problems)
    env_dir = root / ENVIRONMENTS_DIR
    paths = sorted(env_dir.glob("*.toml")) if env_dir.is_dir() else []
    if not paths:
        problems.append(_problem(ENVIRONMENTS_DIR, "(directory)", "has no <name>.toml environment file"))
    environments = [env for env in (load_environment(p, root, problems) for p in paths) if env]
    _check_across_environments(environments, problems)
    if backend is not None:
        _check_ci_role_names(backend, environments, problems)
    if problems or backend is None:
        raise ConfigError(problems)
    return ProjectConfig(backend=backend, environments=tuple(environments))


def _check_across_environments(environments: list[EnvironmentConfig], problems: list[str]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for env in environments:
        identity = (env.name_prefix, env.environment)
        if identity in seen:
            problems.append(_problem(env.source, "environment", f"{env.environment!r} with name_prefix {env.name_prefix!r} is already used by {seen[identity]}; resource names and state keys would collide"))
        else:
            seen[identity] = env.source
