"""The store's own shape: it records its schema version, migrates an older one (idempotently,
also after an interrupted migration, and announced) and refuses a newer one."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest

import graphmd._schema
from _sample import populate
from _snapshot import snapshot
from graphmd import (Artifact, ArtifactAndEvent, ArtifactType, Context, ContextType, Event, EventType, Execution,
                     ExecutionState, ExecutionType, FailedPreconditionError, MetadataStore, PropertyType,
                     UnavailableError, find_cached_execution)
from graphmd._config import Settings
from graphmd import _queries as q
from graphmd._queries import CONSTRAINTS
from graphmd._schema import MIGRATIONS, SCHEMA_VERSION, compatible_from, read_schema_version

# What a version-0 database lacks: graphmd's derived keys (see graphmd._queries.MIGRATE_TO_1).
DOWNGRADE_TO_0 = [
    "MATCH (m:GraphmdMeta) DELETE m",
    "MATCH (t:Type) REMOVE t.version_key, t.kind",
    "MATCH (n) WHERE n:Artifact OR n:Execution OR n:Context REMOVE n.type",
    "MATCH ()-[e:EVENT]->() REMOVE e.event_key",
]
GRAPHMD_META_CONSTRAINT = next(c for c in CONSTRAINTS if "GraphmdMeta" in c)
STRUCT_VALUES = """
MATCH (n) WHERE n:Artifact OR n:Execution OR n:Context
UNWIND [k IN keys(n) WHERE k STARTS WITH 'ps_' OR k STARTS WITH 'cs_'] AS key
RETURN labels(n)[0] AS label, n.id AS id, key, n[key] AS text
"""
HPARAMS = {"lr": 0.01, "batch": 32, "arch": {"width": 4, "depth": 2}}


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
    run(store, GRAPHMD_META_CONSTRAINT)
    run(store, "MERGE (m:GraphmdMeta {singleton: true}) SET m.schema_version = $v, m.compatible_from = $c",
        v=SCHEMA_VERSION, c=compatible_from(SCHEMA_VERSION))


def test_the_store_records_its_schema_version(store: MetadataStore) -> None:
    assert store.schema_version == SCHEMA_VERSION
    assert read_schema_version(store.driver, store.database) == SCHEMA_VERSION
    assert run(store, "MATCH (m:GraphmdMeta) RETURN count(m) AS n, m.compatible_from AS oldest") == [
        {"n": 1, "oldest": compatible_from(SCHEMA_VERSION)}]


def test_the_oldest_version_that_can_use_a_store_follows_additive_migrations() -> None:
    """Version 3 only added indexes, so a store at 3 is one graphmd of version 2 writes
    correctly; version 2 re-encoded values, so nothing older can use it."""
    assert MIGRATIONS[3].additive and not MIGRATIONS[2].additive and not MIGRATIONS[1].additive
    assert [compatible_from(v) for v in (1, 2, 3)] == [1, 2, 2]


def test_a_newer_schema_that_says_this_graphmd_can_use_it_is_opened_as_it_is(
        store: MetadataStore, neo4j_server: Settings, restore_version: None, cli,
        caplog: pytest.LogCaptureFixture) -> None:
    """A newer graphmd whose migrations since this version only added indexes leaves a store
    this graphmd still reads and writes: a rolling upgrade does not stop the older processes.
    This graphmd opens it without migrating or stamping anything."""
    populate(store, n=1)
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = $v, m.compatible_from = $c",
        v=SCHEMA_VERSION + 1, c=SCHEMA_VERSION)
    with caplog.at_level(logging.INFO, logger="graphmd.schema"), open_store(neo4j_server) as older:
        assert older.schema_version == SCHEMA_VERSION + 1
        data_t = older.get_artifact_type("Data", "v2")
        [new] = older.put_artifacts([Artifact(type_id=data_t.id, uri="/written-by-the-older-graphmd")])
        assert older.get_artifacts_by_id([new])[0].uri == "/written-by-the-older-graphmd"
    assert f"newer than this graphmd's ({SCHEMA_VERSION})" in caplog.text
    assert run(store, "MATCH (m:GraphmdMeta) RETURN m.schema_version AS v, m.compatible_from AS c") == [
        {"v": SCHEMA_VERSION + 1, "c": SCHEMA_VERSION}]
    assert (f"schema:   version {SCHEMA_VERSION + 1}, usable by graphmd of version {SCHEMA_VERSION} and later "
            f"(this graphmd writes {SCHEMA_VERSION})") in cli("info")


def test_a_store_stamped_before_graphmd_recorded_who_can_use_it_gets_that_recorded(
        store: MetadataStore, neo4j_server: Settings, restore_version: None) -> None:
    run(store, "MATCH (m:GraphmdMeta) REMOVE m.compatible_from")
    with open_store(neo4j_server):
        pass
    assert run(store, "MATCH (m:GraphmdMeta) RETURN m.schema_version AS v, m.compatible_from AS c") == [
        {"v": SCHEMA_VERSION, "c": compatible_from(SCHEMA_VERSION)}]


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
                                                            restore_version: None, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    populate(store, n=3)
    current = snapshot(store)
    run(store, *DOWNGRADE_TO_0)
    # A migration that died after some batches: the first statement ran on one item only.
    first = MIGRATIONS[1].steps[0]
    assert run(store, first, batch=1) == [{"changed": 1}]
    assert read_schema_version(store.driver, store.database) is None
    # A long step says how far it has got (every 10 s; here after every batch).
    monkeypatch.setattr(graphmd._schema, "PROGRESS_EVERY", 0.0)
    with caplog.at_level(logging.WARNING, logger="graphmd.schema"), open_store(neo4j_server):
        assert snapshot(store) == current
    assert "graphmd: migrating: " in caplog.text and " items of this step fixed so far" in caplog.text


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(v) for k, v in reversed(value.items())}
    return [_reversed_keys(v) for v in value] if isinstance(value, list) else value


def downgrade_to_1(store: MetadataStore) -> int:
    """The store as the first graphmd releases left it at version 1: STRUCT values with their
    keys in the caller's order (here reversed) and no GraphmdMeta constraint. Returns how
    many texts changed."""
    changed = 0
    for row in run(store, STRUCT_VALUES):
        text = json.dumps(_reversed_keys(json.loads(row["text"])), allow_nan=False)
        if text != row["text"]:
            run(store, f"MATCH (n:{row['label']} {{id: $id}}) SET n += $props", id=row["id"],
                props={row["key"]: text})
            changed += 1
    run(store, "DROP CONSTRAINT graphmd_meta IF EXISTS")
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = 1")
    return changed


def record_runs_with_structs(store: MetadataStore, n: int) -> dict[str, list[int]]:
    """``n`` Trainer runs with a STRUCT property (and STRUCT custom properties on their input
    and run context), each reading an artifact of its own."""
    trainer_t = store.put_execution_type(ExecutionType(name="Trainer", properties={"hparams": PropertyType.STRUCT}))
    data_t = store.put_artifact_type(ArtifactType(name="Examples"))
    run_t = store.put_context_type(ContextType(name="PipelineRun"))
    data = store.put_artifacts([Artifact(type_id=data_t, uri=f"/data/{i}",
                                         custom_properties={"meta": {"zeta": i, "alpha": {"b": 2, "a": 1}}})
                                for i in range(n)])
    for i, artifact in enumerate(store.get_artifacts_by_id(data)):
        store.put_execution(
            Execution(type_id=trainer_t, last_known_state=ExecutionState.COMPLETE, properties={"hparams": HPARAMS}),
            [ArtifactAndEvent(artifact=artifact, event=Event(type=EventType.INPUT, path=["examples", 0]))],
            [Context(type_id=run_t, name=f"run-{i}", custom_properties={"owner": {"team": "ml", "name": "al"}})])
    return {"data": data}


def test_struct_values_the_first_releases_wrote_are_migrated(store: MetadataStore, neo4j_server: Settings,
                                                            restore_version: None,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """A version-1 store of the first releases holds STRUCT values with their keys unsorted,
    where today's graphmd compares stored text: without the migration to version 2,
    find_cached_execution misses an identical run and an unchanged update rewrites the node."""
    populate(store, n=2)
    data = record_runs_with_structs(store, n=3)["data"]
    current = snapshot(store)
    assert downgrade_to_1(store) == 3 + 3 + 3  # hparams, the inputs' meta, the runs' owner
    with caplog.at_level(logging.WARNING, logger="graphmd.schema"), open_store(neo4j_server) as migrated:
        # Every text sorted again, the constraint back, times and everything else untouched.
        assert snapshot(store) == current
        assert run(store, "SHOW CONSTRAINTS YIELD name WHERE name = 'graphmd_meta' RETURN count(*) AS n") == [{"n": 1}]
        hit = find_cached_execution(migrated, "Trainer", {"examples": [data[1]]}, {"hparams": HPARAMS})
        assert hit is not None and hit.execution.properties["hparams"] == HPARAMS
        [execution] = migrated.get_executions_by_id([hit.execution.id])
        migrated.put_executions([execution])
        assert snapshot(store) == current  # an unchanged update changes nothing
        assert migrated.schema_version == SCHEMA_VERSION == 4
    assert "migrating the store's schema from version 1 to 4" in caplog.text
    assert "STRUCT values re-encoded with their keys sorted" in caplog.text
    assert "schema is now version 4" in caplog.text
    # As docs/operations.md says: version 4's migration is additive over 3 (compatible_from 2),
    # and graphmd of version 3 from d92b0be on reads that (it said "older ... refuses").
    assert "graphmd of schema version 3 from commit d92b0be on can still use it" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="graphmd.schema"), open_store(neo4j_server):
        assert snapshot(store) == current
    assert caplog.text == ""  # nothing to migrate, nothing announced


def test_an_interrupted_struct_migration_completes_on_the_next_open(store: MetadataStore, neo4j_server: Settings,
                                                                   restore_version: None,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    record_runs_with_structs(store, n=3)
    current = snapshot(store)
    downgrade_to_1(store)
    fix_batch = graphmd._schema._sort_struct_keys_after
    calls = []

    def dies_after_two_batches(*args: Any) -> Any:
        calls.append(args)
        if len(calls) > 2:
            raise neo4j.exceptions.ServiceUnavailable("Neo4j went away")
        return fix_batch(*args)

    monkeypatch.setattr(graphmd._schema, "MIGRATION_BATCH", 1)
    monkeypatch.setattr(graphmd._schema, "_sort_struct_keys_after", dies_after_two_batches)
    with pytest.raises(UnavailableError):
        open_store(neo4j_server)
    assert read_schema_version(store.driver, store.database) == 1
    assert snapshot(store) != current
    monkeypatch.undo()
    monkeypatch.setattr(graphmd._schema, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(graphmd._schema, "MIGRATION_BATCH", 2)
    with caplog.at_level(logging.WARNING, logger="graphmd.schema"), open_store(neo4j_server) as migrated:
        assert migrated.schema_version == SCHEMA_VERSION
        assert snapshot(store) == current
    # How far it has got, a line a batch here (every 10 s by default): 3 executions, 2 a batch.
    assert "graphmd: migrating: STRUCT values of 2 of 3 Execution nodes re-encoded" in caplog.text
    assert "graphmd: migrating: STRUCT values of 3 of 3 Execution nodes re-encoded" in caplog.text


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
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = $v, m.compatible_from = $v", v=SCHEMA_VERSION + 1)
    before = snapshot(store)
    with pytest.raises(FailedPreconditionError) as info:
        open_store(neo4j_server)
    assert info.value.field == "schema_version"
    assert f"schema version is {SCHEMA_VERSION + 1}" in info.value.message and "upgrade graphmd" in info.value.message
    assert f"needs graphmd of schema version {SCHEMA_VERSION + 1} or later" in info.value.message
    assert snapshot(store) == before
    run(store, "MATCH (m:GraphmdMeta) REMOVE m.compatible_from")  # as graphmd wrote before recording it
    with pytest.raises(FailedPreconditionError):
        open_store(neo4j_server)


def test_info_still_reports_a_newer_schemas_store(store: MetadataStore, cli, restore_version: None) -> None:
    """`graphmd info` is how one finds out what a store is: it reports a store a newer graphmd
    wrote (with a note) instead of refusing, and writes nothing."""
    populate(store, n=1)
    counts = store.counts()
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = $v, m.compatible_from = $v", v=SCHEMA_VERSION + 1)
    before = snapshot(store)
    data = json.loads(cli("info", "--format", "json"))
    assert data["schema_version"] == SCHEMA_VERSION + 1 and data["counts"] == counts
    assert "upgrade graphmd" in data["note"]
    assert f"note:     the store's schema version is {SCHEMA_VERSION + 1}" in cli("info")
    assert snapshot(store) == before


# The indexes each index-only migration adds, by the version it migrates to.
ADDED_INDEXES = {3: ("_type_by_", 3 * len(q.TYPE_ORDER_INDEXES)),  # artifacts, executions, contexts
                 4: ("current_model_id", 2)}  # the property and the custom property


@pytest.mark.parametrize("version", sorted(ADDED_INDEXES))
def test_an_index_only_migration_adds_its_indexes_and_leaves_the_data(store: MetadataStore, neo4j_server: Settings,
                                                                      restore_version: None, version: int,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """Versions 3 (a type's nodes in order) and 4 (blessings by model) add indexes only: a
    store of the version before keeps its data and gains them when opened (a store at the
    current version skips creating indexes), and graphmd of that version can still use it."""
    populate(store, n=2)
    current = snapshot(store)
    part, count = ADDED_INDEXES[version]
    listed = "SHOW INDEXES YIELD name WHERE name CONTAINS $part RETURN name ORDER BY name"
    names = [row["name"] for row in run(store, listed, part=part)]
    assert len(names) == count
    for name in names:
        run(store, f"DROP INDEX {name}")
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = $v", v=version - 1)
    with caplog.at_level(logging.WARNING, logger="graphmd.schema"), open_store(neo4j_server) as migrated:
        assert migrated.schema_version == SCHEMA_VERSION
        assert [row["name"] for row in run(store, listed, part=part)] == names
        assert snapshot(store) == current
    assert f"from version {version - 1} to {SCHEMA_VERSION} ({version}: {MIGRATIONS[version].what}" in caplog.text
    assert MIGRATIONS[version].additive and compatible_from(SCHEMA_VERSION) <= version - 1


def test_doubles_older_releases_stored_as_negative_zero_are_migrated(store: MetadataStore, neo4j_server: Settings,
                                                                     restore_version: None) -> None:
    """graphmd stored a double -0.0 as given until 2026-12-05, after version 2 had begun, and
    Neo4j finds a stored -0.0 both equal to 0 and below it: on an upgraded store
    `properties.score.double_value < 0` found it and `>= 0` did not (ml-metadata: the other way
    round), though a store written now, or imported, holds 0.0."""
    from graphmd import ListOptions, PropertyType

    model = store.put_artifact_type(ArtifactType(name="Scored", properties={"score": PropertyType.DOUBLE}))
    store.put_artifacts([Artifact(type_id=model, uri=uri, properties={"score": score},
                                  custom_properties={"other": score})
                         for uri, score in (("/zero", 0.0), ("/below", -0.5), ("/negative-zero", 1.0))])
    # As the older releases wrote it (from 1.0: Neo4j skips setting a value equal to the one held).
    run(store, "MATCH (a:Artifact {uri: '/negative-zero'}) SET a.p_score = $z, a.c_other = $z", z=-0.0)
    run(store, "MATCH (m:GraphmdMeta) SET m.schema_version = 2, m.compatible_from = 2")

    def below_zero(opened: MetadataStore) -> list[str]:
        return sorted(a.uri or "" for a in opened.get_artifacts(ListOptions(
            filter_query="properties.score.double_value < 0 OR custom_properties.other.double_value < 0")))

    assert below_zero(store) == ["/below", "/negative-zero"]  # what an upgraded store answered
    with open_store(neo4j_server) as migrated:
        assert below_zero(migrated) == ["/below"]
        assert run(store, "MATCH (a:Artifact {uri: '/negative-zero'}) RETURN toString(a.p_score) AS p, "
                          "toString(a.c_other) AS c") == [{"p": "0.0", "c": "0.0"}]
