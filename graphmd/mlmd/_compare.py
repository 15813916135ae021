"""Do an ml-metadata store and a graphmd store hold the same metadata? Compared as MLMD protos.

Both stores are read with graphmd.mlmd._reading (ml-metadata through its own client,
graphmd through MetadataStore), so a difference is what an MLMD client would see.

- `compare_sample`: the counts per kind, every type, and the lineage subgraphs around a
  sample of executions spread over the id range: each execution, its events, their
  artifacts, every event of those artifacts and the executions at their other end, the
  contexts of the execution and artifacts, and those contexts' parents.
- `compare_all`: node by node and edge by edge: both stores' nodes are walked side by side
  in id order, in pages; with each page of artifacts their attributions are compared, with
  each page of executions their events and associations, with each context its parents.

After an export into ml-metadata, compare with ``as_stored=True``: graphmd's DOUBLE values
are then compared as ml-metadata stores them (six decimals, 15 significant digits:
graphmd.mlmd._reading.stored_double), the one change ml-metadata makes to what it is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from google.protobuf import text_format

from ._reading import NODE_KINDS, event_key, stored_double

__all__ = ["MAX_LISTED", "Comparison", "compare_sample", "compare_all"]

# At most this many differences are described; the rest are only counted.
MAX_LISTED = 50
_PLURAL = {"Artifact": "artifacts", "Execution": "executions", "Context": "contexts"}


@dataclasses.dataclass
class Comparison:
    """The outcome: counts per kind on both sides, how many items were compared one by one,
    and the differences found (described up to MAX_LISTED, all counted)."""

    mlmd_counts: dict[str, int]
    graphmd_counts: dict[str, int]
    compared: dict[str, int] = dataclasses.field(default_factory=dict)
    differences: list[str] = dataclasses.field(default_factory=list)
    difference_count: int = 0
    # Sampled subgraphs overlap: the keys each has compared (counted once) and those whose
    # two values were compared (said once). A full comparison reads disjoint pages and keeps
    # neither, so its memory stays flat however large the stores.
    _seen: dict[str, set[Any]] = dataclasses.field(default_factory=dict, repr=False)
    _valued: dict[str, set[Any]] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def equal(self) -> bool:
        return self.difference_count == 0

    def differ(self, text: str) -> None:
        self.difference_count += 1
        if len(self.differences) < MAX_LISTED:
            self.differences.append(text)

    def check(self, what: str, mlmd_items: dict[Any, Any], graphmd_items: dict[Any, Any], *,
              within: str | None = None) -> None:
        """Compare two keyed collections of protos (or of anything comparable). ``within``
        names the part of both stores the collections are (a sampled subgraph): an item on
        one side only is then only in that side's part, not necessarily only in that store,
        and items that parts share are counted and compared once."""
        keys = mlmd_items.keys() | graphmd_items.keys()
        if within is None:
            self.compared[what] = self.compared.get(what, 0) + len(keys)
            valued: set[Any] = set()
            only = "only in {side}"
        else:
            seen = self._seen.setdefault(what, set())
            seen |= keys
            self.compared[what] = len(seen)
            valued = self._valued.setdefault(what, set())
            only = f"only in {{side}}'s {within}"
        for key in sorted(keys, key=repr):
            left, right = mlmd_items.get(key), graphmd_items.get(key)
            if left is None:
                self.differ(f"{what} {_key(key)}: " + only.format(side="graphmd"))
            elif right is None:
                self.differ(f"{what} {_key(key)}: " + only.format(side="ml-metadata"))
            elif key not in valued:
                if within is not None:
                    valued.add(key)
                if left != right and not _same(left, right):
                    self.differ(f"{what} {_key(key)}: {_describe(left, right)}")

    def check_counts(self) -> None:
        for kind in self.mlmd_counts.keys() | self.graphmd_counts.keys():
            mine, theirs = self.mlmd_counts.get(kind, 0), self.graphmd_counts.get(kind, 0)
            if mine != theirs:
                self.differ(f"count of {kind}: {mine} in ml-metadata, {theirs} in graphmd")


def _key(key: Any) -> str:
    return "(" + ", ".join(map(str, key)) + ")" if isinstance(key, tuple) else str(key)


def _same(left: Any, right: Any) -> bool:
    """Whether two protos unequal to ``!=`` hold the same: a NaN (in a STRUCT, where
    ml-metadata keeps it) is unequal to itself, but not a difference."""
    return hasattr(left, "ListFields") and hasattr(right, "ListFields") and _fields(left) == _fields(right)


def _describe(left: Any, right: Any) -> str:
    """The fields that differ, with both values."""
    if not hasattr(left, "ListFields"):
        return f"ml-metadata {left!r}, graphmd {right!r}"
    a, b = _fields(left), _fields(right)
    return "; ".join(f"{name}: ml-metadata {_short(a.get(name))}, graphmd {_short(b.get(name))}"
                     for name in sorted(a.keys() | b.keys()) if a.get(name) != b.get(name))


def _fields(message: Any) -> dict[str, Any]:
    """A message's set fields, map entries each on their own, as comparable values."""
    fields: dict[str, Any] = {}
    for descriptor, value in message.ListFields():
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            fields |= {f"{descriptor.name}[{key!r}]": _text(value[key]) for key in value}
        elif descriptor.label == descriptor.LABEL_REPEATED:
            fields[descriptor.name] = [_text(item) for item in value]
        else:
            fields[descriptor.name] = _text(value)
    return fields


def _text(value: Any) -> Any:
    return text_format.MessageToString(value, as_one_line=True) if hasattr(value, "ListFields") else value


def _short(value: Any) -> str:
    text = "unset" if value is None else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def _types(comparison: Comparison, mlmd_side: Any, graphmd_side: Any) -> int:
    """Compare every type by (kind, id); returns how many ml-metadata holds."""
    def keyed(side: Any) -> dict[Any, Any]:
        return {(type(t).__name__, t.id): t for t in side.types()}

    mlmd_types = keyed(mlmd_side)
    comparison.check("type", mlmd_types, keyed(graphmd_side))
    return len(mlmd_types)


class _AsStored:
    """A reader whose nodes' DOUBLE values are as ml-metadata would store them."""

    def __init__(self, side: Any) -> None:
        self.side = side

    def __getattr__(self, name: str) -> Any:
        return getattr(self.side, name)

    def pages(self, kind: str) -> Iterator[list[Any]]:
        return (list(map(_rounded, page)) for page in self.side.pages(kind))

    def nodes_by_id(self, kind: str, ids: Any) -> list[Any]:
        return list(map(_rounded, self.side.nodes_by_id(kind, ids)))


def _rounded(node: Any) -> Any:
    for values in (node.properties, node.custom_properties):
        for value in values.values():
            if value.HasField("double_value"):
                value.double_value = stored_double(value.double_value)
    return node


def compare_sample(mlmd_side: Any, graphmd_side: Any, mlmd_counts: dict[str, int], graphmd_counts: dict[str, int],
                   *, sample: int = 20, as_stored: bool = False) -> Comparison:
    """Counts, types, and the lineage subgraphs around ``sample`` executions whose ids are
    spread evenly over ml-metadata's id range (see the module docstring).

    ``mlmd_counts`` are the source's counts (an import counts them while copying; ml-metadata
    has no count call), ``graphmd_counts`` MetadataStore.counts(). ``as_stored``: see the
    module docstring.
    """
    graphmd_side = _AsStored(graphmd_side) if as_stored else graphmd_side
    comparison = Comparison(mlmd_counts, graphmd_counts)
    comparison.check_counts()
    _types(comparison, mlmd_side, graphmd_side)
    highest = mlmd_side.max_id("Execution")
    if sample <= 0 or highest == 0:
        return comparison
    ids = sorted({1 + round(i * (highest - 1) / max(sample - 1, 1)) for i in range(sample)})
    for execution in mlmd_side.nodes_by_id("Execution", ids):
        left, right = _subgraph(mlmd_side, execution.id), _subgraph(graphmd_side, execution.id)
        for what in left:
            comparison.check(what, left[what], right[what], within=f"lineage around execution {execution.id}")
    return comparison


def _subgraph(side: Any, execution_id: int) -> dict[str, dict[Any, Any]]:
    """The lineage subgraph around one execution, keyed for comparison."""
    events = side.events_by_executions([execution_id])
    artifact_ids = sorted({e.artifact_id for e in events})
    events += [e for e in side.events_by_artifacts(artifact_ids) if e.execution_id != execution_id]
    execution_ids = sorted({execution_id} | {e.execution_id for e in events})
    attributions = side.links_of("Artifact", artifact_ids)
    associations = side.links_of("Execution", execution_ids)
    context_ids = sorted({context for context, _ in attributions | associations})
    return {
        "execution": {x.id: x for x in side.nodes_by_id("Execution", execution_ids)},
        "artifact": {a.id: a for a in side.nodes_by_id("Artifact", artifact_ids)},
        "context": {c.id: c for c in side.nodes_by_id("Context", context_ids)},
        "event": {event_key(e): e for e in events},
        "attribution": dict.fromkeys(attributions, True),
        "association": dict.fromkeys(associations, True),
        "parent_context": {(c, parent): True for c, parents in side.parent_ids(sorted(context_ids)).items()
                           for parent in parents},
    }


def compare_all(mlmd_side: Any, graphmd_side: Any, graphmd_counts: dict[str, int], *,
                as_stored: bool = False) -> Comparison:
    """Every type, node, event, attribution, association and parent context of both stores,
    one by one (see the module docstring); the ml-metadata counts are counted on the way.
    ``as_stored``: see the module docstring."""
    graphmd_side = _AsStored(graphmd_side) if as_stored else graphmd_side
    counts = dict.fromkeys(graphmd_counts, 0)
    comparison = Comparison(counts, graphmd_counts)
    counts["types"] = _types(comparison, mlmd_side, graphmd_side)
    for kind in NODE_KINDS:
        plural = _PLURAL[kind]
        for left, right in _side_by_side(mlmd_side.pages(kind), graphmd_side.pages(kind)):
            counts[plural] += len(left)
            comparison.check(kind.lower(), left, right)
            ids = sorted(left.keys() | right.keys())
            if kind == "Context":
                mlmd_parents, graphmd_parents = mlmd_side.parent_ids(ids), graphmd_side.parent_ids(ids)
                for context_id in ids:
                    links = {(context_id, i): True for i in mlmd_parents[context_id]}
                    counts["parent_contexts"] += len(links)
                    comparison.check("parent_context", links,
                                     {(context_id, i): True for i in graphmd_parents[context_id]})
                continue
            if kind == "Execution":
                events = {event_key(e): e for e in mlmd_side.events_by_executions(ids)}
                counts["events"] += len(events)
                comparison.check("event", events, {event_key(e): e for e in graphmd_side.events_by_executions(ids)})
            what = "attribution" if kind == "Artifact" else "association"
            links = dict.fromkeys(mlmd_side.links_of(kind, ids), True)
            counts[what + "s"] += len(links)
            comparison.check(what, links, dict.fromkeys(graphmd_side.links_of(kind, ids), True))
    comparison.check_counts()
    return comparison


def _side_by_side(left_pages: Iterator[list[Any]], right_pages: Iterator[list[Any]]
                  ) -> Iterator[tuple[dict[int, Any], dict[int, Any]]]:
    """Two streams of pages in id order, re-cut into pairs of id-keyed chunks that cover the
    same id range, so a node missing on either side shows as a key on one side only."""
    left, right = _flat(left_pages), _flat(right_pages)
    a, b = next(left, None), next(right, None)
    chunk_left: dict[int, Any] = {}
    chunk_right: dict[int, Any] = {}
    while a is not None or b is not None:
        if a is not None and (b is None or a.id <= b.id):
            chunk_left[a.id] = a
            if b is not None and b.id == a.id:
                chunk_right[b.id] = b
                b = next(right, None)
            a = next(left, None)
        elif b is not None:  # always here: the loop runs while one side has a node
            chunk_right[b.id] = b
            b = next(right, None)
        if len(chunk_left) + len(chunk_right) >= 2000:
            yield chunk_left, chunk_right
            chunk_left, chunk_right = {}, {}
    if chunk_left or chunk_right:
        yield chunk_left, chunk_right


def _flat(pages: Iterator[list[Any]]) -> Iterator[Any]:
    for page in pages:
        yield from page
