"""One benchmark run: every workload on ml-metadata and on graphmd, in the same process and
on the same machine, side by side.

Both stores receive the same data in the same order: ml-metadata 1.17.1 in-process on one
SQLite file (TFX's default), graphmd on a local Neo4j. Each workload runs on ml-metadata
first, then on graphmd, so both meet the same store sizes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from graphmd import MetadataStore
from graphmd._local_neo4j import NEO4J_VERSION, LocalNeo4j, free_port
from graphmd._tfx_pipeline import run_name

from ._backends import MLMD_HOP_CAP, GraphmdConfig, MlmdConfig
from ._history import FILES_PER_BATCH
from ._report import Row
from ._workloads import (LONG_CALL, WRITER_WARM_UP_RUNS, Timing, best_of, build_files, build_history, median_round,
                         paired, record_concurrently, record_runs, timed)

WORKLOADS = ("W1", "W2", "W3", "W3d", "W4", "W5")
# The step-by-step warm-up records runs in windows of this many, and stops once the mean
# time per call of the last WARM_UP_SPAN windows is within WARM_UP_GAIN of the mean of the
# WARM_UP_SPAN windows before them (see Suite.warm_up and warmed_up).
WARM_UP_WINDOW = 50
# The bulk warm-up writes history runs in windows of this many (~4,200 nodes, 4-5 batches:
# windows of one or two batches let one slow batch end it while the server was still
# warming up), by the same rule.
BULK_WARM_UP_WINDOW = 300
# The lineage target: W3 at 20 hops and beyond on 30,000 runs (or more) at least
# this many times as fast as ml-metadata; smaller histories (a quick run's --runs) get 1.
W3_DEEP_RUNS = 30_000
W3_DEEP_TARGET = 5.0
WARM_UP_GAIN = 0.03
WARM_UP_SPAN = 3


def warmed_up(per_call: list[float]) -> bool:
    """Whether per-call times, one per warm-up window, have settled: the last WARM_UP_SPAN
    windows are on average within WARM_UP_GAIN of the WARM_UP_SPAN before them, neither
    faster nor slower. Means over spans, not single windows: a fresh JVM keeps getting
    faster by a few percent a window for hundreds of runs, and one noisy window on a busy
    machine must neither end the warm-up nor keep it going. Slower counts as unsettled: a
    JVM recompiling hot code runs slower for a while (windows of 3.9, 4.5 and 4.9 ms after
    3.9 ms measured W1 at 0.32 where the settled server gave 0.61)."""
    if len(per_call) < 2 * WARM_UP_SPAN:
        return False
    last = sum(per_call[-WARM_UP_SPAN:]) / WARM_UP_SPAN
    before = sum(per_call[-2 * WARM_UP_SPAN:-WARM_UP_SPAN]) / WARM_UP_SPAN
    return abs(last - before) <= WARM_UP_GAIN * before


@dataclasses.dataclass
class Sizes:
    """The run's sizes (all flags of ``python -m bench``)."""

    w1_runs: int = 100
    writers: int = 4
    writer_runs: int = 60
    runs: tuple[int, ...] = (3_000, 30_000)
    hops: tuple[int | None, ...] = (2, 6, 20, 100, None)
    files: int = 1_000_000
    datasets: int = 1_000
    repeat: int = 5
    warm_up_runs: int = 50
    workloads: tuple[str, ...] = WORKLOADS
    warm_up_max_runs: int = 1000
    warm_up_max_bulk_runs: int = 3000
    writer_rounds: int = 5
    warm_up_max_rounds: int = 12


# What a terminated run must still undo (bench.__main__'s SIGTERM handler runs these, newest
# first, before it exits): an exception raised from a signal handler is lost when it lands in
# a finaliser, so the handler cannot count on the `finally` blocks below.
ON_TERMINATE: list[Callable[[], None]] = []


@contextlib.contextmanager
def bench_neo4j(heap: str, pagecache: str) -> Iterator[tuple[GraphmdConfig, str]]:
    """A fresh local Neo4j for this run in a temporary home, removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="graphmd-bench-neo4j-"))
    server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(), password=secrets.token_urlsafe(18),
                        heap=heap, pagecache=pagecache, record_in_config=False)

    def remove() -> None:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)

    server.start()
    ON_TERMINATE.append(remove)
    try:
        yield (GraphmdConfig(server.uri, "neo4j", server.password),
               f"Neo4j Community {NEO4J_VERSION} (local, heap {heap}, page cache {pagecache})")
    finally:
        ON_TERMINATE.remove(remove)
        remove()


@contextlib.contextmanager
def given_neo4j(uri: str, user: str, password: str | None) -> Iterator[tuple[GraphmdConfig, str]]:
    """A Neo4j the caller runs. Its database must hold no artifacts, executions or contexts:
    the run fills it and the sizes must be the benchmark's own."""
    config = GraphmdConfig(uri, user, password)
    with MetadataStore(uri, user, password) as store:
        counts = store.counts()
    if any(counts[kind] for kind in ("artifacts", "executions", "contexts")):
        raise SystemExit(f"{uri} already holds graphmd data ({counts}); the benchmark needs an empty database")
    yield config, f"the Neo4j at {uri}"


class Suite:
    """Runs the chosen workloads on both stores and collects the table's rows."""

    def __init__(self, sizes: Sizes, graphmd: GraphmdConfig, workdir: Path, say=print) -> None:
        self.sizes = sizes
        self.say = say
        self.configs = {"ml-metadata": MlmdConfig(workdir / "mlmd.sqlite"), "graphmd": graphmd}
        self.backends = {name: config.open() for name, config in self.configs.items()}
        self.type_ids = {name: b.register_types() for name, b in self.backends.items()}
        self.rows: list[Row] = []
        self.floor: list[Row] = []  # W5: the bare driver in the first column
        # W5: (size, steps streamed, streaming peak bytes, whole-graph read peak bytes, graph bytes)
        self.memory: list[tuple[str, int, int, int, int]] = []

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()

    def _row(self, row: Row) -> None:
        self.rows.append(row)
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        self.say(f"  {row.workload} [{row.size}]: ratio {ratio} {row.note}")

    def run(self) -> list[Row]:
        chosen = self.sizes.workloads
        self.warm_up()
        if "W1" in chosen:
            self.record()
        if {"W2", "W3", "W5"} & set(chosen):
            self.pipelines(diamonds=False)
        if "W3d" in chosen:
            self.pipelines(diamonds=True)
        if "W4" in chosen:
            self.filter_files()
        return self.rows

    def warm_up(self) -> None:
        """Untimed: bulk-write a short history and query its lineage on both stores, then
        record runs step by step until graphmd's put_execution time settles, so the
        measurements see a warm server, as a user's long-running Neo4j is. A fresh Neo4j
        plans every statement and runs its code interpreted at first, then JIT-compiles it:
        measured on 2 cores, its put_execution took ~10 ms per call over the first 50 runs,
        ~3.8 ms after 200, ~3.3 ms after 400 and ~2.7 ms after 700-1,000. Runs are recorded
        in windows of WARM_UP_WINDOW until warmed_up says the time per call has settled
        (at least warm_up_runs runs, at most warm_up_max_runs). ml-metadata then writes the
        same runs (these and the writers' rounds: each window and each writer's share its
        own pipeline from run 0), so both stores hold as many nodes and events. It writes
        them with put_lineage_subgraph, each pipeline's nodes linked to one Pipeline context
        rather than to a context per run: recording them call by call took ~90 s of a
        ~1,250 s default run on 2 cores, for no measurement (SQLite has no JIT to warm)."""
        runs = self.sizes.warm_up_runs
        if not runs:
            return
        self.say(f"warm-up (untimed): {runs} runs in bulk on each store, then more until graphmd's "
                 f"put_lineage_subgraph time settles (at most {self.sizes.warm_up_max_bulk_runs} runs), then runs "
                 f"step by step until its put_execution time settles (at most {self.sizes.warm_up_max_runs} runs)")
        ids: dict[str, dict[str, int]] = {side: {} for side in self.backends}
        for side, b in self.backends.items():
            build_history(b, self.type_ids[side], "warm-up-bulk", 0, runs, ids[side], diamonds=True)
            for hops in self.sizes.hops:
                b.upstream_call(ids[side][f"{run_name(runs - 1)}/model"], hops)()
        self.warm_up_bulk(runs, ids)
        graphmd, recorded, per_call = self.backends["graphmd"], 0, []
        pipelines: list[int] = []  # the runs of each pipeline recorded step by step
        window = min(WARM_UP_WINDOW, runs)
        while recorded < self.sizes.warm_up_max_runs:
            timing = record_runs(graphmd, self.type_ids["graphmd"], f"warm-up-steps-{recorded}", window)
            if timing.error:
                raise RuntimeError(f"graphmd failed during the warm-up: {timing.error}")
            recorded += window
            pipelines.append(window)
            per_call.append(timing.seconds / timing.count)
            if recorded >= runs and warmed_up(per_call):
                break
        self.say(f"  graphmd put_execution per call over each {window} warm-up runs: "
                 + ", ".join(f"{1000 * t:.1f} ms" for t in per_call))
        if "W1" in self.sizes.workloads:
            pipelines += self.warm_up_writers()
        for k, pipeline_runs in enumerate(pipelines):
            build_history(self.backends["ml-metadata"], self.type_ids["ml-metadata"], f"warm-up-steps-{k}", 0,
                          pipeline_runs, {}, diamonds=False)

    def warm_up_bulk(self, first: int, ids: dict[str, dict[str, int]]) -> None:
        """Untimed: extend the warm-up's bulk history on graphmd in windows of
        BULK_WARM_UP_WINDOW runs until its time per node settles (warmed_up, at most
        warm_up_max_bulk_runs runs), then write the same runs to ml-metadata. The
        step-by-step warm-up does not warm the bulk path: on a fresh bench server after it
        (2 cores), the first 250 history runs wrote 4,100 nodes/s, the next ones
        8,800-10,300, so W2's first row measured mostly the server's warm-up."""
        graphmd, end = self.backends["graphmd"], first
        per_node: list[float] = []
        window = min(BULK_WARM_UP_WINDOW, self.sizes.warm_up_max_bulk_runs)
        while window and end - first < self.sizes.warm_up_max_bulk_runs:
            timing = build_history(graphmd, self.type_ids["graphmd"], "warm-up-bulk", end, end + window,
                                   ids["graphmd"], diamonds=True)
            if timing.error:
                raise RuntimeError(f"graphmd failed during the bulk warm-up: {timing.error}")
            end += window
            per_node.append(timing.seconds / timing.count)
            if warmed_up(per_node):
                break
        if per_node:
            self.say(f"  graphmd put_lineage_subgraph, nodes per second over each {window} warm-up runs: "
                     + ", ".join(f"{1 / t:,.0f}" for t in per_node))
            build_history(self.backends["ml-metadata"], self.type_ids["ml-metadata"], "warm-up-bulk", first, end,
                          ids["ml-metadata"], diamonds=True)

    def warm_up_writers(self) -> list[int]:
        """Untimed: rounds of W1's concurrent writers on graphmd until their executions per
        second settle (warmed_up over rounds, at most warm_up_max_rounds); returns the runs
        of each pipeline they recorded, for ml-metadata to write the same. A server warmed by
        one writer is not yet warm for several: on a fresh bench server after the
        step-by-step warm-up, six 4 x 60 rounds in a row reached 443, 486, 566, 628, 634 and
        677 exec/s (2 cores), so a single timed round measured the server's warm-up, not its
        speed."""
        s = self.sizes
        if s.warm_up_max_rounds <= 0 or s.writers <= 0:
            return []
        per_call: list[float] = []
        while len(per_call) < s.warm_up_max_rounds:
            timing = record_concurrently(self.configs["graphmd"], f"warm-up-writers-{len(per_call)}", s.writers,
                                         s.writer_runs)
            if timing.error:
                raise RuntimeError(f"graphmd failed during the writers' warm-up: {timing.error}")
            per_call.append(timing.seconds / timing.count)
            if warmed_up(per_call):
                break
        self.say(f"  graphmd with {s.writers} writers, executions per second over each warm-up round: "
                 + ", ".join(f"{1 / t:.0f}" for t in per_call))
        return len(per_call) * s.writers * [WRITER_WARM_UP_RUNS, s.writer_runs]

    # --- W1 ---------------------------------------------------------------------------------

    def record(self) -> None:
        s = self.sizes
        self.say(f"W1: {s.w1_runs} runs of 7 stages, one put_execution per stage")
        single = {name: record_runs(b, self.type_ids[name], "w1", s.w1_runs) for name, b in self.backends.items()}
        self._row(Row("W1 record, 1 writer", f"{s.w1_runs} runs = {7 * s.w1_runs} executions",
                      single["ml-metadata"], single["graphmd"], unit="exec", target=1.0))
        rounds = max(1, s.writer_rounds)
        self.say(f"W1: {s.writers} concurrent writers x {s.writer_runs} runs, separate pipelines; "
                 f"{rounds} rounds a store, alternated")
        concurrent: dict[str, list[Timing]] = {name: [] for name in self.configs}
        for i in range(rounds):
            for name, config in self.configs.items():
                concurrent[name].append(record_concurrently(config, f"w1c-{i}", s.writers, s.writer_runs))
        rates = {name: [t.count / t.seconds for t in timings if t.seconds and not t.error]
                 for name, timings in concurrent.items()}
        spread = "; ".join(f"{name} {min(r):.0f}-{max(r):.0f} exec/s" for name, r in rates.items() if r)
        # ml-metadata's writers can abort on SQLite's lock (ABORTED: "Cannot create node ..."), as
        # its users meet it: the row is the median of its completed rounds, and says how many
        # aborted. A graphmd round that fails fails the row.
        aborted = [t for t in concurrent["ml-metadata"] if t.error]
        failures = (f"; ml-metadata's median of the {rounds - len(aborted)} rounds that completed: {len(aborted)} "
                    f"stopped by an error, the first: {aborted[0].error[:160]}" if aborted else "")
        self._row(Row(f"W1 record, {s.writers} writers", f"{s.writers} x {s.writer_runs} runs = "
                      f"{7 * s.writers * s.writer_runs} executions",
                      median_round(concurrent["ml-metadata"], skip_failed=True),
                      median_round(concurrent["graphmd"]), unit="exec", target=2.0,
                      note=f"{s.writers} processes; ml-metadata's share one SQLite file; median of {rounds} rounds "
                           f"({spread}){failures}"))

    # --- W2, W3, W3d ------------------------------------------------------------------------

    def pipelines(self, *, diamonds: bool) -> None:
        """Grow one pipeline's history to each size in ``runs`` with put_lineage_subgraph
        batches (W2), querying upstream lineage from its newest model at each size (W3)."""
        name = "W3d" if diamonds else "W3"
        prefix = "diamond" if diamonds else "chain"
        ids: dict[str, dict[str, int]] = {side: {} for side in self.backends}  # artifact ids by plan name
        done = 0
        for runs in sorted(self.sizes.runs):
            self.say(f"{name}: history of {runs:,} runs{' with diamonds' if diamonds else ''} "
                     f"(put_lineage_subgraph batches of ~1,000 nodes)")
            builds = {side: build_history(b, self.type_ids[side], prefix, done, runs, ids[side], diamonds=diamonds)
                      for side, b in self.backends.items()}
            if "W2" in self.sizes.workloads:
                self._row(Row("W2 bulk, pipeline runs" + (" (diamonds)" if diamonds else ""),
                              f"runs {done:,}..{runs:,} = {builds['graphmd'].count:,} nodes",
                              builds["ml-metadata"], builds["graphmd"], unit="nodes", target=1.0))
            done = runs
            if name in self.sizes.workloads:
                newest = f"{run_name(runs - 1)}/model"
                self.lineage(name, runs, {side: side_ids[newest] for side, side_ids in ids.items()})

    def lineage(self, name: str, runs: int, newest: dict[str, int]) -> None:
        """Upstream lineage from the newest model at each hop limit, on both stores; with W5
        the same statement through the bare driver, and the client's memory while streaming
        and while reading the whole graph."""
        graphmd = self.backends["graphmd"]
        for hops in self.sizes.hops:
            found = {}
            for side, b in self.backends.items():
                seconds, size = best_of(b.upstream_call(newest[side], hops), self.sizes.repeat)
                found[side] = Timing(seconds, size.nodes, extra=dataclasses.asdict(size))
            m, g = found["ml-metadata"], found["graphmd"]
            note = f"{g.count:,} nodes"
            if hops is None or hops > MLMD_HOP_CAP:
                note += (f"; ml-metadata pages past its {MLMD_HOP_CAP}-hop cap: "
                         f"{self.backends['ml-metadata'].paged_queries:,} queries")
            if m.extra != g.extra:
                note += f"; RESULTS DIFFER: ml-metadata {m.extra}, graphmd {g.extra}"
            target = (W3_DEEP_TARGET if name == "W3" and runs >= W3_DEEP_RUNS and (hops is None or hops >= 20)
                      else 1.0)
            label = f"{runs:,} runs, {'unlimited' if hops is None else hops} hops"
            self._row(Row(f"{name} lineage up", label, m, g, note=note, target=target,
                          db_hits=graphmd.upstream_db_hits(newest["graphmd"], hops)))
            if name == "W3" and "W5" in self.sizes.workloads:
                self.floor.append(self._floor_row(label, newest["graphmd"], hops, g))
        if name == "W3" and "W5" in self.sizes.workloads:
            steps, peak = graphmd.stream_upstream_peak(newest["graphmd"], None)
            whole_peak, held = graphmd.whole_upstream_peak(newest["graphmd"], None)
            self.memory.append((f"{runs:,} runs, unlimited hops", steps, peak, whole_peak, held))

    def _floor_row(self, label: str, newest: int, hops: int | None, measured: Timing) -> Row:
        """W5: graphmd's upstream call against its statement through the bare driver, timed
        alternately (three times --repeat pairs: the two differ by milliseconds, well inside
        the drift between rows). Calls over LONG_CALL seconds are timed once each, the bare
        one first: graphmd's W3 call (``measured``) was the first on this history, and set
        against it, a bare call would find warm what that call loaded (timed so, the same
        code measured 1.6 at 300,000 nodes; one call each after it, 0.96-1.04)."""
        graphmd = self.backends["graphmd"]
        bare, own = graphmd.bare_upstream_call(newest, hops), graphmd.upstream_call(newest, hops)
        if measured.seconds > LONG_CALL:
            (bare_s, records), (own_s, size) = timed(bare), timed(own)
        else:
            (bare_s, records), (own_s, size) = paired(bare, own, 3 * self.sizes.repeat, long=LONG_CALL)
        return Row("W5 graphmd vs bare driver", label, Timing(bare_s, records), Timing(own_s, size.nodes),
                   note=f"{size.nodes:,} nodes")

    # --- W4 ---------------------------------------------------------------------------------

    def filter_files(self) -> None:
        s = self.sizes
        self.say(f"W4: {s.files:,} file artifacts in {s.datasets:,} Dataset contexts")
        builds = {side: build_files(b, self.type_ids[side], s.files, s.datasets) for side, b in self.backends.items()}
        if "W2" in s.workloads:
            self._row(Row("W2 bulk, artifacts + attributions", f"{s.files:,} nodes", builds["ml-metadata"],
                          builds["graphmd"], unit="nodes", target=1.0))
        # A file type, the top tenth of sizes, and the Dataset context of a batch in the middle.
        batches = -(-s.files // FILES_PER_BATCH)
        query = (f"type = 'File1' AND properties.size.int_value > {min(s.files, FILES_PER_BATCH) * 9 // 10} "
                 f"AND contexts_a.name = 'ds-{batches // 2 % s.datasets}'")
        found = {}
        for side, b in self.backends.items():
            seconds, count = best_of(b.get_artifacts_call(query), s.repeat)
            found[side] = Timing(seconds, count)
        m, g = found["ml-metadata"], found["graphmd"]
        note = f"{g.count} artifacts" + ("" if m.count == g.count else f"; RESULTS DIFFER: ml-metadata {m.count}")
        self._row(Row("W4 filter get_artifacts", f"{s.files:,} files", m, g, note=note, target=1.0))
