"""`graphmd neo4j start|stop|status`: the local Neo4j server; `graphmd cypher-shell`: Neo4j's shell
connected to the store's Neo4j."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated, Optional

import typer

from .._config import Settings, config_path, open_driver, read_config, refused_field, resolve_settings
from .._cypher_shell import CYPHER_SHELL_VERSION, cypher_shell_command
from .._errors import (GraphmdError, InvalidArgumentError, NotFoundError, UnauthenticatedError, UnavailableError,
                       map_driver_errors)
from .._local_neo4j import LocalNeo4j
from ._options import Database, Password, Uri, User, err, fail

app = typer.Typer(help="Run a local Neo4j (Community 5.26, from Maven Central) for graphmd.", no_args_is_help=True)

Home = Annotated[Optional[Path], typer.Option("--home", help="Server home (conf, data, logs); default: "
                                               "$GRAPHMD_NEO4J_HOME, else the home last started (recorded in "
                                               "the config file: $GRAPHMD_CONFIG, else "
                                               "$XDG_CONFIG_HOME/graphmd/config.toml, by default "
                                               "~/.config/graphmd/config.toml), else $XDG_DATA_HOME/graphmd/neo4j "
                                               "(by default ~/.local/share/graphmd/neo4j).")]
BoltPort = Annotated[Optional[int], typer.Option("--bolt-port", help="Bolt port (default 7687, or as last started).")]
HttpPort = Annotated[Optional[int], typer.Option("--http-port", help="HTTP port for Neo4j Browser (default 7474, or as "
                                                                  "last started).")]


# LocalNeo4j's arguments that are `graphmd neo4j start` options of the same name.
_OPTION_FIELDS = ("bolt_port", "http_port", "heap", "pagecache")


@app.command(short_help="Start the local Neo4j (fetching its jars once); wait for Bolt.")
def start(home: Home = None, bolt_port: BoltPort = None, http_port: HttpPort = None,
          password: Annotated[Optional[str], typer.Option(help="Password of the neo4j user (default: "
                                                          "$GRAPHMD_NEO4J_PASSWORD, the config file, or generated).",
                                                          show_default=False)] = None,
          heap: Annotated[Optional[str], typer.Option(help="JVM heap size (default 1g, or as last started).",
                                                      show_default=False)] = None,
          pagecache: Annotated[Optional[str], typer.Option(help="Neo4j page cache size (default 512m, or as last "
                                                           "started).", show_default=False)] = None,
          timeout: Annotated[float, typer.Option(help="Seconds to wait for Bolt to answer.")] = 120.0,
          setting: Annotated[Optional[list[str]], typer.Option(
              "--setting", metavar="KEY=VALUE", help="A neo4j.conf setting for this start, e.g. "
              "db.memory.transaction.max=256m (repeatable; neo4j.conf is rewritten on every start, so pass it "
              "each time).")] = None) -> None:
    """Start the server (resolving its jars on first use) and wait until it answers.

    It records its URI, password and home in the config file ($GRAPHMD_CONFIG, else
    $XDG_CONFIG_HOME/graphmd/config.toml, by default ~/.config/graphmd/config.toml), where
    MetadataStore(), the other commands and `graphmd neo4j status|stop` find them.
    """
    # The options are checked first: a bad one is a usage mistake also when the home runs.
    try:
        settings = dict(_setting(text) for text in setting or [])
        try:
            server = LocalNeo4j(home, bolt_port=bolt_port, http_port=http_port, password=password, heap=heap,
                                pagecache=pagecache, settings=settings)
        except InvalidArgumentError as error:
            if error.field in _OPTION_FIELDS:  # a value the option does not take: a usage mistake (exit 2)
                raise typer.BadParameter(error.message.removeprefix(f"{error.field}: "),
                                         param_hint=f"'--{error.field.replace('_', '-')}'") from error
            raise
    except GraphmdError as error:
        fail(error)
    running = LocalNeo4j(home)  # with the ports it was started with, not the ones given now
    pid = running.pid()
    if pid is not None:
        typer.echo(f"Neo4j is already running in {running.home} (pid {pid}); nothing started. To start it with "
                   "other options, run `graphmd neo4j stop` first.")
        for line in running.status().lines():
            typer.echo(line)
        recorded = read_config().get("home")
        if not recorded or Path(str(recorded)).resolve() != running.home:
            if running.record():  # as a start would: this home is the one asked for
                typer.echo(f"note:          MetadataStore() and the graphmd CLI now use this server ({config_path()} "
                           "records it)" + (f", no longer the one of home {recorded}" if recorded else ""))
            elif recorded:
                typer.echo(f"note:          MetadataStore() and the graphmd CLI use the server {config_path()} records "
                           f"(home {recorded}), not this one: its password is not kept in its home")
        return
    try:
        previous = read_config().get("home")
        with err.status("starting Neo4j...") as status:
            st = server.start(timeout=timeout, say=lambda m: status.update(m))
    except GraphmdError as error:
        fail(error)
    except KeyboardInterrupt:
        err.print("interrupted: nothing was left running (the Neo4j this start had launched, if any, was stopped) and "
                  "the config file is as it was", markup=False)
        raise typer.Exit(130) from None
    for line in st.lines():
        typer.echo(line)
    if server.record_in_config and not config_path().is_file():  # GRAPHMD_CONFIG=/dev/null, say
        typer.echo(f"credentials:   user neo4j, password in {server.home / 'graphmd-server.json'} (mode 0600); not "
                   f"recorded in {config_path()}, no regular file: give GRAPHMD_NEO4J_URI and GRAPHMD_NEO4J_PASSWORD "
                   "to reach it")
    elif server.record_in_config:
        typer.echo(f"credentials:   user neo4j, password in {config_path()} (mode 0600); MetadataStore() and "
                   "the graphmd CLI read them from there")
        if previous and Path(str(previous)).resolve() != server.home:
            typer.echo(f"note:          MetadataStore() and the graphmd CLI now use this server, no longer the one of "
                       f"home {previous} (`graphmd neo4j start --home {previous}` points them back)")


def _setting(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():  # a usage mistake (exit 2), as --heap lots is
        raise typer.BadParameter(f"{text!r} is not KEY=VALUE (e.g. db.memory.transaction.max=256m)",
                                 param_hint="'--setting'")
    return key.strip(), value.strip()


def _server_in(home: Path | None) -> LocalNeo4j:
    """The server of ``home`` (default as for --home); exit 1 when no server was ever set up there."""
    server = LocalNeo4j(home)
    if not server.has_home():
        fail(NotFoundError(f"no Neo4j home at {server.home} (no conf/neo4j.conf there); `graphmd neo4j start "
                           f"--home {server.home}` makes one", field="home"))
    return server


@app.command(short_help="Stop the Neo4j started from this home.")
def stop(home: Home = None,
         timeout: Annotated[float, typer.Option(help="Seconds to wait for it to exit after SIGTERM, before "
                                                     "SIGKILL.")] = 60.0) -> None:
    """Stop the server started from this home (never another process); return once it has exited."""
    server = _server_in(home)
    try:
        with err.status("stopping Neo4j..."):
            stopped = server.stop(timeout=timeout, say=lambda m: err.print(m, markup=False))
    except GraphmdError as error:
        fail(error)
    typer.echo(f"Neo4j {'stopped' if stopped else 'was not running'} (home {server.home})")


@app.command(short_help="Is it running: URI, pid, data directory, version.")
def status(home: Home = None) -> None:
    """Print whether the server runs, its URI, pid, data directory and version; exit 3 when it is stopped."""
    st = _server_in(home).status()
    for line in st.lines():
        typer.echo(line)
    if not st.running:
        raise typer.Exit(3)



def cypher_shell(
    ctx: typer.Context,
    uri: Uri = None, user: User = None, password: Password = None, database: Database = None,
) -> None:
    """Run Neo4j's cypher-shell on the store's Neo4j; every other argument goes to cypher-shell.

    graphmd's Cypher files run as they are, their parameters given as one map:

    \b
      graphmd cypher-shell -f cypher/lineage_upstream.cypher \\
          -P '{artifact_id: 42, max_hops: null}'

    `-f lineage_upstream` (a query's name, as `graphmd query` lists them) runs graphmd's copy
    from any directory. With no arguments it is interactive (`:param artifact_id => 42`, paste a query and end it with `;`, then `:exit`).
    cypher-shell's own options: `graphmd cypher-shell -- --help`. Its jars come from Maven
    Central on first use (Java 17+ and Maven needed, as for `graphmd neo4j start`).
    """
    settings: Settings | None = None
    try:
        settings = resolve_settings(uri, user, password, database)
        with err.status(f"starting cypher-shell {CYPHER_SHELL_VERSION}...") as status:
            if "--help" not in ctx.args and "--version" not in ctx.args:
                _check_connection(settings)
            command, env = cypher_shell_command(settings, ctx.args, say=status.update)
    except GraphmdError as error:
        fail(error, settings=settings)
    raise typer.Exit(subprocess.run(command, env=env, check=False).returncode)


def _check_connection(settings: Settings) -> None:
    """Connect as cypher-shell will, so that a Neo4j that is not running or refuses the password
    is said as the other commands say it (which server, where its settings came from, what to
    do) rather than in cypher-shell's words ("Unable to connect to 127.0.0.1:7687", "The
    client is unauthorized due to authentication failure"). Writes nothing.

    Raises:
        UnavailableError: Neo4j does not answer (field uri).
        UnauthenticatedError: it refused the credentials (field password).
    """
    try:
        with map_driver_errors(settings.uri), open_driver(settings) as driver:
            driver.verify_connectivity()
    except (UnavailableError, UnauthenticatedError) as error:
        raise type(error)(f"{error.message}; settings used: {settings.described()}",
                          field=refused_field(error)) from error
