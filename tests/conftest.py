"""Shared fixtures: the project configuration and ONE synthesis of every stack per session.

Test modules must not synthesize the full app again: ask for ``synth_outdir`` / ``stack_json``.
Construct-level tests build their construct on ``Testing.app()`` in a module- or session-scoped
fixture (``Testing.synth_scope`` is broken in Python)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# jsii starts `node` from PATH: use the repo's pinned Node (npm package `node`), never the
# machine's end-of-life one, and stay offline.
_node_bin = ROOT / "node_modules" / ".bin"
if _node_bin.is_dir() and not os.environ.get("PATH", "").startswith(str(_node_bin)):
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("CHECKPOINT_DISABLE", "1")
os.environ.setdefault("NODE_OPTIONS", "--disable-warning=DEP0044")

from core import provider_import  # noqa: E402

provider_import.install()

from core.config import ProjectConfig, load_project  # noqa: E402

STOCK_SYNTH_TEST = "test_output_is_byte_identical_to_the_stock_import"
_stock_synth: dict = {}


def pytest_collection_modifyitems(session, config, items):
    """Start the stock-import synth (about 13 s of CPU, mostly waiting on imports) in the
    background as soon as we know the equivalence test will run, so it overlaps other tests."""

    if not any(item.name == STOCK_SYNTH_TEST for item in items):
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # every worker collects everything; start it only where the test runs (fixture)
    _start_stock_synth()


def _start_stock_synth() -> None:
    import subprocess
    import tempfile

    outdir = Path(tempfile.mkdtemp(prefix="stock-synth-"))
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir), **{provider_import.DISABLE_VARIABLE: "1"})
    _stock_synth["outdir"] = outdir
    _stock_synth["process"] = subprocess.Popen(
        [sys.executable, "main.py"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="session")
def stock_synth_outdir() -> Path:
    """cdktf.out of the whole app synthesized with the stock (eager) provider import."""
    if "process" not in _stock_synth:
        _start_stock_synth()
    process = _stock_synth["process"]
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]
    return _stock_synth["outdir"]


@pytest.fixture(scope="session")
def project() -> ProjectConfig:
    return load_project(ROOT)


@pytest.fixture(scope="session")
def synth_outdir(project, tmp_path_factory) -> Path:
    """Every stack of the shipped configuration, synthesized once, as ``make synth`` does."""
    import main

    outdir = tmp_path_factory.mktemp("cdktf.out")
    main.build_app(project, outdir=str(outdir)).synth()
    return outdir


@pytest.fixture(scope="session")
def stack_text(synth_outdir):
    """``stack_text(name)`` -> the stack's cdk.tf.json text (what ``Testing`` matchers take)."""

    def read(name: str) -> str:
        return (synth_outdir / "stacks" / name / "cdk.tf.json").read_text()

    return read


@pytest.fixture(scope="session")
def stack_json(stack_text):
    """``stack_json(name)`` -> the stack's parsed cdk.tf.json."""
    cache: dict[str, dict] = {}

    def parse(name: str) -> dict:
        if name not in cache:
            cache[name] = json.loads(stack_text(name))
        return cache[name]

    return parse
