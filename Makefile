# graphmd's everyday commands. Each installs what it needs first (scripts/bootstrap).
.PHONY: bootstrap demo lint test conformance conformance-clients bench neo4j-start neo4j-stop clean

bootstrap:
	@scripts/bootstrap

# DEMO_ARGS: the demo's options (`python -m graphmd.demo --help`), e.g. DEMO_ARGS=--reset.
demo: bootstrap
	.venv/bin/python -m graphmd.demo $(DEMO_ARGS)

# Type-check the package (mypy, configured in pyproject.toml): it ships py.typed.
lint: bootstrap
	.venv/bin/python -m mypy

test: bootstrap
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# Google's ml-metadata test suite, unmodified, against `graphmd serve` (fresh Neo4j + server).
conformance: bootstrap
	scripts/conformance $(CONFORMANCE_ARGS)

# The suites of older ml-metadata clients (still pinned by TFX and KFP releases), each installed
# once into its own venv in the cache directory, against a fresh `graphmd serve`.
MLMD_CLIENTS ?= 1.15.0 1.16.0
conformance-clients: bootstrap
	for version in $(MLMD_CLIENTS); do scripts/conformance --client-version $$version || exit 1; done

# graphmd against ml-metadata on the same workloads, one table (bench/; sizes: BENCH_ARGS=--help).
bench: bootstrap
	.venv/bin/python -m bench $(BENCH_ARGS)

neo4j-start: bootstrap
	.venv/bin/graphmd neo4j start

neo4j-stop:
	.venv/bin/graphmd neo4j stop

clean:
	rm -rf .venv .pytest_cache .hypothesis .mypy_cache
