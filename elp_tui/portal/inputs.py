"""What a typed value must be before any rule sees it: the one check for the CLI and the forms.

Three kinds of hostile text get three answers (SPEC §9): markup-looking text is data and passes
untouched; terminal control characters and invisible characters are refused here, with the
character named; formula starts are data too, neutralised only in the CSV export.

Invisible means what Unicode says shows nothing: every default-ignorable code point (zero-width
spaces and joiners, variation selectors, tag characters, the Hangul fillers ...), every format
character (category Cf), and the blank braille pattern. The zero-width joiners (U+200C, U+200D)
and the emoji variation selector (U+FE0F) are refused too, although emoji sequences use them: a
name or an address that prints exactly like another is worse than a plainer name.

Two names are one name when they differ only by case, width, spaces or such characters
(`name_key`): a new team, organization or product that reads like an existing one is refused,
naming it. Numbers and versions are read one way everywhere (`positive_int`, `product_version`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable

import regex
from email_validator import EmailNotValidError, validate_email

from elp_tui.i18n import N_, _, language
from elp_tui.i18n import number as grouped
from elp_tui.portal.errors import InvalidInput, RuleViolation

# Far above any real order, far below what the store's JSON integers can hold (64 bits).
MAX_COUNT = 1_000_000_000
# A name (organization, team, product) is one line a person reads; 200 fits any real one.
MAX_NAME = 200
# Any other one-line text (an activation ID, a build list): generous, still bounded.
MAX_TEXT = 1_000
# A product version is short (25.1, 2026.0.3): anything longer is a paste gone wrong.
MAX_VERSION = 40
# RFC 5321: a forward or reverse path holds at most 256 characters, brackets included.
MAX_EMAIL = 254

# C0 (NUL, ESC, CR, LF, TAB, BEL ...), DEL, C1 (CSI \x9b, OSC \x9d ...) and the Unicode line and
# paragraph separators: each can move the cursor, run a terminal escape or break a line. The bidi
# controls reorder what a reader sees (an extension that reads backwards): refused with them.
# The bidi controls, shared with the display side (widgets/safe.py), which shows them as '?'.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")
# Characters that show nothing: a name or an address holding one looks like another. Unicode's
# own lists (the `regex` package knows the properties; `re` does not), not a hand-kept one: the
# default-ignorable code points (U+200B-U+200F, U+034F, U+180B, U+FE0F, U+206A-U+206F, the Hangul
# fillers U+115F, U+1160, U+3164, U+FFA0, the tags U+E0000-U+E007F ...), the format characters
# (U+FFF9-U+FFFB, U+1BCA0-U+1BCA3 ...), and U+2800, a braille cell with no dot, drawn as a space.
_INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Cf}\u2800\u3164\u115f\u1160\uffa0]")
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
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
# What a Japanese or Chinese keyboard types for digits, signs and the dot: read as the ASCII ones.
# Nothing else is folded into a number: a superscript (²), a circled digit (①) or another
# script's digits are refused, not guessed.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－．", "0123456789+-.")


def shown(value: Any, limit: int = 60) -> str:
    """A typed value quoted inside a message: escapes visible (repr, and the invisible characters
    repr prints as they are, such as U+3164, as \\u escapes too), never longer than `limit`."""
    text = "" if value is None else str(value)
    quoted = _INVISIBLE.sub(_escaped, repr(text[:limit]))
    return quoted + "…" if len(text) > limit else quoted


def _escaped(match: regex.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _char_name(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "")
    return f"{code} {name}" if name else code


def control_character(text: str) -> str | None:
    """The first control character of stored text, named (for `elp check`), or None."""
    found = _CONTROL.search(text) or _UNDECODED.search(text)
    return _char_name(found.group()) if found else None


def check_text(text: Any, what: str, *, limit: int = MAX_TEXT) -> str:
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
    hidden = _INVISIBLE.search(value)
    if hidden:
        raise InvalidInput(
            _(
                "{what} contains an invisible character ({char}) that makes it look like something else: "
                "type it again without it (pasted text often carries these)."
            ).format(what=what, char=_char_name(hidden.group()))
        )
    if len(value) > limit:
        raise InvalidInput(
            _("{what} is {n} characters long; the limit is {limit}: shorten it.").format(what=what, n=grouped(len(value)), limit=grouped(limit))
        )
    return value


def clean_name(text: str | None, what: str, *, limit: int = MAX_NAME) -> str:
    """A name shown on one line everywhere: no line breaks, tabs, escapes, invisible characters
    (zero-width joiners and variation selectors included, see above) or bidi overrides, at most
    `limit` characters. Markup-looking text (`Studio [Paris]`) is kept as typed."""
    return check_text((text or "").strip(), what, limit=limit)


def normalise_email(text: str | None) -> str:
    """Validate an email and return the one form the store keeps.

    Surrounding spaces are trimmed; full-width and other compatibility characters are folded to
    their plain form (Unicode NFKC: `ａｎａ＠ｓｔｕｄｉｏ．ｃｏｍ` is `ana@studio.com`); the result is lower
    case. Control characters (CR/LF too), invisible characters, a display name and more than 254
    characters are refused."""
    raw = "" if text is None else str(text)
    what = _("The email address")
    check_text(raw, what, limit=len(raw))
    address = unicodedata.normalize("NFKC", raw).strip()
    check_text(address, what, limit=len(address))  # nothing NFKC folded into an invisible one
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
            _("An email address has at most {limit} characters; this one has {n}: check what was typed or pasted.").format(
                limit=MAX_EMAIL, n=grouped(len(address))
            )
        )
    try:
        info = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(
            _("{text} is not a valid email address: {reason} Type it as name@domain (e.g. ana@studio.com).").format(
                text=shown(address), reason=_email_reason(str(exc))
            )
        ) from None
    return info.normalized.lower()


# email-validator explains in English only: its common reasons are said in ELP's words (so a
# French refusal is French throughout); a rarer one falls back on where the fault is.
_EMAIL_REASONS = (
    ("An email address must have an @-sign", N_("it has no @ sign.")),
    ("There must be something before the @-sign", N_("nothing comes before the @ sign.")),
    ("There must be something after the @-sign", N_("nothing comes after the @ sign.")),
    ("The part after the @-sign is not valid. It should have a period", N_("the domain after the @ sign has no dot (e.g. studio.com).")),
    ("The part after the @-sign is not valid. It is not within a valid top-level domain", N_("the domain after the @ sign does not end in a valid top-level domain.")),
    ("The part after the @-sign is a special-use or reserved name", N_("the domain after the @ sign is reserved and receives no email.")),
    ("An email address cannot have two periods in a row", N_("it has two dots in a row.")),
    ("An email address cannot have a period and a hyphen next to each other", N_("it has a dot and a hyphen next to each other.")),
    ("An email address cannot end with a period", N_("it ends with a dot.")),
    ("An email address cannot start with a period", N_("it starts with a dot.")),
    ("The email address contains invalid characters before the @-sign", N_("the part before the @ sign has a character email does not allow.")),
    ("The part after the @-sign contains invalid characters", N_("the domain after the @ sign has a character domains do not allow.")),
    ("The email address is too long", N_("it is too long.")),
    ("There can't be anything after the email address", N_("something follows the address.")),
)


def _email_reason(message: str) -> str:
    for prefix, reason in _EMAIL_REASONS:
        if message.startswith(prefix):
            return _(reason)
    if language() == "en":
        return message
    if "after the @-sign" in message:
        return _("the domain after the @ sign is not valid.")
    if "before the @-sign" in message:
        return _("the part before the @ sign is not valid.")
    return _("it is not written as an email address.")


def _digits(text: str) -> str:
    """A typed number or version as read: spaces around it trimmed, full-width digits, signs and
    dot made ASCII."""
    return text.strip().translate(_FULL_WIDTH)


def is_whole_number(text: str) -> bool:
    """Written as a whole number (any size or sign, leading zeros, full-width digits too): the
    form `positive_int` reads. Its range is `positive_int`'s to check."""
    return _NUMBER.fullmatch(_digits(text)) is not None


def positive_int(value: Any, what: str, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """A whole number from `minimum` to `maximum`; every refusal states the range. Written in
    ASCII or full-width digits; leading zeros do not count (`007` is 7, however many there are)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number, written = value, str(value)
    else:
        text = "" if value is None or isinstance(value, bool) else str(value)
        check_text(text, what, limit=len(text))
        match = _NUMBER.fullmatch(_digits(text))
        if match is None:  # not is_whole_number(text)
            raise InvalidInput(
                _("{what} must be a whole number from {minimum} to {maximum} (got {value}).").format(
                    what=what, minimum=grouped(minimum), maximum=grouped(maximum), value=shown(text)
                )
            )
        sign, digits = match.groups()
        digits = digits.lstrip("0") or "0"
        # More digits than any bound has: out of range either way, no need to convert them all.
        number = int(sign + digits) if len(digits) <= 18 else (-1 if sign == "-" else 1) * 10**18
        written = sign + digits if len(digits) <= 24 else _("{start}… ({n} digits)").format(start=sign + digits[:24], n=grouped(len(digits)))
    if number < minimum:
        raise InvalidInput(
            _("{what} must be at least {minimum} and at most {maximum} (got {number}).").format(
                what=what, minimum=grouped(minimum), maximum=grouped(maximum), number=written
            )
        )
    if number > maximum:
        raise InvalidInput(
            _("{what} must be at most {maximum} and at least {minimum} (got {number}).").format(
                what=what, minimum=grouped(minimum), maximum=grouped(maximum), number=written
            )
        )
    return number


def product_version(text: Any, what: str | None = None) -> str:
    """A product version as the store keeps it: ASCII digits separated by dots (`25`, `25.1`,
    `2025.1.3`), at most 40 characters. Spaces around it are trimmed and full-width digits read
    as digits, as in a number; anything else (`25.²`, `v25`, `25..1`, `25.1-beta`) is refused,
    saying how to write one. The one check for every version typed: a bank's, a build's."""
    what = what or _("The product version")
    value = check_text("" if text is None else str(text).strip(), what, limit=MAX_VERSION)
    version = _digits(value)
    if _VERSION.fullmatch(version) is None:
        raise InvalidInput(
            _("{what} {text} is not a version: write numbers separated by dots, e.g. 25, 25.1 or 2025.1.3.").format(
                what=what, text=shown(value)
            )
        )
    return version


# -- names that must be unique -------------------------------------------------------------
def name_key(name: str) -> str:
    """What tells two names apart: not case (`Design`, `DESIGN`), width or compatibility forms
    (`Ｄｅｓｉｇｎ`, Unicode NFKC), invisible characters (`Design` + U+3164), nor spaces around or
    between words. Two names with the same key are one name."""
    folded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", name))
    folded = unicodedata.normalize("NFKC", folded.casefold())
    return " ".join(folded.split())


def same_name(name: str, names: Iterable[str]) -> str | None:
    """The first of `names` that is one name with `name` (see `name_key`), or None."""
    key = name_key(name)
    return next((other for other in names if name_key(other) == key), None)


def name_taken(what: str, name: str, existing: str) -> RuleViolation:
    """The refusal of a new name that is one name with an `existing` one: which, and what to do."""
    if name == existing:
        return RuleViolation(
            _("{what} {existing} already exists: choose another name, or use that one.").format(
                what=what, existing=shown(existing, MAX_NAME)
            )
        )
    return RuleViolation(
        _(
            "{what} {existing} already exists, and {name} differs from it only by case, width, spaces or "
            "invisible characters: choose another name, or use {existing}."
        ).format(what=what, existing=shown(existing, MAX_NAME), name=shown(name, MAX_NAME))
    )


def check_new_name(name: str, names: Iterable[str], what: str, *, reuse: bool = False) -> None:
    """Refuse `name` if it is one name with one of `names` (`name_taken`). With `reuse`, the very
    same name is fine: it names that existing thing (a product that gets another bank)."""
    names = list(names)
    if reuse and name in names:
        return
    other = same_name(name, names)
    if other is not None:
        raise name_taken(what, name, other)
