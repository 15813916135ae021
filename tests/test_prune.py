"""Pruning pipeline runs (MetadataStore.prune_contexts, `graphmd prune`): what goes, and that
every node that stays keeps its whole lineage."""

from __future__ import annotations

import threading
import time

import pytest

from graphmd import (
    Artifact,
    ArtifactState,
    ArtifactType,
    Attribution,
    Context,
    ContextType,
    Event,
    EventType,
    Execution,
    ExecutionType,
    GraphmdError,
    InvalidArgumentError,
    LineageDirection,
    LineageSubgraphQueryOptions,
    MetadataStore,
    NodeSelector,
    ParentContext,
)
from graphmd._prune import apply_prune, plan_prune
from graphmd._tfx_pipeline import History, record_history

RUNS = 8


@pytest.fixture
def history(store: MetadataStore) -> History:
    return record_history(store, RUNS)


def run_context(store: MetadataStore, run: int) -> int:
    return store.get_context_by_type_and_name("PipelineRun", f"run-{run:04d}").id


def run_artifacts(store: MetadataStore, run: int) -> list[Artifact]:
    return [a for a in store.get_artifacts() if a.name and a.name.startswith(f"run-{run:04d}/")]


def mark(store: MetadataStore, artifacts: list[Artifact], state: ArtifactState) -> None:
    store.put_artifacts([a.model_copy(update={"state": state}) for a in artifacts], update_mask=["state"])


def upstream(store: MetadataStore, artifact_id: int) -> tuple[list[int], list[int], list[tuple]]:
    graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[artifact_id]), direction=LineageDirection.UPSTREAM))
    return (sorted(a.id for a in graph.artifacts), sorted(x.id for x in graph.executions),
            sorted((e.artifact_id, e.execution_id, e.type.value) for e in graph.events))


def every_upstream(store: MetadataStore) -> dict[int, tuple]:
    return {a.id: upstream(store, a.id) for a in store.get_artifacts()}


def test_live_runs_are_kept_whole_by_default(store, history):
    before = store.counts()
    result = store.prune_contexts([run_context(store, 1)])
    assert (result.deleted_artifact_ids, result.deleted_execution_ids, result.deleted_context_ids) == ([], [], [])
    assert len(result.kept_execution_ids) == 7 and result.kept_context_ids == [run_context(store, 1)]
    assert store.counts() == before


def test_pruning_deleted_artifacts_keeps_every_remaining_node_s_lineage(store, history):
    for run in (1, 2):
        mark(store, run_artifacts(store, run), ArtifactState.DELETED)
    lineage_before = every_upstream(store)
    dry = store.prune_contexts([run_context(store, 1), run_context(store, 2)], dry_run=True)
    assert store.counts() == store.counts() and dry.dry_run
    result = store.prune_contexts([run_context(store, 1), run_context(store, 2)])
    assert result._replace(dry_run=True) == dry                         # the dry run said what would go
    names = {x.name for x in store.get_executions_by_id(dry.kept_execution_ids)}
    # The models were read by later runs, so they and all they were made from stay ...
    assert {"run-0001/Trainer", "run-0002/Trainer", "run-0001/Transform", "run-0002/ExampleGen"} <= names
    # ... while what nothing kept was made from goes: each run's evaluation and push.
    deleted = set(result.deleted_execution_ids)
    assert {history.executions["run-0001/Pusher"], history.executions["run-0002/Pusher"]} <= deleted
    assert not store.get_executions_by_id(result.deleted_execution_ids)
    assert not store.get_artifacts_by_id(result.deleted_artifact_ids) and result.deleted_artifact_ids
    # The guarantee: every artifact that stays has exactly the lineage it had.
    lineage_after = every_upstream(store)
    assert set(lineage_after) == set(lineage_before) - set(result.deleted_artifact_ids)
    assert all(lineage_after[i] == lineage_before[i] for i in lineage_after)
    # The run contexts still hold what stayed of them, so they stay.
    assert result.deleted_context_ids == [] and set(result.kept_context_ids) == {run_context(store, 1),
                                                                                  run_context(store, 2)}


def test_pruning_every_old_run_keeps_the_newest_model_s_lineage_and_deletes_the_rest(store, history):
    newest = history.artifacts[f"run-{RUNS - 1:04d}/model"]
    before = upstream(store, newest)
    old = [run_context(store, run) for run in range(RUNS - 1)]
    result = store.prune_contexts(old, delete_live_artifacts=True)
    assert upstream(store, newest) == before
    kept = set(result.kept_artifact_ids) | set(result.kept_execution_ids)
    assert kept and result.deleted_artifact_ids and result.deleted_execution_ids
    # What stayed of the old runs is exactly what the newest run was made from (and that is upstream).
    assert set(result.kept_artifact_ids) <= set(before[0]) and set(result.kept_execution_ids) <= set(before[1])
    counts = store.counts()
    assert counts["executions"] == 7 + len(result.kept_execution_ids)


def test_pruning_every_run_empties_the_store_but_the_pipeline_context(store, history):
    everything = [run_context(store, run) for run in range(RUNS)]
    result = store.prune_contexts(everything, delete_live_artifacts=True)
    assert sorted(result.deleted_context_ids) == sorted(everything)
    counts = store.counts()
    assert (counts["artifacts"], counts["executions"], counts["events"]) == (0, 0, 0)
    assert counts["contexts"] == 1 and counts["attributions"] == counts["associations"] == 0


def test_a_context_with_a_child_stays(store, history):
    parent = run_context(store, 0)
    [child] = store.put_contexts([Context(type_id=history.type_ids["PipelineRun"], name="child-of-0")])
    store.put_parent_contexts([ParentContext(child_id=child, parent_id=parent)])
    result = store.prune_contexts([run_context(store, run) for run in range(RUNS)], delete_live_artifacts=True)
    assert store.counts()["executions"] == 0                     # all its members went, yet
    assert result.kept_context_ids == [parent] and parent not in result.deleted_context_ids
    assert store.get_parent_contexts_by_context(child)[0].id == parent


def test_bad_ids_are_refused_and_unknown_ones_skipped(store, history):
    before = store.counts()
    with pytest.raises(InvalidArgumentError) as error:
        store.prune_contexts([run_context(store, 1), "run-0002"])  # type: ignore[list-item]
    assert error.value.field == "context_ids[1]"
    assert store.prune_contexts([999_999_999]) == store.prune_contexts([], dry_run=True)._replace(dry_run=False)
    assert store.counts() == before


def test_prune_command_plans_unless_told_yes_then_deletes(store, history, neo4j_server, monkeypatch):
    import json

    from typer.testing import CliRunner

    from graphmd.cli import app

    monkeypatch.setenv("GRAPHMD_CONFIG", "/dev/null")
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    runner = CliRunner()

    def cli(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["prune", "--type", "PipelineRun", "-q", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    before = store.counts()
    planned = json.loads(cli("--before", "2999-01-01", "--keep-last", "1", "--delete-live-artifacts",
                             "--format", "json"))
    assert planned["deleted"] is False and len(planned["runs"]) == RUNS - 1
    assert planned["spared_by_keep_last"] == [f"run-{RUNS - 1:04d}"]
    assert "(1 more spared: among the newest 1, --keep-last)" in cli("--before", "2999-01-01", "--keep-last", "1")
    # Only the runs the selection matched count as spared: none is older than 1970.
    assert "spared" not in cli("--before", "1970-01-02", "--keep-last", "2")
    # --keep-last protects the newest runs from --name too.
    named = json.loads(cli("--name", f"run-{RUNS - 1:04d}", "--keep-last", "1", "--format", "json"))
    assert named["runs"] == [] and named["spared_by_keep_last"] == [f"run-{RUNS - 1:04d}"]
    assert f"run-{RUNS - 1:04d}" not in planned["runs"] and planned["deleted_execution_ids"]
    assert store.counts() == before                                           # a plan deletes nothing
    text = cli("--before", "2999-01-01", "--keep-last", "1", "--delete-live-artifacts")
    assert "would delete:" in text and "add --yes to delete" in text
    done = json.loads(cli("--before", "2999-01-01", "--keep-last", "1", "--delete-live-artifacts", "--yes",
                          "--format", "json"))
    assert {k: v for k, v in done.items() if k != "deleted"} == {k: v for k, v in planned.items() if k != "deleted"}
    assert store.counts()["executions"] == before["executions"] - len(planned["deleted_execution_ids"])
    assert not store.get_executions_by_id(planned["deleted_execution_ids"])
    after = store.counts()
    # By name; and the errors a user meets.
    assert "1 PipelineRun run chosen" in cli("--name", f"run-{RUNS - 1:04d}")
    assert "no PipelineRun context named 'run-9999'" in cli("--name", "run-9999", code=1)
    assert "no context type named 'Nope'" in runner.invoke(app, ["prune", "--type", "Nope", "--name", "x"]).output
    # Usage mistakes exit 2, as click's own (tests/test_cli_messages.py has more).
    assert "say which runs" in cli(code=2)
    assert "'yaml' is not one of 'text', 'json'" in cli("--name", "run-0001", "--yes", "--format", "yaml", code=2)
    assert "month must be in 1..12" in cli("--before", "2999-13-01", "--yes", code=2)
    assert store.counts() == after                                          # refused calls change nothing
    assert "is not an ISO date" in cli("--before", "last week", code=2)


def test_a_node_another_run_also_holds_stays(store, history):
    from graphmd import Association

    shared = history.executions["run-0000/Pusher"]
    store.put_attributions_and_associations(associations=[Association(context_id=run_context(store, 5),
                                                                      execution_id=shared)])
    result = store.prune_contexts([run_context(store, 0)], delete_live_artifacts=True)
    assert shared in result.kept_execution_ids and store.get_executions_by_id([shared])
    # ... with what it was made from (the Evaluator's blessing), while what only run 0 needed goes.
    assert history.executions["run-0000/Evaluator"] in result.kept_execution_ids
    assert result.deleted_artifact_ids and not store.get_artifacts_by_id(result.deleted_artifact_ids)



def test_a_step_recorded_while_a_prune_decides_waits_for_it_and_never_loses_its_input(
        store, history, neo4j_server, monkeypatch):
    """The prune pauses between its plan and its delete while a pipeline step that reads
    run 1's model (marked DELETED, read by nothing else) is recorded. The step must not
    commit in between (the model is locked), so it cannot be left without its input: it
    fails once the model is gone."""
    import threading

    from graphmd import ArtifactAndEvent, Event, EventType, Execution, GraphmdError
    from graphmd import _store

    # Run 1's model read by nothing but the step: prune the runs after it first.
    store.prune_contexts([run_context(store, r) for r in range(2, RUNS)], delete_live_artifacts=True)
    model = store.get_artifacts_by_id([history.artifacts["run-0001/model"]])[0]
    mark(store, run_artifacts(store, 1), ArtifactState.DELETED)
    model = store.get_artifacts_by_id([model.id])[0]
    planned, step_done, outcome = threading.Event(), threading.Event(), {}
    apply = _store.apply_prune

    def paused_apply(tx, plan):
        planned.set()
        step_done.wait(1.5)  # the step commits now unless the prune's locks hold it
        return apply(tx, plan)

    monkeypatch.setattr(_store, "apply_prune", paused_apply)
    writer = MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password)

    def step() -> None:
        planned.wait(30)
        try:
            outcome["recorded"] = writer.put_execution(
                Execution(type_id=history.type_ids["Evaluator"]),
                [ArtifactAndEvent(artifact=model, event=Event(type=EventType.INPUT))]).execution_id
        except GraphmdError as error:
            outcome["refused"] = error
        step_done.set()

    thread = threading.Thread(target=step)
    thread.start()
    try:
        result = store.prune_contexts([run_context(store, 1)], delete_live_artifacts=True)
    finally:
        thread.join(60)
        writer.close()
    assert model.id in result.deleted_artifact_ids and not store.get_artifacts_by_id([model.id])
    assert "recorded" not in outcome, "a step committed against a node the prune was deleting"
    assert "refused" in outcome, outcome


def test_a_call_meeting_a_run_pruned_under_it_gets_a_typed_answer(store: MetadataStore) -> None:
    """A prune of a run commits while a step is writing into it: the step waits for the prune's
    locks, then finds its nodes gone. It used to raise InternalError ("Unable to load NODE")
    or a bare KeyError; now it answers as for nodes that were never there (or, naming the run
    by name with reuse, records into a new run)."""
    xt = store.put_execution_type(ExecutionType(name="PruneRaceStep"))
    ct = store.put_context_type(ContextType(name="PruneRaceRun"))
    at = store.put_artifact_type(ArtifactType(name="PruneRaceData"))
    calls = {
        "link by id": lambda run, out: store.put_attributions_and_associations(
            [Attribution(context_id=run, artifact_id=store.put_artifacts([Artifact(type_id=at)])[0])]),
        "masked update": lambda run, out: store.put_contexts(
            [Context(id=run, type_id=ct, name=f"r{run}", custom_properties={"k": 1})], update_mask=["custom_properties.k"]),
        "event": lambda run, out: store.put_events([Event(type=EventType.INPUT, artifact_id=out,
                                                          execution_id=store.put_executions([Execution(type_id=xt)])[0])]),
        "reuse by external id": lambda run, out: store.put_execution(
            Execution(type_id=xt), [(Artifact(type_id=at, external_id=f"x{run}"), Event(type=EventType.OUTPUT))],
            reuse_artifact_if_already_exist_by_external_id=True),
        "run by name": lambda run, out: store.put_execution(Execution(type_id=xt), [], [Context(type_id=ct, name=f"r{run}")],
                                                            reuse_context_if_already_exist=True),
    }
    outcomes = {}
    for label, call in calls.items():
        [run] = store.put_contexts([Context(type_id=ct, name=f"r{time.time_ns()}")])
        store.put_contexts([Context(id=run, type_id=ct, name=f"r{run}")])
        out = store.put_execution(Execution(type_id=xt), [(Artifact(type_id=at, external_id=f"x{run}"),
                                                           Event(type=EventType.OUTPUT))],
                                  [Context(id=run, type_id=ct, name=f"r{run}")]).artifact_ids[0]
        seen: list[object] = []

        def step() -> None:
            try:
                call(run, out)
                seen.append("ok")
            except GraphmdError as error:
                seen.append(type(error).__name__)
            except Exception as error:  # noqa: BLE001 - an untyped failure is the finding
                seen.append(repr(error))

        with store.driver.session(database=store.database) as session:
            tx = session.begin_transaction()
            apply_prune(tx, plan_prune(tx, [run], delete_live_artifacts=True, lock=True))
            writer = threading.Thread(target=step)
            writer.start()
            time.sleep(0.8)  # the step is waiting for the prune's locks
            tx.commit()
        writer.join(60)
        outcomes[label] = seen[0]
    assert outcomes == {"link by id": "InvalidArgumentError", "masked update": "InvalidArgumentError",
                        "event": "InvalidArgumentError", "reuse by external id": "ok", "run by name": "ok"}


def test_reset_command_says_what_it_would_delete_then_deletes_everything(store, history, cli):
    import json

    before = store.counts()
    user_types = len(store.get_artifact_types()) + len(store.get_execution_types()) + len(store.get_context_types())
    planned = json.loads(cli("reset", "--format", "json"))
    assert planned == {"deleted": False, "types": user_types,
                       **{k: before[k] for k in ("artifacts", "executions", "contexts", "events", "attributions",
                                                 "associations", "parent_contexts")}}
    assert store.counts() == before                                           # a plan deletes nothing
    text = cli("reset")
    assert f"would delete: {user_types} types, {before['artifacts']:,} artifacts" in text
    assert "add --yes to delete" in text
    assert f"deleted: {user_types} types" in cli("reset", "--yes")
    after = store.counts()
    assert after["artifacts"] == after["executions"] == after["contexts"] == after["events"] == 0
    assert not store.get_artifact_types() and len(store.get_artifact_types(include_system_types=True)) == 4
    assert "'yaml' is not one of 'text', 'json'" in cli("reset", "--format", "yaml", code=2)


def test_a_dry_run_in_batches_plans_what_the_real_run_then_deletes(store, history, neo4j_server, monkeypatch):
    """Newest first, each batch its own transaction: a batch's models that a newer run read go
    once that run's batch went. The dry run takes each earlier batch's deletions as done, so
    it says what --yes then deletes, each node once."""
    import json

    from typer.testing import CliRunner

    from graphmd.cli import app

    monkeypatch.setenv("GRAPHMD_CONFIG", "/dev/null")
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    args = ["prune", "--type", "PipelineRun", "-q", "--before", "2999-01-01", "--delete-live-artifacts", "--batch", "2",
            "--format", "json"]
    planned = json.loads(CliRunner().invoke(app, args, catch_exceptions=False).output)
    done = json.loads(CliRunner().invoke(app, [*args, "--yes"], catch_exceptions=False).output)
    assert {k: v for k, v in done.items() if k != "deleted"} == {k: v for k, v in planned.items() if k != "deleted"}
    assert len(planned["deleted_context_ids"]) == RUNS and planned["kept_context_ids"] == []
    for ids in planned.values():
        if isinstance(ids, list):
            assert len(ids) == len(set(ids)), ids
    assert store.counts()["executions"] == 0


def test_an_artifact_a_kept_execution_also_wrote_stays(store, history):
    """A later cache hit recorded outside any run (record_cached_execution's default: no
    contexts) output the newest run's model again (no later run read it): pruning that run
    keeps the model, and the hit keeps its output, whatever the model's state."""
    from graphmd import record_cached_execution

    last = RUNS - 1
    [model] = [a for a in run_artifacts(store, last) if a.name.endswith("/model")]
    hit = record_cached_execution(store, Execution(type_id=history.type_ids["Trainer"]), {}, {"model": [model]})
    mark(store, [model], ArtifactState.DELETED)
    result = store.prune_contexts([run_context(store, last)], delete_live_artifacts=True)
    assert model.id in result.kept_artifact_ids and model.id not in result.deleted_artifact_ids
    assert [(e.artifact_id, e.type) for e in store.get_events_by_execution_ids([hit.id])] == [
        (model.id, EventType.OUTPUT)]


def test_a_parent_pruned_with_its_only_child_goes_too(store, history):
    parent, child = run_context(store, RUNS - 2), run_context(store, RUNS - 1)  # nothing newer read them
    store.put_parent_contexts([ParentContext(child_id=child, parent_id=parent)])
    planned = store.prune_contexts([parent, child], delete_live_artifacts=True, dry_run=True)
    with pytest.raises(InvalidArgumentError) as error:  # earlier batches taken as done: dry runs only
        store.prune_contexts([parent, child], after=planned)
    assert error.value.field == "after"
    done = store.prune_contexts([parent, child], delete_live_artifacts=True)
    assert done._replace(dry_run=True) == planned
    assert child in done.deleted_context_ids and parent in done.deleted_context_ids


def test_an_interrupted_prune_says_what_it_deleted_and_how_to_go_on(store, history, neo4j_server, monkeypatch):
    from typer.testing import CliRunner

    from graphmd.cli import app

    monkeypatch.setenv("GRAPHMD_CONFIG", "/dev/null")
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    real, calls = MetadataStore.prune_contexts, []

    def ctrl_c_on_the_second_batch(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MetadataStore, "prune_contexts", ctrl_c_on_the_second_batch)
    result = CliRunner().invoke(app, ["prune", "--type", "PipelineRun", "-q", "--before", "2999-01-01",
                                      "--delete-live-artifacts", "--batch", "2", "--yes"])
    assert result.exit_code == 130
    said = " ".join(result.output.split())
    assert "interrupted after 1 of 4 batches: deleted 2 runs" in said and "run the same command again" in said
    assert len(store.get_contexts_by_type("PipelineRun")) == RUNS - 2


def test_a_run_that_read_a_dataset_registered_by_hand_can_be_pruned(store: MetadataStore) -> None:
    """A LIVE dataset put with put_artifacts (no execution wrote it) that three runs read is
    attributed to each run (as MLMD links inputs). It stays, but it no longer keeps the runs:
    before, pruning two of them deleted their steps and models and kept both runs forever."""
    from graphmd import record_execution

    data_type = store.put_artifact_type(ArtifactType(name="Dataset"))
    model_type = store.put_artifact_type(ArtifactType(name="ModelX"))
    trainer = store.put_execution_type(ExecutionType(name="TrainerX"))
    run_type = store.put_context_type(ContextType(name="RunX"))
    [dataset] = store.put_artifacts([Artifact(type_id=data_type, uri="/data/day1", state=ArtifactState.LIVE)])
    models = {}
    for run in range(3):
        with record_execution(store, Execution(type_id=trainer), {"examples": [dataset]},
                              [Context(type_id=run_type, name=f"old-{run}")]) as step:
            step.output("model", Artifact(type_id=model_type, uri=f"/m/{run}", state=ArtifactState.ABANDONED))
        models[run] = step.outputs["model"][0].id
    contexts = {c.name: c.id for c in store.get_contexts_by_type("RunX")}
    result = store.prune_contexts([contexts["old-0"], contexts["old-1"]])
    assert result.deleted_context_ids == sorted([contexts["old-0"], contexts["old-1"]])
    assert result.kept_context_ids == [] and result.kept_artifact_ids == [dataset]
    assert sorted(result.deleted_artifact_ids) == sorted([models[0], models[1]])
    assert store.get_artifacts_by_id([dataset])[0].uri == "/data/day1"
    assert [c.name for c in store.get_contexts_by_artifact(dataset)] == ["old-2"]
    # The run that stays still reads it.
    [kept_step] = store.get_executions_by_context(contexts["old-2"])
    assert dataset in [e.artifact_id for e in store.get_events_by_execution_ids([kept_step.id]) if e.type.is_input]
