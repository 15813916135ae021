# graphmd's everyday commands. Each installs what it needs first (scripts/bootstrap).
.PHONY: bootstrap demo lint test conformance bench neo4j-start neo4j-stop clean

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	.venv/bin/python -m graphmd.demo

# Type-check the package (mypy, configured in pyproject.toml): it ships py.typed.
lint: bootstrap
	.venv/bin/python -m mypy

test: bootstrap
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# Google's ml-metadata test suite, unmodified, against `graphmd serve` (fresh Neo4j + server).
conformance: bootstrap
	scripts/conformance $(CONFORMANCE_ARGS)

# graphmd against ml-metadata on the same workloads, one table (bench/; sizes: BENCH_ARGS=--help).
bench: bootstrap
	.venv/bin/python -m bench $(BENCH_ARGS)

neo4j-start: bootstrap
	.venv/bin/graphmd neo4j start

neo4j-stop:
	.venv/bin/graphmd neo4j stop

clean:
	rm -rf .venv .pytest_cache .hypothesis .mypy_cache
