"""main.py as cdktf runs it: a user mistake exits 1 with file and key, no traceback, no output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests import prefetch
from tests.conftest import ROOT
from tests.config_files import write_project


def run_app(project_root, outdir, extra_env=None):
    """Run a copy of main.py whose project root is ``project_root`` (code is linked in)."""
    shutil.copy(ROOT / "main.py", project_root / "main.py")
    for package in ("core", "modules", "stacks", "bootstrap"):
        target = project_root / package
        if not target.exists():
            target.symlink_to(ROOT / package, target_is_directory=True)
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir), **(extra_env or {}))
    return subprocess.run(
        [sys.executable, "main.py"], cwd=project_root, env=env,
        capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("overrides, expected", [
    ({"vpc_cidr": "10.0.0.0/33"}, "environments/dev.toml: vpc_cidr: '10.0.0.0/33' is not a valid IPv4 CIDR block"),
    ({"availability_zones": ["eu-west-1a"]}, "environments/dev.toml: availability_zones: needs at least two"),
    ({"nat_gateway_mode": "many"}, "environments/dev.toml: nat_gateway_mode: 'many' is not one of"),
])
def test_user_mistake_exits_1_without_traceback_or_output(tmp_path, overrides, expected):
    root = write_project(tmp_path / "project", {"dev": overrides, "prod": {}})
    outdir = tmp_path / "cdktf.out"
    result = run_app(root, outdir)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not outdir.exists(), "a rejected configuration must not write cdktf.out"


def test_invalid_toml_names_the_file(tmp_path):
    root = write_project(tmp_path / "project", {"dev": "aws_region = 'eu-west-1\n"})
    result = run_app(root, tmp_path / "out")
    assert result.returncode == 1
    assert "environments/dev.toml: (file): invalid TOML" in result.stderr
    assert "Traceback" not in result.stderr


from tests.test_config import BAD_ENVIRONMENTS  # noqa: E402


@pytest.mark.parametrize("case", BAD_ENVIRONMENTS)
def test_every_bad_environment_fails_the_app_cleanly(tmp_path, case, capsys, monkeypatch):
    """The whole bad-input suite through main.main(): exit 1, file and key named, nothing
    written. In-process (a subprocess per case cost ~4 s of CPU); the process-level contract
    (exit code, no traceback) is proven by the subprocess tests above, and an exception here
    would fail the test anyway."""
    import main

    overrides, key, _ = BAD_ENVIRONMENTS[case]
    root = write_project(tmp_path / "project", {"dev": overrides})
    outdir = tmp_path / "cdktf.out"
    monkeypatch.setenv("CDKTF_OUTDIR", str(outdir))
    assert main.main(root) == 1
    captured = capsys.readouterr()
    assert f"environments/dev.toml: {key}: " in captured.err
    assert captured.out == ""
    assert not outdir.exists() and not (root / "cdktf.out").exists()


def test_output_directory_parents_are_created(tmp_path):
    import main

    nested = tmp_path / "build" / "deeper" / "cdktf.out"
    assert main.prepare_outdir(str(nested)) is None
    assert nested.is_dir()
    assert main.prepare_outdir(None) is None and main.prepare_outdir("") is None


def test_output_directory_that_cannot_exist_fails_cleanly(tmp_path, capsys, monkeypatch):
    """`cdktf synth --output` under a file: exit 1 naming the directory, before anything is built."""
    import main

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("CDKTF_OUTDIR", str(blocker / "cdktf.out"))
    assert main.main(ROOT) == 1
    err = capsys.readouterr().err
    assert f"Output directory error; nothing was synthesized: {blocker / 'cdktf.out'}: cannot create it" in err


# ---------------------------------------------------------------- one stack per diff/deploy/destroy
def test_litellm_stacks_builds_only_the_named_stacks(project):
    import main

    only, problems = main.selected_stacks(project, "dev")
    assert problems == [] and only == {"dev"}
    app = main.build_app(project, outdir=None, only=only)
    assert [child.node.id for child in app.node.children] == ["dev"]
    app = main.build_app(project, outdir=None, only=frozenset({"bootstrap"}))
    assert [child.node.id for child in app.node.children] == ["bootstrap"]


def test_without_litellm_stacks_every_stack_is_built(project):
    import main

    assert main.selected_stacks(project, None) == (None, []) and main.selected_stacks(project, " ") == (None, [])


def test_an_unknown_stack_in_litellm_stacks_is_refused_before_anything_is_built(tmp_path):
    root = write_project(tmp_path / "project", {"dev": {}, "staging": {}})
    outdir = tmp_path / "cdktf.out"
    result = run_app(root, outdir, {"LITELLM_STACKS": "stagign"})
    assert result.returncode == 1
    assert ("LITELLM_STACKS: 'stagign' is not a stack of this project (did you mean 'staging'?); "
            "valid: bootstrap, dev, staging") in result.stderr
    assert "Traceback" not in result.stderr and not outdir.exists()


# ---------------------------------------------------------------- make's preflight
def preflight(tmp_path, argv, environments=None, backend=None):
    import main

    root = write_project(tmp_path / "project", environments or {"dev": {}}, backend)
    return main.run_preflight(argv, root)


def test_make_deploy_with_a_misspelt_environment_lists_the_valid_ones(tmp_path, capsys):
    assert preflight(tmp_path, ["deploy", "stagign"], {"dev": {}, "staging": {}}) == 1
    assert capsys.readouterr().err == ("ENV=stagign: 'stagign' is not a stack of this project (did you mean "
                                       "'staging'?); valid: bootstrap, dev, staging (bootstrap plus one per "
                                       "environments/<name>.toml)\n")


@pytest.mark.parametrize("action, stack", [("deploy", "bootstrap"), ("deploy", "dev"), ("diff", "dev"),
                                           ("destroy", "dev")])
def test_the_placeholder_state_bucket_is_refused(tmp_path, capsys, action, stack):
    shipped = (ROOT / "backend.toml").read_text()
    bucket = next(line.split('"')[1] for line in shipped.splitlines() if line.startswith("state_bucket_name"))
    assert preflight(tmp_path, [action, stack], backend={"state_bucket_name": bucket}) == 1
    assert capsys.readouterr().err.startswith(f"backend.toml: state_bucket_name: '{bucket}' is the shipped placeholder")


def test_a_real_bucket_passes_and_synth_never_needs_one(tmp_path, capsys):
    assert preflight(tmp_path, ["deploy", "dev"]) == 0
    assert preflight(tmp_path / "again", ["synth"], backend={"state_bucket_name": "change-me-tf-state"}) == 0
    assert capsys.readouterr().err == ""


def test_the_all_zero_account_placeholder_blocks_deploy_but_not_diff(tmp_path, capsys):
    certificate = "arn:aws:acm:eu-west-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"
    envs = {"dev": {"alb_https_certificate_arn": certificate}}
    assert preflight(tmp_path, ["deploy", "dev"], envs) == 1
    assert "environments/dev.toml: still holds an all-zero placeholder" in capsys.readouterr().err
    assert preflight(tmp_path / "again", ["diff", "dev"], envs) == 0


def test_a_config_error_is_printed_once_by_the_preflight(tmp_path, capsys):
    assert preflight(tmp_path, ["synth"], {"dev": {"vpc_cidr": "10.20.0.1/16"}}) == 1
    err = capsys.readouterr().err
    assert err.count("vpc_cidr") == 1 and "\x1b[" not in err


def test_makefile_checks_the_stack_before_the_cdktf_cli_and_synthesizes_only_it():
    """`make -n` prints the recipe without running it: the preflight comes first, and the CLI
    is told to synthesize only the named stack."""
    for target, stack in (("diff", "stagign"), ("deploy", "stagign"), ("destroy", "stagign"),
                          ("deploy-bootstrap", "bootstrap")):
        lines = subprocess.run(["make", "-n", "--no-print-directory", target, "ENV=stagign"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.splitlines()
        check = next(i for i, line in enumerate(lines) if "main.py --preflight" in line)
        cli = next(i for i, line in enumerate(lines) if "node_modules/.bin/cdktf" in line)
        assert check < cli and lines[check].endswith(f" {stack}"), lines
        assert f"LITELLM_STACKS={stack} " in lines[cli], lines


# ---------------------------------------------------------------- quiet and offline without make
def test_the_app_sets_what_the_makefile_sets_for_node(tmp_path):
    import main

    environ = {"PATH": "/usr/bin", "NODE_OPTIONS": "--max-old-space-size=8192"}
    main.quiet_node_environment(environ, root=tmp_path)
    assert environ["NODE_OPTIONS"] == "--max-old-space-size=8192 --disable-warning=DEP0044"
    assert environ["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] == "1"
    assert environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "20"
    pinned = tmp_path / "node_modules" / ".bin"
    pinned.mkdir(parents=True)
    (pinned / "node").write_text("")
    environ = {"PATH": "/usr/bin"}
    main.quiet_node_environment(environ, root=tmp_path)
    assert environ["PATH"] == f"{pinned}:/usr/bin"
    assert environ["NODE_OPTIONS"] == "--max-old-space-size=4096 --disable-warning=DEP0044"


# A whole app process (about 5 s): started at collection in the background (tests/prefetch.py).
@prefetch.job("main-by-hand", prefetch.COLLECTION, consumers={"main_by_hand"})
def _run_main_by_hand(ctx: prefetch.Context):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NODE_OPTIONS", "CHECKPOINT_DISABLE") and not k.startswith("JSII_")}
    env.update(CDKTF_OUTDIR=str(ctx.scratch / "out"), LITELLM_STACKS="bootstrap")
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    return result, (ctx.scratch / "out" / "stacks" / "bootstrap" / "cdk.tf.json").exists()


@pytest.fixture(scope="module")
def main_by_hand():
    return prefetch.result("main-by-hand")


def test_main_py_run_by_hand_prints_nothing(main_by_hand):
    """Without the Makefile's environment (NODE_OPTIONS, CHECKPOINT_DISABLE, PATH): no jsii
    banner (b'!!...' lines), no Node deprecation error. Only the small bootstrap stack, to keep
    it cheap."""
    result, synthesized = main_by_hand
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert synthesized


def test_make_synth_checks_the_config_first_and_asks_for_plain_output_without_a_terminal():
    """A config error is printed once by the preflight (not again by the CLI, with timestamps),
    and cdktf's spinner is off when the output is not a terminal (CI=1: the CLI's switch)."""
    for target in ("synth", "diff"):
        lines = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.splitlines()
        check = next(i for i, line in enumerate(lines) if "main.py --preflight" in line)
        cli = next(i for i, line in enumerate(lines) if f"node_modules/.bin/cdktf {target}" in line)
        assert check < cli, lines
        plain = "if [ ! -t 1 ]; then export CI=1; fi;"
        assert plain in lines[cli] and lines[cli].index(plain) < lines[cli].rindex("node_modules/.bin/cdktf"), lines[cli]
    hcl = subprocess.run(["make", "-n", "--no-print-directory", "hcl"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "main.py --preflight synth" in hcl and "tools/hcl_export.py" in hcl


def test_scripts_cdktf_runs_the_pinned_cli_offline_and_plain(tmp_path):
    """scripts/cdktf: what the CLI process itself needs and the app cannot set for it (telemetry
    off, no spinner without a terminal), run from anywhere."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "cdktf", tmp_path / "scripts" / "cdktf")
    bin_dir = tmp_path / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "cdktf"
    fake.write_text('#!/bin/sh\necho "args=$* pwd=$(pwd) checkpoint=$CHECKPOINT_DISABLE ci=$CI path=${PATH%%:*}"\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("CHECKPOINT_DISABLE", "CI")}
    result = subprocess.run([str(tmp_path / "scripts" / "cdktf"), "diff", "dev"], cwd="/", env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"args=diff dev pwd={tmp_path} checkpoint=1 ci=1 path={bin_dir}"
    fake.unlink()
    missing = subprocess.run([str(tmp_path / "scripts" / "cdktf"), "synth"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "run `make install` first" in missing.stderr
def test_bootstrap_gets_the_environments_and_their_name_prefix(tmp_path):
    """Issue 14 (Low): main.py built bootstrap without the environments' name_prefix, so the CI
    roles and the workload boundary named litellm-* whatever the environments were called."""
    import json

    from cdktf import Testing

    import main
    from core.config import load_project

    root = write_project(tmp_path / "project", {"dev": {"name_prefix": "acme"}})
    app = main.build_app(load_project(root), outdir=str(tmp_path / "out"))
    bootstrap = json.loads(Testing.synth(app.node.find_child("bootstrap")))
    names = [p["name"] for p in bootstrap["resource"]["aws_iam_policy"].values()]
    assert names == ["acme-workload-boundary"]
