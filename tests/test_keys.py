"""SSH keys bound to users (issue 11): `elp keys add / list / revoke`, `elp users reinvite`, and
the portal rules under them: who may bind, see and revoke whose key, what a public key is.

The CLI runs as a real `elp` process on a real store file (what an admin's script, or an SSH
session, runs); the y/N question is answered in-process, where the test is the terminal.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from elp_tui.cli import main
from elp_tui.portal import Portal, fixed_clock
from elp_tui.portal.errors import AdminRequired, InvalidInput, NotFound, PermissionDenied, RuleViolation
from elp_tui.portal.keys import parse_public_key
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY, VENDOR
from tests.helpers import cli_env, file_bytes, only_refusal_logged, refused, store_bytes, store_tables  # noqa: F401
from tests.keyfiles import fingerprint, key_parts, last_code, pub_line

ROOT = Path(__file__).resolve().parents[1]
ANA = "ana@lumenfox.studio"
BOB = "bob@lumenfox.studio"
BOSS = "boss@otter.works"
KEY_KEYS = {"fingerprint", "email", "type", "comment", "added_on", "added_by", "last_used_on"}
HOSTILE = "\x1b]52;c;ZXZpbA==\x07[b]bold[/b] [@click=app.quit]x[/] \u202egnp.exe\x1b[2J"


# -- set-up ------------------------------------------------------------------------------
def member(portal: Portal, email: str, role: str = "regular") -> str:
    portal.invite(ADMIN, email, role)
    portal.sign_in(email)
    return email


def other_org(portal: Portal) -> Portal:
    other = Portal(Store(portal.store.path), fixed_clock(TODAY), rng=random.Random(5))
    other.init_organization("Otter Works", BOSS)
    return other


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def elp_process(store_path: Path, *args: str, user: str | None = ADMIN, stdin: str = "") -> subprocess.CompletedProcess:
    """`elp --store STORE --as USER ARGS` as its own process, stdin a pipe (no terminal)."""
    env = {**os.environ, "ELP_TODAY": TODAY.isoformat(), "PYTHONPATH": str(ROOT)}
    for name in ("ELP_USER", "ELP_STORE", "COLUMNS"):
        env.pop(name, None)
    argv = [sys.executable, "-m", "elp_tui", "--store", str(store_path)] + (["--as", user] if user else []) + list(args)
    return subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=60)


def one_refusal_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("elp: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


class Terminal(io.StringIO):
    """stdin of a person at a terminal: they paste or answer, line by line."""

    def isatty(self) -> bool:
        return True


def private_key_text() -> str:
    return ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
            "-----END OPENSSH PRIVATE KEY-----\n")


# -- what a public key is ------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (OpenSSH) is not installed here")
@pytest.mark.parametrize("kind", [("ed25519",), ("rsa", "-b", "2048"), ("ecdsa", "-b", "256")], ids=lambda k: k[0])
def test_fingerprints_are_those_ssh_keygen_prints(tmp_path, kind):
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", *kind, "-N", "", "-C", "ana@laptop", "-f", str(key)], check=True, timeout=60)
    printed = subprocess.run(["ssh-keygen", "-lf", str(key) + ".pub"], check=True, capture_output=True, text=True).stdout
    parsed = parse_public_key((tmp_path / "id.pub").read_text())
    assert parsed.fingerprint == printed.split()[1]
    assert parsed.comment == "ana@laptop"
    # The private key beside it is refused, naming the mistake.
    with pytest.raises(InvalidInput, match="PRIVATE key"):
        parse_public_key(key.read_text())


def test_the_test_keys_are_well_formed():
    key = parse_public_key(pub_line("ana"))
    assert (key.type, key.fingerprint, key.comment) == ("ssh-ed25519", fingerprint("ana"), "ana@laptop")


NOT_A_KEY = {
    "empty": ("", "No public key"),
    "private key": (private_key_text(), "PRIVATE key"),
    "two keys": (pub_line("ana") + "\n" + pub_line("ana-2") + "\n", "exactly one"),
    "options before the key": ('command="/bin/sh",no-pty ' + pub_line("ana"), "without options"),
    "restrict option": ("restrict " + pub_line("ana"), "without options"),
    "garbage": ("hello world, this is my key", "does not start with a key type"),
    "type only": ("ssh-ed25519", "not an SSH public key"),
    "bad base64": ("ssh-ed25519 AAAA!!!notbase64 ana@laptop", "not valid base64"),
    "another type's data": ("ssh-rsa " + key_parts("ana")[1], "not a ssh-rsa key"),
    "too long": ("ssh-ed25519 " + "A" * 20_000, "too long"),
}


@pytest.mark.parametrize("case", list(NOT_A_KEY))
def test_what_is_not_one_public_key_is_refused_and_nothing_changes(portal, case):
    text, says = NOT_A_KEY[case]
    member(portal, ANA)
    refused(portal, InvalidInput, portal.add_key, ADMIN, ANA, text, match=says)
    refused(portal, InvalidInput, portal.quote_add_key, ADMIN, ANA, text, match=says)


def test_a_hostile_comment_is_kept_printable(portal):
    member(portal, ANA)
    row = portal.add_key(ADMIN, ANA, pub_line("ana", HOSTILE))
    assert row["comment"].isprintable() and "\x1b" not in row["comment"] and "\u202e" not in row["comment"]
    assert "[b]bold[/b]" in row["comment"], "markup stays text (the screens show it as text)"


# -- who binds, sees and revokes whose key ---------------------------------------------------
def test_an_admin_binds_lists_and_revokes_a_members_key(portal):
    member(portal, ANA)
    quote = portal.quote_add_key(ADMIN, ANA.upper(), pub_line("ana"))
    assert (quote.email, quote.fingerprint, quote.type, quote.comment) == (ANA, fingerprint("ana"), "ssh-ed25519", "ana@laptop")
    row = portal.add_key(ADMIN, ANA, pub_line("ana"), expected=quote)
    assert row == {"fingerprint": fingerprint("ana"), "email": ANA, "type": "ssh-ed25519", "comment": "ana@laptop",
                   "added_on": TODAY.isoformat(), "added_by": ADMIN, "last_used_on": None}
    assert portal.user_for_key(fingerprint("ana"))["email"] == ANA
    assert [k["fingerprint"] for k in portal.list_keys(ADMIN)] == [fingerprint("ana")]
    assert portal.activity(ADMIN)[0]["action"] == "key-add"
    portal.revoke_key(ADMIN, fingerprint("ana"))
    assert portal.list_keys(ADMIN) == []
    # Revoked, not unknown: sshd is told nothing for it (an unknown key would be offered the enrolment).
    refused(portal, PermissionDenied, portal.user_for_key, fingerprint("ana"), match="revoked")
    refused(portal, NotFound, portal.revoke_key, ADMIN, fingerprint("ana"))
    assert (portal.activity(ADMIN)[0]["action"], portal.activity(ADMIN)[0]["target"]) == ("key-revoke", ANA)
    # An admin may bind it again (a key revoked by mistake): it signs her in once more.
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    assert portal.user_for_key(fingerprint("ana"))["email"] == ANA
    assert [k["fingerprint"] for k in portal.list_keys(ADMIN)] == [fingerprint("ana")]
    assert portal.check() == []


def test_a_key_is_one_persons(portal):
    member(portal, ANA)
    member(portal, BOB)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    refused(portal, RuleViolation, portal.add_key, ADMIN, BOB, pub_line("ana", "copied"), match="another user")
    refused(portal, RuleViolation, portal.add_key, ADMIN, ANA, pub_line("ana"), match="already")
    refused(portal, RuleViolation, portal.add_key, ANA, ANA, pub_line("ana"), match="already")


def test_a_regular_user_manages_their_own_keys_only_and_a_reach_is_logged(portal):
    member(portal, ANA)
    member(portal, BOB)
    portal.add_key(ADMIN, BOB, pub_line("bob"))
    mine = portal.add_key(ANA, ANA, pub_line("ana"))
    assert mine["added_by"] == ANA
    assert [k["email"] for k in portal.list_keys(ANA)] == [ANA]
    before = store_tables(portal.store.path)
    with pytest.raises(AdminRequired):
        portal.add_key(ANA, BOB, pub_line("ana-for-bob"))
    only_refusal_logged(before, store_tables(portal.store.path), ANA)
    refused(portal, NotFound, portal.revoke_key, ANA, fingerprint("bob"))
    portal.revoke_key(ANA, fingerprint("ana"))  # anyone revokes their own
    assert [k["email"] for k in portal.list_keys(ADMIN)] == [BOB]


def test_anyone_revokes_their_own_key_even_one_an_admin_bound(portal):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    portal.revoke_key(ANA, fingerprint("ana"))
    assert portal.list_keys(ADMIN) == []


def test_an_admin_of_another_organization_neither_sees_nor_touches_our_keys(portal):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    other = other_org(portal)
    assert other.list_keys(BOSS) == []
    refused(other, NotFound, other.list_keys, BOSS, ANA)
    refused(other, NotFound, other.revoke_key, BOSS, fingerprint("ana"))
    refused(other, NotFound, other.add_key, BOSS, ANA, pub_line("boss-for-ana"))
    other.add_key(BOSS, BOSS, pub_line("boss"))
    assert [k["email"] for k in portal.list_keys(ADMIN)] == [ANA]
    refused(portal, NotFound, portal.revoke_key, ADMIN, fingerprint("boss"))


def test_the_vendors_staff_see_the_vendors_keys_only(portal):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    portal.add_key(VENDOR, VENDOR, pub_line("desk"))
    assert [k["email"] for k in portal.list_keys(VENDOR)] == [VENDOR]
    assert [k["email"] for k in portal.list_keys(ADMIN)] == [ANA]
    refused(portal, NotFound, portal.revoke_key, VENDOR, fingerprint("ana"))
    refused(portal, NotFound, portal.add_key, VENDOR, ANA, pub_line("desk-for-ana"))


def test_an_inactive_users_key_lets_nobody_in_and_gets_no_new_key(portal):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    portal.set_status(ADMIN, ANA, "inactive")
    refused(portal, PermissionDenied, portal.user_for_key, fingerprint("ana"))
    refused(portal, RuleViolation, portal.add_key, ADMIN, ANA, pub_line("ana-2"), match="inactive")


def test_deleting_a_user_removes_their_keys(portal):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    portal.add_key(ADMIN, ANA, pub_line("ana-2"))
    portal.delete_user(ADMIN, ANA)
    assert portal.list_keys(ADMIN) == []
    keys = store_tables(portal.store.path)["ssh_keys"].values()
    assert {(k["email"], k["revoked_on"], k["revoked_by"]) for k in keys} == {(ANA, TODAY.isoformat(), ADMIN)}
    # Kept as revoked, so sshd is told nothing for them, not offered the enrolment as for an unknown key.
    refused(portal, PermissionDenied, portal.user_for_key, fingerprint("ana"), match="revoked")
    assert portal.check() == []


# -- the command line, as its own process ---------------------------------------------------------
pytestmark = pytest.mark.usefixtures("cli_env")


def test_cli_add_list_revoke(portal, tmp_path):
    store = portal.store.path
    member(portal, ANA)
    pub = write(tmp_path, "id_ed25519.pub", pub_line("ana") + "\n")
    before = store_bytes(store)
    asked = elp_process(store, "keys", "add", ANA, "--file", str(pub))  # no terminal to say y on
    assert "--yes" in one_refusal_line(asked)
    assert fingerprint("ana") in asked.stdout and ANA in asked.stdout, "the quote is shown before the refusal"
    assert store_bytes(store) == before
    added = elp_process(store, "keys", "add", ANA, "--file", str(pub), "--yes", "--json")
    assert added.returncode == 0, added.stderr
    assert set(json.loads(added.stdout)) == KEY_KEYS and json.loads(added.stdout)["fingerprint"] == fingerprint("ana")
    listed = elp_process(store, "keys", "list")
    assert listed.returncode == 0
    header, row = listed.stdout.splitlines()
    assert header.split()[:3] == ["FINGERPRINT", "USER", "TYPE"] and "LAST USED" in header
    assert row.split()[:4] == [fingerprint("ana"), ANA, "ssh-ed25519", "ana@laptop"] and row.endswith("never")
    assert [k["email"] for k in json.loads(elp_process(store, "keys", "list", ANA, "--json").stdout)] == [ANA]
    before = store_bytes(store)
    asked = elp_process(store, "keys", "revoke", fingerprint("ana"))
    one_refusal_line(asked)
    assert ANA in asked.stdout and "ana@laptop" in asked.stdout, "whose key it is, before the question"
    assert store_bytes(store) == before
    revoked = elp_process(store, "keys", "revoke", fingerprint("ana"), "--yes")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert json.loads(elp_process(store, "keys", "list", "--json").stdout) == []
    assert "No SSH keys yet" in elp_process(store, "keys", "list").stdout


def test_cli_reads_the_key_from_stdin(portal):
    member(portal, ANA)
    done = elp_process(portal.store.path, "keys", "add", ANA, "--file", "-", "--yes", stdin=pub_line("ana") + "\n")
    assert done.returncode == 0, done.stderr
    assert [k["fingerprint"] for k in portal.list_keys(ADMIN)] == [fingerprint("ana")]


BAD_FILES = {
    "missing": (None, "There is no file"),
    "a folder": ("<folder>", "is a folder"),
    "a private key": (private_key_text(), "PRIVATE key"),
    "two keys": (pub_line("ana") + "\n" + pub_line("ana-2") + "\n", "exactly one"),
    "binary garbage": (b"\x00\x01\x1b[2J\xff\xfe\x7f not text", "key type"),
    "binary lines": (bytes(range(256)) * 4, "exactly one"),
    "empty": ("", "No public key"),
    "authorized_keys line with options": ('no-pty,command="sh" ' + pub_line("ana"), "without options"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_cli_a_bad_file_gets_one_line_and_changes_nothing(portal, tmp_path, case):
    member(portal, ANA)
    content, says = BAD_FILES[case]
    if content is None:
        path = tmp_path / "nope.pub"
    elif content == "<folder>":
        path = tmp_path
    else:
        path = write(tmp_path, "key.pub", content)
    before = store_bytes(portal.store.path)
    done = elp_process(portal.store.path, "keys", "add", ANA, "--file", str(path), "--yes")
    line = one_refusal_line(done)
    assert says in line and line.isprintable()
    assert store_bytes(portal.store.path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_cli_an_unreadable_file_gets_one_line(portal, tmp_path):
    member(portal, ANA)
    path = write(tmp_path, "key.pub", pub_line("ana"))
    path.chmod(0)
    before = store_bytes(portal.store.path)
    assert "Cannot read" in one_refusal_line(elp_process(portal.store.path, "keys", "add", ANA, "--file", str(path)))
    assert store_bytes(portal.store.path) == before


def test_cli_a_hostile_comment_never_reaches_the_terminal_raw(portal, tmp_path):
    member(portal, ANA)
    pub = write(tmp_path, "key.pub", pub_line("ana", HOSTILE))
    added = elp_process(portal.store.path, "keys", "add", ANA, "--file", str(pub), "--yes")
    assert added.returncode == 0, added.stderr
    for done in (added, elp_process(portal.store.path, "keys", "list"), elp_process(portal.store.path, "keys", "list", "--json")):
        assert done.stdout.isprintable() or all(line.isprintable() for line in done.stdout.splitlines())
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\u202e" not in done.stdout


def test_cli_a_key_of_another_user_is_refused(portal, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    pub = write(tmp_path, "key.pub", pub_line("ana", "bob's copy"))
    before = store_bytes(portal.store.path)
    assert "another user" in one_refusal_line(elp_process(portal.store.path, "keys", "add", BOB, "--file", str(pub), "--yes"))
    assert store_bytes(portal.store.path) == before


def test_cli_a_regular_user_binds_their_own_key_and_is_refused_anothers(portal, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    pub = write(tmp_path, "key.pub", pub_line("ana"))
    before = store_tables(portal.store.path)
    done = elp_process(portal.store.path, "keys", "add", BOB, "--file", str(pub), "--yes", user=ANA)
    one_refusal_line(done)
    only_refusal_logged(before, store_tables(portal.store.path), ANA)
    assert elp_process(portal.store.path, "keys", "add", ANA, "--file", str(pub), "--yes", user=ANA).returncode == 0
    portal.add_key(ADMIN, BOB, pub_line("bob"))
    mine = json.loads(elp_process(portal.store.path, "keys", "list", "--json", user=ANA).stdout)
    assert [k["email"] for k in mine] == [ANA]
    assert "No key" in one_refusal_line(elp_process(portal.store.path, "keys", "revoke", fingerprint("bob"), "--yes", user=ANA))
    assert elp_process(portal.store.path, "keys", "revoke", fingerprint("ana"), "--yes", user=ANA).returncode == 0
    assert [k["email"] for k in portal.list_keys(ADMIN)] == [BOB]


def test_cli_revoke_refuses_what_is_not_a_fingerprint(portal):
    before = store_bytes(portal.store.path)
    assert "not a key fingerprint" in one_refusal_line(elp_process(portal.store.path, "keys", "revoke", "ana@laptop", "--yes"))
    assert store_bytes(portal.store.path) == before


def test_cli_check_passes_on_a_store_with_keys(portal):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    done = elp_process(portal.store.path, "check", user=None)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr


def test_cli_log_shows_the_key_an_entry_came_through(portal):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    session = Portal(Store(portal.store.path), fixed_clock(TODAY))
    session.ssh_sign_in(fingerprint("ana"))
    session.add_key(ANA, ANA, pub_line("ana-2"))
    done = elp_process(portal.store.path, "log")
    header, newest, older = done.stdout.splitlines()[:3]
    assert header.split()[-2:] == ["VIA", "KEY"]
    assert newest.split()[-1] == fingerprint("ana")[:15] + "…" and "key-add" in newest
    assert not older.endswith("…"), "an entry made locally names no key"
    entries = json.loads(elp_process(portal.store.path, "log", "--json").stdout)
    assert entries[0]["via"] == fingerprint("ana") and entries[1]["via"] is None


# -- the y/N question, answered at a terminal (in-process: the test is the terminal) ------------
@pytest.mark.parametrize("answer", ["y", "n"])
def test_cli_add_asks_at_a_terminal(portal, tmp_path, monkeypatch, capsys, answer):
    member(portal, ANA)
    pub = write(tmp_path, "key.pub", pub_line("ana"))
    before = store_bytes(portal.store.path)
    monkeypatch.setattr(sys, "stdin", Terminal(answer + "\n"))
    code = main(["--store", str(portal.store.path), "--as", ADMIN, "keys", "add", ANA, "--file", str(pub)])
    out = capsys.readouterr().out
    assert "Proceed? [y/N]" in out and fingerprint("ana") in out
    if answer == "y":
        assert code == 0 and [k["email"] for k in portal.list_keys(ADMIN)] == [ANA]
    else:
        assert code == 1 and store_bytes(portal.store.path) == before


def test_cli_a_key_pasted_at_a_terminal_then_the_answer(portal, monkeypatch, capsys):
    member(portal, ANA)
    monkeypatch.setattr(sys, "stdin", Terminal(pub_line("ana") + "\ny\n"))
    assert main(["--store", str(portal.store.path), "--as", ADMIN, "keys", "add", ANA, "--file", "-"]) == 0
    assert "Proceed?" in capsys.readouterr().out
    assert [k["fingerprint"] for k in portal.list_keys(ADMIN)] == [fingerprint("ana")]


@pytest.mark.parametrize("answer", ["y", "n"])
def test_cli_revoke_asks_at_a_terminal(portal, monkeypatch, capsys, answer):
    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    before = store_bytes(portal.store.path)
    monkeypatch.setattr(sys, "stdin", Terminal(answer + "\n"))
    code = main(["--store", str(portal.store.path), "--as", ADMIN, "keys", "revoke", fingerprint("ana")])
    assert "Proceed? [y/N]" in capsys.readouterr().out
    if answer == "y":
        assert code == 0 and portal.list_keys(ADMIN) == []
    else:
        assert code == 1 and store_bytes(portal.store.path) == before


# -- elp users reinvite ---------------------------------------------------------------------------
def test_cli_reinvite_sends_a_new_code(portal):
    portal.invite(ADMIN, ANA, "regular")
    old = last_code(portal, ANA)
    done = elp_process(portal.store.path, "users", "reinvite", ANA)
    assert done.returncode == 0, done.stderr
    assert ANA in done.stdout and "no longer works" in done.stdout
    assert last_code(portal, ANA) != old
    assert portal.activity(ADMIN)[0]["action"] == "user-reinvite"


def test_cli_reinvite_is_refused_for_an_active_member_and_to_a_regular_user(portal):
    member(portal, ANA)
    portal.invite(ADMIN, BOB, "regular")
    before = store_bytes(portal.store.path)
    assert "not invited" in one_refusal_line(elp_process(portal.store.path, "users", "reinvite", ANA))
    assert store_bytes(portal.store.path) == before
    before = store_tables(portal.store.path)
    one_refusal_line(elp_process(portal.store.path, "users", "reinvite", BOB, user=ANA))
    only_refusal_logged(before, store_tables(portal.store.path), ANA, "elp users reinvite")
