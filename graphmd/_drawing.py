"""A LineageGraph drawn: Graphviz DOT, Mermaid, SVG and a self-contained HTML page.

DOT and Mermaid are text for other tools to lay out. SVG and HTML are laid out here, with no
dependency and nothing fetched: data flows left to right in layers (each node one layer before
the nearest node made from it, so a run's data sits beside the step that reads it; a node
nothing in the graph was made from, one layer after the furthest node it was made from), nodes
within a layer ordered to keep edges short. An edge that skips layers takes a lane through each
layer between its ends, ordered with the nodes (the dummy nodes of layered graph drawing), so it
passes between nodes, never behind one; the edges pointing right out of one node share theirs,
drawn once as the node's trunk. The HTML page adds pan and zoom, a details panel
for the clicked node (every field and property) and the graph's contexts, each of which
highlights its members.

Every format shows a state other than the default (an artifact not LIVE, an execution not
COMPLETE) and each edge's event type and path (``INPUT base_model/0``). ``more_upstream`` and
``more_downstream`` mark nodes whose lineage goes on beyond the graph (a depth limit cut it
there): "… more upstream" in DOT and Mermaid labels, a dashed stub into (out of) the node in
SVG and HTML.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._codec import id_list, strict_json
from ._errors import InvalidArgumentError
from ._models import Artifact, ArtifactState, Execution, ExecutionState, LineageGraph

__all__ = ["lineage_dot", "lineage_mermaid", "lineage_svg", "lineage_html"]

NodeKey = tuple[str, int]  # ("a", artifact id) or ("x", execution id)
# A node as callers name it (tint, more_upstream, more_downstream): ("artifact" or "execution", id).
NodeName = tuple[str, int]

# Geometry of the drawing, in SVG user units.
_WIDTH, _HEIGHT = 200, 46
_COLUMN, _ROW = 260, 66
_MARGIN = 30
_TEXT_CHARS = 30
# An edge that crosses a column runs level through it in a lane, at least _LANE_GAP from the
# nodes and lanes above and below. Curves between columns leave and enter level over _BEND. An
# edge drawn backwards (closing a cycle) leaves and enters its nodes _BACK below their tops,
# apart from the edges drawn forwards at their middles.
_LANE_GAP = 12
_BEND = 40
_BACK = 12

_EXECUTION_COLOURS = {  # fill, stroke
    ExecutionState.COMPLETE: ("#e6f4ea", "#1e8e3e"),
    ExecutionState.CACHED: ("#eef3ee", "#5f8f6b"),
    ExecutionState.RUNNING: ("#fef7e0", "#e37400"),
    ExecutionState.FAILED: ("#fce8e6", "#d93025"),
    ExecutionState.CANCELED: ("#f1f3f4", "#80868b"),
}
_EXECUTION_DEFAULT = ("#f1f3f4", "#5f6368")
_ARTIFACT_COLOURS = ("#e8f0fe", "#1a73e8")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# What lineage_svg's id_prefix may be: it starts ids and url(#...) references as it is.
_ID_PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)?")


def _key(node: Artifact | Execution) -> NodeKey:
    return ("a" if isinstance(node, Artifact) else "x", node.id or 0)


def _dom_id(key: NodeKey) -> str:
    return f"{key[0]}{key[1]}"


def _lineage_nodes(graph: LineageGraph) -> list[Artifact | Execution]:
    return [*graph.artifacts, *graph.executions]


def _edges(graph: LineageGraph, *, with_paths: bool = False) -> dict[tuple[NodeKey, NodeKey], list[str]]:
    """Data-flow edges (artifact -> execution for inputs, execution -> artifact for outputs)
    between nodes of the graph, each with the types of the events it stands for (and, with
    ``with_paths``, their paths: "INPUT base_model/0", so a step's inputs tell apart)."""
    present = {_key(n) for n in _lineage_nodes(graph)}
    edges: dict[tuple[NodeKey, NodeKey], list[str]] = {}
    for event in graph.events:
        a, x = ("a", event.artifact_id or 0), ("x", event.execution_id or 0)
        if a not in present or x not in present or event.type is None:
            continue
        ends = (a, x) if event.type.is_input else (x, a)
        path = "/".join(str(step) for step in event.path) if with_paths and event.path else ""
        edges.setdefault(ends, []).append(f"{event.type.value} {path}".strip())
    return edges


# --- text for other tools -------------------------------------------------------------------


def _state(node: Artifact | Execution) -> str:
    """A state other than the default, as drawn: an artifact's when not LIVE, an execution's
    when not COMPLETE; "" for the default or none."""
    if isinstance(node, Artifact):
        return node.state.value if node.state is not None and node.state is not ArtifactState.LIVE else ""
    state = node.last_known_state
    return state.value if state is not None and state is not ExecutionState.COMPLETE else ""


def _second_line(node: Artifact | Execution) -> str:
    """A node's second line of text: its name (an unnamed artifact's uri), then its state
    in brackets when not the default ("run-0060/Trainer [FAILED]")."""
    text = node.name or (node.uri if isinstance(node, Artifact) else None) or ""
    state = _state(node)
    return f"{text} [{state}]".strip() if state else text


def _more_text(key: NodeKey, upstream: set[NodeKey], downstream: set[NodeKey]) -> str:
    """"… more upstream" (or downstream, or both) for a node whose lineage goes on beyond the graph."""
    ways = [way for way, keys in (("upstream", upstream), ("downstream", downstream)) if key in keys]
    return "… more " + " and ".join(ways) if ways else ""


def _label_lines(node: Artifact | Execution, lines: Sequence[str], br: str) -> str:
    """A node's label: its type and id, then each of ``lines`` that is not empty (its name or
    uri, its state, what the graph leaves out), so an unnamed execution's label does without
    an empty line."""
    return br.join([f"{node.type} #{node.id}", *(line for line in lines if line)])


# The line and paragraph separators and the bidirectional marks, overrides and isolates: in a
# name or uri they show the text in another order than it reads ("gnp.exe" as "exe.png") and
# carry that over what follows. Drawings and the CLI's tables write them as their escapes.
SHOWN_UNICODE_CONTROLS = {c: f"\\u{c:04x}" for c in [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                                      *range(0x2066, 0x206A)]}

# Characters XML 1.0 does not allow (controls but tab, line feed and carriage return; U+FFFE,
# U+FFFF): one in a name, an error text or a tooltip (ANSI colour codes, a NUL) made the whole
# SVG unreadable. They are drawn as spaces, as in DOT.
_NOT_XML = {**{c: " " for c in range(32) if c not in (9, 10, 13)}, 0xFFFE: " ", 0xFFFF: " ", **SHOWN_UNICODE_CONTROLS}


def _xml_escape(text: str) -> str:
    """``text`` as SVG and HTML text or attribute value: escaped, what XML 1.0 does not allow
    as a space, and bidirectional controls as their escapes."""
    return html.escape(text.translate(_NOT_XML))


def _dot_string(text: str) -> str:
    """``text`` as a DOT double-quoted string: quotes and backslashes escaped, a line break
    as DOT's \\n, other control characters as spaces, and everything else as it is (DOT
    files are UTF-8; JSON's \\u00e8 escapes would print literally)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        elif ord(ch) in SHOWN_UNICODE_CONTROLS:
            out.append("\\" + SHOWN_UNICODE_CONTROLS[ord(ch)])  # its escape, the backslash escaped for DOT
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _node_names(names: Iterable[NodeName], field_name: str) -> set[NodeKey]:
    """("artifact" or "execution", id) pairs as node keys.

    Raises:
        InvalidArgumentError: a pair of another form, naming ``field_name``.
    """
    kinds = {"artifact": "a", "execution": "x"}
    keys = set()
    for name in names:
        kind, node_id = name if isinstance(name, tuple) and len(name) == 2 else (None, None)
        if kind not in kinds or not isinstance(node_id, int) or isinstance(node_id, bool):
            raise InvalidArgumentError(f"{field_name}: {name!r}: name nodes as ('artifact' or 'execution', id)",
                                       field=field_name)
        keys.add((kinds[kind], node_id))
    return keys


def _check_graph(graph: object) -> None:
    """Raises InvalidArgumentError (``field`` ``graph``) unless ``graph`` is a LineageGraph."""
    if not isinstance(graph, LineageGraph):
        raise InvalidArgumentError(f"graph: a LineageGraph is expected (as get_lineage_subgraph answers), not "
                                   f"{type(graph).__name__}", field="graph")


def lineage_dot(graph: LineageGraph, *, more_upstream: Iterable[NodeName] = (),
                more_downstream: Iterable[NodeName] = ()) -> str:
    """The graph in Graphviz DOT: artifacts as ellipses (dashed when not LIVE), executions as
    boxes (filled with their state's colours when not COMPLETE), the state in the label when
    not the default, edges the way data flows labelled with their event types and paths
    (``INPUT base_model/0``). Nodes named in ``more_upstream`` / ``more_downstream``
    (("artifact" or "execution", id)) get a label line "… more upstream" / "… more downstream".

    Raises:
        InvalidArgumentError: ``graph`` is no LineageGraph; a node named in another form.
    """
    _check_graph(graph)
    up, down = _node_names(more_upstream, "more_upstream"), _node_names(more_downstream, "more_downstream")
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for a in graph.artifacts:
        key = _key(a)
        label = _dot_string(_label_lines(a, [_second_line(a), _more_text(key, up, down)], "\n"))
        style = ", style=dashed" if _state(a) else ""
        lines.append(f"  {_dom_id(key)} [shape=ellipse, label={label}{style}];")
    for x in graph.executions:
        key = _key(x)
        label = _dot_string(_label_lines(x, [_second_line(x), _more_text(key, up, down)], "\n"))
        style = ""
        if _state(x):
            fill, stroke = _colours(x)
            style = f', style=filled, fillcolor="{fill}", color="{stroke}"'
        lines.append(f"  {_dom_id(key)} [shape=box, label={label}{style}];")
    for (start, end), labels in _edges(graph, with_paths=True).items():
        for text in labels:
            lines.append(f"  {_dom_id(start)} -> {_dom_id(end)} [label={_dot_string(text)}];")
    lines.append("}")
    return "\n".join(lines)


# Mermaid reads "#name;" and "#123;" in a label as an entity: a "#" that would start one is
# written as its own entity.
_MERMAID_ENTITY_START = re.compile(r"#(?=\w+;)")
_MERMAID_TEXT = {ord('"'): "#quot;", ord("<"): "#lt;", ord(">"): "#gt;", ord("%"): "#37;",
                 **{c: " " for c in (*range(32), 127)}, **SHOWN_UNICODE_CONTROLS}


def _mermaid_label(value: str) -> str:
    """``value`` as text inside a quoted Mermaid label: quotes and angle brackets as Mermaid's
    entities (labels are HTML to Mermaid: ``<b>`` would be markup), ``%`` too (Mermaid reads
    ``%%{...}%%`` anywhere in a diagram as a directive that sets its options), control
    characters as spaces (a line break is ``<br/>``, which the callers put between lines),
    bidirectional controls as their escapes."""
    return _MERMAID_ENTITY_START.sub("#35;", value).translate(_MERMAID_TEXT)


def _mermaid_lines(text: str) -> str:
    """A label of several lines (``\n`` between them) for Mermaid: each escaped, ``<br/>``
    between them."""
    return "<br/>".join(_mermaid_label(line) for line in text.split("\n"))


# Mermaid 11's defaults (maxEdges, maxTextSize): a larger diagram is refused, not drawn. Both
# are "secure" settings, which only the page's mermaid.initialize can raise.
MERMAID_MAX_EDGES = 500
MERMAID_MAX_TEXT = 50_000


def lineage_mermaid(graph: LineageGraph, *, more_upstream: Iterable[NodeName] = (),
                    more_downstream: Iterable[NodeName] = ()) -> str:
    """The graph as a Mermaid flowchart: artifacts rounded, executions square, edges labelled
    with their event types and paths. A state other than the default is in the label and a
    class: ``notlive`` (artifacts, dashed) or the execution's state in lower case
    (``failed``, red; ``cached``, ...), each with a classDef. ``more_upstream`` and
    ``more_downstream`` as for :func:`lineage_dot`. Mermaid 11 refuses a diagram of more
    than 500 edges or 50,000 characters unless its page raises maxEdges / maxTextSize.

    Raises:
        InvalidArgumentError: ``graph`` is no LineageGraph; a node named in another form.
    """
    _check_graph(graph)
    up, down = _node_names(more_upstream, "more_upstream"), _node_names(more_downstream, "more_downstream")
    lines = ["flowchart LR"]
    classes: dict[str, list[str]] = {}
    for a in graph.artifacts:
        key = _key(a)
        label = _mermaid_lines(_label_lines(a, [_second_line(a), _more_text(key, up, down)], "\n"))
        lines.append(f'  {_dom_id(key)}(["{label}"])')
        if _state(a):
            classes.setdefault("notlive", []).append(_dom_id(key))
    for x in graph.executions:
        key = _key(x)
        label = _mermaid_lines(_label_lines(x, [_second_line(x), _more_text(key, up, down)], "\n"))
        lines.append(f'  {_dom_id(key)}["{label}"]')
        if _state(x):
            classes.setdefault(_state(x).lower(), []).append(_dom_id(key))
    for (start, end), labels in _edges(graph, with_paths=True).items():
        for text in labels:
            lines.append(f'  {_dom_id(start)} -->|"{_mermaid_label(text)}"| {_dom_id(end)}')
    for name in sorted(classes):
        if name == "notlive":
            lines.append("  classDef notlive stroke-dasharray:5 3")
        else:
            fill, stroke = _EXECUTION_COLOURS.get(ExecutionState(name.upper()), _EXECUTION_DEFAULT)
            lines.append(f"  classDef {name} fill:{fill},stroke:{stroke}")
        lines.append(f"  class {','.join(classes[name])} {name}")
    return "\n".join(lines)


# --- layout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lane:
    """A place in a column held for the edges that cross it: the edges pointing right out of
    ``start`` share theirs (a dataset read by steps several columns on is one line that
    branches); an edge closing a cycle, ``end`` given, has its own."""

    start: NodeKey
    column: int
    end: NodeKey | None = None


_Item = NodeKey | _Lane  # what a layer holds


@dataclass
class Layout:
    """Where each node sits: its layer (column) and its place down the layer (row: the top of
    its box, in rows of one node and the gap under it), the drawing's size in columns and rows,
    and the lanes of edges that cross columns between their ends, as the rows of their lines (a
    lane takes less than a row). ``lanes``: for each node with such edges pointing right out of
    it, the lanes they share (its trunk), in the columns after it, left to right; an edge into
    a node k columns on takes the first k - 1. ``back_lanes``: for each such edge closing a
    cycle, its own lanes, right to left."""

    column: dict[NodeKey, int] = field(default_factory=dict)
    row: dict[NodeKey, float] = field(default_factory=dict)
    columns: int = 0
    rows: float = 0
    lanes: dict[NodeKey, list[float]] = field(default_factory=dict)
    back_lanes: dict[tuple[NodeKey, NodeKey], list[float]] = field(default_factory=dict)


def layout(nodes: Iterable[NodeKey], edges: Iterable[tuple[NodeKey, NodeKey]], *, sweeps: int = 4) -> Layout:
    """Place ``nodes`` in layers so every edge points right, when the edges have no cycle.

    A node with edges out of it sits one layer before the nearest node it has an edge to (as
    late as possible: a run's data, read by that run's steps, sits beside them, not in the
    first layer with every other source); a node without, one layer after the furthest node
    with an edge to it (the longest path from a source: an evaluation beside the step that
    wrote it). Edges that close a cycle (an execution that reads and writes one artifact) are
    left out of the layering and drawn backwards. An edge that crosses layers between its ends
    gets a lane in each (the dummy nodes of layered drawing), ordered with the nodes, so its
    line passes between nodes, never behind one. Within a layer, nodes and lanes are ordered
    by the mean place of their neighbours, sweeping right then left ``sweeps`` times, which
    keeps most edges short and uncrossed, then stacked and centred on the tallest layer. Cost:
    linear in nodes, edges and lanes per sweep.
    """
    order = sorted(set(nodes))
    out_edges: dict[NodeKey, list[NodeKey]] = {n: [] for n in order}
    for start, end in sorted(set(edges)):
        if start in out_edges and end in out_edges and start != end:
            out_edges[start].append(end)
    forward = _acyclic(order, out_edges)
    column = _columns(order, forward)
    result = Layout(column=column)
    if not order:
        return result
    result.columns = max(column.values()) + 1
    layers: list[list[_Item]] = [[] for _ in range(result.columns)]
    for n in order:
        layers[column[n]].append(n)
    trunks, backs = _lanes(out_edges, forward, column)
    # Each item's neighbours in the layers before and after it, along the edges' ways (an edge
    # closing a cycle read from its end).
    before: dict[_Item, dict[_Item, None]] = {n: {} for n in order}
    after: dict[_Item, dict[_Item, None]] = {n: {} for n in order}
    for lane in [*(lane for lanes in trunks.values() for lane in lanes),
                 *(lane for lanes in backs.values() for lane in lanes)]:
        before[lane], after[lane] = {}, {}
        layers[lane.column].append(lane)
    ways: list[list[_Item]] = [[start, *lanes] for start, lanes in trunks.items()]
    ways += [[end, *reversed(lanes), start] for (start, end), lanes in backs.items()]
    for start, ends in out_edges.items():
        for end in ends:
            span = column[end] - column[start]
            if span > 0:
                ways.append([start if span == 1 else trunks[start][span - 2], end])
    for way in ways:
        for left, right in zip(way, way[1:]):
            after[left][right] = None
            before[right][left] = None
    place = {n: float(i) for layer in layers for i, n in enumerate(layer)}

    def mean_place(n: _Item, neighbours: dict[_Item, dict[_Item, None]]) -> tuple[float, float]:
        near = [place[m] for m in neighbours[n]]
        return (sum(near) / len(near) if near else place[n]), place[n]

    for sweep in range(sweeps):
        rightwards = sweep % 2 == 0
        neighbours = before if rightwards else after
        for layer in (layers[1:] if rightwards else reversed(layers[:-1])):
            keys = {item: mean_place(item, neighbours) for item in layer}
            layer.sort(key=keys.__getitem__)
            for i, item in enumerate(layer):
                place[item] = float(i)
    top, tallest = _stack(layers)
    result.rows = (tallest + _ROW - _HEIGHT) / _ROW
    result.row = {n: top[n] / _ROW for n in order}
    result.lanes = {start: [top[lane] / _ROW for lane in lanes] for start, lanes in trunks.items()}
    result.back_lanes = {edge: [top[lane] / _ROW for lane in lanes] for edge, lanes in backs.items() if lanes}
    return result


def _columns(order: list[NodeKey], forward: dict[NodeKey, list[NodeKey]]) -> dict[NodeKey, int]:
    """Each node's layer, as :func:`layout` says, the ``forward`` edges having no cycle."""
    # Longest path from a source, in a topological order of the forward edges.
    pending = {n: 0 for n in order}
    for ends in forward.values():
        for end in ends:
            pending[end] += 1
    column = {n: 0 for n in order}
    ready = [n for n in order if pending[n] == 0]
    topological: list[NodeKey] = []
    while ready:
        node = ready.pop()
        topological.append(node)
        for end in forward[node]:
            column[end] = max(column[end], column[node] + 1)
            pending[end] -= 1
            if pending[end] == 0:
                ready.append(end)
    # Then, the nearest node it leads to first, every node with a forward edge moves to one
    # layer before that node: never left of where it was, so no layer is negative.
    for node in reversed(topological):
        if forward[node]:
            column[node] = min(column[end] for end in forward[node]) - 1
    return column


def _lanes(out_edges: dict[NodeKey, list[NodeKey]], forward: dict[NodeKey, list[NodeKey]], column: dict[NodeKey, int]
           ) -> tuple[dict[NodeKey, list[_Lane]], dict[tuple[NodeKey, NodeKey], list[_Lane]]]:
    """The lanes edges take through the layers between their ends: for each node with edges
    pointing right that cross layers, its trunk, which they share (left to right, as far as the
    furthest goes); for each edge closing a cycle, its own lanes (right to left, none when its
    ends are in neighbouring layers)."""
    trunks: dict[NodeKey, list[_Lane]] = {}
    backs: dict[tuple[NodeKey, NodeKey], list[_Lane]] = {}
    for start, ends in out_edges.items():
        first = column[start]
        furthest = max((column[end] for end in forward[start]), default=first)
        if furthest > first + 1:
            trunks[start] = [_Lane(start, c) for c in range(first + 1, furthest)]
        ahead = set(forward[start])
        for end in ends:
            if end not in ahead:
                backs[(start, end)] = [_Lane(start, c, end) for c in range(first - 1, column[end], -1)]
    return trunks, backs


def _stack(layers: list[list[_Item]]) -> tuple[dict[_Item, float], float]:
    """Each node's top and each lane's line, in drawing units, the layers stacked top down
    (nodes _ROW apart, lanes _LANE_GAP from what is next to them) and each centred on the
    tallest; and the tallest's height."""
    top: dict[_Item, float] = {}
    heights = []
    for layer in layers:
        y = 0.0
        for i, item in enumerate(layer):
            is_lane = isinstance(item, _Lane)
            if i:
                y += _LANE_GAP if is_lane or isinstance(layer[i - 1], _Lane) else _ROW - _HEIGHT
            top[item] = y
            y += 0 if is_lane else _HEIGHT
        heights.append(y)
    tallest = max(heights)
    for layer, height in zip(layers, heights):
        for item in layer:
            top[item] += (tallest - height) / 2
    return top, tallest


def _acyclic(order: list[NodeKey], out_edges: dict[NodeKey, list[NodeKey]]) -> dict[NodeKey, list[NodeKey]]:
    """The edges minus those that close a cycle (back edges of a depth-first search)."""
    state: dict[NodeKey, int] = {}  # 1: on the search's stack, 2: done
    forward: dict[NodeKey, list[NodeKey]] = {n: [] for n in order}
    for root in order:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out_edges[root]))]
        while stack:
            node, ends = stack[-1]
            for end in ends:
                if state.get(end) == 1:
                    continue  # back edge: closes a cycle
                forward[node].append(end)
                if end not in state:
                    state[end] = 1
                    stack.append((end, iter(out_edges[end])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return forward


# --- SVG ------------------------------------------------------------------------------------


# The widest a 12-unit character runs in the fonts a viewer may lack Helvetica for (DejaVu
# Sans: bold ~8 units, regular ~7), and the room a box's text has.
_BOLD_CHAR, _CHAR = 8.0, 7.0
_TEXT_ROOM = _WIDTH - 20


def _fitted(text: str, char_width: float) -> str:
    """A textLength attribute squeezing ``text`` into the box when it may run past it in a
    wide font (TFX's `ExampleStatistics #12345` in bold DejaVu), else nothing."""
    if len(text) * char_width <= _TEXT_ROOM:
        return ""
    return f' textLength="{_TEXT_ROOM}" lengthAdjust="spacingAndGlyphs"'


def _short(text: str, limit: int = _TEXT_CHARS, *, keep_end: bool = False) -> str:
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1):] if keep_end else text[: limit - 1] + "…"


def _node_lines(node: Artifact | Execution) -> tuple[str, str]:
    """The box's two lines: type and id; name (an artifact's uri, its end, when unnamed) and
    the state when not the default, which a long name is cut to leave room for."""
    first = f"{node.type or 'untyped'} #{node.id}"
    keep_end = False
    if isinstance(node, Artifact):
        name, keep_end = (node.name, False) if node.name else (node.uri or "", True)
        state = node.state.value if node.state and node.state is not ArtifactState.LIVE else None
    else:
        name = node.name or ""
        state = (node.last_known_state.value
                 if node.last_known_state and node.last_known_state is not ExecutionState.COMPLETE else None)
    if state is None:
        return _short(first), _short(name, keep_end=keep_end)
    suffix = f"[{state}]"
    room = max(_TEXT_CHARS - len(suffix) - 1, 4)
    return _short(first), (f"{_short(name, room, keep_end=keep_end)} {suffix}" if name else suffix)


def _tooltip(node: Artifact | Execution) -> str:
    lines = [f"{'Artifact' if isinstance(node, Artifact) else 'Execution'} {node.id}: {node.type}"]
    for label, value in (("name", node.name), ("uri", getattr(node, "uri", None)),
                         ("state", getattr(node, "state", None) or getattr(node, "last_known_state", None))):
        if value is not None:
            lines.append(f"{label}: {value.value if hasattr(value, 'value') else value}")
    for prefix, values in (("", node.properties), ("custom ", node.custom_properties)):
        for name, value in sorted(values.items()):
            lines.append(f"{prefix}{name}: {_short(str(value), 80)}")
    return "\n".join(lines)


def _colours(node: Artifact | Execution) -> tuple[str, str]:
    if isinstance(node, Artifact):
        return _ARTIFACT_COLOURS
    return _EXECUTION_COLOURS.get(node.last_known_state, _EXECUTION_DEFAULT) if node.last_known_state \
        else _EXECUTION_DEFAULT


def _tints(tint: Mapping[tuple[str, int], str] | None) -> dict[NodeKey, str]:
    keys = {"artifact": "a", "execution": "x"}
    out = {}
    for key, colour in (tint or {}).items():
        kind, node_id = key if isinstance(key, tuple) and len(key) == 2 else (None, None)
        if (kind not in keys or not isinstance(node_id, int) or isinstance(node_id, bool)
                or not isinstance(colour, str) or not _COLOUR.fullmatch(colour)):
            raise InvalidArgumentError(f"tint: {key!r} -> {colour!r}: keys are ('artifact' or 'execution', id), "
                                       "colours #rrggbb", field="tint")
        out[(keys[kind], node_id)] = colour
    return out


def _check_title(title: object) -> None:
    if not isinstance(title, str):
        raise InvalidArgumentError(f"title: a string is expected, not {title!r}", field="title")


def lineage_svg(graph: LineageGraph, *, highlight: Iterable[int] = (), highlight_executions: Iterable[int] = (),
                title: str = "lineage", tint: Mapping[tuple[str, int], str] | None = None,
                more_upstream: Iterable[NodeName] = (), more_downstream: Iterable[NodeName] = (),
                id_prefix: str = "") -> str:
    """The graph drawn as one SVG document: artifacts as rounded boxes (blue; dashed when not
    LIVE), executions as square boxes coloured by state, a state other than the default
    (LIVE, COMPLETE) written under the name, edges the way data flows. Each node carries a
    tooltip with its fields and properties. Artifacts whose ids are in ``highlight`` and
    executions whose ids are in ``highlight_executions`` (the lineage's starting nodes, say)
    get a heavy border. ``tint`` fills nodes with other colours: {("artifact" or
    "execution", id): "#rrggbb"} (a comparison's sides, say). Nodes named in
    ``more_upstream`` (("artifact" or "execution", id)) get a dashed stub into their left
    side, "…" and the class ``more-upstream`` (their lineage goes on upstream beyond the
    graph: a depth limit cut it there); ``more_downstream`` the same out of their right side.

    Element ids are the nodes' (``a12`` an artifact's, ``x7`` an execution's) and the arrow
    marker's (``arrow``), each after ``id_prefix``: several drawings in one HTML page (a
    notebook's outputs) need a prefix each, or they share ids and one drawing's arrows go
    when another is hidden (a LineageGraph shown in a notebook gives its drawing its own:
    :func:`notebook_html`). ``data-from`` and
    ``data-to`` name nodes without the prefix.

    Raises:
        InvalidArgumentError: ``graph`` is no LineageGraph; a tint key or colour, a node named,
            a highlighted id or the title in another form;
            ``id_prefix`` is not a letter or "_" followed by letters, digits, "_" and "-".
    """
    _check_graph(graph)
    _check_title(title)
    if not isinstance(id_prefix, str) or not _ID_PREFIX.fullmatch(id_prefix):
        raise InvalidArgumentError(f"id_prefix: {id_prefix!r} is not a letter or '_' followed by letters, digits, "
                                   "'_' and '-'", field="id_prefix")
    tints = _tints(tint)
    up = _node_names(more_upstream, "more_upstream")
    down = _node_names(more_downstream, "more_downstream")
    nodes: dict[NodeKey, Artifact | Execution] = {_key(n): n for n in _lineage_nodes(graph)}
    edges = _edges(graph, with_paths=True)  # titled with paths, which the page's panel shows
    placed = layout(nodes, edges)
    marked = ({("a", i) for i in id_list(highlight, "highlight")}
              | {("x", i) for i in id_list(highlight_executions, "highlight_executions")})
    width = max(placed.columns, 1) * _COLUMN - (_COLUMN - _WIDTH) + 2 * _MARGIN
    height = round(max(placed.rows, 1) * _ROW - (_ROW - _HEIGHT) + 2 * _MARGIN)

    def corner(key: NodeKey) -> tuple[float, float]:
        return _left(placed.column[key]), _y(placed.row[key])

    esc = _xml_escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{esc(title)}</title>",
        f'<defs><marker id="{id_prefix}arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#80868b"/></marker></defs>',
        '<g class="edges" fill="none" stroke="#9aa0a6" stroke-width="1.3">',
    ]
    # The edges out of a node that point right across columns share their lanes: drawn once,
    # as the node's trunk (class "lane"), so an artifact read in every later run costs one line,
    # not a line a reader; each such edge is drawn from the lane it leaves the trunk by.
    trunks: dict[NodeKey, list[NodeKey]] = {}
    for start, end in sorted(edges):
        if placed.column[end] > placed.column[start] + 1:
            trunks.setdefault(start, []).append(end)
    for start, ends in trunks.items():
        title = "; ".join(f"{_node_lines(nodes[end])[0]}: {', '.join(edges[(start, end)])}" for end in ends)
        parts.append(
            f'<path class="lane" data-from="{_dom_id(start)}" data-to="{" ".join(_dom_id(end) for end in ends)}" '
            f'd="{_edge_path(_trunk_runs(placed, start))}"><title>{esc(title)}</title></path>')
    for (start, end), types in sorted(edges.items()):
        parts.append(
            f'<path class="edge" data-from="{_dom_id(start)}" data-to="{_dom_id(end)}" '
            f'marker-end="url(#{id_prefix}arrow)" '
            f'd="{_edge_path(_edge_runs(placed, start, end))}"><title>{esc(", ".join(types))}</title></path>')
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for key in sorted(nodes):
        node = nodes[key]
        x, y = corner(key)
        fill, stroke = _colours(node)
        fill = tints.get(key, fill)
        is_artifact = key[0] == "a"
        dashed = (' stroke-dasharray="5 3"' if isinstance(node, Artifact) and node.state not in (None, ArtifactState.LIVE)
                  else "")
        heavy = 3 if key in marked else 1.4
        first, second = _node_lines(node)
        more = _more_text(key, up, down)
        classes = "".join(f" more-{way}" for way, keys in (("upstream", up), ("downstream", down)) if key in keys)
        classes += " start" if key in marked else ""
        tooltip = _tooltip(node) + (f"\n{more}: beyond the depth limit, not drawn" if more else "")
        stubs = "".join(_STUB[way] for way, keys in (("upstream", up), ("downstream", down)) if key in keys)
        parts.append(
            f'<g class="node {"artifact" if is_artifact else "execution"}{classes}" id="{id_prefix}{_dom_id(key)}" '
            + (f'data-more="{esc(more)}" ' if more else "")
            + f'transform="translate({x:.0f},{y:.0f})"><title>{esc(tooltip)}</title>{stubs}'
            f'<rect width="{_WIDTH}" height="{_HEIGHT}" rx="{14 if is_artifact else 3}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{heavy}"{dashed}/>'
            f'<text x="10" y="19" font-weight="bold"{_fitted(first, _BOLD_CHAR)}>{esc(first)}</text>'
            f'<text x="10" y="36" fill="#3c4043"{_fitted(second, _CHAR)}>{esc(second)}</text></g>')
    parts.append("</g></svg>")
    return "\n".join(parts)


_Run = tuple[float, float, float]  # a level stretch of an edge's line: from x, to x, at y


def _left(column: int) -> float:
    """The x of a column's left side."""
    return _MARGIN + column * _COLUMN


def _y(row: float) -> float:
    """The y of a row (a node's top, a lane's line)."""
    return _MARGIN + row * _ROW


def _edge_runs(placed: Layout, start: NodeKey, end: NodeKey) -> list[_Run]:
    """The level stretches of an edge's own line, in order. An edge pointing right enters its
    end's left side at the middle, from its start's right side at the middle or, when it
    crosses columns, from the end of its lane in the column before its end (the rest of its
    way is its start's trunk, :func:`_trunk_runs`). An edge closing a cycle leaves its start's
    left side and enters its end's right side, _BACK below their tops, through lanes of its own."""
    first, last = placed.column[start], placed.column[end]
    if last > first:
        out = _left(last - 1) + _WIDTH
        y = _y(placed.row[start]) + _HEIGHT / 2 if last == first + 1 else _y(placed.lanes[start][last - first - 2])
        return [(out, out, y), (_left(last), _left(last), _y(placed.row[end]) + _HEIGHT / 2)]
    lanes = placed.back_lanes.get((start, end), [])
    across = [(_left(c) + _WIDTH, _left(c), _y(row)) for c, row in zip(range(first - 1, last, -1), lanes)]
    out, into = _left(first), _left(last) + _WIDTH
    return [(out, out, _y(placed.row[start]) + _BACK), *across, (into, into, _y(placed.row[end]) + _BACK)]


def _trunk_runs(placed: Layout, start: NodeKey) -> list[_Run]:
    """The level stretches of ``start``'s trunk: out of its right side at the middle, then
    through each of its lanes (:attr:`Layout.lanes`)."""
    first = placed.column[start]
    out = _left(first) + _WIDTH
    return [(out, out, _y(placed.row[start]) + _HEIGHT / 2),
            *((_left(c), _left(c) + _WIDTH, _y(row)) for c, row in enumerate(placed.lanes[start], first + 1))]


def _edge_path(runs: Sequence[_Run]) -> str:
    """An SVG path through ``runs`` (:func:`_edge_runs`, :func:`_trunk_runs`): each a level
    line, joined by curves that leave and enter level, within the gap between two columns."""
    x, _, y = runs[0]
    d = [f"M{x:.0f},{y:.0f}"]
    for i, (x1, x2, y2) in enumerate(runs):
        if i:
            bend = max(abs(x1 - x) / 2, _BEND) * (1 if x1 > x else -1)
            d.append(f"C{x + bend:.0f},{y:.0f} {x1 - bend:.0f},{y2:.0f} {x1:.0f},{y2:.0f}")
        if x2 != x1:
            d.append(f"H{x2:.0f}")
        x, y = x2, y2
    return " ".join(d)


# The stub of a node with more lineage beyond the drawing: a short dashed line with "…" in the
# gap between columns, into the node's left side (upstream) or out of its right side
# (downstream), below the middle where the drawn edges end.
_STUB = {
    "upstream": ('<path class="more" d="M-24,38 H0" stroke="#80868b" stroke-width="1.3" stroke-dasharray="4 3" '
                 'fill="none"/><text x="-22" y="34" fill="#5f6368">…</text>'),
    "downstream": (f'<path class="more" d="M{_WIDTH},38 h24" stroke="#80868b" stroke-width="1.3" '
                   f'stroke-dasharray="4 3" fill="none"/><text x="{_WIDTH + 6}" y="34" fill="#5f6368">…</text>'),
}


# --- HTML -----------------------------------------------------------------------------------


def counted(n: int, noun: str) -> str:
    """"1 context", "2 contexts", "1,200 artifacts": a count with its noun, singular for 1."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# In the page's data a bidirectional control is its escape's text (the JSON string holds a
# backslash), so the page shows "\\u202e" where the CLI's tables do.
_SCRIPT_SHOWN = {c: "\\" + text for c, text in SHOWN_UNICODE_CONTROLS.items()}


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element: no "<" at all (it is written \\u003c, as every
    JSON parser reads it), so neither "</script" nor "<!--" in a name can end the element or
    change how the browser parses it."""
    return json.dumps(strict_json(value), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).replace("<", "\\u003c").translate(_SCRIPT_SHOWN)


def lineage_html(graph: LineageGraph, *, highlight: Iterable[int] = (), highlight_executions: Iterable[int] = (),
                 title: str = "lineage", tint: Mapping[tuple[str, int], str] | None = None,
                 legend: Sequence[tuple[str, str]] = (), more_upstream: Iterable[NodeName] = (),
                 more_downstream: Iterable[NodeName] = ()) -> str:
    """A self-contained HTML page of the graph (no network access, opens from a file): the
    SVG drawing of :func:`lineage_svg` with pan (drag) and zoom (wheel), a panel showing
    the clicked node's fields, properties, events and contexts, and the graph's contexts,
    each of which highlights its artifacts and executions when clicked. ``highlight``,
    ``highlight_executions``, ``tint``, ``more_upstream`` and ``more_downstream`` as for
    :func:`lineage_svg` (the legend then says what the stubs mean); ``legend`` adds
    (label, "#rrggbb") entries to the page's legend (what the tints mean).

    The page is a whole document, not a fragment to put into another: its style sets the
    body's and its script finds its parts by fixed ids. In a notebook, show it in a frame
    (write it to a file and ``IPython.display.IFrame("lineage.html", width="100%",
    height=600)``), or show the drawing alone inline: :func:`lineage_svg`, or the graph
    itself (a LineageGraph's display draws it).

    Raises:
        InvalidArgumentError: ``graph`` is no LineageGraph; a tint or legend entry, a node
            named, a highlighted id or the title in another form.
    """
    _check_graph(graph)
    _check_title(title)
    highlight, highlight_executions = id_list(highlight, "highlight"), id_list(highlight_executions, "highlight_executions")
    more_upstream, more_downstream = list(more_upstream), list(more_downstream)
    if isinstance(legend, (str, bytes)) or not isinstance(legend, Iterable):
        raise InvalidArgumentError(f"legend: a list of (label, '#rrggbb') pairs is expected, not {legend!r}",
                                   field="legend")
    for i, entry in enumerate(legend):
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
            raise InvalidArgumentError(f"legend[{i}]: a (label, '#rrggbb') pair of strings is expected, not {entry!r}",
                                       field=f"legend[{i}]")
    for label, colour in legend:
        if not _COLOUR.fullmatch(colour):
            raise InvalidArgumentError(f"legend: {label!r} -> {colour!r}: colours are #rrggbb", field="legend")
    details: dict[str, object] = {}
    for node in _lineage_nodes(graph):
        details[_dom_id(_key(node))] = node.model_dump(mode="json", exclude_none=True, exclude={"system_metadata"})
    members: dict[int, list[str]] = {}
    for attribution in graph.attributions:
        members.setdefault(attribution.context_id, []).append(_dom_id(("a", attribution.artifact_id)))
    for association in graph.associations:
        members.setdefault(association.context_id, []).append(_dom_id(("x", association.execution_id)))
    # The page's data, as JSON.
    contexts: list[dict[str, Any]] = [
        {"id": c.id, "type": c.type, "name": c.name, "members": members.get(c.id or 0, [])}
        for c in sorted(graph.contexts, key=lambda c: (c.type or "", c.name or "", c.id or 0))]
    data = {"nodes": details, "contexts": contexts}
    counts = ", ".join(counted(len(items), noun) for items, noun in (
        (graph.artifacts, "artifact"), (graph.executions, "execution"), (graph.events, "event"),
        (graph.contexts, "context")))
    esc = _xml_escape
    # The list is in the page itself, so it reads without scripts; the script makes each entry
    # a filter (buttons: reachable by keyboard).
    items = "".join(f'<li><button type="button" data-context="{i}">{esc(str(c["type"]))}: {esc(str(c["name"]))} '
                    f'({len(c["members"])})</button></li>' for i, c in enumerate(contexts)) or "<li>none</li>"
    extra = "".join(f'<span style="background:{colour};border-color:#5f6368">{esc(label)}</span>'
                    for label, colour in legend)
    if more_upstream or more_downstream:
        extra += '<span style="border-style:dashed;border-color:#80868b">… more beyond depth</span>'
    return _PAGE.format(
        title=esc(title), counts=esc(counts), legend=extra, contexts=items,
        svg=lineage_svg(graph, highlight=highlight, highlight_executions=highlight_executions, title=title, tint=tint,
                        more_upstream=more_upstream, more_downstream=more_downstream),
        data=_script_json(data))


# The most artifacts and executions a notebook draws inline (a LineageGraph's display): a larger
# drawing is too wide to read at a notebook's width and slow for the notebook to hold.
NOTEBOOK_MAX_NODES = 300
# Numbers each inline drawing of the process, whose ids then differ from every other's.
_drawings = itertools.count(1)


def notebook_html(graph: LineageGraph) -> str:
    """A LineageGraph as a notebook shows it (its ``_repr_html_``): its counts (its repr)
    and, up to NOTEBOOK_MAX_NODES artifacts and executions, its drawing (:func:`lineage_svg`)
    with ids of its own, ``lineage-<hash of its node ids>-<n>-``, so that drawings in one
    notebook do not share them; above that, how to draw it (a page, to a file)."""
    summary = f"<p><code>{html.escape(repr(graph))}</code></p>"
    nodes = sorted(_key(node) for node in _lineage_nodes(graph))
    if not nodes:
        return summary
    if len(nodes) > NOTEBOOK_MAX_NODES:
        return summary + (
            f"<p>{len(nodes):,} artifacts and executions: too many to draw here (at most "
            f"{NOTEBOOK_MAX_NODES}). Draw it as a page: <code>pathlib.Path(\"lineage.html\").write_text("
            "graphmd.lineage_html(graph))</code>, then open the file or show it with "
            "<code>IPython.display.IFrame(\"lineage.html\", width=\"100%\", height=600)</code>; or read "
            "fewer hops (<code>max_num_hops</code>).</p>")
    digest = hashlib.blake2s(" ".join(_dom_id(key) for key in nodes).encode(), digest_size=4).hexdigest()
    svg = lineage_svg(graph, id_prefix=f"lineage-{digest}-{next(_drawings)}-")
    return summary + f'<div style="overflow:auto; max-height:640px">{svg}</div>'


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ margin: 0; font: 13px Helvetica, Arial, sans-serif; color: #202124; display: flex; height: 100vh; }}
#main {{ flex: 1; display: flex; flex-direction: column; min-width: 0; }}
header {{ padding: 8px 12px; border-bottom: 1px solid #dadce0; display: flex; flex-wrap: wrap; gap: 8px 16px;
         align-items: center; }}
#find {{ max-width: 100%; min-width: 0; }}
header h1 {{ font-size: 15px; margin: 0; }}
.legend span {{ display: inline-block; padding: 1px 7px; margin-right: 4px; border: 1px solid; border-radius: 3px; }}
#view {{ flex: 1; overflow: hidden; cursor: grab; background: #fafafa; }}
#view svg {{ width: 100%; height: 100%; }}
aside {{ width: 340px; border-left: 1px solid #dadce0; overflow: auto; padding: 8px 12px; }}
aside h2 {{ font-size: 13px; margin: 12px 0 4px; }}
#details table {{ border-collapse: collapse; width: 100%; }}
#details td {{ border-top: 1px solid #eee; padding: 2px 4px; vertical-align: top; word-break: break-all; }}
#details td:first-child {{ color: #5f6368; white-space: nowrap; word-break: normal; }}
#contexts {{ padding-left: 16px; }}
#contexts button {{ border: 0; background: none; padding: 2px 0; cursor: pointer; text-align: left; color: inherit;
                   overflow-wrap: anywhere; vertical-align: top; }}
#contexts button.on {{ font-weight: bold; }}
g.node {{ cursor: pointer; }}
g.node:focus {{ outline: none; }}
g.node:focus rect {{ stroke: #1a73e8; stroke-width: 3; }}
svg.filtered g.node:not(.member), svg.filtered path.edge:not(.member),
svg.filtered path.lane:not(.member) {{ opacity: 0.15; }}
g.node.selected rect {{ stroke: #202124; stroke-width: 3; }}
button {{ font: inherit; }}
</style></head>
<body>
<div id="main">
<header><h1>{title}</h1><span>{counts}</span>
<span class="legend"><span style="background:#e8f0fe;border-color:#1a73e8;border-radius:9px">artifact</span><span
style="background:#e8f0fe;border-color:#1a73e8;border-radius:9px;border-style:dashed">not LIVE</span><span
style="background:#e6f4ea;border-color:#1e8e3e">complete</span><span
style="background:#eef3ee;border-color:#5f8f6b">cached</span><span
style="background:#fef7e0;border-color:#e37400">running</span><span
style="background:#fce8e6;border-color:#d93025">failed</span><span
style="background:#f1f3f4;border-color:#5f6368">other</span>{legend}</span>
<button id="fit" type="button">fit</button>
<input id="find" type="search" placeholder="find: name, uri, type or id (Enter: next)" size="36">
<span id="found"></span></header>
<div id="view">
{svg}
</div></div>
<aside><h2>Node</h2><div id="details">Click a node (or Tab to it and press Enter).</div>
<noscript><p>Scripts are off: the drawing is static. A node's details, the find box and the
context filters need JavaScript.</p></noscript>
<h2>Contexts</h2><ul id="contexts">{contexts}</ul></aside>
<script type="application/json" id="lineage-data">{data}</script>
<script>
(function () {{
  const data = JSON.parse(document.getElementById("lineage-data").textContent);
  const svg = document.querySelector("#view svg");
  const full = svg.getAttribute("viewBox").split(" ").map(Number);
  let box = {{x: full[0], y: full[1], w: full[2], h: full[3]}};
  const home = Object.assign({{}}, box);
  svg.removeAttribute("width"); svg.removeAttribute("height");
  function show() {{ svg.setAttribute("viewBox", [box.x, box.y, box.w, box.h].join(" ")); }}
  document.getElementById("fit").onclick = function () {{ box = Object.assign({{}}, home); show(); }};
  const view = document.getElementById("view");
  view.addEventListener("wheel", function (e) {{
    e.preventDefault();
    const k = e.deltaY > 0 ? 1.15 : 1 / 1.15;
    // The drawing point under the cursor, through the SVG's own transform: a wide drawing is
    // letterboxed (centred), which a plain scale from the element's corner misses.
    const at = svg.createSVGPoint(); at.x = e.clientX; at.y = e.clientY;
    const p = at.matrixTransform(svg.getScreenCTM().inverse());
    box = {{x: p.x - (p.x - box.x) * k, y: p.y - (p.y - box.y) * k, w: box.w * k, h: box.h * k}};
    show();
  }}, {{passive: false}});
  let drag = null, dragged = false;
  view.addEventListener("mousedown", function (e) {{
    drag = {{x: e.clientX, y: e.clientY, box: Object.assign({{}}, box)}}; dragged = false;
  }});
  window.addEventListener("mouseup", function () {{ drag = null; }});
  window.addEventListener("mousemove", function (e) {{
    if (!drag) return;
    // A pan that starts on a node must not select it when the button comes up.
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) dragged = true;
    const r = svg.getBoundingClientRect(), scale = Math.max(box.w / r.width, box.h / r.height);
    box.x = drag.box.x - (e.clientX - drag.x) * scale; box.y = drag.box.y - (e.clientY - drag.y) * scale; show();
  }});
  function cell(text) {{ const td = document.createElement("td"); td.textContent = text; return td; }}
  function row(table, key, value) {{
    const tr = document.createElement("tr"); tr.append(cell(key), cell(value)); table.append(tr);
  }}
  const details = document.getElementById("details");
  svg.querySelectorAll("g.node").forEach(function (g) {{
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.addEventListener("keydown", function (e) {{
      if (e.key === "Enter" || e.key === " ") {{ e.preventDefault(); select(); }}
    }});
    g.addEventListener("click", function () {{ if (!dragged) select(); }});
    function select() {{
      svg.querySelectorAll("g.node.selected").forEach(function (s) {{ s.classList.remove("selected"); }});
      g.classList.add("selected");
      const node = data.nodes[g.id], table = document.createElement("table");
      for (const key of Object.keys(node)) {{
        const value = node[key];
        if (key === "properties" || key === "custom_properties") {{
          for (const name of Object.keys(value).sort())
            row(table, (key === "properties" ? "" : "custom: ") + name, JSON.stringify(value[name]));
        }} else if (key.endsWith("_since_epoch")) {{
          row(table, key, new Date(value).toISOString() + " (" + value + ")");
        }} else {{
          row(table, key, typeof value === "string" ? value : JSON.stringify(value));
        }}
      }}
      const inputs = [], outputs = [];
      function name(id) {{ const n = data.nodes[id]; return n.type + " #" + n.id; }}
      svg.querySelectorAll("path.edge").forEach(function (p) {{
        if (p.dataset.to === g.id) inputs.push(name(p.dataset.from) + " (" + p.textContent + ")");
        if (p.dataset.from === g.id) outputs.push(name(p.dataset.to) + " (" + p.textContent + ")");
      }});
      if (inputs.length) row(table, "from", inputs.join(", "));
      if (outputs.length) row(table, "to", outputs.join(", "));
      if (g.dataset.more) row(table, "not drawn", g.dataset.more + ", beyond the depth limit");
      const within = data.contexts.filter(function (c) {{ return c.members.indexOf(g.id) >= 0; }});
      if (within.length) row(table, "contexts", within.map(function (c) {{ return c.type + " " + c.name; }}).join(", "));
      details.replaceChildren(table);
    }}
    g.select = select;
  }});
  // A drawing far larger than the pane (a long chain of runs: 27,000 x 170 px) fitted whole is
  // a thin line in an empty pane: open it at readable size on its starting node (or its left
  // end) instead; "fit" shows it whole.
  const pane = view.getBoundingClientRect();
  if (pane.width > 0 && pane.height > 0 && Math.min(pane.width / home.w, pane.height / home.h) < 0.25) {{
    // Fitted, a node would be under a quarter of its size: show it at 60% instead.
    const w = Math.min(home.w, pane.width / 0.6), h = w * pane.height / pane.width;
    const start = svg.querySelector("g.node.start");
    const t = start && /translate\\(([-\\d.]+),([-\\d.]+)\\)/.exec(start.getAttribute("transform"));
    const x = t ? Number(t[1]) + 100 - w / 2 : home.x;
    const y = t && h < home.h ? Math.max(home.y, Math.min(Number(t[2]) + 23 - h / 2, home.y + home.h - h))
                              : home.y + home.h / 2 - h / 2;
    box = {{x: Math.max(home.x, Math.min(x, home.x + home.w - w)), y: y, w: w, h: h}};
    show();
  }}
  const find = document.getElementById("find"), found = document.getElementById("found");
  let matches = [], at = -1;
  find.addEventListener("input", function () {{ matches = []; at = -1; found.textContent = ""; }});
  find.addEventListener("keydown", function (e) {{
    if (e.key !== "Enter") return;
    const text = find.value.trim().toLowerCase();
    if (!text) return;
    if (!matches.length) {{
      matches = Object.keys(data.nodes).filter(function (id) {{
        const n = data.nodes[id];
        return [n.name, n.uri, n.type, String(n.id)].some(function (v) {{
          return v !== undefined && String(v).toLowerCase().indexOf(text) >= 0; }});
      }});
    }}
    if (!matches.length) {{ found.textContent = "no match"; return; }}
    at = (at + 1) % matches.length;
    const g = document.getElementById(matches[at]);
    const t = /translate\\(([-\\d.]+),([-\\d.]+)\\)/.exec(g.getAttribute("transform"));
    const w = Math.min(home.w, 1600), h = w * (box.h / box.w);
    box = {{x: Number(t[1]) + 100 - w / 2, y: Number(t[2]) + 23 - h / 2, w: w, h: h}};
    show();
    g.select();
    found.textContent = (at + 1) + " of " + matches.length;
  }});
  const list = document.getElementById("contexts");
  list.querySelectorAll("button[data-context]").forEach(function (li) {{
    const c = data.contexts[Number(li.dataset.context)];
    li.setAttribute("aria-pressed", "false");
    li.onclick = function () {{
      const on = !li.classList.contains("on");
      list.querySelectorAll("button.on").forEach(function (x) {{
        x.classList.remove("on"); x.setAttribute("aria-pressed", "false"); }});
      svg.querySelectorAll(".member").forEach(function (x) {{ x.classList.remove("member"); }});
      svg.classList.toggle("filtered", on);
      if (!on) return;
      li.classList.add("on"); li.setAttribute("aria-pressed", "true");
      const ids = new Set(c.members);
      ids.forEach(function (id) {{ const g = document.getElementById(id); if (g) g.classList.add("member"); }});
      svg.querySelectorAll("path.edge").forEach(function (p) {{
        if (ids.has(p.dataset.from) && ids.has(p.dataset.to)) p.classList.add("member");
      }});
      // A trunk (the lanes edges out of one node share) is a member's when one of its edges is.
      svg.querySelectorAll("path.lane").forEach(function (p) {{
        if (ids.has(p.dataset.from) && p.dataset.to.split(" ").some(function (id) {{ return ids.has(id); }}))
          p.classList.add("member");
      }});
    }};
  }});
}})();
</script>
</body></html>
"""
