"""`graphmd export` / `graphmd import`: the whole store as JSON lines, and back."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from .._errors import GraphmdError, InvalidArgumentError
from ._options import Database, Password, Quiet, Uri, User, count_of, err, fail
from ._options import progress_bar as _progress


def export(
    file: Annotated[str, typer.Argument(metavar="FILE", help="Where to write the JSON lines; - for stdout.")] = "-",
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
) -> None:
    """Write the whole store (types, nodes, events, links; ids, times, properties) as JSON lines."""
    from .._export import export_store
    from .._store import MetadataStore

    partial = None
    try:
        with MetadataStore(uri, user, password, database) as store:
            if file == "-":
                with _progress("exporting", quiet) as progress:
                    counts = export_store(store, sys.stdout, progress=progress)
                sys.stdout.flush()
            else:
                path = Path(file)
                partial = path.with_name(path.name + ".partial")
                try:
                    out = partial.open("w", encoding="utf-8", newline="\n")
                except OSError as error:
                    partial = None
                    fail(InvalidArgumentError(f"file: cannot write {file}: {error.strerror}", field="file"))
                with out, _progress("exporting", quiet) as progress:
                    counts = export_store(store, out, progress=progress)
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


def import_(
    file: Annotated[str, typer.Argument(metavar="FILE", help="An export written by `graphmd export`; - for stdin "
                                             "(e.g. `zcat store.jsonl.gz | graphmd import -`).")],
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None, quiet: Quiet = False,
    batch_size: Annotated[int, typer.Option(help="Records written per transaction.")] = 2000,
) -> None:
    """Restore an export into an empty store, with the same ids, times, properties and edges."""
    from .._export import import_store
    from .._store import MetadataStore

    source: contextlib.AbstractContextManager[TextIO]
    if file == "-":
        source = contextlib.nullcontext(sys.stdin)
    else:
        try:
            source = Path(file).open(encoding="utf-8", newline="\n")
        except OSError as error:
            fail(InvalidArgumentError(f"file: cannot read {file}: {error.strerror}", field="file"))
    try:
        with source as fh, MetadataStore(uri, user, password, database) as store:
            with _progress("importing", quiet) as progress:
                counts = import_store(store, fh, progress=progress, batch_size=batch_size)
    except GraphmdError as error:
        fail(error)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]: the store may hold part of the export; empty it (`graphmd reset "
                  "--yes` with the same connection options) and import again")
        raise typer.Exit(130) from None
    summary = ", ".join(count_of(n, kind) for kind, n in counts.items())
    err.print(f"imported {summary}" + (" from stdin" if file == "-" else f" from {file}"))
