"""A full, order-independent picture of the graph, to prove a failed call changed nothing."""

from __future__ import annotations

import json
from typing import Any

from graphmd import MetadataStore

_NODES = "MATCH (n) WHERE NOT n:IdCounter RETURN labels(n) AS labels, properties(n) AS props"
_RELS = ("MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS props, "
         "coalesce(a.id, -1) AS start, labels(a) AS start_labels, coalesce(b.id, -1) AS end, labels(b) AS end_labels")


def snapshot(store: MetadataStore) -> dict[str, Any]:
    """Every node (but id counters) and relationship with all properties, sorted."""
    nodes, rels = store.driver.execute_query(_NODES, database_=store.database), store.driver.execute_query(
        _RELS, database_=store.database)
    dump = lambda rows: sorted(json.dumps(r.data(), sort_keys=True, default=str) for r in rows)  # noqa: E731
    return {"nodes": dump(nodes.records), "relationships": dump(rels.records)}
