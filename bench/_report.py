"""The benchmark's table, and the machine it ran on."""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
from importlib import metadata
from typing import Any

from ._workloads import Timing


@dataclasses.dataclass
class Row:
    """One line of the table: the same workload on both stores.

    ``rate`` rows compare throughput (``unit`` per second: executions, nodes); the others
    compare the time of one call. ``ratio`` is ml-metadata's time over graphmd's for the
    same work, so > 1 means graphmd is faster.
    """

    workload: str
    size: str
    mlmd: Timing | None
    graphmd: Timing | None
    unit: str | None = None  # set for throughput rows: what count/second measures
    db_hits: int | None = None
    note: str = ""
    target: float | None = None  # the ratio this row must reach

    @property
    def ratio(self) -> float | None:
        m, g = self.mlmd, self.graphmd
        if m is None or g is None or m.error or g.error or not m.seconds or not g.seconds:
            return None
        if self.unit:
            return (g.count / g.seconds) / (m.count / m.seconds)
        return m.seconds / g.seconds

    def verdict(self) -> str:
        if self.target is None or self.ratio is None:
            return ""
        if self.ratio >= self.target:
            return f"met (>= {self.target:g})"
        return f"MISSED: {self.ratio / self.target:.0%} of {self.target:g}"

    def as_json(self) -> dict[str, Any]:
        return {"workload": self.workload, "size": self.size, "unit": self.unit, "ratio": self.ratio,
                "db_hits": self.db_hits, "note": self.note, "target": self.target,
                "mlmd": dataclasses.asdict(self.mlmd) if self.mlmd else None,
                "graphmd": dataclasses.asdict(self.graphmd) if self.graphmd else None}


def _cell(t: Timing | None, unit: str | None) -> str:
    if t is None:
        return "-"
    if t.error:
        return f"failed after {t.count:,} {unit or 'results'}: {t.error[:120]}"
    if unit:
        return f"{t.seconds:.2f} s ({t.count / t.seconds:,.0f} {unit}/s)" if t.seconds else "-"
    return f"{t.seconds * 1000:,.1f} ms"


def markdown_table(rows: list[Row]) -> str:
    """The rows as a Markdown table (readable as plain text too)."""
    lines = [
        "| workload | size | ml-metadata | graphmd | ratio | db hits | target | note |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        hits = f"{r.db_hits:,}" if r.db_hits is not None else ""
        lines.append(f"| {r.workload} | {r.size} | {_cell(r.mlmd, r.unit)} | {_cell(r.graphmd, r.unit)} | {ratio} "
                     f"| {hits} | {r.verdict()} | {r.note} |")
    return "\n".join(lines)


FLOOR_TARGET = 1.3  # graphmd's time over the bare driver's, at most


def floor_table(rows: list[Row]) -> str:
    """W5: graphmd's lineage call against its own statement through the bare driver (rows
    carry the driver in the ml-metadata slot)."""
    lines = [
        "| workload | size | bare driver | graphmd | graphmd / driver | target | note |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        overhead = r.graphmd.seconds / r.mlmd.seconds if r.mlmd and r.graphmd and r.mlmd.seconds else None
        verdict = "" if overhead is None else (
            f"met (<= {FLOOR_TARGET:g})" if overhead <= FLOOR_TARGET else f"MISSED by {overhead / FLOOR_TARGET - 1:.0%}")
        lines.append(f"| {r.workload} | {r.size} | {_cell(r.mlmd, None)} | {_cell(r.graphmd, None)} | "
                     f"{'-' if overhead is None else f'{overhead:.2f}'} | {verdict} | {r.note} |")
    return "\n".join(lines)


def memory_table(memory: list[tuple[str, int, int, int, int]]) -> str:
    """W5: the client's peak allocation (tracemalloc) while streaming the unlimited
    lineage, and while reading it whole with get_lineage_subgraph, with what that graph holds."""
    lines = ["| unlimited lineage | steps | streamed: client peak | whole graph: client peak | graph held |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {size} | {steps:,} | {peak / 2**10:,.0f} KiB | {whole / 2**20:,.1f} MiB | {held / 2**20:,.1f} MiB |"
              for size, steps, peak, whole, held in memory]
    return "\n".join(lines)


def _command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine(neo4j: str) -> dict[str, str]:
    """What the run ran on: cores, memory, CPU, versions, Neo4j's memory settings."""
    cpu = next((line.split(":", 1)[1].strip() for line in _command("lscpu").splitlines()
                if line.startswith("Model name")), platform.processor() or "?")
    memory = next((line for line in _command("free", "-h").splitlines() if line.startswith("Mem:")), "?")

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "memory (free -h)": " ".join(memory.split()[:4]),
        "Python": platform.python_version(),
        "ml-metadata": version("ml-metadata"),
        "neo4j driver": f"{version('neo4j')} (neo4j-rust-ext {version('neo4j-rust-ext')})",
        "Neo4j server": neo4j,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
