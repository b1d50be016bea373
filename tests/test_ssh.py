"""Sign-in by SSH key through OpenSSH (issue 11).

Most tests go through the system's real sshd (tests/sshd_server.py, one per test session: its
`Match User` block is what `elp ssh setup` prints) and the real ssh client with keys made by
ssh-keygen. sshd asks `elp ssh authorized-keys` about every key offered; the store is part of its
configuration. Where OpenSSH is missing they are skipped, saying so (.ci/run installs it).

The stores here are made on the calendar's today (no fixed clock): over SSH nothing can fix it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elp_tui.cli.ssh import sshd_match_block
from elp_tui.portal import Portal, system_clock
from elp_tui.store import Store
from tests.keyfiles import last_code
from tests.conftest import ADMIN, VENDOR, VENDOR_EMAIL
from tests.helpers import elp, grant_bank, hand_edit, store_bytes, store_mtimes, store_tables  # noqa: F401  (elp: a fixture)

ROOT = Path(__file__).resolve().parents[1]
REGULAR = "ana@lumenfox.studio"
NEWCOMER = "noor@lumenfox.studio"
PRODUCT = "Quillstone Animate"


# -- stores and keys -------------------------------------------------------------------------
def studio(path: Path) -> Portal:
    """An organization with ADMIN (active), a regular member REGULAR (active), the vendor, and a
    bank valid around today (the calendar's: sessions over SSH run on it)."""
    portal = Portal(Store(path), system_clock)
    portal.init_organization("Lumenfox Studios", ADMIN)
    portal.setup_vendor("Quillstone", VENDOR_EMAIL, VENDOR)
    portal.sign_in(ADMIN)
    portal.invite(ADMIN, REGULAR)
    portal.sign_in(REGULAR)
    today = dt.date.today()
    grant_bank(portal, product=PRODUCT, credits=100, start=(today - dt.timedelta(days=30)).isoformat(),
               expires_on=(today + dt.timedelta(days=180)).isoformat(), product_version="25.1", portable=True)
    return portal


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Keys made once by ssh-keygen: name -> Key."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (openssh-client) is not installed: .ci/run installs it")
    from tests.sshd_server import make_key

    folder = tmp_path_factory.mktemp("keys")
    return {name: make_key(folder / name, comment=f"{name}@laptop") for name in ("admin", "ana", "noor", "stray")}


def bind(portal: Portal, email: str, key) -> None:
    portal.add_key(ADMIN, email, key.public)




def activity(path: Path) -> list[dict]:
    return sorted(store_tables(path)["activity"].values(), key=lambda a: a["seq"])


def user(path: Path, email: str) -> dict:
    return next(u for u in store_tables(path)["users"].values() if u["email"] == email)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    return lines[0]


# -- elp ssh authorized-keys, without sshd -------------------------------------------------------
def authorized_keys(store: Path, key_type: str, blob: str) -> subprocess.CompletedProcess[str]:
    """What sshd runs: `elp --store STORE ssh authorized-keys %u %t %k`, a real process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELP_")}
    return subprocess.run([sys.executable, "-m", "elp_tui", "--store", str(store), "ssh", "authorized-keys", "elp",
                           key_type, blob], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


def forced(line: str) -> list[str]:
    """The words of an authorized_keys line's command="...", as the account's /bin/sh splits them."""
    match = re.fullmatch(r'restrict,pty,command="([^"]*)" (\S+) (\S+)', line)
    assert match, line
    return shlex.split(match.group(1))


def test_authorized_keys_gives_a_bound_key_the_session_of_its_user(tmp_path, keys):
    store = tmp_path / "elp.json"
    portal = studio(store)
    bind(portal, ADMIN, keys["admin"])
    before, stamps = store_bytes(store), store_mtimes(store)
    done = authorized_keys(store, keys["admin"].type, keys["admin"].blob)
    assert done.returncode == 0 and done.stderr == ""
    fp = keys["admin"].fingerprint
    assert done.stdout == (f'restrict,pty,command="{shlex.quote(sys.executable)} -m elp_tui --store {store} '
                           f'ssh session --key {fp}" {keys["admin"].type} {keys["admin"].blob}\n')
    assert forced(done.stdout.strip()) == [sys.executable, "-m", "elp_tui", "--store", str(store), "ssh", "session",
                                           "--key", fp]
    assert store_bytes(store) == before and store_mtimes(store) == stamps, "sshd's question wrote to the store"


def test_authorized_keys_gives_an_unknown_key_only_the_enrolment(tmp_path, keys):
    store = tmp_path / "elp.json"
    studio(store)
    done = authorized_keys(store, keys["stray"].type, keys["stray"].blob)
    assert done.returncode == 0
    assert forced(done.stdout.strip()) == [sys.executable, "-m", "elp_tui", "--store", str(store), "ssh", "enrol",
                                           "--key-type", keys["stray"].type, "--key", keys["stray"].blob]


def test_authorized_keys_says_nothing_for_an_inactive_or_removed_user_or_a_malformed_key(tmp_path, keys):
    store = tmp_path / "elp.json"
    portal = studio(store)
    bind(portal, REGULAR, keys["ana"])
    bind(portal, ADMIN, keys["admin"])
    portal.set_status(ADMIN, REGULAR, "inactive")
    cases = [(keys["ana"].type, keys["ana"].blob)]
    # A key left behind by a user who is gone (a hand-edited store): nothing either.
    hand_edit(store, lambda t: t["users"].pop(next(k for k, u in t["users"].items() if u["email"] == ADMIN)))
    cases.append((keys["admin"].type, keys["admin"].blob))
    cases += [
        ("ssh-ed25519", "not base64!"), ("ssh-rsa", keys["stray"].blob), ("no-such-type", keys["stray"].blob),
        ("ssh-ed25519", ""), ("ssh-ed25519", "AAAA"),
    ]
    before = store_bytes(store)
    for key_type, blob in cases:
        done = authorized_keys(store, key_type, blob)
        assert done.stdout == "" and done.returncode in (0, 1), (key_type, blob, done)
        assert "Traceback" not in done.stderr
    assert store_bytes(store) == before
    missing = authorized_keys(tmp_path / "nowhere" / "elp.json", keys["stray"].type, keys["stray"].blob)
    assert missing.stdout == "" and "Traceback" not in missing.stderr
    assert not (tmp_path / "nowhere").exists()


def test_authorized_keys_quotes_an_odd_store_path_and_refuses_a_double_quote(tmp_path, keys):
    odd = tmp_path / "it's a $(store) ;x" / "elp.json"
    odd.parent.mkdir()
    studio(odd)
    done = authorized_keys(odd, keys["stray"].type, keys["stray"].blob)
    assert done.returncode == 0
    assert forced(done.stdout.strip())[3:5] == ["--store", str(odd)]
    quoted = tmp_path / 'say "hi"' / "elp.json"
    quoted.parent.mkdir()
    studio(quoted)
    done = authorized_keys(quoted, keys["stray"].type, keys["stray"].blob)
    assert done.stdout == "" and done.returncode == 1
    assert "double quote" in one_line(done.stderr)


# -- elp ssh session / enrol outside sshd: what a misconfigured server would pass on ------------------
@pytest.mark.parametrize("name", ["ELP_USER", "ELP_STORE", "ELP_TODAY", "ELP_CONFIG"])
def test_a_session_refuses_an_environment_that_says_who_or_where(tmp_path, keys, name):
    store = tmp_path / "elp.json"
    portal = studio(store)
    bind(portal, REGULAR, keys["ana"])
    before = store_bytes(store)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELP_")}
    env.update({name: ADMIN if name == "ELP_USER" else "2030-01-01" if name == "ELP_TODAY" else str(tmp_path / "x"),
                "SSH_ORIGINAL_COMMAND": "users list"})
    done = subprocess.run([sys.executable, "-m", "elp_tui", "--store", str(store), "ssh", "session", "--key",
                           keys["ana"].fingerprint], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert name in one_line(done.stderr)
    assert store_bytes(store) == before


def test_elp_ssh_setup_prints_the_sshd_block_the_test_server_runs(elp):
    done = elp("ssh", "setup", "--host", "licenses.example.com", user=None)
    assert done.code == 0
    block = sshd_match_block("elp", "/opt/elp/bin/elp", "/srv/elp/elp.json")
    lines = done.out.splitlines()
    start = lines.index(block[0])
    assert lines[start:start + len(block)] == block
    assert "AuthorizedKeysCommand /opt/elp/bin/elp --store /srv/elp/elp.json ssh authorized-keys %u %t %k" in done.out
    assert "ssh -t elp@licenses.example.com" in done.out
    # The README's "Over SSH" section is this very output.
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Over SSH"):]
    for line in lines:
        assert line in section, f"README's set-up lacks: {line}"


def test_the_test_server_runs_the_block_elp_ssh_setup_prints(tmp_path):
    from tests.sshd_server import Sshd, elp_for_sshd

    server = Sshd(tmp_path)
    assert server.config().endswith("\n".join(sshd_match_block(server.account, elp_for_sshd(), server.store_path)) + "\n")


def test_sshd_runs_elp_through_usr_bin_env_where_the_install_is_not_root_owned(sshd, keys, tmp_path):
    """A checkout in a CI user's home or under /tmp cannot be AuthorizedKeysCommand itself; the
    test server then names /usr/bin/env with this Python. That way works too (its own sshd)."""
    from tests.sshd_server import ENV_ELP, Sshd

    server = Sshd(tmp_path / "env-sshd", elp_command=ENV_ELP)
    server.start()
    try:
        bind(studio(server.reset_store()), REGULAR, keys["ana"])
        done = server.ssh(keys["ana"], "licenses", "mine")
        assert done.returncode == 0 and "No licenses are assigned to you" in done.stdout, done.stderr
        assert f"AuthorizedKeysCommand {ENV_ELP} --store" in server.config_path.read_text()
    finally:
        server.stop()


# -- through the real sshd ---------------------------------------------------------------------
@pytest.fixture
def served(ssh_store, keys):
    """The studio on sshd's store; ADMIN's and REGULAR's keys bound."""
    portal = studio(ssh_store)
    bind(portal, ADMIN, keys["admin"])
    bind(portal, REGULAR, keys["ana"])
    return portal


def test_a_bound_key_runs_commands_as_its_user(sshd, served, keys):
    store = sshd.store_path
    banks = sshd.ssh(keys["admin"], "banks", "list", "--json")
    assert banks.returncode == 0, banks.stderr
    assert [b["product"] for b in __import__("json").loads(banks.stdout)] == [PRODUCT]
    local = Portal(Store(store), system_clock).export_csv(ADMIN)
    export = sshd.ssh(keys["admin"], "elp licenses export")  # a leading `elp` is allowed
    assert export.returncode == 0 and export.stdout == local and "," in local.splitlines()[0]
    mine = sshd.ssh(keys["ana"], "licenses", "mine")
    assert mine.returncode == 0 and "No licenses are assigned to you" in mine.stdout
    # A change made over SSH: its activity entry says who, and through which key.
    invited = sshd.ssh(keys["admin"], "users", "invite", NEWCOMER)
    assert invited.returncode == 0, invited.stderr
    entry = activity(store)[-1]
    assert (entry["action"], entry["actor"], entry["target"], entry["via"]) == (
        "user-invite", ADMIN, NEWCOMER, keys["admin"].fingerprint)
    key = next(k for k in store_tables(store)["ssh_keys"].values() if k["email"] == ADMIN)
    assert key["last_used_on"] == dt.date.today().isoformat()


def test_stdin_passes_through_a_session(sshd, served, keys):
    """`keys add EMAIL --file -` reads the .pub from the client's stdin."""
    done = sshd.ssh(keys["admin"], f"keys add {REGULAR} --file - --yes", input=keys["stray"].public)
    assert done.returncode == 0, done.stderr
    bound = {k["fingerprint"]: k["email"] for k in store_tables(sshd.store_path)["ssh_keys"].values()}
    assert bound[keys["stray"].fingerprint] == REGULAR
    entry = activity(sshd.store_path)[-1]
    assert (entry["action"], entry["via"]) == ("key-add", keys["admin"].fingerprint)
    mine = sshd.ssh(keys["stray"], "licenses", "mine")  # the new key signs REGULAR in at once
    assert mine.returncode == 0 and "No licenses are assigned to you" in mine.stdout


def test_a_regular_users_key_is_refused_admin_commands_and_the_refusal_is_logged(sshd, served, keys):
    before = len(activity(sshd.store_path))
    done = sshd.ssh(keys["ana"], "users", "invite", NEWCOMER)
    assert done.returncode == 1 and done.stdout == ""
    assert "admin" in one_line(done.stderr).lower()
    entries = activity(sshd.store_path)
    assert len(entries) == before + 1
    assert (entries[-1]["action"], entries[-1]["actor"], entries[-1]["via"]) == ("refused", REGULAR, keys["ana"].fingerprint)
    assert NEWCOMER not in {u["email"] for u in store_tables(sshd.store_path)["users"].values()}


REFUSED_IN_A_SESSION = [  # (remote command, what the one line names)
    ("--as admin@lumenfox.studio users invite noor@lumenfox.studio", "--as refused"),
    ("users invite noor@lumenfox.studio --as admin@lumenfox.studio", "--as refused"),
    ("users invite noor@lumenfox.studio --as=admin@lumenfox.studio", "--as refused"),
    ("licenses mine --a admin@lumenfox.studio", "--as refused"),  # argparse's abbreviation of --as
    ("--store /tmp/other.json licenses mine", "--store refused"),
    ("licenses mine --sto /tmp/other.json", "--store refused"),
    ("--db postgresql://elp@127.0.0.1/other licenses mine", "--db refused"),  # another database, as the service account
    ("licenses mine --db=postgresql://elp@127.0.0.1/other", "--db refused"),
    ("ELP_DB=postgresql://elp@127.0.0.1/other licenses mine", "ELP_DB=... refused"),
    ("ELP_USER=admin@lumenfox.studio users invite noor@lumenfox.studio", "ELP_USER=... refused"),
    ("ELP_STORE=/tmp/other.json licenses mine", "ELP_STORE=... refused"),
    ("elp ELP_USER=admin@lumenfox.studio licenses mine", "ELP_USER=... refused"),
    *((command, "for the server's administrator") for command in (
        "backup /tmp/copy.json", "restore /tmp/copy.json --yes", "init --org X --admin x@x.io", "check",
        "demo --force", "ssh setup", "ssh session --key SHA256:x", "outbox send", "vendor setup --name X",
        "db migrate", "migrate --from /srv/elp/elp.json --to /tmp/mine.json")),
]
NOT_ELP = ["bash -c id", "sh", "sh -c 'touch /tmp/elp-ssh-shell'", "id", "/bin/sh", "env ELP_USER=x elp licenses mine",
           "python3 -c 'print(1)'", "'licenses mine; id'"]


@pytest.fixture
def session(tmp_path, keys, capsys, monkeypatch):
    """`elp --store STORE ssh session --key FP` as sshd runs it for REGULAR's key, in-process:
    (store, run(remote command) -> (code, out, err))."""
    from elp_tui.cli import main

    store = tmp_path / "elp.json"
    portal = studio(store)
    bind(portal, REGULAR, keys["ana"])
    for name in ("ELP_USER", "ELP_STORE", "ELP_TODAY", "ELP_CONFIG"):  # as sshd starts it: none of them
        monkeypatch.delenv(name, raising=False)

    def run(command: str) -> tuple[int, str, str]:
        monkeypatch.setenv("SSH_ORIGINAL_COMMAND", command)
        code = main(["--store", str(store), "ssh", "session", "--key", keys["ana"].fingerprint])
        out, err = capsys.readouterr()
        return code, out, err

    return store, run


@pytest.mark.parametrize("command,named", REFUSED_IN_A_SESSION)
def test_a_session_refuses_what_would_change_who_or_where_with_one_line(session, command, named):
    store, run = session
    before, stamps = store_bytes(store), store_mtimes(store)
    code, out, err = run(command)
    assert (code, out) == (1, "")
    assert one_line(err).startswith("elp: ") and named in err and "Nothing was done" in err
    assert store_bytes(store) == before and store_mtimes(store) == stamps
    assert not Path("/tmp/other.json").exists() and not Path("/tmp/copy.json").exists()


@pytest.mark.parametrize("command", NOT_ELP)
def test_a_shell_or_any_other_program_is_an_unknown_command(session, command):
    store, run = session
    before = store_bytes(store)
    code, out, err = run(command)
    assert (code, out) == (2, ""), err
    assert "invalid choice" in err
    assert store_bytes(store) == before and not Path("/tmp/elp-ssh-shell").exists()


def test_over_ssh_who_and_where_are_refused_and_no_shell_runs(sshd, served, keys):
    sshd.ssh(keys["ana"], "licenses mine")  # the key's last use is recorded: it is today's from now on
    before = store_bytes(sshd.store_path)
    for command in ("users invite noor@lumenfox.studio --as admin@lumenfox.studio", "--store /tmp/other.json licenses mine",
                    "ELP_USER=admin@lumenfox.studio users list", "ELP_STORE=/tmp/other.json licenses mine"):
        done = sshd.ssh(keys["ana"], command)
        assert done.returncode == 1 and done.stdout == "", command
        assert one_line(done.stderr).startswith("elp: ") and "Nothing was done" in done.stderr
    for command in ("bash -c id", "sh"):
        done = sshd.ssh(keys["ana"], command, input="id\ntouch /tmp/elp-ssh-shell\n")
        assert done.returncode == 2 and done.stdout == "" and "invalid choice" in done.stderr
    assert store_bytes(sshd.store_path) == before
    assert not Path("/tmp/other.json").exists() and not Path("/tmp/elp-ssh-shell").exists()


def test_an_unknown_key_reaches_only_the_enrolment(sshd, served, keys):
    before = store_bytes(sshd.store_path)
    for command in (("banks", "list"), ("licenses", "mine"), ("ssh", "session", "--key", keys["admin"].fingerprint)):
        done = sshd.ssh(keys["stray"], *command)
        assert done.returncode == 1 and done.stdout == ""
        assert "not enrolled" in one_line(done.stderr)
    assert store_bytes(sshd.store_path) == before


def test_a_good_code_enrols_the_key_and_then_it_works(sshd, served, keys):
    served.invite(ADMIN, NEWCOMER)
    code = last_code(sshd.store_path, NEWCOMER)
    done = sshd.ssh(keys["noor"], "enrol", NEWCOMER, code)
    assert done.returncode == 0, done.stderr
    assert NEWCOMER in done.stdout and keys["noor"].fingerprint in done.stdout
    assert user(sshd.store_path, NEWCOMER)["status"] == "active"
    bound = [k for k in store_tables(sshd.store_path)["ssh_keys"].values() if k["email"] == NEWCOMER]
    assert [k["fingerprint"] for k in bound] == [keys["noor"].fingerprint]
    assert [(a["action"], a["via"]) for a in activity(sshd.store_path)][-1] == ("enrol", keys["noor"].fingerprint)
    mine = sshd.ssh(keys["noor"], "licenses", "mine")
    assert mine.returncode == 0 and "No licenses are assigned to you" in mine.stdout


def test_the_enrolment_asks_for_the_address_and_code_line_by_line(sshd, served, keys):
    served.invite(ADMIN, NEWCOMER)
    code = last_code(sshd.store_path, NEWCOMER)
    # No command: the enrolment asks; a wrong code first, then the right one, in one connection.
    done = sshd.ssh(keys["noor"], input=f"{NEWCOMER}\nWRONG-CODE-0000\n\n{code}\n")
    assert done.returncode == 0, done.stderr
    assert "Wrong enrolment code" in done.stderr and "Enrolled" in done.stdout
    assert user(sshd.store_path, NEWCOMER)["status"] == "active"


def test_wrong_codes_are_refused_counted_logged_and_lock_the_enrolment(sshd, served, keys):
    served.invite(ADMIN, NEWCOMER)
    code = last_code(sshd.store_path, NEWCOMER)
    done = sshd.ssh(keys["noor"], "enrol", NEWCOMER, "AAAA-BBBB-CCCC")
    assert done.returncode == 1 and "Wrong enrolment code" in one_line(done.stderr) and "4 tries left" in done.stderr
    assert user(sshd.store_path, NEWCOMER)["enrol_failures"] == 1
    assert [a["action"] for a in activity(sshd.store_path)][-1] == "enrol-failed"
    # At most three codes a connection: the fourth line is never read.
    wrong = "".join(f"{NEWCOMER}\nAAAA-BBBB-CCC{n}\n" for n in range(4))
    done = sshd.ssh(keys["noor"], input=wrong)
    assert done.returncode == 1 and done.stderr.count("Wrong enrolment code") == 3
    assert user(sshd.store_path, NEWCOMER)["enrol_failures"] == 4
    sshd.ssh(keys["noor"], "enrol", NEWCOMER, "AAAA-BBBB-CCCX")
    assert user(sshd.store_path, NEWCOMER)["enrol_failures"] == 5
    locked = sshd.ssh(keys["noor"], "enrol", NEWCOMER, code)  # the right code, too late
    assert locked.returncode == 1 and "locked" in one_line(locked.stderr)
    assert user(sshd.store_path, NEWCOMER)["status"] == "invited"
    assert not [k for k in store_tables(sshd.store_path)["ssh_keys"].values() if k["email"] == NEWCOMER]
    assert [a["action"] for a in activity(sshd.store_path)].count("enrol-failed") == 6


def test_a_revoked_key_no_longer_signs_anyone_in(sshd, served, keys):
    assert sshd.ssh(keys["admin"], "banks", "list").returncode == 0
    served.revoke_key(ADMIN, keys["admin"].fingerprint)
    before = store_bytes(sshd.store_path)
    done = sshd.ssh(keys["admin"], "banks", "list")
    # sshd is told nothing for a revoked key: refused at the door, not even offered the enrolment.
    assert done.returncode == 255 and "Permission denied (publickey)" in done.stderr and done.stdout == ""
    again = sshd.ssh(keys["admin"], "enrol", ADMIN, "AAAA-BBBB-CCCC")
    assert again.returncode == 255 and "Permission denied (publickey)" in again.stderr
    assert store_bytes(sshd.store_path) == before


def test_a_key_used_then_removed_is_gone_for_every_reader(tmp_path, keys):
    """The store answered "is this fingerprint bound?" from its journal's older line (the key as
    last used) though a later line removed it (a revoked key bound again removes its record)."""
    store = tmp_path / "elp.json"
    portal = studio(store)
    bind(portal, ADMIN, keys["admin"])
    Portal(Store(store), system_clock).ssh_sign_in(keys["admin"].fingerprint)  # its last use: a journal line
    from elp_tui.portal.base import T_KEYS

    with Store(store).transaction() as db:  # the record's removal: a later journal line
        db.remove(T_KEYS, fingerprint=keys["admin"].fingerprint)

    fresh = Store(store)
    assert not fresh.read().exists(T_KEYS, fingerprint=keys["admin"].fingerprint)
    with fresh.transaction() as db:
        assert not db.exists(T_KEYS, fingerprint=keys["admin"].fingerprint)
    assert Portal(Store(store), system_clock).user_for_key(keys["admin"].fingerprint) is None


def test_an_inactive_users_key_is_refused_by_sshd(sshd, served, keys):
    served.set_status(ADMIN, REGULAR, "inactive")
    before = store_bytes(sshd.store_path)
    done = sshd.ssh(keys["ana"], "licenses", "mine")
    assert done.returncode == 255 and "Permission denied (publickey)" in done.stderr
    assert store_bytes(sshd.store_path) == before


def test_forwarding_and_the_agent_do_nothing(sshd, served, keys, tmp_path):
    key = keys["admin"]
    with socket.socket() as target:
        target.bind(("127.0.0.1", 0))
        target.listen()
        target.setblocking(False)
        port = target.getsockname()[1]
        # -W: a direct TCP channel to 127.0.0.1:port, the same request -L makes for every connection.
        done = sshd.ssh(key, options=("-W", f"127.0.0.1:{port}"))
        assert done.returncode == 255 and "forwarding failed" in done.stderr
        # -L: the client listens; the connection made through it is refused by sshd and closed.
        local = free_local_port()
        offset = sshd.log_size()
        forward = subprocess.Popen(sshd.ssh_argv(key, options=("-N", "-o", "ExitOnForwardFailure=yes",
                                                                 "-L", f"127.0.0.1:{local}:127.0.0.1:{port}")),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            conn = connect_when_listening(local, forward)
            with conn:
                conn.sendall(b"hello")
                try:
                    assert conn.recv(100) == b""  # closed by the client: sshd refused the channel
                except ConnectionResetError:
                    pass  # closed before it read what was sent: the same refusal
        finally:
            forward.terminate()
            try:
                forward.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # ssh still in its handshake on a loaded machine: it
                forward.kill()  # only reads TERM between packets; the assertions above are what count
                forward.communicate(timeout=30)
        with pytest.raises(BlockingIOError):
            target.accept()  # nobody ever connected to the target
        assert f"refused local port forward: originator 127.0.0.1 port" in sshd.log_since(offset)
    # -R: sshd refuses to listen for the client.
    done = sshd.ssh(key, "licenses", "mine", options=("-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:22"))
    assert done.returncode == 255 and "remote port forwarding failed" in done.stderr
    # -A: sshd turns the agent forwarding request down.
    agent = subprocess.run(["ssh-agent", "-s", "-a", str(tmp_path / "agent.sock")], capture_output=True, text=True,
                           check=True)
    pid = re.search(r"SSH_AGENT_PID=(\d+)", agent.stdout).group(1)
    try:
        offset = sshd.log_size()
        done = sshd.ssh(key, "licenses", "mine", options=("-A", "-o", f"IdentityAgent={tmp_path / 'agent.sock'}"))
        assert done.returncode == 0
        assert "agent forwarding disabled" in sshd.log_since(offset)
    finally:
        subprocess.run(["kill", pid], check=False)


def free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect_when_listening(port: int, process: subprocess.Popen) -> socket.socket:
    """A connection to the ssh client's -L port, once it listens (it does after authenticating)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ssh -L ended: {process.communicate()}")
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except ConnectionRefusedError:
            time.sleep(0.1)
    raise AssertionError("ssh -L never listened")


# -- the app, in a terminal, over SSH ---------------------------------------------------------------
class Tmux:
    """A terminal the test reads and types into (tmux on its own socket, no user configuration)."""

    def __init__(self, folder: Path):
        self.socket = str(folder / "tmux.sock")

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                              check=True, timeout=30).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "elp")

    def wait_for(self, *texts: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never shown: {texts}\n{screen}")
            time.sleep(0.1)


def test_an_admins_key_opens_the_app_in_a_terminal(sshd, served, keys, tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: .ci/run installs it")
    tmux = Tmux(tmp_path)
    status = tmp_path / "status"
    ssh = shlex.join(sshd.ssh_argv(keys["admin"], options=("-tt",)))
    tmux.run("new-session", "-d", "-s", "elp", "-x", "120", "-y", "36",
             f"{ssh}; echo $? > {shlex.quote(str(status))}; sleep 30")
    try:
        short = keys["admin"].fingerprint[:19]
        screen = tmux.wait_for("Lumenfox Studios", ADMIN, f"key {short}…", "Dashboard")
        assert "(admin)" in screen
        bank = next(iter(store_tables(sshd.store_path)["banks"].values()))["id"]
        assert "Burn-down of" not in screen  # the Dashboard: the forecasts in a line per bank, no chart
        tmux.run("send-keys", "-t", "elp", "3")  # the third page: Manage Banks, the selected bank's chart
        tmux.wait_for(f"Burn-down of {bank}", PRODUCT)
        tmux.run("send-keys", "-t", "elp", "C-q")
        deadline = time.monotonic() + 60
        while not status.exists() or not status.read_text().strip():
            assert time.monotonic() < deadline, tmux.screen()
            time.sleep(0.1)
        assert status.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "-S", tmux.socket, "kill-server"], capture_output=True)
    key = next(k for k in store_tables(sshd.store_path)["ssh_keys"].values() if k["email"] == ADMIN)
    assert key["last_used_on"] == dt.date.today().isoformat()


def test_the_app_needs_a_terminal(sshd, served, keys):
    done = sshd.ssh(keys["admin"], options=("-T",))
    assert done.returncode == 1 and "ssh -t" in one_line(done.stderr)


def test_the_enrolment_in_a_terminal_asks_and_binds_the_key(sshd, served, keys, tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: .ci/run installs it")
    served.invite(ADMIN, NEWCOMER)
    code = last_code(sshd.store_path, NEWCOMER)
    tmux = Tmux(tmp_path)
    tmux.run("new-session", "-d", "-s", "elp", "-x", "100", "-y", "30",
             shlex.join(sshd.ssh_argv(keys["noor"], options=("-t",))) + "; sleep 30")
    try:
        tmux.wait_for("not enrolled", "Email address:")
        tmux.run("send-keys", "-t", "elp", NEWCOMER, "Enter")
        tmux.wait_for("Enrolment code:")
        tmux.run("send-keys", "-t", "elp", "WRONG", "Enter")
        tmux.wait_for("4 tries left", f"Email address [{NEWCOMER}]:")
        tmux.run("send-keys", "-t", "elp", "Enter", code, "Enter")  # the same address: just Enter
        tmux.wait_for("Enrolled", "Connect again")
    finally:
        subprocess.run(["tmux", "-S", tmux.socket, "kill-server"], capture_output=True)
    assert user(sshd.store_path, NEWCOMER)["status"] == "active"
    assert [k["email"] for k in store_tables(sshd.store_path)["ssh_keys"].values()
            if k["fingerprint"] == keys["noor"].fingerprint] == [NEWCOMER]


def test_a_team_admins_key_adds_to_their_team_over_ssh_and_is_refused_another(sshd, served, keys):
    from tests.helpers import grant_seats

    grant_seats(served, "Quillstone Sketch", 4)
    served.create_team(ADMIN, "Story", "Quillstone Sketch")
    served.create_team(ADMIN, "Layout", "Quillstone Sketch")
    served.set_team_admin(ADMIN, "Story", REGULAR)
    done = sshd.ssh(keys["ana"], "teams", "add", "Story", NEWCOMER, "--yes")
    assert done.returncode == 0, done.stderr
    teams = {t["name"]: t for t in store_tables(sshd.store_path)["teams"].values()}
    assert NEWCOMER in teams["Story"]["members"]
    entry = activity(sshd.store_path)[-1]
    assert (entry["actor"], entry["via"]) == (REGULAR, keys["ana"].fingerprint)
    before = len(activity(sshd.store_path))
    refused_ = sshd.ssh(keys["ana"], "teams", "add", "Layout", NEWCOMER, "--yes")
    assert refused_.returncode == 1 and refused_.stdout == ""
    assert "not a Team Admin of team Layout" in one_line(refused_.stderr)
    entries = activity(sshd.store_path)
    assert len(entries) == before + 1
    assert (entries[-1]["action"], entries[-1]["actor"], entries[-1]["via"]) == ("refused", REGULAR, keys["ana"].fingerprint)
    teams = {t["name"]: t for t in store_tables(sshd.store_path)["teams"].values()}
    assert NEWCOMER not in teams["Layout"]["members"]
