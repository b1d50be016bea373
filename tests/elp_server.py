"""A real `elp serve` for the tests: `python -m elp_tui serve` on 127.0.0.1, a free port, its log
(stderr) in a file the tests read.

    server = ElpServer("/path/to/elp.json")          # or ElpServer("postgresql://...")
    server.start()                                   # waits for GET /v1/health
    httpx.get(server.url + "/v1/health")
    server.stop()                                    # SIGTERM: a graceful stop
    server.kill()                                    # SIGKILL

`extra`: more `elp serve` options (e.g. ["--ssl-certfile", F, "--ssl-keyfile", K]); then `url`
is https://. `env`: the server's environment (default: this process's, ELP_TODAY included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import httpx

from tests.smtp_server import free_port

HOST = "127.0.0.1"


class ElpServer:
    def __init__(self, target: str | os.PathLike[str], *, env: dict[str, str] | None = None,
                 extra: Sequence[str] = (), log_path: str | os.PathLike[str] | None = None,
                 verify: str | bool = False):
        self.target = str(target)
        self.env = env
        self.extra = list(extra)
        self.log_path = Path(log_path) if log_path else None
        self.verify = verify  # how the readiness check trusts a TLS server (a CA file, or False)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    @property
    def is_db(self) -> bool:
        return self.target.startswith(("postgresql://", "postgres://"))

    @property
    def scheme(self) -> str:
        return "https" if "--ssl-certfile" in self.extra else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.pid

    def argv(self) -> list[str]:
        where = ["--db", self.target] if self.is_db else ["--store", self.target]
        return [sys.executable, "-m", "elp_tui", "serve", "--listen", f"{HOST}:{self.port}", *where, *self.extra]

    def start(self, timeout: float = 30) -> "ElpServer":
        if self.log_path is None:
            self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"elp-serve-{os.getpid()}-{id(self)}.log"
        for _attempt in range(5):  # the free port may be taken between asking and binding: another one
            self.port = free_port()
            self._log_file = open(self.log_path, "ab")
            self.process = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._log_file,
                                            stderr=subprocess.STDOUT, env=self.env)
            if self._ready(timeout):
                return self
            in_use = "port is in use" in self.log()
            self.kill()
            if not in_use:
                break
        raise RuntimeError(f"elp serve did not start: {self.log()[-3000:]}")

    def _ready(self, timeout: float) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.url + "/v1/health", timeout=2, verify=self.verify).status_code == 200:
                    return True
            except httpx.HTTPError:
                time.sleep(0.05)
        return False

    def log(self) -> str:
        """Everything the server wrote (its log, stderr) so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, then wait (SIGKILL if it does not stop in `timeout`); its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self._done()

    def kill(self) -> int | None:
        """SIGKILL, no goodbye (a crash)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return self._done()

    def _done(self) -> int | None:
        assert self.process is not None
        code = self.process.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.process = None
        return code

    def __enter__(self) -> "ElpServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
