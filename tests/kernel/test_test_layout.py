"""The tests' own layout: one conftest at the top. The test modules import it by name
(``from conftest import require_pg``), so a second ``conftest.py`` in a room's folder would be the
one a test gets whenever that folder was collected first; shared fixtures live in tests/support and
reach the tests through the top conftest's ``pytest_plugins``."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_there_is_one_conftest_and_it_is_at_the_top() -> None:
    assert sorted(p.relative_to(TESTS).as_posix() for p in TESTS.rglob("conftest.py")) == ["conftest.py"]
