"""The Cypher files of cypher/ (lineage and the TFX questions), loaded for the library.

The same text a user pastes into Neo4j Browser or cypher-shell is what graphmd runs: a
file's parameters are its `$names`, its leading `//` comment says what it answers. In a
source checkout the files are read from <repo>/cypher; an installed wheel carries them as
graphmd/cypher.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _queries as q
from ._errors import InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    from ._store import MetadataStore

__all__ = ["cypher_dir", "names", "load", "parameters", "description", "examples", "explain", "run",
           "check_names", "no_rows_reason"]

_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_EXAMPLE = re.compile(r"^//\s*:param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=>\s*(.+?)\s*$", re.MULTILINE)
# What a parameter takes, told by the kind of its example value in the header.
_KINDS: list[tuple[str, str, Any]] = [
    (r"-?\d+", "an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    (r"'.*'", "text", lambda v: isinstance(v, str)),
    (r"\[.*\]", "a list", lambda v: isinstance(v, list)),
    (r"\{.*\}", "a map", lambda v: isinstance(v, dict)),
]
_KIND_OF = {str: "text", int: "integer", float: "number", bool: "boolean", list: "list", dict: "map"}
# Parameters whose example is null (no limit) but that take a count when given: the header's
# example cannot say so, and a query compares a text or -1 with the hop count silently.
_LIMITS = {"max_hops"}
# Parameters whose example is null (every context) but that take an id when given: a text
# or a number of another kind matches no id, and the query would answer for no context.
_OPTIONAL_IDS = {"context_id"}
# The lineage files' breadth-first expansion (taken for no limit or one over 100 hops), which
# run() bounds by max_hops.
_UNBOUNDED_WALK = "[:EVENT*0..]"
# What the files' parameters name in the store: an artifact by id, a context by name, a type
# by name; with where to look them up.
_NAMES = {"artifact_id": "artifact", "model_id": "artifact", "model_a": "artifact", "model_b": "artifact",
          "input_ids": "artifact", "run_name": "context", "runs": "context", "context_id": "context_id",
          "type_name": "execution_type", "run_type": "context_type", "model_type": "artifact_type",
          "blessing_type": "artifact_type"}
_LISTED_BY = {"artifact": "`graphmd artifacts` lists them", "context": "`graphmd contexts` lists them",
              "context_id": "`graphmd contexts` lists them", "execution_type": "`graphmd types` lists them",
              "context_type": "`graphmd types` lists them", "artifact_type": "`graphmd types` lists them"}


def cypher_dir() -> Path:
    """Where the .cypher files are: graphmd/cypher in a wheel, else <repo>/cypher."""
    packaged = Path(__file__).parent / "cypher"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "cypher"


def names() -> list[str]:
    """The queries' names (file names without .cypher), sorted."""
    return sorted(p.stem for p in cypher_dir().glob("*.cypher"))


@functools.cache
def load(name: str) -> str:
    """The text of cypher/<name>.cypher.

    Raises:
        NotFoundError: there is no such file.
    """
    path = cypher_dir() / f"{name}.cypher"
    if not re.fullmatch(r"[a-z0-9_]+", name) or not path.is_file():
        raise NotFoundError(f"no Cypher query named {name!r} (one of {', '.join(names())})", field="name")
    return path.read_text(encoding="utf-8")


def _code(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def parameters(name: str) -> list[str]:
    """The parameters the query uses, in order of first use (comments ignored)."""
    return list(dict.fromkeys(_PARAMETER.findall(_code(load(name)))))


def description(name: str) -> str:
    """The query's leading comment (what it answers, its parameters), without the slashes."""
    lines = []
    for line in load(name).splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    return "\n".join(lines).strip()


def examples(name: str) -> dict[str, str]:
    """Each parameter's example value as the header gives it (``:param model_id => 42``), in
    Cypher's syntax: ``42``, ``'run-0007'``, ``null``."""
    return dict(_EXAMPLE.findall(load(name)))


def explain(name: str, parameter: str) -> str:
    """What the header says a parameter is (``the artifact's id``), or "" when it says nothing."""
    text = " ".join(description(name).split())
    match = re.search(rf"\${re.escape(parameter)} \(((?:[^()]|\([^()]*\))*)\)", text)
    return match.group(1) if match else ""


def _shown(value: Any) -> str:
    """A parameter's value as the message about it shows it: text quoted, true, false."""
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)


def _check_kind(name: str, parameter: str, value: Any) -> None:
    """Raise InvalidArgumentError when ``value`` is not of the kind of the header's example
    (a text where the query compares an id finds nothing, silently)."""
    example = examples(name).get(parameter)
    if parameter in _LIMITS:
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63):
            return
        given = f"{_KIND_OF.get(type(value), type(value).__name__)} {_shown(value)}"
        raise InvalidArgumentError(f"query {name!r}: {parameter} takes null (no limit) or an integer >= 0 "
                                   f"(a 64-bit one), not the {given}", field=parameter)
    if parameter in _OPTIONAL_IDS:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return
        given = f"{_KIND_OF.get(type(value), type(value).__name__)} {_shown(value)}"
        raise InvalidArgumentError(f"query {name!r}: {parameter} takes null (every context) or a context's id "
                                   f"(an integer), not the {given}", field=parameter)
    for pattern, kind, fits in _KINDS:
        if example is not None and re.fullmatch(pattern, example) and not fits(value):
            given = "null" if value is None else f"the {_KIND_OF.get(type(value), type(value).__name__)} {_shown(value)}"
            what = explain(name, parameter)
            raise InvalidArgumentError(
                f"query {name!r}: {parameter} takes {kind}" + (f" ({what})" if what else "")
                + f" such as {example}, not {given}", field=parameter)


def statement(name: str, params: dict[str, Any]) -> str:
    """The text run() sends for cypher/<name>.cypher with ``params``: the file as it is,
    but for a lineage file's breadth-first expansion bounded by an integer ``max_hops`` (the
    files walk hop by hop up to 100 hops and expand for longer limits; Cypher takes no
    parameter as a path length's bound: written in, it bounds the walk, not only the answer).

    Raises:
        InvalidArgumentError, NotFoundError: as run().
    """
    wanted = parameters(name)
    missing = [p for p in wanted if p not in params]
    if missing:
        raise InvalidArgumentError(f"query {name!r} needs parameter {missing[0]!r}", field=missing[0])
    extra = sorted(set(params) - set(wanted))
    if extra:
        raise InvalidArgumentError(f"query {name!r} has no parameter {extra[0]!r} (it takes {', '.join(wanted)})",
                                   field=extra[0])
    for parameter, value in params.items():
        _check_kind(name, parameter, value)
    text = load(name)
    hops = params.get("max_hops")
    if isinstance(hops, int) and _UNBOUNDED_WALK in text:  # an integer >= 0: checked above
        text = text.replace(_UNBOUNDED_WALK, f"[:EVENT*0..{hops}]")
    return text


def run(store: MetadataStore, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run cypher/<name>.cypher in one read transaction; its rows as dicts (nodes and
    relationships stay neo4j.graph objects).

    Raises:
        InvalidArgumentError: a parameter the query uses is not given, or one it does not
            use is, or one is not of the kind its example in the file's header is (an
            integer id, text, a list, a map).
        NotFoundError: there is no such query.
    """
    text = statement(name, params)
    return store._read(lambda tx: [dict(r.items()) for r in tx.run(text, params)])


def check_names(store: MetadataStore, name: str, params: dict[str, Any]) -> None:
    """Check, in one read, that each parameter of the query that names something in the
    store (an artifact id, a run name, a type name) names something: a query finds no rows
    for a misspelt name as it does for a question with no answer.

    Raises:
        NotFoundError: the first parameter that names nothing, ``field`` the parameter.
    """
    wanted: dict[str, list[Any]] = {kind: [] for kind in _LISTED_BY}
    for parameter, value in params.items():
        kind = _NAMES.get(parameter)
        if kind is not None and parameter in parameters(name):
            wanted[kind] += value if isinstance(value, list) else [value]
    wanted["context_id"] = [v for v in wanted["context_id"] if v is not None]  # null: no context
    record = store._read(lambda tx: tx.run(q.UNKNOWN_NAMES, artifact_ids=wanted["artifact"],
                                           context_names=wanted["context"], context_ids=wanted["context_id"],
                                           execution_types=wanted["execution_type"],
                                           context_types=wanted["context_type"],
                                           artifact_types=wanted["artifact_type"]).single(strict=True))
    for parameter, value in params.items():
        kind = _NAMES.get(parameter)
        if kind is None:
            continue
        unknown = [v for v in (value if isinstance(value, list) else [value]) if v in record[kind]]
        if unknown:
            what = {"artifact": f"no artifact with id {unknown[0]}", "context": f"no context named {unknown[0]!r}",
                    "context_id": f"no context with id {unknown[0]}",
                    "execution_type": f"no execution type named {unknown[0]!r}",
                    "context_type": f"no context type named {unknown[0]!r}",
                    "artifact_type": f"no artifact type named {unknown[0]!r}"}[kind]
            raise NotFoundError(f"query {name!r}: {parameter}: {what} ({_LISTED_BY[kind]})", field=parameter)


def no_rows_reason(name: str) -> str:
    """What no rows means for the query, as its header says (``No rows: never pushed.``), or ""."""
    match = re.search(r"No rows: ([^.]*)\.", " ".join(description(name).split()))
    return match.group(1) if match else ""
