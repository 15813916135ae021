"""Hostile and bad input: each gets a typed error naming the offending field, and the store is
unchanged (a full export before and after is identical). Hostile but valid names and values
(Cypher metacharacters and keywords, NUL, any Unicode) are stored verbatim and change nothing
else.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest

from _sample import populate
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
    ExecutionType,
    GraphmdError,
    InvalidArgumentError,
    LineageGraph,
    ListOptions,
    MetadataStore,
    NodeSelector,
    LineageSubgraphQueryOptions,
    NotFoundError,
    ParentContext,
    PropertyType,
    ProtoValue,
    compare_lineage,
    compare_runs,
    export_store,
    import_store,
    lineage_html,
    lineage_svg,
)
from graphmd.mlmd import to_proto

P = PropertyType
MISSING = 9_000_000_000  # an id no node has
INJECTIONS = [
    "x` DETACH DELETE n //",
    "`}) MATCH (n) DETACH DELETE n //",
    "'; MATCH (n) DETACH DELETE n; '",
    '"}) RETURN 1 //',
    "{evil: true}",
    "$id",
    "MATCH",
    "DETACH DELETE",
    "RETURN n",
    "p_day",
    "\\u0060",
    "a\x00b",
    "\U0001f9ea \u2028 \u202e",
]


def full_export(store: MetadataStore) -> str:
    out = io.StringIO()
    export_store(store, out)
    return out.getvalue()


@pytest.fixture
def ids(store: MetadataStore) -> dict[str, int]:
    populate(store, n=2)
    data = store.get_artifact_type("Data", "v2")
    step = store.get_execution_type("Step")
    run = store.get_context_type("Run")
    artifact, artifact2 = store.get_artifacts_by_type("Data", "v2")[:2]
    return {"data": data.id, "step": step.id, "run": run.id, "artifact": artifact.id, "artifact2": artifact2.id,
            "execution": store.get_executions()[0].id, "context": store.get_contexts()[0].id,
            "context2": store.get_contexts()[1].id}


Case = tuple[str, Callable[[MetadataStore, dict[str, int]], Any], type[GraphmdError], str]

CASES: list[Case] = [
    # Wrong property types against the type's schema.
    ("INT given a string", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], properties={"i": "1"})]),
     InvalidArgumentError, "artifacts[0].properties"),
    ("INT given a double", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], properties={"i": 1.0})]),
     InvalidArgumentError, "artifacts[0].properties"),
    ("DOUBLE given an int", lambda s, i: s.put_executions([Execution(type_id=i["step"], properties={"lr": 1})]),
     InvalidArgumentError, "executions[0].properties"),
    ("BOOLEAN given an int", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], properties={"b": 1})]),
     InvalidArgumentError, "artifacts[0].properties"),
    ("STRUCT given a string", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], properties={"st": "{}"})]),
     InvalidArgumentError, "artifacts[0].properties"),
    ("PROTO given a struct", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], properties={"pb": {"a": 1}})]),
     InvalidArgumentError, "artifacts[0].properties"),
    ("undeclared property", lambda s, i: s.put_contexts([Context(type_id=i["run"], name="n", properties={"x": 1})]),
     InvalidArgumentError, "contexts[0].properties"),
    ("update with a wrong kind",
     lambda s, i: s.put_artifacts([Artifact(id=i["artifact"], type_id=i["data"], properties={"s": 5})]),
     InvalidArgumentError, "artifacts[0].properties"),
    ("STRUCT that is not JSON", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], properties={"st": {"f": {1, 2}}})]),
     InvalidArgumentError, "artifacts[0].properties['st']"),
    ("int beyond int64", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], custom_properties={"big": 2**63})]),
     InvalidArgumentError, "artifacts[0].custom_properties['big']"),
    # Unknown type or node ids.
    ("unknown type id", lambda s, i: s.put_artifacts([Artifact(type_id=MISSING)]),
     NotFoundError, "artifacts[0].type_id"),
    ("type id of another kind", lambda s, i: s.put_artifacts([Artifact(type_id=i["step"])]),
     NotFoundError, "artifacts[0].type_id"),
    ("unknown node id", lambda s, i: s.put_artifacts([Artifact(id=MISSING, type_id=i["data"])]),
     InvalidArgumentError, "artifacts[0].id"),
    ("type id beyond int64", lambda s, i: s.put_contexts([Context(type_id=2**64, name="x")]),
     InvalidArgumentError, "contexts[0].type_id"),
    ("unknown type name", lambda s, i: s.get_artifact_type("NoSuchType"), NotFoundError, "type_name"),
    ("unknown context to link", lambda s, i: s.put_attributions_and_associations(
        [Attribution(context_id=MISSING, artifact_id=i["artifact"])]), InvalidArgumentError, "context_id"),
    ("unknown parent context", lambda s, i: s.put_parent_contexts([ParentContext(child_id=i["context"],
                                                                                 parent_id=MISSING)]),
     InvalidArgumentError, "parent_contexts"),
    ("link id beyond int64", lambda s, i: s.put_attributions_and_associations(
        [], [Association(context_id=i["context"], execution_id=-(2**63) - 1)]),
     InvalidArgumentError, "associations[0].execution_id"),
    # Events pointing at missing nodes.
    ("event to a missing artifact", lambda s, i: s.put_events([Event(artifact_id=MISSING, execution_id=i["execution"],
                                                                     type=EventType.INPUT)]),
     InvalidArgumentError, "artifact_id"),
    ("event to a missing execution", lambda s, i: s.put_events([Event(artifact_id=i["artifact"],
                                                                      execution_id=MISSING, type=EventType.OUTPUT)]),
     InvalidArgumentError, "execution_id"),
    ("put_execution event to a missing artifact", lambda s, i: s.put_execution(
        Execution(type_id=i["step"]), [ArtifactAndEvent(event=Event(artifact_id=MISSING, type=EventType.INPUT))]),
     InvalidArgumentError, "artifact_id"),
    ("bad property of a put_execution pair's artifact", lambda s, i: s.put_execution(
        Execution(type_id=i["step"]), [ArtifactAndEvent(event=Event(artifact_id=i["artifact"], type=EventType.INPUT)),
                                       ArtifactAndEvent(artifact=Artifact(type_id=i["data"], properties={"nope": 1}),
                                                        event=Event(type=EventType.OUTPUT))]),
     InvalidArgumentError, "artifact_and_events[1].artifact.properties"),
    ("bad value of a put_execution pair's artifact", lambda s, i: s.put_execution(
        Execution(type_id=i["step"]), [ArtifactAndEvent(event=Event(artifact_id=i["artifact"], type=EventType.INPUT)),
                                       ArtifactAndEvent(artifact=Artifact(type_id=i["data"], uri="u" * 9000),
                                                        event=Event(type=EventType.OUTPUT))]),
     InvalidArgumentError, "artifact_and_events[1].artifact.uri"),
    ("put_execution's execution with an unknown property", lambda s, i: s.put_execution(
        Execution(type_id=i["step"], properties={"nope": 1})), InvalidArgumentError, "execution.properties"),
    ("lineage edge to a missing execution", lambda s, i: s.put_lineage_subgraph(
        [], [Artifact(type_id=i["data"])], [],
        [EventEdge(event=Event(type=EventType.INPUT, execution_id=MISSING), artifact_index=0)]),
     InvalidArgumentError, "execution_id"),
    ("lineage edge index out of range", lambda s, i: s.put_lineage_subgraph(
        [Execution(type_id=i["step"])], [], [], [EventEdge(event=Event(type=EventType.INPUT), execution_index=0,
                                                          artifact_index=3)]),
     GraphmdError, "event_edges[0].artifact_index"),
    # Duplicates.
    ("duplicate artifact name", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], name="d0")]),
     AlreadyExistsError, "name"),
    ("duplicate external id", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], external_id="ext-0")]),
     AlreadyExistsError, "external_id"),
    ("duplicate context name", lambda s, i: s.put_contexts([Context(type_id=i["run"], name="root")]),
     AlreadyExistsError, "name"),
    ("duplicate name in one request", lambda s, i: s.put_contexts([Context(type_id=i["run"], name="new"),
                                                                   Context(type_id=i["run"], name="new")]),
     AlreadyExistsError, "contexts[1].name"),
    ("type redefined", lambda s, i: s.put_execution_type(ExecutionType(name="Step", properties={"lr": P.INT})),
     AlreadyExistsError, "execution_type.properties"),
    ("duplicate event", lambda s, i: s.put_events(s.get_events_by_execution_ids([i["execution"]])[:1]),
     AlreadyExistsError, "events"),
    ("duplicate parent link", lambda s, i: s.put_parent_contexts(
        [ParentContext(child_id=p.id, parent_id=s.get_context_by_type_and_name("Run", "root").id)
         for p in s.get_children_contexts_by_context(s.get_context_by_type_and_name("Run", "root").id)[:1]]),
     AlreadyExistsError, "parent_contexts"),
    ("one bad node among good ones", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], uri="/ok")] * 3
                                                                  + [Artifact(type_id=i["data"], name="d1")]),
     AlreadyExistsError, "name"),
    # Empty and oversized strings.
    ("empty type name", lambda s, i: s.put_context_type(ContextType(name="")), InvalidArgumentError, "context_type.name"),
    ("empty context name", lambda s, i: s.put_contexts([Context(type_id=i["run"], name="")]),
     InvalidArgumentError, "contexts[0].name"),
    ("oversized uri", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], uri="u" * 9000)]),
     InvalidArgumentError, "artifacts[0].uri"),
    ("oversized name", lambda s, i: s.put_execution(Execution(type_id=i["step"], name="n" * 9000)),
     InvalidArgumentError, "execution.name"),
    ("oversized external id", lambda s, i: s.put_contexts([Context(type_id=i["run"], name="c", external_id="é" * 2001)]),
     InvalidArgumentError, "contexts[0].external_id"),
    ("oversized type name", lambda s, i: s.put_artifact_type(ArtifactType(name="t" * 4001)),
     InvalidArgumentError, "artifact_type.name"),
    # Unicode and NUL.
    ("NUL in a property name", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], custom_properties={"a\x00": 1})]),
     InvalidArgumentError, "artifacts[0].custom_properties['a\\x00']"),
    ("NUL in a type's property name", lambda s, i: s.put_artifact_type(ArtifactType(name="T", properties={"\x00": P.INT})),
     InvalidArgumentError, "artifact_type.properties"),
    ("lone surrogate in a name", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"], name="a\ud800")]),
     InvalidArgumentError, "artifacts[0].name"),
    ("lone surrogate in a value", lambda s, i: s.put_contexts([Context(type_id=i["run"], name="c",
                                                                       properties={"note": "\udfff"})]),
     InvalidArgumentError, "contexts[0].properties['note']"),
    ("lone surrogate in a STRUCT key", lambda s, i: s.put_artifacts([Artifact(type_id=i["data"],
                                                                              properties={"st": {"\udc00": 1}})]),
     InvalidArgumentError, "artifacts[0].properties['st']"),
    ("lone surrogate in a STRUCT value", lambda s, i: s.put_artifacts([Artifact(
        type_id=i["data"], custom_properties={"st": {"k": ["ok", "\ud800"]}})]),
     InvalidArgumentError, "artifacts[0].custom_properties['st']"),
    ("lone surrogate in a property name", lambda s, i: s.put_execution(
        Execution(type_id=i["step"], custom_properties={"\ud800": 1})),
     InvalidArgumentError, "execution.custom_properties"),
    ("lone surrogate in a type name", lambda s, i: s.put_execution_type(ExecutionType(name="\ud800")),
     InvalidArgumentError, "execution_type.name"),
    ("event path index beyond int64", lambda s, i: s.put_execution(
        Execution(type_id=i["step"]), [(Artifact(type_id=i["data"]), Event(type=EventType.OUTPUT, path=["k", 2**63]))]),
     InvalidArgumentError, "artifact_and_events[0].event.path[1]"),
    ("lone surrogate in an event path key", lambda s, i: s.put_events([Event(
        artifact_id=i["artifact2"], execution_id=i["execution"], type=EventType.DECLARED_INPUT, path=["\udc80"])]),
     InvalidArgumentError, "events[0].path[0]"),
    ("lineage edge path index beyond int64", lambda s, i: s.put_lineage_subgraph(
        [Execution(type_id=i["step"])], [Artifact(type_id=i["data"])], [],
        [EventEdge(event=Event(type=EventType.INPUT, path=[-(2**63) - 1]), execution_index=0, artifact_index=0)]),
     InvalidArgumentError, "event_edges[0].event.path[0]"),
    ("lone surrogate in an execution type's input_type", lambda s, i: s.put_execution_type(
        ExecutionType(name="Odd").model_copy(update={"input_type": {"simple": {"name": "\udce9"}}})),
     InvalidArgumentError, "execution_type.input_type"),
    ("lone surrogate in a read", lambda s, i: s.get_artifacts_by_uri("\ud800"), InvalidArgumentError, "uri"),
    ("lone surrogate in a listed read", lambda s, i: s.get_artifacts_by_external_ids(["ok", "\ud800"]),
     InvalidArgumentError, "external_ids[1]"),
    ("lone surrogate in a type read", lambda s, i: s.get_artifact_type("\ud800"), InvalidArgumentError, "type_name"),
    ("id beyond int64 in a read", lambda s, i: s.get_executions_by_id([2**63]), InvalidArgumentError, ""),
    ("bad page token", lambda s, i: s.get_artifacts(ListOptions(max_result_size=1, next_page_token="`}) //")),
     InvalidArgumentError, "next_page_token"),
    ("page size beyond int64", lambda s, i: s.get_artifacts(ListOptions(max_result_size=2**63)),
     InvalidArgumentError, "max_result_size"),
    ("lineage start id beyond int64", lambda s, i: s.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[1, 2**70]))), InvalidArgumentError, "starting_artifacts.ids[1]"),
    ("lineage hops beyond int64", lambda s, i: s.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(filter_query="uri = 'x'"), max_num_hops=2**64)),
     InvalidArgumentError, "max_num_hops"),
    # Arguments of the wrong shape, which would otherwise read as "nothing found".
    ("an id as text in a read", lambda s, i: s.get_artifacts_by_id([i["artifact"], "7"]), InvalidArgumentError,
     "artifact_ids[1]"),
    ("a string for a list of ids", lambda s, i: s.get_executions_by_id("12"), InvalidArgumentError, "execution_ids"),
    ("list_page of something else", lambda s, i: s.list_page(int), InvalidArgumentError, "cls"),
    ("prune after something else", lambda s, i: s.prune_contexts([i["context"]], dry_run=True, after={"x": 1}),
     InvalidArgumentError, "after"),
    ("export to a path", lambda s, i: export_store(s, "/tmp/x.jsonl"), InvalidArgumentError, "out"),
    ("import in batches of text", lambda s, i: import_store(s, [], batch_size="x"), InvalidArgumentError, "batch_size"),
    ("a proto of an int beyond int64", lambda s, i: to_proto(Artifact(type_id=i["data"], properties={"a": 2**70})),
     InvalidArgumentError, "artifact.properties['a']"),
    ("list_page of a version of no type", lambda s, i: s.list_page(Artifact, type_version="v2"), InvalidArgumentError,
     "type_version"),
    ("compare_runs given one name", lambda s, i: compare_runs(s, "root"), InvalidArgumentError, "run_names"),
    ("compare_runs given None", lambda s, i: compare_runs(s, None), InvalidArgumentError, "run_names"),
    ("compare_runs given no run", lambda s, i: compare_runs(s, []), InvalidArgumentError, "run_names"),
    ("compare_runs given a number", lambda s, i: compare_runs(s, ["run-0", 1]), InvalidArgumentError, "run_names[1]"),
    ("compare_lineage given an artifact twice", lambda s, i: compare_lineage(s, [i["artifact"], i["artifact"]]),
     InvalidArgumentError, "artifact_ids[1]"),
    ("compare_lineage max_hops True", lambda s, i: compare_lineage(s, [i["artifact"], i["artifact2"]], max_hops=True),
     InvalidArgumentError, "max_hops"),
    ("compare_lineage max_hops as text", lambda s, i: compare_lineage(s, [i["artifact"], i["artifact2"]], max_hops="2"),
     InvalidArgumentError, "max_hops"),
    ("compare_lineage max_hops 1.5", lambda s, i: compare_lineage(s, [i["artifact"], i["artifact2"]], max_hops=1.5),
     InvalidArgumentError, "max_hops"),
    ("a tint keyed by id alone", lambda s, i: lineage_svg(LineageGraph(), tint={1: "#ffffff"}), InvalidArgumentError,
     "tint"),
    ("an id to highlight as text", lambda s, i: lineage_svg(LineageGraph(), highlight=["42"]), InvalidArgumentError,
     "highlight[0]"),
    ("ids to highlight as one string", lambda s, i: lineage_html(LineageGraph(), highlight_executions="42"),
     InvalidArgumentError, "highlight_executions"),
    ("a title that is a number", lambda s, i: lineage_svg(LineageGraph(), title=5), InvalidArgumentError, "title"),
    ("a legend entry that is no pair", lambda s, i: lineage_html(LineageGraph(), legend=[("ok", "#ffffff"), "x"]),
     InvalidArgumentError, "legend[1]"),
]


@pytest.mark.parametrize(("what", "call", "error", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_typed_error_naming_the_field_and_changes_nothing(
        store: MetadataStore, ids: dict[str, int], what: str, call: Callable, error: type[GraphmdError],
        field: str) -> None:
    before = full_export(store)
    with pytest.raises(error) as info:
        call(store, ids)
    assert type(info.value).__module__ == "graphmd._errors"
    # Neo4j's internal node ids never leave the store, not even in an error.
    assert not re.search(r"(Node|Relationship)\(\d+\)", info.value.message), info.value.message
    if field:
        assert info.value.field is not None and field in info.value.field, (info.value.field, info.value.message)
    assert full_export(store) == before


@pytest.mark.parametrize("text", INJECTIONS)
def test_hostile_names_and_values_are_stored_verbatim_and_touch_nothing_else(
        store: MetadataStore, ids: dict[str, int], text: str) -> None:
    before = store.counts()
    key = text if "\x00" not in text else text.replace("\x00", "")  # Neo4j keys cannot hold NUL
    type_id = store.put_artifact_type(ArtifactType(name=text, version=text, properties={key: P.STRING}))
    [aid] = store.put_artifacts([Artifact(type_id=type_id, name=text, uri=text, external_id=text,
                                          properties={key: text}, custom_properties={key: text, "s": {key: [text]}},
                                          system_metadata=ProtoValue(type_url=text, value=text.encode("utf-8")))])
    ctx_t = store.put_context_type(ContextType(name="ctx-" + text))
    result = store.put_execution(Execution(type_id=ids["step"], name=text),
                                 [ArtifactAndEvent(artifact=store.get_artifacts_by_id([aid])[0],
                                                   event=Event(type=EventType.OUTPUT, path=[text, 0]))],
                                 [Context(type_id=ctx_t, name=text)])
    after = store.counts()
    assert after["types"] == before["types"] + 2 and after["artifacts"] == before["artifacts"] + 1
    assert after["executions"] == before["executions"] + 1 and after["contexts"] == before["contexts"] + 1
    assert after["events"] == before["events"] + 1

    [got] = store.get_artifacts_by_id([aid])
    assert (got.name, got.uri, got.external_id, got.type) == (text, text, text, text)
    assert got.properties == {key: text} and got.custom_properties == {key: text, "s": {key: [text]}}
    assert got.system_metadata.type_url == text
    assert store.get_artifact_type(text, text).properties == {key: P.STRING}
    assert store.get_artifact_by_type_and_name(text, text, text).id == aid
    assert [a.id for a in store.get_artifacts_by_uri(text)] == [aid]
    assert [a.id for a in store.get_artifacts_by_external_ids([text])] == [aid]
    assert [a.id for a in store.get_artifacts_by_type(text, text)] == [aid]
    assert store.get_context_by_type_and_name("ctx-" + text, text).id == result.context_ids[0]
    [event] = store.get_events_by_execution_ids([result.execution_id])
    assert event.path == [text, 0]
