# The two entry points the README promises: `make bench` and `make test`.
VENV ?= .venv

$(VENV)/.installed: pyproject.toml scripts/install.sh scripts/llama_wheel.py
	bash scripts/install.sh $(VENV)

.PHONY: install bench test
install: $(VENV)/.installed

bench: install
	$(VENV)/bin/tokenfall optimize

test: install
	bash scripts/install-browser.sh
	$(VENV)/bin/python -m pytest -q; rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests" >&2; exit $$rc
