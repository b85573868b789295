# The two commands of the README: `make notebooks` and `make test` (plus `make lab`).
# Every target sets up .venv first; set-up is redone only when the requirements change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst notebooks/%.ipynb,notebooks/.executed/%.done,$(NOTEBOOKS))
PACKAGE := $(wildcard gan_mnist/*.py)
NBVAL := --nbval-lax --nbval-cell-timeout=900 --nbval-kernel-name=python3

# The venv's tools come first, so the notebooks' `python3` kernel is the venv's Python.
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup data notebooks test lab clean

setup: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# Verifies the MNIST files, downloading any that are missing.
data: $(INSTALLED)
	$(BIN)/python -m gan_mnist data

# Full mode, in order, outputs saved in place; a notebook reruns only when it or the package changed.
notebooks: data $(EXECUTED)

notebooks/.executed/%.done: notebooks/%.ipynb $(PACKAGE) | $(INSTALLED)
	@mkdir -p $(@D)
	env -u GAN_MNIST_FAST $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 $<
	touch $@

# Unit tests, then every notebook under nbval in fast mode.
test: data
	GAN_MNIST_FAST=1 $(BIN)/python -m pytest $(NBVAL) tests $(NOTEBOOKS) $(PYTEST_ARGS)

lab: data
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf $(VENV) runs notebooks/runs notebooks/.executed
