"""`graphmd neo4j status|start|stop` on a home that is not there, one that runs, one slow to exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphmd.cli import app

# Stands in for Neo4j's JVM: its command line names the entry point and the home, as
# LocalNeo4j.pid() checks. On SIGTERM its main thread ends (the process then shows as a
# zombie) while another thread goes on for LINGER seconds, as a JVM shutting down does;
# with --ignore-term it never exits on SIGTERM.
FAKE_SERVER = textwrap.dedent("""
    import ctypes, os, signal, sys, threading, time
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    terminated = threading.Event()
    def linger():
        terminated.wait()
        time.sleep(float(sys.argv[1]))
        os._exit(0)
    threading.Thread(target=linger).start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM})
    while "--ignore-term" in sys.argv:
        signal.sigwait({signal.SIGTERM})
    terminated.set()
    ctypes.CDLL(None).pthread_exit(None)
""")
LINGER = 2.0


@pytest.fixture
def neo4j_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("GRAPHMD_NEO4J_HOME", raising=False)
    monkeypatch.setenv("COLUMNS", "80")

    def invoke(*args: str, code: int = 0) -> tuple[str, str]:
        result = CliRunner().invoke(app, ["neo4j", *args], catch_exceptions=False)
        assert result.exit_code == code, result.stdout + result.stderr
        return result.stdout, result.stderr

    return invoke


def _fake_server(home: Path, *extra: str) -> subprocess.Popen:
    """A process that LocalNeo4j(home) takes for its running server."""
    for sub in ("conf", "run"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "conf" / "neo4j.conf").write_text("# fake\n")
    fake = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, str(LINGER), *extra,
                             "org.neo4j.server.CommunityEntryPoint", f"--home-dir={home}"], stdout=subprocess.PIPE)
    assert fake.stdout is not None and fake.stdout.readline() == b"ready\n"
    (home / "run" / "graphmd-neo4j.pid").write_text(f"{fake.pid}\n")
    return fake


def test_status_and_stop_of_a_home_that_is_not_there_say_so(neo4j_cli, tmp_path):
    typo = tmp_path / "typo"
    for command in ("status", "stop"):
        out, err = neo4j_cli(command, "--home", str(typo), code=1)
        assert f"no Neo4j home at {typo}" in err and f"graphmd neo4j start --home {typo}" in err
        assert "stopped" not in out and "7687" not in out
    assert not typo.exists()


def test_status_of_a_home_where_no_start_succeeded_says_whose_ports_it_shows(neo4j_cli, tmp_path):
    """A first start that failed (a bad --setting) leaves the home's neo4j.conf with the
    ports it was given, and status showed 7687 and 7474 as if they were the home's."""
    import json

    home = (tmp_path / "home").resolve()
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "neo4j.conf").write_text("server.bolt.listen_address=127.0.0.1:23690\n")
    out, _ = neo4j_cli("status", "--home", str(home), code=3)
    assert "stopped; no start has succeeded in this home yet" in out and "bolt://127.0.0.1:7687" in out
    (home / "graphmd-server.json").write_text(json.dumps({"bolt_port": 23690, "http_port": 23491, "password": "x" * 8}))
    out, _ = neo4j_cli("status", "--home", str(home), code=3)
    assert "Neo4j 5.26" in out and ": stopped\n" in out and "bolt://127.0.0.1:23690" in out


def test_start_on_a_running_home_says_it_already_runs_and_where(neo4j_cli, tmp_path):
    home = (tmp_path / "home").resolve()
    fake = _fake_server(home)
    try:
        out, _ = neo4j_cli("start", "--home", str(home), "--bolt-port", "1")
        assert f"Neo4j is already running in {home} (pid {fake.pid}); nothing started" in out
        assert "bolt://127.0.0.1:1" not in out  # the ports it runs on, not the ones given now
        # A value the option does not take is a usage mistake there too: said before "already
        # running" sends the user to stop the server, to meet it only then.
        _, err = neo4j_cli("start", "--home", str(home), "--heap", "lots", code=2)
        assert "Invalid value for '--heap'" in err and "already running" not in err
    finally:
        fake.kill()
        fake.wait()


def test_start_on_a_running_home_points_the_config_back_at_it(neo4j_cli, tmp_path):
    """Starting a second home says `graphmd neo4j start --home FIRST` points MetadataStore()
    and the CLI back at the first; with the first still running, that said "already running"
    and left the config file on the second (stop the second, and every command failed)."""
    import json

    from graphmd._config import read_config, write_config

    first = (tmp_path / "first").resolve()
    fake = _fake_server(first)
    (first / "graphmd-server.json").write_text(json.dumps({"bolt_port": 23687, "http_port": 23474,
                                                           "password": "first-home-password"}))
    write_config({"uri": "bolt://127.0.0.1:24687", "user": "neo4j", "password": "second-home-pw",
                  "home": str(tmp_path / "second")})
    try:
        out, _ = neo4j_cli("start", "--home", str(first))
        assert "nothing started" in out and f"now use this server ({tmp_path / 'config.toml'} records it)" in out
        config = read_config()
        assert (config["uri"], config["password"], config["home"]) == (
            "bolt://127.0.0.1:23687", "first-home-password", str(first))
        out, _ = neo4j_cli("start", "--home", str(first))  # already the one recorded: no note
        assert "note" not in out
    finally:
        fake.kill()
        fake.wait()


def test_stop_returns_once_the_process_has_exited(neo4j_cli, tmp_path):
    home = (tmp_path / "home").resolve()
    fake = _fake_server(home)
    try:
        out, _ = neo4j_cli("stop", "--home", str(home))
        assert out == f"Neo4j stopped (home {home})\n"
        assert fake.wait(timeout=0.5) == 0  # already over: only the zombie was left to reap
    finally:
        fake.kill()
        fake.wait()


def test_stop_kills_a_server_that_outlives_its_timeout_and_says_so(neo4j_cli, tmp_path):
    home = (tmp_path / "home").resolve()
    fake = _fake_server(home, "--ignore-term")
    try:
        out, err = neo4j_cli("stop", "--home", str(home), "--timeout", "0.5")
        assert f"Neo4j (pid {fake.pid}) did not exit within 0.5s of SIGTERM: sending SIGKILL" in err
        assert "stopped" in out
        assert fake.wait(timeout=0.5) == -9
    finally:
        fake.kill()
        fake.wait()


def test_start_help_names_the_config_file(neo4j_cli):
    out, _ = neo4j_cli("start", "--help")
    text = " ".join(out.split())
    assert "$GRAPHMD_CONFIG" in text and "~/.config/graphmd/config.toml" in text


@pytest.mark.parametrize("option, value, message", [
    ("--bolt-port", "99999", "99999 is not a TCP port (1-65535)"),
    ("--bolt-port", "0", "0 is not a TCP port (1-65535)"),
    ("--http-port", "70000", "70000 is not a TCP port (1-65535)"),
    ("--heap", "lots", "'lots' is not a memory size such as 512m or 4g"),
    ("--pagecache", "1.5g", "'1.5g' is not a memory size such as 512m or 4g"),
])
def test_start_refuses_a_bad_port_or_size_before_it_records_anything(neo4j_cli, tmp_path, option, value, message):
    """Port 99999 was a traceback, 0 meant 7687, and a bad heap was saved for every later
    plain start to fail on. Each is a usage mistake (exit 2), said as click says them."""
    home = tmp_path / "home"
    _, err = neo4j_cli("start", "--home", str(home), option, value, code=2)
    assert f"Invalid value for '{option}'" in err
    assert message in err and "Traceback" not in err
    assert not home.exists() and not (tmp_path / "config.toml").exists()


def test_a_bad_setting_saved_by_an_older_start_falls_back_to_the_default(tmp_path):
    from graphmd._local_neo4j import LocalNeo4j

    home = tmp_path / "home"
    home.mkdir()
    (home / "graphmd-server.json").write_text('{"bolt_port": 21001, "heap": "lots", "http_port": 0}')
    server = LocalNeo4j(home, record_in_config=False)
    assert (server.bolt_port, server.http_port, server.heap) == (21001, 7474, "1g")
