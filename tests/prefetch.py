"""Work that mostly waits on other processes, started early so it overlaps the in-process tests.

Why: the suite is CPU-bound on a 2-core machine. In-process tests (jsii synths, moto) keep one
core busy; terraform, a second synth through the stock import, the cdktf CLI and friends are
separate processes that can use the other core, if they start early instead of when the test
that checks them is reached. So a test module declares such work as a :class:`Job`; the session
starts every job whose tests are selected as soon as its input exists (at collection, or right
after the session's single synthesis), and :func:`order` moves the tests that consume a job to
the end of the run, by which time the result is usually ready.

Rules for a job body (it runs in a background thread):
* no jsii / cdktf calls (the jsii kernel is not thread-safe: synthesize in the main thread and
  hand the output directory over), no pytest fixtures, no monkeypatching of shared state;
* write only below ``ctx.scratch``; return a result (or raise) for the consuming fixture to judge.

Jobs run at a lower CPU priority (nice 10, inherited by what they start), so they use what the
in-process tests leave and never slow those down.

Under pytest-xdist every worker collects every test but runs only some, so nothing starts early
there: :func:`result` runs a job on demand, which is simply the synchronous behaviour.

``LITELLM_PREFETCH_REPORT=1`` prints when each job ran; ``LITELLM_PREFETCH_KEEP=1`` keeps their
scratch directories (terraform working dirs, extra synths) for a post-mortem.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

COLLECTION = "collection"  # inputs exist once the tests are known (the repository itself)
SYNTH = "synth"  # needs the session synthesis (conftest's ``synth_outdir``)
MANUAL = "manual"  # a fixture builds the input (e.g. synthesizes a construct) and calls start()
TRIGGERS = (COLLECTION, SYNTH, MANUAL)
# Background work yields the CPU to the in-process tests: on Linux a thread has its own nice
# value and passes it on to the threads and processes it starts, so terraform, checkov and the
# extra synths only use what the main thread leaves.
BACKGROUND_NICENESS = 10


@dataclass(frozen=True)
class Context:
    scratch: Path  # a fresh directory for this job alone
    synth_outdir: Path | None  # the session's cdktf.out (SYNTH jobs)
    selected: tuple[Any, ...]  # the selected pytest items, read-only
    dependencies: dict[str, Future] = field(default_factory=dict)
    payload: Any = None  # what start() was given (MANUAL jobs)

    def need(self, key: str, timeout: float = 1800) -> Any:
        """The result of a job named in ``needs`` (re-raises what it raised)."""
        return self.dependencies[key].result(timeout)


@dataclass(frozen=True)
class Job:
    key: str
    trigger: str
    run: Callable[[Context], Any]
    # Fixtures that hand the result to tests: a selected test using one of them wants the job,
    # and runs after the in-process tests.
    consumers: frozenset[str]
    needs: tuple[str, ...] = ()  # keys of jobs whose results this one waits for
    # Nice value of the job's thread and of what it starts. The default yields to the in-process
    # tests; 0 is for the longest serial chain, which then has the second core to itself and
    # finishes early instead of being the last thing the session waits for.
    niceness: int = BACKGROUND_NICENESS

    def __post_init__(self):
        if self.trigger not in TRIGGERS:
            raise ValueError(f"job {self.key}: trigger must be one of {TRIGGERS}")


@dataclass
class _State:
    jobs: dict[str, Job] = field(default_factory=dict)
    futures: dict[str, Future] = field(default_factory=dict)
    wanted: set[str] = field(default_factory=set)
    payloads: dict[str, Any] = field(default_factory=dict)
    selected: tuple[Any, ...] = ()
    pool: ThreadPoolExecutor | None = None
    scratch_root: Path | None = None
    epoch: float = field(default_factory=time.monotonic)
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (started, finished)


_state = _State()
# A job waits on subprocesses, not on the CPU, and may wait on the jobs it needs: one thread per
# job, so a waiting job can never hold the thread the awaited job would need.
_MAX_THREADS = 32


def job(key: str, trigger: str, consumers: Iterable[str], needs: Iterable[str] = (),
        niceness: int = BACKGROUND_NICENESS) -> Callable:
    """Decorator: register ``fn(ctx)`` as the body of job ``key``."""

    def register(fn: Callable[[Context], Any]) -> Callable[[Context], Any]:
        _state.jobs[key] = Job(key, trigger, fn, frozenset(consumers), tuple(needs), niceness)
        return fn

    return register


def _under_xdist() -> bool:
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def order(items: list) -> list:
    """Decide which jobs the selected ``items`` want and return the items with every consumer of
    a job moved to the end (relative order kept). Called once, after collection."""
    consumers = {name for j in _state.jobs.values() for name in j.consumers}

    def consumes(item) -> set[str]:
        return set(getattr(item, "fixturenames", ())) & consumers

    wanted = {j.key for j in _state.jobs.values() for item in items if consumes(item) & j.consumers}
    pending = list(wanted)
    while pending:  # a wanted job's dependencies are wanted too
        for dependency in _state.jobs[pending.pop()].needs:
            if dependency not in wanted:
                wanted.add(dependency)
                pending.append(dependency)
    _state.selected = tuple(items)
    _state.wanted = set() if _under_xdist() else wanted
    return [i for i in items if not consumes(i)] + [i for i in items if consumes(i)]


def fire(trigger: str, synth_outdir: Path | None = None) -> None:
    """Start every wanted job of ``trigger`` (dependencies first) that is not running yet."""
    if trigger == MANUAL:
        raise ValueError("MANUAL jobs are started with start()")
    for key in _in_dependency_order(k for k in _state.wanted if _state.jobs[k].trigger == trigger):
        _start(key, synth_outdir)


def start(key: str, payload: Any) -> None:
    """Hand MANUAL job ``key`` its input (from the fixture that built it, in the main thread).
    It starts now if a selected test wants it, else when :func:`result` first asks."""
    if _state.jobs[key].trigger != MANUAL:
        raise ValueError(f"job {key} starts on {_state.jobs[key].trigger}, not by hand")
    _state.payloads.setdefault(key, payload)
    if key in _state.wanted:
        _start(key, None, _state.payloads[key])


def result(key: str, synth_outdir: Path | None = None, timeout: float = 1800) -> Any:
    """The job's result, waiting for it; started here and now if nothing started it yet
    (a MANUAL job must have been given its input). Re-raises what the job raised."""
    payload = None
    if key not in _state.futures and _state.jobs[key].trigger == MANUAL:
        if key not in _state.payloads:
            raise RuntimeError(f"job {key} has no input: the fixture that builds it must call start()")
        payload = _state.payloads[key]
    return _start(key, synth_outdir, payload).result(timeout)


def _in_dependency_order(keys: Iterable[str]) -> list[str]:
    ordered: list[str] = []

    def visit(key: str, path: tuple[str, ...] = ()) -> None:
        if key in path:
            raise ValueError(f"prefetch jobs depend on each other in a cycle: {' -> '.join(path + (key,))}")
        if key in ordered:
            return
        for dependency in _state.jobs[key].needs:
            visit(dependency, path + (key,))
        ordered.append(key)

    for key in sorted(keys):
        visit(key)
    return ordered


def _start(key: str, synth_outdir: Path | None, payload: Any = None) -> Future:
    if key in _state.futures:
        return _state.futures[key]
    job_ = _state.jobs[key]
    if job_.trigger == SYNTH and synth_outdir is None:
        raise RuntimeError(f"job {key} needs the session synth: pass synth_outdir (or start it from a SYNTH job)")
    for dependency in job_.needs:  # started before this one, so it never waits on a queued job
        _start(dependency, synth_outdir)
    if _state.pool is None:
        _state.pool = ThreadPoolExecutor(max_workers=_MAX_THREADS, thread_name_prefix="prefetch")
        _state.scratch_root = Path(tempfile.mkdtemp(prefix="pytest-prefetch-"))
    scratch = _state.scratch_root / key
    scratch.mkdir()
    context = Context(scratch, synth_outdir, _state.selected,
                      {dependency: _state.futures[dependency] for dependency in job_.needs}, payload)
    _state.futures[key] = _state.pool.submit(_timed, _state, key, job_.run, context)
    return _state.futures[key]


def _set_priority_of_this_thread(niceness: int) -> None:
    """Absolute, not relative (os.nice), so reused pool threads don't drift."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed (lowering a nice value needs privileges): carry on


def _timed(state: _State, key: str, body: Callable[[Context], Any], context: Context) -> Any:
    _set_priority_of_this_thread(state.jobs[key].niceness)
    started = time.monotonic()
    try:
        return body(context)
    finally:
        state.timings[key] = (started - state.epoch, time.monotonic() - state.epoch)


def report() -> list[str]:
    """One line per job that ran: when it started and finished, in seconds since import."""
    return [f"{key:<28} {start:6.1f} s -> {end:6.1f} s ({end - start:5.1f} s)"
            for key, (start, end) in sorted(_state.timings.items(), key=lambda item: item[1])]


KEEP_VARIABLE = "LITELLM_PREFETCH_KEEP"  # set it to keep the jobs' scratch dirs for a post-mortem


def shutdown() -> str | None:
    """Wait for running jobs (their subprocesses have timeouts) and remove their scratch dirs,
    unless $LITELLM_PREFETCH_KEEP is set: then return where they are."""
    if _state.pool is not None:
        _state.pool.shutdown(wait=True, cancel_futures=True)
    kept = None
    if _state.scratch_root is not None:
        if os.environ.get(KEEP_VARIABLE):
            kept = str(_state.scratch_root)
        else:
            shutil.rmtree(_state.scratch_root, ignore_errors=True)
    _state.pool, _state.scratch_root = None, None
    _state.futures.clear()
    _state.payloads.clear()
    return kept
