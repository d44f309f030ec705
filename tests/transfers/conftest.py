"""The two duty rooms most transfer tests work in (support/two_rooms.py), through the shared folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.two_rooms import Room, two_rooms

from db.engine import Database


@pytest.fixture
def rooms(db: Database, db_url: str, backend: str, tmp_path: Path) -> Iterator[tuple[Room, Room]]:
    with two_rooms(db, db_url, backend, tmp_path) as pair:
        yield pair
