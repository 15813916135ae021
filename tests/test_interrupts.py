"""Ctrl-C in the middle of a store call (a notebook's Stop button): the caller sees the
KeyboardInterrupt itself, not a driver error raised while cleaning up; a write that was
stopped stored nothing, and the note on the interrupt says what happened; the store
goes on working.

Before, an auto-commit write interrupted while Neo4j ran it was committed anyway (the
cell said KeyboardInterrupt; 60,000 artifacts were stored), and an interrupted call could
surface as InternalError or BufferError."""

from __future__ import annotations

import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from graphmd import (Artifact, ArtifactType, LineageDirection, LineageSubgraphQueryOptions, MetadataStore,
                     NodeSelector)
from graphmd._tfx_pipeline import record_history

# A transaction of graphmd's writes, seen from another session.
RUNNING = ("SHOW TRANSACTIONS YIELD currentQuery WHERE currentQuery CONTAINS $text "
           "AND NOT currentQuery CONTAINS 'IdCounter' RETURN count(*) AS n")


def _interrupt_when_running(store: MetadataStore, text: str) -> threading.Thread:
    """A thread that sends SIGINT to the main thread once Neo4j runs a statement
    containing ``text`` (so the interrupt lands while the call waits for Neo4j)."""
    main = threading.main_thread().ident
    assert main is not None

    def watch() -> None:
        deadline = time.monotonic() + 60
        with store.driver.session(database=store.database) as session:
            while time.monotonic() < deadline:
                if session.run(RUNNING, text=text).single(strict=True)["n"]:
                    signal.pthread_kill(main, signal.SIGINT)
                    return
                time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_interrupted_bulk_write_stores_nothing_and_says_so(store: MetadataStore, sigint_raises: None) -> None:
    t = store.put_artifact_type(ArtifactType(name="Shard", properties={"n": "INT"}))
    store.put_artifacts([Artifact(type_id=t, uri="/shard/first")])  # the type read and cached: one statement
    before = store.counts()["artifacts"]
    batch = [Artifact(type_id=t, uri=f"/shard/{i}", properties={"n": i}) for i in range(20_000)]
    watcher = _interrupt_when_running(store, "UNWIND")
    with pytest.raises(KeyboardInterrupt) as info:
        store.put_artifacts(batch)
        time.sleep(5)  # the write ended before the watcher saw it: fail below, not hang
    watcher.join(10)
    notes = getattr(info.value, "__notes__", [])
    assert notes == ["graphmd: the interrupted call's write was stopped; nothing of it was stored"], notes
    assert info.value.graphmd_stored is False  # type: ignore[attr-defined]  # for code: record_execution
    assert store.counts()["artifacts"] == before
    # The store goes on: the same write, uninterrupted, is stored whole.
    assert len(store.put_artifacts(batch[:100])) == 100
    assert store.counts()["artifacts"] == before + 100


def test_an_interrupted_transaction_rolls_back_and_says_so(store: MetadataStore, sigint_raises: None) -> None:
    t = store.put_artifact_type(ArtifactType(name="Shard", properties={"n": "INT"}))
    ids = store.put_artifacts([Artifact(type_id=t, uri=f"/shard/{i}", properties={"n": i}) for i in range(10_000)])
    stored = store.get_artifacts_by_id(ids)
    # Updates only: no node is created, so this is a managed transaction.
    changed = [a.model_copy(update={"properties": {"n": a.properties["n"] + 1}}) for a in stored]
    watcher = _interrupt_when_running(store, "UNWIND")
    with pytest.raises(KeyboardInterrupt) as info:
        store.put_artifacts(changed)
        time.sleep(5)
    watcher.join(10)
    notes = getattr(info.value, "__notes__", [])
    assert notes == ["graphmd: the interrupted call's write was stopped; nothing of it was stored"], notes
    assert info.value.graphmd_stored is False  # type: ignore[attr-defined]
    assert [a.properties["n"] for a in store.get_artifacts_by_id(ids[:50])] == list(range(50))
    assert store.put_artifacts(changed[:10]) == ids[:10]


def test_an_interrupted_lineage_read_raises_the_interrupt_itself(store: MetadataStore, sigint_raises: None) -> None:
    """The notebook case: an interrupted get_lineage_subgraph surfaced as BufferError, raised
    by the driver while closing the session in the middle of the answer."""
    history = record_history(store, 300, batch_runs=100)
    options = LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[history.artifacts["run-0150/model"]]),
                                          max_num_hops=None, direction=LineageDirection.BIDIRECTIONAL)
    expected = store.get_lineage_subgraph(options)
    interrupted = 0
    for _ in range(3):  # the read may end before the watcher sees it: then try again
        watcher = _interrupt_when_running(store, "ending_reached")
        try:
            store.get_lineage_subgraph(options)
            time.sleep(2)
        except KeyboardInterrupt as interrupt:
            # Raised while graphmd waited for Neo4j, not while the test slept.
            frames = traceback.extract_tb(interrupt.__traceback__)
            interrupted += any("/graphmd/" in frame.filename or "/neo4j/" in frame.filename for frame in frames[1:])
        watcher.join(10)
        if interrupted:
            break
    assert interrupted, "the watcher never caught the read running"
    again = store.get_lineage_subgraph(options)
    assert ({a.id for a in again.artifacts}, len(again.events)) == ({a.id for a in expected.artifacts},
                                                                     len(expected.events))


def test_ctrl_c_while_a_step_records_its_outputs_marks_it_failed(store: MetadataStore, sigint_raises: None) -> None:
    """Ctrl-C while record_execution wrote COMPLETE and the outputs (a KeyboardInterrupt, which
    `except Exception` let through) left the execution RUNNING, as if the process had died."""
    from graphmd import Execution, ExecutionState, ExecutionType
    from graphmd._pipeline import record_execution

    data_t = store.put_artifact_type(ArtifactType(name="Shard"))
    step_t = store.put_execution_type(ExecutionType(name="Split"))
    store.put_artifacts([Artifact(type_id=data_t, uri="/shard/first")])
    before = store.counts()["artifacts"]
    with pytest.raises(KeyboardInterrupt):
        with record_execution(store, Execution(type_id=step_t, name="split-1")) as step:
            for i in range(20_000):
                step.output("shards", Artifact(type_id=data_t, uri=f"/shard/{i}"))
            watcher = _interrupt_when_running(store, "UNWIND")  # the COMPLETE write, from here on
        time.sleep(5)
    watcher.join(10)
    [split] = store.get_executions_by_type("Split")
    assert split.last_known_state == ExecutionState.FAILED, split
    assert split.custom_properties["error_type"] == "KeyboardInterrupt"
    assert store.counts()["artifacts"] == before  # no output stored


def test_ctrl_c_right_after_running_is_stored_marks_the_step_failed(store: MetadataStore,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Between storing RUNNING and entering the block, record_execution read the execution
    back outside its try: an interrupt there left it RUNNING."""
    from graphmd import Execution, ExecutionState, ExecutionType
    from graphmd._pipeline import record_execution

    step_t = store.put_execution_type(ExecutionType(name="Split"))

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "get_contexts_by_id", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with record_execution(store, Execution(type_id=step_t, name="split-2")):
            pass
    monkeypatch.undo()
    [split] = store.get_executions_by_type("Split")
    assert (split.last_known_state, split.custom_properties["error_type"]) == (ExecutionState.FAILED,
                                                                               "KeyboardInterrupt")


def _failing_transactions(store: MetadataStore, monkeypatch: pytest.MonkeyPatch,
                          error: Callable[[], BaseException]) -> list[int]:
    """Make the store's next transactions raise ``error()``, one for each item of the list
    returned (one to begin with; the test sets how many more)."""
    unit, failures = store._unit, [1]

    def failing(fn: Any) -> Any:
        def run(tx: Any) -> Any:
            if failures:
                failures.pop()
                raise error()
            return unit(fn)(tx)
        return run

    monkeypatch.setattr(store, "_unit", failing)
    return failures


def test_a_read_whose_commit_loses_its_connection_is_run_again(store: MetadataStore,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """After a Ctrl-C, a read on a connection it left half-used failed with "lost while
    committing: the call took effect whole or not at all, unknown which" (words for a write)."""
    import neo4j

    from graphmd import UnavailableError

    t = store.put_artifact_type(ArtifactType(name="Shard"))
    [a] = store.put_artifacts([Artifact(type_id=t, uri="/shard/1")])
    failures = _failing_transactions(store, monkeypatch, lambda: neo4j.exceptions.IncompleteCommit("connection lost"))
    assert [x.uri for x in store.get_artifacts_by_id([a])] == ["/shard/1"]
    failures[:] = [1, 1]
    with pytest.raises(UnavailableError) as info:
        store.get_artifacts_by_id([a])
    assert not info.value.commit_unknown and "lost at the end of a read, twice" in info.value.message


def test_a_connection_an_interrupt_left_mid_message_is_no_raw_driver_error(store: MetadataStore,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A BufferError from the driver (a pooled connection an interrupt left mid-message)
    reached the caller raw, where every other driver failure is a graphmd error; a read
    meeting it is run again."""
    from graphmd import UnavailableError

    t = store.put_artifact_type(ArtifactType(name="Shard"))
    [a] = store.put_artifacts([Artifact(type_id=t, uri="/shard/1")])
    failures = _failing_transactions(store, monkeypatch,
                                     lambda: BufferError("Existing exports of data: object cannot be re-sized"))
    assert [x.uri for x in store.get_artifacts_by_id([a])] == ["/shard/1"]
    failures[:] = [1]
    with pytest.raises(UnavailableError) as info:
        store.put_artifacts([Artifact(id=a, type_id=t, uri="/shard/2")])  # an update: a managed transaction
    assert info.value.commit_unknown and "left unusable" in info.value.message
