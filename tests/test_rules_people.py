"""SPEC.md §5–6 and §9: users and roles, one organization per user, product versions,
My Assigned Licenses, permissions checked in the service layer, the activity log."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from elp_tui.portal import (
    InvalidInput, NotFound, PermissionDenied, Portal, PortalError, RuleViolation, SignInRefused, fixed_clock,
)
from elp_tui.store import Store, open_store

from tests.conftest import ADMIN, TODAY
from tests.helpers import file_bytes, only_refusal_logged, refused, store_bytes, store_tables
from tests.helpers import ORG, grant_bank, grant_seats
from tests.conftest import VENDOR

ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
BOSS = "boss@otter.example"
PRODUCT = "Quillstone Animate"


# -- helpers -------------------------------------------------------------------------
def at(portal: Portal, day: str) -> Portal:
    return Portal(open_store(portal.store.path), fixed_clock(day), rng=random.Random(3))


def member(portal: Portal, email: str = ANA, role: str = "regular") -> str:
    portal.invite(ADMIN, email, role)
    portal.sign_in(email)
    return email


def users(portal: Portal) -> dict[str, dict]:
    return {u["email"]: u for u in portal.list_users(ADMIN)}


def outbox(portal: Portal) -> list[dict]:
    return list(portal.store.tables().get("outbox", {}).values())


def other_org(portal: Portal) -> Portal:
    other = Portal(open_store(portal.store.path), fixed_clock(TODAY), rng=random.Random(5))
    other.init_organization("Otter Works", BOSS)
    return other


def make(portal: Portal, bank: dict, email: str, months: int = 1, start=TODAY) -> dict:
    q = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=months, quantity=1, start=start, email=email)
    return portal.generate(ADMIN, q)[0]


def add_builds(portal: Portal, product: str, versions: list[str]) -> None:
    """The vendor catalog's builds for a product (the vendor side has no admin operation)."""
    with portal.store.transaction() as db:
        builds = [
            {
                "version": v,
                "released": f"2026-0{i + 1}-15",
                "downloads": {os_: f"https://downloads.example/{v}/{os_}" for os_ in ("windows", "macos", "linux")},
            }
            for i, v in enumerate(versions)
        ]
        db.update("products", {"builds": builds}, name=product)


# -- §6 invitations, sign-in, identity ------------------------------------------------
def test_invite_then_first_sign_in_activates(portal):
    row = portal.invite(ADMIN, "Ana@LumenFox.Studio")
    assert (row["email"], row["status"], row["role"]) == (ANA, "invited", "regular")
    mails = [m for m in outbox(portal) if m["to"] == ANA]
    assert len(mails) == 1 and "invited" in mails[0]["subject"]
    with pytest.raises(PermissionDenied, match="signed in"):
        portal.my_licenses(ANA)  # invited, not signed in yet
    portal.sign_in("ANA@lumenfox.studio")
    assert users(portal)[ANA]["status"] == "active"
    assert portal.my_licenses(ANA) == []


def test_emails_are_unique_case_insensitively(portal):
    portal.invite(ADMIN, ANA)
    refused(portal, RuleViolation, portal.invite, ADMIN, "ANA@Lumenfox.Studio", match="already")
    refused(portal, RuleViolation, portal.invite, ADMIN, ADMIN.upper(), match="already")
    with pytest.raises(RuleViolation):
        Portal(open_store(portal.store.path), fixed_clock(TODAY)).init_organization("Other", "Admin@LUMENFOX.studio")
    assert [u for u in users(portal)] == sorted([ADMIN, ANA])
    assert portal.check() == []


@pytest.mark.parametrize("bad", ["", "ana", "ana@", "@studio.com", "ana@@studio.com", "ana studio@x.com"])
def test_invalid_email_is_refused(portal, bad):
    refused(portal, InvalidInput, portal.invite, ADMIN, bad)


def test_unknown_role_is_refused(portal):
    refused(portal, InvalidInput, portal.invite, ADMIN, ANA, "owner")


def test_inactive_user_cannot_sign_in_or_act_until_reactivated(portal):
    member(portal)
    portal.set_status(ADMIN, ANA, "inactive")
    with pytest.raises(SignInRefused, match="inactive"):
        portal.sign_in(ANA)
    with pytest.raises(PermissionDenied, match="inactive"):
        portal.my_licenses(ANA)
    portal.set_status(ADMIN, ANA, "active")
    portal.sign_in(ANA)
    assert portal.my_licenses(ANA) == []


def test_unknown_user_cannot_sign_in(portal):
    with pytest.raises(SignInRefused):
        portal.sign_in("nobody@nowhere.example")
    with pytest.raises(PermissionDenied):
        portal.list_banks("nobody@nowhere.example")


def test_a_second_admin_has_the_same_permissions(portal):
    member(portal, ANA, "admin")
    bank = grant_bank(portal, product=PRODUCT, credits=5, start="2026-11-01", expires_on="2027-01-01")
    assert [b["id"] for b in portal.list_banks(ANA)] == [bank["id"]]
    portal.request_credits(ANA, bank["id"], 3)
    portal.set_role(ANA, ADMIN, "regular")
    with pytest.raises(PermissionDenied):
        portal.list_banks(ADMIN)


# -- §6 last active admin ------------------------------------------------------------
def test_the_last_active_admin_cannot_be_demoted_deactivated_or_deleted(portal):
    refused(portal, RuleViolation, portal.set_role, ADMIN, ADMIN, "regular", match="last active admin")
    refused(portal, RuleViolation, portal.set_status, ADMIN, ADMIN, "inactive", match="last active admin")
    refused(portal, RuleViolation, portal.delete_user, ADMIN, ADMIN, match="last active admin")
    assert users(portal)[ADMIN] == {"email": ADMIN, "role": "admin", "status": "active", "organization": "lumenfox-studios"}


def test_an_invited_or_inactive_admin_does_not_count(portal):
    portal.invite(ADMIN, ANA, "admin")  # invited, never signed in
    refused(portal, RuleViolation, portal.set_role, ADMIN, ADMIN, "regular")
    member(portal, BOB, "admin")
    portal.set_status(ADMIN, BOB, "inactive")
    refused(portal, RuleViolation, portal.delete_user, ADMIN, ADMIN)
    refused(portal, RuleViolation, portal.set_status, ADMIN, ADMIN, "inactive")


def test_with_another_active_admin_an_admin_can_step_down(portal):
    member(portal, ANA, "admin")
    portal.set_role(ADMIN, ADMIN, "regular")
    assert {u["email"]: u["role"] for u in portal.list_users(ANA)} == {ADMIN: "regular", ANA: "admin"}
    refused(portal, RuleViolation, portal.set_role, ANA, ANA, "regular")  # now ANA is the last one
    portal.delete_user(ANA, ADMIN)
    assert [u["email"] for u in portal.list_users(ANA)] == [ANA]
    assert portal.check() == []


def test_role_and_status_changes_are_checked(portal):
    member(portal)
    refused(portal, RuleViolation, portal.set_role, ADMIN, ANA, "regular", match="already")
    refused(portal, InvalidInput, portal.set_status, ADMIN, ANA, "banned")
    refused(portal, NotFound, portal.set_role, ADMIN, "ghost@lumenfox.studio", "admin")
    portal.set_role(ADMIN, ANA, "admin")
    assert users(portal)[ANA]["role"] == "admin"


# -- §6 one organization at a time; deleting members ------------------------------------
def test_a_member_of_another_organization_cannot_be_invited_until_deleted_there(portal):
    member(portal)
    other = other_org(portal)
    refused(other, RuleViolation, other.invite, BOSS, "ANA@lumenfox.studio", match="another organization")
    refused(portal, RuleViolation, portal.invite, ADMIN, BOSS, match="another organization")
    # an admin cannot reach into another organization's members
    refused(other, NotFound, other.delete_user, BOSS, ANA)
    refused(other, NotFound, other.set_status, BOSS, ANA, "inactive")
    portal.delete_user(ADMIN, ANA)
    assert ANA not in users(portal)
    other.invite(BOSS, ANA)
    other.sign_in(ANA)
    assert [u["email"] for u in other.list_users(BOSS)] == [ANA, BOSS]
    assert ANA not in users(portal)
    assert portal.check() == []


def test_deleting_a_member_with_unexpired_licenses_is_refused_and_lists_them(portal):
    member(portal)
    bank = grant_bank(portal, product=PRODUCT, credits=50, start="2026-11-01", expires_on="2027-05-01", portable=False)
    first = make(portal, bank, ANA, months=1)
    second = make(portal, bank, ANA, months=3)
    scheduled = make(portal, bank, ANA, months=1, start="2027-02-01")
    e = refused(portal, RuleViolation, portal.delete_user, ADMIN, ANA)
    for lic in (first, second, scheduled):
        assert lic["activation_id"] in str(e)
    # after the first expires it is no longer listed; the others still block
    later = at(portal, "2026-12-23")
    e = refused(later, RuleViolation, later.delete_user, ADMIN, ANA)
    assert first["activation_id"] not in str(e) and second["activation_id"] in str(e)
    done = at(portal, "2027-03-01")
    done.delete_user(ADMIN, ANA)
    assert ANA not in users(done)
    assert done.check() == []


def test_returning_the_licenses_lets_the_member_be_deleted(portal, bank):
    member(portal)
    lic = make(portal, bank, ANA, months=2)
    refused(portal, RuleViolation, portal.delete_user, ADMIN, ANA)
    portal.return_license(ADMIN, lic["activation_id"], ANA)
    portal.delete_user(ADMIN, ANA)
    assert ANA not in users(portal)
    with pytest.raises(SignInRefused):
        portal.sign_in(ANA)


# -- §5 product versions and My Assigned Licenses ------------------------------------------
def test_restricting_with_no_build_selected_is_refused(portal, bank):
    add_builds(portal, PRODUCT, ["25.1", "25.2"])
    refused(portal, InvalidInput, portal.restrict, ADMIN, PRODUCT, [], match="no build")
    refused(portal, InvalidInput, portal.restrict, ADMIN, PRODUCT, ["  "], match="no build")
    refused(portal, InvalidInput, portal.restrict, ADMIN, PRODUCT, ["24.0"], match="24.0")
    refused(portal, NotFound, portal.restrict, ADMIN, "Nope", ["25.1"])
    refused(portal, RuleViolation, portal.unrestrict, ADMIN, PRODUCT)
    assert all(b["accessible"] for v in portal.list_versions(ADMIN) for b in v["builds"])


def test_my_licenses_shows_downloads_of_accessible_builds_only(portal, bank):
    add_builds(portal, PRODUCT, ["25.1", "25.2", "26.0"])
    member(portal)
    member(portal, BOB)
    mine = make(portal, bank, ANA, months=2)
    make(portal, bank, BOB, months=2)

    [row] = portal.my_licenses(ANA)
    assert row["activation_id"] == mine["activation_id"]  # not Bob's
    assert sorted(d["version"] for d in row["downloads"]) == ["25.1", "25.2", "26.0"]
    assert set(row["downloads"][0]["urls"]) == {"windows", "macos", "linux"}

    portal.restrict(ADMIN, PRODUCT, ["25.2"])
    [product] = [v for v in portal.list_versions(ADMIN) if v["product"] == PRODUCT]
    assert product["restriction"] == "enabled"
    assert {b["version"]: b["accessible"] for b in product["builds"]} == {"25.1": False, "25.2": True, "26.0": False}
    [row] = portal.my_licenses(ANA)
    assert [d["version"] for d in row["downloads"]] == ["25.2"]
    assert all("25.2" in url for d in row["downloads"] for url in d["urls"].values())

    portal.unrestrict(ADMIN, PRODUCT)
    [row] = portal.my_licenses(ANA)
    assert len(row["downloads"]) == 3


def test_an_expired_license_offers_no_downloads(portal, bank):
    add_builds(portal, PRODUCT, ["25.1", "25.2"])
    member(portal)
    mine = make(portal, bank, ANA, months=2)
    later = Portal(portal.store, fixed_clock(dt.date.fromisoformat(mine["expires_on"])))  # its first day no longer valid
    [row] = later.my_licenses(ANA)
    assert (row["status"], row["downloads"]) == ("expired", [])
    day_before = Portal(portal.store, fixed_clock(dt.date.fromisoformat(mine["expires_on"]) - dt.timedelta(days=1)))
    assert len(day_before.my_licenses(ANA)[0]["downloads"]) == 2


def test_restriction_is_per_organization(portal, bank):
    add_builds(portal, PRODUCT, ["25.1", "25.2"])
    other = other_org(portal)
    theirs = grant_bank(other, org="otter-works", product=PRODUCT, credits=5, start="2026-11-01", expires_on="2027-05-01")
    q = other.quote_generate(BOSS, bank=theirs["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=BOSS)
    other.generate(BOSS, q)
    portal.restrict(ADMIN, PRODUCT, ["25.1"])
    [row] = other.my_licenses(BOSS)
    assert len(row["downloads"]) == 2


def test_my_licenses_lists_status_and_keeps_expired_last(portal, bank):
    member(portal)
    old = make(portal, bank, ANA, months=1)
    new = make(portal, bank, ANA, months=3)
    later = at(portal, "2027-01-05")
    rows = later.my_licenses(ANA)
    assert [(r["activation_id"], r["status"]) for r in rows] == [(new["activation_id"], "active"), (old["activation_id"], "expired")]


# -- §6 / §9 permissions ---------------------------------------------------------------
def _admin_operations(portal: Portal, bank: dict, lic: dict, gen_quote, renew_quote):
    aid = lic["activation_id"]
    return {
        "list_banks": lambda a: portal.list_banks(a),
        "add_bank": lambda a: portal.add_bank(a, organization=ORG, product=PRODUCT, credits=9, start="2026-11-01", expires_on="2027-01-01"),
        "request_credits": lambda a: portal.request_credits(a, bank["id"], 10),
        "refresh_banks": lambda a: portal.refresh_banks(a, None),
        "quote_generate": lambda a: portal.quote_generate(a, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=a),
        "generate": lambda a: portal.generate(a, gen_quote),
        "quote_renew": lambda a: portal.quote_renew(a, aid, months=1),
        "renew": lambda a: portal.renew(a, renew_quote),
        "return_license": lambda a: portal.return_license(a, aid, ANA),
        "assign_license": lambda a: portal.assign_license(a, aid, ANA),
        "list_licenses": lambda a: portal.list_licenses(a),
        "export_csv": lambda a: portal.export_csv(a),
        "list_users": lambda a: portal.list_users(a),
        "invite": lambda a: portal.invite(a, "newbie@lumenfox.studio"),
        "invite_admin": lambda a: portal.invite(a, "newboss@lumenfox.studio", "admin"),
        "set_role_self": lambda a: portal.set_role(a, a, "admin"),
        "set_role_other": lambda a: portal.set_role(a, ADMIN, "regular"),
        "set_status": lambda a: portal.set_status(a, ADMIN, "inactive"),
        "delete_user": lambda a: portal.delete_user(a, ADMIN),
        "list_versions": lambda a: portal.list_versions(a),
        "restrict": lambda a: portal.restrict(a, PRODUCT, ["25.1"]),
        "unrestrict": lambda a: portal.unrestrict(a, PRODUCT),
        "activity": lambda a: portal.activity(a),
        "seats_overview": lambda a: portal.seats_overview(a),
        "add_seats": lambda a: portal.add_seats(a, ORG, "Quillstone Sketch", 5),
        "request_seats": lambda a: portal.request_seats(a, "Quillstone Sketch", 5),
        "list_teams": lambda a: portal.list_teams(a),
        "create_team": lambda a: portal.create_team(a, "Layout", "Quillstone Sketch"),
        "team_add": lambda a: portal.team_add(a, "Story", a),
        "team_remove": lambda a: portal.team_remove(a, "Story", BOB),
    }


def test_a_regular_user_is_refused_every_admin_operation(portal, bank):
    add_builds(portal, PRODUCT, ["25.1"])
    member(portal)
    member(portal, BOB)
    grant_seats(portal, "Quillstone Sketch", 3)
    portal.create_team(ADMIN, "Story", "Quillstone Sketch")
    portal.team_add(ADMIN, "Story", BOB)
    lic = make(portal, bank, ANA, months=2)
    gen_quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ANA)
    renew_quote = portal.quote_renew(ADMIN, lic["activation_id"], months=1)
    operations = _admin_operations(portal, bank, lic, gen_quote, renew_quote)
    for name, call in operations.items():
        before = store_tables(portal.store.path)
        with pytest.raises(PermissionDenied):
            call(ANA)
            pytest.fail(f"{name} let a regular user through")
        # Only the refusal's own activity entry, naming the operation (set_role_self -> set_role).
        only_refusal_logged(before, store_tables(portal.store.path), ANA, getattr(call, "operation", None))
    # the same user can see their own licenses
    [row] = portal.my_licenses(ANA)
    assert row["activation_id"] == lic["activation_id"]
    assert "assignee" not in row and "credits_used" not in row
    # and the operations do work for the admin (so the refusals above are about the role)
    assert portal.list_banks(ADMIN) and portal.list_licenses(ADMIN) and portal.activity(ADMIN)


def test_nobody_acts_without_saying_who_they_are(portal):
    for actor in ("", None):
        with pytest.raises(PermissionDenied):
            portal.list_banks(actor)


# -- §9 activity log ----------------------------------------------------------------------
def test_every_change_writes_exactly_one_activity_entry(portal):
    add = lambda: grant_bank(portal, product=PRODUCT, credits=40, start="2026-11-01", expires_on="2027-05-01",  # noqa: E731
                                  product_version="25.1", portable=True)
    state: dict = {}

    def generate():
        q = portal.quote_generate(ADMIN, bank=state["bank"]["id"], type="multiseat", months=2, quantity=3, start=TODAY, email=ANA)
        state["lic"] = portal.generate(ADMIN, q)[0]

    def renew():
        q = portal.quote_renew(ADMIN, state["lic"]["activation_id"], months=1, computers=4)
        assert q.credits == 4 + 2
        portal.renew(ADMIN, q)

    steps = [
        ("bank-add", 40, 0, lambda: state.update(bank=add())),
        ("user-invite", 0, 0, lambda: portal.invite(ADMIN, ANA)),
        ("user-invite", 0, 0, lambda: portal.invite(ADMIN, BOB)),
        ("license-generate", 6, 0, generate),
        ("license-renew", 6, 0, renew),
        ("license-return", 0, 0, lambda: portal.return_license(ADMIN, state["lic"]["activation_id"], ANA)),
        ("license-assign", 0, 0, lambda: portal.assign_license(ADMIN, state["lic"]["activation_id"], BOB)),
        ("credits-request", 0, 0, lambda: portal.request_credits(ADMIN, state["bank"]["id"], 100)),
        ("user-role", 0, 0, lambda: portal.set_role(ADMIN, ANA, "admin")),
        ("user-status", 0, 0, lambda: portal.set_status(ADMIN, ANA, "inactive")),
        ("versions-restrict", 0, 0, lambda: (add_builds(portal, PRODUCT, ["25.1"]), portal.restrict(ADMIN, PRODUCT, ["25.1"]))),
        ("versions-unrestrict", 0, 0, lambda: portal.unrestrict(ADMIN, PRODUCT)),
        ("seats-add", 0, 4, lambda: grant_seats(portal, "Quillstone Sketch", 4)),
        ("team-create", 0, 0, lambda: portal.create_team(ADMIN, "Story", "Quillstone Sketch")),
        ("team-add", 0, 1, lambda: portal.team_add(ADMIN, "Story", BOB)),
        ("team-remove", 0, 0, lambda: portal.team_remove(ADMIN, "Story", BOB)),
        ("seats-request", 0, 0, lambda: portal.request_seats(ADMIN, "Quillstone Sketch", 2)),
        ("user-delete", 0, 0, lambda: portal.delete_user(ADMIN, ANA)),
    ]
    for action, credits, seats, step in steps:
        before = portal.activity(ADMIN)
        step()
        after = portal.activity(ADMIN)
        assert len(after) == len(before) + 1, f"{action}: {len(after) - len(before)} entries"
        new = after[0]
        actor = VENDOR if action in ("bank-add", "seats-add") else ADMIN  # the vendor grants, in the organization's log
        assert (new["action"], new["actor"], new["credits"], new["seats"]) == (action, actor, credits, seats), new
        assert new["on"] == TODAY.isoformat() and new["at"].startswith(TODAY.isoformat())
        assert after[1:] == before, f"{action} rewrote earlier entries (the log is append-only)"
    # refusals write nothing to the log
    before = portal.activity(ADMIN)
    with pytest.raises(PortalError):
        portal.invite(ADMIN, BOB)
    assert portal.activity(ADMIN) == before
    assert portal.check() == []


def test_activity_is_per_organization(portal):
    other = other_org(portal)
    other.invite(BOSS, "x@otter.example")
    mine = portal.activity(ADMIN)
    assert all(e["organization"] == "lumenfox-studios" for e in mine)
    assert not any(e["target"] == "x@otter.example" for e in mine)


def test_store_text_is_kept_verbatim_not_interpreted(portal):
    """Markup-like text in the store comes back as plain data (the UI escapes it)."""
    name = "[bold red]Evil[/] [@click=app.quit]x"
    bank = grant_bank(portal, product=name, credits=3, start="2026-11-01", expires_on="2027-01-01")
    assert portal.list_banks(ADMIN)[0]["product"] == name
    assert bank["product"] == name


def test_sign_in_of_an_admin_is_idempotent(portal):
    before = file_bytes(portal)
    portal.sign_in(ADMIN)
    assert file_bytes(portal) == before


def test_signing_in_for_an_admin_only_task_refuses_a_regular_user_without_writing(portal):
    """A CLI admin command run by an invited regular user: refused, and they stay invited."""
    portal.invite(ADMIN, ANA)
    for _attempt in range(2):
        before = store_tables(portal.store.path)
        with pytest.raises(PermissionDenied, match="only organization admins"):
            portal.sign_in(ANA, admin_required=True, operation="elp banks list")
        only_refusal_logged(before, store_tables(portal.store.path), ANA, "elp banks list")  # and nothing else: still invited
        assert users(portal)[ANA]["status"] == "invited"
    assert portal.sign_in(ANA)["status"] == "active"  # a task any member may do: their first sign-in
    before = store_tables(portal.store.path)
    with pytest.raises(PermissionDenied, match="only organization admins"):
        portal.sign_in(ANA, admin_required=True)
    only_refusal_logged(before, store_tables(portal.store.path), ANA)


def test_an_invited_admin_signing_in_for_an_admin_task_is_activated(portal):
    portal.invite(ADMIN, BOB, "admin")
    user = portal.sign_in(BOB, admin_required=True)
    assert (user["role"], user["status"]) == ("admin", "active")
    assert portal.activity(ADMIN)[0]["action"] == "sign-in"


# -- reactivating, init failures, product versions per organization ---------------------------
def test_reactivating_a_user_who_never_signed_in_puts_them_back_to_invited(portal):
    portal.invite(ADMIN, ANA)
    refused(portal, RuleViolation, portal.set_status, ADMIN, ANA, "active", match="first sign-in")
    portal.set_status(ADMIN, ANA, "inactive")
    row = portal.set_status(ADMIN, ANA, "active")
    assert row["status"] == "invited" and "first sign-in" in row["note"]
    assert users(portal)[ANA]["status"] == "invited"
    entry = portal.activity(ADMIN)[0]
    assert (entry["action"], entry["target"]) == ("user-status", ANA)
    assert entry["details"].startswith("status inactive -> invited") and "never signed in" in entry["details"]
    with pytest.raises(PermissionDenied, match="not signed in yet"):
        portal.my_licenses(ANA)
    assert portal.sign_in(ANA)["status"] == "active"
    assert portal.check() == []


def test_reactivating_a_user_who_signed_in_makes_them_active(portal):
    member(portal)
    portal.set_status(ADMIN, ANA, "inactive")
    row = portal.set_status(ADMIN, ANA, "active")
    assert row["status"] == "active" and "note" not in row
    assert portal.activity(ADMIN)[0]["details"] == "status inactive -> active"


def test_init_reports_why_the_store_could_not_be_created(tmp_path, monkeypatch):
    from elp_tui.store import StoreError

    def denied(self, *args, **kwargs):
        raise StoreError(f"Cannot create the store {self.path}: Permission denied.")

    monkeypatch.setattr(Store, "create", denied)
    fresh = Portal(Store(tmp_path / "elp.json"), fixed_clock(TODAY))
    with pytest.raises(StoreError, match="Permission denied") as info:
        fresh.init_organization("Lumenfox Studios", ADMIN)
    assert "elp init" not in str(info.value)


def test_init_reports_a_folder_it_cannot_write(tmp_path, monkeypatch):
    from elp_tui.store import StoreError

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("elp_tui.store.db.atomic_write", denied)
    fresh = Portal(Store(tmp_path / "elp.json"), fixed_clock(TODAY))
    with pytest.raises(StoreError, match="Cannot create the store .*Permission denied"):
        fresh.init_organization("Lumenfox Studios", ADMIN)


def test_init_accepts_a_store_another_process_created_meanwhile(portal, monkeypatch):
    other = Portal(open_store(portal.store.path), fixed_clock(TODAY))
    monkeypatch.setattr(other.store, "exists", lambda: False)  # it did not exist when checked
    other.init_organization("Otter Works", BOSS)
    assert users(portal)[ADMIN]["organization"] == "lumenfox-studios"
    assert [u["email"] for u in other.list_users(BOSS)] == [BOSS]


def test_product_versions_lists_only_the_organizations_products(portal, bank):
    other = other_org(portal)
    grant_bank(other, org="otter-works", product="Otter Paint", credits=5, start="2026-11-01", expires_on="2027-05-01")
    grant_seats(portal, "Quillstone Sketch", 2)
    assert [v["product"] for v in portal.list_versions(ADMIN)] == [PRODUCT, "Quillstone Sketch"]
    assert [v["product"] for v in other.list_versions(BOSS)] == ["Otter Paint"]
    add_builds(portal, "Otter Paint", ["1.0"])
    refused(portal, NotFound, portal.restrict, ADMIN, "Otter Paint", ["1.0"], match="no bank or seat pool for Otter Paint")
    refused(portal, NotFound, portal.unrestrict, ADMIN, "Otter Paint", match="no bank or seat pool for Otter Paint")
    refused(portal, NotFound, portal.restrict, ADMIN, "Nope", ["1.0"], match="catalog")
    other.restrict(BOSS, "Otter Paint", ["1.0"])


@pytest.mark.parametrize("bad", ["Two\nLines", "Tab\there", "Esc\x1b[31m", "Bidi\u202eabc"])
def test_names_with_line_breaks_or_control_characters_are_refused(portal, bad):
    from elp_tui.portal import InvalidInput
    from tests.conftest import ADMIN

    before = store_bytes(portal.store.path)
    with pytest.raises(InvalidInput, match="one line"):
        grant_bank(portal, product=bad, credits=5, start="2026-11-01", expires_on="2027-01-01")
    with pytest.raises(InvalidInput, match="one line"):
        grant_seats(portal, bad, 3)
    with pytest.raises(InvalidInput, match="one line"):
        portal.init_organization(bad, "other@brightmoor.studio")
    assert store_bytes(portal.store.path) == before


def test_a_first_sign_in_racing_a_deactivation_is_refused(portal, monkeypatch):
    """Deactivated by another admin between the sign-in's first read and its transaction: the
    check inside the transaction refuses, and the user stays as the other admin left them."""
    portal.invite(ADMIN, "late@lumenfox.studio")
    other = Portal(open_store(portal.store.path), portal.clock)
    original = portal.store.transaction
    raced: list[bool] = []

    def transaction():
        if not raced:
            raced.append(True)
            other.set_status(ADMIN, "late@lumenfox.studio", "inactive")
        return original()

    monkeypatch.setattr(portal.store, "transaction", transaction)
    with pytest.raises(SignInRefused, match="inactive"):
        portal.sign_in("late@lumenfox.studio")
    [user] = [u for u in portal.list_users(ADMIN) if u["email"] == "late@lumenfox.studio"]
    assert user["status"] == "inactive"
