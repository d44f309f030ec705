"""The charts of the situation and duty reports as plain data (Qt-free): the view layer draws them.

A chart is a title, the labels along its bottom axis and one or more series of values; ``line``
draws each series as a line (reports per day), ``bars`` draws the series side by side per label.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch_console.assessment.monthly import TARGETS
from dispatch_console.assessment.situation import AGES, Situation
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import LOCAL_TZ

PALETTE = ("#1976d2", "#d32f2f", "#388e3c", "#f57c00", "#7b1fa2", "#0097a7", "#5d4037", "#c2185b", "#455a64",
           "#afb42b", "#512da8", "#00796b")
MAX_LINES = 8  # more categories than this: the smallest are summed as "Other"


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]
    colour: str
    colours: tuple[str, ...] = ()  # one per value, where a bar's colour says something (over the target)


@dataclass(frozen=True)
class Chart:
    key: str                 # the image's name in the document
    kind: str                # line | bars
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""
    reference: float | None = None  # a dashed line across the chart (the target, 100 %)

    @property
    def highest(self) -> float:
        return max([*(v for s in self.series for v in s.values), self.reference or 0.0])


def per_day(sit: Situation) -> Chart:
    catalog = load_catalog()
    ranked = sorted(sit.per_day.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    shown, rest = ranked[:MAX_LINES - 1] if len(ranked) > MAX_LINES else ranked, ranked[MAX_LINES - 1:]
    series = [Series(catalog.category_label(k), tuple(float(x) for x in v), PALETTE[i % len(PALETTE)])
              for i, (k, v) in enumerate(shown)]
    if len(ranked) > MAX_LINES:
        summed = tuple(float(sum(day)) for day in zip(*(v for _k, v in rest), strict=True))
        series.append(Series(_("Other categories"), summed, "#757575"))
    days = sit.days
    if sit.made_at is not None:  # a period still running: its days after today are not drawn as naughts
        today = sit.made_at.astimezone(LOCAL_TZ).date()
        shown_days = max(sum(1 for d in days if d <= today), 1)
        days = days[:shown_days]
        series = [Series(x.name, x.values[:shown_days], x.colour) for x in series]
    labels = tuple(d.strftime("%m-%d") for d in days)
    return Chart("per_day", "line", _("Reports per day by category"), labels, tuple(series), _("reports"))


def open_by_age(sit: Situation) -> Chart:
    names = [name for name, _d in AGES]
    labels = {"<1d": _("under 1 day"), "1-3d": _("1–3 days"), "3-7d": _("3–7 days"), ">7d": _("over 7 days")}
    return Chart("open_by_age", "bars", _("Open incidents and cases by age"), tuple(labels[n] for n in names),
                 (Series(_("Incidents"), tuple(float(sit.open_by_age.get(n, 0)) for n in names), PALETTE[0]),
                  Series(_("Cases"), tuple(float(sit.open_cases_by_age.get(n, 0)) for n in names), PALETTE[3])))


def response(sit: Situation) -> Chart:
    """Each severity's 90th percentile per deadline as a share of its target: the dashed line at
    100 % is the target, a red bar is over it (minutes would put the 24-hour resolve beside the
    5-minute acknowledge; the table beside the chart has the minutes)."""
    labels: list[str] = []
    shares: list[float] = []
    for severity, per in sit.response.items():
        for kind, r in per.items():
            if r.p90_s is None or not r.target_s:
                continue
            labels.append(f"{severity}·{_(TARGETS[kind])}")
            shares.append(round(r.p90_s / r.target_s * 100, 1))
    colours = tuple(PALETTE[1] if v > 100 else PALETTE[2] for v in shares)
    return Chart("response", "bars", _("Response p90 as a share of the target (%)"), tuple(labels),
                 (Series(_("90th percentile"), tuple(shares), PALETTE[2], colours),), "%", reference=100.0)


def warnings_by_rule(sit: Situation) -> Chart:
    from dispatch_console.warnings import RULES

    rules = list(RULES)
    return Chart("warnings", "bars", _("Warnings by rule"), tuple(_(RULES[r]) for r in rules),
                 (Series(_("Warnings"), tuple(float(sit.warnings_by_rule.get(r, 0)) for r in rules), PALETTE[3]),))


def situation_charts(sit: Situation) -> list[Chart]:
    return [per_day(sit), open_by_age(sit), response(sit), warnings_by_rule(sit)]


def compared(key: str, title: str, rows: dict[str, tuple[int, int]], this: str, before: str) -> Chart:
    """This period beside the previous one, per label (categories, communities)."""
    labels = tuple(rows)
    return Chart(key, "bars", title, labels,
                 (Series(before, tuple(float(b) for _a, b in rows.values()), "#90caf9"),
                  Series(this, tuple(float(a) for a, _b in rows.values()), PALETTE[0])))
