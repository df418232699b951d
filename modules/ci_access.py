"""GitHub Actions access to AWS through OIDC: a read-mostly ``plan`` role any workflow run of the
repository may assume, a ``deploy`` role only the deploy branch and the deploy environments may
assume, and a permissions boundary on both that caps what they can ever do.

Why a boundary when the roles' own policies are already scoped: the deploy role must be able to
write IAM (the stacks create roles), and the boundary is the one document the deploy role cannot
edit, so the guarantees below hold even if its own inline policy were widened.

Residual risk (read before enabling): the environment stacks create roles without a boundary, so
the deploy role may create or edit any ``<name_prefix>-*`` role with an arbitrary trust policy and
inline policy (IAM has no condition key on a policy's *content*), then pass it to Lambda/ECS/EC2 or
let an outside principal assume it. Whoever can run the deploy workflow is therefore effectively an
administrator of the account; the guards are GitHub's (branch protection, environment reviewers)
and a dedicated AWS account per project. Closing this needs a workload boundary on every project
role and a ``iam:PermissionsBoundary`` condition on CreateRole/PutRolePolicy/AttachRolePolicy.
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

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
PLAN_SESSION_SECONDS = 3600
# An RDS or ElastiCache create can outlast an hour; credentials expiring mid-apply leave a
# half-written state and a held lock.
DEPLOY_SESSION_SECONDS = 7200

# Services the roles the stacks create are passed to (see the modules' trust policies).
PASSED_TO_SERVICES = (
    "ecs-tasks.amazonaws.com",
    "lambda.amazonaws.com",
    "scheduler.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "ec2.amazonaws.com",
)
# Services that create their service-linked role on first use in a fresh account.
SERVICE_LINKED_ROLE_SERVICES = (
    "ecs.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "rds.amazonaws.com",
    "elasticache.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
)
ADMIN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")

# Non-IAM services the environment stacks manage, written with service wildcards (resource "*"):
# their resource names are too varied to scope, and the boundary keeps IAM, the escalation path,
# separately scoped. S3 and Secrets Manager are scoped by name below instead.
MANAGED_SERVICES = (
    "ec2", "rds", "elasticache", "kms", "sns", "cloudwatch", "logs", "elasticloadbalancing",
    "wafv2", "ecs", "ecr", "lambda", "apigateway", "events", "scheduler", "application-autoscaling",
)
# ACM certificates are imported by ARN, never created by the stacks.
ACM_READ = ("acm:DescribeCertificate", "acm:ListCertificates", "acm:ListTagsForCertificate", "acm:GetCertificate")

# Read-only actions a plan's refresh needs. Logs content (logs:Get*) and image layers are left out:
# a plan never reads them.
PLAN_READ_ACTIONS = (
    # Not ec2:Get*: it includes GetPasswordData (Windows administrator passwords).
    "ec2:Describe*", "ec2:GetLaunchTemplateData", "ec2:GetEbsEncryptionByDefault",
    "ec2:GetEbsDefaultKmsKeyId", "ec2:GetInstanceMetadataDefaults", "ec2:GetSecurityGroupsForVpc",
    "rds:Describe*", "rds:List*",
    "elasticache:Describe*", "elasticache:List*",
    "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecrets", "secretsmanager:ListSecretVersionIds",
    "kms:Describe*", "kms:Get*", "kms:List*",
    "sns:Get*", "sns:List*",
    "cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*",
    "logs:Describe*", "logs:List*",
    "elasticloadbalancing:Describe*",
    "wafv2:Get*", "wafv2:List*",
    *ACM_READ,
    "ecs:Describe*", "ecs:List*",
    "ecr:Describe*", "ecr:List*", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
    "lambda:Get*", "lambda:List*",
    "apigateway:GET",
    "events:Describe*", "events:List*",
    "scheduler:Get*", "scheduler:List*",
    "ssm:DescribeParameters", "ssm:ListTagsForResource",
    "application-autoscaling:Describe*",
    "sts:GetCallerIdentity",
)

IAM_ROLE_WRITES = (
    "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:TagRole", "iam:UntagRole",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "iam:PassRole",
)
IAM_POLICY_WRITES = (
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
)
IAM_INSTANCE_PROFILE_WRITES = (
    "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile",
)
IAM_WRITES = IAM_ROLE_WRITES + IAM_POLICY_WRITES + IAM_INSTANCE_PROFILE_WRITES
# Refresh of roles, inline policies, attachments and instance profiles.
IAM_READS = (
    "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole", "iam:ListRoleTags", "iam:GetPolicy", "iam:GetPolicyVersion",
    "iam:ListPolicyVersions", "iam:ListPolicyTags", "iam:GetInstanceProfile", "iam:ListInstanceProfileTags",
)
# Long-lived credentials and human identities: nothing the stacks create, the classic escalation.
IAM_IDENTITY_ACTIONS = (
    "iam:*User*", "iam:*Group*", "iam:*AccessKey*", "iam:*LoginProfile*",
    "iam:*SSHPublicKey*", "iam:*ServiceSpecificCredential*", "iam:*SigningCertificate*",
    "iam:*OpenIDConnectProvider*", "iam:*SAMLProvider*",
)


@dataclass(frozen=True, kw_only=True)
class CiAccessProps:
    repository: str
    """GitHub ``owner/name`` whose workflow runs may assume the roles."""
    deploy_branch: str
    """Runs on ``refs/heads/<deploy_branch>`` may assume the deploy role."""
    deploy_environments: tuple[str, ...]
    """GitHub environments whose jobs may assume the deploy role (protect them with reviewers)."""
    oidc_provider_arn: str | None = None
    """The account's existing GitHub OIDC provider (one per account); None creates it."""
    role_name_prefix: str = "litellm-ci"
    """Names ``<prefix>-plan``, ``<prefix>-deploy`` and the ``<prefix>-boundary`` policy."""
    name_prefix: str = "litellm"
    """Prefix of everything the environment stacks create (``<name_prefix>-*``): the only IAM
    roles/policies/instance profiles, buckets and secrets the roles may touch."""
    state_bucket_arn: str
    lock_table_arn: str | None = None
    """DynamoDB lock table; None = S3 lockfile locking (``<key>.tflock`` objects)."""
    region: str

    def __post_init__(self) -> None:
        owner, _, name = self.repository.partition("/")
        if not owner or not name or "/" in name or "*" in self.repository:
            raise ValueError(f"CiAccessProps: repository {self.repository!r} is not owner/name")
        if not self.deploy_branch or any(c in self.deploy_branch for c in "*?"):
            raise ValueError("CiAccessProps: deploy_branch must be a literal branch name")
        if any(not env or any(c in env for c in "*?") for env in self.deploy_environments):
            raise ValueError("CiAccessProps: deploy_environments must be literal names")
        if self.role_name_prefix == self.name_prefix:
            # The boundary protects the CI roles by exact name; sharing the project prefix as a
            # whole would make the project pattern and the protected names indistinguishable.
            raise ValueError("CiAccessProps: role_name_prefix must differ from name_prefix")


class CiAccess(Construct):
    """Exposes ``plan_role_arn``, ``deploy_role_arn``, ``boundary_arn`` and ``oidc_provider_arn``."""

    def __init__(self, scope: Construct, id_: str, *, props: CiAccessProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        rp = props.role_name_prefix
        self.plan_role_name = f"{rp}-plan"
        self.deploy_role_name = f"{rp}-deploy"
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
            description="Caps the GitHub Actions plan/deploy roles: no IAM outside the project prefix, no self-editing.",
            policy=DataAwsIamPolicyDocument(self, "boundary-document", statement=self._boundary_statements()).json,
        )
        self.boundary_arn: str = boundary.arn

        repo = props.repository
        plan_role = IamRole(
            self, "plan-role",
            name=self.plan_role_name,
            description=f"GitHub Actions plan (any run of {repo})",
            # Any ref, pull request or environment of the repository: plans of unmerged changes
            # are the point. Forks get no OIDC token on pull_request events.
            assume_role_policy=self._trust("plan-trust", "StringLike", [f"repo:{repo}:*"]).json,
            max_session_duration=PLAN_SESSION_SECONDS,
            permissions_boundary=boundary.arn,
        )
        IamRolePolicy(
            self, "plan-policy",
            name=self.plan_role_name,
            role=plan_role.id,
            policy=DataAwsIamPolicyDocument(self, "plan-document", statement=self._plan_statements()).json,
        )
        self.plan_role_arn: str = plan_role.arn

        deploy_subjects = [f"repo:{repo}:ref:refs/heads/{props.deploy_branch}"] + [
            f"repo:{repo}:environment:{env}" for env in props.deploy_environments
        ]
        deploy_role = IamRole(
            self, "deploy-role",
            name=self.deploy_role_name,
            description=f"GitHub Actions deploy ({repo} {props.deploy_branch} and deploy environments)",
            assume_role_policy=self._trust("deploy-trust", "StringEquals", deploy_subjects).json,
            max_session_duration=DEPLOY_SESSION_SECONDS,
            permissions_boundary=boundary.arn,
        )
        IamRolePolicy(
            self, "deploy-policy",
            name=self.deploy_role_name,
            role=deploy_role.id,
            policy=DataAwsIamPolicyDocument(self, "deploy-document", statement=self._deploy_statements()).json,
        )
        self.deploy_role_arn: str = deploy_role.arn

    # ARNs -------------------------------------------------------------------------------------

    def _project_iam_arns(self) -> list[str]:
        np = self.props.name_prefix
        return [
            f"arn:aws:iam::*:role/{np}-*",
            f"arn:aws:iam::*:policy/{np}-*",
            f"arn:aws:iam::*:instance-profile/{np}-*",
        ]

    def _project_role_arn(self) -> str:
        return f"arn:aws:iam::*:role/{self.props.name_prefix}-*"

    def _ci_role_arns(self) -> list[str]:
        return [f"arn:aws:iam::*:role/{self.plan_role_name}", f"arn:aws:iam::*:role/{self.deploy_role_name}"]

    def _boundary_policy_arn(self) -> str:
        return f"arn:aws:iam::*:policy/{self.boundary_name}"

    def _project_bucket_arns(self) -> list[str]:
        np = self.props.name_prefix
        return [f"arn:aws:s3:::{np}-*", f"arn:aws:s3:::{np}-*/*"]

    def _project_parameter_arns(self) -> list[str]:
        return [f"arn:aws:ssm:*:*:parameter/{self.props.name_prefix}-*"]

    def _project_secret_arns(self) -> list[str]:
        region, np = self.props.region, self.props.name_prefix
        return [
            f"arn:aws:secretsmanager:{region}:*:secret:{np}-*",
            # RDS-managed master user secrets are named by RDS, not by us.
            f"arn:aws:secretsmanager:{region}:*:secret:rds!*",
        ]

    # Statements -------------------------------------------------------------------------------

    def _trust(self, id_: str, sub_test: str, subjects: list[str]) -> DataAwsIamPolicyDocument:
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
                        test=sub_test, variable=f"{GITHUB_OIDC_HOST}:sub", values=subjects,
                    ),
                ],
            )],
        )

    def _state_statements(self, *, write: bool) -> list[DataAwsIamPolicyDocumentStatement]:
        """Reading the state, and taking/releasing the lock (a plan locks too)."""
        props = self.props
        bucket = props.state_bucket_arn
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid="StateList", effect="Allow", actions=["s3:ListBucket"], resources=[bucket],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="StateObjects", effect="Allow",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write else ["s3:GetObject"],
                resources=[f"{bucket}/*"],
            ),
        ]
        if props.lock_table_arn is not None:
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="StateLockTable", effect="Allow",
                actions=["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                resources=[props.lock_table_arn],
            ))
        elif not write:
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="StateLockFile", effect="Allow",
                actions=["s3:PutObject", "s3:DeleteObject"],
                resources=[f"{bucket}/*.tflock"],
            ))
        return statements

    def _plan_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="ReadManagedServices", effect="Allow", actions=list(PLAN_READ_ACTIONS), resources=["*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ReadProjectIam", effect="Allow", actions=list(IAM_READS), resources=self._project_iam_arns(),
            ),
            # SecureString values: only the project's parameters.
            DataAwsIamPolicyDocumentStatement(
                sid="ReadProjectParameters", effect="Allow",
                actions=["ssm:GetParameter", "ssm:GetParameters"], resources=self._project_parameter_arns(),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ReadProjectBuckets", effect="Allow",
                actions=["s3:Get*", "s3:List*"], resources=self._project_bucket_arns(),
            ),
            # Deliberate: refreshing aws_secretsmanager_secret_version and the existing-secret data
            # sources calls GetSecretValue, and the state this role must read already holds every
            # one of these values, so withholding it would break plans without protecting anything.
            DataAwsIamPolicyDocumentStatement(
                sid="ReadProjectSecretValues", effect="Allow",
                actions=["secretsmanager:GetSecretValue"], resources=self._project_secret_arns(),
            ),
            *self._state_statements(write=False),
        ]

    def _iam_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        """IAM for the deploy role and the boundary alike: only on the project's names."""
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="ManageProjectIam", effect="Allow",
                actions=sorted(set(IAM_READS + IAM_WRITES) - {"iam:PassRole"}),
                resources=self._project_iam_arns(),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="PassProjectRoles", effect="Allow",
                actions=["iam:PassRole"],
                resources=[self._project_role_arn()],
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
        ]

    def _write_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        """Everything the environment stacks create, outside IAM."""
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="ManageServices", effect="Allow",
                actions=[f"{service}:*" for service in MANAGED_SERVICES] + list(ACM_READ) + ["sts:GetCallerIdentity"],
                resources=["*"],
            ),
            # Scoped to parameters: ssm:* on "*" would include SendCommand/StartSession on every
            # instance in the account, i.e. their instance roles.
            DataAwsIamPolicyDocumentStatement(
                sid="ManageProjectParameters", effect="Allow",
                actions=["ssm:*"], resources=self._project_parameter_arns(),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DescribeParameters", effect="Allow", actions=["ssm:DescribeParameters"], resources=["*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ManageProjectBuckets", effect="Allow", actions=["s3:*"], resources=self._project_bucket_arns(),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ManageProjectSecrets", effect="Allow",
                actions=["secretsmanager:*"], resources=self._project_secret_arns(),
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ListSecrets", effect="Allow",
                actions=["secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword"], resources=["*"],
            ),
        ]

    def _deploy_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        return [*self._write_statements(), *self._iam_statements(), *self._state_statements(write=True)]

    def _boundary_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        ci_roles = self._ci_role_arns()
        return [
            # The ceiling: what the stacks manage (the plan role's reads are a subset).
            *self._write_statements(),
            *self._iam_statements(),
            *self._state_statements(write=True),
            # No users, groups, access keys or identity providers: long-lived credentials and
            # new federations are how a short-lived CI session would outlive itself.
            DataAwsIamPolicyDocumentStatement(
                sid="DenyIdentities", effect="Deny", actions=list(IAM_IDENTITY_ACTIONS), resources=["*"],
            ),
            # IAM writes only on the project's own roles, policies and instance profiles.
            DataAwsIamPolicyDocumentStatement(
                sid="DenyIamWritesOutsideProject", effect="Deny",
                actions=list(IAM_WRITES), not_resources=self._project_iam_arns(),
            ),
            # The CI roles match the project prefix too: they must not edit, re-trust, pass or
            # un-bound themselves (DeleteRolePermissionsBoundary would lift this whole document).
            DataAwsIamPolicyDocumentStatement(
                sid="DenyEditingCiRoles", effect="Deny", actions=list(IAM_ROLE_WRITES), resources=ci_roles,
            ),
            # Nor rewrite or delete the boundary itself.
            DataAwsIamPolicyDocumentStatement(
                sid="DenyEditingBoundary", effect="Deny",
                actions=list(IAM_POLICY_WRITES), resources=[self._boundary_policy_arn()],
            ),
            # No AWS-managed admin policy on any role (inline admin policies cannot be told apart
            # by a condition: see the module docstring).
            DataAwsIamPolicyDocumentStatement(
                sid="DenyAdminPolicyAttachment", effect="Deny",
                actions=["iam:AttachRolePolicy"], resources=["*"],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="ArnLike", variable="iam:PolicyARN",
                    values=[f"arn:aws:iam::aws:policy/{name}" for name in ADMIN_MANAGED_POLICIES],
                )],
            ),
        ]
