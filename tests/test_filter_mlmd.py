"""Differential test: the same filter_query over the same world, in graphmd and in MLMD's
own in-process SQLite store (ml-metadata 1.17.1), must select the same nodes; and filters
MLMD rejects, graphmd rejects too.

Where graphmd knowingly differs (docs/filter_query.md, "Differences from MLMD") the case is
not here: graphmd accepts a few forms MLMD's SQL cannot run
(parent_contexts_a.create_time_since_epoch...).
"""

from __future__ import annotations

from typing import Any

import pytest

from graphmd import InvalidArgumentError, ListOptions, MetadataStore

from _filter_world import build_graphmd, build_mlmd, keys, render

mlmd = pytest.importorskip("ml_metadata")
from ml_metadata.metadata_store import metadata_store as mlmd_store_module  # noqa: E402
from ml_metadata.proto import metadata_store_pb2  # noqa: E402

ARTIFACT_FILTERS = [
    "id = {a1}", "id != {a1}", "id IN ({a0}, {a3})", "id > {a2}", "id <= {a2}", "NOT(id = {a0})",
    "{a1} = id", "id BETWEEN {a1} AND {a3}", "id NOT BETWEEN {a1} AND {a3}", "id > {a0}.5",
    "type_id = {t_Model}", "type = 'Model'", "type != 'Model'", "type IN ('Model', 'Nothing')",
    "name = 'train'", "name != 'train'", "name IS NULL", "name IS NOT NULL", "name > 'm'",
    "name LIKE 'm%'", "name LIKE 'M%'", "name LIKE '%A%'", "uri LIKE '/DATA/%'", "name LIKE '%a%'", "name LIKE '_1'", "name LIKE 'm_3'", "name NOT LIKE 'm%'",
    "name = \"odd's\"", "name = 'odd\\'s'", "uri = '/data/ne\"w'",
    "uri LIKE '/data/%'", "uri = '/models/m1'", "uri = ''", "uri IS NULL", "uri IS NOT NULL", "uri NOT IN ('/data/eval')",
    "external_id = 'ext-a0'", "external_id IS NULL",
    "state = LIVE", "state != LIVE", "state IN (LIVE, PENDING)", "state NOT IN (LIVE, PENDING)", "state IS NULL",
    "state IS NOT NULL", "NOT state = LIVE", "state > 1", "state <= 2", "state BETWEEN 1 AND 3",
    "state = LIVE OR state = DELETED",
    # TFX's resolver ops (ops_utils.get_valid_artifact_states_filter_query) write the enum's numbers
    "state IN (2)", "state IN (2, 3, 4)", "state IN (9)", "state IN (-1)", "state IN (2.0)", "state IN (2.5)",
    "state IN (+2)", "NOT state IN (2)", "state IN (1) OR state IN (4)",
    "id IN ({a0}, {a3}) AND (type IN ('Model', 'Nothing') AND state IN (2, 3, 4))",
    "events_0.type IN (3)", "events_0.type IN (4) AND events_0.execution_id = {e1}",
    # ORs of equalities fold into one IN
    "id = {a0} OR id = {a3} OR id = {a4}", "name = 'm1' OR name = 'm2' OR name = 'nothing'",
    "name = 'm1' OR uri = '/data/eval' OR name = 'm2' OR uri = '/data/test'",
    "NOT (id = {a0} OR id = {a1} OR name = 'm1')", "properties.p.int_value = 1 OR properties.p.int_value = -4",
    "contexts_a.name = 'run-2' OR contexts_a.name = 'pipe-b'",
    "create_time_since_epoch > 0", "last_update_time_since_epoch >= create_time_since_epoch",
    "NOT(create_time_since_epoch < 1 OR last_update_time_since_epoch < 1)",
    "properties.p.int_value = 2", "properties.p.int_value > 1", "properties.p.int_value < 2.5",
    "properties.p.int_value IN (1, 3, -4)", "properties.p.int_value = -4",
    "properties.p.int_value IS NULL", "properties.p.double_value IS NULL", "properties.p.int_value IS NOT NULL",
    "properties.d.double_value > 1", "properties.d.double_value = 0.5", "properties.d.double_value = 2",
    "properties.s.string_value = 'alpha'", "properties.s.string_value LIKE 'a%'", "properties.s.int_value IS NULL",
    "properties.b.bool_value = TRUE", "properties.b.bool_value", "NOT properties.b.bool_value",
    "properties.b.bool_value = false", "properties.b.bool_value IS NOT NULL",
    "custom_properties.note.string_value = 'first'", "custom_properties.note.int_value = 7",
    "custom_properties.note.string_value IS NULL", "custom_properties.`my:key`.int_value = 3",
    "custom_properties.`my key`.string_value = 'x'", "custom_properties.acc.double_value > 0.5",
    "custom_properties.flag.bool_value = true", "properties.`p`.int_value = 1",
    "properties.p.int_value = 1 OR custom_properties.note.int_value = 7",
    "name = 'train' OR properties.p.int_value = 3", "name = 'm2' OR properties.nothing.int_value IS NULL",
    # A STRUCT is text to MLMD's SQL ("mlmd-struct::" and its serialized proto), not to its other fields
    "custom_properties.cfg.string_value IS NULL", "custom_properties.cfg.string_value IS NOT NULL",
    "custom_properties.cfg.string_value LIKE 'mlmd-struct%'", "custom_properties.cfg.string_value != ''",
    "custom_properties.cfg.string_value = 'x'", "custom_properties.cfg.int_value IS NULL",
    "custom_properties.cfg.double_value IS NOT NULL",
    "name = 'm1' OR name = 'm2' AND state = LIVE", "(name = 'm1' OR name = 'm2') AND state = LIVE",
    "NOT name = 'm1' AND uri IS NOT NULL", "NOT (name = 'm1' OR name = 'm2')", "NOT NOT name = 'm1'",
    "name = 'train' -- a comment", "TRUE", "FALSE OR name = 'eval'", "(id = {a0}) = TRUE",
    "uri LIKE 'uri_%' OR state = LIVE", "type = 'Dataset' AND state IS NULL",
    "contexts_a.name = 'run-1'", "contexts_a.type = 'Pipeline'", "contexts_a.id = {r2}",
    "contexts_a.name = 'run-1' AND contexts_a.type = 'Run'",
    "contexts_a.name = 'run-1' AND contexts_b.name = 'run-2'",
    "contexts_a.name = 'run-1' AND contexts_a.name = 'run-2'",
    "contexts_a.name = 'run-1' OR contexts_b.name = 'pipe-b'",
    "contexts_a.name LIKE 'run%' AND NOT contexts_a.name = 'run-1'",
    "contexts_a.create_time_since_epoch > 0", "contexts_a.last_update_time_since_epoch > 0",
    "name = 'm2' OR contexts_a.name = 'run-2'", "contexts_a.name != 'pipe-a'",
    "contexts_c.name LIKE '%' AND contexts_c.type = 'Run'",
    "events_0.type = INPUT", "events_0.type = OUTPUT OR events_0.type = DECLARED_OUTPUT",
    "events_0.type IN (INPUT, INTERNAL_INPUT)", "events_0.type != INPUT", "events_0.type NOT IN (INPUT)",
    "events_0.execution_id = {e1}", "events_0.milliseconds_since_epoch > 250",
    "events_0.type = INPUT AND events_1.type = OUTPUT", "events_0.type = INPUT AND events_0.execution_id = {e2}",
    "uri = '/data/train' AND events_0.type = INPUT", "contexts_a.name = 'pipe-a' AND events_0.type = OUTPUT",
    "type = 'Dataset' AND (contexts_a.type = 'Run' AND contexts_a.name = 'run-2') AND "
    "(properties.s.string_value = 'alpha' OR custom_properties.note.int_value = 7)",
]
EXECUTION_FILTERS = [
    "last_known_state = COMPLETE", "last_known_state != COMPLETE", "last_known_state IN (NEW, RUNNING)",
    "last_known_state NOT IN (FAILED)", "last_known_state IS NULL", "last_known_state > 2",
    "last_known_state IN (3)", "last_known_state IN (1, 2, 3)", "last_known_state IN (7)",
    "id = {e1}", "id != {e1} OR last_known_state = COMPLETE", "type_id = {t_Trainer} AND last_known_state != COMPLETE",
    "name LIKE 'train%'", "name IS NULL", "type = 'Trainer' AND properties.p.int_value >= 2",
    "properties.s.string_value = 'gpu'", "custom_properties.note.string_value = 'bad'",
    "external_id = 'ext-e4'", "external_id IS NULL", "id IN ({e0}, {e4})",
    "contexts_a.name = 'run-1'", "contexts_a.type = 'Run' AND contexts_b.type = 'Pipeline'",
    "contexts_a.id = {r1} OR contexts_a.id = {r3}",
    "(contexts_1.type = 'Run' AND contexts_1.name = 'run-1') OR (contexts_2.type = 'Run' AND contexts_2.name = 'run-2')",
    "events_0.artifact_id = {a3}", "events_0.type = OUTPUT", "events_0.artifact_id = {a3} AND events_0.type = INPUT",
    "events_0.artifact_id = {a3} AND events_0.type = OUTPUT",
    "events_0.type = INPUT AND events_1.type = OUTPUT", "events_0.milliseconds_since_epoch < 200",
    "events_0.type IN (INPUT, INTERNAL_INPUT) AND last_known_state = FAILED",
]
CONTEXT_FILTERS = [
    "name = 'run-1'", "type = 'Run'", "name LIKE 'pipe%'", "id = {p2}", "type_id = {t_Pipeline}",
    "external_id = 'ext-r3'", "properties.p.int_value = 2", "properties.p.int_value IS NOT NULL",
    "custom_properties.owner.string_value = 'ann'", "custom_properties.owner.string_value IS NOT NULL",
    "parent_contexts_a.name = 'pipe-a'", "parent_contexts_a.type = 'Pipeline'", "parent_contexts_a.id = {r3}",
    "child_contexts_a.name = 'run-1'", "child_contexts_a.type = 'Run'", "child_contexts_a.id = {r2}",
    "child_contexts_a.name = 'run-1' AND child_contexts_b.name = 'run-2'",
    "parent_contexts_a.name = 'pipe-a' AND custom_properties.owner.string_value = 'ann'",
    "NOT parent_contexts_a.name = 'pipe-a'", "parent_contexts_a.type = 'Pipeline' AND parent_contexts_b.type = 'Run'",
    "artifacts_a.name = 'train'", "artifacts_a.uri LIKE '/models/%'", "artifacts_a.state = LIVE",
    "artifacts_a.state IN (PENDING, DELETED)", "artifacts_a.type = 'Model' AND artifacts_b.type = 'Dataset'",
    "artifacts_a.id = {a1} AND name = 'run-2'", "artifacts_a.create_time_since_epoch > 0",
    "executions_a.last_known_state = COMPLETE", "executions_a.name = 'train-2'", "executions_a.id = {e4}",
    "executions_a.id = {e1} AND artifacts_a.id = {a1}", "executions_a.type = 'Evaluator'",
    "executions_a.last_known_state IN (NEW, RUNNING)",
]
# MLMD answers INVALID_ARGUMENT to each of these; so must graphmd.
INVALID = [
    ("Artifact", "id = 'abc'"), ("Artifact", "name = 1"), ("Artifact", "id = NULL"), ("Artifact", "name LIKE NULL"),
    ("Artifact", "NOT NULL"), ("Artifact", "NULL"), ("Artifact", "state = live"),
    ("Artifact", "state = 'LIVE'"), ("Artifact", "id IN ()"), ("Artifact", "id IN (name)"),
    ("Artifact", "a = b = c"), ("Artifact", "id = 1 = true"), ("Artifact", "id = 1 AND"), ("Artifact", "(id = 1"),
    ("Artifact", "name = b'a1'"), ("Artifact", "name = 'odd''s'"), ("Artifact", "properties.p.int_value"),
    ("Artifact", "id IS TRUE"),
    ("Artifact", "id IS NOT NULL = TRUE"), ("Artifact", "last_known_state = NEW"),
    ("Artifact", "parent_contexts_a.name = 'x'"), ("Artifact", "artifacts_a.name = 'x'"),
    ("Artifact", "events_0.artifact_id = 1"), ("Artifact", "unknown_field = 1"), ("Artifact", "id ="),
    ("Execution", "uri = 'x'"), ("Execution", "state = LIVE"), ("Execution", "events_0.execution_id = 1"),
    ("Execution", "last_known_state = LIVE"), ("Context", "contexts_a.name = 'x'"),
    ("Context", "events_0.type = INPUT"), ("Context", "uri = 'x'"), ("Context", "state IS NULL"),
]

_LIST = {"Artifact": ("get_artifacts", "get_artifacts"), "Execution": ("get_executions", "get_executions"),
         "Context": ("get_contexts", "get_contexts")}


@pytest.fixture(scope="module")
def mlmd_world() -> tuple[Any, dict[str, int]]:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.SetInParent()
    oracle = mlmd_store_module.MetadataStore(config)
    return oracle, build_mlmd(oracle)


@pytest.fixture
def worlds(store: MetadataStore,
           mlmd_world: tuple[Any, dict[str, int]]) -> tuple[MetadataStore, dict[str, int], Any, dict[str, int]]:
    return store, build_graphmd(store), mlmd_world[0], mlmd_world[1]


def _compare(worlds: tuple[MetadataStore, dict[str, int], Any, dict[str, int]], label: str,
             templates: list[str]) -> None:
    store, ids, oracle, oracle_ids = worlds
    method = _LIST[label][0]
    mismatches, hits = [], 0
    for template in templates:
        expected = keys(getattr(oracle, method)(
            list_options=mlmd_store_module.ListOptions(filter_query=render(template, oracle_ids))), oracle_ids, label)
        got = keys(getattr(store, method)(ListOptions(filter_query=render(template, ids))), ids, label)
        hits += bool(expected)
        if got != expected:
            mismatches.append(f"{template!r}: graphmd {got}, MLMD {expected}")
    assert not mismatches, "\n".join(mismatches)
    # The world is built so that most filters select something: a differential test of
    # empty answers would prove little.
    assert hits >= 0.7 * len(templates)


def test_artifact_filters_match_mlmd(worlds: Any) -> None:
    _compare(worlds, "Artifact", ARTIFACT_FILTERS)


def test_execution_filters_match_mlmd(worlds: Any) -> None:
    _compare(worlds, "Execution", EXECUTION_FILTERS)


def test_context_filters_match_mlmd(worlds: Any) -> None:
    _compare(worlds, "Context", CONTEXT_FILTERS)


@pytest.mark.parametrize(("label", "query"), INVALID)
def test_what_mlmd_rejects_graphmd_rejects(store: MetadataStore, mlmd_world: tuple[Any, dict[str, int]],
                                           label: str, query: str) -> None:
    oracle = mlmd_world[0]
    from ml_metadata import errors as mlmd_errors

    with pytest.raises(mlmd_errors.InvalidArgumentError):
        getattr(oracle, _LIST[label][0])(list_options=mlmd_store_module.ListOptions(filter_query=query))
    with pytest.raises(InvalidArgumentError) as caught:
        getattr(store, _LIST[label][1])(ListOptions(filter_query=query))
    assert caught.value.field == "filter_query"


def test_tfx_resolver_state_filters_over_grpc(store: MetadataStore) -> None:
    """TFX's input-resolution ops filter artifact states by the enum's numbers
    (``state IN (2)``, ``state IN (2, 3, 4)``) in get_artifacts and in
    get_lineage_subgraph's starting nodes; through ml_metadata's own client, graphmd answers
    them as MLMD's own store does."""
    from _grpc_helpers import client, running_server

    oracle = mlmd_store_module.MetadataStore(metadata_store_pb2.ConnectionConfig(
        sqlite=metadata_store_pb2.SqliteMetadataSourceConfig()))
    pb = metadata_store_pb2
    answers = []
    with running_server(store) as server:
        for side in (oracle, client(server.port)):
            blessing_t = side.put_artifact_type(pb.ArtifactType(name="ModelBlessing"))
            evaluator_t = side.put_execution_type(pb.ExecutionType(name="Evaluator"))
            states = [pb.Artifact.LIVE, pb.Artifact.MARKED_FOR_DELETION, pb.Artifact.ABANDONED, pb.Artifact.DELETED]
            _, ids, _ = side.put_execution(pb.Execution(type_id=evaluator_t, last_known_state=pb.Execution.COMPLETE), [
                (pb.Artifact(type_id=blessing_t, uri=f"/b/{state}", state=state), pb.Event(type=pb.Event.OUTPUT))
                for state in states], [])
            listed = ", ".join(map(str, ids))
            got = []
            for query in (f'id IN ({listed}) AND (type IN ("ModelBlessing", "ModelInfraBlessing", "ModelPush") '
                          'AND state IN (2, 3, 4))',
                          f'id IN ({listed}) AND (type IN ("ModelBlessing") AND state IN (2))',
                          f"id IN ({listed}) AND state IN (9)"):
                got.append(sorted(a.uri for a in side.get_artifacts(list_options=mlmd.ListOptions(filter_query=query))))
            for start in ids:
                try:
                    graph = side.get_lineage_subgraph(pb.LineageSubgraphQueryOptions(
                        starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
                            filter_query=f"id = {start} AND state IN (2)"),
                        max_num_hops=2, direction=pb.LineageSubgraphQueryOptions.BIDIRECTIONAL), ["artifacts"])
                    got.append(sorted(a.uri for a in graph.artifacts))
                except mlmd.errors.NotFoundError:  # not LIVE: no starting node
                    got.append("NOT_FOUND")
            executions = side.get_executions(list_options=mlmd.ListOptions(filter_query="last_known_state IN (3)"))
            got.append(len(executions))
            answers.append(got)
    mlmd_answer, graphmd_answer = answers
    assert graphmd_answer == mlmd_answer
    assert mlmd_answer[:3] == [["/b/2", "/b/3", "/b/4"], ["/b/2"], []]
    assert mlmd_answer[3:] == [["/b/2", "/b/3", "/b/4", "/b/5"], *["NOT_FOUND"] * 3, 1]  # from the LIVE one only
