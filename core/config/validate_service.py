"""Rules of the LiteLLM service: Fargate task, container, environment and secrets, autoscaling,
the ALB and WAF in front of it, and the LiteLLM config file it loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core import db_capacity
from core.config.problems import _problem
from core.config.schema import EnvironmentConfig
from core.config.validate_common import LOG_RETENTION_DAYS, _SG_ID_RE
from core.config.validate_network import _parse_network
from core.config.validate_operations import _check_operations
from core.config.validate_production import _check_production_like
from core.litellm_config import DEFAULT_CONFIG_FILE, PLATFORM_VARIABLES, check_file, provider_key_shape, uvicorn_workers
from core.tls_policies import ssl_policy_problem


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


_ACM_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$"
)


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
    if values.get("alb_http_listener_enabled") is False:
        if not arn:
            problems.append(_problem(source, "alb_http_listener_enabled", "closing port 80 needs alb_https_certificate_arn (the load balancer would have no listener)"))
        if values.get("alb_redirect_http_to_https"):
            problems.append(_problem(source, "alb_redirect_http_to_https", "there is no port 80 to redirect from: alb_http_listener_enabled = false"))
    environment = values.get("environment", "")
    # Keys and prompts cross the internet in clear text otherwise, in dev as much as in prod.
    if not values.get("alb_internal") and not arn and not values.get("alb_allow_http_only"):
        problems.append(_problem(source, "alb_https_certificate_arn", "an internet-facing load balancer needs HTTPS; set the certificate ARN, or alb_allow_http_only = true to accept plain HTTP knowingly"))
    _check_production_like(values, source, problems)
    _check_service_details(values, source, problems)
    _check_operations(values, source, problems)


MAX_ADMIN_CIDRS = 24


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
    "DATABASE_PORT", "GRACEFUL_SHUTDOWN_TIMEOUT",
})
_PUBLIC_URL_RE = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?$")
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
        elif shape := provider_key_shape(value):
            # Plain environment values land in the task definition as clear text.
            bad(f"litellm_environment.{name}", f"holds {shape}; store it in Secrets Manager and put its ARN in litellm_secrets instead")
    public_url = values.get("litellm_public_url")
    seed_url = values.get("litellm_environment", {}).get("PROXY_BASE_URL")
    for key, url in (("litellm_public_url", public_url), ("litellm_environment.PROXY_BASE_URL", seed_url)):
        if url is not None and not _PUBLIC_URL_RE.match(url):
            bad(key, f"{url!r} is not an https:// URL of a domain (e.g. https://llm.example.com); the admin UI and SSO redirect to it")
    if public_url is not None and seed_url is not None and public_url.rstrip("/") != seed_url.rstrip("/"):
        bad("litellm_environment.PROXY_BASE_URL", f"{seed_url!r} contradicts litellm_public_url = {public_url!r}; set only litellm_public_url")
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
    admin_cidrs = values.get("litellm_admin_cidrs") or ()
    for cidr in admin_cidrs:
        _parse_network(cidr, source, "litellm_admin_cidrs", problems)
    # Each ALB rule pairs two admin paths with three CIDRs; an ALB listener holds 100 rules.
    if len(admin_cidrs) > MAX_ADMIN_CIDRS:
        bad("litellm_admin_cidrs", f"{len(admin_cidrs)} CIDRs; at most {MAX_ADMIN_CIDRS} fit the load balancer's rule limits (summarise them, e.g. one VPN range)")
    for rule in values.get("waf_count_only_rules", ()):
        if not re.match(r"^[A-Za-z0-9_]+$", rule) or rule == "SizeRestrictions_BODY":
            bad("waf_count_only_rules", f"{rule!r} is not a rule name of AWSManagedRulesCommonRuleSet (SizeRestrictions_BODY is always counted)")
    if values.get("waf_logging_enabled") and not values.get("waf_enabled"):
        bad("waf_logging_enabled", "needs waf_enabled = true")
    for key in ("waf_log_retention_days", "operational_log_retention_days"):
        retention = values.get(key)
        if retention is not None and retention not in LOG_RETENTION_DAYS:
            bad(key, f"{retention} is not a CloudWatch Logs retention period")
    idle = values.get("alb_idle_timeout")
    if idle is not None and not 60 <= idle <= 4000:
        bad("alb_idle_timeout", f"{idle} must be between 60 and 4000 seconds (streamed responses need well over 60)")
    policy = values.get("alb_https_ssl_policy")
    if policy is not None and (problem := ssl_policy_problem(policy)):
        bad("alb_https_ssl_policy", problem)
    rate = values.get("waf_rate_limit_per_5_minutes")
    if rate is not None and not 100 <= rate <= 2_000_000_000:
        bad("waf_rate_limit_per_5_minutes", f"{rate} must be between 100 and 2000000000")
    email = values.get("alarm_email")
    if email is not None and not _EMAIL_RE.match(email):
        bad("alarm_email", f"{email!r} is not an email address")
    config_file = values.get("litellm_config_file")
    if config_file is not None and (config_file.startswith("/") or ".." in Path(config_file).parts):
        bad("litellm_config_file", "give a path inside the repository, relative to its root")


# The shipped default, used when the project root has none (e.g. a project generated elsewhere).
_SHIPPED_CONFIG_FILE = Path(__file__).resolve().parents[2] / DEFAULT_CONFIG_FILE


def _check_litellm_config(values: dict, root: Path, source: str, problems: list[str]) -> None:
    """Resolve litellm_config_file to an absolute path and check the YAML: names supplied, no
    literal secrets, connection pool x workers x tasks within the database's budget."""
    config_file = values.get("litellm_config_file")
    if config_file is None:
        config_file = DEFAULT_CONFIG_FILE
        path = root / config_file
        if not path.is_file():
            path = _SHIPPED_CONFIG_FILE
    elif config_file.startswith("/") or ".." in Path(config_file).parts:
        return  # reported by _check_service_details
    else:
        path = root / config_file
        if not path.is_file():
            problems.append(_problem(source, "litellm_config_file", f"{config_file} does not exist"))
            return
    values["litellm_config_file"] = str(path.resolve())

    def bad(message: str) -> None:
        problems.append(_problem(source, "litellm_config_file", f"{config_file}: {message}"))

    supplied = set(values.get("litellm_secrets", {})) | set(values.get("litellm_environment", {})) | PLATFORM_VARIABLES
    check = check_file(path, supplied)
    for message in check.problems:
        bad(message)
    if check.problems:
        return

    def setting(key: str) -> Any:
        return values.get(key, getattr(EnvironmentConfig, key))

    workers = uvicorn_workers(setting("litellm_task_cpu"), setting("litellm_num_workers"))
    counts = {"litellm_desired_count": setting("litellm_desired_count")}
    if setting("litellm_autoscaling_enabled"):
        counts["litellm_autoscaling_max_capacity"] = setting("litellm_autoscaling_max_capacity")
    if setting("litellm_manual_control_enabled"):
        counts["litellm_manual_override_desired_count"] = setting("litellm_manual_override_desired_count")
    count_key = max(counts, key=counts.__getitem__)
    tasks = counts[count_key]
    # Prisma opens pool connections on demand, and a rollout's overlap (new tasks start before the
    # old ones stop) is short: the budget's remaining 20% absorbs it rather than doubling here.
    peak = check.pool_limit * workers * tasks
    instance_class = setting("rds_instance_class")
    budget = db_capacity.usable_connections(instance_class)
    if peak > budget:
        bad(
            f"general_settings.database_connection_pool_limit: {check.pool_limit} connections per worker"
            f" x {workers} worker(s) per task x {tasks} task(s) ({count_key})"
            f" = {peak}, more than {budget}: 80% of the default max_connections"
            f" {db_capacity.default_max_connections(instance_class)} of rds_instance_class {instance_class}"
            f" (LEAST({db_capacity.memory_gib(instance_class)} GiB / {db_capacity.BYTES_PER_CONNECTION}, 5000));"
            " lower the pool limit, the workers or the task count, or choose a larger instance class"
        )
