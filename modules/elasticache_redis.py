"""The ElastiCache (Valkey or Redis OSS) replication group LiteLLM uses for rate limits and router
state.

Cluster mode disabled (one shard, ``num_cache_clusters`` nodes), encrypted at rest and in transit
with TLS *required*, password-protected with an AUTH token, slow log shipped to CloudWatch Logs.
Two or more nodes turn on automatic failover and Multi-AZ.

AUTH token. ElastiCache takes the token itself as an API argument (there is no "managed password"
as RDS has), so the plain value necessarily lands in the Terraform state, whichever way it is
sourced; the state bucket is encrypted and access to it must be treated like access to the token.

* ``auth_token_secret_arn`` given: the token is read from that secret (a plain-string secret, not
  JSON) with the ``aws_secretsmanager_secret_version`` data source.
* otherwise: ``random_password`` generates it and the module stores it, as a plain string, in a
  new secret ``<name>/redis-auth-token``, so ECS can inject the whole value as ``REDIS_PASSWORD``.

Either way ``auth_token_secret_arn`` names the secret and ``secret_read_arns`` lists what an ECS
execution role must be allowed to read. Clients must connect with TLS (``rediss://``,
``REDIS_SSL=true``).

Access is granted by security group, never by CIDR: ``allowed_security_group_ids`` and
``allow_from`` admit groups on the cache port.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_secret_version import (
    DataAwsSecretsmanagerSecretVersion,
)
from cdktf_cdktf_provider_aws.elasticache_parameter_group import ElasticacheParameterGroup
from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupLogDeliveryConfiguration,
)
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_random.id import Id as RandomId
from cdktf_cdktf_provider_random.password import Password

from core.security_group_rules import admit

# engine -> supported version -> parameter group family. Valkey 7.2 shares Redis OSS 7's
# parameters under its own family; Valkey 8.x is "valkey8"; Redis OSS 7.0 and 7.1 are "redis7".
PARAMETER_GROUP_FAMILIES: dict[str, dict[str, str]] = {
    "valkey": {"7.2": "valkey7", "8.0": "valkey8"},
    "redis": {"7.0": "redis7", "7.1": "redis7"},
}

# ElastiCache AUTH tokens: 16-128 printable characters, and the only non-alphanumerics allowed
# are ! & # $ ^ < > - (the provider itself only rejects @ " /). Letters and digits alone sidestep
# every rule and every quoting problem in URLs, shells and .env files; 64 of them (~380 bits)
# are plenty.
AUTH_TOKEN_LENGTH = 64

# A replication group id is 1-40 characters; it also names the subnet and parameter groups.
REPLICATION_GROUP_ID_MAX = 40

# Values CloudWatch Logs accepts for retention_in_days (0 = never expire).
LOG_RETENTION_DAYS = frozenset({
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
})

_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*(?<!-)$")
_HHMM = r"([01]\d|2[0-3]):([0-5]\d)"
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_SNAPSHOT_WINDOW_RE = re.compile(rf"^{_HHMM}-{_HHMM}$")
_MAINTENANCE_WINDOW_RE = re.compile(rf"^{_DAY}:{_HHMM}-{_DAY}:{_HHMM}$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def replication_group_id(name: str) -> str:
    """``<name>-redis`` in lowercase (ElastiCache stores ids lowercased); a name too long for the
    40-character limit is cut and suffixed with a hash of the full name, so it stays unique and
    the same on every synth."""
    wanted = f"{name}-redis".lower()
    if len(wanted) <= REPLICATION_GROUP_ID_MAX:
        return wanted
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = wanted[: REPLICATION_GROUP_ID_MAX - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


def _minutes(day: str | None, hour: str, minute: str) -> int:
    """Minutes since the start of the week (or of the day when ``day`` is None)."""
    return (_DAYS.index(day) * 1440 if day else 0) + int(hour) * 60 + int(minute)


def _window_length(groups: tuple[str, ...], period: int) -> int:
    """Minutes from start to end of a daily (hh, mm, hh, mm) or weekly (ddd, hh, mm, ddd, hh, mm)
    window; a window may wrap past midnight or the end of the week."""
    if len(groups) == 4:
        start, end = _minutes(None, *groups[:2]), _minutes(None, *groups[2:])
    else:
        start, end = _minutes(*groups[:3]), _minutes(*groups[3:])
    return (end - start) % period


@dataclass(frozen=True, kw_only=True)
class ElasticacheRedisProps:
    name: str
    """Base of every resource name, e.g. ``litellm-dev`` (-> replication group ``litellm-dev-redis``)."""
    vpc_id: str
    subnet_ids: tuple[str, ...]
    """Private subnets; give one per AZ so Multi-AZ can place the replicas."""
    allowed_security_group_ids: tuple[str, ...] = ()
    """Security groups admitted on ``port`` (e.g. the LiteLLM service's)."""
    engine: str
    """``valkey`` or ``redis``."""
    engine_version: str
    """Major.minor: valkey ``7.2``/``8.0``, redis ``7.0``/``7.1``; patch versions follow
    ``auto_minor_version_upgrade``."""
    node_type: str
    num_cache_clusters: int
    """Nodes in the single shard, 1-6; 2 or more turn on automatic failover and Multi-AZ."""
    snapshot_retention_limit: int
    """Days of daily snapshots kept, 0-35 (0 = no snapshots)."""
    snapshot_window: str
    """Daily, UTC, ``hh24:mi-hh24:mi``, at least 60 minutes."""
    maintenance_window: str
    """Weekly, UTC, ``ddd:hh24:mi-ddd:hh24:mi`` with lowercase days, at least 60 minutes."""
    apply_immediately: bool
    """Apply modifications now (may restart nodes) instead of in the maintenance window."""
    auth_token_secret_arn: str | None = None
    """Existing Secrets Manager secret whose *plain string* value is the AUTH token (16-128
    characters; letters, digits and ``! & # $ ^ < > -`` only). None: generate one."""
    log_retention_days: int = 30
    """Retention of the slow-log group (a CloudWatch Logs value; 0 = never expire)."""
    secret_recovery_window_days: int = 7
    """Of the generated token's secret: 0 deletes it at once on destroy; otherwise 7-30."""
    port: int = 6379
    kms_key_arn: str | None = None
    """Customer-managed KMS key for data at rest, the slow log and the generated token's secret; None keeps the AWS-managed encryption."""
    final_snapshot: bool = False
    """Take a snapshot when the replication group is deleted (named with a suffix that is new
    for every created group, so a second destroy never collides with the first one's)."""

    def __post_init__(self) -> None:
        versions = PARAMETER_GROUP_FAMILIES.get(self.engine)
        if versions is None:
            raise ValueError(
                f"ElasticacheRedisProps: engine {self.engine!r} must be one of "
                f"{', '.join(sorted(PARAMETER_GROUP_FAMILIES))}"
            )
        if self.engine_version not in versions:
            raise ValueError(
                f"ElasticacheRedisProps: engine_version {self.engine_version!r} is not supported for "
                f"{self.engine}; use one of {', '.join(versions)}"
            )
        if isinstance(self.num_cache_clusters, bool) or not 1 <= self.num_cache_clusters <= 6:
            raise ValueError(
                f"ElasticacheRedisProps: num_cache_clusters must be between 1 and 6, "
                f"got {self.num_cache_clusters!r}"
            )
        if not _NAME_RE.match(self.name):
            raise ValueError(
                f"ElasticacheRedisProps: name {self.name!r} must start with a letter and use only "
                "letters, digits and single hyphens, not ending with a hyphen"
            )
        if not self.subnet_ids:
            raise ValueError("ElasticacheRedisProps: give the private subnet_ids")
        if not 0 <= self.snapshot_retention_limit <= 35:
            raise ValueError(
                f"ElasticacheRedisProps: snapshot_retention_limit must be between 0 and 35 days, "
                f"got {self.snapshot_retention_limit}"
            )
        snapshot = _SNAPSHOT_WINDOW_RE.match(self.snapshot_window)
        if not snapshot or _window_length(snapshot.groups(), 1440) < 60:
            raise ValueError(
                f"ElasticacheRedisProps: snapshot_window {self.snapshot_window!r} must be "
                "hh24:mi-hh24:mi (UTC) and at least 60 minutes long"
            )
        maintenance = _MAINTENANCE_WINDOW_RE.match(self.maintenance_window)
        if not maintenance or _window_length(maintenance.groups(), 7 * 1440) < 60:
            raise ValueError(
                f"ElasticacheRedisProps: maintenance_window {self.maintenance_window!r} must be "
                "ddd:hh24:mi-ddd:hh24:mi (UTC, lowercase days) and at least 60 minutes long"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"ElasticacheRedisProps: log_retention_days {self.log_retention_days} is not a "
                "CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ... or 0 for never)"
            )
        if self.secret_recovery_window_days != 0 and not 7 <= self.secret_recovery_window_days <= 30:
            raise ValueError("ElasticacheRedisProps: secret_recovery_window_days must be 0 or 7-30")

    @property
    def parameter_group_family(self) -> str:
        return PARAMETER_GROUP_FAMILIES[self.engine][self.engine_version]

    @property
    def multi_node(self) -> bool:
        return self.num_cache_clusters >= 2


class ElasticacheRedis(Construct):
    """Exposes ``security_group_id``, ``primary_endpoint_address`` (writes),
    ``reader_endpoint_address``, ``port``, ``auth_token_secret_arn``, ``secret_read_arns``,
    ``replication_group_id``, ``log_group_name`` and ``allow_from``."""

    def __init__(self, scope: Construct, id_: str, *, props: ElasticacheRedisProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.name
        group_id = replication_group_id(name)

        # Fixed name (not name_prefix) so operators can find it; nothing here changes the name or
        # description, the only arguments that would force a replacement.
        security_group = SecurityGroup(
            self, "security-group",
            name=group_id,
            description=f"ElastiCache replication group {group_id}",
            vpc_id=props.vpc_id,
            tags={"Name": group_id},
        )
        self.security_group_id: str = security_group.id
        self.port: int = props.port
        for index, group in enumerate(props.allowed_security_group_ids):
            self.allow_from(f"allowed-security-group-{index}", group, "Allowed by configuration")

        subnet_group = ElasticacheSubnetGroup(
            self, "subnet-group",
            name=group_id,
            description=f"Private subnets of {group_id}",
            subnet_ids=list(props.subnet_ids),
            tags={"Name": group_id},
        )
        # Kept even without custom parameters so tuning later is an in-place change. The family is
        # in the name, so an engine or major-version change creates the new group first and the
        # replication group switches to it before the old one is deleted.
        family = props.parameter_group_family
        parameter_group = ElasticacheParameterGroup(
            self, "parameter-group",
            name=f"{group_id}-{family}",
            family=family,
            description=f"Settings of {group_id}",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            tags={"Name": f"{group_id}-{family}"},
        )

        slow_log = CloudwatchLogGroup(
            self, "slow-log-group",
            name=f"/aws/elasticache/{group_id}/slow-log",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
            tags={"Name": f"{group_id}-slow-log"},
        )
        self.log_group_name: str = slow_log.name

        auth_token, secret_arn = self._auth_token()
        self.auth_token_secret_arn: str = secret_arn
        self.secret_read_arns: tuple[str, ...] = (secret_arn,)

        snapshot_suffix = RandomId(self, "final-snapshot-suffix", byte_length=4) if props.final_snapshot else None
        replication_group = ElasticacheReplicationGroup(
            self, "replication-group",
            replication_group_id=group_id,
            description=f"LiteLLM cache ({props.engine}) of {name}",
            engine=props.engine,
            engine_version=props.engine_version,
            auto_minor_version_upgrade="true",
            node_type=props.node_type,
            num_cache_clusters=props.num_cache_clusters,
            # Failover needs a replica to promote, and Multi-AZ needs failover.
            automatic_failover_enabled=props.multi_node,
            multi_az_enabled=props.multi_node,
            port=props.port,
            subnet_group_name=subnet_group.name,
            security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            # A string in this provider version ("true"/"false"), as is auto_minor_version_upgrade.
            at_rest_encryption_enabled="true",
            kms_key_id=props.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=auth_token,
            # Only used when the token changes later (ignored on create). ROTATE keeps the old
            # token valid next to the new one, so running tasks keep their connections until they
            # are redeployed with the new secret value; a later apply with SET revokes the old one.
            auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=props.snapshot_retention_limit,
            snapshot_window=props.snapshot_window,
            final_snapshot_identifier=(
                None if snapshot_suffix is None else f"{group_id}-final-{snapshot_suffix.hex}"),
            maintenance_window=props.maintenance_window,
            apply_immediately=props.apply_immediately,
            log_delivery_configuration=[ElasticacheReplicationGroupLogDeliveryConfiguration(
                destination=slow_log.name,
                destination_type="cloudwatch-logs",
                log_format="json",
                log_type="slow-log",
            )],
            tags={"Name": group_id},
        )
        self.replication_group_id: str = replication_group.id
        self.primary_endpoint_address: str = replication_group.primary_endpoint_address
        self.reader_endpoint_address: str = replication_group.reader_endpoint_address

    def _auth_token(self) -> tuple[str, str]:
        """(token expression for the replication group, ARN of the secret that holds it)."""
        props = self.props
        if props.auth_token_secret_arn is not None:
            existing = DataAwsSecretsmanagerSecretVersion(
                self, "auth-token", secret_id=props.auth_token_secret_arn,
            )
            return existing.secret_string, props.auth_token_secret_arn

        password = Password(
            self, "auth-token",
            length=AUTH_TOKEN_LENGTH,
            special=False,
            # AWS advises at least three character classes.
            min_upper=1,
            min_lower=1,
            min_numeric=1,
        )
        secret_name = f"{props.name}/redis-auth-token"
        secret = SecretsmanagerSecret(
            self, "auth-token-secret",
            name=secret_name,
            description=f"AUTH token of ElastiCache {replication_group_id(props.name)} (plain string)",
            recovery_window_in_days=props.secret_recovery_window_days,
            kms_key_id=props.kms_key_arn,
            tags={"Name": secret_name},
        )
        SecretsmanagerSecretVersion(
            self, "auth-token-secret-version",
            secret_id=secret.id,
            secret_string=password.result,
        )
        return password.result, secret.arn

    def allow_from(self, id_: str, security_group_id: str, description: str) -> None:
        """Admit ``security_group_id`` on the cache port; ``id_`` is the rule's construct id."""
        admit(self, id_, group_id=self.security_group_id, source_group_id=security_group_id,
              port=self.props.port, description=description)
