"""modules/rotation_redeploy.py and its function, modules/rotation_redeploy_lambda/handler.py.

The construct is built on Testing.app() stacks (a dev-like and a prod-like one), each synthesized
once, with a stub function folder. The handler runs against moto's in-process ECS (``mock_aws``,
fake credentials, no network).

What these tests cannot show: that Secrets Manager really publishes ``Secret Label Updated`` when
RDS rotates the password (the event shape is the one the Secrets Manager user guide documents;
moto emits no such event), EventBridge delivery and Lambda's retries, IAM enforcement (moto does
not evaluate policies), and real ECS task replacement (moto only swaps the deployment id). The
rule's pattern is matched against sample events with moto's EventBridge pattern matcher, an
independent implementation of the matching rules, not AWS itself.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from cdktf import Testing, TerraformOutput, TerraformStack
from moto import mock_aws
from moto.events.models import EventPattern, EventPatternParser

from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret

from modules import rotation_redeploy as module
from modules.rotation_redeploy import (
    DEFAULT_LAMBDA_SOURCE_DIR,
    RotationRedeploy,
    RotationRedeployProps,
    event_pattern,
)
from tests.helpers import data_sources, json_argument, ref, ref_target, resources

REGION = "eu-west-1"
ACCOUNT = "123456789012"
RDS_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbCdEf"
OTHER_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:litellm-prod/other-XyZ123"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000aaaa-1111-2222-3333-444455556666"
EXPOSED = ("rule_name", "rule_arn", "function_name", "function_arn", "role_name", "log_group_name")


def service_arn(cluster: str, service: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{service}"


# ------------------------------------------------------------------------------- construct


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("rotation_redeploy_lambda")
    (folder / "handler.py").write_text("def handler(event, context):\n    return {'status': 'stub'}\n")
    return str(folder)


@pytest.fixture(scope="module")
def synthesized(source_dir) -> dict[str, dict]:
    """case -> {"text", "stack", "props", "token_secret_id"}; each stack synthesized once."""
    app = Testing.app()
    out = {}
    for case in ("dev", "prod"):
        stack = TerraformStack(app, f"rotation-redeploy-{case}")
        AwsProvider(stack, "aws", region=REGION)
        if case == "dev":
            # A secret created in the same stack: its ARN is a token until apply, like the RDS
            # module's credentials_secret_arn.
            secret = SecretsmanagerSecret(stack, "db-secret", name="unit-dev/postgres-master")
            props = RotationRedeployProps(
                name="unit-dev", cluster_name="unit-dev-cluster", service_name="unit-dev-litellm",
                service_arn=service_arn("unit-dev-cluster", "unit-dev-litellm"),
                secret_arns=(secret.arn, RDS_SECRET), log_retention_days=14,
                lambda_source_dir=source_dir,
            )
        else:
            props = RotationRedeployProps(
                name="unit-prod", cluster_name="unit-prod-cluster", service_name="unit-prod-litellm",
                service_arn=service_arn("unit-prod-cluster", "unit-prod-litellm"),
                secret_arns=(RDS_SECRET,), log_retention_days=90, lambda_source_dir=source_dir,
                kms_key_arn=KMS_KEY, dead_letter_queue=True, tracing=True,
            )
        construct = RotationRedeploy(stack, "rotation-redeploy", props=props)
        for attribute in EXPOSED:
            TerraformOutput(stack, attribute, value=getattr(construct, attribute))
        text = Testing.synth(stack)
        out[case] = {"text": text, "stack": json.loads(text), "props": props}
    return out


def _one(stack: dict, tf_type: str) -> tuple[str, dict]:
    items = resources(stack, tf_type)
    assert len(items) == 1, f"expected one {tf_type}, got {sorted(items)}"
    return next(iter(items.items()))


def _document(stack: dict, reference: str) -> dict:
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}", reference)
    assert match, f"not a policy-document reference: {reference!r}"
    return data_sources(stack, "aws_iam_policy_document")[match.group(1)]


CASES = ("dev", "prod")


@pytest.mark.parametrize("case", CASES)
def test_rule_matches_a_new_current_value_of_exactly_the_given_secrets(synthesized, case):
    stack, props = synthesized[case]["stack"], synthesized[case]["props"]
    _, rule = _one(stack, "aws_cloudwatch_event_rule")
    assert rule["name"] == f"{props.name}-redeploy-on-secret-rotation"
    pattern = json_argument(stack, rule["event_pattern"])
    assert pattern == {
        "source": ["aws.secretsmanager"],
        "detail-type": ["Secret Label Updated"],
        "resources": pattern["resources"],
        "detail": {"labelUpdated": ["AWSCURRENT"]},
    }
    if case == "dev":
        (secret_id,) = resources(stack, "aws_secretsmanager_secret")
        assert pattern["resources"] == [f"${{aws_secretsmanager_secret.{secret_id}.arn}}", RDS_SECRET]
    else:
        assert pattern["resources"] == [RDS_SECRET]


def _event(secret_arn: str, label: str = "AWSCURRENT", **overrides) -> dict:
    """A Secret Label Updated event as the Secrets Manager user guide shows it."""
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Secret Label Updated",
        "source": "aws.secretsmanager",
        "account": ACCOUNT,
        "time": "2030-01-01T12:00:00Z",
        "region": REGION,
        "resources": [secret_arn],
        "detail": {
            "name": secret_arn.split(":secret:", 1)[-1],
            "labelUpdated": label,
            "versionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        },
    }
    event.update(overrides)
    return event


def _rotation_succeeded_cloudtrail(secret_arn: str) -> dict:
    return {
        "version": "0", "id": "0c0b51dc-0000-0000-0000-000000000000",
        "detail-type": "AWS Service Event via CloudTrail", "source": "aws.secretsmanager",
        "account": ACCOUNT, "time": "2030-01-01T12:00:00Z", "region": REGION, "resources": [],
        "detail": {
            "eventSource": "secretsmanager.amazonaws.com", "eventName": "RotationSucceeded",
            "eventType": "AwsServiceEvent", "additionalEventData": {"SecretId": secret_arn},
        },
    }


@pytest.mark.parametrize(("event", "matches"), [
    (_event(RDS_SECRET), True),
    (_event(OTHER_SECRET), False),
    (_event(RDS_SECRET, label="STAGING"), False),
    (_event(RDS_SECRET, source="aws.events"), False),
    (_rotation_succeeded_cloudtrail(RDS_SECRET), False),
], ids=["our-secret", "other-secret", "custom-label", "other-source", "cloudtrail-shape"])
def test_pattern_selects_only_current_label_moves_of_our_secrets(event, matches):
    raw = event_pattern((RDS_SECRET,))
    pattern = EventPattern(raw, EventPatternParser(raw).parse())  # also validates the syntax
    assert pattern.matches_event(event) is matches


@pytest.mark.parametrize("case", CASES)
def test_function_runtime_package_and_environment(synthesized, case):
    stack, props = synthesized[case]["stack"], synthesized[case]["props"]
    _, function = _one(stack, "aws_lambda_function")
    assert function["function_name"] == f"{props.name}-rotation-redeploy"
    assert (function["runtime"], function["architectures"], function["handler"], function["timeout"]) == (
        "python3.12", ["arm64"], "handler.handler", 30,
    )
    assert function["filename"].startswith("assets/") and function["filename"].endswith(".zip")
    assert function["source_code_hash"]
    # Names only: the function needs no secret, not even a secret ARN.
    assert function["environment"]["variables"] == {
        "CLUSTER_NAME": props.cluster_name, "SERVICE_NAME": props.service_name,
    }
    assert "vpc_config" not in function


@pytest.mark.parametrize(("case", "days"), [("dev", 14), ("prod", 90)])
def test_function_writes_to_its_own_retained_log_group_created_first(synthesized, case, days):
    stack, props = synthesized[case]["stack"], synthesized[case]["props"]
    log_id, log_group = _one(stack, "aws_cloudwatch_log_group")
    policy_id, _ = _one(stack, "aws_iam_role_policy")
    _, function = _one(stack, "aws_lambda_function")
    expected = {"name": f"/aws/lambda/{props.name}-rotation-redeploy", "retention_in_days": days}
    if props.kms_key_arn:
        expected["kms_key_id"] = props.kms_key_arn
    assert log_group == expected
    assert set(function["depends_on"]) == {
        f"aws_cloudwatch_log_group.{log_id}", f"aws_iam_role_policy.{policy_id}",
    }


@pytest.mark.parametrize("case", CASES)
def test_role_may_only_log_and_update_the_one_service(synthesized, case):
    stack, props = synthesized[case]["stack"], synthesized[case]["props"]
    _, function = _one(stack, "aws_lambda_function")
    role_id, role = _one(stack, "aws_iam_role")
    assert ref(function["role"]) == ("aws_iam_role", role_id, "arn")
    (trust,) = _document(stack, role["assume_role_policy"])["statement"]
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]
    # Nothing else grants the role anything.
    assert not resources(stack, "aws_iam_role_policy_attachment")
    assert "managed_policy_arns" not in role and "inline_policy" not in role
    _, policy = _one(stack, "aws_iam_role_policy")
    assert ref(policy["role"]) == ("aws_iam_role", role_id, "id")
    statements = {s["sid"]: s for s in _document(stack, policy["policy"])["statement"]}
    # The optional extras (dead letters, KMS, tracing) are checked in their own test.
    optional = {"DeadLetters", "EncryptDeadLetters", "DecryptOwnEnvironment", "WriteTraces"}
    assert set(statements) - optional == {"WriteOwnLogs", "ForceNewDeploymentOfLiteLLM"}
    assert bool(set(statements) & optional) == bool(props.kms_key_arn or props.dead_letter_queue or props.tracing)
    statements = {sid: s for sid, s in statements.items() if sid not in optional}
    assert statements["ForceNewDeploymentOfLiteLLM"]["actions"] == ["ecs:UpdateService"]
    assert statements["ForceNewDeploymentOfLiteLLM"]["resources"] == [props.service_arn]
    logs = statements["WriteOwnLogs"]
    assert sorted(logs["actions"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    (log_resource,) = logs["resources"]
    assert log_resource.endswith(":*")
    assert ref_target(stack, log_resource.removesuffix(":*"))["name"] == f"/aws/lambda/{props.name}-rotation-redeploy"
    for statement in statements.values():
        assert statement.get("effect", "Allow") == "Allow" and "condition" not in statement
        assert not any("*" in action for action in statement["actions"])
        assert all(r == props.service_arn or r == log_resource for r in statement["resources"])


@pytest.mark.parametrize("case", CASES)
def test_only_the_rule_invokes_the_function(synthesized, case):
    stack = synthesized[case]["stack"]
    function_id, _ = _one(stack, "aws_lambda_function")
    rule_id, _ = _one(stack, "aws_cloudwatch_event_rule")
    _, target = _one(stack, "aws_cloudwatch_event_target")
    assert ref(target["rule"]) == ("aws_cloudwatch_event_rule", rule_id, "name")
    assert ref(target["arn"]) == ("aws_lambda_function", function_id, "arn")
    assert "input" not in target and "input_transformer" not in target  # the handler needs the event itself
    _, permission = _one(stack, "aws_lambda_permission")
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["principal"] == "events.amazonaws.com"
    assert ref(permission["source_arn"]) == ("aws_cloudwatch_event_rule", rule_id, "arn")
    assert ref(permission["function_name"]) == ("aws_lambda_function", function_id, "function_name")


def test_exposed_attributes_point_at_the_resources(synthesized):
    stack = synthesized["prod"]["stack"]
    outputs = {name: value["value"] for name, value in stack["output"].items()}
    function_id, _ = _one(stack, "aws_lambda_function")
    rule_id, _ = _one(stack, "aws_cloudwatch_event_rule")
    assert ref(outputs["function_name"]) == ("aws_lambda_function", function_id, "function_name")
    assert ref(outputs["function_arn"]) == ("aws_lambda_function", function_id, "arn")
    assert ref(outputs["rule_name"]) == ("aws_cloudwatch_event_rule", rule_id, "name")
    assert ref(outputs["rule_arn"]) == ("aws_cloudwatch_event_rule", rule_id, "arn")
    assert ref(outputs["log_group_name"])[0] == "aws_cloudwatch_log_group"
    assert ref(outputs["role_name"])[0] == "aws_iam_role"


def _strings(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, path)
    elif isinstance(node, str):
        yield path, node


@pytest.mark.parametrize("case", CASES)
def test_no_secret_material_in_the_synthesized_stack(synthesized, case):
    stack = synthesized[case]["stack"]
    secretish = re.compile(r"password|secret_string|auth_token|secret_value|token", re.I)
    for path, value in _strings({"resource": stack.get("resource", {}), "data": stack.get("data", {})}):
        if any(secretish.search(str(key)) for key in path):
            assert value.startswith("${") and value.endswith("}"), (path, value)


def _valid(**overrides) -> dict:
    base = dict(
        name="unit", cluster_name="c", service_name="s", service_arn=service_arn("c", "s"),
        secret_arns=(RDS_SECRET,),
    )
    base.update(overrides)
    return base


@pytest.mark.parametrize("overrides", [
    dict(secret_arns=RDS_SECRET),                                  # a string, not a tuple
    dict(secret_arns=()),
    dict(secret_arns=(RDS_SECRET, RDS_SECRET)),
    dict(secret_arns=(f"{RDS_SECRET}:password::",)),               # an ECS valueFrom
    dict(secret_arns=("${aws_db_instance.x.master_user_secret[0].secret_arn}:password::",)),
    dict(secret_arns=("litellm-dev/postgres-master",)),           # a name, not an ARN
    dict(service_arn="unit-litellm"),
    dict(service_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c"),
    dict(cluster_name=""),
    dict(log_retention_days=0),
    dict(log_retention_days=13),
    dict(name="x" * 37),
    dict(name="bad name"),
    dict(name="${var.prefix}"),
], ids=lambda o: next(iter(o)) + "=" + str(next(iter(o.values())))[:40])
def test_props_reject_mistakes_at_synth_time(overrides):
    with pytest.raises(ValueError, match="RotationRedeployProps"):
        RotationRedeployProps(**_valid(**overrides))


def test_props_accept_references_and_lists():
    props = RotationRedeployProps(**_valid(
        secret_arns=["${aws_db_instance.x.master_user_secret[0].secret_arn}", RDS_SECRET],
        service_arn="${aws_ecs_service.x.id}", name="x" * 36, log_retention_days=3653,
    ))
    assert isinstance(props.secret_arns, tuple) and len(props.secret_arns) == 2


# ------------------------------------------------------------------------------- handler


HANDLER_PATH = Path(DEFAULT_LAMBDA_SOURCE_DIR) / "handler.py"


def _load_handler():
    # The folder is a Lambda zip, not a package: load the file the way the runtime does.
    spec = importlib.util.spec_from_file_location("rotation_redeploy_handler", HANDLER_PATH)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


h = _load_handler()
CONTEXT = SimpleNamespace(invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:unit-rotation-redeploy")
_numbers = itertools.count()


def test_handler_and_rule_agree_on_the_event():
    assert (h.SOURCE, h.DETAIL_TYPE, h.CURRENT_LABEL) == (
        module.EVENT_SOURCE, module.EVENT_DETAIL_TYPE, module.CURRENT_LABEL,
    )
    assert HANDLER_PATH.is_file()


def _fake_credentials(monkeypatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.setenv(key, "testing")
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(scope="module")
def account():
    """One moto account for the module; every test gets its own cluster and service in it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fake_credentials(monkeypatch)
        with mock_aws():
            yield {
                "ecs": boto3.client("ecs", region_name=REGION),
                "secretsmanager": boto3.client("secretsmanager", region_name=REGION),
            }


@pytest.fixture
def deployment(monkeypatch, account):
    """A cluster and a service with one task, and the function's environment pointing at them."""
    _fake_credentials(monkeypatch)
    n = next(_numbers)
    cluster, service = f"rr{n}-cluster", f"rr{n}-litellm"
    ecs = account["ecs"]
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=service, containerDefinitions=[{"name": "litellm", "image": "litellm:test", "memory": 512}],
    )
    ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=service, desiredCount=1)
    monkeypatch.setenv("CLUSTER_NAME", cluster)
    monkeypatch.setenv("SERVICE_NAME", service)

    def describe() -> dict:
        return ecs.describe_services(cluster=cluster, services=[service])["services"][0]

    return SimpleNamespace(cluster=cluster, service=service, describe=describe, account=account)


def _log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_a_new_current_value_forces_a_new_deployment(deployment, capsys):
    # A real secret whose value changes, so the test can show the value never reaches the log.
    sm = deployment.account["secretsmanager"]
    secret = sm.create_secret(Name=f"{deployment.service}/postgres", SecretString='{"password": "old-Pa55word-1"}')
    version = sm.put_secret_value(SecretId=secret["ARN"], SecretString='{"password": "new-Pa55word-2"}')
    before = deployment.describe()
    event = _event(secret["ARN"])
    event["detail"]["versionId"] = version["VersionId"]

    result = h.handler(event, CONTEXT)

    after = deployment.describe()
    (new_deployment,) = after["deployments"]
    assert new_deployment["id"] != before["deployments"][0]["id"]
    assert result == {"status": "redeployed", "deployment_id": new_deployment["id"]}
    # Only a new deployment: same task definition, same count.
    assert (after["taskDefinition"], after["desiredCount"]) == (before["taskDefinition"], before["desiredCount"])
    out = capsys.readouterr().out
    assert "Pa55word" not in out
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert line == {
        "decision": "redeployed", "secret_id": secret["ARN"], "version_id": version["VersionId"],
        "event_id": event["id"], "cluster": deployment.cluster, "service": deployment.service,
        "deployment_id": new_deployment["id"],
    }


class RecordingEcs:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[dict] = []
        self.fail = fail

    def update_service(self, **kwargs):
        self.calls.append(kwargs)
        if self.fail:
            raise self.fail
        return {"service": {"deployments": [
            {"id": "ecs-svc/new", "status": "PRIMARY"}, {"id": "ecs-svc/old", "status": "ACTIVE"},
        ]}}


def test_update_service_only_forces_a_deployment(monkeypatch, capsys):
    monkeypatch.setenv("CLUSTER_NAME", "c1")
    monkeypatch.setenv("SERVICE_NAME", "s1")
    ecs = RecordingEcs()
    result = h.handler(_event(RDS_SECRET), CONTEXT, ecs=ecs)
    assert ecs.calls == [{"cluster": "c1", "service": "s1", "forceNewDeployment": True}]
    assert result["deployment_id"] == "ecs-svc/new"  # the PRIMARY one, wherever it is listed
    assert _log_lines(capsys)[0]["deployment_id"] == "ecs-svc/new"


@pytest.mark.parametrize("event", [
    _event(RDS_SECRET, label="STAGING"),
    _event(RDS_SECRET, source="aws.events"),
    _event(RDS_SECRET, **{"detail-type": "Secret Rotation Started"}),
    _event(RDS_SECRET, resources=[]),
    _rotation_succeeded_cloudtrail(RDS_SECRET),
    {"action": "redeploy"},
    "not an event",
], ids=["custom-label", "other-source", "other-detail-type", "no-resources", "cloudtrail", "manual", "string"])
def test_unrelated_events_change_nothing(deployment, capsys, event):
    before = deployment.describe()["deployments"][0]["id"]
    ecs = RecordingEcs()
    assert h.handler(event, CONTEXT, ecs=ecs) == {"status": "ignored"}
    assert ecs.calls == []
    # And with the real client: the service keeps its deployment.
    assert h.handler(event, CONTEXT) == {"status": "ignored"}
    assert deployment.describe()["deployments"][0]["id"] == before
    assert [line["decision"] for line in _log_lines(capsys)] == ["ignored", "ignored"]


def test_an_aws_error_is_logged_and_raised_so_lambda_retries(deployment, monkeypatch, capsys):
    monkeypatch.setenv("SERVICE_NAME", f"{deployment.service}-gone")
    with pytest.raises(ClientError) as raised:
        h.handler(_event(RDS_SECRET), CONTEXT)
    assert raised.value.response["Error"]["Code"] == "ServiceNotFoundException"
    (line,) = _log_lines(capsys)
    assert line["decision"] == "redeploy-failed"
    assert (line["secret_id"], line["error_code"]) == (RDS_SECRET, "ServiceNotFoundException")


def test_missing_configuration_is_logged_and_raised(monkeypatch, capsys):
    monkeypatch.setenv("CLUSTER_NAME", "c1")
    monkeypatch.delenv("SERVICE_NAME", raising=False)
    ecs = RecordingEcs()
    with pytest.raises(h.ConfigError, match="SERVICE_NAME"):
        h.handler(_event(RDS_SECRET), CONTEXT, ecs=ecs)
    assert ecs.calls == []
    (line,) = _log_lines(capsys)
    assert (line["decision"], line["error_type"]) == ("redeploy-failed", "ConfigError")


def _statements(stack: dict) -> dict[str, dict]:
    _, policy = _one(stack, "aws_iam_role_policy")
    return {s["sid"]: s for s in _document(stack, policy["policy"])["statement"]}


def test_failed_events_land_in_an_encrypted_dead_letter_queue(synthesized):
    stack = synthesized["prod"]["stack"]
    _, queue = _one(stack, "aws_sqs_queue")
    assert queue["name"] == "unit-prod-rotation-redeploy-dlq"
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    assert queue["kms_master_key_id"] == KMS_KEY
    _, function = _one(stack, "aws_lambda_function")
    assert ref_target(stack, function["dead_letter_config"]["target_arn"]) is queue
    assert function["kms_key_arn"] == KMS_KEY and function["tracing_config"] == {"mode": "Active"}
    statements = _statements(stack)
    assert ref_target(stack, statements["DeadLetters"]["resources"][0]) is queue
    assert statements["EncryptDeadLetters"]["resources"] == [KMS_KEY]
    assert statements["DecryptOwnEnvironment"]["resources"] == [KMS_KEY]
    assert statements["WriteTraces"]["actions"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    dev = synthesized["dev"]["stack"]
    assert resources(dev, "aws_sqs_queue") == {}
    assert not {"DeadLetters", "EncryptDeadLetters", "DecryptOwnEnvironment", "WriteTraces"} & set(_statements(dev))
