"""tools/cost/estimate.py (`make cost`): the README quotes exactly what it prints for the shipped
files, every resource is priced, free, usage-based or listed as not priced, and the scenarios."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT
from tools.cost import estimate as cost


@pytest.fixture(scope="module")
def prices():
    return cost.load_prices()


def test_readme_quotes_the_table_make_cost_prints_for_the_shipped_files(synth_outdir, project, prices):
    report = cost.render(cost.estimate(synth_outdir, project, prices), prices)
    readme = (ROOT / "README.md").read_text()
    assert cost.readme_with(report, readme) == readme, (
        "README.md's cost section is out of date: run .venv/bin/python tools/cost/estimate.py --write")


def test_every_shipped_resource_type_is_known_to_the_price_table(synth_outdir, project, prices):
    for stack in cost.estimate(synth_outdir, project, prices):
        assert not stack.not_priced, (stack.stack, stack.not_priced)


def test_prices_are_dated_sourced_and_cover_both_regions(prices):
    assert prices["date"] and prices["currency"] == "USD"
    assert {"us-east-1", "ap-southeast-1"} <= set(prices["regions"])
    keys = {region: set(table) for region, table in prices["regions"].items()}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys
    assert all(url.startswith("https://aws.amazon.com/") for url in prices["sources"].values())
    assert not set(prices["free"]) & set(prices["usage_based"])


def test_the_report_names_the_rates_no_source_confirmed(prices):
    report = cost.render([], dict(prices, unconfirmed=["ap-southeast-1 ElastiCache node rates"]))
    assert f"Rates no source confirmed on {prices['date']}: ap-southeast-1 ElastiCache node rates." in report
    assert "no source confirmed" not in cost.render([], dict(prices, unconfirmed=[]))


def document(region="eu-west-1", **resources):
    return {"provider": {"aws": [{"region": region}]}, "resource": resources}


def test_an_unknown_resource_type_is_listed_not_dropped(project, prices):
    doc = document("us-east-1", aws_neptune_cluster={"graph": {}}, aws_db_instance={
        "litellm-database": {"instance_class": "db.x2iedn.32xlarge", "allocated_storage": 20}})
    estimate = cost.estimate_stack("dev", doc, prices, project)
    assert estimate.not_priced == {"aws_neptune_cluster": 1,
                                   "aws_db_instance (db.x2iedn.32xlarge: not in the price table)": 1}
    text = cost.render([estimate], prices)
    assert "Not priced (unknown to the price table): `aws_db_instance (db.x2iedn.32xlarge: not in the price table)` × 1, `aws_neptune_cluster` × 1." in text


def test_a_region_without_prices_is_an_error(project, prices):
    with pytest.raises(cost.PriceError, match="no prices for region 'eu-west-1'"):
        cost.estimate_stack("dev", document("eu-west-1"), prices, project)


def test_scaled_to_zero_boosted_and_always_on(project, prices):
    """dev scales to zero (litellm_idle_shutdown_minutes): idle pays no task, boosted pays the
    boost count for boost_hours_per_month plus, per session, the idle tail the tasks keep running
    after the last request until the idle check scales them to zero; always on the desired count
    all month."""
    region = prices["regions"]["us-east-1"]
    doc = document("us-east-1",
                   aws_nat_gateway={"nat": {}},
                   aws_ecs_task_definition={"td": {"cpu": "1024", "memory": "2048",
                                                   "runtime_platform": {"cpu_architecture": "ARM64"}}},
                   aws_ecs_service={"svc": {"desired_count": 1, "task_definition": "${aws_ecs_task_definition.td.arn}"}})
    dev = cost.estimate_stack("dev", doc, prices, project)
    task_hour = region["fargate_vcpu_hour"]["ARM64"] + 2 * region["fargate_gb_hour"]["ARM64"]
    nat = 730 * region["nat_gateway_hour"]
    env = next(e for e in project.environments if e.stack_name == "dev")
    tail = (env.litellm_idle_shutdown_minutes + env.litellm_idle_check_interval_minutes) / 60
    boosted_hours = prices["boost_hours_per_month"] + prices["boost_sessions_per_month"] * tail
    assert tail > 0
    assert dev.total(0, 730) == pytest.approx(nat)
    assert dev.boost_tasks == env.litellm_manual_override_desired_count
    assert dev.boost_hours == pytest.approx(boosted_hours)
    assert dev.total(dev.boost_tasks, dev.boost_hours) == pytest.approx(
        nat + dev.boost_tasks * boosted_hours * task_hour)
    assert dev.total(dev.tasks_always_on, 730) == pytest.approx(nat + 730 * task_hour)
    row = next(line for line in cost.render([dev], prices).splitlines() if line.startswith("| dev |"))
    assert row.split(" | ")[3] == f"{nat + dev.boost_tasks * boosted_hours * task_hour:,.2f}"
    prod = cost.estimate_stack("prod", doc, prices, project)
    assert prod.boost_tasks is None
    row = next(line for line in cost.render([prod], prices).splitlines() if line.startswith("| prod |"))
    assert row.startswith("| prod | us-east-1 | - | - | ")


def test_cluster_mode_cache_counts_every_node_of_every_shard(project, prices):
    rate = prices["regions"]["us-east-1"]["elasticache_node_hour"]["cache.t4g.small"]
    sharded = {"engine": "redis", "node_type": "cache.t4g.small", "num_node_groups": 3,
               "replicas_per_node_group": 1}
    replicas_only = {"engine": "redis", "node_type": "cache.t4g.small", "replicas_per_node_group": 2}
    for group, nodes in ((sharded, 6), (replicas_only, 3)):
        estimate = cost.estimate_stack("prod", document("us-east-1", aws_elasticache_replication_group={"c": group}),
                                       prices, project)
        assert [line.monthly for line in estimate.lines] == [pytest.approx(nodes * 730 * rate)], group


def test_container_insights_is_listed_as_usage_based(project, prices):
    on = {"setting": [{"name": "containerInsights", "value": "enabled"}]}
    off = {"setting": [{"name": "containerInsights", "value": "disabled"}]}
    listed = cost.estimate_stack("prod", document("us-east-1", aws_ecs_cluster={"on": on, "off": off}), prices, project)
    assert listed.usage_based == {"aws_ecs_cluster (Container Insights)": 1}
    assert not listed.lines and not listed.not_priced


def test_a_rotating_kms_key_says_what_rotation_adds(project, prices):
    doc = document("us-east-1", aws_kms_key={"rotating": {"enable_key_rotation": True}, "plain": {}})
    quantities = sorted(line.quantity for line in cost.estimate_stack("prod", doc, prices, project).lines)
    assert quantities == ["1 × 1.0", "1 × 1.0 (+1.0 after each of the first two yearly rotations)"]


def test_multi_az_database_and_valkey_discount(project, prices):
    region = prices["regions"]["us-east-1"]
    doc = document("us-east-1", aws_db_instance={"litellm-database": {
        "instance_class": "db.t4g.medium", "multi_az": True, "allocated_storage": 50, "storage_type": "gp3"}},
        aws_elasticache_replication_group={"cache": {"engine": "valkey", "node_type": "cache.t4g.small",
                                                     "num_cache_clusters": 2}})
    estimate = cost.estimate_stack("prod", doc, prices, project)
    monthly = {line.item: line.monthly for line in estimate.lines}
    assert monthly["RDS PostgreSQL db.t4g.medium (LiteLLM database, Multi-AZ)"] == pytest.approx(
        2 * 730 * region["rds_postgres_hour"]["db.t4g.medium"])
    assert monthly["RDS storage gp3 (LiteLLM database, Multi-AZ)"] == pytest.approx(2 * 50 * region["rds_storage_gb_month"]["gp3"])
    assert monthly["ElastiCache valkey cache.t4g.small"] == pytest.approx(
        2 * 730 * region["elasticache_node_hour"]["cache.t4g.small"] * 0.8)


def test_make_cost_runs_the_estimator():
    lines = subprocess.run(["make", "-n", "--no-print-directory", "cost"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout
    assert "tools/cost/estimate.py" in lines
