"""The app and email: its background worker delivers the outbox when an SMTP server is configured
(and only then; the day's reminders are queued either way); the Outbox page shows each message's state and error, and retries with t."""

from __future__ import annotations

import pytest

from elp_tui.app import make_app
from elp_tui.screens.outbox import OutboxPage
from tests.conftest import ADMIN, TODAY
from tests.helpers import file_bytes, grant_bank, messages, store_tables, until

ANA = "ana@lumenfox.studio"


def app_for(portal, tmp_path, user: str = ADMIN):
    return make_app(portal.store, user, clock=TODAY, settings_file=tmp_path / "settings.json")


def states(portal) -> dict[str, str]:
    return {d["to"]: d["state"] for d in store_tables(portal.store.path)["outbox"].values()}


async def open_outbox(app, pilot) -> OutboxPage:
    number = [p.PAGE_ID for p in app.allowed_pages()].index("outbox") + 1
    await pilot.press(str(number))
    page = app.screen.query_one(OutboxPage)
    await until(pilot, lambda: page.display and page.loaded and page.rows is not None, "the outbox page")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return page


def shown(page: OutboxPage) -> str:
    return "\n".join(str(w.render()) for w in page.query("Static").results())


async def test_the_running_app_delivers_queued_mail_in_the_background(portal, inbox, tmp_path):
    portal.invite(ADMIN, ANA)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: len(inbox.messages(ANA)) == 1, "the invitation delivered")
        await until(pilot, lambda: states(portal)[ANA] == "sent", "the outbox marked sent")
        page = await open_outbox(app, pilot)
        [row] = page.rows
        assert row["state"] == "sent" and row["to"] == ANA
        assert "This session delivers through smtp://127.0.0.1" in shown(page)
    assert len(inbox.messages(ANA)) == 1


async def test_without_smtp_mail_waits_queued_and_the_page_says_so_and_nothing_changes_when_no_reminder_is_due(
        portal, tmp_path):
    portal.invite(ADMIN, ANA)
    before = file_bytes(portal)
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_outbox(app, pilot)
        [row] = page.rows
        assert row["state"] == "queued" and row["state_label"] == "queued"
        assert "No SMTP server is configured" in shown(page)
        assert not [w for w in app.workers if w.group == "mail"]
    assert file_bytes(portal) == before


async def test_without_smtp_the_app_still_queues_the_days_reminders_once_and_delivers_nothing(portal, tmp_path):
    grant_bank(portal, product="Quillstone Animate", credits=100, start="2026-11-01", expires_on="2026-12-20")
    portal.invite(ADMIN, ANA)

    def reminders() -> list[dict]:
        return [d for d in store_tables(portal.store.path)["outbox"].values() if d["kind"] == "credits-expiring"]

    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        page = await open_outbox(app, pilot)
        assert "No SMTP server is configured" in shown(page)
        assert reminders() == []  # not at start: the first screen never waits for them
        app.deliver_mail_now()  # the first tick of the session's mail timer
        await until(pilot, lambda: len(reminders()) == 1, "the bank's reminder queued")
        assert not [w for w in app.workers if w.group == "mail"]
        app.deliver_mail_now()  # the next tick: the day's reminders are already queued
        await app.workers.wait_for_complete()
    [reminder] = reminders()
    assert (reminder["to"], reminder["state"], reminder["attempts"]) == (ADMIN, "queued", 0)
    assert sorted(states(portal).values()) == ["queued", "queued"]


async def test_a_failed_message_shows_its_error_and_i_retries_it(portal, inbox, tmp_path):
    portal.invite(ADMIN, ANA)
    inbox.refuse(ANA, "550 5.1.1 no such user")
    app = app_for(portal, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: states(portal).get(ANA) == "failed", "the refusal recorded")
        page = await open_outbox(app, pilot)
        await until(pilot, lambda: page.rows and page.rows[0]["state"] == "failed", "failed shown")
        page.table.focus()
        assert "550 5.1.1 no such user" in shown(page)
        assert "Email delivery: recipient refused: 550" in messages(app)
        inbox.accept_all()
        await pilot.press("i")
        await until(pilot, lambda: len(inbox.messages(ANA)) == 1, "delivered after the retry")
        await until(pilot, lambda: states(portal)[ANA] == "sent", "marked sent")
        assert "queued again" in messages(app)
    assert [e["action"] for e in portal.activity(ADMIN)][0] == "mail-retry"


# Words that say an email went out (or will without fail) where it is only queued.
SAYS_SENT = ("on its way", "emailed", "will be mailed", "sent to", "are told", "is told", "told why",
             "send request", "notified by email")


def texts_in(folder) -> list[str]:
    """Every string a module under `folder` can show: what `make i18n` extracts (`_()`, `N_()`),
    and every other literal (the fixed parts of f-strings included); not docstrings."""
    import ast

    from babel.messages.extract import extract_from_dir

    texts = [str(m[2]) for m in extract_from_dir(str(folder), method_map=[("**.py", "python")],
                                                 keywords={"_": None, "N_": None})]
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        texts += [node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]
    return texts


@pytest.mark.parametrize("folder", ["screens", "cli"])
def test_no_screen_says_mail_went_out_when_it_was_only_queued(folder):
    """Every message a screen or a command can show (elp_tui/screens, elp_tui/cli)."""
    from pathlib import Path

    texts = texts_in(Path(__file__).resolve().parents[1] / "elp_tui" / folder)
    assert any("queued" in t for t in texts)
    for text in texts:
        assert not any(words in text.lower() for words in SAYS_SENT), text
