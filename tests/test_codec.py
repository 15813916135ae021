"""graphmd._codec's read path: what it builds from stored properties is exactly what
pydantic's model_construct builds (its fast construction must not drift from pydantic's)."""

from __future__ import annotations

import pytest

from graphmd import (
    Artifact,
    ArtifactState,
    Association,
    Attribution,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    ProtoValue,
)
from graphmd import _codec as codec

_PROPERTIES = {"n": 3, "x": 0.5, "s": "text", "b": True, "st": {"a": [1.0, "b"]}, "pr": ProtoValue(type_url="t/x", value=b"\x01")}


@pytest.mark.parametrize("node", [
    Artifact(id=1, type_id=2, type="Data", name="a", uri="/a", state=ArtifactState.LIVE, external_id="e",
             properties=_PROPERTIES, custom_properties={"c": 1, "p_odd": "x"}, create_time_since_epoch=5,
             last_update_time_since_epoch=6, system_metadata=ProtoValue(type_url="t/s", value=b"m")),
    Artifact(id=1, type_id=2, type="Data", create_time_since_epoch=5, last_update_time_since_epoch=5),
    Execution(id=3, type_id=4, type="Trainer", name="x", last_known_state=ExecutionState.COMPLETE,
              properties={"lr": 0.1}, create_time_since_epoch=5, last_update_time_since_epoch=5),
    Context(id=5, type_id=6, type="Run", name="run-1", custom_properties={"who": "me"},
            create_time_since_epoch=5, last_update_time_since_epoch=5),
])
def test_decode_node_is_the_stored_node_as_model_construct_builds_it(node: Artifact | Execution | Context) -> None:
    decoded = codec.decode_node(type(node), codec.encode_node(node, type_name=node.type or ""))
    expected = type(node).model_construct(**dict(node))
    assert decoded == expected == node
    assert repr(decoded) == repr(expected)
    assert decoded.model_fields_set == set(type(node).model_fields)
    assert decoded.model_dump() == node.model_dump()


def test_decode_event_and_links_match_model_construct() -> None:
    event = codec.decode_event({"type": "INPUT", "path": '["examples", 0]', "milliseconds_since_epoch": 7}, 1, 2)
    assert event == Event(artifact_id=1, execution_id=2, type=EventType.INPUT, path=["examples", 0],
                          milliseconds_since_epoch=7)
    assert repr(event) == repr(Event.model_construct(**dict(event)))
    assert codec.decode_event({"type": "OUTPUT"}, 1, 2).path == []
    assert codec.constructed(Attribution, {"context_id": 1, "artifact_id": 2}) == Attribution(context_id=1, artifact_id=2)
    assert codec.constructed(Association, {"context_id": 1, "execution_id": 2}) == Association(context_id=1, execution_id=2)


def test_decoded_models_stay_independent_when_changed() -> None:
    # Read models share one fields-set per class: assigning, copying and updating one must
    # not change another, nor the set every later read gets.
    stored = codec.encode_node(Artifact(id=1, type_id=2, uri="/a", properties={"n": 1}, create_time_since_epoch=5,
                                        last_update_time_since_epoch=5), type_name="Data")
    first, second = codec.decode_node(Artifact, stored), codec.decode_node(Artifact, stored)
    first.uri = "/changed"
    first.properties["n"] = 2
    copied = second.model_copy(update={"name": "copy"})
    assert (second.uri, second.properties, second.name) == ("/a", {"n": 1}, None)
    assert copied.name == "copy" and second.name is None
    assert codec.decode_node(Artifact, stored).model_fields_set == set(Artifact.model_fields)
    assert Artifact(uri="/x").model_fields_set == {"uri"}


def test_decode_node_ignores_keys_its_kind_does_not_have() -> None:
    # A key of another node kind, or one holding no property, is not a field of this kind.
    context = codec.decode_node(Context, {"id": 1, "type_id": 2, "name": "c", "uri": "/a", "state": "LIVE",
                                          "last_known_state": "COMPLETE", "event_key": "x", "p_n": 1})
    assert context == Context(id=1, type_id=2, name="c", properties={"n": 1})
    assert not hasattr(context, "uri")
