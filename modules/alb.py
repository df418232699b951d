"""The Application Load Balancer in front of LiteLLM (ECS Fargate tasks registered as ``ip`` targets).

Traffic: clients reach the ALB on 80 (and 443 with a certificate) from ``ingress_cidrs`` or from
admitted security groups; the ALB reaches the tasks only through egress rules added per target with
``allow_egress_to``, so its security group has no blanket egress at all.

Streaming: LLM responses stream for minutes, hence the long idle timeout and the
``least_outstanding_requests`` algorithm, which keeps one slow generation from piling new requests
onto the same task the way round robin does.

Access logs go to a bucket created here. ALB log delivery only supports SSE-S3 (AES256), not
SSE-KMS, and the bucket policy grants the ``logdelivery.elasticloadbalancing.amazonaws.com``
service principal, which AWS recommends in every commercial region. The legacy alternative, the
per-region ELB account from ``aws_elb_service_account``, is computed by the provider from a static
table without an AWS call, but fails ("unsupported AWS Region") in regions opened since August
2022 (e.g. eu-central-2, eu-south-2, ap-south-2, ap-southeast-4, il-central-1, me-central-1,
ca-west-1, mx-central-1). Only the China and GovCloud documentation still lists the per-account
form; this module targets the commercial partition.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.lb_listener_rule import (
    LbListenerRule,
    LbListenerRuleAction,
    LbListenerRuleActionFixedResponse,
    LbListenerRuleCondition,
    LbListenerRuleConditionPathPattern,
    LbListenerRuleConditionSourceIp,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleActionBlock,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationLoggingFilter,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilter,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilterCondition,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilterConditionActionCondition,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsQueryString,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)

from core.private_bucket import block_public_access, deny_insecure_transport
from core.security_group_rules import admit, reach
from core.tls_policies import ssl_policy_problem

HTTP_PORT = 80
HTTPS_PORT = 443
# AWS limits ALB and target group names to 32 characters and a bucket_prefix to 37.
MAX_LB_NAME = 32
MAX_BUCKET_PREFIX = 37
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

# /health/liveliness and /health/readiness answer from the proxy itself (readiness also from its
# DB connection); /health calls every configured model, costs money, needs a key and fails
# whenever one provider is down.
HEALTH_CHECK_MATCHER = "200"
# A new task turns healthy after 2 x 15 s; a hung one leaves after 3 x 15 s. The 10 s timeout
# leaves room for a readiness probe that queries PostgreSQL while the task is busy streaming.
HEALTH_CHECK_INTERVAL = 15
HEALTH_CHECK_TIMEOUT = 10
HEALTH_CHECK_HEALTHY_THRESHOLD = 2
HEALTH_CHECK_UNHEALTHY_THRESHOLD = 3

DESYNC_MODES = ("defensive", "strictest")
# Sent only when port 80 redirects or is closed: the operator then promised browsers HTTPS for good. No
# includeSubDomains, since other hosts of the same domain are none of this stack's business.
HSTS_HEADER = "max-age=31536000"

# Where the access-log bucket takes S3 server access logs of this environment's other buckets.
S3_SERVER_ACCESS_LOG_PREFIX = "s3-server-access/"

WAF_COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
WAF_KNOWN_BAD_INPUTS_RULE_SET = "AWSManagedRulesKnownBadInputsRuleSet"
# An ALB hands WAF only the first 8 KB of a body, and this rule blocks every body larger than
# that: nearly every real prompt. It stays in COUNT so its metric still shows how many there are.
WAF_ALWAYS_COUNT = ("SizeRestrictions_BODY",)
WAF_RATE_WINDOW_SECONDS = 300
ACCESS_LOG_NONCURRENT_DAYS = 30
# Headers through which LiteLLM accepts API keys (OpenAI, Anthropic, Azure, Google and LiteLLM's
# own forms) and the UI session cookie: WAF logs must never hold a credential.
WAF_REDACTED_HEADERS = (
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "x-litellm-api-key",
    "ocp-apim-subscription-key",
    "cookie",
)
# LiteLLM's admin surface: the UI and its login, key/user/team/org/customer/budget management,
# model and config editing, spend reports, stored credentials, and /health (calls every model).
# Client traffic (/v1/*, /chat/*, /embeddings, /health/readiness ...) never matches.
ADMIN_PATH_PATTERNS = (
    "/ui", "/ui/*", "/sso/*", "/login", "/key/*", "/user/*", "/team/*", "/organization/*",
    "/customer/*", "/end_user/*", "/model/*", "/config/*", "/global/*", "/spend/*", "/budget/*",
    "/credentials/*", "/health",
)
# An ALB rule may hold 5 condition values in all: allow rules pair 2 paths with up to 3 CIDRs.
ADMIN_ALLOW_PATHS_PER_RULE = 2
ADMIN_ALLOW_CIDRS_PER_RULE = 3
ADMIN_DENY_PATHS_PER_RULE = 5
ADMIN_ALLOW_PRIORITY = 100
ADMIN_DENY_PRIORITY = 1000
CLOUDWATCH_RETENTION_DAYS = frozenset({
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
})


def _chunks(items: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _cidr_slug(cidr: str) -> str:
    """``10.0.0.0/8`` -> ``10-0-0-0-8``: a construct id that stays put when other CIDRs change."""
    return re.sub(r"[./]", "-", cidr)


@dataclass(frozen=True, kw_only=True)
class LoadBalancerProps:
    name: str
    """Base of every resource name, e.g. ``litellm-dev`` (ALB ``litellm-dev-alb``, target group
    ``litellm-dev-4000``); lowercase letters, digits and hyphens."""
    vpc_id: str
    subnet_ids: tuple[str, ...]
    """Public subnets (private ones when ``internal``), in at least two AZs."""
    internal: bool = False
    ingress_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    """IPv4 CIDRs admitted on 80 (and 443 with a certificate). The ALB is IPv4-only."""
    allowed_security_group_ids: tuple[str, ...] = ()
    """Security groups admitted like the CIDRs (e.g. a VPN or bastion in front of an internal
    ALB); groups created by other constructs go through ``allow_from`` instead."""
    idle_timeout: int = 600
    """Seconds a connection may stay silent; streamed LLM responses need far more than 60."""
    deletion_protection: bool = False
    """Also keeps the access-log bucket: without protection ``terraform destroy`` empties it."""
    desync_mitigation_mode: str = "defensive"
    """``defensive`` (AWS's recommendation) or ``strictest``; see the note in ``LoadBalancer``."""
    certificate_arn: str | None = None
    """ACM certificate in the ALB's region; adds the HTTPS listener on 443."""
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    """One of ``core.tls_policies.ALB_TLS_POLICIES`` (TLS 1.2 or newer only)."""
    redirect_http_to_https: bool = False
    """Port 80 answers 301 to HTTPS (and 443 sends HSTS); needs ``certificate_arn``."""
    http_listener_enabled: bool = True
    """False: no port 80 at all (listener and ingress), HTTPS only, and 443 sends HSTS; needs
    ``certificate_arn``. An API client sends its key with the first request, so a redirect only
    answers after the key crossed the network in clear text; a closed port 80 receives nothing."""
    target_port: int = 4000
    health_check_path: str = "/health/liveliness"
    """Liveliness answers from the process alone; readiness answers 503 while the database is
    unreachable, so checking it would take every task out (and recycle it) in a database outage."""
    deregistration_delay: int = 120
    """Seconds a stopping task keeps its in-flight requests (streams) before the ALB drops it."""
    access_logs_enabled: bool = False
    access_logs_retention_days: int = 90
    """Days before access-log objects expire."""
    waf_enabled: bool = False
    waf_rate_limit_per_5_minutes: int = 2000
    """Requests per client IP per 5 minutes before WAF blocks that IP."""
    waf_count_only_rules: tuple[str, ...] = ()
    """More rules of AWSManagedRulesCommonRuleSet to only count (``SizeRestrictions_BODY`` is
    always counted), e.g. ``CrossSiteScripting_BODY`` when prompts carry HTML or code."""
    waf_logging_enabled: bool = False
    """Log blocked and counted requests to CloudWatch (``aws-waf-logs-<name>``), keys redacted."""
    waf_log_retention_days: int = 30
    waf_log_kms_key_arn: str | None = None
    """Customer-managed KMS key of the WAF log group."""
    admin_cidrs: tuple[str, ...] | None = None
    """Only these CIDRs reach LiteLLM's admin paths (``ADMIN_PATH_PATTERNS``); everyone else gets
    403 from the ALB. ``()`` closes them to everybody; None leaves them open like any path."""

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"LoadBalancerProps: {message}")

        if not _NAME_RE.match(self.name):
            fail(f"name {self.name!r} must be lowercase letters, digits and inner hyphens")
        if self.name.startswith("internal-"):
            fail("name must not start with 'internal-' (AWS reserves it for ALB names)")
        if not 1 <= self.target_port <= 65535:
            fail("target_port must be 1-65535")
        for kind, derived, limit in (
            ("load balancer", self.lb_name, MAX_LB_NAME),
            ("target group", self.target_group_name, MAX_LB_NAME),
            ("access-log bucket prefix", self.access_logs_bucket_prefix, MAX_BUCKET_PREFIX),
        ):
            if len(derived) > limit:
                fail(f"{kind} name {derived!r} is longer than {limit} characters; shorten name")
        if len(self.subnet_ids) < 2:
            fail("give at least two subnet_ids, in different AZs (an ALB requires it)")
        for cidr in self.ingress_cidrs:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as error:
                fail(f"ingress_cidrs: {cidr!r} is not a CIDR without host bits ({error})")
            if network.version != 4:
                fail(f"ingress_cidrs: {cidr!r} is IPv6, but the load balancer is IPv4-only")
        for cidr in self.admin_cidrs or ():
            try:
                ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as error:
                fail(f"admin_cidrs: {cidr!r} is not an IPv4 CIDR without host bits ({error})")
        if len(set(self.ingress_cidrs)) != len(self.ingress_cidrs):
            fail("ingress_cidrs lists a CIDR twice")
        if not 1 <= self.idle_timeout <= 4000:
            fail("idle_timeout must be 1-4000 seconds")
        if self.desync_mitigation_mode not in DESYNC_MODES:
            fail(f"desync_mitigation_mode must be one of {DESYNC_MODES}")
        if self.redirect_http_to_https and not self.certificate_arn:
            fail("redirect_http_to_https needs certificate_arn (there is no HTTPS to redirect to)")
        if not self.http_listener_enabled and not self.certificate_arn:
            fail("http_listener_enabled=False needs certificate_arn (the load balancer would have no listener)")
        if not self.http_listener_enabled and self.redirect_http_to_https:
            fail("redirect_http_to_https needs the HTTP listener (http_listener_enabled=False closes port 80)")
        if problem := ssl_policy_problem(self.ssl_policy):
            fail(f"ssl_policy: {problem}")
        path = self.health_check_path
        if not path.startswith("/") or path.rstrip("/") == "/health":
            fail(f"health_check_path {path!r}: use /health/readiness or /health/liveliness "
                 "(/health calls every model)")
        if not 0 <= self.deregistration_delay <= 3600:
            fail("deregistration_delay must be 0-3600 seconds")
        if self.access_logs_retention_days < 1:
            fail("access_logs_retention_days must be at least 1")
        if not 10 <= self.waf_rate_limit_per_5_minutes <= 2_000_000_000:
            fail("waf_rate_limit_per_5_minutes must be 10-2000000000")
        if any(not rule or rule in WAF_ALWAYS_COUNT for rule in self.waf_count_only_rules):
            fail(f"waf_count_only_rules: give non-empty rule names other than {WAF_ALWAYS_COUNT}")
        if self.waf_logging_enabled and not self.waf_enabled:
            fail("waf_logging_enabled needs waf_enabled")
        if self.waf_log_retention_days not in CLOUDWATCH_RETENTION_DAYS:
            fail(f"waf_log_retention_days {self.waf_log_retention_days} is not a CloudWatch Logs "
                 "retention value")

    @property
    def lb_name(self) -> str:
        return f"{self.name}-alb"

    @property
    def target_group_name(self) -> str:
        # The port is part of the name so that a port change (which replaces the group) can
        # create the new group before the old one, still attached to the listeners, is destroyed.
        return f"{self.name}-{self.target_port}"

    @property
    def access_logs_bucket_prefix(self) -> str:
        return f"{self.name}-alb-logs-"

    @property
    def https_enabled(self) -> bool:
        return self.certificate_arn is not None

    @property
    def https_only(self) -> bool:
        """Browsers may be told (HSTS) to use HTTPS for good: port 80 redirects or is closed."""
        return self.https_enabled and (self.redirect_http_to_https or not self.http_listener_enabled)


class LoadBalancer(Construct):
    """Exposes ``security_group_id``, ``arn``, ``arn_suffix``, ``dns_name``, ``zone_id``,
    ``target_group_arn``, ``target_group_arn_suffix``, ``request_count_resource_label`` (for
    ALBRequestCountPerTarget autoscaling), ``https_enabled``, ``url``, ``http_listener_arn`` (None when port 80 is closed),
    ``https_listener_arn`` (None without certificate), ``listeners`` (the ECS service must
    ``depends_on`` them: a target group without a listener cannot take a service),
    ``web_acl_arn`` / ``waf_log_group_name`` / ``access_logs_bucket`` (None when off),
    ``server_access_logs_target`` ((bucket, key prefix) where buckets named ``<name>-*`` of this
    account may send S3 server access logs; None without access logs), and the
    methods ``allow_from`` and ``allow_egress_to``.

    Desync mitigation: ``defensive`` (the default, AWS's recommendation) blocks requests
    classified "severe" and closes the client and target connections after "ambiguous" ones, which
    takes away what request smuggling needs. ``strictest`` admits only RFC 7230-compliant
    requests; a public LLM API is called by many hand-written HTTP clients, so that stays opt-in.
    """

    def __init__(self, scope: Construct, id_: str, *, props: LoadBalancerProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.name
        self.https_enabled: bool = props.https_enabled

        # A fixed name so operators find the group; nothing derives its name, description or
        # VPC from anything but props, so it is never replaced behind the ALB's back.
        security_group = SecurityGroup(
            self, "security-group",
            name=props.lb_name,
            description=f"LiteLLM load balancer {props.lb_name}",
            vpc_id=props.vpc_id,
            tags={"Name": props.lb_name},
        )
        self.security_group_id: str = security_group.id
        # The account, for the log bucket's confused-deputy condition, without an STS data source.
        self._account: str = security_group.owner_id
        for cidr in props.ingress_cidrs:
            for port in self._listener_ports():
                VpcSecurityGroupIngressRule(
                    self, f"ingress-{port}-{_cidr_slug(cidr)}",
                    security_group_id=security_group.id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"{'HTTPS' if port == HTTPS_PORT else 'HTTP'} from {cidr}",
                )
        for index, group_id in enumerate(props.allowed_security_group_ids):
            self.allow_from(f"allowed-security-group-{index}", group_id, "Allowed by configuration")

        access_logs = None
        self.access_logs_bucket: str | None = None
        self.server_access_logs_target: tuple[str, str] | None = None
        depends_on: list[Any] = []
        if props.access_logs_enabled:
            bucket, bucket_policy = self._access_logs_bucket()
            access_logs = LbAccessLogs(bucket=bucket.id, enabled=True)
            self.access_logs_bucket = bucket.bucket
            # ELB test-writes to the bucket when logging is switched on and fails without the policy.
            depends_on.append(bucket_policy)
            # Through the policy resource: S3 refuses a logging target whose policy is not there yet.
            self.server_access_logs_target = (bucket_policy.bucket, S3_SERVER_ACCESS_LOG_PREFIX)

        lb = Lb(
            self, "load-balancer",
            name=props.lb_name,
            load_balancer_type="application",
            internal=props.internal,
            ip_address_type="ipv4",
            security_groups=[security_group.id],
            subnets=list(props.subnet_ids),
            idle_timeout=props.idle_timeout,
            enable_deletion_protection=props.deletion_protection,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=props.desync_mitigation_mode,
            enable_http2=True,
            access_logs=access_logs,
            tags={"Name": props.lb_name},
            depends_on=depends_on or None,
        )
        self.arn: str = lb.arn
        self.arn_suffix: str = lb.arn_suffix
        self.dns_name: str = lb.dns_name
        self.zone_id: str = lb.zone_id
        self.url: str = f"{'https' if self.https_enabled else 'http'}://{lb.dns_name}"

        target_group = LbTargetGroup(
            self, "target-group",
            name=props.target_group_name,
            target_type="ip",
            protocol="HTTP",
            port=props.target_port,
            vpc_id=props.vpc_id,
            deregistration_delay=str(props.deregistration_delay),
            load_balancing_algorithm_type="least_outstanding_requests",
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=props.health_check_path,
                matcher=HEALTH_CHECK_MATCHER,
                interval=HEALTH_CHECK_INTERVAL,
                timeout=HEALTH_CHECK_TIMEOUT,
                healthy_threshold=HEALTH_CHECK_HEALTHY_THRESHOLD,
                unhealthy_threshold=HEALTH_CHECK_UNHEALTHY_THRESHOLD,
            ),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            tags={"Name": props.target_group_name},
        )
        self.target_group_arn: str = target_group.arn
        self.target_group_arn_suffix: str = target_group.arn_suffix
        self.request_count_resource_label: str = f"{lb.arn_suffix}/{target_group.arn_suffix}"

        forward = LbListenerDefaultAction(type="forward", target_group_arn=target_group.arn)
        if props.redirect_http_to_https:
            http_action = LbListenerDefaultAction(
                type="redirect",
                redirect=LbListenerDefaultActionRedirect(
                    protocol="HTTPS", port=str(HTTPS_PORT), status_code="HTTP_301",
                ),
            )
        else:
            http_action = forward
        self.http_listener_arn: str | None = None
        self.listeners: list[LbListener] = []
        http_listener = None
        if props.http_listener_enabled:
            http_listener = LbListener(
                self, "http-listener",
                load_balancer_arn=lb.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_action=[http_action],
                tags={"Name": f"{props.lb_name}-http"},
            )
            self.http_listener_arn = http_listener.arn
            self.listeners.append(http_listener)
        self.https_listener_arn: str | None = None
        if props.certificate_arn is not None:
            https_listener = LbListener(
                self, "https-listener",
                load_balancer_arn=lb.arn,
                port=HTTPS_PORT,
                protocol="HTTPS",
                ssl_policy=props.ssl_policy,
                certificate_arn=props.certificate_arn,
                default_action=[forward],
                routing_http_response_strict_transport_security_header_value=(
                    HSTS_HEADER if props.https_only else None
                ),
                tags={"Name": f"{props.lb_name}-https"},
            )
            self.https_listener_arn = https_listener.arn
            self.listeners.append(https_listener)

        if props.admin_cidrs is not None:
            forwarding = [(http_listener, "http")] if http_listener and not props.redirect_http_to_https else []
            if props.certificate_arn is not None:
                forwarding.append((https_listener, "https"))
            for listener, label in forwarding:
                self._fence_admin_paths(listener, label, target_group.arn)

        self.web_acl_arn: str | None = None
        self.waf_log_group_name: str | None = None
        if props.waf_enabled:
            self._add_waf(lb)

    def _fence_admin_paths(self, listener: LbListener, label: str, target_group_arn: str) -> None:
        """Admin paths: forwarded from ``admin_cidrs`` (lower priority numbers win), 403 for the
        rest. ALB conditions cannot say "not from", hence the allow rules before the deny rules."""
        cidrs = tuple(self.props.admin_cidrs or ())
        priority = ADMIN_ALLOW_PRIORITY
        for paths in _chunks(ADMIN_PATH_PATTERNS, ADMIN_ALLOW_PATHS_PER_RULE):
            for sources in _chunks(cidrs, ADMIN_ALLOW_CIDRS_PER_RULE):
                LbListenerRule(
                    self, f"{label}-admin-allow-{priority}",
                    listener_arn=listener.arn,
                    priority=priority,
                    action=[LbListenerRuleAction(type="forward", target_group_arn=target_group_arn)],
                    condition=[
                        LbListenerRuleCondition(path_pattern=LbListenerRuleConditionPathPattern(values=list(paths))),
                        LbListenerRuleCondition(source_ip=LbListenerRuleConditionSourceIp(values=list(sources))),
                    ],
                    tags={"Name": f"{self.props.lb_name}-{label}-admin-allow"},
                )
                priority += 1
        priority = ADMIN_DENY_PRIORITY
        for paths in _chunks(ADMIN_PATH_PATTERNS, ADMIN_DENY_PATHS_PER_RULE):
            LbListenerRule(
                self, f"{label}-admin-deny-{priority}",
                listener_arn=listener.arn,
                priority=priority,
                action=[LbListenerRuleAction(
                    type="fixed-response",
                    fixed_response=LbListenerRuleActionFixedResponse(
                        content_type="text/plain", status_code="403",
                        message_body="The LiteLLM admin interface is not reachable from this address.\n",
                    ),
                )],
                condition=[LbListenerRuleCondition(path_pattern=LbListenerRuleConditionPathPattern(values=list(paths)))],
                tags={"Name": f"{self.props.lb_name}-{label}-admin-deny"},
            )
            priority += 1

    def _listener_ports(self) -> tuple[int, ...]:
        ports = (HTTP_PORT,) if self.props.http_listener_enabled else ()
        return ports + ((HTTPS_PORT,) if self.https_enabled else ())

    def allow_from(self, id_: str, security_group_id: str, description: str) -> None:
        """Admit ``security_group_id`` on the listener ports; ``id_`` prefixes the rules' ids."""
        for port in self._listener_ports():
            admit(self, f"{id_}-{port}", group_id=self.security_group_id,
                  source_group_id=security_group_id, port=port, description=description)

    def allow_egress_to(
        self, id_: str, security_group_id: str, port: int, description: str | None = None
    ) -> None:
        """Let the ALB reach ``security_group_id`` on ``port`` (traffic and health checks)."""
        reach(self, id_, group_id=self.security_group_id, target_group_id=security_group_id,
              port=port, description=description or f"To targets on port {port}")

    def _access_logs_bucket(self) -> tuple[S3Bucket, S3BucketPolicy]:
        props = self.props
        # Bucket names are global across all AWS accounts: a fixed prefix keeps it recognisable,
        # the suffix Terraform appends keeps two accounts using the same props.name apart.
        bucket = S3Bucket(
            self, "access-logs-bucket",
            bucket_prefix=props.access_logs_bucket_prefix,
            force_destroy=not props.deletion_protection,
            tags={"Name": f"{props.lb_name}-logs"},
        )
        S3BucketServerSideEncryptionConfigurationA(
            self, "access-logs-bucket-encryption",
            bucket=bucket.id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                # SSE-S3: the only encryption ELB log delivery can write into.
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256",
                    )
                ),
            )],
        )
        public_access_block = block_public_access(self, "access-logs-bucket", bucket.id)
        # Logs are never overwritten, so versioning costs little: a deleted or overwritten log
        # object stays recoverable for ACCESS_LOG_NONCURRENT_DAYS (evidence after an incident).
        S3BucketVersioningA(
            self, "access-logs-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketLifecycleConfiguration(
            self, "access-logs-bucket-lifecycle",
            bucket=bucket.id,
            rule=[S3BucketLifecycleConfigurationRule(
                id="expire-access-logs",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                expiration=[S3BucketLifecycleConfigurationRuleExpiration(
                    days=props.access_logs_retention_days,
                )],
                noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=ACCESS_LOG_NONCURRENT_DAYS,
                )],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7,
                    )
                ],
            )],
        )
        policy = DataAwsIamPolicyDocument(
            self, "access-logs-bucket-policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="AllowElbLogDelivery",
                    effect="Allow",
                    actions=["s3:PutObject"],
                    # ELB writes under AWSLogs/<account-id>/: naming our account (the security
                    # group's owner, no STS call) keeps other accounts' load balancers from
                    # delivering here (confused deputy). That is the AWS-documented form for this
                    # principal; an aws:SourceAccount condition, which the ELB guide never shows,
                    # would risk silently losing every log if the delivery does not carry it.
                    resources=[f"{bucket.arn}/AWSLogs/{self._account}/*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                        type="Service",
                        identifiers=["logdelivery.elasticloadbalancing.amazonaws.com"],
                    )],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="AllowS3ServerAccessLogs",
                    effect="Allow",
                    actions=["s3:PutObject"],
                    resources=[f"{bucket.arn}/{S3_SERVER_ACCESS_LOG_PREFIX}*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(
                        type="Service", identifiers=["logging.s3.amazonaws.com"],
                    )],
                    # The S3 guide's form: only this account's buckets named like this stack's.
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[self._account],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike", variable="aws:SourceArn",
                            values=[f"arn:aws:s3:::{props.name}-*"],
                        ),
                    ],
                ),
                *deny_insecure_transport(bucket.arn),
            ],
        )
        # A bucket policy written while the public access block is still being applied can be
        # rejected; ordering them avoids a flaky first apply.
        bucket_policy = S3BucketPolicy(
            self, "access-logs-bucket-policy",
            bucket=bucket.id,
            policy=policy.json,
            depends_on=[public_access_block],
        )
        return bucket, bucket_policy

    def _add_waf(self, lb: Lb) -> None:
        props = self.props
        name = props.name

        # Typed rule blocks, so checkov, `terraform plan` and reviewers see each rule. The provider
        # types `statement` loosely (Any), so it is written here in the schema's own block names;
        # tools/hcl_export.py turns it back into blocks for the HCL exit route.
        def visibility(metric: str) -> Wafv2WebAclRuleVisibilityConfig:
            return Wafv2WebAclRuleVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True,
            )

        def managed(group: str, count_only: tuple[str, ...] = ()) -> dict[str, Any]:
            statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
            if count_only:
                statement["rule_action_override"] = [
                    {"name": rule, "action_to_use": {"count": {}}} for rule in count_only
                ]
            return {"managed_rule_group_statement": statement}

        # The group's own actions stay in force for every rule not overridden.
        keep_group_actions = Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone())
        rules = [
            # First, so a flood is cut off before any managed rule looks at it.
            Wafv2WebAclRule(
                name="rate-limit-per-ip",
                priority=0,
                action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
                statement={"rate_based_statement": {
                    "limit": props.waf_rate_limit_per_5_minutes,
                    "aggregate_key_type": "IP",
                    "evaluation_window_sec": WAF_RATE_WINDOW_SECONDS,
                }},
                visibility_config=visibility(f"{name}-rate-limit-per-ip"),
            ),
            Wafv2WebAclRule(
                name="aws-known-bad-inputs",
                priority=1,
                override_action=keep_group_actions,
                statement=managed(WAF_KNOWN_BAD_INPUTS_RULE_SET),
                visibility_config=visibility(f"{name}-aws-known-bad-inputs"),
            ),
            Wafv2WebAclRule(
                name="aws-common-rule-set",
                priority=2,
                override_action=keep_group_actions,
                statement=managed(WAF_COMMON_RULE_SET, WAF_ALWAYS_COUNT + props.waf_count_only_rules),
                visibility_config=visibility(f"{name}-aws-common-rule-set"),
            ),
        ]
        web_acl = Wafv2WebAcl(
            self, "web-acl",
            name=f"{name}-waf",
            description=f"Managed rules and a per-IP rate limit for {props.lb_name}",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=rules,
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{name}-waf",
                sampled_requests_enabled=True,
            ),
            tags={"Name": f"{name}-waf"},
        )
        Wafv2WebAclAssociation(self, "web-acl-association", resource_arn=lb.arn, web_acl_arn=web_acl.arn)
        self.web_acl_arn = web_acl.arn

        if props.waf_logging_enabled:
            # WAF accepts only log groups named aws-waf-logs-*. It adds the log group's resource
            # policy for delivery.logs.amazonaws.com itself on the first apply.
            log_group = CloudwatchLogGroup(
                self, "waf-log-group",
                name=f"aws-waf-logs-{name}",
                retention_in_days=props.waf_log_retention_days,
                kms_key_id=props.waf_log_kms_key_arn,
            )
            keep = [
                Wafv2WebAclLoggingConfigurationLoggingFilterFilter(
                    behavior="KEEP",
                    requirement="MEETS_ANY",
                    condition=[
                        Wafv2WebAclLoggingConfigurationLoggingFilterFilterCondition(
                            action_condition=(
                                Wafv2WebAclLoggingConfigurationLoggingFilterFilterConditionActionCondition(
                                    action=action,
                                )
                            ),
                        )
                        for action in ("BLOCK", "COUNT")
                    ],
                )
            ]
            redacted = [
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header),
                )
                for header in WAF_REDACTED_HEADERS
            ]
            # Query strings can carry a ?key= for Google-style clients.
            redacted.append(Wafv2WebAclLoggingConfigurationRedactedFields(
                query_string=Wafv2WebAclLoggingConfigurationRedactedFieldsQueryString(),
            ))
            Wafv2WebAclLoggingConfiguration(
                self, "waf-logging",
                resource_arn=web_acl.arn,
                log_destination_configs=[log_group.arn],
                # Allowed requests are in the ALB access logs already; WAF logs explain refusals.
                logging_filter=Wafv2WebAclLoggingConfigurationLoggingFilter(
                    default_behavior="DROP", filter=keep,
                ),
                redacted_fields=redacted,
            )
            self.waf_log_group_name = log_group.name
