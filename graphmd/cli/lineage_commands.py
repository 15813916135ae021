"""`graphmd lineage|types|artifacts|executions|contexts|show|query|compare`: read the store.

Each command connects as MetadataStore does (--uri/--user/--password/--database, else the
GRAPHMD_NEO4J_* variables, else the config file `graphmd neo4j start` wrote).
"""

from __future__ import annotations

import dataclasses
import ast
import datetime
import enum
import itertools
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .. import _codec as codec
from .. import _queries as q
from .._cypher_files import (cypher_dir, description, examples, explain, names, no_rows_reason, parameters,
                             statement)
from .._drawing import (MERMAID_MAX_EDGES, MERMAID_MAX_TEXT, counted, lineage_dot, lineage_html, lineage_mermaid,
                        lineage_svg)
from .. import __version__
from .._config import open_driver, resolve_settings
from .._errors import (FailedPreconditionError, GraphmdError, InvalidArgumentError, NotFoundError,
                       map_driver_errors)
from .._lineage import NodeKey, crossable, step_edges
from .._models import (
    AnyNode,
    AnyType,
    Artifact,
    ArtifactBaseType,
    ArtifactState,
    Context,
    Event,
    Execution,
    LineageDirection,
    LineageGraph,
    LineageStep,
    LineageSubgraphQueryOptions,
    ListOptions,
    NodeSelector,
    OrderBy,
    stored_id,
)
from .._pipeline import check_lookup_properties, compare_lineage, compare_runs, run_query
from .._schema import READS_COMPATIBLE_FROM, SCHEMA_VERSION, SIMPLE_TYPES, read_schema_state
from .._store import MetadataStore, count_kinds
from ._options import (Database, Password, Uri, User, as_piped, command_store, count_of, err, fail, json_text, out,
                       print_json, print_table, table, table_lines, write_stdout)



class Format(str, enum.Enum):
    tree = "tree"
    json = "json"
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"
    html = "html"


class ListFormat(str, enum.Enum):
    table = "table"
    json = "json"


class Kind(str, enum.Enum):
    artifact = "artifact"
    execution = "execution"
    context = "context"


def _store(uri: str | None, user: str | None, password: str | None, database: str | None, *,
           warn_of_unfinished_import: bool = True) -> MetadataStore:
    return command_store(uri, user, password, database, warn_of_unfinished_import=warn_of_unfinished_import)


# --- lineage ------------------------------------------------------------------------------


def _is_id(text: str) -> bool:
    """Whether a command-line value is an id: ASCII digits only (str.isdigit also takes '²',
    which int() refuses, and '٣', which it reads as 3: a name or uri so written is a name)."""
    return text.isascii() and text.isdigit()


def _label(node: Artifact | Execution) -> str:
    """The node on one tree line: an artifact's uri, an execution's state, and an artifact's
    state when not LIVE; a line break or another control character in a name or URI is
    written as its escape (\\n, \\x1b), as tables do."""
    name = f" {node.name}" if node.name else ""  # the name and uri as stored, spaces and all
    if isinstance(node, Artifact):
        where = f" ({node.uri})" if node.uri else ""
        state = f" [{node.state.value}]" if node.state is not None and node.state is not ArtifactState.LIVE else ""
        text = f"{node.type} #{node.id}{name}{where}{state}"
    else:
        state = f" [{node.last_known_state.value}]" if node.last_known_state else ""
        text = f"{node.type} #{node.id}{name}{state}"
    return as_piped(text)


def _event_label(event: Event) -> str:
    """An event on a tree line: its type and path; control characters in a key escaped, as
    a node's (a line break in a key forged tree lines, an ESC reached the terminal)."""
    key = f" {'/'.join(str(s) for s in event.path)}" if event.path else ""
    return as_piped(f"{event.type.value if event.type is not None else ''}{key}")  # a stored event has one


_WAY = {LineageDirection.UPSTREAM: "upstream", LineageDirection.DOWNSTREAM: "downstream"}
_GROUP = {LineageDirection.UPSTREAM: "upstream: what it was made from",
          LineageDirection.DOWNSTREAM: "downstream: what was made from it"}

EventKey = tuple[int, int, str]  # (artifact id, execution id, event type): unique, as MLMD's Event table


def _event_key(event: Event) -> EventKey:
    return event.artifact_id or 0, event.execution_id or 0, event.type.value if event.type is not None else ""


def _child_order(child: tuple[NodeKey, Event, bool]) -> tuple[Any, ...]:
    """Children by their event's path (its key: base_model before examples before
    teacher_model, then the index), then its type, then kind and id."""
    key, event, _ = child
    path = tuple((0, step, "") if isinstance(step, int) else (1, 0, str(step)) for step in event.path)
    return path, event.type.value if event.type is not None else "", key


@dataclasses.dataclass
class _Tree:
    """One direction's lineage as a tree: each node, its children (node, event, whether the
    line is a reference), the starting nodes, each node's distance, the events crossed, and
    the nodes whose lineage goes on beyond --depth (filled in by _beyond_depth)."""

    direction: LineageDirection
    nodes: dict[NodeKey, Artifact | Execution] = dataclasses.field(default_factory=dict)
    children: dict[NodeKey, list[tuple[NodeKey, Event, bool]]] = dataclasses.field(default_factory=dict)
    roots: list[NodeKey] = dataclasses.field(default_factory=list)
    distance: dict[NodeKey, int] = dataclasses.field(default_factory=dict)
    crossed: set[EventKey] = dataclasses.field(default_factory=set)
    more: set[NodeKey] = dataclasses.field(default_factory=set)


def _read_tree(steps: Iterable[LineageStep], direction: LineageDirection) -> _Tree:
    """The tree of ``steps``: each node a child of a node one hop nearer on a shortest path
    (its full line), every other edge the traversal crosses between two reached nodes a
    reference under its other end."""
    tree = _Tree(direction)
    for edges in step_edges(steps, direction):
        tree.nodes[edges.key] = edges.step.node
        tree.distance[edges.key] = edges.step.distance
        tree.crossed.update(_event_key(event) for event in edges.step.events)
        if edges.parent is None:
            tree.roots.append(edges.key)
        # Of the nodes one hop nearer, the parent is the first by kind and id (then event),
        # whatever order the server returned the events in.
        nearer = [(other, event) for other, event in edges.inward if tree.distance[other] == edges.step.distance - 1]
        parent_event = min(nearer, key=lambda near: (near[0], _child_order((*near, False))),
                           default=(None, None))[1]
        for other, event in edges.inward:
            tree.children.setdefault(other, []).append((edges.key, event, event is not parent_event))
        for other, event in edges.outward:
            tree.children.setdefault(edges.key, []).append((other, event, True))
    tree.roots.sort()
    for kids in tree.children.values():
        kids.sort(key=_child_order)
    return tree


# Tree levels drawn before a deep branch continues in a block of its own below, its
# indentation starting again: 12 levels are 48 characters of indentation. A branch no more
# than _TREE_SLACK levels deep is drawn where it is (a run's statistics under its schema),
# so no line is indented more than 16 levels (64 characters).
_TREE_LEVELS, _TREE_SLACK = 12, 4


def _heights(tree: _Tree) -> dict[NodeKey, int]:
    """How many levels each node's branch of full lines goes below it (0: none), without
    recursion: a chain of warm-started models is thousands of levels deep."""
    height: dict[NodeKey, int] = {}
    stack = [(root, False) for root in tree.roots]
    while stack:
        key, children_done = stack.pop()
        full = [child for child, _, reference in tree.children.get(key, []) if not reference]
        if children_done:
            height[key] = max((height.get(child, 0) + 1 for child in full), default=0)
        elif key not in height:
            height[key] = 0  # guards against a revisit; set for real when its children are done
            stack.append((key, True))
            stack.extend((child, False) for child in full)
    return height


def _more_mark(ways: Iterable[str]) -> str:
    ways = list(ways)
    return "  … more " + " and ".join(ways) if ways else ""


def _render(trees: Sequence[_Tree]) -> tuple[list[str], int]:
    """The lines of one tree (one direction) or of two (--up and --down: under each starting
    node an "upstream" and a "downstream" branch), and how many blocks continue below.

    Each node is drawn in full once per tree, under a node one hop nearer; every other edge
    is a one-line reference marked "(see above)" or "(see below)". Children are in the order
    of their event's path. A node drawn _TREE_LEVELS levels in whose branch goes more than
    _TREE_SLACK levels deeper ends with "↓ continued below [N]", and its branch follows
    later as block [N], which names its distance and starts at the left margin again.
    "… more upstream" (or downstream) ends the line of a node whose lineage --depth cut."""
    lines: list[str] = []
    drawn: list[set[NodeKey]] = [set() for _ in trees]
    heights = [_heights(tree) for tree in trees]
    pending: list[tuple[int, int, NodeKey]] = []  # blocks to draw below: (number, tree, node)
    # A stack entry: (prefix, last, level, tree, node, event from its parent, is a reference,
    # group title). A group entry stands for one tree's branch under a starting node.
    Entry = tuple[str, bool, int, int, NodeKey, Optional[Event], bool, Optional[str]]

    def children(prefix: str, level: int, t: int, kids: Sequence[tuple[NodeKey, Event, bool]]) -> list[Entry]:
        return [(prefix, i == len(kids) - 1, level, t, child, via, reference, None)
                for i, (child, via, reference) in reversed(list(enumerate(kids)))]

    def draw(stack: list[Entry]) -> None:
        # Depth first with a stack of its own: a chain of warm-started models is thousands of
        # levels deep, beyond Python's recursion limit.
        while stack:
            prefix, last, level, t, key, via, reference, group = stack.pop()
            tree = trees[t]
            branch = prefix + ("└── " if last else "├── ")
            inner = prefix + ("    " if last else "│   ")
            if group is not None:
                kids = tree.children.get(key, [])
                empty = " (beyond --depth)" if key in tree.more else " (nothing)"
                lines.append(f"{branch}{group}" + ("" if kids else empty))
                stack.extend(children(inner, level + 1, t, kids))
                continue
            via_text = f"  <{_event_label(via)}>" if via is not None else ""
            label = _label(tree.nodes[key])
            if reference or key in drawn[t]:
                lines.append(f"{branch}{label}{via_text}  ({'see above' if key in drawn[t] else 'see below'})")
                continue
            drawn[t].add(key)
            line = f"{branch}{label}{via_text}" + _more_mark([_WAY[tree.direction]] if key in tree.more else [])
            kids = tree.children.get(key, [])
            if kids and level >= _TREE_LEVELS and heights[t].get(key, 0) > _TREE_SLACK:
                pending.append((len(pending) + 1, t, key))
                line += f"  ↓ continued below [{len(pending)}]"
            else:
                stack.extend(children(inner, level + 1, t, kids))
            lines.append(line)

    first = trees[0]
    for root in first.roots:
        for t in range(len(trees)):
            drawn[t].add(root)
        ways = [_WAY[tree.direction] for tree in trees if root in tree.more]
        lines.append(_label(first.nodes[root]) + _more_mark(ways))
        if len(trees) == 1:
            draw(children("", 1, 0, first.children.get(root, [])))
        else:
            draw([("", t == len(trees) - 1, 1, t, root, None, False, _GROUP[trees[t].direction])
                  for t in reversed(range(len(trees)))])
    done = 0
    while done < len(pending):
        number, t, key = pending[done]
        done += 1
        tree = trees[t]
        hops = tree.distance[key]
        lines.append("")
        lines.append(f"[{number}] {hops:,} hop{'' if hops == 1 else 's'} {_WAY[tree.direction]}: "
                     f"{_label(tree.nodes[key])}" + _more_mark([_WAY[tree.direction]] if key in tree.more else []))
        draw(children("", 1, t, tree.children.get(key, [])))
    return lines, len(pending)


def _union(graphs: Sequence[LineageGraph]) -> LineageGraph:
    """The lineage graphs put together: each node, event, context, link and type once, in the
    order get_lineage_subgraph returns them (by id; events by artifact, execution and type)."""
    def merged(field: str, key: Callable[[Any], Any]) -> list[Any]:
        found: dict[Any, Any] = {}
        for graph in graphs:
            for item in getattr(graph, field):
                found.setdefault(key(item), item)
        return [found[k] for k in sorted(found)]

    by_id: Callable[[Any], Any] = lambda item: item.id or 0  # noqa: E731
    return LineageGraph(
        artifact_types=merged("artifact_types", by_id), execution_types=merged("execution_types", by_id),
        context_types=merged("context_types", by_id), artifacts=merged("artifacts", by_id),
        executions=merged("executions", by_id), contexts=merged("contexts", by_id),
        events=merged("events", _event_key),
        attributions=merged("attributions", lambda a: (a.context_id, a.artifact_id)),
        associations=merged("associations", lambda a: (a.context_id, a.execution_id)),
        parent_contexts=merged("parent_contexts", lambda p: (p.child_id, p.parent_id)))


def _as_drawn(store: MetadataStore, graphs: Sequence[LineageGraph], directions: Sequence[LineageDirection],
              starts: list[NodeKey], depth: int | None) -> tuple[LineageGraph, dict[str, Any]]:
    """The lineage graphs (one per direction, from ``starts``, ``depth`` hops) as one graph to
    draw, with the events between drawn nodes that the depth left out (_beyond_depth), and
    the drawing functions' more_upstream / more_downstream: the nodes the depth cut."""
    graph = graphs[0] if len(graphs) == 1 else _union(graphs)
    trees = [_graph_tree(g, starts, d) for g, d in zip(graphs, directions, strict=True)]
    between = _beyond_depth(store, depth, trees)
    if between:  # edges between drawn nodes, as the tree draws them
        events = {_event_key(e): e for e in [*graph.events, *between]}
        graph = graph.model_copy(update={"events": [events[k] for k in sorted(events)]})
    beyond = {f"more_{_WAY[tree.direction]}": sorted((k[0].lower(), k[1]) for k in tree.more) for tree in trees}
    return graph, beyond


def _graph_tree(graph: LineageGraph, starts: Iterable[NodeKey], direction: LineageDirection) -> _Tree:
    """What _beyond_depth needs of a lineage graph: each node's distance from the nearest
    starting node over the events returned (they include every shortest path's), and those
    events."""
    tree = _Tree(direction)
    nodes: list[Artifact | Execution] = [*graph.artifacts, *graph.executions]
    tree.nodes = {(type(n).__name__, n.id or 0): n for n in nodes}
    tree.crossed = {_event_key(e) for e in graph.events}
    near: dict[NodeKey, list[tuple[NodeKey, Event]]] = {}
    for event in graph.events:
        ends = (("Artifact", event.artifact_id or 0), ("Execution", event.execution_id or 0))
        for here, there in (ends, ends[::-1]):
            near.setdefault(here, []).append((there, event))
    level = [key for key in starts if key in tree.nodes]
    tree.distance = dict.fromkeys(level, 0)
    while level:
        following = []
        for key in level:
            for other, event in near.get(key, []):
                if other not in tree.distance and crossable(event, key[0], direction):
                    tree.distance[other] = tree.distance[key] + 1
                    following.append(other)
        level = following
    return tree


def _beyond_depth(store: MetadataStore, depth: int | None, trees: Sequence[_Tree]) -> list[Event]:
    """Look past the nodes --depth stopped at (``depth`` hops away) at the events the
    traversal would cross from them that it did not return. One to a node the tree holds
    (an evaluation step one hop from the data that also read the model two hops away) is an
    edge between drawn nodes: added to the tree as a reference, and returned, so the graph
    formats draw it too (ML Metadata's lineage, and graphmd's, leaves it out). One to a
    node beyond puts the node in its tree's ``more``. Two reads: the events of those
    artifacts and of those executions."""
    if depth is None:
        return []
    edge = {key for tree in trees for key, hops in tree.distance.items() if hops == depth}
    events = [*store.get_events_by_artifact_ids(sorted(i for kind, i in edge if kind == "Artifact")),
              *store.get_events_by_execution_ids(sorted(i for kind, i in edge if kind == "Execution"))]
    between: dict[EventKey, Event] = {}
    for tree in trees:
        for event in events:
            if _event_key(event) in tree.crossed:
                continue
            ends = (("Artifact", event.artifact_id or 0), ("Execution", event.execution_id or 0))
            for key, other in (ends, ends[::-1]):
                if tree.distance.get(key) != depth or not crossable(event, key[0], tree.direction):
                    continue
                if other in tree.nodes:
                    tree.children.setdefault(key, []).append((other, event, True))
                    tree.children[key].sort(key=_child_order)
                    tree.crossed.add(_event_key(event))
                    between[_event_key(event)] = event
                else:
                    tree.more.add(key)
    return list(between.values())


# Beyond this many nodes a drawn lineage gets a note suggesting --depth.
_LARGE_LINEAGE = 2_000
# A tree of more lines than this, or a line wider, gets a note suggesting --depth or html.
_LONG_TREE, _WIDE_TREE = 1_000, 200
# Without --depth, a tree shows at most this many nodes (html, svg, dot: _LARGE_LINEAGE; mermaid:
# _MERMAID_NODES, whose events stay within the 500 edges Mermaid draws) unless given --whole:
# the hops nearest the start that fit.
_TREE_NODES = 1_000
_MERMAID_NODES = 300


def _fitting_depth(store: MetadataStore, ids: list[int], label: str, directions: Sequence[LineageDirection],
                   budget: int) -> tuple[int | None, str | None]:
    """The most hops each way whose lineage holds at most ``budget`` nodes (at least 1 hop),
    and a note saying so; (None, None) when the whole lineage fits. Counted from the whole
    lineage's walk, ids only (a second of Neo4j's time for 100,000 nodes)."""
    levels: dict[int, int] = {}
    for i, direction in enumerate(directions):
        left, right = q.LINEAGE_ARROWS[direction.value]
        query = q.LINEAGE_LEVELS.format(label=label, left=left, right=right)
        for record in store._read(lambda tx: list(tx.run(query, ids=ids))):
            if record["d"] > 0 or i == 0:  # the starting nodes once
                levels[record["d"]] = levels.get(record["d"], 0) + record["nodes"]
    total, deepest = sum(levels.values()), max(levels, default=0)
    if total <= budget:
        return None, None
    depth, shown, running = 1, 0, 0
    for d in sorted(levels):
        running += levels[d]
        if running > budget and d > 1:
            break
        depth, shown = max(d, 1), running
    return depth, (f"the whole lineage has {total:,} nodes, {deepest:,} hops deep: shown to --depth {depth} "
                   f"({shown:,} nodes); --depth N for more or fewer hops, --whole for all of it")

Output = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of standard output.",
                                                dir_okay=False)]


def _emit(lines: Iterable[str], output: Path | None, summary: str = "") -> None:
    """Write ``lines`` to ``output`` (a file, written whole or not at all, then reported on
    stderr with ``summary``) or standard output."""
    if output is None:  # as is: no rich markup, emoji codes or wrapping in machine formats
        for line in lines:
            write_stdout(line + "\n")
        sys.stdout.flush()
        return
    text = "".join(line + "\n" for line in lines)
    partial = output.with_name(output.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InvalidArgumentError(f"cannot write {output}: {error.strerror or error}", field="output") from error
    err.print(f"wrote {output}" + (f" ({summary})" if summary else ""), markup=False, highlight=False)


def _artifacts_named(store: MetadataStore, given: str, field: str) -> list[int]:
    """The ids of the artifacts ``given`` (an argument) names: its own when it is an id an
    artifact has, else those whose URI it is (a URI may be digits too: '12').

    Raises:
        NotFoundError: none (``field``).
    """
    if _is_id(given) and store.get_artifacts_by_id([int(given)]):
        return [int(given)]
    found = [stored_id(a) for a in store.get_artifacts_by_uri(given)]
    if not found:
        raise NotFoundError((f"no artifact with id {given} (nor with that URI)" if _is_id(given)
                             else f"no artifact has the URI {given!r}") + _named_so(store, given), field=field)
    return found


def _filter_text(text: str) -> str:
    """``text`` as a filter_query string literal."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def _named_so(store: MetadataStore, given: str) -> str:
    """For an error: the artifacts whose name is ``given`` (a name is what a user sees most,
    and is no URI), with their ids and URIs; "" when none is."""
    try:
        named = store.get_artifacts(ListOptions(filter_query=f"name = {_filter_text(given)}", max_result_size=4))
    except InvalidArgumentError:  # text no filter literal holds: no hint, the error stays as it is
        return ""
    if not named:
        return ""
    shown = "; ".join(f"artifact {a.id} ({a.type}) is named so, its URI {a.uri!r}" for a in named[:3])
    return f"; {shown}{'; ...' if len(named) > 3 else ''}: pass the id or the URI"


def _note(text: str) -> None:
    err.print(f"note: {text}", markup=False, highlight=False)


def lineage(
    node: Annotated[str, typer.Argument(metavar="NODE", help="The artifact's id or URI (with --execution: an execution id).")],
    up: Annotated[bool, typer.Option("--up", help=(
        "Upstream: what it was made from. From an artifact to the executions that output it, from "
        "an execution to the artifacts it read (input events), hop after hop."))] = False,
    down: Annotated[bool, typer.Option("--down", help=(
        "Downstream: what was made from it. From an artifact to the executions that read it, from "
        "an execution to the artifacts it output, hop after hop."))] = False,
    both: Annotated[bool, typer.Option("--both", help=(
        "Both (the default): --up and --down put together, each to --depth: ancestors and descendants. "
        "Not MLMD's BIDIRECTIONAL, which follows any event at every hop and so also reaches nodes that "
        "are neither (the baseline model a model's Evaluator read, the next run's data)."))] = False,
    depth: Annotated[Optional[int], typer.Option("--depth", min=0, help=(
        "Hops to go each way, a hop being one artifact-execution step. Default: the whole lineage, unless "
        f"it has over {_TREE_NODES:,} nodes for a tree ({_LARGE_LINEAGE:,} for a drawing, {_MERMAID_NODES} for "
        "Mermaid, which draws at most 500 edges): then the most hops "
        "that fit, with a note (json: always the whole). A node whose lineage goes on beyond it is marked "
        "'… more upstream' (or downstream; a dashed stub in html/svg)."), metavar="<int>")] = None,
    whole: Annotated[bool, typer.Option("--whole", help=(
        "The whole lineage however large (a tree of 100,000 nodes takes a minute to print).")) ] = False,
    execution: Annotated[bool, typer.Option("--execution", help="NODE is an execution id.")] = False,
    fmt: Annotated[Format, typer.Option(
        "--format", help="tree; html: a page to open in a browser (pan, zoom, click a node for its details); "
                         "svg: the drawing alone; dot/mermaid/json for other tools.")] = Format.tree,
    output: Output = None,
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None,
) -> None:
    """Print the lineage of an artifact (or execution): a tree, an HTML page, SVG, DOT, Mermaid or JSON.

    States other than LIVE (artifacts) and COMPLETE (executions) are shown in every format,
    and each edge's event type and key (INPUT base_model/0)."""
    if up + down + both > 1:
        raise typer.BadParameter("give only one of --up, --down, --both", param_hint="'--up' / '--down' / '--both'")
    if whole and depth is not None:
        raise typer.BadParameter("give --depth or --whole, not both", param_hint="'--whole'")
    directions = ([LineageDirection.UPSTREAM] if up else [LineageDirection.DOWNSTREAM] if down
                  else [LineageDirection.UPSTREAM, LineageDirection.DOWNSTREAM])
    notes: list[str] = []
    try:
        with _store(uri, user, password, database) as store:
            if execution:
                if not _is_id(node):
                    raise InvalidArgumentError(f"{node!r} is not an execution id", field="node")
                selector = NodeSelector(ids=[int(node)])
            else:
                selector = NodeSelector(ids=_artifacts_named(store, node, "node"))

            def options(direction: LineageDirection) -> LineageSubgraphQueryOptions:
                return LineageSubgraphQueryOptions(max_num_hops=depth, direction=direction,
                                                   starting_artifacts=None if execution else selector,
                                                   starting_executions=selector if execution else None)

            with err.status("reading the lineage...") as status:  # shown on a terminal only
                if depth is None and not whole and fmt is not Format.json:
                    depth, note = _fitting_depth(store, selector.ids or [], "Execution" if execution else "Artifact",
                                                 directions, {Format.tree: _TREE_NODES, Format.mermaid: _MERMAID_NODES}
                                                 .get(fmt, _LARGE_LINEAGE))
                    notes += [note] if note else []
                if fmt is Format.tree:
                    trees = [_read_tree(store.stream_lineage(options(d)), d) for d in directions]
                    _beyond_depth(store, depth, trees)  # edges between drawn nodes become references
                    lines, continued = _render(trees)
                    count = len({key for tree in trees for key in tree.nodes})
                    summary = counted(count, "node")
                    widest = max(map(len, lines), default=0)
                    if (len(lines) > _LONG_TREE or widest > _WIDE_TREE) and not notes:  # not after the depth's
                        size = (f"{len(lines):,} lines" + (f" up to {widest:,} characters wide" if widest > _WIDE_TREE
                                                           else "") + f" ({summary}"
                                + (f"; {continued:,} deep branches continue below, marked [N])" if continued else ")"))
                        # Wide but not long: a long name or uri, which fewer hops would not narrow.
                        fewer = "--depth N keeps the N hops nearest the start; " if len(lines) > _LONG_TREE else ""
                        notes.append(f"{size}, too large to read as one tree: {fewer}--format html -o FILE draws it "
                                     "to pan, zoom and search")
                else:
                    graphs = [store.get_lineage_subgraph(options(d)) for d in directions]
                    kind = "Execution" if execution else "Artifact"
                    graph, beyond = _as_drawn(store, graphs, directions, [(kind, i) for i in selector.ids or []], depth)
                    summary = (f"{counted(len(graph.artifacts), 'artifact')}, "
                               f"{counted(len(graph.executions), 'execution')}")
                    status.update(f"writing {summary} as {fmt.value}...")
                    ids = selector.ids or []
                    highlight, highlight_executions = ([], ids) if execution else (ids, [])
                    way = " and ".join(_WAY[d] for d in directions)
                    title = f"{way} lineage of {'execution' if execution else 'artifact'} {node}"
                    lines = [{
                        Format.json: lambda: _graph_json(graph),
                        Format.dot: lambda: lineage_dot(graph, **beyond),
                        Format.mermaid: lambda: lineage_mermaid(graph, **beyond),
                        Format.svg: lambda: lineage_svg(graph, title=title, highlight=highlight,
                                                        highlight_executions=highlight_executions, **beyond),
                        Format.html: lambda: lineage_html(graph, title=title, highlight=highlight,
                                                          highlight_executions=highlight_executions, **beyond),
                    }[fmt]()]
                    count = len(graph.artifacts) + len(graph.executions)
                    if fmt is Format.mermaid:
                        edges = len(re.findall(r"^  [ax]\d+ -->\|", lines[0], flags=re.M))
                        if edges > MERMAID_MAX_EDGES or len(lines[0]) > MERMAID_MAX_TEXT:
                            notes.append(
                                f"{counted(edges, 'edge')}, {len(lines[0]):,} characters: Mermaid 11 draws at most "
                                f"{MERMAID_MAX_EDGES} edges and {MERMAID_MAX_TEXT:,} characters unless the page "
                                "raises maxEdges and maxTextSize in mermaid.initialize (a diagram cannot raise "
                                "them itself): --depth N keeps the N hops nearest the start; --format html draws "
                                "any size")
                    elif fmt is not Format.json and count > _LARGE_LINEAGE and not notes:
                        notes.append(f"{count:,} nodes, too many to read as one {fmt.value}: --depth N keeps the N "
                                     "hops nearest the start")
        _emit(lines, output, summary)
        for text in notes:
            _note(text)
    except NotFoundError as error:
        if error.field in ("starting_artifacts", "starting_executions") and _is_id(node):  # the id names no node of that kind
            fail(NotFoundError(f"no {'execution' if execution else 'artifact'} with id {node}", field="node"))
        fail(error)
    except GraphmdError as error:
        fail(error)


# --- listing ------------------------------------------------------------------------------


def _value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _graph_json(graph: LineageGraph) -> str:
    """``graph`` as `lineage --format json` prints it. pydantic writes it ~10x faster than
    json_text (a 20,000-node graph: 0.13 s against 1.35 s) but writes NaN and infinities as
    null, so json_text writes a graph holding one."""
    nodes: list[Artifact | Execution | Context] = [*graph.artifacts, *graph.executions, *graph.contexts]
    if any(codec.holds_non_finite(values) for n in nodes for values in (n.properties, n.custom_properties)):
        return json_text(graph.model_dump(mode="json", exclude_none=True))
    return graph.model_dump_json(indent=2, exclude_none=True)


def _print_nodes(nodes: list[Any], fmt: ListFormat) -> None:
    if fmt is ListFormat.json:
        print_json([n.model_dump(mode="json", exclude_none=True) for n in nodes])
        return
    print_table(_node_table(nodes))


def _print_pages(pages: Iterator[list[Any]], fmt: ListFormat) -> None:
    """A listing read page by page, written as each page comes (not on a terminal, where a
    table is laid out whole): JSON as print_json writes the whole list; a table a header,
    then each page's rows with its columns as wide as that page's widest cells. Held whole,
    a listing of 70,926 artifacts took 354 MB (466 MB as JSON) and printed nothing for 10 s."""
    write = write_stdout
    first = True
    for page in pages:
        if fmt is ListFormat.json:
            for n in page:
                write(("[\n" if first else ",\n") + textwrap.indent(json_text(n.model_dump(mode="json", exclude_none=True)), "  "))
                first = False
        else:
            lines = table_lines(_node_table(page))
            write("\n".join(lines if first else lines[1:]) + "\n")
            first = False
        sys.stdout.flush()
    if fmt is ListFormat.json:
        write("[]\n" if first else "\n]\n")
        sys.stdout.flush()


def _node_table(nodes: list[Any]) -> Any:
    listing = table("id", "type", "name", "uri/state", "properties")
    for n in nodes:
        where = getattr(n, "uri", None) or ""
        state = getattr(n, "state", None) or getattr(n, "last_known_state", None)
        # Custom properties after the word "custom:": one may share a declared property's name.
        extra = " ".join([*(f"{k}={_value(v)}" for k, v in n.properties.items()),
                          *(["custom:"] if n.custom_properties else []),
                          *(f"{k}={_value(v)}" for k, v in n.custom_properties.items())])
        listing.add_row(str(n.id), n.type or "", n.name or "",
                        " ".join(filter(None, [where, state.value if state else ""])), extra)
    return listing


# A listing's default size: a terminal's worth, where a store of 70,000 artifacts listed
# whole took half a minute to print; a note on stderr says when there are more.
DEFAULT_LIMIT = 100
Limit = Annotated[Optional[int], typer.Option("--limit", min=1, help=f"At most this many (default {DEFAULT_LIMIT}; under the default, a note on stderr when there are more).", metavar="<int>")]
Everything = Annotated[bool, typer.Option("--all", help="Every one, however many (instead of --limit).")]
Newest = Annotated[bool, typer.Option("--newest", help="Newest first (by creation time, then id), not oldest.")]
Changed = Annotated[bool, typer.Option("--changed", help=(
    "Most recently changed first (by last update time, then id): a state set, a property updated."))]
Filter = Annotated[Optional[str], typer.Option("--filter", help="MLMD filter_query, e.g. \"name LIKE 'run-0005%'\" or \"properties.span.int_value > 3\" (its syntax: docs/filter_query.md in graphmd's repository).")]
TypeName = Annotated[Optional[str], typer.Option("--type", help="Only this type.")]
InContext = Annotated[Optional[str], typer.Option("--context", help=(
    "Only those in this context: its id, or its name (a run's, say) when one context has it."))]
ListFmt = Annotated[ListFormat, typer.Option("--format", help="table or json.")]


def _list(cls: type[AnyNode], type_name: str | None, context: str | None, filter_query: str | None, limit: int | None,
          everything: bool, newest: bool, changed: bool, fmt: ListFormat, uri: str | None, user: str | None,
          password: str | None, database: str | None) -> None:
    if everything and limit is not None:
        raise typer.BadParameter("give --limit or --all, not both", param_hint="'--all'")
    if newest and changed:
        raise typer.BadParameter("give --newest or --changed, not both", param_hint="'--changed'")
    order_by = OrderBy.LAST_UPDATE_TIME if changed else OrderBy.CREATE_TIME if newest else OrderBy.ID
    wanted = None if everything else (limit or DEFAULT_LIMIT)
    try:
        with _store(uri, user, password, database) as store:
            context_id = None if context is None else _context_id(store, context)
            # Under the default limit, one more than wanted says whether there are more
            # (without counting them all); a limit given is what the caller wants, no note.
            defaulted = not everything and limit is None
            if (wanted is None or wanted > _STREAMED_PAGE) and (fmt is ListFormat.json or not out.is_terminal):
                pages = _pages(store, cls, ListOptions(filter_query=filter_query, max_result_size=_STREAMED_PAGE,
                                                       order_by=order_by, is_asc=order_by is OrderBy.ID),
                               type_name, context_id, wanted)
                first = next(pages)
                if not first:
                    _check_named(store, cls, type_name, context_id)
                _print_pages(itertools.chain([first], pages), fmt)
                return
            options = ListOptions(filter_query=filter_query, max_result_size=DEFAULT_LIMIT + 1 if defaulted else wanted,
                                  order_by=order_by, is_asc=order_by is OrderBy.ID)
            items = store.list_page(cls, options, type_name=type_name, context_id=context_id).items
            if not items:
                _check_named(store, cls, type_name, context_id)
    except GraphmdError as error:
        fail(error)
    more = defaulted and len(items) > DEFAULT_LIMIT
    _print_nodes(items[:wanted], fmt)
    if more:
        kind = {Artifact: "artifacts", Execution: "executions", Context: "contexts"}[cls]
        which = {OrderBy.ID: "first", OrderBy.CREATE_TIME: "newest", OrderBy.LAST_UPDATE_TIME: "most recently changed"}
        err.print(f"the {which[order_by]} {wanted:,} {kind} shown; there are more: --limit N for more, --all for "
                  "every one" + (", --newest for the newest" if order_by is OrderBy.ID else ""),
                  markup=False, highlight=False)


# --all (or a --limit above it) is read and written this many nodes at a time.
_STREAMED_PAGE = 1_000


def _pages(store: MetadataStore, cls: type[AnyNode], options: ListOptions, type_name: str | None,
           context_id: int | None, wanted: int | None) -> Iterator[list[Any]]:
    """The listing's pages, the first one even when empty, up to ``wanted`` nodes (None: all)."""
    left = wanted
    while True:
        page = store.list_page(cls, options, type_name=type_name, context_id=context_id)
        items = page.items if left is None else page.items[:left]
        yield items
        if left is not None:
            left -= len(items)
        if not page.next_page_token or left == 0:
            return
        options = options.model_copy(update={"next_page_token": page.next_page_token})


def _context_id(store: MetadataStore, given: str) -> int:
    """--context as an id: digits are one when a context has that id; else the id of the one
    context so named (a run named 20261204 is found by its name).

    Raises:
        NotFoundError: no context has the id or name.
        InvalidArgumentError: contexts of several types have it (each named with its id).
    """
    if _is_id(given) and (int(given) >= 2**63 or store.get_contexts_by_id([int(given)])):
        return int(given)
    named = store.get_contexts(ListOptions(filter_query=f"name = {json.dumps(given, ensure_ascii=False)}",
                                           max_result_size=20))  # not ASCII-escaped: no surrogate pairs
    if not named:
        what = f"with id or name {given!r}" if _is_id(given) else f"named {given!r}"
        raise NotFoundError(f"no context {what} (graphmd contexts lists them)", field="context")
    if len(named) > 1:
        raise InvalidArgumentError(f"{len(named)} contexts are named {given!r}: give one of their ids ("
                                   + ", ".join(f"{c.type} {c.id}" for c in named) + ")", field="context")
    return named[0].id or 0


def _check_named(store: MetadataStore, cls: type[AnyNode], type_name: str | None, context: int | None) -> None:
    """Raise NotFoundError when the --type or --context an empty listing was asked for does
    not exist: an empty table would read as 'none of them'."""
    if type_name is not None:
        get_type: dict[type[AnyNode], Callable[[str], AnyType]] = {
            Artifact: store.get_artifact_type, Execution: store.get_execution_type, Context: store.get_context_type}
        get_type[cls](type_name)
    if context is not None and not store.get_contexts_by_id([context]):
        raise NotFoundError(f"no context with id {context} (graphmd contexts lists them)", field="context")


def artifacts(type_name: TypeName = None, context: InContext = None, filter_query: Filter = None, limit: Limit = None,
              everything: Everything = False, newest: Newest = False, changed: Changed = False,
              fmt: ListFmt = ListFormat.table, uri: Uri = None, user: User = None, password: Password = None,
              database: Database = None) -> None:
    """List artifacts, oldest first (by id), newest first, or most recently changed first."""
    _list(Artifact, type_name, context, filter_query, limit, everything, newest, changed, fmt, uri, user, password,
          database)


def executions(type_name: TypeName = None, context: InContext = None, filter_query: Filter = None, limit: Limit = None,
               everything: Everything = False, newest: Newest = False, changed: Changed = False,
               fmt: ListFmt = ListFormat.table, uri: Uri = None, user: User = None, password: Password = None,
               database: Database = None) -> None:
    """List executions, oldest first (by id), newest first, or most recently changed first."""
    _list(Execution, type_name, context, filter_query, limit, everything, newest, changed, fmt, uri, user, password,
          database)


def contexts(type_name: TypeName = None, filter_query: Filter = None, limit: Limit = None,
             everything: Everything = False, newest: Newest = False, changed: Changed = False,
             fmt: ListFmt = ListFormat.table, uri: Uri = None, user: User = None, password: Password = None,
             database: Database = None) -> None:
    """List contexts, oldest first (by id), newest first, or most recently changed first."""
    _list(Context, type_name, None, filter_query, limit, everything, newest, changed, fmt, uri, user, password,
          database)


def info(fmt: ListFmt = ListFormat.table, uri: Uri = None, user: User = None, password: Password = None,
         database: Database = None) -> None:
    """Where graphmd connects and what it finds: the Neo4j server, the schema, the store's counts."""
    from .._export import describe_unfinished_import, unfinished_import

    note = unfinished = None
    try:
        with _store(uri, user, password, database, warn_of_unfinished_import=False) as store:
            state = read_schema_state(store.driver, store.database)
            counts = store.counts()
            settings = store.settings
            unfinished = unfinished_import(store)
    except FailedPreconditionError as error:
        if error.field != "schema_version":
            fail(error)
        # A newer graphmd's store: MetadataStore refuses to write into it, but what it holds
        # is still worth reporting (that is what info is for).
        note = error.message
        settings = resolve_settings(uri, user, password, database)
        try:
            with map_driver_errors(settings.uri), open_driver(settings) as driver:
                state = read_schema_state(driver, settings.database)
                with driver.session(database=settings.database) as session:
                    counts = session.execute_read(count_kinds)
                    found = session.execute_read(lambda tx: tx.run(q.IMPORT_STATES).single())
                    unfinished = describe_unfinished_import(found.data() if found else {})
        except GraphmdError as unreadable:
            fail(unreadable)
    except GraphmdError as error:
        fail(error)
    data = {
        "graphmd": __version__, "uri": settings.uri, "user": settings.user, "database": settings.database,
        "settings_from": settings.source, "sources": settings.sources, "server": state.server,
        "schema_version": state.schema_version, "schema_compatible_from": state.compatible_from,
        "schema_version_written": SCHEMA_VERSION, "indexes": state.indexes, "indexes_not_online": state.not_online,
        "counts": counts,
    }
    if note:
        data["note"] = note
    if unfinished:
        data["unfinished_import"] = unfinished
    if fmt is ListFormat.json:
        print_json(data)
        return
    oldest_user = None if state.compatible_from is None else max(state.compatible_from, READS_COMPATIBLE_FROM)
    compatible = ("" if oldest_user is None or state.schema_version is None or oldest_user >= state.schema_version
                  else f", usable by graphmd of version {oldest_user} and later")
    indexes = (f"{state.indexes} indexes and constraints, all ONLINE" if not state.not_online
               else f"{state.indexes} indexes and constraints; not ONLINE: {', '.join(state.not_online)}")
    lines = [
        f"graphmd {__version__}",
        f"Neo4j:    {settings.uri} as {settings.user}, database {settings.database or '(server default)'} "
        f"({settings.described()})",
        f"server:   {state.server}",
        f"schema:   version {state.schema_version}{compatible} (this graphmd writes {SCHEMA_VERSION}); {indexes}",
        "store:    " + ", ".join(count_of(n, kind) for kind, n in counts.items()),
        f"          (the types include MLMD's {sum(map(len, SIMPLE_TYPES.values()))} system types, mlmd.Dataset "
        "and the like, which `graphmd types` leaves out)",
    ]
    if note:
        lines.append(f"note:     {note}")
    if unfinished:
        lines.append(f"warning:  {unfinished}")
    for line in lines:
        out.print(line, markup=False)


def types(fmt: ListFmt = ListFormat.table, uri: Uri = None, user: User = None, password: Password = None,
          database: Database = None) -> None:
    """List artifact, execution and context types with their properties."""
    try:
        with _store(uri, user, password, database) as store:
            found = [("artifact", t) for t in store.get_artifact_types()] + [
                ("execution", t) for t in store.get_execution_types()] + [("context", t) for t in store.get_context_types()]
    except GraphmdError as error:
        fail(error)
    if fmt is ListFormat.json:
        print_json([{"kind": k, **t.model_dump(mode="json", exclude_none=True)} for k, t in found])
        return
    listing = table("kind", "id", "name", "version", "base type", "properties")
    for kind, t in found:
        base = getattr(t, "base_type", None)
        listing.add_row(kind, str(t.id), t.name, t.version or "", base.value if base else "",
                        " ".join(f"{n}:{p.value}" for n, p in t.properties.items()))
    print_table(listing)


_SHOWN_MEMBERS = 100  # a context's artifacts and executions `show` lists


def show(kind: Annotated[Kind, typer.Argument(metavar="KIND", help="artifact, execution or context",
                                              case_sensitive=False)],
         given_id: Annotated[str, typer.Argument(metavar="ID", help="Its id; a context's may be its name, when one "
                                                 "context has it (run-0005).")],
         uri: Uri = None, user: User = None, password: Password = None, database: Database = None) -> None:
    """Show one node in full (JSON) with its events and contexts; a context with its parents,
    children, and first 100 artifacts and executions (and how many it holds)."""
    if kind is not Kind.context and not _is_id(given_id):  # a usage mistake (exit 2)
        raise typer.BadParameter(f"{given_id!r} is not an id: {kind.value}s are shown by id (an integer); "
                                 f"`graphmd {kind.value}s --filter \"name = {_filter_text(given_id)}\"` finds one "
                                 "by name", param_hint="'ID'")
    try:
        with _store(uri, user, password, database) as store:
            node_id = _context_id(store, given_id) if kind is Kind.context else int(given_id)
            get: dict[Kind, Callable[[Iterable[int]], Sequence[AnyNode]]] = {
                Kind.artifact: store.get_artifacts_by_id, Kind.execution: store.get_executions_by_id,
                Kind.context: store.get_contexts_by_id}
            found = get[kind]([node_id])
            if not found:
                raise NotFoundError(f"no {kind.value} with id {node_id}", field="node_id")
            data: dict[str, Any] = found[0].model_dump(mode="json", exclude_none=True)
            if kind is Kind.artifact:
                data["events"] = [e.model_dump(mode="json") for e in store.get_events_by_artifact_ids([node_id])]
                data["contexts"] = [c.name for c in store.get_contexts_by_artifact(node_id)]
            elif kind is Kind.execution:
                data["events"] = [e.model_dump(mode="json") for e in store.get_events_by_execution_ids([node_id])]
                data["contexts"] = [c.name for c in store.get_contexts_by_execution(node_id)]
            else:
                data["parents"] = [c.name for c in store.get_parent_contexts_by_context(node_id)]
                data["children"] = [c.name for c in store.get_children_contexts_by_context(node_id)]
                first = ListOptions(max_result_size=_SHOWN_MEMBERS)
                held = store._read(lambda tx: tx.run(q.CONTEXT_MEMBER_COUNTS, id=node_id).single(strict=True))
                for key, page in (("artifacts", store.list_page(Artifact, first, context_id=node_id)),
                                  ("executions", store.list_page(Execution, first, context_id=node_id))):
                    data[key] = [{k: v for k, v in (("id", n.id), ("type", n.type), ("name", n.name),
                                                    ("uri", getattr(n, "uri", None))) if v is not None}
                                 for n in page.items]
                    data[f"{key}_count"] = held[key]
                    if page.next_page_token:
                        data[f"more_{key}"] = (f"the first {_SHOWN_MEMBERS:,} of {held[key]:,} are shown: `graphmd "
                                               f"{key} --context {node_id} --all` lists them all")
    except GraphmdError as error:
        fail(error)
    print_json(data)


def _parse_param(text: str) -> tuple[str, str]:
    """NAME=VALUE split at its first '='; VALUE as written (see _param_value)."""
    if "=" not in text:
        raise typer.BadParameter(f"{text!r}: write NAME=VALUE")
    name, raw = text.split("=", 1)
    return name, raw


def _param_value(query_name: str, parameter: str, raw: str) -> Any:
    """A -p VALUE: JSON; else a list or map with single-quoted strings, as the files' headers
    and Python write them (``['run-1', 'run-2']``); else text. For a parameter the header shows
    as text (``'run-0007'``) a number or true/false stays the text it is written as: a run
    named 123."""
    if re.fullmatch(r"'.*'", examples(query_name).get(parameter, "")):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        return value if isinstance(value, str) or value is None else raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        pass
    if raw.startswith(("[", "{")):
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return raw


def query(name: Annotated[Optional[str], typer.Argument(metavar="NAME", help="A query of cypher/ (omit to list them).")] = None,
          param: Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=VALUE",
                                                          help="A parameter, repeatable; VALUE is JSON, else a Python literal list or map (runs=['run-1', 'run-2']), else text.")] = None,
          uri: Uri = None, user: User = None, password: Password = None, database: Database = None) -> None:
    """Run one of graphmd's Cypher queries (lineage and the TFX questions) and print its rows."""
    if name is None:
        for n in names():
            # Its first sentence: up to a full stop before a capital ("e.g. 'Trainer #42'" goes on).
            first = re.split(r"\.\s+(?=[A-Z])", " ".join(description(n).split()))[0].rstrip(".")
            out.print(f"{n}({', '.join(parameters(n))}): {first}.", markup=False)
        # A pip install keeps them in site-packages: say where, for Browser and cypher-shell.
        err.print(f"files: {cypher_dir()} (NAME.cypher; graphmd.grass styles Neo4j Browser)", markup=False,
                  highlight=False)
        return
    written = dict(_parse_param(p) for p in param or [])
    try:
        wanted = parameters(name)
        given = {p: _param_value(name, p, raw) for p, raw in written.items()}
        # What the Python helpers default to (a scope left out is none: every context).
        given = {**{p: v for p, v in _WHEN_LEFT_OUT.items() if p in wanted}, **given}
        extra = sorted(set(given) - set(wanted))
        if extra:  # a usage mistake (exit 2), as click says an option it does not know
            raise typer.BadParameter(f"query {name!r} has no parameter {extra[0]!r} (it takes "
                                     f"{', '.join(wanted) or 'none'})", param_hint="'--param' / '-p'")
        missing = [p for p in wanted if p not in given]
        if missing:  # a usage mistake too (exit 2)
            what = explain(name, missing[0])
            raise typer.BadParameter(
                f"query {name!r} needs parameter {missing[0]!r}" + (f" ({what})" if what else "")
                + f", e.g. -p {missing[0]}={_cli_value(examples(name).get(missing[0], 'VALUE'))}",
                param_hint="'--param' / '-p'")
        # A context by name, as --context takes one elsewhere: its id once connected.
        context_name = given.get("context_id") if isinstance(given.get("context_id"), str) else None
        try:
            # Each value of the kind the query compares it with.
            statement(name, {**given, "context_id": 0} if context_name is not None else given)
        except InvalidArgumentError as error:  # a usage mistake (exit 2), said before connecting
            example = examples(name).get(error.field or "")
            hint = (f" (on the command line: -p {error.field}={_cli_value(example)})"
                    if example is not None and example != "null" else "")
            raise typer.BadParameter(error.message + hint, param_hint="'--param' / '-p'") from error
        with _store(uri, user, password, database) as store:
            if context_name is not None:
                try:
                    found = _context_id(store, context_name)
                except (NotFoundError, InvalidArgumentError) as error:  # none, or several: said as check_names says
                    raise type(error)(f"query {name!r}: context_id: {error.message}", field="context_id") from None
                given = {**given, "context_id": found}
            rows = run_query(store, name, **given)  # a misspelt name or a wrong id is said, not a row less
            if not rows and name == "what_can_be_reused":  # a lookup that can never hit is no cache miss
                check_lookup_properties(store, given["type_name"], given["properties"], custom_hint=(
                    "a custom property? the file compares declared properties only; find_cached_execution "
                    "also takes custom_properties"))
            not_models = _not_models(store, {p: given[p] for p in ("model_id", "model_a", "model_b") if p in given})
    except GraphmdError as error:
        fail(error)
    print_json(rows, default=_json_default)
    for text in not_models:
        _note(text)
    if not rows:
        reason = no_rows_reason(name) or "each parameter names something in the store; the query has no answer for it"
        err.print(f"no rows for {', '.join(f'{k}={json.dumps(v)}' for k, v in given.items()) or 'these parameters'}: "
                  f"{reason}", markup=False)


def _not_models(store: MetadataStore, given: dict[str, Any]) -> list[str]:
    """Notes for the artifacts ``given`` as models (model_id=292) that are not: their type
    neither has base_type MODEL nor is named Model (TFX's, KFP's system.Model). The queries
    answer for any artifact (an Examples' "hyperparameters" are its producer's settings), which
    reads as an answer about a model."""
    ids = [v for v in given.values() if isinstance(v, int)]
    artifacts = {a.id: a for a in store.get_artifacts_by_id(ids)} if ids else {}
    types = {t.id: t for t in store.get_artifact_types_by_id({a.type_id for a in artifacts.values()
                                                               if a.type_id is not None})}
    notes = []
    for parameter, value in given.items():
        artifact = artifacts.get(value)
        kind = types.get(artifact.type_id) if artifact is not None and artifact.type_id is not None else None
        if kind is None or kind.base_type is ArtifactBaseType.MODEL or kind.name.split(".")[-1].endswith("Model"):
            continue
        notes.append(f"{parameter}={value} is an artifact of type {kind.name}, not a model (its type is not named Model nor has "
                     "base_type MODEL): the answer is about that artifact")
    return notes


# Parameters `graphmd query` takes when not given, as the Python helpers default them
# (latest_blessed_model): a context a query may be narrowed to, TFX's type names.
_WHEN_LEFT_OUT: dict[str, Any] = {"context_id": None, "model_type": "Model", "blessing_type": "ModelBlessing"}


def _cli_value(example: str) -> str:
    """A header's Cypher example value (``'run-0007'``, ``{learning_rate: 0.01}``) as -p takes it."""
    if example.startswith("'") and example.endswith("'"):
        return example[1:-1]
    if example.startswith(("[", "{")):  # JSON: double quotes, quoted keys; quoted for the shell
        text = re.sub(r"([{,]\s*)([A-Za-z_]\w*)\s*:", r'\1"\2":', example.replace("'", '"'))
        return f"'{text}'"
    return example


def _json_default(value: Any) -> Any:
    """What run_query's rows hold beyond JSON: a UTC time as cypher-shell and Browser print
    it (2026-12-07T09:37:26.720Z)."""
    if isinstance(value, datetime.datetime) and value.utcoffset() == datetime.timedelta(0):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def compare(runs: Annotated[list[str], typer.Argument(metavar="RUN", help="Run context names.")],
            run_type: Annotated[Optional[str], typer.Option(
                "--run-type", help="The runs' context type (default: the first of PipelineRun, TFX's pipeline_run and "
                                   "Kubeflow's system.PipelineRun that the first run is of).")] = None,
            fmt: ListFmt = ListFormat.table,
            output: Output = None,
            uri: Uri = None, user: User = None, password: Password = None, database: Database = None) -> None:
    """Compare runs side by side: execution properties and custom properties, and metrics;
    '*' marks differences."""
    try:
        with _store(uri, user, password, database) as store:
            comparison = compare_runs(store, runs, run_type=run_type)
        summary = counted(len(runs), "run")
        if fmt is ListFormat.json:
            if output is None:
                print_json(comparison.to_dict())
            else:
                _emit([json_text(comparison.to_dict())], output, summary)
            return
        header, *rows = comparison.table()
        if not rows:
            out.print(f"no properties to compare: the executions of {', '.join(runs)} have none (nor custom ones), "
                      "and no METRICS artifact has any", markup=False)
            return
        side_by_side = table(*header)
        for row in rows:  # to a file as piped: one line per row, nothing cut
            side_by_side.add_row(*(row if output is None else [as_piped(cell) for cell in row]))
        if output is None:
            print_table(side_by_side)
        else:
            _emit(table_lines(side_by_side), output, summary)
    except GraphmdError as error:
        fail(error)



def _node_summary(node: Artifact | Execution) -> str:
    """A node named in a line of text: control characters escaped, as in tables."""
    name = f" {node.name}" if node.name else ""
    where = f" ({node.uri})" if isinstance(node, Artifact) and node.uri and not node.name else ""
    return as_piped(f"{node.type} #{node.id}{name}{where}")


class DiffFormat(str, enum.Enum):
    table = "table"
    json = "json"
    html = "html"
    svg = "svg"


# Fills of the nodes only one compared artifact's lineage has: A, B, C, ...
_SIDE_TINTS = ("#ffd8a8", "#d0bfff", "#ffc9c9", "#a5d8ff", "#fff3bf", "#c3fae8")


def diff(artifacts: Annotated[list[str], typer.Argument(metavar="ARTIFACT", help="Two or more artifact ids or URIs (a model each, say).")],
         depth: Annotated[Optional[int], typer.Option("--depth", min=0, help=(
             "Hops upstream (default: no limit; html/svg draw at most the hops whose "
             f"{_LARGE_LINEAGE:,} nodes fit, with a note, unless given --whole)."), metavar="<int>")] = None,
         whole: Annotated[bool, typer.Option("--whole", help="html/svg: draw the whole lineages however large.")
                          ] = False,
         fmt: Annotated[DiffFormat, typer.Option(
             "--format", help="table or json; html/svg: both lineages drawn, what only one has tinted.")] = DiffFormat.table,
         output: Output = None,
         uri: Uri = None, user: User = None, password: Password = None, database: Database = None) -> None:
    """Compare how artifacts were made: shared and differing upstream nodes, and the properties
    and custom properties of each lineage's nearest execution of each type; '*' marks differences."""
    if len(artifacts) < 2:
        raise typer.BadParameter("compare at least two artifacts (ids or URIs)", param_hint="ARTIFACT")
    if whole and depth is not None:
        raise typer.BadParameter("give --depth or --whole, not both", param_hint="'--whole'")
    try:
        with _store(uri, user, password, database) as store:
            ids = []
            for given in artifacts:
                found = _artifacts_named(store, given, "artifacts")
                if len(found) != 1:
                    raise InvalidArgumentError(f"{len(found)} artifacts have the URI {given!r}: give one of their ids "
                                               f"({', '.join(map(str, found))})", field="artifacts")
                ids.append(found[0])
            # Whole lineages by default (seconds on a big history): said while it works, on a terminal.
            with err.status(f"comparing the lineages of {counted(len(ids), 'artifact')}..."):
                comparison = compare_lineage(store, ids, max_hops=depth)
            letters = [chr(ord("A") + i) if i < 26 else str(i) for i in range(len(comparison.artifacts))]
            if fmt in (DiffFormat.html, DiffFormat.svg):
                drawn, note = depth, None
                if depth is None and not whole:  # as graphmd lineage: a drawing that can be read
                    drawn, note = _fitting_depth(store, ids, "Artifact", [LineageDirection.UPSTREAM], _LARGE_LINEAGE)
                graph, beyond = _as_drawn(store, [store.get_lineage_subgraph(LineageSubgraphQueryOptions(
                    starting_artifacts=NodeSelector(ids=ids), direction=LineageDirection.UPSTREAM,
                    max_num_hops=drawn))], [LineageDirection.UPSTREAM], [("Artifact", i) for i in ids], drawn)
                tint = {(type(n).__name__.lower(), n.id or 0): _SIDE_TINTS[i % len(_SIDE_TINTS)]
                        for i, nodes in enumerate(comparison.only) for n in nodes
                        if not (isinstance(n, Artifact) and n.id in ids)}  # the compared ones: heavy border
                legend = [(f"only {letter}: {a.type} #{a.id}", _SIDE_TINTS[i % len(_SIDE_TINTS)])
                          for i, (letter, a) in enumerate(zip(letters, comparison.artifacts, strict=True))]
                title = "how " + " and ".join(f"{a.type} #{a.id}" for a in comparison.artifacts) + " were made"
                text = (lineage_html(graph, highlight=ids, title=title, tint=tint, legend=legend, **beyond)
                        if fmt is DiffFormat.html else lineage_svg(graph, highlight=ids, title=title, tint=tint,
                                                                   **beyond))
                _emit([text], output, f"{counted(len(graph.artifacts), 'artifact')}, "
                                      f"{counted(len(graph.executions), 'execution')}")
                if note:
                    _note(note.replace("shown to", "drawn to"))
                return
    except GraphmdError as error:
        fail(error)
    try:
        if fmt is DiffFormat.json:
            def dump(nodes: Iterable[Artifact | Execution]) -> list[dict[str, Any]]:
                return [{"kind": type(n).__name__, **n.model_dump(mode="json", exclude_none=True)} for n in nodes]

            _emit([json_text({
                "artifacts": dump(comparison.artifacts), "shared": dump(comparison.shared),
                "only": [dump(nodes) for nodes in comparison.only],
                "parameters": [p.to_dict() for p in comparison.parameters]})], output)
            return
        lines = [f"how these were made (upstream lineage, {'all hops' if depth is None else counted(depth, 'hop')}):"]
        lines += [f"  {letter}  {_node_summary(artifact)}" for letter, artifact in
                  zip(letters, comparison.artifacts, strict=True)]

        def kinds(nodes: list[Artifact | Execution]) -> str:
            artifacts_n = sum(isinstance(n, Artifact) for n in nodes)
            return f"{counted(artifacts_n, 'artifact')}, {counted(len(nodes) - artifacts_n, 'execution')}"

        lines.append(f"shared: {kinds(comparison.shared)}")
        # A compared artifact upstream of another (a warm start's base model, say) is named so.
        letter_of = {a.id: letter for letter, a in zip(letters, comparison.artifacts, strict=True)}
        for letter, nodes in zip(letters, comparison.only, strict=True):
            shown = [_node_summary(n) + (f" (= {letter_of[n.id]})" if n.id in letter_of else "")
                     for n in nodes if isinstance(n, Artifact)][:8]
            more = "" if len(shown) == sum(isinstance(n, Artifact) for n in nodes) else ", ..."
            lines.append(f"only {letter}: {kinds(nodes)}" + (f"; artifacts: {', '.join(shown)}{more}" if shown else ""))
        header, *rows = comparison.table()
        side_by_side = table("", "field", *letters)
        for row in rows:
            side_by_side.add_row(*row)
        if not rows:
            lines.append("no execution properties upstream to compare")
        elif output is not None or not out.is_terminal:
            lines += table_lines(side_by_side)
        _emit(lines, output)
        if rows and output is None and out.is_terminal:
            print_table(side_by_side)  # fitted to the terminal
    except GraphmdError as error:
        fail(error)
