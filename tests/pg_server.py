"""A real PostgreSQL server for the tests: the system's initdb and postgres into a temporary folder,
listening only on 127.0.0.1 on a free port (its unix socket in that folder), stopped afterwards.
One server per pytest-xdist worker per session (conftest.py's `pg_server`); each test that asks
for `pg_url` gets a database of its own.

Durability is PostgreSQL's default, on purpose: fsync on, synchronous_commit on, full page writes:
a test that SIGKILLs a process mid-transaction (or the server) and finds every acknowledged commit
must mean something. Only settings that cost no durability are changed for speed (a small
shared_buffers, no autovacuum chatter in the log, no checkpoint warnings).

PostgreSQL refuses to run as root: when the tests run as root, initdb and postgres run as the
`postgres` system user (runuser), the folder chowned to it; the folder is made under the system's
temporary folder, not pytest's (root's pytest folders are 0700: the postgres user could not reach
them).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.smtp_server import free_port  # one free 127.0.0.1 port, as every test server takes it

HOST = "127.0.0.1"
SYSTEM_USER = "postgres"  # who runs the server when the tests run as root
TEMPLATE = "elp_template"  # a database ELP's schema was created in once: each migrated database is a copy


def _program(name: str) -> str | None:
    """The PostgreSQL program `name`: on PATH, else where Debian puts it (/usr/lib/postgresql/<v>/bin)."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def missing() -> str | None:
    """Why PostgreSQL cannot run here, or None."""
    for name in ("initdb", "postgres", "pg_ctl"):
        if _program(name) is None:
            return f"PostgreSQL is not installed ({name} not found): .ci/run installs Debian's postgresql package"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return "the tests run as root and there is no 'postgres' system user to run PostgreSQL as (install postgresql)"
        if shutil.which("runuser") is None:
            return "the tests run as root and runuser (util-linux) is missing: PostgreSQL cannot be started as 'postgres'"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    return None


class Postgres:
    """A PostgreSQL cluster in `folder` (created by `start()`), on 127.0.0.1:<port>, trust auth."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.log_path = self.folder / "postgres.log"
        self.port = 0
        self.user = SYSTEM_USER if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.process: subprocess.Popen[bytes] | None = None
        self._count = 0
        self._lock = threading.Lock()
        self._template_ready = False

    def _as_owner(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", SYSTEM_USER, "--", *argv] if os.geteuid() == 0 else argv

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        os.chmod(self.folder, 0o700)
        initdb, postgres = _program("initdb"), _program("postgres")
        assert initdb and postgres, missing()
        if not self.data.exists():
            subprocess.run(
                self._as_owner([initdb, "-D", str(self.data), "-U", self.user, "--auth=trust", "--encoding=UTF8",
                                "--locale=C", "--no-instructions"]),
                check=True, capture_output=True, cwd=self.folder)
        for _attempt in range(5):  # the free port may be taken between asking and binding: another one
            self.port = free_port()
            settings = {
                "listen_addresses": HOST, "port": str(self.port), "unix_socket_directories": str(self.folder),
                "max_connections": "200", "shared_buffers": "32MB",
                # Durability stays PostgreSQL's default (fsync, synchronous_commit, full_page_writes on).
                "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                "logging_collector": "off", "log_min_messages": "warning", "checkpoint_warning": "0",
            }
            argv = [postgres, "-D", str(self.data)]
            for name, value in settings.items():
                argv += ["-c", f"{name}={value}"]
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(self._as_owner(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            cwd=self.folder, start_new_session=True)
            log.close()
            if self._ready():
                return
            self.stop()
        raise RuntimeError(f"postgres did not start: {self.log_path.read_text(errors='replace')[-2000:]}")

    def _ready(self) -> bool:
        import psycopg

        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    pass
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return True
            except (OSError, psycopg.Error):
                time.sleep(0.05)
        return False

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{HOST}:{self.port}/{dbname}"

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _next_name(self) -> str:
        with self._lock:
            self._count += 1
            return f"elp_{os.getpid()}_{self._count}"

    def fresh_database(self) -> str:
        """The URL of a new, empty database (no ELP schema)."""
        name = self._next_name()
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def migrated_database(self) -> str:
        """The URL of a new database holding ELP's schema and no store yet: a copy of a template
        migrated once a session (CREATE DATABASE ... TEMPLATE), far faster than creating the schema."""
        with self._lock:
            if not self._template_ready:
                from elp_tui.store.pg import migrate_database

                self.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
                self.execute(f"CREATE DATABASE {TEMPLATE}")
                migrate_database(self.url(TEMPLATE))
                self._template_ready = True
        name = self._next_name()
        self.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a test's database (its stores in this process closed first, other connections cut)."""
        from elp_tui.store.pg import close_stores

        close_stores(url)
        name = url.rsplit("/", 1)[1]
        if self.process is not None and self.process.poll() is None:
            self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def kill(self) -> None:
        """SIGKILL the server (postmaster and, by its process group, every backend): a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None
        self._clear_stale_lock()

    def _clear_stale_lock(self) -> None:
        """Remove postmaster.pid once its postmaster is dead: killed, it may linger as a zombie
        (its parent was killed with it, and the init process here may be slow to reap it), which
        PostgreSQL would take for a running server and refuse to start."""
        lock = self.data / "postmaster.pid"
        try:
            pid = int(lock.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                break  # gone
            if "\nState:\tZ" in status:
                break  # a zombie: dead
            time.sleep(0.05)
        else:
            return
        lock.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 2)  # SIGINT to runuser and postgres: a "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.process = None


def session_server() -> tuple[Postgres, Path]:
    """A started server in a new folder under the system's temporary folder (see the module's docstring)."""
    folder = Path(tempfile.mkdtemp(prefix="elp-pg-"))
    server = Postgres(folder)
    server.start()
    return server, folder
