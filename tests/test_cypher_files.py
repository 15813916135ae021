"""Each cypher/ file's results on a generated history, and the lineage files agreeing with
get_lineage_subgraph. The files run exactly as a user pastes them (graphmd._cypher_files)."""

from __future__ import annotations

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
             "latest_blessed_model"}


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
        assert f"graphmd cypher-shell -f cypher/{name}.cypher -P" in text, name  # and how to run it in the shell


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
    assert (row["uri"], row["pushed_to"]) == (f"/models/taxi/run-{pushed:04d}", [f"/serving/taxi/{pushed}"])
    [row] = files.run(session_store, "model_location", model_id=history.artifacts[f"run-{not_pushed:04d}/model"])
    assert row["pushed_to"] == []
    [push] = files.run(session_store, "model_pushed", model_id=history.artifacts[f"run-{pushed:04d}/model"])
    artifact = session_store.get_artifacts_by_id([history.artifacts[f"run-{pushed:04d}/pushed_model"]])[0]
    assert (push["pushed_to"], push["pushed_at_ms"]) == (artifact.uri, artifact.create_time_since_epoch)
    assert push["pushed_at"].to_native().timestamp() * 1000 == pytest.approx(artifact.create_time_since_epoch)
    assert files.run(session_store, "model_pushed", model_id=history.artifacts[f"run-{not_pushed:04d}/model"]) == []


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


@pytest.mark.parametrize("name, start", [("lineage_upstream", "run-0049/model"),
                                         ("lineage_downstream", "run-0001/model")])
def test_max_hops_bounds_the_walk_not_only_the_answer(session_store, history, name, start):
    """With max_hops only in the WHERE, a 2-hop read walked the whole history first (30,000
    nodes expanded on 3,000 runs): the bound is written into the pattern, the file's own
    text unbounded for null."""
    params = {"artifact_id": history.artifacts[start]}  # 49 runs of warm starts away from the other end
    assert "[:EVENT*0..2]" in files.statement(name, {**params, "max_hops": 2})
    assert "[:EVENT*0..]" in files.statement(name, {**params, "max_hops": None})
    bounded = session_store.driver.execute_query("PROFILE " + files.statement(name, {**params, "max_hops": 2}),
                                                 {**params, "max_hops": 2}, database_=session_store.database)
    unbounded = session_store.driver.execute_query("PROFILE " + files.load(name), {**params, "max_hops": 2},
                                                   database_=session_store.database)
    assert bounded.records[0]["nodes"] and bounded.records[0].data() == unbounded.records[0].data()

    def hits(plan) -> int:
        return plan.get("dbHits", 0) + sum(hits(child) for child in plan.get("children", []))

    assert hits(bounded.summary.profile) * 3 < hits(unbounded.summary.profile)


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


def test_the_questions_answer_on_a_store_tfx_wrote(store):
    """TFX names its types after the component classes and its run contexts pipeline_run,
    leaves executions unnamed and records a component's parameters as custom properties;
    the questions find them as they find graphmd's own names, and name nodes by type and id."""
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
        return store.put_execution(Execution(type_id=kind, last_known_state=done, custom_properties=custom), pairs, run,
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
    readers. The lookup starts from the input the fewest executions read."""
    from graphmd import Artifact, ArtifactType, Event, EventEdge, EventType, Execution, ExecutionState, ExecutionType

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

    def hits(plan) -> int:
        return plan.get("dbHits", 0) + sum(hits(child) for child in plan.get("children", []))

    assert hits(profiled) < readers, hits(profiled)
