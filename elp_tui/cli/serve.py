"""`elp serve`: the HTTP JSON API in front of the store (elp_tui.server)."""

from __future__ import annotations

from elp_tui.cli.console import Refused
from elp_tui.cli.session import Session
from elp_tui.i18n import _


def serve(session: Session) -> int:
    from elp_tui.server import serve as run_server

    args = session.args
    store = session.portal.store
    db = getattr(args, "db", None)
    if db and type(store).__name__ != "PgStore":
        try:
            from elp_tui.store import open_store  # type: ignore[attr-defined]
        except ImportError:
            raise Refused(_("--db needs the PostgreSQL backend, which this installation of ELP lacks.")) from None
        store = open_store(db)
    return run_server(store, listen=args.listen, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
                      auth_failures=int(args.max_auth_failures) if args.max_auth_failures else None)
