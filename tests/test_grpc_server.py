"""`graphmd serve` as MLMD clients meet it: MLMD's error codes on the wire, health, message
size limits, TLS, concurrent calls, loopback binding and graceful shutdown on SIGTERM."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

pytest.importorskip("ml_metadata")

from grpc_health.v1 import health_pb2  # noqa: E402
from ml_metadata import errors  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402
from ml_metadata.proto import metadata_store_service_pb2 as svc  # noqa: E402
from ml_metadata.proto import metadata_store_service_pb2_grpc as svc_grpc  # noqa: E402

from graphmd import InvalidArgumentError, UnavailableError  # noqa: E402
from graphmd.mlmd.server import SERVICE_NAME, MlmdServer, ServerOptions  # noqa: E402

from _grpc_helpers import GRAPHMD, client, health_status, running_server, serve_process  # noqa: E402


@pytest.fixture
def server(store):
    with running_server(store) as running:
        yield running


@pytest.fixture
def mlmd_client(server):
    return client(server.port)


def _artifact_type(name="Dataset", **properties):
    return pb.ArtifactType(name=name, properties={k: getattr(pb, v) for k, v in properties.items()} or {"n": pb.INT})


def test_error_codes_reach_the_ml_metadata_client_as_its_own_errors(mlmd_client):
    type_id = mlmd_client.put_artifact_type(_artifact_type())
    # NOT_FOUND
    with pytest.raises(errors.NotFoundError):
        mlmd_client.get_artifact_type("no such type")
    # ALREADY_EXISTS: the same (type, name) twice
    mlmd_client.put_artifacts([pb.Artifact(type_id=type_id, name="a")])
    with pytest.raises(errors.AlreadyExistsError):
        mlmd_client.put_artifacts([pb.Artifact(type_id=type_id, name="a")])
    # ALREADY_EXISTS: an incompatible type change
    with pytest.raises(errors.AlreadyExistsError):
        mlmd_client.put_artifact_type(_artifact_type(n="STRING"))
    # INVALID_ARGUMENT: a property of the wrong kind, with MLMD's message for an empty Value
    with pytest.raises(errors.InvalidArgumentError):
        mlmd_client.put_artifacts([pb.Artifact(type_id=type_id, properties={"n": pb.Value(string_value="x")})])
    with pytest.raises(errors.InvalidArgumentError, match="Found unmatched property type: n"):
        mlmd_client.put_artifacts([pb.Artifact(type_id=type_id, properties={"n": pb.Value()})])
    # FAILED_PRECONDITION: the artifact changed since it was read
    [artifact_id] = mlmd_client.put_artifacts([pb.Artifact(type_id=type_id)])
    stale = pb.Artifact(id=artifact_id, type_id=type_id, uri="new", last_update_time_since_epoch=1)
    request = svc.PutArtifactsRequest(artifacts=[stale])
    request.options.abort_if_latest_updated_time_changed = True
    with pytest.raises(errors.FailedPreconditionError):
        mlmd_client._call("PutArtifacts", request, svc.PutArtifactsResponse())
    # OUT_OF_RANGE: an event edge pointing past the request's lists
    with pytest.raises(errors.OutOfRangeError):
        mlmd_client.put_lineage_subgraph([], [], [], [(3, 0, pb.Event(type=pb.Event.INPUT))])
    # UNIMPLEMENTED: changing a type's base_type
    mlmd_client.put_artifact_type(pb.ArtifactType(name="M", base_type=pb.ArtifactType.MODEL))
    with pytest.raises(errors.UnimplementedError):
        mlmd_client.put_artifact_type(pb.ArtifactType(name="M", base_type=pb.ArtifactType.DATASET))


def test_status_codes_on_the_raw_wire(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = svc_grpc.MetadataStoreServiceStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            stub.GetContextType(svc.GetContextTypeRequest(type_name="missing"))
        assert error.value.code() is grpc.StatusCode.NOT_FOUND
        assert "missing" in error.value.details()
        with pytest.raises(grpc.RpcError) as error:
            stub.PutParentContexts(svc.PutParentContextsRequest(parent_contexts=[pb.ParentContext(child_id=1)]))
        assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "parent_id" in error.value.details()


def test_errors_echoing_huge_inputs_keep_their_code(server):
    """A status message travels in a trailer the client refuses past 16 KiB: an error
    echoing a 50 KB name (NOT_FOUND), or a filter naming a 20 KB field (INVALID_ARGUMENT),
    reached the client as RESOURCE_EXHAUSTED."""
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = svc_grpc.MetadataStoreServiceStub(channel)
        for name in ("t" * 50_000, "é" * 20_000):
            with pytest.raises(grpc.RpcError) as error:
                stub.GetContextType(svc.GetContextTypeRequest(type_name=name))
            assert error.value.code() is grpc.StatusCode.NOT_FOUND
            assert error.value.details().endswith(" more characters]")
        request = svc.GetArtifactsRequest()
        request.options.filter_query = "x" * 20_000 + " = 1"
        with pytest.raises(grpc.RpcError) as error:
            stub.GetArtifacts(request)
        assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert error.value.details().startswith("filter_query: unknown field 'xxx")


def test_linked_contexts_of_no_context_is_invalid_as_in_ml_metadata(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = svc_grpc.MetadataStoreServiceStub(channel)
        for call, request in [(stub.GetParentContextsByContexts, svc.GetParentContextsByContextsRequest()),
                              (stub.GetChildrenContextsByContexts, svc.GetChildrenContextsByContextsRequest())]:
            with pytest.raises(grpc.RpcError) as error:
                call(request)
            assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert "context_ids" in error.value.details()


def test_a_failed_call_leaves_the_store_unchanged(mlmd_client, store):
    type_id = mlmd_client.put_artifact_type(_artifact_type())
    before = store.counts()
    with pytest.raises(errors.InvalidArgumentError):
        mlmd_client.put_artifacts([pb.Artifact(type_id=type_id, uri="ok"),
                                   pb.Artifact(type_id=type_id, properties={"unknown": pb.Value(int_value=1)})])
    assert store.counts() == before


def test_health_reports_serving_for_the_server_and_the_mlmd_service(server):
    assert health_status(server.port) == health_pb2.HealthCheckResponse.SERVING
    assert health_status(server.port, SERVICE_NAME) == health_pb2.HealthCheckResponse.SERVING
    assert SERVICE_NAME == "ml_metadata.MetadataStoreService"


def test_message_size_limits(store):
    big = {"blob": pb.Value(string_value="x" * 20_000)}
    with running_server(store, max_receive_message_length=10_000) as small_in:
        mlmd = client(small_in.port)
        type_id = mlmd.put_artifact_type(_artifact_type())
        with pytest.raises(errors.ResourceExhaustedError):
            mlmd.put_artifacts([pb.Artifact(type_id=type_id, custom_properties=big)])
    with running_server(store) as default:
        [artifact_id] = client(default.port).put_artifacts([pb.Artifact(type_id=type_id, custom_properties=big)])
    with running_server(store, max_send_message_length=10_000) as small_out:
        mlmd = client(small_out.port)
        assert mlmd.get_artifact_types()  # small answers still pass
        with pytest.raises(errors.ResourceExhaustedError):
            mlmd.get_artifacts_by_id([artifact_id])
    # The client's own limit (MLMD's channel_arguments.max_receive_message_length) applies too.
    with running_server(store) as default:
        limited = client(default.port, channel_arguments=pb.GrpcChannelArguments(max_receive_message_length=1_000))
        with pytest.raises(errors.ResourceExhaustedError):
            limited.get_artifacts_by_id([artifact_id])


def _openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("the TLS test needs the openssl command (Debian package openssl)")
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca_and_cert(tmp: Path, name: str, ca: str = "ca") -> None:
    """A key and certificate for ``name`` (CN and SAN localhost/127.0.0.1) signed by ``ca``."""
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", "/CN=localhost", cwd=tmp)
    (tmp / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=tmp)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=graphmd test CA", cwd=tmp)
    _make_ca_and_cert(tmp, "server")
    _make_ca_and_cert(tmp, "client")
    return tmp


def test_tls_with_the_mlmd_clients_ssl_config(store, pki):
    with running_server(store, tls_cert=pki / "server.crt", tls_key=pki / "server.key") as server:
        ssl = pb.MetadataStoreClientConfig.SSLConfig(custom_ca=(pki / "ca.crt").read_text())
        secure = client(server.port, ssl_config=ssl)
        type_id = secure.put_artifact_type(_artifact_type())
        assert secure.get_artifact_types_by_id([type_id])[0].name == "Dataset"
        plaintext = client(server.port, client_timeout_sec=5)
        with pytest.raises(errors.UnavailableError):
            plaintext.get_artifact_types()
        credentials = grpc.ssl_channel_credentials((pki / "ca.crt").read_bytes())
        assert health_status(server.port, credentials=credentials) == health_pb2.HealthCheckResponse.SERVING


def test_tls_with_client_certificates(store, pki):
    with running_server(store, tls_cert=pki / "server.crt", tls_key=pki / "server.key",
                        tls_client_ca=pki / "ca.crt") as server:
        ca = (pki / "ca.crt").read_text()
        with_cert = client(server.port, ssl_config=pb.MetadataStoreClientConfig.SSLConfig(
            custom_ca=ca, client_key=(pki / "client.key").read_text(), server_cert=(pki / "client.crt").read_text()))
        assert with_cert.get_artifact_types() is not None
        without_cert = client(server.port, client_timeout_sec=5,
                              ssl_config=pb.MetadataStoreClientConfig.SSLConfig(custom_ca=ca))
        with pytest.raises(errors.UnavailableError):
            without_cert.get_artifact_types()


def test_bad_options_are_typed_errors(store, pki, tmp_path):
    with pytest.raises(InvalidArgumentError) as error:
        MlmdServer(store, ServerOptions(port=0, tls_cert=pki / "server.crt"))
    assert error.value.field == "tls_key"
    with pytest.raises(InvalidArgumentError):
        MlmdServer(store, ServerOptions(port=0, tls_cert=tmp_path / "missing.crt", tls_key=tmp_path / "missing.key"))
    with pytest.raises(InvalidArgumentError) as error:
        MlmdServer(store, ServerOptions(port=0, workers=0))
    assert error.value.field == "workers"
    with running_server(store) as taken:
        with pytest.raises(UnavailableError) as unavailable:
            MlmdServer(store, ServerOptions(port=taken.port))
        assert unavailable.value.field == "grpc_port" and "the port is taken" in unavailable.value.message

    # TLS files gRPC would only refuse by failing to bind (read as a port conflict): named.
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    for cert, key, ca, field, words in [
            ("server.crt", "client.key", None, "tls_key", "is not the key of the certificate"),
            ("server.key", "server.key", None, "tls_cert", "holds no PEM certificate"),
            ("server.crt", "server.crt", None, "tls_key", "holds no PEM private key"),
            ("server.crt", "server.key", "junk", "tls_client_ca", "holds no PEM certificate")]:
        with pytest.raises(InvalidArgumentError) as error:
            MlmdServer(store, ServerOptions(port=0, tls_cert=pki / cert, tls_key=pki / key,
                                            tls_client_ca=tmp_path / "junk.pem" if ca else None))
        assert error.value.field == field and words in error.value.message, (cert, key, error.value.message)


def test_concurrent_calls_are_served_by_the_pool(store):
    with running_server(store, workers=4) as server:
        setup = client(server.port)
        execution_type = setup.put_execution_type(pb.ExecutionType(name="Step"))
        context_type = setup.put_context_type(pb.ContextType(name="Pipeline"))
        results, failures = [], []

        def worker(n: int) -> None:
            mlmd = client(server.port)
            try:
                for i in range(5):
                    results.append(mlmd.put_execution(
                        pb.Execution(type_id=execution_type, name=f"w{n}-{i}"), [],
                        [pb.Context(type_id=context_type, name="shared")], reuse_context_if_already_exist=True))
            except Exception as error:  # collected and asserted below
                failures.append(error)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures
        assert len({r[0] for r in results}) == 40
        assert {c for r in results for c in r[2]} == {results[0][2][0]}
        assert len(setup.get_executions_by_context(results[0][2][0])) == 40


def _listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* shows them) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_serve_binds_loopback_by_default(neo4j_server, store):
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    with serve_process(neo4j_server) as (proc, port):
        assert client(port).get_artifact_types() is not None
        addresses = _listening_addresses(port)
        assert addresses and set(addresses) <= loopback, addresses
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "warning" not in proc.stdout.read()
    with serve_process(neo4j_server, "--host", "0.0.0.0") as (proc, port):
        assert set(_listening_addresses(port)) & {"00000000", "0" * 32}  # every interface (IPv4, or dual-stack)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        said = proc.stdout.read()  # unauthenticated on every interface: said, with what to do
        assert "warning:" in said and "plaintext" in said and "--tls-client-ca" in said


def test_sigterm_finishes_the_call_in_flight_then_refuses_new_ones(neo4j_server, store):
    with serve_process(neo4j_server, "--shutdown-grace", "60") as (proc, port):
        mlmd = client(port)
        type_id = mlmd.put_artifact_type(_artifact_type(name="Big", n="INT", s="STRING"))
        artifacts = [pb.Artifact(type_id=type_id, uri=f"mem://{i}", properties={"n": pb.Value(int_value=i),
                                                                                 "s": pb.Value(string_value="v" * 50)})
                     for i in range(20_000)]
        outcome = {}

        def big_write() -> None:
            try:
                outcome["ids"] = client(port).put_artifacts(artifacts)
            except Exception as error:  # asserted below
                outcome["error"] = error
            outcome["done"] = time.monotonic()

        writer = threading.Thread(target=big_write)
        writer.start()
        time.sleep(0.5)  # the request is on the server by now; writing 20,000 artifacts takes longer
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(errors.UnavailableError):
            client(port, client_timeout_sec=5).get_artifact_types()
        writer.join(120)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["done"] > signalled, "the write finished before SIGTERM: make it bigger"
        assert len(outcome["ids"]) == 20_000
        assert proc.wait(60) == 0
        assert "SIGTERM" in proc.stdout.read()
    assert store.counts()["artifacts"] == 20_000


def test_serve_without_neo4j_says_where_it_looked_and_exits_1(tmp_path):
    from graphmd._local_neo4j import free_port

    unused = free_port()
    env = {**os.environ, "GRAPHMD_CONFIG": str(tmp_path / "none.toml")}
    done = subprocess.run([GRAPHMD, "serve", "--grpc-port", "0", "--uri", f"bolt://127.0.0.1:{unused}",
                           "--password", "x" * 8], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    # One line, as every command says it: where, from which setting, and why.
    [line] = done.stderr.splitlines()
    assert f"127.0.0.1:{unused}" in line and "(from --uri)" in line and "connection refused" in line


def _forward_later(listen_port: int, target: tuple[str, int], start: threading.Event) -> threading.Event:
    """Once ``start`` is set, accept TCP connections on ``listen_port`` and pipe each to
    ``target``: a Neo4j that comes up after the server that needs it. Set the event
    returned to stop."""
    from _net import pipe

    stop = threading.Event()

    def accept() -> None:
        while not start.wait(0.1):
            if stop.is_set():
                return
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", listen_port))
            listener.listen()
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    client_side, _ = listener.accept()
                except TimeoutError:
                    continue
                server_side = socket.create_connection(target)
                for a, b in ((client_side, server_side), (server_side, client_side)):
                    threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return stop


def test_serve_waits_for_a_neo4j_that_comes_up_after_it(neo4j_server, store, tmp_path):
    """An operator's container exited at once when its Neo4j was not up yet (Kubernetes then
    restarts it with a growing backoff). With --wait-for-neo4j it keeps trying, says so once,
    and serves as soon as Neo4j answers; past the wait it fails as without it."""
    from urllib.parse import urlsplit

    from graphmd._local_neo4j import free_port

    later = free_port()
    real = urlsplit(neo4j_server.uri)
    # Neo4j comes up once serve has said it is waiting (a fixed delay raced serve's own
    # start on a loaded machine, which then found it up at once).
    waiting = threading.Event()
    stop = _forward_later(later, (real.hostname or "127.0.0.1", real.port or 7687), waiting)
    port = free_port()
    env = {**os.environ, "GRAPHMD_CONFIG": os.devnull, "GRAPHMD_NEO4J_URI": f"bolt://127.0.0.1:{later}",
           "GRAPHMD_NEO4J_USER": neo4j_server.user, "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or ""}
    proc = subprocess.Popen([GRAPHMD, "serve", "--grpc-port", str(port), "--wait-for-neo4j", "30"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "trying again" in line:
                waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "".join(lines)
            try:
                if health_status(port) == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        assert waiting.is_set(), "".join(lines)  # it served only after saying it was waiting
        assert isinstance(client(port).get_artifact_types(), list)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(10)
        output = "".join(lines)
        assert output.count("trying again every 2 s for up to 30 s (--wait-for-neo4j)") == 1, output
        assert f"127.0.0.1:{later}" in output and "connection refused" in output
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    unused = free_port()
    env = {**os.environ, "GRAPHMD_CONFIG": str(tmp_path / "none.toml")}
    started = time.monotonic()
    done = subprocess.run([GRAPHMD, "serve", "--grpc-port", "0", "--uri", f"bolt://127.0.0.1:{unused}",
                           "--password", "x" * 8, "--wait-for-neo4j", "3"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and time.monotonic() - started >= 2, done.stderr
    waiting, failed = done.stderr.splitlines()
    assert "trying again" in waiting and "connection refused" in failed and "(from --uri)" in failed


def test_serve_on_a_taken_port_says_so_in_one_line(neo4j_server, store):
    env = {**os.environ, "GRAPHMD_NEO4J_URI": neo4j_server.uri, "GRAPHMD_NEO4J_USER": neo4j_server.user,
           "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or ""}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([GRAPHMD, "serve", "--grpc-port", str(port)], env=env, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: the port is taken" in done.stderr
    assert "add_port" not in done.stderr and "Traceback" not in done.stderr  # no gRPC core log line


def test_serve_writes_the_driver_s_multi_line_messages_on_one_line():
    """During an outage the driver logs each retry with its cause over several lines; serve's
    log keeps one line a record, so it greps and ships as the rest of it does."""
    import io
    import logging

    from graphmd.cli.serve_commands import OneLine

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(OneLine())
    driver, ours = logging.getLogger("neo4j.pool"), logging.getLogger("graphmd.mlmd.server")
    driver.addHandler(handler)
    ours.addHandler(handler)
    try:
        driver.warning("Transaction failed and will be retried in %.1fs (%s)", 0.9,
                       "Couldn't connect to 127.0.0.1:7687:\nFailed to establish connection\n  (reason refused)")
        ours.warning("kept\nas written")
    finally:
        driver.removeHandler(handler)
        ours.removeHandler(handler)
    assert out.getvalue().splitlines() == [
        "Transaction failed and will be retried in 0.9s (Couldn't connect to 127.0.0.1:7687: | "
        "Failed to establish connection | (reason refused))", "kept", "as written"]
