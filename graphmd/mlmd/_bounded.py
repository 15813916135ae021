"""Waiting at most a given time for a call to Neo4j that may never answer.

A Neo4j that is frozen (a stopped process, a long pause, a network that drops packets without
resetting the connection) holds a socket read for as long as that lasts: no driver setting
bounds it, and a transaction timeout is Neo4j's to enforce. The health watcher and the metrics
scrape must answer "Neo4j does not answer" in time all the same, so their checks run in a
thread of their own, waited for a bounded time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["BoundedCall"]

T = TypeVar("T")


class BoundedCall:
    """Runs a call in a daemon thread and waits for it at most a given time. One call at a
    time: while an earlier one still waits for its answer, the next is refused at once, so a
    frozen Neo4j does not pile up threads."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._thread: threading.Thread | None = None

    def __call__(self, fn: Callable[[], T], seconds: float) -> T:
        """``fn()``'s result, or its exception.

        Raises:
            TimeoutError: ``fn`` did not return within ``seconds`` (it goes on in its thread
                until it does), or the previous call still has not.
        """
        if self._thread is not None and self._thread.is_alive():
            raise TimeoutError(f"no answer: the previous check, still waiting, was sent over {seconds:g} s ago")
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as error:  # handed to the caller
                box["error"] = error

        thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread = thread
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            raise TimeoutError(f"no answer within {seconds:g} s")
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value
