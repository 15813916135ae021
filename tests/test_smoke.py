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


def test_a_store_on_a_callers_driver_is_closed_too_and_leaves_the_driver_open(neo4j_server: Settings) -> None:
    """close() on a store given a driver kept the store working (only an owned pool was
    closed), and a closed driver given to the constructor was reported as a closed store."""
    import neo4j

    driver = neo4j.GraphDatabase.driver(neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password))
    try:
        store = MetadataStore(driver=driver, database=neo4j_server.database)
        store.close()
        for call in (lambda: store.get_artifacts(), lambda: store.put_artifact_type(ArtifactType(name="AfterClose"))):
            with pytest.raises(FailedPreconditionError, match="MetadataStore is closed"):
                call()
        driver.verify_connectivity()  # the caller's, still open
    finally:
        driver.close()
    with pytest.raises(FailedPreconditionError) as info:
        MetadataStore(driver=driver, database=neo4j_server.database)
    assert info.value.field == "driver" and "the driver given is closed" in info.value.message
