"""Ending selectors that read a field some nodes leave unset (name, external_id): a node whose
field is unset does not match the filter, so it is neither an ending node nor dropped, as in
ml-metadata 1.17.1's own store (the same graph, the same options, compared through the Python
API, stream_lineage and MLMD's client on `graphmd serve`).

The graph: x (no name) reads a0 (named 'in') and writes a1 (no name); y (named 'y') reads a1.
"""

from __future__ import annotations

import pytest

pytest.importorskip("ml_metadata")

import ml_metadata as mlmd  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from _grpc_helpers import client, running_server  # noqa: E402
from graphmd import (  # noqa: E402
    Artifact,
    EndingNodes,
    LineageDirection,
    LineageSubgraphQueryOptions,
    MetadataStore,
    NodeSelector,
)

ENDINGS = [
    ("ending_executions", "name = 'm'"),
    ("ending_executions", "name != 'm'"),
    ("ending_executions", "external_id = 'zz'"),
    ("ending_executions", "NOT name = 'y'"),
    ("ending_artifacts", "name = 'm'"),
    ("ending_artifacts", "name != 'in'"),
    ("ending_artifacts", "external_id != 'zz' OR uri = 'nothing'"),
]
STARTS = [("starting_executions", "type = 'Trainer' AND name IS NULL"), ("starting_artifacts", "name = 'in'")]


def _write(s: mlmd.MetadataStore) -> dict[str, int]:
    at = s.put_artifact_type(pb.ArtifactType(name="Data"))
    et = s.put_execution_type(pb.ExecutionType(name="Trainer"))
    [a0, a1] = s.put_artifacts([pb.Artifact(type_id=at, uri="d0", name="in"), pb.Artifact(type_id=at, uri="d1")])
    [x, y] = s.put_executions([pb.Execution(type_id=et), pb.Execution(type_id=et, name="y")])
    s.put_events([pb.Event(artifact_id=a0, execution_id=x, type=pb.Event.INPUT),
                  pb.Event(artifact_id=a1, execution_id=x, type=pb.Event.OUTPUT),
                  pb.Event(artifact_id=a1, execution_id=y, type=pb.Event.INPUT)])
    return {"a0": a0, "a1": a1, "x": x, "y": y}


def _proto_options(start: tuple[str, str], ending: tuple[str, str], include: bool) -> pb.LineageSubgraphQueryOptions:
    options = pb.LineageSubgraphQueryOptions(max_num_hops=4, direction=pb.LineageSubgraphQueryOptions.BIDIRECTIONAL)
    getattr(options, start[0]).filter_query = start[1]
    getattr(options, ending[0]).filter_query = ending[1]
    getattr(options, ending[0]).include_ending_nodes = include
    return options


def _named(ids: dict[str, int], artifacts: list[int], executions: list[int],
           events: list[tuple[int, int]]) -> tuple[frozenset[str], frozenset[str], frozenset[tuple[str, str]]]:
    a = {i: n for n, i in ids.items() if n.startswith("a")}
    x = {i: n for n, i in ids.items() if not n.startswith("a")}
    return (frozenset(a[i] for i in artifacts), frozenset(x[i] for i in executions),
            frozenset((a[i], x[j]) for i, j in events))


@pytest.mark.parametrize("include", [False, True])
@pytest.mark.parametrize("start", STARTS, ids=[s[0] for s in STARTS])
@pytest.mark.parametrize("ending", ENDINGS, ids=[f"{e[0][7:]}:{e[1]}" for e in ENDINGS])
def test_an_unset_field_is_no_ending_match(store: MetadataStore, start, ending, include):
    reference = mlmd.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig()))
    reference_ids = _write(reference)
    graph = reference.get_lineage_subgraph(_proto_options(start, ending, include))
    expected = _named(reference_ids, [n.id for n in graph.artifacts], [n.id for n in graph.executions],
                      [(e.artifact_id, e.execution_id) for e in graph.events])
    assert expected[1], "every start here is an execution or reaches one"
    with running_server(store) as server:
        served = client(server.port)
        ids = _write(served)
        graph = served.get_lineage_subgraph(_proto_options(start, ending, include))
        assert _named(ids, [n.id for n in graph.artifacts], [n.id for n in graph.executions],
                      [(e.artifact_id, e.execution_id) for e in graph.events]) == expected
    options = LineageSubgraphQueryOptions(
        max_num_hops=4, direction=LineageDirection.BIDIRECTIONAL, **{start[0]: NodeSelector(filter_query=start[1])},
        **{ending[0]: EndingNodes(filter_query=ending[1], include_ending_nodes=include)})
    found = store.get_lineage_subgraph(options)
    assert _named(ids, [n.id for n in found.artifacts], [n.id for n in found.executions],
                  [(e.artifact_id, e.execution_id) for e in found.events]) == expected
    steps = list(store.stream_lineage(options))
    assert _named(ids, [s.node.id for s in steps if isinstance(s.node, Artifact)],
                  [s.node.id for s in steps if not isinstance(s.node, Artifact)],
                  [(e.artifact_id, e.execution_id) for s in steps for e in s.events]) == expected
