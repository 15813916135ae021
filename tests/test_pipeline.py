"""The TFX questions as library calls: reuse (cache hits and misses), the latest-artifact
and latest-blessed-model resolvers within and across contexts, the recording context
manager, run comparison."""

from __future__ import annotations

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
    ExecutionState,
    ExecutionType,
    InvalidArgumentError,
    LineageDirection,
    LineageSubgraphQueryOptions,
    MetadataStore,
    NodeSelector,
    NotFoundError,
    PropertyType,
)
from graphmd._pipeline import (compare_runs, find_cached_execution, latest_artifact, latest_blessed_model,
                               record_cached_execution, record_execution)
from graphmd._tfx_pipeline import History, plan_runs, record_history, record_run
from graphmd import _queries as q
from graphmd import _cypher_files, _pipeline
from tests.test_cypher_files import db_hits


@pytest.fixture
def history(store: MetadataStore) -> History:
    return record_history(store, 50)


def inputs_of(store: MetadataStore, execution_id: int) -> dict[str, list[int]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for e in store.get_events_by_execution_ids([execution_id]):
        if e.type == EventType.INPUT:
            found.setdefault(e.path[0], []).append((e.path[1], e.artifact_id))
    return {k: [a for _, a in sorted(v)] for k, v in found.items()}


def test_cache_hits_and_misses(store, history):
    trainer = store.get_executions_by_id([history.executions["run-0030/Trainer"]])[0]
    inputs = inputs_of(store, trainer.id)
    hit = find_cached_execution(store, "Trainer", inputs, trainer.properties)
    assert hit is not None and hit.execution.id == trainer.id
    assert [a.id for a in hit.outputs["model"]] == [history.artifacts["run-0030/model"]]
    # Anything different is a miss: a property value, a missing property,
    # another input, an input under another key, one input fewer, another component.
    assert find_cached_execution(store, "Trainer", inputs, {**trainer.properties, "num_steps": 1}) is None
    # Properties no execution can hold are errors naming them, not cache misses forever.
    for bad, field in [({"lr": object()}, "properties['lr']"), ({"lr": [1, 2]}, "properties['lr']"),
                       ({"lr": None}, "properties['lr']"), ("notamap", "properties")]:
        with pytest.raises(InvalidArgumentError) as error:
            find_cached_execution(store, "Trainer", inputs, bad)  # type: ignore[arg-type]
        assert error.value.field == field, bad
    # Of a kind the type does not declare (a float for an INT): no execution can hold it.
    with pytest.raises(InvalidArgumentError) as error:
        find_cached_execution(store, "Trainer", inputs, {
            **trainer.properties, "num_steps": float(trainer.properties["num_steps"])})
    assert error.value.field == "properties['num_steps']"
    assert find_cached_execution(store, "Trainer", inputs,
                                 {k: v for k, v in trainer.properties.items() if k != "batch_size"}) is None
    # A property the type does not declare, or an input id that names no artifact, can never
    # hit: an error naming it, as record_execution's, not a miss forever.
    with pytest.raises(InvalidArgumentError) as error:
        find_cached_execution(store, "Trainer", inputs, {**trainer.properties, "extra": 1})
    assert error.value.field == "properties['extra']" and "custom_properties" in error.value.message
    with pytest.raises(InvalidArgumentError) as error:
        find_cached_execution(store, "Trainer", dict(inputs, examples=[10**9]), trainer.properties)
    assert error.value.field == "inputs['examples'][0]" and "no artifact with id 1000000000" in error.value.message
    # One artifact under two keys: record_execution refuses it (MLMD records one INPUT event
    # per artifact and execution), so no step can have read it so; the lookup says so too.
    with pytest.raises(InvalidArgumentError) as error:
        find_cached_execution(store, "Trainer", dict(inputs, eval_examples=inputs["examples"]), trainer.properties)
    assert error.value.field == "inputs['eval_examples'][0]" and "already one of the inputs" in error.value.message
    other = dict(inputs, examples=[history.artifacts["run-0031/examples"]])
    assert find_cached_execution(store, "Trainer", other, trainer.properties) is None
    swapped = dict(inputs, examples=inputs["schema"], schema=inputs["examples"])
    assert find_cached_execution(store, "Trainer", swapped, trainer.properties) is None
    assert find_cached_execution(store, "Trainer", {k: v for k, v in inputs.items() if k != "teacher_model"},
                                 trainer.properties) is None
    evaluator = store.get_executions_by_id([history.executions["run-0030/Evaluator"]])[0]
    assert find_cached_execution(store, "Evaluator", inputs, evaluator.properties) is None
    # A step without inputs (ExampleGen) hits on properties alone.
    gen = store.get_executions_by_id([history.executions["run-0012/ExampleGen"]])[0]
    assert find_cached_execution(store, "ExampleGen", {}, gen.properties).execution.id == gen.id


def test_cache_ignores_executions_that_did_not_complete_and_prefers_the_newest(store, history):
    trainer = store.get_executions_by_id([history.executions["run-0030/Trainer"]])[0]
    inputs = inputs_of(store, trainer.id)
    with pytest.raises(RuntimeError):
        with record_execution(store, Execution(type_id=trainer.type_id, properties=trainer.properties),
                              {k: store.get_artifacts_by_id(v) for k, v in inputs.items()}):
            raise RuntimeError("out of memory")
    assert find_cached_execution(store, "Trainer", inputs, trainer.properties).execution.id == trainer.id
    with record_execution(store, Execution(type_id=trainer.type_id, properties=trainer.properties),
                          {k: store.get_artifacts_by_id(v) for k, v in inputs.items()}) as rerun:
        rerun.output("model", Artifact(type_id=history.type_ids["Model"], uri="/models/rerun"))
    hit = find_cached_execution(store, "Trainer", inputs, trainer.properties)
    assert hit.execution.id == rerun.execution.id
    assert [a.uri for a in hit.outputs["model"]] == ["/models/rerun"]


def test_latest_artifact_in_a_context_expands_from_the_context(store):
    """Statistics sampled while the store was small (Neo4j resamples in the background, and a
    burst of writes outruns it) made the type look rare: the plan sought every model and
    tested each for the context, growing with the store (7,409 db hits on 400 runs)."""
    history = record_history(store, 2)
    store.driver.execute_query("CALL db.prepareForReplanning()", database_=store.database)
    history = record_history(store, 150, history=history)
    params = {"type_name": "Model", "state": "LIVE", "context_id": history.contexts["run-0100"]}
    [row] = store.driver.execute_query(q.LATEST_ARTIFACT_IN_CONTEXT, params, database_=store.database).records
    assert row["a"]["id"] == history.artifacts["run-0100/model"]
    profiled = store.driver.execute_query("PROFILE " + q.LATEST_ARTIFACT_IN_CONTEXT, params,
                                          database_=store.database).summary.profile
    assert db_hits(profiled) < 150, db_hits(profiled)


def test_latest_artifact_reads_the_newest_not_the_whole_type(store, history):
    """Before, every model was read and sorted for the newest (800,010 db hits among 200,000
    artifacts of a type); now it reads the (type, create time) index from its newest end."""
    newest = history.artifacts["run-0049/model"]
    params = {"type_name": "Model", "state": "LIVE", "context_id": None}
    profiled = store.driver.execute_query("CYPHER replan=force PROFILE " + q.LATEST_ARTIFACT, params,
                                          database_=store.database)
    assert [row["a"]["id"] for row in profiled.records] == [newest]
    # 50 models, written 25 runs a call (so 25 share the newest time): 849 db hits before, 89.
    assert db_hits(profiled.summary.profile) < 250, db_hits(profiled.summary.profile)


def test_latest_artifact_in_a_pipelines_context_reads_the_types_newest_not_the_context(store):
    """A pipeline's context holds every run, so reading it whole to sort it grew with the
    pipeline (47 ms on 10,000 runs); the type's newest are read first, newest first, and the
    context only when none of them is in it (an old run's context)."""
    history = record_history(store, 300, batch_runs=50)  # 300 models: more than the newest read
    assert _pipeline._NEWEST_BUDGET < 300
    pipeline = history.contexts["taxi"]
    for context, model in ((pipeline, "run-0299/model"), (history.contexts["run-0290"], "run-0290/model"),
                           (history.contexts["run-0000"], "run-0000/model")):  # past the newest 256: the context
        assert latest_artifact(store, "Model", context_id=context).id == history.artifacts[model]
    params = {"type_name": "Model", "state": "LIVE", "context_id": pipeline}
    def profiled() -> tuple[int, int]:
        newest = store.driver.execute_query("PROFILE " + q.LATEST_ARTIFACT_AMONG_NEWEST, params,
                                            budget=_pipeline._NEWEST_BUDGET, database_=store.database)
        whole = store.driver.execute_query("PROFILE " + q.LATEST_ARTIFACT_IN_CONTEXT, params, database_=store.database)
        assert [r["a"]["id"] for r in newest.records] == [r["a"]["id"] for r in whole.records]
        return db_hits(newest.summary.profile), db_hits(whole.summary.profile)
    # The pipeline doubles: reading its context grows with it, reading the type's newest does not.
    newest_hits, whole_hits = profiled()
    record_history(store, 300, batch_runs=50, history=history)
    grown_newest_hits, grown_whole_hits = profiled()
    assert grown_newest_hits < 500 and grown_newest_hits <= newest_hits * 1.1, (newest_hits, grown_newest_hits)
    assert grown_whole_hits >= whole_hits * 1.5, (whole_hits, grown_whole_hits)
    # An old run's context: none of the type's newest is in it, so nothing is found there.
    assert store.driver.execute_query(q.LATEST_ARTIFACT_AMONG_NEWEST, {**params, "context_id": history.contexts[
        "run-0000"]}, budget=_pipeline._NEWEST_BUDGET, database_=store.database).records == []


def test_latest_artifact_within_and_across_contexts(store, history):
    assert latest_artifact(store, "Model").id == history.artifacts["run-0049/model"]
    assert latest_artifact(store, "Model", context_id=history.contexts["run-0020"]).id == \
        history.artifacts["run-0020/model"]
    assert latest_artifact(store, "Model", context_id=history.contexts["taxi"]).id == history.artifacts["run-0049/model"]
    # A later model in another pipeline is the newest overall, not within "taxi".
    other = store.put_contexts([Context(type_id=history.type_ids["Pipeline"], name="other")])[0]
    with record_execution(store, Execution(type_id=history.type_ids["Trainer"]),
                          contexts=[Context(type_id=history.type_ids["Pipeline"], name="other")]) as run:
        run.output("model", Artifact(type_id=history.type_ids["Model"], uri="/models/other"))
    newest = run.outputs["model"][0]
    assert latest_artifact(store, "Model").id == newest.id
    assert latest_artifact(store, "Model", context_id=other).id == newest.id
    assert latest_artifact(store, "Model", context_id=history.contexts["taxi"]).id == history.artifacts["run-0049/model"]
    # Only LIVE artifacts count unless asked: a deleted newest model is skipped.
    store.put_artifacts([newest.model_copy(update={"state": ArtifactState.DELETED})])
    assert latest_artifact(store, "Model").id == history.artifacts["run-0049/model"]
    assert latest_artifact(store, "Model", state=ArtifactState.DELETED).id == newest.id
    # Nothing there is None; a name or context that does not exist is an error, not a miss.
    assert latest_artifact(store, "Model", state=ArtifactState.PENDING) is None
    with pytest.raises(NotFoundError, match="NoSuchType") as error:
        latest_artifact(store, "NoSuchType")
    assert error.value.field == "type_name"
    with pytest.raises(NotFoundError, match=str(10**9)) as error:
        latest_artifact(store, "Model", context_id=10**9)
    assert error.value.field == "context_id"
    # An id that is not one is the caller's error, not a TypeError nor "no such context".
    for bad in (str(history.contexts["taxi"]), True, 1.0, 2**63):
        with pytest.raises(InvalidArgumentError) as error:
            latest_artifact(store, "Model", context_id=bad)
        assert error.value.field == "context_id"


class _Evaluations:
    """A store as TFX writes one: Model and ModelBlessing types without declared properties
    (blessed and current_model_id are custom ones), a Trainer and an Evaluator (TFX's type
    names), each step a put_execution in the pipeline's and its run's contexts."""

    def __init__(self, store: MetadataStore):
        from graphmd import ArtifactType, ContextType, ExecutionType

        self.store = store
        self.model_t = store.put_artifact_type(ArtifactType(name="Model"))
        self.blessing_t = store.put_artifact_type(ArtifactType(name="ModelBlessing"))
        self.trainer_t = store.put_execution_type(ExecutionType(name="tfx.components.trainer.component.Trainer"))
        self.evaluator_t = store.put_execution_type(ExecutionType(name="tfx.components.evaluator.component.Evaluator"))
        self.pipeline_t = store.put_context_type(ContextType(name="pipeline"))
        self.run_t = store.put_context_type(ContextType(name="pipeline_run"))
        self.runs = 0

    def contexts(self, pipeline: str) -> list[Context]:
        self.runs += 1
        return [Context(type_id=self.pipeline_t, name=pipeline), Context(type_id=self.run_t, name=f"run-{self.runs}")]

    def step(self, kind: int, inputs: dict[str, Artifact], outputs: dict[str, Artifact], pipeline: str) -> list[int]:
        from graphmd import ArtifactAndEvent, Event

        pairs = [ArtifactAndEvent(event=Event(artifact_id=a.id, type=EventType.INPUT, path=[key, 0]))
                 for key, a in inputs.items()]
        pairs += [ArtifactAndEvent(artifact=a, event=Event(type=EventType.OUTPUT, path=[key, 0]))
                  for key, a in outputs.items()]
        result = self.store.put_execution(Execution(type_id=kind, last_known_state=ExecutionState.COMPLETE), pairs,
                                          self.contexts(pipeline), reuse_context_if_already_exist=True)
        return result.artifact_ids[len(inputs):]

    def train(self, uri: str, pipeline: str = "taxi") -> Artifact:
        [model_id] = self.step(self.trainer_t, {}, {"model": Artifact(type_id=self.model_t, uri=uri,
                                                                      state=ArtifactState.LIVE)}, pipeline)
        return self.store.get_artifacts_by_id([model_id])[0]

    def evaluate(self, model: Artifact, blessed: object, *, baseline: Artifact | None = None, name_model: bool = True,
                 state: ArtifactState | None = ArtifactState.LIVE, pipeline: str = "taxi", **custom: object) -> int:
        """An Evaluator run on ``model``: its blessing, blessed = ``blessed``, naming the
        model in current_model_id as TFX does unless ``name_model`` is false."""
        if name_model:
            custom.setdefault("current_model_id", model.id)
        blessing = Artifact(type_id=self.blessing_t, uri=f"/blessing/{self.runs}", state=state,
                            custom_properties={"blessed": blessed, **custom})
        inputs = {"model": model, **({"baseline_model": baseline} if baseline else {})}
        [blessing_id] = self.step(self.evaluator_t, inputs, {"blessing": blessing}, pipeline)
        return blessing_id


@pytest.fixture(params=["newest first", "every blessing"])
def newest_budget(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """latest_blessed_model asks the newest models for blessings, then reads every blessing
    when none of them is blessed: with no newest models to ask, the same answers must come
    from the second way alone."""
    if request.param == "every blessing":
        monkeypatch.setattr(_pipeline, "_NEWEST_BUDGET", 0)


@pytest.mark.usefixtures("newest_budget")
def test_latest_blessed_model_skips_a_newer_model_that_was_not_blessed(store):
    """The audit's case: a run trains two candidates, A blessed (and pushed), B not; the
    newest model is B, the newest blessed one A."""
    tfx = _Evaluations(store)
    assert latest_blessed_model(store) is None  # no model yet: None, the types exist
    a, b = tfx.train("/m/a"), tfx.train("/m/b")
    assert latest_blessed_model(store) is None  # models, none evaluated
    tfx.evaluate(a, 1)
    tfx.evaluate(b, 0, baseline=a)
    assert latest_artifact(store, "Model").id == b.id
    assert latest_blessed_model(store) == a
    assert latest_blessed_model(store, "Model", blessing_type="ModelBlessing", context_id=None) == a
    # The Evaluator blesses what it read as "model", not its baseline: C blessed against
    # baseline D blesses C only (without current_model_id the input key decides).
    c, d = tfx.train("/m/c"), tfx.train("/m/d")
    tfx.evaluate(c, 1, baseline=d, name_model=False)
    assert latest_blessed_model(store).id == c.id
    # A later blessing of a newer model (its creation is what orders) moves it on.
    tfx.evaluate(d, 1, name_model=False)
    assert latest_blessed_model(store).id == d.id


@pytest.mark.usefixtures("newest_budget")
def test_a_blessing_is_blessed_1_of_a_live_or_unset_blessing(store):
    """blessed 0 blesses nothing; 1 or true does, as a custom property or a declared one;
    the blessing must be LIVE or have no state (a failed Evaluator's ABANDONED one does not
    count, nor does a DELETED one); the model must be LIVE."""
    from graphmd import ArtifactType, PropertyType

    tfx = _Evaluations(store)
    old = tfx.train("/m/old")
    tfx.evaluate(old, 1)
    newer = [tfx.train(f"/m/{i}") for i in range(7)]
    tfx.evaluate(newer[0], 0)
    tfx.evaluate(newer[1], 1, state=ArtifactState.ABANDONED)
    tfx.evaluate(newer[2], 1, state=ArtifactState.DELETED)
    tfx.evaluate(newer[3], 1, state=ArtifactState.PENDING)
    tfx.evaluate(newer[4], "1")  # text is no blessing
    tfx.evaluate(newer[5], 1.0, current_model_id=newer[6].id)  # names another model: blesses that one only
    assert latest_blessed_model(store).id == newer[6].id
    store.put_artifacts([newer[6].model_copy(update={"state": ArtifactState.DELETED})])  # the model no longer LIVE
    assert latest_blessed_model(store).id == old.id
    tfx.evaluate(newer[4], True, state=None)  # no state, blessed true
    assert latest_blessed_model(store).id == newer[4].id
    # A blessing type declaring blessed (as graphmd's demo pipeline does) counts the same.
    store.put_artifact_type(ArtifactType(name="Blessing", properties={"blessed": PropertyType.INT}))
    latest = tfx.train("/m/latest")
    blessing_t = store.get_artifact_type("Blessing").id
    store.put_execution(Execution(type_id=tfx.evaluator_t), [
        (None, Event(artifact_id=latest.id, type=EventType.INPUT, path=["model", 0])),
        (Artifact(type_id=blessing_t, properties={"blessed": 1}, state=ArtifactState.LIVE),
         Event(type=EventType.OUTPUT, path=["blessing", 0]))])
    assert latest_blessed_model(store, blessing_type="Blessing").id == latest.id
    assert latest_blessed_model(store).id == newer[4].id  # a Blessing is no ModelBlessing


@pytest.mark.usefixtures("newest_budget")
def test_two_evaluations_of_one_model(store):
    """An Evaluator run twice on a model: a blessing of 0 does not take back one of 1 (TFX's
    resolver reads them so), and a model blessed twice is one answer."""
    tfx = _Evaluations(store)
    a, b, c = tfx.train("/m/a"), tfx.train("/m/b"), tfx.train("/m/c")
    tfx.evaluate(a, 1)
    tfx.evaluate(b, 1)
    tfx.evaluate(b, 0, baseline=a)
    assert latest_blessed_model(store).id == b.id
    tfx.evaluate(c, 0)
    tfx.evaluate(c, 1, name_model=False)
    tfx.evaluate(c, 1)
    assert latest_blessed_model(store).id == c.id
    # Creation time orders, then id: a model created earlier is older whatever its id.
    store.driver.execute_query("MATCH (m:Artifact {id: $id}) SET m.create_time_since_epoch = 0", id=c.id,
                               database_=store.database)
    assert latest_blessed_model(store).id == b.id


@pytest.mark.usefixtures("newest_budget")
def test_latest_blessed_model_within_a_context(store):
    """context_id narrows the models: a newer blessed model of another pipeline is the
    newest overall, not within "taxi"; a model of "taxi" blessed by an Evaluator outside it
    counts there."""
    tfx = _Evaluations(store)
    mine, theirs = tfx.train("/m/mine"), tfx.train("/m/theirs", pipeline="other")
    tfx.evaluate(mine, 1)
    tfx.evaluate(theirs, 1, pipeline="other")
    taxi = store.get_context_by_type_and_name("pipeline", "taxi").id
    other = store.get_context_by_type_and_name("pipeline", "other").id
    assert latest_blessed_model(store).id == theirs.id
    assert latest_blessed_model(store, context_id=taxi).id == mine.id
    assert latest_blessed_model(store, context_id=other).id == theirs.id
    newer = tfx.train("/m/newer")
    assert latest_blessed_model(store, context_id=taxi).id == mine.id
    tfx.evaluate(newer, 1, pipeline="other")
    assert latest_blessed_model(store, context_id=taxi).id == newer.id
    run_1 = store.get_context_by_type_and_name("pipeline_run", "run-1").id  # the run that trained "mine"
    assert latest_blessed_model(store, context_id=run_1).id == mine.id
    run_2 = store.get_context_by_type_and_name("pipeline_run", "run-2").id  # trained "theirs", blessed nothing
    assert latest_blessed_model(store, context_id=run_2).id == theirs.id
    empty = store.put_contexts([Context(type_id=tfx.run_t, name="empty")])[0]
    assert latest_blessed_model(store, context_id=empty) is None


def test_latest_blessed_model_errors(store):
    """A misspelt type or a context that does not exist is an error, not "no model yet";
    an id that is not one is the caller's error."""
    tfx = _Evaluations(store)
    tfx.evaluate(tfx.train("/m/a"), 1)
    with pytest.raises(NotFoundError, match="'Modle'") as error:
        latest_blessed_model(store, "Modle")
    assert error.value.field == "model_type"
    with pytest.raises(NotFoundError, match="'ModelBlesing'") as error:
        latest_blessed_model(store, blessing_type="ModelBlesing")
    assert error.value.field == "blessing_type"
    with pytest.raises(NotFoundError, match=str(10**9)) as error:
        latest_blessed_model(store, context_id=10**9)
    assert error.value.field == "context_id"
    for bad in ("1", True, 2.0, 2**63, -(2**63) - 1):
        with pytest.raises(InvalidArgumentError) as error:
            latest_blessed_model(store, context_id=bad)
        assert error.value.field == "context_id"
    for field, given in (("model_type", {"model_type": 7}), ("blessing_type", {"blessing_type": None})):
        with pytest.raises(InvalidArgumentError) as error:
            latest_blessed_model(store, **given)
        assert error.value.field == field


@pytest.mark.usefixtures("newest_budget")
def test_latest_blessed_model_on_the_demo_history(store):
    """In the generated history (blessed as a declared property, no current_model_id) the
    newest blessed model is the last one the Pusher pushed, though run 9's is newer."""
    history = record_history(store, 10)
    blessed = [p.context_name for p in history.plans if p.step("Pusher").outputs["pushed_model"]]
    assert blessed[-1] == "run-0008"  # run-0009's model was not blessed
    newest = history.artifacts["run-0008/model"]
    assert latest_artifact(store, "Model").id == history.artifacts["run-0009/model"]
    assert latest_blessed_model(store).id == newest
    assert latest_blessed_model(store, context_id=history.contexts["taxi"]).id == newest
    # A run's context holds its inputs too (TFX attributes them so): in run 9, its Evaluator's
    # baseline, run 8's model, is the blessed one.
    assert latest_blessed_model(store, context_id=history.contexts["run-0009"]).id == newest
    assert latest_blessed_model(store, context_id=history.contexts["run-0003"]).id == \
        history.artifacts["run-0002/model"]


def test_latest_blessed_model_asks_the_newest_models_not_every_blessing(store):
    """Every run's Evaluator writes a blessing, so reading them all grew with the pipeline
    (24 ms on 10,000 runs); the newest models are asked for theirs first, by the model their
    current_model_id names (indexed) or their Evaluator's input."""
    history = record_history(store, 300, batch_runs=50)
    blessed = [p.context_name for p in history.plans if p.step("Pusher").outputs["pushed_model"]]
    newest = history.artifacts[f"{blessed[-1]}/model"]
    assert blessed[-1] != "run-0299"  # the newest model was not blessed: more than one is asked
    assert latest_blessed_model(store).id == newest
    params = {"model_type": "Model", "blessing_type": "ModelBlessing", "context_id": history.contexts["taxi"]}
    def profiled(query: str, **extra: object) -> tuple[list[int], int]:
        result = store.driver.execute_query("PROFILE " + query, params, database_=store.database, **extra)
        return [r["model"]["id"] for r in result.records], db_hits(result.summary.profile)
    def both() -> tuple[int, int, int]:
        """db hits of each read, and how many of the newest models the first one asks."""
        first, first_hits = profiled(q.LATEST_BLESSED_MODEL_AMONG_NEWEST, budget=_pipeline._NEWEST_BUDGET)
        every, every_hits = profiled(_cypher_files.load("latest_blessed_model"))
        last_blessed = [p for p in history.plans if p.step("Pusher").outputs["pushed_model"]][-1]
        assert first == every == [history.artifacts[f"{last_blessed.context_name}/model"]]
        return first_hits, every_hits, len(history.plans) - last_blessed.number
    # The pipeline doubles: reading every blessing grows with it; asking the newest models costs
    # the same per model asked (they are asked until one is blessed).
    first_hits, every_hits, asked = both()
    record_history(store, 300, batch_runs=50, history=history)
    grown_first_hits, grown_every_hits, grown_asked = both()
    assert grown_first_hits / grown_asked <= first_hits / asked * 1.25 and grown_first_hits < 1_000, (
        first_hits, asked, grown_first_hits, grown_asked)
    assert grown_every_hits >= every_hits * 1.5, (every_hits, grown_every_hits)
    # Blessings that name their model, as TFX's Evaluator does, are found by the name.
    types = history.type_ids
    [named] = store.put_artifacts([Artifact(type_id=types["Model"], uri="/m/named", state=ArtifactState.LIVE)])
    store.put_attributions_and_associations([Attribution(context_id=history.contexts["taxi"], artifact_id=named)], [])
    store.put_execution(Execution(type_id=types["Evaluator"]), [  # it read no model: the name is what counts
        (Artifact(type_id=types["ModelBlessing"], state=ArtifactState.LIVE,
                  custom_properties={"blessed": 1, "current_model_id": named}), Event(type=EventType.OUTPUT))])
    first, first_hits = profiled(q.LATEST_BLESSED_MODEL_AMONG_NEWEST, budget=_pipeline._NEWEST_BUDGET)
    assert first == [named] and first_hits < 600, first_hits
    assert latest_blessed_model(store, context_id=history.contexts["taxi"]).id == named


def test_warm_start_resolves_each_runs_previous_model(store):
    """Runs recorded step by step: the resolver hands each Trainer the previous run's model,
    also after a run in another pipeline wrote a newer model; each Evaluator gets the newest
    blessed model as its baseline, which after run 3 (not blessed) is not the newest."""
    history = History()
    plans = plan_runs(6)
    assert record_run(store, plans[0], history) is None
    for plan in plans[1:]:
        if plan.number == 3:
            with record_execution(store, Execution(type_id=history.type_ids["Trainer"]),
                                  contexts=[Context(type_id=history.type_ids["Pipeline"], name="other")]) as other:
                other.output("model", Artifact(type_id=history.type_ids["Model"], uri="/models/other"))
        assert record_run(store, plan, history) == f"run-{plan.number - 1:04d}/model"
        trainer = history.executions[plan.step("Trainer").name]
        assert inputs_of(store, trainer)["base_model"] == [history.artifacts[f"run-{plan.number - 1:04d}/model"]]
        evaluator = history.executions[plan.step("Evaluator").name]
        assert inputs_of(store, evaluator)["baseline_model"] == [
            history.artifacts[name] for name in plan.step("Evaluator").inputs["baseline_model"]]
    assert plans[4].step("Evaluator").inputs["baseline_model"] == ["run-0002/model"]
    assert {x.last_known_state for x in store.get_executions_by_context(history.contexts["taxi"])} == {
        ExecutionState.COMPLETE}
    assert len(store.get_executions_by_context(history.contexts["taxi"])) == 6 * 7


def test_context_manager_records_success(store):
    from graphmd._tfx_pipeline import register_types

    types = register_types(store)
    [data] = store.put_artifacts([Artifact(type_id=types["Examples"], uri="/data/0", state=ArtifactState.LIVE)])
    before = store.counts()
    run_context = Context(type_id=types["PipelineRun"], name="r1")
    with record_execution(store, Execution(type_id=types["Trainer"], name="t", properties={"num_steps": 5}),
                          {"examples": store.get_artifacts_by_id([data])}, [run_context]) as run:
        stored = store.get_executions_by_id([run.execution.id])[0]
        assert stored.last_known_state == ExecutionState.RUNNING  # visible while the step runs
        assert [e.artifact_id for e in store.get_events_by_execution_ids([run.execution.id])] == [data]
        run.output("model", Artifact(type_id=types["Model"], uri="/m/1"))
        run.output("model", Artifact(type_id=types["Model"], uri="/m/2"))
    done = store.get_executions_by_id([run.execution.id])[0]
    assert done.last_known_state == ExecutionState.COMPLETE and done.properties == {"num_steps": 5}
    # What the block hands back is as stored: ids, times, the type's name.
    assert run.execution == done and run.execution.create_time_since_epoch
    assert run.outputs["model"] == store.get_artifacts_by_id([a.id for a in run.outputs["model"]])
    assert all(a.create_time_since_epoch and a.type == "Model" for a in run.outputs["model"])
    events = store.get_events_by_execution_ids([run.execution.id])
    outputs = sorted((e.path, e.artifact_id) for e in events if e.type == EventType.OUTPUT)
    assert outputs == [(["model", 0], run.outputs["model"][0].id), (["model", 1], run.outputs["model"][1].id)]
    assert all(a.state == ArtifactState.LIVE for a in store.get_artifacts_by_id([a.id for a in run.outputs["model"]]))
    [ctx] = store.get_contexts_by_execution(run.execution.id)
    assert ctx.name == "r1"
    assert {a.id for a in store.get_artifacts_by_context(ctx.id)} == {data, *(a.id for a in run.outputs["model"])}
    after = store.counts()
    assert (after["executions"], after["artifacts"], after["events"]) == (
        before["executions"] + 1, before["artifacts"] + 2, before["events"] + 3)


def test_context_manager_records_failure_and_reraises(store):
    from graphmd._tfx_pipeline import register_types

    types = register_types(store)
    with pytest.raises(ValueError, match="bad learning rate"):
        with record_execution(store, Execution(type_id=types["Trainer"], name="t"),
                              contexts=[Context(type_id=types["PipelineRun"], name="r2")]) as run:
            run.output("model", Artifact(type_id=types["Model"], uri="/never"))
            raise ValueError("bad learning rate")
    failed = store.get_executions_by_id([run.execution.id])[0]
    assert failed.last_known_state == ExecutionState.FAILED
    assert failed.custom_properties["error"] == "bad learning rate"
    assert failed.custom_properties["error_type"] == "ValueError"
    assert "raise ValueError" in failed.custom_properties["error_traceback"]
    assert store.get_artifacts() == []  # outputs of a failed step are not written
    assert [c.name for c in store.get_contexts_by_execution(failed.id)] == ["r2"]


def test_a_failure_with_text_that_is_not_unicode_is_recorded_and_reraised(store):
    """A file name decoded with os.fsdecode holds lone surrogates, which no store takes as
    text: the step is still FAILED, the text escaped, and the block's own error propagates."""
    import os

    from graphmd._tfx_pipeline import register_types

    types = register_types(store)
    name = os.fsdecode(b"/data/caf\xe9.csv")
    with pytest.raises(FileNotFoundError, match="cannot read"):
        with record_execution(store, Execution(type_id=types["Trainer"], name="t")) as run:
            raise FileNotFoundError(f"cannot read {name}")
    failed = store.get_executions_by_id([run.execution.id])[0]
    assert failed.last_known_state == ExecutionState.FAILED
    assert failed.custom_properties["error"] == "cannot read /data/caf\\udce9.csv"
    assert "caf\\udce9" in failed.custom_properties["error_traceback"]


def test_a_failure_that_cannot_be_recorded_still_reaches_the_step_as_raised(store, neo4j_server):
    """When the FAILED record cannot be written, the step's own error is what propagates
    (an ``except`` for it must still fire), with a note that the execution stays RUNNING."""
    from graphmd._tfx_pipeline import register_types

    types = register_types(store)
    own = MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database)
    with pytest.raises(ZeroDivisionError) as error:
        with record_execution(own, Execution(type_id=types["Trainer"], name="t")) as run:
            own.close()  # the store is gone by the time the block fails
            raise ZeroDivisionError("loss diverged")
    [note] = error.value.__notes__
    assert note.startswith(f"graphmd: execution {run.execution.id} could not be marked FAILED, so it stays "
                           "RUNNING: this MetadataStore is closed")
    assert store.get_executions_by_id([run.execution.id])[0].last_known_state == ExecutionState.RUNNING


def test_context_manager_rejects_bad_input_and_stores_nothing(store):
    from graphmd._tfx_pipeline import register_types

    types = register_types(store)
    before = store.counts()
    with pytest.raises(InvalidArgumentError) as error:
        with record_execution(store, Execution(type_id=types["Trainer"]),
                              {"examples": [Artifact(type_id=types["Examples"])]}):
            pass
    assert error.value.field == "inputs['examples'][0].id"
    with pytest.raises(InvalidArgumentError):
        with record_execution(store, Execution(type_id=types["Trainer"], properties={"no_such": 1})):
            pass
    assert store.counts() == before


def test_compare_runs_marks_differences(store, history):
    comparison = compare_runs(store, ["run-0006", "run-0007", "run-0009"])
    params = {c.field: c for c in comparison.parameters}
    assert params["Trainer.learning_rate"].values == [0.1, 0.03, 0.1] and params["Trainer.learning_rate"].differs
    assert params["Trainer.module_file"].values == ["taxi_utils.py"] * 3 and not params["Trainer.module_file"].differs
    assert params["ExampleGen.span"].differs
    metrics = {c.field: c for c in comparison.metrics}
    assert set(metrics) == {"ModelEvaluation.accuracy", "ModelEvaluation.auc"}
    expected = [history.plans[r].step("Evaluator").outputs["evaluation"][0].properties["accuracy"] for r in (6, 7, 9)]
    assert metrics["ModelEvaluation.accuracy"].values == expected
    table = comparison.table()
    assert table[0] == ["", "field", "run-0006", "run-0007", "run-0009"]
    assert ["*", "Trainer.learning_rate", "0.1", "0.03", "0.1"] in table
    with pytest.raises(NotFoundError):
        compare_runs(store, ["run-0006", "run-9999"])
    # Names from a generator: it was used up by the read, and the comparison came back empty.
    assert compare_runs(store, (f"run-000{i}" for i in (6, 7, 9))) == comparison


def test_compare_runs_says_which_model_was_blessed_and_pushed(store, history):
    """Why run-0004's model was preferred over run-0003's: the metrics alone do not say it;
    run-0004's Evaluator blessed it (against run-0002's model, as run-0003's compared with)
    and its Pusher pushed it, while run-0003's model was neither."""
    comparison = compare_runs(store, ["run-0003", "run-0004"])
    assert [p.step("Evaluator").outputs["blessing"][0].properties["blessed"] for p in history.plans[3:5]] == [0, 1]
    evaluators = [history.executions[f"run-000{r}/Evaluator"] for r in (3, 4)]
    pushers = [history.executions[f"run-000{r}/Pusher"] for r in (3, 4)]
    outcome = {o.field: o for o in comparison.outcome}
    assert list(outcome) == ["blessed", "baseline", "pushed", "pushed to", "pushed at"]
    assert outcome["blessed"].values == [False, True] and outcome["blessed"].differs
    assert outcome["blessed"].sources == [[f"Evaluator #{evaluators[0]}"], [f"Evaluator #{evaluators[1]}"]]
    baseline = f"Model #{history.artifacts['run-0002/model']} run-0002/model"
    assert outcome["baseline"].values == [baseline, baseline] and not outcome["baseline"].differs
    assert outcome["pushed"].values == [False, True] and outcome["pushed"].differs
    assert outcome["pushed to"].values == [None, "/serving/taxi"]
    [pushed] = store.get_artifacts_by_id([history.artifacts["run-0004/pushed_model"]])
    assert outcome["pushed at"].values == [None, pushed.create_time_since_epoch]
    table = comparison.table()
    assert ["*", "blessed", f"no (Evaluator #{evaluators[0]})", f"yes (Evaluator #{evaluators[1]})"] in table
    assert ["", "baseline", baseline, baseline] in table
    assert ["*", "pushed", f"no (Pusher #{pushers[0]})", f"yes (Pusher #{pushers[1]})"] in table
    when = next(row for row in table if row[1] == "pushed at")
    assert when[:3] == ["*", "pushed at", ""] and when[3].endswith(" UTC") and when[3][:2] == "20"
    assert comparison.to_dict()["outcome"][0] == {
        "field": "blessed", "type": None, "property": None, "custom": False, "differs": True,
        "values": [False, True], "sources": [[f"Evaluator #{evaluators[0]}"], [f"Evaluator #{evaluators[1]}"]]}
    # The first run compared with nothing; a run without Evaluator or Pusher has no outcome.
    first = {o.field: o for o in compare_runs(store, ["run-0000"]).outcome}
    assert first["baseline"].values == ["none"] and first["blessed"].values == [True]
    run_t = history.type_ids["PipelineRun"]
    store.put_contexts([Context(type_id=run_t, name="bare")])
    assert compare_runs(store, ["bare"]).outcome == []
    # A blessing and a push since marked DELETED keep what the run recorded, and say so.
    for key in ("run-0004/blessing", "run-0004/pushed_model"):
        [gone] = store.get_artifacts_by_id([history.artifacts[key]])
        store.put_artifacts([gone.model_copy(update={"state": ArtifactState.DELETED})])
    later = {o.field: o for o in compare_runs(store, ["run-0003", "run-0004"]).outcome}
    assert later["blessed"].values == [False, True] and later["pushed"].values == [False, True]
    assert later["blessed"].sources[1] == [f"Evaluator #{evaluators[1]}, blessing DELETED"]
    assert later["pushed"].sources[1] == [f"Pusher #{pushers[1]}, push DELETED"]


def test_compare_runs_names_an_earlier_run_s_model_a_run_pushed(store, history):
    """A rollback run re-deploys an older model (docs/lineage.md): compare said only "pushed:
    yes", read as this run's model pushed, though its own was not. It names the model."""
    older = history.artifacts["run-0002/model"]
    with record_execution(store, Execution(type_id=history.type_ids["Pusher"]), {"model": [older]},
                          [Context(type_id=history.type_ids["PipelineRun"], name="rollback")]) as push:
        push.output("pushed_model", Artifact(type_id=history.type_ids["PushedModel"], uri="/serving/taxi/back",
                                             properties={"pushed_destination": "/serving/taxi"}))
    outcome = {o.field: o for o in compare_runs(store, ["run-0004", "rollback"]).outcome}
    assert outcome["pushed"].values == [True, True]
    pusher = history.executions["run-0004/Pusher"]
    assert outcome["pushed"].sources == [[f"Pusher #{pusher}"],
                                         [f"Pusher #{push.execution.id}: Model #{older} run-0002/model, not this run's"]]


def test_compare_runs_outcome_as_tfx_records_it(store):
    """TFX's type names and custom properties: blessed and baseline_model_id on the blessing,
    pushed = 0 on the PushedModel of a model not pushed; a FAILED Evaluator blessed nothing, a
    CACHED Pusher pushed nothing new; a run's two Evaluators and two Pushers each say theirs."""
    from graphmd import ArtifactAndEvent, ArtifactType, ContextType, ExecutionType

    model_t = store.put_artifact_type(ArtifactType(name="Model"))
    blessing_t = store.put_artifact_type(ArtifactType(name="ModelBlessing"))
    pushed_t = store.put_artifact_type(ArtifactType(name="PushedModel"))
    evaluator_t = store.put_execution_type(ExecutionType(name="tfx.components.evaluator.component.Evaluator"))
    pusher_t = store.put_execution_type(ExecutionType(name="tfx.components.pusher.component.Pusher"))
    run_t = store.put_context_type(ContextType(name="pipeline_run"))
    m0, m1, m2 = store.put_artifacts([Artifact(type_id=model_t, name=f"m{i}", uri=f"/m/{i}") for i in range(3)])

    def step(run: str, type_id: int, state: ExecutionState, inputs: dict[str, int], output: Artifact | None) -> int:
        pairs = [ArtifactAndEvent(event=Event(artifact_id=a, type=EventType.INPUT, path=[key, 0]))
                 for key, a in inputs.items()]
        if output is not None:
            pairs.append(ArtifactAndEvent(artifact=output, event=Event(type=EventType.OUTPUT, path=["out", 0])))
        return store.put_execution(Execution(type_id=type_id, last_known_state=state), pairs,
                                   [Context(type_id=run_t, name=run)], reuse_context_if_already_exist=True).execution_id

    done, failed, cached = ExecutionState.COMPLETE, ExecutionState.FAILED, ExecutionState.CACHED
    e1 = step("r1", evaluator_t, done, {"model": m1, "baseline_model": m0},
              Artifact(type_id=blessing_t, custom_properties={"blessed": 0, "current_model_id": m1}))
    p1 = step("r1", pusher_t, done, {"model": m1}, Artifact(type_id=pushed_t, uri="/p/1", custom_properties={"pushed": 0}))
    e2f = step("r2", evaluator_t, failed, {"model": m2}, None)
    e2 = step("r2", evaluator_t, done, {"model": m2},
              Artifact(type_id=blessing_t, custom_properties={"blessed": 1, "baseline_model_id": m0}))
    p2c = step("r2", pusher_t, cached, {"model": m2}, Artifact(type_id=pushed_t, uri="/p/old",
                                                                custom_properties={"pushed": 1}))
    p2 = step("r2", pusher_t, done, {"model": m2}, Artifact(type_id=pushed_t, uri="/p/2", custom_properties={
        "pushed": 1, "pushed_destination": "gs://serving/m"}))
    outcome = {o.field: o for o in compare_runs(store, ["r1", "r2"], run_type="pipeline_run").outcome}
    assert outcome["blessed"].values == [False, [None, True]]
    assert outcome["blessed"].sources == [[f"Evaluator #{e1}"], [f"Evaluator #{e2f} FAILED", f"Evaluator #{e2}"]]
    assert outcome["baseline"].values == [f"Model #{m0} m0", f"Model #{m0} m0"]  # read, or named by id
    assert outcome["pushed"].values == [False, [False, True]]
    assert outcome["pushed"].sources == [[f"Pusher #{p1}"], [f"Pusher #{p2c} CACHED", f"Pusher #{p2}"]]
    assert outcome["pushed to"].values == [None, "gs://serving/m"]
    table = compare_runs(store, ["r1", "r2"], run_type="pipeline_run").table()
    assert ["*", "blessed", f"no (Evaluator #{e1})", f"none (Evaluator #{e2f} FAILED); yes (Evaluator #{e2})"] in table
    assert ["*", "pushed", f"no (Pusher #{p1})", f"no (Pusher #{p2c} CACHED); yes (Pusher #{p2})"] in table
    # A run whose only Evaluator FAILED: no blessing, and it says which.
    e3 = step("r3", evaluator_t, failed, {"model": m2}, None)
    alone = compare_runs(store, ["r3"], run_type="pipeline_run")
    assert [(o.field, o.values) for o in alone.outcome] == [("blessed", [None])]
    assert alone.table()[-1] == ["", "blessed", f"none (Evaluator #{e3} FAILED)"]


def _run_with_a_failed_trainer(store: MetadataStore, types: dict[str, int], name: str, rate: float) -> Context:
    """The run context ``name`` (made if new) with a Trainer at ``rate`` that raised OOM."""
    run = Context(type_id=types["PipelineRun"], name=name)
    with pytest.raises(RuntimeError):
        with record_execution(store, Execution(type_id=types["Trainer"], properties={"learning_rate": rate}), {}, [run]):
            raise RuntimeError("OOM")
    return run


def test_compare_runs_shows_every_execution_of_a_component_in_a_run(store):
    """A run that retried its Trainer and trained a second candidate holds three Trainers and
    two evaluations: each value is shown with the node it came from, none silently dropped."""
    history = record_history(store, 2)
    types = history.type_ids
    run = _run_with_a_failed_trainer(store, types, "run-0001", 0.5)
    with record_execution(store, Execution(type_id=types["Trainer"], properties={"learning_rate": 0.2}), {},
                          [run]) as second:
        pass
    with record_execution(store, Execution(type_id=types["Evaluator"]), {}, [run]) as evaluator:
        evaluator.output("evaluation", Artifact(type_id=types["ModelEvaluation"], properties={"accuracy": 0.5}))
    first = history.executions["run-0001/Trainer"]
    [failed] = [x.id for x in store.get_executions_by_type("Trainer") if x.last_known_state == ExecutionState.FAILED]
    accuracy = [history.plans[r].step("Evaluator").outputs["evaluation"][0].properties["accuracy"] for r in (0, 1)]

    comparison = compare_runs(store, ["run-0000", "run-0001"])
    params = {c.field: c for c in comparison.parameters}
    assert params["Trainer.learning_rate"].values == [0.1, [0.03, 0.5, 0.2]] and params["Trainer.learning_rate"].differs
    assert params["Trainer.error"].values == [None, "OOM"]  # one of the three has it: a value, named
    metrics = {c.field: c for c in comparison.metrics}
    assert metrics["ModelEvaluation.accuracy"].values == [accuracy[0], [accuracy[1], 0.5]]
    table = comparison.table()
    assert ["*", "Trainer.learning_rate", "0.1",
            f"0.03 (#{first}); 0.5 (#{failed} FAILED); 0.2 (#{second.execution.id})"] in table
    assert ["*", "Trainer.error (custom)", "", f"OOM (#{failed} FAILED)"] in table
    module = params["Trainer.module_file"]  # one Trainer had it in each run, and the same: no '*'
    assert module.values == ["taxi_utils.py", "taxi_utils.py"] and not module.differs
    assert module.sources == [[], [f"#{first}"]]
    same = {c.field: c for c in compare_runs(store, ["run-0001", "run-0001"]).parameters}
    assert not same["Trainer.learning_rate"].differs


def test_compare_runs_marks_a_run_s_only_execution_when_it_did_not_complete(store):
    """A run whose only Trainer FAILED: its values say so, in the table and in sources."""
    _run_with_a_failed_trainer(store, record_history(store, 1).type_ids, "run-failed", 0.7)
    [failed] = [x.id for x in store.get_executions_by_type("Trainer") if x.last_known_state == ExecutionState.FAILED]
    params = {c.field: c for c in compare_runs(store, ["run-0000", "run-failed"]).parameters}
    rate = params["Trainer.learning_rate"]
    assert rate.values == [0.1, 0.7] and rate.sources == [[], [f"#{failed} FAILED"]]
    assert rate.row() == ["*", "Trainer.learning_rate", "0.1", f"0.7 (#{failed} FAILED)"]
    assert rate.to_dict()["sources"] == [[], [f"#{failed} FAILED"]]


def test_compare_lineage_shows_what_differs_in_how_two_models_were_made(store, history):
    from graphmd import compare_lineage

    a, b = history.artifacts["run-0010/model"], history.artifacts["run-0011/model"]
    near = compare_lineage(store, [a, b], max_hops=2)
    params = {c.field: c for c in near.parameters}
    for field in ("learning_rate", "batch_size", "num_steps"):
        expected = [history.plans[r].step("Trainer").properties[field] for r in (10, 11)]
        assert params[f"Trainer.{field}"].values == expected
        assert params[f"Trainer.{field}"].differs == (expected[0] != expected[1])
    only_a, only_b = ({n.name for n in nodes} for nodes in near.only)
    # 11 warm-started from 10: all 10 came from, 11 came from too, further away
    assert only_a == set() and {"run-0010/examples", "run-0010/Trainer"} <= {n.name for n in near.shared}
    assert {"run-0011/examples", "run-0010/model"} <= only_b
    assert {n.name for n in near.shared} & {"run-0009/model"}                   # both read model 9
    assert [x.id for x in near.artifacts] == [a, b]
    table = near.table()
    assert table[0] == ["", "field", f"Model #{a}", f"Model #{b}"]
    # Unlimited: model 11 was made from model 10, so 10's whole lineage is part of 11's.
    full = compare_lineage(store, [a, b])
    assert full.only[0] == [] and len(full.shared) > len(near.shared)
    spans = {c.field: c for c in full.parameters}["ExampleGen.span"]
    assert spans.values == [10, 11] and spans.differs


@pytest.mark.parametrize("runs", [(10, 12), (12, 10), (7, 30), (20, 21, 23)])
def test_compare_lineage_only_is_what_no_other_came_from_at_any_depth(store, history, runs):
    """"only A" is a node upstream of A that no other compared artifact came from at any
    distance, whatever max_hops; shared is upstream of all; both within max_hops of one of
    them. Checked against each artifact's whole upstream lineage from get_lineage_subgraph."""
    from graphmd import compare_lineage

    ids = [history.artifacts[f"run-{r:04d}/model"] for r in runs]

    def upstream(artifact_id: int, hops: int | None) -> set[tuple[str, int]]:
        graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
            starting_artifacts=NodeSelector(ids=[artifact_id]), direction=LineageDirection.UPSTREAM,
            max_num_hops=hops))
        return ({("Artifact", a.id) for a in graph.artifacts} | {("Execution", x.id) for x in graph.executions}) - {
            ("Artifact", artifact_id)}

    whole = [upstream(i, None) for i in ids]
    for hops in (0, 1, 2, 4, 7, None):
        near = [upstream(i, hops) for i in ids]
        comparison = compare_lineage(store, ids, max_hops=hops)
        for i, nodes in enumerate(comparison.only):
            got = {(type(n).__name__, n.id) for n in nodes}
            assert got == {k for k in near[i] if not any(k in w for j, w in enumerate(whole) if j != i)}, hops
        assert {(type(n).__name__, n.id) for n in comparison.shared} == set.intersection(*whole) & set.union(*near)
    # The reviewer's case: model 10 is 4 runs' warm starts above model 14; with 4 hops its
    # examples (2 above 10, 10 above 14) were "only A". They are shared.
    a, b = history.artifacts["run-0010/model"], history.artifacts["run-0014/model"]
    four = compare_lineage(store, [a, b], max_hops=4)
    assert four.only[0] == [] and "run-0010/examples" in {n.name for n in four.shared}
    with pytest.raises(InvalidArgumentError, match="max_hops cannot be negative"):
        compare_lineage(store, [a, b], max_hops=-1)


def test_compare_lineage_errors(store, history):
    from graphmd import InvalidArgumentError, NotFoundError, compare_lineage

    with pytest.raises(InvalidArgumentError) as error:
        compare_lineage(store, [history.artifacts["run-0010/model"]])
    assert error.value.field == "artifact_ids"
    with pytest.raises(NotFoundError, match="no artifact with id 999999999"):
        compare_lineage(store, [history.artifacts["run-0010/model"], 999_999_999])
    with pytest.raises(InvalidArgumentError) as error:
        compare_lineage(store, [history.artifacts["run-0010/model"], "run-0011/model"])
    assert error.value.field == "artifact_ids[1]"
    # Stored Artifacts, as the other helpers take them (it said "an id is an integer, not Artifact(...)").
    a, b = store.get_artifacts_by_id([history.artifacts["run-0010/model"], history.artifacts["run-0011/model"]])
    assert compare_lineage(store, [a, b], max_hops=4) == compare_lineage(store, [a.id, b.id], max_hops=4)


def _trainer_setup(store: MetadataStore) -> tuple[dict[str, int], list[Artifact]]:
    """The TFX types, and two stored artifacts: examples and a base model."""
    from graphmd._tfx_pipeline import register_types

    types = register_types(store)
    ids = store.put_artifacts([Artifact(type_id=types["Examples"], uri="/data/0", state=ArtifactState.LIVE),
                               Artifact(type_id=types["Model"], uri="/m/0", state=ArtifactState.LIVE)])
    return types, store.get_artifacts_by_id(ids)


def test_both_helpers_take_inputs_as_artifacts_or_ids(store):
    """The dict record_execution is given also looks the step up, and ids do as well."""
    types, (examples, base) = _trainer_setup(store)
    inputs = {"examples": [examples], "base_model": [base]}
    assert find_cached_execution(store, "Trainer", inputs) is None
    with record_execution(store, Execution(type_id=types["Trainer"]), inputs) as step:
        step.output("model", Artifact(type_id=types["Model"], uri="/m/1"))
    for shape in (inputs, {"examples": [examples.id], "base_model": [base.id]},
                  {"examples": (examples,), "base_model": [base.id]}):
        hit = find_cached_execution(store, "Trainer", shape)
        assert hit is not None and hit.execution.id == step.execution.id
    # record_execution takes ids too, and hands back the stored artifacts they name.
    with record_execution(store, Execution(type_id=types["Trainer"]),
                          {"examples": [examples.id], "base_model": [base]}) as again:
        assert again.inputs == {"examples": [examples], "base_model": [base]}
    assert inputs_of(store, again.execution.id) == {"examples": [examples.id], "base_model": [base.id]}


@pytest.mark.parametrize(("value", "field"), [
    ([Artifact(type_id=1)], "inputs['base_model'][0].id"),  # not stored
    (["/m/0"], "inputs['base_model'][0]"),
    ([True], "inputs['base_model'][0]"),
    ([None], "inputs['base_model'][0]"),
    ([2**63], "inputs['base_model'][0]"),
    ("not a list", "inputs['base_model']"),
    (Artifact(id=1, type_id=1), "inputs['base_model']"),  # one artifact, not a list of them
])
def test_both_helpers_reject_other_inputs_naming_the_field(store, value, field):
    types, (examples, _) = _trainer_setup(store)
    inputs = {"examples": [examples], "base_model": value}
    before = store.counts()
    with pytest.raises(InvalidArgumentError) as error:
        find_cached_execution(store, "Trainer", inputs)
    assert error.value.field == field
    with pytest.raises(InvalidArgumentError) as error:
        with record_execution(store, Execution(type_id=types["Trainer"]), inputs):
            pass
    assert error.value.field == field
    assert store.counts() == before


def test_an_input_id_that_names_no_artifact(store):
    """An error naming the input, for the lookup (it was a miss, forever) as for the record."""
    types, (examples, base) = _trainer_setup(store)
    with pytest.raises(InvalidArgumentError, match=f"no artifact with id {10**9}") as error:
        find_cached_execution(store, "Trainer", {"examples": [examples], "base_model": [10**9]})
    assert error.value.field == "inputs['base_model'][0]"
    before = store.counts()
    for stale, field in ((10**9, "inputs['base_model'][0]"),
                         (base.model_copy(update={"id": 10**9}), "inputs['base_model'][0].id")):
        with pytest.raises(InvalidArgumentError, match=f"no artifact with id {10**9}") as error:
            with record_execution(store, Execution(type_id=types["Trainer"]),
                                  {"examples": [examples], "base_model": [stale]}):
                pass
        assert error.value.field == field
    assert store.counts() == before


def test_a_misspelt_type_name_is_not_found_rather_than_a_miss(store):
    from graphmd import ExecutionType

    types, (examples, _) = _trainer_setup(store)
    with pytest.raises(NotFoundError, match="'Traner'") as error:
        find_cached_execution(store, "Traner", {"examples": [examples]})
    assert error.value.field == "type_name"
    assert find_cached_execution(store, "Trainer", {"examples": [examples]}) is None  # the type exists
    # Executions record their type by name only: a type that exists only with a version counts.
    store.put_execution_type(ExecutionType(name="Tuner", version="v2"))
    assert find_cached_execution(store, "Tuner", {}) is None
    with pytest.raises(NotFoundError, match="'Nope'") as error:
        latest_artifact(store, "Nope")
    assert error.value.field == "type_name"
    assert latest_artifact(store, "PushedModel") is None  # the type exists
    with pytest.raises(NotFoundError, match="'PipelineRn'") as error:
        compare_runs(store, ["run-1"], run_type="PipelineRn")
    assert error.value.field == "run_type"
    with pytest.raises(NotFoundError) as error:
        compare_runs(store, ["run-1"])
    assert error.value.field == "run_names"


def test_a_property_of_a_kind_no_version_declares_is_an_error_rather_than_a_miss(store):
    """An int for a DOUBLE property: record_execution refuses it, so no execution holds it,
    and a pipeline asking with lr=1 would miss, and retrain, forever."""
    from graphmd import ExecutionType, PropertyType

    store.put_execution_type(ExecutionType(name="KTrainer", properties={"lr": PropertyType.DOUBLE,
                                                                       "steps": PropertyType.INT}))
    with pytest.raises(InvalidArgumentError) as error:
        find_cached_execution(store, "KTrainer", {}, {"lr": 1, "steps": 10})
    assert error.value.field == "properties['lr']"
    assert "declares 'lr' DOUBLE, so no execution of it holds 1 (INT; 1 is not 1.0)" in str(error.value)
    assert find_cached_execution(store, "KTrainer", {}, {"lr": 1.0, "steps": 10}) is None  # a miss
    # A kind one version declares is a miss, not an error.
    store.put_execution_type(ExecutionType(name="KTrainer", version="2", properties={"lr": PropertyType.INT}))
    assert find_cached_execution(store, "KTrainer", {}, {"lr": 1, "steps": 10}) is None


def test_outputs_that_cannot_be_written_fail_the_execution(store):
    """The output write at the block's end fails: the execution ends FAILED with the error,
    which names the output as the block declared it, and is raised; no output is written."""
    types, _ = _trainer_setup(store)
    before = store.counts()
    with pytest.raises(NotFoundError) as error:
        with record_execution(store, Execution(type_id=types["Trainer"])) as step:
            step.output("model", Artifact(type_id=types["Model"], uri="/m/ok"))
            step.output("m", Artifact(type_id=99999))
    assert error.value.field == "outputs['m'][0].type_id"
    assert "outputs['m'][0].type_id" in str(error.value) and "artifact_and_events" not in str(error.value)
    failed = store.get_executions_by_id([step.execution.id])[0]
    assert failed.last_known_state == ExecutionState.FAILED
    assert failed.custom_properties["error_type"] == "NotFoundError"
    assert failed.custom_properties["error"] == str(error.value)
    assert store.counts()["artifacts"] == before["artifacts"]
    with pytest.raises(InvalidArgumentError) as error:
        with record_execution(store, Execution(type_id=types["Trainer"])) as step:
            step.output("model", Artifact(type_id=types["Model"], uri="/m/ok"))
            step.output("model", Artifact(type_id=types["Model"], properties={"no_such": 1}))
    assert error.value.field == "outputs['model'][1].properties['no_such']"
    assert store.get_executions_by_id([step.execution.id])[0].last_known_state == ExecutionState.FAILED


def test_output_rejects_what_is_not_an_artifact(store):
    types, _ = _trainer_setup(store)
    with pytest.raises(InvalidArgumentError) as error:
        with record_execution(store, Execution(type_id=types["Trainer"])) as step:
            step.output("model", Artifact(type_id=types["Model"], uri="/m/ok"))
            step.output("model", "/m/1")
    assert error.value.field == "outputs['model'][1]"
    failed = store.get_executions_by_id([step.execution.id])[0]
    assert failed.last_known_state == ExecutionState.FAILED and failed.custom_properties["error_type"] == \
        "InvalidArgumentError"


def test_a_cache_hit_is_recorded_cached_with_the_outputs_it_reused(store):
    """A step that reuses an earlier one's outputs is one execution, CACHED, reading its
    inputs and with OUTPUT events to those outputs, in its run's context; no artifact is
    written, and the lookup keeps answering the execution that made them."""
    from graphmd import ContextType

    types, (examples, base) = _trainer_setup(store)
    run_t = store.put_context_type(ContextType(name="Run"))
    inputs = {"examples": [examples], "base_model": [base]}
    with record_execution(store, Execution(type_id=types["Trainer"], properties={"num_steps": 10}), inputs,
                          [Context(type_id=run_t, name="run-1")]) as made:
        made.output("model", Artifact(type_id=types["Model"], uri="/m/1"))
    [model] = made.outputs["model"]
    hit = find_cached_execution(store, "Trainer", inputs, {"num_steps": 10})
    before, [stored_model] = store.counts(), store.get_artifacts_by_id([model.id])
    cached = record_cached_execution(store, Execution(type_id=types["Trainer"], properties={"num_steps": 10}),
                                     inputs, hit.outputs, [Context(type_id=run_t, name="run-2")])
    assert cached.last_known_state == ExecutionState.CACHED and cached.id not in (None, made.execution.id)
    [stored] = store.get_executions_by_id([cached.id])
    assert (stored.last_known_state, stored.properties) == (ExecutionState.CACHED, {"num_steps": 10})
    events = {(e.type, tuple(e.path), e.artifact_id) for e in store.get_events_by_execution_ids([cached.id])}
    assert events == {(EventType.INPUT, ("examples", 0), examples.id), (EventType.INPUT, ("base_model", 0), base.id),
                      (EventType.OUTPUT, ("model", 0), model.id)}
    after = store.counts()
    assert (after["artifacts"], after["executions"], after["contexts"]) == (
        before["artifacts"], before["executions"] + 1, before["contexts"] + 1)
    assert store.get_artifacts_by_id([model.id]) == [stored_model]  # linked, not rewritten
    run_2 = store.get_context_by_type_and_name("Run", "run-2").id
    assert [x.id for x in store.get_executions_by_context(run_2)] == [cached.id]
    assert {a.id for a in store.get_artifacts_by_context(run_2)} == {examples.id, base.id, model.id}
    assert find_cached_execution(store, "Trainer", inputs, {"num_steps": 10}).execution.id == made.execution.id
    # The model was made by one execution and reused by another: both are upstream of it.
    upstream = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[model.id]), direction=LineageDirection.UPSTREAM, max_num_hops=1))
    assert {(x.id, x.last_known_state) for x in upstream.executions} == {
        (made.execution.id, ExecutionState.COMPLETE), (cached.id, ExecutionState.CACHED)}
    # Ids do as well as artifacts, and a step without inputs has none.
    again = record_cached_execution(store, Execution(type_id=types["Trainer"], last_known_state=ExecutionState.RUNNING),
                                    None, {"model": [model.id]})
    assert store.get_executions_by_id([again.id])[0].last_known_state == ExecutionState.CACHED
    assert [(e.type, e.path, e.artifact_id) for e in store.get_events_by_execution_ids([again.id])] == [
        (EventType.OUTPUT, ["model", 0], model.id)]


@pytest.mark.parametrize(("outputs", "field"), [
    ({"model": [10**9]}, "outputs['model'][0]"),
    ({"model": [Artifact(id=10**9, type_id=1)]}, "outputs['model'][0].id"),
    ({"model": [Artifact(type_id=1)]}, "outputs['model'][0].id"),  # not stored
    ({"model": ["/m/1"]}, "outputs['model'][0]"),
    ({"model": 7}, "outputs['model']"),
    ([7], "outputs"),
])
def test_a_cache_hit_with_outputs_that_are_not_stored_artifacts_stores_nothing(store, outputs, field):
    types, (examples, _) = _trainer_setup(store)
    before = store.counts()
    with pytest.raises(InvalidArgumentError) as error:
        record_cached_execution(store, Execution(type_id=types["Trainer"]), {"examples": [examples]}, outputs)
    assert error.value.field == field
    with pytest.raises(InvalidArgumentError) as error:
        record_cached_execution(store, Execution(type_id=types["Trainer"]), {"examples": [10**9]}, {})
    assert error.value.field == "inputs['examples'][0]"
    with pytest.raises(InvalidArgumentError) as error:
        record_cached_execution(store, "Trainer", {}, {})
    assert error.value.field == "execution"
    with pytest.raises(NotFoundError):
        record_cached_execution(store, Execution(type_id=10**9), {"examples": [examples]}, {})
    assert store.counts() == before


def test_the_cache_skips_outputs_deleted_since_and_checks_custom_properties_when_given(store):
    """A hit's outputs must still be there: an earlier run whose model was since marked
    DELETED (or for deletion, or ABANDONED) is no hit. Hyperparameters kept as custom
    properties (TFX's convention) count when given as custom_properties, and only then."""
    from graphmd import _cypher_files

    types, (examples, base) = _trainer_setup(store)
    inputs = {"examples": [examples.id], "base_model": [base.id]}
    with record_execution(store, Execution(type_id=types["Trainer"], custom_properties={"lr": 0.1, "note": "a"}),
                          inputs) as first:
        first.output("model", Artifact(type_id=types["Model"], uri="/m/first"))
    with record_execution(store, Execution(type_id=types["Trainer"], custom_properties={"lr": 0.2}), inputs) as second:
        second.output("model", Artifact(type_id=types["Model"], uri="/m/second"))
    assert find_cached_execution(store, "Trainer", inputs).execution.id == second.execution.id
    hit = find_cached_execution(store, "Trainer", inputs, custom_properties={"lr": 0.1})
    assert hit is not None and hit.execution.id == first.execution.id  # "note" is not asked about
    assert find_cached_execution(store, "Trainer", inputs, custom_properties={"lr": 0.3}) is None
    assert find_cached_execution(store, "Trainer", inputs, custom_properties={"lr": 1}) is None  # 1 is not 0.1
    with pytest.raises(InvalidArgumentError) as error:
        find_cached_execution(store, "Trainer", inputs, custom_properties={"lr": None})  # type: ignore[dict-item]
    assert error.value.field == "custom_properties['lr']"
    for state in (ArtifactState.DELETED, ArtifactState.MARKED_FOR_DELETION, ArtifactState.ABANDONED):
        [model] = second.outputs["model"]
        store.put_artifacts([model.model_copy(update={"state": state})])
        assert find_cached_execution(store, "Trainer", inputs).execution.id == first.execution.id, state
    # The file alone answers as the library does on kinds: a DOUBLE property is no INT one.
    with record_execution(store, Execution(type_id=types["Trainer"], properties={"num_steps": 3}), inputs) as third:
        third.output("model", Artifact(type_id=types["Model"], uri="/m/third"))
    rows = _cypher_files.run(store, "what_can_be_reused", type_name="Trainer",
                             input_ids=sorted({examples.id, base.id}), properties={"num_steps": 3.0})
    assert rows == []
    rows = _cypher_files.run(store, "what_can_be_reused", type_name="Trainer",
                             input_ids=sorted({examples.id, base.id}), properties={"num_steps": 3})
    assert [r["execution"]["id"] for r in rows] == [third.execution.id]


def test_pipeline_helpers_name_wrong_arguments(store):
    types, (examples, base) = _trainer_setup(store)
    before = store.counts()
    with pytest.raises(InvalidArgumentError) as error:
        with record_execution(store, "Trainer", {}):  # type: ignore[arg-type]
            pass
    assert error.value.field == "execution"
    # One artifact under two keys: named where it is given the second time, nothing stored.
    with pytest.raises(InvalidArgumentError) as error:
        with record_execution(store, Execution(type_id=types["Trainer"]),
                              {"model": [base], "baseline_model": [base.id]}):
            pass
    assert error.value.field == "inputs['baseline_model'][0]" and "inputs['model'][0]" in error.value.message
    with pytest.raises(InvalidArgumentError) as error:
        record_cached_execution(store, Execution(type_id=types["Trainer"]), {}, {"a": [base], "b": [base]})
    assert error.value.field == "outputs['b'][0]"
    assert store.counts() == before
    # A state by its name does; anything else is named.
    assert latest_artifact(store, "Model", state="LIVE").id == base.id  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError) as error:
        latest_artifact(store, "Model", state="ALIVE")  # type: ignore[arg-type]
    assert error.value.field == "state"


def test_cache_scoped_to_a_pipeline_s_contexts(store):
    """Two pipelines whose ExampleGen reads nothing and has the same properties: unscoped, the
    newest of either is a hit; scoped by the pipeline's context (as TFX scopes its cache), only
    that pipeline's. A context id no context has is an error naming it, not a miss forever."""
    gen_t = store.put_execution_type(ExecutionType(name="ExampleGen", properties={"span": PropertyType.INT}))
    pipeline_t = store.put_context_type(ContextType(name="Pipeline"))
    examples_t = store.put_artifact_type(ArtifactType(name="Examples"))
    made = {}
    for name in ("taxi", "chain"):
        with record_execution(store, Execution(type_id=gen_t, properties={"span": 7}), {},
                              [Context(type_id=pipeline_t, name=name)]) as step:
            step.output("examples", Artifact(type_id=examples_t, uri=f"/{name}/examples/7"))
        made[name] = step.execution.id
    [taxi] = store.get_contexts_by_id([store.get_context_by_type_and_name("Pipeline", "taxi").id])
    chain = store.get_context_by_type_and_name("Pipeline", "chain")

    assert find_cached_execution(store, "ExampleGen", {}, {"span": 7}).execution.id == made["chain"]
    for scope in ([taxi], [taxi.id], [Context(type_id=pipeline_t, name="taxi")]):
        hit = find_cached_execution(store, "ExampleGen", {}, {"span": 7}, contexts=scope)
        assert hit is not None and hit.execution.id == made["taxi"], scope
        assert [a.uri for a in hit.outputs["examples"]] == ["/taxi/examples/7"]
    assert find_cached_execution(store, "ExampleGen", {}, {"span": 7}, contexts=[chain.id]).execution.id == made["chain"]
    # Both pipelines at once: no execution is in both.
    assert find_cached_execution(store, "ExampleGen", {}, {"span": 7}, contexts=[taxi, chain]) is None
    # A pipeline not stored yet (its first run) is a miss.
    assert find_cached_execution(store, "ExampleGen", {}, {"span": 7},
                                 contexts=[Context(type_id=pipeline_t, name="new")]) is None
    for bad, field in [([10**9], "contexts[0]"), ([taxi, Context(id=10**9, type_id=pipeline_t, name="x")], "contexts[1].id"),
                       (["taxi"], "contexts[0]"), ([True], "contexts[0]"), (taxi, "contexts"),
                       ([Context(type_id=pipeline_t)], "contexts[0].name")]:
        with pytest.raises(InvalidArgumentError) as error:
            find_cached_execution(store, "ExampleGen", {}, {"span": 7}, contexts=bad)  # type: ignore[arg-type]
        assert error.value.field == field, bad


def test_compare_runs_reads_a_tfx_store_as_tfx_records_it(store):
    """On a store TFX wrote: its runs' type is pipeline_run (compare said "no ContextType
    named 'PipelineRun'"); a Resolver records the earlier blessing and evaluation it resolved as
    INTERNAL_OUTPUT (compare credited the Resolver with blessing the model, in a run whose own
    Evaluator failed); TFX's bookkeeping on every artifact (is_external, tfx_version) was listed
    as metrics; a failed step's __execution_result__ (its traceback) as a parameter."""
    store.put_context_type(ContextType(name="PipelineRun"))  # graphmd's own runs beside TFX's
    run_t = store.put_context_type(ContextType(name="pipeline_run"))
    evaluator_t = store.put_execution_type(ExecutionType(name="MyEvaluator"))
    [model] = store.put_artifacts([Artifact(type_id=store.put_artifact_type(ArtifactType(name="Model")), uri="/m")])
    resolver_t = store.put_execution_type(ExecutionType(name="tfx.dsl.components.common.resolver.Resolver"))
    blessing_t = store.put_artifact_type(ArtifactType(name="ModelBlessing"))
    evaluation_t = store.put_artifact_type(ArtifactType(name="ModelEvaluation"))
    tfx = {"is_external": 0, "tfx_version": "1.21.0"}
    first = store.put_execution(
        Execution(type_id=evaluator_t, last_known_state=ExecutionState.COMPLETE),
        [(Artifact(type_id=blessing_t, uri="/b1", custom_properties={"blessed": 1, **tfx}), Event(type=EventType.OUTPUT)),
         (Artifact(type_id=evaluation_t, uri="/e1", custom_properties={"accuracy": 0.9, **tfx}),
          Event(type=EventType.OUTPUT)),
         (None, Event(type=EventType.INPUT, artifact_id=model, path=["model", 0]))],
        [Context(type_id=run_t, name="run-1")])
    blessing, evaluation = first.artifact_ids[:2]
    second_run = Context(type_id=run_t, name="run-2")
    store.put_execution(Execution(type_id=resolver_t, last_known_state=ExecutionState.COMPLETE),
                        [(None, Event(type=EventType.INTERNAL_OUTPUT, artifact_id=blessing)),
                         (None, Event(type=EventType.INTERNAL_OUTPUT, artifact_id=evaluation))], [second_run])
    [run_2] = store.get_contexts_by_type("pipeline_run")[1:]
    store.put_execution(Execution(type_id=evaluator_t, last_known_state=ExecutionState.FAILED,
                                  custom_properties={"__execution_result__": '{"code": 2, "resultMessage": "..."}'}),
                        [], [run_2])
    comparison = compare_runs(store, ["run-1", "run-2"])
    outcome = {o.field: o for o in comparison.outcome}
    assert outcome["blessed"].values == [True, None], outcome["blessed"]
    assert [m.field for m in comparison.metrics] == ["ModelEvaluation.accuracy"]
    assert comparison.metrics[0].values == [0.9, None]
    assert not [p.field for p in comparison.parameters if "__execution_result__" in p.field]
    # why_model_preferred leaves TFX's bookkeeping out of the metrics too.
    [why] = _cypher_files.run(store, "why_model_preferred", model_a=model, model_b=model)[:1]
    assert why["metrics"] == [["accuracy", 0.9]], why
    with pytest.raises(NotFoundError) as info:
        compare_runs(store, ["run-1"], run_type="PipelineRun")
    assert info.value.field == "run_names"
