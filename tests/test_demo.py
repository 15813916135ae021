"""`make demo` against the test Neo4j: every part runs and prints its answers."""

from __future__ import annotations

from graphmd import MetadataStore
from graphmd import demo


def test_demo_answers_every_question(store: MetadataStore, neo4j_server, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    page = tmp_path / "lineage.html"
    assert demo.main(["--runs", "4", "--reset", "--page", str(page)]) == 0
    out = capsys.readouterr().out
    for step in range(1, 10):
        assert f"\n{step}. " in out
    assert "run-0003 (by alice): 7 executions COMPLETE, warm start from run-0002/model" in out
    for name in ("lineage_upstream", "lineage_downstream", "compare_runs", "what_can_be_reused", "who_triggered_run",
                 "model_hyperparameters", "model_location", "model_pushed", "training_environment",
                 "latest_blessed_model", "deployed_models"):
        assert f"cypher/{name}.cypher" in out, name
    # Runs 0-2 were pushed to the history's one serving directory, run 3 was not.
    assert "target='/serving/taxi', model='run-0002/model'" in out and "previous_model='run-0001/model'" in out
    compared = out.split("## Compare runs")[1].split("Cypher  cypher/compare_runs")[0].splitlines()[1:-1]
    assert len(compared) > 10 and "blessed" in out
    assert len({len(line) for line in compared if " pushed to " not in line and " pushed at " not in line}) == 1, \
        compared  # the columns line up, values wider than a run name included
    assert "cache hit, reuse run-0003/Trainer's outputs" in out
    # Run 3's model is the newest but was not blessed: the baseline and blessed model is run 2's.
    assert "latest_blessed_model('Model', pipeline taxi): run-0002/model" in out
    assert "cypher/latest_blessed_model.cypher: run-0002/model, blessed by run-0002/blessing" in out
    assert ":param artifact_id =>" in out
    assert f"  {page}\n" in out and 'id="lineage-data"' in page.read_text(encoding="utf-8")
    # On a server of the user's (no export line printed), the hint points at no export line.
    assert "(the same from the command line: graphmd lineage" in out and "export below" not in out
    assert "run-0003/Trainer" in page.read_text(encoding="utf-8")
    counts = store.counts()
    assert counts["executions"] == 1 + 4 * 7 and counts["contexts"] == 1 + 1 + 4


def test_demo_refuses_a_store_with_data(store: MetadataStore, neo4j_server, monkeypatch):
    import pytest

    from graphmd._tfx_pipeline import record_history

    record_history(store, 2)
    monkeypatch.setenv("GRAPHMD_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("GRAPHMD_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("GRAPHMD_NEO4J_PASSWORD", neo4j_server.password or "")
    with pytest.raises(SystemExit, match="already holds artifacts"):
        demo.main(["--runs", "2"])
    assert store.counts()["executions"] == 14
