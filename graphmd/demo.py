"""graphmd's demo (`make demo`, `python -m graphmd.demo`).

1. MLMD's "ML Metadata in action" walk-through, step by step, on graphmd.
2. Runs of a 7-stage TFX-like pipeline (ExampleGen ... Pusher), recorded step by step as a
   pipeline records them, the Trainer warm-starting from the newest model.
3. The TFX questions, each answered from Python and from the Cypher file a user would paste
   into Neo4j Browser.
4. Where to look at it in Neo4j Browser.

Without GRAPHMD_NEO4J_URI the demo starts its own local Neo4j (in <user data dir>/demo-neo4j,
or --home) and leaves it running for Browser; it owns that database and resets it, so it does
not use the server the config file names (`graphmd neo4j start`'s), and says so. With
GRAPHMD_NEO4J_URI it uses that Neo4j, which must hold no artifacts yet (or pass --reset to
delete everything in it first).
"""

from __future__ import annotations

import argparse
import datetime
import enum
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from . import _cypher_files as files
from ._config import data_dir, read_config, same_server
from ._drawing import lineage_html
from ._errors import GraphmdError, NotFoundError
from ._local_neo4j import LocalNeo4j, free_port
from ._models import (
    AnyNode,
    Artifact,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    EndingNodes,
    Event,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    LineageDirection,
    LineageSubgraphQueryOptions,
    NodeSelector,
    PropertyType,
)
from ._pipeline import compare_runs, find_cached_execution, latest_artifact, latest_blessed_model
from ._store import MetadataStore
from ._tfx_pipeline import PIPELINE_NAME, History, plan_runs, record_run

__all__ = ["main", "mlmd_in_action", "run_pipeline", "answer_questions"]

_T = TypeVar("_T")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _graphmd_command() -> str:
    """How to type the `graphmd` of this Python in the shell that ran the demo: `graphmd` when
    that is the one on PATH, else its path (relative to the current directory when under it).
    `make demo` runs .venv/bin/python without activating .venv, so a bare `graphmd` in the
    commands the demo prints would be "command not found" (or another install's)."""
    mine = Path(sys.executable).parent / "graphmd"
    if not mine.exists():
        return "graphmd"
    found = shutil.which("graphmd")
    if found is not None and Path(found).resolve() == mine.resolve():
        return "graphmd"
    relative = os.path.relpath(mine, Path.cwd())
    return relative if not relative.startswith("..") else str(mine)


def _activate_hint() -> str | None:
    """`source .../activate` when the shell that ran the demo has no `graphmd` of this Python
    on PATH (and this Python is a virtualenv's), else None."""
    command = _graphmd_command()
    activate = Path(sys.executable).parent / "activate"
    if command == "graphmd" or not activate.exists():
        return None
    return f"source {command.removesuffix('graphmd')}activate"


def _title(text: str) -> None:
    _say()
    _say(text)
    _say("=" * len(text))


def _question(text: str) -> None:
    _say()
    _say(f"## {text}")


def _cypher(store: MetadataStore, name: str, **params: Any) -> list[dict[str, Any]]:
    return files.run(store, name, **params)


def _show_rows(name: str, rows: list[dict[str, Any]], **params: Any) -> None:
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    _say(f"   Cypher  cypher/{name}.cypher ({shown}):")
    if not rows:
        _say("           (no rows)")
    for row in rows:
        _say("           " + ", ".join(f"{k}={_plain(v)}" for k, v in row.items()))


def _plain(value: Any) -> str:
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return repr(value)


def _when(ms: int | None) -> str:
    if ms is None:
        return "?"
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).isoformat(timespec="seconds")


def _value(member: enum.Enum | None) -> str:
    return "?" if member is None else str(member.value)


def _names(nodes: Iterable[AnyNode]) -> list[str]:
    """The nodes' names, sorted (every node the pipeline writes has one)."""
    return sorted(n.name for n in nodes if n.name is not None)


def _stored(found: _T | None, what: str) -> _T:
    """What a lookup found of what the demo wrote."""
    if found is None:
        raise NotFoundError(f"{what} is not in the store")
    return found


# --- 1. ML Metadata in action -------------------------------------------------------------


def mlmd_in_action(store: MetadataStore) -> dict[str, int]:
    """MLMD's getting-started steps (ml-metadata's "ML Metadata in action"); the ids made."""
    _title("1. ML Metadata in action (MLMD's walk-through, on graphmd)")
    data_type = ArtifactType(name="DataSet", properties={"day": PropertyType.INT, "split": PropertyType.STRING})
    data_type_id = store.put_artifact_type(data_type)
    model_type_id = store.put_artifact_type(ArtifactType(
        name="SavedModel", properties={"version": PropertyType.INT, "name": PropertyType.STRING}))
    _say(f"1. artifact types: DataSet #{data_type_id}, SavedModel #{model_type_id}")
    trainer_type_id = store.put_execution_type(ExecutionType(name="Trainer", properties={"state": PropertyType.STRING}))
    _say(f"2. execution type: Trainer #{trainer_type_id}")
    [data_id] = store.put_artifacts([Artifact(type_id=data_type_id, uri="path/to/data",
                                              properties={"day": 1, "split": "train"})])
    _say(f"3. DataSet artifact #{data_id} at path/to/data (day=1, split=train)")
    [run_id] = store.put_executions([Execution(type_id=trainer_type_id, properties={"state": "RUNNING"})])
    _say(f"4. Trainer execution #{run_id} (state=RUNNING)")
    store.put_events([Event(artifact_id=data_id, execution_id=run_id, type=EventType.DECLARED_INPUT)])
    _say(f"5. input event: DataSet #{data_id} -> Trainer #{run_id}")
    [model_id] = store.put_artifacts([Artifact(type_id=model_type_id, uri="path/to/model/file",
                                               properties={"version": 1, "name": "version_1"})])
    _say(f"6. SavedModel artifact #{model_id} at path/to/model/file (version=1)")
    store.put_events([Event(artifact_id=model_id, execution_id=run_id, type=EventType.DECLARED_OUTPUT)])
    _say(f"7. output event: Trainer #{run_id} -> SavedModel #{model_id}")
    [run] = store.get_executions_by_id([run_id])
    store.put_executions([run.model_copy(update={"properties": {"state": "COMPLETED"},
                                                 "last_known_state": ExecutionState.COMPLETE})])
    _say(f"8. Trainer #{run_id} marked COMPLETE")
    experiment_type_id = store.put_context_type(ContextType(name="Experiment", properties={"note": PropertyType.STRING}))
    [experiment_id] = store.put_contexts([Context(type_id=experiment_type_id, name="exp1",
                                                  properties={"note": "My first experiment."})])
    store.put_attributions_and_associations([Attribution(context_id=experiment_id, artifact_id=model_id)],
                                            [Association(context_id=experiment_id, execution_id=run_id)])
    _say(f"9. Experiment context #{experiment_id} 'exp1' holding the model and the run")
    _say()
    _say("Stored:")
    for artifact in store.get_artifacts_by_id([data_id, model_id]):
        _say(f"   {artifact.type} #{artifact.id} uri={artifact.uri} properties={artifact.properties}")
    [run] = store.get_executions_by_id([run_id])
    _say(f"   {run.type} #{run.id} {_value(run.last_known_state)} properties={run.properties}")
    for event in store.get_events_by_execution_ids([run_id]):
        _say(f"   event {_value(event.type)}: artifact #{event.artifact_id}, execution #{event.execution_id}")
    _say(f"   artifacts in exp1: {[a.id for a in store.get_artifacts_by_context(experiment_id)]}, "
         f"executions in exp1: {[x.id for x in store.get_executions_by_context(experiment_id)]}")
    upstream = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[model_id]), direction=LineageDirection.UPSTREAM))
    _say(f"   the model's lineage: {[f'{n.type} #{n.id}' for n in (*upstream.artifacts, *upstream.executions)]}")
    return {"data": data_id, "model": model_id, "run": run_id, "experiment": experiment_id}


# --- 2. the pipeline ----------------------------------------------------------------------


def run_pipeline(store: MetadataStore, runs: int) -> History:
    """Record ``runs`` runs step by step; print each run's warm start, blessing and push."""
    _title(f"2. {runs} runs of a 7-stage TFX-like pipeline ({PIPELINE_NAME})")
    history = History()
    for plan in plan_runs(runs):
        base = record_run(store, plan, history)
        blessed = plan.step("Evaluator").outputs["blessing"][0].properties["blessed"]
        accuracy = plan.step("Evaluator").outputs["evaluation"][0].properties["accuracy"]
        _say(f"{plan.context_name} (by {plan.context_properties['triggered_by']}): 7 executions COMPLETE, "
             f"warm start from {base or '-'}, accuracy {accuracy}, "
             f"{'blessed and pushed' if blessed else 'not blessed'}")
    counts = store.counts()
    _say(f"store: {counts['artifacts']} artifacts, {counts['executions']} executions, {counts['events']} events, "
         f"{counts['contexts']} contexts")
    return history


# --- 3. the questions ---------------------------------------------------------------------

def answer_questions(store: MetadataStore, history: History) -> None:
    """Each TFX question from Python, then from its Cypher file."""
    _title("3. The questions, from Python and from Cypher")
    last = history.plans[-1]
    model_id = history.artifacts[f"{last.context_name}/model"]
    model = store.get_artifacts_by_id([model_id])[0]

    _question(f"Trace the model {model.name} back to the data it was trained on")
    graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[model_id]), direction=LineageDirection.UPSTREAM))
    data = _names(a for a in graph.artifacts if a.type == "Examples")
    _say(f"   Python  get_lineage_subgraph(UPSTREAM): {len(graph.artifacts)} artifacts, "
         f"{len(graph.executions)} executions; Examples: {data}")
    [row] = _cypher(store, "lineage_upstream", artifact_id=model_id, max_hops=None)
    cypher_data = sorted(n["name"] for n in row["nodes"] if "Artifact" in n.labels and n["type"] == "Examples")
    _say(f"   Cypher  cypher/lineage_upstream.cypher: {len(row['nodes'])} nodes, {len(row['events'])} events; "
         f"Examples: {cypher_data}")

    first_data_id = history.artifacts["run-0000/examples"]
    first_data = store.get_artifacts_by_id([first_data_id])[0]
    _question(f"Impact analysis: what was made from {first_data.name} ({first_data.uri})")
    graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[first_data_id]), direction=LineageDirection.DOWNSTREAM))
    models = _names(a for a in graph.artifacts if a.type in ("Model", "PushedModel"))
    _say(f"   Python  get_lineage_subgraph(DOWNSTREAM): {len(graph.artifacts)} artifacts; models: {models}")
    near = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[first_data_id]), direction=LineageDirection.DOWNSTREAM,
        ending_artifacts=EndingNodes(types=["Model"], include_ending_nodes=True)))
    _say(f"           stopping at the first models: {_names(near.artifacts)}")
    [row] = _cypher(store, "lineage_downstream", artifact_id=first_data_id, max_hops=None)
    _say(f"   Cypher  cypher/lineage_downstream.cypher: {len(row['nodes'])} nodes; models: "
         f"{sorted(n['name'] for n in row['nodes'] if n.get('type') in ('Model', 'PushedModel'))}")

    runs = [p.context_name for p in history.plans[-3:]]
    _question(f"Compare runs {', '.join(runs)} ('*' marks what differs)")
    comparison = compare_runs(store, runs)
    table = comparison.table()
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]  # each column as its widest cell
    for cells in table:
        _say("   Python  " + f"{cells[0]:{widths[0]}} {cells[1]:{widths[1]}}  "
             + "  ".join(f"{c:>{w}}" for c, w in zip(cells[2:], widths[2:], strict=True)).rstrip())
    rows = _cypher(store, "compare_runs", run_type="PipelineRun", runs=runs)
    _say(f"   Cypher  cypher/compare_runs.cypher: {[(r['run'], len(r['executions']), len(r['metrics'])) for r in rows]} "
         "(run, executions, metrics artifacts)")

    trainer_id = history.executions[last.step("Trainer").name]
    trainer = store.get_executions_by_id([trainer_id])[0]
    inputs: dict[str, list[int]] = {}
    for event in sorted(store.get_events_by_execution_ids([trainer_id]), key=lambda e: e.path):
        # A stored event has its type and ends.
        if event.type is not None and event.type.is_input and event.artifact_id is not None:
            inputs.setdefault(str(event.path[0]), []).append(event.artifact_id)
    _question("What can be reused? The Trainer again with the same inputs and hyperparameters")
    hit = _stored(find_cached_execution(store, "Trainer", inputs, trainer.properties), "the cached Trainer")
    _say(f"   Python  find_cached_execution: cache hit, reuse {hit.execution.name}'s outputs "
         f"{ {k: [a.uri for a in v] for k, v in hit.outputs.items()} }")
    changed = {**trainer.properties, "learning_rate": 0.5}
    _say(f"           with learning_rate=0.5: {find_cached_execution(store, 'Trainer', inputs, changed) or 'miss'}")
    rows = _cypher(store, "what_can_be_reused", type_name="Trainer", input_ids=sorted({i for v in inputs.values() for i in v}),
                   properties=trainer.properties)
    _say(f"   Cypher  cypher/what_can_be_reused.cypher: {[r['execution']['name'] for r in rows]}")

    _question("Warm start: the newest LIVE model (LatestArtifactsResolver), and the newest blessed one "
              "(LatestBlessedModelStrategy)")
    pipeline = history.contexts[PIPELINE_NAME]
    newest = _stored(latest_artifact(store, "Model", context_id=pipeline), "a LIVE Model")
    in_run = _stored(latest_artifact(store, "Model", context_id=history.contexts[history.plans[1].context_name]),
                     f"a LIVE Model of {history.plans[1].context_name}")
    _say(f"   Python  latest_artifact('Model', pipeline {PIPELINE_NAME}): {newest.name}; "
         f"within {history.plans[1].context_name}: {in_run.name}")
    blessed = _stored(latest_blessed_model(store, "Model", context_id=pipeline), "a blessed Model")
    _say(f"   Python  latest_blessed_model('Model', pipeline {PIPELINE_NAME}): {blessed.name}")
    [row] = _cypher(store, "latest_blessed_model", model_type="Model", blessing_type="ModelBlessing",
                    context_id=pipeline)
    _say(f"   Cypher  cypher/latest_blessed_model.cypher: {row['model']['name']}, "
         f"blessed by {row['blessing']['name']}")

    _question(f"Who triggered {last.context_name}?")
    run = _stored(store.get_context_by_type_and_name("PipelineRun", last.context_name), last.context_name)
    _say(f"   Python  PipelineRun context properties: {run.properties}")
    _show_rows("who_triggered_run", _cypher(store, "who_triggered_run", run_name=last.context_name), run_name=last.context_name)

    _question(f"Which hyperparameters trained {model.name}?")
    up = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[model_id]), direction=LineageDirection.UPSTREAM, max_num_hops=1))
    _say(f"   Python  {up.executions[0].name}: {up.executions[0].properties}")
    _show_rows("model_hyperparameters", _cypher(store, "model_hyperparameters", model_id=model_id), model_id=model_id)

    pushed_runs = [p for p in history.plans if p.step("Pusher").outputs["pushed_model"]]
    pushed_model_id = history.artifacts[f"{pushed_runs[-1].context_name}/model"]
    pushed_model = store.get_artifacts_by_id([pushed_model_id])[0]
    _question(f"Where is {pushed_model.name} stored, and when was it pushed?")
    down = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[pushed_model_id]), direction=LineageDirection.DOWNSTREAM, max_num_hops=2,
        ending_executions=EndingNodes(types=["Trainer", "Evaluator"])))
    pushes = [a for a in down.artifacts if a.type == "PushedModel"]
    _say(f"   Python  uri {pushed_model.uri}; pushed to "
         f"{[p.properties.get('pushed_destination', p.custom_properties.get('pushed_destination', p.uri)) for p in pushes]} at "
         f"{[_when(p.create_time_since_epoch) for p in pushes]}")
    _show_rows("model_location", _cypher(store, "model_location", model_id=pushed_model_id), model_id=pushed_model_id)
    _show_rows("model_pushed", _cypher(store, "model_pushed", model_id=pushed_model_id), model_id=pushed_model_id)

    _question("What is deployed now, and what would a rollback bring back?")
    _show_rows("deployed_models", _cypher(store, "deployed_models", context_id=None), context_id=None)

    not_pushed = [p for p in history.plans if not p.step("Pusher").outputs["pushed_model"]]
    if not_pushed:
        other_id = history.artifacts[f"{not_pushed[-1].context_name}/model"]
        other = store.get_artifacts_by_id([other_id])[0]
        _question(f"Why was {pushed_model.name} preferred over {other.name}?")
        for m, run_name in ((pushed_model, pushed_runs[-1].context_name), (other, not_pushed[-1].context_name)):
            blessing = _stored(store.get_artifact_by_type_and_name("ModelBlessing", f"{run_name}/blessing"),
                               f"{run_name}/blessing")
            evaluation = _stored(store.get_artifact_by_type_and_name("ModelEvaluation", f"{run_name}/evaluation"),
                                 f"{run_name}/evaluation")
            _say(f"   Python  {m.name}: {evaluation.properties}, blessed={blessing.properties['blessed']} "
                 f"against {blessing.custom_properties['baseline_model'] or 'no baseline'}")
        _show_rows("why_model_preferred", _cypher(store, "why_model_preferred", model_a=pushed_model_id, model_b=other_id),
                   model_a=pushed_model_id, model_b=other_id)

    _question(f"How was the training environment of {model.name} configured?")
    _say(f"   Python  {trainer.name}: {trainer.custom_properties}, module_file={trainer.properties['module_file']}")
    _show_rows("training_environment", _cypher(store, "training_environment", model_id=model_id), model_id=model_id)


# --- 4. Neo4j Browser ---------------------------------------------------------------------


def draw_lineage(store: MetadataStore, model_id: int, page: Path, *, own_server: bool) -> None:
    """Write the newest model's upstream lineage as an HTML page (what `graphmd lineage
    --format html` writes); ``own_server``: the demo started its Neo4j, and the shell needs
    the export line printed after this to reach it."""
    _title("4. See it as a page")
    graph = store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[model_id]), direction=LineageDirection.UPSTREAM))
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(lineage_html(graph, highlight=[model_id], title=f"upstream lineage of artifact {model_id}"),
                    encoding="utf-8")
    _say("The model's upstream lineage as a page to open in a browser (drag to pan, wheel to zoom, click a node):")
    _say(f"  {page}")
    via = ", with the export below" if own_server else ""
    # The command draws at most 2,000 nodes unless given --whole (the page above has them all).
    whole = " --whole" if len(graph.artifacts) + len(graph.executions) > 2_000 else ""
    _say(f"  (the same from the command line{via}: graphmd lineage {model_id} --up --format html{whole} -o "
         "lineage.html)")
    activate = _activate_hint()
    if activate is not None and not own_server:
        _say(f"  (in this shell, `{activate}` first: `graphmd` is not on PATH)")


def _recorded_server(uri: str) -> LocalNeo4j | None:
    """The local server the config file records (`graphmd neo4j start`), if ``uri`` is its
    address: its HTTP port is known then, whatever it is."""
    config = read_config()
    if not config.get("home") or not config.get("uri") or not same_server(str(config["uri"]), uri):
        return None
    try:
        return LocalNeo4j(str(config["home"]))
    except GraphmdError:
        return None


def browser_hint(server: LocalNeo4j | None, store: MetadataStore, model_id: int) -> None:
    _title("5. See it in Neo4j Browser")
    if server is not None:
        _say(f"Open {server.http_url}/browser/?dbms={server.uri} and connect as neo4j / {server.password}")
        _say(f"(stop the server with: {_graphmd_command()} neo4j stop --home {server.home})")
        _say("To read it from Python (MetadataStore()) or the graphmd CLI in this shell:")
        activate = _activate_hint()
        if activate is not None:
            _say(f"  {activate}")
        _say(f"  export GRAPHMD_NEO4J_URI={server.uri} GRAPHMD_NEO4J_PASSWORD={server.password}")
    elif (local := _recorded_server(store.settings.uri)) is not None:
        _say(f"Open {local.http_url}/browser/?dbms={store.settings.uri} (the local Neo4j of {local.home}) and "
             "connect as neo4j")
    else:
        _say(f"Open your server's Neo4j Browser (its HTTP port: http://HOST:7474/browser/ by default) and "
             f"connect to {store.settings.uri}")
    style = files.cypher_dir() / "graphmd.grass"
    _say(f"Load the style: drag {style} onto Browser (or :style with its text), then run:")
    _say(f"  :param artifact_id => {model_id}")
    _say("  :param max_hops => 8")
    _say(f"and paste {files.cypher_dir() / 'lineage_upstream.cypher'} (docs/browser.md has the steps and a picture).")


def _connect(args: argparse.Namespace) -> tuple[MetadataStore, LocalNeo4j | None]:
    import os

    if os.environ.get("GRAPHMD_NEO4J_URI"):
        store = MetadataStore()
        if store.counts()["artifacts"] and not args.reset:
            store.close()
            raise SystemExit(f"the Neo4j at {store.settings.uri} already holds artifacts; point GRAPHMD_NEO4J_URI at "
                             "an empty database, pass --reset to delete everything in it (`make demo DEMO_ARGS=--reset`), "
                             "or unset it so the demo starts its own")
        if args.reset:
            store.delete_everything()
        return store, None
    home = Path(args.home) if args.home else data_dir() / "demo-neo4j"
    configured = read_config().get("uri")
    if configured:  # the user's own store: the demo empties its database, so it keeps apart
        _say(f"The demo keeps apart from the store your config file names ({configured}): it empties its database. "
             "To run it there, set GRAPHMD_NEO4J_URI (and pass --reset if it holds artifacts).")
    server = LocalNeo4j(home, record_in_config=False)
    if server.pid() is None and not (home / "conf").exists():
        server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(), record_in_config=False)
    if server.pid() is not None:
        _say(f"Using graphmd's demo Neo4j, already running in {home} (its store is emptied first)")
    elif LocalNeo4j.jars_cached():
        _say(f"Starting graphmd's demo Neo4j in {home}...")
    else:
        _say(f"Starting graphmd's demo Neo4j in {home} (the first start resolves its jars with Maven)...")
    server.start(say=lambda m: _say(f"  {m}"))
    store = MetadataStore(server.uri, "neo4j", server.password)
    store.delete_everything()
    return store, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graphmd.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="pipeline runs to record (default 6)")
    parser.add_argument("--home", help="home of the demo's own Neo4j (default <user data dir>/demo-neo4j)")
    parser.add_argument("--page", help="where to write the lineage page (default <user data dir>/demo-lineage.html)")
    parser.add_argument("--reset", action="store_true", help="with GRAPHMD_NEO4J_URI: delete everything in it first")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2 (warm starting needs a previous run)")
    try:
        store, server = _connect(args)
        with store:
            mlmd_in_action(store)
            history = run_pipeline(store, args.runs)
            answer_questions(store, history)
            model_id = history.artifacts[f"{history.plans[-1].context_name}/model"]
            draw_lineage(store, model_id, Path(args.page) if args.page else data_dir() / "demo-lineage.html",
                         own_server=server is not None)
            browser_hint(server, store, model_id)
    except GraphmdError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
