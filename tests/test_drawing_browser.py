"""The lineage page's script in a real browser (headless Chromium; Debian's is installed when
the machine lacks one and allows it): select by click or keyboard, a pan that starts on a node
does not select it, context filters, and the details panel of a node the depth limit cut."""

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
from test_drawing import chain



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
