// Which data and hyperparameters trained this model? The execution that wrote the model (its
// Trainer; an unnamed one, or one named by a UUID as TFX names each, as its type and id, e.g.
// 'Trainer #42'), the artifacts it read with
// their input keys (trained_on), the model it warm-started from, and its properties, one row
// each: declared ones first, then custom ones (custom: true; TFX records a component's
// parameters as custom properties unless its type declares them). A Trainer without
// properties gives one row, its hyperparameter null. A CACHED execution (a later step that
// reused the model) trained nothing and is left out, as is one that wrote it as an
// INTERNAL_OUTPUT (TFX's Importer and Resolver). Each value comes with its value_type (INT,
// DOUBLE, STRING, BOOLEAN, STRUCT or PROTO): a STRUCT or PROTO value is the JSON text graphmd
// stores, which `graphmd query` prints decoded. No rows: no execution wrote the model.
// Parameters: $model_id (the model artifact's id). In Neo4j Browser first run:
//   :param model_id => 42
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/model_hyperparameters.cypher in a clone):
//   graphmd cypher-shell -f model_hyperparameters -P "{model_id: 42}"
MATCH (model:Artifact {id: $model_id})<-[out:EVENT]-(trainer:Execution)
WHERE coalesce(trainer.last_known_state, '') <> 'CACHED' AND out.type <> 'INTERNAL_OUTPUT'
CALL (trainer) {
  MATCH (input:Artifact)-[e:EVENT]->(trainer)
  WITH input, e ORDER BY e.path, input.id
  RETURN collect(CASE WHEN e.path STARTS WITH '["' THEN split(substring(e.path, 2), '"')[0] + ': ' ELSE '' END
                 + input.type + ' #' + toString(input.id) + coalesce(' ' + input.name, '')
                 + coalesce(' (' + input.uri + ')', '')) AS trained_on,
         head(collect(CASE WHEN e.path STARTS WITH '["base_model"' THEN coalesce(input.name, input.uri) END))
           AS warm_started_from
}
WITH model, trainer, trained_on, warm_started_from,
     [k IN keys(trainer) WHERE k STARTS WITH 'p_' OR k STARTS WITH 'ps_' OR k STARTS WITH 'pp_'
        OR k STARTS WITH 'c_' OR k STARTS WITH 'cs_' OR k STARTS WITH 'cp_'] AS stored
UNWIND CASE WHEN stored = [] THEN [null] ELSE stored END AS key
WITH model, trainer, trained_on, warm_started_from, key, key STARTS WITH 'c' AS custom,
     CASE WHEN key STARTS WITH 'p_' OR key STARTS WITH 'c_' THEN substring(key, 2) ELSE substring(key, 3) END AS name
ORDER BY trainer.id, custom, name
RETURN coalesce(model.name, model.type + ' #' + toString(model.id)) AS model,
       CASE WHEN trainer.name IS NULL OR trainer.name =~ '(?i)[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'
         THEN trainer.type + ' #' + toString(trainer.id) ELSE trainer.name END AS trainer,
       name AS hyperparameter, trainer[key] AS value,
       CASE WHEN key =~ '[pc]s_.*' THEN 'STRUCT' WHEN key =~ '[pc]p_.*' THEN 'PROTO'
            WHEN trainer[key] IS :: BOOLEAN THEN 'BOOLEAN' WHEN trainer[key] IS :: INTEGER THEN 'INT'
            WHEN trainer[key] IS :: FLOAT THEN 'DOUBLE' WHEN trainer[key] IS :: STRING THEN 'STRING' END AS value_type,
       custom, warm_started_from, trained_on;
