"""MLMD interoperability: moving whole stores between ml-metadata and graphmd, comparing them,
and an MLMD-compatible gRPC server (``graphmd.mlmd.server``).

This subpackage needs the ``mlmd`` extra (``pip install '/path/to/graphmd-clone[mlmd]'``: ml-metadata,
grpcio, grpcio-health-checking). ``import graphmd`` never imports it, and ``import graphmd.mlmd``
imports nothing of the extra: each name below is loaded when first used, and without the extra
that use raises ModuleNotFoundError saying what to install.

    from graphmd import MetadataStore
    from graphmd.mlmd import import_mlmd, parse_source

    with MetadataStore() as store:
        result = import_mlmd(store, parse_source("metadata.sqlite"))

``from_proto`` and ``to_proto`` turn ml-metadata's messages (metadata_store_pb2.Artifact, ...)
into graphmd's models and back, for code moving from ml-metadata's Python API.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import MlmdSource, open_store, parse_source, sqlite_source
    from ._compare import Comparison, compare_all, compare_sample
    from ._convert import from_proto, to_proto
    from ._export import ExportResult, export_mlmd
    from ._import import ImportResult, import_mlmd
    from ._reading import GraphmdReader, MlmdReader

# Each public name and the module of this package that holds it.
_HOME = {
    "MlmdSource": "_client", "open_store": "_client", "parse_source": "_client", "sqlite_source": "_client",
    "ImportResult": "_import", "import_mlmd": "_import",
    "ExportResult": "_export", "export_mlmd": "_export",
    "Comparison": "_compare", "compare_all": "_compare", "compare_sample": "_compare",
    "GraphmdReader": "_reading", "MlmdReader": "_reading",
    "from_proto": "_convert", "to_proto": "_convert",
}

__all__ = ["MlmdSource", "open_store", "parse_source", "sqlite_source", "ImportResult", "import_mlmd",
           "ExportResult", "export_mlmd", "Comparison", "compare_all", "compare_sample", "GraphmdReader",
           "MlmdReader", "from_proto", "to_proto", "install_hint"]

# Top-level modules the mlmd extra brings (google: protobuf, which ml-metadata brings).
_EXTRA_MODULES = frozenset({"ml_metadata", "grpc", "grpc_health", "prometheus_client", "google"})


def install_hint() -> str:
    """What to run to get the mlmd extra in this Python."""
    hint = "pip install '/path/to/graphmd-clone[mlmd]'"  # from graphmd's clone: the name on PyPI is not ours
    if sys.version_info >= (3, 12):
        hint = (f"ml-metadata 1.17.1 ships wheels for Python 3.9-3.11 only (this is "
                f"{sys.version_info.major}.{sys.version_info.minor}): run it from a Python 3.11 environment "
                f"with {hint}, or use graphmd's Docker image")
    return hint


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use.

    Raises:
        ModuleNotFoundError: the mlmd extra is not installed; the message says what to run.
        AttributeError: ``name`` is none of this package's names.
    """
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f".{home}", __name__)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _EXTRA_MODULES:
            raise
        raise ModuleNotFoundError(f"graphmd.mlmd.{name} needs the mlmd extra: {install_hint()} ({error})",
                                  name=error.name) from error
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
