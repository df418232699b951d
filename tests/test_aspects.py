"""stacks/aspects.py: the workload boundary on every IAM role of a stack."""

from __future__ import annotations

import json
import re

from cdktf import Testing, TerraformStack
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from stacks.aspects import apply_workload_boundary
from tests.helpers import resources

TAGS = {"Project": "litellm", "Environment": "qa", "ManagedBy": "cdktf"}


class _Module(Construct):
    """A module that knows nothing about boundaries, nested like the real ones."""

    def __init__(self, scope, id_):
        super().__init__(scope, id_)
        IamRole(self, "plain", name="litellm-qa-plain", assume_role_policy="{}")
        IamRole(self, "own-boundary", name="litellm-qa-own", assume_role_policy="{}",
                permissions_boundary="arn:aws:iam::aws:policy/AdministratorAccess")


def test_every_role_gets_the_workload_boundary_even_over_a_modules_own():
    stack = TerraformStack(Testing.app(), "qa")
    AwsProvider(stack, "aws", region="eu-west-1")
    _Module(stack, "module")
    apply_workload_boundary(stack, name_prefix="litellm", resource_prefix="litellm-qa", tags=TAGS)
    synthesized = json.loads(Testing.synth(stack))
    roles = resources(synthesized, "aws_iam_role")
    (group_id,) = resources(synthesized, "aws_resourcegroups_group")
    expected = (f'arn:${{element(split(":", aws_resourcegroups_group.{group_id}.arn), 1)}}:iam::'
                f'${{element(split(":", aws_resourcegroups_group.{group_id}.arn), 4)}}:policy/litellm-workload-boundary')
    assert [role["permissions_boundary"] for role in roles.values()] == [expected, expected]
    # No API-reading data source: the account comes from the group's ARN.
    assert "data" not in synthesized or "aws_caller_identity" not in synthesized["data"]


def test_the_resource_group_lists_the_environment_by_its_tags():
    stack = TerraformStack(Testing.app(), "qa")
    AwsProvider(stack, "aws", region="eu-west-1")
    apply_workload_boundary(stack, name_prefix="litellm", resource_prefix="litellm-qa", tags=TAGS)
    (group,) = resources(json.loads(Testing.synth(stack)), "aws_resourcegroups_group").values()
    assert group["name"] == "litellm-qa"
    query = json.loads(group["resource_query"]["query"])
    assert query["TagFilters"] == [{"Key": "Project", "Values": ["litellm"]}, {"Key": "Environment", "Values": ["qa"]}]
    # The Resource Groups API's pattern for Description (CreateGroup refuses anything else, as
    # moto did in make deploy-local: parentheses once broke every environment's first apply).
    assert re.fullmatch(r"[\sa-zA-Z0-9_.-]{0,1024}", group["description"]), group["description"]
