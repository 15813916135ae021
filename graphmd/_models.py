"""graphmd's data: MLMD's types, nodes and edges as plain pydantic models.

The models carry no behaviour; `MetadataStore` stores and reads them. Field names follow
MLMD's protos (ml_metadata/proto/metadata_store.proto), so an MLMD user reads them as
they know them. A field left ``None`` is "not set", as an unset proto field is.
"""

from __future__ import annotations

import base64
import binascii
import enum
from typing import Any, TypeVar, Union

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictBytes, StrictFloat, StrictInt, StrictStr,
                      ValidationInfo, field_serializer, field_validator)

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
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


class PropertyType(str, enum.Enum):
    """The declared kind of a type's property (MLMD's PropertyType)."""

    INT = "INT"
    DOUBLE = "DOUBLE"
    STRING = "STRING"
    STRUCT = "STRUCT"
    PROTO = "PROTO"
    BOOLEAN = "BOOLEAN"


class ProtoValue(_Model):
    """A serialized protocol buffer (google.protobuf.Any): its type URL and its bytes."""

    type_url: str
    value: StrictBytes = b""

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


# An int stays an int, a float a float, a bool a bool; a dict is a STRUCT value
# (a JSON object, as google.protobuf.Struct), a ProtoValue a PROTO value.
PropertyValue = Union[StrictBool, StrictInt, StrictFloat, StrictStr, ProtoValue, dict[str, Any]]


class ArtifactState(str, enum.Enum):
    """Artifact.State: where an artifact is in its life."""

    UNKNOWN = "UNKNOWN"
    PENDING = "PENDING"
    LIVE = "LIVE"
    MARKED_FOR_DELETION = "MARKED_FOR_DELETION"
    DELETED = "DELETED"
    ABANDONED = "ABANDONED"
    REFERENCE = "REFERENCE"


class ExecutionState(str, enum.Enum):
    """Execution.State: the last known state of a run of a component."""

    UNKNOWN = "UNKNOWN"
    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CACHED = "CACHED"
    CANCELED = "CANCELED"


class ArtifactBaseType(str, enum.Enum):
    """ArtifactType.SystemDefinedBaseType: the MLMD system type an artifact type extends."""

    DATASET = "DATASET"
    MODEL = "MODEL"
    METRICS = "METRICS"
    STATISTICS = "STATISTICS"


class ExecutionBaseType(str, enum.Enum):
    """ExecutionType.SystemDefinedBaseType: the MLMD system type an execution type extends."""

    TRAIN = "TRAIN"
    TRANSFORM = "TRANSFORM"
    PROCESS = "PROCESS"
    EVALUATE = "EVALUATE"
    DEPLOY = "DEPLOY"


class _Type(_Model):
    id: int | None = None
    name: str
    version: str | None = None
    description: str | None = None
    external_id: str | None = None
    properties: dict[str, PropertyType] = Field(default_factory=dict)


class ArtifactType(_Type):
    """The type of an artifact: its name, version and property schema."""

    base_type: ArtifactBaseType | None = None


class ExecutionType(_Type):
    """The type of an execution (a component), with its property schema.

    ``input_type`` / ``output_type`` hold MLMD's ArtifactStructType in protobuf's JSON form.
    """

    base_type: ExecutionBaseType | None = None
    input_type: dict[str, Any] | None = None
    output_type: dict[str, Any] | None = None


class ContextType(_Type):
    """The type of a context (a pipeline, a run, an experiment...)."""


class _Node(_Model):
    id: int | None = None
    type_id: int | None = None
    # The type's name; filled on read, ignored on write.
    type: str | None = None
    name: str | None = None
    external_id: str | None = None
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    custom_properties: dict[str, PropertyValue] = Field(default_factory=dict)
    create_time_since_epoch: int | None = None
    last_update_time_since_epoch: int | None = None
    system_metadata: ProtoValue | None = None


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
TypeT = TypeVar("TypeT", ArtifactType, ExecutionType, ContextType)


def stored_id(model: AnyNode | AnyType) -> int:
    """The id of a model the store returned or wrote, where it is always set (the field is
    optional only for a model not yet written)."""
    if model.id is None:
        raise ValueError(f"{type(model).__name__} {model.name!r} has no id: it was not written to the store")
    return model.id


class EventType(str, enum.Enum):
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

    artifact_id: int | None = None
    execution_id: int | None = None
    type: EventType | None = None
    path: list[PathStep] = Field(default_factory=list)
    milliseconds_since_epoch: int | None = None


class Attribution(_Model):
    """An artifact belongs to a context."""

    context_id: int
    artifact_id: int


class Association(_Model):
    """An execution belongs to a context."""

    context_id: int
    execution_id: int


class ParentContext(_Model):
    """A context (child) is part of another context (parent)."""

    child_id: int
    parent_id: int


class ArtifactAndEvent(_Model):
    """An artifact to upsert with put_execution and the event linking it to the execution.

    Either may be omitted: an artifact without an event is only upserted; an event without
    an artifact must name ``event.artifact_id``.
    """

    artifact: Artifact | None = None
    event: Event | None = None


class EventEdge(_Model):
    """An event of put_lineage_subgraph, naming its ends by position in the request's lists
    (``artifact_index`` / ``execution_index``) or by id in ``event``."""

    event: Event
    artifact_index: int | None = None
    execution_index: int | None = None


class OrderBy(str, enum.Enum):
    """The field a listing is sorted by (ties broken by id)."""

    CREATE_TIME = "CREATE_TIME"
    LAST_UPDATE_TIME = "LAST_UPDATE_TIME"
    ID = "ID"


class ListOptions(_Model):
    """How to list nodes: MLMD's ListOperationOptions.

    ``max_result_size`` None means no limit (MLMD's default page is 20 on the gRPC API;
    the Python API lists everything unless asked). ``filter_query`` is MLMD's filter
    language. ``next_page_token`` continues a listing where the previous page ended.
    """

    max_result_size: int | None = None
    order_by: OrderBy = OrderBy.ID
    is_asc: bool = True
    filter_query: str | None = None
    next_page_token: str | None = None


class Page(_Model):
    """One page of a listing and the token for the next one (None on the last page)."""

    items: list[Any]
    next_page_token: str | None = None


class LineageGraph(_Model):
    """A subgraph of the store: nodes, their types and the edges between them."""

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


class LineageDirection(str, enum.Enum):
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
    ids: list[int] | None = None
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

    starting_artifacts: NodeSelector | None = None
    starting_executions: NodeSelector | None = None
    max_num_hops: int | None = None
    direction: LineageDirection = LineageDirection.BIDIRECTIONAL
    ending_artifacts: EndingNodes | None = None
    ending_executions: EndingNodes | None = None


class BoundaryConstraint(_Model):
    """LineageGraphQueryOptions.BoundaryConstraint: the hop limit (None: no limit) and
    filters that nodes must satisfy to be visited (the rest prune the traversal)."""

    max_num_hops: int | None = None
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
