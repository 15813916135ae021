"""What the CLI says: a Neo4j that does not answer in one plain line, usage mistakes as click
says them (exit 2), prune's and reset's counts in agreement, tables that neither break a
word on a terminal nor pad a piped row, and a local server's password kept from its first
start."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from graphmd import Context, ContextType, Execution, ExecutionState, ExecutionType, MetadataStore
from graphmd.cli import app


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No GRAPHMD_NEO4J_* variable; the config file (not written yet) is returned."""
    for name in ("URI", "USER", "PASSWORD", "DATABASE", "HOME"):
        monkeypatch.delenv(f"GRAPHMD_NEO4J_{name}", raising=False)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("GRAPHMD_CONFIG", str(config))
    return config


@pytest.mark.parametrize("command", [["types"], ["export", "-q", "-"], ["prune", "--type", "Run", "--name", "x"],
                                     ["reset"], ["query", "model_pushed", "-p", "model_id=1"]])
def test_a_stopped_local_neo4j_is_said_in_one_line_with_how_to_start_it(offline, tmp_path, command):
    port = _closed_port()
    home = tmp_path / "neo4j-home"
    offline.write_text(f'[neo4j]\nhome = "{home}"\nuri = "bolt://127.0.0.1:{port}"\nuser = "neo4j"\n'
                       'password = "secret-1"\n')
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: the local Neo4j of {home} is not running (nothing answers at bolt://127.0.0.1:{port}): start it "
        "with `graphmd neo4j start`"], result.stderr
    assert "secret-1" not in result.output


def test_another_server_that_does_not_answer_is_its_uri_and_why(offline):
    port = _closed_port()
    said = CliRunner().invoke(app, ["types", "--uri", f"bolt://127.0.0.1:{port}"])
    assert said.exit_code == 1 and said.stderr.splitlines() == [
        f"error: cannot reach Neo4j at bolt://127.0.0.1:{port} (from --uri): connection refused (no server listens "
        "there)"]
    unknown = CliRunner().invoke(app, ["types"], env={"GRAPHMD_NEO4J_URI": "bolt://no-such-host.invalid:7687"})
    assert unknown.exit_code == 1 and len(unknown.stderr.splitlines()) == 1, unknown.stderr
    assert unknown.stderr.startswith("error: cannot reach Neo4j at bolt://no-such-host.invalid:7687 (from "
                                     "GRAPHMD_NEO4J_URI): the host name 'no-such-host.invalid' does not resolve")
    for said in (said, unknown):
        assert "Resolved" not in said.stderr and "Errno" not in said.stderr and "hint:" not in said.stderr


def test_import_mlmd_that_never_reached_neo4j_has_nothing_to_resume(offline, tmp_path):
    pytest.importorskip("ml_metadata")
    from graphmd.mlmd._client import open_store, sqlite_source

    source = tmp_path / "mlmd.sqlite"
    open_store(sqlite_source(source, create=True))
    said = CliRunner().invoke(app, ["import-mlmd", str(source), "--uri", f"bolt://127.0.0.1:{_closed_port()}"])
    assert said.exit_code == 1 and "connection refused" in said.stderr
    assert "resumes" not in said.stderr and len(said.stderr.splitlines()) == 1, said.stderr


@pytest.mark.parametrize("args, said", [
    (["prune", "--type", "PipelineRun", "--format", "yaml"],
     "Invalid value for '--format': 'yaml' is not one of 'text', 'json'."),
    (["reset", "--format", "yaml"], "Invalid value for '--format': 'yaml' is not one of 'text', 'json'."),
    (["prune", "--type", "PipelineRun", "--before", "notadate"],
     "Invalid value for '--before': 'notadate' is not an ISO date such as 2026-01-31 or 2026-01-31T12:00"),
    (["prune", "--type", "PipelineRun"], "say which runs: --name NAME (repeatable), --before DATE, or --keep-last N"),
    (["query", "model_pushed", "-p", "model_id=1907", "-p", "extra=1"],
     "Invalid value for '--param' / '-p': query 'model_pushed' has no parameter 'extra' (it takes model_id)"),
    (["types", "--format", "png"], "Invalid value for '--format': 'png' is not one of 'table', 'json'."),
    (["lineage", "1", "--format", "png"], "Invalid value for '--format': 'png' is not one of 'tree', 'json'"),
    (["query", "model_pushed", "-p", "model_id=abc"],
     "Invalid value for '--param' / '-p': query 'model_pushed': model_id takes an integer"),
    (["serve", "--workers", "0"], "Invalid value for '--workers'"),
    (["serve", "--max-receive-message-length", "0"],
     "Invalid value for '--max-receive-message-length': 0 is no message size: give bytes (>= 1), or -1 for no limit"),
    (["serve", "--max-send-message-length", "-5"], "Invalid value for '--max-send-message-length': -5 is no message"),
])
def test_usage_mistakes_exit_2_as_click_says_them_before_connecting(offline, args, said):
    result = CliRunner().invoke(app, [*args, "--uri", f"bolt://127.0.0.1:{_closed_port()}"])
    assert result.exit_code == 2, result.output
    assert f"Error: {said}" in result.stderr and "Value error" not in result.stderr
    assert "Usage: graphmd" in result.stderr and "reach Neo4j" not in result.stderr


@pytest.mark.parametrize("command", ["prune", "reset"])
def test_format_help_names_the_choices(command):
    text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "100"}).output
    assert "--format <text|json>" in text and "<str>" not in text.split("--format", 1)[1].split("\n", 1)[0]
    assert "-q, --quiet" in text


def _runs(store: MetadataStore, n: int) -> None:
    step_t = store.put_execution_type(ExecutionType(name="Trainer"))
    run_t = store.put_context_type(ContextType(name="PipelineRun"))
    for i in range(n):
        store.put_execution(Execution(type_id=step_t, name=f"run-{i}/Trainer"), [],
                            [Context(type_id=run_t, name=f"run-{i}")])


def test_prune_counts_agree_and_say_when_there_is_nothing_to_delete(cli, store):
    _runs(store, 3)

    def prune(*args: str) -> str:
        return cli("prune", "--type", "PipelineRun", "-q", *args)

    one = prune("--name", "run-1")
    assert "1 PipelineRun run chosen\n" in one and "would delete: 1 run, 1 execution, 0 artifacts" in one
    assert "kept: 0 runs, 0 executions, 0 artifacts" in one and "add --yes to delete" in one
    two = prune("--name", "run-1", "--name", "run-2")
    assert "2 PipelineRun runs chosen" in two and "would delete: 2 runs, 2 executions" in two
    none = prune("--before", "2000-01-01")
    assert "0 PipelineRun runs chosen" in none and "add --yes" not in none
    assert "nothing to delete: no PipelineRun run matches" in none
    spared = prune("--before", "2999-01-01", "--keep-last", "5")
    assert "nothing to delete: the PipelineRun runs that match are among the newest 5 (--keep-last)" in spared
    assert "add --yes" not in spared
    done = prune("--name", "run-1", "--yes")
    assert "deleted: 1 run, 1 execution, 0 artifacts" in done and "nothing" not in done


def test_reset_of_an_empty_store_says_there_is_nothing_to_delete(cli, store):
    text = cli("reset")
    assert "would delete: 0 types" in text and "nothing to delete" in text and "add --yes" not in text


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int = 80) -> io.StringIO:
    """Make the CLI's stdout console a terminal ``width`` columns wide; returns what it prints."""
    import importlib

    options = importlib.import_module("graphmd.cli._options")  # graphmd.cli._options is also a function's name
    screen = io.StringIO()
    monkeypatch.setattr(options, "out", Console(file=screen, width=width, force_terminal=True, color_system=None,
                                                 highlight=False, soft_wrap=True, emoji=False))
    return screen


TRACEBACK = ('Traceback (most recent call last):\n  File "/pipeline/trainer.py", line 88, in run\n'
             '    model.fit(examples)\n' + '  File "/lib/keras.py", line 12, in fit\n    step()\n' * 6
             + "RuntimeError: Trainer crashed: simulated OOM in run 60\n")


def test_terminal_tables_keep_tokens_whole_and_show_a_traceback_s_first_line(monkeypatch):
    from graphmd.cli._options import print_table, table

    screen = _terminal(monkeypatch)
    made = table("", "field", "run-0059", "run-0060", "run-0061")
    made.add_row("*", "ModelEvaluation.accuracy_delta", "0.6875", "0.68755555", "0.7")
    made.add_row("*", "SchemaGen.infer_feature_shape_and_more", "infer_feature_shape:BOOLEAN", "True", "False")
    made.add_row("*", "Trainer.error_traceback (custom)", "", f"{TRACEBACK} (#953 FAILED)", "")
    print_table(made)
    lines = screen.getvalue().splitlines()
    words = {w for line in lines for w in line.split()}
    # A number or a name is whole, or cut with an ellipsis; never split over two lines.
    for word in words:
        assert word in {"*", "field", "run-0059", "run-0060", "run-0061", "…", "(most", "recent", "call",
                        "last):", "(#953", "FAILED)", "Traceback"} | {
            "ModelEvaluation.accuracy_delta", "SchemaGen.infer_feature_shape_and_more",
            "Trainer.error_traceback", "(custom)", "0.6875", "0.68755555", "0.7", "True", "False"} or (
            word.endswith("…")), (word, screen.getvalue())
    assert "0.6875" in words and "ModelEvaluation.accuracy_delta" in words  # the field column stays whole
    assert not any("File" in line or "keras" in line or "RuntimeError" in line for line in lines)
    assert len(lines) <= 12, screen.getvalue()
    assert all(len(line) <= 80 for line in lines)


def test_terminal_listings_show_the_other_values_of_a_row_with_a_traceback(cli, store, monkeypatch):
    step_t = store.put_execution_type(ExecutionType(name="Trainer"))
    store.put_executions([Execution(type_id=step_t, name="run-0060/Trainer", last_known_state=ExecutionState.FAILED,
                                    custom_properties={"error_traceback": TRACEBACK, "error_type": "RuntimeError"})])
    screen = _terminal(monkeypatch)
    cli("executions")
    shown = " ".join(screen.getvalue().split())
    assert "error_traceback=Traceback (most recent call last): … error_type=RuntimeError" in shown, shown
    assert "keras" not in shown and "run-0060/Trainer" in shown and "FAILED" in shown


def test_piped_tables_end_each_row_at_its_last_value(cli, store):
    _runs(store, 2)
    store.put_executions([Execution(type_id=store.get_execution_type("Trainer").id, name="odd",
                                    custom_properties={"note": "a much longer value than any other here " * 4})])
    for args in (["executions"], ["types"], ["contexts"], ["compare", "run-0", "run-1"]):
        text = cli(*args)
        assert text.strip() and all(line == line.rstrip() for line in text.splitlines()), (args, text)


def test_a_second_password_for_a_home_says_the_first_start_s_is_kept(tmp_path, monkeypatch):
    from graphmd._config import write_config
    from graphmd._local_neo4j import LocalNeo4j

    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("GRAPHMD_NEO4J_PASSWORD", raising=False)
    home = tmp_path / "home"
    write_config({"uri": "bolt://127.0.0.1:7687", "user": "neo4j", "password": "first", "home": str(home)})
    said = LocalNeo4j(home, password="other")._other_password("other")
    assert f"the Neo4j in {home.resolve()} keeps the password of its first start" in said
    assert f"start it without --password (and without GRAPHMD_NEO4J_PASSWORD): {tmp_path / 'config.toml'}" in said
    assert f"delete {home.resolve() / 'data'}" in said and "pass --password" not in said
    elsewhere = LocalNeo4j(tmp_path / "other-home", password="other", record_in_config=False)._other_password("other")
    assert "start it with that password (--password or GRAPHMD_NEO4J_PASSWORD)" in elsewhere


def test_a_terminal_table_cuts_a_huge_value_with_a_note(monkeypatch):
    """A STRUCT of 10,000 keys in one artifact's properties made `graphmd artifacts` on a terminal
    ~5,000 lines for that row; piped, the value stays whole (grep finds every key)."""
    from graphmd.cli._options import CELL_MAX, print_table, table, table_lines

    screen = _terminal(monkeypatch, width=120)
    huge = "s=" + ", ".join(f"key{i}: {i}" for i in range(10_000))
    made = table("id", "properties")
    made.add_row("7", huge)
    print_table(made)
    shown = screen.getvalue()
    assert len(shown.splitlines()) < 2 + CELL_MAX // 50, shown
    assert f"({len(huge) - CELL_MAX:,} more characters: --format json or piped has them)" in shown.replace("\n", "")
    monkeypatch.undo()
    piped = table("id", "properties")
    piped.add_row("7", huge)
    assert "key9999: 9999" in "".join(table_lines(piped))
