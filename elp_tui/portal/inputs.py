"""What a typed value must be before any rule sees it: the one check for the CLI and the forms.

Three kinds of hostile text get three answers (SPEC §9): markup-looking text is data and passes
untouched; terminal control characters and invisible characters are refused here, with the
character named; formula starts are data too, neutralised only in the CSV export.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email

from elp_tui.i18n import _
from elp_tui.portal.errors import InvalidInput

# Far above any real order, far below what the store's JSON integers can hold (64 bits).
MAX_COUNT = 1_000_000_000
# A name (organization, team, product) is one line a person reads; 200 fits any real one.
MAX_NAME = 200
# Any other one-line text (an activation ID, a version, a build list): generous, still bounded.
MAX_TEXT = 1_000
# RFC 5321: a forward or reverse path holds at most 256 characters, brackets included.
MAX_EMAIL = 254

# C0 (NUL, ESC, CR, LF, TAB, BEL ...), DEL, C1 (CSI \x9b, OSC \x9d ...) and the Unicode line and
# paragraph separators: each can move the cursor, run a terminal escape or break a line. The bidi
# controls reorder what a reader sees (an extension that reads backwards): refused with them.
# The bidi controls, shared with the display side (widgets/safe.py), which shows them as '?'.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")
# Characters that show nothing: a name or an address holding one looks like another.
# The zero-width joiners (U+200C, U+200D) stay in names: emoji sequences and some scripts need them.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u2060-\u2064\ufeff]")
# An address has no use for any of them.
_EMAIL_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]")
_CONTROL_NAMES = {
    "\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\t": "TAB", "\n": "LF, a line break", "\r": "CR, a line break",
    "\x1b": "ESC, a terminal escape", "\x7f": "DEL", "\x9b": "CSI, a terminal escape", "\x9d": "OSC, a terminal escape",
}
# A byte the command line could not decode arrives as a lone surrogate (PEP 383): no text holds one,
# and the store (UTF-8 JSON) could not write it.
_UNDECODED = re.compile("[\ud800-\udfff]")
# `Bob <b@x.com>`: a display name and angle brackets around the address.
_DISPLAY_NAME = re.compile(r"(?s)(.*?)<([^<>]*)>\s*")
_NUMBER = re.compile(r"([+-]?)([0-9]+)")


def shown(value: Any, limit: int = 60) -> str:
    """A typed value quoted inside a message: escapes visible (repr), never longer than `limit`."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def _char_name(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "")
    return f"{code} {name}" if name else code


def control_character(text: str) -> str | None:
    """The first control character of stored text, named (for `elp check`), or None."""
    found = _CONTROL.search(text) or _UNDECODED.search(text)
    return _char_name(found.group()) if found else None


def check_text(text: Any, what: str, *, limit: int = MAX_TEXT, invisible: re.Pattern[str] = _INVISIBLE) -> str:
    """Refuse control and invisible characters, and text over `limit` characters; return the text."""
    value = "" if text is None else str(text)
    if _UNDECODED.search(value):
        raise InvalidInput(
            _("{what} holds bytes that are not UTF-8 text (your terminal or script sent another encoding): "
              "type it again as UTF-8.").format(what=what)
        )
    control = _CONTROL.search(value)
    if control:
        raise InvalidInput(
            _(
                "{what} contains a control character ({char}): terminal escapes, line breaks, tabs, NUL, DEL "
                "and direction overrides are not allowed. Type it again on one line, without it."
            ).format(what=what, char=_char_name(control.group()))
        )
    hidden = invisible.search(value)
    if hidden:
        raise InvalidInput(
            _(
                "{what} contains an invisible character ({char}) that makes it look like something else: "
                "type it again without it (pasted text often carries these)."
            ).format(what=what, char=_char_name(hidden.group()))
        )
    if len(value) > limit:
        raise InvalidInput(
            _("{what} is {n:,} characters long; the limit is {limit:,}: shorten it.").format(what=what, n=len(value), limit=limit)
        )
    return value


def clean_name(text: str | None, what: str, *, limit: int = MAX_NAME) -> str:
    """A name shown on one line everywhere: no line breaks, tabs, escapes, invisible characters or
    bidi overrides, at most `limit` characters. Markup-looking text (`Studio [Paris]`) is kept as typed."""
    return check_text((text or "").strip(), what, limit=limit)


def normalise_email(text: str | None) -> str:
    """Validate an email and return the one form the store keeps.

    Surrounding spaces are trimmed; full-width and other compatibility characters are folded to
    their plain form (Unicode NFKC: `ａｎａ＠ｓｔｕｄｉｏ．ｃｏｍ` is `ana@studio.com`); the result is lower
    case. Control characters (CR/LF too), invisible characters, a display name and more than 254
    characters are refused."""
    raw = "" if text is None else str(text)
    what = _("The email address")
    check_text(raw, what, limit=len(raw), invisible=_EMAIL_INVISIBLE)
    address = unicodedata.normalize("NFKC", raw).strip()
    if not address:
        raise InvalidInput(_("An email address is needed (e.g. ana@studio.com)."))
    named = _DISPLAY_NAME.fullmatch(address)
    if named:
        raise InvalidInput(
            _("{text} holds a name and angle brackets: type only the address, e.g. {address}.").format(
                text=shown(address), address=shown(named.group(2).strip())[1:-1] or "ana@studio.com"
            )
        )
    if len(address) > MAX_EMAIL:
        raise InvalidInput(
            _("An email address has at most {limit} characters; this one has {n:,}: check what was typed or pasted.").format(
                limit=MAX_EMAIL, n=len(address)
            )
        )
    try:
        info = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(
            _("{text} is not a valid email address: {reason} Type it as name@domain (e.g. ana@studio.com).").format(
                text=shown(address), reason=exc
            )
        ) from None
    return info.normalized.lower()


def is_whole_number(text: str) -> bool:
    """Written as a whole number (any size or sign, full-width digits too): the form
    `positive_int` reads. Its range is `positive_int`'s to check."""
    return _NUMBER.fullmatch(unicodedata.normalize("NFKC", text).strip()) is not None


def positive_int(value: Any, what: str, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """A whole number from `minimum` to `maximum`; every refusal states the range."""
    if isinstance(value, int) and not isinstance(value, bool):
        number, written = value, str(value)
    else:
        text = "" if value is None or isinstance(value, bool) else str(value)
        check_text(text, what, limit=len(text))
        match = _NUMBER.fullmatch(unicodedata.normalize("NFKC", text).strip())
        if match is None:  # not is_whole_number(text)
            raise InvalidInput(
                _("{what} must be a whole number from {minimum} to {maximum:,} (got {value}).").format(
                    what=what, minimum=minimum, maximum=maximum, value=shown(text)
                )
            )
        sign, digits = match.groups()
        # More digits than any bound has: out of range either way, no need to convert them all.
        number = int(sign + digits) if len(digits) <= 18 else (-1 if sign == "-" else 1) * 10**18
        written = sign + digits if len(digits) <= 24 else f"{sign}{digits[:24]}… ({len(digits):,} digits)"
    if number < minimum:
        raise InvalidInput(
            _("{what} must be at least {minimum} and at most {maximum:,} (got {number}).").format(
                what=what, minimum=minimum, maximum=maximum, number=written
            )
        )
    if number > maximum:
        raise InvalidInput(
            _("{what} must be at most {maximum:,} and at least {minimum} (got {number}).").format(
                what=what, minimum=minimum, maximum=maximum, number=written
            )
        )
    return number
