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
from elp_tui.i18n import _
from elp_tui.portal.base import normalise_email
from elp_tui.store import is_url, open_store


def _command(store_path: Path | str, email: str) -> str:
    option = "--db" if is_url(store_path) else "--store"
    return f"elp {option} {shlex.quote(str(store_path))} --as {shlex.quote(email)}"


def init(s: Session) -> None:
    org = s.portal.init_organization(s.args.org, s.args.admin)
    admin = normalise_email(s.args.admin)  # as the portal stored it (trimmed, folded, lower case)
    s.console.line(f"Organization {plain(org['name'])} ({plain(org['id'])}) created in {plain(_shown(s.store_path))}.")
    s.console.line(f"Admin: {plain(admin)}. Next, the vendor grants it a credit bank (or seats):")
    s.console.line(
        f"  {plain(_command(_shown(s.store_path), 'VENDOR_STAFF'))} banks add --org {plain(org['id'])} "
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
    store = result.get("store") or s.store_path
    store = store if is_url(store) else Path(store)
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
        s.console.line(f"OK: the store {plain(_shown(s.store_path))} keeps every invariant.")
        return 0
    for problem in problems:
        s.console.line(plain(problem))
    s.console.note(f"elp: {len(problems)} problem(s) found in {plain(_shown(s.store_path))}: the store has drifted.")
    return 1


def backup(s: Session) -> int:
    copy = s.portal.backup(s.actor, s.args.target, overwrite=s.args.force)
    if s.console.as_json:
        s.console.json(copy)
        return 0
    s.console.line(
        f"Backed up {plain(_shown(s.store_path))} to {plain(copy['path'])}: {copy['organizations']} organization(s), "
        f"{copy['users']} user(s), {copy['licenses']} license(s)."
    )
    s.console.line(f"Put it back with: {plain(_command(_shown(s.store_path), s.actor))} restore {plain(shlex.quote(copy['path']))}")
    return 0


def restore(s: Session) -> int:
    quote = s.portal.quote_restore(s.who(), s.args.source)
    if not s.console.as_json:
        s.console.line(f"Restore {plain(_shown(s.store_path))} from {plain(quote['path'])}; the backup holds:")
        s.console.pairs([
            ("organizations", quote["organizations"]), ("users", quote["users"]), ("licenses", quote["licenses"]),
        ])
        s.console.line("Every change made since the backup is replaced; the current file is kept beside it.")
    s.console.confirm(s.args.yes)
    done = s.portal.restore(s.who(), s.args.source)
    if s.console.as_json:
        s.console.json(done)
        return 0
    s.console.line(f"Restored {plain(_shown(s.store_path))} from {plain(done['path'])}.")
    if done["previous"]:
        s.console.line(f"The store it replaced is kept as {plain(done['previous'])}.")
    return 0


def db_migrate(s: Session) -> int:
    """`elp --db URL db migrate`: create ELP's schema in the database, or bring it up to date."""
    from elp_tui.store.pg import PG_SCHEMA_VERSION, display_url, migrate_database

    if not is_url(s.store_path):
        raise Refused(_("'elp db migrate' is for a PostgreSQL database: give it with --db URL or ELP_DB (a store file "
                        "brings itself up to date at its first change)."))
    done = migrate_database(str(s.store_path))
    where = display_url(str(s.store_path))
    if not done:
        s.console.line(_("The database {where} already has ELP schema version {version}: nothing to do.").format(
            where=plain(where), version=PG_SCHEMA_VERSION))
        return 0
    for step in done:
        s.console.line(plain(step))
    s.console.line(_("The database {where} now has ELP schema version {version}.").format(
        where=plain(where), version=PG_SCHEMA_VERSION))
    return 0


def _shown(target: Path | str) -> str:
    from elp_tui.store.pg import display_url

    return display_url(str(target)) if is_url(target) else str(target)


def migrate(s: Session) -> int:
    """`elp migrate --from A --to B`: copy a whole store between a file and a database (either way).
    The source must pass `elp check`; the target is written at once (one file write, or one
    database transaction), then checked too, and must hold the very documents of the source."""
    from elp_tui.portal import Portal
    from elp_tui.portal.clock import store_clock

    source_target: Path | str = s.args.source if is_url(s.args.source) else Path(s.args.source).expanduser()
    dest_target: Path | str = s.args.target if is_url(s.args.target) else Path(s.args.target).expanduser()
    if _shown(source_target) == _shown(dest_target):
        raise Refused(_("--from and --to name the same store: nothing to move."))
    source = open_store(source_target)
    target = open_store(dest_target)
    try:
        if not source.exists():
            raise Refused(_("No store at {source}: nothing was moved.").format(source=_shown(source_target)))
        checker = Portal(source, store_clock(source))
        found = checker.check()
        if found:
            raise Refused(_("The store {source} has {n} problem(s) ('elp check' lists them): nothing was moved. "
                            "First: {first}").format(source=_shown(source_target), n=len(found), first=found[0]))
        tables = source.tables()
        if target.exists() and not s.args.force:
            raise Refused(_("{target} already holds a store; it was left untouched. Choose an empty target, or add "
                            "--force to replace it.").format(target=_shown(dest_target)))
        meta = {k: v for k, v in (tables.get("_meta", {}).get("1") or {}).items()
                if k not in ("schema", "generation", "commit", "tables", "used", "crc")}
        docs = {name: dict(rows) for name, rows in tables.items() if name != "_meta"}
        import datetime as dt

        # --force: a store replaced is first kept (beside the file, or in the database's elp_kept table).
        kept = target.create(docs, overwrite=bool(s.args.force), meta=meta,
                             keep_previous=f"before-migrate-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}")
        written = Portal(target, store_clock(target))
        found = written.check()
        copied = {name: dict(rows) for name, rows in target.tables().items() if name != "_meta"}
        same = {k: v for k, v in copied.items() if v} == {k: v for k, v in docs.items() if v}
        if found or not same:
            problem = found[0] if found else _("its documents differ from the source's")
            raise Refused(_("The store written to {target} does not pass 'elp check' ({problem}); the source {source} is "
                            "unchanged.").format(target=_shown(dest_target), problem=problem, source=_shown(source_target)))
    finally:
        for store in (source, target):
            close = getattr(store, "close", None)
            if close is not None:
                close()
    counts = ", ".join(f"{len(docs.get(name, {}))} {name}" for name in ("organizations", "users", "licenses"))
    s.console.line(_("Moved the store {source} to {target} ({counts}); 'elp check' passes on both.").format(
        source=plain(_shown(source_target)), target=plain(_shown(dest_target)), counts=counts))
    if kept:
        s.console.line(_("The store it replaced is kept as {kept}.").format(kept=plain(str(kept))))
    return 0


def open_app(console: Console, store_path: Path | str, email: str, lang: str | None, *, key: str | None = None,
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
