"""A 7-stage TFX-like pipeline (ExampleGen, StatisticsGen, SchemaGen, Transform, Trainer,
Evaluator, Pusher) as plain data, and a bulk writer that records many runs of it.

:func:`plan_runs` describes runs as TFX would record them: every execution with its
properties, the artifacts it reads and writes (event paths ``[key, index]``), and the run's
context. The Trainer warm-starts from the previous run's model (``base_model``) and, with
``diamonds``, also reads the model from two runs back (``teacher_model``), which makes the
lineage diamond-shaped. The Evaluator compares with the newest blessed model
(``baseline_model``) and blesses the new model when its accuracy is not lower; the Pusher
pushes blessed models only. Every value is a function of the run number, so a history is
reproducible.

:func:`record_history` writes runs in batches with put_lineage_subgraph (thousands of runs in
seconds); graphmd.demo records the same plan step by step with graphmd's pipeline helpers.
Tests and benchmarks import both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._errors import FailedPreconditionError
from ._models import (
    Artifact,
    ArtifactBaseType,
    ArtifactState,
    ArtifactType,
    Attribution,
    Association,
    Context,
    ContextType,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionBaseType,
    ExecutionState,
    ExecutionType,
    PropertyType,
    stored_id,
)

if TYPE_CHECKING:
    from ._store import MetadataStore

__all__ = [
    "PIPELINE_NAME",
    "ArtifactPlan",
    "StepPlan",
    "RunPlan",
    "History",
    "pipeline_types",
    "register_types",
    "plan_runs",
    "iter_runs",
    "run_name",
    "record_history",
    "record_run",
    "step_events",
]

PIPELINE_NAME = "taxi"
_USERS = ("alice", "bob", "carol")
_P = PropertyType


def pipeline_types() -> tuple[list[ArtifactType], list[ExecutionType], list[ContextType]]:
    """The pipeline's artifact, execution and context types."""
    artifact_types = [
        ArtifactType(name="Examples", base_type=ArtifactBaseType.DATASET, properties={"span": _P.INT, "split_names": _P.STRING}),
        ArtifactType(name="ExampleStatistics", base_type=ArtifactBaseType.STATISTICS, properties={"span": _P.INT}),
        ArtifactType(name="Schema"),
        ArtifactType(name="TransformGraph"),
        ArtifactType(name="Model", base_type=ArtifactBaseType.MODEL, properties={"version": _P.INT}),
        ArtifactType(name="ModelEvaluation", base_type=ArtifactBaseType.METRICS,
                     properties={"accuracy": _P.DOUBLE, "auc": _P.DOUBLE}),
        ArtifactType(name="ModelBlessing", properties={"blessed": _P.INT}),
        ArtifactType(name="PushedModel", properties={"pushed_destination": _P.STRING, "version": _P.INT}),
    ]
    execution_types = [
        ExecutionType(name="ExampleGen", base_type=ExecutionBaseType.PROCESS, properties={"input_base": _P.STRING, "span": _P.INT}),
        ExecutionType(name="StatisticsGen", base_type=ExecutionBaseType.PROCESS),
        ExecutionType(name="SchemaGen", base_type=ExecutionBaseType.PROCESS, properties={"infer_feature_shape": _P.BOOLEAN}),
        ExecutionType(name="Transform", base_type=ExecutionBaseType.TRANSFORM, properties={"module_file": _P.STRING}),
        ExecutionType(name="Trainer", base_type=ExecutionBaseType.TRAIN, properties={
            "learning_rate": _P.DOUBLE, "num_steps": _P.INT, "batch_size": _P.INT, "module_file": _P.STRING}),
        ExecutionType(name="Evaluator", base_type=ExecutionBaseType.EVALUATE, properties={"accuracy_threshold": _P.DOUBLE}),
        ExecutionType(name="Pusher", base_type=ExecutionBaseType.DEPLOY, properties={"push_destination": _P.STRING}),
    ]
    context_types = [
        ContextType(name="Pipeline"),
        ContextType(name="PipelineRun", properties={"triggered_by": _P.STRING, "trigger": _P.STRING}),
    ]
    return artifact_types, execution_types, context_types


def register_types(store: MetadataStore) -> dict[str, int]:
    """Register the pipeline's types (idempotent; as TFX, adding properties to a stored type
    of the same name and keeping its others); their ids by name."""
    artifact_types, execution_types, context_types = pipeline_types()
    a, e, c = store.put_types(artifact_types, execution_types, context_types, can_add_fields=True,
                              can_omit_fields=True)
    names = [t.name for t in (*artifact_types, *execution_types, *context_types)]
    return dict(zip(names, [*a, *e, *c]))


@dataclasses.dataclass(frozen=True)
class ArtifactPlan:
    """An artifact a step writes."""

    name: str
    type: str
    uri: str
    properties: dict[str, Any] = dataclasses.field(default_factory=dict)
    custom_properties: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StepPlan:
    """One execution: its component (execution type), properties, inputs by key (artifact
    names, possibly of earlier runs) and outputs by key."""

    component: str
    name: str
    properties: dict[str, Any]
    custom_properties: dict[str, Any]
    inputs: dict[str, list[str]]
    outputs: dict[str, list[ArtifactPlan]]


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """One pipeline run: its number, its PipelineRun context and its seven steps."""

    number: int
    context_name: str
    context_properties: dict[str, Any]
    steps: list[StepPlan]

    def step(self, component: str) -> StepPlan:
        """The run's step of this component."""
        return next(s for s in self.steps if s.component == component)


def _accuracy(run: int) -> float:
    """A model's accuracy: rising with the run number, with a deterministic wobble."""
    return round(0.70 + 0.2 * run / (run + 10) + ((run * 37) % 11 - 5) / 400, 4)


def run_name(run: int) -> str:
    """The PipelineRun context's name of run ``run``."""
    return f"run-{run:04d}"


def plan_runs(runs: int, *, first: int = 0, diamonds: bool = True) -> list[RunPlan]:
    """Runs ``first`` .. ``first + runs - 1`` of the pipeline (a plan continues a history
    only from run 0, since warm starting and blessing look back)."""
    return list(iter_runs(runs, first=first, diamonds=diamonds))


def iter_runs(runs: int, *, first: int = 0, diamonds: bool = True) -> Iterator[RunPlan]:
    """plan_runs one run at a time, for histories too long to hold at once."""
    blessed_accuracy: float | None = None
    blessed_model: str | None = None
    for r in range(first + runs):
        rn = run_name(r)
        examples = ArtifactPlan(f"{rn}/examples", "Examples", f"/data/{PIPELINE_NAME}/examples/span-{r}",
                                {"span": r, "split_names": '["train","eval"]'})
        statistics = ArtifactPlan(f"{rn}/statistics", "ExampleStatistics", f"/data/{PIPELINE_NAME}/statistics/span-{r}",
                                  {"span": r})
        schema = ArtifactPlan(f"{rn}/schema", "Schema", f"/data/{PIPELINE_NAME}/schema/{rn}")
        graph = ArtifactPlan(f"{rn}/transform_graph", "TransformGraph", f"/data/{PIPELINE_NAME}/transform/{rn}")
        model = ArtifactPlan(f"{rn}/model", "Model", f"/models/{PIPELINE_NAME}/{rn}", {"version": r})
        accuracy = _accuracy(r)
        evaluation = ArtifactPlan(f"{rn}/evaluation", "ModelEvaluation", f"/data/{PIPELINE_NAME}/evaluation/{rn}",
                                  {"accuracy": accuracy, "auc": round(accuracy + 0.05, 4)})
        blessed = blessed_accuracy is None or accuracy >= blessed_accuracy
        blessing = ArtifactPlan(f"{rn}/blessing", "ModelBlessing", f"/data/{PIPELINE_NAME}/blessing/{rn}",
                                {"blessed": int(blessed)},
                                {"baseline_model": blessed_model or "", "accuracy_delta":
                                 round(accuracy - (blessed_accuracy or 0.0), 4)})
        trainer_inputs = {"examples": [examples.name], "transform_graph": [graph.name], "schema": [schema.name]}
        if r >= 1:
            trainer_inputs["base_model"] = [f"{run_name(r - 1)}/model"]
        if diamonds and r >= 2:
            trainer_inputs["teacher_model"] = [f"{run_name(r - 2)}/model"]
        evaluator_inputs = {"examples": [examples.name], "model": [model.name]}
        if blessed_model is not None:
            evaluator_inputs["baseline_model"] = [blessed_model]
        pushed = [ArtifactPlan(f"{rn}/pushed_model", "PushedModel", f"/serving/{PIPELINE_NAME}/{r}",
                               {"pushed_destination": f"/serving/{PIPELINE_NAME}", "version": r})] if blessed else []
        steps = [
            StepPlan("ExampleGen", f"{rn}/ExampleGen", {"input_base": f"/raw/{PIPELINE_NAME}", "span": r}, {},
                     {}, {"examples": [examples]}),
            StepPlan("StatisticsGen", f"{rn}/StatisticsGen", {}, {}, {"examples": [examples.name]},
                     {"statistics": [statistics]}),
            StepPlan("SchemaGen", f"{rn}/SchemaGen", {"infer_feature_shape": True}, {},
                     {"statistics": [statistics.name]}, {"schema": [schema]}),
            StepPlan("Transform", f"{rn}/Transform", {"module_file": "taxi_utils.py"}, {},
                     {"examples": [examples.name], "schema": [schema.name]}, {"transform_graph": [graph]}),
            StepPlan("Trainer", f"{rn}/Trainer",
                     {"learning_rate": (0.1, 0.03, 0.01)[r % 3], "num_steps": 1000 + 500 * (r % 4),
                      "batch_size": 64 if r % 2 == 0 else 128, "module_file": "taxi_utils.py"},
                     {"image": f"tfx/trainer:1.{14 + r // 20}", "python": "3.11", "tensorflow": "2.15",
                      "accelerator": "gpu" if r % 5 == 0 else "cpu"},
                     trainer_inputs, {"model": [model]}),
            StepPlan("Evaluator", f"{rn}/Evaluator", {"accuracy_threshold": 0.6}, {}, evaluator_inputs,
                     {"evaluation": [evaluation], "blessing": [blessing]}),
            StepPlan("Pusher", f"{rn}/Pusher", {"push_destination": f"/serving/{PIPELINE_NAME}"}, {},
                     {"model": [model.name], "model_blessing": [blessing.name]}, {"pushed_model": pushed}),
        ]
        if blessed:
            blessed_accuracy, blessed_model = accuracy, model.name
        if r >= first:
            yield RunPlan(r, rn, {"triggered_by": _USERS[r % 3], "trigger": "manual" if r % 7 == 0 else "schedule"},
                          steps)


@dataclasses.dataclass
class History:
    """Ids of what record_history wrote, by name."""

    type_ids: dict[str, int] = dataclasses.field(default_factory=dict)
    artifacts: dict[str, int] = dataclasses.field(default_factory=dict)
    executions: dict[str, int] = dataclasses.field(default_factory=dict)
    contexts: dict[str, int] = dataclasses.field(default_factory=dict)
    plans: list[RunPlan] = dataclasses.field(default_factory=list)


def _artifact(plan: ArtifactPlan, type_ids: dict[str, int]) -> Artifact:
    return Artifact(type_id=type_ids[plan.type], name=plan.name, uri=plan.uri, state=ArtifactState.LIVE,
                    properties=plan.properties, custom_properties=plan.custom_properties)


def record_history(store: MetadataStore, runs: int, *, diamonds: bool = True, batch_runs: int = 25,
                   history: History | None = None) -> History:
    """Write ``runs`` runs of the pipeline (continuing ``history`` when given), ``batch_runs``
    runs per put_lineage_subgraph, all nodes in the Pipeline context and each run's nodes
    (inputs included, as TFX attributes them) in its PipelineRun context.

    Returns:
        The history: ids by name, and the plans written.
    """
    history = history or History()
    if not history.type_ids:
        history.type_ids = register_types(store)
    type_ids = history.type_ids
    plans = plan_runs(runs, first=len(history.plans), diamonds=diamonds)
    pipeline = Context(type_id=type_ids["Pipeline"], name=PIPELINE_NAME)
    for start in range(0, len(plans), batch_runs):
        batch = plans[start : start + batch_runs]
        run_ids = store.put_contexts([Context(type_id=type_ids["PipelineRun"], name=p.context_name,
                                              properties=p.context_properties) for p in batch])
        history.contexts.update({p.context_name: i for p, i in zip(batch, run_ids)})
        executions: list[Execution] = []
        artifacts: list[Artifact] = []
        edges: list[EventEdge] = []
        artifact_index: dict[str, int] = {}
        for plan in batch:
            for step in plan.steps:
                x = len(executions)
                executions.append(Execution(type_id=type_ids[step.component], name=step.name,
                                            last_known_state=ExecutionState.COMPLETE, properties=step.properties,
                                            custom_properties=step.custom_properties))
                for outputs in step.outputs.values():
                    for out in outputs:
                        artifact_index[out.name] = len(artifacts)
                        artifacts.append(_artifact(out, type_ids))
                for name, event_type, path in step_events(step):
                    event = Event(type=event_type, path=path)
                    if name in artifact_index:
                        edges.append(EventEdge(event=event, artifact_index=artifact_index[name], execution_index=x))
                    else:
                        edges.append(EventEdge(event=event.model_copy(update={"artifact_id": history.artifacts[name]}),
                                               execution_index=x))
        result = store.put_lineage_subgraph(executions, artifacts, [pipeline], edges,
                                            reuse_context_if_already_exist=True)
        history.contexts[PIPELINE_NAME] = result.context_ids[0]
        # Every node here is named (by its plan).
        history.executions.update({e.name: i for e, i in zip(executions, result.execution_ids) if e.name is not None})
        history.artifacts.update({a.name: i for a, i in zip(artifacts, result.artifact_ids) if a.name is not None})
        attributions: list[Attribution] = []
        associations: list[Association] = []
        for plan in batch:
            cid = history.contexts[plan.context_name]
            names: dict[str, None] = {}
            for step in plan.steps:
                associations.append(Association(context_id=cid, execution_id=history.executions[step.name]))
                names.update(dict.fromkeys(name for name, _, _ in step_events(step)))
            attributions.extend(Attribution(context_id=cid, artifact_id=history.artifacts[n]) for n in names)
        store.put_attributions_and_associations(attributions, associations)
        history.plans.extend(batch)
    return history


def record_run(store: MetadataStore, plan: RunPlan, history: History) -> str | None:
    """Record one run step by step, as a pipeline does: each step inside
    graphmd._pipeline.record_execution (RUNNING, then COMPLETE with its outputs), in the
    Pipeline and PipelineRun contexts, the Trainer's ``base_model`` resolved with
    latest_artifact (the newest LIVE Model in the pipeline) and the Evaluator's
    ``baseline_model`` with latest_blessed_model (the newest blessed one) instead of taken
    from the plan.

    Returns:
        The name of the model the Trainer warm-started from (None for the first run).
    Raises:
        FailedPreconditionError: the store lacks the model a resolver should find (``history``
            is not this store's).
    """
    from ._pipeline import latest_artifact, latest_blessed_model, record_execution

    if not history.type_ids:
        history.type_ids = register_types(store)
    type_ids = history.type_ids
    contexts = [Context(type_id=type_ids["Pipeline"], name=PIPELINE_NAME),
                Context(type_id=type_ids["PipelineRun"], name=plan.context_name, properties=plan.context_properties)]
    warm_start: str | None = None
    for step in plan.steps:
        inputs = {key: store.get_artifacts_by_id([history.artifacts[n] for n in names])
                  for key, names in step.inputs.items()}
        if step.component == "Trainer" and "base_model" in inputs:
            resolved = _resolved(latest_artifact(store, "Model", context_id=history.contexts[PIPELINE_NAME]),
                                 step, "LIVE Model to warm-start from")
            inputs["base_model"] = [resolved]
            warm_start = resolved.name
        if step.component == "Evaluator" and "baseline_model" in inputs:
            inputs["baseline_model"] = [_resolved(
                latest_blessed_model(store, "Model", context_id=history.contexts[PIPELINE_NAME]), step,
                "blessed Model to compare with")]
        execution = Execution(type_id=type_ids[step.component], name=step.name, properties=step.properties,
                              custom_properties=step.custom_properties)
        with record_execution(store, execution, inputs, contexts) as running:
            for key, outputs in step.outputs.items():
                for out in outputs:
                    running.output(key, _artifact(out, type_ids))
        history.executions[step.name] = stored_id(running.execution)
        # Every output is named by its plan, every context has a name.
        history.artifacts.update({a.name: stored_id(a) for outs in running.outputs.values() for a in outs
                                  if a.name is not None})
        history.contexts.update({c.name: stored_id(c) for c in running.contexts if c.name is not None})
    history.plans.append(plan)
    return warm_start


def _resolved(found: Artifact | None, step: StepPlan, what: str) -> Artifact:
    """What a resolver found for ``step``: the plan asks only for models earlier runs wrote."""
    if found is None:
        raise FailedPreconditionError(f"{step.name}: no {what} in {PIPELINE_NAME}", field="history")
    return found


def step_events(step: StepPlan) -> list[tuple[str, EventType, list[Any]]]:
    """The step's events as (artifact name, type, path), inputs first."""
    events = [(name, EventType.INPUT, [key, i]) for key, names in step.inputs.items() for i, name in enumerate(names)]
    events += [(out.name, EventType.OUTPUT, [key, i]) for key, outs in step.outputs.items() for i, out in enumerate(outs)]
    return events

