"""Checking the hash-chained audit log: was any row edited, deleted or moved?

Each audit row stores the previous row's hash and its own hash over its content and id
(``changes.audit_hash``). :func:`verify` walks the rows in id order and recomputes the chain; the
first row that does not fit is named with what is wrong with it:

* ``deleted``   — ids are consecutive from 1; a gap (or a first id other than 1) means rows went
  missing, and so does a change_log holding more changes than the audit log has rows;
* ``reordered`` — the row's ``prev_hash`` is not the hash of the row before it (rows swapped,
  moved or re-linked);
* ``edited``    — the row's stored hash is not the hash of its content.

Rewriting every hash after a tampered row needs write access to the whole table; the restricted
PostgreSQL role (``dispatch-console db grant``) cannot update or delete audit rows at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from db.engine import Database
from db.models import AuditLog, ChangeLog
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import GENESIS_HASH, audit_hash
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require

_BATCH = 2000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int
    first_bad_id: int | None
    problem: str | None  # translated, for people
    kind: str | None = None  # "edited" | "deleted" | "reordered", for scripts and tests

    def describe(self) -> str:
        if self.ok:
            return _("Audit log intact: {n} rows checked, the hash chain is unbroken.").format(
                n=self.rows_checked)
        return _("Audit log damaged at row {id}: {problem}").format(
            id=self.first_bad_id, problem=self.problem)


def _columns() -> list[object]:
    return [AuditLog.id, AuditLog.at, AuditLog.user_id, AuditLog.username, AuditLog.station,
            AuditLog.action, AuditLog.entity, AuditLog.entity_id, AuditLog.before, AuditLog.after,
            AuditLog.prev_hash, AuditLog.hash]


def _bad(checked: int, row_id: int, kind: str, problem: str) -> VerifyResult:
    return VerifyResult(False, checked, row_id, problem, kind)


def verify(db: Database) -> VerifyResult:
    """Recompute the whole chain in id order; report the first row that does not fit."""
    checked = 0
    expected_id = 1
    prev_hash = GENESIS_HASH
    with db.read() as s:
        rows = s.execute(select(*_columns()).order_by(AuditLog.id).execution_options(yield_per=_BATCH))
        for row in rows:
            data = row._asdict()
            row_id = int(data["id"])
            if row_id != expected_id:
                return _bad(checked, row_id, "deleted", _(  # ids are unique: only a gap is possible
                    "rows {first}–{last} are missing before this row (deleted).").format(
                        first=expected_id, last=row_id - 1))
            if data["prev_hash"] != prev_hash:
                return _bad(checked, row_id, "reordered", _(
                    "its link to the previous row is broken (rows reordered, moved or re-linked)."))
            if data["hash"] != audit_hash(prev_hash, data):
                return _bad(checked, row_id, "edited", _(
                    "its content does not match its hash (the row was edited)."))
            checked += 1
            prev_hash = data["hash"]
            expected_id = row_id + 1
        changes = int(s.execute(select(func.count(ChangeLog.seq))).scalar_one())
    if changes > checked:
        return _bad(checked, expected_id, "deleted", _(
            "the change log records {changes} changes but the audit log ends after {rows} rows "
            "(the last rows were deleted).").format(changes=changes, rows=checked))
    return VerifyResult(True, checked, None, None, None)


def verify_as(db: Database, actor: Actor) -> VerifyResult:
    """:func:`verify` for a signed-in user (administrators)."""
    require(actor, "audit.verify")
    return verify(db)
