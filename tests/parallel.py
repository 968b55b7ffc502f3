"""Run the same rocks command in several processes at once (concurrency tests)."""

from __future__ import annotations

import io
import multiprocessing

from ksserver.cli import run


def _worker(settings, argv, times, barrier, results):  # type: ignore[no-untyped-def]
    barrier.wait(timeout=60)
    outcomes = []
    for _ in range(times):
        err = io.StringIO()
        outcomes.append((run(list(argv), settings=settings, out=io.StringIO(), err=err), err.getvalue()))
    results.put(outcomes)


def run_in_parallel(settings, argv: list[str], processes: int, times: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Start ``processes`` processes that each run ``rocks argv`` ``times`` times, all released together.
    Returns the error output of every failed run."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(settings, argv, times, barrier, results)) for _ in range(processes)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return [err for batch in outcomes for code, err in batch if code != 0]
