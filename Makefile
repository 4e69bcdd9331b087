# The two entry points the README promises: `make bench` and `make test`; `make check` is the fast tier.
VENV ?= .venv

$(VENV)/.installed: pyproject.toml scripts/install.sh scripts/llama_wheel.py
	bash scripts/install.sh $(VENV)

.PHONY: install bench test check
install: $(VENV)/.installed

bench: install
	$(VENV)/bin/tokenfall optimize

test: install
	bash scripts/install-browser.sh
	$(VENV)/bin/python -m pytest -q; rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests" >&2; exit $$rc

# the fast tier while editing: no model runs (the search against a fake lab, metrics, cost, statistics, parsers, rendering)
check: install
	$(VENV)/bin/python -m pytest -q -m "not slow"; rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests" >&2; exit $$rc
