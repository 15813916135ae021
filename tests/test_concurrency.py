"""Pipelines in parallel: 8 processes x 200 put_execution steps sharing contexts by name and
artifacts by external_id, all at once, against the real Neo4j: through the Python API, and
through `graphmd serve` with 8 ml_metadata gRPC clients.

Afterwards there is no duplicate type, context or artifact, every event is present, ids are
unique and every count is exactly what the steps imply. Deadlocks and lock timeouts are
retried inside the managed transactions and unique-key races rerun, so none surfaces.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from _workers import RUNS, SHARED_DATA, record_steps, record_steps_grpc
from graphmd import (AlreadyExistsError, Artifact, ArtifactType, Context, ContextType, EventType, MetadataStore, ParentContext,
                     PropertyType)
from graphmd._config import Settings

WRITERS = 8
STEPS = 200

pytestmark = pytest.mark.slow


def run_writers(target: Callable[..., None], first_arg: Any) -> list[tuple]:
    """WRITERS processes running ``target(first_arg, writer, STEPS, barrier, queue)`` at once;
    returns their reports."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(first_arg, w, STEPS, barrier, out)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    reports = []
    try:
        for _ in procs:
            reports.append(out.get(timeout=900))
    except queue.Empty:
        pytest.fail(f"only {len(reports)} of {WRITERS} writers reported within 15 minutes")
    finally:
        for p in procs:
            p.join(timeout=60)
    return reports


def check_no_duplicates_and_exact_counts(store: MetadataStore, reports: list[tuple]) -> int:
    """Everything the writers' steps imply is in the store exactly once; returns the calls made."""
    errors = [e for r in reports for e in r[2]]
    assert not errors, f"{len(errors)} calls failed; first:\n{errors[0]}"
    results = {(r[0], step): (x, a, c) for r in reports for step, x, a, c in r[1]}
    assert len(results) == WRITERS * STEPS

    # Types: each registered once, though every writer put them at the same time.
    type_names = Counter((t.__class__.__name__, t.name) for t in
                         [*store.get_artifact_types(), *store.get_execution_types(), *store.get_context_types()])
    assert max(type_names.values()) == 1, type_names
    assert {("ArtifactType", "Data"), ("ArtifactType", "Model"), ("ExecutionType", "Step"),
            ("ContextType", "Pipeline"), ("ContextType", "Run")} <= set(type_names)

    # Nodes: exact counts, no duplicate names or external ids, ids unique and as returned.
    artifacts = store.get_artifacts()
    executions = store.get_executions()
    contexts = store.get_contexts()
    assert len(artifacts) == SHARED_DATA + WRITERS * STEPS
    assert len(executions) == WRITERS * STEPS
    assert sorted(c.name for c in contexts) == sorted(["pipeline", *(f"run-{k}" for k in range(RUNS))])
    assert len({a.external_id for a in artifacts}) == len(artifacts)
    for nodes in (artifacts, executions, contexts):
        assert len({n.id for n in nodes}) == len(nodes)
    by_ext = {a.external_id: a.id for a in artifacts}
    ctx_id = {c.name: c.id for c in contexts}
    exec_id = {x.name: x.id for x in executions}
    for (w, step), (x, aids, cids) in results.items():
        assert exec_id[f"w{w}-s{step}"] == x
        assert aids == [by_ext[f"data-{step % SHARED_DATA}"], by_ext[f"model-w{w}-s{step}"]]
        assert cids == [ctx_id["pipeline"], ctx_id[f"run-{step % RUNS}"]][:: -1 if w % 2 else 1]

    # Edges: every event present exactly once, links exactly as the steps imply.
    events = store.get_events_by_execution_ids(exec_id.values())
    assert len(events) == 2 * WRITERS * STEPS
    expected_events = set()
    expected_attr = set()
    for (w, step), (x, (data, model), cids) in results.items():
        pipe, run = cids[:: -1 if w % 2 else 1]
        expected_events |= {(data, x, EventType.INPUT), (model, x, EventType.OUTPUT)}
        expected_attr |= {(pipe, data), (pipe, model), (run, data), (run, model)}
    assert {(e.artifact_id, e.execution_id, e.type) for e in events} == expected_events
    counts = store.counts()
    assert counts["events"] == len(expected_events)
    assert counts["associations"] == 2 * WRITERS * STEPS
    assert counts["attributions"] == len(expected_attr)
    attributed = {(c, a.id) for c in ctx_id.values() for a in store.get_artifacts_by_context(c)}
    assert attributed == expected_attr
    return len(results)


def test_parallel_pipelines_leave_no_duplicates(store: MetadataStore, neo4j_server: Settings) -> None:
    connection = (neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database)
    reports = run_writers(record_steps, connection)
    calls = check_no_duplicates_and_exact_counts(store, reports)
    transient = sum(r[3] for r in reports)
    conflicts = sum(r[4] for r in reports)
    print(f"\n{WRITERS} writers x {STEPS} put_execution calls: {calls} succeeded, 0 failed, "
          f"0 duplicates; {transient} transient-error retries, {conflicts} unique-key reruns")


def test_parallel_mlmd_clients_through_graphmd_serve(store: MetadataStore, neo4j_server: Settings) -> None:
    pytest.importorskip("ml_metadata")
    from _grpc_helpers import serve_process

    with serve_process(neo4j_server, "--workers", "16") as (proc, port):
        reports = run_writers(record_steps_grpc, port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        log = proc.stdout.read()
    calls = check_no_duplicates_and_exact_counts(store, reports)
    transient = log.count("will be retried")
    print(f"\n{WRITERS} ml_metadata clients x {STEPS} PutExecution calls through graphmd serve: {calls} "
          f"succeeded, 0 failed, 0 duplicates; {transient} transient-error retries in the server")


def test_threads_sharing_a_store_race_on_the_same_types(store: MetadataStore) -> None:
    """8 threads of one process, sharing one MetadataStore as graphmd serve's workers do,
    put the same new types at once, round after round. Every call returns the type's one
    id. Each round has unique-key races whose failed statement the driver answers by
    handing the connection back to its pool before rolling back: without
    graphmd/_driver_guard.py about one round in 15 raised ResultFailedError (UNAVAILABLE)
    or corrupted another thread's connection."""
    threads, rounds = 8, 20
    errors: list[BaseException] = []
    ids: dict[tuple[str, str], set[int]] = defaultdict(set)
    lock = threading.Lock()

    def worker(barrier: threading.Barrier, names: list[str]) -> None:
        barrier.wait(timeout=60)
        for name in names:
            try:
                found = [("artifact", store.put_artifact_type(ArtifactType(name=name, properties={"n": PropertyType.INT}))),
                         ("context", store.put_context_type(ContextType(name=name)))]
            except Exception as error:  # noqa: BLE001 - every failure is the finding
                with lock:
                    errors.append(error)
                continue
            with lock:
                for kind, type_id in found:
                    ids[(kind, name)].add(type_id)

    for r in range(rounds):
        names = [f"race-{r}-{j}" for j in range(3)]
        barrier = threading.Barrier(threads)
        workers = [threading.Thread(target=worker, args=(barrier, names), daemon=True) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in workers), f"round {r}: a thread is stuck"
    assert not errors, f"{len(errors)} calls failed; first: {errors[0]!r}"
    assert len(ids) == 2 * 3 * rounds and all(len(v) == 1 for v in ids.values())
    stored = Counter(t.name for t in store.get_artifact_types() if t.name.startswith("race-"))
    assert len(stored) == 3 * rounds and max(stored.values()) == 1


def test_threads_racing_on_the_same_parent_link_store_it_once(store: MetadataStore) -> None:
    """8 threads put the same new parent link at once (as Kubeflow Pipelines' parallel drivers
    do for a run's context), round after round: exactly one call succeeds, the others raise
    AlreadyExistsError as ml-metadata's do, and the child has one parent. Without the lock on
    both ends, each thread's existence check passed before any had committed, and the child
    got up to 8 parents."""
    threads, rounds = 8, 10
    ctype = store.put_context_type(ContextType(name="race-run"))
    outcomes: list[list[str]] = []
    lock = threading.Lock()

    def worker(barrier: threading.Barrier, child: int, parent: int, seen: list[str]) -> None:
        barrier.wait(timeout=60)
        try:
            store.put_parent_contexts([ParentContext(child_id=child, parent_id=parent)])
            outcome = "ok"
        except AlreadyExistsError:
            outcome = "exists"
        except Exception as error:  # noqa: BLE001 - every other failure is the finding
            outcome = repr(error)
        with lock:
            seen.append(outcome)

    for r in range(rounds):
        parent, child = store.put_contexts([Context(type_id=ctype, name=f"p-{r}"), Context(type_id=ctype, name=f"c-{r}")])
        barrier = threading.Barrier(threads)
        seen: list[str] = []
        workers = [threading.Thread(target=worker, args=(barrier, child, parent, seen), daemon=True)
                   for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in workers), f"round {r}: a thread is stuck"
        outcomes.append(seen)
        assert sorted(seen) == ["exists"] * (threads - 1) + ["ok"], f"round {r}: {seen}"
        assert [c.id for c in store.get_parent_contexts_by_context(child)] == [parent]


def _race(threads: int, call: Callable[[int], Any]) -> list[str]:
    """``call(i)`` in ``threads`` threads released at once; each one's outcome: "ok" or the
    error's class name."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = [""] * threads

    def worker(i: int) -> None:
        barrier.wait(timeout=60)
        try:
            call(i)
            outcomes[i] = "ok"
        except Exception as error:  # noqa: BLE001 - the outcome is the finding
            outcomes[i] = type(error).__name__

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in workers), "a thread is stuck"
    return outcomes


def test_threads_adding_properties_to_one_type_at_once_keep_every_one(store: MetadataStore) -> None:
    """8 threads each add a property to the same type (can_add_fields, as TFX components
    registering their types do): ml-metadata keeps all 8. Each read the stored type and
    wrote it back whole, so the last one won and 7 properties were lost. Adding one name
    with two kinds at once: the first wins, the other kind is refused."""
    for r in range(5):
        name = f"grown-{r}"
        store.put_artifact_type(ArtifactType(name=name, properties={"base": PropertyType.INT}))
        outcomes = _race(8, lambda i: store.put_artifact_type(
            ArtifactType(name=name, properties={"base": PropertyType.INT, f"p{i}": PropertyType.STRING}),
            can_add_fields=True, can_omit_fields=True))
        assert outcomes == ["ok"] * 8
        assert sorted(store.get_artifact_type(name).properties) == ["base"] + [f"p{i}" for i in range(8)]
        kinds = [PropertyType.INT, PropertyType.STRING]
        outcomes = _race(2, lambda i: store.put_artifact_type(
            ArtifactType(name=name, properties={"x": kinds[i]}), can_add_fields=True, can_omit_fields=True))
        assert sorted(outcomes) == ["AlreadyExistsError", "ok"]
        assert store.get_artifact_type(name).properties["x"] == kinds[outcomes.index("ok")]


def test_two_calls_closing_a_parent_cycle_together_are_refused_one(store: MetadataStore) -> None:
    """With A->B and C->D stored, B->C and D->A put at once close a cycle through contexts the
    two calls do not share: one succeeds, the other is refused (InvalidArgumentError), as
    ml-metadata refuses the second; no cycle is stored."""
    ctype = store.put_context_type(ContextType(name="cycle-run"))
    for r in range(10):
        a, b, c, d = store.put_contexts([Context(type_id=ctype, name=f"{k}-{r}") for k in "abcd"])
        store.put_parent_contexts([ParentContext(child_id=a, parent_id=b), ParentContext(child_id=c, parent_id=d)])
        links = [(b, c), (d, a)]
        outcomes = _race(2, lambda i: store.put_parent_contexts([ParentContext(child_id=links[i][0],
                                                                               parent_id=links[i][1])]))
        assert sorted(outcomes) == ["InvalidArgumentError", "ok"], (r, outcomes)
        cyclic = store.driver.execute_query(
            "MATCH (x:Context) WHERE x.id IN $ids AND EXISTS { (x)-[:PARENT_CONTEXT*1..]->(x) } RETURN count(x) AS n",
            ids=[a, b, c, d], database_=store.database).records[0]["n"]
        assert cyclic == 0


# --- a store used in forked children ---------------------------------------------------------


_FORKED: dict[str, Any] = {}  # the parent's store, inherited by the forked children (a store does not pickle)


def _forked_child_writes(type_id: int, child: int) -> tuple[list[int], int]:
    store: MetadataStore = _FORKED["store"]
    ids = store.put_artifacts([Artifact(type_id=type_id, uri=f"/forked/{child}/{i}") for i in range(3)])
    return ids, len(store.get_artifacts_by_id(ids))


def test_a_store_used_in_forked_children_gets_its_own_connections_and_ids(store: MetadataStore) -> None:
    """multiprocessing's "fork" children using the parent's MetadataStore: each gets its
    own connections (the parent's stay the parent's) and its own id blocks (no id is
    handed out twice), and the parent goes on working."""
    type_id = store.put_artifact_type(ArtifactType(name="Forked"))
    [first] = store.put_artifacts([Artifact(type_id=type_id, uri="/forked/parent")])  # the parent holds id blocks
    _FORKED["store"] = store
    try:
        with multiprocessing.get_context("fork").Pool(3) as pool:
            # Bounded: with the parent's connections shared, the children hung.
            results = pool.starmap_async(_forked_child_writes, [(type_id, child) for child in range(6)],
                                         chunksize=1).get(timeout=120)
    finally:
        _FORKED.clear()
    ids = [i for written, _ in results for i in written]
    assert all(found == 3 for _, found in results)
    assert len(set(ids)) == len(ids) == 18 and first not in ids
    [after] = store.put_artifacts([Artifact(type_id=type_id, uri="/forked/parent-after")])
    assert after not in ids
    assert len(store.get_artifacts_by_type("Forked")) == 20
