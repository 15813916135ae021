"""Drive scripts/screenshot.cjs against a fresh local Neo4j holding six pipeline runs.

Usage (via scripts/screenshot, which installs Chromium and playwright-core first):
    .venv/bin/python scripts/screenshot.py docs/img/lineage.png
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from graphmd import MetadataStore
from graphmd import _cypher_files as files
from graphmd._local_neo4j import LocalNeo4j, free_port
from graphmd._tfx_pipeline import record_history

RUNS = 6
MAX_HOPS = 5


def main(out: str) -> int:
    home = Path(tempfile.mkdtemp(prefix="graphmd-screenshot-"))
    server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(),
                        password="graphmd-" + secrets.token_hex(8), record_in_config=False)
    try:
        server.start(say=print)
        with MetadataStore(server.uri, "neo4j", server.password) as store:
            history = record_history(store, RUNS)
        model_id = history.artifacts[f"run-{RUNS - 1:04d}/model"]
        job = {
            "browser": f"{server.http_url}/browser/?dbms={server.uri}",
            "bolt": server.uri,
            "password": server.password,
            "style": (files.cypher_dir() / "graphmd.grass").read_text(),
            "params": [f":param artifact_id => {model_id}", f":param max_hops => {MAX_HOPS}"],
            "query": files.load("lineage_upstream"),
            "out": str(Path(out).resolve()),
        }
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["node", "scripts/screenshot.cjs"], input=json.dumps(job), text=True,
                                env={**os.environ, "NODE_DIR": os.environ.get("NODE_DIR", ".cache/screenshot")})
        if result.returncode == 0:
            print(f"saved {out}: Neo4j Browser, lineage of run-{RUNS - 1:04d}/model ({MAX_HOPS} hops upstream)")
        return result.returncode
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/img/lineage.png"))
