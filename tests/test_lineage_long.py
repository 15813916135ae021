"""Lineage deeper than MLMD's 100-hop cap: 55 runs where each Trainer warm-starts from the
previous model only, so the warm-start chain is two hops per run (over 100 hops long).
Expected sets come from MLMD's algorithm transcribed in tests/_lineage_reference.py, which
tests/test_lineage.py checks against ml-metadata itself."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest

from graphmd import LineageDirection, LineageSubgraphQueryOptions, MetadataStore, NodeSelector
from graphmd import _lineage
from graphmd._tfx_pipeline import History, record_history
from tests._lineage_reference import Reference
from tests.test_lineage import names, ours

RUNS = 55


@pytest.fixture(scope="module")
def history(session_store: MetadataStore) -> History:
    session_store.delete_everything()
    return record_history(session_store, RUNS, diamonds=False)


def last_pushed(history: History) -> str:
    return max(name for name in history.artifacts if name.endswith("/pushed_model"))


@pytest.mark.parametrize("direction", ["UPSTREAM", "DOWNSTREAM", "BIDIRECTIONAL"])
def test_more_than_100_hops(session_store, history, direction):
    reference = Reference(history.plans)
    for start in (last_pushed(history), "run-0054/model", "run-0000/examples", "run-0027/model"):
        for hops in (100, 101, 109, 150, None):
            graph = ours(session_store, history, start, "A", hops, direction)
            expected = reference.subgraph(start_artifacts={start}, max_hops=hops, direction=direction)
            assert names(history, graph) == (expected.artifacts, expected.executions, expected.events), (start, hops)


def test_the_chain_is_longer_than_mlmd_allows(session_store, history):
    """Upstream from the last model, 100 hops stop short of the first run's data;
    graphmd's unlimited traversal reaches it, at distance > 100."""
    start = history.artifacts["run-0054/model"]
    capped = ours(session_store, history, "run-0054/model", "A", 100, "UPSTREAM")
    full = ours(session_store, history, "run-0054/model", "A", None, "UPSTREAM")
    assert "run-0000/examples" not in names(history, capped)[0]
    assert "run-0000/examples" in names(history, full)[0]
    steps = list(session_store.stream_lineage(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[start]), direction=LineageDirection.UPSTREAM)))
    distance = {(type(s.node).__name__, s.node.name): s.distance for s in steps}
    # model 54 <- Trainer 54 <- model 53 ... <- model 0 <- Trainer 0 <- examples 0
    assert distance[("Artifact", "run-0000/examples")] == 2 * 54 + 2
    path = list(session_store.lineage_paths(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[start]), direction=LineageDirection.UPSTREAM)))[-1]
    assert len(path.events) > 100


def test_a_whole_graph_read_peaks_near_its_rows_not_rows_plus_graph(session_store, history):
    """get_lineage_subgraph decodes the server's rows into models; each row is dropped once
    decoded, so the models reuse its memory. Holding every row until the end peaked at the
    rows plus the whole graph (about 1.7 times the larger of the two on 30,000 nodes)."""
    options = LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[history.artifacts["run-0054/model"]]),
                                          direction=LineageDirection.UPSTREAM)
    text, params = _lineage._subgraph_statement(options, set(_lineage.LINEAGE_GRAPH_FIELDS))
    session_store.get_lineage_subgraph(options)  # caches filled, as in any later call
    tracemalloc.start()
    try:
        rows = _lineage._read_rows(session_store, text, params, list)
        rows_bytes = tracemalloc.get_traced_memory()[0]
        del rows
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        graph = session_store.get_lineage_subgraph(options)
        held, peak = (b - before for b in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
    assert len(graph.artifacts) > 200
    assert peak < 1.3 * max(rows_bytes, held), (peak, rows_bytes, held)


def test_a_whole_graph_read_arrives_in_lists_of_rows_the_client_decodes_as_they_come(session_store, history):
    """One list of all rows cost the client more per row the longer it was (990,012 rows:
    4.0 s of client CPU, 1.3 s in lists of 1,000) and left it idle until the server had
    written the last row. Lists of up to 1,000, in order, each row passed to the decoding
    once, and the same graph."""
    options = LineageSubgraphQueryOptions(starting_artifacts=NodeSelector(ids=[history.artifacts["run-0054/model"]]),
                                          direction=LineageDirection.UPSTREAM)
    text, params = _lineage._subgraph_statement(options, set(_lineage.LINEAGE_GRAPH_FIELDS))
    records = session_store.driver.execute_query(text, params, database_=session_store.database).records
    sizes = [len(record["rows"]) for record in records]
    assert len(sizes) > 1 and all(size == 1000 for size in sizes[:-1]) and 0 < sizes[-1] <= 1000, sizes
    decoded = []

    def consume(rows):
        for row in rows:
            decoded.append(len(decoded))
            yield row

    with _lineage._collector_paused():
        graph, starts, _ = _lineage._read_rows(session_store, text, params,
                                            lambda rows: _lineage._assemble(consume(rows), set(_lineage.LINEAGE_GRAPH_FIELDS)))
    assert starts == 1 and len(decoded) == sum(sizes)
    assert graph == session_store.get_lineage_subgraph(options)


def _whole_upstream(store: MetadataStore, history: History):
    return store.get_lineage_subgraph(LineageSubgraphQueryOptions(
        starting_artifacts=NodeSelector(ids=[history.artifacts["run-0054/model"]]),
        direction=LineageDirection.UPSTREAM))


def test_a_whole_graph_read_leaves_its_models_to_the_oldest_collector_generation(session_store, history):
    """The collector is paused while the graph is built; afterwards the models are in the
    oldest generation, so no young collection rescans them, and the collector runs again."""
    assert gc.isenabled() and gc.get_freeze_count() == 0
    graph = _whole_upstream(session_store, history)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    built = [*graph.artifacts, *graph.executions, *graph.events]
    assert len(built) > 300 and all(id(model) in oldest for model in built)


def test_a_read_on_a_worker_thread_leaves_the_collector_running(session_store, history):
    """`graphmd serve` reads on worker threads, overlapping: a read there neither pauses the
    process's collector nor hands other threads' garbage to the oldest generation (under 3
    clients the server's memory grew ~45 MB a minute and was never given back)."""
    done = threading.Event()
    failed: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(5):
                _whole_upstream(session_store, history)
        except BaseException as error:  # noqa: BLE001  # reported below
            failed.append(error)
        finally:
            done.set()

    assert gc.isenabled()
    worker = threading.Thread(target=read)
    worker.start()
    polls = paused = 0
    while not done.is_set():
        polls += 1
        paused += not gc.isenabled()
    worker.join()
    assert not failed and polls > 100
    assert paused == 0, f"the collector was off in {paused} of {polls} looks"


def test_a_whole_graph_read_keeps_objects_the_process_froze_frozen(session_store, history):
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        graph = _whole_upstream(session_store, history)
        assert gc.isenabled() and gc.get_freeze_count() == frozen  # neither released nor added to
        assert graph.artifacts
    finally:
        gc.unfreeze()
