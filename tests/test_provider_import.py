"""core/provider_import.py: lazy provider import, its fallback, and byte-identical output."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import provider_import
from tests import conftest, prefetch
from tests.conftest import ROOT

MARKER = provider_import.EAGER_MARKER


def _fake_package(root, name, tail):
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text(
        "LOADED = True\n__all__ = ['alpha', 'beta']\n" + tail
    )
    (package / "alpha.py").write_text("VALUE = 'alpha'\n")
    (package / "beta.py").write_text("VALUE = 'beta'\n")


@pytest.fixture
def fake_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("fakeprov")]:
        del sys.modules[name]


def test_expected_shape_skips_only_the_eager_imports(fake_path):
    _fake_package(fake_path, "fakeprov_ok", f"{MARKER}\nfrom . import alpha\nfrom . import beta\n")
    assert provider_import._install_one("fakeprov_ok")
    package = sys.modules["fakeprov_ok"]
    assert package.LOADED is True
    assert "fakeprov_ok.alpha" not in sys.modules
    from fakeprov_ok import beta  # imported on demand

    assert beta.VALUE == "beta"
    assert "fakeprov_ok.alpha" not in sys.modules


@pytest.mark.parametrize("tail", [
    "from . import alpha\nfrom . import beta\n",                      # no marker: unknown shape
    f"{MARKER}\nfrom . import alpha\nregister_everything()\n",        # code after the imports
    f"{MARKER}\n",                                                     # marker with nothing after
])
def test_unexpected_shape_falls_back_to_the_normal_import(fake_path, tail):
    _fake_package(fake_path, "fakeprov_odd", "def register_everything():\n    pass\n" + tail)
    assert not provider_import._install_one("fakeprov_odd")
    assert "fakeprov_odd" not in sys.modules


def test_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv(provider_import.DISABLE_VARIABLE, "1")
    assert provider_import.install() == ()


# The longest serial chain of the session (one process, ~16 s of CPU): normal priority.
@prefetch.job("stock-import-synth", prefetch.COLLECTION, consumers={"stock_synth_outdir"}, niceness=0)
def _synthesize_with_the_stock_import(ctx: prefetch.Context) -> tuple[Path, subprocess.CompletedProcess]:
    """The whole app through main.py with the optimisation switched off (about 13 s of import),
    into a directory whose parents do not exist yet (main.prepare_outdir creates them)."""
    outdir = ctx.scratch / "not" / "yet" / "cdktf.out"
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir), **{provider_import.DISABLE_VARIABLE: "1"})
    return outdir, subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def stock_synth_outdir() -> Path:
    """cdktf.out of the whole app synthesized with the stock (eager) provider import."""
    outdir, process = prefetch.result("stock-import-synth")
    assert process.returncode == 0, process.stderr[-3000:]
    return outdir


# `make bench` also times the suite with the stock import; then there is no lazy import to check.
needs_lazy_import = pytest.mark.skipif(
    provider_import.disabled(), reason=f"{provider_import.DISABLE_VARIABLE} is set: this session uses the stock import")


@needs_lazy_import
def test_installed_provider_packages_have_the_expected_shape():
    """Measured in this very process by conftest, before any test imported a provider class."""
    assert conftest.PROVIDER_IMPORT_APPLIED == ("cdktf_cdktf_provider_aws", "cdktf_cdktf_provider_random")
    # _jsii and friends, not ~2,100 submodules
    assert len(conftest.PROVIDER_SUBMODULES_AFTER_PACKAGE_IMPORT) < 10, conftest.PROVIDER_SUBMODULES_AFTER_PACKAGE_IMPORT


@needs_lazy_import
def test_output_is_byte_identical_to_the_stock_import(synth_outdir, stock_synth_outdir):
    """The whole app synthesized with the stock eager import (in the background, see
    tests/prefetch.py) must equal the session's lazy-import synth, byte for byte."""
    stacks = sorted(p.name for p in (synth_outdir / "stacks").iterdir())
    assert stacks == sorted(p.name for p in (stock_synth_outdir / "stacks").iterdir())
    for name in stacks:
        lazy = synth_outdir / "stacks" / name / "cdk.tf.json"
        stock = stock_synth_outdir / "stacks" / name / "cdk.tf.json"
        assert filecmp.cmp(lazy, stock, shallow=False), f"{name}: lazy import changed the output"
