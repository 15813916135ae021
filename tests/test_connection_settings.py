"""Connection settings given the wrong way are said as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphmd import InvalidArgumentError, MetadataStore
from graphmd._config import resolve_settings


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config or GRAPHMD_NEO4J_* variable leaks into the test."""
    monkeypatch.setenv("GRAPHMD_CONFIG", str(tmp_path / "config.toml"))
    for var in ("GRAPHMD_NEO4J_URI", "GRAPHMD_NEO4J_USER", "GRAPHMD_NEO4J_PASSWORD", "GRAPHMD_NEO4J_DATABASE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.mark.parametrize("field, value", [("uri", 123), ("uri", b"bolt://127.0.0.1:7687"), ("user", 5),
                                          ("password", b"secret-bytes"), ("database", 7)])
def test_a_setting_that_is_no_string_is_an_invalid_argument_naming_it(isolated: Path, field: str,
                                                                      value: object) -> None:
    for call in (resolve_settings, MetadataStore):
        with pytest.raises(InvalidArgumentError) as raised:
            call(**{field: value})  # type: ignore[operator]
        assert raised.value.field == field
        assert f"{field} " in raised.value.message and "must be a string" in raised.value.message
        assert "secret-bytes" not in raised.value.message  # a password is never shown


def test_a_config_file_value_that_is_no_string_names_the_file(isolated: Path) -> None:
    (isolated / "config.toml").write_text('[neo4j]\nuri = "bolt://127.0.0.1:7687"\npassword = 12345678\n')
    with pytest.raises(InvalidArgumentError) as raised:
        resolve_settings()
    assert raised.value.field == "password"
    assert str(isolated / "config.toml") in raised.value.message and "quote it" in raised.value.message
    assert "12345678" not in raised.value.message
