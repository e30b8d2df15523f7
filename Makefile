# Two commands for a new user: `make generate` (sets up .venv and regenerates generated/) and
# `make test`. Both create .venv on first use.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PLUGIN_OPTIONS := docs_config=proto/docs.toml
SERVE_ARGS ?=

.PHONY: setup generate test golden serve clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

generate: $(STAMP)
	$(PYTHON) -m generator.tree --proto proto --out generated --opt $(PLUGIN_OPTIONS)

test: $(STAMP)
	$(PYTHON) -m pytest

# Serves every generated service of proto/ on 127.0.0.1, with SQLite under var/.
# Flags go through SERVE_ARGS, e.g. make serve SERVE_ARGS="--port 50051 --operation-delay 2".
serve: $(STAMP)
	@mkdir -p var
	@cd generated && exec ../$(PYTHON) api_server.py --db ../var/api.sqlite3 $(SERVE_ARGS)

# Rewrites tests/golden/ from the current output; review the diff before committing.
golden: $(STAMP)
	$(PYTHON) -m pytest tests/test_docs_golden.py --update-golden -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
