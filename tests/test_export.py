"""`graphmd export` / `graphmd import`: the whole store as JSON lines, restored identically."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _sample import populate
from _snapshot import snapshot
from graphmd import (Artifact, ArtifactType, FailedPreconditionError, InvalidArgumentError, ListOptions, MetadataStore,
                     PropertyType, export_store, import_store)
from graphmd._config import Settings
from graphmd._export import unfinished_import
import graphmd._schema
from graphmd._schema import SCHEMA_VERSION


def export_text(store: MetadataStore) -> str:
    out = io.StringIO()
    export_store(store, out)
    return out.getvalue()


def cli_env(server: Settings, tmp_path: Path) -> dict[str, str]:
    """The environment that points the graphmd command at the test server, and nowhere else."""
    env = {**os.environ, "GRAPHMD_NEO4J_URI": server.uri, "GRAPHMD_NEO4J_USER": server.user,
           "GRAPHMD_NEO4J_PASSWORD": server.password or "", "GRAPHMD_CONFIG": str(tmp_path / "none.toml")}
    if server.database:
        env["GRAPHMD_NEO4J_DATABASE"] = server.database
    return env


def test_export_then_import_restores_the_store_identically(store: MetadataStore) -> None:
    populate(store)
    before_graph = snapshot(store)
    before = export_text(store)
    lines = before.splitlines(keepends=True)
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    assert header["graphmd_export"] == 1 and header["schema_version"] == store.schema_version
    assert end["end"]["counts"] == store.counts() == header["counts"]
    assert any('"$float":"nan"' in line for line in lines)

    store.delete_everything()
    assert snapshot(store) != before_graph
    seen: list[tuple[int, int]] = []
    counts = import_store(store, io.StringIO(before), progress=lambda done, total: seen.append((done, total)),
                          batch_size=3)
    assert counts == end["end"]["counts"]
    assert seen and seen[-1][0] == seen[-1][1] == sum(counts.values())
    assert snapshot(store) == before_graph  # every node, edge and property, ids and times included
    assert export_text(store) == before
    # Reads through the store see the restored values with their kinds.
    [x] = store.get_executions_by_id([store.get_execution_by_type_and_name("Step", "step-1").id])
    assert x.custom_properties["nul"] == "a\x00b" and x.custom_properties["nan"] != x.custom_properties["nan"]
    assert type(x.custom_properties["one"]) is float and type(x.custom_properties["int"]) is int


def test_import_moves_id_counters_past_the_imported_ids(store: MetadataStore) -> None:
    populate(store, n=2)
    text = export_text(store)
    max_artifact = max(a.id for a in store.get_artifacts())
    store.delete_everything()
    store.driver.execute_query("MATCH (c:IdCounter) DELETE c", database_=store.database)
    store._reset_caches()
    import_store(store, io.StringIO(text))
    type_id = store.get_artifact_type("Data", "v2").id
    [new] = store.put_artifacts([Artifact(type_id=type_id, uri="/new")])
    assert new > max_artifact
    counters = {r["kind"]: r["next"] for r in store.driver.execute_query(
        "MATCH (c:IdCounter) RETURN c.kind AS kind, c.next AS next", database_=store.database).records}
    exported = [json.loads(line) for line in text.splitlines()]
    max_event = max(r["event"]["id"] for r in exported if "event" in r)
    assert counters["Event"] > max_event and counters["Type"] > max(r["type"]["id"] for r in exported if "type" in r)


def test_an_export_of_schema_version_1_is_migrated_on_import(store: MetadataStore) -> None:
    """An export the first graphmd releases wrote (version 1) holds STRUCT values with their
    keys in the caller's order; the import stores them sorted, as graphmd writes them now."""
    model_t = store.put_artifact_type(ArtifactType(name="Model", properties={"config": PropertyType.STRUCT}))
    [model] = store.put_artifacts([Artifact(type_id=model_t, uri="/m", properties={"config": {"b": 1, "a": [2]}},
                                            custom_properties={"meta": {"z": {"y": 1, "x": 2}, "w": None}})])
    before = snapshot(store)
    lines = export_text(store).splitlines(keepends=True)
    old = [lines[0].replace(f'"schema_version":{SCHEMA_VERSION}', '"schema_version":1')]
    for line in lines[1:]:  # the text the first releases stored for the same values
        old.append(line.replace(json.dumps(json.dumps({"a": [2], "b": 1}))[1:-1],
                                json.dumps(json.dumps({"b": 1, "a": [2]}))[1:-1])
                   .replace(json.dumps(json.dumps({"w": None, "z": {"x": 2, "y": 1}}))[1:-1],
                            json.dumps(json.dumps({"z": {"y": 1, "x": 2}, "w": None}))[1:-1]))
    assert sum(a != b for a, b in zip(old[1:], lines[1:])) == 1  # the artifact's line
    store.delete_everything()
    import_store(store, io.StringIO("".join(old)))
    assert snapshot(store) == before and store.schema_version == SCHEMA_VERSION
    [back] = store.get_artifacts_by_id([model])
    assert back.properties["config"] == {"a": [2], "b": 1}


def test_an_export_of_a_newer_version_that_says_this_graphmd_can_use_it_is_imported(store: MetadataStore) -> None:
    """A newer graphmd whose migrations since this version only added indexes marks its
    exports so: this graphmd imports them as its own version (an older graphmd's way back)."""
    populate(store, n=1)
    before = snapshot(store)
    lines = export_text(store).splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["compatible_from"] == graphmd._schema.compatible_from(SCHEMA_VERSION) <= SCHEMA_VERSION
    newer = {**header, "schema_version": SCHEMA_VERSION + 1, "compatible_from": SCHEMA_VERSION}
    store.delete_everything()
    import_store(store, io.StringIO(json.dumps(newer) + "\n" + "".join(lines[1:])))
    assert snapshot(store) == before
    assert graphmd._schema.read_schema_version(store.driver, store.database) == SCHEMA_VERSION


def test_import_refuses_a_store_with_data_and_leaves_it_unchanged(store: MetadataStore) -> None:
    populate(store, n=1)
    text = export_text(store)
    before = snapshot(store)
    with pytest.raises(FailedPreconditionError) as info:
        import_store(store, io.StringIO(text))
    assert info.value.field == "store" and "empty" in info.value.message
    assert snapshot(store) == before


@pytest.mark.parametrize(("mutate", "error", "field"), [
    (lambda lines: [], InvalidArgumentError, "header"),
    (lambda lines: ["not json\n", *lines], InvalidArgumentError, "line"),
    (lambda lines: lines[1:], InvalidArgumentError, "header"),
    (lambda lines: [lines[0].replace(f'"schema_version":{SCHEMA_VERSION}', '"schema_version":99')
                    .replace('"compatible_from":', '"compatible_from":99,"was":'), *lines[1:]],
     FailedPreconditionError, "schema_version"),
    (lambda lines: [lines[0].replace(f'"schema_version":{SCHEMA_VERSION}', '"schema_version":99')
                    .replace('"compatible_from":', '"was":'), *lines[1:]],  # a newer export saying nothing
     FailedPreconditionError, "schema_version"),
    (lambda lines: [*lines[:-1], '{"node": "Evil`) DETACH DELETE n //", "props": {"id": 1}}\n', lines[-1]],
     InvalidArgumentError, "node"),
    # Every node has its times (a listing's first page reads their indexes): a hand-made
    # record without one is refused, not stored where listings would skip it.
    (lambda lines: [*lines[:-1], '{"node": "Artifact", "props": {"id": 90, "type_id": 1, '
                    '"last_update_time_since_epoch": 5}}\n', lines[-1]],
     InvalidArgumentError, "create_time_since_epoch"),
])
def test_import_rejects_what_is_not_an_export_before_writing(store: MetadataStore, mutate, error, field) -> None:
    populate(store, n=1)
    lines = export_text(store).splitlines(keepends=True)
    store.delete_everything()
    before = snapshot(store) if field in ("header", "line", "schema_version") else None
    with pytest.raises(error) as info:
        import_store(store, io.StringIO("".join(mutate(lines))))
    assert info.value.field == field
    if before is not None:
        assert snapshot(store) == before


def _hand_written(type_record: dict, node_props: dict) -> str:
    """A minimal export, as a user might write one: one type and one artifact of it."""
    header = {"graphmd_export": 1, "schema_version": SCHEMA_VERSION, "compatible_from": 2,
              "counts": {"types": 1, "artifacts": 1}}
    node = {"id": 1, "type_id": 500, "type": "Hand", "create_time_since_epoch": 1, "last_update_time_since_epoch": 1,
            **node_props}
    counts = {"types": 1, "artifacts": 1, "executions": 0, "contexts": 0, "events": 0, "attributions": 0,
              "associations": 0, "parent_contexts": 0}
    records = [header, {"type": {"id": 500, "kind": "ArtifactType", "name": "Hand", "version_key": "",
                                 **type_record}},
               {"node": "Artifact", "props": node}, {"end": {"counts": counts}}]
    return "".join(json.dumps(r) + "\n" for r in records)


@pytest.mark.parametrize(("node_props", "field", "said"), [
    ({"p_x": 1}, "props.p_x", "declared DOUBLE"),              # an INT where the type declares DOUBLE
    ({"p_y": 1.5}, "props.p_y", "not declared by its type"),   # a property its type lacks
    ({"p_s": '{"a": 1}'}, "props.p_s", "declared STRUCT"),     # a STRUCT under the native prefix
    ({"cs_z": "not json"}, "props.cs_z", "STRUCT value"),
])
def test_import_holds_a_hand_written_file_to_what_writes_are_held_to(store: MetadataStore, node_props, field,
                                                                      said) -> None:
    """A file edited by hand gave a DOUBLE property an INT value (read back as an int, missed
    by `double_value` filters) that no write could have stored."""
    store.delete_everything()
    text = _hand_written({"property_names": ["x", "s"], "property_types": ["DOUBLE", "STRUCT"]}, node_props)
    with pytest.raises(InvalidArgumentError) as info:
        import_store(store, io.StringIO(text))
    assert info.value.field == field and said in info.value.message, info.value.message


def test_import_stores_hand_written_values_as_writes_would(store: MetadataStore) -> None:
    """-0.0 as 0.0 and a STRUCT's keys sorted, as every write stores them (filters and the
    reuse check compare the stored text); and an ExecutionType's input_type is checked."""
    store.delete_everything()
    text = _hand_written({"property_names": ["x", "s"], "property_types": ["DOUBLE", "STRUCT"]},
                         {"p_x": -0.0, "ps_s": '{"b": 1, "a": [2]}', "c_z": -0.0})
    import_store(store, io.StringIO(text))
    [artifact] = store.get_artifacts_by_id([1])
    assert math.copysign(1, artifact.properties["x"]) == 1 and math.copysign(1, artifact.custom_properties["z"]) == 1
    assert list(artifact.properties["s"]) == ["a", "b"]
    assert store.get_artifacts(ListOptions(filter_query="custom_properties.z.double_value < 0")) == []
    store.delete_everything()
    bad = _hand_written({"property_names": [], "property_types": []}, {}).replace(
        '"kind": "ArtifactType"', '"kind": "ExecutionType", "output_type": "{\\"artifact_type\\": {}}"')
    with pytest.raises(InvalidArgumentError) as info:
        import_store(store, io.StringIO(bad))
    assert info.value.field == "output_type" and "not an ArtifactStructType" in info.value.message


def test_a_truncated_file_is_refused_before_anything_is_written(store: MetadataStore, tmp_path: Path) -> None:
    populate(store, n=2)
    lines = export_text(store).splitlines(keepends=True)
    store.delete_everything()
    before = snapshot(store)
    path = tmp_path / "cut.jsonl"
    path.write_text("".join(lines[:-3]), encoding="utf-8")
    with path.open(encoding="utf-8") as fh, pytest.raises(InvalidArgumentError) as info:
        import_store(store, fh)
    assert info.value.field == "end" and "truncated" in info.value.message
    assert snapshot(store) == before
    # A truncated stream is only detectable at its end: the import says so, and what to do
    # about the records it wrote.
    with pytest.raises(InvalidArgumentError) as info:
        import_store(store, io.StringIO("".join(lines[:-3])))
    assert info.value.field == "end"
    written = len(lines) - 4  # less the header and the three lines cut
    assert info.value.message.startswith(f"the import stopped with {written} records written")
    assert "delete_everything()" in info.value.message and "truncated" in info.value.message
    # The hint names the store the import ran on, not the default one MetadataStore() finds.
    assert "graphmd reset --yes` with the same connection options" in info.value.message
    assert "MetadataStore()" not in info.value.message


def test_a_half_done_import_is_recorded_and_its_ids_stay_taken(store: MetadataStore, neo4j_server: Settings,
                                                                tmp_path: Path) -> None:
    """An import that stops part way (here a truncated stream) leaves its batches, records
    that it did not finish (`graphmd info` warns, a second import says why the store is not
    empty), and has moved the id counters past what it wrote, so new nodes get new ids."""
    populate(store, n=2)
    text = export_text(store)
    lines = text.splitlines(keepends=True)
    max_artifact = max(a.id for a in store.get_artifacts())
    store.delete_everything()
    store.driver.execute_query("MATCH (c:IdCounter) DELETE c", database_=store.database)
    store._reset_caches()
    with pytest.raises(InvalidArgumentError):
        import_store(store, io.StringIO("".join(lines[:-3])), batch_size=2)
    assert "did not finish" in (unfinished_import(store) or "")
    with pytest.raises(FailedPreconditionError) as info:
        import_store(store, io.StringIO(text))
    assert "did not finish" in info.value.message
    assert info.value.message.count("reset --yes") == 1, info.value.message  # how to empty it, said once
    env = cli_env(neo4j_server, tmp_path)
    shown = subprocess.run([sys.executable, "-m", "graphmd.cli", "info"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0 and "warning:  an import of a stream did not finish" in shown.stdout, shown.stdout
    type_id = store.put_artifact_type(ArtifactType(name="Fresh"))  # a new type id, past the imported ones
    [new_id] = store.put_artifacts([Artifact(type_id=type_id, uri="/after")])
    assert new_id > max_artifact
    store.delete_everything()
    assert unfinished_import(store) is None
    import_store(store, io.StringIO(text))
    assert unfinished_import(store) is None and export_text(store) == text


def test_an_import_stopped_before_its_first_batch_says_the_store_is_empty(store: MetadataStore) -> None:
    """An import that stops before it writes a record (its first line after the header is bad,
    or Neo4j went away) has cleared MLMD's system types for the export's: the warning must not
    say the store holds part of it, and importing again needs no reset."""
    populate(store, n=1)
    text = export_text(store)
    header, rest = text.split("\n", 1)
    store.delete_everything()
    with pytest.raises(InvalidArgumentError):
        import_store(store, io.StringIO(header + "\n{not json\n"))
    said = unfinished_import(store) or ""
    assert "stopped before it wrote anything: the store is empty; import again" in said, said
    assert "holds part" not in said
    import_store(store, io.StringIO(text))
    assert unfinished_import(store) is None and export_text(store) == text


def test_cli_export_and_import_round_trip(store: MetadataStore, neo4j_server: Settings, tmp_path: Path) -> None:
    populate(store, n=2)
    before = snapshot(store)
    env = cli_env(neo4j_server, tmp_path)
    graphmd = [sys.executable, "-m", "graphmd.cli"]
    path = tmp_path / "store.jsonl"
    done = subprocess.run([*graphmd, "export", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "exported" in done.stderr and not (tmp_path / "store.jsonl.partial").exists()
    streamed = subprocess.run([*graphmd, "export", "-", "-q"], env=env, capture_output=True, text=True, timeout=120)
    assert streamed.stdout == path.read_text(encoding="utf-8")
    refused = subprocess.run([*graphmd, "import", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "empty" in refused.stderr
    assert "importing" not in refused.stderr  # no progress bar for work that never started
    store.delete_everything()
    done = subprocess.run([*graphmd, "import", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # stderr is no terminal here: the closing line alone, no frame of the progress bar.
    assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith("imported")
    assert snapshot(store) == before
    for output in (done.stdout, done.stderr, streamed.stderr):
        assert neo4j_server.password not in output
    # From stdin, as `zcat store.jsonl.gz | graphmd import -` does.
    store.delete_everything()
    piped = subprocess.run([*graphmd, "import", "-", "-q"], input=path.read_text(encoding="utf-8"), env=env,
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "from stdin" in piped.stderr, piped.stderr
    assert snapshot(store) == before
    # Paths that cannot be written or read: one line naming them, no traceback.
    for args in (["export", str(tmp_path / "no-such-dir" / "x.jsonl")], ["import", str(tmp_path / "missing.jsonl")]):
        bad = subprocess.run([*graphmd, *args, "-q"], env=env, capture_output=True, text=True, timeout=120)
        said = " ".join(bad.stderr.split())  # rich wraps long lines
        assert bad.returncode == 1 and "No such file or directory" in said, bad.stderr
        assert "Traceback" not in said and args[1] in said
    assert snapshot(store) == before


def test_exports_of_the_same_store_are_byte_identical_however_it_was_written(store: MetadataStore) -> None:
    """A node updated over time holds its keys in the order they were written; restored, in
    the export's order. The export sorts them, so export -> import -> export is byte for byte
    the same file (a backup's checksum holds)."""
    model_t = store.put_artifact_type(ArtifactType(name="Late", properties={"z": PropertyType.INT}))
    [aid] = store.put_artifacts([Artifact(type_id=model_t, uri="/m", custom_properties={"zz": 1})])
    [artifact] = store.get_artifacts_by_id([aid])
    store.put_artifacts([artifact.model_copy(update={"properties": {"z": 3}, "name": "late", "external_id": "e",
                                                     "custom_properties": {"zz": 1, "aa": 2}})])
    first = export_text(store)
    store.delete_everything()
    import_store(store, io.StringIO(first))
    assert export_text(store) == first


def test_cli_export_output_failures_are_not_blamed_on_neo4j(store: MetadataStore, neo4j_server: Settings,
                                                              tmp_path: Path) -> None:
    """A full disk (here a file size limit) is the output's failure: one line saying so, no
    traceback, no half file left; a reader that stops early (`| head`) ends the export quietly."""
    import resource

    type_id = store.put_artifact_type(ArtifactType(name="Bulk"))
    store.put_artifacts([Artifact(type_id=type_id, uri=f"/bulk/{i}", name=f"b{i}") for i in range(3000)])
    env = cli_env(neo4j_server, tmp_path)
    graphmd = [sys.executable, "-m", "graphmd.cli"]
    path = tmp_path / "big.jsonl"
    limited = subprocess.run(
        [*graphmd, "export", str(path), "-q"], env=env, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000)))
    said = " ".join(limited.stderr.split())
    assert limited.returncode == 1 and "cannot write" in said and "File too large" in said, limited.stderr
    assert "Traceback" not in said and "reach Neo4j" not in said and "neo4j start" not in said
    assert not path.exists() and not (tmp_path / "big.jsonl.partial").exists()
    reader = subprocess.Popen([*graphmd, "export", "-", "-q"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.read(10)
    reader.stdout.close()  # as `| head -c 10` does
    errors = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 1 and errors == "", errors  # click's rule for a closed pipe


def test_a_file_that_is_no_export_is_called_that_not_truncated(store: MetadataStore, tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text('{"foo": 1}\n', encoding="utf-8")
    before = snapshot(store)
    with path.open(encoding="utf-8") as fh, pytest.raises(InvalidArgumentError) as info:
        import_store(store, fh)
    assert info.value.field == "header" and "not the header of a graphmd export" in info.value.message
    assert snapshot(store) == before


def test_an_export_taken_while_pipelines_write_imports_whole(store: MetadataStore, neo4j_server: Settings) -> None:
    """Neo4j reads are read-committed: a step recorded while the export runs can show in
    part. An operator reported an export of a busy store that its import refused half way
    (events naming nodes the export did not hold). What refers to anything the export did
    not write is left out and counted; the rest imports, and holds every write committed
    before the export began."""
    from graphmd import (ArtifactAndEvent, Attribution, Context, ContextType, Event, EventType, Execution,
                         ExecutionType)

    populate(store)
    before = store.counts()
    s = neo4j_server
    with MetadataStore(s.uri, s.user, s.password, s.database) as pipeline:
        step_t = pipeline.put_execution_type(ExecutionType(name="LateStep"))
        known = pipeline.get_artifacts()[0].id

        def record_a_step() -> None:  # while the export reads the contexts: the types are behind it
            late_t = pipeline.put_artifact_type(ArtifactType(name="LateType"))
            run_t = pipeline.put_context_type(ContextType(name="LateRun"))
            pipeline.put_execution(Execution(type_id=step_t, name="late-step"), [
                ArtifactAndEvent(event=Event(artifact_id=known, type=EventType.INPUT)),
                ArtifactAndEvent(artifact=Artifact(type_id=late_t, uri="/late"), event=Event(type=EventType.OUTPUT))],
                [Context(type_id=run_t, name="late-run")])
            [run] = pipeline.get_contexts_by_type("LateRun")
            pipeline.put_attributions_and_associations([Attribution(context_id=run.id, artifact_id=known)], [])

        class Busy(io.StringIO):
            fired = False

            def write(self, text: str) -> int:
                if not self.fired and text.startswith('{"node":"Context"'):
                    self.fired = True
                    record_a_step()
                return super().write(text)

        out, left_out = Busy(), {}
        written = export_store(store, out, left_out=left_out)
    assert out.fired
    # Left out: the artifact of the new type, its output event, the new run's links (the run
    # itself came after the contexts were read); kept: the step (its kind not read yet) and
    # its input event from an artifact the export holds.
    assert (left_out["artifacts"], left_out["events"], left_out["attributions"]) == (1, 1, 2)
    assert left_out["associations"] == 1 and left_out["contexts"] == 0
    assert written["executions"] == before["executions"] + 1 and written["artifacts"] == before["artifacts"]
    assert written["events"] == before["events"] + 1 and written["contexts"] == before["contexts"]
    store.delete_everything()
    import_store(store, io.StringIO(out.getvalue()))
    assert store.counts() == written
    assert [x.name for x in store.get_executions_by_type("LateStep")] == ["late-step"]


def test_a_process_running_through_a_reset_and_import_writes_on_with_fresh_ids(store: MetadataStore,
                                                                               neo4j_server: Settings) -> None:
    """An operator reset and re-imported the store while `graphmd serve` ran: serve's id
    blocks were reserved before the reset, the import wrote nodes with ids inside them, and
    every later write failed on the same taken id. A taken id of a new node or type now
    drops the blocks and reruns the call with blocks reserved after the import."""
    s = neo4j_server
    with MetadataStore(s.uri, s.user, s.password, s.database) as serve:  # the long-lived process
        data_t = serve.put_artifact_type(ArtifactType(name="Data"))
        serve.put_artifacts([Artifact(type_id=data_t, uri="/0")])
        next_type, next_artifact = serve._ids._blocks["Type"][0], serve._ids._blocks["Artifact"][0]
        # An export holding a type and an artifact with the ids serve would hand out next.
        exported = [json.loads(line) for line in export_text(store).splitlines()]
        for record in exported:
            if record.get("type", {}).get("name") == "Data":
                record["type"]["id"] = next_type
            if record.get("node") == "Artifact":
                record["props"].update(id=next_artifact, type_id=next_type)
        store.delete_everything()
        import_store(store, io.StringIO("".join(json.dumps(r) + "\n" for r in exported)))
        [moved] = serve.put_artifacts([Artifact(type_id=next_type, uri="/1")])
        assert moved != next_artifact and moved > next_artifact
        other_t = serve.put_artifact_type(ArtifactType(name="Other"))
        assert other_t != next_type
        assert {a.uri for a in store.get_artifacts()} == {"/0", "/1"}


@pytest.mark.parametrize("signum", [15, 1], ids=["SIGTERM", "SIGHUP"])
def test_an_export_ended_by_sigterm_or_sighup_leaves_no_partial_file(store: MetadataStore, neo4j_server: Settings,
                                                                     tmp_path: Path, signum: int) -> None:
    """`timeout`, `kill`, a stopped Kubernetes Job (SIGTERM) or a closed terminal (SIGHUP)
    left the export's .partial file behind, where operations.md says an interrupted export
    removes it: only Ctrl-C did. Both now end it as Ctrl-C does, exiting 128 + the signal."""
    import signal
    import time

    type_id = store.put_artifact_type(ArtifactType(name="Bulk"))
    for batch in range(4):
        store.put_artifacts([Artifact(type_id=type_id, uri=f"/bulk/{batch}/{i}", name=f"b{batch}-{i}")
                             for i in range(5000)])
    path = tmp_path / "store.jsonl.gz"
    partial = tmp_path / "store.jsonl.gz.partial"
    # The signal's default action in the child, as in a shell: a suite run under nohup would
    # hand it SIGHUP ignored, which graphmd leaves ignored (as nohup asks).
    run = subprocess.Popen([sys.executable, "-m", "graphmd.cli", "export", str(path), "-q"],
                           env=cli_env(neo4j_server, tmp_path), stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not partial.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert run.poll() is None, "the export finished before it could be ended: make the store larger"
    run.send_signal(signum)
    _, said = run.communicate(timeout=60)
    assert run.returncode == 128 + signal.Signals(signum), said
    assert not partial.exists() and not path.exists() and "Traceback" not in said


def test_an_import_into_a_store_a_reset_emptied_before_it_stopped_forgets_the_reset(store: MetadataStore) -> None:
    """A reset interrupted after its last deletion leaves an empty store that still records
    the reset; an import (which needs an empty store) ends that record, or every command
    would warn of a half-emptied store that the import has since filled."""
    import graphmd._queries as q

    store.put_artifact_type(ArtifactType(name="Kept"))
    text = export_text(store)
    store.delete_everything()
    store._write(lambda tx: tx.run(q.RECORD_RESET, started=1).consume())
    assert "a reset of the store did not finish" in (unfinished_import(store) or "")
    import_store(store, io.StringIO(text))
    assert unfinished_import(store) is None and store.get_artifact_type("Kept") is not None


def test_export_store_refuses_what_is_no_text_stream_naming_out(store: MetadataStore, tmp_path: Path) -> None:
    """A path, and a binary stream (BytesIO, a file opened 'wb', a GzipFile): the latter
    raised a bare TypeError from the first write, where the docstring promises an
    InvalidArgumentError."""
    import gzip

    with open(tmp_path / "b.bin", "wb") as binary:
        for out in (str(tmp_path / "x.jsonl"), io.BytesIO(), binary, gzip.GzipFile(fileobj=io.BytesIO(), mode="wb")):
            with pytest.raises(InvalidArgumentError) as raised:
                export_store(store, out)  # type: ignore[arg-type]
            assert raised.value.field == "out", out
    assert (tmp_path / "b.bin").read_bytes() == b""
