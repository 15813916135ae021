from graphmd import Artifact, ArtifactType, MetadataStore, PropertyType


def test_round_trip(store: MetadataStore) -> None:
    type_id = store.put_artifact_type(ArtifactType(name="DataSet", properties={"day": PropertyType.INT}))
    [artifact_id] = store.put_artifacts([Artifact(type_id=type_id, uri="/d", properties={"day": 1})])
    [got] = store.get_artifacts_by_id([artifact_id])
    assert got.properties == {"day": 1} and got.uri == "/d" and got.type == "DataSet"
