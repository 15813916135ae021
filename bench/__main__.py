"""`python -m bench` (or `make bench`): graphmd against ml-metadata on the same workloads.

Starts its own Neo4j (unless --neo4j-uri is given), runs each workload on ml-metadata 1.17.1
(SQLite file, in-process) and on graphmd, and prints one table; --json and --markdown save it.
The default run (the sizes of docs/performance.md's targets) takes 13-21 minutes on 2 cores;
`--runs 3000 --files 100000` about 5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from ._report import floor_table, machine, markdown_table, memory_table
from . import _suite
from ._suite import WORKLOADS, Sizes, Suite, bench_neo4j, given_neo4j


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x.replace("_", "")) for x in text.split(",") if x)


def _hops(text: str) -> tuple[int | None, ...]:
    return tuple(None if x == "unlimited" else int(x) for x in text.split(",") if x)


def _parser() -> argparse.ArgumentParser:
    d = Sizes()
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--w1-runs", type=int, default=d.w1_runs, help="W1: pipeline runs recorded by one writer")
    p.add_argument("--writers", type=int, default=d.writers, help="W1: concurrent writer processes")
    p.add_argument("--writer-runs", type=int, default=d.writer_runs, help="W1: runs each concurrent writer records")
    p.add_argument("--writer-rounds", type=int, default=d.writer_rounds,
                   help="W1: timed rounds of the concurrent writers on each store, alternated (median)")
    p.add_argument("--runs", type=_ints, default=d.runs, help="W2/W3/W3d: history sizes in runs, comma-separated")
    p.add_argument("--hops", type=_hops, default=d.hops, help="W3/W3d: hop limits, comma-separated ('unlimited')")
    p.add_argument("--files", type=int, default=d.files, help="W4: file artifacts in the store")
    p.add_argument("--datasets", type=int, default=d.datasets, help="W4: Dataset contexts the files belong to")
    p.add_argument("--repeat", type=int, default=d.repeat, help="timed repetitions of each query (median)")
    p.add_argument("--warm-up-runs", type=int, default=d.warm_up_runs,
                   help="untimed pipeline runs bulk-written on each store first, and the fewest recorded step by step")
    p.add_argument("--warm-up-max-runs", type=int, default=d.warm_up_max_runs,
                   help="the most untimed runs recorded step by step while graphmd's put_execution still gets faster")
    p.add_argument("--warm-up-max-bulk-runs", type=int, default=d.warm_up_max_bulk_runs,
                   help="the most untimed runs bulk-written while graphmd's put_lineage_subgraph still gets faster")
    p.add_argument("--warm-up-max-rounds", type=int, default=d.warm_up_max_rounds,
                   help="the most untimed rounds of the concurrent writers while graphmd's rate still changes")
    p.add_argument("--only", type=lambda t: tuple(t.split(",")), default=WORKLOADS,
                   help=f"workloads to run, comma-separated, of {','.join(WORKLOADS)}")
    p.add_argument("--heap", default="4g", help="heap of the benchmark's own Neo4j (the unlimited lineage of 30,000 runs is held whole)")
    # graphmd's store reaches ~1.9 GB in the default run (1,834 MiB measured for its histories
    # and files alone): the page cache holds it whole, as Neo4j's sizing advice asks and as the
    # OS's cache holds ml-metadata's SQLite file.
    p.add_argument("--pagecache", default="4g",
                   help="page cache of the benchmark's own Neo4j (the default run's store reaches ~1.9 GB)")
    p.add_argument("--neo4j-uri", help="use this Neo4j instead of starting one; its database must be empty")
    p.add_argument("--neo4j-user", default="neo4j")
    p.add_argument("--neo4j-password")
    p.add_argument("--json", type=Path, help="also write the rows and the machine as JSON here")
    p.add_argument("--markdown", type=Path, help="also write the table and the machine as Markdown here")
    return p


def _say(started: float, message: str) -> None:
    """A progress line, stamped with the run's elapsed time (the default run's budget is 15 minutes)."""
    print(f"[{time.monotonic() - started:5.0f} s] {message}", flush=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (`timeout`, `kill`, a CI job cancelled) ends the run: its Neo4j (4 GB of heap
    and as much page cache) is stopped and its temporary files removed, then the process
    exits with 128 + the signal. Done here, not by raising into the run, whose exception
    would be lost if it landed in a finaliser."""
    for undo in reversed(_suite.ON_TERMINATE):
        undo()
    for path in _WORKDIRS:
        shutil.rmtree(path, ignore_errors=True)
    sys.stdout.flush()
    os._exit(128 + signum)


_WORKDIRS: list[Path] = []


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; SIGTERM ends it cleanly while it runs (the handler before it is
    put back on return, for a caller in the same process: a forked child of a test
    process that kept it ran the bench's cleanup on SIGTERM, and a multiprocessing pool's
    terminate hung on it)."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _run(argv)
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _run(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        print(f"unknown workloads: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    sizes = Sizes(w1_runs=args.w1_runs, writers=args.writers, writer_runs=args.writer_runs, runs=args.runs,
                  hops=args.hops, files=args.files, datasets=args.datasets, repeat=args.repeat,
                  warm_up_runs=args.warm_up_runs, workloads=args.only, warm_up_max_runs=args.warm_up_max_runs,
                  warm_up_max_bulk_runs=args.warm_up_max_bulk_runs, writer_rounds=args.writer_rounds,
                  warm_up_max_rounds=args.warm_up_max_rounds)
    workdir = Path(tempfile.mkdtemp(prefix="graphmd-bench-"))
    _WORKDIRS.append(workdir)
    started = time.monotonic()
    try:
        server_for_run = (given_neo4j(args.neo4j_uri, args.neo4j_user, args.neo4j_password) if args.neo4j_uri
                          else bench_neo4j(args.heap, args.pagecache))
        with server_for_run as (config, server):
            print(f"graphmd on {server}; ml-metadata on {workdir / 'mlmd.sqlite'}", flush=True)
            suite = Suite(sizes, config, workdir, say=lambda m: _say(started, m))
            try:
                rows = suite.run()
            finally:
                suite.close()
            tables = [markdown_table(rows)]
            if suite.floor:
                tables.append(floor_table(suite.floor))
            if suite.memory:
                tables.append(memory_table(suite.memory))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    facts = machine(server)
    facts["wall time of the run"] = f"{time.monotonic() - started:,.0f} s"
    table = "\n\n".join(tables)
    described = "\n".join(f"- {k}: {v}" for k, v in facts.items())
    print(f"\n{table}\n\n{described}")
    if args.markdown:
        args.markdown.write_text(f"{table}\n\n{described}\n")
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "rows": [r.as_json() for r in rows],
                                         "floor": [r.as_json() for r in suite.floor],
                                         "memory": [{"size": m[0], "steps": m[1], "peak_bytes": m[2],
                                                     "whole_graph_peak_bytes": m[3], "whole_graph_held_bytes": m[4]}
                                                    for m in suite.memory]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
