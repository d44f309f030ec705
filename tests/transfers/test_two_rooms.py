"""Two duty rooms (two databases, two config folders, one shared exchange folder), on both backends:
a transfer sent, accepted on the other side, its status flowing back; one never answered escalating
once at its (shortened) deadline; a tampered package refused, and the refusal reported back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from support.two_rooms import Room, two_rooms

from db.engine import Database
from db.models import AuditLog, Incident, IncidentEvent, Notification, Timer
from dispatch_console.incidents import service as incident_service
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.timers.engine import fire_due
from dispatch_console.transfers import service


def _number(db: Database, incident_id: int) -> str:
    with db.read() as s:
        inc = s.get(Incident, incident_id)
        assert inc is not None
        return inc.number


def _events(db: Database, incident_id: int) -> list[IncidentEvent]:
    with db.read() as s:
        return list(s.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                              .order_by(IncidentEvent.id)).scalars())


def _actions(db: Database, prefix: str) -> list[str]:
    with db.read() as s:
        return [a for a in s.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars() if a.startswith(prefix)]


def _inbox_files(room: Room, tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "exchange" / room.code / "inbox").glob("*.json"))


def test_sent_accepted_and_the_status_flows_back(rooms: tuple[Room, Room], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    taoyuan, district = rooms
    incident_id = taoyuan.street.report("留仙大道与创科路交界处工地围挡倒塌，压住一辆电动车", category="work_safety",
                                        address="留仙大道与创科路交界", severity=2, people=1)
    number = _number(taoyuan.db, incident_id)
    incident_service.add_note(taoyuan.db, taoyuan.street.officer, incident_id, "现场有燃气管道，需区应急局协调")

    sent = service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
    assert sent.status == "sent" and sent.sender_number == number
    files = _inbox_files(district, tmp_path)
    assert len(files) == 1 and (tmp_path / "exchange" / "taoyuan" / "outbox" / files[0].name).is_file()
    package = json.loads(files[0].read_text(encoding="utf-8"))
    assert package["incidentComponent"]["incidentTrackingIdentifier"] == number
    assert package["incidentComponent"]["incidentTypeCommonRegistryText"] == "work_safety"
    assert package["locationComponent"]["civicAddressText"] == "留仙大道与创科路交界"
    assert package["notesComponent"][0]["noteText"] == "现场有燃气管道，需区应急局协调"
    assert package["signature"]["algorithm"] == "HMAC-SHA256"
    shutil.copy(files[0], tmp_path / "copy.json")

    # two workstations of the district room read the same inbox: the package is taken once
    first = service.poll(district.db, "区值班台1", district.cfg)
    shutil.copy(tmp_path / "copy.json", files[0])  # as if a second workstation listed it before the move
    second = service.poll(district.db, "区值班台2", district.cfg)
    assert [t.status for t in first.taken] == ["taken"] and [t.status for t in second.taken] == ["duplicate"]
    waiting = service.inbox(district.db, cfg=district.cfg)
    assert [(r.status, r.sender_number, r.peer_name) for r in waiting] == [("pending", number, "桃源街道总值班室")]

    accepted = service.accept(district.db, district.street.officer, waiting[0].id, note="已派区应急局",
                              cfg=district.cfg)
    # (both demo streets number alike; the link is the sender's room, number and package, not the number alone)
    assert accepted.status == "accepted" and accepted.receiver_number
    with district.db.read() as s:
        local = s.execute(select(Incident).where(Incident.number == accepted.receiver_number)).scalar_one()
        assert local.source == "transfer" and local.category == "work_safety" and local.severity == 2
        assert number in (local.external_id or "") and number in local.description
        assert local.address == "留仙大道与创科路交界"
    kinds = [e.kind for e in _events(district.db, local.id)]
    assert kinds[0] == "created" and "transfer_accepted" in kinds and "note" in kinds
    with pytest.raises(ValidationError):
        service.accept(district.db, district.street.officer, waiting[0].id, cfg=district.cfg)

    service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
    [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
    assert (out.status, out.receiver_number) == ("accepted", accepted.receiver_number)
    with taoyuan.db.read() as s:
        receipt = s.execute(select(Timer).where(Timer.kind == service.RECEIPT_KIND)).scalar_one()
        assert receipt.cancelled_at is not None and receipt.fired_at is None  # answered: never escalates
    notes = [e.note or "" for e in _events(taoyuan.db, incident_id) if e.kind == "transfer_status"]
    assert len(notes) == 1 and accepted.receiver_number in notes[0] and "已派区应急局" in notes[0]

    # resolved over there: the district's follow-up queues a status package; it reaches 桃源
    monkeypatch.setenv("DISPATCH_CONFIG_DIR", str(district.config_dir))
    row = incident_service.acknowledge(district.db, district.street.officer, local.id, local.version)
    incident_service.resolve(district.db, district.street.officer, local.id, row.version, note="围挡已清理")
    monkeypatch.delenv("DISPATCH_CONFIG_DIR")
    service.poll(district.db, "区值班台1", district.cfg)  # delivers the outbox
    service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
    [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
    assert out.status == "resolved"
    assert [e.kind for e in _events(taoyuan.db, incident_id)].count("transfer_status") == 2

    # both sides keep the history in the audit chain
    assert _actions(taoyuan.db, "transfer.") == ["transfer.send", "transfer.accepted", "transfer.resolved"]
    assert _actions(district.db, "transfer.") == ["transfer.receive", "transfer.accepted", "transfer.resolved"]


def test_a_transfer_never_answered_escalates_once_at_the_deadline(
        db: Database, db_url: str, backend: str, tmp_path: Path) -> None:
    with two_rooms(db, db_url, backend, tmp_path, deadline="0s") as (taoyuan, district):
        incident_id = taoyuan.street.report("跨界河道发现大量死鱼", category="public_health")
        number = _number(taoyuan.db, incident_id)
        service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
        fired = [f.kind for f in fire_due(taoyuan.db, "值班台1")]
        again = [f.kind for f in fire_due(taoyuan.db, "值班台2")]
        assert fired.count(service.RECEIPT_KIND) == 1 and service.RECEIPT_KIND not in again
        with taoyuan.db.read() as s:
            told = list(s.execute(select(Notification).where(Notification.kind == "transfer_overdue")).scalars())
        assert len(told) == 1 and told[0].target_role == "shift_leader" and number in told[0].title
        [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
        assert out.status == "overdue"
        # a late answer still lands, and nothing escalates a second time
        service.poll(district.db, "区值班台1", district.cfg)
        [incoming] = service.inbox(district.db, cfg=district.cfg)
        service.accept(district.db, district.street.officer, incoming.id, cfg=district.cfg)
        service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
        assert service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)[0].status == "accepted"
        assert service.RECEIPT_KIND not in [f.kind for f in fire_due(taoyuan.db, "值班台1")]


def test_a_tampered_package_is_refused_and_the_refusal_goes_back(rooms: tuple[Room, Room], tmp_path: Path) -> None:
    taoyuan, district = rooms
    incident_id = taoyuan.street.report("两街道交界处群租房消防隐患", category="rental_housing")
    number = _number(taoyuan.db, incident_id)
    service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
    [path] = _inbox_files(district, tmp_path)
    package = json.loads(path.read_text(encoding="utf-8"))
    package["incidentComponent"]["incidentSeverity"] = 1  # changed on the way, signature kept
    path.write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")
    (path.parent / "junk.json").write_text('{"packageVersion": 1, "kind": "transfer", "extra": [[[[', encoding="utf-8")

    report = service.poll(district.db, "区值班台1", district.cfg)
    assert sorted(t.status for t in report.taken) == ["refused", "refused"]
    reasons = {t.file: t.reason or "" for t in report.taken}
    assert "HMAC" in reasons[path.name] and "JSON" in reasons["junk.json"]
    rows = service.inbox(district.db, cfg=district.cfg)
    assert sorted(r.status for r in rows) == ["rejected", "rejected"]
    with district.db.read() as s:
        assert s.execute(select(Incident.id).where(Incident.source == "transfer")).first() is None  # nothing half
    assert (path.parent / "refused" / path.name).is_file() and not path.exists()
    # the same bad file again is not a second refusal
    shutil.copy(path.parent / "refused" / path.name, path)
    assert [t.status for t in service.poll(district.db, "区值班台2", district.cfg).taken] == ["duplicate"]

    service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
    [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
    assert out.status == "rejected" and "HMAC" in (out.reason or "")
    with taoyuan.db.read() as s:
        refused = s.execute(select(Notification).where(Notification.kind == "transfer_refused")).scalar_one()
        assert number in refused.title
        receipt = s.execute(select(Timer).where(Timer.kind == service.RECEIPT_KIND)).scalar_one()
        assert receipt.cancelled_at is not None
