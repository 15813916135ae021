// Why was model A preferred over model B? For each model: the metrics its Evaluator wrote
// (properties and custom properties; TFX keeps its metrics in files, not in the store),
// whether it was blessed (blessed = 1 or true, a property or, as TFX records it, a custom one) and
// against which baseline, and whether it was pushed. An unnamed model or baseline shows as
// its type and id ('Model #42'); baseline null: none; blessed false: no blessing recorded.
// One row per COMPLETE Evaluator that read the model (named in the evaluator column) and
// metrics artifact it wrote; a CACHED, FAILED or RUNNING one evaluated nothing new.
// Evaluator and Pusher match graphmd's type names and TFX's (tfx.components.evaluator.component.
// Evaluator, ...); metrics and blessings are TFX's ModelEvaluation and ModelBlessing artifacts.
// A PushedModel marked pushed = 0 (TFX's Pusher writes one for a model it did not push) is no push.
// Parameters: $model_a, $model_b (model artifact ids). In Neo4j Browser first run:
//   :param model_a => 42
//   :param model_b => 43
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j):
//   graphmd cypher-shell -f cypher/why_model_preferred.cypher -P "{model_a: 42, model_b: 43}"
UNWIND [$model_a, $model_b] AS model_id
MATCH (model:Artifact {id: model_id})
OPTIONAL MATCH (model)-[input:EVENT]->(evaluator:Execution)
WHERE (evaluator.type = 'Evaluator' OR evaluator.type ENDS WITH '.Evaluator') AND input.path STARTS WITH '["model"'
  AND coalesce(evaluator.last_known_state, 'COMPLETE') = 'COMPLETE'
OPTIONAL MATCH (evaluator)-[:EVENT]->(metrics:Artifact)
WHERE metrics.type = 'ModelEvaluation'
OPTIONAL MATCH (evaluator)-[:EVENT]->(blessing:Artifact)
WHERE blessing.type = 'ModelBlessing'
OPTIONAL MATCH (evaluator)<-[baseline_input:EVENT]-(baseline:Artifact)
WHERE baseline_input.path STARTS WITH '["baseline_model"'
RETURN model.id AS model_id, coalesce(model.name, model.type + ' #' + toString(model.id)) AS model,
       coalesce(evaluator.name, evaluator.type + ' #' + toString(evaluator.id)) AS evaluator,
       [k IN keys(metrics) WHERE k =~ '[pc][sp]?_.*'
        | [CASE WHEN k =~ '[pc]_.*' THEN substring(k, 2) ELSE substring(k, 3) END, metrics[k]]] AS metrics,
       coalesce(coalesce(blessing.p_blessed, blessing.c_blessed) IN [1, true], false) AS blessed,
       coalesce(baseline.name, baseline.type + ' #' + toString(baseline.id)) AS baseline,
       EXISTS { (model)-[:EVENT]->(p:Execution)-[:EVENT]->(pm:Artifact)
               WHERE (p.type = 'Pusher' OR p.type ENDS WITH '.Pusher') AND coalesce(p.last_known_state, '') <> 'CACHED'
                 AND NOT coalesce(pm.c_pushed, pm.p_pushed, 1) IN [0, false] } AS pushed;
