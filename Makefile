# The two commands of the README: `make run` and `make test`. Both work on a bare Debian machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime

.PHONY: run test lint bench install install-system clean

# What the service needs to run (make run installs only this, so a first run is quick).
$(RUNTIME): requirements.txt
	python3 -m venv $(VENV)
	$(PIP) install -q -r requirements.txt
	touch $(RUNTIME)

# Everything, tests and tools included.
$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PIP) install -q -r requirements-dev.txt
	touch $(RUNTIME) $(STAMP)

install: $(STAMP)

## Serve http://localhost:8080 with embedded defaults and print a user link and an admin link.
run: $(RUNTIME)
	$(PY) -m chatbox

## Install what the tests need (Debian packages and the Python environment), then run the whole suite.
## In that order even under -j: the venv needs python3-venv.
test: install-system
	$(MAKE) install
	scripts/test.sh

install-system:
	scripts/install-system.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check chatbox tests bench scripts wsgi.py gunicorn.conf.py
	$(VENV)/bin/ruff format --check chatbox tests bench scripts wsgi.py gunicorn.conf.py

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache data
