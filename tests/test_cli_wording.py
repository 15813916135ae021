"""Small wording: counts of one, a foreign page token, a parent-link phase, a missing directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphmd import Context, ContextType, InvalidArgumentError, ListOptions, MetadataStore


def test_info_says_1_context_not_1_contexts(cli, store: MetadataStore):
    store.put_contexts([Context(type_id=store.put_context_type(ContextType(name="Run")), name="only")])
    text = cli("info")
    assert "1 context," in text and "0 parent contexts" in text and "1 contexts" not in text


def test_a_foreign_page_token_says_it_is_not_one_this_store_handed_out(store: MetadataStore):
    with pytest.raises(InvalidArgumentError) as info:
        store.list_page(Context, ListOptions(next_page_token="not-a-token"))
    assert "is not a token this store handed out" in str(info.value) and "padding" not in str(info.value)
    assert info.value.field == "next_page_token"


def test_export_mlmd_progress_does_not_count_contexts_as_parent_links(store: MetadataStore, tmp_path: Path):
    pytest.importorskip("ml_metadata")
    from graphmd.mlmd._export import export_mlmd

    store.put_contexts([Context(type_id=store.put_context_type(ContextType(name="Run")), name=f"r{i}")
                        for i in range(3)])
    phases: dict[str, tuple[int, int | None]] = {}
    result = export_mlmd(store, tmp_path / "m.sqlite", progress=lambda phase, done, total: phases.update(
        {phase: (done, total)}))
    assert result.written["parent_contexts"] == 0
    assert "parents" not in phases and phases["contexts' parents"] == (3, 3)


def test_export_mlmd_into_a_missing_directory_says_so(cli, tmp_path: Path):
    pytest.importorskip("ml_metadata")
    target = tmp_path / "nonexistent" / "dir" / "m.sqlite"
    assert f"the directory {target.parent} does not exist" in cli("export-mlmd", str(target), code=1)
