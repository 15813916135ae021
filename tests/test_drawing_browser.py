"""The lineage page's script in a real browser (headless Chromium; Debian's is installed when
the machine lacks one and allows it): select by click or keyboard, a pan that starts on a node
does not select it, context filters, the details panel of a node the depth limit cut, and edges
that skip columns drawn clear of the nodes between, as the browser renders them."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from graphmd import lineage_html
from graphmd._models import Association, Attribution, Context

from _debian import ensure_packages
from test_drawing import chain, reread_by_later_steps



def _chromium() -> str | None:
    return next((path for path in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if path), None)

# Drives the page as a user would and writes what it saw into the body's data-probe attribute.
PROBE = """<script>
window.addEventListener("load", function () {
  const seen = [], node = document.getElementById("x501"), details = document.getElementById("details");
  const selected = function () { return details.querySelector("table") ? "selected" : "none"; };
  node.dispatchEvent(new MouseEvent("mousedown", {bubbles: true, clientX: 100, clientY: 100}));
  window.dispatchEvent(new MouseEvent("mousemove", {clientX: 140, clientY: 130}));
  window.dispatchEvent(new MouseEvent("mouseup", {}));
  node.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  seen.push("drag=" + selected());
  node.dispatchEvent(new MouseEvent("mousedown", {bubbles: true, clientX: 100, clientY: 100}));
  window.dispatchEvent(new MouseEvent("mouseup", {}));
  node.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  seen.push("click=" + selected());
  details.textContent = "";
  node.focus();
  seen.push("node-focus=" + (document.activeElement === node));
  node.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
  seen.push("enter=" + selected());
  const context = document.querySelector("#contexts button");
  context.focus();
  seen.push("context-focus=" + (document.activeElement === context));
  context.click();
  seen.push("filtered=" + document.querySelector("#view svg").classList.contains("filtered")
            + "/" + context.getAttribute("aria-pressed") + "/" + document.querySelectorAll("g.node.member").length);
  document.body.setAttribute("data-probe", seen.join(" "));
});
</script>"""


def probed(page_html: str, probe: str, tmp_path: Path) -> str:
    """What ``probe`` (a script that writes the body's data-probe attribute once the page
    loaded) saw, the page opened in headless Chromium."""
    ensure_packages(["chromium"], lambda: _chromium() is not None, "Chromium")
    chromium = _chromium()
    assert chromium is not None
    page = tmp_path / "page.html"
    page.write_text(page_html.replace("</body>", probe + "</body>"))
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-2000:]
    return html.unescape(found.group(1))


def test_page_script_selects_pans_and_filters_in_a_browser(tmp_path):
    graph = chain(3)
    graph.contexts = [Context(id=7, type="Run", name="run-1")]
    graph.attributions = [Attribution(context_id=7, artifact_id=101)]
    graph.associations = [Association(context_id=7, execution_id=500)]
    assert probed(lineage_html(graph), PROBE, tmp_path).split() == [
        "drag=none", "click=selected", "node-focus=true", "enter=selected", "context-focus=true",
        "filtered=true/true/2"]


# Clicks a node whose lineage the depth limit cut, then one it did not, and writes the
# details panel's "not drawn" row of each.
DEPTH_PROBE = """<script>
window.addEventListener("load", function () {
  const seen = [], details = document.getElementById("details");
  for (const id of ["x501", "x500"]) {
    document.getElementById(id).dispatchEvent(new MouseEvent("click", {bubbles: true}));
    const rows = Array.from(details.querySelectorAll("tr")).map(function (tr) { return tr.textContent; });
    seen.push(id + "=" + (rows.filter(function (r) { return r.indexOf("not drawn") === 0; })[0] || "none"));
  }
  document.body.setAttribute("data-probe", seen.join("|"));
});
</script>"""


def test_the_panel_says_what_the_depth_limit_left_out(tmp_path):
    seen = probed(lineage_html(chain(2), more_upstream=[("execution", 501)]), DEPTH_PROBE, tmp_path)
    assert seen.split("|") == ["x501=not drawn… more upstream, beyond the depth limit", "x500=none"]


# Samples every edge as the browser renders it and names each node box one passes through (its
# own ends: through their insides), then selects a node, filters a context, zooms and pans, and
# looks again: the page draws the edges the SVG gives and never moves them.
EDGE_PROBE = """<script>
window.addEventListener("load", function () {
  const svg = document.querySelector("#view svg"), seen = [];
  const edges = function () {
    return Array.from(svg.querySelectorAll("path.edge")).map(function (p) { return p.getAttribute("d"); }).join("|");
  };
  const hidden = function () {
    const boxes = {}, found = new Set();
    svg.querySelectorAll("g.node").forEach(function (g) {
      const m = g.transform.baseVal.consolidate().matrix, r = g.querySelector("rect");
      boxes[g.id] = [m.e, m.f, m.e + r.width.baseVal.value, m.f + r.height.baseVal.value];
    });
    svg.querySelectorAll("path.edge").forEach(function (p) {
      const length = p.getTotalLength();
      for (let i = 0; i <= 400; i++) {
        const at = p.getPointAtLength(length * i / 400);
        for (const id of Object.keys(boxes)) {
          const b = boxes[id], margin = id === p.dataset.from || id === p.dataset.to ? -1 : 2;
          if (at.x > b[0] - margin && at.x < b[2] + margin && at.y > b[1] - margin && at.y < b[3] + margin)
            found.add(p.dataset.from + ">" + p.dataset.to + "@" + id);
        }
      }
    });
    return Array.from(found).sort().join(",") || "none";
  };
  const drawn = edges();
  seen.push("hidden=" + hidden());
  document.getElementById("x18").dispatchEvent(new MouseEvent("click", {bubbles: true}));
  const from = Array.from(document.querySelectorAll("#details tr")).filter(function (tr) {
    return tr.firstChild.textContent === "from"; })[0];
  seen.push("from=" + (from ? from.lastChild.textContent : "none"));
  document.querySelector("#contexts button").click();
  seen.push("trunk=" + svg.querySelector("path.lane").classList.contains("member") + "/"
            + svg.querySelectorAll("path.edge.member").length);
  const view = document.getElementById("view");
  view.dispatchEvent(new WheelEvent("wheel", {deltaY: -100, clientX: 300, clientY: 200, bubbles: true, cancelable: true}));
  view.dispatchEvent(new MouseEvent("mousedown", {bubbles: true, clientX: 300, clientY: 200}));
  window.dispatchEvent(new MouseEvent("mousemove", {clientX: 340, clientY: 260}));
  window.dispatchEvent(new MouseEvent("mouseup", {}));
  seen.push("moved=" + (edges() !== drawn), "hidden=" + hidden());
  document.body.setAttribute("data-probe", seen.join("|"));
});
</script>"""


def test_edges_that_skip_columns_are_drawn_clear_of_the_nodes_between(tmp_path):
    """The report's lineage: a dataset read by steps two and four columns on. Its edges were
    drawn behind the nodes between, and the page read as a plain chain."""
    graph = reread_by_later_steps()
    graph.contexts = [Context(id=7, type="Run", name="run-1")]
    graph.attributions = [Attribution(context_id=7, artifact_id=10)]
    graph.associations = [Association(context_id=7, execution_id=18)]
    seen = probed(lineage_html(graph), EDGE_PROBE, tmp_path).split("|")
    # The context holds Dataset #10 and Train #18: the edge between them is highlighted, and
    # with it the trunk it leaves.
    assert seen == ["hidden=none", "from=Dataset #10 (INPUT), Model #15 (INPUT)", "trunk=true/1", "moved=false",
                    "hidden=none"]


# What the pane shows when the page opens, then after "fit": each viewBox, and whether the
# starting node is inside the first.
OPENING_PROBE = """<script>
window.addEventListener("load", function () {
  const svg = document.querySelector("#view svg"), box = function () { return svg.getAttribute("viewBox"); };
  const opened = box(), v = opened.split(" ").map(Number);
  const start = document.querySelector("g.node.start");
  const x = Number(/translate\\(([-\\d.]+)/.exec(start.getAttribute("transform"))[1]);
  document.getElementById("fit").click();
  document.body.setAttribute("data-probe", [opened, box(), v[0] <= x && x + 200 <= v[0] + v[2]].join("|"));
});
</script>"""


def test_a_long_chain_opens_at_its_starting_node_not_fitted_to_a_thin_line(tmp_path):
    """A 105-hop lineage drew 27,560 x 172 px and opened fitted: a line across an empty pane.
    It opens at readable size on the starting node; "fit" still shows it whole. A drawing
    that fits opens whole."""
    long = probed(lineage_html(chain(60), highlight=[101 + 2 * 59]), OPENING_PROBE, tmp_path).split("|")
    opened, fitted, start_shown = long[0].split(), long[1].split(), long[2]
    assert float(opened[2]) < float(fitted[2]) / 4 and start_shown == "true", long
    short = probed(lineage_html(chain(2), highlight=[103]), OPENING_PROBE, tmp_path).split("|")
    assert short[0] == short[1] and short[2] == "true", short


# The widest text of any node box as the browser lays it out, against the box's width.
TEXT_PROBE = """<script>
window.addEventListener("load", function () {
  let widest = 0;
  document.querySelectorAll("g.node text").forEach(function (t) { widest = Math.max(widest, t.getBBox().width); });
  const box = Number(document.querySelector("g.node rect").getAttribute("width"));
  document.body.setAttribute("data-probe", [Math.round(widest), box].join("|"));
});
</script>"""


def test_long_type_names_stay_inside_their_boxes(tmp_path):
    """TFX's names (`TransformedExamples #3297`, `ExampleStatistics #12345`) in bold ran past
    the right edge of their 200-unit boxes where Helvetica and Arial are missing (DejaVu Sans
    is wider), though cut at 30 characters."""
    from graphmd import Artifact, Event, EventType, Execution, LineageGraph

    graph = LineageGraph(
        artifacts=[Artifact(id=3297, type="TransformedExamples", uri="/pipelines/taxi/Transform/transformed_examples/81"),
                   Artifact(id=12345, type="ExampleStatisticsWithAVeryLongName", name="statistics-of-every-split-x")],
        executions=[Execution(id=81, type="tfx.components.transform.component.Transform", name="Transform")],
        events=[Event(artifact_id=3297, execution_id=81, type=EventType.OUTPUT),
                Event(artifact_id=12345, execution_id=81, type=EventType.INPUT)])
    widest, box = map(int, probed(lineage_html(graph), TEXT_PROBE, tmp_path).split("|"))
    assert widest <= box - 10, (widest, box)
