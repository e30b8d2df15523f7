# Two commands for a new user: `make generate` (sets up .venv and regenerates generated/) and
# `make test`. Both create .venv on first use.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The official Yandex Cloud SDK, in a virtualenv of its own for the interop test.
SDK_VENV := .venv-sdk
SDK_STAMP := $(SDK_VENV)/.installed
PLUGIN_OPTIONS := docs_config=proto/docs.toml
SERVE_ARGS ?=
SOAK_ARGS ?=
TLS_DIR ?= var/tls

.PHONY: setup native bytecode generate test whole-api whole-api-warnings golden docs serve cert bench fuzz \
	soak clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

$(SDK_STAMP): tests/interop/requirements.txt
	test -x $(SDK_VENV)/bin/python || python3 -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SDK_VENV)/bin/python -m pip install --quiet -r tests/interop/requirements.txt
	touch $(SDK_STAMP)

# The plugin's modules compiled to C with mypyc into generator/_compiled/ (generator/native.py),
# which the plugin then runs: a no-op when that build is current. Where it cannot compile (no C
# compiler or Python headers), a warning, and the plain modules run. NATIVE=0 skips it;
# PROTOC_GEN_PYTHON_CUSTOM_PURE=1 runs the plain modules whatever is built.
NATIVE ?= 1
native: $(STAMP)
ifeq ($(NATIVE),1)
	@mkdir -p var
	@if $(PYTHON) -m generator.build_native > var/native.log 2>&1; then tail -n 1 var/native.log; \
	else tail -n 5 var/native.log; \
		echo "warning: not compiled: the plugin runs its plain modules (var/native.log)"; fi
endif

# The plugin's modules compiled to bytecode, as `pip install` leaves an installed plugin: with
# the editable install and PYTHONDONTWRITEBYTECODE set, every protoc run would compile them.
bytecode: native
	@$(PYTHON) -m compileall -q generator

generate: bytecode
	$(PYTHON) -m generator.tree --proto proto --out generated --opt $(PLUGIN_OPTIONS)

test: bytecode $(SDK_STAMP)
	$(PYTHON) -m pytest

# The long checks of the whole public API (tests/public_api): the whole corpus rather than a
# slice of it, and every file generated alone; `make test` runs the rest.
whole-api: $(STAMP) $(SDK_STAMP)
	WHOLE_API_ALL_FILES=1 $(PYTHON) -m pytest tests/public_api -q

# Rewrites the inventories of the whole API's warnings and of its rpcs' meanings
# (tests/data/whole_api_warnings_*.txt, whole_api_methods_*.txt)
# from the whole SDK API and the whole corpus, keeping their headers; review the diff.
whole-api-warnings: $(STAMP) $(SDK_STAMP)
	WHOLE_API_ALL_FILES=1 $(PYTHON) -m pytest tests/public_api/test_whole_api_warnings.py \
		tests/public_api/test_whole_api_methods.py \
		--update-golden -q

# Reference pages for every rpc of an API checkout, in one run (progress on stderr), e.g.
#   make docs PROTO=../cloudapi OUT=var/docs DOCS_FORMAT=current DOCS_CONFIG=my-docs.toml
# PROTO/third_party/googleapis is used for imports; files protoc rejects are skipped.
PROTO ?= proto
OUT ?= var/docs
DOCS_FORMAT ?= classic
DOCS_API ?= grpc+rest
DOCS_CONFIG ?= $(if $(filter proto,$(PROTO)),proto/docs.toml)
docs: bytecode
	$(PYTHON) -m generator.docs_tree --proto $(PROTO) --out $(OUT) --format $(DOCS_FORMAT) \
		--api $(DOCS_API) \
		$(if $(DOCS_CONFIG),--config $(DOCS_CONFIG))

# The pages of `make docs` (same variables) as a browsable HTML site in SITE, built by Yandex's
# own documentation builder, @diplodoc/cli, pinned in tools/docs-site/ and installed with
# `npm ci` under var/diplodoc. Prints the builder's errors and warnings and checks the built
# site's links; fails on an error or a dangling link.
# `make docs-site-serve` serves SITE on 127.0.0.1:SITE_PORT. `make test-site` runs the site's
# tests (tests/site: both formats of proto/, the whole corpus, links, headless Chromium).
SITE ?= var/docs-site
SITE_PORT ?= 8000
DIPLODOC := var/diplodoc
DIPLODOC_STAMP := $(DIPLODOC)/.installed
.PHONY: diplodoc docs-site docs-site-serve test-site

diplodoc: $(DIPLODOC_STAMP)

$(DIPLODOC_STAMP): tools/docs-site/package.json tools/docs-site/package-lock.json
	@mkdir -p $(DIPLODOC)
	cp tools/docs-site/package.json tools/docs-site/package-lock.json $(DIPLODOC)/
	npm ci --prefix $(DIPLODOC) --no-audit --no-fund --loglevel=error
	touch $(DIPLODOC_STAMP)

docs-site: docs $(DIPLODOC_STAMP)
	$(PYTHON) tools/docs_site.py build --docs $(OUT) --site $(SITE) --proto $(PROTO) \
		$(if $(DOCS_CONFIG),--config $(DOCS_CONFIG)) --check-links

docs-site-serve: $(STAMP)
	$(PYTHON) tools/docs_site.py serve --site $(SITE) --port $(SITE_PORT)

test-site: bytecode $(DIPLODOC_STAMP)
	DOCS_SITE_TESTS=1 $(PYTHON) -m pytest tests/site -v -s

# Serves every generated service of proto/ on 127.0.0.1, with SQLite under var/.
# Flags go through SERVE_ARGS, e.g. make serve SERVE_ARGS="--port 50051 --operation-delay 2";
# paths in them are relative to this directory. For TLS, run `make cert` once, then
#   make serve SERVE_ARGS="--tls-cert var/tls/cert.pem --tls-key var/tls/key.pem"
# and add e.g. --token my-token (or --token my-token=folder1,folder2) to require a token.
serve: $(STAMP)
	@mkdir -p var
	@exec $(PYTHON) generated/api_server.py --db var/api.sqlite3 $(SERVE_ARGS)

# A self-signed certificate for localhost and 127.0.0.1 (TLS_DIR/cert.pem, key.pem), valid for
# a year, made by the system openssl. Delete TLS_DIR to make a new one.
cert: $(TLS_DIR)/cert.pem

$(TLS_DIR)/cert.pem:
	@mkdir -p $(TLS_DIR)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout $(TLS_DIR)/key.pem -out $(TLS_DIR)/cert.pem

# Every benchmark against its baseline; writes bench/RESULTS.md (12-14 minutes).
bench: bytecode
	$(PYTHON) bench/run.py

# Long fault and load tests, not run in CI: 100 SIGKILL rounds, a 10-minute soak
# (make soak SOAK_ARGS="--seconds 60" for a short one), then the growth test (one folder grows
# past 100,000 images; latency and memory must stay flat). About 17 minutes.
soak: $(STAMP)
	CRASH_ROUNDS=100 $(PYTHON) -m pytest tests/faults/test_crash.py -q
	$(PYTHON) bench/soak.py $(SOAK_ARGS)
	$(PYTHON) bench/soak.py --growth

# Long fuzzing (tests/fuzz with the long hypothesis profile, about 20 minutes);
# `make test` runs the same tests with few examples.
fuzz: native
	HYPOTHESIS_PROFILE=long $(PYTHON) -m pytest tests/fuzz -q

# Rewrites tests/golden/ from the current output; review the diff before committing.
golden: $(STAMP)
	$(PYTHON) -m pytest tests/test_docs_golden.py --update-golden -q

clean:
	rm -rf $(VENV) $(SDK_VENV) .pytest_cache .mypy_cache generator/_compiled
