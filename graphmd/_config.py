"""Where graphmd finds Neo4j: arguments, then GRAPHMD_* environment variables, then the
config file that `graphmd neo4j start` writes, then defaults.

Credentials are never defaults in code except Neo4j's own user name ``neo4j``; a password
comes from an argument, GRAPHMD_NEO4J_PASSWORD, or the config file.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tempfile
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from ._errors import InvalidArgumentError, UnauthenticatedError, UnavailableError

__all__ = ["Settings", "URI_SCHEMES", "check_uri", "resolve_settings", "config_path", "data_dir", "cache_dir",
           "write_config", "same_server", "open_driver", "refused_field", "missing_config", "CONFIG_KEYS"]

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


def missing_config() -> str:
    """Words for a config file GRAPHMD_CONFIG names and that does not exist ("" when it
    names none, or one that exists): read as no config file, it leaves graphmd on the
    defaults, which a message about them should explain."""
    explicit = os.environ.get("GRAPHMD_CONFIG")
    if explicit and not os.path.lexists(explicit):
        return f"GRAPHMD_CONFIG names {explicit}, which does not exist"
    return ""


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
    """The [neo4j] table of the config file, or {} when there is none.

    Raises:
        InvalidArgumentError: the config path is a directory or unreadable, or the file is
            not TOML in UTF-8 with a [neo4j] table (``field`` "config"). Read past, it would
            leave graphmd on the default URI without a password: another server, perhaps.
    """
    path = path or config_path()
    fix = "fix or remove it, or set GRAPHMD_CONFIG to another file"
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise InvalidArgumentError(f"the config file {path} is a directory: {fix}", field="config") from None
    except OSError as error:
        raise InvalidArgumentError(f"the config file {path} cannot be read ({error.strerror or error}): {fix}",
                                   field="config") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidArgumentError(f"the config file {path} is not valid TOML ({error}): {fix}",
                                   field="config") from None
    table = data.get("neo4j", {})
    if not isinstance(table, dict):
        raise InvalidArgumentError(f"the config file {path}: `neo4j` is a table ([neo4j]), not "
                                   f"{_TOML_KINDS.get(type(table), type(table).__name__)}: {fix}", field="config")
    # A misspelt key or table would be read past as if absent: graphmd would go to the default
    # URI, or the server's default database, and send the recorded password there.
    for where, found, known in (("", data, ("neo4j",)), ("[neo4j] ", table, CONFIG_KEYS)):
        for key in found:
            if key not in known:
                close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InvalidArgumentError(
                    f"the config file {path}: {where}has no setting {key!r}{hint}; it takes "
                    f"{', '.join(known) if where else '[neo4j] with ' + ', '.join(CONFIG_KEYS)}: {fix}",
                    field="config")
    return dict(table)


# The settings of the config file's [neo4j] table.
CONFIG_KEYS = ("uri", "user", "password", "database", "home")


# What a TOML value that is not a table is, in words.
_TOML_KINDS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "an array"}


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(values: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``values`` into the [neo4j] table of the config file (mode 0600), replacing the
    file whole so a reader never sees half of it. A config path that is no regular file
    (``GRAPHMD_CONFIG=/dev/null``: no config file) is left as it is and nothing is written:
    replacing it would turn the machine's /dev/null into a file."""
    path = path or config_path()
    if path.exists() and not path.is_file():
        return path
    merged = read_config(path)
    merged.update({k: v for k, v in values.items() if v is not None})
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by graphmd. Holds the Neo4j connection graphmd uses by default.", "[neo4j]"]
    for key, value in sorted(merged.items()):
        rendered = str(value).lower() if isinstance(value, bool) else (
            str(value) if isinstance(value, (int, float)) else _toml_string(str(value))
        )
        lines.append(f"{key} = {rendered}")
    # A temporary file of this writer's own (mode 0600): two writers at once (two homes
    # started together) each replace the file whole, never rename the other's away.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclasses.dataclass(frozen=True)
class Settings:
    """A resolved Neo4j connection. ``repr`` hides the password. ``sources`` says where
    each value came from (``uri``, ``user``, ``password``, ``database``: "arguments", an
    environment variable's name, the config file's path or "defaults"); ``source`` lists
    them once each."""

    uri: str
    user: str
    password: str | None = dataclasses.field(repr=False)
    database: str | None = None
    source: str = "defaults"
    sources: dict[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    # The config file's server when its credentials were left out (the URI names another).
    config_server: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def described(self) -> str:
        """Where the values came from, for messages: "the URI from GRAPHMD_NEO4J_URI, the
        user from defaults, no password"."""
        parts = []
        for key, name in (("uri", "the URI"), ("user", "the user"), ("password", "the password")):
            origin = self.sources.get(key, self.source)
            if key == "password" and self.password is None:
                parts.append("no password")
            else:
                parts.append(f"{name} from {origin}")
        if self.config_server is not None:
            parts.append(f"not the config file's credentials, which are for {self.config_server}")
        return ", ".join(parts)


# Bolt URI schemes the driver accepts (+s: TLS verified, +ssc: TLS with a self-signed certificate).
URI_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def check_uri(uri: str, origin: str) -> None:
    """Raise InvalidArgumentError (field ``uri``) unless ``uri`` is a Bolt address with a
    host, naming where it came from; Neo4j Browser's http address is the usual slip."""
    try:
        parts = urllib.parse.urlsplit(uri)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        scheme, host, parts = "", None, None
    if parts is not None and parts.password is not None:  # the driver refuses it too, echoing the password
        shown = urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
        raise InvalidArgumentError(
            f"uri {shown!r} (from {origin}) holds a password: the driver takes none in the URI; give it as "
            "--password, password=, or GRAPHMD_NEO4J_PASSWORD (and the user likewise)", field="uri")
    if scheme in URI_SCHEMES and host:
        return
    hint = ""
    if scheme in ("http", "https"):
        hint = (" An http(s) address is Neo4j Browser's (port 7474); the driver speaks Bolt, by default on "
                "port 7687.")
    raise InvalidArgumentError(
        f"uri {uri!r} (from {origin}) is not a Neo4j Bolt address: give bolt://HOST:PORT or neo4j://HOST:PORT "
        f"(or their +s and +ssc forms for TLS), e.g. {DEFAULT_URI}.{hint}", field="uri")


def _string(key: str, value: Any, origin: str) -> str:
    """``value`` when it is a string; else InvalidArgumentError naming ``key`` and where the
    value came from (a password's value is never shown)."""
    if isinstance(value, str):
        return value
    shown = "" if key == "password" else f" {value!r}"
    where = "" if origin == "arguments" else " (quote it in the config file)"
    raise InvalidArgumentError(f"{key}{shown} (from {origin}) must be a string, not {type(value).__name__}{where}",
                               field=key)


def resolve_settings(
    uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
) -> Settings:
    """The connection to use, each value from the first of: argument, env, config file.

    The config file records one server: its user, password and database are used only
    with its URI (or when it records none), never sent to a server named elsewhere.

    Raises:
        InvalidArgumentError: a value is not a string (field ``uri``, ``user``,
            ``password`` or ``database``), the URI is not a Bolt address (field ``uri``),
            or the database is Neo4j's ``system`` database (field ``database``).
    """
    env = os.environ
    config = read_config()
    config_name = str(config_path())
    sources: dict[str, str] = {}

    def pick(key: str, arg: Any, env_key: str, default: Any, *, use_config: bool = True) -> Any:
        if arg is not None:
            sources[key] = "arguments"
            return _string(key, arg, "arguments")
        if env.get(env_key):
            sources[key] = env_key
            return env[env_key]
        if use_config and config.get(key) is not None:
            sources[key] = config_name
            return _string(key, config[key], config_name)
        sources[key] = "defaults"
        return default

    resolved_uri = pick("uri", uri, "GRAPHMD_NEO4J_URI", DEFAULT_URI)
    config_applies = config.get("uri") is None or same_server(str(config["uri"]), resolved_uri)
    resolved_user = pick("user", user, "GRAPHMD_NEO4J_USER", DEFAULT_USER, use_config=config_applies)
    resolved_password = pick("password", password, "GRAPHMD_NEO4J_PASSWORD", None, use_config=config_applies)
    resolved_db = pick("database", database, "GRAPHMD_NEO4J_DATABASE", None, use_config=config_applies)
    check_uri(resolved_uri, sources["uri"])
    if isinstance(resolved_db, str) and resolved_db.lower() == "system":
        raise InvalidArgumentError(
            f"database 'system' (from {sources['database']}) is Neo4j's own database of users and databases; "
            "graphmd's data lives in a user database: leave the database unset for the server's default "
            "(`neo4j`)", field="database")
    kinds = {"arguments" if v == "arguments" else "environment" if v.startswith("GRAPHMD_") else v
             for v in sources.values() if v != "defaults"}
    order = [k for k in ("arguments", "environment", config_name) if k in kinds]
    skipped = not config_applies and any(config.get(k) is not None for k in ("user", "password", "database"))
    return Settings(resolved_uri, resolved_user, resolved_password, resolved_db, ", ".join(order) or "defaults",
                    sources, str(config["uri"]) if skipped else None)


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def same_server(a: str, b: str) -> bool:
    """Whether two Bolt URIs name one server: the same host (any loopback name for another)
    and port (7687 when none is given), whatever the scheme."""
    def where(uri: str) -> tuple[str, int | None]:
        try:
            parts = urllib.parse.urlsplit(uri)
            host, port = (parts.hostname or "").lower(), parts.port or 7687
        except ValueError:  # a port that is not a number: compare as written
            return uri, None
        return ("loopback" if host in _LOOPBACK else host), port

    return where(a) == where(b)


def open_driver(settings: Settings, *, connect_timeout: float = 10.0, retry_time: float | None = None) -> neo4j.Driver:
    """A driver for ``settings``' Neo4j, the one way graphmd opens one. It sends no
    credentials when no password was given (so Neo4j says one is needed), never an empty
    password. Opening a connection (TCP and the Bolt handshake, as a whole) fails after
    ``connect_timeout`` seconds, so a server that accepts but never answers cannot hang the
    caller; transaction functions retry transient errors for ``retry_time`` seconds
    (default: ``connect_timeout``, at least 5). Nothing is sent until the driver is used.

    Raises:
        neo4j.exceptions.ConfigurationError: the driver refuses the URI (callers map it
            with graphmd._errors.map_driver_errors).
    """
    auth = (settings.user, settings.password) if settings.password is not None else None
    return neo4j.GraphDatabase.driver(
        settings.uri,
        auth=auth,
        connection_timeout=connect_timeout,
        connection_acquisition_timeout=connect_timeout,
        max_transaction_retry_time=max(connect_timeout, 5.0) if retry_time is None else retry_time,
        user_agent="graphmd/0.1",
        notifications_min_severity="OFF",
    )


def refused_field(error: UnavailableError | UnauthenticatedError) -> str:
    """Which setting a failed connection points at: ``password`` when Neo4j refused the
    credentials (or locks the user out after wrong ones), else ``uri`` (nothing answered)."""
    refused = isinstance(error, UnauthenticatedError) or isinstance(error.__cause__, neo4j_errors.AuthError)
    return "password" if refused else "uri"
