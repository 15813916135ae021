"""A TFX-like pipeline driven through the ml_metadata client, once against `graphmd serve` and
once against ml-metadata's own in-process SQLite store: every answer must be the same.

The driver does what TFX's launcher does: registers types on every run, records each component
as RUNNING then COMPLETE with put_execution (reusing the pipeline's contexts), warm-starts the
Trainer from the latest model of the pipeline (a filter on contexts_a.name), and at the end asks
for the model's upstream lineage. Ids differ between the two stores, so answers are compared
with ids replaced by what names each node (type and name, or uri).
"""

from __future__ import annotations

import pytest

pytest.importorskip("ml_metadata")

import ml_metadata as mlmd  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from _grpc_helpers import client, running_server  # noqa: E402

PIPELINE = "taxi"
RUNS = 3


def _types(store):
    """Register the pipeline's types, as TFX does at every run (idempotent)."""
    return {
        "Examples": store.put_artifact_type(pb.ArtifactType(
            name="Examples", base_type=pb.ArtifactType.DATASET, properties={"span": pb.INT, "split_names": pb.STRING})),
        "Model": store.put_artifact_type(pb.ArtifactType(name="Model", base_type=pb.ArtifactType.MODEL)),
        "ModelBlessing": store.put_artifact_type(pb.ArtifactType(name="ModelBlessing")),
        "ExampleGen": store.put_execution_type(pb.ExecutionType(name="ExampleGen", properties={"input_base": pb.STRING})),
        "Trainer": store.put_execution_type(pb.ExecutionType(
            name="Trainer", base_type=pb.ExecutionType.TRAIN, properties={"train_steps": pb.INT, "lr": pb.DOUBLE})),
        "Evaluator": store.put_execution_type(pb.ExecutionType(name="Evaluator")),
        "pipeline": store.put_context_type(pb.ContextType(name="pipeline")),
        "pipeline_run": store.put_context_type(pb.ContextType(name="pipeline_run")),
        "node": store.put_context_type(pb.ContextType(name="node", properties={"pipeline_name": pb.STRING})),
    }


def _contexts(types, run, component):
    return [
        pb.Context(type_id=types["pipeline"], name=PIPELINE),
        pb.Context(type_id=types["pipeline_run"], name=f"run-{run}"),
        pb.Context(type_id=types["node"], name=f"{PIPELINE}.{component}",
                   properties={"pipeline_name": pb.Value(string_value=PIPELINE)}),
    ]


def _event(kind, key):
    event = pb.Event(type=kind)
    event.path.steps.add().key = key
    event.path.steps.add().index = 0
    return event


def _latest_model(store):
    """TFX's latest-artifact resolver: the newest Model of this pipeline."""
    found = store.get_artifacts(list_options=mlmd.ListOptions(
        limit=1, order_by=mlmd.OrderByField.ID, is_asc=False,
        filter_query=f"type = 'Model' AND contexts_a.name = '{PIPELINE}'"))
    return found[0] if found else None


def _run_component(store, types, run, component, properties, inputs, outputs):
    """Record a component run the way TFX's launcher does: RUNNING first, then the outputs
    and COMPLETE in a second put_execution that reuses the contexts."""
    execution = pb.Execution(type_id=types[component], name=f"run-{run}.{component}",
                             last_known_state=pb.Execution.RUNNING, properties=properties)
    execution_id, _, context_ids = store.put_execution(
        execution, [(a, _event(pb.Event.INPUT, key)) for key, a in inputs], _contexts(types, run, component),
        reuse_context_if_already_exist=True)
    execution.id = execution_id
    execution.last_known_state = pb.Execution.COMPLETE
    contexts = store.get_contexts_by_id(context_ids)
    pairs = [(a, _event(pb.Event.OUTPUT, key)) for key, a in outputs]
    _, artifact_ids, _ = store.put_execution(execution, pairs, contexts, reuse_context_if_already_exist=True)
    for (_, artifact), artifact_id in zip(outputs, artifact_ids):
        artifact.id = artifact_id
    return execution_id


def drive_pipeline(store):
    """Run the pipeline RUNS times and return every answer a TFX user would look at."""
    answers = {}
    for run in range(RUNS):
        types = _types(store)
        examples = pb.Artifact(type_id=types["Examples"], uri=f"/data/{run}/examples", state=pb.Artifact.LIVE,
                               properties={"span": pb.Value(int_value=run),
                                           "split_names": pb.Value(string_value='["train", "eval"]')},
                               custom_properties={"tfx_version": pb.Value(string_value="1.15.0")})
        _run_component(store, types, run, "ExampleGen",
                       {"input_base": pb.Value(string_value="/data/csv")}, [], [("examples", examples)])
        base_model = _latest_model(store)
        model = pb.Artifact(type_id=types["Model"], uri=f"/models/{run}", state=pb.Artifact.LIVE)
        model.custom_properties["hparams"].struct_value.update({"layers": [64, 32], "dropout": 0.5})
        inputs = [("examples", examples)] + ([("base_model", base_model)] if base_model else [])
        _run_component(store, types, run, "Trainer",
                       {"train_steps": pb.Value(int_value=100 * (run + 1)), "lr": pb.Value(double_value=0.01)},
                       inputs, [("model", model)])
        blessing = pb.Artifact(type_id=types["ModelBlessing"], uri=f"/blessings/{run}", state=pb.Artifact.LIVE,
                               custom_properties={"blessed": pb.Value(bool_value=run % 2 == 0)})
        _run_component(store, types, run, "Evaluator", {}, [("model", model), ("examples", examples)],
                       [("blessing", blessing)])
        answers[f"latest model after run {run}"] = [_latest_model(store)]

    latest = _latest_model(store)
    options = pb.LineageSubgraphQueryOptions(
        starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(filter_query=f"uri = '{latest.uri}'"),
        max_num_hops=20, direction=pb.LineageSubgraphQueryOptions.UPSTREAM)
    answers["upstream lineage of the latest model"] = store.get_lineage_subgraph(options)
    options.max_num_hops = 2
    answers["2 hops upstream of the latest model"] = store.get_lineage_subgraph(options)
    answers["executions of run-1"] = store.get_executions(
        list_options=mlmd.ListOptions(filter_query="contexts_a.name = 'run-1'"))
    answers["Trainer runs of the pipeline"] = store.get_executions(list_options=mlmd.ListOptions(
        filter_query=f"type = 'Trainer' AND contexts_a.name = '{PIPELINE}' AND contexts_b.name = '{PIPELINE}.Trainer'"))
    pipeline = store.get_context_by_type_and_name("pipeline", PIPELINE)
    answers["pipeline context"] = [pipeline]
    answers["artifacts of the pipeline"] = store.get_artifacts_by_context(pipeline.id)
    answers["executions of the pipeline"] = store.get_executions_by_context(pipeline.id)
    trainer_ids = [e.id for e in store.get_executions_by_type("Trainer")]
    answers["events of the trainers"] = store.get_events_by_execution_ids(trainer_ids)
    answers["contexts of the last trainer"] = store.get_contexts_by_execution(trainer_ids[-1])
    answers["types"] = [*store.get_artifact_types(), *store.get_execution_types(), *store.get_context_types()]
    return answers


def _normal(store, answers):
    """Answers with every id replaced by the name of what it points to."""
    key = {}
    for a in store.get_artifacts():
        key[("artifact", a.id)] = a.uri
    for x in store.get_executions():
        key[("execution", x.id)] = x.name
    for c in store.get_contexts():
        key[("context", c.id)] = f"{c.type}:{c.name}"
    type_names = {t.id: t.name for t in answers["types"]}

    def node(message, kind):
        data = json_format.MessageToDict(message, preserving_proto_field_name=True)
        for volatile in ("id", "create_time_since_epoch", "last_update_time_since_epoch"):
            data.pop(volatile, None)
        if "type_id" in data:
            data["type_id"] = type_names[int(data["type_id"])]
        if kind == "event":
            data["artifact_id"] = key[("artifact", int(data["artifact_id"]))]
            data["execution_id"] = key[("execution", int(data["execution_id"]))]
            data.pop("milliseconds_since_epoch", None)
        for end in ("artifact_id", "execution_id", "context_id"):
            if kind in ("attribution", "association") and end in data:
                data[end] = key[(end.split("_")[0], int(data[end]))]
        return data

    def listing(messages, kind):
        return sorted((node(m, kind) for m in messages), key=repr)

    out = {}
    for name, answer in answers.items():
        if isinstance(answer, pb.LineageGraph):
            out[name] = {
                "artifacts": listing(answer.artifacts, "node"), "executions": listing(answer.executions, "node"),
                "contexts": listing(answer.contexts, "node"), "events": listing(answer.events, "event"),
                "attributions": listing(answer.attributions, "attribution"),
                "associations": listing(answer.associations, "association"),
                "types": sorted(t.name for t in [*answer.artifact_types, *answer.execution_types,
                                                 *answer.context_types]),
            }
        elif name == "types":
            without_ids = [type(t)() for t in answer]
            for copy, t in zip(without_ids, answer):
                copy.CopyFrom(t)
                copy.ClearField("id")
            out[name] = sorted(json_format.MessageToJson(t, sort_keys=True) for t in without_ids
                               if not t.name.startswith("mlmd."))
        else:
            kind = "event" if name.startswith("events") else "node"
            out[name] = [node(m, kind) for m in answer]  # order matters: both list by id
    return out


@pytest.mark.slow
def test_tfx_pipeline_answers_match_mlmds_own_store(store):
    sqlite = mlmd.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig()))
    want = _normal(sqlite, drive_pipeline(sqlite))
    with running_server(store) as server:
        grpc_client = client(server.port)
        got = _normal(grpc_client, drive_pipeline(grpc_client))
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name
    # The answers say something: warm starting linked every model to the one before it.
    lineage = want["upstream lineage of the latest model"]
    assert {a["uri"] for a in lineage["artifacts"]} == {f"/data/{r}/examples" for r in range(RUNS)} | {
        f"/models/{r}" for r in range(RUNS)}
    assert [m[0]["uri"] for k, m in want.items() if k.startswith("latest model")] == [
        f"/models/{r}" for r in range(RUNS)]
    assert len(want["executions of run-1"]) == 3 and len(want["Trainer runs of the pipeline"]) == RUNS
