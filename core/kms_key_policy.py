"""Key-policy pieces shared by the project's customer-managed KMS keys (the environment key in
modules/encryption_key.py, the alarm topic's own key in modules/alarms.py).

A key policy needs the account id, which the modules read from the key's own ARN (a data source
would call AWS at plan time); the statements then live in a separate ``aws_kms_key_policy``,
since inside ``aws_kms_key.policy`` the ARN would be a self-reference.
"""

from __future__ import annotations

from cdktf import Fn

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)

CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"


def arn_field(arn: str, index: int) -> str:
    """Field ``index`` of an ARN (1 partition, 3 region, 4 account), as a Terraform expression."""
    return Fn.element(Fn.split(":", arn), index)


def account_administers_key(partition: str, account: str) -> DataAwsIamPolicyDocumentStatement:
    """The account-root statement of the default key policy: without it IAM policies cannot grant
    use of the key and it becomes unmanageable."""
    return DataAwsIamPolicyDocumentStatement(
        sid="AccountAdministersKey",
        actions=["kms:*"],
        resources=["*"],
        principals=[DataAwsIamPolicyDocumentStatementPrincipals(
            type="AWS", identifiers=[f"arn:{partition}:iam::{account}:root"],
        )],
    )


def cloudwatch_alarms_publish(account: str) -> DataAwsIamPolicyDocumentStatement:
    """CloudWatch alarms may publish to a topic encrypted with the key. CloudWatch's KMS requests
    carry aws:SourceAccount (unlike EventBridge's, which is why the SNS guide's generic example has
    no condition): alarms of another account cannot use the key through CloudWatch (confused
    deputy)."""
    return DataAwsIamPolicyDocumentStatement(
        sid="CloudWatchAlarmsPublishToEncryptedTopic",
        actions=["kms:Decrypt", "kms:GenerateDataKey*"],
        resources=["*"],
        principals=[DataAwsIamPolicyDocumentStatementPrincipals(
            type="Service", identifiers=[CLOUDWATCH_SERVICE],
        )],
        condition=[DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable="aws:SourceAccount", values=[account],
        )],
    )
