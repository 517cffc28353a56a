# Everything a student or instructor needs, from a fresh clone:
#   make tutorial   execute the whole series headless on CPU (QUICK=1: the fast parameters;
#                   DEVICE=auto: use a GPU when there is one)
#   make test       all tests: unit, notebooks (papermill), output regression (nbval), ruff
#                   (installs the test and course packages; tutorial and lab install only what
#                   the notebooks need)
#   make test-fast  the package's unit tests only: no notebooks, browser or autograding
#   make lab        open JupyterLab on the notebooks
#   make assignments  student versions of the graded notebooks (nbgrader), checked by autograding
#   make grade      grade a class: every submission in build/course/submitted/ (docs/instructors.md)
#   make benchmark  training speed and ELBO per time budget, recorded in benchmarks/RESULTS.md
#   make reproduce  test -log p(x) after 1-30 minutes of training (benchmarks/quality.py)
#   make test-seeds every notebook's own checks for seeds 1-3 (quick) and seed 1 (default)
#   make test-release test-seeds, the Binder environment (binder/ alone) runs the series, Colab's installs
#   make site       the series as a website in build/site/html/ (from the committed outputs, offline)
#   make outputs    re-execute the committed notebooks in place (NB=05: only notebooks/05_*)
#   make help       list every target with one line each (the `## ` comment after its name)
# Each target creates the virtual environment .venv first if it is missing or out of date.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
OUT ?= build/tutorial
QUICK ?=
DEVICE ?= cpu
NB ?=
# NB=05 selects notebooks/05_*.ipynb (outputs, test-seeds); a number that matches none is an error.
SELECTED = $(if $(NB),$(or $(wildcard notebooks/$(NB)_*.ipynb),$(error NB=$(NB) matches no notebooks/$(NB)_*.ipynb)))

# Use the shared MNIST copy beside the project when there is one and nothing else was chosen.
SHARED_MNIST := $(abspath ../shared/data/mnist)
ifneq ($(wildcard $(SHARED_MNIST)/SHA256SUMS),)
export VAE_TUTORIAL_DATA ?= $(SHARED_MNIST)
endif

.PHONY: env dev-env help tutorial test test-fast test-seeds test-release lint lab assignments student-edition grade outputs benchmark reproduce lock clean site

# Two environments in one .venv: what a student needs (the package, JupyterLab, papermill), and on
# top of it what developers and instructors need (tests, ruff, the browser test, nbgrader).
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS)
# On Linux, PyPI's torch is the CUDA build (several GB of nvidia-* wheels); PyTorch's CPU index
# has the CPU build (about 200 MB). TORCH_INDEX= (empty) takes PyPI's default, and for example
# TORCH_INDEX=https://download.pytorch.org/whl/cu128 a CUDA build. macOS and Windows: PyPI's.
ifeq ($(shell uname -s),Linux)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
endif

env: $(STAMP) ## the student's environment in .venv: the package, JupyterLab, papermill
dev-env: $(DEV_STAMP) ## env plus the test, lint, course and website packages (make test installs it)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch alone first, from the CPU index where there is one (its dependencies come next)
	$(PIP) --no-deps $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) torch
	$(PIP) -e '.[notebooks]'
	@# A kernel spec inside the environment, so notebooks run with this Python and this package.
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (vae_tutorial)" >/dev/null
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PIP) -e '.[test,course,site]'
	touch $(DEV_STAMP)

help: ## list the targets
	@awk -F ':.*## ' '/^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

tutorial: env ## execute the series headless (QUICK=1: fast parameters, DEVICE=auto: a GPU)
	$(BIN)/python tools/run_series.py --output-dir $(OUT) --device $(DEVICE) $(if $(QUICK),--quick)

lint: dev-env ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# TEST_WORKERS > 0: that many pytest-xdist processes share the work, a whole file at a time, so
# each notebook's cells run in order in one kernel. Measured on 2 cores it was slower, not faster:
# two workers whose PyTorch uses two threads each contend for the cores. So the default is 0 (one
# process); try it on machines with more cores than PyTorch's threads.
TEST_WORKERS ?= 0
test: lint ## every test: unit, notebooks, committed outputs (nbval), autograding, browser
	$(BIN)/python -m pytest tests notebooks --nbval-lax -n $(TEST_WORKERS) --dist loadfile \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg

# The tests marked `slow` (notebook execution, browser, autograding) and `gpu` are left out.
test-fast: dev-env ## unit tests only (under a minute): not slow, not gpu
	$(BIN)/python -m pytest tests -m "not slow and not gpu"

# A claim that holds only for seed 0 is not a claim: every notebook must pass its own checks for
# seeds 1-3 with the quick parameters and for seed 1 with the default ones (three quick runs and
# one default run of the series; not part of `make test`). Run it before committing outputs.
test-seeds: env ## every notebook's checks for seeds 1-3 (quick) and seed 1 (default); NB=05: one
	status=0; \
	for seed in 1 2 3; do \
		CUDA_VISIBLE_DEVICES= $(BIN)/python tools/run_series.py --quick --seed $$seed \
			--output-dir build/seeds/quick-$$seed $(SELECTED) || status=1; \
	done; \
	CUDA_VISIBLE_DEVICES= $(BIN)/python tools/run_series.py --seed 1 \
		--output-dir build/seeds/default-1 $(SELECTED) || status=1; \
	exit $$status

# Before a release: the seed sweep above and the tests marked `release` (the Binder environment
# built from binder/ alone runs the series). Tens of minutes; not part of `make test`.
test-release: dev-env test-seeds ## the slower checks: test-seeds, the Binder and Colab environments
	VAE_TUTORIAL_RELEASE=1 $(BIN)/python -m pytest tests -m release

lab: env ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# The series as a static website, rendered from the committed notebooks and their outputs (nothing
# is executed; the theme and MathJax are bundled, so it builds and reads offline). tests/test_site.py
# opens every page in headless Chromium. Open build/site/html/index.html, or serve the folder.
site: dev-env ## the series as a website in build/site/html/ (from the committed outputs)
	$(BIN)/python tools/site.py --out build/site

# Instructors: student versions (nbgrader, offline) in build/course/release/, and a check that
# they score 0 while the masters score full marks.
assignments: dev-env ## student versions (nbgrader) and the autograding check
	$(BIN)/python tools/assignments.py --course-dir $(COURSE) --check

# The student versions committed in student/ (what Binder opens for students); a test keeps them
# in sync with the masters.
student-edition: dev-env ## regenerate student/ from the masters (after changing a graded notebook)
	$(BIN)/python tools/assignments.py --course-dir build/student-edition --student-edition

# Instructors: autograde every submission in $(COURSE)/submitted/<student>/<assignment>/ with
# WORKERS processes, the referee after each; feedback, reports/grades.csv and histograms.
COURSE ?= build/course
WORKERS ?= 2
grade: dev-env ## grade a class: every submission in build/course/submitted/ (COURSE=, WORKERS=)
	$(BIN)/python tools/grade.py --course $(COURSE) --workers $(WORKERS)

# Training speed (the trainer against the PyTorch examples' loop, its logits variant, a hand-tuned
# loop and the matmul roofline, in interleaved rounds) and the validation ELBO after 1, 3 and 10
# minutes: its section of benchmarks/RESULTS.md, with the machine the figures came from, and the
# README's quoted ratios (about 20 minutes). Run it on an otherwise idle machine.
benchmark: dev-env ## training speed and ELBO per time budget (about 20 minutes)
	$(BIN)/python benchmarks/throughput.py --budgets 1 3 10 --record benchmarks/RESULTS.md

# Quality per CPU-minute (notebook 08 quotes its figures beside the published ones): the recipe
# trained for 1, 3, 10 and 30 minutes, each model evaluated on the full MNIST test set, after an
# ablation of its ingredients at 1 minute; its section of benchmarks/RESULTS.md (about 100 minutes,
# needs real MNIST). Run it on an otherwise idle machine.
reproduce: dev-env ## test -log p(x) after 1, 3, 10, 30 minutes of training (about 100 minutes)
	cd benchmarks && ../$(BIN)/python quality.py --ablation 1 --budgets 1 3 10 30 --record RESULTS.md

# Re-execute the committed notebooks in place: default parameters, seed 0, CPU only.
# NB=05 re-executes only notebooks/05_*.ipynb; a number that matches no notebook is an error.
outputs: env ## re-execute the committed notebooks in place (NB=05: only that one)
	CUDA_VISIBLE_DEVICES= $(BIN)/python tools/run_series.py --in-place $(SELECTED)

# Refresh the exact versions after changing dependencies: the constraints (setuptools included,
# torch requires it; pip left out), then binder/requirements.txt, the Binder environment pinned.
lock: dev-env ## refresh requirements/constraints.txt and binder/requirements.txt from the environment
	{ head -n 2 $(CONSTRAINTS); $(BIN)/python -m pip freeze --all --exclude-editable \
		| grep -v '^pip==' | sed -E 's/^torch==([0-9.]+)\+cpu$$/torch==\1/'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	$(BIN)/python tools/lock.py

clean: ## remove build/ and the tool caches
	rm -rf build .pytest_cache .ruff_cache
