// Compare runs: for each run, the properties of its executions (hyperparameters) and of
// the metrics artifacts (types of base METRICS) its executions wrote.
// No rows: no run of those names is of that type.
// Parameters: $run_type (the run context type, e.g. 'PipelineRun'), $runs (run names).
// In Neo4j Browser first run:
//   :param run_type => 'PipelineRun'
//   :param runs => ['run-0007', 'run-0008']
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j):
//   graphmd cypher-shell -f cypher/compare_runs.cypher -P "{run_type: 'PipelineRun', runs: ['run-0007', 'run-0008']}"
UNWIND $runs AS run_name
MATCH (run:Context {name: run_name})
WHERE run.type = $run_type
CALL (run) {
  MATCH (run)-[:ASSOCIATION]->(x:Execution)
  RETURN collect(x) AS executions
}
CALL (run) {
  MATCH (run)-[:ASSOCIATION]->(:Execution)-[:EVENT]->(m:Artifact)
  MATCH (t:Type {id: m.type_id})
  WHERE t.base_type = 'METRICS'
  RETURN collect(DISTINCT m) AS metrics
}
RETURN run.name AS run, executions, metrics;
