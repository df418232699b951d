#!/usr/bin/env python
"""Open a local port to an environment's PostgreSQL through its SSM-only bastion.

    scripts/db-tunnel.sh [--env dev] [--target backend|litellm] [--local-port 5433]
                         [--keep-running] [--print-env]

Reads ``environments/<env>.toml``, finds the bastion (tag ``Name=<prefix>-bastion``) and the
database (``<prefix>-backend-postgres`` or ``<prefix>-postgres``), starts the bastion if it is
stopped, waits until EC2 says running and Systems Manager says the agent is online, then runs

    aws ssm start-session --target <instance> --document-name AWS-StartPortForwardingSessionToRemoteHost
        --parameters host=<db address>,portNumber=<db port>,localPortNumber=<local port>

in the foreground until Ctrl-C. Needs the AWS CLI v2 and the Session Manager plugin on PATH and
credentials for ec2:Describe/Start/StopInstances, rds:DescribeDBInstances,
ssm:DescribeInstanceInformation, ssm:StartSession and secretsmanager:GetSecretValue.

The password is never printed: it goes to a temporary PGPASSFILE (mode 0600) whose path is
shown and which is deleted when the tunnel closes, so it stays out of the terminal, its
scrollback and the shell history. The URL carries ``sslmode=require`` because both databases
force TLS while their certificate names the RDS host, not 127.0.0.1; for full verification use
``host=<rds address> hostaddr=127.0.0.1 sslmode=verify-full`` (the pgpass file covers that host
name too).

On exit (session end, Ctrl-C, SIGTERM, SIGHUP) the bastion is stopped again if this run started
it, unless ``--keep-running``. A bastion that was already running is left alone. Known limit:
someone else's tunnel through a bastion *you* started ends when you exit; use --keep-running
when sharing it.

Exit codes: 0 session ended normally, 1 configuration, tooling or AWS problem, 2 the agent did not
come online in time; otherwise the session command's own exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.config import ConfigError, EnvironmentConfig, load_project  # noqa: E402

PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
TARGETS = ("backend", "litellm")
LIVE_STATES = ("pending", "running", "stopping", "stopped")
INSTALL_HINTS = {
    "aws": "Install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
    "session-manager-plugin": (
        "Install the Session Manager plugin: "
        "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html"
    ),
}


class TunnelError(Exception):
    """A problem the user can act on; ``exit_code`` is what the script returns."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Clients:
    ec2: Any
    rds: Any
    ssm: Any
    secretsmanager: Any

    @classmethod
    def for_region(cls, region: str) -> Clients:
        import boto3

        session = boto3.session.Session(region_name=region)
        return cls(*(session.client(name) for name in ("ec2", "rds", "ssm", "secretsmanager")))


@dataclass(frozen=True)
class Database:
    identifier: str
    host: str
    port: int
    database: str
    username: str
    password: str

    def __repr__(self) -> str:  # keeps the password out of tracebacks and debug prints
        return f"Database({self.identifier!r}, {self.host!r}, {self.port}, {self.database!r}, {self.username!r})"


# --------------------------------------------------------------------------------------------
# Configuration and lookups
# --------------------------------------------------------------------------------------------


def check_tools() -> str:
    """Path of the aws CLI; both it and the Session Manager plugin must be on PATH."""
    missing = [tool for tool in INSTALL_HINTS if not shutil.which(tool)]
    if missing:
        raise TunnelError("\n".join(f"{tool} not found on PATH. {INSTALL_HINTS[tool]}" for tool in missing))
    return shutil.which("aws")


def load_environment(root: Path, name: str, target: str) -> EnvironmentConfig:
    try:
        project = load_project(root)
    except ConfigError as error:
        raise TunnelError("The configuration has errors:\n" + "\n".join(f"  {p}" for p in error.problems)) from None
    try:
        env = project.environment(name)
    except KeyError:
        known = ", ".join(sorted(e.stack_name for e in project.environments)) or "(none)"
        raise TunnelError(f"Unknown environment {name!r}; environments/ has: {known}") from None
    if not env.backend_db_bastion_enabled:
        raise TunnelError(
            f"{env.source}: backend_db_bastion_enabled is false, so {env.resource_prefix} has no bastion. "
            "Set it to true and deploy the environment first.")
    if target == "backend" and not env.backend_rds_enabled:
        raise TunnelError(
            f"{env.source}: backend_rds_enabled is false, so there is no backend database; "
            "use --target litellm for LiteLLM's database.")
    return env


def find_bastion(ec2, name: str) -> dict:
    reservations = ec2.describe_instances(Filters=[
        {"Name": "tag:Name", "Values": [name]},
        {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
    ])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    if not instances:
        raise TunnelError(f"No bastion instance tagged Name={name} (is the environment deployed?)")
    if len(instances) > 1:
        ids = ", ".join(i["InstanceId"] for i in instances)
        raise TunnelError(f"More than one instance is tagged Name={name} ({ids}); stop or tag the stray one")
    return instances[0]


def _secret_json(secretsmanager, secret_id: str) -> dict:
    value = secretsmanager.get_secret_value(SecretId=secret_id)
    try:
        data = json.loads(value["SecretString"])
    except (KeyError, ValueError):
        data = None  # the content is never echoed: it may be the password itself
    if not isinstance(data, dict) or not data.get("password"):
        raise TunnelError(f"Secret {secret_id} is not a JSON object with a password")
    return data


def find_database(clients: Clients, env: EnvironmentConfig, target: str) -> Database:
    prefix = env.resource_prefix
    identifier = f"{prefix}-backend-postgres" if target == "backend" else f"{prefix}-postgres"
    try:
        (instance,) = clients.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except clients.rds.exceptions.DBInstanceNotFoundFault:
        raise TunnelError(f"RDS instance {identifier} not found (is the environment deployed?)") from None
    status = instance.get("DBInstanceStatus", "")
    endpoint = instance.get("Endpoint") or {}
    if status in ("stopped", "stopping"):
        raise TunnelError(f"RDS instance {identifier} is {status}; start it first "
                          f"(aws rds start-db-instance --db-instance-identifier {identifier})")
    if not endpoint.get("Address"):
        raise TunnelError(f"RDS instance {identifier} has no endpoint yet (status {status or 'unknown'})")
    if target == "backend":
        secret_id = env.backend_rds_secret_name
        default_database = env.backend_rds_database_name
    else:
        # RDS-managed password (the default) or the module's own secret when it is supplied.
        secret_id = (instance.get("MasterUserSecret") or {}).get("SecretArn") or f"{prefix}/postgres-master"
        default_database = instance.get("DBName") or env.rds_database_name
    secret = _secret_json(clients.secretsmanager, secret_id)
    return Database(
        identifier=identifier,
        host=endpoint["Address"],
        port=int(endpoint.get("Port") or secret.get("port") or 5432),
        database=secret.get("dbname") or default_database,
        username=secret.get("username") or instance["MasterUsername"],
        password=secret["password"],
    )


# --------------------------------------------------------------------------------------------
# Password file
# --------------------------------------------------------------------------------------------


def _pgpass_field(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def write_pgpass(database: Database, local_port: int, directory: str | None = None) -> Path:
    """A 0600 pgpass file for the tunnel's end (and the RDS name, for ``hostaddr`` connections)."""
    fd, name = tempfile.mkstemp(prefix="db-tunnel-", suffix=".pgpass", dir=directory)
    try:
        os.fchmod(fd, 0o600)  # libpq ignores a pgpass file that others can read
        tail = ":".join(_pgpass_field(v) for v in (local_port, database.database, database.username, database.password))
        lines = [f"{_pgpass_field(host)}:{tail}\n" for host in ("127.0.0.1", "localhost", database.host)]
        os.write(fd, "".join(lines).encode())
    finally:
        os.close(fd)
    return Path(name)


# --------------------------------------------------------------------------------------------
# The bastion's lifetime
# --------------------------------------------------------------------------------------------


class BastionSession:
    """``with BastionSession(...)``: the bastion is running and its agent online inside; on the
    way out it is stopped again if this session started it (and ``keep_running`` is false),
    also when getting it ready failed half-way."""

    def __init__(self, ec2, ssm, instance_id: str, *, keep_running: bool = False,
                 ssm_timeout: float = 300, poll_interval: float = 5,
                 log: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.ec2, self.ssm, self.instance_id = ec2, ssm, instance_id
        self.keep_running = keep_running
        self.ssm_timeout, self.poll_interval = ssm_timeout, poll_interval
        self.log, self.sleep, self.clock = log, sleep, clock
        self.started_by_us = False

    def __enter__(self) -> BastionSession:
        try:
            self._start()
            self._wait_until_online()
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(self, *exc_info) -> bool:
        self._cleanup()
        return False

    def _describe(self) -> dict:
        (reservation,) = self.ec2.describe_instances(InstanceIds=[self.instance_id])["Reservations"]
        return reservation["Instances"][0]

    def _waiter_config(self) -> dict:
        return {"Delay": self.poll_interval, "MaxAttempts": max(1, int(self.ssm_timeout // max(self.poll_interval, 1)))}

    def _start(self) -> None:
        state = self._describe()["State"]["Name"]
        if state == "stopping":
            self.log(f"Bastion {self.instance_id} is stopping; waiting for it to stop before starting it again")
            self.ec2.get_waiter("instance_stopped").wait(InstanceIds=[self.instance_id], WaiterConfig=self._waiter_config())
            state = "stopped"
        if state == "stopped":
            self.log(f"Starting bastion {self.instance_id}")
            self.ec2.start_instances(InstanceIds=[self.instance_id])
            self.started_by_us = True
        elif state not in ("pending", "running"):
            raise TunnelError(f"Bastion {self.instance_id} is {state}")
        self.ec2.get_waiter("instance_running").wait(InstanceIds=[self.instance_id], WaiterConfig=self._waiter_config())
        self.log(f"Bastion {self.instance_id} is running")

    def _wait_until_online(self) -> None:
        # LaunchTime moves on every start, on AWS's clock: an "Online" older than that is the
        # status from before the last stop, not an agent that is reachable now.
        launched = self._describe().get("LaunchTime")
        started = self.clock()
        deadline = started + self.ssm_timeout
        while True:
            found = self.ssm.describe_instance_information(
                Filters=[{"Key": "InstanceIds", "Values": [self.instance_id]}])["InstanceInformationList"]
            info = found[0] if found else {}
            last_ping = info.get("LastPingDateTime")
            if info.get("PingStatus") == "Online" and (launched is None or last_ping is None or last_ping >= launched):
                self.log(f"SSM agent online on {self.instance_id}")
                return
            now = self.clock()
            if now >= deadline:
                raise TunnelError(
                    f"The SSM agent on {self.instance_id} did not come online within {self.ssm_timeout:g}s "
                    f"(status: {info.get('PingStatus', 'not registered')}). Check that the private subnet "
                    "reaches Systems Manager (NAT, or the bastion's SSM endpoints when nat_gateway_mode is "
                    "\"none\") and that the instance role has AmazonSSMManagedInstanceCore.", exit_code=2)
            self.log(f"  waiting for the SSM agent ({now - started:.0f}s, "
                     f"status: {info.get('PingStatus', 'not registered yet')})")
            self.sleep(min(self.poll_interval, deadline - now))

    def _cleanup(self) -> None:
        if not self.started_by_us:
            return
        if self.keep_running:
            self.log(f"Leaving bastion {self.instance_id} running (--keep-running); "
                     f"stop it with: aws ec2 stop-instances --instance-ids {self.instance_id}")
            return
        self.log(f"Stopping bastion {self.instance_id}")
        self.ec2.stop_instances(InstanceIds=[self.instance_id])
        self.started_by_us = False


# --------------------------------------------------------------------------------------------
# The session
# --------------------------------------------------------------------------------------------


def session_command(aws: str, region: str, instance_id: str, database: Database, local_port: int) -> list[str]:
    return [
        aws, "ssm", "start-session",
        "--region", region,
        "--target", instance_id,
        "--document-name", PORT_FORWARD_DOCUMENT,
        "--parameters", f"host={database.host},portNumber={database.port},localPortNumber={local_port}",
    ]


def run_session(command: Sequence[str]) -> int:
    """Run the session in the foreground. Ctrl-C reaches the CLI from the terminal and ends the
    session cleanly; this process only waits for it (a Python handler, unlike SIG_IGN, is not
    inherited by the child)."""
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    process = subprocess.Popen(list(command))
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if process.poll() is None:  # we are leaving for another reason (SIGTERM, SIGHUP)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _exit_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="db-tunnel.sh",
        description="Forward a local port to an environment's PostgreSQL through its SSM bastion.")
    parser.add_argument("--env", default="dev", help="environment (file name in environments/, default dev)")
    parser.add_argument("--target", choices=TARGETS, default="backend",
                        help="backend: <prefix>-backend-postgres; litellm: <prefix>-postgres (default backend)")
    parser.add_argument("--local-port", type=int, default=5433, help="local port to listen on (default 5433)")
    parser.add_argument("--keep-running", action="store_true",
                        help="don't stop the bastion on exit even if this run started it")
    parser.add_argument("--print-env", action="store_true",
                        help="also print export lines (PGHOST, PGPORT, ..., PGPASSFILE) to paste into another shell")
    parser.add_argument("--ssm-timeout", type=float, default=300,
                        help="seconds to wait for the SSM agent to come online (default 300)")
    args = parser.parse_args(argv)
    if not 1 <= args.local_port <= 65535:
        parser.error("--local-port must be 1-65535")
    return args


def main(argv: Sequence[str] | None = None, *, root: Path = ROOT,
         clients: Clients | None = None,
         run_session: Callable[[Sequence[str]], int] = run_session,
         out: TextIO | None = None, err: TextIO | None = None,
         sleep: Callable[[float], None] = time.sleep, poll_interval: float = 5) -> int:
    args = parse_args(argv)
    out = out or sys.stdout
    err = err or sys.stderr

    def log(message: str) -> None:
        print(message, file=err, flush=True)

    pgpass: Path | None = None
    try:
        aws = check_tools()
        env = load_environment(Path(root), args.env, args.target)
        clients = clients or Clients.for_region(env.aws_region)
        bastion_name = f"{env.resource_prefix}-bastion"
        bastion = find_bastion(clients.ec2, bastion_name)
        database = find_database(clients, env, args.target)
        pgpass = write_pgpass(database, args.local_port)
        command = session_command(aws, env.aws_region, bastion["InstanceId"], database, args.local_port)
        with BastionSession(clients.ec2, clients.ssm, bastion["InstanceId"], keep_running=args.keep_running,
                            ssm_timeout=args.ssm_timeout, poll_interval=poll_interval, log=log, sleep=sleep):
            url = f"postgresql://{database.username}@127.0.0.1:{args.local_port}/{database.database}?sslmode=require"
            print(f"Tunnel: 127.0.0.1:{args.local_port} -> {database.identifier} ({database.host}:{database.port}) "
                  f"via {bastion_name} ({bastion['InstanceId']})", file=out)
            print(f"  {url}", file=out)
            print(f"  password: in PGPASSFILE={pgpass} (mode 0600, deleted when the tunnel closes), e.g.", file=out)
            print(f"  PGPASSFILE={pgpass} psql '{url}'", file=out)
            if args.print_env:
                print(f"export PGHOST=127.0.0.1 PGPORT={args.local_port} PGUSER={database.username} "
                      f"PGDATABASE={database.database} PGSSLMODE=require PGPASSFILE={pgpass}", file=out)
            print("Press Ctrl-C to close the tunnel.", file=out, flush=True)
            code = run_session(command)
        return code
    except TunnelError as error:
        log(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # botocore's NoCredentialsError, ClientError (AccessDenied...)
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, (BotoCoreError, ClientError)):
            log(f"AWS error: {error}")
            return 1
        raise
    finally:
        if pgpass is not None:
            pgpass.unlink(missing_ok=True)


if __name__ == "__main__":
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _exit_on_signal)
    sys.exit(main())
