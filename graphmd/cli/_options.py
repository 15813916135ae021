"""What every `graphmd` command shares: the Neo4j connection options, the consoles, the error exit."""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .._errors import GraphmdError, UnavailableError

out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)  # messages unbroken: paths stay copyable

# Piped or redirected, a table is as wide as its longest row: Rich would otherwise fit it to
# 80 columns and cut the values a user greps for.
_UNBOUNDED_WIDTH = 1_000_000


# Non-finite floats as protobuf's JSON mapping writes them (MLMD's own JSON): Python's bare
# NaN and Infinity tokens are not JSON, and jq and strict parsers reject the whole output.
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[repr(value)]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_text(data: Any, default: Callable[[Any], Any] | None = None) -> str:
    """``data`` as indented JSON for a command's output, NaN and infinities as the strings
    "NaN", "Infinity" and "-Infinity"; ``default`` turns what JSON cannot hold into what it
    can, as json.dumps' does."""
    return json.dumps(_finite(data), indent=2, allow_nan=False,
                      default=None if default is None else (lambda value: _finite(default(value))))


def count_of(n: int, kind: str) -> str:
    """``n`` of a store's ``kind`` (a plural such as ``parent_contexts``), in words: "1 context",
    "1,234 parent contexts"."""
    words = kind.replace("_", " ")
    return f"{n:,} {words[:-1] if n == 1 and words.endswith('s') else words}"


class _TextTable(Table):
    """A table of stored values: each cell is text as it is (not Rich markup, where a value
    such as '[/tmp]' is a closing tag), its line breaks written as \\n so a row stays one line."""

    def add_row(self, *cells: Any, **options: Any) -> None:
        super().add_row(*(Text(cell.replace("\n", "\\n")) if isinstance(cell, str) else cell for cell in cells),
                        **options)


def table(*columns: str) -> Table:
    """A borderless table with these column headers whose cells fold (never cut) a long value."""
    made = _TextTable(box=None, pad_edge=False)
    for column in columns:
        made.add_column(column, overflow="fold")
    return made


def print_table(made: Table) -> None:
    """Print a table on stdout: on a terminal, folded to its width; piped or redirected, one
    line per row however long, so that no value is cut or wrapped."""
    if out.is_terminal:
        out.print(made)
    else:  # Console.print(width=) cannot widen past the console's own width
        Console(highlight=False, width=_UNBOUNDED_WIDTH, emoji=False).print(made)


Uri = Annotated[Optional[str], typer.Option("--uri", help="Neo4j URI (default: $GRAPHMD_NEO4J_URI, the config file, "
                                                          "bolt://127.0.0.1:7687).")]
User = Annotated[Optional[str], typer.Option("--user", help="Neo4j user (default: $GRAPHMD_NEO4J_USER, the config "
                                                            "file, neo4j).")]
Password = Annotated[Optional[str], typer.Option("--password", help="Neo4j password (default: $GRAPHMD_NEO4J_PASSWORD "
                                                                    "or, for the URI it records, the config file).",
                                                  show_default=False)]
Database = Annotated[Optional[str], typer.Option("--database", help="Neo4j database (default: "
                                                                    "$GRAPHMD_NEO4J_DATABASE, the config file, "
                                                                    "the server's default).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


_UNREACHABLE_HINT = ("hint: `graphmd neo4j start` runs a local Neo4j (`graphmd neo4j status` shows it); for another "
                     "server pass --uri/--user/--password or set GRAPHMD_NEO4J_URI, GRAPHMD_NEO4J_USER and "
                     "GRAPHMD_NEO4J_PASSWORD.")


def fail(error: GraphmdError, *, then: str | None = None) -> NoReturn:
    """Print the error on stderr (with how to reach a Neo4j when none answered, and ``then``,
    what to do next, when given) and exit 1."""
    err.print(f"[red]error:[/red] {escape(str(error))}")
    # An ml-metadata store that cannot be opened (field source/target) is not a Neo4j problem.
    # Nor is a local server that failed to start (field home): its own log says why.
    if (isinstance(error, UnavailableError) and not error.commit_unknown
            and error.field not in ("source", "target", "home")
            and "graphmd neo4j start" not in error.message):  # MetadataStore's own hint says it
        err.print(_UNREACHABLE_HINT, markup=False)
    if then:
        err.print(then)
    raise typer.Exit(1)


@contextlib.contextmanager
def progress_bar(what: str, quiet: bool) -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on stderr; yields a (done, total) callback (None when ``quiet``).
    The bar appears with the first report, so a call refused before any work (a store that
    is not empty, a file that is not an export) prints its error alone."""
    if quiet:
        yield None
        return
    shown: list[tuple[Progress, TaskID]] = []

    def report(done: int, total: int | None) -> None:
        if not shown:
            bar = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                           transient=False)
            bar.start()
            shown.append((bar, bar.add_task(what, total=None)))
        bar, task = shown[0]
        bar.update(task, completed=done, total=total)

    try:
        yield report
    finally:
        for bar, _ in shown:
            bar.stop()


# The mlmd extra's modules, each with the distribution pip installs it from.
_MLMD_EXTRA = {"ml_metadata": "ml-metadata", "grpc": "grpcio", "grpc_health": "grpcio-health-checking",
               "prometheus_client": "prometheus-client"}


def require_mlmd(command: str, *also: str) -> None:
    """Exit 1 with what to install when ml-metadata, or another of the mlmd extra's modules
    ``command`` imports (``also``), is missing: ml-metadata alone (TFX brings it) is not the extra."""
    for module in ("ml_metadata", "grpc", *also):
        try:
            importlib.import_module(module)
        except ImportError as error:
            # graphmd is installed from its clone, not from PyPI (where the name is not ours).
            hint = "pip install '/path/to/graphmd-clone[mlmd]'"
            if module == "ml_metadata" and sys.version_info >= (3, 12):
                hint = (f"ml-metadata 1.17.1 ships wheels for Python 3.9-3.11 only (this is "
                        f"{sys.version_info.major}.{sys.version_info.minor}): run it from a Python 3.11 environment "
                        f"with {hint}, or use graphmd's Docker image")
            err.print(f"[red]error:[/red] `graphmd {command}` needs {_MLMD_EXTRA[module]}, of the mlmd extra: "
                      f"{escape(hint)} ({escape(str(error))})")
            raise typer.Exit(1) from error
