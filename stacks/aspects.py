"""Aspects applied to whole stacks: rules that must hold for every construct, including those a
future module adds without knowing about them."""

from __future__ import annotations

import jsii
from cdktf import Aspects, IAspect, TerraformStack
from constructs import IConstruct

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.iam_role import IamRole

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


def apply_workload_boundary(stack: TerraformStack, name_prefix: str) -> PermissionsBoundaryAspect:
    """Every role of ``stack`` carries the workload boundary bootstrap creates for ``name_prefix``
    (modules/workload_boundary.py), addressed in the deploying account."""
    account = DataAwsCallerIdentity(stack, "workload-boundary-account")
    aspect = PermissionsBoundaryAspect(
        f"arn:aws:iam::{account.account_id}:policy/{workload_boundary_name(name_prefix)}")
    Aspects.of(stack).add(aspect)
    return aspect
