"""`graphmd neo4j start|stop|status` as a user meets its failures: each ends in a message
saying what to do, nothing half-started left running, and a next start that works.

One real server (module-scoped) serves the tests that need one running; the starts that fail
fail before or just after the JVM launches. GRAPHMD_TEST_PORTS=LOW-HIGH keeps every server and
port of this module in that range (for machines where others' servers hold fixed ports).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphmd import FailedPreconditionError, MetadataStore, UnavailableError
from graphmd._config import read_config, write_config
from graphmd._local_neo4j import LocalNeo4j, _port_open, free_port
from graphmd.cli import app

_CLEARED = ("GRAPHMD_NEO4J_URI", "GRAPHMD_NEO4J_USER", "GRAPHMD_NEO4J_PASSWORD", "GRAPHMD_NEO4J_DATABASE",
            "GRAPHMD_NEO4J_HOME")
_held: set[int] = set()  # the module server's ports, even while it is stopped


def _ports(n: int = 2) -> list[int]:
    """``n`` distinct free ports, from GRAPHMD_TEST_PORTS when set."""
    low, _, high = os.environ.get("GRAPHMD_TEST_PORTS", "").partition("-")
    if not high:
        chosen: set[int] = set()
        while len(chosen) < n:
            chosen.add(free_port())
        return sorted(chosen)
    free = [p for p in range(int(low), int(high) + 1) if p not in _held and not _port_open(p)][:n]
    assert len(free) == n, f"GRAPHMD_TEST_PORTS={low}-{high} has fewer than {n} free ports"
    return free


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["neo4j", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# --- starts refused before anything starts ---------------------------------------------


def test_a_password_neo4j_would_refuse_is_refused_before_anything_starts(isolated: Path) -> None:
    """It was a traceback (Neo4j's ClientError) after a 20 s start of a server."""
    home = isolated / "home"
    bolt, http = _ports()
    code, _, err = _cli("start", "--home", str(home), "--bolt-port", str(bolt), "--http-port", str(http),
                        "--password", "short")
    assert code == 1 and "Traceback" not in err
    assert "password: the one from the --password argument has 5 characters; Neo4j needs at least 8" in err
    assert not home.exists() and not (isolated / "config.toml").exists()


def test_a_home_that_cannot_be_a_directory_is_named(isolated: Path) -> None:
    """A --home that is a file (or under one) was a NotADirectoryError traceback."""
    (isolated / "file").write_text("")
    bolt, http = _ports()
    for home in (isolated / "file", isolated / "file" / "sub"):
        with pytest.raises(FailedPreconditionError) as info:
            LocalNeo4j(home, bolt_port=bolt, http_port=http, record_in_config=False).start()
        assert info.value.field == "home" and f"cannot use {home} as a Neo4j home: Not a directory" in str(info.value)


def test_a_java_that_does_not_run_is_named(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JAVA_HOME whose bin/java cannot be executed was a PermissionError traceback."""
    java = isolated / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    java.chmod(0o644)
    monkeypatch.setenv("JAVA_HOME", str(isolated / "jdk"))
    with pytest.raises(FailedPreconditionError) as info:
        LocalNeo4j(isolated / "home", record_in_config=False).start()
    assert info.value.field == "java" and f"{java} does not run as Java (Permission denied)" in str(info.value)
    assert "Java 17" in str(info.value) and not (isolated / "home").exists()


def test_a_heap_larger_than_the_memory_is_refused_before_the_jvm_starts(isolated: Path) -> None:
    """The JVM used to start, fail to map the heap, and leave only "exited with code 1"."""
    total = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0]) * 1024
    heap = f"{2 * total // 2**30 + 1}g"
    home, (bolt, http) = isolated / "home", _ports()
    with pytest.raises(FailedPreconditionError) as info:
        LocalNeo4j(home, bolt_port=bolt, http_port=http, heap=heap, record_in_config=False).start()
    assert info.value.field == "heap" and f"heap: {heap} is more than this machine's available memory" in str(info.value)
    assert "give a smaller --heap" in str(info.value) and not home.exists()


def test_maven_that_cannot_reach_its_repository_says_so(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first start without network led with Maven's "No plugin found for prefix 'dependency'".
    The real Maven runs, its ~/.m2/settings.xml naming a mirror nothing listens on."""
    if subprocess.run(["which", "mvn"], capture_output=True).returncode != 0:
        pytest.skip("no mvn")
    m2 = isolated / "user-home" / ".m2"
    m2.mkdir(parents=True)
    (m2 / "settings.xml").write_text(
        f"<settings><mirrors><mirror><id>unreachable</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:{_ports(1)[0]}/m2</url>"
        "</mirror></mirrors></settings>")
    monkeypatch.setenv("MAVEN_OPTS", f"-Duser.home={isolated / 'user-home'}")
    monkeypatch.setenv("GRAPHMD_CACHE_DIR", str(isolated / "cache"))
    with pytest.raises(FailedPreconditionError) as info:
        LocalNeo4j(isolated / "home", record_in_config=False).ensure_jars()
    message = str(info.value)
    assert info.value.field == "mvn" and "it could not reach its repository" in message
    assert "~/.m2/settings.xml" in message and "the next `graphmd neo4j start` tries again" in message
    assert "Could not transfer" in message and "\x1b[" not in message  # Maven's own words, without colour codes
    assert not list((isolated / "cache").rglob("*.jar")) and not (isolated / "cache" / "neo4j-5.26.31" / "complete").exists()


# --- the pid file and the config file ---------------------------------------------------


def test_a_home_is_not_another_home_whose_path_starts_with_it(isolated: Path) -> None:
    """The pid check took "--home-dir=/x/home" in "--home-dir=/x/home2" for this home's server:
    a pid file reused by the other home's Neo4j had stop kill it."""
    home = (isolated / "home").resolve()
    (home / "run").mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                              "org.neo4j.server.CommunityEntryPoint", f"--home-dir={home}2"])
    while f"--home-dir={home}2".encode() not in _args(Path(f"/proc/{other.pid}")):
        time.sleep(0.01)  # until the child has exec'ed: before, its command line is pytest's
    try:
        (home / "run" / "graphmd-neo4j.pid").write_text(f"{other.pid}\n")
        server = LocalNeo4j(home, record_in_config=False)
        assert server.pid() is None and server.stop() is False
        assert other.poll() is None  # still alive
    finally:
        other.kill()
        other.wait()


def test_config_writes_at_once_each_leave_a_whole_file(isolated: Path) -> None:
    """Two starts writing the config file at once shared one temporary name: one renamed the
    other's away and failed with FileNotFoundError."""
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(40):
                write_config({"uri": f"bolt://127.0.0.1:{n}", "home": f"/h/{n}/{i}"})
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert read_config()["uri"].startswith("bolt://127.0.0.1:")
    assert [p.name for p in isolated.iterdir()] == ["config.toml"]  # no temporary file left


def test_a_failed_start_leads_with_its_own_reason_not_an_earlier_one(isolated: Path) -> None:
    """The logs are appended to: the second failure was said with the first one's reason."""
    home, (bolt, http) = isolated / "home", _ports()
    messages = []
    for key in ("nonsense.first", "nonsense.second"):
        with pytest.raises(UnavailableError) as info:
            LocalNeo4j(home, bolt_port=bolt, http_port=http, settings={key: "1"}, record_in_config=False).start()
        messages.append(str(info.value))
    assert "nonsense.first" in messages[0]
    assert "nonsense.second" in messages[1] and "nonsense.first" not in messages[1]


# --- one real server --------------------------------------------------------------------


class _Server:
    """The module's server: home, ports; started again by a test that needs it running."""

    def __init__(self, root: Path) -> None:
        self.home = (root / "home").resolve()
        self.bolt_port, self.http_port = _ports()
        _held.update((self.bolt_port, self.http_port))

    def local(self) -> LocalNeo4j:
        return LocalNeo4j(self.home, bolt_port=self.bolt_port, http_port=self.http_port)

    def running(self) -> LocalNeo4j:
        server = self.local()
        server.start()
        return server


@pytest.fixture(scope="module")
def one_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    root = tmp_path_factory.mktemp("lifecycle")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRAPHMD_CONFIG", str(root / "config.toml"))
        for var in _CLEARED:
            patch.delenv(var, raising=False)
        server = _Server(root)
        server.running()
        try:
            yield server
        finally:
            server.local().stop()


def test_a_port_taken_by_another_graphmd_neo4j_names_it(one_server: _Server, tmp_path: Path) -> None:
    """It said "in use by another program", though it is graphmd's own server of another home."""
    one_server.running()
    other = tmp_path / "other"
    with pytest.raises(FailedPreconditionError) as info:
        LocalNeo4j(other, bolt_port=one_server.bolt_port, http_port=_ports(1)[0],
                   record_in_config=False).start()
    assert info.value.field == "bolt_port"
    assert f"port {one_server.bolt_port} (Bolt) is taken by the Neo4j of home {one_server.home}" in str(info.value)
    assert f"`graphmd neo4j stop --home {one_server.home}`" in str(info.value)
    assert not other.exists()


def test_a_server_whose_pid_file_names_another_process_is_still_found(one_server: _Server) -> None:
    """With its pid file lost or naming an unrelated process, a running server read as stopped:
    stop did nothing, and start said its own ports were in use by another program."""
    server = one_server.running()
    jvm = server.pid()
    unrelated = subprocess.Popen(["sleep", "60"])
    try:
        (one_server.home / "run" / "graphmd-neo4j.pid").write_text(f"{unrelated.pid}\n")
        assert server.status().running and server.pid() == jvm
        code, out, _ = _cli("start", "--home", str(one_server.home))
        assert code == 0 and f"already running in {one_server.home} (pid {jvm})" in out
        assert server.stop() is True
        assert unrelated.poll() is None  # never signalled
        assert not _port_open(one_server.bolt_port) and server.pid() is None
    finally:
        unrelated.kill()
        unrelated.wait()


def test_each_home_keeps_its_own_password(one_server: _Server) -> None:
    """The config file holds the last home started; a home started before it used to be
    restarted with that home's password and refused, its own generated password lost."""
    one_server.local().stop()
    write_config({"uri": "bolt://127.0.0.1:1", "password": "the-other-home-s", "home": "/elsewhere/home"})
    server = one_server.running()
    assert server.status().running
    with MetadataStore() as store:  # the config file names this home again, with its own password
        assert store.settings.uri == server.uri
        store.counts()


def test_starts_of_one_home_at_once_start_one_server(one_server: _Server) -> None:
    """Two starts at once each launched a JVM; the loser's cleanup could stop the winner."""
    one_server.local().stop()
    results: list[object] = []

    def start() -> None:
        try:
            results.append(one_server.local().start().pid)
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            results.append(error)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pid = one_server.local().pid()
    assert pid is not None and results == [pid, pid]
    jvms = [p for p in Path("/proc").iterdir() if p.name.isdigit()
            and f"--home-dir={one_server.home}".encode() in _args(p)]
    assert [int(p.name) for p in jvms] == [pid]


def _args(proc: Path) -> list[bytes]:
    try:
        return (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return []
