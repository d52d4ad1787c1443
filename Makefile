# Task runner. The README's two commands are `make demo` and `make test`; both set up
# everything they need (a virtualenv, the Kafka jars, a local broker) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHON := $(abspath $(PY))
KAFKA := docker/kafka-local
TEST_PORT ?= 19092
# The test broker's own state dir: never the one of a broker the user started (README's
# `docker/kafka-local start` on 9092), which `make test` would otherwise refuse or stop.
TEST_KAFKA_STATE ?= $(or $(TMPDIR),/tmp)/logscrub-test-kafka-$(TEST_PORT)

.PHONY: setup lint demo demo-file test test-unit test-nlp test-kafka check image bench bench-smoke clean

# native/: the editable install holds a compiled copy, rebuilt when the Rust source changes.
$(VENV)/.installed: pyproject.toml constraints.txt native/Cargo.toml native/Cargo.lock $(wildcard native/src/*.rs)
	@command -v cargo >/dev/null || { echo "make setup: cargo and rustc (1.74+) are needed to build the native prefilter (native/): Debian 12: apt-get install cargo-web; elsewhere: rustup" >&2; exit 1; }
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[ner,dev]'
	touch $@

setup: $(VENV)/.installed  ## virtualenv with logscrub, the spaCy model and test tools

demo: setup  ## broker + worker + sample logs in, clean logs out
	$(PY) -m pipeline demo

demo-file: setup  ## file mode only: sample logs before and after, no broker
	$(PY) -m pipeline demo --file-only

lint: setup  ## ruff and mypy (strict), as pyproject.toml configures them; `make test` runs it
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup lint  ## lint, then every tier: unit, policies, NER, and Kafka against a real local broker
	docker/validate
	tests/browser/setup >/dev/null || test $$? -eq 3  # chromium for tests/browser (apt, once)
	LOGSCRUB_KAFKA_STATE=$(TEST_KAFKA_STATE) $(KAFKA) start --port $(TEST_PORT)
	LOGSCRUB_TEST_BOOTSTRAP=127.0.0.1:$(TEST_PORT) $(PY) -m pytest -p no:cacheprovider tests; \
	  rc=$$?; LOGSCRUB_KAFKA_STATE=$(TEST_KAFKA_STATE) $(KAFKA) stop; exit $$rc

test-unit: setup
	$(PY) -m pytest -m "not kafka and not nlp" tests

check: setup  ## validate shipped configs and run the golden cases
	$(VENV)/bin/logscrub check configs
	$(VENV)/bin/logscrub test-policies

image:  ## the container image logscrub:local with podman (no Docker needed; see docker/README.md)
	docker/podman-setup build logscrub:local

bench: setup
	$(PY) benchmarks/run.py

bench-smoke: setup
	$(PY) benchmarks/run.py --smoke

clean:
	-$(KAFKA) stop
	rm -rf $(VENV) .pytest_cache
