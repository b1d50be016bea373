"""`elp serve`: the HTTP JSON API in front of the store (elp_tui.server)."""

from __future__ import annotations

from elp_tui.cli.session import Session
from elp_tui.portal.inputs import positive_int


def serve(session: Session) -> int:
    """Serve the store the command names (--db URL, --store PATH, $ELP_DB, $ELP_STORE)."""
    from elp_tui.server import serve as run_server

    args = session.args
    workers = positive_int(args.workers, "--workers", maximum=64)
    return run_server(session.portal.store, listen=args.listen, ssl_certfile=args.ssl_certfile,
                      ssl_keyfile=args.ssl_keyfile,
                      auth_failures=positive_int(args.max_auth_failures, "--max-auth-failures")
                      if args.max_auth_failures else None, workers=workers)
