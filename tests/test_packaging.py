"""What `pip install` gets: the sdist and the wheel built from it (as pip builds one) carry the
Cypher files, the launcher's POMs, py.typed, LICENSE and README, and no tests or tools; the
unpacked wheel finds its queries from any directory; the Dockerfile's copies build."""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import graphmd

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _build(source: Path, out: Path, *targets: str) -> None:
    # No isolation: hatchling and build come with the test extra, so this needs no network.
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", *targets, "--outdir", str(out),
                             str(source)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist, and the wheel built from that sdist (no target given: build does both so)."""
    out = tmp_path_factory.mktemp("dist")
    _build(ROOT, out)
    return out


def _wheel(dist: Path) -> zipfile.ZipFile:
    [path] = dist.glob("graphmd-*.whl")
    return zipfile.ZipFile(path)


def _sources() -> list[str]:
    """The library's modules and data files as they are in the tree (graphmd/...)."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "graphmd").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def test_wheel_holds_the_library_its_queries_and_license(dist: Path) -> None:
    names = set(_wheel(dist).namelist())
    info = f"graphmd-{graphmd.__version__}.dist-info"
    assert {n.split("/")[0] for n in names} == {"graphmd", info}, "only the package and its metadata"
    missing = [s for s in _sources() if s not in names]
    assert not missing, f"the wheel lacks {missing}"
    queries = [f"graphmd/cypher/{p.name}" for p in (ROOT / "cypher").iterdir()]
    assert queries and not [q for q in queries if q not in names], "cypher/ goes in as graphmd/cypher"
    assert {"graphmd/py.typed", "graphmd/neo4j_server/pom.xml", "graphmd/neo4j_server/cypher-shell.xml",
            f"{info}/licenses/LICENSE"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_metadata_is_what_pypi_and_pip_show(dist: Path) -> None:
    wheel = _wheel(dist)
    info = f"graphmd-{graphmd.__version__}.dist-info"
    meta = email.parser.Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert (meta["Name"], meta["Version"]) == ("graphmd", graphmd.__version__)
    assert meta["License-Expression"] == "Apache-2.0" and meta["Requires-Python"] == ">=3.11"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "Programming Language :: Python :: 3.11" in (meta.get_all("Classifier") or [])
    assert meta.get_payload().strip() == README.read_text(encoding="utf-8").strip()
    # Every extra the README tells a user to install exists.
    extras = set(meta.get_all("Provides-Extra") or [])
    named = {e for group in re.findall(r"graphmd\[([a-z,]+)\]", README.read_text(encoding="utf-8"))
             for e in group.split(",")}
    assert named and named <= extras, f"README names extras {sorted(named - extras)} the wheel lacks"
    assert "graphmd = graphmd.cli:main" in wheel.read(f"{info}/entry_points.txt").decode()


def test_sdist_builds_and_tests_without_the_repo(dist: Path) -> None:
    [path] = dist.glob("graphmd-*.tar.gz")
    top = f"graphmd-{graphmd.__version__}"
    with tarfile.open(path) as sdist:
        names = {n.removeprefix(top + "/") for n in sdist.getnames()}
    assert {"LICENSE", "README.md", "pyproject.toml", "PKG-INFO", "cypher/graphmd.grass", "tests/conftest.py",
            "bench/__main__.py", "docker-compose.yml", "Dockerfile"} <= names
    junk = [n for n in names if re.search(r"(^|/)(\.venv|\.git|\.hypothesis|\.pytest_cache|__pycache__)(/|$)", n)]
    assert not junk, f"the sdist ships {junk[:5]}"


def test_unpacked_wheel_finds_its_queries_from_any_directory(dist: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _wheel(dist).extractall(site)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    # The unpacked wheel comes first on the path, ahead of the checkout this venv installed.
    env = {**os.environ, "PYTHONPATH": str(site), "GRAPHMD_CONFIG": str(tmp_path / "config.toml")}
    probe = ("import graphmd, graphmd._cypher_files as f, graphmd._local_neo4j as n;"
             "print(graphmd.__file__); print(f.cypher_dir()); print(n._POM.is_file()); print(len(f.names()))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split("\n")
    assert out[0].startswith(str(site)) and out[1] == str(site / "graphmd" / "cypher"), out
    assert out[2] == "True" and int(out[3]) == len(list((ROOT / "cypher").glob("*.cypher")))
    version = subprocess.run([sys.executable, "-m", "graphmd.cli", "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert version == f"graphmd {graphmd.__version__}\n"


def test_one_version_everywhere() -> None:
    """pyproject takes graphmd.__version__ (the wheel test checks it arrives); the image
    docker-compose builds is tagged with it too."""
    assert re.search(r'^dynamic = \[.*"version"', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    assert f"image: graphmd:{graphmd.__version__}\n" in (ROOT / "docker-compose.yml").read_text()


def test_the_files_the_dockerfile_copies_build_the_same_wheel(dist: Path, tmp_path: Path) -> None:
    """The image installs from only what its COPY lines bring in: a file they miss (the
    license, the queries) is missing from the image, or fails `docker build` far from here."""
    context = tmp_path / "context"
    context.mkdir()
    copies = re.findall(r"^COPY\s+(.+?)\s+(\S+)\s*$", (ROOT / "Dockerfile").read_text(), flags=re.M)
    assert copies
    for sources, destination in copies:
        for source in sources.split():
            target = context / (source if destination.endswith("/") else destination.removeprefix("./"))
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(ROOT / source, target)
    _build(context, tmp_path / "out", "--wheel")
    assert set(_wheel(tmp_path / "out").namelist()) == set(_wheel(dist).namelist())


def test_the_image_and_compose_start_serve_with_options_it_takes() -> None:
    """The arguments the image's ENTRYPOINT and CMD, and docker-compose's command, give
    `graphmd serve` parse as its options: a misspelt one would stop the container at start,
    where no test here could see it (no Docker engine)."""
    import json

    import typer.main

    from graphmd.cli import app

    dockerfile = (ROOT / "Dockerfile").read_text()
    [entrypoint] = re.findall(r"^ENTRYPOINT (\[.*\])$", dockerfile, flags=re.M)
    [cmd] = re.findall(r"^CMD (\[.*\])$", dockerfile, flags=re.M)
    assert json.loads(entrypoint)[:2] == ["graphmd", "serve"]
    compose = re.search(r"^    command: (\[.*?\])$", (ROOT / "docker-compose.yml").read_text(), flags=re.M | re.S)
    assert compose
    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    for args in (json.loads(entrypoint)[2:] + json.loads(cmd), json.loads(entrypoint)[2:] + json.loads(compose[1])):
        context = serve.make_context("serve", list(args))
        assert context.params["max_receive_message_length"] == 104857600, args
