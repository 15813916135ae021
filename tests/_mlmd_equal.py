"""Whole-store equality of an ml-metadata store and a graphmd store, written plainly for the
tests (independently of graphmd.mlmd._compare): everything read at once from both, graphmd's
side turned into MLMD protos, compared item by item."""

from __future__ import annotations

from typing import Any

from graphmd import MetadataStore
from graphmd._schema import SIMPLE_TYPES
from graphmd.mlmd import _convert as cv


def mlmd_everything(client: Any) -> dict[str, dict]:
    """Every type, node, event and link of an ml-metadata store, keyed."""
    out: dict[str, dict] = {"types": {}}
    for kind, lister, getter, by_id in (
            ("ArtifactType", client.get_artifact_types, client.get_artifact_type, client.get_artifact_types_by_id),
            ("ExecutionType", client.get_execution_types, client.get_execution_type, client.get_execution_types_by_id),
            ("ContextType", client.get_context_types, client.get_context_type, client.get_context_types_by_id)):
        ids = [t.id for t in lister()] + [getter(name).id for name in SIMPLE_TYPES.get(kind, [])]
        out["types"] |= {(kind, t.id): t for t in by_id(ids)}  # by id: the listing omits external_id
    out["artifacts"] = {a.id: a for a in client.get_artifacts()}
    out["executions"] = {x.id: x for x in client.get_executions()}
    out["contexts"] = {c.id: c for c in client.get_contexts()}
    out["events"] = {(e.artifact_id, e.execution_id, e.type): e
                     for e in client.get_events_by_execution_ids(list(out["executions"]))}
    out["links"] = {c: (sorted(a.id for a in client.get_artifacts_by_context(c)),
                        sorted(x.id for x in client.get_executions_by_context(c)),
                        sorted(p.id for p in client.get_parent_contexts_by_context(c))) for c in out["contexts"]}
    return out


def graphmd_everything(store: MetadataStore) -> dict[str, dict]:
    """The same for a graphmd store, as MLMD protos."""
    out: dict[str, dict] = {"types": {}}
    for kind, types in (("ArtifactType", store.get_artifact_types(include_system_types=True)),
                        ("ExecutionType", store.get_execution_types(include_system_types=True)),
                        ("ContextType", store.get_context_types())):
        out["types"] |= {(kind, t.id): cv.to_proto(t) for t in types}
    out["artifacts"] = {a.id: cv.to_proto(a) for a in store.get_artifacts()}
    out["executions"] = {x.id: cv.to_proto(x) for x in store.get_executions()}
    out["contexts"] = {c.id: cv.to_proto(c) for c in store.get_contexts()}
    out["events"] = {(e.artifact_id, e.execution_id, e.type): e for e in
                     map(cv.event_to_proto, store.get_events_by_execution_ids(list(out["executions"])))}
    out["links"] = {c: (sorted(a.id for a in store.get_artifacts_by_context(c)),
                        sorted(x.id for x in store.get_executions_by_context(c)),
                        sorted(p.id for p in store.get_parent_contexts_by_context(c))) for c in out["contexts"]}
    return out


def assert_same(mlmd: dict[str, dict], graphmd: dict[str, dict]) -> None:
    """Equal item by item (ids, names, external ids, states, properties, times, paths...)."""
    for kind in mlmd:
        assert mlmd[kind].keys() == graphmd[kind].keys(), kind
        for key, message in mlmd[kind].items():
            assert graphmd[kind][key] == message, f"{kind} {key}:\n{message}\n!=\n{graphmd[kind][key]}"
