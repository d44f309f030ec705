"""The situation and duty reports as PDF: the report's HTML with its charts drawn in.

The same page as every PDF of the console (``ui.shell.pdf_export``: A4, the shipped Chinese font,
black ink on white paper whatever the theme, the title and "page N of M" in the footer); the
charts are drawn by ``ui.assessment.charts`` and given to the document as image resources under
the names the HTML's ``<img src="chart:KEY">`` uses.
"""

from __future__ import annotations

from pathlib import Path

from dispatch_console.assessment import Chart
from ui.assessment.charts import draw
from ui.shell.pdf_export import export_pdf

CHART_PX = (2000, 700)  # drawn at 300 dpi for the document's 640 CSS pixels (17 cm)


def export_with_charts(html: str, charts: list[Chart], out: str | Path, *, title: str) -> int:
    """Write the report to ``out``; returns the number of pages."""
    images = {f"chart:{chart.key}": draw(chart, *CHART_PX, title=False) for chart in charts}
    return export_pdf(html, out, title=title, images=images)
