"""Independent references for lineage tests.

- ``Reference``: the pipeline history as Python sets, and MLMD's QueryLineageSubgraph
  transcribed step by step (rdbms_metadata_access_object.cc: visited sets per kind, one
  frontier per hop, FilterEventsByDirectionAndEventType, ending nodes found among the
  unvisited, the events kept per step). No hop cap, so it also answers > 100 hops.
- ``mlmd_store``: the same history written into ml-metadata's own in-process store, the
  oracle for hop counts MLMD allows (<= 100).

Nodes are named by (kind, name): names are unique in a generated history.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from graphmd import EventType
from graphmd._tfx_pipeline import RunPlan, pipeline_types, step_events

OUTPUTS = {EventType.OUTPUT, EventType.DECLARED_OUTPUT, EventType.INTERNAL_OUTPUT, EventType.PENDING_OUTPUT}

Node = tuple[str, str]  # ("A" | "X", name)
EventKey = tuple[str, str, str]  # (artifact name, execution name, event type)


@dataclasses.dataclass
class Result:
    artifacts: set[str]
    executions: set[str]
    events: set[EventKey]


class Reference:
    def __init__(self, plans: list[RunPlan]) -> None:
        self.artifact_type: dict[str, str] = {}
        self.execution_type: dict[str, str] = {}
        self.events: list[tuple[str, str, EventType]] = []
        for plan in plans:
            for step in plan.steps:
                self.execution_type[step.name] = step.component
                for outputs in step.outputs.values():
                    for out in outputs:
                        self.artifact_type[out.name] = out.type
                for name, event_type, _ in step_events(step):
                    self.events.append((name, step.name, event_type))
        self.creation: dict[str, tuple[int, int]] = {}
        for plan in plans:
            for i, step in enumerate(plan.steps):
                self.creation[step.name] = (plan.number, i)
                for j, out in enumerate(o for outs in step.outputs.values() for o in outs):
                    self.creation[out.name] = (plan.number, i * 10 + j)
        self.by_artifact: dict[str, list[tuple[str, str, EventType]]] = {}
        self.by_execution: dict[str, list[tuple[str, str, EventType]]] = {}
        for e in self.events:
            self.by_artifact.setdefault(e[0], []).append(e)
            self.by_execution.setdefault(e[1], []).append(e)

    @staticmethod
    def _by_direction(events: list[Any], from_artifact: bool, direction: str) -> list[Any]:
        if direction == "BIDIRECTIONAL":
            return events
        want_outputs = (direction == "UPSTREAM") == from_artifact
        return [e for e in events if (e[2] in OUTPUTS) == want_outputs]

    def subgraph(self, *, start_artifacts: set[str] = frozenset(), start_executions: set[str] = frozenset(),
                 max_hops: int | None = None, direction: str = "BIDIRECTIONAL",
                 ending_artifact: Any = None, include_ending_artifacts: bool = False,
                 ending_execution: Any = None, include_ending_executions: bool = False) -> Result:
        """MLMD's algorithm; ``ending_*`` are predicates on a node name (None: no ending nodes)."""
        assert bool(start_artifacts) != bool(start_executions), "MLMD starts from one kind"
        from_artifacts = bool(start_artifacts)
        visited_a: set[str] = set(start_artifacts)
        visited_x: set[str] = set(start_executions)
        ending_a = {a for a in visited_a if ending_artifact and ending_artifact(a)}
        ending_x = {x for x in visited_x if ending_execution and ending_execution(x)}
        visited_a -= ending_a
        visited_x -= ending_x
        out_a, out_x = sorted(visited_a), sorted(visited_x)
        kept: list[Any] = []
        distance = 0
        while max_hops is None or distance < max_hops:
            expand_from_artifacts = from_artifacts == (distance % 2 == 0)
            inputs = out_a if expand_from_artifacts else out_x
            index = self.by_artifact if expand_from_artifacts else self.by_execution
            candidates = [e for n in inputs for e in index.get(n, [])]
            events = self._by_direction(candidates, expand_from_artifacts, direction)
            visited = visited_x if expand_from_artifacts else visited_a
            ending = ending_x if expand_from_artifacts else ending_a
            predicate = ending_execution if expand_from_artifacts else ending_artifact
            include = include_ending_executions if expand_from_artifacts else include_ending_artifacts
            other = (lambda e: e[1]) if expand_from_artifacts else (lambda e: e[0])
            unvisited = {other(e) for e in events if other(e) not in visited and other(e) not in ending}
            ending |= {n for n in unvisited if predicate and predicate(n)}
            unvisited -= ending
            for e in events:
                n = other(e)
                if n not in visited and n not in ending:
                    kept.append(e)
                elif n in ending:
                    if include:
                        kept.append(e)
                elif direction != "BIDIRECTIONAL":
                    kept.append(e)
            visited |= unvisited
            if expand_from_artifacts:
                out_x = sorted(unvisited)
            else:
                out_a = sorted(unvisited)
            if not unvisited:
                break
            distance += 1
        artifacts = visited_a | (ending_a if include_ending_artifacts else set())
        executions = visited_x | (ending_x if include_ending_executions else set())
        return Result(artifacts, executions, {(a, x, t.value) for a, x, t in kept})


    def graph(self, starts: list[str], *, max_hops: int | None = None, max_nodes: int | None = None,
              boundary_artifact: Any = None, boundary_execution: Any = None) -> Result:
        """MLMD's QueryLineageGraph (the deprecated get_lineage_graph): both ways from the
        starting artifacts, nodes failing a boundary predicate never visited, at most
        ``max_nodes`` artifacts and executions; where MLMD drops extras at random, the
        highest names go (graphmd keeps the lowest ids, and ids follow names here)."""
        artifacts, executions = set(starts), set()
        visited_a: set[str] = set()
        visited_x: set[str] = set()
        quota = float("inf") if not max_nodes else max_nodes - len(starts)
        out_a, out_x = list(starts), []
        kept: list[Any] = []
        distance = 0
        while (max_hops is None or distance < max_hops) and quota > 0:
            from_artifacts = distance % 2 == 0
            inputs = out_a if from_artifacts else out_x
            (visited_a if from_artifacts else visited_x).update(inputs)
            index = self.by_artifact if from_artifacts else self.by_execution
            events = [e for n in inputs for e in index.get(n, [])]
            other = (lambda e: e[1]) if from_artifacts else (lambda e: e[0])
            visited = visited_x if from_artifacts else visited_a
            boundary = boundary_execution if from_artifacts else boundary_artifact
            new = sorted({other(e) for e in events if other(e) not in visited
                          and (boundary is None or boundary(other(e)))}, key=self.order)
            new = set(new[: int(min(quota, len(new)))])
            kept += [e for e in events if other(e) in new]
            (executions if from_artifacts else artifacts).update(new)
            if from_artifacts:
                out_x = sorted(new)
            else:
                out_a = sorted(new)
            if not new:
                break
            quota -= len(new)
            distance += 1
        return Result(artifacts, executions, {(a, x, t.value) for a, x, t in kept})

    def order(self, name: str) -> tuple[int, int]:
        """Creation order of a node in the history (run, then stage), which ids follow."""
        return self.creation[name]


def mlmd_store(plans: list[RunPlan]) -> tuple[Any, dict[str, int]]:
    """An in-process ml-metadata store holding the same history; type ids by name."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    from graphmd import Artifact, ArtifactState, Context, Execution, ExecutionState
    from graphmd.mlmd import _convert as convert

    config = pb.ConnectionConfig()
    config.fake_database.SetInParent()
    store = metadata_store.MetadataStore(config)
    artifact_types, execution_types, context_types = pipeline_types()
    type_ids = {t.name: store.put_artifact_type(convert.artifact_type_to_proto(t)) for t in artifact_types}
    type_ids |= {t.name: store.put_execution_type(convert.execution_type_to_proto(t)) for t in execution_types}
    type_ids |= {t.name: store.put_context_type(convert.context_type_to_proto(t)) for t in context_types}
    artifact_ids: dict[str, int] = {}
    pipeline = convert.context_to_proto(Context(type_id=type_ids["Pipeline"], name="taxi"))
    [pipeline.id] = store.put_contexts([pipeline])
    for plan in plans:
        run = convert.context_to_proto(Context(type_id=type_ids["PipelineRun"], name=plan.context_name,
                                               properties=plan.context_properties))
        [run.id] = store.put_contexts([run])
        contexts = [pipeline, run]
        for step in plan.steps:
            execution = convert.execution_to_proto(Execution(
                type_id=type_ids[step.component], name=step.name, last_known_state=ExecutionState.COMPLETE,
                properties=step.properties, custom_properties=step.custom_properties))
            outputs = {o.name: o for outs in step.outputs.values() for o in outs}
            pairs, inputs = [], []
            for name, event_type, path in step_events(step):
                event = pb.Event(type=getattr(pb.Event, event_type.value))
                for value in path:
                    if isinstance(value, str):
                        event.path.steps.add().key = value
                    else:
                        event.path.steps.add().index = value
                if name in outputs:
                    o = outputs[name]
                    pairs.append((convert.artifact_to_proto(Artifact(
                        type_id=type_ids[o.type], name=o.name, uri=o.uri, state=ArtifactState.LIVE,
                        properties=o.properties, custom_properties=o.custom_properties)), event))
                else:
                    event.artifact_id = artifact_ids[name]
                    inputs.append(event)
            execution_id, ids, _ = store.put_execution(execution, pairs, contexts)
            for (name, _, _), aid in zip([e for e in step_events(step) if e[0] in outputs], ids):
                artifact_ids[name] = aid
            for event in inputs:
                event.execution_id = execution_id
            store.put_events(inputs)
            store.put_attributions_and_associations(
                [pb.Attribution(context_id=c.id, artifact_id=e.artifact_id) for c in contexts for e in inputs], [])
    return store, type_ids


def mlmd_result(graph: Any) -> tuple[set[str], set[str], set[EventKey], set[str]]:
    """(artifact names, execution names, events, context names) of an MLMD LineageGraph."""
    from ml_metadata.proto import metadata_store_pb2 as pb

    artifacts = {a.id: a.name for a in graph.artifacts}
    executions = {x.id: x.name for x in graph.executions}
    events = {(artifacts[e.artifact_id], executions[e.execution_id], pb.Event.Type.Name(e.type)) for e in graph.events}
    return set(artifacts.values()), set(executions.values()), events, {c.name for c in graph.contexts}
