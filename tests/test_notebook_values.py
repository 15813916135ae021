"""Property values as a notebook hands them over: numpy scalars (what pandas and scikit-learn
hand back) as the Python values they hold, and one clear error for None."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from graphmd import (
    Artifact,
    ArtifactType,
    Execution,
    ExecutionState,
    ExecutionType,
    InvalidArgumentError,
    MetadataStore,
    PropertyType,
)
from graphmd._pipeline import find_cached_execution, record_execution


@pytest.fixture
def np() -> ModuleType:
    """numpy, which graphmd does not depend on: these tests need it installed."""
    return pytest.importorskip("numpy")


# --- numpy scalars ----------------------------------------------------------------------------


def test_numpy_scalars_are_the_python_values_they_hold(np: Any) -> None:
    execution = Execution(type_id=1, properties={"epochs": np.int64(20)},
                          custom_properties={"shuffle": np.bool_(False), "lr": np.float32(0.5), "n": np.int8(-3),
                                             "big": np.uint64(2**64 - 1), "mean": np.float64(0.25),
                                             "label": np.str_("cat")})
    values = {**execution.properties, **execution.custom_properties}
    # Before: 20.0, 0.0, ... (pydantic's float took every numpy number), 1.8446744073709552e+19.
    assert {k: (type(v), v) for k, v in values.items()} == {
        "epochs": (int, 20), "shuffle": (bool, False), "lr": (float, 0.5), "n": (int, -3),
        "big": (int, 2**64 - 1), "mean": (float, 0.25), "label": (str, "cat")}
    # Python's own values stay what they are: a bool is no int, an int no float.
    plain = Artifact(custom_properties={"b": True, "i": 1, "f": 1.0})
    assert [type(v) for v in plain.custom_properties.values()] == [bool, int, float]
    # Assigned after construction: validated again.
    execution.properties = {"epochs": np.int32(7)}
    assert type(execution.properties["epochs"]) is int


@pytest.mark.parametrize("value, said", [([1, 2], "a list is no property value"), ((1,), "a tuple is no property value"),
                                         ({1: 2}, "a STRUCT's keys are text, not int (1)")])
def test_a_list_or_a_struct_with_other_keys_is_refused_in_one_error(value: Any, said: str) -> None:
    """A list got six errors, one per value kind pydantic tried (bool_type, int_type, ...)."""
    with pytest.raises(ValidationError) as caught:
        Artifact(custom_properties={"x": value})
    [error] = caught.value.errors()
    assert error["loc"] == ("custom_properties", "x") and said in error["msg"], error


@pytest.mark.parametrize("make", [lambda np: np.complex128(1 + 2j), lambda np: np.datetime64("2020-01-01"),
                                  lambda np: np.timedelta64(5, "s"), lambda np: np.bytes_(b"x")],
                         ids=["complex", "datetime64", "timedelta64", "bytes_"])
def test_other_numpy_scalars_are_refused_in_one_error(np: Any, make: Any) -> None:
    # A complex was taken as its real part (1.0); a timedelta64 raised TypeError.
    value = make(np)
    with pytest.raises(ValidationError) as caught:
        Artifact(custom_properties={"x": value})
    [error] = caught.value.errors()
    assert error["loc"] == ("custom_properties", "x")
    assert f"numpy {type(value).__name__} is no property value" in error["msg"]


def test_numpy_values_are_stored_as_their_kind(store: MetadataStore, np: Any) -> None:
    trainer = store.put_execution_type(ExecutionType(name="Trainer", properties={"epochs": PropertyType.INT,
                                                                                 "early": PropertyType.BOOLEAN}))
    data = store.put_artifact_type(ArtifactType(name="Data"))
    # Before: put_executions said "declares INT, got DOUBLE".
    [xid] = store.put_executions([Execution(type_id=trainer, properties={"epochs": np.int64(20),
                                                                         "early": np.bool_(True)})])
    [aid] = store.put_artifacts([Artifact(type_id=data, custom_properties={"n": np.int64(3), "off": np.bool_(False)})])
    [execution] = store.get_executions_by_id([xid])
    [artifact] = store.get_artifacts_by_id([aid])
    assert {k: (type(v), v) for k, v in execution.properties.items()} == {"epochs": (int, 20), "early": (bool, True)}
    assert {k: (type(v), v) for k, v in artifact.custom_properties.items()} == {"n": (int, 3), "off": (bool, False)}
    # An integer beyond int64 is refused, naming the property; nothing is written.
    with pytest.raises(InvalidArgumentError) as caught:
        store.put_artifacts([Artifact(type_id=data, custom_properties={"big": np.uint64(2**64 - 1)})])
    assert caught.value.field == "artifacts[0].custom_properties['big']"
    assert [a.id for a in store.get_artifacts()] == [aid]


def test_numpy_values_set_in_place_are_stored_as_their_kind(store: MetadataStore, np: Any) -> None:
    """A dict changed in place is not validated again (``model.custom_properties["n"] =
    np.int64(3)``, the notebook's way): the write takes a numpy scalar as the value it holds,
    as validation would have, and refuses any other numpy value, naming it, writing nothing."""
    data = store.put_artifact_type(ArtifactType(name="Data"))
    trainer = store.put_execution_type(ExecutionType(name="Trainer", properties={"epochs": PropertyType.INT}))
    artifact = Artifact(type_id=data)
    values = {"n": np.int64(3), "ok": np.bool_(True), "loss": np.float32(0.5), "acc": np.float64(0.25)}
    artifact.custom_properties.update(values)
    # Before: refused as "int64 is no property value" (np.float64, a float subclass, passed).
    [aid] = store.put_artifacts([artifact])
    [stored] = store.get_artifacts_by_id([aid])
    assert {k: (type(v), v) for k, v in stored.custom_properties.items()} == {
        "n": (int, 3), "ok": (bool, True), "loss": (float, 0.5), "acc": (float, 0.25)}
    assert {k: type(v) for k, v in artifact.custom_properties.items()} == {"n": int, "ok": bool, "loss": float,
                                                                          "acc": float}
    # A declared INT property set in place from numpy, through put_execution.
    execution = Execution(type_id=trainer)
    execution.properties["epochs"] = np.int64(20)
    xid, _, _ = store.put_execution(execution, [], [])
    [recorded] = store.get_executions_by_id([xid])
    assert (type(recorded.properties["epochs"]), recorded.properties["epochs"]) == (int, 20)
    # Another numpy kind set in place: one error naming it, nothing written.
    artifact = Artifact(type_id=data)
    artifact.custom_properties["z"] = np.complex128(1 + 2j)
    with pytest.raises(InvalidArgumentError) as caught:
        store.put_artifacts([artifact])
    assert caught.value.field == "artifacts[0].custom_properties['z']"
    assert "numpy complex128 is no property value" in str(caught.value)
    assert [a.id for a in store.get_artifacts()] == [aid]


def test_numpy_arrays_and_numpy_inside_a_struct_are_taken_as_python_values(store: MetadataStore, np: Any) -> None:
    """A 0-d array is the scalar it holds (not a float: np.array(3) was stored as 3.0); an
    array of more dimensions is refused at the top (MLMD has no list value) and taken as its
    tolist() in a STRUCT, where numpy scalars too are their Python values, whether the model
    saw them or they were set in place."""
    data = store.put_artifact_type(ArtifactType(name="Data"))
    assert Artifact(custom_properties={"n": np.array(3)}).custom_properties == {"n": 3}
    with pytest.raises(ValidationError) as caught:
        Artifact(custom_properties={"m": np.array([1, 2])})
    assert "a numpy array is no property value" in caught.value.errors()[0]["msg"]
    metrics = {"epochs": np.int64(3), "auc": np.float32(0.5), "ok": np.bool_(True),
               "confusion": np.array([[5, 1], [2, 7]]), "per_class": [np.float64(0.25), {"n": np.int8(-1)}]}
    plain = {"epochs": 3, "auc": 0.5, "ok": True, "confusion": [[5, 1], [2, 7]], "per_class": [0.25, {"n": -1}]}
    modelled = Artifact(type_id=data, custom_properties={"metrics": metrics})
    in_place = Artifact(type_id=data)
    in_place.custom_properties["metrics"] = metrics
    # Before: the write refused both, "not a STRUCT value: int64 at ['epochs']".
    ids = store.put_artifacts([modelled, in_place])
    for stored in store.get_artifacts_by_id(ids):
        assert stored.custom_properties["metrics"] == plain
        assert type(stored.custom_properties["metrics"]["epochs"]) is int
    in_place = Artifact(type_id=data)
    in_place.custom_properties["metrics"] = {"z": np.complex128(1 + 2j)}
    with pytest.raises(InvalidArgumentError) as refused:
        store.put_artifacts([in_place])
    assert refused.value.field == "artifacts[0].custom_properties['metrics']"
    assert sorted(a.id for a in store.get_artifacts()) == sorted(ids)


def test_a_cache_lookup_takes_numpy_values_as_the_step_recorded_them(store: MetadataStore, np: Any) -> None:
    trainer = store.put_execution_type(ExecutionType(name="Trainer", properties={"epochs": PropertyType.INT}))
    with record_execution(store, Execution(type_id=trainer, properties={"epochs": np.int64(20)},
                                           custom_properties={"lr": np.float32(0.5), "shuffle": np.bool_(True)})):
        pass
    # Before: "properties['epochs']: an int, float, str, bool, STRUCT dict or ProtoValue, not int64".
    hit = find_cached_execution(store, "Trainer", {}, {"epochs": np.int64(20)},
                                custom_properties={"lr": np.float64(0.5), "shuffle": np.bool_(True)})
    assert hit is not None and hit.execution.last_known_state is ExecutionState.COMPLETE
    assert find_cached_execution(store, "Trainer", {}, {"epochs": np.int64(21)}) is None
    with pytest.raises(InvalidArgumentError) as caught:
        find_cached_execution(store, "Trainer", {}, {"epochs": np.complex64(1)})
    assert caught.value.field == "properties['epochs']"


# --- None -------------------------------------------------------------------------------------


def test_none_as_a_value_is_one_error_saying_leave_it_out() -> None:
    # Before: six errors, one per kind tried (.bool, .int, .float, .str, ...).
    for build in (lambda: Artifact(properties={"accuracy": None}),
                  lambda: Artifact.model_validate_json('{"custom_properties": {"accuracy": null}}')):
        with pytest.raises(ValidationError) as caught:
            build()
        [error] = caught.value.errors()
        assert error["loc"][1:] == ("accuracy",)
        assert "None is no property value (leave the property out)" in error["msg"]


def test_values_need_no_numpy() -> None:
    """graphmd does not depend on numpy: where it cannot be imported (sys.modules holds None
    for it), values are validated as anywhere."""
    code = ("import sys; sys.modules['numpy'] = None; import graphmd, graphmd._pipeline; "
            "a = graphmd.Artifact(custom_properties={'n': 1, 'b': True, 'f': 0.5}); "
            "assert [type(v) for v in a.custom_properties.values()] == [int, bool, float]")
    subprocess.run([sys.executable, "-c", code], check=True)
