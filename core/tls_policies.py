"""The ELB security policies an HTTPS listener of ours may use: those whose oldest protocol is
TLS 1.2 or newer.

One table, read by the configuration check (``alb_https_ssl_policy``), by the load balancer
construct's props and by the production invariants, so the three cannot disagree. A name prefix
is not enough: ``ELBSecurityPolicy-TLS13-1-0-2021-06`` starts like the TLS 1.3 policies and still
accepts TLS 1.0, and ``ELBSecurityPolicy-2016-08`` (what the API picks when none is given) accepts
TLS 1.0 and 1.1.

Each policy maps to the protocols it accepts, as the "Protocols by policy" tables of the
Application Load Balancer guide list them ("Security policies for your Application Load
Balancer": the TLS, FIPS and FS sections, and the post-quantum ``-PQ-2025-09`` policies added in
September 2025), spelled as ``DescribeSSLPolicies`` returns them. The tests compare the table
with moto's copy of that API. The RFC 9151 policies are left out: they are for US government
compliance, and their protocol rows were not in the documentation consulted.
"""

from __future__ import annotations

import types
from typing import Mapping

# Oldest first, as ordered by security.
PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
MINIMUM_PROTOCOL = "TLSv1.2"

_TLS13 = ("TLSv1.3",)
_TLS13_AND_12 = ("TLSv1.3", "TLSv1.2")
_TLS12 = ("TLSv1.2",)

ALB_TLS_POLICIES: Mapping[str, tuple[str, ...]] = types.MappingProxyType({
    # TLS security policies.
    "ELBSecurityPolicy-TLS13-1-3-2021-06": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-2021-06": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS-1-2-2017-01": _TLS12,
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06": _TLS12,
    # Post-quantum (hybrid ML-KEM key exchange) variants.
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09": _TLS13_AND_12,
    # FIPS security policies.
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09": _TLS13_AND_12,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09": _TLS13_AND_12,
    # FS (forward secrecy) policies.
    "ELBSecurityPolicy-FS-1-2-Res-2020-10": _TLS12,
    "ELBSecurityPolicy-FS-1-2-Res-2019-08": _TLS12,
    "ELBSecurityPolicy-FS-1-2-2019-08": _TLS12,
})


def oldest_protocol(policy: str) -> str | None:
    """The oldest protocol ``policy`` accepts, from the table (None for a policy not in it)."""
    protocols = ALB_TLS_POLICIES.get(policy)
    return min(protocols, key=PROTOCOLS.index) if protocols else None


def ssl_policy_problem(policy: str) -> str | None:
    """Why ``policy`` may not protect an HTTPS listener of ours, or None when it may."""
    if policy in ALB_TLS_POLICIES:
        return None
    return (f"{policy!r} is not an ELB security policy whose oldest protocol is TLS 1.2 or newer; "
            f"use one of: {', '.join(ALB_TLS_POLICIES)}")
