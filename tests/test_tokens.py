"""Per-user API tokens (issue 14): `elp tokens create / list / revoke`, locally and through an SSH
session, and the portal rules under them: a token is shown once and stored only as its SHA-256;
who may see and revoke whose; what the server is told for an unknown, revoked or inactive
user's token (`token_user`), and what the activity log keeps of it.

The store is read back from its file (a fresh Store), never from the portal that wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from elp_tui.cli import main
from elp_tui.portal import Portal, fixed_clock
from elp_tui.portal.errors import AdminRequired, InvalidInput, NotFound, PermissionDenied, RuleViolation, SignInRefused
from elp_tui.portal.tokens import MAX_TOKENS
from elp_tui.store import Store, StoreError
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.helpers import cli_env, elp, file_bytes, hand_edit, only_refusal_logged, refused, store_bytes, store_tables  # noqa: F401
from tests.keyfiles import fingerprint, pub_line

ROOT = Path(__file__).resolve().parents[1]
ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
BOSS = "boss@otter.works"
SECRET = re.compile(r"elp_[A-Z2-7]{32}")
ROW_KEYS = {"id", "name", "email", "created_on", "last_used_on", "revoked_on", "revoked_by"}


def member(portal: Portal, email: str, role: str = "regular") -> str:
    portal.invite(ADMIN, email, role)
    portal.sign_in(email)
    return email


def other_org(portal: Portal) -> Portal:
    other = Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(5))
    other.init_organization("Otter Works", BOSS)
    return other


def fresh(portal: Portal) -> Portal:
    """What the next process sees: a new Portal on the store file."""
    return Portal(Store(portal.store.path), fixed_clock(TODAY))


def tokens_in_file(portal: Portal) -> dict[str, dict]:
    return {t["id"]: t for t in store_tables(portal.store.path).get("tokens", {}).values()}


def newest_entry(portal: Portal, actor: str = ADMIN) -> dict:
    return fresh(portal).activity(actor)[0]


# -- creating: shown once, kept as a hash -------------------------------------------------------
def test_a_new_token_is_shown_once_and_the_store_keeps_only_its_sha256(portal):
    member(portal, ANA)
    made = portal.create_token(ANA, "ci runner")
    assert SECRET.fullmatch(made["token"])
    assert (made["id"], made["name"], made["email"], made["created_on"]) == ("tok-0001", "ci runner", ANA, TODAY.isoformat())
    # On disk (snapshot and journal, byte for byte): the hash, never the secret.
    raw = file_bytes(portal)
    assert made["token"].encode() not in raw and made["token"][4:].encode() not in raw
    assert hashlib.sha256(made["token"].encode()).hexdigest().encode() in raw
    stored = tokens_in_file(portal)["tok-0001"]
    assert stored["hash"] == hashlib.sha256(made["token"].encode()).hexdigest()
    assert made["token"] not in json.dumps(stored)
    # Listed without the secret or the hash: never shown again.
    listed = fresh(portal).list_tokens(ANA)
    assert [set(t) for t in listed] == [ROW_KEYS] and listed[0]["id"] == "tok-0001"
    assert made["token"] not in json.dumps(listed) and stored["hash"] not in json.dumps(listed)
    entry = newest_entry(portal)
    assert (entry["action"], entry["actor"], entry["target"]) == ("token-create", ANA, ANA)
    assert "tok-0001" in entry["details"] and made["token"] not in entry["details"]


def test_every_token_is_new_and_numbered(portal):
    member(portal, ANA)
    made = [portal.create_token(ANA) for _ in range(3)] + [portal.create_token(ADMIN, "laptop")]
    assert [m["id"] for m in made] == ["tok-0001", "tok-0002", "tok-0003", "tok-0004"]
    assert len({m["token"] for m in made}) == 4
    assert [(t["id"], t["email"]) for t in fresh(portal).list_tokens(ADMIN)] == [
        ("tok-0004", ADMIN), ("tok-0001", ANA), ("tok-0002", ANA), ("tok-0003", ANA)]


def test_a_name_with_a_control_character_or_too_many_tokens_is_refused_and_nothing_written(portal):
    member(portal, ANA)
    refused(portal, InvalidInput, portal.create_token, ANA, "ci\x1b[2J", match="control character")
    for _ in range(MAX_TOKENS):
        portal.create_token(ANA)
    refused(portal, RuleViolation, portal.create_token, ANA, match="revoke one you no longer use")
    portal.revoke_token(ANA, "tok-0001")
    assert portal.create_token(ANA)["id"] == f"tok-{MAX_TOKENS + 1:04d}"


def test_an_invited_inactive_or_unknown_user_creates_no_token(portal):
    portal.invite(ADMIN, BOB, "regular")
    refused(portal, PermissionDenied, portal.create_token, BOB, match="has not signed in yet")
    member(portal, ANA)
    portal.set_status(ADMIN, ANA, "inactive")
    refused(portal, PermissionDenied, portal.create_token, ANA, match="inactive")
    refused(portal, PermissionDenied, portal.create_token, "nobody@lumenfox.studio", match="not an ELP user")


# -- what the server is told: token_user ---------------------------------------------------------
def test_a_live_token_signs_its_user_in_and_the_entries_name_it(portal):
    member(portal, ANA)
    secret = portal.create_token(ANA, "ci")["token"]
    server = fresh(portal)
    user = server.token_user(secret)
    assert user["email"] == ANA and not any(k.startswith("enrol_") for k in user)
    assert server.via_key == "token:tok-0001"
    assert tokens_in_file(portal)["tok-0001"]["last_used_on"] == TODAY.isoformat()
    server.create_token(ANA, "second")  # acting through the token: the log says so
    entry = newest_entry(portal)
    assert (entry["action"], entry["via"]) == ("token-create", "token:tok-0001")
    # Surrounding blanks (a copied line) are no part of it.
    assert fresh(portal).token_user(f"  {secret}\n")["email"] == ANA


@pytest.mark.parametrize("given", ["", "elp_", "elp_" + "A" * 32, "not a token", "elp_" + "a" * 32, "\x00" * 5000])
def test_an_unknown_token_is_refused_with_one_line_and_nothing_written(portal, given):
    member(portal, ANA)
    portal.create_token(ANA)
    exc = refused(portal, SignInRefused, fresh(portal).token_user, given)
    assert "not one ELP knows" in str(exc) and "elp tokens create" in str(exc) and "\n" not in str(exc)


def test_a_token_missing_a_character_is_unknown(portal):
    member(portal, ANA)
    secret = portal.create_token(ANA)["token"]
    refused(portal, SignInRefused, fresh(portal).token_user, secret[:-1], match="not one ELP knows")
    refused(portal, SignInRefused, fresh(portal).token_user, secret.lower(), match="not one ELP knows")


def test_a_revoked_token_is_refused_and_its_use_logged_in_its_organization(portal):
    member(portal, ANA)
    secret = portal.create_token(ANA, "ci")["token"]
    portal.revoke_token(ANA, "tok-0001")
    before = store_tables(portal.store.path)
    with pytest.raises(SignInRefused) as info:
        fresh(portal).token_user(secret)
    message = str(info.value)
    assert f"revoked on {TODAY.isoformat()}" in message and "elp tokens create" in message and "\n" not in message
    after = store_tables(portal.store.path)
    assert after["tokens"] == before["tokens"] and after["users"] == before["users"]
    added = [e for k, e in after["activity"].items() if k not in before["activity"]]
    assert len(added) == 1
    entry = added[0]
    assert (entry["action"], entry["actor"], entry["target"], entry["organization"]) == (
        "token-refused", ANA, "tok-0001", "lumenfox-studios")
    assert entry["via"] == "token:tok-0001" and "revoked" in entry["details"]
    assert secret not in json.dumps(after)


def test_an_inactive_users_token_is_refused_until_they_are_reactivated(portal):
    member(portal, ANA)
    secret = portal.create_token(ANA)["token"]
    portal.set_status(ADMIN, ANA, "inactive")
    exc = refused(portal, SignInRefused, fresh(portal).token_user, secret, match="inactive")
    assert "reactivate" in str(exc)
    portal.set_status(ADMIN, ANA, "active")
    assert fresh(portal).token_user(secret)["email"] == ANA


def test_deleting_a_member_revokes_their_tokens(portal):
    member(portal, ANA)
    secret = portal.create_token(ANA)["token"]
    portal.delete_user(ADMIN, ANA)
    assert tokens_in_file(portal)["tok-0001"]["revoked_by"] == ADMIN
    with pytest.raises(SignInRefused, match="revoked"):
        fresh(portal).token_user(secret)
    assert fresh(portal).check() == []


def test_the_vendors_staff_make_and_use_their_own_tokens(portal):
    made = portal.create_token(VENDOR, "feed bot")
    assert made["email"] == VENDOR and tokens_in_file(portal)[made["id"]]["organization"] is None
    user = fresh(portal).token_user(made["token"])
    assert (user["email"], user["role"]) == (VENDOR, "vendor")
    portal.revoke_token(VENDOR, made["id"])
    with pytest.raises(SignInRefused, match="revoked"):
        fresh(portal).token_user(made["token"])  # logged in the log of no organization: the vendor's
    entry = fresh(portal).store.read().all("activity")[-1]
    assert (entry["action"], entry["organization"], entry["actor"]) == ("token-refused", None, VENDOR)


def test_check_reports_a_live_token_of_someone_who_is_not_a_user(portal):
    member(portal, ANA)
    portal.create_token(ANA)
    assert fresh(portal).check() == []

    def gone(data: dict) -> None:
        data["users"] = {k: u for k, u in data["users"].items() if u["email"] != ANA}

    hand_edit(portal.store.path, gone)
    problems = Portal(Store(portal.store.path), fixed_clock(TODAY)).check()
    assert f"API token tok-0001 belongs to {ANA}, who is not a user: revoke it" in problems


# -- who sees and revokes whose ------------------------------------------------------------------
def test_a_regular_user_sees_only_their_own_and_an_admin_their_organizations(portal):
    member(portal, ANA)
    member(portal, BOB)
    other = other_org(portal)
    portal.create_token(ANA)
    portal.create_token(BOB)
    other.create_token(BOSS)
    portal.create_token(VENDOR)
    view = fresh(portal)
    assert [t["email"] for t in view.list_tokens(ANA)] == [ANA]
    assert [t["email"] for t in view.list_tokens(ADMIN)] == [ANA, BOB]
    assert [t["email"] for t in view.list_tokens(ADMIN, BOB)] == [BOB]
    assert [t["email"] for t in view.list_tokens(BOSS)] == [BOSS]
    assert [t["email"] for t in view.list_tokens(VENDOR)] == [VENDOR]
    refused(portal, NotFound, view.list_tokens, ADMIN, BOSS, match="not a member of your organization")
    refused(portal, NotFound, view.list_tokens, VENDOR, ANA, match="not a member of your organization")


def test_a_regular_user_cannot_revoke_another_members_token_and_the_refusal_is_logged(portal):
    member(portal, ANA)
    member(portal, BOB)
    portal.create_token(BOB, "bob's")
    before = store_tables(portal.store.path)
    with pytest.raises(AdminRequired, match="only organization admins"):
        fresh(portal).revoke_token(ANA, "tok-0001")
    only_refusal_logged(before, store_tables(portal.store.path), ANA, "revoke_token")
    assert not tokens_in_file(portal)["tok-0001"].get("revoked_on")


def test_an_admin_revokes_a_members_token_but_not_another_organizations(portal):
    member(portal, ANA)
    other = other_org(portal)
    other.create_token(BOSS)  # tok-0001
    portal.create_token(ANA)  # tok-0002
    refused(portal, NotFound, fresh(portal).revoke_token, ADMIN, "tok-0001", match="No token tok-0001 among")
    refused(portal, NotFound, fresh(portal).revoke_token, VENDOR, "tok-0002", match="No token tok-0002 among")
    done = fresh(portal).revoke_token(ADMIN, "tok-0002")
    assert (done["id"], done["email"], done["revoked_on"], done["revoked_by"]) == ("tok-0002", ANA, TODAY.isoformat(), ADMIN)
    entry = newest_entry(portal)
    assert (entry["action"], entry["actor"], entry["target"]) == ("token-revoke", ADMIN, ANA)
    # Still listed, marked revoked; revoking it again says when it was.
    assert fresh(portal).list_tokens(ANA)[0]["revoked_on"] == TODAY.isoformat()
    refused(portal, RuleViolation, fresh(portal).revoke_token, ANA, "tok-0002", match="already revoked on")
    refused(portal, InvalidInput, fresh(portal).revoke_token, ANA, "SHA256:abc", match="not a token id")
    refused(portal, NotFound, fresh(portal).revoke_token, ANA, "tok-0099")


# -- the store refuses a secret kept in clear ------------------------------------------------------
def test_a_store_holding_a_token_in_clear_is_refused_without_showing_it(portal, elp):
    member(portal, ANA)
    secret = portal.create_token(ANA)["token"]

    def in_clear(data: dict) -> None:
        data["tokens"]["1"]["hash"] = secret

    hand_edit(portal.store.path, in_clear)
    with pytest.raises(StoreError) as info:
        Store(portal.store.path).read()
    assert "tokens #1 (tok-0001)" in str(info.value) and "never in clear" in str(info.value)
    assert secret not in str(info.value) and secret[4:12] not in str(info.value)
    done = elp("check", user=None)
    assert done.code == 1 and secret not in done.out + done.err and "never in clear" in done.out + done.err


# -- the CLI, as its own process ----------------------------------------------------------------------
def elp_process(store_path: Path, *args: str, user: str | None = ADMIN, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "ELP_TODAY": TODAY.isoformat(), "PYTHONPATH": str(ROOT), **(env or {})}
    for name in ("ELP_USER", "ELP_STORE", "COLUMNS"):
        environ.pop(name, None)
    argv = [sys.executable, "-m", "elp_tui", "--store", str(store_path)] + (["--as", user] if user else []) + list(args)
    return subprocess.run(argv, env=environ, input="", capture_output=True, text=True, timeout=60)


def one_refusal_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("elp: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_cli_create_prints_the_token_alone_on_stdout_and_says_it_is_not_shown_again(portal):
    member(portal, ANA)
    done = elp_process(portal.store.path, "tokens", "create", "--name", "ci", user=ANA)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    assert SECRET.fullmatch(secret) and done.stdout == secret + "\n"
    assert "will not be shown again" in done.stderr and "ELP_TOKEN" in done.stderr and "ELP_SERVER" in done.stderr
    assert "tok-0001" in done.stderr
    assert secret.encode() not in file_bytes(portal)
    assert fresh(portal).token_user(secret)["email"] == ANA
    # --json: one object with the secret, the note on stderr.
    done = elp_process(portal.store.path, "tokens", "create", "--json", user=ANA)
    made = json.loads(done.stdout)
    assert made["id"] == "tok-0002" and SECRET.fullmatch(made["token"]) and "hash" not in made
    assert "will not be shown again" in done.stderr


def test_cli_list_and_revoke(portal):
    member(portal, ANA)
    member(portal, BOB)
    portal.create_token(ANA, "laptop")
    portal.create_token(BOB)
    done = elp_process(portal.store.path, "tokens", "list", "--json", user=ANA)
    assert [(t["id"], t["name"]) for t in json.loads(done.stdout)] == [("tok-0001", "laptop")]
    assert all(set(t) == ROW_KEYS for t in json.loads(done.stdout))
    table = elp_process(portal.store.path, "tokens", "list", user=ADMIN).stdout
    assert "tok-0001" in table and "tok-0002" in table and "live" in table
    done = elp_process(portal.store.path, "tokens", "list", "--email", BOB, "--json", user=ADMIN)
    assert [t["id"] for t in json.loads(done.stdout)] == ["tok-0002"]
    # No terminal and no --yes: nothing revoked.
    before = file_bytes(portal)
    assert "--yes" in one_refusal_line(elp_process(portal.store.path, "tokens", "revoke", "tok-0002", user=ADMIN))
    assert file_bytes(portal) == before
    done = elp_process(portal.store.path, "tokens", "revoke", "tok-0002", "--yes", user=ADMIN)
    assert done.returncode == 0 and "tok-0002" in done.stdout and "revoked" in done.stdout
    assert tokens_in_file(portal)["tok-0002"]["revoked_by"] == ADMIN
    assert "revoked 2026-11-23" in elp_process(portal.store.path, "tokens", "list", user=ADMIN).stdout


def test_cli_a_regular_user_revoking_anothers_token_is_refused_in_one_line_and_logged(portal):
    member(portal, ANA)
    member(portal, BOB)
    portal.create_token(BOB)
    before = store_tables(portal.store.path)
    line = one_refusal_line(elp_process(portal.store.path, "tokens", "revoke", "tok-0001", "--yes", user=ANA))
    assert "only organization admins" in line
    only_refusal_logged(before, store_tables(portal.store.path), ANA, "revoke_token")
    line = one_refusal_line(elp_process(portal.store.path, "tokens", "revoke", "tok-12", "--yes", user=ANA))
    assert "not a token id" in line


# -- through an SSH session: the key's user makes their own ---------------------------------------------
@pytest.fixture
def ana_over_ssh(portal, capsys, monkeypatch):
    """`elp --store STORE ssh session --key FP` as sshd runs it for ANA's key, in-process."""
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    for name in ("ELP_USER", "ELP_STORE", "ELP_TODAY", "ELP_CONFIG"):  # as sshd starts it: none of them
        monkeypatch.delenv(name, raising=False)

    def run(command: str) -> tuple[int, str, str]:
        monkeypatch.setenv("SSH_ORIGINAL_COMMAND", command)
        code = main(["--store", str(portal.store.path), "ssh", "session", "--key", fingerprint("ana")])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_over_ssh_a_member_creates_lists_and_revokes_their_own_token(portal, ana_over_ssh):
    code, out, err = ana_over_ssh("tokens create --name laptop")
    assert code == 0, err
    secret = out.strip()
    assert SECRET.fullmatch(secret) and "will not be shown again" in err
    assert fresh(portal).token_user(secret)["email"] == ANA
    entry = newest_entry(portal)
    assert (entry["action"], entry["actor"], entry["via"]) == ("token-create", ANA, fingerprint("ana"))
    code, out, err = ana_over_ssh("tokens list --json")
    assert [t["id"] for t in json.loads(out)] == ["tok-0001"]
    # --as is refused over SSH: the key says who you are.
    before = file_bytes(portal)
    code, out, err = ana_over_ssh(f"tokens create --as {ADMIN}")
    assert code == 1 and "--as refused" in err and file_bytes(portal) == before
    code, out, err = ana_over_ssh("tokens revoke tok-0001 --yes")
    assert code == 0, err
    with pytest.raises(SignInRefused, match="revoked"):
        fresh(portal).token_user(secret)


# -- a member's details ------------------------------------------------------------------------------
def test_a_members_details_list_their_live_tokens_never_a_secret(portal, elp):
    member(portal, ANA)
    secret = portal.create_token(ANA, "ci")["token"]
    portal.create_token(ANA, "old")
    portal.revoke_token(ANA, "tok-0002")
    details = fresh(portal).user_details(ADMIN, ANA)
    assert [(t["id"], t["name"]) for t in details["tokens"]] == [("tok-0001", "ci")]
    shown = elp("users", "show", ANA)
    assert shown.code == 0 and "API tokens" in shown.out and "tok-0001 · ci" in shown.out
    assert "tok-0002" not in shown.out.split("API tokens")[1].split("History")[0] and secret not in shown.out
    assert "No API token." in elp("users", "show", ADMIN).out
