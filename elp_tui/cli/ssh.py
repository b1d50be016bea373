"""elp ssh setup / authorized-keys / session / enrol (issue 11). Built by the ssh helper."""

from __future__ import annotations

from elp_tui.cli.console import Refused
from elp_tui.cli.session import Session


def setup(s: Session) -> None:
    raise Refused("elp ssh setup is being built")


def authorized_keys(s: Session) -> None:
    raise Refused("elp ssh authorized-keys is being built")


def session(s: Session) -> None:
    raise Refused("elp ssh session is being built")


def enrol(s: Session) -> None:
    raise Refused("elp ssh enrol is being built")
