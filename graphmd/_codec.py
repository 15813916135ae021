"""How graphmd's models are laid out as Neo4j node and relationship properties.

A node keeps MLMD's attributes under their own names (id, type_id, type, name, uri, ...)
and each property as one Neo4j property, so Cypher can read and compare it directly:

    p_<name>   a property      (INT -> Integer, DOUBLE -> Float, STRING -> String, BOOLEAN -> Boolean)
    c_<name>   a custom property, likewise
    ps_<name> / cs_<name>   a STRUCT value, as JSON text (keys sorted)
    pp_<name> / cp_<name>   a PROTO value, as JSON text {"type_url": ..., "value": <base64>}

Events are EVENT relationships in the direction data flows (artifact -> execution for
inputs, execution -> artifact for outputs) with ``type``, ``path`` (JSON text of the
steps) and ``milliseconds_since_epoch``.
"""

from __future__ import annotations

import base64
import json
import math
import operator
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

from ._errors import InvalidArgumentError
from ._models import (
    AnyNode,
    AnyType,
    Artifact,
    ArtifactBaseType,
    ArtifactState,
    ArtifactType,
    Context,
    ContextType,
    Event,
    EventType,
    Execution,
    ExecutionBaseType,
    ExecutionState,
    ExecutionType,
    PROTO_MARKER,
    PropertyType,
    PropertyValue,
    ProtoValue,
    is_proto_form,
    plain_value,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
# A node class, or a choice of them (decode_node(cls, ...) with cls Artifact or Execution).
NodeModelT = TypeVar("NodeModelT", bound=AnyNode)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# The Neo4j label of each type kind.
TYPE_LABEL = {ArtifactType: "ArtifactType", ExecutionType: "ExecutionType", ContextType: "ContextType"}

_PREFIXES = {
    # (is_custom, kind) -> prefix
    (False, "native"): "p_",
    (False, "struct"): "ps_",
    (False, "proto"): "pp_",
    (True, "native"): "c_",
    (True, "struct"): "cs_",
    (True, "proto"): "cp_",
}
# What a key's head (the text before its first "_") says it holds; node attributes' heads
# (id, type, name, external, uri, state, last, create, system) are none of these.
_DECODE_HEADS = {prefix[:-1]: kind for kind, prefix in _PREFIXES.items()}
# Enum members by value: a dict lookup, cheaper than calling the enum on every read.
_ARTIFACT_STATES = {s.value: s for s in ArtifactState}
_EXECUTION_STATES = {s.value: s for s in ExecutionState}
_EVENT_TYPES = {t.value: t for t in EventType}
_PROPERTY_TYPES = {t.value: t for t in PropertyType}

# Memos for decoding: Neo4j property key -> (is_custom, kind, property name), or None for a
# key that holds no property; stored event path text -> its steps. Keys and paths repeat
# across the nodes and events of a read, and a lineage read decodes thousands of them. Each
# memo stops growing at _MEMO_LIMIT entries (past that, values are decoded each time).
_MEMO_LIMIT = 4096
_PROPERTY_KEYS: dict[str, tuple[bool, str, str] | None] = {}
_PATHS: dict[str, tuple[int | str, ...]] = {}
_PATH_TEXTS: dict[tuple[Any, ...], str] = {}

# Node attributes that are not properties, in the order a model declares them.
NODE_ATTRIBUTES = (
    "id",
    "type_id",
    "type",
    "name",
    "external_id",
    "uri",
    "state",
    "last_known_state",
    "create_time_since_epoch",
    "last_update_time_since_epoch",
)


def property_key(name: str, *, custom: bool, kind: str = "native") -> str:
    """The Neo4j property key holding property ``name``."""
    return _PREFIXES[(custom, kind)] + name


def value_kind(value: PropertyValue) -> str:
    """'native', 'struct' or 'proto': how a value is stored."""
    if isinstance(value, ProtoValue):
        return "proto"
    if isinstance(value, dict):
        return "struct"
    return "native"


# The PropertyType of a value of exactly these Python types (bool before int: a bool is an
# int to isinstance); anything else goes through property_type_of's checks.
_PLAIN_PROPERTY_TYPES = {bool: PropertyType.BOOLEAN, int: PropertyType.INT, float: PropertyType.DOUBLE,
                         str: PropertyType.STRING}


def property_type_of(value: PropertyValue) -> PropertyType:
    """The PropertyType a value satisfies."""
    plain = _PLAIN_PROPERTY_TYPES.get(type(value))
    if plain is not None:
        return plain
    if isinstance(value, bool):
        return PropertyType.BOOLEAN
    if isinstance(value, int):
        return PropertyType.INT
    if isinstance(value, float):
        return PropertyType.DOUBLE
    if isinstance(value, str):
        return PropertyType.STRING
    if isinstance(value, ProtoValue):
        return PropertyType.PROTO
    return PropertyType.STRUCT


# Neo4j's range indexes hold keys up to about 8 KB, and a type's (kind, name, version) is
# one key: strings that are indexed (names, versions, uris, external ids) are held to half.
MAX_INDEXED_BYTES = 4000


def check_text(value: str | None, field: str, *, indexed: bool = False) -> None:
    """Reject strings Neo4j cannot store: not valid Unicode (a lone surrogate), or, when
    ``indexed``, longer than MAX_INDEXED_BYTES in UTF-8."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field}: a string, not {type(value).__name__}", field=field)
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise InvalidArgumentError(f"{field}: not valid Unicode (a lone surrogate at position {error.start})",
                                   field=field) from None
    if indexed and size > MAX_INDEXED_BYTES:
        raise InvalidArgumentError(f"{field}: {size} bytes of UTF-8; at most {MAX_INDEXED_BYTES} are allowed "
                                   "(it is indexed)", field=field)


def check_int64(value: int | None, field: str) -> None:
    """Reject ids and times outside MLMD's int64 (and what is no int: a model built by
    model_construct is not validated)."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentError(f"{field}: an integer, not {type(value).__name__}", field=field)
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidArgumentError(f"{field}: {value} does not fit in a 64-bit integer", field=field)


def as_id(value: Any, field: str) -> int:
    """``value`` as an id: an int (numpy's integers too), not a bool, within int64. Anything
    else ("7" say) would match nothing and read as an unknown id.

    Raises:
        InvalidArgumentError: ``value`` is not an integer, or does not fit in 64 bits.
    """
    return as_int(value, field, "an id")


def id_list(ids: Iterable[int], field: str) -> list[int]:
    """``ids`` as a list of ints (numpy's integers too); anything else, "7" say, would match
    nothing and read as an unknown id.

    Raises:
        InvalidArgumentError: ``ids`` is a string or not a collection, or holds something
            that is not an integer.
    """
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise InvalidArgumentError(f"{field}: a list of ids is expected, not {ids!r}", field=field)
    return [as_id(value, f"{field}[{i}]") for i, value in enumerate(ids)]


def as_int(value: Any, field: str, what: str = "a count") -> int:
    """``value`` as an int64 argument (``what`` names it in the error): an int or numpy
    integer, not a bool, a float or text.

    Raises:
        InvalidArgumentError: ``value`` is not an integer, or does not fit in 64 bits.
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{field}: {what} is an integer, not {value!r}", field=field) from None
    check_int64(number, field)
    return number


def check_property_name(name: str, field: str) -> None:
    """Reject property names Neo4j cannot store (containing NUL, not valid Unicode). An empty
    name is allowed, as in MLMD: its Neo4j key (e.g. ``p_``) is not empty."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"{field}: property names must be strings", field=field)
    if "\x00" in name:
        raise InvalidArgumentError(f"{field}[{name!r}]: property names cannot contain NUL", field=f"{field}[{name!r}]")
    check_text(name, f"{field}[{name!r}]")


def plainly_valid(node: AnyNode) -> bool:
    """Whether every value of ``node`` that check_int64, check_text and check_value look at
    is of a kind they always pass: ids in int64, ASCII names, uris and external ids within
    MAX_INDEXED_BYTES, ASCII property names without NUL, and bool, int64, float or ASCII
    property values. Callers then skip those checks: on a batch of plain nodes, building
    each check's field name cost more than the checks. False says nothing is wrong, only
    that the checks must run (a STRUCT or PROTO value always sends a node to them, as does
    any value of another type: a list, bytes or None put in by mutating a model's dict, or
    by model_construct, which pydantic does not validate)."""
    fields = node.__dict__
    for number in (fields["id"], fields["type_id"]):
        if number is not None and not (type(number) is int and INT64_MIN <= number <= INT64_MAX):
            return False
    for text in (fields["name"], fields["external_id"], fields.get("uri")):
        if text is not None and not (type(text) is str and text.isascii() and len(text) <= MAX_INDEXED_BYTES):
            return False
    for properties in (fields["properties"], fields["custom_properties"]):
        if type(properties) is not dict:
            return False
        for name, value in properties.items():
            if not (type(name) is str and name.isascii() and "\x00" not in name):
                return False
            # By exact type: a subclass (an IntEnum, a str subclass) or anything else goes
            # to check_value.
            kind = type(value)
            if kind is str:
                if not value.isascii():
                    return False
            elif kind is int:
                if not INT64_MIN <= value <= INT64_MAX:
                    return False
            elif kind is not float and kind is not bool:
                return False
    return True


# How deeply a STRUCT value may nest objects and arrays (the value itself is depth 1). Deeper
# values are refused: Python's json module recurses per level (a STRUCT 5,000 deep raised
# RecursionError), pydantic reads JSON at most 200 levels deep, and protobuf parses at most
# 100 nested messages, three per object level (Struct, map entry, Value): a value of 34 object
# levels, stored, made every gRPC listing that held its node fail INTERNAL for every client
# (TFX's, Kubeflow's), so no value deeper than MLMD can carry is stored.
MAX_STRUCT_DEPTH = 32

_PROPERTY_VALUE_KINDS = "a bool, int, float, str, STRUCT dict or ProtoValue"


def plain_property_value(value: object, field: str) -> Any:
    """``value`` as a model would take it (models.plain_value: a numpy scalar as the bool,
    int or float it holds), for values no model validated: a dict changed in place, a
    mapping given to a call.

    Raises:
        InvalidArgumentError: ``value`` is None or a numpy scalar of another kind; ``field``
            names it.
    """
    try:
        return plain_value(value)
    except ValueError as error:
        raise InvalidArgumentError(f"{field}: {error}", field=field) from None


def check_value(value: object, field: str) -> None:
    """Reject what is no valid property value, or cannot round-trip: a value of another type
    (None, a list, a tuple, bytes, a set: models refuse them, but a model's properties dict
    can be changed in place, and model_construct validates nothing), an int beyond int64, a
    string that is not valid Unicode, a STRUCT that is not JSON (a non-string key at any
    level, a value of another type, deeper than MAX_STRUCT_DEPTH, or a PROTO value's dict
    form), a ProtoValue whose fields are not a string and bytes. A STRUCT may hold NaN and
    the infinities (google.protobuf.Struct holds them, so ml-metadata does) and tuples (JSON
    arrays, read back as lists, as protobuf's Struct takes them).

    Raises:
        InvalidArgumentError: ``field`` names the value, the message where in a STRUCT.
    """
    if isinstance(value, bool) or isinstance(value, float):
        return
    if isinstance(value, int):
        check_int64(value, field)
    elif isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, dict):
        _check_struct(value, field)
    elif isinstance(value, ProtoValue):
        if not isinstance(value.type_url, str) or not isinstance(value.value, bytes):
            raise InvalidArgumentError(f"{field}: a ProtoValue's type_url is a string and its value bytes, not "
                                       f"{type(value.type_url).__name__} and {type(value.value).__name__}",
                                       field=field)
        check_text(value.type_url, f"{field}.type_url")
        if not value.type_url:  # as ProtoValue validates: ml-metadata cannot read one back
            raise InvalidArgumentError(f"{field}.type_url: a PROTO value needs its type_url (the packed message's "
                                       "type): ml-metadata cannot read one without it", field=f"{field}.type_url")
    elif value is None:
        raise InvalidArgumentError(f"{field}: None is no property value (leave the property out); a value is "
                                   f"{_PROPERTY_VALUE_KINDS}", field=field)
    else:
        raise InvalidArgumentError(f"{field}: {type(value).__name__} is no property value; a value is "
                                   f"{_PROPERTY_VALUE_KINDS}", field=field)


def _check_struct(value: dict[Any, Any], field: str) -> None:
    if is_proto_form(value):
        raise InvalidArgumentError(f"{field}: a dict of the form {{{PROTO_MARKER!r}: True, 'type_url': ..., "
                                   "'value': ...} is a PROTO value's, not a STRUCT: pass a ProtoValue", field=field)
    try:
        problem = _struct_problem(value, 1, [])
    except RecursionError:  # only when the caller's stack is itself nearly full
        problem = f"nested too deeply (at most {MAX_STRUCT_DEPTH} levels)"
    if problem is not None:
        raise InvalidArgumentError(f"{field}: not a STRUCT value: {problem}", field=field)
    # Stored escaped, a lone surrogate (in a key or a string) would come back as one, in a
    # model that cannot be serialised: refused as in any other string.
    check_text(json.dumps(value, ensure_ascii=False), field)


def _where(path: list[str | int]) -> str:
    return "at " + "".join(f"[{step!r}]" for step in path) if path else "at the top level"


def _struct_problem(value: Any, depth: int, path: list[str | int]) -> str | None:
    """What makes ``value`` (an object or array of a STRUCT, ``depth`` levels down, at
    ``path``) no JSON value, or None. Scalars are checked by the caller's loop."""
    if depth > MAX_STRUCT_DEPTH:
        return f"nested more than {MAX_STRUCT_DEPTH} levels deep (at most {MAX_STRUCT_DEPTH} are allowed)"
    if isinstance(value, dict):
        items: Any = value.items()
    else:
        items = enumerate(value)
    for key, item in items:
        if not isinstance(key, str) and isinstance(value, dict):
            return f"a key is {type(key).__name__} {key!r}, not a string ({_where(path)})"
        if item is None or isinstance(item, (str, int, float)):  # bool is an int
            continue
        if isinstance(item, (dict, list, tuple)):
            problem = _struct_problem(item, depth + 1, [*path, key])
            if problem is not None:
                return problem
            continue
        return (f"{type(item).__name__} {_where([*path, key])} (a STRUCT holds null, bools, numbers, strings, "
                "lists and dicts with string keys)")
    return None


def _encode_value(value: PropertyValue) -> Any:
    if isinstance(value, ProtoValue):
        return json.dumps({"type_url": value.type_url, "value": base64.b64encode(value.value).decode("ascii")})
    if isinstance(value, dict):
        # A STRUCT is an unordered map (as google.protobuf.Struct): stored with sorted keys,
        # the same value always has the same text, whatever order it arrived in. A NaN or
        # infinite number is written as Python's json module writes it (NaN, Infinity,
        # -Infinity: not strict JSON), and read back the same.
        return json.dumps(value, sort_keys=True)
    return value


def sorted_struct_text(text: str) -> str:
    """A stored STRUCT value's text as _encode_value writes it, keys sorted (graphmd before
    schema version 2 kept the order of the caller's dict). Text holding no JSON object is
    returned as it is; text that is not JSON raises ValueError (TypeError for a non-string)."""
    value = json.loads(text)
    return _encode_value(value) if isinstance(value, dict) else text


def encode_properties(properties: dict[str, PropertyValue], *, custom: bool) -> dict[str, Any]:
    """The Neo4j properties holding a node's properties (or custom properties)."""
    props: dict[str, Any] = {}
    _add_properties(props, properties, custom)
    return props


# Memos for encoding plain values (stored as they are): property name -> its Neo4j key, one
# per prefix.
_NATIVE_KEYS: dict[bool, dict[str, str]] = {False: {}, True: {}}


def _add_properties(props: dict[str, Any], properties: dict[str, PropertyValue], custom: bool) -> None:
    """Add the Neo4j properties holding ``properties`` to ``props``."""
    keys = _NATIVE_KEYS[custom]
    for name, value in properties.items():
        if type(value) in _PLAIN_PROPERTY_TYPES:
            if type(value) is float and value == 0.0:
                # -0.0 is stored as 0.0, as ml-metadata stores it: Neo4j orders a stored -0.0
                # below 0 while also finding it equal to 0, so filters gave it both answers.
                value = 0.0
            key = keys.get(name)
            if key is None:
                key = _PREFIXES[(custom, "native")] + name
                if len(keys) < _MEMO_LIMIT:
                    keys[name] = key
            props[key] = value
        else:
            props[property_key(name, custom=custom, kind=value_kind(value))] = _encode_value(value)


def _property_key_parts(key: str) -> tuple[bool, str, str] | None:
    """(is_custom, kind, property name) of a Neo4j property key holding a property, else None."""
    head, sep, name = key.partition("_")
    found = _DECODE_HEADS.get(head) if sep else None
    parts = None if found is None else (found[0], found[1], name)
    if len(_PROPERTY_KEYS) < _MEMO_LIMIT:
        _PROPERTY_KEYS[key] = parts
    return parts


def same_value(a: PropertyValue, b: PropertyValue) -> bool:
    """Equality that tells 1 from 1.0 and True from 1, and NaN from nothing."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _encode_proto(value: ProtoValue | None) -> str | None:
    return None if value is None else _encode_value(value)


def encode_node(node: AnyNode, *, type_name: str | None) -> dict[str, Any]:
    """All Neo4j properties of a node (id and times must already be set on ``node``)."""
    fields = node.__dict__
    cls = type(node) if type(node) in _ENCODED_AS_IS else next(c for c in _ENCODED_AS_IS if isinstance(node, c))
    props: dict[str, Any] = {"type": type_name}
    for attr in _ENCODED_AS_IS[cls]:
        value = fields[attr]
        if value is not None:
            props[attr] = value
    state_attr = _STATE_ATTRIBUTE.get(cls)
    if state_attr is not None and fields[state_attr] is not None:
        state = fields[state_attr]
        props[state_attr] = _STATE_VALUES.get(state) or state.value
    if fields["system_metadata"] is not None:
        props["system_metadata"] = _encode_proto(fields["system_metadata"])
    _add_properties(props, fields["properties"], False)
    _add_properties(props, fields["custom_properties"], True)
    return props


# What encode_node copies as it is, per node class; and the enum attribute stored by value.
_ENCODED_AS_IS: dict[type[AnyNode], tuple[str, ...]] = {
    cls: ("id", "type_id", "name", "external_id", "create_time_since_epoch", "last_update_time_since_epoch",
          *(("uri",) if cls is Artifact else ()))
    for cls in (Artifact, Execution, Context)
}
_STATE_ATTRIBUTE: dict[type[AnyNode], str] = {Artifact: "state", Execution: "last_known_state"}
_STATE_VALUES: dict[ArtifactState | ExecutionState, str] = {**{s: s.value for s in ArtifactState},
                                                            **{s: s.value for s in ExecutionState}}


# BaseModel's instance slots, set through their descriptors: cheaper than
# object.__setattr__ by name, which looks each one up again on every call.
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__
_new = object.__new__
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}


def constructed(cls: type[ModelT], fields: dict[str, Any]) -> ModelT:
    """``cls.model_construct(**fields)`` without its generic pass over every field: the model
    with exactly ``fields``, which must hold every field of ``cls`` in declaration order.
    Nothing is validated (the values come from the store). Reads build a model per node,
    event and link, and model_construct was most of their client-side cost.

    The models of one class share one fields-set (``model_fields_set``): every field is set,
    pydantic only ever adds names already in it, and a copy gets a set of its own. Sharing
    it saves a set per model, and the cyclic collector's pass over them after a large read."""
    model = _new(cls)
    _SET_DICT(model, fields)
    try:
        _SET_FIELDS_SET(model, _ALL_FIELDS[cls])
    except KeyError:
        _SET_FIELDS_SET(model, _ALL_FIELDS.setdefault(cls, set(cls.model_fields)))
    _SET_EXTRA(model, None)
    _SET_PRIVATE(model, None)
    return model


# Per node class: its fields in declaration order (as a dict of Nones: copying it is several
# times cheaper than dict.fromkeys), and the stored keys copied as they are.
_NODE_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {cls: tuple(cls.model_fields)
                                                         for cls in (Artifact, Execution, Context)}
_NODE_TEMPLATE = {cls: dict.fromkeys(fields) for cls, fields in _NODE_FIELDS.items()}
_PLAIN_KEYS = {cls: frozenset(fields) - {"properties", "custom_properties", "system_metadata", "state",
                                         "last_known_state"}
               for cls, fields in _NODE_FIELDS.items()}
_STATE_KEYS: dict[type[BaseModel], tuple[str | None, dict[str, Any]]] = {
    Artifact: ("state", _ARTIFACT_STATES), Execution: ("last_known_state", _EXECUTION_STATES), Context: (None, {})}


def decode_node(cls: type[NodeModelT], props: dict[str, Any]) -> NodeModelT:
    """A node model from its Neo4j properties (keys that hold neither an attribute of
    ``cls`` nor a property are ignored)."""
    fields: dict[str, Any] = _NODE_TEMPLATE[cls].copy()
    properties: dict[str, PropertyValue] = {}
    custom: dict[str, PropertyValue] = {}
    plain = _PLAIN_KEYS[cls]
    state_key, states = _STATE_KEYS[cls]
    for key, raw in props.items():
        if key in plain:
            fields[key] = raw
            continue
        if key == state_key:
            fields[key] = states[raw] if raw is not None else None
            continue
        if key == "system_metadata":
            fields[key] = _decode_proto(raw) if raw is not None else None
            continue
        try:
            found = _PROPERTY_KEYS[key]
        except KeyError:
            found = _property_key_parts(key)
        if found is None:
            continue
        is_custom, kind, name = found
        if kind == "native":
            value: PropertyValue = raw
        elif kind == "struct":
            value = json.loads(raw)
        else:
            value = _decode_proto(raw)
        (custom if is_custom else properties)[name] = value
    fields["properties"] = properties
    fields["custom_properties"] = custom
    return constructed(cls, fields)


def _decode_proto(text: str) -> ProtoValue:
    data = json.loads(text)
    # Not validated: a value stored before type_urls were required still reads.
    return ProtoValue.model_construct(type_url=data["type_url"], value=base64.b64decode(data["value"]))


def encode_type(t: AnyType) -> dict[str, Any]:
    """All Neo4j properties of a type node (its id must already be set)."""
    names = sorted(t.properties)
    props: dict[str, Any] = {
        "id": t.id,
        "kind": TYPE_LABEL[type(t)],
        "name": t.name,
        "version": t.version,
        # Uniqueness constraints skip nulls, so (kind, name, version) is keyed on ''.
        "version_key": t.version or "",
        "description": t.description,
        "external_id": t.external_id,
        "property_names": names,
        "property_types": [t.properties[n].value for n in names],
    }
    if isinstance(t, (ArtifactType, ExecutionType)) and t.base_type is not None:
        props["base_type"] = t.base_type.value
    if isinstance(t, ExecutionType):
        props["input_type"] = json.dumps(t.input_type) if t.input_type is not None else None
        props["output_type"] = json.dumps(t.output_type) if t.output_type is not None else None
    return {k: v for k, v in props.items() if v is not None}


_TYPE_CLASS: dict[str, type[AnyType]] = {"ArtifactType": ArtifactType, "ExecutionType": ExecutionType,
                                          "ContextType": ContextType}


def decode_type(props: dict[str, Any]) -> AnyType:
    """A type model from its Neo4j properties."""
    cls = _TYPE_CLASS[props["kind"]]
    fields: dict[str, Any] = {
        "id": props["id"],
        "name": props["name"],
        "version": props.get("version"),
        "description": props.get("description"),
        "external_id": props.get("external_id"),
        "properties": {
            n: _PROPERTY_TYPES[t] for n, t in zip(props.get("property_names", []), props.get("property_types", []))
        },
    }
    base_type = props.get("base_type") or None
    if cls is ArtifactType:
        fields["base_type"] = ArtifactBaseType(base_type) if base_type else None
    elif cls is ExecutionType:
        fields["base_type"] = ExecutionBaseType(base_type) if base_type else None
        for key in ("input_type", "output_type"):
            fields[key] = json.loads(props[key]) if props.get(key) is not None else None
    return constructed(cls, fields)


class PathStepError(ValueError):
    """A step of an event path that cannot be stored: an index beyond int64 (MLMD's) or a
    key that is not valid Unicode. ``step`` is its position in the path."""

    def __init__(self, step: int, message: str) -> None:
        super().__init__(message)
        self.step = step


def _check_path(path: list[int | str]) -> None:
    for step, value in enumerate(path):
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise PathStepError(step, f"{value} does not fit in a 64-bit integer")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as error:
                raise PathStepError(step, f"not valid Unicode (a lone surrogate at position {error.start})") from None


def encode_path(path: list[int | str]) -> str:
    """An event path as stored: JSON text of its steps (ints are indexes, strings keys).

    Raises:
        PathStepError: a step cannot be stored (checked once per distinct path).
    """
    key = (*path, *map(type, path))  # 1 and True are equal keys but different JSON
    try:
        text = _PATH_TEXTS.get(key)
    except TypeError:  # an unhashable step (a path changed after validation): not memoized
        _check_path(path)
        return json.dumps(path)
    if text is None:
        _check_path(path)
        text = json.dumps(path)
        if len(_PATH_TEXTS) < _MEMO_LIMIT:
            _PATH_TEXTS[key] = text
    return text


# Each event type's stored name and direction (a member or its value finds it: EventType is a
# str enum): a dict lookup per event, where EventType(...) and .value cost more per call.
# Keyed by what Event.type may hold (None finds nothing).
_EVENT_TYPE_ROW: dict[EventType | str | None, tuple[str, bool]] = {t: (t.value, t.is_input) for t in EventType}


def event_key(artifact_id: int, execution_id: int, event_type: EventType) -> str:
    """The key that makes an event unique per (artifact, execution, type), as MLMD's Event table is."""
    return _event_key(artifact_id, execution_id, EventType(event_type).value)


def _event_key(artifact_id: int | None, execution_id: int | None, type_value: str) -> str:
    return f"{artifact_id}:{execution_id}:{type_value}"


# An event's write row (encode_event_row): the EVENT relationship's stored properties, then
# which way it points. graphmd._queries' write statement reads the fields by position.
EVENT_PROPERTIES = ("id", "type", "path", "milliseconds_since_epoch", "event_key")
EVENT_ROW = (*EVENT_PROPERTIES, "is_input")


def encode_event_row(event: Event, event_id: int, artifact_id: int | None, execution_id: int | None) -> list[Any]:
    """The fields of EVENT_ROW for ``event`` (its type set) between these ends, in that
    order: a list, since a bulk write sends thousands and a map repeats every key.

    Raises:
        ValueError: the event's type is no EventType.
        PathStepError: a step of its path cannot be stored.
    """
    known = _EVENT_TYPE_ROW.get(event.type)
    if known is None:
        event_type = EventType(event.type)  # ValueError for what is no event type
        known = event_type.value, event_type.is_input
    type_value, is_input = known
    return [event_id, type_value, encode_path(event.path) if event.path else None, event.milliseconds_since_epoch,
            _event_key(artifact_id, execution_id, type_value), is_input]


def encode_event(event: Event, event_id: int, artifact_id: int | None = None,
                 execution_id: int | None = None) -> dict[str, Any]:
    """The row graphmd._queries.CREATE_EVENTS writes for ``event`` (its type set): the EVENT
    relationship's properties, its ends (``artifact_id`` and ``execution_id`` when given,
    else the event's own), and which way it points."""
    if artifact_id is None:
        artifact_id = event.artifact_id
    if execution_id is None:
        execution_id = event.execution_id
    row = dict(zip(EVENT_ROW, encode_event_row(event, event_id, artifact_id, execution_id)))
    row["artifact_id"], row["execution_id"] = artifact_id, execution_id
    return row


def _decode_path(text: str) -> list[int | str]:
    """An event path's steps from its stored JSON text (a new list each time: models are mutable)."""
    steps = _PATHS.get(text)
    if steps is None:
        steps = tuple(json.loads(text))
        if len(_PATHS) < _MEMO_LIMIT:
            _PATHS[text] = steps
    return list(steps)


def stored_path_as_json(text: Any) -> Any:
    """An event path a query returned as stored (its JSON text) as the list of steps `graphmd
    show` prints; anything else as it is."""
    if isinstance(text, str) and text.startswith("["):
        try:
            return _decode_path(text)
        except ValueError:
            return text
    return text


def decode_event(props: dict[str, Any], artifact_id: int, execution_id: int) -> Event:
    """An Event from an EVENT relationship's properties and its two ends."""
    path = props.get("path")
    return constructed(Event, {
        "artifact_id": artifact_id,
        "execution_id": execution_id,
        "type": _EVENT_TYPES[props["type"]],
        "path": _decode_path(path) if path else [],
        "milliseconds_since_epoch": props.get("milliseconds_since_epoch"),
    })


# Non-finite floats as protobuf's JSON mapping writes them (MLMD's own JSON): Python's bare
# NaN and Infinity tokens are not JSON, and jq, JSON.parse and strict parsers reject them.
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def stored_value_as_json(value_type: str | None, value: Any) -> Any:
    """A property value a Cypher file returns as stored (a STRUCT or PROTO as its JSON text,
    told by ``value_type``) in the JSON form `graphmd show` prints it: a STRUCT as its object,
    a PROTO as ``{"$proto": true, "type_url": ..., "value": <base64>}``; others as they are."""
    if not isinstance(value, str) or value_type not in ("STRUCT", "PROTO"):
        return value
    try:
        data = json.loads(value)
    except ValueError:  # not graphmd's own text: shown as stored
        return value
    return {PROTO_MARKER: True, **data} if value_type == "PROTO" and isinstance(data, dict) else data


def strict_json(value: Any) -> Any:
    """``value`` (JSON-like data) with NaN and infinities, at any depth, as the strings
    "NaN", "Infinity" and "-Infinity", so that strict JSON can hold it."""
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[repr(value)]
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def holds_non_finite(value: Any) -> bool:
    """Whether ``value`` (JSON-like data) holds NaN or an infinity at any depth."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(holds_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(holds_non_finite(v) for v in value)
    return False
