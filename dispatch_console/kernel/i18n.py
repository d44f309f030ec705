"""Translations the core and the UI share.

Source strings are English; ``resources/i18n/<lang>/*.toml`` map them to the users' language
(zh_CN is the default). Mark strings with ``_()`` where they are shown and ``N_()`` where they are
only defined (tables of labels), and never build translated text with f-strings: use
``_("… {name} …").format(name=…)`` so that the translator sees the whole sentence.
"""

from __future__ import annotations

import logging
import os
import tomllib
from importlib import resources as importlib_resources

log = logging.getLogger(__name__)

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_catalog: dict[str, str] = {}
_language = "en"


def N_(message: str) -> str:
    """Mark a string for translation without translating it now."""
    return message


def _(message: str) -> str:
    return _catalog.get(message, message)


def C_(context: str, message: str) -> str:
    """A text too short to translate on its own (one letter on a map icon): the catalogue's key is
    ``"context|message"``, and untranslated it is the message alone, never the context."""
    return _catalog.get(f"{context}|{message}", message)


def language() -> str:
    return _language


def load_catalog(lang: str) -> dict[str, str]:
    catalog: dict[str, str] = {}
    if lang == "en":
        return catalog
    folder = importlib_resources.files("resources") / "i18n" / lang
    if not folder.is_dir():
        log.warning("no translations for %s", lang)
        return catalog
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            catalog.update({str(k): str(v) for k, v in data.items()})
    return catalog


def set_language(lang: str | None = None) -> str:
    """Switch the language for the whole process; returns the language in force."""
    global _catalog, _language
    lang = lang or os.environ.get("DISPATCH_LANG") or DEFAULT_LANGUAGE
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _catalog = load_catalog(lang)
    _language = lang
    return lang
