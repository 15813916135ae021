"""Where graphmd finds Neo4j: arguments, then GRAPHMD_* environment variables, then the
config file that `graphmd neo4j start` writes, then defaults.

Credentials are never defaults in code except Neo4j's own user name ``neo4j``; a password
comes from an argument, GRAPHMD_NEO4J_PASSWORD, or the config file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["Settings", "resolve_settings", "config_path", "data_dir", "cache_dir", "write_config"]

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_USER = "neo4j"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def config_path() -> Path:
    """The config file: $GRAPHMD_CONFIG, else $XDG_CONFIG_HOME/graphmd/config.toml."""
    explicit = os.environ.get("GRAPHMD_CONFIG")
    if explicit:
        return Path(explicit)
    return _xdg("XDG_CONFIG_HOME", ".config") / "graphmd" / "config.toml"


def data_dir() -> Path:
    """Where the local Neo4j keeps its data by default: $XDG_DATA_HOME/graphmd."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "graphmd"


def cache_dir() -> Path:
    """Where downloaded Neo4j jars are cached: $GRAPHMD_CACHE_DIR or $XDG_CACHE_HOME/graphmd."""
    explicit = os.environ.get("GRAPHMD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return _xdg("XDG_CACHE_HOME", ".cache") / "graphmd"


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The [neo4j] table of the config file, or {} when there is none."""
    path = path or config_path()
    try:
        with path.open("rb") as fh:
            return dict(tomllib.load(fh).get("neo4j", {}))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        print(f"graphmd: ignoring unreadable config {path}: {error}", file=sys.stderr)
        return {}


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(values: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``values`` into the [neo4j] table of the config file (mode 0600)."""
    path = path or config_path()
    merged = read_config(path)
    merged.update({k: v for k, v in values.items() if v is not None})
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by graphmd. Holds the Neo4j connection graphmd uses by default.", "[neo4j]"]
    for key, value in sorted(merged.items()):
        rendered = str(value).lower() if isinstance(value, bool) else (
            str(value) if isinstance(value, (int, float)) else _toml_string(str(value))
        )
        lines.append(f"{key} = {rendered}")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


@dataclasses.dataclass(frozen=True)
class Settings:
    """A resolved Neo4j connection. ``repr`` hides the password."""

    uri: str
    user: str
    password: str | None = dataclasses.field(repr=False)
    database: str | None = None
    source: str = "defaults"


def resolve_settings(
    uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
) -> Settings:
    """The connection to use, each value from the first of: argument, env, config file."""
    env = os.environ
    config = read_config()
    sources = []

    def pick(arg: Any, env_key: str, config_key: str, default: Any) -> Any:
        if arg is not None:
            sources.append("arguments")
            return arg
        if env.get(env_key):
            sources.append("environment")
            return env[env_key]
        if config.get(config_key) is not None:
            sources.append(str(config_path()))
            return config[config_key]
        return default

    resolved_uri = pick(uri, "GRAPHMD_NEO4J_URI", "uri", DEFAULT_URI)
    resolved_user = pick(user, "GRAPHMD_NEO4J_USER", "user", DEFAULT_USER)
    resolved_password = pick(password, "GRAPHMD_NEO4J_PASSWORD", "password", None)
    resolved_db = pick(database, "GRAPHMD_NEO4J_DATABASE", "database", None)
    source = ", ".join(dict.fromkeys(sources)) or "defaults"
    return Settings(resolved_uri, resolved_user, resolved_password, resolved_db, source)
