"""tools/deploy_local/moto_patches.py: each patch fills a gap that stock moto really has.

For every patch: a probe that STOCK moto (the version pinned in Pipfile.lock) still lacks or gets
wrong the behaviour, so a moto upgrade that fixes it fails here and the patch can be dropped; and
a check that the patched behaviour is what the AWS provider needs. In-process (mock_aws), fast.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tools.deploy_local import moto_patches

REGION = "ap-southeast-1"


@pytest.fixture
def stock():
    moto_patches.revert_all()
    with mock_aws():
        yield


@pytest.fixture
def patched():
    moto_patches.apply_all()
    try:
        with mock_aws():
            yield
    finally:
        moto_patches.revert_all()


def _elasticache():
    return boto3.client("elasticache", region_name=REGION)


def _subnet_group(client, name="sg-cache"):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    client.create_cache_subnet_group(CacheSubnetGroupName=name, CacheSubnetGroupDescription="d", SubnetIds=[subnet])
    return name


def _replication_group(client, **extra):
    return client.create_replication_group(
        ReplicationGroupId="litellm-dev-cache", ReplicationGroupDescription="d", Engine="valkey",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True, **extra)["ReplicationGroup"]


def test_every_patch_has_a_reason_and_a_probe_here():
    names = [patch.name for patch in moto_patches.PATCHES]
    assert len(names) == len(set(names))
    assert all(len(patch.reason) > 30 for patch in moto_patches.PATCHES)
    probed = {"elasticache-parameter-groups", "elasticache-delete-cache-subnet-group",
              "elasticache-replication-group-members", "elasticache-replication-group-deletion",
              "rds-unique-dbi-resource-id"}
    assert set(names) == probed, "a new patch needs its stock probe and patched check in this file"


def test_revert_restores_stock_moto():
    from moto.elasticache.responses import ElastiCacheResponse

    moto_patches.apply_all()
    assert hasattr(ElastiCacheResponse, "delete_cache_subnet_group")
    moto_patches.revert_all()
    assert not hasattr(ElastiCacheResponse, "delete_cache_subnet_group")


# ---------------------------------------------------------------------- cache parameter groups


def test_stock_moto_lacks_cache_parameter_groups(stock):
    with pytest.raises(NotImplementedError):
        _elasticache().create_cache_parameter_group(
            CacheParameterGroupName="litellm-dev-cache-valkey8", CacheParameterGroupFamily="valkey8", Description="d")


def test_patched_cache_parameter_group_lifecycle(patched):
    client = _elasticache()
    group = client.create_cache_parameter_group(
        CacheParameterGroupName="pg", CacheParameterGroupFamily="valkey8", Description="Settings",
        Tags=[{"Key": "Name", "Value": "pg"}])["CacheParameterGroup"]
    assert group["CacheParameterGroupFamily"] == "valkey8" and group["ARN"].endswith(":parametergroup:pg")
    client.modify_cache_parameter_group(CacheParameterGroupName="pg", ParameterNameValues=[
        {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}])
    (found,) = client.describe_cache_parameter_groups(CacheParameterGroupName="pg")["CacheParameterGroups"]
    assert found["Description"] == "Settings"
    parameters = client.describe_cache_parameters(CacheParameterGroupName="pg", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"], p["Source"]) for p in parameters] == [
        ("maxmemory-policy", "allkeys-lru", "user")]
    assert client.list_tags_for_resource(ResourceName=group["ARN"])["TagList"] == [{"Key": "Name", "Value": "pg"}]
    client.delete_cache_parameter_group(CacheParameterGroupName="pg")
    with pytest.raises(ClientError, match="CacheParameterGroupNotFound"):
        client.describe_cache_parameter_groups(CacheParameterGroupName="pg")


# ---------------------------------------------------------------------- cache subnet groups


def test_stock_moto_cannot_delete_a_cache_subnet_group(stock):
    client = _elasticache()
    name = _subnet_group(client)
    with pytest.raises(NotImplementedError):
        client.delete_cache_subnet_group(CacheSubnetGroupName=name)


def test_patched_cache_subnet_group_deletion(patched):
    client = _elasticache()
    name = _subnet_group(client)
    client.delete_cache_subnet_group(CacheSubnetGroupName=name)
    with pytest.raises(ClientError, match="CacheSubnetGroupNotFound"):
        client.describe_cache_subnet_groups(CacheSubnetGroupName=name)


# ---------------------------------------------------------------------- replication groups


def test_stock_moto_ignores_num_cache_clusters_and_creates_no_members(stock):
    client = _elasticache()
    group = _replication_group(client)
    assert len(group["MemberClusters"]) == 1, "moto now honours NumCacheClusters: drop that part of the patch"
    with pytest.raises(ClientError, match="CacheClusterNotFound"):
        client.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])


def test_patched_replication_group_has_its_member_clusters(patched):
    client = _elasticache()
    group = _replication_group(client, PreferredCacheClusterAZs=[f"{REGION}a", f"{REGION}b"])
    assert group["MemberClusters"] == ["litellm-dev-cache-001", "litellm-dev-cache-002"]
    for member, zone in zip(group["MemberClusters"], ("a", "b")):
        (cluster,) = client.describe_cache_clusters(CacheClusterId=member)["CacheClusters"]
        assert cluster["ReplicationGroupId"] == "litellm-dev-cache"
        assert cluster["AtRestEncryptionEnabled"] is True
        assert cluster["PreferredAvailabilityZone"] == f"{REGION}{zone}"


def test_stock_moto_never_finishes_deleting_a_replication_group(stock):
    client = _elasticache()
    _replication_group(client)
    client.delete_replication_group(ReplicationGroupId="litellm-dev-cache")
    (group,) = client.describe_replication_groups(ReplicationGroupId="litellm-dev-cache")["ReplicationGroups"]
    assert group["Status"] == "deleting"


def test_patched_replication_group_deletion_completes(patched):
    client = _elasticache()
    group = _replication_group(client)
    client.delete_replication_group(ReplicationGroupId="litellm-dev-cache")
    with pytest.raises(ClientError, match="ReplicationGroupNotFound"):
        client.describe_replication_groups(ReplicationGroupId="litellm-dev-cache")
    with pytest.raises(ClientError, match="CacheClusterNotFound"):
        client.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])


# ---------------------------------------------------------------------- RDS


def _two_instances():
    rds = boto3.client("rds", region_name=REGION)
    ids = []
    for name in ("litellm-dev-postgres", "litellm-dev-backend-postgres"):
        instance = rds.create_db_instance(
            DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t4g.micro",
            MasterUsername="fake_user", MasterUserPassword="not-a-real-password", AllocatedStorage=20)
        ids.append(instance["DBInstance"]["DbiResourceId"])
    return rds, ids


def test_stock_moto_gives_every_db_instance_the_same_resource_id(stock):
    _, ids = _two_instances()
    assert ids[0] == ids[1]


def test_patched_db_instances_have_distinct_resource_ids(patched):
    rds, ids = _two_instances()
    assert ids[0] != ids[1]
    (found,) = rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id", "Values": [ids[1]]}])["DBInstances"]
    assert found["DBInstanceIdentifier"] == "litellm-dev-backend-postgres"
