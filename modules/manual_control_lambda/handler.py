"""Manual control of the LiteLLM ECS service: boost, switch off, expire, idle shutdown and wake.

Packaged on its own as the Lambda's zip (handler ``handler.handler``, Python 3.12, boto3 from the
runtime), so it imports nothing from this repository. The operations contract it implements is in
the ``<prefix>-manual-control`` construct's documentation; the events it accepts:

* API Gateway HTTP API (payload 2.0): ``POST /litellm/override`` and ``GET /litellm/status``.
* ``{"action": "expire"}`` from the one-time EventBridge Scheduler schedule.
* ``{"action": "idle-check"}`` from the recurring idle-check schedule.
* CloudWatch "Alarm State Change" events from the wake-on-request alarm (via EventBridge).

Configuration comes from environment variables, read on every invocation. AWS clients are created
per invocation too (cheap next to the calls themselves, and they always see the current region).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ROUTE_OVERRIDE = "POST /litellm/override"
ROUTE_STATUS = "GET /litellm/status"
ACTIONS = ("activate", "deactivate")
ECS_SCALABLE_DIMENSION = "ecs:service:DesiredCount"

# EventBridge Scheduler evaluates one-time schedules with minute granularity, so an expiry
# schedule may fire up to a minute before the second stored in SSM. Without this grace the
# expire event would see a "future" expiry, do nothing, and (the schedule deletes itself after
# completion) leave the boost running forever. A genuine re-activation moves the expiry by whole
# hours, far beyond this window.
EXPIRY_GRACE = timedelta(seconds=120)

# Plain decimal numbers only: float() alone would also accept "nan", "inf", "1_0" and non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_BOTO_CONFIG = Config(
    retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=15
)


class BadRequest(Exception):
    """User input the API rejects with 400."""


class ConfigError(Exception):
    """The function's environment is incomplete or invalid (a deployment bug, not user input)."""


class ServiceNotFound(Exception):
    """The ECS service named in the environment does not exist (or is being deleted)."""


# --------------------------------------------------------------------------------------------
# Small seams the tests replace.


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def log(decision: str, **fields: Any) -> None:
    """One JSON line per decision; callers never pass secrets (there are none in this function)."""
    print(json.dumps({"decision": decision, **fields}, default=str, sort_keys=True), flush=True)


def make_client(service: str) -> Any:
    return boto3.client(
        service,
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        config=_BOTO_CONFIG,
    )


class Clients:
    """One invocation's boto3 clients, each created on first use (an API call touches two or three
    of the five services, and creating a client is not free)."""

    _SERVICES = {
        "ecs": "ecs",
        "ssm": "ssm",
        "scheduler": "scheduler",
        "autoscaling": "application-autoscaling",
        "cloudwatch": "cloudwatch",
    }

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        service = self._SERVICES.get(name)
        if service is None:
            raise AttributeError(name)
        if service not in self._cache:
            self._cache[service] = make_client(service)
        return self._cache[service]


# --------------------------------------------------------------------------------------------
# Configuration.


class Settings:
    def __init__(self, env: dict[str, str], function_arn: str | None) -> None:
        def required(key: str) -> str:
            value = env.get(key, "").strip()
            if not value:
                raise ConfigError(f"{key} is not set")
            return value

        def integer(key: str, value: str, minimum: int) -> int:
            try:
                number = int(value)
            except ValueError:
                raise ConfigError(f"{key} is not an integer") from None
            if number < minimum:
                raise ConfigError(f"{key} must be at least {minimum}")
            return number

        def optional_integer(key: str) -> int | None:
            value = env.get(key, "").strip()
            return integer(key, value, 0) if value else None

        def hours(key: str) -> float:
            try:
                value = float(required(key))
            except ValueError:
                raise ConfigError(f"{key} is not a number") from None
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{key} must be a finite number above 0")
            return value

        self.cluster = required("CLUSTER_NAME")
        self.service = required("SERVICE_NAME")
        self.parameter = required("OVERRIDE_PARAMETER_NAME")
        self.schedule_group = required("SCHEDULE_GROUP_NAME")
        self.expiry_schedule = required("EXPIRY_SCHEDULE_NAME")
        self.scheduler_role_arn = required("SCHEDULER_ROLE_ARN")
        self.active_desired_count = integer("ACTIVE_DESIRED_COUNT", required("ACTIVE_DESIRED_COUNT"), 1)
        self.default_hours = hours("DEFAULT_OVERRIDE_HOURS")
        self.max_hours = hours("MAX_OVERRIDE_HOURS")
        if self.default_hours > self.max_hours:
            raise ConfigError("DEFAULT_OVERRIDE_HOURS is above MAX_OVERRIDE_HOURS")
        idle = env.get("IDLE_SHUTDOWN_MINUTES", "").strip() or "0"
        self.idle_minutes = integer("IDLE_SHUTDOWN_MINUTES", idle, 0)
        self.load_balancer = env.get("LOAD_BALANCER_DIMENSION", "").strip()
        if self.idle_minutes and not self.load_balancer:
            raise ConfigError("LOAD_BALANCER_DIMENSION is needed when IDLE_SHUTDOWN_MINUTES is set")
        self.autoscaling_min = optional_integer("AUTOSCALING_MIN_CAPACITY")
        self.autoscaling_max = optional_integer("AUTOSCALING_MAX_CAPACITY")
        self.function_arn = _unqualified(function_arn or env.get("FUNCTION_ARN", "").strip())
        if not self.function_arn:
            raise ConfigError("the function's own ARN is unknown (no context and no FUNCTION_ARN)")

    @property
    def autoscaling_floor(self) -> int | None:
        """Min capacity while the service should run: the configured floor, but never 0 (then
        autoscaling could scale a boost away), and never above the configured max."""
        if self.autoscaling_min is None:
            return None
        floor = max(self.autoscaling_min, 1)
        if self.autoscaling_max is not None:
            floor = min(floor, self.autoscaling_max)
        return floor

    @property
    def autoscaling_resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"


def _unqualified(arn: str) -> str:
    # The scheduler role may invoke exactly this function; a version or alias qualifier (from an
    # invocation through an alias) would name a resource the role's policy does not cover.
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 and parts[5] == "function" else arn


# --------------------------------------------------------------------------------------------
# Time formats.


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_z(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def at_expression(moment: datetime) -> str:
    return "at(" + moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ")"


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


# --------------------------------------------------------------------------------------------
# AWS operations.


def describe_service(clients: Clients, settings: Settings) -> dict[str, Any]:
    response = clients.ecs.describe_services(cluster=settings.cluster, services=[settings.service])
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        raise ServiceNotFound(f"ECS service {settings.service} not found in cluster {settings.cluster}")
    return services[0]


def set_desired_count(clients: Clients, settings: Settings, count: int) -> None:
    clients.ecs.update_service(cluster=settings.cluster, service=settings.service, desiredCount=count)


def set_autoscaling_min(clients: Clients, settings: Settings, minimum: int) -> None:
    """Re-register the scalable target (Application Auto Scaling updates it in place)."""
    arguments: dict[str, Any] = {
        "ServiceNamespace": "ecs",
        "ResourceId": settings.autoscaling_resource_id,
        "ScalableDimension": ECS_SCALABLE_DIMENSION,
        "MinCapacity": minimum,
    }
    if settings.autoscaling_max is not None:
        arguments["MaxCapacity"] = settings.autoscaling_max
    clients.autoscaling.register_scalable_target(**arguments)


def read_override(clients: Clients, settings: Settings) -> dict[str, Any]:
    """The stored override; a missing or unreadable parameter counts as "no override"."""
    try:
        value = clients.ssm.get_parameter(Name=settings.parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            log("override-parameter-missing", parameter=settings.parameter)
            return {"expires_at": None, "desired_count": 0}
        raise
    try:
        stored = json.loads(value)
    except ValueError:
        stored = None
    if not isinstance(stored, dict):
        log("override-parameter-unreadable", parameter=settings.parameter)
        return {"expires_at": None, "desired_count": 0}
    return stored


def write_override(clients: Clients, settings: Settings, expires_at: str | None, desired_count: int,
                   woken_at: str | None = None) -> None:
    value: dict[str, Any] = {"expires_at": expires_at, "desired_count": desired_count}
    if woken_at is not None:
        # Not an override: lets the idle check give a woken service its full idle period even
        # where ECS does not move the deployment timestamps on a desired-count change.
        value["woken_at"] = woken_at
    clients.ssm.put_parameter(
        Name=settings.parameter,
        Value=json.dumps(value),
        Type="String",
        Overwrite=True,
    )


def upsert_expiry_schedule(clients: Clients, settings: Settings, expires: datetime) -> None:
    arguments = {
        "Name": settings.expiry_schedule,
        "GroupName": settings.schedule_group,
        "ScheduleExpression": at_expression(expires),
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Target": {
            "Arn": settings.function_arn,
            "RoleArn": settings.scheduler_role_arn,
            "Input": json.dumps({"action": "expire"}),
        },
    }
    # Update first: the schedule usually exists while a boost runs; it deletes itself once fired.
    try:
        clients.scheduler.update_schedule(**arguments)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    try:
        clients.scheduler.create_schedule(**arguments)
    except ClientError as error:
        # A concurrent activation created it between our two calls: move it to our time.
        if error.response.get("Error", {}).get("Code") != "ConflictException":
            raise
        clients.scheduler.update_schedule(**arguments)


def delete_expiry_schedule(clients: Clients, settings: Settings) -> bool:
    try:
        clients.scheduler.delete_schedule(Name=settings.expiry_schedule, GroupName=settings.schedule_group)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    return True


def request_count(clients: Clients, settings: Settings, start: datetime, end: datetime) -> float:
    """Sum of the ALB's RequestCount in [start, end); no datapoints means no requests."""
    period = max(60, int((end - start).total_seconds()) // 60 * 60)
    response = clients.cloudwatch.get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName="RequestCount",
        Dimensions=[{"Name": "LoadBalancer", "Value": settings.load_balancer}],
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=["Sum"],
    )
    return float(sum(point.get("Sum", 0.0) for point in response.get("Datapoints", [])))


def last_activity(service: dict[str, Any]) -> datetime | None:
    """When the service was last deployed or scaled: the newest deployment timestamp."""
    moments = [
        _utc(deployment.get(key))
        for deployment in service.get("deployments", [])
        for key in ("updatedAt", "createdAt")
    ]
    moments.append(_utc(service.get("createdAt")))
    known = [m for m in moments if m is not None]
    return max(known) if known else None


# --------------------------------------------------------------------------------------------
# Decisions.


def override_active(stored: dict[str, Any], moment: datetime) -> tuple[bool, str | None]:
    expires = parse_iso_z(stored.get("expires_at"))
    return (expires is not None and expires > moment), (iso_z(expires) if expires else None)


def activate(clients: Clients, settings: Settings, hours: float) -> dict[str, Any]:
    started = now()
    try:
        expires = started + timedelta(hours=hours)
    except OverflowError:
        raise BadRequest("hours is too large") from None
    # Whole seconds, rounded up so that even a tiny boost ends after it began.
    if expires.microsecond:
        expires = expires.replace(microsecond=0) + timedelta(seconds=1)
    service = describe_service(clients, settings)
    current = int(service.get("desiredCount", 0))
    floor = settings.autoscaling_floor
    desired = max(settings.active_desired_count, current, floor or 0)
    # The expiry is recorded before scaling up: if a later call fails, the boost still ends.
    write_override(clients, settings, iso_z(expires), desired)
    upsert_expiry_schedule(clients, settings, expires)
    if floor is not None:
        set_autoscaling_min(clients, settings, floor)
    if desired != current:
        set_desired_count(clients, settings, desired)
    log("activate", hours=hours, previous_desired_count=current, desired_count=desired,
        override_expires_at=iso_z(expires), autoscaling_min_capacity=floor)
    return {"status": "activated", "desired_count": desired, "override_expires_at": iso_z(expires)}


def scale_to_zero(clients: Clients, settings: Settings, outcome: str, **why: Any) -> dict[str, Any]:
    # Autoscaling's floor goes first, otherwise it would start the tasks again.
    if settings.autoscaling_min is not None:
        set_autoscaling_min(clients, settings, 0)
    set_desired_count(clients, settings, 0)
    write_override(clients, settings, None, 0)
    deleted = delete_expiry_schedule(clients, settings)
    log(outcome, desired_count=0, expiry_schedule_deleted=deleted, **why)
    return {"status": outcome}


def status(clients: Clients, settings: Settings) -> dict[str, Any]:
    service = describe_service(clients, settings)
    active, expires_at = override_active(read_override(clients, settings), now())
    result = {
        "desired_count": int(service.get("desiredCount", 0)),
        "running_count": int(service.get("runningCount", 0)),
        "pending_count": int(service.get("pendingCount", 0)),
        "override_expires_at": expires_at,
        "override_active": active,
    }
    log("status", **result)
    return result


def expire(clients: Clients, settings: Settings) -> dict[str, Any]:
    moment = now()
    stored = read_override(clients, settings)
    expires = parse_iso_z(stored.get("expires_at"))
    if expires is not None and expires > moment + EXPIRY_GRACE:
        log("expire-skipped", reason="override was extended", override_expires_at=iso_z(expires))
        return {"status": "noop", "reason": "override still active", "override_expires_at": iso_z(expires)}
    return scale_to_zero(clients, settings, "expired", override_expires_at=iso_z(expires) if expires else None)


def idle_check(clients: Clients, settings: Settings) -> dict[str, Any]:
    if not settings.idle_minutes:
        log("idle-check-skipped", reason="idle shutdown is off")
        return {"status": "noop", "reason": "idle shutdown is off"}
    moment = now()
    stored = read_override(clients, settings)
    active, expires_at = override_active(stored, moment)
    if active:
        log("idle-check-skipped", reason="override active", override_expires_at=expires_at)
        return {"status": "noop", "reason": "override active"}
    service = describe_service(clients, settings)
    if int(service.get("desiredCount", 0)) == 0:
        log("idle-check-skipped", reason="already at zero")
        return {"status": "noop", "reason": "already at zero"}
    window = timedelta(minutes=settings.idle_minutes)
    requests = request_count(clients, settings, moment - window, moment)
    if requests > 0:
        log("idle-check-skipped", reason="recent requests", request_count=requests, minutes=settings.idle_minutes)
        return {"status": "noop", "reason": "recent requests"}
    # A just-woken service has no requests yet (RequestCount starts once a target is registered).
    known = [m for m in (last_activity(service), parse_iso_z(stored.get("woken_at"))) if m is not None]
    since = max(known) if known else None
    if since is None or moment - since < window:
        log("idle-check-skipped", reason="recently started", last_activity=since)
        return {"status": "noop", "reason": "recently started"}
    return scale_to_zero(clients, settings, "idle-shutdown", minutes=settings.idle_minutes, last_activity=since)


def wake(clients: Clients, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    state = detail.get("state") if isinstance(detail.get("state"), dict) else {}
    alarm = detail.get("alarmName")
    if state.get("value") != "ALARM":
        log("wake-skipped", reason="alarm state is not ALARM", alarm=alarm, state=state.get("value"))
        return {"status": "noop", "reason": "alarm state is not ALARM"}
    service = describe_service(clients, settings)
    if int(service.get("desiredCount", 0)) != 0:
        log("wake-skipped", reason="already running", alarm=alarm, desired_count=service.get("desiredCount"))
        return {"status": "noop", "reason": "already running"}
    floor = settings.autoscaling_floor
    desired = max(settings.active_desired_count, floor or 0)
    if floor is not None:
        set_autoscaling_min(clients, settings, floor)
    set_desired_count(clients, settings, desired)
    stored = read_override(clients, settings)
    write_override(clients, settings, stored.get("expires_at"), int(stored.get("desired_count") or 0),
                   woken_at=iso_z(now()))
    log("wake", alarm=alarm, desired_count=desired, autoscaling_min_capacity=floor)
    return {"status": "woken", "desired_count": desired}


# --------------------------------------------------------------------------------------------
# HTTP API input.


def parse_hours(value: Any, settings: Settings) -> float:
    # bool is an int subclass: "hours": true must not mean one hour.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRequest("hours must be a number")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise BadRequest("hours must be a number")
        value = text
    try:
        hours = float(value)
    except (OverflowError, ValueError):
        raise BadRequest("hours must be a finite number") from None
    if not math.isfinite(hours):
        raise BadRequest("hours must be a finite number")
    if hours <= 0:
        raise BadRequest("hours must be more than 0")
    if hours > settings.max_hours:
        raise BadRequest(f"hours must be at most {settings.max_hours:g}")
    return hours


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_body(event: dict[str, Any]) -> dict[str, Any]:
    body = event.get("body")
    if body is None or body == "":
        return {}
    if not isinstance(body, str):
        raise BadRequest("body must be a JSON object")
    if event.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadRequest("body is not valid base64-encoded UTF-8") from None
        if body.strip() == "":
            return {}
    try:
        parsed = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadRequest("body must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed


def override_request(event: dict[str, Any], settings: Settings) -> tuple[str, float | None]:
    body = parse_body(event)
    query = event.get("queryStringParameters")
    query = query if isinstance(query, dict) else {}

    def pick(key: str) -> Any:
        # The body wins; a JSON null counts as "not given".
        if body.get(key) is not None:
            return body[key]
        return query.get(key)

    action = pick("action")
    if action is None:
        action = "activate"
    if not isinstance(action, str) or action not in ACTIONS:
        raise BadRequest("action must be one of: " + ", ".join(ACTIONS))
    if action == "deactivate":
        return action, None
    hours = pick("hours")
    return action, settings.default_hours if hours is None else parse_hours(hours, settings)


def route_of(event: dict[str, Any]) -> str:
    route_key = event.get("routeKey")
    if isinstance(route_key, str) and route_key in (ROUTE_OVERRIDE, ROUTE_STATUS):
        return route_key
    http = event.get("requestContext", {}).get("http", {})
    method = str(http.get("method", "")).upper() if isinstance(http, dict) else ""
    path = event.get("rawPath") or (http.get("path") if isinstance(http, dict) else "") or ""
    path = str(path)
    if len(path) > 1:
        path = path.rstrip("/")
    return f"{method} {path}"


def respond(status_code: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload),
    }


def handle_http(event: dict[str, Any], settings: Settings, clients: Clients) -> dict[str, Any]:
    route = route_of(event)
    if route == ROUTE_STATUS:
        return respond(200, status(clients, settings))
    if route == ROUTE_OVERRIDE:
        try:
            action, hours = override_request(event, settings)
            if action == "deactivate":
                return respond(200, scale_to_zero(clients, settings, "deactivated", trigger="api"))
            return respond(200, activate(clients, settings, hours))
        except BadRequest as error:
            log("bad-request", route=route, error=str(error))
            return respond(400, {"error": str(error)})
    log("unknown-route", route=route[:200])
    return respond(404, {"error": "not found"})


# --------------------------------------------------------------------------------------------
# Entry point.


def _is_http(event: Any) -> bool:
    return isinstance(event, dict) and isinstance(event.get("requestContext"), dict) and (
        "http" in event["requestContext"] or "routeKey" in event
    )


def _is_alarm(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and event.get("source") == "aws.cloudwatch"
        and event.get("detail-type") == "CloudWatch Alarm State Change"
    )


def handler(event: Any, context: Any) -> dict[str, Any]:
    clients = Clients()
    function_arn = getattr(context, "invoked_function_arn", None)
    if _is_http(event):
        try:
            settings = Settings(dict(os.environ), function_arn)
            return handle_http(event, settings, clients)
        except ConfigError as error:
            log("misconfigured", error=str(error))
            return respond(500, {"error": "the function is misconfigured"})
        except (ClientError, BotoCoreError, ServiceNotFound) as error:
            code = type(error).__name__
            if isinstance(error, ClientError):
                code = error.response.get("Error", {}).get("Code") or code
            log("aws-error", error=str(error), code=code)
            return respond(502, {"error": f"an AWS call failed ({code})"})
        except Exception as error:  # noqa: BLE001 - the caller gets JSON, the log gets the cause
            log("internal-error", error=repr(error))
            return respond(500, {"error": "internal error"})

    # Scheduler and EventBridge invocations: errors propagate so their retry policies apply.
    settings = Settings(dict(os.environ), function_arn)
    if _is_alarm(event):
        return wake(clients, settings, event)
    action = event.get("action") if isinstance(event, dict) else None
    if action == "expire":
        return expire(clients, settings)
    if action == "idle-check":
        return idle_check(clients, settings)
    log("ignored-event", keys=sorted(event)[:20] if isinstance(event, dict) else type(event).__name__)
    return {"status": "ignored"}
