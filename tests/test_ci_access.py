"""modules/ci_access.py: GitHub OIDC plan/deploy roles under a permissions boundary."""

from __future__ import annotations

import fnmatch
import json

import pytest
from cdktf import Testing, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

from modules.ci_access import CiAccess, CiAccessProps
from tests.helpers import data_sources, ref, resources

REPO = "acme/litellm-infra"
BUCKET_ARN = "arn:aws:s3:::acme-tf-state"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/litellm-terraform-locks"
EXISTING_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
PROJECT_IAM = ("arn:aws:iam::*:role/litellm-", "arn:aws:iam::*:policy/litellm-", "arn:aws:iam::*:instance-profile/litellm-")


def _props(**overrides) -> CiAccessProps:
    values = dict(
        repository=REPO,
        deploy_branch="main",
        deploy_environments=("dev", "production"),
        oidc_provider_arn=None,
        role_name_prefix="litellm-ci",
        name_prefix="litellm",
        state_bucket_arn=BUCKET_ARN,
        lock_table_arn=TABLE_ARN,
        region="eu-west-1",
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


def _document(stack: dict, value: str) -> dict:
    tf_type, name, attribute = ref(value.replace("${data.", "${"))
    assert (tf_type, attribute) == ("aws_iam_policy_document", "json")
    return data_sources(stack, tf_type)[name]


def _role(stack: dict, name: str) -> dict:
    (role,) = [r for r in resources(stack, "aws_iam_role").values() if r["name"] == name]
    return role


def _inline(stack: dict, role_name: str) -> dict:
    (policy,) = [p for p in resources(stack, "aws_iam_role_policy").values() if p["name"] == role_name]
    (role_id,) = [k for k, r in resources(stack, "aws_iam_role").items() if r["name"] == role_name]
    assert ref(policy["role"])[:2] == ("aws_iam_role", role_id)
    return _document(stack, policy["policy"])


def _boundary(stack: dict) -> dict:
    (policy,) = resources(stack, "aws_iam_policy").values()
    return _document(stack, policy["policy"])


def _statements(stack: dict, effect: str | None = None) -> list[dict]:
    found = [s for doc in data_sources(stack, "aws_iam_policy_document").values() for s in doc["statement"]]
    return [s for s in found if effect is None or s.get("effect", "Allow") == effect]


def _sid(document: dict, sid: str) -> dict:
    (statement,) = [s for s in document["statement"] if s.get("sid") == sid]
    return statement


def _denied(boundary: dict, action: str, resource: str) -> bool:
    """Whether an explicit Deny without conditions in ``boundary`` matches action on resource."""
    for s in boundary["statement"]:
        if s["effect"] != "Deny" or s.get("condition"):
            continue
        if not any(fnmatch.fnmatchcase(action, a) for a in s["actions"]):
            continue
        if "resources" in s and any(fnmatch.fnmatchcase(resource, r) for r in s["resources"]):
            return True
        if "not_resources" in s and not any(fnmatch.fnmatchcase(resource, r) for r in s["not_resources"]):
            return True
    return False


def test_no_statement_grants_everything_or_all_of_iam(stacks):
    for stack in stacks.values():
        for statement in _statements(stack):
            for action in statement.get("actions", []):
                assert action not in ("*", "*:*", "iam:*"), statement
                assert not action.startswith("iam:*") or statement["effect"] == "Deny", statement
            assert "not_actions" not in statement


def test_both_roles_carry_the_boundary(created):
    (boundary_id,) = resources(created, "aws_iam_policy")
    assert resources(created, "aws_iam_policy")[boundary_id]["name"] == "litellm-ci-boundary"
    for name in ("litellm-ci-plan", "litellm-ci-deploy"):
        assert ref(_role(created, name)["permissions_boundary"]) == ("aws_iam_policy", boundary_id, "arn")
    assert _role(created, "litellm-ci-plan")["max_session_duration"] == 3600


def _trust(stack: dict, role_name: str) -> dict:
    (statement,) = _document(stack, _role(stack, role_name)["assume_role_policy"])["statement"]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    return statement


def _conditions(statement: dict) -> dict[str, tuple[str, list[str]]]:
    return {c["variable"]: (c["test"], c["values"]) for c in statement["condition"]}


def test_plan_trust_admits_any_run_of_the_repository(created):
    statement = _trust(created, "litellm-ci-plan")
    conditions = _conditions(statement)
    assert conditions["token.actions.githubusercontent.com:aud"] == ("StringEquals", ["sts.amazonaws.com"])
    assert conditions["token.actions.githubusercontent.com:sub"] == ("StringLike", [f"repo:{REPO}:*"])
    (principal,) = statement["principals"]
    assert principal["type"] == "Federated"
    assert ref(principal["identifiers"][0])[0] == "aws_iam_openid_connect_provider"


def test_deploy_trust_is_exactly_the_branch_and_environments(created):
    conditions = _conditions(_trust(created, "litellm-ci-deploy"))
    assert conditions["token.actions.githubusercontent.com:aud"] == ("StringEquals", ["sts.amazonaws.com"])
    test, subjects = conditions["token.actions.githubusercontent.com:sub"]
    assert test == "StringEquals"
    assert sorted(subjects) == sorted([
        f"repo:{REPO}:ref:refs/heads/main",
        f"repo:{REPO}:environment:dev",
        f"repo:{REPO}:environment:production",
    ])
    assert not any("*" in s or "?" in s for s in subjects)


def test_oidc_provider_is_created_for_github_with_the_sts_audience(created):
    (provider,) = resources(created, "aws_iam_openid_connect_provider").values()
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


def test_existing_provider_mode_creates_none_and_trusts_the_given_arn(stacks):
    stack = stacks["existing"]
    assert resources(stack, "aws_iam_openid_connect_provider") == {}
    for name in ("litellm-ci-plan", "litellm-ci-deploy"):
        assert _trust(stack, name)["principals"][0]["identifiers"] == [EXISTING_PROVIDER]


def _iam_statements(document: dict) -> list[dict]:
    return [s for s in document["statement"] if any(a.startswith("iam:") for a in s["actions"])]


def test_deploy_iam_is_scoped_to_the_project_prefix(created):
    statements = _iam_statements(_inline(created, "litellm-ci-deploy"))
    assert statements
    for statement in statements:
        if statement["actions"] == ["iam:CreateServiceLinkedRole"]:
            assert statement["resources"] == ["arn:aws:iam::*:role/aws-service-role/*"]
            assert statement["condition"][0]["variable"] == "iam:AWSServiceName"
            continue
        assert all(a.startswith("iam:") for a in statement["actions"]), statement  # no mixing
        for resource in statement["resources"]:
            assert resource.startswith(PROJECT_IAM), resource


def test_pass_role_is_scoped_and_conditioned(created):
    pass_role = [s for s in _inline(created, "litellm-ci-deploy")["statement"] if "iam:PassRole" in s["actions"]]
    (statement,) = pass_role
    assert statement["actions"] == ["iam:PassRole"]
    assert statement["resources"] == ["arn:aws:iam::*:role/litellm-*"]
    (condition,) = statement["condition"]
    assert condition["variable"] == "iam:PassedToService"
    assert condition["test"] == "StringEquals"
    assert "ecs-tasks.amazonaws.com" in condition["values"] and "*" not in "".join(condition["values"])


def test_boundary_denies_removing_or_rewriting_itself(created):
    boundary = _boundary(created)
    for role in ("arn:aws:iam::123456789012:role/litellm-ci-deploy", "arn:aws:iam::123456789012:role/litellm-ci-plan"):
        for action in ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary",
                       "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole"):
            assert _denied(boundary, action, role), (action, role)
    policy = "arn:aws:iam::123456789012:policy/litellm-ci-boundary"
    for action in ("iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"):
        assert _denied(boundary, action, policy), action
    # ...while the stacks' own roles stay writable.
    assert not _denied(boundary, "iam:PutRolePolicy", "arn:aws:iam::123456789012:role/litellm-dev-litellm-task")


def test_boundary_denies_users_keys_and_foreign_iam(created):
    boundary = _boundary(created)
    for action in ("iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:AddUserToGroup",
                   "iam:CreateOpenIDConnectProvider"):
        assert _denied(boundary, action, "arn:aws:iam::123456789012:user/litellm-x"), action
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:PassRole"):
        assert _denied(boundary, action, "arn:aws:iam::123456789012:role/admin"), action
    assert _denied(boundary, "iam:CreatePolicyVersion", "arn:aws:iam::123456789012:policy/other")


def test_boundary_denies_attaching_aws_admin_policies(created):
    statement = _sid(_boundary(created), "DenyAdminPolicyAttachment")
    assert statement["effect"] == "Deny" and statement["actions"] == ["iam:AttachRolePolicy"]
    (condition,) = statement["condition"]
    assert (condition["test"], condition["variable"]) == ("ArnLike", "iam:PolicyARN")
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in condition["values"]


def test_boundary_allows_what_the_deploy_role_is_granted(created):
    """A grant outside the boundary would silently not work: every deploy Allow must reappear."""
    boundary = {json.dumps(s, sort_keys=True) for s in _boundary(created)["statement"]}
    for statement in _inline(created, "litellm-ci-deploy")["statement"]:
        assert json.dumps(statement, sort_keys=True) in boundary, statement["sid"]


def test_plan_role_is_read_only_except_the_lock(created):
    writes = ("Create", "Delete", "Put", "Update", "Attach", "Detach", "Modify", "Run", "Terminate", "Pass")
    for statement in _inline(created, "litellm-ci-plan")["statement"]:
        for action in statement["actions"]:
            if action.split(":")[1].startswith(writes):
                assert statement["resources"] == [TABLE_ARN], action
    state = _sid(_inline(created, "litellm-ci-plan"), "StateObjects")
    assert state["actions"] == ["s3:GetObject"] and state["resources"] == [f"{BUCKET_ARN}/*"]


def test_lockfile_mode_lets_plan_write_only_lock_objects(stacks):
    plan = _inline(stacks["existing"], "litellm-ci-plan")
    assert not [s for s in plan["statement"] if any(a.startswith("dynamodb:") for a in s["actions"])]
    lock = _sid(plan, "StateLockFile")
    assert lock["resources"] == [f"{BUCKET_ARN}/*.tflock"]


def test_deploy_writes_state_and_lock(created):
    deploy = _inline(created, "litellm-ci-deploy")
    assert "s3:PutObject" in _sid(deploy, "StateObjects")["actions"]
    assert _sid(deploy, "StateLockTable")["resources"] == [TABLE_ARN]


@pytest.mark.parametrize("overrides", [
    {"repository": "acme"},
    {"repository": "acme/*"},
    {"deploy_branch": "release/*"},
    {"deploy_environments": ("prod*",)},
    {"role_name_prefix": "litellm"},
])
def test_props_reject_wildcards_and_bad_names(overrides):
    with pytest.raises(ValueError):
        _props(**overrides)


def test_secrets_parameters_and_buckets_are_scoped_to_the_project(stacks):
    """ssm:* on "*" would include SendCommand on every instance; s3/secretsmanager on "*" every
    bucket and secret of the account."""
    for stack in stacks.values():
        for statement in _statements(stack, "Allow"):
            for action in statement.get("actions", []):
                if action.split(":")[0] in ("ssm", "s3", "secretsmanager") and statement.get("resources") == ["*"]:
                    assert action in ("ssm:DescribeParameters", "ssm:ListTagsForResource",
                                      "secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword",
                                      "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
                                      "secretsmanager:ListSecretVersionIds"), action
    parameters = _sid(_inline(stacks["created"], "litellm-ci-deploy"), "ManageProjectParameters")
    assert parameters["resources"] == ["arn:aws:ssm:*:*:parameter/litellm-*"]
