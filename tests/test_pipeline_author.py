"""A home-grown pipeline's author's view of the step helpers: what a step run in another
process (a trainer of a sweep) can hand them, and what they say when it is wrong."""

from __future__ import annotations

import pytest

from graphmd import (
    Artifact,
    ArtifactState,
    Context,
    ContextType,
    Execution,
    ExecutionState,
    InvalidArgumentError,
    MetadataStore,
)
from graphmd._pipeline import find_cached_execution, record_cached_execution, record_execution
from graphmd._tfx_pipeline import register_types


def _sweep_setup(store: MetadataStore) -> tuple[dict[str, int], Context, Artifact]:
    """The TFX types, a stored run context (a sweep's worker gets its id) and stored examples."""
    types = register_types(store)
    run_t = store.put_context_type(ContextType(name="SweepRun"))
    [run_id] = store.put_contexts([Context(type_id=run_t, name="night-01")])
    [run] = store.get_contexts_by_id([run_id])
    [examples_id] = store.put_artifacts([Artifact(type_id=types["Examples"], uri="/data/0", state=ArtifactState.LIVE)])
    [examples] = store.get_artifacts_by_id([examples_id])
    return types, run, examples


def test_step_helpers_take_context_ids_as_find_cached_execution_does(store):
    """A trainer in a worker process knows its run by id: record_execution and
    record_cached_execution link it to that context, as find_cached_execution scopes by it."""
    types, run, examples = _sweep_setup(store)
    inputs = {"examples": [examples]}
    with record_execution(store, Execution(type_id=types["Trainer"]), inputs, [run.id]) as step:
        step.output("model", Artifact(type_id=types["Model"], uri="/m/1"))
    assert [c.id for c in step.contexts] == [run.id]
    hit = find_cached_execution(store, "Trainer", inputs, contexts=[run.id])
    assert hit is not None and hit.execution.id == step.execution.id
    cached = record_cached_execution(store, Execution(type_id=types["Trainer"]), inputs, hit.outputs, [run.id])
    assert cached.last_known_state == ExecutionState.CACHED
    assert cached == store.get_executions_by_id([cached.id])[0] and cached.type == "Trainer"  # as stored
    assert cached.create_time_since_epoch and cached.last_update_time_since_epoch
    assert {x.id for x in store.get_executions_by_context(run.id)} == {step.execution.id, cached.id}
    # A Context and an id mixed, and the same context both ways, link once.
    with record_execution(store, Execution(type_id=types["Trainer"]), inputs, [run, run.id]) as both:
        pass
    assert [c.id for c in both.contexts] == [run.id]
    assert store.counts()["contexts"] == 1


@pytest.mark.parametrize("helper", ["record_execution", "record_cached_execution"])
@pytest.mark.parametrize("bad", [987654321, 2**63, "night-01", True])
def test_a_context_id_that_names_no_context_stores_nothing(store, helper, bad):
    types, run, examples = _sweep_setup(store)
    before = store.counts()
    with pytest.raises(InvalidArgumentError) as error:
        if helper == "record_execution":
            with record_execution(store, Execution(type_id=types["Trainer"]), {"examples": [examples]}, [run, bad]):
                pytest.fail("the block ran although a context id names no context")
        else:
            record_cached_execution(store, Execution(type_id=types["Trainer"]), {"examples": [examples]},
                                    {"model": [examples]}, [run.id, bad])
    assert error.value.field == "contexts[1]"
    assert {987654321: "no context with id", 2**63: "64-bit integer",
            "night-01": "contexts[1] must be a Context or the id of a stored one, not str 'night-01'",
            True: "contexts[1] must be a Context or the id of a stored one, not bool True"}[bad] in str(error.value)
    assert store.counts() == before


def test_a_push_is_a_pusher_s_output_of_any_type_and_a_deploy_is_none(store, cli):
    """docs/lineage.md's naming table: model_pushed finds a push by its step's type name
    (Pusher), whatever the pushed artifact's type; a step named Deploy is no push."""
    import json

    from graphmd import ArtifactType, ExecutionType

    types, run, examples = _sweep_setup(store)
    deployment_t = store.put_artifact_type(ArtifactType(name="Deployment"))
    deploy_t = store.put_execution_type(ExecutionType(name="Deploy"))
    [model_id] = store.put_artifacts([Artifact(type_id=types["Model"], uri="/m/1", state=ArtifactState.LIVE)])
    with record_execution(store, Execution(type_id=deploy_t), {"model": [model_id]}, [run.id]) as step:
        step.output("deployment", Artifact(type_id=deployment_t, uri="k8s://prod/a"))
    never = cli("query", "model_pushed", "-p", f"model_id={model_id}")
    assert never.startswith("[]") and "never pushed" in never
    with record_execution(store, Execution(type_id=types["Pusher"]), {"model": [model_id]}, [run.id]) as step:
        step.output("deployment", Artifact(type_id=deployment_t, uri="k8s://prod/b",
                                           custom_properties={"pushed_destination": "fraud-prod"}))
    [push] = json.loads(cli("query", "model_pushed", "-p", f"model_id={model_id}"))
    assert (push["pushed_to"], push["destination"], push["pushed_uri"]) == ("fraud-prod", "fraud-prod", "k8s://prod/b")
