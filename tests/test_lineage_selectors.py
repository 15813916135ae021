"""Ending and starting selectors of get_lineage_subgraph that read properties, custom
properties and contexts, against ml-metadata 1.17.1's own in-process store holding the same
graph: the same query through the ml_metadata client (MLMD's SQLite store and `graphmd serve`),
through the Python API and through stream_lineage / lineage_paths must return the same nodes
and events. Also the message of a bad selector filter, which names its field once.

The graph (properties in brackets, contexts r1 and r2):

    a0 -> x1 -> a1[box 1] -> x2[box 1] -> a2[flag 'stop'] -> x3 -> a3[box 1]
                 a1 -> x4[mark true] -> a4[box 2], a5

r1 holds a0, a1, x1, x2; r2 holds a2, a3, a4, x3, x4.
"""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("ml_metadata")

import ml_metadata as mlmd  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from _grpc_helpers import client, running_server  # noqa: E402
from graphmd import (  # noqa: E402
    Artifact,
    BoundaryConstraint,
    EndingNodes,
    Event,
    Execution,
    InvalidArgumentError,
    LineageDirection,
    LineageGraphQueryOptions,
    LineageSubgraphQueryOptions,
    ListOptions,
    MetadataStore,
    NodeSelector,
)

# (name, properties, custom properties); executions: (name, inputs, outputs, properties, custom)
ARTIFACTS = [
    ("a0", {}, {}),
    ("a1", {"box": pb.Value(int_value=1)}, {}),
    ("a2", {"box": pb.Value(int_value=2)}, {"flag": pb.Value(string_value="stop")}),
    ("a3", {"box": pb.Value(int_value=1)}, {}),
    ("a4", {"box": pb.Value(int_value=2)}, {}),
    ("a5", {}, {"flag": pb.Value(string_value="go")}),
]
EXECUTIONS = [
    ("x1", ["a0"], ["a1"], {}, {}),
    ("x2", ["a1"], ["a2"], {"box": pb.Value(int_value=1)}, {}),
    ("x3", ["a2"], ["a3"], {"box": pb.Value(int_value=2)}, {}),
    ("x4", ["a1"], ["a4", "a5"], {}, {"mark": pb.Value(bool_value=True)}),
]
CONTEXTS = {"r1": ["a0", "a1", "x1", "x2"], "r2": ["a2", "a3", "a4", "x3", "x4"]}

ENDINGS = [
    ("ending_artifacts", "properties.box.int_value = 1"),
    ("ending_artifacts", "custom_properties.flag.string_value = 'stop'"),
    # MLMD joins every property a filter names: a node without one of them never matches.
    ("ending_artifacts", "properties.box.int_value = 1 OR custom_properties.flag.string_value = 'go'"),
    ("ending_artifacts", "properties.box.int_value = 1 AND name != 'a1'"),
    ("ending_artifacts", "contexts_a.name = 'r2'"),
    ("ending_executions", "properties.box.int_value = 1"),
    ("ending_executions", "custom_properties.mark.bool_value = true"),
    ("ending_executions", "contexts_a.name = 'r2'"),
]
# Starting nodes (kind, name): a1 and x2 are themselves ending nodes of some ENDINGS.
STARTS = [("starting_artifacts", "a0"), ("starting_artifacts", "a1"), ("starting_executions", "x2")]
DIRECTIONS = ["DOWNSTREAM", "BIDIRECTIONAL"]
# A few answers spelt out, so the comparison cannot pass on two empty results.
PINNED = {
    ("a0", "DOWNSTREAM", ("ending_artifacts", "properties.box.int_value = 1"), False): ({"a0"}, {"x1"}),
    ("a0", "DOWNSTREAM", ("ending_executions", "custom_properties.mark.bool_value = true"), True): (
        {"a0", "a1", "a2", "a3"}, {"x1", "x2", "x3", "x4"}),
    ("a0", "DOWNSTREAM", ("ending_artifacts", "properties.box.int_value = 1 AND name != 'a1'"), False): (
        {"a0", "a1", "a2", "a4", "a5"}, {"x1", "x2", "x3", "x4"}),
    ("x2", "DOWNSTREAM", ("ending_executions", "properties.box.int_value = 1"), True): (set(), {"x2"}),
}

Answer = tuple[frozenset[str], frozenset[str], frozenset[tuple[str, str, str]]]
Names = dict[tuple[str, int], str]  # ("a" | "x", id) -> name: each kind has its own ids in MLMD


def _write(s: mlmd.MetadataStore) -> dict[str, int]:
    """The graph written through an ml_metadata client; node ids by name."""
    at = s.put_artifact_type(pb.ArtifactType(name="Data", properties={"box": pb.INT}))
    et = s.put_execution_type(pb.ExecutionType(name="Step", properties={"box": pb.INT}))
    ct = s.put_context_type(pb.ContextType(name="Run"))
    ids: dict[str, int] = {}
    for name, props, custom in ARTIFACTS:
        [ids[name]] = s.put_artifacts([pb.Artifact(type_id=at, name=name, properties=props, custom_properties=custom)])
    for name, inputs, outputs, props, custom in EXECUTIONS:
        [ids[name]] = s.put_executions([pb.Execution(type_id=et, name=name, properties=props,
                                                     custom_properties=custom)])
        s.put_events([pb.Event(artifact_id=ids[a], execution_id=ids[name], type=pb.Event.INPUT) for a in inputs]
                     + [pb.Event(artifact_id=ids[a], execution_id=ids[name], type=pb.Event.OUTPUT) for a in outputs])
    for name, members in CONTEXTS.items():
        [ids[name]] = s.put_contexts([pb.Context(type_id=ct, name=name)])
        s.put_attributions_and_associations(
            [pb.Attribution(context_id=ids[name], artifact_id=ids[m]) for m in members if m.startswith("a")],
            [pb.Association(context_id=ids[name], execution_id=ids[m]) for m in members if m.startswith("x")])
    return ids


def _proto_options(start: tuple[str, str], direction: str, ending: tuple[str, str],
                   include: bool) -> pb.LineageSubgraphQueryOptions:
    options = pb.LineageSubgraphQueryOptions(max_num_hops=10, direction=getattr(pb.LineageSubgraphQueryOptions,
                                                                                direction))
    getattr(options, start[0]).filter_query = f"name = '{start[1]}'"
    getattr(options, ending[0]).filter_query = ending[1]
    getattr(options, ending[0]).include_ending_nodes = include
    return options


def _names(ids: dict[str, int]) -> Names:
    return {(name[0], i): name for name, i in ids.items() if name[0] in "ax"}


def _proto_answer(graph: pb.LineageGraph, names: Names) -> Answer:
    """The nodes and events of an MLMD LineageGraph, its node ids turned into the nodes' names."""
    return (frozenset(names["a", a.id] for a in graph.artifacts),
            frozenset(names["x", x.id] for x in graph.executions),
            frozenset((names["a", e.artifact_id], names["x", e.execution_id], pb.Event.Type.Name(e.type))
                      for e in graph.events))


def _answer(names: Names, nodes: list[Artifact | Execution], events: list[Event]) -> Answer:
    """The same for graphmd's nodes and events."""
    return (frozenset(names["a", n.id or 0] for n in nodes if isinstance(n, Artifact)),
            frozenset(names["x", n.id or 0] for n in nodes if isinstance(n, Execution)),
            frozenset((names["a", e.artifact_id or 0], names["x", e.execution_id or 0], e.type.value if e.type else "")
                      for e in events))


@pytest.fixture(scope="module")
def stores(session_store: MetadataStore):
    """(MLMD's store, graphmd's store behind a gRPC client, ids by name in each)."""
    session_store.delete_everything()
    reference = mlmd.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig()))
    with running_server(session_store) as server:
        served = client(server.port)
        yield reference, _write(reference), served, _write(served)
    session_store.delete_everything()


CASES = list(itertools.product(STARTS, DIRECTIONS, ENDINGS, [False, True]))


def _case_id(case) -> str:
    start, direction, ending, include = case
    return f"{start[1]}-{direction[:4]}-{ending[0][7:10]}:{ending[1]}-{'incl' if include else 'excl'}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_ending_selectors_match_mlmd_everywhere(session_store, stores, case):
    start, direction, ending, include = case
    reference, reference_ids, served, served_ids = stores
    reference_names, names = _names(reference_ids), _names(served_ids)
    expected = _proto_answer(reference.get_lineage_subgraph(_proto_options(start, direction, ending, include)),
                             reference_names)
    pinned = PINNED.get((start[1], direction, ending, include))
    assert pinned is None or expected[:2] == pinned, expected
    # MLMD's client on graphmd serve.
    assert _proto_answer(served.get_lineage_subgraph(_proto_options(start, direction, ending, include)),
                         names) == expected
    # The Python API (the starting node by id), streamed steps and paths.
    options = LineageSubgraphQueryOptions(
        max_num_hops=10, direction=LineageDirection(direction), **{start[0]: NodeSelector(ids=[served_ids[start[1]]])},
        **{ending[0]: EndingNodes(filter_query=ending[1], include_ending_nodes=include)})
    graph = session_store.get_lineage_subgraph(options)
    assert _answer(names, [*graph.artifacts, *graph.executions], graph.events) == expected
    steps = list(session_store.stream_lineage(options))
    assert _answer(names, [s.node for s in steps], [e for s in steps for e in s.events]) == expected
    assert [p.nodes[-1] for p in session_store.lineage_paths(options)] == [s.node for s in steps]


@pytest.mark.parametrize("field", ["ending_artifacts", "ending_executions", "starting_artifacts"])
def test_a_bad_selector_filter_names_its_field_once(session_store, stores, field):
    _, _, _, ids = stores
    selector = EndingNodes if field.startswith("ending") else NodeSelector
    selectors = {"starting_artifacts": NodeSelector(ids=[ids["a0"]]), field: selector(filter_query="properties.box = 1")}
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(**selectors))
    assert error.value.field == f"{field}.filter_query"
    assert error.value.message.startswith(f"{field}.filter_query: a property is read as "), error.value.message
    assert str(error.value).count("filter_query") == 1, str(error.value)


@pytest.mark.parametrize("field,options", [
    ("artifacts_options.filter_query",
     LineageGraphQueryOptions(artifacts_options=ListOptions(filter_query="properties.box = 1"))),
    ("stop_conditions.boundary_artifacts",
     LineageGraphQueryOptions(artifacts_options=ListOptions(filter_query="name = 'a0'"),
                              stop_conditions=BoundaryConstraint(boundary_artifacts="properties.box = 1"))),
])
def test_a_bad_lineage_graph_filter_names_its_field_once(session_store, stores, field, options):
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_graph(options)
    assert error.value.field == field
    assert error.value.message.startswith(f"{field}: a property is read as "), error.value.message
