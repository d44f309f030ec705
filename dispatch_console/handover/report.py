"""The handover record and the duty log as printable HTML (Qt-free; every value escaped).

The console shows this HTML in its review dialogs and ``ui.shell.pdf_export`` lays it out on pages
(page numbers and the font are the PDF's business). Every value from the database — names,
descriptions, notes, addenda — goes through :func:`esc`, so text typed by anybody can never
become markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatch_console.channels.callout import outcome_label
from dispatch_console.handover.content import notable_label
from dispatch_console.handover.duty_log import DutyLog
from dispatch_console.handover.service import HandoverRecord, Signature, status_label
from dispatch_console.kernel.categories import Catalog, load_catalog
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.notifications.service import role_label
from dispatch_console.rosters import describe_shift
from dispatch_console.timers.engine import kind_label

STYLE = """
body { font-size: 10pt; }
h1 { font-size: 16pt; text-align: center; margin-bottom: 2pt; }
h2 { font-size: 12pt; margin-top: 10pt; margin-bottom: 3pt; border-bottom: 1px solid #555; }
p.meta { text-align: center; color: #333; }
table { border-collapse: collapse; width: 100%; }
th { background: #e6e6e6; font-weight: bold; }
th, td { border: 1px solid #777; padding: 2pt 4pt; vertical-align: top; }
td.warn { color: #b00000; font-weight: bold; }
p.empty { color: #555; }
"""


NOWRAP = " style='white-space: nowrap'"


def esc(value: object) -> str:
    """Any value as HTML text (None → empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def _time(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    return fmt_local(value, fmt) if value else "-"


@dataclass(frozen=True)
class Section:
    title: str
    html: str


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, warn: Sequence[bool] = (),
          nowrap: Sequence[int] = (0,), widths: Sequence[int] = ()) -> str:
    """An HTML table; cells are escaped here (pass plain values). ``nowrap``: columns kept on one
    line; ``widths``: per-column percentages."""
    out = ["<table cellspacing='0' cellpadding='3' border='1' width='100%'><tr>"]
    for i, h in enumerate(headers):
        width = f" width='{widths[i]}%'" if i < len(widths) else ""
        out.append(f"<th{width}>{esc(h)}</th>")
    out.append("</tr>")
    count = 0
    for i, row in enumerate(rows):
        cls = " class='warn'" if i < len(warn) and warn[i] else ""
        out.append("<tr>" + "".join(
            f"<td{cls}{NOWRAP if col in nowrap else ''}>{esc(c)}</td>" for col, c in enumerate(row)) + "</tr>")
        count += 1
    out.append("</table>")
    return "".join(out) if count else f"<p class='empty'>{esc(_('None.'))}</p>"


def _paragraphs(text: str) -> str:
    if not text.strip():
        return f"<p class='empty'>{esc(_('None.'))}</p>"
    return "".join(f"<p>{esc(line)}</p>" for line in text.splitlines() if line.strip())


def _signature(sig: Signature | None, *, missing: str) -> str:
    if sig is None:
        return missing
    return _("{name}, {time}, at {station}").format(name=sig.name, time=fmt_local(sig.at, "%Y-%m-%d %H:%M:%S"),
                                                   station=sig.station or "-")


def handover_sections(record: HandoverRecord, catalog: Catalog | None = None) -> list[Section]:
    c = catalog or load_catalog()
    sit = record.situation
    states = {r.incident_id: r for r in record.incidents}

    def ack_state(incident_id: int, must: bool) -> str:
        row = states.get(incident_id)
        if row is not None and row.accepted_at is not None:
            return _("taken over by {name} {time}").format(name=row.accepted_by_name or "?",
                                                          time=_time(row.accepted_at))
        return _("to re-acknowledge") if must else "-"

    incidents = table(
        [_("Number"), _("Severity"), _("Category"), _("Status"), _("Owner"), _("Next deadline"), _("Description"),
         _("Handover")],
        [[i.number, c.severity_label(i.severity), c.category_label(i.category), c.status_label(i.status),
          i.owner_name or _("nobody"),
          f"{kind_label(i.next_deadline_kind)} {_time(i.next_deadline_at)}" if i.next_deadline_kind else "-",
          " ".join(filter(None, [i.description, i.address])), ack_state(i.id, i.must_reacknowledge)]
         for i in sit.incidents],
        warn=[i.must_reacknowledge for i in sit.incidents], widths=(17, 10, 9, 8, 7, 12, 26, 11))
    due = table([_("Due"), _("Deadline"), _("Incident"), _("Who is notified")],
                [[_time(t.due_at), kind_label(t.kind), t.incident_number or "-", role_label(t.target_role)]
                 for t in sit.timers])
    steps = table([_("Incident"), _("Step"), _("Due")],
                  [[st.incident_number, st.text, (_time(st.due_at) + (" " + _("overdue") if st.overdue else ""))
                    if st.due_at else "-"] for st in sit.steps],
                  warn=[st.overdue for st in sit.steps])
    units = table([_("Incident"), _("Unit"), _("Status"), _("Sent"), _("On scene")],
                  [[u.incident_number, u.name, c.unit_status_label(u.status), _time(u.assigned_at),
                    _time(u.arrived_at)] for u in sit.units])
    gathered = sit.gathered_at
    late = [c.due_at is not None and gathered is not None and c.due_at < gathered for c in sit.cases]
    cases = table([_("Due"), _("Case"), _("What"), _("Who"), _("Title")],
                  [[_time(c.due_at) + (" " + _("overdue") if overdue else ""), c.case_number, c.what, c.who or "-",
                    c.title] for c, overdue in zip(sit.cases, late, strict=True)],
                  warn=late, widths=(16, 20, 20, 12, 32))
    notable = table([_("Time"), _("Kind"), _("Incident"), _("What")],
                    [[_time(e.at), notable_label(e.kind), e.incident_number or "-", e.text] for e in sit.notable])
    calls = table([_("Time"), _("Incident"), _("Called"), _("Call outcome"), _("Recorded by")],
                  [[_time(k.at), k.incident_number or "-",
                    f"{k.name} {k.phone} ({role_label(k.role)}, {k.position}/{k.chain_length})",
                    outcome_label(k.outcome) if k.outcome else _("not recorded"),
                    f"{k.recorded_by or '-'} {_time(k.recorded_at)}" if k.recorded_at else "-"] for k in sit.calls],
                  warn=[k.outcome != "answered" for k in sit.calls], widths=(16, 20, 32, 12, 20))

    def mark(ok: bool | None) -> str:
        return _("present") if ok else (_("not present") if ok is False else _("not checked"))

    equipment = table([_("Item"), _("Handed over"), _("Note")],
                      [[e.label, mark(e.ok), e.note] for e in record.equipment],
                      warn=[e.ok is False for e in record.equipment])
    addenda = table([_("Time"), _("Addendum"), _("Incident"), _("Signed")],
                    [[_time(a.at), a.text, a.incident_number or "-",
                      _signature(a.signed, missing=_("added by the console"))] for a in record.addenda])
    return [
        Section(_("Open incidents ({n})").format(n=len(sit.incidents)), incidents),
        Section(_("Deadlines in the next shift ({n})").format(n=len(sit.timers)), due),
        Section(_("Open checklist steps ({n})").format(n=len(sit.steps)), steps),
        Section(_("Case follow-ups and petition deadlines ({n})").format(n=len(sit.cases)), cases),
        Section(_("Units still out ({n})").format(n=len(sit.units)), units),
        Section(_("Notable events of the shift"), notable),
        Section(_("Call log of the shift ({n})").format(n=len(sit.calls)), calls),
        Section(_("Notes of the outgoing shift"), _paragraphs(record.notes)),
        Section(_("Equipment and keys"), equipment),
        Section(_("Addenda"), addenda),
    ]


def signatures_html(record: HandoverRecord) -> str:
    rows = [
        [_("Outgoing shift leader"), ", ".join(record.situation.outgoing.leaders) or "-",
         _signature(record.signed, missing=_("not signed"))],
        [_("Incoming shift leader"), ", ".join(record.situation.incoming.leaders) or "-",
         _signature(record.accepted, missing=_("not accepted"))],
    ]
    out = table([_("Signature"), _("Rostered"), _("Signed by, time, station")], rows)
    if record.content_hash:
        out += f"<p>{esc(_('Content hash (SHA-256): {hash}').format(hash=record.content_hash))}</p>"
    for label, sig in ((_("signed"), record.signed), (_("accepted"), record.accepted)):
        if sig is not None and sig.audit_hash:
            out += "<p class='meta'>" + esc(_("Audit chain when {what}: row {id}, hash {hash}").format(
                what=label, id=sig.audit_id, hash=sig.audit_hash)) + "</p>"
    return out


def handover_html(record: HandoverRecord, catalog: Catalog | None = None) -> str:
    """The whole record as one HTML document (for the dialogs, printing and the PDF)."""
    nxt = describe_shift(record.next_shift) if record.next_shift else _("no next shift on the roster")
    sit = record.situation
    meta = [
        _("Shift: {shift}").format(shift=describe_shift(record.shift)),
        _("Handed to: {shift}").format(shift=nxt),
        _("Status: {status}").format(status=status_label(record.status)),
        _("Drafted: {time}").format(time=_time(record.drafted_at or sit.gathered_at, "%Y-%m-%d %H:%M")),
    ]
    people = _("Outgoing: {leaders} (leader), {officers}; incoming: {in_leaders} (leader), {in_officers}").format(
        leaders="、".join(sit.outgoing.leaders) or "-", officers="、".join(sit.outgoing.officers) or "-",
        in_leaders="、".join(sit.incoming.leaders) or "-", in_officers="、".join(sit.incoming.officers) or "-")
    parts = [f"<html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>",
             f"<h1>{esc(_('Shift handover record'))}</h1>",
             "<p class='meta'>" + "<br>".join(esc(m) for m in meta) + "</p>",
             f"<p>{esc(people)}</p>"]
    for section in handover_sections(record, catalog):
        parts.append(f"<h2>{esc(section.title)}</h2>{section.html}")
    parts.append(f"<h2>{esc(_('Signatures'))}</h2>{signatures_html(record)}")
    parts.append("</body></html>")
    return "".join(parts)


def duty_log_html(log: DutyLog) -> str:
    rows = [[fmt_local(e.at, "%m-%d %H:%M:%S"), e.category_label, e.incident_number or "-", e.text,
             f"{e.who or '-'}@{e.station}" if e.station else (e.who or "-")] for e in log.entries]
    body = table([_("Time"), _("Kind"), _("Incident or case"), _("What happened"), _("Who")], rows)
    meta = [_("Shift: {shift}").format(shift=describe_shift(log.shift)),
            _("Printed: {time} (database time)").format(time=fmt_local(log.generated_at, "%Y-%m-%d %H:%M")),
            _("{n} entries").format(n=len(log.entries))]
    if log.audit_head is not None:
        meta.append(log.audit_head.describe())
    return (f"<html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
            f"<h1>{esc(_('Duty log'))}</h1><p class='meta'>" + "<br>".join(esc(m) for m in meta) + "</p>"
            + body + "</body></html>")
