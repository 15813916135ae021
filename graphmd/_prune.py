"""Deleting old pipeline runs without breaking the lineage of anything kept.

ml-metadata has no delete (google/ml-metadata#69: "deleting some of the nodes may break the
lineage"); stores grow with every run. graphmd prunes by context (a pipeline run), and keeps
whatever a kept node was made from:

- An artifact's makers are the executions that output it and are not CACHED. A cache hit
  (record_cached_execution: a CACHED execution with OUTPUT events to an earlier execution's
  outputs) made nothing: its outputs are to it what inputs are to a step. Only an artifact
  that nothing but cache hits output has one for its maker, the first (lowest id), as the
  only record of where it came from (data registered by hand that a hit then output).
- Candidates: the contexts given, the executions associated with them, the artifacts those
  executions made, and the artifacts attributed to the contexts that no execution output
  (imported data). An artifact an execution outside the prune made (an earlier run's model
  that this run read, or reused in a cache hit) stays, and the hit goes with its events.
  So does one that an execution outside the prune also output (a later cache hit of it).
- A candidate that a context of the same type outside the prune also holds (an execution
  two runs share) stays with that context.
- A candidate artifact is kept while its data may exist: unless ``delete_live_artifacts``,
  only artifacts whose state is DELETED or ABANDONED go (mark an artifact so when its files
  are gone, as ml-metadata advises).
- A candidate is kept when data flows from it to a kept node or to a node outside the
  candidates (a later run read the model, or a cache hit that stays reused it), and so is
  everything it was made from: a kept artifact keeps its makers, never a hit that reused
  it. Where the maker and the hit are pruned together, the artifact stays with its maker or
  goes with both; it never loses the maker.
- A context goes when none of its candidate executions (so none of the makers of an artifact
  of it that stays) stays and no child context of it stays; its links to other nodes (the
  earlier model it read, a hit's reused output, a dataset no execution wrote that stays) go
  with it.

Everything of one call happens in one write transaction, after the candidates are
write-locked, so no concurrent write can link to a node between the plan and the delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import neo4j

from . import _queries as q

__all__ = ["PruneResult", "plan_prune", "apply_prune"]

_GONE = ("DELETED", "ABANDONED")


class PruneResult(NamedTuple):
    """What a prune deleted (with ``dry_run``: would delete) and which candidates it kept,
    ids sorted. Contexts asked for that do not exist are in neither list."""

    deleted_context_ids: list[int]
    deleted_execution_ids: list[int]
    deleted_artifact_ids: list[int]
    kept_context_ids: list[int]
    kept_execution_ids: list[int]
    kept_artifact_ids: list[int]
    dry_run: bool = False


def plan_prune(tx: neo4j.ManagedTransaction, context_ids: Sequence[int], *, delete_live_artifacts: bool,
               lock: bool, gone: PruneResult | None = None) -> PruneResult:
    """Work out what pruning ``context_ids`` deletes and keeps; with ``lock``, write-lock
    the candidates first (the plan is then valid until the transaction ends). ``gone``: what
    earlier batches of the same dry run would have deleted, treated as deleted already, so
    a dry run in batches plans what the real one then deletes batch by batch."""
    gone_params: dict[str, Any] = {"gone_contexts": gone.deleted_context_ids if gone else [],
                                   "gone_executions": gone.deleted_execution_ids if gone else [],
                                   "gone_artifacts": gone.deleted_artifact_ids if gone else []}
    ids = sorted(set(context_ids))
    contexts = [r["id"] for r in tx.run(q.PRUNE_LOCK_CONTEXTS if lock else q.PRUNE_CONTEXTS, ids=ids, **gone_params)]
    members = [(r["context_id"], r["id"]) for r in tx.run(q.PRUNE_EXECUTIONS, ids=contexts, **gone_params)]
    executions = {i for _, i in members}
    rows = list(tx.run(q.PRUNE_ARTIFACTS, ids=contexts, execution_ids=sorted(executions), **gone_params))
    makers = {r["id"]: _makers(r["writers"]) for r in rows}
    # The artifacts a candidate made, and data the runs hold that no execution output; not
    # what a cache hit among the candidates merely reused.
    states = {r["id"]: r["state"] for r in rows if not r["writers"] or makers[r["id"]] & executions}
    if lock:  # another prune may have deleted some while this one waited for their locks
        there = {(r["kind"], r["id"]) for r in tx.run(q.PRUNE_LOCK_NODES, artifact_ids=sorted(states),
                                                       execution_ids=sorted(executions))}
        executions = {i for i in executions if ("x", i) in there}
        states = {i: state for i, state in states.items() if ("a", i) in there}
    artifacts = set(states)
    candidates = {("a", i) for i in artifacts} | {("x", i) for i in executions}
    kept = {("a", i) for i, state in states.items() if not delete_live_artifacts and state not in _GONE}
    kept |= {(r["kind"], r["id"]) for r in tx.run(q.PRUNE_SHARED, ids=contexts, **gone_params)}
    feeds: dict[tuple[str, int], list[tuple[str, int]]] = {}  # node -> candidates it was made from
    for r in tx.run(q.PRUNE_FLOW, artifact_ids=sorted(artifacts), execution_ids=sorted(executions), **gone_params):
        source, target = (r["from_kind"], r["from_id"]), (r["to_kind"], r["to_id"])
        if source[0] == "x" and source[1] not in makers.get(target[1], {source[1]}):
            # A cache hit's output that another execution made: the hit used it, as a step
            # uses its input; it made nothing.
            if target not in candidates:
                continue  # made outside the prune: the hit's events go with the hit
            source, target = target, source
        if target not in candidates:
            kept.add(source)  # something outside the prune was made from it (or reused it)
        elif source not in candidates:
            kept.add(target)  # something outside the prune wrote it (a cache hit's output)
        else:
            feeds.setdefault(target, []).append(source)
    # Everything a kept node was made from stays too.
    stack = list(kept)
    while stack:
        for source in feeds.get(stack.pop(), ()):
            if source not in kept:
                kept.add(source)
                stack.append(source)
    kept &= candidates
    # A context stays while one of its executions does (and so the maker of each artifact of
    # it that stays). An artifact it merely holds (data no execution wrote, an input, a cache
    # hit's reused output) does not keep it: it stays without its link to the run.
    kept_contexts = {context for context, i in members if ("x", i) in kept}
    # A context stays while a child of it stays: one outside the prune, or one that keeps a member.
    children = [(r["parent"], r["child"]) for r in tx.run(q.PRUNE_CHILDREN, ids=contexts, **gone_params)]
    pruned = set(contexts)
    changed = True
    while changed:
        staying = {parent for parent, child in children if child not in pruned or child in kept_contexts}
        changed = not staying <= kept_contexts
        kept_contexts |= staying
    return PruneResult(
        deleted_context_ids=sorted(pruned - kept_contexts),
        deleted_execution_ids=sorted(i for i in executions if ("x", i) not in kept),
        deleted_artifact_ids=sorted(i for i in artifacts if ("a", i) not in kept),
        kept_context_ids=sorted(kept_contexts),
        kept_execution_ids=sorted(i for kind, i in kept if kind == "x"),
        kept_artifact_ids=sorted(i for kind, i in kept if kind == "a"),
        dry_run=not lock,
    )


def _makers(writers: list[list[Any]]) -> set[int]:
    """The executions that made an artifact, of those that output it (``[id, cached]`` each):
    the ones not CACHED (a cache hit made nothing, it reused the output); with none, the first
    CACHED one (lowest id), as the only record of where the artifact came from (data
    registered by hand that a hit then output)."""
    if not writers:
        return set()
    return {i for i, cached in writers if not cached} or {min(i for i, _ in writers)}


def apply_prune(tx: neo4j.ManagedTransaction, plan: PruneResult) -> None:
    """Delete what ``plan`` (made with lock=True in this transaction) says, with their
    events, attributions, associations and parent-context links."""
    tx.run(q.PRUNE_DELETE, artifact_ids=plan.deleted_artifact_ids, execution_ids=plan.deleted_execution_ids,
           context_ids=plan.deleted_context_ids).consume()
