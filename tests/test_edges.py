"""Events, attributions, associations, parent contexts, put_execution and put_lineage_subgraph."""

from __future__ import annotations

import pytest

from _snapshot import snapshot
from graphmd._config import Settings
from graphmd import (
    AlreadyExistsError,
    Artifact,
    ArtifactAndEvent,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    InvalidArgumentError,
    MetadataStore,
    NotFoundError,
    OutOfRangeError,
    ParentContext,
    PropertyType,
)


@pytest.fixture
def t(store: MetadataStore) -> dict[str, int]:
    return {
        "data": store.put_artifact_type(ArtifactType(name="DataSet", properties={"day": PropertyType.INT})),
        "model": store.put_artifact_type(ArtifactType(name="Model")),
        "trainer": store.put_execution_type(ExecutionType(name="Trainer")),
        "run": store.put_context_type(ContextType(name="Run")),
    }


def test_events_follow_the_data_flow(store: MetadataStore, t: dict[str, int]) -> None:
    data, model = store.put_artifacts([Artifact(type_id=t["data"]), Artifact(type_id=t["model"])])
    [run] = store.put_executions([Execution(type_id=t["trainer"])])
    store.put_events([
        Event(artifact_id=data, execution_id=run, type=EventType.INPUT, path=[0, "examples"]),
        Event(artifact_id=model, execution_id=run, type=EventType.OUTPUT, milliseconds_since_epoch=1234),
    ])
    events = store.get_events_by_execution_ids([run])
    assert [(e.artifact_id, e.type, e.path) for e in events] == [
        (data, EventType.INPUT, [0, "examples"]), (model, EventType.OUTPUT, [])]
    assert events[1].milliseconds_since_epoch == 1234 and events[0].milliseconds_since_epoch > 0
    assert [e.type for e in store.get_events_by_artifact_ids([model])] == [EventType.OUTPUT]
    # Direction: data -> run -> model, so a plain variable-length pattern walks upstream.
    rows = store.driver.execute_query(
        "MATCH (m:Artifact {id: $m})<-[:EVENT*]-(up:Artifact) RETURN collect(up.id) AS ids", m=model,
        database_=store.database).records
    assert rows[0]["ids"] == [data]


@pytest.mark.parametrize("event, error, field", [
    (Event(execution_id=1, type=EventType.INPUT), InvalidArgumentError, "events[0].artifact_id"),
    (Event(artifact_id=1, type=EventType.INPUT), InvalidArgumentError, "events[0].execution_id"),
    (Event(artifact_id=1, execution_id=1), InvalidArgumentError, "events[0].type"),
    (Event(artifact_id=10**9, execution_id=0, type=EventType.INPUT), InvalidArgumentError, "events[0].artifact_id"),
    (Event(artifact_id=0, execution_id=10**9, type=EventType.INPUT), InvalidArgumentError, "events[0].execution_id"),
    (Event(artifact_id=0, execution_id=0, type=EventType.INPUT), AlreadyExistsError, "events[0]"),
])
def test_bad_events(store: MetadataStore, t: dict[str, int], event: Event, error: type, field: str) -> None:
    [a] = store.put_artifacts([Artifact(type_id=t["data"])])
    [x] = store.put_executions([Execution(type_id=t["trainer"])])
    store.put_events([Event(artifact_id=a, execution_id=x, type=EventType.INPUT)])
    fixed = event.model_copy(update={k: (a if k == "artifact_id" else x) for k in ("artifact_id", "execution_id")
                                     if getattr(event, k) == 0})
    before = snapshot(store)
    with pytest.raises(error) as info:
        store.put_events([fixed])
    assert info.value.field == field
    assert snapshot(store) == before


def test_put_execution_records_a_step(store: MetadataStore, t: dict[str, int]) -> None:
    [data] = store.put_artifacts([Artifact(type_id=t["data"], uri="/data", properties={"day": 1})])
    [stored_data] = store.get_artifacts_by_id([data])
    result = store.put_execution(
        Execution(type_id=t["trainer"], last_known_state=ExecutionState.COMPLETE),
        [ArtifactAndEvent(artifact=stored_data, event=Event(type=EventType.INPUT)),
         ArtifactAndEvent(artifact=Artifact(type_id=t["model"], uri="/model"), event=Event(type=EventType.OUTPUT)),
         (None, None)],
        [Context(type_id=t["run"], name="run-1")])
    assert result.artifact_ids[0] == data and result.artifact_ids[2] == -1
    model = result.artifact_ids[1]
    [ctx] = result.context_ids
    assert {e.artifact_id for e in store.get_events_by_execution_ids([result.execution_id])} == {data, model}
    assert {a.id for a in store.get_artifacts_by_context(ctx)} == {data, model}
    assert [x.id for x in store.get_executions_by_context(ctx)] == [result.execution_id]
    assert [c.id for c in store.get_contexts_by_execution(result.execution_id)] == [ctx]
    assert [c.id for c in store.get_contexts_by_artifact(model)] == [ctx]
    assert store.get_artifacts_by_id([data])[0].properties == {"day": 1}


def test_put_execution_reuses_contexts_and_artifacts(store: MetadataStore, t: dict[str, int]) -> None:
    def step(uri: str) -> object:
        return store.put_execution(
            Execution(type_id=t["trainer"]),
            [ArtifactAndEvent(artifact=Artifact(type_id=t["data"], uri=uri, external_id="shared-data"),
                              event=Event(type=EventType.INPUT))],
            [Context(type_id=t["run"], name="pipeline")],
            reuse_context_if_already_exist=True, reuse_artifact_if_already_exist_by_external_id=True)

    first, second = step("/v1"), step("/v2")
    assert first.context_ids == second.context_ids
    assert first.artifact_ids == second.artifact_ids
    assert store.get_artifacts_by_id(first.artifact_ids)[0].uri == "/v2"  # reused artifact is updated
    with pytest.raises(AlreadyExistsError):  # without the option, the name is taken
        store.put_execution(Execution(type_id=t["trainer"]), [], [Context(type_id=t["run"], name="pipeline")])


def test_put_execution_force_reuse_context(store: MetadataStore, t: dict[str, int]) -> None:
    [cid] = store.put_contexts([Context(type_id=t["run"], name="c")])
    r = store.put_execution(Execution(type_id=t["trainer"]), [], [Context(id=cid, name="ignored")],
                            force_reuse_context=True)
    assert r.context_ids == [cid] and store.get_contexts_by_id([cid])[0].name == "c"
    with pytest.raises(NotFoundError):
        store.put_execution(Execution(type_id=t["trainer"]), [], [Context(id=10**9)], force_reuse_context=True)


def test_put_execution_is_all_or_nothing(store: MetadataStore, t: dict[str, int]) -> None:
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError):
        store.put_execution(
            Execution(type_id=t["trainer"]),
            [ArtifactAndEvent(artifact=Artifact(type_id=t["data"]), event=Event(type=EventType.INPUT)),
             ArtifactAndEvent(event=Event(artifact_id=10**9, type=EventType.INPUT))],
            [Context(type_id=t["run"], name="x")])
    with pytest.raises(InvalidArgumentError):
        store.put_execution(Execution(type_id=t["trainer"]),
                            [ArtifactAndEvent(artifact=Artifact(type_id=t["data"], properties={"day": "bad"}))])
    with pytest.raises(InvalidArgumentError):
        store.put_execution(Execution(type_id=t["trainer"]), [], [Context(type_id=t["run"])])
    assert snapshot(store) == before


def test_put_lineage_subgraph(store: MetadataStore, t: dict[str, int]) -> None:
    [old] = store.put_artifacts([Artifact(type_id=t["model"], uri="/old")])
    result = store.put_lineage_subgraph(
        executions=[Execution(type_id=t["trainer"]), Execution(type_id=t["trainer"])],
        artifacts=[Artifact(type_id=t["data"]), Artifact(type_id=t["model"])],
        contexts=[Context(type_id=t["run"], name="r")],
        event_edges=[
            EventEdge(execution_index=0, artifact_index=0, event=Event(type=EventType.INPUT)),
            EventEdge(execution_index=0, artifact_index=1, event=Event(type=EventType.OUTPUT)),
            EventEdge(execution_index=1, event=Event(artifact_id=old, type=EventType.INPUT)),
        ])
    x0, x1 = result.execution_ids
    d, m = result.artifact_ids
    assert {(e.artifact_id, e.type) for e in store.get_events_by_execution_ids([x0])} == {
        (d, EventType.INPUT), (m, EventType.OUTPUT)}
    assert [e.artifact_id for e in store.get_events_by_execution_ids([x1])] == [old]
    [ctx] = result.context_ids
    assert {a.id for a in store.get_artifacts_by_context(ctx)} == {d, m}
    assert {x.id for x in store.get_executions_by_context(ctx)} == {x0, x1}


@pytest.mark.parametrize("edge, error", [
    (EventEdge(execution_index=5, artifact_index=0, event=Event(type=EventType.INPUT)), OutOfRangeError),
    (EventEdge(execution_index=0, artifact_index=-1, event=Event(type=EventType.INPUT)), OutOfRangeError),
    (EventEdge(artifact_index=0, event=Event(type=EventType.INPUT)), InvalidArgumentError),
    (EventEdge(execution_index=0, artifact_index=0, event=Event(type=EventType.INPUT, artifact_id=7)), InvalidArgumentError),
    (EventEdge(execution_index=0, event=Event(artifact_id=10**9, type=EventType.INPUT)), InvalidArgumentError),
    (EventEdge(execution_index=0, artifact_index=0, event=Event()), InvalidArgumentError),
])
def test_bad_event_edges(store: MetadataStore, t: dict[str, int], edge: EventEdge, error: type) -> None:
    before = snapshot(store)
    with pytest.raises(error):
        store.put_lineage_subgraph(executions=[Execution(type_id=t["trainer"])],
                                   artifacts=[Artifact(type_id=t["data"])], event_edges=[edge])
    assert snapshot(store) == before


def test_attributions_and_associations(store: MetadataStore, t: dict[str, int]) -> None:
    [a] = store.put_artifacts([Artifact(type_id=t["data"])])
    [x] = store.put_executions([Execution(type_id=t["trainer"])])
    [c] = store.put_contexts([Context(type_id=t["run"], name="c")])
    for _ in range(2):  # a second time is a no-op
        store.put_attributions_and_associations([Attribution(context_id=c, artifact_id=a)],
                                                [Association(context_id=c, execution_id=x)])
    assert store.counts()["attributions"] == 1 and store.counts()["associations"] == 1
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.put_attributions_and_associations([Attribution(context_id=c, artifact_id=10**9)])
    assert "artifact_id" in info.value.field
    with pytest.raises(InvalidArgumentError) as info:
        store.put_attributions_and_associations([], [Association(context_id=10**9, execution_id=x)])
    assert info.value.field == "associations[0].context_id"
    with pytest.raises(InvalidArgumentError) as info:  # the item, not a bare context_id
        store.put_attributions_and_associations([Attribution(context_id=c, artifact_id=a),
                                                 Attribution(context_id=10**9, artifact_id=a)])
    assert info.value.field == "attributions[1].context_id"
    assert snapshot(store) == before
    # An event stored already, second of a call: its item is named.
    store.put_events([Event(artifact_id=a, execution_id=x, type=EventType.INPUT)])
    with pytest.raises(AlreadyExistsError) as clash:
        store.put_events([Event(artifact_id=a, execution_id=x, type=EventType.OUTPUT),
                          Event(artifact_id=a, execution_id=x, type=EventType.INPUT)])
    assert clash.value.field == "events[1]" and "already exists" in str(clash.value)


def test_a_deep_hierarchy_with_two_parents_a_level_is_linked_and_checked_for_cycles(
        store: MetadataStore, t: dict[str, int], neo4j_server: Settings) -> None:
    """40 levels of two contexts, each a child of both contexts of the level above: 2^39
    paths lead from the bottom to the top. The cycle check must walk the 80 contexts, not
    the paths (it did, and a link under such a hierarchy never finished, holding the lock
    every parent link takes). The transaction timeout turns a regression into a failure."""
    ids = store.put_contexts([Context(type_id=t["run"], name=f"level-{i}") for i in range(81)])
    levels = [ids[2 * i:2 * i + 2] for i in range(40)]  # levels[0] at the bottom, levels[-1] at the top
    with MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database,
                       transaction_timeout=60.0) as bounded:
        bounded.put_parent_contexts([ParentContext(child_id=c, parent_id=p)
                                     for upper, lower in zip(levels, levels[1:]) for c in upper for p in lower])
        bounded.put_parent_contexts([ParentContext(child_id=ids[-1], parent_id=levels[0][0])])  # under the bottom
        before = snapshot(store)
        with pytest.raises(InvalidArgumentError) as info:  # a sound link, then the top under the last: a cycle
            bounded.put_parent_contexts([ParentContext(child_id=levels[0][1], parent_id=ids[0]),
                                         ParentContext(child_id=levels[-1][1], parent_id=ids[-1])])
        assert info.value.field == "parent_contexts[1]" and "cycle" in info.value.message
        assert snapshot(store) == before
    assert len(store.get_parent_contexts_by_context(levels[-1][0])) == 0
    assert {c.id for c in store.get_children_contexts_by_context(levels[-1][0])} == set(levels[-2])


def test_parent_contexts(store: MetadataStore, t: dict[str, int]) -> None:
    a, b, c = store.put_contexts([Context(type_id=t["run"], name=n) for n in "abc"])
    store.put_parent_contexts([ParentContext(child_id=b, parent_id=a), ParentContext(child_id=c, parent_id=b)])
    assert [x.id for x in store.get_parent_contexts_by_context(b)] == [a]
    assert [x.id for x in store.get_children_contexts_by_context(b)] == [c]
    assert store.get_parent_contexts_by_contexts([b, c]) == {b: store.get_contexts_by_id([a]),
                                                             c: store.get_contexts_by_id([b])}
    for no_ids in (store.get_parent_contexts_by_contexts, store.get_children_contexts_by_contexts):
        with pytest.raises(InvalidArgumentError) as info:  # as ml-metadata: "Given context_ids is empty."
            no_ids([])
        assert info.value.field == "context_ids"
    before = snapshot(store)
    with pytest.raises(AlreadyExistsError) as exists:
        store.put_parent_contexts([ParentContext(child_id=c, parent_id=a), ParentContext(child_id=b, parent_id=a)])
    assert exists.value.field == "parent_contexts[1]"
    with pytest.raises(InvalidArgumentError) as info:  # a -> c would close a cycle a <- b <- c
        store.put_parent_contexts([ParentContext(child_id=a, parent_id=c)])
    assert "cycle" in str(info.value) and info.value.field == "parent_contexts[0]"
    with pytest.raises(InvalidArgumentError):
        store.put_parent_contexts([ParentContext(child_id=a, parent_id=a)])
    with pytest.raises(InvalidArgumentError) as info:
        store.put_parent_contexts([ParentContext(child_id=a, parent_id=10**9)])
    assert info.value.field == "parent_contexts[0].parent_id"
    with pytest.raises(InvalidArgumentError) as info:  # the field names the item, as other writes do
        store.put_parent_contexts([ParentContext(child_id=c, parent_id=a), ParentContext(child_id=10**9, parent_id=a)])
    assert info.value.field == "parent_contexts[1].child_id" and str(10**9) in info.value.message
    assert snapshot(store) == before
