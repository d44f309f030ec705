"""Hostile input that reaches the database: the good items are stored, the bad ones refused one by
one, nothing half-stored — on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from support.hostile_cases import SQUARE, incident
from support.roster_fixtures import duty_room

from db.engine import Database
from db.models import Area, AuditLog, Incident
from dispatch_console import rosters as roster
from dispatch_console.checklists import service as checklists
from dispatch_console.incidents import intake
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.jurisdiction import geojson_import
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.rosters import files as roster_io


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


HOSTILE_LINES = [
    b"[" * 50_000,
    b'{"category":"fire","severity":2,"source":"walk_in","description":"x","lon":' + b"1" * 400 + b',"lat":1}',
    json.dumps(incident(reported_at="9999-12-31T23:59:59+08:00")).encode(),
    json.dumps(incident(reported_at="0001-01-01T00:00:00+08:00")).encode(),
    json.dumps(incident(people_count=10**40)).encode(),
    b'{"description": "\xff"}',
    json.dumps(incident(description="x" * 200_000)).encode(),
]


def test_intake_stores_every_good_line_around_hostile_ones(db: Database, make_actor: Any) -> None:
    good = [json.dumps(incident(description=f"好{i}"), ensure_ascii=False).encode()
            for i in range(len(HOSTILE_LINES) + 1)]
    mixed = [line for pair in zip(good, [*HOSTILE_LINES, b""], strict=True) for line in pair]
    stream = io.BytesIO(b"\n".join(mixed) + b"\n")
    outcomes = list(intake.intake_lines(db, make_actor("duty_officer"),
                                        intake.bounded_input.lines(stream, intake.INTAKE_LIMITS)))
    assert [o.outcome for o in outcomes if o.line % 2 == 1] == ["stored"] * len(good)
    assert [o.outcome for o in outcomes if o.line % 2 == 0] == ["rejected"] * len(HOSTILE_LINES)
    assert all(o.reason and "Traceback" not in o.reason for o in outcomes if o.outcome == "rejected")
    reasons = {o.line: o.reason or "" for o in outcomes}
    assert "2000" in reasons[6] and "2100" in reasons[6] and "2000" in reasons[8]  # years 9999 and 1
    with db.read() as s:
        stored = sorted(s.execute(select(Incident.description)).scalars())
    assert stored == sorted(f"好{i}" for i in range(len(good)))


def test_geojson_stores_flat_boundaries_and_refuses_a_huge_property(db: Database, system: Actor,
                                                                    tmp_path: Path) -> None:
    def square(dx: float) -> list[list[list[float]]]:
        return [[[x + dx, y] for x, y in SQUARE[0]]]

    features = [
        {"type": "Feature", "properties": {"name": "平面", "code": "A"}, "geometry": {"type": "Polygon",
                                                                                 "coordinates": square(0)}},
        {"type": "Feature", "properties": {"name": "三维", "code": "B"}, "geometry": {"type": "Polygon",
         "coordinates": [[[x, y, 30.0] for x, y in square(1)[0]]]}},
        {"type": "Feature", "properties": {"name": "混合", "code": "C"}, "geometry": {"type": "MultiPolygon",
         "coordinates": [[[[x, y, 1.0] if i % 2 else [x, y] for i, (x, y) in enumerate(square(2)[0])]]]}},
        {"type": "Feature", "properties": {"name": "巨大", "code": "D", "note": "长" * 500_000},
         "geometry": {"type": "Polygon", "coordinates": square(3)}},
    ]
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    report = geojson_import.import_geojson(db, system, path, "district")
    assert (report.created, [e.index for e in report.errors]) == (3, [4])
    assert "4096" in report.errors[0].reason
    with db.read() as s:
        areas = {a.code: a for a in s.execute(select(Area)).scalars()}
        longest_audit = max(len(json.dumps(a.after or {})) for a in s.execute(select(AuditLog)).scalars())
    assert set(areas) == {"A", "B", "C"}
    assert all(len(p) == 2 for ring in areas["B"].geometry["coordinates"] for p in ring)
    assert longest_audit < 10_000  # the half-megabyte property was stored nowhere


def test_roster_csv_stores_good_rows_around_hostile_ones(db: Database, system: Actor, leader: Actor,
                                                         tmp_path: Path) -> None:
    duty_room(db, system)
    path = tmp_path / "r.csv"
    rows = ["日期,班次,岗位,姓名,电话",
            "2026-11-27,白班,值班员,张伟,",
            "9999-11-27,白班,值班员,刘洋,",  # year 9999
            "0001-11-27,白班,值班员,刘洋,",  # year 1
            "2026-11-27,白班,值班员," + "刘" * 200_000 + ",",  # a field over 128 KB
            "2026-11-27,白班,值班员,刘\x00洋,",  # NUL
            "2026-11-27,夜班,值班员,陈静,"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = roster_io.import_roster(db, leader, path)
    assert result.stored == 2
    assert [e.row for e in result.rejected] == [3, 4, 5, 6]
    assert {p.person_name for p in roster.roster(db, roster_io.parse_day("2026-11-27"),
                                                   roster_io.parse_day("2026-11-27"))} == {"张伟", "陈静"}


def test_a_deeply_nested_checklist_in_the_config_folder_disables_that_file_only(
        db: Database, make_actor: Any, tmp_path: Path) -> None:
    (tmp_path / "checklists").mkdir()
    (tmp_path / "checklists" / "deep.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "utf-8")
    (tmp_path / "checklists" / "huge_int.toml").write_text("code = 'n'\nversion = " + "9" * 400 + "\n", "utf-8")
    resources = Resources(tmp_path)
    try:
        catalog = checklists.use_resources(resources)
        assert {Path(e.path).name for e in catalog.errors} >= {"deep.toml", "huge_int.toml"}
        assert catalog.templates  # the shipped ones are in force
        row = incidents.create_incident(db, make_actor("duty_officer"), IncidentDraft(
            category="fire", severity=2, source="walk_in", description="仓库冒烟")).row
        assert checklists.items_for(db, row.id)  # the fire checklist was attached as always
    finally:
        checklists.use_resources(Resources())
    assert _count(db, Incident) == 1
