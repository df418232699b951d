"""tests/prefetch.py: which jobs a selection wants, ordering, dependencies, MANUAL inputs,
errors, priority and cleanup. Each test works on a fresh registry, never the session's."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from tests import prefetch


@pytest.fixture
def registry(monkeypatch):
    """A private registry for one test; its pool and scratch are cleaned up afterwards."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv(prefetch.KEEP_VARIABLE, raising=False)
    monkeypatch.setattr(prefetch, "_state", prefetch._State())
    yield prefetch._state
    prefetch.shutdown()


def item(name, *fixtures):
    return SimpleNamespace(name=name, fixturenames=list(fixtures))


def test_consumers_run_last_in_their_order_and_wanted_jobs_include_dependencies(registry):
    prefetch.job("base", prefetch.COLLECTION, consumers={"base_result"})(lambda ctx: "base")
    prefetch.job("top", prefetch.SYNTH, consumers={"top_result"}, needs=["base"])(lambda ctx: "top")
    prefetch.job("unused", prefetch.COLLECTION, consumers={"nobody_asks"})(lambda ctx: "unused")
    items = [item("a", "top_result"), item("b"), item("c", "tmp_path"), item("d", "top_result", "x"), item("e")]
    ordered = prefetch.order(items)
    assert [i.name for i in ordered] == ["b", "c", "e", "a", "d"]
    assert registry.wanted == {"top", "base"}  # base only because top needs it


def test_fire_starts_wanted_jobs_of_the_trigger_and_dependencies_hand_over_results(registry, tmp_path):
    prefetch.job("base", prefetch.COLLECTION, consumers={"b"})(lambda ctx: ctx.scratch.name)
    prefetch.job("top", prefetch.SYNTH, consumers={"t"}, needs=["base"])(
        lambda ctx: (ctx.need("base"), ctx.synth_outdir))
    prefetch.order([item("x", "t")])
    prefetch.fire(prefetch.COLLECTION)
    assert set(registry.futures) == {"base"}
    prefetch.fire(prefetch.SYNTH, tmp_path)
    assert prefetch.result("top") == ("base", tmp_path)


def test_a_job_that_nobody_started_runs_on_demand_and_only_once(registry):
    calls = []
    prefetch.job("lazy", prefetch.COLLECTION, consumers={"l"})(lambda ctx: calls.append(1) or len(calls))
    prefetch.order([])  # not wanted: fire() leaves it alone
    prefetch.fire(prefetch.COLLECTION)
    assert calls == []
    assert prefetch.result("lazy") == 1 and prefetch.result("lazy") == 1
    assert calls == [1]


def test_what_a_job_raises_reaches_the_consumer(registry):
    def broken(ctx):
        raise ValueError("terraform is not installed")

    prefetch.job("broken", prefetch.COLLECTION, consumers={"x"})(broken)
    with pytest.raises(ValueError, match="terraform is not installed"):
        prefetch.result("broken")


def test_manual_job_needs_its_input_and_starts_when_wanted(registry):
    prefetch.job("manual", prefetch.MANUAL, consumers={"m"})(lambda ctx: ctx.payload * 2)
    prefetch.order([item("x", "m")])
    with pytest.raises(RuntimeError, match="must call start"):
        prefetch.result("manual")
    with pytest.raises(ValueError, match="started with start"):
        prefetch.fire(prefetch.MANUAL)
    prefetch.start("manual", 21)
    assert "manual" in registry.futures  # wanted: started at once
    prefetch.start("manual", 1000)  # a second input is ignored
    assert prefetch.result("manual") == 42


def test_manual_job_that_is_not_wanted_waits_for_the_first_result_call(registry):
    prefetch.job("manual", prefetch.MANUAL, consumers={"m"})(lambda ctx: ctx.payload)
    prefetch.order([])
    prefetch.start("manual", "input")
    assert "manual" not in registry.futures
    assert prefetch.result("manual") == "input"


def test_only_manual_jobs_can_be_started_by_hand(registry):
    prefetch.job("auto", prefetch.COLLECTION, consumers={"a"})(lambda ctx: None)
    with pytest.raises(ValueError, match="not by hand"):
        prefetch.start("auto", None)


def test_under_xdist_nothing_starts_early(registry, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    prefetch.job("job", prefetch.COLLECTION, consumers={"j"})(lambda ctx: "done")
    ordered = prefetch.order([item("a", "j"), item("b")])
    assert [i.name for i in ordered] == ["b", "a"]
    prefetch.fire(prefetch.COLLECTION)
    assert registry.futures == {}
    assert prefetch.result("job") == "done"


def test_dependency_cycle_is_refused(registry):
    prefetch.job("a", prefetch.COLLECTION, consumers={"x"}, needs=["b"])(lambda ctx: None)
    prefetch.job("b", prefetch.COLLECTION, consumers={"y"}, needs=["a"])(lambda ctx: None)
    prefetch.order([item("i", "x")])
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        prefetch.fire(prefetch.COLLECTION)


def test_synth_job_without_the_synth_is_refused(registry):
    prefetch.job("needs-synth", prefetch.SYNTH, consumers={"n"})(lambda ctx: ctx.synth_outdir)
    with pytest.raises(RuntimeError, match="needs the session synth"):
        prefetch.result("needs-synth")


def test_unknown_trigger_is_refused():
    with pytest.raises(ValueError, match="trigger must be one of"):
        prefetch.Job("x", "whenever", lambda ctx: None, frozenset())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux behaviour")
def test_jobs_and_the_processes_they_start_run_at_lower_priority(registry):
    def probe(ctx):
        child = subprocess.run([sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"],
                               capture_output=True, text=True, check=True)
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), int(child.stdout)

    prefetch.job("probe", prefetch.COLLECTION, consumers={"p"})(probe)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    expected = max(own, prefetch.BACKGROUND_NICENESS)
    assert prefetch.result("probe") == (expected, expected)
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the main thread keeps its priority


def test_shutdown_removes_scratch_unless_asked_to_keep_it(registry, monkeypatch):
    prefetch.job("writes", prefetch.COLLECTION, consumers={"w"})(
        lambda ctx: (ctx.scratch / "file").write_text("x") and ctx.scratch)
    scratch = prefetch.result("writes")
    assert scratch.is_dir()
    assert prefetch.shutdown() is None
    assert not scratch.exists()

    monkeypatch.setattr(prefetch, "_state", prefetch._State())
    monkeypatch.setenv(prefetch.KEEP_VARIABLE, "1")
    prefetch.job("writes", prefetch.COLLECTION, consumers={"w"})(lambda ctx: ctx.scratch)
    scratch = prefetch.result("writes")
    kept = prefetch.shutdown()
    assert kept and scratch.is_dir() and str(scratch).startswith(kept)
    import shutil

    shutil.rmtree(kept)


def test_report_lists_finished_jobs_with_their_times(registry):
    prefetch.job("quick", prefetch.COLLECTION, consumers={"q"})(lambda ctx: None)
    prefetch.result("quick")
    (line,) = prefetch.report()
    assert line.startswith("quick") and line.count(" s") == 3
