"""An MLMD-compatible gRPC server backed by graphmd: MLMD's MetadataStoreService (as generated
in ml-metadata 1.17.1) on top of the same MetadataStore the Python API uses.

Every RPC converts its request with graphmd.mlmd._convert, calls the store, and converts the
answer back. graphmd errors go on the wire as MLMD's status codes (NOT_FOUND, ALREADY_EXISTS,
INVALID_ARGUMENT, ...), so the ml_metadata client raises the errors.* it raises against
Google's server. Wire-only semantics live here: MLMD's page size defaults and cap (in
list_options_from_proto), "no options" meaning "everything", empty answers for unknown names,
and the few places where MLMD's server differs from graphmd's Python API:

- GetArtifactTypes / GetExecutionTypes leave out MLMD's system types (mlmd.Dataset, ...), which
  MLMD keeps "invisible to users"; the Python API lists them.
- An artifact put without a uri, new or updated (through a mask naming uri too), is stored
  with uri "" (MLMD writes the column whole); the Python API keeps it unset (None).
- Get*ByExternalIds answer NOT_FOUND when nothing matches and INVALID_ARGUMENT for an empty
  external id; GetContextsByArtifact / GetContextsByExecution answer NOT_FOUND when the node is
  in no context. The Python API returns empty lists.
- GetLineageSubgraph answers every type of a kind its read_mask asks for (system types too),
  not only the returned nodes' types, and ignores mask paths that name no LineageGraph field.
- GetLineageGraph (which ml-metadata 1.17 no longer serves) answers every type but the system
  ones, as the releases that served it did; unlike them it does not cap max_num_hops at 20.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import functools
import itertools
import logging
import os
import queue
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as svc
from ml_metadata.proto import metadata_store_service_pb2_grpc as svc_grpc

from .. import _models as m
from .._errors import (AlreadyExistsError, DeadlineExceededError, GraphmdError, InternalError, InvalidArgumentError,
                       NotFoundError, UnauthenticatedError, UnavailableError, UnimplementedError, map_driver_errors)
from .._drawing import counted
from .._lineage import LINEAGE_GRAPH_FIELDS
from .._queries import PING
from .._store import MetadataStore, time_bound
from . import _convert as cv
from ._bounded import BoundedCall
from ._metrics import CallObserver

if TYPE_CHECKING:
    from ._metrics import ServerMetrics

__all__ = ["SERVICE_NAME", "MetadataStoreServicer", "ServerOptions", "MlmdServer", "serve"]

log = logging.getLogger("graphmd.mlmd.server")

SERVICE_NAME = svc.DESCRIPTOR.services_by_name["MetadataStoreService"].full_name

# gRPC's time_remaining() for a call without a deadline is about the year 2^63 ns away.
_NO_DEADLINE = 10 * 365 * 24 * 3600.0

# What gRPC carries of a status message: the client refuses trailers over 16 KiB (and warns
# over 8), and the message goes percent-encoded, 3 bytes for each byte outside printable ASCII.
_STATUS_DETAILS_BYTES = 4096

# How long the health watcher waits for Neo4j to answer its check: a frozen Neo4j (a stopped
# process, a network that drops packets) never answers, and the watcher must go on.
PING_SECONDS = 3.0


def _status_details(message: str) -> str:
    """``message`` as a status's details: whole when its encoding fits _STATUS_DETAILS_BYTES,
    else its start and how much was cut, so an error that echoes a huge input (a 50 KB type
    name) still reaches the client as its own code, not as RESOURCE_EXHAUSTED."""
    def cost(char: str) -> int:
        return 1 if " " <= char <= "~" and char != "%" else 3 * len(char.encode("utf-8", "surrogatepass"))

    if len(message) * 9 <= _STATUS_DETAILS_BYTES or sum(map(cost, message)) <= _STATUS_DETAILS_BYTES:
        return message
    budget, kept = _STATUS_DETAILS_BYTES - 64, 0
    for char in message:
        budget -= cost(char)
        if budget < 0:
            break
        kept += 1
    return f"{message[:kept]}… [{len(message) - kept:,} more characters]"


def _rpc(method: Callable[[Any, Any], Any]) -> Callable[[Any, Any, grpc.ServicerContext], Any]:
    """Run an RPC body; a graphmd error becomes its MLMD status code, anything else INTERNAL.

    The body's Neo4j transactions end by the client's deadline and, once the server stops,
    by the end of its shutdown grace (time_bound): Neo4j rolls back what runs past it, so a
    call whose client gave up (or was cut off) does not commit behind its back. An answer
    larger than max_send_message_length is RESOURCE_EXHAUSTED, saying what to do. The code
    counted (metrics, --log-calls) is the one the client got: DEADLINE_EXCEEDED or
    CANCELLED for an answer no one waited for."""

    name = method.__name__

    @functools.wraps(method)
    def handler(self: MetadataStoreServicer, request: Any, context: grpc.ServicerContext) -> Any:
        observer, code, start = self.observer, "OK", time.perf_counter()
        observer.started(name)
        down_since = self.neo4j_down_since
        if down_since is not None:  # fail fast: each call would hold a worker while the driver retries
            observer.finished(name, "UNAVAILABLE", time.perf_counter() - start)
            context.abort(grpc.StatusCode.UNAVAILABLE, _status_details(
                f"Neo4j at {self.store.settings.uri} does not answer (since "
                f"{time.strftime('%H:%M:%S', time.localtime(down_since))}); nothing of {name} was sent to it. "
                "graphmd serve checks it every second and takes calls again once it answers: retry then"))
        remaining = context.time_remaining()
        call = _Call(f"{self.tag}/{next(self._call_numbers)}/",
                     time.monotonic() + remaining if remaining < _NO_DEADLINE else None)
        deadline = call.deadline
        self._calls.started()
        with self._lock:
            self._running.add(call)
        context.add_callback(functools.partial(self._call_ended, call))
        answered = False
        try:
            with time_bound(functools.partial(self._seconds_left, call), tag=call.tag):
                response = method(self, request)
            limit = self.max_send_message_length
            if limit is not None and (size := response.ByteSize()) > limit:
                raise _AnswerTooLarge(
                    f"the answer to {name} is {size:,} bytes, more than this server sends (--max-send-message-length "
                    f"{limit:,}): ask for less (pages: options.max_result_size and next_page_token; fewer ids; a "
                    "narrower lineage query), or raise --max-send-message-length")
            answered = True
            return response
        except GraphmdError as error:
            status = getattr(grpc.StatusCode, error.code, grpc.StatusCode.UNKNOWN)
            message = error.message
            if isinstance(error, InternalError):  # a graphmd bug, or Neo4j refusing its query: the log says
                log.error("%s failed: %s", name, message, exc_info=error)
            if isinstance(error, DeadlineExceededError) and self.cut_off_at is not None \
                    and time.monotonic() >= self.cut_off_at:
                status, message = grpc.StatusCode.UNAVAILABLE, (
                    f"graphmd serve is shutting down, and {name} was still running when its shutdown grace ended: "
                    "Neo4j rolled the call back, nothing of it was stored; retry it (on another server)")
            elif isinstance(error, UnauthenticatedError):  # serve's login to Neo4j, not the client's
                status, message = grpc.StatusCode.UNAVAILABLE, (
                    f"graphmd serve cannot log in to its Neo4j: {message}. Nothing of {name} was stored; the "
                    "server's operator must give it the right credentials")
            code = status.name
            context.abort(status, _status_details(message))
        except Exception as error:  # a bug: report it, never leak a traceback to the client
            code = "INTERNAL"
            log.exception("%s failed", name)
            context.abort(grpc.StatusCode.INTERNAL, _status_details(f"graphmd internal error in {name}: {error}"))
        finally:
            call.running = False
            if call.abandoned:  # what the client got, if anything: not the handler's answer
                code = "DEADLINE_EXCEEDED" if deadline is not None and time.monotonic() >= deadline else "CANCELLED"
                if answered and name.startswith("Put") and not call.cut_off:  # the shutdown says its own
                    log.warning("%s finished after its client had given up (%s): what it wrote is stored, though the "
                                "client was told otherwise", name, code)
            with self._lock:
                self._running.discard(call)
                if call.cut_off:
                    self.cut_off_outcomes[code] += 1
            self._calls.finished()
            observer.finished(name, code, time.perf_counter() - start)

    return handler


@dataclasses.dataclass(eq=False)
class _Call:
    """One call being handled: the tag of its Neo4j transactions, its client's deadline
    (time.monotonic(); None: none), whether its handler runs, whether its client left."""

    tag: str
    deadline: float | None
    running: bool = True
    abandoned: bool = False
    cut_off: bool = False  # still running when the shutdown grace ended


class _AnswerTooLarge(GraphmdError):
    """An answer larger than the server's max_send_message_length."""

    code = "RESOURCE_EXHAUSTED"


class _InFlight:
    """How many calls run now; wait_idle() blocks until none does."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    @property
    def count(self) -> int:
        return self._count

    def started(self) -> None:
        with self._idle:
            self._count += 1

    def finished(self) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Whether no call runs, waiting up to ``timeout`` seconds for that."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


def _version(request: Any) -> str | None:
    """MLMD treats an empty type_version as unset."""
    return request.type_version or None


def _mask(request: Any, name: str = "update_mask") -> list[str] | None:
    return list(getattr(request, name).paths) or None


def _lineage_mask(request: svc.GetLineageSubgraphRequest) -> list[str] | None:
    """read_mask's paths of LineageGraph fields. ml-metadata ignores any other path (a field
    a newer client knows, a typo), so a mask of only such paths asks for nothing: it reads
    as the one field MLMD never fills, parent_contexts. The library refuses them instead."""
    paths = list(request.read_mask.paths)
    if not paths:
        return None
    return [p for p in paths if p.split(".", 1)[0] in LINEAGE_GRAPH_FIELDS] or ["parent_contexts"]


def _options(request: Any) -> m.ListOptions | None:
    return cv.list_options_from_proto(request.options) if request.HasField("options") else None


def _artifacts_from_proto(messages: Any, field: str) -> list[m.Artifact]:
    """Artifacts of a put request; one without a uri gets uri "", as MLMD stores it."""
    return [_mlmd_uri(cv.artifact_from_proto(message, f"{field}[{i}]")) for i, message in enumerate(messages)]


def _mlmd_uri(artifact: m.Artifact) -> m.Artifact:
    if artifact.uri is None:
        artifact.uri = ""
    return artifact


def _external_ids(request: Any) -> list[str]:
    for i, external_id in enumerate(request.external_ids):
        if not external_id:
            raise InvalidArgumentError(f"external_ids[{i}]: Invalid argument because at least one empty "
                                       "external_id exists.", field=f"external_ids[{i}]")
    return list(request.external_ids)


def _found(items: list[Any], request: Any, what: str) -> list[Any]:
    """MLMD answers NOT_FOUND when a non-empty external id lookup matches nothing."""
    if not items and len(request.external_ids):
        raise NotFoundError(f"No {what} found for external_ids.", field="external_ids")
    return items


class MetadataStoreServicer(svc_grpc.MetadataStoreServiceServicer):
    """MetadataStoreService over a graphmd MetadataStore. Thread-safe: the store is."""

    def __init__(self, store: MetadataStore, observer: CallObserver | None = None, *,
                 max_send_message_length: int | None = None) -> None:
        self.store = store
        self.observer = observer or CallObserver()
        self.max_send_message_length = max_send_message_length
        # Tags this servicer's transactions, so a shutdown can terminate those still running.
        self.tag = f"graphmd-serve-{os.getpid()}-{id(self):x}-{time.monotonic_ns()}"
        # When stopping: the end of the shutdown grace (time.monotonic()), which bounds every call.
        self.cut_off_at: float | None = None
        # Since when (time.time()) Neo4j has failed the server's checks twice in a row, or None:
        # calls then fail at once with UNAVAILABLE (MlmdServer._watch_neo4j sets it).
        self.neo4j_down_since: float | None = None
        self._calls = _InFlight()
        self._call_numbers = itertools.count()
        self._lock = threading.Lock()
        self._running: set[_Call] = set()
        # What the clients of the calls a shutdown grace cut off got, by status code: a call
        # whose commit had started commits (OK) however it is cut off.
        self.cut_off_outcomes: collections.Counter[str] = collections.Counter()

    def cut_off(self) -> int:
        """Mark the calls running now as cut off by the end of the shutdown grace (their
        outcomes are counted in cut_off_outcomes as they end); returns how many."""
        with self._lock:
            for call in self._running:
                call.cut_off = True
            return len(self._running)

    def _seconds_left(self, call: _Call) -> float | None:
        """Seconds until the call's deadline or the end of the shutdown grace (None: neither);
        0 once its client has gone."""
        if call.abandoned:
            return 0.0
        ends = [end for end in (call.deadline, self.cut_off_at) if end is not None]
        return min(ends) - time.monotonic() if ends else None

    def _call_ended(self, call: _Call) -> None:
        """gRPC ended the call. If its handler still runs, the client is gone (its deadline
        passed, it cancelled, or the server cancelled it): end the call's Neo4j work now,
        rather than when Neo4j next checks the transaction's timeout (or never)."""
        if not call.running:
            return
        call.abandoned = True
        threading.Thread(target=self._terminate, args=(call.tag,), name="graphmd-cancel", daemon=True).start()

    def _terminate(self, tag: str) -> None:
        try:
            self.store._terminate_transactions(tag)
        except GraphmdError as error:  # Neo4j unreachable: the call fails on its own (no WARNING per call)
            log.debug("cannot end the Neo4j transactions of a call its client left: %s", error)

    # --- listing helper ---------------------------------------------------------------------

    def _list(self, cls: type, request: Any, response: Any, field: str, **scope: Any) -> Any:
        """Fill ``response.<field>``: everything without options, one page with them."""
        page = self.store.list_page(cls, _options(request), **scope)
        getattr(response, field).extend(cv.to_proto(node) for node in page.items)
        if page.next_page_token:
            response.next_page_token = page.next_page_token
        return response

    # --- types: writes ----------------------------------------------------------------------

    def _check_type_request(self, request: Any, types: list[tuple[str, Any, str]]) -> None:
        """MLMD's answers to what graphmd's types cannot express: all_fields_match=false
        (UNIMPLEMENTED) and properties of type UNKNOWN. ``types``: (kind, message, field).

        Raises:
            UnimplementedError: all_fields_match is false.
            AlreadyExistsError: an UNKNOWN property the stored type declares, or one it
                lacks without can_add_fields (the stored type differs, as MLMD judges first).
            InvalidArgumentError: an UNKNOWN property otherwise.
        """
        if request.HasField("all_fields_match") and not request.all_fields_match:
            raise UnimplementedError("Must match all fields.", field="all_fields_match")
        for kind, message, field in types:
            unknown = [name for name, value in message.properties.items() if value == pb.UNKNOWN]
            if not unknown:
                continue
            get = {"ArtifactType": self.store.get_artifact_type, "ExecutionType": self.store.get_execution_type,
                   "ContextType": self.store.get_context_type}[kind]
            try:
                stored = get(message.name, message.version if message.HasField("version") else None)
            except NotFoundError:
                stored = None
            name = unknown[0]
            at = f"{field}.properties[{name!r}]"
            if stored is not None and name in stored.properties:
                raise AlreadyExistsError(f"{at}: type {message.name!r} already exists with {name!r} of type "
                                         f"{stored.properties[name].value}, not UNKNOWN", field=at)
            if stored is not None and not request.can_add_fields:
                raise AlreadyExistsError(f"{at}: type {message.name!r} already exists without {name!r} "
                                         "(and can_add_fields is false)", field=at)
            raise InvalidArgumentError(f"{at}: property type UNKNOWN is not a type", field=at)

    @_rpc
    def PutArtifactType(self, request: svc.PutArtifactTypeRequest) -> svc.PutArtifactTypeResponse:
        self._check_type_request(request, [("ArtifactType", request.artifact_type, "artifact_type")])
        type_id = self.store.put_artifact_type(cv.artifact_type_from_proto(request.artifact_type),
                                               can_add_fields=request.can_add_fields,
                                               can_omit_fields=request.can_omit_fields)
        return svc.PutArtifactTypeResponse(type_id=type_id)

    @_rpc
    def PutExecutionType(self, request: svc.PutExecutionTypeRequest) -> svc.PutExecutionTypeResponse:
        self._check_type_request(request, [("ExecutionType", request.execution_type, "execution_type")])
        type_id = self.store.put_execution_type(cv.execution_type_from_proto(request.execution_type),
                                                can_add_fields=request.can_add_fields,
                                                can_omit_fields=request.can_omit_fields)
        return svc.PutExecutionTypeResponse(type_id=type_id)

    @_rpc
    def PutContextType(self, request: svc.PutContextTypeRequest) -> svc.PutContextTypeResponse:
        self._check_type_request(request, [("ContextType", request.context_type, "context_type")])
        type_id = self.store.put_context_type(cv.context_type_from_proto(request.context_type),
                                              can_add_fields=request.can_add_fields,
                                              can_omit_fields=request.can_omit_fields)
        return svc.PutContextTypeResponse(type_id=type_id)

    @_rpc
    def PutTypes(self, request: svc.PutTypesRequest) -> svc.PutTypesResponse:
        self._check_type_request(request, [
            (kind, message, f"{plural}[{i}]")
            for kind, plural in (("ArtifactType", "artifact_types"), ("ExecutionType", "execution_types"),
                                 ("ContextType", "context_types"))
            for i, message in enumerate(getattr(request, plural))])
        a, e, c = self.store.put_types(
            cv.many_from_proto(cv.artifact_type_from_proto, request.artifact_types, "artifact_types"),
            cv.many_from_proto(cv.execution_type_from_proto, request.execution_types, "execution_types"),
            cv.many_from_proto(cv.context_type_from_proto, request.context_types, "context_types"),
            can_add_fields=request.can_add_fields, can_omit_fields=request.can_omit_fields)
        return svc.PutTypesResponse(artifact_type_ids=a, execution_type_ids=e, context_type_ids=c)

    # --- types: reads -----------------------------------------------------------------------

    @_rpc
    def GetArtifactType(self, request: svc.GetArtifactTypeRequest) -> svc.GetArtifactTypeResponse:
        found = self.store.get_artifact_type(request.type_name, _version(request))
        return svc.GetArtifactTypeResponse(artifact_type=cv.artifact_type_to_proto(found))

    @_rpc
    def GetExecutionType(self, request: svc.GetExecutionTypeRequest) -> svc.GetExecutionTypeResponse:
        found = self.store.get_execution_type(request.type_name, _version(request))
        return svc.GetExecutionTypeResponse(execution_type=cv.execution_type_to_proto(found))

    @_rpc
    def GetContextType(self, request: svc.GetContextTypeRequest) -> svc.GetContextTypeResponse:
        found = self.store.get_context_type(request.type_name, _version(request))
        return svc.GetContextTypeResponse(context_type=cv.context_type_to_proto(found))

    @_rpc
    def GetArtifactTypes(self, request: svc.GetArtifactTypesRequest) -> svc.GetArtifactTypesResponse:
        return svc.GetArtifactTypesResponse(
            artifact_types=[cv.artifact_type_to_proto(t) for t in self.store.get_artifact_types()])

    @_rpc
    def GetExecutionTypes(self, request: svc.GetExecutionTypesRequest) -> svc.GetExecutionTypesResponse:
        return svc.GetExecutionTypesResponse(
            execution_types=[cv.execution_type_to_proto(t) for t in self.store.get_execution_types()])

    @_rpc
    def GetContextTypes(self, request: svc.GetContextTypesRequest) -> svc.GetContextTypesResponse:
        return svc.GetContextTypesResponse(
            context_types=[cv.context_type_to_proto(t) for t in self.store.get_context_types()])

    @_rpc
    def GetArtifactTypesByID(self, request: svc.GetArtifactTypesByIDRequest) -> svc.GetArtifactTypesByIDResponse:
        found = self.store.get_artifact_types_by_id(request.type_ids)
        return svc.GetArtifactTypesByIDResponse(artifact_types=[cv.artifact_type_to_proto(t) for t in found])

    @_rpc
    def GetExecutionTypesByID(self, request: svc.GetExecutionTypesByIDRequest) -> svc.GetExecutionTypesByIDResponse:
        found = self.store.get_execution_types_by_id(request.type_ids)
        return svc.GetExecutionTypesByIDResponse(execution_types=[cv.execution_type_to_proto(t) for t in found])

    @_rpc
    def GetContextTypesByID(self, request: svc.GetContextTypesByIDRequest) -> svc.GetContextTypesByIDResponse:
        found = self.store.get_context_types_by_id(request.type_ids)
        return svc.GetContextTypesByIDResponse(context_types=[cv.context_type_to_proto(t) for t in found])

    @_rpc
    def GetArtifactTypesByExternalIds(self, request: svc.GetArtifactTypesByExternalIdsRequest
                                      ) -> svc.GetArtifactTypesByExternalIdsResponse:
        found = _found(self.store.get_artifact_types_by_external_ids(_external_ids(request)), request, "types")
        return svc.GetArtifactTypesByExternalIdsResponse(artifact_types=[cv.artifact_type_to_proto(t) for t in found])

    @_rpc
    def GetExecutionTypesByExternalIds(self, request: svc.GetExecutionTypesByExternalIdsRequest
                                       ) -> svc.GetExecutionTypesByExternalIdsResponse:
        found = _found(self.store.get_execution_types_by_external_ids(_external_ids(request)), request, "types")
        return svc.GetExecutionTypesByExternalIdsResponse(
            execution_types=[cv.execution_type_to_proto(t) for t in found])

    @_rpc
    def GetContextTypesByExternalIds(self, request: svc.GetContextTypesByExternalIdsRequest
                                     ) -> svc.GetContextTypesByExternalIdsResponse:
        found = _found(self.store.get_context_types_by_external_ids(_external_ids(request)), request, "types")
        return svc.GetContextTypesByExternalIdsResponse(context_types=[cv.context_type_to_proto(t) for t in found])

    # --- nodes and edges: writes ------------------------------------------------------------

    @_rpc
    def PutArtifacts(self, request: svc.PutArtifactsRequest) -> svc.PutArtifactsResponse:
        ids = self.store.put_artifacts(
            _artifacts_from_proto(request.artifacts, "artifacts"),
            update_mask=_mask(request),
            abort_if_latest_updated_time_changed=request.options.abort_if_latest_updated_time_changed)
        return svc.PutArtifactsResponse(artifact_ids=ids)

    @_rpc
    def PutExecutions(self, request: svc.PutExecutionsRequest) -> svc.PutExecutionsResponse:
        ids = self.store.put_executions(cv.many_from_proto(cv.execution_from_proto, request.executions, "executions"),
                                        update_mask=_mask(request))
        return svc.PutExecutionsResponse(execution_ids=ids)

    @_rpc
    def PutContexts(self, request: svc.PutContextsRequest) -> svc.PutContextsResponse:
        ids = self.store.put_contexts(cv.many_from_proto(cv.context_from_proto, request.contexts, "contexts"),
                                      update_mask=_mask(request))
        return svc.PutContextsResponse(context_ids=ids)

    @_rpc
    def PutEvents(self, request: svc.PutEventsRequest) -> svc.PutEventsResponse:
        self.store.put_events(cv.many_from_proto(cv.event_from_proto, request.events, "events"))
        return svc.PutEventsResponse()

    @_rpc
    def PutExecution(self, request: svc.PutExecutionRequest) -> svc.PutExecutionResponse:
        pairs = []
        for i, pair in enumerate(request.artifact_event_pairs):
            field = f"artifact_event_pairs[{i}]"
            pairs.append(m.ArtifactAndEvent(
                artifact=(_mlmd_uri(cv.artifact_from_proto(pair.artifact, f"{field}.artifact"))
                          if pair.HasField("artifact") else None),
                event=cv.event_from_proto(pair.event, f"{field}.event") if pair.HasField("event") else None))
        options = request.options
        result = self.store.put_execution(
            cv.execution_from_proto(request.execution),
            pairs,
            cv.many_from_proto(cv.context_from_proto, request.contexts, "contexts"),
            reuse_context_if_already_exist=options.reuse_context_if_already_exist,
            reuse_artifact_if_already_exist_by_external_id=options.reuse_artifact_if_already_exist_by_external_id,
            force_reuse_context=options.force_reuse_context,
            force_update_time=options.force_update_time,
            contexts_need_type_id=True)
        return svc.PutExecutionResponse(execution_id=result.execution_id, artifact_ids=result.artifact_ids,
                                        context_ids=result.context_ids)

    @_rpc
    def PutLineageSubgraph(self, request: svc.PutLineageSubgraphRequest) -> svc.PutLineageSubgraphResponse:
        edges = []
        for i, edge in enumerate(request.event_edges):
            field = f"event_edges[{i}]"
            if not edge.HasField("event"):
                raise InvalidArgumentError(f"{field}: No event found for event_edge", field=f"{field}.event")
            edges.append(m.EventEdge(
                event=cv.event_from_proto(edge.event, f"{field}.event"),
                execution_index=edge.execution_index if edge.HasField("execution_index") else None,
                artifact_index=edge.artifact_index if edge.HasField("artifact_index") else None))
        options = request.options
        result = self.store.put_lineage_subgraph(
            cv.many_from_proto(cv.execution_from_proto, request.executions, "executions"),
            _artifacts_from_proto(request.artifacts, "artifacts"),
            cv.many_from_proto(cv.context_from_proto, request.contexts, "contexts"),
            edges,
            reuse_context_if_already_exist=options.reuse_context_if_already_exist,
            reuse_artifact_if_already_exist_by_external_id=options.reuse_artifact_if_already_exist_by_external_id)
        return svc.PutLineageSubgraphResponse(execution_ids=result.execution_ids, artifact_ids=result.artifact_ids,
                                              context_ids=result.context_ids)

    @_rpc
    def PutAttributionsAndAssociations(self, request: svc.PutAttributionsAndAssociationsRequest
                                       ) -> svc.PutAttributionsAndAssociationsResponse:
        self.store.put_attributions_and_associations(
            cv.many_from_proto(cv.attribution_from_proto, request.attributions, "attributions"),
            cv.many_from_proto(cv.association_from_proto, request.associations, "associations"))
        return svc.PutAttributionsAndAssociationsResponse()

    @_rpc
    def PutParentContexts(self, request: svc.PutParentContextsRequest) -> svc.PutParentContextsResponse:
        self.store.put_parent_contexts(
            cv.many_from_proto(cv.parent_context_from_proto, request.parent_contexts, "parent_contexts"))
        return svc.PutParentContextsResponse()

    # --- nodes: reads -----------------------------------------------------------------------

    @_rpc
    def GetArtifacts(self, request: svc.GetArtifactsRequest) -> svc.GetArtifactsResponse:
        return self._list(m.Artifact, request, svc.GetArtifactsResponse(), "artifacts")

    @_rpc
    def GetExecutions(self, request: svc.GetExecutionsRequest) -> svc.GetExecutionsResponse:
        return self._list(m.Execution, request, svc.GetExecutionsResponse(), "executions")

    @_rpc
    def GetContexts(self, request: svc.GetContextsRequest) -> svc.GetContextsResponse:
        return self._list(m.Context, request, svc.GetContextsResponse(), "contexts")

    @_rpc
    def GetArtifactsByType(self, request: svc.GetArtifactsByTypeRequest) -> svc.GetArtifactsByTypeResponse:
        return self._list(m.Artifact, request, svc.GetArtifactsByTypeResponse(), "artifacts",
                          type_name=request.type_name, type_version=_version(request))

    @_rpc
    def GetExecutionsByType(self, request: svc.GetExecutionsByTypeRequest) -> svc.GetExecutionsByTypeResponse:
        return self._list(m.Execution, request, svc.GetExecutionsByTypeResponse(), "executions",
                          type_name=request.type_name, type_version=_version(request))

    @_rpc
    def GetContextsByType(self, request: svc.GetContextsByTypeRequest) -> svc.GetContextsByTypeResponse:
        return self._list(m.Context, request, svc.GetContextsByTypeResponse(), "contexts",
                          type_name=request.type_name, type_version=_version(request))

    @_rpc
    def GetArtifactsByContext(self, request: svc.GetArtifactsByContextRequest) -> svc.GetArtifactsByContextResponse:
        return self._list(m.Artifact, request, svc.GetArtifactsByContextResponse(), "artifacts",
                          context_id=request.context_id)

    @_rpc
    def GetExecutionsByContext(self, request: svc.GetExecutionsByContextRequest
                               ) -> svc.GetExecutionsByContextResponse:
        return self._list(m.Execution, request, svc.GetExecutionsByContextResponse(), "executions",
                          context_id=request.context_id)

    @_rpc
    def GetArtifactsByID(self, request: svc.GetArtifactsByIDRequest) -> svc.GetArtifactsByIDResponse:
        if request.populate_artifact_types:
            artifacts, types = self.store.get_artifacts_and_types_by_artifact_ids(request.artifact_ids)
        else:
            artifacts, types = self.store.get_artifacts_by_id(request.artifact_ids), []
        return svc.GetArtifactsByIDResponse(artifacts=[cv.artifact_to_proto(a) for a in artifacts],
                                            artifact_types=[cv.artifact_type_to_proto(t) for t in types])

    @_rpc
    def GetExecutionsByID(self, request: svc.GetExecutionsByIDRequest) -> svc.GetExecutionsByIDResponse:
        found = self.store.get_executions_by_id(request.execution_ids)
        return svc.GetExecutionsByIDResponse(executions=[cv.execution_to_proto(x) for x in found])

    @_rpc
    def GetContextsByID(self, request: svc.GetContextsByIDRequest) -> svc.GetContextsByIDResponse:
        found = self.store.get_contexts_by_id(request.context_ids)
        return svc.GetContextsByIDResponse(contexts=[cv.context_to_proto(c) for c in found])

    @_rpc
    def GetArtifactByTypeAndName(self, request: svc.GetArtifactByTypeAndNameRequest
                                 ) -> svc.GetArtifactByTypeAndNameResponse:
        found = self.store.get_artifact_by_type_and_name(request.type_name, request.artifact_name, _version(request))
        response = svc.GetArtifactByTypeAndNameResponse()
        if found is not None:
            response.artifact.CopyFrom(cv.artifact_to_proto(found))
        return response

    @_rpc
    def GetExecutionByTypeAndName(self, request: svc.GetExecutionByTypeAndNameRequest
                                  ) -> svc.GetExecutionByTypeAndNameResponse:
        found = self.store.get_execution_by_type_and_name(request.type_name, request.execution_name,
                                                          _version(request))
        response = svc.GetExecutionByTypeAndNameResponse()
        if found is not None:
            response.execution.CopyFrom(cv.execution_to_proto(found))
        return response

    @_rpc
    def GetContextByTypeAndName(self, request: svc.GetContextByTypeAndNameRequest
                                ) -> svc.GetContextByTypeAndNameResponse:
        found = self.store.get_context_by_type_and_name(request.type_name, request.context_name, _version(request))
        response = svc.GetContextByTypeAndNameResponse()
        if found is not None:
            response.context.CopyFrom(cv.context_to_proto(found))
        return response

    @_rpc
    def GetArtifactsByURI(self, request: svc.GetArtifactsByURIRequest) -> svc.GetArtifactsByURIResponse:
        found = self.store.get_artifacts_by_uri(list(request.uris))
        return svc.GetArtifactsByURIResponse(artifacts=[cv.artifact_to_proto(a) for a in found])

    @_rpc
    def GetArtifactsByExternalIds(self, request: svc.GetArtifactsByExternalIdsRequest
                                  ) -> svc.GetArtifactsByExternalIdsResponse:
        found = _found(self.store.get_artifacts_by_external_ids(_external_ids(request)), request, "artifacts")
        return svc.GetArtifactsByExternalIdsResponse(artifacts=[cv.artifact_to_proto(a) for a in found])

    @_rpc
    def GetExecutionsByExternalIds(self, request: svc.GetExecutionsByExternalIdsRequest
                                   ) -> svc.GetExecutionsByExternalIdsResponse:
        found = _found(self.store.get_executions_by_external_ids(_external_ids(request)), request, "executions")
        return svc.GetExecutionsByExternalIdsResponse(executions=[cv.execution_to_proto(x) for x in found])

    @_rpc
    def GetContextsByExternalIds(self, request: svc.GetContextsByExternalIdsRequest
                                 ) -> svc.GetContextsByExternalIdsResponse:
        found = _found(self.store.get_contexts_by_external_ids(_external_ids(request)), request, "contexts")
        return svc.GetContextsByExternalIdsResponse(contexts=[cv.context_to_proto(c) for c in found])

    @_rpc
    def GetEventsByExecutionIDs(self, request: svc.GetEventsByExecutionIDsRequest
                                ) -> svc.GetEventsByExecutionIDsResponse:
        found = self.store.get_events_by_execution_ids(request.execution_ids)
        return svc.GetEventsByExecutionIDsResponse(events=[cv.event_to_proto(e) for e in found])

    @_rpc
    def GetEventsByArtifactIDs(self, request: svc.GetEventsByArtifactIDsRequest) -> svc.GetEventsByArtifactIDsResponse:
        found = self.store.get_events_by_artifact_ids(request.artifact_ids)
        return svc.GetEventsByArtifactIDsResponse(events=[cv.event_to_proto(e) for e in found])

    @_rpc
    def GetContextsByArtifact(self, request: svc.GetContextsByArtifactRequest) -> svc.GetContextsByArtifactResponse:
        found = self.store.get_contexts_by_artifact(request.artifact_id)
        if not found:
            raise NotFoundError(f"No contexts found for artifact_id: {request.artifact_id}", field="artifact_id")
        return svc.GetContextsByArtifactResponse(contexts=[cv.context_to_proto(c) for c in found])

    @_rpc
    def GetContextsByExecution(self, request: svc.GetContextsByExecutionRequest
                               ) -> svc.GetContextsByExecutionResponse:
        found = self.store.get_contexts_by_execution(request.execution_id)
        if not found:
            raise NotFoundError(f"No contexts found for execution_id: {request.execution_id}", field="execution_id")
        return svc.GetContextsByExecutionResponse(contexts=[cv.context_to_proto(c) for c in found])

    @_rpc
    def GetParentContextsByContext(self, request: svc.GetParentContextsByContextRequest
                                   ) -> svc.GetParentContextsByContextResponse:
        found = self.store.get_parent_contexts_by_context(request.context_id)
        return svc.GetParentContextsByContextResponse(contexts=[cv.context_to_proto(c) for c in found])

    @_rpc
    def GetChildrenContextsByContext(self, request: svc.GetChildrenContextsByContextRequest
                                     ) -> svc.GetChildrenContextsByContextResponse:
        found = self.store.get_children_contexts_by_context(request.context_id)
        return svc.GetChildrenContextsByContextResponse(contexts=[cv.context_to_proto(c) for c in found])

    @_rpc
    def GetParentContextsByContexts(self, request: svc.GetParentContextsByContextsRequest
                                    ) -> svc.GetParentContextsByContextsResponse:
        response = svc.GetParentContextsByContextsResponse()
        for child_id, parents in self.store.get_parent_contexts_by_contexts(request.context_ids).items():
            response.contexts[child_id].parent_contexts.extend(cv.context_to_proto(c) for c in parents)
        return response

    @_rpc
    def GetChildrenContextsByContexts(self, request: svc.GetChildrenContextsByContextsRequest
                                      ) -> svc.GetChildrenContextsByContextsResponse:
        response = svc.GetChildrenContextsByContextsResponse()
        for parent_id, children in self.store.get_children_contexts_by_contexts(request.context_ids).items():
            response.contexts[parent_id].children_contexts.extend(cv.context_to_proto(c) for c in children)
        return response

    # --- lineage ----------------------------------------------------------------------------

    @_rpc
    def GetLineageGraph(self, request: svc.GetLineageGraphRequest) -> svc.GetLineageGraphResponse:
        graph = self.store.get_lineage_graph(cv.lineage_graph_query_options_from_proto(request.options))
        # As the ml-metadata releases that served it: every type but the system ones (the
        # library answers the nodes' own types).
        graph = graph.model_copy(update={"artifact_types": self.store.get_artifact_types(),
                                         "execution_types": self.store.get_execution_types(),
                                         "context_types": self.store.get_context_types()})
        response = svc.GetLineageGraphResponse()
        cv.lineage_graph_to_proto(graph, response.subgraph)
        return response

    @_rpc
    def GetLineageSubgraph(self, request: svc.GetLineageSubgraphRequest) -> svc.GetLineageSubgraphResponse:
        mask = _lineage_mask(request)
        graph = self.store.get_lineage_subgraph(
            cv.lineage_subgraph_query_options_from_proto(request.lineage_subgraph_query_options), mask)
        # ml-metadata's server lists every type of a kind asked for (its Python client asks
        # for none: it reads the returned nodes' types itself, as graphmd's library answers).
        every = {"artifact_types": lambda: self.store.get_artifact_types(include_system_types=True),
                 "execution_types": lambda: self.store.get_execution_types(include_system_types=True),
                 "context_types": self.store.get_context_types}
        asked = set(LINEAGE_GRAPH_FIELDS if mask is None else mask)
        graph = graph.model_copy(update={field: read() for field, read in every.items() if field in asked})
        response = svc.GetLineageSubgraphResponse()
        cv.lineage_graph_to_proto(graph, response.lineage_subgraph)
        return response


# --- the server -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ServerOptions:
    """How `graphmd serve` listens.

    ``max_receive_message_length`` / ``max_send_message_length`` are gRPC's channel options
    of the same names (None: gRPC's defaults, 4 MiB received, unlimited sent). With
    ``tls_cert`` and ``tls_key`` (PEM files) the port speaks TLS; with ``tls_client_ca`` too,
    clients must present a certificate signed by that CA (MLMD's client_verify). With
    ``metrics_port`` (0: a free one) Prometheus metrics are served at http://host:port/metrics;
    ``log_calls`` logs each call's method, status code and duration. Every
    ``health_interval`` seconds the server checks that Neo4j answers and reports
    ``ml_metadata.MetadataStoreService`` SERVING or NOT_SERVING accordingly (readiness);
    the overall status ``""`` stays SERVING while the process serves (liveness).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 16
    max_receive_message_length: int | None = None
    max_send_message_length: int | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    shutdown_grace: float = 25.0  # below Kubernetes' default terminationGracePeriodSeconds (30 s)
    metrics_port: int | None = None
    log_calls: bool = False
    health_interval: float = 5.0


# After the shutdown grace: time for cut-off calls to answer before gRPC cancels them.
_UNWIND = 5.0


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _check_tls_files(options: ServerOptions) -> None:
    """Refuse TLS files gRPC would only reject by failing to bind the port (which reads as a
    port conflict): a certificate or key that is not PEM, a key of another certificate, an
    encrypted key (which OpenSSL would otherwise ask a passphrase for on the terminal), a
    client CA that holds no certificate.

    Raises:
        InvalidArgumentError: naming the option (tls_cert, tls_key or tls_client_ca).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)

    def no_passphrase() -> str:
        raise _EncryptedKey()

    try:
        context.load_cert_chain(str(options.tls_cert), str(options.tls_key), password=no_passphrase)
    except _EncryptedKey:
        raise InvalidArgumentError(f"--tls-key {options.tls_key} is encrypted (protected by a passphrase), which gRPC "
                                   f"cannot use: decrypt it (`openssl pkey -in {options.tls_key} -out server.key`) and "
                                   "keep that file readable by the server only", field="tls_key") from None
    except ssl.SSLError as error:
        if "MISMATCH" in (error.reason or str(error)).upper():
            raise InvalidArgumentError(f"--tls-key {options.tls_key} is not the key of the certificate in "
                                       f"{options.tls_cert}", field="tls_key") from error
        for field, marker, what in (("tls_cert", b"-----BEGIN CERTIFICATE-----", "certificate"),
                                    ("tls_key", b"PRIVATE KEY-----", "private key")):
            if marker not in Path(getattr(options, field)).read_bytes():
                raise InvalidArgumentError(f"--{field.replace('_', '-')} {getattr(options, field)} holds no PEM {what}",
                                           field=field) from error
        raise InvalidArgumentError(f"the TLS certificate and key cannot be used: {error}", field="tls_cert") from error
    if options.tls_client_ca is not None:
        try:
            context.load_verify_locations(cafile=str(options.tls_client_ca))
        except ssl.SSLError as error:
            raise InvalidArgumentError(f"--tls-client-ca {options.tls_client_ca} holds no PEM certificate "
                                       f"({error.reason})", field="tls_client_ca") from error


class _EncryptedKey(Exception):
    """OpenSSL asked for the TLS key's passphrase."""


def _read_tls_file(options: ServerOptions, field: str) -> bytes:
    """The bytes of the TLS file option ``field`` names.

    Raises:
        InvalidArgumentError: it cannot be read, naming the option.
    """
    path = Path(getattr(options, field))
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidArgumentError(f"--{field.replace('_', '-')} {path}: cannot read it ({error.strerror or error})",
                                   field=field) from error


def _credentials(options: ServerOptions) -> grpc.ServerCredentials | None:
    if options.tls_cert is None and options.tls_key is None:
        if options.tls_client_ca is not None:
            raise InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key", field="tls_client_ca")
        return None
    if options.tls_cert is None or options.tls_key is None:
        raise InvalidArgumentError("TLS needs both --tls-cert and --tls-key",
                                   field="tls_cert" if options.tls_cert is None else "tls_key")
    cert, key = _read_tls_file(options, "tls_cert"), _read_tls_file(options, "tls_key")
    client_ca = _read_tls_file(options, "tls_client_ca") if options.tls_client_ca else None
    _check_tls_files(options)
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                       require_client_auth=client_ca is not None)


class MlmdServer:
    """A running MLMD-compatible gRPC server: the MetadataStoreService and the standard
    grpc.health.v1 health service, on one port.

    Raises (at construction):
        InvalidArgumentError: unusable options (workers < 1, half a TLS pair, unreadable files).
        UnavailableError: the address cannot be bound.
    """

    def __init__(self, store: MetadataStore, options: ServerOptions) -> None:
        if options.workers < 1:
            raise InvalidArgumentError("--workers must be at least 1", field="workers")
        for field in ("port", "metrics_port"):
            port = getattr(options, field)
            if port is not None and not 0 <= port <= 65535:  # gRPC would bind port % 65536
                flag = "--grpc-port" if field == "port" else "--metrics-port"
                raise InvalidArgumentError(f"{flag} {port} is not a TCP port (0-65535; 0 picks a free one)",
                                           field=field)
        self.store = store
        self.options = options
        # Without SO_REUSEPORT a taken port is an error, not a second server sharing it.
        channel_options: list[tuple[str, int]] = [("grpc.so_reuseport", 0)]
        if options.max_receive_message_length is not None:
            channel_options.append(("grpc.max_receive_message_length", options.max_receive_message_length))
        if options.max_send_message_length is not None:
            channel_options.append(("grpc.max_send_message_length", options.max_send_message_length))
        credentials = _credentials(options)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=options.workers,
                                                              thread_name_prefix="graphmd-grpc"),
                                   options=channel_options)
        # Metrics served over HTTP, when asked for; metrics_port is theirs once started.
        self._served_metrics: ServerMetrics | None = None
        if options.metrics_port is not None:
            from ._metrics import ServerMetrics  # needs prometheus_client, only when asked for

            self._served_metrics = ServerMetrics(store, log_calls=options.log_calls)
        self.metrics: CallObserver = (self._served_metrics if self._served_metrics is not None
                                      else CallObserver(log_calls=options.log_calls))
        self.metrics_port: int | None = None
        self.servicer = MetadataStoreServicer(store, self.metrics,
                                              max_send_message_length=options.max_send_message_length)
        svc_grpc.add_MetadataStoreServiceServicer_to_server(self.servicer, self._server)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        self._store = store
        self._ping = BoundedCall("graphmd-neo4j-ping")
        self._stopping = threading.Event()
        address = _address(options.host, options.port)
        _check_bindable(options.host, options.port, address)
        try:
            if credentials is None:
                self.port = self._server.add_insecure_port(address)
            else:
                self.port = self._server.add_secure_port(address, credentials)
        except RuntimeError as error:
            raise _unavailable(address, error) from error
        if self.port == 0:
            raise _unavailable(address, "the port is taken or the host is not local")
        self.address = _address(options.host, self.port)

    def start(self) -> MlmdServer:
        """Start serving (and /metrics, when asked for) and mark both services SERVING.

        Raises:
            UnavailableError: the metrics port cannot be bound.
        """
        port = self.options.metrics_port
        if self._served_metrics is not None and port is not None:
            try:
                self.metrics_port = self._served_metrics.serve(self.options.host, port)
            except OSError as error:
                raise UnavailableError(f"cannot serve metrics on {_address(self.options.host, port)}: "
                                       f"{error.strerror or error}", field="metrics_port") from error
        self._server.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        threading.Thread(target=self._watch_neo4j, name="graphmd-health", daemon=True).start()
        return self

    def _neo4j_answers(self) -> bool:
        """Whether Neo4j runs a trivial statement now, within PING_SECONDS (one auto-commit
        try: a managed read would retry for up to 30 s before saying no; a frozen Neo4j
        would hold it as long as it is frozen)."""
        def ping() -> None:
            with map_driver_errors(self._store.settings.uri), self._store._session() as session:
                session.run(PING).consume()

        try:
            self._ping(ping, PING_SECONDS)
        except (GraphmdError, TimeoutError):
            return False
        return True

    def _watch_neo4j(self) -> None:
        """Until stop(): every health_interval seconds, report the MLMD service SERVING while
        Neo4j answers and NOT_SERVING while it does not (a readiness probe then takes this
        server out of rotation instead of sending it calls that fail UNAVAILABLE). While it
        does not, every second at most, so the server is back in rotation soon after Neo4j;
        and from its second failed check on, calls fail at once (MetadataStoreServicer's
        neo4j_down_since) rather than each holding a worker through the driver's retries."""
        up, failed = True, 0
        while not self._stopping.wait(self.options.health_interval if up else min(1.0, self.options.health_interval)):
            now = self._neo4j_answers()
            if self._stopping.is_set():
                continue
            # Down twice in a row (one check can fail by chance): calls fail fast until it answers,
            # so the workers stay free for the calls, and the health checks, that come after.
            failed = 0 if now else failed + 1
            if failed == 2:
                self.servicer.neo4j_down_since = time.time()
                log.warning("Neo4j still does not answer: calls get UNAVAILABLE at once until it does")
            elif now and self.servicer.neo4j_down_since is not None:
                self.servicer.neo4j_down_since = None
            if now == up:
                continue
            up = now
            if up:
                log.warning("Neo4j answers again: %s is SERVING", SERVICE_NAME)
            else:
                log.warning("Neo4j does not answer: %s is NOT_SERVING until it does", SERVICE_NAME)
            self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING if up
                            else health_pb2.HealthCheckResponse.NOT_SERVING)

    @property
    def calls_in_flight(self) -> int:
        """How many calls run now."""
        return self.servicer._calls.count

    def stop(self, grace: float | None = None) -> threading.Event:
        """Stop taking calls and let those in flight finish within ``grace`` seconds
        (default: the options' shutdown_grace); a second stop may shorten it. Returns an
        event set once the server has terminated.

        No call outlives the grace: every Neo4j transaction a call starts ends by then, and
        those still running then are terminated (Neo4j rolls them back unless they are
        committing), so their clients get UNAVAILABLE saying nothing was stored, rather
        than gRPC's bare cancellation of a call that may commit after it. gRPC cancels
        whatever still runs _UNWIND seconds later."""
        grace = self.options.shutdown_grace if grace is None else max(0.0, grace)
        self._stopping.set()
        self.health.enter_graceful_shutdown()
        cut_off_at = time.monotonic() + grace
        if self.servicer.cut_off_at is None or cut_off_at < self.servicer.cut_off_at:
            self.servicer.cut_off_at = cut_off_at
            timer = threading.Timer(grace, self._cut_off, args=(grace,))
            timer.daemon = True
            timer.start()
        done = self._server.stop(grace + _UNWIND)
        if self._served_metrics is not None and self.metrics_port is not None:
            self._served_metrics.stop()
        return done

    def _cut_off(self, grace: float) -> None:
        """The shutdown grace is over: terminate the Neo4j transactions of the calls that
        still run (their handlers then answer UNAVAILABLE)."""
        running = self.servicer.cut_off()
        if not running:
            return
        try:
            terminated = self._store._terminate_transactions(f"{self.servicer.tag}/")
        except GraphmdError as error:
            log.warning("shutdown grace (%g s) over, %s still running; could not have Neo4j end their "
                        "transactions: %s", grace, counted(running, "call"), error)
            return
        log.warning("shutdown grace (%g s) over: %s still running; %s terminated (rolled back, unless "
                    "already committing); what each client got is said once the calls end", grace,
                    counted(running, "call"), counted(terminated, "Neo4j transaction"))

    def wait(self) -> None:
        """Block until the server has terminated."""
        self._server.wait_for_termination()


def _unavailable(address: str, why: object) -> UnavailableError:
    return UnavailableError(f"cannot listen on {address}: {why}", field="grpc_port")


def _check_bindable(host: str, port: int, address: str) -> None:
    """Raise UnavailableError when ``port`` on ``host`` cannot be bound (taken by another
    process, or the host is not this machine's): gRPC's own failure also writes a line of
    its C core's log to stderr, which is noise next to graphmd's error. Port 0 (any free
    port) is left to gRPC.

    The probe binds as gRPC does, with SO_REUSEADDR (on POSIX): connections a stopped server
    closed first wait in TIME_WAIT on its port for a minute, and gRPC binds over them, so a
    restarted `graphmd serve` (a container restarted in its pod) must not read them as the
    port being taken. A port another process listens on is still refused."""
    if not port:
        return
    try:
        found = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise _unavailable(address, f"unknown host ({error.strerror})") from error
    family, kind, proto, _, where = found[0]
    with socket.socket(family, kind, proto) as probe:
        if os.name == "posix":  # elsewhere (Windows) SO_REUSEADDR would let the probe share a taken port
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(where)
        except OSError as error:
            why = "the port is taken" if error.errno == errno.EADDRINUSE else (error.strerror or error)
            raise _unavailable(address, why) from error


# What the client of a call the shutdown grace cut off got, said by its status code.
_CUT_OFF_OUTCOMES = {
    "UNAVAILABLE": "rolled back, the client told UNAVAILABLE (nothing stored: retry)",
    "OK": "finished anyway, the client answered OK (its commit had started, which nothing stops)",
    "DEADLINE_EXCEEDED": "ended by its client's deadline (a write's outcome unknown: read back)",
    "CANCELLED": "cancelled by gRPC (a write's outcome unknown: read back)",
}


def describe_cut_off(outcomes: collections.Counter[str]) -> str:
    """The calls a shutdown grace cut off, by what their clients got, in a line."""
    total = sum(outcomes.values())
    parts = [f"{n:,} {_CUT_OFF_OUTCOMES.get(code, f'answered {code}')}" for code, n in sorted(outcomes.items())]
    return (f"{counted(total, 'call')} {'was' if total == 1 else 'were'} still running at the end of the shutdown "
            f"grace: " + "; ".join(parts))


def serve(store: MetadataStore, options: ServerOptions, *,
          ready: Callable[[MlmdServer], None] | None = None) -> collections.Counter[str]:
    """Serve until SIGTERM or SIGINT, then shut down gracefully: stop taking calls, finish
    in-flight ones (up to ``options.shutdown_grace`` seconds; a second signal cuts them off
    at once), close the store. Returns what the clients of the calls cut off got, by status
    code (empty: every call finished; see MlmdServer.stop).

    Must run in the main thread (it installs the signal handlers). ``ready`` is called once
    the port is bound and serving.
    """
    try:
        server = MlmdServer(store, options).start()
        # The handler only queues the signal (SimpleQueue.put may run inside a signal handler):
        # a second signal can arrive while the first one's handler runs, in the same thread,
        # and stopping takes locks that thread may already hold (Event.set: serve hung so).
        signalled: queue.SimpleQueue[str | None] = queue.SimpleQueue()

        def on_signal(signum: int, _frame: Any) -> None:
            signalled.put(signal.Signals(signum).name)

        def stop_on_signals() -> None:
            first = True
            while (name := signalled.get()) is not None:
                if first:
                    log.info("%s: taking no new calls; %d in flight get up to %g s to finish, then stopping", name,
                             server.calls_in_flight, options.shutdown_grace)
                    server.stop()
                    first = False
                else:
                    log.warning("%s again: cutting off the %d calls in flight now", name, server.calls_in_flight)
                    server.stop(0)

        stopper = threading.Thread(target=stop_on_signals, name="graphmd-serve-signals", daemon=True)
        stopper.start()
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if ready is not None:
                ready(server)
            server.wait()
            # gRPC has answered every call; let handlers it cancelled return before the store closes.
            if not server.servicer._calls.wait_idle(_UNWIND):
                log.warning("%d calls still running at exit", server.calls_in_flight)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signalled.put(None)
            stopper.join(5)
        outcomes = server.servicer.cut_off_outcomes
        if outcomes:
            log.warning("stopped: %s", describe_cut_off(outcomes))
        else:
            log.info("stopped: every call in flight finished")
        return outcomes
    finally:
        store.close()
