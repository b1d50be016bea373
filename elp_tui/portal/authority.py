"""Authority (SPEC.md §6, §9): admin operations are refused for regular users, and each such
refusal is written to the organization's activity log.

One class decorator, `authority_checked`, wraps every public method of the Portal, so a new
operation cannot forget either half:

- A method whose first argument is `actor` is an admin operation unless marked `@any_member`.
  The wrapper checks the actor's role before the method runs, so a regular user is refused
  before any input is validated or any data is read for them. The method's own `_actor` call
  stays: it re-checks inside the transaction (the user may have been demoted meanwhile).
- A method marked `@vendor_only` is for the vendor's team (users with role vendor, in no
  organization): the wrapper checks the actor is one before the method runs. An organization
  member's attempt raises `VendorRequired` (an `AdminRequired`), logged in their organization's
  activity log like any refusal of authority.
- A method marked `@team_scoped` is for admins and for Team Admins of the team it names (seed
  002): the wrapper only checks the actor is a signed-in member of an organization, and the
  method itself checks, inside its transaction, that they are an admin or a Team Admin of that
  team (a regular user who is neither gets the usual `AdminRequired`, logged).
- Whatever raised it (that check, `_actor` inside a transaction, `sign_in(admin_required=True)`),
  an `AdminRequired` is logged once, in its own transaction, then raised on. The refused
  operation's transaction has already been abandoned, so the log entry is the only write.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from elp_tui.portal.errors import AdminRequired

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)


def any_member(method: F) -> F:
    """Mark an operation every signed-in member may run (their own data), not only admins."""
    method.__elp_any_member__ = True  # type: ignore[attr-defined]
    return method


def vendor_only(method: F) -> F:
    """Mark an operation of the vendor's team (granting, top-ups, builds, answering requests)."""
    method.__elp_vendor_only__ = True  # type: ignore[attr-defined]
    return method


def team_scoped(method: F) -> F:
    """Mark an operation an organization admin, or a Team Admin on their own teams, may run: the
    guard lets every member through and the method checks admin-or-Team-Admin-of-this-team."""
    method.__elp_team_scoped__ = True  # type: ignore[attr-defined]
    return method


def is_team_scoped(method: Callable[..., Any]) -> bool:
    return bool(getattr(method, "__elp_team_scoped__", False))


def is_vendor_only(method: Callable[..., Any]) -> bool:
    return bool(getattr(method, "__elp_vendor_only__", False))


def takes_actor(method: Callable[..., Any]) -> bool:
    params = list(inspect.signature(method).parameters)
    return len(params) > 1 and params[1] == "actor"


def needs_admin(method: Callable[..., Any]) -> bool:
    """An admin operation: acts for someone (`actor` first) and not marked `@any_member`,
    `@vendor_only` or `@team_scoped`."""
    return (takes_actor(method) and not getattr(method, "__elp_any_member__", False) and not is_vendor_only(method)
            and not is_team_scoped(method))


def public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    """Every public function of `cls` and its bases (what a screen or the CLI can call)."""
    found = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if inspect.isfunction(attr):
            found[name] = attr
    return found


def _guarded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    admin_only = needs_admin(method)
    vendor = is_vendor_only(method)
    member = takes_actor(method) and not admin_only and not vendor

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            if vendor:
                actor = args[0] if args else kwargs.get("actor")
                self._vendor_actor(self.store.read(), actor)
            elif admin_only or member:
                actor = args[0] if args else kwargs.get("actor")
                self._actor(self.store.read(), actor, admin=admin_only)
            return method(self, *args, **kwargs)
        except AdminRequired as exc:
            # Logged by the first guarded call that sees it, so once (dashboard -> list_banks).
            if not exc.logged:
                exc.logged = True
                self._log_refusal(exc, exc.operation or name)
            raise

    return wrapper


def authority_checked(cls: C) -> C:
    """Wrap every public method of `cls` (see the module docstring)."""
    for name, method in public_methods(cls).items():
        setattr(cls, name, _guarded(name, method))
    return cls
