"""Configuration: the one place where user files are read and validated.

Two kinds of file, both TOML:

* ``backend.toml`` at the repository root: the Terraform state backend, written once and shared
  by the ``bootstrap`` stack and every environment stack.
* ``environments/<name>.toml``: one per environment; each file becomes a stack named ``<name>``.

Keys use the seed's Terraform variable names. Every problem found in every file is collected and
reported at once as a :class:`ConfigError`, before any construct is built, so a mistake never
produces a half-written ``cdktf.out``. Constructs never read files; they receive the frozen
objects built here.

Where things are:

* ``schema.py``: the keys of both files (dataclasses whose fields carry ``_doc`` metadata).
* ``parsing.py``: typed parsing of a TOML table against a schema dataclass.
* ``validate_*.py``: the rules, one module per concern (``validate_environment.py`` is the entry
  point of an environment file and calls the network, service and data-tier modules).
* ``loader.py``: ``load_project`` and the checks across files.
* ``reference.py``: the README's configuration reference.

This package re-exports the names the rest of the code uses, so callers import from
``core.config`` only.
"""

from __future__ import annotations

from core.config.problems import ConfigError
from core.config.schema import (
    BACKEND_FILE,
    ENVIRONMENTS_DIR,
    RESERVED_STACK_NAMES,
    SECRET_KEYS,
    BackendConfig,
    EnvironmentConfig,
    ProjectConfig,
    production_like,
    standard_tags,
)
from core.config.validate_common import LOG_RETENTION_DAYS
from core.config.validate_backend import STATE_LOCKING_MODES, validate_backend
from core.config.validate_network import NAT_GATEWAY_MODES, default_subnet_cidrs
from core.config.validate_service import FARGATE_MEMORY_BY_CPU, MANAGED_ENVIRONMENT, MAX_ADMIN_CIDRS
from core.config.validate_data_tier import REDIS_ENGINE_VERSIONS
from core.config.validate_environment import MAX_RESOURCE_PREFIX, validate_environment
from core.config.loader import load_backend, load_environment, load_project
from core.config.reference import field_reference, reference_markdown

__all__ = [
    "BACKEND_FILE",
    "ENVIRONMENTS_DIR",
    "FARGATE_MEMORY_BY_CPU",
    "LOG_RETENTION_DAYS",
    "MANAGED_ENVIRONMENT",
    "MAX_ADMIN_CIDRS",
    "MAX_RESOURCE_PREFIX",
    "NAT_GATEWAY_MODES",
    "REDIS_ENGINE_VERSIONS",
    "RESERVED_STACK_NAMES",
    "SECRET_KEYS",
    "STATE_LOCKING_MODES",
    "BackendConfig",
    "ConfigError",
    "EnvironmentConfig",
    "ProjectConfig",
    "default_subnet_cidrs",
    "field_reference",
    "load_backend",
    "load_environment",
    "load_project",
    "production_like",
    "reference_markdown",
    "standard_tags",
    "validate_backend",
    "validate_environment",
]
