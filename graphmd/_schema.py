"""The store's shape in Neo4j: constraints, indexes, the schema version and its migrations.

`ensure_schema` runs when a store connects. It is idempotent: every statement is
``IF NOT EXISTS``, a MERGE or a batched fix-up that skips what is already fixed, so
concurrent connects are safe and a migration interrupted half way resumes on the next.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import neo4j

from . import _codec as codec
from ._errors import FailedPreconditionError
from ._queries import (
    AWAIT_INDEXES,
    CONSTRAINTS,
    INDEXES,
    CREATE_SIMPLE_TYPES,
    HAS_DATA,
    INDEX_STATES,
    MIGRATE_TO_1,
    MISSING_SIMPLE_TYPES,
    NEGATIVE_ZEROS_AFTER,
    NODE_LABELS,
    READ_SCHEMA_VERSION,
    REWRITE_NEGATIVE_ZEROS,
    REWRITE_STRUCT_VALUES,
    SERVER_COMPONENTS,
    STRUCT_NODES_COUNT,
    STRUCT_VALUES_AFTER,
    WRITE_SCHEMA_VERSION,
)

__all__ = ["SCHEMA_VERSION", "MIGRATIONS", "READS_COMPATIBLE_FROM", "SIMPLE_TYPES", "Migration", "SchemaState",
           "compatible_from", "ensure_schema", "read_schema_state", "read_schema_version", "usable_newer_version"]

logger = logging.getLogger("graphmd.schema")

# Version 4: version 3 with the indexes of blessings by the model they name (current_model_id).
# Version 3: version 2 with the indexes that list a type's nodes in order (_queries.TYPE_ORDER_INDEXES).
# Version 2: the layout described in graphmd/_codec.py and docs/data-model.md.
# Version 1: the same, but STRUCT values may hold their keys in any order (the first graphmd
# releases wrote them so) and the GraphmdMeta uniqueness constraint may be missing.
# Version 0: version 1 without graphmd's derived keys (see _queries.MIGRATE_TO_1); a database
# holding graphmd's nodes but no GraphmdMeta node is taken to be version 0.
# A change to what graphmd stores, or a new constraint or index, takes a new version and a
# migration: a store at the current version skips CONSTRAINTS and INDEXES when it opens, and
# an older graphmd refuses a newer version instead of writing the old layout into it, unless
# the store says that graphmd can use it (its `compatible_from`, below).
SCHEMA_VERSION = 4

# MLMD's system types (ml_metadata/simple_types), which base_type refers to.
SIMPLE_TYPES = {
    "ArtifactType": ["mlmd.Dataset", "mlmd.Model", "mlmd.Metrics", "mlmd.Statistics"],
    "ExecutionType": ["mlmd.Train", "mlmd.Transform", "mlmd.Process", "mlmd.Evaluate", "mlmd.Deploy"],
}

# A migration step fixes up to `batch` items per write transaction and is idempotent, so an
# interrupted migration resumes on the next open: a Cypher statement (run with $batch,
# returning how many items it `changed`, rerun until that is 0), or a function given a
# session and the batch size, for a fix Cypher cannot compute.
MigrationStep = str | Callable[[neo4j.Session, int], None]


@dataclasses.dataclass(frozen=True)
class Migration:
    """What the migration to a version does (for its announcement), and its steps.

    ``additive``: the migration only adds indexes, so a graphmd of the version before reads
    and writes the migrated store correctly (its writes are what this version writes, and it
    reads nothing the migration took away). A store records the oldest version that can use
    it (`compatible_from`), and graphmd of that version or newer opens it.
    """

    what: str
    steps: Sequence[MigrationStep]
    additive: bool = False


# A migration step that runs longer says how far it has got, this often (seconds).
PROGRESS_EVERY = 10.0


class _Progress:
    """Logs a long migration step's progress at most every PROGRESS_EVERY seconds: on a large
    store a step takes minutes, and an operator should see it move (and, if it is stopped,
    how far it got; the next open runs the step again, skipping what is already done)."""

    def __init__(self) -> None:
        self._next = time.monotonic() + PROGRESS_EVERY

    def say(self, describe: Callable[[], str]) -> None:
        if time.monotonic() >= self._next:
            logger.warning("graphmd: migrating: %s", describe())
            self._next = time.monotonic() + PROGRESS_EVERY


def _by_pages(session: neo4j.Session, batch: int, fix_after: Callable[..., int | None],
              describe: Callable[[int, str], str]) -> None:
    """Run ``fix_after(tx, label, after, batch)`` (which fixes the ``batch`` nodes after id
    ``after`` and returns the last id read, None when none was left) over every node label,
    one write transaction a page, in id order, saying how far it got now and then."""
    progress = _Progress()
    for label in NODE_LABELS:
        after: int | None = codec.INT64_MIN
        read = 0
        while after is not None:
            after = session.execute_write(fix_after, label, after, batch)
            read += batch
            progress.say(lambda: describe(read, label))


def _count(tx: neo4j.ManagedTransaction, statement: str) -> int:
    return int(tx.run(statement).single(strict=True)["count"])


def _sort_struct_keys(session: neo4j.Session, batch: int) -> None:
    """Re-encode STRUCT values with their keys sorted (_queries.STRUCT_VALUES_AFTER), ``batch``
    nodes of a label per transaction, in id order."""
    totals: dict[str, int] = {}
    for label in NODE_LABELS:
        totals[label] = session.execute_read(_count, STRUCT_NODES_COUNT[label])
    _by_pages(session, batch, _sort_struct_keys_after, lambda read, label: (
        f"STRUCT values of {min(read, totals[label]):,} of {totals[label]:,} {label} nodes re-encoded"))


def _sort_struct_keys_after(tx: neo4j.ManagedTransaction, label: str, after: int, batch: int) -> int | None:
    """Sort the STRUCT values' keys of the ``batch`` ``label`` nodes after id ``after``; the
    last id read (None: none was left). Text that is not JSON (a bulk load's) stays as it is."""
    found = tx.run(STRUCT_VALUES_AFTER[label], after=after, batch=batch).single(strict=True)
    rows = []
    for node in found["rows"]:
        old: dict[str, str] = {}
        new: dict[str, str] = {}
        for key, text in node["structs"]:
            try:
                canonical = codec.sorted_struct_text(text)
            except (TypeError, ValueError):
                continue
            if canonical != text:
                old[key], new[key] = text, canonical
        if new:
            rows.append({"id": node["id"], "old": old, "new": new})
    if rows:
        tx.run(REWRITE_STRUCT_VALUES[label], rows=rows).consume()
    return found["last"]


def _positive_zeros(session: neo4j.Session, batch: int) -> None:
    """Rewrite doubles stored as -0.0 as 0.0 (graphmd stores -0.0 so since 2026-12-05, as
    ml-metadata does), ``batch`` nodes of a label per transaction, in id order."""
    _by_pages(session, batch, _positive_zeros_after,
              lambda read, label: f"-0.0 doubles of {read:,} {label} nodes looked at")


def _positive_zeros_after(tx: neo4j.ManagedTransaction, label: str, after: int, batch: int) -> int | None:
    """Rewrite the -0.0 doubles of the ``batch`` ``label`` nodes after id ``after`` as 0.0;
    the last id read (None: none was left)."""
    found = tx.run(NEGATIVE_ZEROS_AFTER[label], after=after, batch=batch).single(strict=True)
    rows = [{"id": node["id"], "removed": dict.fromkeys(node["keys"]), "zeros": dict.fromkeys(node["keys"], 0.0)}
            for node in found["rows"]]
    if rows:
        tx.run(REWRITE_NEGATIVE_ZEROS[label], rows=rows).consume()
    return found["last"]


# The migration to version N from N-1, keyed by N.
MIGRATIONS: dict[int, Migration] = {
    1: Migration("graphmd's derived keys: type kinds and version keys, node type names, event keys", MIGRATE_TO_1),
    2: Migration("STRUCT values re-encoded with their keys sorted", [_sort_struct_keys]),
    # Stores of version 2 and before may hold -0.0 doubles (graphmd wrote them until 2026-12-05,
    # after version 2 had begun): rewritten as 0.0, which graphmd of version 2 reads as well.
    3: Migration("indexes listing each type's nodes by id and by create time; doubles stored as -0.0 "
                 "rewritten as 0.0", [_positive_zeros], additive=True),
    4: Migration("indexes of blessings by the model they name (current_model_id)", [], additive=True),
}


# The first schema version whose every graphmd reads a store's `compatible_from` (graphmd of
# version 3 does from commit d92b0be on): graphmd of an earlier version refuses every newer
# store, whatever the store says.
READS_COMPATIBLE_FROM = 4


def _who_can_still_use(version: int) -> str:
    """Which older graphmd opens a store migrated to ``version``, as the migration says it."""
    oldest = compatible_from(version)
    if oldest >= version:
        return "a graphmd older than this one refuses the migrated store"
    if oldest >= READS_COMPATIBLE_FROM:
        return f"graphmd of schema version {oldest} and later can still use it; an older one refuses it"
    first = max(oldest, READS_COMPATIBLE_FROM - 1)
    return (f"graphmd of schema version {first} from commit d92b0be on can still use it (the first to read the "
            f"store's compatible_from), and of version {READS_COMPATIBLE_FROM} and later; an older one refuses it")


def compatible_from(version: int) -> int:
    """The oldest schema version whose graphmd can use a store at ``version``: the version
    before a run of additive migrations up to it (``version`` itself when its own is not)."""
    oldest = version
    while oldest > 0 and oldest in MIGRATIONS and MIGRATIONS[oldest].additive:
        oldest -= 1
    return oldest


MIGRATION_BATCH = 10_000


# What `CREATE ... IF NOT EXISTS` still raises when another process created the same rule
# between the check and the create: the rule is there, which is all that was asked.
_ALREADY_THERE = {"Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
                  "Neo.ClientError.Schema.ConstraintAlreadyExists", "Neo.ClientError.Schema.IndexAlreadyExists"}


def _consume(tx: neo4j.ManagedTransaction, /, statement: str, **params: Any) -> None:
    tx.run(statement, **params).consume()


def _run_all(session: neo4j.Session, statements: list[str]) -> None:
    # Each in a managed transaction: processes opening a new database at once deadlock on
    # the schema locks, and the driver retries those.
    for statement in statements:
        try:
            session.execute_write(_consume, statement)
        except neo4j.exceptions.ClientError as error:
            if error.code not in _ALREADY_THERE:
                raise


def read_schema_version(driver: neo4j.Driver, database: str | None) -> int | None:
    """The version the database's GraphmdMeta node records (None: there is none)."""
    return _read_meta(driver, database)[0]


def _read_meta(driver: neo4j.Driver, database: str | None) -> tuple[int | None, int | None]:
    """The recorded schema version and the oldest version that can use the store (None: not
    recorded; graphmd before commit d92b0be recorded only the version)."""
    with driver.session(database=database) as session:
        found = session.execute_read(lambda tx: tx.run(READ_SCHEMA_VERSION).single())
    return (found["version"], found["compatible_from"]) if found else (None, None)


def usable_newer_version(version: object, oldest: object) -> bool:
    """Whether this graphmd can use a store (or an export) at a newer ``version`` that says
    graphmd of version ``oldest`` and later can."""
    return (isinstance(version, int) and isinstance(oldest, int) and version > SCHEMA_VERSION
            and oldest <= SCHEMA_VERSION)


@dataclasses.dataclass(frozen=True)
class SchemaState:
    """What `graphmd info` reports of the database: the server's version and edition, the
    schema version graphmd recorded and the oldest that can use the store, and its indexes
    (constraints included) not ONLINE."""

    server: str
    schema_version: int | None
    indexes: int
    not_online: list[str]
    compatible_from: int | None = None


def read_schema_state(driver: neo4j.Driver, database: str | None) -> SchemaState:
    """The server's version, the recorded schema version and the indexes' states."""
    def work(tx: neo4j.ManagedTransaction) -> SchemaState:
        components = [f"{r['name']} {r['version']} {r['edition']}" for r in tx.run(SERVER_COMPONENTS)]
        version = tx.run(READ_SCHEMA_VERSION).single()
        indexes = tx.run(INDEX_STATES).single(strict=True)
        return SchemaState(", ".join(components), version["version"] if version else None, indexes["total"],
                           list(indexes["not_online"]), version["compatible_from"] if version else None)

    with driver.session(database=database) as session:
        return session.execute_read(work)


def ensure_schema(driver: neo4j.Driver, database: str | None, allocate_ids: Callable[[str, int], list[int]]) -> int:
    """Create constraints, indexes, MLMD's system types and the schema version if missing;
    migrate an older schema step by step. Returns the store's schema version: this graphmd's,
    or a newer one whose store says this graphmd can use it (its migrations since only added
    indexes), which is opened as it is, nothing written.

    Raises FailedPreconditionError when the database holds a newer schema than this graphmd
    can use: an older graphmd must not write its layout into it.
    """
    version, oldest = _read_meta(driver, database)
    if usable_newer_version(version, oldest):
        logger.info("graphmd: the store's schema version is %s, newer than this graphmd's (%d); the store says "
                    "graphmd of version %s and later can use it, so this one does, without what is newer",
                    version, SCHEMA_VERSION, oldest)
        return version  # type: ignore[return-value]  # not None: usable_newer_version
    if version is not None and version > SCHEMA_VERSION:
        raise FailedPreconditionError(
            f"the store's schema version is {version}, newer than this graphmd's ({SCHEMA_VERSION}), "
            f"and it needs graphmd of schema version {oldest if oldest is not None else version} or later; "
            "upgrade graphmd to use this database",
            field="schema_version",
        )
    with driver.session(database=database) as session:
        if version != SCHEMA_VERSION:
            _run_all(session, CONSTRAINTS + INDEXES)
            session.run(AWAIT_INDEXES).consume()
        start = version
        if start is None:
            start = 0 if session.execute_read(lambda tx: tx.run(HAS_DATA).single(strict=True)["has_data"]) else SCHEMA_VERSION
        if start < SCHEMA_VERSION:
            logger.warning("graphmd: migrating the store's schema from version %d to %d (%s). An interrupted "
                           "migration resumes when the store is next opened; %s.", start, SCHEMA_VERSION,
                           "; ".join(f"{v}: {MIGRATIONS[v].what}" for v in range(start + 1, SCHEMA_VERSION + 1)),
                           _who_can_still_use(SCHEMA_VERSION))
        for target in range(start + 1, SCHEMA_VERSION + 1):
            for step in MIGRATIONS[target].steps:
                _run_step(session, step)
            session.execute_write(_consume, WRITE_SCHEMA_VERSION, version=target,
                                  compatible_from=compatible_from(target))
        if start < SCHEMA_VERSION:
            logger.warning("graphmd: the store's schema is now version %d", SCHEMA_VERSION)
        _ensure_simple_types(session, allocate_ids)
        if version != SCHEMA_VERSION or oldest != compatible_from(SCHEMA_VERSION):
            session.execute_write(_consume, WRITE_SCHEMA_VERSION, version=SCHEMA_VERSION,
                                  compatible_from=compatible_from(SCHEMA_VERSION))
    return SCHEMA_VERSION


def _run_step(session: neo4j.Session, step: MigrationStep) -> None:
    if callable(step):
        step(session, MIGRATION_BATCH)
        return
    progress, done = _Progress(), 0
    while changed := session.execute_write(lambda tx: tx.run(step, batch=MIGRATION_BATCH).single(strict=True)["changed"]):
        done += changed
        progress.say(lambda: f"{done:,} items of this step fixed so far")


def _ensure_simple_types(session: neo4j.Session, allocate_ids: Callable[[str, int], list[int]]) -> None:
    wanted = [{"kind": kind, "name": name} for kind, names in SIMPLE_TYPES.items() for name in names]
    missing = session.execute_read(lambda tx: tx.run(MISSING_SIMPLE_TYPES, types=wanted).data())
    if not missing:
        return
    rows = [{**m, "id": i} for m, i in zip(missing, allocate_ids("Type", len(missing)))]

    def create(tx: neo4j.ManagedTransaction) -> None:
        for kind in SIMPLE_TYPES:
            tx.run(CREATE_SIMPLE_TYPES[kind], rows=[r for r in rows if r["kind"] == kind]).consume()

    session.execute_write(create)
