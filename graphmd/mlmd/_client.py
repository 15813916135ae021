"""Opening an ml-metadata store (a SQLite file or a MySQL database) with ml-metadata's own
client, and ml-metadata's errors as graphmd's.

A source is written as a SQLite file path, or as ``mysql://user@host[:port]/database``
(the password comes separately, never in the name graphmd shows or records).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from collections.abc import Iterator
from typing import Any

import ml_metadata as mlmd
from ml_metadata import errors as mlmd_errors
from google.protobuf.message import DecodeError
from ml_metadata.proto import metadata_store_pb2 as pb

from .. import _errors

__all__ = ["MlmdSource", "sqlite_source", "parse_source", "open_store", "translate_errors"]

_MYSQL = re.compile(r"^mysql://(?P<user>[^@/:]+)(?::(?P<password>[^@/]*))?@(?P<host>[^@/:]+)(?::(?P<port>\d+))?"
                    r"/(?P<database>[^/?#]+)$")
_GRAPHMD_ERRORS = {cls.code: cls for cls in _errors.GraphmdError.__subclasses__()}


@dataclasses.dataclass(frozen=True)
class MlmdSource:
    """How to reach an ml-metadata store: its client's ConnectionConfig, and its ``name``
    (a SQLite file's absolute path or ``mysql://user@host:port/database``), which is what
    graphmd prints and records, so it never holds the password."""

    config: Any = dataclasses.field(repr=False)  # ml_metadata.proto.ConnectionConfig, password included
    name: str = ""

    def __str__(self) -> str:
        return self.name


def sqlite_source(path: str | os.PathLike[str], *, create: bool = False) -> MlmdSource:
    """A SQLite ml-metadata store: read only, or created if missing when ``create``.

    Raises:
        NotFoundError: ``path`` is not a file and ``create`` is False.
    """
    path = os.path.abspath(os.fspath(path))
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    if create:
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    else:
        if not os.path.isfile(path):
            raise _errors.NotFoundError(f"source: no ml-metadata SQLite file at {path}", field="source")
        with open(path, "rb") as fh:
            header = fh.read(16)
        if header != b"SQLite format 3\x00":  # ml-metadata would try to create its tables in it
            what = "is empty" if not header else "is not a SQLite database"
            raise _errors.InvalidArgumentError(f"source: {path} {what}, so it holds no ml-metadata store",
                                               field="source")
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READONLY
    return MlmdSource(config, path)


def parse_source(source: str, *, password: str | None = None) -> MlmdSource:
    """The ml-metadata store ``source`` names: ``mysql://user[:password]@host[:port]/database``
    (port 3306 by default; ``password`` wins over one in the URL) or a SQLite file path,
    opened read only.

    Raises:
        InvalidArgumentError: a ``mysql://`` source that does not parse; a SQLite path that
            is empty or not a SQLite database.
        NotFoundError: a SQLite path that is not a file.
    """
    if not source.startswith("mysql://"):
        return sqlite_source(source)
    found = _MYSQL.match(source)
    if found is None:
        raise _errors.InvalidArgumentError("source: a MySQL source is mysql://user@host[:port]/database",
                                           field="source")
    config = pb.ConnectionConfig()
    config.mysql.host = found["host"]
    config.mysql.port = int(found["port"] or 3306)
    config.mysql.database = found["database"]
    config.mysql.user = found["user"]
    secret = password if password is not None else found["password"]
    if secret:
        config.mysql.password = secret
    return MlmdSource(config, f"mysql://{found['user']}@{found['host']}:{config.mysql.port}/{found['database']}")


@contextlib.contextmanager
def translate_errors(source: MlmdSource | str) -> Iterator[None]:
    """Re-raise ml-metadata's errors as the graphmd error of the same code, naming the source;
    its client failing to decode what its store answers as FailedPreconditionError."""
    try:
        yield
    except mlmd_errors.StatusError as error:
        cls = _GRAPHMD_ERRORS.get(_CODE_NAMES.get(error.error_code, ""), _errors.InternalError)
        raise cls(f"ml-metadata at {source}: {error}", field="source") from error
    except (UnicodeDecodeError, DecodeError) as error:
        raise _errors.FailedPreconditionError(
            f"ml-metadata at {source} cannot read what its store holds ({type(error).__name__}: {error}); its own "
            "client fails the same way. One cause: a STRING property starting 'mlmd-struct::', which ml-metadata "
            "stores as written and reads back as a STRUCT", field="source") from error


_CODE_NAMES = {value: name for name, value in vars(mlmd_errors).items() if name.isupper() and isinstance(value, int)}
# Codes graphmd has no error of its own for: a refused login is "unavailable", as for Neo4j.
_CODE_NAMES.update({mlmd_errors.PERMISSION_DENIED: "UNAVAILABLE", mlmd_errors.UNAUTHENTICATED: "UNAVAILABLE"})


def open_store(source: MlmdSource) -> Any:
    """ml-metadata's MetadataStore on ``source`` (never migrating its schema).

    Raises:
        UnavailableError: the database cannot be opened or reached (wrong host, port,
            credentials; a SQLite file that is not an ml-metadata store).
        FailedPreconditionError: the store's schema is of another ml-metadata version.
    """
    with translate_errors(source):
        try:
            return mlmd.MetadataStore(source.config)
        except RuntimeError as error:
            raise _errors.UnavailableError(f"cannot open ml-metadata at {source}: {error}", field="source") from error
