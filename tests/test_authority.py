"""Authority (issue 4): every admin operation is refused to a regular user in the service layer —
CLI, direct portal calls, keys, palette, action strings — and each refusal adds exactly one
activity entry, nothing else. Textual's built-ins that reach files, the shell or a browser are
reachable neither by store text nor by anyone.
"""

from __future__ import annotations

import inspect
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import ContentSwitcher

from elp_tui.app import PAGES, make_app
from elp_tui.cli import ANY_MEMBER, COMMANDS, NO_USER, VENDOR_COMMANDS, main
from elp_tui.portal import AdminRequired, PermissionDenied, Portal, VendorRequired
from elp_tui.portal.authority import is_team_scoped, is_vendor_only, needs_admin, public_methods
from elp_tui.screens.base import Page
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.helpers import file_bytes, messages, only_refusal_logged, until, store_bytes, store_tables
from tests.helpers import grant_bank, grant_seats

ANA = "ana@lumenfox.studio"  # a regular member
BOB = "bob@lumenfox.studio"
PRODUCT = "Quillstone Animate"
SEATS = "Quillstone Sketch"


def add_builds(portal: Portal, product: str, versions: list[str]) -> None:
    with portal.store.transaction() as db:
        builds = [{"version": v, "released": f"2026-0{i + 1}-15", "downloads": {"linux": f"https://dl.example/{v}"}}
                  for i, v in enumerate(versions)]
        db.update("products", {"builds": builds}, name=product)


@pytest.fixture
def world(portal, bank) -> dict[str, Any]:
    """An organization with everything an admin command could act on, and ANA as an active regular
    member holding a returnable license: so each command below would succeed for an admin."""
    add_builds(portal, PRODUCT, ["25.1", "25.2"])
    portal.invite(ADMIN, ANA)
    portal.sign_in(ANA)
    portal.invite(ADMIN, BOB)
    portal.sign_in(BOB)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=2, quantity=1, start=TODAY, email=BOB)
    [lic] = portal.generate(ADMIN, quote)
    grant_seats(portal, SEATS, 5)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Story", BOB)
    return {"bank": bank["id"], "aid": lic["activation_id"], "portal": portal}


# -- the CLI -------------------------------------------------------------------------------
# Every admin command, with arguments an admin would run successfully on `world`.
CLI_CASES: dict[tuple[str, str | None], list[str]] = {
    ("log", None): ["log"],
    ("report", None): ["report"],
    ("banks", "list"): ["banks", "list", "--json"],
    ("banks", "request"): ["banks", "request", "{bank}", "--credits", "5", "--yes"],
    ("banks", "refresh"): ["banks", "refresh"],
    ("banks", "requests"): ["banks", "requests"],
    ("licenses", "list"): ["licenses", "list"],
    ("licenses", "generate"): ["licenses", "generate", "--bank", "{bank}", "--type", "node-lock", "--months", "1",
                               "--quantity", "1", "--start", "2026-11-23", "--email", ANA, "--yes"],
    ("licenses", "renew"): ["licenses", "renew", "{aid}", "--months", "1", "--yes"],
    ("licenses", "return"): ["licenses", "return", "{aid}", "--email", BOB, "--yes"],
    ("licenses", "assign"): ["licenses", "assign", "{aid}", "--email", ANA, "--yes"],
    ("licenses", "export"): ["licenses", "export"],
    ("users", "list"): ["users", "list"],
    ("users", "invite"): ["users", "invite", "new@lumenfox.studio"],
    ("users", "set-role"): ["users", "set-role", ANA, "admin"],
    ("users", "set-status"): ["users", "set-status", BOB, "inactive"],
    ("users", "delete"): ["users", "delete", ADMIN, "--yes"],
    ("users", "import"): ["users", "import", "people.csv", "--yes"],
    ("versions", "list"): ["versions", "list"],
    ("versions", "restrict"): ["versions", "restrict", PRODUCT, "--builds", "25.2"],
    ("versions", "unrestrict"): ["versions", "unrestrict", PRODUCT],
    ("seats", "show"): ["seats", "show"],
    ("seats", "request"): ["seats", "request", "--product", SEATS, "--seats", "1", "--yes"],
    ("teams", "list"): ["teams", "list"],
    ("teams", "create"): ["teams", "create", "Layout", "--pool", SEATS],
    ("teams", "add"): ["teams", "add", "Story", ANA],
    ("teams", "remove"): ["teams", "remove", "Story", BOB],
    ("teams", "admin"): ["teams", "admin", "Story", BOB],
    ("users", "reinvite"): ["users", "reinvite", BOB],
    ("backup", None): ["backup", "never-written.json"],
    ("outbox", "list"): ["outbox", "list"],
    ("outbox", "retry"): ["outbox", "retry", "1"],
    ("org", "language"): ["org", "language", "fr"],
    ("banks", "show"): ["banks", "show", "{bank}"],
    ("teams", "show"): ["teams", "show", "Story"],
}


def test_every_admin_command_is_in_the_table():
    admin_commands = {key for key in COMMANDS
                      if key[0] not in NO_USER and key not in NO_USER and key not in ANY_MEMBER and key not in VENDOR_COMMANDS}
    assert set(CLI_CASES) == admin_commands


@pytest.fixture
def elp(store_path, capsys, monkeypatch):
    monkeypatch.setenv("ELP_TODAY", TODAY.isoformat())
    monkeypatch.delenv("ELP_USER", raising=False)

    def run(argv: list[str], user: str) -> tuple[int, str, str]:
        code = main(["--store", str(store_path), "--as", user, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize("key", list(CLI_CASES), ids=lambda k: " ".join(w for w in k if w))
def test_cli_admin_command_by_a_regular_user_is_refused_and_logged_once(key, world, elp, store_path):
    argv = [a.format(**world) for a in CLI_CASES[key]]
    before = store_tables(store_path)
    code, out, err = elp(argv, ANA)
    assert code == 1 and out == ""
    assert "only organization admins" in err and err.count("\n") == 1
    command = "elp " + " ".join(w for w in key if w)
    entry = only_refusal_logged(before, store_tables(store_path), ANA, command)
    assert entry["organization"] == "lumenfox-studios" and entry["on"] == TODAY.isoformat()
    assert world["portal"].check() == []
    # The admin sees who was refused what, in `elp log`.
    code, out, _err = elp(["log"], ADMIN)
    assert code == 0 and "refused" in out and ANA in out
    [logged] = [e for e in world["portal"].activity(ADMIN) if e["action"] == "refused"]
    assert (logged["actor"], logged["target"]) == (ANA, command)


@pytest.mark.parametrize("key", [("banks", "list"), ("users", "set-role"), ("licenses", "mine")],
                         ids=lambda k: " ".join(w for w in k if w))
def test_cli_invited_regular_user_stays_invited(key, world, elp, store_path):
    world["portal"].invite(ADMIN, "new@lumenfox.studio")
    argv = [a.format(**world) for a in CLI_CASES.get(key, ["licenses", "mine"])]
    before = store_tables(store_path)
    code, _out, err = elp(argv, "new@lumenfox.studio")
    status = {u["email"]: u["status"] for u in world["portal"].list_users(ADMIN)}["new@lumenfox.studio"]
    if key in ANY_MEMBER:  # their own licenses: the first sign-in, not a refusal
        assert code == 0 and status == "active"
        return
    assert code == 1 and "only organization admins" in err
    only_refusal_logged(before, store_tables(store_path), "new@lumenfox.studio")
    assert status == "invited"


def test_unknown_and_inactive_users_are_refused_without_a_log_entry(world, elp, store_path):
    world["portal"].set_status(ADMIN, BOB, "inactive")
    for who in ("nobody@lumenfox.studio", BOB):
        before = store_bytes(store_path)
        code, _out, err = elp(["banks", "list"], who)
        assert code == 1 and err.strip()
        # Unknown: no organization to log to. Inactive: refused at sign-in, whatever the role.
        assert store_bytes(store_path) == before


# -- the portal, every admin method --------------------------------------------------------
ADMIN_METHODS = sorted(name for name, method in public_methods(Portal).items() if needs_admin(method))
# The vendor's operations: refused to every member of an organization (admins too), and logged.
VENDOR_METHODS = sorted(name for name, method in public_methods(Portal).items() if is_vendor_only(method))
# An admin's, or a Team Admin's on their own teams (seed 002): refused to a regular user who is no
# Team Admin, and logged, like an admin method (tests/test_team_admins.py: a Team Admin's side).
TEAM_METHODS = sorted(name for name, method in public_methods(Portal).items() if is_team_scoped(method))
# Public methods that are not operations for someone, or are any member's own: decided, not forgotten.
NOT_ADMIN = {
    "my_licenses", "my_seats", "sign_in", "init_organization", "today", "organization_name", "flag_expiring_banks", "version",
    # The whole store, not one organization: run by whoever owns the store file, like `elp check`.
    "check", "invariant_problems",
    # Check their restorer themselves (a store that does not open has no one to sign in): test_damaged.py.
    "quote_restore", "restore",
    # The machine that sends the outbox (`elp outbox send`, the app's worker): no one acts, nothing of an
    # organization is shown; what they queue and send is each organization's own (tests/test_mail_delivery.py).
    "queue_reminders", "deliver_outbox", "mail_due",
    # The vendor's first set-up: like init_organization, whoever can write the store (then update_vendor).
    "setup_vendor",
    # Sign-in by SSH key (portal/keys.py): OpenSSH asks about a key, no one acts yet; the enrolment's
    # proof is the invitation's code. Keys: every member manages their own, admins their members'.
    "user_for_key", "ssh_sign_in", "enrol", "quote_add_key", "add_key", "list_keys", "revoke_key",
    # API tokens (portal/tokens.py, tests/test_tokens.py): the server asks about a token, no one acts
    # yet; every member and the vendor's staff make their own, admins list and revoke their members'.
    "token_user", "create_token", "list_tokens", "revoke_token",
    # The teams a member is the Team Admin of (the app's pages, `elp signin`): their own.
    "my_team_admin",
    # Details (issue 12): an admin's of everything in the organization, a member's of their own license
    # and of themselves; anyone else's is refused and logged (tests/test_details.py).
    "license_details", "user_details",
}


def test_every_public_portal_method_is_an_admin_operation_or_listed_here():
    assert set(public_methods(Portal)) - set(ADMIN_METHODS) - set(VENDOR_METHODS) - set(TEAM_METHODS) == NOT_ADMIN
    assert set(TEAM_METHODS) == {"seats_overview", "list_teams", "quote_team_add", "team_add", "quote_team_remove",
                                 "team_remove", "team_details"}
    assert {"set_team_admin", "quote_set_team_admin", "create_team", "request_seats"} <= set(ADMIN_METHODS)
    assert {"add_bank", "add_seats", "top_up_bank", "add_build", "grant_request", "decline_request", "vendor_requests",
            "list_organizations", "add_vendor_staff", "update_vendor"} <= set(VENDOR_METHODS)
    assert {"list_requests", "vendor_contact"} <= set(ADMIN_METHODS)
    assert {"list_banks", "list_licenses", "export_csv", "dashboard", "activity", "quote_generate", "generate",
            "invite", "delete_user", "refresh_banks", "bank_details"} <= set(ADMIN_METHODS)
    assert {"licenses_expiring", "quote_batch_renew", "batch_renew", "quote_batch_return", "batch_return",
            "quote_batch_assign", "batch_assign", "quote_users_import", "users_import"} <= set(ADMIN_METHODS)


def _placeholder_args(method) -> tuple[list[Any], dict[str, Any]]:
    """Arguments of the right arity and no meaning: the guard refuses before reading them."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in list(inspect.signature(method).parameters.values())[2:]:
        if param.default is not inspect.Parameter.empty:
            continue
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[param.name] = "?"
        elif param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            args.append("?")
    return args, kwargs


@pytest.mark.parametrize("name", ADMIN_METHODS)
def test_every_admin_portal_method_refuses_a_regular_user_and_logs_it_once(name, world):
    portal = world["portal"]
    method = getattr(portal, name)
    args, kwargs = _placeholder_args(method)
    before = store_tables(portal.store.path)
    with pytest.raises(AdminRequired, match="only organization admins"):
        method(ANA, *args, **kwargs)
    only_refusal_logged(before, store_tables(portal.store.path), ANA, name)
    assert portal.check() == []


@pytest.mark.parametrize("name", TEAM_METHODS)
def test_every_team_method_refuses_a_regular_user_who_is_no_team_admin_and_logs_it_once(name, world):
    """The guard lets every member through to these: the method itself refuses, before any input."""
    portal = world["portal"]
    args, kwargs = _placeholder_args(getattr(Portal, name))  # unbound: every argument, none missing
    before = store_tables(portal.store.path)
    with pytest.raises(AdminRequired, match="only organization admins"):
        getattr(portal, name)(ANA, *args, **kwargs)
    only_refusal_logged(before, store_tables(portal.store.path), ANA, name)
    assert portal.check() == []


@pytest.mark.parametrize("who", [ADMIN, ANA], ids=["admin", "regular"])
@pytest.mark.parametrize("name", VENDOR_METHODS)
def test_every_vendor_portal_method_refuses_an_organization_member_and_logs_it_once(name, who, world):
    portal = world["portal"]
    method = getattr(portal, name)
    args, kwargs = _placeholder_args(method)
    before = store_tables(portal.store.path)
    with pytest.raises(VendorRequired, match="not on the vendor's team"):
        method(who, *args, **kwargs)
    entry = only_refusal_logged(before, store_tables(portal.store.path), who, name)
    assert entry["organization"] == "lumenfox-studios" and entry["details"].startswith("vendor operation refused")
    assert portal.check() == []


def test_the_vendors_staff_are_refused_an_organizations_operations_without_a_log_entry(world):
    portal = world["portal"]
    before = file_bytes(portal)
    for call in (lambda: portal.list_banks(VENDOR), lambda: portal.invite(VENDOR, "x@lumenfox.studio"),
                 lambda: portal.my_licenses(VENDOR), lambda: portal.request_credits(VENDOR, world["bank"], 5)):
        with pytest.raises(PermissionDenied, match="on the vendor's team"):
            call()
    assert file_bytes(portal) == before  # they belong to no organization: no log to write to


def test_nested_operations_log_one_refusal_naming_the_one_asked_for(world):
    portal = world["portal"]
    for name, call in (("dashboard", lambda: portal.dashboard(ANA)), ("export_csv", lambda: portal.export_csv(ANA)),
                       ("refresh_banks", lambda: portal.refresh_banks(ANA, []))):
        before = store_tables(portal.store.path)
        with pytest.raises(AdminRequired):
            call()
        only_refusal_logged(before, store_tables(portal.store.path), ANA, name)


def test_a_demotion_between_the_check_and_the_write_is_refused_and_logged(world, monkeypatch):
    """An admin demoted by another session just before their transaction: the method's own check
    inside the transaction refuses, nothing of the operation is written, the refusal is logged."""
    portal = world["portal"]
    portal.invite(ADMIN, "boss@lumenfox.studio", "admin")
    portal.sign_in("boss@lumenfox.studio")
    other = Portal(type(portal.store)(portal.store.path), portal.clock)
    original = portal.store.transaction
    demoted: list[bool] = []

    def transaction():
        if not demoted:
            demoted.append(True)
            other.set_role(ADMIN, "boss@lumenfox.studio", "regular")
        return original()

    monkeypatch.setattr(portal.store, "transaction", transaction)
    requests_before = len(portal.store.tables().get("requests", {}))
    with pytest.raises(AdminRequired):
        portal.request_credits("boss@lumenfox.studio", world["bank"], 10)
    log = portal.activity(ADMIN)
    assert [(e["action"], e["target"]) for e in log[:2]] == [("refused", "request_credits"), ("user-role", "boss@lumenfox.studio")]
    assert len(portal.store.tables().get("requests", {})) == requests_before
    assert portal.check() == []


def test_members_own_operation_is_not_refused(world):
    portal = world["portal"]
    before = file_bytes(portal)
    assert portal.my_licenses(ANA) == []
    assert file_bytes(portal) == before


def test_refusals_of_unknown_users_are_not_logged(world):
    portal = world["portal"]
    before = file_bytes(portal)
    with pytest.raises(PermissionDenied) as info:
        portal.list_banks("nobody@lumenfox.studio")
    assert not isinstance(info.value, AdminRequired)
    assert file_bytes(portal) == before


# -- the app: a regular user ---------------------------------------------------------------
ADMIN_PAGES = [p.PAGE_ID for p in PAGES if p.ADMIN_ONLY]
HOSTILE_ACTIONS = [
    "app.screenshot()",
    "app.screenshot('shot.svg', '{tmp}')",
    "app.suspend_process()",
    "app.simulate_key('ctrl+z')",
    "app.command_palette()",
    "app.change_theme()",
    "screen.copy_text()",
    *[f"app.show_page('{page}')" for page in ADMIN_PAGES],
    *[f"app.run_page_action('{page}', 'action_add')" for page in ADMIN_PAGES],
    *[f"app.run_page_action('{page}', 'action_delete')" for page in ADMIN_PAGES],
]


class Spies:
    """What would reach a file, the shell or a browser."""

    def __init__(self, monkeypatch, tmp_path: Path):
        self.signals: list[int] = []
        self.urls: list[str] = []
        self.tmp_path = tmp_path
        real_kill = os.kill

        def kill(pid: int, sig: int) -> None:
            if sig == signal.SIGTSTP:
                self.signals.append(sig)
                return
            real_kill(pid, sig)

        monkeypatch.setattr(os, "kill", kill)
        monkeypatch.chdir(tmp_path)  # a screenshot without a path lands here (or in Downloads)
        self.files_before = set(tmp_path.rglob("*"))

    def watch_driver(self, app) -> None:
        self.urls_driver = app._driver
        app._driver.open_url = lambda url, new_tab=True: self.urls.append(url)  # type: ignore[method-assign]

    def assert_nothing_reached(self) -> None:
        assert self.signals == [], "the process was suspended"
        assert self.urls == [], "a browser was asked to open a URL"
        new = {p for p in self.tmp_path.rglob("*") if p not in self.files_before and p.suffix == ".svg"}
        assert not new, f"a screenshot was written: {new}"


async def test_regular_user_reaches_nothing_by_keys_palette_or_action_strings(portal, tmp_path, monkeypatch):
    portal.invite(ADMIN, ANA)
    spies = Spies(monkeypatch, tmp_path)
    app = make_app(portal.store, ANA, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        spies.watch_driver(app)
        before = store_tables(portal.store.path)  # after the first sign-in
        for action in HOSTILE_ACTIONS:
            await app.run_action(action.format(tmp=tmp_path))
            await pilot.pause()
            while len(app.screen_stack) > 2:  # the palette or theme picker it may have opened: close it
                await pilot.press("escape")
                await pilot.pause()
        for key in ["ctrl+z", "ctrl+s", "ctrl+p", "escape", "ctrl+e", "ctrl+o", "f12", *"123456789", "ctrl+backslash"]:
            await pilot.press(key)
            await pilot.pause()
            while len(app.screen_stack) > 2:
                await pilot.press("escape")
                await pilot.pause()
        app.open_url("file:///etc/passwd")
        app.deliver_screenshot()
        await pilot.pause()
        assert app.screen.query_one(ContentSwitcher).current == "page-my-licenses"
        assert {p.PAGE_ID for p in app.screen.query(Page).results()} == {"my-licenses"}
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("Screenshot" in t or "screenshot" in t for t in titles)
        assert "Not available" in messages(app)
        # Each attempt at an admin page is refused by the portal and logged; nothing else is written.
        attempts = sum(1 for a in HOSTILE_ACTIONS if "show_page" in a)  # run_page_action is no action: it reaches nothing
        old, new = before, store_tables(portal.store.path)
        assert {t: d for t, d in new.items() if t not in ("_meta", "activity")} == {
            t: d for t, d in old.items() if t not in ("_meta", "activity")}
        added = [e for k, e in new["activity"].items() if k not in old["activity"]]
        assert len(added) == attempts, added
        assert {(e["actor"], e["action"], e["target"]) for e in added} == {(ANA, "refused", "open_admin_page")}
        assert "only organization admins" in messages(app)
    spies.assert_nothing_reached()


# -- the app: an admin, with store text that looks like actions ------------------------------
async def test_admin_built_in_file_shell_and_browser_actions_do_nothing(portal, tmp_path, monkeypatch):
    spies = Spies(monkeypatch, tmp_path)
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        spies.watch_driver(app)
        before = file_bytes(portal)
        await app.run_action(f"app.screenshot('shot.svg', '{tmp_path}')")
        await app.run_action("app.screenshot()")
        await app.run_action("app.suspend_process()")
        assert app.deliver_screenshot() is None
        assert app.deliver_text(__import__("io").StringIO("x"), save_directory=str(tmp_path), save_filename="x.svg") is None
        app.save_screenshot("y.svg", str(tmp_path))
        app.open_url("https://example.com")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("creenshot" in t for t in titles)
        assert messages(app).count("Not available") >= 6
        assert file_bytes(portal) == before
    spies.assert_nothing_reached()
    assert not list(tmp_path.glob("*.svg"))


def _screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def _hostile_actions_on_screen(app) -> list[str]:
    """Every click action or link drawn on screen that store text could have put there."""
    width, height = app.size
    found = []
    for y in range(height):
        for x in range(width):
            style = app.screen.get_style_at(x, y)
            action = str(style.meta.get("@click", ""))
            link = str(style.link or "") + str(getattr(style, "_link", "") or "")
            if any(word in action + link for word in ("screenshot", "suspend", "open_url", "file:")):
                found.append(f"({x},{y}) {action} {link}")
    return found


async def _click_every(pilot, app, needle: str) -> int:
    """Click on every place the screen shows `needle`; how many there were."""
    from rich.cells import cell_len

    hits = 0
    for y, line in enumerate(_screen_lines(app)):
        start = line.find(needle)
        while start != -1:
            x = cell_len(line[:start])
            for dx in (0, 1, len(needle) // 2):
                await pilot.click(offset=(x + dx, y))
                await pilot.pause()
            hits += 1
            start = line.find(needle, start + 1)
    return hits


async def test_admin_clicking_markup_in_store_names_runs_nothing(store_path, tmp_path, monkeypatch):
    import random

    from elp_tui.portal import fixed_clock
    from elp_tui.store import Store

    shot = f"[@click=app.screenshot('org.svg','{tmp_path}')]Org"
    portal = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(5))
    org = portal.init_organization(shot, ADMIN)["id"]
    grant_bank(portal, org=org, product="[@click=app.screenshot()]Prod", credits=10, start="2026-11-01", expires_on="2027-01-01")
    grant_seats(portal, "[@click=app.suspend_process]Seats", 3, org=org)
    portal.create_team(ADMIN, "[@click=app.screenshot()]x", "[@click=app.suspend_process]Seats")
    portal.create_team(ADMIN, "[link=file:///etc/passwd]y", "[@click=app.suspend_process]Seats")
    spies = Spies(monkeypatch, tmp_path)
    app = make_app(portal.store, ADMIN, clock=TODAY, settings_file=tmp_path / "settings.json")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        spies.watch_driver(app)
        before = file_bytes(portal)
        hits = 0
        for page in ("dashboard", "banks", "teams"):
            await app.run_action(f"app.show_page('{page}')")
            await until(pilot, lambda: any("[@click=" in line for line in _screen_lines(app)[3:]), f"{page} drawn")
            assert _hostile_actions_on_screen(app) == [], "store text became a clickable action or link"
            for needle in ("[@click=app.screenshot", "[@click=app.suspend_process", "[link=file:"):
                hits += await _click_every(pilot, app, needle)
                while len(app.screen_stack) > 2:  # a click on a row may open its dialog
                    await pilot.press("escape")
                    await pilot.pause()
        assert hits >= 4, "the names were not on screen"
        assert app.is_running
        assert "Not available" not in messages(app), "store text reached a built-in action"
        assert file_bytes(portal) == before
    spies.assert_nothing_reached()
    assert not list(tmp_path.glob("*.svg"))
