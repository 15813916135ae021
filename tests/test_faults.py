"""Faults: a client SIGKILLed inside a large write, Neo4j stopped and restarted under a
stream of writes, a store opened while Neo4j is down or does not answer, many processes
opening a new database at once.

Each write is one transaction, so whatever happens the store holds all of a call or none
of it, and the same MetadataStore works on once Neo4j is back.
"""

from __future__ import annotations

import multiprocessing
import secrets
import shutil
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from _net import pipe
from _workers import big_call, open_store, register_types, step_request
from graphmd import Artifact, InvalidArgumentError, MetadataStore, NotFoundError, UnauthenticatedError, UnavailableError
from graphmd._config import Settings
from graphmd._local_neo4j import LocalNeo4j, free_port
from graphmd._store import time_bound

pytestmark = pytest.mark.slow

BIG = 3000  # artifacts (and executions) in one killed call: a few seconds of work

# What one big call writes, per kind: executions, artifacts, events, contexts, attributions, associations.
FULL = {"lineage": (BIG, BIG, BIG, 1, BIG, BIG), "execution": (1, BIG, BIG, 1, BIG, 1)}
MARKER_COUNTS = """
CALL () { MATCH (x:Execution) WHERE x.name STARTS WITH $m RETURN count(x) AS executions }
CALL () { MATCH (a:Artifact) WHERE a.external_id STARTS WITH $m RETURN count(a) AS artifacts }
CALL () { MATCH (a:Artifact)-[e:EVENT]-() WHERE a.external_id STARTS WITH $m RETURN count(e) AS events }
CALL () { MATCH (c:Context {name: 'run-' + $m}) RETURN count(c) AS contexts }
CALL () { MATCH (:Context {name: 'run-' + $m})-[r:ATTRIBUTION]->() RETURN count(r) AS attributions }
CALL () { MATCH (:Context {name: 'run-' + $m})-[r:ASSOCIATION]->() RETURN count(r) AS associations }
RETURN [executions, artifacts, events, contexts, attributions, associations] AS counts
"""
OTHER_TRANSACTIONS = """
SHOW TRANSACTIONS YIELD transactionId, currentQuery, status, clientAddress, elapsedTime
WHERE NOT trim(currentQuery) STARTS WITH 'SHOW TRANSACTIONS'
RETURN transactionId + ' ' + status + ' ' + clientAddress + ' ' + toString(elapsedTime) + ' ' + left(currentQuery, 60) AS tx
"""
WRITE_STATEMENT = "$planned"  # in the text of the one statement a call's writes go in (graphmd._queries.write_planned)


def wait_until(condition: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what if isinstance(what, str) else what()}")
        time.sleep(0.05)


HOLD_CONTEXT = "CREATE (c:Context {type_id: $type_id, name: $name})"  # in a transaction left open


def blocked_writing(store: MetadataStore) -> bool:
    """Whether a call's write statement waits on a lock another transaction holds."""
    return any(WRITE_STATEMENT in tx and "Blocked" in tx for tx in other_transactions(store))


def other_transactions(store: MetadataStore) -> list[str]:
    """Open transactions but the one asking, as text."""
    return [r["tx"] for r in store.driver.execute_query(OTHER_TRANSACTIONS, database_="system").records]


# --- SIGKILL inside a call --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lineage", "execution"])
def test_a_client_killed_mid_call_leaves_all_or_nothing(store: MetadataStore, neo4j_server: Settings,
                                                        kind: str) -> None:
    types = register_types(store)
    connection = (neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database)
    ctx = multiprocessing.get_context("spawn")

    def launch(marker: str) -> tuple[multiprocessing.process.BaseProcess, object, object]:
        started, finished = ctx.Event(), ctx.Event()
        proc = ctx.Process(target=big_call, args=(connection, kind, marker, BIG, started, finished))
        proc.start()
        assert started.wait(120), "the child never reached the call"
        return proc, started, finished

    def counts(marker: str) -> tuple[int, ...]:
        record = store.driver.execute_query(MARKER_COUNTS, m=marker, database_=store.database).records[0]
        return tuple(record["counts"])

    # Calibrate: how long the call takes when left alone, once its statement is planned
    # (the first call on a fresh server plans it and takes twice as long or more).
    for attempt in ("warm", "calib"):
        proc, _, finished = launch(f"{kind}-{attempt}-")
        began = time.monotonic()
        assert finished.wait(300)
        duration = time.monotonic() - began
        proc.join(60)
        assert counts(f"{kind}-{attempt}-") == FULL[kind]

    # Kill at spread moments of the call: either outcome, never half. Then kill while the
    # write statement is held on the server: this test's own open transaction holds the
    # run context's (type_id, name) key, so the call's statement waits on that lock and
    # cannot have committed; Neo4j must terminate it with its closed connection, so nothing
    # may remain once the blocker rolls back.
    # (Observing a running statement and then killing would race its commit.)
    outcomes = []
    moments: list[float | str] = [0.2, 0.6, 1.0, "blocked", "blocked"]
    for i, moment in enumerate(moments):
        marker = f"{kind}-kill{i}-"
        with store.driver.session(database=store.database) as session:
            blocker = session.begin_transaction() if moment == "blocked" else None
            try:
                if blocker is not None:
                    blocker.run(HOLD_CONTEXT, type_id=types["run"], name=f"run-{marker}").consume()
                proc, _, finished = launch(marker)
                if blocker is not None:
                    wait_until(lambda: blocked_writing(store) or finished.is_set(), 120,
                               "the call's write statement to wait")
                else:
                    time.sleep(duration * moment)
                in_statement = any(WRITE_STATEMENT in tx for tx in other_transactions(store))
                proc.kill()  # SIGKILL: no cleanup, the socket just closes
                proc.join(60)
                assert proc.exitcode == -9 or finished.is_set()
                assert blocker is None or not finished.is_set(), "the call returned while its context's key was held"
            finally:
                if blocker is not None:
                    blocker.rollback()
        # Neo4j rolls back the dead client's transaction and releases its locks.
        wait_until(lambda: not other_transactions(store), 60,
                   lambda: f"the killed client's transaction to end: {other_transactions(store)}")
        found = counts(marker)
        assert found in (FULL[kind], (0, 0, 0, 0, 0, 0)), f"half-written after a kill at {moment}: {found}"
        if blocker is not None:
            assert found == (0, 0, 0, 0, 0, 0), f"a kill while the statement waited left {found}"
        outcomes.append((i, in_statement, blocker is not None, found == FULL[kind]))
    inside = sum(1 for _, in_statement, _, _ in outcomes if in_statement)
    # The store works on: a rolled-back call's names are free, and the call now goes through.
    rolled_back = next(i for i, *_, committed in outcomes if not committed)
    proc, _, finished = launch(f"{kind}-kill{rolled_back}-")
    proc.join(300)
    assert finished.is_set(), f"the rerun of kill {rolled_back} failed (see its traceback above): {outcomes}"
    assert counts(f"{kind}-kill{rolled_back}-") == FULL[kind]
    print(f"\nSIGKILL during {kind} ({BIG} nodes, {duration:.1f}s): {len(outcomes)} kills, {inside} while its write "
          f"statement ran ({sum(s for _, _, s, _ in outcomes)} held by a lock), {sum(c for *_, c in outcomes)} committed whole, "
          f"{sum(not c for *_, c in outcomes)} rolled back whole, 0 half-written")


# --- Neo4j restarting under a stream of writes ----------------------------------------------


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    """A local Neo4j this module may stop and start (never the session's server)."""
    home = Path(tmp_path_factory.mktemp("restartable-neo4j"))
    server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(), password="graphmd-" + secrets.token_hex(8),
                        heap="512m", pagecache="64m", record_in_config=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_neo4j_restart_during_writes(own_server: LocalNeo4j) -> None:
    outcomes: list[tuple[int, str, object]] = []  # (step, "ok" | "unavailable" | "other", detail)
    stop = threading.Event()
    with MetadataStore(own_server.uri, "neo4j", own_server.password, connect_timeout=2.0) as store, \
            MetadataStore(own_server.uri, "neo4j", own_server.password, connect_timeout=2.0) as idle:
        store.delete_everything()
        types = register_types(store)

        def writer() -> None:
            step = 0
            while not stop.is_set():
                try:
                    r = store.put_execution(**step_request(types, 0, step), reuse_context_if_already_exist=True,
                                            reuse_artifact_if_already_exist_by_external_id=True)
                    outcomes.append((step, "ok", r))
                except UnavailableError as error:
                    outcomes.append((step, "unavailable", error))
                except Exception:  # noqa: BLE001 - the test reports it
                    outcomes.append((step, "other", traceback.format_exc()))
                step += 1

        def count(kind: str) -> int:
            return sum(1 for o in outcomes if o[1] == kind)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        try:
            wait_until(lambda: count("ok") >= 20, 120, "20 writes before the stop")
            own_server.stop()
            # A call made while Neo4j is down never reached it: UnavailableError, known not to
            # have taken effect, also from a store that has yet to reserve ids.
            for down in (store, idle):
                with pytest.raises(UnavailableError) as refused:
                    down.put_artifacts([Artifact(type_id=types["data"], uri="/while-down")])
                assert not refused.value.commit_unknown, refused.value
            # Opening a store while Neo4j is down fails fast, naming the URI.
            began = time.monotonic()
            with pytest.raises(UnavailableError) as info:
                MetadataStore(own_server.uri, "neo4j", own_server.password, connect_timeout=1.0)
            assert time.monotonic() - began < 3.0 and own_server.uri in info.value.message
            wait_until(lambda: count("unavailable") >= 2, 120, "writes to fail while Neo4j is down")
            own_server.start()
            before = count("ok")
            wait_until(lambda: count("ok") >= before + 20, 180, "20 writes after the restart")
        finally:
            stop.set()
            thread.join(120)

        others = [o[2] for o in outcomes if o[1] == "other"]
        assert not others, f"{len(others)} calls failed with something other than UnavailableError:\n{others[0]}"
        # Nothing half-written: each call's execution, model, events and links are all there or all absent.
        executions = {x.name: x for x in store.get_executions()}
        models = {a.external_id: a for a in store.get_artifacts() if a.external_id.startswith("model-")}
        for step, kind, detail in outcomes:
            name, ext = f"w0-s{step}", f"model-w0-s{step}"
            if kind == "ok":
                assert executions[name].id == detail.execution_id and models[ext].id == detail.artifact_ids[1]
            assert (name in executions) == (ext in models), f"step {step} ({kind}) is half-written"
            if kind == "unavailable" and not detail.commit_unknown:
                assert name not in executions, (f"step {step} raised UnavailableError but was written: "
                                                f"{detail!r} from {detail.__cause__!r}")
            if name in executions:
                x = executions[name].id
                assert len(store.get_events_by_execution_ids([x])) == 2
                assert len(store.get_contexts_by_execution(x)) == 2
        assert len(executions) == len(models)
        ok, unavailable = count("ok"), count("unavailable")
        unknown = sum(1 for _, kind, detail in outcomes if kind == "unavailable" and detail.commit_unknown)
        print(f"\nNeo4j restart under writes: {len(outcomes)} calls, {ok} succeeded, {unavailable} raised "
              f"UnavailableError ({unknown} of them while committing: outcome unknown), 0 other errors, 0 half-written")


def test_serve_readiness_follows_neo4j(own_server: LocalNeo4j) -> None:
    """graphmd serve reports ml_metadata.MetadataStoreService NOT_SERVING while Neo4j does not
    answer and SERVING again once it does (readiness); "" stays SERVING (liveness)."""
    pytest.importorskip("ml_metadata")
    from grpc_health.v1 import health_pb2

    import ml_metadata.errors as mlmd_errors

    from _grpc_helpers import client, health_status, running_server
    from graphmd.mlmd.server import SERVICE_NAME

    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    with MetadataStore(own_server.uri, "neo4j", own_server.password, connect_timeout=1.0) as store, \
            running_server(store, health_interval=0.2) as server:
        assert health_status(server.port, SERVICE_NAME) == serving
        own_server.stop()
        try:
            wait_until(lambda: health_status(server.port, SERVICE_NAME) == not_serving, 60, "NOT_SERVING")
            assert health_status(server.port) == serving
            # A call bounded by its client's deadline gives up within it: the driver's retry
            # pauses (1, 1.8, 4.75 s) held a 3 s call ~7 s, and its worker with it.
            deadline = time.monotonic() + 3.0
            with pytest.raises(UnavailableError), time_bound(lambda: deadline - time.monotonic()):
                store.get_artifacts_by_id([1])
            assert time.monotonic() < deadline + 1.0
            # Once its checks have failed twice, calls fail at once rather than each holding a
            # worker ~15 s through the driver's retries (enough of them starved even the
            # health service of workers, failing liveness probes).
            wait_until(lambda: server.servicer.neo4j_down_since is not None, 30, "calls to fail fast")
            began = time.monotonic()
            with pytest.raises(mlmd_errors.UnavailableError, match="does not answer"):
                client(server.port).get_artifact_types()
            assert time.monotonic() - began < 2.0
        finally:
            own_server.start()
        wait_until(lambda: health_status(server.port, SERVICE_NAME) == serving, 120, "SERVING again")
        wait_until(lambda: server.servicer.neo4j_down_since is None, 30, "calls taken again")
        assert client(server.port).get_artifact_types() is not None


def test_serve_sees_a_frozen_neo4j(own_server: LocalNeo4j) -> None:
    """A Neo4j that stops answering without dropping its connections (a stopped process, a
    long pause, a network that drops packets) held the health watcher's check forever:
    readiness stayed SERVING, calls never failed fast, and each /metrics scrape waited ~10 s,
    past Prometheus's timeout. Both checks now give up after 3 s."""
    pytest.importorskip("ml_metadata")
    import os
    import signal

    from grpc_health.v1 import health_pb2

    from _grpc_helpers import health_status, running_server
    from graphmd.mlmd._metrics import _StoreCollector
    from graphmd.mlmd.server import SERVICE_NAME

    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    pid = own_server.pid()
    assert pid is not None
    with MetadataStore(own_server.uri, "neo4j", own_server.password, connect_timeout=2.0) as store, \
            running_server(store, health_interval=0.5) as server:
        collector = _StoreCollector(store)
        assert health_status(server.port, SERVICE_NAME) == serving
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_until(lambda: health_status(server.port, SERVICE_NAME) == not_serving, 20, "NOT_SERVING")
            wait_until(lambda: server.servicer.neo4j_down_since is not None, 20, "calls to fail fast")
            began = time.monotonic()
            [up] = [family for family in collector.collect() if family.name == "graphmd_neo4j_up"]
            assert up.samples[0].value == 0 and time.monotonic() - began < 5.0
            assert health_status(server.port) == serving  # liveness: the server itself answers
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_until(lambda: health_status(server.port, SERVICE_NAME) == serving, 60, "SERVING again")
        # The scrape checks on its own, within 3 s: on a loaded machine a thawed JVM may need a
        # few of them.
        wait_until(lambda: [family for family in collector.collect()
                            if family.name == "graphmd_neo4j_up"][0].samples[0].value == 1, 30, "graphmd_neo4j_up 1")


# --- opening a store when Neo4j cannot be reached ----------------------------------------


@pytest.mark.parametrize("timeout", [0.5, 1.5])
def test_opening_a_store_fails_within_connect_timeout_naming_the_uri(timeout: float) -> None:
    # A port that accepts TCP but never answers Bolt (a hung server, a firewall), and a closed port.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    closed = free_port()
    try:
        for uri in (f"bolt://127.0.0.1:{silent.getsockname()[1]}", f"bolt://127.0.0.1:{closed}",
                    f"neo4j://127.0.0.1:{silent.getsockname()[1]}"):
            began = time.monotonic()
            with pytest.raises(UnavailableError) as info:
                MetadataStore(uri, "neo4j", "not-the-password", connect_timeout=timeout)
            elapsed = time.monotonic() - began
            assert elapsed < timeout + 0.5, f"{uri} took {elapsed:.2f}s with connect_timeout={timeout}"
            assert uri in info.value.message
            assert "not-the-password" not in info.value.message
            # What to do about it, and no driver traceback chained to it.
            assert "settings used: the URI from arguments" in info.value.message and "graphmd neo4j start" in info.value.message
            assert info.value.__suppress_context__ and info.value.__cause__ is None
            assert info.value.field == "uri"
    finally:
        silent.close()


def test_processes_opening_a_new_database_at_once_all_succeed(own_server: LocalNeo4j) -> None:
    """Eight processes create the schema of an empty database at the same moment: their schema
    statements deadlock each other, are retried, and each open succeeds with one schema."""
    with MetadataStore(own_server.uri, "neo4j", own_server.password) as store:
        driver = store.driver
        for record in driver.execute_query("SHOW CONSTRAINTS YIELD name").records:
            driver.execute_query(f"DROP CONSTRAINT `{record['name']}`")
        for record in driver.execute_query("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'").records:
            driver.execute_query(f"DROP INDEX `{record['name']}`")
        driver.execute_query("MATCH (n) DETACH DELETE n")
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(8), ctx.Queue()
    connection = (own_server.uri, "neo4j", own_server.password, None)
    procs = [ctx.Process(target=open_store, args=(connection, barrier, out)) for _ in range(8)]
    for p in procs:
        p.start()
    outcomes = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
    failed = [detail for kind, detail in outcomes if kind != "ok"]
    assert not failed, f"{len(failed)} of 8 opens failed; first:\n{failed[0]}"
    with MetadataStore(own_server.uri, "neo4j", own_server.password) as store:
        one = lambda q: store.driver.execute_query(q).records[0]["n"]  # noqa: E731
        assert one("MATCH (m:GraphmdMeta) RETURN count(m) AS n") == 1
        assert one("MATCH (t:Type) RETURN count(t) AS n") == 9  # MLMD's system types, once each
        assert one("SHOW CONSTRAINTS YIELD name RETURN count(*) AS n") >= 14


def test_refused_credentials_name_the_password(neo4j_server: Settings) -> None:
    # An unknown user (a wrong password for `neo4j` would lock it for the other tests).
    with pytest.raises(UnauthenticatedError) as info:
        MetadataStore(neo4j_server.uri, "nobody-" + secrets.token_hex(4), "not-the-password")
    assert info.value.field == "password" and "rejected the credentials" in info.value.message
    assert "not-the-password" not in info.value.message
    # Where each value came from, so a user knows which to fix.
    assert "the URI from arguments, the user from arguments, the password from arguments" in info.value.message


def test_an_unknown_database_is_not_found_naming_the_field(neo4j_server: Settings) -> None:
    with pytest.raises(NotFoundError) as info:
        MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, "no-such-db")
    assert info.value.field == "database" and "no-such-db" in info.value.message
    # Neo4j's own system database exists, but holds users and databases, not graphmd's data.
    with pytest.raises(InvalidArgumentError) as refused:
        MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, "system")
    assert refused.value.field == "database" and "Neo4j's own database" in refused.value.message


def test_an_interruption_inside_the_driver_exits_130_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the middle of the driver's socket code can surface as another error (a
    BufferError raised while handling the KeyboardInterrupt): still exit 130, no traceback."""
    import graphmd.cli as cli

    def interrupted() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise BufferError("Existing exports of data: object cannot be re-sized")

    monkeypatch.setattr(cli, "app", interrupted)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 130
    monkeypatch.setattr(cli, "app", lambda: (_ for _ in ()).throw(BufferError("not an interruption")))
    with pytest.raises(BufferError):
        cli.main()


@pytest.mark.parametrize("field,value", [("connect_timeout", -1), ("connect_timeout", 0), ("transaction_timeout", "5"),
                                         ("transaction_timeout", float("nan"))])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused_naming_it(field: str, value: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        MetadataStore("bolt://127.0.0.1:1", "neo4j", "unused", **{field: value})  # type: ignore[arg-type]
    assert info.value.field == field


# --- a call bounded by a deadline, on a Neo4j that stops answering new connections -------


class _Relay:
    """A TCP relay to Neo4j that can fall silent: ``silence()`` drops every relayed
    connection and accepts new ones without ever answering (a server restarting on a loaded
    machine, a network that drops packets)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self._open: list[socket.socket] = []
        self._silent = threading.Event()
        self._stop = threading.Event()
        self.uri = f"bolt://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client_side, _ = self._listener.accept()
            except OSError:
                continue
            self._open.append(client_side)
            if self._silent.is_set():
                continue
            server_side = socket.create_connection(self._target)
            self._open.append(server_side)
            for a, b in ((client_side, server_side), (server_side, client_side)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    def silence(self) -> None:
        self._silent.set()
        for connection in list(self._open):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self.silence()
        self._listener.close()


@pytest.mark.parametrize("call", ["read", "write"])
def test_a_bounded_call_gives_up_at_its_deadline_on_a_silent_neo4j(neo4j_server: Settings, store: MetadataStore,
                                                                   call: str) -> None:
    """After a Neo4j restart, calls of `graphmd serve` ran seconds past their client's
    deadline: the pool's connections were dead, and opening new ones waited out the store's
    connect_timeout (10 s) rather than the call's time left. Opening a connection within a
    time_bound now waits no longer than the bound, the id reservation's too."""
    from urllib.parse import urlsplit

    from graphmd import ArtifactType

    real = urlsplit(neo4j_server.uri)
    relay = _Relay((real.hostname or "127.0.0.1", real.port or 7687))
    try:
        with MetadataStore(relay.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database,
                           connect_timeout=10.0) as relayed:
            type_id = relayed.put_artifact_type(ArtifactType(name="Bounded"))
            relayed.put_artifacts([Artifact(type_id=type_id, uri="/warm")])
            relayed._ids.forget()  # the write below reserves ids first: that round trip is bounded too
            relay.silence()
            began = time.monotonic()
            deadline = began + 1.0
            with pytest.raises(UnavailableError) as raised, \
                    time_bound(lambda: deadline - time.monotonic()):
                if call == "read":
                    relayed.get_artifacts_by_id([1])
                else:
                    relayed.put_artifacts([Artifact(type_id=type_id, uri="/late")])
            assert time.monotonic() - began < 2.5, f"gave up after {time.monotonic() - began:.1f} s"
            assert relay.uri in raised.value.message
    finally:
        relay.close()
    assert [a.uri for a in store.get_artifacts()] == ["/warm"]
