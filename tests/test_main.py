"""main.py as cdktf runs it: a user mistake exits 1 with file and key, no traceback, no output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

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
