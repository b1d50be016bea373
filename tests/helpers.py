"""Helpers shared by the test files: refusals that must change nothing, waiting on the app."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest


def file_bytes(portal: Any) -> bytes:
    return portal.store.path.read_bytes()


def refused(portal: Any, exc_type: type[Exception], fn: Callable[..., Any], *args: Any, match: str | None = None, **kw: Any) -> Exception:
    """Call must raise `exc_type` and leave the store file byte-for-byte as it was."""
    before = file_bytes(portal)
    with pytest.raises(exc_type, match=match) as info:
        fn(*args, **kw)
    assert file_bytes(portal) == before, "a refusal changed the store"
    assert str(info.value).strip(), "a refusal must say what was wrong"
    return info.value


def messages(app: Any) -> str:
    """Every notification the app has shown: title and message, one per line."""
    return "\n".join(f"{n.title}\n{n.message}" if n.title else str(n.message) for n in app._notifications)


def confirm_text(dialog: Any) -> str:
    rows = "\n".join(f"{label}: {value}" for label, value in dialog.rows)
    return f"{dialog.title_text}\n{rows}\n{dialog.warning}"


async def until(pilot: Any, condition: Callable[[], bool], what: str = "condition", timeout: float = 20) -> None:
    """Poll (a busy machine running tests in parallel can be slow, never wrong)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (screen on top: {pilot.app.screen!r})")
        await pilot.pause(0.01)
