"""`elp serve`: every portal operation over HTTP (Starlette under uvicorn), for the app and the
CLI elsewhere (elp_tui.remote) and for scripts. See app.py (the routes), api.py (what is exposed
and the OpenAPI document), run.py (listening, TLS, stopping). Never imports textual."""

from elp_tui.server.app import create_app
from elp_tui.server.run import ServeRefused, serve

__all__ = ["create_app", "serve", "ServeRefused"]
