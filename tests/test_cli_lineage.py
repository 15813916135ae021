"""`graphmd lineage` and the read commands, as a user runs them, in each output format."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from graphmd import (Artifact, ArtifactState, ArtifactType, Context, ContextType, Event, EventType, Execution,
                     ExecutionState, ExecutionType, LineageDirection, LineageSubgraphQueryOptions, MetadataStore,
                     NodeSelector)
from graphmd._tfx_pipeline import History, record_history
from graphmd.cli import app


@pytest.fixture
def history(store: MetadataStore) -> History:
    return record_history(store, 5)


def test_lineage_tree_upstream(cli, history):
    a, x = history.artifacts, history.executions
    text = cli("lineage", "/models/taxi/run-0003", "--up", "--depth", "2")
    assert text.splitlines() == [
        f"Model #{a['run-0003/model']} run-0003/model (/models/taxi/run-0003)",
        f"└── Trainer #{x['run-0003/Trainer']} run-0003/Trainer [COMPLETE]  <OUTPUT model/0>",
        # Children by event key; --depth cut each input's own lineage: "… more upstream".
        f"    ├── Model #{a['run-0002/model']} run-0002/model (/models/taxi/run-0002)  <INPUT base_model/0>"
        "  … more upstream",
        f"    ├── Examples #{a['run-0003/examples']} run-0003/examples (/data/taxi/examples/span-3)  <INPUT examples/0>"
        "  … more upstream",
        f"    ├── Schema #{a['run-0003/schema']} run-0003/schema (/data/taxi/schema/run-0003)  <INPUT schema/0>"
        "  … more upstream",
        f"    ├── Model #{a['run-0001/model']} run-0001/model (/models/taxi/run-0001)  <INPUT teacher_model/0>"
        "  … more upstream",
        f"    └── TransformGraph #{a['run-0003/transform_graph']} run-0003/transform_graph "
        f"(/data/taxi/transform/run-0003)  <INPUT transform_graph/0>  … more upstream",
    ]
    # By id it is the same; --execution starts from an execution. At --depth 1 the Trainer
    # is where the lineage was cut.
    assert cli("lineage", str(a["run-0003/model"]), "--up", "--depth", "2") == text
    one = cli("lineage", str(a["run-0003/model"]), "--up", "--depth", "1").splitlines()
    assert one[1].endswith("<OUTPUT model/0>  … more upstream") and "more" not in one[0] and len(one) == 2
    down = cli("lineage", str(x["run-0004/Trainer"]), "--execution", "--down")
    assert down.splitlines()[0] == f"Trainer #{x['run-0004/Trainer']} run-0004/Trainer [COMPLETE]"
    assert f"Model #{a['run-0004/model']}" in down


def test_lineage_tree_shows_every_edge_once_and_every_node_in_full_once(cli, history, store):
    a, x = history.artifacts, history.executions
    lines = cli("lineage", "/models/taxi/run-0001", "--up").splitlines()
    full = [line for line in lines if not line.endswith(("(see above)", "(see below)"))]
    graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[a["run-0001/model"]]), direction=LineageDirection.UPSTREAM))
    assert len(full) == len(graph.artifacts) + len(graph.executions)
    assert len(lines) == len(graph.events) + 1  # one line per event crossed, plus the root
    # Transform read the examples and schema drawn in full under StatisticsGen and Trainer.
    at = next(i for i, line in enumerate(lines) if f"Transform #{x['run-0001/Transform']}" in line)
    under = lines[at + 1:at + 3]
    assert f"Examples #{a['run-0001/examples']}" in under[0] and under[0].endswith("<INPUT examples/0>  (see above)")
    assert f"Schema #{a['run-0001/schema']}" in under[1] and under[1].endswith("(see above)")


def test_lineage_formats(cli, history, store):
    a = history.artifacts
    graph = json.loads(cli("lineage", "/data/taxi/examples/span-1", "--down", "--format", "json"))
    assert {n["name"] for n in graph["artifacts"]} >= {"run-0001/examples", "run-0001/model", "run-0004/model"}
    assert len(graph["events"]) == len({(e["artifact_id"], e["execution_id"], e["type"]) for e in graph["events"]})
    dot = cli("lineage", "/models/taxi/run-0002", "--up", "--depth", "1", "--format", "dot")
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert f'a{a["run-0002/model"]} [shape=ellipse, label="Model #{a["run-0002/model"]}\\nrun-0002/model"];' in dot
    trainer = history.executions["run-0002/Trainer"]
    assert f'x{trainer} -> a{a["run-0002/model"]} [label="OUTPUT model/0"];' in dot
    mermaid = cli("lineage", "/models/taxi/run-0002", "--up", "--depth", "1", "--format", "mermaid")
    assert mermaid.splitlines()[0] == "flowchart LR"
    assert f'  x{trainer} -->|"OUTPUT model/0"| a{a["run-0002/model"]}' in mermaid.splitlines()
    assert f'  a{a["run-0002/model"]}(["Model #{a["run-0002/model"]}<br/>run-0002/model"])' in mermaid.splitlines()


def test_lineage_page_and_drawing_from_the_store(cli, history, tmp_path):
    a, x = history.artifacts, history.executions
    page = tmp_path / "lineage.html"
    assert "wrote" in cli("lineage", "/models/taxi/run-0003", "--up", "--format", "html", "-o", str(page))
    text = page.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', text, re.S)[1])
    # Upstream of model 3: runs 0-3 (teachers and warm starts reach back), never run 4.
    assert f"a{a['run-0003/model']}" in data["nodes"] and f"a{a['run-0000/examples']}" in data["nodes"]
    assert f"x{x['run-0004/Trainer']}" not in data["nodes"]
    assert data["nodes"][f"x{x['run-0003/Trainer']}"]["last_known_state"] == "COMPLETE"
    assert {c["name"] for c in data["contexts"]} >= {"run-0003", "run-0000"}
    assert f'id="a{a["run-0003/model"]}"' in text and "<svg" in text
    svg = cli("lineage", str(x["run-0002/Trainer"]), "--execution", "--down", "--depth", "1", "--format", "svg")
    root = ET.fromstring(svg)
    ids = {g.get("id") for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("id")}
    assert ids == {f"x{x['run-0002/Trainer']}", f"a{a['run-0002/model']}"}
    start = next(g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("id") == f"x{x['run-0002/Trainer']}")
    assert start.find("{http://www.w3.org/2000/svg}rect").get("stroke-width") == "3"  # the starting execution
    # A file that cannot be written: a clear error naming it, nothing left behind.
    missing = tmp_path / "no" / "such" / "dir.html"
    assert f"cannot write {missing}" in cli("lineage", "/models/taxi/run-0003", "--format", "html", "-o", str(missing),
                                            code=1)
    assert not (tmp_path / "no").exists()


def test_info_says_where_it_connects_and_what_it_finds(cli, history, store, neo4j_server):
    counts = store.counts()
    text = cli("info")
    assert f"Neo4j:    {neo4j_server.uri} as {neo4j_server.user}" in text and "(the URI from GRAPHMD_NEO4J_URI" in text
    # The server's version alone (5.26, or a 2025.x, which also lists its Cypher versions).
    assert re.search(r"^server:   Neo4j Kernel (5\.26\.\d+|20\d\d\.\d+\.\d+) community$", text, re.MULTILINE), text
    assert "schema:   version 4 (this graphmd writes 4);" in text and "all ONLINE" in text
    assert f"{counts['executions']:,} executions" in text and f"{counts['events']:,} events" in text
    data = json.loads(cli("info", "--format", "json"))
    assert data["counts"] == counts and data["schema_version"] == 4 and data["indexes_not_online"] == []
    assert data["indexes"] >= 30 and data["uri"] == neo4j_server.uri
    assert data["settings_from"] == "environment" and data["sources"]["uri"] == "GRAPHMD_NEO4J_URI"


def test_diff_compares_how_two_models_were_made(cli, history, store):
    a, b = history.artifacts["run-0003/model"], history.artifacts["run-0004/model"]
    text = cli("diff", str(a), "/models/taxi/run-0004", "--depth", "2")
    assert f"  A  Model #{a} run-0003/model" in text and f"  B  Model #{b} run-0004/model" in text
    assert "only B:" in text and "run-0004/examples" in text
    rates = [history.plans[r].step("Trainer").properties["learning_rate"] for r in (3, 4)]
    mark = r"\*" if rates[0] != rates[1] else ""
    assert re.search(rf"{mark}\s+Trainer\.learning_rate\s+{rates[0]}\s+{rates[1]}", text), text
    data = json.loads(cli("diff", str(a), str(b), "--format", "json"))
    assert [n["id"] for n in data["artifacts"]] == [a, b] and data["only"][0] == []
    spans = next(p for p in data["parameters"] if p["field"] == "ExampleGen.span")
    assert spans["values"] == [3, 4] and spans["differs"] is True
    page = cli("diff", str(a), str(b), "--depth", "2", "--format", "svg")
    fills = {g.get("id"): g.find("{http://www.w3.org/2000/svg}rect").get("fill")
             for g in ET.fromstring(page).iter("{http://www.w3.org/2000/svg}g") if g.get("id")}
    # run-0003's examples are upstream of B too, beyond 2 hops (B warm-starts from A): shared.
    assert fills[f"a{history.artifacts['run-0003/examples']}"] == "#e8f0fe"
    assert fills[f"a{history.artifacts['run-0004/examples']}"] == "#d0bfff"     # only B's
    assert fills[f"a{history.artifacts['run-0002/model']}"] == "#e8f0fe"        # both: as drawn alone
    assert fills[f"a{a}"] == "#e8f0fe"                                          # the compared ones: untinted
    assert f"only A: Model #{a}" in cli("diff", str(a), str(b), "--format", "html")
    assert "compare at least two artifacts" in cli("diff", str(a), code=2)  # a usage mistake
    # A compared model upstream of the other (run 3 warm-started from run 2's) is named as such.
    base = history.artifacts["run-0002/model"]
    assert re.search(rf"only B: .*Model #{base} run-0002/model \(= A\)", cli("diff", str(base), str(a))), \
        cli("diff", str(base), str(a))
    assert "no artifact has the URI '/nowhere'" in cli("diff", str(a), "/nowhere", code=1)
    twin = store.get_artifacts_by_id([a])[0]
    [copy] = store.put_artifacts([Artifact(type_id=twin.type_id, uri=twin.uri)])   # a second artifact, same URI
    assert f"2 artifacts have the URI '{twin.uri}': give one of their ids ({a}, {copy})" in cli(
        "diff", twin.uri or "", str(b), code=1)


def test_lineage_errors(cli, history):
    assert "no artifact has the URI" in cli("lineage", "/nowhere", code=1)
    assert "no artifact with id 999999999" in cli("lineage", "999999999", code=1)
    assert "no execution with id 999999999" in cli("lineage", "999999999", "--execution", code=1)
    assert "give only one of --up, --down, --both" in cli("lineage", "1", "--up", "--down", code=2)


def test_listings_show_a_page_and_say_when_there_are_more(cli, store, monkeypatch):
    """A listing shows the first DEFAULT_LIMIT nodes and says on stderr that there are more
    (and how to see them); --all shows every one, as JSON too; --newest starts from the newest,
    --changed from the most recently changed."""
    from graphmd import Artifact, ArtifactState, ArtifactType
    from graphmd.cli import lineage_commands

    monkeypatch.setattr(lineage_commands, "DEFAULT_LIMIT", 3)
    t = store.put_artifact_type(ArtifactType(name="Listed"))
    ids = store.put_artifacts([Artifact(type_id=t, uri=f"/listed/{i}") for i in range(5)])
    result = CliRunner().invoke(app, ["artifacts", "--type", "Listed"], catch_exceptions=False)
    assert result.exit_code == 0 and [line.split()[0] for line in result.stdout.splitlines()[1:]] == [str(i) for i in ids[:3]]
    assert "the first 3 artifacts shown; there are more: --limit N for more, --all" in result.stderr
    every = CliRunner().invoke(app, ["artifacts", "--type", "Listed", "--all", "--format", "json"])
    assert [a["id"] for a in json.loads(every.stdout)] == ids and "there are more" not in every.stderr
    newest = CliRunner().invoke(app, ["artifacts", "--type", "Listed", "--newest"])
    assert [line.split()[0] for line in newest.stdout.splitlines()[1:]] == [str(i) for i in ids[:1:-1]]
    given = CliRunner().invoke(app, ["artifacts", "--type", "Listed", "--limit", "4"])  # asked for: no note
    assert len(given.stdout.splitlines()) == 5 and "there are more" not in given.stderr
    # --changed: the most recently changed first (ids[1] was marked, then ids[3]).
    for changed in (ids[1], ids[3]):
        [node] = store.get_artifacts_by_id([changed])
        store.put_artifacts([node.model_copy(update={"state": ArtifactState.MARKED_FOR_DELETION})])
    recent = CliRunner().invoke(app, ["artifacts", "--type", "Listed", "--changed"])
    assert [line.split()[0] for line in recent.stdout.splitlines()[1:]] == [str(i) for i in (ids[3], ids[1], ids[4])]
    assert "the most recently changed 3 artifacts shown; there are more" in recent.stderr
    both = CliRunner().invoke(app, ["artifacts", "--newest", "--changed"])
    assert both.exit_code == 2 and "give --newest or --changed, not both" in both.output


def test_read_commands(cli, history, store):
    types = cli("types")
    assert "Trainer" in types and "learning_rate:DOUBLE" in types
    models = json.loads(cli("artifacts", "--type", "Model", "--format", "json"))
    assert [m["name"] for m in models] == [f"run-{r:04d}/model" for r in range(5)]
    assert len(cli("artifacts", "--type", "Model", "--limit", "2").splitlines()) == 3
    newest = json.loads(cli("artifacts", "--type", "Model", "--newest", "--limit", "2", "--format", "json"))
    assert [m["name"] for m in newest] == ["run-0004/model", "run-0003/model"]
    assert "give --limit or --all, not both" in cli("artifacts", "--all", "--limit", "2", code=2)
    run = history.contexts["run-0002"]
    assert len(json.loads(cli("executions", "--context", str(run), "--format", "json"))) == 7
    assert cli("executions", "--context", "run-0002") == cli("executions", "--context", str(run))  # by name too
    assert "no context named 'run-9'" in cli("executions", "--context", "run-9", code=1)
    [odd] = store.put_contexts([Context(type_id=store.get_context_type("PipelineRun").id, name='läuf "7" 😀\\')])
    assert cli("executions", "--context", 'läuf "7" 😀\\') == cli("executions", "--context", str(odd))
    other = store.put_context_type(ContextType(name="Experiment"))
    [twin] = store.put_contexts([Context(type_id=other, name="run-0002")])
    assert (f"2 contexts are named 'run-0002': give one of their ids (PipelineRun {run}, Experiment {twin})"
            in cli("executions", "--context", "run-0002", code=1))
    assert "run-0004" in cli("contexts", "--type", "PipelineRun")
    # A --type or --context that does not exist is an error, not an empty table.
    assert "no ArtifactType named 'Nope'" in cli("artifacts", "--type", "Nope", code=1)
    assert "no context with id or name '999999999'" in cli("executions", "--context", "999999999", code=1)
    # Digits are an id when a context has it, else a name (a run named by its date).
    [dated] = store.put_contexts([Context(type_id=store.get_context_type("PipelineRun").id, name="99999999")])
    assert json.loads(cli("show", "context", "99999999"))["id"] == dated
    assert cli("executions", "--context", "99999999") == cli("executions", "--context", str(dated))
    assert "no context named ' run-0002'" in cli("show", "context", " run-0002", code=1)  # as given
    assert cli("artifacts", "--type", "Model", "--filter", "name = 'none'").splitlines()[1:] == []  # none match: empty
    trainer = str(history.executions["run-0001/Trainer"])
    assert cli("show", "Execution", trainer) == cli("show", "execution", trainer)  # as the type is spelt too
    shown = json.loads(cli("show", "execution", str(history.executions["run-0001/Trainer"])))
    assert shown["properties"]["learning_rate"] == 0.03 and sorted(shown["contexts"]) == ["run-0001", "taxi"]
    assert "no artifact with id" in cli("show", "artifact", "999999999", code=1)
    # A context shows its members; --type with --context keeps both conditions.
    shown = json.loads(cli("show", "context", str(run)))
    assert len(shown["executions"]) == 7 and {"id", "type", "name"} <= set(shown["executions"][0])
    assert "run-0002/model" in [a.get("name") for a in shown["artifacts"]] and "more_artifacts" not in shown
    assert shown["executions_count"] == 7 and shown["artifacts_count"] == len(shown["artifacts"])
    # By name too, as --context takes it (it said "Input should be a valid integer"); an
    # artifact or execution is shown by id, a usage mistake otherwise.
    by_name = json.loads(cli("show", "context", "taxi"))
    assert by_name["name"] == "taxi" and by_name["executions_count"] == len(store.get_executions_by_context(
        by_name["id"])) == 35
    assert "'run-0001/model' is not an id" in cli("show", "artifact", "run-0001/model", code=2)
    models = json.loads(cli("artifacts", "--context", str(run), "--type", "Model", "--format", "json"))
    in_run = [a.name for a in store.get_artifacts_by_context(run) if a.type == "Model"]  # inputs too: warm starts
    assert [m["name"] for m in models] == in_run and "run-0004/model" not in in_run


def test_query_and_compare(cli, history):
    listing = cli("query")
    # Each query's first sentence, whole: "e.g." does not end it.
    assert "who_triggered_run(run_name)" in listing and "e.g. 'Trainer #42')." in listing
    [row] = json.loads(cli("query", "who_triggered_run", "-p", "run_name=run-0001"))
    assert row["triggered_by"] == "bob"
    rows = json.loads(cli("query", "model_hyperparameters", "--param", f"model_id={history.artifacts['run-0001/model']}"))
    assert {r["hyperparameter"]: r["value"] for r in rows}["num_steps"] == 1500
    assert "needs parameter 'model_id'" in cli("query", "model_location", code=2)
    table = cli("compare", "run-0001", "run-0002").splitlines()
    assert table[0].split() == ["field", "run-0001", "run-0002"]
    assert any(line.split()[:2] == ["*", "Trainer.learning_rate"] for line in table)


def test_compare_and_diff_say_when_there_is_nothing_to_compare(cli, store):
    xt = store.put_execution_type(ExecutionType(name="Bare"))
    at = store.put_artifact_type(ArtifactType(name="Thing"))
    rt = store.put_context_type(ContextType(name="PipelineRun"))
    for uri, contexts in (("/t1", [Context(type_id=rt, name="bare-run")]), ("/t2", [])):
        store.put_execution(Execution(type_id=xt), [(Artifact(type_id=at, uri=uri), Event(type=EventType.OUTPUT))],
                            contexts)
    assert "no properties to compare" in cli("compare", "bare-run")
    assert "no execution properties upstream to compare" in cli("diff", "/t1", "/t2")


def test_unreachable_neo4j_says_how_to_get_one(monkeypatch):
    from graphmd._local_neo4j import free_port

    monkeypatch.setenv("GRAPHMD_NEO4J_URI", f"bolt://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", "unused")
    result = CliRunner().invoke(app, ["artifacts"], catch_exceptions=False)
    assert result.exit_code == 1  # one line: the URI, where it came from, why (tests/test_cli_messages.py)
    assert result.output.startswith("error: cannot reach Neo4j at bolt://127.0.0.1:") and result.output.endswith(
        " (from GRAPHMD_NEO4J_URI): connection refused (no server listens there)\n"), result.output


def test_a_chain_deeper_than_pythons_recursion_limit_prints_as_a_tree(cli, store):
    """A model warm-started from the one before, 1,200 times: 2,400 levels of tree (each
    run a Trainer and its model), beyond Python's recursion limit of 1,000. With --whole it
    prints, with a note that --depth keeps it readable; without, it stops at the hops whose
    1,000 nodes fit, and a note says how large the whole is."""
    from graphmd import Artifact, ArtifactType, Event, EventEdge, EventType, Execution, ExecutionType
    model_t = store.put_artifact_type(ArtifactType(name="ChainModel"))
    trainer_t = store.put_execution_type(ExecutionType(name="ChainTrainer"))
    [previous] = store.put_artifacts([Artifact(type_id=model_t, uri="/chain/0")])
    runs, per_batch = 1_200, 300
    for start in range(0, runs, per_batch):
        artifacts = [Artifact(type_id=model_t, uri=f"/chain/{start + i + 1}") for i in range(per_batch)]
        edges = []
        for i in range(per_batch):
            edges.append(EventEdge(execution_index=i, artifact_index=i, event=Event(type=EventType.OUTPUT)))
            edges.append(EventEdge(execution_index=i, artifact_index=i - 1, event=Event(type=EventType.INPUT))
                         if i else EventEdge(execution_index=0, event=Event(type=EventType.INPUT, artifact_id=previous)))
        result = store.put_lineage_subgraph([Execution(type_id=trainer_t) for _ in range(per_batch)], artifacts, [],
                                            edges)
        previous = result.artifact_ids[-1]
    text = cli("lineage", str(previous), "--up", "--whole")
    lines = text.splitlines()
    tree = [line for line in lines if ("/chain/" in line or "ChainTrainer" in line) and not line.startswith("[")]
    assert len(tree) == 2 * runs + 1 and "/chain/0" in tree[-1] and f"/chain/{runs}" in tree[0]
    # The chain goes on in blocks of 12 levels, indented from the margin again: no line is wide.
    blocks = [line for line in lines if line.startswith("[")]
    assert len(blocks) == (2 * runs) // 12 - 1
    [cut_at] = store.get_artifacts_by_uri(f"/chain/{runs - 6}")
    assert blocks[0] == f"[1] 12 hops upstream: ChainModel #{cut_at.id} (/chain/{runs - 6})"
    assert "↓ continued below [1]" in lines[12] and lines[14] == blocks[0]
    assert max(map(len, lines[:-1])) < 120
    assert ("note: 2,799 lines (2,401 nodes; 199 deep branches continue below, marked [N]), too large to read as one "
            "tree: --depth N keeps the N hops nearest the start; --format html -o FILE draws it") in text
    assert "note:" not in cli("lineage", str(previous), "--up", "--depth", "4")
    # Wide only because of one long uri: fewer hops would not narrow it, so no --depth advice.
    [wide] = store.put_artifacts([Artifact(type_id=model_t, uri="/wide/" + "x" * 300)])
    said = cli("lineage", str(wide))
    assert "characters wide" in said and "--depth N" not in said, said
    # Without --depth: the 999 hops nearest (1,000 nodes), the last marked, and a note.
    cut = cli("lineage", str(previous), "--up")
    shown = [line for line in cut.splitlines() if ("/chain/" in line or "ChainTrainer" in line)
             and not line.startswith("[")]
    assert len(shown) == 1_000 and "… more upstream" in shown[-1] and f"/chain/{runs}" in shown[0]
    assert ("note: the whole lineage has 2,401 nodes, 2,400 hops deep: shown to --depth 999 (1,000 nodes); "
            "--depth N for more or fewer hops, --whole for all of it") in cut
    assert "too large to read" not in cut
    page = cli("lineage", str(previous), "--up", "--format", "json")  # json: always the whole
    assert len(json.loads(page)["artifacts"]) == runs + 1
    assert "give --depth or --whole, not both" in cli("lineage", str(previous), "--whole", "--depth", "2", code=2)
    # diff draws the same way, hops counted from the nearer model; what the two models' lineages
    # share is counted once (2,401 nodes, not twice as many).
    [before] = store.get_artifacts_by_uri(f"/chain/{runs - 1}")
    drawn = cli("diff", str(before.id), str(previous), "--format", "html")
    assert ("note: the whole lineage has 2,401 nodes, 2,398 hops deep: drawn to --depth 1997 (2,000 nodes); "
            "--depth N for more or fewer hops, --whole for all of it") in drawn
    assert "note:" not in cli("diff", str(before.id), str(previous), "--format", "svg", "--whole")
    assert "give --depth or --whole, not both" in cli("diff", str(before.id), str(previous), "--whole", "--depth",
                                                      "2", code=2)


def test_a_line_break_in_a_name_stays_on_its_tree_line() -> None:
    from graphmd import Artifact, Execution, ExecutionState
    from graphmd.cli.lineage_commands import _label

    assert _label(Artifact(id=1, type="Data", name="line1\nline2", uri="/d\r\n")) == r"Data #1 line1\nline2 (/d\r\n)"
    assert _label(Execution(id=2, type="Step", name="a\nb", last_known_state=ExecutionState.COMPLETE)) == (
        r"Step #2 a\nb [COMPLETE]")
    # A name and uri as stored: spaces doubled or trailing are kept (the uri is what a user
    # copies back into `graphmd lineage`), and an unnamed node has no gap where its name is.
    assert _label(Artifact(id=3, type="Data", name="a  b ", uri="/with  two/ f.csv")) == "Data #3 a  b  (/with  two/ f.csv)"
    assert _label(Artifact(id=4, type="Data", uri="/u")) == "Data #4 (/u)"
    assert _label(Execution(id=5, type="Step")) == "Step #5"


def _nodes(graph: dict) -> set[tuple[str, int]]:
    return ({("a", n["id"]) for n in graph.get("artifacts", [])}
            | {("x", n["id"]) for n in graph.get("executions", [])})


def _events(graph: dict) -> set[tuple[int, int, str]]:
    return {(e["artifact_id"], e["execution_id"], e["type"]) for e in graph.get("events", [])}


def test_both_ways_is_upstream_and_downstream_put_together(cli, history, store):
    """The default (--both) is what --up and --down return put together, each to --depth, in
    every format: not MLMD's BIDIRECTIONAL, which follows any event at every hop and so
    reaches, two hops from a model, the other inputs of the steps that read it (the
    Evaluator's examples, a later Trainer's schema): neither made from the model nor made
    into it."""
    a, x = history.artifacts, history.executions
    model = a["run-0002/model"]

    def library(direction: LineageDirection) -> dict:
        return json.loads(store.get_lineage_subgraph(LineageSubgraphQueryOptions(
            starting_artifacts=NodeSelector(ids=[model]), direction=direction, max_num_hops=2)).model_dump_json())

    up, down = library(LineageDirection.UPSTREAM), library(LineageDirection.DOWNSTREAM)
    bidirectional = library(LineageDirection.BIDIRECTIONAL)
    expected = _nodes(up) | _nodes(down)
    assert ("a", a["run-0003/schema"]) in _nodes(bidirectional) - expected
    both = json.loads(cli("lineage", str(model), "--depth", "2", "--format", "json"))
    assert _nodes(both) == expected and _events(both) >= _events(up) | _events(down)
    # And the edges between those nodes past the depth (a blessing two hops down, read by the
    # Pusher one hop down), which the tree draws as references.
    extra = _events(both) - (_events(up) | _events(down))
    assert extra and all(("a", aid) in expected and ("x", xid) in expected for aid, xid, _ in extra)
    assert json.loads(cli("lineage", str(model), "--both", "--depth", "2", "--format", "json")) == both
    assert {c["id"] for c in both["contexts"]} == {c["id"] for c in up["contexts"] + down["contexts"]}
    svg = ET.fromstring(cli("lineage", str(model), "--depth", "2", "--format", "svg"))
    assert {(g.get("id")[0], int(g.get("id")[1:])) for g in svg.iter("{http://www.w3.org/2000/svg}g")
            if g.get("id")} == expected
    dot = cli("lineage", str(model), "--depth", "2", "--format", "dot")
    assert {(k[0], int(k[1:])) for k in re.findall(r"^  ([ax]\d+) \[", dot, re.M)} == expected
    assert len(re.findall(r" -> ", dot)) == len(_events(both))
    # Unlimited, the same: ancestors and descendants, nothing else.
    whole = json.loads(cli("lineage", str(model), "--format", "json"))
    assert _nodes(whole) == _nodes(json.loads(cli("lineage", str(model), "--up", "--format", "json"))) | _nodes(
        json.loads(cli("lineage", str(model), "--down", "--format", "json")))
    # The tree: under the model, what it was made from and what was made from it.
    tree = cli("lineage", str(model), "--depth", "1").splitlines()
    assert tree[:4] == [
        f"Model #{model} run-0002/model (/models/taxi/run-0002)",
        "├── upstream: what it was made from",
        f"│   └── Trainer #{x['run-0002/Trainer']} run-0002/Trainer [COMPLETE]  <OUTPUT model/0>  … more upstream",
        "└── downstream: what was made from it",
    ]
    readers = [line for line in tree[4:] if line.startswith("    ")]
    assert len(readers) == len(tree) - 4 and readers[-1].startswith("    └── ")
    assert f"Trainer #{x['run-0003/Trainer']} run-0003/Trainer [COMPLETE]  <INPUT base_model/0>" in readers[0]
    assert f"Trainer #{x['run-0004/Trainer']} run-0004/Trainer [COMPLETE]  <INPUT teacher_model/0>" in readers[-1]
    assert cli("lineage", str(model), "--depth", "0").splitlines() == [
        f"Model #{model} run-0002/model (/models/taxi/run-0002)  … more upstream and downstream",
        "├── upstream: what it was made from (beyond --depth)",
        "└── downstream: what was made from it (beyond --depth)",
    ]
    first = a["run-0000/examples"]  # made by a step that read nothing
    assert cli("lineage", str(first), "--depth", "1").splitlines()[:3] == [
        f"Examples #{first} run-0000/examples (/data/taxi/examples/span-0)",
        "├── upstream: what it was made from",
        f"│   └── ExampleGen #{x['run-0000/ExampleGen']} run-0000/ExampleGen [COMPLETE]  <OUTPUT examples/0>",
    ]


def test_depth_cut_offs_are_marked_in_every_drawing(cli, history, tmp_path):
    """A node where --depth stopped while its lineage goes on is marked; one whose lineage
    ends there (a step that read nothing) is not."""
    a, x = history.artifacts, history.executions
    model, trainer = a["run-0002/model"], x["run-0002/Trainer"]
    svg = ET.fromstring(cli("lineage", str(model), "--up", "--depth", "1", "--format", "svg"))
    classes = {g.get("id"): g.get("class") for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("id")}
    assert classes == {f"a{model}": "node artifact start", f"x{trainer}": "node execution more-upstream"}
    cli("lineage", str(model), "--depth", "1", "--format", "html", "-o", str(tmp_path / "page.html"))
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert 'class="node execution more-upstream"' in page and 'class="node execution more-downstream"' in page
    assert "… more beyond depth</span>" in page
    dot = cli("lineage", str(model), "--up", "--depth", "1", "--format", "dot")
    assert f'x{trainer} [shape=box, label="Trainer #{trainer}\\nrun-0002/Trainer\\n… more upstream"];' in dot
    mermaid = cli("lineage", str(model), "--down", "--depth", "1", "--format", "mermaid")
    assert f'  x{x["run-0003/Trainer"]}["Trainer #{x["run-0003/Trainer"]}<br/>run-0003/Trainer<br/>… more downstream"]' \
        in mermaid.splitlines()
    # The whole lineage: nothing cut, nothing marked.
    assert "more" not in cli("lineage", str(model), "--format", "dot")
    examples = a["run-0000/examples"]
    assert "more" not in cli("lineage", str(examples), "--up", "--depth", "1")


def test_an_edge_between_drawn_nodes_past_the_depth_is_drawn_not_marked_as_more(cli, store):
    """An evaluation step one hop downstream of the data also read the model two hops away:
    with --depth 2 both were drawn, but the model's edge to it (a third hop from the data)
    was left out of every format and the model marked "… more downstream", though nothing
    more was there. It is drawn as the tree draws any other edge between drawn nodes."""
    at = store.put_artifact_type(ArtifactType(name="DepthT"))
    et = store.put_execution_type(ExecutionType(name="DepthStep"))
    data, model = store.put_artifacts([Artifact(type_id=at, uri="/depth/data"), Artifact(type_id=at, uri="/depth/model")])
    train, ev = store.put_executions([Execution(type_id=et, name="depth-train"), Execution(type_id=et, name="depth-eval")])
    store.put_events([Event(artifact_id=data, execution_id=train, type=EventType.INPUT, path=["examples", 0]),
                      Event(artifact_id=model, execution_id=train, type=EventType.OUTPUT, path=["model", 0]),
                      Event(artifact_id=data, execution_id=ev, type=EventType.INPUT, path=["examples", 0]),
                      Event(artifact_id=model, execution_id=ev, type=EventType.INPUT, path=["model", 0])])
    tree = cli("lineage", "/depth/data", "--down", "--depth", "2")
    assert f"DepthT #{model} (/depth/model)  <OUTPUT model/0>\n" in tree
    assert f"DepthStep #{ev} depth-eval  <INPUT model/0>  (see below)" in tree and "more" not in tree
    assert f"a{model} -> x{ev}" in cli("lineage", "/depth/data", "--down", "--depth", "2", "--format", "dot")
    graph = json.loads(cli("lineage", "/depth/data", "--down", "--depth", "2", "--format", "json"))
    assert (model, ev, "INPUT") in _events(graph)
    # One hop fewer: the model is not drawn, so the step's edge to it is more, not an edge.
    assert "more downstream" in cli("lineage", "/depth/data", "--down", "--depth", "1")


def test_states_other_than_the_default_are_shown_in_tree_dot_and_mermaid(cli, history, store):
    a, x = history.artifacts, history.executions
    [model] = store.get_artifacts_by_id([a["run-0001/model"]])
    [trainer] = store.get_executions_by_id([x["run-0001/Trainer"]])
    store.put_artifacts([model.model_copy(update={"state": ArtifactState.DELETED})])
    store.put_executions([trainer.model_copy(update={"last_known_state": ExecutionState.FAILED})])
    tree = cli("lineage", str(model.id), "--up", "--depth", "1").splitlines()
    assert tree[0] == f"Model #{model.id} run-0001/model (/models/taxi/run-0001) [DELETED]"
    assert tree[1].startswith(f"└── Trainer #{trainer.id} run-0001/Trainer [FAILED]  <OUTPUT model/0>")
    dot = cli("lineage", str(model.id), "--up", "--depth", "1", "--format", "dot")
    assert f'a{model.id} [shape=ellipse, label="Model #{model.id}\\nrun-0001/model [DELETED]", style=dashed];' in dot
    assert f'label="Trainer #{trainer.id}\\nrun-0001/Trainer [FAILED]\\n… more upstream", style=filled' in dot
    mermaid = cli("lineage", str(model.id), "--up", "--depth", "1", "--format", "mermaid").splitlines()
    assert f"  class x{trainer.id} failed" in mermaid and f"  class a{model.id} notlive" in mermaid


def test_mermaid_past_its_default_limits_gets_a_note(cli, store):
    """Mermaid 11 refuses more than 500 edges (or 50,000 characters) unless the page raises
    its limits: the CLI says so, with --depth too, and not below the limits."""
    history = record_history(store, 60)
    examples = history.artifacts["run-0000/examples"]
    text = cli("lineage", str(examples), "--down", "--depth", "200", "--format", "mermaid")
    edges = sum(" -->|" in line for line in text.splitlines())
    assert edges > 500
    assert (f"note: {edges:,} edges, " in text and "Mermaid 11 draws at most 500 edges and 50,000 characters unless "
            "the page raises maxEdges and maxTextSize in mermaid.initialize" in text)
    assert "note:" not in cli("lineage", str(examples), "--down", "--depth", "4", "--format", "mermaid")
    # Without --depth it is cut to what Mermaid draws (it was cut at html's 2,000 nodes: 2,781
    # edges and 223 KB from a 10,000-run history, which Mermaid refuses).
    text = cli("lineage", str(examples), "--down", "--format", "mermaid")
    edges = sum(" -->|" in line for line in text.splitlines())
    assert 0 < edges <= 500 and len(text) < 50_000 and "note: the whole lineage has " in text, edges


def test_control_characters_in_names_and_keys_are_escaped_in_trees_and_diffs(cli, store):
    """A tree escaped only line breaks in names and nothing in event keys: an ESC reached the
    terminal, and a line break in a key forged tree lines; diff printed both raw. A name of
    non-ASCII digits is a name, not an id ('²' crashed int(), '٣' read as id 3)."""
    from graphmd import Artifact, ArtifactAndEvent, ArtifactType, Event, EventType, Execution, ExecutionType

    data_t = store.put_artifact_type(ArtifactType(name="D\x1b[31m"))
    step_t = store.put_execution_type(ExecutionType(name="S"))
    result = store.put_execution(Execution(type_id=step_t, name="x\x1b]0;title\x07"), [
        ArtifactAndEvent(artifact=Artifact(type_id=data_t, name="in\x1b[2J", uri="/in"),
                         event=Event(type=EventType.INPUT, path=["key\nFAKE LINE", 0])),
        ArtifactAndEvent(artifact=Artifact(type_id=data_t, name="out", uri="٣"), event=Event(type=EventType.OUTPUT))])
    out_id = result.artifact_ids[1]
    tree = cli("lineage", str(out_id), "--up")
    assert "\x1b" not in tree and "\x07" not in tree and "FAKE LINE" in tree
    assert not any(line.startswith("FAKE LINE") for line in tree.splitlines())
    assert "key\\nFAKE LINE" in tree and "\\x1b[2J" in tree
    diff = cli("diff", str(out_id), str(result.artifact_ids[0]))
    assert "\x1b" not in diff and "\\x1b[31m" in diff
    assert f"#{out_id}" in cli("lineage", "٣", "--up")  # the uri, not id 3
    assert "no artifact has the URI '²'" in cli("lineage", "²", code=1)
    # Digits that are no artifact's id are its URI, when one has it ('12' was "no artifact with id 12").
    [digits] = store.put_artifacts([Artifact(type_id=data_t, uri="424242424242")])
    store.put_execution(Execution(type_id=step_t), [ArtifactAndEvent(event=Event(artifact_id=digits, type=EventType.INPUT))])
    assert f"#{digits}" in cli("lineage", "424242424242", "--down")
    assert f"#{digits}" in cli("diff", "424242424242", str(out_id))
    assert "no context named '²'" in cli("artifacts", "--context", "²", code=1)


def test_a_name_given_for_an_id_or_uri_is_told_where_it_points(cli, history, store):
    """The names a history prints everywhere (run-0003/model) are what a first-day user types:
    lineage and diff name the artifact that has it and its URI, show says how to find it, and
    a misspelt type gets the close names."""
    model = history.artifacts["run-0003/model"]
    said = cli("lineage", "run-0003/model", "--up", code=1)
    assert (f"no artifact has the URI 'run-0003/model'; artifact {model} (Model) is named so, its URI "
            "'/models/taxi/run-0003': pass the id or the URI") in said, said
    assert f"artifact {model} (Model) is named so" in cli("diff", "run-0003/model", "/models/taxi/run-0002", code=1)
    assert "is named so" not in cli("lineage", "run-0003/modl", "--up", code=1)
    assert ("`graphmd artifacts --filter \"name = 'run-0003/model'\"` finds one by name"
            in cli("show", "artifact", "run-0003/model", code=2))
    assert "no ArtifactType named 'Modle' (did you mean 'Model'?)" in cli("artifacts", "--type", "Modle", code=1)
    # A name with a quote, a backslash and a line break is looked up as it is (it made a filter
    # syntax error replace the error it was to explain).
    odd = "odd\n'model\\"
    [odd_id] = store.put_artifacts([Artifact(type_id=store.get_artifact_type("Model").id, name=odd, uri="/odd")])
    assert f"artifact {odd_id} (Model) is named so, its URI '/odd'" in cli("lineage", odd, "--up", code=1)


def test_a_branch_cut_at_depth_0_is_not_called_empty(cli, history):
    """--depth 0 draws the starting node alone: its branches are beyond the depth, and said so
    ("(nothing)" read as "no lineage", under a header saying there is more each way)."""
    assert cli("lineage", "/models/taxi/run-0002", "--depth", "0").splitlines() == [
        f"Model #{history.artifacts['run-0002/model']} run-0002/model (/models/taxi/run-0002)  … more upstream and downstream",
        "├── upstream: what it was made from (beyond --depth)",
        "└── downstream: what was made from it (beyond --depth)",
    ]
    pushed = cli("lineage", "/serving/taxi/4", "--depth", "0").splitlines()
    assert pushed[1:] == ["├── upstream: what it was made from (beyond --depth)",
                          "└── downstream: what was made from it (nothing)"], pushed
