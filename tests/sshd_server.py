"""A real OpenSSH server for the tests: the system's sshd on 127.0.0.1, a free port, its own host key,
and an sshd_config whose `Match User` block is the one `elp ssh setup` prints (same generator:
elp_tui.cli.ssh.sshd_match_block), with AuthorizedKeysCommand asking this installation of elp.

Where sshd runs the AuthorizedKeysCommand from: sshd refuses a command unless the file and every
folder above it belong to root and are writable by no one else (it runs it for every key offered).
The virtual environment's `elp` script qualifies where the checkout is root-owned (here: /work,
as root); a checkout under /tmp (world-writable) or a CI user's home does not. Then the command
is /usr/bin/env, root's own program, with this Python as its argument: sshd checks the program it
starts, not the interpreter that program then runs. Both run the very same elp, and both are tested
(test_ssh.py::test_sshd_runs_elp_through_usr_bin_env_where_the_install_is_not_root_owned).

Who logs in: the account running the tests, whose shell runs the forced command (as the service
account's /bin/sh does). As root, `PermitRootLogin forced-commands-only` lets root in by key only
when the authorized_keys line forces a command, and every line ELP prints does; nothing else of
the server's configuration changes. The privilege separation folder (/run/sshd) is created if
missing, as the openssh-server package does at boot.

sshd's log (LogLevel DEBUG1) goes to a file (-E): the tests read what it refused.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from elp_tui.cli.ssh import sshd_match_block
from tests.smtp_server import free_port  # one free 127.0.0.1 port, as every test server takes it

SSHD = "/usr/sbin/sshd"
HOST = "127.0.0.1"


def missing() -> str | None:
    """Why the SSH tests cannot run here, or None."""
    for program in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen")):
        if not program or not os.access(program, os.X_OK):
            return "OpenSSH is not installed (sshd, ssh, ssh-keygen): .ci/run installs openssh-server and openssh-client"
    try:
        pwd.getpwuid(os.getuid())
    except KeyError:
        return "the account running the tests has no name (no passwd entry): sshd cannot log it in"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("sshd")
        except KeyError:
            return "sshd's privilege separation user 'sshd' does not exist (install openssh-server)"
    return None


def safe_for_sshd(path: Path) -> bool:
    """Whether sshd would run `path` as AuthorizedKeysCommand: it and every folder above it owned
    by root and not writable by group or others (OpenSSH's safe_path)."""
    real = Path(os.path.realpath(path))
    for part in [real, *real.parents]:
        st = part.stat()
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


ENV_ELP = f"/usr/bin/env {sys.executable} -m elp_tui"  # root's own program, running this Python


def elp_for_sshd() -> str:
    """How sshd runs this installation of elp (see the module's docstring)."""
    script = Path(sys.executable).parent / "elp"
    if script.is_file() and safe_for_sshd(script):
        return str(script)
    return ENV_ELP


@dataclass
class Key:
    path: Path  # the private key (0600)
    type: str
    blob: str
    fingerprint: str

    @property
    def public(self) -> str:
        return self.path.with_name(self.path.name + ".pub").read_text()


def make_key(path: Path, comment: str = "test") -> Key:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    kind, blob = path.with_name(path.name + ".pub").read_text().split()[:2]
    printed = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)], check=True,
                             capture_output=True, text=True).stdout.split()
    return Key(path, kind, blob, printed[1])


class Sshd:
    def __init__(self, root: Path, elp_command: str | None = None):
        self.root = root
        self.elp_command = elp_command or elp_for_sshd()
        self.account = pwd.getpwuid(os.getuid()).pw_name
        self.store_path = root / "store" / "elp.json"
        self.log_path = root / "sshd.log"
        self.config_path = root / "sshd_config"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        lines = [
            f"ListenAddress {HOST}:{self.port}",
            f"HostKey {self.root / 'host_ed25519_key'}",
            f"PidFile {self.root / 'sshd.pid'}",
            "UsePAM no",
            "LogLevel DEBUG1",
            "PubkeyAuthentication yes",
            "MaxStartups 50",
        ]
        if os.geteuid() == 0:
            lines.append("PermitRootLogin forced-commands-only")
        return "\n".join(lines + sshd_match_block(self.account, self.elp_command, self.store_path)) + "\n"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.store_path.parent.mkdir(exist_ok=True)
        key = self.root / "host_ed25519_key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for _attempt in range(5):  # the free port may be taken between asking and binding: another one
            self.port = free_port()
            self.config_path.write_text(self.config())
            subprocess.run([SSHD, "-t", "-f", str(self.config_path)], check=True, capture_output=True)
            # -E, not -e: with -e, the session's own process would log (at DEBUG1) into the channel
            self.process = subprocess.Popen([SSHD, "-D", "-E", str(self.log_path), "-f", str(self.config_path)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            if self._listening():
                return
            self.stop()
        raise RuntimeError(f"sshd did not start: {self.log_path.read_text()[-2000:]}")

    def _listening(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def reset_store(self) -> Path:
        """An empty store folder for the next test (the store path is part of sshd's configuration)."""
        folder = self.store_path.parent
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        return self.store_path

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    # -- the client --------------------------------------------------------------------
    def ssh_argv(self, key: Key | None, *remote: str, options: tuple[str, ...] = ()) -> list[str]:
        # `options` first: for ssh the first value given for a setting wins
        argv = ["ssh", "-F", "/dev/null", *options, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "IdentityAgent=none", "-o", "ConnectTimeout=20", "-p", str(self.port)]
        if key is not None:
            argv += ["-i", str(key.path)]
        return [*argv, "--", f"{self.account}@{HOST}", *remote]  # --: ssh reads no option of the command

    def ssh(self, key: Key | None, *remote: str, input: str | None = None, options: tuple[str, ...] = (),
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`ssh -p PORT account@127.0.0.1 REMOTE...` with `key` only; stdin is `input` (or nothing)."""
        return subprocess.run(self.ssh_argv(key, *remote, options=options), input=input if input is not None else "",
                              capture_output=True, text=True, timeout=120, env=env)
