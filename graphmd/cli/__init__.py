"""The `graphmd` command line: each concern's commands live in a module of this package."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from .._errors import GraphmdError
from . import export_commands, mlmd_commands, neo4j_commands, prune_commands, serve_commands
from . import lineage_commands as read
from ._options import cause_of, fail

# The driver logs a lost connection itself; every command reports its failure as a graphmd
# error, so without a handler Python's last-resort one printed the driver's line as well, and
# so did the root handler ml-metadata's first log call installs (import-mlmd, export-mlmd).
# (`graphmd serve` configures logging and lets the driver's lines through to its log.)
logging.getLogger("neo4j").addHandler(logging.NullHandler())
logging.getLogger("neo4j").propagate = False

# What typer's choice check (a pydantic validator) puts before its message.
_VALIDATOR_PREFIX = "Value error, "


class _Group(TyperGroup):
    """graphmd's command group: says a value that is not one of an option's choices as click
    does ("'png' is not one of 'tree', 'json', ..."), without the "Value error, " typer's
    validator puts before it."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except GraphmdError as error:  # one a command did not report itself (an unusable config file, say)
            fail(error)
        except typer.BadParameter as error:
            if error.message.startswith(_VALIDATOR_PREFIX):
                error.message = error.message[len(_VALIDATOR_PREFIX):]
            raise


app = typer.Typer(
    cls=_Group,
    name="graphmd",
    help="ML metadata (MLMD's data model) in Neo4j: run the local server, read and trace the store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help, not Rich's panels: Rich cuts long option names (--max-receive-message…)
    # to fit a narrow terminal; click puts a long one on its own line and rewraps docstrings.
    rich_markup_mode=None,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"graphmd {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print graphmd's version and exit.")] = False) -> None:
    pass


# Click cuts a command's docstring to fit the command list ("..."), mid-clause; these fit whole.
_SUMMARIES = {
    "cypher-shell": "Neo4j's cypher-shell on the store's Neo4j.",
    "serve": "Serve MLMD's gRPC API (MetadataStoreService).",
    "export": "Write the whole store as JSON lines.",
    "import": "Restore an export into an empty store.",
    "import-mlmd": "Copy an ml-metadata store into graphmd.",
    "export-mlmd": "Write the store into a new ml-metadata SQLite file.",
    "prune": "Delete old pipeline runs, keeping what others came from.",
    "reset": "Delete everything in the store (prints what first).",
    "info": "Where graphmd connects, the schema, the store's counts.",
    "lineage": "Lineage of a node: tree, HTML, SVG, DOT, Mermaid, JSON.",
    "types": "List types with their properties.",
    "artifacts": "List artifacts, by id.",
    "executions": "List executions, by id.",
    "contexts": "List contexts, by id.",
    "show": "Show one node in full, with its events and contexts.",
    "query": "Run one of graphmd's Cypher queries; print its rows.",
    "compare": "Compare runs' properties and metrics side by side.",
    "diff": "Compare how artifacts were made: upstream and settings.",
    "neo4j": "Run a local Neo4j for graphmd: start, stop, status.",
}
app.add_typer(neo4j_commands.app, name="neo4j", short_help=_SUMMARIES["neo4j"])
app.command("cypher-shell", short_help=_SUMMARIES["cypher-shell"],
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(neo4j_commands.cypher_shell)
_COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    ("serve", serve_commands.serve), ("export", export_commands.export), ("import", export_commands.import_),
    ("import-mlmd", mlmd_commands.import_mlmd), ("export-mlmd", mlmd_commands.export_mlmd),
    ("prune", prune_commands.prune), ("reset", prune_commands.reset),
    *((c.__name__, c) for c in (read.info, read.lineage, read.types, read.artifacts, read.executions, read.contexts,
                                read.show, read.query, read.compare, read.diff)),
]
for _name, _command in _COMMANDS:
    app.command(_name, short_help=_SUMMARIES[_name])(_command)

class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (`timeout`, `kill`, a Kubernetes Job stopped, a closed terminal),
    raised where Ctrl-C's KeyboardInterrupt would be, so a command cleans up as it does
    for Ctrl-C: an export removes its .partial file, an import records that it stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# Seconds a command has to clean up after SIGTERM or SIGHUP before it is ended regardless: an
# exception raised inside the driver can leave it waiting on a connection it broke.
_CLEAN_UP_SECONDS = 10.0


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once
    # A supervisor that sent SIGTERM waits for an exit: give it one even if clean-up hangs.
    watchdog = threading.Timer(_CLEAN_UP_SECONDS, os._exit, args=(128 + signum,))
    watchdog.daemon = True  # a command that ends in time does not wait for it
    watchdog.start()
    raise _Terminated(signum)


def main() -> None:
    """Entry point of the `graphmd` script. Ctrl-C exits 130 quietly (typer's rule), also when
    the interruption surfaced as another error inside the driver (a BufferError from its
    socket buffer, say); SIGTERM and SIGHUP are handled as Ctrl-C is (unless ignored, as
    nohup does) and exit 128 + the signal. (A closed output, `graphmd export - | head`,
    exits 1 quietly: click's rule.) `graphmd serve` handles SIGTERM itself while it serves."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _terminate)
    try:
        app()
    except SystemExit as error:
        terminated = cause_of(error, _Terminated)  # typer makes any KeyboardInterrupt exit 130
        if terminated is not None and error.code == 130:
            sys.exit(128 + terminated.signum)
        raise
    except GeneratorExit:
        raise
    except BaseException as error:
        interrupt = cause_of(error, KeyboardInterrupt)
        if interrupt is not None:
            sys.exit(128 + interrupt.signum if isinstance(interrupt, _Terminated) else 130)
        raise
