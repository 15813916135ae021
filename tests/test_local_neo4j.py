"""The local Neo4j launcher and connection settings: what a user without Docker relies on."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from graphmd import FailedPreconditionError, InvalidArgumentError, MetadataStore, UnauthenticatedError, UnavailableError
from graphmd._config import read_config, resolve_settings, write_config
from graphmd._local_neo4j import LocalNeo4j, free_port

GRAPHMD = [sys.executable, "-m", "graphmd.cli"]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config, env or cache leaks into the test."""
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    for var in ("GRAPHMD_NEO4J_URI", "GRAPHMD_NEO4J_USER", "GRAPHMD_NEO4J_PASSWORD", "GRAPHMD_NEO4J_DATABASE",
                "GRAPHMD_NEO4J_HOME"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_settings_precedence(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_settings().uri == "bolt://127.0.0.1:7687"
    write_config({"uri": "bolt://from-config:1", "password": "cfg-secret"})
    assert (os.stat(isolated / "config.toml").st_mode & 0o777) == 0o600
    s = resolve_settings()
    assert (s.uri, s.password) == ("bolt://from-config:1", "cfg-secret")
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", "bolt://from-env:2")
    assert resolve_settings().uri == "bolt://from-env:2"
    assert resolve_settings(uri="bolt://arg:3").uri == "bolt://arg:3"
    assert "cfg-secret" not in repr(resolve_settings())



def test_a_config_path_that_is_no_regular_file_is_never_replaced(tmp_path: Path) -> None:
    """GRAPHMD_CONFIG=/dev/null means "no config file": a start recording its credentials
    there replaced the device with a regular file, and every `> /dev/null` on the machine
    then wrote into it (the tests' config reads failed on what they found there)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert write_config({"uri": "bolt://127.0.0.1:1"}, fifo) == fifo
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the pipe (and nothing read from it, or this would hang)
    assert read_config(Path(os.devnull)) == {}


@pytest.mark.parametrize("content", [None, b"neo4j = 5\n", b"[neo4j\nuri = ", b"\xff\xfe[neo4j]\n",
                                     b"[neo4j]\npassword = 'pw'\ndatabse = 'prod'\n",
                                     b"[Neo4j]\nuri = 'bolt://127.0.0.1:1'\n"])
def test_an_unusable_config_file_is_a_typed_error_naming_it(isolated: Path, content: bytes | None) -> None:
    """A directory, a `neo4j` that is no table, broken TOML, or bytes that are not UTF-8: each
    a traceback (IsADirectoryError, TypeError, UnicodeDecodeError), or a warning after which
    graphmd went to the default URI with no password; now one error naming the file."""
    path = isolated / "config.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(InvalidArgumentError) as info:
        MetadataStore()
    assert info.value.field == "config" and str(path) in info.value.message
    if content == b"neo4j = 5\n":
        assert "`neo4j` is a table ([neo4j]), not an integer" in info.value.message
    if content and b"databse" in content:  # read past, writes went to the default database
        assert "[neo4j] has no setting 'databse' (did you mean 'database'?)" in info.value.message
    if content and b"[Neo4j]" in content:  # read past, the default URI, without a password
        assert "has no setting 'Neo4j' (did you mean 'neo4j'?)" in info.value.message
    for command in (["info"], ["neo4j", "status"], ["neo4j", "stop"]):
        result = subprocess.run([*GRAPHMD, *command], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.startswith(f"error: the config file {path}") and "Traceback" not in result.stderr


def test_a_config_file_graphmd_config_names_and_that_is_missing_is_said(isolated: Path) -> None:
    """Read as no config file (`graphmd neo4j start` creates it), it left graphmd on the
    default URI, and the error said no config file gave one, as if none were named."""
    with pytest.raises((UnavailableError, UnauthenticatedError)) as info:  # the default URI, 7687
        MetadataStore(connect_timeout=2)
    assert f"GRAPHMD_CONFIG names {isolated / 'config.toml'}, which does not exist" in info.value.message
    result = subprocess.run([*GRAPHMD, "info"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "which does not exist" in result.stderr, result.stderr


def test_the_config_file_s_credentials_go_only_to_its_own_server(isolated: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write_config({"uri": "bolt://127.0.0.1:7687", "password": "local-secret", "database": "neo4j"})
    s = resolve_settings()
    assert (s.password, s.database, s.sources["password"]) == ("local-secret", "neo4j", str(isolated / "config.toml"))
    # Another server named by argument or environment: the local password is not sent there.
    for elsewhere in (lambda: resolve_settings(uri="bolt://other-host:7687"),
                      lambda: (monkeypatch.setenv("GRAPHMD_NEO4J_URI", "bolt://other-host:7687"), resolve_settings())[1]):
        s = elsewhere()
        assert (s.uri, s.password, s.database) == ("bolt://other-host:7687", None, None)
        assert s.described() == ("the URI from " + ("arguments" if s.sources["uri"] == "arguments"
                                                    else "GRAPHMD_NEO4J_URI") + ", the user from defaults, no password, "
                                 "not the config file's credentials, which are for bolt://127.0.0.1:7687")
    monkeypatch.delenv("GRAPHMD_NEO4J_URI")
    # The same server named again (any loopback name, any Bolt scheme), or a password given
    # with the other server, is used.
    for same in ("bolt://127.0.0.1:7687", "neo4j://localhost", "bolt://localhost:7687"):
        assert resolve_settings(uri=same).password == "local-secret", same
    assert resolve_settings(uri="bolt://127.0.0.1:7688").password is None
    s = resolve_settings(password="given")
    assert (s.password, s.sources["password"]) == ("given", "arguments")


@pytest.mark.parametrize("uri,hint", [("http://127.0.0.1:7474", "Neo4j Browser's"), ("localhost:7687", ""),
                                      ("bolt://", ""), ("ftp://host:21", "")])
def test_a_uri_that_is_not_bolt_is_refused_naming_where_it_came_from(isolated: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     uri: str, hint: str) -> None:
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", uri)
    with pytest.raises(InvalidArgumentError) as info:
        MetadataStore()
    assert info.value.field == "uri" and repr(uri) in info.value.message
    assert "from GRAPHMD_NEO4J_URI" in info.value.message and hint in info.value.message
    done = subprocess.run([*GRAPHMD, "info"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr and "not a Neo4j Bolt address" in done.stderr
    for good in ("bolt://h:1", "neo4j+s://user@h", "bolt+ssc://h:7687/", "NEO4J://h"):
        assert resolve_settings(uri=good).uri == good


def test_missing_java_names_what_to_install(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(isolated / "no-bin"))
    with pytest.raises(FailedPreconditionError) as info:
        LocalNeo4j(isolated / "home", record_in_config=False).start()
    assert "java is not installed" in str(info.value) and "Java 17" in str(info.value)
    # The Docker way works for a pip install too: no docker-compose.yml needed.
    assert "docker run" in str(info.value) and "GRAPHMD_NEO4J_URI" in str(info.value)
    assert info.value.field == "java"


def test_a_java_home_without_java_is_named(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(isolated / "no-jdk"))
    with pytest.raises(FailedPreconditionError) as info:
        LocalNeo4j(isolated / "home", record_in_config=False).start()
    assert f"JAVA_HOME is {isolated / 'no-jdk'}, which has no bin/java" in str(info.value)
    assert "Java 17" in str(info.value) and info.value.field == "java"


def test_missing_maven_names_what_to_install(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHMD_CACHE_DIR", str(isolated / "empty-cache"))
    monkeypatch.setenv("PATH", str(isolated / "no-bin"))
    with pytest.raises(FailedPreconditionError) as info:
        LocalNeo4j(isolated / "home", record_in_config=False).ensure_jars()
    assert "mvn" in str(info.value) and "docker run" in str(info.value)


def test_a_damaged_jar_cache_is_said_and_resolved_again(isolated: Path) -> None:
    """A jar emptied or deleted in the cache made Java fail with a NoClassDefFoundError (or
    Neo4j Browser answer 404) with no word of the cache; now it is found and fetched again
    (Maven takes it from its local repository, where the first resolution left it)."""
    from graphmd._cypher_shell import _POM as shell_pom
    from graphmd._local_neo4j import resolve_jars

    lib = isolated / "cache" / "lib"
    said: list[str] = []
    resolve_jars(shell_pom, lib, "cypher-shell", say=said.append)
    jars = sorted(lib.glob("*.jar"))
    sizes = {jar.name: jar.stat().st_size for jar in jars}
    assert jars and all(line.split("\t")[0] in sizes for line in (lib.parent / "complete").read_text().splitlines()[1:])
    said.clear()
    resolve_jars(shell_pom, lib, "cypher-shell", say=said.append)
    assert said == []  # whole: nothing to say, Maven not run
    jars[0].write_bytes(b"")
    jars[-1].unlink()
    resolve_jars(shell_pom, lib, "cypher-shell", say=said.append)
    assert f"the cache of cypher-shell in {lib} is damaged ({jars[0].name} has 0 bytes, not " in said[0]
    assert {jar.name: jar.stat().st_size for jar in lib.glob("*.jar")} == sizes
    # A marker from before it listed the jars: checked as zips, then listed.
    (lib.parent / "complete").write_text("cypher-shell\n")
    jars[0].write_bytes(b"not a zip")
    said.clear()
    resolve_jars(shell_pom, lib, "cypher-shell", say=said.append)
    assert f"({jars[0].name} is not a jar)" in said[0]
    (lib.parent / "complete").write_text("cypher-shell\n")
    said.clear()
    resolve_jars(shell_pom, lib, "cypher-shell", say=said.append)
    assert said == [] and len((lib.parent / "complete").read_text().splitlines()) == len(sizes) + 1


def test_stop_never_touches_another_process(isolated: Path) -> None:
    home = isolated / "home"
    other = subprocess.Popen(["sleep", "60"])
    try:
        (home / "run").mkdir(parents=True)
        (home / "run" / "graphmd-neo4j.pid").write_text(f"{other.pid}\n")
        server = LocalNeo4j(home, record_in_config=False)
        assert server.pid() is None and not server.status().running
        assert server.stop() is False
        assert other.poll() is None  # still alive
    finally:
        other.kill()
        other.wait()


def test_bad_settings_are_refused_before_anything_starts(isolated: Path) -> None:
    env = {**os.environ, "GRAPHMD_CONFIG": str(isolated / "config.toml")}
    bad = subprocess.run([*GRAPHMD, "neo4j", "start", "--home", str(isolated / "home"), "--setting", "heap"],
                         env=env, capture_output=True, text=True, timeout=60)
    # A usage mistake, exit 2 as for --heap lots (it was 1).
    assert bad.returncode == 2 and "Invalid value for '--setting': 'heap' is not KEY=VALUE" in bad.stderr
    assert not (isolated / "home").exists()
    with pytest.raises(InvalidArgumentError, match="settings"):
        LocalNeo4j(isolated / "home", settings={"a": "1\nserver.bolt.enabled=false"}, record_in_config=False)
    # One port for both: Neo4j failed to bind 15 s later, and the error blamed the connection.
    same = subprocess.run([*GRAPHMD, "neo4j", "start", "--home", str(isolated / "home"), "--bolt-port", "23999",
                           "--http-port", "23999"], env=env, capture_output=True, text=True, timeout=60)
    assert same.returncode == 2, same.stderr
    assert "Invalid value for '--http-port': 23999 is the Bolt port too" in same.stderr
    assert not (isolated / "home").exists()



def test_a_start_neo4j_refuses_leads_with_its_reason(isolated: Path) -> None:
    """Neo4j itself refuses an unknown setting: the error starts with Neo4j's reason, not the
    log dump, and gives no hint about reaching another server (none was meant)."""
    env = {**os.environ, "GRAPHMD_CONFIG": str(isolated / "config.toml")}
    ports = ["--bolt-port", str(free_port()), "--http-port", str(free_port())]
    failed = subprocess.run([*GRAPHMD, "neo4j", "start", "--home", str(isolated / "home"), *ports,
                             "--setting", "nonsense.key=1"], env=env, capture_output=True, text=True, timeout=300)
    first = failed.stderr.splitlines()[0]
    assert failed.returncode == 1
    assert first.startswith("error: Neo4j exited with code 1 during start: Unrecognized setting") and "nonsense.key" in first
    assert "GRAPHMD_NEO4J_URI" not in failed.stderr


def test_store_on_a_closed_port_fails_fast_naming_the_uri(isolated: Path) -> None:
    uri = f"bolt://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(UnavailableError) as info:
        MetadataStore(uri, "neo4j", "whatever", connect_timeout=2.0)
    assert uri in str(info.value)
    assert time.monotonic() - started < 30


def test_cli_start_status_stop(isolated: Path) -> None:
    """`graphmd neo4j start` gives a server MetadataStore() reaches with no arguments."""
    home = isolated / "home"
    env = {**os.environ, "GRAPHMD_CONFIG": str(isolated / "config.toml")}
    ports = ["--bolt-port", str(free_port()), "--http-port", str(free_port())]
    write_config({"home": str(isolated / "older")})  # the server started before: the CLI used it until now
    started = subprocess.run([*GRAPHMD, "neo4j", "start", "--home", str(home), *ports, "--heap", "768m",
                              "--setting", "db.memory.transaction.max=256m"], env=env,
                             capture_output=True, text=True, timeout=300)
    try:
        assert started.returncode == 0, started.stderr
        assert "running (pid" in started.stdout and str(home / "data") in started.stdout
        assert f"password in {isolated / 'config.toml'} (mode 0600)" in started.stdout  # where, not what
        assert ("note:          MetadataStore() and the graphmd CLI now use this server, no longer the one of home "
                f"{isolated / 'older'}") in started.stdout
        # A home it creates is the user's alone (README); before, the lock's mkdir made it 0755.
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in [home, *home.iterdir()] if p.is_dir()} == {
            name: "0o700" for name in ("home", "conf", "data", "logs", "run", "import", "plugins")}
        # status and stop find the home `start` recorded in the config file, without --home.
        status = subprocess.run([*GRAPHMD, "neo4j", "status"], env=env, capture_output=True, text=True)
        assert status.returncode == 0 and "running" in status.stdout and "5.26" in status.stdout
        assert str(home / "data") in status.stdout
        assert str(home / "logs" / "neo4j.log") in status.stdout  # the server's log, not the JVM's console
        # "running" means Neo4j Browser answers too, not only Bolt.
        http_port = ports[ports.index("--http-port") + 1]
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/browser/", timeout=10) as page:
            assert page.status == 200
        # The demo, pointed at this server, names its Browser's port (it said 7474 "by default").
        from graphmd.demo import _recorded_server

        recorded = _recorded_server(resolve_settings().uri)
        assert recorded is not None and recorded.http_url == f"http://127.0.0.1:{http_port}"
        password = resolve_settings().password
        assert password and password not in started.stdout + started.stderr + status.stdout
        conf = (home / "conf" / "neo4j.conf").read_text()
        assert "dbms.security.auth_enabled=true" in conf and "server.default_listen_address=127.0.0.1" in conf
        with MetadataStore() as store:  # uri and password from the config file `start` wrote
            assert store.counts()["artifacts"] == 0
            [cap] = store.driver.execute_query("SHOW SETTINGS YIELD name, value WHERE name = $name RETURN value",
                                               name="db.memory.transaction.max").records
            assert cap["value"] == "256.00MiB"  # --setting reached neo4j.conf
            kept = dict(store.driver.execute_query(
                "SHOW SETTINGS YIELD name, value WHERE name STARTS WITH 'db.tx_log.rotation.' RETURN name, value"
            ).records)
            assert kept == {"db.tx_log.rotation.size": "64.00MiB", "db.tx_log.rotation.retention_policy": "1G size"}
        # An empty home takes ~130 MB, not Neo4j's default 0.5 GB of preallocated logs.
        logs = sum(f.stat().st_size for f in (home / "data" / "transactions").rglob("*") if f.is_file())
        assert logs < 200 * 2**20, logs
        # Started with the JVM options Neo4j's own launcher passes: no fallback to slower paths.
        debug_log = (home / "logs" / "debug.log").read_text()
        assert "Reflection access to java.nio.DirectByteBuffer is not available" not in debug_log
        assert "Incorrect file descriptor" not in debug_log
        again = subprocess.run([*GRAPHMD, "neo4j", "start", "--home", str(home)], env=env, capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0 and f"already running in {home}" in again.stdout  # idempotent
    finally:
        stopped = subprocess.run([*GRAPHMD, "neo4j", "stop"], env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout and str(home) in stopped.stdout
    status = subprocess.run([*GRAPHMD, "neo4j", "status", "--home", str(home)], env=env, capture_output=True, text=True)
    assert status.returncode == 3 and "stopped" in status.stdout
    # A later plain start of the home keeps the sizes of the last one, as it keeps the ports.
    later = LocalNeo4j(home)
    assert (later.heap, later.pagecache, later.bolt_port) == ("768m", "512m", int(ports[1]))


def test_routing_uri_works(neo4j_server) -> None:
    """neo4j:// (cluster / Aura style) routes reads and writes through the routing table."""
    if not neo4j_server.uri.startswith("bolt://"):
        pytest.skip("the session's Neo4j is not addressed by bolt://")
    routed = "neo4j://" + neo4j_server.uri[len("bolt://"):]
    with MetadataStore(routed, neo4j_server.user, neo4j_server.password, neo4j_server.database) as store:
        from graphmd import ContextType

        type_id = store.put_context_type(ContextType(name="routed"))
        assert store.get_context_type("routed").id == type_id
