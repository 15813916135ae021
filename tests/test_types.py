"""Types: put with can_add_fields / can_omit_fields, versions, lookups, errors."""

from __future__ import annotations

import pytest

from _snapshot import snapshot
from graphmd import (
    AlreadyExistsError,
    ArtifactBaseType,
    ArtifactType,
    ContextType,
    ExecutionBaseType,
    ExecutionType,
    InvalidArgumentError,
    MetadataStore,
    NotFoundError,
    PropertyType,
    UnimplementedError,
)

INT, STRING, DOUBLE = PropertyType.INT, PropertyType.STRING, PropertyType.DOUBLE


def test_put_and_get_each_kind(store: MetadataStore) -> None:
    a = store.put_artifact_type(ArtifactType(name="Model", properties={"layers": INT}, description="a model"))
    e = store.put_execution_type(ExecutionType(name="Trainer", properties={"lr": DOUBLE}))
    c = store.put_context_type(ContextType(name="Pipeline", external_id="pipe"))
    assert len({a, e, c}) == 3  # one id space for all types, as MLMD's Type table
    got = store.get_artifact_type("Model")
    assert (got.id, got.name, got.properties, got.description) == (a, "Model", {"layers": INT}, "a model")
    assert store.get_execution_type("Trainer").properties == {"lr": DOUBLE}
    assert store.get_context_type("Pipeline").external_id == "pipe"
    assert [t.id for t in store.get_artifact_types_by_id([a, e, 10**9])] == [a]
    assert [t.id for t in store.get_context_types_by_external_ids(["pipe", "nope"])] == [c]
    assert [t.name for t in store.get_artifact_types()] == ["Model"]  # as MLMD, system types hidden
    names = [t.name for t in store.get_artifact_types(include_system_types=True)]
    assert "Model" in names and "mlmd.Dataset" in names
    assert [t.name for t in store.get_execution_types()] == ["Trainer"]
    assert [t.name for t in store.get_context_types()] == ["Pipeline"]


def test_put_same_type_is_idempotent(store: MetadataStore) -> None:
    t = ArtifactType(name="DataSet", properties={"day": INT, "split": STRING})
    assert store.put_artifact_type(t) == store.put_artifact_type(t)
    assert len([x for x in store.get_artifact_types() if x.name == "DataSet"]) == 1


def test_can_add_fields(store: MetadataStore) -> None:
    type_id = store.put_artifact_type(ArtifactType(name="DataSet", properties={"day": INT}))
    wider = ArtifactType(name="DataSet", properties={"day": INT, "split": STRING})
    with pytest.raises(AlreadyExistsError) as info:
        store.put_artifact_type(wider)
    assert "can_add_fields" in str(info.value)
    assert store.put_artifact_type(wider, can_add_fields=True) == type_id
    assert store.get_artifact_type("DataSet").properties == {"day": INT, "split": STRING}


def test_can_omit_fields(store: MetadataStore) -> None:
    type_id = store.put_execution_type(ExecutionType(name="T", properties={"a": INT, "b": INT}))
    narrower = ExecutionType(name="T", properties={"a": INT})
    with pytest.raises(AlreadyExistsError):
        store.put_execution_type(narrower)
    assert store.put_execution_type(narrower, can_omit_fields=True) == type_id
    # Omitting never deletes a stored property.
    assert store.get_execution_type("T").properties == {"a": INT, "b": INT}
    both = ExecutionType(name="T", properties={"a": INT, "c": STRING})
    assert store.put_execution_type(both, can_add_fields=True, can_omit_fields=True) == type_id
    assert store.get_execution_type("T").properties == {"a": INT, "b": INT, "c": STRING}


def test_changing_a_property_kind_is_refused(store: MetadataStore) -> None:
    store.put_artifact_type(ArtifactType(name="X", properties={"p": INT}))
    before = snapshot(store)
    with pytest.raises(AlreadyExistsError) as info:
        store.put_artifact_type(ArtifactType(name="X", properties={"p": STRING}), can_add_fields=True)
    assert info.value.field == "artifact_type.properties['p']"
    assert snapshot(store) == before


def test_versions_are_distinct_types(store: MetadataStore) -> None:
    v0 = store.put_artifact_type(ArtifactType(name="M", properties={"a": INT}))
    v1 = store.put_artifact_type(ArtifactType(name="M", version="v1", properties={"b": STRING}))
    assert v0 != v1
    assert store.get_artifact_type("M").properties == {"a": INT}
    assert store.get_artifact_type("M", "v1").properties == {"b": STRING}
    assert store.get_artifact_type("M", "v1").version == "v1"
    with pytest.raises(NotFoundError) as info:
        store.get_artifact_type("M", "v2")
    # The name is there, in other versions: said, so a missing version does not read as a missing type.
    assert info.value.field == "type_version" and "that name has unversioned, 'v1'" in info.value.message
    store.put_artifact_type(ArtifactType(name="OnlyVersioned", version="v1"))
    with pytest.raises(NotFoundError) as info:
        store.get_artifact_type("OnlyVersioned")
    assert "named 'OnlyVersioned' without a version; that name has 'v1'" in info.value.message


def test_unknown_type(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError) as info:
        store.get_context_type("nope")
    assert info.value.field == "type_name"


def test_base_types(store: MetadataStore) -> None:
    a = store.put_artifact_type(ArtifactType(name="MyModel", base_type=ArtifactBaseType.MODEL))
    e = store.put_execution_type(ExecutionType(name="MyTrainer", base_type=ExecutionBaseType.TRAIN))
    assert store.get_artifact_types_by_id([a])[0].base_type == ArtifactBaseType.MODEL
    assert store.get_execution_types_by_id([e])[0].base_type == ExecutionBaseType.TRAIN
    with pytest.raises(UnimplementedError):
        store.put_artifact_type(ArtifactType(name="MyModel", base_type=ArtifactBaseType.DATASET))


def test_a_system_type_cannot_be_its_own_base_type(store: MetadataStore) -> None:
    # As ml-metadata 1.17.1 ("There is a cycle detected"): the store stays unchanged.
    before = snapshot(store)
    for given, field in ((ArtifactType(name="mlmd.Dataset", base_type=ArtifactBaseType.DATASET), "artifact_type"),
                         (ExecutionType(name="mlmd.Train", base_type=ExecutionBaseType.TRAIN), "execution_type")):
        put = store.put_artifact_type if isinstance(given, ArtifactType) else store.put_execution_type
        with pytest.raises(InvalidArgumentError) as info:
            put(given)  # type: ignore[arg-type]
        assert info.value.field == f"{field}.base_type" and "own base type" in info.value.message
    assert snapshot(store) == before
    # Another system type as its base, or a versioned type of the same name, is no cycle.
    store.put_artifact_type(ArtifactType(name="mlmd.Dataset", version="v1", base_type=ArtifactBaseType.DATASET))


def test_external_id_update_and_uniqueness(store: MetadataStore) -> None:
    tid = store.put_artifact_type(ArtifactType(name="A", external_id="ext-a"))
    store.put_artifact_type(ArtifactType(name="A", external_id="ext-a2"))
    assert store.get_artifact_types_by_external_ids(["ext-a2"])[0].id == tid
    store.put_artifact_type(ArtifactType(name="C"))
    before = snapshot(store)
    with pytest.raises(AlreadyExistsError) as info:
        store.put_artifact_type(ArtifactType(name="B", external_id="ext-a2"))
    assert info.value.field == "artifact_type.external_id"
    # The type as the call holds it, as put_artifacts names artifacts[i].external_id; a new
    # type or an update of a stored one.
    for clashing in (ArtifactType(name="C", external_id="ext-a2"), ArtifactType(name="B2", external_id="ext-a2")):
        with pytest.raises(AlreadyExistsError) as info:
            store.put_types([ArtifactType(name="B"), clashing])
        assert info.value.field == "artifact_types[1].external_id" and "already exists" in info.value.message
    assert snapshot(store) == before


def test_put_types_is_one_transaction(store: MetadataStore) -> None:
    store.put_artifact_type(ArtifactType(name="Existing", properties={"p": INT}))
    before = snapshot(store)
    with pytest.raises(AlreadyExistsError):
        store.put_types(artifact_types=[ArtifactType(name="New1"), ArtifactType(name="Existing", properties={"p": STRING})],
                        execution_types=[ExecutionType(name="New2")])
    assert snapshot(store) == before
    a, e, c = store.put_types([ArtifactType(name="New1")], [ExecutionType(name="New2")], [ContextType(name="New3")])
    assert len(a) == len(e) == len(c) == 1


def test_empty_name_is_invalid(store: MetadataStore) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        store.put_artifact_type(ArtifactType(name=""))
    assert info.value.field == "artifact_type.name"


def test_property_name_with_nul_is_invalid(store: MetadataStore) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        store.put_artifact_type(ArtifactType(name="T", properties={"a\x00b": INT}))
    assert "NUL" in str(info.value)


def test_a_type_or_value_made_without_validation_is_checked_on_write(store: MetadataStore) -> None:
    """model_copy(update=...) and model_construct validate nothing: an input_type that is no
    ArtifactStructType was stored that way (breaking GetExecutionTypes and export-mlmd for
    the whole store), and so was a PROTO value without type_url."""
    from graphmd import Artifact, ArtifactType, ProtoValue

    bad = ExecutionType(name="CopyT").model_copy(update={"input_type": {"foo": 1}})
    with pytest.raises(InvalidArgumentError) as info:
        store.put_execution_type(bad)
    assert info.value.field == "execution_type.input_type" and "not an ArtifactStructType" in info.value.message
    with pytest.raises(InvalidArgumentError) as info:
        store.put_types(execution_types=[ExecutionType(name="Ok"), bad])
    assert info.value.field == "execution_types[1].input_type"
    t = store.put_artifact_type(ArtifactType(name="P"))
    with pytest.raises(InvalidArgumentError) as info:
        store.put_artifacts([Artifact(type_id=t, custom_properties={"p": ProtoValue.model_construct(type_url="",
                                                                                                  value=b"x")})])
    assert info.value.field.endswith(".type_url")
    assert store.get_execution_types() == [] or all(x.name != "CopyT" for x in store.get_execution_types())
