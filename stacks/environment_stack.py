"""One deployable environment: provider, remote state, and the constructs wired together."""

from __future__ import annotations

from constructs import Construct
from cdktf import S3Backend, TerraformOutput, TerraformStack, TerraformVariable

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from cdktf_cdktf_provider_random.provider import RandomProvider

from core.config import BackendConfig, EnvironmentConfig
from modules.backend_database import BackendDatabase, BackendDatabaseProps
from modules.elasticache_redis import ElasticacheRedis, ElasticacheRedisProps
from modules.network import Network, NetworkProps
from modules.rds_postgres import RdsPostgres, RdsPostgresProps


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
        S3Backend(
            self,
            bucket=backend.state_bucket_name,
            key=backend.state_key(env.stack_name),
            region=backend.aws_region,
            encrypt=True,
            dynamodb_table=backend.lock_table_name if backend.uses_lock_table else None,
        )
        if not backend.uses_lock_table:
            # S3 native locking (Terraform >= 1.10); cdktf's S3Backend has no typed field for it.
            self.add_override("terraform.backend.s3.use_lockfile", True)

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
            ),
        )
        self._build_data_tier(env)
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
        }
        if self.backend_database is not None:
            outputs.update({
                "backend_rds_endpoint": self.backend_database.address,
                "backend_rds_secret_arn": self.backend_database.secret_arn,
                "backend_security_group_id": self.backend_database.client_security_group_id,
            })
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)
