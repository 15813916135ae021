"""Updates by id take two paths: compared and written on the server inside the write
statement (the fast path), or read, locked and compared in the client first (the slow
path, also the fallback that names errors). Both must store the same thing and raise
the same errors; each case here runs through both and compares."""

from __future__ import annotations

import re

from collections.abc import Callable
from typing import Any

import pytest

from graphmd import (
    AlreadyExistsError,
    Artifact,
    ArtifactAndEvent,
    ArtifactState,
    ArtifactType,
    Context,
    ContextType,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    GraphmdError,
    InvalidArgumentError,
    MetadataStore,
    PropertyType,
    ProtoValue,
)
from graphmd import _queries as q
from graphmd import _store

P = PropertyType
SYSTEM = ProtoValue(type_url="type.googleapis.com/x.Y", value=b"\x01")


class _SlowWriter(_store._NodeWriter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["fast"] = False
        super().__init__(*args, **kwargs)


class _FastOnlyWriter(_store._NodeWriter):
    """Fails the test when a call falls back to the slow path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        assert kwargs.get("fast"), "the call fell back to the slow path"
        super().__init__(*args, **kwargs)


@pytest.fixture
def types(store: MetadataStore) -> dict[str, int]:
    return {
        "data": store.put_artifact_type(ArtifactType(name="Data", properties={"n": P.INT, "s": P.STRING})),
        "other": store.put_artifact_type(ArtifactType(name="Other")),
        "trainer": store.put_execution_type(ExecutionType(name="Trainer", properties={"lr": P.DOUBLE})),
        "run": store.put_context_type(ContextType(name="Run", properties={"note": P.STRING})),
    }


def _stored(store: MetadataStore, node: Any) -> Any:
    get = {Artifact: store.get_artifacts_by_id, Execution: store.get_executions_by_id,
           Context: store.get_contexts_by_id}[type(node)]
    return get([node.id])[0]


def _outcome(store: MetadataStore, monkeypatch: pytest.MonkeyPatch, writer: type, make: Callable[[str], Any],
             update: Callable[[Any], Any], put: Callable[[Any], Any]) -> tuple[Any, ...]:
    """Create a node (named by the path), update it, and return what can be compared
    across paths: the stored node less ids, names and times, whether the update time
    moved, or the error raised."""
    tag = writer.__name__
    base = make(tag)
    [node_id] = put(base)
    before = _stored(store, base.model_copy(update={"id": node_id}))
    monkeypatch.setattr(_store, "_NodeWriter", writer)
    try:
        try:
            put(update(before))
        except GraphmdError as error:
            return ("error", type(error).__name__, re.sub(r"\d+", "N", str(error)), error.field)
    finally:
        monkeypatch.undo()
    after = _stored(store, before)
    bumped = after.last_update_time_since_epoch != before.last_update_time_since_epoch
    kept = after.create_time_since_epoch == before.create_time_since_epoch
    rest = after.model_dump(exclude={"id", "create_time_since_epoch", "last_update_time_since_epoch"})
    for key in ("name", "external_id"):
        if rest.get(key):
            rest[key] = rest[key].replace(tag, "TAG")
    return ("stored", bumped, kept, rest)


def _context(types: dict[str, int], **fields: Any) -> Callable[[str], Context]:
    return lambda tag: Context(type_id=types["run"], name=f"c-{tag}", properties={"note": "x"},
                               custom_properties={"k": 1}, system_metadata=SYSTEM, **fields)


def _artifact(types: dict[str, int]) -> Callable[[str], Artifact]:
    return lambda tag: Artifact(type_id=types["data"], name=f"a-{tag}", uri="/u", state=ArtifactState.LIVE,
                                properties={"n": 1}, custom_properties={"c": 1.5}, external_id=f"x-{tag}")


# (name, node factory, update of the stored node, which put) for each case.
def _cases(types: dict[str, int]) -> list[tuple[str, Callable, Callable, str]]:
    ctx, art = _context(types), _artifact(types)
    execution = lambda tag: Execution(type_id=types["trainer"], name=f"x-{tag}",  # noqa: E731
                                      last_known_state=ExecutionState.RUNNING, properties={"lr": 0.1})
    return [
        ("context as read back, unchanged", ctx, lambda n: n, "contexts"),
        ("context without its type name", ctx, lambda n: n.model_copy(update={"type": None}), "contexts"),
        ("context custom 1 -> True", ctx, lambda n: n.model_copy(update={"custom_properties": {"k": True}}), "contexts"),
        ("context custom 1 -> 1.0", ctx, lambda n: n.model_copy(update={"custom_properties": {"k": 1.0}}), "contexts"),
        ("context property removed", ctx, lambda n: n.model_copy(update={"properties": {}}), "contexts"),
        ("context renamed", ctx, lambda n: n.model_copy(update={"name": n.name + "-2"}), "contexts"),
        ("context system_metadata unset", ctx, lambda n: n.model_copy(update={"system_metadata": None}), "contexts"),
        ("context empty name", ctx, lambda n: n.model_copy(update={"name": ""}), "contexts"),
        ("context missing id", ctx, lambda n: n.model_copy(update={"id": n.id + 10_000}), "contexts"),
        ("context other type", ctx, lambda n: n.model_copy(update={"type_id": types["data"]}), "contexts"),
        ("context unknown property", ctx, lambda n: n.model_copy(update={"properties": {"zz": 1}}), "contexts"),
        ("context no type_id", ctx, lambda n: n.model_copy(update={"type_id": None, "name": n.name + "-2"}), "contexts"),
        ("artifact as read back", art, lambda n: n, "artifacts"),
        ("artifact uri unset", art, lambda n: n.model_copy(update={"uri": None}), "artifacts"),
        ("artifact renamed (kept)", art, lambda n: n.model_copy(update={"name": "other"}), "artifacts"),
        ("artifact state and external_id", art,
         lambda n: n.model_copy(update={"state": ArtifactState.DELETED, "external_id": None}), "artifacts"),
        ("artifact of another artifact type", art, lambda n: n.model_copy(update={"type_id": types["other"]}),
         "artifacts"),
        ("execution as read back", execution, lambda n: n, "executions"),
        ("execution state", execution,
         lambda n: n.model_copy(update={"last_known_state": ExecutionState.COMPLETE}), "executions"),
        ("execution in put_execution, forced", execution, lambda n: n, "put_execution"),
    ]


@pytest.mark.parametrize("index", range(20))
def test_both_paths_store_the_same(store: MetadataStore, types: dict[str, int], monkeypatch: pytest.MonkeyPatch,
                                   index: int) -> None:
    name, make, update, how = _cases(types)[index]
    put = {
        "contexts": lambda n: store.put_contexts([n]),
        "artifacts": lambda n: store.put_artifacts([n]),
        "executions": lambda n: store.put_executions([n]),
        "put_execution": lambda n: [store.put_execution(n, force_update_time=True).execution_id],
    }[how]
    slow = _outcome(store, monkeypatch, _SlowWriter, make, update, put)
    fast = _outcome(store, monkeypatch, _store._NodeWriter, make, update, put)
    assert fast == slow, name


def test_a_steady_put_execution_never_falls_back(store: MetadataStore, types: dict[str, int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline's usual call (its run context by id, inputs by id, new outputs) stays on
    the fast path, and leaves the context as it would have been."""
    context = Context(type_id=types["run"], name="run-1")
    first = store.put_execution(Execution(type_id=types["trainer"]),
                                [ArtifactAndEvent(artifact=Artifact(type_id=types["data"], uri="/in"),
                                                  event=Event(type=EventType.OUTPUT))],
                                [context], reuse_context_if_already_exist=True)
    [stored_context] = store.get_contexts_by_id(first.context_ids)
    monkeypatch.setattr(_store, "_NodeWriter", _FastOnlyWriter)
    second = store.put_execution(Execution(type_id=types["trainer"]),
                                 [ArtifactAndEvent(event=Event(type=EventType.INPUT, artifact_id=first.artifact_ids[0])),
                                  ArtifactAndEvent(artifact=Artifact(type_id=types["data"], uri="/out"),
                                                   event=Event(type=EventType.OUTPUT))],
                                 [stored_context], reuse_context_if_already_exist=True)
    assert second.context_ids == first.context_ids
    [after] = store.get_contexts_by_id(first.context_ids)
    assert after == stored_context  # as read back: nothing differs, nothing is rewritten
    assert {a.id for a in store.get_artifacts_by_context(after.id)} == {first.artifact_ids[0], second.artifact_ids[1]}


def test_contexts_reused_by_name_in_the_write_statement(store: MetadataStore, types: dict[str, int],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """reuse_context_if_already_exist finds a stored context by (type, name) inside the write
    statement (no read first): the same id comes back, it is left as stored, and naming it
    both by id and by name in one call links each node to it once."""
    first = store.put_execution(Execution(type_id=types["trainer"]), [],
                                [Context(type_id=types["run"], name="run-1", properties={"note": "first"})],
                                reuse_context_if_already_exist=True)
    [stored] = store.get_contexts_by_id(first.context_ids)
    monkeypatch.setattr(_store, "_NodeWriter", _FastOnlyWriter)
    again = Context(type_id=types["run"], name="run-1", properties={"note": "ignored: reused as stored"})
    out = Artifact(type_id=types["data"], uri="/out")
    second = store.put_execution(Execution(type_id=types["trainer"]),
                                 [ArtifactAndEvent(artifact=out, event=Event(type=EventType.OUTPUT))],
                                 [again, stored], reuse_context_if_already_exist=True)
    assert second.context_ids == [stored.id, stored.id]
    assert store.get_contexts_by_id([stored.id]) == [stored]
    assert [a.id for a in store.get_artifacts_by_context(stored.id)] == [second.artifact_ids[0]]
    assert sorted(x.id for x in store.get_executions_by_context(stored.id)) == [first.execution_id,
                                                                               second.execution_id]
    with store.driver.session(database=store.database) as session:
        links = session.run("MATCH (:Context {id: $id})-[l]->() RETURN count(l) AS n", id=stored.id).single()["n"]
    assert links == 3  # two associations, one attribution: none twice
    monkeypatch.undo()
    third = store.put_lineage_subgraph([Execution(type_id=types["trainer"])], [],
                                       [Context(type_id=types["run"], name="run-2")],
                                       reuse_context_if_already_exist=True)
    assert [c.name for c in store.get_contexts_by_id(third.context_ids)] == ["run-2"]
    assert [x.id for x in store.get_executions_by_context(third.context_ids[0])] == third.execution_ids


def _operators(plan: dict[str, Any]) -> list[str]:
    """The operators of an EXPLAIN plan (the driver's dict form), depth first."""
    return [plan["operatorType"].split("@")[0], *(op for child in plan.get("children", []) for op in _operators(child))]


@pytest.mark.parametrize("guarded", [False, True], ids=["managed", "auto-commit"])
@pytest.mark.parametrize("merge", [True, False], ids=["contexts merged by name", "contexts by id"])
def test_the_write_statement_plan_cannot_depend_on_statistics(store: MetadataStore, merge: bool, guarded: bool) -> None:
    """The write statement keeps its cached plan when the store's statistics drift (no
    replanning stall while a store grows). That is sound only while every node it touches
    is found through a unique index: a scan or a non-unique seek could deserve another plan
    on a bigger store."""
    blocks = tuple(b for b in q.WRITE_BLOCKS if merge or b != "merge_Context")
    text = q.write_planned(blocks, guarded=guarded)
    assert text.startswith(q.WRITE_PREFIX + "\n")
    # Creates (their types are checked once, in the types block), events and links (their
    # ends come from the node blocks' lists) look nothing up.
    seeking = tuple(b for b in blocks if b not in q.READS_NODE_LISTS and not b.startswith("create_"))

    def lookups(statement: str) -> list[str]:
        with store.driver.session(database=store.database) as session:
            operators = _operators(session.run("EXPLAIN " + statement, planned={}).consume().plan)
        return [op for op in operators if "Scan" in op or "Seek" in op or "ByElementId" in op or "ById" in op]

    found = lookups(text)
    assert len(found) >= len(seeking), found  # every other block finds its nodes
    assert set(found) <= {"NodeUniqueIndexSeek(Locking)", "NodeUniqueIndexSeek"}, found
    assert len(found) == len(lookups(q.write_planned(seeking, guarded=guarded)))


def test_new_nodes_in_contexts_reused_by_name_are_linked_once(store: MetadataStore, types: dict[str, int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """New nodes in contexts found by (type, name) get their links CREATEd, not MERGEd,
    unless the call also names a context by id that the found one could be: each node is
    linked to each of its contexts exactly once either way, and the call stays on the fast path."""
    stored = [store.put_contexts([Context(type_id=types["run"], name=f"ds-{i}")])[0] for i in range(2)]
    monkeypatch.setattr(_store, "_NodeWriter", _FastOnlyWriter)
    again = [Context(type_id=types["run"], name=f"ds-{i}") for i in range(2)]
    artifacts = [Artifact(type_id=types["data"], uri=f"/f/{i}") for i in range(5)]
    executions = [Execution(type_id=types["trainer"]) for _ in range(2)]
    edges = [EventEdge(event=Event(type=EventType.OUTPUT), execution_index=i % 2, artifact_index=i) for i in range(5)]
    statements: list[tuple[str, ...]] = []
    planned = q.write_planned
    monkeypatch.setattr(q, "write_planned",
                        lambda blocks, **kw: statements.append(blocks) or planned(blocks, **kw))
    first = store.put_lineage_subgraph(executions, artifacts, again, edges, reuse_context_if_already_exist=True)
    assert first.context_ids == stored
    assert "create_attributions" in statements[-1] and "merge_attributions" not in statements[-1]
    # Reused by name and named by id in one call: the links to the found context are MERGEd.
    second = store.put_lineage_subgraph([], [Artifact(type_id=types["data"], uri="/g")],
                                        [again[0], store.get_contexts_by_id([stored[0]])[0]], [],
                                        reuse_context_if_already_exist=True)
    assert second.context_ids == [stored[0], stored[0]]
    assert "merge_attributions" in statements[-1]
    with store.driver.session(database=store.database) as session:
        counts = session.run("MATCH (c:Context)-[l]->(n) WHERE c.id IN $ids "
                             "RETURN c.id AS c, elementId(n) AS n, count(l) AS links", ids=stored).data()
    assert all(row["links"] == 1 for row in counts), counts
    assert len(counts) == 2 * (5 + 2) + 1


@pytest.mark.parametrize("writer", [_store._NodeWriter, _SlowWriter], ids=["fast", "slow"])
def test_events_and_links_land_on_the_nodes_they_name(store: MetadataStore, types: dict[str, int],
                                                      monkeypatch: pytest.MonkeyPatch, writer: type) -> None:
    """The write statement's events and links take their ends by position in the lists of
    the nodes its blocks created, merged, synced, updated or looked up: one call whose ends
    come from every kind of block gets each event and link between the nodes it names."""
    monkeypatch.setattr(_store, "_NodeWriter", writer)
    a_input, a_changed = store.put_artifacts([Artifact(type_id=types["data"], uri="/in"),
                                              Artifact(type_id=types["data"], uri="/old")])
    (x_id,) = store.put_executions([Execution(type_id=types["trainer"], properties={"lr": 0.1})])
    by_id, by_name = store.put_contexts([Context(type_id=types["run"], name="by-id"),
                                         Context(type_id=types["run"], name="by-name")])
    result = store.put_execution(
        Execution(id=x_id, type_id=types["trainer"], properties={"lr": 0.2}),
        [(None, Event(type=EventType.INPUT, artifact_id=a_input)),
         (Artifact(id=a_changed, type_id=types["data"], uri="/new"), Event(type=EventType.INPUT)),
         (Artifact(type_id=types["data"], uri="/out-1"), Event(type=EventType.OUTPUT)),
         (Artifact(type_id=types["other"], uri="/out-2"), Event(type=EventType.OUTPUT))],
        [Context(id=by_id, type_id=types["run"], name="by-id"), Context(type_id=types["run"], name="by-name"),
         Context(type_id=types["run"], name="new")],
        reuse_context_if_already_exist=True, force_reuse_context=True)
    outputs = result.artifact_ids[2:]
    assert result.context_ids[:2] == [by_id, by_name]
    with store.driver.session(database=store.database) as session:
        events = {(r["a"], r["x"], r["type"]) for r in session.run(
            "MATCH (a:Artifact)-[e:EVENT]-(x:Execution) RETURN a.id AS a, x.id AS x, e.type AS type")}
        attributions = {(r["c"], r["n"]) for r in session.run(
            "MATCH (c:Context)-[:ATTRIBUTION]->(n:Artifact) RETURN c.id AS c, n.id AS n")}
        associations = {(r["c"], r["n"]) for r in session.run(
            "MATCH (c:Context)-[:ASSOCIATION]->(n:Execution) RETURN c.id AS c, n.id AS n")}
    assert events == {(a_input, x_id, "INPUT"), (a_changed, x_id, "INPUT"),
                      (outputs[0], x_id, "OUTPUT"), (outputs[1], x_id, "OUTPUT")}
    artifacts = [a_input, a_changed, *outputs]
    assert attributions == {(c, a) for c in result.context_ids for a in artifacts}
    assert associations == {(c, x_id) for c in result.context_ids}
    assert _stored(store, Artifact(id=a_changed)).uri == "/new"


@pytest.mark.parametrize("call", ["put_artifacts", "put_lineage_subgraph"])
def test_a_type_deleted_after_it_was_cached_stops_the_write(store: MetadataStore, types: dict[str, int],
                                                            call: str) -> None:
    """The write statement checks the created nodes' types once per type: one deleted
    behind the store's back (its cache still holds it) fails the call, naming type_id,
    and nothing of it is stored."""
    doomed = store.put_artifact_type(ArtifactType(name="Doomed"))
    store.put_artifacts([Artifact(type_id=doomed, uri="/cached")])  # the type is cached now
    with store.driver.session(database=store.database) as session:
        session.run("MATCH (t:Type {id: $id}) DETACH DELETE t", id=doomed).consume()
        before = session.run("MATCH (n) RETURN count(n) AS n").single()["n"]
    artifacts = [Artifact(type_id=types["data"], uri="/ok"), Artifact(type_id=doomed, uri="/orphan")]
    with pytest.raises(GraphmdError) as info:
        if call == "put_artifacts":
            store.put_artifacts(artifacts)
        else:
            store.put_lineage_subgraph([Execution(type_id=types["trainer"])], artifacts, [],
                                       [EventEdge(event=Event(type=EventType.OUTPUT), execution_index=0,
                                                  artifact_index=1)])
    assert info.value.field == "type_id"
    with store.driver.session(database=store.database) as session:
        assert session.run("MATCH (n) RETURN count(n) AS n").single()["n"] == before


@pytest.mark.parametrize("writer", [_store._NodeWriter, _SlowWriter], ids=["fast", "slow"])
def test_a_new_node_given_twice_for_reuse_is_created_once(store: MetadataStore, types: dict[str, int],
                                                          monkeypatch: pytest.MonkeyPatch, writer: type) -> None:
    """As ml-metadata: with reuse_context_if_already_exist a new context listed twice is
    created once, its first version kept; put_execution, which MLMD upserts artifact by
    artifact, lets a second new artifact with the same external_id update the first."""
    monkeypatch.setattr(_store, "_NodeWriter", writer)
    run = lambda note: Context(type_id=types["run"], name="twice", properties={"note": note})  # noqa: E731
    result = store.put_execution(
        Execution(type_id=types["trainer"]),
        [(Artifact(type_id=types["data"], external_id="ext", uri="/in", properties={"n": 1}),
          Event(type=EventType.INPUT)),
         (Artifact(type_id=types["data"], external_id="ext", uri="/out", custom_properties={"c": 2}),
          Event(type=EventType.OUTPUT))],
        [run("first"), run("second")], reuse_context_if_already_exist=True,
        reuse_artifact_if_already_exist_by_external_id=True)
    [context_id, again] = result.context_ids
    [artifact_id, same] = result.artifact_ids
    assert again == context_id and same == artifact_id
    [context] = store.get_contexts_by_id([context_id])
    assert context.properties == {"note": "first"} and len(store.get_contexts()) == 1
    [artifact] = store.get_artifacts()
    assert (artifact.uri, artifact.properties, artifact.custom_properties) == ("/out", {}, {"c": 2})
    assert {e.type for e in store.get_events_by_artifact_ids([artifact_id])} == {EventType.INPUT, EventType.OUTPUT}
    assert [a.id for a in store.get_artifacts_by_context(context_id)] == [artifact_id]
    subgraph = store.put_lineage_subgraph([Execution(type_id=types["trainer"])], [], [run("x"), run("y")] * 2, [],
                                          reuse_context_if_already_exist=True)
    assert subgraph.context_ids == [context_id] * 4
    fresh = store.put_lineage_subgraph([], [], [Context(type_id=types["run"], name="new")] * 2, [],
                                       reuse_context_if_already_exist=True)
    assert fresh.context_ids[0] == fresh.context_ids[1] != context_id
    # Without the reuse flags the same requests clash, and store nothing.
    before = store.counts()
    with pytest.raises(AlreadyExistsError):
        store.put_execution(Execution(type_id=types["trainer"]), [],
                            [Context(type_id=types["run"], name="other")] * 2)
    with pytest.raises(AlreadyExistsError):
        store.put_execution(Execution(type_id=types["trainer"]),
                            [(Artifact(type_id=types["data"], external_id="e2"), None)] * 2)
    with pytest.raises(InvalidArgumentError) as error:  # the second names another type: refused, as if stored
        store.put_execution(Execution(type_id=types["trainer"]),
                            [(Artifact(type_id=types["data"], external_id="e4"), Event(type=EventType.INPUT)),
                             (Artifact(type_id=types["other"], external_id="e4"), Event(type=EventType.OUTPUT))],
                            reuse_artifact_if_already_exist_by_external_id=True)
    assert error.value.field == "artifact_and_events[1].artifact.type_id"
    with pytest.raises(AlreadyExistsError):  # put_lineage_subgraph: also with the flag, as MLMD
        store.put_lineage_subgraph([], [Artifact(type_id=types["data"], external_id="e3")] * 2, [], [],
                                   reuse_artifact_if_already_exist_by_external_id=True)
    assert store.counts() == before


@pytest.mark.parametrize("writer", [_store._NodeWriter, _SlowWriter], ids=["fast", "slow"])
def test_a_stored_node_updated_twice_in_one_call_takes_the_updates_in_order(
        store: MetadataStore, types: dict[str, int], monkeypatch: pytest.MonkeyPatch, writer: type) -> None:
    """As ml-metadata: each update applies to the node as the one before left it, so the last
    wins, even one that puts back the stored value (judged against the node as stored before
    the call, it would change nothing and the first update would stay)."""
    [a] = store.put_artifacts([Artifact(type_id=types["data"], uri="/0", properties={"n": 1})])
    [x] = store.put_executions([Execution(type_id=types["trainer"], properties={"lr": 0.1})])
    [c] = store.put_contexts([Context(type_id=types["run"], name="twice", properties={"note": "a"})])
    monkeypatch.setattr(_store, "_NodeWriter", writer)
    artifact = lambda uri, **kw: Artifact(id=a, type_id=types["data"], uri=uri, **kw)  # noqa: E731
    assert store.put_artifacts([artifact("/1"), artifact("/2", custom_properties={"c": 2})]) == [a, a]
    [stored] = store.get_artifacts_by_id([a])
    assert (stored.uri, stored.properties, stored.custom_properties) == ("/2", {}, {"c": 2})
    assert store.put_artifacts([artifact("/3"), artifact("/2", custom_properties={"c": 2})]) == [a, a]
    assert store.get_artifacts_by_id([a])[0].uri == "/2"
    # The same artifact read and written by one execution, in put_execution and put_lineage_subgraph.
    result = store.put_execution(Execution(id=x, type_id=types["trainer"], properties={"lr": 0.2}),
                                 [(artifact("/in"), Event(type=EventType.INPUT)),
                                  (artifact("/out"), Event(type=EventType.OUTPUT))],
                                 [Context(id=c, type_id=types["run"], name="twice", properties={"note": "b"}),
                                  Context(id=c, type_id=types["run"], name="twice", properties={"note": "a"})])
    assert (result.artifact_ids, result.context_ids) == ([a, a], [c, c])
    assert store.get_artifacts_by_id([a])[0].uri == "/out"
    assert store.get_contexts_by_id([c])[0].properties == {"note": "a"}
    assert sorted(e.type for e in store.get_events_by_execution_ids([x])) == [EventType.INPUT, EventType.OUTPUT]
    store.put_lineage_subgraph([], [artifact("/s1"), artifact("/s2")], [], [])
    assert store.get_artifacts_by_id([a])[0].uri == "/s2"
    store.put_artifacts([artifact("/m1", properties={"n": 5}), artifact("/m2")], update_mask=["uri"])
    [stored] = store.get_artifacts_by_id([a])
    assert (stored.uri, stored.properties) == ("/m2", {})
