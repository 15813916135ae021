"""The `graphmd` command line: each concern's commands live in a module of this package."""

from __future__ import annotations

import logging

import typer

from . import export_commands, mlmd_commands, neo4j_commands, prune_commands, serve_commands
from . import lineage_commands as read

# The driver logs a lost connection itself; every command reports its failure as a graphmd
# error, so without a handler Python's last-resort one printed the driver's line as well.
# (`graphmd serve` configures logging, and the driver's lines reach its log.)
logging.getLogger("neo4j").addHandler(logging.NullHandler())

app = typer.Typer(
    name="graphmd",
    help="ML metadata (MLMD's data model) in Neo4j: run the local server, read and trace the store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help, not Rich's panels: Rich cuts long option names (--max-receive-message…)
    # to fit a narrow terminal; click puts a long one on its own line and rewraps docstrings.
    rich_markup_mode=None,
)
app.add_typer(neo4j_commands.app, name="neo4j")
app.command("cypher-shell", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    neo4j_commands.cypher_shell)
app.command("serve")(serve_commands.serve)
app.command("export")(export_commands.export)
app.command("import")(export_commands.import_)
app.command("import-mlmd")(mlmd_commands.import_mlmd)
app.command("export-mlmd")(mlmd_commands.export_mlmd)
app.command("prune")(prune_commands.prune)
for _read_command in (read.info, read.lineage, read.types, read.artifacts, read.executions, read.contexts, read.show, read.query,
                      read.compare, read.diff):
    app.command()(_read_command)


def main() -> None:
    """Entry point of the `graphmd` script."""
    app()
