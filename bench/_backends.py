"""The two stores under test behind one small interface.

Each operation comes as a ``*_call`` method that builds the store's own request from
graphmd's models (untimed) and returns a zero-argument callable that sends it (timed).
So each side pays for its store call, not for turning the workload into its request form.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import neo4j

from graphmd import (
    Artifact,
    ArtifactAndEvent,
    Context,
    Event,
    Execution,
    LineageDirection,
    LineageSubgraphQueryOptions,
    ListOptions,
    MetadataStore,
    NodeSelector,
)
from graphmd import _lineage

from ._history import ARTIFACT_TYPES, CONTEXT_TYPES, EXECUTION_TYPES, SubgraphBatch, TypeIds


@dataclasses.dataclass(frozen=True)
class GraphmdConfig:
    """How a (worker) process connects to graphmd's Neo4j."""

    uri: str
    user: str
    password: str | None

    def open(self) -> GraphmdBackend:
        return GraphmdBackend(MetadataStore(self.uri, self.user, self.password))


@dataclasses.dataclass(frozen=True)
class MlmdConfig:
    """How a (worker) process opens ml-metadata's SQLite file."""

    path: Path

    def open(self) -> MlmdBackend:
        return MlmdBackend(self.path)


@dataclasses.dataclass(frozen=True)
class LineageSize:
    """How much a lineage query returned."""

    artifacts: int
    executions: int
    events: int

    @property
    def nodes(self) -> int:
        return self.artifacts + self.executions


# The most hops ml-metadata's get_lineage_subgraph follows in one query.
MLMD_HOP_CAP = 100

PutExecution = Callable[[], tuple[int, list[int], list[int]]]
PutSubgraph = Callable[[], tuple[list[int], list[int], list[int]]]


class GraphmdBackend:
    """graphmd's MetadataStore on Neo4j."""

    name = "graphmd"

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def close(self) -> None:
        self.store.close()

    def register_types(self) -> TypeIds:
        ids = self.store.put_types(ARTIFACT_TYPES, EXECUTION_TYPES, CONTEXT_TYPES)
        names = [t.name for t in ARTIFACT_TYPES + EXECUTION_TYPES + CONTEXT_TYPES]
        return dict(zip(names, [*ids[0], *ids[1], *ids[2]]))

    def put_execution_call(self, execution: Execution, inputs: list[Event], outputs: list[tuple[Artifact, Event]],
                           context: Context) -> PutExecution:
        pairs = [ArtifactAndEvent(event=e) for e in inputs] + [ArtifactAndEvent(artifact=a, event=e) for a, e in outputs]

        def call() -> tuple[int, list[int], list[int]]:
            result = self.store.put_execution(execution, pairs, [context], reuse_context_if_already_exist=True)
            return result.execution_id, result.artifact_ids, result.context_ids

        return call

    def put_subgraph_call(self, batch: SubgraphBatch) -> PutSubgraph:
        def call() -> tuple[list[int], list[int], list[int]]:
            result = self.store.put_lineage_subgraph(batch.executions, batch.artifacts, batch.contexts,
                                                     batch.event_edges, reuse_context_if_already_exist=True)
            return result.execution_ids, result.artifact_ids, result.context_ids

        return call

    def get_artifacts_call(self, filter_query: str) -> Callable[[], int]:
        options = ListOptions(filter_query=filter_query)
        return lambda: len(self.store.get_artifacts(options))

    @staticmethod
    def _upstream(artifact_id: int, hops: int | None) -> LineageSubgraphQueryOptions:
        # The same starting condition ml-metadata gets: a filter_query on the id.
        return LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(filter_query=f"id = {artifact_id}"),
                                           max_num_hops=hops, direction=LineageDirection.UPSTREAM)

    def upstream_call(self, artifact_id: int, hops: int | None) -> Callable[[], LineageSize]:
        """The whole upstream lineage graph (nodes, types, events, contexts) of one artifact."""
        options = self._upstream(artifact_id, hops)

        def call() -> LineageSize:
            graph = self.store.get_lineage_subgraph(options)
            return LineageSize(len(graph.artifacts), len(graph.executions), len(graph.events))

        return call

    def upstream_statement(self, artifact_id: int, hops: int | None) -> tuple[str, dict[str, Any]]:
        """The Cypher statement and parameters upstream_call runs (with get_lineage_subgraph's
        default read mask: every field)."""
        return _lineage._subgraph_statement(self._upstream(artifact_id, hops), set(_lineage.LINEAGE_GRAPH_FIELDS))

    def bare_upstream_call(self, artifact_id: int, hops: int | None) -> Callable[[], int]:
        """upstream_call's statement through the bare driver (records read, nothing decoded):
        the floor graphmd's own layer adds to."""
        text, params = self.upstream_statement(artifact_id, hops)
        driver, database = self.store.driver, self.store.database
        return lambda: len(driver.execute_query(text, params, database_=database, routing_=neo4j.RoutingControl.READ)
                           .records)

    def upstream_db_hits(self, artifact_id: int, hops: int | None) -> int:
        """Neo4j's database hits for upstream_call's statement (PROFILE, summed over the plan)."""
        text, params = self.upstream_statement(artifact_id, hops)
        summary = self.store.driver.execute_query("PROFILE " + text, params, database_=self.store.database,
                                                  routing_=neo4j.RoutingControl.READ).summary

        def hits(plan: dict[str, Any]) -> int:
            return plan.get("dbHits", 0) + sum(hits(child) for child in plan.get("children", []))

        return hits(summary.profile)

    def stream_upstream_peak(self, artifact_id: int, hops: int | None) -> tuple[int, int]:
        """(steps, peak bytes the client allocated) while stream_lineage is consumed and
        each step dropped: the memory a streaming reader needs."""
        tracemalloc.start()
        try:
            steps = sum(1 for _ in self.store.stream_lineage(self._upstream(artifact_id, hops)))
            return steps, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def whole_upstream_peak(self, artifact_id: int, hops: int | None) -> tuple[int, int]:
        """(peak bytes the client allocated during upstream_call's get_lineage_subgraph,
        bytes the returned graph holds): the memory a caller of the whole graph needs."""
        tracemalloc.start()
        try:
            graph = self.store.get_lineage_subgraph(self._upstream(artifact_id, hops))
            held, peak = tracemalloc.get_traced_memory()
            del graph
            return peak, held
        finally:
            tracemalloc.stop()


class MlmdBackend:
    """ml-metadata 1.17.1's in-process store on a SQLite file (TFX's default setup)."""

    name = "ml-metadata"

    def __init__(self, path: Path) -> None:
        import ml_metadata as mlmd
        from ml_metadata.proto import metadata_store_pb2 as pb

        from graphmd.mlmd import _convert

        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.mlmd = mlmd
        self.pb = pb
        self.convert = _convert
        self.store = mlmd.MetadataStore(config)
        self.paged_queries = 0  # queries the last call past the hop cap took

    def close(self) -> None:
        del self.store

    def register_types(self) -> TypeIds:
        c = self.convert
        ids: list[int] = []
        for t in ARTIFACT_TYPES:
            ids.append(self.store.put_artifact_type(c.artifact_type_to_proto(t)))
        for t in EXECUTION_TYPES:
            ids.append(self.store.put_execution_type(c.execution_type_to_proto(t)))
        for t in CONTEXT_TYPES:
            ids.append(self.store.put_context_type(c.context_type_to_proto(t)))
        names = [t.name for t in ARTIFACT_TYPES + EXECUTION_TYPES + CONTEXT_TYPES]
        return dict(zip(names, ids))

    def put_execution_call(self, execution: Execution, inputs: list[Event], outputs: list[tuple[Artifact, Event]],
                           context: Context) -> PutExecution:
        c = self.convert
        request_execution = c.execution_to_proto(execution)
        pairs: list[tuple[Any, Any]] = [(None, c.event_to_proto(e)) for e in inputs]
        pairs += [(c.artifact_to_proto(a), c.event_to_proto(e)) for a, e in outputs]
        contexts = [c.context_to_proto(context)]

        def call() -> tuple[int, list[int], list[int]]:
            return self.store.put_execution(request_execution, pairs, contexts, reuse_context_if_already_exist=True)

        return call

    def put_subgraph_call(self, batch: SubgraphBatch) -> PutSubgraph:
        c = self.convert
        executions = [c.execution_to_proto(x) for x in batch.executions]
        artifacts = [c.artifact_to_proto(a) for a in batch.artifacts]
        contexts = [c.context_to_proto(x) for x in batch.contexts]
        edges = [(e.execution_index, e.artifact_index, c.event_to_proto(e.event)) for e in batch.event_edges]

        def call() -> tuple[list[int], list[int], list[int]]:
            return self.store.put_lineage_subgraph(executions, artifacts, contexts, edges,
                                                   reuse_context_if_already_exist=True)

        return call

    def get_artifacts_call(self, filter_query: str) -> Callable[[], int]:
        options = self.mlmd.ListOptions(filter_query=filter_query)
        return lambda: len(self.store.get_artifacts(list_options=options))

    def _upstream_options(self, field: str, ids: list[int], hops: int) -> Any:
        pb = self.pb
        options = pb.LineageSubgraphQueryOptions(direction=pb.LineageSubgraphQueryOptions.UPSTREAM)
        where = f"id = {ids[0]}" if len(ids) == 1 else f"id IN ({', '.join(map(str, ids))})"
        getattr(options, field).filter_query = where
        # Always explicit: the same traversal, without the INFO line per call ml-metadata logs
        # to stderr when max_num_hops is unset.
        options.max_num_hops = hops
        return options

    def upstream_call(self, artifact_id: int, hops: int | None) -> Callable[[], LineageSize]:
        """The whole upstream lineage graph (nodes, types, events, contexts) of one artifact.
        ml-metadata answers at most MLMD_HOP_CAP hops a query (a larger limit, or none, is
        the cap), so deeper limits page as its users must: see _paged_upstream."""
        if hops is not None and hops <= MLMD_HOP_CAP:
            options = self._upstream_options("starting_artifacts", [artifact_id], hops)

            def call() -> LineageSize:
                graph = self.store.get_lineage_subgraph(options)
                return LineageSize(len(graph.artifacts), len(graph.executions), len(graph.events))

            return call
        return lambda: self._paged_upstream(artifact_id, hops)

    def _paged_upstream(self, artifact_id: int, hops: int | None) -> LineageSize:
        """Upstream lineage past ml-metadata's hop cap: query MLMD_HOP_CAP hops, then again
        from the nodes at the edge of what was found (artifacts whose producer, executions
        whose inputs, are not in it yet; a node starts a query once), until ``hops`` are
        covered (None: until nothing new turns up). Each round is one query from the edge
        artifacts and one from the edge executions, each node at its true distance (every
        path past the cap crosses the edge), so the union is the lineage graph of ``hops``.

        The bookkeeping costs what a round returns, not what all rounds found: every node
        at the edge starts the next round, so the edge after a round can only hold nodes
        that round found first. (Recomputed from all the nodes found, it took ~14 s of
        ml-metadata's ~106 s for the 300,000-node read on the AMD VM.)"""
        pb = self.pb
        outputs = {pb.Event.OUTPUT, pb.Event.DECLARED_OUTPUT, pb.Event.INTERNAL_OUTPUT, pb.Event.PENDING_OUTPUT}
        found: dict[str, set[int]] = {"starting_artifacts": set(), "starting_executions": set()}
        events: set[tuple[int, int, int]] = set()
        produced: set[int] = set()  # artifacts whose producing event is in the union
        fed: set[int] = set()  # executions with an input event in the union
        started: dict[str, set[int]] = {"starting_artifacts": {artifact_id}, "starting_executions": set()}
        edge: dict[str, list[int]] = {"starting_artifacts": [artifact_id], "starting_executions": []}
        left, queries = hops, 0
        while any(edge.values()) and (left is None or left > 0):
            depth = MLMD_HOP_CAP if left is None else min(left, MLMD_HOP_CAP)
            fresh: dict[str, set[int]] = {"starting_artifacts": set(), "starting_executions": set()}
            for field, ids in edge.items():
                if not ids:
                    continue
                graph = self.store.get_lineage_subgraph(self._upstream_options(field, sorted(ids), depth))
                queries += 1
                fresh["starting_artifacts"].update(a.id for a in graph.artifacts)
                fresh["starting_executions"].update(x.id for x in graph.executions)
                for e in graph.events:
                    events.add((e.artifact_id, e.execution_id, e.type))
                    if e.type in outputs:
                        produced.add(e.artifact_id)
                    else:
                        fed.add(e.execution_id)
            left = None if left is None else left - depth
            done = {"starting_artifacts": produced, "starting_executions": fed}
            for field, ids in fresh.items():
                first_found = [i for i in ids if i not in found[field]]
                found[field].update(first_found)
                edge[field] = [i for i in first_found if i not in done[field] and i not in started[field]]
                started[field].update(edge[field])
        self.paged_queries = queries
        return LineageSize(len(found["starting_artifacts"]), len(found["starting_executions"]), len(events))
