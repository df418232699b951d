"""core/tls_policies.py: the allow-list of listener TLS policies, checked against moto's copy of
ELB's DescribeSSLPolicies (moto knows 18 of the policies, from the same AWS tables)."""

from __future__ import annotations

import pytest
from moto.elbv2.ssl_policies import SSL_POLICIES

from core.tls_policies import ALB_TLS_POLICIES, MINIMUM_PROTOCOL, PROTOCOLS, oldest_protocol, ssl_policy_problem


def test_every_allowed_policy_refuses_protocols_older_than_tls_1_2():
    for policy, protocols in ALB_TLS_POLICIES.items():
        assert protocols and set(protocols) <= set(PROTOCOLS), policy
        assert PROTOCOLS.index(oldest_protocol(policy)) >= PROTOCOLS.index(MINIMUM_PROTOCOL), policy


def test_the_table_agrees_with_describe_ssl_policies():
    known = {name: tuple(policy["ssl_protocols"]) for name, policy in SSL_POLICIES.items()}
    shared = set(known) & set(ALB_TLS_POLICIES)
    assert len(shared) >= 10, "moto's policy list changed shape; compare by hand"
    for name in shared:
        assert sorted(ALB_TLS_POLICIES[name]) == sorted(known[name]), name
    # Every policy moto knows that keeps to TLS 1.2+ is allowed, and none of the others is.
    modern = {name for name, protocols in known.items() if "TLSv1" not in protocols and "TLSv1.1" not in protocols}
    assert modern <= set(ALB_TLS_POLICIES)
    assert not (set(known) - modern) & set(ALB_TLS_POLICIES)


@pytest.mark.parametrize("policy", ["ELBSecurityPolicy-TLS13-1-0-2021-06", "ELBSecurityPolicy-2016-08", "TLS13", ""])
def test_a_refused_policy_is_explained_with_the_allowed_names(policy):
    problem = ssl_policy_problem(policy)
    assert f"{policy!r} is not an ELB security policy whose oldest protocol is TLS 1.2" in problem
    assert all(name in problem for name in ALB_TLS_POLICIES)
    assert oldest_protocol(policy) is None


def test_post_quantum_variants_are_allowed():
    assert ssl_policy_problem("ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09") is None
    assert oldest_protocol("ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09") == "TLSv1.3"
