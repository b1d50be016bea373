"""elp ssh setup / authorized-keys / session / enrol: sign-in by SSH key, with OpenSSH as the front door.

sshd asks `elp --store S ssh authorized-keys %u %t %k` (its AuthorizedKeysCommand) about every key
offered to the service account. For a key bound to an active user it gets one authorized_keys line
whose forced command is `elp --store S ssh session --key FINGERPRINT`; for an unknown key, one whose
command can only enrol it (`elp --store S ssh enrol ...`); for anything else, nothing (sshd then
refuses the key). The store is the server's configuration, carried into the forced command: nothing
the client sends picks the store or the user. `restrict` turns off forwarding (TCP, agent, X11), the
user's rc file and, but for the `pty` after it, the terminal.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

from elp_tui.cli.console import Console, Refused, plain
from elp_tui.cli.session import Session
from elp_tui.i18n import _

# Set in a session's environment, these would change who or where: sshd passes on only what its
# configuration accepts (AcceptEnv), so seeing one means the server lets clients set them.
SESSION_ENV_REFUSED = ("ELP_USER", "ELP_STORE", "ELP_DB", "ELP_TODAY", "ELP_CONFIG", "ELP_SERVER", "ELP_TOKEN")
# Commands of the store's owner (the service account's administrator), never of a member over SSH.
OWNER_COMMANDS = {"init", "demo", "check", "backup", "restore", "ssh", ("outbox", "send"), ("vendor", "setup"), "db",
                  "migrate"}
MAX_CODES = 3  # enrolment codes one connection may try (the portal locks the enrolment at 5 wrong ones)
ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# The settings of the service account's `Match User` block, in the order `elp ssh setup` prints them.
SSHD_SETTINGS = (
    ("AuthorizedKeysFile", "none"),
    ("AuthorizedKeysCommandUser", None),  # the service account itself: it owns the store, reads it
    ("AuthenticationMethods", "publickey"),
    ("PasswordAuthentication", "no"),
    ("KbdInteractiveAuthentication", "no"),
    ("AllowTcpForwarding", "no"),
    ("AllowStreamLocalForwarding", "no"),
    ("AllowAgentForwarding", "no"),
    ("X11Forwarding", "no"),
    ("PermitTunnel", "no"),
    ("PermitUserRC", "no"),
    ("PermitTTY", "yes"),
)


# -- the server's configuration ---------------------------------------------------------
def sshd_match_block(account: str, elp_command: str, store: str | Path) -> list[str]:
    """The sshd_config block for the service account: `elp ssh setup` prints it, the tests' sshd
    runs it. `elp_command`: how sshd runs elp (an absolute path, root-owned up to /)."""
    lines = [f"Match User {account}",
             f"    AuthorizedKeysCommand {elp_command} {_option(store)} {store} ssh authorized-keys %u %t %k"]
    for name, value in SSHD_SETTINGS:
        lines.append(f"    {name} {value if value is not None else account}")
    return lines


def elp_invocation() -> str:
    """This very installation of elp, as an absolute command line (the forced command sshd runs)."""
    python = sys.executable
    if not python or not os.path.isabs(python) or '"' in python or "\n" in python:
        raise Refused(_("Cannot tell sshd how to run elp: the Python running it has no usable absolute path."))
    return f"{sh_word(python)} -m elp_tui"


def sh_word(word: str) -> str:
    """One word for /bin/sh, quoted without a double quote: shlex.quote spells a single quote
    '"'"', which would end command="..." early; '\\'' does the same without one."""
    quoted = shlex.quote(word)
    return quoted if '"' not in quoted else "'" + word.replace("'", "'\\''") + "'"


def forced_command(store: Path | str, *words: str) -> str:
    """What goes inside command="...": shell words (the account's shell runs it), with no double
    quote or newline (authorized_keys options cannot hold them safely)."""
    text = " ".join([elp_invocation(), _option(store), sh_word(str(store)), *(sh_word(w) for w in words)])
    if '"' in text or "\n" in text or "\r" in text:
        raise Refused(_("The store path {path} holds a double quote or a line break: sshd cannot be given it. "
                        "Move the store to a plain path.").format(path=plain(store)))
    return text


def _option(store: str | Path) -> str:
    """How the CLI is told the store: --db for a PostgreSQL URL, else --store."""
    from elp_tui.store import is_url

    return "--db" if is_url(store) else "--store"


def _store(s: Session) -> Path | str:
    from elp_tui.store import is_url

    return s.store_path if is_url(s.store_path) else Path(os.path.abspath(s.store_path))


def setup(s: Session) -> int:
    account = s.args.user
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", account or ""):
        raise Refused(_("{account!r} is not a user name sshd and useradd accept: use lower-case letters, digits, - and _."
                        ).format(account=plain(account)))
    host = s.args.host or "HOST"
    store = "/srv/elp/elp.json"
    elp = "/opt/elp/bin/elp"
    out = s.console.line
    lines = [
        _("# ELP over SSH: one service account owns the store; members reach it with their own keys."),
        _("# Run as root on the server. Every path below may change, but sshd insists that {elp} and every"
          ).format(elp=elp),
        _("# folder above it are owned by root and writable by no one else, since it runs it for every key."),
        "",
        _("# 1. The service account: no password, nobody logs in with one; /bin/sh runs the forced commands."),
        f"useradd --system --create-home --home-dir /var/lib/{account} --shell /bin/sh {account}",
        f"usermod --password '*' {account}   # " + _("no password can match '*'; a locked '!' would make sshd refuse keys too when it runs without PAM"),
        "",
        _("# 2. ELP installed by root (a virtual environment under /opt/elp), run by sshd as {elp}.").format(elp=elp),
        "python3.11 -m venv /opt/elp",
        "/opt/elp/bin/pip install /path/to/elp-tui   # " + _("the project folder or its wheel"),
        "chown -R root:root /opt/elp && chmod -R go-w /opt/elp",
        "",
        _("# 3. The store, owned by the service account (only it reads and writes the file)."),
        f"install -d -o {account} -g {account} -m 0700 /srv/elp",
        f"sudo -u {account} {elp} --store {store} init --org 'YOUR ORGANIZATION' --admin ADMIN_EMAIL",
        "",
        _("# 4. sshd: add this block at the END of /etc/ssh/sshd_config (a Match block runs to the end of the file)."),
        f"cat >> /etc/ssh/sshd_config <<'EOF'",
        *sshd_match_block(account, elp, store),
        "EOF",
        "sshd -t && systemctl reload ssh   # " + _("or: systemctl reload sshd, service ssh reload"),
        "",
        _("# 5. The first admin's key (their id_ed25519.pub copied to the server), bound as the service account:"),
        f"sudo -u {account} {elp} --store {store} --as ADMIN_EMAIL keys add ADMIN_EMAIL --file - --yes < id_ed25519.pub",
        _("# The admin then connects with: ssh -t {account}@{host}   (the app)").format(account=account, host=host),
        _("#                         or: ssh {account}@{host} banks list   (any command)").format(account=account, host=host),
        "",
        _("# 6. Invitations say how to connect: \"ssh\" in the service account's settings file (or ELP_SSH)."),
        f"install -d -o {account} -g {account} -m 0700 /var/lib/{account}/.config /var/lib/{account}/.config/elp",
        f"echo '{{\"ssh\": \"ssh {account}@{host}\"}}' | sudo -u {account} tee /var/lib/{account}/.config/elp/settings.json",
        _("# Invited members connect with their key (ssh -t {account}@{host}) and type the code of their invitation."
          ).format(account=account, host=host),
    ]
    for line in lines:
        out(line)
    return 0


# -- what sshd asks ------------------------------------------------------------------------
def authorized_keys(s: Session) -> int:
    """One authorized_keys line for the offered key, or nothing. Read-only and quick: sshd runs
    it for every key a client offers. Never a traceback: whatever goes wrong, sshd hears nothing."""
    from elp_tui.portal import PermissionDenied
    from elp_tui.portal.keys import key_from_parts

    try:
        key = key_from_parts(s.args.key_type, s.args.key)
        store = _store(s)
        user = s.portal.user_for_key(key.fingerprint)
        if user is None:
            command = forced_command(store, "ssh", "enrol", "--key-type", key.type, "--key", key.key)
        else:
            command = forced_command(store, "ssh", "session", "--key", key.fingerprint)
    except PermissionDenied:
        return 0  # the key of an inactive or deleted user: sshd refuses it, and says nothing to the client
    except Refused as exc:
        s.console.note(f"elp: {plain(exc)}")  # for whoever runs it by hand; sshd discards it
        return 1
    except Exception:  # noqa: BLE001 - malformed key, unreadable store: no line, no traceback
        return 1
    s.console.line(f'restrict,pty,command="{command}" {key.type} {key.key}')
    return 0


def _refuse_environment() -> None:
    for name in SESSION_ENV_REFUSED:
        if os.environ.get(name):
            raise Refused(_("{name} is set in this SSH session: over SSH your key says who you are and the server "
                            "says where the store is. Nothing was done.").format(name=name))


def _remote_words() -> list[str] | None:
    """The client's command (SSH_ORIGINAL_COMMAND) as words, without a leading `elp`; None: none given."""
    text = os.environ.get("SSH_ORIGINAL_COMMAND")
    if text is None or not text.strip():
        return None
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise Refused(_("The command could not be read ({problem}): check its quotes.").format(problem=exc)) from None
    if words and words[0] == "elp":
        words = words[1:]
    return words


def _guard(words: Sequence[str]) -> Any:
    """The parsed remote command, or a refusal of what would change who or where (one line)."""
    from elp_tui.cli.parser import build_parser

    if words and ENV_ASSIGNMENT.match(words[0]):
        raise Refused(_("{word} refused: over SSH nothing in the command sets the environment; your key says who "
                        "you are. Nothing was done.").format(word=plain(words[0].split("=", 1)[0] + "=...")))
    try:
        args = build_parser().parse_args(list(words))
    except SystemExit as exc:  # --help (0), or the parser's usual error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.as_user is not None:
        raise Refused(_("--as refused: over SSH your key says who you are. Nothing was done."))
    if args.store is not None:
        raise Refused(_("--store refused: over SSH the server says where the store is. Nothing was done."))
    if args.db is not None:
        raise Refused(_("--db refused: over SSH the server says where the store is. Nothing was done."))
    if args.server is not None or args.token is not None:
        raise Refused(_("--server and --token refused: over SSH the command runs on this server, as your key "
                        "says. Nothing was done."))
    key = (args.command, getattr(args, "action", None))
    if args.command in OWNER_COMMANDS or key in OWNER_COMMANDS:
        raise Refused(_("'{command}' is for the server's administrator, on the server itself, not over SSH. "
                        "Nothing was done.").format(command=" ".join(w for w in ("elp", *key) if w)))
    return args


def session(s: Session) -> int:
    """A bound key's connection: the app (no command), or the client's command, run as the key's user."""
    _refuse_environment()
    store = _store(s)
    words = _remote_words()
    args = _guard(words) if words is not None else None  # refused before anything is read or written
    if isinstance(args, int):
        return args
    user = s.portal.ssh_sign_in(s.args.fingerprint)
    if args is None or args.command is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise Refused(_("The app needs a terminal: connect with ssh -t, or give a command (e.g. licenses mine)."))
        from elp_tui.cli.setup import open_app

        lang = getattr(args, "lang", None) if args is not None else None
        return open_app(s.console, store, user["email"], lang or s.lang, key=s.args.fingerprint)
    from elp_tui.cli import main

    argv = [f"{_option(store)}={store}", f"--as={user['email']}", *words]  # type: ignore[misc]
    return main(argv, via_key=s.args.fingerprint)


# -- enrolment -------------------------------------------------------------------------------
def _not_enrolled(how: str) -> Refused:
    return Refused(_("This key is not enrolled in ELP yet, so it runs nothing. To enrol it, connect with no "
                     "command ({how}) and type your email address and the code of your invitation, "
                     "or run: {how_script} enrol EMAIL CODE").format(how=f"ssh -t {how}", how_script=f"ssh {how}"))


def _login() -> str:
    """How members reach this server (`elp@host`), as the invitations say it, else a guess."""
    from elp_tui.config import ConfigError, ssh_login

    try:
        said = ssh_login()
    except ConfigError:
        said = None
    if said:
        return said.removeprefix("ssh ").strip()
    import getpass
    import socket

    try:
        account = getpass.getuser()
    except Exception:  # noqa: BLE001 - no name for this uid
        account = "elp"
    return f"{account}@{socket.gethostname()}"


def _ask(console: Console, prompt: str) -> str | None:
    """One line from the member (a terminal, or the lines a script pipes in); None at the end of input."""
    if sys.stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    console.line(prompt)
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


def _enrolled(s: Session, user: dict[str, Any], fingerprint: str) -> int:
    login = _login()
    org = s.portal.organization_name(user.get("organization"))
    s.console.line(_("Enrolled: you are {email} ({role}{org}); this key ({fingerprint}) now signs you in.").format(
        email=plain(user["email"]), role=user["role"], org=f", {plain(org)}" if org else "", fingerprint=fingerprint))
    s.console.line(_("Connect again: ssh -t {login} opens the app; ssh {login} COMMAND runs one command "
                     "(e.g. ssh {login} licenses mine).").format(login=login))
    return 0


def enrol(s: Session) -> int:
    """An unknown key's connection: only the enrolment (email + invitation code) runs."""
    from elp_tui.portal import SignInRefused
    from elp_tui.portal.keys import key_from_parts

    _refuse_environment()
    key = key_from_parts(s.args.key_type, s.args.key)
    words = _remote_words()
    if words is not None:
        if len(words) == 3 and words[0] == "enrol":
            return _enrolled(s, s.portal.enrol(key.type, key.key, words[1], words[2]), key.fingerprint)
        raise _not_enrolled(_login())
    console = s.console
    console.line(_("This key ({fingerprint}) is not enrolled in ELP yet. To enrol it, give the email address your "
                   "invitation is addressed to and the code it carries.").format(fingerprint=key.fingerprint))
    email = ""
    for _attempt in range(MAX_CODES):
        given = _ask(console, _("Email address [{email}]: ").format(email=plain(email)) if email else _("Email address: "))
        if given is None:
            break
        email = given.strip() or email
        code = _ask(console, _("Enrolment code: "))
        if code is None:
            break
        try:
            return _enrolled(s, s.portal.enrol(key.type, key.key, email, code.strip()), key.fingerprint)
        except SignInRefused as exc:
            console.note(f"elp: {plain(exc)}")
    raise Refused(_("This key is still not enrolled: connect again to try another code."))
