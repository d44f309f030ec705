"""The paper record anchors the electronic one: the audit chain's hash on signed handovers and duty logs."""

from __future__ import annotations

from sqlalchemy import select
from support.handover_fixtures import now_to_next

from db.engine import Database
from db.models import AuditLog
from dispatch_console.handover import service as handover
from dispatch_console.handover.duty_log import duty_log
from dispatch_console.handover.report import duty_log_html, handover_html
from dispatch_console.kernel.actor import Actor


def test_a_signed_handover_prints_the_hash_of_the_audit_row_that_recorded_its_signature(
        db: Database, system: Actor) -> None:
    room = now_to_next(db, system)
    record = handover.draft(db, room.wang, room.outgoing)
    assert "Audit chain when" not in handover_html(record)  # a draft has no signature to anchor
    signed = handover.sign(db, room.wang, record.id, record.version, "pw")
    with db.read() as s:
        row = s.execute(select(AuditLog).where(AuditLog.action == "handover.sign")).scalar_one()
    assert signed.signed is not None and (signed.signed.audit_id, signed.signed.audit_hash) == (row.id, row.hash)
    page = handover_html(handover.get(db, record.id))
    assert f"Audit chain when signed: row {row.id}, hash {row.hash}" in page


def test_the_duty_log_prints_the_chain_head_when_printed(db: Database, system: Actor) -> None:
    room = now_to_next(db, system)
    log = duty_log(db, room.outgoing)
    with db.read() as s:
        last = s.execute(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).scalar_one()
    assert log.audit_head is not None and (log.audit_head.head_id, log.audit_head.head_hash) == (last.id, last.hash)
    assert f"Audit chain head: row {last.id}, hash {last.hash}" in duty_log_html(log)
