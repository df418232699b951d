"""modules/manual_control.py, built on Testing.app() stacks (idle shutdown off, on, and on with a
1-minute check), each synthesized once. The function code is a stub in a temp folder, so the
construct is tested independently of modules/manual_control_lambda/."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from cdktf import App, Testing, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.manual_control import ManualControl, ManualControlProps, rate_expression
from tests.helpers import data_sources, json_argument, ref, ref_target, resources

ROOT = Path(__file__).resolve().parent.parent
SERVICE_ARN = "arn:aws:ecs:eu-west-1:123456789012:service/unit-test-cluster/unit-test-litellm"
ALB = "app/unit-alb/0123456789abcdef"
TARGET_ARN = "arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/0ec5abcdef"
ROUTE_KEYS = {"POST /litellm/override", "GET /litellm/status"}
CONTRACT_ENV = {
    "CLUSTER_NAME", "SERVICE_NAME", "OVERRIDE_PARAMETER_NAME", "SCHEDULE_GROUP_NAME",
    "EXPIRY_SCHEDULE_NAME", "SCHEDULER_ROLE_ARN", "ACTIVE_DESIRED_COUNT", "DEFAULT_OVERRIDE_HOURS",
    "MAX_OVERRIDE_HOURS", "IDLE_SHUTDOWN_MINUTES", "LOAD_BALANCER_DIMENSION",
    "AUTOSCALING_MIN_CAPACITY", "AUTOSCALING_MAX_CAPACITY",
}
# Actions AWS offers no resource-level permission for; the only ones allowed on "*".
STAR_ACTIONS = {"cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricData"}
EXPOSED = ("api_url", "api_id", "api_execution_arn", "function_name", "function_arn",
           "log_group_name", "invoke_policy_json", "scheduler_role_arn", "access_log_group_name")


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("manual_control_lambda")
    (folder / "handler.py").write_text("def handler(event, context):\n    return {'status': 'stub'}\n")
    return str(folder)


def _props(source_dir: str, **overrides) -> ManualControlProps:
    base = dict(
        name="unit-test",
        region="eu-west-1",
        cluster_name="unit-test-cluster",
        service_name="unit-test-litellm",
        service_arn=SERVICE_ARN,
        load_balancer_arn_suffix=ALB,
        lambda_source_dir=source_dir,
    )
    base.update(overrides)
    return ManualControlProps(**base)


def _cases(source_dir: str) -> dict[str, ManualControlProps]:
    return {
        # Defaults, as a dev environment without idle shutdown or autoscaling wires it.
        "idle-off": _props(source_dir),
        "idle-on": _props(
            source_dir,
            name="unit-prod",
            cluster_name="unit-prod-cluster",
            service_name="unit-prod-litellm",
            active_desired_count=2,
            default_override_hours=1.5,
            max_override_hours=8,
            idle_shutdown_minutes=30,
            idle_check_interval_minutes=5,
            autoscaling_min_capacity=1,
            autoscaling_max_capacity=4,
            log_retention_days=90,
        ),
        "idle-1min": _props(
            source_dir,
            idle_shutdown_minutes=15,
            idle_check_interval_minutes=1,
            autoscaling_min_capacity=0,
            autoscaling_max_capacity=2,
            scalable_target_arn=TARGET_ARN,
        ),
    }


CASE_NAMES = ("idle-off", "idle-on", "idle-1min")
IDLE_CASES = ("idle-on", "idle-1min")


@pytest.fixture(scope="module")
def cases(source_dir) -> dict[str, ManualControlProps]:
    return _cases(source_dir)


@pytest.fixture(scope="module")
def synthesized(cases) -> dict[str, tuple[str, dict, ManualControl]]:
    app = Testing.app()
    out = {}
    for case, props in cases.items():
        stack = TerraformStack(app, f"manual-control-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        construct = ManualControl(stack, "manual-control", props=props)
        for attribute in EXPOSED:
            TerraformOutput(stack, attribute, value=getattr(construct, attribute))
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text), construct)
    return out


def _one(stack: dict, tf_type: str) -> dict:
    (config,) = resources(stack, tf_type).values()
    return config


def _function(stack: dict) -> dict:
    return _one(stack, "aws_lambda_function")


def _document(stack: dict, policy_value: str) -> dict:
    """The aws_iam_policy_document a ``${data.aws_iam_policy_document.x.json}`` points at."""
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}", policy_value)
    assert match, f"not a policy-document reference: {policy_value!r}"
    return data_sources(stack, "aws_iam_policy_document")[match.group(1)]


def _role_by_principal(stack: dict, service: str) -> tuple[str, dict]:
    found = [
        (role_id, role) for role_id, role in resources(stack, "aws_iam_role").items()
        if _document(stack, role["assume_role_policy"])["statement"][0]["principals"][0]["identifiers"]
        == [service]
    ]
    assert len(found) == 1, f"expected one role assumed by {service}"
    return found[0]


def _role_statements(stack: dict, role_id: str) -> list[dict]:
    """Every statement of every inline policy attached to the role ``role_id``."""
    statements = []
    for policy in resources(stack, "aws_iam_role_policy").values():
        if ref(policy["role"])[1] == role_id:
            statements += _document(stack, policy["policy"])["statement"]
    return statements


def _function_statements(stack: dict) -> list[dict]:
    role_id, _ = _role_by_principal(stack, "lambda.amazonaws.com")
    return _role_statements(stack, role_id)


def _statements_with(statements: list[dict], prefix: str) -> list[dict]:
    return [s for s in statements if any(a.startswith(prefix) for a in s["actions"])]


def _output_ref(stack: dict, name: str) -> tuple[str, str, str]:
    return ref(stack["output"][name]["value"])


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_NAMES)
def test_api_has_exactly_the_two_routes_and_both_require_sigv4(synthesized, case):
    _, stack, _ = synthesized[case]
    api = _one(stack, "aws_apigatewayv2_api")
    assert api["protocol_type"] == "HTTP"
    assert api["name"] == f"{synthesized[case][2].props.name}-manual-control"
    # Quick-create (route_key/target on the API) would add an unauthenticated $default route.
    assert "route_key" not in api and "target" not in api
    routes = list(resources(stack, "aws_apigatewayv2_route").values())
    assert {r["route_key"] for r in routes} == ROUTE_KEYS
    assert len(routes) == len(ROUTE_KEYS)
    integration_id = next(iter(resources(stack, "aws_apigatewayv2_integration")))
    for route in routes:
        assert route["authorization_type"] == "AWS_IAM", route["route_key"]
        assert ref(route["api_id"])[0] == "aws_apigatewayv2_api"
        assert route["target"] == f"integrations/${{aws_apigatewayv2_integration.{integration_id}.id}}"


def test_integration_is_a_lambda_proxy_with_payload_2(synthesized):
    text, stack, _ = synthesized["idle-off"]
    integration = _one(stack, "aws_apigatewayv2_integration")
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["payload_format_version"] == "2.0"
    tf_type, _, attribute = ref(integration["integration_uri"])
    assert (tf_type, attribute) == ("aws_lambda_function", "invoke_arn")
    assert ref_target(stack, integration["integration_uri"]) is _function(stack)
    assert integration["timeout_milliseconds"] <= 30000
    assert Testing.to_have_resource_with_properties(
        text, "aws_apigatewayv2_integration", {"integration_method": "POST"},
    )


@pytest.mark.parametrize("case", CASE_NAMES)
def test_default_stage_auto_deploys_throttles_and_logs_the_caller(synthesized, cases, case):
    _, stack, _ = synthesized[case]
    stage = _one(stack, "aws_apigatewayv2_stage")
    assert stage["name"] == "$default"
    assert stage["auto_deploy"] is True
    throttling = stage["default_route_settings"]
    assert 0 < throttling["throttling_burst_limit"] <= 20
    assert 0 < throttling["throttling_rate_limit"] <= 10
    logs = stage["access_log_settings"]
    group = ref_target(stack, logs["destination_arn"])
    assert group["retention_in_days"] == cases[case].log_retention_days
    fields = json.loads(logs["format"])
    for key, variable in {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "userArn": "$context.identity.userArn",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
    }.items():
        assert fields[key] == variable


@pytest.mark.parametrize("case", CASE_NAMES)
def test_api_gateway_may_invoke_the_function_for_the_two_routes_only(synthesized, case):
    _, stack, _ = synthesized[case]
    api_id = next(iter(resources(stack, "aws_apigatewayv2_api")))
    execution_arn = f"${{aws_apigatewayv2_api.{api_id}.execution_arn}}"
    api_permissions = [p for p in resources(stack, "aws_lambda_permission").values()
                       if p["principal"] == "apigateway.amazonaws.com"]
    assert sorted(p["source_arn"] for p in api_permissions) == sorted([
        f"{execution_arn}/*/GET/litellm/status",
        f"{execution_arn}/*/POST/litellm/override",
    ])
    for permission in api_permissions:
        assert permission["action"] == "lambda:InvokeFunction"
        assert ref_target(stack, permission["function_name"]) is _function(stack)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_every_lambda_permission_is_scoped_by_source_arn(synthesized, case):
    _, stack, _ = synthesized[case]
    permissions = resources(stack, "aws_lambda_permission").values()
    assert permissions
    for permission in permissions:
        assert permission["source_arn"].startswith("${"), permission
        assert "*" not in permission["principal"]
    # Scheduler invokes through its role, never through a resource policy.
    assert not any(p["principal"] == "scheduler.amazonaws.com" for p in permissions)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_operator_invoke_policy_grants_exactly_the_two_routes(synthesized, case):
    _, stack, _ = synthesized[case]
    document = _document(stack, stack["output"]["invoke_policy_json"]["value"])
    (statement,) = document["statement"]
    assert statement.get("effect", "Allow") == "Allow"
    assert statement["actions"] == ["execute-api:Invoke"]
    api_id = next(iter(resources(stack, "aws_apigatewayv2_api")))
    execution_arn = f"${{aws_apigatewayv2_api.{api_id}.execution_arn}}"
    assert sorted(statement["resources"]) == sorted([
        f"{execution_arn}/*/POST/litellm/override",
        f"{execution_arn}/*/GET/litellm/status",
    ])


# ---------------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_NAMES)
def test_function_runtime_and_package(synthesized, cases, case):
    _, stack, _ = synthesized[case]
    function = _function(stack)
    assert function["function_name"] == f"{cases[case].name}-manual-control"
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["arm64"]
    assert function["handler"] == "handler.handler"
    assert function["memory_size"] == 256
    assert 10 <= function["timeout"] <= 30
    # The asset's archive, copied next to cdk.tf.json, and its hash so code edits redeploy.
    assert function["filename"].startswith("assets/") and function["filename"].endswith(".zip")
    assert function["source_code_hash"] and function["source_code_hash"] in function["filename"]
    assert "reserved_concurrent_executions" not in function


@pytest.mark.parametrize("case", CASE_NAMES)
def test_function_depends_on_its_retained_log_group(synthesized, cases, case):
    _, stack, _ = synthesized[case]
    function = _function(stack)
    groups = resources(stack, "aws_cloudwatch_log_group")
    (group_id,) = [i for i, g in groups.items() if g["name"] == f"/aws/lambda/{function['function_name']}"]
    assert f"aws_cloudwatch_log_group.{group_id}" in function["depends_on"]
    assert len(groups) == 2  # the function's and the API's access logs
    for group in groups.values():
        assert group["retention_in_days"] == cases[case].log_retention_days


@pytest.mark.parametrize("case", CASE_NAMES)
def test_function_environment_follows_the_contract(synthesized, cases, case):
    _, stack, _ = synthesized[case]
    props = cases[case]
    variables = _function(stack)["environment"]["variables"]
    assert set(variables) == CONTRACT_ENV
    prefix = props.name
    assert variables["CLUSTER_NAME"] == f"{prefix}-cluster"
    assert variables["SERVICE_NAME"] == f"{prefix}-litellm"
    assert variables["OVERRIDE_PARAMETER_NAME"] == f"/{prefix}/litellm/override"
    assert variables["SCHEDULE_GROUP_NAME"] == f"{prefix}-litellm"
    assert variables["EXPIRY_SCHEDULE_NAME"] == f"{prefix}-override-expiry"
    assert variables["LOAD_BALANCER_DIMENSION"] == ALB
    assert int(variables["ACTIVE_DESIRED_COUNT"]) == props.active_desired_count
    assert float(variables["DEFAULT_OVERRIDE_HOURS"]) == props.default_override_hours
    assert float(variables["MAX_OVERRIDE_HOURS"]) == props.max_override_hours
    assert int(variables["IDLE_SHUTDOWN_MINUTES"]) == props.idle_shutdown_minutes
    scheduler_role = ref_target(stack, variables["SCHEDULER_ROLE_ARN"])
    _, expected = _role_by_principal(stack, "scheduler.amazonaws.com")
    assert scheduler_role is expected


def test_environment_values_per_scenario(synthesized):
    off = _function(synthesized["idle-off"][1])["environment"]["variables"]
    assert (off["AUTOSCALING_MIN_CAPACITY"], off["AUTOSCALING_MAX_CAPACITY"]) == ("", "")
    assert off["IDLE_SHUTDOWN_MINUTES"] == "0"
    assert off["ACTIVE_DESIRED_COUNT"] == "1"
    on = _function(synthesized["idle-on"][1])["environment"]["variables"]
    assert (on["AUTOSCALING_MIN_CAPACITY"], on["AUTOSCALING_MAX_CAPACITY"]) == ("1", "4")
    assert (on["DEFAULT_OVERRIDE_HOURS"], on["MAX_OVERRIDE_HOURS"]) == ("1.5", "8.0")
    one = _function(synthesized["idle-1min"][1])["environment"]["variables"]
    assert one["AUTOSCALING_MIN_CAPACITY"] == "0"  # a floor of 0 is a value, not "no autoscaling"


def test_default_source_is_the_repository_lambda_folder():
    default = ManualControlProps.__dataclass_fields__["lambda_source_dir"].default
    assert Path(default) == ROOT / "modules" / "manual_control_lambda"


# ---------------------------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_NAMES)
def test_no_wildcard_action_and_star_resources_only_where_aws_requires_them(synthesized, case):
    _, stack, _ = synthesized[case]
    documents = data_sources(stack, "aws_iam_policy_document")
    assert documents
    for doc_id, document in documents.items():
        for statement in document["statement"]:
            assert statement.get("effect", "Allow") == "Allow", doc_id
            assert not any("*" in action for action in statement["actions"]), (doc_id, statement)
            for resource in statement.get("resources", []):
                if resource == "*":
                    assert set(statement["actions"]) <= STAR_ACTIONS, (doc_id, statement)
                else:
                    assert resource.startswith(("arn:", "${")), (doc_id, resource)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_ecs_actions_only_on_the_service(synthesized, case):
    _, stack, _ = synthesized[case]
    (statement,) = _statements_with(_function_statements(stack), "ecs:")
    assert sorted(statement["actions"]) == ["ecs:DescribeServices", "ecs:UpdateService"]
    assert statement["resources"] == [SERVICE_ARN]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_pass_role_only_for_the_scheduler_role_and_only_to_scheduler(synthesized, case):
    _, stack, _ = synthesized[case]
    (statement,) = _statements_with(_function_statements(stack), "iam:")
    assert statement["actions"] == ["iam:PassRole"]
    (resource,) = statement["resources"]
    scheduler_role_id, _ = _role_by_principal(stack, "scheduler.amazonaws.com")
    assert resource == f"${{aws_iam_role.{scheduler_role_id}.arn}}"
    (condition,) = statement["condition"]
    assert (condition["test"], condition["variable"], condition["values"]) == (
        "StringEquals", "iam:PassedToService", ["scheduler.amazonaws.com"],
    )


@pytest.mark.parametrize("case", CASE_NAMES)
def test_logs_ssm_and_scheduler_permissions_name_their_one_resource(synthesized, cases, case):
    _, stack, _ = synthesized[case]
    statements = _function_statements(stack)
    (logs,) = _statements_with(statements, "logs:")
    assert "logs:CreateLogGroup" not in logs["actions"]
    (log_resource,) = logs["resources"]
    assert log_resource.endswith(".arn}:*")
    assert ref_target(stack, log_resource.removesuffix(":*"))["name"].startswith("/aws/lambda/")

    (ssm,) = _statements_with(statements, "ssm:")
    assert sorted(ssm["actions"]) == ["ssm:GetParameter", "ssm:PutParameter"]
    (parameter_arn,) = ssm["resources"]
    assert ref_target(stack, parameter_arn)["name"] == f"/{cases[case].name}/litellm/override"

    (scheduler,) = _statements_with(statements, "scheduler:")
    assert sorted(scheduler["actions"]) == [
        "scheduler:CreateSchedule", "scheduler:DeleteSchedule",
        "scheduler:GetSchedule", "scheduler:UpdateSchedule",
    ]
    (schedule_arn,) = scheduler["resources"]
    prefix = cases[case].name
    assert schedule_arn.startswith("arn:")
    assert ":scheduler:eu-west-1:" in schedule_arn
    assert schedule_arn.endswith(f":schedule/{prefix}-litellm/{prefix}-override-expiry")
    # Account from the schedule group's own ARN, not a data source.
    assert "aws_scheduler_schedule_group." in schedule_arn
    assert "data.aws_caller_identity" not in json.dumps(stack)


def test_metric_reads_only_with_idle_shutdown(synthesized):
    assert _statements_with(_function_statements(synthesized["idle-off"][1]), "cloudwatch:") == []
    for case in IDLE_CASES:
        (statement,) = _statements_with(_function_statements(synthesized[case][1]), "cloudwatch:")
        assert statement["resources"] == ["*"]
        assert set(statement["actions"]) == {"cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricData"}


def _autoscaling_statements(stack: dict) -> dict[str, dict]:
    statements = _statements_with(_function_statements(stack), "application-autoscaling:")
    return {action: s for s in statements for action in s["actions"]}


def test_autoscaling_permissions_only_when_the_service_has_a_target(synthesized):
    assert _autoscaling_statements(synthesized["idle-off"][1]) == {}
    for case in IDLE_CASES:
        statements = _autoscaling_statements(synthesized[case][1])
        # The function only re-registers the target (an in-place update); no "*" describe.
        assert set(statements) == {"application-autoscaling:RegisterScalableTarget"}
        register = statements["application-autoscaling:RegisterScalableTarget"]
        conditions = {c["variable"]: (c["test"], c["values"]) for c in register["condition"]}
        assert conditions == {
            "application-autoscaling:service-namespace": ("StringEquals", ["ecs"]),
            "application-autoscaling:scalable-dimension": ("StringEquals", ["ecs:service:DesiredCount"]),
        }


def test_register_scalable_target_is_pinned_when_the_target_arn_is_known(synthesized):
    on = _autoscaling_statements(synthesized["idle-on"][1])["application-autoscaling:RegisterScalableTarget"]
    (resource,) = on["resources"]
    assert ":application-autoscaling:eu-west-1:" in resource
    assert resource.endswith(":scalable-target/*") and resource.startswith("arn:")
    one = _autoscaling_statements(synthesized["idle-1min"][1])["application-autoscaling:RegisterScalableTarget"]
    assert one["resources"] == [TARGET_ARN]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_scheduler_role_only_invokes_this_function_and_trusts_only_our_group(synthesized, case):
    _, stack, _ = synthesized[case]
    role_id, role = _role_by_principal(stack, "scheduler.amazonaws.com")
    (statement,) = _role_statements(stack, role_id)
    assert statement["actions"] == ["lambda:InvokeFunction"]
    (resource,) = statement["resources"]
    assert ref(resource)[2] == "arn" and ref_target(stack, resource) is _function(stack)
    (trust,) = _document(stack, role["assume_role_policy"])["statement"]
    conditions = {c["variable"]: c for c in trust["condition"]}
    (source_arn,) = conditions["aws:SourceArn"]["values"]
    group = ref_target(stack, source_arn)
    assert group is _one(stack, "aws_scheduler_schedule_group")
    assert "aws_scheduler_schedule_group." in conditions["aws:SourceAccount"]["values"][0]


# ---------------------------------------------------------------------------------------------
# Override state and schedules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_NAMES)
def test_override_parameter_starts_inactive_and_belongs_to_the_function(synthesized, cases, case):
    _, stack, _ = synthesized[case]
    parameter = _one(stack, "aws_ssm_parameter")
    assert parameter["name"] == f"/{cases[case].name}/litellm/override"
    assert parameter["type"] == "String"
    assert json.loads(parameter["value"]) == {"expires_at": None, "desired_count": 0}
    assert parameter["lifecycle"]["ignore_changes"] == ["value"]
    assert _one(stack, "aws_scheduler_schedule_group")["name"] == f"{cases[case].name}-litellm"


def test_idle_off_creates_no_idle_check_wake_alarm_or_rule(synthesized):
    _, stack, construct = synthesized["idle-off"]
    for tf_type in ("aws_scheduler_schedule", "aws_cloudwatch_metric_alarm",
                    "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target"):
        assert resources(stack, tf_type) == {}, tf_type
    assert {p["principal"] for p in resources(stack, "aws_lambda_permission").values()} == {
        "apigateway.amazonaws.com"
    }
    assert construct.wake_alarm_name is None and construct.idle_check_schedule_name is None


@pytest.mark.parametrize("case,expression", [("idle-on", "rate(5 minutes)"), ("idle-1min", "rate(1 minute)")])
def test_idle_check_schedule_invokes_the_function_through_the_scheduler_role(synthesized, cases, case, expression):
    _, stack, construct = synthesized[case]
    prefix = cases[case].name
    schedule = _one(stack, "aws_scheduler_schedule")
    assert schedule["name"] == f"{prefix}-idle-check" == construct.idle_check_schedule_name
    assert schedule["schedule_expression"] == expression
    assert schedule["flexible_time_window"] == {"mode": "OFF"}
    assert ref_target(stack, schedule["group_name"]) is _one(stack, "aws_scheduler_schedule_group")
    target = schedule["target"]
    assert ref(target["arn"])[2] == "arn" and ref_target(stack, target["arn"]) is _function(stack)
    _, scheduler_role = _role_by_principal(stack, "scheduler.amazonaws.com")
    assert ref_target(stack, target["role_arn"]) is scheduler_role
    assert json.loads(target["input"]) == {"action": "idle-check"}


@pytest.mark.parametrize("case", IDLE_CASES)
def test_wake_alarm_watches_alb_503s_not_request_count(synthesized, cases, case):
    _, stack, construct = synthesized[case]
    alarm = _one(stack, "aws_cloudwatch_metric_alarm")
    assert alarm["alarm_name"] == f"{cases[case].name}-wake-on-request" == construct.wake_alarm_name
    assert alarm["namespace"] == "AWS/ApplicationELB"
    assert alarm["metric_name"] == "HTTPCode_ELB_503_Count"
    assert alarm["dimensions"] == {"LoadBalancer": ALB}
    assert (alarm["statistic"], alarm["period"], alarm["evaluation_periods"]) == ("Sum", 60, 1)
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["treat_missing_data"] == "notBreaching"
    assert "RequestCount" not in json.dumps(resources(stack, "aws_cloudwatch_metric_alarm"))


@pytest.mark.parametrize("case", IDLE_CASES)
def test_wake_rule_forwards_the_alarm_transition_to_the_function(synthesized, case):
    _, stack, _ = synthesized[case]
    rule_id, rule = next(iter(resources(stack, "aws_cloudwatch_event_rule").items()))
    pattern = json_argument(stack, rule["event_pattern"])
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    (alarm_arn,) = pattern["resources"]
    assert ref(alarm_arn)[2] == "arn"
    assert ref_target(stack, alarm_arn) is _one(stack, "aws_cloudwatch_metric_alarm")

    target = _one(stack, "aws_cloudwatch_event_target")
    assert target["rule"] == f"${{aws_cloudwatch_event_rule.{rule_id}.name}}"
    assert ref_target(stack, target["arn"]) is _function(stack)
    (permission,) = [p for p in resources(stack, "aws_lambda_permission").values()
                     if p["principal"] == "events.amazonaws.com"]
    assert permission["source_arn"] == f"${{aws_cloudwatch_event_rule.{rule_id}.arn}}"


# ---------------------------------------------------------------------------------------------
# Exposed attributes, secrets, props
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_NAMES)
def test_exposed_attributes_point_at_the_right_resources(synthesized, cases, case):
    _, stack, construct = synthesized[case]
    expected = {
        "api_url": ("aws_apigatewayv2_api", "api_endpoint"),
        "api_id": ("aws_apigatewayv2_api", "id"),
        "api_execution_arn": ("aws_apigatewayv2_api", "execution_arn"),
        "function_name": ("aws_lambda_function", "function_name"),
        "function_arn": ("aws_lambda_function", "arn"),
        "log_group_name": ("aws_cloudwatch_log_group", "name"),
        "scheduler_role_arn": ("aws_iam_role", "arn"),
        "access_log_group_name": ("aws_cloudwatch_log_group", "name"),
    }
    for attribute, (tf_type, tf_attribute) in expected.items():
        found_type, _, found_attribute = _output_ref(stack, attribute)
        assert (found_type, found_attribute) == (tf_type, tf_attribute), attribute
    log_group = ref_target(stack, stack["output"]["log_group_name"]["value"])
    assert log_group["name"].startswith("/aws/lambda/")
    access_group = ref_target(stack, stack["output"]["access_log_group_name"]["value"])
    assert access_group["name"].startswith("/aws/apigateway/")
    prefix = cases[case].name
    assert construct.override_parameter_name == f"/{prefix}/litellm/override"
    assert construct.schedule_group_name == f"{prefix}-litellm"
    assert construct.expiry_schedule_name == f"{prefix}-override-expiry"


@pytest.mark.parametrize("case", CASE_NAMES)
def test_nothing_secret_is_synthesized(synthesized, case):
    text, stack, _ = synthesized[case]
    assert not re.search(r"AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9]{16,}|-----BEGIN", text)
    variables = _function(stack)["environment"]["variables"]
    assert not any(re.search(r"SECRET|PASSWORD|TOKEN|KEY", name) for name in variables)


def test_rate_expression_uses_the_singular_for_one_minute():
    assert rate_expression(1) == "rate(1 minute)"
    assert rate_expression(2) == "rate(2 minutes)"
    assert rate_expression(60) == "rate(60 minutes)"


@pytest.mark.parametrize("overrides,message", [
    ({"active_desired_count": 0}, "active_desired_count"),
    ({"default_override_hours": 13}, "must not exceed max_override_hours"),
    ({"max_override_hours": float("inf")}, "max_override_hours must be a positive number"),
    ({"default_override_hours": 0}, "default_override_hours must be a positive number"),
    ({"idle_shutdown_minutes": -1}, "idle_shutdown_minutes"),
    ({"idle_check_interval_minutes": 0}, "idle_check_interval_minutes"),
    ({"autoscaling_min_capacity": 1}, "give both"),
    ({"autoscaling_min_capacity": 3, "autoscaling_max_capacity": 2}, "autoscaling needs"),
    ({"scalable_target_arn": TARGET_ARN}, "scalable_target_arn"),
    ({"load_balancer_arn_suffix": "unit-alb"}, "ARN suffix"),
    ({"log_retention_days": 0}, "log_retention_days"),
    ({"reserved_concurrent_executions": 0}, "reserved_concurrent_executions"),
    ({"name": ""}, "name must be"),
])
def test_props_reject_invalid_values(source_dir, overrides, message):
    with pytest.raises(ValueError, match=message):
        _props(source_dir, **overrides)

# The real Terraform check of this construct runs in tests/test_terraform_loop.py: the shipped
# dev stack enables manual control with idle shutdown, and is planned offline there.
