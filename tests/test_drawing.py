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
    # Longest path: model k is 2k + 2 layers right of the first data.
    assert [placed.column[("a", 101 + 2 * run)] for run in range(4)] == [2, 4, 6, 8]
    assert placed.columns == 2 * 30 + 1


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
    """The page's panel lists a node's inputs from the edges' titles: with the paths a
    Trainer's base_model and teacher_model tell apart (the DOT and Mermaid labels stay the
    event types)."""
    graph = LineageGraph(
        artifacts=[Artifact(id=1, type="Model", name="m1"), Artifact(id=2, type="Model", name="m2"),
                   Artifact(id=3, type="Model", name="m3")],
        executions=[Execution(id=9, type="Trainer")],
        events=[Event(artifact_id=1, execution_id=9, type=EventType.INPUT, path=["base_model", 0]),
                Event(artifact_id=2, execution_id=9, type=EventType.INPUT, path=["teacher_model", 0]),
                Event(artifact_id=3, execution_id=9, type=EventType.OUTPUT)])
    titles = re.findall(r'<path class="edge"[^>]*><title>([^<]*)</title>', lineage_svg(graph))
    assert sorted(titles) == ["INPUT base_model/0", "INPUT teacher_model/0", "OUTPUT"]
    assert '[label="INPUT"]' in lineage_dot(graph) and "-->|INPUT|" in lineage_mermaid(graph)


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
