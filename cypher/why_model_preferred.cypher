// Why was model A preferred over model B? For each model: the metrics its Evaluator wrote
// (properties and custom properties, but not TFX's bookkeeping on every artifact, is_external
// and tfx_version; TFX keeps its metrics in files, not in the store),
// whether it was blessed (blessed = 1 or true, a property or, as TFX records it, a custom one) and
// against which baseline, and whether it was pushed. An unnamed model or baseline shows as
// its type and id ('Model #42'), as does an Evaluator named by a UUID (TFX names each execution
// so); baseline null: none; blessed false: no blessing recorded.
// blessed is what the Evaluator recorded; blessing_state is the blessing's state now: one no
// longer LIVE (marked DELETED, say) no longer counts for latest_blessed_model.
// One row per COMPLETE Evaluator that read the model (named in the evaluator column) and
// metrics artifact it wrote; a CACHED, FAILED or RUNNING one evaluated nothing new. Model A's
// rows first, then B's, each model's in the order of its Evaluators' ids; metrics by name.
// Evaluator and Pusher match graphmd's type names and TFX's (tfx.components.evaluator.component.
// Evaluator, ...) and any execution type of base EVALUATE or DEPLOY (MLMD's base types, for a
// home-grown pipeline's steps); an Evaluator is also any step that wrote a ModelBlessing (a
// custom TFX component), as compare_runs reads them; metrics are artifacts of a type of base METRICS, TFX's
// ModelEvaluation or Kubeflow's system.Metrics, system.ClassificationMetrics,
// system.SlicedClassificationMetrics (as compare_runs reads them); blessings TFX's ModelBlessing.
// A PushedModel marked pushed = 0 (TFX's Pusher writes one for a model it did not push) is no push.
// Parameters: $model_a, $model_b (model artifact ids). In Neo4j Browser first run:
//   :param model_a => 42
//   :param model_b => 43
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/why_model_preferred.cypher in a clone):
//   graphmd cypher-shell -f why_model_preferred -P "{model_a: 42, model_b: 43}"
UNWIND [0, 1] AS side
MATCH (model:Artifact {id: [$model_a, $model_b][side]})
OPTIONAL MATCH (model)-[input:EVENT]->(x:Execution)
WHERE (x.type = 'Evaluator' OR x.type ENDS WITH '.Evaluator'
       OR EXISTS { MATCH (t:Type {id: x.type_id}) WHERE t.base_type = 'EVALUATE' }
       OR EXISTS { (x)-[out:EVENT]->(:Artifact {type: 'ModelBlessing'}) WHERE out.type <> 'INTERNAL_OUTPUT' })
  AND input.path STARTS WITH '["model"'
  AND coalesce(x.last_known_state, 'COMPLETE') = 'COMPLETE'
OPTIONAL MATCH (x)-[:EVENT]->(evaluation:Artifact)
WHERE evaluation.type IN ['ModelEvaluation', 'system.Metrics', 'system.ClassificationMetrics',
                          'system.SlicedClassificationMetrics']
   OR EXISTS { MATCH (t:Type {id: evaluation.type_id}) WHERE t.base_type = 'METRICS' }
OPTIONAL MATCH (x)-[:EVENT]->(blessing:Artifact)
WHERE blessing.type = 'ModelBlessing'
OPTIONAL MATCH (x)<-[baseline_input:EVENT]-(compared_with:Artifact)
WHERE baseline_input.path STARTS WITH '["baseline_model"'
RETURN model.id AS model_id, coalesce(model.name, model.type + ' #' + toString(model.id)) AS model,
       CASE WHEN x.name IS NULL OR x.name =~ '(?i)[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'
         THEN x.type + ' #' + toString(x.id) ELSE x.name END AS evaluator,
       CASE WHEN evaluation IS NOT NULL THEN COLLECT {
         UNWIND keys(evaluation) AS k
         WITH k WHERE k =~ '[pc][sp]?_.*' AND NOT k IN ['c_is_external', 'c_tfx_version']
         WITH k, CASE WHEN k =~ '[pc]_.*' THEN substring(k, 2) ELSE substring(k, 3) END AS name
         RETURN [name, evaluation[k]] ORDER BY name, k DESC
       } END AS metrics,
       coalesce(coalesce(blessing.p_blessed, blessing.c_blessed) IN [1, true], false) AS blessed,
       blessing.state AS blessing_state,
       coalesce(compared_with.name, compared_with.type + ' #' + toString(compared_with.id)) AS baseline,
       EXISTS { (model)-[:EVENT]->(p:Execution)-[:EVENT]->(pm:Artifact)
               WHERE (p.type = 'Pusher' OR p.type ENDS WITH '.Pusher'
                      OR EXISTS { MATCH (t:Type {id: p.type_id}) WHERE t.base_type = 'DEPLOY' })
                 AND coalesce(p.last_known_state, '') <> 'CACHED'
                 AND NOT coalesce(pm.c_pushed, pm.p_pushed, 1) IN [0, false] } AS pushed
ORDER BY side, x.id, evaluation.id, blessing.id, compared_with.id;
