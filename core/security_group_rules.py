"""Security-group-to-security-group rules, the only way our constructs open paths to each other.

Every ``allow_from`` / ``allow_egress_to`` of the modules is one of these two calls, so a rule
always names a group (never a CIDR) and one TCP port.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule


def admit(scope: Construct, id_: str, *, group_id: str, source_group_id: str, port: int,
          description: str) -> VpcSecurityGroupIngressRule:
    """Ingress on ``group_id`` from members of ``source_group_id`` on TCP ``port``."""
    return VpcSecurityGroupIngressRule(
        scope, id_,
        security_group_id=group_id,
        referenced_security_group_id=source_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
    )


def reach(scope: Construct, id_: str, *, group_id: str, target_group_id: str, port: int,
          description: str) -> VpcSecurityGroupEgressRule:
    """Egress from ``group_id`` to members of ``target_group_id`` on TCP ``port``."""
    return VpcSecurityGroupEgressRule(
        scope, id_,
        security_group_id=group_id,
        referenced_security_group_id=target_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
    )
