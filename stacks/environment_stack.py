"""One deployable environment: provider, remote state, and the constructs wired together."""

from __future__ import annotations

from constructs import Construct
from cdktf import S3Backend, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags

from core.config import BackendConfig, EnvironmentConfig
from modules.network import Network, NetworkProps


class EnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, *, env: EnvironmentConfig, backend: BackendConfig) -> None:
        super().__init__(scope, env.stack_name)
        self.env = env

        AwsProvider(
            self, "aws",
            region=env.aws_region,
            default_tags=[AwsProviderDefaultTags(tags=env.default_tags)],
        )
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

        # Output names follow the seed's where it has one (vpc_id).
        TerraformOutput(self, "vpc_id", value=self.network.vpc_id)
        TerraformOutput(self, "public_subnet_ids", value=self.network.public_subnet_ids)
        TerraformOutput(self, "private_subnet_ids", value=self.network.private_subnet_ids)
        TerraformOutput(self, "nat_public_ips", value=self.network.nat_public_ips)
