"""`graphmd import-mlmd` / `export-mlmd` with a SQLite store that ml-metadata built itself:
lossless both ways, verifiable, resumable. (The MySQL source: test_import_mlmd_mysql.py.)"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ml_metadata")

import ml_metadata as mlmd  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from _mlmd_equal import assert_same, graphmd_everything, mlmd_everything  # noqa: E402
from _mlmd_history import NODES_PER_RUN, build_history  # noqa: E402
from _sample import populate  # noqa: E402
from _snapshot import snapshot  # noqa: E402
from graphmd import (  # noqa: E402
    Artifact,
    ArtifactAndEvent,
    ArtifactState,
    ArtifactType,
    Context,
    ContextType,
    Event,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    FailedPreconditionError,
    InvalidArgumentError,
    MetadataStore,
    NotFoundError,
    ParentContext,
    PropertyType,
    ProtoValue,
)
from graphmd._config import Settings  # noqa: E402
from graphmd.mlmd._client import open_store, parse_source, sqlite_source  # noqa: E402
from graphmd.mlmd._compare import compare_all, compare_sample  # noqa: E402
from graphmd.mlmd._export import export_mlmd  # noqa: E402
from graphmd.mlmd._import import import_mlmd  # noqa: E402
from graphmd.mlmd._reading import GraphmdReader, MlmdReader  # noqa: E402

RUNS = 100


def mlmd_client(path: Path, *, create: bool = False):
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = (pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE if create
                                     else pb.SqliteMetadataSourceConfig.READONLY)
    return mlmd.MetadataStore(config)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """An ml-metadata SQLite store holding RUNS runs of the 7-stage pipeline, built by ml-metadata."""
    path = tmp_path_factory.mktemp("mlmd") / "metadata.sqlite"
    build_history(mlmd_client(path, create=True), RUNS)
    return path


def readers(store: MetadataStore, path: Path) -> tuple[MlmdReader, GraphmdReader]:
    source = sqlite_source(path)
    return MlmdReader(open_store(source), source.name, page_size=97), GraphmdReader(store, page_size=89)


def graph(store: MetadataStore) -> dict:
    """The graph as stored, but for what an import does not keep: event ids (MLMD does not show
    them) and the GraphmdMeta node (it records the import's source)."""
    picture = snapshot(store)
    drop_meta = [n for n in picture["nodes"] if '"GraphmdMeta"' not in n]
    rels = []
    for text in picture["relationships"]:
        rel = json.loads(text)
        if rel["type"] == "EVENT":
            rel["props"].pop("id")
        rels.append(json.dumps(rel, sort_keys=True))
    return {"nodes": drop_meta, "relationships": sorted(rels)}


def test_import_copies_every_type_node_and_edge_as_it_is(store: MetadataStore, history: Path) -> None:
    phases: dict[str, tuple[int, int | None]] = {}
    result = import_mlmd(store, sqlite_source(history), batch_size=128,
                         progress=lambda phase, done, total: phases.__setitem__(phase, (done, total)))
    assert_same(mlmd_everything(mlmd_client(history)), graphmd_everything(store))

    counts = store.counts()
    assert result.read == result.written == counts
    assert counts["executions"] == 7 * RUNS and counts["artifacts"] == 9 * RUNS
    assert counts["contexts"] == RUNS + 3 and RUNS * NODES_PER_RUN <= sum(counts[k] for k in ("artifacts", "executions", "contexts"))
    assert phases["artifacts"] == (9 * RUNS, 9 * RUNS) and phases["parents"] == (RUNS + 3, RUNS + 3)
    # The history holds every property kind, event type, path shape and state, and they came through.
    artifacts, executions, contexts = store.get_artifacts(), store.get_executions(), store.get_contexts()
    values = [v for n in (*artifacts, *executions, *contexts) for v in (*n.properties.values(), *n.custom_properties.values())]
    assert {type(v) for v in values} == {int, float, str, bool, dict, ProtoValue}
    assert {type(v) for c in contexts for v in c.properties.values()} == {int, float, str, bool, dict, ProtoValue}
    events = store.get_events_by_execution_ids([x.id for x in executions])
    assert {e.type for e in events} == set(EventType)
    paths = {tuple(type(step).__name__ for step in e.path) for e in events}
    assert {(), ("int",), ("str",), ("str", "int"), ("str", "int", "str", "int"), ("str", "int", "str")} <= paths
    assert {a.state for a in artifacts} == set(ArtifactState)
    assert {x.last_known_state for x in executions} == set(ExecutionState)
    assert any(a.name is None for a in artifacts) and any(a.external_id for a in artifacts)
    # MLMD's system types kept MLMD's ids, and new ids never reuse an imported one.
    assert store.get_artifact_type("mlmd.Dataset").id == mlmd_client(history).get_artifact_type("mlmd.Dataset").id
    [new] = store.put_artifacts([Artifact(type_id=store.get_artifact_type("Schema").id, uri="/new")])
    assert new > max(a.id for a in artifacts)
    [context_type] = store.put_types(context_types=[ContextType(name="Fresh")])[2]
    assert context_type > max(t.id for t in store.get_artifact_types(include_system_types=True)
                              + store.get_execution_types(include_system_types=True))


def test_the_comparisons_find_equal_stores_equal_and_name_each_difference(store: MetadataStore, history: Path) -> None:
    result = import_mlmd(store, sqlite_source(history))
    mlmd_side, graphmd_side = readers(store, history)
    full = compare_all(mlmd_side, graphmd_side, store.counts())
    assert full.equal and full.mlmd_counts == result.read == full.graphmd_counts
    assert full.compared["artifact"] == 9 * RUNS and full.compared["event"] == result.read["events"]
    assert not full._seen and not full._valued  # a full comparison keeps no per-item sets: flat memory
    sample = compare_sample(mlmd_side, graphmd_side, result.read, store.counts(), sample=10)
    assert sample.equal and sample.compared["execution"] >= 10 and sample.compared["event"] > 10

    # One changed property, one missing event, one extra parent link: each is named.
    store.driver.execute_query("MATCH (a:Artifact {id: 1}) SET a.c_tfx_version = 'x'", database_=store.database)
    store.driver.execute_query("MATCH (:Execution {id: 1})-[e:EVENT]->(:Artifact {id: 1}) DELETE e",
                               database_=store.database)
    contexts = store.get_contexts()
    store.put_parent_contexts([ParentContext(child_id=contexts[-1].id, parent_id=contexts[0].id)])
    full = compare_all(mlmd_side, graphmd_side, store.counts())
    assert not full.equal and full.difference_count == 5, full.differences
    text = "\n".join(full.differences)
    assert "artifact 1: custom_properties['tfx_version']: ml-metadata 'string_value: \"1.14.0\"'" in text
    assert "event (1, 1, 4): only in ml-metadata" in text  # 4: OUTPUT
    assert f"parent_context ({contexts[-1].id}, {contexts[0].id}): only in graphmd" in text
    assert "count of events: 2698 in ml-metadata, 2697 in graphmd" in text and "count of parent_contexts" in text
    sample = compare_sample(mlmd_side, graphmd_side, result.read, store.counts(), sample=1)  # execution 1
    assert not sample.equal and any("artifact 1:" in d for d in sample.differences)
    # Without the event, artifact 1 is outside graphmd's subgraph around execution 1, but it is
    # in both stores: the sample says where it is missing, not that the store lacks it.
    assert "event (1, 1, 4): only in ml-metadata's lineage around execution 1" in sample.differences
    assert not any(d.endswith(": only in ml-metadata") for d in sample.differences), sample.differences
    # Overlapping subgraphs: each item is counted once, each difference said once.
    wide = compare_sample(mlmd_side, graphmd_side, result.read, store.counts(), sample=40)
    assert wide.compared["artifact"] <= full.compared["artifact"]
    assert wide.compared["event"] <= full.compared["event"]
    assert len(wide.differences) == len(set(wide.differences)) == wide.difference_count


@pytest.mark.parametrize("phase", ["contexts", "artifacts", "executions", "parents"])
def test_an_interrupted_import_resumes_without_duplicates(store: MetadataStore, history: Path, phase: str) -> None:
    def interrupt(at: str, done: int, total: int | None) -> None:
        if at == phase and 0 < done < (total or 0):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_mlmd(store, sqlite_source(history), batch_size=50, progress=interrupt)
    partial = store.counts()
    with pytest.raises(FailedPreconditionError):  # another source cannot take over the half-done store
        import_mlmd(store, sqlite_source(shutil.copy(history, history.with_name("other.sqlite"))))

    result = import_mlmd(store, sqlite_source(history), batch_size=50)
    assert result.read == store.counts() != partial
    assert all(result.written[k] == result.read[k] - partial[k] for k in result.read)
    assert_same(mlmd_everything(mlmd_client(history)), graphmd_everything(store))
    again = import_mlmd(store, sqlite_source(history))  # a finished import: rerunning writes nothing
    assert again.read == result.read and not any(again.written.values())


def test_refuses_a_store_with_other_data_and_leaves_it_unchanged(store: MetadataStore, history: Path) -> None:
    store.put_artifact_type(ArtifactType(name="Mine"))
    before = snapshot(store)
    with pytest.raises(FailedPreconditionError) as info:
        import_mlmd(store, sqlite_source(history))
    assert info.value.field == "store" and "empty" in info.value.message
    assert snapshot(store) == before
    with pytest.raises(NotFoundError) as missing:
        import_mlmd(store, parse_source(str(history) + ".missing"))
    assert missing.value.field == "source"
    with pytest.raises(InvalidArgumentError) as bad:
        parse_source("mysql://nobody@/db")
    assert bad.value.field == "source"



def test_an_event_to_an_artifact_the_source_lacks_is_named_and_the_import_resumes_once_it_is_gone(
        store: MetadataStore, history: Path, tmp_path: Path) -> None:
    # ml-metadata's SQLite backend stores an event whose artifact does not exist (a
    # put_execution naming artifact_id 404 succeeds); graphmd's events are edges.
    source = Path(shutil.copy(history, tmp_path / "dangling.sqlite"))
    with sqlite3.connect(source) as db:
        execution_id = db.execute("SELECT MIN(id) FROM Execution").fetchone()[0]
        db.execute("INSERT INTO Event (artifact_id, execution_id, type, milliseconds_since_epoch) "
                   "VALUES (404404, ?, 3, 1)", (execution_id,))
    with pytest.raises(InvalidArgumentError) as info:
        import_mlmd(store, sqlite_source(source))
    assert info.value.field == f"events[execution_id={execution_id}].artifact_id"
    assert "404404" in info.value.message and "DELETE FROM Event WHERE artifact_id = 404404" in info.value.message
    with sqlite3.connect(source) as db:
        db.execute("DELETE FROM Event WHERE artifact_id = 404404")
    result = import_mlmd(store, sqlite_source(source))
    assert result.read["events"] == store.counts()["events"] > 0


@pytest.mark.parametrize("late", ["attribution", "event"])
def test_a_source_written_during_the_import_is_said_to_have_changed_and_the_import_resumes(
        store: MetadataStore, history: Path, tmp_path: Path, late: str) -> None:
    """A pipeline writing to the source while it is imported: a link to a context, or an event
    to an artifact, newer than those copied stopped the import with "32 attribution rows name a
    node that is not in the store", or called a live artifact one the source lacks."""
    source = Path(shutil.copy(history, tmp_path / "live.sqlite"))
    writer = mlmd_client(source, create=True)
    [old] = writer.get_artifacts(list_options=mlmd.ListOptions(limit=1))
    [step] = writer.get_executions(list_options=mlmd.ListOptions(limit=1))
    wrote: list[int] = []

    def write_meanwhile(phase: str, done: int, total: int | None) -> None:
        if phase == ("contexts" if late == "attribution" else "artifacts") and done == total and not wrote:
            if late == "attribution":
                [context] = writer.put_contexts([pb.Context(type_id=writer.get_context_types()[0].id, name="late")])
                writer.put_attributions_and_associations([pb.Attribution(context_id=context, artifact_id=old.id)], [])
                wrote.append(context)
            else:
                [new] = writer.put_artifacts([pb.Artifact(type_id=old.type_id, uri="/late")])
                writer.put_events([pb.Event(artifact_id=new, execution_id=step.id, type=pb.Event.OUTPUT)])
                wrote.append(new)

    with pytest.raises(FailedPreconditionError) as info:
        import_mlmd(store, sqlite_source(source), progress=write_meanwhile)
    assert wrote and info.value.field == "source"
    assert "changed during the import" in info.value.message and "run the same import again" in info.value.message
    assert (f"artifact {wrote[0]}, newer than the artifacts it had copied" if late == "event"
            else "1 attribution rows name a context newer than those it had copied") in info.value.message, info.value.message
    result = import_mlmd(store, sqlite_source(source))  # the writer done: it resumes and finishes
    assert_same(mlmd_everything(mlmd_client(source)), graphmd_everything(store))
    assert result.read == store.counts()


def test_a_source_ml_metadata_cannot_read_itself_is_named_not_a_traceback(store: MetadataStore,
                                                                          tmp_path: Path) -> None:
    # ml-metadata stores a STRING starting "mlmd-struct::" as written and reads it back as a
    # STRUCT: its own client then fails with a UnicodeDecodeError.
    path = tmp_path / "odd.sqlite"
    writer = mlmd_client(path, create=True)
    type_id = writer.put_artifact_type(pb.ArtifactType(name="T"))
    odd = pb.Artifact(type_id=type_id)
    odd.custom_properties["f"].string_value = "mlmd-struct::abc"
    writer.put_artifacts([odd])
    before = snapshot(store)
    with pytest.raises(FailedPreconditionError) as info:
        import_mlmd(store, sqlite_source(path))
    assert info.value.field == "source" and "cannot read what its store holds" in info.value.message
    assert snapshot(store) == before  # nothing written, no import recorded as begun
    assert "mlmd-struct::" in info.value.message


@pytest.mark.parametrize("size", [5_012, 9_000])
def test_a_uri_longer_than_graphmd_indexes_is_named_and_the_import_resumes_once_it_is_short(
        store: MetadataStore, history: Path, tmp_path: Path, size: int) -> None:
    # ml-metadata keeps a uri of any length. Before: 5,012 bytes imported, and every later
    # put_artifacts of that artifact was refused; 9,000 stopped on Neo4j's own index error.
    source = Path(shutil.copy(history, tmp_path / "long.sqlite"))
    with sqlite3.connect(source) as db:
        artifact_id = db.execute("SELECT MAX(id) FROM Artifact").fetchone()[0]
        db.execute("UPDATE Artifact SET uri = ? WHERE id = ?", ("/" + "u" * (size - 1), artifact_id))
    with pytest.raises(InvalidArgumentError) as info:
        import_mlmd(store, sqlite_source(source))
    assert info.value.field == f"artifacts[id={artifact_id}].uri"
    assert info.value.message.startswith(f"artifacts[id={artifact_id}].uri: {size} bytes of UTF-8; at most 4000")
    assert "run the same import again" in info.value.message
    with sqlite3.connect(source) as db:
        db.execute("UPDATE Artifact SET uri = '/short' WHERE id = ?", (artifact_id,))
    result = import_mlmd(store, sqlite_source(source))
    assert result.read["artifacts"] == store.counts()["artifacts"]
    [artifact] = store.get_artifacts_by_id([artifact_id])
    store.put_artifacts([artifact.model_copy(update={"state": ArtifactState.DELETED})])  # updatable


def test_round_trip_mlmd_graphmd_mlmd_graphmd_unchanged(store: MetadataStore, history: Path, tmp_path: Path) -> None:
    import_mlmd(store, sqlite_source(history))
    first = graph(store)
    exported = tmp_path / "exported.sqlite"
    result = export_mlmd(store, exported, batch_size=64)
    assert result.written == store.counts()
    # ml-metadata -> graphmd -> ml-metadata: the same store, as ml-metadata answers it.
    assert_same(mlmd_everything(mlmd_client(history)), mlmd_everything(mlmd_client(exported)))
    mlmd_side, graphmd_side = readers(store, exported)
    assert compare_all(mlmd_side, graphmd_side, store.counts()).equal
    # ... -> graphmd again: the same graph, node by node, edge by edge, property by property.
    store.delete_everything()  # which also forgets the first import
    assert store.driver.execute_query("MATCH (m:GraphmdMeta) RETURN m.mlmd_import_source AS source",
                                      database_=store.database).records[0]["source"] is None
    import_mlmd(store, sqlite_source(exported))
    assert graph(store) == first


def native_store(store: MetadataStore) -> None:
    """A store written through graphmd itself, after a wipe: its system types' ids are not MLMD's."""
    P = PropertyType
    store.delete_everything()
    data_t = store.put_artifact_type(ArtifactType(name="Data", version="v2", description="d", external_id="t-data",
                                                  base_type="DATASET", properties={
                                                      "i": P.INT, "f": P.DOUBLE, "s": P.STRING, "b": P.BOOLEAN,
                                                      "st": P.STRUCT, "pb": P.PROTO}))
    step_t = store.put_execution_type(ExecutionType(name="Step", base_type="TRAIN", properties={"lr": P.DOUBLE},
                                                    input_type={"any": {}}, output_type={"none": {}}))
    run_t = store.put_context_type(ContextType(name="Run", properties={"note": P.STRING}))
    dataset_t = store.get_artifact_type("mlmd.Dataset").id
    [root] = store.put_contexts([Context(type_id=run_t, name="root", properties={"note": "üñí"})])
    for i in range(5):
        result = store.put_execution(
            Execution(type_id=step_t, name=f"step-{i}", last_known_state=ExecutionState.COMPLETE,
                      properties={"lr": 0.25 * i}, custom_properties={"big": 2**63 - 1, "neg": -1.5, "t": True}),
            [ArtifactAndEvent(artifact=Artifact(type_id=data_t, uri=f"/d/{i}", name=f"d{i}", external_id=f"x-{i}",
                                                properties={"i": i, "f": 1.0, "s": "", "b": False,
                                                            "st": {"k": [1.0, 2.5, None, "v"]},
                                                            "pb": ProtoValue(type_url="u", value=bytes([i, 0]))}),
                              event=Event(type=EventType.OUTPUT, path=["out", i], milliseconds_since_epoch=1000 + i)),
             ArtifactAndEvent(artifact=Artifact(type_id=dataset_t, uri=f"/raw/{i}"),
                              event=Event(type=EventType.INPUT))],
            [Context(type_id=run_t, name=f"run-{i}")])
        store.put_parent_contexts([ParentContext(child_id=result.context_ids[0], parent_id=root)])


def test_a_graphmd_store_goes_to_mlmd_and_back_unchanged(store: MetadataStore, tmp_path: Path) -> None:
    native_store(store)
    assert store.get_artifact_type("mlmd.Dataset").id != 1  # MLMD's new store has it at 1
    first = graph(store)
    exported = tmp_path / "native.sqlite"
    export_mlmd(store, exported)
    assert_same(mlmd_everything(mlmd_client(exported)), graphmd_everything(store))  # every id kept
    store.delete_everything()
    import_mlmd(store, sqlite_source(exported))
    assert graph(store) == first


def test_export_counts_the_doubles_mlmd_rounds_and_verifies_them_as_stored(store: MetadataStore,
                                                                          tmp_path: Path) -> None:
    native_store(store)
    type_id = store.get_artifact_type("Data", "v2").id
    [odd] = store.put_artifacts([Artifact(type_id=type_id, properties={"f": 0.1 + 0.2},
                                          custom_properties={"tiny": 1e-7, "minus_zero": -0.0, "fine": 0.5})])
    target = tmp_path / "rounded.sqlite"
    result = export_mlmd(store, target)
    # -0.0 is stored as 0.0 by graphmd too, so ml-metadata rounds only the other two.
    assert store.get_artifacts_by_id([odd])[0].custom_properties["minus_zero"] == 0.0
    assert result.rounded == 2
    assert result.rounded_examples == [f"artifacts[id={odd}].properties['f'].double_value",
                                       f"artifacts[id={odd}].custom_properties['tiny'].double_value"]
    [stored] = mlmd_client(target).get_artifacts_by_id([odd])
    assert stored.properties["f"].double_value == 0.3 and stored.custom_properties["tiny"].double_value == 0.0
    mlmd_side, graphmd_side = readers(store, target)
    strict = compare_all(mlmd_side, graphmd_side, store.counts())
    assert strict.difference_count == 1 and "0.30000000000000004" in strict.differences[0]
    assert compare_all(mlmd_side, graphmd_side, store.counts(), as_stored=True).equal


def test_stored_double_is_what_mlmd_gives_back() -> None:
    """Six decimals on the way in, 15 significant digits on the way out of SQLite (with its
    own rounding of ties), and the largest doubles become infinite: the prediction is
    ml-metadata's own round trip on values that tell the rules apart."""
    from graphmd.mlmd._reading import mlmd_doubles, sqlite_doubles, stored_double

    values = [0.1 + 0.2, 1e-7, 123456789012.12346, 871397999939106.5, -859629964234342.5, 49381082298784.75,
              4693375328629315.0, -8.399515404794745e255, 1.2345678901234567e250, 1.7976931348623157e308,
              -1.7976931348623157e308, 2.0**53 + 2, 1e22 / 7, 5e-324, 0.5, -2.5e-6, 12345.6789]
    mlmd_side = mlmd_doubles()
    for value in values:
        assert stored_double(value) == mlmd_side(value), value
        assert sqlite_doubles()(value) == mlmd_side(value), value  # this machine's sqlite3 agrees
    assert stored_double(123456789012.12346) == 123456789012.123
    assert stored_double(1.7976931348623157e308) == math.inf
    assert math.isnan(stored_double(math.nan))  # refused before it is stored; left as it is


def test_export_refuses_a_double_mlmd_would_make_infinite_and_counts_the_ones_it_rounds(
        store: MetadataStore, tmp_path: Path) -> None:
    native_store(store)
    type_id = store.get_artifact_type("Data", "v2").id
    [big] = store.put_artifacts([Artifact(type_id=type_id, custom_properties={"m": 1.7976931348623157e308})])
    target = tmp_path / "big.sqlite"
    with pytest.raises(InvalidArgumentError) as info:
        export_mlmd(store, target)
    assert info.value.field == f"artifacts[id={big}].custom_properties['m'].double_value"
    assert "as inf" in info.value.message
    assert list(tmp_path.iterdir()) == []
    store.put_artifacts([Artifact(id=big, type_id=type_id, custom_properties={"m": 123456789012.12346,
                                                                              "tie": 871397999939106.5})])
    result = export_mlmd(store, target)
    assert result.rounded == 2  # 15 significant digits: not six decimals' business
    [stored] = mlmd_client(target).get_artifacts_by_id([big])
    assert stored.custom_properties["m"].double_value == 123456789012.123
    mlmd_side, graphmd_side = readers(store, target)
    assert compare_all(mlmd_side, graphmd_side, store.counts(), as_stored=True).equal


def test_export_refuses_a_proto_value_without_type_url(store: MetadataStore, tmp_path: Path) -> None:
    """One stored before type_urls were required: ml-metadata would store it, then fail
    every read of the artifact."""
    native_store(store)
    type_id = store.get_artifact_type("Data", "v2").id
    [odd] = store.put_artifacts([Artifact(type_id=type_id, custom_properties={
        "p": ProtoValue(type_url="type.googleapis.com/x.Y", value=b"\x01")})])
    store._write(lambda tx: tx.run("MATCH (a:Artifact {id: $id}) SET a.cp_p = $text", id=odd,
                                   text='{"type_url": "", "value": "AQ=="}').consume())
    assert store.get_artifacts_by_id([odd])[0].custom_properties["p"].type_url == ""  # still reads
    with pytest.raises(InvalidArgumentError) as info:
        export_mlmd(store, tmp_path / "p.sqlite")
    assert info.value.field == f"artifacts[id={odd}].custom_properties['p'].proto_value"
    assert list(tmp_path.iterdir()) == []


def test_an_export_of_a_store_written_meanwhile_leaves_out_what_refers_past_it(store: MetadataStore,
                                                                              tmp_path: Path) -> None:
    """Written to while export-mlmd ran, a store failed its export after a minute with
    ml-metadata's "Context id not found" (an artifact attributed to a context newer than the
    contexts written). What refers past the file is left out and counted, as `graphmd export`
    does, and the file opens as a whole ml-metadata store."""
    from graphmd import Attribution

    native_store(store)
    data = store.get_artifact_type("Data", "v2").id
    run = store.get_context_types()[0].id
    [old] = store.put_artifacts([Artifact(type_id=data, uri="/old")])
    wrote: list[int] = []

    def write_meanwhile(phase: str, done: int, total: int) -> None:
        if phase == "contexts" and done == total and not wrote:  # the contexts are in the file
            [context] = store.put_contexts([Context(type_id=run, name="late")])
            [new] = store.put_artifacts([Artifact(type_id=data, uri="/new")])
            store.put_attributions_and_associations([Attribution(context_id=context, artifact_id=new),
                                                     Attribution(context_id=context, artifact_id=old)])
            late_type = store.put_artifact_type(ArtifactType(name="Late"))
            wrote.extend(store.put_artifacts([Artifact(type_id=late_type, uri="/late-type")]))

    target = tmp_path / "live.sqlite"
    result = export_mlmd(store, target, progress=write_meanwhile)
    assert wrote
    assert (result.left_out["attributions"], result.left_out["artifacts"]) == (2, 1), result.left_out
    exported = open_store(sqlite_source(target))
    uris = {a.uri for a in exported.get_artifacts()}
    assert "/new" in uris and "/old" in uris and "/late-type" not in uris
    assert "late" not in {c.name for c in exported.get_contexts()}


def test_export_refuses_a_string_mlmd_would_read_as_a_struct(store: MetadataStore, tmp_path: Path) -> None:
    """ml-metadata keeps a STRUCT as a string starting "mlmd-struct::", and reads any such
    string back as one: exported, the STRING would change kind, or fail every read."""
    native_store(store)
    type_id = store.get_artifact_type("Data", "v2").id
    [odd] = store.put_artifacts([Artifact(type_id=type_id, custom_properties={"s": "mlmd-struct::"})])
    with pytest.raises(InvalidArgumentError) as info:
        export_mlmd(store, tmp_path / "s.sqlite")
    assert info.value.field == f"artifacts[id={odd}].custom_properties['s'].string_value"
    assert "as a STRUCT" in info.value.message
    assert list(tmp_path.iterdir()) == []
    store.put_artifacts([Artifact(id=odd, type_id=type_id, custom_properties={"s": "a mlmd-struct:: inside"})])
    export_mlmd(store, tmp_path / "s.sqlite")  # only a leading prefix is read so


def test_a_nan_inside_a_struct_compares_equal(store: MetadataStore, tmp_path: Path) -> None:
    """ml-metadata keeps it; NaN is unequal to itself, and the comparison reported a blank
    difference, failing `--verify` of a faithful copy."""
    native_store(store)
    type_id = store.get_artifact_type("Data", "v2").id
    store.put_artifacts([Artifact(type_id=type_id, custom_properties={"s": {"n": math.nan, "x": [1.5]}})])
    target = tmp_path / "nan.sqlite"
    export_mlmd(store, target)
    mlmd_side, graphmd_side = readers(store, target)
    comparison = compare_all(mlmd_side, graphmd_side, store.counts(), as_stored=True)
    assert comparison.equal, comparison.differences
    store.delete_everything()
    import_mlmd(store, sqlite_source(target))
    mlmd_side, graphmd_side = readers(store, target)
    assert compare_all(mlmd_side, graphmd_side, store.counts()).equal


def test_export_refuses_what_mlmd_cannot_hold_and_writes_nothing(store: MetadataStore, tmp_path: Path) -> None:
    populate(store, n=1)  # NaN and infinite doubles, NUL in strings, system_metadata
    target = tmp_path / "lossy.sqlite"
    with pytest.raises(InvalidArgumentError) as info:
        export_mlmd(store, target)
    assert info.value.field.startswith(("contexts[id=", "artifacts[id=", "executions[id="))
    assert "ml-metadata" in info.value.message
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_a_target_holding_data(store: MetadataStore, history: Path, tmp_path: Path) -> None:
    native_store(store)
    target = Path(shutil.copy(history, tmp_path / "full.sqlite"))
    before = target.read_bytes()
    with pytest.raises(FailedPreconditionError) as info:
        export_mlmd(store, target)
    assert info.value.field == "target" and target.read_bytes() == before
    empty = tmp_path / "empty.sqlite"
    mlmd_client(empty, create=True)  # an empty ml-metadata store is a fine target
    export_mlmd(store, empty)
    assert_same(mlmd_everything(mlmd_client(empty)), graphmd_everything(store))


def cli_env(neo4j_server: Settings, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "GRAPHMD_NEO4J_URI": neo4j_server.uri, "GRAPHMD_NEO4J_USER": neo4j_server.user,
           "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or "", "GRAPHMD_CONFIG": str(tmp_path / "none.toml"),
           "COLUMNS": "120"}
    if neo4j_server.database:
        env["GRAPHMD_NEO4J_DATABASE"] = neo4j_server.database
    return env


GRAPHMD = [sys.executable, "-m", "graphmd.cli"]


def test_cli_imports_with_progress_counts_and_verification(store: MetadataStore, history: Path,
                                                           neo4j_server: Settings, tmp_path: Path) -> None:
    env = cli_env(neo4j_server, tmp_path)
    done = subprocess.run([*GRAPHMD, "import-mlmd", str(history)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    # stderr is no terminal: no progress bar (tests/test_cli_transfer.py draws them on one).
    assert not any(phase in done.stderr for phase in ("types ━", "contexts ━", "artifacts ━", "parents ━"))
    assert "━━━ " not in done.stderr.split("counts", 1)[0], done.stderr
    assert f"{9 * RUNS:,}" in done.stderr and "ml-metadata" in done.stderr
    assert "equal" in done.stderr and "sample of lineage subgraphs" in done.stderr
    # Piped, the counts are a line a row without borders (cli.md), so grep finds a kind's counts.
    [artifacts] = [line for line in done.stderr.splitlines() if line.startswith("artifacts ")]
    assert artifacts.split() == ["artifacts", f"{9 * RUNS:,}", f"{9 * RUNS:,}", f"{9 * RUNS:,}"], done.stderr
    assert not any(c in done.stderr for c in "│┃┏┗"), done.stderr
    # --verify compares everything; a difference fails loudly.
    store.driver.execute_query("MATCH (a:Artifact {id: 2}) SET a.uri = '/changed'", database_=store.database)
    verified = subprocess.run([*GRAPHMD, "import-mlmd", str(history), "--verify", "-q"], env=env,
                              capture_output=True, text=True, timeout=600)
    assert verified.returncode == 1
    assert "verification failed" in verified.stderr and "artifact 2: uri" in verified.stderr
    assert "/changed" in verified.stderr
    # So does the sampled comparison, when its sample holds the difference (execution 1 wrote artifact 1).
    original = store.get_artifacts_by_id([1])[0].uri
    store.driver.execute_query("MATCH (a:Artifact {id: 1}) SET a.uri = '/changed-too'", database_=store.database)
    sampled = subprocess.run([*GRAPHMD, "import-mlmd", str(history), "--sample", "1", "-q"], env=env,
                             capture_output=True, text=True, timeout=600)
    assert sampled.returncode == 1, sampled.stderr
    assert "the stores differ" in sampled.stderr and "artifact 1: uri" in sampled.stderr
    store.driver.execute_query("MATCH (a:Artifact {id: 1}) SET a.uri = $uri", database_=store.database, uri=original)

    exported = tmp_path / "out.sqlite"
    store.driver.execute_query("MATCH (a:Artifact {id: 2}) SET a.uri = $uri", database_=store.database,
                               uri=mlmd_client(history).get_artifacts_by_id([2])[0].uri)
    done = subprocess.run([*GRAPHMD, "export-mlmd", str(exported), "--verify"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "node by node and edge by edge" in done.stderr and "equal" in done.stderr
    refused = subprocess.run([*GRAPHMD, "export-mlmd", str(exported), "-q"], env=env, capture_output=True,
                             text=True, timeout=600)
    assert refused.returncode == 1 and "already holds" in refused.stderr
    missing = subprocess.run([*GRAPHMD, "import-mlmd", str(tmp_path / "nope.sqlite")], env=env,
                             capture_output=True, text=True, timeout=600)
    assert missing.returncode == 1 and "no ml-metadata SQLite file" in missing.stderr
    # An ml-metadata store that cannot be opened is not a Neo4j problem: no hint about Neo4j.
    unopenable = subprocess.run([*GRAPHMD, "export-mlmd", str(tmp_path / "no-such-dir" / "x.sqlite"), "-q"], env=env,
                                capture_output=True, text=True, timeout=600)
    assert unopenable.returncode == 1 and "no-such-dir does not exist" in unopenable.stderr, unopenable.stderr
    assert "neo4j" not in unopenable.stderr.lower()


def test_cli_import_killed_mid_way_finishes_when_run_again(store: MetadataStore, history: Path,
                                                            neo4j_server: Settings, tmp_path: Path) -> None:
    env = cli_env(neo4j_server, tmp_path)
    running = subprocess.Popen([*GRAPHMD, "import-mlmd", str(history), "--batch-size", "20", "-q"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while store.counts()["artifacts"] < 100 and running.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running.poll() is None, "the import ended before it could be killed"
        running.send_signal(signal.SIGKILL)
    finally:
        running.wait(timeout=60)
    partial = store.counts()
    assert 100 <= partial["artifacts"] < 9 * RUNS or partial["executions"] < 7 * RUNS
    done = subprocess.run([*GRAPHMD, "import-mlmd", str(history), "--verify", "-q"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "equal" in done.stderr
    assert_same(mlmd_everything(mlmd_client(history)), graphmd_everything(store))


@pytest.mark.parametrize("content, said", [(b"", "is empty"), (b"{\"foo\": 1}\n", "is not a SQLite database")])
def test_a_source_that_is_no_sqlite_store_is_named_and_no_resume_is_promised(
        store: MetadataStore, neo4j_server: Settings, tmp_path: Path, content: bytes, said: str) -> None:
    """A JSON file or an empty .sqlite printed ml-metadata's raw CREATE TABLE error and
    "run it again: the import resumes where it stopped", for an import that never began."""
    source = tmp_path / "store.sqlite"
    source.write_bytes(content)
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError) as info:
        parse_source(str(source))
    assert info.value.field == "source" and said in info.value.message
    assert source.read_bytes() == content
    done = subprocess.run([*GRAPHMD, "import-mlmd", str(source)], env=cli_env(neo4j_server, tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and f"{source} {said}, so it holds no ml-metadata store" in done.stderr
    assert "resumes" not in done.stderr and "CREATE TABLE" not in done.stderr
    assert snapshot(store) == before


def test_a_store_holding_other_data_is_refused_with_the_cli_s_way_to_empty_it(
        store: MetadataStore, history: Path) -> None:
    store.put_artifact_type(ArtifactType(name="Mine"))
    with pytest.raises(FailedPreconditionError) as info:
        import_mlmd(store, sqlite_source(history))
    assert info.value.field == "store" and "`graphmd reset --yes` with the same connection options" in info.value.message


def test_sample_0_says_only_counts_and_types_were_compared(store: MetadataStore, history: Path,
                                                           neo4j_server: Settings, tmp_path: Path) -> None:
    """With --sample 0 no lineage subgraph is compared; the line said "types, nodes and edges
    compared in a sample of lineage subgraphs"."""
    done = subprocess.run([*GRAPHMD, "import-mlmd", str(history), "--sample", "0"], env=cli_env(neo4j_server, tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "types compared with the counts (--sample 0: no lineage subgraph compared)" in done.stderr
    assert "nodes and edges" not in done.stderr


def test_ctrl_c_while_comparing_says_the_copy_is_complete(store: MetadataStore, history: Path, cli,
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ctrl-C after the copy, while import-mlmd or export-mlmd compares it with its source,
    exited 130 saying nothing of what was skipped; the copy itself is whole."""
    from graphmd.cli import mlmd_commands

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mlmd_commands, "_compare", interrupted)
    said = cli("import-mlmd", str(history), code=130)
    assert ("interrupted while comparing: the import is complete; the counts and the sample comparison were "
            "skipped") in " ".join(said.split()), said
    assert_same(mlmd_everything(mlmd_client(history)), graphmd_everything(store))
    target = tmp_path / "back.sqlite"
    said = cli("export-mlmd", str(target), code=130)
    assert "is complete; the counts and the sample comparison were skipped" in " ".join(said.split()), said
    assert_same(mlmd_everything(mlmd_client(target)), graphmd_everything(store))
