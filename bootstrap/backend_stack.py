"""The ``bootstrap`` stack: the S3 bucket (and optional DynamoDB table) that hold every other
stack's Terraform state. Its own state is local: it cannot live in a bucket it creates."""

from __future__ import annotations

from constructs import Construct
from cdktf import LocalBackend, TerraformOutput, TerraformResourceLifecycle, TerraformStack

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
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
from modules.ci_access import CiAccess, CiAccessProps

BOOTSTRAP_STACK_NAME = "bootstrap"
# Relative to the stack's working directory (cdktf.out/stacks/bootstrap): the repository's
# bootstrap/ folder, which survives `cdktf synth` wiping cdktf.out. Git ignores *.tfstate.
BOOTSTRAP_STATE_PATH = "../../../bootstrap/terraform.tfstate"


class BootstrapStack(TerraformStack):
    def __init__(
        self, scope: Construct, *, backend: BackendConfig,
        name_prefix: str = EnvironmentConfig.name_prefix,
    ) -> None:
        """``name_prefix``: the environments' resource prefix, the only IAM names the CI deploy
        role may write (used only when ``backend.github_repository`` is set)."""
        super().__init__(scope, BOOTSTRAP_STACK_NAME)
        AwsProvider(
            self, "aws",
            region=backend.aws_region,
            default_tags=[AwsProviderDefaultTags(tags=backend.default_tags)],
        )
        LocalBackend(self, path=BOOTSTRAP_STATE_PATH)

        # Losing this bucket loses every environment's state: Terraform refuses to destroy it.
        keep = TerraformResourceLifecycle(prevent_destroy=True)
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
        tls_only = DataAwsIamPolicyDocument(
            self, "state-bucket-tls-only", statement=deny_insecure_transport(bucket.arn),
        )
        # A bucket policy written while the public access block is still being applied can be
        # rejected; ordering them avoids a flaky first apply.
        S3BucketPolicy(
            self, "state-bucket-policy",
            bucket=bucket.id,
            policy=tls_only.json,
            depends_on=[public_access_block],
        )
        TerraformOutput(self, "state_bucket_name", value=bucket.bucket)
        TerraformOutput(self, "state_region", value=backend.aws_region)

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

        if backend.github_repository is not None:
            ci = CiAccess(
                self, "ci-access",
                props=CiAccessProps(
                    repository=backend.github_repository,
                    deploy_branch=backend.github_deploy_branch,
                    deploy_environments=tuple(backend.github_deploy_environments),
                    oidc_provider_arn=backend.github_oidc_provider_arn,
                    role_name_prefix=backend.ci_role_name_prefix,
                    name_prefix=name_prefix,
                    state_bucket_arn=bucket.arn,
                    lock_table_arn=lock_table_arn,
                    region=backend.aws_region,
                ),
            )
            TerraformOutput(self, "ci_plan_role_arn", value=ci.plan_role_arn)
            TerraformOutput(self, "ci_deploy_role_arn", value=ci.deploy_role_arn)
