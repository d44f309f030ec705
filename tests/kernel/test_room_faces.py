"""The views and the command line use these rooms through their faces (``dispatch_console/<room>/
__init__.py``), never a module behind it; and every face re-exports only what its modules define,
so importing a face is importing the room."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FACED = ("assessment", "cases", "channels", "checklists", "drills", "escalation", "handover", "incidents",
         "jurisdiction", "notifications", "protocols", "rosters", "supplies", "timers", "transfers", "users",
         "warnings")


def _behind_the_face(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] != "dispatch_console" or len(parts) < 2 or parts[1] not in FACED:
                continue
            if len(parts) > 2:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module}")
            else:  # a module of the room by its name (the face's duty_log is the function)
                face = importlib.import_module(node.module)
                found += [f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import {a.name}"
                          for a in node.names if isinstance(getattr(face, a.name, None), ModuleType)]
        elif isinstance(node, ast.Import):
            found += [f"{path.relative_to(ROOT)}:{node.lineno} import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "dispatch_console" and len(a.name.split(".")) > 2
                      and a.name.split(".")[1] in FACED]
    return found


def test_views_and_command_line_import_these_rooms_only_through_their_faces() -> None:
    files = [*(ROOT / "ui").rglob("*.py"), *(ROOT / "dispatch_console" / "cli").rglob("*.py")]
    behind = [hit for f in files for hit in _behind_the_face(f)]
    assert not behind, "import these through the room's face (its __init__.py):\n" + "\n".join(behind)


@pytest.mark.parametrize("room", FACED)
def test_a_face_re_exports_its_own_modules_and_says_what_it_holds(room: str) -> None:
    face = importlib.import_module(f"dispatch_console.{room}")
    assert face.__doc__ and "public face" in face.__doc__
    names = face.__all__
    assert names and len(set(names)) == len(names)
    for name in names:
        value = getattr(face, name)
        home = getattr(value, "__module__", None)
        if home is not None and not isinstance(value, (str, int, float, dict, tuple, frozenset)):
            assert home.startswith((f"dispatch_console.{room}.", "dispatch_console.kernel.")), (name, home)


def test_a_rooms_modules_never_import_their_own_face() -> None:
    own = []
    for room in FACED:
        for path in (ROOT / "dispatch_console" / room).glob("*.py"):
            if path.name == "__init__.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == f"dispatch_console.{room}":
                    own += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}" for a in node.names
                            if not (path.parent / f"{a.name}.py").exists()]
                if isinstance(node, ast.ImportFrom) and node.module == "dispatch_console":
                    own += [f"{path.relative_to(ROOT)}:{node.lineno}" for a in node.names if a.name == room]
    assert not own, own
