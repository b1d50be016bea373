"""One translation function for every text a user reads: `_()` backed by gettext catalogs.

English is the source language; `elp_tui/locale/fr/LC_MESSAGES/elp.po` holds French (the
terms of the vendor's French guide). The compiled `.mo` ships with the package.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "elp"
SUPPORTED = ("en", "fr")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def detect_language(explicit: str | None = None) -> str:
    """--lang wins, then ELP_LANG, then LANGUAGE / LC_ALL / LC_MESSAGES / LANG."""
    candidates = [explicit, os.environ.get("ELP_LANG")]
    candidates += [os.environ.get(v) for v in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")]
    for value in candidates:
        if not value:
            continue
        code = value.split(":")[0].split(".")[0].split("_")[0].lower()
        if code in SUPPORTED:
            return code
        if explicit and value == explicit:
            raise ValueError(f"Language {explicit!r} is not available: use one of {', '.join(SUPPORTED)}.")
    return "en"


def set_language(code: str) -> None:
    global _translation, _language
    _language = code
    if code == "en":
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code], fallback=True)


def language() -> str:
    return _language


class InContext(str):
    """A message id that needs its context to be translated: one English word, several French ones
    (a license is "active", a user "actif"). Made by NC_(); `_()` translates it in its context."""

    context: str


def NC_(context: str, message: str) -> str:
    """Mark a message with its gettext context (extracted as `NC_:1c,2`), translated later by `_()`."""
    marked = InContext(message)
    marked.context = context
    return marked


def _(message: str) -> str:
    """Translate a message id (English text) into the current language."""
    if isinstance(message, InContext):
        return _translation.pgettext(message.context, message)
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it yet (class-level text)."""
    return message


def number(n: int) -> str:
    """A whole number grouped by thousands as the language writes it: 1,000,000 in English,
    1 000 000 in French (a narrow no-break space, so it never wraps in the middle)."""
    grouped = f"{n:,}"
    return grouped.replace(",", "\u202f") if _language == "fr" else grouped
