"""A local Neo4j's start says every way its login can fail as a graphmd error, never the driver's."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest

from graphmd import FailedPreconditionError, UnauthenticatedError
from graphmd._local_neo4j import LocalNeo4j, free_port


def test_a_start_locked_out_after_wrong_passwords_is_told_to_wait(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Neo4j locks its user out for a few seconds after 3 wrong passwords in a row and says so
    with a ClientError (not an AuthError): a start then must say to wait, naming the password,
    not leak the driver's error nor call it a password Neo4j's rules refuse."""
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    for var in ("GRAPHMD_NEO4J_URI", "GRAPHMD_NEO4J_PASSWORD", "GRAPHMD_NEO4J_HOME"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(),
                        password="first-" + secrets.token_hex(8), record_in_config=False)
    server.start()
    try:
        wrong = "other-" + secrets.token_hex(8)
        later = LocalNeo4j(home, bolt_port=server.bolt_port, http_port=server.http_port, password=wrong,
                           record_in_config=False)
        # Each try logs in twice, wrongly: with the password given, then with Neo4j's default.
        with pytest.raises(FailedPreconditionError) as first:
            later._authenticate(wrong)
        assert first.value.field == "password" and "keeps the password of its first start" in first.value.message
        for _ in range(2):  # the 4th login is refused while setting the password, the 5th at once
            with pytest.raises(UnauthenticatedError) as raised:
                later._authenticate(wrong)
            assert raised.value.field == "password"
            assert "refuses to log in for a few seconds after wrong passwords in a row" in raised.value.message
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
