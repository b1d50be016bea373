"""The command line: names scripts and admins rely on (keep them stable)."""

from __future__ import annotations

import argparse
from typing import Callable, NoReturn

from elp_tui.portal.errors import InvalidInput
from elp_tui.portal.inputs import is_whole_number, positive_int

LANGS = ("en", "fr")
LICENSE_TYPES = ("node-lock", "multiseat", "floating")


class Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line is echoed with its control characters escaped:
    what was typed (or pasted) never reaches the terminal as an escape."""

    def error(self, message: str) -> NoReturn:
        from elp_tui.cli.console import plain

        super().error(plain(message))


def count(what: str, minimum: int = 1) -> Callable[[str], str]:
    """A whole number option: digits go on to the portal, which checks the range (exit 1, the store
    untouched); anything else is a malformed command line (exit 2) told the range by the portal."""

    def parse(text: str) -> str:
        if is_whole_number(text):
            return text
        try:
            positive_int(text, what, minimum=minimum)
        except InvalidInput as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return parse


def _globals(defaults: bool) -> argparse.ArgumentParser:
    """--store/--as/--lang/--server/--token, accepted before the command and after it.

    After the command they default to SUPPRESS so they never overwrite the values given
    before it.
    """
    parent = Parser(add_help=False)
    default = None if defaults else argparse.SUPPRESS
    parent.add_argument("--store", metavar="PATH", default=default,
                        help="the store file (default: $ELP_STORE, else your user data folder)")
    parent.add_argument("--db", metavar="URL", default=default,
                        help="a PostgreSQL database instead of a store file: postgresql://USER@HOST/DB (default: $ELP_DB)")
    parent.add_argument("--as", dest="as_user", metavar="EMAIL", default=default,
                        help="act as this user (default: $ELP_USER)")
    parent.add_argument("--lang", choices=LANGS, default=default, help="language of the terminal app")
    parent.add_argument("--server", metavar="URL", default=default,
                        help="use the ELP server at URL ('elp serve') instead of a store (default: $ELP_SERVER)")
    parent.add_argument("--token", metavar="TOKEN", default=default,
                        help="your API token for --server (default: $ELP_TOKEN; 'elp tokens create' makes one)")
    return parent


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def _all_or_nothing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all-or-nothing", action="store_true",
                        help="a batch: if any row is refused, change nothing (default: go ahead with the allowed rows)")


def _group(sub: argparse._SubParsersAction, name: str, help: str, common: argparse.ArgumentParser) -> argparse._SubParsersAction:
    parser = sub.add_parser(name, help=help, description=help, parents=[common])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    return actions


def _version() -> str:
    """The installed distribution's version (a wheel, pipx or uv tool install, or the editable one)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("elp-tui")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    common = _globals(defaults=False)
    parser = Parser(
        prog="elp",
        description="Enterprise License Portal: credit banks, licenses, seat pools. "
        "Without a command, opens the terminal app.",
        parents=[_globals(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"elp {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create an organization and its first admin", parents=[common])
    p.add_argument("--org", required=True, metavar="NAME")
    p.add_argument("--admin", required=True, metavar="EMAIL")

    p = sub.add_parser("demo", help="write a demo store and open it", parents=[common])
    p.add_argument("--size", choices=("small", "large"), default="small")
    p.add_argument("--force", action="store_true", help="overwrite an existing store")
    p.add_argument("--no-open", action="store_true", help="do not open the terminal app afterwards")

    # -- banks ---------------------------------------------------------------------
    banks = _group(sub, "banks", "credit banks", common)
    p = banks.add_parser("list", help="banks with used, remaining and forfeited credits", parents=[common])
    _json(p)
    p = banks.add_parser("add", help="the vendor: grant an organization a credit bank", parents=[common])
    p.add_argument("--org", metavar="ID", dest="org", help="the organization ('elp vendor orgs' lists them)")
    p.add_argument("--product", required=True, metavar="NAME")
    p.add_argument("--credits", required=True, type=count("--credits"), metavar="N")
    p.add_argument("--start", required=True, metavar="DATE")
    p.add_argument("--expires", required=True, metavar="DATE", help="first day the bank is no longer valid")
    p.add_argument("--version", metavar="V", dest="product_version", help="numbers separated by dots, e.g. 25.1")
    p.add_argument("--portable", action="store_true")
    _json(p)
    p = banks.add_parser("request", help="ask the vendor for more credits", parents=[common])
    p.add_argument("bank_id", metavar="BANK_ID")
    p.add_argument("--credits", required=True, type=count("--credits"), metavar="N")
    _yes(p)
    banks.add_parser("refresh", help="reload the grants (from the vendor's feed when one is set: the store's, else ELP_VENDOR_FEED) and show what changed", parents=[common])
    p = banks.add_parser("requests", help="requests to the vendor and their state (the vendor: every open one)",
                         parents=[common])
    _json(p)
    p = banks.add_parser("show", help="one bank whole: its licenses, ledger, requests and history", parents=[common])
    p.add_argument("bank_id", metavar="BANK_ID")
    _json(p)

    # -- licenses ------------------------------------------------------------------
    lic = _group(sub, "licenses", "licenses", common)
    p = lic.add_parser("list", help="the organization's licenses", parents=[common])
    _json(p)
    p = lic.add_parser("generate", help="add licenses paid from a bank", parents=[common])
    p.add_argument("--bank", required=True, metavar="ID")
    p.add_argument("--type", required=True, choices=LICENSE_TYPES, dest="license_type")
    p.add_argument("--months", required=True, type=count("--months"), metavar="N")
    p.add_argument("--quantity", required=True, type=count("--quantity"), metavar="N")
    p.add_argument("--start", required=True, metavar="DATE")
    p.add_argument("--email", required=True, metavar="EMAIL")
    _yes(p)
    _json(p)
    p = lic.add_parser("renew", help="extend a license (and raise a multiseat's computers), or with --expiring-within "
                       "every license that expires soon, in one batch", parents=[common])
    p.add_argument("activation_id", metavar="ACTIVATION_ID", nargs="?", help="the license (or --expiring-within for a batch)")
    p.add_argument("--months", type=count("--months", minimum=0), metavar="N",
                   help="months to add (default: the license's current term, as a renewal follows the previous settings)")
    p.add_argument("--computers", type=count("--computers"), metavar="N")
    p.add_argument("--expiring-within", type=count("--expiring-within", minimum=0), metavar="DAYS",
                   help="a batch: every license that expires within DAYS days (with the filters below)")
    p.add_argument("--product", metavar="NAME", help="a batch: only this product's licenses")
    p.add_argument("--bank", metavar="ID", help="a batch: only the licenses of this bank")
    p.add_argument("--assignee", metavar="EMAIL", help="a batch: only the licenses assigned to this member")
    _all_or_nothing(p)
    _yes(p)
    _json(p)
    p = lic.add_parser("return", help="take a portable license back from its user", parents=[common])
    p.add_argument("activation_id", metavar="ACTIVATION_ID")
    p.add_argument("--email", required=True, metavar="EMAIL", help="the user it is assigned to")
    _yes(p)
    p = lic.add_parser("assign", help="give a returned license to a member, or many from a CSV file", parents=[common])
    p.add_argument("activation_id", metavar="ACTIVATION_ID", nargs="?", help="the license (or --from-csv for a batch)")
    p.add_argument("--email", metavar="EMAIL", help="who receives it")
    p.add_argument("--from-csv", metavar="FILE", help="a batch: rows of activation ID, email (a header row is optional)")
    _all_or_nothing(p)
    _yes(p)
    lic.add_parser("export", help="CSV of every license on stdout", parents=[common])
    p = lic.add_parser("mine", help="my assigned licenses with download links", parents=[common])
    _json(p)
    p = lic.add_parser("show", help="one license whole: every field, why an action is not possible, its history",
                       parents=[common])
    p.add_argument("activation_id", metavar="ACTIVATION_ID")
    _json(p)

    # -- users ---------------------------------------------------------------------
    users = _group(sub, "users", "users and roles", common)
    p = users.add_parser("list", help="members of the organization", parents=[common])
    _json(p)
    p = users.add_parser("invite", help="invite a user by email", parents=[common])
    p.add_argument("email", metavar="EMAIL")
    p.add_argument("--role", choices=("admin", "regular"), default="regular")
    p = users.add_parser("set-role", help="make a member admin or regular", parents=[common])
    p.add_argument("email", metavar="EMAIL")
    p.add_argument("role", choices=("admin", "regular"), metavar="ROLE")
    p = users.add_parser("set-status", help="activate or deactivate a member", parents=[common])
    p.add_argument("email", metavar="EMAIL")
    p.add_argument("status", choices=("active", "inactive"))
    p = users.add_parser("delete", help="remove a member (their seats return to the pools)", parents=[common])
    p.add_argument("email", metavar="EMAIL")
    _yes(p)
    p = users.add_parser("import", help="invite members and add them to teams from a CSV file (email, role, teams)",
                         parents=[common])
    p.add_argument("file", metavar="FILE.csv", help="rows of email, role (admin or regular; empty: regular), "
                   "teams separated by ';' (a header row is optional)")
    _all_or_nothing(p)
    _yes(p)
    p = users.add_parser("reinvite", help="send an invited member a new invitation and enrolment code", parents=[common])
    p.add_argument("email", metavar="EMAIL")
    p = users.add_parser("show", help="one member whole: role, teams, seats, licenses, keys, history", parents=[common])
    p.add_argument("email", metavar="EMAIL")
    _json(p)

    # -- SSH keys ------------------------------------------------------------------
    keys = _group(sub, "keys", "SSH keys: who you are over SSH", common)
    p = keys.add_parser("add", help="bind a public key to a member (yourself, or as an admin any member)",
                        parents=[common])
    p.add_argument("email", metavar="EMAIL")
    p.add_argument("--file", required=True, metavar="PUB_FILE", help="the .pub file, or - to read it from stdin")
    _yes(p)
    _json(p)
    p = keys.add_parser("list", help="keys you manage (an admin: the organization's; anyone: their own)",
                        parents=[common])
    p.add_argument("email", metavar="EMAIL", nargs="?", help="only this member's keys")
    _json(p)
    p = keys.add_parser("revoke", help="unbind a key: it no longer signs anyone in", parents=[common])
    p.add_argument("fingerprint", metavar="FINGERPRINT", help="as 'elp keys list' shows it (SHA256:...)")
    _yes(p)

    # -- API tokens (elp serve) ------------------------------------------------------
    tokens = _group(sub, "tokens", "API tokens: who you are to 'elp serve' (ELP_TOKEN)", common)
    p = tokens.add_parser("create", help="a new token of your own, shown once (ELP keeps only its hash)",
                          parents=[common])
    p.add_argument("--name", metavar="NAME", help="what it is for: a machine, a script (e.g. ci)")
    _json(p)
    p = tokens.add_parser("list", help="tokens you manage (an admin: the organization's; anyone: their own)",
                          parents=[common])
    p.add_argument("--email", metavar="EMAIL", help="only this member's tokens")
    _json(p)
    p = tokens.add_parser("revoke", help="revoke a token: the server refuses it from then on", parents=[common])
    p.add_argument("id", metavar="ID", help="as 'elp tokens list' shows it (tok-0001)")
    _yes(p)

    # -- versions ------------------------------------------------------------------
    versions = _group(sub, "versions", "product versions and restrictions", common)
    p = versions.add_parser("list", help="builds and which are accessible", parents=[common])
    _json(p)
    p = versions.add_parser("restrict", help="allow only the selected builds", parents=[common])
    p.add_argument("product", metavar="PRODUCT")
    p.add_argument("--builds", required=True, metavar="V[,V...]")
    p = versions.add_parser("unrestrict", help="allow every build again", parents=[common])
    p.add_argument("product", metavar="PRODUCT")

    # -- seats and teams -----------------------------------------------------------
    seats = _group(sub, "seats", "seat pools", common)
    p = seats.add_parser("add", help="the vendor: grant an organization seats", parents=[common])
    p.add_argument("--org", metavar="ID", dest="org", help="the organization ('elp vendor orgs' lists them)")
    p.add_argument("--product", required=True, metavar="NAME")
    p.add_argument("--seats", required=True, type=count("--seats"), metavar="N")
    _json(p)
    p = seats.add_parser("show", help="seat consumption per pool and members per team", parents=[common])
    _json(p)
    p = seats.add_parser("request", help="ask the vendor for more seats", parents=[common])
    p.add_argument("--product", required=True, metavar="NAME")
    p.add_argument("--seats", required=True, type=count("--seats"), metavar="N")
    _yes(p)

    teams = _group(sub, "teams", "teams of a seat pool", common)
    p = teams.add_parser("list", help="teams and their members", parents=[common])
    _json(p)
    p = teams.add_parser("create", help="create a team in a seat pool", parents=[common])
    p.add_argument("name", metavar="NAME")
    p.add_argument("--pool", required=True, metavar="PRODUCT")
    p = teams.add_parser("add", help="add a member to a team (takes a seat)", parents=[common])
    p.add_argument("team", metavar="TEAM")
    p.add_argument("email", metavar="EMAIL")
    _yes(p)
    p = teams.add_parser("remove", help="remove a member from a team (keeps the seat)", parents=[common])
    p.add_argument("team", metavar="TEAM")
    p.add_argument("email", metavar="EMAIL")
    _yes(p)
    p = teams.add_parser("admin", help="make a member a Team Admin of a team (--remove: no longer)", parents=[common])
    p.add_argument("team", metavar="TEAM")
    p.add_argument("email", metavar="EMAIL")
    p.add_argument("--remove", action="store_true", help="they stop being its Team Admin")
    p = teams.add_parser("show", help="one team whole: members and since when, seats, Team Admins, history",
                         parents=[common])
    p.add_argument("team", metavar="TEAM")
    _json(p)

    # -- email ---------------------------------------------------------------------
    outbox = _group(sub, "outbox", "email waiting to be sent, sent, failed", common)
    outbox.add_parser("send", help="queue today's reminders and deliver what is due over SMTP", parents=[common])
    p = outbox.add_parser("list", help="the organization's email and its delivery state", parents=[common])
    p.add_argument("--state", choices=("queued", "sending", "sent", "failed"))
    _json(p)
    p = outbox.add_parser("retry", help="send a failed (or stuck) message again", parents=[common])
    p.add_argument("mail_id", metavar="ID")
    org = _group(sub, "org", "the organization's settings", common)
    p = org.add_parser("language", help="the language of the organization's emails", parents=[common])
    p.add_argument("language", choices=LANGS, metavar="LANG", help="en or fr")
    # -- the vendor's side ---------------------------------------------------------
    vendor = _group(sub, "vendor", "the vendor's side: settings, organizations, grants, requests", common)
    p = vendor.add_parser("setup", help="set up the vendor (first time: no --as needed), or change its settings "
                          "(only what is given)", parents=[common])
    p.add_argument("--name", metavar="NAME", help="the vendor's name (needed the first time)")
    p.add_argument("--email", metavar="ADDRESS", help="where requests from organizations go (needed the first time)")
    p.add_argument("--staff", metavar="EMAIL",
                   help="the first member of the vendor's team (needed the first time; later ones: 'elp vendor staff')")
    p.add_argument("--feed", metavar="URL", help="the vendor's grants feed (http or https)")
    p.add_argument("--products", metavar="P[,P...]", help="the products this vendor answers for (default: all)")
    p = vendor.add_parser("staff", help="add a member to the vendor's team", parents=[common])
    p.add_argument("email", metavar="EMAIL")
    p = vendor.add_parser("orgs", help="every organization, its banks, pools and open requests", parents=[common])
    _json(p)
    p = vendor.add_parser("requests", help="the open requests of every organization", parents=[common])
    p.add_argument("--all", action="store_true", help="answered requests too")
    _json(p)
    p = vendor.add_parser("grant", help="grant a request (what was asked, or --amount)", parents=[common])
    p.add_argument("request_id", metavar="REQUEST_ID")
    p.add_argument("--amount", type=count("--amount"), metavar="N")
    p.add_argument("--to", metavar="BANK_OR_POOL", help="another bank or pool of the organization and product")
    _yes(p)
    p = vendor.add_parser("decline", help="decline a request, saying why", parents=[common])
    p.add_argument("request_id", metavar="REQUEST_ID")
    p.add_argument("--reason", required=True, metavar="TEXT")
    _yes(p)
    p = vendor.add_parser("topup", help="more credits in a bank, or a later expiry", parents=[common])
    p.add_argument("bank_id", metavar="BANK_ID")
    p.add_argument("--credits", type=count("--credits"), metavar="N")
    p.add_argument("--expires", metavar="DATE", help="the new expiry (first day no longer valid)")
    _yes(p)
    _json(p)
    p = vendor.add_parser("build", help="publish a build of a product", parents=[common])
    p.add_argument("--product", required=True, metavar="NAME")
    p.add_argument("--version", required=True, metavar="V", dest="version")
    p.add_argument("--released", required=True, metavar="DATE")
    p.add_argument("--windows", metavar="URL")
    p.add_argument("--macos", metavar="URL")
    p.add_argument("--linux", metavar="URL")

    # -- the rest ------------------------------------------------------------------
    p = sub.add_parser("report", help="where the credits go: burn rate and forecast per bank, licenses expiring "
                       "per week, seat use over time", parents=[common])
    _json(p)
    p = sub.add_parser("log", help="the activity log, newest first", parents=[common])
    _json(p)
    sub.add_parser("check", help="check every invariant of the store", parents=[common])
    p = sub.add_parser("backup", help="copy the whole store to a file (0600)", parents=[common])
    p.add_argument("target", metavar="PATH")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    _json(p)
    p = sub.add_parser("restore", help="put a backup back (checked first; the current store is kept aside)",
                       parents=[common])
    p.add_argument("source", metavar="PATH")
    _yes(p)
    _json(p)
    sub.add_parser("signin", help="first sign-in of an invited user", parents=[common])
    db = _group(sub, "db", "the PostgreSQL database behind --db / $ELP_DB", common)
    db.add_parser("migrate", help="create ELP's schema in the database, or bring it to this release's version",
                  parents=[common])
    p = sub.add_parser("migrate", help="move a whole store between a file and a PostgreSQL database (either way), "
                       "checked on both sides", parents=[common])
    p.add_argument("--from", dest="source", required=True, metavar="PATH_OR_URL", help="the store to copy")
    p.add_argument("--to", dest="target", required=True, metavar="PATH_OR_URL", help="where to write it (must be empty)")
    p.add_argument("--force", action="store_true", help="replace a store already at the target")

    # -- the HTTP service (elp_tui.server) --------------------------------------------
    p = sub.add_parser("serve", help="serve the portal over HTTP (JSON API, API tokens) for the app and the CLI elsewhere",
                       parents=[common])
    p.add_argument("--listen", default="127.0.0.1:8750", metavar="HOST:PORT",
                   help="the address and port to listen on (default: 127.0.0.1:8750)")
    p.add_argument("--ssl-certfile", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--ssl-keyfile", metavar="FILE", help="the certificate's private key (PEM)")
    p.add_argument("--workers", type=count("--workers"), default="1", metavar="N",
                   help="server processes sharing the port (default: 1)")
    p.add_argument("--max-auth-failures", type=count("--max-auth-failures"), default=None, metavar="N",
                   help="failed authentications a client address may make a minute before it is refused (default: 10)")

    # -- sign-in by SSH key (OpenSSH runs these; `setup` prints the server's configuration) --
    ssh = _group(sub, "ssh", "sign-in by SSH key through OpenSSH", common)
    p = ssh.add_parser("setup", help="print the service account, sshd_config block and commands that set ELP up over SSH",
                       parents=[common])
    p.add_argument("--user", default="elp", metavar="ACCOUNT", help="the service account (default: elp)")
    p.add_argument("--host", metavar="HOST", help="the server's name, as members will type it")
    p = ssh.add_parser("authorized-keys", help="sshd's AuthorizedKeysCommand: %%u %%t %%k", parents=[common])
    p.add_argument("account", metavar="USER")
    p.add_argument("key_type", metavar="TYPE")
    p.add_argument("key", metavar="KEY")
    p = ssh.add_parser("session", help="what a bound key runs (from authorized-keys): the app, or $SSH_ORIGINAL_COMMAND",
                       parents=[common])
    p.add_argument("--key", required=True, metavar="FINGERPRINT", dest="fingerprint")
    p = ssh.add_parser("enrol", help="what an unknown key runs (from authorized-keys): the enrolment",
                       parents=[common])
    p.add_argument("--key-type", required=True, metavar="TYPE")
    p.add_argument("--key", required=True, metavar="KEY")
    return parser
