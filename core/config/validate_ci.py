"""Rules across ``backend.toml`` and the environments for the GitHub CI roles bootstrap creates."""

from __future__ import annotations

from core.config.problems import _problem
from core.config.schema import BACKEND_FILE, BackendConfig, EnvironmentConfig


def _check_ci_role_names(backend: BackendConfig, environments: list[EnvironmentConfig], problems: list[str]) -> None:
    """With GitHub CI, each environment gets <ci_role_name_prefix>-<env>-plan/-deploy roles: they
    must fit IAM's 64 characters and stay apart from the environments' own names (a deploy role
    may write <name_prefix>-<env>-*, and the CI roles are protected by their prefix)."""
    if backend.github_repository is None:
        return
    ci = f"{backend.ci_role_name_prefix}-"
    for env in environments:
        name = f"{ci}{env.stack_name}-deploy"
        if len(name) > 64:
            problems.append(_problem(env.source, "(file name)", f"the CI role {name} would exceed IAM's 64 characters; shorten ci_role_name_prefix in {BACKEND_FILE} or the file name"))
        own = f"{env.resource_prefix}-"
        if ci.startswith(own) or own.startswith(ci):
            problems.append(_problem(BACKEND_FILE, "ci_role_name_prefix", f"{backend.ci_role_name_prefix!r} overlaps the names of {env.source} ({env.resource_prefix}-*); choose a prefix that is not a name_prefix-environment"))
