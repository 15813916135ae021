"""The lineage page's script in a real browser (headless Chromium; Debian's is installed when
the machine lacks one and allows it): select by click or keyboard, a pan that starts on a node
does not select it, context filters."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

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


def test_page_script_selects_pans_and_filters_in_a_browser(tmp_path):
    ensure_packages(["chromium"], lambda: _chromium() is not None, "Chromium")
    chromium = _chromium()
    assert chromium is not None
    graph = chain(3)
    graph.contexts = [Context(id=7, type="Run", name="run-1")]
    graph.attributions = [Attribution(context_id=7, artifact_id=101)]
    graph.associations = [Association(context_id=7, execution_id=500)]
    page = tmp_path / "page.html"
    page.write_text(lineage_html(graph).replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    probe = re.search(r'data-probe="([^"]*)"', dom)
    assert probe, dom[-2000:]
    assert html.unescape(probe.group(1)).split() == [
        "drag=none", "click=selected", "node-focus=true", "enter=selected", "context-focus=true",
        "filtered=true/true/2"]
