"""`graphmd serve`: an MLMD-compatible gRPC server (MetadataStoreService) backed by Neo4j."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .._errors import GraphmdError, UnavailableError
from ._options import Database, Password, Uri, User, command_store, err, fail, require_mlmd, unreachable

if TYPE_CHECKING:  # imported when the command runs: it needs the mlmd extra
    from .._store import MetadataStore
    from ..mlmd.server import MlmdServer


class OneLine(logging.Filter):
    """Writes the driver's multi-line messages (a retry's cause, with the connection error
    nested in it) on one line, as every line of serve's log is one record: an outage logged
    ~20 of them in 80 s, each over several lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("neo4j"):
            text = record.getMessage()
            if "\n" in text:
                record.msg, record.args = " | ".join(line.strip() for line in text.splitlines() if line.strip()), ()
        return True


def _reach_neo4j(uri: str | None, user: str | None, password: str | None, database: str | None,
                 wait: float) -> MetadataStore:
    """The store, once Neo4j answers: tried every 2 s for up to ``wait`` seconds while it is
    unreachable (said once on stderr); a refused password, or anything else, fails at once."""
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            return command_store(uri, user, password, database)
        except UnavailableError as error:
            if time.monotonic() + _RETRY_EVERY > deadline:
                fail(error)
            if not said:
                said_as = unreachable(error) or str(error).splitlines()[0]
                typer.echo(f"graphmd serve: {said_as}; trying again every {_RETRY_EVERY:g} s for up to {wait:g} s "
                           "(--wait-for-neo4j)", err=True)
                said = True
            time.sleep(_RETRY_EVERY)
        except GraphmdError as error:
            fail(error)


_RETRY_EVERY = 2.0


def _message_length(value: int | None) -> int | None:
    """A message size limit: bytes >= 1, or -1 for none (gRPC's own spelling). 0 would refuse
    every request, and gRPC reads other negative values as no limit, silently."""
    if value is not None and value != -1 and value < 1:
        raise typer.BadParameter(f"{value} is no message size: give bytes (>= 1), or -1 for no limit")
    return value


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 (or ::) for every interface.")] = "127.0.0.1",
    grpc_port: Annotated[int, typer.Option("--grpc-port", min=0, max=65535,
                                           help="gRPC port (MLMD's default is 8080; 0 picks a free one).", metavar="<int>")] = 8080,
    workers: Annotated[int, typer.Option(help="Threads serving calls at once.", min=1, metavar="<int>")] = 16,
    max_receive_message_length: Annotated[Optional[int], typer.Option(
        help="Largest request accepted, in bytes (gRPC's grpc.max_receive_message_length; default 4 MiB; "
             "-1: no limit).", callback=_message_length, metavar="<int>")] = None,
    max_send_message_length: Annotated[Optional[int], typer.Option(
        help="Largest response sent, in bytes (gRPC's grpc.max_send_message_length; default unlimited).",
        callback=_message_length, metavar="<int>")] = None,
    tls_cert: Annotated[Optional[Path], typer.Option(help="Server certificate chain (PEM); with --tls-key, serve TLS.")] = None,
    tls_key: Annotated[Optional[Path], typer.Option(help="Server private key (PEM).")] = None,
    tls_client_ca: Annotated[Optional[Path], typer.Option(
        help="CA (PEM) that client certificates must be signed by; clients must then present one.")] = None,
    shutdown_grace: Annotated[float, typer.Option(
        help="Seconds in-flight calls get to finish after SIGTERM/SIGINT; those still running then are rolled back "
             "(exit code 1). A second signal cuts them off at once. Keep it below your orchestrator's kill timeout "
             "(the default is below Kubernetes' 30 s terminationGracePeriodSeconds).")
    ] = 25.0,
    metrics_port: Annotated[Optional[int], typer.Option(
        help="Serve Prometheus metrics at http://HOST:PORT/metrics (calls by method and status code, latency, "
             "calls in flight, Neo4j up, store counts). Default: off.", min=0, max=65535, metavar="<int>")] = None,
    wait_for_neo4j: Annotated[float, typer.Option(
        help="At start, keep trying a Neo4j that does not answer for up to this many seconds (every 2 s) before "
             "giving up: a container started beside its Neo4j waits for it instead of exiting. Default: no wait.",
        min=0, metavar="<seconds>")] = 0.0,
    log_calls: Annotated[bool, typer.Option(
        "--log-calls", help="Log every call: method, status code, milliseconds.")] = False,
    uri: Uri = None,
    user: User = None,
    password: Password = None,
    database: Database = None,
) -> None:
    """Serve MLMD's gRPC API (ml_metadata's MetadataStoreService) from Neo4j, until SIGTERM.

    Point any MLMD client (TFX, Kubeflow Pipelines, ml_metadata.MetadataStore with a
    MetadataStoreClientConfig) at HOST:GRPC_PORT. Also serves grpc.health.v1.Health.
    """
    # Options that go together, said as click says a usage mistake (exit 2).
    if (tls_cert is None) != (tls_key is None):
        given, needed = ("--tls-cert", "--tls-key") if tls_key is None else ("--tls-key", "--tls-cert")
        raise typer.BadParameter(f"TLS needs both --tls-cert and --tls-key: {needed} is missing",
                                 param_hint=f"'{given}'")
    if tls_client_ca is not None and tls_cert is None:
        raise typer.BadParameter("--tls-client-ca needs --tls-cert and --tls-key", param_hint="'--tls-client-ca'")
    # gRPC's core logs each failed TLS handshake (a plaintext client, an unknown certificate)
    # on stderr at INFO; errors it still says. Set GRPC_VERBOSITY to see more.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    require_mlmd("serve", "grpc_health", "prometheus_client")
    from ..mlmd.server import ServerOptions
    from ..mlmd.server import describe_cut_off
    from ..mlmd.server import serve as run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("neo4j").propagate = True  # the driver's lines belong in the server's log
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLine())
    options = ServerOptions(host=host, port=grpc_port, workers=workers,
                            max_receive_message_length=max_receive_message_length,
                            max_send_message_length=max_send_message_length, tls_cert=tls_cert, tls_key=tls_key,
                            tls_client_ca=tls_client_ca, shutdown_grace=shutdown_grace,
                            metrics_port=metrics_port, log_calls=log_calls)

    def ready(server: MlmdServer) -> None:
        scheme = ("TLS, client certificates required" if tls_client_ca else "TLS") if tls_cert else "plaintext"
        typer.echo(f"graphmd serve: MLMD gRPC on {server.address} ({scheme}, {workers} workers), "
                   f"Neo4j at {store.settings.uri}")
        if server.metrics_port is not None:
            host_part = server.address.rsplit(":", 1)[0]
            typer.echo(f"graphmd serve: metrics on http://{host_part}:{server.metrics_port}/metrics")
        if not _loopback(host) and not tls_client_ca:
            who = "any client that reaches the port" if tls_cert else "anyone on the network, in plaintext"
            typer.echo(f"graphmd serve: warning: {server.address} serves {who}, with no client authentication "
                       "(MLMD's API has none): use --tls-cert/--tls-key with --tls-client-ca, or a private network "
                       "(docs/operations.md)", err=True)
        sys.stdout.flush()

    store = _reach_neo4j(uri, user, password, database, wait_for_neo4j)
    try:
        cut_off = run(store, options, ready=ready)
    except GraphmdError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from error
    if cut_off:
        typer.echo(f"graphmd serve: stopped; {describe_cut_off(cut_off)} (--shutdown-grace {shutdown_grace:g}, or a "
                   "second signal)", err=True)
        if set(cut_off) != {"OK"}:  # a client did not get its answer
            raise typer.Exit(1)
        return
    typer.echo("graphmd serve: stopped")


def _loopback(host: str) -> bool:
    """Whether ``host`` (an address to listen on) is reachable from this machine only."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"
