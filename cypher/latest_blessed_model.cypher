// Newest blessed model: the newest LIVE model (by creation time, then id) that an Evaluator
// blessed, with the blessing that says so (the newest, when several did), among all models or
// those of one context (a pipeline, a run): TFX's latest blessed model, a baseline to evaluate
// against or a model to warm-start from.
// A blessing is an artifact of the blessing type, LIVE or with no state, whose blessed is 1 (a
// property or, as TFX records it, a custom one). It blesses the model its current_model_id
// names (as TFX's Evaluator records it) or, without one, the model the execution that wrote it
// read under input key 'model' (not 'baseline_model'). A blessing of 0 blesses nothing, nor does
// it take back an earlier blessing of the same model.
// No rows: no LIVE model of that type (in that context) is blessed.
// This reads every blessing of the store. graphmd's latest_blessed_model() first asks the newest
// models of the type for theirs (graphmd/_queries.py, LATEST_BLESSED_MODEL_AMONG_NEWEST: the
// same answer, in time that does not grow with the runs) and runs this when none is blessed.
// Parameters: $model_type (the model artifact type, e.g. 'Model'), $blessing_type (the blessing
// artifact type, e.g. 'ModelBlessing'), $context_id (a context's id; null for every model).
// In Neo4j Browser first run:
//   :param model_type => 'Model'
//   :param blessing_type => 'ModelBlessing'
//   :param context_id => null
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/latest_blessed_model.cypher in a clone):
//   graphmd cypher-shell -f latest_blessed_model -P "{model_type: 'Model', blessing_type: 'ModelBlessing', context_id: null}"
MATCH (blessing:Artifact {type: $blessing_type})
WHERE coalesce(blessing.p_blessed, blessing.c_blessed) IN [1, true]
  AND coalesce(blessing.state, 'UNKNOWN') IN ['LIVE', 'UNKNOWN']
CALL (blessing) {
  WITH coalesce(blessing.p_current_model_id, blessing.c_current_model_id) AS named
  WHERE named IS NOT NULL
  MATCH (model:Artifact {id: named})
  RETURN model
  UNION
  WITH blessing
  WHERE coalesce(blessing.p_current_model_id, blessing.c_current_model_id) IS NULL
  MATCH (model:Artifact)-[input:EVENT]->(:Execution)-[:EVENT]->(blessing)
  WHERE input.path STARTS WITH '["model"'
  RETURN model
}
WITH model, blessing
WHERE model.type = $model_type AND model.state = 'LIVE'
  AND ($context_id IS NULL OR EXISTS { MATCH (:Context {id: $context_id})-[:ATTRIBUTION]->(model) })
RETURN model, blessing
ORDER BY model.create_time_since_epoch DESC, model.id DESC,
         blessing.create_time_since_epoch DESC, blessing.id DESC
LIMIT 1;
