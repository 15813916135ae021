"""Id blocks: unique across writers, increasing within one, and few round trips."""

from __future__ import annotations

import threading
import time

import pytest

from graphmd import (AlreadyExistsError, Artifact, ArtifactType, Context, ContextType, Event, EventEdge, EventType,
                     Execution, ExecutionType, MetadataStore)
from graphmd._config import Settings
from graphmd._ids import IdAllocator

_KINDS = ("Artifact", "Context", "Event", "Execution")


def _counters(store: MetadataStore) -> dict[str, int]:
    records = store.driver.execute_query("MATCH (c:IdCounter) RETURN c.kind AS kind, c.next AS next",
                                         database_=store.database).records
    return {r["kind"]: r["next"] for r in records}


def test_a_first_write_reserves_every_node_kind_in_one_round_trip(store: MetadataStore,
                                                                   neo4j_server: Settings) -> None:
    at = store.put_artifact_type(ArtifactType(name="Model"))
    xt = store.put_execution_type(ExecutionType(name="Trainer"))
    ct = store.put_context_type(ContextType(name="Run"))
    before = _counters(store)
    with MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database) as fresh:
        reservations: list[dict[str, int]] = []
        reserve = fresh._ids._reserve

        def counted(requests: dict[str, tuple[int, int | None]]) -> dict[str, tuple[int, bool]]:
            reservations.append({kind: size for kind, (size, _) in requests.items()})
            return reserve(requests)

        fresh._ids._reserve = counted  # type: ignore[method-assign]
        result = fresh.put_execution(Execution(type_id=xt),
                                     [(Artifact(type_id=at, uri="/m"), Event(type=EventType.OUTPUT))],
                                     [Context(type_id=ct, name="run-1")])
    assert len(reservations) == 1, reservations
    assert set(reservations[0]) == set(_KINDS)
    after = _counters(store)
    for kind in _KINDS:
        assert after[kind] - before.get(kind, 1) == reservations[0][kind], kind
    assert before.get("Execution", 1) <= result.execution_id < after["Execution"]
    assert before.get("Artifact", 1) <= result.artifact_ids[0] < after["Artifact"]
    assert before.get("Context", 1) <= result.context_ids[0] < after["Context"]


def test_writers_reserving_at_once_get_disjoint_increasing_ids(store: MetadataStore, neo4j_server: Settings) -> None:
    allocators = [IdAllocator(store.driver, store.database, max_block=16) for _ in range(4)]
    got: list[dict[str, list[int]]] = [{k: [] for k in _KINDS} for _ in allocators]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        # Each writer asks for the kinds in its own order, so reservations interleave.
        order = _KINDS[index:] + _KINDS[:index]
        try:
            for round_ in range(40):
                for kind in order:
                    got[index][kind] += allocators[index].allocate(kind, 1 + (round_ + index) % 5)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(allocators))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for kind in _KINDS:
        every = [i for g in got for i in g[kind]]
        assert len(every) == len(set(every)), kind
        for g in got:
            assert g[kind] == sorted(g[kind]) and len(g[kind]) == len(set(g[kind])), kind


def test_a_bulk_writer_reserves_blocks_that_grow_with_its_requests(store: MetadataStore) -> None:
    # put_lineage_subgraph batches take ~1,500 event ids and ~500 artifact and execution ids
    # a call: with blocks capped at max_block each call would reserve (two round trips of
    # ~2-4 ms), where blocks sized to the requests serve several calls each.
    allocator = IdAllocator(store.driver, store.database, max_block=1024)
    reservations: list[dict[str, int]] = []
    reserve = allocator._reserve

    def counted(requests: dict[str, tuple[int, int | None]]) -> dict[str, tuple[int, bool]]:
        reservations.append({kind: size for kind, (size, _) in requests.items()})
        return reserve(requests)

    allocator._reserve = counted  # type: ignore[method-assign]
    got: dict[str, list[int]] = {k: [] for k in _KINDS}
    for _ in range(40):
        for kind, count in (("Artifact", 505), ("Execution", 497), ("Context", 1), ("Event", 1428)):
            got[kind] += allocator.allocate(kind, count)
    assert len(reservations) <= 16, reservations
    for kind, ids in got.items():
        assert ids == sorted(set(ids)), kind
    # A light writer still gets small blocks, so its ids stay nearly consecutive.
    light = IdAllocator(store.driver, store.database, max_block=1024)
    first = light.allocate("Artifact", 1)[0]
    assert light.allocate("Artifact", 7) == list(range(first + 1, first + 8))
    assert light._sizes["Artifact"] <= 16


def test_a_call_planned_twice_uses_one_set_of_ids(store: MetadataStore, neo4j_server: Settings) -> None:
    # A process's first write with a type it has not cached is planned for one auto-commit
    # statement, needs a read, and is planned again in a transaction: its ids must not be
    # taken twice (MLMD's first artifacts are 1, 2, 3, not 2, 4, 6).
    with MetadataStore(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database) as fresh:
        ids = []
        for name in ("A", "B", "C"):
            type_id = store.put_artifact_type(ArtifactType(name=f"planned-twice-{name}"))  # not in fresh's cache
            assert type_id not in fresh._type_cache
            ids += fresh.put_artifacts([Artifact(type_id=type_id, uri=f"/{name}")])
        xt = store.put_execution_type(ExecutionType(name="planned-twice-step"))
        result = fresh.put_execution(Execution(type_id=xt),
                                     [(Artifact(type_id=type_id, uri="/out"), Event(type=EventType.OUTPUT))])
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    assert result.artifact_ids == [ids[0] + 3]


def test_a_failed_call_gives_its_ids_back(store: MetadataStore) -> None:
    at = store.put_artifact_type(ArtifactType(name="Model"))
    xt = store.put_execution_type(ExecutionType(name="Trainer"))
    [first] = store.put_artifacts([Artifact(type_id=at, uri="/first")])
    # The same event twice is refused after the call's artifact and execution got ids.
    twice = EventEdge(event=Event(type=EventType.OUTPUT), artifact_index=0, execution_index=0)
    with pytest.raises(AlreadyExistsError):
        store.put_lineage_subgraph([Execution(type_id=xt)], [Artifact(type_id=at, uri="/x")], [], [twice, twice])
    [second] = store.put_artifacts([Artifact(type_id=at, uri="/second")])
    assert second == first + 1
    assert [a.uri for a in store.get_artifacts()] == ["/first", "/second"]



def test_a_context_reused_by_name_leaves_no_gap(store: MetadataStore) -> None:
    # Each step of a run names the run's context; reusing the stored one must not use up the
    # id planned for it: ml-metadata's next new context is the next id.
    ct = store.put_context_type(ContextType(name="Run"))
    xt = store.put_execution_type(ExecutionType(name="Trainer"))
    [first] = store.put_contexts([Context(type_id=ct, name="run-1")])
    for _ in range(3):
        result = store.put_execution(Execution(type_id=xt), [], [Context(type_id=ct, name="run-1")],
                                     reuse_context_if_already_exist=True)
        assert result.context_ids == [first]
    result = store.put_lineage_subgraph([Execution(type_id=xt)], [], [Context(type_id=ct, name="run-1")],
                                        reuse_context_if_already_exist=True)
    assert result.context_ids == [first]
    [second] = store.put_contexts([Context(type_id=ct, name="run-2")])
    assert second == first + 1


def test_released_ids_come_back_only_if_nothing_was_handed_out_since(store: MetadataStore) -> None:
    allocator = IdAllocator(store.driver, store.database)
    a = allocator.allocate("Artifact", 3)
    allocator.release("Artifact", a)
    assert allocator.allocate("Artifact", 3) == a
    b = allocator.allocate("Artifact", 1)
    allocator.release("Artifact", a)  # b came after: a stays a gap
    assert allocator.allocate("Artifact", 1) == [b[0] + 1]
    allocator.release("Artifact", [])


def test_a_lone_writer_s_ids_are_consecutive_across_its_blocks(store: MetadataStore) -> None:
    """A request larger than what was left of a block took a new one and left the rest
    unused: one artifact, then 30, gave 171 and 179-208 (ml-metadata: 172-201), so ported
    code comparing ids with an ml-metadata run was off from there on. A block that follows
    the one in hand (no one reserved between) continues it; another writer's reservation
    between still leaves a gap, so ids follow creation order."""
    type_id = store.put_artifact_type(ArtifactType(name="Consecutive"))
    [one] = store.put_artifacts([Artifact(type_id=type_id)])
    more = store.put_artifacts([Artifact(type_id=type_id) for _ in range(30)])
    assert more == list(range(one + 1, one + 31)), (one, more)
    lone = IdAllocator(store.driver, store.database)
    other = IdAllocator(store.driver, store.database)
    first = lone.allocate("Artifact", 1)
    second = lone.allocate("Artifact", 40)
    assert second == list(range(first[0] + 1, first[0] + 41))
    left = lone._left("Artifact")
    [between] = other.allocate("Artifact", 1)
    after = lone.allocate("Artifact", left + 1)  # more than it has left: a new block, past the other's
    assert after[0] > between > second[-1] and after == sorted(after)


def test_ids_follow_creation_order_across_processes(store: MetadataStore) -> None:
    """TFX's latest-artifact resolvers take the largest id for the newest. Two writers took
    turns (two `graphmd serve` replicas, or serve and a pipeline's own process): each kept
    handing out ids from its block, so a newer model got a smaller id than an older one and
    TFX warm-started from the older. A block older than max_age is checked again before use:
    kept while it is the counter's newest, else replaced by one past the other writer's."""
    first = IdAllocator(store.driver, store.database, max_age=0.2)
    second = IdAllocator(store.driver, store.database, max_age=0.2)
    handed: list[int] = []
    for allocator in (first, second, first, first, second, second, first):
        time.sleep(0.25)
        handed += allocator.allocate("Artifact", 1)
    assert handed == sorted(handed), handed
    # A lone writer keeps its block when it is still the newest: no gaps for a slow user.
    # A block found still newest keeps its size: checks that kept it made the next block
    # double, so a slow writer's next block was 1,024 ids and writing moved ids by that much.
    lone = IdAllocator(store.driver, store.database, max_age=0.2)
    ids = lone.allocate("Artifact", 1)
    for _ in range(4):
        time.sleep(0.25)
        ids += lone.allocate("Artifact", 1)
    assert ids == list(range(ids[0], ids[0] + 5)) and lone._sizes["Artifact"] <= 16, (ids, lone._sizes)
    # Within max_age a block is used without a round trip, whoever reserved since.
    reservations: list[int] = []
    reserve = lone._reserve

    def counted(requests: dict[str, tuple[int, int | None]]) -> dict[str, tuple[int, bool]]:
        reservations.append(len(requests))
        return reserve(requests)

    lone._reserve = counted  # type: ignore[method-assign]
    lone._max_age = 60.0
    ids = lone.allocate("Artifact", 1)
    second.allocate("Artifact", 1)
    assert lone.allocate("Artifact", 1) == [ids[0] + 1] and reservations == []


def test_writers_taking_turns_keep_their_blocks_small_and_leave_other_kinds_alone(store: MetadataStore) -> None:
    """Two writers taking turns (two serve replicas, or serve and a pipeline's own store),
    each write after the other's block went stale: each dropped its block for a new one
    twice the size, without cap, so the gaps doubled with every write (8, 16, ..., 32,768
    after 26 writes) and int64 overflowed within minutes (Neo4j: "long overflow"); and every
    reservation moved the counters of the kinds neither wrote too. A block replacing a stale
    one is sized by what the writer used of it, and only kinds a writer uses are renewed."""
    first = IdAllocator(store.driver, store.database, max_age=0.02)
    second = IdAllocator(store.driver, store.database, max_age=0.02)
    got = []
    for turn in range(40):
        got.append((first if turn % 2 == 0 else second).allocate("Execution", 1)[0])
        time.sleep(0.03)  # the other writer's block is stale by its next turn
    gaps = [b - a for a, b in zip(got, got[1:])]
    assert all(gap > 0 for gap in gaps)
    assert max(gaps[4:]) <= 16, gaps  # not 8, 16, 32, ... 2**20
    before = _counters(store)
    for turn in range(10):
        (first if turn % 2 == 0 else second).allocate("Execution", 1)
        time.sleep(0.03)
    after = _counters(store)
    assert {kind: after[kind] - before[kind] for kind in ("Artifact", "Context", "Event")} == dict.fromkeys(
        ("Artifact", "Context", "Event"), 0)


def test_contexts_reused_by_name_by_concurrent_calls_use_no_ids(store: MetadataStore) -> None:
    """TFX reuses its pipeline and run contexts by name at every step. Each call planned a
    fresh id for them in case they were new, and gave it back when they were not; with calls
    running at once (serve's workers, a pipeline's threads) the id could not go back, so
    context ids climbed ~2 per step (12.5 times the context count after a 25-minute soak).
    A context the store has met is planned under its own id; one deleted since is created
    again with a fresh id, never its old one."""
    step = store.put_execution_type(ExecutionType(name="Step"))
    run_t = store.put_context_type(ContextType(name="Run"))
    shared = store.put_execution(Execution(type_id=step), [], [Context(type_id=run_t, name="shared")],
                                 reuse_context_if_already_exist=True).context_ids[0]

    def steps(n: int) -> None:
        for _ in range(n):
            result = store.put_execution(Execution(type_id=step), [], [Context(type_id=run_t, name="shared")],
                                         reuse_context_if_already_exist=True)
            assert result.context_ids == [shared]

    workers = [threading.Thread(target=steps, args=(15,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    [fresh] = store.put_execution(Execution(type_id=step), [], [Context(type_id=run_t, name="new")],
                                  reuse_context_if_already_exist=True).context_ids
    assert 0 < fresh - shared <= 8, (shared, fresh)  # within the first block: no id went to the 60 reuses
    assert len(store.get_executions_by_context(shared)) == 61
    # Deleted behind the store's back (another process's prune): created again, under a new id.
    store.driver.execute_query("MATCH (c:Context {id: $id}) DETACH DELETE c", id=shared, database_=store.database)
    [again] = store.put_execution(Execution(type_id=step), [], [Context(type_id=run_t, name="shared")],
                                  reuse_context_if_already_exist=True).context_ids
    assert again not in (shared, fresh) and again > fresh
    assert [c.name for c in store.get_contexts_by_id([again])] == ["shared"]
    assert store.get_contexts_by_id([shared]) == []
