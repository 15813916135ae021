"""`graphmd import-mlmd`: copy an ml-metadata store (SQLite or MySQL) into graphmd, as it is.

Every type (versions, base types, property schemas, MLMD's system types), artifact,
execution, context, event (with its path), attribution, association and parent context is
copied, keeping ids, names, external ids, states, properties and times. The source is read
through ml-metadata's own client (graphmd.mlmd._reading.MlmdReader) in pages by id; each
page is converted by graphmd.mlmd._convert and written as one transaction through
graphmd._bulk, the write path `graphmd import` uses too. Nothing holds the whole store.

Order: types, then contexts, artifacts with their attributions, executions with their events
and associations (each page of nodes and its edges in one transaction), then each context's
parents. Event ids are graphmd's own (MLMD keeps its event ids out of its API).

Ids and MLMD's system types: the import needs an empty graphmd store (nothing but its system
types). Its system types (mlmd.Dataset, ...) are deleted and created again under the ids
MLMD gave them, so every type keeps its MLMD id; the id counters are moved past MLMD's ids
before any node is written.

Resume: the store records which source it is importing (on its GraphmdMeta node). Running
the same import again, after an interruption or after it finished, skips every type, node
and edge already there and writes the rest, so it finishes the job without duplicates.
Import a store no one is writing to: what changes in the source between runs is not
revisited (the comparison in graphmd.mlmd._compare shows it).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sqlite3
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import _codec as codec
from .. import _queries as q
from .._bulk import UnlinkedRowsError, advance_id_counters, write_rows
from .._errors import FailedPreconditionError, InvalidArgumentError, map_driver_errors
from .._models import AnyNode
from .._schema import SIMPLE_TYPES, ensure_schema
from .._store import MetadataStore
from . import _convert as cv
from ._client import MlmdSource, open_store
from ._reading import NODE_KINDS, MlmdReader

__all__ = ["COUNT_KINDS", "Progress", "ImportResult", "import_mlmd", "import_from_reader"]

# The kinds counted on both sides, as MetadataStore.counts() names them.
COUNT_KINDS = ("types", "artifacts", "executions", "contexts", "events", "attributions", "associations",
               "parent_contexts")
# (phase, done, total or None when unknown): phases are "types", "contexts", "artifacts"
# (with their attributions), "executions" (with their events and associations), "parents"
# (contexts whose parent contexts were copied).
Progress = Callable[[str, int, "int | None"], None]

_SYSTEM_TYPES = [name for names in SIMPLE_TYPES.values() for name in names]
_FROM_PROTO: dict[str, Callable[[Any, str], AnyNode]] = {
    "Artifact": cv.artifact_from_proto, "Execution": cv.execution_from_proto, "Context": cv.context_from_proto}
_TYPE_OF = {"Artifact": "ArtifactType", "Execution": "ExecutionType", "Context": "ContextType"}
_COUNT = {"Artifact": "artifacts", "Execution": "executions", "Context": "contexts"}
_EDGE_COUNT = {"event": "events", "attribution": "attributions", "association": "associations"}


class ImportResult(NamedTuple):
    """What an import found and did, per kind (the keys of COUNT_KINDS)."""

    read: dict[str, int]  # what the ml-metadata store holds, counted while copying it
    written: dict[str, int]  # what this run wrote: less than read when it resumed a copy


def import_mlmd(store: MetadataStore, source: MlmdSource, *, batch_size: int = 1000,
                progress: Progress | None = None) -> ImportResult:
    """Copy the ml-metadata store ``source`` into ``store`` (see the module docstring).

    Reads pages of ``batch_size`` nodes, each written with its edges in one transaction;
    ``progress`` hears of each page.

    Raises:
        FailedPreconditionError: ``store`` holds data and is not an import of this source.
        UnavailableError: ``source`` or Neo4j cannot be reached.
        InvalidArgumentError: ``batch_size`` is not positive, or the source holds what graphmd
            cannot (the error names the node and field). Pages written before stay; rerun
            after fixing the cause to finish.
    """
    batch_size = codec.as_int(batch_size, "batch_size", "a batch size")
    if batch_size <= 0:
        raise InvalidArgumentError("batch_size must be positive", field="batch_size")
    reader = MlmdReader(open_store(source), source.name, page_size=batch_size)
    return import_from_reader(store, reader, progress=progress)


def import_from_reader(store: MetadataStore, reader: MlmdReader, *, progress: Progress | None = None) -> ImportResult:
    """import_mlmd from an open MlmdReader, in its pages (its ``name`` is what a rerun must match)."""
    return _Import(store, reader, progress).run()


def _count(reader: MlmdReader, kind: str) -> int | None:
    """How many ``kind`` nodes the source holds, for the progress bar (its ids may have gaps,
    so the highest id is no count); None when it cannot be told cheaply. ml-metadata's API
    counts nothing, so a SQLite source is asked in SQL, read only; for MySQL the bar shows
    the nodes copied so far without a total."""
    config = getattr(reader.client, "_config", None)
    try:
        filename = config.sqlite.filename_uri if config is not None and config.HasField("sqlite") else ""
    except (AttributeError, ValueError):
        return None
    if not filename or not os.path.isfile(filename):
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{pathlib.Path(filename).absolute().as_uri()}?mode=ro",
                                                uri=True)) as sql:
            return int(sql.execute(f"SELECT count(*) FROM `{kind}`").fetchone()[0])
    except sqlite3.Error:
        return None


def _type_key(props: dict[str, Any]) -> tuple[Any, ...]:
    return props["kind"], props["id"], props["name"], props.get("version_key", "")


class _Import:
    def __init__(self, store: MetadataStore, reader: MlmdReader, progress: Progress | None) -> None:
        self.store = store
        self.reader = reader
        self.progress = progress or (lambda phase, done, total: None)
        self.read = dict.fromkeys(COUNT_KINDS, 0)
        self.written = dict.fromkeys(COUNT_KINDS, 0)
        self.type_names: dict[tuple[str, int], str] = {}  # (type kind, id) -> name
        self.max_ids: dict[str, int] = {}

    def run(self) -> ImportResult:
        self._types()
        for kind in NODE_KINDS:
            total = _count(self.reader, kind)
            for page in self.reader.pages(kind):
                self._nodes(kind, page)
                done = self.read[_COUNT[kind]]
                self.progress(_COUNT[kind], done, None if total is None else max(total, done))
            self.progress(_COUNT[kind], self.read[_COUNT[kind]], self.read[_COUNT[kind]])
        self._parents()
        self.store._write(lambda tx: self._finish(tx))
        self.store._reset_caches()
        return ImportResult(self.read, self.written)

    # --- types ------------------------------------------------------------------------------

    def _types(self) -> None:
        types = [cv.from_proto(t) for t in self.reader.types()]
        for t in types:
            self._check_indexed(t, f"{type(t).__name__}[id={t.id}]")
        rows = [codec.encode_type(t) for t in types]
        for row in rows:
            self.type_names[(row["kind"], row["id"])] = row["name"]
        self.read["types"] = len(rows)
        self.max_ids = {kind: self.reader.max_id(kind) for kind in NODE_KINDS}
        counters = {**self.max_ids, "Type": max((r["id"] for r in rows), default=0)}

        source_types = {_type_key(row) for row in rows}

        def work(tx: Any) -> int:
            has_data = tx.run(q.HAS_USER_DATA, system_types=_SYSTEM_TYPES).single(strict=True)["has_data"]
            recorded = tx.run(q.MLMD_IMPORT_STATE).single()
            # A rerun resumes only a store this source's import wrote: recorded, and no type of its own.
            resuming = (recorded is not None and recorded["source"] == self.reader.name
                        and all(_type_key(r["n"]) in source_types for r in tx.run(q.EXPORT_TYPES)))
            if has_data and not resuming:
                raise FailedPreconditionError(
                    f"import-mlmd needs an empty store, or one it was importing {self.reader.name} into; this one "
                    "holds other data: empty it first (`graphmd reset --yes` with the same connection options, "
                    "or MetadataStore.delete_everything())", field="store")
            if not has_data:  # MLMD's system types come with the source, under its ids
                tx.run(q.DELETE_SYSTEM_TYPES, system_types=_SYSTEM_TYPES).consume()
            written = write_rows(tx, "type", rows, skip_existing=True)
            advance_id_counters(tx, counters)
            tx.run(q.RECORD_MLMD_IMPORT, source=self.reader.name, state="running").consume()
            return written

        self.written["types"] = self.store._write(work)
        self.store._reset_caches()
        with map_driver_errors(self.store.settings.uri):  # system types the source lacked
            ensure_schema(self.store.driver, self.store.database, self.store._ids.allocate)
        self.progress("types", len(rows), len(rows))

    # --- nodes and their edges --------------------------------------------------------------

    def _nodes(self, kind: str, page: list[Any]) -> None:
        plural = _COUNT[kind]
        rows = []
        for message in page:
            node = _FROM_PROTO[kind](message, f"{plural}[id={message.id}]")
            self._check_indexed(node, f"{plural}[id={message.id}]")
            name = None if node.type_id is None else self.type_names.get((_TYPE_OF[kind], node.type_id))
            if name is None:
                raise InvalidArgumentError(f"{plural}[id={node.id}].type_id: {node.type_id} is no "
                                           f"{_TYPE_OF[kind]} of {self.reader.name}", field=f"{plural}.type_id")
            rows.append(codec.encode_node(node, type_name=name))
        self.read[plural] += len(rows)
        self.max_ids[kind] = max(self.max_ids[kind], page[-1].id)
        edges: dict[str, list[dict[str, Any]]] = {}
        ids = [m.id for m in page]
        if kind == "Artifact":
            edges["attribution"] = [{"context_id": c, "artifact_id": a}
                                    for c, a in sorted(self.reader.links_of(kind, ids))]
        elif kind == "Execution":
            found = [cv.event_from_proto(e, f"events[execution_id={e.execution_id}]")
                     for e in self.reader.events_by_executions(ids)]
            edges["event"] = [codec.encode_event(e, i)
                              for e, i in zip(found, self.store._ids.allocate("Event", len(found)))]
            edges["association"] = [{"context_id": c, "execution_id": x}
                                    for c, x in sorted(self.reader.links_of(kind, ids))]

        def work(tx: Any) -> tuple[int, dict[str, int]]:
            return (write_rows(tx, kind, rows, skip_existing=True),
                    {edge: write_rows(tx, edge, edge_rows, skip_existing=True) for edge, edge_rows in edges.items()})

        try:
            nodes, written = self.store._write(work)
        except UnlinkedRowsError as error:
            if error.field == "event":
                self._name_dangling_event(edges["event"])
            if error.field in ("attribution", "association"):  # contexts were all copied first
                raise self._changed(f"{error.count} {error.field} rows name a context newer than those it had "
                                    "copied") from None
            raise
        self.written[plural] += nodes
        for edge, edge_rows in edges.items():
            self.read[_EDGE_COUNT[edge]] += len(edge_rows)
            self.written[_EDGE_COUNT[edge]] += written[edge]

    def _check_indexed(self, item: Any, at: str) -> None:
        """Raise InvalidArgumentError naming ``item``'s name, external id or uri when it is
        longer than graphmd indexes (ml-metadata keeps any length): writing it would fail in
        Neo4j's index, or, a little shorter, store what graphmd's own writes then refuse."""
        for attr in ("name", "external_id", "uri"):
            try:
                codec.check_text(getattr(item, attr, None), f"{at}.{attr}", indexed=True)
            except InvalidArgumentError as error:
                raise InvalidArgumentError(
                    f"{error.message}: {self.reader.name} cannot be imported as it is. Back the source up, shorten "
                    "that value in it, and run the same import again: it resumes where it stopped",
                    field=error.field) from None

    def _changed(self, what: str) -> FailedPreconditionError:
        """The error of a source written to while it is imported: rows naming nodes newer than
        those the import copied (a pipeline ran meanwhile)."""
        return FailedPreconditionError(
            f"{self.reader.name} changed during the import: {what} (a writer added it after the import read that "
            "kind). Import a store no one is writing to: stop its writers (or copy the file) and run the same "
            "import again: it resumes where it stopped", field="source")

    def _name_dangling_event(self, events: list[dict[str, Any]]) -> None:
        """Raise an error naming an event of ``events`` whose artifact the source does not hold
        (ml-metadata's SQLite backend stores such events; a graphmd event is an edge and
        needs both ends), if there is one."""
        wanted = sorted({e["artifact_id"] for e in events})
        found = set(self.store._read(lambda tx: tx.run(q.EXISTING_IDS["Artifact"], ids=wanted).single(strict=True)["ids"]))
        for e in events:
            if (e["artifact_id"] not in found and e["artifact_id"] > self.max_ids.get("Artifact", 0)
                    and self.reader.holds("Artifact", e["artifact_id"])):
                raise self._changed(f"execution {e['execution_id']} has an event to artifact {e['artifact_id']}, "
                                    "newer than the artifacts it had copied")
            if e["artifact_id"] not in found:
                field = f"events[execution_id={e['execution_id']}].artifact_id"
                raise InvalidArgumentError(
                    f"{field}: {self.reader.name} holds an event of execution {e['execution_id']} to artifact "
                    f"{e['artifact_id']}, which it does not hold (ml-metadata's SQLite backend stores such events; "
                    "in graphmd an event is an edge and needs both ends). Back the source up, delete such events "
                    f"in it (DELETE FROM Event WHERE artifact_id = {e['artifact_id']}), and run the same import "
                    "again: it resumes where it stopped", field=field)

    # --- parent contexts ---------------------------------------------------------------------

    def _parents(self) -> None:
        total, done = self.read["contexts"], 0
        for page in self.reader.pages("Context"):
            rows = [{"child_id": context, "parent_id": parent}
                    for context, found in self.reader.parent_ids([c.id for c in page]).items() for parent in found]
            written = self.store._write(lambda tx: write_rows(tx, "parent_context", rows, skip_existing=True))
            self.read["parent_contexts"] += len(rows)
            self.written["parent_contexts"] += written
            done += len(page)
            self.progress("parents", done, max(total, done))
        self.progress("parents", done, done)

    def _finish(self, tx: Any) -> None:
        advance_id_counters(tx, self.max_ids)
        tx.run(q.RECORD_MLMD_IMPORT, source=self.reader.name, state="done").consume()
