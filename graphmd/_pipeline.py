"""What a pipeline asks of its metadata: record a step, reuse an earlier one, pick the
newest (or newest blessed) model to warm-start from, compare runs.

These are the TFX questions as library calls. Each reads with one Cypher statement; the
reuse lookup, the blessed model and the run comparison run the same statements as
cypher/what_can_be_reused, cypher/latest_blessed_model and cypher/compare_runs
(graphmd._cypher_files), so the files and the library agree by construction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import html
import json
import re
import logging
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import neo4j

from . import _codec as codec
from . import _cypher_files
from . import _queries as q
from ._errors import GraphmdError, InvalidArgumentError, NotFoundError
from ._records import utc_time
from ._models import (
    Artifact,
    ArtifactAndEvent,
    ArtifactState,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    PropertyType,
    PropertyValue,
    ProtoValue,
    is_proto_form,
    proto_property,
)

# Imported at run time, not under TYPE_CHECKING, so that typing.get_type_hints resolves this
# module's annotations. No cycle: _store imports nothing of this module.
from ._store import MetadataStore

_log = logging.getLogger("graphmd")

__all__ = [
    "CachedExecution",
    "RunningExecution",
    "ComparedValue",
    "RunComparison",
    "record_execution",
    "find_cached_execution",
    "record_cached_execution",
    "latest_artifact",
    "latest_blessed_model",
    "compare_runs",
    "LineageComparison",
    "compare_lineage",
    "run_query",
]


# --- the context manager ------------------------------------------------------------------


@dataclasses.dataclass
class RunningExecution:
    """The execution a ``record_execution`` block records: add its outputs with :meth:`output`."""

    execution: Execution
    inputs: dict[str, list[Artifact]]
    contexts: list[Context]
    outputs: dict[str, list[Artifact]] = dataclasses.field(default_factory=dict)

    def output(self, key: str, artifact: Artifact) -> Artifact:
        """Declare an output under ``key`` (TFX's output dict key); it is written, LIVE
        unless it has another state, when the block ends without an exception.

        Raises:
            InvalidArgumentError: ``key`` is not a string, or ``artifact`` is not an Artifact
                (``field`` ``outputs['model'][1]``); raised in the block, it fails the step.
        """
        if not isinstance(key, str):
            raise InvalidArgumentError(f"outputs: key {key!r} is not a string", field="outputs")
        where = f"outputs[{key!r}][{len(self.outputs.get(key, ()))}]"
        if not isinstance(artifact, Artifact):
            raise InvalidArgumentError(f"{where} must be an Artifact, not {type(artifact).__name__}", field=where)
        self.outputs.setdefault(key, []).append(artifact)
        return artifact


#: A step's inputs by input key (TFX's input dict key): stored artifacts or their ids, in order.
Inputs = Mapping[str, Sequence[Artifact | int]]


def _input_ids(inputs: Inputs | None, what: str = "inputs") -> dict[str, list[int]]:
    """The artifact ids of ``inputs`` (a step's ``what``: inputs, or the outputs it reuses),
    by key.

    Raises:
        InvalidArgumentError: ``inputs`` does not map string keys to lists, or an item is
            neither a stored Artifact (one with an id) nor an artifact id; ``field`` names
            it as written (``inputs['base_model'][0]``, ``.id`` for an artifact without one).
    """
    if inputs is None:
        return {}
    one = what[:-1]  # input, output
    if not isinstance(inputs, Mapping):
        raise InvalidArgumentError(f"{what} must map {one} keys to lists of artifacts or artifact ids, "
                                   f"not {type(inputs).__name__}", field=what)
    ids: dict[str, list[int]] = {}
    for key, items in inputs.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"{what}: key {key!r} is not a string", field=what)
        where = f"{what}[{key!r}]"
        if isinstance(items, (str, bytes, Artifact)) or not isinstance(items, Sequence):
            raise InvalidArgumentError(f"{where} must be a list of artifacts or artifact ids, "
                                       f"not {type(items).__name__}", field=where)
        ids[key] = [_input_id(item, f"{where}[{i}]", one) for i, item in enumerate(items)]
    return ids


def _one_event_each(ids: dict[str, list[int]], what: str) -> None:
    """Refuse an artifact given twice among a step's ``what`` (inputs or outputs): MLMD
    records one event of a kind per artifact and execution, so the second could not be
    stored, and put_execution would name it only by its place in its own request.

    Raises:
        InvalidArgumentError: naming the second place (``inputs['baseline_model'][0]``).
    """
    seen: dict[int, str] = {}
    for key, key_ids in ids.items():
        for i, aid in enumerate(key_ids):
            at = f"{what}[{key!r}][{i}]"
            if aid in seen:
                raise InvalidArgumentError(
                    f"{at}: artifact {aid} is already one of the {what} as {seen[aid]}; ML Metadata records one "
                    f"{what[:-1].upper()} event per artifact and execution", field=at)
            seen[aid] = at


def _input_id(item: Artifact | int, field: str, one: str = "input") -> int:
    """The artifact id of one item (``one``: an input, or an output) given as an Artifact or an
    id, at ``field``; see _input_ids."""
    if isinstance(item, Artifact):
        if item.id is None:
            raise InvalidArgumentError(f"{field}: an {one} must be a stored artifact (with an id)", field=f"{field}.id")
        codec.check_int64(item.id, f"{field}.id")
        return item.id
    if isinstance(item, int) and not isinstance(item, bool):
        codec.check_int64(item, field)
        return item
    raise InvalidArgumentError(f"{field}: an {one} is an Artifact or an artifact id, not {type(item).__name__}",
                               field=field)


def _scope(contexts: Sequence[Context | int]) -> list[dict[str, Any]]:
    """find_cached_execution's ``contexts`` as EXECUTIONS_IN_CONTEXTS takes them: ``{id}``
    for a stored Context or a context id, ``{type_id, name}`` for a Context not read back.

    Raises:
        InvalidArgumentError: ``contexts`` is not a list, or an item is neither a Context
            nor a context id, or a Context has no id and no type_id and name; ``field``
            names it (``contexts[1]``, ``contexts[0].name``).
    """
    if isinstance(contexts, (str, bytes, Context)) or not isinstance(contexts, Sequence):
        raise InvalidArgumentError(f"contexts must be a list of contexts or context ids, not "
                                   f"{type(contexts).__name__}", field="contexts")
    scope: list[dict[str, Any]] = []
    for i, item in enumerate(contexts):
        field = f"contexts[{i}]"
        if isinstance(item, int) and not isinstance(item, bool):
            codec.check_int64(item, field)
            scope.append({"id": item})
        elif isinstance(item, Context) and item.id is not None:
            codec.check_int64(item.id, f"{field}.id")
            scope.append({"id": item.id})
        elif isinstance(item, Context):
            for name in ("type_id", "name"):
                if getattr(item, name) is None:
                    raise InvalidArgumentError(f"{field}.{name}: a context not read back from the store is found by "
                                               "its type_id and name; it has no " + name, field=f"{field}.{name}")
            scope.append({"type_id": item.type_id, "name": item.name})
        else:
            raise InvalidArgumentError(f"{field}: a context is a Context or a context id, not {type(item).__name__}",
                                       field=field)
    return scope


def _in_scope(store: MetadataStore, execution_ids: list[int], contexts: list[dict[str, Any]],
              given: Sequence[Context | int]) -> set[int]:
    """Which of ``execution_ids`` are associated with every context of ``contexts`` (_scope's).

    Raises:
        InvalidArgumentError: a context id names no context, ``field`` the item as given.
    """
    found = store._read(lambda tx: tx.run(q.EXECUTIONS_IN_CONTEXTS, execution_ids=execution_ids,
                                          contexts=contexts).single(strict=True))
    missing = set(found["missing_context_ids"])
    for i, (item, c) in enumerate(zip(given, contexts, strict=True)):
        if c.get("id") in missing:
            field = f"contexts[{i}]" + (".id" if isinstance(item, Context) else "")
            raise InvalidArgumentError(f"{field}: no context with id {c['id']}", field=field)
    return set(found["in_scope"])


def _contexts_to_link(store: MetadataStore, contexts: Sequence[Context | int]) -> list[Context | Any]:
    """``contexts`` as put_execution takes them: a context id read as its stored Context (one
    read, only when ids are given), anything else as it is (put_execution checks it), so a
    step run in another process can be given its run's id, as find_cached_execution is.

    Raises:
        InvalidArgumentError: an item is neither a Context nor an int, or an id is out of
            int64's range or names no context, ``field`` ``contexts[i]``.
    """
    items = list(contexts)
    for i, item in enumerate(items):
        if not isinstance(item, (Context, int)) or isinstance(item, bool):
            raise InvalidArgumentError(f"contexts[{i}] must be a Context or the id of a stored one, not "
                                       f"{type(item).__name__} {item!r}"[:200], field=f"contexts[{i}]")
    ids = {i: item for i, item in enumerate(items) if isinstance(item, int) and not isinstance(item, bool)}
    for i, cid in ids.items():
        codec.check_int64(cid, f"contexts[{i}]")
    stored = {c.id: c for c in store.get_contexts_by_id(sorted(set(ids.values())))} if ids else {}
    for i, cid in ids.items():
        if cid not in stored:
            raise InvalidArgumentError(f"contexts[{i}]: no context with id {cid}", field=f"contexts[{i}]")
    return [stored[ids[i]] if i in ids else item for i, item in enumerate(items)]


def _stored_inputs(store: MetadataStore, inputs: Inputs, ids: dict[str, list[int]]) -> dict[str, list[Artifact]]:
    """``inputs`` as artifacts: those given as they are, ids as stored (one read).

    Raises:
        InvalidArgumentError: an id names no artifact (as put_execution would say), with
            ``field`` the input as written.
    """
    stored = _stored_artifacts(store, _ids_by_field("inputs", inputs, ids))
    return {key: [item if isinstance(item, Artifact) else stored[aid]
                  for item, aid in zip(inputs[key], key_ids, strict=True)]
            for key, key_ids in ids.items()}


def _ids_by_field(what: str, given: Inputs, ids: dict[str, list[int]]) -> dict[str, int]:
    """The artifact ids _input_ids read from ``given``, by the field that names each as
    written: ``inputs['base_model'][0]``, with ``.id`` for an Artifact."""
    return {f"{what}[{key!r}][{i}]" + (".id" if isinstance(item, Artifact) else ""): aid
            for key, key_ids in ids.items() for i, (item, aid) in enumerate(zip(given[key], key_ids, strict=True))}


def _stored_artifacts(store: MetadataStore, ids_by_field: dict[str, int]) -> dict[int, Artifact]:
    """The artifacts of these ids, by id, in one read.

    Raises:
        InvalidArgumentError: the first id that names no artifact (as put_execution would
            say), ``field`` its field.
    """
    wanted = sorted(set(ids_by_field.values()))
    stored = {a.id or 0: a for a in store.get_artifacts_by_id(wanted)} if wanted else {}
    for field, aid in ids_by_field.items():
        if aid not in stored:
            raise InvalidArgumentError(f"{field}: no artifact with id {aid}", field=field)
    return stored


@contextlib.contextmanager
def record_execution(store: MetadataStore, execution: Execution, inputs: Inputs | None = None,
                     contexts: Sequence[Context | int] = ()) -> Iterator[RunningExecution]:
    """Record a pipeline step around a block, in two transactions.

    ``inputs`` maps input keys to stored artifacts or their ids (as find_cached_execution
    takes them); one read checks that they exist. On entry one put_execution stores
    ``execution`` as RUNNING with its input events (``path`` [key, index]) and links it and
    its inputs to ``contexts`` (Contexts, reused by type and name, or ids of stored ones).
    When the block ends, one
    put_execution stores the declared outputs with their output events and marks the
    execution COMPLETE. When the block raises, or the outputs cannot be written, one
    put_execution marks it FAILED with the error in custom properties ``error``,
    ``error_type`` and ``error_traceback`` (no output is written) and the error propagates;
    an output the error is about is named as declared (``outputs['model'][0].type_id``).
    If FAILED cannot be stored (Neo4j is unreachable, say), the block's error still
    propagates as raised, with a note (``__notes__``) and a ``graphmd`` log warning that the
    execution stays RUNNING.
    Fewer transactions cannot work: the RUNNING record must be visible while the step runs,
    and the outcome is known only at the end.

    Yields:
        The RunningExecution, whose ``execution`` and ``inputs`` are as stored (ids given
        are read); after the block, its ``execution`` and ``outputs`` are as stored too,
        with their ids and times.
    Raises:
        InvalidArgumentError: ``execution`` is not an Execution; an input is neither a
            stored Artifact nor the id of one, ``field`` naming it as written
            (``inputs['base_model'][0]``); a context id names no context (``contexts[0]``).
        InvalidArgumentError, NotFoundError, AlreadyExistsError: as put_execution, for the
            execution or contexts on entry (nothing is stored then), or for the outputs at
            the end (an output whose name or external_id is taken, say; the execution is
            FAILED then).
    """
    if not isinstance(execution, Execution):
        raise InvalidArgumentError(f"execution must be an Execution, not {type(execution).__name__}", field="execution")
    ids = _input_ids(inputs)
    _one_event_each(ids, "inputs")
    artifacts = _stored_inputs(store, inputs or {}, ids)
    contexts = _contexts_to_link(store, contexts)
    running = execution.model_copy(update={"last_known_state": ExecutionState.RUNNING})
    pairs = [ArtifactAndEvent(event=Event(artifact_id=aid, type=EventType.INPUT, path=[key, i]))
             for key, key_ids in ids.items() for i, aid in enumerate(key_ids)]
    result = store.put_execution(running, pairs, list(contexts), reuse_context_if_already_exist=True)
    try:  # RUNNING is stored: from here, whatever stops the step (Ctrl-C too) marks it FAILED
        stored_contexts = store.get_contexts_by_id(result.context_ids)
        [stored_execution] = store.get_executions_by_id([result.execution_id])
    except BaseException as error:
        _record_failure(store, running.model_copy(update={"id": result.execution_id}), (), error)
        raise
    state = RunningExecution(stored_execution, artifacts, stored_contexts)
    try:
        yield state
    except BaseException as error:
        _record_failure(store, state.execution, stored_contexts, error)
        raise
    complete = state.execution.model_copy(update={"last_known_state": ExecutionState.COMPLETE})
    outputs = {key: [a if a.state is not None else a.model_copy(update={"state": ArtifactState.LIVE})
                     for a in artifacts] for key, artifacts in state.outputs.items()}
    pairs = [ArtifactAndEvent(artifact=artifact, event=Event(type=EventType.OUTPUT, path=[key, i]))
             for key, artifacts in outputs.items() for i, artifact in enumerate(artifacts)]
    try:
        done = store.put_execution(complete, pairs, stored_contexts, force_reuse_context=True)
    except BaseException as error:
        # COMPLETE may have been stored (the answer was lost, or a Ctrl-C came while it was
        # committing): FAILED could be false. A Ctrl-C graphmd knows stopped the write is a failure.
        if getattr(error, "commit_unknown", False) or (
                not isinstance(error, Exception) and getattr(error, "graphmd_stored", None) is not False):
            raise
        if isinstance(error, GraphmdError):
            _name_outputs_as_declared(error, [f"outputs[{key!r}][{i}]" for key, artifacts in outputs.items()
                                              for i in range(len(artifacts))])
        _record_failure(store, state.execution, stored_contexts, error)
        raise
    stored = {a.id: a for a in store.get_artifacts_by_id(done.artifact_ids)}
    written = iter(done.artifact_ids)
    state.outputs = {key: [stored[next(written)] for _ in artifacts] for key, artifacts in outputs.items()}
    [state.execution] = store.get_executions_by_id([done.execution_id])


def _record_failure(store: MetadataStore, execution: Execution, contexts: Sequence[Context],
                    error: BaseException) -> None:
    """Store ``execution`` FAILED, with ``error`` in its custom properties ``error``,
    ``error_type`` and ``error_traceback`` (its last 4000 characters), in one put_execution.

    Never raises ``Exception``: the caller is about to re-raise ``error``, which must reach
    the step's code as raised. When the FAILED record cannot be written (the store is
    unavailable, say), ``error`` gets a note saying so (the execution stays RUNNING) and the
    ``graphmd`` logger a warning. Text that is not valid Unicode (lone surrogates, from file
    names decoded with ``os.fsdecode``) is stored with those characters escaped.
    """
    failed = execution.model_copy(update={
        "last_known_state": ExecutionState.FAILED,
        "custom_properties": {**execution.custom_properties, "error": _storable(str(error) or repr(error)),
                              "error_type": type(error).__name__,
                              "error_traceback": _storable("".join(traceback.format_exception(error))[-4000:])}})
    try:
        store.put_execution(failed, (), contexts, force_reuse_context=True)
    except Exception as unrecorded:
        what = f"execution {execution.id} could not be marked FAILED, so it stays RUNNING: {unrecorded}"
        _log.warning("record_execution: %s", what)
        error.add_note(f"graphmd: {what}")


def _storable(text: str) -> str:
    """``text`` with what is not valid Unicode (lone surrogates) escaped as ``\\udce9``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# put_execution names the artifact of its i-th pair "artifact_and_events[i].artifact"; the
# outputs are the call's only pairs, so i is the output's position.
_PAIR_ARTIFACT = re.compile(r"artifact_and_events\[(\d+)\]\.artifact")


def _name_outputs_as_declared(error: GraphmdError, declared: Sequence[str]) -> None:
    """Rename, in place, the outputs ``error`` (from writing them) names as put_execution's
    pairs (``artifact_and_events[1].artifact.type_id``) to the names the block declared
    them by (``outputs['m'][0].type_id``); ``declared`` lists those in pair order."""
    def rename(text: str) -> str:
        return _PAIR_ARTIFACT.sub(lambda m: declared[int(m[1])] if int(m[1]) < len(declared) else m[0], text)

    error.message = rename(error.message)
    error.args = (error.message, *error.args[1:])
    if error.field is not None:
        error.field = rename(error.field)


# --- reuse --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CachedExecution:
    """An earlier COMPLETE execution whose outputs can be reused, by output key."""

    execution: Execution
    outputs: dict[str, list[Artifact]]


def stored_properties(properties: Mapping[str, PropertyValue] | None) -> dict[str, Any]:
    """``properties`` as cypher/what_can_be_reused.cypher compares them with what executions
    hold: each value as stored (a STRUCT as its JSON text, a PROTO as its JSON form's text;
    a dict in a PROTO's dict form, ``{"$proto": true, ...}``, is a PROTO).

    Raises:
        InvalidArgumentError: as find_cached_execution's ``properties``.
    """
    return {k: codec.encode_properties({k: v}, custom=False).popitem()[1]
            for k, v in _checked_properties(properties).items()}


def _checked_properties(properties: Mapping[str, PropertyValue] | None,
                        what: str = "properties") -> dict[str, PropertyValue]:
    """``properties`` (the argument named ``what``) as a dict, each value one an execution
    can hold (a value no execution can hold would only ever be a cache miss); a numpy
    scalar as the bool, int or float it holds, as a model takes it.

    Raises:
        InvalidArgumentError: not a mapping, a name that is not text, or a value that is not
            an int, float, str, bool, STRUCT dict or ProtoValue (``properties['lr']``)."""
    if properties is None:
        return {}
    if not isinstance(properties, Mapping):
        raise InvalidArgumentError(f"{what}: a mapping of names to values, not {type(properties).__name__}",
                                   field=what)
    checked: dict[str, PropertyValue] = {}
    for name, value in properties.items():
        field = f"{what}[{name!r}]"
        if not isinstance(name, str):
            raise InvalidArgumentError(f"{field}: property names are text", field=what)
        value = codec.plain_property_value(value, field)
        if isinstance(value, dict) and is_proto_form(value):  # a PROTO's dict form, as models take it
            try:
                value = proto_property(value)
            except ValueError as error:
                raise InvalidArgumentError(f"{field}: {error}", field=field) from None
        if not isinstance(value, (int, float, str, dict, ProtoValue)):
            raise InvalidArgumentError(f"{field}: an int, float, str, bool, STRUCT dict or ProtoValue, not "
                                       f"{type(value).__name__}", field=field)
        codec.check_value(value, field)
        checked[name] = value
    return checked


def find_cached_execution(store: MetadataStore, type_name: str, inputs: Inputs,
                          properties: Mapping[str, PropertyValue] | None = None, *,
                          custom_properties: Mapping[str, PropertyValue] | None = None,
                          contexts: Sequence[Context | int] = ()) -> CachedExecution | None:
    """The newest COMPLETE execution of type ``type_name`` that read exactly ``inputs``
    (stored artifacts or their ids by input key, as record_execution takes them and event
    paths [key, index] record them), has exactly ``properties`` (its type's declared ones)
    and, for each of ``custom_properties``, the same custom property (others it has, say a
    display name, do not count), with its outputs, none of them since marked for deletion,
    deleted or abandoned; None when there is none (a cache miss). Given ``contexts``, only
    an execution associated with every one of them counts: pass the pipeline's context to
    keep another pipeline's step with the same inputs and properties (an ExampleGen reads
    none) from being a hit, as TFX scopes its cache to the pipeline. A context is a stored
    Context, a context id, or a Context not read back (found by its type_id and name; none
    stored yet is a miss).

    Pass what identifies the step's work: hyperparameters kept as custom properties (TFX's
    convention for a component's parameters) count only when given as ``custom_properties``.

    Runs cypher/what_can_be_reused.cypher. Values compare by kind too: 1 is not 1.0.

    Raises:
        InvalidArgumentError: an input is neither a stored Artifact nor an artifact id,
            ``field`` naming it as written (``inputs['base_model'][0]``), or is given twice
            (no step records one artifact as two inputs); ``properties`` or
            ``custom_properties`` is not a mapping of names to property values
            (``properties['lr']``); ``contexts`` is not a list of Contexts or context ids, or
            names a context id that no context has (``contexts[0]``). On a miss also: an
            input id that names no artifact, or a property no version of the type declares,
            or declares of the value's kind (an int for a DOUBLE): a request that can never
            hit is not a cache miss forever.
        NotFoundError: there is no execution type named ``type_name`` (in any version), for
            the same reason.
    """
    input_ids = _input_ids(inputs)
    _one_event_each(input_ids, "inputs")  # no step could have read one artifact under two keys: never a hit
    wanted = sorted(((key, i), aid) for key, ids in input_ids.items() for i, aid in enumerate(ids))
    given = _checked_properties(properties)
    given_custom = _checked_properties(custom_properties, "custom_properties")
    scope = _scope(contexts)
    rows = _cypher_files.run(store, "what_can_be_reused", type_name=type_name,
                             input_ids=sorted({aid for _, aid in wanted}), properties=stored_properties(given))
    in_scope = _in_scope(store, [row["execution"]["id"] for row in rows], scope, contexts) if scope else None
    for row in rows:
        if in_scope is not None and row["execution"]["id"] not in in_scope:
            continue
        execution = codec.decode_node(Execution, row["execution"])
        read = sorted((tuple(_path(i["path"])), i["artifact_id"]) for i in row["inputs"])
        if read != wanted:
            continue
        if set(execution.properties) != set(given) or not all(
                codec.same_value(execution.properties[k], given[k]) for k in given):
            continue
        if not all(k in execution.custom_properties and codec.same_value(execution.custom_properties[k], v)
                   for k, v in given_custom.items()):
            continue
        outputs: dict[str, list[Artifact]] = {}
        for out in sorted(row["outputs"], key=lambda o: _path(o["path"])):
            path = _path(out["path"])
            outputs.setdefault(str(path[0]) if path else "", []).append(codec.decode_node(Artifact, out["artifact"]))
        return CachedExecution(execution, outputs)
    # A miss: say so only for "nothing there yet", not for a request that can never hit.
    _require_names(store, "ExecutionType", {"type_name": type_name})
    if wanted:
        _stored_artifacts(store, _ids_by_field("inputs", inputs, input_ids))
    check_lookup_properties(store, type_name, given)
    return None


def check_lookup_properties(store: MetadataStore, type_name: str, properties: Mapping[str, PropertyValue], *,
                            custom_hint: str = "a custom property? pass it in custom_properties") -> None:
    """Check that executions of ``type_name`` can hold ``properties`` (as find_cached_execution
    takes them): a cache lookup with a property no version of the type declares, or of
    another kind than declared, can never hit, and must not read as a miss forever.

    ``custom_hint`` is what the message says about custom properties (where the caller takes them).

    Raises:
        InvalidArgumentError: the first such property (``properties['lr']``), or one that is
            no property value.
    """
    given = _checked_properties(properties)
    declared: dict[str, set[PropertyType]] = {}
    for t in store.get_execution_types():
        if t.name == type_name:
            for name, kind in t.properties.items():
                declared.setdefault(name, set()).add(kind)
    for name, value in given.items():
        field = f"properties[{name!r}]"
        if name not in declared:
            raise InvalidArgumentError(
                f"{field}: no version of ExecutionType {type_name!r} declares {name!r}, so no "
                f"execution of it has that property ({custom_hint})", field=field)
        kind = codec.property_type_of(value)
        if kind not in declared[name]:
            kinds = " or ".join(sorted(k.value for k in declared[name]))
            raise InvalidArgumentError(
                f"{field}: ExecutionType {type_name!r} declares {name!r} {kinds}, so no execution of it holds "
                f"{value!r} ({kind.value}; 1 is not 1.0)", field=field)


def record_cached_execution(store: MetadataStore, execution: Execution, inputs: Inputs | None,
                            outputs: Inputs, contexts: Sequence[Context | int] = ()) -> Execution:
    """Record a step that reused an earlier execution's outputs (a cache hit), as TFX and
    MLMD record one: ``execution`` stored CACHED (whatever state it has), with INPUT events
    to ``inputs`` and OUTPUT events to ``outputs`` (paths [key, index]), it and those
    artifacts linked to ``contexts`` (reused by type and name: this run's; or ids of stored
    contexts). The outputs are
    linked as they are stored, not rewritten: no artifact is added or changed. One read checks
    that every input and output exists, then one put_execution writes it all.

    ``inputs`` and ``outputs`` map keys to stored artifacts or their ids, as record_execution
    takes inputs; the outputs of a hit are ``find_cached_execution(...).outputs``.
    find_cached_execution keeps answering the COMPLETE execution that made the outputs.

    Returns:
        The execution as stored (one read after the write): its id, type name, state CACHED,
        create and update times, as record_execution's ``running.execution``.
    Raises:
        InvalidArgumentError: ``execution`` is not an Execution; an input or output is neither
            a stored Artifact nor the id of one, ``field`` naming it as written
            (``outputs['model'][0]``, ``.id`` for an Artifact); a context id names no context
            (``contexts[0]``).
        InvalidArgumentError, NotFoundError, AlreadyExistsError: as put_execution, for the
            execution or contexts. Nothing is stored then.
    """
    if not isinstance(execution, Execution):
        raise InvalidArgumentError(f"execution must be an Execution, not {type(execution).__name__}", field="execution")
    input_ids, output_ids = _input_ids(inputs), _input_ids(outputs, "outputs")
    _one_event_each(input_ids, "inputs")
    _one_event_each(output_ids, "outputs")
    _stored_artifacts(store, {**_ids_by_field("inputs", inputs or {}, input_ids),
                              **_ids_by_field("outputs", outputs, output_ids)})
    contexts = _contexts_to_link(store, contexts)
    cached = execution.model_copy(update={"last_known_state": ExecutionState.CACHED})
    pairs = [ArtifactAndEvent(event=Event(artifact_id=aid, type=event_type, path=[key, i]))
             for ids, event_type in ((input_ids, EventType.INPUT), (output_ids, EventType.OUTPUT))
             for key, key_ids in ids.items() for i, aid in enumerate(key_ids)]
    result = store.put_execution(cached, pairs, contexts, reuse_context_if_already_exist=True)
    [stored] = store.get_executions_by_id([result.execution_id])
    return stored


def _require_names(store: MetadataStore, kind: str, names: Mapping[str, str], *,
                   context_id: int | None = None) -> None:
    """Check, in one read, that each name of ``names`` (by the field that gave it) is of a
    ``kind`` (ExecutionType, ...) that exists in any version (nodes record their type by name
    only) and, when given, that the context ``context_id`` exists: a helper that found nothing
    says None only for "nothing there yet".

    Raises:
        InvalidArgumentError: a name is not a string (``field`` the field that gave it).
        NotFoundError: there is no such type (``field`` the first such field) or context
            (``context_id``).
    """
    for field, name in names.items():
        if not isinstance(name, str):
            raise InvalidArgumentError(f"{field} must be a string, not {type(name).__name__}", field=field)
    found = store._read(lambda tx: tx.run(q.TYPES_AND_CONTEXT_EXIST, kind=kind, names=list(names.values()),
                                          context_id=context_id).single(strict=True))
    for field, name in names.items():
        if name in found["missing_types"]:
            raise NotFoundError(f"no {kind} named {name!r}", field=field)
    if not found["context_found"]:
        raise NotFoundError(f"no context with id {context_id}", field="context_id")


def _check_id(value: int | None, field: str) -> None:
    """Raise InvalidArgumentError (``field``) unless ``value`` is None or an id (codec.as_id):
    a text id would find nothing, silently."""
    if value is not None:
        codec.as_id(value, field)


def _path(path: str | None) -> list[Any]:
    """An event path as stored (JSON text) as its steps; [] when unset."""
    return json.loads(path) if path else []


# --- warm start ---------------------------------------------------------------------------


# How many of a type's newest artifacts latest_artifact (within a context) and
# latest_blessed_model read before reading the context or every blessing instead: a few
# milliseconds' worth, so an answer outside them costs little more than before.
_NEWEST_BUDGET = 256


def latest_artifact(store: MetadataStore, type_name: str, *, context_id: int | None = None,
                    state: ArtifactState | str = ArtifactState.LIVE) -> Artifact | None:
    """The newest artifact of type ``type_name`` in ``state`` (LIVE by default), within the
    context ``context_id`` when given: TFX's LatestArtifactsResolver, newest by creation
    time then id. None when there is none.

    Raises:
        NotFoundError: there is no artifact type named ``type_name`` (in any version), or no
            context ``context_id``; a misspelt name is not "no artifact yet".
        InvalidArgumentError: ``context_id`` is not an integer (``'7'``, ``True``) or does
            not fit in 64 bits; ``state`` is no ArtifactState (its name, ``"LIVE"``, will do).
    """
    _check_id(context_id, "context_id")
    try:
        state = ArtifactState(state)
    except ValueError:
        raise InvalidArgumentError(f"state: {state!r} is no artifact state; one of "
                                   f"{', '.join(s.value for s in ArtifactState)}", field="state") from None
    params = {"type_name": type_name, "state": state.value, "context_id": context_id}

    def newest(tx: neo4j.ManagedTransaction) -> neo4j.Record | None:
        if context_id is None:
            return tx.run(q.LATEST_ARTIFACT, params).single()
        return (tx.run(q.LATEST_ARTIFACT_AMONG_NEWEST, params, budget=_NEWEST_BUDGET).single()
                or tx.run(q.LATEST_ARTIFACT_IN_CONTEXT, params).single())

    record = store._read(newest)
    if record:
        return codec.decode_node(Artifact, record["a"])
    _require_names(store, "ArtifactType", {"type_name": type_name}, context_id=context_id)
    return None


def latest_blessed_model(store: MetadataStore, model_type: str = "Model", *, blessing_type: str = "ModelBlessing",
                         context_id: int | None = None) -> Artifact | None:
    """The newest LIVE artifact of type ``model_type`` (newest by creation time, then id)
    that an Evaluator blessed, within the context ``context_id`` when given: TFX's latest
    blessed model resolution, a baseline to evaluate against or a model to warm-start from
    when the newest model (latest_artifact) may be one that was not blessed. None when there
    is none.

    What counts as a blessing: an artifact of type ``blessing_type``, LIVE or with no state
    (unset or UNKNOWN; not PENDING, ABANDONED, MARKED_FOR_DELETION, DELETED nor REFERENCE), whose ``blessed``
    is 1 (or true), a property or a custom one (TFX records it as a custom one). It blesses
    the artifact its ``current_model_id`` (a property or custom one; TFX's Evaluator sets it)
    names; without one, the artifact the execution that wrote it read under input key
    ``model`` (event path ``["model", i]``; not ``baseline_model``, which it compared with).
    A blessing of 0 blesses nothing, nor does it take back another blessing of the same
    model (TFX's resolver reads them the same way). ``context_id`` narrows the models, not
    the blessings: a model of the context blessed by an Evaluator outside it counts.

    Reads the newest models of the type first (up to 256), asking each for its blessings;
    when none of them is blessed, runs cypher/latest_blessed_model.cypher, which reads every
    blessing (the same answer, at a cost that grows with the blessings).

    Raises:
        NotFoundError: there is no artifact type named ``model_type`` or ``blessing_type``
            (in any version), or no context ``context_id``; a misspelt name is not "no
            model yet".
        InvalidArgumentError: a type name is not a string, or ``context_id`` is not an
            integer or does not fit in 64 bits.
    """
    _check_id(context_id, "context_id")
    params = {"model_type": model_type, "blessing_type": blessing_type, "context_id": context_id}
    every_blessing = _cypher_files.statement("latest_blessed_model", params)

    def newest(tx: neo4j.ManagedTransaction) -> neo4j.Record | None:
        # The newest models first, each asked for its blessings (the indexes by
        # current_model_id); when none of them is blessed, every blessing is read.
        return (tx.run(q.LATEST_BLESSED_MODEL_AMONG_NEWEST, params, budget=_NEWEST_BUDGET).single()
                or tx.run(every_blessing, params).single())

    record = store._read(newest)
    if record:
        return codec.decode_node(Artifact, record["model"])
    _require_names(store, "ArtifactType", {"model_type": model_type, "blessing_type": blessing_type},
                   context_id=context_id)
    return None


# --- comparing runs -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ComparedValue:
    """One compared field: where it comes from (``Trainer.learning_rate``,
    ``ModelEvaluation.accuracy``), its value in each column (None: absent), whether they
    differ, and whether it is a custom property (one the node's type does not declare).

    A column (a run) where several nodes of the field's type have the field (a retried
    Trainer, two candidate models' evaluations) has a list there: their values in id order,
    with ``sources`` naming each one (``#42``, ``#41 FAILED``: an execution in another state
    than COMPLETE says which). Where only one of several has it (a retry that failed before
    recording it) the column has that one's value, named too (``["#42"]``), as is a lone
    value from an execution in another state than COMPLETE (``["#41 FAILED"]``); ``sources``
    is empty when no column has either. The values differ when one column has a value
    another has not."""

    field: str
    values: list[PropertyValue | list[PropertyValue] | None]
    differs: bool
    custom: bool = False
    sources: list[list[str]] = dataclasses.field(default_factory=list)
    type_name: str | None = None  # the field's two parts: a type name may itself hold dots
    property: str | None = None

    def row(self, show: Callable[[Any], str] = str) -> list[str]:
        """For a printed table: '*' when the values differ, the field (marked when custom), the
        values (each as ``show`` writes it); several in a column each followed by the node it
        came from. A column with no value but a source says ``none (<source>)``."""
        def cell(value: PropertyValue | list[PropertyValue] | None, sources: list[str]) -> str:
            if value is None:
                return f"none ({sources[0]})" if sources else ""
            if isinstance(value, list):
                return "; ".join(f"{show(v)} ({source})" for v, source in zip(value, sources, strict=True))
            return f"{show(value)} ({sources[0]})" if sources else show(value)

        sources = self.sources or [[] for _ in self.values]
        return ["*" if self.differs else "", self.field + (" (custom)" if self.custom else ""),
                *(cell(v, s) for v, s in zip(self.values, sources, strict=True))]

    def to_dict(self) -> dict[str, Any]:
        """As JSON types, the same keys whatever the values: ``field``, its ``type`` and
        ``property`` (a type name may hold dots), ``custom``, ``differs``, ``values`` (one per
        column: the value as stored, a list where several of the column's nodes have it, None
        where absent; a STRUCT value an object, a PROTO value ``{"type_url": ...,
        "value": <base64>}``) and ``sources`` (one list per column, empty unless the column
        has several nodes of the type, or a value from an execution not COMPLETE)."""
        return {"field": self.field, "type": self.type_name, "property": self.property, "custom": self.custom,
                "differs": self.differs,
                "values": [[_json_value(v) for v in value] if isinstance(value, list) else _json_value(value)
                           for value in self.values],
                "sources": self.sources or [[] for _ in self.values]}


def _json_value(value: PropertyValue | None) -> Any:
    """A property value as JSON holds it: a PROTO value's bytes in base64, as graphmd stores them."""
    if isinstance(value, ProtoValue):
        return value.model_dump(mode="json")
    return value


@dataclasses.dataclass(frozen=True)
class RunComparison:
    """Runs side by side: execution properties (hyperparameters), metrics, then the outcome:
    what decided between the runs' models, whether each was blessed and pushed.

    ``outcome`` holds up to five rows (those some run has a value in), each a ComparedValue
    whose ``sources`` name the execution a value came from (``Evaluator #41``, ``Pusher #43
    FAILED``) and whose ``type`` and ``property`` are None:

    * ``blessed``: True or False per blessing the run's Evaluator wrote; None with the
      Evaluator as source when it wrote none (it FAILED);
    * ``baseline``: the model the Evaluator compared with (``Model #40 run-0193/model``), or
      ``"none"``;
    * ``pushed``: True or False per Pusher of the run (a CACHED Pusher reused an earlier
      push: False), with the Pusher as source, which names the model it read when that is
      an earlier run's (``Deploy #115: Model #56 run-16/model, not this run's``: a rollback);
    * ``pushed to``: where (the PushedModel's pushed_destination, else its uri);
    * ``pushed at``: when, the PushedModel's creation in ms since the epoch (printed as UTC).

    These are what the run recorded. A blessing or push whose artifact has since left LIVE
    (marked DELETED, say: latest_blessed_model and deployed_models no longer count it) keeps
    its value, and its source says so: ``Evaluator #41, blessing DELETED``.

    A run without an Evaluator or Pusher has None there."""

    runs: list[str]
    parameters: list[ComparedValue]
    metrics: list[ComparedValue]
    outcome: list[ComparedValue] = dataclasses.field(default_factory=list)

    def table(self) -> list[list[str]]:
        """Rows for printing: a header, then one row per field, differing ones marked '*'
        (the outcome's booleans as yes/no, its time as UTC)."""
        return [["", "field", *self.runs], *(item.row() for item in (*self.parameters, *self.metrics)),
                *(item.row(_show_outcome) for item in self.outcome)]

    def to_dict(self) -> dict[str, Any]:
        """As JSON types: ``runs``, then ``parameters``, ``metrics`` and ``outcome``, each a
        list of ComparedValue.to_dict()."""
        return {"runs": list(self.runs), "parameters": [p.to_dict() for p in self.parameters],
                "metrics": [m.to_dict() for m in self.metrics], "outcome": [o.to_dict() for o in self.outcome]}

    def records(self) -> list[dict[str, Any]]:
        """One dict per run, for a table with a row per run (``pandas.DataFrame(
        comparison.records()).set_index("run")``): ``run``, then each parameter, metric and
        outcome field (``Trainer.learning_rate``, ``ModelEvaluation.accuracy``, ``blessed``,
        ``pushed at``) with the run's value as stored, so numbers stay numbers: None where the
        run has none, a list where it has several nodes of the field's type (as in
        ``values``); ``pushed at`` as an aware UTC datetime. A custom property named as a
        property its type declares is ``Trainer.learning_rate (custom)``, as table() marks it."""
        rows: list[dict[str, Any]] = [{"run": run} for run in self.runs]
        declared = {item.field for item in (*self.parameters, *self.metrics) if not item.custom}
        for item in (*self.parameters, *self.metrics):
            key = f"{item.field} (custom)" if item.custom and item.field in declared else item.field
            for row, value in zip(rows, item.values, strict=True):
                row[key] = value
        for item in self.outcome:
            for row, value in zip(rows, item.values, strict=True):
                # The push's time is the outcome's only int.
                row[item.field] = utc_time(value) if isinstance(value, int) and not isinstance(value, bool) else value
        return rows

    def __repr__(self) -> str:
        """The runs and how many fields of each kind: ``RunComparison(runs=['run-1', 'run-2'],
        parameters=12, metrics=5, outcome=3)``; the fields are in table() and to_dict()."""
        return (f"RunComparison(runs={self.runs!r}, parameters={len(self.parameters)}, metrics={len(self.metrics)}, "
                f"outcome={len(self.outcome)})")

    def _repr_html_(self) -> str:
        return _table_html(repr(self), self.table())


def _show_outcome(value: Any) -> str:
    """An outcome value as printed: yes/no, a time (an int: ms since the epoch) in UTC to the
    millisecond, as stored: two pushes in the same second still print apart, as the row's
    '*' says they differ."""
    if value is None:  # one of a run's several Evaluators wrote no blessing
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{utc_time(value):%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC"
    return str(value)


def _numbered(store: MetadataStore, name: str) -> str:
    """A hint for a run given by a context's id where its name goes: "" or "; runs are
    compared by name: context 108 is PipelineRun 'run-0029'"."""
    if not (name.isascii() and name.isdigit() and len(name) <= 18):
        return ""
    found = store.get_contexts_by_id([int(name)])
    return f"; runs are compared by name: context {name} is {found[0].type} {found[0].name!r}" if found else ""


def compare_runs(store: MetadataStore, run_names: Sequence[str], *, run_type: str | None = None) -> RunComparison:
    """Compare runs (contexts of type ``run_type`` by name; by default the first of PipelineRun,
    TFX's pipeline_run and Kubeflow's system.PipelineRun that the first run is of): every property and custom
    property of their executions, by component, and of the metrics artifacts they wrote (types
    of base METRICS, TFX's ModelEvaluation, Kubeflow's system.Metrics, ...). A run with
    several executions of a component (a retry, candidate models) or several metrics
    artifacts of a type has each one's value, with its id (see ComparedValue). Then the
    outcome, why one run's model was preferred: whether its Evaluator blessed it and against
    which baseline, whether its Pusher pushed it, where and when (see RunComparison). A
    FAILED step's ``error`` and ``error_type`` are compared; its ``error_traceback`` (TFX's
    ``__execution_result__``) is not, nor TFX's ``is_external`` and ``tfx_version`` of a
    metrics artifact. What a TFX Resolver or Importer recorded as its INTERNAL_OUTPUT (an
    earlier run's blessing) is none of the run's metrics or blessings.

    Runs cypher/compare_runs.cypher.

    Raises:
        InvalidArgumentError: ``run_names`` is a string or empty, not a list of names, or
            holds something other than a string (``run_names[1]``).
        NotFoundError: there is no context type ``run_type`` (field ``run_type``), or a run
            does not exist (``run_names``).
    """
    if isinstance(run_names, str):
        raise InvalidArgumentError(f"run_names: a list of run names, not the string {run_names!r}", field="run_names")
    if not isinstance(run_names, Iterable):
        raise InvalidArgumentError(f"run_names: a list of run names, not {run_names!r}", field="run_names")
    run_names = list(run_names)  # a generator, used once below, would leave nothing to compare
    if not run_names:
        raise InvalidArgumentError("run_names: name at least one run", field="run_names")
    for i, name in enumerate(run_names):
        if not isinstance(name, str):
            raise InvalidArgumentError(f"run_names[{i}]: a run name is a string, not {name!r}", field=f"run_names[{i}]")
        codec.check_text(name, f"run_names[{i}]")
    if run_type is None:
        stored = {t.name for t in store.get_context_types()}
        candidates = [name for name in RUN_TYPES if name in stored]
        if not candidates:
            raise NotFoundError(f"no run context type: none of {', '.join(RUN_TYPES)} is in the store; "
                                "name your runs' type (run_type=..., on the command line --run-type)", field="run_type")
        # The one the first run is of, in a store holding several (TFX's runs beside graphmd's).
        run_type = next((name for name in candidates
                         if store.get_context_by_type_and_name(name, run_names[0]) is not None), candidates[0])
    rows = {r["run"]: r for r in _cypher_files.run(store, "compare_runs", run_type=run_type, runs=run_names)}
    missing = [name for name in run_names if name not in rows]
    if missing:
        _require_names(store, "ContextType", {"run_type": run_type})
        raise NotFoundError(f"no {run_type} context named {missing[0]!r}{_numbered(store, missing[0])}",
                            field="run_names")

    def side_by_side(kind: str) -> list[ComparedValue]:
        cls: type[Artifact] | type[Execution] = Execution if kind == "executions" else Artifact
        compared = _side_by_side([[codec.decode_node(cls, node) for node in rows[name][kind]] for name in run_names])
        left_out = _NOT_COMPARED[kind]
        return [c for c in compared if not (c.custom and c.property in left_out)]

    return RunComparison(list(run_names), side_by_side("executions"), side_by_side("metrics"),
                         _outcome([rows[name] for name in run_names]))


# The context types of pipeline runs compare_runs looks for, in order: graphmd's examples',
# TFX's and Kubeflow Pipelines'.
RUN_TYPES = ("PipelineRun", "pipeline_run", "system.PipelineRun")

# Custom properties compare_runs leaves out. Of executions, a FAILED step's traceback
# (kilobytes: record_execution's error_traceback, TFX's __execution_result__), which swamps a
# comparison: its error and error_type stay, and `graphmd show` has the whole of either. Of
# metrics, TFX's bookkeeping on every artifact it records, no metric.
_NOT_COMPARED = {"executions": frozenset({"error_traceback", "__execution_result__"}),
                 "metrics": frozenset({"is_external", "tfx_version"})}


def _outcome(rows: Sequence[Mapping[str, Any]]) -> list[ComparedValue]:
    """The outcome rows (see RunComparison) of compare_runs.cypher's rows, one per run: each
    fact as its execution (the source) gave it, in the file's order; a row no run has a
    value in is left out."""
    def source(node: Any) -> str:
        execution = codec.decode_node(Execution, node)
        state = execution.last_known_state
        kind = (execution.type or "Execution").rsplit(".", 1)[-1]  # tfx.components.pusher.component.Pusher
        return f"{kind} #{execution.id}" + (f" {state.value}" if state not in (None, ExecutionState.COMPLETE) else "")

    def named(node: Any) -> str:
        if node is None:
            return "none"
        artifact = codec.decode_node(Artifact, node)
        return f"{artifact.type} #{artifact.id}" + (f" {artifact.name}" if artifact.name else "")

    def withdrawn(node: Any, noun: str) -> str:
        """", blessing DELETED": what a recorded blessing or push (``noun``) has become since,
        when its artifact is no longer LIVE (latest_blessed_model and deployed_models leave
        it out)."""
        state = None if node is None else codec.decode_node(Artifact, node).state
        return "" if state in (None, ArtifactState.LIVE, ArtifactState.UNKNOWN) else f", {noun} {state.value}"

    facts: dict[str, list[list[tuple[str, Any]]]] = {
        field: [[] for _ in rows] for field in ("blessed", "baseline", "pushed", "pushed to", "pushed at")}
    for column, row in enumerate(rows):
        for blessing in row["blessings"]:
            by = source(blessing["evaluator"])
            facts["blessed"][column].append((by + withdrawn(blessing["blessing"], "blessing"), blessing["blessed"]))
            if blessing["blessing"] is not None:
                facts["baseline"][column].append((by, named(blessing["baseline"])))
        for push in row["pushes"]:
            by = source(push["pusher"])
            other = push["other_runs_model"]  # a rollback: the run pushed an earlier run's model, not its own
            facts["pushed"][column].append((by + (withdrawn(push["pushed_model"], "push") if push["pushed"] else "")
                                            + (f": {named(other)}, not this run's" if other is not None else ""),
                                            push["pushed"]))
            if push["pushed"]:
                facts["pushed to"][column].append((by, push["pushed_to"]))
                facts["pushed at"][column].append((by, push["pushed_at_ms"]))
    out = []
    for field, columns in facts.items():
        if not any(columns):
            continue
        values: list[PropertyValue | list[PropertyValue] | None] = []
        for found in columns:
            values.append(None if not found else found[0][1] if len(found) == 1 else [v for _, v in found])
        # Which Evaluator or Pusher: always on its own rows; on those derived from them, where a
        # column has several.
        sources = [[s for s, _ in found] if field in ("blessed", "pushed") or len(found) > 1 else []
                   for found in columns]
        out.append(ComparedValue(field, values, _differ(values), sources=sources))
    return out


def _side_by_side(columns: Sequence[Sequence[Artifact | Execution]]) -> list[ComparedValue]:
    """Each column's nodes' properties, then their custom properties, as ``<type>.<property>``
    fields side by side, marking the fields whose values differ (or are missing somewhere).
    A column with several nodes of one type has all their values (see ComparedValue)."""
    per_column: list[dict[tuple[bool, str], list[tuple[str, PropertyValue]]]] = []
    several: list[set[str | None]] = []
    type_of: dict[tuple[bool, str], str | None] = {}
    property_of: dict[tuple[bool, str], str] = {}
    unfinished: set[str] = set()  # the sources of executions not COMPLETE
    for nodes in columns:
        fields: dict[tuple[bool, str], list[tuple[str, PropertyValue]]] = {}
        for node in sorted(nodes, key=lambda n: n.id or 0):
            state = getattr(node, "last_known_state", None)
            # An execution's id, or a metric's artifact's, said so: the two kinds' ids overlap.
            source = (f"artifact #{node.id}" if isinstance(node, Artifact) else f"#{node.id}") + (
                f" {state.value}" if state not in (None, ExecutionState.COMPLETE) else "")
            if state not in (None, ExecutionState.COMPLETE):
                unfinished.add(source)
            for custom, properties in ((False, node.properties), (True, node.custom_properties)):
                for prop, value in properties.items():
                    key = (custom, f"{node.type}.{prop}")
                    type_of[key] = node.type
                    property_of[key] = prop
                    fields.setdefault(key, []).append((source, value))
        per_column.append(fields)
        types = [node.type for node in nodes]
        several.append({t for t in types if types.count(t) > 1})
    out = []
    for key in sorted({key for fields in per_column for key in fields}):
        values: list[PropertyValue | list[PropertyValue] | None] = []
        sources: list[list[str]] = []
        for fields, repeated in zip(per_column, several, strict=True):
            found = fields.get(key, [])
            if type_of[key] in repeated and len(found) > 1:
                values.append([v for _, v in found])
                sources.append([s for s, _ in found])
            elif type_of[key] in repeated:  # one of them has it (a retry that failed first has none): that one's
                values.append(found[0][1] if found else None)
                sources.append([found[0][0]] if found else [])
            else:
                values.append(found[0][1] if found else None)
                # A lone execution not COMPLETE (a run whose only Trainer FAILED) says so too.
                sources.append([found[0][0]] if found and found[0][0] in unfinished else [])
        out.append(ComparedValue(key[1], values, _differ(values), custom=key[0],
                                 sources=sources if any(sources) else [], type_name=type_of[key],
                                 property=property_of[key]))
    return out


def _differ(values: Sequence[PropertyValue | list[PropertyValue] | None]) -> bool:
    """Whether a value is in one column and not in another (a missing one differs from any;
    a run's two Evaluators with the same threshold as another run's one do not)."""
    def distinct(value: PropertyValue | list[PropertyValue] | None) -> list[PropertyValue]:
        return [] if value is None else value if isinstance(value, list) else [value]

    def within(a: list[PropertyValue], b: list[PropertyValue]) -> bool:
        return all(any(codec.same_value(x, y) for y in b) for x in a)

    first = distinct(values[0])
    return any(not (within(first, other) and within(other, first)) for other in map(distinct, values[1:]))


# A lineage's node: ("Artifact" or "Execution", its id).
_NodeKey = tuple[str, int]


@dataclasses.dataclass(frozen=True)
class LineageComparison:
    """How artifacts (models, say) were made, side by side: what their upstream lineages
    share, what only one of them has, and the properties of the nearest execution of each
    type in each lineage.

    ``shared``: the nodes upstream of every compared artifact; ``only[i]``: those upstream of
    artifact ``i`` and of no other, at any distance (a compared artifact upstream of another,
    a warm start's base model, is among that one's). With ``max_hops``, both list only nodes
    within that many hops of some compared artifact (``only[i]``: of artifact ``i``), but
    whether the others came from a node is decided on their whole lineages: a node 3 hops
    above A and 6 above B is shared, not only A's, with ``max_hops=4``."""

    artifacts: list[Artifact]
    shared: list[Artifact | Execution]
    only: list[list[Artifact | Execution]]
    parameters: list[ComparedValue]

    def table(self) -> list[list[str]]:
        """Rows for printing: a header, then one row per execution property, differing ones marked '*'."""
        return [["", "field", *(f"{a.type} #{a.id}" for a in self.artifacts)], *(item.row() for item in self.parameters)]

    def __repr__(self) -> str:
        """The compared artifacts and how many nodes and fields the rest hold:
        ``LineageComparison(artifacts=['Model #12', 'Model #15'], shared=30, only=[4, 2],
        parameters=8)``."""
        return (f"LineageComparison(artifacts={[f'{a.type} #{a.id}' for a in self.artifacts]!r}, "
                f"shared={len(self.shared)}, only={[len(nodes) for nodes in self.only]!r}, "
                f"parameters={len(self.parameters)})")

    def _repr_html_(self) -> str:
        return _table_html(repr(self), self.table())


def _table_html(summary: str, rows: list[list[str]]) -> str:
    """A comparison as a notebook shows it: its summary (its repr), then its table() as an
    HTML table whose first row is the header."""
    def cells(tag: str, row: list[str]) -> str:
        return "".join(f'<{tag} style="text-align:left">{html.escape(cell)}</{tag}>' for cell in row)

    head, *body = rows
    return (f"<p><code>{html.escape(summary)}</code></p><table><thead><tr>{cells('th', head)}</tr></thead><tbody>"
            + "".join(f"<tr>{cells('td', row)}</tr>" for row in body) + "</tbody></table>")


def compare_lineage(store: MetadataStore, artifact_ids: Sequence[Artifact | int], *, max_hops: int | None = None
                    ) -> LineageComparison:
    """Compare how the artifacts ``artifact_ids`` (stored Artifacts or their ids) were made:
    their upstream lineages (to
    ``max_hops``, default all), which nodes they share, which only one has (the data and
    runs that differ; see LineageComparison), and the properties and custom properties of the
    nearest execution of each type within ``max_hops`` upstream of each (hyperparameters),
    marked where they differ. Each lineage is walked whole, in one statement (``max_hops``
    only narrows what is listed and read in full), so "only A" never holds a node B came from
    further away; a node upstream of several is read once.

    Raises:
        InvalidArgumentError: fewer than two ids, or one given twice; an item neither a
            stored Artifact nor an id (``field`` ``artifact_ids[1]``); ``max_hops`` not a
            whole number or negative.
        NotFoundError: an id that is no artifact.
    """
    ids = [_input_id(item, f"artifact_ids[{i}]", "artifact") for i, item in enumerate(artifact_ids)]
    if len(ids) < 2:
        raise InvalidArgumentError("compare at least two artifacts", field="artifact_ids")
    twice = next((i for i, artifact_id in enumerate(ids) if artifact_id in ids[:i]), None)
    if twice is not None:
        raise InvalidArgumentError(f"artifact_ids[{twice}]: artifact {ids[twice]} is given twice",
                                   field=f"artifact_ids[{twice}]")
    if max_hops is not None:
        max_hops = codec.as_int(max_hops, "max_hops", "a number of hops")
        if max_hops < 0:
            raise InvalidArgumentError(f"max_hops cannot be negative: {max_hops}", field="max_hops")
    found = {a.id: a for a in store.get_artifacts_by_id(ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"no artifact with id {missing[0]}", field="artifact_ids")
    # Per compared artifact, the hops to each node upstream of it (itself at 0); the models of
    # the nodes within max_hops of some compared artifact, the only ones listed.
    Walked = tuple[list[dict[_NodeKey, int]], dict[_NodeKey, Artifact | Execution]]

    def walk(tx: Any) -> Walked:
        hops: list[dict[_NodeKey, int]] = [{} for _ in ids]
        nodes: dict[_NodeKey, Artifact | Execution] = {}
        for record in tx.run(q.LINEAGE_COMPARISON, ids=ids, max_hops=max_hops):
            for is_artifact, node_id, reach, props in record["nodes"]:
                key = ("Artifact" if is_artifact else "Execution", node_id)
                for i, distance in reach:
                    hops[i][key] = distance
                if props is not None:
                    nodes[key] = (codec.decode_node(Artifact, props) if is_artifact
                                  else codec.decode_node(Execution, props))
        return hops, nodes

    hops, nodes = store._read(walk)
    upstream = [set(h) - {("Artifact", i)} for h, i in zip(hops, ids, strict=True)]
    near = [{k for k in up if max_hops is None or h[k] <= max_hops} for h, up in zip(hops, upstream, strict=True)]
    listed: set[_NodeKey] = set().union(*near)
    shared_keys = listed.intersection(*upstream)

    def ordered(keys: set[_NodeKey], h: dict[_NodeKey, int]) -> list[Artifact | Execution]:
        return [nodes[k] for k in sorted(keys, key=lambda k: (h[k], k))]

    only = [ordered({k for k in near[i] if not any(k in up for j, up in enumerate(upstream) if j != i)}, hops[i])
            for i in range(len(ids))]
    nearest: list[list[Artifact | Execution]] = []
    for h in hops:
        by_type: dict[str | None, Execution] = {}
        for key in sorted((k for k, d in h.items() if k[0] == "Execution" and (max_hops is None or d <= max_hops)),
                          key=lambda k: (h[k], k[1])):
            node = nodes[key]
            assert isinstance(node, Execution)
            by_type.setdefault(node.type, node)
        nearest.append(list(by_type.values()))
    return LineageComparison([found[i] for i in ids], ordered(shared_keys, hops[0]), only, _side_by_side(nearest))


# --- the cypher/ queries from Python ----------------------------------------------------------


_NODE_MODELS: dict[str, type[Artifact] | type[Execution] | type[Context]] = {
    "Artifact": Artifact, "Execution": Execution, "Context": Context}


def run_query(store: MetadataStore, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run one of graphmd's Cypher queries, ``cypher/<name>.cypher`` (``graphmd query``
    lists them, each file's header says what it answers and takes), with ``params``, in one
    read. Returns its rows as ``graphmd query`` prints them: plain values, nodes and events
    as dicts (with their ``kind``), STRUCT and PROTO values and event paths decoded, times
    as UTC datetimes. ``what_can_be_reused``'s ``properties`` are given as an execution's.

    Raises:
        NotFoundError: there is no such query; or a parameter that names something in the
            store (an artifact id, a run name, a type name) names nothing (``field`` the
            parameter): a misspelt name would otherwise read as a question with no answer.
        InvalidArgumentError: a parameter the query uses is not given, one it does not use
            is, or one is not of the kind its example in the header is.
    """
    sent = params
    if isinstance(params.get("properties"), dict):  # compared as executions hold them
        sent = {**params, "properties": stored_properties(params["properties"])}
    rows = _cypher_files.run(store, name, **sent)
    _cypher_files.check_names(store, name, params)
    for row in rows:
        if "value_type" in row and "value" in row:  # a STRUCT or PROTO value, not its stored text
            row["value"] = codec.stored_value_as_json(row["value_type"], row["value"])
        for key, value in row.items():
            row[key] = _plain(value)
    return rows


def _plain(value: Any) -> Any:
    """A value a query returned, as plain Python: nodes decoded (``properties`` and
    ``custom_properties`` by name, not their storage keys) with their ``kind``, events with
    the ids of their two ends, other links by the ids they join, times as datetimes, event
    paths as lists of steps."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        plain = {key: _plain(item) for key, item in value.items()}
        if "path" in plain:  # an event (what_can_be_reused's inputs): its path as steps
            plain["path"] = codec.stored_path_as_json(plain["path"])
        return plain
    if isinstance(value, neo4j.graph.Node):
        kind = next((label for label in value.labels if label in _NODE_MODELS), None)
        if kind is None:  # a type, or graphmd's own bookkeeping
            return {"labels": sorted(value.labels), **dict(value.items())}
        node = codec.decode_node(_NODE_MODELS[kind], dict(value.items()))
        return {"kind": kind, **node.model_dump(mode="json", exclude_none=True)}
    if isinstance(value, neo4j.graph.Relationship):
        props = dict(value.items())
        if value.type == "EVENT" and isinstance(props.get("event_key"), str):
            artifact_id, execution_id, _ = props["event_key"].split(":", 2)  # see graphmd._codec.event_key
            event = codec.decode_event(props, int(artifact_id), int(execution_id))
            return {"kind": "Event", **event.model_dump(mode="json", exclude_none=True)}
        ends = [node.get("id") if node is not None else None for node in value.nodes]
        return {"kind": value.type, "from_id": ends[0], "to_id": ends[1], **props}
    if isinstance(value, neo4j.time.DateTime):
        native: datetime.datetime = value.to_native()
        return native
    return value
