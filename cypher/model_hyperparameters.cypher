// Which hyperparameters trained this model? The properties of the execution that wrote
// the model (its Trainer), one row each, and the model it warm-started from.
// Parameters: $model_id (the model artifact's id). In Neo4j Browser first run:
//   :param model_id => 42
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j):
//   graphmd cypher-shell -f cypher/model_hyperparameters.cypher -P "{model_id: 42}"
MATCH (model:Artifact {id: $model_id})<-[:EVENT]-(trainer:Execution)
OPTIONAL MATCH (base:Artifact)-[b:EVENT]->(trainer)
WHERE b.path STARTS WITH '["base_model"'
WITH model, trainer, base
UNWIND [k IN keys(trainer) WHERE k STARTS WITH 'p_'] AS key
RETURN model.name AS model, trainer.name AS trainer, substring(key, 2) AS hyperparameter,
       trainer[key] AS value, base.name AS warm_started_from
ORDER BY hyperparameter
