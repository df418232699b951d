"""Rules of the network: VPC and subnet CIDRs, NAT modes, and the default subnet layout."""

from __future__ import annotations

import ipaddress

from core.config.problems import _problem
from core.config.schema import EnvironmentConfig


NAT_GATEWAY_MODES = ("none", "single", "per_az")


def _parse_network(text: str, source: str, key: str, problems: list[str]):
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            problems.append(_problem(source, key, f"{text!r} is not a valid IPv4 CIDR block"))
        else:
            problems.append(_problem(source, key, f"{text!r} has host bits set (the network is {network})"))
        return None
    if net.version != 4:
        problems.append(_problem(source, key, f"{text!r} is not an IPv4 CIDR block"))
        return None
    return net


def default_subnet_cidrs(vpc_cidr: str, zone_count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Carve one public and one private subnet per AZ out of the VPC: /N+4 blocks, public at
    index i, private at index 8+i, so adding an AZ later never moves an existing subnet."""
    vpc = ipaddress.ip_network(vpc_cidr)
    blocks = list(vpc.subnets(prefixlen_diff=4))
    public = tuple(str(blocks[i]) for i in range(zone_count))
    private = tuple(str(blocks[8 + i]) for i in range(zone_count))
    return public, private


def _check_network_layout(values: dict, source: str, problems: list[str]) -> None:
    vpc_text = values.get("vpc_cidr", EnvironmentConfig.vpc_cidr)
    vpc = _parse_network(vpc_text, source, "vpc_cidr", problems)
    if vpc is None:
        return
    if not 16 <= vpc.prefixlen <= 28:
        problems.append(_problem(source, "vpc_cidr", f"prefix /{vpc.prefixlen} is outside the /16 to /28 that AWS allows for a VPC"))
        return
    zones = values.get("availability_zones")
    zone_count = len(zones) if zones is not None else None
    subnets: list[tuple[str, ipaddress.IPv4Network]] = []
    for key in ("public_subnet_cidrs", "private_subnet_cidrs"):
        cidrs = values.get(key)
        if not cidrs:
            continue
        if zone_count is not None and len(cidrs) != zone_count:
            problems.append(_problem(source, key, f"has {len(cidrs)} entries but availability_zones has {zone_count}; give one per AZ"))
        for cidr in cidrs:
            net = _parse_network(cidr, source, key, problems)
            if net is None:
                continue
            if not net.subnet_of(vpc):
                problems.append(_problem(source, key, f"{cidr} is not inside vpc_cidr {vpc}"))
            elif net.prefixlen > 28:
                problems.append(_problem(source, key, f"{cidr} is smaller than the /28 AWS allows for a subnet"))
            subnets.append((key, net))
    for i, (key_a, a) in enumerate(subnets):
        for key_b, b in subnets[i + 1:]:
            if a.overlaps(b):
                problems.append(_problem(source, key_b, f"{b} overlaps {a} ({key_a})"))
    if zone_count and vpc.prefixlen + 4 > 28 and not (values.get("public_subnet_cidrs") and values.get("private_subnet_cidrs")):
        problems.append(_problem(source, "vpc_cidr", "too small to carve default subnets; set public_subnet_cidrs and private_subnet_cidrs"))
