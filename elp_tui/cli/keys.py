"""elp keys add / list / revoke, elp users reinvite (issue 11). Built by the keys helper."""

from __future__ import annotations

from elp_tui.cli.console import Refused
from elp_tui.cli.session import Session


def keys_add(s: Session) -> None:
    raise Refused("elp keys add is being built")


def keys_list(s: Session) -> None:
    raise Refused("elp keys list is being built")


def keys_revoke(s: Session) -> None:
    raise Refused("elp keys revoke is being built")


def users_reinvite(s: Session) -> None:
    raise Refused("elp users reinvite is being built")
