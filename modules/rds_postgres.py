"""LiteLLM's own PostgreSQL: private, encrypted, TLS-only RDS with credentials in Secrets Manager.

Password rotation. With ``manage_master_password`` (the default) RDS keeps the master password
in a Secrets Manager secret it owns and rotates (every 7 days by default); nothing secret ever
enters Terraform state. ECS reads container secrets only when a task starts, and a password change
does not end PostgreSQL sessions that are already open, so running tasks keep working until they
open a *new* connection (pool growth, reconnect after a failover), which then fails with the old
password. Our answer, wired by the stack (modules/rotation_redeploy): Secrets Manager's own
``Secret Label Updated`` event (AWSCURRENT moved; delivered to EventBridge without a CloudTrail
trail, unlike ``RotationSucceeded``) on ``credentials_secret_arn`` forces a new ECS deployment, so
tasks restart with the new password. It fires for an RDS rotation and for a supplied password
changed by ``terraform apply`` alike.
Both modes leave a JSON secret with the keys ``username`` and ``password``, so ECS reads them
with the same ``<secret-arn>:<json-key>::`` valueFrom form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdktf import Fn, TerraformResourceLifecycle, Token
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_random.id import Id as RandomId

from core.security_group_rules import admit

ENGINE = "postgres"
CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"
LOG_EXPORTS = ("postgresql", "upgrade")
# The free tier of Performance Insights.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7

_WINDOW_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = r"([01]\d|2[0-3]):([0-5]\d)"
_BACKUP_WINDOW_RE = re.compile(rf"^{_HHMM}-{_HHMM}$")
_MAINTENANCE_WINDOW_RE = re.compile(rf"^([a-z]{{3}}):{_HHMM}-([a-z]{{3}}):{_HHMM}$")
_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY


def _week_minutes(day: str, hour: str, minute: str) -> int:
    return _WINDOW_DAYS.index(day) * _MINUTES_PER_DAY + int(hour) * 60 + int(minute)


def _arcs(start: int, end: int, period: int) -> list[tuple[int, int]]:
    """A window that may wrap past ``period`` as half-open intervals inside [0, period)."""
    return [(start, end)] if start < end else [(start, period), (0, end)]


def _windows_overlap(backup_window: str, maintenance_window: str) -> bool:
    b = _BACKUP_WINDOW_RE.match(backup_window)
    m = _MAINTENANCE_WINDOW_RE.match(maintenance_window)
    assert b and m  # validated by the caller
    b_start, b_end = int(b[1]) * 60 + int(b[2]), int(b[3]) * 60 + int(b[4])
    # Every day's backup window as minutes of the week; a window past midnight is split, and its
    # early-morning part also lands on Monday, so Sunday night is covered too.
    backup = [
        (day * _MINUTES_PER_DAY + lo, day * _MINUTES_PER_DAY + hi)
        for day in range(7)
        for lo, hi in _arcs(b_start, b_end, _MINUTES_PER_DAY)
    ]
    maintenance = _arcs(_week_minutes(m[1], m[2], m[3]), _week_minutes(m[4], m[5], m[6]), _MINUTES_PER_WEEK)
    return any(b_lo < m_hi and m_lo < b_hi for b_lo, b_hi in backup for m_lo, m_hi in maintenance)


def _is_reference(value: str) -> bool:
    """A cdktf token or a literal Terraform interpolation, i.e. not a plaintext value."""
    return Token.is_unresolved(value) or (value.startswith("${") and value.endswith("}"))


@dataclass(frozen=True, kw_only=True)
class RdsPostgresProps:
    name: str
    """Base of every resource name, e.g. ``litellm-dev`` (instance ``litellm-dev-postgres``)."""
    vpc_id: str
    subnet_ids: tuple[str, ...]
    """Private subnets in at least two AZs (an RDS subnet group requires it)."""
    allowed_security_group_ids: tuple[str, ...] = ()
    """Security groups admitted on ``port``; groups created by other constructs go through
    ``allow_from`` instead, under a stable construct id."""
    database_name: str
    master_username: str
    manage_master_password: bool = True
    """RDS owns the password in its own Secrets Manager secret and rotates it."""
    master_password: str | None = None
    """Only with ``manage_master_password=False``: a Terraform reference to the password (a
    sensitive variable's ``string_value`` or ``"${var.rds_master_password}"``), never a literal."""
    engine_version: str
    """PostgreSQL major version only (``"17"``); minor versions upgrade automatically, so state
    never drifts from a pinned minor."""
    instance_class: str
    allocated_storage: int
    """GiB."""
    max_allocated_storage: int = 0
    """Storage autoscaling ceiling in GiB; 0 turns autoscaling off."""
    storage_type: str = "gp3"
    iops: int | None = None
    """Provisioned IOPS; required for io1/io2, left to the gp3 baseline otherwise."""
    kms_key_id: str | None = None
    """KMS key ARN for storage and Performance Insights; None uses the AWS managed keys."""
    multi_az: bool = False
    backup_retention_period: int = 7
    """Days of automated backups (0 disables them, up to 35)."""
    backup_window: str = "15:00-16:00"
    """Daily, UTC ``hh24:mi-hh24:mi``; must not overlap ``maintenance_window``."""
    maintenance_window: str = "sun:20:00-sun:21:00"
    """Weekly, UTC ``ddd:hh24:mi-ddd:hh24:mi``."""
    skip_final_snapshot: bool = False
    apply_immediately: bool = False
    """Apply modifications now instead of in the maintenance window."""
    deletion_protection: bool = True
    performance_insights_enabled: bool = False
    performance_insights_kms_key_id: str | None = None
    """Key of the Performance Insights data; None uses ``kms_key_id``."""
    monitoring_interval: int = 0
    """Enhanced Monitoring (OS metrics) every N seconds (1, 5, 10, 15, 30, 60); 0 turns it off."""
    slow_query_threshold_ms: int = 1000
    """``log_min_duration_statement``: statements slower than this are logged (-1 turns it off)."""
    log_retention_days: int = 30
    log_kms_key_arn: str | None = None
    """Customer-managed KMS key of the exported log groups (storage keeps ``kms_key_id``)."""
    """Retention of the exported ``postgresql`` and ``upgrade`` CloudWatch log groups."""
    secret_recovery_window_days: int = 7
    """For the secret created when the password is supplied: 0 deletes it at once on destroy
    (freeing the name), otherwise 7-30 days."""
    port: int = 5432

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"RdsPostgresProps: {message}")

        if self.manage_master_password and self.master_password is not None:
            fail("give master_password only with manage_master_password=False (RDS manages it otherwise)")
        if not self.manage_master_password:
            if not self.master_password:
                fail("master_password is required when manage_master_password is False")
            if not _is_reference(self.master_password):
                fail("master_password must be a Terraform reference (e.g. a sensitive variable), never a literal")
        if not self.engine_version.isdigit():
            fail(f"engine_version {self.engine_version!r} must be a PostgreSQL major version such as '17'")
        if len(self.subnet_ids) < 2:
            fail("give at least two private subnet_ids, in different AZs")
        if self.max_allocated_storage and self.max_allocated_storage < self.allocated_storage:
            fail("max_allocated_storage must be 0 (off) or at least allocated_storage")
        if self.storage_type in ("io1", "io2") and not self.iops:
            fail(f"storage_type {self.storage_type} needs iops")
        if not 0 <= self.backup_retention_period <= 35:
            fail("backup_retention_period must be 0-35")
        if self.secret_recovery_window_days != 0 and not 7 <= self.secret_recovery_window_days <= 30:
            fail("secret_recovery_window_days must be 0 or 7-30")
        if not 1150 <= self.port <= 65535:
            fail("port must be 1150-65535")
        if self.monitoring_interval not in (0, 1, 5, 10, 15, 30, 60):
            fail("monitoring_interval must be 0, 1, 5, 10, 15, 30 or 60")
        if not _BACKUP_WINDOW_RE.match(self.backup_window):
            fail(f"backup_window {self.backup_window!r} is not hh24:mi-hh24:mi")
        m = _MAINTENANCE_WINDOW_RE.match(self.maintenance_window)
        if not m or m[1] not in _WINDOW_DAYS or m[4] not in _WINDOW_DAYS:
            fail(f"maintenance_window {self.maintenance_window!r} is not ddd:hh24:mi-ddd:hh24:mi")
        if _windows_overlap(self.backup_window, self.maintenance_window):
            fail("backup_window and maintenance_window overlap")


class RdsPostgres(Construct):
    """Exposes ``security_group_id``, ``address`` (host name only, never ``endpoint``'s
    host:port), ``port``, ``database_name``, ``master_username``, ``instance_identifier``,
    ``instance_arn``, ``credentials_secret_arn``, ``username_value_from`` /
    ``password_value_from`` (ECS container-secret ``valueFrom``), ``secret_read_arns`` (what an
    ECS execution role must be allowed to ``secretsmanager:GetSecretValue``) and ``allow_from``."""

    def __init__(self, scope: Construct, id_: str, *, props: RdsPostgresProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.name
        identifier = f"{name}-postgres"

        # A fixed name so operators find the group; only a changed name, description or VPC would
        # replace it, and nothing here derives those from anything but props.name.
        security_group = SecurityGroup(
            self, "security-group",
            name=identifier,
            description=f"LiteLLM PostgreSQL {identifier}",
            vpc_id=props.vpc_id,
            tags={"Name": identifier},
        )
        self.security_group_id: str = security_group.id
        self.port: int = props.port
        for index, group_id in enumerate(props.allowed_security_group_ids):
            self.allow_from(f"allowed-security-group-{index}", group_id, "Allowed by configuration")

        subnet_group = DbSubnetGroup(
            self, "subnet-group",
            name=identifier,
            description=f"Private subnets of {identifier}",
            subnet_ids=list(props.subnet_ids),
            tags={"Name": identifier},
        )

        # The family, hence the name, follows the major version: an upgrade creates the new group
        # first, moves the instance onto it and only then deletes the old one.
        parameter_group_name = f"{identifier}{props.engine_version}"
        parameter_group = DbParameterGroup(
            self, "parameter-group",
            name=parameter_group_name,
            family=f"postgres{props.engine_version}",
            description=f"TLS-only, slow-query logging for {identifier}",
            parameter=[
                DbParameterGroupParameter(name="rds.force_ssl", value="1"),
                DbParameterGroupParameter(
                    name="log_min_duration_statement", value=str(props.slow_query_threshold_ms)
                ),
                # LiteLLM holds a pooled set of long-lived connections, so this costs a few lines
                # per task start and buys an audit trail of who connected from where.
                DbParameterGroupParameter(name="log_connections", value="1"),
                # Lock waits beyond deadlock_timeout (1 s) and temp files over 10 MiB are rare and
                # explain most slow queries. log_statement stays off: "ddl" would log
                # ALTER ROLE ... PASSWORD in clear text.
                DbParameterGroupParameter(name="log_lock_waits", value="1"),
                DbParameterGroupParameter(name="log_temp_files", value="10240"),
            ],
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            tags={"Name": parameter_group_name},
        )

        # Created before the instance so RDS does not create them first with infinite retention.
        log_groups = [
            CloudwatchLogGroup(
                self, f"log-group-{log}",
                name=f"/aws/rds/instance/{identifier}/{log}",
                retention_in_days=props.log_retention_days,
                kms_key_id=props.log_kms_key_arn,
            )
            for log in LOG_EXPORTS
        ]

        # A new suffix per created instance: a fixed name would make the second destroy of a
        # re-created instance fail on the first one's snapshot. Not secret, so state may hold it.
        snapshot_suffix = None if props.skip_final_snapshot else RandomId(self, "final-snapshot-suffix", byte_length=4)

        pi = props.performance_insights_enabled
        instance = DbInstance(
            self, "instance",
            identifier=identifier,
            engine=ENGINE,
            engine_version=props.engine_version,
            auto_minor_version_upgrade=True,
            # engine_version only changes by an edit to reviewed configuration; without this the
            # apply of a deliberate major upgrade is refused by RDS.
            allow_major_version_upgrade=True,
            instance_class=props.instance_class,
            allocated_storage=props.allocated_storage,
            max_allocated_storage=props.max_allocated_storage or None,
            storage_type=props.storage_type,
            iops=props.iops,
            storage_encrypted=True,
            kms_key_id=props.kms_key_id,
            db_name=props.database_name,
            username=props.master_username,
            manage_master_user_password=True if props.manage_master_password else None,
            password=None if props.manage_master_password else props.master_password,
            port=props.port,
            iam_database_authentication_enabled=True,
            ca_cert_identifier=CA_CERT_IDENTIFIER,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            multi_az=props.multi_az,
            backup_retention_period=props.backup_retention_period,
            backup_window=props.backup_window,
            maintenance_window=props.maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=props.deletion_protection,
            skip_final_snapshot=props.skip_final_snapshot,
            # Without it RDS refuses to delete an instance that keeps a final snapshot.
            final_snapshot_identifier=(
                None if snapshot_suffix is None else f"{identifier}-final-{snapshot_suffix.hex}"),
            apply_immediately=props.apply_immediately,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=pi,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS if pi else None,
            performance_insights_kms_key_id=(props.performance_insights_kms_key_id or props.kms_key_id) if pi else None,
            monitoring_interval=props.monitoring_interval or None,
            monitoring_role_arn=self._monitoring_role(identifier, log_groups[0]) if props.monitoring_interval else None,
            tags={"Name": identifier},
            depends_on=log_groups,
        )
        self.address: str = instance.address
        self.database_name: str = props.database_name
        self.master_username: str = props.master_username
        self.instance_identifier: str = instance.identifier
        self.instance_arn: str = instance.arn

        if props.manage_master_password:
            secret_arn = instance.master_user_secret.get(0).secret_arn
        else:
            secret_name = f"{name}/postgres-master"
            secret = SecretsmanagerSecret(
                self, "master-secret",
                name=secret_name,
                description=f"Master credentials of {identifier} (JSON: username, password)",
                recovery_window_in_days=props.secret_recovery_window_days,
                tags={"Name": secret_name},
            )
            SecretsmanagerSecretVersion(
                self, "master-secret-version",
                secret_id=secret.id,
                # Same keys as the secret RDS manages, so consumers never care which mode is on.
                secret_string=Fn.jsonencode({
                    "username": props.master_username,
                    "password": props.master_password,
                }),
            )
            secret_arn = secret.arn
        self.credentials_secret_arn: str = secret_arn
        # arn:...:secret:<name>:<json-key>:<version-stage>:<version-id>; empty stage and id mean
        # AWSCURRENT at task start.
        self.username_value_from: str = f"{secret_arn}:username::"
        self.password_value_from: str = f"{secret_arn}:password::"
        self.secret_read_arns: list[str] = [secret_arn]

    def _monitoring_role(self, identifier: str, log_group: CloudwatchLogGroup) -> str:
        """The role RDS uses to publish Enhanced Monitoring metrics (AWS's own managed policy)."""
        # Partition and account from an ARN we own: no STS data source.
        partition = Fn.element(Fn.split(":", log_group.arn), 1)
        account = Fn.element(Fn.split(":", log_group.arn), 4)
        trust = DataAwsIamPolicyDocument(
            self, "monitoring-assume-role",
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Service", identifiers=["monitoring.rds.amazonaws.com"],
                )],
                # Confused-deputy guard, as the RDS user guide's Enhanced Monitoring role shows.
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="aws:SourceAccount", values=[account],
                )],
            )],
        )
        role = IamRole(self, "monitoring-role", name=f"{identifier}-monitoring",
                       assume_role_policy=trust.json, tags={"Name": f"{identifier}-monitoring"})
        IamRolePolicyAttachment(
            self, "monitoring-role-policy",
            role=role.name,
            policy_arn=f"arn:{partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        )
        return role.arn

    def allow_from(self, id_: str, security_group_id: str, description: str) -> None:
        """Admit ``security_group_id`` on the database port; ``id_`` is the rule's construct id."""
        admit(self, id_, group_id=self.security_group_id, source_group_id=security_group_id,
              port=self.props.port, description=description)
