"""GitHub Actions access to AWS through OIDC: per environment a ``plan`` role (read-only, no lock
writes: diffs run with ``-lock=false``) and a ``deploy`` role, each limited to its environment's
names (``<name_prefix>-<env>-*``), its ``Environment`` tag and its own state key, all under one CI
boundary.

Why this shape (issue 14):
* One deploy role per environment, trusted only by the GitHub environment of the same name: the dev
  job's credentials cannot change prod, so prod's required reviewers protect something.
* IAM: the deploy roles write roles only when the role carries the workload boundary
  (``iam:PermissionsBoundary`` on CreateRole/PutRolePolicy/AttachRolePolicy/...), may never remove
  a boundary, and write managed policies only under their environment's names (never the CI
  policies or a boundary; attachable only to roles under the workload boundary, never to users or
  groups, never usable as a boundary). A role created with an inline ``*:*`` policy is
  thereby capped by the workload boundary, which denies IAM and role assumption
  (modules/workload_boundary.py): the create-role, put-policy, create-function, invoke escalation
  ends with a function that can do what the workloads can do, in its own environment.
* Services: no ``<service>:*`` on ``*``. Wildcards apply to resources tagged with the role's
  environment (``aws:ResourceTag/Environment``), to creates that tag with it
  (``aws:RequestTag/Environment``; the provider's default tags carry it on every create), and to
  the environment's own names; reads (Describe/List) stay account-wide because a refresh needs them.
  Re-tagging another environment's resources is denied.
* Prod-like environments' plans only run in the GitHub environment ``<env>-plan`` (protect it
  with reviewers): a prod plan reads prod state.

Residual risks (README, security section): the trust policy of a role is not a condition key, so the
deploy role of an environment may trust one of its roles to another account; that role is capped by
the workload boundary to its environment's workload permissions. Resources of other teams that
carry no Environment tag could be tagged into an environment by its deploy role; a dedicated account
per project removes both.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
PLAN_SESSION_SECONDS = 3600
# An RDS or ElastiCache create can outlast an hour; credentials expiring mid-apply leave a
# half-written state and a held lock.
DEPLOY_SESSION_SECONDS = 7200
ENVIRONMENT_TAG = "Environment"
# Suffix of the GitHub environment a prod-like environment's plans run in.
PLAN_ENVIRONMENT_SUFFIX = "-plan"

# Services the roles the stacks create are passed to (see the modules' trust policies).
PASSED_TO_SERVICES = (
    "ecs-tasks.amazonaws.com",
    "lambda.amazonaws.com",
    "scheduler.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "ec2.amazonaws.com",
    "monitoring.rds.amazonaws.com",
)
# Services that create their service-linked role on first use in a fresh account.
SERVICE_LINKED_ROLE_SERVICES = (
    "ecs.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "rds.amazonaws.com",
    "elasticache.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
)
# Services the environment stacks manage; each supports aws:ResourceTag / aws:RequestTag on its
# taggable resources. S3 is scoped by bucket name instead (it has no aws:ResourceTag on objects).
TAGGED_SERVICES = (
    "ec2", "rds", "elasticache", "kms", "sns", "cloudwatch", "logs", "elasticloadbalancing",
    "wafv2", "ecs", "ecr", "lambda", "apigateway", "events", "scheduler", "application-autoscaling",
    "secretsmanager", "ssm", "resource-groups", "sqs",
)
# Actions that create a resource (or tag it at creation), allowed when the request tags it with
# the role's environment. Never TagResource on existing resources: see DenyRetaggingOthers.
CREATE_ACTIONS = (
    *(f"{service}:Create*" for service in TAGGED_SERVICES),
    "ec2:RunInstances", "ec2:AllocateAddress", "ec2:CreateTags",
    "ecs:RegisterTaskDefinition", "ecs:TagResource", "logs:TagResource", "logs:TagLogGroup",
    "lambda:TagResource", "sns:TagResource", "secretsmanager:TagResource", "ssm:AddTagsToResource",
    "ssm:PutParameter", "kms:TagResource", "rds:AddTagsToResource", "elasticache:AddTagsToResource",
    "elasticloadbalancing:AddTags", "ecr:TagResource", "events:TagResource", "events:PutRule",
    "scheduler:TagResource", "wafv2:TagResource", "apigateway:POST", "apigateway:PUT",
    "application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource",
    "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "resource-groups:Tag", "sqs:TagQueue",
    # Security group rules carry the default tags (a security-group-rule resource in the request).
    "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
)
# Services whose tagging actions are not TagResource/UntagResource (listed by name below).
_OWN_TAG_VERBS = ("ec2", "rds", "elasticache", "ssm", "elasticloadbalancing", "resource-groups", "sqs")
# Writing tags on a resource that already belongs to another environment.
TAG_WRITE_ACTIONS = (
    "ec2:CreateTags", "ec2:DeleteTags", "rds:AddTagsToResource", "rds:RemoveTagsFromResource",
    "elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource", "ssm:AddTagsToResource",
    "ssm:RemoveTagsFromResource", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
    "logs:TagLogGroup", "logs:UntagLogGroup", "resource-groups:Tag", "resource-groups:Untag",
    "sqs:TagQueue", "sqs:UntagQueue",
    *(f"{service}:TagResource" for service in TAGGED_SERVICES if service not in _OWN_TAG_VERBS),
    *(f"{service}:UntagResource" for service in TAGGED_SERVICES if service not in _OWN_TAG_VERBS),
)
# Resources RunInstances touches that are not ours to tag: the AMI (Amazon's), and the network
# interface and volume it creates (tagged by the launch template only after creation).
RUN_INSTANCES_SHARED = (
    "arn:aws:ec2:*::image/*", "arn:aws:ec2:*:*:network-interface/*", "arn:aws:ec2:*:*:volume/*",
)
# AWS-owned resources our creates reference.
AWS_OWNED_DEPENDENCIES = (
    "arn:aws:rds:*:*:og:default:*", "arn:aws:rds:*:*:pg:default.*",
    "arn:aws:wafv2:*:*:regional/managedruleset/*",
)
# Writes without resource-level permissions: log deliveries (ElastiCache slow log, API access
# logs), their resource policy, task definition revisions.
UNSCOPABLE_WRITES = (
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "ecs:DeregisterTaskDefinition",
)
# Account-level reads a plan or apply needs that no tag or name can scope.
ACCOUNT_READS = (
    "ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId", "ec2:GetInstanceMetadataDefaults",
    "ec2:GetSecurityGroupsForVpc", "ec2:GetLaunchTemplateData",
    "acm:DescribeCertificate", "acm:ListCertificates", "acm:ListTagsForCertificate",
    "secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword", "ssm:DescribeParameters",
    "sts:GetCallerIdentity",
)
# Describe/List on every managed service (no secret material: not Get*, which includes
# ec2:GetPasswordData, secretsmanager:GetSecretValue and ssm:GetParameter).
DESCRIBE_ACTIONS = tuple(
    action for service in TAGGED_SERVICES for action in (f"{service}:Describe*", f"{service}:List*")
)
# Reads a refresh needs beyond Describe/List, on resources tagged with the environment.
TAGGED_GET_ACTIONS = tuple(
    f"{service}:Get*" for service in TAGGED_SERVICES if service not in ("ec2", "secretsmanager", "ssm")
) + ("secretsmanager:GetResourcePolicy", "ssm:ListTagsForResource")

# Role writes that support the iam:PermissionsBoundary condition key: allowed only with it.
IAM_BOUNDED_ROLE_WRITES = (
    "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
    "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
)
# Role writes without that key: they cannot grant a permission the boundary would not allow.
IAM_OTHER_ROLE_WRITES = (
    "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
    "iam:TagRole", "iam:UntagRole",
)
IAM_INSTANCE_PROFILE_WRITES = (
    "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile",
)
IAM_POLICY_WRITES = (
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
)
# Refresh of the environments' managed policies (e.g. the bastion tunnel operators' policy).
IAM_POLICY_READS = ("iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags")
# Refresh of roles, inline policies, attachments and instance profiles.
IAM_READS = (
    "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole", "iam:ListRoleTags", "iam:GetInstanceProfile",
    "iam:ListInstanceProfileTags",
)
# Long-lived credentials and human identities: nothing the stacks create, the classic escalation.
IAM_IDENTITY_ACTIONS = (
    "iam:*User*", "iam:*Group*", "iam:*AccessKey*", "iam:*LoginProfile*",
    "iam:*SSHPublicKey*", "iam:*ServiceSpecificCredential*", "iam:*SigningCertificate*",
    "iam:*OpenIDConnectProvider*", "iam:*SAMLProvider*",
)


@dataclass(frozen=True, kw_only=True)
class CiEnvironment:
    name: str
    """Stack name (environments/<name>.toml); the GitHub environment its deploys run in."""
    name_prefix: str
    """The environment's ``name_prefix`` (the CI boundary's ceiling is written over it)."""
    resource_prefix: str
    """``<name_prefix>-<environment>``: the only names its roles may write."""
    environment_tag: str
    """Value of the Environment tag on its resources (the environment name)."""
    state_key: str
    """Its state object key in the state bucket."""
    production_like: bool
    """Plans only from the protected GitHub environment ``<name>-plan``."""
    workload_boundary_arn: str
    """The boundary every role it creates must carry (modules/workload_boundary.py)."""
    region: str
    """Its AWS region: account-wide actions (Describe*, creates) are limited to it."""


@dataclass(frozen=True, kw_only=True)
class CiAccessProps:
    repository: str
    """GitHub ``owner/name`` whose workflow runs may assume the roles."""
    deploy_branch: str
    """Pushes to it (and pull requests) may plan non-production environments."""
    environments: tuple[CiEnvironment, ...]
    oidc_provider_arn: str | None = None
    """The account's existing GitHub OIDC provider (one per account); None creates it."""
    role_name_prefix: str = "litellm-ci"
    """Names ``<prefix>-<env>-plan``, ``<prefix>-<env>-deploy`` and the ``<prefix>-boundary`` policy."""
    state_bucket_arn: str
    state_kms_key_arn: str
    lock_table_arn: str | None = None
    """DynamoDB lock table; None = S3 lockfile locking (``<key>.tflock`` objects)."""
    workload_boundary_arns: tuple[str, ...]
    """Every workload boundary (one per name_prefix): no CI role may write them."""

    def __post_init__(self) -> None:
        owner, _, name = self.repository.partition("/")
        if not owner or not name or "/" in name or "*" in self.repository:
            raise ValueError(f"CiAccessProps: repository {self.repository!r} is not owner/name")
        if not self.deploy_branch or any(c in self.deploy_branch for c in "*?"):
            raise ValueError("CiAccessProps: deploy_branch must be a literal branch name")
        if not self.environments:
            raise ValueError("CiAccessProps: at least one environment")
        for env in self.environments:
            if not env.name or any(c in env.name + env.resource_prefix for c in "*?"):
                raise ValueError("CiAccessProps: environment names must be literal")
            # The CI roles must not fall under an environment's own names (its deploy role could
            # rewrite them), nor an environment under theirs (the boundary protects them by prefix).
            # core/config/validate_ci.py reports both as configuration errors first.
            ci, own = f"{self.role_name_prefix}-", f"{env.resource_prefix}-"
            if ci.startswith(own) or own.startswith(ci):
                raise ValueError(f"CiAccessProps: role_name_prefix {self.role_name_prefix!r} falls under {env.resource_prefix}-*")
            if len(f"{self.role_name_prefix}-{env.name}-deploy") > 64:
                raise ValueError(f"CiAccessProps: role name {self.role_name_prefix}-{env.name}-deploy exceeds 64 characters")


def plan_role_name(role_name_prefix: str, environment: str) -> str:
    return f"{role_name_prefix}-{environment}-plan"


def deploy_role_name(role_name_prefix: str, environment: str) -> str:
    return f"{role_name_prefix}-{environment}-deploy"


class CiAccess(Construct):
    """Exposes ``plan_role_arns`` and ``deploy_role_arns`` (environment -> ARN), ``boundary_arn``
    and ``oidc_provider_arn``."""

    def __init__(self, scope: Construct, id_: str, *, props: CiAccessProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        rp = props.role_name_prefix
        self.boundary_name = f"{rp}-boundary"

        if props.oidc_provider_arn is None:
            # thumbprint_list is optional since provider 5.81 and AWS no longer checks GitHub's
            # certificate thumbprints (it trusts its own CA store for this host).
            provider = IamOpenidConnectProvider(
                self, "github-oidc-provider",
                url=GITHUB_OIDC_URL,
                client_id_list=[STS_AUDIENCE],
                tags={"Name": f"{rp}-github"},
            )
            self.oidc_provider_arn: str = provider.arn
        else:
            self.oidc_provider_arn = props.oidc_provider_arn

        boundary = IamPolicy(
            self, "boundary",
            name=self.boundary_name,
            description="Caps the GitHub Actions plan/deploy roles: IAM only under the workload boundary, no self-editing.",
            policy=DataAwsIamPolicyDocument(self, "boundary-document", statement=self._boundary_statements()).json,
        )
        self.boundary_arn: str = boundary.arn

        self.plan_role_arns: dict[str, str] = {}
        self.deploy_role_arns: dict[str, str] = {}
        repo = props.repository
        for env in props.environments:
            if env.production_like:
                plan_subjects = [f"repo:{repo}:environment:{env.name}{PLAN_ENVIRONMENT_SUFFIX}"]
            else:
                # Pull requests (forks get no OIDC token) and pushes to the deploy branch.
                plan_subjects = [f"repo:{repo}:pull_request", f"repo:{repo}:ref:refs/heads/{props.deploy_branch}"]
            # The reads both roles need, as a managed policy: a role's inline policies share one
            # 10,240-character budget, which the deploy role's writes need.
            read = IamPolicy(
                self, f"{env.name}-read",
                name=f"{rp}-{env.name}-read",
                description=f"What a plan or deploy of {env.name} reads",
                policy=DataAwsIamPolicyDocument(self, f"{env.name}-read-document", statement=self._read_statements(env)).json,
            )
            plan = self._role(
                env, "plan", plan_role_name(rp, env.name), plan_subjects, PLAN_SESSION_SECONDS,
                f"GitHub Actions plan of {env.name} ({repo})", self._plan_statements(env), read,
            )
            deploy = self._role(
                env, "deploy", deploy_role_name(rp, env.name), [f"repo:{repo}:environment:{env.name}"],
                DEPLOY_SESSION_SECONDS, f"GitHub Actions deploy of {env.name} ({repo}, GitHub environment {env.name})",
                self._deploy_statements(env), read,
            )
            self.plan_role_arns[env.name] = plan.arn
            self.deploy_role_arns[env.name] = deploy.arn

    def _role(self, env: CiEnvironment, kind: str, name: str, subjects: list[str], session: int,
              description: str, statements: list[DataAwsIamPolicyDocumentStatement], read: IamPolicy) -> IamRole:
        role = IamRole(
            self, f"{env.name}-{kind}-role",
            name=name,
            description=description,
            assume_role_policy=self._trust(f"{env.name}-{kind}-trust", subjects).json,
            max_session_duration=session,
            permissions_boundary=self.boundary_arn,
            # The boundary's DenyRetaggingOthers compares resource tags with this one.
            tags={ENVIRONMENT_TAG: env.environment_tag},
        )
        IamRolePolicy(
            self, f"{env.name}-{kind}-policy",
            name=name,
            role=role.id,
            policy=DataAwsIamPolicyDocument(self, f"{env.name}-{kind}-document", statement=statements).json,
        )
        IamRolePolicyAttachment(self, f"{env.name}-{kind}-read", role=role.name, policy_arn=read.arn)
        return role

    # ARNs -------------------------------------------------------------------------------------

    def _ci_role_arns(self) -> list[str]:
        return [f"arn:aws:iam::*:role/{self.props.role_name_prefix}-*"]

    def _boundary_policy_arns(self) -> list[str]:
        """The CI boundary, the roles' read policies (``<role_name_prefix>-*``) and the workload
        boundaries: no CI role may write them, though the project's policy names cover them."""
        return [f"arn:aws:iam::*:policy/{self.props.role_name_prefix}-*", *self.props.workload_boundary_arns]

    @staticmethod
    def _names(service_arn: str, env: CiEnvironment) -> list[str]:
        """The environment's names under ``service_arn``: ``<prefix>-<env>-*`` and ``.../*``."""
        return [f"{service_arn}{env.resource_prefix}-*", f"{service_arn}{env.resource_prefix}/*"]

    def _named_resources(self, env: CiEnvironment) -> dict[str, list[str]]:
        """Service -> ARN patterns of the environment's own resources (see the modules' names)."""
        rp = env.resource_prefix
        return {
            "lambda": [f"arn:aws:lambda:*:*:function:{rp}-*"],
            "logs": [f"arn:aws:logs:*:*:log-group:*/{rp}-*", f"arn:aws:logs:*:*:log-group:*/{rp}/*"],
            "secretsmanager": self._names("arn:aws:secretsmanager:*:*:secret:", env),
            "ssm": [f"arn:aws:ssm:*:*:parameter/{rp}/*", f"arn:aws:ssm:*:*:parameter/{rp}-*"],
            "ecs": [f"arn:aws:ecs:*:*:cluster/{rp}-*", f"arn:aws:ecs:*:*:service/{rp}-*/*",
                    f"arn:aws:ecs:*:*:task-definition/{rp}-*"],
            "sns": [f"arn:aws:sns:*:*:{rp}-*"],
            "rds": [f"arn:aws:rds:*:*:db:{rp}-*", f"arn:aws:rds:*:*:pg:{rp}-*", f"arn:aws:rds:*:*:subgrp:{rp}-*",
                    f"arn:aws:rds:*:*:snapshot:{rp}-*"],
            "elasticache": [f"arn:aws:elasticache:*:*:replicationgroup:{rp}-*",
                            f"arn:aws:elasticache:*:*:parametergroup:{rp}-*",
                            f"arn:aws:elasticache:*:*:subnetgroup:{rp}-*", f"arn:aws:elasticache:*:*:cluster:{rp}-*",
                            # A delete's final snapshot is created untagged.
                            f"arn:aws:elasticache:*:*:snapshot:{rp}-*"],
            "ecr": self._names("arn:aws:ecr:*:*:repository/", env),
            "events": [f"arn:aws:events:*:*:rule/{rp}-*"],
            "scheduler": [f"arn:aws:scheduler:*:*:schedule-group/{rp}-*", f"arn:aws:scheduler:*:*:schedule/{rp}-*/*"],
            "elasticloadbalancing": [f"arn:aws:elasticloadbalancing:*:*:loadbalancer/app/{rp}-*/*",
                                     f"arn:aws:elasticloadbalancing:*:*:targetgroup/{rp}-*/*",
                                     f"arn:aws:elasticloadbalancing:*:*:listener/app/{rp}-*/*",
                                     f"arn:aws:elasticloadbalancing:*:*:listener-rule/app/{rp}-*/*"],
            "wafv2": [f"arn:aws:wafv2:*:*:regional/webacl/{rp}-*/*"],
            "kms": [f"arn:aws:kms:*:*:alias/{rp}", f"arn:aws:kms:*:*:alias/{rp}-*"],
            "resource-groups": [f"arn:aws:resource-groups:*:*:group/{rp}"],
            "cloudwatch": [f"arn:aws:cloudwatch:*:*:alarm:{rp}-*"],
            "sqs": [f"arn:aws:sqs:*:*:{rp}-*"],
        }

    # Statements -------------------------------------------------------------------------------

    def _trust(self, id_: str, subjects: list[str]) -> DataAwsIamPolicyDocument:
        return DataAwsIamPolicyDocument(
            self, id_,
            statement=[DataAwsIamPolicyDocumentStatement(
                effect="Allow",
                actions=["sts:AssumeRoleWithWebIdentity"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Federated", identifiers=[self.oidc_provider_arn],
                )],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable=f"{GITHUB_OIDC_HOST}:aud", values=[STS_AUDIENCE],
                    ),
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable=f"{GITHUB_OIDC_HOST}:sub", values=subjects,
                    ),
                ],
            )],
        )

    def _state_statements(self, env: CiEnvironment, *, write: bool) -> list[DataAwsIamPolicyDocumentStatement]:
        """The environment's own state object (and, for deploys, its lock); never another key."""
        props = self.props
        bucket = props.state_bucket_arn
        state_object = f"{bucket}/{env.state_key}"
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid="StateList", effect="Allow", actions=["s3:ListBucket"], resources=[bucket],
                # Terraform also lists the workspaces ("env:/") at init.
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringLike", variable="s3:prefix", values=[env.state_key, f"{env.state_key}*", "env:/", "env:/*"],
                )],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="StateObject", effect="Allow",
                actions=["s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"],
                resources=[state_object],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="StateKey", effect="Allow",
                # A plan role encrypts too: it saves plans (the bucket key needs GenerateDataKey).
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[props.state_kms_key_arn],
            ),
        ]
        if props.lock_table_arn is not None:
            # A plan without a lock still reads the state digest the backend keeps in the table.
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="StateLockTable", effect="Allow",
                actions=["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
                if write else ["dynamodb:GetItem"],
                resources=[props.lock_table_arn],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="ForAllValues:StringLike", variable="dynamodb:LeadingKeys",
                    values=[f"*/{env.state_key}", f"*/{env.state_key}-md5"],
                )],
            ))
        elif write:
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="StateLockFile", effect="Allow",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[f"{state_object}.tflock"],
            ))
        if write:
            # Saved plans from the deploy workflow (.github/workflows/deploy.yml).
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="SavedPlans", effect="Allow", actions=["s3:GetObject"],
                resources=[f"{bucket}/{self._plans_prefix(env)}*"],
            ))
        return statements

    @staticmethod
    def _plans_prefix(env: CiEnvironment) -> str:
        return env.state_key.rsplit("/", 1)[0] + "/plans/"

    def _tag_condition(self, kind: str, env: CiEnvironment) -> list[DataAwsIamPolicyDocumentStatementCondition]:
        return [DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable=f"aws:{kind}/{ENVIRONMENT_TAG}", values=[env.environment_tag],
        ), self._in_regions([env.region])]

    @staticmethod
    def _in_regions(regions: list[str]) -> DataAwsIamPolicyDocumentStatementCondition:
        """Account-wide statements stay in the environment's region (the project's, for the
        boundary): resource "*" is never all of AWS."""
        return DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable="aws:RequestedRegion", values=sorted(set(regions)),
        )

    def _read_statements(self, env: CiEnvironment) -> list[DataAwsIamPolicyDocumentStatement]:
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="Describe", effect="Allow", actions=[*DESCRIBE_ACTIONS, *ACCOUNT_READS], resources=["*"],
                condition=[self._in_regions([env.region])],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ReadOwnTagged", effect="Allow", actions=list(TAGGED_GET_ACTIONS), resources=["*"],
                condition=self._tag_condition("ResourceTag", env),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ReadOwnConfiguration", effect="Allow",
                actions=["s3:GetBucket*", "s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration",
                         "s3:GetAccelerateConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket",
                         "s3:GetObject", "s3:GetObjectTagging",
                         "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
                         "iam:ListInstanceProfilesForRole", "iam:ListRoleTags", "iam:GetInstanceProfile",
                         "iam:ListInstanceProfileTags", *IAM_POLICY_READS],
                resources=[f"arn:aws:s3:::{env.resource_prefix}-*", f"arn:aws:s3:::{env.resource_prefix}-*/*",
                           f"arn:aws:iam::*:role/{env.resource_prefix}-*",
                           f"arn:aws:iam::*:instance-profile/{env.resource_prefix}-*",
                           f"arn:aws:iam::*:policy/{env.resource_prefix}-*"],
            ),
            # HTTP API routes, integrations and stages carry no tags or names (see ApiGatewayParts).
            DataAwsIamPolicyDocumentStatement(
                sid="ReadApiParts", effect="Allow", actions=["apigateway:GET"],
                resources=["arn:aws:apigateway:*::/apis/*"], condition=[self._in_regions([env.region])],
            ),
        ]

    def _plan_statements(self, env: CiEnvironment) -> list[DataAwsIamPolicyDocumentStatement]:
        return [
            # Refreshing aws_secretsmanager_secret_version calls GetSecretValue: this environment's
            # secrets only, never rds!* (every RDS-managed password in the region).
            DataAwsIamPolicyDocumentStatement(
                sid="ReadOwnSecretValues", effect="Allow",
                actions=["secretsmanager:GetSecretValue"],
                resources=self._names("arn:aws:secretsmanager:*:*:secret:", env),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ReadOwnParameters", effect="Allow", actions=["ssm:GetParameter", "ssm:GetParameters"],
                resources=self._named_resources(env)["ssm"],
            ),
            *self._state_statements(env, write=False),
            # Saved plans of the deploy workflow; the apply job checks the digest it was handed.
            DataAwsIamPolicyDocumentStatement(
                sid="WriteSavedPlans", effect="Allow", actions=["s3:PutObject"],
                resources=[f"{self.props.state_bucket_arn}/{self._plans_prefix(env)}*"],
            ),
        ]

    def _deploy_statements(self, env: CiEnvironment) -> list[DataAwsIamPolicyDocumentStatement]:
        services = [f"{service}:*" for service in TAGGED_SERVICES]
        named = self._named_resources(env)
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="ManageOwnTagged", effect="Allow", actions=services, resources=["*"],
                condition=self._tag_condition("ResourceTag", env),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="CreateOwnTagged", effect="Allow", actions=list(CREATE_ACTIONS), resources=["*"],
                condition=self._tag_condition("RequestTag", env),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ManageOwnNames", effect="Allow",
                actions=sorted(f"{service}:*" for service in named),
                resources=sorted({arn for arns in named.values() for arn in arns}),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ManageOwnBuckets", effect="Allow", actions=["s3:*"],
                resources=[f"arn:aws:s3:::{env.resource_prefix}-*", f"arn:aws:s3:::{env.resource_prefix}-*/*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="RunInstancesSharedResources", effect="Allow", actions=["ec2:RunInstances"],
                resources=list(RUN_INSTANCES_SHARED),
            ),
            # AWS-owned things a create names: the default RDS option group, AWS managed WAF rules.
            DataAwsIamPolicyDocumentStatement(
                sid="AwsOwnedDependencies", effect="Allow",
                actions=["rds:CreateDBInstance", "rds:ModifyDBInstance", "wafv2:CreateWebACL", "wafv2:UpdateWebACL"],
                resources=list(AWS_OWNED_DEPENDENCIES),
            ),
            # RDS names and tags its managed master-user secret itself (rds!db-...).
            DataAwsIamPolicyDocumentStatement(
                sid="RdsManagedSecretCreate", effect="Allow",
                actions=["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
                resources=["arn:aws:secretsmanager:*:*:secret:rds!*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="RdsManagedSecret", effect="Allow", actions=["secretsmanager:*"],
                resources=["arn:aws:secretsmanager:*:*:secret:rds!*"],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringLike", variable="secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn",
                    values=[f"arn:aws:rds:*:*:db:{env.resource_prefix}-*"],
                )],
            ),
            # Actions IAM cannot scope to a resource (log deliveries, task definition revisions).
            DataAwsIamPolicyDocumentStatement(
                sid="Unscopable", effect="Allow", actions=list(UNSCOPABLE_WRITES), resources=["*"],
                condition=[self._in_regions([env.region])],
            ),
            # HTTP API sub-resources (routes, integrations, stages) carry no tags and no names;
            # the API itself is tag-scoped. Residual risk: another team's HTTP API routes.
            DataAwsIamPolicyDocumentStatement(
                sid="ApiGatewayParts", effect="Allow",
                actions=["apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE"],
                resources=["arn:aws:apigateway:*::/apis/*/*"], condition=[self._in_regions([env.region])],
            ),
            # Tags written by a create call (ec2 tags on create carry ec2:CreateAction).
            DataAwsIamPolicyDocumentStatement(
                sid="TagOnCreate", effect="Allow", actions=["ec2:CreateTags"], resources=["*"],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="Null", variable="ec2:CreateAction", values=["false"],
                ), self._in_regions([env.region])],
            ),
            *self._iam_statements(env),
            *self._state_statements(env, write=True),
        ]

    def _iam_statements(self, env: CiEnvironment) -> list[DataAwsIamPolicyDocumentStatement]:
        role = f"arn:aws:iam::*:role/{env.resource_prefix}-*"
        profile = f"arn:aws:iam::*:instance-profile/{env.resource_prefix}-*"
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="RoleWritesUnderWorkloadBoundary", effect="Allow",
                actions=list(IAM_BOUNDED_ROLE_WRITES), resources=[role],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="iam:PermissionsBoundary", values=[env.workload_boundary_arn],
                )],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="OtherRoleWrites", effect="Allow", actions=list(IAM_OTHER_ROLE_WRITES), resources=[role],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="InstanceProfiles", effect="Allow", actions=list(IAM_INSTANCE_PROFILE_WRITES), resources=[profile],
            ),
            # Managed policies of the environment's names (the bastion tunnel operators' policy).
            # They cannot lift a ceiling: a role of ours takes one only under the workload
            # boundary (AttachRolePolicy above), no CI role touches users or groups
            # (DenyIdentities), and none becomes a boundary (the boundary condition names the
            # workload boundary). Whoever attaches one to a human identity trusts this
            # environment's deploys with its content (README, security section).
            DataAwsIamPolicyDocumentStatement(
                sid="OwnManagedPolicies", effect="Allow", actions=list(IAM_POLICY_WRITES),
                resources=[f"arn:aws:iam::*:policy/{env.resource_prefix}-*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="PassOwnRoles", effect="Allow", actions=["iam:PassRole"], resources=[role],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="iam:PassedToService", values=list(PASSED_TO_SERVICES),
                )],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="CreateServiceLinkedRoles", effect="Allow",
                actions=["iam:CreateServiceLinkedRole"],
                resources=["arn:aws:iam::*:role/aws-service-role/*"],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="iam:AWSServiceName", values=list(SERVICE_LINKED_ROLE_SERVICES),
                )],
            ),
            # A role's Environment tag scopes what the workload boundary lets it reach.
            DataAwsIamPolicyDocumentStatement(
                sid="RolesTaggedWithOwnEnvironment", effect="Deny", actions=["iam:CreateRole", "iam:TagRole"],
                resources=["*"],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringNotEquals", variable=f"aws:RequestTag/{ENVIRONMENT_TAG}", values=[env.environment_tag],
                )],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="KeepRoleEnvironmentTag", effect="Deny", actions=["iam:UntagRole"], resources=["*"],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="ForAnyValue:StringEquals", variable="aws:TagKeys", values=[ENVIRONMENT_TAG],
                )],
            ),
        ]

    def _boundary_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        """The ceiling of every CI role: what any environment's roles may do, written over all
        environments (the per-role policies narrow it to one), plus the denials no role policy
        can lift."""
        props = self.props
        boundaries = sorted({env.workload_boundary_arn for env in props.environments})
        # Written over the project prefixes, so the document does not grow with each environment
        # (managed policies are capped at 6,144 characters); each role's own policy narrows it.
        prefixes = sorted({env.name_prefix for env in props.environments})
        roles = [f"arn:aws:iam::*:role/{prefix}-*" for prefix in prefixes]
        policies = [f"arn:aws:iam::*:policy/{prefix}-*" for prefix in prefixes]
        profiles = [f"arn:aws:iam::*:instance-profile/{prefix}-*" for prefix in prefixes]
        return [
            # The services' ceiling; each role's own policy scopes them to its environment's tags
            # and names, and no CI role can edit its policy (DenyEditingCiRoles).
            DataAwsIamPolicyDocumentStatement(
                sid="Services", effect="Allow",
                actions=[*(f"{service}:*" for service in TAGGED_SERVICES), *ACCOUNT_READS], resources=["*"],
                condition=[self._in_regions([env.region for env in props.environments])],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ProjectBuckets", effect="Allow", actions=["s3:*"],
                resources=[arn for prefix in prefixes for arn in (f"arn:aws:s3:::{prefix}-*", f"arn:aws:s3:::{prefix}-*/*")],
            ),
            # Writing tags on a resource of another environment would hand it to this one. CI roles
            # carry their environment's tag (see _role).
            DataAwsIamPolicyDocumentStatement(
                sid="DenyRetaggingOthers", effect="Deny", actions=list(TAG_WRITE_ACTIONS), resources=["*"],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="Null", variable=f"aws:ResourceTag/{ENVIRONMENT_TAG}", values=["false"],
                    ),
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringNotEquals", variable=f"aws:ResourceTag/{ENVIRONMENT_TAG}",
                        values=[f"&{{aws:PrincipalTag/{ENVIRONMENT_TAG}}}"],
                    ),
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="RoleWritesUnderWorkloadBoundary", effect="Allow",
                actions=list(IAM_BOUNDED_ROLE_WRITES), resources=roles,
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="iam:PermissionsBoundary", values=boundaries,
                )],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="OtherIam", effect="Allow",
                actions=[*IAM_OTHER_ROLE_WRITES, *IAM_INSTANCE_PROFILE_WRITES, *IAM_READS, "iam:PassRole"],
                resources=roles + profiles,
            ),
            # The CI policies and the workload boundaries match these too: DenyEditingBoundaries.
            DataAwsIamPolicyDocumentStatement(
                sid="ProjectPolicies", effect="Allow", actions=[*IAM_POLICY_WRITES, *IAM_POLICY_READS],
                resources=policies,
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="CreateServiceLinkedRoles", effect="Allow", actions=["iam:CreateServiceLinkedRole"],
                resources=["arn:aws:iam::*:role/aws-service-role/*"],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="iam:AWSServiceName", values=list(SERVICE_LINKED_ROLE_SERVICES),
                )],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="State", effect="Allow",
                actions=["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                         "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
                         "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[props.state_bucket_arn, f"{props.state_bucket_arn}/*", props.state_kms_key_arn,
                           *([props.lock_table_arn] if props.lock_table_arn else [])],
            ),
            # No users, groups, access keys or identity providers: long-lived credentials and
            # new federations are how a short-lived CI session would outlive itself.
            DataAwsIamPolicyDocumentStatement(
                sid="DenyIdentities", effect="Deny", actions=list(IAM_IDENTITY_ACTIONS), resources=["*"],
            ),
            # Removing a boundary lifts it: never, on any role.
            DataAwsIamPolicyDocumentStatement(
                sid="DenyRemovingBoundaries", effect="Deny",
                actions=["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], resources=["*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DenyEditingCiRoles", effect="Deny",
                actions=[*IAM_BOUNDED_ROLE_WRITES, *IAM_OTHER_ROLE_WRITES, "iam:PassRole"],
                resources=self._ci_role_arns(),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DenyEditingBoundaries", effect="Deny",
                actions=list(IAM_POLICY_WRITES), resources=self._boundary_policy_arns(),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DenyRoleAssumptionAndAccountLevel", effect="Deny",
                actions=["sts:AssumeRole", "sts:GetFederationToken", "organizations:*", "account:*"],
                resources=["*"],
            ),
        ]
