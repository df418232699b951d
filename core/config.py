"""Configuration: the one place where user files are read and validated.

Two kinds of file, both TOML:

* ``backend.toml`` at the repository root: the Terraform state backend, written once and shared
  by the ``bootstrap`` stack and every environment stack.
* ``environments/<name>.toml``: one per environment; each file becomes a stack named ``<name>``.

Keys use the seed's Terraform variable names. Every problem found in every file is collected and
reported at once as a :class:`ConfigError`, before any construct is built, so a mistake never
produces a half-written ``cdktf.out``. Constructs never read files; they receive the frozen
objects built here.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import ipaddress
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

BACKEND_FILE = "backend.toml"
ENVIRONMENTS_DIR = "environments"
RESERVED_STACK_NAMES = frozenset({"bootstrap"})

NAT_GATEWAY_MODES = ("none", "single", "per_az")
# ALB names (<prefix>-alb) are limited to 32 characters.
MAX_RESOURCE_PREFIX = 27
STATE_LOCKING_MODES = ("dynamodb", "lockfile")

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)


def _fargate_memory_by_cpu() -> dict[int, tuple[int, ...]]:
    # Fargate task sizes (Linux), from the ECS developer guide's "Task CPU and memory" table.
    return {
        256: (512, 1024, 2048),
        512: tuple(range(1024, 4096 + 1, 1024)),
        1024: tuple(range(2048, 8192 + 1, 1024)),
        2048: tuple(range(4096, 16384 + 1, 1024)),
        4096: tuple(range(8192, 30720 + 1, 1024)),
        8192: tuple(range(16384, 61440 + 1, 4096)),
        16384: tuple(range(32768, 122880 + 1, 8192)),
    }


FARGATE_MEMORY_BY_CPU = _fargate_memory_by_cpu()

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_STACK_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_ACM_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$"
)


class ConfigError(Exception):
    """Every problem found in the configuration, one line each, naming file and key."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _problem(source: str, key: str, message: str) -> str:
    return f"{source}: {key}: {message}"


# --------------------------------------------------------------------------------------------
# Schemas. A field's annotation is its type in the file; ``metadata["doc"]`` is its one-line
# description (rendered in the README's reference table); fields without a default are required.
# --------------------------------------------------------------------------------------------


def standard_tags(extra: Mapping[str, str], *, environment: str) -> dict[str, str]:
    """Tags on every resource (AWS provider default_tags); user tags cannot override them."""
    return {**extra, "Project": "litellm", "Environment": environment, "ManagedBy": "cdktf"}


def _doc(text: str, **extra: Any) -> dict[str, Any]:
    return {"doc": text, **extra}


@dataclass(frozen=True)
class BackendConfig:
    """``backend.toml``: where every stack keeps its Terraform state."""

    aws_region: str = field(metadata=_doc("Region of the state bucket and lock table."))
    state_bucket_name: str = field(
        metadata=_doc("Globally unique S3 bucket for Terraform state (seed name).")
    )
    lock_table_name: str = field(
        default="litellm-terraform-locks",
        metadata=_doc("DynamoDB lock table (seed name); used when state_locking = \"dynamodb\"."),
    )
    state_locking: str = field(
        default="dynamodb",
        metadata=_doc("\"dynamodb\" (lock table) or \"lockfile\" (S3 native lock, Terraform >= 1.10)."),
    )
    state_key_prefix: str = field(
        default="litellm",
        metadata=_doc("Prefix of every environment's state object key: <prefix>/<env>/terraform.tfstate."),
    )
    noncurrent_version_expiration_days: int = field(
        default=90,
        metadata=_doc("Days an overwritten state version is kept before S3 expires it."),
    )
    tags: Mapping[str, str] = field(
        default_factory=dict, metadata=_doc("Extra tags on the backend resources.")
    )
    # Team workflow (bootstrap creates GitHub OIDC roles when github_repository is set).
    github_repository: str | None = field(
        default=None, metadata=_doc("owner/name of the GitHub repository allowed to plan and deploy (opt-in).")
    )
    github_deploy_branch: str = field(
        default="main", metadata=_doc("Branch whose workflow runs may assume the deploy role.")
    )
    github_deploy_environments: tuple[str, ...] = field(
        default=("dev", "production"),
        metadata=_doc("GitHub environments whose jobs may assume the deploy role (prod: required reviewers)."),
    )
    github_oidc_provider_arn: str | None = field(
        default=None, metadata=_doc("Existing GitHub OIDC provider in the account (one per account); default: create it."),
    )
    ci_role_name_prefix: str = field(
        default="litellm-ci", metadata=_doc("Prefix of the plan/deploy roles and the permissions boundary."),
    )

    @property
    def uses_lock_table(self) -> bool:
        return self.state_locking == "dynamodb"

    def state_key(self, stack_name: str) -> str:
        return f"{self.state_key_prefix}/{stack_name}/terraform.tfstate"

    @property
    def default_tags(self) -> dict[str, str]:
        return standard_tags(self.tags, environment="shared")


@dataclass(frozen=True)
class EnvironmentConfig:
    """``environments/<name>.toml``: one deployable environment."""

    aws_region: str = field(metadata=_doc("AWS region of the environment."))
    availability_zones: tuple[str, ...] = field(
        metadata=_doc("At least two AZs of aws_region; one public and one private subnet each.")
    )
    environment: str = field(
        default="", metadata=_doc("Environment name used in resource names and tags (default: file name).")
    )
    name_prefix: str = field(
        default="litellm", metadata=_doc("Prefix of every resource name: <name_prefix>-<environment>-...")
    )
    tags: Mapping[str, str] = field(
        default_factory=dict, metadata=_doc("Extra tags on every resource (provider default tags).")
    )
    vpc_cidr: str = field(default="10.20.0.0/16", metadata=_doc("IPv4 CIDR of the VPC (/16 to /24)."))
    public_subnet_cidrs: tuple[str, ...] = field(
        default=(),
        metadata=_doc("One CIDR per AZ for public subnets (default: carved from vpc_cidr)."),
    )
    private_subnet_cidrs: tuple[str, ...] = field(
        default=(),
        metadata=_doc("One CIDR per AZ for private subnets (default: carved from vpc_cidr)."),
    )
    nat_gateway_mode: str = field(
        default="single",
        metadata=_doc("Private-subnet egress: \"none\", \"single\" (one NAT, cheap) or \"per_az\" (HA)."),
    )
    enable_nat_gateway: bool | None = field(
        default=None,
        metadata=_doc("Seed name: true means nat_gateway_mode = \"single\", false means \"none\"."),
    )
    vpc_flow_logs_enabled: bool = field(
        default=False, metadata=_doc("Send VPC flow logs (all traffic) to CloudWatch Logs.")
    )
    vpc_flow_logs_retention_days: int = field(
        default=30, metadata=_doc("Retention of the flow log group (a CloudWatch-supported value).")
    )
    # The LiteLLM service (consumed by modules/ecs_litellm, issue 8); validated from day one
    # so a typo in a seed key is caught before anything is deployed.
    litellm_container_image: str = field(
        default="ghcr.io/berriai/litellm:main-stable",
        metadata=_doc("LiteLLM image (pin by digest in production: repo@sha256:...)."),
    )
    litellm_task_cpu: int = field(default=1024, metadata=_doc("Fargate task CPU units."))
    litellm_task_memory: int = field(
        default=2048, metadata=_doc("Fargate task memory (MiB); must be valid for the CPU.")
    )
    litellm_desired_count: int = field(
        default=1, metadata=_doc("Tasks at creation; afterwards left to the operator and autoscaling.")
    )
    litellm_container_command: tuple[str, ...] = field(
        default=(), metadata=_doc("Container command override (default: the image's own).")
    )
    litellm_container_port: int = field(default=4000, metadata=_doc("Port LiteLLM listens on."))
    litellm_environment: Mapping[str, str] = field(
        default_factory=dict, metadata=_doc("Extra NON-secret environment variables for LiteLLM.")
    )
    litellm_secrets: Mapping[str, str] = field(
        default_factory=dict,
        metadata=_doc("Environment variable -> Secrets Manager/SSM ARN (optionally ...:json-key::), injected as ECS secrets."),
    )
    litellm_health_check_path: str = field(
        default="/health/readiness", metadata=_doc("ALB health check path (never /health, which calls the LLMs).")
    )
    litellm_log_retention_days: int = field(default=14, metadata=_doc("Retention of the service's log group."))
    litellm_enable_execute_command: bool = field(default=False, metadata=_doc("Allow ECS Exec into tasks."))
    litellm_num_workers: int = field(default=0, metadata=_doc("Uvicorn workers (0 = one per vCPU)."))
    litellm_config_file: str | None = field(
        default=None,
        metadata=_doc("Path (from the repo root) of a LiteLLM config.yaml to upload to S3 and load at start; default: the one baked into the image."),
    )
    litellm_autoscaling_enabled: bool = field(default=False, metadata=_doc("Target-tracking autoscaling on CPU and requests per target."))
    litellm_autoscaling_min_capacity: int = field(default=1, metadata=_doc("Autoscaling floor."))
    litellm_autoscaling_max_capacity: int = field(default=4, metadata=_doc("Autoscaling ceiling."))
    litellm_autoscaling_cpu_target: int = field(default=60, metadata=_doc("Target average CPU (%)."))
    litellm_autoscaling_requests_per_target: int = field(
        default=200, metadata=_doc("Target ALB requests per task per minute.")
    )
    additional_service_security_group_ids: tuple[str, ...] = field(
        default=(), metadata=_doc("Extra security groups attached to the LiteLLM tasks.")
    )
    ecr_repository_enabled: bool = field(default=True, metadata=_doc("Create an ECR repository for your LiteLLM image."))
    alb_internal: bool = field(default=False, metadata=_doc("Internal ALB (private subnets) instead of internet-facing."))
    alb_ingress_cidrs: tuple[str, ...] = field(
        default=("0.0.0.0/0",), metadata=_doc("CIDRs allowed to reach the ALB on 80/443.")
    )
    alb_idle_timeout: int = field(
        default=600, metadata=_doc("ALB idle timeout (s); long enough for streamed LLM responses.")
    )
    alb_https_ssl_policy: str = field(
        default="ELBSecurityPolicy-TLS13-1-2-2021-06", metadata=_doc("TLS policy of the HTTPS listener.")
    )
    alb_deletion_protection: bool = field(default=False, metadata=_doc("Refuse to delete the ALB."))
    alb_access_logs_enabled: bool = field(default=False, metadata=_doc("ALB access logs to a private S3 bucket."))
    alb_allow_http_only: bool = field(
        default=False, metadata=_doc("Explicit opt-in for a production environment without HTTPS.")
    )
    waf_enabled: bool = field(default=False, metadata=_doc("AWS WAF with managed rules and a per-IP rate limit."))
    waf_rate_limit_per_5_minutes: int = field(default=2000, metadata=_doc("Requests per IP per 5 minutes before WAF blocks."))
    alarms_enabled: bool = field(default=False, metadata=_doc("CloudWatch alarms to an SNS topic."))
    alarm_email: str | None = field(default=None, metadata=_doc("Email subscribed to the alarm topic (confirm the mail)."))
    # Operations (modules/manual_control, modules/bastion).
    litellm_manual_control_enabled: bool = field(
        default=False, metadata=_doc("IAM-authenticated API that boosts the service for a fixed window (seed name).")
    )
    litellm_manual_override_default_hours: float = field(default=2, metadata=_doc("Boost length when the request names none."))
    litellm_manual_override_max_hours: float = field(default=12, metadata=_doc("Longest boost the API accepts."))
    litellm_manual_override_desired_count: int = field(default=1, metadata=_doc("Tasks while boosted."))
    litellm_idle_shutdown_minutes: int = field(
        default=0, metadata=_doc("Scale to zero after this many minutes without requests (0 = never); needs manual control.")
    )
    litellm_idle_check_interval_minutes: int = field(default=5, metadata=_doc("How often the idle check runs."))
    backend_db_bastion_enabled: bool = field(
        default=False, metadata=_doc("SSM-only bastion in a private subnet for database tunnels (seed name).")
    )
    backend_db_bastion_instance_type: str = field(default="t4g.nano", metadata=_doc("Bastion instance type (Graviton)."))
    alb_https_certificate_arn: str | None = field(
        default=None, metadata=_doc("ACM certificate (same region) for the HTTPS listener.")
    )
    alb_redirect_http_to_https: bool = field(
        default=False, metadata=_doc("Port 80 answers 301 to 443; needs alb_https_certificate_arn.")
    )
    # LiteLLM's PostgreSQL (modules/rds_postgres).
    rds_master_username: str = field(default="litellm", metadata=_doc("Master user of LiteLLM's database."))
    rds_manage_master_password: bool = field(
        default=True,
        metadata=_doc("RDS keeps the master password in Secrets Manager and rotates it; false: supply TF_VAR_rds_master_password."),
    )
    rds_database_name: str = field(default="litellm", metadata=_doc("Database LiteLLM uses."))
    rds_engine_version: str = field(
        default="17", metadata=_doc("PostgreSQL major version; minor upgrades are automatic.")
    )
    rds_instance_class: str = field(default="db.t4g.micro", metadata=_doc("RDS instance class."))
    rds_allocated_storage: int = field(default=20, metadata=_doc("Initial storage (GiB)."))
    rds_max_allocated_storage: int = field(
        default=200, metadata=_doc("Storage autoscaling ceiling (GiB); 0 turns autoscaling off.")
    )
    rds_storage_type: str = field(default="gp3", metadata=_doc("gp3 (default) or gp2."))
    rds_storage_encrypted: bool = field(
        default=True, metadata=_doc("Seed key; must stay true (storage is always encrypted).")
    )
    rds_kms_key_id: str | None = field(
        default=None, metadata=_doc("KMS key ARN for storage and Performance Insights (default: AWS managed key).")
    )
    rds_multi_az: bool = field(default=False, metadata=_doc("Standby in a second AZ."))
    rds_backup_retention_period: int = field(default=7, metadata=_doc("Days of automated backups (1-35)."))
    rds_skip_final_snapshot: bool = field(
        default=False, metadata=_doc("Destroy without a final snapshot (dev only).")
    )
    rds_apply_immediately: bool = field(
        default=False, metadata=_doc("Apply changes now instead of in the maintenance window.")
    )
    rds_deletion_protection: bool = field(default=True, metadata=_doc("Refuse to delete the instance."))
    rds_performance_insights_enabled: bool = field(
        default=False, metadata=_doc("Performance Insights (7 days, free tier).")
    )
    additional_rds_allowed_security_group_ids: tuple[str, ...] = field(
        default=(), metadata=_doc("Other security groups admitted on 5432.")
    )
    # ElastiCache (modules/elasticache_redis).
    redis_engine: str = field(default="valkey", metadata=_doc("\"valkey\" (cheaper, Redis-compatible) or \"redis\"."))
    redis_engine_version: str = field(default="8.0", metadata=_doc("Engine version (valkey 7.2/8.0, redis 7.0/7.1)."))
    redis_node_type: str = field(default="cache.t4g.micro", metadata=_doc("Cache node type."))
    redis_num_cache_clusters: int = field(
        default=1, metadata=_doc("Nodes (1-6); 2 or more turns on automatic failover and Multi-AZ.")
    )
    redis_snapshot_retention_limit: int = field(
        default=0, metadata=_doc("Days of daily snapshots kept (0 = none).")
    )
    redis_snapshot_window: str = field(default="17:00-18:00", metadata=_doc("Daily snapshot window (UTC, hh24:mi-hh24:mi)."))
    redis_maintenance_window: str = field(
        default="sun:18:30-sun:19:30", metadata=_doc("Weekly maintenance window (UTC, ddd:hh24:mi-ddd:hh24:mi).")
    )
    redis_apply_immediately: bool = field(default=False, metadata=_doc("Apply changes now."))
    redis_auth_token_secret_arn: str | None = field(
        default=None,
        metadata=_doc("Existing Secrets Manager secret (plain string) holding the AUTH token; default: generated."),
    )
    additional_redis_allowed_security_group_ids: tuple[str, ...] = field(
        default=(), metadata=_doc("Other security groups admitted on 6379.")
    )
    # The seed's backend application database (modules/backend_database).
    backend_rds_enabled: bool = field(
        default=False, metadata=_doc("Create the separate backend PostgreSQL database (seed feature).")
    )
    backend_rds_master_username: str = field(default="backend", metadata=_doc("Master user of the backend database."))
    backend_rds_database_name: str = field(default="backend", metadata=_doc("Database name."))
    backend_rds_engine_version: str = field(default="17", metadata=_doc("PostgreSQL major version."))
    backend_rds_instance_class: str = field(default="db.t4g.micro", metadata=_doc("Instance class."))
    backend_rds_allocated_storage: int = field(default=20, metadata=_doc("Storage (GiB)."))
    backend_rds_backup_retention_period: int = field(default=1, metadata=_doc("Days of automated backups (1-35)."))
    backend_rds_skip_final_snapshot: bool = field(default=True, metadata=_doc("Destroy without a final snapshot."))
    backend_rds_deletion_protection: bool = field(default=False, metadata=_doc("Refuse to delete the instance."))
    backend_rds_multi_az: bool = field(default=False, metadata=_doc("Standby in a second AZ."))
    backend_rds_secret_name: str = field(
        default="", metadata=_doc("Name of the JSON credentials secret (default: <name_prefix>-<environment>/backend-rds).")
    )
    additional_backend_rds_allowed_security_group_ids: tuple[str, ...] = field(
        default=(), metadata=_doc("Other security groups admitted on 5432.")
    )

    # Secrets Manager deletion (every secret the stack names itself: a redeploy reuses the name).
    secret_recovery_window_days: int | None = field(
        default=None,
        metadata=_doc("Days (7-30) a destroyed secret stays recoverable; 0 deletes it at once so the environment can be redeployed right away. Default: 7 when production-like, else 0."),
    )

    # Set by the loader, not by users.
    stack_name: str = field(default="", metadata={"internal": True})
    source: str = field(default="", metadata={"internal": True})

    @property
    def default_tags(self) -> dict[str, str]:
        return standard_tags(self.tags, environment=self.environment)

    @property
    def production_like(self) -> bool:
        """See :func:`production_like`."""
        return production_like(self.environment, self.rds_deletion_protection)

    @property
    def resource_prefix(self) -> str:
        """Deterministic base of every resource name, e.g. ``litellm-dev``."""
        return f"{self.name_prefix}-{self.environment}"


def production_like(environment: str, rds_deletion_protection: bool) -> bool:
    """An environment whose data and availability matter: named ``prod*`` or holding a database
    protected from deletion. Such environments get the stricter rules (pinned image, HTTPS,
    alarm destination, protected GitHub environment, refused destroy)."""
    return environment.startswith("prod") or rds_deletion_protection


@dataclass(frozen=True)
class ProjectConfig:
    backend: BackendConfig
    environments: tuple[EnvironmentConfig, ...]

    def environment(self, stack_name: str) -> EnvironmentConfig:
        for env in self.environments:
            if env.stack_name == stack_name:
                return env
        raise KeyError(stack_name)


# --------------------------------------------------------------------------------------------
# Generic typed parsing driven by the dataclass annotations.
# --------------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin in (collections.abc.Mapping, dict):
        return "table of strings"
    return {str: "string", int: "integer", float: "number", bool: "boolean (true/false)"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """Return (ok, converted). No silent conversions except seed-compatible numeric strings."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue
            ok, converted = _coerce(value, arg)
            if ok:
                return True, converted
        return False, None
    if origin is tuple:
        (item_tp, _) = typing.get_args(tp)
        if not isinstance(value, list):
            return False, None
        items = []
        for item in value:
            ok, converted = _coerce(item, item_tp)
            if not ok:
                return False, None
            items.append(converted)
        return True, tuple(items)
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return False, None
        return True, types.MappingProxyType(dict(value))
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        # The seed passes Fargate sizes as strings ("512"); accept digit strings.
        if isinstance(value, str) and value.isdigit():
            return True, int(value)
        return False, None
    if tp is str:
        return isinstance(value, str), value
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf"):
            return True, float(value)
        return False, None
    raise TypeError(f"unsupported config type {tp!r}")  # a bug in this module, not user input


def _user_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def _is_required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _parse_table(cls: type, data: Mapping[str, Any], source: str, problems: list[str]) -> dict:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in _user_fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key in SECRET_KEYS:
            problems.append(_problem(source, key, f"secrets do not belong in configuration files: {SECRET_KEYS[key]}"))
            continue
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(_problem(source, key, f"unknown key{hint}"))
            continue
        ok, converted = _coerce(raw, hints[key])
        if not ok:
            problems.append(
                _problem(source, key, f"expected {_type_name(hints[key])}, got {raw!r}")
            )
            continue
        values[key] = converted
    for name, f in known.items():
        if _is_required(f) and name not in data:
            problems.append(_problem(source, name, "required key is missing"))
    return values


def _read_toml(path: Path, source: str, problems: list[str]) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(_problem(source, "(file)", f"cannot read: {exc.strerror}"))
        return None
    except UnicodeDecodeError:
        problems.append(_problem(source, "(file)", "not UTF-8 text"))
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(_problem(source, "(file)", f"invalid TOML: {exc}"))
        return None


# --------------------------------------------------------------------------------------------
# Semantic checks. Each returns nothing and appends messages; they only run on values that
# parsed with the right type.
# --------------------------------------------------------------------------------------------


def _check_tags(tags: Mapping[str, str], source: str, problems: list[str]) -> None:
    for key, value in tags.items():
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            problems.append(_problem(source, f"tags.{key}", "tag keys are 1-128 chars and may not start with 'aws:'"))
        if len(value) > 256:
            problems.append(_problem(source, f"tags.{key}", "tag values are at most 256 chars"))


def _check_region(region: str, source: str, problems: list[str]) -> None:
    if not _REGION_RE.match(region):
        problems.append(_problem(source, "aws_region", f"{region!r} is not an AWS region name (e.g. 'eu-west-1')"))


def validate_backend(values: dict, source: str, problems: list[str]) -> None:
    if "aws_region" in values:
        _check_region(values["aws_region"], source, problems)
    bucket = values.get("state_bucket_name")
    if bucket is not None and (
        not _BUCKET_RE.match(bucket) or ".." in bucket or bucket.startswith("xn--")
        or re.match(r"^\d+\.\d+\.\d+\.\d+$", bucket)
    ):
        problems.append(_problem(source, "state_bucket_name", f"{bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-' or '.')"))
    table = values.get("lock_table_name")
    if table is not None and not _TABLE_RE.match(table):
        problems.append(_problem(source, "lock_table_name", f"{table!r} is not a valid DynamoDB table name"))
    locking = values.get("state_locking")
    if locking is not None and locking not in STATE_LOCKING_MODES:
        problems.append(_problem(source, "state_locking", f"{locking!r} is not one of {', '.join(STATE_LOCKING_MODES)}"))
    prefix = values.get("state_key_prefix")
    if prefix is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", prefix):
        problems.append(_problem(source, "state_key_prefix", f"{prefix!r} must be letters, digits, '-', '_' or '.'"))
    repo = values.get("github_repository")
    if repo is not None and not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", repo):
        problems.append(_problem(source, "github_repository", f"{repo!r} is not owner/name"))
    branch = values.get("github_deploy_branch")
    if branch is not None and (not branch or any(c in branch for c in " *?[~^:\\")):
        problems.append(_problem(source, "github_deploy_branch", f"{branch!r} is not a branch name (no wildcards)"))
    for environment in values.get("github_deploy_environments", ()):
        if not re.match(r"^[A-Za-z0-9_.-]{1,255}$", environment):
            problems.append(_problem(source, "github_deploy_environments", f"{environment!r} is not a GitHub environment name"))
    oidc = values.get("github_oidc_provider_arn")
    if oidc is not None and not re.match(r"^arn:aws(-[a-z]+)*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$", oidc):
        problems.append(_problem(source, "github_oidc_provider_arn", f"{oidc!r} is not the GitHub OIDC provider ARN"))
    role_prefix = values.get("ci_role_name_prefix")
    if role_prefix is not None and not re.match(r"^[A-Za-z0-9+=,.@_-]{1,40}$", role_prefix):
        problems.append(_problem(source, "ci_role_name_prefix", f"{role_prefix!r} is not a valid IAM name prefix (max 40)"))
    days = values.get("noncurrent_version_expiration_days")
    if days is not None and days < 1:
        problems.append(_problem(source, "noncurrent_version_expiration_days", "must be at least 1"))
    _check_tags(values.get("tags", {}), source, problems)


def _parse_network(text: str, source: str, key: str, problems: list[str]):
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        problems.append(_problem(source, key, f"{text!r} is not a valid IPv4 CIDR block"))
        return None
    if net.version != 4:
        problems.append(_problem(source, key, f"{text!r} is not an IPv4 CIDR block"))
        return None
    return net


def default_subnet_cidrs(vpc_cidr: str, zone_count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Carve one public and one private subnet per AZ out of the VPC: /N+4 blocks, public at
    index i, private at index 8+i, so adding an AZ later never moves an existing subnet."""
    vpc = ipaddress.ip_network(vpc_cidr)
    blocks = list(vpc.subnets(prefixlen_diff=4))
    public = tuple(str(blocks[i]) for i in range(zone_count))
    private = tuple(str(blocks[8 + i]) for i in range(zone_count))
    return public, private


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

    _check_tags(values.get("tags", {}), source, problems)
    _check_service(values, source, problems)
    _check_data_tier(values, source, problems)


def _check_network_layout(values: dict, source: str, problems: list[str]) -> None:
    vpc_text = values.get("vpc_cidr", EnvironmentConfig.vpc_cidr)
    vpc = _parse_network(vpc_text, source, "vpc_cidr", problems)
    if vpc is None:
        return
    if not 16 <= vpc.prefixlen <= 24:
        problems.append(_problem(source, "vpc_cidr", f"prefix /{vpc.prefixlen} is outside the /16 to /24 that AWS allows for a VPC"))
        return
    zones = values.get("availability_zones")
    zone_count = len(zones) if zones is not None else None
    subnets: list[tuple[str, ipaddress.IPv4Network]] = []
    for key in ("public_subnet_cidrs", "private_subnet_cidrs"):
        cidrs = values.get(key)
        if not cidrs:
            continue
        if zone_count is not None and len(cidrs) != zone_count:
            problems.append(_problem(source, key, f"has {len(cidrs)} entries but availability_zones has {zone_count}; give one per AZ"))
        for cidr in cidrs:
            net = _parse_network(cidr, source, key, problems)
            if net is None:
                continue
            if not net.subnet_of(vpc):
                problems.append(_problem(source, key, f"{cidr} is not inside vpc_cidr {vpc}"))
            elif net.prefixlen > 28:
                problems.append(_problem(source, key, f"{cidr} is smaller than the /28 AWS allows for a subnet"))
            subnets.append((key, net))
    for i, (key_a, a) in enumerate(subnets):
        for key_b, b in subnets[i + 1:]:
            if a.overlaps(b):
                problems.append(_problem(source, key_b, f"{b} overlaps {a} ({key_a})"))
    if zone_count and vpc.prefixlen + 4 > 28 and not (values.get("public_subnet_cidrs") and values.get("private_subnet_cidrs")):
        problems.append(_problem(source, "vpc_cidr", "too small to carve default subnets; set public_subnet_cidrs and private_subnet_cidrs"))


def _check_service(values: dict, source: str, problems: list[str]) -> None:
    cpu = values.get("litellm_task_cpu", EnvironmentConfig.litellm_task_cpu)
    memory = values.get("litellm_task_memory", EnvironmentConfig.litellm_task_memory)
    if cpu not in FARGATE_MEMORY_BY_CPU:
        problems.append(_problem(source, "litellm_task_cpu", f"{cpu} is not a Fargate CPU size ({', '.join(map(str, FARGATE_MEMORY_BY_CPU))})"))
    elif memory not in FARGATE_MEMORY_BY_CPU[cpu]:
        valid = FARGATE_MEMORY_BY_CPU[cpu]
        problems.append(_problem(source, "litellm_task_memory", f"{memory} MiB is not valid with litellm_task_cpu = {cpu}; valid: {', '.join(map(str, valid))}"))
    count = values.get("litellm_desired_count")
    if count is not None and not 0 <= count <= 100:
        problems.append(_problem(source, "litellm_desired_count", f"{count} must be between 0 and 100"))
    image = values.get("litellm_container_image")
    if image is not None and (not image.strip() or any(c.isspace() for c in image)):
        problems.append(_problem(source, "litellm_container_image", f"{image!r} is not a container image reference"))
    arn = values.get("alb_https_certificate_arn")
    if arn is not None:
        match = _ACM_ARN_RE.match(arn)
        if not match:
            problems.append(_problem(source, "alb_https_certificate_arn", f"{arn!r} is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"))
        elif values.get("aws_region") and match["region"] != values["aws_region"]:
            problems.append(_problem(source, "alb_https_certificate_arn", f"certificate is in {match['region']}, but an ALB can only use a certificate from its own region {values['aws_region']}"))
    if values.get("alb_redirect_http_to_https") and not arn:
        problems.append(_problem(source, "alb_redirect_http_to_https", "redirecting to HTTPS needs alb_https_certificate_arn"))
    environment = values.get("environment", "")
    if environment.startswith("prod") and not arn and not values.get("alb_allow_http_only"):
        problems.append(_problem(source, "alb_https_certificate_arn", "a production environment needs HTTPS; set the certificate ARN, or alb_allow_http_only = true to accept plain HTTP knowingly"))
    _check_service_details(values, source, problems)
    _check_operations(values, source, problems)


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
    if instance_type is not None and not re.match(r"^[a-z][a-z0-9]*g[a-z]*\.[a-z0-9]+$", instance_type):
        bad("backend_db_bastion_instance_type", f"{instance_type!r} is not a Graviton (arm64) instance type such as t4g.nano")


_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_REF_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(:[^:]*:[^:]*:[^:]*)?"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+)$"
)
_SECRET_LOOKING_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
# Set by the service itself from the data tier and generated secrets.
MANAGED_ENVIRONMENT = frozenset({
    "DATABASE_HOST", "DATABASE_NAME", "DATABASE_USERNAME", "DATABASE_PASSWORD", "DATABASE_URL",
    "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_SSL", "PORT",
    "LITELLM_CONFIG_BUCKET_NAME", "LITELLM_CONFIG_BUCKET_OBJECT_KEY", "LITELLM_CONFIG_BUCKET_TYPE",
    "LITELLM_CONFIG_SHA256", "CONFIG_FILE_PATH", "NUM_WORKERS", "KEEPALIVE_TIMEOUT",
})
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_service_details(values: dict, source: str, problems: list[str]) -> None:
    def bad(key: str, message: str) -> None:
        problems.append(_problem(source, key, message))

    port = values.get("litellm_container_port")
    if port is not None and not 1024 <= port <= 65535:
        bad("litellm_container_port", f"{port} must be between 1024 and 65535")
    path = values.get("litellm_health_check_path")
    if path is not None and (not path.startswith("/") or path.rstrip("/") == "/health"):
        bad("litellm_health_check_path", f"{path!r}: use /health/readiness or /health/liveliness (/health calls every model and needs auth)")
    for name, value in values.get("litellm_environment", {}).items():
        if not _ENV_NAME_RE.match(name):
            bad(f"litellm_environment.{name}", "not a valid environment variable name")
        elif name in MANAGED_ENVIRONMENT:
            bad(f"litellm_environment.{name}", "is set by the stack itself")
        elif _SECRET_LOOKING_NAME.search(name):
            bad(f"litellm_environment.{name}", "looks like a secret; put its Secrets Manager ARN in litellm_secrets instead")
    for name, arn in values.get("litellm_secrets", {}).items():
        if not _ENV_NAME_RE.match(name):
            bad(f"litellm_secrets.{name}", "not a valid environment variable name")
        elif name in MANAGED_ENVIRONMENT:
            bad(f"litellm_secrets.{name}", "is injected by the stack itself")
        if not _SECRET_REF_RE.match(arn):
            bad(f"litellm_secrets.{name}", f"{arn!r} is not a Secrets Manager secret ARN (optionally with :json-key:stage:version) or SSM parameter ARN")
    retention = values.get("litellm_log_retention_days")
    if retention is not None and retention not in LOG_RETENTION_DAYS:
        bad("litellm_log_retention_days", f"{retention} is not a CloudWatch Logs retention period")
    workers = values.get("litellm_num_workers")
    if workers is not None and not 0 <= workers <= 64:
        bad("litellm_num_workers", f"{workers} must be between 0 and 64")
    low = values.get("litellm_autoscaling_min_capacity", EnvironmentConfig.litellm_autoscaling_min_capacity)
    high = values.get("litellm_autoscaling_max_capacity", EnvironmentConfig.litellm_autoscaling_max_capacity)
    if low < 0 or high < 1 or low > high:
        bad("litellm_autoscaling_max_capacity", f"need 0 <= min ({low}) <= max ({high}) and max >= 1")
    cpu_target = values.get("litellm_autoscaling_cpu_target")
    if cpu_target is not None and not 10 <= cpu_target <= 95:
        bad("litellm_autoscaling_cpu_target", f"{cpu_target} must be between 10 and 95 (%)")
    requests = values.get("litellm_autoscaling_requests_per_target")
    if requests is not None and requests < 1:
        bad("litellm_autoscaling_requests_per_target", "must be at least 1")
    for group in values.get("additional_service_security_group_ids", ()):
        if not _SG_ID_RE.match(group):
            bad("additional_service_security_group_ids", f"{group!r} is not a security group id (sg-...)")
    cidrs = values.get("alb_ingress_cidrs")
    if cidrs is not None:
        if not cidrs:
            bad("alb_ingress_cidrs", "needs at least one CIDR")
        for cidr in cidrs:
            _parse_network(cidr, source, "alb_ingress_cidrs", problems)
    idle = values.get("alb_idle_timeout")
    if idle is not None and not 60 <= idle <= 4000:
        bad("alb_idle_timeout", f"{idle} must be between 60 and 4000 seconds (streamed responses need well over 60)")
    policy = values.get("alb_https_ssl_policy")
    if policy is not None and not policy.startswith("ELBSecurityPolicy-"):
        bad("alb_https_ssl_policy", f"{policy!r} is not an ELB security policy name")
    rate = values.get("waf_rate_limit_per_5_minutes")
    if rate is not None and not 100 <= rate <= 2_000_000_000:
        bad("waf_rate_limit_per_5_minutes", f"{rate} must be between 100 and 2000000000")
    email = values.get("alarm_email")
    if email is not None and not _EMAIL_RE.match(email):
        bad("alarm_email", f"{email!r} is not an email address")
    config_file = values.get("litellm_config_file")
    if config_file is not None and (config_file.startswith("/") or ".." in Path(config_file).parts):
        bad("litellm_config_file", "give a path inside the repository, relative to its root")


_INSTANCE_CLASS_RE = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
_NODE_TYPE_RE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
_PG_MAJOR_RE = re.compile(r"^(1[3-9])$")
_DB_IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SG_ID_RE = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
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

# Secrets never go in a config file; these keys name what to do instead.
SECRET_KEYS = {
    "rds_master_password": "set it as TF_VAR_rds_master_password with rds_manage_master_password = false, or let RDS manage it",
    "redis_auth_token": "store it in Secrets Manager and set redis_auth_token_secret_arn, or let the stack generate it",
    "backend_rds_master_password": "the stack generates it and writes it to backend_rds_secret_name",
}


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
        if cls is not None and not _INSTANCE_CLASS_RE.match(cls):
            bad(f"{prefix}_instance_class", f"{cls!r} is not an RDS instance class (e.g. db.t4g.micro)")
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
    if node_type is not None and not _NODE_TYPE_RE.match(node_type):
        bad("redis_node_type", f"{node_type!r} is not a cache node type (e.g. cache.t4g.micro)")
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
    config_file = values.get("litellm_config_file")
    if config_file and ".." not in Path(config_file).parts and not config_file.startswith("/"):
        if not (root / config_file).is_file():
            problems.append(_problem(source, "litellm_config_file", f"{config_file} does not exist"))
        else:
            values["litellm_config_file"] = str((root / config_file).resolve())
    if len(problems) > before:
        return None
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


def _toml_literal(value: Any) -> str:
    if value is None or value == "" or value == ():
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    return str(value)


def field_reference(cls: type) -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for the README's configuration reference."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in _user_fields(cls):
        if _is_required(f):
            default = "required"
        elif f.default_factory is not dataclasses.MISSING:
            default = _toml_literal(f.default_factory())
        else:
            default = _toml_literal(f.default)
        rows.append((f.name, _type_name(hints[f.name]), default, f.metadata.get("doc", "")))
    return rows


def reference_markdown() -> str:
    """The README's configuration reference, generated so it cannot drift from the schema."""
    out = []
    for title, cls in ((f"`{BACKEND_FILE}`", BackendConfig), (f"`{ENVIRONMENTS_DIR}/<name>.toml`", EnvironmentConfig)):
        out += [f"#### {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, type_name, default, doc in field_reference(cls):
            cell = doc.replace('|', '/').replace('<', '\\<')
            out.append(f"| `{key}` | {type_name} | {default} | {cell} |")
        out.append("")
    return "\n".join(out)

