"""graphmd._codec's read path: what it builds from stored properties is exactly what
pydantic's model_construct builds (its fast construction must not drift from pydantic's)."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest

from graphmd import (
    Artifact,
    ArtifactState,
    Association,
    Attribution,
    Context,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionState,
    ProtoValue,
)
from graphmd import _codec as codec
from graphmd._errors import GraphmdError, InvalidArgumentError
from graphmd._store import _check_event_edge_fully, _plain_event_edge

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


def _checks_pass(node: Artifact | Context) -> bool:
    try:
        for number in (node.id, node.type_id):
            codec.check_int64(number, "f")
        for text in (node.name, node.external_id, getattr(node, "uri", None)):
            codec.check_text(text, "f", indexed=True)
        for properties in (node.properties, node.custom_properties):
            for name, value in properties.items():
                codec.check_property_name(name, "f")
                codec.check_value(value, "f")
    except InvalidArgumentError:
        return False
    return True


def _nested(depth: int) -> dict[str, Any]:
    """A STRUCT value ``depth`` levels deep ({"a": {"a": ... {}}})."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _nested_list(depth: int) -> list[Any]:
    """A list ``depth`` levels deep ([[...[]]])."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


class _Level(enum.IntEnum):
    HIGH = 3


# What no property value is, though a model's dict changed in place (which pydantic does
# not see) or model_construct (which validates nothing) can hold it; and what check_value
# must say about it (the field, and where in a STRUCT).
_NOT_VALUES: list[tuple[object, str]] = [
    (None, "None is no property value"),
    ([1, 2], "list is no property value"),
    ((1, "x"), "tuple is no property value"),
    (b"\x00\x01", "bytes is no property value"),
    ({1}, "set is no property value"),
    (object(), "object is no property value"),
    (2**63, "does not fit in a 64-bit integer"),
    ("\ud800", "not valid Unicode"),
    ({"a": {1: 2}}, "a key is int 1, not a string (at ['a'])"),
    ({1: "x"}, "a key is int 1, not a string (at the top level)"),
    ({"a": [1, {"b": {2}}]}, "set at ['a'][1]['b']"),
    ({"a": b"x"}, "bytes at ['a']"),
    ({"a": object()}, "object at ['a']"),
    ({"a": ["\ud800"]}, "not valid Unicode"),
    ({"\ud800": 1}, "not valid Unicode"),
    (_nested(codec.MAX_STRUCT_DEPTH + 1), f"nested more than {codec.MAX_STRUCT_DEPTH} levels deep"),
    (_nested(5000), f"nested more than {codec.MAX_STRUCT_DEPTH} levels deep"),
    ({"a": _nested_list(codec.MAX_STRUCT_DEPTH)}, f"nested more than {codec.MAX_STRUCT_DEPTH} levels deep"),
    ({"$proto": True, "type_url": "t", "value": "AA=="}, "is a PROTO value's, not a STRUCT"),
    ({"$proto": True, "type_url": "t"}, "is a PROTO value's, not a STRUCT"),
    (ProtoValue.model_construct(type_url=1, value=b""), "type_url is a string"),
    (ProtoValue.model_construct(type_url="t", value="AA=="), "its value bytes"),
    (ProtoValue(type_url="\ud800", value=b""), "not valid Unicode"),
]
# Values check_value passes (NaN and the infinities, in a STRUCT too; a tuple in a STRUCT is
# a JSON array; a dict with the marker that is not exactly the PROTO form is a STRUCT).
_GOOD_VALUES: list[object] = [
    0, -(2**63), 2**63 - 1, 1.5, float("nan"), float("inf"), -float("inf"), True, False, "", "é", _Level.HIGH,
    {}, {"a": [1, None, "x", 2.5, True, {"b": (1, 2)}], "n": float("nan")}, _nested(codec.MAX_STRUCT_DEPTH),
    {"a": [[[]]]}, {"type_url": "x", "value": "AA=="}, {"$proto": True, "type_url": "t", "other": 1},
    {"$proto": 1, "type_url": "t"}, ProtoValue(type_url="t", value=b"\xff"),
]

_TEXTS = ["", "plain", "é", "\ud800", "a\x00b", "x" * codec.MAX_INDEXED_BYTES, "x" * (codec.MAX_INDEXED_BYTES + 1),
          "é" * (codec.MAX_INDEXED_BYTES // 2 + 1)]
_NUMBERS = [None, 0, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1]
_VALUES = [*_TEXTS, 1, 2**63, -(2**63) - 1, 1.5, float("nan"), True, {"a": 1}, {"a": object()},
           ProtoValue(type_url="t", value=b""), *(value for value, _ in _NOT_VALUES), *_GOOD_VALUES]


@pytest.mark.parametrize(("value", "said"), _NOT_VALUES, ids=[str(i) for i in range(len(_NOT_VALUES))])
def test_check_value_refuses_what_is_no_property_value(value: object, said: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        codec.check_value(value, "artifacts[0].custom_properties['x']")
    assert info.value.field.startswith("artifacts[0].custom_properties['x']")
    assert said in str(info.value)
    assert str(info.value).startswith("artifacts[0].custom_properties['x']")


@pytest.mark.parametrize("value", _GOOD_VALUES, ids=[str(i) for i in range(len(_GOOD_VALUES))])
def test_check_value_passes_every_property_value(value: object) -> None:
    codec.check_value(value, "f")


def test_plainly_valid_sends_every_other_kind_of_value_to_the_checks() -> None:
    # Only bool, int64, float and ASCII str are vouched for (by exact type); anything else,
    # a subclass included, goes to check_value. So do fields model_construct set to a wrong type.
    for value, _ in _NOT_VALUES:
        for where in ("properties", "custom_properties"):
            fields: dict[str, Any] = {"type_id": 1, "properties": {}, "custom_properties": {}, where: {"x": value}}
            node = Artifact.model_construct(**fields)
            assert not codec.plainly_valid(node), value
    subclassed = Artifact.model_construct(type_id=1, properties={"x": _Level.HIGH}, custom_properties={})
    assert not codec.plainly_valid(subclassed)
    odd_fields: list[dict[str, Any]] = [{"id": "7"}, {"id": 1.5}, {"type_id": True}, {"name": 5}, {"uri": b"/x"},
                                        {"properties": [("x", 1)]}, {"custom_properties": None}]
    for fields in odd_fields:
        node = Artifact.model_construct(**{"type_id": 1, "properties": {}, "custom_properties": {}, **fields})
        assert not codec.plainly_valid(node), fields
    assert codec.plainly_valid(Artifact(id=1, type_id=2, name="n", uri="/u", properties={"a": 1, "b": 1.5, "c": "x",
                                                                                         "d": True}))


def test_ids_and_texts_of_another_type_are_refused_not_raised_on() -> None:
    for value in ("7", 1.5, True):
        with pytest.raises(InvalidArgumentError, match="an integer"):
            codec.check_int64(value, "artifacts[0].id")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="a string"):
        codec.check_text(5, "artifacts[0].uri")  # type: ignore[arg-type]


def test_plainly_valid_only_vouches_for_nodes_the_checks_pass() -> None:
    # The store skips the per-value checks of nodes plainly_valid accepts: it must never
    # accept one the checks reject (it may send a valid one to the checks).
    nodes: list[Artifact | Context] = []
    for number in _NUMBERS:
        nodes.append(Artifact.model_construct(id=number, type_id=1, properties={}, custom_properties={}))
        nodes.append(Artifact.model_construct(id=1, type_id=number, properties={}, custom_properties={}))
    for text in _TEXTS:
        for attr in ("name", "external_id", "uri"):
            nodes.append(Artifact.model_construct(**{"id": 1, "type_id": 1, attr: text, "properties": {},
                                                     "custom_properties": {}}))
        nodes.append(Context.model_construct(id=1, type_id=1, name=text, properties={}, custom_properties={}))
        nodes.append(Artifact.model_construct(type_id=1, properties={text: 1}, custom_properties={}))
    for value in _VALUES:
        nodes.append(Artifact.model_construct(type_id=1, properties={"p": value}, custom_properties={}))
        nodes.append(Artifact.model_construct(type_id=1, properties={}, custom_properties={"c": value}))
    accepted = [n for n in nodes if codec.plainly_valid(n)]
    assert all(_checks_pass(n) for n in accepted)
    assert len(accepted) > 10 and len(accepted) < len(nodes)
    assert any(not _checks_pass(n) for n in nodes)


def test_encode_path_is_json_of_the_steps_whatever_was_encoded_before() -> None:
    # Paths are memoized: equal-comparing steps of other types (1 and True) must not share text.
    for path in ([1], [True], ["a", 0], ["a", False], [1, "1"], ["1", 1], []):
        assert codec.encode_path(path) == json.dumps(path)
    assert codec.encode_path([True]) == "[true]" and codec.encode_path([1]) == "[1]"
    assert codec.encode_path(["a", [0]]) == '["a", [0]]'  # unhashable: encoded as before, not memoized


def test_the_event_edge_shortcut_only_vouches_for_edges_the_checks_pass() -> None:
    # put_lineage_subgraph skips the full check (and its field names) of edges
    # _plain_event_edge accepts: it must never accept one the full check rejects.
    executions = [Execution(type_id=1), Execution(id=7, type_id=1)]
    artifacts = [Artifact(type_id=1), Artifact(id=8, type_id=1)]
    edges = []
    for kind in (EventType.INPUT, EventType.OUTPUT, None):
        for number in _NUMBERS:
            for ends in ({"execution_index": 0, "artifact_index": 0}, {"execution_index": 1},
                         {"artifact_index": 1}, {}, {"execution_index": 2, "artifact_index": -1}):
                for ids in ({}, {"artifact_id": number}, {"execution_id": number}, {"artifact_id": 8, "execution_id": 7},
                            {"milliseconds_since_epoch": number}):
                    event = Event.model_construct(type=kind, path=[], **{"artifact_id": None, "execution_id": None,
                                                                          "milliseconds_since_epoch": None, **ids})
                    edges.append(EventEdge.model_construct(event=event, execution_index=ends.get("execution_index"),
                                                           artifact_index=ends.get("artifact_index")))

    def passes(edge: EventEdge) -> bool:
        try:
            _check_event_edge_fully(edge, 0, executions, artifacts)
        except GraphmdError:
            return False
        return True

    accepted = [e for e in edges if _plain_event_edge(e, len(executions), len(artifacts))]
    assert all(passes(e) for e in accepted)
    assert len(accepted) > 10 and any(not passes(e) for e in edges)
