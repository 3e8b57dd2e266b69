# Two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench kafka-fetch clean soak

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

kafka-fetch:
	bash deploy/kafka/kafka.sh fetch

## demo: local broker + worker, publish the sample articles, print every output record
demo: $(STAMP) kafka-fetch
	bash scripts/demo.sh

## test: lint, types, unit tests and integration tests on a real broker
test: $(STAMP) kafka-fetch
	$(BIN)/ruff check service tests bench support examples scripts
	$(BIN)/mypy
	$(BIN)/mypy examples/consumer.py scripts/big_warc.py
	bash scripts/prometheus.sh
	$(BIN)/python -m pytest -q -p no:cacheprovider

## test-fast: ruff and the unit suite only (no broker, no subprocess), under a minute
test-fast: $(STAMP)
	$(BIN)/ruff check service tests bench support examples scripts
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not integration and not subprocess"

lint: $(STAMP)
	$(BIN)/ruff check service tests bench support examples scripts
	$(BIN)/mypy
	$(BIN)/mypy examples/consumer.py scripts/big_warc.py

## bench: the issue 17 table, every ratio against its peer in the same run (root for
## the cgroup caps; about 45 minutes on 2 cores). Each script prints its table and
## writes its part of bench/results/; BENCHMARKS.md quotes them.
bench: $(STAMP) kafka-fetch
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.pipeline_benchmark --inputs text-synthetic --repeats 5
	$(BIN)/python -m bench.stream_benchmark --variants batch,newsflow --cap 1 --backlog 2000 --repeats 3
	$(BIN)/python -m bench.jobs_benchmark --jobs 2 --rounds 2 --write
	$(BIN)/python -m bench.scaleout_benchmark --procs 1,2,4 --cap 0.35 --rounds 2 --write
	$(BIN)/python -m bench.clean_benchmark --part rates
	OMP_NUM_THREADS=1 taskset -c 1 $(BIN)/python -m bench.dedup_benchmark --index-size 1000000

## soak: fault soak counted from outside (librdkafka, read_committed); writes
## bench/results/faults.md. Shorter: make soak SOAK_ARGS="--runs 2 --stops 1 --brokers 1"
soak: $(STAMP) kafka-fetch
	$(BIN)/python -m bench.fault_soak --write $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .kafka .pytest_cache .mypy_cache .ruff_cache
