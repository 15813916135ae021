"""`graphmd prune` and `graphmd reset`: delete old pipeline runs without breaking the lineage
of what stays, or everything."""

from __future__ import annotations

import datetime
import enum
import threading
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .._errors import GraphmdError, NotFoundError
from .._models import ArtifactState
from .._prune import PruneResult
from .._store import MetadataStore
from ._options import (Database, Password, Quiet, Uri, User, as_piped, command_store, count_of, err, fail, out,
                       print_json, progress_bar)


class TextFormat(str, enum.Enum):
    text = "text"
    json = "json"


Format = Annotated[TextFormat, typer.Option("--format", help="text or json.")]


def _cutoff_ms(before: str) -> int:
    """Milliseconds since the epoch of an ISO date or date-time (UTC when it names no zone).

    Raises:
        typer.BadParameter: ``before`` is no such date (a usage mistake: exit 2).
    """
    try:
        when = datetime.datetime.fromisoformat(before)
    except ValueError as error:
        why = "" if str(error).startswith("Invalid isoformat") else f" ({error})"  # "month must be in 1..12"
        raise typer.BadParameter(f"{before!r} is not an ISO date such as 2026-01-31 or 2026-01-31T12:00{why}",
                                 param_hint="'--before'") from error
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return int(when.timestamp() * 1000)


def _check_before(before: Optional[str]) -> Optional[str]:
    if before is not None:
        _cutoff_ms(before)
    return before


def _runs(n: int) -> str:
    return count_of(n, "runs")


def prune(
    ctx: typer.Context,
    context_type: Annotated[str, typer.Option("--type", help="The run contexts' type, e.g. PipelineRun, TFX's "
                                              "pipeline_run, KFP's system.PipelineRun.")],
    name: Annotated[Optional[list[str]], typer.Option("--name", metavar="<str>", help="A run context's name (repeatable).")] = None,
    before: Annotated[Optional[str], typer.Option(
        callback=_check_before, metavar="<date>",
        help="Every run context of the type created before this ISO date or date-time (UTC unless it says).")] = None,
    keep_last: Annotated[int, typer.Option(
        help="Never prune the newest N runs of the type, however old, even when --name names one; given "
             "alone (N >= 1), choose all the type's runs but those N.", min=0,
        metavar="<int>")] = 0,
    delete_live_artifacts: Annotated[bool, typer.Option(
        "--delete-live-artifacts", help="Also delete artifacts that are not DELETED or ABANDONED (their data may "
                                        "still exist).")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Delete. Without it, only print what would be deleted.")] = False,
    batch: Annotated[int, typer.Option(help="Runs per transaction.", min=1, metavar="<int>")] = 50,
    fmt: Format = TextFormat.text,
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
) -> None:
    """Delete old pipeline runs, keeping everything a remaining node was made from.

    A run (context) goes with its executions and the artifacts they made, except what a
    remaining node was made from (a model a later run warm-started from stays, with its whole
    lineage). A cache hit made nothing: what it reused stays with its maker. By default only
    artifacts marked DELETED or ABANDONED go.

    Prints what it would delete unless given --yes. Newest runs go first, each batch of runs in
    one transaction, so an interrupted prune leaves whole runs and can be run again.
    """
    if not name and before is None and not keep_last:
        ctx.fail("say which runs: --name NAME (repeatable), --before DATE, or --keep-last N (N >= 1; alone: every "
                 "run but the newest N)")
    every = not name and before is None  # --keep-last N alone: every run of the type but the newest N
    try:
        with command_store(uri, user, password, database) as store:
            cutoff = _cutoff_ms(before) if before is not None else None
            try:
                store.get_context_type(context_type)
            except NotFoundError:
                raise NotFoundError(f"no context type named {context_type!r}", field="type") from None
            contexts = store.get_contexts_by_type(context_type)
            newest_first = sorted(contexts, key=lambda c: (c.create_time_since_epoch or 0, c.id or 0), reverse=True)
            protected = {c.id for c in newest_first[:keep_last]}
            matching = [c for c in newest_first if every or (name and c.name in name)
                        or (cutoff is not None and (c.create_time_since_epoch or 0) < cutoff)]
            chosen = [c for c in matching if c.id not in protected]
            spared = [c for c in matching if c.id in protected]
            missing = sorted(set(name or ()) - {c.name for c in contexts})
            if missing:
                said = f"no {context_type} context named {', '.join(map(repr, missing))}"
                if not matching:  # a misspelt name, most likely: nothing to prune
                    raise NotFoundError(said, field="name")
                # The rest of a prune run again after an interruption: the named runs it deleted
                # are gone, the others still to prune.
                err.print(f"[yellow]warning[/yellow]: {escape(said)} (pruned already, or misspelt): going on with "
                          "the runs that are there", highlight=False)
            results: list[PruneResult] = []
            try:
                with progress_bar("pruning" if yes else "planning", quiet or not chosen) as advance:
                    for start in range(0, len(chosen), batch):
                        ids = [c.id for c in chosen[start:start + batch] if c.id is not None]
                        # A dry run's later batches take the earlier ones' deletions as done,
                        # as the real prune's batches find them.
                        results.append(store.prune_contexts(ids, delete_live_artifacts=delete_live_artifacts,
                                                            dry_run=not yes, after=None if yes else _totals(results)))
                        if advance is not None:
                            advance(min(start + batch, len(chosen)), len(chosen))
            except KeyboardInterrupt:
                if yes:  # the batches that committed are gone: say which, and how to go on
                    done = _totals(results)
                    err.print(f"interrupted after {len(results)} of {-(-len(chosen) // batch)} batches: deleted "
                              f"{_runs(len(done.deleted_context_ids))}, "
                              f"{count_of(len(done.deleted_execution_ids), 'executions')}, "
                              f"{count_of(len(done.deleted_artifact_ids), 'artifacts')}; run the same command again "
                              "to go on", markup=False)
                raise typer.Exit(130) from None
            summed = _totals(results)
            # Which kept artifacts may still hold data: --delete-live-artifacts would delete them
            # (and what only they kept), where marking them DELETED says their files are gone.
            live = 0 if delete_live_artifacts or fmt is TextFormat.json else sum(
                a.state not in (ArtifactState.DELETED, ArtifactState.ABANDONED)
                for start in range(0, len(summed.kept_artifact_ids), 1000)
                for a in store.get_artifacts_by_id(summed.kept_artifact_ids[start:start + 1000]))
    except GraphmdError as error:
        fail(error)
    total = {field: getattr(summed, field) for field in PruneResult._fields if field != "dry_run"}
    if fmt is TextFormat.json:
        print_json({"deleted": yes, "runs": [c.name for c in chosen],
                    "spared_by_keep_last": [c.name for c in spared], **total})
        return
    verb = "deleted" if yes else "would delete"

    def counted(kind: str) -> str:  # kind: deleted or kept
        return (f"{_runs(len(total[f'{kind}_context_ids']))}, "
                f"{count_of(len(total[f'{kind}_execution_ids']), 'executions')}, "
                f"{count_of(len(total[f'{kind}_artifact_ids']), 'artifacts')}")

    out.print(f"{len(chosen):,} {context_type} {'run' if len(chosen) == 1 else 'runs'} chosen"
              + (f" ({len(spared):,} more spared: among the newest {keep_last}, --keep-last)" if spared else ""),
              markup=False)
    out.print(f"{verb}: {counted('deleted')} (with their events and links)", markup=False)
    out.print(f"kept: {counted('kept')} that remaining nodes were made from"
              + ("" if delete_live_artifacts else " or whose data may still exist (not DELETED or ABANDONED)"),
              markup=False)
    if live:
        out.print(f"  {count_of(live, 'artifacts')} of them may still hold data (LIVE, or no state): mark them DELETED "
                  "once their files are gone, or add --delete-live-artifacts, to delete them and what only they "
                  "kept", markup=False)
    if any(total[f"kept_{node}_ids"] for node in ("context", "execution", "artifact")):  # what pinned a run
        names = {c.id: c.name for c in chosen if c.id is not None and c.name}
        out.print(f"  kept ids: {_kept_ids(summed, names)} (--format json lists them all)", markup=False)
    if yes:
        return
    if not chosen:
        err.print("nothing to delete: " + (f"the {context_type} runs that match are among the newest {keep_last} "
                                           "(--keep-last)" if spared else f"no {context_type} run matches"),
                  markup=False)
    elif not any(total[f"deleted_{node}_ids"] for node in ("context", "execution", "artifact")):
        err.print("nothing to delete: the chosen runs hold only what is kept", markup=False)
    else:
        err.print("nothing deleted: add --yes to delete", markup=False)


_NAMED = 5  # kept ids of each kind the text summary names


def _kept_ids(result: PruneResult, run_names: dict[int, str]) -> str:
    """The first few kept ids of each kind, runs with their names: "run 14 (churn-3);
    execution 17; artifacts 3, 5, 8, 9, 12 and 4 more"."""
    kinds: list[tuple[str, list[str]]] = [
        ("run", [f"{i} ({as_piped(run_names[i])})" if i in run_names else str(i) for i in result.kept_context_ids]),
        ("execution", [str(i) for i in result.kept_execution_ids]),
        ("artifact", [str(i) for i in result.kept_artifact_ids])]
    return "; ".join(f"{kind if len(ids) == 1 else kind + 's'} {', '.join(ids[:_NAMED])}"
                     + (f" and {len(ids) - _NAMED:,} more" if len(ids) > _NAMED else "")
                     for kind, ids in kinds if ids)


def _totals(results: list[PruneResult]) -> PruneResult:
    """The batches' results as one: each node deleted by one of them, or kept by one and
    deleted by none (a node an earlier batch kept because a later run read it can go with
    that run's batch), each once."""
    deleted = {kind: {i for r in results for i in getattr(r, f"deleted_{kind}_ids")}
               for kind in ("context", "execution", "artifact")}
    kept = {kind: {i for r in results for i in getattr(r, f"kept_{kind}_ids")} - deleted[kind] for kind in deleted}
    return PruneResult(
        deleted_context_ids=sorted(deleted["context"]), deleted_execution_ids=sorted(deleted["execution"]),
        deleted_artifact_ids=sorted(deleted["artifact"]), kept_context_ids=sorted(kept["context"]),
        kept_execution_ids=sorted(kept["execution"]), kept_artifact_ids=sorted(kept["artifact"]),
        dry_run=all(r.dry_run for r in results))


# What `graphmd reset` reports, in this order (store.counts()'s keys).
_RESET_KINDS = ("artifacts", "executions", "contexts", "events", "attributions", "associations", "parent_contexts")


def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Delete. Without it, only print what would be deleted.")] = False,
    fmt: Format = TextFormat.text,
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
) -> None:
    """Delete everything in the store: every type, node and edge (MLMD's system types come back;
    ids go on from where they were). For a fresh start, or before `graphmd import`; `graphmd
    export` first keeps a copy.

    Prints what it would delete unless given --yes. Deletes in batches of 10,000 edges, then
    nodes, so a store of millions fits Neo4j's memory cap; interrupted, it leaves part of the
    store: run it again.
    """
    try:
        with command_store(uri, user, password, database, warn_of_unfinished_import=False) as store:
            counts = store.counts()
            user_types = len(store.get_artifact_types()) + len(store.get_execution_types()) + len(
                store.get_context_types())
            if yes:
                try:
                    _delete_everything(store, counts, quiet)
                except KeyboardInterrupt:  # its batches that committed are gone, and the store says so
                    err.print("interrupted: the store holds part of what it had (edges are deleted first); "
                              "run `graphmd reset --yes` again to empty it (until then commands warn of it)",
                              markup=False)
                    raise
    except GraphmdError as error:
        fail(error)
    found = {"types": user_types, **{kind: counts.get(kind, 0) for kind in _RESET_KINDS}}
    if fmt is TextFormat.json:
        print_json({"deleted": yes, **found})
        return
    verb = "deleted" if yes else "would delete"
    out.print(f"{verb}: " + ", ".join(count_of(n, kind) for kind, n in found.items()), markup=False)
    if not yes:
        err.print("nothing to delete: the store holds no types, nodes or edges" if not any(found.values())
                  else "nothing deleted: add --yes to delete", markup=False)


def _delete_everything(store: MetadataStore, counts: dict[str, int], quiet: bool) -> None:
    """store.delete_everything(), with a bar of the types, nodes and edges deleted so far (read
    from the store's counts, which cost Neo4j nothing to answer, twice a second)."""
    total = sum(counts.values())
    with progress_bar("deleting", quiet) as report:
        if report is None:
            store.delete_everything()
            return
        report(0, total)
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.5):
                try:
                    left = sum(store.counts().values())
                except GraphmdError:
                    continue  # the deletion meets it too, and says so
                if not stop.is_set():
                    report(max(0, total - left), total)

        watcher = threading.Thread(target=watch, name="graphmd-reset-progress", daemon=True)
        watcher.start()
        try:
            store.delete_everything()
        finally:
            stop.set()
            watcher.join()
        report(total, total)
