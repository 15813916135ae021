"""The whole store as JSON lines, and back: `graphmd export` / `graphmd import`.

An export is one JSON object per line, in an order an import can replay:

    {"graphmd_export": 1, "schema_version": 4, "compatible_from": 2, "counts": {...}}
                                                                     header (counts: expected)
    {"type": {...}}                                                  every type, by id
    {"node": "Context" | "Artifact" | "Execution", "props": {...}}   every node, by label then id
    {"event": {...}, "artifact_id": 1, "execution_id": 2}            every event
    {"attribution": [context_id, artifact_id]}                       every link
    {"association": [context_id, execution_id]}
    {"parent_context": [child_id, parent_id]}
    {"end": {"counts": {...}}}                                       what was written

Nodes, types and events carry their Neo4j properties exactly as stored (the layout of
graphmd/_codec.py), so an import restores ids, times and properties unchanged. Floats that
JSON cannot hold (NaN, +-Infinity) are written as {"$float": "nan" | "inf" | "-inf"}; a Neo4j
property is never a map, so the form is unambiguous. Lines are ASCII (other characters as JSON
escapes), so no line separator can hide inside a string.

Export streams from one read transaction and leaves out what refers to anything it did not
write (nodes and edges written during it, whose types or ends it had passed), so an export
always imports; import writes batches of UNWIND statements, each its own transaction, into an
empty store, then moves the id counters past the imported ids. Neither holds the store's
records in memory (export keeps the ids it wrote, 8 bytes each).

An export may be gzip-compressed (`graphmd export FILE.gz` writes one): open_export reads a
file or a binary stream, plain or gzip (told by its first bytes, whatever its name), as the
lines import_store takes.
"""

from __future__ import annotations

import array
import bisect
import gzip
import io
import json
import math
import os
import shlex
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TextIO

from . import _queries as q
from ._bulk import advance_id_counters, write_rows
from ._errors import FailedPreconditionError, GraphmdError, InvalidArgumentError, map_driver_errors
from ._codec import as_int, sorted_struct_text
from ._models import EventType, artifact_struct_type_problem
from ._schema import SCHEMA_VERSION, SIMPLE_TYPES, compatible_from, ensure_schema, usable_newer_version
from ._store import MetadataStore

__all__ = ["EXPORT_FORMAT", "describe_unfinished_import", "export_store", "import_store", "open_export",
           "unfinished_import"]

EXPORT_FORMAT = 1
Progress = Callable[[int, int], None]  # (records done, records expected)

_COUNT_OF = {"type": "types", "Artifact": "artifacts", "Execution": "executions", "Context": "contexts",
             "event": "events", "attribution": "attributions", "association": "associations",
             "parent_context": "parent_contexts"}
_SYSTEM_TYPES = [name for names in SIMPLE_TYPES.values() for name in names]
# Link records -> the row keys of their two ends (graphmd._bulk.write_rows).
_LINK_KEYS = {
    "attribution": ("context_id", "artifact_id"),
    "association": ("context_id", "execution_id"),
    "parent_context": ("child_id", "parent_id"),
}
# Which id counter (graphmd._ids) each kind of record draws from.
_ID_KIND = {"type": "Type", "Artifact": "Artifact", "Execution": "Execution", "Context": "Context", "event": "Event"}


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$float"} and value["$float"] in ("nan", "inf", "-inf"):
            return float(value["$float"])
        raise InvalidArgumentError(f"a property value cannot be a map: {value!r}", field="props")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _props(raw: dict[str, Any]) -> dict[str, Any]:
    """A node's or edge's properties for its record, keys sorted: Neo4j returns a node's keys
    in the order they were written, which an import changes, and exports of the same store
    must be byte-identical (for checksums of backups)."""
    return {k: _encode(raw[k]) for k in sorted(raw)}


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"


def export_store(store: MetadataStore, out: TextIO, *, progress: Progress | None = None,
                 left_out: dict[str, int] | None = None) -> dict[str, int]:
    """Write every type, node and edge of the store to ``out`` as JSON lines (see the
    module docstring), streaming from one read transaction.

    Neo4j reads are read-committed, not a snapshot: a write committed during the export may
    show in part. What an export holds always imports: a node whose type, or an edge whose
    end, the export had already passed when it was written (a pipeline step recorded during
    the export) is left out, and counted in ``left_out`` (by kind, as the return value) when
    given. For an exact copy, export while no one writes.

    Returns:
        How many records of each kind were written (keys as MetadataStore.counts()).
    Raises:
        UnavailableError: Neo4j went away during the export (``out`` then holds no end
            record, and an import of it refuses to finish).
        OSError: writing to ``out`` failed (a full disk, a closed pipe), as ``out`` raised it.
        InvalidArgumentError: ``out`` is no text stream (a path, say, or a binary stream).
    """
    if not callable(getattr(out, "write", None)):
        raise InvalidArgumentError(f"out: a text stream to write to (open(path, 'w'), sys.stdout) is expected, not "
                                   f"{type(out).__name__}", field="out")
    if isinstance(out, (io.RawIOBase, io.BufferedIOBase)) or "b" in str(getattr(out, "mode", "")):
        raise InvalidArgumentError(f"out: a text stream to write to is expected, not the binary {type(out).__name__} "
                                   "(open the file with 'w', or wrap it: io.TextIOWrapper(out, encoding='utf-8'))",
                                   field="out")
    try:
        return _export(store, out, progress, left_out if left_out is not None else {})
    except _OutputError as failed:
        raise failed.error from None


class _OutputError(Exception):
    """An OSError from the export's output, carried past map_driver_errors, which takes an
    OSError for a lost connection to Neo4j."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Exported:
    """The ids an export has written, by kind, to leave out what refers to anything else.
    Each kind is read in id order, so its ids are appended sorted: 8 bytes an id, looked up
    by bisection."""

    def __init__(self) -> None:
        self.ids: dict[str, array.array[int]] = {}

    def add(self, kind: str, node_id: int) -> None:
        self.ids.setdefault(kind, array.array("q")).append(node_id)

    def has(self, kind: str, node_id: Any) -> bool:
        ids = self.ids.get(kind)
        if ids is None or not isinstance(node_id, int):
            return False
        at = bisect.bisect_left(ids, node_id)
        return at < len(ids) and ids[at] == node_id


# A link record's two ends, as the kinds _Exported keeps.
_LINK_ENDS = {"attribution": ("Context", "Artifact"), "association": ("Context", "Execution"),
              "parent_context": ("Context", "Context")}


def _export(store: MetadataStore, out: TextIO, progress: Progress | None, left_out: dict[str, int]) -> dict[str, int]:
    expected = store.counts()
    total = sum(expected.values())
    written = dict.fromkeys(expected, 0)
    left_out.update(dict.fromkeys(expected, 0))
    exported = _Exported()
    done = 0

    def write(record: dict[str, Any]) -> None:
        try:
            out.write(_line(record))
        except OSError as error:
            raise _OutputError(error) from error

    def emit(record: dict[str, Any], kind: str) -> None:
        nonlocal done
        write(record)
        written[_COUNT_OF[kind]] += 1
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done, total)

    def skip(kind: str) -> None:
        left_out[_COUNT_OF[kind]] += 1

    write({"graphmd_export": EXPORT_FORMAT, "schema_version": SCHEMA_VERSION,
           "compatible_from": compatible_from(SCHEMA_VERSION), "counts": expected})
    with map_driver_errors(store.settings.uri), store._session() as session, session.begin_transaction() as tx:
        for record in tx.run(q.EXPORT_TYPES):
            emit({"type": _props(record["n"])}, "type")
            exported.add("type", record["n"]["id"])
        for label in ("Context", "Artifact", "Execution"):
            for record in tx.run(q.EXPORT_NODES[label]):
                if not exported.has("type", record["n"].get("type_id")):
                    skip(label)  # of a type created after the types were read
                    continue
                emit({"node": label, "props": _props(record["n"])}, label)
                exported.add(label, record["n"]["id"])
        for record in tx.run(q.EXPORT_EVENTS):
            if not (exported.has("Artifact", record["artifact_id"])
                    and exported.has("Execution", record["execution_id"])):
                skip("event")  # of a node written after its kind was read
                continue
            emit({"event": _props(record["e"]), "artifact_id": record["artifact_id"],
                  "execution_id": record["execution_id"]}, "event")
        for name, *_ in q.EXPORT_LINK_KINDS:
            source_kind, target_kind = _LINK_ENDS[name]
            for record in tx.run(q.EXPORT_LINKS[name]):
                if not (exported.has(source_kind, record["source"]) and exported.has(target_kind, record["target"])):
                    skip(name)
                    continue
                emit({name: [record["source"], record["target"]]}, name)
    write({"end": {"counts": written}})
    if progress is not None:
        progress(done, done)
    return written


class _Importer:
    """Replays export records as batched writes, one pending batch at a time."""

    def __init__(self, store: MetadataStore, batch_size: int) -> None:
        self.store = store
        self.batch_size = batch_size
        self.kind: str | None = None  # "type", a node label, "event" or a link name
        self.rows: list[dict[str, Any]] = []
        self.max_id: dict[str, int] = {}
        self.seen = dict.fromkeys(_COUNT_OF.values(), 0)
        self.written = 0  # records committed so far
        self.in_flight = 0  # records of the batch being committed
        self.declared: dict[Any, dict[str, str]] = {}  # type id -> property name -> PropertyType value

    def add(self, kind: str, row: dict[str, Any], record_id: int | None, line_no: int) -> None:
        if kind != self.kind or len(self.rows) >= self.batch_size:
            self.flush()
            self.kind = kind
        if kind in _ID_KIND:
            if not isinstance(record_id, int) or isinstance(record_id, bool):
                raise InvalidArgumentError(f"line {line_no}: the {kind} record has no integer id", field="id")
            counter = _ID_KIND[kind]
            self.max_id[counter] = max(self.max_id.get(counter, 0), record_id)
        self.rows.append(row)
        self.seen[_COUNT_OF[kind]] += 1

    def flush(self) -> None:
        """Write the pending batch, and move its kind's id counter past the ids so far in
        the same transaction: a store an import left half way still hands out new ids."""
        kind, rows = self.kind, self.rows
        if not rows or kind is None:  # rows come with their kind
            return
        self.rows = []
        counter = _ID_KIND.get(kind)
        passed = {counter: self.max_id[counter]} if counter in self.max_id else {}

        def work(tx: Any) -> None:
            write_rows(tx, kind, rows)
            advance_id_counters(tx, passed)

        self.in_flight = len(rows)  # its commit's outcome is unknown should Neo4j go away now
        self.store._write(work)
        self.in_flight = 0
        self.written += len(rows)

    def row(self, record: dict[str, Any], line_no: int) -> tuple[str, dict[str, Any], int | None]:
        """(kind, statement row, id) of one record; raises on anything malformed."""
        if "type" in record:
            props = {k: _decode(v) for k, v in record["type"].items()}
            if props.get("kind") not in q.TYPE_KINDS:
                raise InvalidArgumentError(f"line {line_no}: a type's kind must be one of {q.TYPE_KINDS}",
                                           field="kind")
            self.declared[props.get("id")] = _checked_type(props, line_no)
            return "type", props, props.get("id")
        if "node" in record:
            label = record["node"]
            if label not in q.NODE_LABELS:
                raise InvalidArgumentError(f"line {line_no}: node label {label!r} is not one of {q.NODE_LABELS}",
                                           field="node")
            props = {k: _decode(v) for k, v in record["props"].items()}
            for time_field in ("create_time_since_epoch", "last_update_time_since_epoch"):
                # Every stored node has both: a listing's first page reads their indexes.
                if not isinstance(props.get(time_field), int) or isinstance(props.get(time_field), bool):
                    raise InvalidArgumentError(f"line {line_no}: the {label} record has no integer {time_field}",
                                               field=time_field)
            declared = self.declared.get(props.get("type_id"))
            if declared is not None:
                _check_node_properties(props, declared, f"line {line_no}: {label} {props.get('id')}")
            return label, props, props.get("id")
        if "event" in record:
            props = {k: _decode(v) for k, v in record["event"].items()}
            try:
                is_input = EventType(props.get("type")).is_input
            except ValueError:
                raise InvalidArgumentError(f"line {line_no}: event type {props.get('type')!r} is not an "
                                           "Event.Type", field="event.type") from None
            row = {"path": None, "milliseconds_since_epoch": None, "event_key": None, **props,
                   "artifact_id": record["artifact_id"], "execution_id": record["execution_id"],
                   "is_input": is_input}
            return "event", row, props.get("id")
        for name, (source_key, target_key) in _LINK_KEYS.items():
            if name in record:
                source, target = record[name]
                return name, {source_key: source, target_key: target}, None
        raise InvalidArgumentError(f"line {line_no}: unknown record {sorted(record)}", field="record")


# What a declared property's value is stored as, by its PropertyType: the key's prefix and
# the Python kind of the value (STRUCT and PROTO values are JSON text).
_STORED_AS = {"INT": ("p_", int), "DOUBLE": ("p_", float), "STRING": ("p_", str), "BOOLEAN": ("p_", bool),
              "STRUCT": ("ps_", str), "PROTO": ("pp_", str)}


def _checked_type(props: dict[str, Any], line_no: int) -> dict[str, str]:
    """A type record's declared properties (name -> PropertyType value), checked as a type
    written by graphmd is: one kind per name, input and output types MLMD's ArtifactStructType.

    Raises:
        InvalidArgumentError: naming the line and the field.
    """
    names, kinds = props.get("property_names", []), props.get("property_types", [])
    if (not isinstance(names, list) or not isinstance(kinds, list) or len(names) != len(kinds)
            or not all(isinstance(n, str) for n in names) or any(k not in _STORED_AS for k in kinds)):
        raise InvalidArgumentError(f"line {line_no}: type {props.get('id')}: property_names and property_types are "
                                   f"lists of one name and one of {', '.join(_STORED_AS)} each", field="property_types")
    for key in ("input_type", "output_type"):
        if props.get(key) is not None:
            try:
                problem = artifact_struct_type_problem(json.loads(props[key]))
            except (TypeError, ValueError):
                problem = "not JSON text"
            if problem:
                raise InvalidArgumentError(f"line {line_no}: type {props.get('id')}: {key}: {problem}", field=key)
    return dict(zip(names, kinds))


def _check_node_properties(props: dict[str, Any], declared: dict[str, str], where: str) -> None:
    """Check a node record's properties against its type's declarations, as a write through
    the library does, and store them as it would: -0.0 as 0.0, a STRUCT's keys sorted. An
    export never holds anything else; a file written or edited by hand may.

    Raises:
        InvalidArgumentError: a property its type does not declare, or one of another kind
            than declared (``field`` the record's key, ``props.p_lr``).
    """
    for key, value in list(props.items()):
        head, _, name = key.partition("_")
        if head not in ("p", "ps", "pp", "c", "cs", "cp"):
            continue
        if head.startswith("p"):
            kind = declared.get(name)
            if kind is None:
                raise InvalidArgumentError(f"{where}: property {name!r} is not declared by its type (a custom "
                                           f"property's key is c_{name})", field=f"props.{key}")
            prefix, python_kind = _STORED_AS[kind]
            if prefix != f"{head}_" or type(value) is not python_kind:
                raise InvalidArgumentError(f"{where}: property {name!r} is declared {kind}, stored as {prefix}{name} "
                                           f"holding a {python_kind.__name__}; the file has {key} = {value!r}",
                                           field=f"props.{key}")
        if isinstance(value, float) and value == 0.0:
            props[key] = 0.0  # -0.0, as every write stores it
        elif head in ("ps", "cs"):
            try:
                props[key] = sorted_struct_text(value)
            except (TypeError, ValueError):
                raise InvalidArgumentError(f"{where}: {key} holds a STRUCT value: JSON text, not {value!r}",
                                           field=f"props.{key}") from None


def import_store(store: MetadataStore, lines: Iterable[str], *, progress: Progress | None = None,
                 batch_size: int = 2000) -> dict[str, int]:
    """Restore an export into an empty store: the same ids, times, properties and edges.

    ``lines`` is the export (an open text file works; open_export opens a plain or gzip
    file, as does gzip.open(path, "rt")). Records are written in batches of
    ``batch_size``, each batch one transaction; afterwards the id counters are moved past
    the imported ids, so new nodes never reuse one. An export of an older schema version
    is migrated after loading, as `MetadataStore` migrates an old database.

    Returns:
        How many records of each kind were imported.
    Raises:
        FailedPreconditionError: the store holds data (anything but MLMD's system types),
            or the export comes from a newer graphmd schema.
        InvalidArgumentError: the input is not a complete graphmd export (not UTF-8 text,
            a gzip stream cut short, no header, a malformed or unknown record, an edge to a
            node it does not contain, a missing end record or counts that differ from it).
            Batches already written stay, and the store records that the import did not
            finish (`graphmd info` says so): empty it (MetadataStore.delete_everything)
            before importing again.
    """
    batch_size = as_int(batch_size, "batch_size", "a batch size")
    if batch_size <= 0:
        raise InvalidArgumentError("batch_size must be positive", field="batch_size")
    _check_complete(lines)
    records = _records(lines)
    try:
        line_no, header = next(records)
    except StopIteration:
        raise InvalidArgumentError("the input is empty, not a graphmd export", field="header") from None
    export_format = header.get("graphmd_export")
    if not isinstance(export_format, int) or export_format > EXPORT_FORMAT:
        raise InvalidArgumentError("the first line is not the header of a graphmd export (format "
                                   f"{EXPORT_FORMAT} or older)", field="header")
    version = header.get("schema_version")
    if usable_newer_version(version, header.get("compatible_from")):
        version = SCHEMA_VERSION  # a newer version's data as this one writes it: only indexes were added since
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise FailedPreconditionError(f"the export has schema version {version!r}; this graphmd reads versions up "
                                      f"to {SCHEMA_VERSION} and newer ones that say it can: upgrade graphmd to "
                                      "import it", field="schema_version")
    if store._read(lambda tx: tx.run(q.HAS_USER_DATA, system_types=_SYSTEM_TYPES).single(strict=True)["has_data"]):
        unfinished = unfinished_import(store)
        how = ("`graphmd reset --yes` with the same connection options, or delete_everything() on this "
               "MetadataStore")
        if unfinished and "(`graphmd reset --yes`)" in unfinished:  # it says how to empty it: said once
            said = unfinished.replace("(`graphmd reset --yes`)", f"({how})")
            raise FailedPreconditionError(f"import needs an empty store, and {said}", field="store")
        raise FailedPreconditionError("import needs an empty store, and this one holds types or nodes"
                                      + (f" ({unfinished})" if unfinished else "") + f"; empty it first ({how})",
                                      field="store")
    source = _source_name(lines)
    if source == "the input":  # an unnamed stream: "an import of a stream did not finish"
        source = "a stream"

    def begin(tx: Any) -> None:
        # MLMD's system types come with the export, under their exported ids.
        tx.run(q.DELETE_SYSTEM_TYPES, system_types=_SYSTEM_TYPES).consume()
        tx.run(q.RECORD_IMPORT, source=source).consume()

    store._write(begin)
    store._reset_caches()
    total = sum(v for v in (header.get("counts") or {}).values() if isinstance(v, int))
    importer = _Importer(store, batch_size)
    try:
        counts = _import_records(store, records, importer, version, total, progress)
    except GraphmdError as error:
        if not importer.written:
            raise
        # Whatever stopped it (bad input, Neo4j gone), the batches written stay: say so first.
        in_doubt = importer.in_flight if getattr(error, "commit_unknown", False) else 0
        stopped = type(error)(
            f"{import_stopped(importer.written, in_doubt)}, so the store holds part of the export: "
            "empty it (`graphmd reset --yes` with the same connection options as the import, or "
            f"delete_everything() on this MetadataStore) and import again. What stopped it: {error.message}",
            field=error.field)
        # For `graphmd import`'s words, which put the outage first.
        stopped.records_written = importer.written  # type: ignore[attr-defined]
        stopped.records_in_doubt = in_doubt  # type: ignore[attr-defined]
        raise stopped from error
    store._write(lambda tx: tx.run(q.FORGET_IMPORT).consume())
    return counts


def import_stopped(written: int, in_doubt: int = 0) -> str:
    """How far an import that stopped got: the records it committed, and those of the batch
    whose commit Neo4j may or may not have made when it went away."""
    return f"the import stopped with {written:,} records written" + (
        f" (and perhaps the {in_doubt:,} of the batch it was committing)" if in_doubt else "")


def unfinished_import(store: MetadataStore) -> str | None:
    """What an import (or a reset) that started on this store and did not finish left
    recorded (a `graphmd import` stopped half way, an `import-mlmd` not yet rerun to its end,
    a reset interrupted), as words for a message; None when there is none."""
    found = store._read(lambda tx: tx.run(q.IMPORT_STATES).single())
    return describe_unfinished_import(found.data() if found else {})


def describe_unfinished_import(state: dict[str, Any]) -> str | None:
    """unfinished_import's words for q.IMPORT_STATES' row (for readers without a MetadataStore)."""
    if state.get("reset_started"):  # before an import's: a reset stopped half way left part of everything
        return ("a reset of the store did not finish (`graphmd reset --yes` or delete_everything() stopped half "
                "way): the store holds part of what it had, edges first deleted; empty it (`graphmd reset --yes`)")
    if state.get("import_source") and state.get("holds_records") is False:  # it stopped before its first batch
        return (f"an import of {state['import_source']} stopped before it wrote anything: the store is empty; "
                "import again")
    if state.get("import_source"):
        return (f"an import of {state['import_source']} did not finish: the store holds part of it; empty it "
                "(`graphmd reset --yes`) and import again")
    if state.get("mlmd_import_state") == "running":
        return (f"an import-mlmd of {state['mlmd_import_source']} did not finish: run `graphmd import-mlmd "
                f"{state['mlmd_import_source']}` again to finish it")
    return None


def _import_records(store: MetadataStore, records: Iterator[tuple[int, dict[str, Any]]], importer: _Importer,
                    version: int, total: int, progress: Progress | None) -> dict[str, int]:
    """import_store's records after the header, written in the importer's batches."""
    end: dict[str, Any] | None = None
    done = 0
    for line_no, record in records:
        if end is not None:
            raise InvalidArgumentError(f"line {line_no}: a record after the end record", field="end")
        if "end" in record:
            end = record["end"]
            continue
        try:
            kind, row, record_id = importer.row(record, line_no)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidArgumentError(f"line {line_no}: malformed record: {error!r}", field="record") from error
        importer.add(kind, row, record_id, line_no)
        done += 1
        if progress is not None and done % importer.batch_size == 0:
            progress(done, max(total, done))
    importer.flush()
    _advance_counters(store, importer.max_id)
    if version < SCHEMA_VERSION:
        store._write(lambda tx: tx.run(q.WRITE_SCHEMA_VERSION, version=version,
                                       compatible_from=compatible_from(version)).consume())
    with map_driver_errors(store.settings.uri):
        ensure_schema(store.driver, store.database, store._ids.allocate)
    if progress is not None:
        progress(done, done)
    if end is None:
        raise InvalidArgumentError(f"the export ends without its end record after {done} records: it is "
                                   "truncated", field="end")
    if end.get("counts") != importer.seen:
        raise InvalidArgumentError(f"the export's end record counts {end.get('counts')} but it holds "
                                   f"{importer.seen}", field="end.counts")
    return importer.seen


_GZIP_MAGIC = b"\x1f\x8b"
# Other compressions an export may have been put through, by their first bytes: import reads
# gzip only, and says how to read these.
_OTHER_COMPRESSIONS = {b"BZh": ("bzip2", "bzip2 -dc"), b"\xfd7zXZ\x00": ("xz", "xz -dc"),
                       b"\x28\xb5\x2f\xfd": ("zstd", "zstd -dc")}


def _compression(head: bytes) -> str | None:
    """The compression whose magic bytes ``head`` starts with: "gzip", "bzip2", "xz", "zstd" or None."""
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    return next((name for magic, (name, _) in _OTHER_COMPRESSIONS.items() if head.startswith(magic)), None)


def _head_of(name: object) -> bytes:
    """The first bytes of the file ``name`` ("" when it is no file that can be read)."""
    if not isinstance(name, (str, os.PathLike)) or not os.path.isfile(name):
        return b""
    try:
        with open(name, "rb") as fh:
            return fh.read(8)
    except OSError:
        return b""


def open_export(source: str | os.PathLike[str] | IO[bytes], name: str | None = None) -> TextIO:
    """An export to give import_store: the file at path ``source``, or the binary stream
    ``source`` (stdin's buffer, say), plain or gzip-compressed, told by its first bytes
    (a file's name need not end in .gz). The text stream returned is named ``name`` (default:
    the path, or the stream's own name; "<stdin>" reads as stdin), which import_store's
    messages and the store's record of an unfinished import use. Close it when done.

    Raises:
        InvalidArgumentError: ``source`` is compressed another way (bzip2, xz, zstd): the
            message says how to decompress it into `graphmd import -`.
        OSError: the file cannot be opened.
    """
    path = source if isinstance(source, (str, os.PathLike)) else None
    binary: Any = open(path, "rb") if path is not None else source  # noqa: SIM115 (closed with the stream)
    if name is None:
        own = getattr(binary, "name", "")  # a stream opened on a descriptor is named by its number
        name = str(os.fspath(path)) if path is not None else own if isinstance(own, str) else ""
    if not hasattr(binary, "peek"):  # peek needs a buffered stream; reading ahead would lose the bytes
        binary = io.BufferedReader(binary)
    try:
        head = binary.peek(8)[:8]
    except (OSError, ValueError):
        head = b""
    kind = _compression(head)
    if kind not in (None, "gzip"):
        if path is not None:
            binary.close()
        command = dict(_OTHER_COMPRESSIONS.values())[kind]
        shown = _shown(name)
        how = f"`{command} {shlex.quote(shown)} | graphmd import -`" if path is not None else f"pipe it through `{command}`"
        raise InvalidArgumentError(f"{shown} is {kind}-compressed, and import reads a plain or gzip-compressed "
                                   f"export: {how}", field="file")
    if kind == "gzip":
        if path is not None:  # gzip.open closes the file it opens, with the stream
            binary.close()
            binary = gzip.open(path, "rb")
        else:
            binary = gzip.GzipFile(fileobj=binary, mode="rb")
    return _NamedText(binary, name)


class _NamedText(io.TextIOWrapper):
    """An export's UTF-8 lines, under the name of where they come from (a stream's buffer may
    have none, or gzip's)."""

    def __init__(self, binary: Any, name: str) -> None:
        super().__init__(binary, encoding="utf-8", newline="\n")
        self._name = name

    @property
    def name(self) -> str:
        return self._name


def _starts_like_an_export(first_line: bytes) -> bool:
    """Whether a file's first line is a graphmd export's header."""
    try:
        header = json.loads(first_line)
    except (ValueError, TypeError):
        return False
    return isinstance(header, dict) and "graphmd_export" in header


def _last_line(fh: IO[bytes] | gzip.GzipFile) -> bytes:
    """The last line that is not blank of a stream read to its end, holding only a tail."""
    tail = b""
    while chunk := fh.read(1 << 20):
        tail = (tail + chunk)[-(1 << 17):]
    return next((line for line in reversed(tail.splitlines()) if line.strip()), b"")


def _check_complete(lines: Iterable[str]) -> None:
    """When ``lines`` is a file on disk, refuse a truncated export before writing anything:
    a plain file's tail is read; a gzip file is decompressed once to its end (a gzip stream
    cut short is refused the same way)."""
    name = getattr(lines, "name", None)
    if not isinstance(name, (str, os.PathLike)) or not os.path.isfile(name):
        return
    with open(name, "rb") as fh:
        if _compression(fh.read(2)) == "gzip":
            fh.seek(0)
            try:
                with gzip.GzipFile(fileobj=fh, mode="rb") as unpacked:
                    if not _starts_like_an_export(unpacked.readline(65536)):
                        return
                    last = _last_line(unpacked)
            except (EOFError, OSError, zlib.error) as error:
                raise InvalidArgumentError(f"{name} is not a whole gzip file ({error}): it is truncated or damaged "
                                           "(nothing was imported)", field="end") from error
        else:
            fh.seek(0)
            if not _starts_like_an_export(fh.readline(65536)):
                return  # not an export at all: the header check says so, rather than "truncated"
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 65536))
            last = next((line for line in reversed(fh.read().splitlines()) if line.strip()), b"")
    try:
        complete = "end" in json.loads(last)
    except (ValueError, TypeError):
        complete = False
    if not complete:
        raise InvalidArgumentError(f"{name} does not end with an export's end record: it is truncated "
                                   "(nothing was imported)", field="end")


def _source_name(lines: object) -> str:
    """What to call an input in messages: its path, "stdin" or "the input"."""
    return _shown(getattr(lines, "name", None))


def _shown(name: object) -> str:
    if name == "<stdin>":
        return "stdin"
    if isinstance(name, (str, os.PathLike)) and os.fspath(name):
        return str(os.fspath(name))
    return "the input"


def _records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON records of the lines, numbered. Input that is not UTF-8 text, or a gzip
    stream that is damaged or cut short, is an InvalidArgumentError naming the source."""
    iterator = iter(lines)
    line_no = 0
    while True:
        try:
            line = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            what = _compression(_head_of(getattr(lines, "name", None)))
            hint = (f": it is {what}-compressed (open it with gzip.open(path, 'rt'))" if what == "gzip"
                    else f": it is {what}-compressed" if what else "")
            where = f" (after line {line_no})" if line_no else ""
            raise InvalidArgumentError(f"{_source_name(lines)} is not a graphmd export: it is not UTF-8 text"
                                       f"{where}{hint}", field="file") from error
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise InvalidArgumentError(f"{_source_name(lines)} is not a whole gzip stream after line {line_no} "
                                       f"({error}): it is truncated or damaged", field="end") from error
        line_no += 1
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise InvalidArgumentError(f"line {line_no} is not JSON: {error}", field="line") from error
        if not isinstance(record, dict):
            raise InvalidArgumentError(f"line {line_no} is not a JSON object", field="line")
        yield line_no, record


def _advance_counters(store: MetadataStore, max_ids: dict[str, int]) -> None:
    store._write(lambda tx: advance_id_counters(tx, max_ids))
    store._reset_caches()
