# graphmd's MLMD-compatible gRPC server: `docker compose up` (see docker-compose.yml) runs it next
# to Neo4j; any MLMD client (TFX, Kubeflow Pipelines, ml_metadata) connects to port 8080.
# ml-metadata ships x86_64 Linux wheels only: the image is linux/amd64 on any host (on Apple
# silicon, Docker runs it emulated).
FROM --platform=linux/amd64 python:3.11-slim

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY graphmd ./graphmd
COPY cypher ./cypher
# ml-metadata ships wheels for CPython 3.9-3.11 on x86_64 Linux (and macOS): build for linux/amd64.
RUN pip install --no-cache-dir ".[mlmd]" && rm -rf /src

WORKDIR /
USER nobody
EXPOSE 8080
# Prometheus metrics when started with --metrics-port 9464 (docker-compose.yml does).
EXPOSE 9464
# Neo4j connection: GRAPHMD_NEO4J_URI / _USER / _PASSWORD / _DATABASE (or --uri ... flags).
# SIGTERM (docker stop) lets in-flight calls finish before the server exits.
# Requests up to 100 MB, as Kubeflow Pipelines' manifest starts Google's server (its client
# sends that much; gRPC's default is 4 MiB): the image stands in for metadata-grpc-deployment.
ENTRYPOINT ["graphmd", "serve", "--host", "0.0.0.0"]
CMD ["--grpc-port", "8080", "--wait-for-neo4j", "120", "--max-receive-message-length", "104857600"]
