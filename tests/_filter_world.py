"""A small metadata world for filter_query tests, buildable in graphmd and in MLMD's own
SQLite store alike, so the same filter can run on both and the answers be compared.

Nodes have keys (a0.., e0.., r1/r2/r3 runs, p1/p2 pipelines); ``build_graphmd`` and
``build_mlmd`` return each store's ids by key (types as ``t_<name>``), and a query
template's ``{a1}`` / ``{t_Model}`` placeholders take those ids (see ``render``).
"""

from __future__ import annotations

from typing import Any

from graphmd import (
    Artifact,
    ArtifactState,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    Event,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    MetadataStore,
    ParentContext,
    PropertyType,
)

I, D, S, B = PropertyType.INT, PropertyType.DOUBLE, PropertyType.STRING, PropertyType.BOOLEAN
ARTIFACT_TYPES = [ArtifactType(name="Dataset", properties={"p": I, "d": D, "s": S, "b": B}),
                  ArtifactType(name="Model", properties={"p": I})]
EXECUTION_TYPES = [ExecutionType(name="Trainer", properties={"p": I, "s": S}), ExecutionType(name="Evaluator")]
CONTEXT_TYPES = [ContextType(name="Run", properties={"p": I}), ContextType(name="Pipeline")]

LIVE, PENDING, DELETED, MARKED = (ArtifactState.LIVE, ArtifactState.PENDING, ArtifactState.DELETED,
                                  ArtifactState.MARKED_FOR_DELETION)
# key -> (type, fields)
ARTIFACTS: dict[str, tuple[str, dict[str, Any]]] = {
    "a0": ("Dataset", dict(uri="/data/train", name="train", state=LIVE, external_id="ext-a0",
                           properties={"p": 1, "d": 0.5, "s": "alpha", "b": True},
                           custom_properties={"note": "first"})),
    "a1": ("Dataset", dict(uri="/data/eval", name="eval", state=PENDING,
                           properties={"p": 2, "d": 1.5, "s": "beta"}, custom_properties={"my:key": 3})),
    "a2": ("Dataset", dict(uri="/data/test", state=None, properties={"s": "alpha"}, custom_properties={"note": 7})),
    "a3": ("Model", dict(uri="/models/m1", name="m1", state=LIVE, properties={"p": 3},
                         custom_properties={"my key": "x", "acc": 0.9})),
    # MLMD stores an unset uri as '' (graphmd keeps it unset): a4 sets '' so both agree.
    "a4": ("Model", dict(uri="", name="m2", state=DELETED, custom_properties={"flag": True})),
    "a5": ("Model", dict(uri="/models/m_3", name="m_3", state=MARKED, properties={"p": -4})),
    "a6": ("Dataset", dict(uri='/data/ne"w', name="odd's", properties={"d": 2.0, "b": False},
                           custom_properties={"cfg": {"k": 1.0, "tags": ["x"]}})),
}
EXECUTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "e0": ("Trainer", dict(name="train-1", last_known_state=ExecutionState.COMPLETE, properties={"p": 1, "s": "gpu"})),
    "e1": ("Trainer", dict(name="train-2", last_known_state=ExecutionState.RUNNING, properties={"p": 2})),
    "e2": ("Evaluator", dict(name="eval-1", last_known_state=ExecutionState.FAILED,
                             custom_properties={"note": "bad"})),
    "e3": ("Evaluator", dict()),
    "e4": ("Trainer", dict(name="train-3", last_known_state=ExecutionState.NEW, properties={"p": 5},
                           external_id="ext-e4")),
}
CONTEXTS: dict[str, tuple[str, dict[str, Any]]] = {
    "r1": ("Run", dict(name="run-1", properties={"p": 1}, custom_properties={"owner": "ann"})),
    "r2": ("Run", dict(name="run-2", properties={"p": 2})),
    "r3": ("Run", dict(name="run-3", external_id="ext-r3")),
    "p1": ("Pipeline", dict(name="pipe-a", custom_properties={"owner": "bob"})),
    "p2": ("Pipeline", dict(name="pipe-b")),
}
ATTRIBUTIONS = [("r1", "a0"), ("r1", "a1"), ("r1", "a3"), ("r2", "a1"), ("r2", "a2"),
                ("p1", "a0"), ("p1", "a1"), ("p1", "a2"), ("p1", "a3"), ("p2", "a4")]
ASSOCIATIONS = [("r1", "e0"), ("r1", "e2"), ("r2", "e1"), ("p1", "e0"), ("p1", "e1"), ("p1", "e2"), ("r3", "e4")]
PARENTS = [("r1", "p1"), ("r2", "p1"), ("r3", "p2"), ("r2", "r3")]  # (child, parent)
EVENTS = [("e0", "a0", EventType.INPUT, 100), ("e0", "a3", EventType.OUTPUT, 200),
          ("e1", "a1", EventType.INPUT, 150), ("e1", "a5", EventType.OUTPUT, 250),
          ("e1", "a3", EventType.DECLARED_OUTPUT, 260), ("e2", "a3", EventType.INPUT, 300),
          ("e2", "a2", EventType.INTERNAL_INPUT, 310), ("e2", "a6", EventType.OUTPUT, 320),
          ("e4", "a0", EventType.INPUT, 400)]


def _nodes(cls: type, spec: dict[str, tuple[str, dict[str, Any]]], ids: dict[str, int]) -> list[Any]:
    return [cls(type_id=ids["t_" + type_name], **fields) for type_name, fields in spec.values()]


def _models(ids: dict[str, int]) -> tuple[list[Any], list[Any], list[Any]]:
    return (_nodes(Artifact, ARTIFACTS, ids), _nodes(Execution, EXECUTIONS, ids), _nodes(Context, CONTEXTS, ids))


def _edges(ids: dict[str, int]) -> tuple[list[Attribution], list[Association], list[ParentContext], list[Event]]:
    return ([Attribution(context_id=ids[c], artifact_id=ids[a]) for c, a in ATTRIBUTIONS],
            [Association(context_id=ids[c], execution_id=ids[e]) for c, e in ASSOCIATIONS],
            [ParentContext(child_id=ids[c], parent_id=ids[p]) for c, p in PARENTS],
            [Event(execution_id=ids[e], artifact_id=ids[a], type=t, milliseconds_since_epoch=ms)
             for e, a, t, ms in EVENTS])


def build_graphmd(store: MetadataStore) -> dict[str, int]:
    """Put the world into an empty graphmd store; its ids by key."""
    ids: dict[str, int] = {}
    a_types, x_types, c_types = store.put_types(ARTIFACT_TYPES, EXECUTION_TYPES, CONTEXT_TYPES)
    for t, i in zip(ARTIFACT_TYPES + EXECUTION_TYPES + CONTEXT_TYPES, a_types + x_types + c_types):
        ids["t_" + t.name] = i
    artifacts, executions, contexts = _models(ids)
    ids.update(zip(ARTIFACTS, store.put_artifacts(artifacts)))
    ids.update(zip(EXECUTIONS, store.put_executions(executions)))
    ids.update(zip(CONTEXTS, store.put_contexts(contexts)))
    attributions, associations, parents, events = _edges(ids)
    store.put_attributions_and_associations(attributions, associations)
    store.put_parent_contexts(parents)
    store.put_events(events)
    return ids


def build_mlmd(mlmd_store: Any) -> dict[str, int]:
    """Put the world into an MLMD store (ml_metadata.MetadataStore); its ids by key."""
    from graphmd.mlmd._convert import to_proto

    ids: dict[str, int] = {}
    for t in ARTIFACT_TYPES:
        ids["t_" + t.name] = mlmd_store.put_artifact_type(to_proto(t))
    for t in EXECUTION_TYPES:
        ids["t_" + t.name] = mlmd_store.put_execution_type(to_proto(t))
    for t in CONTEXT_TYPES:
        ids["t_" + t.name] = mlmd_store.put_context_type(to_proto(t))
    artifacts, executions, contexts = _models(ids)
    ids.update(zip(ARTIFACTS, mlmd_store.put_artifacts([to_proto(a) for a in artifacts])))
    ids.update(zip(EXECUTIONS, mlmd_store.put_executions([to_proto(x) for x in executions])))
    ids.update(zip(CONTEXTS, mlmd_store.put_contexts([to_proto(c) for c in contexts])))
    attributions, associations, parents, events = _edges(ids)
    mlmd_store.put_attributions_and_associations([to_proto(a) for a in attributions],
                                                 [to_proto(a) for a in associations])
    mlmd_store.put_parent_contexts([to_proto(p) for p in parents])
    mlmd_store.put_events([to_proto(e) for e in events])
    return ids


def render(template: str, ids: dict[str, int]) -> str:
    """The filter with each ``{key}`` replaced by that node's (or ``{t_Name}`` type's) id."""
    return template.format(**ids)


def keys(nodes: list[Any], ids: dict[str, int], label: str) -> list[str]:
    """The world keys of listed nodes of ``label`` (graphmd models or MLMD protos), sorted."""
    spec = {"Artifact": ARTIFACTS, "Execution": EXECUTIONS, "Context": CONTEXTS}[label]
    by_id = {ids[key]: key for key in spec}
    return sorted(by_id[n.id] for n in nodes)
