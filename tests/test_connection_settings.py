"""Connection settings given the wrong way are said as such, and graphmd opens its drivers one way."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphmd import InvalidArgumentError, MetadataStore, UnauthenticatedError, UnavailableError
from graphmd._config import Settings, open_driver, refused_field, resolve_settings
from graphmd._errors import map_driver_errors


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config or GRAPHMD_NEO4J_* variable leaks into the test."""
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    for var in ("GRAPHMD_NEO4J_URI", "GRAPHMD_NEO4J_USER", "GRAPHMD_NEO4J_PASSWORD", "GRAPHMD_NEO4J_DATABASE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.mark.parametrize("field, value", [("uri", 123), ("uri", b"bolt://127.0.0.1:7687"), ("user", 5),
                                          ("password", b"secret-bytes"), ("database", 7)])
def test_a_setting_that_is_no_string_is_an_invalid_argument_naming_it(isolated: Path, field: str,
                                                                      value: object) -> None:
    for call in (resolve_settings, MetadataStore):
        with pytest.raises(InvalidArgumentError) as raised:
            call(**{field: value})  # type: ignore[operator]
        assert raised.value.field == field
        assert f"{field} " in raised.value.message and "must be a string" in raised.value.message
        assert "secret-bytes" not in raised.value.message  # a password is never shown


def test_a_config_file_value_that_is_no_string_names_the_file(isolated: Path) -> None:
    (isolated / "config.toml").write_text('[neo4j]\nuri = "bolt://127.0.0.1:7687"\npassword = 12345678\n')
    with pytest.raises(InvalidArgumentError) as raised:
        resolve_settings()
    assert raised.value.field == "password"
    assert str(isolated / "config.toml") in raised.value.message and "quote it" in raised.value.message
    assert "12345678" not in raised.value.message


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A Bolt URI whose server accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"bolt://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_a_server_that_never_answers_fails_in_the_connect_timeout(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(UnavailableError) as raised:
        with map_driver_errors(silent_server), open_driver(Settings(silent_server, "neo4j", "pw"),
                                                           connect_timeout=1.0) as driver:
            driver.verify_connectivity()
    assert time.monotonic() - started < 10
    assert refused_field(raised.value) == "uri"


def test_no_password_sends_no_credentials_and_points_at_the_password(neo4j_server: Settings) -> None:
    settings = Settings(neo4j_server.uri, neo4j_server.user, None, neo4j_server.database)
    with pytest.raises(UnauthenticatedError) as raised:
        with map_driver_errors(settings.uri), open_driver(settings) as driver:
            driver.verify_connectivity()
    assert refused_field(raised.value) == "password"
    with map_driver_errors(neo4j_server.uri), open_driver(neo4j_server) as driver:
        driver.verify_connectivity()
