// Who triggered this run? The run's context (type PipelineRun, TFX's pipeline_run or KFP's
// system.PipelineRun), who started it and how (its triggered_by and trigger, properties or
// custom ones: record them on the run context, as graphmd's demo does; TFX and Kubeflow record
// neither), and the executions it holds (by name, in the order they were recorded: by creation
// time, then id, since concurrent steps take ids from blocks of their own; an unnamed one, or one
// named by a UUID as TFX names each, as its type and id, e.g. 'Trainer #42').
// One row per run of that name (run_type says which type; two types may share a name).
// No rows: the context of that name is no run (of none of those types).
// Parameters: $run_name (the run context's name). In Neo4j Browser first run:
//   :param run_name => 'run-0007'
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/who_triggered_run.cypher in a clone):
//   graphmd cypher-shell -f who_triggered_run -P "{run_name: 'run-0007'}"
MATCH (run:Context {name: $run_name})
WHERE run.type IN ['PipelineRun', 'pipeline_run', 'system.PipelineRun']
OPTIONAL MATCH (run)-[:ASSOCIATION]->(x:Execution)
WITH run, x ORDER BY x.create_time_since_epoch, x.id
RETURN run.name AS run, run.type AS run_type, coalesce(run.p_triggered_by, run.c_triggered_by) AS triggered_by,
       coalesce(run.p_trigger, run.c_trigger) AS trigger,
       datetime({epochMillis: run.create_time_since_epoch}) AS started,
       collect(CASE WHEN x.name IS NULL OR x.name =~ '(?i)[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'
                 THEN x.type + ' #' + toString(x.id) ELSE x.name END + ' (' + coalesce(x.last_known_state, 'UNKNOWN') + ')')
         AS executions;
