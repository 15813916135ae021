"""Each cypher/ file's results on a generated history, and the lineage files agreeing with
get_lineage_subgraph. The files run exactly as a user pastes them (graphmd._cypher_files)."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from graphmd import LineageDirection, LineageSubgraphQueryOptions, MetadataStore, NodeSelector, InvalidArgumentError
from graphmd import Association, Execution, NotFoundError
from graphmd import _cypher_files as files
from graphmd._tfx_pipeline import History, record_history

QUESTIONS = {"who_triggered_run", "model_hyperparameters", "model_location", "model_pushed", "why_model_preferred",
             "training_environment", "what_can_be_reused", "compare_runs", "lineage_upstream", "lineage_downstream",
             "latest_blessed_model", "deployed_models"}


@pytest.fixture(scope="module")
def history(session_store: MetadataStore) -> History:
    session_store.delete_everything()
    return record_history(session_store, 50)


def blessed_runs(history: History) -> list[int]:
    return [p.number for p in history.plans if p.step("Pusher").outputs["pushed_model"]]


def test_every_file_is_described_and_parameterised():
    assert set(files.names()) == QUESTIONS
    for name in files.names():
        text = files.load(name)
        assert files.description(name), name
        for parameter in files.parameters(name):  # the header shows how to set each in Browser
            assert f":param {parameter} =>" in text, (name, parameter)
        assert f"graphmd cypher-shell -f {name} -P" in text, name  # and how to run it in the shell, from anywhere


def test_unknown_file_and_parameters_are_refused(session_store):
    with pytest.raises(NotFoundError):
        files.load("../pyproject")
    with pytest.raises(InvalidArgumentError) as error:
        files.run(session_store, "model_location")
    assert error.value.field == "model_id"
    with pytest.raises(InvalidArgumentError) as error:
        files.run(session_store, "model_location", model_id=1, extra=2)
    assert error.value.field == "extra"


def test_who_triggered_run(session_store, history):
    [row] = files.run(session_store, "who_triggered_run", run_name="run-0007")
    assert (row["run"], row["triggered_by"], row["trigger"]) == ("run-0007", "bob", "manual")
    assert row["executions"] == [f"run-0007/{c} (COMPLETE)" for c in
                                 ("ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator", "Pusher")]
    assert files.run(session_store, "who_triggered_run", run_name="run-9999") == []


def test_who_triggered_run_lists_unnamed_executions(session_store, history):
    """Executions need no name (MLMD's are often unnamed): one shows as its type and id."""
    run = session_store.get_context_by_type_and_name("PipelineRun", "run-0008")
    trainer = session_store.get_execution_type("Trainer")
    [added] = session_store.put_executions([Execution(type_id=trainer.id)])
    try:
        session_store.put_attributions_and_associations([], [Association(context_id=run.id, execution_id=added)])
        [row] = files.run(session_store, "who_triggered_run", run_name="run-0008")
        assert len(row["executions"]) == 8 and row["executions"][-1] == f"Trainer #{added} (UNKNOWN)"
    finally:
        session_store.driver.execute_query("MATCH (x:Execution {id: $id}) DETACH DELETE x", id=added,
                                           database_=session_store.database)


def test_model_hyperparameters(session_store, history):
    rows = files.run(session_store, "model_hyperparameters", model_id=history.artifacts["run-0010/model"])
    assert [(r["hyperparameter"], r["value"], r["custom"]) for r in rows] == [
        ("batch_size", 64, False), ("learning_rate", 0.03, False), ("module_file", "taxi_utils.py", False),
        ("num_steps", 2000, False), ("accelerator", "gpu", True), ("image", "tfx/trainer:1.14", True),
        ("python", "3.11", True), ("tensorflow", "2.15", True)]
    assert {(r["trainer"], r["warm_started_from"]) for r in rows} == {("run-0010/Trainer", "run-0009/model")}
    ids = history.artifacts
    assert rows[0]["trained_on"] == [  # the data it was trained on, by input key
        f"base_model: Model #{ids['run-0009/model']} run-0009/model (/models/taxi/run-0009)",
        f"examples: Examples #{ids['run-0010/examples']} run-0010/examples (/data/taxi/examples/span-10)",
        f"schema: Schema #{ids['run-0010/schema']} run-0010/schema (/data/taxi/schema/run-0010)",
        f"teacher_model: Model #{ids['run-0008/model']} run-0008/model (/models/taxi/run-0008)",
        f"transform_graph: TransformGraph #{ids['run-0010/transform_graph']} run-0010/transform_graph "
        "(/data/taxi/transform/run-0010)"]


def test_model_location_and_push(session_store, history):
    pushed, not_pushed = blessed_runs(history)[-1], next(
        r for r in range(50) if r not in blessed_runs(history))
    [row] = files.run(session_store, "model_location", model_id=history.artifacts[f"run-{pushed:04d}/model"])
    # pushed_to: the destination the Pusher recorded, as compare_runs says it; the uri apart.
    assert (row["uri"], row["pushed_to"], row["destinations"], row["pushed_uris"]) == (
        f"/models/taxi/run-{pushed:04d}", ["/serving/taxi"], ["/serving/taxi"], [f"/serving/taxi/{pushed}"])
    [row] = files.run(session_store, "model_location", model_id=history.artifacts[f"run-{not_pushed:04d}/model"])
    assert row["pushed_to"] == []
    [push] = files.run(session_store, "model_pushed", model_id=history.artifacts[f"run-{pushed:04d}/model"])
    artifact = session_store.get_artifacts_by_id([history.artifacts[f"run-{pushed:04d}/pushed_model"]])[0]
    assert (push["pushed_to"], push["pushed_uri"], push["pushed_at_ms"]) == (
        "/serving/taxi", artifact.uri, artifact.create_time_since_epoch)
    assert push["pushed_at"].to_native().timestamp() * 1000 == pytest.approx(artifact.create_time_since_epoch)
    assert files.run(session_store, "model_pushed", model_id=history.artifacts[f"run-{not_pushed:04d}/model"]) == []


def test_deployed_models_is_the_newest_push_with_the_one_before(session_store, history):
    pushed = blessed_runs(history)
    assert len(pushed) >= 2
    [row] = files.run(session_store, "deployed_models", context_id=None)
    assert (row["target"], row["model"], row["model_id"], row["pushes"], row["previous_model"]) == (
        "/serving/taxi", f"run-{pushed[-1]:04d}/model", history.artifacts[f"run-{pushed[-1]:04d}/model"],
        len(pushed), f"run-{pushed[-2]:04d}/model")
    assert row["pusher"] == f"run-{pushed[-1]:04d}/Pusher" and row["model_uri"] == f"/models/taxi/run-{pushed[-1]:04d}"
    [one] = files.run(session_store, "deployed_models", context_id=history.contexts[f"run-{pushed[0]:04d}"])
    assert (one["model"], one["pushes"], one["previous_model"]) == (f"run-{pushed[0]:04d}/model", 1, None)
    not_pushed = next(n for n in range(50) if n not in pushed)
    assert files.run(session_store, "deployed_models", context_id=history.contexts[f"run-{not_pushed:04d}"]) == []


def test_why_model_preferred(session_store, history):
    blessed = blessed_runs(history)
    a = blessed[-1]
    b = next(r for r in range(a - 1, -1, -1) if r not in blessed)
    rows = files.run(session_store, "why_model_preferred", model_a=history.artifacts[f"run-{a:04d}/model"],
                     model_b=history.artifacts[f"run-{b:04d}/model"])
    by_model = {r["model"]: r for r in rows}
    plan_a, plan_b = history.plans[a].step("Evaluator"), history.plans[b].step("Evaluator")
    for run, plan in ((a, plan_a), (b, plan_b)):
        row = by_model[f"run-{run:04d}/model"]
        assert dict(row["metrics"]) == plan.outputs["evaluation"][0].properties
        assert row["baseline"] == plan.outputs["blessing"][0].custom_properties["baseline_model"]
    assert (by_model[f"run-{a:04d}/model"]["blessed"], by_model[f"run-{a:04d}/model"]["pushed"]) == (True, True)
    assert (by_model[f"run-{b:04d}/model"]["blessed"], by_model[f"run-{b:04d}/model"]["pushed"]) == (False, False)


def test_training_environment(session_store, history):
    rows = files.run(session_store, "training_environment", model_id=history.artifacts["run-0025/model"])
    assert {r["setting"]: r["value"] for r in rows} == {
        "accelerator": "gpu", "image": "tfx/trainer:1.15", "python": "3.11", "tensorflow": "2.15",
        "module_file": "taxi_utils.py"}


def test_what_can_be_reused(session_store, history):
    trainer = session_store.get_executions_by_id([history.executions["run-0030/Trainer"]])[0]
    inputs = sorted({e.artifact_id for e in session_store.get_events_by_execution_ids([trainer.id])
                     if e.type.is_input})
    [row] = files.run(session_store, "what_can_be_reused", type_name="Trainer", input_ids=inputs,
                      properties=trainer.properties)
    assert row["execution"]["id"] == trainer.id
    assert [o["artifact"]["name"] for o in row["outputs"]] == ["run-0030/model"]
    assert files.run(session_store, "what_can_be_reused", type_name="Trainer", input_ids=inputs,
                     properties={**trainer.properties, "learning_rate": 0.5}) == []
    assert files.run(session_store, "what_can_be_reused", type_name="Trainer", input_ids=inputs[:-1],
                     properties=trainer.properties) == []


def test_latest_blessed_model_file(session_store, history):
    """The newest blessed model with its blessing, as latest_blessed_model answers; within a
    run, among the models that run holds."""
    newest = f"run-{blessed_runs(history)[-1]:04d}"
    [row] = files.run(session_store, "latest_blessed_model", model_type="Model", blessing_type="ModelBlessing",
                      context_id=None)
    assert (row["model"]["name"], row["blessing"]["name"]) == (f"{newest}/model", f"{newest}/blessing")
    [row] = files.run(session_store, "latest_blessed_model", model_type="Model", blessing_type="ModelBlessing",
                      context_id=history.contexts["run-0003"])
    assert (row["model"]["name"], row["blessing"]["name"]) == ("run-0002/model", "run-0002/blessing")
    assert files.run(session_store, "latest_blessed_model", model_type="Examples", blessing_type="ModelBlessing",
                     context_id=None) == []


def test_compare_runs_file(session_store, history):
    rows = files.run(session_store, "compare_runs", run_type="PipelineRun", runs=["run-0001", "run-0002"])
    assert [r["run"] for r in rows] == ["run-0001", "run-0002"]
    assert all(len(r["executions"]) == 7 and [m["name"] for m in r["metrics"]] == [f"{r['run']}/evaluation"]
               for r in rows)
    # What decided between the models: each run's Evaluator, its blessing and baseline; its Pusher, the push.
    for row in rows:
        [blessing] = row["blessings"]
        assert blessing["evaluator"]["name"] == f"{row['run']}/Evaluator" and blessing["blessed"] is True
        assert blessing["blessing"]["name"] == f"{row['run']}/blessing"
        baseline = history.plans[int(row["run"][-4:])].step("Evaluator").inputs["baseline_model"][0]
        assert blessing["baseline"]["name"] == baseline
        [push] = row["pushes"]
        assert push["pusher"]["name"] == f"{row['run']}/Pusher" and push["pushed"] is True
        assert push["pushed_to"] == "/serving/taxi" and push["pushed_at_ms"] == push["pushed_model"]["create_time_since_epoch"]
    [unblessed] = files.run(session_store, "compare_runs", run_type="PipelineRun", runs=["run-0003"])
    assert [b["blessed"] for b in unblessed["blessings"]] == [False]
    assert [(p["pushed"], p["pushed_model"], p["pushed_to"], p["pushed_at_ms"]) for p in unblessed["pushes"]] == [
        (False, None, None, None)]


@pytest.mark.parametrize("name,direction", [("lineage_upstream", LineageDirection.UPSTREAM),
                                            ("lineage_downstream", LineageDirection.DOWNSTREAM)])
@pytest.mark.parametrize("start", ["run-0040/model", "run-0010/examples", "run-0030/blessing"])
def test_lineage_files_agree_with_the_library(session_store, history, name, direction, start):
    for hops in (0, 1, 4, 9, None):
        [row] = files.run(session_store, name, artifact_id=history.artifacts[start], max_hops=hops)
        graph = session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
            starting_artifacts=NodeSelector(ids=[history.artifacts[start]]), max_num_hops=hops, direction=direction))
        assert sorted((list(n.labels)[0], n["id"]) for n in row["nodes"]) == sorted(
            [("Artifact", a.id) for a in graph.artifacts] + [("Execution", x.id) for x in graph.executions])
        assert sorted(e["event_key"] for e in row["events"]) == sorted(
            f"{e.artifact_id}:{e.execution_id}:{e.type.value}" for e in graph.events)
        assert max(d["hops"] for d in row["distances"]) <= (hops if hops is not None else 10**6)
    # No such artifact: no row (it was one row of empty lists).
    assert files.run(session_store, name, artifact_id=10**9, max_hops=None) == []


def db_hits(plan) -> int:
    """A PROFILEd plan's database accesses, all operators together."""
    return plan.get("dbHits", 0) + sum(db_hits(child) for child in plan.get("children", []))


@pytest.mark.parametrize("name, start", [("lineage_upstream", "run-0049/model"),
                                         ("lineage_downstream", "run-0001/model")])
def test_max_hops_bounds_the_walk_not_only_the_answer(session_store, history, name, start):
    """With max_hops only in the WHERE, a 2-hop read walked the whole history first (30,000
    nodes expanded on 3,000 runs), also as pasted into Browser: up to 100 hops the file walks
    one hop at a time; graphmd query writes a longer bound into the expansion, the file's own
    text unbounded for null."""
    params = {"artifact_id": history.artifacts[start]}  # 49 runs of warm starts away from the other end
    assert "[:EVENT*0..2]" in files.statement(name, {**params, "max_hops": 2})
    assert "[:EVENT*0..]" in files.statement(name, {**params, "max_hops": None})

    def profiled(text: str, max_hops: int | None):
        return session_store.driver.execute_query("PROFILE " + text, {**params, "max_hops": max_hops},
                                                  database_=session_store.database)

    whole = profiled(files.load(name), None)
    for text in (files.load(name), files.statement(name, {**params, "max_hops": 2})):  # as pasted, as run
        bounded = profiled(text, 2)
        assert bounded.records[0]["nodes"] and len(bounded.records[0]["nodes"]) < len(whole.records[0]["nodes"])
        assert db_hits(bounded.summary.profile) * 20 < db_hits(whole.summary.profile), text


def test_the_data_model_doc_s_upstream_query_returns_each_node_once_at_its_distance(session_store, history):
    # docs/data-model.md's one-line "everything upstream", run as the doc prints it, on a
    # history whose Trainers warm-start (paths multiply with each run; nodes do not).
    doc = (Path(__file__).parent.parent / "docs" / "data-model.md").read_text(encoding="utf-8")
    [query] = re.findall(r"`(MATCH p = \(m:Artifact \{id: \$id\}\)<-\[:EVENT\*\]-\(up\)[^`]*)`", doc)
    model = history.artifacts["run-0040/model"]
    rows = session_store.driver.execute_query(query, id=model, database_=session_store.database).records
    graph = session_store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[model]), max_num_hops=None, direction=LineageDirection.UPSTREAM))
    expected = sorted([("Artifact", a.id) for a in graph.artifacts if a.id != model]
                      + [("Execution", x.id) for x in graph.executions])
    assert sorted((list(r["up"].labels)[0], r["up"]["id"]) for r in rows) == expected
    assert min(r["hops"] for r in rows) == 1 and max(r["hops"] for r in rows) > 40


def cypher_literal(value: object) -> str:
    """A Python value as a Cypher literal, for cypher-shell's -P."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"`{k}`: {cypher_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def file_parameters(store: MetadataStore, history: History) -> dict[str, dict[str, object]]:
    """Parameters for each file that give it rows on the 50-run history."""
    model = history.artifacts
    pushed = blessed_runs(history)[-1]
    trainer = store.get_executions_by_id([history.executions["run-0030/Trainer"]])[0]
    inputs = sorted({e.artifact_id for e in store.get_events_by_execution_ids([trainer.id]) if e.type.is_input})
    return {
        "who_triggered_run": {"run_name": "run-0007"},
        "model_hyperparameters": {"model_id": model["run-0010/model"]},
        "model_location": {"model_id": model[f"run-{pushed:04d}/model"]},
        "model_pushed": {"model_id": model[f"run-{pushed:04d}/model"]},
        "training_environment": {"model_id": model["run-0025/model"]},
        "why_model_preferred": {"model_a": model[f"run-{pushed:04d}/model"], "model_b": model["run-0001/model"]},
        "what_can_be_reused": {"type_name": "Trainer", "input_ids": inputs, "properties": trainer.properties},
        "compare_runs": {"run_type": "PipelineRun", "runs": ["run-0001", "run-0002"]},
        "latest_blessed_model": {"model_type": "Model", "blessing_type": "ModelBlessing", "context_id": None},
        "deployed_models": {"context_id": None},
        "lineage_upstream": {"artifact_id": model["run-0012/model"], "max_hops": None},
        "lineage_downstream": {"artifact_id": model["run-0040/examples"], "max_hops": 6},
    }


def test_every_file_runs_as_is_in_cypher_shell(session_store, history, neo4j_server, monkeypatch):
    """`graphmd cypher-shell -f cypher/<file> -P {...}`, Neo4j's own shell, gives the rows the
    library gives; the lineage files reach the same nodes at the same distances."""
    env = {**os.environ, "GRAPHMD_CONFIG": os.devnull, "GRAPHMD_NEO4J_URI": neo4j_server.uri,
           "GRAPHMD_NEO4J_USER": neo4j_server.user, "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or ""}
    graphmd = str(Path(sys.executable).with_name("graphmd"))
    params = file_parameters(session_store, history)
    assert set(params) == QUESTIONS
    for name, values in sorted(params.items()):
        rows = files.run(session_store, name, **values)
        assert rows, name
        shell = subprocess.run(
            [graphmd, "cypher-shell", "--format", "plain", "-f", str(files.cypher_dir() / f"{name}.cypher"),
             "-P", cypher_literal(values)],
            env=env, capture_output=True, text=True, timeout=120)
        assert shell.returncode == 0, (name, shell.stderr)
        header, *lines = shell.stdout.splitlines()
        assert [c.strip() for c in header.split(",")] == list(rows[0]), name
        assert len(lines) == len(rows), (name, shell.stdout[:2000])
        if name.startswith("lineage_"):
            distances = [dict(re.findall(r'(\w+): "?(\w+)"?', m)) for m in re.findall(r"\{(kind: [^}]*)\}", lines[0])]
            reached = {(d["kind"], int(d["id"]), int(d["hops"])) for d in distances}
            assert reached == {(d["kind"], d["id"], d["hops"]) for d in rows[0]["distances"]}, name
    who = subprocess.run([graphmd, "cypher-shell", "--format", "plain", "-P", "{run_name: 'run-0007'}",
                          "-f", str(files.cypher_dir() / "who_triggered_run.cypher")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert '"run-0007", "PipelineRun", "bob", "manual"' in who.stdout


def test_cypher_shell_finds_graphmd_s_files_by_name_from_any_directory(tmp_path, monkeypatch):
    from graphmd._config import Settings
    from graphmd._cypher_shell import cypher_shell_command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.cypher").write_text("RETURN 1")
    settings = Settings("bolt://127.0.0.1:1", "neo4j", "secret-pw", "db1")
    command, env = cypher_shell_command(
        settings, ["-f", "lineage_upstream", "-P", "{}", "--file", "cypher/model_pushed.cypher", "-f", "mine.cypher",
                   "-f", "nowhere.cypher"])
    assert command[command.index("-a") + 1] == "bolt://127.0.0.1:1" and command[command.index("-d") + 1] == "db1"
    assert command[command.index("db1") + 1:] == [
        "-f", str(files.cypher_dir() / "lineage_upstream.cypher"), "-P", "{}",
        "--file", str(files.cypher_dir() / "model_pushed.cypher"),
        "-f", "mine.cypher",                                   # a file of the user's: as given
        "-f", "nowhere.cypher"]                                # not a query's name: left to cypher-shell
    assert env["NEO4J_PASSWORD"] == "secret-pw" and "secret-pw" not in command
    with pytest.raises(NotFoundError) as error:  # a misspelt query name: said before cypher-shell starts
        cypher_shell_command(settings, ["-f", "model_pushd"])
    assert error.value.field == "file" and "'model_pushd' is no file and no graphmd query" in str(error.value)
    assert "model_pushed" in str(error.value)


# Operators that read every node of a label (or every node, or every relationship of a type),
# and joins of unrelated rows: each file starts from a seek on an id, a name or a type.
WHOLE_SCANS = {"AllNodesScan", "NodeByLabelScan", "UnionNodeByLabelsScan", "IntersectionNodeByLabelsScan",
               "NodeIndexScan", "NodeIndexContainsScan", "NodeIndexEndsWithScan", "CartesianProduct",
               "DirectedRelationshipTypeScan", "UndirectedRelationshipTypeScan", "DirectedAllRelationshipsScan",
               "UndirectedAllRelationshipsScan", "DirectedRelationshipIndexScan", "UndirectedRelationshipIndexScan"}
LEAVES = {"NodeUniqueIndexSeek", "NodeIndexSeek", "Argument", "Unwind"}  # Unwind: of a parameter list
# deployed_models starts from every execution type a Pusher can be (by name, or base type DEPLOY).
TYPE_SCANS = {("NodeByLabelScan", "t:ExecutionType")}


def operators(plan) -> list[tuple[str, str, bool]]:
    """(operator, details, is a leaf) for each operator of a plan."""
    name = plan["operatorType"].split("@")[0]
    rows = [(name, plan.get("args", {}).get("Details", ""), not plan.get("children"))]
    return rows + [row for child in plan.get("children", []) for row in operators(child)]


def test_every_file_s_plan_seeks_where_it_starts(session_store, history):
    """EXPLAIN each file as pasted, with the parameters that answer on the history and the
    other kinds a user gives (no context, no inputs, a hop limit or none): no operator reads
    a whole label (but for the execution types), index or relationship type, every leaf is an index seek (or the argument
    of a subquery, or an UNWIND of a parameter list), and a lineage walk is Neo4j's pruning
    breadth-first expansion, which visits each node once, never one that enumerates paths
    (they double with every diamond)."""
    cases = [(name, values) for name, values in sorted(file_parameters(session_store, history).items())]
    cases += [("latest_blessed_model", {"model_type": "Model", "blessing_type": "ModelBlessing",
                                        "context_id": history.contexts["run-0003"]}),
              ("what_can_be_reused", {"type_name": "ExampleGen", "input_ids": [], "properties": {"span": 3}}),
              ("lineage_upstream", {"artifact_id": history.artifacts["run-0012/model"], "max_hops": 3}),
              ("lineage_downstream", {"artifact_id": history.artifacts["run-0040/examples"], "max_hops": None})]
    # Plans as Neo4j makes them for this store: index samples taken now, none cached. With
    # samples left from an earlier, smaller store (a test's, before delete_everything), the
    # planner may scan a whole index and hash-join it, until it samples and plans again.
    run = functools.partial(session_store.driver.execute_query, database_=session_store.database)
    for index in run("SHOW RANGE INDEXES YIELD name").records:
        run("CALL db.resampleIndex($name)", name=index["name"])
    run("CALL db.clearQueryCaches()")
    for name, values in cases:
        found = operators(run("EXPLAIN " + files.load(name), values).summary.plan)
        found = [op for op in found if op[:2] not in TYPE_SCANS]  # a store holds tens of types, not millions
        assert not [op for op in found if op[0] in WHOLE_SCANS], (name, found)
        assert {op[0] for op in found if op[2]} <= LEAVES, (name, found)
        walks = [op for op in found if op[0].startswith("VarLengthExpand")]
        assert all(op[0].startswith("VarLengthExpand(Pruning,BFS") for op in walks), (name, walks)
        assert bool(walks) == name.startswith("lineage_"), name


def test_the_questions_answer_on_a_store_tfx_wrote(store):
    """TFX names its types after the component classes and its run contexts pipeline_run,
    names each execution by a fresh UUID and records a component's parameters as custom
    properties; the questions find them as they find graphmd's own names, and name those
    executions by type and id (a UUID says nothing to a reader)."""
    import uuid

    from graphmd import (Artifact, ArtifactAndEvent, ArtifactState, ArtifactType, Context, ContextType, Event,
                         EventType, Execution, ExecutionState, ExecutionType, PropertyType)

    def component(name: str) -> int:
        return store.put_execution_type(ExecutionType(name=f"tfx.components.{name.lower()}.component.{name}"))

    model_t = store.put_artifact_type(ArtifactType(name="Model"))
    evaluation_t = store.put_artifact_type(ArtifactType(name="ModelEvaluation", properties={"accuracy": PropertyType.DOUBLE}))
    blessing_t = store.put_artifact_type(ArtifactType(name="ModelBlessing", properties={"blessed": PropertyType.INT}))
    pushed_t = store.put_artifact_type(ArtifactType(name="PushedModel"))
    run_t = store.put_context_type(ContextType(name="pipeline_run"))
    run = [Context(type_id=run_t, name="20261204-101500")]
    done = ExecutionState.COMPLETE

    def put(kind: int, inputs: list[tuple[Artifact, str]], outputs: list[tuple[Artifact, str]],
            **custom: object) -> list[int]:
        pairs = [ArtifactAndEvent(artifact=a, event=Event(type=EventType.INPUT, path=[key, 0])) for a, key in inputs]
        pairs += [ArtifactAndEvent(artifact=a, event=Event(type=EventType.OUTPUT, path=[key, 0])) for a, key in outputs]
        return store.put_execution(Execution(type_id=kind, name=str(uuid.uuid4()), last_known_state=done,
                                             custom_properties=custom), pairs, run,
                                   reuse_context_if_already_exist=True).artifact_ids

    examples_t = store.put_artifact_type(ArtifactType(name="Examples"))
    [examples_id] = store.put_artifacts([Artifact(type_id=examples_t, uri="/data/1")])
    examples = store.get_artifacts_by_id([examples_id])[0]
    trainer_t = component("Trainer")
    _, model_id = put(trainer_t, [(examples, "examples")], [(Artifact(type_id=model_t, uri="/m/1"), "model")],
                      train_steps=100, module_file="taxi.py")
    model = store.get_artifacts_by_id([model_id])[0]
    [trainer] = store.get_executions_by_type("tfx.components.trainer.component.Trainer")
    rows = files.run(store, "model_hyperparameters", model_id=model_id)
    assert [(r["hyperparameter"], r["value"], r["custom"]) for r in rows] == [
        ("module_file", "taxi.py", True), ("train_steps", 100, True)]
    assert {(r["model"], r["trainer"]) for r in rows} == {
        (f"Model #{model_id}", f"tfx.components.trainer.component.Trainer #{trainer.id}")}
    assert rows[0]["trained_on"] == [f"examples: Examples #{examples_id} (/data/1)"]
    [bare_model_id] = put(trainer_t, [], [(Artifact(type_id=model_t, uri="/m/0"), "model")])
    [bare] = files.run(store, "model_hyperparameters", model_id=bare_model_id)  # nothing to list: still its Trainer
    assert (bare["hyperparameter"], bare["trained_on"], bare["warm_started_from"]) == (None, [], None)
    assert {r["trainer"] for r in files.run(store, "training_environment", model_id=model_id)} == {
        f"tfx.components.trainer.component.Trainer #{trainer.id}"}
    _, evaluation_id, blessing_id = put(component("Evaluator"), [(model, "model")], [
        (Artifact(type_id=evaluation_t, uri="/e/1", properties={"accuracy": 0.93}), "evaluation"),
        (Artifact(type_id=blessing_t, uri="/b/1", properties={"blessed": 1}), "blessing")])
    blessing = store.get_artifacts_by_id([blessing_id])[0]
    put(component("Pusher"), [(model, "model"), (blessing, "model_blessing")],
        [(Artifact(type_id=pushed_t, uri="/serving/1", custom_properties={"pushed": 1}), "pushed_model")])

    [pushed] = files.run(store, "model_pushed", model_id=model_id)
    assert pushed["pushed_to"] == "/serving/1"
    assert re.fullmatch(r"tfx\.components\.pusher\.component\.Pusher #\d+", pushed["pusher"]), pushed
    [location] = files.run(store, "model_location", model_id=model_id)
    assert location["pushed_to"] == ["/serving/1"]
    [why] = files.run(store, "why_model_preferred", model_a=model_id, model_b=model_id)[:1]
    assert (dict(why["metrics"]), why["blessed"], why["pushed"]) == ({"accuracy": 0.93}, True, True)
    assert why["model"] == f"Model #{model_id}"
    [who] = files.run(store, "who_triggered_run", run_name="20261204-101500")
    assert len(who["executions"]) == 4
    assert all(re.fullmatch(r"tfx\.components\.\w+\.component\.\w+ #\d+ \(COMPLETE\)", x) for x in who["executions"]), who
    [evaluated] = files.run(store, "why_model_preferred", model_a=model_id, model_b=model_id)[:1]
    assert re.fullmatch(r"tfx\.components\.evaluator\.component\.Evaluator #\d+", evaluated["evaluator"]), evaluated
    [deployed] = files.run(store, "deployed_models", context_id=None)
    assert re.fullmatch(r"tfx\.components\.pusher\.component\.Pusher #\d+", deployed["pusher"]), deployed
    # TFX's Pusher writes a PushedModel for a model it did not push too, marked pushed = 0: no push.
    [unpushed_id] = put(trainer_t, [], [(Artifact(type_id=model_t, uri="/m/2"), "model")])
    unpushed = store.get_artifacts_by_id([unpushed_id])[0]
    put(component("Pusher"), [(unpushed, "model")],
        [(Artifact(type_id=pushed_t, uri="/serving/2", custom_properties={"pushed": 0}), "pushed_model")])
    assert files.run(store, "model_pushed", model_id=unpushed_id) == []
    assert files.run(store, "model_location", model_id=unpushed_id)[0]["pushed_to"] == []
    # TFX records blessed as a custom property; metrics may be custom properties too.
    put(component("Evaluator"), [(unpushed, "model"), (model, "baseline_model")], [
        (Artifact(type_id=evaluation_t, uri="/e/2", custom_properties={"loss": 0.5}), "evaluation"),
        (Artifact(type_id=blessing_t, uri="/b/2", custom_properties={"blessed": 0}), "blessing")])
    why_not = files.run(store, "why_model_preferred", model_a=unpushed_id, model_b=model_id)[0]
    assert (why_not["metrics"], why_not["blessed"], why_not["baseline"], why_not["pushed"]) == (
        [["loss", 0.5]], False, f"Model #{model_id}", False)
    # The newest blessed model: LIVE models only (these were written without a state), and
    # not the newer unpushed one, whose blessing is 0.
    latest = {"model_type": "Model", "blessing_type": "ModelBlessing", "context_id": None}
    assert files.run(store, "latest_blessed_model", **latest) == []
    store.put_artifacts([a.model_copy(update={"state": ArtifactState.LIVE}) for a in (model, unpushed)])
    [found] = files.run(store, "latest_blessed_model", **latest)
    assert (found["model"]["id"], found["blessing"]["id"]) == (model_id, blessing_id)

    # A blessing recorded as a boolean counts in both files that read it.
    [true_model_id] = put(trainer_t, [], [(Artifact(type_id=model_t, uri="/m/3"), "model")])
    true_model = store.get_artifacts_by_id([true_model_id])[0]
    put(component("Evaluator"), [(true_model, "model")],
        [(Artifact(type_id=blessing_t, uri="/b/3", custom_properties={"blessed": True}), "blessing")])
    assert files.run(store, "why_model_preferred", model_a=true_model_id, model_b=true_model_id)[0]["blessed"] is True
    # A blessing marked DELETED since: still what the Evaluator recorded, but said so, and
    # latest_blessed_model no longer counts it (before, nothing in these rows told them apart).
    [true_blessing] = [a for a in store.get_artifacts_by_type("ModelBlessing") if a.uri == "/b/3"]
    store.put_artifacts([true_blessing.model_copy(update={"state": ArtifactState.DELETED})])
    why_deleted = files.run(store, "why_model_preferred", model_a=true_model_id, model_b=true_model_id)[0]
    assert (why_deleted["blessed"], why_deleted["blessing_state"]) == (True, "DELETED")
    # A later step that reused the model (a cache hit, CACHED, linked to it by an OUTPUT event
    # as TFX records one) trained nothing: the files name the Trainer that did.
    put(trainer_t, [(examples, "examples")], [(model, "model")], train_steps=999, module_file="other.py")
    cached = [x for x in store.get_executions_by_type("tfx.components.trainer.component.Trainer")
              if x.custom_properties.get("train_steps") == 999]
    store.put_executions([x.model_copy(update={"last_known_state": ExecutionState.CACHED}) for x in cached])
    rows = files.run(store, "model_hyperparameters", model_id=model_id)
    assert {r["trainer"] for r in rows} == {f"tfx.components.trainer.component.Trainer #{trainer.id}"}
    assert {r["trainer"] for r in files.run(store, "training_environment", model_id=model_id)} == {
        f"tfx.components.trainer.component.Trainer #{trainer.id}"}


def test_cache_hits_importers_and_failed_steps_do_not_count_twice(store):
    """A TFX rerun served from cache records CACHED Evaluator and Pusher executions with
    OUTPUT events to the old artifacts; TFX's Importer and Resolver publish a model as an
    INTERNAL_OUTPUT; a FAILED Evaluator wrote nothing. None of them is a second push, a
    second evaluation or the Trainer (the files listed the push twice, the Importer as the
    Trainer and the failed Evaluator as an all-null row)."""
    from graphmd import (Artifact, ArtifactAndEvent, ArtifactState, ArtifactType, Event, EventType, Execution,
                         ExecutionState, ExecutionType)

    def kind(name: str) -> int:
        return store.put_execution_type(ExecutionType(name=name))

    model_t, evaluation_t, blessing_t, pushed_t = (store.put_artifact_type(ArtifactType(name=n)) for n in (
        "Model", "ModelEvaluation", "ModelBlessing", "PushedModel"))

    def put(kind_id: int, state: ExecutionState, inputs: list[tuple[int, str]], outputs: list[tuple[object, str]],
            event: EventType = EventType.OUTPUT, **custom: object) -> list[int]:
        pairs = [ArtifactAndEvent(event=Event(artifact_id=a, type=EventType.INPUT, path=[key, 0])) for a, key in inputs]
        pairs += [ArtifactAndEvent(artifact=a, event=Event(type=event, path=[key, 0])) if isinstance(a, Artifact)
                  else ArtifactAndEvent(event=Event(artifact_id=a, type=event, path=[key, 0])) for a, key in outputs]
        return store.put_execution(Execution(type_id=kind_id, last_known_state=state, custom_properties=custom),
                                   pairs).artifact_ids

    done, cached = ExecutionState.COMPLETE, ExecutionState.CACHED
    [model] = put(kind("Trainer"), done, [], [(Artifact(type_id=model_t, uri="/m/1"), "model")],
                  image="tfx:1", resources={"gpus": 1})
    put(kind("Importer"), done, [], [(model, "result")], EventType.INTERNAL_OUTPUT, artifact_uri="/m/1")
    _, evaluation, blessing = put(kind("Evaluator"), done, [(model, "model")], [
        (Artifact(type_id=evaluation_t, uri="/e/1", custom_properties={"auc": 0.9, "slices": {"all": 0.9}}),
         "evaluation"),
        (Artifact(type_id=blessing_t, uri="/b/1", custom_properties={"blessed": 1}), "blessing")])
    put(kind("Evaluator"), ExecutionState.FAILED, [(model, "model")], [])
    put(kind("Evaluator"), cached, [(model, "model")], [(evaluation, "evaluation"), (blessing, "blessing")])
    pusher = kind("Pusher")
    _, _, pushed = put(pusher, done, [(model, "model"), (blessing, "model_blessing")],
                       [(Artifact(type_id=pushed_t, uri="/serving/1", state=ArtifactState.LIVE), "pushed_model")])
    put(pusher, cached, [(model, "model"), (blessing, "model_blessing")], [(pushed, "pushed_model")])

    [push] = files.run(store, "model_pushed", model_id=model)
    assert (push["pushed_to"], push["state"]) == ("/serving/1", "LIVE")
    assert files.run(store, "model_location", model_id=model)[0]["pushed_to"] == ["/serving/1"]
    [why] = files.run(store, "why_model_preferred", model_a=model, model_b=model)[:1]
    assert why["evaluator"].startswith("Evaluator #") and (why["blessed"], why["pushed"]) == (True, True)
    assert dict(why["metrics"]) == {"auc": 0.9, "slices": '{"all": 0.9}'}  # STRUCT: its JSON text
    assert len(files.run(store, "why_model_preferred", model_a=model, model_b=model)) == 2  # one row per model
    assert {r["trainer"].split(" #")[0] for r in files.run(store, "model_hyperparameters", model_id=model)} == {
        "Trainer"}
    environment = files.run(store, "training_environment", model_id=model)
    assert {(r["trainer"].split(" #")[0], r["setting"]) for r in environment} == {
        ("Trainer", "image"), ("Trainer", "resources")}
    # A model never evaluated is not blessed (false, not null); a deleted push is no longer
    # where the model is stored.
    [other] = put(kind("Trainer"), done, [], [(Artifact(type_id=model_t, uri="/m/2"), "model")])
    assert files.run(store, "why_model_preferred", model_a=other, model_b=other)[0]["blessed"] is False
    store.put_artifacts([store.get_artifacts_by_id([pushed])[0].model_copy(update={"state": ArtifactState.DELETED})])
    assert files.run(store, "model_location", model_id=model)[0]["pushed_to"] == []
    assert files.run(store, "model_pushed", model_id=model)[0]["state"] == "DELETED"


def test_compare_runs_finds_tfx_and_kubeflow_metrics_and_who_triggered_says_the_run_s_type(store):
    """TFX's ModelEvaluation and Kubeflow's system.Metrics types declare no base type: only
    the demo's own METRICS types were found, so both stores compared no metrics."""
    from graphmd import (Artifact, ArtifactAndEvent, ArtifactType, Context, ContextType, Event, EventType, Execution,
                         ExecutionType, compare_runs)

    evaluator = store.put_execution_type(ExecutionType(name="Evaluator"))
    run_types = {name: store.put_context_type(ContextType(name=name)) for name in ("pipeline_run", "system.PipelineRun")}
    for type_name, run_type in (("ModelEvaluation", "pipeline_run"), ("system.Metrics", "system.PipelineRun")):
        metrics_t = store.put_artifact_type(ArtifactType(name=type_name))
        store.put_execution(Execution(type_id=evaluator), [ArtifactAndEvent(
            artifact=Artifact(type_id=metrics_t, custom_properties={"auc": 0.8}), event=Event(type=EventType.OUTPUT))],
            [Context(type_id=run_types[run_type], name="run-1")])
        [row] = files.run(store, "compare_runs", run_type=run_type, runs=["run-1"])
        assert [m["type"] for m in row["metrics"]] == [type_name]
        assert [(m.field, m.values) for m in compare_runs(store, ["run-1"], run_type=run_type).metrics] == [
            (f"{type_name}.auc", [0.8])]
    rows = files.run(store, "who_triggered_run", run_name="run-1")
    assert sorted(r["run_type"] for r in rows) == ["pipeline_run", "system.PipelineRun"]


def test_what_can_be_reused_starts_from_the_least_read_input(store):
    """A dataset every run reads has the lowest id; starting from it sought each of its
    readers. The lookup starts from the input the fewest executions read, and expands from
    it whatever Neo4j's statistics say: here they were sampled on a 50-run history and 4,900
    more executions of 7 other types, since deleted, and a plan free to choose then scans the
    trainer type's executions and joins each to the input (1,534 db hits, before the
    expansion moved into a subquery)."""
    from graphmd import Artifact, ArtifactType, Event, EventEdge, EventType, Execution, ExecutionState, ExecutionType

    record_history(store, 50)
    earlier = [store.put_execution_type(ExecutionType(name=f"Earlier{i}")) for i in range(7)]
    store.put_executions([Execution(type_id=t) for t in earlier for _ in range(700)])
    store.driver.execute_query("CALL db.prepareForReplanning()", database_=store.database)
    store.delete_everything()
    data_t = store.put_artifact_type(ArtifactType(name="Data"))
    model_t = store.put_artifact_type(ArtifactType(name="ModelY"))
    trainer = store.put_execution_type(ExecutionType(name="TrainerY"))
    [dataset] = store.put_artifacts([Artifact(type_id=data_t, uri="/data")])
    readers = 300
    result = store.put_lineage_subgraph(
        [Execution(type_id=trainer, last_known_state=ExecutionState.COMPLETE) for _ in range(readers)],
        [Artifact(type_id=model_t, uri=f"/m/{i}") for i in range(readers)],
        event_edges=[EventEdge(event=Event(type=EventType.INPUT, artifact_id=dataset), execution_index=i)
                     for i in range(readers)]
        + [EventEdge(event=Event(type=EventType.INPUT), execution_index=i, artifact_index=i) for i in range(readers)])
    model = result.artifact_ids[7]
    params = {"type_name": "TrainerY", "input_ids": [dataset, model], "properties": {}}
    [row] = files.run(store, "what_can_be_reused", **params)
    assert row["execution"]["id"] == result.execution_ids[7]
    profiled = store.driver.execute_query("PROFILE " + files.load("what_can_be_reused"), params,
                                          database_=store.database).summary.profile
    assert db_hits(profiled) < readers, db_hits(profiled)


def lineage_of(row) -> tuple[list[tuple[str, int]], list[str], dict[tuple[str, int], int]]:
    """A lineage file's row as (nodes by label and id, event keys, distances)."""
    return (sorted((list(n.labels)[0], n["id"]) for n in row["nodes"]), sorted(e["event_key"] for e in row["events"]),
            {(d["kind"], d["id"]): d["hops"] for d in row["distances"]})


def test_lineage_files_as_pasted_agree_with_the_library_on_a_deep_diamond_history(store):
    """130 runs whose Trainers read the two models before them: paths to a node double with
    every run, and the history is deeper than 100 hops, where the files change how they walk.
    As pasted (the file's own text, which Browser and cypher-shell run) and as graphmd query
    runs it, each hop limit gives get_lineage_subgraph's nodes and events, each node at the
    distance stream_lineage gives it."""
    history = record_history(store, 130)
    cases = [("lineage_upstream", LineageDirection.UPSTREAM, "run-0129/model"),
             ("lineage_upstream", LineageDirection.UPSTREAM, "run-0100/blessing"),
             ("lineage_downstream", LineageDirection.DOWNSTREAM, "run-0000/examples"),
             ("lineage_downstream", LineageDirection.DOWNSTREAM, "run-0060/model")]
    deepest = 0
    for name, direction, start in cases:
        for hops in (0, 1, 2, 3, 8, 99, 100, 101, 120, None):
            params = {"artifact_id": history.artifacts[start], "max_hops": hops}
            options = LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[history.artifacts[start]]),
                                                  max_num_hops=hops, direction=direction)
            graph = store.get_lineage_subgraph(options)
            expected = (sorted([("Artifact", a.id) for a in graph.artifacts]
                               + [("Execution", x.id) for x in graph.executions]),
                        sorted(f"{e.artifact_id}:{e.execution_id}:{e.type.value}" for e in graph.events),
                        {(type(step.node).__name__, step.node.id): step.distance
                         for step in store.stream_lineage(options)})
            [pasted] = store.driver.execute_query(files.load(name), params, database_=store.database).records
            [run] = files.run(store, name, **params)
            assert lineage_of(pasted) == expected, (name, start, hops)
            assert lineage_of(run) == expected, (name, start, hops)
            deepest = max(deepest, *expected[2].values())
    assert deepest > 120  # the limits over 100 cut a lineage that goes on


def test_lineage_files_as_pasted_walk_no_further_than_max_hops(store):
    """A hop limit pasted into Browser (:param max_hops => 3) stops the walk, not only the
    answer: the file as pasted reads about as much of the store for 3 hops from the newest
    model of 150 runs as for 3 hops from the third model, where it read the whole lineage.
    Over 100 hops the file expands the whole lineage first, and graphmd query's bound, written
    into the expansion, stops it."""
    history = record_history(store, 150)

    def hits(name: str, start: str, max_hops: int | None, text: str | None = None) -> int:
        params = {"artifact_id": history.artifacts[start], "max_hops": max_hops}
        result = store.driver.execute_query("PROFILE " + (text or files.load(name)), params,
                                            database_=store.database)
        return db_hits(result.summary.profile)

    for name, deep, shallow in (("lineage_upstream", "run-0149/model", "run-0002/model"),
                                ("lineage_downstream", "run-0000/examples", "run-0147/examples")):
        near = hits(name, shallow, 3)
        assert hits(name, deep, 3) < 3 * near < hits(name, deep, None), name
        far = {"artifact_id": history.artifacts[deep], "max_hops": 110}
        assert hits(name, deep, 110, files.statement(name, far)) < hits(name, deep, 110), name


def test_several_evaluators_and_pushers_cached_and_failed_steps(store):
    """A run that evaluated its model twice (blessed against one baseline, not against
    another), pushed it to two destinations (TFX records where as the custom property
    pushed_destination; its uri is the archive copy) and once not (pushed = 0), with a FAILED
    Evaluator and a rerun served from cache: why_model_preferred lists model A's Evaluators
    then B's, in id order, metrics by name; model_location and model_pushed say the
    destinations; who_triggered_run reads who triggered it from custom properties too."""
    from graphmd import (Artifact, ArtifactAndEvent, ArtifactState, Context, ContextType, Event, EventType,
                         ExecutionState)
    from graphmd._pipeline import record_cached_execution

    history = record_history(store, 3)
    ids, types = history.artifacts, history.type_ids
    run = [Context(type_id=store.put_context_type(ContextType(name="pipeline_run")), name="multi",
                   custom_properties={"triggered_by": "dave", "trigger": "backfill"})]
    done = ExecutionState.COMPLETE

    def put(component: str, name: str, inputs: dict[str, int], outputs: dict[str, Artifact],
            state: ExecutionState = done) -> list[int]:
        pairs = [ArtifactAndEvent(event=Event(artifact_id=a, type=EventType.INPUT, path=[k, 0]))
                 for k, a in inputs.items()]
        pairs += [ArtifactAndEvent(artifact=a, event=Event(type=EventType.OUTPUT, path=[k, 0]))
                  for k, a in outputs.items()]
        return store.put_execution(Execution(type_id=types[component], name=name, last_known_state=state), pairs, run,
                                   reuse_context_if_already_exist=True).artifact_ids[len(inputs):]

    [model] = put("Trainer", "multi/Trainer", {"base_model": ids["run-0002/model"]},
                  {"model": Artifact(type_id=types["Model"], name="multi/model", uri="/m", state=ArtifactState.LIVE)})

    def evaluate(name: str, baseline: str, blessed: int, **metrics: float) -> int:
        return put("Evaluator", name, {"model": model, "baseline_model": ids[baseline]}, {
            "evaluation": Artifact(type_id=types["ModelEvaluation"], custom_properties=metrics),
            "blessing": Artifact(type_id=types["ModelBlessing"], properties={"blessed": blessed})})[1]

    blessing = evaluate("multi/Evaluator-a", "run-0002/model", 1, zeta=0.5, recall=0.7, auc=0.9)
    evaluate("multi/Evaluator-b", "run-0000/model", 0, zeta=0.1, auc=0.2)
    put("Evaluator", "multi/Evaluator-failed", {"model": model}, {}, ExecutionState.FAILED)
    record_cached_execution(store, Execution(type_id=types["Evaluator"], name="multi/Evaluator-cached"),
                            {"model": [model]}, {"blessing": [blessing]}, run)

    def push(name: str, uri: str, **custom: object) -> None:
        put("Pusher", name, {"model": model, "model_blessing": blessing},
            {"pushed_model": Artifact(type_id=types["PushedModel"], uri=uri, state=ArtifactState.LIVE,
                                      custom_properties=custom)})

    push("multi/Pusher-a", "/root/Pusher/pushed_model/1", pushed=1, pushed_destination="/serving/a/1700000000")
    push("multi/Pusher-b", "/root/Pusher/pushed_model/2", pushed=1, pushed_destination="/serving/b/1700000001")
    push("multi/Pusher-c", "/root/Pusher/pushed_model/3", pushed=0)

    rows = files.run(store, "why_model_preferred", model_a=model, model_b=ids["run-0002/model"])
    assert [(r["model"], r["evaluator"], r["blessed"], r["baseline"], r["pushed"]) for r in rows] == [
        ("multi/model", "multi/Evaluator-a", True, "run-0002/model", True),
        ("multi/model", "multi/Evaluator-b", False, "run-0000/model", True),
        ("run-0002/model", "run-0002/Evaluator", True, "run-0001/model", True)]
    assert [r["metrics"] for r in rows[:2]] == [[["auc", 0.9], ["recall", 0.7], ["zeta", 0.5]],
                                                [["auc", 0.2], ["zeta", 0.1]]]
    assert rows[2]["metrics"] == sorted(rows[2]["metrics"])
    [location] = files.run(store, "model_location", model_id=model)
    assert location["pushed_uris"] == ["/root/Pusher/pushed_model/1", "/root/Pusher/pushed_model/2"]
    assert location["pushed_to"] == location["destinations"] == ["/serving/a/1700000000", "/serving/b/1700000001"]
    pushes = files.run(store, "model_pushed", model_id=model)
    assert [(p["pusher"], p["pushed_to"], p["pushed_uri"], p["destination"]) for p in pushes] == [
        ("multi/Pusher-a", "/serving/a/1700000000", "/root/Pusher/pushed_model/1", "/serving/a/1700000000"),
        ("multi/Pusher-b", "/serving/b/1700000001", "/root/Pusher/pushed_model/2", "/serving/b/1700000001")]
    # compare_runs' pushes mean the same by pushed_to.
    [compared] = files.run(store, "compare_runs", run_type="pipeline_run", runs=["multi"])
    assert sorted(p["pushed_to"] for p in compared["pushes"] if p["pushed"]) == location["pushed_to"]
    [row] = files.run(store, "model_pushed", model_id=ids["run-0002/model"])  # the history's: a declared property
    assert row["destination"] == "/serving/taxi"
    [who] = files.run(store, "who_triggered_run", run_name="multi")
    assert (who["run_type"], who["triggered_by"], who["trigger"]) == ("pipeline_run", "dave", "backfill")
    assert who["executions"][-4:] == ["multi/Evaluator-cached (CACHED)", "multi/Pusher-a (COMPLETE)",
                                      "multi/Pusher-b (COMPLETE)", "multi/Pusher-c (COMPLETE)"]


def test_a_home_grown_pipeline_s_steps_are_found_by_mlmd_s_base_types(store, neo4j_server):
    """A pipeline that names its steps Evaluate and Deploy, and its metrics Scores, declares
    them with MLMD's base types (EVALUATE, DEPLOY, METRICS): the question files find its
    evaluation, metrics and pushes as they find TFX's. The same names without a base type are
    no Evaluator and no Pusher. who_triggered_run lists the run's steps in the order they were
    recorded, though a second process (its own, later id block) gave the Train step a higher id
    than the steps after it."""
    import time

    from graphmd import (Artifact, ArtifactAndEvent, ArtifactBaseType, ArtifactType, Context, ContextType, Event,
                         EventType, Execution, ExecutionBaseType, ExecutionType)

    model_t = store.put_artifact_type(ArtifactType(name="Model", base_type=ArtifactBaseType.MODEL))
    scores_t = store.put_artifact_type(ArtifactType(name="Scores", base_type=ArtifactBaseType.METRICS))
    blessing_t = store.put_artifact_type(ArtifactType(name="ModelBlessing"))
    deployment_t = store.put_artifact_type(ArtifactType(name="Deployment"))
    train_t = store.put_execution_type(ExecutionType(name="Train", base_type=ExecutionBaseType.TRAIN))
    evaluate_t = store.put_execution_type(ExecutionType(name="Evaluate", base_type=ExecutionBaseType.EVALUATE))
    deploy_t = store.put_execution_type(ExecutionType(name="Deploy", base_type=ExecutionBaseType.DEPLOY))
    plain_evaluate_t = store.put_execution_type(ExecutionType(name="Evaluate", version="no-base"))
    plain_deploy_t = store.put_execution_type(ExecutionType(name="Deploy", version="no-base"))
    run = [Context(type_id=store.put_context_type(ContextType(name="PipelineRun")), name="night-01",
                   custom_properties={"triggered_by": "carol"})]

    def put(on: MetadataStore, type_id: int, name: str, inputs: dict[str, int],
            outputs: dict[str, Artifact]) -> list[int]:
        pairs = [ArtifactAndEvent(event=Event(artifact_id=a, type=EventType.INPUT, path=[k, 0]))
                 for k, a in inputs.items()]
        pairs += [ArtifactAndEvent(artifact=a, event=Event(type=EventType.OUTPUT, path=[k, 0]))
                  for k, a in outputs.items()]
        return on.put_execution(Execution(type_id=type_id, name=name), pairs, run,
                                reuse_context_if_already_exist=True).artifact_ids[len(inputs):]

    s = neo4j_server
    put(store, train_t, "warm-up", {}, {})  # holds an id block from here on
    with MetadataStore(s.uri, s.user, s.password, s.database) as other_process:  # reserves the next block
        [model] = put(other_process, train_t, "night-01/train", {},
                      {"model": Artifact(type_id=model_t, name="night-01/model", uri="/m/1")})
    time.sleep(0.01)
    put(store, evaluate_t, "night-01/evaluate", {"model": model}, {
        "scores": Artifact(type_id=scores_t, custom_properties={"auc": 0.91}),
        "blessing": Artifact(type_id=blessing_t, custom_properties={"blessed": 1})})
    time.sleep(0.01)
    put(store, deploy_t, "night-01/deploy", {"model": model},
        {"deployment": Artifact(type_id=deployment_t, uri="k8s://prod/fraud")})
    put(store, plain_evaluate_t, "night-01/evaluate-unmarked", {"model": model},
        {"scores": Artifact(type_id=scores_t, custom_properties={"auc": 0.5})})
    put(store, plain_deploy_t, "night-01/deploy-unmarked", {"model": model},
        {"deployment": Artifact(type_id=deployment_t, uri="k8s://staging/fraud")})

    rows = files.run(store, "why_model_preferred", model_a=model, model_b=model)
    assert [(r["evaluator"], r["metrics"], r["blessed"], r["pushed"]) for r in rows] == [
        ("night-01/evaluate", [["auc", 0.91]], True, True)] * 2
    assert [p["pushed_to"] for p in files.run(store, "model_pushed", model_id=model)] == ["k8s://prod/fraud"]
    [location] = files.run(store, "model_location", model_id=model)
    assert location["pushed_to"] == ["k8s://prod/fraud"]
    [compared] = files.run(store, "compare_runs", run_type="PipelineRun", runs=["night-01"])
    assert [b["evaluator"]["name"] for b in compared["blessings"]] == ["night-01/evaluate"]
    assert [(p["pusher"]["name"], p["pushed_to"]) for p in compared["pushes"]] == [
        ("night-01/deploy", "k8s://prod/fraud")]
    [triggered] = files.run(store, "who_triggered_run", run_name="night-01")
    assert triggered["triggered_by"] == "carol"
    assert triggered["executions"] == [f"{n} (UNKNOWN)" for n in (
        "warm-up", "night-01/train", "night-01/evaluate", "night-01/deploy", "night-01/evaluate-unmarked",
        "night-01/deploy-unmarked")]


def test_deployed_models_by_target_through_rollbacks(store):
    """TFX pushes each version into a directory of its own under the serving directory
    (pushed_destination '/serving/a/200', pushed_version '200'): the target is the serving
    directory. A push marked pushed = 0 or made by a CACHED Pusher is none; marking the newest
    push's artifact DELETED rolls the target back to the push before, as does a new push of the
    older model. A home-grown Deploy (base type DEPLOY) without a destination deploys to its
    artifact's uri, and the model it pushed is the input whose type is a MODEL, whatever its key."""
    from graphmd import (Artifact, ArtifactAndEvent, ArtifactBaseType, ArtifactState, ArtifactType, Context,
                         ContextType, Event, EventType, Execution, ExecutionBaseType, ExecutionState, ExecutionType)

    history = record_history(store, 3)
    types = history.type_ids
    m0, m1, m2 = (history.artifacts[f"run-{n:04d}/model"] for n in range(3))
    run = [Context(type_id=store.put_context_type(ContextType(name="pipeline_run")), name="pushes")]

    def push(model: int, uri: str, state: ExecutionState = ExecutionState.COMPLETE, **custom: object) -> int:
        [pushed] = store.put_execution(
            Execution(type_id=types["Pusher"], name=f"push {uri}", last_known_state=state),
            [ArtifactAndEvent(event=Event(artifact_id=model, type=EventType.INPUT, path=["model", 0])),
             ArtifactAndEvent(artifact=Artifact(type_id=types["PushedModel"], uri=uri, state=ArtifactState.LIVE,
                                                custom_properties=custom),
                              event=Event(type=EventType.OUTPUT, path=["pushed_model", 0]))],
            run, reuse_context_if_already_exist=True).artifact_ids[1:]
        return pushed

    def deployed(context_id: int | None = None) -> dict[str, tuple[int | None, str | None, int, int | None]]:
        return {r["target"]: (r["model_id"], r["version"], r["pushes"], r["previous_model_id"])
                for r in files.run(store, "deployed_models", context_id=context_id)}

    push(m0, "/root/pushed/1", pushed=1, pushed_destination="/serving/a/100", pushed_version="100")
    newest_a = push(m1, "/root/pushed/2", pushed=1, pushed_destination="/serving/a/200", pushed_version="200")
    push(m1, "/root/pushed/3", pushed=1, pushed_destination="/serving/b/300", pushed_version="300")
    push(m2, "/root/pushed/4", pushed=0)
    push(m2, "/root/pushed/5", ExecutionState.CACHED, pushed=1, pushed_destination="/serving/a/400",
         pushed_version="400")
    push(m2, "/root/pushed/6", pushed=1, pushed_destination="/serving/c/600", pushed_version=600)
    now = deployed()
    assert now["/serving/a"] == (m1, "200", 2, m0)
    assert now["/serving/b"] == (m1, "300", 1, None)
    assert now["/serving/c"] == (m2, "600", 1, None)  # an int version too
    assert now["/serving/taxi"][0] in (m0, m1, m2)  # the history's own pushes (a declared destination)
    assert set(now) == {"/serving/a", "/serving/b", "/serving/c", "/serving/taxi"}

    [stored] = store.get_artifacts_by_id([newest_a])
    store.put_artifacts([stored.model_copy(update={"state": ArtifactState.DELETED})])
    push(m0, "/root/pushed/7", pushed=1, pushed_destination="/serving/b/700", pushed_version="700")
    now = deployed()
    assert now["/serving/a"] == (m0, "100", 1, None)
    assert now["/serving/b"] == (m0, "700", 2, m1)

    model_t = store.put_artifact_type(ArtifactType(name="Fraud", base_type=ArtifactBaseType.MODEL))
    config_t = store.put_artifact_type(ArtifactType(name="DeployConfig"))
    deploy_t = store.put_execution_type(ExecutionType(name="Deploy", base_type=ExecutionBaseType.DEPLOY))
    target_t = store.put_artifact_type(ArtifactType(name="Deployment"))
    [config, model] = store.put_artifacts([Artifact(type_id=config_t, uri="/c"),
                                           Artifact(type_id=model_t, name="fraud-7", uri="/m/7")])
    release = [Context(type_id=store.put_context_type(ContextType(name="Release")), name="r7")]
    result = store.put_execution(
        Execution(type_id=deploy_t, name="deploy fraud-7"),
        [ArtifactAndEvent(event=Event(artifact_id=config, type=EventType.INPUT, path=["config", 0])),
         ArtifactAndEvent(event=Event(artifact_id=model, type=EventType.INPUT, path=["candidate", 0])),
         ArtifactAndEvent(artifact=Artifact(type_id=target_t, uri="k8s://prod/fraud"),
                          event=Event(type=EventType.OUTPUT))], release)
    [row] = files.run(store, "deployed_models", context_id=result.context_ids[0])
    assert (row["target"], row["model"], row["model_id"], row["destination"], row["pusher"]) == (
        "k8s://prod/fraud", "fraud-7", model, None, "deploy fraud-7")
    assert "k8s://prod/fraud" in deployed() and "k8s://prod/fraud" not in deployed(store.get_contexts_by_type(
        "pipeline_run")[0].id)
