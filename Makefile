# Two commands for a fresh clone: `make run` (the console on a demo SQLite database)
# and `make test` (lint + the whole suite). Both create .venv and install what they need.
# `make installer` builds the one-folder program (dist/dispatch-console-VERSION/, PyInstaller from
# the dev extras), `make installer-check` runs its self-test from outside the source tree with no
# system time zones, `make package` wraps the folder as a .deb (Debian, UOS, Kylin).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' dispatch_console/__init__.py)
APP := dist/dispatch-console-$(VERSION)

.PHONY: install fonts qt-libraries run test lint mypy-baseline pytest bench bench-quick fuzz clean installer installer-check package

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

installer: $(STAMP)
	nice -n 10 $(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
	  --distpath dist --workpath build/pyinstaller build_installer.spec
	@echo "$(APP): $$(du -sh $(APP) | cut -f1)"

# The built program on its own: run from an empty folder, without the source tree on the path,
# with settings and data in a throw-away home and no system time-zone files (as on Windows).
installer-check:
	@test -x $(APP)/dispatch-console || { echo "no $(APP): run make installer first" >&2; exit 1; }
	@tmp=$$(mktemp -d) && mkdir -p $$tmp/no-zoneinfo && cd $$tmp && \
	  env -u PYTHONPATH -u VIRTUAL_ENV HOME=$$tmp XDG_CONFIG_HOME=$$tmp/config XDG_DATA_HOME=$$tmp/data \
	    XDG_STATE_HOME=$$tmp/state PYTHONTZPATH=$$tmp/no-zoneinfo TZDIR=$$tmp/no-zoneinfo \
	    QT_QPA_PLATFORM=offscreen DISPATCH_LANG=en \
	    $(CURDIR)/$(APP)/dispatch-console --version && \
	  env -u PYTHONPATH -u VIRTUAL_ENV HOME=$$tmp XDG_CONFIG_HOME=$$tmp/config XDG_DATA_HOME=$$tmp/data \
	    XDG_STATE_HOME=$$tmp/state PYTHONTZPATH=$$tmp/no-zoneinfo TZDIR=$$tmp/no-zoneinfo \
	    QT_QPA_PLATFORM=offscreen DISPATCH_LANG=en \
	    $(CURDIR)/$(APP)/dispatch-console self-test 2>$$tmp/self-test.log; \
	  rc=$$?; [ $$rc = 0 ] || tail -20 $$tmp/self-test.log >&2; rm -rf $$tmp; exit $$rc

package: $(STAMP)
	@test -x $(APP)/dispatch-console || $(MAKE) installer
	tools/make_deb.sh $(APP) $(VERSION) dist

clean:
	rm -rf $(VENV) build dist *.egg-info
