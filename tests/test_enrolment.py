"""Enrolment (issue 11): an invited person binds their SSH key with the one-time code of their
invitation. Portal level, on a real store file, no sshd: what `elp ssh enrol` calls.

The code is read from the invitation email in the outbox, as the person reads it in their mailbox.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.portal.errors import RuleViolation, SignInRefused
from elp_tui.portal.keys import ENROL_DAYS, MAX_ENROL_FAILURES
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.helpers import file_bytes, refused, store_tables
from tests.keyfiles import fingerprint, invitation_codes, key_parts, last_code, pub_line

ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
WRONG = "AAAA-BBBB-CCCC"


def on_day(portal: Portal, day: dt.date) -> Portal:
    """The same store, another day (another session started then)."""
    return Portal(Store(portal.store.path), fixed_clock(day), rng=random.Random(11))


def invited(portal: Portal, email: str = ANA) -> str:
    """`email` invited by ADMIN: the enrolment code their invitation email carries."""
    portal.invite(ADMIN, email, "regular")
    return last_code(portal, email)


def user_doc(portal: Portal, email: str) -> dict:
    return next(u for u in store_tables(portal.store.path)["users"].values() if u["email"] == email)


def new_entries(before: dict, after: dict) -> list[dict]:
    old = before.get("activity", {})
    return sorted((doc for key, doc in after["activity"].items() if key not in old), key=lambda d: d["seq"])


def enrol(portal: Portal, seed: str, email: str, code: str) -> dict:
    key_type, blob = key_parts(seed)
    return portal.enrol(key_type, blob, email, code)


# -- the good code -------------------------------------------------------------------------
def test_the_invitation_code_enrols_the_key_and_activates_the_user(portal):
    code = invited(portal)
    assert user_doc(portal, ANA)["status"] == "invited"
    user = enrol(portal, "ana", ANA, code.lower().replace("-", " "))  # read aloud, typed loosely: still the code
    assert user["email"] == ANA and user["status"] == "active"
    assert not any(k.startswith("enrol_") for k in user), "sign-in hands out no secret"
    doc = user_doc(portal, ANA)
    assert (doc["status"], doc["enrol_code"], doc["enrol_failures"]) == ("active", None, 0)
    keys = on_day(portal, TODAY).list_keys(ADMIN, ANA)
    assert [(k["fingerprint"], k["added_by"], k["last_used_on"]) for k in keys] == [(fingerprint("ana"), ANA, TODAY.isoformat())]
    # OpenSSH now gets her for that key; the log says who enrolled which key.
    assert on_day(portal, TODAY).user_for_key(fingerprint("ana"))["email"] == ANA
    entry = portal.activity(ADMIN)[0]
    assert (entry["action"], entry["actor"], entry["via"]) == ("enrol", ANA, fingerprint("ana"))
    assert fingerprint("ana") in entry["details"]


def test_the_code_works_once(portal):
    code = invited(portal)
    enrol(portal, "ana", ANA, code)
    before = file_bytes(portal)
    with pytest.raises(SignInRefused, match="no enrolment open"):
        enrol(on_day(portal, TODAY), "ana-second", ANA, code)
    assert [k["fingerprint"] for k in portal.list_keys(ADMIN, ANA)] == [fingerprint("ana")]
    assert file_bytes(portal) != before  # the failed try is in the log
    assert portal.activity(ADMIN)[0]["action"] == "enrol-failed"


# -- wrong codes -------------------------------------------------------------------------------
def test_a_wrong_code_is_counted_and_logged_and_changes_nothing_else(portal):
    invited(portal)
    before = store_tables(portal.store.path)
    with pytest.raises(SignInRefused) as info:
        enrol(portal, "ana", ANA, WRONG)
    assert f"{MAX_ENROL_FAILURES - 1} tries left" in str(info.value)
    after = store_tables(portal.store.path)
    # Only her count of wrong codes and one activity entry changed.
    for table in set(before) | set(after):
        if table not in ("_meta", "activity", "users"):
            assert after.get(table) == before.get(table), table
    changed = {k: (before["users"][k], after["users"][k]) for k in after["users"] if after["users"][k] != before["users"][k]}
    assert len(changed) == 1
    old, new = next(iter(changed.values()))
    assert {k for k in new if new[k] != old[k]} == {"enrol_failures"} and new["enrol_failures"] == 1
    entries = new_entries(before, after)
    assert [(e["action"], e["target"]) for e in entries] == [("enrol-failed", ANA)]
    assert f"1/{MAX_ENROL_FAILURES}" in entries[0]["details"] and fingerprint("ana") in entries[0]["details"]
    assert WRONG not in entries[0]["details"], "a tried code is not written down"
    assert "ssh_keys" not in after or not after["ssh_keys"]
    assert user_doc(portal, ANA)["status"] == "invited"


def test_the_enrolment_locks_after_five_wrong_codes_even_for_the_right_one(portal):
    code = invited(portal)
    messages = []
    for n in range(MAX_ENROL_FAILURES):
        with pytest.raises(SignInRefused) as info:
            enrol(portal, f"guess-{n}", ANA, WRONG)
        messages.append(str(info.value))
    assert "1 tries left" in messages[-2] and "now locked" in messages[-1]
    with pytest.raises(SignInRefused, match="locked"):
        enrol(portal, "ana", ANA, code)
    doc = user_doc(portal, ANA)
    assert (doc["status"], doc["enrol_failures"]) == ("invited", MAX_ENROL_FAILURES)
    assert portal.list_keys(ADMIN, ANA) == []
    failed = [e for e in portal.activity(ADMIN) if e["action"] == "enrol-failed"]
    assert len(failed) == MAX_ENROL_FAILURES + 1 and "locked" in failed[0]["details"]


# -- expiry ------------------------------------------------------------------------------------
def test_the_code_is_valid_seven_days_and_expired_after(portal):
    ana_code, bob_code = invited(portal, ANA), invited(portal, BOB)
    last_day = TODAY + dt.timedelta(days=ENROL_DAYS)
    assert user_doc(portal, ANA)["enrol_expires_on"] == last_day.isoformat()
    late = on_day(portal, last_day + dt.timedelta(days=1))
    with pytest.raises(SignInRefused, match="expired on " + last_day.isoformat()):
        enrol(late, "ana", ANA, ana_code)
    assert user_doc(portal, ANA)["status"] == "invited" and late.list_keys(ADMIN, ANA) == []
    assert "expired" in late.activity(ADMIN)[0]["details"]
    # The seventh day is still good.
    assert enrol(on_day(portal, last_day), "bob", BOB, bob_code)["status"] == "active"


# -- a new invitation ------------------------------------------------------------------------
def test_a_new_invitation_gives_a_new_code_the_old_one_stops_working_and_failures_reset(portal):
    old = invited(portal)
    for n in range(MAX_ENROL_FAILURES - 1):
        with pytest.raises(SignInRefused):
            enrol(portal, f"guess-{n}", ANA, WRONG)
    row = portal.resend_invitation(ADMIN, ANA)
    assert row["status"] == "invited"
    codes = invitation_codes(portal, ANA)
    assert len(codes) == 2 and codes[0] == old and codes[1] != old
    assert user_doc(portal, ANA)["enrol_failures"] == 0
    assert portal.activity(ADMIN)[0]["action"] == "user-reinvite"
    # The old code is now a wrong code, counted from zero again (one try used, four left).
    with pytest.raises(SignInRefused, match=f"{MAX_ENROL_FAILURES - 1} tries left"):
        enrol(portal, "ana", ANA, old)
    assert enrol(portal, "ana", ANA, codes[1])["status"] == "active"


def test_a_locked_enrolment_opens_again_with_a_new_invitation(portal):
    invited(portal)
    for n in range(MAX_ENROL_FAILURES):
        with pytest.raises(SignInRefused):
            enrol(portal, f"guess-{n}", ANA, WRONG)
    portal.resend_invitation(ADMIN, ANA)
    assert enrol(portal, "ana", ANA, last_code(portal, ANA))["status"] == "active"


def test_only_an_invited_member_gets_a_new_invitation(portal):
    refused(portal, RuleViolation, portal.resend_invitation, ADMIN, ADMIN, match="not invited")
    invited(portal)
    enrol(portal, "ana", ANA, last_code(portal, ANA))
    refused(portal, RuleViolation, portal.resend_invitation, ADMIN, ANA, match="not invited")


# -- nobody else enrols ------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["active admin", "unknown address", "vendor staff", "signed in locally"])
def test_no_enrolment_for_an_active_user_or_an_unknown_address(portal, who):
    code = invited(portal)
    email = {"active admin": ADMIN, "unknown address": "nobody@lumenfox.studio", "vendor staff": VENDOR,
             "signed in locally": ANA}[who]
    if who == "signed in locally":
        portal.sign_in(ANA)  # she used ELP on the server: active, her code no longer binds a key
    before = store_tables(portal.store.path)
    with pytest.raises(SignInRefused):
        enrol(portal, "intruder", email, code)
    after = store_tables(portal.store.path)
    assert not after.get("ssh_keys")
    assert after["users"] == before["users"]
    assert [e["action"] for e in new_entries(before, after)] == ["enrol-failed"]


def test_a_key_bound_already_cannot_enrol_again(portal):
    portal.invite(ADMIN, BOB, "regular")
    portal.sign_in(BOB)
    portal.add_key(ADMIN, BOB, pub_line("shared"))
    code = invited(portal, ANA)
    refused(portal, RuleViolation, enrol, portal, "shared", ANA, code, match="already enrolled")
    assert [k["email"] for k in portal.list_keys(ADMIN)] == [BOB]
    assert user_doc(portal, ANA)["status"] == "invited"


# -- the code is a secret ------------------------------------------------------------------------
def test_the_code_is_kept_only_as_a_salted_hash(portal):
    codes = [invited(portal, ANA), invited(portal, BOB)]
    users = store_tables(portal.store.path)["users"]
    hashes = [u["enrol_code"] for u in users.values() if u["email"] in (ANA, BOB)]
    assert all(h.startswith("sha256$") for h in hashes) and hashes[0].split("$")[1] != hashes[1].split("$")[1]
    raw = file_bytes(portal)
    for code in codes:
        for form in (code, code.replace("-", ""), code.lower()):
            assert form.encode() not in raw


def test_the_code_is_nowhere_in_the_store_file(portal):
    portal.invite(ADMIN, ANA, "regular")
    queued = next(m for m in store_tables(portal.store.path)["outbox"].values() if m["to"] == ANA)
    assert "••••-••••-••••" in queued["body"] and user_doc(portal, ANA)["enrol_code"] is None  # made as it is sent
    code = last_code(portal, ANA)  # delivered through the real SMTP server, read from the mail
    raw = file_bytes(portal)
    for form in (code, code.replace("-", ""), code.lower()):
        assert form.encode() not in raw  # not in the sent invitation either: its stored body keeps the mask
    assert enrol(portal, "ana", ANA, code)["status"] == "active"


# -- through the key ---------------------------------------------------------------------------
def test_activity_after_enrolment_records_the_key_it_came_through(portal):
    enrol(portal, "ana", ANA, invited(portal))
    # A later SSH session with that key: every entry it writes names the key.
    session = on_day(portal, TODAY + dt.timedelta(days=1))
    assert session.ssh_sign_in(fingerprint("ana"))["email"] == ANA
    session.add_key(ANA, ANA, pub_line("ana-desktop"))
    entry = session.activity(ADMIN)[0]
    assert (entry["action"], entry["actor"], entry["via"]) == ("key-add", ANA, fingerprint("ana"))
    assert [k["last_used_on"] for k in session.list_keys(ANA) if k["fingerprint"] == fingerprint("ana")] == [
        (TODAY + dt.timedelta(days=1)).isoformat()]
    # Used locally (no key), the entry says so by naming none.
    on_day(portal, TODAY).revoke_key(ADMIN, fingerprint("ana-desktop"))
    entry = portal.activity(ADMIN)[0]
    assert (entry["action"], entry["via"]) == ("key-revoke", None)
