"""HTML (the handover record, the duty log) to a paged PDF with Chinese text embedded.

QTextDocument lays the HTML out for the PDF writer's resolution in a Latin font with the Chinese font
the project ships (``ui.shell.fonts``: never whatever the machine has) for Chinese; each page
is drawn with a footer that carries the document's title and "page N of M". QPdfWriter embeds
the glyphs it uses, so the file reads the same on a machine without the fonts.

Paper is white whatever the screen theme: the document is drawn with :func:`paper_palette` (black
ink on white), never the application's palette — under the night theme the application's text
colour is near-white, and QTextDocument takes its default ink from the palette it is painted with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontDatabase,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPalette,
    QPdfWriter,
    QTextDocument,
)

from dispatch_console.kernel.i18n import _
from ui.shell.fonts import shipped_cjk_family

RESOLUTION = 300
MARGINS_MM = QMarginsF(15, 15, 15, 12)


# Latin letters and digits come from a Latin font: Noto Sans CJK shapes digits in Latin runs into
# glyphs that the PDF's text layer cannot map back (search, copy and pypdf would lose them).
LATIN_FAMILIES = ["Noto Sans", "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"]


PAPER = "#ffffff"
INK = "#000000"


def paper_palette() -> QPalette:
    """Black ink on white paper, the same for every theme (text, links and table headers)."""
    palette = QPalette(QColor(PAPER))
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive, QPalette.ColorGroup.Disabled):
        for role, colour in ((QPalette.ColorRole.Text, INK), (QPalette.ColorRole.WindowText, INK),
                             (QPalette.ColorRole.ButtonText, INK), (QPalette.ColorRole.Base, PAPER),
                             (QPalette.ColorRole.Window, PAPER), (QPalette.ColorRole.Link, "#0b3d91"),
                             (QPalette.ColorRole.Highlight, PAPER), (QPalette.ColorRole.HighlightedText, INK)):
            palette.setColor(group, role, QColor(colour))
    return palette


def draw_on_paper(doc: QTextDocument, painter: QPainter, clip: QRectF) -> None:
    """``doc.drawContents`` with the paper palette instead of the application's."""
    context = QAbstractTextDocumentLayout.PaintContext()
    context.palette = paper_palette()
    context.clip = clip
    painter.setClipRect(clip)
    doc.documentLayout().draw(painter, context)


def cjk_family() -> str:
    """The shipped Chinese font (the same record on every machine)."""
    return shipped_cjk_family()


def document_font(point_size: float) -> QFont:
    """A Latin family first, then the CJK one for Chinese text."""
    available = set(QFontDatabase.families())
    latin = [f for f in LATIN_FAMILIES if f in available][:1]
    font = QFont()
    font.setFamilies([*latin, cjk_family()])
    font.setPointSizeF(point_size)
    return font


def _document(html: str, writer: QPdfWriter, width: float, height: float,
              images: Mapping[str, QImage] | None = None) -> QTextDocument:
    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(writer)  # lay out for the PDF's resolution, not the screen's
    doc.setDefaultFont(document_font(10))
    for name, image in (images or {}).items():  # before the HTML, which names them in <img src=…>
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    doc.setHtml(html)
    doc.setPageSize(QSizeF(width, height))
    return doc


def export_pdf(html: str, out: str | Path, *, title: str, images: Mapping[str, QImage] | None = None) -> int:
    """Write ``html`` to ``out`` as an A4 PDF with page numbers; returns the number of pages.

    ``images``: pictures the HTML shows by name (``<img src="chart:daily">`` → ``{"chart:daily": …}``)."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setTitle(title)
    writer.setCreator("dispatch-console")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     MARGINS_MM, QPageLayout.Unit.Millimeter))
    area = writer.pageLayout().paintRectPixels(RESOLUTION)
    footer_font = document_font(8)
    footer_h = RESOLUTION * 0.3  # 0.3 inch below the text
    body_h = area.height() - footer_h
    doc = _document(html, writer, area.width(), body_h, images)
    pages = max(1, doc.pageCount())
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


def render_png(pdf: str | Path, page: int, out: str | Path, width: int = 1240) -> Path:
    """One page of a PDF as a PNG (for looking at it; QtPdf, no external tools)."""
    from PySide6.QtCore import QSize
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument()
    document.load(str(pdf))
    size = document.pagePointSize(page)
    image = document.render(page, QSize(width, int(width * size.height() / size.width())))
    image.save(str(out))
    document.close()
    return Path(out)


def embedded_fonts(pdf: str | Path) -> set[str]:
    """The base names of the fonts a PDF carries with it (``ABCDEF+NotoSansCJKsc-DispatchSubset`` …).

    Only fonts whose program is embedded count: a name without a font file would print in whatever
    the reading machine substitutes."""
    import pypdf

    names: set[str] = set()
    for page in pypdf.PdfReader(str(pdf)).pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        for ref in (fonts.get_object().values() if fonts is not None else ()):
            font = ref.get_object()
            descriptors = [font.get("/FontDescriptor")]
            descriptors += [d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts", [])]
            for descriptor in filter(None, descriptors):
                d = descriptor.get_object()
                if any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(font["/BaseFont"]))
    return names
