"""The one error type every front end handles: a refusal or a store that cannot be used, with a
message written for the user (what was wrong, what to do). The portal's refusals and the store's
errors are both kinds of it, so a screen, the CLI or an HTTP front catches one type."""

from __future__ import annotations


class PortalError(Exception):
    """A refusal: what was wrong and what to do instead. Nothing was changed (an `AdminRequired`
    adds only its activity entry). `field`: the operation's parameter the refusal is about (its
    name, e.g. "start", "email"), so a form can show the refusal beside that field."""

    field: str | None = None

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        if field is not None:
            self.field = field
