"""modules/bastion.py, built on Testing.app() stacks (behind NAT / without NAT), synthesized once.

The ``terraform``-marked test also puts the no-NAT stack through the offline init/validate/plan
of tests/terraform_harness.py. Neither can show what only ``apply`` shows: that EC2 resolves the
launch template's ``resolve:ssm:`` image and that the agent registers with SSM."""

from __future__ import annotations

import json
import re

import pytest
from cdktf import Testing, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.bastion import Bastion, BastionProps
from tests import prefetch
from tests import terraform_harness as th
from tests.helpers import data_sources, ref, ref_target, resources

AL2023_ARM64 = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
EXPOSED = ("instance_id", "instance_name", "security_group_id", "role_name", "tunnel_policy_arn")


def _props(**overrides) -> BastionProps:
    base = dict(
        name="unit-test",
        region="eu-west-1",
        vpc_id="vpc-0unittest",
        subnet_id="subnet-0private-a",
    )
    base.update(overrides)
    return BastionProps(**base)


CASES = {
    # Private subnets behind a NAT gateway: defaults only, plus the two databases.
    "nat": _props(),
    # nat_gateway_mode = "none": the agent needs interface endpoints.
    "no_nat": _props(
        name="unit-prod",
        region="eu-central-1",
        subnet_id="subnet-0private-b",
        instance_type="m7g.medium",
        create_ssm_endpoints=True,
        endpoint_subnet_ids=("subnet-0private-b", "subnet-0private-c"),
        root_volume_size=16,
        detailed_monitoring=True,
    ),
}


# Session scope: the no-NAT plan test runs at the end of the session (tests/prefetch.py), after
# this module's other tests; a module-scoped fixture would be torn down and synthesized again.
@pytest.fixture(scope="session")
def synthesized() -> dict[str, tuple[str, dict]]:
    app = Testing.app()
    out = {}
    for case, props in CASES.items():
        stack = TerraformStack(app, f"bastion-{case}")
        AwsProvider(stack, "aws", region=props.region)
        bastion = Bastion(stack, "bastion", props=props)
        if case == "nat":
            bastion.allow_egress_to("backend-db", "sg-0backenddb", 5432, "To the backend PostgreSQL")
            bastion.allow_egress_to("litellm-db", "sg-0litellmdb", 5433)
        for attribute in EXPOSED:
            TerraformOutput(stack, attribute, value=getattr(bastion, attribute))
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text))
    prefetch.start("bastion-no-nat-plan", out["no_nat"][1])
    return out


def _instance(stack: dict) -> dict:
    (instance,) = resources(stack, "aws_instance").values()
    return instance


def _bastion_sg_ref(stack: dict) -> str:
    (group_ref,) = _instance(stack)["vpc_security_group_ids"]
    return group_ref


def _launch_template(stack: dict) -> dict:
    return ref_target(stack, _instance(stack)["launch_template"]["id"])


@pytest.mark.parametrize("case", CASES)
def test_instance_metadata_requires_imdsv2_with_one_hop(synthesized, case):
    _, stack = synthesized[case]
    imdsv2_only = {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1}
    assert _instance(stack)["metadata_options"] == imdsv2_only
    assert _launch_template(stack)["metadata_options"] == imdsv2_only


@pytest.mark.parametrize("case", CASES)
def test_root_volume_is_encrypted_gp3_on_the_al2023_root_device(synthesized, case):
    _, stack = synthesized[case]
    (mapping,) = _launch_template(stack)["block_device_mappings"]
    # A different device name would add a second volume and leave the AMI's root unencrypted.
    assert mapping["device_name"] == "/dev/xvda"
    ebs = mapping["ebs"]
    assert (ebs["encrypted"], ebs["volume_type"], ebs["delete_on_termination"]) == ("true", "gp3", "true")
    assert ebs["volume_size"] == CASES[case].root_volume_size


def test_root_volume_size_follows_props(synthesized):
    sizes = {case: _launch_template(stack)["block_device_mappings"][0]["ebs"]["volume_size"]
             for case, (_, stack) in synthesized.items()}
    assert sizes == {"nat": 8, "no_nat": 16}


@pytest.mark.parametrize("case", CASES)
def test_image_is_al2023_arm64_resolved_by_ec2_at_launch(synthesized, case):
    _, stack = synthesized[case]
    instance = _instance(stack)
    assert _launch_template(stack)["image_id"] == AL2023_ARM64
    # The instance follows the template's newest version, which changes only with the template's
    # own configuration, never with an AMI release.
    assert ref(instance["launch_template"]["version"])[2] == "latest_version"
    # Either argument next to a resolve:ssm image makes the provider call DescribeImages with it
    # at apply (InvalidAMIID.Malformed), which no offline plan would catch.
    assert "ami" not in instance and "root_block_device" not in instance
    # No AWS lookup at plan time: the offline plan refuses such data sources.
    th.check_data_sources(stack)


def test_instance_type_defaults_to_graviton_nano_with_capped_credits(synthesized):
    nat, no_nat = _instance(synthesized["nat"][1]), _instance(synthesized["no_nat"][1])
    assert nat["instance_type"] == "t4g.nano"
    assert nat["credit_specification"] == {"cpu_credits": "standard"}
    assert no_nat["instance_type"] == "m7g.medium"
    assert "credit_specification" not in no_nat  # not burstable: nothing to cap


def test_monitoring_is_optional(synthesized):
    assert _instance(synthesized["nat"][1])["monitoring"] is False
    assert _instance(synthesized["no_nat"][1])["monitoring"] is True


@pytest.mark.parametrize("case", CASES)
def test_private_subnet_without_public_ip_or_key_pair(synthesized, case):
    _, stack = synthesized[case]
    instance, template = _instance(stack), _launch_template(stack)
    assert instance["subnet_id"] == CASES[case].subnet_id
    assert instance["associate_public_ip_address"] is False
    for config in (instance, template):
        assert "key_name" not in config and "network_interfaces" not in config
        assert "user_data" not in config
    assert resources(stack, "aws_key_pair") == {}


@pytest.mark.parametrize("case", CASES)
def test_disposable_and_stoppable(synthesized, case):
    _, stack = synthesized[case]
    instance = _instance(stack)
    assert instance["disable_api_termination"] is False
    assert instance["instance_initiated_shutdown_behavior"] == "stop"
    assert instance["ebs_optimized"] is True
    assert instance["tags"]["Name"] == f"{CASES[case].name}-bastion"


@pytest.mark.parametrize("case", CASES)
def test_bastion_security_group_admits_nothing(synthesized, case):
    _, stack = synthesized[case]
    group_ref = _bastion_sg_ref(stack)
    group = ref_target(stack, group_ref)
    assert "ingress" not in group and "egress" not in group
    assert group["name"] == f"{CASES[case].name}-bastion"
    ingress_into_bastion = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
                            if r["security_group_id"] == group_ref]
    assert ingress_into_bastion == []
    assert resources(stack, "aws_security_group_rule") == {}


@pytest.mark.parametrize("case", CASES)
def test_bastion_egress_is_https_plus_allowed_databases(synthesized, case):
    _, stack = synthesized[case]
    group_ref = _bastion_sg_ref(stack)
    rules = sorted(
        (r.get("cidr_ipv4") or r["referenced_security_group_id"], r["ip_protocol"], r["from_port"], r["to_port"])
        for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
        if r["security_group_id"] == group_ref
    )
    expected = [("0.0.0.0/0", "tcp", 443, 443)]
    if case == "nat":
        expected += [("sg-0backenddb", "tcp", 5432, 5432), ("sg-0litellmdb", "tcp", 5433, 5433)]
    assert rules == sorted(expected)


def test_allow_egress_to_keeps_its_description(synthesized):
    _, stack = synthesized["nat"]
    descriptions = {r.get("referenced_security_group_id"): r["description"]
                    for r in resources(stack, "aws_vpc_security_group_egress_rule").values()}
    assert descriptions["sg-0backenddb"] == "To the backend PostgreSQL"
    assert descriptions["sg-0litellmdb"] == "To a database"


@pytest.mark.parametrize("case", CASES)
def test_role_carries_only_the_minimal_ssm_agent_policy(synthesized, case):
    _, stack = synthesized[case]
    # No AmazonSSMManagedInstanceCore: it grants ssm:GetParameter(s) on every parameter.
    assert resources(stack, "aws_iam_role_policy_attachment") == {}
    (role,) = resources(stack, "aws_iam_role").values()
    assert "inline_policy" not in role and "managed_policy_arns" not in role
    ((policy_name, policy),) = resources(stack, "aws_iam_role_policy").items()
    assert ref_target(stack, policy["role"]) is role
    document = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", policy["policy"])
    statements = {s["sid"]: s for s in data_sources(stack, "aws_iam_policy_document")[document.group(1)]["statement"]}
    assert statements["RegisterWithSsm"]["actions"] == ["ssm:UpdateInstanceInformation"]
    (instances,) = statements["RegisterWithSsm"]["resources"]
    assert re.fullmatch(r"arn:\$\{data\.aws_partition\.[\w-]+\.partition\}:ec2:[a-z0-9-]+:\$\{aws_security_group\.[\w-]+\.owner_id\}:instance/\*", instances), instances
    assert set(statements["SessionChannels"]["actions"]) == {
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}
    every_action = [a for s in statements.values() for a in s["actions"]]
    assert not [a for a in every_action if "Parameter" in a or a.endswith("*")]
    document = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", role["assume_role_policy"])
    assume = data_sources(stack, "aws_iam_policy_document")[document.group(1)]
    (statement,) = assume["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["ec2.amazonaws.com"]}]
    # The instance gets that role through its profile and starts only once the policy exists.
    instance = _instance(stack)
    profile = ref_target(stack, instance["iam_instance_profile"])
    assert ref_target(stack, profile["role"]) is role
    assert instance["depends_on"] == [f"aws_iam_role_policy.{policy_name}"]


@pytest.mark.parametrize("case", CASES)
def test_operators_tunnel_policy_allows_port_forwarding_only(synthesized, case):
    _, stack = synthesized[case]
    (policy,) = resources(stack, "aws_iam_policy").values()
    document = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", policy["policy"])
    statements = {s["sid"]: s for s in data_sources(stack, "aws_iam_policy_document")[document.group(1)]["statement"]}
    start = statements["PortForwardOnly"]
    assert start["actions"] == ["ssm:StartSession"]
    instance_ref, document_arn = start["resources"]
    assert ref_target(stack, instance_ref) is _instance(stack)
    assert document_arn.endswith("::document/AWS-StartPortForwardingSessionToRemoteHost")
    # Without the access check a StartSession naming no document opens a shell.
    assert start["condition"] == [{"test": "BoolIfExists", "variable": "ssm:SessionDocumentAccessCheck",
                                   "values": ["true"]}]
    assert statements["OwnSessions"]["resources"][0].endswith(":session/&{aws:userid}-*")
    assert ref_target(stack, statements["StartStopBastion"]["resources"][0]) is _instance(stack)
    every_action = {a for s in statements.values() for a in s["actions"]}
    assert not [a for a in every_action if a.endswith("*") or a.startswith(("secretsmanager", "ssm:Send", "ssm:GetParameter"))]


def test_no_ssm_endpoints_unless_asked(synthesized):
    _, stack = synthesized["nat"]
    assert resources(stack, "aws_vpc_endpoint") == {}
    assert len(resources(stack, "aws_security_group")) == 1
    assert resources(stack, "aws_vpc_security_group_ingress_rule") == {}


def test_ssm_interface_endpoints_with_private_dns_when_asked(synthesized):
    _, stack = synthesized["no_nat"]
    endpoints = resources(stack, "aws_vpc_endpoint").values()
    assert sorted(e["service_name"] for e in endpoints) == [
        "com.amazonaws.eu-central-1.ec2messages",
        "com.amazonaws.eu-central-1.ssm",
        "com.amazonaws.eu-central-1.ssmmessages",
    ]
    bastion_group = _bastion_sg_ref(stack)
    for endpoint in endpoints:
        assert endpoint["vpc_endpoint_type"] == "Interface"
        assert endpoint["private_dns_enabled"] is True
        assert endpoint["vpc_id"] == "vpc-0unittest"
        assert endpoint["subnet_ids"] == ["subnet-0private-b", "subnet-0private-c"]
        (group_ref,) = endpoint["security_group_ids"]
        assert group_ref != bastion_group


def test_endpoint_security_group_admits_https_from_the_bastion_only(synthesized):
    _, stack = synthesized["no_nat"]
    (endpoint_group_ref,) = {e["security_group_ids"][0] for e in resources(stack, "aws_vpc_endpoint").values()}
    endpoint_group = ref_target(stack, endpoint_group_ref)
    assert "ingress" not in endpoint_group and "egress" not in endpoint_group
    rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
             if r["security_group_id"] == endpoint_group_ref]
    assert len(rules) == 1
    (rule,) = rules
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert rule["referenced_security_group_id"] == _bastion_sg_ref(stack)
    assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule and "prefix_list_id" not in rule


@pytest.mark.parametrize("case", CASES)
def test_exposed_attributes_point_at_the_right_resources(synthesized, case):
    _, stack = synthesized[case]
    outputs = {name: out["value"] for name, out in stack["output"].items()}
    assert ref_target(stack, outputs["instance_id"]) is _instance(stack)
    assert outputs["security_group_id"] == _bastion_sg_ref(stack)
    assert ref(outputs["role_name"])[0] == "aws_iam_role"
    # The tunnel script finds the instance by this tag.
    assert outputs["instance_name"] == _instance(stack)["tags"]["Name"] == f"{CASES[case].name}-bastion"


# http_tokens is the IMDSv2 switch, not a credential.
_SECRET_ATTRIBUTE = re.compile(r"(password|secret|(?<!http_)token|private_key|user_data)", re.IGNORECASE)


@pytest.mark.parametrize("case", CASES)
def test_nothing_secret_is_baked_into_the_configuration(synthesized, case):
    """The bastion holds no credential: no user data, no key, nothing secret-like anywhere."""
    _, stack = synthesized[case]
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if _SECRET_ATTRIBUTE.search(key):
                    found.append(f"{path}.{key}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]")

    walk(stack.get("resource", {}), "resource")
    assert found == []


def test_props_reject_inconsistent_input():
    with pytest.raises(ValueError, match="Graviton"):
        _props(instance_type="t3.nano")
    with pytest.raises(ValueError, match="root_volume_size"):
        _props(root_volume_size=4)
    with pytest.raises(ValueError, match="needs endpoint_subnet_ids"):
        _props(create_ssm_endpoints=True)
    with pytest.raises(ValueError, match="only used with create_ssm_endpoints"):
        _props(endpoint_subnet_ids=("subnet-0private-a",))
    with pytest.raises(ValueError, match="duplicates"):
        _props(create_ssm_endpoints=True, endpoint_subnet_ids=("subnet-0a", "subnet-0a"))
    for graviton in ("t4g.nano", "m7gd.large", "c8gn.xlarge", "im4gn.large"):
        assert _props(instance_type=graviton).instance_type == graviton


@prefetch.job("bastion-no-nat-plan", prefetch.MANUAL, consumers={"no_nat_plan"})
def _plan_the_no_nat_stack(ctx: prefetch.Context) -> th.StackRun:
    """init + plan of the synthesized no-NAT case (the payload), in the background."""
    stack = ctx.payload
    source = ctx.scratch / "stack"
    source.mkdir()
    (source / th.STACK_FILE).write_text(json.dumps(stack))
    toolchain = th.Toolchain.discover(th.provider_requirements(stack), ctx.scratch / "toolchain")
    # plan validates too; a separate validate would cost another provider start.
    return th.run_stack(source, ctx.scratch / "work", toolchain)


@pytest.fixture(scope="module")
def no_nat_plan(synthesized) -> th.StackRun:
    try:
        return prefetch.result("bastion-no-nat-plan")
    except th.HarnessUnavailable as error:
        if th.must_fail_when_unavailable():
            pytest.fail(f"CI=true but terraform cannot run: {error}", pytrace=False)
        pytest.skip(str(error))


@pytest.mark.terraform
def test_no_nat_stack_plans_offline(no_nat_plan):
    """Argument names, block shapes and provider-side validation, against the real aws provider."""
    run = no_nat_plan
    message = run.failure("plan")
    if message:
        pytest.fail(message, pytrace=False)
    assert not run.diagnostics("error")
    changes = run.planned_changes()
    assert set(changes.values()) == {"create"}
    planned = set(changes)
    assert planned == th.expected_resources(run.config)
    assert sum(1 for t, _ in planned if t == "aws_vpc_endpoint") == 3
