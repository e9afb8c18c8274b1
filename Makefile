# The README's two commands are `make course` and `make test`; everything else supports them.
SHELL := /bin/bash
BIN := .venv/bin
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: course present test test-isa env browser-deps lint format docs notebooks handout train bench

# JupyterLab refuses to run as root unless told; machines of this kind log in as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# JupyterLab autosaves what it opens, so it opens working copies in work/ (ignored by git; made on
# the first run, a copy already there is kept as edited), never the tracked notebooks.
course: env  ## open JupyterLab on working copies of the lectures and the homework (work/)
	$(BIN)/python scripts/working_copies.py work
	cd work && ../$(BIN)/jupyter lab --ServerApp.root_dir=. $(ROOT_FLAG) notebooks/01_filters_and_feature_maps.ipynb

# Presentation mode: the lecture as Voilà serves it, live widgets and no code, nothing fetched from
# a CDN (presentation/ holds the offline template). `make present LECTURE=06`; stop with Ctrl-C.
LECTURE ?= 01
present: env  ## show a lecture without its code, widgets live (Voilà, offline): LECTURE=NN
	$(BIN)/python scripts/working_copies.py work
	cd work && JUPYTER_PATH=$(CURDIR)/presentation ../$(BIN)/voila --template=cnnlens notebooks/$(LECTURE)_*.ipynb

# One pytest worker per core (pytest-xdist; conftest.py orders the tests and keeps each notebook on
# one worker), each with one torch thread: two threads per worker would oversubscribe the cores.
PARALLEL := -n auto
ONE_THREAD := OMP_NUM_THREADS=1

# The hand-out is left out: its check cells fail until the student has solved the tasks.
test: env browser-deps  ## unit tests, nbval over the notebooks and homework, the real-browser test
	$(ONE_THREAD) $(BIN)/python -m pytest tests notebooks course $(NBVAL) $(PARALLEL) \
	  -p no:cacheprovider --durations=20 --ignore=course/handout

# The lectures and homework once more with other CPU kernels than the machine's best (torch's
# plain C++ kernels; oneDNN's convolutions capped at AVX2, below an AVX-512 machine's best) and a
# fresh result cache (conftest.py): checked numbers must hold on any student's CPU.
# docs/portability.md has the measured spreads behind the tolerances (also with oneDNN at SSE4.1,
# ~2-3x slower to run).
test-isa: env  ## nbval over the notebooks and homework with other CPU kernels
	$(ONE_THREAD) ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=AVX2 \
	  $(BIN)/python -m pytest notebooks course $(NBVAL) $(PARALLEL) -p no:cacheprovider \
	  --ignore=course/handout

env:
	@scripts/ensure-env

browser-deps:
	@scripts/ensure-chromium

lint: env  ## what CI checks for style and types (mypy: the package, settings in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: env
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The reference site in site/ (open site/index.html): the API from the docstrings, the lectures
# with their stored outputs (never executed). Offline; a warning fails the build.
docs: env  ## build the reference site into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

notebooks: env  ## re-execute every lecture and homework, store outputs, write the hand-out
	for nb in notebooks/*.ipynb course/*_homework.ipynb; do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; \
	done
	$(MAKE) handout

handout: env  ## write course/handout/: the student notebooks (nbgrader), no solutions
	$(BIN)/python -m cnnlens.course handout --course course --out course/handout

train: env  ## retrain the embedded model (writes cnnlens/models/weights)
	$(BIN)/python -m cnnlens.train

bench: env  ## print the benchmark ratios
	for script in benchmarks/bench_*.py; do $(BIN)/python "$$script" || exit 1; done
