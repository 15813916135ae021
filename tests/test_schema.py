"""The store's own shape: it records its schema version, migrates an older one (idempotently,
also after an interrupted migration) and refuses a newer one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from _sample import populate
from _snapshot import snapshot
from graphmd import FailedPreconditionError, MetadataStore
from graphmd._config import Settings
from graphmd._schema import MIGRATIONS, SCHEMA_VERSION, read_schema_version

# What a version-0 database lacks: graphmd's derived keys (see graphmd._queries.MIGRATE_TO_1).
DOWNGRADE_TO_0 = [
    "MATCH (m:GraphmdMeta) DELETE m",
    "MATCH (t:Type) REMOVE t.version_key, t.kind",
    "MATCH (n) WHERE n:Artifact OR n:Execution OR n:Context REMOVE n.type",
    "MATCH ()-[e:EVENT]->() REMOVE e.event_key",
]


def run(store: MetadataStore, *statements: str, **params: object) -> list[dict]:
    out = []
    for statement in statements:
        out = [r.data() for r in store.driver.execute_query(statement, params, database_=store.database).records]
    return out


def open_store(settings: Settings) -> MetadataStore:
    return MetadataStore(settings.uri, settings.user, settings.password, settings.database)


@pytest.fixture
def restore_version(store: MetadataStore) -> Iterator[None]:
    """Whatever a test does to GraphmdMeta, later tests find the current version."""
    yield
    run(store, "MATCH (m:GraphmdMeta) DETACH DELETE m")
    run(store, "MERGE (m:GraphmdMeta {singleton: true}) SET m.schema_version = $v", v=SCHEMA_VERSION)


def test_the_store_records_its_schema_version(store: MetadataStore) -> None:
    assert store.schema_version == SCHEMA_VERSION
    assert read_schema_version(store.driver, store.database) == SCHEMA_VERSION
    assert run(store, "MATCH (m:GraphmdMeta) RETURN count(m) AS n") == [{"n": 1}]


@pytest.mark.parametrize("recorded", [None, 0], ids=["no-meta-node", "version-0"])
def test_an_older_schema_is_migrated_idempotently(store: MetadataStore, neo4j_server: Settings,
                                                  restore_version: None, recorded: int | None) -> None:
    populate(store, n=2)
    current = snapshot(store)
    run(store, *DOWNGRADE_TO_0)
    if recorded is not None:
        run(store, "CREATE (:GraphmdMeta {singleton: true, schema_version: $v})", v=recorded)
    assert snapshot(store) != current
    with open_store(neo4j_server) as migrated:
        assert migrated.schema_version == SCHEMA_VERSION
        assert snapshot(store) == current  # every derived key back, nothing else touched
        # The migrated store works: listing by type reads the restored type names.
        assert [x.name for x in migrated.get_executions_by_type("Step")][:2] == ["step-0", "step-1"]
    with open_store(neo4j_server):  # a second open finds the current version and changes nothing
        assert snapshot(store) == current


def test_an_interrupted_migration_completes_on_the_next_open(store: MetadataStore, neo4j_server: Settings,
                                                            restore_version: None) -> None:
    populate(store, n=3)
    current = snapshot(store)
    run(store, *DOWNGRADE_TO_0)
    # A migration that died after some batches: the first statement ran on one item only.
    first = MIGRATIONS[1][0]
    assert run(store, first, batch=1) == [{"changed": 1}]
    assert read_schema_version(store.driver, store.database) is None
    with open_store(neo4j_server):
        assert snapshot(store) == current


def test_an_empty_database_is_stamped_without_migrating(store: MetadataStore, neo4j_server: Settings,
                                                        restore_version: None) -> None:
    run(store, "MATCH (n) WHERE n:Type OR n:GraphmdMeta DETACH DELETE n")
    with open_store(neo4j_server) as fresh:
        assert fresh.schema_version == SCHEMA_VERSION
        assert read_schema_version(store.driver, store.database) == SCHEMA_VERSION
        assert len(fresh.get_artifact_types(include_system_types=True)) == 4  # MLMD's system types


def test_a_newer_schema_is_refused_with_a_clear_message(store: MetadataStore, neo4j_server: Settings,
                                                        restore_version: None) -> None:
    populate(store, n=1)
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = $v", v=SCHEMA_VERSION + 1)
    before = snapshot(store)
    with pytest.raises(FailedPreconditionError) as info:
        open_store(neo4j_server)
    assert info.value.field == "schema_version"
    assert f"schema version is {SCHEMA_VERSION + 1}" in info.value.message and "upgrade graphmd" in info.value.message
    assert snapshot(store) == before


def test_info_still_reports_a_newer_schemas_store(store: MetadataStore, cli, restore_version: None) -> None:
    """`graphmd info` is how one finds out what a store is: it reports a store a newer graphmd
    wrote (with a note) instead of refusing, and writes nothing."""
    populate(store, n=1)
    counts = store.counts()
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = $v", v=SCHEMA_VERSION + 1)
    before = snapshot(store)
    data = json.loads(cli("info", "--format", "json"))
    assert data["schema_version"] == SCHEMA_VERSION + 1 and data["counts"] == counts
    assert "upgrade graphmd" in data["note"]
    assert f"note:     the store's schema version is {SCHEMA_VERSION + 1}" in cli("info")
    assert snapshot(store) == before
