"""The lock-down every bucket of ours gets: no public access, no ACLs, TLS 1.2+ only.

Shared by the state bucket, the ALB access-log bucket and the LiteLLM config bucket, so a
hardening change lands in all three. Each caller keeps its own encryption, versioning and
lifecycle, which legitimately differ.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock


def block_public_access(scope: Construct, id_prefix: str, bucket_id: str) -> S3BucketPublicAccessBlock:
    """All four public-access switches on and ACLs disabled (bucket owner owns every object).
    Returns the access block: a bucket policy should depend on it, or the first apply can race."""
    block = S3BucketPublicAccessBlock(
        scope, f"{id_prefix}-public-access-block",
        bucket=bucket_id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    S3BucketOwnershipControls(
        scope, f"{id_prefix}-ownership",
        bucket=bucket_id,
        rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
    )
    return block


def deny_insecure_transport(bucket_arn: str) -> list[DataAwsIamPolicyDocumentStatement]:
    """Bucket-policy statements refusing plain HTTP and TLS older than 1.2, for everyone."""
    everyone = [DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])]
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return [
        DataAwsIamPolicyDocumentStatement(
            sid="DenyInsecureTransport",
            effect="Deny",
            actions=["s3:*"],
            resources=resources,
            principals=everyone,
            condition=[DataAwsIamPolicyDocumentStatementCondition(
                test="Bool", variable="aws:SecureTransport", values=["false"],
            )],
        ),
        DataAwsIamPolicyDocumentStatement(
            sid="DenyOutdatedTls",
            effect="Deny",
            actions=["s3:*"],
            resources=resources,
            principals=everyone,
            condition=[DataAwsIamPolicyDocumentStatementCondition(
                test="NumericLessThan", variable="s3:TlsVersion", values=["1.2"],
            )],
        ),
    ]
