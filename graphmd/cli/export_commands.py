"""`graphmd export` / `graphmd import`: the whole store as JSON lines, and back; a file whose
name ends in .gz is written gzip-compressed, and import reads gzip (a file or stdin) as it is."""

from __future__ import annotations

import contextlib
import gzip
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional, TextIO

import typer

from .._errors import GraphmdError, InvalidArgumentError
from ._options import Database, Password, Quiet, Uri, User, command_store, count_of, err, fail
from ._options import progress_bar as _progress


@contextlib.contextmanager
def _gzip_writer(path: Path) -> Iterator[TextIO]:
    """Text written to ``path`` gzip-compressed. The gzip header records no file name and no
    time, so two exports of the same store are byte-identical, compressed as plain."""
    with path.open("wb") as raw:
        packed = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
        with io.TextIOWrapper(packed, encoding="utf-8", newline="\n") as text:  # closing it writes gzip's trailer
            yield text


def export(
    file: Annotated[str, typer.Argument(metavar="FILE", help="Where to write the JSON lines; - for stdout. A name "
                                                             "ending in .gz is written gzip-compressed.")] = "-",
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE",
                                                  help="Where to write (as the FILE argument: - for stdout, .gz compressed); the same as giving FILE.")] = None,
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
) -> None:
    """Write the whole store (types, nodes, events, links; ids, times, properties) as JSON lines."""
    from .._export import export_store

    if output is not None:
        if file != "-":
            raise typer.BadParameter(f"give FILE or --output, not both ({file!r} and {output!r})",
                                     param_hint="'--output'")
        file = output

    partial = None
    left_out: dict[str, int] = {}
    try:
        with command_store(uri, user, password, database) as store:
            if file == "-":
                with _progress("exporting", quiet) as progress:
                    counts = export_store(store, sys.stdout, progress=progress, left_out=left_out)
                sys.stdout.flush()
            else:
                path = Path(file)
                partial = path.with_name(path.name + ".partial")
                with contextlib.ExitStack() as stack:
                    try:
                        out = stack.enter_context(_gzip_writer(partial) if path.name.lower().endswith(".gz")
                                                  else partial.open("w", encoding="utf-8", newline="\n"))
                    except OSError as error:
                        partial = None
                        fail(InvalidArgumentError(f"file: cannot write {file}: {error.strerror}", field="file"))
                    with _progress("exporting", quiet) as progress:
                        counts = export_store(store, out, progress=progress, left_out=left_out)
                partial.replace(path)
                partial = None
    except GraphmdError as error:
        fail(error)
    except BrokenPipeError:
        raise  # the reader stopped reading (`| head`): click leaves quietly
    except OSError as error:  # the output's own failure (a full disk, a size limit), not Neo4j's
        fail(InvalidArgumentError(f"file: cannot write {'stdout' if file == '-' else file}: "
                                  f"{error.strerror or error}; the export is incomplete", field="file"))
    finally:
        if partial is not None:  # an export that did not finish leaves nothing behind
            partial.unlink(missing_ok=True)
    summary = ", ".join(count_of(n, kind) for kind, n in counts.items())
    err.print(f"exported {summary}" + ("" if file == "-" else f" to {file}"))
    if any(left_out.values()):
        err.print("note: the store was written during the export; left out, as written after the export had passed "
                  "what they refer to: " + ", ".join(count_of(n, kind) for kind, n in left_out.items() if n)
                  + ". The export imports whole; for an exact copy, export while no pipeline writes",
                  markup=False, highlight=False)


def import_(
    file: Annotated[str, typer.Argument(metavar="FILE", help="An export written by `graphmd export`, plain or "
                                             "gzip-compressed; - for stdin (e.g. `cat store.jsonl.gz | graphmd "
                                             "import -`).")],
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
    batch_size: Annotated[int, typer.Option(help="Records written per transaction.")] = 2000,
) -> None:
    """Restore an export into an empty store, with the same ids, times, properties and edges.
    A gzip-compressed export (a file or stdin) is read as it is."""
    from .._export import import_stopped, import_store, open_export

    try:
        source = open_export(sys.stdin.buffer, "<stdin>") if file == "-" else open_export(file)
    except OSError as error:
        fail(InvalidArgumentError(f"file: cannot read {file}: {error.strerror}", field="file"))
    except GraphmdError as error:
        fail(error)
    try:
        # stdin's wrapper is left open: closing it would close stdin itself.
        with (source if file != "-" else contextlib.nullcontext(source)) as fh, \
                command_store(uri, user, password, database, warn_of_unfinished_import=False) as store:
            with _progress("importing", quiet) as progress:
                counts = import_store(store, fh, progress=progress, batch_size=batch_size)
    except GraphmdError as error:
        written = getattr(error, "records_written", None)
        if written and isinstance(error.__cause__, GraphmdError):
            # What stopped it first, in the words a Neo4j gone away gets, then what it left.
            fail(error.__cause__, then=f"{import_stopped(written, getattr(error, 'records_in_doubt', 0))}, so the "
                                       "store holds part of the export: empty it (`graphmd reset --yes` with the same "
                                       "connection options) and import again")
        fail(error)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]: the store may hold part of the export; empty it (`graphmd reset "
                  "--yes` with the same connection options) and import again")
        raise typer.Exit(130) from None
    summary = ", ".join(count_of(n, kind) for kind, n in counts.items())
    err.print(f"imported {summary}" + (" from stdin" if file == "-" else f" from {file}"))
