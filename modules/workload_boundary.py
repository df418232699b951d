"""The workload permissions boundary: the ceiling of every IAM role the environment stacks create.

Why it exists: whoever deploys may write IAM roles (the stacks create them), and IAM has no
condition on a policy's *content*. So an inline ``*:*`` policy on a role of ours is always one call
away; the boundary makes it harmless. The CI deploy roles may create or edit a role only when it
carries this boundary (``iam:PermissionsBoundary``), and every role of the stacks carries it
(``stacks/aspects.py``).

What it allows is what the workloads do (ECS tasks, the Lambdas, the scheduler, the bastion's SSM
agent, VPC flow logs, RDS Enhanced Monitoring), on the project's names only (but Enhanced
Monitoring's account-wide ``RDSOSMetrics`` log group), and only in the role's own environment: the
resources are written with ``${aws:PrincipalTag/Environment}``, the tag every role of ours carries
(provider default tags) and that the deploy roles may set only to their own environment. A role
created by the dev deploy role therefore cannot read prod's secrets even with ``*:*`` inline.

What it denies outright: all of IAM (except handing the manual-control scheduler role to EventBridge
Scheduler), role assumption and federation, and organization/account-level actions.

Bootstrap creates one per ``name_prefix`` (always: a managed policy costs nothing), named
``<name_prefix>-workload-boundary``.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy

# The tag every resource and role of an environment carries (core.config.standard_tags).
ENVIRONMENT_TAG = "Environment"
# An IAM policy variable, resolved per request to the calling role's own Environment tag. The
# aws_iam_policy_document data source writes &{...} as ${...} (a literal ${ would be Terraform's).
_ENV = "&{aws:PrincipalTag/" + ENVIRONMENT_TAG + "}"
# The only role a workload hands to a service: manual control's schedule runs as this role.
PASSABLE_TO = ("scheduler.amazonaws.com",)
# Account-level and identity actions no workload needs; iam:* is denied separately (see below).
DENIED_ACTIONS = (
    "sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
    "sts:GetFederationToken", "sts:SetSourceIdentity",
    "organizations:*", "account:*", "sso:*", "identitystore:*", "billing:*", "ram:*",
)
# The SSM agent (bastion port forwarding, ECS exec): instance registration and session channels.
SSM_AGENT_ACTIONS = (
    "ssm:UpdateInstanceInformation", "ssm:ListInstanceAssociations", "ssm:ListAssociations",
    "ssm:DescribeAssociation", "ssm:GetDocument", "ssm:DescribeDocument",
    "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateAssociationStatus", "ssm:PutInventory",
    "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:GetManifest",
    "ssm:GetDeployablePatchSnapshotForInstance",
    "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
    "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply",
)


def workload_boundary_name(name_prefix: str) -> str:
    """Never matches ``<name_prefix>-<environment>-*`` for an environment other than
    ``workload``; the deploy roles are denied writes to it by exact name anyway."""
    return f"{name_prefix}-workload-boundary"


@dataclass(frozen=True, kw_only=True)
class WorkloadBoundaryProps:
    name_prefix: str
    """Prefix of every resource the environments create; the boundary allows nothing else."""
    regions: tuple[str, ...]
    """Regions of the environments with this prefix: account-wide workload actions stay in them."""
    external_reads: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(environment, ARNs) of secrets and parameters an environment's tasks read that are not
    named by the project (``litellm_secrets``, ``redis_auth_token_secret_arn``): readable only by
    that environment's roles."""


class WorkloadBoundary(Construct):
    """Exposes ``arn`` and ``name``."""

    def __init__(self, scope: Construct, id_: str, *, props: WorkloadBoundaryProps) -> None:
        super().__init__(scope, id_)
        self.name = workload_boundary_name(props.name_prefix)
        document = DataAwsIamPolicyDocument(self, "document", statement=workload_statements(props.name_prefix, props.regions, props.external_reads))
        policy = IamPolicy(
            self, "policy",
            name=self.name,
            description="Ceiling of every role the environment stacks create: workload actions on the role's own environment, no IAM, no role assumption.",
            policy=document.json,
        )
        self.arn: str = policy.arn


def _names(service_arn: str, prefix: str) -> list[str]:
    """``<prefix>-<env>-*`` and ``<prefix>-<env>/*`` after ``service_arn`` (the modules use both)."""
    return [f"{service_arn}{prefix}-{_ENV}-*", f"{service_arn}{prefix}-{_ENV}/*"]


def workload_statements(
    prefix: str, regions: tuple[str, ...], external_reads: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> list[DataAwsIamPolicyDocumentStatement]:
    in_regions = DataAwsIamPolicyDocumentStatementCondition(
        test="StringEquals", variable="aws:RequestedRegion", values=list(regions),
    )

    def allow(sid: str, actions, resources, condition=None) -> DataAwsIamPolicyDocumentStatement:
        # Whatever no name can scope stays in the project's regions.
        if list(resources) == ["*"]:
            condition = [*(condition or []), in_regions]
        return DataAwsIamPolicyDocumentStatement(
            sid=sid, effect="Allow", actions=list(actions), resources=list(resources),
            condition=condition or None,
        )

    return [
        allow("WriteOwnLogs",
              ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
              [f"arn:aws:logs:*:*:log-group:*/{prefix}-{_ENV}-*",
               f"arn:aws:logs:*:*:log-group:*/{prefix}-{_ENV}/*",
               f"arn:aws:logs:*:*:log-group:*/{prefix}-{_ENV}-*:*",
               f"arn:aws:logs:*:*:log-group:*/{prefix}-{_ENV}/*:*"]),
        # RDS Enhanced Monitoring (AmazonRDSEnhancedMonitoringRole) writes to the account's one
        # RDSOSMetrics group, in streams named by the instance's resource id: no name of ours.
        allow("RdsEnhancedMonitoring",
              ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream", "logs:PutLogEvents",
               "logs:DescribeLogStreams", "logs:GetLogEvents"],
              ["arn:aws:logs:*:*:log-group:RDSOSMetrics", "arn:aws:logs:*:*:log-group:RDSOSMetrics:log-stream:*"]),
        # Pulling images: the token is account-wide; layers only from this environment's repository
        # or a public registry (ECR pull-through caches are named by the environment too).
        allow("PullImages", ["ecr:GetAuthorizationToken"], ["*"]),
        allow("PullOwnImages",
              ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
              _names("arn:aws:ecr:*:*:repository/", prefix)),
        allow("ReadOwnSecrets", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
              _names("arn:aws:secretsmanager:*:*:secret:", prefix)),
        # RDS names its managed master-user secret itself (rds!db-<uuid>) and tags it with the
        # instance ARN: the instance name is ours.
        allow("ReadOwnRdsManagedSecrets", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
              ["arn:aws:secretsmanager:*:*:secret:rds!*"],
              [DataAwsIamPolicyDocumentStatementCondition(
                  test="StringLike", variable="secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn",
                  values=[f"arn:aws:rds:*:*:db:{prefix}-{_ENV}-*"],
              )]),
        # Customer-managed keys (the environment key, keys given through litellm_secrets): only
        # through the services that hold our secrets, parameters, objects, dead letters and
        # function environments.
        allow("UseKeysThroughServices", ["kms:Decrypt", "kms:GenerateDataKey"], ["*"],
              [DataAwsIamPolicyDocumentStatementCondition(
                  test="StringLike", variable="kms:ViaService",
                  values=["secretsmanager.*.amazonaws.com", "ssm.*.amazonaws.com", "s3.*.amazonaws.com",
                          "sqs.*.amazonaws.com", "lambda.*.amazonaws.com"],
              )]),
        allow("SendOwnDeadLetters", ["sqs:SendMessage"], [f"arn:aws:sqs:*:*:{prefix}-{_ENV}-*"]),
        # X-Ray defines no resource types for its write actions.
        allow("WriteTraces", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        *(allow(f"ReadExternalSecrets{index}", ["secretsmanager:GetSecretValue", "ssm:GetParameters"],
                # A secret's ARN ends in a random suffix the configuration may leave out.
                sorted({arn if ":ssm:" in arn else f"{arn}*" for arn in arns}),
                [DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable=f"aws:PrincipalTag/{ENVIRONMENT_TAG}", values=[environment],
                )])
          for index, (environment, arns) in enumerate(external_reads) if arns),
        allow("ReadOwnConfigObjects", ["s3:GetObject"], [f"arn:aws:s3:::{prefix}-{_ENV}-*/*"]),
        allow("OwnParameters", ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"],
              [f"arn:aws:ssm:*:*:parameter/{prefix}-{_ENV}/*", f"arn:aws:ssm:*:*:parameter/{prefix}-{_ENV}-*"]),
        allow("OwnService", ["ecs:DescribeServices", "ecs:UpdateService"],
              [f"arn:aws:ecs:*:*:service/{prefix}-{_ENV}-*/*"]),
        allow("OwnAutoscaling",
              ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DescribeScalableTargets"],
              ["*"],
              [DataAwsIamPolicyDocumentStatementCondition(
                  test="StringEquals", variable=f"aws:ResourceTag/{ENVIRONMENT_TAG}", values=[_ENV],
              )]),
        allow("OwnSchedules",
              ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"],
              [f"arn:aws:scheduler:*:*:schedule/{prefix}-{_ENV}-*/*"]),
        allow("InvokeOwnFunctions", ["lambda:InvokeFunction"], [f"arn:aws:lambda:*:*:function:{prefix}-{_ENV}-*"]),
        allow("ReadMetrics", ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics"], ["*"]),
        allow("SsmAgent", SSM_AGENT_ACTIONS, ["*"]),
        allow("PassOwnRolesToScheduler", ["iam:PassRole"], [f"arn:aws:iam::*:role/{prefix}-{_ENV}-*"],
              [DataAwsIamPolicyDocumentStatementCondition(
                  test="StringEquals", variable="iam:PassedToService", values=list(PASSABLE_TO),
              )]),
        # All of IAM, except PassRole to the scheduler: iam:PassedToService is absent from every
        # other IAM request, and a negated operator is true when its key is absent.
        DataAwsIamPolicyDocumentStatement(
            sid="DenyIam", effect="Deny", actions=["iam:*"], resources=["*"],
            condition=[DataAwsIamPolicyDocumentStatementCondition(
                test="StringNotEquals", variable="iam:PassedToService", values=list(PASSABLE_TO),
            )],
        ),
        DataAwsIamPolicyDocumentStatement(
            sid="DenyRoleAssumptionAndAccountLevel", effect="Deny", actions=list(DENIED_ACTIONS), resources=["*"],
        ),
    ]
