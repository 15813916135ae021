// What is deployed now? For each target models are pushed to, the model its newest push put there:
// the target, the model (its name, id and uri), when and by which Pusher (its name, else, as for one
// named by a UUID as TFX names each, its type and id), the push's destination and version, how many of its pushes stand (not since marked MARKED_FOR_DELETION or DELETED), and the model deployed
// there before it (previous_model: the newest earlier push of another model, what a rollback would bring back;
// null when there was none). One row per target, in target order.
// A push's target is where it serves from: its pushed_destination (a property or, as TFX's Pusher
// records it, a custom one) without the pushed_version at its end (TFX pushes each version into a
// directory of its own under the serving directory, which is the target); without a destination,
// the pushed artifact's uri (a home-grown Deploy writing 'k8s://prod/fraud').
// The model pushed is the Pusher's input under key 'model' (TFX's), else an input whose type has
// base_type MODEL, else its first input (null: the Pusher read no artifact).
// A push counts as model_pushed counts it: a Pusher is an execution of type Pusher, TFX's
// tfx.components.pusher.component.Pusher, or any type whose base_type is DEPLOY; a PushedModel
// marked pushed = 0 is no push, nor is a CACHED Pusher. A pushed artifact MARKED_FOR_DELETION or
// DELETED holds the model no longer: marking the newest push so is a rollback to the push before
// it (so is a new push of the older model).
// No rows: nothing pushed (with $context_id given, by a Pusher associated with that context).
// Parameters: $context_id (a pipeline's or run's context id: only pushes by Pushers associated
// with it; null for every push). In Neo4j Browser first run:
//   :param context_id => null
// In cypher-shell (graphmd cypher-shell connects it to the store's Neo4j; -f takes the query's
// name from any directory, or this file's path, cypher/deployed_models.cypher in a clone):
//   graphmd cypher-shell -f deployed_models -P "{context_id: null}"
MATCH (t:ExecutionType)
WHERE t.name = 'Pusher' OR t.name ENDS WITH '.Pusher' OR t.base_type = 'DEPLOY'
MATCH (pusher:Execution {type_id: t.id})
WHERE coalesce(pusher.last_known_state, '') <> 'CACHED'
  AND ($context_id IS NULL OR EXISTS { MATCH (:Context {id: $context_id})-[:ASSOCIATION]->(pusher) })
MATCH (pusher)-[:EVENT]->(pushed:Artifact)
WHERE NOT coalesce(pushed.c_pushed, pushed.p_pushed, 1) IN [0, false]
  AND NOT coalesce(pushed.state, '') IN ['MARKED_FOR_DELETION', 'DELETED']
CALL (pusher) {
  OPTIONAL MATCH (input:Artifact)-[read:EVENT]->(pusher)
  WITH input, read
  ORDER BY CASE WHEN read.path STARTS WITH '["model"' THEN 0
                WHEN EXISTS { MATCH (it:Type {id: input.type_id}) WHERE it.base_type = 'MODEL' } THEN 1
                ELSE 2 END, input.id
  LIMIT 1
  RETURN input AS model
}
WITH pusher, pushed, model, coalesce(pushed.p_pushed_destination, pushed.c_pushed_destination) AS destination,
     toString(coalesce(pushed.p_pushed_version, pushed.c_pushed_version)) AS version
WITH pusher, pushed, model, destination, version,
     CASE WHEN destination IS NULL THEN pushed.uri
          WHEN version IS NOT NULL AND destination ENDS WITH '/' + version
            THEN left(destination, size(destination) - size(version) - 1)
          ELSE destination END AS target
WHERE target IS NOT NULL
ORDER BY pushed.create_time_since_epoch DESC, pushed.id DESC
WITH target, collect({model: model, pusher: pusher, pushed: pushed, destination: destination, version: version})
     AS pushes
WITH target, pushes, pushes[0] AS now
WITH target, pushes, now,
     head([p IN pushes[1..] WHERE p.model IS NOT NULL AND (now.model IS NULL OR p.model.id <> now.model.id)])
     AS before
RETURN target,
       CASE WHEN now.model IS NULL THEN null
            ELSE coalesce(now.model.name, now.model.type + ' #' + toString(now.model.id)) END AS model,
       now.model.id AS model_id, now.model.uri AS model_uri,
       CASE WHEN now.pusher.name IS NULL OR now.pusher.name =~ '(?i)[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'
         THEN now.pusher.type + ' #' + toString(now.pusher.id) ELSE now.pusher.name END AS pusher,
       now.pushed.create_time_since_epoch AS pushed_at_ms,
       datetime({epochMillis: now.pushed.create_time_since_epoch}) AS pushed_at,
       now.destination AS destination, now.version AS version, size(pushes) AS pushes,
       CASE WHEN before IS NULL THEN null
            ELSE coalesce(before.model.name, before.model.type + ' #' + toString(before.model.id)) END
         AS previous_model,
       before.model.id AS previous_model_id
ORDER BY target;
