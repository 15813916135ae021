"""A call that creates nodes and reads nothing first goes to Neo4j as one guarded
auto-commit statement (graphmd._store.MetadataStore._write_autocommit): one round trip
instead of two. These tests hold it to the managed path's promises: the same result, all
or nothing, the same errors, and a known outcome when the answer is lost on the way back.

Lost answers are made by a session wrapper around the driver's real session (the
statement runs, or does not, on the real Neo4j; only the answer is dropped)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import neo4j
import pytest
from neo4j import exceptions as neo4j_errors

from graphmd import (
    AlreadyExistsError,
    Artifact,
    ArtifactAndEvent,
    ArtifactType,
    Context,
    ContextType,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionType,
    InvalidArgumentError,
    MetadataStore,
    UnavailableError,
)
from graphmd import _queries as q
from graphmd import _store

COUNTS = """
CALL () { MATCH (x:Execution) RETURN count(x) AS executions }
CALL () { MATCH (a:Artifact) RETURN count(a) AS artifacts }
CALL () { MATCH (c:Context) RETURN count(c) AS contexts }
CALL () { MATCH ()-[e:EVENT]->() RETURN count(e) AS events }
CALL () { MATCH ()-[l:ATTRIBUTION|ASSOCIATION]->() RETURN count(l) AS links }
RETURN [executions, artifacts, contexts, events, links] AS counts
"""


@pytest.fixture
def types(store: MetadataStore) -> dict[str, int]:
    return {
        "data": store.put_artifact_type(ArtifactType(name="Data")),
        "model": store.put_artifact_type(ArtifactType(name="Model")),
        "trainer": store.put_execution_type(ExecutionType(name="Trainer")),
        "run": store.put_context_type(ContextType(name="Run")),
    }


def _counts(store: MetadataStore) -> list[int]:
    return list(store.driver.execute_query(COUNTS, database_=store.database).records[0]["counts"])


def _step(store: MetadataStore, types: dict[str, int], name: str, run: str = "run-1") -> _store.PutExecutionResult:
    """A pipeline step: reads a stored dataset by id, writes a new model, in a run context
    reused by name."""
    [data] = store.put_artifacts([Artifact(type_id=types["data"], uri=f"/data/{name}")])
    return store.put_execution(
        Execution(type_id=types["trainer"], name=name),
        [ArtifactAndEvent(event=Event(type=EventType.INPUT, artifact_id=data)),
         ArtifactAndEvent(artifact=Artifact(type_id=types["model"], uri=f"/models/{name}"),
                          event=Event(type=EventType.OUTPUT))],
        [Context(type_id=types["run"], name=run)],
        reuse_context_if_already_exist=True,
    )


class _Session:
    """The store's session (``store._session()``, a context manager giving the driver's
    session), with ``run`` replaced (auto-commit statements) and optionally
    ``execute_write`` (managed transactions)."""

    def __init__(self, opened: Any, run: Callable[..., Any], execute_write: Callable[..., Any] | None) -> None:
        self._opened, self._run, self._execute_write = opened, run, execute_write

    def __enter__(self) -> _Session:
        self._real: neo4j.Session = self._opened.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._opened.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def run(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._real, query, *args, **kwargs)

    def execute_write(self, *args: Any, **kwargs: Any) -> Any:
        if self._execute_write is not None:
            return self._execute_write(*args, **kwargs)
        return self._real.execute_write(*args, **kwargs)


def _wrap_sessions(store: MetadataStore, monkeypatch: pytest.MonkeyPatch, run: Callable[..., Any],
                   execute_write: Callable[..., Any] | None = None) -> None:
    real_session = store._session
    monkeypatch.setattr(store, "_session", lambda **options: _Session(real_session(**options), run, execute_write))


def _is_write(query: Any) -> bool:
    return "$planned" in (query.text if isinstance(query, neo4j.Query) else query)


def test_a_new_step_is_one_auto_commit_statement(store: MetadataStore, types: dict[str, int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that creates its execution and outputs never opens a managed transaction,
    and stores what the managed path would."""
    _step(store, types, "warm")  # caches the types; the context now exists and is reused
    monkeypatch.setattr(store, "_write", lambda fn: pytest.fail("the step took the managed path"))
    result = _step(store, types, "step")
    [execution] = store.get_executions_by_id([result.execution_id])
    assert execution.name == "step"
    assert [a.uri for a in store.get_artifacts_by_id(result.artifact_ids)] == ["/data/step", "/models/step"]
    [run] = store.get_contexts_by_id(result.context_ids)
    assert run.name == "run-1"
    assert {x.id for x in store.get_executions_by_context(run.id)} >= {result.execution_id}
    events = store.get_events_by_execution_ids([result.execution_id])
    assert sorted((e.artifact_id, e.type) for e in events) == sorted(
        zip(result.artifact_ids, [EventType.INPUT, EventType.OUTPUT]))


def test_an_update_only_call_takes_the_managed_path(store: MetadataStore, types: dict[str, int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A call that creates nothing has no reserved id to settle a lost answer with."""
    [x] = store.put_executions([Execution(type_id=types["trainer"], name="x")])
    managed: list[int] = []
    write = store._write
    monkeypatch.setattr(store, "_write", lambda fn: managed.append(1) or write(fn))
    store.put_executions([Execution(id=x, type_id=types["trainer"], name="x", properties={})])
    assert managed == [1]


def test_a_failed_check_rolls_the_statement_back_on_the_server(store: MetadataStore, types: dict[str, int],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An input artifact that does not exist: the guarded statement fails on the server
    (its new output and execution are not kept), and the managed path names the field."""
    _step(store, types, "warm")
    before = _counts(store)
    refused: list[str] = []

    def run(real: neo4j.Session, query: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = real.run(query, *args, **kwargs)
            result.single()
            return result
        except neo4j_errors.Neo4jError as error:
            refused.append(error.code or "")
            raise

    _wrap_sessions(store, monkeypatch, run)
    with pytest.raises(InvalidArgumentError) as caught:
        store.put_execution(
            Execution(type_id=types["trainer"], name="bad"),
            [ArtifactAndEvent(event=Event(type=EventType.INPUT, artifact_id=987654321)),
             ArtifactAndEvent(artifact=Artifact(type_id=types["model"], uri="/models/bad"),
                              event=Event(type=EventType.OUTPUT))],
            [Context(type_id=types["run"], name="run-1")], reuse_context_if_already_exist=True)
    assert caught.value.field == "artifact_and_events[0].event.artifact_id"
    assert refused == [q.WRITE_GUARD_FAILED]
    assert _counts(store) == before


@pytest.mark.parametrize("call", ["put_execution", "put_lineage_subgraph"])
def test_an_event_given_twice_among_new_nodes_stores_nothing(store: MetadataStore, types: dict[str, int],
                                                             call: str) -> None:
    """The same event twice fails the call after the statement has run (an earlier event's
    missing node is reported first, as MLMD does): the call must not go as an auto-commit
    statement, which nothing could take back. Stored its new nodes and the other events."""
    _step(store, types, "warm")
    before = _counts(store)
    with pytest.raises(AlreadyExistsError) as caught:
        if call == "put_execution":
            [data] = store.get_artifacts_by_uri("/data/warm")
            store.put_execution(
                Execution(type_id=types["trainer"], name="twice"),
                [ArtifactAndEvent(artifact=Artifact(type_id=types["model"], uri="/models/twice"),
                                  event=Event(type=EventType.OUTPUT)),
                 ArtifactAndEvent(event=Event(type=EventType.INPUT, artifact_id=data.id)),
                 ArtifactAndEvent(event=Event(type=EventType.INPUT, artifact_id=data.id))], [])
        else:
            edge = EventEdge(execution_index=0, artifact_index=0, event=Event(type=EventType.OUTPUT))
            store.put_lineage_subgraph([Execution(type_id=types["trainer"], name="twice")],
                                       [Artifact(type_id=types["model"], uri="/models/twice")], [], [edge, edge])
    # Named as the call takes it (it said events[2], an argument neither call has).
    assert caught.value.field == ("artifact_and_events[2].event" if call == "put_execution"
                                  else "event_edges[1].event")
    assert _counts(store) == before


def test_an_event_stored_already_is_named_as_the_call_gives_it(store: MetadataStore, types: dict[str, int]) -> None:
    """put_execution named a clash with a stored event ``events[i]``, an argument it does not
    have, counting only the pairs with events."""
    _step(store, types, "again")
    [data] = store.get_artifacts_by_uri("/data/again")
    ran = store.put_execution(Execution(type_id=types["trainer"]),
                              [ArtifactAndEvent(event=Event(type=EventType.INPUT, artifact_id=data.id))], [])
    [stored] = store.get_executions_by_id([ran.execution_id])
    before = _counts(store)
    with pytest.raises(AlreadyExistsError) as caught:
        store.put_execution(stored, [ArtifactAndEvent(artifact=Artifact(type_id=types["model"], uri="/m/again")),
                                     ArtifactAndEvent(event=Event(type=EventType.INPUT, artifact_id=data.id))], [])
    assert caught.value.field == "artifact_and_events[1].event", caught.value
    assert _counts(store) == before


def test_an_answer_lost_before_the_statement_ran(store: MetadataStore, types: dict[str, int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection fails before Neo4j ran the statement: the rerun does the work, once."""
    _step(store, types, "warm")
    before = _counts(store)
    lost: list[int] = []

    def run(real: neo4j.Session, query: Any, *args: Any, **kwargs: Any) -> Any:
        if _is_write(query) and not lost:
            lost.append(1)
            raise neo4j_errors.ServiceUnavailable("connection reset (injected)")
        return real.run(query, *args, **kwargs)

    _wrap_sessions(store, monkeypatch, run)
    result = _step(store, types, "step")
    assert lost == [1]
    after = _counts(store)
    # One more execution, two artifacts (the dataset put first, the model), no new context,
    # two events, and links of the execution and both artifacts to the run.
    assert [a - b for a, b in zip(after, before)] == [1, 2, 0, 2, 3]
    assert store.get_executions_by_id([result.execution_id])[0].name == "step"


@pytest.mark.parametrize("run_name", ["run-1", "run-new"], ids=["context reused", "context created"])
def test_an_answer_lost_after_the_commit(store: MetadataStore, types: dict[str, int],
                                         monkeypatch: pytest.MonkeyPatch, run_name: str) -> None:
    """Neo4j committed, and the answer was lost: the call finds its own execution stored,
    does not write it twice, and returns the ids as stored, the context's too."""
    _step(store, types, "warm")
    before = _counts(store)
    lost: list[int] = []

    def run(real: neo4j.Session, query: Any, *args: Any, **kwargs: Any) -> Any:
        result = real.run(query, *args, **kwargs)
        if _is_write(query) and not lost:
            result.consume()  # committed
            lost.append(1)
            raise neo4j_errors.ServiceUnavailable("connection reset after commit (injected)")
        return result

    _wrap_sessions(store, monkeypatch, run)
    result = _step(store, types, "step", run=run_name)
    assert lost == [1]
    after = _counts(store)
    assert [a - b for a, b in zip(after, before)] == [1, 2, int(run_name == "run-new"), 2, 3]
    [run] = store.get_contexts_by_id(result.context_ids)
    assert run.name == run_name
    assert [x.name for x in store.get_executions_by_context(run.id) if x.id == result.execution_id] == ["step"]
    assert [a.uri for a in store.get_artifacts_by_id(result.artifact_ids)] == ["/data/step", "/models/step"]


@pytest.mark.parametrize("then", [neo4j_errors.ServiceUnavailable("connection refused (injected)"),
                                  neo4j_errors.DatabaseError("the server failed (injected)")],
                         ids=["unreachable", "failing"])
def test_an_answer_lost_with_neo4j_gone_says_the_outcome_is_unknown(store: MetadataStore, types: dict[str, int],
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     then: Exception) -> None:
    """The answer is lost, and the rerun that would settle it fails too (Neo4j gone, or
    failing): whether the first committed is unknown, and the error says so."""
    _step(store, types, "warm")

    def run(real: neo4j.Session, query: Any, *args: Any, **kwargs: Any) -> Any:
        if _is_write(query):
            raise neo4j_errors.ServiceUnavailable("connection reset (injected)")
        return real.run(query, *args, **kwargs)

    def execute_write(*args: Any, **kwargs: Any) -> Any:
        raise then

    _wrap_sessions(store, monkeypatch, run, execute_write)
    with pytest.raises(UnavailableError) as caught:
        store.put_execution(Execution(type_id=types["trainer"], name="gone"),
                            [ArtifactAndEvent(artifact=Artifact(type_id=types["model"], uri="/m"),
                                              event=Event(type=EventType.OUTPUT))])
    assert caught.value.commit_unknown
    assert "unknown which" in caught.value.message
