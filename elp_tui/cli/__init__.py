"""The command-line interface: the same portal operations as the screens, for scripts and SSH.

Exit status: 0 done; 1 refused (one line on stderr, the store unchanged, except the activity
entry recording a regular user refused an admin command); 2 malformed command line. No textual import here: only `setup.open_app` imports it, when it draws.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from elp_tui.cli import batches, client, credits, details, insight, keys, mail, people, seats, serve, setup, ssh, tokens, vendor
from elp_tui.cli.console import Console, Refused, plain
from elp_tui.cli.parser import build_parser
from elp_tui.cli.session import Session
from elp_tui.i18n import _, detect_language, set_language
from elp_tui.portal import Portal, PortalError, StaleQuote, system_clock
from elp_tui.portal.clock import store_clock
from elp_tui.store import StoreError, default_store_path, is_url, open_store

Handler = Callable[[Session], "int | None"]

# (command, action) -> handler. Commands in NO_USER run without signing anyone in.
COMMANDS: dict[tuple[str, str | None], Handler] = {
    ("init", None): setup.init,
    ("demo", None): setup.demo,
    ("check", None): setup.check,
    ("backup", None): setup.backup,
    ("restore", None): setup.restore,
    ("signin", None): people.signin,
    ("db", "migrate"): setup.db_migrate,
    ("migrate", None): setup.migrate,
    ("log", None): people.log,
    ("report", None): insight.report,
    ("banks", "list"): credits.banks_list,
    ("banks", "add"): credits.banks_add,
    ("banks", "request"): credits.banks_request,
    ("banks", "refresh"): credits.banks_refresh,
    ("banks", "requests"): vendor.banks_requests,
    ("banks", "show"): details.banks_show,
    ("licenses", "list"): credits.licenses_list,
    ("licenses", "generate"): credits.licenses_generate,
    ("licenses", "renew"): batches.licenses_renew,  # one license, or a batch (--expiring-within)
    ("licenses", "return"): credits.licenses_return,
    ("licenses", "assign"): batches.licenses_assign,  # one license, or a batch (--from-csv)
    ("licenses", "export"): credits.licenses_export,
    ("licenses", "mine"): credits.licenses_mine,
    ("licenses", "show"): details.licenses_show,
    ("users", "list"): people.users_list,
    ("users", "invite"): people.users_invite,
    ("users", "set-role"): people.users_set_role,
    ("users", "set-status"): people.users_set_status,
    ("users", "delete"): people.users_delete,
    ("users", "import"): batches.users_import,
    ("users", "reinvite"): keys.users_reinvite,
    ("users", "show"): details.users_show,
    ("keys", "add"): keys.keys_add,
    ("keys", "list"): keys.keys_list,
    ("keys", "revoke"): keys.keys_revoke,
    ("tokens", "create"): tokens.tokens_create,
    ("tokens", "list"): tokens.tokens_list,
    ("tokens", "revoke"): tokens.tokens_revoke,
    ("versions", "list"): people.versions_list,
    ("versions", "restrict"): people.versions_restrict,
    ("versions", "unrestrict"): people.versions_unrestrict,
    ("seats", "add"): seats.seats_add,
    ("seats", "show"): seats.seats_show,
    ("seats", "request"): seats.seats_request,
    ("teams", "list"): seats.teams_list,
    ("teams", "create"): seats.teams_create,
    ("teams", "add"): seats.teams_add,
    ("teams", "remove"): seats.teams_remove,
    ("teams", "admin"): seats.teams_admin,
    ("teams", "show"): details.teams_show,
    ("outbox", "send"): mail.outbox_send,
    ("outbox", "list"): mail.outbox_list,
    ("outbox", "retry"): mail.outbox_retry,
    ("org", "language"): mail.org_language,
    ("vendor", "setup"): vendor.setup,
    ("vendor", "staff"): vendor.staff,
    ("vendor", "orgs"): vendor.orgs,
    ("vendor", "requests"): vendor.requests,
    ("vendor", "grant"): vendor.grant,
    ("vendor", "decline"): vendor.decline,
    ("vendor", "topup"): vendor.topup,
    ("vendor", "build"): vendor.build,
    ("ssh", "setup"): ssh.setup,
    ("ssh", "authorized-keys"): ssh.authorized_keys,
    ("ssh", "session"): ssh.session,
    ("ssh", "enrol"): ssh.enrol,
    ("serve", None): serve.serve,
}
# restore: the portal checks its restorer itself, since it must also mend a store nobody can sign in to.
# outbox send: run by the machine that holds the SMTP settings (cron, a service), like check.
NO_USER = {"init", "demo", "check", "restore", ("outbox", "send"), "ssh", "db", "migrate", "serve"}
# What a regular user may run: their own licenses, their sign-in. Every other command is for admins:
# a regular user is refused it before signing in, and the refusal, naming the command, is logged.
ANY_MEMBER = {("licenses", "mine"), ("signin", None), ("keys", "add"), ("keys", "list"), ("keys", "revoke"),
              ("tokens", "create"), ("tokens", "list"), ("tokens", "revoke"),
              # Details: a member's own license and themselves; the portal refuses (and logs) anyone else's.
              ("licenses", "show"), ("users", "show")}
# The vendor's commands: anyone else is refused before signing in (an organization member's
# refusal, naming the command, is logged in their organization). `vendor setup` signs in itself:
# its first run needs no one.
VENDOR_COMMANDS = {("banks", "add"), ("seats", "add")} | {key for key in COMMANDS if key[0] == "vendor"}
SIGNS_IN_ITSELF = {("vendor", "setup")}
# Admin commands a Team Admin (seed 002) runs too, on their own teams: a regular user who is no
# Team Admin is refused before signing in, like any admin command (and logged); a Team Admin signs
# in, and the portal refuses (and logs) acting on a team that is not theirs.
TEAM_SCOPED = {("teams", "list"), ("teams", "add"), ("teams", "remove"), ("seats", "show"), ("teams", "show")}
# Admin commands the vendor's staff run too (the handler shows them their side).
EITHER = {("banks", "requests"), ("outbox", "list"), ("outbox", "retry"), ("keys", "add"), ("keys", "list"),
          ("keys", "revoke"), ("tokens", "create"), ("tokens", "list"), ("tokens", "revoke")}


def state_path(server: str) -> Path:
    """Where the CLI remembers things about a server between runs (the banks `banks refresh` saw)."""
    from elp_tui.remote import state_path as path_for

    return path_for(server)


def store_path(args: argparse.Namespace) -> Path | str:
    """--db URL, else --store PATH, else $ELP_DB, else $ELP_STORE, else the user data folder. A
    PostgreSQL URL (postgresql://...) is kept as the text it is; a path is a Path."""
    if getattr(args, "db", None):
        if not is_url(args.db):
            raise Refused(_("--db takes a PostgreSQL URL (postgresql://USER@HOST/DATABASE); for a store file use --store PATH."))
        return args.db
    if getattr(args, "store", None):
        return Path(args.store).expanduser()
    env = os.environ.get("ELP_DB")
    if env:
        if not is_url(env):
            raise Refused(_("ELP_DB must be a PostgreSQL URL (postgresql://USER@HOST/DATABASE); for a store file set ELP_STORE."))
        return env
    return default_store_path()


def run(args: argparse.Namespace, console: Console, *, via_key: str | None = None) -> int:
    """One parsed command. `via_key`: the SSH key fingerprint the command came through (`elp ssh
    session`, signed in by it): every activity entry it writes records it. With --server (or
    ELP_SERVER) the command runs through that ELP server, as the token's user (cli/client.py)."""
    # --lang, else ELP_LANG, else the locale (LANG=fr_FR.UTF-8): refusals come from the portal in that language.
    set_language(detect_language(getattr(args, "lang", None)))
    try:
        system_clock()  # a bad ELP_TODAY is refused before anything is read or written
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if getattr(args, "lang", None):
        os.environ["ELP_LANG"] = args.lang
    server = client.server_of(args)
    if server is not None:  # the CLI as a client of `elp serve`: the same commands, run by the server
        client.refuse_host_only(args, server)
        portal = client.connect(args, server)
        try:
            return _run(Session(portal, console, state_path(server), args))
        finally:
            portal.close()
    path = store_path(args)
    store = open_store(path)
    # ELP_TODAY steers only a demo or test store: on a real one it is refused here, before anything.
    # `db migrate` and `migrate` read no store through this portal (the schema may not be there yet).
    portal = Portal(store, system_clock if args.command in ("db", "migrate") else store_clock(store))
    portal.via_key = via_key
    return _run(Session(portal, console, path, args))


def _run(session: Session) -> int:
    args = session.args
    if args.command is None:
        return setup.app(session)
    key = (args.command, getattr(args, "action", None))
    handler = COMMANDS[key]
    if args.command in NO_USER or key in NO_USER or key in SIGNS_IN_ITSELF:
        pass
    elif key in VENDOR_COMMANDS:
        session.sign_in(vendor_required=True)
    else:
        session.sign_in(admin_required=key not in ANY_MEMBER, vendor_allowed=key in EITHER,
                        team_admin_allowed=key in TEAM_SCOPED)
    result = handler(session)
    return result if isinstance(result, int) else 0


def refuse(console: Console, message: str) -> int:
    console.note(f"elp: {plain(message)}")
    return 1


def show_fresh_quote(console: Console, fresh: Any) -> None:
    """The quote as it stands now, after a StaleQuote: a typed portal quote, shown by its own lines."""
    if console.as_json:
        console.json(fresh.model_dump(mode="json"))
        return
    console.line(_("The quote as it stands now (run the command again to go ahead with it):"))
    console.pairs(fresh.lines())


def main(argv: Sequence[str] | None = None, *, via_key: str | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a malformed command line (2)
        return exc.code if isinstance(exc.code, int) else 2
    console = Console(as_json=bool(getattr(args, "json", False)))
    try:
        return run(args, console, via_key=via_key)
    except StaleQuote as exc:
        # One line on stderr, like every refusal; the fresh quote on stdout (JSON with --json).
        code = refuse(console, str(exc))
        if exc.fresh is not None:
            show_fresh_quote(console, exc.fresh)
        return code
    except (PortalError, StoreError, Refused) as exc:
        return refuse(console, str(exc))
    except KeyboardInterrupt:
        console.note("\nelp: interrupted.")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, without a traceback at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return refuse(console, f"{exc.strerror or exc}{where}")


__all__ = ["main", "build_parser", "COMMANDS"]
