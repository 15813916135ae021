"""`graphmd import-mlmd` from ml-metadata on a real MySQL server: Debian's MariaDB, started
here as the current user in a temporary data directory on a free loopback port.

The server comes from the mariadb-server package; when it is missing and this runs as root
with apt-get (as in CI), it is installed first. Only when that is impossible is the test
skipped, saying why.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ml_metadata")

import ml_metadata as mlmd  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from _debian import ensure_packages  # noqa: E402
from _mlmd_equal import assert_same, graphmd_everything, mlmd_everything  # noqa: E402
from _mlmd_history import build_history  # noqa: E402
from graphmd import MetadataStore, UnavailableError  # noqa: E402
from graphmd._config import Settings  # noqa: E402
from graphmd._local_neo4j import free_port  # noqa: E402
from graphmd.mlmd._client import open_store, parse_source  # noqa: E402
from graphmd.mlmd._compare import compare_all  # noqa: E402
from graphmd.mlmd._import import import_mlmd  # noqa: E402
from graphmd.mlmd._reading import GraphmdReader, MlmdReader  # noqa: E402

RUNS = 100
_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])


def _binaries() -> dict[str, str | None]:
    def find(*names: str) -> str | None:
        return next((found for name in names if (found := shutil.which(name, path=_SEARCH))), None)

    return {"server": find("mariadbd", "mysqld"), "install_db": find("mariadb-install-db", "mysql_install_db"),
            "client": find("mariadb", "mysql")}


def _ensure_mariadb() -> dict[str, str]:
    """The MariaDB programs, installing Debian's mariadb-server first if need be (idempotent)."""
    ensure_packages(["mariadb-server", "mariadb-client"], lambda: all(_binaries().values()), "MariaDB")
    return _binaries()  # type: ignore[return-value]


class MariaDB:
    """A MariaDB server of its own: data directory, socket and port, run as the current user."""

    def __init__(self, home: Path) -> None:
        self.programs = _ensure_mariadb()
        self.home = home
        self.port = free_port()
        self.socket = home / "mysqld.sock"
        self.user = "mlmd"
        self.password = "mlmd-" + secrets.token_hex(8)
        self.database = "metadata"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        data = self.home / "data"
        me = getpass.getuser()
        subprocess.run([self.programs["install_db"], "--no-defaults", f"--datadir={data}", f"--user={me}",
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       check=True, capture_output=True, timeout=300)
        log = self.home / "server.log"
        self.process = subprocess.Popen(
            [self.programs["server"], "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--user={me}", f"--pid-file={self.home / 'pid'}",
             f"--log-error={log}", "--skip-log-bin", "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
             "--innodb-flush-log-at-trx-commit=0", "--innodb-log-file-size=16M"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while self.sql("SELECT 1").returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"MariaDB did not start:\n{log.read_text()[-2000:] if log.exists() else ''}")
            time.sleep(0.2)
        statement = (f"CREATE DATABASE {self.database}; "
                     f"CREATE USER '{self.user}'@'127.0.0.1' IDENTIFIED BY '{self.password}'; "
                     f"GRANT ALL ON {self.database}.* TO '{self.user}'@'127.0.0.1';")
        done = self.sql(statement)
        assert done.returncode == 0, done.stderr

    def sql(self, statement: str) -> subprocess.CompletedProcess:
        """Run SQL as root over the socket (root logs in by socket, as the OS user running the server)."""
        return subprocess.run([self.programs["client"], "--no-defaults", f"--socket={self.socket}", "-uroot",
                               "-e", statement], capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    @property
    def source(self) -> str:
        return f"mysql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def client(self):
        config = pb.ConnectionConfig()
        config.mysql.host = "127.0.0.1"
        config.mysql.port = self.port
        config.mysql.database = self.database
        config.mysql.user = self.user
        config.mysql.password = self.password
        return mlmd.MetadataStore(config)


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory) -> Iterator[MariaDB]:
    """A MariaDB holding RUNS runs of the 7-stage pipeline, recorded by ml-metadata."""
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    try:
        server.start()
        build_history(server.client(), RUNS)
        yield server
    finally:
        server.stop()


def test_import_from_mysql_is_lossless(store: MetadataStore, mariadb: MariaDB) -> None:
    result = import_mlmd(store, parse_source(mariadb.source, password=mariadb.password), batch_size=250)
    client = mariadb.client()
    assert_same(mlmd_everything(client), graphmd_everything(store))
    assert result.read == store.counts() and result.read["executions"] == 7 * RUNS
    full = compare_all(MlmdReader(client, mariadb.source), GraphmdReader(store), store.counts())
    assert full.equal and full.compared["artifact"] == 9 * RUNS


def test_cli_import_from_mysql(store: MetadataStore, mariadb: MariaDB, neo4j_server: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "GRAPHMD_NEO4J_URI": neo4j_server.uri, "GRAPHMD_NEO4J_USER": neo4j_server.user,
           "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or "", "GRAPHMD_CONFIG": str(tmp_path / "none.toml"),
           "GRAPHMD_MLMD_PASSWORD": mariadb.password}
    graphmd = [sys.executable, "-m", "graphmd.cli", "import-mlmd", mariadb.source]
    done = subprocess.run([*graphmd, "--verify"], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "node by node and edge by edge" in done.stderr and mariadb.source in done.stderr
    assert mariadb.password not in done.stdout + done.stderr
    assert_same(mlmd_everything(mariadb.client()), graphmd_everything(store))

    refused = subprocess.run([*graphmd, "-q"], env={**env, "GRAPHMD_MLMD_PASSWORD": "wrong"}, capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode == 1 and "cannot open ml-metadata" in refused.stderr
    with pytest.raises(UnavailableError) as info:
        open_store(parse_source(f"mysql://{mariadb.user}@127.0.0.1:{free_port()}/{mariadb.database}",
                                password=mariadb.password))
    assert info.value.field == "source" and mariadb.password not in info.value.message
