// How was the training environment configured? The settings recorded on the execution
// that trained the model (custom properties: image, versions, accelerator...) and its
// module file, one row each; an unnamed model or Trainer (or a Trainer named by a UUID, as TFX
// names each execution) as its type and id ('Trainer #42').
// A CACHED execution (a later step that reused the model) trained nothing and is left out, as
// is one that wrote it as an INTERNAL_OUTPUT (TFX's Importer and Resolver). Each value comes
// with its value_type (INT, DOUBLE, STRING, BOOLEAN, STRUCT or PROTO): a STRUCT or PROTO value
// is the JSON text graphmd stores, which `graphmd query` prints decoded.
// No rows: no execution wrote the model, or it recorded neither.
// Parameters: $model_id (the model artifact's id). In Neo4j Browser first run:
//   :param model_id => 42
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/training_environment.cypher in a clone):
//   graphmd cypher-shell -f training_environment -P "{model_id: 42}"
MATCH (model:Artifact {id: $model_id})<-[out:EVENT]-(trainer:Execution)
WHERE coalesce(trainer.last_known_state, '') <> 'CACHED' AND out.type <> 'INTERNAL_OUTPUT'
UNWIND [k IN keys(trainer) WHERE k =~ 'c[sp]?_.*' OR k = 'p_module_file'] AS key
RETURN coalesce(model.name, model.type + ' #' + toString(model.id)) AS model,
       CASE WHEN trainer.name IS NULL OR trainer.name =~ '(?i)[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'
         THEN trainer.type + ' #' + toString(trainer.id) ELSE trainer.name END AS trainer,
       CASE WHEN key =~ '[pc]_.*' THEN substring(key, 2) ELSE substring(key, 3) END AS setting, trainer[key] AS value,
       CASE WHEN key =~ '[pc]s_.*' THEN 'STRUCT' WHEN key =~ '[pc]p_.*' THEN 'PROTO'
            WHEN trainer[key] IS :: BOOLEAN THEN 'BOOLEAN' WHEN trainer[key] IS :: INTEGER THEN 'INT'
            WHEN trainer[key] IS :: FLOAT THEN 'DOUBLE' WHEN trainer[key] IS :: STRING THEN 'STRING' END AS value_type
ORDER BY trainer, setting;
