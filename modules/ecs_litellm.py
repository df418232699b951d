"""The LiteLLM proxy on ECS Fargate: cluster, task definition, service, IAM, logs, autoscaling.

The ALB lives in its own module; this one receives the target group and the ALB's security group
and admits only that group on the container port. Tasks run in private subnets without public
addresses and may leave only on 443 (LLM APIs, ECR, Secrets Manager, S3) plus whatever datastore
ports the stack opens with ``allow_egress_to``.

Secrets never travel as plain environment variables: everything secret reaches the container
through the task definition's ``secrets`` (ECS resolves them at task start), and the execution
role may read exactly those secrets and parameters. ``LITELLM_MASTER_KEY`` and
``LITELLM_SALT_KEY`` are generated here unless the caller supplies them, by Secrets Manager into
write-only arguments (core/ephemeral.py), so neither ever enters Terraform state or a plan. The
salt key encrypts the provider credentials LiteLLM stores in its database, so once generated it
must never change: its write-only value is sent only on create (its version number is fixed),
and ``protect_secrets`` adds ``prevent_destroy``.

A LiteLLM ``config.yaml`` (optional here; the stack always passes one) is uploaded to a private
bucket and loaded by LiteLLM at start (``LITELLM_CONFIG_BUCKET_NAME``/``..._OBJECT_KEY``); its
SHA-256 is part of the task definition, so editing the file rolls out new tasks.

Container JSON note: the container definitions are a Terraform local passed as
``jsonencode(local...)`` (core/terraform_json.py), so ``cdk.tf.json`` shows them as plain JSON and
``cdktf synth --hcl`` converts them. Lists of references would not survive as plain strings, so
every value is a single string or number.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from cdktf import AssetType, TerraformAsset, TerraformResource, TerraformResourceLifecycle, Token
from constructs import Construct

from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification as PredefinedMetric,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_cluster_capacity_providers import (
    EcsClusterCapacityProviders,
    EcsClusterCapacityProvidersDefaultCapacityProviderStrategy,
)
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification
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
from cdktf_cdktf_provider_aws.s3_object import S3Object
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule

from core.litellm_config import MODULE_ENVIRONMENT, MODULE_SECRETS, check_declared, uvicorn_workers
from core.ephemeral import ephemeral_random_password
from core.private_bucket import block_public_access, deny_insecure_transport
from core.security_group_rules import admit, reach
from core.terraform_json import json_argument

CONTAINER_NAME = "litellm"
# The image's own CMD is ["--port", "4000"]; another port needs the flag overridden too.
IMAGE_DEFAULT_PORT = 4000
# ghcr.io/berriai/litellm has historically been published for amd64 only; ARM64 would need an
# image known to be multi-arch.
CPU_ARCHITECTURE = "X86_64"
ANYWHERE_IPV4 = "0.0.0.0/0"
HTTPS_PORT = 443
CONFIG_OBJECT_KEY = "config.yaml"
CONFIG_VERSIONS_KEPT_DAYS = 90
# ECS caps a container health check's start period at 300 s. Failures inside it don't count,
# which covers the Prisma migrations LiteLLM runs before it listens; the service's grace period
# does the same for the ALB's checks.
HEALTH_CHECK_START_PERIOD = 300
# "sk-" + 48 alphanumerics: LiteLLM requires the prefix; no specials so the key survives any
# shell, header or URL it is pasted into.
GENERATED_KEY_LENGTH = 48
# The write-only version of the generated keys' secret versions; never bumped (see _generated_key).
GENERATED_KEY_VERSION = 1
ECR_UNTAGGED_EXPIRY_DAYS = 7
ECR_TAGGED_IMAGES_KEPT = 20
# Target tracking: add tasks fast, remove them slowly (a streamed response can last minutes).
SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300
# ECS Exec's agent channels; AWS defines no resource ARNs for these actions, so "*" is the only
# possible resource (the ECS developer guide's ECS Exec task role policy).
ECS_EXEC_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)

SECRET_LOOKING_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# Variables whose names look secret but hold nothing secret; set by this module only.
NON_SECRET_NAMES = frozenset({"LITELLM_CONFIG_BUCKET_OBJECT_KEY"})
# Owned by the module because other settings must agree with them (port mapping, ALB idle
# timeout, task size, the uploaded config).
RESERVED_ENVIRONMENT = frozenset({
    "PORT", "NUM_WORKERS", "KEEPALIVE_TIMEOUT", "GRACEFUL_SHUTDOWN_TIMEOUT",
    "LITELLM_CONFIG_BUCKET_NAME", "LITELLM_CONFIG_BUCKET_OBJECT_KEY",
    "LITELLM_CONFIG_BUCKET_TYPE", "LITELLM_CONFIG_SHA256", "CONFIG_FILE_PATH",
})
# Seconds between the end of LiteLLM's graceful window (GRACEFUL_SHUTDOWN_TIMEOUT, after which
# uvicorn cancels what is still running) and ECS's SIGKILL: the proxy's teardown (LiteLLM keeps
# the same 10 s headroom for gunicorn).
SHUTDOWN_TEARDOWN_SECONDS = 10
MASTER_KEY_VARIABLE = "LITELLM_MASTER_KEY"
SALT_KEY_VARIABLE = "LITELLM_SALT_KEY"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def secret_base_arn(value_from: str) -> str:
    """The ARN an IAM policy must name for an ECS ``valueFrom``.

    ``arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<stage>:<version-id>]``
    -> the first seven colon-separated fields; an SSM parameter ARN is returned unchanged. A
    Terraform reference (``${aws_secretsmanager_secret.x.arn}``) may stand for the ARN, optionally
    followed by the literal ``:<json-key>:<stage>:<version-id>`` suffix; it is then the base.
    """
    fields = value_from.split(":")
    if value_from.startswith("arn:"):
        if len(fields) == 6 and fields[2] == "ssm" and fields[5].startswith("parameter/"):
            return value_from
        if len(fields) in (7, 10) and fields[2] == "secretsmanager" and fields[5] == "secret":
            return ":".join(fields[:7])
    elif Token.is_unresolved(fields[0]) and len(fields) in (1, 4):
        return fields[0]
    raise ValueError(
        f"{value_from!r} is not a Secrets Manager secret ARN (optionally with "
        ":json-key:version-stage:version-id) or an SSM parameter ARN"
    )


def is_ssm_parameter(value_from: str) -> bool:
    """SSM parameters must be given as literal ARNs; a reference counts as Secrets Manager."""
    fields = value_from.split(":")
    return value_from.startswith("arn:") and len(fields) == 6 and fields[2] == "ssm"


@dataclass(frozen=True, kw_only=True)
class LiteLLMServiceProps:
    name: str
    """Base of every resource name, e.g. ``litellm-dev`` (cluster ``litellm-dev-cluster``,
    service ``litellm-dev-litellm``; scripts rely on both)."""
    region: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    """Private subnets for the tasks (they never get a public IP)."""
    image: str
    command: tuple[str, ...] = ()
    """Container command (arguments to the image's ``litellm`` entrypoint); empty keeps the
    image's own, except that a port other than 4000 then becomes ``--port <port>``."""
    cpu: int
    """Fargate CPU units (1024 = 1 vCPU)."""
    memory: int
    """Fargate memory (MiB), valid for ``cpu``."""
    desired_count: int
    """Tasks at creation only: afterwards the count belongs to autoscaling and operators."""
    port: int = 4000
    num_workers: int = 0
    """Uvicorn workers; 0 means one per vCPU (at least 1)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Non-secret variables (DATABASE_HOST, REDIS_HOST, PROXY_BASE_URL, ...); they override this
    module's defaults except the reserved ones (PORT, NUM_WORKERS, KEEPALIVE_TIMEOUT,
    GRACEFUL_SHUTDOWN_TIMEOUT, config)."""
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Variable -> ECS ``valueFrom``: a Secrets Manager secret ARN (optionally
    ``:json-key:version-stage:version-id``) or an SSM parameter ARN. A Terraform reference may
    stand for a Secrets Manager ARN (SSM parameters must be literal ARNs). Give full secret ARNs
    (with the 6-character suffix): the execution role is granted exactly these."""
    generate_master_key: bool = True
    """Generate ``LITELLM_MASTER_KEY`` ("sk-" + random) into its own secret."""
    generate_salt_key: bool = True
    """Generate ``LITELLM_SALT_KEY`` into its own secret; it must never change afterwards."""
    protect_secrets: bool = False
    """``prevent_destroy`` on the generated salt key (losing it makes stored credentials
    unreadable). Turn on for environments holding real data."""
    secret_recovery_window_days: int = 7
    """For the generated secrets: 0 deletes at once on destroy (the name is free again), else 7-30."""
    kms_key_arn: str | None = None
    """Customer-managed KMS key for the log group, the generated keys' secrets (the execution role may decrypt with it through Secrets Manager), the config bucket and the ECR repository; None keeps the AWS-managed encryption."""
    kms_key_arns: tuple[str, ...] = ()
    """Customer-managed KMS keys protecting the ``secrets``; the execution role may decrypt with
    them only through Secrets Manager / SSM."""
    log_retention_days: int
    enable_execute_command: bool = False
    target_group_arn: str
    alb_security_group_id: str
    trusted_proxy_cidrs: tuple[str, ...]
    """Where the ALB's nodes live (its subnets' CIDRs): the only peers whose X-Forwarded-For /
    -Proto uvicorn believes (``FORWARDED_ALLOW_IPS``). "*" would let any client choose the IP
    LiteLLM sees (``allowed_ips``, logs, rate limits) by sending the header itself."""
    additional_security_group_ids: tuple[str, ...] = ()
    health_check_grace_period_seconds: int = 300
    stop_timeout: int = 120
    """Seconds between SIGTERM and SIGKILL (Fargate maximum 120) so streams can finish."""
    idle_timeout: int = 600
    """The ALB's idle timeout; LiteLLM's keep-alive is set above it to avoid 502s."""
    autoscaling_enabled: bool = False
    autoscaling_min_capacity: int = 1
    autoscaling_max_capacity: int = 4
    autoscaling_cpu_target: int = 60
    """Target average CPU utilisation (%)."""
    autoscaling_requests_per_target: int = 200
    """Target ALB requests per task per minute (used with ``alb_request_count_resource_label``)."""
    alb_request_count_resource_label: str | None = None
    """``app/<alb>/<id>/targetgroup/<tg>/<id>`` (ALB arn_suffix + "/" + target group arn_suffix);
    adds request-count target tracking when set."""
    ecr_repository_enabled: bool = True
    """Create a private ECR repository for your own LiteLLM image (and let the tasks pull it)."""
    ecr_force_delete: bool = False
    """Let ``destroy`` delete the repository with its images (otherwise it fails once one was
    pushed). For disposable environments only."""
    config_file: str | None = None
    """Absolute path of a LiteLLM ``config.yaml`` to upload and load at start. Its bucket is
    encrypted with ``kms_key_arn`` when given (the task role may decrypt only this bucket's
    objects, through S3), else with SSE-S3."""
    config_access_logs: tuple[str, str] | None = None
    """(bucket, key prefix) receiving the config bucket's S3 server access logs: who read or
    changed the configuration. The target's policy must admit ``logging.s3.amazonaws.com``."""

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"LiteLLMServiceProps: {message}")

        if not self.subnet_ids:
            fail("give the private subnet_ids")
        if not self.trusted_proxy_cidrs or "*" in self.trusted_proxy_cidrs:
            fail("trusted_proxy_cidrs: give the load balancer's subnet CIDRs (never '*')")
        if not 1 <= self.port <= 65535:
            fail(f"port {self.port} is not a TCP port")
        if self.cpu < 256 or self.memory < 512:
            fail("cpu and memory are Fargate task sizes (cpu >= 256 units, memory >= 512 MiB)")
        if self.num_workers < 0:
            fail("num_workers must be >= 0 (0 = one per vCPU)")
        if self.desired_count < 0:
            fail("desired_count must be >= 0")
        if not 2 <= self.stop_timeout <= 120:
            fail("stop_timeout must be 2-120 seconds (the Fargate maximum is 120)")
        if self.idle_timeout < 1:
            fail("idle_timeout must be positive")
        if self.health_check_grace_period_seconds < 0:
            fail("health_check_grace_period_seconds must be >= 0")
        if self.secret_recovery_window_days != 0 and not 7 <= self.secret_recovery_window_days <= 30:
            fail("secret_recovery_window_days must be 0 or 7-30")
        if self.autoscaling_enabled:
            if not 0 <= self.autoscaling_min_capacity <= self.autoscaling_max_capacity:
                fail("autoscaling needs 0 <= autoscaling_min_capacity <= autoscaling_max_capacity")
            if self.autoscaling_max_capacity < 1:
                fail("autoscaling_max_capacity must be at least 1")
            if not 1 <= self.autoscaling_cpu_target <= 100:
                fail("autoscaling_cpu_target is a percentage (1-100)")
            if self.autoscaling_requests_per_target < 1:
                fail("autoscaling_requests_per_target must be at least 1")
        if self.config_file is not None and not Path(self.config_file).is_absolute():
            fail(f"config_file {self.config_file!r} must be an absolute path")
        if "--port" in self.command:
            index = self.command.index("--port")
            if index + 1 >= len(self.command) or self.command[index + 1] != str(self.port):
                fail(f"command sets --port other than port {self.port}")

        for variable, generate in ((MASTER_KEY_VARIABLE, self.generate_master_key),
                                   (SALT_KEY_VARIABLE, self.generate_salt_key)):
            if variable in self.secrets and generate:
                fail(f"{variable} is supplied in secrets and also to be generated; "
                     f"set generate_{variable.removeprefix('LITELLM_').lower()}=False to use yours")
        for variable, value_from in self.secrets.items():
            if not _ENV_NAME.match(variable):
                fail(f"secrets: {variable!r} is not a valid environment variable name")
            try:
                secret_base_arn(value_from)
            except ValueError as error:
                fail(f"secrets.{variable}: {error}")
        for variable in self.environment:
            if not _ENV_NAME.match(variable):
                fail(f"environment: {variable!r} is not a valid environment variable name")
            if variable in RESERVED_ENVIRONMENT:
                fail(f"environment.{variable} is set by the module itself")
            if variable in self.secrets:
                fail(f"{variable} is in both environment and secrets")
            if SECRET_LOOKING_NAME.search(variable) and variable not in NON_SECRET_NAMES:
                fail(f"environment.{variable} looks like a secret; pass its ARN in secrets instead")

    @property
    def workers(self) -> int:
        return uvicorn_workers(self.cpu, self.num_workers)

    @property
    def graceful_shutdown_timeout(self) -> int:
        """LiteLLM's drain window after SIGTERM: ends before ECS kills the task (stop_timeout)."""
        return max(1, self.stop_timeout - SHUTDOWN_TEARDOWN_SECONDS)


class LiteLLMService(Construct):
    """Exposes ``cluster_name``, ``cluster_arn``, ``service_name``, ``service_arn``,
    ``security_group_id``, ``log_group_name``, ``task_definition_arn``, ``task_role_arn``,
    ``task_role_name``, ``execution_role_arn``, ``ecr_repository_url`` (None when off),
    ``config_bucket_name`` (None without config file), ``master_key_secret_arn`` /
    ``salt_key_secret_arn`` (None when supplied), ``container_name``, ``port``, and the methods
    ``allow_from``, ``allow_egress_to`` and ``depend_on``."""

    def __init__(self, scope: Construct, id_: str, *, props: LiteLLMServiceProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.name
        self.container_name: str = CONTAINER_NAME
        self.port: int = props.port

        # A fixed name so operators find it; name and description never change, so it is never
        # replaced (which would have to detach it from running tasks first).
        security_group = SecurityGroup(
            self, "security-group",
            name=f"{name}-litellm",
            description=f"LiteLLM tasks of {name}",
            vpc_id=props.vpc_id,
            tags={"Name": f"{name}-litellm"},
        )
        self.security_group_id: str = security_group.id
        # The account, for confused-deputy conditions, without an STS data source.
        self._account: str = security_group.owner_id
        self.allow_from("alb-ingress", props.alb_security_group_id, "From the ALB")
        # LLM provider APIs, ECR, Secrets Manager, S3 (config, image layers), Prisma engines.
        VpcSecurityGroupEgressRule(
            self, "https-egress",
            security_group_id=security_group.id,
            cidr_ipv4=ANYWHERE_IPV4,
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            description="HTTPS to AWS APIs and LLM providers",
        )

        cluster = EcsCluster(
            self, "cluster",
            name=f"{name}-cluster",
            setting=[EcsClusterSetting(name="containerInsights", value="enabled")],
            tags={"Name": f"{name}-cluster"},
        )
        EcsClusterCapacityProviders(
            self, "cluster-capacity-providers",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategy=[
                EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider="FARGATE", weight=1, base=0,
                )
            ],
        )
        self.cluster_name: str = cluster.name
        self.cluster_arn: str = cluster.arn

        log_group = CloudwatchLogGroup(
            self, "log-group",
            name=f"/ecs/{name}/litellm",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
            tags={"Name": f"/ecs/{name}/litellm"},
        )
        self.log_group_name: str = log_group.name

        self.ecr_repository_url: str | None = None
        repository = self._ecr_repository() if props.ecr_repository_enabled else None
        if repository is not None:
            self.ecr_repository_url = repository.repository_url

        secrets = dict(props.secrets)
        self.master_key_secret_arn: str | None = None
        self.salt_key_secret_arn: str | None = None
        if props.generate_master_key:
            self.master_key_secret_arn = self._generated_key("master-key", prefix="sk-")
            secrets[MASTER_KEY_VARIABLE] = self.master_key_secret_arn
        if props.generate_salt_key:
            self.salt_key_secret_arn = self._generated_key("salt-key", prefix="")
            secrets[SALT_KEY_VARIABLE] = self.salt_key_secret_arn

        module_environment = self._default_environment()
        config_object_arn: str | None = None
        config_bucket_arn: str | None = None
        self.config_bucket_name: str | None = None
        if props.config_file is not None:
            bucket_name, config_bucket_arn, config_object_arn, digest = self._config_object(props.config_file)
            self.config_bucket_name = bucket_name
            module_environment.update({
                "LITELLM_CONFIG_BUCKET_NAME": bucket_name,
                "LITELLM_CONFIG_BUCKET_OBJECT_KEY": CONFIG_OBJECT_KEY,
                # Nothing reads it: a changed file changes the task definition, so ECS rolls
                # out tasks that load the new config.
                "LITELLM_CONFIG_SHA256": digest,
            })
        # The config check at load trusts these names to be set (core/litellm_config.py).
        check_declared("modules/ecs_litellm.py", module_environment, MODULE_ENVIRONMENT)
        check_declared("modules/ecs_litellm.py", set(secrets) - set(props.secrets), MODULE_SECRETS)
        # The caller's values win; the props refuse the reserved names.
        environment = {**module_environment, **props.environment}

        execution_role = self._execution_role(log_group, repository, secrets)
        task_role = self._task_role(config_bucket_arn, config_object_arn)
        self.execution_role_arn: str = execution_role.arn
        self.task_role_arn: str = task_role.arn
        self.task_role_name: str = task_role.name

        task_definition = EcsTaskDefinition(
            self, "task-definition",
            family=f"{name}-litellm",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(props.cpu),
            memory=str(props.memory),
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture=CPU_ARCHITECTURE,
            ),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=json_argument(
                self, "container-definitions",
                [self._container_definition(environment, secrets, log_group.name)],
            ),
            tags={"Name": f"{name}-litellm"},
        )
        self.task_definition_arn: str = task_definition.arn

        service = EcsService(
            self, "service",
            name=f"{name}-litellm",
            cluster=cluster.arn,
            task_definition=task_definition.arn,
            desired_count=props.desired_count,
            launch_type="FARGATE",
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=list(props.subnet_ids),
                security_groups=[security_group.id, *props.additional_security_group_ids],
                assign_public_ip=False,
            ),
            load_balancer=[EcsServiceLoadBalancer(
                target_group_arn=props.target_group_arn,
                container_name=CONTAINER_NAME,
                container_port=props.port,
            )],
            health_check_grace_period_seconds=props.health_check_grace_period_seconds,
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            # Never below the current capacity during a rollout: new tasks start first.
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            enable_execute_command=props.enable_execute_command,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            # After creation the count belongs to autoscaling and the boost script.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["desired_count"]),
            tags={"Name": f"{name}-litellm"},
        )
        self._service = service
        self.service_name: str = service.name
        self.service_arn: str = service.id

        self.scalable_target_arn: str | None = None
        if props.autoscaling_enabled:
            self._autoscaling(cluster, service)

    # ----------------------------------------------------------------------------- public API

    def allow_from(self, id_: str, security_group_id: str, description: str) -> None:
        """Admit ``security_group_id`` on the container port; ``id_`` is the rule's construct id."""
        admit(self, id_, group_id=self.security_group_id, source_group_id=security_group_id,
              port=self.port, description=description)

    def allow_egress_to(
        self, id_: str, security_group_id: str, port: int, description: str | None = None
    ) -> None:
        """Let the tasks reach ``security_group_id`` on ``port`` (PostgreSQL, Redis, ...)."""
        reach(self, id_, group_id=self.security_group_id, target_group_id=security_group_id,
              port=port, description=description or f"To port {port}")

    def depend_on(self, *resources: TerraformResource) -> None:
        """Create the service only after ``resources`` (e.g. the ALB listeners: ECS refuses a
        target group that no listener uses yet)."""
        # Plain addresses: a resource's fqn is a "${...}" reference, which depends_on rejects.
        addresses = [f"{r.terraform_resource_type}.{r.friendly_unique_id}" for r in resources]
        self._service.depends_on = [*(self._service.depends_on or []), *addresses]

    # ---------------------------------------------------------------------------- pieces

    def _default_environment(self) -> dict[str, str]:
        props = self.props
        return {
            "PORT": str(props.port),
            "NUM_WORKERS": str(props.workers),
            "LITELLM_MODE": "PRODUCTION",  # no .env loading inside the container
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no cost-map download at start
            "REDIS_SSL": "true",  # ElastiCache with in-transit encryption
            # Above the ALB's idle timeout, or the ALB reuses connections uvicorn has closed (502s).
            "KEEPALIVE_TIMEOUT": str(props.idle_timeout + 5),
            # LiteLLM's default (30 s) would cut in-flight requests long before stopTimeout.
            "GRACEFUL_SHUTDOWN_TIMEOUT": str(props.graceful_shutdown_timeout),
            # Trust X-Forwarded-* only from the ALB's subnets: the ALB appends the real client
            # address, and uvicorn then takes the right-most untrusted entry, not the client's own.
            "FORWARDED_ALLOW_IPS": ",".join(props.trusted_proxy_cidrs),
        }

    def _container_definition(
        self, environment: Mapping[str, str], secrets: Mapping[str, str], log_group_name: str
    ) -> dict:
        props = self.props
        command = list(props.command)
        if not command and props.port != IMAGE_DEFAULT_PORT:
            command = ["--port", str(props.port)]
        # The image has neither curl nor wget; its Python is always there.
        probe = (
            "import urllib.request; urllib.request.urlopen("
            f"'http://localhost:{props.port}/health/liveliness', timeout=4)"
        )
        container: dict = {
            "name": CONTAINER_NAME,
            "image": props.image,
            "essential": True,
            "portMappings": [
                {"containerPort": props.port, "hostPort": props.port, "protocol": "tcp"}
            ],
            "environment": [{"name": k, "value": environment[k]} for k in sorted(environment)],
            "secrets": [{"name": k, "valueFrom": secrets[k]} for k in sorted(secrets)],
            "stopTimeout": props.stop_timeout,
            # LiteLLM writes at runtime (Prisma client/engines, UI build, temp config files).
            "readonlyRootFilesystem": False,
            "healthCheck": {
                "command": ["CMD", "python3", "-c", probe],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": HEALTH_CHECK_START_PERIOD,
            },
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group_name,
                    "awslogs-region": props.region,
                    "awslogs-stream-prefix": CONTAINER_NAME,
                },
            },
        }
        if command:
            container["command"] = command
        if props.enable_execute_command:
            # Reaps the SSM agent's child processes that ECS Exec starts in the container.
            container["linuxParameters"] = {"initProcessEnabled": True}
        return container

    def _generated_key(self, kind: str, *, prefix: str) -> str:
        props = self.props
        salt = kind == "salt-key"
        protect = salt and props.protect_secrets
        secret_name = f"{props.name}/litellm-{kind}"
        # Generated by Secrets Manager into a write-only argument: the value never enters state.
        random_value = ephemeral_random_password(
            self, f"{kind}-random", length=GENERATED_KEY_LENGTH, exclude_punctuation=True,
        )
        secret = SecretsmanagerSecret(
            self, f"{kind}-secret",
            name=secret_name,
            description=(
                "LiteLLM salt key: encrypts credentials stored in the database; never change it"
                if salt else "LiteLLM master (admin) key"
            ),
            recovery_window_in_days=props.secret_recovery_window_days,
            kms_key_id=props.kms_key_arn,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
            tags={"Name": secret_name},
        )
        # Written once: a write-only value is sent again only when its version number changes,
        # which nothing here does, so a later apply (or a key rotated by hand) is left alone.
        SecretsmanagerSecretVersion(
            self, f"{kind}-secret-version",
            secret_id=secret.id,
            secret_string_wo=f"{prefix}{random_value}",
            secret_string_wo_version=GENERATED_KEY_VERSION,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
        )
        return secret.arn

    def _ecr_repository(self) -> EcrRepository:
        name = f"{self.props.name}/litellm"
        repository = EcrRepository(
            self, "ecr-repository",
            name=name,
            # A tag always means the same image, so a task definition never changes under us.
            image_tag_mutability="IMMUTABLE",
            force_delete=self.props.ecr_force_delete or None,
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            # With the environment's key, ECR holds a grant on it (pulls need no KMS permission)
            # and CloudTrail shows every use. Fixed at creation: changing it replaces the repository.
            encryption_configuration=[EcrRepositoryEncryptionConfiguration(
                encryption_type="KMS", kms_key=self.props.kms_key_arn,
            ) if self.props.kms_key_arn else EcrRepositoryEncryptionConfiguration(encryption_type="AES256")],
            tags={"Name": name},
        )
        EcrLifecyclePolicy(
            self, "ecr-lifecycle-policy",
            repository=repository.name,
            policy=json.dumps({"rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {ECR_UNTAGGED_EXPIRY_DAYS} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": ECR_UNTAGGED_EXPIRY_DAYS,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the last {ECR_TAGGED_IMAGES_KEPT} tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": ECR_TAGGED_IMAGES_KEPT,
                    },
                    "action": {"type": "expire"},
                },
            ]}),
        )
        return repository

    def _config_object(self, config_file: str) -> tuple[str, str, str, str]:
        """Private bucket + object; returns (bucket name, bucket ARN, object ARN, SHA-256 of the file)."""
        name = self.props.name
        digest = hashlib.sha256(Path(config_file).read_bytes()).hexdigest()
        # Bucket names are global across accounts: a recognisable prefix plus the suffix
        # Terraform appends keeps two accounts using the same props.name apart.
        bucket = S3Bucket(
            self, "config-bucket",
            bucket_prefix=f"{name}-config-",
            # Its only content is generated from the repository, so nothing is lost on destroy.
            force_destroy=True,
            tags={"Name": f"{name}-config"},
        )
        public_access_block = block_public_access(self, "config-bucket", bucket.id)
        # With the environment's key, reading the configuration takes a grant of that key on top
        # of s3:GetObject, and the key's use is logged; without one, SSE-S3.
        key = self.props.kms_key_arn
        S3BucketServerSideEncryptionConfigurationA(
            self, "config-bucket-encryption",
            bucket=bucket.id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms" if key else "AES256",
                        kms_master_key_id=key,
                    )
                ),
                # One data key per bucket instead of one KMS call per read.
                bucket_key_enabled=True if key else None,
            )],
        )
        # Every change of the configuration object reaches EventBridge (free, the default bus),
        # so an account's rules can alert on it or audit it; nothing here consumes it.
        S3BucketNotification(self, "config-bucket-events", bucket=bucket.id, eventbridge=True)
        if self.props.config_access_logs is not None:
            target_bucket, target_prefix = self.props.config_access_logs
            S3BucketLoggingA(
                self, "config-bucket-logging",
                bucket=bucket.id,
                target_bucket=target_bucket,
                target_prefix=target_prefix,
            )
        S3BucketVersioningA(
            self, "config-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        # Old versions are only for rolling back a bad edit by hand; the repository has them all.
        S3BucketLifecycleConfiguration(
            self, "config-bucket-lifecycle",
            bucket=bucket.id,
            rule=[S3BucketLifecycleConfigurationRule(
                id="expire-old-config-versions",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=CONFIG_VERSIONS_KEPT_DAYS,
                    )
                ],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=1,
                    )
                ],
            )],
        )
        tls_only = DataAwsIamPolicyDocument(
            self, "config-bucket-tls-only", statement=deny_insecure_transport(bucket.arn),
        )
        S3BucketPolicy(self, "config-bucket-policy", bucket=bucket.id, policy=tls_only.json,
                       depends_on=[public_access_block])
        # Synthesis copies the file next to cdk.tf.json (assets/...), so the synthesized stack
        # stays self-contained instead of naming a path on the machine that synthesized it.
        asset = TerraformAsset(
            self, "config-asset", path=config_file, type=AssetType.FILE, asset_hash=digest,
        )
        S3Object(
            self, "config-object",
            bucket=bucket.id,
            key=CONFIG_OBJECT_KEY,
            source=asset.path,
            # Any edit changes the hash, so Terraform uploads the new file.
            source_hash=digest,
            content_type="application/yaml",
        )
        return bucket.bucket, bucket.arn, f"{bucket.arn}/{CONFIG_OBJECT_KEY}", digest

    def _execution_role(
        self, log_group: CloudwatchLogGroup, repository: EcrRepository | None,
        secrets: Mapping[str, str],
    ) -> IamRole:
        props = self.props
        role = IamRole(
            self, "execution-role",
            name=f"{props.name}-litellm-execution",
            description="ECS agent: pulls the image, writes logs, injects secrets",
            assume_role_policy=self._ecs_tasks_trust("execution-role-trust").json,
        )
        statements = [DataAwsIamPolicyDocumentStatement(
            sid="WriteLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.arn, f"{log_group.arn}:log-stream:*"],
        )]
        if repository is not None:
            statements += [
                # AWS defines no resource for this action: "*" is the only valid value.
                DataAwsIamPolicyDocumentStatement(
                    sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="EcrPull", actions=list(ECR_PULL_ACTIONS), resources=[repository.arn],
                ),
            ]
        # Several variables may read keys of one JSON secret; IAM needs its ARN once.
        secret_arns: list[str] = []
        parameter_arns: list[str] = []
        for value_from in secrets.values():
            found = parameter_arns if is_ssm_parameter(value_from) else secret_arns
            base = secret_base_arn(value_from)
            if base not in found:
                found.append(base)
        if secret_arns:
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="ReadSecrets", actions=["secretsmanager:GetSecretValue"],
                resources=secret_arns,
            ))
        if parameter_arns:
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="ReadParameters", actions=["ssm:GetParameters"],
                resources=parameter_arns,
            ))
        decrypt_keys = [*props.kms_key_arns, *([props.kms_key_arn] if props.kms_key_arn else [])]
        if decrypt_keys:
            services = [f"secretsmanager.{props.region}.amazonaws.com"]
            if parameter_arns:
                services.append(f"ssm.{props.region}.amazonaws.com")
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="DecryptSecrets",
                actions=["kms:Decrypt"],
                resources=decrypt_keys,
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="kms:ViaService", values=services,
                )],
            ))
        policy = DataAwsIamPolicyDocument(self, "execution-role-permissions", statement=statements)
        IamRolePolicy(self, "execution-role-policy", name="litellm-execution", role=role.id,
                      policy=policy.json)
        return role

    def _task_role(self, config_bucket_arn: str | None, config_object_arn: str | None) -> IamRole:
        props = self.props
        role = IamRole(
            self, "task-role",
            name=f"{props.name}-litellm-task",
            description="Role of the LiteLLM container (config object, ECS Exec)",
            assume_role_policy=self._ecs_tasks_trust("task-role-trust").json,
        )
        statements = []
        if config_object_arn is not None:
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="ReadConfig", actions=["s3:GetObject"], resources=[config_object_arn],
            ))
            if props.kms_key_arn:
                statements.append(DataAwsIamPolicyDocumentStatement(
                    sid="DecryptConfig", actions=["kms:Decrypt"], resources=[props.kms_key_arn],
                    # With a bucket key, S3 names the bucket in the encryption context.
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="kms:ViaService",
                            values=[f"s3.{props.region}.amazonaws.com"],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="kms:EncryptionContext:aws:s3:arn",
                            values=[config_bucket_arn],
                        ),
                    ],
                ))
        if props.enable_execute_command:
            statements.append(DataAwsIamPolicyDocumentStatement(
                sid="EcsExec", actions=list(ECS_EXEC_ACTIONS), resources=["*"],
            ))
        if statements:
            policy = DataAwsIamPolicyDocument(self, "task-role-permissions", statement=statements)
            IamRolePolicy(self, "task-role-policy", name="litellm-task", role=role.id,
                          policy=policy.json)
        return role

    def _ecs_tasks_trust(self, id_: str) -> DataAwsIamPolicyDocument:
        return DataAwsIamPolicyDocument(
            self, id_,
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Service", identifiers=["ecs-tasks.amazonaws.com"],
                )],
                # Confused-deputy guard: only ECS acting for this account.
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="aws:SourceAccount", values=[self._account],
                )],
            )],
        )

    def _autoscaling(self, cluster: EcsCluster, service: EcsService) -> None:
        props = self.props
        target = AppautoscalingTarget(
            self, "autoscaling-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{cluster.name}/{service.name}",
            min_capacity=props.autoscaling_min_capacity,
            max_capacity=props.autoscaling_max_capacity,
            # Scale-to-zero (manual control, boost script) lowers the floor to 0 at run time;
            # a later deploy must not raise it again under a sleeping service.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["min_capacity"]),
        )
        self.scalable_target_arn = target.arn
        metrics = [("cpu", "ECSServiceAverageCPUUtilization", props.autoscaling_cpu_target, None)]
        if props.alb_request_count_resource_label is not None:
            metrics.append((
                "requests", "ALBRequestCountPerTarget", props.autoscaling_requests_per_target,
                props.alb_request_count_resource_label,
            ))
        for kind, metric, target_value, label in metrics:
            AppautoscalingPolicy(
                self, f"autoscaling-{kind}",
                name=f"{props.name}-litellm-{kind}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=(
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                        target_value=target_value,
                        predefined_metric_specification=PredefinedMetric(
                            predefined_metric_type=metric, resource_label=label,
                        ),
                        scale_out_cooldown=SCALE_OUT_COOLDOWN,
                        scale_in_cooldown=SCALE_IN_COOLDOWN,
                    )
                ),
            )
