"""Writing types, nodes and edges exactly as given: their ids, times and properties.

The store's own puts allocate ids and stamp times. A restore (`graphmd import`,
graphmd._export) or a migration (`graphmd import-mlmd`, graphmd.mlmd._import) must keep
the ones it reads, so both write through `write_rows`: one UNWIND statement per kind and
batch, inside the caller's transaction, rows in the layout of graphmd/_codec.py. Afterwards
`advance_id_counters` moves the id counters past the written ids, so the store never hands
one out again.
"""

from __future__ import annotations

from typing import Any

import neo4j

from . import _queries as q
from ._errors import InvalidArgumentError

__all__ = ["ROW_KINDS", "write_rows", "advance_id_counters"]

# What a batch of rows can hold: types, nodes (by label), events, and the three links.
ROW_KINDS = ("type", *q.NODE_LABELS, "event", "attribution", "association", "parent_context")
# Link kinds -> the statement that writes them, the row keys of their two ends, and the
# statement that finds which of them exist already.
_LINKS = {
    "attribution": (q.MERGE_ATTRIBUTIONS, "context_id", "artifact_id", q.EXISTING_ATTRIBUTIONS),
    "association": (q.MERGE_ASSOCIATIONS, "context_id", "execution_id", q.EXISTING_ASSOCIATIONS),
    "parent_context": (q.CREATE_PARENT_LINKS, "child_id", "parent_id", q.EXISTING_PARENT_LINKS),
}


class UnlinkedRowsError(InvalidArgumentError):
    """Rows of a batch that name a type or node not in the store; ``count`` says how many."""

    def __init__(self, count: int, message: str, *, field: str) -> None:
        super().__init__(f"{count} {message}", field=field)
        self.count = count


def write_rows(tx: neo4j.ManagedTransaction, kind: str, rows: list[dict[str, Any]], *,
               skip_existing: bool = False) -> int:
    """Write ``rows`` of one ``kind`` (see ROW_KINDS) as they are; returns how many were written.

    Type and node rows are full property maps (ids included); event rows are
    `graphmd._codec.encode_event` rows; link rows name their two ends by id. With
    ``skip_existing``, rows already in the store (a type or node with the row's id, an event
    with its key, a link between the same ends) are left out, so a batch can be written again
    after an interruption without duplicates.

    Raises:
        UnlinkedRowsError: a node names a type_id that is no type of its kind, or an event
            or link names a node that is not in the store (field ``type_id``, ``event`` or
            the link kind; ``count`` rows in all). The caller's transaction then rolls back.
        InvalidArgumentError: ``kind`` is unknown.
    """
    if kind not in ROW_KINDS:
        raise InvalidArgumentError(f"rows of kind {kind!r} cannot be written; kinds are {ROW_KINDS}", field="kind")
    if skip_existing and rows:
        rows = _new_rows(tx, kind, rows)
    if not rows:
        return 0
    if kind == "type":
        if any(r.get("kind") not in q.TYPE_KINDS for r in rows):
            raise InvalidArgumentError(f"a type's kind must be one of {q.TYPE_KINDS}", field="kind")
        for type_kind in q.TYPE_KINDS:
            same = [r for r in rows if r["kind"] == type_kind]
            if same:
                tx.run(q.CREATE_TYPES[type_kind], rows=same).consume()
        return len(rows)
    if kind in q.NODE_LABELS:
        created = tx.run(q.CREATE_NODES[kind], rows=rows).single(strict=True)["created"]
        if created != len(rows):
            raise UnlinkedRowsError(len(rows) - created, f"{kind} rows name a type_id that is not a "
                                    f"{q.TYPE_KIND_OF[kind]} in the store", field="type_id")
        return created
    if kind == "event":
        created = tx.run(q.CREATE_EVENTS, rows=rows).single(strict=True)["created"]
        if created != len(rows):
            raise UnlinkedRowsError(len(rows) - created, "events name an artifact or execution that is not "
                                    "in the store", field="event")
        return created
    query = _LINKS[kind][0]
    linked = tx.run(query, rows=rows).single(strict=True)["linked"]
    if linked != len(rows):
        raise UnlinkedRowsError(len(rows) - linked, f"{kind} rows name a node that is not in the store", field=kind)
    return linked


def _new_rows(tx: neo4j.ManagedTransaction, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose type, node, event or link is not in the store yet."""
    if kind == "type":
        found = set(tx.run(q.EXISTING_TYPE_IDS, ids=[r["id"] for r in rows]).single(strict=True)["ids"])
        return [r for r in rows if r["id"] not in found]
    if kind in q.NODE_LABELS:
        found = set(tx.run(q.EXISTING_IDS[kind], ids=[r["id"] for r in rows]).single(strict=True)["ids"])
        return [r for r in rows if r["id"] not in found]
    if kind == "event":
        found = set(tx.run(q.EXISTING_EVENT_KEYS, keys=[r["event_key"] for r in rows]).single(strict=True)["keys"])
        return [r for r in rows if r["event_key"] not in found]
    _, source, target, existing = _LINKS[kind]
    found = {(r[source], r[target]) for r in tx.run(existing, rows=rows)}
    return [r for r in rows if (r[source], r[target]) not in found]


def advance_id_counters(tx: neo4j.ManagedTransaction, max_ids: dict[str, int]) -> None:
    """Move each kind's id counter (graphmd._ids) past ``max_ids[kind]``, the highest id
    written with an explicit value; a counter already further stays. Processes that reserved
    blocks before must forget them (MetadataStore._reset_caches)."""
    for kind, max_id in max_ids.items():
        tx.run(q.ADVANCE_ID_COUNTER, kind=kind, next=max_id + 1).consume()
