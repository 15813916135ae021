"""`graphmd import-mlmd` / `graphmd export-mlmd`: move metadata from ml-metadata into graphmd and back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.progress import Progress, ProgressColumn, TextColumn
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .._errors import AbortedError, GraphmdError, InvalidArgumentError, UnavailableError
from ._options import (Database, Password, Quiet, Uri, User, bars_shown, command_store, count_of, err, fail, progress_columns,
                       require_mlmd, table_lines)

Verify = Annotated[bool, typer.Option("--verify", help="Compare both stores node by node and edge by edge "
                                                       "(without it: the counts, types and a sample).")]
Sample = Annotated[int, typer.Option(min=0, help="Executions whose lineage subgraphs are compared when not --verify; "
                                                 "any difference found exits with status 1.", metavar="<int>")]
BatchSize = Annotated[int, typer.Option(min=1, help="Nodes read per page and written per transaction.", metavar="<int>")]


class _Rate(ProgressColumn):
    """Items per second."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


@contextlib.contextmanager
def _phases(quiet: bool) -> Iterator[Any]:
    """A progress bar per phase on stderr; yields the (phase, done, total) callback (None with
    -q, or when stderr is not a terminal)."""
    if not bars_shown(quiet):
        yield None
        return
    with Progress(*progress_columns(TextColumn("{task.description:>10}"), _Rate()), console=err) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _report(comparison: Any, written: dict[str, int], written_label: str, full: bool, sample: int) -> None:
    """Counts per kind on both sides, then what the comparison found (``full``: everything;
    else ``sample`` lineage subgraphs, none at 0)."""
    table = Table("kind", "ml-metadata", "graphmd", written_label, title="counts", title_justify="left")
    for kind, count in comparison.mlmd_counts.items():
        other = comparison.graphmd_counts.get(kind, 0)
        style = "" if count == other else "red"
        table.add_row(kind, f"{count:,}", f"{other:,}", f"{written.get(kind, 0):,}", style=style)
    if err.is_terminal:
        err.print(table)
    else:  # as piped tables are: a line a row, no borders or padding to grep through
        for line in ["counts", *table_lines(table)]:
            err.print(line, markup=False, highlight=False)
    how = "node by node and edge by edge" if full else "in a sample of lineage subgraphs"
    if not full and sample == 0:
        how = "with the counts (--sample 0: no lineage subgraph compared)"
    compared = sum(comparison.compared.values())
    if comparison.equal:
        what = "types" if not full and sample == 0 else "types, nodes and edges"
        err.print(f"[green]equal[/green]: {compared:,} {what} compared {how}")
        return
    err.print(f"[red]{comparison.difference_count:,} differences[/red] among {compared:,} items compared {how}:")
    for line in comparison.differences:
        err.print(f"  {line}", markup=False, highlight=False)
    if comparison.difference_count > len(comparison.differences):
        err.print(f"  ... and {comparison.difference_count - len(comparison.differences):,} more")


def _compare(mlmd_side: Any, graphmd_side: Any, mlmd_counts: dict[str, int], verify: bool, sample: int,
             as_stored: bool = False) -> Any:
    from ..mlmd import compare_all, compare_sample

    graphmd_counts = graphmd_side.store.counts()
    if verify:
        return compare_all(mlmd_side, graphmd_side, graphmd_counts, as_stored=as_stored)
    return compare_sample(mlmd_side, graphmd_side, mlmd_counts, graphmd_counts, sample=sample, as_stored=as_stored)


def _finish(comparison: Any, verify: bool) -> None:
    """Exit 1 when the comparison, sampled or full, found a difference."""
    if comparison.equal:
        return
    if verify:
        err.print("[red]verification failed[/red]: the stores differ")
    else:
        err.print("[red]the stores differ[/red]; run with --verify for a full comparison")
    raise typer.Exit(1)


def import_mlmd(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The ml-metadata store: a SQLite file, or "
                                               "mysql://user@host[:port]/database.")],
    mlmd_password: Annotated[Optional[str], typer.Option(envvar="GRAPHMD_MLMD_PASSWORD", show_default=False,
                                                         help="Password of a MySQL source "
                                                              "(default: $GRAPHMD_MLMD_PASSWORD).")] = None,
    verify: Verify = False, sample: Sample = 20, batch_size: BatchSize = 1000,
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
) -> None:
    """Copy an ml-metadata store into an empty graphmd store, keeping ids, names, external ids,
    states, properties and times; run it again to resume an interrupted import."""
    require_mlmd("import-mlmd")
    from ..mlmd import GraphmdReader, MlmdReader, open_store, parse_source
    from ..mlmd._import import import_from_reader

    started = False  # whether the import began writing: only then has a rerun something to resume
    try:
        mlmd_source = parse_source(source, password=mlmd_password)
        with command_store(uri, user, password, database, warn_of_unfinished_import=False) as store:
            reader = MlmdReader(open_store(mlmd_source), mlmd_source.name, page_size=batch_size)
            started = True
            try:
                with _phases(quiet) as progress:
                    result = import_from_reader(store, reader, progress=progress)
            except KeyboardInterrupt:
                err.print(f"[yellow]interrupted[/yellow]: run `graphmd import-mlmd {escape(mlmd_source.name)}` "
                          "again to finish the import")
                raise typer.Exit(130) from None
            err.print(f"imported {escape(mlmd_source.name)}")
            with _compare_interrupted("the import is complete"):
                comparison = _compare(reader, GraphmdReader(store, page_size=batch_size), result.read, verify, sample)
    except (UnavailableError, AbortedError) as error:
        # Neo4j or the source could not be reached before the import began, or the source could
        # not be read: there is nothing to resume.
        if not started or error.field == "source":
            fail(error)
        # Neo4j went away: what was written stays, and a rerun resumes from it.
        fail(error, then=f"then run `graphmd import-mlmd {escape(source)}` again: the import resumes where it stopped")
    except GraphmdError as error:
        fail(error)
    _report(comparison, result.written, "written now", verify, sample)
    _finish(comparison, verify)


@contextlib.contextmanager
def _compare_interrupted(done: str) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) while the copy is compared with its source: exit 130 saying that
    the copy itself finished and only the counts and sample comparison were skipped."""
    try:
        yield
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/yellow] while comparing: {done}; the counts and the sample comparison "
                  "were skipped (`graphmd info` counts the store)")
        raise typer.Exit(130) from None


def export_mlmd(
    target: Annotated[Path, typer.Argument(metavar="TARGET", help="The ml-metadata SQLite file to create (or an empty one).",
                                           dir_okay=False)],
    verify: Verify = False, sample: Sample = 20, batch_size: BatchSize = 1000,
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
) -> None:
    """Write the graphmd store into a new ml-metadata SQLite store, keeping ids and times."""
    require_mlmd("export-mlmd")
    if not target.absolute().parent.is_dir():
        fail(InvalidArgumentError(f"target: the directory {target.absolute().parent} does not exist", field="target"))
    from ..mlmd import GraphmdReader, MlmdReader, open_store, sqlite_source
    from ..mlmd import export_mlmd as export

    try:
        with command_store(uri, user, password, database) as store:
            before = store.counts()
            with _phases(quiet) as progress:
                result = export(store, target, batch_size=batch_size, progress=progress)
            err.print(f"exported to {escape(str(target))}")
            if result.rounded:
                err.print(f"[yellow]note[/yellow]: ml-metadata keeps a DOUBLE to six decimals and 15 significant digits; {result.rounded:,} "
                          f"values were rounded, e.g. {escape(', '.join(result.rounded_examples))}", highlight=False)
            if any(result.left_out.values()) or store.counts() != before:
                # The file holds the store as the export read it: compared with the store as it
                # is now, it differs by what was written meanwhile, which says nothing.
                left_out = ", ".join(count_of(n, kind) for kind, n in result.left_out.items() if n)
                err.print("note: the store was written during the export; the file holds it as the export read it"
                          + (f", less what was written after the export had passed what it refers to: {left_out}"
                             if left_out else "") + ". Not compared with the store, which has changed since; for an "
                          "exact copy, export while no pipeline writes", markup=False, highlight=False)
                if verify:
                    err.print("[red]verification failed[/red]: the store changed during the export")
                    raise typer.Exit(1)
                return
            written = sqlite_source(target)
            with _compare_interrupted(f"{escape(str(target))} is complete"):
                comparison = _compare(MlmdReader(open_store(written), written.name, page_size=batch_size),
                                      GraphmdReader(store, page_size=batch_size), result.written, verify, sample,
                                      as_stored=True)
    except GraphmdError as error:
        fail(error)
    _report(comparison, result.written, "written", verify, sample)
    _finish(comparison, verify)
