// Lineage downstream: everything made from an artifact (impact analysis of a dataset).
// Parameters: $artifact_id (the artifact's id), $max_hops (a hop is one artifact-execution
// step; null for no limit). In Neo4j Browser first run:
//   :param artifact_id => 42
//   :param max_hops => null
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j):
//   graphmd cypher-shell -f cypher/lineage_downstream.cypher -P "{artifact_id: 42, max_hops: null}"
// Returns the nodes, their distances in hops and the events the traversal crossed (no row: no
// artifact has that id); Browser draws nodes and events as a graph. The expansion is breadth-first: each node is visited
// once, however many paths lead to it. graphmd's get_lineage_subgraph with direction
// DOWNSTREAM returns the same nodes and events.
// $max_hops bounds the answer; to bound the work too on a long history, write the count into
// the pattern as well (Cypher takes no parameter there): *0..6 for 6 hops. graphmd query does.
MATCH p = (start:Artifact {id: $artifact_id})-[:EVENT*0..]->(n)
WITH n, min(length(p)) AS hops
WHERE $max_hops IS NULL OR hops <= $max_hops
WITH collect(n) AS nodes, collect(CASE WHEN $max_hops IS NULL OR hops < $max_hops THEN n END) AS expanded,
     collect({id: n.id, kind: labels(n)[0], hops: hops}) AS distances
WHERE size(nodes) > 0  // no such artifact: no row
CALL (nodes, expanded) {
  UNWIND expanded AS x
  MATCH (x)-[e:EVENT]->(y)
  WHERE y IN nodes
  RETURN collect(e) AS events
}
RETURN nodes, events, distances;
