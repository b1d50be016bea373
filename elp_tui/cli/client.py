"""The CLI as a client of `elp serve`: --server URL / --token T (or ELP_SERVER / ELP_TOKEN).

Every command runs unchanged on a RemotePortal (elp_tui.remote): the server acts as the token's
user, so --as (or ELP_USER) naming anyone else is refused; the commands that belong to the host
that holds the store (set-up, demo, backup, restore, check, mail delivery, SSH) are refused before
the server is even asked, saying to run them there.

httpx is imported only when a server is given: a command on a local store starts without it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from elp_tui.cli.console import Refused, plain
from elp_tui.i18n import _
from elp_tui.portal.inputs import normalise_email
from elp_tui.portal.errors import InvalidInput

# Commands (or (command, action)) that need the store's own host: its files, its SMTP settings,
# its sshd, its database. Names other parts add later are listed too (harmless when absent).
HOST_ONLY = {"init", "demo", "check", "backup", "restore", ("outbox", "send"), "ssh", "serve", "db",
             "migrate"}


def server_of(args: argparse.Namespace) -> str | None:
    """The server to use, or None for a store: --server, else (unless --store or --db is given)
    $ELP_SERVER. --server together with --store or --db is refused: which one was meant?"""
    flag = getattr(args, "server", None)
    local = getattr(args, "store", None) or getattr(args, "db", None)
    if flag:
        if local:
            raise Refused(_("--server and {option} name two different places: give one of them. Nothing was done.")
                          .format(option="--store" if getattr(args, "store", None) else "--db"))
        return _checked(flag)
    if local:
        return None  # a store named on the command line wins over the environment's server
    env = os.environ.get("ELP_SERVER")
    return _checked(env) if env else None


def _checked(url: str) -> str:
    from elp_tui.remote import check_server_url  # httpx only when a server is given

    return check_server_url(url)


def refuse_host_only(args: argparse.Namespace, server: str) -> None:
    """A command of the store's host, asked through a server: refused before anything is sent."""
    key = (args.command, getattr(args, "action", None))
    if args.command in HOST_ONLY or key in HOST_ONLY:
        command = " ".join(w for w in ("elp", *key) if w)
        raise Refused(_("'{command}' runs on the host that holds the store, not through the server {url}: run it "
                        "there, with --store PATH (or --db URL). Nothing was done.").format(command=command, url=server))


def connect(args: argparse.Namespace, server: str) -> Any:
    """A RemotePortal for `server` with the token of --token / $ELP_TOKEN, and the acting user
    set to the token's own (asked from the server): --as or $ELP_USER naming another is refused."""
    from elp_tui.remote import RemotePortal

    token = getattr(args, "token", None) or os.environ.get("ELP_TOKEN") or ""
    if not token.strip():
        raise Refused(_("No token for the server {url}: pass --token TOKEN or set ELP_TOKEN (make one with "
                        "'elp tokens create', or ask the store's owner for one).").format(url=server))
    portal = RemotePortal(server, token.strip())
    try:
        owner = portal.whoami()["email"]
        for option, given in (("--as", getattr(args, "as_user", None)), ("ELP_USER", os.environ.get("ELP_USER"))):
            if given and _address(given) != owner:
                raise Refused(_("{option} {email} refused: the token given belongs to {owner}, and the server acts "
                                "as the token's user. Use {email}'s own token. Nothing was done.").format(
                    option=option, email=plain(given), owner=plain(owner)))
    except BaseException:
        portal.close()
        raise
    args.as_user = owner
    return portal


def _address(text: str) -> str:
    try:
        return normalise_email(text)
    except InvalidInput:
        return text.strip().lower()
