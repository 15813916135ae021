"""A stateful differential fuzz: Hypothesis drives the same sequence of ml_metadata client calls
against ml-metadata 1.17.1's own (in-process SQLite) store and against `graphmd serve`, and
every answer and every error class must match.

Ids and times differ between the stores: each side's ids are named by the order they were
created in (``a0``, ``x1``, ``ct2``: artifact, execution, context type ...), and create / update
times are dropped. Strings come from a tiny alphabet so that names, uris and external ids
collide often: collisions are where the stores' rules differ.

Where ml-metadata promises no order (lineage subgraphs, nodes of a context, contexts of a
node, parents / children) answers are compared as multisets; elsewhere as lists.
More examples for local hunting: GRAPHMD_FUZZ_EXAMPLES=2000.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

pytest.importorskip("ml_metadata")

import ml_metadata as mlmd  # noqa: E402
from google.protobuf import any_pb2, json_format, struct_pb2  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402
from ml_metadata.proto import metadata_store_service_pb2 as svc  # noqa: E402

from _grpc_helpers import client, running_server  # noqa: E402

EXAMPLES = int(os.environ.get("GRAPHMD_FUZZ_EXAMPLES", "60"))
STEPS = int(os.environ.get("GRAPHMD_FUZZ_STEPS", "30"))

KINDS = ("artifact", "execution", "context")
# The label prefix of each kind's node ids and type ids.
NODE, TYPE = {"artifact": "a", "execution": "x", "context": "c"}, {"artifact": "at", "execution": "et",
                                                                   "context": "ct"}
# Which fields of which message hold which kind of id.
ID_FIELDS = {
    "Artifact": {"id": "a", "type_id": "at"}, "Execution": {"id": "x", "type_id": "et"},
    "Context": {"id": "c", "type_id": "ct"}, "ArtifactType": {"id": "at"}, "ExecutionType": {"id": "et"},
    "ContextType": {"id": "ct"}, "Event": {"artifact_id": "a", "execution_id": "x"},
    "Attribution": {"artifact_id": "a", "context_id": "c"}, "Association": {"execution_id": "x", "context_id": "c"},
    "ParentContext": {"child_id": "c", "parent_id": "c"},
}
TIMES = ("create_time_since_epoch", "last_update_time_since_epoch", "milliseconds_since_epoch")
UNKNOWN_ID = 10**6

names = st.sampled_from(["n", "m", ""]) | st.none()
uris = st.sampled_from(["u", "v", ""]) | st.none()
external_ids = st.sampled_from(["e", "f"]) | st.none()
type_names = st.sampled_from(["A", "B"])
refs = st.integers(0, 5)  # an index into the nodes (or types) created so far; past the end: an unknown id
prop_types = st.sampled_from([pb.INT, pb.DOUBLE, pb.STRING, pb.STRUCT, pb.PROTO, pb.BOOLEAN])


def _struct(data: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


def _proto(uri: str) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(pb.Artifact(uri=uri))
    return packed


values = st.one_of(
    st.integers(-1, 2).map(lambda v: pb.Value(int_value=v)),
    st.sampled_from([0.0, 1.5, -2.0]).map(lambda v: pb.Value(double_value=v)),
    st.sampled_from(["", "s"]).map(lambda v: pb.Value(string_value=v)),
    st.booleans().map(lambda v: pb.Value(bool_value=v)),
    st.sampled_from([{}, {"k": 1.0}, {"k": ["s", True, None]}]).map(lambda v: pb.Value(struct_value=_struct(v))),
    st.sampled_from(["", "p"]).map(lambda v: pb.Value(proto_value=_proto(v))),
)
props = st.dictionaries(st.sampled_from(["p", "q", "r"]), values, max_size=2)
custom_props = st.dictionaries(st.sampled_from(["c", "p"]), values, max_size=2)
STATES = {"artifact": st.sampled_from([None, pb.Artifact.LIVE, pb.Artifact.DELETED, pb.Artifact.PENDING]),
          "execution": st.sampled_from([None, pb.Execution.RUNNING, pb.Execution.COMPLETE, pb.Execution.FAILED]),
          "context": st.none()}
MASK_PATHS = st.sampled_from(["uri", "name", "external_id", "state", "last_known_state", "properties",
                              "custom_properties", "properties.p", "custom_properties.c", "type_id"])
event_types = st.sampled_from([pb.Event.INPUT, pb.Event.OUTPUT, pb.Event.DECLARED_OUTPUT, pb.Event.INTERNAL_INPUT,
                               pb.Event.UNKNOWN])
paths = st.lists(st.one_of(st.integers(0, 1), st.sampled_from(["k", "l"])), max_size=2) | st.none()


@st.composite
def node_specs(draw: Any, kind: str) -> dict:
    """A node to put: new (of a type) or an update of an existing one (by index)."""
    spec = {"existing": draw(st.none() | refs), "type": draw(refs), "with_type": draw(st.booleans()),
            "name": draw(names), "external_id": draw(external_ids), "props": draw(props),
            "custom": draw(custom_props), "state": draw(STATES[kind])}
    if kind == "artifact":
        spec["uri"] = draw(uris)
    if kind == "context" and spec["existing"] is None and draw(st.booleans()):
        spec["name"] = draw(st.sampled_from(["n", "m"]))  # a new context needs a name, mostly
    return spec


class Side:
    """One store under test: its ml_metadata client and its ids, named by creation order."""

    def __init__(self, name: str, store: mlmd.MetadataStore) -> None:
        self.name, self.s = name, store
        self.ids: dict[str, list[int]] = {}
        self.labels: dict[tuple[str, int], str] = {}

    def register(self, prefix: str, ids: Any) -> list[str]:
        """Name the ids (new ones get the next label of their kind); returns their labels."""
        out = []
        for i in ids:
            key = (prefix, int(i))
            if key not in self.labels:
                known = self.ids.setdefault(prefix, [])
                self.labels[key] = f"{prefix}{len(known)}"
                known.append(int(i))
            out.append(self.labels[key])
        return out

    def ref(self, prefix: str, index: int) -> int:
        """The id of the index-th created node / type of a kind, or an id no one has."""
        known = self.ids.get(prefix, [])
        return known[index] if index < len(known) else UNKNOWN_ID + index

    def label(self, prefix: str, value: Any) -> str:
        return self.labels.get((prefix, int(value)), f"{prefix}?")

    def norm(self, x: Any) -> Any:
        """A result with ids as labels, times dropped, int64 strings as ints."""
        if isinstance(x, (list, tuple)):
            return [self.norm(i) for i in x]
        if hasattr(x, "DESCRIPTOR"):
            return self._message(x)
        return x

    def _message(self, msg: Any) -> Any:
        name = msg.DESCRIPTOR.name
        if name == "LineageGraph":
            return {field.name: _bag(self.norm(list(getattr(msg, field.name))))
                    for field in msg.DESCRIPTOR.fields}
        data = json_format.MessageToDict(msg, preserving_proto_field_name=True)
        for key in TIMES:
            data.pop(key, None)
        for key, prefix in ID_FIELDS.get(name, {}).items():
            if key in data:
                data[key] = self.label(prefix, data[key])
        return data


def _bag(items: list) -> list:
    """A list compared without its order (ml-metadata documents none)."""
    return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))


def _error(e: Exception) -> str:
    """The ml_metadata error's class name; anything else is a failure of its own."""
    if not type(e).__module__.startswith("ml_metadata"):
        raise e
    if isinstance(e, mlmd.errors.InternalError) and "UNIQUE constraint failed" in str(e):
        # A bug of ml-metadata 1.17.1: a clash it does not check for itself (a type's
        # external_id used by a type of another kind) leaks SQLite's constraint violation as
        # INTERNAL. graphmd answers ALREADY_EXISTS, as MLMD does for the clashes it checks.
        return "AlreadyExistsError"
    return type(e).__name__


class Differential(RuleBasedStateMachine):
    """The same calls on both stores; the answers (or error classes) must be the same."""

    graphmd_store: Any = None
    graphmd_client: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.graphmd_store.delete_everything()
        self.sides = [Side("mlmd", mlmd.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig()))),
                      Side("graphmd", self.graphmd_client)]

    def both(self, label: str, fn: Any, *, clash_found_late: bool = False) -> None:
        """Call ``fn`` on each side; the answers, or the error classes, must be the same.

        ``clash_found_late``: a write (of nodes, or a type) that both stores refuse may be
        refused as ALREADY_EXISTS by one and otherwise by the other. Left as it is: graphmd
        finds a name or external_id taken by a stored node or type when it writes, after
        checking every part of the request, where MLMD meets it part by part; both store
        nothing."""
        out = []
        for side in self.sides:
            try:
                out.append(("ok", fn(side)))
            except Exception as e:  # compared by class
                out.append(("error", _error(e)))
        if clash_found_late and out[0][0] == out[1][0] == "error" and "AlreadyExistsError" in (out[0][1], out[1][1]):
            return
        assert out[0] == out[1], f"{label}:\n  mlmd:    {out[0]}\n  graphmd: {out[1]}"

    # --- types ------------------------------------------------------------------------------

    @initialize()
    def base_types(self) -> None:
        for kind in KINDS:
            self.both(f"put {kind} type T", lambda s, kind=kind: s.register(TYPE[kind], [getattr(
                s.s, f"put_{kind}_type")(getattr(pb, f"{kind.capitalize()}Type")(
                    name="T", properties={"p": pb.INT, "q": pb.STRING}))]))

    @rule(kind=st.sampled_from(KINDS), name=type_names, properties=st.dictionaries(
        st.sampled_from(["p", "q", "r"]), prop_types, max_size=3), version=st.sampled_from([None, "v"]),
        description=st.sampled_from([None, "d"]), external_id=st.sampled_from([None, "te", "tf"]),
        base_type=st.integers(0, 3), add=st.booleans(), omit=st.booleans(), delete=st.booleans())
    def put_type(self, kind: str, name: str, properties: dict, version: str | None, description: str | None,
                 external_id: str | None, base_type: int, add: bool, omit: bool, delete: bool) -> None:
        message = getattr(pb, f"{kind.capitalize()}Type")(name=name, properties=properties)
        for field, value in (("version", version), ("description", description), ("external_id", external_id)):
            if value is not None:
                setattr(message, field, value)
        if base_type and kind != "context":
            bases = message.SystemDefinedBaseType.values()
            message.base_type = bases[base_type % len(bases)]
        method = f"Put{kind.capitalize()}Type"
        request = getattr(svc, method + "Request")(can_add_fields=add, can_omit_fields=omit, can_delete_fields=delete)
        getattr(request, f"{kind}_type").CopyFrom(message)

        def put(s: Side) -> list[str]:
            response = getattr(svc, method + "Response")()
            s.s._call(method, request, response)
            return s.register(TYPE[kind], [response.type_id])
        self.both(f"put {kind} type {message}", put, clash_found_late=True)

    @rule(kind=st.sampled_from(KINDS), name=st.sampled_from(["A", "B", "T", "mlmd.Dataset"]),
          version=st.sampled_from([None, "v"]))
    def get_type(self, kind: str, name: str, version: str | None) -> None:
        self.both(f"get {kind} type {name} {version}",
                  lambda s: s.norm(getattr(s.s, f"get_{kind}_type")(name, version)))

    @rule(kind=st.sampled_from(KINDS))
    def get_types(self, kind: str) -> None:
        # external_id left out: ml-metadata 1.17.1 drops it from Get*Types (its query for all
        # types selects no external_id column) though it answers it by id, name and external
        # id; graphmd answers every type whole everywhere.
        self.both(f"get {kind} types", lambda s: [{k: v for k, v in t.items() if k != "external_id"}
                                                   for t in s.norm(getattr(s.s, f"get_{kind}_types")())])

    @rule(kind=st.sampled_from(KINDS), which=st.lists(refs, max_size=3))
    def get_types_by_id(self, kind: str, which: list[int]) -> None:
        self.both(f"get {kind} types by id {which}", lambda s: s.norm(getattr(s.s, f"get_{kind}_types_by_id")(
            [s.ref(TYPE[kind], i) for i in which])))

    @rule(kind=st.sampled_from(KINDS), which=st.lists(st.sampled_from(["te", "tf", "zz"]), max_size=2))
    def get_types_by_external_ids(self, kind: str, which: list[str]) -> None:
        # base_type left out: ml-metadata 1.17.1 drops it from Get*TypesByExternalIds (not
        # from the other type reads); graphmd answers every type whole everywhere.
        self.both(f"get {kind} types by external ids {which}",
                  lambda s: [{k: v for k, v in t.items() if k != "base_type"}
                             for t in s.norm(getattr(s.s, f"get_{kind}_types_by_external_ids")(which))])

    # --- nodes: writes ----------------------------------------------------------------------

    def node(self, s: Side, kind: str, spec: dict) -> Any:
        message = getattr(pb, kind.capitalize())()
        if spec["existing"] is not None:
            message.id = s.ref(NODE[kind], spec["existing"])
        if spec["existing"] is None or spec["with_type"]:
            message.type_id = s.ref(TYPE[kind], spec["type"])
        for field in ("name", "uri", "external_id"):
            if spec.get(field) is not None:
                setattr(message, field, spec[field])
        if spec["state"] is not None:
            setattr(message, "state" if kind == "artifact" else "last_known_state", spec["state"])
        for key, value in spec["props"].items():
            message.properties[key].CopyFrom(value)
        for key, value in spec["custom"].items():
            message.custom_properties[key].CopyFrom(value)
        return message

    @rule(data=st.data(), kind=st.sampled_from(KINDS), mask=st.none() | st.lists(MASK_PATHS, min_size=1, max_size=2))
    def put_nodes(self, data: Any, kind: str, mask: list[str] | None) -> None:
        specs = data.draw(st.lists(node_specs(kind), min_size=1, max_size=3))

        def put(s: Side) -> list[str]:
            messages = [self.node(s, kind, spec) for spec in specs]
            return s.register(NODE[kind], getattr(s.s, f"put_{kind}s")(messages, field_mask_paths=mask))
        self.both(f"put {kind}s {specs} mask {mask}", put, clash_found_late=True)

    def event(self, s: Side, spec: tuple) -> pb.Event:
        artifact, execution, event_type, path = spec
        event = pb.Event(type=event_type)
        if artifact is not None:
            event.artifact_id = s.ref("a", artifact)
        if execution is not None:
            event.execution_id = s.ref("x", execution)
        for step in path or []:
            if isinstance(step, int):
                event.path.steps.add(index=step)
            else:
                event.path.steps.add(key=step)
        return event

    @rule(specs=st.lists(st.tuples(refs, refs, event_types, paths), min_size=1, max_size=3))
    def put_events(self, specs: list) -> None:
        self.both(f"put events {specs}", lambda s: s.s.put_events([self.event(s, spec) for spec in specs]))

    @rule(data=st.data(), reuse_context=st.booleans(), reuse_artifact=st.booleans())
    def put_execution(self, data: Any, reuse_context: bool, reuse_artifact: bool) -> None:
        execution = data.draw(node_specs("execution"))
        pairs = data.draw(st.lists(st.tuples(node_specs("artifact"), st.none() | st.tuples(
            st.none() | refs, st.none() | refs, event_types, paths)), max_size=3))
        contexts = data.draw(st.lists(node_specs("context"), max_size=2))

        def put(s: Side) -> list:
            x, a, c = s.s.put_execution(
                self.node(s, "execution", execution),
                [(self.node(s, "artifact", artifact), None if event is None else self.event(s, event))
                 for artifact, event in pairs],
                [self.node(s, "context", context) for context in contexts],
                reuse_context_if_already_exist=reuse_context,
                reuse_artifact_if_already_exist_by_external_id=reuse_artifact)
            return [s.register("x", [x]), s.register("a", a), s.register("c", c)]
        self.both(f"put_execution {execution} {pairs} {contexts} {reuse_context} {reuse_artifact}", put,
                  clash_found_late=True)

    @rule(data=st.data(), reuse_context=st.booleans(), reuse_artifact=st.booleans())
    def put_lineage_subgraph(self, data: Any, reuse_context: bool, reuse_artifact: bool) -> None:
        executions = data.draw(st.lists(node_specs("execution"), max_size=2))
        artifacts = data.draw(st.lists(node_specs("artifact"), max_size=2))
        contexts = data.draw(st.lists(node_specs("context"), max_size=2))
        edges = data.draw(st.lists(st.tuples(st.none() | st.integers(0, 2), st.none() | st.integers(0, 2),
                                             st.tuples(st.none(), st.none(), event_types, paths)), max_size=3))

        def put(s: Side) -> list:
            x, a, c = s.s.put_lineage_subgraph(
                [self.node(s, "execution", spec) for spec in executions],
                [self.node(s, "artifact", spec) for spec in artifacts],
                [self.node(s, "context", spec) for spec in contexts],
                [(xi, ai, self.event(s, event)) for xi, ai, event in edges],
                reuse_context_if_already_exist=reuse_context,
                reuse_artifact_if_already_exist_by_external_id=reuse_artifact)
            return [s.register("x", x), s.register("a", a), s.register("c", c)]
        self.both(f"put_lineage_subgraph {executions} {artifacts} {contexts} {edges} {reuse_context} "
                  f"{reuse_artifact}", put, clash_found_late=True)

    @rule(attributions=st.lists(st.tuples(refs, refs), max_size=2),
          associations=st.lists(st.tuples(refs, refs), max_size=2))
    def put_attributions_and_associations(self, attributions: list, associations: list) -> None:
        self.both(f"put attributions {attributions} associations {associations}",
                  lambda s: s.s.put_attributions_and_associations(
                      [pb.Attribution(context_id=s.ref("c", c), artifact_id=s.ref("a", a)) for c, a in attributions],
                      [pb.Association(context_id=s.ref("c", c), execution_id=s.ref("x", x)) for c, x in associations]))

    @rule(links=st.lists(st.tuples(refs, refs), min_size=1, max_size=2))
    def put_parent_contexts(self, links: list) -> None:
        self.both(f"put parent contexts {links}", lambda s: s.s.put_parent_contexts(
            [pb.ParentContext(child_id=s.ref("c", c), parent_id=s.ref("c", p)) for c, p in links]))

    # --- nodes: reads -----------------------------------------------------------------------

    @rule(kind=st.sampled_from(KINDS), which=st.lists(refs, max_size=4))
    def get_by_id(self, kind: str, which: list[int]) -> None:
        self.both(f"get {kind}s by id {which}", lambda s: s.norm(getattr(s.s, f"get_{kind}s_by_id")(
            [s.ref(NODE[kind], i) for i in which])))

    @rule(kind=st.sampled_from(KINDS), name=st.sampled_from(["A", "B", "T"]), version=st.sampled_from([None, "v"]))
    def get_by_type(self, kind: str, name: str, version: str | None) -> None:
        self.both(f"get {kind}s by type {name} {version}",
                  lambda s: s.norm(getattr(s.s, f"get_{kind}s_by_type")(name, version)))

    @rule(kind=st.sampled_from(KINDS), name=st.sampled_from(["A", "T"]), node=st.sampled_from(["n", "m", ""]),
          version=st.sampled_from([None, "v"]))
    def get_by_type_and_name(self, kind: str, name: str, node: str, version: str | None) -> None:
        self.both(f"get {kind} by type and name {name} {node} {version}",
                  lambda s: s.norm(getattr(s.s, f"get_{kind}_by_type_and_name")(name, node, version)))

    @rule(which=st.lists(st.sampled_from(["u", "v", ""]), max_size=2))
    def get_artifacts_by_uri(self, which: list[str]) -> None:
        def get(s: Side) -> list:
            response = svc.GetArtifactsByURIResponse()
            s.s._call("GetArtifactsByURI", svc.GetArtifactsByURIRequest(uris=which), response)
            return s.norm(list(response.artifacts))
        self.both(f"get artifacts by uris {which}", get)

    @rule(kind=st.sampled_from(KINDS), which=st.lists(st.sampled_from(["e", "f", "g"]), max_size=2))
    def get_by_external_ids(self, kind: str, which: list[str]) -> None:
        self.both(f"get {kind}s by external ids {which}",
                  lambda s: s.norm(getattr(s.s, f"get_{kind}s_by_external_ids")(which)))

    @rule(kind=st.sampled_from(["artifact", "execution"]), context=refs)
    def get_by_context(self, kind: str, context: int) -> None:
        self.both(f"get {kind}s by context {context}", lambda s: _bag(s.norm(getattr(s.s, f"get_{kind}s_by_context")(
            s.ref("c", context)))))

    @rule(kind=st.sampled_from(["artifact", "execution"]), node=refs)
    def get_contexts_by_node(self, kind: str, node: int) -> None:
        self.both(f"get contexts by {kind} {node}", lambda s: _bag(s.norm(getattr(s.s, f"get_contexts_by_{kind}")(
            s.ref(NODE[kind], node)))))

    @rule(relation=st.sampled_from(["parent", "children"]), context=refs)
    def get_related_contexts(self, relation: str, context: int) -> None:
        self.both(f"get {relation} contexts of {context}", lambda s: _bag(s.norm(getattr(
            s.s, f"get_{relation}_contexts_by_context")(s.ref("c", context)))))

    # Get{Parent,Children}ContextsByContexts: not compared, ml-metadata's in-process store
    # (the reference here) has no such call; tests/test_grpc_differential.py covers them.

    @rule(kind=st.sampled_from(["artifact", "execution"]), which=st.lists(refs, max_size=3))
    def get_events(self, kind: str, which: list[int]) -> None:
        self.both(f"get events by {kind} ids {which}", lambda s: s.norm(getattr(s.s, f"get_events_by_{kind}_ids")(
            [s.ref(NODE[kind], i) for i in which])))

    @rule(kind=st.sampled_from(KINDS), order=st.sampled_from([None, "CREATE_TIME", "LAST_UPDATE_TIME", "ID"]),
          is_asc=st.booleans(), size=st.integers(1, 4),
          query=st.sampled_from([None, "uri = 'u'", "name = 'n'", "external_id = 'e'", "type = 'T'",
                                 "custom_properties.c.int_value > 0", "properties.p.int_value = 1"]))
    def list_pages(self, kind: str, order: str | None, is_asc: bool, size: int, query: str | None) -> None:
        method = f"Get{kind.capitalize()}s"

        def pages(s: Side) -> list:
            options = pb.ListOperationOptions(max_result_size=size)
            if order is not None:
                options.order_by_field.field = getattr(pb.ListOperationOptions.OrderByField, order)
                options.order_by_field.is_asc = is_asc
            if query is not None:
                options.filter_query = query
            out = []
            for _ in range(20):
                response = getattr(svc, method + "Response")()
                s.s._call(method, getattr(svc, method + "Request")(options=options), response)
                out.append(s.norm(list(getattr(response, f"{kind}s"))))
                if not response.next_page_token:
                    break
                options.next_page_token = response.next_page_token
            return out
        self.both(f"list {kind}s order {order} asc {is_asc} size {size} filter {query}", pages)

    @rule(start=st.sampled_from(["uri = 'u'", "name = 'n'", "type = 'T'", "external_id = 'e'"]),
          hops=st.integers(0, 3), direction=st.sampled_from([None, "DOWNSTREAM", "UPSTREAM", "BIDIRECTIONAL"]),
          executions=st.booleans())
    def get_lineage_subgraph(self, start: str, hops: int, direction: str | None, executions: bool) -> None:
        options = pb.LineageSubgraphQueryOptions(max_num_hops=hops)
        if direction is not None:
            options.direction = getattr(pb.LineageSubgraphQueryOptions.Direction, direction)
        (options.starting_executions if executions else options.starting_artifacts).filter_query = start
        self.both(f"get lineage subgraph {options}", lambda s: s.norm(s.s.get_lineage_subgraph(options)))


@pytest.mark.slow
def test_same_answers_as_mlmd_through_any_sequence_of_calls(store):
    with running_server(store) as server:
        Differential.graphmd_store, Differential.graphmd_client = store, client(server.port)
        run_state_machine_as_test(Differential, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
            suppress_health_check=list(HealthCheck)))
