"""scripts/litellm-boost.sh and scripts/litellm_boost.py.

Unit tests run the CLI in-process against moto's ``mock_aws`` (and scripted ECS fakes for the
waiting logic moto cannot play: its services never start tasks). The end-to-end tests run the
shell script as a subprocess against a ``moto_server`` through AWS_ENDPOINT_URL, with a local HTTP
stand-in for the manual-control API (moto cannot serve execute-api invocations)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import importlib.util
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from tests.conftest import ROOT
from tests.config_files import write_project

SCRIPT = ROOT / "scripts" / "litellm-boost.sh"
REGION = "eu-west-1"
ACCESS_KEY, SECRET_KEY = "AKIDBOOSTTEST", "boost-test-secret"
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

ENVIRONMENTS = {
    # Manual control with idle shutdown, like the shipped dev environment.
    "dev": {"litellm_manual_control_enabled": True, "litellm_idle_shutdown_minutes": 60,
            "litellm_manual_override_max_hours": 6},
    "plain": {},
    "scaled": {"litellm_autoscaling_enabled": True, "litellm_autoscaling_min_capacity": 2,
               "litellm_autoscaling_max_capacity": 6, "alb_https_certificate_arn": CERTIFICATE},
    # A certificate for the team's own domain: the ALB's DNS name is not on it.
    "domain": {"alb_https_certificate_arn": CERTIFICATE, "litellm_public_url": "https://llm.example.com/"},
}


def _load_script_module():
    spec = importlib.util.spec_from_file_location("litellm_boost", ROOT / "scripts" / "litellm_boost.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


boost = _load_script_module()

# Variables that could point the code under test at a real account or another endpoint.
_AMBIENT = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    boost.MANUAL_CONTROL_URL_VARIABLE, boost.GATEWAY_URL_VARIABLE,
)


def fake_aws_environment(base: dict, scratch: Path) -> dict:
    env = {k: v for k, v in base.items() if k not in _AMBIENT}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
    )
    return env


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch, tmp_path):
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_aws_environment({}, tmp_path).items():
        monkeypatch.setenv(name, value)


# Parsing botocore's service models is most of a fresh session's cost; every session the code
# under test creates shares one loader so each model is parsed once per test run.
_LOADER = botocore.loaders.create_loader()
_BOTO3_SESSION = boto3.session.Session


@pytest.fixture(autouse=True)
def shared_model_loader(monkeypatch):
    def session(**kwargs):
        core = botocore.session.Session()
        core.register_component("data_loader", _LOADER)
        return _BOTO3_SESSION(botocore_session=core, **kwargs)

    monkeypatch.setattr(boto3.session, "Session", session)


_clients: dict[tuple[str, str | None], object] = {}


def client(name: str, endpoint_url: str | None = None):
    """The tests' own clients, reused across tests (moto intercepts whatever client is used)."""
    if (name, endpoint_url) not in _clients:
        _clients[name, endpoint_url] = _BOTO3_SESSION(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION,
        ).client(name, endpoint_url=endpoint_url)
    return _clients[name, endpoint_url]


@pytest.fixture(scope="module")
def project_root(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("boost") / "project", ENVIRONMENTS)


@pytest.fixture
def moto():
    with mock_aws():
        yield


# --------------------------------------------------------------------------------------------
# Helpers: a deployed service, an HTTP stand-in, a SigV4 verifier written from the spec
# --------------------------------------------------------------------------------------------


def deploy_service(prefix: str, *, desired: int = 0, autoscaling: tuple[int, int] | None = None,
                   endpoint_url: str | None = None):
    """Cluster + service as modules/ecs_litellm names them. Created at 0 then scaled, because
    moto freezes the deployment's rolloutState at creation (COMPLETED only when created at 0)."""
    ecs = client("ecs", endpoint_url)
    ecs.create_cluster(clusterName=f"{prefix}-cluster")
    ecs.register_task_definition(
        family=f"{prefix}-litellm",
        containerDefinitions=[{"name": "litellm", "image": "ghcr.io/berriai/litellm:main-stable", "memory": 2048}],
    )
    ecs.create_service(cluster=f"{prefix}-cluster", serviceName=f"{prefix}-litellm",
                       taskDefinition=f"{prefix}-litellm", desiredCount=0)
    if desired:
        ecs.update_service(cluster=f"{prefix}-cluster", service=f"{prefix}-litellm", desiredCount=desired)
    if autoscaling:
        client("application-autoscaling", endpoint_url).register_scalable_target(
            ServiceNamespace="ecs", ResourceId=f"service/{prefix}-cluster/{prefix}-litellm",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=autoscaling[0], MaxCapacity=autoscaling[1],
        )
    return ecs


def desired_count(ecs, prefix: str) -> int:
    return ecs.describe_services(cluster=f"{prefix}-cluster", services=[f"{prefix}-litellm"])["services"][0]["desiredCount"]


def floor_and_ceiling(prefix: str) -> tuple[int, int]:
    target = client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{prefix}-cluster/{prefix}-litellm"],
    )["ScalableTargets"][0]
    return target["MinCapacity"], target["MaxCapacity"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        recorder = self.server.recorder
        recorder.requests.append({
            "method": self.command, "path": self.path, "body": self.rfile.read(length),
            "headers": {name.lower(): value for name, value in self.headers.items()},
        })
        status, payload = recorder.responses.get((self.command, self.path.split("?")[0]), (404, {"message": "Not Found"}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class Stub:
    """Records requests and answers (method, path) with canned JSON."""

    def __init__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.recorder = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.reset()

    def reset(self):
        self.requests: list[dict] = []
        self.responses: dict[tuple[str, str], tuple[int, object]] = {}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def stub_server():
    server = Stub()
    yield server
    server.close()


@pytest.fixture
def stub(stub_server):
    stub_server.reset()
    return stub_server


ACTIVATED = {"status": "activated", "desired_count": 1, "override_expires_at": "2030-01-01T04:00:00Z"}


def assert_sigv4(request: dict, region: str = REGION) -> None:
    """Recompute the AWS Signature Version 4 of a received request from the published algorithm,
    with the credentials of the current environment (mock_aws substitutes its own)."""
    access_key, secret_key = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    headers = request["headers"]
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
        headers["authorization"],
    )
    assert match, headers["authorization"]
    key, date, scope_region, service, signed, signature = match.groups()
    assert (key, scope_region, service) == (access_key, region, "execute-api")
    names = signed.split(";")
    assert {"host", "x-amz-date"} <= set(names)
    assert headers["x-amz-date"].startswith(date)
    path, _, query = request["path"].partition("?")
    canonical = "\n".join([
        request["method"], path, query,
        "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names),
        signed, hashlib.sha256(request["body"]).hexdigest(),
    ])
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", headers["x-amz-date"], f"{date}/{region}/execute-api/aws4_request",
        hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    signing_key = f"AWS4{secret_key}".encode()
    for part in (date, region, "execute-api", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    assert hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest() == signature


def run(project_root: Path, *argv: str, aws=None) -> tuple[int, str]:
    out = io.StringIO()
    code = boost.main([*argv, "--project-root", str(project_root)], out=out, aws=aws)
    return code, out.getvalue()


# --------------------------------------------------------------------------------------------
# Count mode (moto)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, expected", [((), 1), (("3",), 3), (("0",), 0), (("--off",), 0)])
def test_count_mode_sets_the_desired_count(moto, project_root, argv, expected):
    ecs = deploy_service("litellm-plain", desired=2)
    code, out = run(project_root, *argv, "--env", "plain", "--no-wait")
    assert code == 0
    assert desired_count(ecs, "litellm-plain") == expected
    assert f"desired count of litellm-plain-litellm set to {expected}" in out


@pytest.mark.parametrize("argv", [("--off",), ("0",)])
def test_production_autoscaled_service_is_not_switched_off_without_force(moto, project_root, capsys, argv):
    ecs = deploy_service("litellm-scaled", desired=2, autoscaling=(2, 6))
    code, _ = run(project_root, *argv, "--env", "scaled", "--no-wait")
    assert code == 1
    assert "pass --force" in capsys.readouterr().err
    # Nothing changed: the minimum would otherwise stay 0 with nothing to restore it.
    assert desired_count(ecs, "litellm-scaled") == 2
    assert floor_and_ceiling("litellm-scaled") == (2, 6)


def test_off_lowers_the_autoscaling_floor_to_zero(moto, project_root):
    ecs = deploy_service("litellm-scaled", desired=2, autoscaling=(2, 6))
    code, out = run(project_root, "--off", "--force", "--env", "scaled", "--no-wait")
    assert code == 0
    assert desired_count(ecs, "litellm-scaled") == 0
    assert floor_and_ceiling("litellm-scaled") == (0, 6)
    assert "autoscaling minimum capacity 2 -> 0" in out


@pytest.mark.parametrize("count, floor", [
    ("1", 1),  # below the configured floor of 2: the floor follows, or autoscaling undoes the 1
    ("3", 2),  # the configured floor comes back after an earlier --off
])
def test_scaling_up_restores_the_floor_but_never_above_the_count(moto, project_root, count, floor):
    deploy_service("litellm-scaled", autoscaling=(0, 6))
    code, _ = run(project_root, count, "--env", "scaled", "--no-wait")
    assert code == 0
    assert floor_and_ceiling("litellm-scaled") == (floor, 6)


def test_a_count_above_the_autoscaling_ceiling_is_reported_not_forced(moto, project_root, capsys):
    ecs = deploy_service("litellm-scaled", autoscaling=(2, 6))
    code, _ = run(project_root, "8", "--env", "scaled", "--no-wait")
    assert code == 0
    assert desired_count(ecs, "litellm-scaled") == 8
    assert floor_and_ceiling("litellm-scaled") == (2, 6)
    assert "above the autoscaling maximum of 6" in capsys.readouterr().err


def test_idle_shutdown_is_mentioned_when_scaling_up_directly(moto, project_root):
    deploy_service("litellm-dev")
    code, out = run(project_root, "2", "--no-wait")
    assert code == 0
    assert "after 60 minutes without requests the service scales to 0" in out
    assert "without requests" not in run(project_root, "0", "--no-wait")[1]


@pytest.mark.parametrize("with_cluster", [True, False])
def test_missing_service_says_deploy_first(moto, project_root, capsys, with_cluster):
    if with_cluster:
        client("ecs").create_cluster(clusterName="litellm-plain-cluster")
    code, _ = run(project_root, "--env", "plain", "--no-wait")
    err = capsys.readouterr().err
    assert code == 1
    assert ("service litellm-plain-litellm not found in cluster litellm-plain-cluster (region eu-west-1): "
            "deploy the environment first") in err
    assert "Traceback" not in err


def test_the_environment_region_wins_over_aws_region(moto, project_root, monkeypatch, capsys):
    ecs = deploy_service("litellm-plain")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert run(project_root, "--env", "plain", "--no-wait")[0] == 0
    assert desired_count(ecs, "litellm-plain") == 1
    assert "AWS_REGION us-east-1 is ignored" in capsys.readouterr().err
    assert run(project_root, "--env", "plain", "--no-wait", "--region", "us-east-1")[0] == 1
    assert "(region us-east-1)" in capsys.readouterr().err


def test_unknown_environment_lists_the_available_ones(project_root, capsys):
    assert run(project_root, "--env", "staging")[0] == 1
    assert "unknown environment 'staging': available: dev, domain, plain, scaled" in capsys.readouterr().err


def test_configuration_problems_are_listed_without_traceback(tmp_path, capsys):
    root = write_project(tmp_path / "broken", {"dev": {"nat_gateway_mode": "many"}})
    assert run(root)[0] == 1
    err = capsys.readouterr().err
    assert "environments/dev.toml: nat_gateway_mode: 'many' is not one of" in err
    assert "Traceback" not in err


def test_missing_credentials_are_a_clear_error(project_root, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert run(project_root, "--env", "plain")[0] == 1
    assert "no AWS credentials found" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["-1"], "'-1' is not a task count"),
    (["two"], "'two' is not a task count"),
    (["1.5"], "'1.5' is not a task count"),
    (["--hours", "nan"], "'nan' must be a finite number greater than 0"),
    (["--hours", "inf"], "'inf' must be a finite number greater than 0"),
    (["--hours", "0"], "'0' must be a finite number greater than 0"),
    (["--hours", "soon"], "'soon' is not a number"),
    (["--off", "--hours", "2"], "--off cannot be combined with --hours"),
    (["--off", "2"], "either a count or --off"),
    (["2", "--hours", "1"], "it takes no count"),
    (["--status", "--off"], "--status cannot be combined"),
    (["--timeout", "0"], "'0' must be a finite number greater than 0"),
    (["--poll-interval", "-1"], "'-1' must be a finite number greater than 0"),
])
def test_bad_arguments_exit_2_before_any_aws_call(project_root, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        run(project_root, *argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The manual-control API (hours, --off, --status)
# --------------------------------------------------------------------------------------------


def test_hours_posts_a_sigv4_signed_activate(moto, project_root, stub, monkeypatch):
    deploy_service("litellm-dev")
    monkeypatch.setenv(boost.MANUAL_CONTROL_URL_VARIABLE, stub.url + "/")
    stub.responses[("POST", "/litellm/override")] = (200, ACTIVATED)
    code, out = run(project_root, "--hours", "2.5", "--no-wait")
    assert code == 0
    (request,) = stub.requests
    assert (request["method"], request["path"]) == ("POST", "/litellm/override")
    assert json.loads(request["body"]) == {"action": "activate", "hours": 2.5}
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert_sigv4(request)
    assert '"override_expires_at": "2030-01-01T04:00:00Z"' in out
    assert "boosted to 1 task(s) until 2030-01-01T04:00:00Z" in out


def test_hours_finds_the_api_by_name(moto, project_root, monkeypatch):
    deploy_service("litellm-dev")
    apigw = client("apigatewayv2")
    apigw.create_api(Name="litellm-prod-manual-control", ProtocolType="HTTP")
    endpoint = apigw.create_api(Name="litellm-dev-manual-control", ProtocolType="HTTP")["ApiEndpoint"]
    seen = []

    def fake_open(request, timeout):
        seen.append((request.get_method(), request.full_url, request.get_header("Authorization")))
        return 200, json.dumps(ACTIVATED)

    monkeypatch.setattr(boost, "_open", fake_open)
    assert run(project_root, "--hours", "1", "--no-wait")[0] == 0
    ((method, url, authorization),) = seen
    assert (method, url) == ("POST", endpoint + "/litellm/override")
    assert "/eu-west-1/execute-api/aws4_request" in authorization


def test_hours_needs_the_api_deployed(moto, project_root, capsys):
    deploy_service("litellm-dev")
    assert run(project_root, "--hours", "1")[0] == 1
    assert "manual-control API litellm-dev-manual-control not found in region eu-west-1" in capsys.readouterr().err


def test_hours_needs_manual_control_in_the_configuration(moto, project_root, capsys):
    deploy_service("litellm-plain")
    assert run(project_root, "--env", "plain", "--hours", "1")[0] == 1
    assert "set litellm_manual_control_enabled = true in environments/plain.toml" in capsys.readouterr().err


def test_hours_above_the_configured_maximum_is_refused_locally(moto, project_root, stub, monkeypatch, capsys):
    deploy_service("litellm-dev")
    monkeypatch.setenv(boost.MANUAL_CONTROL_URL_VARIABLE, stub.url)
    assert run(project_root, "--hours", "6.5")[0] == 1
    assert "above litellm_manual_override_max_hours = 6" in capsys.readouterr().err
    assert stub.requests == []


def test_api_errors_show_status_and_body(moto, project_root, stub, monkeypatch, capsys):
    deploy_service("litellm-dev")
    monkeypatch.setenv(boost.MANUAL_CONTROL_URL_VARIABLE, stub.url)
    stub.responses[("POST", "/litellm/override")] = (403, {"message": "Forbidden"})
    assert run(project_root, "--hours", "1")[0] == 1
    err = capsys.readouterr().err
    assert "answered HTTP 403" in err and '"message": "Forbidden"' in err
    assert "Traceback" not in err


def test_off_with_manual_control_deactivates_through_the_api(moto, project_root, stub, monkeypatch):
    ecs = deploy_service("litellm-dev", desired=2)
    monkeypatch.setenv(boost.MANUAL_CONTROL_URL_VARIABLE, stub.url)
    stub.responses[("POST", "/litellm/override")] = (200, {"status": "deactivated"})
    code, out = run(project_root, "--off", "--no-wait")
    assert code == 0
    (request,) = stub.requests
    assert json.loads(request["body"]) == {"action": "deactivate"}
    assert_sigv4(request)
    # The Lambda scales (and clears the boost); the script did not touch the service itself.
    assert desired_count(ecs, "litellm-dev") == 2
    assert '"status": "deactivated"' in out


def test_off_falls_back_to_ecs_when_the_api_is_not_deployed(moto, project_root, capsys):
    ecs = deploy_service("litellm-dev", desired=2)
    assert run(project_root, "--off", "--no-wait")[0] == 0
    assert desired_count(ecs, "litellm-dev") == 0
    assert "manual-control API litellm-dev-manual-control not found; scaling the service directly" in capsys.readouterr().err


def test_status_reports_service_autoscaling_and_boost(moto, project_root, stub, monkeypatch):
    deploy_service("litellm-dev", desired=0, autoscaling=(1, 4))
    monkeypatch.setenv(boost.MANUAL_CONTROL_URL_VARIABLE, stub.url)
    stub.responses[("GET", "/litellm/status")] = (200, {
        "desired_count": 0, "running_count": 0, "pending_count": 0,
        "override_expires_at": "2030-01-01T04:00:00Z", "override_active": True,
    })
    code, out = run(project_root, "--status")
    assert code == 0
    assert "desired 0, running 0, pending 0" in out
    assert "autoscaling: min 1, max 4" in out
    assert "boost: active until 2030-01-01T04:00:00Z" in out
    assert "settled: yes" in out
    assert_sigv4(stub.requests[0])
    assert stub.requests[0]["method"] == "GET"


# --------------------------------------------------------------------------------------------
# Waiting (scripted ECS, fake clock)
# --------------------------------------------------------------------------------------------


def service_state(desired, running, pending=0, rollout="COMPLETED", deployments=1):
    return {
        "status": "ACTIVE", "desiredCount": desired, "runningCount": running, "pendingCount": pending,
        "deployments": [{"status": "PRIMARY" if i == 0 else "ACTIVE", "rolloutState": rollout}
                        for i in range(deployments)],
        "events": [{"createdAt": "2030-01-01", "message": "(service x) was unable to place a task"}],
    }


@pytest.mark.parametrize("service, tasks, settled", [
    (service_state(1, 1), ["RUNNING"], True),
    (service_state(0, 0), [], True),
    (service_state(2, 2), ["RUNNING", "RUNNING"], True),
    # ECS can count a task as running while describe_tasks still says PENDING: not done (the
    # seed's wait counted PENDING tasks).
    (service_state(1, 1), ["PENDING"], False),
    (service_state(2, 2), ["RUNNING", "ACTIVATING"], False),
    (service_state(2, 1, pending=1), ["RUNNING", "PENDING"], False),
    # Running already equals desired, but ECS still counts a pending task (a replacement starting,
    # or a launch list_tasks does not show yet): not done until pendingCount is 0 too.
    (service_state(1, 1, pending=1), ["RUNNING"], False),
    (service_state(2, 2, pending=1), ["RUNNING", "RUNNING"], False),
    (service_state(1, 1), [], False),
    (service_state(1, 1, rollout="IN_PROGRESS"), ["RUNNING"], False),
    (service_state(1, 1, deployments=2), ["RUNNING"], False),
    (service_state(0, 1), ["RUNNING"], False),
])
def test_is_settled(service, tasks, settled):
    assert boost.is_settled(service, tasks) is settled


class ScriptedEcs:
    """An ECS client whose describe_services walks through ``states`` (one per call); the task
    listing follows the current state."""

    def __init__(self, states, fail_on=None):
        self.states, self.calls, self.updates, self.fail_on = states, 0, [], fail_on or {}

    def _state(self):
        return self.states[min(self.calls, len(self.states)) - 1]

    def describe_services(self, cluster, services):
        self.calls += 1
        if self.calls in self.fail_on:
            raise self.fail_on[self.calls]
        return {"services": [self._state()[0]], "failures": []}

    def list_tasks(self, **kwargs):
        return {"taskArns": [f"arn:aws:ecs:eu-west-1:123456789012:task/c/{i}" for i in range(len(self._state()[1]))]}

    def describe_tasks(self, cluster, tasks):
        return {"tasks": [{"taskArn": arn, "lastStatus": status} for arn, status in zip(tasks, self._state()[1])]}

    def update_service(self, **kwargs):
        self.updates.append(kwargs)
        return {"service": {}}


class FakeClock:
    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def plain_target(project_root):
    return boost.resolve_target(project_root, "plain", None)


def test_wait_polls_until_pending_tasks_run(plain_target):
    ecs = ScriptedEcs([
        (service_state(2, 0, pending=2), ["PROVISIONING", "PENDING"]),
        (service_state(2, 2), ["RUNNING", "PENDING"]),
        (service_state(2, 2), ["RUNNING", "RUNNING"]),
    ])
    clock, out = FakeClock(), io.StringIO()
    service = boost.wait_for_service(ecs, plain_target, timeout=60, poll_interval=5, out=out,
                                     sleep=clock.sleep, clock=clock)
    assert service is not None and ecs.calls == 3
    assert clock.sleeps == [5, 5]
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "desired 2 running 2 pending 0 | tasks: 1 PENDING, 1 RUNNING" in lines[1]
    assert "tasks: 2 RUNNING | deployment: PRIMARY COMPLETED" in lines[2]


def test_wait_times_out_with_the_last_state_and_events(plain_target, capsys):
    ecs = ScriptedEcs([(service_state(1, 0, pending=1), ["PENDING"])])
    clock = FakeClock()
    service = boost.wait_for_service(ecs, plain_target, timeout=12, poll_interval=5, out=io.StringIO(),
                                     sleep=clock.sleep, clock=clock)
    assert service is None
    # Polls at 0, 5, 10 and a last one at the deadline.
    assert clock.sleeps == [5, 5, 2] and ecs.calls == 4
    err = capsys.readouterr().err
    assert "timed out after 12 s" in err and "running 0, pending 1" in err
    assert "was unable to place a task" in err


def scripted_aws(ecs) -> object:
    aws = boost.Aws(REGION)
    aws.overrides["ecs"] = ecs
    return aws


def test_timeout_exits_2(moto, project_root, capsys):
    # moto's services never start tasks, so a scale-up never settles.
    deploy_service("litellm-plain")
    started = time.monotonic()
    code, _ = run(project_root, "2", "--env", "plain", "--timeout", "0.2", "--poll-interval", "0.05")
    assert code == 2
    assert time.monotonic() - started < 5
    assert "timed out after 0.2 s" in capsys.readouterr().err


def test_off_waits_until_zero_and_skips_readiness(moto, project_root, stub, monkeypatch):
    ecs = deploy_service("litellm-plain", desired=2)
    monkeypatch.setenv(boost.GATEWAY_URL_VARIABLE, stub.url)
    code, out = run(project_root, "--off", "--env", "plain", "--timeout", "5", "--poll-interval", "0.05")
    assert code == 0
    assert desired_count(ecs, "litellm-plain") == 0
    assert "litellm-plain-litellm: 0 task(s) running" in out
    assert stub.requests == []


def test_scale_up_waits_then_checks_the_gateway_readiness(moto, project_root, stub, monkeypatch):
    ecs = ScriptedEcs([
        (service_state(0, 0), []),  # before the change
        (service_state(1, 0, pending=1), ["PENDING"]),
        (service_state(1, 1), ["RUNNING"]),
    ])
    monkeypatch.setenv(boost.GATEWAY_URL_VARIABLE, stub.url)
    stub.responses[("GET", "/health/readiness")] = (200, {"status": "healthy", "db": "connected"})
    code, out = run(project_root, "--env", "plain", "--poll-interval", "0.01", aws=scripted_aws(ecs))
    assert code == 0
    assert ecs.updates == [{"cluster": "litellm-plain-cluster", "service": "litellm-plain-litellm", "desiredCount": 1}]
    assert [r["path"] for r in stub.requests] == ["/health/readiness"]
    assert f"gateway {stub.url}/health/readiness: HTTP 200 healthy" in out


def test_an_unreachable_gateway_is_a_warning(moto, project_root, monkeypatch, capsys):
    ecs = ScriptedEcs([(service_state(0, 0), []), (service_state(1, 1), ["RUNNING"])])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv(boost.GATEWAY_URL_VARIABLE, f"http://127.0.0.1:{port}")
    code, _ = run(project_root, "--env", "plain", "--poll-interval", "0.01", aws=scripted_aws(ecs))
    assert code == 0
    assert f"warning: could not reach http://127.0.0.1:{port}/health/readiness" in capsys.readouterr().err


def test_gateway_url_comes_from_the_load_balancer_by_name(moto, project_root):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    elbv2 = client("elbv2")
    dns = {name: elbv2.create_load_balancer(Name=f"litellm-{name}-alb", Subnets=subnets)["LoadBalancers"][0]["DNSName"]
           for name in ("plain", "scaled")}
    aws = boost.Aws(REGION)
    assert boost.gateway_url(aws, boost.resolve_target(project_root, "plain", None)) == f"http://{dns['plain']}"
    # "scaled" has an HTTPS certificate.
    assert boost.gateway_url(aws, boost.resolve_target(project_root, "scaled", None)) == f"https://{dns['scaled']}"
    assert boost.gateway_url(aws, boost.resolve_target(project_root, "dev", None)) is None


def test_gateway_url_is_the_configured_public_url_when_there_is_one(moto, project_root, monkeypatch):
    # No load balancer exists: the public URL is used without looking one up.
    aws = boost.Aws(REGION)
    assert boost.gateway_url(aws, boost.resolve_target(project_root, "domain", None)) == "https://llm.example.com"
    monkeypatch.setenv(boost.GATEWAY_URL_VARIABLE, "https://override.example.com")
    assert boost.gateway_url(aws, boost.resolve_target(project_root, "domain", None)) == "https://override.example.com"


def test_ctrl_c_exits_130_without_traceback(moto, project_root, capsys):
    ecs = ScriptedEcs([(service_state(0, 0), [])], fail_on={2: KeyboardInterrupt()})
    code, _ = run(project_root, "--env", "plain", aws=scripted_aws(ecs))
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


@pytest.mark.parametrize("error, message", [
    (ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform ecs:DescribeServices"}},
                 "DescribeServices"),
     "AWS DescribeServices failed: AccessDeniedException: not authorized to perform ecs:DescribeServices"),
    (EndpointConnectionError(endpoint_url="https://ecs.eu-west-1.amazonaws.com/"),
     'Could not connect to the endpoint URL: "https://ecs.eu-west-1.amazonaws.com/"'),
])
def test_aws_errors_exit_1_without_traceback(moto, project_root, capsys, error, message):
    ecs = ScriptedEcs([(service_state(0, 0), [])], fail_on={1: error})
    assert run(project_root, "--env", "plain", aws=scripted_aws(ecs))[0] == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# --------------------------------------------------------------------------------------------
# End to end: the shell script against moto_server
# --------------------------------------------------------------------------------------------

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("moto-server")
    executable = ROOT / ".venv" / "bin" / "moto_server"
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "moto.server"]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (scratch / "moto.log").open("wb")
    process = subprocess.Popen([*command, "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                               stderr=subprocess.STDOUT, env=fake_aws_environment(os.environ, scratch))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _NO_PROXY.open(url + "/moto-api/data.json", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start: {(scratch / 'moto.log').read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture
def server(moto_server):
    _NO_PROXY.open(urllib.request.Request(moto_server + "/moto-api/reset", method="POST"), timeout=5).close()
    return moto_server


def run_script(server_url: str, project: Path, *args: str, extra_env: dict | None = None,
               script: Path = SCRIPT) -> subprocess.CompletedProcess:
    env = fake_aws_environment(os.environ, project.parent)
    env.update(AWS_ENDPOINT_URL=server_url, **(extra_env or {}))
    return subprocess.run([str(script), "--project-root", ".", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)


def server_ecs(server_url: str):
    return client("ecs", server_url)


@pytest.mark.parametrize("args, expected", [((), 1), (("3",), 3)])
def test_e2e_scales_up_without_waiting(server, project_root, args, expected):
    deploy_service("litellm-plain", endpoint_url=server)
    result = run_script(server, project_root, *args, "--env", "plain", "--no-wait")
    assert result.returncode == 0, result.stderr
    assert desired_count(server_ecs(server), "litellm-plain") == expected


def test_e2e_off_waits_for_zero(server, project_root):
    deploy_service("litellm-plain", desired=2, endpoint_url=server)
    result = run_script(server, project_root, "--off", "--env", "plain", "--timeout", "20", "--poll-interval", "0.2")
    assert result.returncode == 0, result.stderr
    assert desired_count(server_ecs(server), "litellm-plain") == 0
    assert "desired 0 running 0 pending 0" in result.stdout


def test_e2e_hours_through_a_stand_in_api(server, project_root, stub):
    deploy_service("litellm-dev", endpoint_url=server)
    stub.responses[("POST", "/litellm/override")] = (200, ACTIVATED)
    result = run_script(server, project_root, "--hours", "4", "--no-wait",
                        extra_env={boost.MANUAL_CONTROL_URL_VARIABLE: stub.url})
    assert result.returncode == 0, result.stderr
    (request,) = stub.requests
    assert json.loads(request["body"]) == {"action": "activate", "hours": 4.0}
    assert_sigv4(request)
    assert "boosted to 1 task(s) until 2030-01-01T04:00:00Z" in result.stdout


def test_e2e_missing_service_through_a_symlinked_script(server, project_root, tmp_path):
    link = tmp_path / "boost"
    link.symlink_to(SCRIPT)  # the wrapper must still find the repository (and its .venv)
    result = run_script(server, project_root, "--env", "plain", script=link)
    assert result.returncode == 1
    assert ("error: service litellm-plain-litellm not found in cluster litellm-plain-cluster "
            "(region eu-west-1): deploy the environment first") in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [("-3",), ("--hours", "nan")])
def test_e2e_bad_arguments(server, project_root, args):
    result = run_script(server, project_root, *args)
    assert result.returncode == 2
    assert "usage: litellm-boost.sh" in result.stderr and "Traceback" not in result.stderr


def test_e2e_timeout_exits_2_and_keeps_the_count(server, project_root):
    deploy_service("litellm-plain", endpoint_url=server)
    # moto reports runningCount = desiredCount at once but never starts a task for a service.
    result = run_script(server, project_root, "2", "--env", "plain", "--timeout", "0.3", "--poll-interval", "0.1")
    assert result.returncode == 2, result.stderr
    assert "timed out after 0.3 s" in result.stderr
    assert "desired 2 running 2 pending 0 | tasks: none" in result.stdout
    assert desired_count(server_ecs(server), "litellm-plain") == 2
