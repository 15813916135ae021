"""TCP plumbing for tests that stand between graphmd and Neo4j."""

from __future__ import annotations

import socket


def pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy what ``a`` receives to ``b`` until either side closes; then shut both down."""
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
