"""Neo4j caps each transaction's memory (db.memory.transaction.max; by default 70% of the
heap for all transactions together). Maintenance calls that touch a whole store work in
batches, so a pipeline context holding more attributions than one transaction may hold
is still deleted.

These tests start their own server with a 16 MiB cap per transaction.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphmd import AbortedError, Artifact, ArtifactType, Context, ContextType, MetadataStore
from graphmd._local_neo4j import LocalNeo4j, free_port

pytestmark = pytest.mark.slow

CAP = "16m"
ATTRIBUTIONS = 20_000  # deleting these in one transaction needs more than CAP


@pytest.fixture(scope="module")
def capped_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetadataStore]:
    home = Path(tmp_path_factory.mktemp("capped-neo4j"))
    server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(), password="graphmd-" + secrets.token_hex(8),
                        heap="512m", pagecache="64m", record_in_config=False,
                        settings={"db.memory.transaction.max": CAP})
    server.start()
    try:
        with MetadataStore(server.uri, "neo4j", server.password) as store:
            yield store
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def fill_one_context(store: MetadataStore) -> int:
    """A context with ATTRIBUTIONS artifacts, written in calls of 500; returns its id."""
    artifact_type = store.put_artifact_type(ArtifactType(name="File"))
    context = Context(type_id=store.put_context_type(ContextType(name="Dataset")), name="everything")
    [context_id] = store.put_contexts([context])
    context = context.model_copy(update={"id": context_id})
    for start in range(0, ATTRIBUTIONS, 500):
        store.put_lineage_subgraph([], [Artifact(type_id=artifact_type, uri=f"/f/{i}") for i in range(start, start + 500)],
                                   [context], [])
    return context_id


def test_the_cap_is_in_force(capped_store: MetadataStore) -> None:
    """The server refuses a transaction over the cap (else the next test proves nothing)."""
    capped_store.delete_everything(batch_size=1000)
    fill_one_context(capped_store)
    with pytest.raises(Exception) as refused:
        capped_store.driver.execute_query("MATCH (c:Context {name: 'everything'}) DETACH DELETE c",
                                          database_=capped_store.database)
    assert "MemoryPoolOutOfMemoryError" in str(refused.value) or "memory" in str(refused.value).lower()
    assert capped_store.counts()["attributions"] == ATTRIBUTIONS


def test_delete_everything_deletes_a_context_with_more_edges_than_a_transaction_holds(
        capped_store: MetadataStore) -> None:
    capped_store.delete_everything(batch_size=1000)
    fill_one_context(capped_store)
    assert capped_store.counts()["attributions"] == ATTRIBUTIONS
    try:
        capped_store.delete_everything(batch_size=1000)
    except AbortedError as error:  # the driver's retries of MemoryPoolOutOfMemoryError ran out
        pytest.fail(f"delete_everything exceeded the per-transaction memory cap: {error}")
    counts = capped_store.counts()
    assert {k: v for k, v in counts.items() if k != "types"} == dict.fromkeys(
        ["artifacts", "executions", "contexts", "events", "attributions", "associations", "parent_contexts"], 0)
    assert counts["types"] > 0  # MLMD's system types are back
