"""core/config/: loading, defaults, and one clear message per user mistake."""

from __future__ import annotations

import shutil

import pytest

from core.config import (
    FARGATE_MEMORY_BY_CPU,
    ConfigError,
    default_subnet_cidrs,
    field_reference,
    load_project,
    EnvironmentConfig,
)
from core.instance_classes import (
    CACHE_NODE_EXAMPLES,
    RDS_EXAMPLES,
    cache_node_type_problem,
    rds_instance_class_problem,
)
from tests.config_files import DELETE, write_project
from tests.conftest import ROOT

pytestmark = pytest.mark.filterwarnings("error")


def load_one(tmp_path, overrides=None, *, name="dev", backend=None):
    project = load_project(write_project(tmp_path, {name: overrides or {}}, backend))
    return project.environments[0]


def problems_for(tmp_path, environments=None, backend=None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_project(write_project(tmp_path, environments, backend))
    return caught.value.problems


# ---------------------------------------------------------------------------- valid input


def test_canonical_environment_gets_documented_defaults(tmp_path):
    env = load_one(tmp_path)
    assert env.stack_name == "dev" and env.environment == "dev"
    assert env.source == "environments/dev.toml"
    assert env.resource_prefix == "litellm-dev"
    assert env.nat_gateway_mode == "single"
    assert env.public_subnet_cidrs == ("10.40.0.0/20", "10.40.16.0/20")
    assert env.private_subnet_cidrs == ("10.40.128.0/20", "10.40.144.0/20")
    assert env.default_tags == {"Project": "litellm", "Environment": "dev", "ManagedBy": "cdktf"}


def test_seed_enable_nat_gateway_maps_to_a_nat_mode(tmp_path):
    assert load_one(tmp_path / "a", {"enable_nat_gateway": False}).nat_gateway_mode == "none"
    assert load_one(tmp_path / "b", {"enable_nat_gateway": True}).nat_gateway_mode == "single"


def test_seed_style_string_sizes_are_accepted(tmp_path):
    env = load_one(tmp_path, {"litellm_task_cpu": "512", "litellm_task_memory": "1024"})
    assert (env.litellm_task_cpu, env.litellm_task_memory) == (512, 1024)


def test_user_tags_cannot_replace_the_standard_ones(tmp_path):
    env = load_one(tmp_path, {"tags": {"Environment": "spoofed", "Team": "ml"}})
    assert env.default_tags["Environment"] == "dev" and env.default_tags["Team"] == "ml"


def test_secret_recovery_window_is_zero_only_where_a_redeploy_matters_more(tmp_path):
    # Non-production environments are torn down and redeployed; a 7-day window keeps the fixed
    # secret names taken for a week. Production-like ones keep the safety net unless told otherwise.
    assert load_one(tmp_path / "dev", {"rds_deletion_protection": False}).secret_recovery_window_days == 0
    # rds_deletion_protection defaults to true, which makes an environment production-like.
    assert load_one(tmp_path / "protected").secret_recovery_window_days == 7
    prod = load_one(tmp_path / "prod", {"alb_allow_http_only": True}, name="prod")
    assert prod.secret_recovery_window_days == 7
    assert load_one(tmp_path / "explicit", {"secret_recovery_window_days": 30}).secret_recovery_window_days == 30
    assert load_one(tmp_path / "immediate", {"secret_recovery_window_days": 0, "rds_deletion_protection": True},
                    ).secret_recovery_window_days == 0


def test_config_objects_are_frozen(tmp_path):
    env = load_one(tmp_path, {"tags": {"Team": "ml"}})
    with pytest.raises(AttributeError):
        env.vpc_cidr = "10.0.0.0/16"
    with pytest.raises(TypeError):
        env.tags["Team"] = "other"


def test_environment_key_may_differ_from_file_name(tmp_path):
    env = load_one(tmp_path, {"environment": "staging"}, name="stage")
    assert env.stack_name == "stage" and env.resource_prefix == "litellm-staging"


def test_lockfile_backend(tmp_path):
    project = load_project(write_project(tmp_path, backend={"state_locking": "lockfile"}))
    assert not project.backend.uses_lock_table
    assert project.backend.state_key("dev") == "litellm/dev/terraform.tfstate"


def test_shipped_environments_are_valid_and_tuned(project):
    names = [env.stack_name for env in project.environments]
    assert {"dev", "prod"} <= set(names)
    dev, prod = project.environment("dev"), project.environment("prod")
    assert dev.nat_gateway_mode == "single" and dev.backend_rds_enabled
    assert prod.nat_gateway_mode == "per_az" and len(prod.availability_zones) >= 3
    assert prod.vpc_flow_logs_enabled


def test_a_line_appended_to_a_shipped_file_is_configuration_not_a_tag(tmp_path):
    """`echo 'key = value' >> environments/<name>.toml` must set the key: a shipped file that ends
    in a [tags] table would swallow it as a tag."""
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    shutil.copy(ROOT / "backend.toml", tmp_path / "backend.toml")
    for path in (tmp_path / "environments").glob("*.toml"):
        with path.open("a") as handle:
            handle.write("rds_apply_immediately = true\n")
    project = load_project(tmp_path)
    assert [env.rds_apply_immediately for env in project.environments] == [True] * len(project.environments)


def test_small_vpc_with_explicit_subnets_is_accepted(tmp_path):
    env = load_one(tmp_path, {"vpc_cidr": "10.40.0.0/26", "public_subnet_cidrs": ["10.40.0.0/28", "10.40.0.16/28"],
                              "private_subnet_cidrs": ["10.40.0.32/28", "10.40.0.48/28"]})
    assert env.vpc_cidr == "10.40.0.0/26"


def test_default_subnets_do_not_move_when_a_zone_is_added():
    two = default_subnet_cidrs("10.0.0.0/16", 2)
    three = default_subnet_cidrs("10.0.0.0/16", 3)
    assert three[0][:2] == two[0] and three[1][:2] == two[1]


@pytest.mark.parametrize("overrides", [
    {"redis_node_type": "cache.r6gd.xlarge", "rds_instance_class": "db.m8g.large"},
    {"redis_node_type": "cache.c7gn.16xlarge", "rds_instance_class": "db.x2iedn.32xlarge"},
    {"redis_node_type": "cache.m5.24xlarge", "rds_instance_class": "db.r7i.metal-48xl"},
    {"backend_rds_instance_class": "db.z1d.3xlarge", "backend_db_bastion_instance_type": "c7gn.medium"},
    {"backend_db_bastion_instance_type": "m7g.metal"},
], ids=str)
def test_current_node_types_and_instance_classes_are_accepted(tmp_path, overrides):
    env = load_one(tmp_path, overrides)
    assert all(getattr(env, key) == value for key, value in overrides.items())


def test_the_examples_in_instance_class_errors_are_valid():
    for example in CACHE_NODE_EXAMPLES.split(", "):
        assert cache_node_type_problem(example) is None, example
    for example in RDS_EXAMPLES.split(", "):
        assert rds_instance_class_problem(example) is None, example


def test_every_user_key_is_documented():
    for key, _type, _default, doc in field_reference(EnvironmentConfig):
        assert doc, f"{key} has no description"


# ---------------------------------------------------------------------------- bad input
# (overrides of the canonical dev.toml, the key the message must name, a fragment of it)
BAD_ENVIRONMENTS = {
    "unknown key with suggestion": ({"vpc_cdir": "10.0.0.0/16"}, "vpc_cdir", "did you mean 'vpc_cidr'"),
    "list given as string": ({"availability_zones": "eu-west-1a"}, "availability_zones", "expected list of string"),
    "boolean given as string": ({"vpc_flow_logs_enabled": "yes"}, "vpc_flow_logs_enabled", "expected boolean"),
    "integer given as float": ({"litellm_desired_count": 1.5}, "litellm_desired_count", "expected integer"),
    "cidr prefix too long": ({"vpc_cidr": "10.0.0.0/33"}, "vpc_cidr", "not a valid IPv4 CIDR"),
    "cidr with host bits": ({"vpc_cidr": "10.20.0.1/16"}, "vpc_cidr", "'10.20.0.1/16' has host bits set (the network is 10.20.0.0/16)"),
    "subnet with host bits": ({"public_subnet_cidrs": ["10.40.0.1/24", "10.40.1.0/24"]}, "public_subnet_cidrs", "has host bits set"),
    "ipv6 vpc": ({"vpc_cidr": "fd00::/56"}, "vpc_cidr", "not an IPv4"),
    "vpc too large": ({"vpc_cidr": "10.0.0.0/12"}, "vpc_cidr", "/16 to /28"),
    "vpc too small": ({"vpc_cidr": "10.0.0.0/29"}, "vpc_cidr", "/16 to /28"),
    "overlapping subnets": (
        {"public_subnet_cidrs": ["10.40.0.0/24", "10.40.1.0/24"],
         "private_subnet_cidrs": ["10.40.1.0/24", "10.40.2.0/24"]},
        "private_subnet_cidrs", "overlaps 10.40.1.0/24"),
    "subnet outside vpc": ({"public_subnet_cidrs": ["10.40.0.0/24", "10.99.0.0/24"]}, "public_subnet_cidrs", "not inside vpc_cidr"),
    "subnet count differs from zones": ({"private_subnet_cidrs": ["10.40.10.0/24"]}, "private_subnet_cidrs", "give one per AZ"),
    "one availability zone": ({"availability_zones": ["eu-west-1a"]}, "availability_zones", "at least two"),
    "zone of another region": ({"availability_zones": ["eu-west-1a", "us-east-1b"]}, "availability_zones", "not an availability zone of eu-west-1"),
    "duplicate zone": ({"availability_zones": ["eu-west-1a", "eu-west-1a"]}, "availability_zones", "twice"),
    "unknown nat mode": ({"nat_gateway_mode": "dual"}, "nat_gateway_mode", "not one of none, single, per_az"),
    "nat flags contradict": ({"nat_gateway_mode": "per_az", "enable_nat_gateway": False}, "enable_nat_gateway", "contradicts"),
    "bad environment name": ({"environment": "Dev_1"}, "environment", "lowercase letters"),
    "bad name prefix": ({"name_prefix": "-litellm"}, "name_prefix", "lowercase letters"),
    "names too long for AWS": ({"name_prefix": "litellm-gateway-platform", "environment": "staging"}, "name_prefix", "at most 27"),
    "hours not a number": ({"litellm_manual_override_max_hours": "nan"}, "litellm_manual_override_max_hours", "expected number"),
    "default hours above max": ({"litellm_manual_override_default_hours": 24}, "litellm_manual_override_default_hours", "at most litellm_manual_override_max_hours"),
    "idle shutdown without control": ({"litellm_idle_shutdown_minutes": 60}, "litellm_idle_shutdown_minutes", "needs litellm_manual_control_enabled"),
    "bastion not graviton": ({"backend_db_bastion_instance_type": "t3.micro"}, "backend_db_bastion_instance_type", "Graviton"),
    "bad region": ({"aws_region": "europe"}, "aws_region", "not an AWS region"),
    "missing required key": ({"aws_region": DELETE}, "aws_region", "required key is missing"),
    "fargate cpu": ({"litellm_task_cpu": 3000}, "litellm_task_cpu", "not a Fargate CPU size"),
    "fargate memory for cpu": ({"litellm_task_cpu": 256, "litellm_task_memory": 4096}, "litellm_task_memory", "valid: 512, 1024, 2048"),
    "negative desired count": ({"litellm_desired_count": -1}, "litellm_desired_count", "between 0 and 100"),
    "redirect without certificate": ({"alb_redirect_http_to_https": True}, "alb_redirect_http_to_https", "needs alb_https_certificate_arn"),
    "port 80 closed without certificate": ({"alb_http_listener_enabled": False}, "alb_http_listener_enabled", "needs alb_https_certificate_arn"),
    "redirect from a closed port 80": (
        {"alb_http_listener_enabled": False, "alb_redirect_http_to_https": True,
         "alb_https_certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/0b8f8a4e-1c1d-4e55-9a2b-6d1f0f3a9c11"},
        "alb_redirect_http_to_https", "no port 80 to redirect from"),
    "malformed certificate arn": ({"alb_https_certificate_arn": "arn:aws:iam::123456789012:server-certificate/x"}, "alb_https_certificate_arn", "not an ACM certificate ARN"),
    "certificate from another region": (
        {"alb_https_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0b8f8a4e-1c1d-4e55-9a2b-6d1f0f3a9c11"},
        "alb_https_certificate_arn", "own region eu-west-1"),
    "unsupported log retention": ({"vpc_flow_logs_retention_days": 10}, "vpc_flow_logs_retention_days", "not a CloudWatch Logs retention"),
    "reserved tag prefix": ({"tags": {"aws:owner": "me"}}, "tags.aws:owner", "may not start with 'aws:'"),
    "non-string tag value": ({"tags": {"Team": 7}}, "tags", "expected table of strings"),
    "configuration key as a tag": ({"tags": {"rds_instance_class": "db.t4g.large"}}, "tags.rds_instance_class",
                                   "is a configuration key, not a tag: in TOML every line after a [tags] header"),
    "image with spaces": ({"litellm_container_image": "my image"}, "litellm_container_image", "not a container image"),
    "secret in config file": ({"rds_master_password": "hunter2-not-real"}, "rds_master_password", "secrets do not belong in configuration files"),
    "engine minor version pinned": ({"rds_engine_version": "16.4"}, "rds_engine_version", "major version"),
    "backup retention zero": ({"rds_backup_retention_period": 0}, "rds_backup_retention_period", "between 1 and 35"),
    "max storage below allocated": ({"rds_allocated_storage": 100, "rds_max_allocated_storage": 50}, "rds_max_allocated_storage", "at least rds_allocated_storage"),
    "bad instance class": ({"rds_instance_class": "t4g.micro"}, "rds_instance_class", "not an RDS instance class"),
    "reserved master user": ({"rds_master_username": "postgres"}, "rds_master_username", "reserved"),
    "storage encryption off": ({"rds_storage_encrypted": False}, "rds_storage_encrypted", "cannot be turned off"),
    "redis version for engine": ({"redis_engine": "redis", "redis_engine_version": "8.0"}, "redis_engine_version", "not a supported redis version"),
    "redis nodes": ({"redis_num_cache_clusters": 7}, "redis_num_cache_clusters", "between 1 and 6"),
    "redis window too short": ({"redis_snapshot_window": "23:30-00:15"}, "redis_snapshot_window", "shorter than the 60 minutes"),
    "redis window": ({"redis_maintenance_window": "sunday 3am"}, "redis_maintenance_window", "ddd:hh24:mi"),
    "bad security group id": ({"additional_rds_allowed_security_group_ids": ["default"]}, "additional_rds_allowed_security_group_ids", "not a security group id"),
    "bad redis secret arn": ({"redis_auth_token_secret_arn": "arn:aws:s3:::bucket"}, "redis_auth_token_secret_arn", "not a Secrets Manager secret ARN"),
    "secret in plain environment": ({"litellm_environment": {"OPENAI_API_KEY": "x"}}, "litellm_environment.OPENAI_API_KEY", "looks like a secret"),
    "managed variable in environment": ({"litellm_environment": {"DATABASE_HOST": "x"}}, "litellm_environment.DATABASE_HOST", "set by the stack"),
    "litellm secret not an arn": ({"litellm_secrets": {"OPENAI_API_KEY": "sk-not-an-arn"}}, "litellm_secrets.OPENAI_API_KEY", "not a Secrets Manager secret ARN"),
    "health path calls models": ({"litellm_health_check_path": "/health"}, "litellm_health_check_path", "/health/readiness"),
    "autoscaling bounds": ({"litellm_autoscaling_min_capacity": 5, "litellm_autoscaling_max_capacity": 2}, "litellm_autoscaling_max_capacity", "min (5) <= max (2)"),
    "alb idle timeout": ({"alb_idle_timeout": 30}, "alb_idle_timeout", "between 60 and 4000"),
    "alb ingress cidr": ({"alb_ingress_cidrs": ["0.0.0.0/0", "1.2.3.4/40"]}, "alb_ingress_cidrs", "not a valid IPv4 CIDR"),
    "missing config file": ({"litellm_config_file": "config/litellm.yaml"}, "litellm_config_file", "does not exist"),
    "config file outside repo": ({"litellm_config_file": "../secrets.yaml"}, "litellm_config_file", "inside the repository"),
    "bad alarm email": ({"alarm_email": "oncall"}, "alarm_email", "not an email address"),
    "prod without https": ({"environment": "prod"}, "alb_https_certificate_arn", "production environment needs HTTPS"),
    # Issue 16: both accepted TLS 1.0 until the allow-list; the message lists the allowed names.
    "tls 1.0 policy named like tls 1.3": ({"alb_https_ssl_policy": "ELBSecurityPolicy-TLS13-1-0-2021-06"}, "alb_https_ssl_policy", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"),
    "the api's default tls policy": ({"alb_https_ssl_policy": "ELBSecurityPolicy-2016-08"}, "alb_https_ssl_policy", "oldest protocol is TLS 1.2 or newer"),
    # Issue 15: shaped like node types and instance classes, but no such family or size.
    "cache node family that does not exist": ({"redis_node_type": "cache.t9.huge"}, "redis_node_type", "unknown node family 't9'"),
    "cache node size of another family": ({"redis_node_type": "cache.t4g.large"}, "redis_node_type", "cache.t4g comes in micro, small, medium"),
    "rds class family that does not exist": ({"rds_instance_class": "db.x9.giant"}, "rds_instance_class", "unknown instance class family 'x9'"),
    "rds class size typo": ({"rds_instance_class": "db.t4g.mirco"}, "rds_instance_class", "unknown size 'mirco'"),
    "backend rds class family that does not exist": ({"backend_rds_enabled": True, "backend_rds_instance_class": "db.x9.giant"}, "backend_rds_instance_class", "e.g. db.t4g.micro"),
    "rds class given a cache node type": ({"rds_instance_class": "cache.t4g.micro"}, "rds_instance_class", "not an RDS instance class (db.<family>.<size>"),
    "bastion size that does not exist": ({"backend_db_bastion_instance_type": "t4g.huge"}, "backend_db_bastion_instance_type", "unknown size 'huge'"),
    "provider key in a plain variable": ({"litellm_environment": {"CUSTOM_LLM": "sk-proj-FAKEFAKEFAKEFAKEFAKE"}}, "litellm_environment.CUSTOM_LLM", "holds an OpenAI"),
    "public url over http": ({"litellm_public_url": "http://llm.example.com"}, "litellm_public_url", "https://"),
    "pools overflow the database": ({"litellm_num_workers": 8, "litellm_desired_count": 3}, "litellm_config_file", "= 240, more than 89"),
    "prod without https": ({"environment": "prod", "alb_allow_http_only": DELETE}, "alb_https_certificate_arn", "internet-facing load balancer needs HTTPS"),
    # Plain HTTP is an explicit opt-in in every environment, not only prod*.
    "dev without https": ({"alb_allow_http_only": DELETE}, "alb_https_certificate_arn", "internet-facing load balancer needs HTTPS"),
    "prod-like image by tag": ({"litellm_container_image": "ghcr.io/berriai/litellm:main-stable"}, "litellm_container_image", "pin the image by digest"),
    "prod-like short digest": ({"litellm_container_image": "ghcr.io/berriai/litellm@sha256:abc"}, "litellm_container_image", "pin the image by digest"),
    "prod-like alarms to nobody": ({"alarm_destination_waived": DELETE}, "alarm_email", "needs alarms_enabled = true and an alarm_email"),
    "prod-like alarms enabled, no email": ({"alarm_destination_waived": DELETE, "alarms_enabled": True}, "alarm_email", "alarm_email"),
    "bad admin cidr": ({"litellm_admin_cidrs": ["10.0.0.1/8"]}, "litellm_admin_cidrs", "has host bits set"),
    "too many admin cidrs": ({"litellm_admin_cidrs": [f"10.{i}.0.0/16" for i in range(25)]}, "litellm_admin_cidrs", "at most 24"),
    "bad waf count rule": ({"waf_enabled": True, "waf_count_only_rules": ["SizeRestrictions_BODY"]}, "waf_count_only_rules", "always counted"),
    "waf logging without waf": ({"waf_logging_enabled": True}, "waf_logging_enabled", "needs waf_enabled"),
    "bad waf log retention": ({"waf_log_retention_days": 8}, "waf_log_retention_days", "retention period"),
    "secret recovery window": ({"secret_recovery_window_days": 3}, "secret_recovery_window_days", "0 (delete at once) or 7-30"),
}


@pytest.mark.parametrize("case", BAD_ENVIRONMENTS)
def test_bad_environment_is_rejected_naming_file_and_key(tmp_path, case):
    overrides, key, fragment = BAD_ENVIRONMENTS[case]
    problems = problems_for(tmp_path, {"dev": overrides})
    matching = [p for p in problems if p.startswith(f"environments/dev.toml: {key}: ")]
    assert matching, problems
    assert fragment is None or any(fragment in p for p in matching), problems


BAD_FILES = {
    "key appended after [tags]": (
        "dev", 'aws_region = "eu-west-1"\navailability_zones = ["eu-west-1a", "eu-west-1b"]\n[tags]\nTeam = "ml"\n'
        'rds_instance_class = "db.t4g.large"\n',
        "environments/dev.toml: tags.rds_instance_class: 'rds_instance_class' is a configuration key, not a tag"),
    "empty file": ("dev", "", "environments/dev.toml: aws_region: required key is missing"),
    "invalid toml": ("dev", "aws_region = \n", "environments/dev.toml: (file): invalid TOML"),
    "not a table value": ("dev", "availability_zones = [1, 2]\naws_region = \"eu-west-1\"\n", "environments/dev.toml: availability_zones: expected list of string"),
    "bad file name": ("Dev_Env", None, "environments/Dev_Env.toml: (file name): 'Dev_Env' is not a valid stack name"),
    "reserved stack name": ("bootstrap", None, "environments/bootstrap.toml: (file name): 'bootstrap' is reserved"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_environment_file_is_rejected(tmp_path, case):
    name, body, expected = BAD_FILES[case]
    problems = problems_for(tmp_path, {name: body if body is not None else {}})
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path):
    problems = problems_for(tmp_path, {
        "dev": {"vpc_cidr": "10.0.0.0/33", "nat_gateway_mode": "dual"},
        "prod": {"availability_zones": ["eu-west-1a"], "alb_allow_http_only": True},
    })
    keys = sorted(p.split(": ")[1] for p in problems)
    assert keys == ["availability_zones", "nat_gateway_mode", "vpc_cidr"]


def test_duplicate_environment_names_are_rejected(tmp_path):
    problems = problems_for(tmp_path, {"dev": {}, "dev-copy": {"environment": "dev"}})
    assert problems == [
        "environments/dev.toml: environment: 'dev' with name_prefix 'litellm' is already used by "
        "environments/dev-copy.toml; resource names and state keys would collide"
    ] or problems == [
        "environments/dev-copy.toml: environment: 'dev' with name_prefix 'litellm' is already used by "
        "environments/dev.toml; resource names and state keys would collide"
    ]


def test_no_environment_files(tmp_path):
    problems = problems_for(tmp_path, environments={})
    assert problems == ["environments: (directory): has no <name>.toml environment file"]


BAD_BACKENDS = {
    "bucket name": ({"state_bucket_name": "My_Bucket"}, "state_bucket_name", "not a valid S3 bucket name"),
    "bucket like an ip": ({"state_bucket_name": "192.168.1.1"}, "state_bucket_name", "not a valid S3 bucket name"),
    "table name": ({"lock_table_name": "x"}, "lock_table_name", "not a valid DynamoDB table name"),
    "locking mode": ({"state_locking": "consul"}, "state_locking", "not one of dynamodb, lockfile"),
    "missing bucket": ({"state_bucket_name": DELETE}, "state_bucket_name", "required key is missing"),
    "unknown key": ({"bucket": "x"}, "bucket", "unknown key"),
    "expiry days": ({"noncurrent_version_expiration_days": 0}, "noncurrent_version_expiration_days", "at least 1"),
    "configuration key as a tag": ({"tags": {"state_locking": "lockfile"}}, "tags.state_locking", "is a configuration key, not a tag"),
    "state admin": ({"state_admin_principal_arns": ["admin"]}, "state_admin_principal_arns", "not an IAM role or user ARN"),
}


@pytest.mark.parametrize("case", BAD_BACKENDS)
def test_bad_backend_is_rejected(tmp_path, case):
    overrides, key, fragment = BAD_BACKENDS[case]
    problems = problems_for(tmp_path, backend=overrides)
    assert any(p.startswith(f"backend.toml: {key}: ") and fragment in p for p in problems), problems


@pytest.mark.parametrize("environment, role_prefix, problem", [
    ("ci-test", "litellm-ci", "backend.toml: ci_role_name_prefix: 'litellm-ci' overlaps the names of environments/ci-test.toml"),
    ("e" * 19, "r" * 40, f"environments/{'e' * 19}.toml: (file name): the CI role {'r' * 40}-{'e' * 19}-deploy would exceed IAM's 64"),
])
def test_ci_role_names_must_fit_and_stay_apart_from_environment_names(tmp_path, environment, role_prefix, problem):
    backend = {"github_repository": "acme/infra", "ci_role_name_prefix": role_prefix}
    problems = problems_for(tmp_path, environments={environment: {}}, backend=backend)
    assert any(p.startswith(problem) for p in problems), problems


def test_missing_backend_file(tmp_path):
    write_project(tmp_path)
    (tmp_path / "backend.toml").unlink()
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.problems[0].startswith("backend.toml: (file): missing")


def test_fargate_table_matches_aws_limits():
    # Spot checks against the ECS guide: the smallest and largest sizes and the 8-vCPU step.
    assert FARGATE_MEMORY_BY_CPU[256] == (512, 1024, 2048)
    assert FARGATE_MEMORY_BY_CPU[4096][-1] == 30720
    assert FARGATE_MEMORY_BY_CPU[8192][:2] == (16384, 20480)
    assert FARGATE_MEMORY_BY_CPU[16384][-1] == 122880


# ---------------------------------------------------------------------------- the LiteLLM config (issue 12)

FAKE_OPENAI_KEY = "sk-proj-FAKEFAKEFAKEFAKEFAKE"
OPENAI_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:openai-AbCdEf"
MODEL_YAML = """\
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
"""


def with_litellm_config(tmp_path, yaml_text: str, overrides: dict | None = None) -> object:
    root = write_project(tmp_path, {"dev": {"litellm_config_file": "config/team.yaml", **(overrides or {})}})
    (root / "config").mkdir()
    (root / "config" / "team.yaml").write_text(yaml_text)
    return root


def test_every_environment_gets_the_shipped_litellm_config_by_default(tmp_path, project):
    from tests.conftest import ROOT
    assert load_one(tmp_path).litellm_config_file == str(ROOT / "config" / "litellm.yaml")
    assert {env.litellm_config_file for env in project.environments} == {str(ROOT / "config" / "litellm.yaml")}


def test_a_name_the_litellm_config_uses_but_nobody_supplies_is_reported_in_full(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_project(with_litellm_config(tmp_path, MODEL_YAML))
    (problem,) = caught.value.problems
    assert problem.startswith(
        "environments/dev.toml: litellm_config_file: config/team.yaml: "
        "model_list[0].litellm_params.api_key: os.environ/OPENAI_API_KEY is not set in the container"
    )


def test_a_name_supplied_by_litellm_secrets_passes(tmp_path):
    root = with_litellm_config(tmp_path, MODEL_YAML, {"litellm_secrets": {"OPENAI_API_KEY": OPENAI_SECRET_ARN}})
    (env,) = load_project(root).environments
    assert env.litellm_config_file == str(root / "config" / "team.yaml")


@pytest.mark.parametrize("yaml_text, fragment", [
    (MODEL_YAML.replace("os.environ/OPENAI_API_KEY", FAKE_OPENAI_KEY), "model_list[0].litellm_params.api_key: holds an OpenAI"),
    ("general_settings:\n  master_key: not-a-real-master-key\n", "general_settings.master_key: a literal credential"),
    ("model_list: [\n", "(file): invalid YAML"),
    ("", "(file): must be a YAML mapping"),
])
def test_a_litellm_config_with_a_literal_secret_or_that_cannot_load_is_refused(tmp_path, yaml_text, fragment):
    with pytest.raises(ConfigError) as caught:
        load_project(with_litellm_config(tmp_path, yaml_text))
    assert any(p.startswith(f"environments/dev.toml: litellm_config_file: config/team.yaml: {fragment}")
               for p in caught.value.problems), caught.value.problems


def test_a_provider_key_in_a_plain_environment_value_is_refused(tmp_path):
    # Before: CUSTOM_LLM has no secret-looking name, so the key reached the task definition.
    problems = problems_for(tmp_path, {"dev": {"litellm_environment": {"CUSTOM_LLM": FAKE_OPENAI_KEY}}})
    (problem,) = problems
    assert problem.startswith("environments/dev.toml: litellm_environment.CUSTOM_LLM: holds an OpenAI")
    assert FAKE_OPENAI_KEY not in problem


def test_litellm_config_problems_are_reported_with_the_other_problems(tmp_path):
    root = with_litellm_config(tmp_path, MODEL_YAML, {"nat_gateway_mode": "dual"})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    keys = sorted(p.split(": ")[1] for p in caught.value.problems)
    assert keys == ["litellm_config_file", "nat_gateway_mode"]


@pytest.mark.parametrize("overrides, numbers", [
    # 4 vCPU -> 4 workers; 10 x 4 x 3 = 120 > 89 (80% of db.t4g.micro's 112)
    ({"litellm_task_cpu": 4096, "litellm_task_memory": 8192, "litellm_desired_count": 3},
     "10 connections per worker x 4 worker(s) per task x 3 task(s) (litellm_desired_count) = 120, more than 89"),
    ({"litellm_num_workers": 3, "litellm_autoscaling_enabled": True, "litellm_autoscaling_max_capacity": 4},
     "x 3 worker(s) per task x 4 task(s) (litellm_autoscaling_max_capacity) = 120"),
    ({"litellm_num_workers": 3, "litellm_manual_control_enabled": True, "litellm_manual_override_desired_count": 4},
     "(litellm_manual_override_desired_count) = 120"),
])
def test_connection_pools_must_fit_the_database(tmp_path, overrides, numbers):
    problems = problems_for(tmp_path, {"dev": {"rds_instance_class": "db.t4g.micro", **overrides}})
    (problem,) = problems
    assert problem.startswith("environments/dev.toml: litellm_config_file: config/litellm.yaml: "
                              "general_settings.database_connection_pool_limit: ")
    assert numbers in problem
    assert "default max_connections 112 of rds_instance_class db.t4g.micro" in problem


def test_a_larger_instance_class_or_smaller_pool_fits(tmp_path):
    busy = {"litellm_task_cpu": 4096, "litellm_task_memory": 8192, "litellm_desired_count": 3}
    load_one(tmp_path / "a", {**busy, "rds_instance_class": "db.t4g.small"})   # 120 <= 180
    root = with_litellm_config(tmp_path / "b", "general_settings:\n  database_connection_pool_limit: 7\n",
                               {**busy, "rds_instance_class": "db.t4g.micro"})   # 7x4x3 = 84 <= 89
    load_project(root)


def test_the_public_url_key_and_the_seed_spelling(tmp_path):
    assert load_one(tmp_path / "a").litellm_public_url is None
    url = "https://llm.example.com"
    assert load_one(tmp_path / "b", {"litellm_public_url": url}).litellm_public_url == url
    # The seed's spelling is honoured, never silently replaced by the ALB URL.
    seed = load_one(tmp_path / "c", {"litellm_environment": {"PROXY_BASE_URL": url}})
    assert seed.litellm_public_url == url
    both = load_one(tmp_path / "d", {"litellm_public_url": url, "litellm_environment": {"PROXY_BASE_URL": url + "/"}})
    assert both.litellm_public_url == url


@pytest.mark.parametrize("overrides, key, fragment", [
    ({"litellm_public_url": "http://llm.example.com"}, "litellm_public_url", "is not an https:// URL"),
    ({"litellm_environment": {"PROXY_BASE_URL": "llm.example.com"}}, "litellm_environment.PROXY_BASE_URL", "is not an https:// URL"),
    ({"litellm_public_url": "https://llm.example.com", "litellm_environment": {"PROXY_BASE_URL": "https://other.example.com"}},
     "litellm_environment.PROXY_BASE_URL", "contradicts litellm_public_url"),
])
def test_a_bad_or_contradicting_public_url_is_refused(tmp_path, overrides, key, fragment):
    problems = problems_for(tmp_path, {"dev": overrides})
    assert any(p.startswith(f"environments/dev.toml: {key}: ") and fragment in p for p in problems), problems


def test_the_alb_checks_liveliness_by_default(tmp_path):
    assert load_one(tmp_path).litellm_health_check_path == "/health/liveliness"
    assert load_one(tmp_path / "seed", {"litellm_health_check_path": "/health/readiness"}).litellm_health_check_path == "/health/readiness"


@pytest.mark.parametrize("name", ["DATABASE_PORT", "GRACEFUL_SHUTDOWN_TIMEOUT"])
def test_the_new_module_owned_variables_cannot_be_set(tmp_path, name):
    problems = problems_for(tmp_path, {"dev": {"litellm_environment": {name: "1"}}})
    assert problems == [f"environments/dev.toml: litellm_environment.{name}: is set by the stack itself"]
def test_http_opt_in_and_prod_rules_only_where_they_apply(tmp_path):
    # An internal ALB is not internet-facing: no opt-in needed for plain HTTP.
    internal = load_one(tmp_path / "a", {"alb_allow_http_only": DELETE, "alb_internal": True})
    assert internal.alb_allow_http_only is False
    # Not production-like: a tag and no alarm recipient are the user's call.
    dev = load_one(tmp_path / "b", {"rds_deletion_protection": False, "alarm_destination_waived": DELETE,
                                    "litellm_container_image": "ghcr.io/berriai/litellm:main-stable"})
    assert not dev.production_like
    pinned = load_one(tmp_path / "c", {"alarm_destination_waived": DELETE, "alarms_enabled": True,
                                       "alarm_email": "oncall@example.com"})
    assert pinned.production_like and pinned.litellm_container_image.endswith("ab" * 32)
    assert pinned.litellm_admin_cidrs is None
