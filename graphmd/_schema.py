"""The store's shape in Neo4j: constraints, indexes, the schema version and its migrations.

`ensure_schema` runs when a store connects. It is idempotent: every statement is
``IF NOT EXISTS``, a MERGE or a batched fix-up that skips what is already fixed, so
concurrent connects are safe and a migration interrupted half way resumes on the next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import neo4j

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
    READ_SCHEMA_VERSION,
    SERVER_COMPONENTS,
    WRITE_SCHEMA_VERSION,
)

__all__ = ["SCHEMA_VERSION", "MIGRATIONS", "SIMPLE_TYPES", "SchemaState", "ensure_schema", "read_schema_state",
           "read_schema_version"]

# Version 1: the layout described in graphmd/_codec.py and docs/data-model.md.
# Version 0: the same without graphmd's derived keys (see _queries.MIGRATE_TO_1); a database
# holding graphmd's nodes but no GraphmdMeta node is taken to be version 0.
SCHEMA_VERSION = 1

# MLMD's system types (ml_metadata/simple_types), which base_type refers to.
SIMPLE_TYPES = {
    "ArtifactType": ["mlmd.Dataset", "mlmd.Model", "mlmd.Metrics", "mlmd.Statistics"],
    "ExecutionType": ["mlmd.Train", "mlmd.Transform", "mlmd.Process", "mlmd.Evaluate", "mlmd.Deploy"],
}

# Migrations from version N-1 to N, keyed by N: batched statements (each returns how many
# items it `changed`), each rerun in its own write transaction until it changes nothing.
MIGRATIONS: dict[int, list[str]] = {1: MIGRATE_TO_1}
MIGRATION_BATCH = 10_000


# What `CREATE ... IF NOT EXISTS` still raises when another process created the same rule
# between the check and the create: the rule is there, which is all that was asked.
_ALREADY_THERE = {"Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
                  "Neo.ClientError.Schema.ConstraintAlreadyExists", "Neo.ClientError.Schema.IndexAlreadyExists"}


def _run_all(session: neo4j.Session, statements: list[str]) -> None:
    # Each in a managed transaction: processes opening a new database at once deadlock on
    # the schema locks, and the driver retries those.
    for statement in statements:
        try:
            session.execute_write(lambda tx, s=statement: tx.run(s).consume())
        except neo4j.exceptions.ClientError as error:
            if error.code not in _ALREADY_THERE:
                raise


def read_schema_version(driver: neo4j.Driver, database: str | None) -> int | None:
    """The version the database's GraphmdMeta node records (None: there is none)."""
    with driver.session(database=database) as session:
        found = session.execute_read(lambda tx: tx.run(READ_SCHEMA_VERSION).single())
    return found["version"] if found else None


@dataclasses.dataclass(frozen=True)
class SchemaState:
    """What `graphmd info` reports of the database: the server's version and edition, the
    schema version graphmd recorded, and its indexes (constraints included) not ONLINE."""

    server: str
    schema_version: int | None
    indexes: int
    not_online: list[str]


def read_schema_state(driver: neo4j.Driver, database: str | None) -> SchemaState:
    """The server's version, the recorded schema version and the indexes' states."""
    def work(tx: neo4j.ManagedTransaction) -> SchemaState:
        components = [f"{r['name']} {r['version']} {r['edition']}" for r in tx.run(SERVER_COMPONENTS)]
        version = tx.run(READ_SCHEMA_VERSION).single()
        indexes = tx.run(INDEX_STATES).single()
        return SchemaState(", ".join(components), version["version"] if version else None, indexes["total"],
                           list(indexes["not_online"]))

    with driver.session(database=database) as session:
        return session.execute_read(work)


def ensure_schema(driver: neo4j.Driver, database: str | None, allocate_ids: Callable[[str, int], list[int]]) -> int:
    """Create constraints, indexes, MLMD's system types and the schema version if missing;
    migrate an older schema step by step. Returns the schema version.

    Raises FailedPreconditionError when the database holds a newer schema than this graphmd
    understands: an older graphmd must not write into it.
    """
    version = read_schema_version(driver, database)
    if version is not None and version > SCHEMA_VERSION:
        raise FailedPreconditionError(
            f"the store's schema version is {version}, newer than this graphmd's ({SCHEMA_VERSION}); "
            "upgrade graphmd to use this database",
            field="schema_version",
        )
    with driver.session(database=database) as session:
        if version != SCHEMA_VERSION:
            _run_all(session, CONSTRAINTS + INDEXES)
            session.run(AWAIT_INDEXES).consume()
        start = version
        if start is None:
            start = 0 if session.execute_read(lambda tx: tx.run(HAS_DATA).single()["has_data"]) else SCHEMA_VERSION
        for target in range(start + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                while session.execute_write(
                        lambda tx, s=statement: tx.run(s, batch=MIGRATION_BATCH).single()["changed"]):
                    pass
            session.execute_write(lambda tx, v=target: tx.run(WRITE_SCHEMA_VERSION, version=v).consume())
        _ensure_simple_types(session, allocate_ids)
        if version != SCHEMA_VERSION:
            session.execute_write(lambda tx: tx.run(WRITE_SCHEMA_VERSION, version=SCHEMA_VERSION).consume())
    return SCHEMA_VERSION


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
