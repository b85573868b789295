# The two commands of the README: `make notebooks` and `make test` (plus `lab`, `kernel`, `book`).
# Every target sets up .venv first; set-up is redone only when the requirements change.

# Any Python from 3.11 to 3.13 (TensorFlow 2.21 has no wheels for 3.14; the pins need 3.11).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
REVERSED_NOTEBOOKS := $(shell printf '%s\n' $(NOTEBOOKS) | sort -r)
EXECUTED := $(patsubst notebooks/%.ipynb,notebooks/.executed/%.done,$(NOTEBOOKS))
PACKAGE := $(wildcard gan_mnist/*.py)
NBVAL := --nbval-lax --nbval-cell-timeout=900 --nbval-kernel-name=python3

# The venv's tools come first, so the notebooks' `python3` kernel is the venv's Python.
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup data notebooks test book lab kernel pretrained clean

setup: $(INSTALLED)

$(INSTALLED): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' \
		|| { echo "gan-mnist needs Python 3.11 to 3.13, but $(PYTHON) is $$($(PYTHON) -V 2>&1 | head -n 1); run 'make PYTHON=python3.12' (or another)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@
	@echo "Set up $(VENV). For the gan-mnist command in this shell: source $(VENV)/bin/activate"

# Verifies the MNIST files, downloading any that are missing.
data: $(INSTALLED)
	$(BIN)/python -m gan_mnist data

# Full mode, in order, outputs saved in place; a notebook reruns only when it or the package changed.
notebooks: data $(EXECUTED)

notebooks/.executed/%.done: notebooks/%.ipynb $(PACKAGE) | $(INSTALLED)
	@mkdir -p $(@D)
	env -u GAN_MNIST_FAST $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 $<
	$(BIN)/python tools/strip_tf_logs.py $<
	touch $@

# Unit tests and every notebook under nbval in fast mode, in TEST_WORKERS parallel workers
# (pytest-xdist; --dist loadfile keeps each test file and each lesson whole on one worker, its
# cells in order in one kernel). A worker takes the next file when it is nearly done with its
# last, in the order given (--no-loadscope-reorder): the lessons come last, the last lesson first,
# so the run ends on short ones instead of one worker finishing a long lesson alone.
# TEST_WORKERS=0 runs everything in one process, in that order.
# Each worker, and every kernel and command it starts, gets TEST_THREADS threads for TensorFlow,
# OpenMP and BLAS: the cores shared out. Two workers whose thread pools each reach for every core
# fight over them: on 2 cores, one thread each halved the time of a lesson and a test file run
# side by side (benchmarks/README.md, "The test run").
TEST_WORKERS ?= 2
CORES := $(shell nproc 2>/dev/null || echo 1)
# (None for TEST_WORKERS=0, or a count other than a number, such as xdist's "auto".)
TEST_THREADS ?= $(shell if [ "$(TEST_WORKERS)" -gt 0 ] 2>/dev/null; then \
	echo $$(( $(CORES) / $(TEST_WORKERS) > 1 ? $(CORES) / $(TEST_WORKERS) : 1 )); fi)
THREADS := $(if $(TEST_THREADS),TF_NUM_INTRAOP_THREADS=$(TEST_THREADS) \
	TF_NUM_INTEROP_THREADS=$(TEST_THREADS) OMP_NUM_THREADS=$(TEST_THREADS))
test: data
	GAN_MNIST_FAST=1 $(THREADS) $(BIN)/python -m pytest $(NBVAL) -n $(TEST_WORKERS) \
		--dist loadfile --no-loadscope-reorder tests $(REVERSED_NOTEBOOKS) $(PYTEST_ARGS)

# The book, as HTML in docs/book/_build/html: the README as its front page, the lessons with their
# committed outputs (nothing is executed), the API reference; then its internal links are checked.
book: $(INSTALLED)
	$(BIN)/sphinx-build -E -W --keep-going -q -b html -d docs/book/_build/doctrees \
		docs/book docs/book/_build/html
	$(BIN)/python tools/check_book.py docs/book/_build/html

# The generators shipped in gan_mnist/generators (`gan_mnist.pretrained`), the GANs' and the other
# families': one deterministic run each, resumable (run it again after an interruption), scored
# every 5,000 steps; the records say how long they took. Run it when the recipe in tools/pretrain.py changes.
pretrained: data
	$(BIN)/python tools/pretrain.py dcgan
	$(BIN)/python tools/pretrain.py conditional_dcgan
	$(BIN)/python tools/pretrain.py plain_dcgan
	$(BIN)/python tools/pretrain.py diffusion
	$(BIN)/python tools/pretrain.py vae

lab: data
	$(BIN)/jupyter lab notebooks

# A Jupyter kernel named "gan-mnist" that runs the project's .venv, for notebooks of your own
# anywhere (registered for your user, outside the project folder).
kernel: $(INSTALLED)
	$(BIN)/python -m ipykernel install --user --name gan-mnist --display-name "Python (gan-mnist)"

clean:
	rm -rf $(VENV) runs notebooks/runs notebooks/.executed docs/book/_build docs/book/api/generated \
		docs/book/benchmarks docs/book/docs docs/book/notebooks
