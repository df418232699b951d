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
                 "iam:DeletePolicyVersion")


def test_every_statement_that_writes_roles_requires_the_workload_boundary(ci, project, environments):
    """...and managed policies are written only under the environment's own names (the CI
    boundary: the project's names, its Deny keeps the CI policies and the workload boundary)."""
    documents = {"CI boundary": (_ci_boundary(ci, project), "arn:aws:iam::*:policy/litellm-*")}
    for env in environments:
        documents[f"{env} deploy role"] = (_deploy(ci, project, env)["inline"], f"arn:aws:iam::*:policy/litellm-{env}-*")
    conditioned = 0
    for label, (statements, own_policies) in documents.items():
        for statement in statements:
            if statement.get("effect", "Allow") != "Allow":
                continue
            actions = statement["actions"]
            assert not any(_action_matches("iam:DeleteRolePermissionsBoundary", a) for a in actions), label
            if any(_action_matches(w, a) for w in POLICY_WRITES for a in actions):
                assert statement["resources"] == [own_policies], (label, statement.get("sid"))
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
    # A managed policy of its own names (any content) lifts nothing: it attaches only to roles
    # under the workload boundary, never to users or groups, and never becomes a boundary.
    new_policy = f"arn:aws:iam::{ACCOUNT}:policy/litellm-dev-x"
    assert as_deployer("iam:CreatePolicy", new_policy, **{"aws:RequestTag/Environment": "dev"}) == "allow"
    assert as_deployer("iam:CreatePolicyVersion", new_policy) == "allow"
    assert as_deployer("iam:CreatePolicy", f"arn:aws:iam::{ACCOUNT}:policy/litellm-prod-x") != "allow"
    ci_prefix = project.backend.ci_role_name_prefix
    for policy in (f"arn:aws:iam::{ACCOUNT}:policy/{ci_prefix}-boundary", f"arn:aws:iam::{ACCOUNT}:policy/{ci_prefix}-dev-read"):
        for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
            assert as_deployer(action, policy) == "deny", (action, policy)
    assert as_deployer("iam:AttachRolePolicy", new_role, **{"iam:PolicyARN": new_policy}) != "allow"
    assert as_deployer("iam:AttachRolePolicy", new_role, **{"iam:PolicyARN": new_policy,
                                                             "iam:PermissionsBoundary": _workload_boundary_arn()}) == "allow"
    assert as_deployer("iam:PutRolePermissionsBoundary", new_role, **{"iam:PermissionsBoundary": new_policy}) != "allow"
    assert as_deployer("iam:CreateRole", new_role, **{"aws:RequestTag/Environment": "dev",
                                                        "iam:PermissionsBoundary": new_policy}) != "allow"
    for action, resource in (("iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/someone"),
                             ("iam:AttachGroupPolicy", f"arn:aws:iam::{ACCOUNT}:group/operators")):
        assert as_deployer(action, resource, **{"iam:PolicyARN": new_policy}) == "deny", action
    assert as_deployer("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{ci_prefix}-dev-deploy",
                       **{"iam:PolicyARN": new_policy, "iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/{ci_prefix}-boundary"}) == "deny"
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


# AWS managed policies the stacks attach, as published (their actions on the resources the
# service uses): the workload boundary caps them too.
AWS_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole": [
        (action, "arn:aws:logs:{r}:{a}:log-group:RDSOSMetrics")
        for action in ("logs:CreateLogGroup", "logs:PutRetentionPolicy")
    ] + [
        (action, "arn:aws:logs:{r}:{a}:log-group:RDSOSMetrics:log-stream:db-ABCDEFGHIJKLMNOP")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents")
    ],
}


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_workload_boundary_allows_the_aws_managed_policies_the_stacks_attach(ci, stack_json, project, stack_name):
    boundary = ci.policy(workload_boundary_name("litellm"))
    region = project.environment(stack_name).aws_region
    for attachment in resources(stack_json(stack_name), "aws_iam_role_policy_attachment").values():
        policy_arn = _arn_fields(attachment["policy_arn"])
        if not policy_arn.startswith("arn:aws:iam::aws:policy/"):
            continue
        assert policy_arn in AWS_MANAGED_POLICIES, f"{policy_arn}: add its statements to AWS_MANAGED_POLICIES"
        for action, resource in AWS_MANAGED_POLICIES[policy_arn]:
            request = Request(action, resource.format(r=region, a=ACCOUNT), _context(stack_name, region))
            assert decide(EVERYTHING, boundary, request) == "allow", (policy_arn, action)


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


# --- the deploy role can deploy what the stacks contain ----------------------------------------
# Every resource type of the environment stacks -> the API calls creating (and, where simple,
# updating and deleting) it, on an ARN named the way the stack names it. Placeholders: {r} region,
# {a} account, {<field>} the resource's field, a reference resolved to the referenced resource's
# name (a call whose field the resource lacks is skipped). Context: "create" = the request tags
# with the environment (the provider's default tags), "own" = the resource carries them,
# "both" = both, "none" = neither (named resources), "bounded" = an IAM role write on a role
# carrying the workload boundary. Bootstrap is applied by an administrator, never by a deploy
# role, so none of its types belong here.
_ID = "0123456789abcdef"
_EC2 = "arn:aws:ec2:{r}:{a}:"
_API = "arn:aws:apigateway:{r}::/apis"
_LOGS = "arn:aws:logs:{r}:{a}:log-group:{name}"
_SECRET = "arn:aws:secretsmanager:{r}:{a}:secret:"
_KEY = "arn:aws:kms:{r}:{a}:" + KEY_ARN_SUFFIX
_LB = "arn:aws:elasticloadbalancing:{r}:{a}:"
_WEB_ACL = "arn:aws:wafv2:{r}:{a}:regional/webacl/"
_BUCKET = "arn:aws:s3:::{bucket}"
_S3_BUCKET_WRITES = {
    "aws_s3_bucket_lifecycle_configuration": "s3:PutLifecycleConfiguration",
    "aws_s3_bucket_logging": "s3:PutBucketLogging",
    "aws_s3_bucket_notification": "s3:PutBucketNotification",
    "aws_s3_bucket_ownership_controls": "s3:PutBucketOwnershipControls",
    "aws_s3_bucket_policy": "s3:PutBucketPolicy",
    "aws_s3_bucket_public_access_block": "s3:PutBucketPublicAccessBlock",
    "aws_s3_bucket_server_side_encryption_configuration": "s3:PutEncryptionConfiguration",
    "aws_s3_bucket_versioning": "s3:PutBucketVersioning",
}
DEPLOY_CALLS: dict[str, list[tuple[str, str, str]]] = {
    "aws_apigatewayv2_api": [("apigateway:POST", _API, "create"), ("apigateway:PATCH", f"{_API}/a1b2c3", "own"),
                             ("apigateway:DELETE", f"{_API}/a1b2c3", "own")],
    "aws_apigatewayv2_integration": [("apigateway:POST", f"{_API}/a1b2c3/integrations", "none"),
                                     ("apigateway:DELETE", f"{_API}/a1b2c3/integrations/x1y2z3", "none")],
    "aws_apigatewayv2_route": [("apigateway:POST", f"{_API}/a1b2c3/routes", "none"),
                               ("apigateway:DELETE", f"{_API}/a1b2c3/routes/x1y2z3", "none")],
    "aws_apigatewayv2_stage": [("apigateway:POST", f"{_API}/a1b2c3/stages", "create"),
                               ("apigateway:DELETE", f"{_API}/a1b2c3/stages/{{name}}", "own")],
    "aws_appautoscaling_target": [
        ("application-autoscaling:RegisterScalableTarget", "arn:aws:application-autoscaling:{r}:{a}:scalable-target/0a1b2c", "create"),
        ("application-autoscaling:DeregisterScalableTarget", "arn:aws:application-autoscaling:{r}:{a}:scalable-target/0a1b2c", "own")],
    "aws_appautoscaling_policy": [
        ("application-autoscaling:PutScalingPolicy", "arn:aws:application-autoscaling:{r}:{a}:scalable-target/0a1b2c", "own"),
        ("application-autoscaling:DeleteScalingPolicy", "arn:aws:application-autoscaling:{r}:{a}:scalable-target/0a1b2c", "own")],
    "aws_cloudwatch_event_rule": [("events:PutRule", "arn:aws:events:{r}:{a}:rule/{name}", "create"),
                                  ("events:DeleteRule", "arn:aws:events:{r}:{a}:rule/{name}", "own")],
    "aws_cloudwatch_event_target": [("events:PutTargets", "arn:aws:events:{r}:{a}:rule/{rule}", "own"),
                                    ("events:RemoveTargets", "arn:aws:events:{r}:{a}:rule/{rule}", "own")],
    "aws_cloudwatch_log_group": [("logs:CreateLogGroup", _LOGS, "create"),
                                 ("logs:PutRetentionPolicy", _LOGS + ":*", "own"),
                                 ("logs:DeleteLogGroup", _LOGS + ":*", "own")],
    "aws_cloudwatch_metric_alarm": [("cloudwatch:PutMetricAlarm", "arn:aws:cloudwatch:{r}:{a}:alarm:{alarm_name}", "create"),
                                    ("cloudwatch:DeleteAlarms", "arn:aws:cloudwatch:{r}:{a}:alarm:{alarm_name}", "own")],
    "aws_db_instance": [("rds:CreateDBInstance", "arn:aws:rds:{r}:{a}:db:{identifier}", "create"),
                        ("rds:CreateDBInstance", "arn:aws:rds:{r}:{a}:subgrp:{db_subnet_group_name}", "both"),
                        ("rds:CreateDBInstance", "arn:aws:rds:{r}:{a}:pg:{parameter_group_name}", "both"),
                        ("rds:ModifyDBInstance", "arn:aws:rds:{r}:{a}:db:{identifier}", "own"),
                        ("rds:DeleteDBInstance", "arn:aws:rds:{r}:{a}:db:{identifier}", "own"),
                        ("rds:CreateDBSnapshot", "arn:aws:rds:{r}:{a}:snapshot:{final_snapshot_identifier}", "none")],
    "aws_db_parameter_group": [("rds:CreateDBParameterGroup", "arn:aws:rds:{r}:{a}:pg:{name}", "create"),
                               ("rds:ModifyDBParameterGroup", "arn:aws:rds:{r}:{a}:pg:{name}", "own"),
                               ("rds:DeleteDBParameterGroup", "arn:aws:rds:{r}:{a}:pg:{name}", "own")],
    "aws_db_subnet_group": [("rds:CreateDBSubnetGroup", "arn:aws:rds:{r}:{a}:subgrp:{name}", "create"),
                            ("rds:DeleteDBSubnetGroup", "arn:aws:rds:{r}:{a}:subgrp:{name}", "own")],
    # Adopts the VPC's default group: tags it, then revokes its rules.
    "aws_default_security_group": [("ec2:CreateTags", _EC2 + "security-group/sg-0default", "create"),
                                   ("ec2:RevokeSecurityGroupIngress", _EC2 + "security-group/sg-0default", "own"),
                                   ("ec2:RevokeSecurityGroupEgress", _EC2 + "security-group/sg-0default", "own")],
    "aws_ecr_repository": [("ecr:CreateRepository", "arn:aws:ecr:{r}:{a}:repository/{name}", "create"),
                           # With the environment key: ECR checks it and takes a grant on it.
                           ("kms:DescribeKey", _KEY, "own"), ("kms:CreateGrant", _KEY, "own"),
                           ("kms:RetireGrant", _KEY, "own"),
                           ("ecr:DeleteRepository", "arn:aws:ecr:{r}:{a}:repository/{name}", "own")],
    "aws_ecr_lifecycle_policy": [("ecr:PutLifecyclePolicy", "arn:aws:ecr:{r}:{a}:repository/{repository}", "own"),
                                 ("ecr:DeleteLifecyclePolicy", "arn:aws:ecr:{r}:{a}:repository/{repository}", "own")],
    "aws_ecs_cluster": [("ecs:CreateCluster", "arn:aws:ecs:{r}:{a}:cluster/{name}", "create"),
                        ("ecs:DeleteCluster", "arn:aws:ecs:{r}:{a}:cluster/{name}", "own")],
    "aws_ecs_cluster_capacity_providers": [
        ("ecs:PutClusterCapacityProviders", "arn:aws:ecs:{r}:{a}:cluster/{cluster_name}", "own")],
    "aws_ecs_service": [("ecs:CreateService", "arn:aws:ecs:{r}:{a}:service/{cluster}/{name}", "create"),
                        ("ecs:UpdateService", "arn:aws:ecs:{r}:{a}:service/{cluster}/{name}", "own"),
                        ("ecs:DeleteService", "arn:aws:ecs:{r}:{a}:service/{cluster}/{name}", "own")],
    "aws_ecs_task_definition": [("ecs:RegisterTaskDefinition", "*", "create"),
                                ("ecs:DeregisterTaskDefinition", "*", "none")],
    "aws_eip": [("ec2:AllocateAddress", _EC2 + "elastic-ip/*", "create"),
                ("ec2:ReleaseAddress", _EC2 + f"elastic-ip/eipalloc-{_ID}", "own")],
    "aws_elasticache_parameter_group": [
        ("elasticache:CreateCacheParameterGroup", "arn:aws:elasticache:{r}:{a}:parametergroup:{name}", "create"),
        ("elasticache:ModifyCacheParameterGroup", "arn:aws:elasticache:{r}:{a}:parametergroup:{name}", "own"),
        ("elasticache:DeleteCacheParameterGroup", "arn:aws:elasticache:{r}:{a}:parametergroup:{name}", "own")],
    "aws_elasticache_replication_group": [
        ("elasticache:CreateReplicationGroup", "arn:aws:elasticache:{r}:{a}:replicationgroup:{replication_group_id}", "create"),
        ("elasticache:CreateReplicationGroup", "arn:aws:elasticache:{r}:{a}:subnetgroup:{subnet_group_name}", "both"),
        ("elasticache:CreateReplicationGroup", "arn:aws:elasticache:{r}:{a}:parametergroup:{parameter_group_name}", "both"),
        ("elasticache:ModifyReplicationGroup", "arn:aws:elasticache:{r}:{a}:replicationgroup:{replication_group_id}", "own"),
        ("elasticache:DeleteReplicationGroup", "arn:aws:elasticache:{r}:{a}:replicationgroup:{replication_group_id}", "own"),
        # The final snapshot of a delete (random_id suffix) is created untagged.
        ("elasticache:CreateSnapshot", "arn:aws:elasticache:{r}:{a}:snapshot:{final_snapshot_identifier}", "none")],
    "aws_elasticache_subnet_group": [
        ("elasticache:CreateCacheSubnetGroup", "arn:aws:elasticache:{r}:{a}:subnetgroup:{name}", "create"),
        ("elasticache:DeleteCacheSubnetGroup", "arn:aws:elasticache:{r}:{a}:subnetgroup:{name}", "own")],
    "aws_flow_log": [("ec2:CreateFlowLogs", _EC2 + "vpc-flow-log/*", "create"),
                     ("ec2:CreateFlowLogs", _EC2 + f"vpc/vpc-{_ID}", "both"),
                     ("ec2:DeleteFlowLogs", _EC2 + f"vpc-flow-log/fl-{_ID}", "own")],
    "aws_iam_instance_profile": [
        ("iam:CreateInstanceProfile", "arn:aws:iam::{a}:instance-profile/{name}", "create"),
        ("iam:AddRoleToInstanceProfile", "arn:aws:iam::{a}:instance-profile/{name}", "none"),
        ("iam:DeleteInstanceProfile", "arn:aws:iam::{a}:instance-profile/{name}", "none")],
    "aws_iam_policy": [("iam:CreatePolicy", "arn:aws:iam::{a}:policy/{name}", "create"),
                       ("iam:TagPolicy", "arn:aws:iam::{a}:policy/{name}", "create"),
                       ("iam:CreatePolicyVersion", "arn:aws:iam::{a}:policy/{name}", "none"),
                       ("iam:DeletePolicyVersion", "arn:aws:iam::{a}:policy/{name}", "none"),
                       ("iam:DeletePolicy", "arn:aws:iam::{a}:policy/{name}", "none")],
    "aws_iam_role": [("iam:CreateRole", "arn:aws:iam::{a}:role/{name}", "bounded"),
                     ("iam:TagRole", "arn:aws:iam::{a}:role/{name}", "create"),
                     ("iam:UpdateAssumeRolePolicy", "arn:aws:iam::{a}:role/{name}", "none"),
                     ("iam:DeleteRole", "arn:aws:iam::{a}:role/{name}", "none")],
    "aws_iam_role_policy": [("iam:PutRolePolicy", "arn:aws:iam::{a}:role/{role}", "bounded"),
                            ("iam:DeleteRolePolicy", "arn:aws:iam::{a}:role/{role}", "bounded")],
    "aws_iam_role_policy_attachment": [("iam:AttachRolePolicy", "arn:aws:iam::{a}:role/{role}", "bounded"),
                                       ("iam:DetachRolePolicy", "arn:aws:iam::{a}:role/{role}", "bounded")],
    "aws_instance": [("ec2:RunInstances", _EC2 + "instance/*", "create"),
                     ("ec2:RunInstances", _EC2 + f"launch-template/lt-{_ID}", "both"),
                     ("ec2:TerminateInstances", _EC2 + f"instance/i-{_ID}", "own")],
    "aws_internet_gateway": [("ec2:CreateInternetGateway", _EC2 + "internet-gateway/*", "create"),
                             ("ec2:AttachInternetGateway", _EC2 + f"internet-gateway/igw-{_ID}", "own"),
                             ("ec2:DeleteInternetGateway", _EC2 + f"internet-gateway/igw-{_ID}", "own")],
    "aws_kms_key": [("kms:CreateKey", "*", "create"), ("kms:EnableKeyRotation", _KEY, "own"),
                    ("kms:ScheduleKeyDeletion", _KEY, "own")],
    "aws_kms_key_policy": [("kms:PutKeyPolicy", _KEY, "own")],
    "aws_kms_alias": [("kms:CreateAlias", "arn:aws:kms:{r}:{a}:{name}", "none"), ("kms:CreateAlias", _KEY, "own"),
                      ("kms:DeleteAlias", "arn:aws:kms:{r}:{a}:{name}", "none")],
    "aws_lambda_function": [("lambda:CreateFunction", "arn:aws:lambda:{r}:{a}:function:{function_name}", "create"),
                            ("lambda:UpdateFunctionConfiguration", "arn:aws:lambda:{r}:{a}:function:{function_name}", "own"),
                            ("lambda:DeleteFunction", "arn:aws:lambda:{r}:{a}:function:{function_name}", "own")],
    "aws_lambda_permission": [("lambda:AddPermission", "arn:aws:lambda:{r}:{a}:function:{function_name}", "own"),
                              ("lambda:RemovePermission", "arn:aws:lambda:{r}:{a}:function:{function_name}", "own")],
    "aws_launch_template": [("ec2:CreateLaunchTemplate", _EC2 + "launch-template/*", "create"),
                            ("ec2:CreateLaunchTemplateVersion", _EC2 + f"launch-template/lt-{_ID}", "own"),
                            ("ec2:DeleteLaunchTemplate", _EC2 + f"launch-template/lt-{_ID}", "own")],
    "aws_lb": [("elasticloadbalancing:CreateLoadBalancer", _LB + f"loadbalancer/app/{{name}}/{_ID}", "create"),
               ("elasticloadbalancing:ModifyLoadBalancerAttributes", _LB + f"loadbalancer/app/{{name}}/{_ID}", "own"),
               ("elasticloadbalancing:DeleteLoadBalancer", _LB + f"loadbalancer/app/{{name}}/{_ID}", "own")],
    "aws_lb_listener": [
        ("elasticloadbalancing:CreateListener", _LB + f"loadbalancer/app/{{load_balancer_arn}}/{_ID}", "both"),
        ("elasticloadbalancing:AddTags", _LB + f"listener/app/{{load_balancer_arn}}/{_ID}/{_ID}", "create"),
        ("elasticloadbalancing:ModifyListener", _LB + f"listener/app/{{load_balancer_arn}}/{_ID}/{_ID}", "own"),
        ("elasticloadbalancing:DeleteListener", _LB + f"listener/app/{{load_balancer_arn}}/{_ID}/{_ID}", "own")],
    "aws_lb_listener_rule": [
        ("elasticloadbalancing:CreateRule", _LB + f"listener/app/{{listener_arn}}/{_ID}/{_ID}", "both"),
        ("elasticloadbalancing:AddTags", _LB + f"listener-rule/app/{{listener_arn}}/{_ID}/{_ID}/{_ID}", "create"),
        ("elasticloadbalancing:ModifyRule", _LB + f"listener-rule/app/{{listener_arn}}/{_ID}/{_ID}/{_ID}", "own"),
        ("elasticloadbalancing:DeleteRule", _LB + f"listener-rule/app/{{listener_arn}}/{_ID}/{_ID}/{_ID}", "own")],
    "aws_lb_target_group": [
        ("elasticloadbalancing:CreateTargetGroup", _LB + f"targetgroup/{{name}}/{_ID}", "create"),
        ("elasticloadbalancing:ModifyTargetGroupAttributes", _LB + f"targetgroup/{{name}}/{_ID}", "own"),
        ("elasticloadbalancing:DeleteTargetGroup", _LB + f"targetgroup/{{name}}/{_ID}", "own")],
    "aws_nat_gateway": [("ec2:CreateNatGateway", _EC2 + "natgateway/*", "create"),
                        ("ec2:CreateNatGateway", _EC2 + f"subnet/subnet-{_ID}", "both"),
                        ("ec2:DeleteNatGateway", _EC2 + f"natgateway/nat-{_ID}", "own")],
    "aws_resourcegroups_group": [("resource-groups:CreateGroup", "arn:aws:resource-groups:{r}:{a}:group/{name}", "create"),
                                 ("resource-groups:DeleteGroup", "arn:aws:resource-groups:{r}:{a}:group/{name}", "own")],
    "aws_route": [("ec2:CreateRoute", _EC2 + f"route-table/rtb-{_ID}", "own"),
                  ("ec2:DeleteRoute", _EC2 + f"route-table/rtb-{_ID}", "own")],
    "aws_route_table": [("ec2:CreateRouteTable", _EC2 + "route-table/*", "create"),
                        ("ec2:CreateRouteTable", _EC2 + f"vpc/vpc-{_ID}", "both"),
                        ("ec2:DeleteRouteTable", _EC2 + f"route-table/rtb-{_ID}", "own")],
    "aws_route_table_association": [("ec2:AssociateRouteTable", _EC2 + f"route-table/rtb-{_ID}", "own"),
                                    ("ec2:AssociateRouteTable", _EC2 + f"subnet/subnet-{_ID}", "own"),
                                    ("ec2:DisassociateRouteTable", _EC2 + f"route-table/rtb-{_ID}", "own")],
    "aws_s3_bucket": [("s3:CreateBucket", _BUCKET, "none"), ("s3:PutBucketTagging", _BUCKET, "none"),
                      ("s3:DeleteBucket", _BUCKET, "none")],
    **{tf_type: [(action, _BUCKET, "none")] for tf_type, action in _S3_BUCKET_WRITES.items()},
    "aws_s3_object": [("s3:PutObject", _BUCKET + "/{key}", "none"), ("s3:DeleteObject", _BUCKET + "/{key}", "none"),
                      # Into a bucket encrypted with the environment key.
                      ("kms:GenerateDataKey", _KEY, "own")],
    "aws_scheduler_schedule_group": [
        ("scheduler:CreateScheduleGroup", "arn:aws:scheduler:{r}:{a}:schedule-group/{name}", "create"),
        ("scheduler:DeleteScheduleGroup", "arn:aws:scheduler:{r}:{a}:schedule-group/{name}", "own")],
    # Schedules carry no tags: named.
    "aws_scheduler_schedule": [
        ("scheduler:CreateSchedule", "arn:aws:scheduler:{r}:{a}:schedule/{group_name}/{name}", "none"),
        ("scheduler:UpdateSchedule", "arn:aws:scheduler:{r}:{a}:schedule/{group_name}/{name}", "none"),
        ("scheduler:DeleteSchedule", "arn:aws:scheduler:{r}:{a}:schedule/{group_name}/{name}", "none")],
    "aws_secretsmanager_secret": [("secretsmanager:CreateSecret", _SECRET + "{name}-AbCdEf", "create"),
                                  ("secretsmanager:TagResource", _SECRET + "{name}-AbCdEf", "create"),
                                  ("secretsmanager:DeleteSecret", _SECRET + "{name}-AbCdEf", "own")],
    # Write-only versions: PutSecretValue on create and on each _wo_version change.
    "aws_secretsmanager_secret_version": [("secretsmanager:PutSecretValue", _SECRET + "{secret_id}-AbCdEf", "own"),
                                          ("secretsmanager:UpdateSecretVersionStage", _SECRET + "{secret_id}-AbCdEf", "own")],
    "aws_security_group": [("ec2:CreateSecurityGroup", _EC2 + "security-group/*", "create"),
                           ("ec2:CreateSecurityGroup", _EC2 + f"vpc/vpc-{_ID}", "both"),
                           ("ec2:DeleteSecurityGroup", _EC2 + f"security-group/sg-{_ID}", "own")],
    "aws_sns_topic": [("sns:CreateTopic", "arn:aws:sns:{r}:{a}:{name}", "create"),
                      ("sns:SetTopicAttributes", "arn:aws:sns:{r}:{a}:{name}", "own"),
                      ("sns:DeleteTopic", "arn:aws:sns:{r}:{a}:{name}", "own")],
    "aws_sns_topic_policy": [("sns:SetTopicAttributes", "arn:aws:sns:{r}:{a}:{arn}", "own")],
    "aws_sns_topic_subscription": [("sns:Subscribe", "arn:aws:sns:{r}:{a}:{topic_arn}", "own")],
    "aws_sqs_queue": [("sqs:CreateQueue", "arn:aws:sqs:{r}:{a}:{name}", "create"),
                      ("sqs:TagQueue", "arn:aws:sqs:{r}:{a}:{name}", "create"),
                      ("sqs:SetQueueAttributes", "arn:aws:sqs:{r}:{a}:{name}", "own"),
                      ("sqs:DeleteQueue", "arn:aws:sqs:{r}:{a}:{name}", "own")],
    "aws_ssm_parameter": [("ssm:PutParameter", "arn:aws:ssm:{r}:{a}:parameter{name}", "create"),
                          ("ssm:DeleteParameter", "arn:aws:ssm:{r}:{a}:parameter{name}", "own")],
    "aws_subnet": [("ec2:CreateSubnet", _EC2 + "subnet/*", "create"), ("ec2:CreateSubnet", _EC2 + f"vpc/vpc-{_ID}", "both"),
                   ("ec2:ModifySubnetAttribute", _EC2 + f"subnet/subnet-{_ID}", "own"),
                   ("ec2:DeleteSubnet", _EC2 + f"subnet/subnet-{_ID}", "own")],
    "aws_vpc": [("ec2:CreateVpc", _EC2 + "vpc/*", "create"), ("ec2:ModifyVpcAttribute", _EC2 + f"vpc/vpc-{_ID}", "own"),
                ("ec2:DeleteVpc", _EC2 + f"vpc/vpc-{_ID}", "own")],
    "aws_vpc_endpoint": [("ec2:CreateVpcEndpoint", _EC2 + "vpc-endpoint/*", "create"),
                         ("ec2:CreateVpcEndpoint", _EC2 + f"vpc/vpc-{_ID}", "both"),
                         ("ec2:CreateVpcEndpoint", _EC2 + f"route-table/rtb-{_ID}", "both"),
                         ("ec2:DeleteVpcEndpoints", _EC2 + f"vpc-endpoint/vpce-{_ID}", "own")],
    "aws_vpc_security_group_egress_rule": [
        ("ec2:AuthorizeSecurityGroupEgress", _EC2 + f"security-group/sg-{_ID}", "both"),
        ("ec2:AuthorizeSecurityGroupEgress", _EC2 + "security-group-rule/*", "create"),
        ("ec2:RevokeSecurityGroupEgress", _EC2 + f"security-group/sg-{_ID}", "own")],
    "aws_vpc_security_group_ingress_rule": [
        ("ec2:AuthorizeSecurityGroupIngress", _EC2 + f"security-group/sg-{_ID}", "both"),
        ("ec2:AuthorizeSecurityGroupIngress", _EC2 + "security-group-rule/*", "create"),
        ("ec2:RevokeSecurityGroupIngress", _EC2 + f"security-group/sg-{_ID}", "own")],
    "aws_wafv2_web_acl": [("wafv2:CreateWebACL", _WEB_ACL + f"{{name}}/{_ID}", "create"),
                          ("wafv2:UpdateWebACL", _WEB_ACL + f"{{name}}/{_ID}", "own"),
                          ("wafv2:DeleteWebACL", _WEB_ACL + f"{{name}}/{_ID}", "own")],
    "aws_wafv2_web_acl_association": [
        ("wafv2:AssociateWebACL", _WEB_ACL + f"{{web_acl_arn}}/{_ID}", "own"),
        ("wafv2:AssociateWebACL", _LB + f"loadbalancer/app/{{resource_arn}}/{_ID}", "own"),
        ("elasticloadbalancing:SetWebAcl", _LB + f"loadbalancer/app/{{resource_arn}}/{_ID}", "own"),
        ("wafv2:DisassociateWebACL", _LB + f"loadbalancer/app/{{resource_arn}}/{_ID}", "own")],
    # WAF delivers to CloudWatch Logs through a log delivery and the logs resource policy.
    "aws_wafv2_web_acl_logging_configuration": [
        ("wafv2:PutLoggingConfiguration", _WEB_ACL + f"{{resource_arn}}/{_ID}", "own"),
        ("logs:CreateLogDelivery", "*", "none"), ("logs:PutResourcePolicy", "*", "none"),
        ("wafv2:DeleteLoggingConfiguration", _WEB_ACL + f"{{resource_arn}}/{_ID}", "own")],
    # Ephemeral resources of the HCL child modules (core/ephemeral.py): evaluated on each run.
    "ephemeral.aws_secretsmanager_random_password": [("secretsmanager:GetRandomPassword", "*", "none")],
}
# Types computed by Terraform itself or from the configuration: no API call.
NO_API_CALL = frozenset({
    "data.aws_iam_policy_document", "data.aws_partition", "random_id", "random_password", "terraform_data",
})
_NAME_FIELDS = ("name", "function_name", "identifier", "replication_group_id", "alarm_name", "bucket",
                "load_balancer_arn", "listener_arn")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_MODULE_BLOCK = re.compile(r'^(resource|data|ephemeral)\s+"([a-z0-9_]+)"', re.MULTILINE)


def _name_of(stack: dict, value):
    """A field's value with each reference replaced by the referenced resource's name."""
    def resolve(tf_type: str, logical_id: str, attribute: str) -> str | None:
        config = stack.get("resource", {}).get(tf_type, {}).get(logical_id)
        if config is None:
            return None
        if tf_type == "random_id":
            return "0a1b2c3d"
        if "bucket_prefix" in config:
            return f"{config['bucket_prefix']}20261202000000"
        return next((_name_of(stack, config[f]) for f in _NAME_FIELDS if f in config), None)
    return resolve_references(value, resolve)


def _stack_types(stack: dict, stack_dir) -> dict[str, list[dict]]:
    """Type -> configs of every resource, data source and module-internal block of the stack."""
    types: dict[str, list[dict]] = {}
    for tf_type, items in stack.get("resource", {}).items():
        types.setdefault(tf_type, []).extend(items.values())
    for tf_type in stack.get("data", {}):
        types.setdefault(f"data.{tf_type}", [])
    for call in stack.get("module", {}).values():
        sources = sorted((stack_dir / call["source"]).glob("*.tf"))
        assert sources, f"module source {call['source']} not found next to the stack"
        for path in sources:
            for kind, tf_type in _MODULE_BLOCK.findall(path.read_text()):
                types.setdefault(tf_type if kind == "resource" else f"{kind}.{tf_type}", []).append({})
    return types


def _deploy_requests(stack: dict, stack_dir, env: str, region: str) -> list[tuple[str, Request]]:
    requests = []
    for tf_type, configs in sorted(_stack_types(stack, stack_dir).items()):
        if tf_type in NO_API_CALL:
            continue
        assert tf_type in DEPLOY_CALLS, f"{tf_type}: add its API calls to DEPLOY_CALLS (or to NO_API_CALL)"
        for config in configs:
            for action, template, mode in DEPLOY_CALLS[tf_type]:
                fields = {"r": region, "a": ACCOUNT}
                missing = False
                for field in _PLACEHOLDER.findall(template):
                    if field not in fields:
                        if field not in config:
                            missing = True
                            break
                        fields[field] = _name_of(stack, config[field])
                if missing:
                    continue
                resource = _PLACEHOLDER.sub(lambda m: str(fields[m.group(1)]), template)
                context = _context(env, region)
                if mode in ("create", "both", "bounded"):
                    context["aws:RequestTag/Environment"] = env
                    context["aws:TagKeys"] = ["Environment", "Project", "ManagedBy", "CostCenter", "Name"]
                if mode in ("own", "both"):
                    context["aws:ResourceTag/Environment"] = env
                if mode == "bounded":
                    context["iam:PermissionsBoundary"] = _workload_boundary_arn()
                requests.append((tf_type, Request(action, resource, context)))
    return requests


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_deploy_role_may_create_update_and_delete_every_resource_of_its_stack(
        ci, project, stack_json, synth_outdir, stack_name):
    """Issue 14's other half: the fence must not stop the deploy itself. A type the table does
    not know fails the test, so a new resource type is a conscious decision here."""
    env = project.environment(stack_name)
    role, boundary = _deploy(ci, project, stack_name), _ci_boundary(ci, project)
    stack = stack_json(stack_name)
    requests = _deploy_requests(stack, synth_outdir / "stacks" / stack_name, stack_name, env.aws_region)
    assert len({tf_type for tf_type, _ in requests}) > 30
    refused = sorted({f"{tf_type}: {r.action} on {r.resource} -> {decide(role['inline'], boundary, r)}"
                      for tf_type, r in requests if decide(role["inline"], boundary, r) != "allow"})
    assert not refused, "\n".join(refused)


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_deploy_role_may_pass_every_role_of_its_stack_to_the_service_trusted_by_it(
        ci, project, stack_json, stack_name):
    env = project.environment(stack_name)
    role, boundary = _deploy(ci, project, stack_name), _ci_boundary(ci, project)
    view = View(stack_json(stack_name), env.aws_region)
    passes = []
    for config in resources(view.stack, "aws_iam_role").values():
        for statement in view.role(config["name"])["trust"]:
            for principal in statement.get("principals", []):
                if principal["type"] == "Service":
                    passes += [(config["name"], service) for service in principal["identifiers"]]
    assert passes
    refused = [(name, service) for name, service in passes if decide(role["inline"], boundary, Request(
        "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{name}",
        _context(stack_name, env.aws_region, **{"iam:PassedToService": service}))) != "allow"]
    assert not refused


@pytest.mark.parametrize(("stack_name", "action", "resource", "tagged"), [
    # Ephemeral resources are opened by every plan, not only by applies.
    ("dev", "secretsmanager:GetRandomPassword", "*", False),
    ("dev", "iam:GetPolicy", "arn:aws:iam::{a}:policy/litellm-dev-bastion-tunnel", False),
    ("dev", "iam:GetPolicyVersion", "arn:aws:iam::{a}:policy/litellm-dev-bastion-tunnel", False),
    ("dev", "iam:ListPolicyTags", "arn:aws:iam::{a}:policy/litellm-dev-bastion-tunnel", False),
    ("prod", "sqs:GetQueueAttributes", "arn:aws:sqs:{r}:{a}:litellm-prod-rotation-redeploy-dlq", True),
    ("prod", "sqs:ListQueueTags", "arn:aws:sqs:{r}:{a}:litellm-prod-rotation-redeploy-dlq", True),
])
def test_plan_and_deploy_roles_may_refresh_the_newer_resource_types(ci, project, stack_name, action, resource, tagged):
    region = project.environment(stack_name).aws_region
    context = _context(stack_name, region, **({"aws:ResourceTag/Environment": stack_name} if tagged else {}))
    request = Request(action, resource.format(r=region, a=ACCOUNT), context)
    for role in (_plan(ci, project, stack_name), _deploy(ci, project, stack_name)):
        assert decide(role["inline"], _ci_boundary(ci, project), request) == "allow", role["config"]["name"]
