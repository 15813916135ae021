"""MLMD's filter_query language compiled to parameterised Cypher (being built: issue 5)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ._errors import UnimplementedError

__all__ = ["CompiledFilter", "compile_filter"]


@dataclasses.dataclass(frozen=True)
class CompiledFilter:
    """A filter as Cypher: clauses that bind neighbour aliases after the node ``var`` is
    bound, a boolean expression over them, and the values it refers to as parameters."""

    match_clauses: list[str]
    where: str
    params: dict[str, Any]


def compile_filter(expression: str, label: str, var: str = "n") -> CompiledFilter:
    """Compile a filter_query for nodes of ``label`` bound to ``var``."""
    raise UnimplementedError("filter_query is not supported yet", field="filter_query")
