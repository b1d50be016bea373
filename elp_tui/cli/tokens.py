"""elp tokens create / list / revoke (issue 14): the API tokens `elp serve` knows its clients by.

Every rule (whose tokens, how many, what a token id is) is the portal's (TokensMixin). A new
token is printed once: alone on stdout (so `elp tokens create > FILE` or `$(...)` keeps just it),
what it is and how to use it on stderr.
"""

from __future__ import annotations

from typing import Any

from elp_tui.cli.console import Column, only, plain
from elp_tui.cli.session import Session
from elp_tui.i18n import _
from elp_tui.portal.errors import NotFound
from elp_tui.portal.tokens import check_token_id

TOKEN_KEYS = ("id", "name", "email", "created_on", "last_used_on", "revoked_on", "revoked_by")

TOKEN_COLUMNS = (
    Column("id", "ID"),  # never cut: it is what `elp tokens revoke` takes
    Column("name", "NAME", flex=True, drop=4, show=lambda v: v or "-"),
    Column("email", "USER", flex=True),
    Column("created_on", "CREATED", drop=2),
    Column("last_used_on", "LAST USED", drop=3, show=lambda v: v or "never"),
    Column("revoked_on", "STATE", show=lambda v: f"revoked {v}" if v else "live"),
)


def how_to_use(token: str) -> str:
    return _("Use it with: ELP_SERVER=https://HOST:8750 ELP_TOKEN={token} elp licenses mine "
             "(or --server URL --token TOKEN; the app too).").format(token=token)


# -- elp tokens create ---------------------------------------------------------------------
def tokens_create(s: Session) -> None:
    made = s.portal.create_token(s.actor, s.args.name)
    if s.args.json:
        s.console.json(only(made, ("token", *TOKEN_KEYS)))
        s.console.note(_("The token will not be shown again: ELP keeps only its hash."))
        return
    name = f" ({plain(made['name'])})" if made.get("name") else ""
    s.console.note(_("API token {id}{name} of {email}, created. Copy it now: it will not be shown again "
                     "(ELP keeps only its hash).").format(id=made["id"], name=name, email=plain(made["email"])))
    s.console.raw(made["token"] + "\n")
    s.console.note(how_to_use(made["token"]))
    s.console.note(_("Lost or leaked: revoke it with 'elp tokens revoke {id}' and create another.").format(id=made["id"]))


# -- elp tokens list -----------------------------------------------------------------------
def tokens_list(s: Session) -> None:
    tokens = s.portal.list_tokens(s.actor, s.args.email or None)
    if s.args.json:
        s.console.json([only(t, TOKEN_KEYS) for t in tokens])
        return
    if s.args.email:
        empty = _("{email} has no API token: they create their own with 'elp tokens create'.").format(
            email=plain(s.args.email))
    else:
        empty = _("No API tokens yet: create one with 'elp tokens create --name NAME'.")
    s.console.table(TOKEN_COLUMNS, tokens, empty=empty)


# -- elp tokens revoke ---------------------------------------------------------------------
def _managed_token(s: Session, token_id: str) -> dict[str, Any] | None:
    """The token among those the actor sees (None: the portal's revoke says why not)."""
    for token in s.portal.list_tokens(s.actor):
        if token["id"] == token_id:
            return token
    return None


def tokens_revoke(s: Session) -> None:
    token_id = check_token_id(s.args.id)
    token = _managed_token(s, token_id)
    if token is None or token.get("revoked_on"):
        # Not one to show: the portal refuses, saying why (another member's, logged; revoked already; none such).
        s.portal.revoke_token(s.actor, token_id)
        raise NotFound(_("No token {id} among the tokens you manage: 'elp tokens list' shows them.").format(id=token_id))
    s.console.line(_("Revoke this API token of {email}: the server refuses it from then on.").format(
        email=plain(token["email"])))
    s.console.pairs([
        (_("token"), token["id"]),
        (_("name"), token.get("name") or "-"),
        (_("user"), token["email"]),
        (_("created"), token["created_on"]),
        (_("last used"), token.get("last_used_on") or _("never")),
    ])
    s.console.confirm(s.args.yes)
    done = s.portal.revoke_token(s.actor, token_id)
    s.console.line(_("Token {id} of {email} is revoked: the server refuses it from now on.").format(
        id=done["id"], email=plain(done["email"])))


__all__ = ["tokens_create", "tokens_list", "tokens_revoke", "TOKEN_KEYS"]
