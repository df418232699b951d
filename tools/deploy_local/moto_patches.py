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
