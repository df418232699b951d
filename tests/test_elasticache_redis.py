"""modules/elasticache_redis.py, built on Testing.app() stacks (dev-like with a generated token,
prod-like with two nodes, and one reading an existing token secret), each synthesized once."""

from __future__ import annotations

import json
import re
import string

import pytest
from cdktf import Testing, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_random.provider import RandomProvider

from modules.elasticache_redis import ElasticacheRedis, ElasticacheRedisProps, replication_group_id
from tests.helpers import data_sources, ref, ref_target, resources

EXPOSED = ("security_group_id", "primary_endpoint_address", "reader_endpoint_address", "port",
           "auth_token_secret_arn", "secret_read_arns", "replication_group_id", "log_group_name")
EXISTING_SECRET_ARN = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:unit-shared/redis-auth-token-AbCdEf"
)
# From the ElastiCache AUTH documentation: 16-128 printable characters, and these are the only
# non-alphanumerics allowed. The provider's own check only rejects @ " and /.
AWS_TOKEN_SPECIALS = set("!&#$^<>-")
FORBIDDEN_TOKEN_CHARACTERS = set(' "/@')
# random_password's special set when override_special is not given.
RANDOM_DEFAULT_SPECIALS = "!@#$%&*()-_=+[]{}<>:?"


def _props(**overrides) -> ElasticacheRedisProps:
    base = dict(
        name="unit-test",
        vpc_id="vpc-0unittest",
        subnet_ids=("subnet-0private-a", "subnet-0private-b"),
        engine="valkey",
        engine_version="8.0",
        node_type="cache.t4g.micro",
        num_cache_clusters=1,
        snapshot_retention_limit=0,
        snapshot_window="17:00-18:00",
        maintenance_window="sun:18:30-sun:19:30",
        apply_immediately=True,
    )
    base.update(overrides)
    return ElasticacheRedisProps(**base)


CASES = {
    # The seed's dev sizing: one node, no snapshots, generated token, quick teardown.
    "dev": _props(allowed_security_group_ids=("sg-0litellmservice",), secret_recovery_window_days=0),
    "prod": _props(
        name="unit-prod",
        engine="redis",
        engine_version="7.1",
        node_type="cache.t4g.small",
        num_cache_clusters=2,
        snapshot_retention_limit=7,
        snapshot_window="02:00-03:00",
        maintenance_window="tue:04:00-tue:05:30",
        apply_immediately=False,
        allowed_security_group_ids=("sg-0litellmservice", "sg-0worker"),
        log_retention_days=90,
        secret_recovery_window_days=30,
        port=6380,
    ),
    "existing-secret": _props(
        name="unit-shared",
        engine_version="7.2",
        num_cache_clusters=3,
        auth_token_secret_arn=EXISTING_SECRET_ARN,
    ),
}


@pytest.fixture(scope="module")
def synthesized() -> dict[str, tuple[str, dict]]:
    app = Testing.app()
    out = {}
    for case, props in CASES.items():
        stack = TerraformStack(app, f"elasticache-redis-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        RandomProvider(stack, "random")
        cache = ElasticacheRedis(stack, "cache", props=props)
        if case == "dev":
            cache.allow_from("bastion", "sg-0bastion", "Bastion host")
        # Outputs make the exposed attributes visible in the synthesized JSON.
        for attribute in EXPOSED:
            value = getattr(cache, attribute)
            # jsii takes lists, not tuples.
            TerraformOutput(stack, attribute, value=list(value) if isinstance(value, tuple) else value)
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text))
    return out


def _one(stack: dict, tf_type: str) -> dict:
    (config,) = resources(stack, tf_type).values()
    return config


def _group(stack: dict) -> dict:
    return _one(stack, "aws_elasticache_replication_group")


def _walk(node, path=""):
    """(path, leaf value) of every leaf of a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")
    else:
        yield path, node


# --- topology: dev vs prod --------------------------------------------------------------------

def test_single_node_has_no_failover_multi_az_or_snapshots(synthesized):
    _, stack = synthesized["dev"]
    group = _group(stack)
    assert group["num_cache_clusters"] == 1
    assert group["automatic_failover_enabled"] is False
    assert group["multi_az_enabled"] is False
    assert group["snapshot_retention_limit"] == 0
    assert group["node_type"] == "cache.t4g.micro"
    assert group["apply_immediately"] is True


def test_two_nodes_fail_over_across_zones_and_keep_snapshots(synthesized):
    _, stack = synthesized["prod"]
    group = _group(stack)
    assert group["num_cache_clusters"] == 2
    assert group["automatic_failover_enabled"] is True
    assert group["multi_az_enabled"] is True
    assert group["snapshot_retention_limit"] == 7
    assert group["snapshot_window"] == "02:00-03:00"
    assert group["maintenance_window"] == "tue:04:00-tue:05:30"
    assert group["node_type"] == "cache.t4g.small"
    assert group["apply_immediately"] is False
    assert group["port"] == 6380


def test_three_nodes_also_fail_over(synthesized):
    _, stack = synthesized["existing-secret"]
    group = _group(stack)
    assert group["num_cache_clusters"] == 3
    assert group["automatic_failover_enabled"] is True and group["multi_az_enabled"] is True


@pytest.mark.parametrize("case", CASES)
def test_engine_version_and_minor_upgrades(synthesized, case):
    _, stack = synthesized[case]
    group = _group(stack)
    assert (group["engine"], group["engine_version"]) == (CASES[case].engine, CASES[case].engine_version)
    # This provider version types the flag as a string.
    assert group["auto_minor_version_upgrade"] == "true"


# --- encryption and authentication ------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_encrypted_at_rest_and_tls_required_in_transit(synthesized, case):
    text, _ = synthesized[case]
    assert Testing.to_have_resource_with_properties(
        text, "aws_elasticache_replication_group",
        {
            "at_rest_encryption_enabled": "true",
            "transit_encryption_enabled": True,
            "transit_encryption_mode": "required",
            "auth_token_update_strategy": "ROTATE",
        },
    )


@pytest.mark.parametrize(
    ("case", "family"), [("dev", "valkey8"), ("prod", "redis7"), ("existing-secret", "valkey7")]
)
def test_parameter_group_family_matches_engine_and_version(synthesized, case, family):
    _, stack = synthesized[case]
    group = _group(stack)
    parameter_group = ref_target(stack, group["parameter_group_name"])
    assert parameter_group["family"] == family
    # Family in the name + create_before_destroy: a major upgrade never deletes the group in use.
    assert parameter_group["name"] == f"{replication_group_id(CASES[case].name)}-{family}"
    assert parameter_group["lifecycle"]["create_before_destroy"] is True


@pytest.mark.parametrize(
    ("engine", "version", "family"),
    [("valkey", "7.2", "valkey7"), ("valkey", "8.0", "valkey8"),
     ("redis", "7.0", "redis7"), ("redis", "7.1", "redis7")],
)
def test_every_supported_version_has_its_family(engine, version, family):
    assert _props(engine=engine, engine_version=version).parameter_group_family == family


def _password(stack: dict) -> tuple[str, dict]:
    ((logical_id, config),) = resources(stack, "random_password").items()
    return logical_id, config


def test_generated_token_is_one_elasticache_accepts(synthesized):
    _, stack = synthesized["dev"]
    _, password = _password(stack)
    assert 16 <= password["length"] <= 128
    possible = set()
    if password.get("lower", True):
        possible |= set(string.ascii_lowercase)
    if password.get("upper", True):
        possible |= set(string.ascii_uppercase)
    if password.get("numeric", True) and password.get("number", True):
        possible |= set(string.digits)
    if password.get("special", True):
        possible |= set(password.get("override_special", RANDOM_DEFAULT_SPECIALS))
    assert possible, "the generator has no characters to draw from"
    assert not possible & FORBIDDEN_TOKEN_CHARACTERS
    assert possible <= set(string.ascii_letters + string.digits) | AWS_TOKEN_SPECIALS
    # AWS advises at least three character classes; the minimums must fit in the length.
    minimums = [password.get(k, 0) for k in ("min_upper", "min_lower", "min_numeric", "min_special")]
    assert sum(1 for m in minimums if m > 0) >= 3
    assert sum(minimums) <= password["length"]


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_generated_token_feeds_the_group_and_a_plain_string_secret(synthesized, case):
    _, stack = synthesized[case]
    props = CASES[case]
    password_id, _ = _password(stack)
    token = f"${{random_password.{password_id}.result}}"
    assert _group(stack)["auth_token"] == token
    secret = _one(stack, "aws_secretsmanager_secret")
    assert secret["name"] == f"{props.name}/redis-auth-token"
    assert secret["recovery_window_in_days"] == props.secret_recovery_window_days
    version = _one(stack, "aws_secretsmanager_secret_version")
    assert ref_target(stack, version["secret_id"]) is secret
    # The bare token, not JSON, so ECS can inject the whole secret as REDIS_PASSWORD.
    assert version["secret_string"] == token
    assert data_sources(stack, "aws_secretsmanager_secret_version") == {}


def test_existing_secret_is_read_and_nothing_is_generated(synthesized):
    _, stack = synthesized["existing-secret"]
    assert resources(stack, "random_password") == {}
    assert resources(stack, "aws_secretsmanager_secret") == {}
    assert resources(stack, "aws_secretsmanager_secret_version") == {}
    ((source_id, source),) = data_sources(stack, "aws_secretsmanager_secret_version").items()
    assert source["secret_id"] == EXISTING_SECRET_ARN
    assert _group(stack)["auth_token"] == (
        f"${{data.aws_secretsmanager_secret_version.{source_id}.secret_string}}"
    )


@pytest.mark.parametrize("case", CASES)
def test_no_literal_secret_anywhere(synthesized, case):
    _, stack = synthesized[case]
    secret_like = re.compile(r"^(auth_token|secret_string|secret_binary|password)$")
    checked = 0
    for path, value in _walk(stack):
        if secret_like.match(path.rsplit(".", 1)[-1]):
            assert isinstance(value, str) and re.fullmatch(r"\$\{[^{}]+\}", value), path
            checked += 1
    # The group's token, plus the secret version's string when the module generates it.
    assert checked == (1 if CASES[case].auth_token_secret_arn else 2)


# --- security group ---------------------------------------------------------------------------

def _security_group(stack: dict) -> tuple[str, dict]:
    ((logical_id, config),) = resources(stack, "aws_security_group").items()
    return f"${{aws_security_group.{logical_id}.id}}", config


@pytest.mark.parametrize("case", CASES)
def test_group_sits_in_the_private_subnets_behind_its_own_security_group(synthesized, case):
    _, stack = synthesized[case]
    group = _group(stack)
    sg_ref, sg = _security_group(stack)
    assert group["security_group_ids"] == [sg_ref]
    assert sg["vpc_id"] == "vpc-0unittest"
    assert "ingress" not in sg and "egress" not in sg
    subnet_group = ref_target(stack, group["subnet_group_name"])
    assert subnet_group["subnet_ids"] == ["subnet-0private-a", "subnet-0private-b"]


def _ingress_sources(stack: dict, port: int) -> set[str]:
    """Groups admitted to the cache; every rule must be TCP on exactly ``port``, never a CIDR."""
    sg_ref, _ = _security_group(stack)
    sources = set()
    for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values():
        assert rule["security_group_id"] == sg_ref
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", port, port)
        assert not {"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} & rule.keys()
        sources.add(rule["referenced_security_group_id"])
    return sources


def test_configured_groups_and_allow_from_are_admitted_on_the_port(synthesized):
    _, stack = synthesized["dev"]
    assert _ingress_sources(stack, 6379) == {"sg-0litellmservice", "sg-0bastion"}


def test_rules_follow_a_custom_port(synthesized):
    _, stack = synthesized["prod"]
    assert _ingress_sources(stack, 6380) == {"sg-0litellmservice", "sg-0worker"}


def test_no_allowed_groups_means_no_ingress(synthesized):
    _, stack = synthesized["existing-secret"]
    assert resources(stack, "aws_vpc_security_group_ingress_rule") == {}
    assert resources(stack, "aws_vpc_security_group_egress_rule") == {}


# --- slow log ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_slow_log_goes_to_a_retained_log_group(synthesized, case):
    _, stack = synthesized[case]
    ((delivery),) = _group(stack)["log_delivery_configuration"]
    assert (delivery["destination_type"], delivery["log_format"], delivery["log_type"]) == (
        "cloudwatch-logs", "json", "slow-log",
    )
    tf_type, name, attribute = ref(delivery["destination"])
    assert (tf_type, attribute) == ("aws_cloudwatch_log_group", "name")
    log_group = stack["resource"][tf_type][name]
    assert log_group["retention_in_days"] == CASES[case].log_retention_days
    assert log_group["name"] == f"/aws/elasticache/{replication_group_id(CASES[case].name)}/slow-log"


# --- names and exposed attributes -------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_names_are_derived_from_the_base_name(synthesized, case):
    _, stack = synthesized[case]
    expected = f"{CASES[case].name}-redis"
    assert _group(stack)["replication_group_id"] == expected
    assert _one(stack, "aws_elasticache_subnet_group")["name"] == expected
    assert _security_group(stack)[1]["name"] == expected
    assert _group(stack)["description"]


def test_replication_group_id_is_lowercase_bounded_and_stable():
    assert replication_group_id("litellm-dev") == "litellm-dev-redis"
    assert replication_group_id("LiteLLM-Dev") == "litellm-dev-redis"
    long_name = "litellm-production-europe-west-primary-blue"
    shortened = replication_group_id(long_name)
    assert len(shortened) <= 40
    assert shortened == replication_group_id(long_name)
    assert shortened != replication_group_id(long_name + "x")
    assert re.fullmatch(r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]", shortened), shortened
    # A cut that lands on a hyphen must not leave "--" or a trailing hyphen.
    for length in range(30, 45):
        candidate = replication_group_id("a" * (length - 4) + "-bcd")
        assert len(candidate) <= 40 and "--" not in candidate and not candidate.endswith("-")


@pytest.mark.parametrize("case", CASES)
def test_exposed_attributes_point_at_the_right_resources(synthesized, case):
    _, stack = synthesized[case]
    props = CASES[case]
    outputs = {key: value["value"] for key, value in stack["output"].items()}
    assert outputs["security_group_id"] == _security_group(stack)[0]
    assert outputs["port"] == props.port
    for key, tf_type, attribute in (
        ("primary_endpoint_address", "aws_elasticache_replication_group", "primary_endpoint_address"),
        ("reader_endpoint_address", "aws_elasticache_replication_group", "reader_endpoint_address"),
        ("replication_group_id", "aws_elasticache_replication_group", "id"),
        ("log_group_name", "aws_cloudwatch_log_group", "name"),
    ):
        assert ref(outputs[key])[0::2] == (tf_type, attribute), key
    if props.auth_token_secret_arn:
        assert outputs["auth_token_secret_arn"] == EXISTING_SECRET_ARN
    else:
        assert ref(outputs["auth_token_secret_arn"])[0::2] == ("aws_secretsmanager_secret", "arn")
    # The ECS execution role must read exactly the secret the token comes from.
    assert outputs["secret_read_arns"] == [outputs["auth_token_secret_arn"]]


# --- props validation -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(engine="memcached"), r"engine 'memcached' must be one of redis, valkey"),
        (dict(engine="valkey", engine_version="7.1"),
         r"engine_version '7\.1' is not supported for valkey; use one of 7\.2, 8\.0"),
        (dict(engine="redis", engine_version="8.0"),
         r"engine_version '8\.0' is not supported for redis; use one of 7\.0, 7\.1"),
        (dict(engine="redis", engine_version="6.2"), r"engine_version '6\.2'"),
        (dict(num_cache_clusters=0), r"num_cache_clusters must be between 1 and 6, got 0"),
        (dict(num_cache_clusters=7), r"num_cache_clusters must be between 1 and 6, got 7"),
        (dict(name="litellm--dev"), r"name 'litellm--dev'"),
        (dict(name="1litellm"), r"name '1litellm'"),
        (dict(subnet_ids=()), r"subnet_ids"),
        (dict(snapshot_retention_limit=36), r"snapshot_retention_limit must be between 0 and 35"),
        (dict(snapshot_window="17:00-17:30"), r"snapshot_window '17:00-17:30'.*60 minutes"),
        (dict(snapshot_window="5:00-06:00"), r"snapshot_window"),
        (dict(maintenance_window="Sun:18:30-Sun:19:30"), r"maintenance_window"),
        (dict(maintenance_window="sun:18:30-sun:19:00"), r"maintenance_window.*60 minutes"),
        (dict(log_retention_days=31), r"log_retention_days 31"),
        (dict(secret_recovery_window_days=3), r"secret_recovery_window_days must be 0 or 7-30"),
    ],
)
def test_props_reject_invalid_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        _props(**overrides)


def test_props_accept_the_boundaries():
    _props(num_cache_clusters=6, snapshot_retention_limit=35, log_retention_days=0)
    # Windows that wrap past midnight or the end of the week.
    _props(snapshot_window="23:30-00:30", maintenance_window="sun:23:30-mon:00:30")
    _props(engine="redis", engine_version="7.0", secret_recovery_window_days=30)
