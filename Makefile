# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
# Both create .venv and install on first use (torch 2.14.1 + torchvision 0.29.1, see docs/install.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install test demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1" || $(BIN)/python -m pip install -q torch torchvision
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -x --timeout=600

demo: $(STAMP)
	$(BIN)/dreamrunner run examples/stories/teddy.txt --workspace demo-ws --preset tiny

# Benchmarks print ratios measured in one run (speed targets are checked here, never in timed tests).
# On a GPU machine: make bench BENCH_GEOMETRY=full
BENCH_GEOMETRY ?= small
bench: $(STAMP)
	$(BIN)/dreamrunner bench --geometry $(BENCH_GEOMETRY) --repeats 5
	$(BIN)/python -m dreamrunner_cli.retrieval.bench --captions 100000
	$(BIN)/python -m dreamrunner_cli.adapt_bench $(if $(filter full,$(BENCH_GEOMETRY)),--geometry full --device cuda --dtype bfloat16,--geometry cpu)

clean:
	rm -rf demo-ws .pytest_cache
