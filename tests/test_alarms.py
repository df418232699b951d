"""modules/alarms.py, built on Testing.app() stacks (dev-like and prod-like props), each
synthesized once."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest
from cdktf import Testing, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.alarms import Alarms, AlarmsProps
from tests.helpers import data_sources, ref, ref_target, resources

ALB = "app/unit-alb/0123456789abcdef"
TARGET_GROUP = "targetgroup/unit-tg/fedcba9876543210"
GIB = 1024**3


def _props(**overrides) -> AlarmsProps:
    base = dict(
        name="unit-test",
        alb_arn_suffix=ALB,
        target_group_arn_suffix=TARGET_GROUP,
        cluster_name="unit-test-cluster",
        service_name="unit-test-litellm",
        db_instance_identifiers=("unit-test-postgres",),
        db_allocated_storage_gib=20,
        cache_cluster_ids=("unit-test-redis-001",),
    )
    base.update(overrides)
    return AlarmsProps(**base)


CASES = {
    # Defaults everywhere, as a dev environment would wire it.
    "dev": _props(),
    "prod": _props(
        name="unit-prod",
        email="oncall@example.com",
        cluster_name="unit-prod-cluster",
        service_name="unit-prod-litellm",
        db_instance_identifiers=("unit-prod-postgres", "unit-prod-backend-postgres"),
        db_allocated_storage_gib=(100, 20),
        rds_free_storage_fraction=0.05,
        rds_max_connections_threshold=(300, 60),
        cache_cluster_ids=("unit-prod-redis-001", "unit-prod-redis-002", "unit-prod-redis-003"),
        alb_5xx_per_5_minutes=25,
        target_response_time_p95_seconds=45,
        rds_cpu_percent=70,
        redis_cpu_percent=60,
        redis_evictions=5,
    ),
}


@pytest.fixture(scope="module")
def synthesized() -> dict[str, tuple[str, dict, Alarms]]:
    app = Testing.app()
    out = {}
    for case, props in CASES.items():
        stack = TerraformStack(app, f"alarms-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        alarms = Alarms(stack, "alarms", props=props)
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text), alarms)
    return out


def _alarms(stack: dict) -> dict[str, dict]:
    """Alarm name -> config."""
    by_name = {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
    assert len(by_name) == len(resources(stack, "aws_cloudwatch_metric_alarm")), "alarm names collide"
    return by_name


def _in_namespace(stack: dict, namespace: str) -> list[dict]:
    return [a for a in _alarms(stack).values() if a.get("namespace") == namespace]


def _policy_document(stack: dict, policy_value: str) -> dict:
    """The aws_iam_policy_document a ``${data.aws_iam_policy_document.x.json}`` points at."""
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}", policy_value)
    assert match, f"policy is not a policy-document reference: {policy_value!r}"
    return data_sources(stack, "aws_iam_policy_document")[match.group(1)]


def _topic(stack: dict) -> dict:
    (topic,) = resources(stack, "aws_sns_topic").values()
    return topic


# ---------------------------------------------------------------------------------------------
# Every alarm
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_every_alarm_notifies_the_topic_on_alarm_and_on_recovery(synthesized, case):
    _, stack, _ = synthesized[case]
    alarms = _alarms(stack)
    assert alarms
    for name, alarm in alarms.items():
        assert len(alarm["alarm_actions"]) == 1, name
        assert ref_target(stack, alarm["alarm_actions"][0]) is _topic(stack), name
        assert alarm["ok_actions"] == alarm["alarm_actions"], name
        assert "insufficient_data_actions" not in alarm, name


@pytest.mark.parametrize("case", CASES)
def test_alarm_names_are_unique_prefixed_and_exposed(synthesized, case):
    _, stack, construct = synthesized[case]
    names = [a["alarm_name"] for a in resources(stack, "aws_cloudwatch_metric_alarm").values()]
    assert len(names) == len(set(names))
    assert all(n.startswith(f"{CASES[case].name}-") for n in names)
    assert sorted(construct.alarm_names) == sorted(names)


def test_alarm_names_are_deterministic(synthesized):
    _, stack, _ = synthesized["dev"]
    assert sorted(_alarms(stack)) == sorted([
        "unit-test-alb-5xx",
        "unit-test-target-5xx",
        "unit-test-target-response-time-p95",
        "unit-test-unhealthy-hosts",
        "unit-test-ecs-running-below-desired",
        "unit-test-postgres-cpu",
        "unit-test-postgres-free-storage",
        "unit-test-postgres-connections",
        "unit-test-redis-001-engine-cpu",
        "unit-test-redis-001-evictions",
    ])


@pytest.mark.parametrize("case", CASES)
def test_every_alarm_says_what_to_check_first(synthesized, case):
    _, stack, _ = synthesized[case]
    for name, alarm in _alarms(stack).items():
        assert "Check first" in alarm["alarm_description"], name


# ---------------------------------------------------------------------------------------------
# Load balancer
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_load_balancer_alarms_use_the_arn_suffix_dimensions(synthesized, case):
    _, stack, _ = synthesized[case]
    alb = {a["metric_name"]: a for a in _in_namespace(stack, "AWS/ApplicationELB")}
    assert sorted(alb) == sorted(
        ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "UnHealthyHostCount"])
    # The ELB's own errors exist only per load balancer; everything about LiteLLM is scoped to
    # its target group.
    assert alb["HTTPCode_ELB_5XX_Count"]["dimensions"] == {"LoadBalancer": ALB}
    for metric in ("HTTPCode_Target_5XX_Count", "TargetResponseTime", "UnHealthyHostCount"):
        assert alb[metric]["dimensions"] == {"LoadBalancer": ALB, "TargetGroup": TARGET_GROUP}, metric


@pytest.mark.parametrize("case, threshold", [("dev", 10), ("prod", 25)])
def test_5xx_alarms_count_per_five_minutes_and_ignore_quiet_periods(synthesized, case, threshold):
    text, _, _ = synthesized[case]
    for metric in ("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"):
        assert Testing.to_have_resource_with_properties(text, "aws_cloudwatch_metric_alarm", {
            "metric_name": metric,
            "statistic": "Sum",
            "period": 300,
            "threshold": threshold,
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "treat_missing_data": "notBreaching",
        }), metric


@pytest.mark.parametrize("case, seconds", [("dev", 30), ("prod", 45)])
def test_response_time_alarm_watches_the_p95(synthesized, case, seconds):
    _, stack, _ = synthesized[case]
    (latency,) = [a for a in _in_namespace(stack, "AWS/ApplicationELB") if a["metric_name"] == "TargetResponseTime"]
    assert latency["extended_statistic"] == "p95"
    assert "statistic" not in latency  # CloudWatch accepts one or the other
    assert latency["threshold"] == seconds
    assert latency["comparison_operator"] == "GreaterThanThreshold"


def test_unhealthy_hosts_alarm_needs_three_minutes_of_a_failing_target(synthesized):
    _, stack, _ = synthesized["dev"]
    alarm = _alarms(stack)["unit-test-unhealthy-hosts"]
    assert (alarm["statistic"], alarm["period"], alarm["evaluation_periods"]) == ("Maximum", 60, 3)
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


# ---------------------------------------------------------------------------------------------
# ECS
# ---------------------------------------------------------------------------------------------


def _evaluate(expression: str, values: dict[str, float]) -> float:
    """A tiny evaluator for ``a - b`` / ``a + b`` expressions over metric ids."""
    tokens = re.findall(r"[a-z][A-Za-z0-9_]*|[+-]", expression)
    assert "".join(tokens) == expression.replace(" ", ""), f"unsupported expression {expression!r}"
    total, sign = 0.0, 1
    for token in tokens:
        if token in "+-":
            sign = 1 if token == "+" else -1
        else:
            total += sign * values[token]
    return total


@pytest.mark.parametrize("case", CASES)
def test_ecs_alarm_compares_running_with_desired_tasks(synthesized, case):
    _, stack, _ = synthesized[case]
    alarm = _alarms(stack)[f"{CASES[case].name}-ecs-running-below-desired"]
    assert "metric_name" not in alarm and "namespace" not in alarm  # metric math only
    queries = alarm["metric_query"]
    (expression,) = [q for q in queries if q.get("return_data")]
    metrics = {q["metric"]["metric_name"]: q for q in queries if "metric" in q}
    assert sorted(metrics) == ["DesiredTaskCount", "RunningTaskCount"]
    for query in metrics.values():
        assert query["metric"]["namespace"] == "ECS/ContainerInsights"
        assert query["metric"]["dimensions"] == {
            "ClusterName": CASES[case].cluster_name, "ServiceName": CASES[case].service_name}
        assert query["metric"]["period"] == 60
        assert query["return_data"] is False
    desired, running = metrics["DesiredTaskCount"]["id"], metrics["RunningTaskCount"]["id"]
    used = set(re.findall(r"[a-z][A-Za-z0-9_]*", expression["expression"]))
    assert {desired, running} <= used

    def alarms_on(desired_tasks: int, running_tasks: int) -> bool:
        value = _evaluate(expression["expression"], {desired: desired_tasks, running: running_tasks})
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
        return value > alarm["threshold"]

    assert alarms_on(2, 1) and alarms_on(1, 0)
    assert not alarms_on(0, 0), "a service scaled to zero on purpose must not alarm"
    assert not alarms_on(2, 2) and not alarms_on(2, 4), "full strength or a deployment's surge is fine"
    # A deployment or task replacement takes a minute or two: three consecutive minutes needed.
    assert (alarm["evaluation_periods"], alarm["datapoints_to_alarm"]) == (3, 3)


# ---------------------------------------------------------------------------------------------
# RDS and ElastiCache: one set per instance / node
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_rds_alarms_scale_with_the_db_instances(synthesized, case):
    _, stack, _ = synthesized[case]
    identifiers = CASES[case].db_instance_identifiers
    rds = _in_namespace(stack, "AWS/RDS")
    assert len(rds) == 3 * len(identifiers)
    for identifier in identifiers:
        mine = [a for a in rds if a["dimensions"] == {"DBInstanceIdentifier": identifier}]
        assert sorted(a["metric_name"] for a in mine) == [
            "CPUUtilization", "DatabaseConnections", "FreeStorageSpace"], identifier


@pytest.mark.parametrize("case, expected", [
    ("dev", {"unit-test-postgres": 2 * GIB}),  # 10% of 20 GiB
    ("prod", {"unit-prod-postgres": 5 * GIB, "unit-prod-backend-postgres": 1 * GIB}),  # 5% of 100 / 20 GiB
])
def test_free_storage_threshold_is_a_fraction_of_each_allocated_size(synthesized, case, expected):
    _, stack, _ = synthesized[case]
    storage = {a["dimensions"]["DBInstanceIdentifier"]: a for a in _in_namespace(stack, "AWS/RDS")
               if a["metric_name"] == "FreeStorageSpace"}
    assert {k: a["threshold"] for k, a in storage.items()} == expected
    for alarm in storage.values():
        assert (alarm["comparison_operator"], alarm["statistic"]) == ("LessThanThreshold", "Minimum")


@pytest.mark.parametrize("case, expected_connections, expected_cpu", [
    ("dev", {"unit-test-postgres": 60}, 80),
    ("prod", {"unit-prod-postgres": 300, "unit-prod-backend-postgres": 60}, 70),
])
def test_rds_cpu_and_connection_thresholds(synthesized, case, expected_connections, expected_cpu):
    _, stack, _ = synthesized[case]
    rds = _in_namespace(stack, "AWS/RDS")
    connections = {a["dimensions"]["DBInstanceIdentifier"]: a["threshold"] for a in rds
                   if a["metric_name"] == "DatabaseConnections"}
    assert connections == expected_connections
    assert {a["threshold"] for a in rds if a["metric_name"] == "CPUUtilization"} == {expected_cpu}


@pytest.mark.parametrize("case", CASES)
def test_cache_alarms_are_per_member_cluster(synthesized, case):
    _, stack, _ = synthesized[case]
    ids = CASES[case].cache_cluster_ids
    cache = _in_namespace(stack, "AWS/ElastiCache")
    assert len(cache) == 2 * len(ids)
    for cluster_id in ids:
        mine = {a["metric_name"]: a for a in cache if a["dimensions"] == {"CacheClusterId": cluster_id}}
        # Engine CPU, not host CPU: Redis runs commands on a single thread.
        assert sorted(mine) == ["EngineCPUUtilization", "Evictions"], cluster_id
        assert mine["Evictions"]["statistic"] == "Sum"
        assert mine["Evictions"]["threshold"] == CASES[case].redis_evictions
        assert mine["EngineCPUUtilization"]["threshold"] == CASES[case].redis_cpu_percent


def test_no_cache_nodes_means_no_cache_alarms():
    app = Testing.app()
    stack = TerraformStack(app, "alarms-no-cache")
    AwsProvider(stack, "aws", region="eu-west-1")
    construct = Alarms(stack, "alarms", props=_props(cache_cluster_ids=()))
    assert not any("redis" in n for n in construct.alarm_names)
    assert len(construct.alarm_names) == 8  # 4 ALB + 1 ECS + 3 for the one DB


# ---------------------------------------------------------------------------------------------
# Topic, key, policies, subscription
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(synthesized, case):
    _, stack, _ = synthesized[case]
    topic = _topic(stack)
    assert topic["name"] == f"{CASES[case].name}-alarms"
    # The AWS managed aws/sns key cannot grant CloudWatch access: alarms would never arrive.
    assert ref(topic["kms_master_key_id"])[0] == "aws_kms_key"
    key = ref_target(stack, topic["kms_master_key_id"])
    assert key["enable_key_rotation"] is True
    (key_policy,) = resources(stack, "aws_kms_key_policy").values()
    assert ref_target(stack, key_policy["key_id"]) is key
    statements = _policy_document(stack, key_policy["policy"])["statement"]
    cloudwatch = [s for s in statements if s["principals"][0]["identifiers"] == ["cloudwatch.amazonaws.com"]]
    assert len(cloudwatch) == 1
    assert sorted(cloudwatch[0]["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # Only CloudWatch acting for this account (the key's own account) may use the key.
    (condition,) = cloudwatch[0]["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "aws:SourceAccount")
    (account,) = condition["values"]
    assert re.fullmatch(r"\$\{element\(split\(\":\", aws_kms_key\.[\w-]+\.arn\), 4\)\}", account), account
    # The account root keeps administering the key, or nobody could ever change it again.
    root = [s for s in statements if s["principals"][0]["type"] == "AWS"]
    assert len(root) == 1 and root[0]["actions"] == ["kms:*"]
    assert root[0]["principals"][0]["identifiers"][0].endswith(":root")


@pytest.mark.parametrize("case", CASES)
def test_topic_policy_lets_only_cloudwatch_alarms_of_this_environment_publish(synthesized, case):
    _, stack, _ = synthesized[case]
    name = CASES[case].name
    (topic_policy,) = resources(stack, "aws_sns_topic_policy").values()
    assert ref_target(stack, topic_policy["arn"]) is _topic(stack)
    statements = _policy_document(stack, topic_policy["policy"])["statement"]
    allows = [s for s in statements if s.get("effect", "Allow") == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    assert allow["actions"] == ["sns:Publish"]
    assert ref_target(stack, allow["resources"][0]) is _topic(stack)
    conditions = {c["variable"]: c for c in allow["condition"]}
    assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
    source_arn = conditions["aws:SourceArn"]
    assert source_arn["test"] == "ArnLike"
    (pattern,) = source_arn["values"]
    assert pattern.startswith("arn:") and pattern.endswith(f":alarm:{name}-*")
    assert "*:*:alarm" not in pattern, "region and account must be pinned, not wildcards"
    alarm_name_pattern = pattern.rsplit(":alarm:", 1)[1]
    assert all(fnmatch.fnmatchcase(n, alarm_name_pattern) for n in _alarms(stack))
    # Everything else in the policy may only take rights away.
    (deny,) = [s for s in statements if s.get("effect") == "Deny"]
    assert deny["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]


def test_email_subscription_only_when_an_email_is_given(synthesized):
    _, dev, _ = synthesized["dev"]
    assert resources(dev, "aws_sns_topic_subscription") == {}
    _, prod, _ = synthesized["prod"]
    (subscription,) = resources(prod, "aws_sns_topic_subscription").values()
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "oncall@example.com")
    assert ref_target(prod, subscription["topic_arn"]) is _topic(prod)


_SECRET_KEY = re.compile(r"password|secret|auth_token|private_key|access_key", re.I)


@pytest.mark.parametrize("case", CASES)
def test_no_literal_secret_in_the_synthesized_json(synthesized, case):
    _, stack, _ = synthesized[case]

    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                if _SECRET_KEY.search(key) and isinstance(value, str):
                    assert value.startswith("${"), f"{path}.{key} holds a literal value"
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(stack.get("resource", {}))
    walk(stack.get("data", {}))


# ---------------------------------------------------------------------------------------------
# Props validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, message", [
    (dict(db_instance_identifiers=("a-postgres", "b-postgres"), db_allocated_storage_gib=(20,)),
     "db_allocated_storage_gib: give one value, or one per"),
    (dict(rds_max_connections_threshold=(60, 60)), "rds_max_connections_threshold: give one value"),
    (dict(db_instance_identifiers=("${aws_db_instance.x.identifier}",)), "literal ids"),
    (dict(cache_cluster_ids=("r-001", "r-001")), "cache_cluster_ids has duplicates"),
    (dict(db_instance_identifiers=()), "at least one db_instance_identifier"),
    (dict(alb_arn_suffix="arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/y"),
     "alb_arn_suffix"),
    (dict(target_group_arn_suffix="unit-tg"), "target_group_arn_suffix"),
    (dict(rds_free_storage_fraction=10), "rds_free_storage_fraction"),
    (dict(redis_cpu_percent=100), "redis_cpu_percent must be below 100"),
    (dict(db_allocated_storage_gib=0), "db_allocated_storage_gib must be positive"),
])
def test_props_reject_bad_input(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _props(**overrides)


def test_props_accept_references_for_dimensions_that_do_not_name_alarms():
    props = _props(alb_arn_suffix="${aws_lb.alb.arn_suffix}",
                   target_group_arn_suffix="${aws_lb_target_group.tg.arn_suffix}",
                   cluster_name="${aws_ecs_cluster.c.name}")
    assert props.alb_arn_suffix.startswith("${")


def test_colliding_alarm_names_fail_at_synth_time():
    app = Testing.app()
    stack = TerraformStack(app, "alarms-collision")
    # "unit-test-postgres" loses the name prefix and becomes "postgres", like the second one.
    with pytest.raises(ValueError, match="duplicate alarm name 'unit-test-postgres-cpu'"):
        Alarms(stack, "alarms", props=_props(db_instance_identifiers=("unit-test-postgres", "postgres")))


def test_a_shared_environment_key_replaces_the_topics_own_key():
    shared = "arn:aws:kms:eu-west-1:111122223333:key/00000000-1111-2222-3333-444444444444"
    app = Testing.app()
    stack = TerraformStack(app, "alarms-shared-key")
    AwsProvider(stack, "aws", region="eu-west-1")
    alarms = Alarms(stack, "alarms", props=_props(kms_key_arn=shared))
    synthesized = json.loads(Testing.synth(stack))
    # One key per environment: no second key (and no second root-admin key policy) for the topic.
    assert resources(synthesized, "aws_kms_key") == {}
    assert resources(synthesized, "aws_kms_key_policy") == {}
    assert _topic(synthesized)["kms_master_key_id"] == shared
    assert alarms.kms_key_arn == shared
