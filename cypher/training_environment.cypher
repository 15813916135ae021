// How was the training environment configured? The settings recorded on the execution
// that trained the model (custom properties: image, versions, accelerator...) and its
// module file, one row each; an unnamed model or Trainer as its type and id ('Trainer #42').
// A CACHED execution (a later step that reused the model) trained nothing and is left out.
// No rows: no execution wrote the model, or it recorded neither.
// Parameters: $model_id (the model artifact's id). In Neo4j Browser first run:
//   :param model_id => 42
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j):
//   graphmd cypher-shell -f cypher/training_environment.cypher -P "{model_id: 42}"
MATCH (model:Artifact {id: $model_id})<-[:EVENT]-(trainer:Execution)
WHERE coalesce(trainer.last_known_state, '') <> 'CACHED'
UNWIND [k IN keys(trainer) WHERE k STARTS WITH 'c_' OR k = 'p_module_file'] AS key
RETURN coalesce(model.name, model.type + ' #' + toString(model.id)) AS model,
       coalesce(trainer.name, trainer.type + ' #' + toString(trainer.id)) AS trainer, substring(key, 2) AS setting, trainer[key] AS value
ORDER BY setting;
