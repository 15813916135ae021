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
    InvalidArgumentError,
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


def reread_by_later_steps() -> LineageGraph:
    """A dataset read by the step beside it and by steps two and four columns on (each also
    reading the previous model), as in the report: data -> train -> model -> train -> ..."""
    artifacts = [Artifact(id=10, type="Dataset"), Artifact(id=11, type="Model"), Artifact(id=15, type="Model"),
                 Artifact(id=20, type="Model")]
    executions = [Execution(id=10, type="Train"), Execution(id=14, type="Train"), Execution(id=18, type="Train")]
    flows = [(10, 10, EventType.INPUT), (11, 10, EventType.OUTPUT), (10, 14, EventType.INPUT),
             (11, 14, EventType.INPUT), (15, 14, EventType.OUTPUT), (10, 18, EventType.INPUT),
             (15, 18, EventType.INPUT), (20, 18, EventType.OUTPUT)]
    events = [Event(artifact_id=a, execution_id=x, type=kind) for a, x, kind in flows]
    return LineageGraph(artifacts=artifacts, executions=executions, events=events)


def readme_example() -> LineageGraph:
    """README's lineage: a dataset read by a trainer and by the two trainers after the model it made."""
    artifacts = [Artifact(id=1, type="DataSet"), Artifact(id=2, type="SavedModel"), Artifact(id=3, type="SavedModel")]
    executions = [Execution(id=i, type="Trainer") for i in (1, 2, 3)]
    flows = [(1, 1, EventType.INPUT), (2, 1, EventType.OUTPUT), (1, 2, EventType.INPUT), (2, 2, EventType.INPUT),
             (1, 3, EventType.INPUT), (2, 3, EventType.INPUT), (3, 2, EventType.OUTPUT), (3, 3, EventType.OUTPUT)]
    events = [Event(artifact_id=a, execution_id=x, type=kind) for a, x, kind in flows]
    return LineageGraph(artifacts=artifacts, executions=executions, events=events)


def random_lineage(seed: int) -> LineageGraph:
    """Steps reading any earlier artifacts (so edges skip columns) and writing new ones, some
    reading what they wrote (a cycle)."""
    import random

    rng = random.Random(seed)
    artifacts = [Artifact(id=i, type="Data") for i in range(3)]
    executions, events = [], []
    for step in range(12):
        executions.append(Execution(id=100 + step, type="Step"))
        for a in rng.sample([a.id for a in artifacts], k=min(len(artifacts), rng.randint(1, 3))):
            events.append(Event(artifact_id=a, execution_id=100 + step, type=EventType.INPUT))
        for _ in range(rng.randint(1, 2)):
            artifacts.append(Artifact(id=len(artifacts), type="Data"))
            events.append(Event(artifact_id=artifacts[-1].id, execution_id=100 + step, type=EventType.OUTPUT))
        if rng.random() < 0.2:
            events.append(Event(artifact_id=artifacts[-1].id, execution_id=100 + step, type=EventType.INPUT))
    return LineageGraph(artifacts=artifacts, executions=executions, events=events)


def path_points(d: str, steps: int = 24) -> list[tuple[float, float]]:
    """Points along an SVG path of M, C and H commands (all that edges use), ``steps`` a curve."""
    points: list[tuple[float, float]] = []
    tokens = re.findall(r"[MCH]|-?[\d.]+", d)
    at = 0

    def number() -> float:
        nonlocal at
        at += 1
        return float(tokens[at - 1])

    while at < len(tokens):
        command = tokens[at]
        at += 1
        if command == "M":
            points.append((number(), number()))
        elif command == "H":
            (x0, y0), x1 = points[-1], number()
            points += [(x0 + (x1 - x0) * i / steps, y0) for i in range(1, steps + 1)]
        else:
            p0, p1, p2, p3 = points[-1], (number(), number()), (number(), number()), (number(), number())
            for i in range(1, steps + 1):
                t = i / steps
                w = ((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3)
                points.append((sum(k * p[0] for k, p in zip(w, (p0, p1, p2, p3))),
                               sum(k * p[1] for k, p in zip(w, (p0, p1, p2, p3)))))
    return points


def hidden_edges(svg: str) -> list[tuple[str, ...]]:
    """(edge's start, end, node) for every node box a drawn edge passes through, or within 2
    units of (its own ends: through their insides); (trunk's start, node) the same for the
    trunks edges out of one node share."""
    root = ET.fromstring(svg)
    boxes = {}
    for g in root.iter(f"{SVG}g"):
        if "node" in (g.get("class") or "").split():
            x, y = map(float, re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\)", g.get("transform")).groups())
            rect = g.find(f"{SVG}rect")
            boxes[g.get("id")] = (x, y, x + float(rect.get("width")), y + float(rect.get("height")))
    hidden = []
    for p in root.iter(f"{SVG}path"):
        if p.get("class") not in ("edge", "lane"):
            continue
        ends = (p.get("data-from"), p.get("data-to")) if p.get("class") == "edge" else (p.get("data-from"),)
        points = path_points(p.get("d"))
        for node, (left, top, right, bottom) in boxes.items():
            margin = -1 if node in ends else 2
            if any(left - margin < x < right + margin and top - margin < y < bottom + margin for x, y in points):
                hidden.append((*ends, node))
    return hidden


@pytest.mark.parametrize("graph", [reread_by_later_steps(), readme_example()], ids=["report", "readme"])
def test_an_edge_that_skips_columns_passes_between_nodes_not_behind_them(graph):
    """Such an edge was one straight curve behind the nodes of the columns it crossed: the
    dataset read by later steps looked like a plain chain."""
    svg = lineage_svg(graph)
    assert hidden_edges(svg) == []
    root = ET.fromstring(svg)
    paths = {(p.get("data-from"), p.get("data-to")): p.get("d") for p in root.iter(f"{SVG}path")
             if p.get("class") == "edge"}
    assert len(paths) == len(graph.events)
    # Each edge still joins its nodes: out of its start's right side (itself or through its
    # start's trunk, which it leaves at the end of a lane), into its end's left.
    groups = {g.get("id"): g.get("transform") for g in root.iter(f"{SVG}g") if g.get("id")}
    trunks = {p.get("data-from"): p for p in root.iter(f"{SVG}path") if p.get("class") == "lane"}
    for (start, end), d in paths.items():
        (x1, y1), (x2, y2) = path_points(d)[0], path_points(d)[-1]
        assert groups[end] == f"translate({x2:.0f},{y2 - 23:.0f})"
        if groups[start] != f"translate({x1 - 200:.0f},{y1 - 23:.0f})":
            trunk = trunks[start]
            assert end in trunk.get("data-to").split() and (x1, y1) in path_points(trunk.get("d"))
            x0, y0 = path_points(trunk.get("d"))[0]
            assert groups[start] == f"translate({x0 - 200:.0f},{y0 - 23:.0f})"


def test_edges_out_of_one_node_share_their_lanes():
    """The dataset read two and four columns on is one line through the columns between,
    branching off to each reader, not one line a reader stacked above another."""
    graph = reread_by_later_steps()
    keys = [("a", a.id) for a in graph.artifacts] + [("x", x.id) for x in graph.executions]
    edges = [(("a", e.artifact_id), ("x", e.execution_id)) if e.type is EventType.INPUT
             else (("x", e.execution_id), ("a", e.artifact_id)) for e in graph.events]
    placed = layout(keys, edges)
    assert placed.column[("x", 18)] - placed.column[("a", 10)] == 5
    assert list(placed.lanes) == [("a", 10)] and len(placed.lanes[("a", 10)]) == 4 and placed.back_lanes == {}
    root = ET.fromstring(lineage_svg(graph))
    trunks = [(p.get("data-from"), p.get("data-to")) for p in root.iter(f"{SVG}path") if p.get("class") == "lane"]
    assert trunks == [("a10", "x14 x18")]
    # The lanes sit beside the chain, not on a node's row: the drawing is no more than a
    # row and a lane taller than the chain alone.
    assert 1 < placed.rows < 2


@pytest.mark.parametrize("seed", range(12))
def test_no_edge_passes_behind_a_node(seed):
    graph = random_lineage(seed)
    svg = lineage_svg(graph)
    assert hidden_edges(svg) == []
    ET.fromstring(lineage_html(graph).split('<div id="view">')[1].split("</div>")[0])


def test_an_edge_closing_a_cycle_runs_back_apart_from_the_edge_forward():
    """A step that reads and writes one artifact: the edge back into the artifact used to be
    drawn from the step's right side to the artifact's left, straight through both."""
    graph = LineageGraph(artifacts=[Artifact(id=1, type="T")], executions=[Execution(id=2, type="E")],
                         events=[Event(artifact_id=1, execution_id=2, type=EventType.INPUT),
                                 Event(artifact_id=1, execution_id=2, type=EventType.OUTPUT)])
    svg = lineage_svg(graph)
    assert hidden_edges(svg) == []
    paths = dict(re.findall(r'data-from="(\w+)" data-to="\w+" marker-end="url\(#arrow\)" d="([^"]*)"', svg))
    # Forward: a1's right to x2's left at their middles; back: x2's left to a1's right, above.
    assert paths == {"a1": "M230,53 C270,53 250,53 290,53", "x2": "M290,42 C250,42 270,42 230,42"}
    # A longer cycle: the edge back crosses columns leftwards, through lanes of its own.
    graph.artifacts.append(Artifact(id=3, type="T"))
    graph.executions.append(Execution(id=4, type="E"))
    graph.events[1:] = [Event(artifact_id=3, execution_id=2, type=EventType.OUTPUT),
                        Event(artifact_id=3, execution_id=4, type=EventType.INPUT),
                        Event(artifact_id=1, execution_id=4, type=EventType.OUTPUT)]
    svg = lineage_svg(graph)
    assert hidden_edges(svg) == [] and "lane" not in svg
    back = re.search(r'data-from="x4" data-to="a1" marker-end="url\(#arrow\)" d="([^"]*)"', svg).group(1)
    assert re.fullmatch(r"M810,\d+ C\S+ \S+ 750,(\d+) H550 C\S+ \S+ 490,\1 H290 C\S+ \S+ 230,\d+", back)


def test_a_plain_chain_is_drawn_as_before():
    """Edges between neighbouring columns: one curve each, no lanes, no taller drawing."""
    graph, _ = history(20)
    svg = lineage_svg(graph)
    ds = re.findall(r'<path class="edge"[^>]*d="([^"]*)"', svg)
    assert len(ds) == len(graph.events) and all(re.fullmatch(r"M\S+ C\S+ \S+ \S+", d) for d in ds)
    assert re.findall(r'<path class="edge" data-from="a1000" data-to="x5001"[^>]*d="([^"]*)"', svg) == [
        "M490,119 C530,119 510,86 550,86"]
    assert 'viewBox="0 0 11440 238"' in svg


@pytest.mark.parametrize("draw", [lineage_dot, lineage_mermaid, lineage_svg, lineage_html])
@pytest.mark.parametrize("given", [None, {"artifacts": []}, []])
def test_drawing_something_else_than_a_lineage_graph_names_the_argument(draw, given):
    with pytest.raises(InvalidArgumentError) as error:
        draw(given)
    assert error.value.field == "graph"
    assert f"a LineageGraph is expected (as get_lineage_subgraph answers), not {type(given).__name__}" in str(error.value)


def test_text_xml_does_not_allow_is_drawn_as_spaces_and_the_state_survives_a_long_name():
    """An ANSI colour code in a step's name (or its error text, in the tooltip) made the SVG
    unreadable ("not well-formed (invalid token)"); a long name cut the state off the box."""
    graph = LineageGraph(
        artifacts=[Artifact(id=1, type="Log", name="log\x1b[0m", custom_properties={"nul": "a\x00b"})],
        executions=[Execution(id=2, type="Trainer", name="taxi_pipeline/2024-01-01T00:00:00/Trainer",
                              last_known_state=ExecutionState.FAILED,
                              custom_properties={"error": "\x1b[31mdiverged\x1b[0m\x07"})],
        events=[Event(artifact_id=1, execution_id=2, type=EventType.OUTPUT, path=["\x01"])])
    root = ET.fromstring(lineage_svg(graph))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "log [0m" in texts
    assert any(t.endswith(" [FAILED]") and t.startswith("taxi_pipeline") for t in texts), texts
    page = lineage_html(graph)
    ET.fromstring(page[page.index("<svg"):page.index("</svg>") + len("</svg>")])


def test_mermaid_labels_escape_what_mermaid_reads_as_markup_or_entities():
    """Mermaid labels are HTML to Mermaid: only '"' was escaped, so a name holding <b> was
    markup, '#9829;' became a heart, and a line break or an escape code went in raw."""
    graph = LineageGraph(artifacts=[Artifact(id=1, type="Data<T>", name='<b>x</b> #9829; "q"\nnext\x1b')],
                         executions=[Execution(id=2, type="Trainer")],
                         events=[Event(artifact_id=1, execution_id=2, type=EventType.INPUT)])
    [label] = [line for line in lineage_mermaid(graph).splitlines() if line.startswith("  a1(")]
    assert label == '  a1(["Data#lt;T#gt; #1<br/>#lt;b#gt;x#lt;/b#gt; #35;9829; #quot;q#quot;<br/>next "])'


def test_bidirectional_controls_and_mermaid_directives_are_drawn_as_text():
    """A uri '/u/\\u202egnp.exe' read as '/u/exe.png' in every drawing (the override went in
    raw), and '%%{init: ...}%%' in a label is a directive Mermaid reads anywhere in a diagram."""
    uri = "/u/\u202egnp.exe"
    graph = LineageGraph(artifacts=[Artifact(id=1, type="Data", uri=uri, name='%%{init: {"theme":"forest"}}%%')],
                         executions=[Execution(id=2, type="Trainer", name="x\u2066y")],
                         events=[Event(artifact_id=1, execution_id=2, type=EventType.INPUT)])
    drawings = {"svg": lineage_svg(graph), "html": lineage_html(graph), "dot": lineage_dot(graph),
                "mermaid": lineage_mermaid(graph)}
    for name, drawn in drawings.items():
        assert "\u202e" not in drawn and "\u2066" not in drawn, name
    texts = [t.text or "" for t in ET.fromstring(drawings["svg"]).iter(f"{SVG}text")]
    assert "x\\u2066y" in texts, texts
    assert '\\nx\\\\u2066y"' in drawings["dot"]  # DOT's string: the escape's backslash escaped
    # The page's data: JSON strings holding the escape's backslash.
    data = drawings["html"].split('<script type="application/json" id="lineage-data">')[1].split("</script>")[0]
    assert "x\\\\u2066y" in data and "/u/\\\\u202egnp.exe" in data, data
    [label] = [line for line in drawings["mermaid"].splitlines() if line.startswith("  a1(")]
    assert "%" not in label and "#37;#37;{init: {#quot;theme#quot;:#quot;forest#quot;}}#37;#37;" in label, label
    assert "x\\u2066y" in drawings["mermaid"]
