"""filter_query and list options: every construct of the language on artifacts, executions
and contexts; errors naming position and token; values only ever as parameters; paging
(order, direction, ties, tokens) while another writer inserts; index seeks in the plans.

The world (tests/_filter_world.py) is described there; MLMD's own answers on the same world
are checked in test_filter_mlmd.py, random filters in test_filter_property.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from _filter_world import build_graphmd, keys, render
from graphmd import (
    Artifact,
    ArtifactType,
    Attribution,
    Context,
    ContextType,
    Execution,
    InvalidArgumentError,
    ListOptions,
    MetadataStore,
    OrderBy,
    PropertyType,
)
from graphmd import _queries as q
from graphmd._filter import compile_filter
from graphmd._store import _list_query

# (filter, expected keys): constructs beyond what the MLMD differential covers, and each
# construct once more on its own, with graphmd's answer written out.
ARTIFACTS = [
    # attributes, each kind of literal
    ("id = {a3}", ["a3"]), ("id <> {a3} AND type = 'Model'", ["a4", "a5"]), ("id >= {a5}", ["a5", "a6"]),
    ("id < {a1}", ["a0"]), ("id IN ({a0}, {a6}, 0)", ["a0", "a6"]),
    ("id NOT IN ({a0}, {a1}, {a2}, {a3})", ["a4", "a5", "a6"]),
    ("type_id = {t_Dataset} AND name IS NULL", ["a2"]), ("type = \"Model\"", ["a3", "a4", "a5"]),
    ("name = 'train'", ["a0"]), ("NAME = 'train'", ["a0"]), ("`name` = 'train'", ["a0"]),
    ("external_id = 'ext-a0'", ["a0"]), ("external_id IS NOT NULL", ["a0"]),
    ("uri = '/data/ne\\\"w'", ["a6"]), ("uri = r'/data/ne\"w'", ["a6"]), ('uri = """/data/ne"w"""', ["a6"]),
    ("name = 'odd\\x27s'", ["a6"]), ("name = 'odd\\u0027s'", ["a6"]), ("name = 'odd\\047s'", ["a6"]),
    ("create_time_since_epoch > 0 AND last_update_time_since_epoch > 0 AND id = {a0}", ["a0"]),
    ("create_time_since_epoch = last_update_time_since_epoch AND type = 'Model'", ["a3", "a4", "a5"]),
    ("id = 0x0 OR name = 'm1'", ["a3"]), ("properties.p.int_value = -0x4", ["a5"]),
    ("properties.p.int_value = +3", ["a3"]), ("properties.d.double_value = 15e-1", ["a1"]),
    ("properties.d.double_value = .5", ["a0"]), ("properties.d.double_value > 1.", ["a1", "a6"]),
    # comparison operators on strings
    ("name < 'm'", ["a1"]), ("name >= 'm2'", ["a0", "a4", "a5", "a6"]), ("name BETWEEN 'e' AND 'm1'", ["a1", "a3"]),
    # enums
    ("state = LIVE", ["a0", "a3"]), ("state <> LIVE", ["a1", "a2", "a4", "a5", "a6"]),
    ("state IN (PENDING, DELETED)", ["a1", "a4"]), ("state NOT IN (PENDING, DELETED)", ["a0", "a2", "a3", "a5", "a6"]),
    ("state IS NULL", ["a2", "a6"]), ("state = UNKNOWN", []), ("state = ABANDONED", []),
    ("state >= 3", ["a4", "a5"]), ("3 < state", ["a4"]), ("state < 2.5", ["a0", "a1", "a3"]),
    ("state NOT BETWEEN 2 AND 3", ["a1", "a4"]), ("NOT state != LIVE", ["a0", "a3"]),
    ("NOT state < 0", ["a0", "a1", "a3", "a4", "a5"]),
    ("NOT state NOT BETWEEN -5 AND 9", ["a0", "a1", "a3", "a4", "a5"]),
    ("(state > 6) IS NULL", ["a2", "a6"]),
    # enum values by their proto numbers (TFX's resolver ops write `state IN (2)`): LIVE 2,
    # DELETED 4; a number no state has matches nothing; != and NOT IN list nodes without a
    # state as with names; = and != take numbers too (MLMD takes them in IN lists only)
    ("state IN (2)", ["a0", "a3"]), ("state IN (2, 3, 4)", ["a0", "a3", "a4", "a5"]), ("state IN (LIVE, 4)", ["a0", "a3", "a4"]),
    ("state IN (+2.0, 0x4)", ["a0", "a3", "a4"]), ("state IN (9)", []), ("state IN (-1, 2.5)", []),
    ("state = 2", ["a0", "a3"]), ("4 = state", ["a4"]), ("state = 2.5", []),
    ("state != 2", ["a1", "a2", "a4", "a5", "a6"]), ("state <> 9", ["a0", "a1", "a2", "a3", "a4", "a5", "a6"]),
    ("state NOT IN (2, 4)", ["a1", "a2", "a5", "a6"]), ("NOT state IN (2)", ["a1", "a4", "a5"]),
    ("NOT state = 9", ["a0", "a1", "a3", "a4", "a5"]), ("(state IN (9)) IS NULL", ["a2", "a6"]),
    ("state = 1 OR state = 4 OR state IN (9)", ["a1", "a4"]), ("events_0.type IN (4)", ["a3", "a5", "a6"]),
    # ORs of equalities on one column fold into one IN: the same answers, NULLs included
    ("id = {a0} OR id = {a3} OR id = {a6}", ["a0", "a3", "a6"]), ("id = {a0} OR ({a3} = id OR id IN ({a5}))", ["a0", "a3", "a5"]),
    ("name = 'm1' OR name = 'm2' OR name IS NULL", ["a2", "a3", "a4"]),
    ("NOT (name = 'm1' OR name = 'm2')", ["a0", "a1", "a5", "a6"]),
    ("(name = 'm1' OR name = 'nothing') IS NULL", ["a2"]), ("(name = 'x' OR name IN ('y', NULL)) IS NULL", ["a0", "a1", "a2", "a3", "a4", "a5", "a6"]),
    ("properties.p.int_value = 1 OR properties.p.int_value = 3 OR properties.p.double_value = 1", ["a0", "a3"]),
    ("properties.d.double_value = 0.5 OR properties.d.double_value = 15e-1", ["a0", "a1"]),
    ("state = LIVE OR state = 4 OR name = 'train'", ["a0", "a3", "a4"]),
    ("contexts_a.name = 'run-2' OR contexts_a.name = 'pipe-b'", ["a1", "a2", "a4"]),
    # LIKE: wildcards, escapes, regex characters in the data, NULLs
    ("name LIKE 'm_'", ["a3", "a4"]), ("name LIKE 'm__'", ["a5"]), ("name LIKE 'm\\\\_3'", ["a5"]),
    ("name LIKE 'm\\\\_%'", ["a5"]), ("name LIKE '%\\\\_%'", ["a5"]), ("name LIKE 'M%'", ["a3", "a4", "a5"]),  # ASCII case folds, as in MLMD
    ("name LIKE '%'", ["a0", "a1", "a3", "a4", "a5", "a6"]), ("name LIKE ''", []),
    ("name LIKE 'train'", ["a0"]), ("uri LIKE '/data/ne\"_'", ["a6"]), ("uri LIKE '/%/m%'", ["a3", "a5"]),
    ("name NOT LIKE '%a%'", ["a3", "a4", "a5", "a6"]), ("name LIKE 'odd_s'", ["a6"]),
    # IS NULL, IS TRUE / FALSE, bare booleans
    ("properties.b.bool_value IS TRUE", ["a0"]), ("properties.b.bool_value IS FALSE", ["a6"]),
    ("properties.b.bool_value IS NOT TRUE", ["a6"]), ("properties.b.bool_value IS NOT FALSE", ["a0"]),
    ("(name = 'm1') IS NOT TRUE AND type = 'Model'", ["a4", "a5"]), ("(name = 'm1') IS NULL", ["a2"]),
    ("properties.b.bool_value AND TRUE", ["a0"]), ("properties.b.bool_value = FALSE OR FALSE", ["a6"]),
    # properties: each value field, quoting, absence, struct-free kinds, both sides
    ("properties.p.int_value >= 2", ["a1", "a3"]), ("properties.p.double_value IS NULL", ["a0", "a1", "a3", "a5"]),
    ("properties.d.int_value IS NULL", ["a0", "a1", "a6"]), ("properties.s.string_value != 'alpha'", ["a1"]),
    ("custom_properties.`my key`.string_value = 'x'", ["a3"]), ("custom_properties.`my:key`.int_value > 2", ["a1"]),
    ("custom_properties.note.int_value IS NULL", ["a0"]), ("custom_properties.nothing.int_value IS NULL", []),
    ("properties.P.int_value = 1", []), ("properties.p.INT_VALUE = 1", ["a0"]),
    ("properties.p.int_value = properties.p.int_value", ["a0", "a1", "a3", "a5"]),
    ("properties.p.int_value < properties.d.double_value", []),
    ("name = 'train' OR custom_properties.flag.bool_value", ["a4"]),
    # precedence and grouping
    ("name = 'm1' OR name = 'm2' AND state = LIVE", ["a3"]),
    ("(name = 'm1' OR name = 'm2') AND state = DELETED", ["a4"]),
    ("NOT name = 'm1' AND type = 'Model'", ["a4", "a5"]),
    ("NOT (name = 'm1' AND type = 'Model') AND type = 'Model'", ["a4", "a5"]),
    ("name = 'm1' OR NOT type = 'Model' AND state = LIVE", ["a0", "a3"]),
    ("NOT NOT NOT name = 'm1' AND type = 'Model'", ["a4", "a5"]),
    ("((((name = 'm1'))))", ["a3"]), ("name = 'm1' and type = 'Model' Or name = 'eval'", ["a1", "a3"]),
    # comments and layout
    ("name = 'm1' /* a comment */ OR\n  name = 'm2' # another\n", ["a3", "a4"]), ("name = 'm1' -- trailing", ["a3"]),
    # neighbours: contexts, each field, one alias is one context, two are independent
    ("contexts_a.name = 'run-2'", ["a1", "a2"]), ("contexts_a.type = 'Pipeline' AND state IS NULL", ["a2"]),
    ("contexts_a.id = {p2}", ["a4"]), ("contexts_a.type_id = {t_Run} AND contexts_a.name != 'run-1'", ["a1", "a2"]),
    ("contexts_a.external_id IS NULL AND contexts_a.name = 'pipe-b'", ["a4"]),
    ("contexts_a.create_time_since_epoch >= create_time_since_epoch", ["a0", "a1", "a2", "a3", "a4"]),
    ("contexts_a.name = 'run-1' AND contexts_a.name = 'run-2'", []),
    ("contexts_a.name = 'run-1' AND contexts_b.name = 'run-2'", ["a1"]),
    ("contexts_x.name = 'run-1' AND contexts_y.name = 'pipe-a' AND contexts_z.type = 'Run'", ["a0", "a1", "a3"]),
    ("contexts_a.properties.p.int_value = 2", ["a1", "a2"]), ("contexts_a.custom_properties.owner.string_value = 'bob'",
                                                               ["a0", "a1", "a2", "a3"]),
    ("name = 'm_3' OR contexts_a.name = 'pipe-b'", ["a4"]),  # a5 has no context: the join drops it
    ("NOT contexts_a.name = 'run-1'", ["a0", "a1", "a2", "a3", "a4"]),
    # events: type (enum), the execution's id, time; aliases as for contexts
    ("events_0.type = OUTPUT", ["a3", "a5", "a6"]), ("events_0.type = PENDING_OUTPUT", []),
    ("events_0.type > 3", ["a2", "a3", "a5", "a6"]), ("events_0.execution_id = {e4}", ["a0"]),
    ("events_0.execution_id = {e0} AND events_0.type = INPUT", ["a0"]),
    ("events_e.milliseconds_since_epoch BETWEEN 150 AND 200", ["a1", "a3"]),
    ("events_0.type = INPUT AND events_1.type = DECLARED_OUTPUT", ["a3"]),
    ("events_0.type = INPUT AND events_0.type = DECLARED_OUTPUT", []),
    ("events_0.execution_id = events_1.execution_id AND "
     "events_0.milliseconds_since_epoch < events_1.milliseconds_since_epoch", []),
    ("events_0.type = INPUT AND contexts_a.name = 'run-1'", ["a0", "a1", "a3"]),
]
EXECUTIONS = [
    ("last_known_state = RUNNING", ["e1"]), ("last_known_state != RUNNING", ["e0", "e2", "e3", "e4"]),
    ("last_known_state IN (NEW, COMPLETE)", ["e0", "e4"]),
    ("last_known_state NOT IN (NEW, COMPLETE)", ["e1", "e2", "e3"]),
    ("last_known_state IS NULL", ["e3"]), ("last_known_state < 3", ["e1", "e4"]),
    ("last_known_state BETWEEN 3 AND 4", ["e0", "e2"]),
    ("last_known_state IN (3)", ["e0"]), ("last_known_state IN (1, 3)", ["e0", "e4"]),
    ("last_known_state = 2 OR last_known_state = 4", ["e1", "e2"]),
    ("events_0.type IN (3) AND events_0.artifact_id = {a3}", ["e2"]),
    ("name IS NULL OR name = 'eval-1'", ["e2", "e3"]), ("name LIKE 'train-_'", ["e0", "e1", "e4"]),
    ("type = 'Evaluator'", ["e2", "e3"]), ("type_id = {t_Evaluator} AND name IS NOT NULL", ["e2"]),
    ("external_id = 'ext-e4'", ["e4"]), ("id IN ({e0}, {e3})", ["e0", "e3"]), ("id > {e3}", ["e4"]),
    ("properties.p.int_value BETWEEN 2 AND 5", ["e1", "e4"]), ("properties.s.string_value LIKE 'g%'", ["e0"]),
    ("custom_properties.note.string_value = 'bad'", ["e2"]),
    ("contexts_a.name = 'run-3'", ["e4"]),
    ("contexts_a.type = 'Run' AND contexts_b.type = 'Pipeline'", ["e0", "e1", "e2"]),
    ("contexts_a.name = 'run-1' AND contexts_a.type = 'Pipeline'", []),
    ("contexts_a.properties.p.int_value = 1", ["e0", "e2"]),
    ("events_0.artifact_id = {a0}", ["e0", "e4"]), ("events_0.type = DECLARED_OUTPUT", ["e1"]),
    ("events_0.type IN (INPUT) AND events_0.artifact_id = {a3}", ["e2"]),
    ("events_0.milliseconds_since_epoch >= 300", ["e2", "e4"]),
    ("events_0.type = OUTPUT AND events_1.type = INTERNAL_INPUT", ["e2"]),
]
CONTEXTS = [
    ("name = 'pipe-a'", ["p1"]), ("type = 'Run' AND name != 'run-1'", ["r2", "r3"]),
    ("name LIKE '%-_'", ["p1", "p2", "r1", "r2", "r3"]),
    ("id = {r3}", ["r3"]), ("type_id = {t_Pipeline}", ["p1", "p2"]), ("external_id = 'ext-r3'", ["r3"]),
    ("properties.p.int_value >= 1", ["r1", "r2"]),
    ("custom_properties.owner.string_value IN ('ann', 'bob')", ["p1", "r1"]),
    ("create_time_since_epoch > 0 AND name LIKE 'run%'", ["r1", "r2", "r3"]),
    ("parent_contexts_a.name = 'pipe-a'", ["r1", "r2"]), ("parent_contexts_a.type = 'Run'", ["r2"]),
    ("parent_contexts_a.id = {p2}", ["r3"]), ("parent_contexts_a.create_time_since_epoch > 0", ["r1", "r2", "r3"]),
    ("parent_contexts_a.name = 'pipe-a' AND parent_contexts_b.name = 'run-3'", ["r2"]),
    ("parent_contexts_a.name = 'pipe-a' AND parent_contexts_a.name = 'run-3'", []),
    ("child_contexts_a.name = 'run-2'", ["p1", "r3"]), ("child_contexts_a.type = 'Run'", ["p1", "p2", "r3"]),
    ("child_contexts_c.id = {r3} OR name = 'run-1'", ["p2"]),  # run-1 has no child: the join drops it
    ("child_contexts_a.properties.p.int_value = 2", ["p1", "r3"]),
    ("artifacts_a.uri = '/models/m1'", ["p1", "r1"]), ("artifacts_a.state = DELETED", ["p2"]),
    ("artifacts_a.state != LIVE AND type = 'Run'", ["r1", "r2"]), ("artifacts_a.external_id = 'ext-a0'", ["p1", "r1"]),
    ("artifacts_a.properties.s.string_value = 'beta'", ["p1", "r1", "r2"]),
    ("artifacts_a.name = 'train' AND artifacts_b.name = 'eval' AND artifacts_c.type = 'Model'", ["p1", "r1"]),
    ("executions_a.last_known_state = NEW", ["r3"]), ("executions_a.last_known_state != NEW", ["p1", "r1", "r2"]),
    ("executions_a.name LIKE 'eval%'", ["p1", "r1"]), ("executions_a.external_id = 'ext-e4'", ["r3"]),
    ("executions_a.type = 'Trainer' AND artifacts_a.type = 'Model'", ["p1", "r1"]),
]


def _check(store: MetadataStore, label: str, table: list[tuple[str, list[str]]]) -> None:
    ids = build_graphmd(store)
    method = {"Artifact": store.get_artifacts, "Execution": store.get_executions, "Context": store.get_contexts}[label]
    wrong = []
    for template, expected in table:
        got = keys(method(ListOptions(filter_query=render(template, ids))), ids, label)
        if got != sorted(expected):
            wrong.append(f"{template!r}: got {got}, expected {sorted(expected)}")
    assert not wrong, "\n".join(wrong)


def test_artifact_filters(store: MetadataStore) -> None:
    _check(store, "Artifact", ARTIFACTS)


def test_execution_filters(store: MetadataStore) -> None:
    _check(store, "Execution", EXECUTIONS)


def test_context_filters(store: MetadataStore) -> None:
    _check(store, "Context", CONTEXTS)


def test_unset_uri_is_null_and_empty_uri_is_not(store: MetadataStore) -> None:
    t = store.put_artifact_type(ArtifactType(name="T"))
    unset, empty = store.put_artifacts([Artifact(type_id=t), Artifact(type_id=t, uri="")])
    assert [a.id for a in store.get_artifacts(ListOptions(filter_query="uri IS NULL"))] == [unset]
    assert [a.id for a in store.get_artifacts(ListOptions(filter_query="uri = ''"))] == [empty]
    assert [a.id for a in store.get_artifacts(ListOptions(filter_query="uri LIKE '%'"))] == [empty]



def test_a_negative_zero_is_zero_in_filters_and_reads_as_mlmd_stores_it(store: MetadataStore) -> None:
    t = store.put_artifact_type(ArtifactType(name="Scored", properties={"score": PropertyType.DOUBLE}))
    ids = store.put_artifacts([Artifact(type_id=t, properties={"score": v}, custom_properties={"c": v})
                               for v in (-1.5, -0.0, 0.0, 0.5)])
    below, minus_zero, zero, _ = ids

    def found(query: str) -> list[int]:
        return [a.id for a in store.get_artifacts(ListOptions(filter_query=query))]

    assert found("properties.score.double_value < 0") == [below]  # MLMD's answer; -0.0 is not below 0
    assert found("properties.score.double_value = 0") == [minus_zero, zero]
    assert found("custom_properties.c.double_value < 0.0") == [below]
    [read] = store.get_artifacts_by_id([minus_zero])
    assert str(read.properties["score"]) == "0.0" and str(read.custom_properties["c"]) == "0.0"


def test_filters_combine_with_type_and_context_scopes(store: MetadataStore) -> None:
    ids = build_graphmd(store)
    options = ListOptions(filter_query="state = LIVE OR state IS NULL")
    assert keys(store.get_artifacts_by_type("Dataset", list_options=options), ids, "Artifact") == ["a0", "a2", "a6"]
    assert keys(store.get_artifacts_by_context(ids["r1"], options), ids, "Artifact") == ["a0", "a3"]
    # The scope's context and the filter's context alias are matched independently.
    both = ListOptions(filter_query="contexts_a.name = 'run-2'")
    assert keys(store.get_artifacts_by_context(ids["p1"], both), ids, "Artifact") == ["a1", "a2"]
    by_run = ListOptions(filter_query="events_0.type = INPUT")
    assert keys(store.get_executions_by_context(ids["p1"], by_run), ids, "Execution") == ["e0", "e1", "e2"]
    runs = ListOptions(filter_query="parent_contexts_p.name = 'pipe-a'")
    assert keys(store.get_contexts_by_type("Run", list_options=runs), ids, "Context") == ["r1", "r2"]
    assert keys(store.get_executions_by_type("Trainer", list_options=ListOptions(filter_query="properties.p.int_value > 1")),
                ids, "Execution") == ["e1", "e4"]
    page = store.list_page(Artifact, ListOptions(filter_query="type = 'Model'", max_result_size=2), context_id=ids["p1"])
    assert keys(page.items, ids, "Artifact") == ["a3"] and page.next_page_token is None
    # A type and a context together: both hold (the CLI's --type with --context).
    assert keys(store.list_page(Artifact, type_name="Model", context_id=ids["p1"]).items, ids, "Artifact") == ["a3"]
    assert keys(store.list_page(Artifact, type_name="Model", context_id=ids["p2"]).items, ids, "Artifact") == ["a4"]
    assert keys(store.list_page(Artifact, type_name="Dataset", context_id=ids["p2"]).items, ids, "Artifact") == []
    with pytest.raises(InvalidArgumentError):
        store.list_page(Context, context_id=ids["p1"])


# --- errors ---------------------------------------------------------------------------------

ERRORS = [
    # (label, filter, words the message must hold: what is wrong, line:column, token)
    ("Artifact", "", ["empty", "1:1"]),
    ("Artifact", "   ", ["empty"]),
    ("Artifact", "name = 'a' AND", ["unexpected end of input", "1:15"]),
    ("Artifact", "name = = 'a'", ["syntax error", "1:8", "'='"]),
    ("Artifact", "name = 'a' name = 'b'", ["1:12", "'name'"]),
    ("Artifact", "(name = 'a'", ["expected ')'", "1:12"]),
    ("Artifact", "name = 'a')", ["1:11", "')'"]),
    ("Artifact", "id = 1 = 1", ["do not chain", "1:8", "'='"]),
    ("Artifact", "id IS NULL IS NULL", ["do not chain", "1:12"]),
    ("Artifact", "name ! 'a'", ["unexpected character", "1:6", "'!'"]),
    ("Artifact", "uri LIKE /models/%", ["unexpected character", "1:10", "'/'", "a text value is quoted"]),
    ("Artifact", "name = 'a' AND name = run-1/m", ["1:28", "'/'", "a text value is quoted"]),
    ("Artifact", "name = 'abc", ["unterminated string", "1:8"]),
    ("Artifact", "name = 'a\\qb'", ["unknown escape", "1:10", "'\\\\q'"]),
    ("Artifact", "name = 'a\\x4'", ["malformed escape", "1:10"]),
    ("Artifact", "name = 'a' /* open", ["unterminated comment", "1:12"]),
    ("Artifact", "properties.`p.int_value = 1", ["unterminated quoted name", "1:12"]),
    ("Artifact", "properties.``.int_value = 1", ["empty quoted name", "1:12"]),
    ("Artifact", "id = 12abc", ["malformed number", "1:6"]),
    ("Artifact", "id = 9223372036854775808", ["64-bit", "1:6", "'9223372036854775808'"]),
    ("Artifact", "id = 1e999", ["out of range", "1:6"]),
    ("Artifact", "id = b'1'", ["bytes", "1:6"]),
    ("Artifact", "id = -name", ["syntax error", "1:6", "'-'"]),
    ("Artifact", "id = 1 + 2", ["1:8", "'+'"]),
    ("Artifact", "name NOT = 'a'", ["syntax error", "1:6", "'NOT'"]),
    ("Artifact", "name IS 'a'", ["expected NULL, TRUE or FALSE", "1:9"]),
    ("Artifact", "id IN ()", ["1:8", "')'"]),
    ("Artifact", "id BETWEEN 1 OR 2", ["expected 'AND'", "1:14"]),
    ("Artifact", "nme = 'a'", ["unknown field 'nme' on Artifact", "1:1", "'nme'"]),
    ("Artifact", "day = 1", ["unknown field 'day' on Artifact", "properties.day.int_value", "quoted: 'day'"]),
    ("Artifact", "`nme` = 'a'", ["unknown field", "1:1", "'`nme`'"]),
    ("Artifact", "last_known_state = NEW", ["unknown field 'last_known_state' on Artifact", "1:1"]),
    ("Artifact", "name = LIVE", ["unknown field 'LIVE'", "1:8", "'LIVE'"]),
    ("Artifact", "contexts.name = 'a'", ["unknown field 'contexts'", "1:1"]),
    ("Artifact", "contexts_a.uri = 'a'", ["unknown field 'uri' of contexts_a", "1:1", "'contexts_a.uri'"]),
    ("Artifact", "contexts_a = 1", ["unknown field 'contexts_a'", "1:1"]),
    ("Artifact", "parent_contexts_a.id = 1", ["unknown field 'parent_contexts_a'", "1:1"]),
    ("Artifact", "events_0.artifact_id = 1", ["unknown field 'artifact_id' of events_0"]),
    ("Artifact", "events_0.properties.p.int_value = 1", ["unknown field 'properties.p.int_value' of events_0"]),
    ("Artifact", "properties.p = 1", ["properties|custom_properties", "1:1", "'properties.p'"]),
    ("Artifact", "properties.p.value = 1", ["int_value|double_value", "1:1"]),
    ("Artifact", "id = 'a'", ["cannot compare id (INT64) with 'a' (STRING)", "1:4", "'='"]),
    ("Artifact", "name > 1", ["cannot compare name (STRING) with 1 (INT64)", "1:6"]),
    ("Artifact", "properties.p.bool_value = 1", ["cannot compare", "BOOL"]),
    ("Artifact", "id IN (1, 'a')", ["cannot compare id (INT64) with 'a' (STRING) using IN", "1:11"]),
    ("Artifact", "id IN (1, type_id)", ["IN lists hold literal values", "1:11", "'type_id'"]),
    ("Artifact", "id = NULL", ["operands of = cannot be literal NULL", "1:6", "'NULL'"]),
    ("Artifact", "NULL < id", ["operands of < cannot be literal NULL", "1:1"]),
    ("Artifact", "name LIKE NULL", ["operands of LIKE cannot be literal NULL", "1:11"]),
    ("Artifact", "name LIKE uri", ["a LIKE pattern must be a string literal", "1:11", "'uri'"]),
    ("Artifact", "name LIKE 'a\\\\'", ["escaping backslash", "1:11"]),
    ("Artifact", "id LIKE '1'", ["LIKE needs a STRING operand, not INT64", "1:1"]),
    ("Artifact", "id BETWEEN 'a' AND 2", ["cannot compare", "BETWEEN"]),
    ("Artifact", "NOT id", ["NOT needs a boolean operand, not INT64", "1:5", "'id'"]),
    ("Artifact", "NOT NULL", ["operands of NOT cannot be literal NULL"]),
    ("Artifact", "id AND TRUE", ["operands of AND must be boolean, not INT64", "1:1"]),
    ("Artifact", "id", ["must be a boolean expression, not INT64", "1:1"]),
    ("Artifact", "NULL", ["must be a boolean expression, not NULL"]),
    ("Artifact", "'x'", ["not STRING"]),
    ("Artifact", "id IS TRUE", ["IS TRUE needs a boolean operand, not INT64"]),
    ("Artifact", "state = live", ["state takes one of UNKNOWN, PENDING, LIVE", "1:9", "'live'"]),
    ("Artifact", "state = TRUE", ["state takes one of", "or its number, 0 to 6", "1:9", "'TRUE'"]),
    ("Artifact", "state IN (2, '3')", ["state takes one of", "1:14", "\"'3'\""]),
    ("Artifact", "state = 'LIVE'", ["state takes one of", "near \"'LIVE'\""]),
    ("Artifact", "state = name", ["state takes one of", "'name'"]),
    ("Artifact", "state IN (LIVE, NULL)", ["state takes one of", "'NULL'"]),
    ("Artifact", "state < LIVE", ["ordered by its enum number", "1:9", "'LIVE'"]),
    ("Artifact", "state BETWEEN PENDING AND 3", ["ordered by its enum number"]),
    ("Artifact", "events_0.type = INPUTS", ["events_0.type takes one of", "'INPUTS'"]),
    ("Execution", "uri = 'a'", ["unknown field 'uri' on Execution"]),
    ("Execution", "last_known_state = LIVE", ["last_known_state takes one of UNKNOWN, NEW"]),
    ("Execution", "events_0.execution_id = 1", ["unknown field 'execution_id' of events_0"]),
    ("Execution", "artifacts_a.id = 1", ["unknown field 'artifacts_a' on Execution"]),
    ("Context", "contexts_a.id = 1", ["unknown field 'contexts_a' on Context"]),
    ("Context", "events_0.type = INPUT", ["unknown field 'events_0' on Context"]),
    ("Context", "state IS NULL", ["unknown field 'state' on Context"]),
    ("Context", "artifacts_a.last_known_state = NEW", ["unknown field 'last_known_state' of artifacts_a"]),
    ("Context", "executions_a.uri = 'x'", ["unknown field 'uri' of executions_a"]),
    ("Artifact", "name = 'a'\n  AND nme = 'b'", ["unknown field 'nme'", "2:7"]),
    ("Artifact", "(" * 101 + "id = 1" + ")" * 101, ["nesting deeper than 100", "1:101"]),
    ("Artifact", "NOT " * 101 + "id = 1", ["nesting deeper than 100", "1:401", "'NOT'"]),
]


def test_an_or_of_equalities_on_one_column_compiles_to_one_in_list() -> None:
    """`id = 1 OR id = 2 OR ...` is one `n.id IN $list` (one index seek, planned at once,
    where 5,000 Cypher ORs kept the planner a minute); equalities on other columns, `!=`,
    NOT and field-to-field comparisons stay as they are; errors are those of the terms."""
    terms = compile_filter(" OR ".join(f"id = {i}" for i in range(5000)), "Artifact")
    assert terms.where == "((n.id IN $f_5000))" and terms.params == {"f_5000": list(range(5000))}
    mixed = compile_filter("state = LIVE OR uri = 'a' OR 4 = state OR (state IN (PENDING, 9) OR uri IN ('b'))",
                           "Artifact")
    assert mixed.where == "((n.state IN $f_5) OR (n.uri IN $f_6))"
    assert mixed.params == {"f_5": ["LIVE", "DELETED", "PENDING", "#none"], "f_6": ["a", "b"]}
    kept = compile_filter("id != 1 OR id = type_id OR NOT id = 2 OR id = 3", "Artifact")
    assert kept.where == "((n.id <> $f_0) OR (n.id = n.type_id) OR (NOT (n.id = $f_1)) OR (n.id = $f_2))"
    for query, words in [("id = 1 OR nme = 2 OR id = 3", "unknown field 'nme'"),
                         ("id = 1 OR id = 'a' OR id = 3", r"cannot compare id \(INT64\) with 'a'"),
                         ("state = 2 OR state = 'LIVE'", "state takes one of")]:
        with pytest.raises(InvalidArgumentError, match=words):
            compile_filter(query, "Artifact")


@pytest.mark.parametrize(("label", "query", "words"), ERRORS)
def test_bad_filters_raise_invalid_argument_naming_position_and_token(label: str, query: str, words: list[str]) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        compile_filter(query, label)
    assert caught.value.field == "filter_query"
    message = str(caught.value)
    assert message.startswith("filter_query: ")
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_a_bad_filter_reaches_the_caller_of_every_listing(store: MetadataStore) -> None:
    ids = build_graphmd(store)
    calls = [lambda o: store.get_artifacts(o), lambda o: store.get_executions(o), lambda o: store.get_contexts(o),
             lambda o: store.get_artifacts_by_type("Model", list_options=o),
             lambda o: store.get_executions_by_context(ids["r1"], o), lambda o: store.list_page(Context, o)]
    before = store.counts()
    for call in calls:
        with pytest.raises(InvalidArgumentError) as caught:
            call(ListOptions(filter_query="name = "))
        assert caught.value.field == "filter_query"
    assert store.counts() == before


# --- values are parameters ------------------------------------------------------------------

HOSTILE = ["x' OR 1=1 //", "x\") RETURN n //", "}) DETACH DELETE n //", "$f_0", "`", "\\", "n.id", "\n", "*/", "é\x00",
           "%_"]


def _string_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\x00", "\\x00") + "'"


@pytest.mark.parametrize("value", HOSTILE)
def test_values_and_names_never_reach_the_query_text(value: str) -> None:
    """Whatever a value or a property name holds, the Cypher is the same text as for a
    harmless one: only the parameters differ."""
    def compiled(text: str, name: str) -> Any:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return compile_filter(f"name = {_string_literal(text)} AND properties.`{name}`.int_value = 1 "
                              f"AND uri LIKE {_string_literal(like)} AND contexts_a.name IN ({_string_literal(text)})",
                              "Artifact")

    benign = compiled("safe", "safe")
    hostile = compiled(value, value if "`" not in value else "a")  # no backquote inside backquotes (MLMD's rule too)
    assert (hostile.match_clauses, hostile.where) == (benign.match_clauses, benign.where)
    assert value in hostile.params.values() and [value] in hostile.params.values()
    assert ("p_" + value if "`" not in value else "p_a") in hostile.params.values()


def test_parameters_and_variables_do_not_collide_with_the_store_names() -> None:
    compiled = compile_filter("contexts_n.name = 'x' AND events_page.type = INPUT AND properties.scope.int_value = 1",
                              "Artifact", "n")
    assert all(p.startswith("f_") for p in compiled.params)
    text = " ".join(compiled.match_clauses) + compiled.where
    assert "$scope" not in text and "$page" not in text
    assert "contexts_n" not in text and "events_page" not in text


def test_property_names_reach_neo4j_as_dynamic_keys(store: MetadataStore) -> None:
    t = store.put_artifact_type(ArtifactType(name="T"))
    odd = ["a b", "x:y", "0lead", "AND", "back`tick", "ü", "p_q", "with.dot", "]) RETURN 1 //"]
    ids = store.put_artifacts([Artifact(type_id=t, custom_properties={name: i}) for i, name in enumerate(odd)])
    for i, name in enumerate(odd):
        if "`" in name:
            continue
        shown = name if name.replace("_", "a").isalnum() and name.isascii() else f"`{name}`"
        got = store.get_artifacts(ListOptions(filter_query=f"custom_properties.{shown}.int_value = {i}"))
        assert [a.id for a in got] == [ids[i]], name


# --- list options: order, direction, ties, pages --------------------------------------------


@pytest.fixture
def paged(store: MetadataStore) -> tuple[MetadataStore, int]:
    """Twelve artifacts put in three calls (so create times tie within a call), four of
    them updated later (so update times tie differently)."""
    t = store.put_artifact_type(ArtifactType(name="T"))
    ids = []
    for batch in range(3):
        ids += store.put_artifacts([Artifact(type_id=t, uri=f"/{batch}/{i}", name=f"n{batch}{i}") for i in range(4)])
    store.put_artifacts([Artifact(id=i, type_id=t, uri="/updated", name=f"u{i}") for i in ids[1::3]])
    return store, t


def _all_pages(store: MetadataStore, options: ListOptions, between: Any = None) -> list[Artifact]:
    out, token, pages = [], None, 0
    while True:
        page = store.list_page(Artifact, options.model_copy(update={"next_page_token": token}))
        out += page.items
        pages += 1
        assert len(page.items) <= (options.max_result_size or len(page.items))
        token = page.next_page_token
        if token is None:
            return out
        if between is not None:
            between(pages)


@pytest.mark.parametrize("order_by", list(OrderBy))
@pytest.mark.parametrize("is_asc", [True, False])
@pytest.mark.parametrize("size", [1, 5, 12])
def test_pages_follow_the_order_with_ties_broken_by_id(paged: tuple[MetadataStore, int], order_by: OrderBy,
                                                       is_asc: bool, size: int) -> None:
    store, _ = paged
    everything = store.get_artifacts()
    field = {OrderBy.ID: "id", OrderBy.CREATE_TIME: "create_time_since_epoch",
             OrderBy.LAST_UPDATE_TIME: "last_update_time_since_epoch"}[order_by]
    expected = sorted(everything, key=lambda a: (getattr(a, field), a.id), reverse=not is_asc)
    assert len({getattr(a, field) for a in everything}) < len(everything) or field == "id"  # there are ties
    options = ListOptions(max_result_size=size, order_by=order_by, is_asc=is_asc)
    assert [a.id for a in _all_pages(store, options)] == [a.id for a in expected]
    assert [a.id for a in store.get_artifacts(ListOptions(order_by=order_by, is_asc=is_asc))] == [a.id for a in expected]
    first = store.get_artifacts(ListOptions(max_result_size=size, order_by=order_by, is_asc=is_asc))
    assert [a.id for a in first] == [a.id for a in expected[:size]]


@pytest.mark.parametrize("order_by", list(OrderBy))
@pytest.mark.parametrize("is_asc", [True, False])
def test_paging_is_stable_while_another_writer_inserts(paged: tuple[MetadataStore, int], neo4j_server: Any,
                                                       order_by: OrderBy, is_asc: bool) -> None:
    store, t = paged
    before = {a.id for a in store.get_artifacts(ListOptions(filter_query="uri LIKE '/%'"))}
    options = ListOptions(max_result_size=3, order_by=order_by, is_asc=is_asc, filter_query="uri LIKE '/%'")
    with MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database) as writer:
        def insert(page: int) -> None:
            writer.put_artifacts([Artifact(type_id=t, uri=f"/new/{page}/{i}") for i in range(2)])

        listed = _all_pages(store, options, between=insert)
    ids = [a.id for a in listed]
    assert len(ids) == len(set(ids)), "an artifact came twice"
    assert before <= set(ids), "an artifact that existed before paging began was skipped"
    field = {OrderBy.ID: "id", OrderBy.CREATE_TIME: "create_time_since_epoch",
             OrderBy.LAST_UPDATE_TIME: "last_update_time_since_epoch"}[order_by]
    keys_seen = [(getattr(a, field), a.id) for a in listed]
    assert keys_seen == sorted(keys_seen, reverse=not is_asc)


def test_pages_of_a_neighbour_filter_hold_each_node_once(store: MetadataStore) -> None:
    t = store.put_artifact_type(ArtifactType(name="T"))
    ct = store.put_context_type(ContextType(name="C"))
    artifacts = store.put_artifacts([Artifact(type_id=t, name=f"a{i}") for i in range(7)])
    contexts = store.put_contexts([Context(type_id=ct, name=f"c{i}") for i in range(5)])
    store.put_attributions_and_associations([Attribution(context_id=c, artifact_id=a) for c in contexts for a in artifacts])
    options = ListOptions(max_result_size=2, filter_query="contexts_a.name LIKE 'c%' AND contexts_b.name LIKE 'c%'")
    assert [a.id for a in _all_pages(store, options)] == artifacts


def test_page_tokens_belong_to_their_listing(paged: tuple[MetadataStore, int]) -> None:
    store, _ = paged
    page = store.list_page(Artifact, ListOptions(max_result_size=2, filter_query="uri LIKE '/%'"))
    assert page.next_page_token
    for other in [ListOptions(max_result_size=2, filter_query="uri LIKE '/0%'", next_page_token=page.next_page_token),
                  ListOptions(max_result_size=2, filter_query="uri LIKE '/%'", is_asc=False,
                              next_page_token=page.next_page_token),
                  ListOptions(max_result_size=2, next_page_token="not a token")]:
        with pytest.raises(InvalidArgumentError) as caught:
            store.list_page(Artifact, other)
        assert caught.value.field == "next_page_token"
    with pytest.raises(InvalidArgumentError) as caught:
        store.get_artifacts(ListOptions(max_result_size=0))
    assert caught.value.field == "max_result_size"


# --- index use ------------------------------------------------------------------------------


@pytest.fixture
def world(store: MetadataStore) -> MetadataStore:
    """The world in the store, so that the planner sees real counts."""
    build_graphmd(store)
    return store


def _plan(store: MetadataStore, label: str, filter_query: str, scope: str | None = None,
          scope_params: dict[str, Any] | None = None) -> list[str]:
    """Operators (with details) of the plan of the exact listing query the store runs."""
    cls = {"Artifact": Artifact, "Execution": Execution, "Context": Context}[label]
    query, params, _ = _list_query(cls, ListOptions(filter_query=filter_query, max_result_size=10),
                                   scope or q.LIST_SCOPE_ALL[label], scope_params or {})
    with store.driver.session(database=store.database) as session:
        plan = session.run("EXPLAIN " + query, params).consume().plan
    out = []

    def walk(op: Any) -> None:
        out.append(f"{op['operatorType'].split('@')[0]} {op.get('args', {}).get('Details', '')}")
        for child in op.get("children", []):
            walk(child)

    walk(plan)
    return out


SEEKS = [
    ("Artifact", "uri = '/x'", "artifact(uri)"), ("Artifact", "name = 'x'", "(name)"),
    ("Artifact", "type = 'Model'", "artifact(type"), ("Artifact", "type_id = 5", "(type_id)"),
    ("Artifact", "id = 5", "(id)"), ("Artifact", "id IN (5, 6, 7)", "(id)"),
    ("Artifact", "id = 5 OR id = 6 OR 7 = id", "(id)"), ("Artifact", "state IN (2, 3, 4)", "(state)"),
    ("Artifact", "type = 'Model' AND (state = 2 OR state = 4)", "("),
    ("Artifact", "external_id = 'e'", "(external_id)"),
    ("Artifact", "state = LIVE", "(state)"), ("Artifact", "state IN (LIVE, PENDING)", "(state)"),
    ("Artifact", "uri LIKE '/data/%'", "(uri)"),
    ("Artifact", "create_time_since_epoch > 1000", "(create_time_since_epoch)"),
    ("Artifact", "last_update_time_since_epoch BETWEEN 5 AND 9", "(last_update_time_since_epoch)"),
    ("Artifact", "uri = '/x' AND properties.p.int_value = 1 AND (name = 'a' OR state != LIVE)", "(uri)"),
    ("Artifact", "contexts_a.name = 'run-1'", "context(name)"),
    # (With an events_0.type condition too, the planner of this small world sometimes reads the
    # whole EVENT(type) index instead: a scan of a few rows it prices as cheap. Not asserted.)
    ("Artifact", "contexts_a.type = 'Run' AND contexts_a.name = 'run-1'", "context("),
    ("Execution", "last_known_state = RUNNING", "(last_known_state)"), ("Execution", "name = 'x'", "(name)"),
    ("Context", "name = 'x'", "(name)"), ("Context", "type = 'Run' AND name LIKE 'run%'", "context("),
    ("Context", "parent_contexts_a.name = 'pipe'", "context(name)"),
]


@pytest.mark.parametrize(("label", "filter_query", "index"), SEEKS)
def test_filters_on_indexed_attributes_seek_the_index(world: MetadataStore, label: str, filter_query: str,
                                                      index: str) -> None:
    plan = _plan(world, label, filter_query)
    seeks = [op for op in plan if "IndexSeek" in op.split(" ")[0]]
    assert seeks, "\n".join(plan)
    assert any(index.lower() in op.lower() for op in seeks), "\n".join(plan)
    assert not [op for op in plan if op.startswith(("NodeByLabelScan", "AllNodesScan"))], "\n".join(plan)


def test_a_filter_on_unindexed_values_still_plans_a_scan(world: MetadataStore) -> None:
    """The seek assertions can fail: a property filter has no index and scans."""
    plan = _plan(world, "Artifact", "properties.p.int_value = 1")
    assert any(op.startswith("NodeByLabelScan") for op in plan), "\n".join(plan)


def test_like_is_linear_in_the_value_and_matches_as_wildcards_do(store: MetadataStore) -> None:
    """LIKE was a regex of nested `.*`: `%a%a%b` over a 4,000-character uri backtracked for
    ~56 s past a 5 s transaction timeout (a regex does not check it), `%a%a%a%b` for more
    than ten minutes, a Neo4j thread busy all along. Its regex now keeps each piece between
    %s where it is first found; 4,000 random patterns and values match as wildcards do."""
    import random
    import re

    from graphmd import Artifact, ArtifactType, ListOptions
    from graphmd._filter import _like_regex

    t = store.put_artifact_type(ArtifactType(name="Long"))
    store.put_artifacts([Artifact(type_id=t, uri="a" * 4000)])
    bounded = MetadataStore(store.settings.uri, store.settings.user, store.settings.password,
                            database=store.database, transaction_timeout=5)
    with bounded:
        for pattern in ("%a%a%b", "%a%a%a%b", "%a%a%a%a%a%a%a%b"):
            assert bounded.get_artifacts(ListOptions(filter_query=f"uri LIKE '{pattern}'")) == []
        assert len(bounded.get_artifacts(ListOptions(filter_query="uri LIKE '%a_a%a%a%'"))) == 1
    rng = random.Random(3)
    cases = [("".join(rng.choice("ab%_A") for _ in range(rng.randint(0, 7))),
              "".join(rng.choice("abAB\n") for _ in range(rng.randint(0, 9)))) for _ in range(4000)]

    def wildcards(pattern: str, text: str) -> bool:
        regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
        return re.fullmatch(regex, text, re.S | re.I) is not None

    rows = [{"text": text, "regex": _like_regex([(c, c in "%_") for c in pattern])} for pattern, text in cases]
    with store.driver.session(database=store.database) as session:
        got = [r["m"] for r in session.run("UNWIND $rows AS row RETURN row.text =~ row.regex AS m", rows=rows)]
    assert [wildcards(p, t) for p, t in cases] == got


def test_a_filter_too_large_to_plan_is_refused_naming_the_field() -> None:
    """Neo4j plans a statement before it checks its timeout: 20,000 comparisons kept a core
    planning for over ten minutes, 100 aliases 35 s on an empty store."""
    from graphmd import InvalidArgumentError
    from graphmd._filter import MAX_ALIASES, MAX_COMPARISONS

    from graphmd._filter import MAX_TREE_COMPARISONS

    compile_filter(" AND ".join(["id = 1"] * MAX_COMPARISONS), "Artifact")
    compile_filter("id IN (" + ", ".join(map(str, range(10_000))) + ")", "Artifact")  # one comparison
    compile_filter(" OR ".join(f"id = {i}" for i in range(5_000)), "Artifact")  # folded into one IN
    with pytest.raises(InvalidArgumentError) as info:
        compile_filter(" AND ".join(["id = 1"] * (MAX_COMPARISONS + 1)), "Artifact")
    assert info.value.field == "filter_query" and f"its {MAX_COMPARISONS + 1} comparisons compare" in info.value.message
    # Said in the comparisons written: 2,000 property comparisons were "8,000 values".
    with pytest.raises(InvalidArgumentError) as info:
        compile_filter(" AND ".join(f"properties.p{i}.int_value = 1" for i in range(2000)), "Artifact")
    assert "its 2,000 comparisons compare" in info.value.message
    with pytest.raises(InvalidArgumentError) as info:
        compile_filter(" AND ".join(["name IS NULL"] * (MAX_TREE_COMPARISONS + 1)), "Artifact")
    assert info.value.field == "filter_query" and "10,001 comparisons" in info.value.message
    compile_filter(" AND ".join(f"contexts_a{i}.name = 'z'" for i in range(MAX_ALIASES)), "Artifact")
    with pytest.raises(InvalidArgumentError) as info:
        compile_filter(" OR ".join(f"contexts_a{i}.name = 'z'" for i in range(MAX_ALIASES + 1)), "Artifact")
    assert info.value.field == "filter_query" and "neighbour aliases" in info.value.message
