"""Code moved from ml-metadata's Python API (ml_metadata.metadata_store.MetadataStore) to
graphmd's library, call by call, in the forms ml-metadata's client and its own test suite use:
positional options and masks, list and 1-tuple pairs, list edges, None for no contexts,
ml-metadata's ListOptions (limit, OrderByField, order_by None), StartingNodes. Each ran into a
TypeError, an AttributeError or a pydantic error before; a proto given where a model is
expected says how to convert it (graphmd.mlmd.from_proto)."""

from __future__ import annotations

import pytest

from graphmd import (Artifact, ArtifactState, ArtifactType, Context, ContextType, Event, EventType, Execution,
                     ExecutionType, InvalidArgumentError, LineageSubgraphQueryOptions, ListOptions, MetadataStore,
                     OrderBy, PropertyType)

mlmd = pytest.importorskip("ml_metadata")

from ml_metadata.metadata_store import metadata_store as mlmd_store  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from _snapshot import snapshot  # noqa: E402


def test_positional_options_and_masks_as_ml_metadata_takes_them(store: MetadataStore) -> None:
    data_t = store.put_artifact_type(ArtifactType(name="Data", properties={"day": PropertyType.INT}))
    # can_add_fields, positionally: a new property.
    assert store.put_artifact_type(ArtifactType(name="Data", properties={"day": PropertyType.INT,
                                                                         "split": PropertyType.STRING}), True) == data_t
    step_t = store.put_execution_type(ExecutionType(name="Step"), False, False)
    run_t = store.put_context_type(ContextType(name="Run"), False)
    [a] = store.put_artifacts([Artifact(type_id=data_t, uri="/1", properties={"day": 1})])
    store.put_artifacts([Artifact(id=a, type_id=data_t, uri="/2", properties={"day": 9})], ["uri"])
    [got] = store.get_artifacts_by_id([a])
    assert (got.uri, got.properties["day"]) == ("/2", 1)  # only the masked field changed
    [x] = store.put_executions([Execution(type_id=step_t)])
    store.put_executions([Execution(id=x, type_id=step_t, last_known_state="COMPLETE")], ["last_known_state"])
    [c] = store.put_contexts([Context(type_id=run_t, name="r1")])
    store.put_contexts([Context(id=c, type_id=run_t, name="r2")], ["name"])
    assert store.get_contexts_by_id([c])[0].name == "r2"
    # put_execution's reuse_context_if_already_exist, positionally: the context is reused.
    result = store.put_execution(Execution(type_id=step_t), [], [Context(type_id=run_t, name="r2")], True)
    assert result.context_ids == [c]


def test_pairs_edges_and_contexts_in_ml_metadata_forms(store: MetadataStore) -> None:
    data_t = store.put_artifact_type(ArtifactType(name="Data"))
    step_t = store.put_execution_type(ExecutionType(name="Step"))
    [old] = store.put_artifacts([Artifact(type_id=data_t, uri="/in")])
    [stored_old] = store.get_artifacts_by_id([old])
    # metadata_store_test.py's form: a list per pair, an artifact alone, contexts None.
    x, ids, contexts = store.put_execution(Execution(type_id=step_t), [
        [stored_old], [Artifact(type_id=data_t, uri="/out"), Event(type=EventType.OUTPUT)],
        (Artifact(type_id=data_t, uri="/alone"),)], None)
    assert contexts == [] and len(ids) == 3 and ids[0] == old
    assert [(e.artifact_id, e.type) for e in store.get_events_by_execution_ids([x])] == [(ids[1], EventType.OUTPUT)]
    # put_lineage_subgraph's edges as lists, and its reuse option positionally.
    result = store.put_lineage_subgraph([Execution(type_id=step_t)], [Artifact(type_id=data_t, uri="/new")], [],
                                        [[0, 0, Event(type=EventType.OUTPUT)]], False, False)
    assert len(store.get_events_by_execution_ids(result.execution_ids)) == 1


def test_list_options_as_ml_metadata_writes_them(store: MetadataStore) -> None:
    data_t = store.put_artifact_type(ArtifactType(name="Data"))
    ids = store.put_artifacts([Artifact(type_id=data_t, uri=f"/{i}") for i in range(4)])
    store.put_artifacts([Artifact(id=ids[1], type_id=data_t, uri="/1", state=ArtifactState.LIVE)])
    newest_change = [ids[1]]
    # graphmd's ListOptions under ml-metadata's names.
    assert [a.id for a in store.get_artifacts(list_options=ListOptions(limit=2, is_asc=False))] == ids[::-1][:2]
    assert [a.id for a in store.get_artifacts(ListOptions(limit=1, order_by=OrderBy.UPDATE_TIME, is_asc=False))] == \
        newest_change
    assert [a.id for a in store.get_artifacts(ListOptions(order_by=None))] == ids
    # ml-metadata's own ListOptions and OrderByField, passed as they are.
    theirs = mlmd_store.ListOptions(limit=1, order_by=mlmd_store.OrderByField.UPDATE_TIME, is_asc=False)
    assert [a.id for a in store.get_artifacts(list_options=theirs)] == newest_change
    assert [a.id for a in store.get_artifacts(mlmd_store.ListOptions(filter_query="uri = '/2'"))] == [ids[2]]
    # ml-metadata's Python store reads limit=0 (falsy) as no limit; so do both forms here.
    assert [a.id for a in store.get_artifacts(ListOptions(limit=0))] == ids
    assert [a.id for a in store.get_artifacts(mlmd_store.ListOptions(limit=0))] == ids
    with pytest.raises(InvalidArgumentError):  # graphmd's own name keeps its meaning: a page of none is a mistake
        store.get_artifacts(ListOptions(max_result_size=0))
    with pytest.raises(InvalidArgumentError) as info:
        store.get_artifacts(list_options={"limit": 1})  # type: ignore[arg-type]
    assert info.value.field == "list_options"


def test_starting_nodes_by_ml_metadata_name(store: MetadataStore) -> None:
    data_t = store.put_artifact_type(ArtifactType(name="Data"))
    [a] = store.put_artifacts([Artifact(type_id=data_t, uri="/1")])
    options = LineageSubgraphQueryOptions(
        starting_artifacts=LineageSubgraphQueryOptions.StartingNodes(filter_query=f"id = {a}"), max_num_hops=1)
    assert [n.id for n in store.get_lineage_subgraph(options).artifacts] == [a]


def test_a_proto_where_a_model_belongs_says_how_to_convert_it(store: MetadataStore) -> None:
    from graphmd.mlmd import from_proto, to_proto

    data_t = store.put_artifact_type(ArtifactType(name="Data"))
    message = pb.Artifact(type_id=data_t, uri="/p", state=pb.Artifact.LIVE)
    message.custom_properties["n"].int_value = 3
    before = snapshot(store)
    for call, field in ((lambda: store.put_artifacts([message]), "artifacts[0]"),
                        (lambda: store.put_artifact_type(pb.ArtifactType(name="X")), "artifact_type"),
                        (lambda: store.put_execution(pb.Execution(type_id=1)), "execution"),
                        (lambda: store.get_lineage_subgraph(pb.LineageSubgraphQueryOptions()), "query_options"),
                        (lambda: store.put_events([pb.Event(artifact_id=1, execution_id=1)]), "events[0]"),
                        (lambda: store.put_parent_contexts([pb.ParentContext(child_id=1, parent_id=2)]),
                         "parent_contexts[0]"),
                        (lambda: store.put_attributions_and_associations([pb.Attribution(artifact_id=1, context_id=2)]),
                         "attributions[0]")):
        with pytest.raises(InvalidArgumentError) as info:
            call()
        assert info.value.field == field and "graphmd.mlmd.from_proto converts" in info.value.message, info.value
    assert snapshot(store) == before  # each refused before anything was written
    [a] = store.put_artifacts([from_proto(message)])
    [got] = store.get_artifacts_by_id([a])
    assert (got.uri, got.state, got.custom_properties) == ("/p", ArtifactState.LIVE, {"n": 3})
    back = to_proto(got)
    assert (back.uri, back.state, back.custom_properties["n"].int_value) == ("/p", pb.Artifact.LIVE, 3)


def test_a_proto_inside_a_model_says_what_to_write_instead() -> None:
    """Nested in graphmd's models, ml-metadata's messages got pydantic's "Input should be a
    valid dictionary or instance of NodeSelector", and ml-metadata's event path form "Input
    should be a valid list": neither said what graphmd takes."""
    import pydantic

    from graphmd import ArtifactAndEvent, EventEdge, LineageSubgraphQueryOptions

    cases = [
        (lambda: LineageSubgraphQueryOptions(
            starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(filter_query="id = 1")),
         "LineageSubgraphQueryOptions.StartingNodes(filter_query=...)"),
        (lambda: ArtifactAndEvent(artifact=pb.Artifact(uri="/a")), "graphmd.mlmd.from_proto(it)"),
        (lambda: EventEdge(event=pb.Event(type=pb.Event.INPUT)), "graphmd.mlmd.from_proto(it)"),
        (lambda: Event(type=EventType.INPUT, path=pb.Event.Path()), "path=['examples', 0]"),
        (lambda: Event(type=EventType.INPUT, path={"steps": [{"key": "examples"}]}), "path=['examples', 0]"),
    ]
    for make, hint in cases:
        with pytest.raises(pydantic.ValidationError) as info:
            make()
        assert hint in str(info.value), str(info.value)
    assert Event(type=EventType.INPUT, path=["examples", 0]).path == ["examples", 0]


def test_executions_by_context_come_newest_first_as_ml_metadata_lists_them(store: MetadataStore) -> None:
    """ml-metadata's Python client lists a context's executions by create time, newest first,
    when no list options are given; graphmd listed them by id, oldest first, so ported code
    taking [0] as the run's latest step got its first."""
    reference = mlmd_store.MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    step_t = reference.put_execution_type(pb.ExecutionType(name="Step"))
    [run] = reference.put_contexts([pb.Context(type_id=reference.put_context_type(pb.ContextType(name="Run")),
                                               name="r")])
    for i in range(3):
        reference.put_execution(pb.Execution(type_id=step_t, name=f"step{i}"), [],
                                [reference.get_contexts_by_id([run])[0]])
    expected = [x.name for x in reference.get_executions_by_context(run)]
    assert expected == ["step2", "step1", "step0"]
    run_context = Context(type_id=store.put_context_type(ContextType(name="Run")), name="r")
    step_t = store.put_execution_type(ExecutionType(name="Step"))
    for i in range(3):
        result = store.put_execution(Execution(type_id=step_t, name=f"step{i}"), [], [run_context],
                                     reuse_context_if_already_exist=True)
    [run] = result.context_ids
    assert [x.name for x in store.get_executions_by_context(run)] == expected
    # Options given are the caller's, as before (and as ml-metadata takes them).
    assert [x.name for x in store.get_executions_by_context(run, ListOptions())] == ["step0", "step1", "step2"]
