"""The stricter rules of production-like environments (see :func:`core.config.schema.production_like`)."""

from __future__ import annotations

import re

from core.config.problems import _problem
from core.config.schema import EnvironmentConfig, production_like


_IMAGE_DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$")


def _check_production_like(values: dict, source: str, problems: list[str]) -> None:
    """Rules for environments whose data and availability matter (see :func:`production_like`)."""
    if not production_like(values.get("environment", ""), values.get("rds_deletion_protection", EnvironmentConfig.rds_deletion_protection)):
        return
    image = values.get("litellm_container_image", EnvironmentConfig.litellm_container_image)
    # A tag is resolved again at every deployment (and the rotation redeploy forces one weekly),
    # so upstream code would reach production with nobody looking.
    if not _IMAGE_DIGEST_RE.search(image):
        problems.append(_problem(source, "litellm_container_image", f"{image!r}: a production-like environment must pin the image by digest (<repository>@sha256:<64 hex digits>)"))
    if not values.get("alarm_destination_waived") and not (values.get("alarms_enabled") and values.get("alarm_email")):
        problems.append(_problem(source, "alarm_email", "a production-like environment needs alarms_enabled = true and an alarm_email (or alarm_destination_waived = true to accept alarms nobody receives)"))
