"""Lineage traversal on a generated history: 50 runs of the 7-stage pipeline, each Trainer
warm-starting from the previous model and also reading the model from two runs back.

Exact node and event sets are checked against ml-metadata's own store holding the same
history (for hop counts MLMD allows, <= 100) and against MLMD's algorithm transcribed in
tests/_lineage_reference.py (for more hops, which MLMD caps).
"""

from __future__ import annotations

import itertools

import pytest

from graphmd import (
    Artifact,
    ArtifactAndEvent,
    ArtifactType,
    EndingNodes,
    Event,
    EventType,
    Execution,
    ExecutionType,
    InvalidArgumentError,
    LineageDirection,
    LineageSubgraphQueryOptions,
    MetadataStore,
    NodeSelector,
    NotFoundError,
)
from graphmd._tfx_pipeline import History, record_history
from tests._lineage_reference import Reference, mlmd_result, mlmd_store

RUNS = 50


@pytest.fixture(scope="module")
def history(session_store: MetadataStore) -> History:
    session_store.delete_everything()
    return record_history(session_store, RUNS)


@pytest.fixture(scope="module")
def reference(history: History) -> Reference:
    return Reference(history.plans)


@pytest.fixture(scope="module")
def mlmd(history: History):
    """ml-metadata's own store holding the same history (ml-metadata has wheels for Python
    3.11 only: on a newer one the comparisons skip, and the rest of this file runs)."""
    pytest.importorskip("ml_metadata")
    store, _ = mlmd_store(history.plans)
    return store


@pytest.fixture(scope="module")
def Q(mlmd):
    """ml-metadata's LineageSubgraphQueryOptions message."""
    from ml_metadata.proto import metadata_store_pb2 as pb
    return pb.LineageSubgraphQueryOptions


def names(history: History, graph) -> tuple[set[str], set[str], set[tuple[str, str, str]]]:
    artifacts = {a.id: a.name for a in graph.artifacts}
    executions = {x.id: x.name for x in graph.executions}
    events = {(artifacts[e.artifact_id], executions[e.execution_id], e.type.value) for e in graph.events}
    return set(artifacts.values()), set(executions.values()), events


def ours(store: MetadataStore, history: History, start: str, kind: str, hops: int | None, direction: str,
         ending: tuple[str, str, bool] | None = None):
    selector = NodeSelector(ids=[(history.artifacts if kind == "A" else history.executions)[start]])
    options = LineageSubgraphQueryOptions(max_num_hops=hops, direction=LineageDirection(direction),
                                          **{"starting_artifacts" if kind == "A" else "starting_executions": selector})
    if ending:
        ending_kind, type_name, include = ending
        field = "ending_artifacts" if ending_kind == "A" else "ending_executions"
        options = options.model_copy(update={field: EndingNodes(types=[type_name], include_ending_nodes=include)})
    return store.get_lineage_subgraph(options)


STARTS = [("run-0045/model", "A"), ("run-0020/examples", "A"), ("run-0030/Trainer", "X"), ("run-0049/pushed_model", "A")]
ENDINGS = [None, ("A", "Examples", False), ("A", "Model", True), ("X", "Evaluator", False), ("X", "Trainer", True)]


@pytest.mark.parametrize("direction", ["UPSTREAM", "DOWNSTREAM", "BIDIRECTIONAL"])
@pytest.mark.parametrize("start,kind", STARTS)
def test_matches_mlmd_for_each_direction_depth_and_ending(session_store, history, mlmd, Q, direction, start, kind):
    checked = 0
    for hops, ending in itertools.product([0, 1, 2, 3, 5, 12, 100], ENDINGS):
        graph = ours(session_store, history, start, kind, hops, direction, ending)
        q = Q(max_num_hops=hops, direction=getattr(Q, direction))
        starting = q.starting_artifacts if kind == "A" else q.starting_executions
        starting.filter_query = f"name = '{start}'"
        if ending:
            end = q.ending_artifacts if ending[0] == "A" else q.ending_executions
            end.filter_query = f"type = '{ending[1]}'"
            end.include_ending_nodes = ending[2]
        expected = mlmd_result(mlmd.get_lineage_subgraph(q))
        got = names(history, graph)
        assert got == expected[:3], (hops, ending)
        assert {c.name for c in graph.contexts} == expected[3], (hops, ending)
        checked += 1
    assert checked == 35


def test_exact_upstream_of_a_model(session_store, history):
    """Two hops up from a model: its Trainer, then everything the Trainer read."""
    graph = ours(session_store, history, "run-0045/model", "A", 2, "UPSTREAM")
    assert names(history, graph) == (
        {"run-0045/model", "run-0045/examples", "run-0045/transform_graph", "run-0045/schema", "run-0044/model",
         "run-0043/model"},
        {"run-0045/Trainer"},
        {("run-0045/model", "run-0045/Trainer", "OUTPUT"), ("run-0045/examples", "run-0045/Trainer", "INPUT"),
         ("run-0045/transform_graph", "run-0045/Trainer", "INPUT"), ("run-0045/schema", "run-0045/Trainer", "INPUT"),
         ("run-0044/model", "run-0045/Trainer", "INPUT"), ("run-0043/model", "run-0045/Trainer", "INPUT")})
    assert [t.name for t in graph.artifact_types] == ["Examples", "Schema", "TransformGraph", "Model"]
    assert [t.name for t in graph.execution_types] == ["Trainer"]
    # Contexts of the returned nodes (a model is also in the runs that read it).
    assert {c.id for c in graph.contexts} == (
        {c.id for a in graph.artifacts for c in session_store.get_contexts_by_artifact(a.id)}
        | {c.id for x in graph.executions for c in session_store.get_contexts_by_execution(x.id)})
    assert {"taxi", "run-0043", "run-0045", "run-0047"} <= {c.name for c in graph.contexts}
    assert len(graph.associations) == 2  # the Trainer in the pipeline and in its run
    assert len(graph.attributions) == sum(
        len(session_store.get_contexts_by_artifact(a.id)) for a in graph.artifacts)


@pytest.mark.parametrize("field, options", [
    ("ending_artifacts.types[1]", {"ending_artifacts": EndingNodes(types=["Examples", "Modle"])}),
    ("starting_artifacts.types[0]", {"starting_artifacts": NodeSelector(types=["Modle"])}),
    ("ending_executions.types[0]", {"ending_executions": EndingNodes(types=["Model"])}),  # an ArtifactType
])
def test_a_misspelt_type_name_is_named_not_an_unbounded_walk(session_store, history, field, options):
    """EndingNodes(types=["Modle"]) returned the whole lineage, as if no boundary was given;
    NodeSelector(types=["Modle"]) said only that no starting node matched."""
    query = LineageSubgraphQueryOptions(**{"starting_artifacts": NodeSelector(ids=[history.artifacts["run-0040/model"]]),
                                           **options})
    for read in (session_store.get_lineage_subgraph, lambda o: list(session_store.stream_lineage(o)),
                 lambda o: list(session_store.lineage_paths(o))):
        with pytest.raises(NotFoundError) as error:
            read(query)
        assert error.value.field == field and "named 'Mod" in error.value.message


def test_impact_of_a_dataset_stops_at_boundary_types(session_store, history, reference):
    """Everything downstream of run 20's examples, not crossing into later models' users."""
    start = history.artifacts["run-0020/examples"]
    graph = session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[start]), direction=LineageDirection.DOWNSTREAM,
        ending_artifacts=EndingNodes(types=["Model"], include_ending_nodes=True)))
    artifacts, executions, _ = names(history, graph)
    # The model is reached, not expanded; the Pusher is reached through the blessing.
    assert executions == {f"run-0020/{c}" for c in ("StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator",
                                                     "Pusher")}
    assert artifacts == {"run-0020/examples", "run-0020/statistics", "run-0020/schema", "run-0020/transform_graph",
                         "run-0020/model", "run-0020/evaluation", "run-0020/blessing"} | (
        {"run-0020/pushed_model"} & set(history.artifacts))
    assert not any(e.type.value == "INPUT" and e.artifact_id == history.artifacts["run-0020/model"]
                   for e in graph.events)
    unbounded = session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[start]), direction=LineageDirection.DOWNSTREAM))
    expected = reference.subgraph(start_artifacts={"run-0020/examples"}, direction="DOWNSTREAM")
    assert names(history, unbounded) == (expected.artifacts, expected.executions, expected.events)
    assert "run-0049/model" in expected.artifacts  # through warm starting, every later model


def test_read_mask_fills_only_the_named_fields(session_store, history):
    options = LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[history.artifacts["run-0010/model"]]),
                                          max_num_hops=3)
    full = session_store.get_lineage_subgraph(options)
    for field in ("artifacts", "executions", "contexts", "artifact_types", "execution_types", "context_types",
                  "events", "attributions", "associations"):
        part = session_store.get_lineage_subgraph(options, [field])
        assert getattr(part, field) == getattr(full, field), field
        assert all(not getattr(part, other) for other in type(part).model_fields if other != field), field
    skeleton = session_store.get_lineage_subgraph(options, ["events", "associations", "attributions"])
    assert skeleton.events == full.events and not skeleton.artifacts
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_subgraph(options, ["artefacts"])
    assert error.value.field == "field_mask_paths"


def test_starting_nodes_by_type_and_both_kinds(session_store, history, reference):
    by_type = session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(types=["PushedModel"]), max_num_hops=0))
    assert {a.name for a in by_type.artifacts} == {n for n, t in reference.artifact_type.items() if t == "PushedModel"}
    both = session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[history.artifacts["run-0003/model"]]),
        starting_executions=NodeSelector(ids=[history.executions["run-0007/Pusher"]]), max_num_hops=1))
    # One hop from two starts of different kinds: the union of each start's neighbourhood.
    one = reference.subgraph(start_artifacts={"run-0003/model"}, max_hops=1)
    other = reference.subgraph(start_executions={"run-0007/Pusher"}, max_hops=1)
    assert names(history, both) == (one.artifacts | other.artifacts, one.executions | other.executions,
                                    one.events | other.events)
    assert "run-0004/Trainer" in one.executions and "run-0007/model" in other.artifacts


@pytest.mark.parametrize("direction", ["UPSTREAM", "DOWNSTREAM", "BIDIRECTIONAL"])
@pytest.mark.parametrize("start_type, kind", [("Model", "A"), ("Examples", "A"), ("Trainer", "X")])
def test_many_starting_nodes_are_walked_together_with_the_same_answer(session_store, history, mlmd, Q, monkeypatch,
                                                                      direction, start_type, kind):
    """More than FRONTIER_STARTS starts (here 50, one a run) are walked breadth-first all at
    once: each start walked on its own cost the sum of their lineages (10,000 outputs of one
    execution, BIDIRECTIONAL, 2 hops: 53 s; 0.45 s so). The answer is ml-metadata's, and the
    distances streamed are those the walk from each start gives."""
    from graphmd import _lineage

    assert len(history.plans) > _lineage.FRONTIER_STARTS
    field = "starting_artifacts" if kind == "A" else "starting_executions"
    for hops in (0, 1, 2, 5, 100):
        options = LineageSubgraphQueryOptions(max_num_hops=hops, direction=LineageDirection(direction),
                                              **{field: NodeSelector(filter_query=f"type = '{start_type}'")})
        q = Q(max_num_hops=hops, direction=getattr(Q, direction))
        (q.starting_artifacts if kind == "A" else q.starting_executions).filter_query = f"type = '{start_type}'"
        expected = mlmd_result(mlmd.get_lineage_subgraph(q))
        graph = session_store.get_lineage_subgraph(options)
        assert names(history, graph) == expected[:3], hops
        assert {c.name for c in graph.contexts} == expected[3], hops
        together = [(s.distance, s.node.id, type(s.node).__name__, sorted(e.model_dump_json() for e in s.events))
                    for s in session_store.stream_lineage(options)]
        with monkeypatch.context() as patched:
            patched.setattr(_lineage, "FRONTIER_STARTS", 10**9)  # each start on its own, as before
            one_by_one = [(s.distance, s.node.id, type(s.node).__name__, sorted(e.model_dump_json() for e in s.events))
                          for s in session_store.stream_lineage(options)]
            assert session_store.get_lineage_subgraph(options) == graph, hops
        assert sorted(together) == sorted(one_by_one), hops


def test_errors(session_store, history):
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_subgraph(LineageSubgraphQueryOptions())
    assert error.value.field == "starting_artifacts"
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(starting_artifacts=NodeSelector()))
    assert error.value.field == "starting_artifacts.filter_query"
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
            starting_artifacts=NodeSelector(ids=[1]), max_num_hops=-1))
    assert error.value.field == "max_num_hops"
    with pytest.raises(NotFoundError) as missing:
        session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[-5])))
    assert missing.value.field == "starting_artifacts"  # the option naming them (was MLMD's oneof's name)
    # ml-metadata's words, and what was asked (they said nothing of it).
    assert missing.value.message == ("cannot find qualified nodes to start the traversal: no artifact matches "
                                     "starting_artifacts (ids [-5])")
    with pytest.raises(NotFoundError) as missing:
        session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(starting_executions=NodeSelector(ids=[-5])))
    assert missing.value.field == "starting_executions"
    with pytest.raises(NotFoundError) as missing:
        list(session_store.stream_lineage(LineageSubgraphQueryOptions(starting_executions=NodeSelector(
            types=["Trainer"], filter_query="name = 'nothing'"))))
    assert missing.value.message.endswith("no execution matches starting_executions (types ['Trainer'], "
                                          "filter_query \"name = 'nothing'\")")


def test_streamed_steps_and_paths(session_store, history):
    options = LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[history.artifacts["run-0030/model"]]),
                                          max_num_hops=9)
    graph = session_store.get_lineage_subgraph(options)
    steps = list(session_store.stream_lineage(options))
    distances = [s.distance for s in steps]
    assert distances == sorted(distances) and distances[0] == 0 and distances[-1] == 9
    seen: set[tuple[str, int]] = set()
    events = []
    for step in steps:
        seen.add((type(step.node).__name__, step.node.id))
        for e in step.events:  # both ends already streamed
            assert ("Artifact", e.artifact_id) in seen and ("Execution", e.execution_id) in seen
        events.extend(step.events)
    assert sorted(seen) == sorted([("Artifact", a.id) for a in graph.artifacts] +
                                  [("Execution", x.id) for x in graph.executions])
    by_ends = lambda e: (e.artifact_id, e.execution_id, e.type.value)  # noqa: E731
    assert sorted(events, key=by_ends) == sorted(graph.events, key=by_ends)
    paths = list(session_store.lineage_paths(options))
    assert len(paths) == len(steps)
    for path, step in zip(paths, steps):
        assert path.nodes[0].id == history.artifacts["run-0030/model"] and path.nodes[-1] == step.node
        assert len(path.events) == step.distance == len(path.nodes) - 1
        for (a, b), e in zip(itertools.pairwise(path.nodes), path.events):
            assert {e.artifact_id, e.execution_id} == {a.id, b.id}


def _hop_goes(a, event, direction: LineageDirection) -> bool:
    """Whether stepping from node ``a`` over ``event`` goes ``direction``: downstream with the
    data flow (artifact -> execution on an input event), upstream against it."""
    flows_from_a = isinstance(a, Artifact) == event.type.is_input
    return flows_from_a == (direction == LineageDirection.DOWNSTREAM)


@pytest.mark.parametrize("direction, start", [(LineageDirection.UPSTREAM, "run-0030/model"),
                                              (LineageDirection.DOWNSTREAM, "run-0005/model")])
def test_paths_go_the_way_of_the_traversal(session_store, history, direction, start):
    """A path's parent is a node a hop nearer that the traversal crosses from: not one an
    event joins the wrong way (a trainer reading an older model the traversal also reaches)."""
    options = LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[history.artifacts[start]]),
                                          max_num_hops=12, direction=direction)
    paths = list(session_store.lineage_paths(options))
    assert len(paths) > 12
    for path in paths:
        for (a, _), e in zip(itertools.pairwise(path.nodes), path.events):
            assert _hop_goes(a, e, direction), (path.nodes, path.events)


def test_traversal_is_one_breadth_first_statement(session_store, history):
    """The plan expands with the pruning BFS operator (linear in nodes visited), never by
    enumerating paths, and the whole call is one statement."""
    from graphmd import _lineage

    text, params = _lineage._subgraph_statement(
        LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[1]), direction=LineageDirection.UPSTREAM,
                                    ending_artifacts=EndingNodes(types=["Examples"], include_ending_nodes=True)),
        set(_lineage.LINEAGE_GRAPH_FIELDS))
    with session_store.driver.session(database=session_store.database) as session:
        plan = session.run("EXPLAIN " + text, params).consume().plan

    def operators(p):
        yield p["operatorType"]
        for child in p.get("children", []):
            yield from operators(child)

    ops = list(operators(plan))
    assert any(op.startswith("VarLengthExpand(Pruning,BFS") for op in ops), ops
    assert not any(op.startswith("VarLengthExpand(All)") for op in ops), ops


def test_filter_queries_select_starting_and_ending_nodes(session_store, history, mlmd, Q):
    """MLMD's filter_query, on a node's own fields (inlined in the traversal) and through
    its contexts (evaluated once into an id set), against ml-metadata on the same history."""
    cases = [
        ("uri = '/models/taxi/run-0030'", "type = 'Examples'", True),
        ("name = 'run-0030/model'", "contexts_a.name = 'run-0028'", True),
        ("contexts_a.name = 'run-0010' AND type = 'Model'", "contexts_a.name = 'run-0007' OR uri LIKE '%span-9'", False),
    ]
    for start, ending, include in cases:
        for direction in ("UPSTREAM", "BIDIRECTIONAL"):
            graph = session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
                starting_artifacts=NodeSelector(filter_query=start), max_num_hops=6,
                direction=LineageDirection(direction),
                ending_artifacts=EndingNodes(filter_query=ending, include_ending_nodes=include)))
            q = Q(max_num_hops=6, direction=getattr(Q, direction))
            q.starting_artifacts.filter_query = start
            q.ending_artifacts.filter_query = ending
            q.ending_artifacts.include_ending_nodes = include
            assert names(history, graph) == mlmd_result(mlmd.get_lineage_subgraph(q))[:3], (start, ending, direction)
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
            starting_artifacts=NodeSelector(filter_query="no_such_field = 1")))
    assert error.value.field == "starting_artifacts.filter_query"


def test_get_lineage_graph(session_store, history, reference):
    """MLMD's deprecated get_lineage_graph (its QueryLineageGraph transcribed: ml-metadata
    1.17.1's store answers it UNIMPLEMENTED): listed starting artifacts, boundaries, node cap."""
    from graphmd import BoundaryConstraint, LineageGraphQueryOptions, ListOptions

    cases = [
        ("name = 'run-0020/model'", None, None, 4, None),
        ("name = 'run-0020/model'", None, None, None, 25),
        ("name = 'run-0020/model'", "type != 'Model'", None, 12, None),
        ("name = 'run-0020/model'", None, "type != 'Evaluator' AND type != 'Pusher'", 8, 40),
        ("type = 'PushedModel' AND uri LIKE '%/1_'", None, None, 2, 0),
    ]
    for listing, boundary_a, boundary_x, hops, max_nodes in cases:
        graph = session_store.get_lineage_graph(LineageGraphQueryOptions(
            artifacts_options=ListOptions(filter_query=listing),
            stop_conditions=BoundaryConstraint(max_num_hops=hops, boundary_artifacts=boundary_a,
                                               boundary_executions=boundary_x),
            max_node_size=max_nodes))
        starts = [a.name for a in session_store.get_artifacts(ListOptions(filter_query=listing))]
        expected = reference.graph(
            starts, max_hops=hops, max_nodes=max_nodes,
            boundary_artifact=(lambda n: reference.artifact_type[n] != "Model") if boundary_a else None,
            boundary_execution=(lambda n: reference.execution_type[n] not in ("Evaluator", "Pusher"))
            if boundary_x else None)
        assert names(history, graph) == (expected.artifacts, expected.executions, expected.events), listing
        if max_nodes:
            assert len(graph.artifacts) + len(graph.executions) <= max_nodes
        assert not graph.contexts
    with pytest.raises(NotFoundError):
        session_store.get_lineage_graph(LineageGraphQueryOptions(artifacts_options=ListOptions(filter_query="id = -1")))
    with pytest.raises(InvalidArgumentError) as error:
        session_store.get_lineage_graph(LineageGraphQueryOptions())
    assert error.value.field == "artifacts_options"


def test_lineage_events_come_in_the_order_recorded(store: MetadataStore) -> None:
    """As ml-metadata returns them (TFX's resolver walks its adjacency lists in this order),
    not by artifact id."""
    data_t = store.put_artifact_type(ArtifactType(name="OrderData"))
    step_t = store.put_execution_type(ExecutionType(name="OrderStep"))
    low, high = store.put_artifacts([Artifact(type_id=data_t, uri="/low"), Artifact(type_id=data_t, uri="/high")])
    first = store.put_execution(Execution(type_id=step_t), [ArtifactAndEvent(event=Event(artifact_id=high, type=EventType.INPUT))])
    second = store.put_execution(Execution(type_id=step_t), [ArtifactAndEvent(event=Event(artifact_id=low, type=EventType.INPUT))])
    graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(filter_query=f"id IN ({low}, {high})"), max_num_hops=1))
    assert [(e.artifact_id, e.execution_id) for e in graph.events] == [(high, first.execution_id),
                                                                       (low, second.execution_id)]

