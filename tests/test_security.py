"""Security defaults: Neo4j auth always on, credentials only from arguments, env or the config
file and never printed, everything bound to loopback unless told otherwise.

Behaviour is exercised where it can be (the live server refuses bad or missing credentials and
is not reachable from another interface; logs, errors and CLI output hold no password); what
cannot run here (the compose file, Neo4j's generated config) is checked as text.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import neo4j
import pytest

from graphmd import MetadataStore, UnauthenticatedError
from graphmd._config import Settings, resolve_settings
from graphmd._local_neo4j import LocalNeo4j

ROOT = Path(__file__).resolve().parent.parent
GRAPHMD = [sys.executable, "-m", "graphmd.cli"]


def tracked_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / n for n in names if (ROOT / n).is_file() and n != "tests/test_security.py"]


# --- auth is always on ----------------------------------------------------------------------


def test_nothing_in_the_repository_disables_neo4j_auth() -> None:
    disabling = re.compile(r"auth_enabled\s*[=:]\s*[\"']?false|NEO4J_AUTH\s*[=:]\s*[\"']?none", re.IGNORECASE)
    offenders = [str(p.relative_to(ROOT)) for p in tracked_files()
                 if disabling.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert not offenders


def test_compose_requires_a_password_and_publishes_on_loopback_only() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    # ${NEO4J_PASSWORD:?...} makes compose refuse to start without one.
    assert re.search(r'NEO4J_AUTH:\s*"neo4j/\$\{NEO4J_PASSWORD:\?', text)
    published = re.findall(r'^\s*-\s*"([^"]*:\d+:\d+)"', text, re.MULTILINE)
    assert published and all(p.startswith("127.0.0.1:") for p in published), published


def test_the_live_server_refuses_missing_and_wrong_credentials(neo4j_server: Settings) -> None:
    with pytest.raises(UnauthenticatedError) as info:
        MetadataStore(neo4j_server.uri, neo4j_server.user, "wrong-" + (neo4j_server.password or ""),
                      neo4j_server.database, connect_timeout=5)
    assert "credentials" in info.value.message and neo4j_server.uri in info.value.message
    with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=None) as anonymous, pytest.raises(neo4j.exceptions.AuthError):
        anonymous.verify_connectivity()


def test_the_local_server_config_keeps_auth_on_and_binds_loopback(tmp_path: Path) -> None:
    LocalNeo4j(tmp_path, bolt_port=1, http_port=2, password="x" * 12, record_in_config=False)._write_conf()
    conf = dict(line.split("=", 1) for line in (tmp_path / "conf" / "neo4j.conf").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert conf["dbms.security.auth_enabled"] == "true"
    listen = {k: v for k, v in conf.items() if k.endswith("listen_address")}
    assert listen and all(v.startswith("127.0.0.1") for v in listen.values()), listen


def test_a_new_local_server_home_is_readable_by_its_user_only(tmp_path: Path) -> None:
    """An operator found the store's files world-readable (home 0755, files 0644): a home
    graphmd creates is 0700, as are the directories it makes in it; a home the user made
    keeps its mode."""
    import stat

    home = tmp_path / "new-home"
    LocalNeo4j(home, bolt_port=1, http_port=2, password="x" * 12, record_in_config=False)._write_conf()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert all(stat.S_IMODE((home / sub).stat().st_mode) == 0o700 for sub in ("data", "logs", "conf"))
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o750)
    LocalNeo4j(mine, bolt_port=1, http_port=2, password="x" * 12, record_in_config=False)._write_conf()
    assert stat.S_IMODE(mine.stat().st_mode) == 0o750


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_local_server_is_not_reachable_from_another_interface(neo4j_server: Settings) -> None:
    if neo4j_server.source != "local server":
        pytest.skip("the session's Neo4j is not graphmd's local server")
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    port = int(neo4j_server.uri.rsplit(":", 1)[1])
    with socket.socket() as sock:
        sock.settimeout(3)
        assert sock.connect_ex((address, port)) != 0, f"Bolt answers on {address}:{port}"
    with socket.socket() as sock:
        sock.settimeout(3)
        assert sock.connect_ex(("127.0.0.1", port)) == 0


# --- credentials: from arguments, env or config, never from code, never printed -------------


def test_no_password_is_written_into_the_code() -> None:
    literal = re.compile(r"""password\s*[:=]\s*(?:str\s*=\s*)?["'][^"'\s]{3,}["']""", re.IGNORECASE)
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in (ROOT / "graphmd").rglob("*.py")
                 for m in literal.finditer(p.read_text())]
    assert not offenders
    assert resolve_settings.__defaults__ is None or "password" not in str(resolve_settings.__defaults__)


def test_the_password_comes_from_arguments_env_or_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("GRAPHMD_NEO4J_PASSWORD", raising=False)
    assert resolve_settings().password is None  # nothing given: no password at all, never a default
    (tmp_path / "config.toml").write_text('[neo4j]\npassword = "from-config"\n')
    assert resolve_settings().password == "from-config"
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", "from-env")
    assert resolve_settings().password == "from-env"
    assert resolve_settings(password="from-arg").password == "from-arg"


def test_reprs_errors_and_logs_never_show_the_password(neo4j_server: Settings, caplog: pytest.LogCaptureFixture) -> None:
    secret = neo4j_server.password
    assert secret
    caplog.set_level(logging.DEBUG)  # the driver's debug log includes every Bolt message
    with MetadataStore(neo4j_server.uri, neo4j_server.user, secret, neo4j_server.database) as store:
        store.counts()
        assert secret not in repr(store) and secret not in repr(store.settings)
    with pytest.raises(UnauthenticatedError) as info:
        MetadataStore(neo4j_server.uri, neo4j_server.user, secret + "-wrong", neo4j_server.database)
    assert secret not in str(info.value)
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)


def test_cli_output_never_shows_the_password(neo4j_server: Settings, tmp_path: Path) -> None:
    secret = neo4j_server.password or ""
    env = {**os.environ, "GRAPHMD_CONFIG": str(tmp_path / "none.toml"), "GRAPHMD_NEO4J_URI": neo4j_server.uri,
           "GRAPHMD_NEO4J_USER": neo4j_server.user, "GRAPHMD_NEO4J_PASSWORD": secret}
    runs = [
        subprocess.run([*GRAPHMD, "export", str(tmp_path / "out.jsonl")], env=env, capture_output=True, text=True,
                       timeout=120),
        subprocess.run([*GRAPHMD, "export", "-q", "-", "--password", secret + "-wrong"], env=env, capture_output=True,
                       text=True, timeout=120),
    ]
    assert runs[0].returncode == 0 and runs[1].returncode == 1
    for run in runs:
        assert secret not in run.stdout + run.stderr


# --- the gRPC server ------------------------------------------------------------------------


def test_graphmd_serve_listens_on_loopback_unless_told_otherwise() -> None:
    import inspect

    from graphmd.cli.serve_commands import serve

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"


def test_a_password_written_into_the_uri_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """The driver refuses user info in a URI, and its message repeated the URI whole, the
    password with it, on the terminal and in logs."""
    from graphmd import InvalidArgumentError

    secret = "S3CRET-in-uri"
    with pytest.raises(InvalidArgumentError) as info:
        MetadataStore(f"bolt://neo4j:{secret}@127.0.0.1:7687", "neo4j", "x")
    assert info.value.field == "uri" and secret not in info.value.message and "***@127.0.0.1:7687" in info.value.message
    env = {**os.environ, "GRAPHMD_CONFIG": str(tmp_path / "none.toml"), "GRAPHMD_NEO4J_URI": f"neo4j://u:{secret}@h:1"}
    done = subprocess.run([sys.executable, "-m", "graphmd.cli", "info"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and secret not in done.stdout + done.stderr and "holds a password" in done.stderr
