"""``dispatch-console self-test``: every check on the source tree, and a broken panel is a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from station import composition
from station.launcher import main
from ui.shell.main_window import Panels
from ui.shell.self_test import SelfTest

pytestmark = pytest.mark.gui


def test_self_test_passes_on_the_source_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["self-test", "--keep", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    checks = [line.split()[1] for line in lines if line.startswith(("ok", "FAIL"))]
    assert checks == ["time", "database", "demo", "window", "map", "PDF", "timers"]
    assert all(line.startswith("ok") for line in lines[1:-1]), lines
    assert lines[-1] == "self-test passed: 7 checks"
    assert "NotoSansCJKsc-DispatchSubset embedded" in next(line for line in lines if " PDF " in line)
    assert (tmp_path / "handover.pdf").stat().st_size > 0 and (tmp_path / "map.png").stat().st_size > 0


class _BrokenPanel:
    def __init__(self, *_args: object) -> None:
        raise ImportError("No module named 'ui.queue_view'")


def test_a_panel_that_fails_to_load_fails_the_self_test(tmp_path: Path) -> None:
    real = composition.panels()
    lines: list[str] = []
    test = SelfTest(tmp_path, Panels(central=real.central, docks=(*real.docks[:1], _BrokenPanel)), lines.append)
    assert test.run() is False
    window = next(line for line in lines if " window " in line)
    assert window.startswith("FAIL") and "No module named 'ui.queue_view'" in window
    assert lines[-1].startswith("self-test FAILED: window")
