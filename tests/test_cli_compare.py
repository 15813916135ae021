"""`graphmd compare` and `graphmd diff` compare custom properties too; `compare --format json`."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from graphmd import MetadataStore
from graphmd._tfx_pipeline import History, record_history


@pytest.fixture
def history(store: MetadataStore) -> History:
    return record_history(store, 6)


def _accelerators(history: History) -> tuple[str, str]:
    a, b = (history.plans[r].step("Trainer").custom_properties["accelerator"] for r in (4, 5))
    assert (a, b) == ("cpu", "gpu")  # the recorded history has them differ here
    return a, b


def test_compare_shows_custom_properties_and_marks_the_differing_ones(cli, history):
    cpu, gpu = _accelerators(history)
    text = cli("compare", "run-0004", "run-0005")
    assert re.search(rf"^\*\s+Trainer\.accelerator \(custom\)\s+{cpu}\s+{gpu}", text, re.MULTILINE), text
    assert re.search(r"^\s+Trainer\.python \(custom\)\s+3\.11\s+3\.11", text, re.MULTILINE), text  # same: no '*'


def test_diff_shows_custom_properties_and_marks_the_differing_ones(cli, history):
    cpu, gpu = _accelerators(history)
    a, b = history.artifacts["run-0004/model"], history.artifacts["run-0005/model"]
    text = cli("diff", str(a), str(b))
    assert re.search(rf"^\*\s+Trainer\.accelerator \(custom\)\s+{cpu}\s+{gpu}", text, re.MULTILINE), text
    data = json.loads(cli("diff", str(a), str(b), "--format", "json"))
    accelerator = next(p for p in data["parameters"] if p["field"] == "Trainer.accelerator")
    assert accelerator == {"field": "Trainer.accelerator", "type": "Trainer", "property": "accelerator",
                           "custom": True, "differs": True, "values": [cpu, gpu], "sources": [[], []]}
    rate = next(p for p in data["parameters"] if p["field"] == "Trainer.learning_rate")
    assert rate["custom"] is False
    # Nodes carry their kind as every JSON output of the CLI spells it (`graphmd query`, `show`).
    assert [n["kind"] for n in data["artifacts"]] == ["Artifact", "Artifact"]
    assert {n["kind"] for n in data["shared"]} == {"Artifact", "Execution"}


def test_compare_json_has_stable_keys_and_values_typed_as_stored(cli, history, store):
    """--format json: every field with the same keys, the values as stored (an int stays an
    int, a float a float; a STRUCT an object, a PROTO its bytes in base64), a run's several
    executions of a component as a list with their sources, a value a run lacks as null."""
    from graphmd import Context, Execution, ProtoValue
    from graphmd._pipeline import record_execution

    run_5 = store.get_context_by_type_and_name("PipelineRun", "run-0005")
    trainer_t = history.type_ids["Trainer"]
    with pytest.raises(RuntimeError):  # a retried Trainer in run-0005: FAILED, other values
        with record_execution(store, Execution(type_id=trainer_t, properties={"learning_rate": 0.5}, custom_properties={
                "accelerator": "tpu", "flags": {"mixed_precision": True, "layers": [1, 2]},
                "config": ProtoValue(type_url="type.googleapis.com/x.Config", value=b"\xff\x00\x01")}),
                contexts=[Context(type_id=run_5.type_id, name="run-0005")]) as retry:
            raise RuntimeError("preempted")
    retried = retry.execution.id
    table = cli("compare", "run-0004", "run-0005")
    data = json.loads(cli("compare", "run-0004", "run-0005", "--format", "json"))
    assert list(data) == ["runs", "parameters", "metrics", "outcome"] and data["runs"] == ["run-0004", "run-0005"]
    fields = {f["field"]: f for f in data["parameters"] + data["metrics"]}
    assert all(list(f) == ["field", "type", "property", "custom", "differs", "values", "sources"]
               for f in [*fields.values(), *data["outcome"]])
    assert all(f["field"] == f"{f['type']}.{f['property']}" for f in fields.values())
    # every row of the table, header aside
    assert len(fields) + len(data["outcome"]) == len(table.strip().splitlines()) - 1
    plan_4, plan_5 = (history.plans[r].step("Trainer") for r in (4, 5))
    trainer_5 = history.executions["run-0005/Trainer"]
    rate = fields["Trainer.learning_rate"]
    assert rate == {"field": "Trainer.learning_rate", "type": "Trainer", "property": "learning_rate",
                    "custom": False, "differs": True,
                    "values": [plan_4.properties["learning_rate"], [plan_5.properties["learning_rate"], 0.5]],
                    "sources": [[], [f"#{trainer_5}", f"#{retried} FAILED"]]}
    steps = fields["Trainer.num_steps"]
    assert steps["values"][0] == plan_4.properties["num_steps"] and type(steps["values"][0]) is int
    assert steps["values"][1] == plan_5.properties["num_steps"]  # the FAILED retry has none: a value, named
    assert steps["sources"][1] == [f"#{trainer_5}"]
    accuracy = fields["ModelEvaluation.accuracy"]
    assert type(accuracy["values"][0]) is float and accuracy["custom"] is False and accuracy["sources"] == [[], []]
    assert fields["Trainer.accelerator"]["custom"] is True
    assert fields["Trainer.flags"]["values"] == [None, {"mixed_precision": True, "layers": [1, 2]}]
    assert fields["Trainer.config"]["values"] == [None, {"type_url": "type.googleapis.com/x.Config",
                                                         "value": "/wAB"}]
    assert fields["Trainer.error_type"]["values"] == [None, "RuntimeError"]
    assert "Trainer.error_traceback" not in fields  # kilobytes a FAILED step's: `graphmd show` has it
    assert re.search(r"^\*\s+Trainer\.config \(custom\)", table, re.MULTILINE), table
    # Nothing to compare is still the same object, with empty lists.
    empty = store.put_contexts([Context(type_id=run_5.type_id, name="empty")])
    assert empty and json.loads(cli("compare", "empty", "--format", "json")) == {
        "runs": ["empty"], "parameters": [], "metrics": [], "outcome": []}
    # Errors stay on stderr with exit 1, as for the table.
    assert "no PipelineRun context named 'run-9999'" in cli("compare", "run-0004", "run-9999", "--format", "json",
                                                            code=1)
    # A run given by its context's id gets the name to use.
    said = cli("compare", "run-0004", str(run_5.id), code=1)
    assert (f"no PipelineRun context named '{run_5.id}'; runs are compared by name: "
            f"context {run_5.id} is PipelineRun 'run-0005'") in said, said


def test_compare_says_which_run_s_model_was_blessed_and_pushed(cli, history, store):
    """The deciding fact between two runs' models: run-0004's was blessed and pushed, run-0003's
    was not (its accuracy was below the baseline's); by which Evaluator, against which
    baseline, pushed where and when."""
    text = cli("compare", "run-0003", "run-0004")
    evaluators = [history.executions[f"run-000{r}/Evaluator"] for r in (3, 4)]
    pushers = [history.executions[f"run-000{r}/Pusher"] for r in (3, 4)]
    assert re.search(rf"^\*\s+blessed\s+no \(Evaluator #{evaluators[0]}\)\s+yes \(Evaluator #{evaluators[1]}\)$",
                     text, re.MULTILINE), text
    baseline = f"Model #{history.artifacts['run-0002/model']} run-0002/model"
    assert re.search(rf"^\s+baseline\s+{baseline}\s+{baseline}$", text, re.MULTILINE), text
    assert re.search(rf"^\*\s+pushed\s+no \(Pusher #{pushers[0]}\)\s+yes \(Pusher #{pushers[1]}\)$",
                     text, re.MULTILINE), text
    assert re.search(r"^\*\s+pushed to\s+/serving/taxi$", text, re.MULTILINE), text
    assert re.search(r"^\*\s+pushed at\s+20\d\d-\d\d-\d\d \d\d:\d\d:\d\d\.\d\d\d UTC$", text, re.MULTILINE), text
    outcome = {o["field"]: o for o in json.loads(cli("compare", "run-0003", "run-0004", "--format", "json"))["outcome"]}
    assert outcome["blessed"]["values"] == [False, True] and outcome["pushed"]["values"] == [False, True]
    [pushed] = store.get_artifacts_by_id([history.artifacts["run-0004/pushed_model"]])
    assert outcome["pushed at"]["values"] == [None, pushed.create_time_since_epoch]
    # To the millisecond, as stored: two pushes within one second print apart, as '*' says.
    ms = pushed.create_time_since_epoch
    when = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    assert re.search(rf"^\*\s+pushed at\s+{when}\.{ms % 1000:03d} UTC$", text, re.MULTILINE), text


def test_diff_with_depth_lists_as_only_a_nothing_b_came_from(cli, history):
    """Model 5 was warm-started, through models 4 and 3, from model 2: within 2 hops of model 2
    is nothing model 5 did not come from too, further away. Neither the text, the JSON nor the
    drawing's tint says "only A" for any of it."""
    a, b = history.artifacts["run-0002/model"], history.artifacts["run-0005/model"]
    data = json.loads(cli("diff", str(a), str(b), "--depth", "2", "--format", "json"))
    assert data["only"][0] == []
    assert "run-0002/examples" in {n.get("name") for n in data["shared"]}
    assert "run-0005/examples" in {n.get("name") for n in data["only"][1]}
    assert re.search(r"^only A: 0 artifacts, 0 executions$", cli("diff", str(a), str(b), "--depth", "2"), re.MULTILINE)
    svg = cli("diff", str(a), str(b), "--depth", "2", "--format", "svg")
    assert "#ffd8a8" not in svg.lower() and "#d0bfff" in svg.lower()  # only A's tint, only B's
    # Cut 2 hops up, both lineages go on (the data, model 1): the drawing marks where, as
    # `graphmd lineage` does; it drew the cut nodes as if the lineage began there.
    assert "more-upstream" in svg
    page = cli("diff", str(a), str(b), "--depth", "2", "--format", "html")
    assert "more-upstream" in page
    whole = cli("diff", str(a), str(b), "--whole", "--format", "svg")
    assert "more-upstream" not in whole


def test_diff_writes_every_format_to_the_output_file(cli, history, tmp_path):
    """-o takes the table and JSON too, not only the drawings: the file holds what stdout
    would, and stdout holds nothing but the note of what was written."""
    a, b = history.artifacts["run-0004/model"], history.artifacts["run-0005/model"]
    for fmt, check in (("table", lambda text: "Trainer.accelerator (custom)" in text and "1 hop)" in text),
                       ("json", lambda text: json.loads(text)["artifacts"][0]["id"] == a)):
        path = tmp_path / f"diff.{fmt}"
        said = cli("diff", str(a), str(b), "--depth", "1", "--format", fmt, "-o", str(path))
        assert check(path.read_text(encoding="utf-8")), fmt
        assert said.strip() == f"wrote {path}", said
    assert cli("diff", str(a), str(b), "--depth", "1").strip() == (tmp_path / "diff.table").read_text().strip()


def test_compare_writes_to_a_file_as_lineage_and_diff_do(cli, history, tmp_path):
    """`-o FILE` was "No such option" for compare alone; the file holds what stdout would."""
    table_file, json_file = tmp_path / "runs.txt", tmp_path / "runs.json"
    said = cli("compare", "run-0004", "run-0005", "-o", str(table_file))
    assert f"wrote {table_file} (2 runs)" in said
    assert table_file.read_text(encoding="utf-8") == cli("compare", "run-0004", "run-0005")
    cli("compare", "run-0004", "run-0005", "--format", "json", "--output", str(json_file))
    assert json.loads(json_file.read_text(encoding="utf-8")) == json.loads(
        cli("compare", "run-0004", "run-0005", "--format", "json"))


def test_a_runs_several_metrics_name_their_artifacts_not_as_executions(cli, store):
    """Two candidates' metrics in one run were each shown with '#<artifact id>', the form
    an execution's value has: artifact #7 and execution #7 are different nodes."""
    from graphmd import (Artifact, ArtifactAndEvent, ArtifactBaseType, ArtifactType, Context, ContextType, Event,
                         EventType, Execution, ExecutionType, PropertyType)

    scores_t = store.put_artifact_type(ArtifactType(name="Scores", base_type=ArtifactBaseType.METRICS,
                                                    properties={"accuracy": PropertyType.DOUBLE}))
    evaluate_t = store.put_execution_type(ExecutionType(name="Evaluate"))
    run_t = store.put_context_type(ContextType(name="PipelineRun"))
    ids = []
    for accuracy in (0.91, 0.88):
        result = store.put_execution(Execution(type_id=evaluate_t), [ArtifactAndEvent(
            artifact=Artifact(type_id=scores_t, uri=f"/scores/{accuracy}", properties={"accuracy": accuracy}),
            event=Event(type=EventType.OUTPUT))], [Context(type_id=run_t, name="cand-run")],
            reuse_context_if_already_exist=True)
        ids.append(result.artifact_ids[0])
    data = json.loads(cli("compare", "cand-run", "--format", "json"))
    [accuracy] = [f for f in data["metrics"] if f["field"] == "Scores.accuracy"]
    assert accuracy["values"] == [[0.91, 0.88]]
    assert accuracy["sources"] == [[f"artifact #{ids[0]}", f"artifact #{ids[1]}"]]
    assert f"0.91 (artifact #{ids[0]}); 0.88 (artifact #{ids[1]})" in cli("compare", "cand-run")


def test_a_store_without_run_types_points_at_the_flag(cli, store):
    """The library's message named its parameter, run_type, which the command line has as
    --run-type."""
    said = cli("compare", "x", "y", code=1)
    assert "no run context type" in said and "--run-type" in said
