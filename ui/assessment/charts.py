"""The report charts drawn offscreen with QPainter on paper (white, black ink, the shipped font).

``draw(chart, width, height)`` returns a QImage of ``assessment.charts.Chart``: a title (left out
where the page's heading says it), a value
axis with light grid lines, the labels along the bottom (thinned or turned when they crowd), the
series as lines or as bars side by side, and a legend when there is more than one series.
"""

from __future__ import annotations

import math
from itertools import pairwise

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPen

from dispatch_console.assessment import Chart
from ui.shell.pdf_export import INK, PAPER, document_font

GRID = "#d9d9d9"


def nice_step(highest: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 × 10ⁿ) giving about ``ticks`` grid lines up to ``highest``."""
    if highest <= 0:
        return 1.0
    raw = highest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return float(max(m * power, 1.0) if highest >= ticks else m * power)
    return float(10 * power)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def draw(chart: Chart, width: int = 2000, height: int = 760, *, title: bool = True) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(PAPER))
    scale = width / 2000
    p = QPainter(image)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        title_font, text_font = document_font(30 * scale), document_font(21 * scale)
        title_font.setBold(True)
        p.setPen(QColor(INK))
        p.setFont(title_font)
        title_h = QFontMetricsF(title_font).height() * 1.4 if title else 20 * scale
        if title:
            p.drawText(QRectF(0, 0, width, title_h), int(Qt.AlignmentFlag.AlignCenter), chart.title)
        p.setFont(text_font)
        fm = QFontMetricsF(text_font)
        legend_h = fm.height() * 1.6 if len(chart.series) > 1 else 0.0
        step = nice_step(chart.highest)
        top_value = step * max(math.ceil(chart.highest / step), 1)
        if chart.highest > top_value * 0.92:  # room for the highest bar's figure
            top_value += step
        axis_w = fm.horizontalAdvance(_number(top_value)) + 24 * scale
        label_w = max((fm.horizontalAdvance(t) for t in chart.labels), default=0.0)
        n = max(len(chart.labels), 1)
        slot = (width - axis_w - 30 * scale) / n
        every = 1 if chart.kind == "bars" else max(1, math.ceil((label_w + 16 * scale) / slot))
        turned = chart.kind == "bars" and label_w + 10 * scale > slot
        bottom_h = (label_w * 0.72 + fm.height()) if turned else fm.height() * 1.8
        plot = QRectF(axis_w, title_h + legend_h, width - axis_w - 30 * scale,
                      height - title_h - legend_h - bottom_h)
        # value axis and grid lines
        value = 0.0
        while value <= top_value + 1e-9:
            y = plot.bottom() - plot.height() * value / top_value
            p.setPen(QPen(QColor(GRID), 2 * scale))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(QColor(INK))
            p.drawText(QRectF(0, y - fm.height() / 2, axis_w - 10 * scale, fm.height()),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), _number(value))
            value += step
        p.setPen(QPen(QColor(INK), 2 * scale))
        p.drawLine(plot.bottomLeft(), plot.bottomRight())
        p.drawLine(plot.bottomLeft(), plot.topLeft())

        def y_of(v: float) -> float:
            return plot.bottom() - plot.height() * v / top_value

        if chart.kind == "line":
            for s in chart.series:
                p.setPen(QPen(QColor(s.colour), 4 * scale))
                points = [QPointF(plot.left() + slot * (i + 0.5), y_of(v)) for i, v in enumerate(s.values)]
                for a, b in pairwise(points):
                    p.drawLine(a, b)
                if len(points) <= 45:
                    p.setBrush(QColor(s.colour))
                    for pt in points:
                        p.drawEllipse(pt, 5 * scale, 5 * scale)
        else:
            k = max(len(chart.series), 1)
            bar = slot * 0.8 / k
            for j, s in enumerate(chart.series):
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(s.colour))
                for i, v in enumerate(s.values):
                    if s.colours:
                        p.setBrush(QColor(s.colours[i]))
                    x = plot.left() + slot * i + slot * 0.1 + bar * j
                    p.drawRect(QRectF(x, y_of(v), bar - 2 * scale, plot.bottom() - y_of(v)))
                    if v and bar > fm.horizontalAdvance(_number(v)):
                        p.setPen(QColor(INK))
                        p.drawText(QRectF(x, y_of(v) - fm.height(), bar, fm.height()),
                                   int(Qt.AlignmentFlag.AlignCenter), _number(v))
                        p.setPen(Qt.PenStyle.NoPen)
        if chart.reference is not None:
            pen = QPen(QColor(INK), 3 * scale, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(plot.left(), y_of(chart.reference)), QPointF(plot.right(), y_of(chart.reference)))
        # labels along the bottom
        p.setPen(QColor(INK))
        for i, label in enumerate(chart.labels):
            if i % every:
                continue
            cx = plot.left() + slot * (i + 0.5)
            if turned:
                p.save()
                p.translate(cx, plot.bottom() + 8 * scale)
                p.rotate(-40)
                p.drawText(QRectF(-label_w - 4 * scale, -fm.height() / 2, label_w, fm.height()),
                           int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), label)
                p.restore()
            else:
                w = max(slot * every, fm.horizontalAdvance(label) + 4)
                p.drawText(QRectF(cx - w / 2, plot.bottom() + 6 * scale, w, fm.height()),
                           int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), label)
        # legend
        if len(chart.series) > 1:
            x = axis_w
            y = title_h + legend_h * 0.15
            for s in chart.series:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(s.colour))
                box = fm.height() * 0.7
                p.drawRect(QRectF(x, y + (fm.height() - box) / 2, box, box))
                p.setPen(QColor(INK))
                text_w = fm.horizontalAdvance(s.name)
                p.drawText(QRectF(x + box + 8 * scale, y, text_w + 4, fm.height()),
                           int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), s.name)
                x += box + text_w + 40 * scale
    finally:
        p.end()
    return image
