"""A property-based fuzz of the filter_query parser and compiler (graphmd._filter).

Two kinds of input:

* raw text: any Unicode (lone surrogates and NUL included) and soups of the language's
  tokens mixed with Cypher fragments. Whatever compiles must use only the compiler's own
  Cypher vocabulary (no quote, backquote or word the compiler never emits), refer only to
  parameters it defines, and run on Neo4j;
* well-formed expressions from a grammar of every form (attributes, properties, custom
  properties, neighbour aliases, =, <, LIKE, IN, IS NULL, BETWEEN, AND, OR, NOT), rendered
  twice: with hostile values, property names and aliases, and with harmless ones of the same
  shape. Both compile to the same Cypher text: only the parameters differ.

Either way nothing raises but InvalidArgumentError naming filter_query, and a compiled filter
never meets a Cypher error from Neo4j (which would surface as InternalError).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _sample import populate
from graphmd import ArtifactState, EventType, ExecutionState, InvalidArgumentError, ListOptions, MetadataStore
from graphmd._filter import compile_filter

pytestmark = pytest.mark.slow

LABELS = ("Artifact", "Execution", "Context")
HOSTILE = ["'", '"', "`", "\\", "\ud800", "$f_0", "f_n0", "n.id", "}) DETACH DELETE n //", "' OR 1=1 //", "*/", "\x00",
           "\n", "\u2028", "%", "_", "é", "\U0001f9ea", "MATCH", "RETURN", "CASE WHEN", "n[$f_1]"]
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
GENERATED = re.compile(r"f_n?\d+(_e)?\Z")  # the compiler's parameters and neighbour variables

# --- the grammar ----------------------------------------------------------------------------

STRING, INT, DOUBLE, BOOL, ENUM = "STRING", "INT", "DOUBLE", "BOOL", "ENUM"
ATTRIBUTES = {
    "Artifact": {"name": STRING, "external_id": STRING, "type": STRING, "uri": STRING, "id": INT, "type_id": INT,
                 "create_time_since_epoch": INT, "state": ENUM},
    "Execution": {"name": STRING, "external_id": STRING, "type": STRING, "id": INT,
                  "last_update_time_since_epoch": INT, "last_known_state": ENUM},
    "Context": {"name": STRING, "external_id": STRING, "type": STRING, "id": INT, "type_id": INT},
}
ENUMS = {"state": [s.value for s in ArtifactState], "last_known_state": [s.value for s in ExecutionState],
         "type": [t.value for t in EventType]}
ALIASES = {  # prefix -> the neighbour's fields
    "Artifact": {"contexts_": {"name": STRING, "id": INT}, "events_": {"type": ENUM, "execution_id": INT}},
    "Execution": {"contexts_": {"name": STRING, "type": STRING}, "events_": {"type": ENUM, "artifact_id": INT}},
    "Context": {"parent_contexts_": {"name": STRING}, "child_contexts_": {"id": INT}, "artifacts_": {"uri": STRING},
                "executions_": {"name": STRING}},
}
VALUE_FIELDS = {INT: "int_value", DOUBLE: "double_value", STRING: "string_value", BOOL: "bool_value"}

hostile_text = st.one_of(st.text(st.characters(exclude_categories=()), max_size=12), st.sampled_from(HOSTILE),
                         st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=4).map("".join))
names = hostile_text.filter(lambda s: s and "`" not in s)  # no backquote inside backquotes (MLMD's rule too)
alias_names = st.from_regex(r"[0-9A-Za-z_]{1,8}", fullmatch=True)
int64s = st.integers(-(2**63) + 1, 2**63 - 1)
doubles = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def references(draw: Any, label: str) -> tuple:
    """A field: ("attr", name, kind) | ("prop", custom, name, kind) | ("alias", prefix, alias, field, kind)."""
    choice = draw(st.sampled_from(["attr", "prop", "alias"]))
    if choice == "attr":
        name, kind = draw(st.sampled_from(sorted(ATTRIBUTES[label].items())))
        return ("attr", name, kind)
    if choice == "prop":
        return ("prop", draw(st.booleans()), draw(names), draw(st.sampled_from([INT, DOUBLE, STRING, BOOL])))
    prefix = draw(st.sampled_from(sorted(ALIASES[label])))
    field, kind = draw(st.sampled_from(sorted(ALIASES[label][prefix].items())))
    return ("alias", prefix, draw(alias_names), field, kind)


def literal(kind: str, ref: tuple) -> st.SearchStrategy[Any]:
    if kind == ENUM:
        return st.sampled_from(ENUMS[ref[-2] if ref[0] == "alias" else ref[1]]).map(lambda v: ("enum", v))
    return {INT: int64s, DOUBLE: doubles, STRING: hostile_text, BOOL: st.booleans()}[kind]


@st.composite
def leaves(draw: Any, label: str) -> tuple:
    ref = draw(references(label))
    kind = ref[-1]
    ops = {STRING: ["=", "!=", "<", ">=", "LIKE", "IN", "IS NULL", "IS NOT NULL"],
           INT: ["=", "!=", "<", "<=", ">", "BETWEEN", "IN", "IS NULL"], DOUBLE: ["=", "<", ">"],
           BOOL: ["=", "!="], ENUM: ["=", "!=", "IN"]}[kind]
    op = draw(st.sampled_from(ops))
    if op in ("IS NULL", "IS NOT NULL"):
        return ("leaf", ref, op, ())
    if op == "LIKE":
        pieces = draw(st.lists(st.one_of(st.sampled_from(["%", "_"]), hostile_text.filter(bool).map(lambda t: ("lit", t))),
                               min_size=1, max_size=4))
        return ("leaf", ref, op, (("like", tuple(pieces)),))
    count = {"BETWEEN": 2, "IN": draw(st.integers(1, 3))}.get(op, 1)
    return ("leaf", ref, op, tuple(draw(literal(kind, ref)) for _ in range(count)))


def expressions(label: str) -> st.SearchStrategy[tuple]:
    return st.recursive(leaves(label), lambda inner: st.one_of(
        st.tuples(st.just("not"), inner), st.tuples(st.sampled_from(["AND", "OR"]), inner, inner)), max_leaves=5)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return "'" + escaped.replace("\x00", "\\x00") + "'"


class Renderer:
    """Renders a tree as filter text; ``harmless`` swaps every value, property name and alias
    for a plain one of the same kind (same names stay the same, different ones differ)."""

    def __init__(self, harmless: bool) -> None:
        self.harmless = harmless
        self.renamed: dict[Any, str] = {}

    def name(self, key: Any, given: str, prefix: str) -> str:
        if not self.harmless:
            return given
        return self.renamed.setdefault(key, f"{prefix}{len(self.renamed)}")

    def value(self, v: Any) -> str:
        if isinstance(v, tuple) and v[0] == "enum":
            return v[1]
        if isinstance(v, tuple) and v[0] == "like":
            return _quote("".join(p if isinstance(p, str) else re.sub(r"[\\%_]", r"\\\g<0>", "x" if self.harmless
                                                                      else p[1]) for p in v[1]))
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, int):
            return "1" if self.harmless else str(v)
        if isinstance(v, float):
            return "1.5" if self.harmless else repr(v)
        return "'s'" if self.harmless else _quote(v)

    def ref(self, r: tuple) -> str:
        if r[0] == "attr":
            return r[1]
        if r[0] == "prop":
            _, custom, name, kind = r
            return f"{'custom_properties' if custom else 'properties'}.`{self.name(('p', name), name, 'p')}`." \
                   f"{VALUE_FIELDS[kind]}"
        _, prefix, alias, field, _ = r
        return f"{prefix}{self.name(('a', prefix, alias), alias, 'a')}.{field}"

    def render(self, e: tuple) -> str:
        if e[0] == "not":
            return f"NOT ({self.render(e[1])})"
        if e[0] in ("AND", "OR"):
            return f"({self.render(e[1])}) {e[0]} ({self.render(e[2])})"
        _, ref, op, values = e
        left = self.ref(ref)
        if op.startswith("IS"):
            return f"{left} {op}"
        if op == "BETWEEN":
            return f"{left} BETWEEN {self.value(values[0])} AND {self.value(values[1])}"
        if op == "IN":
            return f"{left} IN ({', '.join(self.value(v) for v in values)})"
        return f"{left} {op} {self.value(values[0])}"


# --- raw text -------------------------------------------------------------------------------

VOCABULARY = ["name", "uri", "id", "state", "type", "external_id", "properties", "custom_properties", "int_value",
              "string_value", "double_value", "bool_value", "contexts_a", "events_b", "parent_contexts_p", "LIVE",
              "INPUT", "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "TRUE", "FALSE", "BETWEEN", ".", ",", "(", ")",
              "=", "!=", "<>", "<", "<=", ">", ">=", "+", "-", "1", "0x1F", "1.5e3", "9223372036854775808", "'a'",
              "'%\\_'", '"b"', "`p q`", "r'raw'", "b'x'", "'''t'''", "\\", "'", "`", "\n", "\x00", "\ud800"]
raw_texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),
    st.lists(st.one_of(st.sampled_from(VOCABULARY), st.sampled_from(HOSTILE)), min_size=1, max_size=12)
    .map(" ".join),
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=12).map("".join),
)


def mutate(text: str, data: st.DataObject) -> str:
    """``text`` with a few random cuts, insertions and swaps: nearly well-formed input."""
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 6)))
        insert = data.draw(st.one_of(st.just(""), st.sampled_from(VOCABULARY), st.sampled_from(HOSTILE)))
        text = text[:i] + insert + text[j:]
    return text


def compiler_vocabulary() -> set[str]:
    """Every word the compiler writes into Cypher, from a filter of each form (one form per
    filter, so one this graphmd lacks drops no other's words)."""
    forms = {
        "Artifact": ["name = 'a'", "uri LIKE 'a%'", "uri LIKE '%a_'", "type IN ('a')", "id BETWEEN 1 AND 2",
                     "NOT (state != LIVE OR state IN (LIVE))", "state IS NULL", "external_id IS NOT NULL",
                     "properties.p.int_value > 1", "custom_properties.q.double_value <= 1.5",
                     "properties.s.string_value LIKE 'x'", "properties.b.bool_value = TRUE", "type_id < 3",
                     "contexts_a.name = 'x'", "events_b.type = INPUT", "events_b.execution_id = 1",
                     "events_b.milliseconds_since_epoch > 0", "create_time_since_epoch >= 0",
                     "last_update_time_since_epoch != 0", "contexts_a.properties.p.int_value = 1"],
        "Execution": ["last_known_state = COMPLETE", "contexts_c.type = 't'", "events_e.artifact_id = 1"],
        "Context": ["parent_contexts_p.name = 'a'", "child_contexts_c.id = 1", "artifacts_a.uri = 'u'",
                    "executions_e.name = 'e'", "artifacts_a.state = LIVE", "executions_e.last_known_state = NEW"],
    }
    words: set[str] = set()
    for label, texts in forms.items():
        for text in texts:
            try:
                compiled = compile_filter(text, label)
            except InvalidArgumentError:
                continue  # a form this graphmd does not have adds no words
            words |= set(WORD.findall(" ".join(compiled.match_clauses) + " " + compiled.where))
    return {w for w in words if not GENERATED.match(w)}


def check_cypher(compiled: Any, allowed: set[str]) -> None:
    text = " ".join(compiled.match_clauses) + "\n" + compiled.where
    assert not set("'\"`") & set(text), f"a quote in the Cypher: {text}"
    strange = {w for w in WORD.findall(text) if w not in allowed and not GENERATED.match(w)}
    assert not strange, f"words the compiler never writes: {strange} in {text}"
    used = set(re.findall(r"\$(\w+)", text))
    assert used <= set(compiled.params), f"parameters used but not given: {used - set(compiled.params)}"


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture
def sample(store: MetadataStore) -> MetadataStore:
    populate(store, n=2)
    return store


LISTINGS = {"Artifact": MetadataStore.get_artifacts, "Execution": MetadataStore.get_executions,
            "Context": MetadataStore.get_contexts}


def run_on_neo4j(store: MetadataStore, label: str, text: str) -> str:
    try:
        LISTINGS[label](store, ListOptions(filter_query=text, max_result_size=5))
    except InvalidArgumentError as error:
        assert error.field == "filter_query", f"{error!r} names {error.field!r}"
        return "rejected on Neo4j"
    return "ran"


def test_raw_text_compiles_to_the_compilers_own_cypher_or_is_rejected(sample: MetadataStore) -> None:
    allowed = compiler_vocabulary()
    outcomes: Counter[str] = Counter()

    @settings(max_examples=600, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        label = data.draw(st.sampled_from(LABELS), label="label")
        if data.draw(st.booleans(), label="mutate a well-formed expression"):
            text = mutate(Renderer(harmless=False).render(data.draw(expressions(label))), data)
        else:
            text = data.draw(raw_texts, label="text")
        try:
            compiled = compile_filter(text, label)
        except InvalidArgumentError as error:
            assert error.field == "filter_query"
            outcomes["rejected"] += 1
            return
        check_cypher(compiled, allowed)
        outcomes[run_on_neo4j(sample, label, text)] += 1

    check()
    print(f"\nfilter fuzz, raw text: {sum(outcomes.values())} inputs, {dict(outcomes)}, 0 untyped, 0 Cypher errors")


def test_values_names_and_aliases_never_change_the_querys_structure(sample: MetadataStore) -> None:
    allowed = compiler_vocabulary()
    outcomes: Counter[str] = Counter()

    @settings(max_examples=600, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        label = data.draw(st.sampled_from(LABELS), label="label")
        tree = data.draw(expressions(label), label="expression")
        hostile, harmless = Renderer(harmless=False).render(tree), Renderer(harmless=True).render(tree)
        reference = compile_filter(harmless, label)  # a well-formed expression always compiles
        try:
            compiled = compile_filter(hostile, label)
        except InvalidArgumentError as error:
            assert error.field == "filter_query"
            outcomes["value rejected"] += 1
            return
        assert (compiled.match_clauses, compiled.where) == (reference.match_clauses, reference.where), hostile
        check_cypher(compiled, allowed)
        outcomes["same structure, " + run_on_neo4j(sample, label, hostile)] += 1

    check()
    print(f"\nfilter fuzz, grammar: {sum(outcomes.values())} expressions, {dict(outcomes)}, 0 structure changes")
