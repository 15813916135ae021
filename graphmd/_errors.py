"""graphmd's exceptions, and the one place where Neo4j driver errors become them.

The families mirror MLMD's error codes (ml_metadata.errors), so a caller who knows MLMD
knows what each means, and the gRPC server maps each to the same status code.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from neo4j import exceptions as neo4j_errors

__all__ = [
    "GraphmdError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "AbortedError",
    "OutOfRangeError",
    "UnimplementedError",
    "UnavailableError",
    "UnauthenticatedError",
    "DeadlineExceededError",
    "InternalError",
    "map_driver_errors",
]


class GraphmdError(Exception):
    """Base class of every error graphmd raises.

    ``field`` names the offending argument or attribute when there is one.
    """

    code = "UNKNOWN"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidArgumentError(GraphmdError):
    """The request is malformed: a missing or ill-typed field, an unknown property."""

    code = "INVALID_ARGUMENT"


class NotFoundError(GraphmdError):
    """A type or node named by the request does not exist."""

    code = "NOT_FOUND"


class AlreadyExistsError(GraphmdError):
    """A unique name, external id, type, event or link already exists."""

    code = "ALREADY_EXISTS"


class FailedPreconditionError(GraphmdError):
    """The store is not in the state the call requires (e.g. a concurrent update)."""

    code = "FAILED_PRECONDITION"


class AbortedError(GraphmdError):
    """A concurrent transaction conflicted and retries did not resolve it; retry the call."""

    code = "ABORTED"


class OutOfRangeError(GraphmdError):
    """An index in the request points outside the list it refers to."""

    code = "OUT_OF_RANGE"


class UnimplementedError(GraphmdError):
    """The request asks for something MLMD defines but graphmd does not support."""

    code = "UNIMPLEMENTED"


class UnavailableError(GraphmdError):
    """Neo4j cannot be reached (down, restarting, wrong URI); the call had no effect.

    One exception, as with any database: when Neo4j goes away (the connection drops, the
    server stops) while a call commits, the call took effect whole or not at all and nobody
    can tell which. The message then says so (and ``commit_unknown`` is True): read back
    before retrying a call that is not idempotent.
    """

    code = "UNAVAILABLE"

    def __init__(self, message: str, *, field: str | None = None, commit_unknown: bool = False) -> None:
        super().__init__(message, field=field)
        self.commit_unknown = commit_unknown


class UnauthenticatedError(GraphmdError):
    """Neo4j refused the login (field ``password``): a wrong or missing password, or a user
    locked out for a few seconds after wrong ones. Unlike UnavailableError, retrying with
    the same credentials does not help; the message says which settings were used."""

    code = "UNAUTHENTICATED"


class DeadlineExceededError(GraphmdError):
    """The call did not finish within its time limit."""

    code = "DEADLINE_EXCEEDED"


class InternalError(GraphmdError):
    """Something unexpected failed inside graphmd or Neo4j; the call had no effect."""

    code = "INTERNAL"


# A uniqueness violation names its label and the clashing key:
#   Node(148221) already exists with label `Context` and properties `type_id` = 13, `name` = 'run-1'
# (Node(N) is Neo4j's internal id, which never leaves graphmd.)
_CONSTRAINT_LABEL = re.compile(r"label `(\w+)`")
# Each key of graphmd's unique constraints as `key` = value. A value is shown with its own
# quotes unescaped, so it runs to the next key (the last one to the end).
_CONSTRAINT_KEY = re.compile(r"(?:^|, )`(id|type_id|name|external_id|kind|version_key|event_key)` = ")
# Keys that only scope another one's uniqueness: the error names the field the user chose.
_SCOPING_KEYS = ("type_id", "kind", "version_key")


def clash_key(error: neo4j_errors.ConstraintError) -> tuple[str | None, dict[str, str]]:
    """The label and the clashing key of a uniqueness violation, each key's value as Neo4j
    prints it (strings in single quotes, unescaped; numbers as digits)."""
    message = error.message or str(error)
    found = _CONSTRAINT_LABEL.search(message)
    at = message.find("propert")
    tail = message[message.index("`", at):] if at >= 0 and "`" in message[at:] else ""
    parts = _CONSTRAINT_KEY.split(tail)
    return (found.group(1) if found else None), dict(zip(parts[1::2], (v.strip() for v in parts[2::2])))


def unique_clash(error: neo4j_errors.ConstraintError) -> AlreadyExistsError:
    """AlreadyExistsError for a uniqueness violation: what already exists, by the key it
    clashed on, with ``field`` the key the caller chose (``name`` rather than the
    ``type_id`` that scopes it). Neo4j's internal id in its message is left out."""
    label, values = clash_key(error)
    what = label.lower() if label else "node"
    version = values.pop("version_key", "''")  # a type's version, '' for none
    if version not in ("''", '""'):
        values["version"] = version
    if "kind" in values:  # types: ArtifactType, ExecutionType, ContextType
        what = values.pop("kind").strip("'\"")
    if "event_key" in values:  # artifact id:execution id:event type (graphmd._codec.event_key)
        artifact, execution, kind = (values["event_key"].strip("'\"").split(":", 2) + ["?", "?"])[:3]
        return AlreadyExistsError(f"the {kind} event between artifact {artifact} and execution {execution} "
                                  "already exists", field="events")
    if "name" in values and "type_id" in values:
        key = f" named {values['name']} of type {values['type_id']}"
    else:
        key = "".join(f" {'with' if i == 0 else 'and'} {k} {v}" for i, (k, v) in enumerate(values.items()))
    chosen = [k for k in values if k not in _SCOPING_KEYS]
    article = "an" if what[:1] in "aeiou" else "a"
    return AlreadyExistsError(f"{article} {what}{key} already exists", field=", ".join(chosen) or None)


# Neo4j's codes for a transaction it ended: past its timeout (the client's, or the
# server's db.transaction.timeout), or terminated. A transaction waiting on a lock when
# its timeout fires ends with LockClientStopped.
_TIMED_OUT = frozenset({"Neo.ClientError.Transaction.TransactionTimedOut",
                        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
                        "Neo.ClientError.Transaction.LockClientStopped",
                        "Neo.ClientError.Transaction.Terminated"})


@contextlib.contextmanager
def map_driver_errors(uri: str | None = None) -> Iterator[None]:
    """Re-raise neo4j driver exceptions as graphmd errors; nothing from the driver leaks."""
    try:
        yield
    except GraphmdError:
        raise
    except neo4j_errors.ConstraintError as error:
        raise unique_clash(error) from None  # says all the driver's error does, by field
    except neo4j_errors.IncompleteCommit as error:
        where = f" at {uri}" if uri else ""
        raise UnavailableError(f"the connection to Neo4j{where} was lost while committing: the call took effect "
                               f"whole or not at all, unknown which; read back before retrying ({error})",
                               commit_unknown=True) from error
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as error:
        where = f" at {uri}" if uri else ""
        raise UnavailableError(f"Neo4j is unavailable{where}: {error}") from error
    except BufferError as error:  # the driver's, on a pooled connection an interrupt (Ctrl-C) left mid-message
        where = f" to Neo4j at {uri}" if uri else " to Neo4j"
        raise UnavailableError(f"a connection{where} was left unusable (by an interrupted call?) and failed: the "
                               f"call took effect whole or not at all, unknown which; read back before retrying "
                               f"({error})", commit_unknown=True) from error
    except neo4j_errors.AuthError as error:
        where = f" at {uri}" if uri else ""
        raise UnauthenticatedError(f"Neo4j rejected the credentials{where}: {error.message}",
                                   field="password") from error
    except neo4j_errors.DatabaseUnavailable as error:  # a TransientError: starting or stopping
        where = f" at {uri}" if uri else ""
        raise UnavailableError(f"the Neo4j database{where} is not available (starting or stopping): "
                               f"{error.message}") from error
    except neo4j_errors.TransientError as error:
        raise AbortedError(f"transient Neo4j error persisted after retries: {error.message}") from error
    except neo4j_errors.ClientError as error:
        if error.code in _TIMED_OUT:
            raise DeadlineExceededError(
                "Neo4j ended the call's transaction and rolled it back: it ran past its timeout (MetadataStore's "
                "transaction_timeout, or the server's db.transaction.timeout), or an operator or a shutdown "
                f"terminated it ({error.code})") from error
        if error.code == "Neo.ClientError.Security.AuthenticationRateLimit":
            where = f" at {uri}" if uri else ""
            raise UnauthenticatedError(f"Neo4j{where} refuses to log in for a few seconds after wrong passwords in a row "
                                   "(its dbms.security.auth_lock_time, 5 s by default), the right one too: wait, "
                                   f"then retry with the right password ({error.message})",
                                   field="password") from error
        if error.code == "Neo.ClientError.Database.DatabaseNotFound":
            where = f" at {uri}" if uri else ""
            raise NotFoundError(f"Neo4j{where} has no such database: {error.message} (leave the database unset for "
                                "the server's default; Community Edition has one user database, `neo4j`)",
                                field="database") from error
        raise InternalError(f"Neo4j rejected a graphmd query: {error.message}") from error
    except neo4j_errors.ConnectionAcquisitionTimeoutError as error:
        where = f" to Neo4j at {uri}" if uri else " to Neo4j"
        raise UnavailableError(f"no connection{where} came free in time ({error}): Neo4j did not answer, or every "
                               "connection of this store's pool (100) is in use, e.g. by unfinished stream_lineage "
                               "iterators (close them, or read them to the end)") from error
    except neo4j_errors.DriverError as error:
        if str(error) == "Driver closed":  # the driver's own check on a closed driver: not Neo4j's fault
            raise FailedPreconditionError("this MetadataStore is closed (close() was called, or its `with` block "
                                          "ended): open a new MetadataStore") from error
        raise UnavailableError(f"Neo4j driver error: {error}") from error
    except neo4j_errors.Neo4jError as error:
        raise InternalError(f"Neo4j error: {error.message}") from error
    except OSError as error:
        raise UnavailableError(f"cannot reach Neo4j{' at ' + uri if uri else ''}: {error}") from error
    # Values the driver cannot send. Writes check their fields first (naming them); this
    # catches what reads pass on unchecked, e.g. an id beyond int64 or a lone surrogate.
    except UnicodeEncodeError as error:
        raise InvalidArgumentError(f"a string argument is not valid Unicode (a lone surrogate): {error}") from error
    except OverflowError as error:
        raise InvalidArgumentError(f"a number argument does not fit in a 64-bit integer: {error}") from error


def kind_of(given: object) -> str:
    """What ``given`` is, for an error message: its class's name, qualified by its module when
    that is ml-metadata's (metadata_store_pb2.Artifact where a graphmd model was expected, as
    code ported from ml-metadata passes), with how to convert it."""
    cls = type(given)
    if cls.__module__.startswith("ml_metadata."):
        return (f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__} (ml-metadata's: graphmd.mlmd.from_proto "
                "converts its messages)")
    return cls.__name__
