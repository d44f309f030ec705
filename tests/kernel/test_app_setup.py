"""Process set-up of the console before its QApplication: how the map view is composed, malloc."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtQuick import QQuickWindow

from ui.shell import app, settings


def test_the_map_is_composed_in_software_unless_the_workstation_asks_for_the_gpu(
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = QQuickWindow.graphicsApi()
    try:
        monkeypatch.delenv("DISPATCH_RENDERING", raising=False)
        assert settings.get("ui/rendering") == "software"
        assert app.choose_rendering() == "software"
        monkeypatch.setenv("DISPATCH_RENDERING", "gpu")
        assert app.choose_rendering() == "gpu"
        monkeypatch.setenv("DISPATCH_RENDERING", "nonsense")  # anything else: the safe choice
        assert app.choose_rendering() == "software"
        monkeypatch.delenv("DISPATCH_RENDERING")
        settings.put("ui/rendering", "gpu")
        assert app.choose_rendering() == "gpu"
    finally:
        settings.put("ui/rendering", "software")
        QQuickWindow.setGraphicsApi(before)


def test_malloc_arenas_are_limited_on_glibc_unless_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert app.limit_malloc_arenas() is sys.platform.startswith("linux")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert app.limit_malloc_arenas() is False


@pytest.mark.parametrize(("asked", "api"), [("", "software"), ("gpu", "default")])
def test_a_new_console_process_composes_as_chosen(asked: str, api: str, tmp_path: os.PathLike[str]) -> None:
    """In a fresh process (the choice must be made before the QApplication exists)."""
    env = {**os.environ, "DISPATCH_RENDERING": asked, "XDG_CONFIG_HOME": str(tmp_path)}
    code = ("from ui.shell.app import application; from PySide6.QtQuick import QQuickWindow; "
            "application([]); print(QQuickWindow.sceneGraphBackend() or 'default')")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == api
