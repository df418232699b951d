"""Which generated secrets Terraform would persist: the offline plan of the dev stack (the one
with every generated secret: LiteLLM master and salt keys, Redis AUTH token, backend database)
is rendered with ``terraform show -json`` and searched for the stand-in values of every
generator.

A plan holds exactly the values Terraform writes to state on apply (write-only arguments are
null in both), so what the plan does not contain never reaches the state either. The harness
(tests/terraform_harness.py) replaces each ``random_*`` result with ``offline-placeholder`` and
each ephemeral password with ``offline-placeholder-<name>``; the test lists where either shows up
and compares with the README's list of what remains in state."""

from __future__ import annotations

import pytest

from tests import terraform_harness as th
from tests.test_terraform_loop import stack_run, synthesized_stacks, toolchain  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.terraform, pytest.mark.xdist_group("terraform")]

# What provider aws 5.100 cannot keep out of state (README "What remains in Terraform state"):
# aws_elasticache_replication_group has no write-only auth_token, so the token, and its copy in
# the secret the tasks read, stay. Everything else generated is write-only.
REMAINING = {
    ("aws_elasticache_replication_group", "auth_token"),
    ("aws_secretsmanager_secret_version", "secret_string"),
}


def _found(node, value: str, path: tuple = ()):
    """Paths (as tuples) inside ``node`` whose string contains ``value``."""
    if isinstance(node, str):
        if value in node:
            yield path
    elif isinstance(node, dict):
        for key, child in node.items():
            yield from _found(child, value, (*path, key))
    elif isinstance(node, list):
        for child in node:
            yield from _found(child, value, path)


def test_generated_secrets_stay_out_of_the_plan_except_the_redis_token(stack_run, toolchain):
    run = stack_run("dev")
    message = run.failure("plan")
    if message:
        pytest.fail(message, pytrace=False)
    ephemeral = [v for v in run.config.get("variable", {}).values() if v.get("ephemeral")]
    assert len(ephemeral) == 3, "master key, salt key and backend DB password come from ephemeral passwords"
    if "show" not in run.runs:
        th.run_steps(run, toolchain, ["show"])
    assert run.runs["show"].ok, run.runs["show"].report()
    plan = run.plan_json

    # The stand-ins are variable defaults, so `variables` and `configuration` echo them; every
    # other section (planned values, resource changes, outputs) is what apply would persist.
    persisted = {key: value for key, value in plan.items() if key not in ("variables", "configuration")}
    assert "planned_values" in persisted and "resource_changes" in persisted
    for variable in ephemeral:
        assert not list(_found(persisted, variable["default"])), f"{variable['default']} reached the plan"

    leaked = set()
    for resource in plan["planned_values"]["root_module"]["resources"]:
        for attribute, value in resource.get("values", {}).items():
            if list(_found(value, th.PLACEHOLDER)):
                leaked.add((resource["type"], attribute))
    # Only the Redis token (and its secret) hold a generated value; the old random_password
    # keys, backend password and its JSON secret would show up here as well.
    assert leaked == REMAINING
    redis_secret = [r for r in plan["planned_values"]["root_module"]["resources"]
                    if r["type"] == "aws_secretsmanager_secret_version"
                    and th.PLACEHOLDER in (r["values"].get("secret_string") or "")]
    assert len(redis_secret) == 1 and "cache" in redis_secret[0]["address"], redis_secret
