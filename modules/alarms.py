"""CloudWatch alarms for the LiteLLM deployment, notifying an encrypted SNS topic.

What is watched: the ALB (its own 5xx, LiteLLM's 5xx, p95 latency, unhealthy targets), the ECS
service (fewer tasks running than desired), every RDS instance (CPU, free storage, connections)
and every ElastiCache node (engine CPU, evictions). Every alarm notifies on ALARM and on OK, so a
recovery is visible too; INSUFFICIENT_DATA notifies nobody.

Why a customer managed KMS key instead of ``alias/aws/sns``: CloudWatch publishes to an encrypted
topic only if the key policy lets ``cloudwatch.amazonaws.com`` use the key
(``kms:GenerateDataKey*`` and ``kms:Decrypt``), and the policy of the AWS managed ``aws/sns`` key
cannot be edited. A topic on ``aws/sns`` deploys cleanly and then silently drops every alarm
notification (SNS guide, "Enable compatibility between event sources from AWS services and
encrypted topics"). The key costs about 1 USD a month.

No data source is used for the account id: the key policy and the topic policy take partition,
region and account from the key's and the topic's own ARNs (``split(":", arn)``), so the module
plans offline and needs no ``sts:GetCallerIdentity``.

ElastiCache publishes its host and engine metrics per node, with the member cluster's
``CacheClusterId`` as dimension (``<replication-group-id>-001``, ``-002``...); a replication group
id is not a metric dimension, so alarms are created per member cluster.

The ECS alarm reads ``ECS/ContainerInsights``: Container Insights must be enabled on the cluster
(``containerInsights`` = ``enabled`` or ``enhanced``), or the alarm stays in INSUFFICIENT_DATA.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Token
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_key_policy import KmsKeyPolicy
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription

from core.kms_key_policy import CLOUDWATCH_SERVICE, account_administers_key, arn_field, cloudwatch_alarms_publish

ALB_NAMESPACE = "AWS/ApplicationELB"
ECS_NAMESPACE = "ECS/ContainerInsights"
RDS_NAMESPACE = "AWS/RDS"
ELASTICACHE_NAMESPACE = "AWS/ElastiCache"
GIB = 1024**3



def _is_reference(value: str) -> bool:
    """A cdktf token or a raw ``${...}`` Terraform expression: unknown until apply."""
    return Token.is_unresolved(value) or "${" in value


def _per_instance(value: int | tuple[int, ...], count: int) -> tuple[int, ...]:
    return value if isinstance(value, tuple) else (value,) * count


@dataclass(frozen=True, kw_only=True)
class AlarmsProps:
    name: str
    """Prefix of every alarm name and of the topic, e.g. ``litellm-dev``."""
    email: str | None = None
    kms_key_arn: str | None = None
    """The environment's customer-managed key (its policy must let CloudWatch use it, as
    modules/encryption_key's does); None creates a key for the topic alone."""
    """Subscribed to the topic; AWS mails a confirmation link that must be clicked once."""
    alb_arn_suffix: str
    """``app/<name>/<id>`` (the ALB's ``arn_suffix``), the ``LoadBalancer`` dimension."""
    target_group_arn_suffix: str
    """``targetgroup/<name>/<id>`` (the target group's ``arn_suffix``), the ``TargetGroup`` dimension."""
    cluster_name: str
    service_name: str
    db_instance_identifiers: tuple[str, ...]
    """LiteLLM's DB and, when deployed, the backend DB. Literal identifiers (not references):
    they become part of alarm names, which must be known at synth time."""
    db_allocated_storage_gib: int | tuple[int, ...]
    """Allocated storage, one value for every DB or one per identifier (same order). With storage
    autoscaling, give the initial size: the free-storage threshold stays an absolute byte count,
    so after autoscaling grows the disk the alarm means "autoscaling is capped or not keeping up"."""
    cache_cluster_ids: tuple[str, ...] = ()
    """ElastiCache member clusters (``<replication-group-id>-001``...), literal ids."""

    alb_5xx_per_5_minutes: int = 10
    """Alarm when the ALB's own 5xx, or LiteLLM's 5xx, reach this count in 5 minutes."""
    target_response_time_p95_seconds: float = 30.0
    """TargetResponseTime is time to the first response byte, so streamed completions count only
    until the first token, but a non-streamed completion counts in full; long generations
    legitimately take 10-30 s. A p95 over 30 s for 15 minutes means users wait half a minute and
    calls approach the ALB idle timeout (60 s by default), where they turn into 504s."""
    rds_cpu_percent: float = 80
    rds_free_storage_fraction: float = 0.10
    """Alarm when free storage drops below this fraction of ``db_allocated_storage_gib``."""
    rds_max_connections_threshold: int | tuple[int, ...] = 60
    """One value for every DB or one per identifier. PostgreSQL's default ``max_connections`` is
    ``LEAST(DBInstanceClassMemory/9531392, 5000)``: at most 112 on db.t4g.micro (1 GiB), fewer in
    practice because DBInstanceClassMemory excludes what RDS reserves, and a few slots are kept for
    superusers. 60 is about 70% of what a micro really gives; scale it with the class (db.t4g.medium
    has 4 GiB, about 450 connections: use ~300)."""
    redis_cpu_percent: float = 75
    """EngineCPUUtilization: Redis executes commands on one thread, so host CPU across all vCPUs
    hides a saturated engine."""
    redis_evictions: int = 1
    """Evictions in 5 minutes. LiteLLM keeps rate-limit counters and router state in Redis, not
    just a cache, so any eviction deserves a look."""

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"AlarmsProps: {message}")

        if not self.name or _is_reference(self.name):
            fail("name must be a literal, non-empty string")
        for field, prefix in (("alb_arn_suffix", "app/"), ("target_group_arn_suffix", "targetgroup/")):
            value = getattr(self, field)
            if not _is_reference(value) and not value.startswith(prefix):
                fail(f"{field} {value!r} must be the ARN suffix ({prefix}<name>/<id>), not a name or full ARN")
        if not self.db_instance_identifiers:
            fail("give at least one db_instance_identifier")
        for field in ("db_instance_identifiers", "cache_cluster_ids"):
            ids = getattr(self, field)
            if any(_is_reference(i) for i in ids):
                fail(f"{field} must be literal ids (they name the alarms), not Terraform references")
            if len(set(ids)) != len(ids):
                fail(f"{field} has duplicates")
        count = len(self.db_instance_identifiers)
        for field in ("db_allocated_storage_gib", "rds_max_connections_threshold"):
            values = _per_instance(getattr(self, field), count)
            if len(values) != count:
                fail(f"{field}: give one value, or one per db_instance_identifier ({count})")
            if any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in values):
                fail(f"{field} must be positive integers")
        if not 0 < self.rds_free_storage_fraction < 1:
            fail("rds_free_storage_fraction must be between 0 and 1")
        for field in ("alb_5xx_per_5_minutes", "target_response_time_p95_seconds", "rds_cpu_percent",
                      "redis_cpu_percent", "redis_evictions"):
            if getattr(self, field) <= 0:
                fail(f"{field} must be positive")
        for field in ("rds_cpu_percent", "redis_cpu_percent"):
            if getattr(self, field) >= 100:
                fail(f"{field} must be below 100")


class Alarms(Construct):
    """Exposes ``topic_arn``, ``kms_key_arn`` and ``alarm_names`` (every alarm, in creation order)."""

    def __init__(self, scope: Construct, id_: str, *, props: AlarmsProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.name
        self._alarm_names: list[str] = []

        # A shared environment key already lets CloudWatch publish (modules/encryption_key).
        topic_key_arn = props.kms_key_arn or self._own_key(name)
        topic = SnsTopic(self, "topic", name=f"{name}-alarms", kms_master_key_id=topic_key_arn)
        alarm_arns = (
            f"arn:{arn_field(topic.arn, 1)}:cloudwatch:{arn_field(topic.arn, 3)}:"
            f"{arn_field(topic.arn, 4)}:alarm:{name}-*"
        )
        topic_policy = DataAwsIamPolicyDocument(
            self, "topic-policy-document",
            statement=[
                # Replaces the default topic policy (which opens the topic to the whole account):
                # people and roles in the account still publish through their IAM policies, e.g.
                # for a test message. The conditions stop CloudWatch from publishing on behalf of
                # another account's alarms (confused deputy).
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchAlarmsPublish",
                    actions=["sns:Publish"],
                    resources=[topic.arn],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                        type="Service", identifiers=[CLOUDWATCH_SERVICE],
                    )],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike", variable="aws:SourceArn", values=[alarm_arns],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount",
                            values=[arn_field(topic.arn, 4)],
                        ),
                    ],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="DenyPublishWithoutTls",
                    effect="Deny",
                    actions=["sns:Publish"],
                    resources=[topic.arn],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=["*"])],
                    condition=[DataAwsIamPolicyDocumentStatementCondition(
                        test="Bool", variable="aws:SecureTransport", values=["false"],
                    )],
                ),
            ],
        )
        SnsTopicPolicy(self, "topic-policy", arn=topic.arn, policy=topic_policy.json)
        if props.email:
            SnsTopicSubscription(
                self, "email-subscription", topic_arn=topic.arn, protocol="email", endpoint=props.email,
            )

        self.topic_arn: str = topic.arn
        self.kms_key_arn: str = topic_key_arn

        self._alb_alarms()
        self._ecs_alarm()
        storage = _per_instance(props.db_allocated_storage_gib, len(props.db_instance_identifiers))
        connections = _per_instance(props.rds_max_connections_threshold, len(props.db_instance_identifiers))
        for identifier, gib, max_connections in zip(props.db_instance_identifiers, storage, connections):
            self._rds_alarms(identifier, gib, max_connections)
        for cluster_id in props.cache_cluster_ids:
            self._cache_alarms(cluster_id)

        self.alarm_names: tuple[str, ...] = tuple(self._alarm_names)

    def _own_key(self, name: str) -> str:
        """A key for the topic alone, when the environment has none to share."""
        key = KmsKey(
            self, "kms-key",
            description=f"{name}: encrypts the alarm topic; CloudWatch may use it to publish",
            enable_key_rotation=True,
        )
        # A separate policy resource because the statements need the account id, taken from the
        # key's own ARN: inside aws_kms_key.policy that would be a self-reference.
        partition, account = arn_field(key.arn, 1), arn_field(key.arn, 4)
        key_policy = DataAwsIamPolicyDocument(
            self, "kms-key-policy-document",
            statement=[
                account_administers_key(partition, account),
                cloudwatch_alarms_publish(account),
            ],
        )
        KmsKeyPolicy(self, "kms-key-policy", key_id=key.key_id, policy=key_policy.json)
        KmsAlias(self, "kms-alias", name=f"alias/{name}-alarms", target_key_id=key.key_id)

        return key.arn

    def _label(self, resource_id: str) -> str:
        """``litellm-dev-postgres`` -> ``postgres``: the name prefix is already in the alarm name."""
        return resource_id.removeprefix(f"{self.props.name}-")

    def _alarm(self, what: str, description: str, **kwargs) -> None:
        alarm_name = f"{self.props.name}-{what}"
        # Labels come from caller-chosen ids, so two inputs can still collide once the prefix is
        # stripped; Terraform would only notice at apply time.
        if alarm_name in self._alarm_names:
            raise ValueError(f"Alarms: duplicate alarm name {alarm_name!r}")
        CloudwatchMetricAlarm(
            self, f"alarm-{what}",
            alarm_name=alarm_name,
            alarm_description=description,
            alarm_actions=[self.topic_arn],
            ok_actions=[self.topic_arn],
            **kwargs,
        )
        self._alarm_names.append(alarm_name)

    def _alb_alarms(self) -> None:
        p = self.props
        load_balancer = {"LoadBalancer": p.alb_arn_suffix}
        target_group = {"TargetGroup": p.target_group_arn_suffix, "LoadBalancer": p.alb_arn_suffix}
        # The ALB publishes request counts only when there are requests: no data is a quiet
        # period, not an outage.
        counted = dict(namespace=ALB_NAMESPACE, statistic="Sum", period=300, evaluation_periods=1,
                       comparison_operator="GreaterThanOrEqualToThreshold",
                       threshold=p.alb_5xx_per_5_minutes, treat_missing_data="notBreaching")
        self._alarm(
            "alb-5xx",
            f"The load balancer itself answered {p.alb_5xx_per_5_minutes}+ 5xx in 5 minutes. "
            "Check first: the unhealthy-hosts alarm and the ECS service events (502/503: no healthy "
            "target or a task closed the connection); 504s are calls that outlived the ALB idle timeout.",
            metric_name="HTTPCode_ELB_5XX_Count", dimensions=load_balancer, **counted,
        )
        self._alarm(
            "target-5xx",
            f"LiteLLM answered {p.alb_5xx_per_5_minutes}+ 5xx in 5 minutes. Check first: the LiteLLM "
            "container logs for upstream model/provider errors, then database and Redis connection errors.",
            metric_name="HTTPCode_Target_5XX_Count", dimensions=target_group, **counted,
        )
        self._alarm(
            "target-response-time-p95",
            f"p95 time to first response byte above {p.target_response_time_p95_seconds:g} s for 15 "
            "minutes. Check first: which model/provider is slow (LiteLLM logs), then the ECS service's "
            "CPU and memory, then database latency.",
            namespace=ALB_NAMESPACE, metric_name="TargetResponseTime", dimensions=target_group,
            extended_statistic="p95", period=300, evaluation_periods=3,
            comparison_operator="GreaterThanThreshold", threshold=p.target_response_time_p95_seconds,
            treat_missing_data="notBreaching",
            # A p95 of a handful of requests is one slow call: keep the state until there are
            # enough samples for the percentile to mean something.
            evaluate_low_sample_count_percentiles="ignore",
        )
        self._alarm(
            "unhealthy-hosts",
            "At least one LiteLLM target failed its health check for 3 minutes. Check first: the "
            "target group's health-check reason and the ECS service events / stopped-task reasons.",
            namespace=ALB_NAMESPACE, metric_name="UnHealthyHostCount", dimensions=target_group,
            statistic="Maximum", period=60, evaluation_periods=3,
            comparison_operator="GreaterThanOrEqualToThreshold", threshold=1,
            treat_missing_data="notBreaching",
        )

    def _ecs_alarm(self) -> None:
        p = self.props
        dimensions = {"ClusterName": p.cluster_name, "ServiceName": p.service_name}

        def task_count(id_: str, metric_name: str) -> CloudwatchMetricAlarmMetricQuery:
            # Average over the minute: a task that crash-loops in and out of RUNNING keeps the
            # average below desired instead of hiding behind a Maximum.
            return CloudwatchMetricAlarmMetricQuery(
                id=id_, return_data=False,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=ECS_NAMESPACE, metric_name=metric_name, dimensions=dimensions,
                    stat="Average", period=60,
                ),
            )

        # A difference, not "running < N": a service scaled to zero on purpose has desired 0 and
        # never alarms, and an autoscaling change moves both sides. Three consecutive minutes let
        # a deployment or a task replacement (a minute or two until the new task is RUNNING) pass;
        # a task that cannot start (image pull, secrets, capacity, crash loop) does not.
        self._alarm(
            "ecs-running-below-desired",
            "Fewer LiteLLM tasks RUNNING than desired for 3 minutes. Check first: the ECS service "
            "events and the stopped tasks' stopped reason (image pull, secrets access, crash on start).",
            metric_query=[
                CloudwatchMetricAlarmMetricQuery(
                    id="missing", expression="desired - running", label="Desired minus running tasks",
                    return_data=True,
                ),
                task_count("desired", "DesiredTaskCount"),
                task_count("running", "RunningTaskCount"),
            ],
            evaluation_periods=3, datapoints_to_alarm=3,
            comparison_operator="GreaterThanThreshold", threshold=0,
            # No data at all means Container Insights is off (or the service is gone): stay in
            # INSUFFICIENT_DATA, visible in the console, rather than look OK.
            treat_missing_data="missing",
        )

    def _rds_alarms(self, identifier: str, allocated_gib: int, max_connections: int) -> None:
        p = self.props
        label = self._label(identifier)
        common = dict(namespace=RDS_NAMESPACE, dimensions={"DBInstanceIdentifier": identifier},
                      treat_missing_data="missing")
        self._alarm(
            f"{label}-cpu",
            f"RDS {identifier} CPU above {p.rds_cpu_percent:g}% for 15 minutes. Check first: "
            "Performance Insights / pg_stat_statements for the top queries (LiteLLM's spend-log "
            "writes and queries grow with traffic); on a burstable class also CPUCreditBalance.",
            metric_name="CPUUtilization", statistic="Average", period=300, evaluation_periods=3,
            comparison_operator="GreaterThanThreshold", threshold=p.rds_cpu_percent, **common,
        )
        threshold_bytes = int(allocated_gib * GIB * p.rds_free_storage_fraction)
        self._alarm(
            f"{label}-free-storage",
            f"RDS {identifier} has less than {p.rds_free_storage_fraction:.0%} of {allocated_gib} GiB "
            "free. Check first: whether storage autoscaling is on and below its ceiling, then which "
            "tables grow (LiteLLM's spend logs); raise allocated storage before it fills.",
            metric_name="FreeStorageSpace", statistic="Minimum", period=300, evaluation_periods=1,
            comparison_operator="LessThanThreshold", threshold=threshold_bytes, **common,
        )
        self._alarm(
            f"{label}-connections",
            f"RDS {identifier} reached {max_connections} connections for 10 minutes. Check first: "
            "how many LiteLLM tasks run and their DB pool size (connections = tasks x workers x pool), "
            "then idle sessions in pg_stat_activity.",
            metric_name="DatabaseConnections", statistic="Maximum", period=300, evaluation_periods=2,
            comparison_operator="GreaterThanOrEqualToThreshold", threshold=max_connections, **common,
        )

    def _cache_alarms(self, cluster_id: str) -> None:
        p = self.props
        label = self._label(cluster_id)
        common = dict(namespace=ELASTICACHE_NAMESPACE, dimensions={"CacheClusterId": cluster_id}, period=300)
        self._alarm(
            f"{label}-engine-cpu",
            f"Redis engine thread of {cluster_id} above {p.redis_cpu_percent:g}% for 15 minutes. "
            "Check first: the Redis slow log (its CloudWatch log group) for expensive commands or big "
            "keys, then whether the node type is too small.",
            metric_name="EngineCPUUtilization", statistic="Average", evaluation_periods=3,
            comparison_operator="GreaterThanThreshold", threshold=p.redis_cpu_percent,
            treat_missing_data="missing", **common,
        )
        self._alarm(
            f"{label}-evictions",
            f"Redis {cluster_id} evicted {p.redis_evictions}+ keys in 5 minutes: memory is full. Check "
            "first: DatabaseMemoryUsagePercentage and the LiteLLM cache TTLs; evicted rate-limit "
            "counters mean limits are not enforced. Scale the node type if the data is legitimate.",
            metric_name="Evictions", statistic="Sum", evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold", threshold=p.redis_evictions,
            treat_missing_data="notBreaching", **common,
        )
