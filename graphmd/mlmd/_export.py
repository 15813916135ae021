"""`graphmd export-mlmd`: a graphmd store into a new ml-metadata SQLite store, ids and times kept.

Everything is written through ml-metadata's own client, so the result is a store ml-metadata
made itself: types, then contexts, artifacts with their attributions, executions with their
events and associations, then each context's parents, in pages by id (graphmd.mlmd._reading).

ml-metadata's API picks ids and stamps the current time on what it creates. So that nothing
changes on the way out, two things are set in the SQLite file directly, around the API calls:
before each run of consecutive ids, SQLite's id sequence for the table (sqlite_sequence) is
moved so ml-metadata hands out exactly graphmd's ids; after each page, the nodes' two times
are set to graphmd's, and an artifact without a uri is given none again (the API stores ''
for it; ml-metadata reads a missing uri as unset). MLMD's system types (which ml-metadata creates in every new store)
are moved to the ids they have in graphmd the same way. Event ids are ml-metadata's own (its
API does not show them).

ml-metadata cannot hold everything graphmd can: NaN and infinite doubles (its SQL refuses
them), strings with NUL characters (it cuts them short), STRING values starting
"mlmd-struct::" (it reads them as STRUCTs) and system_metadata (it does not store it). A
store holding any of these is refused with an error naming the node and field.
One change ml-metadata makes to everything it stores is kept, and counted in the result:
it writes a DOUBLE property into SQL with six decimals and reads it back with 15 significant
digits, so 0.1 + 0.2 is stored as 0.3 and 123456789012.12346 as 123456789012.123
(graphmd.mlmd._reading.stored_double; compare with ``as_stored=True`` afterwards). A double
that this rounds past the largest one (1.7976931348623157e308 becomes infinite) is refused
like an infinite one.

The store is written to ``<target>.partial`` and renamed to ``target`` once complete, so a
failed or interrupted export leaves no half store behind.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ml_metadata.proto import metadata_store_pb2 as pb

from .._codec import as_int
from .._errors import FailedPreconditionError, InternalError, InvalidArgumentError
from .._filter import STRUCT_TEXT_PREFIX
from .._schema import SIMPLE_TYPES
from .._store import MetadataStore
from ._client import open_store, sqlite_source, translate_errors
from ._import import COUNT_KINDS, Progress
from ._reading import NODE_KINDS, GraphmdReader, MlmdReader, stored_double

__all__ = ["ExportResult", "export_mlmd"]

_PLURAL = {"Artifact": "artifacts", "Execution": "executions", "Context": "contexts"}
_PUT_TYPE = {"ArtifactType": "put_artifact_type", "ExecutionType": "put_execution_type",
             "ContextType": "put_context_type"}
_SYSTEM_TYPES = {(kind, name) for kind, names in SIMPLE_TYPES.items() for name in names}
# Proto messages whose inside ml-metadata stores as opaque bytes, so any content is fine.
_OPAQUE = ("google.protobuf.Struct", "google.protobuf.Any")

T = TypeVar("T")


class ExportResult(NamedTuple):
    """What was written, per kind (the keys of graphmd.mlmd._import.COUNT_KINDS), how many
    DOUBLE values ml-metadata rounded (six decimals, 15 significant digits; the first few
    named), and what was left out, per kind, as written during the export after it had
    passed what it refers to (a node of a type created after the types were written, a link
    or event to a node created after its kind's nodes were): all 0 when nothing wrote."""

    written: dict[str, int]
    rounded: int
    rounded_examples: list[str]
    left_out: dict[str, int]


def export_mlmd(store: MetadataStore, target: str | os.PathLike[str], *, batch_size: int = 1000,
                progress: Progress | None = None) -> ExportResult:
    """Write ``store`` into a new ml-metadata SQLite store at ``target`` (see the module docstring).

    ``target`` must not exist, or be an ml-metadata store with nothing in it.

    Raises:
        FailedPreconditionError: ``target`` holds something else.
        InvalidArgumentError: the store holds what ml-metadata cannot (the error names the
            node and field), or ``batch_size`` is not positive. ``target`` is left as it was.
    """
    batch_size = as_int(batch_size, "batch_size", "a batch size")
    if batch_size <= 0:
        raise InvalidArgumentError("batch_size must be positive", field="batch_size")
    path = Path(target).absolute()
    if path.exists():
        _require_empty(path)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with _Export(store, partial, batch_size, progress) as export:
            export.run()
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(export.written, export.rounded, export.rounded_examples, export.left_out)


def _require_empty(path: Path) -> None:
    source = sqlite_source(path)
    reader = MlmdReader(open_store(source), source.name)
    user_types = [t for t in reader.types() if (type(t).__name__, t.name) not in _SYSTEM_TYPES]
    if user_types or any(reader.max_id(kind) for kind in NODE_KINDS):
        raise FailedPreconditionError(f"target: {path} already holds an ml-metadata store with data; export-mlmd "
                                      "writes only into a new or empty one", field="target")


class _Export:
    def __init__(self, store: MetadataStore, partial: Path, batch_size: int, progress: Progress | None) -> None:
        self.reader = GraphmdReader(store, page_size=batch_size)
        self.store = store
        self.partial = partial
        self.progress = progress or (lambda phase, done, total: None)
        self.written = dict.fromkeys(COUNT_KINDS, 0)
        self.left_out = dict.fromkeys(COUNT_KINDS, 0)
        # What the file holds, so that nothing written during the export refers past it
        # (ml-metadata refuses a link to a context it lacks, and stores an event to a missing
        # artifact): ids, not the highest one, since writers' id blocks interleave.
        self.exported: dict[str, set[int]] = {kind: set() for kind in NODE_KINDS}
        self.type_ids: set[int] = set()
        self.rounded = 0
        self.rounded_examples: list[str] = []
        self.name = str(partial)

    def __enter__(self) -> _Export:
        self.client = open_store(sqlite_source(self.partial, create=True))
        self.sql = sqlite3.connect(self.partial)
        return self

    def __exit__(self, *exc: object) -> None:
        self.sql.close()
        del self.client  # closes ml-metadata's connection

    def _call(self, method: str, *args: Any) -> Any:
        with translate_errors(self.name):
            return getattr(self.client, method)(*args)

    def run(self) -> None:
        self._types()
        counts = self.store.counts()  # how many of each kind the bars go to (not the highest id)
        for kind in NODE_KINDS:
            plural = _PLURAL[kind]
            total = counts[plural]
            for page in self.reader.pages(kind):
                self._nodes(kind, page)
                self.progress(plural, self.written[plural], max(total, self.written[plural]))
            self.progress(plural, self.written[plural], self.written[plural])
        self._parents()

    def _check(self, message: Any, field: str) -> None:
        for rounded in _check_storable(message, field):
            self.rounded += 1
            if len(self.rounded_examples) < 5:
                self.rounded_examples.append(rounded)

    # --- ids and times in the SQLite file ---------------------------------------------------

    def _next_id(self, table: str, wanted: int) -> None:
        """Make ml-metadata's next insert into ``table`` get id ``wanted``."""
        highest = self.sql.execute(f"SELECT coalesce(max(id), 0) FROM `{table}`").fetchone()[0]
        if wanted <= highest:
            raise InternalError(f"{table} id {wanted} is not above the highest written ({highest}); ids must come "
                                "in increasing order", field="id")
        if not self.sql.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (wanted - 1, table)).rowcount:
            self.sql.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, wanted - 1))
        self.sql.commit()

    def _move_type(self, old: int, new: int) -> None:
        """Give the type with id ``old`` the id ``new``, with everything that refers to it."""
        with self.sql:
            self.sql.execute("UPDATE `Type` SET id = ? WHERE id = ?", (new, old))
            self.sql.execute("UPDATE `TypeProperty` SET type_id = ? WHERE type_id = ?", (new, old))
            self.sql.execute("UPDATE `ParentType` SET type_id = ? WHERE type_id = ?", (new, old))
            self.sql.execute("UPDATE `ParentType` SET parent_type_id = ? WHERE parent_type_id = ?", (new, old))

    # --- types ------------------------------------------------------------------------------

    def _types(self) -> None:
        # ml-metadata made its system types in the new store; park them on negative ids, then
        # write every type in graphmd's id order, moving each system type to graphmd's id.
        system = {(type(t).__name__, t.name): t.id for t in MlmdReader(self.client, self.name).types()}
        for type_id in system.values():
            self._move_type(type_id, -type_id)
        types = sorted(self.reader.types(), key=lambda t: t.id)
        self.type_ids = {t.id for t in types}
        for t in types:
            kind = type(t).__name__
            field = f"types[id={t.id}]"
            self._check(t, field)
            parked = system.pop((kind, t.name), None) if not t.HasField("version") else None
            if parked is not None:
                self._move_type(-parked, t.id)
                continue
            self._next_id("Type", t.id)
            message = type(t)()
            message.CopyFrom(t)
            message.ClearField("id")
            self._expect(field, [self._call(_PUT_TYPE[kind], message)], [t.id])
        for type_id in system.values():  # system types graphmd lacks: after graphmd's ids
            highest = self.sql.execute("SELECT max(id) FROM `Type`").fetchone()[0]
            self._move_type(-type_id, max(highest, 0) + 1)
        self.sql.execute("UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM `Type`) WHERE name = 'Type'")
        self.sql.commit()
        self.written["types"] = len(types) + len(system)
        self.progress("types", len(types), len(types))

    # --- nodes and events -------------------------------------------------------------------

    def _nodes(self, kind: str, page: list[Any]) -> None:
        plural = _PLURAL[kind]
        kept = [node for node in page if node.type_id in self.type_ids]
        self.left_out[plural] += len(page) - len(kept)
        page = kept
        for node in page:
            self._check(node, f"{plural}[id={node.id}]")
        for run in _consecutive(page):
            self._next_id(kind, run[0].id)
            messages = []
            for node in run:
                message = type(node)()
                message.CopyFrom(node)
                message.ClearField("id")
                messages.append(message)
            self._expect(f"{plural}[id={run[0].id}]", self._call(f"put_{plural}", messages), [n.id for n in run])
        with self.sql:
            self.sql.executemany(f"UPDATE `{kind}` SET create_time_since_epoch = ?, last_update_time_since_epoch = ? "
                                 "WHERE id = ?",
                                 [(n.create_time_since_epoch, n.last_update_time_since_epoch, n.id) for n in page])
            if kind == "Artifact":
                self.sql.executemany("UPDATE `Artifact` SET uri = NULL WHERE id = ?",
                                     [(n.id,) for n in page if not n.HasField("uri")])
        self.written[plural] += len(page)
        ids = [n.id for n in page]
        self.exported[kind].update(ids)
        contexts, artifacts = self.exported["Context"], self.exported["Artifact"]
        if kind == "Artifact":
            attributions = [pb.Attribution(context_id=c, artifact_id=a)
                            for c, a in sorted(self._kept("attributions", self.reader.links_of(kind, ids),
                                                          lambda link: link[0] in contexts))]
            self._call("put_attributions_and_associations", attributions, [])
            self.written["attributions"] += len(attributions)
        elif kind == "Execution":
            events = self._kept("events", self.reader.events_by_executions(ids),
                                lambda event: event.artifact_id in artifacts)
            for event in events:
                self._check(event, f"events[execution_id={event.execution_id}, artifact_id={event.artifact_id}]")
            self._call("put_events", events)
            self.written["events"] += len(events)
            associations = [pb.Association(context_id=c, execution_id=x)
                            for c, x in sorted(self._kept("associations", self.reader.links_of(kind, ids),
                                                          lambda link: link[0] in contexts))]
            self._call("put_attributions_and_associations", [], associations)
            self.written["associations"] += len(associations)

    def _kept(self, plural: str, items: Iterable[T], keep: Callable[[T], bool]) -> list[T]:
        """``items`` that ``keep`` (whose other end the file holds), the others counted as left out."""
        given = list(items)
        kept = [item for item in given if keep(item)]
        self.left_out[plural] += len(given) - len(kept)
        return kept

    @staticmethod
    def _expect(field: str, got: list[int], wanted: list[int]) -> None:
        if list(got) != wanted:
            raise InternalError(f"{field}: ml-metadata gave ids {list(got)[:5]}... instead of {wanted[:5]}...",
                                field=field)

    # --- parent contexts ---------------------------------------------------------------------

    def _parents(self) -> None:
        total, done = self.written["contexts"], 0
        for page in self.reader.pages("Context"):
            contexts = self.exported["Context"]
            links = [(context, parent) for context, found in self.reader.parent_ids([c.id for c in page]).items()
                     for parent in found]
            parents = [pb.ParentContext(child_id=context, parent_id=parent) for context, parent in self._kept(
                "parent_contexts", links, lambda link: link[0] in contexts and link[1] in contexts)]
            self._call("put_parent_contexts", parents)
            self.written["parent_contexts"] += len(parents)
            done += len(page)
            # Contexts looked at, under a name that does not read as parent links written.
            self.progress("contexts' parents", done, max(total, done))
        self.progress("contexts' parents", done, done)


def _consecutive(page: list[Any]) -> Iterator[list[Any]]:
    """The page (in id order) cut into runs of consecutive ids."""
    run: list[Any] = []
    for node in page:
        if run and node.id != run[-1].id + 1:
            yield run
            run = []
        run.append(node)
    if run:
        yield run


def _check_storable(message: Any, field: str) -> Iterator[str]:
    """Refuse what ml-metadata would lose or reject (see the module docstring); yield the
    fields of DOUBLE values it will round."""
    for descriptor, value in message.ListFields():
        name = f"{field}.{descriptor.name}"
        if descriptor.name == "system_metadata":
            raise InvalidArgumentError(f"{name}: ml-metadata does not store system_metadata", field=name)
        if descriptor.message_type is not None and descriptor.message_type.full_name in _OPAQUE:
            if descriptor.message_type.full_name == "google.protobuf.Any" and not value.type_url:
                raise InvalidArgumentError(f"{name}: a PROTO value without a type_url, which ml-metadata stores "
                                           "but then cannot read back", field=name)
            continue
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            items = [(f"{name}[{key!r}]", item) for key, item in value.items()]
            for key in value:
                _check_scalar(key, f"{name}[{key!r}]")
        elif descriptor.label == descriptor.LABEL_REPEATED:
            items = [(f"{name}[{i}]", item) for i, item in enumerate(value)]
        else:
            items = [(name, value)]
        for item_field, item in items:
            if hasattr(item, "ListFields"):
                yield from _check_storable(item, item_field)
            elif _check_scalar(item, item_field):
                yield item_field


def _check_scalar(value: Any, field: str) -> bool:
    """Refuse a NUL in a string or a NaN or infinite double; True when ml-metadata will round
    the double."""
    if isinstance(value, str) and "\x00" in value:
        raise InvalidArgumentError(f"{field}: ml-metadata cuts strings at a NUL character", field=field)
    if isinstance(value, str) and field.endswith(".string_value") and value.startswith(STRUCT_TEXT_PREFIX):
        raise InvalidArgumentError(f"{field}: ml-metadata would read this STRING as a STRUCT (it keeps STRUCTs as "
                                   f"strings starting {STRUCT_TEXT_PREFIX!r})", field=field)
    if not isinstance(value, float):
        return False
    if not math.isfinite(value):
        raise InvalidArgumentError(f"{field}: ml-metadata cannot store {value} (NaN or infinite)", field=field)
    stored = stored_double(value)
    if not math.isfinite(stored):
        raise InvalidArgumentError(f"{field}: ml-metadata would store {value!r} as {stored} (it keeps 15 "
                                   "significant digits, which round it past the largest double)", field=field)
    return stored != value or math.copysign(1, stored) != math.copysign(1, value)
