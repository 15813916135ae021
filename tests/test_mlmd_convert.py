"""MLMD protos <-> graphmd models: exact round trips both ways, and typed errors for what
graphmd cannot hold. Pure conversion: no Neo4j needed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from pydantic import ValidationError
from hypothesis import strategies as st

pytest.importorskip("ml_metadata")

from google.protobuf import any_pb2, json_format, struct_pb2  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from graphmd import (  # noqa: E402
    Artifact,
    ArtifactState,
    Event,
    EventType,
    ExecutionType,
    InvalidArgumentError,
    LineageGraph,
    OrderBy,
    ProtoValue,
    UnimplementedError,
)
from graphmd._models import LineageDirection  # noqa: E402
from graphmd.mlmd import _convert as cv  # noqa: E402

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.text())
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(), inner, max_size=3)), max_leaves=8)
PROPERTY_VALUES = st.one_of(
    st.booleans(), INT64, st.floats(allow_nan=False), st.text(),
    st.builds(ProtoValue, type_url=st.text(min_size=1), value=st.binary()),
    st.dictionaries(st.text(), JSON, max_size=4),
)


def _roundtrip_proto(message):
    """proto -> model -> proto must give the same message, byte for byte in meaning."""
    back = cv.to_proto(cv.from_proto(message))
    assert back == message, f"\n{message}\n!=\n{back}"
    return back


@given(PROPERTY_VALUES)
def test_property_values_keep_their_kind_both_ways(value):
    message = cv.value_to_proto(value)
    back = cv.value_from_proto(message)
    assert type(back) is type(value)
    assert back == value
    assert cv.value_to_proto(back) == message


def test_value_kinds_map_to_the_right_oneof():
    assert cv.value_to_proto(True).WhichOneof("value") == "bool_value"
    assert cv.value_to_proto(1).WhichOneof("value") == "int_value"
    assert cv.value_to_proto(1.0).WhichOneof("value") == "double_value"
    assert cv.value_to_proto("").WhichOneof("value") == "string_value"
    assert cv.value_to_proto({}).WhichOneof("value") == "struct_value"
    assert cv.value_to_proto(ProtoValue(type_url="t", value=b"")).WhichOneof("value") == "proto_value"
    assert math.isnan(cv.value_from_proto(pb.Value(double_value=float("nan"))))


def test_struct_numbers_are_doubles():
    struct = struct_pb2.Struct()
    struct.update({"n": 3, "nested": {"xs": [1, 2.5, None, True, "s"]}})
    data = cv.struct_from_proto(struct)
    assert data == {"n": 3.0, "nested": {"xs": [1.0, 2.5, None, True, "s"]}}
    assert isinstance(data["n"], float)
    assert cv.struct_to_proto(data) == struct


def test_empty_value_is_rejected_with_mlmds_message():
    with pytest.raises(InvalidArgumentError, match="Found unmatched property type: foo") as error:
        cv.artifact_from_proto(pb.Artifact(type_id=1, properties={"foo": pb.Value()}))
    assert error.value.field == "artifact.properties['foo']"


def test_artifact_presence_is_kept():
    bare = pb.Artifact()
    model = cv.artifact_from_proto(bare)
    assert model.id is None and model.uri is None and model.name is None and model.state is None
    assert cv.artifact_to_proto(model) == bare
    assert not cv.artifact_to_proto(model).HasField("uri")

    empty = pb.Artifact(id=0, type_id=0, name="", uri="", external_id="", state=pb.Artifact.UNKNOWN,
                        create_time_since_epoch=0, last_update_time_since_epoch=0)
    model = cv.artifact_from_proto(empty)
    assert model.uri == "" and model.name == "" and model.state is ArtifactState.UNKNOWN and model.id == 0
    _roundtrip_proto(empty)


def test_full_nodes_round_trip():
    any_value = any_pb2.Any(type_url="type.googleapis.com/x.Y", value=b"\x00\x01")
    artifact = pb.Artifact(
        id=7, type_id=3, type="Model", name="m", uri="gs://b/m", external_id="ext", state=pb.Artifact.LIVE,
        create_time_since_epoch=1, last_update_time_since_epoch=2, system_metadata=any_value,
        properties={"i": pb.Value(int_value=-5), "d": pb.Value(double_value=0.5)},
        custom_properties={"b": pb.Value(bool_value=False), "s": pb.Value(string_value=""),
                           "p": pb.Value(proto_value=any_value)},
    )
    artifact.custom_properties["st"].struct_value.update({"a": [1.0, "x"], "b": None})
    _roundtrip_proto(artifact)
    _roundtrip_proto(pb.Execution(id=1, type_id=2, name="run", last_known_state=pb.Execution.COMPLETE,
                                  properties={"x": pb.Value(int_value=1)}))
    _roundtrip_proto(pb.Context(id=1, type_id=2, name="pipeline", external_id="e",
                                custom_properties={"x": pb.Value(double_value=1.0)}))


def test_types_round_trip():
    artifact_type = pb.ArtifactType(id=1, name="Model", version="v1", description="d", external_id="e",
                                    base_type=pb.ArtifactType.MODEL,
                                    properties={n: getattr(pb, n) for n in
                                                ("INT", "DOUBLE", "STRING", "STRUCT", "PROTO", "BOOLEAN")})
    _roundtrip_proto(artifact_type)
    _roundtrip_proto(pb.ArtifactType(name="bare"))
    _roundtrip_proto(pb.ContextType(name="c", version=""))
    execution_type = pb.ExecutionType(name="Trainer", base_type=pb.ExecutionType.TRAIN)
    execution_type.input_type.dict.properties["examples"].simple.name = "Examples"
    execution_type.input_type.dict.properties["examples"].simple.id = 42
    execution_type.output_type.union_type.candidates.add().none.SetInParent()
    execution_type.output_type.union_type.candidates.add().any.SetInParent()
    back = _roundtrip_proto(execution_type)
    model = cv.execution_type_from_proto(back)
    assert model.input_type == {"dict": {"properties": {"examples": {"simple": {"id": "42", "name": "Examples"}}}}}


def test_type_errors():
    with pytest.raises(InvalidArgumentError) as error:
        cv.artifact_type_from_proto(pb.ArtifactType(name="t", properties={"p": pb.UNKNOWN}))
    assert error.value.field == "artifact_type.properties['p']"
    with pytest.raises(UnimplementedError):
        cv.artifact_type_from_proto(pb.ArtifactType(name="t", base_type=pb.ArtifactType.UNSET))
    with pytest.raises(UnimplementedError):
        cv.context_type_from_proto(pb.ContextType(name="t", base_type=pb.ContextType.UNSET))
    with pytest.raises(ValidationError):  # refused when the model is made, before any store sees it
        ExecutionType(name="t", input_type={"nonsense": 1})


STRUCT_TYPES_PARSED = [
    {}, {"simple": {"name": "Model"}}, {"any": {}}, {"none": {}},
    {"dict": {"properties": {"examples": {"simple": {"name": "Examples", "properties": {"span": "INT"},
                                                     "baseType": "DATASET", "id": "12"}}},
              "noneTypeNotRequired": True, "extraPropertiesType": {"any": {}}}},
    {"unionType": {"candidates": [{"none": {}}, {"simple": {"id": 3, "external_id": "x"}}]}},
    {"union_type": {"candidates": []}}, {"intersection": {"constraints": [{"any": {}}]}},
    {"list": {"element": {"tuple": {"elements": [{"simple": {"properties": {"p": 5}}}]}}}},
]
STRUCT_TYPES_REFUSED = [
    {"artifact_type": {"name": "Model"}}, {"simple": {"name": "Model"}, "any": {}}, {"simple": {"name": 3}},
    {"dict": {"properties": {"a": {"simple": {"properties": {"x": "FLOAT"}}}}}}, {"simple": {"id": True}},
    {"simple": {"id": "12a"}}, {"unionType": {"candidates": {"none": {}}}},
    {"dict": {"noneTypeNotRequired": "yes"}}, {"simple": {"baseType": "TRAIN"}}, {"none": {"x": 1}},
    {"simple": {"properties": {"p": 7}}},
]


@pytest.mark.parametrize("value", STRUCT_TYPES_PARSED)
def test_an_input_or_output_type_protobuf_parses_is_taken(value):
    json_format.ParseDict(value, pb.ArtifactStructType())  # the reference: protobuf's own parser
    assert ExecutionType(name="t", input_type=value, output_type=value).input_type == value


@pytest.mark.parametrize("value", STRUCT_TYPES_REFUSED)
def test_an_input_or_output_type_protobuf_refuses_is_refused_when_the_model_is_made(value):
    """One such type, written by the library, made every GetExecutionTypes and export-mlmd
    fail for the whole store."""
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(value, pb.ArtifactStructType())
    with pytest.raises(ValidationError) as info:
        ExecutionType(name="t", output_type=value)
    assert info.value.errors()[0]["loc"] == ("output_type",)
    assert "not an ArtifactStructType" in str(info.value)


def test_a_proto_value_needs_a_type_url():
    """ml-metadata stores an Any without one and then fails every read of its node."""
    with pytest.raises(InvalidArgumentError) as info:
        cv.value_from_proto(pb.Value(proto_value=any_pb2.Any(value=b"\x01")), "artifacts[0].custom_properties['p']")
    assert info.value.field == "artifacts[0].custom_properties['p'].proto_value"
    with pytest.raises(ValidationError):
        ProtoValue(type_url="", value=b"\x01")
    # An empty system_metadata is none (ml-metadata does not store it at all).
    message = pb.Artifact(type_id=1)
    message.system_metadata.SetInParent()
    assert cv.artifact_from_proto(message).system_metadata is None


def test_events_round_trip_with_paths():
    event = pb.Event(artifact_id=1, execution_id=2, type=pb.Event.OUTPUT, milliseconds_since_epoch=5)
    event.path.steps.add().key = "model"
    event.path.steps.add().index = 0
    model = cv.event_from_proto(event)
    assert model.path == ["model", 0] and model.type is EventType.OUTPUT
    _roundtrip_proto(event)
    _roundtrip_proto(pb.Event(type=pb.Event.INPUT))
    assert cv.event_from_proto(pb.Event(type=pb.Event.UNKNOWN)).type is None
    assert cv.event_to_proto(Event(artifact_id=1, execution_id=2, type=EventType.INPUT)).HasField("path") is False
    gappy = pb.Event()  # a step with neither index nor key is dropped, as MLMD stores the path
    gappy.path.steps.add(key="model")
    gappy.path.steps.add()
    gappy.path.steps.add(index=0)
    assert cv.event_from_proto(gappy).path == ["model", 0]


def test_links_require_both_ends():
    _roundtrip_proto(pb.Attribution(context_id=1, artifact_id=2))
    _roundtrip_proto(pb.Association(context_id=1, execution_id=2))
    _roundtrip_proto(pb.ParentContext(child_id=1, parent_id=2))
    for message, missing in ((pb.ParentContext(child_id=1), "parent_id"), (pb.Attribution(artifact_id=1), "context_id"),
                             (pb.Association(context_id=1), "execution_id")):
        with pytest.raises(InvalidArgumentError) as error:
            cv.from_proto(message)
        assert error.value.field.endswith(missing)


def test_lineage_graph_round_trip():
    graph = pb.LineageGraph()
    graph.artifact_types.add(id=1, name="A")
    graph.artifacts.add(id=2, type_id=1, uri="u")
    graph.executions.add(id=3, type_id=4)
    graph.contexts.add(id=5, type_id=6, name="c")
    graph.events.add(artifact_id=2, execution_id=3, type=pb.Event.INPUT)
    graph.attributions.add(context_id=5, artifact_id=2)
    graph.associations.add(context_id=5, execution_id=3)
    graph.parent_contexts.add(child_id=5, parent_id=5)
    model = cv.lineage_graph_from_proto(graph)
    assert isinstance(model, LineageGraph) and model.artifacts[0] == Artifact(id=2, type_id=1, uri="u")
    _roundtrip_proto(graph)


def test_list_options_follow_mlmds_server():
    options = pb.ListOperationOptions()
    options.order_by_field.is_asc = False
    converted = cv.list_options_from_proto(options)
    assert converted.max_result_size == 20 and converted.order_by is OrderBy.ID and not converted.is_asc
    assert cv.list_options_from_proto(pb.ListOperationOptions(max_result_size=1000)).max_result_size == 100
    with pytest.raises(InvalidArgumentError):
        cv.list_options_from_proto(pb.ListOperationOptions(max_result_size=0))
    unspecified = pb.ListOperationOptions()
    unspecified.order_by_field.field = pb.ListOperationOptions.OrderByField.FIELD_UNSPECIFIED
    with pytest.raises(InvalidArgumentError):
        cv.list_options_from_proto(unspecified)


def test_lineage_subgraph_options_follow_mlmds_server():
    options = pb.LineageSubgraphQueryOptions(
        starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(filter_query="uri = 'm'"))
    converted = cv.lineage_subgraph_query_options_from_proto(options)
    assert converted.starting_artifacts.filter_query == "uri = 'm'" and converted.starting_executions is None
    assert converted.max_num_hops == 100 and converted.direction is LineageDirection.BIDIRECTIONAL
    assert converted.ending_artifacts is None
    options.max_num_hops = 1000
    options.direction = pb.LineageSubgraphQueryOptions.UPSTREAM
    options.ending_executions.filter_query = "name = 'x'"
    options.ending_executions.include_ending_nodes = True
    converted = cv.lineage_subgraph_query_options_from_proto(options)
    assert converted.max_num_hops == 100 and converted.direction is LineageDirection.UPSTREAM
    assert converted.ending_executions.filter_query == "name = 'x'" and converted.ending_executions.include_ending_nodes
    options.max_num_hops = 0
    assert cv.lineage_subgraph_query_options_from_proto(options).max_num_hops == 0
    options.max_num_hops = -1
    with pytest.raises(InvalidArgumentError):
        cv.lineage_subgraph_query_options_from_proto(options)
    with pytest.raises(InvalidArgumentError):
        cv.lineage_subgraph_query_options_from_proto(pb.LineageSubgraphQueryOptions(max_num_hops=1))


def test_lineage_graph_options():
    options = pb.LineageGraphQueryOptions()
    options.artifacts_options.filter_query = "uri = 'm'"
    options.stop_conditions.max_num_hops = 3
    converted = cv.lineage_graph_query_options_from_proto(options)
    assert converted.artifacts_options.max_result_size == 20 and converted.artifacts_options.filter_query == "uri = 'm'"
    assert converted.stop_conditions.max_num_hops == 3 and converted.stop_conditions.boundary_artifacts is None
    assert converted.max_node_size == 20
    options.max_node_size = 0
    assert cv.lineage_graph_query_options_from_proto(options).max_node_size is None
