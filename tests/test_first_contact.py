"""A new user's first contact, README top to bottom on a machine that never saw graphmd: what
`make demo` prints must run as printed, a first start that downloads for minutes says how far it
got, and the natural slips (no Java, a leftover GRAPHMD_NEO4J_PASSWORD) say what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import neo4j
import pytest

from graphmd import FailedPreconditionError
from graphmd._config import Settings, write_config
from graphmd._cypher_shell import ensure_cypher_shell
from graphmd._local_neo4j import LocalNeo4j

REPO = Path(__file__).resolve().parents[1]
VENV_GRAPHMD = Path(sys.executable).parent / "graphmd"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config, environment or jar cache leaks into the test."""
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("GRAPHMD_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("GRAPHMD_NEO4J_URI", "GRAPHMD_NEO4J_USER", "GRAPHMD_NEO4J_PASSWORD", "GRAPHMD_NEO4J_DATABASE",
                "GRAPHMD_NEO4J_HOME", "JAVA_HOME"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _fake_mvn(bin_dir: Path, body: str) -> None:
    """An `mvn` on ``bin_dir`` running ``body`` (sh), with $OUT the -DoutputDirectory it was given."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    mvn = bin_dir / "mvn"
    mvn.write_text('#!/bin/sh\nfor a in "$@"; do case "$a" in -DoutputDirectory=*) OUT="${a#*=}";; esac; done\n'
                   + body)
    mvn.chmod(0o755)


# --- what the demo prints runs as printed ------------------------------------------------


def test_the_demo_s_stop_command_runs_in_the_shell_that_ran_make_demo(isolated: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo` runs .venv/bin/python without activating .venv: the demo printed `graphmd
    neo4j stop --home ...`, which in that shell was "graphmd: command not found"."""
    from graphmd import demo

    if not VENV_GRAPHMD.exists():
        pytest.skip("graphmd's script is not beside this Python")
    server = LocalNeo4j(isolated / "demo-neo4j", bolt_port=7, http_port=8, record_in_config=False)
    (server.home / "conf").mkdir(parents=True)
    (server.home / "conf" / "neo4j.conf").write_text("")  # a home the demo made, its server stopped
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the shell of `make demo`: .venv/bin not on it
    monkeypatch.chdir(REPO)
    demo.browser_hint(server, None, 42)  # type: ignore[arg-type]  # the store is read only without a server
    printed = capsys.readouterr().out
    runnable = os.path.relpath(VENV_GRAPHMD, REPO)
    if runnable.startswith(".."):  # a venv outside the clone: its path as it is
        runnable = str(VENV_GRAPHMD)
    assert f"(stop the server with: {runnable} neo4j stop --home {server.home})" in printed
    stop = printed.split("stop the server with: ")[1].split(")")[0].split()
    done = subprocess.run(stop, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0 and "Neo4j was not running" in done.stdout, done.stderr
    # The export block says how to get `graphmd` (and the package's Python) into that shell.
    activate = f"source {os.path.dirname(runnable)}/activate"
    assert f"in this shell:\n  {activate}\n  export GRAPHMD_NEO4J_URI=bolt://127.0.0.1:7 " in printed
    done = subprocess.run(["bash", "-c", f"{activate} && graphmd --version"], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert done.returncode == 0 and done.stdout.startswith("graphmd "), done.stderr
    # Where `graphmd` is this Python's (an activated venv), plain `graphmd` is what to type.
    monkeypatch.setenv("PATH", f"{VENV_GRAPHMD.parent}:/usr/bin:/bin")
    demo.browser_hint(server, None, 42)  # type: ignore[arg-type]
    printed = capsys.readouterr().out
    assert f"(stop the server with: graphmd neo4j stop --home {server.home})" in printed
    assert "activate" not in printed


# --- a first start that downloads for minutes says how far it got ------------------------


def test_maven_s_downloads_are_reported_while_it_runs(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first start ran Maven with -ntp and said nothing until it ended: minutes on a slow
    line, ~150 MB. Its "Downloaded from" lines are now counted and reported as they come."""
    import graphmd._local_neo4j as local

    _fake_mvn(isolated / "bin", "\n".join([
        'echo "[INFO] Downloading from central: https://repo/a.pom"',
        'echo "[INFO] Downloaded from central: https://repo/a.pom (2.5 kB at 50 kB/s)"',
        'echo "[INFO] Downloaded from central: https://repo/neo4j-kernel.jar (1.5 MB at 3.0 MB/s)"',
        'echo "[INFO] Downloaded from central: https://repo/b.jar (500 kB at 3.0 MB/s)"',
        'mkdir -p "$OUT" && touch "$OUT/neo4j-kernel.jar" "$OUT/b.jar"', "exit 0", ""]))
    monkeypatch.setenv("PATH", f"{isolated / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setattr(local, "_PROGRESS_EVERY", 0.0)
    said: list[str] = []
    lib = LocalNeo4j(isolated / "home", record_in_config=False).ensure_jars(say=said.append)
    assert sorted(p.name for p in lib.iterdir()) == ["b.jar", "neo4j-kernel.jar"]
    progress = [line for line in said if "downloaded so far" in line]
    assert progress[-1].endswith(": 3 files (2.0 MB) downloaded so far..."), said
    assert said[0].endswith("(first use only)...") and said[-1].startswith("cached 2 jars in")
    # Read as it comes, Maven's output still gives a failure its own words; nothing is cached.
    _fake_mvn(isolated / "bin", 'echo "[ERROR] Failed to execute goal on project x: dependency z is missing"\nexit 1\n')
    with pytest.raises(FailedPreconditionError) as info:
        ensure_cypher_shell()
    assert info.value.field == "mvn" and "dependency z is missing" in info.value.message
    assert "(exit 1)" in info.value.message and not list((isolated / "cache").glob("cypher-shell-*/complete"))


def test_no_java_is_said_before_maven_runs(isolated: Path) -> None:
    """With Maven but no Java, `make demo`'s bootstrap said only Maven's words: "The JAVA_HOME
    environment variable is not defined correctly"."""
    _fake_mvn(isolated / "bin", 'echo "The JAVA_HOME environment variable is not defined correctly,"\nexit 1\n')
    env = {**os.environ, "PATH": f"{isolated / 'bin'}:/nonexistent", "GRAPHMD_CACHE_DIR": str(isolated / "cache")}
    env.pop("JAVA_HOME", None)
    done = subprocess.run([sys.executable, "-c", (
        "from graphmd._local_neo4j import LocalNeo4j\n"
        "from graphmd._errors import GraphmdError\n"
        "try:\n"
        "    LocalNeo4j(record_in_config=False).ensure_jars()\n"
        "except GraphmdError as error:\n"
        "    print(error.field, error.message)\n")], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("java java is not installed"), done.stdout + done.stderr
    assert "Java 17" in done.stdout and "JAVA_HOME environment variable" not in done.stdout


def test_bootstrap_goes_on_without_maven_when_graphmd_neo4j_uri_names_a_server(isolated: Path) -> None:
    """The errors of a machine without Maven suggest Neo4j in Docker and GRAPHMD_NEO4J_URI;
    `make demo` then still stopped in bootstrap, which fetched the local server's jars."""
    stamp = REPO / ".venv" / ".graphmd-deps"
    if not stamp.exists():
        pytest.skip("no .venv made by scripts/bootstrap")
    want = subprocess.run(["sha256sum", str(REPO / "pyproject.toml")], capture_output=True, text=True).stdout[:16]
    if stamp.read_text().strip() != want:
        pytest.skip(".venv is not up to date: bootstrap would install packages")
    bin_dir = isolated / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sha256sum", "cut", "cat", "dirname"):
        (bin_dir / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    env = {**os.environ, "PATH": str(bin_dir), "GRAPHMD_CACHE_DIR": str(isolated / "cache")}
    refused = subprocess.run([str(REPO / "scripts" / "bootstrap")], env=env, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 1 and "mvn (Apache Maven) is not installed" in refused.stderr, refused.stderr
    env["GRAPHMD_NEO4J_URI"] = "bolt://127.0.0.1:7"
    done = subprocess.run([str(REPO / "scripts" / "bootstrap")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "going on without them: GRAPHMD_NEO4J_URI names the Neo4j to use (bolt://127.0.0.1:7)" in done.stderr


# --- a password other than the one the config file records -------------------------------


def _clear_failed_logins(server: Settings) -> None:
    """Log in rightly: Neo4j locks a user out for a few seconds after three wrong passwords in
    a row, which would fail the tests that come next."""
    deadline = time.monotonic() + 30
    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password or "")) as driver:
        while True:
            try:
                driver.verify_connectivity()
                return
            except neo4j.exceptions.Neo4jError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


def test_a_leftover_password_in_the_environment_is_named(isolated: Path, neo4j_server: Settings) -> None:
    """The demo's `export` line leaves GRAPHMD_NEO4J_PASSWORD set; with the user's own server
    started later, every command was refused with "A local Neo4j: `graphmd neo4j start`",
    though that server ran, and cypher-shell said only "The client is unauthorized"."""
    if "GRAPHMD_NEO4J_DATABASE" in os.environ or neo4j_server.password is None:
        pytest.skip("needs a server reached with a password on its default database")
    write_config({"uri": neo4j_server.uri, "user": neo4j_server.user, "password": neo4j_server.password,
                  "home": str(isolated / "neo4j")})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPHMD_NEO4J_", "GRAPHMD_CACHE_DIR"))}
    env |= {"GRAPHMD_CONFIG": str(isolated / "config.toml"), "GRAPHMD_NEO4J_PASSWORD": "the-demo-s-password"}
    try:
        for args in (["info"], ["cypher-shell", "-f", "lineage_upstream"]):
            done = subprocess.run([str(VENV_GRAPHMD), *args], env=env, capture_output=True, text=True, timeout=120)
            _clear_failed_logins(neo4j_server)
            assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
            assert (f"error: Neo4j at {neo4j_server.uri} refused the password from GRAPHMD_NEO4J_PASSWORD"
                    in done.stderr), done.stderr
            assert f"{isolated / 'config.toml'} records another one for this server" in done.stderr
            assert "`unset GRAPHMD_NEO4J_PASSWORD` to use that one" in done.stderr
            assert "unauthorized" not in done.stderr
        # The recorded password, as the message says, works.
        del env["GRAPHMD_NEO4J_PASSWORD"]
        done = subprocess.run([str(VENV_GRAPHMD), "info"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    finally:
        _clear_failed_logins(neo4j_server)


def test_cypher_shell_says_a_stopped_local_server_as_the_other_commands_do(isolated: Path) -> None:
    """cypher-shell said "Unable to connect to 127.0.0.1:7687, ensure the database is running"."""
    from graphmd._local_neo4j import free_port

    uri = f"bolt://127.0.0.1:{free_port()}"
    write_config({"uri": uri, "user": "neo4j", "password": "recorded-secret", "home": str(isolated / "neo4j")})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPHMD_NEO4J_", "GRAPHMD_CACHE_DIR"))}
    env["GRAPHMD_CONFIG"] = str(isolated / "config.toml")
    done = subprocess.run([str(VENV_GRAPHMD), "cypher-shell", "-f", "lineage_upstream"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert (f"error: the local Neo4j of {isolated / 'neo4j'} is not running (nothing answers at {uri}): start it "
            "with `graphmd neo4j start`") in done.stderr
    assert "Unable to connect" not in done.stderr


def test_cypher_shell_without_java_points_at_what_runs_without_it(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """The Java and Maven errors suggest running Neo4j in Docker, which brings no cypher-shell
    to this machine; for cypher-shell they say what works without it instead."""
    from graphmd._config import Settings
    from graphmd._cypher_shell import cypher_shell_command

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java there
    with pytest.raises(FailedPreconditionError) as info:
        cypher_shell_command(Settings("bolt://127.0.0.1:7687", "neo4j", "unused", None, "test"), [])
    said = info.value.message
    assert info.value.field == "java" and said.startswith("cypher-shell cannot run here: java is not installed")
    assert "`graphmd query NAME -p ...`" in said and "docker" not in said.lower()
