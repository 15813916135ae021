"""graphmd in a notebook: short reprs and HTML displays of a LineageGraph and of the
comparisons, and inline drawings that keep their ids apart."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from graphmd import (
    Artifact,
    Event,
    EventType,
    Execution,
    InvalidArgumentError,
    LineageGraph,
    lineage_html,
    lineage_svg,
)
from graphmd._drawing import NOTEBOOK_MAX_NODES
from graphmd._pipeline import ComparedValue, LineageComparison, RunComparison


# --- reprs and displays -----------------------------------------------------------------------


def lineage(steps: int) -> LineageGraph:
    """A chain: data -> step -> data -> ..., ``steps`` steps, 2 * steps + 1 nodes."""
    artifacts = [Artifact(id=i, type="Data", name=f"d{i}", custom_properties={"note": "x" * 200})
                 for i in range(steps + 1)]
    executions = [Execution(id=100 + i, type="Step") for i in range(steps)]
    events = [e for i in range(steps) for e in (Event(artifact_id=i, execution_id=100 + i, type=EventType.INPUT),
                                                 Event(artifact_id=i + 1, execution_id=100 + i, type=EventType.OUTPUT))]
    return LineageGraph(artifacts=artifacts, executions=executions, events=events)


def test_a_lineage_graph_repr_counts_its_lists() -> None:
    graph = lineage(1000)
    # Before: every field of every node, 600 KB here.
    assert repr(graph) == ("LineageGraph(artifacts=1001, executions=1000, contexts=0, events=2000, attributions=0, "
                           "associations=0, parent_contexts=0, artifact_types=0, execution_types=0, context_types=0)")
    assert len(str(graph)) < 200
    assert graph.artifacts[5].name == "d5"  # the data is all there


def test_a_small_lineage_graph_shows_its_drawing_a_large_one_says_how_to_draw_it() -> None:
    small = lineage(3)
    shown = small._repr_html_()
    assert shown.startswith(f"<p><code>{repr(small)}</code></p>")
    svg = ET.fromstring(re.search(r"<svg.*</svg>", shown, flags=re.S).group(0))  # type: ignore[union-attr]
    assert len([g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("id")]) == 7
    assert "<body" not in shown and "<style" not in shown and "<script" not in shown
    big = lineage(NOTEBOOK_MAX_NODES // 2)  # NOTEBOOK_MAX_NODES + 1 nodes
    shown = big._repr_html_()
    assert "<svg" not in shown and f"{NOTEBOOK_MAX_NODES + 1:,} artifacts and executions" in shown
    assert "graphmd.lineage_html(graph)" in shown and "IFrame" in shown
    assert "<svg" in lineage(NOTEBOOK_MAX_NODES // 2 - 1)._repr_html_()
    assert "<svg" not in LineageGraph()._repr_html_()


def _comparisons() -> tuple[RunComparison, LineageComparison]:
    values = [ComparedValue(f"Trainer.p{i}", [i, i + 1], True, type_name="Trainer", property=f"p{i}")
              for i in range(20)]
    runs = RunComparison(["run-1", "run-2"], values, values[:5],
                         [ComparedValue("blessed", [True, False], True, sources=[["Evaluator #4"], ["Evaluator #9"]])])
    models = [Artifact(id=12, type="Model", name="m" * 100), Artifact(id=15, type="Model")]
    made = LineageComparison(models, [Execution(id=1, type="ExampleGen")], [[models[1]], []], values[:3])
    return runs, made


def test_comparisons_repr_as_summaries_and_display_as_tables() -> None:
    runs, made = _comparisons()
    # Before: the dataclasses' repr, every ComparedValue of every list.
    assert repr(runs) == "RunComparison(runs=['run-1', 'run-2'], parameters=20, metrics=5, outcome=1)"
    assert repr(made) == "LineageComparison(artifacts=['Model #12', 'Model #15'], shared=1, only=[1, 0], parameters=3)"
    for comparison in (runs, made):
        table = ET.fromstring(comparison._repr_html_().split("</p>", 1)[1])
        rows = [["".join(cell.itertext()) for cell in row] for row in table.iter("tr")]
        assert rows == comparison.table()
    assert runs.table()[-1] == ["*", "blessed", "yes (Evaluator #4)", "no (Evaluator #9)"]


# --- ids of inline drawings -------------------------------------------------------------------


def _ids_and_references(svg: str) -> tuple[list[str], set[str]]:
    """A drawing's element ids, and the ids its url(#...) and href="#..." name."""
    return (re.findall(r'\bid="([^"]*)"', svg),
            set(re.findall(r'url\(#([^)]*)\)', svg)) | set(re.findall(r'href="#([^"]*)"', svg)))


def test_drawings_in_one_notebook_have_ids_of_their_own() -> None:
    graph = lineage(2)
    drawings = [re.search(r"<svg.*</svg>", g._repr_html_(), flags=re.S).group(0)  # type: ignore[union-attr]
                for g in (graph, graph, lineage(3))]
    seen: set[str] = set()
    for svg in drawings:
        ids, references = _ids_and_references(svg)
        # Before: every drawing had id="arrow", "a0", "x100", ...: one page, the same ids.
        assert len(ids) == len(set(ids)) == len(re.findall(r'<g class="node ', svg)) + 1 and not seen & set(ids)
        assert references and references <= set(ids)  # every arrow is its own drawing's marker
        seen |= set(ids)
        assert len({re.sub(r"(arrow|[ax]\d+)$", "", i) for i in ids}) == 1  # one prefix


def test_an_id_prefix_starts_every_id_and_reference() -> None:
    graph = lineage(2)
    svg = lineage_svg(graph, id_prefix="run7-")
    ids, references = _ids_and_references(svg)
    assert sorted(ids) == ["run7-a0", "run7-a1", "run7-a2", "run7-arrow", "run7-x100", "run7-x101"]
    assert references == {"run7-arrow"}
    assert 'data-from="a0" data-to="x100"' in svg  # nodes as the page's data names them
    # Without one, the drawing is as it was (the CLI's --format svg, the page's).
    assert lineage_svg(graph) == svg.replace("run7-", "")
    assert 'id="a0"' in lineage_html(graph) and 'url(#arrow)' in lineage_html(graph)
    for bad in ('x" onload="alert(1)', "1abc", "a b", "#x"):
        with pytest.raises(InvalidArgumentError) as caught:
            lineage_svg(graph, id_prefix=bad)
        assert caught.value.field == "id_prefix"
