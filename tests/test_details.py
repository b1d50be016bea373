"""Seeing one thing whole (issue 12): the portal's details of a license, a member, a bank and a team —
every field, what is possible and why not (the portal's own refusals), and the history from the
activity log — and who may see them. Read-only: asking writes nothing (a refusal of authority
writes its one log entry)."""

from __future__ import annotations

import pytest

from elp_tui.portal import AdminRequired, NotFound, Portal
from tests.conftest import ADMIN, TODAY
from tests.helpers import file_bytes, grant_bank, grant_seats, only_refusal_logged, refused, store_tables

ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
DIANA = "diana@lumenfox.studio"  # her address ends like Ana's: her history is not Ana's
SEATS = "Frameloop Teams"


def member(portal: Portal, email: str, role: str = "regular") -> str:
    portal.invite(ADMIN, email, role)
    portal.sign_in(email)
    return email


def make(portal: Portal, bank: dict, *, type="node-lock", months=1, quantity=1, email=ANA) -> list[dict]:
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type=type, months=months, quantity=quantity, start=TODAY,
                                  email=email)
    return portal.generate(ADMIN, quote)


# -- a license ------------------------------------------------------------------------------
def test_license_details_show_every_field_the_bank_and_the_history_in_order(portal, bank):
    member(portal, ANA)
    aid = make(portal, bank, type="multiseat", months=2, quantity=3)[0]["activation_id"]
    make(portal, bank, email=ANA)  # another license of Ana's: not in this one's history
    portal.renew(ADMIN, portal.quote_renew(ADMIN, aid, months=1))
    portal.return_license(ADMIN, aid, ANA)
    before = file_bytes(portal)

    details = portal.license_details(ADMIN, aid.lower())  # as typed: case aside

    assert file_bytes(portal) == before, "looking changed the store"
    lic = details["license"]
    assert (lic["activation_id"], lic["type"], lic["computers"], lic["assignee"], lic["status"]) == (
        aid, "multiseat", 3, None, "returned")
    assert (lic["start"], lic["expires_on"], lic["credits_used"]) == ("2026-11-23", "2027-02-23", 9)
    assert (details["bank"]["id"], details["bank"]["start"], details["bank"]["expires_on"]) == (
        bank["id"], "2026-11-01", "2027-05-01")
    assert [e["action"] for e in details["history"]] == ["license-return", "license-renew", "license-generate"]
    assert details["history_total"] == 3
    assert [(e["reason"], e["credits"]) for e in details["ledger"]] == [("renew", 3), ("generate", 6)]


def test_license_details_say_why_an_action_is_not_possible_in_the_portals_words(portal):
    member(portal, ANA)
    fixed = grant_bank(portal, product="Quillstone Animate", credits=50, start="2026-11-01", expires_on="2027-05-01",
                       product_version="24.3", portable=False)
    aid = make(portal, fixed)[0]["activation_id"]

    actions = portal.license_details(ADMIN, aid)["actions"]

    assert actions["renew"] is None  # one more month fits in the bank
    assert "cannot be returned" in actions["return"] and "not portable" in actions["return"]
    assert "cannot be reassigned" in actions["assign"]


def test_a_returned_license_can_be_assigned_not_returned(portal, bank):
    member(portal, ANA)
    aid = make(portal, bank)[0]["activation_id"]
    portal.return_license(ADMIN, aid, ANA)

    actions = portal.license_details(ADMIN, aid)["actions"]

    assert actions["assign"] is None
    assert actions["return"] == f"License {aid} is already returned: assign it instead."


def test_a_license_that_ends_with_its_bank_cannot_be_renewed_and_the_details_say_so(portal):
    member(portal, ANA)
    short = grant_bank(portal, product="Quillstone Animate", credits=50, start="2026-11-01", expires_on="2026-12-23",
                       product_version="25.1", portable=True)
    aid = make(portal, short, months=3)[0]["activation_id"]  # cut at the bank's expiry

    renew = portal.license_details(ADMIN, aid)["actions"]["renew"]

    assert renew is not None and "already ends at its bank's expiry" in renew


def test_a_member_sees_the_details_of_their_own_license_and_nothing_they_may_do_to_it(portal, bank):
    member(portal, ANA)
    aid = make(portal, bank)[0]["activation_id"]

    details = portal.license_details(ANA, aid)

    assert details["license"]["assignee"] == ANA
    assert all("only organization admins" in why for why in details["actions"].values())


def test_a_member_asking_for_someone_elses_license_is_refused_and_logged(portal, bank):
    member(portal, ANA)
    member(portal, BOB)
    aid = make(portal, bank, email=BOB)[0]["activation_id"]
    old = store_tables(portal.store.path)

    with pytest.raises(AdminRequired, match="only organization admins"):
        portal.license_details(ANA, aid)

    only_refusal_logged(old, store_tables(portal.store.path), ANA, "license_details")


def test_an_unknown_license_is_refused_with_where_to_look(portal, bank):
    refused(portal, NotFound, portal.license_details, ADMIN, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", match="elp licenses list")


# -- a member -------------------------------------------------------------------------------
def test_user_details_show_teams_seats_licenses_keys_and_only_their_history(portal, bank):
    member(portal, ANA)
    member(portal, DIANA)
    grant_seats(portal, SEATS, 3)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Layout", DIANA)
    portal.set_team_admin(ADMIN, "Layout", ANA)
    aid = make(portal, bank)[0]["activation_id"]
    make(portal, bank, email=DIANA)

    details = portal.user_details(ADMIN, ANA.upper())

    assert (details["user"]["email"], details["user"]["role"], details["user"]["status"]) == (ANA, "regular", "active")
    assert details["teams"] == [{"name": "Layout", "product": SEATS, "member": True, "team_admin": True}]
    assert details["seats"] == [{"product": SEATS, "since": "2026-11-23"}]
    assert [lic["activation_id"] for lic in details["licenses"]] == [aid]
    assert details["keys"] == []
    actions = [e["action"] for e in details["history"]]
    assert actions == ["license-generate", "team-admin", "team-add", "sign-in", "user-invite"]
    assert all(DIANA not in e["details"] or ANA in e["details"] for e in details["history"])
    assert details["actions"]["revoke_key"] == f"{ANA} has no SSH key."
    assert "still holds 1 unexpired license" in details["actions"]["delete"]


def test_the_last_admin_is_told_why_they_cannot_be_demoted(portal):
    actions = portal.user_details(ADMIN, ADMIN)["actions"]

    assert "last active admin" in actions["role"] and "last active admin" in actions["status"]


def test_a_member_sees_themselves_but_not_another_member(portal):
    member(portal, ANA)
    member(portal, BOB)

    assert portal.user_details(ANA, ANA)["user"]["email"] == ANA
    old = store_tables(portal.store.path)
    with pytest.raises(AdminRequired):
        portal.user_details(ANA, BOB)
    only_refusal_logged(old, store_tables(portal.store.path), ANA, "user_details")


# -- a bank ---------------------------------------------------------------------------------
def test_bank_details_show_its_licenses_ledger_requests_and_history(portal, bank):
    member(portal, ANA)
    made = make(portal, bank, quantity=2)
    portal.request_credits(ADMIN, bank["id"], 25)

    details = portal.bank_details(ADMIN, bank["id"].lower())

    assert (details["bank"]["used"], details["bank"]["remaining"], details["bank"]["credits_requested"]) == (2, 98, 125)
    assert {lic["activation_id"] for lic in details["licenses"]} == {lic["activation_id"] for lic in made}
    assert details["licenses_total"] == 2 and details["ledger_total"] == 2
    assert [(r["amount"], r["state"]) for r in details["requests"]] == [(25, "requested")]
    assert [e["action"] for e in details["history"]] == ["credits-request", "bank-add"]
    assert details["actions"]["request_credits"] is None


def test_an_expired_bank_says_why_no_credits_can_be_requested(portal):
    old = grant_bank(portal, product="Quillstone Animate", credits=10, start="2026-01-01", expires_on="2026-12-01")
    portal.clock = lambda: TODAY.replace(month=12, day=5)

    why = portal.bank_details(ADMIN, old["id"])["actions"]["request_credits"]

    assert why is not None and "expired on 2026-12-01" in why


def test_a_regular_member_is_refused_a_banks_details_and_it_is_logged(portal, bank):
    member(portal, ANA)
    old = store_tables(portal.store.path)
    with pytest.raises(AdminRequired):
        portal.bank_details(ANA, bank["id"])
    only_refusal_logged(old, store_tables(portal.store.path), ANA, "bank_details")


# -- a team ---------------------------------------------------------------------------------
@pytest.fixture
def teams(portal) -> Portal:
    member(portal, ANA)
    member(portal, BOB)
    grant_seats(portal, SEATS, 4)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.create_team(ADMIN, "Story", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.team_add(ADMIN, "Story", BOB)
    portal.set_team_admin(ADMIN, "Layout", ANA)
    return portal


def test_team_details_show_members_seats_admins_and_history(teams):
    details = teams.team_details(ADMIN, "layout")

    assert details["team"]["name"] == "Layout" and details["team"]["admins"] == [ANA]
    assert details["members"] == [{"email": ANA, "state": "active", "since": "2026-11-23", "team_admin": True}]
    assert (details["pool"]["product"], details["pool"]["purchased"], details["pool"]["unused"]) == (SEATS, 4, 2)
    assert [e["action"] for e in details["history"]] == ["team-admin", "team-add", "team-create"]


def test_a_team_admin_sees_their_team_and_is_refused_another(teams):
    assert teams.team_details(ANA, "Layout")["team"]["name"] == "Layout"
    old = store_tables(teams.store.path)
    with pytest.raises(AdminRequired, match="not a Team Admin of team Story"):
        teams.team_details(ANA, "Story")
    only_refusal_logged(old, store_tables(teams.store.path), ANA)


def test_a_plain_member_is_refused_a_teams_details(teams):
    old = store_tables(teams.store.path)
    with pytest.raises(AdminRequired):
        teams.team_details(BOB, "Story")
    only_refusal_logged(old, store_tables(teams.store.path), BOB, "team_details")


# -- the CLI: the same details, the same refusals --------------------------------------------
from tests.helpers import cli_env, elp  # noqa: E402,F401  (fixtures)


@pytest.mark.usefixtures("cli_env")
def test_elp_licenses_show_prints_the_fields_why_not_and_history(portal, bank, elp):
    member(portal, ANA)
    aid = make(portal, bank)[0]["activation_id"]
    portal.return_license(ADMIN, aid, ANA)
    before = file_bytes(portal)

    shown = elp("licenses", "show", aid)

    assert shown.code == 0 and file_bytes(portal) == before
    assert f"License {aid}" in shown.out and "nobody (returned)" in shown.out
    assert f"return: not possible: License {aid} is already returned: assign it instead." in shown.out
    assert shown.out.index("license-return") < shown.out.index("license-generate")
    data = elp("licenses", "show", aid, "--json").json()
    assert data["license"]["activation_id"] == aid and data["actions"]["assign"] is None


@pytest.mark.usefixtures("cli_env")
def test_elp_users_banks_and_teams_show(portal, bank, elp):
    member(portal, ANA)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    aid = make(portal, bank)[0]["activation_id"]

    user = elp("users", "show", ANA)
    assert user.code == 0 and f"Member {ANA}" in user.out and "Layout" in user.out and aid in user.out
    bank_shown = elp("banks", "show", bank["id"])
    assert bank_shown.code == 0 and aid in bank_shown.out and "bank-add" in bank_shown.out
    team = elp("teams", "show", "layout", "--json").json()
    assert [m["email"] for m in team["members"]] == [ANA]


@pytest.mark.usefixtures("cli_env")
def test_elp_show_of_someone_elses_license_is_refused_exit_1_and_logged(portal, bank, elp):
    member(portal, ANA)
    member(portal, BOB)
    aid = make(portal, bank, email=BOB)[0]["activation_id"]
    old = store_tables(portal.store.path)

    refused_cli = elp("licenses", "show", aid, user=ANA)

    assert refused_cli.code == 1 and "only organization admins" in refused_cli.err and refused_cli.out == ""
    only_refusal_logged(old, store_tables(portal.store.path), ANA, "license_details")
    assert elp("licenses", "show", make(portal, bank)[0]["activation_id"], user=ANA).code == 0  # her own


# -- the CLI in French: the app's words, every stored value by its name ------------------------
ENGLISH = ["credits", " by ", "since", "until", "(Team Admin)", "returned", "generate", "requested"]


def without_history_entries(out: str) -> str:
    """The output less the activity entries: those quote the log as it was written (data), and the
    action ids (license-generate) are the log's own, as on the Activity page."""
    return "\n".join(line for line in out.splitlines() if not line.startswith("  #"))


@pytest.mark.usefixtures("cli_env")
def test_elp_show_in_french_says_every_word_and_value_in_french(portal, bank, elp):
    member(portal, ANA)
    grant_seats(portal, SEATS, 2)
    portal.create_team(ADMIN, "Layout", SEATS)
    portal.team_add(ADMIN, "Layout", ANA)
    portal.set_team_admin(ADMIN, "Layout", ANA)
    returned = make(portal, bank)[0]["activation_id"]
    portal.return_license(ADMIN, returned, ANA)
    kept = make(portal, bank)[0]["activation_id"]
    portal.request_credits(ADMIN, bank["id"], 5)

    shown = {
        "license": elp("--lang", "fr", "licenses", "show", returned),
        "user": elp("--lang", "fr", "users", "show", ANA),
        "bank": elp("--lang", "fr", "banks", "show", bank["id"]),
        "team": elp("--lang", "fr", "teams", "show", "Layout"),
    }

    assert all(r.code == 0 for r in shown.values()), {k: r.err for k, r in shown.items()}
    for what, result in shown.items():
        text = without_history_entries(result.out)
        assert [w for w in ENGLISH if w in text] == [], (what, text)
    lic, user, bank_out, team = (shown[k].out for k in ("license", "user", "bank", "team"))
    assert "Statut:" in lic and "retournée" in lic and "personne (retournée)" in lic and "génération" in lic
    assert "Historique :" in lic and "crédits déduits" in lic.lower()
    assert f"{kept} · active · node-lock × 1 · jusqu'au" in user and "utilisateur normal" in user
    assert "Layout (Frameloop Teams) · Team Admin" in user and "depuis le" in user
    assert f"{returned} · retournée" in bank_out and "5 crédits · demandée · par" in bank_out
    assert f"{ANA} · en attente · depuis le" in team or f"{ANA} · actif · depuis le" in team
    assert "Actions :" in lic and "assign: disponible" in lic  # the CLI's own command names, in French around them


@pytest.mark.usefixtures("cli_env")
def test_elp_show_json_stays_the_portals_data_with_its_stored_values_in_french_too(portal, bank, elp):
    from elp_tui.cli.console import to_json

    member(portal, ANA)
    aid = make(portal, bank)[0]["activation_id"]
    portal.return_license(ADMIN, aid, ANA)

    english = elp("licenses", "show", aid, "--json")
    assert english.out.strip() == to_json(portal.license_details(ADMIN, aid))  # the portal's dict, as it is
    french = elp("--lang", "fr", "licenses", "show", aid, "--json")
    data = french.json()  # stored values stay values (only the portal's refusal sentences speak French)
    assert data["license"]["status"] == "returned" and data["license"]["type"] == "node-lock"
    assert [e["reason"] for e in data["ledger"]] == ["generate"]
