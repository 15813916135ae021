import pytest

from graphmd import (Artifact, ArtifactType, FailedPreconditionError, LineageSubgraphQueryOptions, MetadataStore,
                     NodeSelector, PropertyType)
from graphmd._config import Settings


def test_round_trip(store: MetadataStore) -> None:
    type_id = store.put_artifact_type(ArtifactType(name="DataSet", properties={"day": PropertyType.INT}))
    [artifact_id] = store.put_artifacts([Artifact(type_id=type_id, uri="/d", properties={"day": 1})])
    [got] = store.get_artifacts_by_id([artifact_id])
    assert got.properties == {"day": 1} and got.uri == "/d" and got.type == "DataSet"


def test_a_closed_store_says_it_is_closed(neo4j_server: Settings) -> None:
    """Calls on a closed store fail with FailedPreconditionError naming the cause, not as if
    Neo4j were down (callers retry UnavailableError)."""
    closed = MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database)
    closed.close()
    calls = [lambda: closed.get_artifacts(),
             lambda: closed.put_artifact_type(ArtifactType(name="Closed")),
             lambda: closed.get_lineage_subgraph(LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[1])))]
    for call in calls:
        with pytest.raises(FailedPreconditionError, match="MetadataStore is closed"):
            call()
