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

# What the lazy import did in this process, captured before any test module imports a provider
# class (tests/test_provider_import.py checks both).
PROVIDER_IMPORT_APPLIED = provider_import.install()
import cdktf_cdktf_provider_aws  # noqa: E402,F401

PROVIDER_SUBMODULES_AFTER_PACKAGE_IMPORT = sorted(m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws."))

from core.config import ProjectConfig, load_project  # noqa: E402

from tests import prefetch  # noqa: E402


def pytest_collection_modifyitems(session, config, items):
    """Tests that check background work (see tests/prefetch.py) run last; work that needs
    nothing but the repository starts now."""
    items[:] = prefetch.order(items)
    prefetch.fire(prefetch.COLLECTION)


_kept_scratch: list[str] = []


def pytest_sessionfinish(session, exitstatus):
    kept = prefetch.shutdown()
    if kept:
        _kept_scratch.append(kept)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """LITELLM_PREFETCH_REPORT=1: when each background job ran (for tuning the overlap)."""
    if os.environ.get("LITELLM_PREFETCH_REPORT") and prefetch.report():
        terminalreporter.write_sep("-", "background jobs (seconds since the session started)")
        for line in prefetch.report():
            terminalreporter.write_line(line)
    for path in _kept_scratch:
        terminalreporter.write_line(f"background jobs' scratch kept ({prefetch.KEEP_VARIABLE}): {path}")


@pytest.fixture(scope="session")
def project() -> ProjectConfig:
    return load_project(ROOT)


@pytest.fixture(scope="session")
def synth_outdir(project, tmp_path_factory) -> Path:
    """Every stack of the shipped configuration, synthesized once, as ``make synth`` does."""
    import main

    outdir = tmp_path_factory.mktemp("cdktf.out")
    main.build_app(project, outdir=str(outdir)).synth()
    prefetch.fire(prefetch.SYNTH, outdir)  # terraform and friends start on it right away
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
