"""Lineage traversal: MLMD's GetLineageSubgraph and GetLineageGraph as one Cypher statement.

MLMD walks the lineage hop by hop, one round of SQL per hop. Here each call is one
statement: a breadth-first variable-length expansion from the starting nodes that yields
each reached node with its distance in hops, then the events, contexts and types of the
result (graphmd._queries, "lineage"). The semantics are MLMD's
(RDBMSMetadataAccessObject::QueryLineageSubgraph and QueryLineageGraph):

- A hop is one artifact-execution step; ``max_num_hops`` 0 returns the starting nodes.
- UPSTREAM crosses output events from an artifact and input events from an execution,
  DOWNSTREAM the reverse, BIDIRECTIONAL any event.
- Ending nodes are reached but never expanded; they, and the events to them, are returned
  only with ``include_ending_nodes``. A starting node that is an ending node is not
  expanded either.
- The events returned are those the traversal crosses: both ends returned, and one end
  an expanded node (returned, not ending, nearer than ``max_num_hops``) the traversal
  leaves over the event.
- Contexts are those of the returned nodes; attributions and associations are all those
  of the returned artifacts and executions; types are those of the returned nodes.

graphmd adds: starting and ending nodes by ids and type names as well as filters; both
starting kinds at once; no cap on hops (None: unlimited) or on starting nodes; streamed
steps (:func:`stream_lineage`) and shortest paths (:func:`lineage_paths`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import operator
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import neo4j

from . import _codec as codec
from . import _queries as q
from ._errors import InvalidArgumentError, NotFoundError, kind_of, map_driver_errors
from ._filter import compile_filter
from ._models import (
    Artifact,
    Association,
    Attribution,
    Context,
    EndingNodes,
    Event,
    Execution,
    LineageDirection,
    LineageGraph,
    LineageGraphQueryOptions,
    LineagePath,
    LineageStep,
    LineageSubgraphQueryOptions,
    NodeSelector,
)

if TYPE_CHECKING:
    from ._store import MetadataStore

__all__ = ["LINEAGE_GRAPH_FIELDS", "get_lineage_subgraph", "get_lineage_graph", "stream_lineage", "lineage_paths"]

# MLMD's read mask paths: the fields of LineageGraph.
LINEAGE_GRAPH_FIELDS = (
    "artifacts",
    "executions",
    "contexts",
    "artifact_types",
    "execution_types",
    "context_types",
    "events",
    "attributions",
    "associations",
)

_NODE_CLASS: dict[str, type[Artifact] | type[Execution]] = {"Artifact": Artifact, "Execution": Execution}
T = TypeVar("T")  # what a consumer of a statement's rows makes of them (_read_rows)
# Sort keys of _assemble's keyed rows: the leading fields, never the model.
_SORT_KEY2 = operator.itemgetter(0, 1)
_SORT_KEY3 = operator.itemgetter(0, 1, 2)


@dataclasses.dataclass
class _Statement:
    """A lineage statement being assembled: its text parts and parameters."""

    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    id_sets: list[str] = dataclasses.field(default_factory=list)
    id_set_names: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    counter: int = 0

    def param(self, value: Any) -> str:
        self.counter += 1
        name = f"lin{self.counter}"
        self.params[name] = value
        return "$" + name

    def filter(self, expression: str, label: str, var: str, field: str) -> tuple[str, str]:
        """``expression`` compiled for ``var``: (match clauses, where), parameters renamed
        so several filters can share the statement."""
        compiled = compile_filter(expression, label, var, field=field)
        self.counter += 1
        prefix = f"f{self.counter}_"
        renames = {name: prefix + name for name in compiled.params}

        def rename(text: str) -> str:
            if not renames:
                return text
            pattern = re.compile(r"\$(" + "|".join(re.escape(n) for n in sorted(renames, key=len, reverse=True)) + r")(?!\w)")
            return pattern.sub(lambda m: "$" + renames[m.group(1)], text)

        for name, value in compiled.params.items():
            self.params[renames[name]] = value
        match = "".join(rename(clause) + "\n" for clause in compiled.match_clauses)
        return match, rename(compiled.where)

    def node_condition(self, selector: NodeSelector, label: str, var: str, filter_field: str) -> str:
        """A predicate on ``var`` (already known to carry ``label``) for a selector, whose
        filter_query errors name ``filter_field``. A filter that needs other nodes
        (contexts_a.name, ...) is evaluated once over the label into an id set; a filter on
        the node's own fields is inlined."""
        parts: list[str] = []
        if selector.ids is not None:
            parts.append(f"{var}.id IN {self.param(list(selector.ids))}")
        if selector.types is not None:
            parts.append(f"{var}.type IN {self.param(list(selector.types))}")
        if selector.filter_query == "":
            parts.append("true")  # an empty filter selects every node, as in MLMD's ending nodes
        elif selector.filter_query:
            key = (label, selector.filter_query)
            if key not in self.id_set_names:
                match, where = self.filter(selector.filter_query, label, var, filter_field)
                if not match:
                    parts.append(f"({where})")
                    return " AND ".join(parts)
                set_name = f"ids{self.counter}"
                match_n, where_n = self.filter(selector.filter_query, label, "n", filter_field)
                self.id_sets.append(q.LINEAGE_ID_SET.format(label=label, match=match_n, where=where_n, name=set_name))
                self.id_set_names[key] = set_name
            parts.append(f"{var}.id IN {self.id_set_names[key]}")
        return " AND ".join(parts) if parts else "false"


def _check_starting(selector: NodeSelector | None, field: str) -> None:
    """MLMD refuses starting nodes without a filter_query; graphmd also takes ids or types."""
    if selector is None:
        return
    if not (selector.filter_query or "").strip() and selector.ids is None and selector.types is None:
        raise InvalidArgumentError(f"{field}: give a filter_query, ids or types to select the starting nodes",
                                   field=f"{field}.filter_query")
    for i, node_id in enumerate(selector.ids or ()):
        codec.check_int64(node_id, f"{field}.ids[{i}]")


def _check_hops(max_num_hops: int | None, field: str) -> None:
    if max_num_hops is not None and max_num_hops < 0:
        raise InvalidArgumentError(f"{field} cannot be negative: {max_num_hops}", field=field)
    codec.check_int64(max_num_hops, field)


def _kinds_condition(st: _Statement, var: str, artifacts: NodeSelector | None, executions: NodeSelector | None,
                     fields: tuple[str, str], *, only_included: bool = False) -> str:
    """``(var:Artifact AND <artifact selector>) OR (var:Execution AND <execution selector>)``."""
    parts = []
    for label, selector, field in (("Artifact", artifacts, fields[0]), ("Execution", executions, fields[1])):
        if selector is None or (selector.filter_query is None and selector.ids is None and selector.types is None):
            continue
        if only_included and not (isinstance(selector, EndingNodes) and selector.include_ending_nodes):
            continue
        condition = st.node_condition(selector, label, var, f"{field}.filter_query")
        # A filter reading a field the node leaves unset (name = 'm') is null there: the node
        # does not match (MLMD selects the ids its query returns), and negating the null would
        # drop it from the walk.
        parts.append(f"({var}:{label} AND coalesce({condition}, false))")
    return " OR ".join(parts) if parts else "false"


# The outputs that read the returned nodes' context links.
_LINK_OUTPUTS = (q.LINEAGE_OUT_LINKS, q.LINEAGE_OUT_CONTEXTS, q.LINEAGE_OUT_CONTEXT_TYPES)


def _tail(direction: LineageDirection, outputs: Sequence[str], finish: str) -> str:
    """The end of a lineage statement (q.LINEAGE_TAIL): ``outputs`` of the returned nodes."""
    links = q.LINEAGE_LINKS if any(o in _LINK_OUTPUTS for o in outputs) else q.LINEAGE_NO_LINKS
    leave = q.LINEAGE_MAY_LEAVE[direction.value]
    out = [o.format(leave0=leave.format(u="ends[0].n"), leave1=leave.format(u="ends[1].n"))
           if o is q.LINEAGE_OUT_EVENTS else o for o in outputs]
    return q.LINEAGE_TAIL.format(links=links, outputs="\n  UNION ALL\n".join(out), finish=finish)


def _statement(st: _Statement, *, starts: str, direction: LineageDirection, max_hops: int | None, stop_s: str,
               pass_x: str, ending_z: str, ending_s: str, outputs: Sequence[str], limit: str = "",
               finish: str = q.LINEAGE_FINISH_ALL, frontier_over: int | None = None) -> str:
    left, right = q.LINEAGE_ARROWS[direction.value]
    if ending_z == "false":
        ending_reached = q.LINEAGE_NO_ENDING_REACHED
    else:
        ending_reached = q.LINEAGE_ENDING_REACHED.format(left=left, right=right, ending_z=ending_z)
    expanded = "true" if max_hops is None else f"d < {st.param(max_hops)}"
    frontier = "" if frontier_over is None else q.LINEAGE_FRONTIER_GATE.format(over=int(frontier_over))
    return q.LINEAGE_TRAVERSE.format(
        starts=starts, id_sets="\n".join(st.id_sets), stop_s=stop_s, left=left, right=right,
        max_hops="" if max_hops is None else int(max_hops), pass_x=pass_x, expanded=expanded, limit=limit,
        ending_reached=ending_reached, ending_s=ending_s, frontier=frontier,
        expanded_starts="starts" if frontier_over is None else "CASE WHEN frontier THEN [] ELSE starts END",
        listed_starts="[]" if frontier_over is None else "CASE WHEN frontier THEN starts ELSE [] END",
        tail=_tail(direction, outputs, finish))


def _outputs(mask: set[str]) -> list[str]:
    outputs = []
    if mask & {"artifacts", "executions", "artifact_types", "execution_types"}:
        outputs.append(q.LINEAGE_OUT_NODES)
    if "events" in mask:
        outputs.append(q.LINEAGE_OUT_EVENTS)
    if mask & {"attributions", "associations"}:
        outputs.append(q.LINEAGE_OUT_LINKS)
    if mask & {"contexts"}:
        outputs.append(q.LINEAGE_OUT_CONTEXTS)
    if mask & {"artifact_types", "execution_types"}:
        outputs.append(q.LINEAGE_OUT_TYPES)
    if "context_types" in mask:
        outputs.append(q.LINEAGE_OUT_CONTEXT_TYPES)
    return outputs


def _subgraph_statement(options: LineageSubgraphQueryOptions, mask: set[str],
                        finish: str = q.LINEAGE_FINISH_ALL) -> tuple[str, dict[str, Any]]:
    if not isinstance(options, LineageSubgraphQueryOptions):
        raise InvalidArgumentError(f"query_options must be a LineageSubgraphQueryOptions, not {kind_of(options)}",
                                   field="query_options")
    if options.starting_artifacts is None and options.starting_executions is None:
        raise InvalidArgumentError("query_options: missing starting_artifacts or starting_executions to start from",
                                   field="starting_artifacts")
    _check_starting(options.starting_artifacts, "starting_artifacts")
    _check_starting(options.starting_executions, "starting_executions")
    _check_hops(options.max_num_hops, "max_num_hops")
    st = _Statement()
    branches = []
    for label, selector, field in (("Artifact", options.starting_artifacts, "starting_artifacts"),
                                   ("Execution", options.starting_executions, "starting_executions")):
        if selector is None:
            branches.append(q.LINEAGE_NO_START_BRANCH.format(label=label))
            continue
        match, where = "", []
        if selector.ids is not None:
            where.append(f"s.id IN {st.param(list(selector.ids))}")
        if selector.types is not None:
            where.append(f"s.type IN {st.param(list(selector.types))}")
        if selector.filter_query:
            match, w = st.filter(selector.filter_query, label, "s", f"{field}.filter_query")
            where.append(f"({w})")
        branches.append(q.LINEAGE_START_BRANCH.format(label=label, match=match, where=" AND ".join(where)))
    starts = "\n  UNION\n".join("  " + b.replace("\n", "\n  ") for b in branches)
    fields = ("ending_artifacts", "ending_executions")
    ea, ee = options.ending_artifacts, options.ending_executions
    # Each condition compiled for each variable it is read on: a compiled filter names its
    # variable in forms no text replacement could find all of (x.name, x[$key], patterns).
    stop = {var: _kinds_condition(st, var, ea, ee, fields) for var in ("x", "s")}
    ending = {var: _kinds_condition(st, var, ea, ee, fields, only_included=True) for var in ("z", "s")}
    # Without ending nodes, many starts are walked all at once (q.LINEAGE_FRONTIER_GATE).
    frontier_over = FRONTIER_STARTS if stop["x"] == "false" and stop["s"] == "false" else None
    text = _statement(st, starts=starts, direction=options.direction, max_hops=options.max_num_hops,
                      stop_s=stop["s"], pass_x=f"NOT ({stop['x']})", ending_z=ending["z"], ending_s=ending["s"],
                      outputs=_outputs(mask), finish=finish, frontier_over=frontier_over)
    return text, st.params


# More starting nodes than this (without ending nodes) are walked all at once, a hop a
# statement, rather than each on its own in one statement (see q.LINEAGE_FRONTIER_GATE).
FRONTIER_STARTS = 32


def _walk_together(tx: neo4j.ManagedTransaction | neo4j.Transaction, starts: list[tuple[bool, int]], direction: LineageDirection,
                   max_hops: int | None) -> list[dict[str, Any]]:
    """Every node within ``max_hops`` of any of ``starts`` ((is an Artifact, id) each), with
    its distance from the nearest, breadth-first from all of them at once: each node is
    expanded once, however many starts reach it. As the traversal statement's reached list:
    {a, id, d, x (expanded)}, nearest first."""
    left, right = q.LINEAGE_ARROWS[direction.value]
    hop = q.LINEAGE_FRONTIER_HOP.format(left=left, right=right)
    seen = dict.fromkeys(starts, 0)
    frontier, d = list(seen), 0
    while frontier and (max_hops is None or d < max_hops):
        found = [(r["a"], r["id"]) for r in tx.run(hop, frontier=[{"a": a, "id": i} for a, i in frontier])]
        d += 1
        frontier = [key for key in found if key not in seen]
        seen.update(dict.fromkeys(frontier, d))
    return [{"a": a, "id": i, "d": dd, "x": max_hops is None or dd < max_hops}
            for (a, i), dd in sorted(seen.items(), key=lambda item: (item[1], item[0][1]))]


def _reached_statement(direction: LineageDirection, mask: set[str], finish: str) -> str:
    """The statement reading the outputs of a _walk_together's reached nodes."""
    return q.LINEAGE_REACHED.format(tail=_tail(direction, _outputs(mask), finish))


def _check_mask(field_mask_paths: Sequence[str] | None) -> set[str]:
    if not field_mask_paths:
        return set(LINEAGE_GRAPH_FIELDS)
    if isinstance(field_mask_paths, str):
        raise InvalidArgumentError("field_mask_paths must be a list of paths, not one string", field="field_mask_paths")
    mask = set()
    for path in field_mask_paths:
        top = str(path).split(".", 1)[0]
        if top == "parent_contexts":  # a LineageGraph field MLMD accepts and never fills (its clients send it)
            continue
        if top not in LINEAGE_GRAPH_FIELDS:
            raise InvalidArgumentError(f"field_mask_paths: {path!r} is not a field of LineageGraph "
                                       f"(one of {', '.join(LINEAGE_GRAPH_FIELDS)})", field="field_mask_paths")
        if "." not in str(path):  # MLMD does not acknowledge sub-field paths
            mask.add(top)
    return mask


def _read_rows(store: MetadataStore, text: str, params: dict[str, Any], consume: Callable[[Iterable[list[Any]]], T]) -> T:
    """``consume`` of the statement's rows [k, d, item, owner, a, b, tag], given as their
    records arrive (the server sends them in lists of up to 1,000, so the client decodes
    while the server still writes), read in one auto-commit read transaction: one network
    round trip, where a transaction function takes two (its COMMIT waits for the rows). The
    statement only reads, so a failure the driver calls retryable (a lost connection, a
    transient error) reruns it, and ``consume`` from the start, as a transaction function,
    which retries like every other read."""
    with map_driver_errors(store.settings.uri):
        try:
            with store._session(access_mode=neo4j.READ_ACCESS) as session:
                return consume(_unpacked(session.run(neo4j.Query(text, timeout=store._tx_timeout,
                                                                 metadata=store._tx_metadata), params)))
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as error:
            if not error.is_retryable():
                raise
    return store._read(lambda tx: consume(_unpacked(tx.run(text, params))))


def _unpacked(records: Iterable[neo4j.Record]) -> Iterator[list[Any]]:
    """The rows of the statement's records, each of which holds a list of them."""
    for record in records:
        yield from record[0]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a whole lineage is read and decoded.
    Every object built is kept, and with hundreds of thousands alive each automatic
    collection rescans them all: on 100,000 nodes that more than doubled the client's time.

    On resuming, what was built joins the oldest generation at once (``gc.freeze()`` then
    ``gc.unfreeze()``: two list splices) instead of waiting in the youngest: the first
    collection after the call would otherwise scan every model, then the next ones again
    on their way up (0.72 s on a 300,000-node read of ~9 s). Young objects of the rest of
    the process move with them, so cyclic garbage among those waits for the next full
    collection. Skipped when the process has frozen objects of its own (unfreezing would
    release them).

    Only on the main thread (a script, a notebook, a pipeline step): the collector is the
    process's, and in a server answering calls on worker threads (`graphmd serve`) reads
    overlap, so it stayed off most of the time and each resume moved every other call's
    cyclic garbage (the driver's sessions and results) into the oldest generation, which
    Python collects only as that generation grows by a quarter: under 3 clients the server's
    memory grew ~45 MB a minute and was never given back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _read_graph(store: MetadataStore, text: str, params: dict[str, Any], mask: set[str], not_found: str,
                field: str, walk: tuple[LineageDirection, int | None] | None = None) -> LineageGraph:
    """The LineageGraph of the statement's rows; when the statement listed its starts to be
    walked together (``walk``: the direction and hop limit to walk them with), of theirs.

    Raises:
        NotFoundError: no starting node matched (``not_found``, naming ``field``)."""
    with _collector_paused():
        graph, starts, listed = _read_rows(store, text, params, lambda rows: _assemble(rows, mask))
        if listed and walk is not None:
            direction, max_hops = walk
            reached_text = _reached_statement(direction, mask, q.LINEAGE_FINISH_ALL)

            def together(tx: neo4j.ManagedTransaction) -> tuple[LineageGraph, int, list[tuple[bool, int]]]:
                reached = _walk_together(tx, listed, direction, max_hops)
                return _assemble(_unpacked(tx.run(reached_text, reached=reached, start_count=starts)), mask)

            graph, starts, _ = store._read(together)
    if starts == 0:
        raise NotFoundError(not_found, field=field)
    return graph


def _rows(store: MetadataStore, text: str, params: dict[str, Any], reached_text: str, direction: LineageDirection,
          max_hops: int | None) -> Iterator[list[Any]]:
    """The statement's rows [k, d, item, owner, a, b, tag], streamed from one read
    transaction (open while the iterator is) as its records arrive; when it lists its starts
    to be walked together (k 6 rows, after its k 5 row), the rows of ``reached_text`` over
    what walking them reaches (_walk_together), in the same transaction."""
    with map_driver_errors(store.settings.uri):
        with store._session(access_mode=neo4j.READ_ACCESS) as session:
            # Tagged like every transaction of the store: a time_bound's end terminates it.
            with session.begin_transaction(timeout=store._tx_timeout, metadata=store._tx_metadata) as tx:
                rows = _unpacked(tx.run(text, params))
                first = next(rows)
                second = next(rows, None)
                if second is None or second[0] != 6:
                    yield first
                    if second is not None:
                        yield second
                    yield from rows
                    return
                listed = [(second[4], second[3])] + [(row[4], row[3]) for row in rows if row[0] == 6]
                reached = _walk_together(tx, listed, direction, max_hops)
                yield from _unpacked(tx.run(reached_text, reached=reached, start_count=first[3]))


def _assemble(rows: Iterable[list[Any]], mask: set[str]) -> tuple[LineageGraph, int, list[tuple[bool, int]]]:
    """The LineageGraph of the statement's rows, how many starting nodes it found (its k 5
    row), and the starts it listed to be walked together instead (k 6 rows). Each row is decoded as it arrives and its list of rows dropped after, so the
    models reuse the rows' memory: holding all rows to the end, a 30,000-node read peaked at
    135 MB instead of ~86 MB and took ~10,000 more fresh pages from the OS per call (in the
    benchmark's process, 100-200 ms of page faults)."""
    # Nodes by kind and id; events, attributions and associations keyed by the fields they
    # are sorted on (an event's type as stored is its EventType's value).
    nodes: dict[str, dict[int, Artifact | Execution]] = {"Artifact": {}, "Execution": {}}
    events: list[tuple[int, int, str, Event]] = []
    contexts: dict[int, Context] = {}
    attributions: list[tuple[int, int, Attribution]] = []
    associations: list[tuple[int, int, Association]] = []
    types: dict[int, Any] = {}
    decode_node, decode_event, constructed = codec.decode_node, codec.decode_event, codec.constructed
    starts = 0
    listed: list[tuple[bool, int]] = []
    for k, _, item, owner, a, b, tag in rows:
        if k == 1:
            events.append((item.get("id") or 0, a, b, decode_event(item, a, b)))
        elif k == 0:
            nodes[tag][item["id"]] = decode_node(_NODE_CLASS[tag], item)
        elif k == 2:
            if tag == "ATTRIBUTION":
                attributions.append((a, b, constructed(Attribution, {"context_id": a, "artifact_id": b})))
            else:
                associations.append((a, b, constructed(Association, {"context_id": a, "execution_id": b})))
        elif k == 3:
            contexts[item["id"]] = decode_node(Context, item)
        elif k == 4:
            types[item["id"]] = codec.decode_type(item)
        elif k == 5:
            starts = owner
        elif k == 6:
            listed.append((a, owner))
    artifacts = [nodes["Artifact"][i] for i in sorted(nodes["Artifact"])]
    executions = [nodes["Execution"][i] for i in sorted(nodes["Execution"])]
    fields: dict[str, list[Any]] = dict.fromkeys(LineageGraph.model_fields, [])
    if "artifacts" in mask:
        fields["artifacts"] = artifacts
    if "executions" in mask:
        fields["executions"] = executions
    if "contexts" in mask:
        fields["contexts"] = [contexts[i] for i in sorted(contexts)]
    if "events" in mask:
        # In the order recorded (event ids grow), as ml-metadata returns them: TFX's resolver
        # walks its adjacency lists in this order.
        fields["events"] = [e[-1] for e in sorted(events, key=_SORT_KEY3)]
    if "attributions" in mask:
        fields["attributions"] = [a[-1] for a in sorted(attributions, key=_SORT_KEY2)]
    if "associations" in mask:
        fields["associations"] = [a[-1] for a in sorted(associations, key=_SORT_KEY2)]
    by_kind: dict[str, list[Any]] = {"ArtifactType": [], "ExecutionType": [], "ContextType": []}
    for t in sorted(types.values(), key=lambda t: t.id):
        by_kind[type(t).__name__].append(t)
    artifact_type_ids = {a.type_id for a in artifacts}
    execution_type_ids = {x.type_id for x in executions}
    if "artifact_types" in mask:
        fields["artifact_types"] = [t for t in by_kind["ArtifactType"] if t.id in artifact_type_ids]
    if "execution_types" in mask:
        fields["execution_types"] = [t for t in by_kind["ExecutionType"] if t.id in execution_type_ids]
    if "context_types" in mask:
        fields["context_types"] = by_kind["ContextType"]
    # Each unset field gets a list of its own (models are mutable).
    return codec.constructed(LineageGraph, {k: v if v else [] for k, v in fields.items()}), starts, listed


def _check_type_names(store: MetadataStore, options: LineageSubgraphQueryOptions) -> None:
    """Raise NotFoundError for the first type name a selector of ``options`` gives that no
    type of its kind has: a misspelt ending type would not stop the walk, and a misspelt
    starting one would read as "no such node". One read, only when names are given."""
    wanted = [(f"{field}.types[{i}]", kind, name)
              for field, kind in (("starting_artifacts", "ArtifactType"), ("starting_executions", "ExecutionType"),
                                  ("ending_artifacts", "ArtifactType"), ("ending_executions", "ExecutionType"))
              for i, name in enumerate(getattr(getattr(options, field, None), "types", None) or ())]
    if not wanted:
        return
    for field, kind, name in wanted:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"{field} must be a type name, not {type(name).__name__}", field=field)
    pairs = [[kind, name] for _, kind, name in wanted]
    missing = {tuple(pair) for pair in store._read(
        lambda tx: tx.run(q.MISSING_TYPE_NAMES, wanted=pairs).single(strict=True)["missing"])}
    for field, kind, name in wanted:
        if (kind, name) in missing:
            raise NotFoundError(f"{field}: no {kind} named {name!r}", field=field)


def get_lineage_subgraph(store: MetadataStore, query_options: LineageSubgraphQueryOptions,
                         field_mask_paths: Sequence[str] | None = None) -> LineageGraph:
    """See MetadataStore.get_lineage_subgraph."""
    mask = _check_mask(field_mask_paths)
    # Nodes are always read: they tell whether any starting node matched.
    text, params = _subgraph_statement(query_options, mask | {"artifacts"})
    _check_type_names(store, query_options)
    return _read_graph(store, text, params, mask, _no_start(query_options),
                       _start_field(query_options), walk=(query_options.direction, query_options.max_num_hops))


def _start_field(options: LineageSubgraphQueryOptions) -> str:
    """The option that names the starting nodes, for an error saying none matched."""
    return "starting_artifacts" if options.starting_artifacts is not None else "starting_executions"


def _no_start(options: LineageSubgraphQueryOptions) -> str:
    """ml-metadata's words for no starting node found, and what was asked: ``no artifact
    matches starting_artifacts (ids [7])``."""
    said = []
    for field, kind, selector in (("starting_artifacts", "artifact", options.starting_artifacts),
                                  ("starting_executions", "execution", options.starting_executions)):
        if selector is None:
            continue
        asked = [f"{name} {value!r}" if isinstance(value, str) else f"{name} {list(value)}"
                 for name, value in (("ids", selector.ids), ("types", selector.types),
                                     ("filter_query", selector.filter_query)) if value is not None]
        said.append(f"no {kind} matches {field}" + (f" ({', '.join(asked)})" if asked else ""))
    return "cannot find qualified nodes to start the traversal: " + "; ".join(said)


def _graph_statement(options: LineageGraphQueryOptions) -> tuple[str, dict[str, Any]]:
    if not isinstance(options, LineageGraphQueryOptions):
        raise InvalidArgumentError(f"query_options must be a LineageGraphQueryOptions, not {kind_of(options)}",
                                   field="query_options")
    listing = options.artifacts_options
    if listing is None:
        raise InvalidArgumentError("query_options.artifacts_options: missing query_nodes conditions",
                                   field="artifacts_options")
    if listing.next_page_token:
        raise InvalidArgumentError("artifacts_options.next_page_token: lineage queries are not paged",
                                   field="artifacts_options.next_page_token")
    if listing.max_result_size is not None and listing.max_result_size <= 0:
        raise InvalidArgumentError("artifacts_options.max_result_size must be positive",
                                   field="artifacts_options.max_result_size")
    stop = options.stop_conditions
    _check_hops(stop.max_num_hops, "stop_conditions.max_num_hops")
    st = _Statement()
    match, where = "", "true"
    if listing.filter_query:
        match, where = st.filter(listing.filter_query, "Artifact", "s", "artifacts_options.filter_query")
    limits = [v for v in (listing.max_result_size, options.max_node_size) if v is not None and v > 0]
    limit = f"LIMIT {st.param(min(limits))}\n" if limits else ""
    starts = "  " + q.LINEAGE_LISTED_STARTS.format(
        match=match, where=where, order=q.ORDER_FIELDS[listing.order_by.value],
        direction="ASC" if listing.is_asc else "DESC", limit=limit).replace("\n", "\n  ")
    boundary = []
    for label, expression, field in (("Artifact", stop.boundary_artifacts, "stop_conditions.boundary_artifacts"),
                                     ("Execution", stop.boundary_executions, "stop_conditions.boundary_executions")):
        if expression:
            condition = st.node_condition(NodeSelector(filter_query=expression), label, "x", field)
            boundary.append(f"(x:{label} AND NOT coalesce({condition}, false))")
    pass_x = "x = s OR NOT (" + " OR ".join(boundary) + ")" if boundary else "true"
    node_limit = ""
    if options.max_node_size is not None and options.max_node_size > 0:
        node_limit = f"[..{st.param(options.max_node_size)}]"
    text = _statement(st, starts=starts, direction=LineageDirection.BIDIRECTIONAL, max_hops=stop.max_num_hops,
                      stop_s="false", pass_x=pass_x, ending_z="false", ending_s="false",
                      outputs=[q.LINEAGE_OUT_NODES, q.LINEAGE_OUT_EVENTS, q.LINEAGE_OUT_TYPES], limit=node_limit)
    return text, st.params


def get_lineage_graph(store: MetadataStore, query_options: LineageGraphQueryOptions) -> LineageGraph:
    """See MetadataStore.get_lineage_graph."""
    text, params = _graph_statement(query_options)
    return _read_graph(store, text, params, {"artifacts", "executions", "events", "artifact_types", "execution_types"},
                       "the query_nodes condition does not match any nodes to do traversal", "artifacts_options")


def stream_lineage(store: MetadataStore, query_options: LineageSubgraphQueryOptions) -> Iterator[LineageStep]:
    """See MetadataStore.stream_lineage. Validates the options before returning."""
    text, params = _subgraph_statement(query_options, {"artifacts", "events"}, q.LINEAGE_FINISH_LEVELS)
    _check_type_names(store, query_options)
    return _steps(store, text, params, _no_start(query_options), _start_field(query_options), query_options.direction,
                  query_options.max_num_hops)


def _steps(store: MetadataStore, text: str, params: dict[str, Any], not_found: str, start_field: str,
           direction: LineageDirection, max_hops: int | None) -> Iterator[LineageStep]:
    level: list[LineageStep] = []
    by_id: dict[tuple[str, int], LineageStep] = {}
    distance = None
    rows = _rows(store, text, params, _reached_statement(direction, {"artifacts", "events"}, q.LINEAGE_FINISH_LEVELS),
                 direction, max_hops)
    if next(rows)[3] == 0:  # the k 5 row comes first (d -1)
        raise NotFoundError(not_found, field=start_field)
    for k, d, item, owner_id, a, b, tag in rows:
        if d != distance:
            yield from level
            level, by_id, distance = [], {}, d
        if k == 0:
            step = LineageStep.model_construct(distance=d, node=codec.decode_node(_NODE_CLASS[tag], item), events=[])
            level.append(step)
            by_id[(tag, item["id"])] = step
        elif k == 1:
            event = codec.decode_event(item, a, b)
            owner = by_id.get(("Artifact", owner_id)) if owner_id == event.artifact_id else None
            if owner is None:
                owner = by_id[("Execution", owner_id)]
            owner.events.append(event)
    yield from level


def lineage_paths(store: MetadataStore, query_options: LineageSubgraphQueryOptions) -> Iterator[LineagePath]:
    """See MetadataStore.lineage_paths. Validates the options before returning."""
    return _paths(stream_lineage(store, query_options), query_options.direction)


def crossable(event: Event, from_kind: str, direction: LineageDirection) -> bool:
    """Whether a traversal in ``direction`` may cross ``event`` from its end of ``from_kind``.
    Data flows artifact -> execution over an input event, execution -> artifact otherwise;
    downstream follows the flow, upstream goes against it."""
    if direction == LineageDirection.BIDIRECTIONAL:
        return True
    flows_from_there = (from_kind == "Artifact") == bool(event.type is not None and event.type.is_input)
    return flows_from_there == (direction == LineageDirection.DOWNSTREAM)


NodeKey = tuple[str, int]


@dataclasses.dataclass(frozen=True)
class StepEdges:
    """A streamed step with the traversal's edges to nodes that arrived before it: ``parent``
    is the event to one node a hop nearer (its BFS parent; None for a starting node),
    ``inward`` every event the traversal crosses from an earlier node to this one (the
    parent's included), ``outward`` every event it crosses from this node to an earlier one
    (a step reading an input already reached another way). A step's events also hold ones
    the traversal would cross only the other way (a run's trainer reading an older model the
    same run reaches); each lands in the list of the way it is crossed."""

    step: LineageStep
    key: NodeKey
    parent: tuple[NodeKey, Event] | None
    inward: list[tuple[NodeKey, Event]]
    outward: list[tuple[NodeKey, Event]]


def step_edges(steps: Iterable[LineageStep], direction: LineageDirection) -> Iterator[StepEdges]:
    """Each step of ``steps`` (in arrival order) with its edges to earlier steps' nodes."""
    distance: dict[NodeKey, int] = {}
    for step in steps:
        key = (type(step.node).__name__, step.node.id or 0)
        inward: list[tuple[NodeKey, Event]] = []
        outward: list[tuple[NodeKey, Event]] = []
        parent: tuple[NodeKey, Event] | None = None
        for event in step.events:
            other = ("Execution", event.execution_id or 0) if key[0] == "Artifact" else ("Artifact", event.artifact_id or 0)
            if other not in distance:
                continue
            if crossable(event, other[0], direction):
                inward.append((other, event))
                if parent is None and distance[other] == step.distance - 1:
                    parent = (other, event)
            elif crossable(event, key[0], direction):
                outward.append((other, event))
        distance[key] = step.distance
        yield StepEdges(step, key, parent, inward, outward)


def _paths(steps: Iterator[LineageStep], direction: LineageDirection) -> Iterator[LineagePath]:
    # Each node keeps itself and its BFS parent, so its path is followed back to the start.
    seen: dict[NodeKey, tuple[Artifact | Execution, tuple[NodeKey, Event] | None]] = {}
    for edges in step_edges(steps, direction):
        seen[edges.key] = (edges.step.node, edges.parent)
        nodes: list[Artifact | Execution] = [edges.step.node]
        events: list[Event] = []
        link = edges.parent
        while link is not None:
            events.append(link[1])
            node, link = seen[link[0]]
            nodes.append(node)
        yield LineagePath.model_construct(nodes=nodes[::-1], events=events[::-1])
