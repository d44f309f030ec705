"""Screening campaigns (矛盾纠纷排查): a shift leader asks grids to screen for disputes by a due time.

A campaign covers all grids or some; each grid's 网格员 reports once: 无新增 (nothing new) or the
disputes found, each of which opens a case through :func:`service.open_in` in the same write (all
or nothing) and is linked to the campaign. One timer (``campaign_due``) fires at the due time in
its claim transaction and escalates every grid still pending, exactly once. A leader closes a
campaign (:func:`close`): at once when every grid has reported, with a reason when some have not;
a closed campaign takes no more reports and escalates nothing (its timer is cancelled, and a
timer already claimed finds it closed). Every write takes the writers' lock, checks the
campaign's version when the caller gives one, and records the change (entity ``campaign``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Campaign, CampaignCase, CampaignGrid, Case, Timer
from dispatch_console.cases import policy
from dispatch_console.cases.records import grid_visitor
from dispatch_console.cases.service import MAX_TITLE, CaseDraft, find_grid, open_in
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import changed_by, last_change_by, record, row_dict, serialise_writers
from dispatch_console.kernel.errors import IllegalTransition, NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.notifications import service as notifications
from dispatch_console.timers import engine as timers

CAMPAIGN_DUE_KIND = "campaign_due"
REASONS: dict[str, str] = {"monthly": N_("Monthly screening"), "sensitive_date": N_("Before a sensitive date"),
                           "other": N_("Other")}
GRID_STATES: dict[str, str] = {"pending": N_("Not reported"), "nothing_new": N_("Nothing new (无新增)"),
                               "found": N_("Disputes found")}
MAX_FOUND = 50
MAX_NOTE = 20_000
MAX_CLOSE_REASON = 2000


@dataclass(frozen=True)
class CampaignDraft:
    title: str
    due_at: datetime
    grids: tuple[str, ...] = ()     # codes or names; empty: every grid
    reason: str = "monthly"
    note: str | None = None
    is_drill: bool = False


@dataclass(frozen=True)
class GridLine:
    grid_id: int
    code: str
    name: str
    state: str
    reporter: str | None
    reported_at: datetime | None
    overdue: bool          # still pending after the due time
    late: bool             # reported, but after the due time
    escalated_at: datetime | None
    cases: tuple[str, ...]  # the numbers of the cases its report opened


@dataclass(frozen=True)
class CampaignRow:
    id: int
    title: str
    reason: str
    due_at: datetime
    created_at: datetime
    grids: int
    reported: int
    overdue: int
    found: int
    version: int
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None

    @property
    def complete(self) -> bool:
        return self.reported == self.grids

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class CampaignDetail:
    row: CampaignRow
    note: str | None
    lines: tuple[GridLine, ...]


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError(_("{field} is needed.").format(field=name), name)
        return None
    if len(text) > limit:
        raise ValidationError(_("{field} is longer than {n} characters.").format(field=name, n=limit), name)
    return text


def _load(s: Session, campaign_id: int, seen_version: int | None) -> Campaign:
    serialise_writers(s)
    campaign = s.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(_("No campaign with id {id}.").format(id=campaign_id))
    if seen_version is not None and campaign.version != seen_version:
        raise changed_by(*last_change_by(s, "campaign", campaign_id))
    return campaign


def _changed(s: Session, actor: Actor, campaign: Campaign, op: str, now: datetime, after: dict[str, object]) -> None:
    campaign.version = (campaign.version or 0) + 1
    campaign.updated_at = now
    s.flush()
    record(s, actor, entity="campaign", entity_id=campaign.id, op=op, action=f"campaign.{op}", after=after, at=now)


def start(db: Database, actor: Actor, draft: CampaignDraft) -> int:
    """Start a campaign over the draft's grids (all grids if none given); returns its id."""
    require(actor, "case.campaign_start")
    title = _text(draft.title, "title", MAX_TITLE, required=True)
    note = _text(draft.note, "note", MAX_NOTE)
    if draft.reason not in REASONS:
        raise ValidationError(_("Reason {reason} is not one of {choices}.").format(
            reason=draft.reason, choices=", ".join(REASONS)), "reason")
    if draft.due_at.tzinfo is None or not 2000 <= draft.due_at.year <= 2100:
        raise ValidationError(_("The due date must be a date in 2000–2100 with its time zone."), "due")
    with db.write() as s:
        serialise_writers(s)
        now = db_now(s)
        if draft.due_at <= now:
            raise ValidationError(_("The due time {due} has passed already.").format(due=fmt_local(draft.due_at)),
                                  "due")
        if draft.grids:
            grid_ids = list(dict.fromkeys(find_grid(s, g) for g in draft.grids))
        else:
            grid_ids = [int(x) for x in s.execute(select(Area.id).where(Area.level == "grid").order_by(Area.code))
                        .scalars()]
        if not grid_ids:
            raise ValidationError(_("There are no grids to screen."), "grid")
        campaign = Campaign(title=title, reason=draft.reason, note=note, due_at=draft.due_at, is_drill=draft.is_drill,
                            created_by=actor.user_id, created_at=now, version=0)
        s.add(campaign)
        s.flush()
        for grid_id in grid_ids:
            s.add(CampaignGrid(campaign_id=campaign.id, grid_id=grid_id, state="pending"))
        timers.schedule(s, kind=CAMPAIGN_DUE_KIND, due_at=draft.due_at, target_role=policy.cases().missed_visit_role,
                        is_drill=draft.is_drill, actor=actor, payload={"campaign_id": campaign.id})
        _changed(s, actor, campaign, "create", now, {**row_dict(campaign), "grids": grid_ids})
        return int(campaign.id)


def report(db: Database, actor: Actor, campaign_id: int, grid: str, *, found: tuple[str, ...] = (),
           nothing_new: bool = False, reporter: str | None = None, note: str | None = None,
           seen_version: int | None = None) -> tuple[str, ...]:
    """A grid's report: 无新增, or the disputes found (each opens a case). Returns the case numbers."""
    require(actor, "case.campaign_report")
    if nothing_new == bool(found):
        raise ValidationError(_("Report either nothing new or the disputes found, not both or neither."), "found")
    if len(found) > MAX_FOUND:
        raise ValidationError(_("At most {n} disputes in one report.").format(n=MAX_FOUND), "found")
    titles = [_text(t, _("dispute {n}").format(n=i), MAX_TITLE, required=True) or ""
              for i, t in enumerate(found, start=1)]
    who = _text(reporter, "reporter", 100)
    text = _text(note, "note", MAX_NOTE)
    with db.write() as s:
        campaign = _load(s, campaign_id, seen_version)
        now = db_now(s)
        grid_id = find_grid(s, grid)
        line = s.execute(select(CampaignGrid).where(CampaignGrid.campaign_id == campaign.id,
                                                    CampaignGrid.grid_id == grid_id)).scalar()
        if line is None:
            raise ValidationError(_("Grid {grid} is not part of this campaign.").format(grid=grid), "grid")
        if campaign.closed_at is not None:
            raise IllegalTransition(_("Campaign {title} was closed at {at}: it takes no more reports.").format(
                title=campaign.title, at=fmt_local(campaign.closed_at)))
        if line.state != "pending":
            raise IllegalTransition(_("Grid {grid} reported already at {at} ({who}).").format(
                grid=grid, at=fmt_local(line.reported_at) if line.reported_at else "?", who=line.reporter or "?"))
        numbers: list[str] = []
        for title in titles:
            case = open_in(s, actor, CaseDraft(kind="dispute", title=title, grid_id=grid_id,
                                                is_drill=campaign.is_drill,
                                                description=_("Found in screening campaign: {title}").format(
                                                    title=campaign.title)), opened_by="direct")
            s.add(CampaignCase(campaign_id=campaign.id, grid_id=grid_id, case_id=case.id))
            numbers.append(case.number)
        line.state = "found" if titles else "nothing_new"
        line.reporter = who or grid_visitor(s, grid_id)[1] or actor.username
        line.reported_at, line.reported_by, line.note = now, actor.user_id, text
        _changed(s, actor, campaign, "report", now, {"grid_id": grid_id, "state": line.state, "cases": numbers,
                                                     "late": now > campaign.due_at})
        return tuple(numbers)


def close(db: Database, actor: Actor, campaign_id: int, *, reason: str | None = None,
          seen_version: int | None = None) -> CampaignRow:
    """A leader closes the campaign: every grid reported, or ``reason`` says why not. Its pending
    due-time timer is cancelled in the same write, so a closed campaign escalates nothing more."""
    require(actor, "case.campaign_close")
    why = _text(reason, "reason", MAX_CLOSE_REASON)
    with db.write() as s:
        campaign = _load(s, campaign_id, seen_version)
        now = db_now(s)
        if campaign.closed_at is not None:
            raise IllegalTransition(_("Campaign {title} was closed already at {at} ({who}).").format(
                title=campaign.title, at=fmt_local(campaign.closed_at), who=campaign.closed_by_name or "?"))
        pending = list(s.execute(select(Area.name).join(CampaignGrid, CampaignGrid.grid_id == Area.id)
                                 .where(CampaignGrid.campaign_id == campaign.id, CampaignGrid.state == "pending")
                                 .order_by(Area.code)).scalars())
        if pending and why is None:
            raise ValidationError(_("{n} grids have not reported ({grids}): give a reason to close the campaign "
                                    "without them.").format(n=len(pending), grids="、".join(pending[:10])), "reason")
        campaign.closed_at, campaign.closed_by = now, actor.user_id
        campaign.closed_by_name = actor.label[:100]
        campaign.close_reason = why
        cancelled = _cancel_due_timer(s, actor, campaign.id, now)
        _changed(s, actor, campaign, "close", now, {"closed_at": now, "reason": why, "not_reported": len(pending),
                                                    "timer_cancelled": cancelled})
        found = _rows(s, [campaign.id], now)
        return found[0][0]


def _cancel_due_timer(s: Session, actor: Actor, campaign_id: int, now: datetime) -> int:
    """Cancel the campaign's pending ``campaign_due`` timer (found by its payload); returns how many."""
    pending = s.execute(select(Timer).where(Timer.kind == CAMPAIGN_DUE_KIND, Timer.fired_at.is_(None),
                                            Timer.cancelled_at.is_(None))).scalars()
    n = 0
    for timer in pending:
        if (timer.payload or {}).get("campaign_id") != campaign_id:
            continue
        timer.cancelled_at, timer.cancel_reason = now, "campaign closed"
        s.flush()
        record(s, actor, entity="timer", entity_id=timer.id, op="cancel", action="timer.cancel",
               after={"reason": "campaign closed"}, at=now)
        n += 1
    return n


def on_campaign_due(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """The due time passed: every grid still pending is escalated (once; the timer fires once)."""
    campaign_id = (timer.payload or {}).get("campaign_id")
    campaign = session.get(Campaign, campaign_id) if isinstance(campaign_id, int) else None
    if campaign is None:
        timers.set_outcome(timer, _("No longer needed."))
        return
    if campaign.closed_at is not None:  # closed while this timer was being claimed
        timers.set_outcome(timer, _("The campaign was closed."))
        return
    rows = session.execute(select(CampaignGrid, Area.name).join(Area, Area.id == CampaignGrid.grid_id)
                           .where(CampaignGrid.campaign_id == campaign.id, CampaignGrid.state == "pending",
                                  CampaignGrid.escalated_at.is_(None)).order_by(Area.code)).all()
    if not rows:
        timers.set_outcome(timer, _("Every grid had reported."))
        return
    system = Actor.system(fired_by)
    names = [str(name) for _line, name in rows]
    for line, _name in rows:
        line.escalated_at = now
    notifications.notify(session, kind="campaign_overdue", level="warning",
                         target_role=timer.target_role or "shift_leader", timer_id=timer.id,
                         is_drill=campaign.is_drill, actor=system, at=now,
                         title=_("Screening overdue: {title}").format(title=campaign.title),
                         body=_("{n} grids have not reported by {due}: {grids}.").format(
                             n=len(names), due=fmt_local(campaign.due_at), grids="、".join(names)))
    _changed(session, system, campaign, "overdue", now, {"grids": [int(line.grid_id) for line, _n in rows]})


# ---------------------------------------------------------------------------------------------
# Reading.


_Read = tuple[CampaignRow, list[GridLine], str | None]


def _rows(s: Session, campaign_ids: list[int] | None, now: datetime) -> list[_Read]:
    q = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if campaign_ids is not None:
        q = q.where(Campaign.id.in_(campaign_ids))
    campaigns = list(s.execute(q.limit(500)).scalars())
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    lines = s.execute(select(CampaignGrid, Area.code, Area.name).join(Area, Area.id == CampaignGrid.grid_id)
                      .where(CampaignGrid.campaign_id.in_(ids)).order_by(Area.code)).all()
    found = s.execute(select(CampaignCase.campaign_id, CampaignCase.grid_id, Case.number)
                      .join(Case, Case.id == CampaignCase.case_id).where(CampaignCase.campaign_id.in_(ids))
                      .order_by(Case.number)).all()
    cases: dict[tuple[int, int], list[str]] = {}
    for f in found:
        cases.setdefault((int(f.campaign_id), int(f.grid_id)), []).append(str(f.number))
    due = {c.id: c.due_at for c in campaigns}
    closed = {c.id: c.closed_at for c in campaigns}
    by: dict[int, list[GridLine]] = {c.id: [] for c in campaigns}
    for line, code, name in lines:
        d = due[line.campaign_id]
        by[line.campaign_id].append(GridLine(
            grid_id=line.grid_id, code=str(code or ""), name=str(name), state=line.state, reporter=line.reporter,
            reported_at=line.reported_at,
            overdue=line.state == "pending" and now > d and closed.get(line.campaign_id) is None,
            late=line.reported_at is not None and line.reported_at > d, escalated_at=line.escalated_at,
            cases=tuple(cases.get((line.campaign_id, line.grid_id), ()))))
    out = []
    for c in campaigns:
        ls = by[c.id]
        out.append((CampaignRow(id=c.id, title=c.title, reason=c.reason, due_at=c.due_at, created_at=c.created_at,
                                grids=len(ls), reported=sum(x.state != "pending" for x in ls),
                                overdue=sum(x.overdue for x in ls), found=sum(len(x.cases) for x in ls),
                                version=c.version, closed_at=c.closed_at, closed_by=c.closed_by_name,
                                close_reason=c.close_reason), ls, c.note))
    return out


def list_campaigns(db: Database) -> list[CampaignRow]:
    """The campaigns, newest first (at most 500), each with its grids' counts."""
    with db.read() as s:
        return [row for row, _lines, _note in _rows(s, None, db_now(s))]


def get_campaign(db: Database, campaign_id: int) -> CampaignDetail:
    with db.read() as s:
        found = _rows(s, [campaign_id], db_now(s))
    if not found:
        raise NotFound(_("No campaign with id {id}.").format(id=campaign_id))
    row, lines, note = found[0]
    return CampaignDetail(row=row, note=note, lines=tuple(lines))
