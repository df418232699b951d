"""Rules of the operations features: manual boost, idle shutdown, database bastion."""

from __future__ import annotations

from core.config.problems import _problem
from core.config.schema import EnvironmentConfig
from core.instance_classes import graviton_instance_type_problem


def _check_operations(values: dict, source: str, problems: list[str]) -> None:
    def bad(key: str, message: str) -> None:
        problems.append(_problem(source, key, message))

    default_hours = values.get("litellm_manual_override_default_hours", EnvironmentConfig.litellm_manual_override_default_hours)
    max_hours = values.get("litellm_manual_override_max_hours", EnvironmentConfig.litellm_manual_override_max_hours)
    if not 0 < max_hours <= 168:
        bad("litellm_manual_override_max_hours", f"{max_hours} must be more than 0 and at most 168 (a week)")
    elif not 0 < default_hours <= max_hours:
        bad("litellm_manual_override_default_hours", f"{default_hours} must be more than 0 and at most litellm_manual_override_max_hours ({max_hours})")
    count = values.get("litellm_manual_override_desired_count")
    if count is not None and not 1 <= count <= 100:
        bad("litellm_manual_override_desired_count", f"{count} must be between 1 and 100")
    idle = values.get("litellm_idle_shutdown_minutes")
    if idle is not None:
        if not 0 <= idle <= 10080:
            bad("litellm_idle_shutdown_minutes", f"{idle} must be between 0 (off) and 10080")
        elif idle and not values.get("litellm_manual_control_enabled"):
            bad("litellm_idle_shutdown_minutes", "idle shutdown needs litellm_manual_control_enabled = true (its function does the scaling)")
    interval = values.get("litellm_idle_check_interval_minutes")
    if interval is not None and not 1 <= interval <= 60:
        bad("litellm_idle_check_interval_minutes", f"{interval} must be between 1 and 60")
    instance_type = values.get("backend_db_bastion_instance_type")
    if instance_type is not None and (problem := graviton_instance_type_problem(instance_type)):
        bad("backend_db_bastion_instance_type", problem)
