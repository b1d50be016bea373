"""elp init, elp demo, elp check, and opening the terminal app.

textual is imported only inside `open_app`: every other command starts without it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from elp_tui.cli.console import Console, Refused, plain
from elp_tui.cli.session import Session
from elp_tui.portal.base import normalise_email


def _command(store_path: Path, email: str) -> str:
    return f"elp --store {shlex.quote(str(store_path))} --as {shlex.quote(email)}"


def init(s: Session) -> None:
    org = s.portal.init_organization(s.args.org, s.args.admin)
    admin = normalise_email(s.args.admin)  # as the portal stored it (trimmed, folded, lower case)
    s.console.line(f"Organization {plain(org['name'])} ({plain(org['id'])}) created in {plain(s.store_path)}.")
    s.console.line(f"Admin: {plain(admin)}. Next, the vendor grants it a credit bank (or seats):")
    s.console.line(
        f"  {plain(_command(s.store_path, 'VENDOR_STAFF'))} banks add --org {plain(org['id'])} "
        "--product NAME --credits N --start DATE --expires DATE"
    )
    s.console.line("  (a store without a vendor yet: 'elp vendor setup --name NAME --email ADDRESS --staff EMAIL' first)")


def demo(s: Session) -> int:
    try:
        from elp_tui.demo import write_demo
    except ModuleNotFoundError as exc:
        if exc.name not in ("elp_tui.demo",):
            raise
        raise Refused("the demo builder (elp_tui.demo) is not installed yet.") from None
    console = s.console
    result = write_demo(s.store_path, size=s.args.size, force=s.args.force, progress=console.out.isatty())
    store = Path(result.get("store") or s.store_path)
    admin, regular, vendor = result["admin"], result["regular"], result["vendor"]
    console.line(f"Admin:        {plain(admin)}")
    console.line(f"Regular user: {plain(regular)}")
    console.line(f"Vendor staff: {plain(vendor)}")
    if result.get("team_admin"):
        console.line(f"Team Admin:   {plain(result['team_admin'])} (of team {plain(result['team_admin_of'])})")
    console.line(f"Demo store:   {plain(store)}")
    if result.get("previous"):
        console.line(f"The store it replaced was not a demo: it is kept as {plain(result['previous'])}")
    console.line("Sign in with:")
    console.line(f"  {plain(_command(store, admin))}")
    console.line(f"  {plain(_command(store, regular))}")
    if result.get("team_admin"):
        console.line(f"  {plain(_command(store, result['team_admin']))}")
    console.line(f"The vendor's side (open requests, grants):")
    console.line(f"  {plain(_command(store, vendor))} vendor requests")
    if s.args.no_open or not console.out.isatty():
        return 0
    return open_app(console, store, admin, s.lang)


def check(s: Session) -> int:
    problems = s.portal.check()
    if not problems:
        s.console.line(f"OK: the store {plain(s.store_path)} keeps every invariant.")
        return 0
    for problem in problems:
        s.console.line(plain(problem))
    s.console.note(f"elp: {len(problems)} problem(s) found in {plain(s.store_path)}: the store has drifted.")
    return 1


def backup(s: Session) -> int:
    copy = s.portal.backup(s.actor, s.args.target, overwrite=s.args.force)
    if s.console.as_json:
        s.console.json(copy)
        return 0
    s.console.line(
        f"Backed up {plain(s.store_path)} to {plain(copy['path'])}: {copy['organizations']} organization(s), "
        f"{copy['users']} user(s), {copy['licenses']} license(s)."
    )
    s.console.line(f"Put it back with: {plain(_command(s.store_path, s.actor))} restore {plain(shlex.quote(copy['path']))}")
    return 0


def restore(s: Session) -> int:
    quote = s.portal.quote_restore(s.who(), s.args.source)
    if not s.console.as_json:
        s.console.line(f"Restore {plain(s.store_path)} from {plain(quote['path'])}; the backup holds:")
        s.console.pairs([
            ("organizations", quote["organizations"]), ("users", quote["users"]), ("licenses", quote["licenses"]),
        ])
        s.console.line("Every change made since the backup is replaced; the current file is kept beside it.")
    s.console.confirm(s.args.yes)
    done = s.portal.restore(s.who(), s.args.source)
    if s.console.as_json:
        s.console.json(done)
        return 0
    s.console.line(f"Restored {plain(s.store_path)} from {plain(done['path'])}.")
    if done["previous"]:
        s.console.line(f"The store it replaced is kept as {plain(done['previous'])}.")
    return 0


def open_app(console: Console, store_path: Path, email: str, lang: str | None, *, key: str | None = None,
             portal: Any = None) -> int:
    """The terminal app as `email`; `key`: the SSH key fingerprint the session signed in with;
    `portal`: the RemotePortal of a server (--server), instead of the store at `store_path`."""
    if lang:
        os.environ["ELP_LANG"] = lang
    try:
        from elp_tui.app import run_app
    except ImportError:
        console.line(
            "The terminal app is not installed yet: sign in with "
            f"{plain(_command(store_path, email))} <command>"
        )
        return 0
    if portal is not None:
        result = run_app(store_path, email, lang, portal=portal)
    else:
        result = run_app(store_path, email, lang, key=key) if key else run_app(store_path, email, lang)
    return result if isinstance(result, int) else 0


def app(s: Session) -> int:
    """`elp` with no command: the terminal app, signed in as --as / $ELP_USER."""
    user = s.sign_in()
    return open_app(s.console, s.store_path, user["email"], s.lang, portal=s.portal if s.server else None)
