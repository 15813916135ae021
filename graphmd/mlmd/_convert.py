"""MLMD protos (ml_metadata.proto.metadata_store_pb2) to and from graphmd's models.

The conversion is exact both ways:

- Presence is kept: a field unset in the proto is ``None`` in the model and unset again on the
  way back; ``''`` stays ``''`` and ``0`` stays ``0``.
- Property values keep their kind: int_value -> int, double_value -> float, bool_value -> bool,
  string_value -> str, struct_value -> dict (numbers in a Struct are doubles, so they come back
  as floats), proto_value -> ProtoValue.
- Event paths become lists of steps (an int for ``index``, a str for ``key``).
- ExecutionType input_type / output_type (ArtifactStructType) are kept as protobuf's JSON form,
  the form MLMD itself stores them in.
- system_metadata (google.protobuf.Any) becomes a ProtoValue.

What MLMD accepts but graphmd cannot represent raises a typed graphmd error naming the field:
a property Value with no value set (InvalidArgumentError, with MLMD's own message), a property
type UNKNOWN (InvalidArgumentError), a base_type UNSET (UnimplementedError, as MLMD answers
that request). An event type UNKNOWN is "no type", as MLMD treats it.

The public functions come in pairs, ``<kind>_from_proto`` and ``<kind>_to_proto``, for every
message kind; ``from_proto`` / ``to_proto`` dispatch on the argument's class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf import any_pb2, json_format, struct_pb2
from ml_metadata.proto import metadata_store_pb2 as pb

from .._codec import check_int64
from .._errors import InvalidArgumentError, UnimplementedError
from .._models import (
    Artifact,
    ArtifactBaseType,
    ArtifactState,
    ArtifactType,
    Association,
    Attribution,
    BoundaryConstraint,
    Context,
    ContextType,
    EndingNodes,
    Event,
    EventType,
    Execution,
    ExecutionBaseType,
    ExecutionState,
    ExecutionType,
    LineageDirection,
    LineageGraph,
    LineageGraphQueryOptions,
    LineageSubgraphQueryOptions,
    ListOptions,
    NodeSelector,
    OrderBy,
    ParentContext,
    PropertyType,
    PropertyValue,
    ProtoValue,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_LINEAGE_HOPS",
    "value_from_proto",
    "value_to_proto",
    "struct_from_proto",
    "struct_to_proto",
    "proto_value_from_any",
    "proto_value_to_any",
    "artifact_type_from_proto",
    "artifact_type_to_proto",
    "execution_type_from_proto",
    "execution_type_to_proto",
    "context_type_from_proto",
    "context_type_to_proto",
    "artifact_from_proto",
    "artifact_to_proto",
    "execution_from_proto",
    "execution_to_proto",
    "context_from_proto",
    "context_to_proto",
    "event_from_proto",
    "event_to_proto",
    "attribution_from_proto",
    "attribution_to_proto",
    "association_from_proto",
    "association_to_proto",
    "parent_context_from_proto",
    "parent_context_to_proto",
    "lineage_graph_from_proto",
    "lineage_graph_to_proto",
    "list_options_from_proto",
    "lineage_subgraph_query_options_from_proto",
    "lineage_graph_query_options_from_proto",
    "from_proto",
    "to_proto",
    "many_from_proto",
]

# MLMD's server answers at most this many nodes per page, whatever max_result_size asks.
MAX_PAGE_SIZE = 100
# MLMD's lineage subgraph goes at most this many hops, whatever max_num_hops asks.
MAX_LINEAGE_HOPS = 100

# --- property values ------------------------------------------------------------------------


def _struct_value_to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_from_proto(value.struct_value)
    if kind == "list_value":
        return [_struct_value_to_python(v) for v in value.list_value.values]
    if kind == "number_value":
        return float(value.number_value)
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None  # null_value, or no kind at all


def struct_from_proto(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A google.protobuf.Struct as a JSON-like dict; every number is a float, as in the Struct."""
    return {key: _struct_value_to_python(v) for key, v in struct.fields.items()}


def struct_to_proto(data: dict[str, Any], field: str = "struct_value") -> struct_pb2.Struct:
    """A JSON-like dict as a google.protobuf.Struct (ints become doubles, as Struct holds them).

    Raises:
        InvalidArgumentError: a key that is not a string or a value JSON cannot hold.
    """
    struct = struct_pb2.Struct()
    try:
        struct.update(data)
    except (TypeError, ValueError, AttributeError) as error:
        raise InvalidArgumentError(f"{field}: a STRUCT value must be JSON-like: {error}", field=field) from error
    return struct


def proto_value_from_any(message: any_pb2.Any, field: str = "proto_value") -> ProtoValue:
    """A google.protobuf.Any as a ProtoValue (type URL and serialized bytes, untouched).

    Raises:
        InvalidArgumentError: the Any has no type_url (ml-metadata stores such a value, then
            fails every read of its node).
    """
    if not message.type_url:
        raise InvalidArgumentError(f"{field}: a PROTO value needs its type_url (the packed message's type): "
                                   "ml-metadata cannot read one without it", field=field)
    return ProtoValue(type_url=message.type_url, value=message.value)


def proto_value_to_any(value: ProtoValue) -> any_pb2.Any:
    """A ProtoValue as a google.protobuf.Any."""
    return any_pb2.Any(type_url=value.type_url, value=value.value)


def value_from_proto(value: pb.Value, field: str = "value", *, name: str | None = None) -> PropertyValue:
    """An MLMD Value as a graphmd property value of the same kind.

    Raises:
        InvalidArgumentError: the Value sets none of its fields (MLMD reports such a property
            as "Found unmatched property type").
    """
    kind = value.WhichOneof("value")
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_from_proto(value.struct_value)
    if kind == "proto_value":
        return proto_value_from_any(value.proto_value, f"{field}.proto_value")
    raise InvalidArgumentError(f"{field}: Found unmatched property type: {name or field} (the Value sets none "
                               "of its fields)", field=field)


def value_to_proto(value: PropertyValue, out: pb.Value | None = None, field: str = "value") -> pb.Value:
    """A graphmd property value as an MLMD Value (into ``out`` when given)."""
    out = pb.Value() if out is None else out
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        check_int64(value, field)  # an int64 field: protobuf's ValueError named nothing
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, ProtoValue):
        out.proto_value.CopyFrom(proto_value_to_any(value))
    elif isinstance(value, dict):
        out.struct_value.CopyFrom(struct_to_proto(value, field))
    else:
        raise InvalidArgumentError(f"{field}: {type(value).__name__} is not a property value", field=field)
    return out


def _properties_from_proto(values: Any, field: str) -> dict[str, PropertyValue]:
    return {name: value_from_proto(v, f"{field}[{name!r}]", name=name) for name, v in values.items()}


def _properties_to_proto(properties: dict[str, PropertyValue], out: Any, field: str) -> None:
    for name, value in properties.items():
        value_to_proto(value, out[name], f"{field}[{name!r}]")


# --- types ----------------------------------------------------------------------------------


def _optional(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def _type_fields(message: Any, field: str) -> dict[str, Any]:
    properties: dict[str, PropertyType] = {}
    for name, kind in message.properties.items():
        if kind == pb.UNKNOWN:
            raise InvalidArgumentError(f"{field}.properties[{name!r}]: property type UNKNOWN is not a type",
                                       field=f"{field}.properties[{name!r}]")
        properties[name] = PropertyType(pb.PropertyType.Name(kind))
    return {
        "id": _optional(message, "id"),
        "name": message.name,
        "version": _optional(message, "version"),
        "description": _optional(message, "description"),
        "external_id": _optional(message, "external_id"),
        "properties": properties,
    }


def _base_type_from_proto(message: Any, enum_cls: type | None, field: str) -> Any:
    if not message.HasField("base_type"):
        return None
    name = type(message).SystemDefinedBaseType.Name(message.base_type)
    if name == "UNSET" or enum_cls is None:
        raise UnimplementedError(f"{field}.base_type: base_type deletion is not supported yet",
                                 field=f"{field}.base_type")
    return enum_cls(name)


def _type_to_proto(t: ArtifactType | ExecutionType | ContextType, message: Any) -> Any:
    if t.id is not None:
        message.id = t.id
    message.name = t.name
    for attr in ("version", "description", "external_id"):
        if getattr(t, attr) is not None:
            setattr(message, attr, getattr(t, attr))
    for name, kind in t.properties.items():
        message.properties[name] = pb.PropertyType.Value(PropertyType(kind).value)
    base = getattr(t, "base_type", None)
    if base is not None:
        message.base_type = type(message).SystemDefinedBaseType.Value(base.value)
    return message


def artifact_type_from_proto(message: pb.ArtifactType, field: str = "artifact_type") -> ArtifactType:
    """An MLMD ArtifactType as a graphmd ArtifactType.

    Raises:
        InvalidArgumentError: a property of type UNKNOWN.
        UnimplementedError: base_type UNSET (MLMD cannot delete a base type either).
    """
    return ArtifactType(**_type_fields(message, field),
                        base_type=_base_type_from_proto(message, ArtifactBaseType, field))


def artifact_type_to_proto(t: ArtifactType) -> pb.ArtifactType:
    """A graphmd ArtifactType as an MLMD ArtifactType."""
    return _type_to_proto(t, pb.ArtifactType())


def _struct_type_from_proto(message: pb.ExecutionType, name: str) -> dict[str, Any] | None:
    if not message.HasField(name):
        return None
    return json_format.MessageToDict(getattr(message, name))


def execution_type_from_proto(message: pb.ExecutionType, field: str = "execution_type") -> ExecutionType:
    """An MLMD ExecutionType as a graphmd ExecutionType (input/output types as protobuf JSON).

    Raises:
        InvalidArgumentError: a property of type UNKNOWN.
        UnimplementedError: base_type UNSET.
    """
    return ExecutionType(**_type_fields(message, field),
                         base_type=_base_type_from_proto(message, ExecutionBaseType, field),
                         input_type=_struct_type_from_proto(message, "input_type"),
                         output_type=_struct_type_from_proto(message, "output_type"))


def execution_type_to_proto(t: ExecutionType, field: str = "execution_type") -> pb.ExecutionType:
    """A graphmd ExecutionType as an MLMD ExecutionType.

    Raises:
        InvalidArgumentError: input_type / output_type is not an ArtifactStructType in JSON form.
    """
    message = _type_to_proto(t, pb.ExecutionType())
    for name in ("input_type", "output_type"):
        data = getattr(t, name)
        if data is not None:
            try:
                json_format.ParseDict(data, getattr(message, name))
            except json_format.ParseError as error:
                raise InvalidArgumentError(f"{field}.{name}: not an ArtifactStructType: {error}",
                                           field=f"{field}.{name}") from error
    return message


def context_type_from_proto(message: pb.ContextType, field: str = "context_type") -> ContextType:
    """An MLMD ContextType as a graphmd ContextType.

    Raises:
        InvalidArgumentError: a property of type UNKNOWN.
        UnimplementedError: base_type set (its only value is UNSET).
    """
    _base_type_from_proto(message, None, field)
    return ContextType(**_type_fields(message, field))


def context_type_to_proto(t: ContextType) -> pb.ContextType:
    """A graphmd ContextType as an MLMD ContextType."""
    return _type_to_proto(t, pb.ContextType())


# --- nodes ----------------------------------------------------------------------------------

_NODE_ATTRIBUTES = ("id", "type_id", "type", "name", "external_id", "create_time_since_epoch",
                    "last_update_time_since_epoch")


def _node_fields(message: Any, field: str) -> dict[str, Any]:
    fields = {attr: _optional(message, attr) for attr in _NODE_ATTRIBUTES}
    fields["properties"] = _properties_from_proto(message.properties, f"{field}.properties")
    fields["custom_properties"] = _properties_from_proto(message.custom_properties, f"{field}.custom_properties")
    # An empty Any there is no system_metadata (ml-metadata does not store it at all).
    if message.HasField("system_metadata") and message.system_metadata.ByteSize():
        fields["system_metadata"] = proto_value_from_any(message.system_metadata, f"{field}.system_metadata")
    return fields


def _node_to_proto(node: Artifact | Execution | Context, message: Any, field: str) -> Any:
    for attr in _NODE_ATTRIBUTES:
        value = getattr(node, attr)
        if value is not None:
            setattr(message, attr, value)
    _properties_to_proto(node.properties, message.properties, f"{field}.properties")
    _properties_to_proto(node.custom_properties, message.custom_properties, f"{field}.custom_properties")
    if node.system_metadata is not None:
        message.system_metadata.CopyFrom(proto_value_to_any(node.system_metadata))
    return message


def artifact_from_proto(message: pb.Artifact, field: str = "artifact") -> Artifact:
    """An MLMD Artifact as a graphmd Artifact.

    Raises:
        InvalidArgumentError: a property Value with nothing set.
    """
    state = ArtifactState(pb.Artifact.State.Name(message.state)) if message.HasField("state") else None
    return Artifact(**_node_fields(message, field), uri=_optional(message, "uri"), state=state)


def artifact_to_proto(artifact: Artifact, field: str = "artifact") -> pb.Artifact:
    """A graphmd Artifact as an MLMD Artifact."""
    message = _node_to_proto(artifact, pb.Artifact(), field)
    if artifact.uri is not None:
        message.uri = artifact.uri
    if artifact.state is not None:
        message.state = pb.Artifact.State.Value(ArtifactState(artifact.state).value)
    return message


def execution_from_proto(message: pb.Execution, field: str = "execution") -> Execution:
    """An MLMD Execution as a graphmd Execution.

    Raises:
        InvalidArgumentError: a property Value with nothing set.
    """
    state = (ExecutionState(pb.Execution.State.Name(message.last_known_state))
             if message.HasField("last_known_state") else None)
    return Execution(**_node_fields(message, field), last_known_state=state)


def execution_to_proto(execution: Execution, field: str = "execution") -> pb.Execution:
    """A graphmd Execution as an MLMD Execution."""
    message = _node_to_proto(execution, pb.Execution(), field)
    if execution.last_known_state is not None:
        message.last_known_state = pb.Execution.State.Value(ExecutionState(execution.last_known_state).value)
    return message


def context_from_proto(message: pb.Context, field: str = "context") -> Context:
    """An MLMD Context as a graphmd Context.

    Raises:
        InvalidArgumentError: a property Value with nothing set.
    """
    return Context(**_node_fields(message, field))


def context_to_proto(context: Context, field: str = "context") -> pb.Context:
    """A graphmd Context as an MLMD Context."""
    return _node_to_proto(context, pb.Context(), field)


# --- edges ----------------------------------------------------------------------------------


def event_from_proto(message: pb.Event, field: str = "event") -> Event:
    """An MLMD Event as a graphmd Event. Type UNKNOWN is no type (as MLMD treats it); the
    event's system_metadata is dropped, as MLMD does not store it either, and so is a path
    step that sets neither index nor key (MLMD stores the path without it)."""
    path: list[int | str] = []
    for step in message.path.steps:
        which = step.WhichOneof("value")
        if which is not None:
            path.append(getattr(step, which))
    event_type = None
    if message.HasField("type") and message.type != pb.Event.UNKNOWN:
        event_type = EventType(pb.Event.Type.Name(message.type))
    return Event(artifact_id=_optional(message, "artifact_id"), execution_id=_optional(message, "execution_id"),
                 type=event_type, path=path, milliseconds_since_epoch=_optional(message, "milliseconds_since_epoch"))


def event_to_proto(event: Event) -> pb.Event:
    """A graphmd Event as an MLMD Event (path set only when it has steps)."""
    message = pb.Event()
    for attr in ("artifact_id", "execution_id", "milliseconds_since_epoch"):
        if getattr(event, attr) is not None:
            setattr(message, attr, getattr(event, attr))
    if event.type is not None:
        message.type = pb.Event.Type.Value(EventType(event.type).value)
    for step in event.path:
        if isinstance(step, int):
            message.path.steps.add().index = step
        else:
            message.path.steps.add().key = step
    return message


def _require(message: Any, name: str, field: str) -> int:
    if not message.HasField(name):
        raise InvalidArgumentError(f"{field}.{name}: no {name} is specified", field=f"{field}.{name}")
    return getattr(message, name)


def attribution_from_proto(message: pb.Attribution, field: str = "attribution") -> Attribution:
    """An MLMD Attribution as a graphmd Attribution.

    Raises:
        InvalidArgumentError: context_id or artifact_id is unset.
    """
    return Attribution(context_id=_require(message, "context_id", field),
                       artifact_id=_require(message, "artifact_id", field))


def attribution_to_proto(attribution: Attribution) -> pb.Attribution:
    """A graphmd Attribution as an MLMD Attribution."""
    return pb.Attribution(context_id=attribution.context_id, artifact_id=attribution.artifact_id)


def association_from_proto(message: pb.Association, field: str = "association") -> Association:
    """An MLMD Association as a graphmd Association.

    Raises:
        InvalidArgumentError: context_id or execution_id is unset.
    """
    return Association(context_id=_require(message, "context_id", field),
                       execution_id=_require(message, "execution_id", field))


def association_to_proto(association: Association) -> pb.Association:
    """A graphmd Association as an MLMD Association."""
    return pb.Association(context_id=association.context_id, execution_id=association.execution_id)


def parent_context_from_proto(message: pb.ParentContext, field: str = "parent_context") -> ParentContext:
    """An MLMD ParentContext as a graphmd ParentContext.

    Raises:
        InvalidArgumentError: child_id or parent_id is unset.
    """
    return ParentContext(child_id=_require(message, "child_id", field),
                         parent_id=_require(message, "parent_id", field))


def parent_context_to_proto(parent_context: ParentContext) -> pb.ParentContext:
    """A graphmd ParentContext as an MLMD ParentContext."""
    return pb.ParentContext(child_id=parent_context.child_id, parent_id=parent_context.parent_id)


# --- graphs and options ---------------------------------------------------------------------

_GRAPH_PARTS: tuple[tuple[str, Callable[[Any, str], Any], Callable[[Any], Any]], ...] = (
    # (LineageGraph field, from_proto, to_proto)
    ("artifact_types", artifact_type_from_proto, artifact_type_to_proto),
    ("execution_types", execution_type_from_proto, execution_type_to_proto),
    ("context_types", context_type_from_proto, context_type_to_proto),
    ("artifacts", artifact_from_proto, artifact_to_proto),
    ("executions", execution_from_proto, execution_to_proto),
    ("contexts", context_from_proto, context_to_proto),
    ("events", event_from_proto, event_to_proto),
    ("attributions", attribution_from_proto, attribution_to_proto),
    ("associations", association_from_proto, association_to_proto),
    ("parent_contexts", parent_context_from_proto, parent_context_to_proto),
)


def lineage_graph_from_proto(message: pb.LineageGraph) -> LineageGraph:
    """An MLMD LineageGraph as a graphmd LineageGraph."""
    return LineageGraph(**{name: [convert(m, f"{name}[{i}]") for i, m in enumerate(getattr(message, name))]
                           for name, convert, _ in _GRAPH_PARTS})


def lineage_graph_to_proto(graph: LineageGraph, out: pb.LineageGraph | None = None) -> pb.LineageGraph:
    """A graphmd LineageGraph as an MLMD LineageGraph (into ``out`` when given)."""
    out = pb.LineageGraph() if out is None else out
    for name, _, convert in _GRAPH_PARTS:
        getattr(out, name).extend(convert(item) for item in getattr(graph, name))
    return out


def list_options_from_proto(options: pb.ListOperationOptions, field: str = "options") -> ListOptions:
    """MLMD's ListOperationOptions as graphmd ListOptions, with MLMD's server semantics: an
    unset max_result_size is 20, and a page holds at most MAX_PAGE_SIZE (100) nodes.

    Raises:
        InvalidArgumentError: max_result_size <= 0, or order_by_field.field FIELD_UNSPECIFIED.
    """
    if options.max_result_size <= 0:
        raise InvalidArgumentError(f"{field}.max_result_size field value is required to be greater than 0. "
                                   f"Set value: {options.max_result_size}", field=f"{field}.max_result_size")
    order = options.order_by_field
    field_name = pb.ListOperationOptions.OrderByField.Field.Name(order.field)
    if field_name == "FIELD_UNSPECIFIED":
        raise InvalidArgumentError(f"{field}.order_by_field.field: Unsupported field: {field_name} specified in "
                                   "ListOperationOptions", field=f"{field}.order_by_field.field")
    return ListOptions(
        max_result_size=min(options.max_result_size, MAX_PAGE_SIZE),
        order_by=OrderBy(field_name),
        is_asc=order.is_asc,
        filter_query=options.filter_query or None,
        next_page_token=options.next_page_token or None,
    )


_DIRECTIONS = {
    pb.LineageSubgraphQueryOptions.DIRECTION_UNSPECIFIED: LineageDirection.BIDIRECTIONAL,
    pb.LineageSubgraphQueryOptions.UPSTREAM: LineageDirection.UPSTREAM,
    pb.LineageSubgraphQueryOptions.DOWNSTREAM: LineageDirection.DOWNSTREAM,
    pb.LineageSubgraphQueryOptions.BIDIRECTIONAL: LineageDirection.BIDIRECTIONAL,
}


def _ending_nodes(message: Any, name: str) -> EndingNodes | None:
    if not message.HasField(name):
        return None
    ending = getattr(message, name)
    return EndingNodes(filter_query=_optional(ending, "filter_query"), include_ending_nodes=ending.include_ending_nodes)


def lineage_subgraph_query_options_from_proto(message: pb.LineageSubgraphQueryOptions,
                                              field: str = "lineage_subgraph_query_options"
                                              ) -> LineageSubgraphQueryOptions:
    """MLMD's LineageSubgraphQueryOptions as graphmd's, with MLMD's semantics: max_num_hops
    unset or above MAX_LINEAGE_HOPS (100) is 100; direction unspecified is BIDIRECTIONAL.

    Raises:
        InvalidArgumentError: neither starting_artifacts nor starting_executions is set, or
            max_num_hops is negative.
    """
    which = message.WhichOneof("starting_nodes")
    if which is None:
        raise InvalidArgumentError(f"{field}: Missing arguments for listing starting nodes.",
                                   field=f"{field}.starting_nodes")
    hops = message.max_num_hops if message.HasField("max_num_hops") else MAX_LINEAGE_HOPS
    if hops < 0:
        raise InvalidArgumentError(f"{field}.max_num_hops cannot be negative: max_num_hops = {hops}",
                                   field=f"{field}.max_num_hops")
    starting = NodeSelector(filter_query=getattr(message, which).filter_query)
    return LineageSubgraphQueryOptions(
        starting_artifacts=starting if which == "starting_artifacts" else None,
        starting_executions=starting if which == "starting_executions" else None,
        max_num_hops=min(hops, MAX_LINEAGE_HOPS),
        direction=_DIRECTIONS[message.direction],
        ending_artifacts=_ending_nodes(message, "ending_artifacts"),
        ending_executions=_ending_nodes(message, "ending_executions"),
    )


def lineage_graph_query_options_from_proto(message: pb.LineageGraphQueryOptions,
                                           field: str = "options") -> LineageGraphQueryOptions:
    """MLMD's (deprecated) LineageGraphQueryOptions as graphmd's: artifacts_options with the
    server's page semantics (list_options_from_proto), stop conditions, max_node_size (default
    20; <= 0 means no limit).

    Raises:
        InvalidArgumentError: as list_options_from_proto for artifacts_options.
    """
    stop = message.stop_conditions
    return LineageGraphQueryOptions(
        artifacts_options=(list_options_from_proto(message.artifacts_options, f"{field}.artifacts_options")
                           if message.HasField("artifacts_options") else None),
        stop_conditions=BoundaryConstraint(
            max_num_hops=_optional(stop, "max_num_hops"),
            boundary_artifacts=_optional(stop, "boundary_artifacts"),
            boundary_executions=_optional(stop, "boundary_executions")),
        max_node_size=message.max_node_size if message.max_node_size > 0 else None,
    )


# --- dispatch -------------------------------------------------------------------------------

# Message class -> its converter, and model class -> its converter.
_FROM_PROTO: dict[type, Callable[[Any], Any]] = {
    pb.ArtifactType: artifact_type_from_proto,
    pb.ExecutionType: execution_type_from_proto,
    pb.ContextType: context_type_from_proto,
    pb.Artifact: artifact_from_proto,
    pb.Execution: execution_from_proto,
    pb.Context: context_from_proto,
    pb.Event: event_from_proto,
    pb.Attribution: attribution_from_proto,
    pb.Association: association_from_proto,
    pb.ParentContext: parent_context_from_proto,
    pb.LineageGraph: lineage_graph_from_proto,
    pb.Value: value_from_proto,
    # As ml-metadata's server reads it: an unset max_num_hops is its 100.
    pb.LineageSubgraphQueryOptions: lineage_subgraph_query_options_from_proto,
}
_TO_PROTO: dict[type, Callable[[Any], Any]] = {
    ArtifactType: artifact_type_to_proto,
    ExecutionType: execution_type_to_proto,
    ContextType: context_type_to_proto,
    Artifact: artifact_to_proto,
    Execution: execution_to_proto,
    Context: context_to_proto,
    Event: event_to_proto,
    Attribution: attribution_to_proto,
    Association: association_to_proto,
    ParentContext: parent_context_to_proto,
    LineageGraph: lineage_graph_to_proto,
}


def from_proto(message: Any) -> Any:
    """The graphmd model of any MLMD message this module converts.

    Raises:
        InvalidArgumentError: a message kind graphmd has no model for, or one the model cannot hold.
    """
    convert = _FROM_PROTO.get(type(message))
    if convert is None:
        raise InvalidArgumentError(f"no graphmd model for {type(message).__name__}", field="message")
    return convert(message)


def to_proto(model: Any) -> Any:
    """The MLMD message of any graphmd model this module converts.

    Raises:
        InvalidArgumentError: a model kind MLMD has no message for, or a value its message
            cannot hold (an int property beyond int64, which the model takes), naming it.
    """
    convert = _TO_PROTO.get(type(model))
    if convert is None:
        raise InvalidArgumentError(f"no MLMD message for {type(model).__name__}", field="model")
    return convert(model)


def many_from_proto(convert: Any, messages: Iterable[Any], field: str) -> list[Any]:
    """``convert`` applied to each message, each error naming ``field[i]``."""
    return [convert(m, f"{field}[{i}]") for i, m in enumerate(messages)]
