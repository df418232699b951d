"""modules/ecs_litellm.py, built on Testing.app() stacks (dev-like, prod-like, caller-supplied
keys, and the prod case again with an edited config file), each synthesized once.

The container definition is one JSON string in the task definition; the tests parse it and check
it against the rest of the stack (IAM, security groups, target group wiring)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pytest
from cdktf import Testing, TerraformOutput, TerraformStack

from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_random.provider import RandomProvider

from modules.ecs_litellm import LiteLLMService, LiteLLMServiceProps, secret_base_arn
from tests.helpers import data_sources, json_argument, ref, ref_target, resources

ACCOUNT = "123456789012"
DB_SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:unit/db-AbCdEf"
OPENAI_SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:unit/openai-Zz9Yy8"
OPENAI_PARAMETER = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/unit/openai"
MASTER_SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:unit/master-Qq1Ww2"
SALT_SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:unit/salt-Ee3Rr4"
KMS_KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/unit/0123456789abcdef"
REQUEST_LABEL = "app/unit-alb/0123456789abcdef/targetgroup/unit/0123456789abcdef"
ALB_SG = "sg-0alb"
SECRET_LOOKING = re.compile(r"KEY|SECRET|TOKEN|PASSWORD", re.IGNORECASE)
# Holds an S3 object key, not a credential.
NOT_SECRET = {"LITELLM_CONFIG_BUCKET_OBJECT_KEY"}
ECS_EXEC_ACTIONS = {
    "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
}
EXPOSED = ("cluster_name", "cluster_arn", "service_name", "service_arn", "security_group_id",
           "log_group_name", "task_definition_arn", "task_role_arn", "execution_role_arn")
OPTIONAL = ("ecr_repository_url", "config_bucket_name", "master_key_secret_arn", "salt_key_secret_arn")


ALB_SUBNET_CIDRS = ("10.20.0.0/24", "10.20.1.0/24")
ENVIRONMENT_KEY = "arn:aws:kms:eu-west-1:123456789012:key/5a6b7c8d-0000-4000-8000-00000000e0e0"
ACCESS_LOG_TARGET = ("unit-keyed-alb-logs-20260101", "s3-server-access/")


def _props(**overrides) -> LiteLLMServiceProps:
    base = dict(
        name="unit-test",
        region="eu-west-1",
        vpc_id="vpc-0unittest",
        subnet_ids=("subnet-0private-a", "subnet-0private-b"),
        image="ghcr.io/berriai/litellm:main-v1.0.0-stable",
        cpu=1024,
        memory=2048,
        desired_count=1,
        environment={"DATABASE_HOST": "db.internal", "DATABASE_NAME": "litellm",
                     "REDIS_HOST": "redis.internal", "REDIS_PORT": "6379",
                     "PROXY_BASE_URL": "https://llm.example.com"},
        log_retention_days=14,
        target_group_arn=TARGET_GROUP,
        alb_security_group_id=ALB_SG,
        trusted_proxy_cidrs=ALB_SUBNET_CIDRS,
    )
    base.update(overrides)
    return LiteLLMServiceProps(**base)


def _prod_props(config_file: str) -> LiteLLMServiceProps:
    return _props(
        name="unit-prod",
        cpu=4096,
        memory=8192,
        desired_count=2,
        idle_timeout=900,
        secrets={"OPENAI_API_KEY": OPENAI_PARAMETER,
                 "ANTHROPIC_API_KEY": f"{OPENAI_SECRET}:anthropic::"},
        protect_secrets=True,
        secret_recovery_window_days=30,
        kms_key_arns=(KMS_KEY,),
        log_retention_days=90,
        enable_execute_command=True,
        additional_security_group_ids=("sg-0extra",),
        health_check_grace_period_seconds=240,
        autoscaling_enabled=True,
        autoscaling_min_capacity=2,
        autoscaling_max_capacity=10,
        autoscaling_cpu_target=55,
        autoscaling_requests_per_target=300,
        alb_request_count_resource_label=REQUEST_LABEL,
        ecr_repository_enabled=False,
        config_file=config_file,
    )


@pytest.fixture(scope="module")
def config_files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("litellm-config")
    files = {}
    for case, text in (("prod", "model_list: []\n"), ("prod-edited", "model_list: []\n# edited\n")):
        path = folder / case / "config.yaml"
        path.parent.mkdir()
        path.write_text(text)
        files[case] = str(path)
    return files


@pytest.fixture(scope="module")
def synthesized(config_files) -> dict[str, tuple[str, dict]]:
    cases = {
        "dev": None,  # built below: its secrets reference a secret created in the same stack
        "prod": _prod_props(config_files["prod"]),
        "prod-edited": _prod_props(config_files["prod-edited"]),
        # A production-like environment's own key and ALB log bucket (stacks/environment_stack.py).
        "prod-keyed": dataclasses.replace(
            _prod_props(config_files["prod"]), name="unit-keyed", kms_key_arn=ENVIRONMENT_KEY,
            ecr_repository_enabled=True, config_access_logs=ACCESS_LOG_TARGET,
        ),
        "supplied": _props(
            name="unit-own",
            port=8080,
            num_workers=3,
            generate_master_key=False,
            generate_salt_key=False,
            secrets={"LITELLM_MASTER_KEY": MASTER_SECRET, "LITELLM_SALT_KEY": SALT_SECRET},
            autoscaling_enabled=True,
        ),
    }
    app = Testing.app()
    out = {}
    for case, props in cases.items():
        stack = TerraformStack(app, f"ecs-litellm-{case}")
        AwsProvider(stack, "aws", region="eu-west-1")
        RandomProvider(stack, "random")
        if case == "dev":
            credentials = SecretsmanagerSecret(stack, "db-credentials", name="unit/db")
            arn = credentials.arn
            props = _props(secrets={
                "DATABASE_USERNAME": f"{arn}:username::",
                "DATABASE_PASSWORD": f"{arn}:password::",
                "REDIS_PASSWORD": f"{DB_SECRET}:redis:AWSCURRENT:",
            })
            cases[case] = props
        service = LiteLLMService(stack, "litellm", props=props)
        if case == "dev":
            database = SecurityGroup(stack, "database", name="db", description="db", vpc_id="vpc-0unittest")
            service.allow_egress_to("to-postgres", database.id, 5432)
            service.allow_egress_to("to-redis", "sg-0redis", 6379, "To Redis")
            service.allow_from("bastion", "sg-0bastion", "Bastion host")
            service.depend_on(database, credentials)
        for attribute in EXPOSED:
            TerraformOutput(stack, attribute, value=getattr(service, attribute))
        for attribute in OPTIONAL:
            value = getattr(service, attribute)
            TerraformOutput(stack, attribute, value=value if value is not None else "absent")
        text = Testing.synth(stack)
        out[case] = (text, json.loads(text))
    out["props"] = cases
    return out


CASES = ("dev", "prod", "prod-edited", "supplied")


def _one(stack: dict, tf_type: str) -> dict:
    (config,) = resources(stack, tf_type).values()
    return config


def _container(stack: dict) -> dict:
    (container,) = json_argument(stack, _one(stack, "aws_ecs_task_definition")["container_definitions"])
    return container


def _environment(stack: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in _container(stack)["environment"]}


def _secrets(stack: dict) -> dict[str, str]:
    return {item["name"]: item["valueFrom"] for item in _container(stack)["secrets"]}


def _output(stack: dict, name: str):
    return stack["output"][name]["value"]


def _statements(stack: dict) -> list[dict]:
    return [s for doc in data_sources(stack, "aws_iam_policy_document").values() for s in doc["statement"]]


def _document(stack: dict, reference: str) -> list[dict]:
    """Statements of the policy document ``${data.aws_iam_policy_document.<id>.json}``."""
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}", reference)
    assert match, reference
    return data_sources(stack, "aws_iam_policy_document")[match.group(1)]["statement"]


def _role_policy_document(stack: dict, role_name: str) -> list[dict]:
    """Statements of the inline policy of the role called ``role_name`` ([] when it has none)."""
    for policy in resources(stack, "aws_iam_role_policy").values():
        if ref_target(stack, policy["role"])["name"] == role_name:
            return _document(stack, policy["policy"])
    return []


def _actions(statements: list[dict]) -> dict[str, list[str]]:
    """action -> resources, over ``statements``."""
    out: dict[str, list[str]] = {}
    for statement in statements:
        for action in statement["actions"]:
            out.setdefault(action, []).extend(statement["resources"])
    return out


def _expected_base(value_from: str) -> str:
    """The secret an ECS valueFrom needs, derived independently of the module."""
    if value_from.startswith("${"):
        reference, rest = value_from[: value_from.index("}") + 1], value_from[value_from.index("}") + 1:]
        assert rest == "" or re.fullmatch(r":[^:]*:[^:]*:[^:]*", rest), value_from
        return reference
    parts = value_from.split(":")
    if parts[2] == "ssm":
        return value_from
    assert parts[2] == "secretsmanager" and parts[5] == "secret" and len(parts) in (7, 10), value_from
    return ":".join(parts[:7])


# --- names, cluster, logs ---------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_names_are_deterministic(synthesized, case):
    _, stack = synthesized[case]
    name = synthesized["props"][case].name
    assert _one(stack, "aws_ecs_cluster")["name"] == f"{name}-cluster"
    assert _one(stack, "aws_ecs_service")["name"] == f"{name}-litellm"
    assert _one(stack, "aws_ecs_task_definition")["family"] == f"{name}-litellm"
    assert _one(stack, "aws_cloudwatch_log_group")["name"] == f"/ecs/{name}/litellm"
    assert ref_target(stack, _output(stack, "cluster_name"))["name"] == f"{name}-cluster"
    assert ref_target(stack, _output(stack, "service_name"))["name"] == f"{name}-litellm"


def test_cluster_has_container_insights_and_fargate_providers(synthesized):
    text, stack = synthesized["dev"]
    assert Testing.to_have_resource_with_properties(
        text, "aws_ecs_cluster", {"setting": [{"name": "containerInsights", "value": "enabled"}]},
    )
    providers = _one(stack, "aws_ecs_cluster_capacity_providers")
    assert ref_target(stack, providers["cluster_name"]) is _one(stack, "aws_ecs_cluster")
    assert sorted(providers["capacity_providers"]) == ["FARGATE", "FARGATE_SPOT"]


@pytest.mark.parametrize("case,retention", [("dev", 14), ("prod", 90)])
def test_logs_go_to_the_retained_group(synthesized, case, retention):
    _, stack = synthesized[case]
    group = _one(stack, "aws_cloudwatch_log_group")
    assert group["retention_in_days"] == retention
    logging = _container(stack)["logConfiguration"]
    assert logging["logDriver"] == "awslogs"
    assert ref_target(stack, logging["options"]["awslogs-group"]) is group
    assert logging["options"]["awslogs-region"] == "eu-west-1"
    assert logging["options"]["awslogs-stream-prefix"]


# --- task definition and container ------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_task_definition_is_fargate_sized_from_props(synthesized, case):
    _, stack = synthesized[case]
    props = synthesized["props"][case]
    task = _one(stack, "aws_ecs_task_definition")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == (str(props.cpu), str(props.memory))
    assert task["runtime_platform"]["operating_system_family"] == "LINUX"
    assert task["runtime_platform"]["cpu_architecture"] in ("X86_64", "ARM64")
    assert ref_target(stack, task["execution_role_arn"])["name"] == f"{props.name}-litellm-execution"
    assert ref_target(stack, task["task_role_arn"])["name"] == f"{props.name}-litellm-task"


@pytest.mark.parametrize("case", CASES)
def test_port_is_consistent_everywhere(synthesized, case):
    _, stack = synthesized[case]
    port = synthesized["props"][case].port
    container = _container(stack)
    assert container["name"] == "litellm" and container["essential"] is True
    assert [m["containerPort"] for m in container["portMappings"]] == [port]
    (balancer,) = _one(stack, "aws_ecs_service")["load_balancer"]
    assert (balancer["container_name"], balancer["container_port"]) == ("litellm", port)
    assert balancer["target_group_arn"] == TARGET_GROUP
    assert _environment(stack)["PORT"] == str(port)


def test_default_port_keeps_the_image_command_and_another_port_overrides_it(synthesized):
    assert synthesized["props"]["dev"].port == 4000
    assert "command" not in _container(synthesized["dev"][1])
    assert _container(synthesized["supplied"][1])["command"] == ["--port", "8080"]


@pytest.mark.parametrize("case,workers", [("dev", "1"), ("prod", "4"), ("supplied", "3")])
def test_workers_follow_vcpus_unless_set(synthesized, case, workers):
    assert _environment(synthesized[case][1])["NUM_WORKERS"] == workers


def test_workers_never_drop_to_zero():
    assert _props(cpu=512, memory=1024).workers == 1
    assert _props(cpu=256, memory=512).workers == 1


@pytest.mark.parametrize("case", CASES)
def test_keepalive_outlasts_the_alb_idle_timeout(synthesized, case):
    idle = synthesized["props"][case].idle_timeout
    assert int(_environment(synthesized[case][1])["KEEPALIVE_TIMEOUT"]) > idle


@pytest.mark.parametrize("case", CASES)
def test_litellm_drains_within_the_stop_timeout(synthesized, case):
    # LiteLLM's own default (30 s) cut in-flight requests long before ECS's SIGKILL at 120 s.
    stop = _container(synthesized[case][1])["stopTimeout"]
    graceful = int(_environment(synthesized[case][1])["GRACEFUL_SHUTDOWN_TIMEOUT"])
    assert stop == 120 and graceful == stop - 10


def test_a_short_stop_timeout_still_leaves_a_drain_window():
    assert _props(stop_timeout=5).graceful_shutdown_timeout == 1


@pytest.mark.parametrize("case", CASES)
def test_the_module_sets_only_the_variables_it_declares(synthesized, case):
    """core/litellm_config.py trusts this list when it checks os.environ/ names in the config."""
    from core.litellm_config import MODULE_ENVIRONMENT, MODULE_SECRETS
    props = synthesized["props"][case]
    own_environment = set(_environment(synthesized[case][1])) - set(props.environment)
    own_secrets = set(_secrets(synthesized[case][1])) - set(props.secrets)
    with_config = {"LITELLM_CONFIG_BUCKET_NAME", "LITELLM_CONFIG_BUCKET_OBJECT_KEY", "LITELLM_CONFIG_SHA256"}
    expected = MODULE_ENVIRONMENT if props.config_file else MODULE_ENVIRONMENT - with_config
    assert own_environment == expected
    assert own_secrets == (MODULE_SECRETS if props.generate_master_key else set())


@pytest.mark.parametrize("case", CASES)
def test_production_defaults_and_stack_environment_are_merged(synthesized, case):
    environment = _environment(synthesized[case][1])
    assert environment["LITELLM_MODE"] == "PRODUCTION"
    assert environment["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert environment["REDIS_SSL"] == "true"
    assert environment["FORWARDED_ALLOW_IPS"] == ",".join(ALB_SUBNET_CIDRS)
    for key, value in synthesized["props"][case].environment.items():
        assert environment[key] == value


@pytest.mark.parametrize("case", CASES)
def test_health_check_uses_python_against_liveliness(synthesized, case):
    port = synthesized["props"][case].port
    check = _container(synthesized[case][1])["healthCheck"]
    command = check["command"]
    assert command[0] == "CMD" and command[1].startswith("python")
    joined = " ".join(command)
    assert "curl" not in joined and "wget" not in joined
    assert f"http://localhost:{port}/health/liveliness" in joined
    assert "urllib" in joined
    # Long enough for Prisma migrations, within ECS's 300 s cap.
    assert 120 <= check["startPeriod"] <= 300
    assert check["timeout"] < check["interval"]


@pytest.mark.parametrize("case", CASES)
def test_container_is_not_privileged(synthesized, case):
    container = _container(synthesized[case][1])
    assert container.get("privileged", False) is False
    assert container["readonlyRootFilesystem"] is False
    assert container["stopTimeout"] == 120
    exec_on = synthesized["props"][case].enable_execute_command
    assert ("linuxParameters" in container) is exec_on
    if exec_on:
        assert container["linuxParameters"]["initProcessEnabled"] is True


# --- secrets ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_nothing_secret_looking_is_a_plain_environment_variable(synthesized, case):
    _, stack = synthesized[case]
    environment, secrets = _environment(stack), _secrets(stack)
    for name in environment:
        assert name in NOT_SECRET or not SECRET_LOOKING.search(name), name
    assert not set(environment) & set(secrets)
    for required in ("LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"):
        assert required in secrets


@pytest.mark.parametrize("case", CASES)
def test_execution_role_reads_exactly_the_referenced_secrets(synthesized, case):
    _, stack = synthesized[case]
    name = synthesized["props"][case].name
    actions = _actions(_role_policy_document(stack, f"{name}-litellm-execution"))
    secrets = _secrets(stack).values()
    needed_secrets = {_expected_base(v) for v in secrets if ":ssm:" not in v}
    needed_parameters = {v for v in secrets if ":ssm:" in v}
    assert set(actions["secretsmanager:GetSecretValue"]) == needed_secrets
    assert set(actions.get("ssm:GetParameters", [])) == needed_parameters


def test_json_key_references_share_one_grant(synthesized):
    _, stack = synthesized["dev"]
    secrets = _secrets(stack)
    assert secrets["DATABASE_PASSWORD"] == "${aws_secretsmanager_secret.db-credentials.arn}:password::"
    assert secrets["REDIS_PASSWORD"] == f"{DB_SECRET}:redis:AWSCURRENT:"
    granted = _actions(_role_policy_document(stack, "unit-test-litellm-execution"))
    assert sorted(granted["secretsmanager:GetSecretValue"]).count(
        "${aws_secretsmanager_secret.db-credentials.arn}") == 1
    assert DB_SECRET in granted["secretsmanager:GetSecretValue"]


def test_customer_managed_keys_decrypt_only_through_secrets_manager_and_ssm(synthesized):
    _, stack = synthesized["prod"]
    statements = _role_policy_document(stack, "unit-prod-litellm-execution")
    (decrypt,) = [s for s in statements if "kms:Decrypt" in s["actions"]]
    assert decrypt["actions"] == ["kms:Decrypt"] and decrypt["resources"] == [KMS_KEY]
    (condition,) = decrypt["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "kms:ViaService")
    assert "secretsmanager.eu-west-1.amazonaws.com" in condition["values"]
    assert all(v.endswith(".eu-west-1.amazonaws.com") for v in condition["values"])
    dev_actions = _actions(_role_policy_document(synthesized["dev"][1], "unit-test-litellm-execution"))
    assert "kms:Decrypt" not in dev_actions


def _generated(stack: dict) -> dict[str, tuple[dict, dict]]:
    """Variable -> (secret, secret version) for the keys the module generated."""
    versions = {ref(v["secret_id"])[1]: v for v in resources(stack, "aws_secretsmanager_secret_version").values()}
    out = {}
    for variable, value_from in _secrets(stack).items():
        if value_from.startswith("${aws_secretsmanager_secret.litellm_"):
            _, logical_id, attribute = ref(value_from)
            assert attribute == "arn"
            out[variable] = (resources(stack, "aws_secretsmanager_secret")[logical_id], versions[logical_id])
    return out


@pytest.mark.parametrize("case", ["dev", "prod"])
def test_generated_keys_come_from_ephemeral_passwords_and_never_reach_state(synthesized, case):
    _, stack = synthesized[case]
    name = synthesized["props"][case].name
    generated = _generated(stack)
    assert set(generated) == {"LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"}
    master_secret, master_version = generated["LITELLM_MASTER_KEY"]
    salt_secret, salt_version = generated["LITELLM_SALT_KEY"]
    assert master_secret["name"] != salt_secret["name"]
    assert master_secret["name"].startswith(f"{name}/") and salt_secret["name"].startswith(f"{name}/")

    master_random = _ephemeral_password(stack, master_version["secret_string_wo"], prefix="sk-")
    salt_random = _ephemeral_password(stack, salt_version["secret_string_wo"], prefix="")
    assert master_random is not salt_random
    for random in (master_random, salt_random):
        assert random["length"] >= 32
        assert random["exclude_punctuation"] is True  # "sk-" + alphanumerics
    for version in (master_version, salt_version):
        # Nothing generated may be persisted: no secret_string, only the write-only argument,
        # whose fixed version means it is written once (the salt key must never change).
        assert "secret_string" not in version
        assert version["secret_string_wo_version"] == 1


def _ephemeral_password(stack: dict, value: str, *, prefix: str) -> dict:
    """The call of core/ephemeral.py's password module a write-only value comes from."""
    match = re.fullmatch(re.escape(prefix) + r"\$\{module\.([A-Za-z0-9_-]+)\.value\}", value)
    assert match, value
    module = stack["module"][match.group(1)]
    assert re.fullmatch(r"\./assets/ephemeral-password-module/[0-9A-F]+", module["source"]), module["source"]
    return module


def test_salt_key_is_protected_only_when_asked(synthesized):
    prod = _generated(synthesized["prod"][1])
    salt_secret, salt_version = prod["LITELLM_SALT_KEY"]
    assert salt_secret["lifecycle"]["prevent_destroy"] is True
    assert salt_version["lifecycle"]["prevent_destroy"] is True
    assert salt_secret["recovery_window_in_days"] == 30
    dev = _generated(synthesized["dev"][1])
    for secret, version in dev.values():
        assert "prevent_destroy" not in secret.get("lifecycle", {})
        assert "prevent_destroy" not in version.get("lifecycle", {})


def test_supplied_keys_are_injected_without_generating_anything(synthesized):
    _, stack = synthesized["supplied"]
    assert resources(stack, "aws_secretsmanager_secret") == {}
    assert "module" not in stack
    assert _secrets(stack) == {"LITELLM_MASTER_KEY": MASTER_SECRET, "LITELLM_SALT_KEY": SALT_SECRET}
    assert _output(stack, "master_key_secret_arn") == "absent"
    assert _output(stack, "salt_key_secret_arn") == "absent"


def test_supplying_a_key_that_is_also_generated_is_refused():
    with pytest.raises(ValueError, match="LITELLM_MASTER_KEY"):
        _props(secrets={"LITELLM_MASTER_KEY": MASTER_SECRET})
    with pytest.raises(ValueError, match="LITELLM_SALT_KEY"):
        _props(generate_master_key=False, secrets={"LITELLM_SALT_KEY": SALT_SECRET})


@pytest.mark.parametrize("case", CASES)
def test_no_literal_secret_anywhere(synthesized, case):
    text, stack = synthesized[case]
    for tf_type, items in stack["resource"].items():
        for config in items.values():
            for key, value in config.items():
                if re.search(r"password|secret_string|auth_token|secret_binary", key) and isinstance(value, str):
                    assert re.fullmatch(r"(sk-)?\$\{[^}]+\}", value), f"{tf_type}.{key} = {value!r}"
    # A master key literal would be "sk-" followed by the key itself.
    assert not re.search(r"(?<![\w-])sk-[A-Za-z0-9]{8,}", text)
    for value in _environment(stack).values():
        assert "random_password" not in value and "secretsmanager" not in value


# --- IAM --------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_no_wildcard_actions_and_wildcard_resources_only_where_aws_requires(synthesized, case):
    _, stack = synthesized[case]
    exec_on = synthesized["props"][case].enable_execute_command
    allowed_on_any = {"ecr:GetAuthorizationToken"} | (ECS_EXEC_ACTIONS if exec_on else set())
    for statement in _statements(stack):
        for action in statement.get("actions", []):
            assert action != "*"
            if statement.get("effect", "Allow") == "Allow":
                assert "*" not in action, action
        if "*" in statement.get("resources", []):
            assert set(statement["actions"]) <= allowed_on_any, statement
    if not exec_on:
        assert not any(a.startswith("ssmmessages:") for s in _statements(stack) for a in s["actions"])


@pytest.mark.parametrize("case", CASES)
def test_roles_are_assumed_by_ecs_tasks_only(synthesized, case):
    _, stack = synthesized[case]
    for role in resources(stack, "aws_iam_role").values():
        (statement,) = _document(stack, role["assume_role_policy"])
        assert statement["actions"] == ["sts:AssumeRole"]
        assert statement["principals"] == [{"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]}]
    assert not any("managed_policy_arns" in r for r in resources(stack, "aws_iam_role").values())
    assert resources(stack, "aws_iam_role_policy_attachment") == {}


def test_execution_role_writes_only_its_log_group(synthesized):
    _, stack = synthesized["dev"]
    actions = _actions(_role_policy_document(stack, "unit-test-litellm-execution"))
    group_id = next(iter(resources(stack, "aws_cloudwatch_log_group")))
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert actions[action]
        for resource in actions[action]:
            assert resource.startswith(f"${{aws_cloudwatch_log_group.{group_id}.arn}}")


def test_ecr_repository_is_immutable_scanned_and_pullable(synthesized):
    _, stack = synthesized["dev"]
    repository = _one(stack, "aws_ecr_repository")
    assert repository["name"] == "unit-test/litellm"
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"]["scan_on_push"] is True
    lifecycle = json.loads(_one(stack, "aws_ecr_lifecycle_policy")["policy"])
    untagged = [r for r in lifecycle["rules"] if r["selection"]["tagStatus"] == "untagged"]
    assert untagged and untagged[0]["selection"]["countType"] == "sinceImagePushed"
    actions = _actions(_role_policy_document(stack, "unit-test-litellm-execution"))
    repository_id = next(iter(resources(stack, "aws_ecr_repository")))
    assert actions["ecr:BatchGetImage"] == [f"${{aws_ecr_repository.{repository_id}.arn}}"]
    assert actions["ecr:GetAuthorizationToken"] == ["*"]
    assert ref_target(stack, _output(stack, "ecr_repository_url")) is repository


def test_without_ecr_there_is_no_repository_and_no_ecr_permission(synthesized):
    _, stack = synthesized["prod"]
    assert resources(stack, "aws_ecr_repository") == {}
    assert _output(stack, "ecr_repository_url") == "absent"
    assert not any(a.startswith("ecr:") for s in _statements(stack) for a in s["actions"])


# --- security group ---------------------------------------------------------------------------

def _service_group(stack: dict, name: str) -> tuple[str, dict]:
    for logical_id, config in resources(stack, "aws_security_group").items():
        if config["name"] == f"{name}-litellm":
            return f"${{aws_security_group.{logical_id}.id}}", config
    raise AssertionError("no service security group")


@pytest.mark.parametrize("case", CASES)
def test_ingress_is_only_the_container_port_from_referenced_groups(synthesized, case):
    _, stack = synthesized[case]
    props = synthesized["props"][case]
    group_ref, group = _service_group(stack, props.name)
    assert "ingress" not in group and "egress" not in group
    assert _output(stack, "security_group_id") == group_ref
    sources = set()
    for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values():
        assert rule["security_group_id"] == group_ref
        assert not {"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} & rule.keys()
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", props.port, props.port)
        sources.add(rule["referenced_security_group_id"])
    expected = {ALB_SG, "sg-0bastion"} if case == "dev" else {ALB_SG}
    assert sources == expected


def test_egress_is_https_plus_the_datastores_the_stack_opens(synthesized):
    _, stack = synthesized["dev"]
    group_ref, _ = _service_group(stack, "unit-test")
    rules = list(resources(stack, "aws_vpc_security_group_egress_rule").values())
    assert all(r["security_group_id"] == group_ref and r["ip_protocol"] == "tcp" for r in rules)
    cidr_rules = [r for r in rules if "cidr_ipv4" in r]
    assert [(r["cidr_ipv4"], r["from_port"], r["to_port"]) for r in cidr_rules] == [("0.0.0.0/0", 443, 443)]
    by_port = {r["from_port"]: r for r in rules if "referenced_security_group_id" in r}
    assert set(by_port) == {5432, 6379}
    assert ref_target(stack, by_port[5432]["referenced_security_group_id"])["name"] == "db"
    assert by_port[6379]["referenced_security_group_id"] == "sg-0redis"
    assert by_port[6379]["description"] == "To Redis"
    # Nothing else opened by default.
    assert len(resources(synthesized["prod"][1], "aws_vpc_security_group_egress_rule")) == 1


# --- service ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_service_rolls_out_safely_in_private_subnets(synthesized, case):
    text, stack = synthesized[case]
    props = synthesized["props"][case]
    service = _one(stack, "aws_ecs_service")
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert service["deployment_minimum_healthy_percent"] == 100
    assert service["deployment_maximum_percent"] == 200
    assert service["lifecycle"]["ignore_changes"] == ["desired_count"]
    assert service["desired_count"] == props.desired_count
    assert service["health_check_grace_period_seconds"] == props.health_check_grace_period_seconds
    assert service["launch_type"] == "FARGATE"
    assert service["wait_for_steady_state"] is False
    assert service["propagate_tags"] == "SERVICE" and service["enable_ecs_managed_tags"] is True
    assert service["enable_execute_command"] is props.enable_execute_command
    network = service["network_configuration"]
    assert network["assign_public_ip"] is False
    assert network["subnets"] == list(props.subnet_ids)
    group_ref, _ = _service_group(stack, props.name)
    assert network["security_groups"] == [group_ref, *props.additional_security_group_ids]
    assert ref_target(stack, service["task_definition"]) is _one(stack, "aws_ecs_task_definition")
    assert ref_target(stack, service["cluster"]) is _one(stack, "aws_ecs_cluster")


def test_service_waits_for_what_the_stack_names(synthesized):
    _, stack = synthesized["dev"]
    service = _one(stack, "aws_ecs_service")
    assert service["depends_on"] == ["aws_security_group.database", "aws_secretsmanager_secret.db-credentials"]
    assert "depends_on" not in _one(synthesized["prod"][1], "aws_ecs_service")


# --- config file ------------------------------------------------------------------------------

def test_config_file_is_uploaded_to_a_private_bucket_and_loaded(synthesized, config_files):
    _, stack = synthesized["prod"]
    digest = hashlib.sha256(open(config_files["prod"], "rb").read()).hexdigest()
    upload = _one(stack, "aws_s3_object")
    assert upload["source_hash"] == digest
    assert upload["source"].startswith("assets/") and upload["source"].endswith("/config.yaml")
    bucket_ref = upload["bucket"]
    bucket = ref_target(stack, bucket_ref)
    bucket_id = ref(bucket_ref)[1]
    environment = _environment(stack)
    assert environment["LITELLM_CONFIG_BUCKET_NAME"] == f"${{aws_s3_bucket.{bucket_id}.bucket}}"
    assert environment["LITELLM_CONFIG_BUCKET_OBJECT_KEY"] == upload["key"]
    assert environment["LITELLM_CONFIG_SHA256"] == digest
    assert _output(stack, "config_bucket_name") == f"${{aws_s3_bucket.{bucket_id}.bucket}}"
    assert bucket["bucket_prefix"].startswith("unit-prod-")

    block = _one(stack, "aws_s3_bucket_public_access_block")
    assert block["bucket"] == bucket_ref
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy",
                                          "ignore_public_acls", "restrict_public_buckets"))
    assert _one(stack, "aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"
    (rule,) = _one(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    # No environment key here (prod-keyed has one): SSE-S3.
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    # Changes of the object reach EventBridge.
    notification = _one(stack, "aws_s3_bucket_notification")
    assert notification["bucket"] == bucket_ref and notification["eventbridge"] is True
    assert resources(stack, "aws_s3_bucket_logging") == {}
    assert _one(stack, "aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    # Versions do not pile up forever (every deploy with an edited config adds one).
    lifecycle = _one(stack, "aws_s3_bucket_lifecycle_configuration")
    assert lifecycle["bucket"] == bucket_ref
    (expiry,) = lifecycle["rule"]
    assert expiry["status"] == "Enabled" and expiry["noncurrent_version_expiration"][0]["noncurrent_days"] == 90
    policy = _one(stack, "aws_s3_bucket_policy")
    assert policy["bucket"] == bucket_ref
    statements = _document(stack, policy["policy"])
    assert {s["effect"] for s in statements} == {"Deny"}
    assert [s["condition"] for s in statements] == [
        [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
        [{"test": "NumericLessThan", "variable": "s3:TlsVersion", "values": ["1.2"]}],
    ]
    assert policy["depends_on"] and policy["depends_on"][0].startswith("aws_s3_bucket_public_access_block.")


def test_task_role_may_read_only_the_config_object(synthesized):
    _, stack = synthesized["prod"]
    upload = _one(stack, "aws_s3_object")
    bucket_id = ref(upload["bucket"])[1]
    statements = _role_policy_document(stack, "unit-prod-litellm-task")
    actions = _actions(statements)
    assert actions["s3:GetObject"] == [f"${{aws_s3_bucket.{bucket_id}.arn}}/{upload['key']}"]
    assert set(actions) == {"s3:GetObject"} | ECS_EXEC_ACTIONS


def test_with_the_environment_key_the_config_bucket_and_repository_use_it(synthesized):
    _, stack = synthesized["prod-keyed"]
    upload = _one(stack, "aws_s3_object")
    bucket_ref, bucket_id = upload["bucket"], ref(upload["bucket"])[1]
    (rule,) = _one(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms", "kms_master_key_id": ENVIRONMENT_KEY}
    assert rule["bucket_key_enabled"] is True
    # The task role may decrypt with the key only through S3, and only this bucket's objects.
    statements = _role_policy_document(stack, "unit-keyed-litellm-task")
    (decrypt,) = [s for s in statements if "kms:Decrypt" in s["actions"]]
    assert decrypt["actions"] == ["kms:Decrypt"] and decrypt["resources"] == [ENVIRONMENT_KEY]
    conditions = {c["variable"]: (c["test"], c["values"]) for c in decrypt["condition"]}
    assert conditions == {
        "kms:ViaService": ("StringEquals", ["s3.eu-west-1.amazonaws.com"]),
        "kms:EncryptionContext:aws:s3:arn": ("StringEquals", [f"${{aws_s3_bucket.{bucket_id}.arn}}"]),
    }
    # Who read or changed the configuration lands in the ALB's log bucket.
    logging = _one(stack, "aws_s3_bucket_logging")
    assert logging["bucket"] == bucket_ref
    assert (logging["target_bucket"], logging["target_prefix"]) == ACCESS_LOG_TARGET
    (encryption,) = _one(stack, "aws_ecr_repository")["encryption_configuration"]
    assert encryption == {"encryption_type": "KMS", "kms_key": ENVIRONMENT_KEY}


def test_without_the_environment_key_the_task_role_has_no_key_grant(synthesized):
    _, stack = synthesized["prod"]
    assert not any(a.startswith("kms:") for a in _actions(_role_policy_document(stack, "unit-prod-litellm-task")))
    (encryption,) = _one(synthesized["dev"][1], "aws_ecr_repository")["encryption_configuration"]
    assert encryption == {"encryption_type": "AES256"}


def test_editing_the_config_file_changes_the_task_definition(synthesized):
    before, after = _environment(synthesized["prod"][1]), _environment(synthesized["prod-edited"][1])
    assert before["LITELLM_CONFIG_SHA256"] != after["LITELLM_CONFIG_SHA256"]
    assert {k: v for k, v in before.items() if k != "LITELLM_CONFIG_SHA256"} == \
        {k: v for k, v in after.items() if k != "LITELLM_CONFIG_SHA256"}
    assert _one(synthesized["prod"][1], "aws_s3_object")["source_hash"] != \
        _one(synthesized["prod-edited"][1], "aws_s3_object")["source_hash"]


def test_without_config_file_there_is_no_bucket_and_no_task_permission(synthesized):
    _, stack = synthesized["dev"]
    assert resources(stack, "aws_s3_bucket") == {} and resources(stack, "aws_s3_object") == {}
    assert not any(k.startswith("LITELLM_CONFIG") for k in _environment(stack))
    assert _role_policy_document(stack, "unit-test-litellm-task") == []
    assert _output(stack, "config_bucket_name") == "absent"


# --- autoscaling ------------------------------------------------------------------------------

def _policies(stack: dict) -> dict[str, dict]:
    return {
        p["target_tracking_scaling_policy_configuration"]["predefined_metric_specification"]
        ["predefined_metric_type"]: p
        for p in resources(stack, "aws_appautoscaling_policy").values()
    }


def test_autoscaling_tracks_cpu_and_requests(synthesized):
    _, stack = synthesized["prod"]
    target = _one(stack, "aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (2, 10)
    # The floor belongs to scale-to-zero at run time once created.
    assert target["lifecycle"]["ignore_changes"] == ["min_capacity"]
    assert target["service_namespace"] == "ecs"
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    cluster_id = next(iter(resources(stack, "aws_ecs_cluster")))
    service_id = next(iter(resources(stack, "aws_ecs_service")))
    assert target["resource_id"] == (
        f"service/${{aws_ecs_cluster.{cluster_id}.name}}/${{aws_ecs_service.{service_id}.name}}"
    )
    policies = _policies(stack)
    assert set(policies) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    cpu = policies["ECSServiceAverageCPUUtilization"]["target_tracking_scaling_policy_configuration"]
    requests = policies["ALBRequestCountPerTarget"]["target_tracking_scaling_policy_configuration"]
    assert cpu["target_value"] == 55 and requests["target_value"] == 300
    assert requests["predefined_metric_specification"]["resource_label"] == REQUEST_LABEL
    for policy in policies.values():
        assert policy["policy_type"] == "TargetTrackingScaling"
        assert ref_target(stack, policy["resource_id"]) is target
        tracking = policy["target_tracking_scaling_policy_configuration"]
        assert tracking["scale_in_cooldown"] > tracking["scale_out_cooldown"]


def test_autoscaling_without_a_request_label_tracks_cpu_only(synthesized):
    _, stack = synthesized["supplied"]
    assert set(_policies(stack)) == {"ECSServiceAverageCPUUtilization"}
    target = _one(stack, "aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (1, 4)


def test_autoscaling_is_optional(synthesized):
    _, stack = synthesized["dev"]
    assert resources(stack, "aws_appautoscaling_target") == {}
    assert resources(stack, "aws_appautoscaling_policy") == {}


# --- props and helpers ------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,message", [
    ({"environment": {"OPENAI_API_KEY": "sk-oops"}}, "looks like a secret"),
    ({"environment": {"DATABASE_PASSWORD": "hunter2"}}, "looks like a secret"),
    ({"environment": {"PORT": "4000"}}, "set by the module"),
    ({"environment": {"KEEPALIVE_TIMEOUT": "5"}}, "set by the module"),
    ({"environment": {"GRACEFUL_SHUTDOWN_TIMEOUT": "30"}}, "set by the module"),
    ({"secrets": {"OPENAI_API_KEY": "sk-plaintext"}}, "not a Secrets Manager"),
    ({"secrets": {"OPENAI_API_KEY": "arn:aws:s3:::bucket/key"}}, "not a Secrets Manager"),
    ({"command": ("--port", "9000")}, "--port"),
    ({"config_file": "configs/litellm.yaml"}, "absolute"),
    ({"stop_timeout": 300}, "stop_timeout"),
    ({"autoscaling_enabled": True, "autoscaling_min_capacity": 5, "autoscaling_max_capacity": 2}, "autoscaling"),
    ({"subnet_ids": ()}, "subnet"),
])
def test_props_reject_unsafe_or_inconsistent_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        _props(**overrides)


def test_secret_base_arn():
    assert secret_base_arn(f"{DB_SECRET}:password::") == DB_SECRET
    assert secret_base_arn(f"{DB_SECRET}:password:AWSCURRENT:") == DB_SECRET
    assert secret_base_arn(DB_SECRET) == DB_SECRET
    assert secret_base_arn(OPENAI_PARAMETER) == OPENAI_PARAMETER
    with pytest.raises(ValueError):
        secret_base_arn(f"{DB_SECRET}:password")  # a json key needs all three suffix fields
    with pytest.raises(ValueError):
        secret_base_arn("unit/db")


def test_forwarded_headers_are_trusted_only_from_the_alb_subnets(synthesized):
    _, stack = synthesized["dev"]
    # "*" would let any client pick the address LiteLLM sees (allowed_ips, logs) via X-Forwarded-For.
    assert _environment(stack)["FORWARDED_ALLOW_IPS"] == "10.20.0.0/24,10.20.1.0/24"
    for bad in ((), ("*",)):
        with pytest.raises(ValueError, match="trusted_proxy_cidrs"):
            _props(trusted_proxy_cidrs=bad)
