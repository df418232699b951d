"""stacks/environment_stack.py: provider, remote state and wiring, on the shipped dev/prod files."""

from __future__ import annotations

import dataclasses
import json

import pytest
from cdktf import Testing

from stacks.environment_stack import EnvironmentStack
from tests.helpers import by_tag_name, resources


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
            assert isinstance(value, str) and value.startswith("${"), f"{path}: literal secret"


def test_supplied_master_password_comes_from_a_sensitive_variable(project):
    env = dataclasses.replace(project.environment("dev"), rds_manage_master_password=False)
    stack = json.loads(Testing.synth(EnvironmentStack(Testing.app(), env=env, backend=project.backend)))
    variable = stack["variable"]["rds_master_password"]
    assert variable["sensitive"] is True and "default" not in variable
    assert _litellm_db(stack)["password"] == "${var.rds_master_password}"
