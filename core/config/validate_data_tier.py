"""Rules of the data tier: LiteLLM's PostgreSQL, the ElastiCache cluster and the seed's backend
database."""

from __future__ import annotations

import re

from core.config.problems import _problem
from core.config.schema import EnvironmentConfig
from core.config.validate_common import _SG_ID_RE
from core.instance_classes import cache_node_type_problem, rds_instance_class_problem


_PG_MAJOR_RE = re.compile(r"^(1[3-9])$")
_DB_IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SECRET_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
_KMS_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
_SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
_MAINTENANCE_WINDOW_RE = re.compile(rf"^{_DAY}:{_HHMM}-{_DAY}:{_HHMM}$")
_SNAPSHOT_WINDOW_RE = re.compile(rf"^{_HHMM}-{_HHMM}$")
REDIS_ENGINE_VERSIONS = {"valkey": ("7.2", "8.0"), "redis": ("7.0", "7.1")}
# Reserved by PostgreSQL/RDS for the master user.
_RESERVED_DB_USERS = frozenset({"postgres", "rdsadmin", "admin", "root", "public", "user"})


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _window_minutes(window: str, *, weekly: bool) -> int:
    """Length of a well-formed window; windows may wrap past midnight (or the week's end)."""
    def minute_of(point: str) -> int:
        parts = point.split(":")
        day = _DAYS.index(parts[0]) * 1440 if weekly else 0
        return day + int(parts[-2]) * 60 + int(parts[-1])

    start, end = window.split("-")
    period = 7 * 1440 if weekly else 1440
    return (minute_of(end) - minute_of(start)) % period


def _check_data_tier(values: dict, source: str, problems: list[str]) -> None:
    def bad(key: str, message: str) -> None:
        problems.append(_problem(source, key, message))

    window = values.get("secret_recovery_window_days")
    if window is not None and window != 0 and not 7 <= window <= 30:
        bad("secret_recovery_window_days", f"{window} must be 0 (delete at once) or 7-30 days, as Secrets Manager allows")

    for prefix in ("rds", "backend_rds"):
        cls = values.get(f"{prefix}_instance_class")
        if cls is not None and (problem := rds_instance_class_problem(cls)):
            bad(f"{prefix}_instance_class", problem)
        version = values.get(f"{prefix}_engine_version")
        if version is not None and not _PG_MAJOR_RE.match(version):
            bad(f"{prefix}_engine_version", f"{version!r}: give a PostgreSQL major version (13-19); minor versions upgrade automatically, and pinning one causes drift")
        storage = values.get(f"{prefix}_allocated_storage")
        if storage is not None and not 20 <= storage <= 65536:
            bad(f"{prefix}_allocated_storage", f"{storage} GiB is outside 20-65536")
        retention = values.get(f"{prefix}_backup_retention_period")
        if retention is not None and not 1 <= retention <= 35:
            bad(f"{prefix}_backup_retention_period", f"{retention} must be between 1 and 35 days")
        for key in (f"{prefix}_master_username", f"{prefix}_database_name"):
            name = values.get(key)
            if name is not None and (not _DB_IDENTIFIER_RE.match(name) or name in _RESERVED_DB_USERS):
                bad(key, f"{name!r} must start with a letter, use lowercase letters, digits or '_' (max 63), and not be a reserved name")
    for key in ("additional_rds_allowed_security_group_ids", "additional_redis_allowed_security_group_ids",
                "additional_backend_rds_allowed_security_group_ids"):
        for group in values.get(key, ()):
            if not _SG_ID_RE.match(group):
                bad(key, f"{group!r} is not a security group id (sg-...)")

    max_storage = values.get("rds_max_allocated_storage")
    storage = values.get("rds_allocated_storage", EnvironmentConfig.rds_allocated_storage)
    if max_storage is not None and max_storage != 0 and max_storage < storage:
        bad("rds_max_allocated_storage", f"{max_storage} must be 0 (off) or at least rds_allocated_storage ({storage})")
    storage_type = values.get("rds_storage_type")
    if storage_type is not None and storage_type not in ("gp2", "gp3"):
        bad("rds_storage_type", f"{storage_type!r} is not one of gp2, gp3 (provisioned-IOPS io1/io2 is not offered: gp3 scales to 64,000 IOPS)")
    if values.get("rds_storage_encrypted") is False:
        bad("rds_storage_encrypted", "storage encryption cannot be turned off")
    kms = values.get("rds_kms_key_id")
    if kms is not None and not _KMS_ARN_RE.match(kms):
        bad("rds_kms_key_id", f"{kms!r} is not a KMS key ARN")

    engine = values.get("redis_engine", EnvironmentConfig.redis_engine)
    if engine not in REDIS_ENGINE_VERSIONS:
        bad("redis_engine", f"{engine!r} is not one of valkey, redis")
    else:
        version = values.get("redis_engine_version")
        if version is not None and version not in REDIS_ENGINE_VERSIONS[engine]:
            bad("redis_engine_version", f"{version!r} is not a supported {engine} version ({', '.join(REDIS_ENGINE_VERSIONS[engine])})")
    node_type = values.get("redis_node_type")
    if node_type is not None and (problem := cache_node_type_problem(node_type)):
        bad("redis_node_type", problem)
    nodes = values.get("redis_num_cache_clusters")
    if nodes is not None and not 1 <= nodes <= 6:
        bad("redis_num_cache_clusters", f"{nodes} must be between 1 and 6")
    snapshots = values.get("redis_snapshot_retention_limit")
    if snapshots is not None and not 0 <= snapshots <= 35:
        bad("redis_snapshot_retention_limit", f"{snapshots} must be between 0 and 35 days")
    window = values.get("redis_snapshot_window")
    if window is not None:
        if not _SNAPSHOT_WINDOW_RE.match(window):
            bad("redis_snapshot_window", f"{window!r} is not hh24:mi-hh24:mi (UTC)")
        elif _window_minutes(window, weekly=False) < 60:
            bad("redis_snapshot_window", f"{window!r} is shorter than the 60 minutes ElastiCache requires")
    window = values.get("redis_maintenance_window")
    if window is not None:
        if not _MAINTENANCE_WINDOW_RE.match(window):
            bad("redis_maintenance_window", f"{window!r} is not ddd:hh24:mi-ddd:hh24:mi (UTC, e.g. sun:18:30-sun:19:30)")
        elif _window_minutes(window, weekly=True) < 60:
            bad("redis_maintenance_window", f"{window!r} is shorter than the 60 minutes ElastiCache requires")
    arn = values.get("redis_auth_token_secret_arn")
    if arn is not None and not _SECRET_ARN_RE.match(arn):
        bad("redis_auth_token_secret_arn", f"{arn!r} is not a Secrets Manager secret ARN")
    secret_name = values.get("backend_rds_secret_name")
    if secret_name and not _SECRET_NAME_RE.match(secret_name):
        bad("backend_rds_secret_name", f"{secret_name!r} may only use letters, digits and /_+=.@-")
