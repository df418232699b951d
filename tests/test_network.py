"""modules/network.py, built on Testing.app() stacks (one per NAT mode), synthesized once."""

from __future__ import annotations

import json

import pytest
from cdktf import Testing, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.network import Network, NetworkProps
from tests.helpers import by_tag_name, data_sources, ref, ref_target, resources

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def _props(**overrides) -> NetworkProps:
    base = dict(
        name="unit-test",
        region="eu-west-1",
        vpc_cidr="10.0.0.0/16",
        availability_zones=ZONES,
        public_subnet_cidrs=("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"),
        private_subnet_cidrs=("10.0.10.0/24", "10.0.11.0/24", "10.0.12.0/24"),
    )
    base.update(overrides)
    return NetworkProps(**base)


CASES = {
    "none": _props(nat_gateway_mode="none"),
    "single": _props(nat_gateway_mode="single"),
    "per_az": _props(nat_gateway_mode="per_az", flow_logs_enabled=True, flow_logs_retention_days=90),
}


@pytest.fixture(scope="module")
def synthesized() -> dict[str, tuple[str, dict]]:
    app = Testing.app()
    out = {}
    for case, props in CASES.items():
        stack = TerraformStack(app, f"network-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        Network(stack, "network", props=props)
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text))
    return out


@pytest.mark.parametrize("case", CASES)
def test_one_public_and_one_private_subnet_per_zone(synthesized, case):
    _, stack = synthesized[case]
    subnets = list(resources(stack, "aws_subnet").values())
    assert len(subnets) == 2 * len(ZONES)
    for tier in ("public", "private"):
        tiered = [s for s in subnets if s["tags"]["Tier"] == tier]
        assert sorted(s["availability_zone"] for s in tiered) == list(ZONES)
        assert all(s["map_public_ip_on_launch"] is False for s in tiered)
    by_name = by_tag_name(stack, "aws_subnet")
    assert by_name["unit-test-private-eu-west-1b"]["cidr_block"] == "10.0.11.0/24"
    assert by_name["unit-test-public-eu-west-1c"]["cidr_block"] == "10.0.2.0/24"


def test_vpc_has_dns_support(synthesized):
    text, _ = synthesized["single"]
    assert Testing.to_have_resource_with_properties(
        text, "aws_vpc",
        {"cidr_block": "10.0.0.0/16", "enable_dns_support": True, "enable_dns_hostnames": True},
    )


@pytest.mark.parametrize("case", CASES)
def test_default_security_group_has_no_rules(synthesized, case):
    _, stack = synthesized[case]
    (default_sg,) = resources(stack, "aws_default_security_group").values()
    assert default_sg["ingress"] == [] and default_sg["egress"] == []


def _private_default_routes(stack: dict) -> dict[str, dict]:
    """AZ -> the 0.0.0.0/0 route of that AZ's private route table."""
    out = {}
    for route in resources(stack, "aws_route").values():
        table = ref_target(stack, route["route_table_id"])
        if table["tags"]["Name"].startswith("unit-test-private-"):
            assert route["destination_cidr_block"] == "0.0.0.0/0"
            out[table["tags"]["Name"].removeprefix("unit-test-private-")] = route
    return out


def test_nat_none_leaves_private_subnets_without_egress(synthesized):
    _, stack = synthesized["none"]
    assert resources(stack, "aws_nat_gateway") == {}
    assert resources(stack, "aws_eip") == {}
    assert _private_default_routes(stack) == {}


def test_nat_single_routes_every_zone_through_one_gateway(synthesized):
    _, stack = synthesized["single"]
    (nat,) = resources(stack, "aws_nat_gateway").values()
    routes = _private_default_routes(stack)
    assert sorted(routes) == list(ZONES)
    targets = {route["nat_gateway_id"] for route in routes.values()}
    assert len(targets) == 1
    assert ref_target(stack, targets.pop()) is nat
    # The NAT lives in a public subnet and waits for the internet gateway.
    assert ref_target(stack, nat["subnet_id"])["tags"]["Tier"] == "public"
    assert nat["depends_on"] and nat["depends_on"][0].startswith("aws_internet_gateway.")


def test_nat_per_az_keeps_traffic_in_its_zone(synthesized):
    _, stack = synthesized["per_az"]
    assert len(resources(stack, "aws_nat_gateway")) == len(ZONES)
    for zone, route in _private_default_routes(stack).items():
        nat = ref_target(stack, route["nat_gateway_id"])
        assert ref_target(stack, nat["subnet_id"])["availability_zone"] == zone


@pytest.mark.parametrize("case", CASES)
def test_public_route_table_goes_through_internet_gateway(synthesized, case):
    _, stack = synthesized[case]
    public_routes = [
        r for r in resources(stack, "aws_route").values()
        if ref_target(stack, r["route_table_id"])["tags"]["Name"] == "unit-test-public"
    ]
    assert len(public_routes) == 1
    assert ref(public_routes[0]["gateway_id"])[0] == "aws_internet_gateway"
    associations = resources(stack, "aws_route_table_association").values()
    assert len(associations) == 2 * len(ZONES)


def test_s3_gateway_endpoint_serves_every_private_route_table(synthesized):
    _, stack = synthesized["per_az"]
    (endpoint,) = resources(stack, "aws_vpc_endpoint").values()
    assert endpoint["service_name"] == "com.amazonaws.eu-west-1.s3"
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    tables = [ref_target(stack, r)["tags"]["Name"] for r in endpoint["route_table_ids"]]
    assert sorted(tables) == [f"unit-test-private-{z}" for z in ZONES]


def test_flow_logs_are_optional(synthesized):
    _, stack = synthesized["single"]
    assert resources(stack, "aws_flow_log") == {}
    assert resources(stack, "aws_cloudwatch_log_group") == {}


def test_flow_logs_write_to_a_retained_group_with_a_scoped_role(synthesized):
    _, stack = synthesized["per_az"]
    (flow_log,) = resources(stack, "aws_flow_log").values()
    assert flow_log["traffic_type"] == "ALL"
    group = ref_target(stack, flow_log["log_destination"])
    assert group["retention_in_days"] == 90
    policies = data_sources(stack, "aws_iam_policy_document")
    write = next(p for p in policies.values() if "logs:PutLogEvents" in p["statement"][0]["actions"])
    (resource,) = write["statement"][0]["resources"]
    assert resource.startswith("${aws_cloudwatch_log_group.") and resource.endswith(".arn}:*")
    assume = next(p for p in policies.values() if "sts:AssumeRole" in p["statement"][0]["actions"])
    assert assume["statement"][0]["principals"][0]["identifiers"] == ["vpc-flow-logs.amazonaws.com"]


def test_props_reject_mismatched_subnet_lists():
    with pytest.raises(ValueError, match="one public and one private subnet CIDR per AZ"):
        _props(private_subnet_cidrs=("10.0.10.0/24",))
    with pytest.raises(ValueError, match="nat_gateway_mode"):
        _props(nat_gateway_mode="double")
