"""The examples of docs/*.md run as printed, against a real Neo4j, and do what their text says.

Like tests/test_readme.py for the README: a guide's reader copies these blocks first, so they
must not drift from the code. Each fenced block of the guides below is either run by a test
here (HANDLED, with the claims its text makes) or left out with its reason (SKIPPED); a new
block is neither until someone decides, and test_every_block_is_run_or_skipped says so.
docs/performance.md and docs/performance-log.md are measurements (bench/ reproduces them), not
examples to paste.

Shell lines run as printed through bash, with the `graphmd` of this environment, in a
temporary directory; what stands in for a value the reader fills in (`ID`) or a directory of
theirs (`/tmp/`) is named where it is replaced. The guides that read `make demo`'s history get
it from `python -m graphmd.demo --reset`, the doc's own way of recording it into a server.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from graphmd import (
    Artifact,
    ContextType,
    Execution,
    ExecutionType,
    ListOptions,
    MetadataStore,
    ProtoValue,
    export_store,
    import_store,
)
from graphmd import _cypher_files as files
from graphmd._config import Settings
from graphmd._export import open_export
from graphmd._models import Association, Context
from graphmd._store import _list_query

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = ["lineage.md", "cli.md", "operations.md", "filter_query.md", "data-model.md", "browser.md", "migrating.md"]

# Blocks by guide and the start of their first line: the test that runs each.
HANDLED: dict[str, dict[str, str]] = {
    "lineage.md": {
        "from graphmd import (EndingNodes": "test_lineage_python",
        "graphmd lineage /models/taxi/run-0005 --up --depth 4": "test_lineage_commands",
    },
    "operations.md": {
        "graphmd prune --type PipelineRun": "test_operations_prune",
        "graphmd export store.jsonl.gz": "test_operations_export_import",
    },
    "filter_query.md": {
        "from graphmd import ListOptions, MetadataStore": "test_filter_query_python",
        "filter_query: unknown field 'nme'": "test_filter_query_errors",
        "MATCH (n:Artifact)": "test_filter_query_cypher",
    },
    "data-model.md": {
        '{"$proto": true': "test_data_model_proto_json",
    },
    "browser.md": {},
    "migrating.md": {
        "graphmd import-mlmd path/to/metadata.sqlite": "test_migrating",
        "from graphmd import MetadataStore\nfrom graphmd.mlmd import import_mlmd, parse_source": "test_migrating",
        "from graphmd import MetadataStore\nfrom graphmd.mlmd import GraphmdReader": "test_migrating",
        "artifact 2: uri: ml-metadata": "test_migrating",
        "graphmd export-mlmd /tmp/metadata.sqlite": "test_migrating",
    },
}

# Blocks no test runs, with the reason.
SKIPPED: dict[str, dict[str, str]] = {
    "data-model.md": {
        "(:Type:ArtifactType)": "a drawing of the graph's shape, not code",
    },
    "browser.md": {
        ":param artifact_id => 42": "Neo4j Browser commands, typed in a browser: scripts/screenshot drives them in "
                                    "headless Chromium (test_browser_params checks they name the file's parameters)",
    },
    "migrating.md": {
        ".venv/bin/python -m tests._mlmd_history /tmp/big.sqlite --runs 5900":
            "a long run (~8 min to build, about a minute to import); test_migrating imports a 100-run store "
            "the same module builds",
    },
}

# Lines of handled shell blocks no test runs, with the reason.
SKIPPED_LINES: dict[str, dict[str, str]] = {
    "migrating.md": {
        "GRAPHMD_MLMD_PASSWORD=... graphmd import-mlmd mysql://mlmd@db.example:3306/metadb":
            "a MySQL server on another host: tests/test_import_mlmd_mysql.py imports from a local MariaDB",
    },
}


@dataclass(frozen=True)
class Block:
    doc: str
    lang: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0]


def blocks(doc: str) -> list[Block]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    # Fences may be indented (in a list item); the block's lines lose that indentation.
    found = []
    for indent, lang, body in re.findall(r"^( *)```(\w*)\n(.*?)^ *```", text, flags=re.S | re.M):
        found.append(Block(doc, lang, "\n".join(line[len(indent):] for line in body.split("\n"))))
    return found


def block(doc: str, start: str) -> Block:
    """The one block of ``doc`` that starts with ``start`` (a key of HANDLED)."""
    assert start in HANDLED[doc], f"{doc}: {start!r} is not in HANDLED"
    found = [b for b in blocks(doc) if b.text.startswith(start)]
    assert len(found) == 1, f"{doc}: {len(found)} blocks start with {start!r}, not one"
    return found[0]


def commands(doc: str, start: str) -> list[str]:
    """A shell block's command lines, the skipped ones left out."""
    lines = [line for line in block(doc, start).text.splitlines() if line.strip()]
    return [line for line in lines if not any(line.startswith(s) for s in SKIPPED_LINES.get(doc, {}))]


def without_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def test_every_block_is_run_or_skipped() -> None:
    for doc in GUIDES:
        starts = [*HANDLED.get(doc, {}), *SKIPPED.get(doc, {})]
        for b in blocks(doc):
            matches = [s for s in starts if b.text.startswith(s)]
            assert len(matches) == 1, (f"{doc}: the block starting {b.first_line!r} is run by no test here and "
                                       "skipped with no reason: add it to HANDLED (and run it) or to SKIPPED")
        for start in starts:
            assert any(b.text.startswith(start) for b in blocks(doc)), f"{doc}: no block starts with {start!r}"
    for doc, handled in HANDLED.items():
        for test in handled.values():
            assert callable(globals().get(test)), f"{doc}: HANDLED names {test}, which is no test here"
    for doc, lines in SKIPPED_LINES.items():
        for line in lines:
            assert any(line in b.text.splitlines() for b in blocks(doc)), f"{doc}: no line {line!r}"


# --- running things as a reader would --------------------------------------------------------


def _environment(neo4j_server: Settings) -> dict[str, str]:
    env = {**os.environ, "GRAPHMD_CONFIG": os.devnull, "GRAPHMD_NEO4J_URI": neo4j_server.uri,
           "GRAPHMD_NEO4J_USER": neo4j_server.user, "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or "",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("COLUMNS", None)
    if neo4j_server.database:
        env["GRAPHMD_NEO4J_DATABASE"] = neo4j_server.database
    return env


@dataclass(frozen=True)
class Ran:
    line: str
    code: int
    out: str
    err: str


@pytest.fixture
def shell(neo4j_server: Settings, tmp_path: Path):
    """Runs a doc's shell line with bash in a temporary directory, pointed at the test Neo4j."""
    env = _environment(neo4j_server)

    def run(line: str, *, code: int | None = 0, stdin: str | None = None) -> Ran:
        done = subprocess.run(["bash", "-c", "set -o pipefail\n" + line], cwd=tmp_path, env=env, input=stdin,
                              capture_output=True, text=True, encoding="utf-8", timeout=300)
        ran = Ran(line, done.returncode, done.stdout, done.stderr)
        if code is not None:
            assert ran.code == code, f"{line}\nexit {ran.code}\n{ran.out[-3000:]}\n{ran.err[-3000:]}"
        return ran

    return run


@contextlib.contextmanager
def environment(neo4j_server: Settings) -> Iterator[None]:
    """MetadataStore() in a doc's Python finds the test Neo4j through the environment."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _environment(neo4j_server).items():
            if key.startswith("GRAPHMD_"):
                patch.setenv(key, value)
        yield


def run_python(b: Block, namespace: dict[str, object], name: str) -> str:
    """Runs a python block in ``namespace``; what it printed."""
    assert b.lang == "python", b.first_line
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(b.text, name, "exec"), namespace)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_export(session_store: MetadataStore, neo4j_server: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make demo`'s history, recorded as lineage.md says (`python -m graphmd.demo --reset`
    with GRAPHMD_NEO4J_URI set), then exported so each test restores it with the same ids."""
    where = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "graphmd.demo", "--reset", "--page", str(where / "page.html")],
                          env=_environment(neo4j_server), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "run-0005 (by carol): 7 executions COMPLETE" in done.stdout
    path = where / "demo.jsonl"
    with path.open("w", encoding="utf-8") as out:
        export_store(session_store, out)
    return path


@pytest.fixture
def demo(store: MetadataStore, demo_export: Path) -> MetadataStore:
    """A store holding `make demo`'s history."""
    with open_export(demo_export) as lines:
        import_store(store, lines)
    return store


def _artifact_id(store: MetadataStore, type_name: str, name: str) -> int:
    found = store.get_artifact_by_type_and_name(type_name, name)
    assert found is not None and found.id is not None, name
    return found.id


# --- lineage.md ---------------------------------------------------------------------------------


def test_lineage_python(demo: MetadataStore, neo4j_server: Settings) -> None:
    namespace: dict[str, object] = {}
    with environment(neo4j_server):
        run_python(block("lineage.md", "from graphmd import (EndingNodes"), namespace, "lineage.md[python 1]")
    opened = namespace["store"]
    try:
        # "Trace a model back to the data it was trained on": every run's Examples, as the
        # Trainer warm-starts from the run before.
        assert sorted(a.name for a in namespace["data"]) == [f"run-000{i}/examples" for i in range(6)]  # type: ignore[attr-defined]
        # "everything made from a dataset, stopping at the first models": run-0000's model is
        # reached and not expanded, so no later run's model is.
        impact = {a.name for a in namespace["impact"].artifacts}  # type: ignore[attr-defined]
        assert "run-0000/model" in impact and not any(n.startswith("run-0001/") for n in impact), impact
    finally:
        opened.close()  # type: ignore[attr-defined]


def test_lineage_commands(demo: MetadataStore, shell, tmp_path: Path) -> None:
    model = _artifact_id(demo, "Model", "run-0005/model")
    run = demo.get_context_by_type_and_name("PipelineRun", "run-0005")
    assert run is not None
    # "Ids differ between stores: take them from the listings": the ids the listings give.
    listed = shell("graphmd artifacts --type Model").out
    assert re.search(rf"^{model}\s+Model\s+run-0005/model\s", listed, flags=re.M), listed
    assert re.search(rf"^{run.id}\s+PipelineRun\s+run-0005\s", shell("graphmd contexts").out, flags=re.M)
    pushed = (files.cypher_dir() / "model_pushed.cypher").read_text(encoding="utf-8")

    def expect(line: str, ran: Ran) -> None:
        out = ran.out
        command = without_comment(line)
        if command.startswith("graphmd lineage /models/taxi/run-0005 --up --depth 4"):
            assert out.startswith(f"Model #{model} run-0005/model (/models/taxi/run-0005)\n") and "… more upstream" in out
        elif command.startswith("graphmd lineage /data/taxi/examples/span-5 --down --format mermaid"):
            assert out.startswith("flowchart LR") and '"INPUT examples/0"' in out and "run-0005/pushed_model" in out
        elif command.endswith("--format html -o lineage.html"):
            assert ran.err.strip() == "wrote lineage.html (30 artifacts, 30 executions)"
            page = (tmp_path / "lineage.html").read_text(encoding="utf-8")
            assert "<svg" in page and "run-0000/examples" in page
        elif command == "graphmd query":
            assert set(re.findall(r"^(\w+)\(", out, flags=re.M)) == set(files.names()) and "files:" in ran.err
        elif command == "graphmd artifacts --type Model":
            assert re.findall(r"run-\d+/model", out) == [f"run-000{i}/model" for i in range(6)]
        elif command.startswith("graphmd cypher-shell"):
            # pushed_to: the destination the Pusher recorded; the pushed artifact's uri last.
            assert '"run-0005/model", "run-0005/Pusher", "/serving/taxi", "LIVE"' in out or (
                '| "run-0005/model" | "run-0005/Pusher" | "/serving/taxi" | "LIVE"' in out), out
            assert '"/serving/taxi/5"' in out, out
        elif command == "graphmd query who_triggered_run -p run_name=run-0005":
            [row] = json.loads(out)
            assert (row["triggered_by"], row["trigger"], len(row["executions"])) == ("carol", "schedule", 7)
        elif command == "graphmd compare run-0004 run-0005":
            assert re.search(r"^\*\s+Trainer\.learning_rate\s+0\.03\s+0\.01$", out, flags=re.M), out
            assert re.search(r"^\s+blessed\s+yes \(Evaluator #\d+\)\s+yes \(Evaluator #\d+\)$", out, flags=re.M), out
        elif command == "graphmd compare run-0004 run-0005 --format json":
            compared = json.loads(out)
            # docs/cli.md: the JSON's keys, each field's keys
            documented = re.search(r'`--format json`: `(\{"runs": \[\.\.\.\].*?\})`', (DOCS / "cli.md").read_text())
            assert documented is not None
            assert list(compared) == re.findall(r'"(\w+)": \[\.\.\.\]', documented.group(1))
            fields = re.search(r'each field `\{([^}]*)\}`', (DOCS / "cli.md").read_text())
            assert fields is not None
            for field in (*compared["parameters"], *compared["metrics"], *compared["outcome"]):
                assert list(field) == re.findall(r'"(\w+)"', fields.group(1))
            assert compared["runs"] == ["run-0004", "run-0005"]
        elif command.startswith("graphmd diff") and "--format html" in command:
            assert re.fullmatch(r"wrote diff\.html \(\d+ artifacts, \d+ executions\)", ran.err.strip())
            assert "<svg" in (tmp_path / "diff.html").read_text(encoding="utf-8")
        elif command.startswith("graphmd diff"):
            assert out.startswith("how these were made (upstream lineage, 4 hops):") and "\nshared: " in out
            assert re.search(r"^\*\s+Trainer\.learning_rate\s+0\.03\s+0\.01$", out, flags=re.M), out
        elif command == "graphmd info":
            assert "schema:   version 4 (this graphmd writes 4)" in out and "49 artifacts, 43 executions" in out
        elif command == "graphmd types":
            assert re.search(r"^context\s+\d+\s+PipelineRun\s+trigger:STRING triggered_by:STRING$", out, flags=re.M)
        elif command == "graphmd contexts":
            assert re.findall(r"PipelineRun\s+(run-\d+)", out) == [f"run-000{i}" for i in range(6)]
        elif command in (f"graphmd executions --context {run.id}", "graphmd executions --context run-0005"):
            assert re.findall(r"run-0005/(\w+)\s+COMPLETE", out) == [
                "ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator", "Pusher"]
        elif command == f"graphmd show artifact {model}":
            shown = json.loads(out)
            assert shown["name"] == "run-0005/model" and shown["contexts"] == ["taxi", "run-0005"]
            assert [e["type"] for e in shown["events"]] == ["OUTPUT", "INPUT", "INPUT"]
        else:
            raise AssertionError(f"lineage.md: no check for {line!r}: add what its comment claims")

    for line in commands("lineage.md", "graphmd lineage /models/taxi/run-0005 --up --depth 4"):
        # ID: "a Model's id from the listing", or a context's for --context.
        line = re.sub(r"\bID\b", str(model), line.replace("--context ID", f"--context {run.id}"))
        stdin = None
        if without_comment(line) == "graphmd cypher-shell":
            # Interactive: what its comment says to type, piped in.
            stdin = f":param model_id => {model}\n{pushed}\n:exit\n"
        expect(line, shell(line, stdin=stdin))


def test_lineage_numbers_of_a_200_run_history(store: MetadataStore, neo4j_server: Settings,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The sizes lineage.md quotes for a 200-run history (`record_history(store, 200)`)."""
    from typer.testing import CliRunner

    from graphmd import LineageDirection, LineageSubgraphQueryOptions, NodeSelector
    from graphmd._tfx_pipeline import record_history
    from graphmd.cli import app

    history = record_history(store, 200)
    text = " ".join((DOCS / "lineage.md").read_text(encoding="utf-8").split())  # claims wrap over lines
    for key, value in _environment(neo4j_server).items():
        if key.startswith("GRAPHMD_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("COLUMNS", raising=False)

    def claim(pattern: str) -> tuple[int, ...]:
        found = re.search(pattern, text)
        assert found is not None, pattern
        return tuple(int(n.replace(",", "")) for n in found.groups())

    def graphmd(*args: str):  # noqa: ANN202
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    newest = history.artifacts["run-0199/model"]
    tree = graphmd("lineage", str(newest), "--up", "--whole").stdout.splitlines()
    upstream = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[newest]), direction=LineageDirection.UPSTREAM))
    *sizes, width = claim(r"the whole upstream lineage of the newest model of a 200-run history is "
                          r"([\d,]+) lines \(([\d,]+) nodes, (\d+) blocks, at most (\d+) characters wide\)")
    blocks_below = sum(1 for line in tree if re.match(r"\[\d+\] ", line))
    assert (len(tree), len(upstream.artifacts) + len(upstream.executions), blocks_below) == tuple(sizes)
    # Ids (in the lines) have more digits in a store that has counted longer than a new one.
    assert width - 10 <= max(map(len, tree)) <= width + 10
    (draws, edges_drawn, refused, edges_refused) = claim(r"`--depth (\d+)` \((\d+) edges\) draws and `--depth (\d+)` \((\d+) edges\) does not")
    for depth, edges, note in ((draws, edges_drawn, False), (refused, edges_refused, True)):
        mermaid = graphmd("lineage", str(newest), "--up", "--depth", str(depth), "--format", "mermaid")
        assert (mermaid.stdout.count(" -->"), "Mermaid 11 draws at most 500 edges" in mermaid.stderr) == (edges, note)
    svg = graphmd("lineage", str(newest), "--up", "--whole", "--format", "svg").stdout
    assert re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups() == tuple(  # type: ignore[union-attr]
        map(str, claim(r"upstream lineage of the newest model of a 200-run history is ([\d,]+) x ([\d,]+) px")))
    model = history.artifacts["run-0100/model"]

    def reached(direction: LineageDirection) -> set[tuple[str, int | None]]:
        graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
            starting_artifacts=NodeSelector(ids=[model]), direction=direction))
        return {("artifact", a.id) for a in graph.artifacts} | {("execution", x.id) for x in graph.executions}

    counts = store.counts()
    both = reached(LineageDirection.UPSTREAM) | reached(LineageDirection.DOWNSTREAM)
    assert (len(reached(LineageDirection.BIDIRECTIONAL)), counts["artifacts"] + counts["executions"], len(both)) == (
        *claim(r"from run 100's model of a 200-run history, `record_history\(store, 200\)`: all its ([\d,]+) nodes"),
        *claim(r"all its ([\d,]+) nodes"),
        *claim(r"where the model's ancestors and descendants are ([\d,]+)\)"))


# --- data-model.md ------------------------------------------------------------------------------


def test_data_model_proto_json() -> None:
    printed = json.loads(block("data-model.md", '{"$proto": true').text)
    value = ProtoValue(type_url=printed["type_url"], value=base64.b64decode(printed["value"]))
    artifact = Artifact(type_id=1, custom_properties={"anomalies": value})
    assert json.loads(artifact.model_dump_json())["custom_properties"]["anomalies"] == printed
    assert artifact.model_dump(mode="json")["custom_properties"]["anomalies"] == printed
    assert Artifact.model_validate_json(artifact.model_dump_json()) == artifact
    assert Artifact.model_validate(artifact.model_dump()) == artifact


def test_data_model_upstream_rows_on_the_demo(demo: MetadataStore) -> None:
    # "Without the aggregation ... on the demo's 6 runs, 399 rows for 59 nodes."
    text = (DOCS / "data-model.md").read_text(encoding="utf-8")
    claim = re.search(r"on the demo's 6 runs, ([\d,]+) rows for ([\d,]+) nodes", text)
    assert claim is not None
    [query] = re.findall(r"`(MATCH p = \(m:Artifact \{id: \$id\}\)<-\[:EVENT\*\]-\(up\)) RETURN up, min", text)
    rows = demo.driver.execute_query(query + " RETURN up", id=_artifact_id(demo, "Model", "run-0005/model"),
                                     database_=demo.database).records
    assert (len(rows), len({r["up"].element_id for r in rows})) == tuple(int(n.replace(",", "")) for n in claim.groups())


# --- operations.md ------------------------------------------------------------------------------


def test_operations_prune(demo: MetadataStore, shell) -> None:
    # The third line prunes TFX's run context type: a run of that type, as TFX names it.
    run_type = demo.put_context_type(ContextType(name="pipeline_run"))
    step_type = demo.put_execution_type(ExecutionType(name="tfx.components.trainer.component.Trainer"))
    [tfx_run] = demo.put_contexts([Context(type_id=run_type, name="my-run-42")])
    [step] = demo.put_executions([Execution(type_id=step_type)])
    demo.put_attributions_and_associations([], [Association(context_id=tfx_run, execution_id=step)])
    lines = commands("operations.md", "graphmd prune --type PipelineRun")
    assert len(lines) == 4
    planned = shell(lines[0])
    assert "\nwould delete: 0 runs" in planned.out and "nothing to delete" in planned.err  # prints what would go
    assert "\ndeleted:" in "\n" + shell(lines[1]).out
    # 2026-06-01 keeps the demo's runs, whenever this runs: made since, or among the newest 20.
    assert len(demo.get_contexts_by_type("PipelineRun")) == 6
    assert shell(lines[2]).out.startswith("1 pipeline_run run chosen")
    assert demo.get_contexts_by_id([tfx_run]) == [] and demo.get_executions_by_id([step]) == []
    kept = shell(lines[3])  # every run but the newest 100: the demo's 6 are all among them
    assert "\nwould delete: 0 runs" in kept.out and "among the newest 100" in kept.err, kept


def test_operations_export_import(demo: MetadataStore, shell, tmp_path: Path) -> None:
    export, restore, pipe = commands("operations.md", "graphmd export store.jsonl.gz")
    counts = demo.counts()
    shell(export)
    first = (tmp_path / "store.jsonl.gz").read_bytes()
    assert first[:2] == b"\x1f\x8b"  # gzip-compressed: the name ends in .gz
    demo.delete_everything()  # "into an empty store"
    shell(restore)
    assert demo.counts() == counts
    shell(export.replace("store.jsonl.gz", "again.jsonl.gz"))
    assert (tmp_path / "again.jsonl.gz").read_bytes() == first  # byte-identical, compressed as well
    ran = shell(pipe)
    assert ran.out == "" and gzip.decompress((tmp_path / "store.jsonl.gz").read_bytes()) == gzip.decompress(first)
    demo.delete_everything()
    shell(restore)  # "import reads it as it is"
    assert demo.counts() == counts


# --- filter_query.md ----------------------------------------------------------------------------

def test_filter_query_python(demo: MetadataStore, neo4j_server: Settings) -> None:
    namespace: dict[str, object] = {}
    with environment(neo4j_server):
        run_python(block("filter_query.md", "from graphmd import ListOptions, MetadataStore"), namespace,
                   "filter_query.md[python 1]")
    try:
        assert namespace["models"] == []  # no run-7 on the demo's store; what matters is that it runs
    finally:
        namespace["store"].close()  # type: ignore[attr-defined]


def test_filter_query_cypher() -> None:
    text = (DOCS / "filter_query.md").read_text(encoding="utf-8")
    [expression] = re.findall(r'filter_query="([^"]*)",\n\s*order_by=OrderBy.CREATE_TIME, is_asc=False, max_result_size=20', text)
    query, params, _ = _list_query(Artifact, ListOptions(filter_query=expression, order_by="CREATE_TIME", is_asc=False,
                                                         max_result_size=20), "MATCH (n:Artifact)", {})
    # The doc wraps the WHERE over lines; the words and their order are the query's.
    assert block("filter_query.md", "MATCH (n:Artifact)").text.split() == query.split()
    for key in ("f_0", "f_1", "f_5", "page_limit"):
        assert f"`${key} = {params[key]!r}`" in text, key
    assert f"`$f_2/3/4 = {params['f_2']!r}/{params['f_3']!r}/{params['f_4']!r}`" in text


def test_filter_query_errors(store: MetadataStore) -> None:
    from graphmd import InvalidArgumentError

    text = (DOCS / "filter_query.md").read_text(encoding="utf-8")
    # "Listing artifacts with `nme = 'x'`, ... and `state = live`:", then the messages in that order.
    listed = re.search(r"Listing artifacts with\s(.*?):\n\n```", text, flags=re.S)
    assert listed is not None
    expressions = re.findall(r"`([^`]+)`", listed.group(1))
    printed = block("filter_query.md", "filter_query: unknown field 'nme'").text.strip().splitlines()
    assert len(printed) == len(expressions) == 4
    for expression, line in zip(expressions, printed):
        with pytest.raises(InvalidArgumentError) as raised:
            store.get_artifacts(ListOptions(filter_query=expression))
        assert raised.value.field == "filter_query"
        pattern = ".*".join(re.escape(part) for part in line.split("..."))  # "..." stands for what it leaves out
        assert re.fullmatch(pattern, str(raised.value)), (expression, str(raised.value))


# --- browser.md ---------------------------------------------------------------------------------


def test_browser_params() -> None:
    [b] = [b for b in blocks("browser.md") if b.text.startswith(":param")]
    named = re.findall(r"^:param (\w+) =>", b.text, flags=re.M)
    query = files.load("lineage_upstream")
    assert named and all(f"${name}" in query for name in named)
    assert set(re.findall(r"\$(\w+)", query)) == set(named)
    assert "[:EVENT*0..]" in query  # step 3 says where to write the count


# --- migrating.md -------------------------------------------------------------------------------


def test_migrating(store: MetadataStore, neo4j_server: Settings, shell, tmp_path: Path) -> None:
    pytest.importorskip("ml_metadata")
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2 as pb

    from _mlmd_history import build_history

    # The store the tests import: 100 runs, as the differences the doc prints were found on.
    source = tmp_path / "path" / "to" / "metadata.sqlite"
    source.parent.mkdir(parents=True)
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(source)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    build_history(mlmd.MetadataStore(config), 100)
    shutil.copy(source, tmp_path / "metadata.sqlite")  # the Python examples' name

    first, verify = commands("migrating.md", "graphmd import-mlmd path/to/metadata.sqlite")
    assert "--verify" in verify
    ran = shell(first)
    assert "equal:" in ran.err and "compared in a sample of lineage subgraphs" in ran.err, ran.err
    ran = shell(verify)  # a rerun: writes nothing, then compares everything
    assert "compared node by node and edge by edge" in ran.err and re.search(r"^events +2,698 +2,698 +0$", ran.err, re.M), ran.err

    store.delete_everything()
    namespace: dict[str, object] = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with environment(neo4j_server):
            run_python(block("migrating.md", "from graphmd import MetadataStore\nfrom graphmd.mlmd import import_mlmd, parse_source"),
                       namespace, "migrating.md[python 1]")
            result = namespace["result"]
            assert result.read == result.written == store.counts()  # type: ignore[attr-defined]
            printed = run_python(block("migrating.md", "from graphmd import MetadataStore\nfrom graphmd.mlmd import GraphmdReader"),
                                 {}, "migrating.md[python 2]")
            assert printed == "True 0 []\n"
            # The differences it names, field by field, as the doc prints them: artifact 2's uri
            # changed in graphmd, and the event of artifact 1 and execution 1 gone.
            store.driver.execute_query("MATCH (a:Artifact {id: 2}) SET a.uri = '/changed'", database_=store.database)
            store.driver.execute_query("MATCH (:Artifact {id: 1})-[e:EVENT {type: 'OUTPUT'}]-(:Execution {id: 1}) DELETE e",
                                       database_=store.database)
            printed = run_python(block("migrating.md", "from graphmd import MetadataStore\nfrom graphmd.mlmd import GraphmdReader"),
                                 {}, "migrating.md[python 2]")
    finally:
        os.chdir(cwd)
    expected = block("migrating.md", "artifact 2: uri: ml-metadata").text.strip().splitlines()
    assert printed == f"False {len(expected)} {expected!r}\n"

    # Export: into new files ("/tmp/" is the reader's directory: here a temporary one).
    written, checked = commands("migrating.md", "graphmd export-mlmd /tmp/metadata.sqlite")
    ran = shell(written.replace("/tmp/", f"{tmp_path}/out-"))
    assert "exported to" in ran.err and "equal:" in ran.err
    ran = shell(checked.replace("/tmp/", f"{tmp_path}/out-"))
    assert "compared node by node and edge by edge" in ran.err
    shell(written.replace("/tmp/", f"{tmp_path}/out-"), code=1)  # not into a store with data
