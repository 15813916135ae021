"""Refused logins: a wrong or missing password, and Neo4j's lock-out after wrong passwords in a
row, are said as such, naming the password."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import neo4j
import pytest

from graphmd import MetadataStore, UnavailableError
from graphmd._config import Settings


@pytest.fixture
def own_user(neo4j_server: Settings) -> Iterator[tuple[str, str]]:
    """A user of its own (Community Edition has native users), so that locking it out
    leaves the suite's user alone."""
    name, password = f"locked_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)) as driver:
        driver.execute_query(f"CREATE USER {name} SET PASSWORD $password CHANGE NOT REQUIRED",
                             password=password, database_="system")
        try:
            yield name, password
        finally:
            driver.execute_query(f"DROP USER {name} IF EXISTS", database_="system")


def test_a_locked_out_user_is_told_to_wait_not_an_internal_error(neo4j_server: Settings, own_user) -> None:
    name, password = own_user
    for _ in range(3):  # Neo4j's dbms.security.auth_max_failed_attempts
        with pytest.raises(UnavailableError, match="rejected the credentials"):
            MetadataStore(uri=neo4j_server.uri, user=name, password="wrong-password")
    with pytest.raises(UnavailableError) as raised:  # the right one, within the lock's 5 s
        MetadataStore(uri=neo4j_server.uri, user=name, password=password)
    assert raised.value.field == "password"
    assert "refuses to log in for a few seconds after wrong passwords in a row" in str(raised.value)
    assert "Give user" not in str(raised.value)  # the password given was right: waiting is the fix


def test_a_missing_or_wrong_password_is_said_without_the_local_server_hint(neo4j_server: Settings, own_user,
                                                                         monkeypatch, tmp_path) -> None:
    """The hint for a server that does not answer (start a local one) is wrong for one that
    refused the password; and the driver's "missing key `scheme`" says nothing to a user."""
    name, _ = own_user
    monkeypatch.delenv("GRAPHMD_NEO4J_PASSWORD", raising=False)  # no password from anywhere
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(UnavailableError) as raised:
        MetadataStore(uri=neo4j_server.uri, user=name)
    said = str(raised.value)
    assert raised.value.field == "password" and said.startswith(f"Neo4j at {neo4j_server.uri} needs a password and "
                                                                "none was given; settings used:")
    assert "scheme" not in said and "graphmd neo4j start` (MetadataStore() then finds it)" not in said
    with pytest.raises(UnavailableError) as raised:
        MetadataStore(uri=neo4j_server.uri, user=name, password="wrong-password")
    assert f"Give user {name}'s password" in str(raised.value)
