"""`graphmd query`: a parameter of the wrong kind, a missing one, and no rows are each said."""

from __future__ import annotations

import datetime
import json

import pytest

from graphmd import (InvalidArgumentError, LineageDirection, LineageSubgraphQueryOptions, MetadataStore,
                     NodeSelector)
from graphmd._cypher_files import cypher_dir, run
from graphmd._tfx_pipeline import History, record_history


@pytest.fixture
def history(store: MetadataStore) -> History:
    return record_history(store, 4)  # run-0003 is not blessed, so not pushed


def test_text_where_the_query_compares_an_id_is_an_error(cli, history):
    """A value of another kind than the query compares is a usage mistake (exit 2), said with
    the value as -p writes it."""
    text = cli("query", "model_location", "-p", "model_id=run-0001/model", code=2)
    assert ("query 'model_location': model_id takes an integer (the model artifact's id) such as 42, "
            "not the text 'run-0001/model' (on the command line: -p model_id=42)") in text
    text = cli("query", "compare_runs", "-p", "run_type=PipelineRun", "-p", "runs=run-0001", code=2)
    assert "runs takes a list (run names) such as ['run-0007', 'run-0008'], not the text 'run-0001' " \
           "(on the command line: -p runs='[\"run-0007\", \"run-0008\"]')" in text
    assert "not the boolean true" in cli("query", "model_location", "-p", "model_id=true", code=2)


def test_values_as_the_headers_and_python_write_them(cli, history, store):
    """A list with single-quoted strings, as a file's header and Python write it, is a list;
    a number given for a parameter the query compares with text is that text (a run named
    123)."""
    rows = json.loads(cli("query", "compare_runs", "-p", "run_type=PipelineRun", "-p", "runs=['run-0001', 'run-0002']"))
    assert [r["run"] for r in rows] == ["run-0001", "run-0002"]
    from graphmd import Context

    run_t = store.get_context_type("PipelineRun")
    store.put_contexts([Context(type_id=run_t.id, name="123")])
    [row] = json.loads(cli("query", "who_triggered_run", "-p", "run_name=123"))
    assert row["run"] == "123"
    assert "no context named '124'" in cli("query", "who_triggered_run", "-p", "run_name=124", code=1)


def test_the_library_checks_the_kind_too(store):
    with pytest.raises(InvalidArgumentError) as info:
        run(store, "model_location", model_id="7")
    assert info.value.field == "model_id"


@pytest.mark.parametrize("given", ["abc", "-1", "1.5", "true", str(2**90)])
def test_max_hops_takes_null_or_a_count(cli, history, given):
    """max_hops's example is null, so its kind cannot come from the header: a text or a
    negative count compared with the hop count would return an empty lineage, exit 0."""
    model = history.artifacts["run-0001/model"]
    text = cli("query", "lineage_upstream", "-p", f"artifact_id={model}", "-p", f"max_hops={given}", code=2)
    assert "max_hops takes null (no limit) or an integer >= 0" in text
    assert json.loads(cli("query", "lineage_upstream", "-p", f"artifact_id={model}", "-p", "max_hops=0"))[0]["nodes"]


def test_no_rows_says_which_parameter_names_nothing_or_what_no_rows_means(cli, history, store):
    """A wrong id or a misspelt name is an error naming the parameter, not an empty answer
    that looks like "never pushed"; no rows for names that exist says what it means."""
    assert "query 'model_location': model_id: no artifact with id 999999 (`graphmd artifacts` lists them)" in cli(
        "query", "model_location", "-p", "model_id=999999", code=1)
    assert "no artifact with id 999999" in cli("query", "why_model_preferred", "-p", "model_a=999999",
                                               "-p", f"model_b={history.artifacts['run-0001/model']}", code=1)
    assert "run_name: no context named 'run-9'" in cli("query", "who_triggered_run", "-p", "run_name=run-9", code=1)
    assert "runs: no context named 'run-0009'" in cli("query", "compare_runs", "-p", "run_type=PipelineRun",
                                                      "-p", 'runs=["run-0001", "run-0009"]', code=1)
    assert "run_type: no context type named 'PipelinRun'" in cli(
        "query", "compare_runs", "-p", "run_type=PipelinRun", "-p", 'runs=["run-0001"]', code=1)
    assert "type_name: no execution type named 'Trainr'" in cli(
        "query", "what_can_be_reused", "-p", "type_name=Trainr", "-p", "input_ids=[]", "-p", "properties={}", code=1)
    assert "input_ids: no artifact with id 999999" in cli(
        "query", "what_can_be_reused", "-p", "type_name=Trainer", "-p", "input_ids=[999999]", "-p", "properties={}",
        code=1)
    before = store.counts()
    never_pushed = next(p for p in history.plans if not p.step("Pusher").outputs["pushed_model"])
    text = cli("query", "model_pushed", "-p", f"model_id={history.artifacts[never_pushed.context_name + '/model']}")
    assert text.startswith("[]\n")  # still JSON on stdout
    assert (f"no rows for model_id={history.artifacts[never_pushed.context_name + '/model']}: never pushed by a Pusher "
            "(an execution of type Pusher or of a type whose base_type is DEPLOY)\n") in text
    text = cli("query", "what_can_be_reused", "-p", "type_name=Trainer", "-p", "input_ids=[]", "-p", "properties={}")
    assert "nothing to reuse (a cache miss)" in text
    # A lookup that can never hit is an error, as find_cached_execution raises: a misspelt
    # property, or a value of another kind than the type declares. It was "a cache miss".
    trainer = next(t for t in store.get_execution_types() if t.name == "Trainer")
    declared = next(iter(trainer.properties))
    other = {"INT": "'x'", "DOUBLE": "'x'", "STRING": "1", "STRUCT": "1", "PROTO": "1", "BOOLEAN": "1"}[
        trainer.properties[declared].value]
    assert "no version of ExecutionType 'Trainer' declares 'lrr'" in cli(
        "query", "what_can_be_reused", "-p", "type_name=Trainer", "-p", "input_ids=[]", "-p", "properties={'lrr': 0.01}",
        code=1)
    assert f"ExecutionType 'Trainer' declares '{declared}' {trainer.properties[declared].value}" in cli(
        "query", "what_can_be_reused", "-p", "type_name=Trainer", "-p", "input_ids=[]",
        "-p", f"properties={{'{declared}': {other}}}", code=1)
    assert store.counts() == before
    rows = cli("query", "model_location", "-p", f"model_id={history.artifacts['run-0001/model']}")
    assert json.loads(rows)[0]["model"] == "run-0001/model" and "no rows" not in rows


def test_latest_blessed_model_names_a_misspelt_type_or_unknown_context(cli, history):
    """Its type names and context id name things in the store: a misspelt one is an error
    naming the parameter, not "no model blessed"; null is every model."""
    base = ("query", "latest_blessed_model", "-p", "blessing_type=ModelBlessing")
    assert "model_type: no artifact type named 'Modle' (`graphmd types` lists them)" in cli(
        *base, "-p", "model_type=Modle", "-p", "context_id=null", code=1)
    assert "blessing_type: no artifact type named 'Blessing'" in cli(
        "query", "latest_blessed_model", "-p", "model_type=Model", "-p", "blessing_type=Blessing",
        "-p", "context_id=null", code=1)
    assert "context_id: no context with id 999999 (`graphmd contexts` lists them)" in cli(
        *base, "-p", "model_type=Model", "-p", "context_id=999999", code=1)
    [row] = json.loads(cli(*base, "-p", "model_type=Model", "-p", "context_id=null"))
    assert (row["model"]["name"], row["blessing"]["properties"]) == ("run-0002/model", {"blessed": 1})
    text = cli(*base, "-p", "model_type=Examples", "-p", "context_id=null")
    assert text.startswith("[]\n") and "no LIVE model of that type (in that context) is blessed" in text


def test_a_context_left_out_is_every_context(cli, history):
    """context_id narrows a query to a pipeline or a run: left out, it is null (every push,
    every model), and a context that holds no push says what no rows means. The type names
    of latest_blessed_model default as latest_blessed_model's in Python; max_hops does not."""
    [row] = json.loads(cli("query", "deployed_models"))
    assert (row["target"], row["model"], row["pushes"]) == ("/serving/taxi", "run-0002/model", 3)
    assert json.loads(cli("query", "deployed_models", "-p", "context_id=null")) == [row]
    text = cli("query", "deployed_models", "-p", f"context_id={history.contexts['run-0003']}")
    assert text.startswith("[]\n") and "nothing pushed (with $context_id given, by a Pusher associated with that context)" in text
    [blessed] = json.loads(cli("query", "latest_blessed_model"))  # TFX's type names, as the Python helper takes
    assert blessed["model"]["name"] == "run-0002/model"
    assert "no artifact type named 'SavedModel'" in cli("query", "latest_blessed_model", "-p", "model_type=SavedModel",
                                                        code=1)
    assert "needs parameter 'max_hops'" in cli("query", "lineage_upstream", "-p", "artifact_id=1", code=2)


def test_context_id_is_an_id_or_on_the_command_line_a_context_s_name(cli, history, store):
    """context_id's example is null, so its kind cannot come from the header: a text reached
    the query and was answered as "no context with id abc". The library refuses anything but
    null or an integer; on the command line a text is a context's name, as --context takes
    one, and a number of another kind is a usage mistake."""
    with pytest.raises(InvalidArgumentError) as info:
        run(store, "deployed_models", context_id="run-0003")
    assert info.value.field == "context_id" and "context's id (an integer)" in info.value.message
    by_id = cli("query", "deployed_models", "-p", f"context_id={history.contexts['run-0003']}")
    assert cli("query", "deployed_models", "-p", "context_id=run-0003") == by_id
    [row] = json.loads(cli("query", "latest_blessed_model", "-p", "context_id=run-0002"))
    assert row["model"]["name"] == "run-0002/model"
    assert "context_id: no context named 'run-9999'" in cli("query", "deployed_models", "-p", "context_id=run-9999",
                                                          code=1)
    for other, shown in (("1.5", "the number 1.5"), ("true", "the boolean true"), ("[1]", "the list [1]")):
        assert f"context_id takes null (every context) or a context's id (an integer), not {shown}" in cli(
            "query", "deployed_models", "-p", f"context_id={other}", code=2)


def test_the_reuse_and_compare_files_print_their_nodes_decoded(cli, history, store):
    """what_can_be_reused and compare_runs return nodes (Browser draws them), so graphmd query
    prints their properties by name, not the p_/c_ keys they are stored under."""
    trainer = store.get_executions_by_id([history.executions["run-0001/Trainer"]])[0]
    inputs = sorted({e.artifact_id for e in store.get_events_by_execution_ids([trainer.id]) if e.type.is_input})
    [row] = json.loads(cli("query", "what_can_be_reused", "-p", "type_name=Trainer", "-p", f"input_ids={inputs}",
                           "-p", f"properties={json.dumps(trainer.properties)}"))
    assert row["execution"]["kind"] == "Execution" and row["execution"]["properties"] == trainer.properties
    assert row["execution"]["custom_properties"] == trainer.custom_properties
    [output] = row["outputs"]
    assert output["artifact"]["kind"] == "Artifact" and output["artifact"]["name"] == "run-0001/model"
    # Event paths as show prints them (lists of steps), not their stored JSON text.
    assert output["path"] == ["model", 0]
    assert sorted(i["path"][0] for i in row["inputs"]) == sorted(e.path[0] for e in store.get_events_by_execution_ids(
        [trainer.id]) if e.type.is_input)
    rows = json.loads(cli("query", "compare_runs", "-p", "run_type=PipelineRun", "-p", 'runs=["run-0001"]'))
    assert {x["type"]: x["properties"] for x in rows[0]["executions"]}["Trainer"] == trainer.properties
    assert not any(key.startswith(("p_", "c_")) for x in rows[0]["executions"] for key in x)


def test_a_missing_parameter_says_how_to_pass_it(cli):
    text = cli("query", "lineage_upstream", "-p", "artifact_id=1", code=2)  # a usage mistake
    assert "needs parameter 'max_hops' (a hop is one artifact-execution step; null for no limit), " \
           "e.g. -p max_hops=null" in text
    assert "e.g. -p runs='[\"run-0007\", \"run-0008\"]'" in cli("query", "compare_runs", "-p", "run_type=x", code=2)


def test_graph_rows_print_as_graphmd_reads_them(cli, history, store):
    """Nodes and events a query returns print decoded, as `graphmd show` prints them:
    properties by name (not their p_/c_ storage keys), each event with its two ends."""
    model = history.artifacts["run-0001/model"]
    [row] = json.loads(cli("query", "lineage_upstream", "-p", f"artifact_id={model}", "-p", "max_hops=2"))
    lineage = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[model]), max_num_hops=2, direction=LineageDirection.UPSTREAM))
    expected = {(a.id, "Artifact"): a for a in lineage.artifacts} | {(x.id, "Execution"): x for x in lineage.executions}
    assert {(n["id"], n["kind"]) for n in row["nodes"]} == set(expected)
    for node in row["nodes"]:
        want = expected[(node["id"], node["kind"])]
        assert node["properties"] == want.model_dump(mode="json")["properties"]
        assert node["custom_properties"] == want.model_dump(mode="json")["custom_properties"]
        assert not any(key.startswith(("p_", "c_")) for key in node)
    assert sorted((e["artifact_id"], e["execution_id"], e["type"], tuple(e["path"])) for e in row["events"]) == sorted(
        (e.artifact_id, e.execution_id, e.type.value, tuple(e.path)) for e in lineage.events)


def test_the_list_says_where_the_files_are(cli):
    # Installed with pip the files are in site-packages, not a cypher/ a user can see.
    listed = cli("query")
    assert "who_triggered_run(run_name): Who triggered this run?" in listed
    assert f"files: {cypher_dir()} (NAME.cypher; graphmd.grass styles Neo4j Browser)" in listed
    assert (cypher_dir() / "graphmd.grass").is_file()


def _trainer_with_struct_and_proto(store: MetadataStore):
    """A COMPLETE Trainer that read one artifact and wrote a model, with a STRUCT and a PROTO
    among its properties and custom properties."""
    from graphmd import (Artifact, ArtifactAndEvent, ArtifactType, Event, EventType, Execution, ExecutionState,
                         ExecutionType, PropertyType, ProtoValue)

    data_t = store.put_artifact_type(ArtifactType(name="StructData"))
    model_t = store.put_artifact_type(ArtifactType(name="StructModel"))
    trainer_t = store.put_execution_type(ExecutionType(name="StructTrainer", properties={
        "cfg": PropertyType.STRUCT, "blob": PropertyType.PROTO, "lr": PropertyType.DOUBLE}))
    [data] = store.put_artifacts([Artifact(type_id=data_t, uri="/d")])
    blob = ProtoValue(type_url="type.googleapis.com/x.Cfg", value=b"\x08\x01")
    properties = {"cfg": {"layers": [1, 2.5], "name": "net"}, "blob": blob, "lr": 0.5}
    result = store.put_execution(
        Execution(type_id=trainer_t, last_known_state=ExecutionState.COMPLETE, properties=properties,
                  custom_properties={"env": {"image": "tf:2"}, "seed": 7}),
        [ArtifactAndEvent(artifact=Artifact(id=data), event=Event(type=EventType.INPUT, path=["examples", 0])),
         ArtifactAndEvent(artifact=Artifact(type_id=model_t, uri="/m"), event=Event(type=EventType.OUTPUT))])
    return result, data, properties


def test_reuse_takes_struct_and_proto_values_as_show_prints_them(cli, store):
    """`-p properties=` with a STRUCT as its object and a PROTO in its dict form finds the
    execution the library finds; they used to be compared with the stored text and missed."""
    from graphmd import find_cached_execution

    result, data, properties = _trainer_with_struct_and_proto(store)
    # Its model has no state (MLMD's default): that is no reason to miss (it was, a null
    # state making the file's "none of the outputs deleted" check null).
    hit = find_cached_execution(store, "StructTrainer", {"examples": [data]}, properties)
    assert hit is not None and hit.execution.id == result.execution_id
    given = json.dumps({"cfg": {"name": "net", "layers": [1, 2.5]},
                        "blob": {"$proto": True, "type_url": "type.googleapis.com/x.Cfg", "value": "CAE="},
                        "lr": 0.5})
    rows = json.loads(cli("query", "what_can_be_reused", "-p", "type_name=StructTrainer",
                          "-p", f"input_ids=[{data}]", "-p", f"properties={given}"))
    assert [r["execution"]["id"] for r in rows] == [result.execution_id]
    other = json.dumps({"cfg": {"name": "net", "layers": [1, 2.6]}, "blob": {"$proto": True,
                        "type_url": "type.googleapis.com/x.Cfg", "value": "CAE="}, "lr": 0.5})
    missed = cli("query", "what_can_be_reused", "-p", "type_name=StructTrainer",
                 "-p", f"input_ids=[{data}]", "-p", f"properties={other}")
    assert missed.startswith("[]") and "a cache miss" in missed


def test_hyperparameters_and_environment_print_struct_and_proto_values_decoded(cli, store):
    result, _, _ = _trainer_with_struct_and_proto(store)
    model = result.artifact_ids[1]
    rows = json.loads(cli("query", "model_hyperparameters", "-p", f"model_id={model}"))
    by_name = {r["hyperparameter"]: (r["value"], r["value_type"]) for r in rows}
    assert by_name == {
        "blob": ({"$proto": True, "type_url": "type.googleapis.com/x.Cfg", "value": "CAE="}, "PROTO"),
        "cfg": ({"layers": [1, 2.5], "name": "net"}, "STRUCT"), "lr": (0.5, "DOUBLE"),
        "env": ({"image": "tf:2"}, "STRUCT"), "seed": (7, "INT")}
    rows = json.loads(cli("query", "training_environment", "-p", f"model_id={model}"))
    assert {r["setting"]: (r["value"], r["value_type"]) for r in rows} == {
        "env": ({"image": "tf:2"}, "STRUCT"), "seed": (7, "INT")}
    # Browser and cypher-shell get the stored text, with its type to tell it from a STRING.
    [cfg] = [r for r in run(store, "model_hyperparameters", model_id=model) if r["hyperparameter"] == "cfg"]
    assert cfg["value_type"] == "STRUCT" and json.loads(cfg["value"]) == {"layers": [1, 2.5], "name": "net"}


def test_a_model_query_given_an_artifact_that_is_no_model_says_so(cli, history):
    """model_hyperparameters given an Examples' id answered its producer's settings as if it
    were a model's, without a word: a note says what the artifact is."""
    examples = history.artifacts["run-0001/examples"]
    model = history.artifacts["run-0001/model"]
    said = cli("query", "model_hyperparameters", "-p", f"model_id={examples}")
    assert (f"note: model_id={examples} is an artifact of type Examples, not a model (its type is not named Model nor has "
            "base_type MODEL)") in said
    assert "note:" not in cli("query", "model_hyperparameters", "-p", f"model_id={model}")
    both = cli("query", "why_model_preferred", "-p", f"model_a={model}", "-p", f"model_b={examples}")
    assert f"model_b={examples} is an artifact of type Examples" in both and "model_a=" not in both


def test_times_print_as_cypher_shell_prints_them(cli, history, store):
    """pushed_at printed as the driver's str (nanoseconds, +00:00), where cypher-shell and
    Browser print 2026-12-07T09:37:26.720Z."""
    pushed = next(p for p in history.plans if p.step("Pusher").outputs["pushed_model"])
    [push] = json.loads(cli("query", "model_pushed", "-p", f"model_id={history.artifacts[pushed.context_name + '/model']}"))
    when = datetime.datetime.fromtimestamp(push["pushed_at_ms"] / 1000, datetime.timezone.utc)
    assert push["pushed_at"] == when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_run_query_answers_from_python_as_graphmd_query_prints(cli, history, store):
    """Where a model is stored, when it was pushed, what is deployed: the files answer them,
    and Python users walked the graph themselves, re-applying each file's rules (a rolled-back
    push still counted). run_query gives the CLI's rows, plain values, from Python."""
    from graphmd import NotFoundError, run_query

    model = history.artifacts["run-0002/model"]
    for name, params in (("model_location", {"model_id": model}), ("deployed_models", {"context_id": None}),
                         ("model_pushed", {"model_id": model})):
        rows = run_query(store, name, **params)
        assert rows, name
        printed = json.loads(cli("query", name, *[f"-p{k}={json.dumps(v)}" for k, v in params.items()]))
        as_json = json.loads(json.dumps(rows, default=lambda v: v.isoformat(timespec="milliseconds")
                                        .replace("+00:00", "Z")))
        assert as_json == printed, name
    with pytest.raises(NotFoundError) as missing:
        run_query(store, "model_location", model_id=999_999)
    assert missing.value.field == "model_id"
    with pytest.raises(NotFoundError):
        run_query(store, "no_such_query")
