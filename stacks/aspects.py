"""Aspects applied to whole stacks: rules that must hold for every construct, including those a
future module adds without knowing about them."""

from __future__ import annotations

import json

import jsii
from cdktf import Aspects, Fn, IAspect, TerraformStack
from constructs import IConstruct

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.resourcegroups_group import ResourcegroupsGroup, ResourcegroupsGroupResourceQuery

from modules.workload_boundary import workload_boundary_name


@jsii.implements(IAspect)
class PermissionsBoundaryAspect:
    """Sets ``permissions_boundary`` on every ``IamRole`` it visits. Overwrites a module's own
    choice on purpose: the CI deploy roles may only create roles carrying exactly this boundary,
    so any other value would fail the deploy rather than weaken it."""

    def __init__(self, boundary_arn: str) -> None:
        self.boundary_arn = boundary_arn

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, IamRole):
            node.permissions_boundary = self.boundary_arn


def apply_workload_boundary(
    stack: TerraformStack, *, name_prefix: str, resource_prefix: str, tags: dict[str, str],
) -> PermissionsBoundaryAspect:
    """Every role of ``stack`` carries the workload boundary bootstrap creates for ``name_prefix``
    (modules/workload_boundary.py), addressed in the deploying account.

    The account id comes from the ARN of the environment's resource group (everything tagged with
    its Project and Environment: one console view of the environment), not from
    ``data.aws_caller_identity``: the stacks make no API call at plan time (the offline Terraform
    loop in the tests relies on it), as the modules that read their account from their own
    resources' ARNs do."""
    name = workload_boundary_name(name_prefix)
    group = ResourcegroupsGroup(
        stack, "environment-resource-group",
        name=resource_prefix,
        # CreateGroup accepts only letters, digits, whitespace, "_", "." and "-" here.
        description=f"Every resource of {resource_prefix} by its Project and Environment tags.",
        resource_query=ResourcegroupsGroupResourceQuery(query=json.dumps({
            "ResourceTypeFilters": ["AWS::AllSupported"],
            "TagFilters": [{"Key": key, "Values": [tags[key]]} for key in ("Project", "Environment")],
        }, separators=(",", ":"))),
    )
    fields = Fn.split(":", group.arn)
    aspect = PermissionsBoundaryAspect(
        f"arn:{Fn.element(fields, 1)}:iam::{Fn.element(fields, 4)}:policy/{name}")
    Aspects.of(stack).add(aspect)
    return aspect
