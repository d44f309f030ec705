"""Every user-facing string has a zh_CN translation, with the same {placeholders}."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from dispatch_console.kernel import i18n

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("dispatch_console", "ui", "station", "db")


def marked_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.setdefault(node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}")
                if (  # C_("context", "message"): the catalogue's key is "context|message"
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "C_"
                    and len(node.args) == 2
                    and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
                ):
                    key = f"{node.args[0].value}|{node.args[1].value}"  # type: ignore[attr-defined]
                    found.setdefault(key, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_every_marked_string_has_a_zh_cn_translation() -> None:
    catalog = i18n.load_catalog("zh_CN")
    missing = [f"{where}: {msg!r}" for msg, where in sorted(marked_strings().items(), key=lambda kv: kv[1])
               if msg not in catalog]
    assert not missing, "missing zh_CN translations:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    catalog = i18n.load_catalog("zh_CN")
    wrong = [msg for msg, zh in catalog.items() if fields(msg) != fields(zh)]
    assert not wrong, f"placeholders differ: {wrong}"


def test_no_fstrings_inside_translated_text() -> None:
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.name}:{m.group(0)}" for m in re.finditer(r"\b_\(f[\"']", text)]
    assert not offenders


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_language_switch(lang: str) -> None:
    try:
        i18n.set_language(lang)
        expected = "值班员" if lang == "zh_CN" else "Duty officer"
        assert i18n._("Duty officer") == expected
    finally:
        i18n.set_language("en")


def test_a_short_text_with_a_context_shows_the_text_alone_untranslated() -> None:
    try:
        i18n.set_language("en")
        assert i18n.C_("depot mark", "S") == "S"
        i18n.set_language("zh_CN")
        assert i18n.C_("depot mark", "S") == "物" and i18n.C_("shelter mark", "H") == "避"
    finally:
        i18n.set_language("en")
