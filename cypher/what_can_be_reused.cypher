// What can be reused? Earlier COMPLETE executions of a component that read exactly these
// input artifacts with these execution properties (values of the same kind: 1 is not 1.0),
// newest first, with their outputs, none of them deleted or abandoned since: a cache hit for a
// step about to run with the same inputs and properties. No rows: nothing to reuse (a cache
// miss). graphmd.find_cached_execution runs this file and also requires each input under the
// same key (an event path [key, index]) and, when it is given them, custom properties and an
// association with each of its contexts (a pipeline's: this file looks across pipelines).
// Parameters: $type_name (the execution type), $input_ids (artifact ids, [] for none),
// $properties (a map of execution properties; here a STRUCT or PROTO value is given as the
// JSON text graphmd stores, which `graphmd query` and the library make from a map: keys
// sorted, ", " and ": " between items, non-ASCII escaped, as Python's json.dumps(value,
// sort_keys=True) writes it; compact JSON is other text and finds nothing). In Neo4j
// Browser first run:
//   :param type_name => 'Trainer'
//   :param input_ids => [1, 2, 3]
//   :param properties => {learning_rate: 0.01, num_steps: 1000}
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/what_can_be_reused.cypher in a clone):
//   graphmd cypher-shell -f what_can_be_reused -P "{type_name: 'Trainer', input_ids: [1, 2, 3], properties: {learning_rate: 0.01, num_steps: 1000}}"
CALL () {
  // Without inputs, every execution of the type.
  UNWIND CASE WHEN size($input_ids) = 0 THEN [true] ELSE [] END AS no_inputs
  WITH no_inputs
  MATCH (x:Execution {type: $type_name})
  RETURN x
  UNION
  // With inputs, from the one the fewest executions read (a model, not a dataset every run reads).
  UNWIND $input_ids AS input_id
  MATCH (a:Artifact {id: input_id})
  WITH a ORDER BY COUNT { (a)-[:EVENT]->() } LIMIT 1
  // Expanded from that input in a subquery, then filtered: a filter on x next to the MATCH
  // (even after a WITH) lets the planner scan every execution of the type and join each to
  // the input, when its statistics say the type is rare.
  CALL (a) { MATCH (a)-[:EVENT]->(x) RETURN x }
  WITH x WHERE x:Execution AND x.type = $type_name
  RETURN x
}
WITH x
WHERE x.last_known_state = 'COMPLETE'
  AND size([k IN keys(x) WHERE k STARTS WITH 'p_' OR k STARTS WITH 'ps_' OR k STARTS WITH 'pp_']) = size(keys($properties))
  AND all(k IN keys($properties) WHERE valueType(coalesce(x['p_' + k], x['ps_' + k], x['pp_' + k]))
                                          = valueType($properties[k])
                                        AND (x['p_' + k] = $properties[k] OR x['ps_' + k] = $properties[k]
                                             OR x['pp_' + k] = $properties[k]))
CALL (x) {
  MATCH (a:Artifact)-[e:EVENT]->(x)
  RETURN collect({artifact_id: a.id, path: e.path}) AS inputs
}
WITH x, inputs
WHERE size(inputs) = size($input_ids) AND all(i IN inputs WHERE i.artifact_id IN $input_ids)
CALL (x) {
  MATCH (x)-[e:EVENT]->(a:Artifact)
  RETURN collect({artifact: a, path: e.path}) AS outputs
}
WITH x, inputs, outputs
WHERE none(o IN outputs WHERE coalesce(o.artifact.state, '') IN ['MARKED_FOR_DELETION', 'DELETED', 'ABANDONED'])
RETURN x AS execution, inputs, outputs
ORDER BY x.create_time_since_epoch DESC, x.id DESC;
