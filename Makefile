# The commands people expect. Every target first installs what is missing.
PY := .venv/bin/python
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= localhost/customer-service:$(VERSION)

.PHONY: setup run test test-unit fuzz chaos lint format bench migrate dapr clean image image-check k8s-check

setup:  ## Install Debian packages, the virtualenv and the Dapr runtime (idempotent)
	@scripts/setup.sh

run: setup  ## Postgres, Redis, placement, scheduler, then the app and its daprd (Ctrl-C stops all)
	@$(PY) -m devstack run

test: setup  ## Whole suite: unit + integration on the real stack
	$(PY) -m pytest

test-unit: setup  ## Pure tests only (no processes started)
	$(PY) -m pytest tests/unit

fuzz: setup  ## Fuzz the API on the real stack: FUZZ_REQUESTS (2500) generated and hostile requests, 0 server errors
	$(PY) -m pytest tests/fuzz/fuzz_api.py -s

chaos: setup  ## Fault suite on durable stacks of its own (kills, outages) under load; one table, ~6 min
	$(PY) -m tests.chaos $(CHAOS_ARGS)

lint: setup  ## ruff (lint + format check) and mypy --strict
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: setup  ## Latency and throughput of the write and read paths (see README)
	$(PY) -m bench $(BENCH_ARGS)

migrate: setup  ## Apply the read model's SQL migrations to CUSTOMER_DATABASE_DSN (default: make run's)
	$(PY) -m readmodel.migrate

image:  ## Build the image with podman (base from Debian's packages unless BASE_IMAGE=...)
	@IMAGE=$(IMAGE) scripts/build-image.sh >/dev/null

image-check: setup image  ## Run the image read-only as its non-root user beside a local daprd; smoke test
	$(PY) -m devstack.image_check $(IMAGE)

k8s-check: setup  ## k8s/ on a real kube-apiserver (server-side dry run) and Dapr's injector (builds them first)
	@scripts/install-k8s-tools.sh
	$(PY) -m devstack.k8s_check

clean:  ## Remove local data (./data) and Dapr CLI logs; keeps .venv and ~/.dapr
	rm -rf data .dapr
