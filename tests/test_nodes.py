"""Artifacts, executions and contexts: insert, update (whole and masked), reads, errors."""

from __future__ import annotations

import math

import pytest

from _snapshot import snapshot
from graphmd import (
    AlreadyExistsError,
    Artifact,
    ArtifactState,
    ArtifactType,
    Context,
    ContextType,
    Execution,
    ExecutionState,
    ExecutionType,
    FailedPreconditionError,
    InvalidArgumentError,
    ListOptions,
    MetadataStore,
    NotFoundError,
    OrderBy,
    PropertyType,
    ProtoValue,
)
from graphmd import _codec as codec

P = PropertyType


@pytest.fixture
def types(store: MetadataStore) -> dict[str, int]:
    return {
        "data": store.put_artifact_type(ArtifactType(name="DataSet", properties={
            "day": P.INT, "split": P.STRING, "ratio": P.DOUBLE, "ok": P.BOOLEAN, "cfg": P.STRUCT, "pb": P.PROTO})),
        "model": store.put_artifact_type(ArtifactType(name="Model")),
        "trainer": store.put_execution_type(ExecutionType(name="Trainer", properties={"lr": P.DOUBLE})),
        "exp": store.put_context_type(ContextType(name="Experiment", properties={"note": P.STRING})),
    }


def test_values_round_trip_with_their_kinds(store: MetadataStore, types: dict[str, int]) -> None:
    props = {"day": 1, "split": "train", "ratio": 1.0, "ok": True, "cfg": {"a": 1, "b": [1, 2.5, "x"], "c": None},
             "pb": ProtoValue(type_url="type.googleapis.com/x.Y", value=b"\x00\x01\xff")}
    custom = {"i": 0, "f": 0.0, "b": False, "s": "", "u": "üñí\x00code", "nested": {"k": {"v": True}},
              "big": 2**63 - 1, "neg": -(2**63), "": "empty names are allowed, as in MLMD"}
    [aid] = store.put_artifacts([Artifact(type_id=types["data"], uri="/d", properties=props, custom_properties=custom)])
    [got] = store.get_artifacts_by_id([aid])
    assert got.properties == props and got.custom_properties == custom
    for name, value in {**props, **custom}.items():
        stored = got.properties.get(name, got.custom_properties.get(name))
        assert type(stored) is type(value), name
    assert got.type == "DataSet" and got.type_id == types["data"]
    assert got.create_time_since_epoch == got.last_update_time_since_epoch > 0


def test_struct_numbers_may_be_nan_or_infinite(store: MetadataStore, types: dict[str, int]) -> None:
    # google.protobuf.Struct holds them and ml-metadata stores them (a metrics dict with a NaN loss).
    metrics = {"loss": math.nan, "best": math.inf, "worst": -math.inf, "ok": 0.25}
    [aid] = store.put_artifacts([Artifact(type_id=types["data"], properties={"cfg": metrics},
                                          custom_properties={"m": {"nested": [math.nan]}})])
    [got] = store.get_artifacts_by_id([aid])
    loss, best, worst = (got.properties["cfg"][k] for k in ("loss", "best", "worst"))
    assert math.isnan(loss) and best == math.inf and worst == -math.inf and got.properties["cfg"]["ok"] == 0.25
    assert math.isnan(got.custom_properties["m"]["nested"][0])


@pytest.mark.parametrize("mask", [None, ["properties.ratio", "custom_properties.loss"]])
def test_an_update_that_changes_nothing_keeps_the_update_time_with_nan_values(
        store: MetadataStore, types: dict[str, int], mask: list[str] | None) -> None:
    """NaN is unequal to itself: a node holding one counted as changed by every update, so
    an unchanged put moved last_update_time_since_epoch (docs/data-model.md: only a change
    does), with or without a mask (the two paths compare on the server and in Python)."""
    [aid] = store.put_artifacts([Artifact(type_id=types["data"], uri="/nan", properties={"ratio": math.nan},
                                          custom_properties={"loss": math.nan, "ok": 1.0})])
    [before] = store.get_artifacts_by_id([aid])
    store.put_artifacts([before], field_mask_paths=mask)
    [after] = store.get_artifacts_by_id([aid])
    assert after.last_update_time_since_epoch == before.last_update_time_since_epoch
    store.put_artifacts([before.model_copy(update={"custom_properties": {"loss": 1.0, "ok": 1.0}})],
                        field_mask_paths=mask)
    [changed] = store.get_artifacts_by_id([aid])
    assert changed.custom_properties["loss"] == 1.0
    assert changed.last_update_time_since_epoch > before.last_update_time_since_epoch


def test_unset_and_empty_are_different(store: MetadataStore, types: dict[str, int]) -> None:
    a, b = store.put_artifacts([Artifact(type_id=types["model"]), Artifact(type_id=types["model"], uri="", name="")])
    got = {x.id: x for x in store.get_artifacts_by_id([a, b])}
    assert got[a].uri is None and got[a].name is None
    assert got[b].uri == "" and got[b].name == ""
    # An update without a uri leaves it unset, as an insert does (it stored "", ml-metadata's
    # form, which `graphmd serve` keeps); through a mask naming uri too.
    [c] = store.put_artifacts([Artifact(type_id=types["model"], uri="/to-clear")])
    store.put_artifacts([Artifact(id=a, type_id=types["model"], custom_properties={"k": 1}),
                         Artifact(id=c, type_id=types["model"])])
    [d] = store.put_artifacts([Artifact(type_id=types["model"], uri="/to-clear-masked")])
    store.put_artifacts([Artifact(id=d, type_id=types["model"])], field_mask_paths=["uri"])
    assert [x.uri for x in store.get_artifacts_by_id([a, c, d])] == [None, None, None]
    assert [x.id for x in store.get_artifacts(ListOptions(filter_query="uri = ''"))] == [b]


def test_reads(store: MetadataStore, types: dict[str, int]) -> None:
    ids = store.put_artifacts([
        Artifact(type_id=types["data"], uri="/a", name="a", external_id="ext-a"),
        Artifact(type_id=types["data"], uri="/b", name="b"),
        Artifact(type_id=types["model"], uri="/a", name="a"),  # names are unique per type only
    ])
    assert [a.id for a in store.get_artifacts()] == ids
    assert [a.id for a in store.get_artifacts_by_type("DataSet")] == ids[:2]
    assert store.get_artifacts_by_type("nope") == []
    assert store.get_artifact_by_type_and_name("Model", "a").id == ids[2]
    assert store.get_artifact_by_type_and_name("Model", "zz") is None
    assert [a.id for a in store.get_artifacts_by_uri("/a")] == [ids[0], ids[2]]
    assert [a.id for a in store.get_artifacts_by_uri(["/a", "/b"])] == ids
    assert [a.id for a in store.get_artifacts_by_external_ids(["ext-a", "zz"])] == [ids[0]]
    assert [a.id for a in store.get_artifacts_by_id([ids[1], 10**12])] == [ids[1]]
    arts, arts_types = store.get_artifacts_and_types_by_artifact_ids(ids)
    assert len(arts) == 3 and {t.name for t in arts_types} == {"DataSet", "Model"}


def test_list_options_order_and_pages(store: MetadataStore, types: dict[str, int]) -> None:
    ids = store.put_artifacts([Artifact(type_id=types["model"], name=str(i)) for i in range(7)])
    desc = store.get_artifacts(ListOptions(order_by=OrderBy.ID, is_asc=False))
    assert [a.id for a in desc] == ids[::-1]
    page = store.list_page(Artifact, ListOptions(max_result_size=3))
    seen = [a.id for a in page.items]
    while page.next_page_token:
        page = store.list_page(Artifact, ListOptions(max_result_size=3, next_page_token=page.next_page_token))
        seen += [a.id for a in page.items]
    assert seen == ids
    first = store.list_page(Artifact, ListOptions(max_result_size=2, order_by=OrderBy.CREATE_TIME, is_asc=False))
    with pytest.raises(InvalidArgumentError):  # a token is bound to the listing's options
        store.list_page(Artifact, ListOptions(max_result_size=2, next_page_token=first.next_page_token))
    with pytest.raises(InvalidArgumentError):
        store.list_page(Artifact, ListOptions(next_page_token="garbage!"))


def test_full_update_replaces_fields_and_bumps_time(store: MetadataStore, types: dict[str, int]) -> None:
    [aid] = store.put_artifacts([Artifact(type_id=types["data"], uri="/1", name="n",
                                          properties={"day": 1, "split": "a"}, custom_properties={"x": 1})])
    [before] = store.get_artifacts_by_id([aid])
    store.put_artifacts([Artifact(id=aid, uri="/2", name="renamed", state=ArtifactState.LIVE,
                                  properties={"day": 2}, custom_properties={"y": "z"})])
    [after] = store.get_artifacts_by_id([aid])
    assert after.uri == "/2" and after.state == ArtifactState.LIVE
    assert after.name == "n"  # as in MLMD, an artifact's name is fixed at creation
    assert after.properties == {"day": 2} and after.custom_properties == {"y": "z"}
    assert after.create_time_since_epoch == before.create_time_since_epoch
    assert after.last_update_time_since_epoch > before.last_update_time_since_epoch
    # The same update again, built by hand (no type name): nothing changes, nor the time.
    store.put_artifacts([Artifact(id=aid, uri="/2", state=ArtifactState.LIVE, properties={"day": 2},
                                  custom_properties={"y": "z"})])
    [again] = store.get_artifacts_by_id([aid])
    assert again.last_update_time_since_epoch == after.last_update_time_since_epoch


def test_update_with_the_stored_node_changes_nothing(store: MetadataStore, types: dict[str, int]) -> None:
    [aid] = store.put_artifacts([Artifact(type_id=types["data"], uri="/1", properties={"day": 1})])
    [stored] = store.get_artifacts_by_id([aid])
    store.put_artifacts([stored])
    assert store.get_artifacts_by_id([aid]) == [stored]


def test_masked_update(store: MetadataStore, types: dict[str, int]) -> None:
    [aid] = store.put_artifacts([Artifact(type_id=types["data"], uri="/1",
                                          properties={"day": 1, "split": "a"}, custom_properties={"x": 1, "y": 2})])
    store.put_artifacts([Artifact(id=aid, uri="/ignored", properties={"day": 5, "split": "ignored"},
                                  custom_properties={"x": 10})],
                        update_mask=["properties.day", "custom_properties.y"])
    [got] = store.get_artifacts_by_id([aid])
    assert got.uri == "/1"
    assert got.properties == {"day": 5, "split": "a"}
    assert got.custom_properties == {"x": 1}  # y masked and absent from the given node: removed
    store.put_artifacts([Artifact(id=aid, uri="/3")], update_mask=["uri"])
    assert store.get_artifacts_by_id([aid])[0].uri == "/3"
    # ml-metadata's Python client names the mask field_mask_paths: code written for it works.
    store.put_artifacts([Artifact(id=aid, uri="/4", properties={"day": 9})], field_mask_paths=["uri"])
    assert (store.get_artifacts_by_id([aid])[0].uri, store.get_artifacts_by_id([aid])[0].properties["day"]) == ("/4", 5)
    [xid] = store.put_executions([Execution(type_id=types["trainer"], name="a")])
    store.put_executions([Execution(id=xid, name="b", last_known_state=ExecutionState.COMPLETE)],
                         field_mask_paths=["last_known_state"])
    assert store.get_executions_by_id([xid])[0].last_known_state == ExecutionState.COMPLETE
    before = store.get_artifacts_by_id([aid])
    with pytest.raises(InvalidArgumentError) as info:
        store.put_artifacts([Artifact(id=aid, uri="/5")], update_mask=["uri"], field_mask_paths=["uri"])
    assert info.value.field == "field_mask_paths" and store.get_artifacts_by_id([aid]) == before


def test_abort_if_latest_updated_time_changed(store: MetadataStore, types: dict[str, int]) -> None:
    [aid] = store.put_artifacts([Artifact(type_id=types["model"], uri="/1")])
    [stored] = store.get_artifacts_by_id([aid])
    store.put_artifacts([stored.model_copy(update={"uri": "/2"})], abort_if_latest_updated_time_changed=True)
    with pytest.raises(FailedPreconditionError) as info:  # `stored` is now stale
        store.put_artifacts([stored.model_copy(update={"uri": "/3"})], abort_if_latest_updated_time_changed=True)
    assert info.value.field.endswith("last_update_time_since_epoch")
    assert store.get_artifacts_by_id([aid])[0].uri == "/2"


def test_executions_and_contexts(store: MetadataStore, types: dict[str, int]) -> None:
    [xid] = store.put_executions([Execution(type_id=types["trainer"], name="run1", properties={"lr": 0.1},
                                            last_known_state=ExecutionState.RUNNING)])
    store.put_executions([Execution(id=xid, properties={"lr": 0.1}, last_known_state=ExecutionState.COMPLETE)])
    [x] = store.get_executions_by_id([xid])
    assert x.last_known_state == ExecutionState.COMPLETE and x.name == "run1"
    assert store.get_execution_by_type_and_name("Trainer", "run1").id == xid
    assert [e.id for e in store.get_executions_by_type("Trainer")] == [xid]
    [cid] = store.put_contexts([Context(type_id=types["exp"], name="exp1", properties={"note": "n"})])
    store.put_contexts([Context(id=cid, name="exp1-renamed")])
    [c] = store.get_contexts_by_id([cid])
    assert c.name == "exp1-renamed" and c.properties == {}  # a context's name can change
    assert store.get_context_by_type_and_name("Experiment", "exp1-renamed").id == cid
    assert [c.id for c in store.get_contexts()] == [cid]


@pytest.mark.parametrize("bad, error, field", [
    (Artifact(), InvalidArgumentError, "artifacts[1].type_id"),
    (Artifact(type_id=10**9), NotFoundError, "artifacts[1].type_id"),
    (Artifact(type_id=-1, properties={"x": 1}), NotFoundError, "artifacts[1].type_id"),
    (Artifact(id=10**9, uri="/x"), InvalidArgumentError, "artifacts[1].id"),
    ("unknown-prop", InvalidArgumentError, "artifacts[1].properties['nope']"),
    ("wrong-kind", InvalidArgumentError, "artifacts[1].properties['day']"),
    ("int-as-double", InvalidArgumentError, "artifacts[1].properties['ratio']"),
    ("huge-int", InvalidArgumentError, "artifacts[1].custom_properties['n']"),
    ("nul-in-name", InvalidArgumentError, "artifacts[1].custom_properties['a\\x00']"),
    ("dup-name", AlreadyExistsError, "artifacts[1].name"),
    ("dup-external-id", AlreadyExistsError, "artifacts[1].external_id"),
    ("changed-type", InvalidArgumentError, "artifacts[1].type_id"),
])
def test_bad_artifacts_change_nothing(store: MetadataStore, types: dict[str, int], bad: object,
                                      error: type, field: str) -> None:
    [existing] = store.put_artifacts([Artifact(type_id=types["data"], name="taken", external_id="ext")])
    cases = {
        "unknown-prop": Artifact(type_id=types["data"], properties={"nope": 1}),
        "wrong-kind": Artifact(type_id=types["data"], properties={"day": "1"}),
        "int-as-double": Artifact(type_id=types["data"], properties={"ratio": 1}),
        "huge-int": Artifact(type_id=types["data"], custom_properties={"n": 2**63}),
        "nul-in-name": Artifact(type_id=types["data"], custom_properties={"a\x00": 1}),
        "dup-name": Artifact(type_id=types["data"], name="taken"),
        "dup-external-id": Artifact(type_id=types["model"], external_id="ext"),
        "changed-type": Artifact(id=existing, type_id=types["model"]),
    }
    bad_artifact = cases.get(bad, bad) if isinstance(bad, str) else bad
    before = snapshot(store)
    with pytest.raises(error) as info:
        # A good artifact first: the whole call must fail, not half of it.
        store.put_artifacts([Artifact(type_id=types["model"], uri="/good"), bad_artifact])
    assert info.value.field == field, info.value
    assert snapshot(store) == before


def test_context_needs_a_name(store: MetadataStore, types: dict[str, int]) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        store.put_contexts([Context(type_id=types["exp"], name="")])
    assert info.value.field == "contexts[0].name"
    [cid] = store.put_contexts([Context(type_id=types["exp"], name="c")])
    with pytest.raises(InvalidArgumentError):
        store.put_contexts([Context(id=cid)])


def test_type_grown_elsewhere_is_seen(store: MetadataStore, types: dict[str, int], neo4j_server) -> None:
    # Another process adds a property to a type this store has cached.
    store.put_artifacts([Artifact(type_id=types["model"])])
    with MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database) as other:
        other.put_artifact_type(ArtifactType(name="Model", properties={"acc": P.DOUBLE}), can_add_fields=True)
    [aid] = store.put_artifacts([Artifact(type_id=types["model"], properties={"acc": 0.9})])
    assert store.get_artifacts_by_id([aid])[0].properties == {"acc": 0.9}


def _deep_struct(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(("value", "said"), [
    ([1, 2], "list is no property value"),
    (None, "None is no property value"),
    ((1, "x"), "tuple is no property value"),
    (b"\x00\x01", "bytes is no property value"),
    ({1}, "set is no property value"),
    (object(), "object is no property value"),
    ({"a": {1: 2}}, "a key is int 1, not a string"),
    (_deep_struct(5000), f"nested more than {codec.MAX_STRUCT_DEPTH} levels deep"),
    ({"$proto": True, "type_url": "t", "value": "AA=="}, "is a PROTO value's, not a STRUCT"),
], ids=["list", "None", "tuple", "bytes", "set", "object", "int-key", "deep", "proto-form"])
@pytest.mark.parametrize("how", ["mutated", "model_construct", "execution", "declared"])
def test_values_no_model_would_hold_are_refused_at_write(store: MetadataStore, types: dict[str, int], value: object,
                                                        said: str, how: str) -> None:
    # pydantic validates a model when it is built and when a field is assigned, not when a
    # dict it holds is changed in place, nor under model_construct: the write checks again.
    if how == "execution":
        node: Artifact | Execution = Execution(type_id=types["trainer"])
        node.custom_properties["x"] = value  # type: ignore[assignment]
        put, field = store.put_executions, "executions[1].custom_properties['x']"
        first: Artifact | Execution = Execution(type_id=types["trainer"])
    else:
        if how == "model_construct":
            node = Artifact.model_construct(type_id=types["data"], properties={}, custom_properties={"x": value})
        else:
            node = Artifact(type_id=types["data"])
            (node.properties if how == "declared" else node.custom_properties)["x"] = value  # type: ignore[assignment]
        put = store.put_artifacts  # type: ignore[assignment]
        field = f"artifacts[1].{'properties' if how == 'declared' else 'custom_properties'}['x']"
        first = Artifact(type_id=types["model"], uri="/good")
    before = snapshot(store)
    with pytest.raises(InvalidArgumentError) as info:
        put([first, node])  # type: ignore[list-item]
    assert info.value.field == field and said in str(info.value), info.value
    assert snapshot(store) == before


def test_nan_and_proto_values_read_back_round_trip_through_json(store: MetadataStore,
                                                                 types: dict[str, int]) -> None:
    # What the store returns serialises and validates back to the same model: NaN and the
    # infinities (written as NaN, Infinity, -Infinity), a PROTO value (with its marker) and
    # a STRUCT shaped like a PROTO value's fields (a STRUCT, without the marker).
    lookalike = {"type_url": "x", "value": "AA=="}
    [aid] = store.put_artifacts([Artifact(
        type_id=types["data"], properties={"ratio": math.nan, "cfg": lookalike,
                                           "pb": ProtoValue(type_url="t", value=b"\xff\x00")},
        custom_properties={"inf": math.inf, "m": {"loss": -math.inf}},
        system_metadata=ProtoValue(type_url="t/s", value=b"\x01"))])
    [got] = store.get_artifacts_by_id([aid])
    for back in (Artifact.model_validate_json(got.model_dump_json()), Artifact.model_validate(got.model_dump()),
                 Artifact.model_validate(got.model_dump(mode="json"))):
        assert math.isnan(back.properties["ratio"])  # type: ignore[arg-type]
        assert back.properties["cfg"] == lookalike and type(back.properties["cfg"]) is dict
        assert back.properties["pb"] == ProtoValue(type_url="t", value=b"\xff\x00")
        assert back.custom_properties == {"inf": math.inf, "m": {"loss": -math.inf}}
        assert back.system_metadata == got.system_metadata
    # Read back and written again unchanged, the values pass the write's checks.
    assert store.put_artifacts([got]) == [aid]


def test_enum_numbers_as_mlmd_numbers_them(store: MetadataStore, types: dict[str, int]) -> None:
    [aid] = store.put_artifacts([Artifact(type_id=types["model"], state=ArtifactState(2))])
    [eid] = store.put_executions([Execution(type_id=types["trainer"], last_known_state=ExecutionState(3))])
    assert store.get_artifacts_by_id([aid])[0].state is ArtifactState.LIVE
    assert store.get_executions_by_id([eid])[0].last_known_state is ExecutionState.COMPLETE


def test_a_page_of_a_listing_holds_its_kind(store: MetadataStore, types: dict[str, int]) -> None:
    store.put_artifacts([Artifact(type_id=types["model"], uri=f"/m{i}") for i in range(3)])
    page = store.list_page(Artifact, ListOptions(max_result_size=2))
    assert [type(a) for a in page.items] == [Artifact, Artifact] and page.next_page_token
    from graphmd import Page

    assert Page[Artifact].model_validate_json(page.model_dump_json()) == page
