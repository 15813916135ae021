// Where is the model stored? The model's URI, and where each Pusher that read it pushed it
// (pushed_to: the destination the Pusher recorded on its pushed artifact, else that artifact's
// uri, as everywhere in these files), then the two apart: the destinations (pushed_destination,
// a property or, as TFX's Pusher records it, a custom one: TFX serves the model from there) and
// the pushed artifacts' uris (pushed_uris: TFX keeps an archive copy there), each list in the
// order of the pushed artifacts' ids. An unnamed model shows as its type and id ('Model #42').
// A Pusher is an execution of type Pusher, TFX's tfx.components.pusher.component.Pusher, or any
// type whose base_type is DEPLOY (MLMD's base type for a deployment step: a home-grown Deploy).
// A PushedModel marked pushed = 0 (TFX's Pusher writes one for a model it did not push) is no push;
// a CACHED Pusher (a rerun that reused an earlier push) adds none; a destination whose pushed
// artifact is MARKED_FOR_DELETION or DELETED holds the model no longer. Each destination once.
// Parameters: $model_id (the model artifact's id). In Neo4j Browser first run:
//   :param model_id => 42
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/model_location.cypher in a clone):
//   graphmd cypher-shell -f model_location -P "{model_id: 42}"
MATCH (model:Artifact {id: $model_id})
OPTIONAL MATCH (model)-[:EVENT]->(pusher:Execution)-[:EVENT]->(pushed:Artifact)
WHERE (pusher.type = 'Pusher' OR pusher.type ENDS WITH '.Pusher'
       OR EXISTS { MATCH (t:Type {id: pusher.type_id}) WHERE t.base_type = 'DEPLOY' })
  AND coalesce(pusher.last_known_state, '') <> 'CACHED'
  AND NOT coalesce(pushed.c_pushed, pushed.p_pushed, 1) IN [0, false]
  AND NOT coalesce(pushed.state, '') IN ['MARKED_FOR_DELETION', 'DELETED']
WITH model, pushed ORDER BY pushed.id
RETURN coalesce(model.name, model.type + ' #' + toString(model.id)) AS model, model.uri AS uri, model.state AS state,
       collect(DISTINCT coalesce(pushed.p_pushed_destination, pushed.c_pushed_destination, pushed.uri)) AS pushed_to,
       collect(DISTINCT coalesce(pushed.p_pushed_destination, pushed.c_pushed_destination)) AS destinations,
       collect(DISTINCT pushed.uri) AS pushed_uris;
