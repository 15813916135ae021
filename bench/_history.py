"""The benchmark's data as graphmd models: the 7-stage TFX-like pipeline of
graphmd._tfx_pipeline (its runs planned by ``iter_runs``: Trainer warm-starting from the
previous model and, with diamonds, also reading the model two runs back), and a flat store
of files for the filter workload.

Each backend turns these models into its own requests (graphmd's models as they are,
ml-metadata's protos through graphmd.mlmd's converter). Names carry a prefix, so several
pipelines (the chain, the diamonds, the concurrent writers) share one store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

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
    PropertyType,
)
from graphmd._tfx_pipeline import ArtifactPlan, RunPlan, StepPlan, iter_runs, pipeline_types, step_events

# The pipeline's types, and W4's: four file types and the Dataset context.
_ARTIFACT_TYPES, EXECUTION_TYPES, _CONTEXT_TYPES = pipeline_types()
FILE_TYPES = [ArtifactType(name=f"File{k}", properties={"size": PropertyType.INT, "owner": PropertyType.STRING})
              for k in range(4)]
ARTIFACT_TYPES = _ARTIFACT_TYPES + FILE_TYPES
CONTEXT_TYPES = _CONTEXT_TYPES + [ContextType(name="Dataset")]
FILES_PER_BATCH = 1000

TypeIds = dict[str, int]  # type name -> id, as one backend registered them


def plans(first: int, end: int, *, diamonds: bool) -> Iterator[RunPlan]:
    """Runs ``first`` .. ``end - 1`` of the pipeline, planned as they are consumed: a
    30,000-run history held whole is millions of objects that Python's collector rescans,
    also during the store calls timed while it is alive."""
    return iter_runs(end - first, first=first, diamonds=diamonds)


def execution_of(step: StepPlan, prefix: str, type_ids: TypeIds) -> Execution:
    """The step's execution, COMPLETE."""
    return Execution(type_id=type_ids[step.component], name=f"{prefix}/{step.name}",
                     last_known_state=ExecutionState.COMPLETE, properties=step.properties,
                     custom_properties=step.custom_properties)


def artifact_of(plan: ArtifactPlan, prefix: str, type_ids: TypeIds) -> Artifact:
    """An artifact a step writes, LIVE."""
    return Artifact(type_id=type_ids[plan.type], name=f"{prefix}/{plan.name}", uri=f"/{prefix}{plan.uri}",
                    state=ArtifactState.LIVE, properties=plan.properties, custom_properties=plan.custom_properties)


def run_context(run: RunPlan, prefix: str, type_ids: TypeIds) -> Context:
    """The run's PipelineRun context."""
    return Context(type_id=type_ids["PipelineRun"], name=f"{prefix}/{run.context_name}",
                   properties=run.context_properties)


def step_request(step: StepPlan, prefix: str, type_ids: TypeIds, ids: dict[str, int]
                 ) -> tuple[Execution, list[Event], list[tuple[Artifact, Event]]]:
    """One put_execution of a step: the execution, its input events (by the ids of artifacts
    stored earlier, ``ids`` by plan name) and its new outputs with their events."""
    outputs = {out.name: out for outs in step.outputs.values() for out in outs}
    inputs: list[Event] = []
    written: list[tuple[Artifact, Event]] = []
    for name, kind, path in step_events(step):
        if kind is EventType.INPUT:
            inputs.append(Event(type=kind, path=path, artifact_id=ids[name]))
        else:
            written.append((artifact_of(outputs[name], prefix, type_ids), Event(type=kind, path=path)))
    return execution_of(step, prefix, type_ids), inputs, written


@dataclasses.dataclass
class SubgraphBatch:
    """One put_lineage_subgraph request: nodes, edges (by index, or by id for artifacts
    stored by an earlier batch) and the contexts every node is linked to."""

    executions: list[Execution]
    artifacts: list[Artifact]
    contexts: list[Context]
    event_edges: list[EventEdge]
    artifact_names: list[str]  # plan names of ``artifacts``: the caller records their ids

    @property
    def node_count(self) -> int:
        return len(self.executions) + len(self.artifacts)


def history_batches(runs: Iterable[RunPlan], prefix: str, type_ids: TypeIds, ids: dict[str, int], *,
                    nodes_per_batch: int = 1000) -> Iterator[SubgraphBatch]:
    """Whole runs in batches of about ``nodes_per_batch`` nodes, all linked to the
    pipeline's Pipeline context ``prefix``.

    ``ids`` maps plan names of stored artifacts to their ids; the caller adds each batch's
    (``artifact_names``) after storing it, so later batches refer to earlier models by id.
    """
    pipeline = Context(type_id=type_ids["Pipeline"], name=prefix)
    batch = SubgraphBatch([], [], [pipeline], [], [])
    index: dict[str, int] = {}
    for run in runs:
        for step in run.steps:
            x = len(batch.executions)
            batch.executions.append(execution_of(step, prefix, type_ids))
            outputs = {out.name: out for outs in step.outputs.values() for out in outs}
            for name, kind, path in step_events(step):
                if name in outputs:
                    index[name] = len(batch.artifacts)
                    batch.artifacts.append(artifact_of(outputs[name], prefix, type_ids))
                    batch.artifact_names.append(name)
                if name in index:
                    batch.event_edges.append(EventEdge(event=Event(type=kind, path=path), execution_index=x,
                                                       artifact_index=index[name]))
                else:
                    batch.event_edges.append(EventEdge(event=Event(type=kind, path=path, artifact_id=ids[name]),
                                                       execution_index=x))
        if batch.node_count >= nodes_per_batch:
            yield batch
            batch, index = SubgraphBatch([], [], [pipeline], [], []), {}
    if batch.node_count:
        yield batch


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
        yield SubgraphBatch([], artifacts, [Context(type_id=type_ids["Dataset"], name=f"ds-{b % datasets}")], [], [])
