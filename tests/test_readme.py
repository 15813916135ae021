"""The README's Python examples run as printed, in order, against a real Neo4j.

A user's first contact is copying these blocks; they must not drift from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphmd import MetadataStore
from graphmd._config import Settings
from graphmd.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(_python_blocks()) >= 3


def test_readme_python_examples_run(store: MetadataStore, neo4j_server: Settings,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # MetadataStore() in the README finds Neo4j through the environment, as a user's would.
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    if neo4j_server.database:
        monkeypatch.setenv("GRAPHMD_NEO4J_DATABASE", neo4j_server.database)
    namespace: dict[str, object] = {}
    blocks = _python_blocks()
    # The blocks run in order in one namespace, as pasted one after another into a REPL.
    exec(compile(blocks[0], "README.md[python 1]", "exec"), namespace)
    printed = capsys.readouterr().out.split()
    assert len(printed) >= 2 and printed[0].isdigit()
    opened = namespace["store"]
    assert isinstance(opened, MetadataStore)
    try:
        for i, block in enumerate(blocks[1:], start=2):
            exec(compile(block, f"README.md[python {i}]", "exec"), namespace)
        graph = namespace["graph"]
        assert {a.uri for a in graph.artifacts} == {"/models/1", "/data/day1"}  # type: ignore[attr-defined]
        assert "<svg" in namespace["page"] and "/models/1" in namespace["page"]  # type: ignore[operator]
        models = opened.get_artifacts_by_uri("/models/2")
        assert len(models) == 1
        # The warm start found the LIVE model of the first block, and read it.
        assert namespace["base"].uri == "/models/1"  # type: ignore[attr-defined]
        # run-2 trained /models/2 from it; run-3, on the same inputs, reused /models/2: CACHED.
        trainers = {}
        for run_name in ("run-2", "run-3"):
            run = opened.get_context_by_type_and_name("PipelineRun", run_name)
            [trainers[run_name]] = opened.get_executions_by_context(run.id)  # type: ignore[union-attr]
        assert (trainers["run-2"].last_known_state.name, trainers["run-3"].last_known_state.name) == (
            "COMPLETE", "CACHED")
        for trainer in trainers.values():
            events = opened.get_events_by_execution_ids([trainer.id])
            assert {e.path[0] for e in events if e.type.name == "INPUT"} == {"examples", "base_model"}
            assert [e.artifact_id for e in events if e.type.name == "OUTPUT"] == [models[0].id]
        # Who triggered run-2 is what the run context recorded, as the Lineage section says.
        result = CliRunner().invoke(app, ["query", "who_triggered_run", "-p", "run_name=run-2"], catch_exceptions=False)
        assert '"triggered_by": "alice"' in result.output and '"trigger": "manual"' in result.output, result.output
        # The tree the README prints for /models/2 is what the CLI prints (ids aside: this
        # store is shared with other tests).
        [printed] = re.findall(r"```text\n(SavedModel .*?)```", README.read_text(encoding="utf-8"), flags=re.S)
        result = CliRunner().invoke(app, ["lineage", "/models/2", "--up"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert re.sub(r"#\d+", "#", result.output) == re.sub(r"#\d+", "#", printed)
    finally:
        opened.close()


DOCS = [README, *sorted((README.parent / "docs").glob("*.md"))]


def test_every_pip_install_of_graphmd_names_a_clone() -> None:
    # graphmd is installed from a clone (README, "Install it into your own environment"):
    # a bare `pip install 'graphmd[mlmd]'` asks PyPI for a package of that name instead.
    for doc in DOCS:
        for target in re.findall(r"pip install\s+['\"]?([^\s'\"`;]+)", doc.read_text(encoding="utf-8")):
            if re.match(r"graphmd\b", target):
                raise AssertionError(f"{doc.name}: `pip install {target}` installs from PyPI, not a clone")
