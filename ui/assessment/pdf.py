"""The situation and duty reports as PDF: the report's HTML with its charts drawn in.

The same page as every PDF of the console (``ui.shell.pdf_export``: A4, the shipped Chinese font,
black ink on white paper whatever the theme, the title and "page N of M" in the footer); the
charts are drawn by ``ui.assessment.charts`` and given to the document as image resources under
the names the HTML's ``<img src="chart:KEY">`` uses.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import QColor, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from dispatch_console.assessment.charts import Chart
from dispatch_console.kernel.i18n import _
from ui.assessment.charts import draw
from ui.shell.pdf_export import INK, MARGINS_MM, RESOLUTION, document_font, draw_on_paper

CHART_PX = (2000, 700)  # drawn at 300 dpi for the document's 640 CSS pixels (17 cm)


def export_with_charts(html: str, charts: list[Chart], out: str | Path, *, title: str) -> int:
    """Write the report to ``out``; returns the number of pages."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setTitle(title)
    writer.setCreator("dispatch-console")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     MARGINS_MM, QPageLayout.Unit.Millimeter))
    area = writer.pageLayout().paintRectPixels(RESOLUTION)
    footer_h = RESOLUTION * 0.3
    body_h = area.height() - footer_h
    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(writer)
    doc.setDefaultFont(document_font(10))
    for chart in charts:
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"chart:{chart.key}"),
                        draw(chart, *CHART_PX, title=False))
    doc.setHtml(html)
    doc.setPageSize(QSizeF(area.width(), body_h))
    pages = max(1, doc.pageCount())
    footer_font = document_font(8)
    painter = QPainter(writer)
    try:
        for page in range(pages):
            if page:
                writer.newPage()
            painter.save()
            painter.translate(0, -page * body_h)
            draw_on_paper(doc, painter, QRectF(0, page * body_h, area.width(), body_h))
            painter.restore()
            painter.setFont(footer_font)
            painter.setPen(QColor(INK))
            painter.drawLine(0, int(body_h + footer_h * 0.2), area.width(), int(body_h + footer_h * 0.2))
            box = QRectF(0, body_h + footer_h * 0.25, area.width(), footer_h * 0.75)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), title)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             _("Page {page} of {pages}").format(page=page + 1, pages=pages))
    finally:
        painter.end()
    return pages
