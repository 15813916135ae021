"""What every `graphmd` command shares: the Neo4j connection options, the consoles, the error exit."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shlex
import socket
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn, Optional, TypeVar

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TaskID, TextColumn,
                           TimeElapsedColumn)
from rich.table import Table
from rich.text import Text

from .._codec import strict_json
from .._config import Settings, missing_config, read_config
from .._drawing import SHOWN_UNICODE_CONTROLS
from .._errors import GraphmdError, UnauthenticatedError, UnavailableError
from .._store import MetadataStore


class _Stdout:
    """sys.stdout as it is when written to (tests swap it), written in pieces: write_stdout."""

    def write(self, text: str) -> int:
        write_stdout(text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.stdout, name)


out = Console(file=_Stdout(), highlight=False, soft_wrap=True, emoji=False)  # type: ignore[arg-type]
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)  # messages unbroken: paths stay copyable


def json_text(data: Any, default: Callable[[Any], Any] | None = None) -> str:
    """``data`` as indented JSON for a command's output, NaN and infinities as the strings
    "NaN", "Infinity" and "-Infinity"; ``default`` turns what JSON cannot hold into what it
    can, as json.dumps' does."""
    return json.dumps(strict_json(data), indent=2, allow_nan=False,
                      default=None if default is None else (lambda value: strict_json(default(value))))


_STDOUT_PIECE = 65536


def write_stdout(text: str) -> None:
    """Write ``text`` on stdout in pieces of 64 KiB. Raises BrokenPipeError when the reader
    stops early (`| head`; the CLI then exits 1): one write of a larger string is cut short
    by the closed pipe without an error, so a cut-off output would exit 0."""
    for start in range(0, len(text), _STDOUT_PIECE):
        sys.stdout.write(text[start:start + _STDOUT_PIECE])


def print_json(data: Any, default: Callable[[Any], Any] | None = None) -> None:
    """Write ``data`` as a command's JSON output (json_text) on stdout, straight to the
    stream: a listing of 100,000 nodes is tens of megabytes, which Rich would lay out as text
    first (14 s and 1 GB for 70,000 artifacts)."""
    write_stdout(json_text(data, default) + "\n")
    sys.stdout.flush()


def count_of(n: int, kind: str) -> str:
    """``n`` of a store's ``kind`` (a plural such as ``parent_contexts``), in words: "1 context",
    "1,234 parent contexts"."""
    words = kind.replace("_", " ")
    return f"{n:,} {words[:-1] if n == 1 and words.endswith('s') else words}"


# Columns whose values are short keys (an id, a type, a compared field): never wrapped on a
# terminal, so a row is found by them at a glance. Every other value wraps at its spaces, and
# a word too long for its column is cut with an ellipsis, never broken mid-token.
_KEY_COLUMNS = frozenset({"", "id", "kind", "type", "field", "version", "base type"})


class _TextTable(Table):
    """A table of stored values: each cell is text as it is (not Rich markup, where a value
    such as '[/tmp]' is a closing tag). On a terminal a value of several lines (a FAILED
    step's traceback) shows its first line and an ellipsis (see _cell); piped or redirected it
    is written whole, its line breaks as \\n, so a row stays one line. Control characters
    (a tab, a NUL, an ESC) are written as escapes (\\t, \\x00, \\x1b) either way."""

    def add_row(self, *cells: Any, **options: Any) -> None:
        super().add_row(*(_cell(cell) if isinstance(cell, str) else cell for cell in cells), **options)


# Control characters in a stored value, written as escapes: a tab or a NUL printed raw made a
# piped row two fields for `cut` or binary for `grep`, and an ESC on a terminal is the start of
# an escape sequence. Piped, line breaks are escapes too (a row is one line); on a terminal
# they split the value (see _cell). Escaped too: C1 controls (0x9B starts an escape sequence
# on some terminals, 0x85 is a line break to some readers), the line and paragraph separators,
# and the bidirectional marks, overrides and isolates (they show a cell's text in another
# order than it reads, and can carry that over the cells after it).
_SHOWN_ESCAPES = {**{c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if c not in (0x0A, 0x0D)},
                  **SHOWN_UNICODE_CONTROLS,
                  0x09: "\\t"}
_PIPED_ESCAPES = {**_SHOWN_ESCAPES, 0x0A: "\\n", 0x0D: "\\r"}


def as_piped(value: str) -> str:
    """A table cell's text as piped output writes it: one line, control characters escaped."""
    return value.translate(_PIPED_ESCAPES)


def _cell(value: str) -> Text:
    """A cell's text. On a terminal, a cell with line breaks keeps its first line and what
    follows its last line break, with " … " for the lines between: a cell that is one value
    shows that value's first line; one that joins several (an execution's properties, a
    compared value and the execution it came from) keeps the values after a multi-line one
    (which ends with its line break, as a traceback does)."""
    if not out.is_terminal:
        return Text(as_piped(value))
    if "\n" not in value and "\r" not in value:
        return Text(_at_most(value.translate(_SHOWN_ESCAPES)))
    value = value.translate(_SHOWN_ESCAPES)
    lines = value.splitlines()
    first, last = lines[0].rstrip(), (lines[-1].strip() if len(lines) > 1 else "")
    return Text(_at_most(f"{first} …" + (f" {last}" if last else "")))


# The most characters of one cell a terminal table shows: a STRUCT of 10,000 keys wrapped over
# thousands of lines, a screenful a row.
CELL_MAX = 500


def _at_most(text: str) -> str:
    """A terminal cell's text, cut after CELL_MAX characters with a note of how many more."""
    if len(text) <= CELL_MAX:
        return text
    return f"{text[:CELL_MAX]} … ({len(text) - CELL_MAX:,} more characters: --format json or piped has them)"


def table(*columns: str) -> Table:
    """A borderless table with these column headers. On a terminal a key column (id, type,
    field) is never wrapped, other values wrap at spaces (a word too long is cut with an
    ellipsis); piped, nothing is cut (see print_table)."""
    made = _TextTable(box=None, pad_edge=False)
    for column in columns:
        # A header may be a stored value (compare's run names): text as a cell's, not Rich markup.
        made.add_column(_cell(column), overflow="ellipsis", no_wrap=column in _KEY_COLUMNS)
    return made


def print_table(made: Table) -> None:
    """Print a table on stdout: on a terminal, fitted to its width; piped or redirected, one
    line per row however long (Rich would fit it to 80 columns and cut the values a user greps
    for), so that no value is cut or wrapped, without the padding that would make every row as
    long as the longest."""
    if out.is_terminal:
        out.print(made)
        return
    for line in table_lines(made):
        write_stdout(line + "\n")
    sys.stdout.flush()


def table_lines(made: Table) -> list[str]:
    """A table as print_table prints it piped: one line per row, each column as wide as its
    widest cell, two spaces between columns, no trailing spaces (cells are single lines here:
    _cell). Laid out here rather than by Rich, whose layout of a 70,000-row listing took 29 s."""
    columns = [[column.header, *column.cells] for column in made.columns]  # a header is a cell too (table)
    texts = [[cell.plain if isinstance(cell, Text) else str(cell) for cell in cells] for cells in columns]
    widths = [max(map(cell_len, cells)) for cells in texts]
    return ["  ".join(text + " " * (width - cell_len(text)) for text, width in zip(row, widths, strict=True)).rstrip()
            for row in zip(*texts, strict=True)]


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


def command_store(uri: str | None, user: str | None, password: str | None, database: str | None, *,
                  warn_of_unfinished_import: bool = True) -> MetadataStore:
    """The command's MetadataStore. Unless told not to (commands that report an unfinished
    import themselves, finish one or empty the store), warn on stderr when the store holds an
    import that did not finish: what the command reads is then part of an export. One small
    read on the connection the store opened anyway.

    Raises:
        GraphmdError: as MetadataStore (no Neo4j, refused credentials...).
    """
    from .._export import unfinished_import

    store = MetadataStore(uri, user, password, database)
    if warn_of_unfinished_import:
        try:
            found = unfinished_import(store)
        except GraphmdError:  # the command meets the same trouble, and says so
            found = None
        if found:
            err.print(f"[yellow]warning[/yellow]: {escape(found)}")
    return store


def fail(error: GraphmdError, *, then: str | None = None, settings: Settings | None = None) -> NoReturn:
    """Print the error on stderr (with how to reach a Neo4j when none answered, and ``then``,
    what to do next, when given) and exit 1. A Neo4j that cannot be reached, or that refused
    a password other than the config file's for it, is said in one line, in plain words (see
    unreachable and refused_password); ``settings``: the connection that failed, when no
    MetadataStore made it. An error an interruption caused (Ctrl-C, SIGTERM or SIGHUP raised
    inside the driver, which then failed on its half-read answer) is that interruption again:
    the command ends as interrupted (130, or 128 + the signal), not with the driver's error."""
    interrupt = cause_of(error, KeyboardInterrupt)
    if interrupt is not None:
        raise interrupt
    plain = unreachable(error, settings) or refused_password(error, settings)
    if plain is not None:
        err.print(f"[red]error:[/red] {escape(plain)}")
    else:
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


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it was raised from or while handling, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__context__, current.__cause__]


_E = TypeVar("_E", bound=BaseException)


def cause_of(error: BaseException, kind: type[_E]) -> _E | None:
    """``error`` if it is a ``kind``, else the first ``kind`` it was raised from or while handling."""
    return next((e for e in _chain(error) if isinstance(e, kind)), None)


def _settings_of(error: BaseException) -> Settings | None:
    """The connection settings of the MetadataStore that failed to connect: MetadataStore
    raises with its settings in hand (``self.settings`` in the frames of its traceback)."""
    for current in _chain(error):
        tb = current.__traceback__
        while tb is not None:
            found = getattr(tb.tb_frame.f_locals.get("self"), "settings", None)
            if isinstance(found, Settings):
                return found
            tb = tb.tb_next
    return None


_URI_IN_MESSAGE = re.compile(r"\bat ((?:bolt|neo4j)(?:\+ssc|\+s)?://\S+?):?\s")


def _why_unreachable(error: BaseException, host: str) -> tuple[str, str] | None:
    """(kind, plain words) of why no connection to Neo4j could be made: kind "refused",
    "timeout", "dns", "http" or "network"; None when the chain holds no such cause (the
    credentials were refused, say)."""
    for current in _chain(error):
        if isinstance(current, ConnectionRefusedError):
            return "refused", "connection refused (no server listens there)"
        if isinstance(current, (TimeoutError, socket.timeout)) or type(current).__name__ in (
                "ConnectionAcquisitionTimeoutError", "ConnectionAcquisitionTimeout"):
            return "timeout", "no answer in time (connection timed out)"
        if isinstance(current, socket.gaierror):
            return "dns", f"the host name {host!r} does not resolve (DNS: {current.strerror or current})"
        if type(current).__name__ == "ServiceUnavailable" and "looks like HTTP" in str(current):
            return "http", ("the server there speaks HTTP, not Bolt (Neo4j Browser's port? Bolt is on 7687 "
                            "by default)")
    for current in _chain(error):
        if isinstance(current, OSError) and current.errno:
            return "network", (current.strerror or os.strerror(current.errno)).lower()
    return None


def _where_from(origin: str) -> str:
    if origin == "arguments":
        return " (from --uri)"
    if origin == "defaults":
        missing = missing_config()
        return " (the default: no --uri, GRAPHMD_NEO4J_URI or config file gave one" + (
            f"; {missing})" if missing else ")")
    return f" (from {origin})"


def unreachable(error: GraphmdError, settings: Settings | None = None) -> str | None:
    """One line for a Neo4j that could not be reached, in plain words (None for any other
    error): when the config file records a local server (`graphmd neo4j start`) at that
    address, that it is not running and how to start it; else the URI, where it came from,
    and why (connection refused, timed out, a host name that does not resolve)."""
    if not isinstance(error, UnavailableError) or error.commit_unknown or error.field in ("source", "target", "home"):
        return None
    settings = settings or _settings_of(error)
    found = _URI_IN_MESSAGE.search(error.message)
    uri = settings.uri if settings is not None else found.group(1) if found else None
    if uri is None:
        return None
    try:
        host = urllib.parse.urlsplit(uri).hostname or uri
    except ValueError:
        host = uri
    why = _why_unreachable(error, host)
    if why is None:
        return None
    kind, words = why
    from .._config import same_server

    config = read_config()
    home, recorded = config.get("home"), config.get("uri")
    if home and recorded and kind in ("refused", "timeout") and same_server(str(recorded), uri):
        return _local_not_answering(str(home), uri, words)
    origin = _where_from(settings.sources.get("uri", settings.source)) if settings is not None else ""
    hint = ""
    if settings is not None and settings.sources.get("uri", settings.source) == "defaults" and kind == "refused":
        hint = "; `graphmd neo4j start` runs a local Neo4j, --uri or GRAPHMD_NEO4J_URI names another"
    return f"cannot reach Neo4j at {uri}{origin}: {words}{hint}"


def refused_password(error: GraphmdError, settings: Settings | None = None) -> str | None:
    """One line for credentials Neo4j refused (None for any other error) when the config file
    records another password for that very server, the local one `graphmd neo4j start` set
    up: the password tried came from GRAPHMD_NEO4J_PASSWORD (the demo's `export` line sets
    it) or --password, and would otherwise have been the recorded one; or none was given."""
    if not isinstance(error, UnauthenticatedError):
        return None
    settings = settings or _settings_of(error)
    if settings is None:
        return None
    from .._config import config_path, same_server

    config = read_config()
    recorded, home = config.get("password"), config.get("home")
    origin = settings.sources.get("password", settings.source)
    if settings.password is None:
        if recorded and config.get("uri") and not same_server(str(config["uri"]), settings.uri):
            return (f"Neo4j at {settings.uri} needs a password and none was given: {config_path()} records only "
                    f"the one of {config['uri']}; pass --password or set GRAPHMD_NEO4J_PASSWORD")
        return (f"Neo4j at {settings.uri} needs a password and none was given: pass --password or set "
                "GRAPHMD_NEO4J_PASSWORD (a local Neo4j of your own: `graphmd neo4j start` records its password "
                "in the config file, where graphmd finds it)")
    if (not recorded or recorded == settings.password or origin not in ("GRAPHMD_NEO4J_PASSWORD", "arguments")
            or not config.get("uri") or not same_server(str(config["uri"]), settings.uri)):
        return None
    where = f"the local Neo4j of {home}" if home else "the server it records"
    drop = "`unset GRAPHMD_NEO4J_PASSWORD`" if origin == "GRAPHMD_NEO4J_PASSWORD" else "leave out --password"
    left = " (left over from an `export` line such as the demo's?)" if origin == "GRAPHMD_NEO4J_PASSWORD" else ""
    return (f"Neo4j at {settings.uri} refused the password from {'--password' if origin == 'arguments' else origin}"
            f"{left}: {config_path()} records another one for this server, {where}; {drop} to use that one")


def _local_not_answering(home: str, uri: str, words: str) -> str:
    """The message for the local server the config file records, which did not answer."""
    from .._local_neo4j import LocalNeo4j

    start = "graphmd neo4j start"
    chosen = os.environ.get("GRAPHMD_NEO4J_HOME")
    if chosen and os.path.realpath(chosen) != os.path.realpath(home):  # a plain start would start that one
        start += f" --home {shlex.quote(home)}"
    try:
        pid = LocalNeo4j(home).pid()
    except GraphmdError:
        pid = None
    if pid is None:
        return f"the local Neo4j of {home} is not running (nothing answers at {uri}): start it with `{start}`"
    return (f"the local Neo4j of {home} (pid {pid}) does not answer at {uri}: {words}; it may be starting or "
            "stopping: `graphmd neo4j status` says whether it runs")


class _TimeLeft(ProgressColumn):
    """The time left at the rate so far ("0:01:23 left"); nothing once done or when there is
    no total to reach."""

    max_refresh = 0.5  # a steadier estimate than on every frame

    def render(self, task: Any) -> Text:
        if task.finished or task.total is None:
            return Text("")
        left = task.time_remaining
        if left is None:
            return Text("-:--:-- left", style="progress.remaining")
        minutes, seconds = divmod(int(left), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"{hours}:{minutes:02d}:{seconds:02d} left", style="progress.remaining")


def progress_columns(label: ProgressColumn, *more: ProgressColumn) -> list[ProgressColumn]:
    """The columns of graphmd's progress bars: ``label``, the bar, done/total, ``more``, the
    time so far and the time left."""
    return [label, BarColumn(), MofNCompleteColumn(), *more, TimeElapsedColumn(), _TimeLeft()]


def bars_shown(quiet: bool) -> bool:
    """Whether to draw progress bars: not with -q, and only on a terminal (piped or redirected,
    stderr gets messages only, never a bar's frames)."""
    return not quiet and err.is_terminal


@contextlib.contextmanager
def progress_bar(what: str, quiet: bool) -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on stderr; yields a (done, total) callback (None when ``quiet`` or
    when stderr is not a terminal). The bar appears with the first report, so a call refused
    before any work (a store that is not empty, a file that is not an export) prints its
    error alone."""
    if not bars_shown(quiet):
        yield None
        return
    shown: list[tuple[Progress, TaskID]] = []

    def report(done: int, total: int | None) -> None:
        if not shown:
            bar = Progress(*progress_columns(TextColumn(what)), console=err, transient=False)
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
            from ..mlmd import install_hint

            hint = install_hint()
            err.print(f"[red]error:[/red] `graphmd {command}` needs {_MLMD_EXTRA[module]}, of the mlmd extra: "
                      f"{escape(hint)} ({escape(str(error))})")
            raise typer.Exit(1) from error
