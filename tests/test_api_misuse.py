"""A caller's mistakes the models cannot catch on their own: a type of the wrong kind, a
malformed (artifact, event) pair, a non-positive batch size, a call past its transaction
timeout. Each gets a typed error naming the field, and the store is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from _snapshot import snapshot
from graphmd import (
    AlreadyExistsError,
    Artifact,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    DeadlineExceededError,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionType,
    InvalidArgumentError,
    LineageSubgraphQueryOptions,
    ListOptions,
    MetadataStore,
    NodeSelector,
    ParentContext,
    PropertyType,
)
from graphmd._config import Settings


@pytest.mark.parametrize("call,given,field", [
    ("put_artifact_type", ExecutionType(name="Trainer"), "artifact_type"),
    ("put_execution_type", ContextType(name="Run"), "execution_type"),
    ("put_context_type", ArtifactType(name="Model"), "context_type"),
])
def test_a_type_of_another_kind_is_refused(store: MetadataStore, call: str, given: Any, field: str) -> None:
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError) as info:
        getattr(store, call)(given)
    assert info.value.field == field and type(given).__name__ in info.value.message
    assert snapshot(store) == before


def test_put_types_refuses_a_type_in_the_wrong_list(store: MetadataStore) -> None:
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.put_types([ArtifactType(name="Model")], [ArtifactType(name="Data")])
    assert info.value.field == "execution_types[0]"
    with pytest.raises(InvalidArgumentError) as info:
        store.put_types(ArtifactType(name="Model"))  # type: ignore[arg-type]
    assert info.value.field == "artifact_types"
    assert snapshot(store) == before


@pytest.mark.parametrize("pair,field", [
    (("x", "y"), "artifact_and_events[0].artifact"),
    ((None, "y"), "artifact_and_events[0].event"),
    ((None, Event(type=EventType.INPUT), None), "artifact_and_events[0]"),
    ("pair", "artifact_and_events[0]"),
])
def test_a_malformed_artifact_and_event_pair_is_refused_naming_it(store: MetadataStore, pair: Any, field: str) -> None:
    x = store.put_execution_type(ExecutionType(name="Step"))
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.put_execution(Execution(type_id=x), [pair])
    assert info.value.field == field
    assert snapshot(store) == before


def test_put_lineage_subgraph_takes_mlmds_edge_triples(store: MetadataStore) -> None:
    """ml-metadata's put_lineage_subgraph takes (execution index, artifact index, event)
    triples: given one, graphmd failed with AttributeError ('tuple' object has no attribute
    'event') instead of storing the edge."""
    from graphmd import EventEdge

    a = store.put_artifact_type(ArtifactType(name="Data"))
    x = store.put_execution_type(ExecutionType(name="Step"))
    [existing] = store.put_artifacts([Artifact(type_id=a, uri="/old")])
    result = store.put_lineage_subgraph(
        [Execution(type_id=x)], [Artifact(type_id=a, uri="/new"), Artifact(type_id=a, uri="/new2")], [], [
            (0, 0, Event(type=EventType.OUTPUT)), (0, None, Event(type=EventType.INPUT, artifact_id=existing)),
            EventEdge(execution_index=0, artifact_index=1, event=Event(type=EventType.OUTPUT))])
    events = store.get_events_by_execution_ids(result.execution_ids)
    assert sorted((e.artifact_id, e.type.value) for e in events) == sorted(
        [(result.artifact_ids[0], "OUTPUT"), (existing, "INPUT"), (result.artifact_ids[1], "OUTPUT")])


@pytest.mark.parametrize("edge,field", [
    ((0, 0), "event_edges[0]"),
    ("edge", "event_edges[0]"),
    (("0", 0, Event(type=EventType.INPUT)), "event_edges[0].execution_index"),
    ((0, True, Event(type=EventType.INPUT)), "event_edges[0].artifact_index"),
    ((0, 0, "INPUT"), "event_edges[0].event"),
])
def test_a_malformed_event_edge_is_refused_naming_it(store: MetadataStore, edge: Any, field: str) -> None:
    a = store.put_artifact_type(ArtifactType(name="Data"))
    x = store.put_execution_type(ExecutionType(name="Step"))
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError) as info:
        store.put_lineage_subgraph([Execution(type_id=x)], [Artifact(type_id=a, uri="/new")], [], [edge])
    assert info.value.field == field
    assert snapshot(store) == before


@pytest.mark.parametrize("size", [0, -5, True, 2.5])
def test_delete_everything_refuses_a_batch_size_that_is_not_positive(store: MetadataStore, size: Any) -> None:
    t = store.put_artifact_type(ArtifactType(name="Kept"))
    store.put_artifacts([Artifact(type_id=t, uri="/kept")])
    with pytest.raises(InvalidArgumentError) as info:
        store.delete_everything(batch_size=size)
    assert info.value.field == "batch_size"
    assert len(store.get_artifacts_by_type("Kept")) == 1


def test_a_write_past_its_transaction_timeout_is_deadline_exceeded(store: MetadataStore,
                                                                   neo4j_server: Settings) -> None:
    """A write blocked on a lock past ``transaction_timeout``: Neo4j rolls it back, and the
    caller gets DeadlineExceededError, not an internal error."""
    run_t = store.put_context_type(ContextType(name="Held"))
    with MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database,
                       transaction_timeout=1.0) as impatient, store.driver.session(database=store.database) as held:
        tx = held.begin_transaction()
        try:
            tx.run("CREATE (c:Context {type_id: $type_id, name: $name})", type_id=run_t, name="run-1").consume()
            with pytest.raises(DeadlineExceededError):
                impatient.put_contexts([Context(type_id=run_t, name="run-1")])
        finally:
            tx.rollback()
    assert store.get_contexts_by_type("Held") == []


@pytest.mark.parametrize("call,args,field", [
    ("get_artifacts_by_context", ("33",), "context_id"),
    ("get_executions_by_context", (None,), "context_id"),
    ("get_contexts_by_artifact", ("1",), "artifact_id"),
    ("get_contexts_by_execution", (1.5,), "execution_id"),
    ("get_parent_contexts_by_context", ("x",), "context_id"),
    ("get_children_contexts_by_context", ("x",), "context_id"),
    ("get_parent_contexts_by_contexts", (["1"],), "context_ids[0]"),
    ("get_events_by_execution_ids", (["1"],), "execution_ids[0]"),
    ("get_events_by_artifact_ids", ([2**64],), "artifact_ids[0]"),
    ("get_artifact_types_by_id", (["1"],), "type_ids[0]"),
    ("get_artifacts_by_id", (None,), "artifact_ids"),
    ("get_artifacts_by_type", (5,), "type_name"),
    ("get_artifact_type", (5,), "type_name"),
    ("get_context_by_type_and_name", ("Run", 7), "context_name"),
    ("get_artifacts_by_external_ids", ("ext-d1",), "external_ids"),
    ("get_contexts_by_external_ids", ([1],), "external_ids[0]"),
    ("get_artifact_types_by_external_ids", ("ext",), "external_ids"),
    ("get_artifacts_by_uri", (5,), "uri"),
    ("get_artifacts_by_uri", (["/a", 5],), "uri[1]"),
])
def test_a_read_given_the_wrong_kind_of_value_says_so(store: MetadataStore, call: str, args: tuple[Any, ...],
                                                       field: str) -> None:
    """A value that could match nothing ("33" for an id, a bare string for a list of
    external ids, which would be read as its characters) is refused, not answered with []."""
    with pytest.raises(InvalidArgumentError) as info:
        getattr(store, call)(*args)
    assert info.value.field == field, info.value


def test_an_update_mask_given_as_one_string_is_refused(store: MetadataStore) -> None:
    """update_mask="uri" would read as the paths "u", "r", "i": nothing updated, no error."""
    t = store.put_artifact_type(ArtifactType(name="Masked"))
    [a] = store.put_artifacts([Artifact(type_id=t, uri="/before")])
    with pytest.raises(InvalidArgumentError) as info:
        store.put_artifacts([Artifact(id=a, type_id=t, uri="/after")], update_mask="uri")  # type: ignore[arg-type]
    assert info.value.field == "update_mask"
    assert store.get_artifacts_by_id([a])[0].uri == "/before"


def test_a_unique_key_clash_names_the_item_that_clashed(store: MetadataStore) -> None:
    """In a batch, an AlreadyExistsError says which item's name or external_id is taken."""
    t = store.put_artifact_type(ArtifactType(name="Clashing"))
    run = store.put_context_type(ContextType(name="ClashRun"))
    store.put_artifacts([Artifact(type_id=t, name="taken", uri="/0"), Artifact(type_id=t, external_id="ext-taken")])
    store.put_contexts([Context(type_id=run, name="run-1")])
    step = store.put_execution_type(ExecutionType(name="ClashStep"))
    cases: list[tuple[Any, str]] = [
        (lambda: store.put_artifacts([Artifact(type_id=t, uri="/1"), Artifact(type_id=t, uri="/2"),
                                      Artifact(type_id=t, name="taken", uri="/3")]), "artifacts[2].name"),
        (lambda: store.put_artifacts([Artifact(type_id=t, uri="/1"), Artifact(type_id=t, external_id="ext-taken")]),
         "artifacts[1].external_id"),
        (lambda: store.put_contexts([Context(type_id=run, name="run-2"), Context(type_id=run, name="run-3"),
                                     Context(type_id=run, name="run-1")]), "contexts[2].name"),
        (lambda: store.put_execution(Execution(type_id=step), [], [Context(type_id=run, name="run-1")]),
         "contexts[0].name"),
    ]
    before = snapshot(store)
    for call, field in cases:
        with pytest.raises(Exception) as info:
            call()
        assert getattr(info.value, "field", None) == field, info.value
        assert field in str(info.value)
    assert snapshot(store) == before


def test_pickling_a_store_says_what_to_do_instead(store: MetadataStore) -> None:
    import pickle

    with pytest.raises(TypeError, match="open one in the other process"):
        pickle.dumps(store)


def test_nodes_not_given_as_a_list_are_refused_naming_the_argument(store: MetadataStore) -> None:
    """put_artifacts(Artifact(...)) iterated the model's (field, value) pairs, and a
    generator was used up by the checks, so nothing was written and nothing said."""
    t = store.put_artifact_type(ArtifactType(name="Listed"))
    before = snapshot(store)
    for given in (Artifact(type_id=t, uri="/a"), (Artifact(type_id=t, uri=f"/{i}") for i in range(2))):
        with pytest.raises(InvalidArgumentError) as info:
            store.put_artifacts(given)  # type: ignore[arg-type]
        assert info.value.field == "artifacts" and "a list of Artifacts is expected" in info.value.message
    with pytest.raises(InvalidArgumentError) as info:
        store.put_artifacts([Artifact(type_id=t, uri="/ok"), Execution(type_id=t)])  # type: ignore[list-item]
    assert info.value.field == "artifacts[1]" and "must be an Artifact, not Execution" in info.value.message
    assert snapshot(store) == before


def test_links_and_events_given_as_a_generator_are_refused_not_dropped(store: MetadataStore) -> None:
    """put_events, put_attributions_and_associations and put_parent_contexts checked a
    generator's items, which used it up: the write then found nothing, stored nothing and
    returned as if it had."""
    at = store.put_artifact_type(ArtifactType(name="Linked"))
    et = store.put_execution_type(ExecutionType(name="Linker"))
    ct = store.put_context_type(ContextType(name="LinkRun"))
    [a] = store.put_artifacts([Artifact(type_id=at)])
    [e] = store.put_executions([Execution(type_id=et)])
    c1, c2 = store.put_contexts([Context(type_id=ct, name="c1"), Context(type_id=ct, name="c2")])
    before = snapshot(store)
    calls: list[tuple[str, Any]] = [
        ("events", lambda: store.put_events(Event(artifact_id=a, execution_id=e, type=EventType.INPUT)
                                            for _ in range(1))),
        ("attributions", lambda: store.put_attributions_and_associations(
            iter([Attribution(context_id=c1, artifact_id=a)]))),
        ("associations", lambda: store.put_attributions_and_associations(
            [], (Association(context_id=c1, execution_id=e) for _ in range(1)))),
        ("parent_contexts", lambda: store.put_parent_contexts(ParentContext(child_id=c2, parent_id=c1)
                                                              for _ in range(1))),
    ]
    for field, call in calls:
        with pytest.raises(InvalidArgumentError) as info:
            call()
        assert info.value.field == field and "a list of" in info.value.message, info.value
    assert snapshot(store) == before
    # None for put_execution's pairs is none, as for its contexts; a number is refused, not a TypeError
    assert store.put_execution(Execution(type_id=et), None, None).artifact_ids == []
    with pytest.raises(InvalidArgumentError) as info:
        store.put_execution(Execution(type_id=et), 3)  # type: ignore[arg-type]
    assert info.value.field == "artifact_and_events"


def test_a_property_of_the_wrong_kind_is_one_error_in_the_traceback(store: MetadataStore) -> None:
    """The write re-checks against a fresh read of the type before refusing (the cached one
    may be stale); the second failure used to be chained to the first, so a notebook showed
    the same error twice with 'During handling of the above exception ...' between."""
    t = store.put_artifact_type(ArtifactType(name="Scored", properties={"accuracy": PropertyType.DOUBLE}))
    store.put_artifacts([Artifact(type_id=t, properties={"accuracy": 0.5})])  # the type cached
    with pytest.raises(InvalidArgumentError) as info:
        store.put_artifacts([Artifact(type_id=t, properties={"accuracy": "high"})])
    assert info.value.field == "artifacts[0].properties['accuracy']"
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_store_dropped_unclosed_closes_its_connections_without_a_warning(neo4j_server: Settings) -> None:
    """A notebook re-running `store = MetadataStore()` drops the previous store unclosed; the
    driver then warned 'unclosed driver' (a ResourceWarning: shown by pytest and by
    notebooks with warnings on) and kept its connections until it was collected."""
    import gc
    import warnings

    store = MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password)
    store.counts()  # a connection in the pool
    driver = store.driver
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del store
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]
    assert driver._closed  # closed, not only collected


def test_a_unique_key_clash_is_one_error_in_the_traceback(store: MetadataStore) -> None:
    """The driver's ConstraintError was chained as the 'direct cause': a second traceback in
    front of an AlreadyExistsError that already names the clash."""
    t = store.put_context_type(ContextType(name="Run"))
    store.put_contexts([Context(type_id=t, name="run-1")])
    with pytest.raises(AlreadyExistsError) as info:
        store.put_contexts([Context(type_id=t, name="run-1")])
    assert info.value.field == "contexts[0].name"
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("build", [lambda: Artifact(type_id=True), lambda: Execution(id=False),
                                   lambda: Event(artifact_id=True), lambda: Attribution(context_id=1, artifact_id=True),
                                   lambda: NodeSelector(ids=[1, True])])
def test_a_bool_is_no_id(build: Any) -> None:
    """Python's True is an int: Artifact(type_id=True) named type 1, and the write then said
    "no ArtifactType with id 1"; an id given as a bool is refused when the model is built."""
    with pytest.raises(ValidationError, match="an id is an integer, not bool"):
        build()


@pytest.mark.parametrize("build", [lambda: Artifact(type_id="5"), lambda: Artifact(type_id=5.0),
                                   lambda: EventEdge(execution_index=True, event=Event(type=EventType.INPUT)),
                                   lambda: ListOptions(max_result_size=True), lambda: ListOptions(limit="10"),
                                   lambda: Event(milliseconds_since_epoch="1700000000000"),
                                   lambda: LineageSubgraphQueryOptions(max_num_hops=2.0)])
def test_text_floats_and_bools_are_no_whole_numbers(build: Any) -> None:
    """pydantic converts "5" and 5.0 to 5 and takes True as 1: Artifact(type_id="5") named
    type 5, EventEdge(execution_index=True) the second execution, ListOptions(max_result_size=
    True) a page of one. They are refused when the model is built; numpy's integers are not."""
    with pytest.raises(ValidationError, match="is an integer|integer is expected"):
        build()
    import numpy as np

    assert Artifact(type_id=np.int64(5)).type_id == 5 and ListOptions(max_result_size=np.int32(3)).max_result_size == 3
