"""Nodes and run comparisons as table rows (pandas.DataFrame(...)): typed values, not the
strings of a printed table; times as datetimes; property columns named as filter_query
names them."""

from __future__ import annotations

import datetime

import pytest

from graphmd import (Artifact, ArtifactState, ArtifactType, Context, ContextType, Execution, ExecutionState,
                     ExecutionType, InvalidArgumentError, MetadataStore, PropertyType, compare_runs, node_records)
from graphmd._tfx_pipeline import record_history


def test_nodes_become_flat_rows_with_typed_values(store: MetadataStore) -> None:
    model_t = store.put_artifact_type(ArtifactType(name="Model", properties={"version": PropertyType.INT}))
    trainer_t = store.put_execution_type(ExecutionType(name="Trainer", properties={"rate": PropertyType.DOUBLE}))
    run_t = store.put_context_type(ContextType(name="Run"))
    [m] = store.put_artifacts([Artifact(type_id=model_t, uri="/m/1", name="m1", state=ArtifactState.LIVE,
                                        properties={"version": 3},
                                        custom_properties={"framework": "torch", "shape": {"layers": [1, 2]}})])
    [x] = store.put_executions([Execution(type_id=trainer_t, properties={"rate": 0.1},
                                          last_known_state=ExecutionState.COMPLETE)])
    [c] = store.put_contexts([Context(type_id=run_t, name="run-1")])
    model, = store.get_artifacts_by_id([m])
    rows = node_records([model, *store.get_executions_by_id([x]), *store.get_contexts_by_id([c])])

    assert list(rows[0]) == ["id", "type_id", "type", "name", "external_id", "uri", "state", "create_time",
                             "last_update_time", "properties.version", "custom_properties.framework",
                             "custom_properties.shape"]
    assert rows[0]["id"] == m and rows[0]["type"] == "Model" and rows[0]["state"] == "LIVE"
    assert rows[0]["properties.version"] == 3 and type(rows[0]["properties.version"]) is int
    assert rows[0]["custom_properties.shape"] == {"layers": [1, 2]}
    created = rows[0]["create_time"]
    assert created.tzinfo == datetime.timezone.utc
    assert round(created.timestamp() * 1000) == model.create_time_since_epoch
    assert rows[1]["last_known_state"] == "COMPLETE" and rows[1]["properties.rate"] == 0.1
    assert "uri" not in rows[1] and "state" not in rows[1]
    assert rows[2]["name"] == "run-1" and "last_known_state" not in rows[2]

    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(rows[:1])
    assert frame["properties.version"].dtype.kind == "i"


@pytest.mark.parametrize(("nodes", "field"), [("abc", "nodes"), (7, "nodes"), ([Artifact(type_id=1), "x"], "nodes[1]")])
def test_what_is_no_list_of_nodes_is_refused_by_name(nodes: object, field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        node_records(nodes)  # type: ignore[arg-type]
    assert info.value.field == field


def test_a_run_comparison_is_one_row_per_run_with_values_as_stored(store: MetadataStore) -> None:
    record_history(store, 4)
    comparison = compare_runs(store, ["run-0002", "run-0003"])
    rows = comparison.records()
    assert [r["run"] for r in rows] == ["run-0002", "run-0003"]
    for field in (*comparison.parameters, *comparison.metrics):
        assert [r[field.field] for r in rows] == field.values
    assert isinstance(rows[0]["Trainer.learning_rate"], float)
    pushed = next(o for o in comparison.outcome if o.field == "pushed at")
    assert any(isinstance(v, int) for v in pushed.values), pushed  # the history pushes some runs
    assert [r["pushed at"] for r in rows] == [
        None if v is None else datetime.datetime.fromtimestamp(v / 1000, datetime.timezone.utc) for v in pushed.values]


def test_a_custom_property_named_as_a_declared_one_keeps_both_columns(store: MetadataStore) -> None:
    """records() keyed both by ``Trainer.learning_rate``: the custom property's values
    replaced the declared one's (the table and JSON kept both, the custom one marked)."""
    trainer_t = store.put_execution_type(ExecutionType(name="Trainer", properties={"learning_rate": PropertyType.DOUBLE}))
    run_t = store.put_context_type(ContextType(name="PipelineRun"))
    for i, (rate, note) in enumerate([(0.2, "x"), (0.3, None)]):
        store.put_execution(Execution(type_id=trainer_t, last_known_state=ExecutionState.COMPLETE,
                                      properties={"learning_rate": rate},
                                      custom_properties={"learning_rate": note} if note else {}),
                            [], [Context(type_id=run_t, name=f"run-{i}")])
    rows = compare_runs(store, ["run-0", "run-1"]).records()
    assert [r["Trainer.learning_rate"] for r in rows] == [0.2, 0.3]
    assert [r["Trainer.learning_rate (custom)"] for r in rows] == ["x", None]
