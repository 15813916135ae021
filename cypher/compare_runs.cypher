// Compare runs: for each run, the properties of its executions (hyperparameters) and of
// the metrics artifacts its executions wrote: of a type of base METRICS, TFX's ModelEvaluation
// or Kubeflow's system.Metrics, system.ClassificationMetrics, system.SlicedClassificationMetrics
// (neither declares a base type). Each list in id order.
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
  WITH x ORDER BY x.id
  RETURN collect(x) AS executions
}
CALL (run) {
  MATCH (run)-[:ASSOCIATION]->(:Execution)-[:EVENT]->(m:Artifact)
  MATCH (t:Type {id: m.type_id})
  WHERE t.base_type = 'METRICS' OR t.name IN ['ModelEvaluation', 'system.Metrics', 'system.ClassificationMetrics',
                                             'system.SlicedClassificationMetrics']
  WITH DISTINCT m ORDER BY m.id
  RETURN collect(m) AS metrics
}
RETURN run.name AS run, executions, metrics;
