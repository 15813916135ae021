"""A small store holding every kind of type, node, value and edge, with awkward values."""

from __future__ import annotations

from graphmd import (
    Artifact,
    ArtifactAndEvent,
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
    MetadataStore,
    ParentContext,
    PropertyType,
    ProtoValue,
)

P = PropertyType


def populate(store: MetadataStore, n: int = 3) -> None:
    """Every kind of type, node, value and edge, with awkward values."""
    data_t = store.put_artifact_type(ArtifactType(name="Data", version="v2", description="d", external_id="t-data",
                                                  base_type="DATASET",
                                                  properties={"i": P.INT, "f": P.DOUBLE, "s": P.STRING, "b": P.BOOLEAN,
                                                              "st": P.STRUCT, "pb": P.PROTO}))
    step_t = store.put_execution_type(ExecutionType(name="Step", properties={"lr": P.DOUBLE},
                                                    input_type={"any": {}}, output_type={"none": {}}))
    run_t = store.put_context_type(ContextType(name="Run", properties={"note": P.STRING}))
    [root] = store.put_contexts([Context(type_id=run_t, name="root", properties={"note": "üñí\x00"})])
    for i in range(n):
        odd = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "one": 1.0, "int": 1,
               "empty": "", "nul": "a\x00b", "emoji": "🧪\u2028line", "big": 2**63 - 1,
               "key with `tick`, {brace} and 'quote'": True}
        store.put_execution(
            Execution(type_id=step_t, name=f"step-{i}", last_known_state=ExecutionState.COMPLETE,
                      properties={"lr": 0.1 * i}, custom_properties=odd,
                      system_metadata=ProtoValue(type_url="type.googleapis.com/x.Y", value=b"\x00\xff")),
            [ArtifactAndEvent(artifact=Artifact(type_id=data_t, uri=f"/d/{i}", name=f"d{i}", external_id=f"ext-{i}",
                                                state=ArtifactState.LIVE,
                                                properties={"i": i, "f": 1.0, "s": "x", "b": False,
                                                            "st": {"k": [1, 2.5, None, "v"]},
                                                            "pb": ProtoValue(type_url="u", value=bytes([i]))}),
                              event=Event(type=EventType.OUTPUT, path=["out", i], milliseconds_since_epoch=1000 + i)),
             ArtifactAndEvent(artifact=Artifact(type_id=data_t, uri=f"/in/{i}"),
                              event=Event(type=EventType.INPUT))],
            [Context(type_id=run_t, name=f"run-{i}")])
        [child] = store.get_contexts_by_type("Run", list_options=None)[-1:]
        store.put_parent_contexts([ParentContext(child_id=child.id, parent_id=root)])
    store.put_lineage_subgraph(
        [Execution(type_id=step_t)], [Artifact(type_id=data_t, uri="/lineage")], [],
        [EventEdge(event=Event(type=EventType.DECLARED_INPUT), execution_index=0, artifact_index=0)])
