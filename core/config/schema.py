"""The schema of both files: ``backend.toml`` (:class:`BackendConfig`) and
``environments/<name>.toml`` (:class:`EnvironmentConfig`), and the frozen objects the loader builds.

Imports no validator: the validators, the loader and the reference renderer all depend on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from core.litellm_config import DEFAULT_CONFIG_FILE


BACKEND_FILE = "backend.toml"
ENVIRONMENTS_DIR = "environments"
RESERVED_STACK_NAMES = frozenset({"bootstrap"})


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
        default="main", metadata=_doc("The deployed branch: its pushes (and pull requests) may assume the standard environments' plan roles.")
    )
    github_oidc_provider_arn: str | None = field(
        default=None, metadata=_doc("Existing GitHub OIDC provider in the account (one per account); default: create it."),
    )
    ci_role_name_prefix: str = field(
        default="litellm-ci", metadata=_doc("Prefix of the per-environment plan/deploy roles (<prefix>-<env>-plan/-deploy) and their boundary."),
    )
    state_admin_principal_arns: tuple[str, ...] = field(
        default=(),
        metadata=_doc("IAM role/user ARNs allowed to read and write state besides the CI roles and whoever deploys bootstrap (operators running make deploy)."),
    )

    @property
    def uses_lock_table(self) -> bool:
        return self.state_locking == "dynamodb"

    def state_key(self, stack_name: str) -> str:
        return f"{self.state_key_prefix}/{stack_name}/terraform.tfstate"

    @property
    def state_kms_key_alias(self) -> str:
        """Alias of the state bucket's customer-managed key (bootstrap creates both)."""
        return "alias/" + re.sub(r"[^A-Za-z0-9/_-]", "-", self.state_bucket_name) + "-state"

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
    vpc_cidr: str = field(default="10.20.0.0/16", metadata=_doc("IPv4 CIDR of the VPC (/16 to /28, as AWS allows)."))
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
    # Liveliness, not readiness: readiness answers 503 while the database is unreachable, so the
    # ALB would mark every task unhealthy in a database outage and ECS would replace them all; a
    # replacement without a database exits after ~25 s at its migration step, so the outage
    # becomes a crash loop of the whole service. Liveliness keeps running tasks serving (the
    # master key needs no database; virtual keys work while cached) and the service recovers by
    # itself when the database is back. allow_requests_on_db_unavailable stays off: it lets requests through whose key
    # cannot be checked, which an internet-facing gateway must not do.
    litellm_health_check_path: str = field(
        default="/health/liveliness",
        metadata=_doc("ALB health check path: /health/liveliness (a database outage must not recycle every task) or /health/readiness; never /health."),
    )
    litellm_log_retention_days: int = field(default=14, metadata=_doc("Retention of the service's log group."))
    litellm_enable_execute_command: bool = field(default=False, metadata=_doc("Allow ECS Exec into tasks."))
    litellm_num_workers: int = field(default=0, metadata=_doc("Uvicorn workers (0 = one per vCPU)."))
    # LiteLLM config and public URL (core/litellm_config.py checks the file at load).
    litellm_config_file: str = field(
        default=DEFAULT_CONFIG_FILE,
        metadata=_doc("Path (from the repo root) of the LiteLLM config.yaml uploaded to S3 and loaded at start; checked at load (os.environ/ names supplied, no literal secrets, connection pool fits the database)."),
    )
    litellm_public_url: str | None = field(
        default=None,
        metadata=_doc("https://... URL users reach the gateway at (your domain): PROXY_BASE_URL and the litellm_gateway_url output; default: the ALB's URL. Seed style: PROXY_BASE_URL in litellm_environment."),
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
        default="ELBSecurityPolicy-TLS13-1-2-2021-06",
        metadata=_doc("TLS policy of the HTTPS listener; only policies whose oldest protocol is TLS 1.2 or newer (core/tls_policies.py)."),
    )
    alb_deletion_protection: bool = field(default=False, metadata=_doc("Refuse to delete the ALB."))
    alb_access_logs_enabled: bool = field(default=False, metadata=_doc("ALB access logs to a private S3 bucket."))
    alb_allow_http_only: bool = field(
        default=False, metadata=_doc("Explicit opt-in for an internet-facing ALB without HTTPS (plain HTTP, any environment).")
    )
    waf_enabled: bool = field(default=False, metadata=_doc("AWS WAF with managed rules and a per-IP rate limit."))
    waf_rate_limit_per_5_minutes: int = field(default=2000, metadata=_doc("Requests per IP per 5 minutes before WAF blocks."))
    alarms_enabled: bool = field(default=False, metadata=_doc("CloudWatch alarms to an SNS topic."))
    alarm_email: str | None = field(default=None, metadata=_doc("Email subscribed to the alarm topic (confirm the mail)."))
    # Runtime security (issue 14): admin surface, alarm destination, WAF tuning.
    litellm_admin_cidrs: tuple[str, ...] | None = field(
        default=None,
        metadata=_doc("CIDRs that may reach LiteLLM's admin paths (/ui, /key/*, /user/*, /team/*, /model/*, ...) through the ALB; [] = nobody; default: alb_ingress_cidrs."),
    )
    alarm_destination_waived: bool = field(
        default=False, metadata=_doc("Accept a production-like environment whose alarms notify no one (no alarms_enabled + alarm_email)."),
    )
    waf_count_only_rules: tuple[str, ...] = field(
        default=(), metadata=_doc("AWSManagedRulesCommonRuleSet rules that only count instead of blocking (e.g. CrossSiteScripting_BODY when prompts carry code)."),
    )
    waf_logging_enabled: bool = field(default=False, metadata=_doc("Log blocked and counted WAF requests to CloudWatch (aws-waf-logs-<prefix>-<env>)."))
    waf_log_retention_days: int = field(default=30, metadata=_doc("Retention of the WAF log group."))
    operational_log_retention_days: int = field(
        default=30, metadata=_doc("Retention of the databases', cache's and rotation function's log groups."),
    )
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
    alb_http_listener_enabled: bool = field(
        default=True,
        metadata=_doc("false: no port 80 at all (HTTPS only, HSTS sent); API keys then never reach the ALB in clear text, which a redirect cannot promise. Needs alb_https_certificate_arn."),
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


# Secrets never go in a config file; these keys name what to do instead.
SECRET_KEYS = {
    "rds_master_password": "set it as TF_VAR_rds_master_password with rds_manage_master_password = false, or let RDS manage it",
    "redis_auth_token": "store it in Secrets Manager and set redis_auth_token_secret_arn, or let the stack generate it",
    "backend_rds_master_password": "the stack generates it and writes it to backend_rds_secret_name",
}
