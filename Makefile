# Two commands for a fresh clone: `make run` (the console on a demo SQLite database)
# and `make test` (lint + the whole suite). Both create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install fonts qt-libraries run test lint mypy-baseline pytest bench bench-quick fuzz clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) fonts

fonts:
	@tools/chinese_font.sh

# the libraries Qt's xcb plugin needs, named by Debian package when missing (tools/qt_libraries.sh)
qt-libraries:
	@tools/qt_libraries.sh

run: $(STAMP) fonts qt-libraries
	$(VENV)/bin/dispatch-console run --demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy | $(VENV)/bin/mypy-baseline filter --baseline-path mypy-baseline.txt --sort-baseline --no-colors

# After fixing type errors: take them out of the baseline (it may only shrink).
mypy-baseline: $(STAMP)
	$(VENV)/bin/mypy | $(VENV)/bin/mypy-baseline sync --baseline-path mypy-baseline.txt --sort-baseline

pytest: $(STAMP) fonts
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint pytest

# A short coverage-guided run (atheris) of every reader; a crash lands in tests/kernel/fuzz_crashes/.
FUZZ_SECONDS ?= 20
fuzz: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) tools/fuzz_readers.py --seconds $(FUZZ_SECONDS)

bench: $(STAMP)
	$(PY) -m bench

bench-quick: $(STAMP)
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) build dist *.egg-info
