"""Stable int64 ids, like MLMD's, without a hot counter on every insert.

Each kind (Type, Artifact, Execution, Context, Event) has one IdCounter node. A process
reserves a block of ids from it in a short transaction of its own and hands them out
locally, so concurrent writers touch the counter once per block, not once per node.
Blocks start small and double with use, up to ``max_block`` or, for a caller asking for
more ids at once, eight of its requests: a light user sees small, consecutive ids, and
a heavy writer (bulk loads of thousands of nodes a call) rarely touches the counter.
Ids are unique and increase within a process. Across processes they follow creation order
to within a second, as MLMD's auto-increment ids do to within a transaction: clients such as
TFX's latest-artifact resolvers take the largest id for the newest. A block is used for at
most ``max_age`` seconds (1) after it was reserved or last found to be the counter's newest;
then, on the next request, it is checked again in the round trip that would reserve one: kept
while no other process has reserved since, else dropped for a new block past theirs (its
unused ids are a gap), sized by what the process used of the dropped one (twice that), not by
doubling: writers that take turns would otherwise double their blocks at every turn. A new block that starts where the one in hand ends (no one reserved
between) continues it, so a lone writer leaves no gap. A block left unused when a process
exits leaves a gap (as an aborted SQL insert does). A write planned twice (first for one auto-commit statement, then in a transaction) gives the first
plan's ids back (IdAllocator.release) and uses one set; a transaction the driver retries
after a lost connection plans again with new ids, and those of the failed attempts are gaps
(a 40,000-node batch retried four times while Neo4j restarted moved the counter by 160,000).
Neo4j's internal element ids never leave the store.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import neo4j

from ._driver_guard import closed_on_exit
from ._queries import RESERVE_IDS

__all__ = ["IdAllocator"]


class IdAllocator:
    """Hands out ids per kind from blocks reserved in Neo4j; thread-safe."""

    def __init__(self, driver: neo4j.Driver, database: str | None, max_block: int = 1024,
                 max_age: float = 1.0,
                 session: Callable[[], contextlib.AbstractContextManager[neo4j.Session]] | None = None) -> None:
        """``session``: where reservations run (default: a plain session of ``driver`` on
        ``database``); a store passes its own, so a reservation keeps to a call's time bound."""
        self._driver = driver
        self._database = database
        self._session = session or (lambda: closed_on_exit(self._driver.session(database=self._database)))
        self._max_block = max_block
        self._max_age = max_age
        self._lock = threading.Lock()
        self._blocks: dict[str, tuple[int, int]] = {}  # kind -> [next, end)
        self._checked: dict[str, float] = {}  # kind -> when its block was last the counter's newest
        self._sizes: dict[str, int] = {}  # kind -> size of the next block
        self._held: dict[str, int] = {}  # kind -> size of the block in hand (ids used: it less those left)
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
            now = time.monotonic()
            next_id, end = self._blocks.get(kind, (0, 0))
            if end - next_id < count or self._stale(kind, now):
                # The other node kinds: all on a writer's first reservation (one round trip for
                # its first call), later only those it has asked for (a kind it never writes
                # is not renewed, so its counter does not move with this writer's).
                others = [k for k in _NODE_KINDS if k != kind and (not self._blocks or k in self._wanted)]
                kinds = [kind] + (others if kind in _NODE_KINDS else [])
                # kind -> (size of a new block, end of the block to keep if still newest)
                requests: dict[str, tuple[int, int | None]] = {}
                for k in kinds:
                    wanted = count if k == kind else self._wanted.get(k, 1)
                    if self._left(k) < wanted:
                        requests[k] = (self._next_size(k, wanted), None)
                    elif self._stale(k, now):
                        requests[k] = (self._renewal_size(k, wanted), self._blocks[k][1])
                for reserved, (first, kept) in self._reserve(requests).items():
                    if not kept:
                        size = requests[reserved][0]
                        if requests[reserved][1] is not None:  # replaces a stale block: grows from its size
                            self._sizes[reserved] = min(size * 2, self._cap(self._wanted.get(reserved, 1)))
                        # A block right after the one in hand (no one reserved since) continues it:
                        # a lone writer's ids stay consecutive, as MLMD's, with no gap left behind.
                        left_from, left_to = self._blocks.get(reserved, (0, 0))
                        start = left_from if first == left_to and left_from < left_to else first
                        self._blocks[reserved] = (start, first + size)
                        self._held[reserved] = first + size - start
                    self._checked[reserved] = now
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
            self._checked.clear()
            self._sizes.clear()
            self._wanted.clear()
            self._held.clear()

    def _left(self, kind: str) -> int:
        next_id, end = self._blocks.get(kind, (0, 0))
        return end - next_id

    def _stale(self, kind: str, now: float) -> bool:
        """Whether kind's block (with ids left) was last found newest over max_age ago."""
        return self._left(kind) > 0 and now - self._checked.get(kind, now) > self._max_age

    def _next_size(self, kind: str, count: int) -> int:
        """The size of kind's next block (at least ``count``); the one after doubles, up to
        max_block or eight requests of ``count``, whichever is larger."""
        size = max(self._sizes.get(kind, 8), count)
        self._sizes[kind] = min(size * 2, self._cap(count))
        return size

    def _cap(self, count: int) -> int:
        return max(self._max_block, 8 * count)

    def _renewal_size(self, kind: str, count: int) -> int:
        """The size of a block to replace kind's stale one (another writer reserved since):
        twice what this writer used of it in its time, at least 8 and ``count``, at most the
        cap. Its pace, not its history: a writer others take turns with would otherwise
        double its block at each turn and leave ever larger gaps (past int64 within
        minutes)."""
        used = self._held.get(kind, 0) - self._left(kind)
        return max(8, count, min(2 * used, self._cap(count)))

    def _reserve(self, requests: dict[str, tuple[int, int | None]]) -> dict[str, tuple[int, bool]]:
        """In one transaction, per kind: keep the block ending at ``requests[kind][1]`` if it
        still ends where the counter stands (no one reserved since), else reserve a block of
        ``requests[kind][0]`` ids. Per kind, (the new block's first id, whether it was kept)."""
        blocks = [{"kind": kind, "size": size, "end": end} for kind, (size, end) in sorted(requests.items())]
        with self._session() as session:
            records = session.execute_write(lambda tx: list(tx.run(RESERVE_IDS, blocks=blocks)))
        return {record["kind"]: (int(record["first"]), bool(record["kept"])) for record in records}


# The kinds of nodes one write call creates together (types are written apart from them).
_NODE_KINDS = ("Artifact", "Context", "Event", "Execution")
