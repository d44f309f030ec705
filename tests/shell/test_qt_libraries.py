"""`make run` checks the system libraries Qt's xcb plugin loads and names the Debian packages that
are missing, instead of Qt aborting with "xcb-cursor0 or libxcb-cursor0 is needed"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "qt_libraries.sh"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux")


def run_with(tmp_path: Path, libraries: list[str], platform: str = "xcb") -> subprocess.CompletedProcess[str]:
    """The script with an ldconfig that knows only ``libraries`` (a fresh Debian machine)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    cache = "".join(f"\t{lib} (libc6,x86-64) => /usr/lib/{lib}\n" for lib in libraries)
    fake = bin_dir / "ldconfig"
    fake.write_text(f"#!/bin/sh\nprintf '%s' '{cache}'\n", encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "QT_QPA_PLATFORM": platform}
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def listed() -> dict[str, str]:
    text = SCRIPT.read_text(encoding="utf-8")
    return dict(re.findall(r"^(lib\S+\.so[.\d]*)\s+(\S+)$", text, flags=re.M))


def test_missing_xcb_libraries_are_named_by_package(tmp_path: Path) -> None:
    wanted = listed()
    present = [lib for lib in wanted if "icccm" not in lib and "keysyms" not in lib and "cursor" not in lib]
    done = run_with(tmp_path, present)
    assert done.returncode == 1
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in done.stderr


def test_quiet_when_everything_is_there_or_there_is_no_display(tmp_path: Path) -> None:
    everything = run_with(tmp_path, list(listed()))
    assert everything.returncode == 0 and everything.stderr == ""
    offscreen = run_with(tmp_path, [], platform="offscreen")
    assert offscreen.returncode == 0 and offscreen.stderr == ""


def test_readme_and_makefile_name_the_same_packages() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(package in readme for package in listed().values())
    assert "qt-libraries" in (ROOT / "Makefile").read_text(encoding="utf-8").split("\nrun:")[1].splitlines()[0]
