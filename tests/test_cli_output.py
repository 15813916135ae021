"""What the CLI prints when it is piped or redirected, and how its help reads in a narrow terminal."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from graphmd import Artifact, ArtifactType, ExecutionType, MetadataStore, PropertyType
from graphmd.cli import app

LONG_NAME = "run-0001/pushed_model_with_a_name_longer_than_any_column"
LONG_VALUE = "/serving/taxi/" + "x" * 90


def test_piped_listings_never_cut_or_wrap_a_value(cli, store: MetadataStore):
    type_id = store.put_artifact_type(ArtifactType(
        name="PushedModel", properties={"pushed_destination": PropertyType.STRING, "version": PropertyType.INT}))
    store.put_execution_type(ExecutionType(name="SchemaGen", properties={
        f"infer_feature_shape_{i}": PropertyType.BOOLEAN for i in range(6)}))
    store.put_artifacts([Artifact(type_id=type_id, name=LONG_NAME, uri="/serving/taxi/1",
                                  properties={"pushed_destination": LONG_VALUE, "version": 1})])
    text = cli("artifacts", "--type", "PushedModel")
    assert "…" not in text
    [row] = text.splitlines()[1:]  # one line per artifact, whole
    assert LONG_NAME in row and f"pushed_destination={LONG_VALUE}" in row and "version=1" in row
    types = cli("types")
    assert "…" not in types
    [schema_gen] = [line for line in types.splitlines() if "SchemaGen" in line]
    assert all(f"infer_feature_shape_{i}:BOOLEAN" in schema_gen for i in range(6)), types


def test_listings_show_custom_properties_apart(cli, store: MetadataStore):
    """A custom property may share a declared property's name; the listing printed one dict
    of both, so the custom value hid the declared one, and nothing said which was custom."""
    type_id = store.put_artifact_type(ArtifactType(name="Tuned", properties={"lr": PropertyType.DOUBLE}))
    store.put_artifacts([Artifact(type_id=type_id, uri="/tuned/1", properties={"lr": 0.1},
                                  custom_properties={"lr": "auto", "image": "trainer:1"})])
    [row] = cli("artifacts", "--type", "Tuned").splitlines()[1:]
    assert row.rstrip().endswith("lr=0.1 custom: image=trainer:1 lr=auto"), row


def test_piped_tables_print_stored_text_as_it_is_one_line_per_row(cli, store: MetadataStore):
    """A value is text, not Rich markup ('[/tmp]' crashed the listing, '[bold]' vanished),
    and its line breaks (a FAILED step's traceback) print as \\n, so a row stays one line."""
    from graphmd import Context, ContextType, Execution, ExecutionState

    type_id = store.put_artifact_type(ArtifactType(name="Odd"))
    store.put_artifacts([Artifact(type_id=type_id, uri="/odd/1",
                                  custom_properties={"note": "[/tmp] and [bold]x[/bold]", "trace": "line 1\nline 2"})])
    text = cli("artifacts", "--type", "Odd")
    [row] = text.splitlines()[1:]
    assert "note=[/tmp] and [bold]x[/bold]" in row and "trace=line 1\\nline 2" in row, text
    step_t = store.put_execution_type(ExecutionType(name="Step"))
    run_t = store.put_context_type(ContextType(name="PipelineRun"))
    for name in ("run-a", "run-b"):
        store.put_execution(Execution(type_id=step_t, last_known_state=ExecutionState.FAILED,
                                      custom_properties={"error": f"[/{name}]\nboom"}), [],
                            [Context(type_id=run_t, name=name)])
    [_, row] = cli("compare", "run-a", "run-b").splitlines()
    assert "[/run-a]\\nboom" in row and "[/run-b]\\nboom" in row


def test_a_header_from_a_stored_value_is_text_not_markup(cli, store: MetadataStore):
    """compare's headers are run names: '[/x]' in one crashed it on a terminal (Rich read it as
    a closing tag), and control characters in one reached the terminal raw, piped or not."""
    import io

    from rich.console import Console

    from graphmd import Context, ContextType, Execution, ExecutionType
    from graphmd.cli._options import table

    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)
    made = table("", "field", "r[/x]", "r[red]y")
    made.add_row("", "Step.n", "1", "2")
    terminal.print(made)
    assert "r[/x]" in terminal.file.getvalue() and "r[red]y" in terminal.file.getvalue()
    step_t = store.put_execution_type(ExecutionType(name="Step", properties={"n": "INT"}))
    run_t = store.put_context_type(ContextType(name="PipelineRun"))
    names = ["r[/x]", "tab\there\u202e\x9b"]
    for i, name in enumerate(names):
        store.put_execution(Execution(type_id=step_t, properties={"n": i}), [], [Context(type_id=run_t, name=name)])
    [header, *_] = cli("compare", *names).splitlines()
    assert "r[/x]" in header and "tab\\there\\u202e\\x9b" in header and "\t" not in header, header


def test_piped_tables_write_control_characters_as_escapes(cli, store: MetadataStore):
    """A tab made a row two fields for `cut -f`, a NUL made `grep` call the listing binary,
    and an ESC is a terminal's escape sequence: each prints as its escape."""
    from graphmd import Context, ContextType

    type_id = store.put_artifact_type(ArtifactType(name="Ctl"))
    store.put_artifacts([Artifact(type_id=type_id, uri="/ctl/1", custom_properties={
        "s": "tab\there", "z": "nul\x00here", "e": "\x1b[31mred\x7f",
        "c1": "csi\x9b2Jnel\x85", "u": "ls\u2028ps\u2029rlo\u202eabc\u2069"})])
    text = cli("artifacts", "--type", "Ctl")
    [row] = text.splitlines()[1:]
    assert "s=tab\\there" in row and "z=nul\\x00here" in row and "e=\\x1b[31mred\\x7f" in row, text
    assert "c1=csi\\x9b2Jnel\\x85" in row and "u=ls\\u2028ps\\u2029rlo\\u202eabc\\u2069" in row, text
    assert not any(ch in text for ch in "\t\x00\x1b\x7f\x9b\x85\u2028\u2029\u202e\u2069")
    ctx_t = store.put_context_type(ContextType(name="CtlCtx"))
    store.put_contexts([Context(type_id=ctx_t, name="leaf ctx\twith tab")])
    assert "leaf ctx\\twith tab" in cli("contexts", "--type", "CtlCtx")


@pytest.mark.parametrize("command, option", [("serve", "--max-receive-message-length"),
                                             ("serve", "--max-send-message-length"),
                                             ("prune", "--delete-live-artifacts")])
@pytest.mark.parametrize("columns", ["60", "80"])
def test_help_shows_every_option_name_whole_in_a_narrow_terminal(monkeypatch, command, option, columns):
    monkeypatch.setenv("COLUMNS", columns)
    text = CliRunner().invoke(app, [command, "--help"]).output
    assert re.search(rf"^\s*{re.escape(option)}\b", text, re.MULTILINE), text
    assert "…" not in text


@pytest.mark.parametrize("command", ["prune", "cypher-shell", "serve"])
def test_help_paragraphs_are_rewrapped_not_broken_where_the_docstring_breaks(monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "80")
    text = "\n".join(line.rstrip() for line in CliRunner().invoke(app, [command, "--help"]).output.splitlines())
    description = text.split("Usage:", 1)[1].split("\n", 1)[1].split("Options")[0]
    for paragraph in description.strip("\n").split("\n\n"):
        lines = [line.strip() for line in paragraph.splitlines()]
        if paragraph.startswith("    ") or len(lines) < 2:
            continue  # an example, kept as written
        for line, following in zip(lines, lines[1:]):
            # A line ends only where the next word would not have fit in 78 columns.
            assert len(line) + 3 + len(following.split()[0]) > 78, f"{line!r} is broken early:\n{text}"
    if command == "cypher-shell":
        assert "    graphmd cypher-shell -f cypher/lineage_upstream.cypher \\\n" in text


@pytest.mark.parametrize("group", [[], ["neo4j"]])
def test_command_lists_give_each_summary_whole(monkeypatch, group):
    monkeypatch.setenv("COLUMNS", "80")
    text = CliRunner().invoke(app, [*group, "--help"]).output
    listed = text.split("Commands:", 1)[1].strip().splitlines()
    assert len(listed) >= 3, text
    for line in listed:
        assert not line.rstrip().endswith("..."), f"a summary cut short: {line!r}"


def test_proto_values_that_are_not_utf8_print_as_base64_in_json(cli, store: MetadataStore, tmp_path):
    """A serialized protobuf is rarely UTF-8: JSON output holds its bytes in base64, as the
    store does, and a model read back from that JSON is the same."""
    import base64
    import json

    from graphmd import ProtoValue

    raw = b"\x08\x96\x01\xff\xfe"
    type_id = store.put_artifact_type(ArtifactType(name="Anomalies"))
    [aid] = store.put_artifacts([Artifact(type_id=type_id, uri="/a", custom_properties={
        "proto": ProtoValue(type_url="type.googleapis.com/tfdv.Anomalies", value=raw)})])
    shown = json.loads(cli("show", "artifact", str(aid)))
    assert base64.b64decode(shown["custom_properties"]["proto"]["value"]) == raw
    [listed] = json.loads(cli("artifacts", "--type", "Anomalies", "--format", "json"))
    assert listed["custom_properties"] == shown["custom_properties"]
    assert "1 artifact, 0 executions" in cli("lineage", str(aid), "--format", "html", "-o", str(tmp_path / "p.html"))
    [stored] = store.get_artifacts_by_id([aid])
    assert Artifact.model_validate_json(stored.model_dump_json()) == stored


def test_json_output_is_json_when_a_value_is_nan_or_infinite(cli, store: MetadataStore):
    """Python writes NaN and Infinity as bare tokens, which are not JSON (jq and strict
    parsers reject the whole output); graphmd writes them as protobuf's JSON mapping does."""
    import json

    type_id = store.put_artifact_type(ArtifactType(name="Metrics", properties={"auc": PropertyType.DOUBLE}))
    [artifact_id] = store.put_artifacts([Artifact(
        type_id=type_id, uri="/metrics/odd", properties={"auc": float("nan")},
        custom_properties={"loss": float("inf"), "floor": float("-inf"), "steps": 3})])

    def strict(text: str) -> object:
        def refuse(token: str) -> object:
            raise AssertionError(f"bare {token} in the output")
        return json.loads(text, parse_constant=refuse)

    [listed] = strict(cli("artifacts", "--type", "Metrics", "--format", "json"))
    assert listed["properties"] == {"auc": "NaN"}
    assert listed["custom_properties"] == {"loss": "Infinity", "floor": "-Infinity", "steps": 3}
    shown = strict(cli("show", "artifact", str(artifact_id)))
    assert shown["custom_properties"]["loss"] == "Infinity", shown
    graph = strict(cli("lineage", str(artifact_id), "--up", "--format", "json"))
    assert graph["artifacts"][0]["properties"] == {"auc": "NaN"}, graph


def test_messages_print_user_text_as_given_not_as_emoji(cli, store: MetadataStore):
    """rich turned ':smile:' in a type name, and ':-1:' in a listen address, into emoji."""
    assert "no ArtifactType named ':smile:'" in cli("artifacts", "--type", ":smile:", code=1)


@pytest.mark.parametrize("port", ["99999", "70000", "-1"])
def test_serve_refuses_a_port_outside_tcp_s_range(port):
    """gRPC bound port % 65536: --grpc-port 99999 served on 34463."""
    pytest.importorskip("ml_metadata")
    result = CliRunner().invoke(app, ["serve", "--grpc-port", port])
    assert result.exit_code == 2 and "--grpc-port" in result.output


def test_nan_and_infinities_inside_a_struct_stay_strict_json(cli, store: MetadataStore, tmp_path):
    """`lineage --format json` and the HTML page's embedded data: NaN and infinities at any
    depth are written as protobuf's JSON writes them ("NaN", "-Infinity"), which strict
    parsers (jq, the browser's JSON.parse) read."""
    import json

    def strict(text: str) -> object:
        def refuse(token: str) -> object:
            raise ValueError(f"bare {token} is not JSON")
        return json.loads(text, parse_constant=refuse)

    t = store.put_artifact_type(ArtifactType(name="Metrics"))
    [a] = store.put_artifacts([Artifact(type_id=t, uri="/m", custom_properties={"m": {"loss": float("-inf"),
                                                                                       "auc": [float("nan")]}})])
    data = strict(cli("lineage", str(a), "--format", "json"))
    assert data["artifacts"][0]["custom_properties"]["m"] == {"loss": "-Infinity", "auc": ["NaN"]}  # type: ignore[index]
    page = cli("lineage", str(a), "--format", "html")
    for script in re.findall(r"<script[^>]*type=\"application/json\"[^>]*>(.*?)</script>", page, re.S):
        strict(script)
    assert "NaN" not in page.replace('"NaN"', "").replace("isNaN", "")


def test_all_is_written_page_by_page_as_the_whole_listing_would_be(cli, store: MetadataStore):
    """--all held the whole listing before writing (70,926 artifacts: 354 MB, 466 MB as JSON,
    nothing printed for 10 s); it is read and written 1,000 at a time, the same JSON text."""
    from graphmd.cli._options import json_text

    type_id = store.put_artifact_type(ArtifactType(name="Many", properties={"i": PropertyType.INT}))
    store.put_artifacts([Artifact(type_id=type_id, uri=f"/many/{i}", properties={"i": i}) for i in range(2_345)])
    whole = [a.model_dump(mode="json", exclude_none=True) for a in store.get_artifacts_by_type("Many")]
    assert cli("artifacts", "--type", "Many", "--all", "--format", "json") == json_text(whole) + "\n"
    assert json.loads(cli("artifacts", "--type", "Many", "--limit", "1500", "--format", "json")) == whole[:1500]
    lines = cli("artifacts", "--type", "Many", "--all").splitlines()
    assert lines[0].split() == ["id", "type", "name", "uri/state", "properties"]
    assert [int(line.split()[0]) for line in lines[1:]] == [a["id"] for a in whole]
    assert cli("artifacts", "--type", "Many", "--filter", "properties.i.int_value < 0", "--all",
               "--format", "json") == "[]\n"
    assert "no ArtifactType named 'Nope'" in cli("artifacts", "--type", "Nope", "--all", code=1)


def test_all_writes_each_page_before_reading_the_next(cli, store: MetadataStore, monkeypatch):
    import sys

    type_id = store.put_artifact_type(ArtifactType(name="Paged"))
    store.put_artifacts([Artifact(type_id=type_id, uri=f"/paged/{i}") for i in range(2_500)])
    written_before: list[int] = []
    real = MetadataStore.list_page

    def list_page(self, *args, **kwargs):
        written_before.append(sys.stdout.buffer.getvalue().count(b"/paged/"))  # CliRunner's captured bytes
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MetadataStore, "list_page", list_page)
    assert cli("artifacts", "--type", "Paged", "--all", "--format", "json").count("/paged/") == 2_500
    assert written_before == [0, 1_000, 2_000], written_before


@pytest.mark.parametrize("args", [
    ("lineage", "{id}", "--format", "json"), ("lineage", "{id}", "--format", "html"),
    ("show", "artifact", "{id}"), ("artifacts", "--format", "json"), ("artifacts",),
    ("query", "lineage_upstream", "-p", "artifact_id={id}", "-p", "max_hops=null"),
])
def test_an_output_cut_off_by_its_reader_exits_1(store: MetadataStore, neo4j_server, tmp_path, args):
    """`graphmd ... | head` exits 1 as docs/cli.md says, also when the output is one string
    larger than the pipe holds: written whole, the closed pipe cut it short without an error
    and the command exited 0 (lineage --format json, dot, svg, html, diff, query, prune)."""
    import subprocess
    import sys

    from test_export import cli_env

    type_id = store.put_artifact_type(ArtifactType(name="Big"))
    [artifact_id] = store.put_artifacts([Artifact(type_id=type_id, uri="/big",
                                                  custom_properties={"blob": "x" * 600_000})])
    command = [sys.executable, "-m", "graphmd.cli", *(a.format(id=artifact_id) for a in args)]
    with subprocess.Popen(command, env=cli_env(neo4j_server, tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        assert len(reader.stdout.read(50)) == 50
        reader.stdout.close()
        code = reader.wait(timeout=120)
        assert code == 1, (code, reader.stderr.read())
