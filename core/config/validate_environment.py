"""Entry point of an environment file's rules: names, AZs, NAT, flow logs and tags here; the
network layout, the service and the data tier in their own modules."""

from __future__ import annotations

import re

from core.config.problems import _problem
from core.config.schema import EnvironmentConfig
from core.config.validate_common import LOG_RETENTION_DAYS, _check_region, _check_tags
from core.config.validate_data_tier import _check_data_tier
from core.config.validate_network import NAT_GATEWAY_MODES, _check_network_layout
from core.config.validate_service import _check_service


_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")


# ALB names (<prefix>-alb) are limited to 32 characters.
MAX_RESOURCE_PREFIX = 27


def validate_environment(values: dict, source: str, problems: list[str]) -> None:
    region = values.get("aws_region")
    if region is not None:
        _check_region(region, source, problems)
    for key, limit in (("environment", 20), ("name_prefix", 24)):
        name = values.get(key)
        if name is not None and (not _NAME_RE.match(name) or len(name) > limit or "--" in name):
            problems.append(_problem(source, key, f"{name!r} must be 2-{limit} lowercase letters, digits or single hyphens, starting with a letter"))

    prefix = f"{values.get('name_prefix', EnvironmentConfig.name_prefix)}-{values.get('environment', '')}"
    if len(prefix) > MAX_RESOURCE_PREFIX:
        problems.append(_problem(source, "name_prefix", f"'{prefix}' (name_prefix-environment) is {len(prefix)} characters; load balancer names allow at most {MAX_RESOURCE_PREFIX}"))

    zones = values.get("availability_zones")
    if zones is not None:
        if len(zones) < 2:
            problems.append(_problem(source, "availability_zones", f"needs at least two availability zones, got {len(zones)}"))
        if len(set(zones)) != len(zones):
            problems.append(_problem(source, "availability_zones", "lists an availability zone twice"))
        if len(zones) > 8:
            problems.append(_problem(source, "availability_zones", "at most 8 availability zones are supported"))
        if region is not None:
            for zone in zones:
                if not re.fullmatch(re.escape(region) + r"[a-z]", zone):
                    problems.append(_problem(source, "availability_zones", f"{zone!r} is not an availability zone of {region}"))

    mode = values.get("nat_gateway_mode")
    if mode is not None and mode not in NAT_GATEWAY_MODES:
        problems.append(_problem(source, "nat_gateway_mode", f"{mode!r} is not one of {', '.join(NAT_GATEWAY_MODES)}"))
    enable_nat = values.get("enable_nat_gateway")
    if enable_nat is not None and mode is not None and (mode != "none") != enable_nat:
        problems.append(_problem(source, "enable_nat_gateway", f"contradicts nat_gateway_mode = {mode!r}; set only one of them"))

    _check_network_layout(values, source, problems)

    retention = values.get("vpc_flow_logs_retention_days")
    if retention is not None and retention not in LOG_RETENTION_DAYS:
        problems.append(_problem(source, "vpc_flow_logs_retention_days", f"{retention} is not a CloudWatch Logs retention period ({', '.join(map(str, LOG_RETENTION_DAYS))})"))

    _check_tags(values.get("tags", {}), source, problems, EnvironmentConfig)
    _check_service(values, source, problems)
    _check_data_tier(values, source, problems)
