"""An EventBridge rule that invokes one Lambda function: rule, target and the invoke permission
scoped to that rule. Construct ids are ``<id_>``, ``<id_>-pattern``, ``<id_>-target`` and
``<id_>-invoke-permission``."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission

from core.terraform_json import json_argument


def rule_invoking(scope: Construct, id_: str, *, name: str, description: str, pattern: Any,
                  function: LambdaFunction, target_id: str, statement_id: str) -> CloudwatchEventRule:
    """The rule (``pattern`` as a native local, see core/terraform_json.py) and its wiring."""
    rule = CloudwatchEventRule(
        scope, id_,
        name=name,
        description=description,
        event_pattern=json_argument(scope, f"{id_}-pattern", pattern),
    )
    CloudwatchEventTarget(scope, f"{id_}-target", rule=rule.name, target_id=target_id, arn=function.arn)
    LambdaPermission(
        scope, f"{id_}-invoke-permission",
        statement_id=statement_id,
        action="lambda:InvokeFunction",
        function_name=function.function_name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
    )
    return rule
