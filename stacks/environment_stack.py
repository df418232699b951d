"""One deployable environment: provider, remote state, and the constructs wired together."""

from __future__ import annotations

from constructs import Construct
from cdktf import S3Backend, TerraformOutput, TerraformStack, TerraformVariable

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from cdktf_cdktf_provider_random.provider import RandomProvider

from core import db_capacity
from core.config import BackendConfig, EnvironmentConfig
from core.litellm_config import STACK_ENVIRONMENT, STACK_SECRETS, check_declared
from modules.alarms import Alarms, AlarmsProps
from modules.alb import LoadBalancer, LoadBalancerProps
from modules.backend_database import BackendDatabase, BackendDatabaseProps
from modules.bastion import Bastion, BastionProps
from modules.encryption_key import EncryptionKey, EncryptionKeyProps
from modules.ecs_litellm import LiteLLMService, LiteLLMServiceProps
from modules.elasticache_redis import ElasticacheRedis, ElasticacheRedisProps, replication_group_id
from modules.manual_control import ManualControl, ManualControlProps
from modules.network import Network, NetworkProps
from modules.rds_postgres import RdsPostgres, RdsPostgresProps
from modules.rotation_redeploy import RotationRedeploy, RotationRedeployProps
from stacks.aspects import apply_workload_boundary

# The only port LiteLLM's split DATABASE_* variables reach on every image: 1.108.7's
# construct_database_url_from_env_vars (the CLI's path) builds postgresql://user:pw@DATABASE_HOST/db
# and ignores DATABASE_PORT, while the newer DatabaseURLSettings path (RDS IAM auth, the
# component entrypoints) appends :DATABASE_PORT (default 5432) after the host, so "host:port" in
# DATABASE_HOST breaks there and DATABASE_PORT is ignored here.
LITELLM_DATABASE_PORT = 5432


def connections_alarm_threshold(instance_class: str) -> int:
    """80% of the default max_connections of a PostgreSQL instance class."""
    return max(10, db_capacity.usable_connections(instance_class))


def database_environment(address: str, port: int, database_name: str) -> dict[str, str]:
    """DATABASE_HOST is the bare address and DATABASE_PORT the port; see LITELLM_DATABASE_PORT."""
    if port != LITELLM_DATABASE_PORT:
        raise ValueError(
            f"LiteLLM's database must listen on {LITELLM_DATABASE_PORT}, not {port}: LiteLLM 1.108.7 "
            "ignores DATABASE_PORT and newer images append it after DATABASE_HOST, so no setting "
            "reaches another port on both"
        )
    return {"DATABASE_HOST": address, "DATABASE_PORT": str(port), "DATABASE_NAME": database_name}


class EnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, *, env: EnvironmentConfig, backend: BackendConfig) -> None:
        super().__init__(scope, env.stack_name)
        self.env = env

        AwsProvider(
            self, "aws",
            region=env.aws_region,
            default_tags=[AwsProviderDefaultTags(tags=env.default_tags)],
        )
        RandomProvider(self, "random")
        apply_workload_boundary(self, name_prefix=env.name_prefix, resource_prefix=env.resource_prefix, tags=env.default_tags)
        S3Backend(
            self,
            bucket=backend.state_bucket_name,
            key=backend.state_key(env.stack_name),
            region=backend.aws_region,
            encrypt=True,
            # Without it the backend asks S3 for SSE-S3 and the state bypasses the state key.
            kms_key_id=backend.state_kms_key_alias,
            dynamodb_table=backend.lock_table_name if backend.uses_lock_table else None,
        )
        if not backend.uses_lock_table:
            # S3 native locking (Terraform >= 1.10); cdktf's S3Backend has no typed field for it.
            self.add_override("terraform.backend.s3.use_lockfile", True)

        # Production-like environments encrypt logs, generated secrets and the cache with their own
        # key (auditable, restrictable); dev keeps the free AWS-managed encryption.
        self.encryption_key: EncryptionKey | None = None
        if env.production_like:
            self.encryption_key = EncryptionKey(
                self, "encryption-key", props=EncryptionKeyProps(name=env.resource_prefix, region=env.aws_region))
        self.kms_key_arn: str | None = self.encryption_key.arn if self.encryption_key else None

        self.network = Network(
            self, "network",
            props=NetworkProps(
                name=env.resource_prefix,
                region=env.aws_region,
                vpc_cidr=env.vpc_cidr,
                availability_zones=env.availability_zones,
                public_subnet_cidrs=env.public_subnet_cidrs,
                private_subnet_cidrs=env.private_subnet_cidrs,
                nat_gateway_mode=env.nat_gateway_mode,
                flow_logs_enabled=env.vpc_flow_logs_enabled,
                flow_logs_retention_days=env.vpc_flow_logs_retention_days,
                flow_logs_kms_key_arn=self.kms_key_arn,
            ),
        )
        self._build_data_tier(env)
        self._build_service(env)
        self._connect()
        self._build_operations(env)
        self._build_alarms(env)
        self._outputs()

    def _build_data_tier(self, env: EnvironmentConfig) -> None:
        network = self.network
        subnets = tuple(network.private_subnet_ids)
        master_password = None
        if not env.rds_manage_master_password:
            # Supplied out of band (TF_VAR_rds_master_password), never in a file or the JSON.
            master_password = TerraformVariable(
                self, "rds_master_password",
                type="string",
                sensitive=True,
                description="Master password of LiteLLM's database (rds_manage_master_password = false).",
            ).string_value
        self.database = RdsPostgres(
            self, "litellm-database",
            props=RdsPostgresProps(
                name=env.resource_prefix,
                vpc_id=network.vpc_id,
                subnet_ids=subnets,
                allowed_security_group_ids=env.additional_rds_allowed_security_group_ids,
                database_name=env.rds_database_name,
                master_username=env.rds_master_username,
                manage_master_password=env.rds_manage_master_password,
                master_password=master_password,
                engine_version=env.rds_engine_version,
                instance_class=env.rds_instance_class,
                allocated_storage=env.rds_allocated_storage,
                max_allocated_storage=env.rds_max_allocated_storage,
                storage_type=env.rds_storage_type,
                kms_key_id=env.rds_kms_key_id,
                multi_az=env.rds_multi_az,
                backup_retention_period=env.rds_backup_retention_period,
                skip_final_snapshot=env.rds_skip_final_snapshot,
                apply_immediately=env.rds_apply_immediately,
                deletion_protection=env.rds_deletion_protection,
                performance_insights_enabled=env.rds_performance_insights_enabled,
                performance_insights_kms_key_id=env.rds_kms_key_id or self.kms_key_arn,
                # OS metrics (memory, swap, per-process CPU) explain what CPU alarms cannot.
                monitoring_interval=60 if env.production_like else 0,
                log_retention_days=env.operational_log_retention_days,
                log_kms_key_arn=self.kms_key_arn,
                secret_recovery_window_days=env.secret_recovery_window_days,
            ),
        )
        self.cache = ElasticacheRedis(
            self, "cache",
            props=ElasticacheRedisProps(
                name=env.resource_prefix,
                vpc_id=network.vpc_id,
                subnet_ids=subnets,
                allowed_security_group_ids=env.additional_redis_allowed_security_group_ids,
                engine=env.redis_engine,
                engine_version=env.redis_engine_version,
                node_type=env.redis_node_type,
                num_cache_clusters=env.redis_num_cache_clusters,
                snapshot_retention_limit=env.redis_snapshot_retention_limit,
                snapshot_window=env.redis_snapshot_window,
                maintenance_window=env.redis_maintenance_window,
                apply_immediately=env.redis_apply_immediately,
                auth_token_secret_arn=env.redis_auth_token_secret_arn,
                # Production keeps the cache's contents on destroy; dev tears down cleanly.
                final_snapshot=env.production_like,
                log_retention_days=env.operational_log_retention_days,
                kms_key_arn=self.kms_key_arn,
                secret_recovery_window_days=env.secret_recovery_window_days,
            ),
        )
        self.backend_database: BackendDatabase | None = None
        if env.backend_rds_enabled:
            self.backend_database = BackendDatabase(
                self, "backend-database",
                props=BackendDatabaseProps(
                    name=env.resource_prefix,
                    vpc_id=network.vpc_id,
                    subnet_ids=subnets,
                    allowed_security_group_ids=env.additional_backend_rds_allowed_security_group_ids,
                    database_name=env.backend_rds_database_name,
                    master_username=env.backend_rds_master_username,
                    engine_version=env.backend_rds_engine_version,
                    instance_class=env.backend_rds_instance_class,
                    allocated_storage=env.backend_rds_allocated_storage,
                    backup_retention_period=env.backend_rds_backup_retention_period,
                    skip_final_snapshot=env.backend_rds_skip_final_snapshot,
                    deletion_protection=env.backend_rds_deletion_protection,
                    multi_az=env.backend_rds_multi_az,
                    secret_name=env.backend_rds_secret_name,
                    secret_recovery_window_days=env.secret_recovery_window_days,
                ),
            )

    def _build_service(self, env: EnvironmentConfig) -> None:
        network = self.network
        self.load_balancer = LoadBalancer(
            self, "load-balancer",
            props=LoadBalancerProps(
                name=env.resource_prefix,
                vpc_id=network.vpc_id,
                subnet_ids=tuple(network.private_subnet_ids if env.alb_internal else network.public_subnet_ids),
                internal=env.alb_internal,
                ingress_cidrs=env.alb_ingress_cidrs,
                idle_timeout=env.alb_idle_timeout,
                deletion_protection=env.alb_deletion_protection,
                certificate_arn=env.alb_https_certificate_arn,
                ssl_policy=env.alb_https_ssl_policy,
                redirect_http_to_https=env.alb_redirect_http_to_https,
                http_listener_enabled=env.alb_http_listener_enabled,
                target_port=env.litellm_container_port,
                health_check_path=env.litellm_health_check_path,
                access_logs_enabled=env.alb_access_logs_enabled,
                waf_enabled=env.waf_enabled,
                waf_rate_limit_per_5_minutes=env.waf_rate_limit_per_5_minutes,
                waf_count_only_rules=env.waf_count_only_rules,
                waf_logging_enabled=env.waf_logging_enabled,
                waf_log_retention_days=env.waf_log_retention_days,
                waf_log_kms_key_arn=self.kms_key_arn,
                # None: the security group's alb_ingress_cidrs already decide who reaches them.
                admin_cidrs=env.litellm_admin_cidrs,
            ),
        )
        alb, database, cache = self.load_balancer, self.database, self.cache
        self.public_url: str = env.litellm_public_url or alb.url
        wired_environment = {
            **database_environment(database.address, database.port, database.database_name),
            "REDIS_HOST": cache.primary_endpoint_address,
            "REDIS_PORT": str(cache.port),
            "REDIS_SSL": "true",
            # Behind the TLS-terminating ALB the admin UI and SSO build their links from the
            # public URL. A user's PROXY_BASE_URL became litellm_public_url at load (and a
            # contradicting pair was refused), so this never overwrites a different value.
            "PROXY_BASE_URL": self.public_url,
        }
        wired_secrets = {
            "DATABASE_USERNAME": database.username_value_from,
            "DATABASE_PASSWORD": database.password_value_from,
            "REDIS_PASSWORD": cache.auth_token_secret_arn,
        }
        check_declared("stacks/environment_stack.py", wired_environment, STACK_ENVIRONMENT)
        check_declared("stacks/environment_stack.py", wired_secrets, STACK_SECRETS)
        environment = {**env.litellm_environment, **wired_environment}
        secrets = {**env.litellm_secrets, **wired_secrets}
        self.service = LiteLLMService(
            self, "litellm",
            props=LiteLLMServiceProps(
                name=env.resource_prefix,
                region=env.aws_region,
                vpc_id=network.vpc_id,
                subnet_ids=tuple(network.private_subnet_ids),
                image=env.litellm_container_image,
                command=env.litellm_container_command,
                cpu=env.litellm_task_cpu,
                memory=env.litellm_task_memory,
                desired_count=env.litellm_desired_count,
                port=env.litellm_container_port,
                num_workers=env.litellm_num_workers,
                environment=environment,
                secrets=secrets,
                generate_master_key="LITELLM_MASTER_KEY" not in env.litellm_secrets,
                generate_salt_key="LITELLM_SALT_KEY" not in env.litellm_secrets,
                # Losing the salt key makes every credential stored in the database unreadable.
                protect_secrets=env.rds_deletion_protection,
                log_retention_days=env.litellm_log_retention_days,
                kms_key_arn=self.kms_key_arn,
                enable_execute_command=env.litellm_enable_execute_command,
                target_group_arn=alb.target_group_arn,
                alb_security_group_id=alb.security_group_id,
                trusted_proxy_cidrs=tuple(env.private_subnet_cidrs if env.alb_internal else env.public_subnet_cidrs),
                additional_security_group_ids=env.additional_service_security_group_ids,
                idle_timeout=env.alb_idle_timeout,
                autoscaling_enabled=env.litellm_autoscaling_enabled,
                autoscaling_min_capacity=env.litellm_autoscaling_min_capacity,
                autoscaling_max_capacity=env.litellm_autoscaling_max_capacity,
                autoscaling_cpu_target=env.litellm_autoscaling_cpu_target,
                autoscaling_requests_per_target=env.litellm_autoscaling_requests_per_target,
                alb_request_count_resource_label=alb.request_count_resource_label,
                ecr_repository_enabled=env.ecr_repository_enabled,
                # Dev must tear down even after images were pushed; production keeps them.
                ecr_force_delete=not env.production_like,
                config_file=env.litellm_config_file,
                config_access_logs=alb.server_access_logs_target,
                secret_recovery_window_days=env.secret_recovery_window_days,
            ),
        )

    def _connect(self) -> None:
        """Security group wiring between the constructs: each path opened on both ends."""
        service, alb = self.service, self.load_balancer
        # ECS refuses a target group that no listener forwards to yet.
        service.depend_on(*alb.listeners)
        alb.allow_egress_to("to-litellm", service.security_group_id, service.port)
        self.database.allow_from("from-litellm", service.security_group_id, "LiteLLM tasks")
        self.cache.allow_from("from-litellm", service.security_group_id, "LiteLLM tasks")
        service.allow_egress_to("to-database", self.database.security_group_id, self.database.port)
        service.allow_egress_to("to-cache", self.cache.security_group_id, self.cache.port)

    def _build_operations(self, env: EnvironmentConfig) -> None:
        self.bastion: Bastion | None = None
        if env.backend_db_bastion_enabled:
            network = self.network
            # Without NAT the SSM agent needs interface endpoints; one AZ is enough for a bastion.
            no_nat = env.nat_gateway_mode == "none"
            bastion_subnet = network.private_subnet_ids[0]
            self.bastion = Bastion(
                self, "bastion",
                props=BastionProps(
                    name=env.resource_prefix,
                    region=env.aws_region,
                    vpc_id=network.vpc_id,
                    subnet_id=bastion_subnet,
                    instance_type=env.backend_db_bastion_instance_type,
                    create_ssm_endpoints=no_nat,
                    endpoint_subnet_ids=(bastion_subnet,) if no_nat else (),
                ),
            )
            # Both databases admit the bastion (the seed forgot this, so its tunnel never worked).
            for label, store in (("litellm-db", self.database), ("backend-db", self.backend_database)):
                if store is not None:
                    store.allow_from("from-bastion", self.bastion.security_group_id, "SSM bastion")
                    self.bastion.allow_egress_to(f"to-{label}", store.security_group_id, store.port)

        # ECS injects secrets only at task start: when the database password rotates, restart the
        # tasks. (The Redis token rotates with ElastiCache's ROTATE strategy, old and new valid.)
        self.rotation_redeploy = RotationRedeploy(
            self, "rotation-redeploy",
            props=RotationRedeployProps(
                name=env.resource_prefix,
                cluster_name=self.service.cluster_name,
                service_name=self.service.service_name,
                service_arn=self.service.service_arn,
                secret_arns=(self.database.credentials_secret_arn,),
                log_retention_days=env.operational_log_retention_days,
                kms_key_arn=self.kms_key_arn,
                tracing=env.production_like,
                dead_letter_queue=env.production_like,
            ),
        )

        self.manual_control: ManualControl | None = None
        if env.litellm_manual_control_enabled:
            autoscaling = env.litellm_autoscaling_enabled
            self.manual_control = ManualControl(
                self, "manual-control",
                props=ManualControlProps(
                    name=env.resource_prefix,
                    region=env.aws_region,
                    cluster_name=self.service.cluster_name,
                    service_name=self.service.service_name,
                    service_arn=self.service.service_arn,
                    load_balancer_arn_suffix=self.load_balancer.arn_suffix,
                    active_desired_count=env.litellm_manual_override_desired_count,
                    default_override_hours=env.litellm_manual_override_default_hours,
                    max_override_hours=env.litellm_manual_override_max_hours,
                    idle_shutdown_minutes=env.litellm_idle_shutdown_minutes,
                    idle_check_interval_minutes=env.litellm_idle_check_interval_minutes,
                    autoscaling_min_capacity=env.litellm_autoscaling_min_capacity if autoscaling else None,
                    autoscaling_max_capacity=env.litellm_autoscaling_max_capacity if autoscaling else None,
                    scalable_target_arn=self.service.scalable_target_arn,
                ),
            )

    def _build_alarms(self, env: EnvironmentConfig) -> None:
        self.alarms: Alarms | None = None
        if not env.alarms_enabled:
            return
        # Literal names (alarm names are built from them); the modules name resources the same way.
        databases = [(f"{env.resource_prefix}-postgres", env.rds_allocated_storage, env.rds_instance_class)]
        if self.backend_database is not None:
            databases.append((f"{env.resource_prefix}-backend-postgres",
                              env.backend_rds_allocated_storage, env.backend_rds_instance_class))
        cache_id = replication_group_id(env.resource_prefix)
        self.alarms = Alarms(
            self, "alarms",
            props=AlarmsProps(
                name=env.resource_prefix,
                email=env.alarm_email,
                kms_key_arn=self.kms_key_arn,
                alb_arn_suffix=self.load_balancer.arn_suffix,
                target_group_arn_suffix=self.load_balancer.target_group_arn_suffix,
                cluster_name=self.service.cluster_name,
                service_name=self.service.service_name,
                db_instance_identifiers=tuple(name for name, _, _ in databases),
                db_allocated_storage_gib=tuple(storage for _, storage, _ in databases),
                rds_max_connections_threshold=tuple(
                    connections_alarm_threshold(instance_class) for _, _, instance_class in databases),
                cache_cluster_ids=tuple(
                    f"{cache_id}-{index:03d}" for index in range(1, env.redis_num_cache_clusters + 1)),
            ),
        )

    def _outputs(self) -> None:
        """Stack outputs; names follow the seed's wherever it has one."""
        outputs: dict[str, object] = {
            "vpc_id": self.network.vpc_id,
            "public_subnet_ids": self.network.public_subnet_ids,
            "private_subnet_ids": self.network.private_subnet_ids,
            "nat_public_ips": self.network.nat_public_ips,
            # `address`, not the seed's host:port `endpoint`, so it works in DNS records and URLs.
            "rds_endpoint": self.database.address,
            "rds_port": self.database.port,
            "rds_credentials_secret_arn": self.database.credentials_secret_arn,
            "redis_endpoint": self.cache.primary_endpoint_address,
            "redis_port": self.cache.port,
            "redis_auth_token_secret_arn": self.cache.auth_token_secret_arn,
            "litellm_alb_dns_name": self.load_balancer.dns_name,
            "litellm_alb_zone_id": self.load_balancer.zone_id,
            "litellm_gateway_url": self.public_url,
            "litellm_cluster_name": self.service.cluster_name,
            "litellm_service_name": self.service.service_name,
            "litellm_log_group_name": self.service.log_group_name,
        }
        optional = {
            "ecr_repository_url": self.service.ecr_repository_url,
            "litellm_master_key_secret_arn": self.service.master_key_secret_arn,
            "litellm_config_bucket_name": self.service.config_bucket_name,
            "alarm_topic_arn": self.alarms.topic_arn if self.alarms else None,
            "litellm_manual_control_api_url": self.manual_control.api_url if self.manual_control else None,
            "backend_db_bastion_instance_id": self.bastion.instance_id if self.bastion else None,
            "backend_db_bastion_tunnel_policy_arn": self.bastion.tunnel_policy_arn if self.bastion else None,
            "litellm_manual_control_invoke_policy": (
                self.manual_control.invoke_policy_json if self.manual_control else None),
        }
        outputs.update({name: value for name, value in optional.items() if value is not None})
        if self.backend_database is not None:
            outputs.update({
                "backend_rds_endpoint": self.backend_database.address,
                "backend_rds_secret_arn": self.backend_database.secret_arn,
                "backend_security_group_id": self.backend_database.client_security_group_id,
            })
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)
