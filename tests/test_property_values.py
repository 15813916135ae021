"""The models' property values, without a store: STRUCT and PROTO told apart in every form a
model is written in and read from, NaN and the infinities through JSON, MLMD's enum numbers,
Page's item type, and the public typing names (docs/data-model.md)."""

from __future__ import annotations

import json
import math
import typing
from typing import Any

import pytest
from pydantic import ValidationError

import graphmd
from graphmd import (
    Artifact,
    ArtifactBaseType,
    ArtifactState,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionBaseType,
    ExecutionState,
    LineageDirection,
    LineageGraph,
    OrderBy,
    Page,
    PropertyType,
    PropertyValue,
    ProtoValue,
)

PROTO = ProtoValue(type_url="type.googleapis.com/x.Y", value=b"\x08\x96\x01\xff\xfe")
# STRUCT values that look like a PROTO value's fields, or carry the marker but are not
# exactly the PROTO form: dicts, so STRUCTs.
STRUCT_LOOKALIKES: list[dict[str, Any]] = [
    {"type_url": "x", "value": "AA=="},
    {"type_url": "y"},
    {"type_url": "t", "value": "not base64"},
    {"$proto": True, "type_url": "t", "value": "AA==", "more": 1},
    {"$proto": 1, "type_url": "t"},
    {"$proto": "true", "type_url": "t"},
]


def _same(a: Any, b: Any) -> bool:
    """Equal, each value of the same type, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _round_trips(artifact: Artifact) -> dict[str, Artifact]:
    return {
        "json": Artifact.model_validate_json(artifact.model_dump_json()),
        "python": Artifact.model_validate(artifact.model_dump()),
        "python-json": Artifact.model_validate(artifact.model_dump(mode="json")),
        "json-module": Artifact.model_validate(json.loads(artifact.model_dump_json())),
    }


@pytest.mark.parametrize("struct", STRUCT_LOOKALIKES, ids=[str(i) for i in range(len(STRUCT_LOOKALIKES))])
def test_a_dict_is_a_struct_in_every_form(struct: dict[str, Any]) -> None:
    artifact = Artifact(properties={"s": struct}, custom_properties={"n": {"inner": struct}})
    assert artifact.properties["s"] == struct and type(artifact.properties["s"]) is dict
    for how, back in _round_trips(artifact).items():
        assert back == artifact and type(back.properties["s"]) is dict, how


def test_a_proto_value_stays_one_in_every_form() -> None:
    artifact = Artifact(properties={"p": PROTO, "empty": ProtoValue(type_url="t/empty")},
                        system_metadata=ProtoValue(type_url="t/s", value=b"\x00"))
    for how, back in _round_trips(artifact).items():
        assert back == artifact and isinstance(back.properties["p"], ProtoValue), how
    # The dict form carries the marker; system_metadata, always a PROTO, needs none.
    dumped = json.loads(artifact.model_dump_json())
    assert dumped["properties"]["p"] == {"$proto": True, "type_url": PROTO.type_url, "value": "CJYB//4="}
    assert dumped["system_metadata"] == {"type_url": "t/s", "value": "AA=="}
    assert artifact.model_dump()["properties"]["p"] == {"$proto": True, "type_url": PROTO.type_url,
                                                        "value": PROTO.value}
    # The dict form given as a value is a PROTO value.
    assert Artifact(properties={"p": {"$proto": True, "type_url": "t", "value": b"\x01"}}).properties["p"] == \
        ProtoValue(type_url="t", value=b"\x01")
    assert Artifact(properties={"p": {"$proto": True, "type_url": "t"}}).properties["p"] == ProtoValue(type_url="t")


@pytest.mark.parametrize("form", [
    {"$proto": True, "type_url": "t", "value": "not base64!"},
    {"$proto": True, "value": "AA=="},
    {"$proto": True, "type_url": 5},
    {"$proto": True, "type_url": "t", "value": 5},
])
def test_a_malformed_proto_form_is_refused_not_taken_for_a_struct(form: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Artifact(properties={"p": form})
    with pytest.raises(ValidationError):
        Artifact.model_validate_json(json.dumps({"properties": {"p": form}}))


def test_nan_and_infinities_round_trip_through_json() -> None:
    values: dict[str, PropertyValue] = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf,
                                        "st": {"l": [math.nan, -math.inf], "x": math.inf}}
    artifact = Artifact(properties=values, custom_properties=values)
    text = artifact.model_dump_json()
    assert "null" not in text[text.index("properties"):text.index("create_time")]
    for how, back in _round_trips(artifact).items():
        assert _same(back.properties, values) and _same(back.custom_properties, values), how
    graph = LineageGraph(artifacts=[artifact], executions=[Execution(properties={"lr": math.nan})])
    back_graph = LineageGraph.model_validate_json(graph.model_dump_json())
    assert _same(back_graph.artifacts[0].properties, values)
    assert math.isnan(typing.cast(float, back_graph.executions[0].properties["lr"]))
    # Python's json module reads the same text (NaN, Infinity, -Infinity tokens).
    assert math.isnan(json.loads(text)["properties"]["nan"])
    # A STRING "NaN" stays a string.
    assert Artifact.model_validate_json(Artifact(properties={"s": "NaN"}).model_dump_json()).properties["s"] == "NaN"


def test_plain_values_keep_their_kinds_through_json() -> None:
    values: dict[str, PropertyValue] = {"i": 1, "f": 1.0, "b": True, "s": "1", "z": -0.0, "big": 2**63 - 1}
    back = Artifact.model_validate_json(Artifact(properties=values).model_dump_json())
    assert _same(back.properties, values)


# ml_metadata's metadata_store.proto numbers, by graphmd enum (checked against the installed
# proto module below when ml-metadata is installed).
MLMD_NUMBERS: list[tuple[type[Any], dict[int, Any]]] = [
    (ArtifactState, {0: ArtifactState.UNKNOWN, 1: ArtifactState.PENDING, 2: ArtifactState.LIVE,
                     3: ArtifactState.MARKED_FOR_DELETION, 4: ArtifactState.DELETED, 5: ArtifactState.ABANDONED,
                     6: ArtifactState.REFERENCE}),
    (ExecutionState, {0: ExecutionState.UNKNOWN, 1: ExecutionState.NEW, 2: ExecutionState.RUNNING,
                      3: ExecutionState.COMPLETE, 4: ExecutionState.FAILED, 5: ExecutionState.CACHED,
                      6: ExecutionState.CANCELED}),
    (EventType, {1: EventType.DECLARED_OUTPUT, 2: EventType.DECLARED_INPUT, 3: EventType.INPUT, 4: EventType.OUTPUT,
                 5: EventType.INTERNAL_INPUT, 6: EventType.INTERNAL_OUTPUT, 7: EventType.PENDING_OUTPUT}),
    (PropertyType, {1: PropertyType.INT, 2: PropertyType.DOUBLE, 3: PropertyType.STRING, 4: PropertyType.STRUCT,
                    5: PropertyType.PROTO, 6: PropertyType.BOOLEAN}),
    (ArtifactBaseType, {1: ArtifactBaseType.DATASET, 2: ArtifactBaseType.MODEL, 3: ArtifactBaseType.METRICS,
                        4: ArtifactBaseType.STATISTICS}),
    (ExecutionBaseType, {1: ExecutionBaseType.TRAIN, 2: ExecutionBaseType.TRANSFORM, 3: ExecutionBaseType.PROCESS,
                         4: ExecutionBaseType.EVALUATE, 5: ExecutionBaseType.DEPLOY}),
    (OrderBy, {1: OrderBy.CREATE_TIME, 2: OrderBy.LAST_UPDATE_TIME, 3: OrderBy.ID}),
    (LineageDirection, {0: LineageDirection.BIDIRECTIONAL, 1: LineageDirection.UPSTREAM,
                        2: LineageDirection.DOWNSTREAM, 3: LineageDirection.BIDIRECTIONAL}),
]


@pytest.mark.parametrize(("enum_type", "numbers"), MLMD_NUMBERS, ids=[e.__name__ for e, _ in MLMD_NUMBERS])
def test_enums_take_mlmd_proto_numbers(enum_type: type[Any], numbers: dict[int, Any]) -> None:
    for number, member in numbers.items():
        assert enum_type(number) is member
    for bad in (True, False, -1, max(numbers) + 1, "2", 2.0, *({0} - set(numbers))):
        with pytest.raises(ValueError):
            enum_type(bad)
    for member in enum_type:  # names still work, and every member has its number
        assert enum_type(member.value) is member and member in numbers.values()


def test_enum_numbers_match_ml_metadata_proto() -> None:
    pb = pytest.importorskip("ml_metadata.proto.metadata_store_pb2")
    protos: dict[Any, Any] = {ArtifactState: pb.Artifact.State, ExecutionState: pb.Execution.State, EventType: pb.Event.Type,
              PropertyType: pb.PropertyType, ArtifactBaseType: pb.ArtifactType.SystemDefinedBaseType,
              ExecutionBaseType: pb.ExecutionType.SystemDefinedBaseType,
              OrderBy: pb.ListOperationOptions.OrderByField.Field,
              LineageDirection: pb.LineageSubgraphQueryOptions.Direction}
    for enum_type, numbers in MLMD_NUMBERS:
        proto = protos[enum_type]
        for number, member in numbers.items():
            name = proto.Name(number)
            assert name == member.value or (name, member) == ("DIRECTION_UNSPECIFIED", LineageDirection.BIDIRECTIONAL)
        for name, number in proto.items():  # every proto number graphmd has a member for is taken
            if name in enum_type.__members__:
                assert enum_type(number) is enum_type[name]


def test_models_take_enum_numbers() -> None:
    assert Artifact(state=2).state is ArtifactState.LIVE  # type: ignore[arg-type]
    assert Execution.model_validate_json('{"last_known_state": 3}').last_known_state is ExecutionState.COMPLETE
    assert Event(type=4).type is EventType.OUTPUT  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Artifact(state=True)  # type: ignore[arg-type]


def test_a_page_holds_its_kind() -> None:
    page = Page[Context](items=[Context(name="c", properties={"p": PROTO})], next_page_token="t")
    back = Page[Context].model_validate_json(page.model_dump_json())
    assert back == page and type(back.items[0]) is Context
    assert Page[Artifact].model_validate_json(Page(items=[Artifact(uri="/a")]).model_dump_json()).items[0].uri == "/a"


def test_public_typing_names_resolve_at_run_time() -> None:
    assert graphmd.PropertyValue is graphmd._models.PropertyValue
    assert graphmd.Inputs is graphmd._pipeline.Inputs
    assert {"PropertyValue", "Inputs"} <= set(graphmd.__all__)
    for name in graphmd.__all__:
        obj = getattr(graphmd, name)
        if callable(obj) and not isinstance(obj, type) and getattr(obj, "__module__", "").startswith("graphmd"):
            typing.get_type_hints(obj)  # NameError for a name imported only under TYPE_CHECKING
    hints = typing.get_type_hints(graphmd.record_execution)
    assert hints["store"] is graphmd.MetadataStore
    assert typing.get_type_hints(graphmd.latest_artifact)["state"] == ArtifactState | str
