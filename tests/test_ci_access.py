"""modules/ci_access.py: per-environment GitHub OIDC plan/deploy roles under the CI boundary.
(The cross-environment and escalation proofs over the whole bootstrap stack are in
tests/test_iam_analysis.py.)"""

from __future__ import annotations

import fnmatch
import json

import pytest
from cdktf import Testing, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.ci_access import CiAccess, CiAccessProps, CiEnvironment
from tests.helpers import data_sources, ref, resources
from tests.policy_eval import Request, decide

REPO = "acme/litellm-infra"
BUCKET_ARN = "arn:aws:s3:::acme-tf-state"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/litellm-terraform-locks"
BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/litellm-workload-boundary"
EXISTING_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def _env(name: str, production_like: bool) -> CiEnvironment:
    return CiEnvironment(
        name=name, name_prefix="litellm", resource_prefix=f"litellm-{name}", environment_tag=name,
        state_key=f"litellm/{name}/terraform.tfstate", production_like=production_like,
        workload_boundary_arn=BOUNDARY_ARN, region="eu-west-1",
    )


def _props(**overrides) -> CiAccessProps:
    values = dict(
        repository=REPO,
        deploy_branch="main",
        environments=(_env("dev", False), _env("prod", True)),
        oidc_provider_arn=None,
        role_name_prefix="litellm-ci",
        state_bucket_arn=BUCKET_ARN,
        state_kms_key_arn=KEY_ARN,
        lock_table_arn=TABLE_ARN,
        workload_boundary_arns=(BOUNDARY_ARN,),
    )
    values.update(overrides)
    return CiAccessProps(**values)


def _synth(app, name: str, props: CiAccessProps) -> dict:
    stack = TerraformStack(app, name)
    AwsProvider(stack, "aws", region="eu-west-1")
    CiAccess(stack, "ci-access", props=props)
    return json.loads(Testing.synth(stack))


@pytest.fixture(scope="module")
def stacks() -> dict[str, dict]:
    app = Testing.app()
    return {
        "created": _synth(app, "created", _props()),
        "existing": _synth(app, "existing", _props(oidc_provider_arn=EXISTING_PROVIDER, lock_table_arn=None)),
    }


@pytest.fixture(scope="module")
def created(stacks):
    return stacks["created"]


def _document(stack: dict, value: str) -> list[dict]:
    tf_type, name, attribute = ref(value.replace("${data.", "${"))
    assert (tf_type, attribute) == ("aws_iam_policy_document", "json")
    return data_sources(stack, tf_type)[name]["statement"]


def _role(stack: dict, name: str) -> dict:
    (role,) = [r for r in resources(stack, "aws_iam_role").values() if r["name"] == name]
    return role


def _inline(stack: dict, role_name: str) -> list[dict]:
    (policy,) = [p for p in resources(stack, "aws_iam_role_policy").values() if p["name"] == role_name]
    (role_id,) = [k for k, r in resources(stack, "aws_iam_role").items() if r["name"] == role_name]
    assert ref(policy["role"])[:2] == ("aws_iam_role", role_id)
    return _document(stack, policy["policy"])


def _policy(stack: dict, name: str) -> list[dict]:
    (policy,) = [p for p in resources(stack, "aws_iam_policy").values() if p["name"] == name]
    return _document(stack, policy["policy"])


def _boundary(stack: dict) -> list[dict]:
    return _policy(stack, "litellm-ci-boundary")


def _attached(stack: dict, role_name: str) -> list[dict]:
    """The managed policies attached to a role (the shared read policy)."""
    (role_id,) = [k for k, r in resources(stack, "aws_iam_role").items() if r["name"] == role_name]
    policies = resources(stack, "aws_iam_policy")
    out = []
    for attachment in resources(stack, "aws_iam_role_policy_attachment").values():
        if ref(attachment["role"])[:2] == ("aws_iam_role", role_id):
            out += _document(stack, policies[ref(attachment["policy_arn"])[1]]["policy"])
    return out


def _all(stack: dict, role_name: str) -> list[dict]:
    return _inline(stack, role_name) + _attached(stack, role_name)


def _sid(statements: list[dict], sid: str) -> dict:
    (statement,) = [s for s in statements if s.get("sid") == sid]
    return statement


def _trust(stack: dict, role_name: str) -> dict:
    (statement,) = _document(stack, _role(stack, role_name)["assume_role_policy"])
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    return statement


def _conditions(statement: dict) -> dict[str, tuple[str, list[str]]]:
    return {c["variable"]: (c["test"], c["values"]) for c in statement["condition"]}


ROLES = ("litellm-ci-dev-plan", "litellm-ci-dev-deploy", "litellm-ci-prod-plan", "litellm-ci-prod-deploy")


def test_one_plan_and_one_deploy_role_per_environment_under_the_ci_boundary(created):
    (boundary_id,) = [k for k, p in resources(created, "aws_iam_policy").items() if p["name"] == "litellm-ci-boundary"]
    assert sorted(p["name"] for p in resources(created, "aws_iam_policy").values()) == [
        "litellm-ci-boundary", "litellm-ci-dev-read", "litellm-ci-prod-read"]
    assert sorted(r["name"] for r in resources(created, "aws_iam_role").values()) == sorted(ROLES)
    for name in ROLES:
        role = _role(created, name)
        assert ref(role["permissions_boundary"]) == ("aws_iam_policy", boundary_id, "arn")
        # The boundary's DenyRetaggingOthers compares against this tag.
        assert role["tags"] == {"Environment": name.split("-")[2]}
    assert _role(created, "litellm-ci-dev-plan")["max_session_duration"] == 3600


def test_deploy_roles_trust_only_their_own_github_environment(created):
    for env in ("dev", "prod"):
        conditions = _conditions(_trust(created, f"litellm-ci-{env}-deploy"))
        assert conditions["token.actions.githubusercontent.com:aud"] == ("StringEquals", ["sts.amazonaws.com"])
        assert conditions["token.actions.githubusercontent.com:sub"] == ("StringEquals", [f"repo:{REPO}:environment:{env}"])


def test_plan_trust_standard_from_pull_requests_and_main_production_like_only_from_its_plan_environment(created):
    dev = _conditions(_trust(created, "litellm-ci-dev-plan"))["token.actions.githubusercontent.com:sub"]
    assert dev == ("StringEquals", [f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main"])
    prod = _conditions(_trust(created, "litellm-ci-prod-plan"))["token.actions.githubusercontent.com:sub"]
    assert prod == ("StringEquals", [f"repo:{REPO}:environment:prod-plan"])
    # The old plan trust, repo:<repo>:*, let any branch read prod's state.
    for name in ROLES:
        subjects = _conditions(_trust(created, name))["token.actions.githubusercontent.com:sub"][1]
        assert not any("*" in s or "?" in s for s in subjects)


def test_oidc_provider_is_created_for_github_with_the_sts_audience(created):
    (provider,) = resources(created, "aws_iam_openid_connect_provider").values()
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


def test_existing_provider_mode_creates_none_and_trusts_the_given_arn(stacks):
    stack = stacks["existing"]
    assert resources(stack, "aws_iam_openid_connect_provider") == {}
    for name in ROLES:
        assert _trust(stack, name)["principals"][0]["identifiers"] == [EXISTING_PROVIDER]


def test_no_service_wildcard_on_every_resource_without_a_tag_or_region_condition(stacks):
    """The old deploy role had lambda:*, ec2:*, kms:*, ... on "*": every team's resources."""
    for stack in stacks.values():
        for name in ROLES:
            assert _attached(stack, name)  # the read policy is part of what is checked
            for statement in _all(stack, name):
                if statement.get("effect", "Allow") != "Allow" or "*" not in statement["resources"]:
                    continue
                variables = {c["variable"] for c in statement.get("condition", [])}
                assert "aws:RequestedRegion" in variables, (name, statement["sid"])
                for action in statement["actions"]:
                    if action.endswith(":*"):
                        assert variables & {"aws:ResourceTag/Environment"}, (name, statement["sid"], action)
                    assert action not in ("*", "*:*") and not action.startswith("iam:"), (name, action)


def test_plan_roles_read_only_their_own_state_without_lock_writes_or_rds_secrets(stacks):
    for stack_name, stack in stacks.items():
        for env in ("dev", "prod"):
            plan = _inline(stack, f"litellm-ci-{env}-plan")
            for statement in _all(stack, f"litellm-ci-{env}-plan"):
                assert not any("rds!" in r for r in statement["resources"]), statement["sid"]
                for action in statement["actions"]:
                    if action in ("s3:PutObject", "s3:DeleteObject"):
                        assert statement["resources"] == [f"{BUCKET_ARN}/litellm/{env}/plans/*"], statement
                    assert action not in ("dynamodb:PutItem", "dynamodb:DeleteItem"), (stack_name, env)
            assert _sid(plan, "StateObject") == {
                "sid": "StateObject", "effect": "Allow", "actions": ["s3:GetObject"],
                "resources": [f"{BUCKET_ARN}/litellm/{env}/terraform.tfstate"],
            }
            assert _sid(plan, "StateKey")["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    # With a lock table the plan still reads the backend's state digest there.
    lock = _sid(_inline(stacks["created"], "litellm-ci-dev-plan"), "StateLockTable")
    assert lock["actions"] == ["dynamodb:GetItem"] and lock["resources"] == [TABLE_ARN]


def test_deploy_roles_write_their_own_state_and_lock(stacks):
    deploy = _inline(stacks["created"], "litellm-ci-prod-deploy")
    assert _sid(deploy, "StateObject")["resources"] == [f"{BUCKET_ARN}/litellm/prod/terraform.tfstate"]
    assert "s3:PutObject" in _sid(deploy, "StateObject")["actions"]
    lock = _sid(deploy, "StateLockTable")
    assert lock["resources"] == [TABLE_ARN]
    assert _conditions(lock)["dynamodb:LeadingKeys"] == (
        "ForAllValues:StringLike", ["*/litellm/prod/terraform.tfstate", "*/litellm/prod/terraform.tfstate-md5"])
    lockfile = _sid(_inline(stacks["existing"], "litellm-ci-prod-deploy"), "StateLockFile")
    assert lockfile["resources"] == [f"{BUCKET_ARN}/litellm/prod/terraform.tfstate.tflock"]


def test_pass_role_only_of_own_roles_to_the_stacks_services(created):
    for env in ("dev", "prod"):
        statement = _sid(_inline(created, f"litellm-ci-{env}-deploy"), "PassOwnRoles")
        assert statement["actions"] == ["iam:PassRole"]
        assert statement["resources"] == [f"arn:aws:iam::*:role/litellm-{env}-*"]
        test, services = _conditions(statement)["iam:PassedToService"]
        assert test == "StringEquals" and "ecs-tasks.amazonaws.com" in services and "*" not in "".join(services)


def _denied(statements: list[dict], action: str, resource: str, **context) -> bool:
    return decide([], statements, Request(action, resource, context)) == "deny"


def test_boundary_denies_removing_boundaries_and_editing_ci_roles_and_boundaries(created):
    boundary = _boundary(created)
    for role in ("arn:aws:iam::123456789012:role/litellm-ci-prod-deploy", "arn:aws:iam::123456789012:role/litellm-dev-x"):
        assert _denied(boundary, "iam:DeleteRolePermissionsBoundary", role)
    for action in ("iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole"):
        assert _denied(boundary, action, "arn:aws:iam::123456789012:role/litellm-ci-prod-deploy"), action
    for policy in ("arn:aws:iam::123456789012:policy/litellm-ci-boundary", BOUNDARY_ARN):
        for action in ("iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"):
            assert _denied(boundary, action, policy), (action, policy)


def test_boundary_denies_users_keys_and_identity_providers(created):
    boundary = _boundary(created)
    for action in ("iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:AddUserToGroup",
                   "iam:CreateOpenIDConnectProvider"):
        assert _denied(boundary, action, "arn:aws:iam::123456789012:user/litellm-x"), action


def test_role_writes_need_the_workload_boundary_and_the_own_environment_tag(created):
    deploy = _inline(created, "litellm-ci-dev-deploy")
    statement = _sid(deploy, "RoleWritesUnderWorkloadBoundary")
    assert "iam:CreateRole" in statement["actions"] and "iam:PutRolePolicy" in statement["actions"]
    assert _conditions(statement)["iam:PermissionsBoundary"] == ("StringEquals", [BOUNDARY_ARN])
    assert _conditions(_sid(deploy, "RolesTaggedWithOwnEnvironment"))["aws:RequestTag/Environment"] == ("StringNotEquals", ["dev"])


@pytest.mark.parametrize("overrides", [
    {"repository": "acme"},
    {"repository": "acme/*"},
    {"deploy_branch": "release/*"},
    {"environments": ()},
    {"role_name_prefix": "litellm-dev"},
    {"role_name_prefix": "x" * 55},
])
def test_props_reject_wildcards_and_bad_names(overrides):
    with pytest.raises(ValueError):
        _props(**overrides)


def _aws_json_length(statements: list[dict]) -> int:
    """The policy as IAM stores it (no whitespace), with references at a realistic length."""
    def convert(s: dict) -> dict:
        out = {"Sid": s.get("sid", ""), "Effect": s.get("effect", "Allow"), "Action": s.get("actions", []),
               "Resource": s.get("resources", [])}
        if s.get("condition"):
            out["Condition"] = {c["test"]: {c["variable"]: c["values"]} for c in s["condition"]}
        return out
    text = json.dumps({"Version": "2012-10-17", "Statement": [convert(s) for s in statements]}, separators=(",", ":"))
    return len(text)


def test_policies_fit_iams_size_limits(created):
    """Inline policies of a role: 10,240 characters; managed policies (the boundary): 6,144."""
    for name in ROLES:
        assert _aws_json_length(_inline(created, name)) < 10_240 - 500, name
    for name in ("litellm-ci-boundary", "litellm-ci-dev-read", "litellm-ci-prod-read"):
        assert _aws_json_length(_policy(created, name)) < 6_144 - 300, name


def test_deploy_resources_never_match_another_environments_names(created):
    for own, other in (("dev", "prod"), ("prod", "dev")):
        for statement in _all(created, f"litellm-ci-{own}-deploy"):
            for resource in statement["resources"]:
                assert not fnmatch.fnmatchcase(f"arn:aws:lambda:eu-west-1:1:function:litellm-{other}-x", resource) or resource == "*"
                assert f"litellm-{other}" not in resource and f"litellm/{other}/" not in resource, resource


def test_the_boundary_does_not_grow_with_the_number_of_environments():
    """"Every file becomes a stack": twenty environments must still fit the managed-policy cap."""
    many = _synth(Testing.app(), "many", _props(environments=tuple(_env(f"e{i}", i % 2 == 0) for i in range(20))))
    assert _aws_json_length(_boundary(many)) < 6_144 - 300
    assert len(resources(many, "aws_iam_role")) == 40
