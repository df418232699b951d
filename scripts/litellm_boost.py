#!/usr/bin/env python
"""Scale the LiteLLM service of one environment up or down, or boost it for a few hours.

Run it through ``scripts/litellm-boost.sh`` (which picks the project's virtualenv)::

    litellm-boost.sh                  1 task, wait until it runs and the gateway answers
    litellm-boost.sh 3                3 tasks
    litellm-boost.sh --off            0 tasks (through the manual-control API when the
                                      environment has one, so a running boost is cleared too)
    litellm-boost.sh --hours 4        boost through the manual-control API: the API scales up now
                                      and back to zero after 4 hours
    litellm-boost.sh --status         print the service's state (and the boost, if any)
    options: --env NAME (default dev), --no-wait, --timeout S (600), --poll-interval S (5),
             --region R, --project-root DIR, --force

Scaling a production-like environment with autoscaling to 0 (``--off`` or ``0``) is refused
unless ``--force``: it lowers the autoscaling minimum to 0, which only the next scale-up through
this script restores, so production would otherwise stay down with nothing bringing it back.

Nothing is read from Terraform state: cluster, service, API and load balancer are found by the
deterministic names derived from ``environments/<env>.toml`` (``<name_prefix>-<environment>``),
and the region is the environment's ``aws_region`` (``--region`` overrides it; AWS_REGION is
ignored because the service only exists where the environment was deployed). Credentials come
from boto3's standard chain (AWS_PROFILE, SSO, environment variables, instance roles);
AWS_ENDPOINT_URL is honoured by boto3 itself.

Exit codes: 0 done; 1 a configuration, AWS or API problem (one clear message, no traceback);
2 the service did not settle before ``--timeout`` (the requested change stays in place) or
malformed arguments (argparse's convention); 130 interrupted.

Override hooks (environment variables): ``LITELLM_MANUAL_CONTROL_URL`` is used instead of looking
up the API by name (tests, or an API behind a custom domain); ``LITELLM_GATEWAY_URL`` is the URL
whose ``/health/readiness`` is checked after scaling up. Without it the environment's
``litellm_public_url`` is used, else the ALB's DNS name (which is not on a custom domain's
certificate).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.config import ConfigError, EnvironmentConfig, load_project  # noqa: E402

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_TIMEOUT = 2
EXIT_INTERRUPTED = 130

MANUAL_CONTROL_URL_VARIABLE = "LITELLM_MANUAL_CONTROL_URL"
GATEWAY_URL_VARIABLE = "LITELLM_GATEWAY_URL"
OVERRIDE_PATH = "/litellm/override"
STATUS_PATH = "/litellm/status"
READINESS_PATH = "/health/readiness"
SCALABLE_DIMENSION = "ecs:service:DesiredCount"
API_TIMEOUT_SECONDS = 30
READINESS_TIMEOUT_SECONDS = 5
# describe_tasks accepts at most 100 task ARNs per call.
DESCRIBE_TASKS_BATCH = 100


class BoostError(Exception):
    """A problem the user can fix; printed as one message, exit 1."""


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _count(text: str) -> int:
    # isdigit() alone accepts non-ASCII digits, and int() accepts " 3" and "+3".
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a task count (a whole number >= 0)")
    return int(text)


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number greater than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="litellm-boost.sh",
        description="Scale the LiteLLM ECS service of an environment, or boost it for a few hours "
                    "through the manual-control API.",
        epilog="Exit codes: 0 done, 1 configuration/AWS/API error, 2 timeout or bad arguments, "
               f"130 interrupted. Overrides: {MANUAL_CONTROL_URL_VARIABLE} (manual-control API base "
               f"URL), {GATEWAY_URL_VARIABLE} (gateway URL for the readiness check).",
    )
    parser.add_argument("count", nargs="?", type=_count,
                        help="desired task count (default: 1)")
    parser.add_argument("--off", action="store_true",
                        help="scale to 0 (and clear a running boost when the environment has the "
                             "manual-control API)")
    parser.add_argument("--hours", type=_positive_number, metavar="H",
                        help="boost for H hours through the manual-control API "
                             "(needs litellm_manual_control_enabled)")
    parser.add_argument("--status", action="store_true", help="print the service's state and exit")
    parser.add_argument("--force", action="store_true",
                        help="allow scaling a production-like autoscaled environment to 0")
    parser.add_argument("--env", default="dev", metavar="NAME",
                        help="environment (environments/NAME.toml; default: dev)")
    parser.add_argument("--no-wait", action="store_true", help="return right after the change")
    parser.add_argument("--timeout", type=_positive_number, default=600.0, metavar="SECONDS",
                        help="how long to wait for the service to settle (default: 600)")
    parser.add_argument("--poll-interval", type=_positive_number, default=5.0, metavar="SECONDS",
                        help="seconds between two checks while waiting (default: 5)")
    parser.add_argument("--region", help="AWS region (default: the environment's aws_region)")
    parser.add_argument("--project-root", type=Path, default=ROOT, metavar="DIR",
                        help="directory holding backend.toml and environments/ (default: this "
                             "repository)")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.status and (args.off or args.hours is not None or args.count is not None):
        parser.error("--status cannot be combined with a count, --off or --hours")
    if args.off and args.count is not None:
        parser.error("give either a count or --off, not both")
    if args.off and args.hours is not None:
        parser.error("--off cannot be combined with --hours (--hours scales up for a while)")
    if args.hours is not None and args.count is not None:
        parser.error("--hours boosts to the environment's litellm_manual_override_desired_count; "
                     "it takes no count")
    return args


# --------------------------------------------------------------------------------------------
# Where the service lives
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    env: EnvironmentConfig
    region: str

    @property
    def prefix(self) -> str:
        return self.env.resource_prefix

    @property
    def cluster(self) -> str:
        return f"{self.prefix}-cluster"

    @property
    def service(self) -> str:
        return f"{self.prefix}-litellm"

    @property
    def api_name(self) -> str:
        return f"{self.prefix}-manual-control"

    @property
    def alb_name(self) -> str:
        return f"{self.prefix}-alb"

    @property
    def scalable_resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"

    def describe(self) -> str:
        return f"service {self.service} in cluster {self.cluster} (region {self.region})"


def resolve_target(project_root: Path, env_name: str, region: str | None) -> Target:
    try:
        project = load_project(project_root)
    except ConfigError as exc:
        raise BoostError("the configuration has problems:\n  " + "\n  ".join(exc.problems)) from None
    try:
        env = project.environment(env_name)
    except KeyError:
        available = ", ".join(e.stack_name for e in project.environments)
        raise BoostError(f"unknown environment {env_name!r}: available: {available} "
                         f"(environments/*.toml in {Path(project_root).resolve()})") from None
    return Target(env=env, region=region or env.aws_region)


# --------------------------------------------------------------------------------------------
# AWS
# --------------------------------------------------------------------------------------------


class Aws:
    """One boto3 session in the target's region; clients are created on first use."""

    def __init__(self, region: str, session: Any = None):
        import boto3
        from botocore.config import Config

        self.session = session or boto3.session.Session(region_name=region)
        self.region = region
        self._config = Config(connect_timeout=10, read_timeout=30,
                              retries={"mode": "standard", "max_attempts": 3})
        self._clients: dict[str, Any] = {}
        self.overrides: dict[str, Any] = {}  # service name -> client (tests)

    def client(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        if name not in self._clients:
            self._clients[name] = self.session.client(name, region_name=self.region,
                                                      config=self._config)
        return self._clients[name]

    def credentials(self) -> Any:
        credentials = self.session.get_credentials()
        if credentials is None:
            raise BoostError("no AWS credentials found: set AWS_PROFILE (after `aws sso login` or "
                             "`aws configure`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        return credentials.get_frozen_credentials()


def describe_service(ecs: Any, target: Target) -> dict:
    """The service, or a BoostError saying the environment is not deployed."""
    missing = BoostError(f"service {target.service} not found in cluster {target.cluster} (region "
                         f"{target.region}): deploy the environment first (make deploy "
                         f"ENV={target.env.stack_name})")
    try:
        response = ecs.describe_services(cluster=target.cluster, services=[target.service])
    except Exception as exc:  # noqa: BLE001 - only the cluster-missing ClientError is ours
        if _error_code(exc) == "ClusterNotFoundException":
            raise missing from None
        raise
    services = [s for s in response.get("services", []) if s.get("status") == "ACTIVE"]
    if response.get("failures") or not services:
        raise missing
    return services[0]


def task_statuses(ecs: Any, target: Target) -> list[str]:
    """lastStatus of every task ECS wants running for the service (PENDING, RUNNING, ...)."""
    arns: list[str] = []
    kwargs: dict[str, Any] = {"cluster": target.cluster, "serviceName": target.service,
                              "desiredStatus": "RUNNING"}
    while True:
        page = ecs.list_tasks(**kwargs)
        arns += page.get("taskArns", [])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    statuses = []
    for start in range(0, len(arns), DESCRIBE_TASKS_BATCH):
        batch = arns[start:start + DESCRIBE_TASKS_BATCH]
        tasks = ecs.describe_tasks(cluster=target.cluster, tasks=batch).get("tasks", [])
        statuses += [t.get("lastStatus", "UNKNOWN") for t in tasks]
    return statuses


def scalable_target(aws: Aws, target: Target) -> dict | None:
    response = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[target.scalable_resource_id],
        ScalableDimension=SCALABLE_DIMENSION,
    )
    found = response.get("ScalableTargets", [])
    return found[0] if found else None


def adjust_autoscaling(aws: Aws, target: Target, count: int, out: TextIO) -> None:
    """Keep Application Auto Scaling from undoing ``count``.

    0: the floor goes to 0 (a floor of 1 would start a task again). N > 0: the floor is restored
    to the configured minimum (an earlier --off set it to 0) but never above N, so autoscaling
    does not raise the count right back. A count above the ceiling is only reported: the ceiling
    is Terraform's to change."""
    current = scalable_target(aws, target)
    if current is None:
        return
    low, high = current["MinCapacity"], current["MaxCapacity"]
    env = target.env
    configured_floor = env.litellm_autoscaling_min_capacity if env.litellm_autoscaling_enabled else low
    floor = 0 if count == 0 else min(max(configured_floor, 1), count)
    if floor != low:
        aws.client("application-autoscaling").register_scalable_target(
            ServiceNamespace="ecs", ResourceId=target.scalable_resource_id,
            ScalableDimension=SCALABLE_DIMENSION, MinCapacity=floor, MaxCapacity=high,
        )
        print(f"autoscaling minimum capacity {low} -> {floor} (maximum {high})", file=out)
    if count > high:
        print(f"warning: {count} tasks is above the autoscaling maximum of {high}; autoscaling "
              f"will scale back to {high} (raise litellm_autoscaling_max_capacity)", file=sys.stderr)


def set_desired_count(aws: Aws, target: Target, count: int, out: TextIO) -> None:
    adjust_autoscaling(aws, target, count, out)
    aws.client("ecs").update_service(cluster=target.cluster, service=target.service,
                                     desiredCount=count)
    print(f"desired count of {target.service} set to {count}", file=out)


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


# --------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------


def is_settled(service: dict, statuses: list[str]) -> bool:
    """Every desired task RUNNING (PENDING/PROVISIONING/ACTIVATING tasks do not count), nothing
    pending, and one finished deployment."""
    desired = service.get("desiredCount", 0)
    if service.get("runningCount") != desired or service.get("pendingCount", 0) != 0:
        return False
    deployments = service.get("deployments", [])
    if len(deployments) != 1 or deployments[0].get("status") != "PRIMARY":
        return False
    # Only services on the ECS rolling-update controller report a rolloutState.
    if deployments[0].get("rolloutState", "COMPLETED") != "COMPLETED":
        return False
    return len(statuses) == desired and all(status == "RUNNING" for status in statuses)


def progress_line(elapsed: float, service: dict, statuses: list[str]) -> str:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    tasks = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
    deployments = ", ".join(
        f"{d.get('status', '?')} {d.get('rolloutState', '?')}" for d in service.get("deployments", [])
    ) or "none"
    return (f"[{elapsed:5.0f}s] desired {service.get('desiredCount')} running "
            f"{service.get('runningCount')} pending {service.get('pendingCount')} | tasks: {tasks} "
            f"| deployment: {deployments}")


def wait_for_service(
    ecs: Any, target: Target, *, timeout: float, poll_interval: float, out: TextIO,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
) -> dict | None:
    """Poll until the service settles; the settled service, or None on timeout."""
    start = clock()
    while True:
        service = describe_service(ecs, target)
        statuses = task_statuses(ecs, target)
        print(progress_line(clock() - start, service, statuses), file=out, flush=True)
        if is_settled(service, statuses):
            return service
        remaining = timeout - (clock() - start)
        if remaining <= 0:
            _report_timeout(target, service, timeout)
            return None
        sleep(min(poll_interval, remaining))


def _report_timeout(target: Target, service: dict, timeout: float) -> None:
    print(f"error: timed out after {timeout:g} s waiting for {target.service} to run "
          f"{service.get('desiredCount')} task(s) (running {service.get('runningCount')}, pending "
          f"{service.get('pendingCount')}); the requested count stays in place.", file=sys.stderr)
    events = service.get("events", [])[:3]
    if events:
        print("latest service events:", file=sys.stderr)
        for event in events:
            print(f"  {event.get('createdAt', '')} {event.get('message', '')}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# HTTP: the manual-control API (SigV4) and the gateway's readiness
# --------------------------------------------------------------------------------------------


def _open(request: urllib.request.Request, timeout: float) -> tuple[int, str]:
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https/http only
        return response.status, response.read().decode("utf-8", errors="replace")


def manual_control_url(aws: Aws, target: Target) -> str | None:
    """Base URL of the environment's manual-control API, or None when it is not deployed."""
    override = os.environ.get(MANUAL_CONTROL_URL_VARIABLE)
    if override:
        return override.rstrip("/")
    apigw = aws.client("apigatewayv2")
    kwargs: dict[str, Any] = {}
    while True:
        page = apigw.get_apis(**kwargs)
        for api in page.get("Items", []):
            if api.get("Name") == target.api_name and api.get("ApiEndpoint"):
                return api["ApiEndpoint"].rstrip("/")
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def signed_call(aws: Aws, method: str, url: str, payload: dict | None = None) -> dict:
    """Call an IAM-authorized API Gateway route (SigV4, service execute-api); the JSON answer."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    body = None if payload is None else json.dumps(payload).encode()
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    signable = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(aws.credentials(), "execute-api", aws.region).add_auth(signable)
    request = urllib.request.Request(url, data=body, method=method,
                                     headers=dict(signable.headers.items()))
    try:
        status, text = _open(request, API_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", errors="replace").strip()
        raise BoostError(f"manual-control API {method} {url} answered HTTP {exc.code}: "
                         f"{detail or exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BoostError(f"cannot reach the manual-control API at {url}: {reason}") from None
    try:
        answer = json.loads(text)
    except ValueError:
        raise BoostError(f"manual-control API {method} {url} answered HTTP {status} with "
                         f"non-JSON: {text[:200]!r}") from None
    return answer if isinstance(answer, dict) else {"response": answer}


def gateway_url(aws: Aws, target: Target) -> str | None:
    # The configured public URL is the name on the certificate; the ALB's DNS name is not.
    override = os.environ.get(GATEWAY_URL_VARIABLE) or target.env.litellm_public_url
    if override:
        return override.rstrip("/")
    try:
        found = aws.client("elbv2").describe_load_balancers(Names=[target.alb_name])
    except Exception as exc:  # noqa: BLE001
        if _error_code(exc) in ("LoadBalancerNotFound", "LoadBalancerNotFoundException"):
            return None
        raise
    balancers = found.get("LoadBalancers", [])
    if not balancers:
        return None
    scheme = "https" if target.env.alb_https_certificate_arn else "http"
    return f"{scheme}://{balancers[0]['DNSName']}"


def check_readiness(url: str, out: TextIO) -> bool:
    """Report the gateway's readiness; never fails the run (the network may not reach it)."""
    request = urllib.request.Request(url + READINESS_PATH, headers={"Accept": "application/json"})
    try:
        status, text = _open(request, READINESS_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        print(f"warning: {url}{READINESS_PATH} answered HTTP {exc.code}", file=sys.stderr)
        return False
    except (urllib.error.URLError, OSError) as exc:
        hint = ""
        if url.startswith("https://") and ".elb.amazonaws.com" in url:
            hint = f" (set {GATEWAY_URL_VARIABLE} to your gateway's HTTPS domain)"
        print(f"warning: could not reach {url}{READINESS_PATH}: "
              f"{getattr(exc, 'reason', exc)}{hint}", file=sys.stderr)
        return False
    try:
        detail = json.loads(text).get("status", "")
    except (ValueError, AttributeError):
        detail = ""
    print(f"gateway {url}{READINESS_PATH}: HTTP {status} {detail}".rstrip(), file=out)
    return True


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _wait_and_check(aws: Aws, target: Target, args: argparse.Namespace, out: TextIO) -> int:
    if args.no_wait:
        return EXIT_OK
    service = wait_for_service(aws.client("ecs"), target, timeout=args.timeout,
                               poll_interval=args.poll_interval, out=out)
    if service is None:
        return EXIT_TIMEOUT
    desired = service.get("desiredCount", 0)
    print(f"{target.service}: {desired} task(s) running", file=out)
    if desired > 0:
        url = gateway_url(aws, target)
        if url is None:
            print(f"warning: load balancer {target.alb_name} not found; readiness not checked",
                  file=sys.stderr)
        else:
            check_readiness(url, out)
    return EXIT_OK


def _require_api(aws: Aws, target: Target) -> str:
    url = manual_control_url(aws, target)
    if url is None:
        raise BoostError(f"manual-control API {target.api_name} not found in region "
                         f"{target.region}: deploy the environment (make deploy "
                         f"ENV={target.env.stack_name})")
    return url


def boost_for_hours(aws: Aws, target: Target, args: argparse.Namespace, out: TextIO) -> int:
    env = target.env
    if not env.litellm_manual_control_enabled:
        raise BoostError(f"--hours needs the manual-control API: set litellm_manual_control_enabled "
                         f"= true in {env.source} and deploy")
    if args.hours > env.litellm_manual_override_max_hours:
        raise BoostError(f"--hours {args.hours:g} is above litellm_manual_override_max_hours = "
                         f"{env.litellm_manual_override_max_hours:g} ({env.source})")
    describe_service(aws.client("ecs"), target)
    url = _require_api(aws, target) + OVERRIDE_PATH
    answer = signed_call(aws, "POST", url, {"action": "activate", "hours": args.hours})
    print(f"manual-control API: {json.dumps(answer, sort_keys=True)}", file=out)
    print(f"boosted to {answer.get('desired_count', '?')} task(s) until "
          f"{answer.get('override_expires_at', '?')}", file=out)
    return _wait_and_check(aws, target, args, out)


def switch_off(aws: Aws, target: Target, args: argparse.Namespace, out: TextIO) -> int:
    """Scale to 0. With the manual-control API, deactivate through it: that also clears a running
    boost and its expiry schedule, which a bare desired-count change would leave behind."""
    describe_service(aws.client("ecs"), target)
    url = manual_control_url(aws, target) if target.env.litellm_manual_control_enabled else None
    if url is None:
        if target.env.litellm_manual_control_enabled:
            print(f"warning: manual-control API {target.api_name} not found; scaling the service "
                  f"directly", file=sys.stderr)
        set_desired_count(aws, target, 0, out)
    else:
        answer = signed_call(aws, "POST", url + OVERRIDE_PATH, {"action": "deactivate"})
        print(f"manual-control API: {json.dumps(answer, sort_keys=True)}", file=out)
    return _wait_and_check(aws, target, args, out)


def scale_to(aws: Aws, target: Target, count: int, args: argparse.Namespace, out: TextIO) -> int:
    describe_service(aws.client("ecs"), target)
    set_desired_count(aws, target, count, out)
    env = target.env
    if count and env.litellm_manual_control_enabled and env.litellm_idle_shutdown_minutes:
        print(f"note: idle shutdown is on: after {env.litellm_idle_shutdown_minutes} minutes "
              f"without requests the service scales to 0 (use --hours to keep it up)", file=out)
    return _wait_and_check(aws, target, args, out)


def show_status(aws: Aws, target: Target, out: TextIO) -> int:
    ecs = aws.client("ecs")
    service = describe_service(ecs, target)
    statuses = task_statuses(ecs, target)
    print(f"{target.describe()}: {service.get('status')}", file=out)
    print(f"  desired {service.get('desiredCount')}, running {service.get('runningCount')}, "
          f"pending {service.get('pendingCount')}", file=out)
    for deployment in service.get("deployments", []):
        definition = deployment.get("taskDefinition", "").rsplit("/", 1)[-1]
        print(f"  deployment {deployment.get('status')} {deployment.get('rolloutState', '')} "
              f"({definition})", file=out)
    print(f"  tasks: {', '.join(statuses) or 'none'}", file=out)
    print(f"  settled: {'yes' if is_settled(service, statuses) else 'no'}", file=out)
    current = scalable_target(aws, target)
    if current is not None:
        print(f"  autoscaling: min {current['MinCapacity']}, max {current['MaxCapacity']}", file=out)
    if target.env.litellm_manual_control_enabled:
        url = manual_control_url(aws, target)
        if url is None:
            print(f"  boost: manual-control API {target.api_name} not deployed", file=out)
        else:
            try:
                answer = signed_call(aws, "GET", url + STATUS_PATH)
            except BoostError as exc:
                print(f"warning: {exc}", file=sys.stderr)
            else:
                if answer.get("override_active"):
                    print(f"  boost: active until {answer.get('override_expires_at')}", file=out)
                else:
                    print("  boost: none", file=out)
    return EXIT_OK


def run(args: argparse.Namespace, out: TextIO, aws: Aws | None = None) -> int:
    target = resolve_target(args.project_root, args.env, args.region)
    ambient = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if args.region is None and ambient and ambient != target.region:
        print(f"note: using {target.env.source}'s region {target.region} (AWS_REGION {ambient} "
              f"is ignored; pass --region to override)", file=sys.stderr)
    off = args.off or (args.count == 0 and args.hours is None and not args.status)
    env = target.env
    if off and env.production_like and env.litellm_autoscaling_enabled and not args.force:
        raise BoostError(
            f"{env.source} is production-like with autoscaling (minimum "
            f"{env.litellm_autoscaling_min_capacity}): scaling to 0 sets the autoscaling minimum to "
            "0 and nothing restores it until the next scale-up with this script; pass --force to "
            "do it anyway")
    aws = aws or Aws(target.region)
    aws.credentials()
    print(f"{target.env.stack_name}: {target.describe()}", file=out)
    if args.status:
        return show_status(aws, target, out)
    if args.hours is not None:
        return boost_for_hours(aws, target, args, out)
    if args.off:
        return switch_off(aws, target, args, out)
    return scale_to(aws, target, 1 if args.count is None else args.count, args, out)


def main(argv: list[str] | None = None, out: TextIO | None = None, aws: Aws | None = None) -> int:
    """The CLI; ``out`` (default stdout) receives the report and ``aws`` replaces the boto3
    session's clients in tests. Errors go to stderr."""
    out = out or sys.stdout
    args = parse_args(argv)
    try:
        import botocore.exceptions
    except ImportError:
        print("error: boto3 is not installed: run `make install` (it installs the pipenv "
              "virtualenv in .venv)", file=sys.stderr)
        return EXIT_ERROR
    try:
        return run(args, out, aws)
    except BoostError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except botocore.exceptions.NoCredentialsError:
        print("error: no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
              "AWS_SECRET_ACCESS_KEY", file=sys.stderr)
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"error: AWS {exc.operation_name} failed: {error.get('Code', '?')}: "
              f"{error.get('Message', exc)}", file=sys.stderr)
    except botocore.exceptions.BotoCoreError as exc:
        # EndpointConnectionError, ProfileNotFound, SSO token expiry, ...
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("\ninterrupted (any change already requested stays in place)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # during argument parsing or imports
        sys.exit(EXIT_INTERRUPTED)
