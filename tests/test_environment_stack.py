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
