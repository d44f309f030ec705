"""Shelters: open, arrivals up to capacity, full and open again, the nearest open one from an incident."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from support.world import make_world

from db.engine import Database
from db.models import ShelterMovement
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.supplies.shelters import add_shelter, list_shelters, nearest_open, record_people, set_status
from station.launcher import main as cli_main


def shelters(db: Database) -> None:
    system = Actor.system("test")
    add_shelter(db, system, code="S1", name="桃源中学避难场所", capacity=100, lon=113.906, lat=22.505)
    add_shelter(db, system, code="S2", name="平山公园避难场所", capacity=30, lon=113.915, lat=22.515)
    add_shelter(db, system, code="S3", name="塘朗山避难场所", capacity=500, lon=113.95, lat=22.55)


def test_arrivals_fill_a_shelter_to_capacity_and_departures_open_it_again(db: Database) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    shelters(db)
    incident = world.record("低洼地带群众转移", category="natural_disaster")
    with pytest.raises(ValidationError, match="closed"):
        record_people(db, officer, "S2", 10)
    set_status(db, officer, "S2", "open")
    assert record_people(db, officer, "S2", 25, incident=incident.number, note="桃源村12栋").occupancy == 25
    with pytest.raises(ValidationError, match="5 free places"):
        record_people(db, officer, "S2", 8)
    full = record_people(db, officer, "平山公园避难场所", 5)
    assert (full.occupancy, full.free, full.status) == (30, 0, "full")
    again = record_people(db, officer, "S2", -12)
    assert (again.occupancy, again.status) == (18, "open")
    with pytest.raises(ValidationError, match="still shelters 18"):
        set_status(db, officer, "S2", "closed")
    with pytest.raises(ValidationError, match="more cannot leave"):
        record_people(db, officer, "S2", -19)
    with pytest.raises(Exception, match="append-only"), db.write() as s:
        s.execute(update(ShelterMovement).values(people=1))


def test_the_nearest_open_shelter_with_free_places_comes_first(db: Database) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    shelters(db)
    incident = world.record("地下车库进水，需转移住户", category="natural_disaster", grid="G1")  # no coordinates
    assert nearest_open(db, incident.number) == []  # nothing open yet
    for code in ("S1", "S2", "S3"):
        set_status(db, officer, code, "open")
    assert [n.shelter.code for n in nearest_open(db, incident.number)] == ["S1", "S2", "S3"]
    record_people(db, officer, "S1", 100)  # full: the next one is proposed
    assert [n.shelter.code for n in nearest_open(db, incident.number)] == ["S2", "S3"]
    assert {r.code: r.status for r in list_shelters(db)} == {"S1": "full", "S2": "open", "S3": "open"}


def test_shelter_commands(db: Database, make_actor, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db, officers=1)
    leader = make_actor("shift_leader")
    base = ["--db", db.url.render_as_string(hide_password=False), "--user", leader.username, "--password", "pw"]
    assert cli_main([*base, "shelters", "add", "S9", "桃源街道文体中心", "200", "--lon", "113.905",
                     "--lat", "22.506", "--contact", "陈主任", "--phone", "0755-26000000"]) == 0
    assert cli_main([*base, "shelters", "open", "S9"]) == 0
    assert cli_main([*base, "shelters", "arrive", "S9", "40"]) == 0
    assert cli_main([*base, "shelters", "leave", "S9", "15"]) == 0
    assert cli_main([*base, "shelters", "arrive", "S9", "500"]) == 1  # one line, not a traceback
    capsys.readouterr()
    assert cli_main([*base, "shelters", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["code"], r["occupancy"], r["free"], r["status"]) for r in listed] == [("S9", 25, 175, "open")]
    incident = world.record("台风转移", category="natural_disaster")
    assert cli_main([*base, "shelters", "nearest", incident.number, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["code"] == "S9"
