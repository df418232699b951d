"""Redeploy the LiteLLM ECS service whenever one of its secrets gets a new value.

ECS resolves container secrets only when it starts a task. When RDS rotates LiteLLM's master
password (every 7 days by default) the running tasks keep their open PostgreSQL sessions, but every
*new* connection (pool growth, reconnect after a failover) fails with the old password. An
EventBridge rule notices the new secret value and a small Lambda forces a new deployment of the
service, so ECS replaces the tasks with ones that read the new value; the service's deployment
circuit breaker rolls back a deployment whose tasks do not become healthy. This shortens the
window of failing new connections to the length of a rolling deployment; it does not close it.

Pieces: rule ``<name>-redeploy-on-secret-rotation``, function ``<name>-rotation-redeploy`` (code:
``modules/rotation_redeploy_lambda/``) with its own retained log group, an execution role that may
write to that log group and call ``ecs:UpdateService`` on exactly ``service_arn`` (a forced
deployment without a task-definition change needs no ``iam:PassRole``), the rule's target, and a
resource policy letting only this rule invoke the function. The function runs outside any VPC: it
only calls the ECS API.

Which event. Secrets Manager's *native* ``Secret Label Updated`` event (source
``aws.secretsmanager``, the secret's full ARN in ``resources``, ``detail.labelUpdated``), published
to the default bus for every secret without any setup, when a staging label other than AWSPENDING
and AWSPREVIOUS moves to a new version. The rule matches ``labelUpdated = AWSCURRENT`` on the given
secrets, which is exactly "the value ECS would now read has changed", however it changed:

* RDS-managed rotation: the final rotation step moves AWSCURRENT after the database accepted the
  new password, so tasks started afterwards authenticate.
* a password the user supplies (``manage_master_password = false``): ``terraform apply`` writes the
  new ``aws_secretsmanager_secret_version``, i.e. a ``PutSecretValue`` that moves AWSCURRENT; so do
  a manual ``put-secret-value``, an ``update-secret`` with a new value and an on-demand rotation.
  (Such a secret version should depend on the database resource, so the password is accepted by
  the database before tasks restart with it.)

Metadata changes (description, tags, rotation settings, policies) publish nothing, so they never
cause a deployment. The first value of a new secret also moves AWSCURRENT: at most one extra
deployment right after the first apply.

Why not the CloudTrail events (``RotationSucceeded``, a ``AWS Service Event via CloudTrail`` with
the ARN in ``detail.additionalEventData.SecretId``; ``PutSecretValue`` / ``UpdateSecret`` API calls
with whatever the caller passed, name or ARN, in ``detail.requestParameters.secretId``): the
EventBridge user guide says events with detail-type ``AWS API Call via CloudTrail`` need a CloudTrail
trail with logging enabled, and several public reports describe such rules that never fired in an
account without a trail (CloudTrail's 90-day Event history is not a trail). CloudTrail management
events therefore cannot be assumed to reach EventBridge here, and matching both sources would
redeploy twice per rotation in accounts that do have a trail.

Delivery and retries: EventBridge invokes the function asynchronously and retries failed
deliveries for up to 24 hours; an error raised by the function is retried by Lambda (twice by
default), so the handler logs and re-raises. A late or duplicate redeploy only replaces the tasks
once more; a service scaled to zero gets a deployment with no tasks, and its next start reads the
new value anyway.

Which secrets to pass. The RDS credentials secret, always. Not the generated Redis AUTH token:
ElastiCache changes it with the ``ROTATE`` strategy, which keeps the old token valid next to the
new one, so running tasks keep working; and the secret may be written before the replication
group accepts the new token, so a redeploy triggered by the secret could start tasks whose token
Redis refuses yet.

No data source is used: the module plans offline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, Fn, TerraformAsset, Token
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)

from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue

from core.event_rules import rule_invoking


DEFAULT_LAMBDA_SOURCE_DIR = str(Path(__file__).resolve().parent / "rotation_redeploy_lambda")
EVENT_SOURCE = "aws.secretsmanager"
EVENT_DETAIL_TYPE = "Secret Label Updated"
CURRENT_LABEL = "AWSCURRENT"
LAMBDA_TIMEOUT_SECONDS = 30
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum
RULE_SUFFIX = "-redeploy-on-secret-rotation"
FUNCTION_SUFFIX = "-rotation-redeploy"
# The values CloudWatch Logs accepts for retention_in_days (0, "never expire", is left out on purpose).
LOG_RETENTION_DAYS = frozenset({
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
})
# Rule names allow 64 characters, [.\-_A-Za-z0-9]; the longest name derived here is the rule's.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_MAX_NAME_LENGTH = 64 - len(RULE_SUFFIX)
# The bare secret ARN, as events carry it: no ":<json-key>:<stage>:<version>" suffix.
_SECRET_ARN_RE = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^:]+$")
_SERVICE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service/[^/]+(/[^/]+)?$")


def _is_reference(value: str) -> bool:
    """A cdktf token or a raw ``${...}`` Terraform expression: unknown until apply."""
    return Token.is_unresolved(value) or "${" in value


def event_pattern_document(secret_arns: tuple[str, ...]) -> dict:
    """The rule's pattern: AWSCURRENT moved to a new version of one of ``secret_arns``."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "resources": list(secret_arns),
        "detail": {"labelUpdated": [CURRENT_LABEL]},
    }


def event_pattern(secret_arns: tuple[str, ...]) -> str:
    """The pattern as the JSON text EventBridge receives."""
    return json.dumps(event_pattern_document(secret_arns))


@dataclass(frozen=True, kw_only=True)
class RotationRedeployProps:
    name: str
    """Prefix of every resource name, e.g. ``litellm-dev``."""
    cluster_name: str
    service_name: str
    service_arn: str
    """The ECS service's ARN (``aws_ecs_service.id``): the only resource the function may update."""
    secret_arns: tuple[str, ...]
    """Full ARNs of the secrets whose new value must restart the tasks (references allowed), e.g.
    the RDS module's ``credentials_secret_arn``; not a ``valueFrom`` with a ``:<json-key>::``
    suffix. See the module documentation for why the Redis AUTH token does not belong here."""
    log_retention_days: int = 30
    kms_key_arn: str | None = None
    """Customer-managed KMS key of the log group and the function's environment variables (the
    function's role may decrypt with it); None keeps the AWS-managed encryption."""
    dead_letter_queue: bool = False
    """Keep events the function failed on (after Lambda's two retries) for 14 days in an SQS
    queue (``<name>-rotation-redeploy-dlq``): a lost event means tasks on a stale password."""
    tracing: bool = False
    """X-Ray active tracing of the function (its role may write trace segments)."""
    lambda_source_dir: str = DEFAULT_LAMBDA_SOURCE_DIR
    """Folder zipped into the function's package (it must hold ``handler.py``)."""

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"RotationRedeployProps: {message}")

        if not isinstance(self.name, str) or _is_reference(self.name) or not _NAME_RE.match(self.name):
            fail("name must be a literal of letters, digits, '-' and '_' (it names every resource)")
        if len(self.name) > _MAX_NAME_LENGTH:
            fail(f"name must be at most {_MAX_NAME_LENGTH} characters (the rule name is limited to 64)")
        for field in ("cluster_name", "service_name", "service_arn"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                fail(f"{field} must be a non-empty string")
        if not _is_reference(self.service_arn) and not _SERVICE_ARN_RE.match(self.service_arn):
            fail(f"service_arn {self.service_arn!r} is not an ECS service ARN")
        if isinstance(self.secret_arns, str):
            fail("secret_arns must be a tuple of ARNs, not one string")
        object.__setattr__(self, "secret_arns", tuple(self.secret_arns))
        if not self.secret_arns:
            fail("give at least one secret ARN")
        for arn in self.secret_arns:
            if not isinstance(arn, str) or not arn:
                fail("secret_arns must be non-empty strings")
            if _is_reference(arn):
                # A reference is unknown until apply; a valueFrom suffix is still visible.
                if arn.endswith("::"):
                    fail(f"secret_arns: {arn!r} looks like an ECS valueFrom; give the bare secret ARN")
            elif not _SECRET_ARN_RE.match(arn):
                fail(f"secret_arns: {arn!r} is not a bare Secrets Manager secret ARN")
        if len(set(self.secret_arns)) != len(self.secret_arns):
            fail("secret_arns has duplicates")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            fail(f"log_retention_days must be one of {sorted(LOG_RETENTION_DAYS)}")


class RotationRedeploy(Construct):
    """Exposes ``rule_name``, ``rule_arn``, ``function_name``, ``function_arn``, ``role_name``,
    ``log_group_name`` and ``dead_letter_queue_name`` (None without one)."""

    def __init__(self, scope: Construct, id_: str, *, props: RotationRedeployProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        function_name = f"{props.name}{FUNCTION_SUFFIX}"
        self.dead_letter_queue_name: str | None = None

        log_group = CloudwatchLogGroup(
            self, "function-log-group",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        self.log_group_name: str = log_group.name

        assume = DataAwsIamPolicyDocument(
            self, "function-assume-role",
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Service", identifiers=["lambda.amazonaws.com"],
                )],
                # Confused-deputy guard: only Lambda acting for this account (the account is
                # field 4 of the log group's ARN; no data source needed).
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="aws:SourceAccount",
                    values=[Fn.element(Fn.split(":", log_group.arn), 4)],
                )],
            )],
        )
        queue = None
        if props.dead_letter_queue:
            queue = SqsQueue(
                self, "dead-letter-queue",
                name=f"{function_name}-dlq",
                message_retention_seconds=DLQ_RETENTION_SECONDS,
                kms_master_key_id=props.kms_key_arn,
                sqs_managed_sse_enabled=None if props.kms_key_arn else True,
                tags={"Name": f"{function_name}-dlq"},
            )
            self.dead_letter_queue_name = queue.name
        role = IamRole(
            self, "function-role",
            name=function_name,
            description="Execution role of the function that redeploys LiteLLM after a secret changes",
            assume_role_policy=assume.json,
        )
        self.role_name: str = role.name
        permissions = DataAwsIamPolicyDocument(
            self, "function-permissions",
            statement=[
                # No logs:CreateLogGroup: the group exists, and Lambda must never create an
                # unretained one.
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteOwnLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{log_group.arn}:*"],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="ForceNewDeploymentOfLiteLLM",
                    actions=["ecs:UpdateService"],
                    resources=[props.service_arn],
                ),
                *([DataAwsIamPolicyDocumentStatement(
                    # Lambda decrypts the environment variables with the function's own role.
                    sid="DecryptOwnEnvironment",
                    actions=["kms:Decrypt"],
                    resources=[props.kms_key_arn],
                    condition=[DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="kms:ViaService",
                        values=[f"lambda.{Fn.element(Fn.split(':', log_group.arn), 3)}.amazonaws.com"],
                    )],
                )] if props.kms_key_arn else []),
                *([DataAwsIamPolicyDocumentStatement(
                    sid="DeadLetters", actions=["sqs:SendMessage"], resources=[queue.arn],
                )] if queue is not None else []),
                *([DataAwsIamPolicyDocumentStatement(
                    # Lambda writes dead letters with the role's credentials into the encrypted queue.
                    sid="EncryptDeadLetters",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[props.kms_key_arn],
                    condition=[DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="kms:ViaService",
                        values=[f"sqs.{Fn.element(Fn.split(':', log_group.arn), 3)}.amazonaws.com"],
                    )],
                )] if queue is not None and props.kms_key_arn else []),
                *([DataAwsIamPolicyDocumentStatement(
                    # X-Ray defines no resource types for these actions.
                    sid="WriteTraces",
                    actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    resources=["*"],
                )] if props.tracing else []),
            ],
        )
        role_policy = IamRolePolicy(
            self, "function-role-policy",
            name="rotation-redeploy",
            role=role.id,
            policy=permissions.json,
        )

        # Synthesis zips the folder next to cdk.tf.json, and the hash changes with the code, so
        # Terraform updates the function when the handler changes.
        package = TerraformAsset(
            self, "function-package", path=props.lambda_source_dir, type=AssetType.ARCHIVE,
        )
        function = LambdaFunction(
            self, "function",
            function_name=function_name,
            description="Forces a new LiteLLM ECS deployment when one of its secrets gets a new value",
            role=role.arn,
            runtime="python3.12",
            architectures=["arm64"],
            handler="handler.handler",
            filename=package.path,
            source_code_hash=package.asset_hash,
            memory_size=128,
            timeout=LAMBDA_TIMEOUT_SECONDS,
            environment=LambdaFunctionEnvironment(variables={
                "CLUSTER_NAME": props.cluster_name,
                "SERVICE_NAME": props.service_name,
            }),
            kms_key_arn=props.kms_key_arn,
            dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=queue.arn) if queue is not None else None,
            tracing_config=LambdaFunctionTracingConfig(mode="Active") if props.tracing else None,
            # The log group first, or the first invocation creates one that never expires; the
            # policy first, or an early event fails for want of permissions.
            depends_on=[log_group, role_policy],
        )
        self.function_name: str = function.function_name
        self.function_arn: str = function.arn

        rule = rule_invoking(
            self, "rule",
            name=f"{props.name}{RULE_SUFFIX}",
            description="A LiteLLM secret got a new current value: force a new ECS deployment",
            pattern=event_pattern_document(props.secret_arns),
            function=function,
            target_id="rotation-redeploy",
            statement_id="AllowSecretRotationRule",
        )
        self.rule_name: str = rule.name
        self.rule_arn: str = rule.arn
