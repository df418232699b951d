"""modules/backend_database.py, built on Testing.app() stacks (dev-like and prod-like props),
each synthesized once. The secret's ``url`` is also evaluated by the real ``terraform console``."""

from __future__ import annotations

import json
import os
import re
import shutil
import string
import subprocess
from urllib.parse import unquote, urlsplit

import pytest
from cdktf import Testing, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_random.provider import RandomProvider

from modules.backend_database import BackendDatabase, BackendDatabaseProps
from tests.helpers import ref, ref_target, resources

SECRET_KEYS = {"engine", "host", "port", "username", "password", "dbname", "url"}
EXPOSED = ("security_group_id", "client_security_group_id", "address", "port", "secret_arn",
           "instance_identifier")


def _props(**overrides) -> BackendDatabaseProps:
    base = dict(
        name="unit-test",
        vpc_id="vpc-0unittest",
        subnet_ids=("subnet-0private-a", "subnet-0private-b"),
        database_name="backend",
        master_username="backend",
        engine_version="17",
        secret_name="unit-test/backend-rds",
    )
    base.update(overrides)
    return BackendDatabaseProps(**base)


CASES = {
    # Only what the seed's dev environment sets; everything else stays at the defaults.
    "dev": _props(allowed_security_group_ids=("sg-0allowedbyconfig",)),
    "prod": _props(
        name="unit-prod",
        secret_name="unit-prod/backend-rds",
        database_name="orders",
        master_username="app_owner",
        engine_version="16",
        instance_class="db.t4g.small",
        allocated_storage=100,
        backup_retention_period=14,
        skip_final_snapshot=False,
        deletion_protection=True,
        multi_az=True,
        secret_recovery_window_days=30,
        port=5433,
    ),
}


@pytest.fixture(scope="module")
def synthesized() -> dict[str, tuple[str, dict]]:
    app = Testing.app()
    out = {}
    for case, props in CASES.items():
        stack = TerraformStack(app, f"backend-database-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        RandomProvider(stack, "random")
        database = BackendDatabase(stack, "backend-database", props=props)
        if case == "dev":
            database.allow_from("bastion", "sg-0bastion", "Bastion host")
        # Outputs make the exposed attributes visible in the synthesized JSON.
        for attribute in EXPOSED:
            TerraformOutput(stack, attribute, value=getattr(database, attribute))
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text))
    return out


def _one(stack: dict, tf_type: str) -> dict:
    (config,) = resources(stack, tf_type).values()
    return config


def _security_group(stack: dict, name: str) -> tuple[str, dict]:
    """``("${aws_security_group.<id>.id}", config)`` of the group called ``name``."""
    for logical_id, config in resources(stack, "aws_security_group").items():
        if config["name"] == name:
            return f"${{aws_security_group.{logical_id}.id}}", config
    raise AssertionError(f"no security group named {name}")


# --- sizing, durability, encryption -----------------------------------------------------------

def test_defaults_are_small_and_disposable(synthesized):
    _, stack = synthesized["dev"]
    instance = _one(stack, "aws_db_instance")
    assert instance["instance_class"] == "db.t4g.micro"
    assert instance["allocated_storage"] == 20
    assert instance["multi_az"] is False
    assert instance["backup_retention_period"] == 1
    assert instance["deletion_protection"] is False
    assert instance["skip_final_snapshot"] is True
    assert "final_snapshot_identifier" not in instance
    assert instance["port"] == 5432
    assert _one(stack, "aws_secretsmanager_secret")["recovery_window_in_days"] == 7


def test_durable_props_are_applied(synthesized):
    _, stack = synthesized["prod"]
    instance = _one(stack, "aws_db_instance")
    assert instance["instance_class"] == "db.t4g.small"
    assert instance["allocated_storage"] == 100
    assert instance["multi_az"] is True
    assert instance["backup_retention_period"] == 14
    assert instance["deletion_protection"] is True
    assert instance["skip_final_snapshot"] is False
    # A suffix new for every created instance: a fixed name blocks the second destroy.
    suffix = re.fullmatch(r"unit-prod-backend-postgres-final-(\$\{random_id\.[\w-]+\.hex\})",
                          instance["final_snapshot_identifier"])
    assert suffix, instance["final_snapshot_identifier"]
    assert ref_target(stack, suffix.group(1))["byte_length"] == 4
    assert instance["port"] == 5433
    assert _one(stack, "aws_secretsmanager_secret")["recovery_window_in_days"] == 30


@pytest.mark.parametrize("case", CASES)
def test_instance_is_encrypted_private_and_minor_upgrading(synthesized, case):
    text, _ = synthesized[case]
    assert Testing.to_have_resource_with_properties(
        text, "aws_db_instance",
        {
            "engine": "postgres",
            "engine_version": CASES[case].engine_version,
            "auto_minor_version_upgrade": True,
            "storage_encrypted": True,
            "storage_type": "gp3",
            "publicly_accessible": False,
            "copy_tags_to_snapshot": True,
            "iam_database_authentication_enabled": True,
        },
    )


@pytest.mark.parametrize("case", CASES)
def test_parameter_group_forces_tls_for_the_major_version(synthesized, case):
    _, stack = synthesized[case]
    instance = _one(stack, "aws_db_instance")
    group = ref_target(stack, instance["parameter_group_name"])
    assert group["family"] == f"postgres{CASES[case].engine_version}"
    assert {p["name"]: p["value"] for p in group["parameter"]} == {"rds.force_ssl": "1"}


@pytest.mark.parametrize("case", CASES)
def test_instance_lives_in_the_private_subnets_behind_its_own_group(synthesized, case):
    _, stack = synthesized[case]
    name = CASES[case].name
    instance = _one(stack, "aws_db_instance")
    subnet_group = ref_target(stack, instance["db_subnet_group_name"])
    assert subnet_group["subnet_ids"] == ["subnet-0private-a", "subnet-0private-b"]
    db_sg_ref, db_sg = _security_group(stack, f"{name}-backend-db")
    assert instance["vpc_security_group_ids"] == [db_sg_ref]
    assert db_sg["vpc_id"] == "vpc-0unittest"


# --- security groups --------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_security_groups_have_no_inline_rules_and_no_cidr_ingress(synthesized, case):
    _, stack = synthesized[case]
    for group in resources(stack, "aws_security_group").values():
        assert "ingress" not in group and "egress" not in group
    rules = list(resources(stack, "aws_vpc_security_group_ingress_rule").values())
    assert rules
    for rule in rules:
        assert not {"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} & rule.keys()
        assert rule["referenced_security_group_id"]


def _ingress_sources(stack: dict, name: str, port: int) -> set[str]:
    """Groups admitted to the database group; every rule must be TCP on exactly ``port``."""
    db_sg_ref, _ = _security_group(stack, f"{name}-backend-db")
    sources = set()
    for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values():
        assert rule["security_group_id"] == db_sg_ref
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", port, port)
        sources.add(rule["referenced_security_group_id"])
    return sources


def test_client_group_configured_groups_and_allow_from_are_admitted(synthesized):
    _, stack = synthesized["dev"]
    client_ref, _ = _security_group(stack, "unit-test-backend-db-client")
    assert _ingress_sources(stack, "unit-test", 5432) == {
        client_ref, "sg-0allowedbyconfig", "sg-0bastion",
    }


def test_without_allowed_groups_only_the_client_group_is_admitted(synthesized):
    _, stack = synthesized["prod"]
    client_ref, _ = _security_group(stack, "unit-prod-backend-db-client")
    assert _ingress_sources(stack, "unit-prod", 5433) == {client_ref}


@pytest.mark.parametrize("case", CASES)
def test_client_group_may_leave_only_towards_the_database(synthesized, case):
    _, stack = synthesized[case]
    props = CASES[case]
    db_sg_ref, _ = _security_group(stack, f"{props.name}-backend-db")
    client_ref, _ = _security_group(stack, f"{props.name}-backend-db-client")
    (egress,) = resources(stack, "aws_vpc_security_group_egress_rule").values()
    assert egress["security_group_id"] == client_ref
    assert egress["referenced_security_group_id"] == db_sg_ref
    assert (egress["ip_protocol"], egress["from_port"], egress["to_port"]) == (
        "tcp", props.port, props.port,
    )
    assert "cidr_ipv4" not in egress and "cidr_ipv6" not in egress


# --- password and secret ----------------------------------------------------------------------

def _password(stack: dict) -> tuple[str, dict]:
    """(``module.<name>.value``, the call of core/ephemeral.py's password module)."""
    (name, module), = stack["module"].items()
    assert "/ephemeral-password-module/" in module["source"]
    return f"module.{name}.value", module


def _special(block: dict) -> str:
    """The punctuation GetRandomPassword may use (core/ephemeral_password excludes the rest)."""
    return block["allowed_punctuation"]


def test_generated_password_suits_rds_and_stresses_urls(synthesized):
    _, stack = synthesized["dev"]
    _, password = _password(stack)
    assert 8 <= password["length"] <= 128  # RDS for PostgreSQL
    assert password["exclude_punctuation"] is False
    special = _special(password)
    assert not set('/@" ') & set(special), "RDS rejects these in master passwords"
    assert set(":?#%+&") <= set(special)
    # Terraform JSON strings are templates: these would be read as interpolation/directives.
    assert "${" not in special and "%{" not in special


@pytest.mark.parametrize("case", CASES)
def test_password_only_appears_as_a_reference(synthesized, case):
    _, stack = synthesized[case]
    password_ref, _ = _password(stack)
    instance = _one(stack, "aws_db_instance")
    # Write-only: the password never enters state (the old `password` argument did).
    assert "password" not in instance
    assert instance["password_wo"] == f"${{{password_ref}}}"
    assert instance["password_wo_version"] == 1
    version = _one(stack, "aws_secretsmanager_secret_version")
    assert "secret_string" not in version
    # A replaced instance got this run's password on create: its new resource_id changes the
    # secret's write-only version, so the secret is rewritten with the same value in that run.
    instance_id = next(iter(resources(stack, "aws_db_instance")))
    assert version["secret_string_wo_version"] == (
        f"${{((1 * 4294967296) + parseint(substr(sha1(aws_db_instance.{instance_id}.resource_id), 0, 8), 16))}}")
    assert "lifecycle" not in version  # replace_triggered_by would close the HCL exit route

    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{path}[{index}]")
        else:
            yield path, node

    secret_like = re.compile(r"password|secret_string|auth_token|secret_binary", re.I)
    checked = 0
    for path, value in walk(stack["resource"]):
        if secret_like.search(path.rsplit(".", 1)[-1]) and not path.endswith("_version"):
            assert isinstance(value, str) and value.startswith("${") and value.endswith("}"), path
            checked += 1
    assert checked >= 2  # the instance password and the secret string


@pytest.mark.parametrize("case", CASES)
def test_secret_name_and_version(synthesized, case):
    _, stack = synthesized[case]
    secret = _one(stack, "aws_secretsmanager_secret")
    assert secret["name"] == CASES[case].secret_name
    version = _one(stack, "aws_secretsmanager_secret_version")
    assert ref_target(stack, version["secret_id"]) is secret


def _split_top_level(body: str) -> list[str]:
    """Split an HCL object body on the commas that separate its attributes."""
    items, stack, start, i = [], [], 0, 0
    while i < len(body):
        char, pair = body[i], body[i:i + 2]
        if stack and stack[-1] == "str":
            if char == "\\":
                i += 1
            elif char == '"':
                stack.pop()
            elif pair in ("${", "%{"):
                stack.append("interp")
                i += 1
        elif char == '"':
            stack.append("str")
        elif char in "([{":
            stack.append(char)
        elif char in ")]}":
            stack.pop()
        elif char == "," and not stack:
            items.append(body[start:i].strip())
            start = i + 1
        i += 1
    assert not stack, f"unbalanced expression: {body!r}"
    items.append(body[start:].strip())
    return items


def _secret_fields(stack: dict) -> tuple[str, dict[str, str]]:
    """The jsonencode(...) expression of the secret string, and its key -> HCL expression."""
    secret_string = _one(stack, "aws_secretsmanager_secret_version")["secret_string_wo"]
    assert secret_string.startswith("${jsonencode({") and secret_string.endswith("})}")
    expression = secret_string[2:-1]
    fields = {}
    for item in _split_top_level(expression[len("jsonencode({"):-2]):
        match = re.fullmatch(r'"([a-z_]+)" = (.+)', item, re.S)
        assert match, item
        fields[match[1]] = match[2]
    return expression, fields


@pytest.mark.parametrize("case", CASES)
def test_secret_json_has_exactly_the_connection_keys(synthesized, case):
    _, stack = synthesized[case]
    props = CASES[case]
    password_ref, _ = _password(stack)
    instance_id = next(iter(resources(stack, "aws_db_instance")))
    _, fields = _secret_fields(stack)
    assert set(fields) == SECRET_KEYS
    assert fields["engine"] == '"postgres"'
    # `address` is the bare host name; `endpoint` would be host:port.
    assert fields["host"] == f"aws_db_instance.{instance_id}.address"
    assert fields["port"] == str(props.port)  # a JSON number, not a string
    assert fields["username"] == f'"{props.master_username}"'
    assert fields["password"] == password_ref
    assert fields["dbname"] == f'"{props.database_name}"'


@pytest.mark.parametrize("case", CASES)
def test_secret_url_percent_encodes_the_credentials(synthesized, case):
    _, stack = synthesized[case]
    props = CASES[case]
    password_ref, _ = _password(stack)
    instance_id = next(iter(resources(stack, "aws_db_instance")))
    _, fields = _secret_fields(stack)
    assert fields["url"] == (
        f'"postgresql://${{urlencode("{props.master_username}")}}'
        f":${{urlencode({password_ref})}}"
        f'@${{aws_db_instance.{instance_id}.address}}:{props.port}/{props.database_name}"'
    )


@pytest.mark.terraform
def test_terraform_evaluates_the_secret_to_a_url_that_round_trips(synthesized, tmp_path):
    """Feeds the synthesized jsonencode(...) to `terraform console` with the password and host
    references replaced by variables, then parses the resulting JSON and URL."""
    if shutil.which("terraform") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("terraform is not on PATH (required in CI)")
        pytest.skip("terraform is not on PATH")
    _, stack = synthesized["dev"]
    props = CASES["dev"]
    password_ref, password_config = _password(stack)
    instance_id = next(iter(resources(stack, "aws_db_instance")))
    expression, _ = _secret_fields(stack)
    expression = expression.replace(password_ref, "var.password")
    expression = expression.replace(f"aws_db_instance.{instance_id}.address", "var.host")
    assert not re.search(r"\b(aws|random)_[a-z_]+\.", expression), expression

    # Every special character the generator may use, between letters and digits.
    special = _special(password_config)
    password = "aZ0" + "x9".join(special) + "Q7"
    assert set(special) <= set(password)
    assert set(password) <= set(special) | set(string.ascii_letters + string.digits)
    host = "unit-test-backend-postgres.abcdefghijkl.eu-west-1.rds.amazonaws.com"

    (tmp_path / "variables.tf").write_text(
        'variable "password" {\n  type = string\n}\nvariable "host" {\n  type = string\n}\n'
    )
    (tmp_path / "terraform.tfvars.json").write_text(json.dumps({"password": password, "host": host}))
    cli_config = tmp_path / "empty.tfrc"
    cli_config.write_text("")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1"}
    result = subprocess.run(
        ["terraform", "console"], input=expression + "\n", cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    # The console prints the resulting string as a quoted literal.
    secret = json.loads(json.loads(result.stdout.strip()))

    assert set(secret) == SECRET_KEYS
    assert secret["engine"] == "postgres"
    assert secret["host"] == host
    assert secret["port"] == 5432
    assert secret["username"] == props.master_username
    assert secret["password"] == password
    assert secret["dbname"] == props.database_name

    url = urlsplit(secret["url"])
    assert url.scheme == "postgresql"
    assert url.username is not None and url.password is not None, secret["url"]
    assert unquote(url.username) == props.master_username
    assert unquote(url.password) == password
    assert url.hostname == host
    assert url.port == 5432
    assert url.path == f"/{props.database_name}"
    assert url.query == "" and url.fragment == ""


# --- names and exposed attributes -------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_names_are_derived_from_the_base_name(synthesized, case):
    _, stack = synthesized[case]
    props = CASES[case]
    name = props.name
    instance = _one(stack, "aws_db_instance")
    assert instance["identifier"] == f"{name}-backend-postgres"
    assert {g["name"] for g in resources(stack, "aws_security_group").values()} == {
        f"{name}-backend-db", f"{name}-backend-db-client",
    }
    assert _one(stack, "aws_db_subnet_group")["name"] == f"{name}-backend-db"
    assert _one(stack, "aws_db_parameter_group")["name"] == (
        f"{name}-backend-postgres{props.engine_version}"
    )
    assert instance["db_name"] == props.database_name
    assert instance["username"] == props.master_username


@pytest.mark.parametrize("case", CASES)
def test_exposed_attributes_point_at_the_right_resources(synthesized, case):
    _, stack = synthesized[case]
    props = CASES[case]
    outputs = {key: value["value"] for key, value in stack["output"].items()}
    db_sg_ref, _ = _security_group(stack, f"{props.name}-backend-db")
    client_ref, _ = _security_group(stack, f"{props.name}-backend-db-client")
    assert outputs["security_group_id"] == db_sg_ref
    assert outputs["client_security_group_id"] == client_ref
    assert outputs["port"] == props.port
    for key, tf_type, attribute in (
        ("address", "aws_db_instance", "address"),
        ("instance_identifier", "aws_db_instance", "identifier"),
        ("secret_arn", "aws_secretsmanager_secret", "arn"),
    ):
        assert ref(outputs[key])[0::2] == (tf_type, attribute)


def test_props_reject_invalid_values():
    with pytest.raises(ValueError, match="major version"):
        _props(engine_version="17.4")
    with pytest.raises(ValueError, match="secret_recovery_window_days"):
        _props(secret_recovery_window_days=3)
    with pytest.raises(ValueError, match="backup_retention_period"):
        _props(backup_retention_period=36)
    with pytest.raises(ValueError, match="subnet_ids"):
        _props(subnet_ids=())
    _props(secret_recovery_window_days=0)  # immediate deletion is allowed

