# goodfit: `make demo` runs a study on a built-in data set, `make test` runs the suite.
# Both create .venv on first use. torch is pinned through constraints.txt (see DEVELOPERS.md).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PIP     := $(BIN)/pip install -c constraints.txt

.PHONY: demo test bench bench-quick bench-gpu readme-figures install clean

$(BIN)/goodfit: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(PIP) -q torch==2.13.0 setuptools wheel
	$(PIP) -q --no-build-isolation -e ".[test,ray,keras,lightning,hf,tensorboard]"
	touch $@

install: $(BIN)/goodfit

demo: install
	$(BIN)/goodfit study --out runs/demo

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_engine.py

bench-quick: install
	$(BIN)/python benchmarks/bench_engine.py --quick

bench-gpu: install
	$(BIN)/python benchmarks/bench_engine.py --gpu

readme-figures: install  # the README's quoted figures beside a fresh run of their commands (--all: the slow ones too)
	$(BIN)/python scripts/readme_figures.py

clean:
	rm -rf $(VENV) runs build src/*.egg-info
