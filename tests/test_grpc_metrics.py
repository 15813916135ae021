"""`graphmd serve --metrics-port` and `--log-calls`: what an operator scrapes and reads."""

from __future__ import annotations

import logging
import re
import socket
import urllib.request

import pytest

pytest.importorskip("ml_metadata")
pytest.importorskip("prometheus_client")

from ml_metadata import errors  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from graphmd import UnavailableError  # noqa: E402
from graphmd.mlmd.server import MlmdServer, ServerOptions  # noqa: E402

from _grpc_helpers import client, running_server, serve_process  # noqa: E402


def scrape(port: int) -> dict[str, float]:
    """The samples of /metrics, keyed by their name and labels as printed."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def test_metrics_count_calls_by_method_and_code_and_read_the_store(store):
    with running_server(store, metrics_port=0) as server:
        mlmd = client(server.port)
        type_id = mlmd.put_artifact_type(pb.ArtifactType(name="Data"))
        mlmd.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/d/{i}") for i in range(3)])
        mlmd.get_artifacts()
        mlmd.get_artifacts()
        with pytest.raises(errors.NotFoundError):
            mlmd.get_artifact_type("missing")
        samples = scrape(server.metrics_port)
    assert samples['graphmd_grpc_requests_total{code="OK",method="PutArtifactType"}'] == 1
    assert samples['graphmd_grpc_requests_total{code="OK",method="GetArtifacts"}'] == 2
    assert samples['graphmd_grpc_requests_total{code="NOT_FOUND",method="GetArtifactType"}'] == 1
    assert samples['graphmd_grpc_request_duration_seconds_count{method="GetArtifacts"}'] == 2
    assert samples['graphmd_grpc_request_duration_seconds_sum{method="PutArtifacts"}'] > 0
    assert samples["graphmd_grpc_requests_in_flight"] == 0
    assert samples["graphmd_neo4j_up"] == 1
    assert samples['graphmd_store_objects{kind="artifacts"}'] == 3
    # The process and what runs, for alerts on memory and files; no *_created series.
    assert samples["process_resident_memory_bytes"] > 0 and "process_open_fds" in samples
    from graphmd import __version__
    assert samples[f'graphmd_build_info{{schema="{store.schema_version}",version="{__version__}"}}'] == 1
    assert not any("_created" in key for key in samples)
    assert samples['graphmd_store_objects{kind="events"}'] == 0


def test_metrics_say_when_neo4j_is_down(store, neo4j_server):
    from graphmd import MetadataStore

    broken = MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password)
    with running_server(broken, metrics_port=0) as server:
        broken.close()  # the driver is gone: every read now fails as Neo4j being unreachable would
        samples = scrape(server.metrics_port)
    assert samples["graphmd_neo4j_up"] == 0
    assert not any(key.startswith("graphmd_store_objects") for key in samples)


def test_a_scrape_while_neo4j_does_not_answer_ends_inside_prometheus_s_timeout(store, neo4j_server, caplog):
    """An operator's scrape took 16 s while Neo4j was down (the driver retried the count
    query), past Prometheus's default scrape_timeout of 10 s: the scrape failed and
    graphmd_neo4j_up 0 was never recorded. The count query is bounded; the outage is logged
    once, not at every scrape."""
    import time

    import neo4j

    from graphmd import MetadataStore
    from graphmd.mlmd._metrics import SCRAPE_SECONDS

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once closed
    broken = MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password)
    with running_server(broken, metrics_port=0) as server:
        broken._driver.close()
        broken._driver = neo4j.GraphDatabase.driver(  # as unreachable Neo4j, retried for up to 30 s
            f"bolt://127.0.0.1:{closed}", auth=("neo4j", "x"), max_transaction_retry_time=30.0)
        took = []
        for _ in range(2):
            started = time.monotonic()
            samples = scrape(server.metrics_port)
            took.append(time.monotonic() - started)
            assert samples["graphmd_neo4j_up"] == 0
    assert max(took) < SCRAPE_SECONDS + 2, took
    said = [r.getMessage() for r in caplog.records if "cannot read the store's counts" in r.getMessage()]
    assert len(said) == 1 and "\n" not in said[0], said
    assert "refused" in said[0].lower(), said  # the driver's reason, past its first line, is kept


def test_a_taken_metrics_port_is_a_typed_error(store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MlmdServer(store, ServerOptions(port=0, metrics_port=port))
        with pytest.raises(UnavailableError, match=f"cannot serve metrics on 127.0.0.1:{port}") as caught:
            server.start()
        assert caught.value.field == "metrics_port"
        server.stop(0)


def test_log_calls_logs_method_code_and_duration(store, caplog):
    caplog.set_level(logging.INFO, logger="graphmd.mlmd.server")
    with running_server(store, log_calls=True) as server:
        mlmd = client(server.port)
        mlmd.put_artifact_type(pb.ArtifactType(name="Data"))
        with pytest.raises(errors.NotFoundError):
            mlmd.get_execution_type("missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "graphmd.mlmd.server"]
    assert any(re.fullmatch(r"PutArtifactType OK \d+\.\d ms", line) for line in lines), lines
    assert any(re.fullmatch(r"GetExecutionType NOT_FOUND \d+\.\d ms", line) for line in lines), lines


def test_serve_prints_where_metrics_are(neo4j_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    with serve_process(neo4j_server, "--metrics-port", str(metrics_port), "--log-calls") as (proc, port):
        client(port).get_artifact_types()
        samples = scrape(metrics_port)
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in output
    assert samples['graphmd_grpc_requests_total{code="OK",method="GetArtifactTypes"}'] == 1
    assert "GetArtifactTypes OK" in output
