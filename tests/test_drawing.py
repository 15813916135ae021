"""Lineage drawn as SVG and as an HTML page: layout, content, escaping (no Neo4j needed)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from graphmd import (
    Artifact,
    ArtifactState,
    Association,
    Attribution,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    LineageGraph,
    lineage_dot,
    lineage_html,
    lineage_mermaid,
    lineage_svg,
)
from graphmd._drawing import layout

SVG = "{http://www.w3.org/2000/svg}"


def chain(runs: int) -> LineageGraph:
    """runs of data -> train -> model, each train also reading the previous model."""
    artifacts, executions, events = [], [], []
    for run in range(runs):
        data, model, train = 100 + 2 * run, 101 + 2 * run, 500 + run
        artifacts += [Artifact(id=data, type="Data", uri=f"/data/{run}"), Artifact(id=model, type="Model", name=f"m{run}")]
        executions.append(Execution(id=train, type="Trainer", last_known_state=ExecutionState.COMPLETE))
        events += [Event(artifact_id=data, execution_id=train, type=EventType.INPUT),
                   Event(artifact_id=model, execution_id=train, type=EventType.OUTPUT)]
        if run:
            events.append(Event(artifact_id=model - 2, execution_id=train, type=EventType.INPUT))
    return LineageGraph(artifacts=artifacts, executions=executions, events=events)


def test_every_edge_points_right_and_no_two_nodes_share_a_place():
    graph = chain(30)
    keys = [("a", a.id) for a in graph.artifacts] + [("x", x.id) for x in graph.executions]
    edges = [(("a", e.artifact_id), ("x", e.execution_id)) if e.type is EventType.INPUT
             else (("x", e.execution_id), ("a", e.artifact_id)) for e in graph.events]
    placed = layout(keys, edges)
    assert all(placed.column[start] < placed.column[end] for start, end in edges)
    places = [(placed.column[k], placed.row[k]) for k in keys]
    assert len(set(places)) == len(keys)
    # Model k is 2k + 2 layers right of the first data, and each run's data sits one layer
    # before the step that reads it, not in the first layer with every other source.
    assert [placed.column[("a", 101 + 2 * run)] for run in range(4)] == [2, 4, 6, 8]
    assert [placed.column[("a", 100 + 2 * run)] for run in (0, 1, 2, 29)] == [0, 2, 4, 58]
    assert placed.columns == 2 * 30 + 1 and placed.rows == 2


def test_a_cycle_is_drawn_without_looping_forever():
    # An execution that reads and writes the same artifact, and a longer cycle.
    keys = [("a", 1), ("x", 2), ("a", 3), ("x", 4)]
    edges = [(("a", 1), ("x", 2)), (("x", 2), ("a", 1)), (("x", 2), ("a", 3)), (("a", 3), ("x", 4)),
             (("x", 4), ("a", 1))]
    placed = layout(keys, edges)
    # The edges back into artifact 1 close the cycles; the rest keep pointing right.
    assert placed.column == {("a", 1): 0, ("x", 2): 1, ("a", 3): 2, ("x", 4): 3}
    graph = LineageGraph(artifacts=[Artifact(id=1, type="T"), Artifact(id=3, type="T")],
                         executions=[Execution(id=2, type="E"), Execution(id=4, type="E")],
                         events=[Event(artifact_id=1, execution_id=2, type=EventType.INPUT),
                                 Event(artifact_id=1, execution_id=2, type=EventType.OUTPUT)])
    ET.fromstring(lineage_svg(graph))


def test_svg_holds_every_node_and_edge_styled_by_kind_and_state():
    graph = chain(3)
    graph.executions[1].last_known_state = ExecutionState.FAILED
    graph.artifacts[0].state = ArtifactState.DELETED
    root = ET.fromstring(lineage_svg(graph, highlight=[graph.artifacts[-1].id], highlight_executions=[502]))
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}
    assert set(groups) == {f"a{a.id}" for a in graph.artifacts} | {f"x{x.id}" for x in graph.executions}
    paths = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    assert {(p.get("data-from"), p.get("data-to")) for p in paths} == {
        (f"a{e.artifact_id}", f"x{e.execution_id}") if e.type is EventType.INPUT
        else (f"x{e.execution_id}", f"a{e.artifact_id}") for e in graph.events}

    def rect(node_id: str) -> ET.Element:
        return groups[node_id].find(f"{SVG}rect")

    assert rect("x501").get("stroke") == "#d93025"                    # failed: red
    assert rect("x500").get("stroke") == "#1e8e3e"                    # complete: green
    assert rect("a100").get("stroke-dasharray")                        # not LIVE: dashed
    assert rect("a105").get("stroke-width") == "3"                     # highlighted
    assert rect("x502").get("stroke-width") == "3" and rect("x500").get("stroke-width") != "3"
    texts = ["".join(t.itertext()) for t in groups["x501"].iter(f"{SVG}text")]
    assert texts == ["Trainer #501", "[FAILED]"]
    assert "name: m0" in "".join(groups["a101"].find(f"{SVG}title").itertext())


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.tags: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def test_html_page_is_self_contained_and_escapes_what_users_wrote():
    hostile = "<!--<script></script><script>alert(1)</script><b>"
    graph = chain(2)
    graph.artifacts[1].name = hostile
    graph.artifacts[1].custom_properties = {"note": hostile, "score": 0.5}
    graph.contexts = [Context(id=7, type="Run", name="run </script> 1")]
    graph.attributions = [Attribution(context_id=7, artifact_id=101)]
    graph.associations = [Association(context_id=7, execution_id=500)]
    page = lineage_html(graph, title="lineage <of> m0")
    parsed = _Page()
    parsed.feed(page)
    # Two scripts: the data and the code; the hostile text never opens a third or a <b>.
    assert len(parsed.scripts) == 2 and "b" not in parsed.tags
    assert not re.search(r"(src|href)=\"?https?:", page)              # nothing fetched
    # No "<" at all in the data: "<!--<script>" would switch a browser's parser into the
    # script element's escaped states, where its end tag no longer ends it (jsdom showed it).
    assert "<" not in parsed.scripts[0]
    data = json.loads(parsed.scripts[0])
    assert data["nodes"]["a101"]["name"] == hostile
    assert data["nodes"]["a101"]["custom_properties"] == {"note": hostile, "score": 0.5}
    assert data["contexts"] == [{"id": 7, "type": "Run", "name": "run </script> 1", "members": ["a101", "x500"]}]
    assert "<title>lineage &lt;of&gt; m0</title>" in page
    assert "2 artifacts" not in page and "4 artifacts, 2 executions, 5 events, 1 context<" in page
    # The contexts are listed in the page itself (read without scripts), escaped, as buttons.
    assert '<button type="button" data-context="0">Run: run &lt;/script&gt; 1 (2)</button>' in page
    assert "<noscript>" in page
    assert ">none</li>" in lineage_html(chain(1))


@pytest.mark.parametrize("runs", [0, 1])
def test_tiny_graphs_draw(runs):
    graph = chain(runs)
    ET.fromstring(lineage_svg(graph))
    assert "<svg" in lineage_html(graph)


def test_tints_and_legend_are_checked_and_drawn():
    from graphmd import InvalidArgumentError

    graph = chain(2)
    root = ET.fromstring(lineage_svg(graph, tint={("artifact", 101): "#ffd8a8", ("execution", 500): "#d0bfff"}))
    fills = {g.get("id"): g.find(f"{SVG}rect").get("fill") for g in root.iter(f"{SVG}g") if g.get("id")}
    assert (fills["a101"], fills["x500"], fills["a100"]) == ("#ffd8a8", "#d0bfff", "#e8f0fe")
    page = lineage_html(graph, tint={("artifact", 101): "#ffd8a8"}, legend=[("only <A>", "#ffd8a8")])
    assert "only &lt;A&gt;</span>" in page
    for bad in ({("model", 1): "#ffffff"}, {("artifact", 1): "red"}, {("artifact", 1): "#fff\" onload=\"x"}):
        with pytest.raises(InvalidArgumentError) as error:
            lineage_svg(graph, tint=bad)
        assert error.value.field == "tint"
    with pytest.raises(InvalidArgumentError):
        lineage_html(graph, legend=[("x", "url(javascript:1)")])


def test_svg_edges_name_each_event_with_its_path():
    """The page's panel lists a node's inputs from the edges' titles, DOT and Mermaid label
    the edges: with the paths a Trainer's base_model and teacher_model tell apart."""
    graph = LineageGraph(
        artifacts=[Artifact(id=1, type="Model", name="m1"), Artifact(id=2, type="Model", name="m2"),
                   Artifact(id=3, type="Model", name="m3")],
        executions=[Execution(id=9, type="Trainer")],
        events=[Event(artifact_id=1, execution_id=9, type=EventType.INPUT, path=["base_model", 0]),
                Event(artifact_id=2, execution_id=9, type=EventType.INPUT, path=["teacher_model", 0]),
                Event(artifact_id=3, execution_id=9, type=EventType.OUTPUT)])
    titles = re.findall(r'<path class="edge"[^>]*><title>([^<]*)</title>', lineage_svg(graph))
    assert sorted(titles) == ["INPUT base_model/0", "INPUT teacher_model/0", "OUTPUT"]
    dot, mermaid = lineage_dot(graph), lineage_mermaid(graph).splitlines()
    assert 'a1 -> x9 [label="INPUT base_model/0"];' in dot and 'a2 -> x9 [label="INPUT teacher_model/0"];' in dot
    assert 'x9 -> a3 [label="OUTPUT"];' in dot
    assert '  a1 -->|"INPUT base_model/0"| x9' in mermaid and '  x9 -->|"OUTPUT"| a3' in mermaid
    # A key of any text stays inside the label's quotes.
    graph.events[0].path = ['say "hi" | a', 0]
    assert '  a1 -->|"INPUT say #quot;hi#quot; | a/0"| x9' in lineage_mermaid(graph).splitlines()


def test_dot_and_mermaid_labels_end_with_the_name_or_the_id():
    """An unnamed execution's label is its type and id, not those and an empty line."""
    graph = LineageGraph(
        artifacts=[Artifact(id=1, type="Data", uri="/data/1"), Artifact(id=2, type="Model", name="m2")],
        executions=[Execution(id=9, type="Trainer"), Execution(id=8, type="Pusher", name="push")],
        events=[Event(artifact_id=1, execution_id=9, type=EventType.INPUT),
                Event(artifact_id=2, execution_id=9, type=EventType.OUTPUT)])
    mermaid = lineage_mermaid(graph).splitlines()
    assert '  x9["Trainer #9"]' in mermaid and '  x8["Pusher #8<br/>push"]' in mermaid
    assert '  a1(["Data #1<br/>/data/1"])' in mermaid and '  a2(["Model #2<br/>m2"])' in mermaid
    dot = lineage_dot(graph)
    assert 'label="Trainer #9"' in dot and 'label="Pusher #8\\npush"' in dot and 'label="Data #1\\n/data/1"' in dot
    # DOT is UTF-8 and has no \\u escapes: other scripts stay as they are; quotes, backslashes
    # and line breaks are escaped as DOT reads them.
    graph.artifacts[1].name = 'modèle "v2" a\\b\nzwei'
    assert 'label="Model #2\\nmodèle \\"v2\\" a\\\\b\\nzwei"' in lineage_dot(graph)


def history(runs: int) -> tuple[LineageGraph, dict[str, int]]:
    """A TFX-like history: each run a source step writing data, a trainer reading it and the
    previous model, an evaluator reading the model and writing an evaluation nothing reads."""
    artifacts, executions, events, ids = [], [], [], {}
    for run in range(runs):
        data, model, evaluation = 1000 + 3 * run, 1001 + 3 * run, 1002 + 3 * run
        gen, train, evaluate = 5000 + 3 * run, 5001 + 3 * run, 5002 + 3 * run
        ids.update({f"data{run}": data, f"model{run}": model, f"evaluation{run}": evaluation, f"gen{run}": gen,
                    f"train{run}": train, f"evaluate{run}": evaluate})
        artifacts += [Artifact(id=data, type="Examples"), Artifact(id=model, type="Model"),
                      Artifact(id=evaluation, type="ModelEvaluation")]
        executions += [Execution(id=gen, type="ExampleGen"), Execution(id=train, type="Trainer"),
                       Execution(id=evaluate, type="Evaluator")]
        events += [Event(artifact_id=data, execution_id=gen, type=EventType.OUTPUT),
                   Event(artifact_id=data, execution_id=train, type=EventType.INPUT),
                   Event(artifact_id=model, execution_id=train, type=EventType.OUTPUT),
                   Event(artifact_id=model, execution_id=evaluate, type=EventType.INPUT),
                   Event(artifact_id=evaluation, execution_id=evaluate, type=EventType.OUTPUT)]
        if run:
            events.append(Event(artifact_id=model - 3, execution_id=train, type=EventType.INPUT))
    return LineageGraph(artifacts=artifacts, executions=executions, events=events), ids


def test_a_long_history_is_drawn_with_each_runs_data_beside_its_step():
    """Every run's source step used to sit in the first column, a run's data a whole
    drawing's width left of the step that read it, the drawing as tall as the runs are many.
    Sources now sit just before their nearest consumer, and what nothing reads just after
    the step that wrote it."""
    graph, ids = history(200)
    keys = [("a", a.id) for a in graph.artifacts] + [("x", x.id) for x in graph.executions]
    edges = [(("a", e.artifact_id), ("x", e.execution_id)) if e.type is EventType.INPUT
             else (("x", e.execution_id), ("a", e.artifact_id)) for e in graph.events]
    placed = layout(keys, edges)
    assert all(placed.column[start] < placed.column[end] for start, end in edges)
    assert max(placed.column[end] - placed.column[start] for start, end in edges) == 1
    for run in (0, 100, 199):
        train = placed.column[("x", ids[f"train{run}"])]
        assert placed.column[("a", ids[f"data{run}"])] == train - 1
        assert placed.column[("x", ids[f"gen{run}"])] == train - 2
        assert placed.column[("a", ids[f"evaluation{run}"])] == placed.column[("x", ids[f"evaluate{run}"])] + 1
    assert placed.rows <= 3
    root = ET.fromstring(lineage_svg(graph))
    assert int(root.get("height")) < 300 and int(root.get("width")) == placed.columns * 260 - 60 + 60


def test_dot_and_mermaid_show_states_other_than_the_default():
    graph = chain(3)
    graph.executions[1].last_known_state = ExecutionState.FAILED
    graph.executions[2].last_known_state = ExecutionState.CACHED
    graph.artifacts[1].state = ArtifactState.DELETED                   # m0
    graph.artifacts[3].state = ArtifactState.LIVE                      # m1: the default, not shown
    dot = lineage_dot(graph).splitlines()
    assert '  x500 [shape=box, label="Trainer #500"];' in dot           # COMPLETE: as ever
    assert '  x501 [shape=box, label="Trainer #501\\n[FAILED]", style=filled, fillcolor="#fce8e6", color="#d93025"];' \
        in dot
    assert '  x502 [shape=box, label="Trainer #502\\n[CACHED]", style=filled, fillcolor="#eef3ee", color="#5f8f6b"];' \
        in dot
    assert '  a101 [shape=ellipse, label="Model #101\\nm0 [DELETED]", style=dashed];' in dot
    assert '  a103 [shape=ellipse, label="Model #103\\nm1"];' in dot
    mermaid = lineage_mermaid(graph).splitlines()
    assert '  x501["Trainer #501<br/>[FAILED]"]' in mermaid and '  a101(["Model #101<br/>m0 [DELETED]"])' in mermaid
    assert mermaid[-6:] == ["  classDef cached fill:#eef3ee,stroke:#5f8f6b", "  class x502 cached",
                            "  classDef failed fill:#fce8e6,stroke:#d93025", "  class x501 failed",
                            "  classDef notlive stroke-dasharray:5 3", "  class a101 notlive"]


def test_nodes_with_more_lineage_beyond_the_graph_are_marked_in_every_format():
    from graphmd import InvalidArgumentError

    graph = chain(2)
    more = {"more_upstream": [("artifact", 100), ("execution", 501)], "more_downstream": [("artifact", 103)]}
    dot = lineage_dot(graph, **more)
    assert 'a100 [shape=ellipse, label="Data #100\\n/data/0\\n… more upstream"];' in dot
    assert 'x501 [shape=box, label="Trainer #501\\n… more upstream"];' in dot
    assert 'a103 [shape=ellipse, label="Model #103\\nm1\\n… more downstream"];' in dot
    assert 'label="Model #101\\nm0"' in dot
    mermaid = lineage_mermaid(graph, **more).splitlines()
    assert '  x501["Trainer #501<br/>… more upstream"]' in mermaid
    root = ET.fromstring(lineage_svg(graph, **more))
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}
    assert groups["a100"].get("class") == "node artifact more-upstream"
    assert groups["a103"].get("class") == "node artifact more-downstream"
    assert groups["a101"].get("class") == "node artifact" and groups["a101"].get("data-more") is None
    assert groups["a100"].get("data-more") == "… more upstream"
    stubs = {g.get("id"): [p.get("d") for p in g.iter(f"{SVG}path")] for g in groups.values()}
    assert stubs["a100"] == ["M-24,38 H0"] and stubs["a103"] == ["M200,38 h24"] and stubs["a101"] == []
    assert "… more upstream: beyond the depth limit, not drawn" in "".join(groups["x501"].find(f"{SVG}title").itertext())
    page = lineage_html(graph, **more)
    assert "… more beyond depth</span>" in page and 'data-more="… more upstream"' in page
    assert "more beyond depth" not in lineage_html(graph)
    for bad in ([("model", 1)], [("artifact", "1")], ["a1"]):
        with pytest.raises(InvalidArgumentError) as error:
            lineage_dot(graph, more_upstream=bad)
        assert error.value.field == "more_upstream"
