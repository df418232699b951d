"""modules/alb.py, built on Testing.app() stacks (HTTP only, HTTPS, HTTPS with redirect plus every
optional feature), each synthesized once."""

from __future__ import annotations

import json
import re

import pytest
from cdktf import Testing, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.alb import LoadBalancer, LoadBalancerProps
from tests.helpers import data_sources, ref, ref_target, resources

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
TLS13_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
SERVICE_SG = "sg-0litellmservice"
EXPOSED = ("security_group_id", "arn", "arn_suffix", "dns_name", "zone_id", "target_group_arn",
           "target_group_arn_suffix", "request_count_resource_label", "url")
OPTIONAL = ("http_listener_arn", "https_listener_arn", "web_acl_arn", "access_logs_bucket", "waf_log_group_name")


# Four CIDRs: more than one ALB rule can hold next to two paths.
ADMIN_CIDRS = ("203.0.113.0/24", "198.51.100.7/32", "192.0.2.0/28", "192.0.2.64/26")


def _props(**overrides) -> LoadBalancerProps:
    base = dict(
        name="unit-test",
        vpc_id="vpc-0unittest",
        subnet_ids=("subnet-0public-a", "subnet-0public-b"),
    )
    base.update(overrides)
    return LoadBalancerProps(**base)


CASES = {
    # What a dev environment sets: no certificate, everything else at the defaults.
    "http": _props(
        ingress_cidrs=("203.0.113.0/24", "198.51.100.7/32"),
        allowed_security_group_ids=("sg-0allowedbyconfig",),
        admin_cidrs=ADMIN_CIDRS,
    ),
    "https": _props(
        name="unit-https",
        internal=True,
        subnet_ids=("subnet-0private-a", "subnet-0private-b", "subnet-0private-c"),
        ingress_cidrs=("10.0.0.0/8",),
        certificate_arn=CERTIFICATE,
        idle_timeout=900,
        desync_mitigation_mode="strictest",
    ),
    "prod": _props(
        name="unit-prod",
        certificate_arn=CERTIFICATE,
        redirect_http_to_https=True,
        deletion_protection=True,
        deregistration_delay=300,
        access_logs_enabled=True,
        access_logs_retention_days=400,
        waf_enabled=True,
        waf_rate_limit_per_5_minutes=750,
        waf_count_only_rules=("CrossSiteScripting_BODY",),
        waf_logging_enabled=True,
        waf_log_retention_days=90,
        admin_cidrs=(),
    ),
    # What environments/prod.toml sets: no port 80 at all.
    "https-only": _props(
        name="unit-tls-only",
        ingress_cidrs=("0.0.0.0/0",),
        allowed_security_group_ids=("sg-0allowedbyconfig",),
        certificate_arn=CERTIFICATE,
        http_listener_enabled=False,
        admin_cidrs=ADMIN_CIDRS,
    ),
}


@pytest.fixture(scope="module")
def synthesized() -> dict[str, tuple[str, dict, LoadBalancer]]:
    app = Testing.app()
    out = {}
    for case, props in CASES.items():
        stack = TerraformStack(app, f"alb-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        alb = LoadBalancer(stack, "alb", props=props)
        alb.allow_egress_to("to-litellm", SERVICE_SG, props.target_port)
        if case == "http":
            alb.allow_from("vpn", "sg-0vpnclients", "VPN clients")
        # Outputs make the exposed attributes visible in the synthesized JSON.
        for attribute in EXPOSED + OPTIONAL:
            if getattr(alb, attribute) is not None:
                TerraformOutput(stack, attribute, value=getattr(alb, attribute))
        if alb.server_access_logs_target is not None:
            TerraformOutput(stack, "server_access_logs_bucket", value=alb.server_access_logs_target[0])
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text), alb)
    return out


def _one(stack: dict, tf_type: str) -> dict:
    (only,) = resources(stack, tf_type).values()
    return only


def _listeners(stack: dict) -> dict[int, dict]:
    listeners = {cfg["port"]: cfg for cfg in resources(stack, "aws_lb_listener").values()}
    assert len(listeners) == len(resources(stack, "aws_lb_listener"))
    return listeners


def _forwards_to_target_group(stack: dict, listener: dict) -> bool:
    (action,) = listener["default_action"]
    return action["type"] == "forward" and ref_target(stack, action["target_group_arn"]) is _one(
        stack, "aws_lb_target_group"
    )


# --- listeners --------------------------------------------------------------------------------


def test_without_certificate_port_80_forwards_and_there_is_no_443(synthesized):
    _, stack, alb = synthesized["http"]
    listeners = _listeners(stack)
    assert sorted(listeners) == [80]
    assert listeners[80]["protocol"] == "HTTP"
    assert _forwards_to_target_group(stack, listeners[80])
    assert ref_target(stack, listeners[80]["load_balancer_arn"]) is _one(stack, "aws_lb")
    assert alb.https_enabled is False and alb.https_listener_arn is None
    assert stack["output"]["url"]["value"].startswith("http://${aws_lb.")


def test_with_certificate_443_speaks_tls13_and_80_still_forwards(synthesized):
    _, stack, alb = synthesized["https"]
    listeners = _listeners(stack)
    assert sorted(listeners) == [80, 443]
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["ssl_policy"] == TLS13_POLICY
    assert https["certificate_arn"] == CERTIFICATE
    assert _forwards_to_target_group(stack, https)
    assert _forwards_to_target_group(stack, listeners[80])
    # HSTS only once plain HTTP is given up.
    assert "routing_http_response_strict_transport_security_header_value" not in https
    assert alb.https_enabled is True
    outputs = stack["output"]
    assert ref(outputs["https_listener_arn"]["value"])[0] == "aws_lb_listener"
    assert outputs["url"]["value"] == "https://" + outputs["dns_name"]["value"]


def test_redirect_makes_port_80_answer_301_to_https(synthesized):
    text, stack, _ = synthesized["prod"]
    listeners = _listeners(stack)
    (action,) = listeners[80]["default_action"]
    assert action["type"] == "redirect"
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}
    assert "target_group_arn" not in action
    assert _forwards_to_target_group(stack, listeners[443])
    assert listeners[443]["routing_http_response_strict_transport_security_header_value"].startswith(
        "max-age="
    )
    assert Testing.to_have_resource_with_properties(
        text, "aws_lb_listener", {"port": 443, "protocol": "HTTPS", "ssl_policy": TLS13_POLICY}
    )


def test_https_only_has_no_port_80_listener_or_ingress_and_sends_hsts(synthesized):
    _, stack, alb = synthesized["https-only"]
    listeners = _listeners(stack)
    assert sorted(listeners) == [443]
    assert _forwards_to_target_group(stack, listeners[443])
    assert listeners[443]["routing_http_response_strict_transport_security_header_value"].startswith("max-age=")
    ports = {r["from_port"] for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()}
    assert ports == {443}
    assert alb.http_listener_arn is None and len(alb.listeners) == 1
    assert alb.url.startswith("https://")
    # The admin fence sits on the one listener there is.
    fenced = {ref_target(stack, rule["listener_arn"])["port"]
              for rule in resources(stack, "aws_lb_listener_rule").values()}
    assert fenced == {443}


@pytest.mark.parametrize("overrides, message", [
    ({"http_listener_enabled": False}, "needs certificate_arn"),
    ({"http_listener_enabled": False, "certificate_arn": CERTIFICATE, "redirect_http_to_https": True},
     "redirect_http_to_https needs the HTTP listener"),
])
def test_closing_port_80_needs_https_and_no_redirect(overrides, message):
    with pytest.raises(ValueError, match=message):
        _props(**overrides)


def test_redirect_without_certificate_is_rejected():
    with pytest.raises(ValueError, match="redirect_http_to_https needs certificate_arn"):
        _props(redirect_http_to_https=True)


# --- load balancer ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_load_balancer_is_hardened_for_long_streams(synthesized, case):
    _, stack, _ = synthesized[case]
    props = CASES[case]
    lb = _one(stack, "aws_lb")
    assert lb["load_balancer_type"] == "application"
    assert lb["name"] == f"{props.name}-alb"
    assert lb["drop_invalid_header_fields"] is True
    assert lb["desync_mitigation_mode"] in ("defensive", "strictest")
    assert lb["desync_mitigation_mode"] == props.desync_mitigation_mode
    assert lb["idle_timeout"] == props.idle_timeout and lb["idle_timeout"] > 60
    assert lb["enable_http2"] is True
    assert lb["internal"] is props.internal
    assert lb["enable_deletion_protection"] is props.deletion_protection
    assert lb["subnets"] == list(props.subnet_ids)
    (group,) = lb["security_groups"]
    assert ref_target(stack, group)["name"] == f"{props.name}-alb"


def test_dev_and_prod_differ_where_they_should(synthesized):
    _, dev, _ = synthesized["http"]
    _, internal, _ = synthesized["https"]
    _, prod, _ = synthesized["prod"]
    assert _one(dev, "aws_lb")["internal"] is False and _one(internal, "aws_lb")["internal"] is True
    assert _one(dev, "aws_lb")["enable_deletion_protection"] is False
    assert _one(prod, "aws_lb")["enable_deletion_protection"] is True
    assert _one(dev, "aws_lb")["idle_timeout"] == 600
    assert _one(internal, "aws_lb")["idle_timeout"] == 900
    assert _one(dev, "aws_lb_target_group")["deregistration_delay"] == "120"
    assert _one(prod, "aws_lb_target_group")["deregistration_delay"] == "300"


@pytest.mark.parametrize("case", CASES)
def test_target_group_sends_ip_traffic_to_4000_and_checks_liveliness(synthesized, case):
    _, stack, _ = synthesized[case]
    props = CASES[case]
    group = _one(stack, "aws_lb_target_group")
    assert (group["target_type"], group["protocol"], group["port"]) == ("ip", "HTTP", 4000)
    assert group["vpc_id"] == props.vpc_id
    assert group["name"] == f"{props.name}-4000" and len(group["name"]) <= 32
    # The port is in the name, so a replacement can exist next to the group it replaces.
    assert group["lifecycle"] == {"create_before_destroy": True}
    assert group["load_balancing_algorithm_type"] == "least_outstanding_requests"
    check = group["health_check"]
    # Readiness would fail every task while the database is down (see LoadBalancerProps).
    assert check["path"] == "/health/liveliness"
    assert check["matcher"] == "200"
    assert check["enabled"] is True and check["protocol"] == "HTTP"
    assert check["timeout"] < check["interval"]
    assert check["healthy_threshold"] >= 2 and check["unhealthy_threshold"] >= 2


# --- security group ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_only_listener_ports_are_open_to_the_configured_cidrs(synthesized, case):
    _, stack, alb = synthesized[case]
    props = CASES[case]
    group = _one(stack, "aws_security_group")
    assert "ingress" not in group and "egress" not in group
    cidr_rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
                  if "cidr_ipv4" in r]
    ports = ((80,) if props.http_listener_enabled else ()) + ((443,) if props.certificate_arn else ())
    assert sorted((r["from_port"], r["cidr_ipv4"]) for r in cidr_rules) == sorted(
        (port, cidr) for port in ports for cidr in props.ingress_cidrs
    )
    for rule in cidr_rules:
        assert rule["to_port"] == rule["from_port"] and rule["ip_protocol"] == "tcp"
        assert ref_target(stack, rule["security_group_id"]) is group
        assert rule["cidr_ipv4"] in rule["description"]
        assert "cidr_ipv6" not in rule
    assert stack["output"]["security_group_id"]["value"] == "${aws_security_group." + ref(
        _one(stack, "aws_lb")["security_groups"][0])[1] + ".id}"


def test_no_443_ingress_without_certificate(synthesized):
    _, stack, _ = synthesized["http"]
    ports = {r["from_port"] for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()}
    assert ports == {80}


def test_configured_groups_and_allow_from_are_admitted_on_listener_ports(synthesized):
    _, stack, _ = synthesized["http"]
    admitted = sorted(
        (r["referenced_security_group_id"], r["from_port"], r["to_port"])
        for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
        if "referenced_security_group_id" in r
    )
    assert admitted == [("sg-0allowedbyconfig", 80, 80), ("sg-0vpnclients", 80, 80)]


@pytest.mark.parametrize("case", CASES)
def test_egress_exists_only_towards_the_targets_given(synthesized, case):
    _, stack, _ = synthesized[case]
    (rule,) = resources(stack, "aws_vpc_security_group_egress_rule").values()
    assert rule["referenced_security_group_id"] == SERVICE_SG
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (4000, 4000, "tcp")
    assert ref_target(stack, rule["security_group_id"]) is _one(stack, "aws_security_group")
    assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule


# --- WAF --------------------------------------------------------------------------------------


def _rules(stack: dict) -> list[dict]:
    """The web ACL's typed rule blocks."""
    return _one(stack, "aws_wafv2_web_acl")["rule"]


def test_waf_is_off_unless_enabled(synthesized):
    for case in ("http", "https"):
        _, stack, alb = synthesized[case]
        assert not any(t.startswith("aws_wafv2") for t in stack["resource"])
        assert alb.web_acl_arn is None


def test_waf_counts_oversized_bodies_instead_of_blocking_prompts(synthesized):
    _, stack, _ = synthesized["prod"]
    acl = _one(stack, "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL" and acl["default_action"] == {"allow": {}}
    # Rule blocks (readable in plans and by checkov), never a JSON string beside them.
    assert "rule_json" not in acl
    groups = {
        r["statement"]["managed_rule_group_statement"]["name"]: r
        for r in _rules(stack) if "managed_rule_group_statement" in r["statement"]
    }
    common = groups["AWSManagedRulesCommonRuleSet"]
    statement = common["statement"]["managed_rule_group_statement"]
    assert statement["vendor_name"] == "AWS"
    overrides = {o["name"]: o["action_to_use"] for o in statement["rule_action_override"]}
    assert overrides == {"SizeRestrictions_BODY": {"count": {}}, "CrossSiteScripting_BODY": {"count": {}}}
    # The group's own actions stay in force for every other rule.
    assert common["override_action"] == {"none": {}}
    bad_inputs = groups["AWSManagedRulesKnownBadInputsRuleSet"]
    assert bad_inputs["statement"]["managed_rule_group_statement"]["vendor_name"] == "AWS"
    assert "rule_action_override" not in bad_inputs["statement"]["managed_rule_group_statement"]
    assert bad_inputs["override_action"] == {"none": {}}
    assert all("action" not in r for r in groups.values()), "a group rule takes override_action only"


def test_waf_rate_limits_per_ip_and_blocks(synthesized):
    _, stack, _ = synthesized["prod"]
    (rate_rule,) = [r for r in _rules(stack) if "rate_based_statement" in r["statement"]]
    statement = rate_rule["statement"]["rate_based_statement"]
    assert statement["limit"] == 750
    assert statement["aggregate_key_type"] == "IP"
    assert statement["evaluation_window_sec"] == 300
    assert rate_rule["action"] == {"block": {}}
    assert "override_action" not in rate_rule


def test_waf_rules_have_unique_priorities_and_full_visibility(synthesized):
    _, stack, _ = synthesized["prod"]
    acl = _one(stack, "aws_wafv2_web_acl")
    rules = _rules(stack)
    priorities = [rule["priority"] for rule in rules]
    assert len(set(priorities)) == len(priorities) == 3
    assert len({rule["name"] for rule in rules}) == 3
    metrics = set()
    for config in [acl["visibility_config"]] + [r["visibility_config"] for r in rules]:
        assert config["cloudwatch_metrics_enabled"] is True
        assert config["sampled_requests_enabled"] is True
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", config["metric_name"])
        metrics.add(config["metric_name"])
    assert len(metrics) == 4


def test_waf_is_associated_with_this_load_balancer(synthesized):
    _, stack, alb = synthesized["prod"]
    association = _one(stack, "aws_wafv2_web_acl_association")
    assert ref_target(stack, association["resource_arn"]) is _one(stack, "aws_lb")
    assert ref(association["resource_arn"])[2] == "arn"
    assert ref_target(stack, association["web_acl_arn"]) is _one(stack, "aws_wafv2_web_acl")
    assert ref(stack["output"]["web_acl_arn"]["value"])[0] == "aws_wafv2_web_acl"


def test_waf_logs_only_refusals_and_never_credentials(synthesized):
    _, stack, _ = synthesized["prod"]
    logging = _one(stack, "aws_wafv2_web_acl_logging_configuration")
    assert ref_target(stack, logging["resource_arn"]) is _one(stack, "aws_wafv2_web_acl")
    (destination,) = logging["log_destination_configs"]
    group = ref_target(stack, destination)
    assert group["name"].startswith("aws-waf-logs-") and group["retention_in_days"] == 90
    redacted = {f["single_header"]["name"] for f in logging["redacted_fields"] if "single_header" in f}
    assert {"authorization", "x-api-key", "cookie"} <= redacted
    assert all(name == name.lower() for name in redacted)
    assert logging["logging_filter"]["default_behavior"] == "DROP"


# --- access logs ------------------------------------------------------------------------------


def test_access_logs_are_off_by_default(synthesized):
    _, stack, alb = synthesized["http"]
    assert "access_logs" not in _one(stack, "aws_lb")
    assert not any(t.startswith("aws_s3") for t in stack["resource"])
    assert alb.access_logs_bucket is None


def test_access_logs_go_to_a_private_encrypted_tls_only_bucket(synthesized):
    _, stack, _ = synthesized["prod"]
    bucket = _one(stack, "aws_s3_bucket")
    assert bucket["bucket_prefix"] == "unit-prod-alb-logs-"
    assert bucket["force_destroy"] is False  # deletion protection keeps the logs too

    lb = _one(stack, "aws_lb")
    assert lb["access_logs"]["enabled"] is True
    assert ref_target(stack, lb["access_logs"]["bucket"]) is bucket
    policy = _one(stack, "aws_s3_bucket_policy")
    assert ref_target(stack, policy["bucket"]) is bucket
    # Switching logging on makes ELB test-write, which needs the policy in place.
    assert any(dep.startswith("aws_s3_bucket_policy.") for dep in lb["depends_on"])

    (rule,) = _one(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    block = _one(stack, "aws_s3_bucket_public_access_block")
    assert all(block[key] is True for key in
               ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    ownership = _one(stack, "aws_s3_bucket_ownership_controls")
    assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced"
    (lifecycle,) = _one(stack, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert lifecycle["status"] == "Enabled" and lifecycle["expiration"] == [{"days": 400}]


def test_access_log_bucket_policy_admits_elb_delivery_and_denies_plain_http(synthesized):
    _, stack, _ = synthesized["prod"]
    policy = _one(stack, "aws_s3_bucket_policy")
    reference = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", policy["policy"])
    assert reference, policy["policy"]
    document = data_sources(stack, "aws_iam_policy_document")[reference.group(1)]
    statements = {s["sid"]: s for s in document["statement"]}
    deliver = statements["AllowElbLogDelivery"]
    assert deliver["effect"] == "Allow" and deliver["actions"] == ["s3:PutObject"]
    assert deliver["principals"] == [{
        "type": "Service", "identifiers": ["logdelivery.elasticloadbalancing.amazonaws.com"],
    }]
    (resource,) = deliver["resources"]
    # Only our account's prefix (the ALB security group's owner): other accounts' load
    # balancers cannot deliver into this bucket (confused deputy).
    bucket_ref, account_ref = re.fullmatch(r"(\$\{aws_s3_bucket\.[\w-]+\.arn\})/AWSLogs/(\$\{[^}]+\})/\*", resource).groups()
    assert account_ref.endswith(".owner_id}")
    assert ref_target(stack, account_ref) is next(
        g for g in resources(stack, "aws_security_group").values() if g["name"] == "unit-prod-alb")
    tls = statements["DenyInsecureTransport"]
    assert tls["effect"] == "Deny" and tls["actions"] == ["s3:*"]
    assert tls["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    assert len(tls["resources"]) == 2 and tls["resources"][1].endswith("/*")
    # Nothing else in the stack is allowed to write logs, and no AWS-calling data source is used.
    assert set(stack["data"]) == {"aws_iam_policy_document"}


def test_access_log_bucket_takes_server_access_logs_of_this_accounts_same_named_buckets(synthesized):
    _, stack, alb = synthesized["prod"]
    policy = _one(stack, "aws_s3_bucket_policy")
    reference = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", policy["policy"])
    statements = {s["sid"]: s for s in data_sources(stack, "aws_iam_policy_document")[reference.group(1)]["statement"]}
    logs = statements["AllowS3ServerAccessLogs"]
    assert logs["effect"] == "Allow" and logs["actions"] == ["s3:PutObject"]
    assert logs["principals"] == [{"type": "Service", "identifiers": ["logging.s3.amazonaws.com"]}]
    (resource,) = logs["resources"]
    assert re.fullmatch(r"\$\{aws_s3_bucket\.[\w-]+\.arn\}/s3-server-access/\*", resource)
    conditions = {c["variable"]: c for c in logs["condition"]}
    assert conditions["aws:SourceArn"]["test"] == "ArnLike"
    assert conditions["aws:SourceArn"]["values"] == ["arn:aws:s3:::unit-prod-*"]
    assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
    assert conditions["aws:SourceAccount"]["values"][0].endswith(".owner_id}")
    # The target goes through the policy resource, so a logging source waits for the policy.
    _, prefix = alb.server_access_logs_target
    assert prefix == "s3-server-access/"
    target = stack["output"]["server_access_logs_bucket"]["value"]
    assert ref(target)[0::2] == ("aws_s3_bucket_policy", "bucket")
    assert ref_target(stack, target) is policy
    assert synthesized["http"][2].server_access_logs_target is None


# --- exposed attributes, names, secrets -------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_exposed_attributes_point_at_the_right_resources(synthesized, case):
    _, stack, _ = synthesized[case]
    outputs = {key: value["value"] for key, value in stack["output"].items()}
    for key, tf_type, attribute in (
        ("arn", "aws_lb", "arn"),
        ("arn_suffix", "aws_lb", "arn_suffix"),
        ("dns_name", "aws_lb", "dns_name"),
        ("zone_id", "aws_lb", "zone_id"),
        ("target_group_arn", "aws_lb_target_group", "arn"),
        ("target_group_arn_suffix", "aws_lb_target_group", "arn_suffix"),
    ):
        assert ref(outputs[key])[0::2] == (tf_type, attribute)
    if not CASES[case].http_listener_enabled:
        assert "http_listener_arn" not in outputs
        return
    lb_suffix, group_suffix = outputs["request_count_resource_label"].split("/")
    assert ref(lb_suffix)[0::2] == ("aws_lb", "arn_suffix")
    assert ref(group_suffix)[0::2] == ("aws_lb_target_group", "arn_suffix")
    assert ref(outputs["http_listener_arn"])[0::2] == ("aws_lb_listener", "arn")
    http = ref_target(stack, outputs["http_listener_arn"])
    assert http["port"] == 80


def test_listeners_are_exposed_for_the_service_to_depend_on(synthesized):
    assert len(synthesized["http"][2].listeners) == 1
    assert len(synthesized["prod"][2].listeners) == 2


@pytest.mark.parametrize("case", CASES)
def test_no_literal_secret_anywhere(synthesized, case):
    text, _, _ = synthesized[case]
    secret_like = re.compile(r'"[a-z_]*(password|secret|token|api_key)[a-z_]*"\s*:\s*"([^"]*)"', re.I)
    for match in secret_like.finditer(text):
        assert match.group(2).startswith("${"), match.group(0)
    assert not re.search(r"sk-[A-Za-z0-9]{16,}", text)


def test_name_length_is_validated():
    longest = "a" * 27  # -> a 32-character target group name and a 37-character bucket prefix
    props = _props(name=longest)
    assert len(props.lb_name) <= 32 and len(props.target_group_name) == 32
    with pytest.raises(ValueError, match="longer than 32"):
        _props(name="a" * 28)
    with pytest.raises(ValueError, match="longer than 32"):
        _props(name="litellm-a-very-long-environment-name")


def test_props_reject_invalid_values():
    with pytest.raises(ValueError, match="lowercase"):
        _props(name="LiteLLM")
    with pytest.raises(ValueError, match="internal-"):
        _props(name="internal-x")
    with pytest.raises(ValueError, match="two subnet_ids"):
        _props(subnet_ids=("subnet-0only",))
    with pytest.raises(ValueError, match="IPv6"):
        _props(ingress_cidrs=("::/0",))
    with pytest.raises(ValueError, match="not a CIDR"):
        _props(ingress_cidrs=("10.0.0.1/8",))
    with pytest.raises(ValueError, match="health_check_path"):
        _props(health_check_path="/health")
    with pytest.raises(ValueError, match="desync_mitigation_mode"):
        _props(desync_mitigation_mode="monitor")
    with pytest.raises(ValueError, match="idle_timeout"):
        _props(idle_timeout=4001)
    with pytest.raises(ValueError, match="waf_rate_limit"):
        _props(waf_enabled=True, waf_rate_limit_per_5_minutes=5)
    with pytest.raises(ValueError, match="waf_logging_enabled needs waf_enabled"):
        _props(waf_logging_enabled=True)
    with pytest.raises(ValueError, match="waf_log_retention_days"):
        _props(waf_enabled=True, waf_logging_enabled=True, waf_log_retention_days=45)
    with pytest.raises(ValueError, match="waf_count_only_rules"):
        _props(waf_enabled=True, waf_count_only_rules=("SizeRestrictions_BODY",))


# Each of these starts like a TLS 1.3 policy or is the API's own default, and accepts TLS 1.0/1.1.
OLD_TLS_POLICIES = ("ELBSecurityPolicy-TLS13-1-0-2021-06", "ELBSecurityPolicy-TLS13-1-1-2021-06",
                    "ELBSecurityPolicy-TLS13-1-0-PQ-2025-09", "ELBSecurityPolicy-2016-08",
                    "ELBSecurityPolicy-FS-1-1-2019-08", "ELBSecurityPolicy-TLS-1-1-2017-01")


@pytest.mark.parametrize("policy", OLD_TLS_POLICIES)
def test_props_refuse_policies_that_accept_tls_below_1_2(policy):
    with pytest.raises(ValueError, match=r"ssl_policy: .*oldest protocol is TLS 1\.2.*TLS13-1-2-Res-PQ-2025-09"):
        _props(certificate_arn=CERTIFICATE, ssl_policy=policy)


@pytest.mark.parametrize("policy", ["ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", "ELBSecurityPolicy-TLS13-1-3-2021-06",
                                    "ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06"])
def test_props_accept_tls_1_2_and_newer_policies(policy):
    assert _props(certificate_arn=CERTIFICATE, ssl_policy=policy).ssl_policy == policy
# --- admin surface ----------------------------------------------------------------------------


def _listener_rules(stack: dict, listener: dict) -> list[dict]:
    return sorted((r for r in resources(stack, "aws_lb_listener_rule").values()
                   if ref_target(stack, r["listener_arn"]) is listener), key=lambda r: r["priority"])


def _admin_verdict(rules: list[dict], path: str, source: str) -> str:
    """What the ALB does with ``path`` from ``source``: the first matching rule's action type,
    else the listener default ("default")."""
    import fnmatch
    import ipaddress

    for rule in rules:
        matches = True
        for condition in rule["condition"]:
            if "path_pattern" in condition:
                matches &= any(fnmatch.fnmatchcase(path, p) for p in condition["path_pattern"]["values"])
            if "source_ip" in condition:
                matches &= any(ipaddress.ip_address(source) in ipaddress.ip_network(c)
                               for c in condition["source_ip"]["values"])
        if matches:
            (action,) = rule["action"]
            return action["type"]
    return "default"


ADMIN_SAMPLES = ("/ui", "/ui/login", "/key/generate", "/user/new", "/team/new", "/model/new",
                 "/config/update", "/organization/new", "/global/spend/report", "/spend/logs", "/health")
CLIENT_SAMPLES = ("/v1/chat/completions", "/chat/completions", "/v1/models", "/health/readiness",
                  "/embeddings", "/v1/messages")


def test_admin_paths_only_from_admin_cidrs(synthesized):
    _, stack, _ = synthesized["http"]
    rules = _listener_rules(stack, _listeners(stack)[80])
    assert rules, "no admin rules on the forwarding listener"
    for path in ADMIN_SAMPLES:
        for inside in ("203.0.113.9", "198.51.100.7", "192.0.2.5", "192.0.2.100"):
            assert _admin_verdict(rules, path, inside) == "forward", (path, inside)
        assert _admin_verdict(rules, path, "198.51.100.8") == "fixed-response", path
    for path in CLIENT_SAMPLES:
        assert _admin_verdict(rules, path, "198.51.100.8") == "default", path
    for rule in rules:
        values = sum(len(c.get("path_pattern", c.get("source_ip", {})).get("values", [])) for c in rule["condition"])
        assert values <= 5, rule  # the ALB's limit of condition values per rule
        if rule["action"][0]["type"] == "forward":
            assert ref_target(stack, rule["action"][0]["target_group_arn"]) is _one(stack, "aws_lb_target_group")
        else:
            assert rule["action"][0]["fixed_response"]["status_code"] == "403"
    assert len({r["priority"] for r in rules}) == len(rules)


def test_empty_admin_cidrs_close_the_admin_paths_on_every_forwarding_listener(synthesized):
    _, stack, _ = synthesized["prod"]
    listeners = _listeners(stack)
    assert _listener_rules(stack, listeners[80]) == []  # it only redirects to 443
    rules = _listener_rules(stack, listeners[443])
    assert {r["action"][0]["type"] for r in rules} == {"fixed-response"}
    for path in ADMIN_SAMPLES:
        assert _admin_verdict(rules, path, "10.0.0.1") == "fixed-response", path
    for path in CLIENT_SAMPLES:
        assert _admin_verdict(rules, path, "10.0.0.1") == "default", path


def test_admin_paths_are_unrestricted_when_no_admin_cidrs_are_given(synthesized):
    _, stack, _ = synthesized["https"]
    assert resources(stack, "aws_lb_listener_rule") == {}


def test_access_logs_are_versioned_so_a_deleted_log_stays_recoverable(synthesized):
    _, stack, _ = synthesized["prod"]
    (versioning,) = resources(stack, "aws_s3_bucket_versioning").values()
    assert ref_target(stack, versioning["bucket"]) is _one(stack, "aws_s3_bucket")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    (rule,) = _one(stack, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
