"""``dispatch-console cases list | show | open | accept | extend | reply | review | mediate | visit |
confirm | close | export``: disputes and petitions from the command line.

The room's service modules are imported inside the handlers, so ``dispatch-console --help`` does
not load them. The write commands act on the case as it is now (its current version), like the
incident commands; a refusal is one line with the reason and exit code 1.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from dispatch_console.cli import EXIT_OK, CliContext, Commands, UsageError
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from dispatch_console.cases import CaseDetail, CaseRow


def register(commands: Commands) -> None:
    commands.group("cases", _("disputes and petitions: cases, mediation, follow-up visits, deadlines"))
    p = commands.add_sub("cases", "list", cmd_list, _("list open cases, newest first"))
    p.add_argument("--kind", choices=("dispute", "petition"), default=None, help=_("only this kind"))
    p.add_argument("--overdue", action="store_true", help=_("only cases with a deadline or visit overdue"))
    p.add_argument("--all", action="store_true", help=_("closed cases too"))
    p.add_argument("--limit", type=int, default=500, help=_("at most this many (default 500)"))
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    p = commands.add_sub("cases", "show", cmd_show, _("one case with its parties, sessions, visits and deadlines"))
    p.add_argument("number")
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    p = commands.add_sub("cases", "open", cmd_open, _("open a case directly or from incidents"))
    p.add_argument("--kind", choices=("dispute", "petition"), required=True)
    p.add_argument("--incident", action="append", default=[], metavar="NUMBER",
                   help=_("a linked incident (repeatable)"))
    p.add_argument("--title", default=None, help=_("a short title (default: the incident's description)"))
    p.add_argument("--description", default=None)
    p.add_argument("--subtype", default=None, help=_("sub-type code (policies/cases.toml)"))
    p.add_argument("--grid", default=None, help=_("grid code or name"))
    p.add_argument("--risk", choices=("low", "medium", "high"), default="low")
    p.add_argument("--may-escalate", action="store_true", help=_("flag as likely to escalate (notifies the 维稳 lead)"))
    p.add_argument("--unit", default=None, help=_("responsible unit's code"))
    p.add_argument("--person", default=None, help=_("responsible person"))
    p.add_argument("--party", action="append", default=[], metavar="ROLE:NAME[:PHONE[:ID]]",
                   help=_("a party, e.g. applicant:张三:13800138000:440305199001011234 (repeatable)"))
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    p = commands.add_sub("cases", "accept", cmd_accept, _("accept a registered petition (or refuse it)"))
    p.add_argument("number")
    p.add_argument("--refuse", action="store_true", help=_("not accepted (needs --note with the reason)"))
    p.add_argument("--note", default=None)
    p = commands.add_sub("cases", "extend", cmd_extend, _("extend a petition's conclusion deadline once"))
    p.add_argument("number")
    p.add_argument("--days", type=int, required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--approver", required=True)
    p = commands.add_sub("cases", "reply", cmd_reply, _("reply to a petition (or conclude its review)"))
    p.add_argument("number")
    p.add_argument("--text", required=True)
    p = commands.add_sub("cases", "review", cmd_review, _("the petitioner asks for a review or re-review"))
    p.add_argument("number")
    p.add_argument("--note", default=None)
    p = commands.add_sub("cases", "mediate", cmd_mediate, _("record a mediation session and its outcome"))
    p.add_argument("number")
    p.add_argument("--mediator", required=True)
    p.add_argument("--org", choices=("judicial_office", "people_committee", "community"), default="people_committee")
    p.add_argument("--place", default=None)
    p.add_argument("--attendees", default=None)
    p.add_argument("--summary", default=None)
    p.add_argument("--outcome", choices=("mediated", "failed"), default=None)
    p.add_argument("--agreement", default=None, help=_("the agreement's text (mediated)"))
    p.add_argument("--term", action="append", default=[], metavar="TEXT[@YYYY-MM-DD]",
                   help=_("a term of the agreement with its due date (repeatable)"))
    p.add_argument("--referral", choices=("litigation", "arbitration", "petition", "administrative"), default=None)
    p = commands.add_sub("cases", "visit", cmd_visit, _("record the next follow-up visit due"))
    p.add_argument("number")
    p.add_argument("--result", choices=("performing", "performed", "not_performed", "relapsed"), required=True)
    p.add_argument("--satisfaction", choices=("satisfied", "basically", "dissatisfied"), default=None)
    p.add_argument("--note", default=None)
    p = commands.add_sub("cases", "confirm", cmd_confirm, _("record the judicial confirmation of an agreement"))
    p.add_argument("number")
    p = commands.add_sub("cases", "close", cmd_close, _("close a case (follow-up visits fall due)"))
    p.add_argument("number")
    p.add_argument("--note", default=None)
    p = commands.add_sub("cases", "export", cmd_export, _("the month's dispute ledger as a spreadsheet"))
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.add_argument("file")
    commands.group("campaign", _("dispute screening campaigns (矛盾纠纷排查) over the grids"), within="cases")
    p = commands.add_sub("cases campaign", "start", cmd_campaign_start, _("start a screening campaign"))
    p.add_argument("--title", required=True)
    p.add_argument("--due", required=True, metavar="YYYY-MM-DD", help=_("the grids report by the end of this day"))
    p.add_argument("--grid", action="append", default=[], metavar="GRID",
                   help=_("a grid's code or name (repeatable; default every grid)"))
    p.add_argument("--reason", choices=("monthly", "sensitive_date", "other"), default="monthly")
    p.add_argument("--note", default=None)
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    p = commands.add_sub("cases campaign", "list", cmd_campaign_list, _("the campaigns, newest first"))
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    p = commands.add_sub("cases campaign", "show", cmd_campaign_show,
                         _("one campaign: which grids reported, which are overdue"))
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    p = commands.add_sub("cases campaign", "report", cmd_campaign_report,
                         _("a grid's report: nothing new, or the disputes found (each opens a case)"))
    p.add_argument("id", type=int)
    p.add_argument("--grid", required=True, metavar="GRID", help=_("the grid's code or name"))
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--nothing-new", action="store_true", help=_("无新增: no new dispute found"))
    what.add_argument("--found", action="append", default=[], metavar="TITLE",
                      help=_("a dispute found, by its title (repeatable)"))
    p.add_argument("--reporter", default=None, help=_("the 网格员 who reported (default the grid's staff)"))
    p.add_argument("--note", default=None)
    p = commands.add_sub("cases campaign", "close", cmd_campaign_close,
                         _("close a campaign (a reason is needed when grids have not reported)"))
    p.add_argument("id", type=int)
    p.add_argument("--reason", default=None, help=_("why it closes with grids not reported"))
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))


def _json(value: Any) -> None:
    from dispatch_console.kernel.changes import to_jsonable

    print(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def row_json(row: CaseRow) -> dict[str, Any]:
    from dispatch_console import cases
    from dispatch_console.cases import KIND_LABELS, RISK_LABELS, STATUS_LABELS, label

    return {"number": row.number, "kind": row.kind, "kind_label": label(KIND_LABELS, row.kind),
            "subtype": row.subtype, "subtype_label": cases.case_policy().subtype_label(row.subtype), "title": row.title,
            "status": row.status, "status_label": label(STATUS_LABELS, row.status), "grid": row.grid_name,
            "risk": row.risk, "risk_label": label(RISK_LABELS, row.risk), "may_escalate": row.may_escalate,
            "unit": row.unit_name, "responsible_person": row.responsible_person, "created_at": row.created_at,
            "step_due_at": row.step_due_at, "next_visit_at": row.next_visit_at, "next_due_at": row.next_due_at,
            "overdue": row.overdue, "reopen_count": row.reopen_count, "version": row.version}


def detail_json(d: CaseDetail) -> dict[str, Any]:
    return {
        **row_json(d.row), "description": d.description, "opened_by": d.opened_by, "outcome": d.outcome,
        "referral": d.referral,
        "agreement": None if d.agreement_at is None else {
            "text": d.agreement_text, "at": d.agreement_at, "judicial_confirmed_at": d.judicial_confirmed_at,
            "terms": [{"text": t.text, "due_at": t.due_at} for t in d.terms]},
        "petition": None if d.row.kind != "petition" else {
            "registered_at": d.registered_at, "accepted_at": d.accepted_at, "replied_at": d.replied_at,
            "reply": d.reply_text, "extension_days": d.extension_days, "extension_reason": d.extension_reason,
            "extension_approver": d.extension_approver},
        "closed_at": d.closed_at, "close_note": d.close_note,
        "parties": [{"id": p.id, "role": p.role, "name": p.name, "phone": p.phone, "id_number": p.id_number,
                     "repeat_cases": list(p.repeat_cases)} for p in d.parties],
        "incidents": [{"number": i.number, "category": i.category, "status": i.status} for i in d.incidents],
        "sessions": [{"held_at": x.held_at, "place": x.place, "mediator": x.mediator, "org": x.mediator_org,
                      "attendees": x.attendees, "summary": x.summary} for x in d.sessions],
        "follow_ups": [{"due_at": v.due_at, "days": v.days, "state": v.state, "assignee": v.assignee,
                        "missed": v.missed, "visited_at": v.visited_at, "result": v.result,
                        "satisfaction": v.satisfaction, "note": v.note} for v in d.visits],
        "deadlines": [{"kind": t.kind, "label": t.label, "due_at": t.due_at, "state": t.state,
                       "fired_at": t.fired_at} for t in d.deadlines],
        "timeline": [{"at": e.at, "kind": e.kind, "who": e.who, "note": e.note} for e in d.timeline],
    }


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console.cases import KIND_LABELS, STATUS_LABELS, CaseQuery, label, list_cases
    from dispatch_console.kernel.timefmt import fmt_local

    limit = ctx.args.limit
    if not 1 <= limit <= 5000:
        raise UsageError(_("--limit is 1 to 5000."))
    rows = list_cases(ctx.database(), CaseQuery(kind=ctx.args.kind, overdue=ctx.args.overdue,
                                                open_only=not ctx.args.all, limit=limit))
    if ctx.args.json:
        _json([row_json(r) for r in rows])
        return EXIT_OK
    for r in rows:
        due = fmt_local(r.next_due_at) if r.next_due_at else "—"
        print(f"{r.number:20} {label(KIND_LABELS, r.kind):6} {label(STATUS_LABELS, r.status):10} "
              f"{'!' if r.overdue else ' '}{due:17} {r.grid_name or '':14} {r.title}")
    return EXIT_OK


def _case_id(ctx: CliContext, number: str) -> int:
    from dispatch_console.cases import find_case

    return find_case(ctx.database(), number)


def cmd_show(ctx: CliContext) -> int:
    from dispatch_console.cases import (
        KIND_LABELS,
        PARTY_ROLES,
        STATUS_LABELS,
        TIMER_STATES,
        VISIT_RESULTS,
        VISIT_STATES,
        get_case,
        label,
    )
    from dispatch_console.kernel.timefmt import fmt_local

    d = get_case(ctx.database(), _case_id(ctx, ctx.args.number))
    if ctx.args.json:
        _json(detail_json(d))
        return EXIT_OK
    r = d.row
    print(f"{r.number}  {label(KIND_LABELS, r.kind)}  {label(STATUS_LABELS, r.status)}  {r.title}")
    for p in d.parties:
        again = _("  also in {cases}").format(cases=", ".join(p.repeat_cases)) if p.repeat_cases else ""
        print(f"  {label(PARTY_ROLES, p.role)}: {p.name} {p.phone or ''} {p.id_number or ''}{again}")
    for v in d.visits:
        print(_("  follow-up {days} d due {due}: {state}").format(
            days=v.days, due=fmt_local(v.due_at),
            state=label(VISIT_RESULTS, v.result) if v.result else label(VISIT_STATES, v.state)))
    for t in d.deadlines:
        print(f"  {t.label}: {fmt_local(t.due_at)} ({label(TIMER_STATES, t.state)})")
    for e in d.timeline:
        print(f"  {fmt_local(e.at)} {e.who or ''}: {e.note or ''}")
    return EXIT_OK


_PARTY = re.compile(r"^(applicant|respondent|other):([^:]+)(?::([^:]*))?(?::([^:]*))?$")


def _parties(values: list[str]) -> tuple[Any, ...]:
    from dispatch_console.cases import PartyDraft

    out = []
    for i, value in enumerate(values, start=1):
        m = _PARTY.match(value.strip())
        if m is None:
            raise UsageError(_("--party {n}: write ROLE:NAME[:PHONE[:ID]] with ROLE applicant, respondent or other.")
                             .format(n=i))
        out.append(PartyDraft(name=m.group(2), role=m.group(1), phone=m.group(3) or None, id_number=m.group(4) or None))
    return tuple(out)


def cmd_open(ctx: CliContext) -> int:
    from dispatch_console import cases
    from dispatch_console.cases import get_case

    db = ctx.database()
    actor = ctx.actor()
    if not ctx.args.title and not ctx.args.incident:
        raise UsageError(_("Give --title (or --incident to take the incident's description)."))
    draft = cases.CaseDraft(kind=ctx.args.kind, title=ctx.args.title or "", description=ctx.args.description,
                              subtype=ctx.args.subtype, grid=ctx.args.grid, risk=ctx.args.risk,
                              may_escalate=ctx.args.may_escalate, responsible_unit=ctx.args.unit,
                              responsible_person=ctx.args.person, parties=_parties(ctx.args.party),
                              incidents=tuple(ctx.args.incident))
    case_id = cases.open_case(db, actor, draft)
    d = get_case(db, case_id)
    if ctx.args.json:
        _json(detail_json(d))
    else:
        print(_("Opened {number}.").format(number=d.row.number))
    return EXIT_OK


def _done(ctx: CliContext, case_id: int) -> int:
    from dispatch_console.cases import STATUS_LABELS, get_case, label

    row = get_case(ctx.database(), case_id).row
    print(f"{row.number}: {label(STATUS_LABELS, row.status)}")
    return EXIT_OK


def cmd_accept(ctx: CliContext) -> int:
    from dispatch_console import cases

    case_id = _case_id(ctx, ctx.args.number)
    cases.accept_petition(ctx.database(), ctx.actor(), case_id, refuse=ctx.args.refuse, note=ctx.args.note)
    return _done(ctx, case_id)


def cmd_extend(ctx: CliContext) -> int:
    from dispatch_console import cases

    case_id = _case_id(ctx, ctx.args.number)
    cases.extend_petition(ctx.database(), ctx.actor(), case_id, days=ctx.args.days, reason=ctx.args.reason,
                    approver=ctx.args.approver)
    return _done(ctx, case_id)


def cmd_reply(ctx: CliContext) -> int:
    from dispatch_console import cases

    case_id = _case_id(ctx, ctx.args.number)
    cases.reply_petition(ctx.database(), ctx.actor(), case_id, ctx.args.text)
    return _done(ctx, case_id)


def cmd_review(ctx: CliContext) -> int:
    from dispatch_console import cases

    case_id = _case_id(ctx, ctx.args.number)
    cases.request_review(ctx.database(), ctx.actor(), case_id, ctx.args.note)
    return _done(ctx, case_id)


def _date(value: str, what: str) -> datetime:
    from dispatch_console.kernel.timefmt import LOCAL_TZ

    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d")
    except ValueError:
        raise UsageError(_("{what}: {value} is not a date (YYYY-MM-DD).").format(what=what, value=value)) from None
    if not 2000 <= day.year <= 2100:
        raise UsageError(_("{what}: {value} is outside 2000–2100.").format(what=what, value=value))
    return datetime.combine(day.date(), time(23, 59), tzinfo=LOCAL_TZ)


def cmd_mediate(ctx: CliContext) -> int:
    from dispatch_console import cases

    terms = []
    for i, raw in enumerate(ctx.args.term, start=1):
        text, _sep, due = raw.rpartition("@") if re.search(r"@\d{4}-\d{2}-\d{2}$", raw) else (raw, "", "")
        terms.append(cases.Term(text=text, due_at=_date(due, _("--term {n}").format(n=i)) if due else None))
    draft = cases.SessionDraft(mediator=ctx.args.mediator, mediator_org=ctx.args.org, place=ctx.args.place,
                                 attendees=ctx.args.attendees, summary=ctx.args.summary, outcome=ctx.args.outcome,
                                 agreement=ctx.args.agreement, terms=tuple(terms), referral=ctx.args.referral)
    case_id = _case_id(ctx, ctx.args.number)
    cases.mediate(ctx.database(), ctx.actor(), case_id, draft)
    return _done(ctx, case_id)


def cmd_visit(ctx: CliContext) -> int:
    from dispatch_console import cases

    db = ctx.database()
    case_id = _case_id(ctx, ctx.args.number)
    actor = ctx.actor()
    visit_id, version = cases.due_visit(db, case_id)
    reopened = cases.record_visit(db, actor, case_id, visit_id, version, result=ctx.args.result,
                                    satisfaction=ctx.args.satisfaction, note=ctx.args.note)
    if reopened:
        print(_("The case is reopened."))
    return _done(ctx, case_id)


def cmd_confirm(ctx: CliContext) -> int:
    from dispatch_console import cases

    case_id = _case_id(ctx, ctx.args.number)
    cases.confirm_judicially(ctx.database(), ctx.actor(), case_id)
    return _done(ctx, case_id)


def cmd_close(ctx: CliContext) -> int:
    from dispatch_console import cases

    case_id = _case_id(ctx, ctx.args.number)
    cases.close_case(ctx.database(), ctx.actor(), case_id, ctx.args.note)
    return _done(ctx, case_id)


def cmd_export(ctx: CliContext) -> int:
    from dispatch_console import cases

    m = re.fullmatch(r"(\d{4})-(\d{2})", ctx.args.month.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise UsageError(_("--month {value}: write YYYY-MM (2000–2100).").format(value=ctx.args.month))
    count = cases.export_month(ctx.database(), int(m.group(1)), int(m.group(2)), ctx.args.file)
    print(_("Wrote {n} cases to {file}.").format(n=count, file=ctx.args.file))
    return EXIT_OK




def campaign_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "title": row.title, "reason": row.reason, "due_at": row.due_at,
            "created_at": row.created_at, "grids": row.grids, "reported": row.reported, "overdue": row.overdue,
            "found": row.found, "complete": row.complete, "version": row.version, "closed_at": row.closed_at,
            "closed_by": row.closed_by, "close_reason": row.close_reason}


def _campaign_line(row: Any) -> str:
    from dispatch_console.kernel.timefmt import fmt_local

    return _("#{id} {title}: due {due}, {reported}/{grids} grids reported, {overdue} overdue, {found} cases").format(
        id=row.id, title=row.title, due=fmt_local(row.due_at), reported=row.reported, grids=row.grids,
        overdue=row.overdue, found=row.found)


def cmd_campaign_start(ctx: CliContext) -> int:
    from dispatch_console import cases

    due = _date(ctx.args.due, "--due")
    db = ctx.database()
    campaign_id = cases.start_campaign(db, ctx.actor(), cases.CampaignDraft(
        title=ctx.args.title, due_at=due, grids=tuple(ctx.args.grid), reason=ctx.args.reason, note=ctx.args.note))
    row = cases.get_campaign(db, campaign_id).row
    if ctx.args.json:
        _json(campaign_json(row))
    else:
        print(_("Started campaign #{id} over {n} grids.").format(id=row.id, n=row.grids))
    return EXIT_OK


def cmd_campaign_list(ctx: CliContext) -> int:
    from dispatch_console import cases

    rows = cases.list_campaigns(ctx.database())
    if ctx.args.json:
        _json([campaign_json(r) for r in rows])
        return EXIT_OK
    for r in rows:
        print(_campaign_line(r))
    return EXIT_OK


def cmd_campaign_show(ctx: CliContext) -> int:
    from dispatch_console import cases
    from dispatch_console.kernel.timefmt import fmt_local

    d = cases.get_campaign(ctx.database(), ctx.args.id)
    if ctx.args.json:
        _json({**campaign_json(d.row), "note": d.note, "grid_reports": [
            {"code": x.code, "name": x.name, "state": x.state, "state_label": _(cases.GRID_STATES[x.state]),
             "reporter": x.reporter, "reported_at": x.reported_at, "overdue": x.overdue, "late": x.late,
             "escalated_at": x.escalated_at, "cases": list(x.cases)} for x in d.lines]})
        return EXIT_OK
    print(_campaign_line(d.row))
    for x in d.lines:
        mark = "!" if x.overdue else " "
        when = f" {fmt_local(x.reported_at)} {x.reporter or ''}" if x.reported_at else ""
        print(f" {mark} {x.code:12} {x.name:14} {_(cases.GRID_STATES[x.state])}{when} {' '.join(x.cases)}")
    return EXIT_OK


def cmd_campaign_report(ctx: CliContext) -> int:
    from dispatch_console import cases

    numbers = cases.report_grid(ctx.database(), ctx.actor(), ctx.args.id, ctx.args.grid, found=tuple(ctx.args.found),
                               nothing_new=ctx.args.nothing_new, reporter=ctx.args.reporter, note=ctx.args.note)
    if numbers:
        print(_("Reported; opened {cases}.").format(cases=", ".join(numbers)))
    else:
        print(_("Reported: nothing new."))
    return EXIT_OK


def cmd_campaign_close(ctx: CliContext) -> int:
    from dispatch_console import cases

    row = cases.close_campaign(ctx.database(), ctx.actor(), ctx.args.id, reason=ctx.args.reason)
    if ctx.args.json:
        _json(campaign_json(row))
    else:
        print(_("Closed campaign #{id}: {reported}/{grids} grids reported.").format(
            id=row.id, reported=row.reported, grids=row.grids))
    return EXIT_OK
