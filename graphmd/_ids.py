"""Stable int64 ids, like MLMD's, without a hot counter on every insert.

Each kind (Type, Artifact, Execution, Context, Event) has one IdCounter node. A process
reserves a block of ids from it in a short transaction of its own and hands them out
locally, so concurrent writers touch the counter once per block, not once per node.
Blocks start small and double with use, up to ``max_block`` or, for a caller asking for
more ids at once, eight of its requests: a light user sees small, nearly consecutive ids, and
a heavy writer (bulk loads of thousands of nodes a call) rarely touches the counter.
Ids are unique and increase within a process; across processes they interleave, and a
block left unused when a process exits leaves a gap (as an aborted SQL insert does). A write
planned twice (first for one auto-commit statement, then in a transaction) gives the first
plan's ids back (IdAllocator.release) and uses one set; a transaction the driver retries
after a lost connection plans again with new ids, and those of the failed attempts are gaps
(a 40,000-node batch retried four times while Neo4j restarted moved the counter by 160,000).
Neo4j's internal element ids never leave the store.
"""

from __future__ import annotations

import threading

import neo4j

from ._driver_guard import closed_on_exit
from ._queries import RESERVE_IDS

__all__ = ["IdAllocator"]


class IdAllocator:
    """Hands out ids per kind from blocks reserved in Neo4j; thread-safe."""

    def __init__(self, driver: neo4j.Driver, database: str | None, max_block: int = 1024) -> None:
        self._driver = driver
        self._database = database
        self._max_block = max_block
        self._lock = threading.Lock()
        self._blocks: dict[str, tuple[int, int]] = {}  # kind -> [next, end)
        self._sizes: dict[str, int] = {}  # kind -> size of the next block
        self._wanted: dict[str, int] = {}  # kind -> how many ids its latest request took

    def allocate(self, kind: str, count: int) -> list[int]:
        """``count`` fresh ids for nodes of ``kind``.

        A reservation for a node kind also reserves a block for each other node kind whose
        ids left would not serve a request as large as its latest one: a write call takes ids
        of most kinds (an execution, its artifacts, events and contexts), so one round trip
        serves them all, on a writer's first call and whenever its blocks run out."""
        if count <= 0:
            return []
        with self._lock:
            self._wanted[kind] = count
            next_id, end = self._blocks.get(kind, (0, 0))
            if end - next_id < count:
                sizes = {kind: self._next_size(kind, count)}
                if kind in _NODE_KINDS:
                    sizes |= {k: self._next_size(k, self._wanted.get(k, 1)) for k in _NODE_KINDS
                              if k != kind and self._left(k) < self._wanted.get(k, 1)}
                for reserved, first in self._reserve(sizes).items():
                    self._blocks[reserved] = (first, first + sizes[reserved])
                next_id, end = self._blocks[kind]
            ids = list(range(next_id, next_id + count))
            self._blocks[kind] = (next_id + count, end)
            return ids

    def release(self, kind: str, ids: list[int]) -> None:
        """Give back ``ids``, an answer of ``allocate(kind, ...)`` that no transaction
        committed (the call failed before it sent them, or Neo4j rolled it back): the next
        request gets them again, so a call that had to be rerun leaves no gap. Ids already
        followed by another request's stay unused (a gap), as before."""
        if not ids:
            return
        with self._lock:
            next_id, end = self._blocks.get(kind, (0, 0))
            if next_id == ids[-1] + 1 <= end:
                self._blocks[kind] = (ids[0], end)

    def forget(self) -> None:
        """Drop reserved blocks (after the database was wiped or restored)."""
        with self._lock:
            self._blocks.clear()
            self._sizes.clear()
            self._wanted.clear()

    def _left(self, kind: str) -> int:
        next_id, end = self._blocks.get(kind, (0, 0))
        return end - next_id

    def _next_size(self, kind: str, count: int) -> int:
        """The size of kind's next block (at least ``count``); the one after doubles, up to
        max_block or eight requests of ``count``, whichever is larger."""
        size = max(self._sizes.get(kind, 8), count)
        self._sizes[kind] = min(size * 2, max(self._max_block, 8 * count))
        return size

    def _reserve(self, sizes: dict[str, int]) -> dict[str, int]:
        """Reserve a block of ``sizes[kind]`` ids per kind in one transaction; the first id of each."""
        blocks = [{"kind": kind, "size": size} for kind, size in sorted(sizes.items())]
        with closed_on_exit(self._driver.session(database=self._database)) as session:
            records = session.execute_write(lambda tx: list(tx.run(RESERVE_IDS, blocks=blocks)))
        return {record["kind"]: int(record["first"]) for record in records}


# The kinds of nodes one write call creates together (types are written apart from them).
_NODE_KINDS = ("Artifact", "Context", "Event", "Execution")
