// When was the model pushed? Each push of the model: the Pusher, where it pushed it (pushed_to:
// the destination recorded on the pushed artifact, else that artifact's uri, as everywhere in
// these files), the pushed artifact's state now (DELETED: no longer there), the time (its
// creation), then the destination and the uri apart: the destination (its pushed_destination,
// a property or, as TFX's Pusher records it, a custom one: for TFX the serving path; null: none
// recorded) and the pushed artifact's uri (pushed_uri: for TFX the archive copy it keeps in the
// pipeline root), oldest push first. No rows: never pushed by a
// Pusher (an execution of type Pusher or of a type whose base_type is DEPLOY). An unnamed model or
// Pusher (or one named by a UUID, as TFX names each execution) shows as its type and id ('Pusher #42').
// A Pusher is an execution of type Pusher, TFX's tfx.components.pusher.component.Pusher, or any
// type whose base_type is DEPLOY (MLMD's base type for a deployment step: a home-grown Deploy).
// A PushedModel marked pushed = 0 (TFX's Pusher writes one for a model it did not push) is no push;
// a CACHED Pusher (a rerun that reused an earlier push) is no new push.
// Parameters: $model_id (the model artifact's id). In Neo4j Browser first run:
//   :param model_id => 42
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/model_pushed.cypher in a clone):
//   graphmd cypher-shell -f model_pushed -P "{model_id: 42}"
MATCH (model:Artifact {id: $model_id})-[:EVENT]->(pusher:Execution)-[:EVENT]->(pushed:Artifact)
WHERE (pusher.type = 'Pusher' OR pusher.type ENDS WITH '.Pusher'
       OR EXISTS { MATCH (t:Type {id: pusher.type_id}) WHERE t.base_type = 'DEPLOY' })
  AND coalesce(pusher.last_known_state, '') <> 'CACHED'
  AND NOT coalesce(pushed.c_pushed, pushed.p_pushed, 1) IN [0, false]
RETURN coalesce(model.name, model.type + ' #' + toString(model.id)) AS model,
       CASE WHEN pusher.name IS NULL OR pusher.name =~ '(?i)[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'
         THEN pusher.type + ' #' + toString(pusher.id) ELSE pusher.name END AS pusher,
       coalesce(pushed.p_pushed_destination, pushed.c_pushed_destination, pushed.uri) AS pushed_to,
       pushed.state AS state, pushed.create_time_since_epoch AS pushed_at_ms,
       datetime({epochMillis: pushed.create_time_since_epoch}) AS pushed_at,
       coalesce(pushed.p_pushed_destination, pushed.c_pushed_destination) AS destination, pushed.uri AS pushed_uri
ORDER BY pushed_at_ms, pushed.id;
