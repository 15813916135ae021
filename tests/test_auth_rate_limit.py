"""Refused logins: a wrong or missing password, and Neo4j's lock-out after wrong passwords in a
row, are said as such, naming the password."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import neo4j
import pytest

from graphmd import MetadataStore, UnauthenticatedError, UnavailableError
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
        with pytest.raises(UnauthenticatedError, match="rejected the credentials"):
            MetadataStore(uri=neo4j_server.uri, user=name, password="wrong-password")
    with pytest.raises(UnauthenticatedError) as raised:  # the right one, within the lock's 5 s
        MetadataStore(uri=neo4j_server.uri, user=name, password=password)
    assert raised.value.field == "password" and raised.value.code == "UNAUTHENTICATED"
    assert not isinstance(raised.value, UnavailableError)  # a retry loop for outages must not spin on it
    assert "refuses to log in for a few seconds after wrong passwords in a row" in str(raised.value)
    assert "Give user" not in str(raised.value)  # the password given was right: waiting is the fix


def test_a_missing_or_wrong_password_is_said_without_the_local_server_hint(neo4j_server: Settings, own_user,
                                                                         monkeypatch, tmp_path) -> None:
    """The hint for a server that does not answer (start a local one) is wrong for one that
    refused the password; and the driver's "missing key `scheme`" says nothing to a user."""
    name, _ = own_user
    monkeypatch.delenv("GRAPHMD_NEO4J_PASSWORD", raising=False)  # no password from anywhere
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(UnauthenticatedError) as raised:
        MetadataStore(uri=neo4j_server.uri, user=name)
    said = str(raised.value)
    assert raised.value.field == "password" and said.startswith(f"Neo4j at {neo4j_server.uri} needs a password and "
                                                                "none was given; settings used:")
    assert "scheme" not in said and "graphmd neo4j start` (MetadataStore() then finds it)" not in said
    with pytest.raises(UnauthenticatedError) as raised:
        MetadataStore(uri=neo4j_server.uri, user=name, password="wrong-password")
    assert f"Give user {name}'s password" in str(raised.value)


def test_serve_says_its_own_login_failed_as_unavailable_not_as_the_clients(neo4j_server: Settings, own_user,
                                                                           monkeypatch, tmp_path) -> None:
    """A password changed under a running `graphmd serve` fails its calls with UNAVAILABLE and
    a message for its operator: UNAUTHENTICATED would tell the client its own credentials
    were wrong, and there are none to fix on its side."""
    from ml_metadata import errors as mlmd_errors
    from ml_metadata.proto import metadata_store_pb2

    from _grpc_helpers import client, running_server

    name, password = own_user
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "none.toml"))
    with MetadataStore(uri=neo4j_server.uri, user=name, password=password) as store, running_server(store) as server:
        mlmd_client = client(server.port)
        mlmd_client.get_artifact_types()
        with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)) as admin:
            admin.execute_query(f"ALTER USER {name} SET PASSWORD $new CHANGE NOT REQUIRED",
                                new=secrets.token_urlsafe(12), database_="system")
        store._after_fork_in_child()  # its pooled connections, logged in before, are replaced: as after a restart
        with pytest.raises(mlmd_errors.UnavailableError) as raised:
            mlmd_client.put_artifact_type(metadata_store_pb2.ArtifactType(name="Refused"))
        said = str(raised.value)
        assert "graphmd serve cannot log in to its Neo4j" in said and "rejected the credentials" in said
        assert "Nothing of PutArtifactType was stored" in said
