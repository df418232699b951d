"""scripts/db_tunnel.py (and its db-tunnel.sh wrapper) against moto's in-process EC2, RDS and
Secrets Manager, with a throw-away project from tests/config_files.py.

What these tests cannot exercise, and why:
* the session itself: ``aws ssm start-session`` and the session-manager-plugin are replaced by an
  injected ``run_session`` that records the command line, so no port is forwarded and the
  document/parameters are only checked as text;
* the SSM agent: moto does not implement ``DescribeInstanceInformation``, so the ``ssm`` client is
  a stub that plays back agent states (including a stale "Online" from before the last stop);
* Ctrl-C delivered by a terminal to the CLI's process group, and SIGTERM/SIGHUP handling:
  ``run_session`` raising KeyboardInterrupt stands in for an interrupted session;
* EC2's LaunchTime moving on every start (moto keeps the first one), IAM permissions (moto allows
  everything) and the real content of an RDS-managed secret (moto writes a fixed admin/P@55w0rd!).
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.config_files import write_project
from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("db_tunnel", ROOT / "scripts" / "db_tunnel.py")
db_tunnel = importlib.util.module_from_spec(_spec)
sys.modules["db_tunnel"] = db_tunnel
_spec.loader.exec_module(db_tunnel)

REGION = "eu-west-1"
PREFIX = "litellm-dev"
BASTION_NAME = f"{PREFIX}-bastion"
# ":" and "\" must be escaped in a pgpass file; "%" "#" "@" would break a naive URL.
BACKEND_PASSWORD = "s3cr:et\\pa%s#s@word"
MOTO_MANAGED_PASSWORD = "P@55w0rd!"  # what moto writes into every RDS-managed secret
NOW = datetime.datetime.now(datetime.timezone.utc)


class FakeSsm:
    """``describe_instance_information`` plays back ``states`` (PingStatus, or None for "not
    registered", or a (PingStatus, LastPingDateTime) pair); the last one repeats."""

    def __init__(self, *states):
        self.states = list(states) or ["Online"]
        self.calls: list[dict] = []

    def describe_instance_information(self, **kwargs):
        self.calls.append(kwargs)
        state = self.states[min(len(self.calls), len(self.states)) - 1]
        if state is None:
            return {"InstanceInformationList": []}
        status, last_ping = state if isinstance(state, tuple) else (state, datetime.datetime.now(datetime.timezone.utc))
        instance_id = kwargs["Filters"][0]["Values"][0]
        return {"InstanceInformationList": [
            {"InstanceId": instance_id, "PingStatus": status, "LastPingDateTime": last_ping}]}


class Session:
    """The injected ``run_session``: records the command and what the world looked like while
    the tunnel was open (bastion state, the pgpass files in ``pgpass_dir`` with their modes)."""

    def __init__(self, ec2, pgpass_dir: Path, result=0):
        self.ec2, self.pgpass_dir, self.result = ec2, pgpass_dir, result
        self.commands: list[list[str]] = []
        self.state_during: str | None = None
        self.pgpass_during: dict[Path, tuple[int, str]] = {}

    def __call__(self, command):
        self.commands.append(list(command))
        self.state_during = _state(self.ec2)
        self.pgpass_during = {path: (stat.S_IMODE(path.stat().st_mode), path.read_text())
                              for path in self.pgpass_dir.iterdir()}
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result

    @property
    def pgpass(self) -> tuple[Path, int, str]:
        """The one pgpass file that existed during the session: (path, mode, content)."""
        ((path, (mode, content)),) = self.pgpass_during.items()
        return path, mode, content


def _state(ec2) -> str:
    (reservation,) = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [BASTION_NAME]}])["Reservations"]
    return reservation["Instances"][0]["State"]["Name"]


@pytest.fixture
def project(tmp_path) -> Path:
    return write_project(tmp_path / "project", {
        "dev": {"backend_db_bastion_enabled": True, "backend_rds_enabled": True},
        "staging": {"vpc_cidr": "10.41.0.0/16"},  # no bastion
        "nobackend": {"vpc_cidr": "10.42.0.0/16", "backend_db_bastion_enabled": True},
    })


@pytest.fixture
def pgpass_dir(monkeypatch, tmp_path) -> Path:
    """Where the script's temporary files go (tempfile's default directory, redirected)."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def tools(monkeypatch):
    """Both CLIs "installed"; tests remove one by editing the dict."""
    installed = {"aws": "/opt/fake/bin/aws", "session-manager-plugin": "/opt/fake/bin/session-manager-plugin"}
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: installed.get(name))
    return installed


@pytest.fixture(scope="module")
def moto_clients(tmp_path_factory):
    """One moto mock and one set of clients for the module (creating boto3 clients costs ~0.2 s
    each); every test starts from empty backends (see ``aws``). Fake credentials only, and no
    AWS config or credentials file of the machine is read."""
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            patch.delenv(key)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_CONFIG_FILE", str(empty))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        # Loading moto's catalogue of ~15,000 public AMIs costs ~0.3 s per backend reset.
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with mock_aws() as mock:
            clients = {name: boto3.client(name, region_name=REGION) for name in ("ec2", "rds", "secretsmanager")}
            yield mock, clients


@pytest.fixture
def aws(moto_clients, pgpass_dir):
    mock, clients = moto_clients
    mock.reset()
    return {**clients, "pgpass_dir": pgpass_dir}


def _bastion(ec2, state="stopped") -> str:
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t4g.nano",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": BASTION_NAME}]}],
    )["Instances"][0]
    if state == "stopped":
        ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    return instance["InstanceId"]


def _backend_database(rds, secretsmanager) -> str:
    address = rds.create_db_instance(
        DBInstanceIdentifier=f"{PREFIX}-backend-postgres", DBInstanceClass="db.t4g.micro", Engine="postgres",
        MasterUsername="backend", MasterUserPassword="unused-by-the-script", DBName="backend", AllocatedStorage=20,
    )["DBInstance"]["Endpoint"]["Address"]
    secretsmanager.create_secret(Name=f"{PREFIX}/backend-rds", SecretString=json.dumps({
        "engine": "postgres", "host": address, "port": 5432, "username": "backend",
        "password": BACKEND_PASSWORD, "dbname": "backend",
    }))
    return address


def _litellm_database(rds) -> str:
    return rds.create_db_instance(
        DBInstanceIdentifier=f"{PREFIX}-postgres", DBInstanceClass="db.t4g.micro", Engine="postgres",
        MasterUsername="litellm", ManageMasterUserPassword=True, DBName="litellm", AllocatedStorage=20,
    )["DBInstance"]["Endpoint"]["Address"]


@pytest.fixture
def world(aws):
    """A deployed dev environment: stopped bastion, backend DB with its JSON secret, LiteLLM DB."""
    return {
        **aws,
        "instance_id": _bastion(aws["ec2"]),
        "backend_address": _backend_database(aws["rds"], aws["secretsmanager"]),
        "litellm_address": _litellm_database(aws["rds"]),
    }


def _run(project, world, *args, ssm=None, session=None):
    clients = db_tunnel.Clients(ec2=world["ec2"], rds=world["rds"], ssm=ssm or FakeSsm(),
                                secretsmanager=world["secretsmanager"])
    session = session or Session(world["ec2"], world["pgpass_dir"])
    code = db_tunnel.main(list(args), root=project, clients=clients, run_session=session,
                          sleep=lambda _: None, poll_interval=0)
    return code, session


def _no_secret_in(captured):
    for password in (BACKEND_PASSWORD, MOTO_MANAGED_PASSWORD):
        assert password not in captured.out and password not in captured.err


# --------------------------------------------------------------------------------------------
# The bastion's lifetime
# --------------------------------------------------------------------------------------------


def test_starts_a_stopped_bastion_and_stops_it_again(project, tools, world, capsys):
    assert _state(world["ec2"]) == "stopped"
    code, session = _run(project, world)
    assert code == 0
    assert session.state_during == "running"
    assert _state(world["ec2"]) in ("stopping", "stopped")
    err = capsys.readouterr().err
    assert f"Starting bastion {world['instance_id']}" in err and f"Stopping bastion {world['instance_id']}" in err


def test_leaves_an_already_running_bastion_running(project, tools, world, capsys):
    world["ec2"].start_instances(InstanceIds=[world["instance_id"]])
    code, session = _run(project, world)
    assert code == 0 and session.state_during == "running"
    assert _state(world["ec2"]) == "running"
    err = capsys.readouterr().err
    assert "Starting bastion" not in err and "Stopping bastion" not in err


def test_keep_running_leaves_the_started_bastion_up(project, tools, world, capsys):
    code, _ = _run(project, world, "--keep-running")
    assert code == 0
    assert _state(world["ec2"]) == "running"
    assert f"aws ec2 stop-instances --instance-ids {world['instance_id']}" in capsys.readouterr().err


def test_interrupted_session_still_stops_the_bastion_and_removes_the_password_file(project, tools, world):
    session = Session(world["ec2"], world["pgpass_dir"], result=KeyboardInterrupt())
    code, _ = _run(project, world, session=session)
    assert code == 130
    assert session.state_during == "running" and len(session.pgpass_during) == 1
    assert _state(world["ec2"]) in ("stopping", "stopped")
    assert list(world["pgpass_dir"].iterdir()) == []


# --------------------------------------------------------------------------------------------
# Waiting for the SSM agent
# --------------------------------------------------------------------------------------------


def test_waits_until_the_agent_is_online(project, tools, world, capsys):
    ssm = FakeSsm(None, "ConnectionLost", "Online")
    code, session = _run(project, world, ssm=ssm)
    assert code == 0 and len(session.commands) == 1
    assert len(ssm.calls) == 3
    assert all(c["Filters"] == [{"Key": "InstanceIds", "Values": [world["instance_id"]]}] for c in ssm.calls)
    err = capsys.readouterr().err
    assert "status: not registered yet" in err and "status: ConnectionLost" in err


def test_an_online_status_from_before_the_last_start_is_not_trusted(aws):
    instance_id = _bastion(aws["ec2"], state="running")
    launched = aws["ec2"].describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["LaunchTime"]
    stale = ("Online", launched - datetime.timedelta(minutes=5))
    ssm = FakeSsm(stale, stale, ("Online", launched + datetime.timedelta(seconds=30)))
    with db_tunnel.BastionSession(aws["ec2"], ssm, instance_id, poll_interval=0, log=lambda _: None):
        pass
    assert len(ssm.calls) == 3


def test_agent_that_never_comes_online_exits_2_and_stops_the_bastion(project, tools, world, capsys):
    session = Session(world["ec2"], world["pgpass_dir"])
    clients = db_tunnel.Clients(ec2=world["ec2"], rds=world["rds"], ssm=FakeSsm("ConnectionLost"),
                                secretsmanager=world["secretsmanager"])
    code = db_tunnel.main(["--ssm-timeout", "0.2"], root=project, clients=clients, run_session=session,
                          poll_interval=0.05)
    assert code == 2
    assert session.commands == []
    assert _state(world["ec2"]) in ("stopping", "stopped")
    captured = capsys.readouterr()
    assert "did not come online within 0.2s" in captured.err and "AmazonSSMManagedInstanceCore" in captured.err
    assert list(world["pgpass_dir"].iterdir()) == []
    _no_secret_in(captured)


# --------------------------------------------------------------------------------------------
# Credentials: a 0600 pgpass file, never the terminal
# --------------------------------------------------------------------------------------------


def test_backend_password_goes_to_a_private_pgpass_file_only(project, tools, world, capsys):
    code, session = _run(project, world, "--local-port", "6543", "--print-env")
    assert code == 0
    captured = capsys.readouterr()
    _no_secret_in(captured)
    path, mode, content = session.pgpass
    assert f"PGPASSFILE={path} " in captured.out
    assert mode == 0o600
    escaped = BACKEND_PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    assert f"127.0.0.1:6543:backend:backend:{escaped}\n" in content
    assert f"localhost:6543:backend:backend:{escaped}\n" in content
    assert f"{world['backend_address']}:6543:backend:backend:{escaped}\n" in content
    assert not path.exists(), "the pgpass file outlived the tunnel"
    assert "postgresql://backend@127.0.0.1:6543/backend?sslmode=require" in captured.out
    assert (f"export PGHOST=127.0.0.1 PGPORT=6543 PGUSER=backend PGDATABASE=backend PGSSLMODE=require "
            f"PGPASSFILE={path}") in captured.out


def test_litellm_target_reads_the_rds_managed_secret(project, tools, world, capsys):
    code, session = _run(project, world, "--target", "litellm")
    assert code == 0
    captured = capsys.readouterr()
    _no_secret_in(captured)
    _, _, content = session.pgpass
    # Username and password from the managed secret, database name from the instance.
    assert f"127.0.0.1:5433:litellm:admin:{MOTO_MANAGED_PASSWORD}\n" in content
    assert "postgresql://admin@127.0.0.1:5433/litellm?sslmode=require" in captured.out
    assert f"host={world['litellm_address']},portNumber=5432,localPortNumber=5433" in session.commands[0]


def test_pgpass_escapes_separators():
    database = db_tunnel.Database("db-1", "db.example", 5432, "a:b", "u\\v", "p:w\\x")
    path = db_tunnel.write_pgpass(database, 5433)
    try:
        assert path.read_text().splitlines()[0] == "127.0.0.1:5433:a\\:b:u\\\\v:p\\:w\\\\x"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        path.unlink()
    assert "p:w" not in repr(database)


def test_unreadable_secret_fails_before_starting_the_bastion(project, tools, world, capsys):
    world["secretsmanager"].delete_secret(SecretId=f"{PREFIX}/backend-rds", ForceDeleteWithoutRecovery=True)
    code, session = _run(project, world)
    assert code == 1 and session.commands == []
    assert _state(world["ec2"]) == "stopped"
    assert "AWS error" in capsys.readouterr().err


def test_secret_that_is_not_json_is_reported_without_its_content(project, tools, world, capsys):
    world["secretsmanager"].put_secret_value(SecretId=f"{PREFIX}/backend-rds", SecretString=BACKEND_PASSWORD)
    code, _ = _run(project, world)
    assert code == 1
    captured = capsys.readouterr()
    assert f"Secret {PREFIX}/backend-rds is not a JSON object with a password" in captured.err
    _no_secret_in(captured)


# --------------------------------------------------------------------------------------------
# The session command
# --------------------------------------------------------------------------------------------


def test_session_command_forwards_to_the_database_through_the_bastion(project, tools, world):
    code, session = _run(project, world, "--local-port", "6543")
    assert code == 0
    assert session.commands == [[
        "/opt/fake/bin/aws", "ssm", "start-session",
        "--region", REGION,
        "--target", world["instance_id"],
        "--document-name", "AWS-StartPortForwardingSessionToRemoteHost",
        "--parameters", f"host={world['backend_address']},portNumber=5432,localPortNumber=6543",
    ]]


def test_session_exit_code_is_passed_on(project, tools, world):
    code, _ = _run(project, world, session=Session(world["ec2"], world["pgpass_dir"], result=255))
    assert code == 255
    assert _state(world["ec2"]) in ("stopping", "stopped")


# --------------------------------------------------------------------------------------------
# What the user gets told
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing, hint", [
    ("aws", "Install the AWS CLI v2"),
    ("session-manager-plugin", "Install the Session Manager plugin"),
])
def test_missing_tool_prints_an_install_hint(project, tools, world, capsys, missing, hint):
    del tools[missing]
    code, session = _run(project, world)
    assert code == 1 and session.commands == []
    assert _state(world["ec2"]) == "stopped"
    err = capsys.readouterr().err
    assert f"{missing} not found on PATH" in err and hint in err


def test_missing_bastion(project, tools, aws, capsys):
    _backend_database(aws["rds"], aws["secretsmanager"])
    code, session = _run(project, aws)
    assert code == 1 and session.commands == []
    assert f"No bastion instance tagged Name={BASTION_NAME}" in capsys.readouterr().err


def test_terminated_bastion_counts_as_missing(project, tools, world, capsys):
    world["ec2"].terminate_instances(InstanceIds=[world["instance_id"]])
    code, _ = _run(project, world)
    assert code == 1
    assert "No bastion instance tagged" in capsys.readouterr().err


def test_missing_database(project, tools, aws, capsys):
    _bastion(aws["ec2"])
    code, _ = _run(project, aws, "--target", "litellm")
    assert code == 1
    assert f"RDS instance {PREFIX}-postgres not found" in capsys.readouterr().err
    assert _state(aws["ec2"]) == "stopped"


def test_bastion_disabled_in_the_configuration(project, tools, world, capsys):
    code, _ = _run(project, world, "--env", "staging")
    assert code == 1
    assert "environments/staging.toml: backend_db_bastion_enabled is false" in capsys.readouterr().err


def test_backend_target_needs_the_backend_database(project, tools, world, capsys):
    code, _ = _run(project, world, "--env", "nobackend")
    assert code == 1
    assert "backend_rds_enabled is false" in capsys.readouterr().err


def test_unknown_environment_lists_the_known_ones(project, tools, world, capsys):
    code, _ = _run(project, world, "--env", "qa")
    assert code == 1
    assert "Unknown environment 'qa'; environments/ has: dev, nobackend, staging" in capsys.readouterr().err


def test_configuration_errors_are_listed(project, tools, world, capsys):
    (project / "environments" / "dev.toml").write_text('aws_region = "eu-west-1"\nvpc_cidr = "not-a-cidr"\n')
    code, _ = _run(project, world)
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("The configuration has errors:")
    assert "environments/dev.toml: vpc_cidr" in err and "environments/dev.toml: availability_zones" in err


def test_wrapper_finds_the_repository_from_anywhere(tmp_path):
    done = subprocess.run([str(ROOT / "scripts" / "db-tunnel.sh"), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--target {backend,litellm}" in done.stdout and "--keep-running" in done.stdout


def test_run_session_returns_the_commands_exit_code():
    assert db_tunnel.run_session([sys.executable, "-c", "raise SystemExit(3)"]) == 3


def test_ctrl_c_in_this_process_waits_for_the_session_to_end_by_itself():
    """Ctrl-C goes to the whole foreground process group: the CLI closes the session, and this
    process must wait for that instead of dying first (and leaving the bastion running)."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    # The child interrupts its parent once it runs, so the signal surely lands during the wait.
    child = "import os, signal, time; os.kill(os.getppid(), signal.SIGINT); time.sleep(0.3)"
    try:
        code = db_tunnel.run_session([sys.executable, "-c", child])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C interrupted the wait for the session")
    assert code == 0
    assert signal.getsignal(signal.SIGINT) is before
