"""PySide6's ``__feature__`` import hook no longer reads the source of every module imported after
it (the lines stayed in linecache: ~35 MB of the console)."""

from __future__ import annotations

import builtins
import linecache
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ui


@pytest.fixture
def fresh_module(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A module never imported yet that uses PySide, and its file."""
    name = f"fresh_module_{tmp_path.name}"
    source = tmp_path / f"{name}.py"
    source.write_text("from PySide6.QtCore import QObject\n\nclass Thing(QObject):\n    pass\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    yield name, source
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)
    linecache.cache.pop(str(source), None)


def test_a_module_imported_after_pyside_is_not_read_into_linecache(fresh_module: tuple[str, Path]) -> None:
    assert ui.FEATURE_SCAN_SKIPPED
    name, source = fresh_module
    module = builtins.__import__(name)  # what an import statement calls: PySide's hook
    assert module.Thing().metaObject().className() == "Thing"  # PySide works as before
    assert str(source) not in linecache.cache


def test_without_the_skip_pyside_reads_the_whole_source(fresh_module: tuple[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above would notice the scan: PySide's own check reads the file into linecache."""
    feature = sys.modules["PySide6.support.feature"]
    monkeypatch.setattr(feature, "_mod_uses_pyside", ui.PYSIDE_SCAN)
    name, source = fresh_module
    builtins.__import__(name)
    assert str(source) in linecache.cache
