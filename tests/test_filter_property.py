"""Property-based test of filter_query: hypothesis draws a small store (types, artifacts,
executions, contexts with properties of every kind, attributions, associations, parent
contexts, events) and filter expressions over it, renders each expression as text, and
checks that graphmd selects exactly the nodes a plain Python evaluation of the same
expression selects.

The evaluator here is written from MLMD's semantics, independently of graphmd._filter:
SQL's three-valued logic; each neighbour alias is one joined neighbour (the expression must
be TRUE for some choice of every alias, and a node without such a neighbour never
matches); a mentioned property must exist on its node; ``x.int_value`` etc. read a value
of that kind only; ``state != X`` and ``NOT IN`` on enums also hold for a missing state;
enums order by their proto number; LIKE's ``%`` / ``_`` wildcards, backslash escapes.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from graphmd import (
    Artifact,
    ArtifactState,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    Event,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    ListOptions,
    MetadataStore,
    ParentContext,
    PropertyType,
)

# Proto numbers, as MLMD compares enums (written out here, not taken from graphmd).
ARTIFACT_STATE_NUMBER = {"UNKNOWN": 0, "PENDING": 1, "LIVE": 2, "MARKED_FOR_DELETION": 3, "DELETED": 4,
                         "ABANDONED": 5, "REFERENCE": 6}
EXECUTION_STATE_NUMBER = {"UNKNOWN": 0, "NEW": 1, "RUNNING": 2, "COMPLETE": 3, "FAILED": 4, "CACHED": 5,
                          "CANCELED": 6}
EVENT_TYPE_NUMBER = {"UNKNOWN": 0, "DECLARED_OUTPUT": 1, "DECLARED_INPUT": 2, "INPUT": 3, "OUTPUT": 4,
                     "INTERNAL_INPUT": 5, "INTERNAL_OUTPUT": 6, "PENDING_OUTPUT": 7}

TEXT = ["a", "ab", "abc", "b", "a_b", "a%b", "A", "", "x'y", 'q"r', "back\\slash", "é", "line\nbreak", "ab c"]
URIS = ["/d/a", "/d/ab", "/m/a", "/m/", "s3://b/x", "/d/a_b"]
INTS = [-3, -1, 0, 1, 2, 5, 7, 1 << 40]
FLOATS = [-1.5, 0.0, 0.5, 1.0, 2.25, 7.0, 1e-3]
PROP_NAMES = ["p", "q", "s", "b", "c", "my key", "x:y", "zz"]

I, D, S, B = PropertyType.INT, PropertyType.DOUBLE, PropertyType.STRING, PropertyType.BOOLEAN
A_TYPES = [ArtifactType(name="A0", properties={"p": I, "q": D, "s": S, "b": B}),
           ArtifactType(name="A1", properties={"p": I})]
X_TYPES = [ExecutionType(name="X0", properties={"p": I, "s": S}), ExecutionType(name="X1")]
C_TYPES = [ContextType(name="C0", properties={"q": D}), ContextType(name="C1")]
DECLARED = {t.name: t.properties for t in A_TYPES + X_TYPES + C_TYPES}
PYTHON_TYPE = {I: int, D: float, S: str, B: bool}

ints = st.sampled_from(INTS) | st.integers(-10, 10)
floats = st.sampled_from(FLOATS) | st.floats(-10, 10, allow_nan=False, allow_infinity=False)
texts = st.sampled_from(TEXT) | st.text(alphabet="ab_%\\'é", max_size=3)
any_value = st.one_of(ints, floats, texts, st.booleans(), st.just({"k": [1, "v"]}))


# --- the world ------------------------------------------------------------------------------


@st.composite
def node_specs(draw: Any, types: list[Any], count: int, extra: dict[str, Any]) -> list[dict[str, Any]]:
    specs, names = [], set()
    for i in range(count):
        t = draw(st.sampled_from(types))
        name = draw(st.none() | st.sampled_from(TEXT))
        if (t.name, name) in names:
            name = None
        names.add((t.name, name))
        props = {}
        for prop, kind in t.properties.items():
            if draw(st.booleans()):
                props[prop] = draw({I: ints, D: floats, S: texts, B: st.booleans()}[kind])
        custom = draw(st.dictionaries(st.sampled_from(["c", "my key", "x:y", "p"]), any_value, max_size=2))
        spec = {"type": t.name, "name": name, "properties": props, "custom_properties": custom,
                "external_id": draw(st.none() | st.just(f"ext-{t.name}-{i}"))}
        spec.update({k: draw(v) for k, v in extra.items()})
        specs.append(spec)
    return specs


@st.composite
def links(draw: Any, left: int, right: int) -> set[tuple[int, int]]:
    """Each (i, j) pair linked or not: dense enough that aliases find neighbours."""
    return {(i, j) for i in range(left) for j in range(right) if draw(st.booleans())}


@st.composite
def worlds(draw: Any) -> dict[str, Any]:
    n_a, n_x, n_c = draw(st.integers(1, 7)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    artifacts = draw(node_specs(A_TYPES, n_a, {"uri": st.none() | st.sampled_from(URIS),
                                                 "state": st.none() | st.sampled_from(list(ArtifactState))}))
    executions = draw(node_specs(X_TYPES, n_x, {"last_known_state": st.none() | st.sampled_from(list(ExecutionState))}))
    contexts = draw(node_specs(C_TYPES, n_c, {}))
    for i, c in enumerate(contexts):
        c["name"] = f"{c['name'] or 'ctx'}#{i}"  # contexts need unique names
    parents = {(c, p) for c, p in draw(links(n_c, n_c)) if p < c}  # acyclic: parents come first
    events = {}
    for x, a in draw(links(n_x, n_a)):
        for t in draw(st.sets(st.sampled_from(list(EventType)), min_size=1, max_size=2)):
            events[(x, a, t)] = draw(st.integers(0, 5))
    return {"artifacts": artifacts, "executions": executions, "contexts": contexts,
            "attributions": draw(links(n_c, n_a)), "associations": draw(links(n_c, n_x)),
            "parents": parents, "events": events}


def build(store: MetadataStore, world: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Write the world; return each kind's nodes as the evaluator sees them, with the
    neighbour lists each alias prefix ranges over."""
    store.delete_everything()
    a_ids, x_ids, c_ids = store.put_types(A_TYPES, X_TYPES, C_TYPES)
    type_ids = dict(zip([t.name for t in A_TYPES + X_TYPES + C_TYPES], a_ids + x_ids + c_ids))

    def models(cls: type, specs: list[dict[str, Any]]) -> list[Any]:
        return [cls(type_id=type_ids[s["type"]], **{k: v for k, v in s.items() if k != "type"}) for s in specs]

    ids = {"Artifact": store.put_artifacts(models(Artifact, world["artifacts"])),
           "Execution": store.put_executions(models(Execution, world["executions"])),
           "Context": store.put_contexts(models(Context, world["contexts"]))}
    a, x, c = ids["Artifact"], ids["Execution"], ids["Context"]
    store.put_attributions_and_associations(
        [Attribution(context_id=c[i], artifact_id=a[j]) for i, j in world["attributions"]],
        [Association(context_id=c[i], execution_id=x[j]) for i, j in world["associations"]])
    store.put_parent_contexts([ParentContext(child_id=c[i], parent_id=c[j]) for i, j in world["parents"]])
    store.put_events([Event(execution_id=x[i], artifact_id=a[j], type=t, milliseconds_since_epoch=ms)
                      for (i, j, t), ms in world["events"].items()])

    def plain(node: Any) -> dict[str, Any]:
        out = {k: getattr(node, k, None) for k in ("id", "type_id", "type", "name", "external_id", "uri",
                                                   "create_time_since_epoch", "last_update_time_since_epoch")}
        for state in ("state", "last_known_state"):
            value = getattr(node, state, None)
            out[state] = value.value if value is not None else None
        out["properties"], out["custom_properties"] = node.properties, node.custom_properties
        return out

    nodes = {"Artifact": [plain(n) for n in store.get_artifacts_by_id(a)],
             "Execution": [plain(n) for n in store.get_executions_by_id(x)],
             "Context": [plain(n) for n in store.get_contexts_by_id(c)]}
    by_id = {kind: {n["id"]: n for n in ns} for kind, ns in nodes.items()}
    for n in nodes["Artifact"]:
        n["contexts_"] = [by_id["Context"][c[i]] for i, j in world["attributions"] if a[j] == n["id"]]
        n["events_"] = [{"type": t.value, "milliseconds_since_epoch": ms, "execution_id": x[i]}
                        for (i, j, t), ms in world["events"].items() if a[j] == n["id"]]
    for n in nodes["Execution"]:
        n["contexts_"] = [by_id["Context"][c[i]] for i, j in world["associations"] if x[j] == n["id"]]
        n["events_"] = [{"type": t.value, "milliseconds_since_epoch": ms, "artifact_id": a[j]}
                        for (i, j, t), ms in world["events"].items() if x[i] == n["id"]]
    for n in nodes["Context"]:
        n["parent_contexts_"] = [by_id["Context"][c[p]] for ch, p in world["parents"] if c[ch] == n["id"]]
        n["child_contexts_"] = [by_id["Context"][c[ch]] for ch, p in world["parents"] if c[p] == n["id"]]
        n["artifacts_"] = [by_id["Artifact"][a[j]] for i, j in world["attributions"] if c[i] == n["id"]]
        n["executions_"] = [by_id["Execution"][x[j]] for i, j in world["associations"] if c[i] == n["id"]]
    return nodes


# --- expressions ----------------------------------------------------------------------------
# An expression is a tuple tree; a field reference is ("f", scope, name) or
# ("prop", scope, custom, name, value_field); scope None is the listed node itself.

NODE_FIELDS = {
    "Artifact": {"id": "int", "type_id": "int", "create_time_since_epoch": "int", "last_update_time_since_epoch": "int",
                 "name": "str", "type": "str", "external_id": "str", "uri": "str", "state": "enum"},
    "Execution": {"id": "int", "type_id": "int", "create_time_since_epoch": "int", "last_update_time_since_epoch": "int",
                  "name": "str", "type": "str", "external_id": "str", "last_known_state": "enum"},
    "Context": {"id": "int", "type_id": "int", "create_time_since_epoch": "int", "last_update_time_since_epoch": "int",
                "name": "str", "type": "str", "external_id": "str"},
}
ENUMS = {"state": ARTIFACT_STATE_NUMBER, "last_known_state": EXECUTION_STATE_NUMBER, "type@event": EVENT_TYPE_NUMBER}
# scope -> kind of thing it binds ("Event:<id field>" for events)
SCOPES = {
    "Artifact": {"contexts_a": "Context", "contexts_b": "Context", "events_0": "Event:execution_id",
                 "events_1": "Event:execution_id"},
    "Execution": {"contexts_a": "Context", "events_0": "Event:artifact_id"},
    "Context": {"parent_contexts_a": "Context", "child_contexts_a": "Context", "child_contexts_b": "Context",
                "artifacts_a": "Artifact", "executions_a": "Execution"},
}
VALUE_FIELDS = {"int_value": "int", "double_value": "float", "string_value": "str", "bool_value": "bool"}


def fields_of(kind: str) -> dict[str, str]:
    if kind.startswith("Event:"):
        return {"type": "enum", "milliseconds_since_epoch": "int", kind[len("Event:"):]: "int"}
    return NODE_FIELDS[kind]


def enum_numbers(kind: str, name: str) -> dict[str, int]:
    return ENUMS["type@event" if kind.startswith("Event:") else name]


def held_values(nodes: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    """Values the store holds, by kind, for literals that hit."""
    held: dict[str, set[Any]] = {"int": set(), "str": set(), "enum": set()}
    for ns in nodes.values():
        for n in ns:
            held["int"] |= {n["id"], n["type_id"], n["create_time_since_epoch"]}
            held["str"] |= {v for v in (n["name"], n["type"], n["uri"], n["external_id"]) if v is not None}
            held["enum"] |= {v for v in (n["state"], n["last_known_state"]) if v is not None}
            held["enum"] |= {e["type"] for e in n.get("events_", [])}
    return {kind: sorted(values) for kind, values in held.items()}


def literals(kind: str, held: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Literals of a value kind, biased towards values the store holds."""
    base = {"int": ints, "float": floats, "str": texts, "bool": st.booleans()}[kind]
    if kind in ("int", "float"):
        base = base | (floats if kind == "int" else ints)  # INT64 and DOUBLE compare with each other
    return st.one_of(st.sampled_from(held[kind]), base) if held.get(kind) else base


@st.composite
def like_patterns(draw: Any, held: dict[str, list[Any]]) -> str:
    """Random patterns, and patterns made from a held string by turning some characters
    into wildcards (so that they often match, or just miss)."""
    if not held["str"] or draw(st.booleans()):
        pieces = ["%", "_", "a", "b", "\\%", "\\_", "\\\\", "é", "'", "/d/", "ext-"]
        return "".join(draw(st.lists(st.sampled_from(pieces), max_size=4)))
    out = []
    for ch in draw(st.sampled_from(held["str"])):
        how = draw(st.sampled_from(["keep", "keep", "keep", "_", "%", "drop"]))
        if how == "keep":
            out.append("\\" + ch if ch in "%_\\" else ch)
        elif how != "drop":
            out.append(how)
    return "".join(out) + draw(st.sampled_from(["", "", "%", "_"]))


@st.composite
def leaves(draw: Any, label: str, held: dict[str, list[Any]]) -> tuple[Any, ...]:
    # Half the leaves are on the node itself; a third of the rest read a property and
    # enum fields get a fair share, so that every construct is drawn often.
    scope = draw(st.one_of(st.none(), st.sampled_from(sorted(SCOPES[label]))))
    kind = label if scope is None else SCOPES[label][scope]
    fields = fields_of(kind)
    enums = sorted(f for f, k in fields.items() if k == "enum")
    pick = draw(st.sampled_from(["property", "field", "field", "const"] + (["enum"] if enums else [])))
    if pick == "const":
        return ("const", draw(st.booleans()))
    if pick == "property" and not kind.startswith("Event:"):
        value_field = draw(st.sampled_from(sorted(VALUE_FIELDS)))
        ref = ("prop", scope, draw(st.booleans()), draw(st.sampled_from(PROP_NAMES)), value_field)
        value_kind = VALUE_FIELDS[value_field]
    else:
        field = draw(st.sampled_from(enums if pick == "enum" else sorted(fields)))
        ref, value_kind = ("f", scope, field), fields[field]
    if value_kind == "enum":
        numbers = enum_numbers(kind, ref[2])
        names = st.sampled_from(sorted(numbers))
        shape = draw(st.sampled_from(["eq", "ne", "in", "not in", "order", "between", "null"]))
        if shape in ("eq", "ne"):
            return ("enum_eq", ref, numbers, draw(names), shape == "ne")
        if shape in ("in", "not in"):
            return ("enum_in", ref, numbers, draw(st.lists(names, min_size=1, max_size=3)), shape == "not in")
        # Numbers of held values (and their neighbours) make the edges of ranges matter.
        near = sorted({numbers[v] + d for v in held["enum"] if v in numbers for d in (-1, 0, 1)})
        number = st.sampled_from(near) | st.integers(-1, 8) if near else st.integers(-1, 8)
        if shape == "order":
            return ("enum_order", ref, numbers, draw(st.sampled_from(["<", "<=", ">", ">="])), draw(number))
        if shape == "between":
            return ("enum_between", ref, numbers, draw(number), draw(number), draw(st.booleans()))
        return ("isnull", ref, draw(st.booleans()))
    lit = literals(value_kind, held)
    shapes = ["cmp", "cmp", "in", "null", "between"] + (["like"] * 4 if value_kind == "str" else [])
    shapes += ["bare"] if value_kind == "bool" else []
    shapes += ["columns"] if value_kind in ("int", "str") else []
    shape = draw(st.sampled_from(shapes))
    if shape == "cmp":
        ops = ["=", "!=", "<>"] if value_kind == "bool" else ["=", "!=", "<>", "<", "<=", ">", ">="]
        return ("cmp", draw(st.sampled_from(ops)), ref, ("lit", draw(lit)), draw(st.booleans()))
    if shape == "columns":
        scopes = [None] + [s for s, k in SCOPES[label].items() if value_kind in fields_of(k).values()]
        other_scope = draw(st.sampled_from(scopes))
        other_kind = label if other_scope is None else SCOPES[label][other_scope]
        same = sorted(f for f, k in fields_of(other_kind).items() if k == value_kind)
        return ("cmp", draw(st.sampled_from(["=", "!=", "<", ">="])), ref,
                ("f", other_scope, draw(st.sampled_from(same))), False)
    if shape == "in":
        items = draw(st.lists(lit | st.none(), min_size=1, max_size=3))
        return ("in", ref, items, draw(st.booleans()))
    if shape == "null":
        return ("isnull", ref, draw(st.booleans()))
    if shape == "between":
        return ("between", ref, draw(lit), draw(lit), draw(st.booleans()))
    if shape == "like":
        return ("like", ref, draw(like_patterns(held)), draw(st.booleans()))
    return ("bare", ref)


def expressions(label: str, held: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    # Half are single conditions, whose effect no other condition masks.
    return leaves(label, held) | st.recursive(
        leaves(label, held),
        lambda inner: st.one_of(st.tuples(st.just("and"), inner, inner), st.tuples(st.just("or"), inner, inner),
                                st.tuples(st.just("not"), inner)),
        max_leaves=5,
    )


# --- rendering ------------------------------------------------------------------------------


def quote_name(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_]+", name) else f"`{name}`"


def render_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def render_ref(ref: tuple[Any, ...]) -> str:
    prefix = "" if ref[1] is None else ref[1] + "."
    if ref[0] == "f":
        return prefix + ref[2]
    _, _, custom, name, value_field = ref
    return f"{prefix}{'custom_properties' if custom else 'properties'}.{quote_name(name)}.{value_field}"


def render(e: tuple[Any, ...]) -> str:
    tag = e[0]
    if tag == "const":
        return render_literal(e[1])
    if tag in ("and", "or"):
        return f"({render(e[1])}) {tag.upper()} ({render(e[2])})"
    if tag == "not":
        return f"NOT ({render(e[1])})"
    if tag == "cmp":
        _, op, ref, other, swapped = e
        left = render_ref(ref)
        right = render_literal(other[1]) if other[0] == "lit" else render_ref(other)
        if swapped:
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return f"{right} {flipped} {left}"
        return f"{left} {op} {right}"
    if tag == "in":
        return f"{render_ref(e[1])} {'NOT IN' if e[3] else 'IN'} ({', '.join(render_literal(v) for v in e[2])})"
    if tag == "isnull":
        return f"{render_ref(e[1])} IS {'NOT NULL' if e[2] else 'NULL'}"
    if tag == "between":
        return f"{render_ref(e[1])} {'NOT BETWEEN' if e[4] else 'BETWEEN'} {render_literal(e[2])} AND {render_literal(e[3])}"
    if tag == "like":
        return f"{render_ref(e[1])} {'NOT LIKE' if e[3] else 'LIKE'} {render_literal(e[2])}"
    if tag == "bare":
        return render_ref(e[1])
    if tag == "enum_eq":
        return f"{render_ref(e[1])} {'!=' if e[4] else '='} {e[3]}"
    if tag == "enum_in":
        return f"{render_ref(e[1])} {'NOT IN' if e[4] else 'IN'} ({', '.join(e[3])})"
    if tag == "enum_order":
        return f"{render_ref(e[1])} {e[3]} {e[4]}"
    if tag == "enum_between":
        return f"{render_ref(e[1])} {'NOT BETWEEN' if e[5] else 'BETWEEN'} {e[3]} AND {e[4]}"
    raise AssertionError(tag)


# --- evaluation -----------------------------------------------------------------------------

OPS = {"=": operator.eq, "!=": operator.ne, "<>": operator.ne, "<": operator.lt, "<=": operator.le,
       ">": operator.gt, ">=": operator.ge}


def and3(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def or3(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def not3(a: bool | None) -> bool | None:
    return None if a is None else not a


def value(ref: tuple[Any, ...], env: dict[Any, dict[str, Any]]) -> Any:
    obj = env[ref[1]]
    if ref[0] == "f":
        return obj.get(ref[2])
    _, _, custom, name, value_field = ref
    v = obj["custom_properties" if custom else "properties"].get(name)
    wanted = {"int_value": int, "double_value": float, "string_value": str, "bool_value": bool}[value_field]
    if isinstance(v, dict) and value_field == "string_value":  # MLMD's SQL keeps a STRUCT as text so
        return "mlmd-struct::" + json.dumps(v, sort_keys=True)
    return v if type(v) is wanted else None


def compare(op: str, a: Any, b: Any) -> bool | None:
    return None if a is None or b is None else OPS[op](a, b)


def like(text: str | None, pattern: str) -> bool | None:
    if text is None:
        return None
    regex, chars = "", iter(pattern)
    for ch in chars:
        if ch == "\\":
            regex += re.escape(next(chars))
        else:
            regex += {"%": ".*", "_": "."}.get(ch, re.escape(ch))
    # MLMD's LIKE folds ASCII case only (re.ASCII keeps re.IGNORECASE to ASCII letters).
    return re.fullmatch(regex, text, re.DOTALL | re.IGNORECASE | re.ASCII) is not None


def evaluate(e: tuple[Any, ...], env: dict[Any, dict[str, Any]]) -> bool | None:
    tag = e[0]
    if tag == "const":
        return e[1]
    if tag == "and":
        return and3(evaluate(e[1], env), evaluate(e[2], env))
    if tag == "or":
        return or3(evaluate(e[1], env), evaluate(e[2], env))
    if tag == "not":
        return not3(evaluate(e[1], env))
    if tag == "cmp":
        _, op, ref, other, _swapped = e
        return compare(op, value(ref, env), other[1] if other[0] == "lit" else value(other, env))
    if tag == "in":
        v, items = value(e[1], env), e[2]
        found: bool | None = None if v is None else (True if v in [i for i in items if i is not None]
                                                     else (None if None in items else False))
        return not3(found) if e[3] else found
    if tag == "isnull":
        return (value(e[1], env) is not None) if e[2] else (value(e[1], env) is None)
    if tag == "between":
        v = value(e[1], env)
        inside = and3(compare("<=", e[2], v), compare("<=", v, e[3]))
        return not3(inside) if e[4] else inside
    if tag == "like":
        found = like(value(e[1], env), e[2])
        return not3(found) if e[3] else found
    if tag == "bare":
        return value(e[1], env)
    v = value(e[1], env)
    if tag == "enum_eq":
        return (v is None or v != e[3]) if e[4] else (None if v is None else v == e[3])
    if tag == "enum_in":
        return (v is None or v not in e[3]) if e[4] else (None if v is None else v in e[3])
    if tag == "enum_order":
        return None if v is None else OPS[e[3]](e[2][v], e[4])
    if tag == "enum_between":
        return None if v is None else (e[3] <= e[2][v] <= e[4]) != e[5]
    raise AssertionError(tag)


def refs(e: Any) -> list[tuple[Any, ...]]:
    """Every field reference in the expression."""
    if isinstance(e, tuple) and e and e[0] in ("f", "prop"):
        return [e]
    if isinstance(e, (tuple, list)):
        return [r for item in e for r in refs(item)]
    return []


def selected(e: tuple[Any, ...], label: str, nodes: dict[str, list[dict[str, Any]]]) -> list[int]:
    """Ids of the ``label`` nodes the expression selects: TRUE for some binding of every
    alias to a neighbour, with every mentioned property present."""
    mentioned = refs(e)
    aliases = sorted({r[1] for r in mentioned if r[1] is not None})
    props = {(r[1], r[2], r[3]) for r in mentioned if r[0] == "prop"}
    out = []
    for node in nodes[label]:
        neighbours = [node[re.sub(r"[^_]*$", "", alias)] for alias in aliases]
        for binding in itertools.product(*neighbours):
            env: dict[Any, dict[str, Any]] = {None: node, **dict(zip(aliases, binding))}
            present = all(name in env[scope]["custom_properties" if custom else "properties"]
                          for scope, custom, name in props)
            if present and evaluate(e, env) is True:
                out.append(node["id"])
                break
    return sorted(out)


# --- the test -------------------------------------------------------------------------------

LIST = {"Artifact": "get_artifacts", "Execution": "get_executions", "Context": "get_contexts"}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(world=worlds(), data=st.data())
def test_filters_select_what_the_python_evaluator_selects(store: MetadataStore, world: dict[str, Any],
                                                          data: st.DataObject) -> None:
    nodes = build(store, world)
    held = held_values(nodes)
    for label in ("Artifact", "Execution", "Context"):
        for expression in data.draw(st.lists(expressions(label, held), min_size=15, max_size=15), label=label):
            text = render(expression)
            got = sorted(n.id for n in getattr(store, LIST[label])(ListOptions(filter_query=text)))
            expected = selected(expression, label, nodes)
            assert got == expected, f"{label}: {text}"
            event(f"{label}: {'none' if not expected else 'all' if len(expected) == len(nodes[label]) else 'some'}")


def test_the_evaluator_can_tell_results_apart() -> None:
    """The evaluator is not vacuous: on a known node it accepts and rejects as it should."""
    node = {"id": 1, "name": "ab", "state": None, "properties": {"p": 1}, "custom_properties": {},
            "contexts_": [{"id": 7, "name": "r", "properties": {}, "custom_properties": {}}]}
    nodes = {"Artifact": [node]}
    yes = ("and", ("like", ("f", None, "name"), "a_", False),
           ("enum_eq", ("f", None, "state"), ARTIFACT_STATE_NUMBER, "LIVE", True))
    no = ("or", ("cmp", "=", ("prop", None, False, "p", "double_value"), ("lit", 1.0), False),
          ("cmp", "=", ("f", "contexts_a", "name"), ("lit", "x"), False))
    absent = ("isnull", ("prop", None, False, "zz", "int_value"), False)
    assert selected(yes, "Artifact", nodes) == [1]
    assert selected(no, "Artifact", nodes) == []
    assert selected(absent, "Artifact", nodes) == []
    assert render(yes) == "(name LIKE 'a_') AND (state != LIVE)"
