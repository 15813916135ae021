"""What every `graphmd` command shares: the Neo4j connection options, the consoles, the error exit."""

from __future__ import annotations

from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

from .._errors import GraphmdError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

Uri = Annotated[Optional[str], typer.Option("--uri", help="Neo4j URI (default: $GRAPHMD_NEO4J_URI, the config file, "
                                                          "bolt://127.0.0.1:7687).")]
User = Annotated[Optional[str], typer.Option("--user", help="Neo4j user (default: $GRAPHMD_NEO4J_USER or neo4j).")]
Password = Annotated[Optional[str], typer.Option("--password", help="Neo4j password (default: $GRAPHMD_NEO4J_PASSWORD "
                                                                    "or the config file).", show_default=False)]
Database = Annotated[Optional[str], typer.Option("--database", help="Neo4j database (default: the server's default).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def fail(error: GraphmdError) -> NoReturn:
    """Print the error on stderr and exit 1."""
    err.print(f"[red]error:[/red] {error}")
    raise typer.Exit(1)
