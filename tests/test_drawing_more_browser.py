"""The lineage page in a real browser (headless Chromium, as test_drawing_browser): a node
whose lineage goes on beyond the drawing says so in the details panel."""

from __future__ import annotations

import html
import re
import subprocess

from graphmd import lineage_html

from _debian import ensure_packages
from test_drawing import chain
from test_drawing_browser import _chromium

PROBE = """<script>
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
    ensure_packages(["chromium"], lambda: _chromium() is not None, "Chromium")
    chromium = _chromium()
    assert chromium is not None
    page = tmp_path / "page.html"
    page.write_text(lineage_html(chain(2), more_upstream=[("execution", 501)]).replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    probe = re.search(r'data-probe="([^"]*)"', dom)
    assert probe, dom[-2000:]
    assert html.unescape(probe.group(1)).split("|") == [
        "x501=not drawn… more upstream, beyond the depth limit", "x500=none"]
