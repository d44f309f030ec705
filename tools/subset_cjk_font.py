"""Make the Chinese font the PDFs embed: a subset of Noto Sans CJK SC, shipped in resources/fonts/.

Every handover record, duty log and after-action report must look the same whichever machine
prints it, so the PDFs use this file and never whatever the machine has. Run once when the
character set changes (the result is committed):

    python tools/subset_cjk_font.py [/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]

The source is the font ``tools/chinese_font.sh`` installs (Debian's fonts-noto-cjk). The subset
keeps GB2312 levels 1 and 2 (every character of the national standard), ASCII and Latin-1,
the CJK and full-width punctuation, and every character that appears in the project's own
texts (translations, resources, the demo street), so nothing a record prints falls back to
another font. The family is renamed (OFL 1.1 asks a Modified Version to be told apart; "Source"
is the Reserved Font Name of this font and is not used).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
OUT_DIR = ROOT / "resources" / "fonts"
FAMILY = "Dispatch Noto Sans CJK SC"
POSTSCRIPT = "NotoSansCJKsc-DispatchSubset"
FILE = "NotoSansCJKsc-DispatchSubset.otf"


def gb2312() -> set[str]:
    """Every character GB2312 encodes (rows 1–9 symbols, 16–55 level 1, 56–87 level 2)."""
    chars: set[str] = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def project_characters() -> set[str]:
    """Characters of the project's own texts (so a rare name in the demo street still prints)."""
    chars: set[str] = set()
    for folder in ("resources", "dispatch_console", "ui"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".toml", ".py", ".json", ".html", ".geojson"} and path.is_file():
                chars.update(path.read_text(encoding="utf-8", errors="ignore"))
    return {c for c in chars if ord(c) >= 0x80}


def character_set() -> set[str]:
    chars = gb2312() | project_characters()
    chars.update(chr(c) for c in range(0x20, 0x7F))           # ASCII
    chars.update(chr(c) for c in range(0xA0, 0x100))          # Latin-1
    chars.update(chr(c) for c in range(0x2000, 0x2070))       # general punctuation
    chars.update(chr(c) for c in range(0x3000, 0x3040))       # CJK symbols and punctuation
    chars.update(chr(c) for c in range(0xFF00, 0xFFF0))       # full-width forms
    chars.update(chr(c) for c in range(0x2460, 0x24A0))       # ① … ⑳
    chars.update(chr(c) for c in range(0x2190, 0x2200))       # arrows
    chars.update(chr(c) for c in range(0x25A0, 0x2600))       # geometric shapes (■ ● ▲)
    chars.update(chr(c) for c in range(0x2E80, 0x2FE0))       # radicals (what pypdf reads 页 back as)
    return chars


def source_font(path: Path) -> TTFont:
    if path.suffix.lower() == ".ttc":
        for font in TTCollection(str(path)).fonts:
            if font["name"].getDebugName(6) == "NotoSansCJKsc-Regular":
                return font
        raise SystemExit(f"{path} has no NotoSansCJKsc-Regular")
    return TTFont(str(path))


def rename(font: TTFont) -> None:
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID in (2, 17):
            record.string = "Regular"
        elif record.nameID == 3:
            record.string = f"{POSTSCRIPT};subset for dispatch-console"
        elif record.nameID == 4:
            record.string = f"{FAMILY} Regular"
        elif record.nameID == 6:
            record.string = POSTSCRIPT
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [POSTSCRIPT]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} Regular"
        top.FamilyName = FAMILY


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    if not source.is_file():
        print(f"{source} not found: run tools/chinese_font.sh (fonts-noto-cjk) first", file=sys.stderr)
        return 1
    font = source_font(source)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False          # printed at 300 dpi: hints only add size
    options.desubroutinize = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in character_set()])
    subsetter.subset(font)
    rename(font)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / FILE
    font.save(str(out))
    print(f"{out}: {out.stat().st_size / 1e6:.1f} MB, {len(font.getBestCmap())} characters")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
