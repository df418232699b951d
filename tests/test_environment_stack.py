"""stacks/environment_stack.py: provider, remote state and wiring, on the shipped dev/prod files."""

from __future__ import annotations

import dataclasses
import json

import pytest
from cdktf import Testing

from stacks.environment_stack import EnvironmentStack
from tests.helpers import by_tag_name, data_sources, json_argument, ref, ref_target, resources


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_provider_region_and_default_tags(stack_json, project, name):
    env = project.environment(name)
    (provider,) = stack_json(name)["provider"]["aws"]
    assert provider["region"] == env.aws_region
    tags = provider["default_tags"][0]["tags"]
    assert tags["Environment"] == env.environment
    assert tags["Project"] == "litellm" and tags["ManagedBy"] == "cdktf"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_state_lives_in_the_shared_encrypted_backend(stack_json, project, name):
    backend = stack_json(name)["terraform"]["backend"]
    assert list(backend) == ["s3"]
    s3 = backend["s3"]
    assert s3["bucket"] == project.backend.state_bucket_name
    assert s3["region"] == project.backend.aws_region
    assert s3["key"] == f"{project.backend.state_key_prefix}/{name}/terraform.tfstate"
    assert s3["encrypt"] is True
    assert s3["dynamodb_table"] == project.backend.lock_table_name


def test_every_environment_has_its_own_state_key(stack_json, project):
    keys = [stack_json(env.stack_name)["terraform"]["backend"]["s3"]["key"] for env in project.environments]
    assert len(set(keys)) == len(keys)


def test_lockfile_locking_replaces_the_table(project):
    backend = dataclasses.replace(project.backend, state_locking="lockfile")
    stack = EnvironmentStack(Testing.app(), env=project.environment("dev"), backend=backend)
    s3 = json.loads(Testing.synth(stack))["terraform"]["backend"]["s3"]
    assert s3["use_lockfile"] is True
    assert "dynamodb_table" not in s3


def test_dev_is_cost_tuned_and_prod_highly_available(stack_json, project):
    dev, prod = stack_json("dev"), stack_json("prod")
    assert len(resources(dev, "aws_nat_gateway")) == 1
    assert len(resources(prod, "aws_nat_gateway")) == len(project.environment("prod").availability_zones)
    assert resources(dev, "aws_flow_log") == {}
    assert len(resources(prod, "aws_flow_log")) == 1


def test_resource_names_derive_from_prefix_and_environment(stack_json):
    assert "litellm-dev-vpc" in by_tag_name(stack_json("dev"), "aws_vpc")
    assert "litellm-prod-vpc" in by_tag_name(stack_json("prod"), "aws_vpc")
    subnets = by_tag_name(stack_json("dev"), "aws_subnet")
    assert subnets["litellm-dev-private-ap-southeast-1a"]["cidr_block"] == "10.20.10.0/24"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_outputs_expose_the_network(stack_json, name):
    outputs = stack_json(name)["output"]
    assert outputs["vpc_id"]["value"].startswith("${aws_vpc.")
    assert len(outputs["private_subnet_ids"]["value"]) == len(resources(stack_json(name), "aws_subnet")) // 2


# ---------------------------------------------------------------------------- data tier wiring


def _only(stack, tf_type, predicate=lambda cfg: True):
    matches = [cfg for cfg in resources(stack, tf_type).values() if predicate(cfg)]
    assert len(matches) == 1, f"expected one {tf_type}, found {len(matches)}"
    return matches[0]


def _litellm_db(stack):
    return _only(stack, "aws_db_instance", lambda db: not db["identifier"].endswith("-backend-postgres"))


def test_dev_has_the_seeds_backend_database_and_prod_does_not(stack_json):
    dev, prod = stack_json("dev"), stack_json("prod")
    assert len(resources(dev, "aws_db_instance")) == 2
    assert len(resources(prod, "aws_db_instance")) == 1
    for key in ("backend_rds_endpoint", "backend_rds_secret_arn", "backend_security_group_id"):
        assert key in dev["output"] and key not in prod["output"]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_datastore_outputs_are_addresses_not_host_port(stack_json, name):
    outputs = stack_json(name)["output"]
    assert outputs["rds_endpoint"]["value"].endswith(".address}")
    assert outputs["redis_endpoint"]["value"].endswith(".primary_endpoint_address}")
    if "backend_rds_endpoint" in outputs:
        assert outputs["backend_rds_endpoint"]["value"].endswith(".address}")


def test_prod_datastores_are_durable(stack_json, project):
    prod = stack_json("prod")
    db = _litellm_db(prod)
    assert db["multi_az"] is True and db["deletion_protection"] is True
    assert db["backup_retention_period"] >= 7
    assert db["skip_final_snapshot"] is False and db["final_snapshot_identifier"]
    assert db["storage_encrypted"] is True
    cache = _only(prod, "aws_elasticache_replication_group")
    assert cache["automatic_failover_enabled"] is True and cache["multi_az_enabled"] is True
    assert cache["snapshot_retention_limit"] >= 7


def test_dev_datastores_are_cheap_and_disposable(stack_json):
    dev = stack_json("dev")
    db = _litellm_db(dev)
    assert db["multi_az"] is False and db["deletion_protection"] is False
    assert db["instance_class"].startswith("db.t4g.")
    cache = _only(dev, "aws_elasticache_replication_group")
    assert cache["num_cache_clusters"] == 1 and cache["automatic_failover_enabled"] is False


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_no_cidr_ingress_to_any_datastore_port(stack_json, name):
    stack = stack_json(name)
    for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values():
        if rule.get("from_port") in (5432, 6379):
            assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
            assert rule["referenced_security_group_id"].startswith("${aws_security_group.")
    for group in resources(stack, "aws_security_group").values():
        assert not group.get("ingress"), "data store groups must not carry inline CIDR rules"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_transport_encryption_is_required_everywhere(stack_json, name):
    stack = stack_json(name)
    for group in resources(stack, "aws_db_parameter_group").values():
        assert {"name": "rds.force_ssl", "value": "1"} in [
            {"name": p["name"], "value": str(p["value"])} for p in group["parameter"]
        ]
    cache = _only(stack, "aws_elasticache_replication_group")
    assert cache["transit_encryption_enabled"] is True
    assert cache["auth_token"].startswith("${")


SECRET_ATTRIBUTES = ("password", "auth_token", "secret_string", "master_password")


def _walk(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, path + (index,))
    else:
        yield path, value


@pytest.mark.parametrize("name", ["bootstrap", "dev", "prod"])
def test_secret_attributes_hold_only_references(stack_json, name):
    """Every password/token/secret_string in the JSON is a Terraform expression, never a value."""
    for path, value in _walk(stack_json(name).get("resource", {})):
        if isinstance(path[-1], str) and path[-1] in SECRET_ATTRIBUTES:
            # The only literal allowed around a reference is LiteLLM's "sk-" key prefix.
            assert isinstance(value, str) and value.removeprefix("sk-").startswith("${"), f"{path}: literal secret"


def test_supplied_master_password_comes_from_a_sensitive_variable(project):
    env = dataclasses.replace(project.environment("dev"), rds_manage_master_password=False)
    stack = json.loads(Testing.synth(EnvironmentStack(Testing.app(), env=env, backend=project.backend)))
    variable = stack["variable"]["rds_master_password"]
    assert variable["sensitive"] is True and "default" not in variable
    assert _litellm_db(stack)["password"] == "${var.rds_master_password}"


# ---------------------------------------------------------------------------- service wiring


def _container(stack):
    (task,) = resources(stack, "aws_ecs_task_definition").values()
    (container,) = json_argument(stack, task["container_definitions"])
    return container


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_service_names_are_deterministic_literals(stack_json, name):
    stack = stack_json(name)
    (cluster,) = resources(stack, "aws_ecs_cluster").values()
    (service,) = resources(stack, "aws_ecs_service").values()
    assert cluster["name"] == f"litellm-{name}-cluster"
    assert service["name"] == f"litellm-{name}-litellm"
    for output in ("litellm_alb_dns_name", "litellm_cluster_name", "litellm_service_name", "litellm_gateway_url"):
        assert output in stack["output"]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_container_gets_datastores_as_env_and_secrets(stack_json, name):
    container = _container(stack_json(name))
    env = {item["name"]: item["value"] for item in container["environment"]}
    secrets = {item["name"]: item["valueFrom"] for item in container["secrets"]}
    assert env["DATABASE_HOST"].endswith(".address}")
    assert env["REDIS_HOST"].endswith(".primary_endpoint_address}")
    assert env["REDIS_SSL"] == "true"
    assert env["PROXY_BASE_URL"].startswith("http")
    assert secrets["DATABASE_USERNAME"].endswith(":username::")
    assert secrets["DATABASE_PASSWORD"].endswith(":password::")
    assert secrets["REDIS_PASSWORD"].startswith("${aws_secretsmanager_secret.")
    assert {"LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"} <= set(secrets)
    assert not {"DATABASE_PASSWORD", "REDIS_PASSWORD", "LITELLM_MASTER_KEY"} & set(env)


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_forwarded_headers_are_trusted_only_from_the_alb_subnets(stack_json, project, name):
    env = {item["name"]: item["value"] for item in _container(stack_json(name))["environment"]}
    config = project.environment(name)
    subnets = config.private_subnet_cidrs if config.alb_internal else config.public_subnet_cidrs
    assert env["FORWARDED_ALLOW_IPS"].split(",") == list(subnets)


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_execution_role_may_read_every_injected_secret(stack_json, name):
    stack = stack_json(name)
    readable = set()
    for document in data_sources(stack, "aws_iam_policy_document").values():
        for statement in document["statement"]:
            if "secretsmanager:GetSecretValue" in statement.get("actions", []):
                readable.update(statement["resources"])
    for secret in _container(stack)["secrets"]:
        value_from = secret["valueFrom"]
        base = value_from.split("}")[0] + "}" if value_from.startswith("${") else value_from
        assert base in readable, f"{secret['name']}: execution role cannot read {base}"


def _rules(stack, tf_type):
    return list(resources(stack, tf_type).values())


def _group_name(stack, reference):
    return ref_target(stack, reference)["name"]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_network_path_is_opened_on_both_ends(stack_json, name):
    stack = stack_json(name)
    prefix = f"litellm-{name}"
    egress = {(_group_name(stack, r["security_group_id"]), _group_name(stack, r["referenced_security_group_id"]), r["from_port"])
              for r in _rules(stack, "aws_vpc_security_group_egress_rule") if "referenced_security_group_id" in r}
    ingress = {(_group_name(stack, r["referenced_security_group_id"]), _group_name(stack, r["security_group_id"]), r["from_port"])
               for r in _rules(stack, "aws_vpc_security_group_ingress_rule") if "referenced_security_group_id" in r}
    alb_paths = [path for path in egress if path[0].endswith("-alb") and path[2] == 4000]
    assert len(alb_paths) == 1
    service_group = alb_paths[0][1]
    for path in [alb_paths[0], (service_group, f"{prefix}-postgres", 5432), (service_group, f"{prefix}-redis", 6379)]:
        assert path in egress, f"missing egress {path}"
        assert path in ingress, f"missing ingress {path}"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_only_the_alb_is_open_to_the_internet_and_only_on_80_443(stack_json, name):
    stack = stack_json(name)
    for rule in _rules(stack, "aws_vpc_security_group_ingress_rule"):
        if rule.get("cidr_ipv4") == "0.0.0.0/0":
            assert rule["from_port"] in (80, 443) and rule["to_port"] == rule["from_port"]
            assert _group_name(stack, rule["security_group_id"]).endswith("-alb")


def test_alarms_follow_the_environment(stack_json):
    dev, prod = stack_json("dev"), stack_json("prod")
    # dev has alarms_enabled = false: only the scale-to-zero wake alarm, which notifies nobody.
    dev_alarms = list(resources(dev, "aws_cloudwatch_metric_alarm").values())
    assert [a["metric_name"] for a in dev_alarms] == ["HTTPCode_ELB_503_Count"]
    assert "alarm_topic_arn" not in dev["output"]
    alarms = resources(prod, "aws_cloudwatch_metric_alarm").values()
    assert "alarm_topic_arn" in prod["output"]
    db_ids = {a["dimensions"]["DBInstanceIdentifier"] for a in alarms if "DBInstanceIdentifier" in a.get("dimensions", {})}
    literal_ids = {db["identifier"] for db in resources(prod, "aws_db_instance").values()}
    assert db_ids == literal_ids, "alarm dimensions must name the real DB instances"
    cache = _only(prod, "aws_elasticache_replication_group")
    node_ids = {a["dimensions"]["CacheClusterId"] for a in alarms if "CacheClusterId" in a.get("dimensions", {})}
    assert node_ids == {f"{cache['replication_group_id']}-{i:03d}" for i in range(1, cache["num_cache_clusters"] + 1)}


def test_prod_is_protected_against_accidental_loss(stack_json):
    prod = stack_json("prod")
    (alb,) = resources(prod, "aws_lb").values()
    assert alb["enable_deletion_protection"] is True
    salt = [s for s in resources(prod, "aws_secretsmanager_secret").values() if s["name"].endswith("litellm-salt-key")]
    assert salt and salt[0]["lifecycle"]["prevent_destroy"] is True


def test_secret_recovery_window_follows_the_environment(stack_json, project):
    # Every secret the stack names itself (master key, salt key, Redis token, backend DB): dev
    # deletes them at once so a destroy + deploy works the same day; prod keeps 7 days.
    expected_names = {"litellm-master-key", "litellm-salt-key", "backend-rds"}
    for name, days in (("dev", 0), ("prod", 7)):
        assert project.environment(name).secret_recovery_window_days == days
        secrets = resources(stack_json(name), "aws_secretsmanager_secret").values()
        assert secrets
        assert {s["name"]: s["recovery_window_in_days"] for s in secrets} == {s["name"]: days for s in secrets}
    dev_names = {s["name"] for s in resources(stack_json("dev"), "aws_secretsmanager_secret").values()}
    assert all(any(n.endswith(suffix) for n in dev_names) for suffix in expected_names), dev_names
    assert any("redis" in n or "cache" in n for n in dev_names), dev_names


def test_dev_can_be_boosted_and_sleeps_when_idle(stack_json, project):
    dev = stack_json("dev")
    routes = resources(dev, "aws_apigatewayv2_route").values()
    assert sorted(r["route_key"] for r in routes) == ["GET /litellm/status", "POST /litellm/override"]
    assert all(r["authorization_type"] == "AWS_IAM" for r in routes)
    assert "litellm_manual_control_api_url" in dev["output"]
    (function,) = [f for f in resources(dev, "aws_lambda_function").values()
                   if f["function_name"] == "litellm-dev-manual-control"]
    variables = function["environment"]["variables"]
    assert variables["CLUSTER_NAME"].endswith(".name}") and variables["SERVICE_NAME"].endswith(".name}")
    assert variables["IDLE_SHUTDOWN_MINUTES"] == str(project.environment("dev").litellm_idle_shutdown_minutes)
    prod = stack_json("prod")
    assert resources(prod, "aws_apigatewayv2_api") == {}
    assert "litellm_manual_control_api_url" not in prod["output"]


def test_bastion_reaches_both_databases_in_dev(stack_json):
    dev = stack_json("dev")
    assert "backend_db_bastion_instance_id" in dev["output"]
    # Operators attach it to open tunnels (port forwarding only, no shell).
    assert "backend_db_bastion_tunnel_policy_arn" in dev["output"]
    (instance,) = resources(dev, "aws_instance").values()
    assert instance["metadata_options"]["http_tokens"] == "required"
    assert instance["associate_public_ip_address"] is False
    ingress = {(_group_name(dev, r["referenced_security_group_id"]), _group_name(dev, r["security_group_id"]), r["from_port"])
               for r in _rules(dev, "aws_vpc_security_group_ingress_rule") if "referenced_security_group_id" in r}
    egress = {(_group_name(dev, r["security_group_id"]), _group_name(dev, r["referenced_security_group_id"]), r["from_port"])
              for r in _rules(dev, "aws_vpc_security_group_egress_rule") if "referenced_security_group_id" in r}
    for database in ("litellm-dev-postgres", "litellm-dev-backend-db"):
        assert ("litellm-dev-bastion", database, 5432) in ingress
        assert ("litellm-dev-bastion", database, 5432) in egress
    assert resources(stack_json("prod"), "aws_instance") == {}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_a_rotated_database_password_restarts_the_tasks(stack_json, name):
    stack = stack_json(name)
    (rule,) = [r for r in resources(stack, "aws_cloudwatch_event_rule").values()
               if r["name"].endswith("-redeploy-on-secret-rotation")]
    pattern = json_argument(stack, rule["event_pattern"])
    secret = _litellm_db(stack)
    assert pattern["resources"] == ["${aws_db_instance." + ref_target_name(stack, secret) + ".master_user_secret[0].secret_arn}"]


def ref_target_name(stack, config):
    """Logical name of a resource config inside the stack JSON."""
    for tf_type, items in stack["resource"].items():
        for name, candidate in items.items():
            if candidate is config:
                return name
    raise KeyError("not found")


# --- the gateway serves out of the box (issue 12) ---------------------------------------------

def _env_and_secrets(stack):
    container = _container(stack)
    return ({item["name"]: item["value"] for item in container["environment"]},
            {item["name"]: item["valueFrom"] for item in container["secrets"]})


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_shipped_litellm_config_is_uploaded_and_loaded(stack_json, name):
    # Without a config LiteLLM has no models and never opens a Redis connection.
    stack = stack_json(name)
    (obj,) = resources(stack, "aws_s3_object").values()
    assert obj["key"] == "config.yaml"
    env, _ = _env_and_secrets(stack)
    _, bucket_id, _ = ref(obj["bucket"])
    assert env["LITELLM_CONFIG_BUCKET_NAME"] == f"${{aws_s3_bucket.{bucket_id}.bucket}}"
    assert env["LITELLM_CONFIG_BUCKET_OBJECT_KEY"] == "config.yaml"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_database_port_is_its_own_variable(stack_json, name):
    env, _ = _env_and_secrets(stack_json(name))
    assert env["DATABASE_HOST"].startswith("${aws_db_instance.") and env["DATABASE_HOST"].endswith(".address}")
    assert env["DATABASE_PORT"] == "5432"


def test_a_database_port_litellm_cannot_reach_is_refused():
    from stacks.environment_stack import database_environment
    assert database_environment("db.internal", 5432, "litellm")["DATABASE_HOST"] == "db.internal"
    with pytest.raises(ValueError, match="ignores DATABASE_PORT and newer images append it"):
        database_environment("db.internal", 5433, "litellm")


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_stack_sets_only_the_variables_it_declares(stack_json, project, name):
    from core.litellm_config import MODULE_ENVIRONMENT, MODULE_SECRETS, STACK_ENVIRONMENT, STACK_SECRETS
    env, secrets = _env_and_secrets(stack_json(name))
    user = project.environment(name)
    assert set(env) - set(user.litellm_environment) == STACK_ENVIRONMENT | MODULE_ENVIRONMENT
    assert set(secrets) - set(user.litellm_secrets) == STACK_SECRETS | MODULE_SECRETS


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_alb_checks_liveliness_and_drains_longer_than_litellm(stack_json, name):
    stack = stack_json(name)
    (target_group,) = resources(stack, "aws_lb_target_group").values()
    assert target_group["health_check"]["path"] == "/health/liveliness"
    env, _ = _env_and_secrets(stack)
    graceful = int(env["GRACEFUL_SHUTDOWN_TIMEOUT"])
    # ECS deregisters the task and waits for the ALB's draining before SIGTERM; then LiteLLM drains
    # for GRACEFUL_SHUTDOWN_TIMEOUT and exits before the SIGKILL at stopTimeout.
    assert int(target_group["deregistration_delay"]) >= graceful
    assert graceful < _container(stack)["stopTimeout"]


def test_the_public_url_feeds_proxy_base_url_and_the_gateway_output(tmp_path):
    from core.config import load_project
    from tests.config_files import write_project
    url = "https://llm.example.com"
    # The seed's spelling: before, the stack silently replaced it with the ALB's URL.
    project = load_project(write_project(tmp_path, {"dev": {"litellm_environment": {"PROXY_BASE_URL": url}}}))
    stack = json.loads(Testing.synth(EnvironmentStack(Testing.app(), env=project.environments[0], backend=project.backend)))
    env, _ = _env_and_secrets(stack)
    assert env["PROXY_BASE_URL"] == url
    assert stack["output"]["litellm_gateway_url"]["value"] == url


def test_without_a_public_url_the_gateway_is_the_albs(stack_json):
    stack = stack_json("dev")
    env, _ = _env_and_secrets(stack)
    assert env["PROXY_BASE_URL"] == stack["output"]["litellm_gateway_url"]["value"]
    assert ".dns_name}" in env["PROXY_BASE_URL"]
# EC2 passes no aws:SourceAccount when an instance profile's role is assumed; an instance
# profile cannot be used from another account anyway.
_NO_SOURCE_ACCOUNT = {"ec2.amazonaws.com"}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_service_trust_policy_pins_our_account(stack_json, name):
    """Confused deputy: a service may assume our roles only when acting for this account."""
    stack = stack_json(name)
    documents = data_sources(stack, "aws_iam_policy_document")
    checked = set()
    for role in resources(stack, "aws_iam_role").values():
        document = documents[role["assume_role_policy"].split(".")[2]]
        for statement in document["statement"]:
            services = {i for p in statement.get("principals", []) if p["type"] == "Service" for i in p["identifiers"]}
            if not services or services <= _NO_SOURCE_ACCOUNT:
                continue
            conditions = {c["variable"]: c for c in statement.get("condition", [])}
            assert "aws:SourceAccount" in conditions, (role["name"], services)
            assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
            checked |= services
    expected = {"ecs-tasks.amazonaws.com", "lambda.amazonaws.com"}
    if name == "prod":
        expected.add("vpc-flow-logs.amazonaws.com")
    assert expected <= checked


def test_dev_tears_down_cleanly_and_prod_keeps_its_data(stack_json):
    dev, prod = stack_json("dev"), stack_json("prod")
    # An ECR repository holding an image refuses deletion unless force_delete.
    (dev_repository,) = resources(dev, "aws_ecr_repository").values()
    (prod_repository,) = resources(prod, "aws_ecr_repository").values()
    assert dev_repository["force_delete"] is True
    assert "force_delete" not in prod_repository
    (dev_cache,) = resources(dev, "aws_elasticache_replication_group").values()
    (prod_cache,) = resources(prod, "aws_elasticache_replication_group").values()
    assert "final_snapshot_identifier" not in dev_cache
    # Unique per created group (a random suffix), so a second destroy never collides.
    assert prod_cache["final_snapshot_identifier"].startswith(f"{prod_cache['replication_group_id']}-final-${{random_id.")
    (prod_db,) = [i for i in resources(prod, "aws_db_instance").values() if not i["skip_final_snapshot"]]
    assert "-final-${random_id." in prod_db["final_snapshot_identifier"]


def test_production_encrypts_logs_secrets_and_cache_with_its_own_key_and_keeps_logs_a_year(stack_json):
    prod, dev = stack_json("prod"), stack_json("dev")
    # The environment key's ARN is built from its key policy resource (see modules/encryption_key).
    env_key = "key/${aws_kms_key_policy.encryption-key_"
    for group in resources(prod, "aws_cloudwatch_log_group").values():
        assert env_key in group["kms_key_id"], group["name"]
        assert group["retention_in_days"] >= 365, group["name"]
    for secret in resources(prod, "aws_secretsmanager_secret").values():
        assert env_key in secret["kms_key_id"], secret["name"]
    (cache,) = resources(prod, "aws_elasticache_replication_group").values()
    assert env_key in cache["kms_key_id"]
    (function,) = resources(prod, "aws_lambda_function").values()
    assert env_key in function["kms_key_arn"] and function["tracing_config"]["mode"] == "Active"
    # The tasks still read their secrets: the execution role may decrypt through Secrets Manager.
    documents = data_sources(prod, "aws_iam_policy_document").values()
    (decrypt,) = [s for d in documents for s in d["statement"] if s.get("sid") == "DecryptSecrets"]
    assert any(env_key in resource for resource in decrypt["resources"])
    # Dev stays on the free AWS-managed encryption.
    for group in resources(dev, "aws_cloudwatch_log_group").values():
        assert "kms_key_id" not in group, group["name"]
    assert not [s for s in resources(dev, "aws_secretsmanager_secret").values() if "kms_key_id" in s]
