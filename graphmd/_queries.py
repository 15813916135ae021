"""Every Cypher statement the store runs, in one place.

Values are always parameters. Text put into a statement never comes from a caller as
written: node labels and type kinds come from the fixed tables below; order fields and
directions from enums (ORDER_FIELDS); hop limits are checked integers; filters are
compiled by graphmd._filter, which puts every literal and property name in a parameter.
The user-facing lineage and question queries live as files in the repository's cypher/
folder and are loaded by graphmd._cypher_files.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ._codec import EVENT_PROPERTIES, EVENT_ROW

NODE_LABELS = ("Artifact", "Execution", "Context")
TYPE_KINDS = ("ArtifactType", "ExecutionType", "ContextType")
TYPE_KIND_OF = {"Artifact": "ArtifactType", "Execution": "ExecutionType", "Context": "ContextType"}

# --- schema -------------------------------------------------------------------------------

CONSTRAINTS = [
    "CREATE CONSTRAINT type_id IF NOT EXISTS FOR (t:Type) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT type_name_version IF NOT EXISTS "
    "FOR (t:Type) REQUIRE (t.kind, t.name, t.version_key) IS UNIQUE",
    "CREATE CONSTRAINT type_external_id IF NOT EXISTS FOR (t:Type) REQUIRE t.external_id IS UNIQUE",
    "CREATE CONSTRAINT id_counter_kind IF NOT EXISTS FOR (c:IdCounter) REQUIRE c.kind IS UNIQUE",
    "CREATE CONSTRAINT event_key IF NOT EXISTS FOR ()-[e:EVENT]-() REQUIRE e.event_key IS UNIQUE",
    # One GraphmdMeta node, even when several processes open a new database at once.
    "CREATE CONSTRAINT graphmd_meta IF NOT EXISTS FOR (m:GraphmdMeta) REQUIRE m.singleton IS UNIQUE",
]
for _label in NODE_LABELS:
    _lower = _label.lower()
    CONSTRAINTS += [
        f"CREATE CONSTRAINT {_lower}_id IF NOT EXISTS FOR (n:{_label}) REQUIRE n.id IS UNIQUE",
        f"CREATE CONSTRAINT {_lower}_type_name IF NOT EXISTS FOR (n:{_label}) REQUIRE (n.type_id, n.name) IS UNIQUE",
        f"CREATE CONSTRAINT {_lower}_external_id IF NOT EXISTS FOR (n:{_label}) REQUIRE n.external_id IS UNIQUE",
    ]

# The listing orders a type's nodes are indexed in (by the field, ties by id): the default
# (id) and the newest first (create time). By update time a page of a type is looked for among
# the label's nodes nearest its start first (graphmd._store._listing): these indexes cost bulk
# writes, these two ~6% of put_lineage_subgraph's rate, with update time ~15% (2-core Intel VM,
# docs/performance-log.md).
TYPE_ORDER_INDEXES = {"id": "id", "create_time_since_epoch": "create_time"}
INDEXES = []
for _label in NODE_LABELS:
    _lower = _label.lower()
    INDEXES += [
        f"CREATE INDEX {_lower}_type_id IF NOT EXISTS FOR (n:{_label}) ON (n.type_id)",
        f"CREATE INDEX {_lower}_type IF NOT EXISTS FOR (n:{_label}) ON (n.type)",
        f"CREATE INDEX {_lower}_name IF NOT EXISTS FOR (n:{_label}) ON (n.name)",
        f"CREATE INDEX {_lower}_create_time IF NOT EXISTS FOR (n:{_label}) ON (n.create_time_since_epoch)",
        f"CREATE INDEX {_lower}_update_time IF NOT EXISTS FOR (n:{_label}) ON (n.last_update_time_since_epoch)",
    ]
    # A type's nodes in a listing order (graphmd._store._list_query): a page of a type reads
    # the page, where the type's index read and sorted every node of it.
    INDEXES += [f"CREATE INDEX {_lower}_type_by_{name} IF NOT EXISTS FOR (n:{_label}) ON (n.type, n.{field})"
                for field, name in TYPE_ORDER_INDEXES.items()]
INDEXES += [
    "CREATE INDEX artifact_uri IF NOT EXISTS FOR (n:Artifact) ON (n.uri)",
    "CREATE INDEX artifact_state IF NOT EXISTS FOR (n:Artifact) ON (n.state)",
    "CREATE INDEX execution_state IF NOT EXISTS FOR (n:Execution) ON (n.last_known_state)",
    "CREATE INDEX type_name IF NOT EXISTS FOR (t:Type) ON (t.name)",
    "CREATE INDEX event_type IF NOT EXISTS FOR ()-[e:EVENT]-() ON (e.type)",
    # A model's blessings by the model they name (TFX's Evaluator records current_model_id on
    # its blessing, a custom property): latest_blessed_model asks each of the newest models
    # whether it is blessed. Only blessings hold the key, so other writes do not touch them.
    "CREATE INDEX artifact_current_model_id IF NOT EXISTS FOR (n:Artifact) ON (n.p_current_model_id)",
    "CREATE INDEX artifact_custom_current_model_id IF NOT EXISTS FOR (n:Artifact) ON (n.c_current_model_id)",
]


READ_SCHEMA_VERSION = ("MATCH (m:GraphmdMeta) RETURN m.schema_version AS version, "
                       "m.compatible_from AS compatible_from")
PING = "RETURN 1"  # does Neo4j answer? (graphmd serve's readiness)
# The running transactions whose time_bound tag starts with $tag, terminated (graphmd._store.time_bound).
TERMINATE_TAGGED_TRANSACTIONS = """
SHOW TRANSACTIONS YIELD transactionId AS id, metaData
WHERE metaData.graphmd_bound STARTS WITH $tag
TERMINATE TRANSACTIONS id YIELD transactionId
RETURN count(transactionId) AS terminated
"""
# An interrupted auto-commit write (Ctrl-C in a notebook): stop it before it commits, then
# wait until it has ended (rolled back, or committed if it was already committing).
TERMINATE_CALL = """
SHOW TRANSACTIONS YIELD transactionId AS id, metaData
WHERE metaData.graphmd_call = $call
TERMINATE TRANSACTIONS id YIELD transactionId
RETURN count(transactionId) AS terminated
"""
CALL_RUNNING = """
SHOW TRANSACTIONS YIELD metaData WHERE metaData.graphmd_call = $call RETURN count(*) AS running
"""
# The server's version (Neo4j 2025.x also lists "Cypher" with the language versions it speaks).
SERVER_COMPONENTS = ("CALL dbms.components() YIELD name, versions, edition WHERE name = 'Neo4j Kernel' "
                     "RETURN name, versions[0] AS version, edition")
INDEX_STATES = """
SHOW INDEXES YIELD name, state
RETURN count(*) AS total, [n IN collect(CASE WHEN state <> 'ONLINE' THEN name + ' ' + state END) WHERE n IS NOT NULL]
       AS not_online
"""
WRITE_SCHEMA_VERSION = ("MERGE (m:GraphmdMeta {singleton: true}) "
                        "SET m.schema_version = $version, m.compatible_from = $compatible_from")
AWAIT_INDEXES = "CALL db.awaitIndexes(300)"
HAS_DATA = "RETURN EXISTS { MATCH (n) WHERE n:Type OR n:Artifact OR n:Execution OR n:Context } AS has_data"

# Migration to version 1 from version 0: the layout of docs/data-model.md without graphmd's
# derived keys (what a bulk load such as neo4j-admin import or LOAD CSV writes; graphmd
# itself has always written them). Each statement fixes up to $batch items and
# returns how many it changed; it is rerun until that is 0, so it is idempotent and a
# crash half way loses nothing.
MIGRATE_TO_1 = [
    # Types: their kind (from the label) and the key that makes (kind, name, version) unique.
    """
    MATCH (t:Type) WHERE t.version_key IS NULL
    WITH t LIMIT $batch
    SET t.kind = coalesce(t.kind, head([l IN labels(t) WHERE l IN ['ArtifactType', 'ExecutionType', 'ContextType']])),
        t.version_key = coalesce(t.version, '')
    RETURN count(t) AS changed
    """,
    # Nodes: the name of their type, which listings and filters by type read.
    *(
        f"""
        MATCH (n:{label}) WHERE n.type IS NULL
        MATCH (t:Type {{id: n.type_id}}) WHERE t.kind = '{TYPE_KIND_OF[label]}'
        WITH n, t LIMIT $batch
        SET n.type = t.name
        RETURN count(n) AS changed
        """
        for label in NODE_LABELS
    ),
    # Events: the key that allows one event per (artifact, execution, type).
    """
    MATCH (a:Artifact)-[e:EVENT]-(x:Execution) WHERE e.event_key IS NULL AND e.type IS NOT NULL
    WITH a, e, x LIMIT $batch
    SET e.event_key = toString(a.id) + ':' + toString(x.id) + ':' + e.type
    RETURN count(e) AS changed
    """,
]
# Migration to version 2 from version 1: STRUCT values (the ps_ and cs_ keys) with their keys
# sorted, as graphmd._codec writes them. The first graphmd releases (until 2026-11-26, also
# version 1) kept the order of the caller's dict, so one value could be stored as two texts,
# and what compares stored text (what_can_be_reused.cypher, _SYNC_NODE's "did anything
# change") told them apart: a cache miss, an unchanged node rewritten. Cypher cannot parse
# JSON, so graphmd._schema re-encodes the texts: it reads each label's nodes in id order,
# $batch after $after at a time, and writes back the texts that change, each only while the
# node still holds the text read.
def _nodes_after(label: str, key: str, row: str) -> str:
    """A migration's page: the $batch ``label`` nodes after id $after, the last id read, and
    ``row`` for each node with a key (``k``) where ``key`` holds."""
    return f"""
    MATCH (n:{label}) WHERE n.id > $after
    WITH n ORDER BY n.id LIMIT $batch
    WITH collect(n) AS nodes
    RETURN nodes[-1].id AS last, [n IN nodes WHERE any(k IN keys(n) WHERE {key}) | {row}] AS rows
    """


STRUCT_VALUES_AFTER = {
    label: _nodes_after(label, "k STARTS WITH 'ps_' OR k STARTS WITH 'cs_'",
                        "{id: n.id, structs: [k IN keys(n) WHERE k STARTS WITH 'ps_' OR k STARTS WITH 'cs_' | [k, n[k]]]}")
    for label in NODE_LABELS
}
STRUCT_NODES_COUNT = {label: f"MATCH (n:{label}) RETURN count(n) AS count" for label in NODE_LABELS}
# Part of the migration to version 3: doubles stored as -0.0 (graphmd before 2026-12-05 wrote
# them so; Neo4j finds a stored -0.0 both equal to 0 and below it, so filters answered
# `< 0` and `>= 0` unlike ml-metadata and unlike what graphmd writes now), read as
# STRUCT_VALUES_AFTER reads STRUCT texts; graphmd._schema rewrites them as 0.0 with
# REWRITE_NEGATIVE_ZEROS: each removed, then set (Neo4j skips setting a value equal to the
# one held, and -0.0 = 0.0), while the node still holds a zero there.
NEGATIVE_ZEROS_AFTER = {
    label: _nodes_after(label, "n[k] = 0.0 AND toString(n[k]) = '-0.0'",
                        "{id: n.id, keys: [k IN keys(n) WHERE n[k] = 0.0 AND toString(n[k]) = '-0.0']}")
    for label in NODE_LABELS
}
REWRITE_NEGATIVE_ZEROS = {
    label: f"""
    UNWIND $rows AS row
    MATCH (n:{label} {{id: row.id}}) WHERE all(k IN keys(row.zeros) WHERE n[k] = 0.0)
    SET n += row.removed
    SET n += row.zeros
    """
    for label in NODE_LABELS
}
REWRITE_STRUCT_VALUES = {
    label: f"""
    UNWIND $rows AS row
    MATCH (n:{label} {{id: row.id}}) WHERE all(k IN keys(row.old) WHERE n[k] = row.old[k])
    SET n += row.new
    """
    for label in NODE_LABELS
}
MISSING_SIMPLE_TYPES = """
UNWIND $types AS t
OPTIONAL MATCH (existing:Type {kind: t.kind, name: t.name, version_key: ''})
WITH t WHERE existing IS NULL
RETURN t.kind AS kind, t.name AS name
"""
CREATE_SIMPLE_TYPES = {
    kind: (
        "UNWIND $rows AS row "
        f"MERGE (t:Type:{kind} {{kind: row.kind, name: row.name, version_key: ''}}) "
        "ON CREATE SET t.id = row.id, t.property_names = [], t.property_types = []"
    )
    for kind in TYPE_KINDS
}

# --- ids ----------------------------------------------------------------------------------

# Blocks for several kinds at once, rows in kind order: every writer locks the counters in
# the same order, so two reserving at once cannot deadlock.
# Per kind: a block given with its end is kept when the counter still stands there (no
# process reserved since), else a block of its size is reserved (graphmd._ids).
RESERVE_IDS = """
UNWIND $blocks AS block
MERGE (c:IdCounter {kind: block.kind})
ON CREATE SET c.next = 1
WITH block, c, coalesce(c.next = block.end, false) AS kept
SET c.next = CASE WHEN kept THEN c.next ELSE c.next + block.size END
RETURN block.kind AS kind, kept, c.next - block.size AS first
"""

# --- types --------------------------------------------------------------------------------

TYPES_BY_NAME_AND_VERSION = """
UNWIND $keys AS k
MATCH (t:Type {kind: $kind, name: k.name, version_key: k.version_key})
RETURN t {.*} AS t
"""
# The versions a type name has, for a lookup of a version it has not ("" is the unversioned one).
TYPE_VERSIONS = "MATCH (t:Type {kind: $kind, name: $name}) RETURN t.version_key AS version ORDER BY version"
TYPES_BY_ID = "MATCH (t:Type) WHERE t.id IN $ids AND t.kind = $kind RETURN t {.*} AS t ORDER BY t.id"
# A stored type about to be changed, read again under its write lock: concurrent changes of
# one type (each adding a property) take turns, each merging into the other's result.
LOCK_TYPE = "MATCH (t:Type {id: $id}) SET t._lock = true REMOVE t._lock RETURN t {.*} AS t"
TYPES_BY_EXTERNAL_ID = (
    "MATCH (t:Type) WHERE t.external_id IN $external_ids AND t.kind = $kind RETURN t {.*} AS t ORDER BY t.id"
)
TYPES_ALL = "MATCH (t:Type) WHERE t.kind = $kind RETURN t {.*} AS t ORDER BY t.id"
EXISTING_TYPE_IDS = "MATCH (t:Type) WHERE t.id IN $ids RETURN collect(t.id) AS ids"
CREATE_TYPES = {kind: f"UNWIND $rows AS row CREATE (t:Type:{kind}) SET t = row" for kind in TYPE_KINDS}
UPDATE_TYPES = "UNWIND $rows AS row MATCH (t:Type {id: row.id}) SET t = row"

# --- nodes --------------------------------------------------------------------------------

NODES_BY_ID = {label: f"MATCH (n:{label}) WHERE n.id IN $ids RETURN n {{.*}} AS n ORDER BY n.id" for label in NODE_LABELS}
# Reads nodes about to be updated, taking their write locks first so that concurrent
# updates of the same node serialise instead of losing each other's changes. A node deleted
# (pruned) while the lock was awaited comes back without properties: it is left out, as a
# node that was never there.
_STILL_THERE = "WITH n WHERE n.id IS NOT NULL"
LOCK_NODES_BY_ID = {
    label: f"MATCH (n:{label}) WHERE n.id IN $ids SET n._lock = true REMOVE n._lock {_STILL_THERE} RETURN n {{.*}} AS n"
    for label in NODE_LABELS
}
LOCK_NODES_BY_EXTERNAL_ID = {
    label: (
        f"MATCH (n:{label}) WHERE n.external_id IN $external_ids "
        f"SET n._lock = true REMOVE n._lock {_STILL_THERE} RETURN n {{.*}} AS n"
    )
    for label in NODE_LABELS
}
NODES_BY_EXTERNAL_ID = {
    label: f"MATCH (n:{label}) WHERE n.external_id IN $external_ids RETURN n {{.*}} AS n ORDER BY n.id"
    for label in NODE_LABELS
}
LOCK_CONTEXTS_BY_TYPE_AND_NAME = """
UNWIND $keys AS k
MATCH (n:Context {type_id: k.type_id, name: k.name})
SET n._lock = true REMOVE n._lock
WITH n WHERE n.id IS NOT NULL
RETURN n {.*} AS n
"""
NODE_BY_TYPE_AND_NAME = {
    label: f"MATCH (n:{label} {{type_id: $type_id, name: $name}}) RETURN n {{.*}} AS n" for label in NODE_LABELS
}
ARTIFACTS_BY_URI = "MATCH (n:Artifact) WHERE n.uri IN $uris RETURN n {.*} AS n ORDER BY n.id"
# Creates a node from each row only where its type exists: a missing type shows as a short count.
_CREATE_NODE = {
    label: f"MATCH (t:Type {{id: row.type_id}}) WHERE t.kind = '{TYPE_KIND_OF[label]}' CREATE (n:{label}) SET n = row"
    for label in NODE_LABELS
}
CREATE_NODES = {label: f"UNWIND $rows AS row {_CREATE_NODE[label]} RETURN count(n) AS created" for label in NODE_LABELS}
EXISTING_IDS = {label: f"MATCH (n:{label}) WHERE n.id IN $ids RETURN collect(n.id) AS ids" for label in NODE_LABELS}

# --- listing ------------------------------------------------------------------------------
# The list query is assembled by graphmd._store._list_query from these parts: a scope that binds
# `n`, optional filter match/where text from graphmd._filter, and the page condition.

LIST_SCOPE_ALL = {label: f"MATCH (n:{label})" for label in NODE_LABELS}
LIST_SCOPE_TYPE = {label: f"MATCH (n:{label} {{type_id: $scope_type_id, type: $scope_type_name}})" for label in NODE_LABELS}
LIST_SCOPE_CONTEXT = {
    "Artifact": "MATCH (:Context {id: $scope_context_id})-[:ATTRIBUTION]->(n:Artifact)",
    "Execution": "MATCH (:Context {id: $scope_context_id})-[:ASSOCIATION]->(n:Execution)",
}
LIST_SCOPE_CONTEXT_AND_TYPE = {
    "Artifact": "MATCH (:Context {id: $scope_context_id})-[:ATTRIBUTION]->(n:Artifact {type_id: $scope_type_id})",
    "Execution": "MATCH (:Context {id: $scope_context_id})-[:ASSOCIATION]->(n:Execution {type_id: $scope_type_id})",
}
ORDER_FIELDS = {"ID": "id", "CREATE_TIME": "create_time_since_epoch", "LAST_UPDATE_TIME": "last_update_time_since_epoch"}

# How many artifacts and executions a context holds (`graphmd show context`).
CONTEXT_MEMBER_COUNTS = """
MATCH (c:Context {id: $id})
RETURN COUNT { (c)-[:ATTRIBUTION]->(:Artifact) } AS artifacts, COUNT { (c)-[:ASSOCIATION]->(:Execution) } AS executions
"""

CONTEXTS_BY_ARTIFACT = """
MATCH (n:Context)-[:ATTRIBUTION]->(:Artifact {id: $id})
RETURN n {.*} AS n ORDER BY n.id
"""
CONTEXTS_BY_EXECUTION = """
MATCH (n:Context)-[:ASSOCIATION]->(:Execution {id: $id})
RETURN n {.*} AS n ORDER BY n.id
"""

# --- events -------------------------------------------------------------------------------

def _event_between(field: Callable[[str], str]) -> str:
    """Cypher creating the EVENT of `row` between the bound `a` and `x`, pointing the way its
    data flows (input events artifact -> execution, outputs execution -> artifact);
    ``field(name)`` is the expression that reads a field of `row`."""
    event = "[:EVENT {" + ", ".join(f"{name}: {field(name)}" for name in EVENT_PROPERTIES) + "}]"
    is_input = field("is_input")
    return f"""
FOREACH (_ IN CASE WHEN {is_input} THEN [1] ELSE [] END | CREATE (a)-{event}->(x))
FOREACH (_ IN CASE WHEN {is_input} THEN [] ELSE [1] END | CREATE (x)-{event}->(a))
"""


_EVENT_BETWEEN = _event_between(lambda name: f"row.{name}")
_CREATE_EVENT = f"""
MATCH (a:Artifact {{id: row.artifact_id}})
MATCH (x:Execution {{id: row.execution_id}}){_EVENT_BETWEEN}"""
CREATE_EVENTS = f"UNWIND $rows AS row {_CREATE_EVENT} RETURN count(*) AS created"
EXISTING_EVENT_KEYS = "MATCH ()-[e:EVENT]->() WHERE e.event_key IN $keys RETURN collect(e.event_key) AS keys"
# In ml-metadata's order: by artifact, then execution, then event type (its unique index
# on the three, types by their enum number); by execution, then as recorded.
EVENTS_BY_ARTIFACT_IDS = """
MATCH (a:Artifact)-[e:EVENT]-(x:Execution)
WHERE a.id IN $ids
RETURN e {.*} AS e, a.id AS artifact_id, x.id AS execution_id
ORDER BY a.id, x.id, {DECLARED_OUTPUT: 1, DECLARED_INPUT: 2, INPUT: 3, OUTPUT: 4, INTERNAL_INPUT: 5,
                      INTERNAL_OUTPUT: 6, PENDING_OUTPUT: 7}[e.type]
"""
EVENTS_BY_EXECUTION_IDS = """
MATCH (x:Execution)-[e:EVENT]-(a:Artifact)
WHERE x.id IN $ids
RETURN e {.*} AS e, a.id AS artifact_id, x.id AS execution_id
ORDER BY x.id, e.id
"""

# --- attributions, associations, parent contexts ------------------------------------------

# (end label, relationship, row key of the end's id) of each kind of link to a context.
_LINK = {
    "attributions": ("Artifact", "ATTRIBUTION", "artifact_id"),
    "associations": ("Execution", "ASSOCIATION", "execution_id"),
}


def _link_rows(verb: str, links: str, context_id: str = "row.context_id") -> str:
    """MERGE or CREATE the link of each `row` (context_id and the end's id)."""
    end, rel, key = _LINK[links]
    return f"MATCH (c:Context {{id: {context_id}}}) MATCH (n:{end} {{id: row.{key}}}) {verb} (c)-[:{rel}]->(n)"


MERGE_ATTRIBUTIONS = f"UNWIND $rows AS row {_link_rows('MERGE', 'attributions')} RETURN count(*) AS linked"
MERGE_ASSOCIATIONS = f"UNWIND $rows AS row {_link_rows('MERGE', 'associations')} RETURN count(*) AS linked"
# Which links exist already. Both ends are found first and the link checked between them
# (Expand(Into), which walks the end with fewer relationships): a path pattern lets the
# planner expand from a pipeline context holding every run's nodes, once per row.
EXISTING_ATTRIBUTIONS = """
UNWIND $rows AS row
MATCH (c:Context {id: row.context_id}), (a:Artifact {id: row.artifact_id})
WHERE EXISTS { (c)-[:ATTRIBUTION]->(a) }
RETURN row.context_id AS context_id, row.artifact_id AS artifact_id
"""
EXISTING_ASSOCIATIONS = """
UNWIND $rows AS row
MATCH (c:Context {id: row.context_id}), (x:Execution {id: row.execution_id})
WHERE EXISTS { (c)-[:ASSOCIATION]->(x) }
RETURN row.context_id AS context_id, row.execution_id AS execution_id
"""
EXISTING_PARENT_LINKS = """
UNWIND $rows AS row
MATCH (c:Context {id: row.child_id}), (p:Context {id: row.parent_id})
WHERE EXISTS { (c)-[:PARENT_CONTEXT]->(p) }
RETURN row.child_id AS child_id, row.parent_id AS parent_id
"""
CREATE_PARENT_LINKS = """
UNWIND $rows AS row
MATCH (c:Context {id: row.child_id})
MATCH (p:Context {id: row.parent_id})
CREATE (c)-[:PARENT_CONTEXT]->(p)
RETURN count(*) AS linked
"""
# Parent links are written one call at a time (a lock on the one GraphmdMeta node): a cycle
# can close through links two calls add at once whose contexts do not overlap (A->B and C->D
# stored; B->C and D->A put together), which neither call's cycle check could see.
LOCK_PARENT_LINKS = "MATCH (m:GraphmdMeta) SET m._lock = true REMOVE m._lock RETURN count(m) AS locked"
# After the call's links are created: the children whose new link closes a cycle (the
# parent reaches the child again, or is the child). Distinct ancestors make it a
# breadth-first walk, linear in the ancestors: enumerating paths instead doubles with each
# level of a hierarchy where contexts have two parents (2^23 paths at 24 levels).
CONTEXTS_IN_CYCLES = """
UNWIND $rows AS row
MATCH (c:Context {id: row.child_id}), (p:Context {id: row.parent_id})
MATCH (p)-[:PARENT_CONTEXT*0..]->(a:Context)
WITH DISTINCT c, a WHERE a = c
RETURN collect(DISTINCT c.id) AS ids
"""
PARENT_CONTEXTS_BY_CONTEXTS = """
MATCH (c:Context)-[:PARENT_CONTEXT]->(n:Context)
WHERE c.id IN $ids
RETURN c.id AS of, n {.*} AS n ORDER BY n.id
"""
CHILD_CONTEXTS_BY_CONTEXTS = """
MATCH (n:Context)-[:PARENT_CONTEXT]->(c:Context)
WHERE c.id IN $ids
RETURN c.id AS of, n {.*} AS n ORDER BY n.id
"""

# Updates of nodes by id that compare with the stored node on the server, under its write
# lock, instead of reading it first (a round trip). Each row holds `fixed` (the new node's
# properties the request decides), `given` (the request's values of the attributes MLMD's
# differencer compares), `type_id` (must equal the stored one), `force` and `now`. The node
# is rewritten, with a new last_update_time_since_epoch, only when something differs (a NaN
# is the same as a NaN: a value unequal to itself is one); the
# attributes in SYNC_KEPT[label] stay as stored. A row whose node is missing or has another
# type is not counted: the store then redoes the call the slow way for the exact error.
SYNC_KEPT = {
    "Artifact": ("name", "system_metadata"),
    "Execution": ("name", "system_metadata"),
    "Context": ("system_metadata",),
}
# The hint keeps the plan on the id's unique index: on a small store the planner may find
# the type_id index as cheap, and the write statement's plan is never replanned.
_SYNC_NODE = {
    label: f"""MATCH (n:{label} {{id: row.id}}) USING INDEX n:{label}(id) WHERE n.type_id = row.type_id
SET n._lock = true REMOVE n._lock
WITH row, n, row.fixed AS fixed
WITH row, n, fixed {{.*, type_id: n.type_id, create_time_since_epoch: n.create_time_since_epoch,
  last_update_time_since_epoch: n.last_update_time_since_epoch,
  {", ".join(f"{k}: n.{k}" for k in SYNC_KEPT[label])}}} AS new
WITH row, n, new, [k IN keys(new) WHERE new[k] IS NOT NULL] AS new_keys
WITH row, n, new, row.force
  OR any(a IN keys(row.given) WHERE NOT coalesce(row.given[a] = n[a], row.given[a] IS NULL AND n[a] IS NULL))
  OR size(new_keys) <> size([k IN keys(n) WHERE NOT k STARTS WITH '_'])
  OR any(k IN new_keys WHERE NOT coalesce(valueType(new[k]) = valueType(n[k])
                                          AND (new[k] = n[k] OR (new[k] <> new[k] AND n[k] <> n[k])), false)) AS write
FOREACH (_ IN CASE WHEN write THEN [1] ELSE [] END |
  SET n = new {{.*, last_update_time_since_epoch:
    CASE WHEN coalesce(n.last_update_time_since_epoch, 0) + 1 > row.now
         THEN coalesce(n.last_update_time_since_epoch, 0) + 1 ELSE row.now END}})"""
    for label in NODE_LABELS
}

# --- one call's planned writes -------------------------------------------------------------
# MetadataStore sends everything one call plans as one statement (one round trip), built by
# write_planned from the blocks the call needs, in this order: ids of nodes the call refers
# to that do not exist, types of the nodes it creates that do not exist, creates, updates,
# syncs (above), events, then links. Links with an end created by the same call cannot exist
# yet and are CREATEd; others are MERGEd. Each block reads its list from the one map
# parameter $planned and returns the column the store checks before the transaction
# commits. Only the blocks a call uses are sent: empty ones cost server time on every call,
# and the few combinations calls use are each planned once.
#
# Each node block also returns the nodes it found, created or wrote, in its rows' order
# (`<block>_nodes`), joined per label in NODE_LISTS' order: events and links name their ends
# by position in their label's list (an event's a and x; a link's [context, node]), so the
# server does not seek by id what the statement already holds (a 1,000-node batch has ~2,400
# events and links, two seeks each). An end that is not there (null) leaves its row out, as a
# MATCH by id of a missing node did.
#
# Event and link rows are lists, their fields by position (WRITE_EVENT_ROW; [c, n]), not
# maps: a 1,000-node batch sends ~2,400 of them, each map repeating its keys.
WRITE_EVENT_ROW = (*EVENT_ROW, "a", "x")
NODE_LISTS = {
    label: (f"create_{label}", *(("merge_Context",) if label == "Context" else ()), f"sync_{label}",
            f"update_{label}", f"required_{label}")
    for label in NODE_LABELS
}
WRITE_BLOCKS = {
    **{
        f"required_{label}": f"UNWIND $planned.required_{label} AS id OPTIONAL MATCH (n:{label} {{id: id}}) "
        "WITH collect([id, n]) AS found "
        f"RETURN [f IN found WHERE f[1] IS NULL | f[0]] AS missing_{label}, [f IN found | f[1]] AS required_{label}_nodes"
        for label in NODE_LABELS
    },
    # The types of the nodes created ({id, kind} rows, each once): checked once per type,
    # not per node (a 1,000-node batch has a handful of types).
    "types": "UNWIND $planned.types AS t OPTIONAL MATCH (x:Type {id: t.id}) WHERE x.kind = t.kind "
    "WITH t, x WHERE x IS NULL RETURN collect([t.id, t.kind]) AS missing_types",
    # Contexts reused by (type_id, name) when they exist, else created: [planned id, id].
    "merge_Context": "UNWIND $planned.merge_Context AS row MATCH (t:Type {id: row.type_id}) "
    "WHERE t.kind = 'ContextType' MERGE (n:Context {type_id: row.type_id, name: row.name}) "
    # A row under a known id (the context found before) creates nothing that stands: its node
    # is left without an id, which the checks refuse (the slow path creates it with a new one).
    "ON CREATE SET n = row, n.known = null, n.id = CASE WHEN row.known THEN null ELSE row.id END "
    "RETURN collect([row.id, n.id]) AS merged_Context, collect(n) AS merge_Context_nodes",
    **{
        f"create_{label}": f"UNWIND $planned.create_{label} AS row CREATE (n:{label}) SET n = row "
        f"RETURN count(n) AS created_{label}, collect(n) AS create_{label}_nodes"
        for label in ("Context", "Artifact", "Execution")
    },
    **{
        f"update_{label}": f"UNWIND $planned.update_{label} AS row MATCH (n:{label} {{id: row.id}}) SET n = row "
        f"RETURN count(n) AS updated_{label}, collect(n) AS update_{label}_nodes"
        for label in ("Context", "Artifact", "Execution")
    },
    **{
        f"sync_{label}": f"UNWIND $planned.sync_{label} AS row {_SYNC_NODE[label]} "
        f"RETURN count(*) AS synced_{label}, collect(n) AS sync_{label}_nodes"
        for label in ("Context", "Artifact", "Execution")
    },
    "events": f"UNWIND $planned.events AS row WITH row, Artifact_nodes[row[{WRITE_EVENT_ROW.index('a')}]] AS a, "
    f"Execution_nodes[row[{WRITE_EVENT_ROW.index('x')}]] AS x "
    f"WHERE a IS NOT NULL AND x IS NOT NULL{_event_between(lambda name: f'row[{WRITE_EVENT_ROW.index(name)}]')}"
    "RETURN count(*) AS created_events",
    **{
        f"{verb.lower()}_{links}": f"UNWIND $planned.{verb.lower()}_{links} AS row "
        f"WITH Context_nodes[row[0]] AS c, {_LINK[links][0]}_nodes[row[1]] AS n WHERE c IS NOT NULL AND n IS NOT NULL "
        f"{verb} (c)-[:{_LINK[links][1]}]->(n) RETURN count(*) AS {verb.lower()}d_{links}"
        for verb in ("CREATE", "MERGE")
        for links in _LINK
    },
}
# The node lists each block after the node blocks reads.
READS_NODE_LISTS = {
    "events": ("Artifact", "Execution"),
    **{f"{verb}_{links}": ("Context", _LINK[links][0]) for verb in ("create", "merge") for links in _LINK},
}
# The columns the store checks, by block.
WRITE_CHECKS = {
    **{f"required_{label}": f"missing_{label}" for label in NODE_LABELS},
    "types": "missing_types",
    **{f"create_{label}": f"created_{label}" for label in NODE_LABELS},
    **{f"sync_{label}": f"synced_{label}" for label in NODE_LABELS},
    "merge_Context": "merged_Context",
    "events": "created_events",
}


# Neo4j replans a cached statement once the store's statistics have drifted (at most every
# 10 s while the store grows): planning this statement takes 0.2-0.7 s on a warm server,
# stalling the call that triggers it. Every lookup in it is a unique-index seek and every
# row count comes from its own parameters, so its plan cannot change with the statistics
# (tests/test_write_paths.py checks the plans): keep the cached one.
WRITE_PREFIX = "CYPHER replan=skip"


# What each checked column must hold for the call to stand (q.WRITE_CHECKS' columns): every
# required node found, every planned node created, synced and merged, every event created.
_WRITE_HOLDS = {
    **{f"missing_{label}": f"size(missing_{label}) = 0" for label in NODE_LABELS},
    "missing_types": "size(missing_types) = 0",
    **{f"created_{label}": f"created_{label} = size($planned.create_{label})" for label in NODE_LABELS},
    **{f"synced_{label}": f"synced_{label} = size($planned.sync_{label})" for label in NODE_LABELS},
    "merged_Context": "size(merged_Context) = size($planned.merge_Context) "
                      "AND none(pair IN merged_Context WHERE pair[1] IS NULL)",
    "created_events": "created_events = size($planned.events)",
}
# A statement sent as its own (auto-commit) transaction cannot be rolled back by the client
# after it has read the checks: guarded, it fails on the server instead when one does not
# hold. The division by zero is the failure: Neo4j reports it as WRITE_GUARD_FAILED.
WRITE_GUARD_FAILED = "Neo.ClientError.Statement.ArithmeticError"


@functools.lru_cache(maxsize=256)
def write_planned(blocks: tuple[str, ...], guarded: bool = False) -> str:
    """The statement for the WRITE_BLOCKS named in ``blocks`` (in WRITE_BLOCKS' order);
    ``guarded``: one that fails with WRITE_GUARD_FAILED unless every check holds."""
    calls = [f"CALL () {{ {WRITE_BLOCKS[b]} }}" for b in WRITE_BLOCKS if b in blocks and b not in READS_NODE_LISTS]
    readers = [b for b in WRITE_BLOCKS if b in blocks and b in READS_NODE_LISTS]
    labels = [label for label in NODE_LABELS if any(label in READS_NODE_LISTS[b] for b in readers)]
    if labels:
        lists = [" + ".join(f"{b}_nodes" for b in NODE_LISTS[label] if b in blocks) or "[]" for label in labels]
        calls.append("WITH *, " + ", ".join(f"{joined} AS {label}_nodes" for joined, label in zip(lists, labels)))
    calls += [f"CALL ({', '.join(f'{label}_nodes' for label in READS_NODE_LISTS[b])}) {{ {WRITE_BLOCKS[b]} }}"
              for b in readers]
    checked = [WRITE_CHECKS[b] for b in WRITE_BLOCKS if b in blocks and b in WRITE_CHECKS]
    columns = checked or ["true AS done"]
    if guarded and checked:
        holds = " AND ".join(_WRITE_HOLDS[c] for c in checked)
        columns = [*checked, f"1 / CASE WHEN {holds} THEN 1 ELSE 0 END AS holds"]
    return "\n".join([WRITE_PREFIX, *calls, "RETURN " + ", ".join(columns)])


# --- maintenance --------------------------------------------------------------------------

COUNT_BY_LABEL = """
CALL () {
  MATCH (n:Type) RETURN 'types' AS kind, count(n) AS count
  UNION ALL MATCH (n:Artifact) RETURN 'artifacts' AS kind, count(n) AS count
  UNION ALL MATCH (n:Execution) RETURN 'executions' AS kind, count(n) AS count
  UNION ALL MATCH (n:Context) RETURN 'contexts' AS kind, count(n) AS count
  UNION ALL MATCH ()-[e:EVENT]->() RETURN 'events' AS kind, count(e) AS count
  UNION ALL MATCH ()-[e:ATTRIBUTION]->() RETURN 'attributions' AS kind, count(e) AS count
  UNION ALL MATCH ()-[e:ASSOCIATION]->() RETURN 'associations' AS kind, count(e) AS count
  UNION ALL MATCH ()-[e:PARENT_CONTEXT]->() RETURN 'parent_contexts' AS kind, count(e) AS count
}
RETURN kind, count
"""
# Deletes types, nodes and their edges in batches; the schema version and the id
# counters stay, so ids are never handed out twice.
# Edges go first, in batches of their own: a node's DETACH DELETE removes all its edges in
# one transaction, and a pipeline's context can hold millions of attributions.
DELETE_ALL_EDGES_BATCH = """
MATCH ()-[r:EVENT|ATTRIBUTION|ASSOCIATION|PARENT_CONTEXT]->()
WITH r LIMIT $batch
DELETE r
RETURN count(*) AS deleted
"""
DELETE_ALL_BATCH = """
MATCH (n) WHERE n:Type OR n:Artifact OR n:Execution OR n:Context
WITH n LIMIT $batch
DETACH DELETE n
RETURN count(*) AS deleted
"""

# --- export and import (graphmd._export) --------------------------------------------------
# Each export query streams in id order straight from the id indexes (no server-side sort
# of the whole store): nodes by id, edges grouped by their start node's id.

EXPORT_TYPES = "MATCH (n:Type) WHERE n.id IS NOT NULL WITH n ORDER BY n.id RETURN n {.*} AS n"
EXPORT_NODES = {
    label: f"MATCH (n:{label}) WHERE n.id IS NOT NULL WITH n ORDER BY n.id RETURN n {{.*}} AS n"
    for label in NODE_LABELS
}
EXPORT_EVENTS = """
MATCH (a:Artifact) WHERE a.id IS NOT NULL
WITH a ORDER BY a.id
MATCH (a)-[e:EVENT]-(x:Execution)
RETURN e {.*} AS e, a.id AS artifact_id, x.id AS execution_id
ORDER BY artifact_id, e.id
"""
# (record name in the export, start label, relationship, end label)
EXPORT_LINK_KINDS = (
    ("attribution", "Context", "ATTRIBUTION", "Artifact"),
    ("association", "Context", "ASSOCIATION", "Execution"),
    ("parent_context", "Context", "PARENT_CONTEXT", "Context"),
)
EXPORT_LINKS = {
    name: (
        f"MATCH (s:{start}) WHERE s.id IS NOT NULL WITH s ORDER BY s.id "
        f"MATCH (s)-[:{rel}]->(t:{end}) RETURN s.id AS source, t.id AS target ORDER BY source, target"
    )
    for name, start, rel, end in EXPORT_LINK_KINDS
}
# Whether the store holds anything but MLMD's system types (import needs an empty store).
HAS_USER_DATA = """
RETURN EXISTS { MATCH (n) WHERE n:Artifact OR n:Execution OR n:Context }
    OR EXISTS { MATCH (t:Type) WHERE NOT (t.name IN $system_types AND t.version_key = '') } AS has_data
"""
DELETE_SYSTEM_TYPES = "MATCH (t:Type) WHERE t.name IN $system_types AND t.version_key = '' DETACH DELETE t"
# Moves an id counter past ids that were written with explicit values (an import).
ADVANCE_ID_COUNTER = """
MERGE (c:IdCounter {kind: $kind})
ON CREATE SET c.next = $next
SET c.next = CASE WHEN c.next < $next THEN $next ELSE c.next END
"""

# --- lineage ------------------------------------------------------------------------------
# graphmd._lineage assembles one traversal statement from these parts. Besides labels, the
# only text put into it is the hop bound of the variable-length pattern (Cypher takes no
# parameter there; it is a validated int) and node predicates built from fixed fragments,
# filter_query text from graphmd._filter, and parameters.
#
# The traversal is a breadth-first `VarLengthExpand(Pruning, BFS)`: each node is expanded
# once per starting node, so the cost is linear in the nodes and edges visited, however
# many paths (diamonds) lead to them. Its rows are `n, min(length(p))`: each reached node
# with its distance in hops from the nearest starting node.

# Events in the direction of a traversal, as (left, right) of `(from)<left>[:EVENT]<right>(to)`:
# upstream follows the data flow backwards (edges point the way data flows).
LINEAGE_ARROWS = {"UPSTREAM": ("<-", "-"), "DOWNSTREAM": ("-", "->"), "BIDIRECTIONAL": ("-", "-")}
# Whether a traversal may cross `e` leaving node `u`.
LINEAGE_MAY_LEAVE = {"UPSTREAM": "endNode(e) = {u}", "DOWNSTREAM": "startNode(e) = {u}", "BIDIRECTIONAL": "true"}

# How many nodes the lineage of the {label} nodes $ids holds at each distance (one hop: one
# event crossed the way of LINEAGE_ARROWS), the whole lineage walked breadth-first with ids
# only: `graphmd lineage` picks the depth a drawing can hold before reading it in full.
# Grouped by node twice: Neo4j 5.26 plans the first grouping into its breadth-first expand,
# which keeps one row per starting node and node (two models 1 run apart: 199,990 rows for
# 100,000 nodes).
LINEAGE_LEVELS = """
MATCH (s:{label}) WHERE s.id IN $ids
MATCH p = (s){left}[:EVENT*0..]{right}(n)
WITH n, min(length(p)) AS d
WITH n, min(d) AS d
RETURN d, count(n) AS nodes
ORDER BY d
"""
LINEAGE_START_BRANCH = "MATCH (s:{label})\n{match}WITH * WHERE {where}\nRETURN DISTINCT s"
LINEAGE_NO_START_BRANCH = "MATCH (s:{label}) WHERE false RETURN s"
LINEAGE_LISTED_STARTS = (
    "MATCH (s:Artifact)\n{match}WITH * WHERE {where}\nWITH DISTINCT s\n"
    "ORDER BY s.{order} {direction}, s.id {direction}\n{limit}RETURN s"
)
# Ending nodes that expanded nodes reach (only for kinds whose ending nodes are returned).
LINEAGE_ENDING_REACHED = """CALL (*) {{
  UNWIND reached AS r
  WITH * WHERE r.x
  WITH r.n AS from, r.d AS d, starts
  MATCH (from){left}[:EVENT]{right}(z)
  WHERE ({ending_z}) AND NOT z IN starts
  WITH z, min(d) + 1 AS d
  RETURN collect({{n: z, id: z.id, a: z:Artifact, d: d, x: false}}) AS ending_reached
}}"""
LINEAGE_NO_ENDING_REACHED = "WITH *, [] AS ending_reached"
LINEAGE_ID_SET = "CALL () {{\n  MATCH (n:{label})\n  {match}WITH * WHERE {where}\n  RETURN collect(DISTINCT n.id) AS {name}\n}}"

LINEAGE_TRAVERSE = """
CALL () {{
{starts}
}}
WITH collect(s) AS starts
{id_sets}
WITH *{frontier}
CALL (*) {{
  UNWIND {expanded_starts} AS s
  WITH * WHERE NOT ({stop_s})
  MATCH p = (s){left}[:EVENT*0..{max_hops}]{right}(n)
  WHERE all(x IN nodes(p) WHERE {pass_x})
  WITH n, min(length(p)) AS d
  WITH n, n.id AS id, d
  ORDER BY d, id
  RETURN collect({{n: n, id: id, a: n:Artifact, d: d, x: {expanded}}}){limit} AS reached
}}
{ending_reached}
WITH size(starts) AS start_count, {listed_starts} AS listed_starts,
     reached + ending_reached + [s IN starts WHERE {ending_s} | {{n: s, id: s.id, a: s:Artifact, d: 0, x: false}}] AS returned
{tail}"""
# Many starting nodes whose lineages overlap (a BIDIRECTIONAL query from the 10,000 outputs of
# one execution) cost the traversal above the sum of every start's lineage: each start is
# walked on its own (10,000 starts 2 hops apart: 53 s). With more than a few starts and no
# ending nodes, the statement walks none and lists them instead (k 6 rows: id, is an
# Artifact); graphmd._lineage then walks them all at once, a hop a statement
# (LINEAGE_FRONTIER_HOP), and reads the outputs of what it reached (LINEAGE_REACHED).
LINEAGE_FRONTIER_GATE = ", size(starts) > {over} AS frontier"
# The node a map {a (is an Artifact), id} names, as `{node}`, sought by its label's id index.
_NODE_NAMED = """CALL ({key}) {{{{
  MATCH ({node}:Artifact {{{{id: {key}.id}}}}) WHERE {key}.a RETURN {node}
  UNION
  MATCH ({node}:Execution {{{{id: {key}.id}}}}) WHERE NOT {key}.a RETURN {node}
}}}}"""
LINEAGE_FRONTIER_HOP = f"""
UNWIND $frontier AS f
{_NODE_NAMED.format(key="f", node="x")}
MATCH (x){{left}}[:EVENT]{{right}}(y)
RETURN DISTINCT y.id AS id, y:Artifact AS a
"""
LINEAGE_REACHED = f"""
UNWIND $reached AS r
{_NODE_NAMED.format(key="r", node="n")}
WITH collect({{{{n: n, id: r.id, a: r.a, d: r.d, x: r.x}}}}) AS returned
WITH $start_count AS start_count, [] AS listed_starts, returned
{{tail}}"""
# What both traversals end with: the context links, then the rows of each output.
LINEAGE_TAIL = """{links}
CALL (returned, start_count, links, listed_starts) {{
  RETURN 5 AS k, -1 AS d, null AS item, start_count AS owner, null AS a, null AS b, null AS tag
  UNION ALL
  UNWIND listed_starts AS s
  RETURN 6 AS k, 0 AS d, null AS item, s.id AS owner, s:Artifact AS a, null AS b, null AS tag
  UNION ALL
{outputs}
}}
{finish}
"""
# Each returned node is a map {n, id, a (is an Artifact), d (hops), x (expanded)}, so the
# outputs read a node's id and kind from it rather than from the store again.
# The context links of the returned nodes, read once for the outputs that need them (only
# contexts have ATTRIBUTION and ASSOCIATION relationships).
LINEAGE_LINKS = """CALL (returned) {
  UNWIND returned AS r
  WITH r, r.n AS w
  MATCH (c)-[l:ATTRIBUTION|ASSOCIATION]->(w)
  RETURN collect({c: c, b: r.id, tag: type(l)}) AS links
}"""
LINEAGE_NO_LINKS = "WITH *, [] AS links"
# How the rows (k, d, item, owner, a, b, tag) come back. The driver spends more on a record
# than on a row inside a record's list, so rows travel in lists of up to 1,000: the whole
# read's in order, or for a streamed read each distance level's, nearest first (the k 5 row at
# d -1 first). One list for a whole read cost the client more per row the longer it was, and
# the client read nothing until the server had written all of it: the 990,012 rows of a
# 300,000-node read took 4.0 s of client CPU and 10.8 s in all as one list, 1.3 s and 6.1 s
# in lists of 1,000 (dev server, 2-core Intel Xeon VM); a read of 1,643 rows is unchanged.
LINEAGE_FINISH_ALL = """WITH collect([k, d, item, owner, a, b, tag]) AS rows
UNWIND range(0, size(rows) - 1, 1000) AS i
RETURN rows[i..i + 1000] AS rows"""
LINEAGE_FINISH_LEVELS = """WITH k, d, item, owner, a, b, tag
ORDER BY d, k
WITH d, collect([k, d, item, owner, a, b, tag]) AS rows
ORDER BY d
UNWIND range(0, size(rows) - 1, 1000) AS i
RETURN rows[i..i + 1000] AS rows"""
# The outputs: rows (k, d, item, owner, a, b, tag) of each kind the read mask asks for,
# after one row (k 5) holding the number of starting nodes found.
LINEAGE_OUT_NODES = """  UNWIND returned AS r
  WITH r, r.n AS n
  RETURN 0 AS k, r.d AS d, n {.*} AS item, null AS owner, null AS a, null AS b,
         CASE WHEN r.a THEN 'Artifact' ELSE 'Execution' END AS tag"""
# An event is returned when both its ends are and the traversal leaves one of them over
# it; it belongs to the end further from the start (the artifact on a tie).
LINEAGE_OUT_EVENTS = """  UNWIND returned AS r
  WITH r, r.n AS w
  MATCH (w)-[e:EVENT]-()
  WITH e, collect(r) AS ends
  WHERE size(ends) = 2
    AND ((ends[0].x AND {leave0}) OR (ends[1].x AND {leave1}))
  WITH e, ends, CASE WHEN ends[0].d > ends[1].d OR (ends[0].d = ends[1].d AND ends[0].a)
                     THEN ends[0] ELSE ends[1] END AS owner
  RETURN 1 AS k, owner.d AS d, e {{.id, .type, .path, .milliseconds_since_epoch}} AS item, owner.id AS owner,
         CASE WHEN ends[0].a THEN ends[0].id ELSE ends[1].id END AS a,
         CASE WHEN ends[0].a THEN ends[1].id ELSE ends[0].id END AS b,
         null AS tag"""
LINEAGE_OUT_LINKS = """  UNWIND links AS l
  RETURN 2 AS k, null AS d, null AS item, null AS owner, l.c.id AS a, l.b AS b, l.tag AS tag"""
LINEAGE_OUT_CONTEXTS = """  UNWIND links AS l
  WITH DISTINCT l.c AS c
  RETURN 3 AS k, null AS d, c {.*} AS item, null AS owner, null AS a, null AS b, 'Context' AS tag"""
LINEAGE_OUT_TYPES = """  UNWIND returned AS r
  WITH DISTINCT r.n.type_id AS type_id
  MATCH (t:Type {id: type_id})
  RETURN 4 AS k, null AS d, t {.*} AS item, null AS owner, null AS a, null AS b, t.kind AS tag"""
LINEAGE_OUT_CONTEXT_TYPES = """  UNWIND links AS l
  WITH DISTINCT l.c AS c
  WITH DISTINCT c.type_id AS type_id
  MATCH (t:Type {id: type_id})
  RETURN 4 AS k, null AS d, t {.*} AS item, null AS owner, null AS a, null AS b, t.kind AS tag"""

# --- import from ml-metadata (graphmd.mlmd._import) ---------------------------------------
# Which ml-metadata store was (or is being) copied into this database, and whether the copy
# finished: a rerun of the same import resumes; any other import needs an empty store.
MLMD_IMPORT_STATE = "MATCH (m:GraphmdMeta) RETURN m.mlmd_import_source AS source, m.mlmd_import_state AS state"
# An import starts on an empty store (or resumes its own), so a reset that stopped after its
# last deletion is done with: its record goes.
RECORD_MLMD_IMPORT = """
MERGE (m:GraphmdMeta {singleton: true})
SET m.mlmd_import_source = $source, m.mlmd_import_state = $state
REMOVE m.reset_started
"""
# delete_everything records that it runs (it deletes in many transactions), and at its end
# forgets it and both kinds of import (import-mlmd's and graphmd import's).
RECORD_RESET = "MERGE (m:GraphmdMeta {singleton: true}) SET m.reset_started = $started"
FORGET_IMPORTS = """
MATCH (m:GraphmdMeta) REMOVE m.mlmd_import_source, m.mlmd_import_state, m.import_source, m.reset_started
"""
# `graphmd import` records the export it is loading until it finishes (unfinished_import).
RECORD_IMPORT = "MERGE (m:GraphmdMeta {singleton: true}) SET m.import_source = $source REMOVE m.reset_started"
FORGET_IMPORT = "MATCH (m:GraphmdMeta) REMOVE m.import_source"
IMPORT_STATES = """
MATCH (m:GraphmdMeta)
RETURN m.import_source AS import_source, m.mlmd_import_source AS mlmd_import_source,
       m.mlmd_import_state AS mlmd_import_state, m.reset_started AS reset_started,
       EXISTS { MATCH (n) WHERE n:Type OR n:Artifact OR n:Execution OR n:Context } AS holds_records
"""

# --- pipeline helpers (graphmd._pipeline) -------------------------------------------------

# TFX's LatestArtifactsResolver: newest by creation time, then id. Ordered and cut before the
# projection, which would otherwise read every property of every artifact of the type.
# Read newest first from the (type, create time) index until one is in $state (the type is
# one value: ordering by it first changes nothing but lets Neo4j read that index in order):
# sorting the whole type read 800,010 db hits for the newest of 200,000 artifacts; 3,013.
LATEST_ARTIFACT = """
MATCH (a:Artifact {type: $type_name})
USING INDEX SEEK a:Artifact(type, create_time_since_epoch)
WHERE a.create_time_since_epoch IS NOT NULL AND a.state = $state AND $context_id IS NULL
WITH a ORDER BY a.type DESC, a.create_time_since_epoch DESC, a.id DESC LIMIT 1
RETURN a {.*} AS a
"""
# In a context, first among the type's newest $budget (newest first, so the first of them in
# the context and state is the answer): a pipeline's context holds its every run, and its newest
# model is among the type's newest. Reading the whole context to sort it took 47 ms on a
# 10,000-run pipeline (71,000 artifacts). Nothing found there: LATEST_ARTIFACT_IN_CONTEXT.
LATEST_ARTIFACT_AMONG_NEWEST = """
MATCH (a:Artifact {type: $type_name})
USING INDEX SEEK a:Artifact(type, create_time_since_epoch)
WHERE a.create_time_since_epoch IS NOT NULL
WITH a ORDER BY a.type DESC, a.create_time_since_epoch DESC, a.id DESC LIMIT $budget
WITH a WHERE a.state = $state AND EXISTS { MATCH (:Context {id: $context_id})-[:ATTRIBUTION]->(a) }
RETURN a {.*} AS a LIMIT 1
"""
# latest_blessed_model among the model type's newest $budget, newest first: the first with a
# blessing is the answer. What counts as a blessing is cypher/latest_blessed_model.cypher's
# (which reads every blessing: the answer when none of these is blessed); keep the two alike.
# A blessing names its model (p_, then c_current_model_id: the indexes above) or, naming none,
# blesses what its execution read under input key 'model'.
LATEST_BLESSED_MODEL_AMONG_NEWEST = """
MATCH (model:Artifact {type: $model_type})
USING INDEX SEEK model:Artifact(type, create_time_since_epoch)
WHERE model.create_time_since_epoch IS NOT NULL
WITH model ORDER BY model.type DESC, model.create_time_since_epoch DESC, model.id DESC LIMIT $budget
WITH model WHERE model.state = 'LIVE'
  AND ($context_id IS NULL OR EXISTS { MATCH (:Context {id: $context_id})-[:ATTRIBUTION]->(model) })
CALL (model) {
  CALL (model) {
    MATCH (blessing:Artifact) WHERE blessing.p_current_model_id = model.id
    RETURN blessing
    UNION
    MATCH (blessing:Artifact) WHERE blessing.c_current_model_id = model.id AND blessing.p_current_model_id IS NULL
    RETURN blessing
    UNION
    MATCH (model)-[input:EVENT]->(:Execution)-[:EVENT]->(blessing:Artifact)
    WHERE input.path STARTS WITH '["model"'
      AND blessing.p_current_model_id IS NULL AND blessing.c_current_model_id IS NULL
    RETURN blessing
  }
  WITH blessing WHERE blessing.type = $blessing_type
    AND coalesce(blessing.p_blessed, blessing.c_blessed) IN [1, true]
    AND coalesce(blessing.state, 'UNKNOWN') IN ['LIVE', 'UNKNOWN']
  RETURN blessing ORDER BY blessing.create_time_since_epoch DESC, blessing.id DESC LIMIT 1
}
RETURN model, blessing
ORDER BY model.type DESC, model.create_time_since_epoch DESC, model.id DESC
LIMIT 1
"""
# From the context, expanded in a subquery and filtered after: with the type's filter in the
# MATCH, statistics sampled while the store was small had the planner seek every artifact of
# the type and test each for the context (7,409 db hits against 58 on a 400-run history).
LATEST_ARTIFACT_IN_CONTEXT = """
MATCH (c:Context {id: $context_id})
CALL (c) { MATCH (c)-[:ATTRIBUTION]->(a) RETURN a }
WITH a WHERE a:Artifact AND a.type = $type_name AND a.state = $state
WITH a ORDER BY a.create_time_since_epoch DESC, a.id DESC LIMIT 1
RETURN a {.*} AS a
"""
# Of the executions $execution_ids, those associated with every context of $contexts (each
# {id} or, for a context not read back, {type_id, name}): find_cached_execution's scope, as
# TFX scopes its cache to the pipeline's contexts. The ids that no context of $contexts with
# an id names come back apart, so a misspelt id is an error, not a cache miss forever.
EXECUTIONS_IN_CONTEXTS = """
CALL () {
  UNWIND $execution_ids AS xid
  MATCH (x:Execution {id: xid})
  WHERE all(c IN $contexts WHERE EXISTS {
    MATCH (ctx:Context)-[:ASSOCIATION]->(x)
    WHERE CASE WHEN c.id IS NOT NULL THEN ctx.id = c.id ELSE ctx.type_id = c.type_id AND ctx.name = c.name END
  })
  RETURN collect(xid) AS in_scope
}
CALL () {
  UNWIND [c IN $contexts WHERE c.id IS NOT NULL | c.id] AS cid
  OPTIONAL MATCH (ctx:Context {id: cid})
  WITH cid WHERE ctx IS NULL
  RETURN collect(cid) AS missing_context_ids
}
RETURN in_scope, missing_context_ids
"""
# compare_lineage: every node upstream of the artifacts $ids (breadth-first from each, so
# linear in the nodes reached however many paths lead there), once, with the [index in $ids,
# hops] of each compared artifact it is upstream of (the artifacts themselves at 0 hops). Its
# properties come only when the node is within $max_hops of one of them (null: every node),
# the nodes the comparison lists; the rest are needed only as ids. Records of 2,000 nodes,
# so the client decodes one while the next arrive and never holds them all undecoded.
LINEAGE_COMPARISON = """
UNWIND range(0, size($ids) - 1) AS i
MATCH (s:Artifact {id: $ids[i]})
CALL (s) {
  MATCH p = (s)<-[:EVENT*0..]-(n)
  RETURN n, min(length(p)) AS d
}
WITH n, collect([i, d]) AS reach
WITH collect([n:Artifact, n.id, reach,
              CASE WHEN $max_hops IS NULL OR any(r IN reach WHERE r[1] <= $max_hops) THEN n {.*} END]) AS nodes
UNWIND range(0, size(nodes) - 1, 2000) AS k
RETURN nodes[k..k + 2000] AS nodes
"""
# The [kind, name] pairs of $wanted that name no type (lineage selectors' type names).
MISSING_TYPE_NAMES = """
UNWIND $wanted AS w
WITH w WHERE NOT EXISTS { MATCH (:Type {kind: w[0], name: w[1]}) }
RETURN collect(w) AS missing
"""
# Which of $names no type of $kind has in any version (nodes record their type by name
# only), and whether the context $context_id exists (true when null): a helper's None then
# means "nothing there yet", not a misspelt name.
TYPES_AND_CONTEXT_EXIST = """
RETURN [n IN $names WHERE NOT EXISTS { MATCH (:Type {kind: $kind, name: n}) }] AS missing_types,
       $context_id IS NULL OR EXISTS { MATCH (:Context {id: $context_id}) } AS context_found
"""

# The values of a cypher/ query's parameters that name nothing in the store (graphmd._cypher_files).
UNKNOWN_NAMES = """
RETURN [i IN $artifact_ids WHERE NOT EXISTS { MATCH (:Artifact {id: i}) }] AS artifact,
       [n IN $context_names WHERE NOT EXISTS { MATCH (:Context {name: n}) }] AS context,
       [i IN $context_ids WHERE NOT EXISTS { MATCH (:Context {id: i}) }] AS context_id,
       [n IN $execution_types WHERE NOT EXISTS { MATCH (:Type {kind: 'ExecutionType', name: n}) }] AS execution_type,
       [n IN $context_types WHERE NOT EXISTS { MATCH (:Type {kind: 'ContextType', name: n}) }] AS context_type,
       [n IN $artifact_types WHERE NOT EXISTS { MATCH (:Type {kind: 'ArtifactType', name: n}) }] AS artifact_type
"""


# --- pruning runs (graphmd._prune) ----------------------------------------------------------
# Each statement takes ids; PRUNE_LOCK_* write-lock the nodes they return (a property set and
# removed), so no concurrent write can link to them between the plan and the delete.
# Every prune query takes $gone_contexts, $gone_executions and $gone_artifacts: nodes an
# earlier batch of the same dry run would have deleted, which it then treats as gone ([] in a
# real prune, where they are).
PRUNE_CONTEXTS = "MATCH (c:Context) WHERE c.id IN $ids AND NOT c.id IN $gone_contexts RETURN c.id AS id"
# A context another prune deleted while this one waited for its lock comes back without its
# properties: left out.
PRUNE_LOCK_CONTEXTS = """
MATCH (c:Context) WHERE c.id IN $ids
SET c.`_prune_lock` = true REMOVE c.`_prune_lock`
WITH c WHERE c.id IS NOT NULL
RETURN c.id AS id
"""
# The pruned contexts' executions, by context (a context stays while one of them stays).
PRUNE_EXECUTIONS = """
MATCH (c:Context)-[:ASSOCIATION]->(x:Execution) WHERE c.id IN $ids AND NOT x.id IN $gone_executions
RETURN c.id AS context_id, x.id AS id
"""
# The artifacts the candidate executions output (made, or reused by a cache hit), and those of
# the contexts that no execution output, each with the executions that output it as
# [id, CACHED?] (graphmd._prune works out which of them made it).
PRUNE_ARTIFACTS = """
CALL () {
  MATCH (x:Execution)-[:EVENT]->(a:Artifact) WHERE x.id IN $execution_ids RETURN a
  UNION
  MATCH (c:Context)-[:ATTRIBUTION]->(a:Artifact)
  WHERE c.id IN $ids AND NOT EXISTS { MATCH (w:Execution)-[:EVENT]->(a) WHERE NOT w.id IN $gone_executions }
  RETURN a
}
WITH a WHERE NOT a.id IN $gone_artifacts
RETURN a.id AS id, a.state AS state,
       [(w:Execution)-[:EVENT]->(a) WHERE NOT w.id IN $gone_executions
        | [w.id, coalesce(w.last_known_state, '') = 'CACHED']] AS writers
"""
# Locks the candidates; returns those still there (another prune may have deleted some while
# this one waited).
PRUNE_LOCK_NODES = """
CALL () {
  MATCH (a:Artifact) WHERE a.id IN $artifact_ids RETURN a AS n, 'a' AS kind
  UNION
  MATCH (x:Execution) WHERE x.id IN $execution_ids RETURN x AS n, 'x' AS kind
}
SET n.`_prune_lock` = true REMOVE n.`_prune_lock`
WITH n, kind WHERE n.id IS NOT NULL
RETURN kind, n.id AS id
"""
# Data flow at the candidates: out of them (input events artifact -> execution, outputs
# execution -> artifact), and into a candidate artifact from an execution that is not one (a
# later cache hit that output the model, say): that artifact must stay with its writer.
# graphmd._prune reads an output of an execution that did not make the artifact (a cache
# hit's) as data flowing the other way, as into a step that read it.
PRUNE_FLOW = """
CALL () {
  MATCH (a:Artifact)-[:EVENT]->(x:Execution) WHERE a.id IN $artifact_ids AND NOT x.id IN $gone_executions
  RETURN 'a' AS from_kind, a.id AS from_id, 'x' AS to_kind, x.id AS to_id
  UNION
  MATCH (x:Execution)-[:EVENT]->(a:Artifact) WHERE x.id IN $execution_ids AND NOT a.id IN $gone_artifacts
  RETURN 'x' AS from_kind, x.id AS from_id, 'a' AS to_kind, a.id AS to_id
  UNION
  MATCH (x:Execution)-[:EVENT]->(a:Artifact)
  WHERE a.id IN $artifact_ids AND NOT x.id IN $execution_ids AND NOT x.id IN $gone_executions
  RETURN 'x' AS from_kind, x.id AS from_id, 'a' AS to_kind, a.id AS to_id
}
RETURN from_kind, from_id, to_kind, to_id
"""
# Members the pruned contexts share with a context of the same type that stays (an execution
# two runs both hold): they stay with it.
PRUNE_SHARED = """
MATCH (c:Context)-[:ATTRIBUTION|ASSOCIATION]->(n)<-[:ATTRIBUTION|ASSOCIATION]-(other:Context)
WHERE c.id IN $ids AND NOT other.id IN $ids AND NOT other.id IN $gone_contexts AND other.type_id = c.type_id
RETURN DISTINCT CASE WHEN n:Artifact THEN 'a' ELSE 'x' END AS kind, n.id AS id
"""
# The pruned contexts' child contexts (a context stays while a child of it stays).
PRUNE_CHILDREN = """
MATCH (child:Context)-[:PARENT_CONTEXT]->(c:Context) WHERE c.id IN $ids AND NOT child.id IN $gone_contexts
RETURN c.id AS parent, child.id AS child
"""
PRUNE_DELETE = """
CALL () {
  MATCH (a:Artifact) WHERE a.id IN $artifact_ids RETURN a AS n
  UNION
  MATCH (x:Execution) WHERE x.id IN $execution_ids RETURN x AS n
  UNION
  MATCH (c:Context) WHERE c.id IN $context_ids RETURN c AS n
}
DETACH DELETE n
RETURN count(n) AS deleted
"""
