"""A guard against a race in the neo4j Python driver's transactions (seen in 6.4.1).

When a statement in a transaction fails (a unique-key race, a deadlock, a lost
connection), the driver's error handler gives the transaction's connection back to the
pool at once. The failure then propagates out of the transaction function, and the driver
rolls the transaction back, touching that connection again: it peeks at its socket (with
the socket's timeout set to 0) and, unless the pool has already reset it, drains the failed
results, which raises ``ResultFailedError`` in place of the real error. By then another
thread may have taken the connection from the pool. So, with threads sharing a driver (as
``graphmd serve``'s workers share one ``MetadataStore``):

- the error a caller gets is ``ResultFailedError``, which the driver does not retry and
  graphmd reported as UNAVAILABLE, instead of the unique-key race graphmd reruns or the
  deadlock the driver retries;
- the other thread's connection can be corrupted mid-message ("Expected structure, found
  marker ...", reads timing out on a "defunct connection", a pool spinning on a health
  check): 8 threads creating the same types at once met one of these about once in 15
  rounds.

The server rolled the transaction back when the statement failed, and the pool's release
reset the connection, so the guard makes the driver's rollback of such a transaction only
mark it closed. It is installed once, when graphmd is imported, and leaves the driver
unchanged if its internals are not the ones it knows.

And a guard against interrupts (Ctrl-C, a notebook's Stop): a session left by a
KeyboardInterrupt is closed as usual by the driver, which syncs its connection (in the
middle of a message) and pools it; that fails with a driver error (BufferError, a
protocol state error) which replaces the interrupt. ``closed_on_exit`` drops such a
connection instead, as the driver does for a cancelled asyncio task.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import neo4j

__all__ = ["install", "closed_on_exit"]

_log = logging.getLogger("graphmd")

_RELEASED = "_graphmd_connection_released"


def install() -> bool:
    """Install the guard on the driver's transactions; returns whether it is in place."""
    try:
        from neo4j._sync.work.transaction import TransactionBase
    except ImportError:  # another driver layout: nothing to guard
        return False
    if getattr(TransactionBase, "_graphmd_guarded", False):
        return True
    handle_error = getattr(TransactionBase, "_error_handler", None)
    roll_back = getattr(TransactionBase, "_rollback", None)
    if handle_error is None or roll_back is None:
        return False

    def _error_handler(self: Any, exc: BaseException) -> Any:
        setattr(self, _RELEASED, True)  # the session gives the connection back now
        return handle_error(self, exc)

    def _rollback(self: Any) -> Any:
        if getattr(self, _RELEASED, False) and not getattr(self, "_closed_flag", True):
            self._closed_flag = True  # rolled back on the server; the connection is not ours
            return None
        return roll_back(self)

    # Set by name, as they are read: the driver's private methods, replaced on purpose.
    setattr(TransactionBase, "_error_handler", _error_handler)
    setattr(TransactionBase, "_rollback", _rollback)
    setattr(TransactionBase, "_graphmd_guarded", True)
    return True


@contextlib.contextmanager
def closed_on_exit(session: neo4j.Session) -> Iterator[neo4j.Session]:
    """``session``, closed on the way out; left by an interrupt (any BaseException that is
    no Exception), closed by dropping its connection, so the interrupt is what the
    caller sees. Neo4j rolls back a transaction whose connection is gone (an auto-commit
    statement already running goes on until it ends: see MetadataStore._write_autocommit)."""
    try:
        yield session
    except Exception:
        session.close()
        raise
    except BaseException:
        _drop_connection(session)
        raise
    else:
        session.close()


def _drop_connection(session: neo4j.Session) -> None:
    """Close an interrupted session with the driver's own cancellation clean-up, which
    kills the connection instead of syncing and pooling it. A driver without that hook
    is closed as usual, any failure of it swallowed: the interrupt goes on either way."""
    cleanup = getattr(session, "_handle_cancellation", None)
    try:
        if cleanup is not None:
            cleanup(message="graphmd interrupt")
            session._closed = True
        else:
            session.close()
    except Exception as error:  # noqa: BLE001 - the interrupt is what the caller must see
        _log.debug("closing an interrupted session: %s", error)
