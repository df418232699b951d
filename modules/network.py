"""VPC, public and private subnets per AZ, internet and NAT egress, S3 gateway endpoint, flow logs.

Layout follows terraform-aws-modules/vpc: one route table per private subnet (so switching the
NAT mode only moves routes, never re-creates subnets), NAT gateways in the public subnets, and the
default security group stripped of every rule so nothing can use it by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint

ANYWHERE_IPV4 = "0.0.0.0/0"


@dataclass(frozen=True, kw_only=True)
class NetworkProps:
    name: str
    """Base of every resource name, e.g. ``litellm-dev``."""
    region: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    public_subnet_cidrs: tuple[str, ...]
    """One per AZ, in the same order."""
    private_subnet_cidrs: tuple[str, ...]
    nat_gateway_mode: str = "single"
    """``none`` (no egress from private subnets), ``single`` or ``per_az``."""
    flow_logs_enabled: bool = False
    flow_logs_retention_days: int = 30
    flow_logs_kms_key_arn: str | None = None
    """Customer-managed KMS key of the flow log group; None keeps the service's encryption."""

    def __post_init__(self) -> None:
        zones = len(self.availability_zones)
        if len(self.public_subnet_cidrs) != zones or len(self.private_subnet_cidrs) != zones:
            raise ValueError("NetworkProps: give one public and one private subnet CIDR per AZ")
        if self.nat_gateway_mode not in ("none", "single", "per_az"):
            raise ValueError(f"NetworkProps: unknown nat_gateway_mode {self.nat_gateway_mode!r}")


class Network(Construct):
    """Exposes ``vpc_id``, ``vpc_cidr``, ``public_subnet_ids``, ``private_subnet_ids``,
    ``private_route_table_ids``, ``nat_gateway_ids`` and ``nat_public_ips``."""

    def __init__(self, scope: Construct, id_: str, *, props: NetworkProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.name

        vpc = Vpc(
            self, "vpc",
            cidr_block=props.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
        )
        self.vpc_id: str = vpc.id
        self.vpc_cidr: str = props.vpc_cidr

        DefaultSecurityGroup(
            self, "default-security-group",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name}-default-do-not-use"},
        )

        igw = InternetGateway(self, "internet-gateway", vpc_id=vpc.id, tags={"Name": f"{name}-igw"})

        public_route_table = RouteTable(
            self, "public-route-table", vpc_id=vpc.id, tags={"Name": f"{name}-public"}
        )
        Route(
            self, "public-default-route",
            route_table_id=public_route_table.id,
            destination_cidr_block=ANYWHERE_IPV4,
            gateway_id=igw.id,
        )

        public_subnets: list[Subnet] = []
        private_subnets: list[Subnet] = []
        private_route_tables: list[RouteTable] = []
        for zone, public_cidr, private_cidr in zip(
            props.availability_zones, props.public_subnet_cidrs, props.private_subnet_cidrs
        ):
            public = Subnet(
                self, f"public-subnet-{zone}",
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=zone,
                # Nothing we launch needs an automatic public IP; the ALB and NAT bring their own.
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "Tier": "public"},
            )
            RouteTableAssociation(
                self, f"public-route-table-association-{zone}",
                subnet_id=public.id,
                route_table_id=public_route_table.id,
            )
            private = Subnet(
                self, f"private-subnet-{zone}",
                vpc_id=vpc.id,
                cidr_block=private_cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-private-{zone}", "Tier": "private"},
            )
            route_table = RouteTable(
                self, f"private-route-table-{zone}",
                vpc_id=vpc.id,
                tags={"Name": f"{name}-private-{zone}"},
            )
            RouteTableAssociation(
                self, f"private-route-table-association-{zone}",
                subnet_id=private.id,
                route_table_id=route_table.id,
            )
            public_subnets.append(public)
            private_subnets.append(private)
            private_route_tables.append(route_table)

        nat_zone_count = {"none": 0, "single": 1, "per_az": len(props.availability_zones)}[
            props.nat_gateway_mode
        ]
        nat_gateways: list[NatGateway] = []
        nat_ips: list[Eip] = []
        for zone, public in zip(props.availability_zones[:nat_zone_count], public_subnets):
            eip = Eip(self, f"nat-eip-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"})
            nat = NatGateway(
                self, f"nat-gateway-{zone}",
                allocation_id=eip.id,
                subnet_id=public.id,
                tags={"Name": f"{name}-nat-{zone}"},
                depends_on=[igw],
            )
            nat_ips.append(eip)
            nat_gateways.append(nat)

        for index, (zone, route_table) in enumerate(zip(props.availability_zones, private_route_tables)):
            if not nat_gateways:
                break
            nat = nat_gateways[index] if props.nat_gateway_mode == "per_az" else nat_gateways[0]
            Route(
                self, f"private-default-route-{zone}",
                route_table_id=route_table.id,
                destination_cidr_block=ANYWHERE_IPV4,
                nat_gateway_id=nat.id,
            )

        # Free, and keeps S3 traffic (ECR image layers, config objects) off the NAT bill.
        VpcEndpoint(
            self, "s3-gateway-endpoint",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_route_tables],
            tags={"Name": f"{name}-s3"},
        )

        self.public_subnet_ids: list[str] = [s.id for s in public_subnets]
        self.private_subnet_ids: list[str] = [s.id for s in private_subnets]
        self.private_route_table_ids: list[str] = [rt.id for rt in private_route_tables]
        self.nat_gateway_ids: list[str] = [n.id for n in nat_gateways]
        self.nat_public_ips: list[str] = [e.public_ip for e in nat_ips]
        self.flow_log_group_name: str | None = None
        if props.flow_logs_enabled:
            self._add_flow_logs(vpc)

    def _add_flow_logs(self, vpc: Vpc) -> None:
        name = self.props.name
        log_group = CloudwatchLogGroup(
            self, "flow-log-group",
            name=f"/aws/vpc/{name}/flow-logs",
            retention_in_days=self.props.flow_logs_retention_days,
            kms_key_id=self.props.flow_logs_kms_key_arn,
        )
        assume = DataAwsIamPolicyDocument(
            self, "flow-log-assume-role",
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Service", identifiers=["vpc-flow-logs.amazonaws.com"],
                )],
                # Confused-deputy guard: only flow logs of this account (the VPC's owner).
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="aws:SourceAccount", values=[vpc.owner_id],
                )],
            )],
        )
        role = IamRole(
            self, "flow-log-role",
            name=f"{name}-vpc-flow-logs",
            assume_role_policy=assume.json,
        )
        write_logs = DataAwsIamPolicyDocument(
            self, "flow-log-write",
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[f"{log_group.arn}:*"],
            )],
        )
        IamRolePolicy(self, "flow-log-role-policy", role=role.id, policy=write_logs.json)
        FlowLog(
            self, "flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
        )
        self.flow_log_group_name = log_group.name
