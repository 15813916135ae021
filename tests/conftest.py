"""Fixtures: a real Neo4j for the whole session, and an empty store per test.

Neo4j comes from, in order: GRAPHMD_NEO4J_URI (with GRAPHMD_NEO4J_USER/PASSWORD) when set;
testcontainers' Neo4jContainer when a Docker engine answers; else graphmd's own local
server (graphmd._local_neo4j), started once per test session on free ports in a temporary
home and stopped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graphmd import MetadataStore
from graphmd._config import Settings
from graphmd._local_neo4j import LocalNeo4j, free_port


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Settings]:
    """Connection settings of a running Neo4j for this test session."""
    if os.environ.get("GRAPHMD_NEO4J_URI"):
        yield Settings(os.environ["GRAPHMD_NEO4J_URI"], os.environ.get("GRAPHMD_NEO4J_USER", "neo4j"),
                       os.environ.get("GRAPHMD_NEO4J_PASSWORD"), os.environ.get("GRAPHMD_NEO4J_DATABASE"),
                       "environment")
        return
    if _docker_answers():
        from testcontainers.neo4j import Neo4jContainer

        password = "graphmd-" + secrets.token_hex(8)
        with Neo4jContainer("neo4j:5.26-community", password=password) as container:
            yield Settings(container.get_connection_url(), "neo4j", password, None, "testcontainers")
        return
    home = Path(tempfile.mkdtemp(prefix="graphmd-test-neo4j-"))
    server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(),
                        password="graphmd-" + secrets.token_hex(8), record_in_config=False)
    server.start()
    try:
        yield Settings(server.uri, "neo4j", server.password, None, "local server")
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def session_store(neo4j_server: Settings) -> Iterator[MetadataStore]:
    """One store for the session (connection pools are costly to reopen per test)."""
    with MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database) as store:
        yield store


@pytest.fixture
def store(session_store: MetadataStore) -> MetadataStore:
    """A store over an empty graph with the schema (and MLMD's system types) in place."""
    session_store.delete_everything()
    return session_store


@pytest.fixture
def cli(neo4j_server: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Runs `graphmd ARGS...` against the test Neo4j, as a pipe would (no terminal width), and
    returns what it printed; ``code=`` is the exit code it must end with (default 0)."""
    from typer.testing import CliRunner

    from graphmd.cli import app

    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    monkeypatch.delenv("COLUMNS", raising=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return invoke
