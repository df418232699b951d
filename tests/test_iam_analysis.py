"""Issue 14's Critical finding, proven over the synthesized JSON with a policy evaluator
(tests/policy_eval.py): every statement of every CI deploy role and of the CI boundary that writes
roles requires the workload boundary; every IAM role in every stack carries a boundary; no
environment's CI roles reach another environment's names or state; and the four-call escalation
(role trusted by Lambda, inline *:*, function, invoke) ends inside the workload boundary.

The stacks: the shipped environments (dev: standard, prod: production-like) and bootstrap with
the GitHub CI feature on."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from cdktf import Testing

from bootstrap.backend_stack import BootstrapStack
from modules.ci_access import IAM_BOUNDED_ROLE_WRITES, deploy_role_name, plan_role_name
from modules.workload_boundary import workload_boundary_name
from tests.helpers import data_sources, resources
from tests.policy_eval import Request, _action_matches, decide, resolve_references

REPO = "example-org/litellm-infra"
ACCOUNT = "123456789012"
KEY_ARN_SUFFIX = "key/11111111-2222-3333-4444-555555555555"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
EVERYTHING = [{"effect": "Allow", "actions": ["*"], "resources": ["*"]}]
# How the stacks read partition (1) and account (4) from one of their own ARNs.
_ARN_FIELD = re.compile(r'\$\{element\(split\(":", [^)]+\), ([14])\)\}')


def _arn_fields(value):
    if isinstance(value, str):
        return _ARN_FIELD.sub(lambda m: "aws" if m.group(1) == "1" else ACCOUNT, value)
    if isinstance(value, list):
        return [_arn_fields(v) for v in value]
    if isinstance(value, dict):
        return {k: _arn_fields(v) for k, v in value.items()}
    return value


class View:
    """A stack's IAM with Terraform references resolved to concrete ARNs."""

    def __init__(self, stack: dict, region: str) -> None:
        self.stack, self.region = stack, region
        self.documents = {
            name: resolve_references(_arn_fields(doc.get("statement", [])), self._resolve)
            for name, doc in data_sources(stack, "aws_iam_policy_document").items()
        }

    def _resolve(self, tf_type: str, name: str, attribute: str) -> str | None:
        config = self.stack.get("resource", {}).get(tf_type, {}).get(name)
        if config is None or attribute != "arn":
            return None
        return {
            "aws_s3_bucket": lambda: f"arn:aws:s3:::{config.get('bucket')}",
            "aws_kms_key": lambda: f"arn:aws:kms:{self.region}:{ACCOUNT}:{KEY_ARN_SUFFIX}",
            "aws_dynamodb_table": lambda: f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{config.get('name')}",
            "aws_iam_policy": lambda: f"arn:aws:iam::{ACCOUNT}:policy/{config.get('name')}",
            "aws_iam_role": lambda: f"arn:aws:iam::{ACCOUNT}:role/{config.get('name')}",
            "aws_iam_openid_connect_provider": lambda: f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
        }.get(tf_type, lambda: None)()

    def document(self, reference: str) -> list[dict]:
        name = reference.removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
        return self.documents[name]

    def policy(self, policy_name: str) -> list[dict]:
        (policy,) = [p for p in resources(self.stack, "aws_iam_policy").values() if p["name"] == policy_name]
        return self.document(policy["policy"])

    def role(self, role_name: str) -> dict:
        (role_id, role), = [(k, r) for k, r in resources(self.stack, "aws_iam_role").items() if r["name"] == role_name]
        inline = [p for p in resources(self.stack, "aws_iam_role_policy").values() if role_id in p["role"]]
        policies = resources(self.stack, "aws_iam_policy")
        attached = [policies[a["policy_arn"].split(".")[1]]
                    for a in resources(self.stack, "aws_iam_role_policy_attachment").values()
                    if a["role"].startswith(f"${{aws_iam_role.{role_id}.") and a["policy_arn"].startswith("${aws_iam_policy.")]
        return {
            "config": role,
            # Identity policies: inline and attached customer-managed ones.
            "inline": [s for p in inline + attached for s in self.document(p["policy"])],
            "trust": self.document(role["assume_role_policy"]),
            "boundary_arn": resolve_references(_arn_fields(role.get("permissions_boundary", "")), self._resolve),
        }


@pytest.fixture(scope="module")
def ci(project) -> View:
    backend = dataclasses.replace(project.backend, github_repository=REPO)
    stack = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=backend, environments=project.environments)))
    return View(stack, project.backend.aws_region)


@pytest.fixture(scope="module")
def environments(project):
    return {env.stack_name: env for env in project.environments}


def _workload_boundary_arn(prefix: str = "litellm") -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{workload_boundary_name(prefix)}"


def _ci_boundary(ci: View, project) -> list[dict]:
    return ci.policy(f"{project.backend.ci_role_name_prefix}-boundary")


def _deploy(ci: View, project, env: str) -> dict:
    return ci.role(deploy_role_name(project.backend.ci_role_name_prefix, env))


def _plan(ci: View, project, env: str) -> dict:
    return ci.role(plan_role_name(project.backend.ci_role_name_prefix, env))


def _context(env: str, region: str, **extra) -> dict:
    """A request made by a role of ``env`` (CI roles and workload roles carry the tag)."""
    return {"aws:PrincipalTag/Environment": env, "aws:RequestedRegion": region, **extra}


# --- the boundary condition on every statement that writes roles --------------------------------

POLICY_WRITES = ("iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
                 "iam:DeletePolicyVersion", "iam:DeleteRolePermissionsBoundary")


def test_every_statement_that_writes_roles_requires_the_workload_boundary(ci, project, environments):
    documents = {"CI boundary": _ci_boundary(ci, project)}
    for env in environments:
        documents[f"{env} deploy role"] = _deploy(ci, project, env)["inline"]
    conditioned = 0
    for label, statements in documents.items():
        for statement in statements:
            if statement.get("effect", "Allow") != "Allow":
                continue
            actions = statement["actions"]
            for action in POLICY_WRITES:
                assert not any(_action_matches(action, a) for a in actions), (label, statement.get("sid"), action)
            if not any(_action_matches(w, a) for w in IAM_BOUNDED_ROLE_WRITES for a in actions):
                continue
            conditions = [c for c in statement.get("condition", []) if c["variable"] == "iam:PermissionsBoundary"]
            assert [c["test"] for c in conditions] == ["StringEquals"], (label, statement.get("sid"))
            assert set(conditions[0]["values"]) <= {_workload_boundary_arn()}, (label, statement.get("sid"))
            conditioned += 1
    assert conditioned >= len(documents)  # the role writes exist, and each carries the condition


def test_the_workload_boundary_allows_no_iam_but_passing_to_the_scheduler(ci):
    boundary = ci.policy(workload_boundary_name("litellm"))
    for statement in boundary:
        if statement.get("effect", "Allow") == "Allow":
            assert all(not a.startswith("iam:") or a == "iam:PassRole" for a in statement["actions"]), statement


# --- every role carries a boundary --------------------------------------------------------------

@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_every_role_of_the_environment_stacks_carries_the_workload_boundary(stack_json, project, stack_name):
    stack = stack_json(stack_name)
    view = View(stack, project.environment(stack_name).aws_region)
    roles = resources(stack, "aws_iam_role")
    assert roles
    for role in roles.values():
        assert view.role(role["name"])["boundary_arn"] == _workload_boundary_arn(), role["name"]


def test_every_role_of_the_bootstrap_stack_carries_a_boundary(ci, project):
    roles = resources(ci.stack, "aws_iam_role")
    assert len(roles) == 2 * len(project.environments)
    for role in roles.values():
        assert ci.role(role["name"])["boundary_arn"] == f"arn:aws:iam::{ACCOUNT}:policy/{project.backend.ci_role_name_prefix}-boundary"


# --- environments are fenced from each other ---------------------------------------------------

def _foreign_requests(other: str, region: str, bucket_arn: str, state_key: str) -> list[Request]:
    tagged = {"aws:ResourceTag/Environment": other}
    arn = lambda service, rest: f"arn:aws:{service}:{region}:{ACCOUNT}:{rest}"  # noqa: E731
    return [
        Request("lambda:UpdateFunctionCode", arn("lambda", f"function:litellm-{other}-manual-control"), tagged),
        Request("rds:ModifyDBInstance", arn("rds", f"db:litellm-{other}-postgres"), tagged),
        Request("kms:ScheduleKeyDeletion", arn("kms", KEY_ARN_SUFFIX), tagged),
        Request("kms:PutKeyPolicy", arn("kms", KEY_ARN_SUFFIX), tagged),
        Request("ecs:ExecuteCommand", arn("ecs", f"cluster/litellm-{other}-cluster"), tagged),
        Request("logs:DeleteLogGroup", arn("logs", f"log-group:/ecs/litellm-{other}/litellm"), tagged),
        Request("secretsmanager:GetSecretValue", arn("secretsmanager", f"secret:litellm-{other}/litellm-master-key-AbCdEf"), tagged),
        Request("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:rds!db-0000-AbCdEf"), {}),
        Request("ec2:TerminateInstances", arn("ec2", "instance/i-0123456789abcdef0"), tagged),
        Request("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/litellm-{other}-litellm-task",
                {"iam:PermissionsBoundary": _workload_boundary_arn()}),
        Request("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/litellm-{other}-litellm-task", {}),
        Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/litellm-{other}-litellm-task",
                {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        Request("s3:GetObject", f"{bucket_arn}/{state_key}", {}),
        Request("s3:PutObject", f"{bucket_arn}/{state_key}", {}),
        Request("s3:GetObject", f"{bucket_arn}/{state_key.rsplit('/', 1)[0]}/plans/1-1.tgz", {}),
        Request("s3:DeleteObject", f"{bucket_arn}/{state_key}", {}),
    ]


def _state_bucket_arn(ci: View) -> str:
    (bucket,) = resources(ci.stack, "aws_s3_bucket").values()
    return f"arn:aws:s3:::{bucket['bucket']}"


def test_no_ci_role_of_one_environment_touches_another_environment(ci, project, environments):
    boundary = _ci_boundary(ci, project)
    bucket = _state_bucket_arn(ci)
    for own, env in environments.items():
        for other in environments:
            if other == own:
                continue
            for role in (_deploy(ci, project, own), _plan(ci, project, own)):
                for request in _foreign_requests(other, env.aws_region, bucket, project.backend.state_key(other)):
                    request.context.update(_context(own, env.aws_region))
                    assert decide(role["inline"], boundary, request) != "allow", (own, role["config"]["name"], request)


def test_each_deploy_role_does_reach_its_own_environment(ci, project, environments):
    """The control for the test above: the same requests on the role's own names are allowed
    (except what no deploy needs: reading secret values, RDS-managed secrets, foreign re-trusts)."""
    boundary = _ci_boundary(ci, project)
    bucket = _state_bucket_arn(ci)
    not_needed = {"secretsmanager:GetSecretValue", "s3:DeleteObject"}
    for own, env in environments.items():
        role = _deploy(ci, project, own)
        for request in _foreign_requests(own, env.aws_region, bucket, project.backend.state_key(own)):
            if request.action in not_needed or "rds!" in request.resource:
                continue
            request.context.update(_context(own, env.aws_region))
            assert decide(role["inline"], boundary, request) == "allow", (own, request)


def test_no_ci_role_retags_another_environments_resources(ci, project, environments):
    boundary = _ci_boundary(ci, project)
    for own, env in environments.items():
        for other in environments:
            if other != own:
                request = Request(
                    "ec2:CreateTags", f"arn:aws:ec2:{env.aws_region}:{ACCOUNT}:instance/i-0123456789abcdef0",
                    _context(own, env.aws_region, **{"aws:ResourceTag/Environment": other,
                                                     "aws:RequestTag/Environment": own}))
                assert decide(_deploy(ci, project, own)["inline"], boundary, request) == "deny"


# --- the four-call escalation -----------------------------------------------------------------

def test_the_four_call_escalation_ends_inside_the_workload_boundary(ci, project, environments):
    env = environments["dev"]
    deployer, ci_boundary = _deploy(ci, project, "dev"), _ci_boundary(ci, project)
    workload = ci.policy(workload_boundary_name("litellm"))
    new_role = f"arn:aws:iam::{ACCOUNT}:role/litellm-dev-x"
    as_deployer = lambda action, resource, **ctx: decide(  # noqa: E731
        deployer["inline"], ci_boundary, Request(action, resource, _context("dev", env.aws_region, **ctx)))

    # 1. CreateRole trusted by Lambda: only with the workload boundary attached.
    assert as_deployer("iam:CreateRole", new_role, **{"aws:RequestTag/Environment": "dev"}) != "allow"
    assert as_deployer("iam:CreateRole", new_role, **{"aws:RequestTag/Environment": "dev",
                                                        "iam:PermissionsBoundary": ADMIN_POLICY}) != "allow"
    assert as_deployer("iam:CreateRole", new_role, **{"aws:RequestTag/Environment": "dev",
                                                        "iam:PermissionsBoundary": _workload_boundary_arn()}) == "allow"
    # ...tagged as another environment, it would reach that environment's names: refused.
    assert as_deployer("iam:CreateRole", new_role, **{"aws:RequestTag/Environment": "prod",
                                                        "iam:PermissionsBoundary": _workload_boundary_arn()}) == "deny"
    # 2. The inline *:* policy is accepted (IAM cannot inspect it), but the boundary stays for good.
    assert as_deployer("iam:PutRolePolicy", new_role, **{"iam:PermissionsBoundary": _workload_boundary_arn()}) == "allow"
    assert as_deployer("iam:DeleteRolePermissionsBoundary", new_role) == "deny"
    assert as_deployer("iam:PutRolePermissionsBoundary", new_role, **{"iam:PermissionsBoundary": ADMIN_POLICY}) != "allow"
    assert as_deployer("iam:CreatePolicyVersion", _workload_boundary_arn()) != "allow"
    assert as_deployer("iam:UntagRole", new_role, **{"aws:TagKeys": ["Environment"]}) == "deny"
    # 3./4. A function runs as that role: *:* capped by the workload boundary.
    as_workload = lambda action, resource, **ctx: decide(  # noqa: E731
        EVERYTHING, workload, Request(action, resource, _context("dev", env.aws_region, **ctx)))
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreateUser",
                   "iam:CreateAccessKey", "iam:UpdateAssumeRolePolicy", "sts:AssumeRole",
                   "organizations:LeaveOrganization"):
        assert as_workload(action, "*") == "deny", action
    assert as_workload("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/litellm-dev-x",
                       **{"iam:PassedToService": "lambda.amazonaws.com"}) == "deny"
    region = env.aws_region
    for action, resource in (
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:litellm-prod/litellm-master-key-AbCdEf"),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{region}:{ACCOUNT}:function:litellm-dev-manual-control"),
        ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{region}:{ACCOUNT}:{KEY_ARN_SUFFIX}"),
        ("rds:ModifyDBInstance", f"arn:aws:rds:{region}:{ACCOUNT}:db:litellm-dev-postgres"),
        ("ecs:UpdateService", f"arn:aws:ecs:{region}:{ACCOUNT}:service/litellm-prod-cluster/litellm-prod-litellm"),
        ("s3:GetObject", f"{_state_bucket_arn(ci)}/{project.backend.state_key('dev')}"),
    ):
        assert as_workload(action, resource) != "allow", action
    # What the workloads legitimately do still works (the boundary is not a blanket deny).
    assert as_workload("secretsmanager:GetSecretValue",
                       f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:litellm-dev/litellm-master-key-AbCdEf") == "allow"
    assert as_workload("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/litellm-dev-manual-control-scheduler",
                       **{"iam:PassedToService": "scheduler.amazonaws.com"}) == "allow"


# --- the boundary keeps the workloads working --------------------------------------------------

@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_workload_boundary_allows_every_action_the_workload_roles_use(ci, stack_json, project, stack_name):
    boundary = ci.policy(workload_boundary_name("litellm"))
    view = View(stack_json(stack_name), project.environment(stack_name).aws_region)
    used = {a for role in resources(view.stack, "aws_iam_role").values()
            for s in view.role(role["name"])["inline"] if s.get("effect", "Allow") == "Allow" for a in s["actions"]}
    assert used
    for action in sorted(used):
        allowing = [s for s in boundary if s.get("effect", "Allow") == "Allow"
                    and any(_action_matches(action, a) for a in s["actions"])]
        assert allowing, f"{stack_name}: the workload boundary never allows {action}"
        unconditional_deny = [s for s in boundary if s.get("effect") == "Deny" and not s.get("condition")
                              and any(_action_matches(action, a) for a in s["actions"])]
        assert not unconditional_deny, action


def test_secrets_the_configuration_names_are_readable_by_their_environment_only(project):
    """litellm_secrets may point at secrets the project did not create; the tasks must still start,
    and another environment's roles must still not read them."""
    external = "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:team/openai-key"
    dev = dataclasses.replace(project.environment("dev"), litellm_secrets={"OPENAI_API_KEY": external})
    environments = tuple(dev if env.stack_name == "dev" else env for env in project.environments)
    stack = json.loads(Testing.synth(BootstrapStack(Testing.app(), backend=project.backend, environments=environments)))
    boundary = View(stack, project.backend.aws_region).policy(workload_boundary_name("litellm"))
    for env, expected in (("dev", "allow"), ("prod", "implicit")):
        request = Request("secretsmanager:GetSecretValue", f"{external}-AbCdEf", _context(env, "ap-southeast-1"))
        assert decide(EVERYTHING, boundary, request) == expected, env


def test_the_boundaries_fit_the_managed_policy_limit(ci, project):
    """6,144 characters (IAM stores policies without whitespace): the workload boundary renders at
    about 4,750 for the shipped environments (measured from terraform's plan)."""
    from tests.test_ci_access import _aws_json_length

    for name in (workload_boundary_name("litellm"), f"{project.backend.ci_role_name_prefix}-boundary"):
        assert _aws_json_length(ci.policy(name)) < 6_144 - 400, name
