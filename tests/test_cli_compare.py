"""`graphmd compare` and `graphmd diff` compare custom properties too."""

from __future__ import annotations

import json
import re

import pytest

from graphmd import MetadataStore
from graphmd._tfx_pipeline import History, record_history


@pytest.fixture
def history(store: MetadataStore) -> History:
    return record_history(store, 6)


def _accelerators(history: History) -> tuple[str, str]:
    a, b = (history.plans[r].step("Trainer").custom_properties["accelerator"] for r in (4, 5))
    assert (a, b) == ("cpu", "gpu")  # the recorded history has them differ here
    return a, b


def test_compare_shows_custom_properties_and_marks_the_differing_ones(cli, history):
    cpu, gpu = _accelerators(history)
    text = cli("compare", "run-0004", "run-0005")
    assert re.search(rf"^\*\s+Trainer\.accelerator \(custom\)\s+{cpu}\s+{gpu}", text, re.MULTILINE), text
    assert re.search(r"^\s+Trainer\.python \(custom\)\s+3\.11\s+3\.11", text, re.MULTILINE), text  # same: no '*'


def test_diff_shows_custom_properties_and_marks_the_differing_ones(cli, history):
    cpu, gpu = _accelerators(history)
    a, b = history.artifacts["run-0004/model"], history.artifacts["run-0005/model"]
    text = cli("diff", str(a), str(b))
    assert re.search(rf"^\*\s+Trainer\.accelerator \(custom\)\s+{cpu}\s+{gpu}", text, re.MULTILINE), text
    data = json.loads(cli("diff", str(a), str(b), "--format", "json"))
    accelerator = next(p for p in data["parameters"] if p["field"] == "Trainer.accelerator")
    assert accelerator == {"field": "Trainer.accelerator", "custom": True, "values": [cpu, gpu], "differs": True}
    rate = next(p for p in data["parameters"] if p["field"] == "Trainer.learning_rate")
    assert rate["custom"] is False
