// Lineage upstream: everything an artifact was made from (a model back to its data).
// Parameters: $artifact_id (the artifact's id), $max_hops (a hop is one artifact-execution
// step; null for no limit). In Neo4j Browser first run:
//   :param artifact_id => 42
//   :param max_hops => null
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/lineage_upstream.cypher in a clone):
//   graphmd cypher-shell -f lineage_upstream -P "{artifact_id: 42, max_hops: null}"
// Returns the nodes, their distances in hops and the events the traversal crossed (no row: no
// artifact has that id, or $max_hops is negative); Browser draws nodes and events as a graph.
// graphmd's get_lineage_subgraph with direction UPSTREAM returns the same nodes and events.
// The walk is breadth-first: each node is visited once, however many paths lead to it (they
// double with every run whose Trainer reads the two models before it), so what it reads
// follows the nodes it reaches. Up to 100 hops it goes one hop at a time and stops at
// $max_hops. With no limit, or a longer one, it is Neo4j's breadth-first expansion, whose
// bound Cypher takes as a number only: $max_hops then cuts the answer, not the walk; to stop
// the walk at, say, 300 hops, write *0..300 for the *0.. below (graphmd query does).
MATCH (start:Artifact {id: $artifact_id})
CALL (start) {
  WITH start WHERE $max_hops IS NULL OR $max_hops > 100
  MATCH p = (start)<-[:EVENT*0..]-(n)
  RETURN n, min(length(p)) AS hops
  UNION ALL
  // One hop at a time: the nodes one hop from the last level that no level holds yet.
  WITH start WHERE $max_hops <= 100
  WITH reduce(walk = {seen: [], levels: [[start]]}, i IN range(1, $max_hops) |
         CASE WHEN last(walk.levels) = [] THEN walk ELSE
           {seen: walk.seen + last(walk.levels),
            levels: walk.levels + [COLLECT { UNWIND last(walk.levels) AS x
                                             MATCH (x)<-[:EVENT]-(y)
                                             WHERE NOT y IN walk.seen AND NOT y IN last(walk.levels)
                                             RETURN DISTINCT y }]} END) AS walk
  UNWIND range(0, size(walk.levels) - 1) AS hops
  UNWIND walk.levels[hops] AS n
  RETURN n, hops
}
WITH n, hops
WHERE $max_hops IS NULL OR hops <= $max_hops
WITH collect(n) AS nodes, collect(CASE WHEN $max_hops IS NULL OR hops < $max_hops THEN n END) AS expanded,
     collect({id: n.id, kind: labels(n)[0], hops: hops}) AS distances
WHERE size(nodes) > 0  // no such artifact: no row
CALL (nodes, expanded) {
  UNWIND expanded AS x
  MATCH (y)-[e:EVENT]->(x)
  WHERE y IN nodes
  RETURN collect(e) AS events
}
RETURN nodes, events, distances;
