"""An ml-metadata store built by ml-metadata itself: the history of a 7-stage TFX-like pipeline.

Each run is ExampleGen -> StatisticsGen -> SchemaGen -> Transform -> Trainer (warm-starting
from the previous run's model) -> Evaluator (against the previous model) -> Pusher, recorded
as TFX records it: one put_execution per stage, linked to the pipeline and run contexts.
On top, the store holds every property kind (INT, DOUBLE, STRING, STRUCT, PROTO, BOOLEAN;
declared and custom; on artifacts, executions and contexts), every event type and path shape
(none, key and index, index only, key only, long mixed, unicode, the largest index), every artifact
and execution state, type versions, base types, descriptions, external ids, input and output
types, and three levels of parent contexts.

`python -m tests._mlmd_history FILE --runs N` builds such a store in a SQLite file (the
100,000-node import in docs/migrating.md is N = 5,900).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from ml_metadata.proto import metadata_store_pb2 as pb

STAGES = ("ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator", "Pusher")
NODES_PER_RUN = 7 + 9 + 1  # executions, artifacts, the run's context
_ARTIFACT_STATES = [s for s in pb.Artifact.State.values() if s != pb.Artifact.UNKNOWN] + [pb.Artifact.UNKNOWN]
_EXECUTION_STATES = [pb.Execution.COMPLETE, pb.Execution.CACHED, pb.Execution.FAILED, pb.Execution.RUNNING,
                     pb.Execution.NEW, pb.Execution.CANCELED, pb.Execution.UNKNOWN]


def _type(message: Any, properties: dict[str, int], **fields: Any) -> Any:
    for name, kind in properties.items():
        message.properties[name] = kind
    for name, value in fields.items():
        if name in ("input_type", "output_type"):
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def _any(type_url: str, data: bytes) -> Any:
    value = pb.Value()
    value.proto_value.type_url = type_url
    value.proto_value.value = data
    return value.proto_value


def register_types(store: Any) -> dict[str, int]:
    """The pipeline's types; returns name -> id."""
    P = pb.PropertyType
    struct_type = pb.ArtifactStructType()
    struct_type.union_type.candidates.add().simple.name = "Examples"
    struct_type.union_type.candidates.add().simple.name = "Model"
    any_type = pb.ArtifactStructType()
    any_type.any.SetInParent()
    artifact_types = {
        "Examples": _type(pb.ArtifactType(name="Examples", base_type=pb.ArtifactType.DATASET),
                          {"span": P.INT, "split_names": P.STRING, "version": P.INT}, external_id="type:examples"),
        "ExampleStatistics": _type(pb.ArtifactType(name="ExampleStatistics", base_type=pb.ArtifactType.STATISTICS),
                                   {"span": P.INT, "split_names": P.STRING}),
        "Schema": _type(pb.ArtifactType(name="Schema"), {}),
        "TransformGraph": _type(pb.ArtifactType(name="TransformGraph", description="tf.Transform output"), {}),
        "Model": _type(pb.ArtifactType(name="Model", version="2.1", base_type=pb.ArtifactType.MODEL),
                       {"train_steps": P.INT, "hyperparameters": P.STRUCT, "signature": P.PROTO}),
        "ModelEvaluation": _type(pb.ArtifactType(name="ModelEvaluation", base_type=pb.ArtifactType.METRICS),
                                 {"accuracy": P.DOUBLE, "blessed": P.BOOLEAN, "slices": P.STRUCT}),
        "ModelBlessing": _type(pb.ArtifactType(name="ModelBlessing"), {"blessed": P.BOOLEAN}),
        "PushedModel": _type(pb.ArtifactType(name="PushedModel"), {"pushed_destination": P.STRING,
                                                                    "pushed_version": P.INT}),
    }
    execution_types = {
        "ExampleGen": _type(pb.ExecutionType(name="ExampleGen", base_type=pb.ExecutionType.PROCESS),
                            {"input_base": P.STRING}),
        "StatisticsGen": _type(pb.ExecutionType(name="StatisticsGen"), {}),
        "SchemaGen": _type(pb.ExecutionType(name="SchemaGen"), {"infer_feature_shape": P.BOOLEAN}),
        "Transform": _type(pb.ExecutionType(name="Transform", base_type=pb.ExecutionType.TRANSFORM),
                           {"module_file": P.STRING}),
        "Trainer": _type(pb.ExecutionType(name="Trainer", version="1.14", base_type=pb.ExecutionType.TRAIN,
                                          description="trains a model", external_id="type:trainer"),
                         {"train_steps": P.INT, "learning_rate": P.DOUBLE, "config": P.STRUCT, "args": P.PROTO},
                         input_type=struct_type, output_type=any_type),
        "Evaluator": _type(pb.ExecutionType(name="Evaluator", base_type=pb.ExecutionType.EVALUATE), {}),
        "Pusher": _type(pb.ExecutionType(name="Pusher", base_type=pb.ExecutionType.DEPLOY), {}),
    }
    context_types = {
        "Project": _type(pb.ContextType(name="Project"), {"owner": P.STRING}),
        "Pipeline": _type(pb.ContextType(name="Pipeline", version="v1"), {"stages": P.INT}),
        "PipelineRun": _type(pb.ContextType(name="PipelineRun", external_id="type:run"),
                             {"run_number": P.INT, "started": P.DOUBLE, "ok": P.BOOLEAN, "conf": P.STRUCT,
                              "request": P.PROTO, "note": P.STRING}),
    }
    ids = {name: store.put_artifact_type(t) for name, t in artifact_types.items()}
    ids |= {name: store.put_execution_type(t) for name, t in execution_types.items()}
    ids |= {name: store.put_context_type(t) for name, t in context_types.items()}
    return ids


def _artifact(type_ids: dict[str, int], type_name: str, key: str, run: int, prefix: str) -> Any:
    a = pb.Artifact(type_id=type_ids[type_name], uri=f"/pipelines/{prefix}/{run}/{key}",
                    state=_ARTIFACT_STATES[run % len(_ARTIFACT_STATES)])
    if run % 5 != 4:
        a.name = f"{prefix}-{run}-{key}"
    if run % 3 == 0:
        a.external_id = f"{prefix}:artifact:{run}:{key}"
    props = a.properties
    if type_name in ("Examples", "ExampleStatistics"):
        props["span"].int_value = run
        props["split_names"].string_value = '["train", "eval"]'
    if type_name == "Examples":
        props["version"].int_value = -run
    elif type_name == "Model":
        props["train_steps"].int_value = 1000 + run % 97
        props["hyperparameters"].struct_value.update({"lr": 0.001 * (1 + run % 7), "layers": [64, 32],
                                                      "name": "dnn", "nested": {"ok": True, "none": None}})
        props["signature"].proto_value.CopyFrom(_any("type.googleapis.com/tensorflow.SignatureDef",
                                                     bytes([run % 256, 0, 255])))
    elif type_name == "ModelEvaluation":
        props["accuracy"].double_value = 0.5 + (run % 500) / 1000
        props["blessed"].bool_value = run % 3 != 0
        props["slices"].struct_value.update({"all": {"auc": 0.75}})
    elif type_name == "ModelBlessing":
        props["blessed"].bool_value = run % 3 != 0
    elif type_name == "PushedModel":
        props["pushed_destination"].string_value = f"/serving/{prefix}/{run} — ünïcode ✓"
        props["pushed_version"].int_value = 2**31 - 1 - run  # the largest ml-metadata's MySQL schema holds (INT)
    custom = a.custom_properties
    custom["tfx_version"].string_value = "1.14.0"
    custom["is_external"].bool_value = run % 2 == 0
    custom["size_bytes"].int_value = run * 1024
    custom["ratio"].double_value = -1.5e-300 if run % 4 == 0 else 2.5
    if run % 10 == 0:
        custom["blob"].proto_value.CopyFrom(_any("type.googleapis.com/google.protobuf.BytesValue", b""))
        custom["meta"].struct_value.update({"empty": {}, "list": [], "s": ""})
        custom[""].string_value = "a custom property with an empty name"
    return a


def _execution(type_ids: dict[str, int], stage: str, run: int, prefix: str) -> Any:
    x = pb.Execution(type_id=type_ids[stage], name=f"{prefix}-{run}-{stage}",
                     last_known_state=_EXECUTION_STATES[run % len(_EXECUTION_STATES)])
    if run % 4 == 1:
        x.external_id = f"{prefix}:execution:{run}:{stage}"
    if stage == "ExampleGen":
        x.properties["input_base"].string_value = f"/data/{prefix}/span-{run}"
    elif stage == "SchemaGen":
        x.properties["infer_feature_shape"].bool_value = run % 2 == 1
    elif stage == "Transform":
        x.properties["module_file"].string_value = "transform.py"
    elif stage == "Trainer":
        x.properties["train_steps"].int_value = 1000 + run % 97
        x.properties["learning_rate"].double_value = 0.001 * (1 + run % 7)
        x.properties["config"].struct_value.update({"epochs": 3, "optimizer": "adam"})
        x.properties["args"].proto_value.CopyFrom(_any("type.googleapis.com/tfx.TrainArgs", b"\x08\x10"))
    x.custom_properties["run"].int_value = run
    x.custom_properties["component_id"].string_value = stage
    if run % 7 == 3:
        x.custom_properties["retried"].bool_value = True
        x.custom_properties["cost"].double_value = 0.0
    return x


def _event(kind: int, path: list[int | str] = (), millis: int | None = None, artifact_id: int | None = None) -> Any:
    event = pb.Event(type=kind)
    if artifact_id is not None:
        event.artifact_id = artifact_id
    if millis is not None:
        event.milliseconds_since_epoch = millis
    for step in path:
        if isinstance(step, int):
            event.path.steps.add().index = step
        else:
            event.path.steps.add().key = step
    return event


# stage -> (inputs: key -> producing output key, or -1 for the previous run's model; outputs: key -> type)
_PLAN = {
    "ExampleGen": ({}, {"examples": "Examples"}),
    "StatisticsGen": ({"examples": "examples"}, {"statistics": "ExampleStatistics"}),
    "SchemaGen": ({"statistics": "statistics"}, {"schema": "Schema"}),
    "Transform": ({"examples": "examples", "schema": "schema"},
                  {"transform_graph": "TransformGraph", "transformed_examples": "Examples"}),
    "Trainer": ({"examples": "transformed_examples", "transform_graph": "transform_graph", "schema": "schema",
                 "base_model": -1}, {"model": "Model"}),
    "Evaluator": ({"examples": "examples", "model": "model", "baseline_model": -1},
                  {"evaluation": "ModelEvaluation", "blessing": "ModelBlessing"}),
    "Pusher": ({"model": "model", "model_blessing": "blessing"}, {"pushed_model": "PushedModel"}),
}


def build_history(store: Any, runs: int, *, prefix: str = "taxi", type_ids: dict[str, int] | None = None) -> dict[str, int]:
    """Record ``runs`` runs of the pipeline in ``store`` (an ml_metadata.MetadataStore);
    returns the type ids. The first run finds no previous model to warm-start from."""
    type_ids = type_ids or register_types(store)
    [project, pipeline] = store.put_contexts([
        _context(type_ids["Project"], "ml-platform", owner="team ✓"),
        _context(type_ids["Pipeline"], prefix, stages=len(STAGES)),
    ])
    store.put_parent_contexts([pb.ParentContext(child_id=pipeline, parent_id=project)])
    store.put_contexts([_context(type_ids["Pipeline"], f"{prefix}-empty")])  # a context with no members
    previous_model: int | None = None
    for run in range(runs):
        contexts = [_context(type_ids["Pipeline"], prefix, stages=len(STAGES)),
                    _context(type_ids["PipelineRun"], f"{prefix}-run-{run}", run=run)]
        outputs: dict[str, int] = {}
        execution_ids: dict[str, int] = {}
        for position, stage in enumerate(STAGES):
            inputs, produced = _PLAN[stage]
            pairs = []
            for key, source in inputs.items():
                artifact_id = previous_model if source == -1 else outputs[source]
                if artifact_id is not None:
                    pairs.append((None, _event(pb.Event.INPUT, [key, 0], artifact_id=artifact_id)))
            for key, type_name in produced.items():
                millis = 1_700_000_000_000 + run * 1000 + position if run % 2 else None
                pairs.append((_artifact(type_ids, type_name, key, run, prefix), _event(pb.Event.OUTPUT, [key, 0], millis)))
            execution_id, artifact_ids, (_, run_id) = store.put_execution(
                _execution(type_ids, stage, run, prefix), pairs, contexts, reuse_context_if_already_exist=True)
            execution_ids[stage] = execution_id
            outputs.update(zip(produced, artifact_ids[len(pairs) - len(produced):]))
        store.put_parent_contexts([pb.ParentContext(child_id=run_id, parent_id=pipeline),
                                   *([pb.ParentContext(child_id=run_id, parent_id=project)] if run % 10 == 0 else [])])
        # The other event types and path shapes, on this run's nodes.
        store.put_events([
            _event(pb.Event.DECLARED_INPUT, [], None, outputs["schema"]) | _on(execution_ids["Trainer"]),
            _event(pb.Event.INTERNAL_OUTPUT, [3], 1, outputs["transform_graph"]) | _on(execution_ids["Transform"]),
            _event(pb.Event.PENDING_OUTPUT, ["pending"], None, outputs["pushed_model"]) | _on(execution_ids["Pusher"]),
            _event(pb.Event.DECLARED_OUTPUT, ["a", 1, "b", 2], 0, outputs["evaluation"]) | _on(execution_ids["Evaluator"]),
            _event(pb.Event.INTERNAL_INPUT, ["ключ 🔑", 2**31 - 1, ""], None, outputs["examples"])
            | _on(execution_ids["Evaluator"]),
        ])
        previous_model = outputs["model"]
    return type_ids


class _on:
    """``event | _on(execution_id)``: the event, for that execution."""

    def __init__(self, execution_id: int) -> None:
        self.execution_id = execution_id

    def __ror__(self, event: Any) -> Any:
        event.execution_id = self.execution_id
        return event


def _context(type_id: int, name: str, *, run: int | None = None, owner: str | None = None,
             stages: int | None = None) -> Any:
    c = pb.Context(type_id=type_id, name=name)
    if owner is not None:
        c.properties["owner"].string_value = owner
        c.external_id = f"project:{name}"
    if stages is not None:
        c.properties["stages"].int_value = stages
    if run is not None:
        c.properties["run_number"].int_value = run
        c.properties["started"].double_value = 1.7e9 + run
        c.properties["ok"].bool_value = run % 9 != 8
        c.properties["conf"].struct_value.update({"run": float(run), "tags": ["nightly"]})
        c.properties["request"].proto_value.CopyFrom(_any("type.googleapis.com/kfp.RunRequest", bytes(range(run % 5))))
        if run % 6 == 0:
            c.properties["note"].string_value = ""
        c.custom_properties["trigger"].string_value = "schedule" if run % 2 else "manual"
    return c


def main() -> None:
    import ml_metadata as mlmd

    parser = argparse.ArgumentParser(description="Build an ml-metadata SQLite store holding a pipeline's history.")
    parser.add_argument("file")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    if os.path.exists(args.file) and os.path.getsize(args.file) > 0:
        parser.error(f"{args.file} exists: give a new file (the history's names would clash with what it holds)")
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = args.file
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    started = time.perf_counter()
    build_history(mlmd.MetadataStore(config), args.runs)
    print(f"{args.runs} runs ({args.runs * NODES_PER_RUN} nodes) in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
