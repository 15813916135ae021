"""The workloads, each written once against the backend interface and run on both stores.

Timings cover the store calls only (see graphmd's bench/_backends.py); concurrent runs
are timed wall-clock from the moment all writers are ready until the last one finishes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._backends import GraphmdConfig, MlmdConfig
from ._history import SubgraphBatch, TypeIds, file_batches, history_batches, plans, run_context, step_request

Backend = Any  # GraphmdBackend | MlmdBackend: the same methods


@dataclasses.dataclass
class Timing:
    """What one side measured for one workload row."""

    seconds: float
    count: int = 0  # executions or nodes written, or nodes returned
    error: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


# Seconds past which one call is its own measurement (no warm-up, no repeats).
LONG_CALL = 2.0
# Seconds past which a call is warmed up and repeated at most SLOW_REPEAT times: the default
# run must stay inside 15 minutes, and such calls vary by a few percent, not by their size.
SLOW_CALL = 0.5
SLOW_REPEAT = 3


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def _warm_up(call: Callable[[], Any], long: float, max_warm_up: int) -> tuple[float, Any]:
    """Call until three calls in a row are not 5% faster than the fastest before them (at
    most ``max_warm_up`` calls; just one when the first takes over ``long`` seconds).
    Returns the first call's seconds and the last call's result."""
    first, result = timed(call)
    if first > long:
        return first, result
    if first > SLOW_CALL:
        max_warm_up = min(max_warm_up, SLOW_REPEAT)
    fastest, stale = first, 0
    for _ in range(max_warm_up - 1):
        if stale >= 3:
            break
        seconds, result = timed(call)
        if seconds < fastest * 0.95:
            fastest, stale = seconds, 0
        else:
            fastest, stale = min(fastest, seconds), stale + 1
    return first, result


def best_of(call: Callable[[], Any], repeat: int, *, long: float = LONG_CALL, max_warm_up: int = 30) -> tuple[float, Any]:
    """Median of ``repeat`` timed calls after warm-up calls, repeated until three in a row
    are not 5% faster than the fastest before them (plans compiled, JIT and caches warm;
    at most ``max_warm_up`` calls). A first call over ``long`` seconds is the measurement
    itself: warm-up is a rounding error there, and repeating it would make the default run
    too long. A first call over SLOW_CALL seconds gets at most SLOW_REPEAT warm-up calls and
    SLOW_REPEAT timed calls."""
    first, result = _warm_up(call, long, max_warm_up)
    if first > long:
        return first, result
    times = []
    for _ in range(min(repeat, SLOW_REPEAT) if first > SLOW_CALL else repeat):
        seconds, result = timed(call)
        times.append(seconds)
    return statistics.median(times), result


def paired(first: Callable[[], Any], second: Callable[[], Any], repeat: int, *, long: float = LONG_CALL,
           max_warm_up: int = 30) -> tuple[tuple[float, Any], tuple[float, Any]]:
    """(median seconds, result) of each of two calls, warmed up as best_of warms, then
    timed alternately ``repeat`` times each. Timed one after the other, a drift in the
    machine's speed (other load, the JVM compiling or collecting) lands on one side and
    shows as a ratio of up to 1.5 between identical runs; alternated, both see it. Calls over
    SLOW_CALL seconds are timed SLOW_REPEAT times each."""
    warmed = [_warm_up(call, long, max_warm_up) for call in (first, second)]
    if any(seconds > long for seconds, _ in warmed):
        return warmed[0], warmed[1]
    times: tuple[list[float], list[float]] = ([], [])
    results = [warmed[0][1], warmed[1][1]]
    if any(seconds > SLOW_CALL for seconds, _ in warmed):
        repeat = min(repeat, SLOW_REPEAT)
    for _ in range(repeat):
        for side, call in enumerate((first, second)):
            seconds, results[side] = timed(call)
            times[side].append(seconds)
    return (statistics.median(times[0]), results[0]), (statistics.median(times[1]), results[1])


# --- W1: record runs stage by stage --------------------------------------------------------


def record_runs(backend: Backend, type_ids: TypeIds, prefix: str, runs: int) -> Timing:
    """Record ``runs`` runs of the pipeline, one put_execution per step (inputs by id,
    outputs new, in the run's PipelineRun context), and time the put_execution calls. A
    failing call ends the recording; the Timing then carries its error and what was done."""
    seconds = 0.0
    executions = 0
    ids: dict[str, int] = {}
    try:
        for run in plans(0, runs, diamonds=False):
            context = run_context(run, prefix, type_ids)
            for step in run.steps:
                execution, inputs, outputs = step_request(step, prefix, type_ids, ids)
                took, (_, artifact_ids, context_ids) = timed(backend.put_execution_call(execution, inputs, outputs,
                                                                                        context))
                seconds += took
                executions += 1
                context = context.model_copy(update={"id": context_ids[0]})
                written = [out.name for outs in step.outputs.values() for out in outs]
                ids.update(zip(written, artifact_ids[len(inputs):]))
    except Exception as error:  # noqa: BLE001 - reported in the table, as the user would meet it
        return Timing(seconds, executions, f"{type(error).__name__}: {error}")
    return Timing(seconds, executions)


# Runs each concurrent writer records untimed before the others are ready: a new process's
# first calls open its connections and reserve its first id blocks, as the single writer's
# did during the warm-up.
WRITER_WARM_UP_RUNS = 2


def _record_worker(config: GraphmdConfig | MlmdConfig, prefix: str, runs: int, barrier: Any, results: Any) -> None:
    """One concurrent writer: open its own store, record WRITER_WARM_UP_RUNS runs untimed,
    wait for the others, record its runs."""
    start = 0.0
    try:
        backend = config.open()
        type_ids = backend.register_types()
        warm_up = record_runs(backend, type_ids, f"{prefix}-warm-up", WRITER_WARM_UP_RUNS)
        if warm_up.error:
            raise RuntimeError(f"failed while warming up: {warm_up.error}")
        barrier.wait(timeout=600)
        start = time.time()
        timing = record_runs(backend, type_ids, prefix, runs)
        results.put((start, time.time(), timing.count, timing.error))
    except Exception as error:  # noqa: BLE001 - reported to the parent as the row's error
        barrier.abort()
        results.put((start, time.time(), 0, f"{type(error).__name__}: {error}"))


def record_concurrently(config: GraphmdConfig | MlmdConfig, prefix: str, writers: int, runs: int) -> Timing:
    """``writers`` processes each record ``runs`` runs of their own pipeline at once;
    executions per second of wall time from all-ready to last-done."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    processes = [context.Process(target=_record_worker, args=(config, f"{prefix}-w{w}", runs, barrier, results))
                 for w in range(writers)]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=3600) for _ in processes]
    for p in processes:
        p.join()
    errors = sorted({o[3] for o in outcomes if o[3]})
    done = sum(o[2] for o in outcomes)
    started = [o[0] for o in outcomes if o[0]]
    seconds = max(o[1] for o in outcomes) - min(started) if started else 0.0
    error = f"{len(errors)} writer(s) failed after {done} executions: {'; '.join(errors)}" if errors else None
    return Timing(seconds, done, error)


def median_round(rounds: list[Timing], *, skip_failed: bool = False) -> Timing:
    """The round of median throughput (the lower middle one of an even count). A failed
    round is the result, so its error reaches the table; with ``skip_failed``, only when
    every round failed (the caller notes the others)."""
    failed = [t for t in rounds if t.error or not t.seconds]
    if failed and (not skip_failed or len(failed) == len(rounds)):
        return failed[0]
    rounds = [t for t in rounds if t not in failed]
    ordered = sorted(rounds, key=lambda t: t.count / t.seconds)
    return ordered[(len(ordered) - 1) // 2]


# --- W2: bulk writes -----------------------------------------------------------------------


def write_batches(backend: Backend, batches: Iterable[SubgraphBatch], ids: dict[str, int] | None = None) -> Timing:
    """Store each batch with one put_lineage_subgraph; nodes per second of store calls.
    Records the ids of each batch's artifacts in ``ids`` (later batches refer to them)."""
    seconds = 0.0
    nodes = 0
    for batch in batches:
        took, (_, artifact_ids, _) = timed(backend.put_subgraph_call(batch))
        seconds += took
        nodes += batch.node_count
        if ids is not None:
            ids.update(zip(batch.artifact_names, artifact_ids))
    return Timing(seconds, nodes)


def build_history(backend: Backend, type_ids: TypeIds, prefix: str, first: int, end: int, ids: dict[str, int], *,
                  diamonds: bool) -> Timing:
    """Extend pipeline ``prefix``'s history with runs ``first`` .. ``end - 1`` (W2's
    batches, W3's data); ``ids`` holds the stored artifacts' ids by plan name."""
    batches = history_batches(plans(first, end, diamonds=diamonds), prefix, type_ids, ids)
    return write_batches(backend, batches, ids)


def build_files(backend: Backend, type_ids: TypeIds, count: int, datasets: int) -> Timing:
    """W4's data: ``count`` file artifacts in Dataset contexts."""
    return write_batches(backend, file_batches(count, type_ids, datasets=datasets))


__all__ = [
    "LONG_CALL",
    "SLOW_CALL",
    "Timing",
    "best_of",
    "paired",
    "build_files",
    "build_history",
    "median_round",
    "record_concurrently",
    "record_runs",
    "timed",
]
