// Compare runs: for each run, the properties of its executions (hyperparameters) and of
// the metrics artifacts its executions wrote: of a type of base METRICS, TFX's ModelEvaluation
// or Kubeflow's system.Metrics, system.ClassificationMetrics, system.SlicedClassificationMetrics
// (neither declares a base type). Each list in id order. An INTERNAL_OUTPUT is no output of the
// run's: TFX's Resolver and Importer record what they resolved (an earlier run's blessing or
// evaluation) so.
// Then what decided between the runs' models (a ModelBlessing has no METRICS base type, so the
// metrics leave it out): blessings, one per Evaluator of the run (an execution of type Evaluator
// or TFX's tfx.components.evaluator.component.Evaluator, of a type of base EVALUATE, or any that
// wrote a ModelBlessing) and
// blessing it wrote: blessed (blessed = 1 or true, a property or, as TFX records it, a custom
// one; null: the Evaluator wrote no blessing, it FAILED say) and the baseline it compared with
// (its input 'baseline_model', else the blessing's baseline_model_id; null: none). And pushes,
// one per Pusher of the run (type Pusher or ...Pusher, or of base DEPLOY) and artifact it wrote: pushed (a
// PushedModel marked pushed = 0, which TFX's Pusher writes for a model it did not push, is no
// push, nor is a CACHED Pusher's, which reused an earlier push), where (pushed_destination, else
// the artifact's uri) and when (the pushed artifact's creation, ms since the epoch), and the
// model it read when executions of other runs wrote that model and none of this run's did (a
// rollback re-deploying an older model; null: the run's own model, one no execution wrote, or
// none read).
// No rows: no run of those names is of that type.
// Parameters: $run_type (the run context type, e.g. 'PipelineRun'), $runs (run names).
// In Neo4j Browser first run:
//   :param run_type => 'PipelineRun'
//   :param runs => ['run-0007', 'run-0008']
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/compare_runs.cypher in a clone):
//   graphmd cypher-shell -f compare_runs -P "{run_type: 'PipelineRun', runs: ['run-0007', 'run-0008']}"
UNWIND $runs AS run_name
MATCH (run:Context {name: run_name})
WHERE run.type = $run_type
CALL (run) {
  MATCH (run)-[:ASSOCIATION]->(x:Execution)
  WITH x ORDER BY x.id
  RETURN collect(x) AS executions
}
CALL (run) {
  MATCH (run)-[:ASSOCIATION]->(:Execution)-[out:EVENT]->(m:Artifact)
  WHERE out.type <> 'INTERNAL_OUTPUT'
  MATCH (t:Type {id: m.type_id})
  WHERE t.base_type = 'METRICS' OR t.name IN ['ModelEvaluation', 'system.Metrics', 'system.ClassificationMetrics',
                                             'system.SlicedClassificationMetrics']
  WITH DISTINCT m ORDER BY m.id
  RETURN collect(m) AS metrics
}
CALL (run) {
  MATCH (run)-[:ASSOCIATION]->(evaluator:Execution)
  WHERE evaluator.type = 'Evaluator' OR evaluator.type ENDS WITH '.Evaluator'
     OR EXISTS { MATCH (t:Type {id: evaluator.type_id}) WHERE t.base_type = 'EVALUATE' }
     OR EXISTS { (evaluator)-[out:EVENT]->(:Artifact {type: 'ModelBlessing'}) WHERE out.type <> 'INTERNAL_OUTPUT' }
  OPTIONAL MATCH (evaluator)-[wrote:EVENT]->(blessing:Artifact {type: 'ModelBlessing'})
  WHERE wrote.type <> 'INTERNAL_OUTPUT'
  CALL (evaluator, blessing) {
    OPTIONAL MATCH (evaluator)<-[input:EVENT]-(read:Artifact)
    WHERE input.path STARTS WITH '["baseline_model"'
    OPTIONAL MATCH (named:Artifact {id: coalesce(blessing.c_baseline_model_id, blessing.p_baseline_model_id)})
    WITH coalesce(read, named) AS baseline ORDER BY baseline.id
    RETURN collect(baseline)[0] AS baseline
  }
  WITH evaluator, blessing, baseline ORDER BY evaluator.id, blessing.id
  RETURN collect({evaluator: evaluator, blessing: blessing, baseline: baseline,
                  blessed: CASE WHEN blessing IS NOT NULL
                                THEN coalesce(coalesce(blessing.p_blessed, blessing.c_blessed) IN [1, true], false) END})
         AS blessings
}
CALL (run) {
  MATCH (run)-[:ASSOCIATION]->(pusher:Execution)
  WHERE pusher.type = 'Pusher' OR pusher.type ENDS WITH '.Pusher'
     OR EXISTS { MATCH (t:Type {id: pusher.type_id}) WHERE t.base_type = 'DEPLOY' }
  OPTIONAL MATCH (pusher)-[:EVENT]->(pushed_model:Artifact)
  CALL (run, pusher) {
    OPTIONAL MATCH (pusher)<-[input:EVENT]-(read:Artifact)
    WHERE input.type IN ['INPUT', 'DECLARED_INPUT']
      AND (input.path STARTS WITH '["model"' OR EXISTS { MATCH (t:Type {id: read.type_id}) WHERE t.base_type = 'MODEL' })
      AND EXISTS { (:Execution)-[made:EVENT]->(read) WHERE made.type = 'OUTPUT' }
      AND NOT EXISTS { (run)-[:ASSOCIATION]->(:Execution)-[made:EVENT]->(read) WHERE made.type = 'OUTPUT' }
    WITH read ORDER BY read.id
    RETURN collect(read)[0] AS other_runs_model
  }
  WITH pusher, pushed_model, other_runs_model,
       pushed_model IS NOT NULL AND coalesce(pusher.last_known_state, '') <> 'CACHED'
         AND NOT coalesce(pushed_model.c_pushed, pushed_model.p_pushed, 1) IN [0, false] AS pushed
  ORDER BY pusher.id, pushed_model.id
  RETURN collect({pusher: pusher, pushed_model: pushed_model, pushed: pushed, other_runs_model: other_runs_model,
                  pushed_to: CASE WHEN pushed THEN coalesce(pushed_model.p_pushed_destination,
                                                            pushed_model.c_pushed_destination, pushed_model.uri) END,
                  pushed_at_ms: CASE WHEN pushed THEN pushed_model.create_time_since_epoch END}) AS pushes
}
RETURN run.name AS run, executions, metrics, blessings, pushes;
