"""`graphmd query`: a parameter of the wrong kind, a missing one, and no rows are each said."""

from __future__ import annotations

import json

import pytest

from graphmd import (InvalidArgumentError, LineageDirection, LineageSubgraphQueryOptions, MetadataStore,
                     NodeSelector)
from graphmd._cypher_files import cypher_dir, run
from graphmd._tfx_pipeline import History, record_history


@pytest.fixture
def history(store: MetadataStore) -> History:
    return record_history(store, 2)


def test_text_where_the_query_compares_an_id_is_an_error(cli, history):
    text = cli("query", "model_location", "-p", "model_id=run-0001/model", code=1)
    assert ("query 'model_location': model_id takes an integer (the model artifact's id) such as 42, "
            "not the text 'run-0001/model'") in text
    assert "runs takes a list" in cli("query", "compare_runs", "-p", "run_type=PipelineRun", "-p", "runs=run-0001",
                                      code=1)


def test_the_library_checks_the_kind_too(store):
    with pytest.raises(InvalidArgumentError) as info:
        run(store, "model_location", model_id="7")
    assert info.value.field == "model_id"


def test_no_rows_is_said_with_a_hint_about_the_parameters(cli, history):
    text = cli("query", "model_location", "-p", "model_id=999999")
    assert text.startswith("[]\n")  # still JSON on stdout
    assert "no rows for model_id=999999: check that each names something in the store" in text
    rows = cli("query", "model_location", "-p", f"model_id={history.artifacts['run-0001/model']}")
    assert json.loads(rows)[0]["model"] == "run-0001/model" and "no rows" not in rows


def test_a_missing_parameter_says_how_to_pass_it(cli):
    text = cli("query", "lineage_upstream", "-p", "artifact_id=1", code=1)
    assert "needs parameter 'max_hops' (a hop is one artifact-execution step; null for no limit), " \
           "e.g. -p max_hops=null" in text
    assert "e.g. -p runs='[\"run-0007\", \"run-0008\"]'" in cli("query", "compare_runs", "-p", "run_type=x", code=1)


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
