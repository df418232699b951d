"""SSM-only bastion: a small Graviton instance in a private subnet for database port forwarding.

Nobody connects *to* it: Session Manager's agent dials out to the SSM endpoints over 443, and
``AWS-StartPortForwardingSessionToRemoteHost`` relays a local port through it to a database. So
its security group has no ingress rule at all, there is no public IP, no key pair and no SSH.
It is meant to be stopped while unused (``scripts/db-tunnel.sh`` starts and stops it), which
leaves only its 8 GiB volume on the bill.

Image. The AMI is Amazon Linux 2023 arm64, resolved by EC2 *at launch* from AWS's public SSM
parameter (``resolve:ssm:...``): no ``aws_ami`` / ``aws_ssm_parameter`` data source (they would
call AWS at plan time and the offline plan refuses them) and no AMI id pinned in the code. The
parameter sits in a launch template rather than in ``aws_instance.ami`` because the provider
looks the AMI up with ``DescribeImages`` to find the root device name whenever
``root_block_device`` is set, and EC2 rejects ``resolve:ssm:`` there (InvalidAMIID.Malformed,
terraform-provider-aws #43488, open, still present in 5.x/6.x): ``plan`` passes, ``apply`` fails.
The launch template carries the encrypted root volume instead, on AL2023's root device
``/dev/xvda``. EC2 stores the template's image as the literal ``resolve:ssm:`` string, so a
new AMI release changes nothing in Terraform and never replaces the bastion; the instance gets
the newest image only when it is re-created.

Without NAT (``nat_gateway_mode = "none"``) the agent can only reach SSM through interface
endpoints: ``create_ssm_endpoints`` adds ``ssm``, ``ssmmessages`` and ``ec2messages`` with
private DNS, behind their own security group that admits 443 from the bastion only. They are
billed per hour and per AZ even while the bastion is stopped, so give them as few subnets as
you can (the bastion's own is enough).

Permissions. The instance role carries only what the SSM agent needs to register and carry
sessions (``ssm:UpdateInstanceInformation`` and the four ``ssmmessages`` channel actions), not
``AmazonSSMManagedInstanceCore``, which also grants ``ssm:GetParameter(s)`` on every parameter
of the account. Operators get ``tunnel_policy_arn``: start sessions on this instance with the
port-forwarding document only (``ssm:SessionDocumentAccessCheck``, so no shell), end their own
sessions, and start/stop the instance. Session logging: a port-forwarding session carries raw
TCP, which Session Manager never records (its S3/CloudWatch session logs cover shell sessions
only); who opened which tunnel when is in CloudTrail (``StartSession`` with the document name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdktf import Token
from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.instance import (
    Instance,
    InstanceCreditSpecification,
    InstanceLaunchTemplate,
    InstanceMetadataOptions,
)
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateMetadataOptions,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule

from core.security_group_rules import admit, reach

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
AMI = f"resolve:ssm:{AMI_PARAMETER}"
ROOT_DEVICE_NAME = "/dev/xvda"
# The AL2023 AMI's root snapshot is 8 GiB; EC2 refuses a root volume smaller than its snapshot.
MIN_ROOT_VOLUME_GIB = 8
MAX_ROOT_VOLUME_GIB = 16384  # gp3 limit
# What the SSM agent needs for Session Manager (the Session Manager user guide's minimal instance
# policy, without S3/KMS session encryption). Registration is scoped to instances of this account
# and region; the ssmmessages channel actions have no resource type, so "*" it is.
SSM_REGISTRATION_ACTION = "ssm:UpdateInstanceInformation"
SSM_CHANNEL_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
SSM_ENDPOINT_SERVICES = ("ssm", "ssmmessages", "ec2messages")
HTTPS = 443
ANYWHERE_IPV4 = "0.0.0.0/0"
# Graviton families carry a "g" after the generation digit (t4g, m7g, c8gd...); the AMI is arm64
# only, so an x86 type would fail at launch, not at plan.
_GRAVITON_TYPE = re.compile(r"^[a-z]+\d+g[a-z]*\.[a-z0-9]+$")


@dataclass(frozen=True, kw_only=True)
class BastionProps:
    name: str
    """Base of every resource name, e.g. ``litellm-dev``; the instance is tagged ``<name>-bastion``."""
    region: str
    """Region of the VPC, for the SSM endpoint service names."""
    vpc_id: str
    subnet_id: str
    """A private subnet (no route from the internet; the instance gets no public IP either)."""
    instance_type: str = "t4g.nano"
    """A Graviton (arm64) type: the AMI is AL2023 arm64."""
    create_ssm_endpoints: bool = False
    """Interface endpoints for ssm, ssmmessages and ec2messages; needed when the private subnets
    have no NAT, pointless (and about $7 per endpoint, AZ and month) when they have one."""
    endpoint_subnet_ids: tuple[str, ...] = ()
    """Subnets of the SSM endpoints (one per AZ at most); required with ``create_ssm_endpoints``."""
    root_volume_size: int = MIN_ROOT_VOLUME_GIB
    """GiB of encrypted gp3; at least the AMI's 8 GiB."""
    detailed_monitoring: bool = False
    """One-minute CloudWatch metrics (billed); the five-minute default is plenty for a bastion."""

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"BastionProps: {message}")

        if not _GRAVITON_TYPE.match(self.instance_type):
            fail(f"instance_type {self.instance_type!r} is not a Graviton (arm64) type such as t4g.nano")
        if not MIN_ROOT_VOLUME_GIB <= self.root_volume_size <= MAX_ROOT_VOLUME_GIB:
            fail(f"root_volume_size must be {MIN_ROOT_VOLUME_GIB}-{MAX_ROOT_VOLUME_GIB} GiB")
        if self.create_ssm_endpoints and not self.endpoint_subnet_ids:
            fail("create_ssm_endpoints needs endpoint_subnet_ids")
        if self.endpoint_subnet_ids and not self.create_ssm_endpoints:
            fail("endpoint_subnet_ids are only used with create_ssm_endpoints=True")
        if len(set(self.endpoint_subnet_ids)) != len(self.endpoint_subnet_ids):
            fail("endpoint_subnet_ids has duplicates")


class Bastion(Construct):
    """Exposes ``instance_id``, ``instance_name`` (its Name tag), ``security_group_id``,
    ``role_name``, ``tunnel_policy_arn`` (attach it to operators), ``endpoint_security_group_id`` (None without SSM endpoints) and
    ``allow_egress_to``."""

    def __init__(self, scope: Construct, id_: str, *, props: BastionProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = f"{props.name}-bastion"
        self.instance_name: str = name

        # Fixed name (not name_prefix) so operators can find it; nothing here changes the name or
        # description, the only arguments that would force a replacement.
        security_group = SecurityGroup(
            self, "security-group",
            name=name,
            description=f"SSM-only bastion {name}: no ingress, egress to SSM and allowed databases",
            vpc_id=props.vpc_id,
            tags={"Name": name},
        )
        self.security_group_id: str = security_group.id
        # The SSM agent dials out to the SSM endpoints (through NAT or the interface endpoints).
        VpcSecurityGroupEgressRule(
            self, "https-egress",
            security_group_id=security_group.id,
            cidr_ipv4=ANYWHERE_IPV4,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="HTTPS to Systems Manager",
        )

        assume = DataAwsIamPolicyDocument(
            self, "assume-role",
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Service", identifiers=["ec2.amazonaws.com"],
                )],
            )],
        )
        role = IamRole(self, "role", name=name, assume_role_policy=assume.json, tags={"Name": name})
        self.role_name: str = role.name
        partition = DataAwsPartition(self, "partition")
        # Registration and sessions only: the role can read no secret or parameter and reach no
        # database API.
        account = security_group.owner_id  # no STS data source
        agent = DataAwsIamPolicyDocument(
            self, "ssm-agent",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="RegisterWithSsm", actions=[SSM_REGISTRATION_ACTION],
                    resources=[f"arn:{partition.partition}:ec2:{props.region}:{account}:instance/*"],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="SessionChannels", actions=list(SSM_CHANNEL_ACTIONS), resources=["*"],
                ),
            ],
        )
        ssm_core = IamRolePolicy(self, "ssm-agent-policy", name="ssm-agent", role=role.id, policy=agent.json)
        profile = IamInstanceProfile(self, "instance-profile", name=name, role=role.name, tags={"Name": name})

        # Only what aws_instance cannot express next to a resolve:ssm image: the image itself and
        # the root volume (see the module docstring).
        launch_template = LaunchTemplate(
            self, "launch-template",
            name=name,
            description=f"AL2023 arm64 (resolved at launch) with an encrypted root volume for {name}",
            image_id=AMI,
            block_device_mappings=[LaunchTemplateBlockDeviceMappings(
                device_name=ROOT_DEVICE_NAME,
                ebs=LaunchTemplateBlockDeviceMappingsEbs(
                    volume_size=props.root_volume_size,
                    volume_type="gp3",
                    encrypted="true",
                    delete_on_termination="true",
                ),
            )],
            # Same IMDSv2-only settings as the instance, so anything launched from it is safe too.
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
            ),
            tags={"Name": name},
        )

        instance = Instance(
            self, "instance",
            launch_template=InstanceLaunchTemplate(
                id=launch_template.id,
                version=Token.as_string(launch_template.latest_version),
            ),
            instance_type=props.instance_type,
            subnet_id=props.subnet_id,
            vpc_security_group_ids=[security_group.id],
            iam_instance_profile=profile.name,
            associate_public_ip_address=False,
            metadata_options=InstanceMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",
                # 1: nothing on the box (no containers) needs a second hop to the credentials.
                http_put_response_hop_limit=1,
            ),
            # Burstable types default to "unlimited"; a bastion never needs more than its baseline,
            # so don't let a runaway process bill surplus credits.
            credit_specification=(
                InstanceCreditSpecification(cpu_credits="standard")
                if props.instance_type.startswith("t") else None
            ),
            monitoring=props.detailed_monitoring,
            ebs_optimized=True,
            # Disposable: destroy and re-create freely; an OS shutdown only stops it.
            disable_api_termination=False,
            instance_initiated_shutdown_behavior="stop",
            tags={"Name": name},
            # The agent registers at first boot; the role must already carry the SSM policy.
            depends_on=[ssm_core],
        )
        self.instance_id: str = instance.id
        self.tunnel_policy_arn: str = self._tunnel_policy(name, instance, partition).arn

        self.endpoint_security_group_id: str | None = None
        if props.create_ssm_endpoints:
            self._add_ssm_endpoints(security_group.id)

    def _tunnel_policy(self, name: str, instance: Instance, partition: DataAwsPartition) -> IamPolicy:
        """For operators: port forwarding through this bastion and nothing else."""
        region = self.props.region
        document = f"arn:{partition.partition}:ssm:{region}::document/{PORT_FORWARD_DOCUMENT}"
        policy = DataAwsIamPolicyDocument(
            self, "tunnel-policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="PortForwardOnly",
                    actions=["ssm:StartSession"],
                    resources=[instance.arn, document],
                    # Without it a StartSession naming no document would open a shell.
                    condition=[DataAwsIamPolicyDocumentStatementCondition(
                        test="BoolIfExists", variable="ssm:SessionDocumentAccessCheck", values=["true"],
                    )],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="OwnSessions",
                    actions=["ssm:TerminateSession", "ssm:ResumeSession"],
                    # &{...}: an IAM policy variable, not a Terraform interpolation.
                    resources=[f"arn:{partition.partition}:ssm:{region}:*:session/&{{aws:userid}}-*"],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="StartStopBastion",
                    actions=["ec2:StartInstances", "ec2:StopInstances"],
                    resources=[instance.arn],
                ),
                # Describe* has no resource-level permissions.
                DataAwsIamPolicyDocumentStatement(
                    sid="FindBastion", actions=["ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:DescribeSessions"],
                    resources=["*"],
                ),
            ],
        )
        return IamPolicy(
            self, "tunnel-policy",
            name=f"{name}-tunnel",
            description=f"Database tunnels through {name} (port forwarding only, no shell)",
            policy=policy.json,
            tags={"Name": f"{name}-tunnel"},
        )

    def _add_ssm_endpoints(self, bastion_security_group_id: str) -> None:
        props = self.props
        name = f"{props.name}-bastion-ssm-endpoints"
        endpoint_sg = SecurityGroup(
            self, "endpoint-security-group",
            name=name,
            description=f"SSM interface endpoints of {props.name}-bastion: 443 from the bastion only",
            vpc_id=props.vpc_id,
            tags={"Name": name},
        )
        self.endpoint_security_group_id = endpoint_sg.id
        admit(self, "endpoint-ingress-from-bastion", group_id=endpoint_sg.id,
              source_group_id=bastion_security_group_id, port=HTTPS, description="HTTPS from the bastion")
        for service in SSM_ENDPOINT_SERVICES:
            VpcEndpoint(
                self, f"{service}-endpoint",
                vpc_id=props.vpc_id,
                service_name=f"com.amazonaws.{props.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=list(props.endpoint_subnet_ids),
                security_group_ids=[endpoint_sg.id],
                # The agent uses the regional host names; private DNS points them at the endpoints.
                private_dns_enabled=True,
                tags={"Name": f"{props.name}-{service}"},
            )

    def allow_egress_to(self, id_: str, security_group_id: str, port: int,
                        description: str = "To a database") -> None:
        """Let the bastion open connections to ``security_group_id`` on ``port``. The target must
        admit the bastion too (its ``allow_from(..., bastion.security_group_id, ...)``)."""
        reach(self, id_, group_id=self.security_group_id, target_group_id=security_group_id,
              port=port, description=description)
