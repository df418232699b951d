"""modules/rds_postgres.py on Testing.app() stacks: a dev-like database whose password RDS manages,
and a prod-like one with a supplied (variable) password, each synthesized once."""

from __future__ import annotations

import json
import re

import pytest
from cdktf import Testing, TerraformOutput, TerraformStack, TerraformVariable

from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_random.provider import RandomProvider

from modules.rds_postgres import RdsPostgres, RdsPostgresProps
from tests.helpers import ref, ref_target, resources

KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/0000aaaa-1111-2222-3333-444455556666"
PI_KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/9999aaaa-1111-2222-3333-444455556666"
ALLOWED = ("sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb")
SERVICE_SG = "sg-0cccccccccccccccc"
IDENTIFIER = "unit-test-postgres"
EXPOSED = (
    "address", "port", "database_name", "master_username", "instance_identifier", "instance_arn",
    "security_group_id", "credentials_secret_arn", "username_value_from", "password_value_from",
    "secret_read_arns",
)


def _props(**overrides) -> RdsPostgresProps:
    base = dict(
        name="unit-test",
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=("subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"),
        database_name="litellm",
        master_username="litellm",
        engine_version="17",
        instance_class="db.t4g.micro",
        allocated_storage=20,
    )
    base.update(overrides)
    return RdsPostgresProps(**base)


def _build(stack: TerraformStack, case: str) -> RdsPostgres:
    if case == "dev":
        props = _props(
            allowed_security_group_ids=ALLOWED,
            backup_retention_period=1,
            skip_final_snapshot=True,
            deletion_protection=False,
            apply_immediately=True,
        )
    else:
        password = TerraformVariable(stack, "rds_master_password", type="string", sensitive=True)
        props = _props(
            manage_master_password=False,
            master_password=password.string_value,
            engine_version="16",
            instance_class="db.t4g.medium",
            max_allocated_storage=500,
            kms_key_id=KMS_KEY,
            multi_az=True,
            backup_retention_period=14,
            skip_final_snapshot=False,
            deletion_protection=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=PI_KMS_KEY,
            monitoring_interval=60,
            log_kms_key_arn=PI_KMS_KEY,
            secret_recovery_window_days=30,
        )
    db = RdsPostgres(stack, "db", props=props)
    db.allow_from("litellm-service", SERVICE_SG, "LiteLLM tasks")
    for attribute in EXPOSED:
        TerraformOutput(stack, attribute, value=getattr(db, attribute))
    return db


@pytest.fixture(scope="module")
def synthesized() -> dict[str, tuple[str, dict]]:
    app = Testing.app()
    out = {}
    for case in ("dev", "prod"):
        stack = TerraformStack(app, f"rds-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        RandomProvider(stack, "random")
        _build(stack, case)
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text))
    return out


def _instance(stack: dict) -> dict:
    (instance,) = resources(stack, "aws_db_instance").values()
    return instance


def _output(stack: dict, name: str):
    return stack["output"][name]["value"]


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_instance_is_private_encrypted_postgres_with_tls_ca_and_iam_auth(synthesized, case):
    text, _ = synthesized[case]
    assert Testing.to_have_resource_with_properties(text, "aws_db_instance", {
        "identifier": IDENTIFIER,
        "engine": "postgres",
        "storage_encrypted": True,
        "publicly_accessible": False,
        "iam_database_authentication_enabled": True,
        "ca_cert_identifier": "rds-ca-rsa2048-g1",
        "auto_minor_version_upgrade": True,
        "copy_tags_to_snapshot": True,
        "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
        "db_name": "litellm",
        "username": "litellm",
        "port": 5432,
    })


def test_customer_kms_key_is_used_for_storage_and_performance_insights_only_when_given(synthesized):
    prod = _instance(synthesized["prod"][1])
    assert prod["kms_key_id"] == KMS_KEY
    # Its own key when given (the environment key in production), else the storage key.
    assert prod["performance_insights_kms_key_id"] == PI_KMS_KEY
    dev = _instance(synthesized["dev"][1])
    assert "kms_key_id" not in dev and "performance_insights_kms_key_id" not in dev


@pytest.mark.parametrize("case, major", [("dev", "17"), ("prod", "16")])
def test_engine_is_the_major_version_and_the_parameter_group_family_follows_it(synthesized, case, major):
    _, stack = synthesized[case]
    instance = _instance(stack)
    assert instance["engine_version"] == major
    group = ref_target(stack, instance["parameter_group_name"])
    assert group["family"] == f"postgres{major}"
    assert group["name"] == f"{IDENTIFIER}{major}"
    # A new family means a new group; it must exist before the instance lets go of the old one.
    assert group["lifecycle"]["create_before_destroy"] is True


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_parameter_group_requires_tls_and_logs_slow_queries(synthesized, case):
    _, stack = synthesized[case]
    group = ref_target(stack, _instance(stack)["parameter_group_name"])
    parameters = {p["name"]: p["value"] for p in group["parameter"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["log_min_duration_statement"] == "1000"
    # Would write ALTER ROLE ... PASSWORD statements to CloudWatch.
    assert parameters.get("log_statement", "none") == "none"


def test_final_snapshot_identifier_is_present_exactly_when_a_snapshot_is_kept(synthesized):
    dev = _instance(synthesized["dev"][1])
    assert dev["skip_final_snapshot"] is True
    assert "final_snapshot_identifier" not in dev
    prod = _instance(synthesized["prod"][1])
    assert prod["skip_final_snapshot"] is False
    # A suffix new for every created instance: a fixed name blocks the second destroy.
    suffix = re.fullmatch(re.escape(f"{IDENTIFIER}-final-") + r"(\$\{random_id\.[\w-]+\.hex\})",
                          prod["final_snapshot_identifier"])
    assert suffix, prod["final_snapshot_identifier"]
    assert ref_target(synthesized["prod"][1], suffix.group(1))["byte_length"] == 4
    assert "random_id" not in synthesized["dev"][1].get("resource", {})


def test_dev_and_prod_differ_where_configured(synthesized):
    dev = _instance(synthesized["dev"][1])
    prod = _instance(synthesized["prod"][1])
    assert (dev["multi_az"], prod["multi_az"]) == (False, True)
    assert (dev["deletion_protection"], prod["deletion_protection"]) == (False, True)
    assert (dev["backup_retention_period"], prod["backup_retention_period"]) == (1, 14)
    assert (dev["apply_immediately"], prod["apply_immediately"]) == (True, False)
    assert (dev["instance_class"], prod["instance_class"]) == ("db.t4g.micro", "db.t4g.medium")
    # 0 means "no storage autoscaling": the argument is left out rather than sent as 0.
    assert "max_allocated_storage" not in dev
    assert prod["max_allocated_storage"] == 500
    assert dev["performance_insights_enabled"] is False
    assert "performance_insights_retention_period" not in dev
    assert prod["performance_insights_enabled"] is True
    assert prod["performance_insights_retention_period"] == 7


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_backup_and_maintenance_windows_are_set(synthesized, case):
    instance = _instance(synthesized[case][1])
    assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", instance["backup_window"])
    assert re.fullmatch(r"[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d", instance["maintenance_window"])


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_instance_lives_in_the_private_subnets_behind_its_own_group(synthesized, case):
    _, stack = synthesized[case]
    instance = _instance(stack)
    subnet_group = ref_target(stack, instance["db_subnet_group_name"])
    assert subnet_group["subnet_ids"] == ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
    (group_ref,) = instance["vpc_security_group_ids"]
    group = ref_target(stack, group_ref)
    assert group["vpc_id"] == "vpc-0123456789abcdef0"
    assert group["name"] == IDENTIFIER
    assert _output(stack, "security_group_id") == group_ref


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_security_group_has_no_inline_rules_and_no_cidr_ingress(synthesized, case):
    _, stack = synthesized[case]
    (group,) = resources(stack, "aws_security_group").values()
    assert "ingress" not in group and "egress" not in group
    assert resources(stack, "aws_vpc_security_group_egress_rule") == {}
    for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values():
        assert not {"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} & rule.keys()
        assert rule["referenced_security_group_id"].startswith("sg-")


def test_allowed_groups_and_allow_from_are_admitted_on_5432_only(synthesized):
    _, stack = synthesized["dev"]
    group_ref = _instance(stack)["vpc_security_group_ids"][0]
    rules = list(resources(stack, "aws_vpc_security_group_ingress_rule").values())
    assert sorted(r["referenced_security_group_id"] for r in rules) == sorted((*ALLOWED, SERVICE_SG))
    for rule in rules:
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 5432, 5432)
        assert rule["security_group_id"] == group_ref
    # prod lists no extra groups: only the allow_from rule exists.
    (only,) = resources(synthesized["prod"][1], "aws_vpc_security_group_ingress_rule").values()
    assert only["referenced_security_group_id"] == SERVICE_SG


def test_log_groups_exist_with_retention_before_the_instance(synthesized):
    _, stack = synthesized["dev"]
    groups = resources(stack, "aws_cloudwatch_log_group")
    assert sorted(g["name"] for g in groups.values()) == [
        f"/aws/rds/instance/{IDENTIFIER}/postgresql", f"/aws/rds/instance/{IDENTIFIER}/upgrade",
    ]
    assert {g["retention_in_days"] for g in groups.values()} == {30}
    assert sorted(_instance(stack)["depends_on"]) == sorted(f"aws_cloudwatch_log_group.{n}" for n in groups)


def test_managed_password_stays_with_rds(synthesized):
    _, stack = synthesized["dev"]
    instance = _instance(stack)
    assert instance["manage_master_user_password"] is True
    assert "password" not in instance
    assert resources(stack, "aws_secretsmanager_secret") == {}
    assert resources(stack, "aws_secretsmanager_secret_version") == {}
    secret_arn = _output(stack, "credentials_secret_arn")
    assert re.fullmatch(r"\$\{aws_db_instance\.[\w-]+\.master_user_secret\[0\]\.secret_arn\}", secret_arn)


def test_supplied_password_is_only_a_reference_and_lands_in_a_json_secret(synthesized):
    _, stack = synthesized["prod"]
    instance = _instance(stack)
    assert "manage_master_user_password" not in instance
    assert instance["password"] == "${var.rds_master_password}"
    assert stack["variable"]["rds_master_password"]["sensitive"] is True
    (secret,) = resources(stack, "aws_secretsmanager_secret").values()
    assert secret["name"] == "unit-test/postgres-master"
    assert secret["recovery_window_in_days"] == 30
    (version,) = resources(stack, "aws_secretsmanager_secret_version").values()
    assert ref_target(stack, version["secret_id"]) is secret
    assert version["secret_string"] == (
        '${jsonencode({"username" = "litellm", "password" = var.rds_master_password})}'
    )
    assert _output(stack, "credentials_secret_arn") == version["secret_id"].replace(".id}", ".arn}")


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_ecs_value_from_strings_select_json_keys_of_the_credentials_secret(synthesized, case):
    _, stack = synthesized[case]
    secret_arn = _output(stack, "credentials_secret_arn")
    assert secret_arn.startswith("${") and secret_arn.endswith("}")
    assert _output(stack, "username_value_from") == f"{secret_arn}:username::"
    assert _output(stack, "password_value_from") == f"{secret_arn}:password::"
    assert _output(stack, "secret_read_arns") == [secret_arn]


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_exposed_connection_attributes(synthesized, case):
    _, stack = synthesized[case]
    address = _output(stack, "address")
    # The host name: `endpoint` is host:port and broke the seed's URLs.
    assert ref(address)[0] == "aws_db_instance" and ref(address)[2] == "address"
    assert _output(stack, "port") == 5432
    assert _output(stack, "database_name") == "litellm"
    assert _output(stack, "master_username") == "litellm"
    assert ref(_output(stack, "instance_identifier"))[2] == "identifier"
    assert ref(_output(stack, "instance_arn"))[2] == "arn"


_SECRET_KEY = re.compile(r"password|secret_string|auth_token|secret", re.IGNORECASE)
_NOT_SECRETS = {"manage_master_user_password", "secret_id", "recovery_window_in_days"}


def _secret_like_values(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _secret_like_values(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _secret_like_values(item, key)
    elif isinstance(node, str) and _SECRET_KEY.search(key) and key not in _NOT_SECRETS:
        yield key, node


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_no_literal_secret_in_the_synthesized_json(synthesized, case):
    _, stack = synthesized[case]
    found = list(_secret_like_values(stack.get("resource", {})))
    if case == "prod":
        assert {k for k, _ in found} == {"password", "secret_string"}
    for key, value in found:
        assert value.startswith("${") and value.endswith("}"), f"{key} holds a literal: {value!r}"
        assert "var.rds_master_password" in value


# --- props validation --------------------------------------------------------------------------


def test_props_require_exactly_one_password_source():
    with pytest.raises(ValueError, match="only with manage_master_password=False"):
        _props(master_password="${var.rds_master_password}")
    with pytest.raises(ValueError, match="master_password is required"):
        _props(manage_master_password=False)
    with pytest.raises(ValueError, match="never a literal"):
        _props(manage_master_password=False, master_password="hunter2-plaintext")
    # A literal Terraform reference is fine, as is a token (see the prod stack).
    assert _props(manage_master_password=False, master_password="${var.rds_master_password}")


@pytest.mark.parametrize("overrides, message", [
    (dict(engine_version="17.2"), "major version"),
    (dict(engine_version="postgres17"), "major version"),
    (dict(subnet_ids=("subnet-0aaaaaaaaaaaaaaaa",)), "at least two"),
    (dict(max_allocated_storage=10), "max_allocated_storage"),
    (dict(storage_type="io2"), "needs iops"),
    (dict(backup_retention_period=36), "backup_retention_period"),
    (dict(secret_recovery_window_days=3), "secret_recovery_window_days"),
    (dict(port=80), "port"),
    (dict(backup_window="3:00-4:00"), "backup_window"),
    (dict(maintenance_window="sun:03:00-04:00"), "maintenance_window"),
    (dict(maintenance_window="xyz:03:00-xyz:04:00"), "maintenance_window"),
])
def test_props_reject_invalid_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        _props(**overrides)


@pytest.mark.parametrize("backup, maintenance, overlaps", [
    ("15:00-16:00", "sun:20:00-sun:21:00", False),
    ("15:00-16:00", "wed:15:30-wed:16:30", True),
    ("15:00-16:00", "tue:14:00-tue:15:00", False),  # touching ends do not overlap
    ("23:30-00:30", "mon:00:00-mon:00:45", True),  # backup past midnight
    ("23:30-00:30", "sun:23:45-mon:00:15", True),  # both wrap, across the week boundary
    ("00:00-00:30", "sun:23:00-mon:00:10", True),  # maintenance wraps into Monday's backup
    ("01:00-01:30", "sun:23:00-mon:00:30", False),
])
def test_windows_must_not_overlap(backup, maintenance, overlaps):
    if overlaps:
        with pytest.raises(ValueError, match="overlap"):
            _props(backup_window=backup, maintenance_window=maintenance)
    else:
        assert _props(backup_window=backup, maintenance_window=maintenance)


def test_enhanced_monitoring_uses_awss_role_policy_and_a_guarded_trust(synthesized):
    dev, prod = synthesized["dev"][1], synthesized["prod"][1]
    assert "monitoring_interval" not in _instance(dev) and resources(dev, "aws_iam_role") == {}
    instance = _instance(prod)
    assert instance["monitoring_interval"] == 60
    role = ref_target(prod, instance["monitoring_role_arn"])
    assert role["name"] == f"{IDENTIFIER}-monitoring"
    (attachment,) = resources(prod, "aws_iam_role_policy_attachment").values()
    assert attachment["policy_arn"].endswith(":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")
    trust = prod["data"]["aws_iam_policy_document"][role["assume_role_policy"].split(".")[2]]
    (statement,) = trust["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["monitoring.rds.amazonaws.com"]}]
    assert [c["variable"] for c in statement["condition"]] == ["aws:SourceAccount"]


def test_performance_insights_and_logs_can_use_their_own_key(synthesized):
    prod = synthesized["prod"][1]
    instance = _instance(prod)
    assert instance["kms_key_id"] == KMS_KEY  # storage keeps its key
    assert instance["performance_insights_kms_key_id"] == PI_KMS_KEY
    for group in resources(prod, "aws_cloudwatch_log_group").values():
        assert group["kms_key_id"] == PI_KMS_KEY
