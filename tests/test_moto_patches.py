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
# Run by `make deploy-local` before it starts the emulator (pytest.ini keeps them out of make test).
pytestmark = pytest.mark.emulator


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
              "rds-unique-dbi-resource-id", "elasticache-transit-encryption-mode",
              "ec2-association-only-with-public-ip", "ec2-modify-instance-attribute-keeps-security-groups",
              "ec2-launch-template-own-tags", "ec2-security-group-rule-description", "rds-db-parameters-source",
              "ecs-service-settings", "ec2-instance-groups-from-network-interface", "ec2-no-user-data-is-absent",
              "elbv2-any-acm-certificate", "appautoscaling-tags", "rds-performance-insights",
              "lambda-dead-letter-config", "s3-delete-markers-outlive-versioning",
              "s3-eventbridge-notification-readback"}
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


def test_stock_moto_reports_no_transit_encryption_mode(stock):
    assert "TransitEncryptionMode" not in _replication_group(_elasticache())


def test_patched_transit_encryption_mode_is_required(patched):
    client = _elasticache()
    group = _replication_group(client)
    assert group["TransitEncryptionMode"] == "required"
    # The provider reads the mode from a member cluster.
    (member,) = client.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])["CacheClusters"]
    assert member["TransitEncryptionMode"] == "required"


# ---------------------------------------------------------------------- EC2


def _private_instance():
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="bastion", Description="d", VpcId=vpc)["GroupId"]
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t4g.nano", SubnetId=subnet,
                                 SecurityGroupIds=[group])["Instances"][0]["InstanceId"]
    return ec2, instance, group


def _describe(ec2, instance):
    return ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]


def test_stock_moto_gives_a_private_instance_an_empty_association(stock):
    ec2, instance, _ = _private_instance()
    (nic,) = _describe(ec2, instance)["NetworkInterfaces"]
    assert "PublicIp" not in nic.get("Association", {}) and "Association" in nic


def test_patched_private_instance_has_no_association(patched):
    ec2, instance, _ = _private_instance()
    (nic,) = _describe(ec2, instance)["NetworkInterfaces"]
    assert "Association" not in nic


def test_stock_moto_modify_instance_attribute_drops_security_groups(stock):
    ec2, instance, group = _private_instance()
    ec2.modify_instance_attribute(InstanceId=instance, InstanceInitiatedShutdownBehavior={"Value": "stop"})
    assert _describe(ec2, instance)["SecurityGroups"] == []


def test_patched_modify_instance_attribute_keeps_security_groups(patched):
    ec2, instance, group = _private_instance()
    ec2.modify_instance_attribute(InstanceId=instance, InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    assert [g["GroupId"] for g in _describe(ec2, instance)["SecurityGroups"]] == [group]
    attribute = ec2.describe_instance_attribute(InstanceId=instance, Attribute="instanceInitiatedShutdownBehavior")
    assert attribute["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    vpc = _describe(ec2, instance)["VpcId"]
    other = ec2.create_security_group(GroupName="other", Description="d", VpcId=vpc)["GroupId"]
    ec2.modify_instance_attribute(InstanceId=instance, Groups=[other])  # an explicit group change still works
    assert [g["GroupId"] for g in _describe(ec2, instance)["SecurityGroups"]] == [other]


def _launch_template_data():
    ec2 = boto3.client("ec2", region_name=REGION)
    template = ec2.create_launch_template(
        LaunchTemplateName="litellm-dev-bastion", LaunchTemplateData={"ImageId": "ami-12345678"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "Name", "Value": "b"}]}],
    )["LaunchTemplate"]
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])
    tags = ec2.describe_launch_templates(LaunchTemplateIds=[template["LaunchTemplateId"]])["LaunchTemplates"][0]["Tags"]
    return versions["LaunchTemplateVersions"][0]["LaunchTemplateData"], tags


def test_stock_moto_copies_a_launch_templates_own_tags_into_its_data(stock):
    data, _ = _launch_template_data()
    assert data["TagSpecifications"][0]["ResourceType"] == "launch-template"


def test_patched_launch_template_keeps_its_tags_on_itself(patched):
    data, tags = _launch_template_data()
    assert "TagSpecifications" not in data
    assert tags == [{"Key": "Name", "Value": "b"}]


def _referencing_rule():
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    alb = ec2.create_security_group(GroupName="alb", Description="d", VpcId=vpc)["GroupId"]
    service = ec2.create_security_group(GroupName="service", Description="d", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=service, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 4000, "ToPort": 4000,
        "UserIdGroupPairs": [{"GroupId": alb, "Description": "From the ALB"}]}])
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [service]}])["SecurityGroupRules"]
    (rule,) = [r for r in rules if not r["IsEgress"]]
    return rule


def test_stock_moto_drops_the_description_of_a_group_reference_rule(stock):
    assert "Description" not in _referencing_rule()


def test_patched_group_reference_rule_keeps_its_description(patched):
    rule = _referencing_rule()
    assert rule["Description"] == "From the ALB"
    assert rule["ReferencedGroupInfo"]["GroupId"].startswith("sg-")


# ---------------------------------------------------------------------- RDS parameters, ECS


def _db_parameters(**filters):
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_parameter_group(DBParameterGroupName="pg", DBParameterGroupFamily="postgres17", Description="d")
    rds.modify_db_parameter_group(DBParameterGroupName="pg", Parameters=[
        {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"}])
    return rds.describe_db_parameters(DBParameterGroupName="pg", **filters)["Parameters"]


def test_stock_moto_leaves_source_out_of_db_parameters(stock):
    (parameter,) = _db_parameters(Source="user")
    assert "Source" not in parameter


def test_patched_db_parameters_are_user_set(patched):
    (parameter,) = _db_parameters(Source="user")
    assert (parameter["ParameterName"], parameter["ParameterValue"], parameter["Source"]) == ("rds.force_ssl", "1", "user")
    assert boto3.client("rds", region_name=REGION).describe_db_parameters(
        DBParameterGroupName="pg", Source="engine-default")["Parameters"] == []


def _service(**settings):
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="litellm-dev-cluster")
    ecs.register_task_definition(family="litellm", containerDefinitions=[{"name": "litellm", "image": "x", "memory": 512}])
    ecs.create_service(cluster="litellm-dev-cluster", serviceName="litellm-dev-litellm", taskDefinition="litellm",
                       desiredCount=1, **settings)
    return ecs


def _described(ecs):
    return ecs.describe_services(cluster="litellm-dev-cluster", services=["litellm-dev-litellm"])["services"][0]


SERVICE_SETTINGS = {"enableECSManagedTags": True, "healthCheckGracePeriodSeconds": 300,
                    "availabilityZoneRebalancing": "DISABLED"}


def test_stock_moto_drops_ecs_service_settings(stock):
    described = _described(_service(**SERVICE_SETTINGS))
    assert not set(SERVICE_SETTINGS) & set(described)


def test_patched_ecs_service_keeps_its_settings(patched):
    ecs = _service(**SERVICE_SETTINGS)
    described = _described(ecs)
    assert {k: described.get(k) for k in SERVICE_SETTINGS} == SERVICE_SETTINGS
    ecs.update_service(cluster="litellm-dev-cluster", service="litellm-dev-litellm", healthCheckGracePeriodSeconds=60)
    assert _described(ecs)["healthCheckGracePeriodSeconds"] == 60


# ---------------------------------------------------------------------- prod: listener, autoscaling, PI

PLACEHOLDER_CERTIFICATE = f"arn:aws:acm:{REGION}:000000000000:certificate/00000000-0000-0000-0000-000000000000"


def _https_listener():
    ec2 = boto3.client("ec2", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    balancer = elbv2.create_load_balancer(Name="litellm-prod-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    return elbv2.create_listener(LoadBalancerArn=balancer, Protocol="HTTPS", Port=443,
                                 Certificates=[{"CertificateArn": PLACEHOLDER_CERTIFICATE}],
                                 DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])


def test_stock_moto_refuses_a_certificate_it_does_not_hold(stock):
    with pytest.raises(ClientError, match="CertificateNotFound"):
        _https_listener()


def test_patched_https_listener_takes_the_accounts_certificate(patched):
    listener = _https_listener()["Listeners"][0]
    assert listener["Certificates"] == [{"CertificateArn": PLACEHOLDER_CERTIFICATE}]


def _scalable_target():
    ecs = _service()
    assert ecs
    autoscaling = boto3.client("application-autoscaling", region_name=REGION)
    arn = autoscaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/litellm-dev-cluster/litellm-dev-litellm",
        ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=4,
        Tags={"Name": "litellm"})["ScalableTargetARN"]
    return autoscaling, arn


def test_stock_moto_has_no_autoscaling_tag_apis(stock):
    autoscaling, arn = _scalable_target()
    with pytest.raises(NotImplementedError):
        autoscaling.list_tags_for_resource(ResourceARN=arn)


def test_patched_autoscaling_target_tags(patched):
    autoscaling, arn = _scalable_target()
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Name": "litellm"}
    autoscaling.tag_resource(ResourceARN=arn, Tags={"Environment": "prod"})
    autoscaling.untag_resource(ResourceARN=arn, TagKeys=["Name"])
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Environment": "prod"}


def _performance_insights_instance():
    rds = boto3.client("rds", region_name=REGION)
    return rds, rds.create_db_instance(
        DBInstanceIdentifier="litellm-prod-postgres", Engine="postgres", DBInstanceClass="db.t4g.micro",
        MasterUsername="fake_user", MasterUserPassword="not-a-real-password", AllocatedStorage=20,
        EnablePerformanceInsights=True, PerformanceInsightsRetentionPeriod=7)["DBInstance"]


def test_stock_moto_forgets_performance_insights(stock):
    _, instance = _performance_insights_instance()
    assert not instance.get("PerformanceInsightsEnabled")


def test_patched_performance_insights_are_kept(patched):
    rds, instance = _performance_insights_instance()
    assert (instance["PerformanceInsightsEnabled"], instance["PerformanceInsightsRetentionPeriod"]) == (True, 7)
    rds.modify_db_instance(DBInstanceIdentifier="litellm-prod-postgres", EnablePerformanceInsights=False)
    (found,) = rds.describe_db_instances(DBInstanceIdentifier="litellm-prod-postgres")["DBInstances"]
    assert found["PerformanceInsightsEnabled"] is False


def _instance_as_the_provider_launches_it():
    """RunInstances the way hashicorp/aws 5.100 sends it for the bastion: a launch template whose
    UserData is empty, and the security group inside NetworkInterface.1."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="bastion", Description="d", VpcId=vpc)["GroupId"]
    template = ec2.create_launch_template(LaunchTemplateName="litellm-dev-bastion",
                                          LaunchTemplateData={"ImageId": "ami-12345678", "UserData": ""})["LaunchTemplate"]
    instance = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"}, MinCount=1, MaxCount=1,
        InstanceType="t4g.nano",
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "Groups": [group], "AssociatePublicIpAddress": False}],
    )["Instances"][0]["InstanceId"]
    return ec2, instance, group


def test_stock_moto_loses_instance_groups_and_invents_empty_user_data(stock):
    ec2, instance, _ = _instance_as_the_provider_launches_it()
    assert _describe(ec2, instance)["SecurityGroups"] == []
    assert ec2.describe_instance_attribute(InstanceId=instance, Attribute="userData")["UserData"] == {"Value": ""}


def test_patched_instance_keeps_groups_and_has_no_user_data(patched):
    ec2, instance, group = _instance_as_the_provider_launches_it()
    assert [g["GroupId"] for g in _describe(ec2, instance)["SecurityGroups"]] == [group]
    assert ec2.describe_instance_attribute(InstanceId=instance, Attribute="userData")["UserData"] == {}


# ---------------------------------------------------------------------- lambda dead letters


def _function_with_dead_letters():
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="litellm-prod-rotation-redeploy", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    queue = f"arn:aws:sqs:{REGION}:123456789012:litellm-prod-rotation-redeploy-dlq"
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(FunctionName="litellm-prod-rotation-redeploy", Runtime="python3.12", Role=role,
                        Handler="handler.handler", Code={"ZipFile": b"fake"}, DeadLetterConfig={"TargetArn": queue})
    return lam, queue


def test_stock_moto_drops_the_dead_letter_config(stock):
    lam, _ = _function_with_dead_letters()
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName="litellm-prod-rotation-redeploy")


def test_patched_function_keeps_its_dead_letter_config(patched):
    lam, queue = _function_with_dead_letters()
    name = "litellm-prod-rotation-redeploy"
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {"TargetArn": queue}
    other = queue.replace("-dlq", "-dlq2")
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": other})
    assert lam.get_function(FunctionName=name)["Configuration"]["DeadLetterConfig"] == {"TargetArn": other}


def _bucket_emptied_after_versioning_was_suspended():
    """What destroy does to the config bucket: the object goes (a delete marker), the versioning
    resource goes (suspended), then force_destroy deletes every version and marker."""
    s3 = boto3.client("s3", region_name=REGION)
    bucket = "litellm-dev-config-probe"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="config.yaml", Body=b"model_list: []\n")
    s3.delete_object(Bucket=bucket, Key="config.yaml")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    listed = s3.list_object_versions(Bucket=bucket)
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
               for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]
    assert len(objects) == 2
    s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    s3.delete_bucket(Bucket=bucket)
    return s3, bucket


def test_stock_moto_cannot_empty_a_bucket_whose_versioning_was_suspended(stock):
    with pytest.raises(AttributeError, match="dispose"):
        _bucket_emptied_after_versioning_was_suspended()


def test_patched_bucket_with_delete_markers_empties_and_goes(patched):
    s3, bucket = _bucket_emptied_after_versioning_was_suspended()
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def _bucket_with_eventbridge_events():
    s3 = boto3.client("s3", region_name=REGION)
    bucket = "litellm-prod-config-probe"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    return s3, bucket


def test_stock_moto_forgets_eventbridge_notifications_on_read(stock):
    s3, bucket = _bucket_with_eventbridge_events()
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket=bucket)


def test_patched_bucket_reports_its_eventbridge_notifications(patched):
    s3, bucket = _bucket_with_eventbridge_events()
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["EventBridgeConfiguration"] == {}
    # A bucket without any notification still answers with none.
    s3.create_bucket(Bucket="litellm-prod-other", CreateBucketConfiguration={"LocationConstraint": REGION})
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="litellm-prod-other")
