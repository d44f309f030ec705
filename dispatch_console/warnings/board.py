"""Warnings: raising one per episode, the lifecycle (raised → seen → handled / dismissed), the reads.

:func:`raise_warning` is shared by the rules over the incidents and by the official CAP
warnings. It runs inside the caller's write transaction, under the writers' lock, and the
``episode_key`` is unique in the database: an episode already raised is found and returned
instead of raised again, so its notification goes out once however many workstations evaluate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import CapMessage, Case, EarlyWarning, Incident, User, WarningIncident
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, serialise_writers, update_versioned
from dispatch_console.kernel.errors import IllegalTransition, NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import require
from dispatch_console.notifications import service as notifications

STATES: dict[str, str] = {
    "raised": N_("Raised"),
    "seen": N_("Seen"),
    "handled": N_("Handled"),
    "dismissed": N_("Dismissed"),
}
OPEN_STATES = ("raised", "seen")
RULES: dict[str, str] = {
    "repeat_phone": N_("Repeat caller"),
    "repeat_address": N_("Repeat address"),
    "grid_surge": N_("Grid surge"),
    "category_surge": N_("Category surge"),
    "group_incident": N_("Group incident"),
    "repeat_party": N_("Repeat party (dispute and petition)"),
    "case_may_escalate": N_("Case may escalate"),
    "cap": N_("Official warning (CAP)"),
    "cap_refused": N_("Official warning file refused"),
}
CAP_STATES: dict[str, str] = {
    "active": N_("in force"),
    "updated": N_("replaced by an update"),
    "cancelled": N_("lifted (cancelled)"),
    "expired": N_("expired"),
}
NOTE_LIMIT = 2000
CASES_KEY = "case_ids"  # the cases a warning links to, in its details (the rules over the cases)


@dataclass(frozen=True)
class Raised:
    warning_id: int
    new: bool


def raise_warning(
    session: Session,
    actor: Actor,
    *,
    rule: str,
    episode_key: str,
    level: str,
    target_role: str | None,
    title: str,
    body: str | None,
    incident_ids: Iterable[int] = (),
    case_ids: Iterable[int] = (),
    unit_kind: str | None = None,
    details: dict[str, Any] | None = None,
    sensitive_period: str | None = None,
    checklist_code: str | None = None,
    cap_thread_key: str | None = None,
    notify: bool = True,
    at: datetime | None = None,
) -> Raised:
    """Raise the episode's warning once (and notify ``target_role``), or link to the one raised."""
    serialise_writers(session)
    now = at or db_now(session)
    found = session.execute(select(EarlyWarning.id).where(EarlyWarning.episode_key == episode_key)).scalar()
    cases = list(dict.fromkeys(case_ids))
    if found is not None:
        link_cases(session, found, cases, incident_ids)
        return Raised(int(found), False)
    if cases:
        details = {**(details or {}), CASES_KEY: cases}
    ids = list(dict.fromkeys(incident_ids))
    # the notification first, so the warning's row is written once with it (not updated after)
    row = notifications.notify(
        session, kind="warning", title=title[:300], body=body, level=level, target_role=target_role,
        incident_id=ids[0] if ids else None, actor=actor, at=now) if notify else None
    warning = EarlyWarning(
        rule=rule, episode_key=episode_key[:600], level=level, target_role=target_role, unit_kind=unit_kind,
        title=title[:300], body=body, details=details, sensitive_period=sensitive_period,
        checklist_code=checklist_code, cap_thread_key=cap_thread_key, state="raised", raised_at=now,
        raised_by=actor.station, version=1, notification_id=row.id if row is not None else None,
    )
    session.add(warning)
    session.flush()
    # a new warning links nothing yet: no need to ask which of these it has
    session.add_all([WarningIncident(warning_id=warning.id, incident_id=i) for i in ids])
    record(session, actor, entity="warning", entity_id=warning.id, op="create", action="warning.raise",
           after={"rule": rule, "episode_key": episode_key, "level": level, "target_role": target_role,
                  "title": warning.title, "incidents": ids, "cases": cases,
                  "sensitive_period": sensitive_period}, at=now)
    return Raised(warning.id, True)


def link_cases(session: Session, warning_id: int, case_ids: Iterable[int], incident_ids: Iterable[int] = ()) -> None:
    """Join cases (and incidents) to a warning raised already: kept in its details, in the order they came."""
    link_incidents(session, warning_id, incident_ids)
    new = list(dict.fromkeys(case_ids))
    if not new:
        return
    warning = session.get(EarlyWarning, warning_id)
    if warning is None:
        return
    have = list((warning.details or {}).get(CASES_KEY, []))
    merged = have + [c for c in new if c not in have]
    if merged != have:
        warning.details = {**(warning.details or {}), CASES_KEY: merged}  # a new dict: JSON columns see reassignment
        session.flush()


def link_incidents(session: Session, warning_id: int, incident_ids: Iterable[int]) -> None:
    ids = set(incident_ids)
    if not ids:
        return
    if len(ids) == 1:  # the usual join (a report joining its episode): asked and written in one statement
        incident_id = next(iter(ids))
        linked = select(WarningIncident.incident_id).where(WarningIncident.warning_id == warning_id,
                                                           WarningIncident.incident_id == incident_id)
        session.execute(insert(WarningIncident).from_select(
            ["warning_id", "incident_id"],
            select(literal(warning_id), literal(incident_id)).where(~linked.exists())))
        return
    have = set(session.execute(select(WarningIncident.incident_id).where(
        WarningIncident.warning_id == warning_id, WarningIncident.incident_id.in_(ids))).scalars())
    for incident_id in sorted(ids - have):
        session.add(WarningIncident(warning_id=warning_id, incident_id=incident_id))
    session.flush()


# ---------------------------------------------------------------------------------------------
# Reads.


@dataclass(frozen=True)
class CapSummary:
    identifier: str
    sender: str
    sent: datetime
    msg_type: str
    event: str | None
    headline: str | None
    colour: str | None
    areas: tuple[str, ...]
    covers_street: bool
    state: str  # active | updated | cancelled | expired
    expires: datetime | None
    messages: int

    @property
    def state_label(self) -> str:
        return _(CAP_STATES[self.state])


@dataclass(frozen=True)
class WarningRow:
    id: int
    rule: str
    rule_label: str
    level: str
    state: str
    state_label: str
    title: str
    body: str | None
    target_role: str | None
    unit_kind: str | None
    sensitive_period: str | None
    checklist_code: str | None
    raised_at: datetime
    raised_by: str | None
    seen_at: datetime | None
    seen_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    note: str | None
    incident_ids: tuple[int, ...]
    incident_numbers: tuple[str, ...]
    case_ids: tuple[int, ...]
    case_numbers: tuple[str, ...]
    response_incident_id: int | None
    cap: CapSummary | None
    details: dict[str, Any] | None
    version: int

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def cap_state(message: CapMessage, now: datetime) -> str:
    if message.state == "active" and message.expires is not None and message.expires <= now:
        return "expired"
    return message.state


def cap_summaries(session: Session, thread_keys: Iterable[str], now: datetime) -> dict[str, CapSummary]:
    """Per CAP thread: its latest message (the one in force), with how many messages it has."""
    keys = list(set(thread_keys))
    if not keys:
        return {}
    out: dict[str, CapSummary] = {}
    counts: dict[str, int] = {}
    for m in session.execute(select(CapMessage).where(CapMessage.thread_key.in_(keys))
                             .order_by(CapMessage.sent, CapMessage.id)).scalars():
        counts[m.thread_key] = counts.get(m.thread_key, 0) + 1
        out[m.thread_key] = summary_of(m, now, counts[m.thread_key])
    return out


def summary_of(m: CapMessage, now: datetime, messages: int = 1) -> CapSummary:
    names = tuple(m.covered_areas or ()) or tuple(a.get("description", "") for a in (m.areas or []))
    return CapSummary(m.identifier, m.sender, m.sent, m.msg_type, m.event, m.headline, m.colour, names,
                      m.covers_street, cap_state(m, now), m.expires, messages)


def _rows(session: Session, warnings: list[EarlyWarning]) -> list[WarningRow]:
    now = db_now(session)
    ids = [w.id for w in warnings]
    links: dict[int, list[tuple[int, str]]] = {}
    if ids:
        for wid, iid, number in session.execute(
                select(WarningIncident.warning_id, Incident.id, Incident.number)
                .join(Incident, Incident.id == WarningIncident.incident_id)
                .where(WarningIncident.warning_id.in_(ids)).order_by(Incident.created_at, Incident.id)):
            links.setdefault(wid, []).append((iid, number))
    users = {w for x in warnings for w in (x.seen_by, x.closed_by) if w is not None}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(users))).all()) \
        if users else {}
    caps = cap_summaries(session, (w.cap_thread_key for w in warnings if w.cap_thread_key), now)
    case_links = {w.id: [int(c) for c in (w.details or {}).get(CASES_KEY, [])] for w in warnings}
    wanted = {c for cs in case_links.values() for c in cs}
    case_number = {int(i): str(n) for i, n in session.execute(
        select(Case.id, Case.number).where(Case.id.in_(wanted)))} if wanted else {}
    return [WarningRow(
        id=w.id, rule=w.rule, rule_label=_(RULES.get(w.rule, w.rule)), level=w.level, state=w.state,
        state_label=_(STATES[w.state]), title=w.title, body=w.body, target_role=w.target_role,
        unit_kind=w.unit_kind, sensitive_period=w.sensitive_period, checklist_code=w.checklist_code,
        raised_at=w.raised_at, raised_by=w.raised_by, seen_at=w.seen_at,
        seen_by=names.get(w.seen_by) if w.seen_by is not None else None,
        closed_at=w.closed_at, closed_by=names.get(w.closed_by) if w.closed_by is not None else None, note=w.note,
        incident_ids=tuple(i for i, _n in links.get(w.id, [])),
        incident_numbers=tuple(n for _i, n in links.get(w.id, [])),
        case_ids=tuple(c for c in case_links[w.id] if c in case_number),
        case_numbers=tuple(case_number[c] for c in case_links[w.id] if c in case_number),
        response_incident_id=w.response_incident_id,
        cap=caps.get(w.cap_thread_key) if w.cap_thread_key else None, details=w.details, version=w.version,
    ) for w in warnings]


def list_warnings(db: Database, *, open_only: bool = False, limit: int = 500) -> list[WarningRow]:
    """Newest first; ``open_only``: raised or seen, not yet handled or dismissed."""
    with db.read() as s:
        q = select(EarlyWarning).order_by(EarlyWarning.raised_at.desc(), EarlyWarning.id.desc()).limit(limit)
        if open_only:
            q = q.where(EarlyWarning.state.in_(OPEN_STATES))
        return _rows(s, list(s.execute(q).scalars()))


def get_warning(db: Database, warning_id: int) -> WarningRow:
    with db.read() as s:
        w = s.get(EarlyWarning, warning_id)
        if w is None:
            raise NotFound(_("Warning {id} does not exist.").format(id=warning_id))
        return _rows(s, [w])[0]


def count_open(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(EarlyWarning)
                             .where(EarlyWarning.state.in_(OPEN_STATES))).scalar_one())


def cap_messages(db: Database, limit: int = 500) -> list[CapSummary]:
    """Every CAP message thread (covering the street or not), the newest first."""
    with db.read() as s:
        now = db_now(s)
        keys = list(s.execute(select(CapMessage.thread_key).group_by(CapMessage.thread_key)
                              .order_by(func.max(CapMessage.sent).desc()).limit(limit)).scalars())
        found = cap_summaries(s, keys, now)
        return [found[k] for k in keys if k in found]


# ---------------------------------------------------------------------------------------------
# The lifecycle.


def _clean(note: str | None, *, required: bool) -> str | None:
    text = (note or "").strip()
    if required and not text:
        raise ValidationError(_("Say what was done (or why it is dismissed) in a note."), "note")
    if len(text) > NOTE_LIMIT:
        raise ValidationError(_("The note is longer than {n} characters.").format(n=NOTE_LIMIT), "note")
    return text or None


def _change(db: Database, actor: Actor, warning_id: int, seen_version: int | None, to_state: str,
            note: str | None) -> WarningRow:
    require(actor, "warning.handle")
    with db.write() as s:
        w = s.get(EarlyWarning, warning_id)
        if w is None:
            raise NotFound(_("Warning {id} does not exist.").format(id=warning_id))
        before = {"state": w.state, "note": w.note}
        if to_state == "seen":
            if w.state != "raised":
                return _rows(s, [w])[0]  # seen already (or closed): nothing to do, nobody told twice
        elif w.state not in OPEN_STATES:
            raise IllegalTransition(_("Warning {id} is already {state}.").format(
                id=warning_id, state=_(STATES[w.state])))
        now = db_now(s)
        values: dict[str, Any] = {"state": to_state}
        if to_state == "seen":
            values.update(seen_at=now, seen_by=actor.user_id)
        else:
            values.update(closed_at=now, closed_by=actor.user_id, note=note)
            if w.seen_at is None:
                values.update(seen_at=now, seen_by=actor.user_id)
        update_versioned(s, EarlyWarning, warning_id, w.version if seen_version is None else seen_version,
                         values, entity="warning")
        record(s, actor, entity="warning", entity_id=warning_id, op="update", action=f"warning.{to_state}",
               before=before, after={"state": to_state, "note": note}, at=now)
        w = s.get(EarlyWarning, warning_id)
        assert w is not None
        return _rows(s, [w])[0]


def mark_seen(db: Database, actor: Actor, warning_id: int) -> WarningRow:
    return _change(db, actor, warning_id, None, "seen", None)


def handle(db: Database, actor: Actor, warning_id: int, note: str, seen_version: int | None = None) -> WarningRow:
    """Handled, with a note of what was done (required)."""
    return _change(db, actor, warning_id, seen_version, "handled", _clean(note, required=True))


def dismiss(db: Database, actor: Actor, warning_id: int, reason: str, seen_version: int | None = None
            ) -> WarningRow:
    """Dismissed, with the reason (required): a false alarm, a known situation …"""
    return _change(db, actor, warning_id, seen_version, "dismissed", _clean(reason, required=True))
