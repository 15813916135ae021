"""Nodes as flat rows, for pandas and other tables: ``pandas.DataFrame(node_records(nodes))``."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable
from typing import Any

from ._errors import InvalidArgumentError
from ._models import Artifact, Context, Execution

__all__ = ["node_records", "utc_time"]

# Fields a row leaves out or writes under another name (see node_records).
_NOT_COLUMNS = {"properties", "custom_properties", "system_metadata", "create_time_since_epoch",
                "last_update_time_since_epoch"}


def utc_time(milliseconds: int | None) -> datetime.datetime | None:
    """A time stored as milliseconds since the epoch, as an aware UTC datetime (None stays None)."""
    if milliseconds is None:
        return None
    return datetime.datetime.fromtimestamp(milliseconds / 1000, datetime.timezone.utc)


def node_records(nodes: Iterable[Artifact | Execution | Context]) -> list[dict[str, Any]]:
    """One flat dict per node, in the order given, for a table (a pandas DataFrame):

    - its fields in the model's order (``id``, ``type_id``, ``type``, ``name``,
      ``external_id``, then ``uri`` and ``state`` for an artifact, ``last_known_state`` for
      an execution), a state as its name (``"LIVE"``), an unset field as None;
    - ``create_time`` and ``last_update_time`` as aware UTC datetimes (the stored
      milliseconds since the epoch are ``create_time_since_epoch`` on the node);
    - each property as ``properties.<name>`` and each custom property as
      ``custom_properties.<name>`` (the names MLMD's filter_query uses), sorted by name, with
      the value as stored: an int stays an int, a STRUCT is a dict, a PROTO a ProtoValue.

    ``system_metadata`` is left out. Nodes of several kinds may be mixed; a key a node
    lacks is simply absent from its dict (pandas makes it NaN).

    Raises:
        InvalidArgumentError: ``nodes`` is not a collection of Artifact, Execution and
            Context models (``field`` names the first that is not, ``nodes[i]``).
    """
    if isinstance(nodes, (str, bytes, dict)) or not isinstance(nodes, Iterable):
        raise InvalidArgumentError(f"nodes: a list of artifacts, executions or contexts is expected, not {nodes!r}",
                                   field="nodes")
    rows: list[dict[str, Any]] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, (Artifact, Execution, Context)):
            raise InvalidArgumentError(f"nodes[{i}]: an Artifact, Execution or Context is expected, not "
                                       f"{type(node).__name__}", field=f"nodes[{i}]")
        row: dict[str, Any] = {}
        for name in type(node).model_fields:
            if name not in _NOT_COLUMNS:
                value = getattr(node, name)
                row[name] = value.value if isinstance(value, enum.Enum) else value
        row["create_time"] = utc_time(node.create_time_since_epoch)
        row["last_update_time"] = utc_time(node.last_update_time_since_epoch)
        for prefix, properties in (("properties", node.properties), ("custom_properties", node.custom_properties)):
            for key in sorted(properties):
                row[f"{prefix}.{key}"] = properties[key]
        rows.append(row)
    return rows
