"""Kubeflow Pipelines v2 through `graphmd serve`, against ml-metadata's own store.

KFP v2's drivers and launchers talk to MLMD through one Go client
(kubeflow/pipelines, backend/src/v2/metadata/client.go). The replay below sends the requests it
builds, shaped as it builds them (schemaless system.* types registered on every call, contexts
sent back whole in PutExecution, options with an empty filter and page token, ...), in the
order a run issues them: the root DAG driver and its retry by Argo, container tasks passing
an artifact, an importer, a nested DAG whose failed task makes it FAILED, a ParallelFor whose
DAG-state update pages through GetExecutionsByContext with the parent_dag_id filter, a cached
re-run, the races KFP tolerates (ALREADY_EXISTS), and what the KFP UI reads. Each answer (or
error class) from `graphmd serve` must equal ml-metadata's: ids are relabelled per kind in the
order they appear (the numbers differ only because the test store has been emptied before),
timestamps are left out, page tokens are compared by presence.

Also: `graphmd serve` restarted on its port while the old server's connections wait in
TIME_WAIT (a KFP metadata-grpc container restarted in its pod) binds, as gRPC itself does.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import pytest

pytest.importorskip("ml_metadata")

import ml_metadata as mlmd  # noqa: E402
from google.protobuf import json_format, struct_pb2  # noqa: E402
from ml_metadata import errors  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402
from ml_metadata.proto import metadata_store_service_pb2 as svc  # noqa: E402

from graphmd import UnavailableError  # noqa: E402
from graphmd.mlmd.server import MlmdServer, ServerOptions  # noqa: E402

from _grpc_helpers import client, running_server  # noqa: E402
from _mlmd_equal import mlmd_everything  # noqa: E402

PIPELINE, RUN_CTX = "system.Pipeline", "system.PipelineRun"
DAG, CONTAINER = "system.DAGExecution", "system.ContainerExecution"
ROOT = "minio://mlpipeline/v2/artifacts"
LOOP = 21  # one more than KFP's page (ListOperationOptions' default max_result_size, 20)
IMPORTED = "gs://bucket/reference.csv"


def _value(v: Any) -> pb.Value:
    """A KFP custom property value: a dict as a STRUCT (KFP's inputs and outputs), else an
    int, a double or a string."""
    if isinstance(v, dict):
        struct = struct_pb2.Struct()
        struct.update(v)
        return pb.Value(struct_value=struct)
    if isinstance(v, int):
        return pb.Value(int_value=v)
    if isinstance(v, float):
        return pb.Value(double_value=v)
    return pb.Value(string_value=v)


class _Kfp:
    """The calls of KFP v2's metadata.Client, each recorded with its answer or error class.
    ``pod()`` starts a new driver or launcher: its context-type cache starts empty."""

    def __init__(self, store: mlmd.MetadataStore) -> None:
        self.store = store
        self.log: list[tuple[str, Any, Any]] = []
        self.context_types: dict[str, int] = {}

    def pod(self) -> _Kfp:
        self.context_types = {}
        return self

    def rpc(self, method: str, request: Any = None, **fields: Any) -> Any:
        """``method`` with ``request``, or with a request of these ``fields``."""
        request = getattr(svc, method + "Request")(**fields) if request is None else request
        response = getattr(svc, method + "Response")()
        try:
            self.store._call(method, request, response)  # the client's own dispatch: in-process or gRPC
        except errors.StatusError as error:
            self.log.append((method, request, type(error).__name__))
            raise
        self.log.append((method, request, response))
        return response

    def context_type_id(self, name: str) -> int:
        if name not in self.context_types:
            try:
                found = self.rpc("GetContextType", type_name=name).context_type.id
            except errors.NotFoundError:
                found = self.rpc("PutContextType", context_type=pb.ContextType(name=name)).type_id
            self.context_types[name] = found
        return self.context_types[name]

    def context(self, type_name: str, name: str, properties: dict[str, str]) -> pb.Context:
        ask = svc.GetContextByTypeAndNameRequest(type_name=type_name, context_name=name)
        found = self.rpc("GetContextByTypeAndName", ask)
        if found.HasField("context"):
            return found.context
        new = pb.Context(name=name, type_id=self.context_type_id(type_name),
                         custom_properties={k: _value(v) for k, v in properties.items()})
        try:
            self.rpc("PutContexts", contexts=[new])
        except errors.AlreadyExistsError:  # another pod made it meanwhile
            pass
        return self.rpc("GetContextByTypeAndName", ask).context

    def pipeline(self, run: str) -> tuple[pb.Context, pb.Context]:
        """GetPipeline: the pipeline and run contexts, the run a child of the pipeline."""
        pipeline = self.context(PIPELINE, "kfp-review", {})
        run_ctx = self.context(RUN_CTX, run, {"namespace": "kubeflow", "pipeline_root": f"{ROOT}/kfp-review/{run}"})
        if not self.rpc("GetParentContextsByContext", context_id=run_ctx.id).contexts:
            link = pb.ParentContext(child_id=run_ctx.id, parent_id=pipeline.id)
            self.rpc("PutParentContexts", parent_contexts=[link])
        return pipeline, run_ctx

    def create(self, contexts: tuple[pb.Context, pb.Context], kind: str, task: str, *, parent: int = 0,
               name: str = "", artifacts: dict[str, int] | None = None, **custom: Any) -> pb.Execution:
        """CreateExecution: RUNNING, then read back by id."""
        type_id = self.rpc("PutExecutionType", execution_type=pb.ExecutionType(name=kind)).type_id
        execution = pb.Execution(type_id=type_id, last_known_state=pb.Execution.RUNNING,
                                 custom_properties={k: _value(v) for k, v in
                                                    {"display_name": task, "task_name": task, **custom}.items()})
        if parent:
            execution.custom_properties["parent_dag_id"].int_value = parent
        if name:
            execution.name = name
        request = svc.PutExecutionRequest(execution=execution, contexts=contexts)
        for key, artifact_id in (artifacts or {}).items():
            pair = request.artifact_event_pairs.add()
            pair.event.artifact_id, pair.event.type = artifact_id, pb.Event.INPUT
            pair.event.path.steps.add().key = key
        created = self.rpc("PutExecution", request).execution_id
        return self.rpc("GetExecutionsByID", execution_ids=[created]).executions[0]

    def execution(self, execution_id: int) -> tuple[pb.Execution, tuple[pb.Context, pb.Context]]:
        """GetExecution: the execution and its pipeline (GetPipelineFromExecution)."""
        [execution] = self.rpc("GetExecutionsByID", execution_ids=[execution_id]).executions
        types = self.context_type_id(PIPELINE), self.context_type_id(RUN_CTX)
        contexts = self.rpc("GetContextsByExecution", execution_id=execution_id).contexts
        by_type = {c.type_id: c for c in contexts}
        return execution, (by_type[types[0]], by_type[types[1]])

    def record(self, name: str, schema: str, uri: str, metadata: dict[str, Any]) -> pb.Artifact:
        """RecordArtifact: a LIVE artifact of a schemaless type, read back by id."""
        type_id = self.rpc("PutArtifactType", artifact_type=pb.ArtifactType(name=schema)).type_id
        artifact = pb.Artifact(type_id=type_id, uri=uri, state=pb.Artifact.LIVE,
                               custom_properties={k: _value(v) for k, v in {**metadata, "display_name": name}.items()})
        ids = self.rpc("PutArtifacts", artifacts=[artifact]).artifact_ids
        return self.rpc("GetArtifactsByID", artifact_ids=ids).artifacts[0]

    def publish(self, execution: pb.Execution, contexts: Any, state: int, outputs: dict[str, pb.Artifact],
                parameters: dict[str, Any] | None = None) -> None:
        """PublishExecution: the execution as read, its new state, its outputs as OUTPUT events
        (a new artifact whole, a stored one by id), the contexts sent back whole."""
        execution.last_known_state = state
        if parameters is not None:
            execution.custom_properties["outputs"].CopyFrom(_value(parameters))
        request = svc.PutExecutionRequest(execution=execution, contexts=contexts)
        for key, artifact in outputs.items():
            pair = request.artifact_event_pairs.add()
            if artifact.id:
                pair.event.artifact_id = artifact.id
            else:
                pair.artifact.CopyFrom(artifact)
            pair.event.type = pb.Event.OUTPUT
            pair.event.path.steps.add().key = key
        self.rpc("PutExecution", request)

    def outputs(self, execution_id: int) -> dict[str, pb.Artifact]:
        """GetOutputArtifactsByExecutionId: OUTPUT events, then their artifacts by id."""
        events = self.rpc("GetEventsByExecutionIDs", execution_ids=[execution_id]).events
        names = {e.artifact_id: e.path.steps[0].key for e in events if e.type == pb.Event.OUTPUT}
        found = self.rpc("GetArtifactsByID", artifact_ids=list(names)).artifacts
        return {names[a.id]: a for a in found}

    def tasks(self, dag: pb.Execution, run_ctx: pb.Context) -> dict[str, pb.Execution]:
        """GetExecutionsInDAG: the run's executions whose parent_dag_id is the DAG, page by page."""
        found: dict[str, pb.Execution] = {}
        token = ""
        while True:
            request = svc.GetExecutionsByContextRequest(context_id=run_ctx.id)
            request.options.filter_query = f"custom_properties.parent_dag_id.int_value = {dag.id}"
            request.options.next_page_token = token  # set even when empty, as KFP does
            page = self.rpc("GetExecutionsByContext", request)
            for e in page.executions:
                custom = e.custom_properties
                index = f"_idx_{custom['iteration_index'].int_value}" if "iteration_index" in custom else ""
                found[f"{custom['task_name'].string_value}_{dag.id}{index}"] = e
            if not (token := page.next_page_token):
                return found

    def update_dag_state(self, dag_id: int) -> None:
        """UpdateDAGExecutionsState: COMPLETE when every expected task completed, FAILED when
        one failed; the DAG re-read and written back with the new state."""
        dag, (_, run_ctx) = self.execution(dag_id)
        custom = dag.custom_properties
        expected = custom["iteration_count" if "iteration_count" in custom else "total_dag_tasks"].int_value
        states = [t.last_known_state for t in self.tasks(dag, run_ctx).values()]
        done = sum(s in (pb.Execution.COMPLETE, pb.Execution.CACHED, pb.Execution.CANCELED) for s in states)
        if done != expected and pb.Execution.FAILED not in states:
            return
        dag, _ = self.execution(dag_id)
        dag.last_known_state = pb.Execution.COMPLETE if done == expected else pb.Execution.FAILED
        self.rpc("PutExecution", execution=dag)

    def run_task(self, run: str, dag: int, task: str, outputs: dict[str, str], *, fail: bool = False,
                 artifacts: dict[str, int] | None = None) -> int:
        """A container task: its driver creates the execution, its launcher pre-publishes,
        records the outputs and publishes, then updates the parent DAG's state."""
        contexts = self.pod().pipeline(run)
        self.execution(dag)
        created = self.create(contexts, CONTAINER, task, parent=dag, artifacts=artifacts, image="python:3.11",
                              cache_fingerprint=f"fp-{task}", inputs={"epochs": 3.0, "message": "hi"})
        execution, contexts = self.pod().execution(created.id)
        execution.custom_properties["pod_name"].string_value = f"{task}-pod"
        self.rpc("PutExecution", execution=execution)
        root = contexts[1].custom_properties["pipeline_root"].string_value
        recorded = {} if fail else {key: self.record(key, schema, f"{root}/{task}/{key}",
                                                     {"accuracy": 0.93} if schema == "system.Metrics" else {})
                                    for key, schema in outputs.items()}
        self.publish(execution, contexts, pb.Execution.FAILED if fail else pb.Execution.COMPLETE, recorded,
                     None if fail else {"rows": 100.0})
        self.update_dag_state(dag)
        return created.id

    def import_artifact(self, run: str, dag: int) -> None:
        """The importer: an ImporterExecution, the artifact matched by uri (GetArtifactsByURI,
        then GetContextsByArtifact: one in this pipeline is reused) or a new one."""
        contexts = self.pod().pipeline(run)
        created = self.create(contexts, "system.ImporterExecution", "importer", parent=dag)
        try:  # GetOrInsertArtifactType
            type_id = self.rpc("GetArtifactType", type_name="system.Dataset").artifact_type.id
        except errors.NotFoundError:
            type_id = self.rpc("PutArtifactType", artifact_type=pb.ArtifactType(name="system.Dataset")).type_id
        artifact = pb.Artifact(type_id=type_id, uri=IMPORTED, state=pb.Artifact.LIVE)
        for candidate in self.rpc("GetArtifactsByURI", uris=[IMPORTED]).artifacts:
            if (candidate.type_id, candidate.state) != (type_id, pb.Artifact.LIVE):
                continue
            where = self.rpc("GetContextsByArtifact", artifact_id=candidate.id).contexts
            if contexts[0].id in [c.id for c in where]:
                artifact = candidate
                break
        self.publish(created, contexts, pb.Execution.COMPLETE, {"artifact": artifact})

    def root(self, run: str) -> int:
        """The root DAG driver; run again (Argo retries it), the name is taken: looked up."""
        contexts = self.pod().pipeline(run)
        try:
            return self.create(contexts, DAG, "", name=f"run/{run}", inputs={"epochs": 3.0, "message": "hi"}).id
        except errors.AlreadyExistsError:
            found = self.rpc("GetExecutionByTypeAndName", type_name=DAG, execution_name=f"run/{run}").execution
            return self.execution(found.id)[0].id


def _replay(kfp: _Kfp) -> None:
    root = kfp.root("run-1")
    producer = kfp.run_task("run-1", root, "producer", {"dataset": "system.Dataset"})
    contexts = kfp.pod().pipeline("run-1")
    dag, _ = kfp.execution(root)
    found = kfp.tasks(dag, contexts[1])
    dataset = kfp.outputs(found[f"producer_{root}"].id)["dataset"]
    kfp.run_task("run-1", root, "trainer", {"model": "system.Model", "metrics": "system.Metrics"},
                 artifacts={"dataset": dataset.id})
    kfp.import_artifact("run-1", root)

    inner = kfp.pod().create(kfp.pipeline("run-1"), DAG, "inner", parent=root, total_dag_tasks=2)
    kfp.run_task("run-1", inner.id, "inner-ok", {"out": "system.Artifact"})
    kfp.run_task("run-1", inner.id, "inner-fails", {}, fail=True)

    contexts = kfp.pod().pipeline("run-1")
    loop = kfp.create(contexts, DAG, "for-loop", parent=root, total_dag_tasks=1, iteration_count=LOOP)
    for i in range(LOOP):
        iteration = kfp.create(contexts, DAG, "for-loop", parent=loop.id, total_dag_tasks=1, iteration_index=i)
        iteration.last_known_state = pb.Execution.COMPLETE
        kfp.rpc("PutExecution", execution=iteration)
    kfp.update_dag_state(loop.id)

    # run 2: the root driver twice, the producer from the cache, the importer reusing run 1's artifact
    root2 = kfp.root("run-2")
    assert kfp.root("run-2") == root2
    contexts = kfp.pod().pipeline("run-2")
    cached = kfp.create(contexts, CONTAINER, "producer", parent=root2, cache_fingerprint="fp-producer",
                        cached_execution_id=str(producer))
    before, _ = kfp.execution(producer)
    kfp.publish(cached, contexts, pb.Execution.CACHED, kfp.outputs(producer),
                json_format.MessageToDict(before.custom_properties["outputs"].struct_value))
    kfp.import_artifact("run-2", root2)

    # races KFP lets pass: the same run context, the same parent link, made by two pods
    with pytest.raises(errors.AlreadyExistsError):
        kfp.rpc("PutContexts", contexts=[pb.Context(type_id=contexts[1].type_id, name="run-2")])
    with pytest.raises(errors.AlreadyExistsError):
        kfp.rpc("PutParentContexts", parent_contexts=[pb.ParentContext(child_id=contexts[1].id,
                                                                        parent_id=contexts[0].id)])

    # the KFP UI: a run's executions, artifacts and events, types, the artifact list page by page
    run = kfp.rpc("GetContextByTypeAndName", type_name=RUN_CTX, context_name="run-1").context
    executions = kfp.rpc("GetExecutionsByContext", context_id=run.id).executions
    artifacts = kfp.rpc("GetArtifactsByContext", context_id=run.id).artifacts
    kfp.rpc("GetEventsByExecutionIDs", execution_ids=[e.id for e in executions])
    kfp.rpc("GetEventsByArtifactIDs", artifact_ids=[a.id for a in artifacts])
    kfp.rpc("GetArtifactTypes")
    kfp.rpc("GetExecutionTypes")
    kfp.rpc("GetArtifactTypesByID", type_ids=sorted({a.type_id for a in artifacts}))
    token = None
    while token != "":
        request = svc.GetArtifactsRequest(options=pb.ListOperationOptions(max_result_size=3))
        if token:
            request.options.next_page_token = token
        token = kfp.rpc("GetArtifacts", request).next_page_token


class _Labels:
    """Ids relabelled per kind (A artifact, X execution, C context, T type) in order of appearance."""

    IDS = {"artifact_id": "A", "artifact_ids": "A", "execution_id": "X", "execution_ids": "X", "context_id": "C",
           "context_ids": "C", "child_id": "C", "parent_id": "C", "type_id": "T", "type_ids": "T"}
    ID_IN = {"artifact": "A", "artifacts": "A", "execution": "X", "executions": "X", "context": "C",
             "contexts": "C", "artifact_type": "T", "artifact_types": "T", "execution_type": "T",
             "execution_types": "T", "context_type": "T", "context_types": "T"}
    TIMES = {"create_time_since_epoch", "last_update_time_since_epoch", "milliseconds_since_epoch"}

    def __init__(self) -> None:
        self.labels: dict[tuple[str, int], str] = {}

    def of(self, kind: str, raw: Any) -> str:
        key = (kind, int(raw))
        return self.labels.setdefault(key, f"{kind}{sum(k == kind for k, _ in self.labels) + 1}")

    def message(self, message: Any, kind: str | None = None) -> Any:
        """A request or answer as a dict, relabelled (``kind``: what the message's own id is)."""
        if isinstance(message, str):  # an error class
            return message
        return self._walk(json_format.MessageToDict(message, preserving_proto_field_name=True), kind)

    def _walk(self, data: Any, kind: str | None) -> Any:
        if isinstance(data, list):
            return [self._walk(item, kind) for item in data]
        if not isinstance(data, dict):
            return data
        out = {}
        for key, value in data.items():
            if key in self.TIMES:
                continue
            if key == "id" and kind:
                out[key] = self.of(kind, value)
            elif key in self.IDS:
                ids = [self.of(self.IDS[key], v) for v in (value if isinstance(value, list) else [value])]
                out[key] = ids if isinstance(value, list) else ids[0]
            elif key == "next_page_token":
                out[key] = bool(value)
            elif key == "filter_query":
                out[key] = re.sub(r"(?<== )\d+", lambda m: self.of("X", m.group()), value)
            elif key == "custom_properties":
                out[key] = {name: self._custom(name, v) for name, v in value.items()}
            else:
                out[key] = self._walk(value, self.ID_IN.get(key))
        return out

    def _custom(self, name: str, value: dict[str, Any]) -> dict[str, Any]:
        """KFP's custom properties that hold an execution id: parent_dag_id, cached_execution_id."""
        if name == "parent_dag_id":
            return {"int_value": self.of("X", value["int_value"])}
        if name == "cached_execution_id":
            return {"string_value": self.of("X", value["string_value"])}
        return value


def _answers(log: list[tuple[str, Any, Any]]) -> tuple[list[str], _Labels]:
    labels = _Labels()
    return [json.dumps([method, labels.message(request), labels.message(answer)], sort_keys=True)
            for method, request, answer in log], labels


def _store(everything: dict[str, dict], labels: _Labels) -> dict[str, list[str]]:
    """mlmd_everything's result with ids relabelled (nodes first seen here get new labels)."""
    out = {}
    for kind, items in everything.items():
        if kind == "links":
            out[kind] = sorted(json.dumps([labels.of("C", c), [sorted(labels.of(k, i) for i in ids)
                                                                for k, ids in zip("AXC", linked)]])
                               for c, linked in items.items())
        else:
            own = {"types": "T", "artifacts": "A", "executions": "X", "contexts": "C"}.get(kind)
            out[kind] = sorted(json.dumps(labels.message(item, own), sort_keys=True) for item in items.values())
    return out


def test_a_kfp_v2_run_gets_the_answers_ml_metadata_gives(store):
    sqlite = mlmd.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig()))
    with running_server(store) as server:
        graphmd = client(server.port)
        replays = [_Kfp(s) for s in (sqlite, graphmd)]
        for kfp in replays:
            _replay(kfp)
        (mlmd_calls, mlmd_labels), (graphmd_calls, graphmd_labels) = [_answers(k.log) for k in replays]
        mlmd_store = _store(mlmd_everything(sqlite), mlmd_labels)
        graphmd_store = _store(mlmd_everything(graphmd), graphmd_labels)
    assert len(mlmd_calls) > 250
    different = [f"call {i}:\n  ml-metadata: {a}\n  graphmd:     {b}"
                 for i, (a, b) in enumerate(zip(mlmd_calls, graphmd_calls)) if a != b]
    assert len(mlmd_calls) == len(graphmd_calls) and not different, "\n".join(different[:3])
    for kind in mlmd_store:
        assert mlmd_store[kind] == graphmd_store[kind], kind


def _time_wait_on(port_owner: socket.socket) -> None:
    """Leave a connection to ``port_owner``'s port in TIME_WAIT on the server side: accepted,
    then closed by the server first, as a stopping server closes its clients' connections."""
    peer = socket.create_connection(port_owner.getsockname())
    accepted, _ = port_owner.accept()
    accepted.close()
    assert peer.recv(1) == b""  # the server's FIN arrived
    peer.close()


def test_serve_restarts_on_its_port_while_old_connections_wait_in_time_wait(store):
    with socket.socket() as old_server:
        old_server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC's listener has it
        old_server.bind(("127.0.0.1", 0))
        old_server.listen()
        port = old_server.getsockname()[1]
        _time_wait_on(old_server)
    # Was refused with "cannot listen on 127.0.0.1:PORT: the port is taken" until the
    # connection's TIME_WAIT ended, a minute later; gRPC binds over it, and so must the probe.
    restarted = MlmdServer(store, ServerOptions(port=port)).start()
    try:
        kfp = _Kfp(client(port))
        assert kfp.context_type_id(PIPELINE) > 0
        assert restarted.port == port
    finally:
        restarted.stop(0).wait(10)
    with socket.socket() as taken:  # a port another process listens on is still refused
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(UnavailableError, match="the port is taken"):
            MlmdServer(store, ServerOptions(port=taken.getsockname()[1]))
