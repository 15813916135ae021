"""Neo4j's cypher-shell, connected the way graphmd connects: `graphmd cypher-shell`.

The cypher/ files run in it as they are (`-f cypher/lineage_upstream.cypher -P '{artifact_id:
42, max_hops: null}'`); `-f lineage_upstream` finds graphmd's copy from any directory. Its jars come from Maven Central once, into graphmd's cache, as the
local server's do; it needs Java 17+ and, the first time, Maven.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from . import _cypher_files as cypher_files
from ._config import Settings, cache_dir
from ._errors import FailedPreconditionError, NotFoundError
from ._local_neo4j import DOCKER_HINT, find_java, resolve_jars

__all__ = ["CYPHER_SHELL_VERSION", "ensure_cypher_shell", "cypher_shell_command"]

CYPHER_SHELL_VERSION = "5.26.30"
_POM = Path(__file__).with_name("neo4j_server") / "cypher-shell.xml"
_MAIN = "org.neo4j.shell.Main"


def ensure_cypher_shell(say: Callable[[str], None] = lambda _: None) -> Path:
    """The directory of cypher-shell's jars, resolving them with Maven on first use.

    Raises:
        FailedPreconditionError: mvn is missing (and nothing is cached) or Maven failed.
    """
    return resolve_jars(_POM, cache_dir() / f"cypher-shell-{CYPHER_SHELL_VERSION}" / "lib",
                        f"cypher-shell {CYPHER_SHELL_VERSION}", say=say)


def cypher_shell_command(settings: Settings, args: Sequence[str], *,
                         say: Callable[[str], None] = lambda _: None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run cypher-shell against ``settings``' Neo4j
    with ``args`` after graphmd's address, user and database. The password goes in the
    environment (NEO4J_PASSWORD), never on the command line where `ps` shows it.

    Raises:
        NotFoundError: a -f/--file names no file and no query (see _packaged_files).
        FailedPreconditionError: no Java 17+, or cypher-shell's jars cannot be resolved.
    """
    files = _packaged_files(args)
    try:
        java = find_java()
        lib = ensure_cypher_shell(say)
    except FailedPreconditionError as error:
        # Their hints are for running Neo4j (a Docker Neo4j brings no cypher-shell here).
        cause = error.message.split(DOCKER_HINT)[0].rstrip(" ,;:")
        raise FailedPreconditionError(
            f"cypher-shell cannot run here: {cause}. Without it, `graphmd query NAME -p ...` runs graphmd's "
            "cypher/ files from Python, and Neo4j Browser runs any Cypher", field=error.field) from error
    command = [java, "-cp", f"{lib}/*", _MAIN, "-a", settings.uri, "-u", settings.user]
    if settings.database:
        command += ["-d", settings.database]
    env = {**os.environ, "NEO4J_PASSWORD": settings.password or ""}
    return [*command, *files], env


def _packaged_files(args: Sequence[str]) -> list[str]:
    """``args`` with each -f/--file that names no file but one of graphmd's queries (by name,
    or as cypher/<name>.cypher) pointed at the installed copy, so the files run from anywhere.

    Raises:
        NotFoundError: a bare name (no directory, no suffix) that is neither a file nor a
            query (a misspelt query name), ``field`` ``file``.
    """
    result = list(args)
    for i, arg in enumerate(result):
        if i and result[i - 1] in ("-f", "--file"):
            path = Path(arg)
            if path.exists() or path.suffix not in ("", ".cypher"):
                continue
            if path.stem in cypher_files.names():
                result[i] = str(cypher_files.cypher_dir() / f"{path.stem}.cypher")
            elif path.suffix == "" and path.name == arg:
                raise NotFoundError(f"{arg!r} is no file and no graphmd query (the queries: "
                                    f"{', '.join(cypher_files.names())})", field="file")
    return result

