"""Pruning pipeline runs (MetadataStore.prune_contexts, `graphmd prune`): what goes, and that
every node that stays keeps its whole lineage."""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

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
    # An id past 64 bits used to reach Neo4j and come back without the field; a bare string
    # was read as its characters.
    with pytest.raises(InvalidArgumentError) as error:
        store.prune_contexts([2**63])
    assert error.value.field == "context_ids[0]"
    with pytest.raises(InvalidArgumentError) as error:
        store.prune_contexts("12")  # type: ignore[arg-type]
    assert error.value.field == "context_ids"
    numpy = pytest.importorskip("numpy")
    assert store.prune_contexts(numpy.array([999_999_999]), dry_run=True).deleted_context_ids == []
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
    # --keep-last alone: every run but the newest N (it needed a --before far in the future).
    alone = json.loads(cli("--keep-last", "1", "--delete-live-artifacts", "--format", "json"))
    assert alone == planned
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
    # Run again after an interruption, a prune by names finds some of them gone: it warns and
    # prunes the rest (a misspelt name among them is warned of the same way).
    again = cli("--name", "run-9999", "--name", f"run-{RUNS - 1:04d}")
    assert "warning: no PipelineRun context named 'run-9999' (pruned already, or misspelt)" in again
    assert "1 PipelineRun run chosen" in again
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


def test_an_interrupted_reset_is_said_and_recorded_until_a_reset_finishes(store, history, cli, monkeypatch):
    """A reset deletes in many transactions. Ctrl-C (or SIGTERM) half way exited 130 without
    a word and left a store without its attributions and associations, part of its events,
    all of its nodes, which every command then read as if nothing had happened."""
    import graphmd._store
    from graphmd._export import unfinished_import

    batches = 0
    delete_batch = graphmd._store._delete_batch

    def interrupted_after_one(tx, statement, batch_size):
        nonlocal batches
        batches += 1
        if batches == 2:
            raise KeyboardInterrupt
        return delete_batch(tx, statement, batch_size)

    before = store.counts()
    monkeypatch.setattr(graphmd._store, "_delete_batch", interrupted_after_one)
    said = cli("reset", "--yes", "-q", code=130)
    assert "interrupted: the store holds part of what it had" in said and "graphmd reset --yes" in said
    monkeypatch.setattr(graphmd._store, "_delete_batch", delete_batch)
    left = store.counts()
    assert left["artifacts"] == before["artifacts"] and left["events"] < before["events"]
    assert "a reset of the store did not finish" in (unfinished_import(store) or "")
    assert "warning: a reset of the store did not finish" in cli("artifacts")
    assert "a reset of the store did not finish" in cli("info")
    cli("reset", "--yes", "-q")
    assert unfinished_import(store) is None and store.counts()["artifacts"] == 0
    assert "warning" not in cli("artifacts")


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


# --- cache hits (record_cached_execution): a CACHED execution made nothing ----------------------


class Hits(NamedTuple):
    """README's "In a pipeline step": run-1 trains /models/1 from /data/1, run-2 trains
    /models/2 warm-starting from it, run-3 is a cache hit of run-2's Trainer (/models/2 reused)."""

    runs: dict[str, int]        # run name -> context id
    models: dict[str, int]      # uri -> artifact id
    trainers: dict[str, int]    # run name -> its Trainer execution id
    data: int
    types: dict[str, int]


def record_hits(store: MetadataStore) -> Hits:
    from graphmd import find_cached_execution, record_cached_execution, record_execution

    types = {"data": store.put_artifact_type(ArtifactType(name="Examples")),
             "model": store.put_artifact_type(ArtifactType(name="SavedModel")),
             "trainer": store.put_execution_type(ExecutionType(name="Trainer")),
             "run": store.put_context_type(ContextType(name="PipelineRun"))}
    [data] = store.put_artifacts([Artifact(type_id=types["data"], uri="/data/1", state=ArtifactState.LIVE)])
    models, trainers = {}, {}

    def train(run: str, inputs: dict[str, list[int]], uri: str) -> None:
        context = [Context(type_id=types["run"], name=run)]
        hit = find_cached_execution(store, "Trainer", inputs)
        if hit is None:
            with record_execution(store, Execution(type_id=types["trainer"]), inputs, context) as step:
                step.output("model", Artifact(type_id=types["model"], uri=uri, state=ArtifactState.LIVE))
            models[uri] = step.outputs["model"][0].id
            trainers[run] = step.execution.id
        else:
            trainers[run] = record_cached_execution(store, Execution(type_id=types["trainer"]), inputs,
                                                    hit.outputs, context).id

    train("run-1", {"examples": [data]}, "/models/1")
    train("run-2", {"examples": [data], "base_model": [models["/models/1"]]}, "/models/2")
    train("run-3", {"examples": [data], "base_model": [models["/models/1"]]}, "/models/2")   # a hit
    runs = {c.name: c.id for c in store.get_contexts_by_type("PipelineRun")}
    return Hits(runs, models, trainers, data, types)


def without(lineage: tuple[list[int], list[int], list[tuple]], execution_id: int) -> tuple:
    """An upstream lineage with one execution and its events taken out."""
    artifacts, executions, events = lineage
    return artifacts, [x for x in executions if x != execution_id], [e for e in events if e[1] != execution_id]


@pytest.mark.parametrize("delete_live_artifacts", [False, True])
def test_a_run_whose_step_was_a_cache_hit_can_be_pruned(store, delete_live_artifacts):
    """The CACHED Trainer of run-3 made nothing: /models/2's maker is run-2's Trainer, which
    stays. Pruning run-3 deletes the run and the hit (with its events and links); it used to
    keep both, and report them kept, as long as /models/2 lived."""
    hits = record_hits(store)
    model, hit = hits.models["/models/2"], hits.trainers["run-3"]
    before = {a.id: upstream(store, a.id) for a in store.get_artifacts()}
    planned = store.prune_contexts([hits.runs["run-3"]], delete_live_artifacts=delete_live_artifacts, dry_run=True)
    done = store.prune_contexts([hits.runs["run-3"]], delete_live_artifacts=delete_live_artifacts)
    assert done._replace(dry_run=True) == planned
    assert (done.deleted_context_ids, done.deleted_execution_ids, done.deleted_artifact_ids) == (
        [hits.runs["run-3"]], [hit], [])
    # Only the data it read (registered by hand, attributed to it) is kept: it stays without
    # its link to the run, as it did before the hit.
    assert (done.kept_context_ids, done.kept_execution_ids, done.kept_artifact_ids) == ([], [], [hits.data])
    assert not store.get_contexts_by_id([hits.runs["run-3"]]) and not store.get_executions_by_id([hit])
    # Every artifact stays, with its lineage less the hit: /models/2 keeps its maker.
    after = {a.id: upstream(store, a.id) for a in store.get_artifacts()}
    assert after == {i: without(lineage, hit) for i, lineage in before.items()}
    assert hits.trainers["run-2"] in after[model][1]
    assert [c.name for c in store.get_contexts_by_artifact(model)] == ["run-2"]


def test_a_hit_pruned_with_the_run_that_made_its_output_never_takes_the_output_s_maker(store):
    """run-2 (the maker of /models/2) and run-3 (its hit) in one call: /models/2, LIVE, stays
    with its maker and run-2; the hit and run-3 go. With --delete-live-artifacts (nothing
    read /models/2) everything of both goes."""
    hits = record_hits(store)
    both = [hits.runs["run-2"], hits.runs["run-3"]]
    model = hits.models["/models/2"]
    before = upstream(store, model)
    kept = store.prune_contexts(both, dry_run=True)
    assert kept.kept_artifact_ids == sorted([hits.data, model]) and kept.kept_execution_ids == [hits.trainers["run-2"]]
    assert kept.kept_context_ids == [hits.runs["run-2"]]
    assert kept.deleted_context_ids == [hits.runs["run-3"]] and kept.deleted_execution_ids == [hits.trainers["run-3"]]
    assert store.prune_contexts(both)._replace(dry_run=True) == kept
    assert upstream(store, model) == without(before, hits.trainers["run-3"])
    gone = store.prune_contexts([hits.runs["run-2"]], delete_live_artifacts=True)
    assert gone.deleted_artifact_ids == [model] and gone.deleted_context_ids == [hits.runs["run-2"]]
    assert (gone.kept_context_ids, gone.kept_execution_ids, gone.kept_artifact_ids) == ([], [], [hits.data])


def test_the_run_that_made_a_hit_s_output_stays_while_the_hit_does(store):
    """The other way round: pruning run-2 while run-3's hit of it stays keeps /models/2, its
    maker and run-2, whatever the model's state (the hit still outputs it)."""
    hits = record_hits(store)
    mark(store, store.get_artifacts_by_id([hits.models["/models/2"]]), ArtifactState.DELETED)
    result = store.prune_contexts([hits.runs["run-2"]], delete_live_artifacts=True)
    assert result.kept_artifact_ids == sorted([hits.data, hits.models["/models/2"]])
    assert result.kept_execution_ids == [hits.trainers["run-2"]] and result.kept_context_ids == [hits.runs["run-2"]]
    assert result.deleted_context_ids == [] and result.deleted_execution_ids == []


def test_a_hit_s_inputs_made_in_its_run_go_with_it(store):
    """A run whose Transform made new examples that its CACHED Trainer read (and reused
    /models/2 made elsewhere): nothing that stays was made from the examples, so with
    --delete-live-artifacts the run goes whole; by default the LIVE examples and their
    Transform keep the run, but not the hit."""
    from graphmd import record_cached_execution, record_execution

    hits = record_hits(store)
    transform_t = store.put_execution_type(ExecutionType(name="Transform"))
    context = [Context(type_id=hits.types["run"], name="run-4")]
    with record_execution(store, Execution(type_id=transform_t), {"examples": [hits.data]}, context) as step:
        step.output("transformed", Artifact(type_id=hits.types["data"], uri="/data/4", state=ArtifactState.LIVE))
    transform, examples = step.execution.id, step.outputs["transformed"][0].id
    hit = record_cached_execution(store, Execution(type_id=hits.types["trainer"]), {"examples": [examples]},
                                  {"model": [hits.models["/models/2"]]}, context).id
    run = store.get_context_by_type_and_name("PipelineRun", "run-4").id
    live = store.prune_contexts([run], dry_run=True)
    assert live.deleted_execution_ids == [hit] and live.kept_execution_ids == [transform]
    assert live.kept_artifact_ids == sorted([hits.data, examples]) and live.kept_context_ids == [run]
    done = store.prune_contexts([run], delete_live_artifacts=True)
    assert done.deleted_context_ids == [run] and done.deleted_execution_ids == sorted([transform, hit])
    assert done.deleted_artifact_ids == [examples] and done.kept_artifact_ids == [hits.data]
    assert store.get_artifacts_by_id([hits.models["/models/2"]])


def test_a_hit_is_the_maker_of_an_output_nothing_else_made(store):
    """Data registered by hand (no execution made it) that a cache hit output: the hit is the
    only record of where it came from, so it stands as its maker (the first such hit, when
    several output it): the data stays with it, and a later hit of it does not pin its run."""
    from graphmd import record_cached_execution

    hits = record_hits(store)
    [imported] = store.put_artifacts([Artifact(type_id=hits.types["model"], uri="/models/imported")])
    runs, cached = {}, {}
    for name in ("run-5", "run-6"):
        cached[name] = record_cached_execution(store, Execution(type_id=hits.types["trainer"]),
                                               {"examples": [hits.data]}, {"model": [imported]},
                                               [Context(type_id=hits.types["run"], name=name)]).id
        runs[name] = store.get_context_by_type_and_name("PipelineRun", name).id
    # The later hit reused what the first one stands as the maker of: it goes alone.
    later = store.prune_contexts([runs["run-6"]], delete_live_artifacts=True, dry_run=True)
    assert (later.deleted_context_ids, later.deleted_execution_ids, later.deleted_artifact_ids) == (
        [runs["run-6"]], [cached["run-6"]], [])
    assert (later.kept_context_ids, later.kept_execution_ids, later.kept_artifact_ids) == ([], [], [hits.data])
    # The first hit stays with its output while the later hit (another run) outputs it too.
    first = store.prune_contexts([runs["run-5"]], delete_live_artifacts=True, dry_run=True)
    assert first.kept_artifact_ids == sorted([hits.data, imported]) and first.kept_execution_ids == [cached["run-5"]]
    assert first.kept_context_ids == [runs["run-5"]] and first.deleted_execution_ids == []
    # Both at once, with --delete-live-artifacts: the output goes with its maker.
    both = store.prune_contexts([runs["run-5"], runs["run-6"]], delete_live_artifacts=True)
    assert both.deleted_artifact_ids == [imported] and both.kept_context_ids == []
    assert both.kept_execution_ids == [] and both.kept_artifact_ids == [hits.data]
    assert both.deleted_execution_ids == sorted(cached.values())


def test_prune_text_names_what_it_kept(store, cli):
    """The text summary names the kept runs and ids (a few of each) and says where to see
    them all, so a user can tell what pinned a run."""
    hits = record_hits(store)
    text = cli("prune", "--type", "PipelineRun", "-q", "--name", "run-1")
    assert "kept: 1 run, 1 execution, 2 artifacts" in text
    data_and_model = ", ".join(map(str, sorted([hits.data, hits.models["/models/1"]])))
    assert (f"\n  kept ids: run {hits.runs['run-1']} (run-1); execution {hits.trainers['run-1']}; "
            f"artifacts {data_and_model} (--format json lists them all)\n") in text
    # run-3's hit goes; the data it read stays (without its link to the run).
    assert f"\n  kept ids: artifact {hits.data} (--format json" in cli("prune", "--type", "PipelineRun", "-q",
                                                                        "--name", "run-3")
    store.put_execution(Execution(type_id=hits.types["trainer"]), [], [Context(type_id=hits.types["run"], name="empty")])
    assert "kept ids" not in cli("prune", "--type", "PipelineRun", "-q", "--name", "empty")  # nothing kept
    # A run's name is a stored value: its control characters are escapes, as in every table.
    [run_1] = store.get_contexts_by_id([hits.runs["run-1"]])
    store.put_contexts([run_1.model_copy(update={"name": "run-1\x1b[2J\u202e"})])
    text = cli("prune", "--type", "PipelineRun", "-q", "--name", "run-1\x1b[2J\u202e")
    assert f"kept ids: run {hits.runs['run-1']} (run-1\\x1b[2J\\u202e)" in text and "\x1b" not in text, text


def test_prune_text_says_how_many_kept_artifacts_may_still_hold_data(store, cli):
    """An operator could not tell whether --delete-live-artifacts would free anything: the
    summary counts the kept artifacts that are LIVE (or of no state), which it would delete."""
    hits = record_hits(store)
    text = " ".join(cli("prune", "--type", "PipelineRun", "-q", "--name", "run-1").split())
    [data, model] = store.get_artifacts_by_id(sorted([hits.data, hits.models["/models/1"]]))
    live = sum(a.state not in (ArtifactState.DELETED, ArtifactState.ABANDONED) for a in (data, model))
    assert live >= 1
    assert (f"{live} artifact{'s' if live > 1 else ''} of them may still hold data (LIVE, or no state): mark them "
            "DELETED once their files are gone, or add --delete-live-artifacts") in text
    with_live = cli("prune", "--type", "PipelineRun", "-q", "--name", "run-1", "--delete-live-artifacts")
    assert "may still hold data" not in with_live


def test_prune_text_names_a_few_kept_ids_of_each_kind(store, history, cli):
    text = " ".join(cli("prune", "--type", "PipelineRun", "-q", "--name", "run-0001").split())
    kept = store.prune_contexts([run_context(store, 1)], dry_run=True).kept_execution_ids
    assert len(kept) == 7
    assert f"executions {', '.join(map(str, kept[:5]))} and 2 more;" in text


def test_hits_pruned_in_batches_plan_what_the_real_prune_deletes(store, cli):
    """run-3's hit in one batch, run-2 (the maker of what it reused) in the next: the dry run
    says what --yes then deletes."""
    import json

    hits = record_hits(store)
    args = ("prune", "--type", "PipelineRun", "-q", "--name", "run-2", "--name", "run-3", "--batch", "1",
            "--delete-live-artifacts", "--format", "json")
    planned = json.loads(cli(*args))
    done = json.loads(cli(*args, "--yes"))
    assert {k: v for k, v in done.items() if k != "deleted"} == {k: v for k, v in planned.items() if k != "deleted"}
    assert planned["deleted_context_ids"] == sorted([hits.runs["run-2"], hits.runs["run-3"]])
    assert planned["deleted_execution_ids"] == sorted([hits.trainers["run-2"], hits.trainers["run-3"]])
    assert planned["deleted_artifact_ids"] == [hits.models["/models/2"]] and planned["kept_context_ids"] == []


def test_a_run_that_only_holds_another_pruned_run_s_kept_model_goes(store):
    """run-2 and run-3's hit read run-1's model (so it is attributed to them as well, as MLMD
    links inputs); pruned together by default, run-1's LIVE model stays with run-1's Trainer
    and run-1, while run-2, whose own model was ABANDONED, goes with run-3: the model they
    read does not keep them (it used to, with nothing of them left but that link)."""
    hits = record_hits(store)
    mark(store, store.get_artifacts_by_id([hits.models["/models/2"]]), ArtifactState.ABANDONED)
    result = store.prune_contexts(sorted(hits.runs.values()))
    assert result.kept_context_ids == [hits.runs["run-1"]]
    assert result.deleted_context_ids == sorted([hits.runs["run-2"], hits.runs["run-3"]])
    assert result.kept_execution_ids == [hits.trainers["run-1"]]
    assert result.deleted_execution_ids == sorted([hits.trainers["run-2"], hits.trainers["run-3"]])
    assert result.deleted_artifact_ids == [hits.models["/models/2"]]
    assert [c.name for c in store.get_contexts_by_artifact(hits.models["/models/1"])] == ["run-1"]
