"""The real LiteLLM proxy honours what the dev and prod task definitions promise.

Each test runs once per environment against the proxy started from that environment's
synthesized container definition (conftest.proxy). The database is not part of this run:
LiteLLM's DB path runs Prisma, which downloads its query engines at start, impossible offline;
the DATABASE_* variables are dropped here and their URL assembly is proven against a real
PostgreSQL in test_database_url.py. The graceful-shutdown test stops the proxy, so it comes last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import MOCK_MODEL

import harness

SLOW_REQUEST_SECONDS = 35  # longer than LiteLLM's 30 s default graceful window
LITELLM_DEFAULT_GRACEFUL_SECONDS = 30


def post(proxy, path: str, body: dict, timeout: float = 60):
    request = urllib.request.Request(
        f"{proxy.url}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {proxy.master_key}", "Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=timeout)


def require_config(proxy) -> None:
    if proxy.task.config_text is None:
        pytest.fail(f"{proxy.stack}: the task definition names no config object "
                    "(LITELLM_CONFIG_BUCKET_NAME/..._OBJECT_KEY): LiteLLM starts with no models "
                    "and never reads REDIS_*")


def test_listens_on_the_mapped_port(proxy):
    mapping = proxy.task.container["portMappings"][0]
    assert mapping["containerPort"] == proxy.task.port
    assert harness.port_open(mapping["containerPort"]), f"nothing listens on {mapping['containerPort']}"


def test_health_check_command_runs_as_written(proxy):
    check = proxy.task.container["healthCheck"]
    command = check["command"]
    assert command[0] in ("CMD", "CMD-SHELL"), command
    argv = command[1:] if command[0] == "CMD" else ["/bin/sh", "-c", command[1]]
    # The container's PATH: python3 is the proxy's own interpreter, as in the image.
    result = subprocess.run(argv, env={"PATH": proxy.env["PATH"]}, capture_output=True, text=True,
                            timeout=check.get("timeout", 5) + 5)
    assert result.returncode == 0, f"{command} failed: {result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", ["/health/liveliness", "/health/readiness"])
def test_health_endpoints_answer_200(proxy, path):
    with urllib.request.urlopen(f"{proxy.url}{path}", timeout=10) as response:
        assert response.status == 200
        body = response.read().decode()
    print(f"{proxy.stack} {path}: {body[:300]}")


def test_admin_api_and_ui_answer(proxy):
    """A gateway with no model of its own still serves its admin API and UI."""
    request = urllib.request.Request(f"{proxy.url}/v1/models",
                                     headers={"Authorization": f"Bearer {proxy.master_key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        models = [m["id"] for m in json.load(response)["data"]]
    if proxy.task.config_text is not None:
        assert MOCK_MODEL in models
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{proxy.url}/v1/models", timeout=10)
    # Refused, though as a 500 here: with no key LiteLLM consults its DB error handler, which
    # imports the `prisma` package this venv lacks (the image has it, and answers 401).
    assert refused.value.code in (401, 403, 500), refused.value.code
    with urllib.request.urlopen(f"{proxy.url}/ui/", timeout=10) as response:
        assert response.status == 200
        assert "html" in response.headers.get("Content-Type", "")


def test_chat_completion_reaches_the_upstream(proxy, upstream):
    require_config(proxy)
    marker = f"chat-{proxy.stack}-{time.time_ns()}"
    with post(proxy, "/v1/chat/completions",
              {"model": MOCK_MODEL, "messages": [{"role": "user", "content": marker}]}) as response:
        body = json.load(response)
    assert body["choices"][0]["message"]["content"] == f"mock answer to: {marker}"
    assert any(r["content"] == marker and not r["stream"] for r in upstream.received())


def test_streamed_completion_reaches_the_upstream(proxy, upstream):
    require_config(proxy)
    marker = f"stream-{proxy.stack}-{time.time_ns()}"
    pieces, done = [], False
    with post(proxy, "/v1/chat/completions",
              {"model": MOCK_MODEL, "stream": True,
               "messages": [{"role": "user", "content": marker}]}) as response:
        assert response.headers.get("Content-Type", "").startswith("text/event-stream")
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            data = line[len("data:"):].strip()
            if data == "[DONE]":
                done = True
                break
            delta = json.loads(data)["choices"][0].get("delta", {})
            pieces.append(delta.get("content") or "")
    assert done, "the stream did not end with [DONE]"
    assert "".join(pieces).strip() == f"mock answer to: {marker}"
    assert any(r["content"] == marker and r["stream"] for r in upstream.received())


def test_shared_state_lives_in_redis(proxy, redis):
    """After the completions above, the proxy's router/limiter state is in the TLS+AUTH Redis."""
    require_config(proxy)
    # Usage counters are written asynchronously after the response.
    deadline, keys = time.monotonic() + 15, []
    while time.monotonic() < deadline:
        with redis.client() as client:
            keys = client.keys()
        if keys:
            break
        time.sleep(0.5)
    with redis.client() as client:
        # Connections other than this one: the proxy's own (TLS terminator to redis-server).
        connections = len(client.call("CLIENT", "LIST").strip().splitlines()) - 1
    print(f"{proxy.stack}: Redis keys after requests: {keys}; {connections} proxy connections")
    assert keys, ("the proxy wrote nothing to Redis: its rate limits and router state stay per "
                  "worker (REDIS_* are read only from a loaded config)")
    # And the Redis it wrote to is the one that demands AUTH: without the password, nothing.
    with redis.client(password=None) as anonymous, pytest.raises(harness.RedisError, match="NOAUTH"):
        anonymous.keys()


def test_sigterm_lets_a_long_request_finish(proxy, upstream):
    """ECS sends SIGTERM, waits stopTimeout, then SIGKILLs: LiteLLM must drain for that long."""
    require_config(proxy)
    configured = proxy.env.get("GRACEFUL_SHUTDOWN_TIMEOUT")
    if configured is None:
        pytest.skip(f"{proxy.stack}: the task definition sets no GRACEFUL_SHUTDOWN_TIMEOUT, so "
                    f"LiteLLM's {LITELLM_DEFAULT_GRACEFUL_SECONDS} s default applies")
    window = float(configured)
    assert window > SLOW_REQUEST_SECONDS, (
        f"GRACEFUL_SHUTDOWN_TIMEOUT={configured} is not longer than this test's request")
    stop_timeout = proxy.task.container.get("stopTimeout")
    if stop_timeout is not None:
        assert window < stop_timeout, "ECS would SIGKILL before LiteLLM's graceful window ends"

    marker = f"sleep:{SLOW_REQUEST_SECONDS}"
    before = len(upstream.received())
    outcome: dict = {}

    def call() -> None:
        try:
            with post(proxy, "/v1/chat/completions",
                      {"model": MOCK_MODEL, "messages": [{"role": "user", "content": marker}]},
                      timeout=window + 30) as response:
                outcome["status"] = response.status
                outcome["body"] = json.load(response)
        except urllib.error.HTTPError as error:
            outcome["status"] = error.code
            outcome["body"] = error.read().decode(errors="replace")
        except Exception as error:  # noqa: BLE001 - reported below
            outcome["error"] = repr(error)
        outcome["finished"] = time.monotonic()

    client = threading.Thread(target=call, daemon=True)
    client.start()
    deadline = time.monotonic() + 30
    while len(upstream.received()) <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(upstream.received()) > before, "the slow request never reached the upstream"
    sigterm_at = time.monotonic()
    # ECS signals the container's PID 1: the image execs `litellm`, so that is this process.
    os.kill(proxy.process.popen.pid, signal.SIGTERM)
    client.join(window + 40)
    assert not client.is_alive(), "the client never got an answer"
    assert outcome.get("status") == 200, f"the in-flight request was cut: {outcome}"
    answered_after = outcome["finished"] - sigterm_at
    assert answered_after > LITELLM_DEFAULT_GRACEFUL_SECONDS - 5  # it really was in flight
    try:
        proxy.process.popen.wait(timeout=max(5.0, window - answered_after + 10))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the proxy was still running {window + 10:.0f} s after SIGTERM")
    exited_after = time.monotonic() - sigterm_at
    print(f"{proxy.stack}: request answered {answered_after:.1f} s after SIGTERM, "
          f"proxy exited after {exited_after:.1f} s (window {window:.0f} s)")
    assert exited_after < window + 10
