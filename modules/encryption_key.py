"""One customer-managed KMS key per environment for logs and generated secrets.

AWS-managed keys (``aws/secretsmanager``, the Logs service key) cannot be restricted by a key
policy or audited per environment; a customer-managed key can. It encrypts the environment's
CloudWatch log groups (the task logs can hold prompts and provider errors), the generated secrets
and the cache, and rotates yearly.

Key policy: the account root administers it (without that statement IAM policies cannot grant its
use and the key becomes unmanageable, as in the default key policy); CloudWatch Logs may use it
only for log groups of this account and region (``kms:EncryptionContext:aws:logs:arn``), as the
CloudWatch Logs guide documents; CloudWatch alarms may use it to publish to the encrypted alarm
topic, for this account only (``aws:SourceAccount``). Secrets Manager and ElastiCache use it on behalf of callers
whose IAM policies allow it (``kms:ViaService``), so those need no statement here.

The account comes from the key's own ARN, so the policy is a separate ``aws_kms_key_policy``
(inside ``aws_kms_key.policy`` it would be a self-reference), and ``arn`` is built from that
policy resource's ``key_id``: every consumer then waits for the policy, which CloudWatch Logs
checks when a log group is associated with the key.
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
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_key_policy import KmsKeyPolicy

from core.kms_key_policy import account_administers_key, arn_field, cloudwatch_alarms_publish

# KMS waits this long before deleting a key scheduled for deletion (7-30); the maximum leaves
# time to notice that logs or secrets still need it.
DELETION_WINDOW_DAYS = 30



@dataclass(frozen=True, kw_only=True)
class EncryptionKeyProps:
    name: str
    """Base of the alias, e.g. ``litellm-prod`` (alias ``alias/litellm-prod``)."""
    region: str


class EncryptionKey(Construct):
    """Exposes ``arn`` (waits for the key policy) and ``alias_name``."""

    def __init__(self, scope: Construct, id_: str, *, props: EncryptionKeyProps) -> None:
        super().__init__(scope, id_)
        name = props.name
        key = KmsKey(
            self, "key",
            description=f"{name}: CloudWatch log groups, generated secrets, cache, alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            tags={"Name": name},
        )
        partition, region, account = arn_field(key.arn, 1), arn_field(key.arn, 3), arn_field(key.arn, 4)
        document = DataAwsIamPolicyDocument(
            self, "key-policy-document",
            statement=[
                account_administers_key(partition, account),
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchLogsOfThisAccount",
                    actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                             "kms:Describe*"],
                    resources=["*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                        type="Service", identifiers=[f"logs.{props.region}.amazonaws.com"],
                    )],
                    condition=[DataAwsIamPolicyDocumentStatementCondition(
                        test="ArnLike", variable="kms:EncryptionContext:aws:logs:arn",
                        values=[f"arn:{partition}:logs:{region}:{account}:log-group:*"],
                    )],
                ),
                cloudwatch_alarms_publish(account),
            ],
        )
        policy = KmsKeyPolicy(self, "key-policy", key_id=key.key_id, policy=document.json)
        alias = KmsAlias(self, "alias", name=f"alias/{name}", target_key_id=key.key_id)
        self.alias_name: str = alias.name
        self.arn: str = f"arn:{partition}:kms:{region}:{account}:key/{policy.key_id}"
