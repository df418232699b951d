"""`make deploy-local`: apply the stacks with the real Terraform and AWS provider to a patched moto
server on 127.0.0.1, re-plan (must be empty), run the operations path, destroy, redeploy, destroy.

    python -m tools.deploy_local.driver [--env dev] [--keep] [--workdir DIR]

Nothing leaves 127.0.0.1: every AWS_* and TF_* variable of the caller is dropped, credentials are
mock values, every provider and backend endpoint is the emulator, providers come from the local
filesystem mirror only (the offline harness's CLI config), and the random provider (not mirrored)
is replaced by variables the way tests/terraform_harness.py does it.

Dev-like environments: bootstrap -> init (S3 backend on the emulated bucket, with its lock) ->
apply -> plan -detailed-exitcode (must be 0) -> outputs -> operations path (litellm-boost.sh
through a local stand-in of the manual-control API that runs the real Lambda handler) -> destroy
-> apply -> destroy. Production-like environments: apply -> empty re-plan -> destroy must be
REFUSED (prevent_destroy, deletion protection); the emulator is then dropped.
"""

from __future__ import annotations

import argparse
import http.server
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.terraform_harness import (  # noqa: E402  (reused, not copied: one definition of each)
    STACK_FILE,
    Toolchain,
    TerraformRun,
    provider_requirements,
    random_references,
    swap_random_resources,
)

OVERRIDE_FILE = "zz_deploy_local_override.tf.json"
MOCK_ACCESS_KEY = "mock-access-key"
MOCK_SECRET_KEY = "mock-secret-key"
# A gap in the emulator should fail in seconds, not after the provider's default 25 retries.
MAX_RETRIES = 2
# Provider endpoint keys (hashicorp/aws 5.100.0's `endpoints` block) of every service the stacks
# use, plus STS for the account lookup. AWS_ENDPOINT_URL catches any service missing here.
ENDPOINT_SERVICES = (
    "acm", "apigatewayv2", "appautoscaling", "cloudwatch", "dynamodb", "ec2", "ecr", "ecs",
    "elasticache", "elbv2", "events", "iam", "kms", "lambda", "logs", "rds",
    "resourcegroupstaggingapi", "s3", "scheduler", "secretsmanager", "sns", "ssm", "sts", "wafv2",
)
# Leaving them in makes moto refuse every object request: it ignores the Bool condition of the
# aws:SecureTransport deny. Only the local run drops it; the real bootstrap keeps it.
LOCAL_ONLY_DROPPED = {"bootstrap": ("aws_s3_bucket_policy",)}
# For the same reason, an environment's bucket policy that holds nothing but the TLS-only denies
# (core/private_bucket.py; the LiteLLM config bucket) is left out locally: with it, reading back
# the config object fails with 403 on the second plan.
TLS_CONDITION_KEYS = frozenset({"aws:SecureTransport", "s3:TlsVersion"})
_APPLY_SUMMARY = re.compile(r"Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed")
_DESTROY_SUMMARY = re.compile(r"Destroy complete! Resources: (\d+) destroyed")


class DeployLocalError(Exception):
    """A step failed; the message says which and shows terraform's words."""


# --------------------------------------------------------------------------------------------
# Pure logic (unit-tested in tests/test_deploy_local.py)
# --------------------------------------------------------------------------------------------


def clean_environment(environ: Mapping[str, str], endpoint: str, scratch: Path) -> dict[str, str]:
    """The caller's environment without any AWS_* or TF_* variable, plus mock credentials and the
    emulator as the endpoint of every AWS SDK client (boto3 and the provider alike)."""
    empty = scratch / "aws-empty"
    kept = {k: v for k, v in environ.items() if not k.startswith(("AWS_", "TF_"))}
    return {
        **kept,
        "AWS_ACCESS_KEY_ID": MOCK_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": MOCK_SECRET_KEY,
        **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {}),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_MAX_ATTEMPTS": str(MAX_RETRIES + 1),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }


def provider_override(config: Mapping[str, Any], endpoint: str) -> list[dict]:
    """One override block per aws provider alias: mock keys, every endpoint at the emulator.
    The account id is looked up (on the emulated STS): skipping it makes the provider write
    security-group references as ``account/sg-...``, a diff on every plan."""
    blocks = config.get("provider", {}).get("aws", [])
    if isinstance(blocks, Mapping):
        blocks = [blocks]
    aliases = [block.get("alias") for block in blocks] or [None]
    settings = {
        "access_key": MOCK_ACCESS_KEY,
        "secret_key": MOCK_SECRET_KEY,
        "skip_credentials_validation": False,
        "skip_requesting_account_id": False,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "s3_use_path_style": True,
        "max_retries": MAX_RETRIES,
        "endpoints": [{service: endpoint for service in ENDPOINT_SERVICES}],
    }
    return [{**({"alias": alias} if alias else {}), **settings} for alias in aliases]


def backend_override(config: Mapping[str, Any], endpoint: str, local_state: Path) -> dict:
    """The stack's backend pointed at the emulator. An override's backend block replaces the whole
    original, so an S3 backend is restated in full; a local one (bootstrap) moves into scratch so
    the real bootstrap/terraform.tfstate is never touched."""
    backend = config.get("terraform", {}).get("backend", {})
    if "s3" not in backend:
        return {"local": {"path": str(local_state)}}
    s3 = dict(backend["s3"])
    s3.update({
        "access_key": MOCK_ACCESS_KEY,
        "secret_key": MOCK_SECRET_KEY,
        "endpoints": {"s3": endpoint, "dynamodb": endpoint, "sts": endpoint, "iam": endpoint},
        "use_path_style": True,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "max_retries": MAX_RETRIES,
    })
    return {"s3": s3}


def local_only_config(name: str, config: dict) -> tuple[dict, list[str]]:
    """Drop what only the local run must leave out (see LOCAL_ONLY_DROPPED); say what went."""
    config = json.loads(json.dumps(config))
    dropped: list[str] = []
    resources = config.get("resource", {})
    for tf_type in LOCAL_ONLY_DROPPED.get(name, ()):
        dropped += [f"{tf_type}.{n}" for n in resources.pop(tf_type, {}) if n != "//"]
    documents = config.get("data", {}).get("aws_iam_policy_document", {})
    policies = resources.get("aws_s3_bucket_policy", {})
    for policy_name in [n for n, policy in policies.items() if n != "//"
                        and _tls_only(documents, policy.get("policy", ""))]:
        del policies[policy_name]
        address = f"aws_s3_bucket_policy.{policy_name}"
        if address in json.dumps(config):
            raise DeployLocalError(f"{name}: {address} holds only TLS denies but something refers to it")
        dropped.append(address)
    if not policies:
        resources.pop("aws_s3_bucket_policy", None)
    return config, dropped


def _tls_only(documents: dict, policy: str) -> bool:
    """Whether ``policy`` (a policy document's ``${data...json}``) holds only TLS-only denies."""
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}", policy)
    statements = documents.get(match.group(1), {}).get("statement", []) if match else []
    return bool(statements) and all(
        statement.get("effect") == "Deny"
        and any(c.get("variable") in TLS_CONDITION_KEYS for c in statement.get("condition", []))
        for statement in statements)


def ephemeral_random_as_resources(config: dict) -> dict:
    """``ephemeral "random_password"`` blocks (for write-only arguments such as ``password_wo``)
    need the random provider too. Turned into resources first, the harness's swap makes them
    variables like any other random value; a write-only argument accepts a variable."""
    ephemeral = config.get("ephemeral", {})
    types = [t for t in ephemeral if t.startswith("random_")]
    if not types:
        return config
    text = json.dumps(config)
    for tf_type in types:
        text = text.replace(f"ephemeral.{tf_type}.", f"{tf_type}.")
    config = json.loads(text)
    for tf_type in types:
        config.setdefault("resource", {}).setdefault(tf_type, {}).update(config["ephemeral"].pop(tf_type))
    if not config["ephemeral"]:
        del config["ephemeral"]
    return config


def prepare_config(name: str, config: dict, endpoint: str, local_state: Path) -> tuple[dict, dict, list[str]]:
    """(stack config, override file, notes) for one stack's scratch directory."""
    config, dropped = local_only_config(name, config)
    swap = swap_random_resources(ephemeral_random_as_resources(config))
    left = random_references(swap.config)
    if left:
        raise DeployLocalError(f"{name}: random_* references the swap could not rewrite: {sorted(set(left))}")
    notes = [f"left out locally (moto ignores the aws:SecureTransport condition): {d}" for d in dropped]
    notes += [f"random provider not mirrored: {r} is a fixed variable" for r in swap.swapped]
    override = {"terraform": {"backend": backend_override(swap.config, endpoint, local_state)},
                "provider": {"aws": provider_override(swap.config, endpoint)}}
    return swap.config, override, notes


def apply_counts(stdout: str) -> tuple[int, int, int] | None:
    match = _APPLY_SUMMARY.search(stdout)
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


def destroyed_count(stdout: str) -> int | None:
    match = _DESTROY_SUMMARY.search(stdout)
    return int(match.group(1)) if match else None


def destroy_was_refused(run: TerraformRun) -> bool:
    """A refused destroy fails at plan time, before anything is deleted, naming prevent_destroy."""
    text = run.stdout + run.stderr
    return not run.ok and "prevent_destroy" in text and destroyed_count(run.stdout) is None


def plan_changes(stdout: str) -> list[str]:
    """The resource lines of a human-readable plan (``  # aws_x.y will be updated in-place``)."""
    return [line.strip() for line in stdout.splitlines()
            if line.strip().startswith("# ") and (" will be " in line or " must be " in line)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api_event(method: str, path: str, body: bytes | None) -> dict:
    """The API Gateway HTTP API (payload 2.0) event the Lambda integration would deliver."""
    return {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
            "requestContext": {"http": {"method": method, "path": path}},
            "body": body.decode() if body else None, "isBase64Encoded": False}


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    seconds: float
    detail: str = ""


@dataclass
class Run:
    env_name: str
    production_like: bool
    scratch: Path
    keep: bool
    steps: list[Step] = field(default_factory=list)
    moto: subprocess.Popen | None = None
    endpoint: str = ""
    toolchain: Toolchain | None = None
    env: dict[str, str] = field(default_factory=dict)
    region: str = ""
    resource_prefix: str = ""

    def step(self, name: str, action: Callable[[], str]) -> str:
        print(f"==> {name}", flush=True)
        started = time.monotonic()
        detail = action() or ""
        seconds = time.monotonic() - started
        self.steps.append(Step(name, seconds, detail))
        print(f"    {seconds:6.1f}s  {detail}", flush=True)
        return detail


def _terraform(run: Run, args: list[str], cwd: Path, timeout: float = 1500) -> TerraformRun:
    result = run.toolchain.run(args, cwd, timeout=timeout)
    (cwd / "logs").mkdir(exist_ok=True)
    log = cwd / "logs" / f"{len(list((cwd / 'logs').iterdir())):02d}-{args[0]}.log"
    log.write_text(f"$ terraform {' '.join(args)}\nexit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result


def _must(result: TerraformRun, what: str) -> TerraformRun:
    if not result.ok:
        raise DeployLocalError(f"{what} failed:\n{result.report(60)}")
    return result


def synthesize(run: Run) -> str:
    outdir = run.scratch / "synth"
    shutil.rmtree(outdir, ignore_errors=True)
    env = {**run.env, "CDKTF_OUTDIR": str(outdir)}
    done = subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise DeployLocalError(f"synth failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return f"stacks: {', '.join(sorted(p.name for p in (outdir / 'stacks').iterdir()))}"


def start_moto(run: Run) -> str:
    port = free_port()
    run.endpoint = f"http://127.0.0.1:{port}"
    log = open(run.scratch / "moto.log", "w")
    run.moto = subprocess.Popen([sys.executable, "-m", "tools.deploy_local.moto_server", "--port", str(port)],
                                cwd=ROOT, env=run.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if run.moto.poll() is not None:
            raise DeployLocalError(f"moto exited at start-up; see {run.scratch / 'moto.log'}")
        try:
            urllib.request.urlopen(f"{run.endpoint}/moto-api/", timeout=2).read()
            patches = sum(1 for line in (run.scratch / "moto.log").read_text().splitlines()
                          if line.startswith("moto patch:"))
            return f"moto (pid {run.moto.pid}) on {run.endpoint}, {patches} patches"
        except OSError:
            time.sleep(0.5)
    raise DeployLocalError("moto did not answer within 60 s")


def stop_moto(run: Run) -> None:
    if run.moto and run.moto.poll() is None:
        os.killpg(run.moto.pid, signal.SIGTERM)
        try:
            run.moto.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(run.moto.pid, signal.SIGKILL)


def prepare_stack(run: Run, name: str) -> tuple[Path, list[str]]:
    source = run.scratch / "synth" / "stacks" / name
    workdir = run.scratch / "stacks" / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config, override, notes = prepare_config(
        name, json.loads((source / STACK_FILE).read_text()), run.endpoint, run.scratch / "bootstrap.tfstate")
    (workdir / STACK_FILE).write_text(json.dumps(config, indent=2))
    (workdir / OVERRIDE_FILE).write_text(json.dumps(override, indent=2))
    if (source / "assets").is_dir():
        shutil.copytree(source / "assets", workdir / "assets")
    return workdir, notes


def _toolchain(run: Run) -> None:
    requirements = set()
    for stack in (run.scratch / "synth" / "stacks").glob(f"*/{STACK_FILE}"):
        swapped = swap_random_resources(json.loads(stack.read_text())).config
        requirements.update(provider_requirements(swapped))
    run.toolchain = Toolchain.discover(requirements, run.scratch / "toolchain", run.env)
    # Toolchain's own environment is the offline harness's; the emulator's endpoint goes on top.
    run.toolchain.env.update({k: v for k, v in run.env.items() if k.startswith("AWS_")})
    run.toolchain.env.update({k: run.env[k] for k in ("TF_IN_AUTOMATION", "TF_INPUT")})


def apply(run: Run, workdir: Path, label: str) -> str:
    result = _must(_terraform(run, ["apply", "-auto-approve", "-input=false", "-no-color"], workdir), label)
    counts = apply_counts(result.stdout)
    state = _terraform(run, ["state", "list"], workdir)
    total = len(state.stdout.split()) if state.ok else "?"
    return f"{counts[0] if counts else '?'} added; {total} in state (data sources included)"


def replan(run: Run, workdir: Path) -> str:
    result = _terraform(run, ["plan", "-detailed-exitcode", "-input=false", "-no-color"], workdir)
    if result.returncode == 2:
        changes = "\n  ".join(plan_changes(result.stdout)) or "(see the log)"
        raise DeployLocalError(f"the second plan is not empty (perpetual diff):\n  {changes}\n"
                               f"full plan: {workdir / 'logs'}")
    _must(result, "re-plan")
    return "no changes"


def destroy(run: Run, workdir: Path, label: str) -> str:
    result = _must(_terraform(run, ["destroy", "-auto-approve", "-input=false", "-no-color"], workdir), label)
    return f"{destroyed_count(result.stdout)} destroyed"


def refused_destroy(run: Run, workdir: Path) -> str:
    result = _terraform(run, ["destroy", "-auto-approve", "-input=false", "-no-color"], workdir)
    if not destroy_was_refused(result):
        raise DeployLocalError("a production-like environment's destroy was NOT refused:\n" + result.report(40))
    return "refused (prevent_destroy), nothing deleted"


def outputs(run: Run, workdir: Path) -> dict[str, Any]:
    result = _must(_terraform(run, ["output", "-json", "-no-color"], workdir), "terraform output")
    values = {name: body.get("value") for name, body in json.loads(result.stdout).items()}
    for name, value in sorted(values.items()):
        shown = "(sensitive)" if json.loads(result.stdout)[name].get("sensitive") else json.dumps(value)
        print(f"    {name} = {shown[:160]}")
    return values


def lock_check(run: Run, backend: Mapping[str, Any]) -> str:
    """The S3 backend used the emulated bucket and (dynamodb mode) the lock table's digest item."""
    import boto3

    session = boto3.session.Session(region_name=backend["region"])
    s3 = session.client("s3", endpoint_url=run.endpoint)
    s3.head_object(Bucket=backend["bucket"], Key=backend["key"])
    if backend.get("dynamodb_table"):
        items = session.client("dynamodb", endpoint_url=run.endpoint).scan(
            TableName=backend["dynamodb_table"])["Items"]
        if not any(item.get("LockID", {}).get("S", "").endswith("-md5") for item in items):
            raise DeployLocalError(f"no state digest in lock table {backend['dynamodb_table']}: locking not used")
        return f"state s3://{backend['bucket']}/{backend['key']}; lock table {backend['dynamodb_table']} in use"
    return f"state s3://{backend['bucket']}/{backend['key']}; S3 lock file"


class _StandInApi(http.server.ThreadingHTTPServer):
    """127.0.0.1 stand-in for the manual-control HTTP API (moto does not run API Gateway
    integrations): each request becomes the integration's event for the REAL handler, run here
    with the function's environment as deployed."""

    def __init__(self, handler: Callable, function_arn: str):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                context = type("Context", (), {"invoked_function_arn": function_arn})()
                answer = handler(api_event(self.command, self.path, body), context)
                outer.calls.append(f"{self.command} {self.path} -> {answer['statusCode']}")
                self.send_response(answer["statusCode"])
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer["body"].encode())

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.calls: list[str] = []


def operations(run: Run, values: Mapping[str, Any]) -> str:
    import boto3

    region = run.region
    session = boto3.session.Session(region_name=region)
    lam = session.client("lambda", endpoint_url=run.endpoint)
    name = f"{run.resource_prefix}-manual-control"
    function = lam.get_function_configuration(FunctionName=name)
    function_env = function.get("Environment", {}).get("Variables", {})
    spec = importlib.util.spec_from_file_location("manual_control_handler",
                                                  ROOT / "modules" / "manual_control_lambda" / "handler.py")
    module = importlib.util.module_from_spec(spec)
    saved = dict(os.environ)
    os.environ.update({**function_env, "AWS_REGION": region, "AWS_DEFAULT_REGION": region})
    try:
        spec.loader.exec_module(module)
        api = _StandInApi(module.handler, function["FunctionArn"])
        threading.Thread(target=api.serve_forever, daemon=True).start()
        script_env = {**run.env, "LITELLM_MANUAL_CONTROL_URL": f"http://127.0.0.1:{api.server_address[1]}"}
        ecs = session.client("ecs", endpoint_url=run.endpoint)

        def desired() -> int:
            return ecs.describe_services(cluster=values["litellm_cluster_name"],
                                         services=[values["litellm_service_name"]])["services"][0]["desiredCount"]

        seen = []
        for args, expected in ((["--hours", "1", "--no-wait"], None), (["--status"], None), (["--off", "--no-wait"], 0)):
            done = subprocess.run([str(ROOT / "scripts" / "litellm-boost.sh"), "--env", run.env_name, *args],
                                  cwd=ROOT, env=script_env, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise DeployLocalError(f"litellm-boost.sh {' '.join(args)} exited {done.returncode}:\n"
                                       f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            count = desired()
            if args[0] == "--hours" and count < 1:
                raise DeployLocalError(f"after a boost the service wants {count} tasks")
            if expected is not None and count != expected:
                raise DeployLocalError(f"after litellm-boost.sh {' '.join(args)} the service wants {count} tasks, not {expected}")
            seen.append(f"{args[0]}: desired {count}")
        # The scheduled paths, as Scheduler/EventBridge would invoke them.
        context = type("Context", (), {"invoked_function_arn": function["FunctionArn"]})()
        for action in ("idle-check", "expire"):
            answer = module.handler({"action": action}, context)
            seen.append(f"{action}: {answer.get('outcome') or answer.get('status') or 'ok'}")
        api.shutdown()
        return "; ".join(seen + api.calls)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def summary(run: Run) -> None:
    print(f"\ndeploy-local {run.env_name}: step timings")
    for step in run.steps:
        print(f"  {step.seconds:7.1f}s  {step.name:32s} {step.detail}")
    print(f"  {sum(s.seconds for s in run.steps):7.1f}s  total")


def execute(run: Run) -> None:
    run.step("synthesize", lambda: synthesize(run))
    run.step("start patched moto", lambda: start_moto(run))
    _toolchain(run)
    run.env = {**run.env, "AWS_ENDPOINT_URL": run.endpoint}
    run.toolchain.env["AWS_ENDPOINT_URL"] = run.endpoint
    os.environ.clear()
    os.environ.update(run.env)

    boot, notes = prepare_stack(run, "bootstrap")
    for note in notes:
        print(f"    note: {note}")
    run.step("bootstrap: init", lambda: (_must(_terraform(run, ["init", "-input=false", "-no-color"], boot),
                                               "bootstrap init"), "")[1])
    run.step("bootstrap: apply", lambda: apply(run, boot, "bootstrap apply"))

    stack, notes = prepare_stack(run, run.env_name)
    for note in notes:
        print(f"    note: {note}")
    backend = json.loads((stack / OVERRIDE_FILE).read_text())["terraform"]["backend"]["s3"]
    run.step(f"{run.env_name}: init (S3 backend)", lambda: (_must(_terraform(
        run, ["init", "-input=false", "-no-color"], stack), "init"), "")[1])
    run.step(f"{run.env_name}: apply", lambda: apply(run, stack, "apply"))
    run.step(f"{run.env_name}: backend and lock", lambda: lock_check(run, backend))
    run.step(f"{run.env_name}: re-plan", lambda: replan(run, stack))
    values: dict[str, Any] = {}
    run.step(f"{run.env_name}: outputs", lambda: f"{len(values.update(outputs(run, stack)) or values)} outputs")
    if run.production_like:
        run.step(f"{run.env_name}: destroy (must be refused)", lambda: refused_destroy(run, stack))
        return
    if "litellm_manual_control_api_url" in values:
        run.step(f"{run.env_name}: operations path", lambda: operations(run, values))
    run.step(f"{run.env_name}: destroy", lambda: destroy(run, stack, "destroy"))
    run.step(f"{run.env_name}: apply again (redeploy)", lambda: apply(run, stack, "second apply"))
    if run.keep:
        # Something to poke at: the redeployed environment stays on the kept emulator.
        print(f"==> {run.env_name}: second destroy skipped (--keep): the redeployed environment stays")
        return
    run.step(f"{run.env_name}: destroy again", lambda: destroy(run, stack, "second destroy"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="dev", help="environment (environments/NAME.toml), default dev")
    parser.add_argument("--keep", action="store_true", help="leave the emulator running at the end")
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one)")
    args = parser.parse_args(argv)

    from core.config import ConfigError, load_project

    try:
        project = load_project(ROOT)
        env_config = project.environment(args.env)
    except ConfigError as error:
        print("Configuration error:\n  " + "\n  ".join(error.problems), file=sys.stderr)
        return 1
    except KeyError:
        print(f"deploy-local: no environments/{args.env}.toml", file=sys.stderr)
        return 1
    scratch = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix=f"deploy-local-{args.env}-"))
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "aws-empty").write_text("")
    run = Run(args.env, env_config.production_like, scratch, args.keep, region=env_config.aws_region,
              resource_prefix=env_config.resource_prefix)
    run.env = clean_environment(os.environ, "", scratch)
    # jsii (the synth) runs on the repository's pinned Node, as under make.
    run.env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{run.env.get('PATH', '')}"
    run.env.setdefault("NODE_OPTIONS", "--max-old-space-size=4096 --disable-warning=DEP0044")
    print(f"deploy-local {args.env} ({'production-like' if run.production_like else 'dev-like'}); scratch {scratch}")
    status = 0
    failure = ""
    try:
        execute(run)
        print(f"\ndeploy-local {args.env}: OK")
    except DeployLocalError as error:
        failure = str(error)
        status = 1
    except KeyboardInterrupt:
        status = 130
    except Exception as error:  # noqa: BLE001 - one line here, the traceback in the scratch directory
        import traceback

        (scratch / "driver-error.txt").write_text(traceback.format_exc())
        failure = f"{type(error).__name__}: {error}\n(traceback: {scratch / 'driver-error.txt'})"
        status = 1
    finally:
        summary(run)
        if run.keep and run.moto and run.moto.poll() is None:
            print(f"\nthe emulator keeps running on {run.endpoint} (pid {run.moto.pid}); stop it with: kill {run.moto.pid}\n"
                  f"AWS CLI / boto3 against it: AWS_ENDPOINT_URL={run.endpoint} AWS_ACCESS_KEY_ID={MOCK_ACCESS_KEY} "
                  f"AWS_SECRET_ACCESS_KEY={MOCK_SECRET_KEY} AWS_REGION={run.region}\n"
                  f"terraform working directories: {scratch / 'stacks'} (with TF_CLI_CONFIG_FILE={run.toolchain.env.get('TF_CLI_CONFIG_FILE') if run.toolchain else ''})")
        else:
            stop_moto(run)
        if failure:
            # After the step table and the emulator's shutdown: CI shows only the end of the output.
            sys.stdout.flush()
            print(f"\ndeploy-local {args.env}: FAILED: {failure}\n(emulator log: {scratch / 'moto.log'})",
                  file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
