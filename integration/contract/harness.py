"""The contract harness: the real LiteLLM proxy, started from the synthesized task definitions.

Everything here runs on 127.0.0.1 and ends with the test session:
- ``ensure_venv``: ``litellm[proxy]`` and the local servers, hash-checked from
  requirements/litellm-proxy.txt into .contract-venv/ (reused while that file is unchanged);
- ``synthesize``/``load_task``: ``main.py`` into a scratch CDKTF_OUTDIR, then the LiteLLM
  container definition and its config object out of each stack's ``cdk.tf.json``;
- ``translate``: Terraform references -> local endpoints, secret ARNs -> throwaway values;
- ``Services``: processes (Redis, TLS terminator, mock upstream, the proxy) and their cleanup.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REQUIREMENTS = REPO / "requirements" / "litellm-proxy.txt"
VENV = REPO / ".contract-venv"
CACHE = REPO / ".contract-cache"
INSTALL_TIMEOUT = 900
SYNTH_TIMEOUT = 300
STARTUP_TIMEOUT = 240
CONTAINER_NAME = "litellm"

# What a Terraform reference in the task definition stands for locally, by resource type.
# An unknown reference fails the run: the harness must be taught what it means, not guess.
LOCAL_REFERENCES = {
    "aws_elasticache_replication_group": "127.0.0.1",
    "aws_db_instance": "127.0.0.1",
    "aws_lb": "localhost",
}
REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.[^}]*\}")


# ----------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the whole process group (uvicorn workers too), SIGKILL what is left."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


@dataclass
class Services:
    workdir: Path
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: Mapping[str, str] | None = None,
              cwd: Path | None = None, preexec_fn=None) -> Process:
        log = self.workdir / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None, cwd=cwd or self.workdir,
            # Own process group: cleanup reaches every child (LiteLLM's workers).
            start_new_session=True, preexec_fn=preexec_fn,
        )
        handle.close()
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def wait_for(self, process: Process, ready, timeout: float, what: str) -> float:
        """Poll ``ready()`` until true; fail with the process's log if it dies or times out."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode} before "
                                   f"{what}:\n{process.tail()}")
            with contextlib.suppress(OSError):
                if ready():
                    return time.monotonic() - start
            time.sleep(0.25)
        raise RuntimeError(f"{process.name}: no {what} after {timeout:.0f} s:\n{process.tail()}")

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


# ----------------------------------------------------------------------------- virtualenv

def requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]


def ensure_venv() -> tuple[Path, float]:
    """The contract virtualenv for the current requirements file; (path, seconds installing)."""
    stamp = VENV / f".installed-{requirements_digest()}"
    if stamp.exists():
        return VENV, 0.0
    start = time.monotonic()
    shutil.rmtree(VENV, ignore_errors=True)
    # The base interpreter, not the app's .venv: the contract venv must not see the app's packages.
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(VENV)], check=True, timeout=120)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    # --no-deps: every package is pinned with its hashes; nothing unpinned may slip in.
    result = subprocess.run([*pip, "install", "--quiet", "--require-hashes", "--no-deps",
                             "-r", str(REQUIREMENTS)],
                            capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    if result.returncode != 0:
        # Half-installed: the next run starts over.
        shutil.rmtree(VENV, ignore_errors=True)
        raise RuntimeError(f"installing {REQUIREMENTS.name} failed:\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-5000:]}")
    stamp.touch()
    return VENV, time.monotonic() - start


# ----------------------------------------------------------------------------- synthesis

def synthesize(outdir: Path) -> Path:
    """``main.py`` into ``outdir`` (offline; the app's own venv); returns outdir/stacks."""
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir), CHECKPOINT_DISABLE="1")
    env["PATH"] = f"{REPO / 'node_modules' / '.bin'}:{REPO / '.tools' / 'bin'}:{env.get('PATH', '')}"
    result = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "main.py"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=SYNTH_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"main.py failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-3000:]}")
    return outdir / "stacks"


@dataclass(frozen=True)
class Task:
    """The LiteLLM container of one environment's task definition, plus its config object."""

    stack: str
    container: dict
    config_text: str | None

    @property
    def environment(self) -> dict[str, str]:
        return {e["name"]: e["value"] for e in self.container.get("environment", [])}

    @property
    def secrets(self) -> dict[str, str]:
        return {s["name"]: s["valueFrom"] for s in self.container.get("secrets", [])}

    @property
    def port(self) -> int:
        return int(self.container["portMappings"][0]["containerPort"])

    @property
    def region(self) -> str:
        return self.container.get("logConfiguration", {}).get("options", {}).get(
            "awslogs-region", "us-east-1")


def load_task(stacks_dir: Path, stack: str) -> Task:
    stack_dir = stacks_dir / stack
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    containers = [c for value in document.get("locals", {}).values() if isinstance(value, list)
                  for c in value if isinstance(c, dict) and c.get("name") == CONTAINER_NAME
                  and "portMappings" in c]
    if len(containers) != 1:
        raise RuntimeError(f"{stack}: expected one '{CONTAINER_NAME}' container definition in the "
                           f"locals of cdk.tf.json, found {len(containers)}")
    container = containers[0]
    env = {e["name"]: e["value"] for e in container.get("environment", [])}
    key = env.get("LITELLM_CONFIG_BUCKET_OBJECT_KEY")
    config_text = None
    if key is not None:
        objects = [o for o in document.get("resource", {}).get("aws_s3_object", {}).values()
                   if o.get("key") == key]
        if len(objects) != 1:
            raise RuntimeError(f"{stack}: no single aws_s3_object with key {key!r}")
        obj = objects[0]
        config_text = obj["content"] if "content" in obj else (stack_dir / obj["source"]).read_text()
    return Task(stack, container, config_text)


# ----------------------------------------------------------------------------- translation

def local_value(name: str, value: str, bucket: str) -> str:
    def replace(match: re.Match) -> str:
        resource_type = match.group(1)
        if resource_type == "aws_s3_bucket":
            return bucket
        if resource_type not in LOCAL_REFERENCES:
            raise RuntimeError(f"{name}: no local stand-in for the Terraform reference "
                               f"{match.group(0)}; add one to LOCAL_REFERENCES")
        return LOCAL_REFERENCES[resource_type]
    return REFERENCE.sub(replace, value)


@dataclass(frozen=True)
class Translation:
    environment: dict[str, str]
    master_key: str
    dropped: tuple[str, ...]


def translate(task: Task, *, bucket: str, redis_port: int, redis_password: str,
              database: Mapping[str, str] | None = None) -> Translation:
    """The container's environment as LiteLLM will see it locally.

    ``database`` None drops every DATABASE_* variable: with them LiteLLM runs Prisma, whose
    engines it downloads at start (impossible offline); the URL assembly is tested on its own.
    """
    env: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in task.environment.items():
        if name.startswith("DATABASE_") and database is None:
            dropped.append(name)
            continue
        env[name] = local_value(name, value, bucket)
    master_key = "sk-contract-" + os.urandom(12).hex()
    for name, value_from in task.secrets.items():
        if name.startswith("DATABASE_") and database is None:
            dropped.append(name)
            continue
        if name == "LITELLM_MASTER_KEY":
            env[name] = master_key
        elif name == "REDIS_PASSWORD":
            env[name] = redis_password
        elif database is not None and name in database:
            env[name] = database[name]
        else:
            # Any other secret (salt key, provider keys): a throwaway that looks like nothing real.
            env[name] = f"contract-fake-{name.lower()}-" + os.urandom(6).hex()
    if database is not None:
        # Only what the task definition sets: a DATABASE_PORT it lacks stays absent.
        env.update({k: v for k, v in database.items() if k in env})
    # ElastiCache listens on 6379 in AWS; locally the TLS terminator has a free port.
    env["REDIS_PORT"] = str(redis_port)
    return Translation(env, master_key, tuple(sorted(dropped)))


# ----------------------------------------------------------------------------- TLS and Redis

def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1/localhost: (cert, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contract-test redis")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "redis-tls.crt", directory / "redis-tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


class Redis:
    """A tiny RESP client over TLS (the harness's own view of what the proxy stored)."""

    def __init__(self, port: int, cafile: Path, password: str | None) -> None:
        context = ssl.create_default_context(cafile=str(cafile))
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.file = self.sock.makefile("rb")
        if password is not None:
            self.call("AUTH", password)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def call(self, *args: str):
        payload = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg.encode()
            payload += f"${len(data)}\r\n".encode() + data + b"\r\n"
        self.sock.sendall(payload)
        return self._read()

    def _read(self):
        line = self.file.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.file.read(size + 2)[:-2]
            return data.decode(errors="replace")
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RedisError(f"unexpected reply {line!r}")

    def keys(self) -> list[str]:
        return sorted(self.call("KEYS", "*"))


class RedisError(Exception):
    pass


@contextlib.contextmanager
def redis_client(port: int, cafile: Path, password: str | None) -> Iterator[Redis]:
    client = Redis(port, cafile, password)
    try:
        yield client
    finally:
        client.close()
