"""graphmd's data: MLMD's types, nodes and edges as plain pydantic models.

The models carry no behaviour; `MetadataStore` stores and reads them. Field names follow
MLMD's protos (ml_metadata/proto/metadata_store.proto), so an MLMD user reads them as
they know them. A field left ``None`` is "not set", as an unset proto field is.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import operator
import re
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar, Generic, Union

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PlainValidator,
                      SerializationInfo, StrictBool, StrictBytes, StrictFloat, StrictInt, StrictStr,
                      ValidationInfo, WithJsonSchema, field_serializer, field_validator, model_validator)
from typing_extensions import TypeVar

__all__ = [
    "PropertyType",
    "ProtoValue",
    "PropertyValue",
    "ArtifactState",
    "ExecutionState",
    "ArtifactBaseType",
    "ExecutionBaseType",
    "ArtifactType",
    "ExecutionType",
    "ContextType",
    "Artifact",
    "Execution",
    "Context",
    "EventType",
    "Event",
    "Attribution",
    "Association",
    "ParentContext",
    "ArtifactAndEvent",
    "EventEdge",
    "OrderBy",
    "ListOptions",
    "Page",
    "LineageGraph",
    "LineageDirection",
    "NodeSelector",
    "EndingNodes",
    "LineageSubgraphQueryOptions",
    "BoundaryConstraint",
    "LineageGraphQueryOptions",
    "LineageStep",
    "LineagePath",
]


class _Model(BaseModel):
    # NaN and the infinities (DOUBLE values MLMD stores, and graphmd with it) are written to
    # JSON as the bare tokens NaN, Infinity and -Infinity, which model_validate_json and
    # Python's json module read back as floats. pydantic's default ("null") lost them, so
    # the JSON failed validation; "strings" would read back as the STRING "NaN".
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False,
                              ser_json_inf_nan="constants")


# ml_metadata's metadata_store.proto numbers for each of graphmd's enums, by member name:
# MLMD's Python users pass them (ArtifactState(2) is LIVE, EventType(4) OUTPUT). Numbers
# whose proto name graphmd has no member for (Event.UNKNOWN, the base types' UNSET,
# ListOperationOptions' FIELD_UNSPECIFIED) are refused as any unknown value is;
# LineageSubgraphQueryOptions' DIRECTION_UNSPECIFIED (0) is BIDIRECTIONAL, as in MLMD.
_MLMD_NUMBERS: dict[str, dict[int, str]] = {
    "PropertyType": {1: "INT", 2: "DOUBLE", 3: "STRING", 4: "STRUCT", 5: "PROTO", 6: "BOOLEAN"},
    "ArtifactState": {0: "UNKNOWN", 1: "PENDING", 2: "LIVE", 3: "MARKED_FOR_DELETION", 4: "DELETED",
                      5: "ABANDONED", 6: "REFERENCE"},
    "ExecutionState": {0: "UNKNOWN", 1: "NEW", 2: "RUNNING", 3: "COMPLETE", 4: "FAILED", 5: "CACHED",
                       6: "CANCELED"},
    "ArtifactBaseType": {1: "DATASET", 2: "MODEL", 3: "METRICS", 4: "STATISTICS"},
    "ExecutionBaseType": {1: "TRAIN", 2: "TRANSFORM", 3: "PROCESS", 4: "EVALUATE", 5: "DEPLOY"},
    "EventType": {1: "DECLARED_OUTPUT", 2: "DECLARED_INPUT", 3: "INPUT", 4: "OUTPUT", 5: "INTERNAL_INPUT",
                  6: "INTERNAL_OUTPUT", 7: "PENDING_OUTPUT"},
    "OrderBy": {1: "CREATE_TIME", 2: "LAST_UPDATE_TIME", 3: "ID"},
    "LineageDirection": {0: "BIDIRECTIONAL", 1: "UPSTREAM", 2: "DOWNSTREAM", 3: "BIDIRECTIONAL"},
}


class _MlmdEnum(str, enum.Enum):
    """A str enum whose members are also found by their MLMD proto number (an int, not a
    bool): ``ArtifactState(2)`` is ``ArtifactState.LIVE``, in a model too (``state=2``)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, enum.Enum) and not isinstance(value, _MlmdEnum):
            value = value.value  # ml-metadata's Python enums (OrderByField.ID) hold the proto number
        if isinstance(value, bool):
            return None
        try:
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            return None
        name = _MLMD_NUMBERS.get(cls.__name__, {}).get(number)
        return None if name is None else cls[name]


class PropertyType(_MlmdEnum):
    """The declared kind of a type's property (MLMD's PropertyType)."""

    INT = "INT"
    DOUBLE = "DOUBLE"
    STRING = "STRING"
    STRUCT = "STRUCT"
    PROTO = "PROTO"
    BOOLEAN = "BOOLEAN"


class ProtoValue(_Model):
    """A serialized protocol buffer (google.protobuf.Any): its type URL and its bytes.

    As a property value (a PROTO) it is dumped in its dict form, which carries a marker
    that tells it from a STRUCT: ``{"$proto": true, "type_url": ..., "value": <base64>}``
    (see PROTO_MARKER and docs/data-model.md)."""

    type_url: str
    value: StrictBytes = b""

    @field_validator("type_url")
    @classmethod
    def _type_url_given(cls, type_url: str) -> str:
        # ml-metadata stores an Any without one, then fails every read of the node.
        if not type_url:
            raise ValueError("a PROTO value needs its type_url (the packed message's type, e.g. "
                             "'type.googleapis.com/ml_metadata.Artifact'): ml-metadata cannot read one without it")
        return type_url

    # JSON holds the bytes in base64, as graphmd stores them: serialized protos are rarely
    # UTF-8, which pydantic's default JSON form of bytes requires.
    @field_serializer("value", when_used="json")
    def _value_as_base64(self, value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    @field_validator("value", mode="before")
    @classmethod
    def _value_from_base64(cls, value: Any, info: ValidationInfo) -> Any:
        if info.mode == "json" and isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except binascii.Error as error:
                raise ValueError(f"PROTO value bytes in JSON are base64: {error}") from None
        return value


# A PROTO property value's dict form, in model_dump and model_dump_json and read back by
# validation: {"$proto": true, "type_url": ..., "value": ...}, the bytes in base64 in JSON (and
# in model_dump(mode="json")), as bytes in model_dump(). The marker tells it from a STRUCT,
# which is any other dict: without it, a STRUCT {"type_url": ..., "value": ...} and a PROTO had
# the same JSON. A dict of exactly this form (marker true, no other keys) is never a STRUCT.
PROTO_MARKER = "$proto"
_PROTO_FORM_KEYS = frozenset((PROTO_MARKER, "type_url", "value"))


def is_proto_form(value: dict[Any, Any]) -> bool:
    """Whether a dict is a PROTO value's dict form (the marker, true, and no keys but
    ``type_url`` and ``value``) rather than a STRUCT value."""
    return value.get(PROTO_MARKER) is True and value.keys() <= _PROTO_FORM_KEYS


def proto_property(value: Any) -> ProtoValue:
    """A PROTO property value: a ProtoValue as it is, or one from its dict form."""
    if isinstance(value, ProtoValue):
        return value
    if not (isinstance(value, dict) and is_proto_form(value)):
        raise ValueError("not a ProtoValue, nor a PROTO value's dict form "
                         '{"$proto": true, "type_url": ..., "value": ...}')
    data = value.get("value", b"")
    if isinstance(data, str):  # base64, as JSON (and model_dump(mode="json")) holds the bytes
        try:
            data = base64.b64decode(data, validate=True)
        except binascii.Error as error:
            raise ValueError(f"PROTO value bytes in JSON are base64: {error}") from None
    type_url = value.get("type_url")
    if not isinstance(type_url, str):
        raise ValueError(f"a PROTO value's type_url is a string, not {type(type_url).__name__}")
    if not isinstance(data, bytes):
        raise ValueError(f"a PROTO value's value is bytes (base64 text in JSON), not {type(data).__name__}")
    return ProtoValue(type_url=type_url, value=data)


def _proto_form_of(value: ProtoValue, info: SerializationInfo) -> dict[str, Any]:
    data: str | bytes = base64.b64encode(value.value).decode("ascii") if info.mode_is_json() else value.value
    return {PROTO_MARKER: True, "type_url": value.type_url, "value": data}


def _struct_property(value: dict[str, Any]) -> dict[str, Any]:
    if is_proto_form(value):  # proto_property takes it
        raise ValueError("a PROTO value's dict form, not a STRUCT")
    return value


# Deeper than codec.MAX_STRUCT_DEPTH (32) is refused when written; numpy is looked for
# only that far, so a 5,000-level dict does not exhaust the stack first.
_STRUCT_DEPTH_LIMIT = 101


def _without_numpy(value: Any, numpy: Any, depth: int = 0) -> Any:
    """A STRUCT's contents with numpy's values as the Python values they hold, at any
    depth a STRUCT may have: a scalar as plain_value takes it, an array as its ``tolist()``
    (a metrics dict from scikit-learn holds both). ``value`` itself when it holds none, or
    when it is nested deeper than a STRUCT may be (the write refuses it, saying so)."""
    if depth > _STRUCT_DEPTH_LIMIT:
        return value
    if isinstance(value, dict):
        items = {k: _without_numpy(v, numpy, depth + 1) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if isinstance(value, list | tuple):
        listed = [_without_numpy(v, numpy, depth + 1) for v in value]
        return value if all(a is b for a, b in zip(listed, value)) else listed
    if isinstance(value, numpy.ndarray):
        return _without_numpy(value.tolist(), numpy, depth)
    if isinstance(value, numpy.generic) and not isinstance(value, str):
        return plain_value(value)
    return value


_ProtoProperty = Annotated[
    ProtoValue,
    PlainValidator(proto_property),
    PlainSerializer(_proto_form_of),
    WithJsonSchema({"type": "object", "properties": {PROTO_MARKER: {"const": True}, "type_url": {"type": "string"},
                                                      "value": {"type": "string", "contentEncoding": "base64"}},
                    "required": [PROTO_MARKER, "type_url"], "additionalProperties": False}),
]
_StructProperty = Annotated[dict[str, Any], AfterValidator(_struct_property)]

_VALUE_KINDS = "a bool, int, float, str, STRUCT dict or ProtoValue"


def plain_value(value: Any) -> Any:
    """A property value before its kinds are tried: numpy's bool_, integer and floating
    scalars (what pandas and scikit-learn hand back: np.int64(20), np.float32(0.5),
    np.bool_(True)) and 0-d arrays (np.array(3)) as the bool, int or float they hold, where
    pydantic's float took them (np.int64(20) became 20.0, np.complex128(1+2j) 1.0); numpy's
    values inside a STRUCT dict the same way, arrays there as their ``tolist()``; anything
    else as it is. numpy is no
    dependency, and a numpy scalar exists only once numpy is imported: it is looked up,
    never imported.

    Raises:
        ValueError: ``value`` is None, a list (tuple, set), a dict with a key that is not
            text, a numpy array of one or more dimensions, or a numpy
            scalar of another kind (complex, datetime64, timedelta64, bytes_): one error, not
            one per kind tried.
    """
    if value is None:
        raise ValueError(f"None is no property value (leave the property out); a value is {_VALUE_KINDS}")
    if isinstance(value, (list, tuple, set, frozenset)):  # MLMD has no list value: one error, not six
        raise ValueError(f"a {type(value).__name__} is no property value; a value is {_VALUE_KINDS} (a STRUCT "
                         "holds lists: {'values': [...]})")
    if isinstance(value, dict) and any(not isinstance(k, str) for k in value):
        key = next(k for k in value if not isinstance(k, str))
        raise ValueError(f"a STRUCT's keys are text, not {type(key).__name__} ({key!r})")
    numpy = sys.modules.get("numpy")
    if numpy is None or isinstance(value, str):  # np.str_ is a str
        return value
    if isinstance(value, dict):  # a STRUCT
        return _without_numpy(value, numpy)
    if isinstance(value, numpy.ndarray):
        if value.ndim:
            raise ValueError(f"a numpy array is no property value; a value is {_VALUE_KINDS} (a STRUCT holds "
                             "lists: {'values': array.tolist()})")
        value = value[()]  # a 0-d array: the scalar it holds
    if not isinstance(value, numpy.generic) or isinstance(value, str):
        return value
    if isinstance(value, numpy.bool_):
        return bool(value)
    if isinstance(value, numpy.integer) and not isinstance(value, numpy.timedelta64):
        return int(value)  # beyond int64 (np.uint64) too: the store refuses it, naming the property
    if isinstance(value, numpy.floating):
        return float(value)
    raise ValueError(f"numpy {type(value).__name__} is no property value; a value is {_VALUE_KINDS}")


# A property's value. An int stays an int, a float a float (NaN and the infinities included),
# a bool a bool, a str a str, as do numpy's scalars (plain_value); a dict is a STRUCT value
# (a JSON object, as google.protobuf.Struct), a ProtoValue a PROTO value, as is its dict form
# (PROTO_MARKER), which is how model_dump and model_dump_json write one. Nothing else is a
# value: no None (leave the property out), list, tuple or bytes.
PropertyValue = Annotated[Union[StrictBool, StrictInt, StrictFloat, StrictStr, _StructProperty, _ProtoProperty],
                          BeforeValidator(plain_value)]


def _an_integer(what: str) -> Callable[[Any], Any]:
    """A check that a value is an integer as pydantic takes one (numpy's integers too), but
    not a bool (True is an int to Python: ``type_id=True`` would name type 1) nor text or a
    float that pydantic would convert ("5", 2.0)."""
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not hasattr(type(value), "__index__"):
            raise ValueError(f"{what}, not {type(value).__name__} {value!r}")
        return value
    return check


def _not_a_proto(value: Any) -> Any:
    """Refuse an ml-metadata protobuf message (code ported from ml-metadata nests them:
    ``starting_artifacts=StartingNodes(...)``, ``event.path``) with how to convert it,
    where pydantic would only say it wants a dictionary."""
    if value is None or isinstance(value, (BaseModel, dict)):  # the usual forms, passed on at once
        return value
    cls = type(value)
    if hasattr(cls, "DESCRIPTOR") and hasattr(value, "SerializeToString"):
        how = {"StartingNodes": "graphmd's LineageSubgraphQueryOptions.StartingNodes(filter_query=...), a NodeSelector",
               "EndingNodes": "graphmd's EndingNodes(filter_query=...)"}.get(
            cls.__name__, f"graphmd.mlmd.from_proto(it), which makes graphmd's {cls.__name__} of it")
        raise ValueError(f"an ml-metadata {cls.__name__} message where graphmd's model is expected: write {how} "
                         "(docs/migrating.md)")
    return value


def _event_path(value: Any) -> Any:
    """An event's path as graphmd writes it, a list of steps; ml-metadata's form (its
    Event.Path message, or that message's {"steps": [...]} as a dict) refused saying so."""
    if type(value) is list:  # the usual form, passed on at once
        return value
    if (isinstance(value, dict) and "steps" in value) or hasattr(type(value), "DESCRIPTOR"):
        raise ValueError("an event path is a list of its steps, keys and indexes: path=['examples', 0], not "
                         "ml-metadata's Event.Path ({'steps': [{'key': ...}, {'index': ...}]}); "
                         "graphmd.mlmd.from_proto converts a whole ml-metadata Event")
    return value


# An id of a type, node or link end; a whole-number field (a position, a count, a time).
_Id = Annotated[int, BeforeValidator(_an_integer("an id is an integer"))]
_Int = Annotated[int, BeforeValidator(_an_integer("an integer is expected"))]


class ArtifactState(_MlmdEnum):
    """Artifact.State: where an artifact is in its life."""

    UNKNOWN = "UNKNOWN"
    PENDING = "PENDING"
    LIVE = "LIVE"
    MARKED_FOR_DELETION = "MARKED_FOR_DELETION"
    DELETED = "DELETED"
    ABANDONED = "ABANDONED"
    REFERENCE = "REFERENCE"


class ExecutionState(_MlmdEnum):
    """Execution.State: the last known state of a run of a component."""

    UNKNOWN = "UNKNOWN"
    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CACHED = "CACHED"
    CANCELED = "CANCELED"


class ArtifactBaseType(_MlmdEnum):
    """ArtifactType.SystemDefinedBaseType: the MLMD system type an artifact type extends."""

    DATASET = "DATASET"
    MODEL = "MODEL"
    METRICS = "METRICS"
    STATISTICS = "STATISTICS"


class ExecutionBaseType(_MlmdEnum):
    """ExecutionType.SystemDefinedBaseType: the MLMD system type an execution type extends."""

    TRAIN = "TRAIN"
    TRANSFORM = "TRANSFORM"
    PROCESS = "PROCESS"
    EVALUATE = "EVALUATE"
    DEPLOY = "DEPLOY"


class _Type(_Model):
    id: _Id | None = None
    name: str
    version: str | None = None
    description: str | None = None
    external_id: str | None = None
    properties: dict[str, PropertyType] = Field(default_factory=dict)


class ArtifactType(_Type):
    """The type of an artifact: its name, version and property schema."""

    base_type: ArtifactBaseType | None = None


# MLMD's ArtifactStructType (metadata_store.proto) in protobuf's JSON form: each message's
# fields by their JSON name, and by their proto name as protobuf's parser also takes them.
_ONE = "one"  # a field holding one message of the kind named with it
_STRUCT_TYPE_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "ArtifactStructType": {"simple": (_ONE, "ArtifactType"), "unionType": (_ONE, "UnionArtifactStructType"),
                           "intersection": (_ONE, "IntersectionArtifactStructType"),
                           "list": (_ONE, "ListArtifactStructType"), "none": (_ONE, "Empty"),
                           "any": (_ONE, "Empty"), "tuple": (_ONE, "TupleArtifactStructType"),
                           "dict": (_ONE, "DictArtifactStructType")},
    "UnionArtifactStructType": {"candidates": ("list", "ArtifactStructType")},
    "IntersectionArtifactStructType": {"constraints": ("list", "ArtifactStructType")},
    "ListArtifactStructType": {"element": (_ONE, "ArtifactStructType")},
    "TupleArtifactStructType": {"elements": ("list", "ArtifactStructType")},
    "DictArtifactStructType": {"properties": ("map", "ArtifactStructType"), "noneTypeNotRequired": ("bool", ""),
                               "extraPropertiesType": (_ONE, "ArtifactStructType")},
    "Empty": {},
    "ArtifactType": {"id": ("int64", ""), "name": ("str", ""), "version": ("str", ""), "description": ("str", ""),
                     "externalId": ("str", ""), "properties": ("enum_map", "PropertyType"),
                     "baseType": ("enum", "SystemDefinedBaseType")},
}
_STRUCT_TYPE_ENUMS = {
    "PropertyType": {"UNKNOWN": 0, "INT": 1, "DOUBLE": 2, "STRING": 3, "STRUCT": 4, "PROTO": 5, "BOOLEAN": 6},
    "SystemDefinedBaseType": {"UNSET": 0, "DATASET": 1, "MODEL": 2, "METRICS": 3, "STATISTICS": 4},
}
_STRUCT_TYPE_DEPTH = 100


def _proto_name(json_name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), json_name)


def _struct_type_problem(value: Any, message: str, where: str, depth: int) -> str | None:
    """Why ``value`` is not ``message`` (see _STRUCT_TYPE_FIELDS) in protobuf's JSON form, or None."""
    if depth > _STRUCT_TYPE_DEPTH:
        return f"{where}: nested deeper than {_STRUCT_TYPE_DEPTH} levels"
    if not isinstance(value, dict):
        return f"{where}: a {message} is a JSON object, not {type(value).__name__}"
    fields = _STRUCT_TYPE_FIELDS[message]
    names = {**{_proto_name(f): f for f in fields}, **{f: f for f in fields}}
    seen: dict[str, str] = {}
    for key, item in value.items():
        field = names.get(key) if isinstance(key, str) else None
        if field is None:
            return f"{where}: {message} has no field {key!r} (it has {', '.join(fields) or 'none'})"
        if field in seen:
            return f"{where}: {message} field {field!r} is given twice ({seen[field]!r} and {key!r})"
        seen[field] = key
        at = f"{where}.{field}"
        kind, of = fields[field]
        if kind == _ONE:
            problem = _struct_type_problem(item, of, at, depth + 1)
        elif kind == "list":
            problem = (f"{at}: a list, not {type(item).__name__}" if not isinstance(item, list) else
                       next((p for i, x in enumerate(item)
                             if (p := _struct_type_problem(x, of, f"{at}[{i}]", depth + 1))), None))
        elif kind in ("map", "enum_map"):
            if not isinstance(item, dict):
                problem = f"{at}: a JSON object, not {type(item).__name__}"
            else:
                problem = next((p for k, x in item.items() if (p := (
                    f"{at}: keys are text, not {type(k).__name__}" if not isinstance(k, str) else
                    _struct_type_problem(x, of, f"{at}[{k!r}]", depth + 1) if kind == "map" else
                    _enum_problem(x, of, f"{at}[{k!r}]")))), None)
        elif kind == "enum":
            problem = _enum_problem(item, of, at)
        elif kind == "bool":
            problem = None if isinstance(item, bool) else f"{at}: true or false, not {item!r}"
        elif kind == "str":
            problem = None if isinstance(item, str) else f"{at}: text, not {type(item).__name__}"
        else:  # int64: a number, or its decimal text as protobuf's JSON writes it
            number = item if isinstance(item, int) and not isinstance(item, bool) else (
                int(item) if isinstance(item, str) and re.fullmatch(r"-?\d{1,19}", item) else None)
            problem = (None if number is not None and -(2**63) <= number < 2**63
                       else f"{at}: an int64 (a number or its decimal text), not {item!r}")
        if problem:
            return problem
    if message == "ArtifactStructType" and len(seen) > 1:
        return f"{where}: an ArtifactStructType is one kind, not {len(seen)} ({', '.join(seen)})"
    return None


def _enum_problem(value: Any, enum_name: str, where: str) -> str | None:
    members = _STRUCT_TYPE_ENUMS[enum_name]
    if (isinstance(value, str) and value in members) or (
            isinstance(value, int) and not isinstance(value, bool) and value in members.values()):
        return None
    return f"{where}: {value!r} is not a {enum_name} (one of {', '.join(members)})"


def artifact_struct_type_problem(value: Any) -> str | None:
    """Why ``value`` is not MLMD's ArtifactStructType in protobuf's JSON form (an
    ExecutionType's input_type or output_type), or None when it is."""
    problem = _struct_type_problem(value, "ArtifactStructType", "", 0)
    if problem is None:
        try:  # a lone surrogate in a name or key: stored, it would fail every read of the type
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            return f"not valid Unicode (a lone surrogate {error.object[error.start:error.end]!r} in a name or key)"
        return None
    return f"not an ArtifactStructType in protobuf's JSON form: {problem.lstrip('.: ')}"


def _artifact_struct_type(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and (problem := artifact_struct_type_problem(value)):
        raise ValueError(problem)
    return value


class ExecutionType(_Type):
    """The type of an execution (a component), with its property schema.

    ``input_type`` / ``output_type`` hold MLMD's ArtifactStructType in protobuf's JSON form
    (as ``json_format.MessageToDict`` writes it, e.g. ``{"simple": {"name": "Model"}}`` or
    ``{"dict": {"properties": {"examples": {"simple": {"name": "Examples"}}}}}``); anything
    else is refused when the model is made.
    """

    base_type: ExecutionBaseType | None = None
    input_type: Annotated[dict[str, Any] | None, AfterValidator(_artifact_struct_type)] = None
    output_type: Annotated[dict[str, Any] | None, AfterValidator(_artifact_struct_type)] = None


class ContextType(_Type):
    """The type of a context (a pipeline, a run, an experiment...)."""


def _proto_from_json_form(value: Any) -> Any:
    """A ProtoValue's dict with its bytes as base64 text, as model_dump(mode="json") writes
    it, read back in Python too (JSON input is decoded by ProtoValue itself)."""
    if isinstance(value, dict) and isinstance(value.get("value"), str):
        try:
            return {**value, "value": base64.b64decode(value["value"], validate=True)}
        except binascii.Error as error:
            raise ValueError(f"PROTO value bytes in a dict are bytes or base64 text: {error}") from None
    return value


# system_metadata, always a PROTO value: a dict given for it is ProtoValue's dict form.
_SystemMetadata = Annotated[ProtoValue, BeforeValidator(_proto_from_json_form)]


class _Node(_Model):
    id: _Id | None = None
    type_id: _Id | None = None
    # The type's name; filled on read, ignored on write.
    type: str | None = None
    name: str | None = None
    external_id: str | None = None
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    custom_properties: dict[str, PropertyValue] = Field(default_factory=dict)
    create_time_since_epoch: _Int | None = None
    last_update_time_since_epoch: _Int | None = None
    system_metadata: _SystemMetadata | None = None


class Artifact(_Node):
    """A piece of data a step read or wrote: a dataset, a model, metrics..."""

    uri: str | None = None
    state: ArtifactState | None = None


class Execution(_Node):
    """A run of a component."""

    last_known_state: ExecutionState | None = None


class Context(_Node):
    """A group of artifacts and executions: a pipeline, a run, an experiment. ``name`` is required."""


# For annotations across graphmd (not exported): any node or type model, and one kind of it.
AnyNode = Union[Artifact, Execution, Context]
AnyType = Union[ArtifactType, ExecutionType, ContextType]
NodeT = TypeVar("NodeT", Artifact, Execution, Context)
# A node class or a choice of them (Artifact, or Artifact | Execution | Context): what a
# function returning Page[...] of the given class takes.
AnyNodeT = TypeVar("AnyNodeT", bound=AnyNode)
TypeT = TypeVar("TypeT", ArtifactType, ExecutionType, ContextType)


def stored_id(model: AnyNode | AnyType) -> int:
    """The id of a model the store returned or wrote, where it is always set (the field is
    optional only for a model not yet written)."""
    if model.id is None:
        raise ValueError(f"{type(model).__name__} {model.name!r} has no id: it was not written to the store")
    return model.id


class EventType(_MlmdEnum):
    """Event.Type: how an execution touched an artifact."""

    DECLARED_OUTPUT = "DECLARED_OUTPUT"
    DECLARED_INPUT = "DECLARED_INPUT"
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    INTERNAL_INPUT = "INTERNAL_INPUT"
    INTERNAL_OUTPUT = "INTERNAL_OUTPUT"
    PENDING_OUTPUT = "PENDING_OUTPUT"

    @property
    def is_input(self) -> bool:
        """True when data flows from the artifact into the execution."""
        return self in (EventType.INPUT, EventType.DECLARED_INPUT, EventType.INTERNAL_INPUT)


# A path step is an index into a list (int) or a key into a map (str).
PathStep = Union[StrictInt, StrictStr]


class Event(_Model):
    """An execution reading (input) or writing (output) an artifact."""

    artifact_id: _Id | None = None
    execution_id: _Id | None = None
    type: EventType | None = None
    path: Annotated[list[PathStep], BeforeValidator(_event_path)] = Field(default_factory=list)
    milliseconds_since_epoch: _Int | None = None


class Attribution(_Model):
    """An artifact belongs to a context."""

    context_id: _Id
    artifact_id: _Id


class Association(_Model):
    """An execution belongs to a context."""

    context_id: _Id
    execution_id: _Id


class ParentContext(_Model):
    """A context (child) is part of another context (parent)."""

    child_id: _Id
    parent_id: _Id


class ArtifactAndEvent(_Model):
    """An artifact to upsert with put_execution and the event linking it to the execution.

    Either may be omitted: an artifact without an event is only upserted; an event without
    an artifact must name ``event.artifact_id``.
    """

    artifact: Annotated[Artifact | None, BeforeValidator(_not_a_proto)] = None
    event: Annotated[Event | None, BeforeValidator(_not_a_proto)] = None


class EventEdge(_Model):
    """An event of put_lineage_subgraph, naming its ends by position in the request's lists
    (``artifact_index`` / ``execution_index``) or by id in ``event``."""

    event: Annotated[Event, BeforeValidator(_not_a_proto)]
    artifact_index: _Int | None = None
    execution_index: _Int | None = None


class OrderBy(_MlmdEnum):
    """The field a listing is sorted by (ties broken by id)."""

    CREATE_TIME = "CREATE_TIME"
    LAST_UPDATE_TIME = "LAST_UPDATE_TIME"
    UPDATE_TIME = "LAST_UPDATE_TIME"  # ml-metadata's Python name (OrderByField.UPDATE_TIME): the same member
    ID = "ID"


class ListOptions(_Model):
    """How to list nodes: MLMD's ListOperationOptions.

    ``max_result_size`` (``limit``, ml-metadata's Python name, is taken too) None means no
    limit (MLMD's default page is 20 on the gRPC API; the Python API lists everything unless
    asked; as there, ``limit=0`` is no limit too). ``filter_query`` is MLMD's filter
    language. ``next_page_token`` continues a listing where the previous page ended.
    """

    max_result_size: _Int | None = None
    order_by: OrderBy = OrderBy.ID
    is_asc: bool = True
    filter_query: str | None = None
    next_page_token: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _limit(cls, data: Any) -> Any:
        """ml-metadata's Python ListOptions calls max_result_size ``limit``."""
        if isinstance(data, dict) and "limit" in data:
            data = dict(data)
            limit = data.pop("limit")
            if "max_result_size" in data:
                raise ValueError("give max_result_size or limit (ml-metadata's name for it), not both")
            # ml-metadata's Python store reads a limit of 0 (falsy) as none: ported code passing it lists all.
            no_limit = isinstance(limit, int) and not isinstance(limit, bool) and limit == 0
            data["max_result_size"] = None if no_limit else limit
        return data

    @field_validator("order_by", mode="before")
    @classmethod
    def _default_order(cls, value: object) -> object:
        return OrderBy.ID if value is None else value  # ml-metadata's ListOptions leaves it None: by id


# What a Page holds: Page[Artifact] is a page of artifacts (list_page(Artifact, ...) returns
# one). A bare Page, unparametrized, is Page[Any] to a type checker, and pydantic leaves its
# items unvalidated (a page read back from JSON needs its kind: Page[Artifact]).
PageItemT = TypeVar("PageItemT", bound=AnyNode, default=Any)


class Page(_Model, Generic[PageItemT]):
    """One page of a listing (``Page[Artifact]``: of artifacts) and the token for the next
    one (None on the last page)."""

    items: list[PageItemT]
    next_page_token: str | None = None


class LineageGraph(_Model):
    """A subgraph of the store: nodes, their types and the edges between them.

    Its repr (and str) counts each list: ``LineageGraph(artifacts=12, executions=7, ...)``
    (a lineage's every field would be megabytes). In a notebook it shows those counts and,
    up to a few hundred artifacts and executions, its drawing (graphmd.lineage_svg)."""

    artifact_types: list[ArtifactType] = Field(default_factory=list)
    execution_types: list[ExecutionType] = Field(default_factory=list)
    context_types: list[ContextType] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)
    executions: list[Execution] = Field(default_factory=list)
    contexts: list[Context] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    attributions: list[Attribution] = Field(default_factory=list)
    associations: list[Association] = Field(default_factory=list)
    parent_contexts: list[ParentContext] = Field(default_factory=list)

    def __repr_args__(self) -> Iterator[tuple[str, int]]:
        for name in _COUNTED:
            yield name, len(getattr(self, name))

    def _repr_html_(self) -> str:
        from ._drawing import notebook_html  # here, not at the top: the drawing module imports the models
        return notebook_html(self)


# The lists a LineageGraph's repr counts, in order: nodes, edges, types.
_COUNTED = ("artifacts", "executions", "contexts", "events", "attributions", "associations", "parent_contexts",
            "artifact_types", "execution_types", "context_types")


class LineageDirection(_MlmdEnum):
    """Which way a lineage traversal follows events (MLMD's LineageSubgraphQueryOptions.Direction;
    MLMD's DIRECTION_UNSPECIFIED means BIDIRECTIONAL).

    UPSTREAM goes against the data flow (an artifact to the execution that wrote it, an
    execution to the artifacts it read); DOWNSTREAM goes with it.
    """

    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BIDIRECTIONAL = "BIDIRECTIONAL"


class NodeSelector(_Model):
    """Artifacts or executions that satisfy every condition given: MLMD's ``filter_query``,
    and graphmd's ``ids`` and ``types`` (type names). At least one must be given."""

    filter_query: str | None = None
    ids: list[_Id] | None = None
    types: list[str] | None = None


class EndingNodes(NodeSelector):
    """Nodes where a traversal stops (MLMD's EndingNodes): reached, never expanded, and
    returned with their edges only when ``include_ending_nodes``. ``types`` gives
    boundary types, e.g. stop at every ``Examples`` artifact. An empty ``filter_query``
    ("") selects every node of its kind, as in MLMD (None selects none)."""

    include_ending_nodes: bool = False


class LineageSubgraphQueryOptions(_Model):
    """MLMD's LineageSubgraphQueryOptions, with graphmd's extensions.

    ``starting_artifacts`` / ``starting_executions``: where the traversal starts (MLMD
    takes one of them; graphmd accepts both). ``max_num_hops``: how far it goes, a hop
    being one artifact-execution step; 0 returns the starting nodes only; None means no
    limit (MLMD caps an unset or larger value at 100, graphmd has no cap).
    ``ending_artifacts`` / ``ending_executions``: where it stops early.
    """

    # ml-metadata's Python name for NodeSelector (LineageSubgraphQueryOptions.StartingNodes).
    StartingNodes: ClassVar[type[NodeSelector]] = NodeSelector

    starting_artifacts: Annotated[NodeSelector | None, BeforeValidator(_not_a_proto)] = None
    starting_executions: Annotated[NodeSelector | None, BeforeValidator(_not_a_proto)] = None
    max_num_hops: _Int | None = None
    direction: LineageDirection = LineageDirection.BIDIRECTIONAL
    ending_artifacts: Annotated[EndingNodes | None, BeforeValidator(_not_a_proto)] = None
    ending_executions: Annotated[EndingNodes | None, BeforeValidator(_not_a_proto)] = None


class BoundaryConstraint(_Model):
    """LineageGraphQueryOptions.BoundaryConstraint: the hop limit (None: no limit) and
    filters that nodes must satisfy to be visited (the rest prune the traversal)."""

    max_num_hops: _Int | None = None
    boundary_artifacts: str | None = None
    boundary_executions: str | None = None


class LineageGraphQueryOptions(_Model):
    """MLMD's (deprecated) LineageGraphQueryOptions: start from the artifacts listed by
    ``artifacts_options`` (its filter, order and max_result_size), traverse both ways
    under ``stop_conditions``, return at most ``max_node_size`` artifacts and executions
    (MLMD's default 20; None or <= 0: no limit)."""

    artifacts_options: ListOptions | None = None
    stop_conditions: BoundaryConstraint = Field(default_factory=BoundaryConstraint)
    max_node_size: int | None = 20


class LineageStep(_Model):
    """One node a streamed lineage traversal reached: the node, its distance in hops from
    the nearest starting node, and the returned events whose far end it is (so by the time
    a step arrives, both ends of each of its events have arrived)."""

    distance: int
    node: Union[Artifact, Execution]
    events: list[Event] = Field(default_factory=list)


class LineagePath(_Model):
    """A shortest path from a starting node to a reached node: ``nodes`` alternate
    artifacts and executions, ``events[i]`` links ``nodes[i]`` and ``nodes[i + 1]``."""

    nodes: list[Union[Artifact, Execution]]
    events: list[Event] = Field(default_factory=list)
