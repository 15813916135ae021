"""What `graphmd serve --metrics-port` exposes to Prometheus, and the per-call log line.

Per RPC method: calls by status code, a latency histogram, calls in flight. Per scrape: whether
Neo4j answered, and how many types, nodes and edges the store holds (Neo4j's count store, so
a scrape costs one cheap read). Each server has its own registry, so several can run in one
process (tests) without sharing counts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, Info, PlatformCollector, ProcessCollector,
                               disable_created_metrics, start_http_server)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .. import __version__
from .._errors import GraphmdError, map_driver_errors
from ._bounded import BoundedCall
from .._store import MetadataStore, count_kinds

__all__ = ["CallObserver", "ServerMetrics"]

log = logging.getLogger("graphmd.mlmd.server")

# Latency buckets, seconds: from a cached read (~1 ms) to a whole-history lineage (seconds).
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CallObserver:
    """Told of every RPC: its start, and its method, status code and duration at the end.
    This one logs each call when ``log_calls`` is set; ServerMetrics also counts them."""

    def __init__(self, *, log_calls: bool = False) -> None:
        self.log_calls = log_calls

    def started(self, method: str) -> None:
        """An RPC of ``method`` started."""

    def finished(self, method: str, code: str, seconds: float) -> None:
        """An RPC of ``method`` ended with ``code`` (a gRPC status name, "OK" on success)."""
        if self.log_calls:
            log.info("%s %s %.1f ms", method, code, seconds * 1000)


# How long a scrape's count query may run: well inside Prometheus's default scrape_timeout
# (10 s). It is tried once, not retried (the driver's retries took ~16 s against a Neo4j that
# was down, so the scrape failed rather than saying graphmd_neo4j_up 0).
SCRAPE_SECONDS = 3.0


class _StoreCollector(Collector):
    """graphmd_neo4j_up and graphmd_store_objects{kind}, read at each scrape."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store
        self._up = True  # as last scraped: a change is logged once, not at every scrape
        self._count = BoundedCall("graphmd-metrics-count")

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("graphmd_neo4j_up", "1 if Neo4j answered the last scrape's count query, else 0")
        objects = GaugeMetricFamily("graphmd_store_objects", "Types, nodes and edges in the store, by kind",
                                    labels=["kind"])
        def read_counts() -> dict[str, int]:
            with map_driver_errors(self.store.settings.uri), self.store._session() as session, \
                    session.begin_transaction(timeout=SCRAPE_SECONDS) as tx:
                return count_kinds(tx)

        try:
            # Neo4j enforces the transaction's timeout; a frozen Neo4j would hold the scrape
            # past Prometheus's, so the scrape also waits for the count at most as long.
            counts = self._count(read_counts, SCRAPE_SECONDS)
        except (GraphmdError, TimeoutError) as error:
            if self._up:
                # On one line, its lines joined: cut at the first, the driver's reason was lost.
                log.warning("metrics: cannot read the store's counts (graphmd_neo4j_up 0 until it can): %s",
                            " | ".join(line.strip() for line in str(error).splitlines() if line.strip())
                            or type(error).__name__)
            self._up = False
            up.add_metric([], 0)
            yield up
            return
        if not self._up:
            log.warning("metrics: the store's counts read again (graphmd_neo4j_up 1)")
        self._up = True
        up.add_metric([], 1)
        for kind, count in counts.items():
            objects.add_metric([kind], count)
        yield up
        yield objects


# No `*_created` series beside each counter and histogram: they double the series and say only
# when a label was first seen.
disable_created_metrics()  # type: ignore[no-untyped-call]


class ServerMetrics(CallObserver):
    """Prometheus metrics of one server, served over HTTP at /metrics once :meth:`serve`
    is called."""

    def __init__(self, store: MetadataStore, *, log_calls: bool = False) -> None:
        super().__init__(log_calls=log_calls)
        self.registry = CollectorRegistry()
        self.calls = Counter("graphmd_grpc_requests", "MLMD gRPC calls handled, by method and status code",
                             ["method", "code"], registry=self.registry)
        self.latency = Histogram("graphmd_grpc_request_duration_seconds", "MLMD gRPC call latency, by method",
                                 ["method"], buckets=_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("graphmd_grpc_requests_in_flight", "MLMD gRPC calls being handled now",
                               registry=self.registry)
        self.registry.register(_StoreCollector(store))
        # The process (memory, CPU, open files) and what runs, for alerts and dashboards.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        Info("graphmd_build", "graphmd's version and the store's schema version", registry=self.registry).info(
            {"version": __version__, "schema": str(store.schema_version)})
        self._http: Any = None
        self._lock = threading.Lock()

    def started(self, method: str) -> None:
        self.in_flight.inc()

    def finished(self, method: str, code: str, seconds: float) -> None:
        super().finished(method, code, seconds)
        self.in_flight.dec()
        self.calls.labels(method, code).inc()
        self.latency.labels(method).observe(seconds)

    def serve(self, host: str, port: int) -> int:
        """Serve /metrics on ``host``:``port`` (0: a free port) in a daemon thread; returns the port.

        Raises:
            OSError: the port cannot be bound.
        """
        with self._lock:
            server, _thread = start_http_server(port, addr=host.strip("[]"), registry=self.registry)
            self._http = server
            return int(server.server_address[1])

    def stop(self) -> None:
        """Stop serving /metrics."""
        with self._lock:
            if self._http is not None:
                self._http.shutdown()
                self._http.server_close()
                self._http = None
