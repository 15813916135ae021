"""MLMD's filter_query language compiled to parameterised Cypher.

A filter_query is a boolean expression in ZetaSQL's syntax over a node's attributes, its
properties and its direct neighbours (docs/filter_query.md lists every form).
``compile_filter`` tokenises it, parses it by recursive descent with ZetaSQL's operator
precedence, resolves and type-checks every name against the node kind, and emits Cypher:

* every value, property name and LIKE pattern becomes a parameter ``$f_<i>``; the only text
  spliced into the query comes from the fixed tables below, so no input can change the
  query's structure;
* each neighbour alias (``contexts_a``, ``events_0``, ``parent_contexts_p``...) is one
  neighbour bound by its own MATCH clause, so the expression must hold for some choice of
  all aliases together (MLMD joins one row per alias); two aliases are independent;
* a mentioned property must exist on its node, as MLMD joins the property's row: that
  requirement is a top-level conjunct, so ``properties.p.int_value IS NULL`` selects nodes
  whose ``p`` holds no int (a string, say), never nodes without ``p``;
* comparisons on attributes stay plain ``n.attr <op> $f_i`` conjuncts so Neo4j can use its
  range indexes (a LIKE with leading text becomes index seeks, an IN list one list parameter).

NULLs follow SQL's three-valued logic, which Cypher shares; as in MLMD, ``state != LIVE``
and ``state NOT IN (...)`` also select nodes without a state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, Union

from . import _codec as codec
from ._errors import InvalidArgumentError
from ._models import ArtifactState, EventType, ExecutionState

__all__ = ["CompiledFilter", "compile_filter"]

_FIELD = "filter_query"
# Parentheses and NOTs nest at most this deep (the parser and compiler recurse on them).
MAX_NESTING = 100
# A filter's Cypher compares at most this many values, and names at most this many neighbour
# aliases (contexts_a, events_0...). Neo4j plans a statement before it checks its timeout:
# 20,000 ANDed comparisons (220 KB, under gRPC's 4 MiB) kept a core planning for over ten
# minutes, 100 aliases 35 s on an empty store; each alias also joins rows with every other's.
# TFX and Kubeflow filters have a few of each. An OR of equalities on one column is folded
# into one IN list (docs/filter_query.md) and counts once; the syntax tree itself is held to
# MAX_TREE_COMPARISONS (a 5,000-term OR of ids folds, and is taken).
MAX_COMPARISONS = 256
MAX_TREE_COMPARISONS = 10_000
MAX_ALIASES = 10


@dataclasses.dataclass(frozen=True)
class CompiledFilter:
    """A filter as Cypher: clauses that bind neighbour aliases after the node ``var`` is
    bound, a boolean expression over them, and the values it refers to as parameters."""

    match_clauses: list[str]
    where: str
    params: dict[str, Any]
    # The columns (``n.type``, ``f_n0.name``...) a top-level conjunct holds equal to one
    # literal value: the filter selects only nodes where that column has that value.
    fixed: frozenset[str] = frozenset()
    # How many top-level conjuncts ``where`` has (a mentioned property's presence among them).
    conjuncts: int = 1


def compile_filter(expression: str, label: str, var: str = "n", *, field: str = _FIELD) -> CompiledFilter:
    """Compile a filter_query for nodes of ``label`` ("Artifact", "Execution" or "Context")
    bound to the Cypher variable ``var``.

    Raises:
        InvalidArgumentError: the expression is malformed, names a field the node kind does
            not have, compares values of incompatible types or is not boolean; the message
            starts with ``field`` (the argument that held the expression, "filter_query" unless
            given, e.g. "ending_artifacts.filter_query"), then gives the line:column and the
            offending token; the error's ``field`` is ``field``.

    The result depends on the arguments only, so the last compiled filters are kept and
    shared: treat it as read-only.
    """
    if label not in _NODE_ATTRIBUTES:
        raise ValueError(f"unknown node label {label!r}")
    try:
        return _compile(expression, label, var)
    except InvalidArgumentError as error:
        if field == _FIELD:
            raise
        # Every message of _compile starts with _FIELD (_error, codec.check_text): named once.
        raise InvalidArgumentError(field + error.message.removeprefix(_FIELD), field=field) from None


@functools.lru_cache(maxsize=256)
def _compile(expression: str, label: str, var: str) -> CompiledFilter:
    codec.check_text(expression, _FIELD)  # a lone surrogate could not travel to Neo4j
    tree = _Parser(expression).parse()
    comparisons = _comparisons(tree)
    if comparisons > MAX_TREE_COMPARISONS:
        raise InvalidArgumentError(f"{_FIELD}: {comparisons:,} comparisons; a filter makes at most "
                                   f"{MAX_TREE_COMPARISONS:,} (a list of values is one: id IN (1, 2, 3))", field=_FIELD)
    compiled = _Compiler(expression, label, var).compile(tree)
    if len(compiled.params) > MAX_COMPARISONS:
        raise InvalidArgumentError(f"{_FIELD}: its {comparisons:,} comparisons compare {len(compiled.params):,} "
                                   "values one by one (a property's compares several: its name and value, as "
                                   f"declared or custom); a filter compares at most {MAX_COMPARISONS} (a list is one: "
                                   "id IN (1, 2, 3); an OR of equalities on one field becomes one)", field=_FIELD)
    if len(compiled.match_clauses) > MAX_ALIASES:
        raise InvalidArgumentError(f"{_FIELD}: {len(compiled.match_clauses)} neighbour aliases (contexts_a, "
                                   f"events_0...); a filter names at most {MAX_ALIASES}", field=_FIELD)
    return compiled


def _comparisons(tree: _Node) -> int:
    """How many comparisons (=, LIKE, IN, IS, BETWEEN...) the syntax tree makes."""
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _Logic):
            stack.extend(node.operands)
        elif isinstance(node, _Not):
            stack.append(node.operand)
        elif not isinstance(node, (_Lit, _Path)):
            count += 1
    return count


# --- the language's vocabulary --------------------------------------------------------------

INT64, DOUBLE, STRING, BOOL, NULL, ENUM = "INT64", "DOUBLE", "STRING", "BOOL", "NULL", "ENUM"
_NUMERIC = (INT64, DOUBLE)

# Enum values in their proto number order (the position is the number MLMD compares).
_ARTIFACT_STATES = tuple(s.value for s in ArtifactState)
_EXECUTION_STATES = tuple(s.value for s in ExecutionState)
_EVENT_TYPES = ("UNKNOWN",) + tuple(t.value for t in EventType)

_COMMON_ATTRIBUTES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "id": (INT64, None),
    "type_id": (INT64, None),
    "type": (STRING, None),
    "name": (STRING, None),
    "external_id": (STRING, None),
    "create_time_since_epoch": (INT64, None),
    "last_update_time_since_epoch": (INT64, None),
}
# Attribute -> (type, enum values). The attribute is also the Neo4j property's key.
_NODE_ATTRIBUTES: dict[str, dict[str, tuple[str, tuple[str, ...] | None]]] = {
    "Artifact": {**_COMMON_ATTRIBUTES, "uri": (STRING, None), "state": (ENUM, _ARTIFACT_STATES)},
    "Execution": {**_COMMON_ATTRIBUTES, "last_known_state": (ENUM, _EXECUTION_STATES)},
    "Context": dict(_COMMON_ATTRIBUTES),
}
_VALUE_FIELDS = {"int_value": (INT64, "INTEGER"), "double_value": (DOUBLE, "FLOAT"),
                 "string_value": (STRING, "STRING"), "bool_value": (BOOL, "BOOLEAN")}


@dataclasses.dataclass(frozen=True)
class _AliasKind:
    """A neighbourhood alias prefix: the Cypher pattern binding one neighbour from the
    node (``{n}``, ``{v}`` the neighbour, ``{e}`` the event relationship) and its label."""

    pattern: str
    label: str
    event_end: str | None = None  # events: the attribute naming the other end's id


_ALIASES: dict[str, dict[str, _AliasKind]] = {
    "Artifact": {
        "contexts_": _AliasKind("({n})<-[:ATTRIBUTION]-({v}:Context)", "Context"),
        "events_": _AliasKind("({n})-[{e}:EVENT]-({v}:Execution)", "Execution", "execution_id"),
    },
    "Execution": {
        "contexts_": _AliasKind("({n})<-[:ASSOCIATION]-({v}:Context)", "Context"),
        "events_": _AliasKind("({n})-[{e}:EVENT]-({v}:Artifact)", "Artifact", "artifact_id"),
    },
    "Context": {
        "parent_contexts_": _AliasKind("({n})-[:PARENT_CONTEXT]->({v}:Context)", "Context"),
        "child_contexts_": _AliasKind("({n})<-[:PARENT_CONTEXT]-({v}:Context)", "Context"),
        "artifacts_": _AliasKind("({n})-[:ATTRIBUTION]->({v}:Artifact)", "Artifact"),
        "executions_": _AliasKind("({n})-[:ASSOCIATION]->({v}:Execution)", "Execution"),
    },
}
_ALIAS_NAME = re.compile(r"[0-9A-Za-z_]+\Z")

# --- tokens ---------------------------------------------------------------------------------

_KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "TRUE", "FALSE", "BETWEEN"}
_COMPARISONS = {"=", "!=", "<>", "<", "<=", ">", ">="}
_OPERATORS = sorted(_COMPARISONS | {"(", ")", ",", ".", "+", "-"}, key=len, reverse=True)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", "?": "?", '"': '"', "'": "'", "`": "`"}


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str  # "ident", "int", "float", "string", "op", "kw", "eof"
    value: Any
    pos: int
    text: str


def _where(source: str, pos: int) -> str:
    """1-based line:column of offset ``pos``."""
    line = source.count("\n", 0, pos) + 1
    column = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{column}"


# How ml-metadata's SQL tables hold a STRUCT value: in the string column, after this prefix.
STRUCT_TEXT_PREFIX = "mlmd-struct::"


def _clipped(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters and "…": a message echoes what it is about once
    in full at most, and then as much as names it (gRPC carries at most a few KB of it)."""
    return text if len(text) <= limit else text[:limit] + "…"


def _unknown_field(name: str, label: str) -> str:
    """The message for a name that is no field of ``label``, with how a property and a
    string are written (the two things such a name usually meant)."""
    short = _clipped(name)
    return (f"unknown field {short!r} on {label} (a property is properties.{short}.int_value, .double_value, "
            f".string_value or .bool_value, custom_properties.{short}.* likewise; a string is quoted: '{short}')")


def _error(source: str, pos: int, message: str, token: str | None = None, hint: str = "") -> InvalidArgumentError:
    """InvalidArgumentError naming the line:column of ``pos`` and the offending token, then
    ``hint`` (what to write instead) when given."""
    near = f", near {_clipped(token)!r}" if token else ""
    return InvalidArgumentError(f"{_FIELD}: {message} (at {_where(source, pos)}{near})"
                                + (f": {hint}" if hint else ""), field=_FIELD)


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, size = 0, len(source)
    while True:
        while i < size:
            if source[i].isspace():
                i += 1
            elif source.startswith("--", i) or source[i] == "#":
                end = source.find("\n", i)
                i = size if end < 0 else end + 1
            elif source.startswith("/*", i):
                end = source.find("*/", i + 2)
                if end < 0:
                    raise _error(source, i, "unterminated comment", "/*")
                i = end + 2
            else:
                break
        if i >= size:
            tokens.append(_Token("eof", None, size, ""))
            return tokens
        last = tokens[-1] if tokens else None
        after_dot = last is not None and last.kind == "op" and last.value == "."
        after_name = last is not None and (last.kind == "ident" or (last.kind == "op" and last.value == ")"))
        ch = source[i]
        if ch == "`":
            end = source.find("`", i + 1)
            if end < 0:
                raise _error(source, i, "unterminated quoted name", source[i:i + 20])
            if end == i + 1:
                raise _error(source, i, "empty quoted name", "``")
            tokens.append(_Token("ident", source[i + 1:end], i, source[i:end + 1]))
            i = end + 1
            continue
        if after_dot:
            # The segment after a dot is a name, even one that starts with a digit
            # (properties.1st.int_value) or spells a keyword.
            m = _WORD.match(source, i)
            if not m:
                raise _error(source, i, "expected a name after '.'", source[i])
            tokens.append(_Token("ident", m.group(), i, m.group()))
            i = m.end()
            continue
        quote = _string_start(source, i)
        if quote is not None:
            text, end = _read_string(source, i, quote)
            tokens.append(_Token("string", text, i, source[i:end]))
            i = end
            continue
        # ASCII digits only: str.isdigit() also holds for '¹' or '٣', which no number contains.
        if "0" <= ch <= "9" or (ch == "." and not after_name and i + 1 < size and "0" <= source[i + 1] <= "9"):
            m = _NUMBER.match(source, i)
            assert m is not None
            text = m.group()
            if m.end() < size and (source[m.end()].isalnum() or source[m.end()] == "_"):
                raise _error(source, i, "malformed number", source[i:m.end() + 1])
            if text[:2].lower() == "0x":
                tokens.append(_Token("int", int(text, 16), i, text))
            elif any(c in text for c in ".eE"):
                number = float(text)
                if not math.isfinite(number):
                    raise _error(source, i, "number out of range", text)
                tokens.append(_Token("float", number, i, text))
            else:
                tokens.append(_Token("int", int(text), i, text))
            i = m.end()
            continue
        m = _IDENT.match(source, i)
        if m:
            word = m.group()
            if word.upper() in _KEYWORDS:
                tokens.append(_Token("kw", word.upper(), i, word))
            else:
                tokens.append(_Token("ident", word, i, word))
            i = m.end()
            continue
        for op in _OPERATORS:
            if source.startswith(op, i):
                tokens.append(_Token("op", op, i, op))
                i += len(op)
                break
        else:
            compared = False  # in the value of a comparison: an unquoted text (uri = /a/b, name = run-1/m)
            for token in reversed(tokens):
                if token.kind == "kw" and token.value in ("AND", "OR") or token.value == "(":
                    break
                if token.kind == "op" and token.value in _COMPARISONS or token.kind == "kw" and token.value == "LIKE":
                    compared = True
                    break
            raise _error(source, i, "unexpected character", ch,
                         "a text value is quoted, as in uri LIKE '/models/%'" if compared else "")


def _string_start(source: str, i: int) -> tuple[bool, str] | None:
    """(raw, quote) when a string literal starts at ``i``: optional r/R prefix, then ', ",
    ''' or \"\"\"."""
    raw = source[i] in "rR"
    j = i + 1 if raw else i
    if source[i] in "bB" and j + 1 < len(source) and source[i + 1] in "'\"":
        raise _error(source, i, "bytes literals are not supported", source[i:i + 2])
    if j >= len(source) or source[j] not in "'\"":
        return None
    quote = source[j] * 3 if source.startswith(source[j] * 3, j) else source[j]
    return raw, quote


def _read_string(source: str, start: int, kind: tuple[bool, str]) -> tuple[str, int]:
    """The value of the string literal at ``start`` and the offset after it."""
    raw, quote = kind
    i = start + (1 if raw else 0) + len(quote)
    out: list[str] = []
    while True:
        if i >= len(source):
            raise _error(source, start, "unterminated string", source[start:start + 20])
        if source.startswith(quote, i):
            return "".join(out), i + len(quote)
        ch = source[i]
        if ch == "\n" and len(quote) == 1:
            raise _error(source, start, "unterminated string", source[start:i])
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(source):
            raise _error(source, i, "unterminated string", source[start:])
        nxt = source[i + 1]
        if raw:
            # A raw string keeps the backslash; it only stops a quote from ending it.
            out.append(ch + nxt)
            i += 2
            continue
        if nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
            continue
        digits = {"x": 2, "X": 2, "u": 4, "U": 8}.get(nxt)
        if digits is not None:
            hex_text = source[i + 2:i + 2 + digits]
            if len(hex_text) != digits or not all(c in "0123456789abcdefABCDEF" for c in hex_text):
                raise _error(source, i, "malformed escape", source[i:i + 2 + digits])
            code = int(hex_text, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _error(source, i, "escape is not a Unicode code point", source[i:i + 2 + digits])
            out.append(chr(code))
            i += 2 + digits
            continue
        octal = source[i + 1:i + 4]
        if len(octal) == 3 and all(c in "01234567" for c in octal) and int(octal, 8) <= 0xFF:
            out.append(chr(int(octal, 8)))
            i += 4
            continue
        raise _error(source, i, "unknown escape", source[i:i + 2])


# --- syntax tree ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Lit:
    value: Any
    type: str
    pos: int
    text: str


@dataclasses.dataclass(frozen=True)
class _Path:
    parts: tuple[str, ...]
    quoted: tuple[bool, ...]
    pos: int
    text: str


@dataclasses.dataclass(frozen=True)
class _Not:
    operand: _Node
    pos: int


@dataclasses.dataclass(frozen=True)
class _Logic:
    op: str  # "AND" | "OR"
    operands: tuple[_Node, ...]
    pos: int


@dataclasses.dataclass(frozen=True)
class _Compare:
    op: str
    left: _Node
    right: _Node
    pos: int


@dataclasses.dataclass(frozen=True)
class _In:
    operand: _Node
    items: tuple[_Node, ...]
    negated: bool
    pos: int


@dataclasses.dataclass(frozen=True)
class _Like:
    operand: _Node
    pattern: _Node
    negated: bool
    pos: int


@dataclasses.dataclass(frozen=True)
class _Is:
    operand: _Node
    what: bool | None  # None for IS NULL
    negated: bool
    pos: int


@dataclasses.dataclass(frozen=True)
class _Between:
    operand: _Node
    low: _Node
    high: _Node
    negated: bool
    pos: int


_Node = Union[_Lit, _Path, _Not, _Logic, _Compare, _In, _Like, _Is, _Between]


class _Parser:
    """Recursive descent over ZetaSQL's precedence, loosest first: OR, AND, NOT, then one
    (non-chaining) comparison: = != <> < <= > >=, [NOT] IN, [NOT] LIKE, [NOT] BETWEEN,
    IS [NOT] NULL|TRUE|FALSE."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.i = 0
        self.depth = 0

    def parse(self) -> _Node:
        if self.peek().kind == "eof":
            raise _error(self.source, 0, "the expression is empty")
        tree = self.or_expr()
        if self.peek().kind != "eof":
            raise self.unexpected()
        return tree

    # token helpers
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.i += 1
        return token

    def at(self, kind: str, value: Any = None, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == kind and (value is None or token.value == value)

    def expect(self, kind: str, value: Any) -> _Token:
        if not self.at(kind, value):
            raise self.unexpected(f"expected {value!r}")
        return self.take()

    def unexpected(self, what: str = "syntax error") -> InvalidArgumentError:
        token = self.peek()
        if token.kind == "eof":
            return _error(self.source, token.pos, f"{what}: unexpected end of input")
        return _error(self.source, token.pos, f"{what}: unexpected {token.text!r}", token.text)

    # grammar
    def or_expr(self) -> _Node:
        operands = [self.and_expr()]
        while self.at("kw", "OR"):
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else _Logic("OR", tuple(operands), operands[0].pos)

    def and_expr(self) -> _Node:
        operands = [self.not_expr()]
        while self.at("kw", "AND"):
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else _Logic("AND", tuple(operands), operands[0].pos)

    def not_expr(self) -> _Node:
        if self.at("kw", "NOT"):
            pos = self.take().pos
            with self.nested(pos):
                return _Not(self.not_expr(), pos)
        return self.comparison()

    @contextlib.contextmanager
    def nested(self, pos: int) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _error(self.source, pos, f"nesting deeper than {MAX_NESTING}", self.source[pos:pos + 3])
        yield
        self.depth -= 1

    def comparison(self) -> _Node:
        left = self.operand()
        token = self.peek()
        node: _Node
        if token.kind == "op" and token.value in _COMPARISONS:
            self.take()
            node = _Compare(token.value, left, self.operand(), token.pos)
        elif token.kind == "kw" and token.value == "IS":
            self.take()
            negated = self.at("kw", "NOT")
            if negated:
                self.take()
            what = self.take()
            if what.kind != "kw" or what.value not in ("NULL", "TRUE", "FALSE"):
                self.i -= 1
                raise self.unexpected("expected NULL, TRUE or FALSE after IS")
            node = _Is(left, None if what.value == "NULL" else what.value == "TRUE", negated, token.pos)
        else:
            negated = token.kind == "kw" and token.value == "NOT"
            if negated and not (self.at("kw", "IN", 1) or self.at("kw", "LIKE", 1) or self.at("kw", "BETWEEN", 1)):
                raise self.unexpected()
            if negated:
                self.take()
            keyword = self.peek()
            if keyword.kind != "kw" or keyword.value not in ("IN", "LIKE", "BETWEEN"):
                return left
            self.take()
            if keyword.value == "IN":
                self.expect("op", "(")
                items = [self.operand()]
                while self.at("op", ","):
                    self.take()
                    items.append(self.operand())
                self.expect("op", ")")
                node = _In(left, tuple(items), negated, keyword.pos)
            elif keyword.value == "LIKE":
                node = _Like(left, self.operand(), negated, keyword.pos)
            else:
                low = self.operand()
                self.expect("kw", "AND")
                node = _Between(left, low, self.operand(), negated, keyword.pos)
        after = self.peek()
        if (after.kind == "op" and after.value in _COMPARISONS) or (
                after.kind == "kw" and after.value in ("IS", "IN", "LIKE", "BETWEEN")):
            raise self.unexpected("comparisons do not chain; add parentheses")
        return node

    def operand(self) -> _Node:
        token = self.take()
        if token.kind == "op" and token.value == "(":
            with self.nested(token.pos):
                inner = self.or_expr()
            self.expect("op", ")")
            return inner
        if token.kind == "op" and token.value in "+-" and self.peek().kind in ("int", "float"):
            number = self.take()
            value = -number.value if token.value == "-" else number.value
            return self._number(value, number.kind, token.pos, self.source[token.pos:number.pos + len(number.text)])
        if token.kind in ("int", "float"):
            return self._number(token.value, token.kind, token.pos, token.text)
        if token.kind == "string":
            return _Lit(token.value, STRING, token.pos, token.text)
        if token.kind == "kw" and token.value in ("TRUE", "FALSE"):
            return _Lit(token.value == "TRUE", BOOL, token.pos, token.text)
        if token.kind == "kw" and token.value == "NULL":
            return _Lit(None, NULL, token.pos, token.text)
        if token.kind == "ident":
            parts, quoted = [token.value], [token.text.startswith("`")]
            while self.at("op", "."):
                self.take()
                if self.peek().kind not in ("ident", "kw"):  # `a.` at the end, `a.(`, `a.'x'`...
                    raise self.unexpected("a name must follow '.'")
                part = self.take()
                parts.append(part.value if part.kind == "ident" else part.text)
                quoted.append(part.text.startswith("`"))
            end = self.tokens[self.i - 1]
            return _Path(tuple(parts), tuple(quoted), token.pos, self.source[token.pos:end.pos + len(end.text)])
        self.i -= 1
        raise self.unexpected()

    def _number(self, value: int | float, kind: str, pos: int, text: str) -> _Lit:
        if kind == "int":
            if not codec.INT64_MIN <= value <= codec.INT64_MAX:
                raise _error(self.source, pos, "integer out of the 64-bit range", text)
            return _Lit(value, INT64, pos, text)
        return _Lit(value, DOUBLE, pos, text)


# --- compiler -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Val:
    """A compiled operand: Cypher text (parenthesised unless atomic), its type, the enum
    values when it is an enum field, the literal when it is one."""

    cypher: str
    type: str
    pos: int
    text: str
    enum: tuple[str, ...] = ()
    literal: _Lit | None = None


@dataclasses.dataclass(frozen=True)
class _EnumName:
    """A bare name that is no field: valid only as the value of an enum field."""

    name: str
    pos: int


# What an enum number that numbers no value stands for: no stored enum value is this text.
_NO_VALUE = "#none"

_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_ORDER_TESTS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


class _Compiler:
    """Resolves and type-checks a syntax tree for one node kind and emits its Cypher."""

    def __init__(self, source: str, label: str, var: str) -> None:
        self.source = source
        self.label = label
        self.var = var
        self.params: dict[str, Any] = {}
        self.next_param = 0  # parameters are $f_0, $f_1...; a folded OR drops some (see disjuncts)
        self.aliases: dict[str, str] = {}  # alias -> Cypher variable of the neighbour
        self.matches: list[str] = []
        # (var, custom, name) -> the key params of its native, STRUCT and PROTO values
        self.properties: dict[tuple[str, bool, str], list[str]] = {}
        self.required: list[str] = []  # presence of every mentioned property

    def compile(self, tree: _Node) -> CompiledFilter:
        fixed: set[str] = set()
        parts = []
        conjuncts = tree.operands if isinstance(tree, _Logic) and tree.op == "AND" else (tree,)
        for operand in conjuncts:
            equality = self.equality(operand)  # binds as compiling would: adds no parameter
            if equality is not None and len(set(map(repr, equality[1]))) == 1:
                fixed.add(equality[0])
            parts.append(self.boolean(operand, "AND") if len(conjuncts) > 1 else self.cypher(self.predicate(operand)))
        # Top-level conjuncts stay separate so the planner sees each (and its index).
        return CompiledFilter(match_clauses=self.matches, where=" AND ".join(self.required + parts),
                              params=self.params, fixed=frozenset(fixed), conjuncts=len(self.required + parts))

    def error(self, pos: int, message: str, token: str | None) -> InvalidArgumentError:
        return _error(self.source, pos, message, token)

    def param(self, value: Any) -> str:
        name = f"f_{self.next_param}"
        self.next_param += 1
        self.params[name] = value
        return "$" + name

    # --- names ------------------------------------------------------------------------------

    def resolve(self, path: _Path) -> _Val | _EnumName:
        first = path.parts[0]
        if first in ("properties", "custom_properties") and not path.quoted[0]:
            return self.property(self.var, first == "custom_properties", path.parts[1:], path)
        if len(path.parts) == 1:
            attribute = _NODE_ATTRIBUTES[self.label].get(first.lower())
            if attribute is not None:
                return _Val(f"{self.var}.{first.lower()}", attribute[0], path.pos, path.text, attribute[1] or ())
            if path.quoted[0]:
                raise self.error(path.pos, _unknown_field(first, self.label), path.text)
            return _EnumName(first, path.pos)
        for prefix, kind in _ALIASES[self.label].items():
            if first.startswith(prefix) and _ALIAS_NAME.match(first[len(prefix):]):
                return self.alias_field(first, kind, path)
        raise self.error(path.pos, _unknown_field(first, self.label), path.text)

    def alias_field(self, alias: str, kind: _AliasKind, path: _Path) -> _Val:
        var = self.bind(alias, kind)
        rest = path.parts[1:]
        if kind.event_end is None and rest[0] in ("properties", "custom_properties") and not path.quoted[1]:
            return self.property(var, rest[0] == "custom_properties", rest[1:], path)
        field = rest[0].lower()
        if len(rest) == 1 and kind.event_end is None and field in _NODE_ATTRIBUTES[kind.label]:
            value_type, values = _NODE_ATTRIBUTES[kind.label][field]
            return _Val(f"{var}.{field}", value_type, path.pos, path.text, values or ())
        if len(rest) == 1 and kind.event_end is not None:
            if field == "type":
                return _Val(f"{var}_e.type", ENUM, path.pos, path.text, _EVENT_TYPES)
            if field == "milliseconds_since_epoch":
                return _Val(f"{var}_e.milliseconds_since_epoch", INT64, path.pos, path.text)
            if field == kind.event_end:
                return _Val(f"{var}.id", INT64, path.pos, path.text)
        raise self.error(path.pos, f"unknown field {'.'.join(rest)!r} of {alias}", path.text)

    def bind(self, alias: str, kind: _AliasKind) -> str:
        """The variable of the neighbour ``alias`` names, matched once per alias."""
        if alias not in self.aliases:
            var = f"f_n{len(self.aliases)}"
            self.aliases[alias] = var
            self.matches.append("MATCH " + kind.pattern.format(n=self.var, v=var, e=var + "_e"))
        return self.aliases[alias]

    def property(self, var: str, custom: bool, rest: tuple[str, ...], path: _Path) -> _Val:
        if len(rest) != 2 or rest[1].lower() not in _VALUE_FIELDS:
            raise self.error(path.pos, "a property is read as (properties|custom_properties).<name>."
                             "(int_value|double_value|string_value|bool_value)", path.text)
        name = rest[0]
        value_type, neo4j_type = _VALUE_FIELDS[rest[1].lower()]
        if (var, custom, name) not in self.properties:
            keys = [self.param(codec.property_key(name, custom=custom, kind=k)) for k in ("native", "struct", "proto")]
            self.properties[(var, custom, name)] = keys
            # MLMD joins the property's row: a node without the property never matches.
            self.required.append("(" + " OR ".join(f"{var}[{k}] IS NOT NULL" for k in keys) + ")")
        native, struct, _ = (f"{var}[{k}]" for k in self.properties[(var, custom, name)])
        # MLMD keeps a STRUCT in the string column as "mlmd-struct::" and its serialized
        # proto, so its string_value is a text starting so (IS NOT NULL, LIKE 'mlmd-struct%').
        as_struct = (f" WHEN {struct} IS NOT NULL THEN {self.param(STRUCT_TEXT_PREFIX)} + {struct}"
                     if value_type == STRING else "")
        return _Val(f"(CASE WHEN {native} IS :: {neo4j_type} NOT NULL THEN {native}{as_struct} END)", value_type,
                    path.pos, path.text)

    # --- operands ---------------------------------------------------------------------------

    def operand(self, node: _Node) -> _Val | _EnumName:
        if isinstance(node, _Path):
            return self.resolve(node)
        if isinstance(node, _Lit):
            return _Val("null" if node.type == NULL else "", node.type, node.pos, node.text, literal=node)
        return self.predicate(node)

    def cypher(self, val: _Val) -> str:
        """``val``'s Cypher; a literal becomes a parameter here, when it is used."""
        return self.param(val.literal.value) if val.literal is not None and val.type != NULL else val.cypher

    def field(self, operand: _Val | _EnumName) -> _Val:
        """``operand`` as a value: a bare name that is not a field is an unknown field."""
        if isinstance(operand, _EnumName):
            raise self.error(operand.pos, _unknown_field(operand.name, self.label), operand.name)
        return operand

    def value(self, node: _Node) -> _Val:
        return self.field(self.operand(node))

    def no_null(self, val: _Val, op: str) -> None:
        if val.type == NULL:
            raise self.error(val.pos, f"operands of {op} cannot be literal NULL", val.text)

    def comparable(self, a: _Val, b: _Val, op: str, pos: int) -> None:
        if a.type == b.type or (a.type in _NUMERIC and b.type in _NUMERIC) or NULL in (a.type, b.type):
            return
        raise self.error(pos, f"cannot compare {a.text} ({a.type}) with {b.text} ({b.type}) using {op}", op)

    def enum_name(self, column: _Val, other: _Val | _EnumName) -> str:
        """The stored value ``other`` stands for in the enum ``column``: a name of the enum, or
        a number, MLMD's proto enum number (TFX writes ``state IN (2)``; 2.0 is 2 as well), for
        the name it numbers; a number no value has stands for a text no node holds, so it
        matches nothing (``state IN (9)``) as in MLMD."""
        if isinstance(other, _EnumName) and other.name in column.enum:
            return other.name
        if isinstance(other, _Val) and other.literal is not None and other.type in _NUMERIC:
            number = other.literal.value
            return column.enum[int(number)] if number == int(number) and 0 <= number < len(column.enum) else _NO_VALUE
        text = other.name if isinstance(other, _EnumName) else other.text
        raise self.error(other.pos, f"{column.text} takes one of {', '.join(column.enum)} "
                         f"(or its number, 0 to {len(column.enum) - 1})", text)

    def enum_number(self, column: _Val, other: _Val | _EnumName) -> int | float:
        if isinstance(other, _Val) and other.literal is not None and other.type in _NUMERIC:
            return other.literal.value
        text = other.name if isinstance(other, _EnumName) else other.text
        raise self.error(other.pos, f"{column.text} is ordered by its enum number: compare it with a number", text)

    def enum_subset(self, column: _Val, keep: Callable[[int], bool], pos: int) -> _Val:
        """``column`` holds one of the enum values whose number passes ``keep``: unknown
        when it holds none, as SQL's ``state < 0`` is."""
        names = [name for number, name in enumerate(column.enum) if keep(number)]
        if not names:  # Cypher's `null IN []` is false, not unknown
            return _Val(f"(CASE WHEN {column.cypher} IS NULL THEN null ELSE false END)", BOOL, pos, column.text)
        return _Val(f"({column.cypher} IN {self.param(names)})", BOOL, pos, column.text)

    # --- predicates -------------------------------------------------------------------------

    def predicate(self, node: _Node) -> _Val:
        if isinstance(node, _Logic):
            parts = (self.disjuncts(node.operands) if node.op == "OR"
                     else [self.boolean(operand, node.op) for operand in node.operands])
            return _Val("(" + f" {node.op} ".join(parts) + ")", BOOL, node.pos, node.op)
        if isinstance(node, _Not):
            inner = self.value(node.operand)
            self.no_null(inner, "NOT")
            if inner.type != BOOL:
                raise self.error(inner.pos, f"NOT needs a boolean operand, not {inner.type}", inner.text)
            return _Val(f"(NOT {self.cypher(inner)})", BOOL, node.pos, "NOT")
        if isinstance(node, _Compare):
            return self.compare(node)
        if isinstance(node, _In):
            return self.in_list(node)
        if isinstance(node, _Like):
            return self.like(node)
        if isinstance(node, _Is):
            return self.is_test(node)
        if isinstance(node, _Between):
            return self.between(node)
        val = self.value(node)
        if val.type != BOOL:
            raise self.error(val.pos, f"the filter must be a boolean expression, not {val.type}", val.text)
        return val

    def disjuncts(self, operands: tuple[_Node, ...]) -> list[str]:
        """The Cypher of OR'd ``operands``, with the equalities on one column (``id = 1 OR id
        = 2``, ``state IN (LIVE) OR state = 3``) folded into one ``column IN $list`` where the
        first of them stood. That is the same test under three-valued logic (SQL defines IN
        as OR'd equalities; both are unknown for a missing value, and Cypher's IN is too),
        and one index seek with a list parameter, where an OR of thousands of terms took the
        planner a minute. Every operand is still compiled, in order, so a filter reports the
        same error as without folding; a folded term's own parameters are then dropped. A
        parenthesised OR among the operands is spliced in (OR is associative in three-valued
        logic too), so its equalities fold with these."""
        parts: list[str | None] = []
        folds: dict[str, list[tuple[int, range, list[Any]]]] = {}  # column -> (part, params, values)
        for operand in _flat_or(operands):
            equality = self.equality(operand)  # binds its aliases and property keys, as compiling would
            before = self.next_param
            parts.append(self.boolean(operand, "OR"))
            if equality is not None:  # the term's own parameters: its values, nothing shared
                column, values = equality
                folds.setdefault(column, []).append((len(parts) - 1, range(before, self.next_param), values))
        for column, terms in folds.items():
            if len(terms) < 2:
                continue
            for _, params, _ in terms:
                for i in params:
                    del self.params[f"f_{i}"]
            values = [value for _, _, term_values in terms for value in term_values]
            parts[terms[0][0]] = f"({column} IN {self.param(values)})"
            for index, _, _ in terms[1:]:
                parts[index] = None
        return [part for part in parts if part is not None]

    def equality(self, node: _Node) -> tuple[str, list[Any]] | None:
        """(the column's Cypher, the values) when ``node`` tests that a column, an attribute or
        property value of the node or of a neighbour alias, equals one of some literal values:
        ``column = v``, ``v = column`` or ``column IN (v, ...)``. None for anything else
        (``!=``, NOT IN, a field compared with a field, a predicate) and for an invalid term,
        which compiling it then reports. It resolves the names as compiling does (binding
        aliases and property keys in the same order), so it adds no parameter of its own."""
        def column(operand: _Val | _EnumName) -> bool:
            return isinstance(operand, _Val) and operand.literal is None

        try:
            if isinstance(node, _Compare) and node.op == "=":
                sides = (node.left, node.right)
                if not all(isinstance(side, (_Path, _Lit)) for side in sides):
                    return None
                left, right = (self.operand(side) for side in sides)
                if column(right) and not column(left):
                    left, right = right, left
                if not isinstance(left, _Val) or not column(left):
                    return None
                if left.type == ENUM:
                    return left.cypher, [self.enum_name(left, right)]
                if isinstance(right, _Val) and right.literal is not None and right.type != NULL:
                    return left.cypher, [right.literal.value]
                return None
            if isinstance(node, _In) and not node.negated and isinstance(node.operand, _Path):
                listed = self.operand(node.operand)
                if not isinstance(listed, _Val):
                    return None
                if listed.type == ENUM:
                    return listed.cypher, [self.enum_name(listed, self.operand(item)) for item in node.items]
                if all(isinstance(item, _Lit) for item in node.items):
                    return listed.cypher, [item.value for item in node.items if isinstance(item, _Lit)]
        except InvalidArgumentError:
            return None
        return None

    def boolean(self, node: _Node, op: str) -> str:
        val = self.value(node)
        if val.type not in (BOOL, NULL):
            raise self.error(val.pos, f"operands of {op} must be boolean, not {val.type}", val.text)
        return self.cypher(val)

    def compare(self, node: _Compare) -> _Val:
        left, right, op = self.operand(node.left), self.operand(node.right), node.op
        if isinstance(right, _Val) and right.type == ENUM and not (isinstance(left, _Val) and left.type == ENUM):
            left, right, op = right, left, _FLIPPED.get(op, op)
        if isinstance(left, _Val) and left.type == ENUM:
            if op == "=":
                return _Val(f"({left.cypher} = {self.param(self.enum_name(left, right))})", BOOL, node.pos, op)
            if op in ("!=", "<>"):
                # MLMD rewrites `state != X` to `(state != X OR state IS NULL)`.
                name = self.param(self.enum_name(left, right))
                return _Val(f"({left.cypher} <> {name} OR {left.cypher} IS NULL)", BOOL, node.pos, op)
            number, test = self.enum_number(left, right), _ORDER_TESTS[op]
            return self.enum_subset(left, lambda n: test(n, number), node.pos)
        left, right = self.field(left), self.field(right)
        self.no_null(left, node.op)
        self.no_null(right, node.op)
        self.comparable(left, right, node.op, node.pos)
        return _Val(f"({self.cypher(left)} {'<>' if op == '!=' else op} {self.cypher(right)})", BOOL, node.pos, op)

    def in_list(self, node: _In) -> _Val:
        column = self.operand(node.operand)
        if isinstance(column, _Val) and column.type == ENUM:
            names = self.param([self.enum_name(column, self.operand(item)) for item in node.items])
            if node.negated:
                # As `!=`: MLMD adds `OR state IS NULL` to NOT IN.
                return _Val(f"(NOT ({column.cypher} IN {names}) OR {column.cypher} IS NULL)", BOOL, node.pos, "IN")
            return _Val(f"({column.cypher} IN {names})", BOOL, node.pos, "IN")
        column = self.field(column)
        values = []
        for item in node.items:
            if not isinstance(item, _Lit):
                raise self.error(item.pos, "IN lists hold literal values", getattr(item, "text", None))
            self.comparable(column, self.value(item), "IN", item.pos)
            values.append(item.value)
        listed = f"({self.cypher(column)} IN {self.param(values)})"
        return _Val(f"(NOT {listed})" if node.negated else listed, BOOL, node.pos, "IN")

    def like(self, node: _Like) -> _Val:
        column, pattern = self.value(node.operand), node.pattern
        self.no_null(column, "LIKE")
        if column.type != STRING:
            raise self.error(column.pos, f"LIKE needs a STRING operand, not {column.type}", column.text)
        if isinstance(pattern, _Lit) and pattern.type == NULL:
            raise self.error(pattern.pos, "operands of LIKE cannot be literal NULL", pattern.text)
        if not isinstance(pattern, _Lit) or pattern.type != STRING:
            raise self.error(pattern.pos, "a LIKE pattern must be a string literal", getattr(pattern, "text", None))
        pieces = _like_pieces(pattern.value)
        if pieces is None:
            raise self.error(pattern.pos, "a LIKE pattern cannot end with an escaping backslash", pattern.text)
        operand = self.cypher(column)
        regex = self.param(_like_regex(pieces))
        if pieces and not pieces[0][1]:
            # The pattern starts with literal text: each ASCII-case spelling of it (as MLMD's LIKE
            # folds ASCII case) is an index seek, and the regex decides. Always _SEEK_SLOTS seeks,
            # padded with a prefix nothing starts with, so no value changes the query's shape.
            lead = "".join(text for text, _ in itertools.takewhile(lambda piece: not piece[1], pieces))
            variants = _case_variants(lead, _SEEK_LETTERS)
            variants += [_NO_PREFIX] * (_SEEK_SLOTS - len(variants))
            seeks = " OR ".join(f"{operand} STARTS WITH {self.param(v)}" for v in variants)
            test = f"(({seeks}) AND {operand} =~ {regex})"
        else:
            test = f"({operand} =~ {regex})"
        return _Val(f"(NOT {test})" if node.negated else test, BOOL, node.pos, "LIKE")

    def is_test(self, node: _Is) -> _Val:
        val = self.value(node.operand)
        operand = self.cypher(val)
        if node.what is None:
            return _Val(f"({operand} IS {'NOT ' if node.negated else ''}NULL)", BOOL, node.pos, "IS")
        if val.type not in (BOOL, NULL):
            raise self.error(val.pos, f"IS {'TRUE' if node.what else 'FALSE'} needs a boolean operand, "
                             f"not {val.type}", val.text)
        test = f"({operand} IS NOT NULL AND {'' if node.what else 'NOT '}{operand})"
        return _Val(f"(NOT {test})" if node.negated else test, BOOL, node.pos, "IS")

    def between(self, node: _Between) -> _Val:
        operand = self.operand(node.operand)
        if isinstance(operand, _Val) and operand.type == ENUM:
            first = self.enum_number(operand, self.operand(node.low))
            last = self.enum_number(operand, self.operand(node.high))
            return self.enum_subset(operand, lambda n: (first <= n <= last) != node.negated, node.pos)
        column, low, high = self.field(operand), self.value(node.low), self.value(node.high)
        for side in (column, low, high):
            self.no_null(side, "BETWEEN")
        self.comparable(column, low, "BETWEEN", node.pos)
        self.comparable(column, high, "BETWEEN", node.pos)
        operand_cypher = self.cypher(column)
        test = f"({self.cypher(low)} <= {operand_cypher} AND {operand_cypher} <= {self.cypher(high)})"
        return _Val(f"(NOT {test})" if node.negated else test, BOOL, node.pos, "BETWEEN")


def _flat_or(operands: tuple[_Node, ...]) -> Iterator[_Node]:
    """``operands`` with each parenthesised OR among them replaced by its own operands, in
    order (``a OR (b OR c)`` is ``a OR b OR c``)."""
    for operand in operands:
        if isinstance(operand, _Logic) and operand.op == "OR":
            yield from _flat_or(operand.operands)
        else:
            yield operand


def _like_pieces(pattern: str) -> list[tuple[str, bool]] | None:
    """A LIKE pattern as (character, is_wildcard) pairs, ``%`` and ``_`` being wildcards
    unless a backslash escapes them; None when the pattern ends in a lone backslash."""
    pieces: list[tuple[str, bool]] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            escaped = next(chars, None)
            if escaped is None:
                return None
            pieces.append((escaped, False))
        else:
            pieces.append((ch, ch in "%_"))
    return pieces


# A pattern's leading text is sought in every ASCII-case spelling of it up to its 4th letter.
_SEEK_LETTERS = 4
_SEEK_SLOTS = 2**_SEEK_LETTERS
_NO_PREFIX = "\uffff\uffff\uffff\uffff"


def _case_variants(text: str, letters: int) -> list[str]:
    """Every ASCII-case spelling of ``text`` cut after its ``letters``-th ASCII letter."""
    positions = [i for i, ch in enumerate(text) if ch.isascii() and ch.isalpha()]
    head = text[: positions[letters - 1] + 1] if len(positions) > letters else text
    choices = [(ch.upper(), ch.lower()) if ch.isascii() and ch.isalpha() else (ch,) for ch in head]
    return sorted({"".join(v) for v in itertools.product(*choices)})


def _like_regex(pieces: list[tuple[str, bool]]) -> str:
    """A Java regex matching what the LIKE pattern matches: DOTALL (wildcards match line
    breaks too), ASCII letters in either case (as MLMD's LIKE), each literal character as a
    code-point escape.

    Its time is linear in the value's length: the pieces between two %s are each found at
    their leftmost place and kept there (an atomic group), which is where a match, if any,
    can put them (each is of fixed length). Written as nested `.*`, `%a%a%b` backtracked
    without end over a 4,000-character uri, a thread of Neo4j's busy for minutes, past the
    transaction's timeout (a regex does not check it)."""
    def segment(chunk: list[tuple[str, bool]]) -> str:
        return "".join("." if wild else f"\\x{{{ord(ch):x}}}" for ch, wild in chunk)

    segments: list[list[tuple[str, bool]]] = [[]]
    for ch, wild in pieces:
        if wild and ch == "%":
            segments.append([])
        else:
            segments[-1].append((ch, wild))
    if len(segments) == 1:
        return "(?si)" + segment(segments[0])
    first, *middle, last = segments
    return ("(?si)" + segment(first) + "".join(f"(?>.*?{segment(chunk)})" for chunk in middle if chunk)
            + ".*" + segment(last))
