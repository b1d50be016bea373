"""elp keys add / list / revoke, elp users reinvite (issue 11): the SSH keys that say who you are.

Every rule (who may bind whose key, what a public key looks like, a key bound twice) is the
portal's (KeysMixin); here the file is read, the quote shown, the answer asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elp_tui.cli.console import Column, Refused, only, plain
from elp_tui.cli.session import Session
from elp_tui.i18n import _
from elp_tui.portal.errors import NotFound
from elp_tui.portal.keys import ENROL_DAYS, MAX_KEY_TEXT, check_fingerprint

KEY_KEYS = ("fingerprint", "email", "type", "comment", "added_on", "added_by", "last_used_on")

KEY_COLUMNS = (
    Column("fingerprint", "FINGERPRINT"),  # never cut: it is what `elp keys revoke` takes
    Column("email", "USER", flex=True),
    Column("type", "TYPE", drop=3),
    Column("comment", "COMMENT", flex=True, drop=4, show=lambda v: v or "-"),
    Column("added_on", "ADDED", drop=2),
    Column("added_by", "ADDED BY", flex=True, drop=5),
    Column("last_used_on", "LAST USED", show=lambda v: v or "never"),
)


def short_fingerprint(fingerprint: str | None) -> str:
    """`SHA256:abcdefgh…`: enough to tell keys apart in a narrow column (the full one is in --json)."""
    if not fingerprint:
        return ""
    return fingerprint if len(fingerprint) <= 16 else fingerprint[:15] + "…"


# -- reading a .pub file ----------------------------------------------------------------
def read_public_key(s: Session, name: str) -> str:
    """The text of the .pub file `name` (`-`: standard input), or one line saying why it cannot be read.
    At most MAX_KEY_TEXT + 1 characters are read: a key is short, anything longer is refused by the portal."""
    if name == "-":
        stdin = s.console.stdin
        # At a terminal, the pasted line is enough (Enter ends it), so the question can follow.
        text = stdin.readline(MAX_KEY_TEXT + 1) if s.console.stdin_is_terminal() else stdin.read(MAX_KEY_TEXT + 1)
        if isinstance(text, bytes):  # a binary stdin (sys.stdin.buffer) all the same
            text = text.decode("utf-8", errors="replace")
        return text
    path = Path(name).expanduser()
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_KEY_TEXT * 4 + 4)
    except IsADirectoryError:
        raise Refused(_("{path} is a folder: give the .pub file of your key (e.g. ~/.ssh/id_ed25519.pub).").format(
            path=plain(name))) from None
    except FileNotFoundError:
        raise Refused(_("There is no file {path}: give the .pub file of your key (e.g. ~/.ssh/id_ed25519.pub); "
                        "make one with: ssh-keygen -t ed25519").format(path=plain(name))) from None
    except OSError as exc:
        raise Refused(_("Cannot read {path} ({error}): give a .pub file you can read.").format(
            path=plain(name), error=exc.strerror or exc)) from None
    return raw.decode("utf-8", errors="replace")


def _quiet(s: Session) -> bool:
    """--yes --json: a script asked for data only, no quote."""
    return bool(s.args.yes and getattr(s.args, "json", False))


# -- elp keys add -------------------------------------------------------------------------
def keys_add(s: Session) -> None:
    text = read_public_key(s, s.args.file)
    # The portal refuses first (not a member, a private key, two keys, a key bound already): no question for nothing.
    quote = s.portal.quote_add_key(s.actor, s.args.email, text)
    if not _quiet(s):
        s.console.line(_("Bind this SSH key (over SSH it signs in as {email}, with no password):").format(
            email=plain(quote.email)))
        s.console.pairs(quote.lines())
    s.console.confirm(s.args.yes)
    key = s.portal.add_key(s.actor, quote.email, text, expected=quote)
    if s.args.json:
        s.console.json(only(key, KEY_KEYS))
        return
    s.console.line(_("Key {fingerprint} is bound to {email}: it signs them in over SSH.").format(
        fingerprint=key["fingerprint"], email=plain(key["email"])))


# -- elp keys list ------------------------------------------------------------------------
def keys_list(s: Session) -> None:
    keys = s.portal.list_keys(s.actor, s.args.email or None)
    if s.args.json:
        s.console.json([only(k, KEY_KEYS) for k in keys])
        return
    if s.args.email:
        empty = _("{email} has no SSH key: bind one with 'elp keys add {email} --file KEY.pub'.").format(
            email=plain(s.args.email))
    else:
        empty = _("No SSH keys yet: bind one with 'elp keys add EMAIL --file KEY.pub'.")
    s.console.table(KEY_COLUMNS, keys, empty=empty)


# -- elp keys revoke ----------------------------------------------------------------------
def _managed_key(s: Session, fingerprint: str) -> dict[str, Any]:
    """The key `fingerprint` among those the actor manages (what the portal's revoke would find)."""
    for key in s.portal.list_keys(s.actor):
        if key["fingerprint"] == fingerprint:
            return key
    raise NotFound(_("No key {fingerprint} among the keys you manage: 'elp keys list' shows them.").format(
        fingerprint=fingerprint))


def keys_revoke(s: Session) -> None:
    fingerprint = check_fingerprint(s.args.fingerprint)
    key = _managed_key(s, fingerprint)
    s.console.line(_("Revoke this SSH key of {email}: it no longer signs anyone in.").format(email=plain(key["email"])))
    s.console.pairs([
        (_("user"), key["email"]),
        (_("key"), f"{key['type']} {key['fingerprint']}"),
        (_("comment"), key.get("comment") or "-"),
        (_("added"), _("{date} by {email}").format(date=key["added_on"], email=key["added_by"])),
        (_("last used"), key.get("last_used_on") or _("never")),
    ])
    if s.portal.via_key == fingerprint:
        s.console.line(_("This is the key of this very session: your next connection with it is refused."))
    s.console.confirm(s.args.yes)
    done = s.portal.revoke_key(s.actor, fingerprint)
    s.console.line(_("Key {fingerprint} of {email} is revoked: it no longer signs anyone in.").format(
        fingerprint=done["fingerprint"], email=plain(done["email"])))


# -- elp users reinvite -------------------------------------------------------------------
def users_reinvite(s: Session) -> None:
    user = s.portal.resend_invitation(s.actor, s.args.email)
    s.console.line(_(
        "A new invitation to {email} is queued in the outbox, with a new enrolment code valid {days} days. "
        "The code sent before no longer works."
    ).format(email=plain(user["email"]), days=ENROL_DAYS))


__all__ = ["keys_add", "keys_list", "keys_revoke", "users_reinvite", "read_public_key", "short_fingerprint"]
