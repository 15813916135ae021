"""The benchmark's data: runs of a 7-stage TFX-like pipeline, and a flat store of files.

A run is ExampleGen -> StatisticsGen -> SchemaGen -> Transform -> Trainer -> Evaluator ->
Pusher. Trainer warm-starts from the previous run's model; with ``diamonds`` it also reads
the model from two runs back (an ensemble), so the number of distinct upstream paths
grows exponentially with depth while the upstream subgraph grows linearly. Evaluator
compares with the previous run's model (its baseline).

Everything is expressed in graphmd's models; each backend turns them into its own
request (graphmd's models as they are, MLMD's protos by graphmd.mlmd's converter).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from graphmd import (
    Artifact,
    ArtifactState,
    ArtifactType,
    Context,
    ContextType,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    PropertyType,
)

# Artifact types of the pipeline and the files store, with their property schemas.
ARTIFACT_TYPES = [
    ArtifactType(name="Examples", properties={"span": PropertyType.INT, "split_names": PropertyType.STRING}),
    ArtifactType(name="ExampleStatistics", properties={"span": PropertyType.INT}),
    ArtifactType(name="Schema"),
    ArtifactType(name="TransformGraph"),
    ArtifactType(name="Model", properties={"train_steps": PropertyType.INT}),
    ArtifactType(name="ModelEvaluation", properties={"accuracy": PropertyType.DOUBLE}),
    ArtifactType(name="ModelBlessing", properties={"blessed": PropertyType.INT}),
    ArtifactType(name="PushedModel", properties={"pushed_destination": PropertyType.STRING}),
]
FILE_TYPES = [
    ArtifactType(name=f"File{k}", properties={"size": PropertyType.INT, "owner": PropertyType.STRING})
    for k in range(4)
]
EXECUTION_TYPES = [
    ExecutionType(name="ExampleGen", properties={"input_base": PropertyType.STRING}),
    ExecutionType(name="StatisticsGen"),
    ExecutionType(name="SchemaGen"),
    ExecutionType(name="Transform", properties={"module_file": PropertyType.STRING}),
    ExecutionType(name="Trainer", properties={"train_steps": PropertyType.INT, "learning_rate": PropertyType.DOUBLE}),
    ExecutionType(name="Evaluator"),
    ExecutionType(name="Pusher"),
]
CONTEXT_TYPES = [ContextType(name="PipelineRun"), ContextType(name="Pipeline"), ContextType(name="Dataset")]


@dataclasses.dataclass(frozen=True)
class Stage:
    """One component: its execution type, its inputs (key -> where the artifact comes from:
    an output key of this run, or ``-k`` for the model of the run k runs back) and its
    outputs (key -> artifact type)."""

    execution_type: str
    inputs: tuple[tuple[str, str | int], ...]
    outputs: tuple[tuple[str, str], ...]


def stages(diamonds: bool = False) -> tuple[Stage, ...]:
    """The pipeline's seven stages; with ``diamonds`` Trainer also reads the model of two runs back."""
    trainer_inputs: tuple[tuple[str, str | int], ...] = (
        ("examples", "transformed_examples"), ("transform_graph", "transform_graph"), ("schema", "schema"),
        ("base_model", -1))
    if diamonds:
        trainer_inputs += (("ensemble_model", -2),)
    return (
        Stage("ExampleGen", (), (("examples", "Examples"),)),
        Stage("StatisticsGen", (("examples", "examples"),), (("statistics", "ExampleStatistics"),)),
        Stage("SchemaGen", (("statistics", "statistics"),), (("schema", "Schema"),)),
        Stage("Transform", (("examples", "examples"), ("schema", "schema")),
              (("transform_graph", "TransformGraph"), ("transformed_examples", "Examples"))),
        Stage("Trainer", trainer_inputs, (("model", "Model"),)),
        Stage("Evaluator", (("examples", "examples"), ("model", "model"), ("baseline_model", -1)),
              (("evaluation", "ModelEvaluation"), ("blessing", "ModelBlessing"))),
        Stage("Pusher", (("model", "model"), ("model_blessing", "blessing")), (("pushed_model", "PushedModel"),)),
    )


NODES_PER_RUN = 7 + sum(len(s.outputs) for s in stages())


class TypeIds(dict):
    """Type name -> id, as one backend registered them."""


def execution_of(stage: Stage, run: int, prefix: str, type_ids: TypeIds) -> Execution:
    """The stage's execution in run ``run``, COMPLETE, with the properties its type declares."""
    properties: dict = {}
    if stage.execution_type == "ExampleGen":
        properties = {"input_base": f"/data/{prefix}/span-{run}"}
    elif stage.execution_type == "Transform":
        properties = {"module_file": "transform.py"}
    elif stage.execution_type == "Trainer":
        properties = {"train_steps": 1000 + run % 97, "learning_rate": 0.001 * (1 + run % 7)}
    return Execution(type_id=type_ids[stage.execution_type], name=f"{prefix}-{run}-{stage.execution_type}",
                     last_known_state=ExecutionState.COMPLETE, properties=properties,
                     custom_properties={"run": run})


def artifact_of(key: str, type_name: str, run: int, prefix: str, type_ids: TypeIds) -> Artifact:
    """Output ``key`` of run ``run``: LIVE, at a uri of its own, with typical properties."""
    properties: dict = {}
    if type_name == "Examples":
        properties = {"span": run, "split_names": '["train", "eval"]'}
    elif type_name == "ExampleStatistics":
        properties = {"span": run}
    elif type_name == "Model":
        properties = {"train_steps": 1000 + run % 97}
    elif type_name == "ModelEvaluation":
        properties = {"accuracy": 0.5 + (run % 500) / 1000}
    elif type_name == "ModelBlessing":
        properties = {"blessed": int(run % 3 != 0)}
    elif type_name == "PushedModel":
        properties = {"pushed_destination": f"/serving/{prefix}/{run}"}
    return Artifact(type_id=type_ids[type_name], name=f"{prefix}-{run}-{key}", uri=f"/pipelines/{prefix}/{run}/{key}",
                    state=ArtifactState.LIVE, properties=properties)


def event(kind: EventType, key: str, artifact_id: int | None = None) -> Event:
    """An event with TFX's path: the input or output key, then index 0."""
    return Event(type=kind, artifact_id=artifact_id, path=[key, 0])


@dataclasses.dataclass
class SubgraphBatch:
    """One put_lineage_subgraph request: nodes, edges (by index, or by id for artifacts
    stored by an earlier batch) and the contexts every node is linked to."""

    executions: list[Execution]
    artifacts: list[Artifact]
    contexts: list[Context]
    event_edges: list[EventEdge]
    # run -> index of that run's model in ``artifacts``: the ids the next batches refer to.
    model_index: dict[int, int]

    @property
    def node_count(self) -> int:
        return len(self.executions) + len(self.artifacts)


def history_batches(runs: Sequence[int], prefix: str, type_ids: TypeIds, model_ids: dict[int, int], *,
                    diamonds: bool, nodes_per_batch: int = 1000) -> Iterator[SubgraphBatch]:
    """Batches of whole runs (about ``nodes_per_batch`` nodes each) of pipeline ``prefix``,
    all linked to its Pipeline context.

    ``model_ids`` maps a run to its stored model's id; the caller adds each batch's models
    (``model_index``) after storing it, so later batches refer to them by id.
    """
    pipeline = Context(type_id=type_ids["Pipeline"], name=prefix)
    runs_per_batch = max(1, nodes_per_batch // NODES_PER_RUN)
    plan = stages(diamonds)
    for start in range(0, len(runs), runs_per_batch):
        batch = SubgraphBatch([], [], [pipeline], [], {})
        for run in runs[start : start + runs_per_batch]:
            index: dict[str, int] = {}
            for stage in plan:
                x = len(batch.executions)
                batch.executions.append(execution_of(stage, run, prefix, type_ids))
                for key, source in stage.inputs:
                    if isinstance(source, str):
                        batch.event_edges.append(EventEdge(event=event(EventType.INPUT, key), execution_index=x,
                                                           artifact_index=index[source]))
                    elif run + source in batch.model_index:
                        batch.event_edges.append(EventEdge(event=event(EventType.INPUT, key), execution_index=x,
                                                           artifact_index=batch.model_index[run + source]))
                    elif run + source in model_ids:
                        batch.event_edges.append(EventEdge(event=event(EventType.INPUT, key, model_ids[run + source]),
                                                           execution_index=x))
                for key, type_name in stage.outputs:
                    index[key] = len(batch.artifacts)
                    batch.artifacts.append(artifact_of(key, type_name, run, prefix, type_ids))
                    batch.event_edges.append(EventEdge(event=event(EventType.OUTPUT, key), execution_index=x,
                                                       artifact_index=index[key]))
            batch.model_index[run] = index["model"]
        yield batch


FILES_PER_BATCH = 1000


def file_batches(count: int, type_ids: TypeIds, *, datasets: int) -> Iterator[SubgraphBatch]:
    """``count`` artifacts of the File0..File3 types in batches of FILES_PER_BATCH, batch b
    linked to Dataset context ``ds-<b % datasets>``; property ``size`` counts up within each
    batch (0..999)."""
    types = [t.name for t in FILE_TYPES]
    for b, start in enumerate(range(0, count, FILES_PER_BATCH)):
        artifacts = [
            Artifact(type_id=type_ids[types[i % len(types)]], name=f"file-{i}", uri=f"/files/{i}",
                     state=ArtifactState.LIVE, properties={"size": i % FILES_PER_BATCH, "owner": f"user-{i % 37}"})
            for i in range(start, min(count, start + FILES_PER_BATCH))
        ]
        yield SubgraphBatch([], artifacts, [Context(type_id=type_ids["Dataset"], name=f"ds-{b % datasets}")], [], {})
