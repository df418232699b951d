"""Every change `make deploy-local` makes to moto, in one place, each with its reason.

moto (pinned in Pipfile.lock) emulates AWS for the local apply. Where it lacks an API the AWS
provider calls, or answers differently from AWS in a way that breaks an apply, a destroy or the
empty second plan, a patch below fills the gap. Patches are applied once, at server start-up, by
``tools/deploy_local/moto_server.py``; nothing here runs in the app or in production.

``tests/test_moto_patches.py`` probes each gap on STOCK moto (so a moto upgrade that fixes one
fails the test and the patch can go) and checks the patched behaviour.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Patch:
    name: str
    reason: str
    apply: Callable[[], None]


_MISSING = object()
_saved: list[tuple[object, str, object]] = []


def _set(owner: object, name: str, value: object) -> None:
    """setattr that remembers the original, so tests can put stock moto back (:func:`revert_all`)."""
    _saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
    setattr(owner, name, value)


# ----------------------------------------------------------------------------------- ElastiCache


def _elasticache_parameter_groups() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.elasticache.exceptions import ElastiCacheException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse
    from moto.utilities.utils import get_partition

    class CacheParameterGroupNotFound(ElastiCacheException):
        code = "CacheParameterGroupNotFound"

        def __init__(self, name: str):
            super().__init__(f"CacheParameterGroup {name} not found.")

    class CacheParameterGroupAlreadyExists(ElastiCacheException):
        code = "CacheParameterGroupAlreadyExists"

        def __init__(self, name: str):
            super().__init__(f"CacheParameterGroup {name} already exists.")

    def groups(backend: ElastiCacheBackend) -> dict:
        if not hasattr(backend, "cache_parameter_groups"):
            backend.cache_parameter_groups = {}
        return backend.cache_parameter_groups

    def find(backend: ElastiCacheBackend, name: str) -> dict:
        if name not in groups(backend):
            raise CacheParameterGroupNotFound(name)
        return groups(backend)[name]

    def public(group: dict) -> dict:
        return {k: v for k, v in group.items() if k != "Parameters"}

    def create_cache_parameter_group(self) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        if name in groups(backend):
            raise CacheParameterGroupAlreadyExists(name)
        arn = (f"arn:{get_partition(backend.region_name)}:elasticache:{backend.region_name}:"
               f"{backend.account_id}:parametergroup:{name}")
        group = {"CacheParameterGroupName": name,
                 "CacheParameterGroupFamily": self._get_param("CacheParameterGroupFamily"),
                 "Description": self._get_param("Description"), "IsGlobal": False, "ARN": arn,
                 "Parameters": {}}
        groups(backend)[name] = group
        tags = self._get_param("Tags", [])
        if tags:
            backend.tagging_service.tag_resource(arn, tags)
        return ActionResult({"CacheParameterGroup": public(group)})

    def describe_cache_parameter_groups(self) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        found = [find(backend, name)] if name else list(groups(backend).values())
        return ActionResult({"CacheParameterGroups": [public(g) for g in found]})

    def modify_cache_parameter_group(self) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        group = find(backend, name)
        for item in self._get_param("ParameterNameValues", []):
            group["Parameters"][item["ParameterName"]] = item.get("ParameterValue")
        return ActionResult({"CacheParameterGroupName": name})

    def reset_cache_parameter_group(self) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        group = find(backend, name)
        if self._get_bool_param("ResetAllParameters"):
            group["Parameters"].clear()
        for item in self._get_param("ParameterNameValues", []):
            group["Parameters"].pop(item["ParameterName"], None)
        return ActionResult({"CacheParameterGroupName": name})

    def describe_cache_parameters(self) -> ActionResult:
        group = find(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
        # Only what the user set ("Source=user"); the engine defaults are not modelled.
        parameters = [{"ParameterName": k, "ParameterValue": v, "Source": "user", "IsModifiable": True,
                       "DataType": "string", "ChangeType": "immediate"} for k, v in group["Parameters"].items()]
        return ActionResult({"Parameters": parameters})

    def delete_cache_parameter_group(self) -> EmptyResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        group = find(backend, name)
        del groups(backend)[name]
        backend.tagging_service.delete_all_tags_for_resource(group["ARN"])
        return EmptyResult()

    for function in (create_cache_parameter_group, describe_cache_parameter_groups, modify_cache_parameter_group,
                     reset_cache_parameter_group, describe_cache_parameters, delete_cache_parameter_group):
        _set(ElastiCacheResponse, function.__name__, function)

    # Tag calls on a parameter group's ARN must not be refused as an invalid ARN.
    original_init = ElastiCacheBackend.__init__

    def init(self, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.arn_regex = __import__("re").compile(
            r"^arn:aws:elasticache:.*:[0-9]*:(cluster|snapshot|subnetgroup|replicationgroup|user|parametergroup):.*$")

    _set(ElastiCacheBackend, "__init__", init)


def _elasticache_delete_cache_subnet_group() -> None:
    from moto.core.responses import EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound
    from moto.elasticache.responses import ElastiCacheResponse

    def delete_cache_subnet_group(self) -> EmptyResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheSubnetGroupName")
        group = backend.cache_subnet_groups.pop(name, None)
        if group is None:
            raise CacheSubnetGroupNotFound(name)
        backend.tagging_service.delete_all_tags_for_resource(group.arn)
        return EmptyResult()

    _set(ElastiCacheResponse, "delete_cache_subnet_group", delete_cache_subnet_group)


def _elasticache_replication_group_members() -> None:
    from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup

    original_init = ReplicationGroup.__init__

    def init(self, *args, **kwargs) -> None:
        # Cluster mode disabled: NumCacheClusters is the primary plus its replicas.
        if (kwargs.get("cluster_mode") or "disabled") != "enabled" and kwargs.get("num_cache_clusters") \
                and not kwargs.get("replicas_per_node_group"):
            kwargs["replicas_per_node_group"] = kwargs["num_cache_clusters"] - 1
        original_init(self, *args, **kwargs)

    _set(ReplicationGroup, "__init__", init)

    original_create = ElastiCacheBackend.create_replication_group

    def create_replication_group(self, **kwargs) -> ReplicationGroup:
        group = original_create(self, **kwargs)
        zones = kwargs.get("preferred_cache_cluster_azs") or []
        for index, member in enumerate(group.member_clusters):
            cluster = CacheCluster(
                account_id=self.account_id, region_name=self.region_name, cache_cluster_id=member,
                replication_group_id=group.replication_group_id, az_mode="single-az",
                preferred_availability_zone=zones[index] if index < len(zones) else f"{self.region_name}a",
                num_cache_nodes=1, cache_node_type=group.cache_node_type, engine=group.engine,
                engine_version=group.engine_version, cache_parameter_group_name=group.cache_parameter_group_name,
                cache_subnet_group_name=group.cache_subnet_group_name, transit_encryption_enabled=group.transit_encryption_enabled,
                network_type=group.network_type, ip_discovery=group.ip_discovery, snapshot_name=None,
                preferred_maintenance_window=group.preferred_maintenance_window, port=group.port,
                notification_topic_arn=group.notification_topic_arn,
                auto_minor_version_upgrade=group.auto_minor_version_upgrade,
                snapshot_retention_limit=group.snapshot_retention_limit, snapshot_window=group.snapshot_window,
                auth_token=kwargs.get("auth_token"), outpost_mode=None, preferred_outpost_arn=None,
                preferred_availability_zones=None, cache_security_group_names=None,
                security_group_ids=group.security_group_ids, tags=None, snapshot_arns=None,
                preferred_outpost_arns=None, log_delivery_configurations=None,
                cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None)
            # The provider reads these from a member cluster, not from the group.
            cluster.replication_group_id = group.replication_group_id
            cluster.at_rest_encryption_enabled = group.at_rest_encryption_enabled
            cluster.security_groups = [{"SecurityGroupId": sg, "Status": "active"}
                                       for sg in group.security_group_ids or []]
            self.cache_clusters[member] = cluster
        return group

    _set(ElastiCacheBackend, "create_replication_group", create_replication_group)


def _elasticache_replication_group_deletion() -> None:
    from moto.elasticache.models import ElastiCacheBackend

    original_delete = ElastiCacheBackend.delete_replication_group

    def delete_replication_group(self, replication_group_id, retain_primary_cluster):
        members = list(self.replication_groups.get(replication_group_id).member_clusters) \
            if replication_group_id in self.replication_groups else []
        group = original_delete(self, replication_group_id, retain_primary_cluster)
        # AWS finishes the deletion after a while; moto left the group "deleting" forever, so the
        # provider waited until its timeout. Remove it (and its member clusters) at once.
        self.replication_groups.pop(replication_group_id, None)
        for member in members:
            self.cache_clusters.pop(member, None)
        self.tagging_service.delete_all_tags_for_resource(group.arn)
        return group

    _set(ElastiCacheBackend, "delete_replication_group", delete_replication_group)


# ------------------------------------------------------------------------------------------ RDS

_dbi_counter = itertools.count(1)


def _rds_unique_dbi_resource_id() -> None:
    from moto.rds.models import DBInstance

    original_init = DBInstance.__init__

    def init(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        # The provider finds an instance by DbiResourceId; one hard-coded id for every instance
        # made it read the wrong database when a stack has two.
        self.dbi_resource_id = f"db-MOTOLOCAL{next(_dbi_counter):016d}"

    _set(DBInstance, "__init__", init)


def _elasticache_transit_encryption_mode() -> None:
    from moto.elasticache.models import ElastiCacheBackend

    original_create = ElastiCacheBackend.create_replication_group

    def create_replication_group(self, **kwargs):
        group = original_create(self, **kwargs)
        # AWS reports "required" for a group created with in-transit encryption and no explicit
        # mode (the provider sends none on create); moto reported nothing, a diff on every plan.
        if group.transit_encryption_enabled and not group.transit_encryption_mode:
            group.transit_encryption_mode = "required"
        for member in group.member_clusters:  # the provider reads the mode from a member cluster
            if member in self.cache_clusters:
                self.cache_clusters[member].transit_encryption_mode = group.transit_encryption_mode
        return group

    _set(ElastiCacheBackend, "create_replication_group", create_replication_group)


# ------------------------------------------------------------------------------------------ EC2


def _ec2_association_only_with_public_ip() -> None:
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    original = NetworkInterface.association

    def association(self):
        # An empty <association/> element made the provider read associate_public_ip_address
        # as true for a private instance, which forces a replacement on every plan.
        return original.fget(self) or None

    _set(NetworkInterface, "association", property(association))


def _ec2_modify_instance_attribute_keeps_security_groups() -> None:
    from moto.ec2.responses.instances import InstanceResponse
    from moto.core.utils import camelcase_to_underscores

    original = InstanceResponse._security_grp_instance_attribute_handler

    def handler(self) -> bool:
        # moto's last-resort handler treats ANY unrecognised attribute (e.g.
        # InstanceInitiatedShutdownBehavior.Value) as "set the security groups to []".
        if self._get_param("Groups"):
            return original(self)
        instance_id = self._get_param("InstanceId")
        self.error_on_dryrun()
        for key, value in self._get_params().items():
            if isinstance(value, dict) and "Value" in value:
                self.ec2_backend.modify_instance_attribute(instance_id, camelcase_to_underscores(key), value["Value"])
        return True

    _set(InstanceResponse, "_security_grp_instance_attribute_handler", handler)


def _ec2_instance_groups_from_network_interface() -> None:
    from moto.ec2.models.instances import Instance

    original_init = Instance.__init__

    def init(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        # The provider passes an instance's security groups inside NetworkInterface.1 (with
        # AssociatePublicIpAddress); moto put them on the interface only, so DescribeInstances
        # listed none and vpc_security_group_ids showed a change on every plan.
        primary = getattr(self, "nics", {}).get(0)
        if not self.security_groups and primary is not None and primary._group_set:
            self.security_groups = list(primary._group_set)

    _set(Instance, "__init__", init)


def _ec2_no_user_data_is_absent() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.responses.instances import InstanceResponse

    original = InstanceResponse.describe_instance_attribute

    def describe_instance_attribute(self) -> ActionResult:
        if self._get_param("Attribute") == "userData":
            instance, value = self.ec2_backend.describe_instance_attribute(self._get_param("InstanceId"), "userData")
            if value is None or not str(value):
                # AWS answers <userData/>; moto's <userData><value/></userData> is an empty
                # script whose hash replaces the one the provider stored, a diff on every plan.
                return ActionResult({"InstanceId": instance.id, "UserData": {}})
        return original(self)

    _set(InstanceResponse, "describe_instance_attribute", describe_instance_attribute)



def _ec2_launch_template_own_tags_stay_out_of_its_data() -> None:
    from moto.ec2.models.launch_templates import LaunchTemplateBackend

    original = LaunchTemplateBackend.create_launch_template

    def create_launch_template(self, name, description, template_data, tag_spec, *args, **kwargs):
        # The provider always sends LaunchTemplateData.UserData, empty when there is none; moto
        # kept "" as user data that every instance launched from the template then inherited.
        if template_data.get("UserData") is not None and not str(template_data["UserData"]):
            template_data["UserData"] = None
        # moto copied the template's OWN tags (TagSpecification of type launch-template) into
        # the version data, where the provider reads them as tag_specifications to launch with.
        specs = template_data.get("TagSpecifications")
        if specs:
            template_data["TagSpecifications"] = [s for s in specs if s.get("ResourceType") != "launch-template"]
            if not template_data["TagSpecifications"]:
                del template_data["TagSpecifications"]
        return original(self, name, description, template_data, tag_spec, *args, **kwargs)

    _set(LaunchTemplateBackend, "create_launch_template", create_launch_template)


def _ec2_security_group_rule_description() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self):
        # A rule that references a security group keeps its description with the group pair;
        # moto only looked at the CIDR range, so every such rule lost its description.
        return self.ip_range.get("Description") or self.source_group.get("Description")

    _set(SecurityGroupRule, "description", property(description))


# ------------------------------------------------------------------------------------------ RDS (more)


def _rds_db_parameters_source() -> None:
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import DBParameterGroupNotFoundError
    from moto.rds.responses import RDSResponse

    def describe_db_parameters(self) -> ActionResult:
        name = self.params.get("DBParameterGroupName")
        groups = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})
        if not groups:
            raise DBParameterGroupNotFoundError(name)
        # Every parameter moto stores was set by the user; the provider reads only Source=user
        # (engine defaults are not modelled), and moto left Source out, so all looked removed.
        wanted = self.params.get("Source")
        parameters = [{**p, "Source": p.get("Source", "user")} for p in groups[0].parameters.values()]
        if wanted:
            parameters = [p for p in parameters if p["Source"] == wanted]
        return ActionResult({"Parameters": parameters})

    _set(RDSResponse, "describe_db_parameters", describe_db_parameters)


# ------------------------------------------------------------------------------------------ ECS


_ECS_SERVICE_SETTINGS = {"enableECSManagedTags": "enable_ecs_managed_tags",
                         "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
                         "availabilityZoneRebalancing": "availability_zone_rebalancing"}


def _ecs_service_settings() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse

    original_create = EC2ContainerServiceResponse.create_service
    original_update = EC2ContainerServiceResponse.update_service

    def remember(self, service_name: str, cluster: str) -> None:
        service = self.ecs_backend._get_service(cluster, service_name.split("/")[-1])
        for parameter, attribute in _ECS_SERVICE_SETTINGS.items():
            value = self._get_param(parameter)
            if value is not None:
                setattr(service, attribute, value)

    def create_service(self):
        # moto dropped these three settings, so they showed as a change on every plan.
        result = original_create(self)
        remember(self, self._get_param("serviceName"), self._get_param("cluster", "default"))
        return result

    def update_service(self):
        saved = {p: self._get_param(p) for p in _ECS_SERVICE_SETTINGS}
        result = original_update(self)
        if any(v is not None for v in saved.values()):
            remember(self, self._get_param("service"), self._get_param("cluster", "default"))
        return result

    _set(EC2ContainerServiceResponse, "create_service", create_service)
    _set(EC2ContainerServiceResponse, "update_service", update_service)



# ------------------------------------------------------------------------------------------ prod-only


def _elbv2_any_acm_certificate() -> None:
    import moto.elbv2.models as elbv2_models
    from moto.acm.models import acm_backends

    original = elbv2_models.register_certificate

    def register_certificate(account_id: str, region: str, arn_certificate: str, arn_user: str) -> None:
        # The certificate lives in the real account (it needs a domain), never in the emulator;
        # moto refused an HTTPS listener whose certificate its own ACM does not hold.
        if arn_certificate.startswith("arn:aws:acm:") and \
                arn_certificate not in acm_backends[account_id][region]._certificates:
            return
        original(account_id=account_id, region=region, arn_certificate=arn_certificate, arn_user=arn_user)

    _set(elbv2_models, "register_certificate", register_certificate)


def _appautoscaling_tags() -> None:
    import json as _json

    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    def tags_of(backend: ApplicationAutoscalingBackend) -> dict:
        if not hasattr(backend, "resource_tags"):
            backend.resource_tags = {}
        return backend.resource_tags

    original_register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self) -> str:
        answer = original_register(self)
        tags = self._get_param("Tags")
        if tags:
            tags_of(self.applicationautoscaling_backend).setdefault(_json.loads(answer)["ScalableTargetARN"], {}).update(tags)
        return answer

    def tag_resource(self) -> str:
        tags_of(self.applicationautoscaling_backend).setdefault(self._get_param("ResourceARN"), {}).update(
            self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self) -> str:
        stored = tags_of(self.applicationautoscaling_backend).get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            stored.pop(key, None)
        return "{}"

    def list_tags_for_resource(self) -> str:
        return _json.dumps({"Tags": tags_of(self.applicationautoscaling_backend).get(self._get_param("ResourceARN"), {})})

    # Tagging APIs are not implemented (HTTP 500) and RegisterScalableTarget drops its Tags.
    for function in (register_scalable_target, tag_resource, untag_resource, list_tags_for_resource):
        _set(ApplicationAutoScalingResponse, function.__name__, function)


def _rds_performance_insights() -> None:
    from moto.rds.models import DBInstance

    original_init = DBInstance.__init__
    original_update = DBInstance.update

    def remember(instance, settings: dict) -> None:
        if settings.get("EnablePerformanceInsights") is not None or settings.get("enable_performance_insights") is not None:
            enabled = settings.get("EnablePerformanceInsights", settings.get("enable_performance_insights"))
            instance.performance_insights_enabled = str(enabled).lower() == "true"
        for camel, snake, attribute in (
                ("PerformanceInsightsKMSKeyId", "performance_insights_kms_key_id", "performance_insights_kms_key_id"),
                ("PerformanceInsightsRetentionPeriod", "performance_insights_retention_period",
                 "performance_insights_retention_period")):
            value = settings.get(camel, settings.get(snake))
            if value is not None:
                setattr(instance, attribute, int(value) if attribute.endswith("period") else value)
        if getattr(instance, "performance_insights_enabled", False) and not getattr(
                instance, "performance_insights_retention_period", None):
            instance.performance_insights_retention_period = 7  # AWS's free tier default

    def init(self, *args, **kwargs) -> None:
        # moto dropped the Performance Insights settings, so prod showed them as a change on every plan.
        original_init(self, *args, **kwargs)
        self.performance_insights_enabled = False
        remember(self, kwargs)

    def update(self, **kwargs):
        result = original_update(self, **kwargs)
        remember(self, kwargs)
        return result

    _set(DBInstance, "__init__", init)
    _set(DBInstance, "update", update)


def _lambda_dead_letter_config() -> None:
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_configuration = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    def init(self, account_id, spec, *args, **kwargs) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.dead_letter_config = spec.get("DeadLetterConfig") or None

    def get_configuration(self, *args, **kwargs):
        configuration = original_configuration(self, *args, **kwargs)
        if getattr(self, "dead_letter_config", None):
            configuration["DeadLetterConfig"] = self.dead_letter_config
        return configuration

    def update_configuration(self, config_updates):
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"] or None
        return original_update(self, config_updates)

    # DeadLetterConfig was dropped, so prod's rotation function showed its dead-letter queue as
    # a change on every plan.
    _set(LambdaFunction, "__init__", init)
    _set(LambdaFunction, "get_configuration", get_configuration)
    _set(LambdaFunction, "update_configuration", update_configuration)


def _s3_delete_markers_outlive_versioning() -> None:
    from moto.s3.utils import _VersionedKeyStore

    def pop(self, key: str) -> None:
        for version in self.getlist(key, []):
            # A delete marker holds no data: nothing to dispose of.
            if hasattr(version, "dispose"):
                version.dispose()
        dict.pop(self, key)

    # Deleting the versions of an object in a bucket whose versioning was suspended after a
    # delete marker was written fails with HTTP 500: what destroy does to the config bucket when
    # the object and the versioning resource go before the bucket is emptied (force_destroy).
    _set(_VersionedKeyStore, "pop", pop)


def _s3_eventbridge_notification_readback() -> None:
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification

    def get_bucket_notification(self):
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        only_eventbridge = (configuration is not None and configuration.event_bridge is not None
                            and not (configuration.topic or configuration.queue or configuration.cloud_function))
        if not only_eventbridge:
            return original(self)
        # What AWS returns when EventBridge delivery is on: an empty EventBridgeConfiguration.
        self.data["Action"] = "GetBucketNotificationConfiguration"
        return self.serialized(ActionResult({"EventBridgeConfiguration": {}}))

    # GetBucketNotificationConfiguration leaves out EventBridgeConfiguration, so the config
    # bucket's `eventbridge = true` reads back false: a change on every plan.
    _set(S3Response, "get_bucket_notification", get_bucket_notification)


PATCHES: tuple[Patch, ...] = (
    Patch("elasticache-parameter-groups",
          "Create/Describe/Modify/Reset/DeleteCacheParameterGroup and DescribeCacheParameters are not "
          "implemented (HTTP 500); tags on a parametergroup ARN are refused as an invalid ARN.",
          _elasticache_parameter_groups),
    Patch("elasticache-delete-cache-subnet-group",
          "DeleteCacheSubnetGroup is not implemented, so destroy fails.",
          _elasticache_delete_cache_subnet_group),
    Patch("elasticache-replication-group-members",
          "NumCacheClusters is ignored (always one node), and the member clusters are not created "
          "(DescribeCacheClusters says CacheClusterNotFound; the provider reads at_rest_encryption_enabled from one).",
          _elasticache_replication_group_members),
    Patch("elasticache-replication-group-deletion",
          "DeleteReplicationGroup leaves the group 'deleting' forever, so destroy waits until its timeout.",
          _elasticache_replication_group_deletion),
    Patch("rds-unique-dbi-resource-id",
          "Every DB instance gets the same hard-coded DbiResourceId, and the provider looks instances up by it.",
          _rds_unique_dbi_resource_id),
    Patch("elasticache-transit-encryption-mode",
          "A replication group created with in-transit encryption reports no TransitEncryptionMode "
          "(AWS: required), a diff on every plan.",
          _elasticache_transit_encryption_mode),
    Patch("ec2-association-only-with-public-ip",
          "DescribeInstances gives every network interface an empty <association/>, read as a public "
          "IP: associate_public_ip_address flips to true and the private bastion is replaced on every plan.",
          _ec2_association_only_with_public_ip),
    Patch("ec2-modify-instance-attribute-keeps-security-groups",
          "ModifyInstanceAttribute with an attribute moto does not know (InstanceInitiatedShutdownBehavior) "
          "falls through to the security-group handler and removes every security group of the instance.",
          _ec2_modify_instance_attribute_keeps_security_groups),
    Patch("ec2-instance-groups-from-network-interface",
          "RunInstances with the security groups in NetworkInterface.1 (what the provider sends) leaves "
          "the instance's own group list empty; vpc_security_group_ids changes on every plan.",
          _ec2_instance_groups_from_network_interface),
    Patch("ec2-no-user-data-is-absent",
          "DescribeInstanceAttribute userData answers an empty value instead of none, replacing the "
          "provider's stored user_data hash: a diff on every plan.",
          _ec2_no_user_data_is_absent),
    Patch("ec2-launch-template-own-tags",
          "CreateLaunchTemplate copies the template's own tags into its launch data as tag_specifications, "
          "and keeps the provider's empty UserData as an empty script that instances inherit: diffs on every plan.",
          _ec2_launch_template_own_tags_stay_out_of_its_data),
    Patch("ec2-security-group-rule-description",
          "Security group rules that reference another group come back without their description, "
          "a diff on every plan.",
          _ec2_security_group_rule_description),
    Patch("rds-db-parameters-source",
          "DescribeDBParameters returns parameters without Source=user (and ignores the Source filter), "
          "so every parameter the stack sets looks removed on the next plan.",
          _rds_db_parameters_source),
    Patch("ecs-service-settings",
          "CreateService/UpdateService drop enableECSManagedTags, healthCheckGracePeriodSeconds and "
          "availabilityZoneRebalancing, a diff on every plan.",
          _ecs_service_settings),
    Patch("elbv2-any-acm-certificate",
          "CreateListener refuses an HTTPS certificate ARN that moto's own ACM does not hold; the real "
          "certificate is in the account (prod's placeholder ARN locally).",
          _elbv2_any_acm_certificate),
    Patch("appautoscaling-tags",
          "Application Auto Scaling TagResource/UntagResource/ListTagsForResource are not implemented "
          "and RegisterScalableTarget drops its Tags (prod's autoscaling).",
          _appautoscaling_tags),
    Patch("rds-performance-insights",
          "Performance Insights settings (enabled, KMS key, retention) are not stored, a diff on every prod plan.",
          _rds_performance_insights),
    Patch("lambda-dead-letter-config",
          "CreateFunction/UpdateFunctionConfiguration drop DeadLetterConfig, so prod's rotation "
          "function shows its dead-letter queue as a change on every plan.",
          _lambda_dead_letter_config),
    Patch("s3-delete-markers-outlive-versioning",
          "DeleteObjects on a bucket whose versioning was suspended after a delete marker was written "
          "fails with HTTP 500 (a delete marker has no dispose()): destroy cannot empty the config bucket.",
          _s3_delete_markers_outlive_versioning),
    Patch("s3-eventbridge-notification-readback",
          "GetBucketNotificationConfiguration leaves out EventBridgeConfiguration, so the config bucket's "
          "eventbridge = true reads back as false: a diff on every plan.",
          _s3_eventbridge_notification_readback),
)



def apply_all() -> tuple[Patch, ...]:
    """Apply every patch once per process; returns them (for the start-up banner)."""
    if not _saved:
        for patch in PATCHES:
            patch.apply()
    return PATCHES


def revert_all() -> None:
    """Put stock moto back (tests compare both in one process)."""
    while _saved:
        owner, name, original = _saved.pop()
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
