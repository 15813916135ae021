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


class DeadlineExceededError(GraphmdError):
    """The call did not finish within its time limit."""

    code = "DEADLINE_EXCEEDED"


class InternalError(GraphmdError):
    """Something unexpected failed inside graphmd or Neo4j; the call had no effect."""

    code = "INTERNAL"


_CONSTRAINT_PROPS = re.compile(r"`(\w+)` = ")


def _constraint_error(error: neo4j_errors.ConstraintError) -> AlreadyExistsError:
    """Turn a uniqueness violation into AlreadyExistsError naming the unique fields."""
    message = error.message or str(error)
    fields = _CONSTRAINT_PROPS.findall(message)
    # type_id only scopes the uniqueness of `name`; name the field the user chose.
    named = [f for f in fields if f not in ("type_id", "kind", "version_key")] or fields
    field = ", ".join(named) if named else None
    return AlreadyExistsError(f"already exists: {message}", field=field)


@contextlib.contextmanager
def map_driver_errors(uri: str | None = None) -> Iterator[None]:
    """Re-raise neo4j driver exceptions as graphmd errors; nothing from the driver leaks."""
    try:
        yield
    except GraphmdError:
        raise
    except neo4j_errors.ConstraintError as error:
        raise _constraint_error(error) from error
    except neo4j_errors.IncompleteCommit as error:
        where = f" at {uri}" if uri else ""
        raise UnavailableError(f"the connection to Neo4j{where} was lost while committing: the call took effect "
                               f"whole or not at all, unknown which; read back before retrying ({error})",
                               commit_unknown=True) from error
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as error:
        where = f" at {uri}" if uri else ""
        raise UnavailableError(f"Neo4j is unavailable{where}: {error}") from error
    except neo4j_errors.AuthError as error:
        where = f" at {uri}" if uri else ""
        raise UnavailableError(f"Neo4j rejected the credentials{where}: {error.message}") from error
    except neo4j_errors.DatabaseUnavailable as error:  # a TransientError: starting or stopping
        where = f" at {uri}" if uri else ""
        raise UnavailableError(f"the Neo4j database{where} is not available (starting or stopping): "
                               f"{error.message}") from error
    except neo4j_errors.TransientError as error:
        raise AbortedError(f"transient Neo4j error persisted after retries: {error.message}") from error
    except neo4j_errors.ClientError as error:
        raise InternalError(f"Neo4j rejected a graphmd query: {error.message}") from error
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
