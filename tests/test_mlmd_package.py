"""graphmd.mlmd's public names: importable from the package itself, and, without the mlmd
extra, a clear word on what to install rather than a bare ModuleNotFoundError."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

pytest.importorskip("ml_metadata")

import graphmd.mlmd  # noqa: E402


def test_every_public_name_is_its_module_s_own() -> None:
    from graphmd.mlmd import compare_all, export_mlmd, import_mlmd, parse_source

    homes = {"import_mlmd": (import_mlmd, "_import"), "export_mlmd": (export_mlmd, "_export"),
             "parse_source": (parse_source, "_client"), "compare_all": (compare_all, "_compare")}
    for name, (value, home) in homes.items():
        assert value is getattr(importlib.import_module(f"graphmd.mlmd.{home}"), name)
    for name in graphmd.mlmd.__all__:
        assert getattr(graphmd.mlmd, name) is not None and name in dir(graphmd.mlmd)
    with pytest.raises(AttributeError):
        graphmd.mlmd.no_such_name  # noqa: B018


def test_without_the_extra_the_package_imports_and_its_names_say_what_to_install() -> None:
    code = ("import sys\n"
            "sys.modules['ml_metadata'] = None  # the extra is missing\n"
            "import graphmd.mlmd\n"
            "assert 'ml_metadata' not in [m for m, v in sys.modules.items() if v is not None]\n"
            "try:\n"
            "    from graphmd.mlmd import import_mlmd\n"
            "except ModuleNotFoundError as error:\n"
            "    print(error.name, '|', error)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    name, said = done.stdout.strip().split(" | ", 1)
    assert name.split(".")[0] == "ml_metadata"
    assert said.startswith("graphmd.mlmd.import_mlmd needs the mlmd extra: pip install "
                           "'/path/to/graphmd-clone[mlmd]'"), said
