"""Helpers shared by the gRPC tests: an in-process `graphmd serve` over the test store, an
ml_metadata client for it, and `graphmd serve` as a real child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import ml_metadata as mlmd
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ml_metadata.proto import metadata_store_pb2

from graphmd import MetadataStore
from graphmd._config import Settings
from graphmd._local_neo4j import free_port
from graphmd.mlmd.server import MlmdServer, ServerOptions

GRAPHMD = str(Path(sys.executable).with_name("graphmd"))


@contextmanager
def running_server(store: MetadataStore, **options: object) -> Iterator[MlmdServer]:
    """An MlmdServer over ``store`` on a free loopback port, stopped (not closing the store) after."""
    server = MlmdServer(store, ServerOptions(port=0, **options)).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop(0).wait(10)


def client(port: int, **config: object) -> mlmd.MetadataStore:
    """The ml_metadata gRPC client, as TFX and KFP build it."""
    return mlmd.MetadataStore(metadata_store_pb2.MetadataStoreClientConfig(host="127.0.0.1", port=port, **config))


def health_status(port: int, service: str = "", credentials: grpc.ChannelCredentials | None = None) -> int:
    """The grpc.health.v1 status the server reports for ``service``."""
    target = f"127.0.0.1:{port}"
    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                         timeout=5).status


@contextmanager
def serve_process(settings: Settings, *args: str, port: int | None = None) -> Iterator[tuple[subprocess.Popen, int]]:
    """`graphmd serve` as a child process on ``port`` (default: a free one), once it is SERVING."""
    port = port or free_port()
    env = {**os.environ, "GRAPHMD_CONFIG": os.devnull, "GRAPHMD_NEO4J_URI": settings.uri,
           "GRAPHMD_NEO4J_USER": settings.user, "GRAPHMD_NEO4J_PASSWORD": settings.password or ""}
    proc = subprocess.Popen([GRAPHMD, "serve", "--grpc-port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"graphmd serve exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                if health_status(port) == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("graphmd serve did not become SERVING within 60 s")
            time.sleep(0.2)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
