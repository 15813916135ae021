"""Moving a store with the CLI: gzip exports read and written as they are, input that is no
export said in one line, a half-finished import warned about, progress bars on a terminal
only, and the ml-metadata copies' bars counting nodes rather than ids."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from graphmd import (Artifact, ArtifactType, Context, ContextType, Execution, ExecutionType, MetadataStore,
                     import_store)
from graphmd._config import Settings
from graphmd._export import open_export
from graphmd.cli import app


@pytest.fixture
def run(neo4j_server: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """`graphmd ARGS...` against the test Neo4j (no config file), with bytes on stdin when
    given; returns click's Result (stdout and stderr apart). ``code=`` is the exit code it
    must end with."""
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "no-config.toml"))
    runner = CliRunner()

    def invoke(*args: str, input: bytes | None = None, code: int = 0) -> Any:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


def _fill(store: MetadataStore, runs: int = 3) -> None:
    model_t = store.put_artifact_type(ArtifactType(name="Model"))
    step_t = store.put_execution_type(ExecutionType(name="Trainer"))
    run_t = store.put_context_type(ContextType(name="PipelineRun"))
    for i in range(runs):
        store.put_execution(Execution(type_id=step_t, name=f"run-{i}/Trainer"), [],
                            [Context(type_id=run_t, name=f"run-{i}")])
        store.put_artifacts([Artifact(type_id=model_t, uri=f"/models/{i}", name=f"run-{i}/model")])


def test_export_to_a_gz_name_writes_gzip_and_import_reads_it_from_a_file_or_stdin(store, run, tmp_path):
    _fill(store)
    before = store.counts()
    plain, packed = tmp_path / "store.jsonl", tmp_path / "store.jsonl.gz"
    run("export", str(plain), "-q")
    said = run("export", str(packed), "-q").stderr
    assert said.strip().endswith(f"to {packed}") and not (tmp_path / "store.jsonl.gz.partial").exists()
    assert packed.read_bytes()[:2] == b"\x1f\x8b" and gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    # No name or time in the gzip header: the same store compresses to the same bytes.
    again = tmp_path / "again.jsonl.gz"
    run("export", str(again), "-q")
    assert again.read_bytes() == packed.read_bytes()
    dashed = tmp_path / "dashed.jsonl.gz"  # -o FILE, as `graphmd lineage -o` takes it
    run("export", "-o", str(dashed), "-q")
    assert dashed.read_bytes() == packed.read_bytes()
    assert "give FILE or --output, not both" in run("export", str(plain), "-o", str(dashed), code=2).stderr
    store.delete_everything()
    assert f"from {packed}" in run("import", str(packed), "-q").stderr
    assert store.counts() == before
    # From stdin, as `graphmd export -q - | gzip | graphmd import -` hands it over; and a plain
    # export whose name ends in .gz is read as the plain file it is.
    store.delete_everything()
    assert "from stdin" in run("import", "-", "-q", input=packed.read_bytes()).stderr
    assert store.counts() == before
    store.delete_everything()
    named = tmp_path / "plain-after-all.gz"
    named.write_bytes(plain.read_bytes())
    run("import", str(named), "-q")
    assert store.counts() == before


def test_import_says_in_one_line_what_input_is_no_export(store, run, tmp_path):
    _fill(store)
    text = io.StringIO()
    from graphmd import export_store

    export_store(store, text)
    export = text.getvalue().encode()
    store.delete_everything()
    before = store.counts()

    def refused(args: list[str], stdin: bytes | None = None) -> str:
        result = run("import", *args, "-q", input=stdin, code=1)
        assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1, result.output
        return result.stderr

    binary = tmp_path / "photo.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    assert f"error: {binary} is not a graphmd export: it is not UTF-8 text" in refused([str(binary)])
    assert "error: stdin is not a graphmd export: it is not UTF-8 text" in refused(["-"], binary.read_bytes())
    xz = tmp_path / "store.jsonl.xz"
    xz.write_bytes(lzma.compress(export))
    assert f"{xz} is xz-compressed" in refused([str(xz)]) and f"`xz -dc {xz} | graphmd import -`" in refused([str(xz)])
    assert "stdin is xz-compressed" in refused(["-"], xz.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(export)[:-40])
    said = refused([str(cut)])
    assert f"{cut} is not a whole gzip file" in said and "(nothing was imported)" in said
    assert store.counts() == before  # nothing written for any of them


def test_the_library_reads_a_gzip_export_through_open_export_or_gzip_open(store, tmp_path):
    _fill(store)
    before = store.counts()
    path = tmp_path / "store.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        from graphmd import export_store

        export_store(store, fh)
    for opened in (lambda: open_export(path), lambda: gzip.open(path, "rt", encoding="utf-8")):
        store.delete_everything()
        with opened() as fh:
            import_store(store, fh)
        assert store.counts() == before
    # A gzip file opened as plain text: an InvalidArgumentError saying what it is, no UnicodeDecodeError.
    store.delete_everything()
    from graphmd import InvalidArgumentError

    with path.open(encoding="utf-8") as fh, pytest.raises(InvalidArgumentError) as info:
        import_store(store, fh)
    assert "not UTF-8 text" in info.value.message and "gzip-compressed" in info.value.message


def test_an_unfinished_import_is_warned_about_once_by_the_commands_that_read(store, run, tmp_path):
    _fill(store, runs=30)
    plain = tmp_path / "store.jsonl"
    run("export", str(plain), "-q")
    lines = plain.read_bytes().splitlines(keepends=True)
    store.delete_everything()
    # `head -n 100 store.jsonl | graphmd import -`: most of it is written, the end is missing.
    said = run("import", "-", "-q", "--batch-size", "10", input=b"".join(lines[:-5]), code=1).stderr
    assert "truncated" in said
    warning = ("warning: an import of stdin did not finish: the store holds part of it; empty it (`graphmd reset "
               "--yes`) and import again")
    listed = run("artifacts")
    assert listed.stderr.strip() == warning and "run-0/model" in listed.stdout
    assert run("types").stderr.count("did not finish") == 1
    assert run("contexts", "--format", "json").stderr.count("did not finish") == 1
    # info says it in its report, once; reset is how to clear it, and says nothing of it.
    shown = run("info")
    assert shown.stderr == "" and shown.stdout.count("did not finish") == 1
    assert "did not finish" not in run("reset").stderr
    run("reset", "--yes", "-q")
    assert run("artifacts").stderr == ""


def _on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `graphmd ARGS` with stdout and stderr on a pseudo-terminal of 80 columns; its exit
    code and everything it wrote, escape sequences removed."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "graphmd.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=terminal, stderr=terminal, env={**env, "TERM": "xterm"})
    os.close(terminal)
    written = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            written += chunk
        elif proc.poll() is not None:
            break
    os.close(controller)
    return proc.wait(timeout=60), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", written.decode(errors="replace"))


def test_progress_bars_draw_on_a_terminal_only(store, neo4j_server, tmp_path):
    _fill(store)
    env = {**os.environ, "GRAPHMD_NEO4J_URI": neo4j_server.uri, "GRAPHMD_NEO4J_USER": neo4j_server.user,
           "GRAPHMD_NEO4J_PASSWORD": neo4j_server.password or "", "GRAPHMD_CONFIG": str(tmp_path / "none.toml")}
    env.pop("COLUMNS", None)
    graphmd = [sys.executable, "-m", "graphmd.cli"]
    path = tmp_path / "store.jsonl"
    # Piped or redirected: the closing line alone, not even the bar's last frame.
    for args in (["export", str(path)], ["prune", "--type", "PipelineRun", "--before", "2999-01-01"],
                 ["reset", "--yes"], ["import", str(path)]):
        done = subprocess.run([*graphmd, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "━" not in done.stderr and "0:00" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) <= 1, done.stderr  # reset says what it did on stdout
    code, shown = _on_a_terminal(["export", str(tmp_path / "again.jsonl")], env)
    assert code == 0 and "exporting" in shown and "━" in shown, shown
    code, shown = _on_a_terminal(["reset", "--yes"], env)
    assert code == 0 and "deleting" in shown and "━" in shown, shown
    _, quiet = _on_a_terminal(["export", str(tmp_path / "quiet.jsonl"), "-q"], env)
    assert "━" not in quiet and "exported" in quiet


def test_the_time_left_column_says_how_long_at_the_rate_so_far():
    from types import SimpleNamespace

    from graphmd.cli._options import _TimeLeft, progress_columns

    column = _TimeLeft()
    assert column.render(SimpleNamespace(finished=False, total=100, time_remaining=3725.4)).plain == "1:02:05 left"
    assert column.render(SimpleNamespace(finished=False, total=100, time_remaining=None)).plain == "-:--:-- left"
    assert column.render(SimpleNamespace(finished=True, total=100, time_remaining=0)).plain == ""
    assert column.render(SimpleNamespace(finished=False, total=None, time_remaining=None)).plain == ""
    assert any(isinstance(c, _TimeLeft) for c in progress_columns(column))


def test_the_ml_metadata_copies_count_nodes_not_ids(store: MetadataStore, tmp_path: Path):
    """Ids go on after a reset, so the highest id is far above the count: the bars' totals are
    counts, mid-phase as at the end, both ways."""
    pytest.importorskip("ml_metadata")
    from graphmd.mlmd._client import sqlite_source
    from graphmd.mlmd._export import export_mlmd
    from graphmd.mlmd._import import import_mlmd

    _fill(store, runs=6)
    store.delete_everything()  # the id counters stay: the next ids are past these
    _fill(store, runs=5)
    assert max(c.id or 0 for c in store.get_contexts()) > 5
    calls: list[tuple[str, int, int | None]] = []
    export_mlmd(store, tmp_path / "m.sqlite", batch_size=2,
                progress=lambda phase, done, total: calls.append((phase, done, total)))
    totals = {phase: {total for p, _, total in calls if p == phase} for phase, _, _ in calls}
    assert totals["contexts"] == {5} and totals["artifacts"] == {5} and totals["executions"] == {5}, calls
    store.delete_everything()
    calls.clear()
    import_mlmd(store, sqlite_source(tmp_path / "m.sqlite"), batch_size=2,
                progress=lambda phase, done, total: calls.append((phase, done, total)))
    totals = {phase: {total for p, _, total in calls if p == phase} for phase, _, _ in calls}
    assert totals["contexts"] == {5} and totals["artifacts"] == {5} and totals["executions"] == {5}, calls
    assert [done for phase, done, _ in calls if phase == "artifacts"] == [2, 4, 5, 5]


def test_an_import_cut_off_by_neo4j_says_what_it_left_in_the_store(cli, store, tmp_path, monkeypatch):
    """Neo4j gone half way through `graphmd import`: the command said only that Neo4j was not
    reachable (the words an unreachable server gets replaced the import's own), and not that
    the store now held part of the export; the next command said that."""
    from graphmd import UnavailableError
    from graphmd._export import _Importer

    _fill(store, runs=10)
    path = tmp_path / "store.jsonl"
    cli("export", str(path), "-q")
    store.delete_everything()
    flush = _Importer.flush

    def neo4j_goes_away_after_one_batch(self):
        if self.written:
            raise UnavailableError(f"Neo4j at {store.settings.uri} is unavailable") from ConnectionRefusedError()
        flush(self)

    monkeypatch.setattr(_Importer, "flush", neo4j_goes_away_after_one_batch)
    said = cli("import", str(path), "-q", "--batch-size", "10", code=1)
    assert said.startswith("error: ") and "connection refused" in said, said  # the plain words of the outage
    assert ("the import stopped with 10 records written, so the store holds part of the export: empty it "
            "(`graphmd reset --yes` with the same connection options) and import again") in said
    # Gone while a batch committed: that batch may be stored too (a user counted 2,000 more than said).
    from graphmd import MetadataStore

    cli("reset", "--yes", "-q")
    monkeypatch.setattr(_Importer, "flush", flush)  # not undo(): that would drop the cli fixture's connection too
    write, calls = MetadataStore._write, []

    def gone_while_committing(self, fn):  # the import's start, its first batch, then the second batch's commit
        calls.append(fn)
        if len(calls) == 3:
            raise UnavailableError(f"the connection to Neo4j at {store.settings.uri} was lost while committing",
                                   commit_unknown=True) from ConnectionResetError()
        return write(self, fn)

    monkeypatch.setattr(MetadataStore, "_write", gone_while_committing)
    said = cli("import", str(path), "-q", "--batch-size", "10", code=1)
    assert re.search(r"the import stopped with 10 records written \(and perhaps the \d+ of the batch it was "
                     r"committing\), so the store holds part of the export", said), said
