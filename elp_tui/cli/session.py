"""What every command runs with: the portal, the console, the store, who is acting."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elp_tui.cli.console import Console
from elp_tui.i18n import _
from elp_tui.portal import Portal, PermissionDenied


@dataclass
class Session:
    portal: Portal
    console: Console
    store_path: Path | str  # a store file, or a PostgreSQL URL (--db)
    args: argparse.Namespace
    user: dict[str, Any] | None = None

    @property
    def server(self) -> str | None:
        """The ELP server the portal runs on (--server / ELP_SERVER), None on a store of this host."""
        return getattr(self.portal, "server_url", None)

    @property
    def lang(self) -> str | None:
        return getattr(self.args, "lang", None) or os.environ.get("ELP_LANG") or None

    def who(self) -> str | None:
        """The email given with --as, else $ELP_USER."""
        return getattr(self.args, "as_user", None) or os.environ.get("ELP_USER") or None

    def sign_in(self, *, admin_required: bool = False, vendor_required: bool = False,
                vendor_allowed: bool = False, team_admin_allowed: bool = False) -> dict[str, Any]:
        """Every command run as an invited user is their first sign-in (SPEC §6); an admin-only
        command run by a regular user is refused first: the refusal's activity entry, naming
        the command, is all it writes. `vendor_required`: the same for the vendor's commands;
        `team_admin_allowed`: a command a Team Admin may run on their teams (the portal checks which)."""
        email = self.who()
        if not email:
            raise PermissionDenied(_("Say who you are: pass --as EMAIL or set ELP_USER."))
        self.user = self.portal.sign_in(email, admin_required=admin_required, operation=self.command(),
                                        vendor_required=vendor_required, vendor_allowed=vendor_allowed,
                                        team_admin_allowed=team_admin_allowed)
        return self.user

    def command(self) -> str:
        """The command as typed, without its arguments: `elp banks add`."""
        words = [getattr(self.args, "command", None), getattr(self.args, "action", None)]
        return " ".join(["elp", *(w for w in words if w)])

    @property
    def actor(self) -> str:
        assert self.user is not None, "sign_in() first"
        return self.user["email"]
