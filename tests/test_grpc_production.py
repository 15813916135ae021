"""`graphmd serve` as a platform team runs it: clients with deadlines or that cancel, answers
larger than the server sends, shutdown with calls in flight, and TLS keys it cannot use. A
call whose client gave up, or that a shutdown cut off, must not commit behind the client's
back; the status counted is the one the client got."""

from __future__ import annotations

import subprocess

import pytest

pytest.importorskip("ml_metadata")

from graphmd import InvalidArgumentError  # noqa: E402
from graphmd.mlmd.server import ServerOptions, _credentials  # noqa: E402

from _grpc_helpers import GRAPHMD  # noqa: E402


def test_an_encrypted_tls_key_is_refused_in_one_line_without_a_prompt(neo4j_server, tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "plain.key", "-out",
                    "server.crt", "-days", "2", "-subj", "/CN=localhost"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", "plain.key", "-aes256", "-passout", "pass:secret-phrase", "-out",
                    "encrypted.key"], cwd=tmp_path, check=True, capture_output=True)
    with pytest.raises(InvalidArgumentError) as error:
        _credentials(ServerOptions(tls_cert=tmp_path / "server.crt", tls_key=tmp_path / "encrypted.key"))
    assert error.value.field == "tls_key" and "encrypted" in error.value.message
    env = {"GRAPHMD_CONFIG": "/dev/null", "GRAPHMD_NEO4J_URI": neo4j_server.uri, "GRAPHMD_NEO4J_USER": neo4j_server.user,
           "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or "", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([GRAPHMD, "serve", "--grpc-port", "0", "--tls-cert", str(tmp_path / "server.crt"),
                           "--tls-key", str(tmp_path / "encrypted.key")], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()  # before: OpenSSL's passphrase prompt, then a traceback
    assert "--tls-key" in line and "encrypted" in line and "pass phrase" not in done.stderr + done.stdout
    with pytest.raises(InvalidArgumentError) as missing:
        _credentials(ServerOptions(tls_cert=tmp_path, tls_key=tmp_path / "plain.key"))
    assert missing.value.field == "tls_cert" and "--tls-cert" in missing.value.message

