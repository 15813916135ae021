"""Reading an ml-metadata store and a graphmd store the same way: as MLMD protos, in pages.

`MlmdReader` reads through ml-metadata's Python client; `GraphmdReader` through graphmd's
MetadataStore, converting with graphmd.mlmd._convert. Both offer the same calls, so the
import, the export and the comparison of the two stores (graphmd.mlmd._compare) walk either
side with one piece of code. Listings come in pages of ``page_size`` in id order (a keyset:
each page starts after the last id of the previous one), so no call holds a whole store.
Attributions and associations are read for a page of nodes at a time (a lineage subgraph of
zero hops from them), parent contexts one context at a time.
"""

from __future__ import annotations

import functools
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2 as pb

from .._errors import NotFoundError
from .._models import (
    AnyNode,
    Artifact,
    Context,
    Execution,
    LineageSubgraphQueryOptions,
    ListOptions,
    NodeSelector,
    OrderBy,
    stored_id,
)
from .._schema import SIMPLE_TYPES
from .._store import MetadataStore
from . import _convert as cv
from ._client import translate_errors

__all__ = ["NODE_KINDS", "TYPE_KINDS", "MlmdReader", "GraphmdReader", "stored_double", "event_key"]

# Node labels in the order a copy writes them (contexts first: nothing refers to them).
NODE_KINDS = ("Context", "Artifact", "Execution")
TYPE_KINDS = ("ArtifactType", "ExecutionType", "ContextType")
_MODEL: dict[str, type[AnyNode]] = {"Artifact": Artifact, "Execution": Execution, "Context": Context}
_PLURAL = {"Artifact": "artifacts", "Execution": "executions", "Context": "contexts"}
_LINKS = {"Artifact": "attributions", "Execution": "associations"}
# ml-metadata's get_lineage_subgraph starts from at most 101 nodes (it keeps those of lowest id
# and drops the rest): starting pages of this many stay under that.
_LINEAGE_START_LIMIT = 100


class MlmdReader:
    """An ml-metadata store read through its client (``client``: ml_metadata.MetadataStore)."""

    def __init__(self, client: Any, name: str, page_size: int = 1000) -> None:
        self.client = client
        self.name = name
        self.page_size = page_size

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with translate_errors(self.name):
            return getattr(self.client, method)(*args, **kwargs)

    def types(self) -> list[Any]:
        """Every type: MLMD's system types (which its listings leave out) and the user's.

        Each is read by id: ml-metadata 1.17's type listing leaves out external_id, and
        get_*_types_by_id answers whole types.
        """
        found: list[Any] = []
        for kind in TYPE_KINDS:
            ids = {t.id for t in self._call(f"get_{_snake(kind)}s")}
            for name in SIMPLE_TYPES.get(kind, []):
                try:
                    ids.add(self._call(f"get_{_snake(kind)}", name).id)
                except NotFoundError:
                    continue  # a store made before MLMD had system types
            found += sorted(self._call(f"get_{_snake(kind)}s_by_id", sorted(ids)), key=lambda t: t.id)
        return found

    def holds(self, kind: str, node_id: int) -> bool:
        """Whether the store holds the ``kind`` node ``node_id`` now."""
        return bool(self._call(f"get_{_PLURAL[kind]}_by_id", [node_id]))

    def max_id(self, kind: str) -> int:
        """The highest id of ``kind`` nodes (0: none): how far a copy has to go."""
        options = mlmd.ListOptions(limit=1, order_by=mlmd.OrderByField.ID, is_asc=False)
        newest = self._call(f"get_{_PLURAL[kind]}", list_options=options)
        return newest[0].id if newest else 0

    def pages(self, kind: str) -> Iterator[list[Any]]:
        """Every ``kind`` node (a NODE_KINDS label), in pages by id."""
        after = 0
        while True:
            options = mlmd.ListOptions(limit=self.page_size, order_by=mlmd.OrderByField.ID, is_asc=True,
                                       filter_query=f"id > {after}")
            page = self._call(f"get_{_PLURAL[kind]}", list_options=options)
            if page:
                yield page
            if len(page) < self.page_size:
                return
            after = page[-1].id

    def links_of(self, kind: str, ids: Iterable[int]) -> set[tuple[int, int]]:
        """(context id, node id) of every attribution of these artifacts (kind "Artifact") or
        association of these executions ("Execution"): read as MLMD's lineage subgraph of
        zero hops from them, a hundred at a time (its limit on starting nodes)."""
        ids = sorted(set(ids))
        found: set[tuple[int, int]] = set()
        for start in range(0, len(ids), _LINEAGE_START_LIMIT):
            options = pb.LineageSubgraphQueryOptions(max_num_hops=0)
            nodes = options.starting_artifacts if kind == "Artifact" else options.starting_executions
            nodes.filter_query = f"id IN ({', '.join(map(str, ids[start : start + _LINEAGE_START_LIMIT]))})"
            try:
                graph = self._call("get_lineage_subgraph", options, [_LINKS[kind]])
            except NotFoundError:
                continue  # none of these ids is there
            if kind == "Artifact":
                found |= {(a.context_id, a.artifact_id) for a in graph.attributions}
            else:
                found |= {(a.context_id, a.execution_id) for a in graph.associations}
        return found

    def parent_ids(self, context_ids: Sequence[int]) -> dict[int, list[int]]:
        """Each context's parents' ids, sorted (in-process: a call each is cheap)."""
        return {i: sorted(c.id for c in self._call("get_parent_contexts_by_context", i)) for i in context_ids}

    def nodes_by_id(self, kind: str, ids: Iterable[int]) -> list[Any]:
        return self._call(f"get_{_PLURAL[kind]}_by_id", list(ids))

    def events_by_executions(self, ids: Iterable[int]) -> list[Any]:
        return self._call("get_events_by_execution_ids", list(ids))

    def events_by_artifacts(self, ids: Iterable[int]) -> list[Any]:
        return self._call("get_events_by_artifact_ids", list(ids))


class GraphmdReader:
    """A graphmd store read as ml-metadata would answer: MLMD protos."""

    def __init__(self, store: MetadataStore, page_size: int = 1000) -> None:
        self.store = store
        self.name = f"graphmd at {store.settings.uri}"
        self.page_size = page_size

    def types(self) -> list[Any]:
        """Every type, MLMD's system types included."""
        return [cv.to_proto(t) for t in
                (*self.store.get_artifact_types(include_system_types=True),
                 *self.store.get_execution_types(include_system_types=True), *self.store.get_context_types())]

    def max_id(self, kind: str) -> int:
        page = self.store.list_page(_MODEL[kind], ListOptions(max_result_size=1, order_by=OrderBy.ID, is_asc=False))
        return stored_id(page.items[0]) if page.items else 0

    def pages(self, kind: str) -> Iterator[list[Any]]:
        token = None
        while True:
            options = ListOptions(max_result_size=self.page_size, order_by=OrderBy.ID, next_page_token=token)
            page = self.store.list_page(_MODEL[kind], options)
            if page.items:
                yield [cv.to_proto(node) for node in page.items]
            token = page.next_page_token
            if not token:
                return

    def links_of(self, kind: str, ids: Iterable[int]) -> set[tuple[int, int]]:
        ids = sorted(set(ids))
        if not ids:
            return set()
        nodes = NodeSelector(ids=ids)
        options = (LineageSubgraphQueryOptions(starting_artifacts=nodes, max_num_hops=0) if kind == "Artifact"
                   else LineageSubgraphQueryOptions(starting_executions=nodes, max_num_hops=0))
        try:
            graph = self.store.get_lineage_subgraph(options, [_LINKS[kind]])
        except NotFoundError:
            return set()
        if kind == "Artifact":
            return {(a.context_id, a.artifact_id) for a in graph.attributions}
        return {(a.context_id, a.execution_id) for a in graph.associations}

    def parent_ids(self, context_ids: Sequence[int]) -> dict[int, list[int]]:
        """Each context's parents' ids, sorted, in one read (a read each took ~2 ms: 20 s of a
        96 s export of 10,000 runs' contexts)."""
        if not context_ids:
            return {}
        found = self.store.get_parent_contexts_by_contexts(context_ids)
        return {i: sorted(stored_id(c) for c in found.get(i, [])) for i in context_ids}

    def nodes_by_id(self, kind: str, ids: Iterable[int]) -> list[Any]:
        getters: dict[str, Callable[[Iterable[int]], Sequence[AnyNode]]] = {
            "Artifact": self.store.get_artifacts_by_id, "Execution": self.store.get_executions_by_id,
            "Context": self.store.get_contexts_by_id}
        return [cv.to_proto(node) for node in getters[kind](ids)]

    def events_by_executions(self, ids: Iterable[int]) -> list[Any]:
        return [cv.event_to_proto(e) for e in self.store.get_events_by_execution_ids(ids)]

    def events_by_artifacts(self, ids: Iterable[int]) -> list[Any]:
        return [cv.event_to_proto(e) for e in self.store.get_events_by_artifact_ids(ids)]


def _snake(kind: str) -> str:
    """'ArtifactType' -> 'artifact_type'."""
    return "".join(f"_{ch.lower()}" if ch.isupper() and i else ch.lower() for i, ch in enumerate(kind))


def stored_double(value: float) -> float:
    """The double ml-metadata's SQLite store gives back after storing ``value``: it writes a
    DOUBLE property into its SQL as C's "%f" (six decimals), and SQLite hands the column back
    as text with 15 significant digits, so 0.1 + 0.2 comes back as 0.3, 1e-7 as 0.0, -0.0 as
    0.0, 123456789012.12346 as 123456789012.123 and 1.7976931348623157e308 as inf.

    Both conversions are SQLite's own, and so is the answer: Python's sqlite3 when its
    conversions were found to agree with ml-metadata's (checked once, on values that tell
    SQLite versions apart), else ml-metadata itself, one in-memory store write per value.
    """
    return _double_oracle()(value) if math.isfinite(value) else value


_PROBES = (0.1 + 0.2, 1e-7, -0.0, 123456789012.12346, 871397999939106.5, 4693375328629315.0,
           49381082298784.75, -8.399515404794745e255, 1.2345678901234567e250, 1.7976931348623157e308,
           -1.7976931348623157e308, 5e-324, 2.0**53 + 2, 1e22 / 7, 0.5e-6, 1.5e-6, 2.5e-6)


@functools.cache
def _double_oracle() -> Callable[[float], float]:
    """stored_double's answer: SQLite through Python's sqlite3 when it agrees with
    ml-metadata on _PROBES, else ml-metadata's own round trip."""
    by_sqlite, by_mlmd = sqlite_doubles(), mlmd_doubles()
    agree = all(by_sqlite(p) == by_mlmd(p) for p in _PROBES)
    return by_sqlite if agree else by_mlmd


def sqlite_doubles() -> Callable[[float], float]:
    """A double as SQLite (Python's sqlite3 library) reads back the text "%f" wrote."""
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    lock = threading.Lock()

    @functools.lru_cache(maxsize=65536)
    def by_sqlite(value: float) -> float:
        with lock:
            (text,) = connection.execute("SELECT CAST(CAST(? AS REAL) AS TEXT)", (f"{value:f}",)).fetchone()
        return float(text) + 0.0

    return by_sqlite


def mlmd_doubles() -> Callable[[float], float]:
    """A double as an in-memory ml-metadata store gives it back after storing it."""
    config = pb.ConnectionConfig()
    config.fake_database.SetInParent()
    store = mlmd.MetadataStore(config)
    type_id = store.put_artifact_type(pb.ArtifactType(name="stored_double", properties={"d": pb.DOUBLE}))
    lock = threading.Lock()

    @functools.lru_cache(maxsize=65536)
    def by_mlmd(value: float) -> float:
        artifact = pb.Artifact(type_id=type_id)
        artifact.properties["d"].double_value = value
        with lock:
            [artifact_id] = store.put_artifacts([artifact])
            [stored] = store.get_artifacts_by_id([artifact_id])
        return stored.properties["d"].double_value + 0.0

    return by_mlmd


def event_key(event: pb.Event) -> tuple[int, int, int]:
    """What makes an event unique in both stores: its artifact, execution and type."""
    return event.artifact_id, event.execution_id, event.type
