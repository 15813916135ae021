"""A property-based fuzz of MetadataStore's public API against the real Neo4j.

Hypothesis draws calls with hostile arguments: any Unicode (lone surrogates, NUL, line
separators), Cypher metacharacters and keywords in every name, key and value, oversized
strings, integers far outside int64, NaN and infinities, ids that exist and ids that do not.
Whatever it draws, a call either succeeds or raises one of graphmd's typed request errors
(never an untyped exception, never InternalError, which is what a Cypher syntax error from
Neo4j would become), and a call that raised leaves the store exactly as it was.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _sample import populate
from _snapshot import snapshot
from graphmd import (
    AlreadyExistsError,
    Artifact,
    ArtifactAndEvent,
    ArtifactState,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    FailedPreconditionError,
    InvalidArgumentError,
    ListOptions,
    MetadataStore,
    NotFoundError,
    OrderBy,
    OutOfRangeError,
    ParentContext,
    PropertyType,
    ProtoValue,
    UnimplementedError,
)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("GRAPHMD_FUZZ_EXAMPLES", "500"))  # more: GRAPHMD_FUZZ_EXAMPLES=5000
# What a bad request may raise. InternalError, UnavailableError, AbortedError or any
# non-graphmd exception fails the test.
REQUEST_ERRORS = (InvalidArgumentError, NotFoundError, AlreadyExistsError, FailedPreconditionError,
                  OutOfRangeError, UnimplementedError)

HOSTILE = ["`", "``", "'", '"', "\\", "{", "}", "(", ")", "[", "]", ":", ";", "$id", "//", "/*", "*/", "\x00",
           "\u2028", "\ud800", "\udfff", "\U0001f9ea", "MATCH (n) DETACH DELETE n", "RETURN", "WHERE", "id",
           "p_x", "c_x", "} ) DETACH DELETE n //", "x` DETACH DELETE n //", "' OR 1=1 --", "\n", "\r\n", " "]

texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=20),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=4).map("".join),
    st.sampled_from(["", "x" * 9000, "é" * 5000]),
)
ints = st.one_of(st.integers(-3, 40), st.integers(-(2**63), 2**63 - 1), st.sampled_from([2**63, -(2**63) - 1, 2**70]))
floats = st.floats(allow_nan=True, allow_infinity=True)
json_values = st.recursive(st.none() | st.booleans() | ints | floats | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=6)
values = st.one_of(st.booleans(), ints, floats, texts, st.dictionaries(texts, json_values, max_size=3),
                   st.builds(ProtoValue, type_url=texts.filter(bool), value=st.binary(max_size=8)))
props = st.dictionaries(st.one_of(texts, st.sampled_from(["i", "f", "s", "b", "st", "pb", "lr", "note"])), values,
                        max_size=3)
prop_types = st.dictionaries(texts, st.sampled_from(PropertyType), max_size=3)
maybe = lambda s: st.none() | s  # noqa: E731


def node_fields(ids: Any) -> dict[str, Any]:
    return dict(id=maybe(ids), type_id=maybe(ids), name=maybe(texts), external_id=maybe(texts), properties=props,
                custom_properties=props)


def strategies(known: list[int]) -> dict[str, Any]:
    ids = st.one_of(ints, st.sampled_from(known))
    artifacts = st.builds(Artifact, uri=maybe(texts), state=maybe(st.sampled_from(ArtifactState)), **node_fields(ids))
    executions = st.builds(Execution, last_known_state=maybe(st.sampled_from(ExecutionState)), **node_fields(ids))
    contexts = st.builds(Context, **node_fields(ids))
    events = st.builds(Event, artifact_id=maybe(ids), execution_id=maybe(ids), type=maybe(st.sampled_from(EventType)),
                       path=st.lists(st.one_of(ints, texts), max_size=3), milliseconds_since_epoch=maybe(ints))
    type_fields = dict(name=texts, version=maybe(texts), description=maybe(texts), external_id=maybe(texts),
                       properties=prop_types)
    filters = st.one_of(texts, st.sampled_from(["name = 'd0'", "uri LIKE '/d/%'", "properties.i.int_value > 0",
                                                "contexts_a.name = 'run-0' AND state = LIVE", "id IN (1, 2)"]))
    options = st.builds(ListOptions, max_result_size=maybe(ints), order_by=st.sampled_from(OrderBy),
                        is_asc=st.booleans(), filter_query=maybe(filters), next_page_token=maybe(texts))
    small = lambda s: st.lists(s, max_size=3)  # noqa: E731
    flags = st.booleans()
    return {
        "put_artifact_type": st.tuples(st.builds(ArtifactType, **type_fields), flags, flags),
        "put_execution_type": st.tuples(st.builds(ExecutionType, **type_fields), flags, flags),
        "put_context_type": st.tuples(st.builds(ContextType, **type_fields), flags, flags),
        "put_artifacts": st.tuples(small(artifacts), maybe(small(texts)), flags),
        "put_executions": st.tuples(small(executions), maybe(small(texts))),
        "put_contexts": st.tuples(small(contexts), maybe(small(texts))),
        "put_events": st.tuples(small(events)),
        "put_execution": st.tuples(executions, small(st.builds(ArtifactAndEvent, artifact=maybe(artifacts),
                                                               event=maybe(events))), small(contexts), flags, flags,
                                   flags),
        "put_lineage_subgraph": st.tuples(small(executions), small(artifacts), small(contexts),
                                          small(st.builds(EventEdge, event=events, artifact_index=maybe(ints),
                                                          execution_index=maybe(ints))), flags, flags),
        "put_attributions_and_associations": st.tuples(
            small(st.builds(Attribution, context_id=ids, artifact_id=ids)),
            small(st.builds(Association, context_id=ids, execution_id=ids))),
        "put_parent_contexts": st.tuples(small(st.builds(ParentContext, child_id=ids, parent_id=ids))),
        "get_artifact_type": st.tuples(texts, maybe(texts)),
        "get_artifact_types_by_id": st.tuples(small(ids)),
        "get_context_types_by_external_ids": st.tuples(small(texts)),
        "get_artifacts_by_id": st.tuples(small(ids)),
        "get_executions_by_external_ids": st.tuples(small(texts)),
        "get_artifacts_by_uri": st.tuples(texts),
        "get_context_by_type_and_name": st.tuples(texts, texts, maybe(texts)),
        "get_artifacts_by_type": st.tuples(texts, maybe(texts), maybe(options)),
        "get_executions": st.tuples(maybe(options)),
        "get_artifacts_by_context": st.tuples(ids, maybe(options)),
        "get_events_by_execution_ids": st.tuples(small(ids)),
        "get_parent_contexts_by_contexts": st.tuples(small(ids)),
        "get_contexts_by_artifact": st.tuples(ids),
    }


def call(store: MetadataStore, name: str, args: tuple) -> Any:
    method = getattr(store, name)
    if name.startswith("put_") and name.endswith("_type"):
        t, add, omit = args
        return method(t, can_add_fields=add, can_omit_fields=omit)
    if name == "put_artifacts":
        nodes, mask, abort = args
        return method(nodes, update_mask=mask, abort_if_latest_updated_time_changed=abort)
    if name in ("put_executions", "put_contexts"):
        nodes, mask = args
        return method(nodes, update_mask=mask)
    if name == "put_execution":
        execution, pairs, contexts, reuse_ctx, reuse_art, force = args
        return method(execution, pairs, contexts, reuse_context_if_already_exist=reuse_ctx,
                      reuse_artifact_if_already_exist_by_external_id=reuse_art, force_reuse_context=force)
    if name == "put_lineage_subgraph":
        *lists, reuse_ctx, reuse_art = args
        return method(*lists, reuse_context_if_already_exist=reuse_ctx,
                      reuse_artifact_if_already_exist_by_external_id=reuse_art)
    if name in ("get_artifacts_by_type",):
        type_name, version, options = args
        return method(type_name, version, options)
    return method(*args)


@pytest.fixture
def sample(store: MetadataStore) -> list[int]:
    populate(store, n=2)
    known = [t.id for t in [*store.get_artifact_types(), *store.get_execution_types(), *store.get_context_types()]]
    known += [n.id for n in [*store.get_artifacts(), *store.get_executions(), *store.get_contexts()]]
    return sorted(set(known))


def test_no_input_escapes_graphmds_typed_errors(store: MetadataStore, sample: list[int]) -> None:
    table = strategies(sample)
    outcomes: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(table)), label="operation")
        args = data.draw(table[name], label="arguments")
        before = snapshot(store)
        try:
            call(store, name, args)
        except REQUEST_ERRORS as error:
            assert error.field or name.startswith("get_"), f"{name}: {type(error).__name__} names no field: {error}"
            assert snapshot(store) == before, f"{name} raised {type(error).__name__} but changed the store"
            outcomes[type(error).__name__] += 1
            return
        outcomes["ok"] += 1

    check()
    print(f"\nAPI fuzz: {sum(outcomes.values())} calls, outcomes {dict(outcomes)}, 0 untyped, 0 Cypher errors")
