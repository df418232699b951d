#!/usr/bin/env python
"""`make cost`: estimated monthly cost of every stack, from the synthesized Terraform JSON and
the dated, sourced price table tools/cost/prices.toml.

What each resource costs by existing (hours, nodes, GB provisioned, keys, secrets, alarms) is
priced; what is billed by use (requests, data transfer, logs, Lambda) is listed as usage-based,
and a resource type the table does not know is listed as "not priced", never dropped. LiteLLM's
Fargate tasks are shown in three scenarios: idle (scaled to zero: environments with
litellm_idle_shutdown_minutes), boosted (the boost count of tasks for boost_hours_per_month of use,
plus the idle tail after each of boost_sessions_per_month sessions: the tasks keep running until the
idle check scales them to zero) and always on (the desired count, or the autoscaling floor if
higher, all month).

``--write`` puts the report into README.md between the cost markers (tests/test_cost.py fails
when the README quotes something else).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from core.config import ConfigError, ProjectConfig, load_project  # noqa: E402

PRICES = Path(__file__).resolve().parent / "prices.toml"
README = ROOT / "README.md"
START, END = "<!-- cost:start -->", "<!-- cost:end -->"


class PriceError(Exception):
    pass


@dataclass
class Line:
    item: str
    quantity: str
    monthly: float


@dataclass
class StackEstimate:
    stack: str
    region: str
    lines: list[Line] = field(default_factory=list)
    task_hour: float = 0.0  # one LiteLLM task for one hour
    task_label: str = ""
    tasks_always_on: int = 0
    boost_tasks: int | None = None  # None: the environment never scales to zero
    boost_hours: float = 0.0  # hours a month the boosted tasks run, idle tail included
    boost_tail_hours: float = 0.0  # of which: running after the last request, per session
    usage_based: Counter = field(default_factory=Counter)
    not_priced: Counter = field(default_factory=Counter)

    @property
    def fixed(self) -> float:
        return sum(line.monthly for line in self.lines)

    def total(self, tasks: int, hours: float) -> float:
        return self.fixed + tasks * hours * self.task_hour


def _price(table: dict, key: str, what: str, region: str) -> float:
    if key not in table:
        raise PriceError(f"{PRICES.name}: no {what} price for {key!r} in {region}")
    return float(table[key])


def _count(value) -> int:
    return len(value) if isinstance(value, list) else 1


def estimate_stack(stack: str, document: dict, prices: dict, project: ProjectConfig) -> StackEstimate:
    providers = document.get("provider", {}).get("aws", [{}])
    region = providers[0].get("region", "")
    if region not in prices["regions"]:
        raise PriceError(f"{PRICES.name}: no prices for region {region!r} (stack {stack}); "
                         f"known: {', '.join(sorted(prices['regions']))}")
    p = prices["regions"][region]
    hours = prices["hours_per_month"]
    free, usage_based = set(prices["free"]), set(prices["usage_based"])
    result = StackEstimate(stack, region)
    resources: dict[str, dict] = document.get("resource", {})
    locals_ = document.get("locals", {})

    def add(item: str, quantity: str, monthly: float) -> None:
        result.lines.append(Line(item, quantity, monthly))

    secrets = alarms = alarm_metrics = 0

    def unknown_size(rtype: str, size: str) -> None:
        result.not_priced[f"{rtype} ({size}: not in the price table)"] += 1

    for rtype, items in sorted(resources.items(), key=lambda item: (_ORDER.get(item[0], len(_ORDER)), item[0])):
        for name, r in items.items():
            if rtype == "aws_nat_gateway":
                add("NAT gateway", f"730 h × {p['nat_gateway_hour']}", hours * p["nat_gateway_hour"])
            elif rtype == "aws_eip":
                add("public IPv4 address (NAT)", f"730 h × {p['public_ipv4_hour']}", hours * p["public_ipv4_hour"])
            elif rtype == "aws_lb":
                add("application load balancer", f"730 h × {p['alb_hour']} (+ LCUs by traffic)", hours * p["alb_hour"])
                if not r.get("internal", False):
                    ips = _count(r.get("subnets", []))
                    add("public IPv4 addresses (ALB, one per AZ)", f"{ips} × 730 h × {p['public_ipv4_hour']}",
                        ips * hours * p["public_ipv4_hour"])
            elif rtype == "aws_db_instance":
                cls, copies = r["instance_class"], 2 if r.get("multi_az") else 1
                if cls not in p["rds_postgres_hour"]:
                    unknown_size(rtype, cls)
                    continue
                role = "LiteLLM database" if "litellm" in name else "backend database"
                add(f"RDS PostgreSQL {cls} ({role}{', Multi-AZ' if copies == 2 else ''})",
                    f"{copies} × 730 h × {p['rds_postgres_hour'][cls]}", copies * hours * p["rds_postgres_hour"][cls])
                storage, kind = r.get("allocated_storage", 20), r.get("storage_type", "gp3")
                gb = _price(p["rds_storage_gb_month"], kind, "RDS storage", region)
                add(f"RDS storage {kind} ({role}{', Multi-AZ' if copies == 2 else ''})", f"{copies} × {storage} GB × {gb}",
                    copies * storage * gb)
                if r.get("manage_master_user_password"):
                    secrets += 1  # RDS keeps the master password in a secret of its own
            elif rtype == "aws_elasticache_replication_group":
                node, nodes = r["node_type"], _cache_nodes(r)
                if node not in p["elasticache_node_hour"]:
                    unknown_size(rtype, node)
                    continue
                rate = p["elasticache_node_hour"][node]
                if r.get("engine") == "valkey":
                    rate = round(rate * (1 - p["elasticache_valkey_discount"]), 6)
                add(f"ElastiCache {r.get('engine', 'redis')} {node}", f"{nodes} × 730 h × {rate}", nodes * hours * rate)
            elif rtype == "aws_ecs_service":
                task = _task_definition(resources, r)
                arch = task.get("runtime_platform", {}).get("cpu_architecture", "X86_64")
                vcpu, gb = int(task["cpu"]) / 1024, int(task["memory"]) / 1024
                result.task_hour = vcpu * p["fargate_vcpu_hour"][arch] + gb * p["fargate_gb_hour"][arch]
                result.task_label = f"LiteLLM task (Fargate {arch}, {vcpu:g} vCPU, {gb:g} GB)"
                floor = max((t.get("min_capacity", 0) for t in resources.get("aws_appautoscaling_target", {}).values()),
                            default=0)
                result.tasks_always_on = max(int(r.get("desired_count", 0)), int(floor))
            elif rtype == "aws_vpc_endpoint":
                if r.get("vpc_endpoint_type") == "Interface":
                    azs = _count(r.get("subnet_ids", []))
                    add(f"VPC interface endpoint ({r.get('service_name', name).split('.')[-1]})",
                        f"{azs} AZ × 730 h × {p['interface_endpoint_az_hour']}", azs * hours * p["interface_endpoint_az_hour"])
            elif rtype == "aws_wafv2_web_acl":
                rules = _waf_rules(r, locals_)
                add("WAF web ACL", f"1 × {p['waf_web_acl_month']} + {rules} rules × {p['waf_rule_month']} (+ requests)",
                    p["waf_web_acl_month"] + rules * p["waf_rule_month"])
            elif rtype == "aws_kms_key":
                # billed per key version: each of the first two yearly rotations adds one
                rotation = (f" (+{p['kms_key_month']} after each of the first two yearly rotations)"
                            if r.get("enable_key_rotation") else "")
                add("KMS customer-managed key", f"1 × {p['kms_key_month']}{rotation}", p["kms_key_month"])
            elif rtype == "aws_secretsmanager_secret":
                secrets += 1
            elif rtype == "aws_cloudwatch_metric_alarm":
                # a metric-math alarm is billed per metric it reads
                alarms += 1
                alarm_metrics += sum(1 for q in r.get("metric_query", []) if "metric" in q) or 1
            elif rtype == "aws_instance":
                size = r["instance_type"]
                rate = _price(p["ec2_hour"], size, "EC2", region)
                volume = _root_volume_gb(resources, r)
                add(f"bastion EC2 {size}: root volume (stopped except while a tunnel is open; {rate}/h running)",
                    f"{volume} GB × {p['ebs_gp3_gb_month']}", volume * p["ebs_gp3_gb_month"])
            elif rtype == "aws_ecs_cluster" and _container_insights(r):
                # custom metrics per cluster/service/task and performance log events
                result.usage_based["aws_ecs_cluster (Container Insights)"] += 1
            elif rtype in free:
                continue
            elif rtype in usage_based:
                result.usage_based[rtype] += 1
            else:
                result.not_priced[rtype] += 1
    if secrets:
        add("Secrets Manager secrets (incl. RDS-managed master passwords)", f"{secrets} × {p['secret_month']}",
            secrets * p["secret_month"])
    if alarms:
        add(f"CloudWatch alarms ({alarms})", f"{alarm_metrics} metrics × {p['alarm_metric_month']}",
            alarm_metrics * p["alarm_metric_month"])
    env = next((e for e in project.environments if e.stack_name == stack), None)
    if env is not None and env.litellm_idle_shutdown_minutes > 0:
        result.boost_tasks = env.litellm_manual_override_desired_count
        # scale-to-zero happens at the first idle check after the idle window, not at the last request
        tail = (env.litellm_idle_shutdown_minutes + env.litellm_idle_check_interval_minutes) / 60
        result.boost_tail_hours = tail
        result.boost_hours = prices["boost_hours_per_month"] + prices["boost_sessions_per_month"] * tail
    result.lines = _merge(result.lines)
    return result


# Report order: network, entry, data, compute, everything else.
_ORDER = {rtype: rank for rank, rtype in enumerate((
    "aws_nat_gateway", "aws_eip", "aws_vpc_endpoint", "aws_lb", "aws_wafv2_web_acl", "aws_db_instance",
    "aws_elasticache_replication_group", "aws_instance", "aws_kms_key"))}


def _merge(lines: list[Line]) -> list[Line]:
    """Identical items (three NAT gateways) become one line with a count."""
    merged: dict[tuple[str, str], list[Line]] = {}
    for line in lines:
        merged.setdefault((line.item, line.quantity), []).append(line)
    out = []
    for (item, quantity), group in merged.items():
        count = len(group)
        out.append(Line(item, f"{count} × ({quantity})" if count > 1 else quantity, sum(l.monthly for l in group)))
    return out


def _task_definition(resources: dict, service: dict) -> dict:
    reference = re.search(r"aws_ecs_task_definition\.([^.]+)\.", service["task_definition"])
    return resources["aws_ecs_task_definition"][reference.group(1)]


def _cache_nodes(group: dict) -> int:
    """Nodes of a replication group: shards × (primary + replicas) with cluster mode, else
    num_cache_clusters (primary and replicas of the one shard)."""
    if "num_node_groups" in group or "replicas_per_node_group" in group:
        return int(group.get("num_node_groups", 1)) * (1 + int(group.get("replicas_per_node_group", 0)))
    return int(group.get("num_cache_clusters", 1))


def _container_insights(cluster: dict) -> bool:
    settings = cluster.get("setting", [])
    return any(s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
               for s in (settings if isinstance(settings, list) else [settings]))


def _waf_rules(acl: dict, locals_: dict) -> int:
    rules = acl.get("rule_json") or acl.get("rule", [])
    if isinstance(rules, str):
        local = re.search(r"local\.([A-Za-z0-9_-]+)", rules)
        rules = locals_.get(local.group(1), []) if local else json.loads(rules)
    return _count(rules)


def _root_volume_gb(resources: dict, instance: dict) -> int:
    reference = re.search(r"aws_launch_template\.([^.]+)\.", json.dumps(instance.get("launch_template", {})))
    if reference:
        template = resources.get("aws_launch_template", {}).get(reference.group(1), {})
        for mapping in template.get("block_device_mappings", []):
            return int(mapping.get("ebs", {}).get("volume_size", 8))
    return int(instance.get("root_block_device", {}).get("volume_size", 8))


def estimate(outdir: Path, project: ProjectConfig, prices: dict) -> list[StackEstimate]:
    stacks = sorted(p.name for p in (outdir / "stacks").iterdir() if (p / "cdk.tf.json").is_file())
    return [estimate_stack(name, json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text()), prices, project)
            for name in stacks]


def _money(value: float) -> str:
    return f"{value:,.2f}"


def render(estimates: list[StackEstimate], prices: dict) -> str:
    hours, boost = prices["hours_per_month"], prices["boost_hours_per_month"]
    sessions = prices["boost_sessions_per_month"]
    out = [f"Estimated monthly cost in {prices['currency']}: on-demand list prices of {prices['date']} "
           f"(`tools/cost/prices.toml`, sources named there), {hours} hours a month. Not included: data "
           "transfer and NAT data processing, ALB LCUs, WAF requests, logs, Lambda, API Gateway, S3 and "
           "DynamoDB requests and storage, backups beyond the free allowance, taxes."
           + (f" Rates no source confirmed on {prices['date']}: {'; '.join(prices['unconfirmed'])}."
              if prices.get("unconfirmed") else ""), "",
           f"| stack | region | idle (scaled to zero) | boosted ({boost} h of use a month + idle tail) | always on |",
           "|---|---|---:|---:|---:|"]
    for e in estimates:
        always = e.total(e.tasks_always_on, hours)
        if e.boost_tasks is None:
            idle = boosted = "-"
        else:
            idle, boosted = _money(e.total(0, hours)), _money(e.total(e.boost_tasks, e.boost_hours))
        out.append(f"| {e.stack} | {e.region} | {idle} | {boosted} | {_money(always)} |")
    out.append("")
    out.append("\"-\": the environment does not scale to zero (`litellm_idle_shutdown_minutes` = 0). Boosted: "
               f"{boost} h of use on {sessions} days, and after each day's last request the tasks run until "
               "the idle check scales them to zero (`litellm_idle_shutdown_minutes` + "
               "`litellm_idle_check_interval_minutes`, at worst).")
    for e in estimates:
        out += ["", f"<details><summary>{e.stack}: what the figure is made of</summary>", ""]
        if e.lines or e.task_label:
            out += ["| item | quantity × USD | USD a month |", "|---|---|---:|"]
        else:
            out.append("Nothing that costs by existing.")
        out += [f"| {line.item} | {line.quantity} | {_money(line.monthly)} |" for line in e.lines]
        if e.task_label:
            if e.boost_tasks is not None:
                out.append(f"| {e.task_label}, boosted | {e.boost_tasks} × ({boost} h + {sessions} × "
                           f"{e.boost_tail_hours:.2f} h idle tail) × {e.task_hour:.5f} | "
                           f"{_money(e.boost_tasks * e.boost_hours * e.task_hour)} |")
            out.append(f"| {e.task_label}, always on | {e.tasks_always_on} × {hours} h × {e.task_hour:.5f} | "
                       f"{_money(e.tasks_always_on * hours * e.task_hour)} |")
        usage = ", ".join(f"`{t}` × {n}" for t, n in sorted(e.usage_based.items())) or "none"
        unknown = ", ".join(f"`{t}` × {n}" for t, n in sorted(e.not_priced.items())) or "none"
        out += ["", f"Usage-based, not priced: {usage}.", "", f"Not priced (unknown to the price table): {unknown}.",
                "", "</details>"]
    return "\n".join(out) + "\n"


def load_prices(path: Path = PRICES) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def synthesize(outdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LITELLM_STACKS", "SYNTH_HCL_OUTPUT")}
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=dict(env, CDKTF_OUTDIR=str(outdir)),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise PriceError(result.stderr.strip() or f"main.py exited {result.returncode}")


def readme_with(report: str, readme: str) -> str:
    head, found, rest = readme.partition(START)
    if not found:
        raise PriceError(f"README.md has no {START} marker")
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{report}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="also put the report into README.md")
    args = parser.parse_args()
    try:
        project = load_project(ROOT)
        prices = load_prices()
        with tempfile.TemporaryDirectory(prefix="cost-") as tmp:
            synthesize(Path(tmp))
            report = render(estimate(Path(tmp), project, prices), prices)
        if args.write:
            README.write_text(readme_with(report, README.read_text()))
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    except PriceError as error:
        print(error, file=sys.stderr)
        return 1
    print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
