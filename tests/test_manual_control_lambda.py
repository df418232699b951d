"""modules/manual_control_lambda/handler.py against moto's in-process AWS (``mock_aws``).

Every test builds a real (moto) ECS cluster and service, the SSM override parameter, the
scheduler schedule group and an Application Auto Scaling target, then calls ``handler`` with
the events the contract names and reads the resulting AWS state back through boto3. Fake
credentials only; no network. The handler's ``now()`` is patched where time matters.

What moto cannot emulate (so these tests do not prove it):
- EventBridge Scheduler never fires in moto: that the one-time ``at(...)`` schedule invokes the
  function at expiry (and deletes itself, ``ActionAfterCompletion: DELETE``), and the recurring
  ``rate(...)`` idle check, are only checked as stored schedule definitions; the expire and
  idle-check events are sent by hand. Whether Scheduler fires early within the minute (the
  reason for the handler's 120 s expiry grace) is not observable here either.
- Scheduler role trust / ``iam:PassRole`` and every IAM decision (the Lambda's own policy, the
  HTTP API's ``AWS_IAM`` SigV4 authorization): moto does not enforce IAM by default.
- The ALB side: moto emits no ``HTTPCode_ELB_503_Count`` / ``RequestCount`` metrics, no
  CloudWatch alarm transitions on them and no EventBridge delivery of "Alarm State Change"
  events; the alarm event is hand-built (shape from the CloudWatch documentation), and
  RequestCount datapoints are written with ``put_metric_data``. CloudWatch's ingestion delay and
  period alignment are not emulated.
- ECS: moto starts no tasks (runningCount follows desiredCount instantly) and does not bump
  ``deployments[].updatedAt`` when only the desired count changes (real ECS does), so "recently
  woken" is tested through the service's creation time, not through a wake followed by an
  idle check.
- Application Auto Scaling: moto stores min/max but never scales the service to them.
- The HTTP API itself (routing, base64 decision, payload 2.0 construction): events are hand-built.
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label_example
from hypothesis import strategies as st
from botocore.exceptions import ClientError
from moto import mock_aws

HANDLER_PATH = Path(__file__).resolve().parent.parent / "modules" / "manual_control_lambda" / "handler.py"

REGION = "eu-west-1"
ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:litellm-test-manual-control"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/litellm-test-scheduler"
CONTEXT = SimpleNamespace(invoked_function_arn=FUNCTION_ARN)
FIXED_NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
SERVICES = ("ecs", "ssm", "scheduler", "application-autoscaling", "cloudwatch")
_test_numbers = itertools.count()


def names(prefix: str) -> dict[str, str]:
    """The Lambda environment for one deployment named ``prefix``, as the contract derives it."""
    return {
        "CLUSTER_NAME": f"{prefix}-cluster",
        "SERVICE_NAME": f"{prefix}-litellm",
        "OVERRIDE_PARAMETER_NAME": f"/{prefix}/litellm/override",
        "SCHEDULE_GROUP_NAME": f"{prefix}-litellm",
        "EXPIRY_SCHEDULE_NAME": f"{prefix}-override-expiry",
        "SCHEDULER_ROLE_ARN": ROLE_ARN,
        "ACTIVE_DESIRED_COUNT": "2",
        "DEFAULT_OVERRIDE_HOURS": "2",
        "MAX_OVERRIDE_HOURS": "12",
        "IDLE_SHUTDOWN_MINUTES": "15",
        "LOAD_BALANCER_DIMENSION": f"app/{prefix}/0123456789abcdef",
        "AUTOSCALING_MIN_CAPACITY": "1",
        "AUTOSCALING_MAX_CAPACITY": "4",
    }


def _load_handler():
    # The folder is a Lambda zip, not a package: load the file the way the runtime does, and
    # leave no __pycache__ behind in it (the construct zips the whole folder).
    spec = importlib.util.spec_from_file_location("manual_control_handler", HANDLER_PATH)
    module = importlib.util.module_from_spec(spec)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


h = _load_handler()
REAL_MAKE_CLIENT = h.make_client


class Aws:
    """One deployment's resources in the shared moto account, plus readers of their state."""

    def __init__(self, clients: dict, env: dict[str, str]) -> None:
        self.clients = clients
        self.env = env
        self.ecs = clients["ecs"]
        self.ssm = clients["ssm"]
        self.scheduler = clients["scheduler"]
        self.autoscaling = clients["application-autoscaling"]
        self.cloudwatch = clients["cloudwatch"]
        self.resource_id = f"service/{env['CLUSTER_NAME']}/{env['SERVICE_NAME']}"

    def build(self, autoscaling: bool = True) -> None:
        env = self.env
        self.ecs.create_cluster(clusterName=env["CLUSTER_NAME"])
        self.ecs.register_task_definition(
            family=env["SERVICE_NAME"],
            containerDefinitions=[{"name": "litellm", "image": "litellm:test", "memory": 512}],
        )
        self.ecs.create_service(
            cluster=env["CLUSTER_NAME"], serviceName=env["SERVICE_NAME"],
            taskDefinition=env["SERVICE_NAME"], desiredCount=0,
        )
        self.ssm.put_parameter(
            Name=env["OVERRIDE_PARAMETER_NAME"], Type="String",
            Value=json.dumps({"expires_at": None, "desired_count": 0}),
        )
        self.scheduler.create_schedule_group(Name=env["SCHEDULE_GROUP_NAME"])
        if autoscaling:
            self.register_target(1, 4)

    def register_target(self, minimum: int, maximum: int) -> None:
        self.autoscaling.register_scalable_target(
            ServiceNamespace="ecs", ResourceId=self.resource_id,
            ScalableDimension="ecs:service:DesiredCount", MinCapacity=minimum, MaxCapacity=maximum,
        )

    def service(self) -> dict:
        return self.ecs.describe_services(
            cluster=self.env["CLUSTER_NAME"], services=[self.env["SERVICE_NAME"]],
        )["services"][0]

    def desired(self) -> int:
        return self.service()["desiredCount"]

    def set_desired(self, count: int) -> None:
        self.ecs.update_service(cluster=self.env["CLUSTER_NAME"], service=self.env["SERVICE_NAME"], desiredCount=count)

    def override(self) -> dict:
        return json.loads(self.ssm.get_parameter(Name=self.env["OVERRIDE_PARAMETER_NAME"])["Parameter"]["Value"])

    def set_override(self, expires_at: str | None, desired_count: int) -> None:
        self.ssm.put_parameter(
            Name=self.env["OVERRIDE_PARAMETER_NAME"], Type="String", Overwrite=True,
            Value=json.dumps({"expires_at": expires_at, "desired_count": desired_count}),
        )

    def schedules(self) -> list[str]:
        listed = self.scheduler.list_schedules(GroupName=self.env["SCHEDULE_GROUP_NAME"])["Schedules"]
        return [s["Name"] for s in listed]

    def expiry_schedule(self) -> dict:
        return self.scheduler.get_schedule(
            Name=self.env["EXPIRY_SCHEDULE_NAME"], GroupName=self.env["SCHEDULE_GROUP_NAME"],
        )

    def scalable_target(self) -> dict | None:
        targets = self.autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[self.resource_id])
        return targets["ScalableTargets"][0] if targets["ScalableTargets"] else None

    def requests(self, at: datetime, count: float, load_balancer: str | None = None) -> None:
        self.cloudwatch.put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[{
                "MetricName": "RequestCount", "Value": count, "Unit": "Count", "Timestamp": at,
                "Dimensions": [{"Name": "LoadBalancer", "Value": load_balancer or self.env["LOAD_BALANCER_DIMENSION"]}],
            }],
        )

    def snapshot(self) -> tuple:
        target = self.scalable_target()
        return (
            self.desired(), self.override(), self.schedules(),
            target and (target["MinCapacity"], target["MaxCapacity"]),
        )


def _fake_credentials(monkeypatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.setenv(key, "testing")
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "FUNCTION_ARN", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(scope="module")
def account():
    """One moto account for the module (starting moto and creating clients is the slow part);
    every test gets its own uniquely named deployment in it instead of a reset."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fake_credentials(monkeypatch)
        with mock_aws():
            yield {service: boto3.client(service, region_name=REGION) for service in SERVICES}


@pytest.fixture
def env(monkeypatch, account):
    _fake_credentials(monkeypatch)
    values = names(f"lt{next(_test_numbers)}")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    # The handler's clients are the module's (already mocked) ones; one test covers the real factory.
    monkeypatch.setattr(h, "make_client", lambda service: account[service])
    monkeypatch.env_values = values
    return monkeypatch


@pytest.fixture
def aws(env, account):
    deployment = Aws(account, env.env_values)
    deployment.build()
    return deployment


@pytest.fixture
def clock(monkeypatch):
    """``clock(moment)`` pins the handler's notion of now."""

    def pin(moment: datetime) -> datetime:
        monkeypatch.setattr(h, "now", lambda: moment)
        return moment

    pin(FIXED_NOW)
    return pin


def http(method: str, path: str, body=None, query=None, base64_body: bool = False) -> dict:
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
        "isBase64Encoded": base64_body,
    }
    if query is not None:
        event["queryStringParameters"] = query
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body)
        event["body"] = base64.b64encode(text.encode()).decode() if base64_body else text
    return event


def call(event) -> tuple[int, dict]:
    response = h.handler(event, CONTEXT)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def override(body=None, **kwargs) -> tuple[int, dict]:
    return call(http("POST", "/litellm/override", body, **kwargs))


def alarm_event(state: str) -> dict:
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": "2030-01-01T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:litellm-test-wake-on-request"],
        "detail": {
            "alarmName": "litellm-test-wake-on-request",
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2030-01-01T12:00:00.000+0000"},
            "previousState": {"value": "OK" if state == "ALARM" else "ALARM"},
        },
    }


# --- activate ---------------------------------------------------------------------------------


def test_activate_scales_up_records_the_override_and_schedules_the_expiry(aws, clock):
    assert override({"action": "activate", "hours": 3}) == (
        200, {"status": "activated", "desired_count": 2, "override_expires_at": "2030-01-01T15:00:00Z"},
    )
    assert aws.desired() == 2
    assert aws.override() == {"expires_at": "2030-01-01T15:00:00Z", "desired_count": 2}
    schedule = aws.expiry_schedule()
    assert schedule["ScheduleExpression"] == "at(2030-01-01T15:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == FUNCTION_ARN
    assert schedule["Target"]["RoleArn"] == ROLE_ARN
    assert json.loads(schedule["Target"]["Input"]) == {"action": "expire"}
    assert aws.schedules() == [aws.env["EXPIRY_SCHEDULE_NAME"]]
    target = aws.scalable_target()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)


def test_activate_defaults_to_the_configured_hours_and_rounds_up_to_whole_seconds(aws, clock):
    clock(FIXED_NOW + timedelta(microseconds=250_000))
    assert override() == (
        200, {"status": "activated", "desired_count": 2, "override_expires_at": "2030-01-01T14:00:01Z"},
    )
    assert aws.expiry_schedule()["ScheduleExpression"] == "at(2030-01-01T14:00:01)"


def test_fractional_hours_are_accepted(aws, clock):
    status, body = override({"hours": 0.5})
    assert status == 200 and body["override_expires_at"] == "2030-01-01T12:30:00Z"


def test_activating_twice_moves_the_schedule_and_is_idempotent(aws, clock):
    override({"hours": 2})
    first = aws.snapshot()
    assert override({"hours": 2})[0] == 200
    assert aws.snapshot() == first

    clock(FIXED_NOW + timedelta(minutes=30))
    assert override({"hours": 4})[1]["override_expires_at"] == "2030-01-01T16:30:00Z"
    assert aws.schedules() == [aws.env["EXPIRY_SCHEDULE_NAME"]]
    assert aws.expiry_schedule()["ScheduleExpression"] == "at(2030-01-01T16:30:00)"
    assert aws.override() == {"expires_at": "2030-01-01T16:30:00Z", "desired_count": 2}
    assert aws.desired() == 2


def test_activate_recreates_an_expiry_schedule_that_already_fired(aws, clock):
    override({"hours": 1})
    # Scheduler deletes a one-time schedule after it ran (ActionAfterCompletion DELETE).
    aws.scheduler.delete_schedule(Name=aws.env["EXPIRY_SCHEDULE_NAME"], GroupName=aws.env["SCHEDULE_GROUP_NAME"])
    assert override({"hours": 1})[0] == 200
    assert aws.expiry_schedule()["ScheduleExpression"] == "at(2030-01-01T13:00:00)"


def test_activate_never_scales_a_bigger_service_down(aws, clock):
    aws.set_desired(4)
    assert override({"hours": 1}) == (
        200, {"status": "activated", "desired_count": 4, "override_expires_at": "2030-01-01T13:00:00Z"},
    )
    assert aws.desired() == 4
    assert aws.override()["desired_count"] == 4


def test_activate_raises_an_autoscaling_floor_of_zero_to_one(aws, clock, env):
    env.setenv("AUTOSCALING_MIN_CAPACITY", "0")
    env.setenv("ACTIVE_DESIRED_COUNT", "1")
    aws.autoscaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId=aws.resource_id,
        ScalableDimension="ecs:service:DesiredCount", MinCapacity=0, MaxCapacity=4,
    )
    assert override()[1]["desired_count"] == 1
    assert aws.scalable_target()["MinCapacity"] == 1


def test_activate_starts_at_least_the_autoscaling_floor(aws, clock, env):
    env.setenv("AUTOSCALING_MIN_CAPACITY", "3")
    assert override()[1]["desired_count"] == 3
    assert aws.desired() == 3
    assert aws.scalable_target()["MinCapacity"] == 3


def test_without_autoscaling_no_scalable_target_is_touched(env, account, clock):
    env.setenv("AUTOSCALING_MIN_CAPACITY", "")
    env.setenv("AUTOSCALING_MAX_CAPACITY", "")
    aws = Aws(account, env.env_values)
    aws.build(autoscaling=False)
    assert override()[0] == 200
    assert h.handler(alarm_event("ALARM"), CONTEXT)["status"] == "noop"
    assert override({"action": "deactivate"})[0] == 200
    assert h.handler(alarm_event("ALARM"), CONTEXT)["status"] == "woken"
    assert aws.scalable_target() is None
    assert aws.desired() == 2


def test_the_schedule_targets_the_unqualified_function_and_falls_back_to_the_environment(aws, clock, env):
    h.handler(http("POST", "/litellm/override", {}), SimpleNamespace(invoked_function_arn=FUNCTION_ARN + ":live"))
    assert aws.expiry_schedule()["Target"]["Arn"] == FUNCTION_ARN

    other = FUNCTION_ARN + "-from-env"
    env.setenv("FUNCTION_ARN", other)
    assert h.handler(http("POST", "/litellm/override", {}), object())["statusCode"] == 200
    assert aws.expiry_schedule()["Target"]["Arn"] == other


def test_query_string_hours_are_used_and_the_body_wins(aws, clock):
    assert override(query={"hours": "1.5"})[1]["override_expires_at"] == "2030-01-01T13:30:00Z"
    assert override({"hours": 4}, query={"hours": "1"})[1]["override_expires_at"] == "2030-01-01T16:00:00Z"
    assert override(query={"action": "deactivate"}) == (200, {"status": "deactivated"})


def test_base64_body_is_decoded(aws, clock):
    assert override({"hours": 1}, base64_body=True)[1]["override_expires_at"] == "2030-01-01T13:00:00Z"


# --- deactivate, status, expire ---------------------------------------------------------------


def test_deactivate_scales_to_zero_and_removes_the_schedule(aws, clock):
    override({"hours": 2})
    assert override({"action": "deactivate"}) == (200, {"status": "deactivated"})
    assert aws.desired() == 0
    assert aws.schedules() == []
    assert aws.override() == {"expires_at": None, "desired_count": 0}
    target = aws.scalable_target()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 4)


def test_deactivate_without_a_schedule_is_fine(aws, clock):
    aws.set_desired(1)
    assert override({"action": "deactivate"}) == (200, {"status": "deactivated"})
    assert override({"action": "deactivate"}) == (200, {"status": "deactivated"})
    assert aws.desired() == 0


def test_status_reports_counts_and_the_override(aws, clock):
    assert call(http("GET", "/litellm/status")) == (200, {
        "desired_count": 0, "running_count": 0, "pending_count": 0,
        "override_expires_at": None, "override_active": False,
    })
    override({"hours": 1})
    status, body = call(http("GET", "/litellm/status"))
    assert status == 200
    assert body == {
        "desired_count": 2, "running_count": body["running_count"], "pending_count": body["pending_count"],
        "override_expires_at": "2030-01-01T13:00:00Z", "override_active": True,
    }
    assert body["running_count"] + body["pending_count"] == 2

    clock(FIXED_NOW + timedelta(hours=2))
    assert call(http("GET", "/litellm/status"))[1]["override_active"] is False


def test_expire_with_a_future_expiry_does_nothing(aws, clock):
    override({"hours": 2})
    before = aws.snapshot()
    clock(FIXED_NOW + timedelta(hours=1))
    assert h.handler({"action": "expire"}, CONTEXT)["status"] == "noop"
    assert aws.snapshot() == before


@pytest.mark.parametrize("after", [timedelta(hours=2), timedelta(hours=5), timedelta(hours=2) - timedelta(seconds=59)])
def test_expire_at_or_after_the_expiry_scales_to_zero(aws, clock, after):
    """Including a schedule firing within its minute, just before the stored second."""
    override({"hours": 2})
    clock(FIXED_NOW + after)
    assert h.handler({"action": "expire"}, CONTEXT) == {"status": "expired"}
    assert aws.desired() == 0
    assert aws.override() == {"expires_at": None, "desired_count": 0}
    assert aws.scalable_target()["MinCapacity"] == 0
    assert aws.schedules() == []


# --- idle check -------------------------------------------------------------------------------


def _real_now() -> datetime:
    # moto stamps ECS deployments with the real clock, so idle tests start from it.
    return datetime.now(timezone.utc)


def test_idle_check_is_off_when_idle_shutdown_is_zero(aws, clock, env):
    env.setenv("IDLE_SHUTDOWN_MINUTES", "0")
    aws.set_desired(1)
    clock(_real_now() + timedelta(days=1))
    assert h.handler({"action": "idle-check"}, CONTEXT)["status"] == "noop"
    assert aws.desired() == 1


def test_idle_check_never_undoes_an_active_override(aws, clock):
    start = clock(_real_now() + timedelta(hours=1))
    override({"hours": 2})
    clock(start + timedelta(minutes=90))
    assert h.handler({"action": "idle-check"}, CONTEXT) == {"status": "noop", "reason": "override active"}
    assert aws.desired() == 2


def test_idle_check_leaves_a_stopped_service_alone(aws, clock):
    clock(_real_now() + timedelta(hours=1))
    before = aws.snapshot()
    assert h.handler({"action": "idle-check"}, CONTEXT) == {"status": "noop", "reason": "already at zero"}
    assert aws.snapshot() == before


def test_idle_check_keeps_a_service_with_recent_requests(aws, clock):
    aws.set_desired(1)
    moment = clock(_real_now() + timedelta(minutes=30))
    aws.requests(moment - timedelta(minutes=5), 3)
    assert h.handler({"action": "idle-check"}, CONTEXT) == {"status": "noop", "reason": "recent requests"}
    assert aws.desired() == 1


def test_idle_check_keeps_a_just_started_service_without_requests(aws, clock):
    aws.set_desired(1)
    clock(_real_now() + timedelta(minutes=5))
    assert h.handler({"action": "idle-check"}, CONTEXT) == {"status": "noop", "reason": "recently started"}
    assert aws.desired() == 1


def test_idle_check_stops_an_old_idle_service(aws, clock):
    aws.set_desired(1)
    moment = clock(_real_now() + timedelta(minutes=30))
    # Traffic outside the window, or on another load balancer, does not keep it up.
    aws.requests(moment - timedelta(minutes=25), 7)
    aws.requests(moment - timedelta(minutes=5), 7, load_balancer="app/other/fedcba9876543210")
    # An override that ended earlier does not either.
    aws.set_override(h.iso_z(moment - timedelta(minutes=20)), 1)
    assert h.handler({"action": "idle-check"}, CONTEXT) == {"status": "idle-shutdown"}
    assert aws.desired() == 0
    assert aws.scalable_target()["MinCapacity"] == 0
    assert aws.override() == {"expires_at": None, "desired_count": 0}


# --- wake -------------------------------------------------------------------------------------


def test_alarm_wakes_a_stopped_service_without_an_override(aws, clock):
    aws.autoscaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId=aws.resource_id,
        ScalableDimension="ecs:service:DesiredCount", MinCapacity=0, MaxCapacity=4,
    )
    assert h.handler(alarm_event("ALARM"), CONTEXT) == {"status": "woken", "desired_count": 2}
    assert aws.desired() == 2
    assert aws.scalable_target()["MinCapacity"] == 1
    assert aws.override() == {"expires_at": None, "desired_count": 0, "woken_at": h.iso_z(h.now())}
    assert aws.schedules() == []


def test_a_woken_service_gets_its_full_idle_period(aws, clock):
    """Even if ECS leaves the deployment timestamps alone on a count change, the wake time
    recorded in SSM keeps the idle check from stopping the service before its first requests."""
    woken = clock(_real_now() + timedelta(hours=3))  # long after the service was created
    assert h.handler(alarm_event("ALARM"), CONTEXT)["status"] == "woken"
    clock(woken + timedelta(minutes=10))
    assert h.handler({"action": "idle-check"}, CONTEXT) == {"status": "noop", "reason": "recently started"}
    clock(woken + timedelta(minutes=15 + 1))
    assert h.handler({"action": "idle-check"}, CONTEXT) == {"status": "idle-shutdown"}


def test_alarm_leaves_a_running_service_alone(aws, clock):
    aws.set_desired(3)
    assert h.handler(alarm_event("ALARM"), CONTEXT)["status"] == "noop"
    assert aws.desired() == 3


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_other_alarm_states_do_nothing(aws, clock, state):
    before = aws.snapshot()
    assert h.handler(alarm_event(state), CONTEXT)["status"] == "noop"
    assert aws.snapshot() == before


# --- bad input and errors ---------------------------------------------------------------------

BAD_REQUESTS = {
    "hours-nan-string": dict(body={"hours": "nan"}),
    "hours-inf-string": dict(body={"hours": "inf"}),
    "hours-infinity-string": dict(body={"hours": "-Infinity"}),
    "hours-nan-literal": dict(body='{"hours": NaN}'),
    "hours-overflowing-float": dict(body='{"hours": 1e999}'),
    "hours-overflowing-int": dict(body='{"hours": ' + "9" * 400 + "}"),
    "hours-negative": dict(body={"hours": -1}),
    "hours-zero": dict(body={"hours": 0}),
    "hours-above-max": dict(body={"hours": 12.01}),
    "hours-true": dict(body={"hours": True}),
    "hours-false": dict(body={"hours": False}),
    "hours-abc": dict(body={"hours": "abc"}),
    "hours-empty-string": dict(body={"hours": ""}),
    "hours-underscore": dict(body={"hours": "1_0"}),
    "hours-list": dict(body={"hours": [1]}),
    "hours-object": dict(body={"hours": {"value": 1}}),
    "body-array": dict(body="[]"),
    "body-string": dict(body='"activate"'),
    "body-number": dict(body="3"),
    "body-null": dict(body="null"),
    "body-not-json": dict(body="not json"),
    "body-truncated-json": dict(body='{"hours": 1'),
    "body-deeply-nested": dict(body="[" * 100_000 + "]" * 100_000),
    "action-unknown": dict(body={"action": "reboot"}),
    "action-uppercase": dict(body={"action": "ACTIVATE"}),
    "action-number": dict(body={"action": 1}),
    "base64-array": dict(body="[]", base64_body=True),
    "base64-invalid": dict(body="not base64 at all!", raw_base64=True),
    "base64-not-utf8": dict(body=base64.b64encode(b"\xff\xfe").decode(), raw_base64=True),
    "query-hours-nan": dict(query={"hours": "nan"}),
    "query-hours-negative": dict(query={"hours": "-1"}),
    "query-hours-repeated": dict(query={"hours": "1,2"}),
    "query-hours-above-max": dict(query={"hours": "13"}),
    "query-action-unknown": dict(query={"action": "restart"}),
    "body-wins-with-a-bad-value": dict(body={"hours": "x"}, query={"hours": "1"}),
}


@pytest.mark.parametrize("request_", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_input_is_a_400_with_a_json_error_and_changes_nothing(aws, clock, request_):
    request_ = dict(request_)
    raw_base64 = request_.pop("raw_base64", False)
    event = http("POST", "/litellm/override", **request_)
    if raw_base64:
        event["isBase64Encoded"] = True
    before = aws.snapshot()
    status, body = call(event)
    assert status == 400
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in body["error"]
    assert aws.snapshot() == before


@pytest.mark.parametrize("method,path", [
    ("GET", "/litellm/override"), ("POST", "/litellm/status"), ("GET", "/"), ("DELETE", "/litellm/override"),
    ("POST", "/litellm/override/extra"),
])
def test_unknown_routes_are_404(aws, clock, method, path):
    event = http(method, path, {"hours": 1})
    event["routeKey"] = "$default"
    assert call(event) == (404, {"error": "not found"})
    assert aws.desired() == 0


def test_a_trailing_slash_still_routes(aws, clock):
    event = http("GET", "/litellm/status/")
    event["routeKey"] = "$default"
    assert call(event)[0] == 200


class _DeniedScheduler:
    def __getattr__(self, operation):
        def deny(**_):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, operation)
        return deny


def test_aws_failures_are_a_json_502_without_a_stack_trace(aws, clock, env, account):
    env.setenv("SERVICE_NAME", "no-such-service")
    for event in (http("GET", "/litellm/status"), http("POST", "/litellm/override", {"hours": 1})):
        assert call(event) == (502, {"error": "an AWS call failed (ServiceNotFound)"})
    assert aws.schedules() == []

    env.setenv("SERVICE_NAME", aws.env["SERVICE_NAME"])
    env.setattr(h, "make_client", lambda service: _DeniedScheduler() if service == "scheduler" else account[service])
    assert override({"hours": 1}) == (502, {"error": "an AWS call failed (AccessDeniedException)"})
    assert aws.desired() == 0  # the expiry could not be scheduled, so nothing was started


def test_scheduler_failures_propagate_so_the_scheduler_retries(aws, clock, env, account):
    env.setattr(h, "make_client", lambda service: _DeniedScheduler() if service == "scheduler" else account[service])
    aws.set_desired(1)
    with pytest.raises(ClientError):
        h.handler({"action": "expire"}, CONTEXT)


def test_default_clients_take_the_lambda_region(aws, clock, env):
    env.setattr(h, "make_client", REAL_MAKE_CLIENT)
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the Lambda runtime sets AWS_REGION, which wins
    env.setenv("AWS_REGION", REGION)
    assert call(http("GET", "/litellm/status"))[0] == 200


def test_a_misconfigured_function_answers_a_json_500(aws, clock, env):
    env.delenv("MAX_OVERRIDE_HOURS")
    assert call(http("GET", "/litellm/status")) == (500, {"error": "the function is misconfigured"})


# The function's own settings checks (the construct derives the variables from validated config,
# so these are deployment bugs): each names its cause in the log, which is what tells the checks
# apart (MAX = 0 would otherwise be caught as "DEFAULT above MAX" too).
MISCONFIGURATIONS = {
    "default-above-max": ({"DEFAULT_OVERRIDE_HOURS": "13", "MAX_OVERRIDE_HOURS": "12"},
                          "DEFAULT_OVERRIDE_HOURS is above MAX_OVERRIDE_HOURS"),
    "max-zero": ({"MAX_OVERRIDE_HOURS": "0"}, "MAX_OVERRIDE_HOURS must be a finite number above 0"),
    "max-negative": ({"MAX_OVERRIDE_HOURS": "-1"}, "MAX_OVERRIDE_HOURS must be a finite number above 0"),
    "idle-shutdown-without-load-balancer": ({"IDLE_SHUTDOWN_MINUTES": "15", "LOAD_BALANCER_DIMENSION": ""},
                                            "LOAD_BALANCER_DIMENSION is needed when IDLE_SHUTDOWN_MINUTES is set"),
}


@pytest.mark.parametrize("settings_, cause", MISCONFIGURATIONS.values(), ids=MISCONFIGURATIONS.keys())
def test_invalid_settings_answer_a_json_500_and_change_nothing(aws, clock, env, capsys, settings_, cause):
    # A running service long past its start with no requests: exactly what an idle check would
    # stop, and an activate would schedule an expiry for.
    aws.set_desired(1)
    clock(_real_now() + timedelta(days=1))
    for key, value in settings_.items():
        env.setenv(key, value)
    before = aws.snapshot()
    requests = (http("POST", "/litellm/override", {"action": "activate", "hours": 1}),
                http("POST", "/litellm/override", {"action": "deactivate"}),
                http("GET", "/litellm/status"))
    for event in requests:
        assert call(event) == (500, {"error": "the function is misconfigured"})
    # Scheduler and EventBridge invocations fail loudly (their retries and alarms apply).
    for event in ({"action": "idle-check"}, {"action": "expire"}, alarm_event("ALARM")):
        with pytest.raises(h.ConfigError, match=cause):
            h.handler(event, CONTEXT)
    assert aws.snapshot() == before
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged == [{"decision": "misconfigured", "error": cause}] * len(requests)


def test_unknown_direct_events_are_ignored(aws, clock):
    assert h.handler({"action": "activate"}, CONTEXT) == {"status": "ignored"}
    assert h.handler({}, CONTEXT) == {"status": "ignored"}
    assert aws.desired() == 0


def test_every_decision_logs_one_json_line(aws, clock, capsys):
    override({"hours": 1})
    override({"hours": "nan"})
    h.handler({"action": "expire"}, CONTEXT)
    lines = capsys.readouterr().out.strip().splitlines()
    decisions = [json.loads(line)["decision"] for line in lines]
    assert decisions == ["activate", "bad-request", "expire-skipped"]


# --- property ---------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
_hours = (
    st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10, 10**30) | st.booleans() | st.none()
    | st.text(max_size=10) | st.sampled_from(["1", "2.5", "12", "nan", "inf", "-1", "1e3", " 3 "]) | _json
)
_action = st.sampled_from(["activate", "deactivate", "expire", "", "Activate"]) | st.none() | _json
_request_body = st.fixed_dictionaries({}, optional={"action": _action, "hours": _hours, "extra": _json})
_body = st.one_of(
    st.none(),
    st.text(max_size=30),
    _json.map(json.dumps),
    # Listed twice: hypothesis picks branches uniformly, and this is the one that reaches AWS.
    _request_body.map(json.dumps),
    _request_body.map(json.dumps),
)
_query = st.none() | st.fixed_dictionaries(
    {}, optional={"action": st.text(max_size=10) | st.sampled_from(["activate", "deactivate"]),
                  "hours": st.text(max_size=10) | st.sampled_from(["1", "0.25", "nan", "99"])},
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from([("POST", "/litellm/override")] * 3 + [("GET", "/litellm/status")]),
    body=_body, query=_query, encode=st.booleans(),
)
def test_any_request_is_answered_200_or_400(aws, clock, route, body, query, encode):
    status, payload = call(http(*route, body, query, base64_body=encode))
    assert status in (200, 400)
    label_example(f"{route[0]} {status} {payload.get('status', '')}")
    if status == 400:
        assert set(payload) == {"error"}
    elif route[0] == "POST":
        assert payload["status"] in ("activated", "deactivated")
