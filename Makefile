# `make run` starts the whole platform; `make test` runs every check. Both bootstrap first.
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: bootstrap run test lint typecheck pytest bench chaos lock clean image test-image

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	$(PY) -m mp3converter dev

test: bootstrap lint typecheck pytest

lint:
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck:
	$(VENV)/bin/mypy

pytest:
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The image, mp3converter:<version>: docker when an engine answers, else podman (installed when
# missing, on local stand-ins for the base images when no image registry answers).
image:
	@scripts/image.sh

# Builds the image, then runs every role from it and the seed flow through them (tests/image/).
test-image: bootstrap
	timeout 40m scripts/image.sh
	timeout 20m $(VENV)/bin/pytest -m image tests/image $(PYTEST_ARGS)

# BENCH_ARGS: options of bench/table.py, e.g. BENCH_ARGS="--runs 5 --converter-concurrency 2".
BENCH_ARGS ?=

bench: bootstrap
	$(PY) bench/table.py $(BENCH_ARGS)
	$(PY) bench/options.py
	$(PY) bench/auth_memory.py
	$(PY) bench/revocation_latency.py
	$(PY) bench/sse_latency.py

# The chaos suite (README: Chaos suite): not part of `make test`; restarts the local RabbitMQ
# briefly. CHAOS_RUNS=5 runs each row five times; CHAOS_ARGS: options of bench/chaos.py.
CHAOS_ARGS ?=

chaos: bootstrap
	$(PY) bench/chaos.py $(CHAOS_ARGS)

# Re-pin dependencies after editing pyproject.toml or tools/secantusdb.in (the image uses
# requirements-runtime.lock: no test or lint tools).
lock:
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --no-header -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --no-header -o requirements-runtime.lock
	$(VENV)/bin/uv pip compile tools/secantusdb.in --generate-hashes --python-version 3.11 --no-header -o tools/secantusdb.lock

clean:
	rm -rf $(VENV) .tools .data .mypy_cache .ruff_cache .pytest_cache
