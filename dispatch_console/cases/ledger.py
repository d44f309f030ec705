"""The monthly ledger (矛盾纠纷排查调处台账): one row per case registered in the month, as xlsx.

Every text cell that a spreadsheet would read as a formula (it begins with = + - @, a tab or a
carriage return) is written as text, so a party's name or an agreement cannot run anything when
the ledger is opened. ID numbers and phones are masked, as on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from db.engine import Database, db_now
from db.models import CaseParty, CaseVisit
from dispatch_console.cases import policy
from dispatch_console.cases.parties import mask_id
from dispatch_console.cases.reads import CaseQuery, query_in
from dispatch_console.cases.vocabulary import (
    KIND_LABELS,
    REFERRALS,
    RISK_LABELS,
    SATISFACTION,
    STATUS_LABELS,
    VISIT_RESULTS,
    VISIT_STATES,
    label,
)
from dispatch_console.kernel.audit import mask_phone
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import local

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL = 32_000  # a cell holds at most 32,767 characters


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as written: text that looks like a formula stays text."""
    if not isinstance(value, str):
        return value
    text = value[:MAX_CELL]
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


HEADERS = (N_("Case number"), N_("Kind"), N_("Sub-type"), N_("Title"), N_("Grid"), N_("Parties"), N_("Risk"),
           N_("May escalate"), N_("Responsible unit"), N_("Responsible person"), N_("Status"), N_("Registered"),
           N_("Outcome"), N_("Agreement / referral"), N_("Follow-ups"), N_("Closed"))


def _when(value: Any) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def export_month(db: Database, year: int, month: int, path: str | Path) -> int:
    """Write the month's ledger to ``path``; returns how many cases it lists."""
    pol = policy.cases()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"{year:04d}-{month:02d}"
    ws.append([_(h) for h in HEADERS])
    with db.read() as s:
        now = db_now(s)
        rows = query_in(s, CaseQuery(open_only=False, month=(year, month), limit=5000), now)
        rows.sort(key=lambda r: (r.created_at, r.id))
        ids = [r.id for r in rows]
        parties: dict[int, list[str]] = {}
        visits: dict[int, list[str]] = {}
        extra: dict[int, tuple[str | None, str | None, str | None, Any]] = {}
        if ids:
            for p in s.execute(select(CaseParty).where(CaseParty.case_id.in_(ids)).order_by(CaseParty.id)).scalars():
                parties.setdefault(p.case_id, []).append(
                    " ".join(x for x in (p.name, mask_phone(p.phone), mask_id(p.id_number)) if x))
            for v in s.execute(select(CaseVisit).where(CaseVisit.case_id.in_(ids))
                               .order_by(CaseVisit.due_at)).scalars():
                if v.result:
                    state = label(VISIT_RESULTS, v.result) + (
                        "/" + label(SATISFACTION, v.satisfaction) if v.satisfaction else "")
                else:
                    state = label(VISIT_STATES, v.state)
                visits.setdefault(v.case_id, []).append(f"{v.days}d {state}")
            from db.models import Case

            for c in s.execute(select(Case.id, Case.outcome, Case.agreement_text, Case.referral, Case.closed_at)
                               .where(Case.id.in_(ids))).all():
                extra[c.id] = (c.outcome, c.agreement_text, c.referral, c.closed_at)
    for r in rows:
        outcome, agreement, referral, closed_at = extra.get(r.id, (None, None, None, None))
        ws.append([safe_cell(v) for v in (
            r.number, label(KIND_LABELS, r.kind), pol.subtype_label(r.subtype), r.title, r.grid_name or "",
            "; ".join(parties.get(r.id, [])), label(RISK_LABELS, r.risk), _("yes") if r.may_escalate else "",
            r.unit_name or "", r.responsible_person or "", label(STATUS_LABELS, r.status), _when(r.created_at),
            _("mediated") if outcome == "mediated" else _("failed") if outcome == "failed" else "",
            agreement or label(REFERRALS, referral), "; ".join(visits.get(r.id, [])), _when(closed_at))])
    for column, width in zip("ABCDEFGHIJKLMNOP", (22, 8, 12, 30, 16, 40, 6, 8, 16, 12, 10, 17, 8, 40, 30, 17),
                             strict=True):
        ws.column_dimensions[column].width = width
    wb.save(str(path))
    return len(rows)
