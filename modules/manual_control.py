"""Manual control of the LiteLLM service: a SigV4-only HTTP API and a Lambda that boosts the
service for a while, scales it to zero when the boost expires or the proxy sits idle, and wakes it
on the first request. Names and behaviour follow the operations contract (/<prefix>/... below).

Pieces:

* HTTP API ``<prefix>-manual-control`` with ``POST /litellm/override`` and ``GET /litellm/status``,
  both ``AWS_IAM`` (no unauthenticated route, no ``$default`` route), a ``$default`` stage with
  throttling and JSON access logs that name the calling IAM principal.
* Lambda ``<prefix>-manual-control`` (code: ``modules/manual_control_lambda/``), its own
  retained log group, and an execution role whose every statement names the one resource it
  needs (exceptions below).
* SSM parameter ``/<prefix>/litellm/override`` (the Lambda owns its value after creation).
* Scheduler group ``<prefix>-litellm``: the Lambda creates the one-time
  ``<prefix>-override-expiry`` schedule there; Terraform adds ``<prefix>-idle-check`` when idle
  shutdown is on. Both run as a scheduler role that may only invoke this function; Scheduler uses
  that role, so no resource policy on the function is needed for it.
* When idle shutdown is on: the wake alarm ``<prefix>-wake-on-request`` on the ALB's
  ``HTTPCode_ELB_503_Count`` (the ALB answers 503 while no task is registered, and emits no
  ``RequestCount`` at zero targets), and an EventBridge rule that forwards its ALARM transition
  to the function.

The one statement on ``"*"``: ``cloudwatch:GetMetricStatistics`` / ``cloudwatch:GetMetricData``
(CloudWatch offers no resource-level permission for metric reads), only granted when idle shutdown
is on. ``application-autoscaling:RegisterScalableTarget`` (only with autoscaling) supports the
scalable-target ARN, but that ARN holds a random id created by the ECS module: pass
``scalable_target_arn`` to pin it; otherwise it is limited to scalable targets of this account and
region whose namespace is ``ecs`` and dimension ``ecs:service:DesiredCount`` (the condition keys
the action offers; the service's resource id is not one of them).

No data source is used for the account id: ARNs are assembled from the schedule group's own ARN,
so the module plans offline.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, Fn, TerraformAsset, TerraformResourceLifecycle, Token
from constructs import Construct

from cdktf_cdktf_provider_aws.apigatewayv2_api import Apigatewayv2Api
from cdktf_cdktf_provider_aws.apigatewayv2_integration import Apigatewayv2Integration
from cdktf_cdktf_provider_aws.apigatewayv2_route import Apigatewayv2Route
from cdktf_cdktf_provider_aws.apigatewayv2_stage import (
    Apigatewayv2Stage,
    Apigatewayv2StageAccessLogSettings,
    Apigatewayv2StageDefaultRouteSettings,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction, LambdaFunctionEnvironment
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.scheduler_schedule import (
    SchedulerSchedule,
    SchedulerScheduleFlexibleTimeWindow,
    SchedulerScheduleTarget,
    SchedulerScheduleTargetRetryPolicy,
)
from cdktf_cdktf_provider_aws.scheduler_schedule_group import SchedulerScheduleGroup
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter

from core.event_rules import rule_invoking


DEFAULT_LAMBDA_SOURCE_DIR = str(Path(__file__).resolve().parent / "manual_control_lambda")
OVERRIDE_ROUTE = ("POST", "/litellm/override")
STATUS_ROUTE = ("GET", "/litellm/status")
ROUTES = (OVERRIDE_ROUTE, STATUS_ROUTE)
INITIAL_OVERRIDE_VALUE = json.dumps({"expires_at": None, "desired_count": 0})
ALB_NAMESPACE = "AWS/ApplicationELB"
WAKE_METRIC = "HTTPCode_ELB_503_Count"
ECS_SCALABLE_DIMENSION = "ecs:service:DesiredCount"
LAMBDA_TIMEOUT_SECONDS = 30  # HTTP API integrations give up after 30 s anyway
# Access log fields: who called (SigV4 principal), what, and how it ended.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "userAgent": "$context.identity.userAgent",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
})


def _arn_field(arn: str, index: int) -> str:
    """Field ``index`` of an ARN (1 partition, 3 region, 4 account), as a Terraform expression."""
    return Fn.element(Fn.split(":", arn), index)


def _is_reference(value: str) -> bool:
    return Token.is_unresolved(value) or "${" in value


def rate_expression(minutes: int) -> str:
    """EventBridge Scheduler wants the singular unit for 1: ``rate(1 minute)``."""
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


@dataclass(frozen=True, kw_only=True)
class ManualControlProps:
    name: str
    """The contract's ``prefix`` (``<name_prefix>-<environment>``, e.g. ``litellm-dev``)."""
    region: str
    cluster_name: str
    service_name: str
    service_arn: str
    """The ECS service's ARN (``aws_ecs_service.id``): the only service the function may describe
    or update."""
    load_balancer_arn_suffix: str
    """``app/<name>/<id>`` (the ALB's ``arn_suffix``): the ``LoadBalancer`` dimension of the wake
    alarm and of the idle check's ``RequestCount`` query."""
    active_desired_count: int = 1
    """Tasks while boosted or woken."""
    default_override_hours: float = 2
    max_override_hours: float = 12
    idle_shutdown_minutes: int = 0
    """Scale to zero after this many minutes without requests; 0 turns idle shutdown (and the
    idle-check schedule, the wake alarm and its rule) off."""
    idle_check_interval_minutes: int = 5
    autoscaling_min_capacity: int | None = None
    """The service's autoscaling floor and ceiling, or None for both when the service has no
    autoscaling target (then no Application Auto Scaling permission is granted)."""
    autoscaling_max_capacity: int | None = None
    scalable_target_arn: str | None = None
    """ARN of the service's ``aws_appautoscaling_target``; when given, RegisterScalableTarget is
    allowed on exactly that target instead of on every ECS-service target of the account."""
    log_retention_days: int = 30
    """Retention of the function's log group and of the API access log group."""
    reserved_concurrent_executions: int | None = None
    """None (default) leaves the function on the account's unreserved pool. Reserving concurrency
    fails on accounts whose concurrency quota is low (AWS keeps at least 10 unreserved, and new
    accounts may have a quota of 10), and a small reservation would not serialise the handler
    anyway: the contract makes every action idempotent, and the API stage's throttling already
    bounds the request rate."""
    lambda_source_dir: str = DEFAULT_LAMBDA_SOURCE_DIR
    """Folder zipped into the function's package (it must hold ``handler.py``)."""

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"ManualControlProps: {message}")

        if not self.name or _is_reference(self.name):
            fail("name must be a literal, non-empty string (it names every resource)")
        suffix = self.load_balancer_arn_suffix
        if not _is_reference(suffix) and not suffix.startswith("app/"):
            fail(f"load_balancer_arn_suffix {suffix!r} must be the ALB ARN suffix (app/<name>/<id>)")
        if isinstance(self.active_desired_count, bool) or self.active_desired_count < 1:
            fail("active_desired_count must be at least 1")
        for field in ("default_override_hours", "max_override_hours"):
            value = getattr(self, field)
            if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
                fail(f"{field} must be a positive number")
        if self.default_override_hours > self.max_override_hours:
            fail("default_override_hours must not exceed max_override_hours")
        if self.idle_shutdown_minutes < 0:
            fail("idle_shutdown_minutes must be 0 (off) or positive")
        if not 1 <= self.idle_check_interval_minutes <= 60:
            fail("idle_check_interval_minutes must be between 1 and 60")
        bounds = (self.autoscaling_min_capacity, self.autoscaling_max_capacity)
        if (bounds[0] is None) != (bounds[1] is None):
            fail("give both autoscaling_min_capacity and autoscaling_max_capacity, or neither")
        if bounds[0] is not None and not 0 <= bounds[0] <= bounds[1]:
            fail("autoscaling needs 0 <= autoscaling_min_capacity <= autoscaling_max_capacity")
        if self.scalable_target_arn is not None and bounds[0] is None:
            fail("scalable_target_arn only makes sense with autoscaling capacities")
        if self.log_retention_days < 1:
            fail("log_retention_days must be positive")
        if self.reserved_concurrent_executions is not None and self.reserved_concurrent_executions < 1:
            fail("reserved_concurrent_executions must be None or at least 1")

    @property
    def autoscaling_enabled(self) -> bool:
        return self.autoscaling_min_capacity is not None

    @property
    def idle_shutdown_enabled(self) -> bool:
        return self.idle_shutdown_minutes > 0


class ManualControl(Construct):
    """Exposes ``api_url`` (base URL, no trailing slash; ``api_stage_invoke_url`` is the same
    with one), ``api_id``, ``api_execution_arn``, ``function_name``,
    ``function_arn``, ``override_parameter_name``, ``schedule_group_name``,
    ``expiry_schedule_name``, ``scheduler_role_arn``, ``invoke_policy_json`` (execute-api:Invoke
    on exactly the two routes, for operators), ``log_group_name`` (the function's),
    ``access_log_group_name``, and ``wake_alarm_name`` / ``idle_check_schedule_name`` (None when
    idle shutdown is off)."""

    def __init__(self, scope: Construct, id_: str, *, props: ManualControlProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.name
        function_name = f"{name}-manual-control"

        group = SchedulerScheduleGroup(self, "schedule-group", name=f"{name}-litellm")
        self.schedule_group_name: str = f"{name}-litellm"
        self.expiry_schedule_name: str = f"{name}-override-expiry"
        # Partition and account of every ARN assembled below.
        self._partition = _arn_field(group.arn, 1)
        self._account = _arn_field(group.arn, 4)

        parameter = SsmParameter(
            self, "override-parameter",
            name=f"/{name}/litellm/override",
            type="String",
            value=INITIAL_OVERRIDE_VALUE,
            description="LiteLLM manual override state; written by the manual-control function",
            # The function owns the value after creation; Terraform must not reset a live boost.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["value"]),
        )
        self.override_parameter_name: str = f"/{name}/litellm/override"

        log_group = CloudwatchLogGroup(
            self, "function-log-group",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=props.log_retention_days,
        )
        self.log_group_name: str = log_group.name

        scheduler_role = self._scheduler_role(group)
        self.scheduler_role_arn: str = scheduler_role.arn
        role, role_policy = self._function_role(
            function_name, log_group, parameter, group, scheduler_role.arn
        )

        # Synthesis zips the folder next to cdk.tf.json (assets/...), so the stack stays
        # self-contained, and the hash changes with the code, so Terraform redeploys it.
        package = TerraformAsset(
            self, "function-package", path=props.lambda_source_dir, type=AssetType.ARCHIVE,
        )
        function = LambdaFunction(
            self, "function",
            function_name=function_name,
            description="LiteLLM manual override, idle shutdown and wake-on-request",
            role=role.arn,
            runtime="python3.12",
            architectures=["arm64"],
            handler="handler.handler",
            filename=package.path,
            source_code_hash=package.asset_hash,
            memory_size=256,
            timeout=LAMBDA_TIMEOUT_SECONDS,
            reserved_concurrent_executions=props.reserved_concurrent_executions,
            environment=LambdaFunctionEnvironment(variables=self._environment(scheduler_role.arn)),
            # The log group first, or the first invocation creates one that never expires; the
            # policy first, or early invocations fail for want of permissions.
            depends_on=[log_group, role_policy],
        )
        self.function_name: str = function.function_name
        self.function_arn: str = function.arn

        IamRolePolicy(
            self, "scheduler-role-policy",
            name="invoke-manual-control",
            role=scheduler_role.id,
            policy=DataAwsIamPolicyDocument(
                self, "scheduler-invoke",
                statement=[DataAwsIamPolicyDocumentStatement(
                    sid="InvokeManualControlOnly",
                    actions=["lambda:InvokeFunction"],
                    resources=[function.arn],
                )],
            ).json,
        )

        self._api(function, props.log_retention_days)

        self.wake_alarm_name: str | None = None
        self.idle_check_schedule_name: str | None = None
        if props.idle_shutdown_enabled:
            self._idle_shutdown(group, function, scheduler_role)

    # ------------------------------------------------------------------------------- pieces

    def _environment(self, scheduler_role_arn: str) -> dict[str, str]:
        props = self.props

        def optional_int(value: int | None) -> str:
            return "" if value is None else str(value)

        return {
            "CLUSTER_NAME": props.cluster_name,
            "SERVICE_NAME": props.service_name,
            "OVERRIDE_PARAMETER_NAME": self.override_parameter_name,
            "SCHEDULE_GROUP_NAME": self.schedule_group_name,
            "EXPIRY_SCHEDULE_NAME": self.expiry_schedule_name,
            "SCHEDULER_ROLE_ARN": scheduler_role_arn,
            "ACTIVE_DESIRED_COUNT": str(props.active_desired_count),
            "DEFAULT_OVERRIDE_HOURS": str(float(props.default_override_hours)),
            "MAX_OVERRIDE_HOURS": str(float(props.max_override_hours)),
            "IDLE_SHUTDOWN_MINUTES": str(props.idle_shutdown_minutes),
            "LOAD_BALANCER_DIMENSION": props.load_balancer_arn_suffix,
            "AUTOSCALING_MIN_CAPACITY": optional_int(props.autoscaling_min_capacity),
            "AUTOSCALING_MAX_CAPACITY": optional_int(props.autoscaling_max_capacity),
        }

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self._partition}:{service}:{self.props.region}:{self._account}:{resource}"

    def _scheduler_role(self, group: SchedulerScheduleGroup) -> IamRole:
        assume = DataAwsIamPolicyDocument(
            self, "scheduler-assume-role",
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Service", identifiers=["scheduler.amazonaws.com"],
                )],
                # Confused-deputy guard: only schedules in our group (Scheduler's documented
                # aws:SourceArn is the schedule *group* ARN) of our account may assume it.
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="aws:SourceAccount", values=[self._account],
                    ),
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="ArnEquals", variable="aws:SourceArn", values=[group.arn],
                    ),
                ],
            )],
        )
        return IamRole(
            self, "scheduler-role",
            name=f"{self.props.name}-manual-control-scheduler",
            description="EventBridge Scheduler invokes the manual-control function",
            assume_role_policy=assume.json,
        )

    def _function_role(
        self,
        function_name: str,
        log_group: CloudwatchLogGroup,
        parameter: SsmParameter,
        group: SchedulerScheduleGroup,
        scheduler_role_arn: str,
    ) -> tuple[IamRole, IamRolePolicy]:
        props = self.props
        assume = DataAwsIamPolicyDocument(
            self, "function-assume-role",
            statement=[DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                    type="Service", identifiers=["lambda.amazonaws.com"],
                )],
                # Confused-deputy guard: only Lambda acting for this account.
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="aws:SourceAccount", values=[self._account],
                )],
            )],
        )
        role = IamRole(
            self, "function-role",
            name=function_name,
            description="Execution role of the LiteLLM manual-control function",
            assume_role_policy=assume.json,
        )
        expiry_schedule_arn = self._arn(
            "scheduler", f"schedule/{self.schedule_group_name}/{self.expiry_schedule_name}"
        )
        statements = [
            # No logs:CreateLogGroup: the group exists, and Lambda must never create an
            # unretained one.
            DataAwsIamPolicyDocumentStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group.arn}:*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ScaleTheLiteLLMService",
                actions=["ecs:DescribeServices", "ecs:UpdateService"],
                resources=[props.service_arn],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="OverrideState",
                actions=["ssm:GetParameter", "ssm:PutParameter"],
                resources=[parameter.arn],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="OverrideExpirySchedule",
                actions=[
                    "scheduler:CreateSchedule", "scheduler:UpdateSchedule",
                    "scheduler:DeleteSchedule", "scheduler:GetSchedule",
                ],
                resources=[expiry_schedule_arn],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="PassSchedulerRole",
                actions=["iam:PassRole"],
                resources=[scheduler_role_arn],
                condition=[DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="iam:PassedToService",
                    values=["scheduler.amazonaws.com"],
                )],
            ),
        ]
        if props.idle_shutdown_enabled:
            statements.append(DataAwsIamPolicyDocumentStatement(
                # CloudWatch metric reads have no resource-level permissions: "*" is required.
                sid="ReadRequestCountMetric",
                actions=["cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricData"],
                resources=["*"],
            ))
        if props.autoscaling_enabled:
            scalable_target = props.scalable_target_arn or self._arn(
                "application-autoscaling", "scalable-target/*"
            )
            # Only RegisterScalableTarget: it updates the target in place, so the function never
            # needs DescribeScalableTargets (a List-level action that would require "*").
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="RestoreAutoscalingFloor",
                    actions=["application-autoscaling:RegisterScalableTarget"],
                    resources=[scalable_target],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="application-autoscaling:service-namespace",
                            values=["ecs"],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="application-autoscaling:scalable-dimension",
                            values=[ECS_SCALABLE_DIMENSION],
                        ),
                    ],
                )
            )
        policy = IamRolePolicy(
            self, "function-role-policy",
            name="manual-control",
            role=role.id,
            policy=DataAwsIamPolicyDocument(self, "function-permissions", statement=statements).json,
        )
        return role, policy

    def _api(self, function: LambdaFunction, retention_days: int) -> None:
        name = self.props.name
        api = Apigatewayv2Api(
            self, "api",
            name=f"{name}-manual-control",
            protocol_type="HTTP",
            description="LiteLLM manual control (SigV4 only)",
        )
        integration = Apigatewayv2Integration(
            self, "api-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=function.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=LAMBDA_TIMEOUT_SECONDS * 1000,
        )
        for method, path in ROUTES:
            slug = path.rsplit("/", 1)[-1]
            Apigatewayv2Route(
                self, f"api-route-{slug}",
                api_id=api.id,
                route_key=f"{method} {path}",
                authorization_type="AWS_IAM",
                target=f"integrations/{integration.id}",
            )
            # Per route, so API Gateway may invoke the function for these two routes only.
            LambdaPermission(
                self, f"api-invoke-permission-{slug}",
                statement_id=f"AllowManualControlApi-{slug}",
                action="lambda:InvokeFunction",
                function_name=function.function_name,
                principal="apigateway.amazonaws.com",
                source_arn=self._route_arn(api.execution_arn, method, path),
            )
        access_logs = CloudwatchLogGroup(
            self, "api-access-log-group",
            name=f"/aws/apigateway/{name}-manual-control",
            retention_in_days=retention_days,
        )
        stage = Apigatewayv2Stage(
            self, "api-stage",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=Apigatewayv2StageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT,
            ),
            # An operator tool: a handful of calls a minute at most.
            default_route_settings=Apigatewayv2StageDefaultRouteSettings(
                throttling_burst_limit=10, throttling_rate_limit=5,
            ),
        )
        invoke = DataAwsIamPolicyDocument(
            self, "api-invoke-policy",
            statement=[DataAwsIamPolicyDocumentStatement(
                sid="InvokeLiteLLMManualControl",
                actions=["execute-api:Invoke"],
                resources=[self._route_arn(api.execution_arn, m, p) for m, p in ROUTES],
            )],
        )
        # The $default stage serves at the API's root, so the endpoint (no trailing slash) is
        # the base URL: append /litellm/override or /litellm/status.
        self.api_url: str = api.api_endpoint
        self.api_stage_invoke_url: str = stage.invoke_url
        self.api_id: str = api.id
        self.api_execution_arn: str = api.execution_arn
        self.invoke_policy_json: str = invoke.json
        self.access_log_group_name: str = access_logs.name

    @staticmethod
    def _route_arn(execution_arn: str, method: str, path: str) -> str:
        """``<execution arn>/<stage>/<METHOD>/<path>``; any stage (there is only ``$default``)."""
        return f"{execution_arn}/*/{method}{path}"

    def _idle_shutdown(
        self, group: SchedulerScheduleGroup, function: LambdaFunction, scheduler_role: IamRole
    ) -> None:
        props = self.props
        name = props.name
        SchedulerSchedule(
            self, "idle-check-schedule",
            name=f"{name}-idle-check",
            group_name=group.name,
            description="Scale LiteLLM to zero after a quiet period",
            schedule_expression=rate_expression(props.idle_check_interval_minutes),
            flexible_time_window=SchedulerScheduleFlexibleTimeWindow(mode="OFF"),
            target=SchedulerScheduleTarget(
                arn=function.arn,
                role_arn=scheduler_role.arn,
                input=json.dumps({"action": "idle-check"}),
                # A missed check is redone at the next tick; a late one only adds noise.
                retry_policy=SchedulerScheduleTargetRetryPolicy(
                    maximum_retry_attempts=0,
                    maximum_event_age_in_seconds=60,
                ),
            ),
        )
        self.idle_check_schedule_name = f"{name}-idle-check"

        alarm = CloudwatchMetricAlarm(
            self, "wake-alarm",
            alarm_name=f"{name}-wake-on-request",
            alarm_description=(
                "A request reached the ALB while LiteLLM had no task (503); "
                "an EventBridge rule wakes the service"
            ),
            namespace=ALB_NAMESPACE,
            metric_name=WAKE_METRIC,
            dimensions={"LoadBalancer": props.load_balancer_arn_suffix},
            statistic="Sum",
            period=60,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
        )
        self.wake_alarm_name = f"{name}-wake-on-request"
        # EventBridge's default retries (24 h) are kept: the alarm fires once per transition, so a
        # dropped event would leave the service asleep while clients keep getting 503s, and a late
        # wake is harmless (the idle check puts the service back to sleep).
        rule_invoking(
            self, "wake-rule",
            name=f"{name}-wake-on-request",
            description="Wake LiteLLM when its wake alarm goes to ALARM",
            pattern={
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "resources": [alarm.arn],
                "detail": {"state": {"value": ["ALARM"]}},
            },
            function=function,
            target_id="manual-control",
            statement_id="AllowWakeRule",
        )
