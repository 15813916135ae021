"""Commands that need the mlmd extra say what to install when ml-metadata is missing."""

from __future__ import annotations

import sys
from collections import namedtuple

import pytest
from typer.testing import CliRunner

from graphmd.cli import app


@pytest.mark.parametrize("args", [["serve"], ["import-mlmd", "x.sqlite"], ["export-mlmd", "y.sqlite"]])
def test_a_missing_ml_metadata_is_a_clear_error(monkeypatch, args):
    monkeypatch.setitem(sys.modules, "ml_metadata", None)  # import ml_metadata now raises ImportError
    # The wording on Python 3.11 (from 3.12 the hint says why: the next test but one).
    version = namedtuple("version_info", "major minor micro releaselevel serial")
    monkeypatch.setattr(sys, "version_info", version(3, 11, 7, "final", 0))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert (f"`graphmd {args[0]}` needs ml-metadata, of the mlmd extra: "
            "pip install '/path/to/graphmd-clone[mlmd]'") in result.output


@pytest.mark.parametrize("module, distribution", [("grpc_health", "grpcio-health-checking"),
                                                  ("prometheus_client", "prometheus-client")])
def test_serve_with_ml_metadata_but_not_the_extra_says_what_is_missing(monkeypatch, module, distribution):
    # TFX installs ml-metadata and grpcio, not the rest of the extra; serve imports it all.
    pytest.importorskip("ml_metadata")  # without it (Python 3.12+), serve says that first
    monkeypatch.setitem(sys.modules, module, None)
    result = CliRunner().invoke(app, ["serve", "--grpc-port", "0"])
    assert result.exit_code == 1
    assert (f"`graphmd serve` needs {distribution}, of the mlmd extra: "
            "pip install '/path/to/graphmd-clone[mlmd]'") in result.output


def test_on_python_3_12_it_says_ml_metadata_has_no_wheel_there(monkeypatch):
    monkeypatch.setitem(sys.modules, "ml_metadata", None)
    version = namedtuple("version_info", "major minor micro releaselevel serial")
    monkeypatch.setattr(sys, "version_info", version(3, 12, 1, "final", 0))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "ships wheels for Python 3.9-3.11 only (this is 3.12)" in result.output
