"""The program as IT meets it: ``--version`` everywhere, JSON that a console code page cannot break."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispatch_console import __version__
from station.launcher import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [["--version"], ["db", "--version"], ["db", "upgrade", "--version"],
                                  ["self-test", "--version"], ["handover", "report", "--version"],
                                  ["grids", "list", "--version"]])
def test_every_command_says_its_version(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"dispatch-console {__version__}"


def test_json_is_utf8_on_a_gbk_console(db_url: str, tmp_path: Path) -> None:
    """Chinese Windows' console is GBK (code page 936): --json must still be UTF-8 bytes."""
    env = {**os.environ, "PYTHONIOENCODING": "gbk", "PYTHONPATH": str(ROOT), "DISPATCH_LANG": "zh_CN"}
    run = [sys.executable, "-m", "station.launcher", "--db", db_url]
    for step in (["db", "upgrade"], ["db", "seed-demo"]):
        assert subprocess.run([*run, *step], env=env, capture_output=True, timeout=300).returncode == 0
    out = subprocess.run([*run, "grids", "list", "--json"], env=env, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode("gbk", "replace")
    tree = json.loads(out.stdout.decode("utf-8"))  # GBK bytes would not decode as UTF-8
    assert "大学城社区" in json.dumps(tree, ensure_ascii=False)
    # text for people stays in the console's own encoding, and never raises on a character it lacks
    text = subprocess.run([*run, "grids", "list"], env=env, capture_output=True, timeout=300)
    assert text.returncode == 0 and "大学城社区" in text.stdout.decode("gbk")
