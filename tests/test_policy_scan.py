"""tools/policy_scan.py (make check): exceptions are per stack, parse errors and stale
exceptions fail, and checkov's own blind spot (exit 0 on unparseable JSON) is real."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys

import pytest

from tests import prefetch
from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("policy_scan", ROOT / "tools" / "policy_scan.py")
policy_scan = importlib.util.module_from_spec(spec)
sys.modules["policy_scan"] = policy_scan  # dataclasses look their module up there
spec.loader.exec_module(policy_scan)


def _report(*check_ids, passed=3, parsing_errors=0):
    return {
        "summary": {"passed": passed, "failed": len(check_ids), "parsing_errors": parsing_errors},
        "results": {"failed_checks": [
            {"check_id": c, "resource": f"aws_x.r{i}", "check_name": "n"} for i, c in enumerate(check_ids)
        ]},
    }


def test_exception_applies_only_to_the_stacks_it_names():
    exceptions = {("dev", "CKV_AWS_150"): "dev is disposable"}
    dev = policy_scan.evaluate("dev", _report("CKV_AWS_150"), exceptions)
    prod = policy_scan.evaluate("prod", _report("CKV_AWS_150"), exceptions)
    assert not dev.failed and len(dev.excepted) == 1
    assert [f["check_id"] for f in prod.failed] == ["CKV_AWS_150"]


def test_parse_errors_are_failures():
    result = policy_scan.evaluate("dev", _report(parsing_errors=1), {})
    assert result.parsing_errors == 1
    assert "could not parse" in policy_scan.report_text([result], [])


def test_excepted_findings_beyond_the_budget_fail_the_scan():
    exceptions = {("prod", "CKV_AWS_150"): "r", ("prod", "CKV_AWS_151"): "r"}
    prod = policy_scan.evaluate("prod", _report("CKV_AWS_150", "CKV_AWS_150", "CKV_AWS_151"), exceptions)
    assert not prod.failed and len(prod.excepted) == 3
    assert policy_scan.over_budget([prod], {"prod": 3}) == []
    (over,) = policy_scan.over_budget([prod], {"prod": 2})
    assert over == "prod: 3 excepted findings, budget 2"
    assert "OVER BUDGET" in policy_scan.report_text([prod], [], [over])
    assert policy_scan.over_budget([prod], {"dev": 0}) == []


def test_shipped_budget_holds_prod_to_issue_14s_fifteen(tmp_path):
    assert policy_scan.load_budget() == {"prod": 15}
    bad = tmp_path / "exceptions.toml"
    bad.write_text("[budget]\nprod = -1\n")
    with pytest.raises(SystemExit, match="budget.prod"):
        policy_scan.load_budget(bad)


def test_shipped_exceptions_are_reasoned_and_name_real_stacks(project):
    exceptions = policy_scan.load_exceptions()
    stacks = {"bootstrap", policy_scan.CI_BOOTSTRAP_STACK} | {env.stack_name for env in project.environments}
    assert exceptions
    for (stack, check), reason in exceptions.items():
        assert stack in stacks, f"{check}: unknown stack {stack}"
        assert check.startswith(("CKV_", "CKV2_")) and len(reason) > 20


# A synth process of its own (about 3.5 s): in the background from collection on.
@prefetch.job("ci-bootstrap-synth", prefetch.COLLECTION, consumers={"ci_bootstrap"})
def _synthesize_ci_bootstrap(ctx: prefetch.Context) -> dict:
    (ctx.scratch / "stacks").mkdir()
    policy_scan.synthesize_ci_bootstrap(ctx.scratch)
    return json.loads((ctx.scratch / "stacks" / policy_scan.CI_BOOTSTRAP_STACK / "cdk.tf.json").read_text())


@pytest.fixture(scope="module")
def ci_bootstrap() -> dict:
    return prefetch.result("ci-bootstrap-synth")


def test_the_scan_includes_bootstrap_with_the_github_ci_feature_on(ci_bootstrap):
    """Issue 14: the default synthesis has no CI roles, so checkov never saw the CI IAM."""
    stack = ci_bootstrap
    roles = [role["name"] for role in stack["resource"]["aws_iam_role"].values()]
    assert roles and all(name.endswith(("-plan", "-deploy")) for name in roles)


def test_exceptions_file_rejects_an_entry_without_reason(tmp_path):
    bad = tmp_path / "exceptions.toml"
    bad.write_text('[[exception]]\ncheck = "CKV_AWS_1"\nstacks = ["dev"]\n')
    with pytest.raises(SystemExit, match="needs check, stacks and reason"):
        policy_scan.load_exceptions(bad)


# The two checkov runs (about 3 s each, mostly checkov starting) happen in the background as soon
# as the session synth exists; see tests/prefetch.py.


@prefetch.job("checkov-required-version", prefetch.SYNTH, consumers={"required_version_report"})
def _scan_bootstrap_with_required_version(ctx: prefetch.Context) -> dict:
    stack = ctx.scratch / "stacks" / "bootstrap"
    stack.mkdir(parents=True)
    data = json.loads((ctx.synth_outdir / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
    data["terraform"]["required_version"] = ">= 1.6"
    (stack / "cdk.tf.json").write_text(json.dumps(data))
    work = ctx.scratch / "work"
    work.mkdir()
    return policy_scan.scan_stack(stack, work)


@prefetch.job("checkov-stale-exception", prefetch.SYNTH, consumers={"stale_exception_scan"})
def _scan_bootstrap_with_a_stale_exception(ctx: prefetch.Context):
    only_bootstrap = ctx.scratch / "out"
    shutil.copytree(ctx.synth_outdir / "stacks" / "bootstrap", only_bootstrap / "stacks" / "bootstrap")
    exceptions = policy_scan.load_exceptions()
    exceptions[("bootstrap", "CKV_AWS_999")] = "a check that never fires here"
    return policy_scan.run(only_bootstrap, exceptions)


@pytest.fixture(scope="module")
def required_version_report(synth_outdir) -> dict:
    return prefetch.result("checkov-required-version", synth_outdir)


@pytest.fixture(scope="module")
def stale_exception_scan(synth_outdir):
    return prefetch.result("checkov-stale-exception", synth_outdir)


def test_checkov_reports_required_version_as_a_parse_error_with_exit_0(required_version_report):
    """Verified, not trusted: `terraform.required_version` makes checkov's terraform_json parser
    fail, and checkov still exits 0; the gate counts it as a failure."""
    assert required_version_report["summary"]["parsing_errors"] >= 1
    assert policy_scan.evaluate("bootstrap", required_version_report, {}).parsing_errors >= 1


def test_stale_exception_is_reported(stale_exception_scan):
    results, stale = stale_exception_scan
    assert stale == ["bootstrap: CKV_AWS_999"]
    assert not results[0].failed, policy_scan.report_text(results, stale)
