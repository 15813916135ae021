"""MetadataStore: MLMD's operations, with MLMD's semantics, on a Neo4j graph.

Every write is one Neo4j transaction: one auto-commit statement, or a managed write
transaction, which the driver retries on transient errors (deadlocks, leader switches). It
either commits whole or leaves the store as it was. Reads are read transactions (so they
route to secondaries on a cluster), one per call, except where a call first looks up a
type by name or id (``get_*_by_type``, ``list_page`` by type name,
``get_artifacts_and_types_by_artifact_ids``): that lookup is a read of its own, whose
answer cannot change in between, as types are never deleted (short of a reset).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import difflib
import functools
import hashlib
import json
import logging
import os
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar, overload

import neo4j
from neo4j import exceptions as neo4j_errors
from pydantic import BaseModel

from . import _codec as codec
from . import _queries as q
from ._prune import PruneResult, apply_prune, plan_prune
from ._config import Settings, config_path, missing_config, open_driver, refused_field, resolve_settings
from ._errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    FailedPreconditionError,
    GraphmdError,
    InvalidArgumentError,
    InternalError,
    NotFoundError,
    OutOfRangeError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    clash_key,
    kind_of,
    map_driver_errors,
    unique_clash,
)
from ._filter import compile_filter
from . import _driver_guard, _lineage
from ._ids import IdAllocator
from ._models import (
    AnyNode,
    AnyType,
    ArtifactAndEvent,
    Artifact,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    Event,
    EventEdge,
    Execution,
    ExecutionType,
    LineageGraph,
    LineageGraphQueryOptions,
    LineagePath,
    LineageStep,
    LineageSubgraphQueryOptions,
    ListOptions,
    OrderBy,
    Page,
    NodeT,
    ParentContext,
    TypeT,
    artifact_struct_type_problem,
    stored_id,
)
from ._schema import SIMPLE_TYPES, ensure_schema

# Threads share a driver here (graphmd serve's workers): see graphmd/_driver_guard.py.
_driver_guard.install()


class _Bound(NamedTuple):
    seconds_left: Callable[[], float | None]  # None: unbounded
    tag: str | None


# What bounds the transactions the current thread starts: see time_bound.
_BOUND: contextvars.ContextVar[_Bound | None] = contextvars.ContextVar("graphmd_time_bound", default=None)


@contextlib.contextmanager
def time_bound(seconds_left: Callable[[], float | None], tag: str | None = None) -> Iterator[None]:
    """Within this block, every transaction a store starts in this thread gets Neo4j's
    timeout of ``seconds_left()`` (or the store's ``transaction_timeout``, if shorter), and
    the driver's retries stop then too: Neo4j rolls back what runs past it, and the call
    raises DeadlineExceededError. A transaction that would start with no time left is not
    sent (DeadlineExceededError). ``seconds_left`` is asked at each start, so the bound may
    shrink while a call runs. With ``tag``, the transactions carry it as metadata, and
    ``MetadataStore._terminate_transactions(tag)`` ends those still running at once (Neo4j
    enforces a timeout only when it next checks, up to ~2 s late).

    Why: `graphmd serve` bounds each call by its client's deadline and, once stopping, by
    the shutdown grace, so no call works on (or commits) after its client gave up on it.
    """
    token = _BOUND.set(_Bound(seconds_left, tag))
    try:
        yield
    finally:
        _BOUND.reset(token)


# Open stores, so a forked child gets its own connections and id blocks (os.fork, and
# multiprocessing's "fork" start method): see MetadataStore._after_fork_in_child.
_OPEN_STORES: weakref.WeakSet[MetadataStore] = weakref.WeakSet()


def _reopen_stores_in_child() -> None:
    for store in list(_OPEN_STORES):
        store._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reopen_stores_in_child)

__all__ = ["MetadataStore", "PutExecutionResult", "PutLineageSubgraphResult"]

ResultT = TypeVar("ResultT")

_LABEL: dict[type[AnyNode], str] = {Artifact: "Artifact", Execution: "Execution", Context: "Context"}
_KIND: dict[type[AnyType], str] = {ArtifactType: "ArtifactType", ExecutionType: "ExecutionType",
                                   ContextType: "ContextType"}
_TYPE_CLASS: dict[type[AnyNode], type[AnyType]] = {Artifact: ArtifactType, Execution: ExecutionType,
                                                   Context: ContextType}
_PLURAL: dict[type[AnyNode], str] = {Artifact: "artifacts", Execution: "executions", Context: "contexts"}
# Attributes a full (unmasked) update rewrites, per MLMD's RunNodeUpdate: names of
# artifacts and executions are fixed at creation; a context's name can change.
_UPDATABLE: dict[type[AnyNode], tuple[str, ...]] = {
    Artifact: ("uri", "state", "external_id"),
    Execution: ("last_known_state", "external_id"),
    Context: ("name", "external_id"),
}
# Attributes an update mask changes: as without a mask, an artifact's or execution's name
# stays as created (MLMD accepts "name" in the mask and keeps the stored name).
_MASKABLE: dict[type[AnyNode], tuple[str, ...]] = {
    Artifact: ("uri", "state", "external_id", "system_metadata"),
    Execution: ("last_known_state", "external_id", "system_metadata"),
    Context: ("name", "external_id", "system_metadata"),
}
# Attributes compared to decide whether an update changed anything (MLMD's differencer
# ignores type_id, properties and the two times).
_COMPARED = ("name", "type", "external_id", "uri", "state", "last_known_state", "system_metadata")
_MAX_CONFLICT_RETRIES = 5


def _compared(cls: type[AnyNode], node: AnyNode) -> list[str]:
    """The attributes of ``node`` an update compares with the stored node: _COMPARED, less
    the type name when the node carries none (one built by hand), and an artifact's or
    execution's name when it carries none (an update never changes that name, but one given
    that differs moves the update time, as in ml-metadata)."""
    return [a for a in _COMPARED if hasattr(node, a) and not (a == "type" and node.type is None)
            and not (a == "name" and cls is not Context and node.name is None)]
_log = logging.getLogger("graphmd")


class PutExecutionResult(NamedTuple):
    """What put_execution stored: the execution's id, one id per artifact_and_event
    (-1 where the pair held neither artifact nor event) and the contexts' ids."""

    execution_id: int
    artifact_ids: list[int]
    context_ids: list[int]


class PutLineageSubgraphResult(NamedTuple):
    """The ids put_lineage_subgraph assigned, in the order of the request's lists."""

    execution_ids: list[int]
    artifact_ids: list[int]
    context_ids: list[int]


class _SlowPath(Exception):
    """A call planned with server-side updates met something the slow path must judge (a
    node that is missing, of another type, or invalid): rerun it reading nodes first, so
    it raises exactly the error it always did."""


class _NeedsTransaction(Exception):
    """A call planned for one auto-commit statement needs a managed transaction instead."""


class _NoTransaction:
    """What a call planned for one auto-commit statement reads with: nothing, so a read
    while planning (a type not cached, nodes to lock) means it needs a transaction."""

    def run(self, *args: Any, **kwargs: Any) -> Any:
        raise _NeedsTransaction()


_NO_TRANSACTION = _NoTransaction()
# What a _NodeWriter plans with.
_Transaction = neo4j.ManagedTransaction | _NoTransaction


class _Conflict(Exception):
    """A concurrent writer created the same unique node first; rerun the transaction.

    Carries the error to raise should every rerun conflict too."""

    def __init__(self, error: GraphmdError) -> None:
        super().__init__(str(error))
        self.error = error


# Neo4j's code for a statement that meets a node deleted after it matched it.
_ENTITY_GONE = "Neo.ClientError.Statement.EntityNotFound"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _pipelined_begin(session: neo4j.Session) -> contextlib.AbstractContextManager[Any]:
    """Send a transaction's BEGIN with its first query rather than waiting for BEGIN's
    answer first: one network round trip fewer per call. The driver does this for its own
    execute_query; on a driver without the switch, transactions begin as usual."""
    switch = getattr(session, "_pipelined_begin", None)
    return contextlib.nullcontext() if switch is None else switch


def _context_id(tx: neo4j.ManagedTransaction, type_id: int, name: str) -> int:
    """The id of the context of type ``type_id`` named ``name`` (it must exist)."""
    return int(tx.run(q.NODE_BY_TYPE_AND_NAME["Context"], type_id=type_id, name=name).single(strict=True)["n"]["id"])


def _delete_batch(tx: neo4j.ManagedTransaction, statement: str, batch_size: int) -> int:
    """How many items one batch of a delete_everything statement deleted."""
    return tx.run(statement, batch=batch_size).single(strict=True)["deleted"]


def _artifact_and_event(pair: object, field: str) -> ArtifactAndEvent:
    """``pair`` as an ArtifactAndEvent: one, or an (artifact or None, event or None) pair.

    Raises:
        InvalidArgumentError: anything else (``field``, or its artifact or event).
    """
    if isinstance(pair, ArtifactAndEvent):
        return pair
    if not isinstance(pair, (tuple, list)) or len(pair) > 2:
        raise InvalidArgumentError(f"{field}: an ArtifactAndEvent or an (artifact, event) pair is expected, not "
                                   f"{kind_of(pair)}{f' of {len(pair)}' if isinstance(pair, (tuple, list)) else ''}",
                                   field=field)
    # As ml-metadata's client: [artifact] or (artifact,) has no event, and [] neither part.
    artifact, event = (*pair, None, None)[:2]
    for part, cls, name in ((artifact, Artifact, "artifact"), (event, Event, "event")):
        if part is not None and not isinstance(part, cls):
            raise InvalidArgumentError(f"{field}.{name}: an {cls.__name__} or None is expected, not "
                                       f"{kind_of(part)}", field=f"{field}.{name}")
    return ArtifactAndEvent(artifact=artifact, event=event)


def _event_edge(edge: object, field: str) -> EventEdge:
    """``edge`` as an EventEdge: one, or ml-metadata's (execution index or None, artifact
    index or None, event) triple.

    Raises:
        InvalidArgumentError: anything else (``field``, or its part).
    """
    if isinstance(edge, EventEdge):
        return edge
    if not isinstance(edge, (tuple, list)) or len(edge) != 3:
        raise InvalidArgumentError(f"{field}: an EventEdge or an (execution_index, artifact_index, event) triple is "
                                   f"expected, not {kind_of(edge)}"
                                   f"{f' of {len(edge)}' if isinstance(edge, (tuple, list)) else ''}", field=field)
    execution_index, artifact_index, event = edge
    for part, name in ((execution_index, "execution_index"), (artifact_index, "artifact_index")):
        if part is not None and (not isinstance(part, int) or isinstance(part, bool)):
            raise InvalidArgumentError(f"{field}.{name}: an int or None is expected, not {type(part).__name__}",
                                       field=f"{field}.{name}")
    _require_instance(event, Event, f"{field}.event")
    return EventEdge(event=event, execution_index=execution_index, artifact_index=artifact_index)


_NOTHING_STORED = "graphmd: the interrupted call's write was stopped; nothing of it was stored"


def _note_interrupt(interrupt: BaseException, stored: bool | None, note: str) -> None:
    """Say on an interrupted write's interrupt (Ctrl-C) what became of the write: ``note``
    for the reader, and ``graphmd_stored`` for code (graphmd._pipeline's record_execution):
    True (stored, whole), False (nothing stored), None (unknown)."""
    interrupt.add_note(note)
    interrupt.graphmd_stored = stored  # type: ignore[attr-defined]


def _check_type_class(given: object, cls: type[AnyType], field: str) -> None:
    """Raise InvalidArgumentError (``field``) unless ``given`` is a ``cls``: an
    ExecutionType given to put_artifact_type would otherwise be stored as what it is."""
    _require_instance(given, cls, field)


def _require_instance(given: object, cls: type, field: str) -> None:
    """Raise InvalidArgumentError (``field``: "must be an Artifact, not ...") unless ``given``
    is a ``cls``; a proto from ml-metadata is named as one (kind_of)."""
    if not isinstance(given, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise InvalidArgumentError(f"{field} must be {article} {cls.__name__}, not {kind_of(given)}", field=field)


def _field(prefix: str, index: int | None, name: str | None = None) -> str:
    base = prefix if index is None else f"{prefix}[{index}]"
    return f"{base}.{name}" if name else base


def _abandon_connections(driver: neo4j.Driver) -> None:
    """Close this process's copies of ``driver``'s sockets without sending anything: in a
    forked child they are the parent's connections too (closing a copy does not close
    the parent's). Marked closed, the connections never send their GOODBYE."""
    pool = getattr(driver, "_pool", None)
    for connections in list(getattr(pool, "connections", {}).values()):
        for connection in list(connections):
            kill = getattr(connection, "kill", None)
            if kill is not None:
                with contextlib.suppress(Exception):
                    kill()


def _raised_while_connecting(error: BaseException) -> bool:
    """Whether the driver raised ``error`` while opening a session's connection, that is
    before it sent anything: the frames of its Session._connect are on the traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    return any(f.name == "_connect" and f.filename.replace(os.sep, "/").endswith("/work/session.py") for f in frames)


class MetadataStore:
    """ML metadata in Neo4j with MLMD's operations.

    Connects by ``uri``/``user``/``password``/``database`` given here, else from the
    GRAPHMD_NEO4J_URI / _USER / _PASSWORD / _DATABASE environment variables, else from the
    config file ``graphmd neo4j start`` writes. Use it as a context manager, or call
    :meth:`close`. Threads may share one store. A process forked from one that holds a
    store (``os.fork``, multiprocessing's "fork" start method) may use it too: the child
    opens its own connections and reserves its own ids (with ``driver`` given, replacing
    the driver in the child is the caller's business).

    Raises:
        InvalidArgumentError: ``connect_timeout`` or ``transaction_timeout`` is not a
            positive number of seconds, the URI is not a Neo4j URI, uri / user /
            password / database is not a string, or the database is Neo4j's ``system``.
        UnavailableError: Neo4j did not answer within ``connect_timeout`` seconds; the
            message names the URI.
        UnauthenticatedError: Neo4j rejected the credentials (field ``password``).
        NotFoundError: the Neo4j server has no database named ``database``.
        FailedPreconditionError: the database holds a newer graphmd schema.
    """

    def __init__(
        self,
        uri: str | None = None,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        *,
        connect_timeout: float = 10.0,
        transaction_timeout: float | None = None,
        driver: neo4j.Driver | None = None,
    ) -> None:
        self.settings: Settings = resolve_settings(uri, user, password, database)
        self._database = self.settings.database
        for name, seconds in (("connect_timeout", connect_timeout), ("transaction_timeout", transaction_timeout)):
            if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                                        or not seconds > 0 or seconds == float("inf")):
                raise InvalidArgumentError(f"{name}: {seconds!r} is not a positive number of seconds", field=name)
        self._connect_timeout = float(connect_timeout)
        self._transaction_timeout = transaction_timeout
        self._owns_driver = driver is None
        self._closed = False
        with map_driver_errors(self.settings.uri):
            self._driver = driver if driver is not None else self._new_driver()
            try:
                self._connect()
            except Exception:
                if self._owns_driver:
                    self._driver.close()
                raise
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        self._ids = IdAllocator(self._driver, self._database, session=self._session)
        self._type_cache: dict[int, AnyType] = {}
        # Contexts this store has found or created by (type_id, name), with their ids: reused by
        # name again (TFX's pipeline and run contexts, at every step), they are MERGEd under
        # that id instead of a fresh one, which a concurrent call's allocation would strand.
        self._known_contexts: dict[tuple[int, str], int] = {}
        _OPEN_STORES.add(self)
        try:
            with map_driver_errors(self.settings.uri):
                self.schema_version = ensure_schema(self._driver, self._database, self._ids.allocate)
        except GraphmdError:
            self.close()  # e.g. a newer schema: refuse without leaking the connection pool
            raise

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def _retry_time(self) -> float:
        return max(self._connect_timeout, 5.0)

    def _new_driver(self) -> neo4j.Driver:
        return open_driver(self.settings, connect_timeout=self._connect_timeout, retry_time=self._retry_time)

    def _after_fork_in_child(self) -> None:
        """Make this store usable in a forked child: its own connections and id blocks.

        The child's copy of the parent's connections shares their sockets with the parent;
        they are dropped without a word to Neo4j (a GOODBYE would end the parent's session)
        and the child opens its own. The parent's reserved id blocks are the parent's: the
        child reserves its own, so the two never hand out the same id. A driver given to
        the constructor is the caller's to replace; the id blocks are dropped all the same."""
        if self._closed:
            return
        if self._owns_driver:
            _abandon_connections(self._driver)
            self._driver = self._new_driver()
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        self._ids = IdAllocator(self._driver, self._database, session=self._session)

    def _connect(self) -> None:
        """Check that Neo4j answers at the resolved URI.

        Raises:
            UnavailableError: it does not (field ``uri``); the message says where the
                settings came from and how to get a server, without the driver's traceback.
            UnauthenticatedError: it refused the credentials (field ``password``), said the
                same way.
        """
        try:
            with map_driver_errors(self.settings.uri):
                self._driver.verify_connectivity()
        except FailedPreconditionError:
            if self._owns_driver:
                raise
            raise FailedPreconditionError("the driver given is closed: pass an open neo4j.Driver, or none (the "
                                          "store then opens its own)", field="driver") from None
        except (UnavailableError, UnauthenticatedError) as error:
            source = self.settings.described()
            if self.settings.source == "defaults":
                missing = missing_config()
                source += (f" (no argument, GRAPHMD_NEO4J_* variable or config file {config_path()} gave any"
                           + (f"; {missing})" if missing else ")"))
            field = refused_field(error)
            locked = getattr(error.__cause__, "code", None) == "Neo.ClientError.Security.AuthenticationRateLimit"
            hint = f"; settings used: {source}" + ("" if locked else ". " + (  # locked: the right password fails too
                f"Give user {self.settings.user}'s password (password= in Python, --password on the command line, "
                f"GRAPHMD_NEO4J_PASSWORD, or the config file "
                "`graphmd neo4j start` writes for its server)" if field == "password" else
                "A local Neo4j: `graphmd neo4j start` (MetadataStore() then finds it); another server: pass uri, "
                "user and password, or set GRAPHMD_NEO4J_URI, GRAPHMD_NEO4J_USER and GRAPHMD_NEO4J_PASSWORD"))
            said = error.message.rstrip(".")
            if field == "password" and self.settings.password is None:  # the driver: "missing key `scheme`"
                said = f"Neo4j at {self.settings.uri} needs a password and none was given"
            raise type(error)(said + hint, field=field) from None

    def close(self) -> None:
        """Close the store: its calls then raise FailedPreconditionError. Its connection pool
        is closed only if the store opened it (a driver given to the constructor is the
        caller's, and stays open)."""
        self._closed = True
        if self._owns_driver:
            self._driver.close()

    def __del__(self) -> None:
        # Dropped unclosed (a notebook re-running `store = MetadataStore()`): close the pool
        # now, quietly, rather than leave it to the driver, which warns of an unclosed driver.
        if not getattr(self, "_closed", True) and getattr(self, "_owns_driver", False):
            with contextlib.suppress(Exception):
                self._driver.close()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MetadataStore(uri={self.settings.uri!r}, database={self._database!r})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a MetadataStore holds open connections and cannot be pickled: open one in the other "
                        "process (MetadataStore() reads the same settings), or fork after opening it")

    @property
    def driver(self) -> neo4j.Driver:
        """The underlying neo4j driver, for ad-hoc Cypher."""
        return self._driver

    @property
    def database(self) -> str | None:
        """The Neo4j database name (None: the server's default)."""
        return self._database

    @property
    def _tx_timeout(self) -> float | None:
        """Neo4j's timeout for a transaction starting now: ``transaction_timeout``, shortened
        to the time left of the current time_bound.

        Raises:
            DeadlineExceededError: the time_bound has no time left.
        """
        bound = _BOUND.get()
        left = bound.seconds_left() if bound is not None else None
        if left is None:
            return self._transaction_timeout
        if left <= 0:
            raise DeadlineExceededError("the call's time ran out (its deadline passed) before this transaction "
                                        "started: nothing more of the call was sent to Neo4j", field="deadline")
        return left if self._transaction_timeout is None else min(left, self._transaction_timeout)

    @property
    def _tx_metadata(self) -> dict[str, str] | None:
        """Metadata of a transaction starting now: the current time_bound's tag."""
        bound = _BOUND.get()
        return {"graphmd_bound": bound.tag} if bound is not None and bound.tag else None

    @contextlib.contextmanager
    def _session(self, *, access_mode: str = neo4j.WRITE_ACCESS) -> Iterator[neo4j.Session]:
        """A session on the store's database, closed on the way out; interrupted (Ctrl-C),
        by dropping its connection (_driver_guard.closed_on_exit)."""
        if self._closed:  # a driver given to the constructor stays open: the store is closed all the same
            raise FailedPreconditionError("this MetadataStore is closed (close() was called, or its `with` block "
                                          "ended): open a new MetadataStore")
        bound = _BOUND.get()
        left = bound.seconds_left() if bound is not None else None
        # The driver retries a failed transaction (Neo4j unreachable, a deadlock) until then, not after.
        if left is None:
            session = self._driver.session(database=self._database, bookmark_manager=self._bookmarks,
                                           default_access_mode=access_mode)
        else:
            # The driver checks its retry time before each pause, not after, and its pauses grow
            # from 1 s by 2x: a 3 s bound held the caller ~7 s (pausing 1, 1.8, then 4.75 s).
            # Retrying for half the time left, pausing from an eighth of it by 1.5x, ends within it.
            # Opening a connection (a pool of dead ones after a Neo4j restart) waits no longer
            # than the time left either, not the store's whole connect_timeout.
            retry = max(0.0, min(left, self._retry_time))
            session = self._driver.session(database=self._database, bookmark_manager=self._bookmarks,
                                           default_access_mode=access_mode, max_transaction_retry_time=retry / 2,
                                           initial_retry_delay=min(1.0, retry / 8), retry_delay_multiplier=1.5,
                                           connection_acquisition_timeout=max(min(left, self._connect_timeout), 0.001))
        with _driver_guard.closed_on_exit(session):
            yield session

    def _unit(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return neo4j.unit_of_work(timeout=self._tx_timeout, metadata=self._tx_metadata)(fn)

    def _terminate_transactions(self, tag: str) -> int:
        """Have Neo4j terminate the running transactions started within a time_bound whose
        tag starts with ``tag``, in any thread: each rolls back unless it is committing,
        and its caller gets DeadlineExceededError. Returns how many were terminated.
        (Neo4j checks a transaction's own timeout only every couple of seconds; this ends
        it at once.)

        Raises:
            UnavailableError: Neo4j cannot be reached.
        """
        with map_driver_errors(self.settings.uri), self._driver.session(database=self._database) as session:
            return int(session.run(q.TERMINATE_TAGGED_TRANSACTIONS, tag=tag).single(strict=True)["terminated"])

    def _read(self, fn: Callable[[neo4j.ManagedTransaction], ResultT]) -> ResultT:
        """Run ``fn`` in one read transaction. A read's commit that loses its connection
        (one a Ctrl-C left half-used, say) is run again, once: a read changes nothing, so
        "took effect or not, unknown which" is no answer for it."""
        for attempt in range(2):
            try:
                with map_driver_errors(self.settings.uri), self._session() as session, _pipelined_begin(session):
                    return session.execute_read(self._unit(fn))
            except UnavailableError as error:
                if not error.commit_unknown:
                    raise
                if attempt:
                    raise UnavailableError(f"the connection to Neo4j at {self.settings.uri} was lost at the end of a "
                                           f"read, twice; a read changes nothing, so it can be run again "
                                           f"({error.__cause__})") from error.__cause__
                _log.debug("rerunning a read whose commit lost its connection: %s", error)
        raise AssertionError("unreachable")

    def _write(self, fn: Callable[[neo4j.ManagedTransaction], ResultT]) -> ResultT:
        """Run ``fn`` in one write transaction. A unique-key race with a concurrent writer
        (_Conflict) reruns it, so the rerun finds and reuses what the other one created.

        Neo4j losing the connection, or going down, once ``fn`` has run makes the outcome
        unknown: the commit may have happened (a stopping server can commit and still
        answer with an error). That UnavailableError says so with ``commit_unknown``.
        An interrupt (Ctrl-C) goes on as raised, with a note saying whether the write
        was rolled back or was committing."""
        for attempt in range(_MAX_CONFLICT_RETRIES):
            committing = False

            def unit(tx: neo4j.ManagedTransaction) -> ResultT:
                nonlocal committing
                try:
                    result = fn(tx)
                except neo4j_errors.ClientError as error:
                    if error.code != _ENTITY_GONE:
                        raise
                    # A node this call found was deleted (a prune) before the call could
                    # lock it: rerun, so the call sees it gone and answers as for a missing node.
                    raise _Conflict(InternalError(f"a node was deleted under this call: {error.message}")) from error
                committing = True  # the driver commits next; also on any earlier attempt
                return result

            try:
                with map_driver_errors(self.settings.uri), self._session() as session, _pipelined_begin(session):
                    return session.execute_write(self._unit(unit))
            except UnavailableError as error:
                if not committing or error.commit_unknown:
                    raise
                raise UnavailableError(f"{error.message}; this happened while committing, so the call took effect "
                                       "whole or not at all, unknown which: read back before retrying",
                                       commit_unknown=True) from error.__cause__
            except _Conflict as conflict:
                if attempt == _MAX_CONFLICT_RETRIES - 1:
                    raise conflict.error from None
                _log.debug("rerunning a write after a unique-key race: %s", conflict.error)
                time.sleep(0.005 * (attempt + 1))
            except BaseException as interrupt:  # Ctrl-C: its connection dropped (_session)
                if not isinstance(interrupt, Exception):
                    if committing:
                        _note_interrupt(interrupt, None, "graphmd: the interrupted call was committing its write: it "
                                        "took effect whole or not at all; read back before running it again")
                    else:
                        _note_interrupt(interrupt, False, _NOTHING_STORED)
                raise
        raise AssertionError("unreachable")

    def _write_nodes(self, plan: Callable[[_NodeWriter], ResultT]) -> ResultT:
        """Run ``plan`` with a _NodeWriter in one write transaction, then flush it.

        A call that creates nodes and reads nothing first is sent as one guarded
        auto-commit statement (_write_autocommit). Else, or should the server refuse that
        statement, it runs in a managed transaction: updates of nodes by id first compared
        and written on the server in the write statement (no read round trip); should that
        meet anything unusual (_SlowPath), the call is rerun reading and locking those
        nodes first, which raises the exact error."""
        modes: tuple[bool, ...] = (True, False)
        try:
            return self._write_autocommit(plan)
        except _NeedsTransaction:
            pass
        except _SlowPath:
            modes = (False,)
        for fast in modes:
            def work(tx: neo4j.ManagedTransaction) -> ResultT:
                writer = _NodeWriter(self, tx, _now_ms(), fast=fast)
                try:
                    result = writer.planned_by(plan)
                    writer.flush()
                    return writer.result(result)
                except BaseException:
                    writer.release_ids()  # the driver commits only after work returns
                    raise

            try:
                return self._write(work)
            except _SlowPath:
                _log.debug("rerunning a write reading its nodes first")
        raise AssertionError("unreachable")

    def _write_autocommit(self, plan: Callable[[_NodeWriter], ResultT]) -> ResultT:
        """Run ``plan`` as one auto-commit statement: the statement and its commit take one
        round trip, where a managed transaction takes two (~12% of a put_execution).

        The statement is guarded (q.write_planned): it fails on the server, so nothing of
        it stays, unless every check the client would make holds. Should its answer be
        lost (the connection drops, Neo4j stops), _settle_lost_write finds out whether it
        committed. That needs a node the call creates, whose id this store reserved.

        Raises:
            _NeedsTransaction: the call reads before it writes (a type not cached, nodes
                to lock), creates no node, or Neo4j refused the statement (rolled back:
                a check failed, a unique key was taken, a transient error): the managed
                path runs it, and raises the exact error.
            UnavailableError: the answer was lost and Neo4j could not be reached to
                find out whether the call committed (``commit_unknown``).
        """
        writer = _NodeWriter(self, _NO_TRANSACTION, _now_ms(), fast=True)
        try:
            with map_driver_errors(self.settings.uri):  # reserving ids is a round trip of its own
                result = writer.planned_by(plan)
            planned = writer.planned()
        except BaseException as interrupt:
            writer.release_ids()  # nothing was sent
            if not isinstance(interrupt, Exception):
                _note_interrupt(interrupt, False, _NOTHING_STORED)
            raise
        created = writer.a_created_node()
        if planned is None or created is None or writer.duplicate_event is not None:
            # An event given twice fails the call after the statement (check(), so that an
            # earlier event's missing node is reported first, as MLMD): only a transaction can
            # take that statement back.
            writer.release_ids()
            raise _NeedsTransaction()
        statement = q.write_planned(tuple(planned), guarded=True)
        call = os.urandom(8).hex()  # names the statement on the server, should it need stopping
        record: neo4j.Record | None
        with map_driver_errors(self.settings.uri):
            try:
                with self._session() as session:
                    answer = session.run(neo4j.Query(statement, timeout=self._tx_timeout,
                                                     metadata={**(self._tx_metadata or {}), "graphmd_call": call}),
                                         planned=planned)
                    record = answer.single(strict=True)
                    answer.consume()  # the commit's success, or its failure
            except (neo4j_errors.ClientError, neo4j_errors.TransientError) as error:
                if isinstance(error, neo4j_errors.DatabaseUnavailable):
                    record = self._settle_lost_write(writer, statement, planned, created, error)
                else:
                    writer.release_ids()
                    raise _NeedsTransaction() from error  # refused and rolled back
            except (neo4j_errors.DriverError, neo4j_errors.Neo4jError, OSError) as error:
                if isinstance(error, neo4j_errors.DriverError) and str(error) == "Driver closed":
                    raise
                if _raised_while_connecting(error):
                    # Nothing was sent: the managed path retries while Neo4j is unreachable,
                    # and a call that never reached it did not take effect.
                    writer.release_ids()
                    raise _NeedsTransaction() from error
                record = self._settle_lost_write(writer, statement, planned, created, error)
            except BaseException as interrupt:  # Ctrl-C; Exceptions are all handled above
                if not isinstance(interrupt, Exception):
                    self._stop_interrupted_write(call, created, interrupt)
                raise
        if record is not None:
            writer.check(record)
        return writer.result(result)

    def _stop_interrupted_write(self, call: str, created: tuple[str, int], interrupt: BaseException) -> None:
        """An auto-commit write was interrupted (Ctrl-C) once sent: Neo4j would go on and
        commit it. Stop it, wait until it has ended, and add a note to ``interrupt`` saying
        whether it was stored (whole: it was already committing) or not at all."""
        label, node_id = created
        try:
            with self._session() as session:
                session.run(q.TERMINATE_CALL, call=call).consume()
                deadline = time.monotonic() + 10
                while (session.run(q.CALL_RUNNING, call=call).single(strict=True)["running"]
                       and time.monotonic() < deadline):
                    time.sleep(0.05)
                stored = session.run(q.EXISTING_IDS[label], ids=[node_id]).single(strict=True)["ids"]
        except Exception as error:  # noqa: BLE001 - the interrupt goes on either way
            _note_interrupt(interrupt, None, f"graphmd: Neo4j could not be asked whether the interrupted call's write "
                                             f"was stored ({error}): it took effect whole or not at all; read back "
                                             "before running it again")
            return
        if stored:
            _note_interrupt(interrupt, True, "graphmd: the interrupted call's write had already been stored, whole: "
                                             "read it back rather than running it again")
        else:
            _note_interrupt(interrupt, False, _NOTHING_STORED)

    def _settle_lost_write(self, writer: _NodeWriter, statement: str, planned: dict[str, Any],
                           created: tuple[str, int], lost: Exception) -> neo4j.Record | None:
        """The answer to an auto-commit write was lost: it may have committed or not.
        Rerun the same statement (the same reserved ids) in a managed transaction, which
        retries while Neo4j is unreachable. Only one of the two can commit, as both create
        a node with the same id under a unique constraint (should the first still be
        running, the rerun waits for its locks). If the rerun is refused and ``created``
        is stored, the first committed. Returns the rerun's record, or None (and the
        merged contexts' ids noted) when the first committed.

        Raises:
            _NeedsTransaction: the rerun was refused and the first did not commit.
            UnavailableError: Neo4j stayed unreachable, or failed otherwise before it
                told (``commit_unknown``).
        """
        _log.debug("settling an auto-commit write whose answer was lost: %s", lost)
        try:
            try:
                with self._session() as session, _pipelined_begin(session):
                    return session.execute_write(
                        self._unit(lambda tx: tx.run(statement, planned=planned).single(strict=True)))
            except neo4j_errors.ClientError as error:
                refused: Exception = error
            label, node_id = created
            stored = self._read(lambda tx: tx.run(q.EXISTING_IDS[label], ids=[node_id]).single(strict=True)["ids"])
            if not stored:
                raise _NeedsTransaction() from refused
            for row in writer.merges:
                writer.merged_ids[row["id"]] = self._read(functools.partial(_context_id, type_id=row["type_id"],
                                                                            name=row["name"]))
            return None
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, GraphmdError, OSError) as error:
            raise UnavailableError(
                f"the connection to Neo4j at {self.settings.uri} was lost while a write was in flight ({lost}), and "
                f"Neo4j could not be reached to settle it ({error}): the call took effect whole or not at all, "
                "unknown which; read back before retrying", commit_unknown=True) from error

    def _reset_caches(self) -> None:
        """Forget cached types and reserved ids (after the database was wiped or restored)."""
        self._type_cache.clear()
        self._known_contexts.clear()
        self._ids.forget()

    # --- types ------------------------------------------------------------------------------

    def put_artifact_type(self, artifact_type: ArtifactType, can_add_fields: bool = False,
                          can_omit_fields: bool = False) -> int:
        """Insert an artifact type, or check it against the stored type of the same
        (name, version) and add new properties when ``can_add_fields``.

        Returns:
            The type's id.
        Raises:
            InvalidArgumentError: no name.
            AlreadyExistsError: the stored type differs (a property's kind changed, new
                properties without ``can_add_fields``, missing ones without ``can_omit_fields``).
            UnimplementedError: the stored type has a different base_type.
        """
        _check_type_class(artifact_type, ArtifactType, "artifact_type")
        return self._put_types([artifact_type], can_add_fields, can_omit_fields, ["artifact_type"])[0]

    def put_execution_type(self, execution_type: ExecutionType, can_add_fields: bool = False,
                           can_omit_fields: bool = False) -> int:
        """Insert or check an execution type; see put_artifact_type."""
        _check_type_class(execution_type, ExecutionType, "execution_type")
        return self._put_types([execution_type], can_add_fields, can_omit_fields, ["execution_type"])[0]

    def put_context_type(self, context_type: ContextType, can_add_fields: bool = False,
                         can_omit_fields: bool = False) -> int:
        """Insert or check a context type; see put_artifact_type."""
        _check_type_class(context_type, ContextType, "context_type")
        return self._put_types([context_type], can_add_fields, can_omit_fields, ["context_type"])[0]

    def put_types(self, artifact_types: Sequence[ArtifactType] = (), execution_types: Sequence[ExecutionType] = (),
                  context_types: Sequence[ContextType] = (), *, can_add_fields: bool = False,
                  can_omit_fields: bool = False) -> tuple[list[int], list[int], list[int]]:
        """Insert or check several types in one transaction; see put_artifact_type.

        Returns:
            (artifact type ids, execution type ids, context type ids).
        """
        for name, given, cls in (("artifact_types", artifact_types, ArtifactType),
                                 ("execution_types", execution_types, ExecutionType),
                                 ("context_types", context_types, ContextType)):
            _require_list(given, name, cls.__name__)
            for i, t in enumerate(given):
                _check_type_class(t, cls, f"{name}[{i}]")
        fields = [f"{name}[{i}]" for name, given in (("artifact_types", artifact_types),
                                                     ("execution_types", execution_types),
                                                     ("context_types", context_types)) for i in range(len(given))]
        ids = self._put_types([*artifact_types, *execution_types, *context_types], can_add_fields, can_omit_fields,
                              fields)
        a, e = len(artifact_types), len(execution_types)
        return ids[:a], ids[a : a + e], ids[a + e :]

    def _put_types(self, types: list[AnyType], can_add_fields: bool, can_omit_fields: bool,
                   fields: list[str]) -> list[int]:
        """Insert or check ``types``, each named ``fields[i]`` in errors (as the caller passed it)."""
        for t, field in zip(types, fields, strict=True):  # each checked by _check_type_class
            if not t.name:
                raise InvalidArgumentError(f"{field}.name: no type name is specified", field=f"{field}.name")
            for attr in ("name", "version", "external_id"):
                codec.check_text(getattr(t, attr), f"{field}.{attr}", indexed=True)
            codec.check_text(t.description, f"{field}.description")
            for name in t.properties:
                codec.check_property_name(name, f"{field}.properties")
            base = getattr(t, "base_type", None)
            if base is not None and not t.version and t.name == f"mlmd.{base.value.title()}":
                raise InvalidArgumentError(f"{field}.base_type: {t.name!r} is the system type {base.value} names; a "
                                           "type cannot be its own base type (MLMD: a cycle)", field=f"{field}.base_type")
            if isinstance(t, ExecutionType):  # as the model checks them: model_copy skips that
                for attr in ("input_type", "output_type"):
                    value = getattr(t, attr)
                    if value is not None and (problem := artifact_struct_type_problem(value)):
                        raise InvalidArgumentError(f"{field}.{attr}: {problem}", field=f"{field}.{attr}")
        if not types:
            return []

        def work(tx: neo4j.ManagedTransaction) -> list[int]:
            ids: list[int] = []
            created: dict[tuple[str, str, str], AnyType] = {}
            for given, field in zip(types, fields, strict=True):
                kind = _KIND[type(given)]
                key = (kind, given.name, given.version or "")
                stored = created.get(key) or self._find_type(tx, kind, given.name, given.version)
                if stored is None:
                    new_id = self._ids.allocate("Type", 1)[0]
                    new = given.model_copy(update={"id": new_id, "version": given.version or None})
                    try:
                        tx.run(q.CREATE_TYPES[kind], rows=[codec.encode_type(new)]).consume()
                    except neo4j_errors.ConstraintError as error:
                        if _taken_id(error):
                            self._ids.forget()  # a block reserved before a reset and import: see _constraint_error
                            raise _Conflict(unique_clash(error)) from error
                        if "`name`" not in (error.message or ""):
                            raise _clash_at(error, field) from error  # an external_id taken by another type
                        # A concurrent writer created the type first: rerun to check against it.
                        raise _Conflict(AlreadyExistsError(f"{field}.name: {kind} {given.name!r} was created "
                                                           "concurrently", field=f"{field}.name")) from error
                    created[key] = new
                    ids.append(new_id)
                    continue
                merged = _merge_type(stored, given, can_add_fields, can_omit_fields, field)
                if merged != stored and key not in created:
                    # Read under the type's lock: a concurrent change may have committed since.
                    stored = codec.decode_type(tx.run(q.LOCK_TYPE, id=stored.id).single(strict=True)["t"])
                    merged = _merge_type(stored, given, can_add_fields, can_omit_fields, field)
                if merged != stored:
                    try:
                        tx.run(q.UPDATE_TYPES, rows=[codec.encode_type(merged)]).consume()
                    except neo4j_errors.ConstraintError as error:
                        raise _clash_at(error, field) from error
                    created[key] = merged
                ids.append(stored_id(stored))
            return ids

        ids = self._write(work)
        self._type_cache.clear()
        return ids

    @staticmethod
    def _find_type(tx: neo4j.ManagedTransaction, kind: str, name: str, version: str | None) -> AnyType | None:
        record = tx.run(q.TYPES_BY_NAME_AND_VERSION, kind=kind,
                        keys=[{"name": name, "version_key": version or ""}]).single()
        return codec.decode_type(record["t"]) if record else None

    def _get_type(self, cls: type[TypeT], name: str, version: str | None) -> TypeT:
        _check_str(name, "type_name")
        _check_str(version, "type_version", optional=True)
        kind = _KIND[cls]
        found = self._read(lambda tx: self._find_type(tx, kind, name, version))
        if not isinstance(found, cls):  # None: the query reads types of this kind only
            suffix = f" and version {version!r}" if version else " without a version"
            versions = self._read(lambda tx: [r["version"] for r in tx.run(q.TYPE_VERSIONS, kind=kind, name=name)])
            if not versions:
                names = {t.name for t in self._types(kind, q.TYPES_ALL)}
                close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
                hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
                raise NotFoundError(f"no {kind} named {name!r}{hint}", field="type_name")
            has = ", ".join(repr(v) if v else "unversioned" for v in versions)
            raise NotFoundError(f"no {kind} named {name!r}{suffix}; that name has {has} (type_version names one)",
                                field="type_version")
        return found

    def get_artifact_type(self, type_name: str, type_version: str | None = None) -> ArtifactType:
        """The artifact type with this name (and version; None: the unversioned one).

        Raises:
            InvalidArgumentError: the name or version is not a string.
            NotFoundError: there is none.
        """
        return self._get_type(ArtifactType, type_name, type_version)

    def get_execution_type(self, type_name: str, type_version: str | None = None) -> ExecutionType:
        """The execution type with this name and version; see get_artifact_type."""
        return self._get_type(ExecutionType, type_name, type_version)

    def get_context_type(self, type_name: str, type_version: str | None = None) -> ContextType:
        """The context type with this name and version; see get_artifact_type."""
        return self._get_type(ContextType, type_name, type_version)

    def _types(self, kind: str, query: str, **params: Any) -> list[Any]:
        return self._read(lambda tx: [codec.decode_type(r["t"]) for r in tx.run(query, kind=kind, **params)])

    def _all_types(self, kind: str, include_system_types: bool) -> list[Any]:
        types = self._types(kind, q.TYPES_ALL)
        if include_system_types:
            return types
        system = SIMPLE_TYPES.get(kind, [])
        return [t for t in types if t.name not in system]

    def get_artifact_types(self, *, include_system_types: bool = False) -> list[ArtifactType]:
        """Every artifact type, by id. As in MLMD, its system types (mlmd.Dataset, mlmd.Model...,
        which base_type refers to) are left out unless ``include_system_types``."""
        return self._all_types("ArtifactType", include_system_types)

    def get_execution_types(self, *, include_system_types: bool = False) -> list[ExecutionType]:
        """Every execution type, by id; MLMD's system types (mlmd.Train...) only if asked."""
        return self._all_types("ExecutionType", include_system_types)

    def get_context_types(self) -> list[ContextType]:
        """Every context type, by id."""
        return self._types("ContextType", q.TYPES_ALL)

    def get_artifact_types_by_id(self, type_ids: Iterable[int]) -> list[ArtifactType]:
        """The artifact types with these ids, in the order asked (an id asked twice, twice), as
        ml-metadata returns them; unknown ids (or ids of other kinds) are skipped."""
        return self._types_in_order("ArtifactType", type_ids)

    def get_execution_types_by_id(self, type_ids: Iterable[int]) -> list[ExecutionType]:
        """The execution types with these ids, in the order asked; unknown ids are skipped."""
        return self._types_in_order("ExecutionType", type_ids)

    def get_context_types_by_id(self, type_ids: Iterable[int]) -> list[ContextType]:
        """The context types with these ids, in the order asked; unknown ids are skipped."""
        return self._types_in_order("ContextType", type_ids)

    def _types_in_order(self, kind: str, type_ids: Iterable[int]) -> list[Any]:
        ids = codec.id_list(type_ids, "type_ids")
        found = {t.id: t for t in self._types(kind, q.TYPES_BY_ID, ids=list(dict.fromkeys(ids)))}
        return [found[i] for i in ids if i in found]

    def get_artifact_types_by_external_ids(self, external_ids: Iterable[str]) -> list[ArtifactType]:
        """The artifact types with these external ids; unknown ones are skipped."""
        return self._types("ArtifactType", q.TYPES_BY_EXTERNAL_ID, external_ids=_text_list(external_ids, "external_ids"))

    def get_execution_types_by_external_ids(self, external_ids: Iterable[str]) -> list[ExecutionType]:
        """The execution types with these external ids; unknown ones are skipped."""
        return self._types("ExecutionType", q.TYPES_BY_EXTERNAL_ID, external_ids=_text_list(external_ids, "external_ids"))

    def get_context_types_by_external_ids(self, external_ids: Iterable[str]) -> list[ContextType]:
        """The context types with these external ids; unknown ones are skipped."""
        return self._types("ContextType", q.TYPES_BY_EXTERNAL_ID, external_ids=_text_list(external_ids, "external_ids"))

    def _types_by_id(self, tx: _Transaction, kind: str, ids: set[int], *, fresh: bool = False) -> dict[int, AnyType]:
        """Types by id, from the cache unless ``fresh``; missing ids are absent."""
        found = {} if fresh else {i: self._type_cache[i] for i in ids if i in self._type_cache}
        missing = [i for i in ids if i not in found]
        if missing:
            for record in tx.run(q.TYPES_BY_ID, kind=kind, ids=missing):
                props = record["t"]
                found[props["id"]] = self._type_cache[props["id"]] = codec.decode_type(props)
        return {i: t for i, t in found.items() if _KIND[type(t)] == kind}

    # --- nodes: writes ----------------------------------------------------------------------

    def put_artifacts(self, artifacts: Sequence[Artifact], field_mask_paths: Sequence[str] | None = None, *,
                      update_mask: Sequence[str] | None = None,
                      abort_if_latest_updated_time_changed: bool = False) -> list[int]:
        """Insert artifacts without an id; update those with one.

        An update replaces the artifact's uri, state, external_id and properties (its name
        is fixed at creation, as in MLMD); with ``update_mask`` (paths such as ``uri``,
        ``properties.accuracy``, ``custom_properties``; paths naming no field are ignored, as
        in MLMD) only the named fields change. ``last_update_time_since_epoch`` changes only
        when the given artifact differs from the stored one; as in ml-metadata 1.17.1, a
        field outside the mask that differs counts, though it is not written.
        ``field_mask_paths`` is the same mask under ml-metadata's Python name for it.

        Returns:
            The artifacts' ids, in order.
        Raises:
            InvalidArgumentError: no type_id on a new artifact, a property unknown to the type
                or of the wrong kind, an id that does not exist, a type_id that differs from
                the stored one, ``update_mask`` given as one string, or with
                ``field_mask_paths`` too.
            NotFoundError: the type does not exist.
            AlreadyExistsError: the (type, name) or external_id is taken.
            FailedPreconditionError: ``abort_if_latest_updated_time_changed`` and the stored
                artifact's last_update_time_since_epoch differs from the given one.
        """
        return self._put_nodes(Artifact, artifacts, _mask(update_mask, field_mask_paths),
                               abort_if_changed=abort_if_latest_updated_time_changed)

    def put_executions(self, executions: Sequence[Execution], field_mask_paths: Sequence[str] | None = None, *,
                       update_mask: Sequence[str] | None = None) -> list[int]:
        """Insert executions without an id; update those with one; see put_artifacts."""
        return self._put_nodes(Execution, executions, _mask(update_mask, field_mask_paths))

    def put_contexts(self, contexts: Sequence[Context], field_mask_paths: Sequence[str] | None = None, *,
                     update_mask: Sequence[str] | None = None) -> list[int]:
        """Insert contexts without an id; update those with one; see put_artifacts.

        Raises also InvalidArgumentError for an empty name (contexts need one).
        """
        return self._put_nodes(Context, contexts, _mask(update_mask, field_mask_paths))

    def _put_nodes(self, cls: type[NodeT], nodes: Sequence[NodeT], update_mask: Sequence[str] | None,
                   *, abort_if_changed: bool = False) -> list[int]:
        plural = _PLURAL[cls]
        _check_nodes(cls, nodes, plural)
        mask = _parse_mask(cls, update_mask)
        if not nodes:
            return []

        return self._write_nodes(lambda writer: writer.upsert(cls, list(nodes), plural, mask=mask,
                                                              abort_if_changed=abort_if_changed))

    def put_events(self, events: Sequence[Event]) -> None:
        """Insert events.

        Raises:
            InvalidArgumentError: ``events`` not a list (a generator is refused); an event
                without artifact_id, execution_id or type, or naming an artifact or execution
                that does not exist.
            AlreadyExistsError: an event of that type already links that artifact and
                execution.
        """
        _require_list(events, "events", "Events")
        for i, event in enumerate(events):
            _check_event(event, f"events[{i}]")
        if not events:
            return

        def work(tx: neo4j.ManagedTransaction) -> None:
            writer = _NodeWriter(self, tx, _now_ms())
            writer.require("Artifact", [e.artifact_id for e in events], "events[].artifact_id")
            writer.require("Execution", [e.execution_id for e in events], "events[].execution_id")
            writer.events.extend((e, e.artifact_id, e.execution_id) for e in events)
            writer.flush()

        self._write(work)

    def put_execution(
        self,
        execution: Execution,
        artifact_and_events: Sequence[ArtifactAndEvent | tuple[Artifact | None, Event | None]] | None = (),
        contexts: Sequence[Context] | None = (),
        reuse_context_if_already_exist: bool = False,
        reuse_artifact_if_already_exist_by_external_id: bool = False,
        force_reuse_context: bool = False,
        force_update_time: bool = False,
        *,
        contexts_need_type_id: bool = False,
    ) -> PutExecutionResult:
        """Record one step atomically: upsert the execution, its artifacts, the events between
        them, its contexts, and link everything to every context.

        Args:
            artifact_and_events: pairs of an artifact to upsert and the event linking it to
                the execution; the event's execution_id is filled in (and artifact_id, from
                the artifact).
            reuse_context_if_already_exist: a context without id whose (type, name) exists
                is reused instead of raising AlreadyExistsError; safe against concurrent
                callers creating the same context. A new context given twice is created once.
            reuse_artifact_if_already_exist_by_external_id: an artifact without id whose
                external_id exists, or is an earlier new artifact's in the call, updates
                that artifact (as MLMD, which upserts them one by one).
            force_reuse_context: a context with an id is linked as it is stored, not updated.
            force_update_time: bump the execution's last_update_time even if unchanged.
            contexts_need_type_id: MLMD's rule that every context names its type_id, one
                given by id too (InvalidArgumentError otherwise, in its turn among the
                contexts); without it a context given by id may leave type_id out (its
                stored type is kept), though it still needs its name unless
                force_reuse_context is set, which links it by id alone. `graphmd serve`
                sets it.

        Returns:
            PutExecutionResult(execution_id, artifact_ids, context_ids).
        Raises:
            InvalidArgumentError, NotFoundError, AlreadyExistsError: as put_artifacts and
                put_events, for any part of the request; nothing is stored then.
        """
        _require_instance(execution, Execution, "execution")
        # None for either is none, as ml-metadata's client takes contexts=None.
        contexts = () if contexts is None else contexts
        artifact_and_events = () if artifact_and_events is None else artifact_and_events
        if not isinstance(artifact_and_events, Iterable) or isinstance(artifact_and_events, (str, bytes, BaseModel)):
            raise InvalidArgumentError("artifact_and_events: a list of ArtifactAndEvents or (artifact, event) pairs is "
                                       f"expected, not {type(artifact_and_events).__name__}", field="artifact_and_events")
        pairs = [_artifact_and_event(p, f"artifact_and_events[{i}]") for i, p in enumerate(artifact_and_events)]
        _check_nodes(Execution, [execution], "execution", lambda _: "execution")
        given = [i for i, p in enumerate(pairs) if p.artifact is not None]
        _check_nodes(Artifact, [pairs[i].artifact for i in given], "artifact_and_events",
                     lambda n: f"artifact_and_events[{given[n]}].artifact")
        _check_nodes(Context, contexts, "contexts")

        def check_events() -> None:
            for i, pair in enumerate(pairs):
                if pair.event is None:
                    continue
                f = f"artifact_and_events[{i}].event"
                if pair.event.execution_id is not None and execution.id is not None \
                        and pair.event.execution_id != execution.id:
                    raise InvalidArgumentError(f"{f}.execution_id does not match the execution's id",
                                               field=f"{f}.execution_id")
                if pair.event.execution_id is not None and execution.id is None:
                    raise InvalidArgumentError(f"{f}.execution_id is set but the execution is new",
                                               field=f"{f}.execution_id")
                if pair.artifact is not None:
                    if pair.event.artifact_id is not None and pair.event.artifact_id != pair.artifact.id:
                        raise InvalidArgumentError(f"{f}.artifact_id is not aligned with the artifact",
                                                   field=f"{f}.artifact_id")
                elif pair.event.artifact_id is None:
                    raise InvalidArgumentError(f"{f}: an event without an artifact must have an artifact_id",
                                               field=f"{f}.artifact_id")
                if pair.event.type is None:
                    raise InvalidArgumentError(f"{f}.type: no event type is specified", field=f"{f}.type")
                _check_event_numbers(pair.event, f)

        def plan(writer: _NodeWriter) -> PutExecutionResult:
            # MLMD's order, so that a request with several faults fails on the same one: the
            # artifacts, the execution, then the events, then the contexts.
            with_artifact = [i for i, p in enumerate(pairs) if p.artifact is not None]
            artifact_ids = writer.upsert(
                Artifact, [p.artifact for p in pairs if p.artifact is not None], "artifact_and_events",
                field_of=lambda n: f"artifact_and_events[{with_artifact[n]}].artifact",
                reuse_by_external_id=reuse_artifact_if_already_exist_by_external_id, one_by_one=True)
            id_of_pair = dict(zip(with_artifact, artifact_ids))
            (execution_id,) = writer.upsert(Execution, [execution], "execution", force_update_time=force_update_time,
                                            field_of=lambda _: "execution")
            check_events()
            result_artifact_ids: list[int] = []
            with_event = [i for i, pair in enumerate(pairs) if pair.event is not None]
            writer.event_field = lambda n: f"artifact_and_events[{with_event[n]}].event"
            for i, pair in enumerate(pairs):
                if pair.artifact is not None:
                    aid = id_of_pair[i]
                elif pair.event is not None and pair.event.artifact_id is not None:  # checked above
                    aid = pair.event.artifact_id
                else:
                    aid = -1
                result_artifact_ids.append(aid)
                if pair.event is not None:
                    writer.events.append((pair.event, aid, execution_id))
            needs_check = [p.event.artifact_id if p.artifact is None and p.event is not None else None for p in pairs]
            writer.require("Artifact", needs_check, "artifact_and_events[].event.artifact_id")
            typeless = next((i for i, c in enumerate(contexts) if c.type_id is None), None) \
                if contexts_need_type_id else None
            if typeless is not None:  # MLMD upserts the contexts one by one: those before it fail first
                writer.upsert_contexts_for_linking(list(contexts[:typeless]), reuse_context_if_already_exist,
                                                   force_reuse_context)
                raise InvalidArgumentError(f"contexts[{typeless}]: Context is missing a type_id",
                                           field=f"contexts[{typeless}].type_id")
            context_ids = writer.upsert_contexts_for_linking(list(contexts), reuse_context_if_already_exist,
                                                             force_reuse_context)
            linked_artifacts = sorted({a for a in result_artifact_ids if a != -1})
            for cid in dict.fromkeys(context_ids):
                writer.associations.append((cid, execution_id))
                writer.attributions.extend((cid, aid) for aid in linked_artifacts)
            return PutExecutionResult(execution_id, result_artifact_ids, context_ids)

        return self._write_nodes(plan)

    def put_lineage_subgraph(
        self,
        executions: Sequence[Execution] = (),
        artifacts: Sequence[Artifact] = (),
        contexts: Sequence[Context] = (),
        event_edges: Sequence[EventEdge | tuple[int | None, int | None, Event]] = (),
        reuse_context_if_already_exist: bool = False,
        reuse_artifact_if_already_exist_by_external_id: bool = False,
    ) -> PutLineageSubgraphResult:
        """Upsert executions, artifacts and contexts, link every node to every context, and
        insert the events between them, in one transaction.

        An edge (an EventEdge, or ml-metadata's (execution_index, artifact_index, event)
        triple) names its ends by index into ``executions``/``artifacts`` or by id in its
        event (both given: they must agree). Every node names its type_id, an update too
        (as in MLMD).

        Returns:
            PutLineageSubgraphResult(execution_ids, artifact_ids, context_ids).
        Raises:
            OutOfRangeError: an index outside its list.
            InvalidArgumentError: a node without type_id; else as the other puts.
            NotFoundError, AlreadyExistsError: as the other puts.
        """
        _check_nodes(Execution, executions, "executions")
        _check_nodes(Artifact, artifacts, "artifacts")
        _check_nodes(Context, contexts, "contexts")
        n_executions, n_artifacts = len(executions), len(artifacts)
        # A batch has thousands of edges: a field name is built only for one that is no EventEdge.
        edges = [e if isinstance(e, EventEdge) else _event_edge(e, f"event_edges[{i}]") for i, e in enumerate(event_edges)]
        for i, edge in enumerate(edges):
            if not _plain_event_edge(edge, n_executions, n_artifacts):
                _check_event_edge_fully(edge, i, executions, artifacts)

        def plan(writer: _NodeWriter) -> PutLineageSubgraphResult:
            writer.check_before_writing([(Artifact, artifacts, "artifacts"), (Execution, executions, "executions"),
                                         (Context, contexts, "contexts")])
            context_ids = writer.upsert(Context, list(contexts), "contexts",
                                        reuse_context=reuse_context_if_already_exist)
            artifact_ids = writer.upsert(Artifact, list(artifacts), "artifacts",
                                         reuse_by_external_id=reuse_artifact_if_already_exist_by_external_id)
            execution_ids = writer.upsert(Execution, list(executions), "executions")
            _check_event_edge_types(edges)  # MLMD: after the nodes, when it writes the events
            for cid in dict.fromkeys(context_ids):
                writer.associations.extend((cid, x) for x in dict.fromkeys(execution_ids))
                writer.attributions.extend((cid, a) for a in dict.fromkeys(artifact_ids))
            writer.event_field = lambda n: f"event_edges[{n}].event"
            for edge in edges:
                event = edge.event
                writer.events.append((event, _edge_end(event.artifact_id, edge.artifact_index, artifact_ids),
                                      _edge_end(event.execution_id, edge.execution_index, execution_ids)))
            new_artifacts, new_executions = set(artifact_ids), set(execution_ids)
            writer.require("Artifact", [None if a in new_artifacts else a for _, a, _ in writer.events],
                           "event_edges[].event.artifact_id")
            writer.require("Execution", [None if x in new_executions else x for _, _, x in writer.events],
                           "event_edges[].event.execution_id")
            return PutLineageSubgraphResult(execution_ids, artifact_ids, context_ids)

        return self._write_nodes(plan)

    def put_attributions_and_associations(self, attributions: Sequence[Attribution] = (),
                                          associations: Sequence[Association] = ()) -> None:
        """Link artifacts (attributions) and executions (associations) to contexts.
        Links that already exist are left as they are.

        Raises:
            InvalidArgumentError: either argument not a list (a generator is refused); a
                context, artifact or execution id that does not exist.
        """
        _check_link_ids("attributions", attributions, Attribution)
        _check_link_ids("associations", associations, Association)
        if not attributions and not associations:
            return

        def work(tx: neo4j.ManagedTransaction) -> None:
            writer = _NodeWriter(self, tx, _now_ms())
            writer.require("Context", [a.context_id for a in attributions], "attributions[].context_id")
            writer.require("Context", [a.context_id for a in associations], "associations[].context_id")
            writer.require("Artifact", [a.artifact_id for a in attributions], "attributions[].artifact_id")
            writer.require("Execution", [a.execution_id for a in associations], "associations[].execution_id")
            writer.attributions.extend((a.context_id, a.artifact_id) for a in attributions)
            writer.associations.extend((a.context_id, a.execution_id) for a in associations)
            writer.flush()

        self._write(work)

    def put_parent_contexts(self, parent_contexts: Sequence[ParentContext]) -> None:
        """Make contexts children of other contexts.

        Raises:
            InvalidArgumentError: ``parent_contexts`` not a list (a generator is refused); a
                context id that does not exist, or a link that would make a cycle (a context
                its own ancestor).
            AlreadyExistsError: the link exists already (or is given twice).
        """
        _check_link_ids("parent_contexts", parent_contexts, ParentContext)
        if not parent_contexts:
            return
        rows = [{"child_id": p.child_id, "parent_id": p.parent_id} for p in parent_contexts]
        seen: set[tuple[int, int]] = set()
        twice: AlreadyExistsError | None = None
        for i, row in enumerate(rows):
            key = (row["child_id"], row["parent_id"])
            if key in seen:
                # MLMD puts the links in order: those before this one are checked (unknown
                # contexts, cycles) before it fails on it.
                twice = AlreadyExistsError(f"parent_contexts[{i}]: the link {key} is given twice",
                                           field=f"parent_contexts[{i}]")
                rows = rows[:i]
                break
            seen.add(key)

        def work(tx: neo4j.ManagedTransaction) -> None:
            # Concurrent calls take turns (q.LOCK_PARENT_LINKS), so the later one sees the
            # first's links: of calls putting one link, one succeeds and the rest raise
            # AlreadyExistsError; a cycle closed by two calls is found by the second.
            tx.run(q.LOCK_PARENT_LINKS).consume()
            wanted = list({r[end] for r in rows for end in ("child_id", "parent_id")})
            found = set(tx.run(q.EXISTING_IDS["Context"], ids=wanted).single(strict=True)["ids"])
            for i, row in enumerate(rows):
                for end in ("child_id", "parent_id"):
                    if row[end] not in found:
                        field = f"parent_contexts[{i}].{end}"
                        raise InvalidArgumentError(f"{field}: no context with id {row[end]}", field=field)
            existing = tx.run(q.EXISTING_PARENT_LINKS, rows=rows).data()
            if existing:
                field = f"parent_contexts[{rows.index(existing[0])}]"
                raise AlreadyExistsError(f"{field}: the link {existing[0]} already exists", field=field)
            tx.run(q.CREATE_PARENT_LINKS, rows=rows).consume()
            cyclic = tx.run(q.CONTEXTS_IN_CYCLES, rows=rows).single(strict=True)["ids"]
            if cyclic:
                at = next((i for i, r in enumerate(rows) if cyclic[0] in (r["child_id"], r["parent_id"])), None)
                field = "parent_contexts" if at is None else f"parent_contexts[{at}]"
                raise InvalidArgumentError(f"{field}: a cycle through context {cyclic[0]} would be made", field=field)
            if twice is not None:
                raise twice  # rolls back the links before it

        self._write(work)

    # --- nodes: reads -----------------------------------------------------------------------

    def _nodes(self, cls: type[NodeT], query: str, **params: Any) -> list[NodeT]:
        return self._read(lambda tx: [codec.decode_node(cls, r["n"]) for r in tx.run(query, **params)])

    def get_artifacts_by_id(self, artifact_ids: Iterable[int]) -> list[Artifact]:
        """The artifacts with these ids, by id; unknown ids are skipped.

        Raises:
            InvalidArgumentError: an id that is not an integer (naming its position).
        """
        return self._nodes(Artifact, q.NODES_BY_ID["Artifact"], ids=codec.id_list(artifact_ids, "artifact_ids"))

    def get_executions_by_id(self, execution_ids: Iterable[int]) -> list[Execution]:
        """The executions with these ids, by id; unknown ids are skipped.

        Raises:
            InvalidArgumentError: an id that is not an integer (naming its position).
        """
        return self._nodes(Execution, q.NODES_BY_ID["Execution"], ids=codec.id_list(execution_ids, "execution_ids"))

    def get_contexts_by_id(self, context_ids: Iterable[int]) -> list[Context]:
        """The contexts with these ids, by id; unknown ids are skipped.

        Raises:
            InvalidArgumentError: an id that is not an integer (naming its position).
        """
        return self._nodes(Context, q.NODES_BY_ID["Context"], ids=codec.id_list(context_ids, "context_ids"))

    def get_artifacts_and_types_by_artifact_ids(self, artifact_ids: Iterable[int]) -> tuple[list[Artifact], list[ArtifactType]]:
        """The artifacts with these ids and their (distinct) types."""
        artifacts = self.get_artifacts_by_id(artifact_ids)
        return artifacts, self.get_artifact_types_by_id(sorted({a.type_id for a in artifacts if a.type_id is not None}))

    def get_artifacts_by_external_ids(self, external_ids: Iterable[str]) -> list[Artifact]:
        """The artifacts with these external ids; unknown ones are skipped."""
        return self._nodes(Artifact, q.NODES_BY_EXTERNAL_ID["Artifact"], external_ids=_text_list(external_ids, "external_ids"))

    def get_executions_by_external_ids(self, external_ids: Iterable[str]) -> list[Execution]:
        """The executions with these external ids; unknown ones are skipped."""
        return self._nodes(Execution, q.NODES_BY_EXTERNAL_ID["Execution"], external_ids=_text_list(external_ids, "external_ids"))

    def get_contexts_by_external_ids(self, external_ids: Iterable[str]) -> list[Context]:
        """The contexts with these external ids; unknown ones are skipped."""
        return self._nodes(Context, q.NODES_BY_EXTERNAL_ID["Context"], external_ids=_text_list(external_ids, "external_ids"))

    def get_artifacts_by_uri(self, uri: str | Iterable[str]) -> list[Artifact]:
        """The artifacts stored at this uri (or any of these uris), by id."""
        if isinstance(uri, str):
            _check_str(uri, "uri")
            uris = [uri]
        else:
            uris = _text_list(uri, "uri")
        return self._nodes(Artifact, q.ARTIFACTS_BY_URI, uris=uris)

    def _by_type_and_name(self, cls: type[NodeT], type_name: str, name: str, type_version: str | None) -> NodeT | None:
        _check_str(type_name, "type_name")
        _check_str(name, f"{_LABEL[cls].lower()}_name")
        _check_str(type_version, "type_version", optional=True)
        kind = _KIND[_TYPE_CLASS[cls]]

        def work(tx: neo4j.ManagedTransaction) -> NodeT | None:
            t = self._find_type(tx, kind, type_name, type_version)
            if t is None:
                return None
            record = tx.run(q.NODE_BY_TYPE_AND_NAME[_LABEL[cls]], type_id=t.id, name=name).single()
            return codec.decode_node(cls, record["n"]) if record else None

        return self._read(work)

    def get_artifact_by_type_and_name(self, type_name: str, artifact_name: str,
                                      type_version: str | None = None) -> Artifact | None:
        """The artifact of this type with this name, or None."""
        return self._by_type_and_name(Artifact, type_name, artifact_name, type_version)

    def get_execution_by_type_and_name(self, type_name: str, execution_name: str,
                                       type_version: str | None = None) -> Execution | None:
        """The execution of this type with this name, or None."""
        return self._by_type_and_name(Execution, type_name, execution_name, type_version)

    def get_context_by_type_and_name(self, type_name: str, context_name: str,
                                     type_version: str | None = None) -> Context | None:
        """The context of this type with this name, or None."""
        return self._by_type_and_name(Context, type_name, context_name, type_version)

    def get_artifacts(self, list_options: ListOptions | None = None) -> list[Artifact]:
        """Artifacts, all of them or as ``list_options`` filter, order and limit them."""
        return self._list_all(Artifact, list_options, q.LIST_SCOPE_ALL["Artifact"], {})

    def get_executions(self, list_options: ListOptions | None = None) -> list[Execution]:
        """Executions, all or as ``list_options`` say; see get_artifacts."""
        return self._list_all(Execution, list_options, q.LIST_SCOPE_ALL["Execution"], {})

    def get_contexts(self, list_options: ListOptions | None = None) -> list[Context]:
        """Contexts, all or as ``list_options`` say; see get_artifacts."""
        return self._list_all(Context, list_options, q.LIST_SCOPE_ALL["Context"], {})

    def _scope_type(self, cls: type[AnyNode], type_name: str, type_version: str | None) -> int | None:
        _check_str(type_name, "type_name")
        _check_str(type_version, "type_version", optional=True)
        t = self._read(lambda tx: self._find_type(tx, _KIND[_TYPE_CLASS[cls]], type_name, type_version))
        return None if t is None else t.id

    def get_artifacts_by_type(self, type_name: str, type_version: str | None = None,
                              list_options: ListOptions | None = None) -> list[Artifact]:
        """Artifacts of this type (empty when the type does not exist)."""
        return self._list_by_type(Artifact, type_name, type_version, list_options)

    def get_executions_by_type(self, type_name: str, type_version: str | None = None,
                               list_options: ListOptions | None = None) -> list[Execution]:
        """Executions of this type (empty when the type does not exist)."""
        return self._list_by_type(Execution, type_name, type_version, list_options)

    def get_contexts_by_type(self, type_name: str, type_version: str | None = None,
                             list_options: ListOptions | None = None) -> list[Context]:
        """Contexts of this type (empty when the type does not exist)."""
        return self._list_by_type(Context, type_name, type_version, list_options)

    def _list_by_type(self, cls: type[NodeT], type_name: str, type_version: str | None,
                      list_options: ListOptions | None) -> list[NodeT]:
        type_id = self._scope_type(cls, type_name, type_version)
        if type_id is None:
            return []
        return self._list_all(cls, list_options, q.LIST_SCOPE_TYPE[_LABEL[cls]],
                              {"scope_type_id": type_id, "scope_type_name": type_name})

    def get_artifacts_by_context(self, context_id: int, list_options: ListOptions | None = None) -> list[Artifact]:
        """Artifacts attributed to the context."""
        return self._list_all(Artifact, list_options, q.LIST_SCOPE_CONTEXT["Artifact"], {"scope_context_id": codec.as_id(context_id, "context_id")})

    def get_executions_by_context(self, context_id: int, list_options: ListOptions | None = None) -> list[Execution]:
        """Executions associated with the context; without ``list_options``, newest first
        (by create time, then id), as ml-metadata's Python client orders them."""
        if list_options is None:
            list_options = ListOptions(order_by=OrderBy.CREATE_TIME, is_asc=False)
        return self._list_all(Execution, list_options, q.LIST_SCOPE_CONTEXT["Execution"], {"scope_context_id": codec.as_id(context_id, "context_id")})

    def get_contexts_by_artifact(self, artifact_id: int) -> list[Context]:
        """Contexts the artifact is attributed to, by id."""
        return self._nodes(Context, q.CONTEXTS_BY_ARTIFACT, id=codec.as_id(artifact_id, "artifact_id"))

    def get_contexts_by_execution(self, execution_id: int) -> list[Context]:
        """Contexts the execution is associated with, by id."""
        return self._nodes(Context, q.CONTEXTS_BY_EXECUTION, id=codec.as_id(execution_id, "execution_id"))

    def get_parent_contexts_by_context(self, context_id: int) -> list[Context]:
        """The context's parents, by id."""
        context_id = codec.as_id(context_id, "context_id")
        return self.get_parent_contexts_by_contexts([context_id]).get(context_id, [])

    def get_children_contexts_by_context(self, context_id: int) -> list[Context]:
        """The context's children, by id."""
        context_id = codec.as_id(context_id, "context_id")
        return self.get_children_contexts_by_contexts([context_id]).get(context_id, [])

    def get_parent_contexts_by_contexts(self, context_ids: Iterable[int]) -> dict[int, list[Context]]:
        """Parents of each context that has any, by context id.

        Raises:
            InvalidArgumentError: no id is given (as ml-metadata), or one is no int64.
        """
        return self._linked_contexts(q.PARENT_CONTEXTS_BY_CONTEXTS, context_ids)

    def get_children_contexts_by_contexts(self, context_ids: Iterable[int]) -> dict[int, list[Context]]:
        """Children of each context that has any, by context id.

        Raises:
            InvalidArgumentError: no id is given (as ml-metadata), or one is no int64.
        """
        return self._linked_contexts(q.CHILD_CONTEXTS_BY_CONTEXTS, context_ids)

    def _linked_contexts(self, query: str, context_ids: Iterable[int]) -> dict[int, list[Context]]:
        ids = codec.id_list(context_ids, "context_ids")
        if not ids:
            raise InvalidArgumentError("context_ids: no context id given", field="context_ids")

        def work(tx: neo4j.ManagedTransaction) -> dict[int, list[Context]]:
            out: dict[int, list[Context]] = {}
            for record in tx.run(query, ids=ids):
                out.setdefault(record["of"], []).append(codec.decode_node(Context, record["n"]))
            return out

        return self._read(work)

    def get_events_by_artifact_ids(self, artifact_ids: Iterable[int]) -> list[Event]:
        """Events touching these artifacts, as ml-metadata orders them: by artifact id, then
        execution id, then event type (DECLARED_OUTPUT first, as the enum numbers them)."""
        return self._events(q.EVENTS_BY_ARTIFACT_IDS, codec.id_list(artifact_ids, "artifact_ids"))

    def get_events_by_execution_ids(self, execution_ids: Iterable[int]) -> list[Event]:
        """Events of these executions, by execution id, then in the order recorded."""
        return self._events(q.EVENTS_BY_EXECUTION_IDS, codec.id_list(execution_ids, "execution_ids"))

    def _events(self, query: str, ids: list[int]) -> list[Event]:
        return self._read(lambda tx: [codec.decode_event(r["e"], r["artifact_id"], r["execution_id"])
                                      for r in tx.run(query, ids=ids)])

    # --- listing ----------------------------------------------------------------------------

    @overload
    def list_page(self, cls: type[Artifact], list_options: ListOptions | None = None, *, type_name: str | None = None,
                  type_version: str | None = None, context_id: int | None = None) -> Page[Artifact]: ...

    @overload
    def list_page(self, cls: type[Execution], list_options: ListOptions | None = None, *, type_name: str | None = None,
                  type_version: str | None = None, context_id: int | None = None) -> Page[Execution]: ...

    @overload
    def list_page(self, cls: type[Context], list_options: ListOptions | None = None, *, type_name: str | None = None,
                  type_version: str | None = None, context_id: int | None = None) -> Page[Context]: ...

    def list_page(self, cls: type[AnyNode], list_options: ListOptions | None = None, *, type_name: str | None = None,
                  type_version: str | None = None, context_id: int | None = None) -> Page[Any]:
        """One page of artifacts, executions or contexts (``cls``), optionally only those of
        one type and/or in one context (both given: both hold), with the token for the next
        page.

        Pages are ordered by the option's field then id, and the token remembers where the
        page ended, so paging is stable while other writers insert.

        Raises:
            InvalidArgumentError: a malformed filter_query or next_page_token, a token from
                a listing with other options, ``context_id`` with ``cls`` Context, or
                ``type_version`` without ``type_name``.
        """
        if cls not in _LABEL:
            raise InvalidArgumentError(f"cls: Artifact, Execution or Context, not {cls!r}", field="cls")
        label = _LABEL[cls]
        scope, params = q.LIST_SCOPE_ALL[label], {}
        if context_id is not None and label not in q.LIST_SCOPE_CONTEXT:
            raise InvalidArgumentError("context_id: contexts are not listed by context (see "
                                       "get_children_contexts_by_context)", field="context_id")
        if context_id is not None:
            context_id = codec.as_id(context_id, "context_id")
        if type_version is not None and type_name is None:
            raise InvalidArgumentError("type_version: a version of which type? give type_name too",
                                       field="type_version")
        if type_name is not None:
            type_id = self._scope_type(cls, type_name, type_version)
            if type_id is None:
                return Page(items=[])
            scope, params = q.LIST_SCOPE_TYPE[label], {"scope_type_id": type_id, "scope_type_name": type_name}
            if context_id is not None:
                scope, params = q.LIST_SCOPE_CONTEXT_AND_TYPE[label], {"scope_type_id": type_id,
                                                                       "scope_context_id": context_id}
        elif context_id is not None:
            scope, params = q.LIST_SCOPE_CONTEXT[label], {"scope_context_id": context_id}
        return self._page(cls, list_options or ListOptions(), scope, params)

    def _list_all(self, cls: type[NodeT], options: ListOptions | None, scope: str, params: dict[str, Any]) -> list[NodeT]:
        options = options or ListOptions()
        return list(self._page(cls, options, scope, params).items)

    def _page(self, cls: type[AnyNode], options: ListOptions, scope: str, params: dict[str, Any]) -> Page[Any]:
        options = _list_options(options)
        listing = _listing(cls, options, scope, params)
        query, params, fingerprint = listing.query, listing.params, listing.fingerprint

        def read(tx: neo4j.ManagedTransaction) -> list[Any]:
            if listing.nearest_first is not None:
                rows = list(tx.run(listing.nearest_first, **params, scan_budget=LIST_SCAN_BUDGET))
                if len(rows) == params["page_limit"]:  # the page and one more: exactly the type's
                    return [codec.decode_node(cls, r["n"]) for r in rows]
            return [codec.decode_node(cls, r["n"]) for r in tx.run(query, **params)]

        items = self._read(read)
        field = q.ORDER_FIELDS[options.order_by.value]
        limit = options.max_result_size
        token = None
        if limit is not None and len(items) > limit:
            items = items[:limit]
            last = items[-1]
            token = _encode_token(getattr(last, field), stored_id(last), fingerprint)
        return Page(items=items, next_page_token=token)

    # --- maintenance ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """How many types, nodes and edges of each kind the store holds."""
        return self._read(count_kinds)

    def prune_contexts(self, context_ids: Sequence[int], *, delete_live_artifacts: bool = False,
                       dry_run: bool = False, after: PruneResult | None = None) -> PruneResult:
        """Delete pipeline runs (contexts) with their executions and the artifacts they wrote,
        keeping everything a kept node was made from; one transaction. ml-metadata has no
        delete; the rules (graphmd._prune, docs/operations.md) keep the lineage of every
        node that stays whole:

        - only artifacts whose state is DELETED or ABANDONED go, unless
          ``delete_live_artifacts``;
        - a node something outside the prune was made from, or that an execution outside it
          also wrote (a cache hit's output), stays, and so does everything it was made from;
        - a cache hit (a CACHED execution) made nothing: the outputs it reused stay with the
          execution that made them, and the hit goes with its run;
        - a context goes once none of its executions stays and no child context of it stays
          (an artifact it holds that stays, data no execution wrote or a reused output, loses
          its link to it).

        With ``dry_run`` nothing is deleted: the result says what would be. Unknown ids are
        skipped. ``after`` (dry runs only): the dry run of earlier batches, whose deletions
        this one takes as done, so a prune planned in batches says what deleting them one
        after another does.

        Raises:
            InvalidArgumentError: ``context_ids`` is not a list of 64-bit ints (numpy's
                integers will do), or ``after`` without ``dry_run``.
        """
        ids = codec.id_list(context_ids, "context_ids")
        if after is not None and not dry_run:
            raise InvalidArgumentError("after: only a dry run takes earlier batches as done", field="after")
        if after is not None:
            _require_instance(after, PruneResult, "after")
        if dry_run:
            return self._read(lambda tx: plan_prune(tx, ids, delete_live_artifacts=delete_live_artifacts, lock=False,
                                                    gone=after))

        def work(tx: neo4j.ManagedTransaction) -> PruneResult:
            plan = plan_prune(tx, ids, delete_live_artifacts=delete_live_artifacts, lock=True)
            apply_prune(tx, plan)
            return plan

        return self._write(work)

    def delete_everything(self, *, batch_size: int = 10_000) -> None:
        """Delete every node and edge in the database (keeping constraints and indexes, and
        forgetting which ml-metadata store an import-mlmd copied in and any import that did
        not finish), then recreate MLMD's system types. Irreversible; meant for tests and
        resets. Ids go on from where they were (the id counters stay), so an id seen before
        never names a new node.

        Works in transactions of ``batch_size`` edges, then nodes, so a context with
        millions of attributions stays inside Neo4j's per-transaction memory cap (about
        1.6 KiB per edge: 10,000 edges need ~16 MiB). Unlike every other write it is not
        one transaction: interrupted, it leaves part of the store, and says so in the store
        until it is run again to its end (the CLI's commands then warn of it).

        Raises:
            InvalidArgumentError: ``batch_size`` is not a positive integer.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(f"batch_size: {batch_size!r} is not a positive integer", field="batch_size")
        with map_driver_errors(self.settings.uri), self._session() as session:
            session.execute_write(lambda tx: tx.run(q.RECORD_RESET, started=_now_ms()).consume())
            for statement in (q.DELETE_ALL_EDGES_BATCH, q.DELETE_ALL_BATCH):
                while session.execute_write(_delete_batch, statement, batch_size):
                    pass
            session.execute_write(lambda tx: tx.run(q.FORGET_IMPORTS).consume())
        self._reset_caches()
        with map_driver_errors(self.settings.uri):
            ensure_schema(self._driver, self._database, self._ids.allocate)

    # --- lineage (graphmd._lineage) ---------------------------------------------------------

    def get_lineage_subgraph(self, query_options: LineageSubgraphQueryOptions,
                             field_mask_paths: Sequence[str] | None = None) -> LineageGraph:
        """The lineage around the starting nodes, as MLMD's get_lineage_subgraph: nodes
        within ``max_num_hops`` in ``direction``, stopping at ending nodes, the events the
        traversal crossed, the contexts, attributions and associations of the nodes and
        their types. One Cypher statement, linear in the nodes visited per starting node.

        Args:
            query_options: where to start (filter_query, ids or type names), how far
                (None: no limit; MLMD caps at 100), which way, where to stop.
            field_mask_paths: the LineageGraph fields to fill (artifacts, executions,
                contexts, artifact_types, execution_types, context_types, events,
                attributions, associations); empty or None: all.
        Raises:
            InvalidArgumentError: no starting nodes given, a negative max_num_hops, a
                malformed filter_query, an unknown field mask path.
            NotFoundError: no node matches the starting conditions; a selector's type name
                names no type of its kind (``field`` e.g. ``ending_artifacts.types[0]``).
        """
        return _lineage.get_lineage_subgraph(self, query_options, field_mask_paths)

    def get_lineage_graph(self, query_options: LineageGraphQueryOptions) -> LineageGraph:
        """MLMD's (deprecated) get_lineage_graph: from the artifacts ``artifacts_options``
        lists, both ways, skipping nodes that fail the boundary filters, at most
        ``max_node_size`` artifacts and executions (nearest first, then by id). Returns
        nodes, events and the nodes' types (no contexts, as MLMD).

        Raises:
            InvalidArgumentError: no artifacts_options, a negative max_num_hops, a
                malformed filter.
            NotFoundError: no artifact matches artifacts_options.
        """
        return _lineage.get_lineage_graph(self, query_options)

    def stream_lineage(self, query_options: LineageSubgraphQueryOptions) -> Iterator[LineageStep]:
        """The nodes of get_lineage_subgraph as they are read, nearest first: each step is
        a node, its distance in hops and the events to nodes already streamed. The whole
        lineage never has to fit in memory (one distance level at a time does). Reads run
        in one transaction that stays open while the iterator is consumed.

        Raises:
            InvalidArgumentError: as get_lineage_subgraph.
            NotFoundError: a selector's type name names no type (before returning); no
                starting node matched (when iterated).
        """
        return _lineage.stream_lineage(self, query_options)

    def lineage_paths(self, query_options: LineageSubgraphQueryOptions) -> Iterator[LineagePath]:
        """For each node of the lineage, nearest first, one shortest path from a starting
        node to it (nodes and the events between them).

        Raises:
            InvalidArgumentError: as get_lineage_subgraph.
            NotFoundError: as stream_lineage: a selector's type name names no type; no
                starting node matched (when iterated).
        """
        return _lineage.lineage_paths(self, query_options)


# --- helpers: validation --------------------------------------------------------------------


def _merge_type(stored: AnyType, given: AnyType, can_add: bool, can_omit: bool, field: str) -> AnyType:
    """The stored type updated by ``given`` under MLMD's consistency rules."""
    for name, kind in stored.properties.items():
        if name in given.properties and given.properties[name] != kind:
            raise AlreadyExistsError(
                f"{field}.properties[{name!r}]: type {given.name!r} already exists with {name!r} as "
                f"{kind.value}, not {given.properties[name].value}", field=f"{field}.properties[{name!r}]")
    omitted = [n for n in stored.properties if n not in given.properties]
    if omitted and not can_omit:
        raise AlreadyExistsError(
            f"{field}: type {given.name!r} already exists with properties {omitted} that the given type omits "
            "(pass can_omit_fields=True)", field=f"{field}.properties")
    added = {n: k for n, k in given.properties.items() if n not in stored.properties}
    if added and not can_add:
        raise AlreadyExistsError(
            f"{field}: type {given.name!r} already exists without properties {sorted(added)} "
            "(pass can_add_fields=True)", field=f"{field}.properties")
    update: dict[str, Any] = {"properties": {**stored.properties, **added}}
    if given.external_id and given.external_id != stored.external_id:
        update["external_id"] = given.external_id  # none (or "") given keeps the stored one, as in MLMD
    base = getattr(given, "base_type", None)
    if base is not None:
        stored_base = getattr(stored, "base_type", None)
        if stored_base is None:
            update["base_type"] = base
        elif stored_base != base:
            raise UnimplementedError(f"{field}.base_type: changing a type's base_type is not supported",
                                     field=f"{field}.base_type")
    return stored.model_copy(update=update)


def _check_nodes(cls: type[AnyNode], nodes: Sequence[Any], plural: str,
                 field_of: Callable[[int], str] | None = None) -> None:
    """Check each node's values; errors name ``plural[i]``, or ``field_of(i)`` when given.

    A numpy scalar put into a node's properties dict after the model was made (where pydantic
    does not see it: ``model.custom_properties["n"] = np.int64(3)``) is replaced there by the
    bool, int or float it holds, as validation would have made it."""
    _require_list(nodes, plural, f"{cls.__name__}s")
    for i, node in enumerate(nodes):
        at = field_of(i) if field_of else f"{plural}[{i}]"
        _require_instance(node, cls, at)
        if codec.plainly_valid(node):
            continue
        for attr in ("id", "type_id"):
            codec.check_int64(getattr(node, attr), f"{at}.{attr}")
        for attr in ("name", "external_id", "uri"):
            codec.check_text(getattr(node, attr, None), f"{at}.{attr}", indexed=True)
        for attr in ("properties", "custom_properties"):
            properties = getattr(node, attr)
            if not isinstance(properties, dict):  # model_construct validates nothing
                raise InvalidArgumentError(f"{at}.{attr}: a dict of property names to values, not "
                                           f"{type(properties).__name__}", field=f"{at}.{attr}")
            for name, value in properties.items():
                field = f"{at}.{attr}[{name!r}]"
                codec.check_property_name(name, f"{at}.{attr}")
                plain = codec.plain_property_value(value, field)
                if plain is not value:
                    properties[name] = plain  # an existing key: the dict's size stays
                codec.check_value(plain, field)


def _taken_id(error: neo4j_errors.ConstraintError) -> bool:
    """Whether Neo4j refused a node or type for its id alone (no name or external id): an id
    graphmd reserved, so the reservation is stale."""
    message = error.message or ""
    return "`id`" in message and "`name`" not in message and "`external_id`" not in message


def _mask(update_mask: Sequence[str] | None, field_mask_paths: Sequence[str] | None) -> Sequence[str] | None:
    """The update mask a put call was given, as ``update_mask`` (the request's name) or
    ``field_mask_paths`` (ml-metadata's Python client's).

    Raises:
        InvalidArgumentError: both are given.
    """
    if field_mask_paths is None:
        return update_mask
    if update_mask is not None:
        raise InvalidArgumentError("give update_mask or field_mask_paths (ml-metadata's name for it), not both",
                                   field="field_mask_paths")
    return field_mask_paths


def _parse_mask(cls: type[AnyNode], update_mask: Sequence[str] | None) -> list[str] | None:
    if isinstance(update_mask, str):  # would read as its characters, each a path naming nothing
        raise InvalidArgumentError(f"update_mask: a list of paths is expected, not the string {update_mask!r} "
                                   f"(e.g. [{update_mask!r}])", field="update_mask")
    if not update_mask:
        return None
    for path in update_mask:
        if not isinstance(path, str):
            raise InvalidArgumentError("update_mask paths must be strings", field="update_mask")
    return list(update_mask)


def _check_event(event: Event, field: str) -> None:
    _require_instance(event, Event, field)
    if event.artifact_id is None:
        raise InvalidArgumentError(f"{field}.artifact_id: no artifact id is specified", field=f"{field}.artifact_id")
    if event.execution_id is None:
        raise InvalidArgumentError(f"{field}.execution_id: no execution id is specified", field=f"{field}.execution_id")
    if event.type is None:
        raise InvalidArgumentError(f"{field}.type: no event type is specified", field=f"{field}.type")
    _check_event_numbers(event, field)


def _clash_at(error: neo4j_errors.ConstraintError, field: str | None) -> AlreadyExistsError:
    """The error for a unique key (an external_id, a name) another node or type holds,
    naming the item as the call gave it (``artifact_types[1].external_id``) when known."""
    domain = unique_clash(error)
    if field is None or not domain.field:
        return domain
    return AlreadyExistsError(f"{field}.{domain.field}: {domain.message}", field=f"{field}.{domain.field}")


def _require_list(given: object, field: str, what: str) -> None:
    """Raise InvalidArgumentError (``field``) unless ``given`` is a list-like sequence: a
    generator would be used up by the checks before the write (which then stored nothing),
    and a model or a string would be iterated as its parts."""
    if not isinstance(given, Sequence) or isinstance(given, (str, bytes)):
        raise InvalidArgumentError(f"{field}: a list of {what} is expected, not {type(given).__name__}", field=field)


def _check_link_ids(plural: str, links: Sequence[Attribution | Association | ParentContext],
                    cls: type[Attribution | Association | ParentContext]) -> None:
    _require_list(links, plural, f"{cls.__name__}s")
    for i, link in enumerate(links):
        _require_instance(link, cls, f"{plural}[{i}]")
        for attr, value in link:
            codec.check_int64(value, f"{plural}[{i}].{attr}")


def _check_event_numbers(event: Event, field: str) -> None:
    for attr in ("artifact_id", "execution_id", "milliseconds_since_epoch"):
        codec.check_int64(getattr(event, attr), f"{field}.{attr}")


def _plain_event_edge(edge: EventEdge, executions: int, artifacts: int) -> bool:
    """Whether _check_event_edge_fully would pass ``edge`` without looking: a type, ids
    and time in int64, each end given once, by an index in range or by id. Most edges of a
    bulk write are, and this builds no field names (a batch has thousands of edges)."""
    event = edge.event.__dict__
    if event["type"] is None:
        return False
    execution_id, artifact_id, ms = event["execution_id"], event["artifact_id"], event["milliseconds_since_epoch"]
    if ms is not None and not _INT64_MIN <= ms <= _INT64_MAX:
        return False
    execution_index, artifact_index = edge.execution_index, edge.artifact_index
    if execution_index is None:
        if execution_id is None or not _INT64_MIN <= execution_id <= _INT64_MAX:
            return False
    elif execution_id is not None or not 0 <= execution_index < executions:
        return False
    if artifact_index is None:
        if artifact_id is None or not _INT64_MIN <= artifact_id <= _INT64_MAX:
            return False
    elif artifact_id is not None or not 0 <= artifact_index < artifacts:
        return False
    return True


_INT64_MIN, _INT64_MAX = codec.INT64_MIN, codec.INT64_MAX
# At most this many contexts are remembered by (type, name) (MetadataStore._known_contexts).
_KNOWN_CONTEXTS = 10_000


def _edge_end(given_id: int | None, index: int | None, ids: list[int]) -> int | None:
    """An event edge's end: the id its event gives, else the id of the request's node at
    ``index`` (the edge's checks made sure one of them is given)."""
    if given_id is not None:
        return given_id
    return None if index is None else ids[index]


def _check_event_edge_fully(edge: EventEdge, i: int, executions: Sequence[Execution],
                            artifacts: Sequence[Artifact]) -> None:
    """Raise unless ``edge`` (the i-th) has int64 numbers and ends that exist in the request
    or are given by id (both given: they must agree). Its type is checked once the nodes are
    planned (_check_event_edge_types), as MLMD does."""
    f = f"event_edges[{i}]"
    event = edge.event
    _check_event_numbers(event, f"{f}.event")
    for end, index, items, id_attr in (("execution", edge.execution_index, executions, "execution_id"),
                                       ("artifact", edge.artifact_index, artifacts, "artifact_id")):
        given_id = getattr(event, id_attr)
        if index is None and given_id is None:
            raise InvalidArgumentError(f"{f} is missing an {end}: give {end}_index or event.{id_attr}",
                                       field=f"{f}.{end}_index")
        if index is not None and not 0 <= index < len(items):
            raise OutOfRangeError(f"{f}.{end}_index {index} is outside [0, {len(items)})", field=f"{f}.{end}_index")
        if index is not None and given_id is not None:
            node_id = items[index].id
            if node_id is None:
                raise InvalidArgumentError(f"{f}: the {end} at {end}_index {index} has no id but event.{id_attr} is "
                                           f"{given_id}", field=f"{f}.event.{id_attr}")
            if node_id != given_id:
                raise InvalidArgumentError(f"{f}: {end} id mismatch: {node_id} at {end}_index {index}, "
                                           f"{given_id} in event.{id_attr}", field=f"{f}.event.{id_attr}")


def _check_event_edge_types(event_edges: Sequence[EventEdge]) -> None:
    """Raise for the first edge whose event has no type."""
    for i, edge in enumerate(event_edges):
        if edge.event.type is None:
            f = f"event_edges[{i}].event.type"
            raise InvalidArgumentError(f"{f}: no event type is specified", field=f)


def count_kinds(tx: neo4j.ManagedTransaction | neo4j.Transaction) -> dict[str, int]:
    """How many types, nodes and edges of each kind the database holds (MetadataStore.counts;
    `graphmd info` reads it also where MetadataStore refuses a newer schema)."""
    found = {r["kind"]: r["count"] for r in tx.run(q.COUNT_BY_LABEL)}
    kinds = ("types", "artifacts", "executions", "contexts", "events", "attributions", "associations",
             "parent_contexts")
    return {kind: found.get(kind, 0) for kind in kinds}


def _text_list(values: Iterable[str], field: str) -> list[str]:
    """``values`` as a list of strings (external ids, uris); a string on its own would be
    read as its characters, and a number would match nothing.

    Raises:
        InvalidArgumentError: ``values`` is a string or not a collection, or holds
            something that is not a string.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidArgumentError(f"{field}: a list of strings is expected, not {values!r}", field=field)
    out = list(values)
    for i, value in enumerate(out):
        _check_str(value, f"{field}[{i}]")
    return out


def _check_str(value: object, field: str, *, optional: bool = False) -> None:
    """Raise InvalidArgumentError (``field``) unless ``value`` is a string (or None when
    ``optional``): a name given as a number would match nothing."""
    if not isinstance(value, str) and not (optional and value is None):
        raise InvalidArgumentError(f"{field}: a string is expected, not {value!r}", field=field)
    if value is not None and not value.isascii():
        codec.check_text(value, field)  # a lone surrogate could not be sent to Neo4j


def _validate_properties(node: AnyNode, node_type: AnyType, field: str, mask_names: set[str] | None) -> None:
    """MLMD's ValidatePropertiesWithType: each property is declared and of its declared kind."""
    declared_types = node_type.properties
    for name, value in node.properties.items():
        if mask_names is not None and name not in mask_names:
            continue
        declared = declared_types.get(name)
        if declared is None:
            raise InvalidArgumentError(f"{field}.properties[{name!r}]: unknown property for type {node_type.name!r}",
                                       field=f"{field}.properties[{name!r}]")
        if codec.property_type_of(value) != declared:
            raise InvalidArgumentError(
                f"{field}.properties[{name!r}]: type {node_type.name!r} declares {declared.value}, "
                f"got {codec.property_type_of(value).value}", field=f"{field}.properties[{name!r}]")


def _mask_property_names(mask: list[str] | None, prefix: str) -> set[str] | None:
    """Names the mask selects under ``prefix`` (None: all of them)."""
    if mask is None or prefix in mask:
        return None
    return {p[len(prefix) + 1 :] for p in mask if p.startswith(prefix + ".")}


# --- helpers: listing and paging tokens -----------------------------------------------------


# How many of a label's nodes, nearest the page's start in update-time order, a page of one
# type is first looked for among (_Listing.nearest_first); pages of up to a quarter of it try so.
LIST_SCAN_BUDGET = 2_000


class _Listing(NamedTuple):
    """A listing's Cypher (``query``), its parameters (one more row than the page, to tell if
    another page follows) and its fingerprint for page tokens; ``nearest_first``, when set, the
    same page looked for among the label's ``$scan_budget`` nodes nearest its start in the
    order: when that finds the page and one more row, they are the query's answer."""

    query: str
    params: dict[str, Any]
    fingerprint: str
    nearest_first: str | None = None


def _list_options(options: object) -> ListOptions:
    """``options`` as a ListOptions: one, or ml-metadata's Python ListOptions (limit,
    order_by an OrderByField or None, is_asc, filter_query), as a ported call passes it.

    Raises:
        InvalidArgumentError: anything else (field list_options).
    """
    if isinstance(options, ListOptions):
        return options
    if type(options).__name__ == "ListOptions" and type(options).__module__.startswith("ml_metadata."):
        order_by = getattr(options, "order_by", None)
        try:
            return ListOptions.model_validate({  # by its name, limit: 0 is no limit there
                "limit": getattr(options, "limit", None), "order_by": OrderBy.ID if order_by is None else order_by,
                "is_asc": getattr(options, "is_asc", True), "filter_query": getattr(options, "filter_query", None)})
        except ValueError as error:  # pydantic's, naming the option
            raise InvalidArgumentError(f"list_options: {error}", field="list_options") from None
    raise InvalidArgumentError(f"list_options: a ListOptions is expected, not {kind_of(options)}", field="list_options")


def _list_query(cls: type[AnyNode], options: ListOptions, scope: str, params: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """The Cypher that lists ``cls`` nodes within ``scope`` (a MATCH binding ``n``) as
    ``options`` say, its parameters and the listing's fingerprint (see _listing).

    Raises:
        InvalidArgumentError: as _listing.
    """
    listing = _listing(cls, options, scope, params)
    return listing.query, listing.params, listing.fingerprint


def _listing(cls: type[AnyNode], options: ListOptions, scope: str, params: dict[str, Any]) -> _Listing:
    """How to list ``cls`` nodes within ``scope`` (a MATCH binding ``n``) as ``options`` say.

    Raises:
        InvalidArgumentError: a malformed filter_query or next_page_token, a token from a
            listing with other options, or a max_result_size that is not positive.
    """
    field = q.ORDER_FIELDS[options.order_by.value]
    direction = "ASC" if options.is_asc else "DESC"
    params = dict(params)
    clauses = [scope]
    wheres: list[str] = []
    # A page of one type and nothing else (a type scope without a filter, or a filter that is
    # just `type = 'T'`) is read in order from the index on (type, field), told so (USING INDEX
    # SEEK: costing chose the type_id index and sorted the whole type, or scanned the composite
    # index across every type, as the statistics of the moment had it), with the type first in
    # the order (one value: the same order) and the field said to be there. The newest page of
    # a type then reads the page, where it read and sorted every node of the type (108 ms for
    # 10 of 200,000 artifacts; ~5 ms). With any other condition it is left to cost: told to
    # read the type in order, Neo4j reads it until the page is full, whatever another index
    # would find at once (a name, a uri) or however a context's nodes lie in it (W4's filter,
    # a context's files among 1,000,000 artifacts, offered the type in order read 125,248 index
    # entries for a page of 20, 150 ms; from the context, 1,002 and 10 ms).
    label = _LABEL[cls]
    # The condition that keeps one type's nodes, when that is all the listing asks.
    type_only: str | None = None
    if scope == q.LIST_SCOPE_TYPE[label] and not options.filter_query:
        type_only = "n.type_id = $scope_type_id AND n.type = $scope_type_name"
    if options.filter_query:
        compiled = compile_filter(options.filter_query, label, "n")
        clauses.extend(compiled.match_clauses)
        wheres.append(compiled.where)
        params.update(compiled.params)
        if (scope == q.LIST_SCOPE_ALL[label] and compiled.conjuncts == 1 and "n.type" in compiled.fixed
                and not compiled.match_clauses):
            type_only = compiled.where
    # Only for a page: a listing without a limit reads the whole result anyway.
    if options.max_result_size is None:
        type_only = None
    one_type = type_only is not None and field in q.TYPE_ORDER_INDEXES
    fingerprint = _fingerprint(options, scope, params)
    start = f"n.{field} IS NOT NULL"  # where the page starts in the order (nearest_first, below)
    if options.next_page_token:
        last_value, last_id = _decode_token(options.next_page_token, fingerprint)
        cmp = ">" if options.is_asc else "<"
        if field == "id":
            wheres.append(f"n.id {cmp} $page_id")
        else:
            # Written as a range on the field (>=, <=) so Neo4j seeks its index from where the
            # last page ended, in order ("a > v OR (a = v AND id > i)" read every node), and the
            # tie on the field as a CASE: an OR of the two let it read the type's nodes twice,
            # by (type, field) and by (type, id), and sort them all (350 ms a page of 100 among
            # 200,000 artifacts; 5 ms).
            wheres.append(f"n.{field} {cmp}= $page_value AND "
                          f"CASE WHEN n.{field} = $page_value THEN n.id {cmp} $page_id ELSE true END")
        params.update(page_value=last_value, page_id=last_id)
        start = wheres[-1]
    elif one_type or (scope == q.LIST_SCOPE_ALL[label] and not options.filter_query):
        # The first page of a whole listing or of a type: every node has the field, and
        # saying so lets Neo4j read its index in order and stop after the page, where it
        # scanned the label and sorted every node (38 ms for 20 among 70,000 artifacts;
        # 2 ms). Within a context or another filter it is left out: there Neo4j may pick
        # the order index and read past a whole store for the few nodes it wants.
        wheres.append(start)
    query = "\n".join(clauses)
    if one_type:
        query += f" USING INDEX SEEK n:{label}(type, {field})\nWHERE " + " AND ".join(f"({w})" for w in wheres)
    elif wheres:
        query += "\nWITH * WHERE " + " AND ".join(f"({w})" for w in wheres)
    # Sorted and cut before the properties are read: projected first, every page read and
    # sorted every node in scope (143 ms a page of 100 among 170,000 artifacts, against 11 ms
    # reading on from the id index where the last page ended).
    order = [f"n.{field} {direction}"] + ([f"n.id {direction}"] if field != "id" else [])
    query += "\nWITH DISTINCT n\nORDER BY " + ", ".join(([f"n.type {direction}"] if one_type else []) + order)
    limit = options.max_result_size
    if limit is not None:
        if limit <= 0:
            raise InvalidArgumentError("max_result_size must be positive", field="max_result_size")
        if limit >= codec.INT64_MAX:  # one more row is read, to know whether a page follows
            raise InvalidArgumentError(f"max_result_size: {limit} is too large (at most "
                                       f"{codec.INT64_MAX - 1})", field="max_result_size")
        query += "\nLIMIT $page_limit"
        params["page_limit"] = limit + 1
    query += "\nRETURN n {.*} AS n"
    # A page of one type in an order no (type, field) index holds (update time: such an index
    # would cost bulk writes ~9%) is first looked for among the label's nodes nearest the page's
    # start, read in order from the field's index and cut at $scan_budget (ties by id, as the
    # page). A type among the recently changed fills its page there (a page of 20 among
    # 300,000 artifacts: 216 ms reading and sorting the type, 6-9 ms so); a type that does not
    # costs that read more before the type is read whole as above.
    # A page of a context's nodes is looked for the same way: read from the context, every
    # page expanded all of its links and sorted them (a pipeline context of 70,926 artifacts:
    # 73 ms a page, 52 s to page through it; a page among the label's nearest: a few ms). A
    # context that does not fill its page there (a run among many) is read from it as before.
    scan_condition = type_only if not one_type else None
    if label in q.LIST_SCOPE_CONTEXT and not options.filter_query and scope in (
            q.LIST_SCOPE_CONTEXT[label], q.LIST_SCOPE_CONTEXT_AND_TYPE[label]):
        link = "ATTRIBUTION" if label == "Artifact" else "ASSOCIATION"
        scan_condition = f"EXISTS {{ MATCH (:Context {{id: $scope_context_id}})-[:{link}]->(n) }}" + (
            " AND n.type_id = $scope_type_id" if scope == q.LIST_SCOPE_CONTEXT_AND_TYPE[label] else "")
    nearest_first = None
    if scan_condition is not None and limit is not None and 4 * (limit + 1) <= LIST_SCAN_BUDGET:
        order_by = ", ".join(order)
        nearest_first = (f"MATCH (n:{label}) USING INDEX n:{label}({field})\nWHERE {start}\n"
                         f"WITH n ORDER BY {order_by} LIMIT $scan_budget\n"
                         f"WITH n WHERE {scan_condition}\n"
                         f"WITH n ORDER BY {order_by} LIMIT $page_limit\nRETURN n {{.*}} AS n")
    return _Listing(query, params, fingerprint, nearest_first)


def _fingerprint(options: ListOptions, scope: str, params: dict[str, Any]) -> str:
    """Identifies a listing, so a token is not used with other options."""
    raw = json.dumps([options.order_by.value, options.is_asc, options.filter_query or "", scope,
                      {k: v for k, v in params.items() if k.startswith("scope_")}], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _encode_token(value: Any, node_id: int, fingerprint: str) -> str:
    raw = json.dumps({"v": value, "i": node_id, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_token(token: str, fingerprint: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        value, node_id, fp = data["v"], data["i"], data["f"]
        # Both are int64s as this store hands them out (an id, a time): an edited token's
        # Infinity, huge number or other value is refused, not sent to Neo4j.
        if not all(type(x) is int and -(2**63) <= x < 2**63 for x in (value, node_id)):
            raise ValueError("not int64s")
    except (ValueError, KeyError, TypeError, UnicodeError, OverflowError) as error:
        raise InvalidArgumentError(f"next_page_token {token[:40]!r} is not a token this store handed out (pass "
                                   "back the next_page_token of the previous page as it came)",
                                   field="next_page_token") from error
    if fp != fingerprint:
        raise InvalidArgumentError("next_page_token was issued for a listing with other options "
                                   "(order, filter or scope)", field="next_page_token")
    return value, node_id


# --- the write builder ----------------------------------------------------------------------


class _NodeWriter:
    """Collects the writes of one transaction and issues them as one UNWIND statement per
    kind of write. Reads (types, stored nodes) happen as upserts are planned."""

    def __init__(self, store: MetadataStore, tx: _Transaction, now: int, *,
                 fast: bool = False) -> None:
        self.store = store
        self.tx = tx
        self.now = now
        # Whether plain updates by id (no mask, no abort_if_changed) go to the server as
        # sync rows (q.SYNC_KEPT) instead of being read, locked and compared here first.
        self.fast = fast
        self.creates: dict[str, list[dict[str, Any]]] = {"Artifact": [], "Execution": [], "Context": []}
        self.updates: dict[str, list[dict[str, Any]]] = {"Artifact": [], "Execution": [], "Context": []}
        # (label, id) -> the position of the node's planned update in updates[label]: a node
        # updated twice in a call is written once, the second update applied to the first.
        self.update_at: dict[tuple[str, int], int] = {}
        self.syncs: dict[str, list[dict[str, Any]]] = {"Artifact": [], "Execution": [], "Context": []}
        # Contexts to create or reuse by (type_id, name) (_merge_row), and after flush the
        # ids they were planned with mapped to the ids they have.
        self.merges: list[dict[str, Any]] = []
        self.fields: dict[tuple[str, int], str] = {}  # (label, id) -> the request's field of a planned row
        self.merged_ids: dict[int, int] = {}
        self.known_merges: set[int] = set()  # planned ids of merge rows under a known id
        # Events to create, each with the ids of its artifact and execution (a request's
        # event may name its ends by position instead; None: the event's own, as
        # codec.encode_event takes them).
        self.events: list[tuple[Event, int | None, int | None]] = []
        # The first event given twice in the call (its position, the error) and how many
        # events the statement creates; see _event_rows.
        self.duplicate_event: tuple[int, AlreadyExistsError] | None = None
        self.planned_events = 0
        # The request's field of the n-th planned event, for errors (put_execution's pairs,
        # put_lineage_subgraph's edges).
        self.event_field: Callable[[int], str] = lambda n: f"events[{n}]"
        self.attributions: list[tuple[int, int]] = []
        self.associations: list[tuple[int, int]] = []
        self.required: list[tuple[str, set[int], str]] = []
        self.required_order: dict[str, list[int | None]] = {}  # each required field's ids, as given
        # With reuse options a unique-key violation means a concurrent writer created the
        # node first: the transaction is rerun to reuse it.
        self.retry_conflicts = False
        # The ids this writer took, by kind, in order: given back should nothing commit.
        self.allocated: list[tuple[str, list[int]]] = []

    def _allocate(self, kind: str, count: int) -> list[int]:
        ids = self.store._ids.allocate(kind, count)
        self.allocated.append((kind, ids))
        return ids

    def release_ids(self) -> None:
        """Give back every id this writer took: its call failed before anything committed."""
        while self.allocated:
            self.store._ids.release(*self.allocated.pop())

    # Types are validated against the cache first; a failure re-reads the type once, in
    # case another process added properties to it since it was cached.
    def _validated_type(self, cls: type[AnyNode], node: AnyNode, type_id: int, field: str, mask_names: set[str] | None) -> AnyType:
        kind = _KIND[_TYPE_CLASS[cls]]
        node_type = self.store._type_cache.get(type_id)
        if node_type is None or _KIND[type(node_type)] != kind:
            node_type = self.store._types_by_id(self.tx, kind, {type_id}).get(type_id)
            if node_type is None:
                raise NotFoundError(f"{field}.type_id: no {kind} with id {type_id}", field=f"{field}.type_id")
        try:
            _validate_properties(node, node_type, field, mask_names)
            return node_type
        except InvalidArgumentError:
            pass  # perhaps against a cached type another process has since changed
        # Outside the handler, so a second failure is raised alone, not chained to the first.
        node_type = self.store._types_by_id(self.tx, kind, {type_id}, fresh=True)[type_id]
        _validate_properties(node, node_type, field, mask_names)
        return node_type

    def planned_by(self, plan: Callable[[_NodeWriter], ResultT]) -> ResultT:
        """``plan(self)``. A fault it finds after planning a server-side update (of a node
        not yet read, that may not exist) is left to the slow path (_SlowPath), which reads
        the nodes as it goes and so reports the first fault in the request's order, as MLMD."""
        try:
            return plan(self)
        except GraphmdError:
            if self.fast and any(self.syncs.values()):
                raise _SlowPath() from None
            raise

    def check_before_writing(self, groups: list[tuple[type[AnyNode], Sequence[AnyNode], str]]) -> None:
        """Check each group's nodes, group by group, as MLMD's put_lineage_subgraph does before
        it writes any, so that a request with several faults fails on the one MLMD reports:
        every node (an update too) names its type; then every type exists; then each node's
        properties fit its type. ``groups``: (class, nodes, the request's field).

        Raises:
            InvalidArgumentError: a node without type_id, or a property that does not fit
                its type.
            NotFoundError: a node's type does not exist.
        """
        for cls, nodes, plural in groups:
            for i, node in enumerate(nodes):
                if node.type_id is None:
                    field = _field(plural, i, "type_id")
                    raise InvalidArgumentError(f"{field}: type id is missing", field=field)
            kind = _KIND[_TYPE_CLASS[cls]]
            types = self.store._types_by_id(self.tx, kind, {n.type_id for n in nodes})  # type: ignore[misc]
            for i, node in enumerate(nodes):
                if node.type_id not in types:
                    field = _field(plural, i, "type_id")
                    raise NotFoundError(f"{field}: no {kind} with id {node.type_id}", field=field)
            for i, node in enumerate(nodes):
                self._validated_type(cls, node, node.type_id, _field(plural, i), None)  # type: ignore[arg-type]

    def upsert(self, cls: type[NodeT], nodes: list[NodeT], plural: str, *, mask: list[str] | None = None,
               abort_if_changed: bool = False, reuse_by_external_id: bool = False, reuse_context: bool = False,
               force_update_time: bool = False, field_of: Callable[[int], str] | None = None,
               one_by_one: bool = False) -> list[int]:
        """Plan inserts and updates of ``nodes``; returns their ids in order. Errors name
        ``plural[i]``, or ``field_of(i)`` when given.

        With ``reuse_context``, a new context given twice is created once (both get its id).
        With ``reuse_by_external_id`` and ``one_by_one`` (put_execution, which MLMD upserts
        node by node), a new node whose external_id an earlier new node of the call has
        updates that node, as if that one were stored; without ``one_by_one`` the two clash
        (AlreadyExistsError), as in MLMD's put_lineage_subgraph."""
        label = _LABEL[cls]
        tx = self.tx
        self.retry_conflicts |= reuse_by_external_id or reuse_context
        synced = self.fast and mask is None and not abort_if_changed
        update_ids = [] if synced else [n.id for n in nodes if n.id is not None]
        stored: dict[int, dict[str, Any]] = {}
        if update_ids:
            stored = {r["n"]["id"]: r["n"] for r in tx.run(q.LOCK_NODES_BY_ID[label], ids=update_ids)}
        reuse_ids: dict[int, int] = {}  # position -> id of the stored node it reuses
        if reuse_by_external_id:
            wanted = [n.external_id for n in nodes if n.id is None and n.external_id]
            if wanted:
                by_ext = {r["n"]["external_id"]: r["n"] for r in tx.run(q.LOCK_NODES_BY_EXTERNAL_ID[label], external_ids=wanted)}
                for i, n in enumerate(nodes):
                    if n.id is None and n.external_id in by_ext:
                        reuse_ids[i] = by_ext[n.external_id]["id"]
                        stored[reuse_ids[i]] = by_ext[n.external_id]
        # Fast: new contexts are MERGEd on their (type_id, name) key in the write statement.
        merged = reuse_context and self.fast
        if reuse_context and not merged:
            keys = [{"type_id": n.type_id, "name": n.name} for n in nodes if n.id is None and n.name]
            if keys:
                found = {(r["n"]["type_id"], r["n"]["name"]): r["n"]["id"] for r in tx.run(q.LOCK_CONTEXTS_BY_TYPE_AND_NAME, keys=keys)}
                for i, n in enumerate(nodes):
                    if n.id is None and (n.type_id, n.name) in found:
                        reuse_ids[i] = found[(n.type_id, n.name)]

        # New nodes that an earlier new node of the call stands for: position -> its position.
        same_as: dict[int, int] = {}
        if reuse_context or (reuse_by_external_id and one_by_one):
            first: dict[Any, int] = {}
            for i, n in enumerate(nodes):
                if n.id is not None or i in reuse_ids:
                    continue
                key = ((n.type_id, n.name) if reuse_context and n.name
                       else n.external_id if reuse_by_external_id and n.external_id else None)
                if key is not None:
                    same_as[i] = first.setdefault(key, i)
            same_as = {i: j for i, j in same_as.items() if i != j}
        new_positions = [i for i, n in enumerate(nodes) if n.id is None and i not in reuse_ids and i not in same_as]
        # Contexts to merge that this store has met by (type, name): planned under their known
        # id, no fresh one (the statement checks they still exist; if not, the slow path runs).
        known: dict[int, int] = {}
        if merged:
            given = {n.id for n in nodes if n.id is not None}  # one also named by id: planned as before
            for i in new_positions:
                known_id = self.store._known_contexts.get((nodes[i].type_id or 0, nodes[i].name or ""))
                if known_id is not None and known_id not in given:
                    known[i] = known_id
        new_ids = iter(self._allocate(label, len(new_positions) - len(known)))
        ids: list[int] = []
        planned_new: set[tuple[int | None, str]] = set()
        for i, node in enumerate(nodes):
            field = field_of(i) if field_of else _field(plural, i)
            if node.id is None and i in reuse_ids and reuse_context:
                ids.append(reuse_ids[i])  # MLMD reuses such a context as it is stored
                continue
            if i in same_as:
                if not reuse_context:
                    self._update_planned(cls, nodes[same_as[i]], node, ids[same_as[i]], field)
                ids.append(ids[same_as[i]])  # a context is reused as first given
                continue
            if node.id is None and merged and isinstance(node, Context):
                ids.append(self._merge_row(node, field, known[i], known=True) if i in known
                           else self._merge_row(node, field, next(new_ids)))
                continue
            if node.id is None and i not in reuse_ids:
                if node.type_id is None:
                    raise InvalidArgumentError(f"{field}.type_id: type id is missing", field=f"{field}.type_id")
                # MLMD's order: the type must exist and the properties fit it, then the name.
                node_type = self._validated_type(cls, node, node.type_id, field, None)
                if cls is Context and not node.name:
                    raise InvalidArgumentError(f"{field}.name: context name should not be empty", field=f"{field}.name")
                if node.name is not None:
                    key = (node.type_id, node.name)
                    if key in planned_new:
                        raise AlreadyExistsError(f"{field}.name: {node.name!r} is given twice for type {node_type.name!r}",
                                                 field=f"{field}.name")
                    planned_new.add(key)
                new_id = next(new_ids)
                # The given node's encoding with its new id and times (cheaper than a model copy).
                row = codec.encode_node(node, type_name=node_type.name)
                row.update(id=new_id, create_time_since_epoch=self.now, last_update_time_since_epoch=self.now)
                self.creates[label].append(row)
                self.fields[label, new_id] = field
                ids.append(new_id)
                continue
            if synced and node.id is not None:
                self.syncs[label].append(self._sync_row(cls, node, field, force_update_time))
                self.fields[label, node.id] = field
                ids.append(node.id)
                continue
            node_id = node.id if node.id is not None else reuse_ids[i]
            old = stored.get(node_id)
            earlier = self.update_at.get((label, node_id))
            if old is not None and earlier is not None:  # updated earlier in the call: as MLMD, this applies to that
                old = self.updates[label][earlier]
            if old is None:
                raise InvalidArgumentError(f"{field}.id: cannot find the given id {node_id}", field=f"{field}.id")
            if node.type_id is not None and node.type_id != old["type_id"]:
                # Also for a node reused by external_id: it names a node of another type.
                reused = "" if node.id is not None else f" ({label.lower()} {node_id}, reused by its external_id)"
                raise InvalidArgumentError(
                    f"{field}.type_id: given type_id {node.type_id} differs from the stored {old['type_id']}{reused}",
                    field=f"{field}.type_id")
            if abort_if_changed and node.last_update_time_since_epoch != old.get("last_update_time_since_epoch"):
                raise FailedPreconditionError(
                    f"{field}: abort_if_latest_updated_time_changed is set and the stored {label.lower()} {node_id} "
                    f"was updated at {old.get('last_update_time_since_epoch')}, not "
                    f"{node.last_update_time_since_epoch}", field=f"{field}.last_update_time_since_epoch")
            node_type = self._validated_type(cls, node, old["type_id"], field, _mask_property_names(mask, "properties"))
            updated = self._updated_row(cls, node, old, node_type, mask, force_update_time, field)
            if updated is not None:
                if earlier is None:
                    self.update_at[label, node_id] = len(self.updates[label])
                    self.updates[label].append(updated)
                else:
                    self.updates[label][earlier] = updated
                self.fields[label, node_id] = field
            ids.append(node_id)
        return ids

    def _update_planned(self, cls: type[NodeT], created: NodeT, node: NodeT, node_id: int, field: str) -> None:
        """Apply ``node`` to the planned creation of ``created`` (id ``node_id``) as a full
        update of it would apply to it stored: put_execution's second artifact with the
        external_id of a new one.

        Raises:
            InvalidArgumentError: ``node`` names another type, or has properties its type lacks.
        """
        if node.type_id is not None and node.type_id != created.type_id:
            raise InvalidArgumentError(
                f"{field}.type_id: given type_id {node.type_id} differs from {created.type_id}, the type of the "
                f"{_LABEL[cls].lower()} with external_id {node.external_id!r} earlier in the call",
                field=f"{field}.type_id")
        assert created.type_id is not None  # a created node's type was checked
        node_type = self._validated_type(cls, node, created.type_id, field, None)
        attrs = {a: getattr(node, a) for a in _UPDATABLE[cls]}
        updated = created.model_copy(update={**attrs, "properties": dict(node.properties),
                                             "custom_properties": dict(node.custom_properties)})
        rows = self.creates[_LABEL[cls]]
        at = next(k for k, row in enumerate(rows) if row["id"] == node_id)
        row = codec.encode_node(updated, type_name=node_type.name)
        row.update(id=node_id, create_time_since_epoch=self.now, last_update_time_since_epoch=self.now)
        rows[at] = row

    def _merge_row(self, context: Context, field: str, new_id: int, *, known: bool = False) -> int:
        """Plan a context that is reused if its (type_id, name) exists, else created with
        ``new_id``: the write statement MERGEs it on that key, so a concurrent creator of
        the same context is found, not raced. Anything the creation could reject raises
        _SlowPath (the slow path reuses a stored context without judging the given one).
        ``known``: ``new_id`` is the id the store found the context under before, not a
        fresh one; the statement creates no context for such a row (one gone since is
        created by the slow path, with a fresh id: ids are never reused)."""
        if context.type_id is None or not context.name:
            raise _SlowPath()
        try:
            node_type = self._validated_type(Context, context, context.type_id, field, None)
        except GraphmdError:
            raise _SlowPath() from None
        if any(r["type_id"] == context.type_id and r["name"] == context.name for r in self.merges):
            raise _SlowPath()  # given twice: reused twice, or "given twice" when new
        row = codec.encode_node(context, type_name=node_type.name)
        row.update(id=new_id, create_time_since_epoch=self.now, last_update_time_since_epoch=self.now)
        if known:
            row["known"] = True
            self.known_merges.add(new_id)
        self.merges.append(row)
        self.fields["Context", new_id] = field
        return new_id

    def _sync_row(self, cls: type[AnyNode], node: AnyNode, field: str, force_update_time: bool) -> dict[str, Any]:
        """The row of q.WRITE_BLOCKS' sync block for a full update of ``node`` by id: what
        _updated_row computes, less what only the stored node knows. Anything _updated_row
        could reject (no type_id, properties the type lacks, an empty context name) raises
        _SlowPath instead, so the slow path reports it as it always did."""
        if node.type_id is None or (cls is Context and not node.name):
            raise _SlowPath()
        try:
            node_type = self._validated_type(cls, node, node.type_id, field, None)
        except GraphmdError:
            raise _SlowPath() from None
        attrs: dict[str, Any] = {a: getattr(node, a) for a in _UPDATABLE[cls]}
        kept = dict.fromkeys(("create_time_since_epoch", "last_update_time_since_epoch",
                              *q.SYNC_KEPT[_LABEL[cls]]))
        fixed = codec.encode_node(node.model_copy(update={**attrs, **kept}), type_name=node_type.name)
        # The compared attributes as they are stored (enums by value, protos as JSON text).
        encoded = codec.encode_node(node, type_name=node.type)
        given = {a: encoded.get(a) for a in _compared(cls, node)}
        return {"id": node.id, "type_id": node.type_id, "fixed": fixed, "given": given,
                "force": force_update_time, "now": self.now}

    def _updated_row(self, cls: type[NodeT], node: NodeT, old: dict[str, Any], node_type: AnyType, mask: list[str] | None,
                     force_update_time: bool, field: str) -> dict[str, Any] | None:
        """The node's full new property map, or None when nothing changes."""
        current = codec.decode_node(cls, old)
        if mask is None:
            attrs = {a: getattr(node, a) for a in _UPDATABLE[cls]}
            properties = dict(node.properties)
            custom = dict(node.custom_properties)
        else:
            attrs = {a: getattr(node, a) for a in _MASKABLE[cls] if a in mask}
            properties = _masked(current.properties, node.properties, _mask_property_names(mask, "properties"))
            custom = _masked(current.custom_properties, node.custom_properties,
                             _mask_property_names(mask, "custom_properties"))
        if cls is Context and "name" in attrs and not attrs["name"]:
            raise InvalidArgumentError(f"{field}.name: context name should not be empty", field=f"{field}.name")
        updated = current.model_copy(update={**attrs, "properties": properties, "custom_properties": custom})
        new_row = codec.encode_node(updated, type_name=node_type.name)
        stored = {k: v for k, v in old.items() if not k.startswith("_")}
        # Kinds count (1, 1.0 and True are different values), as on the server's sync path.
        # A NaN is the same as a NaN (a value unequal to itself is one).
        changed = new_row.keys() != stored.keys() or any(
            type(v) is not type(stored[k]) or (v != stored[k] and not (v != v and stored[k] != stored[k]))
            for k, v in new_row.items())
        # A field outside the mask that differs from the stored one still moves the update
        # time, though it is not written: ml-metadata 1.17.1 does the same.
        differs = any(getattr(node, a, None) != getattr(current, a, None) for a in _compared(cls, node))
        if not (changed or differs or force_update_time):
            return None
        new_row["last_update_time_since_epoch"] = max(self.now, (old.get("last_update_time_since_epoch") or 0) + 1)
        return new_row

    def upsert_contexts_for_linking(self, contexts: list[Context], reuse: bool, force_reuse: bool) -> list[int]:
        """put_execution's contexts: reused as stored when ``force_reuse`` and they carry an
        id, else upserted (reusing by (type, name) when ``reuse``)."""
        ids: list[int | None] = [None] * len(contexts)
        if force_reuse:
            given = [c.id for c in contexts if c.id is not None]
            if given:
                found = set(self.tx.run(q.EXISTING_IDS["Context"], ids=given).single(strict=True)["ids"])
                for i, c in enumerate(contexts):
                    if c.id is not None:
                        if c.id not in found:
                            raise NotFoundError(f"contexts[{i}].id: context {c.id} was not found", field=f"contexts[{i}].id")
                        ids[i] = c.id
        rest = [i for i, v in enumerate(ids) if v is None]
        for i in rest:
            c = contexts[i]
            if c.id is None and c.type_id is None:
                raise InvalidArgumentError(f"contexts[{i}].type_id: context is missing a type_id", field=f"contexts[{i}].type_id")
            if c.id is None:  # MLMD's order: the type must exist (and the properties fit it), then the name
                self._validated_type(Context, c, c.type_id, f"contexts[{i}]", None)  # type: ignore[arg-type]
            if c.id is None and not c.name:
                raise InvalidArgumentError(f"contexts[{i}].name: context is missing a name", field=f"contexts[{i}].name")
        upserted = self.upsert(Context, [contexts[i] for i in rest], "contexts", reuse_context=reuse)
        for i, cid in zip(rest, upserted):
            ids[i] = cid
        return [int(i) for i in ids if i is not None]

    def require(self, label: str, ids: Iterable[int | None], field: str) -> None:
        """Check, as the writes are sent, that nodes of ``label`` with these ids exist;
        flush raises InvalidArgumentError naming ``field`` for the first that does not.
        A ``field`` with ``[]`` (``events[].artifact_id``) names the request's item: ``ids``
        are then in the request's order, None where an item needs no check."""
        given = list(ids)
        wanted = {i for i in given if i is not None}
        if wanted:
            self.required.append((label, wanted, field))
            self.required_order[field] = given

    def flush(self) -> None:
        """Send the planned writes as one statement (one round trip), then check what it
        reports; a failed check raises, so the transaction rolls back."""
        planned = self.planned()
        if planned is None:
            return
        try:
            record = self.tx.run(q.write_planned(tuple(planned)), planned=planned).single()
        except neo4j_errors.ConstraintError as error:
            if any(self.syncs.values()) or self.merges:
                raise _SlowPath() from error  # the slow path names the error as it always did
            # from None: the error names the clash by field; the driver's adds a second traceback.
            raise self._constraint_error(error) from None
        self.check(record)

    def planned(self) -> _Unlogged | None:
        """The planned writes as the write statement's $planned map (its non-empty blocks),
        or None when the call writes nothing."""
        events = self._event_rows()
        if not (self.required or self.events or self.attributions or self.associations
                or any(self.creates.values()) or any(self.updates.values()) or any(self.syncs.values())
                or self.merges):
            return None
        for label, synced in self.syncs.items():
            # One node updated twice in a call: the server would judge each update against
            # the node as stored before the call; the slow path applies the second to the first.
            ids = [r["id"] for r in synced] + [r["id"] for r in self.updates[label]]
            if len(set(ids)) != len(ids):
                raise _SlowPath()
        planned: dict[str, Any] = {"merge_Context": self.merges, "types": [
            {"id": type_id, "kind": kind} for type_id, kind in dict.fromkeys(
                (row["type_id"], q.TYPE_KIND_OF[label]) for label, rows in self.creates.items() for row in rows)]}
        for label in q.NODE_LABELS:
            planned[f"create_{label}"] = self.creates[label]
            planned[f"update_{label}"] = self.updates[label]
            planned[f"sync_{label}"] = self.syncs[label]
        # Events and links name their ends by position in the statement's node lists
        # (q.NODE_LISTS): the rows of the node blocks, then the required ids, to which the
        # ends no node block holds are added.
        required = {label: {i for lbl, ids, _ in self.required if lbl == label for i in ids} for label in q.NODE_LABELS}
        at: dict[str, dict[int, int]] = {label: {} for label in q.NODE_LABELS}
        listed: dict[str, int] = {}
        for label, blocks in q.NODE_LISTS.items():
            rows = [row["id"] for block in blocks[:-1] for row in planned[block]]
            for position, node_id in enumerate(rows):
                at[label].setdefault(node_id, position)
            listed[label] = len(rows)
        ends = {"Artifact": [a for _, a, _ in events] + [n for _, n in self.attributions],
                "Execution": [x for _, _, x in events] + [n for _, n in self.associations],
                "Context": [c for c, _ in self.attributions] + [c for c, _ in self.associations]}
        for label in q.NODE_LABELS:
            required[label].update(i for i in ends[label] if i not in at[label])
            planned[f"required_{label}"] = sorted(required[label])
            for position, node_id in enumerate(planned[f"required_{label}"], start=listed[label]):
                at[label].setdefault(node_id, position)
        artifacts_at, executions_at = at["Artifact"], at["Execution"]
        planned["events"] = [  # q.WRITE_EVENT_ROW: the ends go by position only
            [*row, artifacts_at[artifact_id], executions_at[execution_id]] for row, artifact_id, execution_id in events]
        # A link with an end this call creates cannot exist yet: CREATE, not MERGE. A merged
        # context may turn out to be a stored one, even one the call names by id too: a new
        # node linked to both could get the same link twice, so its link to the merged one
        # is MERGEd (after the CREATEs). Merged contexts have distinct (type, name) keys, so
        # they cannot turn out to be each other.
        new_contexts = {row["id"] for row in self.creates["Context"]}
        merged = {row["id"] for row in self.merges}
        for kind, label, pairs in (("attributions", "Artifact", self.attributions),
                                   ("associations", "Execution", self.associations)):
            new_ends = {row["id"] for row in self.creates[label]}
            with_stored = {n for c, n in pairs if c not in new_contexts and c not in merged}
            verb_rows: dict[str, list[list[int]]] = {"create": [], "merge": []}
            for c, n in dict.fromkeys(pairs):
                new = c in new_contexts or (n in new_ends and (c not in merged or n not in with_stored))
                verb_rows["create" if new else "merge"].append([at["Context"][c], at[label][n]])
            for verb, rows in verb_rows.items():
                planned[f"{verb}_{kind}"] = rows
        return _Unlogged((block, rows) for block, rows in planned.items() if rows)

    def check(self, record: neo4j.Record | None) -> None:
        """Raise unless the write statement's ``record`` shows every planned write done;
        note the ids merged contexts turned out to have."""
        if record is None:
            raise InternalError("the write statement returned no row")
        if any(record.get(f"synced_{label}", 0) != len(rows) for label, rows in self.syncs.items()):
            raise _SlowPath()  # a node missing or of another type: the slow path says which
        self.merged_ids = {planned_id: context_id for planned_id, context_id in record.get("merged_Context", ())}
        if len(self.merged_ids) != len(self.merges):
            raise _SlowPath()  # a context type that does not exist: the slow path says which
        gone = [planned_id for planned_id, context_id in self.merged_ids.items() if context_id is None]
        if gone:  # a known context deleted since: the slow path creates it, with a fresh id
            for row in self.merges:
                if row["id"] in gone:
                    self.store._known_contexts.pop((row["type_id"], row["name"]), None)
            raise _SlowPath()
        for label, ids, field in self.required:
            missing = set(ids.intersection(record.get(f"missing_{label}", ())))
            if missing:
                given = self.required_order[field]
                at = next(i for i, given_id in enumerate(given) if given_id in missing)
                named = field.replace("[]", f"[{at}]", 1)
                if self.duplicate_event is not None and field.startswith("events[]") \
                        and self.duplicate_event[0] < at:
                    continue  # MLMD writes events in order: the duplicate comes first
                raise InvalidArgumentError(f"{named}: no {label.lower()} with id {given[at]}", field=named)
        if self.duplicate_event is not None:
            raise self.duplicate_event[1]
        missing_types = {(type_id, kind) for type_id, kind in record.get("missing_types", ())}
        for label, cls in (("Context", Context), ("Artifact", Artifact), ("Execution", Execution)):
            kind = q.TYPE_KIND_OF[label]
            if (record.get(f"created_{label}", 0) != len(self.creates[label])
                    or any((row["type_id"], kind) in missing_types for row in self.creates[label])):
                raise NotFoundError(f"{_PLURAL[cls]}[].type_id: a {kind} was deleted or never existed",
                                    field="type_id")
        if record.get("created_events", 0) != self.planned_events:
            raise InvalidArgumentError("events: an event names an artifact or execution that does not exist",
                                       field="events")
        # A context reused by (type, name) kept its stored id: the one planned for it goes
        # back, so the next new context gets it, as in ml-metadata.
        for planned_id in sorted((p for p, stored in self.merged_ids.items()
                                  if p != stored and p not in self.known_merges), reverse=True):
            self.store._ids.release("Context", [planned_id])
        known = self.store._known_contexts
        if len(known) + len(self.merges) > _KNOWN_CONTEXTS:
            known.clear()
        for row in self.merges:
            known[row["type_id"], row["name"]] = self.merged_ids[row["id"]]

    def result(self, planned_result: Any) -> Any:
        """The plan's result with its context ids as stored: contexts planned with new ids
        may have been merged into stored ones."""
        if self.merged_ids:
            return planned_result._replace(context_ids=[self.merged_ids.get(i, i) for i in planned_result.context_ids])
        return planned_result

    def a_created_node(self) -> tuple[str, int] | None:
        """(label, id) of one node the planned writes create, if any: its id was reserved
        by this store, so finding it stored proves the statement committed."""
        return next(((label, rows[0]["id"]) for label, rows in self.creates.items() if rows), None)

    def _constraint_error(self, error: neo4j_errors.ConstraintError) -> Exception:
        """The error to raise for a uniqueness violation in the planned writes."""
        message = error.message or ""
        if "`event_key`" in message:
            clash = unique_clash(error)
            key = clash_key(error)[1].get("event_key", "").strip("'\"").split(":", 2)  # artifact:execution:type
            at = next((i for i, (event, artifact_id, execution_id) in enumerate(self.events)
                       if [str(event.artifact_id if artifact_id is None else artifact_id),
                           str(event.execution_id if execution_id is None else execution_id),
                           event.type.value if event.type is not None else None] == key), None)
            named = "events" if at is None else self.event_field(at)
            return AlreadyExistsError(f"{named}: {clash.message}", field=named)
        if _taken_id(error):
            # A new node's id is this process's: taken already, its block was reserved before
            # the database was emptied and restored (`graphmd reset` and `import` by another
            # process). Rerun with blocks reserved now, past what the restore wrote.
            self.store._ids.forget()
            return _Conflict(unique_clash(error))
        domain = _clash_at(error, self._clashing_field(error))
        return _Conflict(domain) if self.retry_conflicts else domain

    def _clashing_field(self, error: neo4j_errors.ConstraintError) -> str | None:
        """The request's field (``artifacts[2]``) of the planned node whose unique key
        clashed, found by the key's values as Neo4j printed them; None if none matches."""
        label, values = clash_key(error)
        keys = {k: v for k, v in values.items() if k != "id"}
        if label not in self.creates or not keys:
            return None
        rows = [*self.creates[label], *self.updates[label], *self.syncs[label],
                *(self.merges if label == "Context" else [])]
        for row in rows:
            values = {**row, **row.get("fixed", {}), "id": row["id"]}  # a sync row holds its fields in "fixed"
            if all(_printed(values.get(k)) == v for k, v in keys.items()):
                return self.fields.get((label, row["id"]))
        return None

    def _event_rows(self) -> list[tuple[list[Any], int, int]]:
        """The planned events as codec.EVENT_ROW rows with fresh ids, each with the ids of
        its artifact and execution. The same event twice is an error, raised by check()
        unless an earlier event names a node that does not exist (MLMD's order): the second
        one is left out of the statement, and noted in duplicate_event."""
        if not self.events:
            return []
        rows = []
        ids = iter(self._allocate("Event", len(self.events)))
        seen: set[str] = set()
        key_at, type_at = codec.EVENT_ROW.index("event_key"), codec.EVENT_ROW.index("type")
        time_at = codec.EVENT_ROW.index("milliseconds_since_epoch")
        for i, (event, given_artifact, given_execution) in enumerate(self.events):
            artifact_id = event.artifact_id if given_artifact is None else given_artifact
            execution_id = event.execution_id if given_execution is None else given_execution
            if artifact_id is None or execution_id is None:
                raise InternalError(f"events[{i}]: planned without its artifact or execution")
            try:
                row = codec.encode_event_row(event, next(ids), artifact_id, execution_id)
            except codec.PathStepError as error:
                field = f"{self.event_field(i)}.path[{error.step}]"
                raise InvalidArgumentError(f"{field}: {error}", field=field) from None
            if row[key_at] in seen:
                if self.duplicate_event is None:
                    field = self.event_field(i)
                    self.duplicate_event = (i, AlreadyExistsError(
                        f"{field}: the {row[type_at]} event between artifact {artifact_id} and execution "
                        f"{execution_id} is given twice", field=field))
                continue
            seen.add(row[key_at])
            if row[time_at] is None:
                row[time_at] = self.now
            rows.append((row, artifact_id, execution_id))
        self.planned_events = len(rows)
        return rows


def _printed(value: Any) -> str | None:
    """``value`` as Neo4j prints a key's value in a constraint violation."""
    if isinstance(value, str):
        return f"'{value}'"
    return None if value is None or isinstance(value, bool) else str(value)


class _Unlogged(dict[str, Any]):
    """A statement's parameter map that prints as its size. The driver formats every RUN's
    parameters for a debug log line before it checks the log level: for a bulk write that
    was milliseconds of repr() per call, and it would put user data in debug logs."""

    def __repr__(self) -> str:
        return f"<{sum(len(v) for v in self.values())} planned rows>"


def _masked(current: dict[str, Any], given: dict[str, Any], names: set[str] | None) -> dict[str, Any]:
    """MLMD's masked property update: names in the mask take the given value, or are
    removed when the given node lacks them; other properties stay."""
    if names is None:
        return dict(given)
    out = dict(current)
    for name in names:
        if name in given:
            out[name] = given[name]
        else:
            out.pop(name, None)
    return out
