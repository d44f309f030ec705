"""Official CAP warnings stored once, followed through Update and Cancel, matched to the street (both backends)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.street import (
    BOMB,
    OVER_BEIJING,
    Street,
    cap_message,
    make_street,
    polygon_text,
    reference,
)

from db.engine import Database
from db.models import CapMessage, ChecklistItem, EarlyWarning, Incident, Notification
from dispatch_console import warnings
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.warnings.official import DropFolder
from dispatch_console.warnings.rules import load_policy
from station.launcher import main

PUBLISHED = Path(__file__).parent / "data" / "published"


@pytest.fixture
def street(db: Database) -> Street:
    return make_street(db)


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _notifications(db: Database) -> list[Notification]:
    with db.read() as s:
        return list(s.execute(select(Notification).where(Notification.kind == "warning")).scalars())


def test_a_typhoon_warning_over_the_street_notifies_the_shift_leader_once_and_offers_the_checklist(
        street: Street, tmp_path: Path) -> None:
    path = _write(tmp_path, "alert.xml", cap_message())
    report = warnings.import_paths(street.db, street.leader, [path])
    (o,) = report.outcomes
    assert (o.status, o.covers_street, o.new_warning) == ("stored", True, True)
    again = warnings.import_paths(street.db, street.leader, [path, _write(tmp_path / "b", "copy.xml", cap_message())])
    assert [x.status for x in again.outcomes] == ["duplicate", "duplicate"]  # same identifier+sender+sent
    with street.db.read() as s:
        assert s.execute(select(func.count()).select_from(CapMessage)).scalar_one() == 1
    (note,) = _notifications(street.db)
    assert note.target_role == "shift_leader" and note.title == "深圳市气象台发布台风黄色预警信号"
    (w,) = warnings.list_warnings(street.db)
    assert w.rule == "cap" and w.checklist_code == "typhoon_flood" and w.level == "warning"
    assert w.cap is not None and w.cap.state == "active" and "桃源街道" in w.cap.areas
    # offering the checklist: the response incident starts the typhoon/flood checklist, once
    first = warnings.start_response(street.db, street.officer, w.id)
    assert warnings.start_response(street.db, street.officer, w.id).id == first.id
    with street.db.read() as s:
        codes = set(s.execute(select(ChecklistItem.template_code).where(ChecklistItem.incident_id == first.id))
                    .scalars())
        inc = s.get(Incident, first.id)
        assert inc is not None and inc.source == "official_warning" and inc.category == "natural_disaster"
    assert "typhoon_flood" in codes


def test_update_and_cancel_follow_references_and_the_leader_is_told_once(street: Street, tmp_path: Path) -> None:
    alert = _write(tmp_path, "1.xml", cap_message())
    update = _write(tmp_path, "2.xml", cap_message(
        "GD-SZ-2026-0002", msg_type="Update", references=reference(), sent="2026-12-03T11:00:00+08:00",
        headline="深圳市气象台将台风黄色预警信号升级为橙色", severity="Severe"))
    warnings.import_paths(street.db, street.leader, [alert, update])
    (w,) = warnings.list_warnings(street.db)
    assert w.cap is not None and w.cap.messages == 2 and w.cap.state == "active" and w.cap.colour == "orange"
    assert w.title == "深圳市气象台将台风黄色预警信号升级为橙色" and w.level == "critical"
    assert len(_notifications(street.db)) == 1
    cancel = _write(tmp_path, "3.xml", cap_message(
        "GD-SZ-2026-0003", msg_type="Cancel", sent="2026-12-03T20:00:00+08:00",
        references=reference("GD-SZ-2026-0002", "2026-12-03T11:00:00+08:00"), headline="深圳市气象台解除台风预警信号"))
    warnings.import_paths(street.db, street.leader, [cancel])
    with street.db.read() as s:
        states = dict(s.execute(select(CapMessage.identifier, CapMessage.state)).all())
    assert states == {"GD-SZ-2026-0001": "cancelled", "GD-SZ-2026-0002": "cancelled",
                      "GD-SZ-2026-0003": "cancelled"}
    (w,) = warnings.list_warnings(street.db)
    assert w.cap is not None and w.cap.state == "cancelled"
    assert len(_notifications(street.db)) == 1


def test_an_update_read_before_its_alert_keeps_the_newer_one_in_force(street: Street, tmp_path: Path) -> None:
    update = cap_message("GD-SZ-2026-0002", msg_type="Update", references=reference(),
                         sent="2026-12-03T11:00:00+08:00", headline="台风橙色预警", severity="Severe")
    warnings.import_paths(street.db, street.leader, [_write(tmp_path, "u.xml", update)])
    warnings.import_paths(street.db, street.leader, [_write(tmp_path, "a.xml", cap_message())])
    with street.db.read() as s:
        states = dict(s.execute(select(CapMessage.identifier, CapMessage.state)).all())
        assert s.execute(select(func.count(func.distinct(CapMessage.thread_key)))).scalar_one() == 1
    assert states == {"GD-SZ-2026-0001": "updated", "GD-SZ-2026-0002": "active"}
    assert len(warnings.list_warnings(street.db)) == 1


@pytest.mark.parametrize(("kwargs", "covers"), [
    ({"polygon": OVER_BEIJING}, False),
    ({"polygon": polygon_text(113.97, 22.575, 0.002)}, True),           # a small polygon inside one grid
    ({"polygon": None, "circle": "22.58,113.975 1.5"}, True),
    ({"polygon": None, "circle": "39.9,116.4 30"}, False),
    ({"polygon": None, "geocode": ("GB2260", "FJ")}, True),            # an area's own code
    ({"polygon": None, "geocode": ("GB2260", "110101")}, False),
])
def test_areas_are_matched_by_polygon_circle_or_geocode(street: Street, tmp_path: Path,
                                                        kwargs: dict[str, object], covers: bool) -> None:
    report = warnings.import_paths(street.db, street.leader, [_write(tmp_path, "m.xml", cap_message(**kwargs))])
    assert report.outcomes[0].covers_street is covers
    assert len(_notifications(street.db)) == (1 if covers else 0)


def test_a_configured_geocode_means_the_street(street: Street, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "policies").mkdir(parents=True)
    (config / "policies" / "warning.toml").write_text('[cap]\ngeocodes = ["440305006"]\n', encoding="utf-8")
    policy = load_policy(Resources(config))
    report = warnings.import_paths(street.db, street.leader, [_write(
        tmp_path, "g.xml", cap_message(polygon=None, geocode=("GB2260", "440305006")))], policy)
    assert report.outcomes[0].covers_street


def test_expired_exercise_and_test_messages_are_stored_but_nobody_is_paged(street: Street, tmp_path: Path) -> None:
    files = [
        _write(tmp_path, "expired.xml", cap_message("E1", expires="2020-01-01T00:00:00+08:00")),
        _write(tmp_path, "exercise.xml", cap_message("E2", status="Exercise")),
        _write(tmp_path, "test.xml", cap_message("E3", status="Test")),
    ]
    report = warnings.import_paths(street.db, street.leader, files)
    assert [o.status for o in report.outcomes] == ["stored"] * 3
    assert _notifications(street.db) == [] and warnings.list_warnings(street.db) == []
    states = {c.identifier: c.state for c in warnings.cap_messages(street.db)}
    assert states == {"E1": "expired", "E2": "active", "E3": "active"}


def test_a_folder_with_malformed_files_reads_the_rest_and_names_each_refusal(
        street: Street, tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    folder = tmp_path / "drop"
    _write(folder, "01_good.xml", cap_message("OK-1"))
    _write(folder, "02_not_xml.xml", b"\xff\xfe not xml")
    _write(folder, "03_wrong_ns.xml", cap_message("X", namespace="urn:example"))
    _write(folder, "04_cap11.xml", cap_message("X", namespace="urn:oasis:names:tc:emergency:cap:1.1"))
    _write(folder, "05_missing.xml", cap_message("X", drop=("sender",)))
    _write(folder, "06_open_polygon.xml", cap_message("X", polygon=polygon_text(113.95, 22.55, 0.06, closed=False)))
    _write(folder, "07_bomb.xml", BOMB)
    _write(folder, "08_good.cap", cap_message("OK-2", polygon=OVER_BEIJING))
    _write(folder, "notes.txt", b"not a CAP file: not read from a folder")
    for name in ("australia.cap", "canada.cap", "wcatwc-warning.cap"):
        shutil.copy(PUBLISHED / name, folder / name)
    code = main(["--db", db_url, "--user", street.leader.username or "", "--password", "pw",
                 "cap", "import", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1
    refused = [line for line in err.splitlines() if "refused" in line]
    assert len(refused) == 6
    for name, reason in (("02_not_xml", "not well-formed"), ("03_wrong_ns", "not a CAP 1.2 alert"),
                         ("04_cap11", "CAP 1.1"), ("05_missing", "schema"), ("06_open_polygon", "does not close"),
                         ("07_bomb", "DTD")):
        assert any(name in line and reason in line for line in refused), (name, refused)
    assert "Traceback" not in err
    with street.db.read() as s:
        stored = set(s.execute(select(CapMessage.identifier)).scalars())
    assert {"OK-1", "OK-2"} <= stored and len(stored) == 5   # the 3 published ones too
    assert len(_notifications(street.db)) == 1               # only OK-1 covers the street
    assert "5 stored" in out


def test_cap_import_needs_a_leader(street: Street, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        warnings.import_paths(street.db, street.officer, [_write(tmp_path, "a.xml", cap_message())])


def test_the_drop_folder_reads_new_files_once(street: Street, tmp_path: Path) -> None:
    folder = tmp_path / "share"
    config = tmp_path / "config"
    (config / "policies").mkdir(parents=True)
    (config / "policies" / "warning.toml").write_text(
        f'[cap]\ndrop_folder = {json.dumps(str(folder))}\n', encoding="utf-8")
    policy = load_policy(Resources(config))
    _write(folder, "a.xml", cap_message("D-1"))
    _write(folder, "bad.xml", b"<oops")
    first, second = DropFolder(street.db, "agent"), DropFolder(street.db, "ws-2")  # two machines, one share
    assert [o.status for o in first.scan(policy).outcomes] == ["stored", "refused"]
    assert [o.status for o in second.scan(policy).outcomes] == ["duplicate", "refused"]
    assert first.scan(policy).outcomes == []               # nothing new
    _write(folder, "b.xml", cap_message("D-2", msg_type="Update", references=reference("D-1"),
                                        sent="2026-12-03T09:00:00+08:00"))
    assert [o.status for o in first.scan(policy).outcomes] == ["stored"]
    with street.db.read() as s:
        rules = sorted(s.execute(select(EarlyWarning.rule)).scalars())
    # the refused file is on the board once, for the duty officer, though both machines read it
    assert rules == ["cap", "cap_refused"]
    refused = [n for n in _notifications(street.db) if n.target_role == "duty_officer"]
    assert len(refused) == 1 and "bad.xml" in refused[0].title
    assert len(_notifications(street.db)) == 2
