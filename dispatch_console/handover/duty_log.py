"""The duty log (值班日志): everything that happened during one shift, in order.

Incident events (recorded, acknowledged, dispatched … notes, checklist ticks, escalations fired),
notifications that concern no single incident (handover reminders and alerts), roster changes,
the casework (cases opened, mediation sessions and agreements, follow-up visits, petition steps,
deadlines fired, cases closed; screening campaigns started, reported, closed) and the handover of
the shift — read from the timelines, the notifications and the audit log, never from a second
copy. Drills are left out unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from db.engine import Database, db_now
from db.models import AuditLog, Campaign, Case, CaseEvent, Handover, Incident, IncidentEvent, Notification
from dispatch_console.handover.content import shift_or_current
from dispatch_console.incidents.timeline import event_label
from dispatch_console.kernel.audit import ChainHead, chain_head
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.rosters import ShiftRow

CATEGORY_LABELS = {"incident": N_("Incident"), "escalation": N_("Escalation"), "checklist": N_("Checklist"),
                   "roster": N_("Roster"), "handover": N_("Handover"), "notification": N_("Notification"),
                   "case": N_("Case")}

# What of a case's timeline goes into the duty log, and its words there (the timeline's own note follows).
CASE_EVENT_LABELS: dict[str, str] = {
    "create": N_("Case opened"),
    "mediate": N_("Mediation session"),
    "confirm": N_("Judicial confirmation applied for"),
    "visit": N_("Follow-up visit recorded"),
    "visit_missed": N_("Follow-up visit missed"),
    "deadline": N_("Case deadline fired"),
    "accept": N_("Petition accepted"),
    "extend": N_("Petition deadline extended"),
    "reply": N_("Petition replied"),
    "review": N_("Petition review"),
    "close": N_("Case closed"),
}
CAMPAIGN_LABELS: dict[str, str] = {
    "campaign.create": N_("Screening campaign started"),
    "campaign.report": N_("Screening campaign: a grid reported"),
    "campaign.overdue": N_("Screening campaign: grids overdue, escalated"),
    "campaign.close": N_("Screening campaign closed"),
}


AUDIT_LABELS: dict[str, str] = {
    "roster.assign": N_("Put on the roster"),
    "roster.swap": N_("Shift swapped"),
    "roster.override": N_("Roster overridden"),
    "roster.remove": N_("Taken off the roster"),
    "roster.leave": N_("Leave recorded"),
    "roster.leave_cancel": N_("Leave withdrawn"),
    "roster.publish": N_("Roster published"),
    "roster.publish_override": N_("Roster published despite conflicts"),
    "shift.create": N_("Shift created"),
    "handover.draft": N_("Handover record drafted"),
    "handover.refresh": N_("Handover record refreshed"),
    "handover.edit": N_("Handover notes edited"),
    "handover.sign": N_("Handover signed"),
    "handover.reacknowledge": N_("Incident re-acknowledged at handover"),
    "handover.accept": N_("Handover accepted"),
    "handover.addendum": N_("Handover addendum signed"),
    "handover.addendum_auto": N_("Incident added to the handover"),
}


@dataclass(frozen=True)
class LogEntry:
    at: datetime
    category: str  # incident | escalation | checklist | roster | handover | notification | case
    incident_number: str | None  # the incident's number, or the case's for a case entry
    text: str
    who: str | None
    station: str | None

    @property
    def category_label(self) -> str:
        return _(CATEGORY_LABELS.get(self.category, self.category))


@dataclass(frozen=True)
class DutyLog:
    shift: ShiftRow
    generated_at: datetime
    entries: tuple[LogEntry, ...]
    audit_head: ChainHead | None = None  # the audit chain's end when printed: the paper anchors it


def _event_category(kind: str) -> str:
    if kind in ("escalation", "deadline"):
        return "escalation"
    if kind.startswith("checklist"):
        return "checklist"
    return "handover" if kind == "handed_over" else "incident"


def _event_text(kind: str, note: str | None, data: dict[str, Any] | None) -> str:
    parts = [event_label(kind)]
    data = data or {}
    if kind.startswith("checklist") and data.get("text"):
        parts.append(str(data["text"]))
    for key in ("into_number", "from_number", "name"):
        if data.get(key):
            parts.append(str(data[key]))
    names = [str(n) for n in (data.get("units") or []) + (data.get("people") or [])]
    if names:
        parts.append(", ".join(names))
    if note:
        parts.append(note)
    return " — ".join(parts)


def _audit_text(action: str, after: Any) -> str:
    parts = [_(AUDIT_LABELS.get(action, action))]
    if isinstance(after, dict):
        for key in ("number", "reason", "text", "override_reason"):
            if after.get(key):
                parts.append(str(after[key]))
    return " — ".join(parts)


def duty_log(db: Database, shift_id: int | None = None, *, include_drill: bool = False) -> DutyLog:
    """The shift's events in time order (``shift_id`` None: the shift running at the database time)."""
    with db.read() as s:
        now = db_now(s)
        shift = shift_or_current(s, shift_id)
        start, end = shift.starts_at, shift.ends_at
        entries: list[tuple[datetime, int, int, LogEntry]] = []
        events = select(IncidentEvent, Incident.number).join(Incident, Incident.id == IncidentEvent.incident_id) \
            .where(IncidentEvent.at >= start, IncidentEvent.at < end)
        if not include_drill:
            events = events.where(Incident.is_drill.is_(False))
        for e, number in s.execute(events):
            entries.append((e.at, 0, e.id, LogEntry(e.at, _event_category(e.kind), number,
                                                    _event_text(e.kind, e.note, e.data), e.username, e.station)))
        notes = select(Notification).where(Notification.incident_id.is_(None), Notification.at >= start,
                                           Notification.at < end)
        if not include_drill:
            notes = notes.where(Notification.is_drill.is_(False))
        for n in s.execute(notes).scalars():
            category = "escalation" if n.kind == "escalation" else "notification"
            entries.append((n.at, 1, n.id, LogEntry(n.at, category, None, n.title, None, None)))
        entries += _case_entries(s, start, end, include_drill)
        handover_id = s.execute(select(Handover.id).where(Handover.shift_id == shift_id)).scalar()
        audits = select(AuditLog).where(or_(
            and_(AuditLog.entity.in_(("roster", "shift", "handover")), AuditLog.at >= start, AuditLog.at < end),
            and_(AuditLog.entity == "handover", AuditLog.entity_id == (handover_id or -1)),
        ))
        for a in s.execute(audits).scalars():
            if a.action in ("shift.define_type",):
                continue
            category = "handover" if a.entity == "handover" else "roster"
            number = a.after.get("number") if isinstance(a.after, dict) else None
            entries.append((a.at, 2, a.id, LogEntry(a.at, category, number, _audit_text(a.action, a.after),
                                                    a.username, a.station)))
        entries.sort(key=lambda e: (e[0], e[1], e[2]))
        return DutyLog(shift, now, tuple(e[3] for e in entries), chain_head(s))


def _case_entries(s: Any, start: datetime, end: datetime,
                  include_drill: bool) -> list[tuple[datetime, int, int, LogEntry]]:
    """The casework of the shift: the cases' timelines (what ``CASE_EVENT_LABELS`` names) and the
    screening campaigns' audited changes."""
    out: list[tuple[datetime, int, int, LogEntry]] = []
    events = (select(CaseEvent, Case.number, Case.title).join(Case, Case.id == CaseEvent.case_id)
              .where(CaseEvent.at >= start, CaseEvent.at < end, CaseEvent.kind.in_(list(CASE_EVENT_LABELS))))
    if not include_drill:
        events = events.where(Case.is_drill.is_(False))
    for e, number, title in s.execute(events):
        parts = [_(CASE_EVENT_LABELS[e.kind]), str(title)] + ([e.note] if e.note else [])
        out.append((e.at, 3, e.id, LogEntry(e.at, "case", number, " — ".join(parts), e.username, e.station)))
    audits = (select(AuditLog, Campaign.title).join(Campaign, Campaign.id == AuditLog.entity_id)
              .where(AuditLog.entity == "campaign", AuditLog.action.in_(list(CAMPAIGN_LABELS)),
                     AuditLog.at >= start, AuditLog.at < end))
    if not include_drill:
        audits = audits.where(Campaign.is_drill.is_(False))
    for a, title in s.execute(audits):
        parts = [_(CAMPAIGN_LABELS[a.action]), str(title)]
        after = a.after if isinstance(a.after, dict) else {}
        if after.get("cases"):
            parts.append(", ".join(str(n) for n in after["cases"]))
        if after.get("reason"):
            parts.append(str(after["reason"]))
        out.append((a.at, 4, a.id, LogEntry(a.at, "case", None, " — ".join(parts), a.username, a.station)))
    return out
