"""Code that runs in child processes of the concurrency and fault tests.

Kept out of the test modules so a spawned child imports only this (and graphmd), never
pytest's fixtures. Every function takes plain data (connection tuple, numbers) so it can
cross a process boundary.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from graphmd import (
    Artifact,
    ArtifactAndEvent,
    ArtifactType,
    Context,
    ContextType,
    Event,
    EventEdge,
    EventType,
    Execution,
    ExecutionState,
    ExecutionType,
    MetadataStore,
    PropertyType,
)

Connection = tuple[str, str, str | None, str | None]  # uri, user, password, database

SHARED_DATA = 20  # input artifacts shared by every writer, by external_id
RUNS = 10  # run contexts shared by every writer, by name


class _RetryCounter(logging.Handler):
    """Counts the driver's and graphmd's reruns of a transaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.transient = 0
        self.conflicts = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name.startswith("neo4j") and "will be retried" in message:
            self.transient += 1
        elif record.name.startswith("graphmd") and "unique-key race" in message:
            self.conflicts += 1


def register_types(store: MetadataStore) -> dict[str, int]:
    """The types of the simulated pipeline; every writer puts them (idempotently)."""
    p = PropertyType
    return {
        "data": store.put_artifact_type(ArtifactType(name="Data", properties={"day": p.INT})),
        "model": store.put_artifact_type(ArtifactType(name="Model", properties={"step": p.INT})),
        "step": store.put_execution_type(ExecutionType(name="Step", properties={"n": p.INT})),
        "pipeline": store.put_context_type(ContextType(name="Pipeline")),
        "run": store.put_context_type(ContextType(name="Run")),
    }


def step_request(types: dict[str, int], writer: int, step: int) -> dict[str, Any]:
    """put_execution's arguments for one pipeline step: read a shared dataset, write a
    model, in the shared pipeline context and one of the shared run contexts."""
    shared = step % SHARED_DATA
    return {
        "execution": Execution(type_id=types["step"], name=f"w{writer}-s{step}", properties={"n": step},
                               last_known_state=ExecutionState.COMPLETE),
        "artifact_and_events": [
            ArtifactAndEvent(artifact=Artifact(type_id=types["data"], uri=f"/data/{shared}",
                                               external_id=f"data-{shared}", properties={"day": shared}),
                             event=Event(type=EventType.INPUT, path=["examples", 0])),
            ArtifactAndEvent(artifact=Artifact(type_id=types["model"], uri=f"/models/w{writer}/s{step}",
                                               external_id=f"model-w{writer}-s{step}", properties={"step": step}),
                             event=Event(type=EventType.OUTPUT, path=["model"])),
        ],
        # Odd writers name the contexts in the other order: opposite lock orders, deadlocks.
        "contexts": [Context(type_id=types["pipeline"], name="pipeline"),
                     Context(type_id=types["run"], name=f"run-{step % RUNS}")][:: -1 if writer % 2 else 1],
    }


def record_steps(connection: Connection, writer: int, steps: int, barrier: Any, out: Any) -> None:
    """One pipeline process: open a store, wait for the others, record ``steps`` steps.

    Puts (writer, results, errors, transient retries, conflict reruns) on ``out``."""
    counter = _RetryCounter()
    for name in ("neo4j", "graphmd"):
        logging.getLogger(name).addHandler(counter)
        logging.getLogger(name).setLevel(logging.DEBUG)
    results: list[tuple[int, int, list[int], list[int]]] = []
    errors: list[str] = []
    try:
        with MetadataStore(*connection) as store:
            barrier.wait(timeout=120)
            types = register_types(store)
            for step in range(steps):
                try:
                    r = store.put_execution(**step_request(types, writer, step), reuse_context_if_already_exist=True,
                                            reuse_artifact_if_already_exist_by_external_id=True)
                    results.append((step, r.execution_id, r.artifact_ids, r.context_ids))
                except Exception:  # noqa: BLE001 - every failure is reported to the test
                    errors.append(traceback.format_exc())
    except Exception:  # noqa: BLE001
        errors.append(traceback.format_exc())
    out.put((writer, results, errors, counter.transient, counter.conflicts))


def open_store(connection: Connection, barrier: Any, out: Any) -> None:
    """Open a store at the same moment as the other processes; puts ("ok", schema version)
    or ("error", traceback) on ``out``."""
    logging.getLogger("neo4j").setLevel(logging.ERROR)  # the retried deadlocks are expected here
    try:
        barrier.wait(timeout=120)
        with MetadataStore(*connection) as store:
            out.put(("ok", store.schema_version))
    except Exception:  # noqa: BLE001 - reported to the test
        out.put(("error", traceback.format_exc()))


def record_steps_grpc(port: int, writer: int, steps: int, barrier: Any, out: Any) -> None:
    """record_steps through `graphmd serve` on ``port`` with ml_metadata's own gRPC client,
    as a TFX or Kubeflow pipeline process records its steps."""
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2 as pb

    results: list[tuple[int, int, list[int], list[int]]] = []
    errors: list[str] = []
    try:
        client = mlmd.MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=port))
        barrier.wait(timeout=120)
        v = pb.Value
        types = {
            "data": client.put_artifact_type(pb.ArtifactType(name="Data", properties={"day": pb.INT})),
            "model": client.put_artifact_type(pb.ArtifactType(name="Model", properties={"step": pb.INT})),
            "step": client.put_execution_type(pb.ExecutionType(name="Step", properties={"n": pb.INT})),
            "pipeline": client.put_context_type(pb.ContextType(name="Pipeline")),
            "run": client.put_context_type(pb.ContextType(name="Run")),
        }
        for step in range(steps):
            request = step_request(types, writer, step)
            x = request["execution"]
            execution = pb.Execution(type_id=x.type_id, name=x.name, properties={"n": v(int_value=step)},
                                     last_known_state=pb.Execution.COMPLETE)
            pairs = []
            for pair in request["artifact_and_events"]:
                a, e = pair.artifact, pair.event
                artifact = pb.Artifact(type_id=a.type_id, uri=a.uri, external_id=a.external_id,
                                       properties={k: v(int_value=n) for k, n in a.properties.items()})
                event = pb.Event(type=pb.Event.Type.Value(e.type.value), path=pb.Event.Path(steps=[
                    pb.Event.Path.Step(index=s) if isinstance(s, int) else pb.Event.Path.Step(key=s) for s in e.path]))
                pairs.append((artifact, event))
            contexts = [pb.Context(type_id=c.type_id, name=c.name) for c in request["contexts"]]
            try:
                x_id, a_ids, c_ids = client.put_execution(execution, pairs, contexts,
                                                          reuse_context_if_already_exist=True,
                                                          reuse_artifact_if_already_exist_by_external_id=True)
                results.append((step, x_id, list(a_ids), list(c_ids)))
            except Exception:  # noqa: BLE001 - every failure is reported to the test
                errors.append(traceback.format_exc())
    except Exception:  # noqa: BLE001
        errors.append(traceback.format_exc())
    out.put((writer, results, errors, 0, 0))


def big_call(connection: Connection, kind: str, marker: str, size: int, started: Any, finished: Any) -> None:
    """One large write (``kind``: "lineage" or "execution") tagged with ``marker``, for a
    parent that SIGKILLs this process while it runs. Sets the ``started`` event just before
    the call and ``finished`` after it returns."""
    with MetadataStore(*connection) as store:
        types = register_types(store)
        store.get_artifacts_by_id([0])  # warm the connection: the call itself goes first on the wire
        ctx = Context(type_id=types["run"], name=f"run-{marker}")
        if kind == "lineage":
            executions = [Execution(type_id=types["step"], name=f"{marker}-x{i}", properties={"n": i})
                          for i in range(size)]
            artifacts = [Artifact(type_id=types["model"], external_id=f"{marker}-a{i}", uri=f"/m/{marker}/{i}",
                                  properties={"step": i}) for i in range(size)]
            edges = [EventEdge(event=Event(type=EventType.OUTPUT), execution_index=i, artifact_index=i)
                     for i in range(size)]
            started.set()
            store.put_lineage_subgraph(executions, artifacts, [ctx], edges)
        else:
            pairs = [ArtifactAndEvent(artifact=Artifact(type_id=types["model"], external_id=f"{marker}-a{i}",
                                                        uri=f"/m/{marker}/{i}", properties={"step": i}),
                                      event=Event(type=EventType.OUTPUT, path=[i]))
                     for i in range(size)]
            started.set()
            store.put_execution(Execution(type_id=types["step"], name=f"{marker}-x"), pairs, [ctx])
        finished.set()

