"""Invariants of the shipped production environment: a change to prod.toml or to a module that
weakens any of these fails CI (the checkov gate covers the generic checks; these are ours)."""

from __future__ import annotations

import pytest

from core.tls_policies import PROTOCOLS, oldest_protocol
from tests.helpers import resources


@pytest.fixture(scope="module")
def prod(stack_json):
    return stack_json("prod")


def test_every_database_is_protected_durable_and_multi_az(prod):
    databases = list(resources(prod, "aws_db_instance").values())
    assert databases
    for db in databases:
        assert db["deletion_protection"] is True, db["identifier"]
        assert db["skip_final_snapshot"] is False and db["final_snapshot_identifier"], db["identifier"]
        assert db["multi_az"] is True, db["identifier"]
        assert db["backup_retention_period"] >= 7, db["identifier"]
        assert db["storage_encrypted"] is True


def test_cache_fails_over_and_keeps_snapshots(prod):
    for group in resources(prod, "aws_elasticache_replication_group").values():
        assert group["automatic_failover_enabled"] is True and group["multi_az_enabled"] is True
        assert group["num_cache_clusters"] >= 2
        assert group["snapshot_retention_limit"] >= 7


def test_load_balancer_and_keys_cannot_be_deleted_by_accident(prod):
    for alb in resources(prod, "aws_lb").values():
        assert alb["enable_deletion_protection"] is True
    salt = [s for s in resources(prod, "aws_secretsmanager_secret").values() if s["name"].endswith("/litellm-salt-key")]
    assert len(salt) == 1 and salt[0]["lifecycle"]["prevent_destroy"] is True


def test_https_listener_refuses_tls_below_1_2_and_nothing_is_served_in_clear_text(prod):
    listeners = {l["port"]: l for l in resources(prod, "aws_lb_listener").values()}
    assert listeners[443]["protocol"] == "HTTPS"
    # The oldest protocol comes from the allow-list's protocol column, not the name: the name
    # prefix "ELBSecurityPolicy-TLS13" also matches TLS13-1-0, which accepts TLS 1.0.
    policy = listeners[443]["ssl_policy"]
    oldest = oldest_protocol(policy)
    assert oldest is not None, f"{policy} is not in core/tls_policies.py"
    assert PROTOCOLS.index(oldest) >= PROTOCOLS.index("TLSv1.2"), policy
    # Port 80 either is closed (what prod.toml ships: API keys never reach it in clear text) or
    # only redirects; it never forwards to LiteLLM.
    if 80 in listeners:
        (action,) = listeners[80]["default_action"]
        assert action["type"] == "redirect" and action["redirect"]["status_code"] == "HTTP_301"
        assert action["redirect"]["port"] == "443" and action["redirect"]["protocol"] == "HTTPS"
    assert listeners[443]["routing_http_response_strict_transport_security_header_value"].startswith("max-age=")


def test_shipped_prod_closes_port_80(prod):
    assert {l["port"] for l in resources(prod, "aws_lb_listener").values()} == {443}
    assert all(r["from_port"] != 80 for r in resources(prod, "aws_vpc_security_group_ingress_rule").values())


def test_no_internet_ingress_except_80_and_443(prod):
    for rule in resources(prod, "aws_vpc_security_group_ingress_rule").values():
        if rule.get("cidr_ipv4") == "0.0.0.0/0" or rule.get("cidr_ipv6") == "::/0":
            assert (rule["from_port"], rule["to_port"]) in ((80, 80), (443, 443)), rule
    for group in resources(prod, "aws_security_group").values():
        assert not group.get("ingress"), "inline ingress rules bypass this check"


def test_prod_is_observable(prod):
    assert len(resources(prod, "aws_flow_log")) == 1
    assert resources(prod, "aws_cloudwatch_metric_alarm")
    assert resources(prod, "aws_wafv2_web_acl_association")
    for group in resources(prod, "aws_cloudwatch_log_group").values():
        assert group.get("retention_in_days", 0) > 0, group["name"]


def test_bootstrap_state_cannot_be_lost(stack_json):
    bootstrap = stack_json("bootstrap")
    for bucket in resources(bootstrap, "aws_s3_bucket").values():
        assert bucket["lifecycle"]["prevent_destroy"] is True
    for table in resources(bootstrap, "aws_dynamodb_table").values():
        assert table["deletion_protection_enabled"] is True



CERTIFICATE_PLACEHOLDER = "arn:aws:acm:ap-southeast-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"
DIGEST_PLACEHOLDER = "sha256:" + "0" * 64
EMAIL_PLACEHOLDER = "oncall@example.com"
FIXES = {
    "certificate": (CERTIFICATE_PLACEHOLDER, "arn:aws:acm:ap-southeast-1:123456789012:certificate/abc"),
    "digest": (DIGEST_PLACEHOLDER, "sha256:" + "ab" * 32),
    "email": (EMAIL_PLACEHOLDER, "oncall@corp.invalid"),
}


def test_make_deploy_refuses_every_prod_placeholder(tmp_path):
    """prod.toml ships an all-zero certificate and image digest and an example.com alarm address;
    `make deploy` (its preflight, main.py) must refuse each of them on its own."""
    import main
    from core.config import load_project
    from tests.conftest import ROOT

    project = load_project(ROOT)
    shipped = (ROOT / "environments" / "prod.toml").read_text()
    for placeholder, _ in FIXES.values():
        assert placeholder in shipped, f"{placeholder} moved; update this test"

    def refused(text: str) -> bool:
        (tmp_path / "environments").mkdir(exist_ok=True)
        (tmp_path / "environments" / "prod.toml").write_text(text)
        problems = main.preflight(project, "deploy", "prod", root=tmp_path)
        return any(problem.startswith("environments/prod.toml") for problem in problems)

    def fixed(text: str, names) -> str:
        for name in names:
            text = text.replace(*FIXES[name])
        return text

    assert refused(shipped)
    assert not refused(fixed(shipped, FIXES))
    for remaining in FIXES:
        assert refused(fixed(shipped, [n for n in FIXES if n != remaining])), remaining
