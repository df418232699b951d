"""The ``bootstrap`` stack: the S3 bucket (and optional DynamoDB table) that hold every other
stack's Terraform state, the customer-managed key that encrypts it, the workload permissions
boundary every environment role carries, and (opt-in) the GitHub CI roles. Its own state is local:
it cannot live in a bucket it creates."""

from __future__ import annotations

from constructs import Construct
from cdktf import Fn, LocalBackend, TerraformOutput, TerraformResourceLifecycle, TerraformStack

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_key_policy import KmsKeyPolicy
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)

from core.config import BackendConfig, EnvironmentConfig
from core.private_bucket import block_public_access, deny_insecure_transport
from modules.ci_access import CiAccess, CiAccessProps, CiEnvironment
from modules.ecs_litellm import secret_base_arn
from modules.workload_boundary import WorkloadBoundary, WorkloadBoundaryProps

BOOTSTRAP_STACK_NAME = "bootstrap"
# Relative to the stack's working directory (cdktf.out/stacks/bootstrap): the repository's
# bootstrap/ folder, which survives `cdktf synth` wiping cdktf.out. Git ignores *.tfstate.
BOOTSTRAP_STATE_PATH = "../../../bootstrap/terraform.tfstate"


# Object actions the bucket policy reserves for the named principals. Bucket-level actions stay
# with IAM, so an administrator can always repair the policy itself.
STATE_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
                        "s3:DeleteObjectVersion")


def _external_secret_arns(env: EnvironmentConfig) -> tuple[str, ...]:
    """Secrets and parameters an environment's tasks read that the project does not name."""
    arns = {secret_base_arn(value) for value in env.litellm_secrets.values()}
    if env.redis_auth_token_secret_arn:
        arns.add(secret_base_arn(env.redis_auth_token_secret_arn))
    return tuple(sorted(arns))


class BootstrapStack(TerraformStack):
    def __init__(
        self, scope: Construct, *, backend: BackendConfig,
        environments: tuple[EnvironmentConfig, ...] = (),
    ) -> None:
        """``environments``: every environment (their ``name_prefix`` gets a workload boundary;
        each gets its own CI roles when ``backend.github_repository`` is set)."""
        super().__init__(scope, BOOTSTRAP_STACK_NAME)
        AwsProvider(
            self, "aws",
            region=backend.aws_region,
            default_tags=[AwsProviderDefaultTags(tags=backend.default_tags)],
        )
        LocalBackend(self, path=BOOTSTRAP_STATE_PATH)

        # One per name_prefix; at least the default one, so a first environment finds it.
        prefixes = sorted({env.name_prefix for env in environments} or {EnvironmentConfig.name_prefix})
        boundaries = {
            prefix: WorkloadBoundary(self, f"workload-boundary-{prefix}", props=WorkloadBoundaryProps(
                name_prefix=prefix,
                regions=tuple(sorted({env.aws_region for env in environments if env.name_prefix == prefix}
                                     or {backend.aws_region})),
                external_reads=tuple(
                    (env.environment, _external_secret_arns(env)) for env in environments if env.name_prefix == prefix
                ),
            ))
            for prefix in prefixes
        }
        for prefix, boundary in boundaries.items():
            TerraformOutput(self, f"workload_boundary_arn_{prefix.replace('-', '_')}", value=boundary.arn)

        # Losing this bucket loses every environment's state: Terraform refuses to destroy it.
        keep = TerraformResourceLifecycle(prevent_destroy=True)
        # Terraform state holds secrets (whatever write-only arguments cannot keep out): a key of
        # our own means reading it takes kms:Decrypt on this key, which ReadOnlyAccess lacks.
        key = KmsKey(
            self, "state-key",
            description=f"Encrypts the Terraform state in {backend.state_bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            lifecycle=keep,
        )
        # The account, from the key's own ARN: no data.aws_caller_identity, so the stack makes no
        # API call at plan time (the offline Terraform loop in the tests relies on it).
        fields = Fn.split(":", key.arn)
        account_root = f"arn:{Fn.element(fields, 1)}:iam::{Fn.element(fields, 4)}:root"
        KmsKeyPolicy(
            self, "state-key-policy",
            key_id=key.key_id,
            policy=DataAwsIamPolicyDocument(self, "state-key-policy-document", statement=[
                # IAM policies decide who uses the key (the CI roles', administrators').
                DataAwsIamPolicyDocumentStatement(
                    sid="AccountIamDecides", effect="Allow", actions=["kms:*"], resources=["*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[account_root])],
                ),
            ]).json,
        )
        KmsAlias(self, "state-key-alias", name=backend.state_kms_key_alias, target_key_id=key.key_id)

        bucket = S3Bucket(self, "state-bucket", bucket=backend.state_bucket_name, lifecycle=keep)
        S3BucketVersioningA(
            self, "state-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self, "state-bucket-encryption",
            bucket=bucket.id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms",
                        kms_master_key_id=key.arn,
                    )
                ),
                bucket_key_enabled=True,
            )],
        )
        public_access_block = block_public_access(self, "state-bucket", bucket.id)
        S3BucketLifecycleConfiguration(
            self, "state-bucket-lifecycle",
            bucket=bucket.id,
            rule=[S3BucketLifecycleConfigurationRule(
                id="expire-old-state-versions",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=backend.noncurrent_version_expiration_days,
                    )
                ],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7,
                    )
                ],
            )],
        )
        TerraformOutput(self, "state_bucket_name", value=bucket.bucket)
        TerraformOutput(self, "state_region", value=backend.aws_region)
        TerraformOutput(self, "state_kms_key_arn", value=key.arn)

        lock_table_arn: str | None = None
        if backend.uses_lock_table:
            table = DynamodbTable(
                self, "lock-table",
                name=backend.lock_table_name,
                billing_mode="PAY_PER_REQUEST",
                hash_key="LockID",
                attribute=[DynamodbTableAttribute(name="LockID", type="S")],
                point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
                server_side_encryption=DynamodbTableServerSideEncryption(enabled=True),
                deletion_protection_enabled=True,
                lifecycle=keep,
            )
            TerraformOutput(self, "lock_table_name", value=table.name)
            lock_table_arn = table.arn

        # Named principals only touch state objects once someone is named: the configured
        # administrators and, with GitHub CI, the CI roles. (Without either, the key already keeps
        # ReadOnlyAccess out: it grants no kms:Decrypt.) The account root stays as break-glass.
        state_readers = [account_root, *backend.state_admin_principal_arns]

        if backend.github_repository is not None:
            ci = CiAccess(
                self, "ci-access",
                props=CiAccessProps(
                    repository=backend.github_repository,
                    deploy_branch=backend.github_deploy_branch,
                    environments=tuple(
                        CiEnvironment(
                            name=env.stack_name,
                            name_prefix=env.name_prefix,
                            resource_prefix=env.resource_prefix,
                            environment_tag=env.environment,
                            state_key=backend.state_key(env.stack_name),
                            production_like=env.production_like,
                            workload_boundary_arn=boundaries[env.name_prefix].arn,
                            region=env.aws_region,
                        )
                        for env in environments
                    ),
                    oidc_provider_arn=backend.github_oidc_provider_arn,
                    role_name_prefix=backend.ci_role_name_prefix,
                    state_bucket_arn=bucket.arn,
                    state_kms_key_arn=key.arn,
                    lock_table_arn=lock_table_arn,
                    workload_boundary_arns=tuple(boundary.arn for boundary in boundaries.values()),
                ),
            )
            for name in ci.plan_role_arns:
                TerraformOutput(self, f"ci_{name.replace('-', '_')}_plan_role_arn", value=ci.plan_role_arns[name])
                TerraformOutput(self, f"ci_{name.replace('-', '_')}_deploy_role_arn", value=ci.deploy_role_arns[name])
            state_readers += [*ci.plan_role_arns.values(), *ci.deploy_role_arns.values()]

        named_only = []
        if len(state_readers) > 1:
            # Only the named principals touch state objects, whatever else IAM grants
            # (ReadOnlyAccess includes s3:GetObject on every bucket).
            named_only.append(DataAwsIamPolicyDocumentStatement(
                sid="OnlyNamedPrincipalsTouchState", effect="Deny",
                actions=list(STATE_OBJECT_ACTIONS),
                resources=[f"{bucket.arn}/*"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="ArnNotLike", variable="aws:PrincipalArn", values=state_readers,
                )],
            ))
        policy = DataAwsIamPolicyDocument(
            self, "state-bucket-policy-document",
            statement=[
                *deny_insecure_transport(bucket.arn),
                *named_only,
                # Objects written with SSE-S3 would bypass the state key.
                DataAwsIamPolicyDocumentStatement(
                    sid="DenyOtherEncryption", effect="Deny", actions=["s3:PutObject"],
                    resources=[f"{bucket.arn}/*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])],
                    condition=[DataAwsIamPolicyDocumentStatementCondition(
                        test="StringNotEqualsIfExists", variable="s3:x-amz-server-side-encryption", values=["aws:kms"],
                    )],
                ),
            ],
        )
        # A bucket policy written while the public access block is still being applied can be
        # rejected; ordering them avoids a flaky first apply.
        S3BucketPolicy(
            self, "state-bucket-policy",
            bucket=bucket.id,
            policy=policy.json,
            depends_on=[public_access_block],
        )
