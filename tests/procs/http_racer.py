"""A client of `elp serve` as a separate OS process: quotes and commits through HTTP (httpx and the
wire format, nothing of the portal's), recording every acknowledged commit and every refusal, one
JSON line each, flushed at once, in its OUT file. Run by tests/test_server_races.py, several at a
time, against one or more servers on one database.

usage: http_racer.py OUT GO_FILE URLS TOKEN MODE [ARG ...] [--attempts N | --until STOP_FILE]

URLS: the servers, comma-separated, or @FILE: a file holding them (read again after a request no
server answered, so a test may restart a killed server on another port). Attempt k of a worker
quotes on one server and commits on the next (the typed quote travels between servers as it
would between a user's sessions).

MODE and its ARGs:
  generate BANK EMAIL START   a node-lock license of one month for EMAIL from BANK (quote_generate + generate)
  renew ID[,ID...]            one more month of these licenses in turn, every worker on the same one at
                              the same attempt (quote_renew + renew)
  seat TEAM EMAIL[,EMAIL...]  these people into TEAM, one an attempt (quote_team_add + team_add)

An attempt ends acknowledged (200 on the commit) or refused (a 4xx with the portal's error body).
A StaleQuote (409) carrying the fresh quote is a refusal too, and the fresh quote is then
confirmed as a user would (at most 50 times an attempt). A request the server never answered
(it was killed) is recorded as unanswered: neither acknowledged nor refused.

Lines written (every one has "op", "worker", "attempt", "server" (index into URLS)):
  {"kind": "ack", ..., "result": <the decoded result's key facts>}
  {"kind": "refused", ..., "stage": "quote"|"commit", "status": 422, "type": "RuleViolation", "message": "..."}
  {"kind": "unanswered", ..., "stage": ..., "error": "ReadError: ..."}
The last line is {"kind": "done", "acks": n, "refusals": n, "unanswered": n}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

MAX_CONFIRMS = 50


class Unanswered(Exception):
    pass


class Refused(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(status)
        self.status = status
        error = body.get("error") if isinstance(body, dict) else None
        self.error = error if isinstance(error, dict) else {"type": None, "message": None, "raw": str(body)[:500]}


def server_urls(spec: str) -> list[str]:
    text = Path(spec[1:]).read_text() if spec.startswith("@") else spec
    return [url.strip() for url in text.replace("\n", ",").split(",") if url.strip()]


def spec_stamp(spec: str) -> Any:
    return Path(spec[1:]).stat().st_mtime_ns if spec.startswith("@") else None


class Racer:
    def __init__(self, out: Path, urls: str, token: str, worker: int):
        self.out = open(out, "a", encoding="utf-8")
        self.spec = urls
        self.token = token
        self.clients: list[httpx.Client] = []
        self.down: dict[int, float] = {}  # servers that left a request unanswered, and when
        self.stamp: Any = None
        self.connect()
        self.worker = worker
        self.counts = {"acks": 0, "refusals": 0, "unanswered": 0}

    def connect(self) -> None:
        """(Again) a client for each server listed; none taken for down any more."""
        self.stamp = spec_stamp(self.spec)
        for client in self.clients:
            client.close()
        self.clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
                        for url in server_urls(self.spec)]
        self.down.clear()

    def refresh(self) -> None:
        """The servers' list read again when it changed; a server down for a second is tried again."""
        if spec_stamp(self.spec) != self.stamp:
            self.connect()
        now = time.monotonic()
        for index, since in list(self.down.items()):
            if now - since > 1.0:
                del self.down[index]

    def pick(self, server: int) -> int:
        """`server`, or the next one not known to be down."""
        count = len(self.clients)
        for step in range(count):
            if (server + step) % count not in self.down:
                return (server + step) % count
        return server % count

    def write(self, **line: Any) -> None:
        self.out.write(json.dumps({"worker": self.worker, **line}) + "\n")
        self.out.flush()

    def call(self, server: int, method: str, args: dict[str, Any]) -> Any:
        """The raw (tagged) result of POST /v1/call/{method}; Refused or Unanswered otherwise."""
        try:
            response = self.clients[server].post(f"/v1/call/{method}", json={"args": args})
        except httpx.HTTPError as exc:
            self.down[server] = time.monotonic()
            raise Unanswered(f"{type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code != 200:
            raise Refused(response.status_code, body)
        return body["result"]

    def attempt(self, op: str, attempt: int, quote_call: tuple[str, dict[str, Any]], commit: str,
                commit_args: dict[str, Any], facts: Any) -> None:
        """Quote on one server, commit on the next; a stale quote's fresh quote is confirmed again.
        A quote no server answered is asked of the next server; a commit no server answered is
        not sent again (it may have been made): the attempt ends unanswered."""
        self.refresh()
        server = self.pick(self.worker + attempt)
        base = {"op": op, "attempt": attempt}
        stage = "quote"
        try:
            for _server in range(len(self.clients)):
                try:
                    quote = self.call(server, *quote_call)
                    break
                except Unanswered as exc:
                    self.unanswered(base, server, stage, exc)
                    server = self.pick(server + 1)
            else:
                time.sleep(0.02)  # every server is down: do not spin on refused connections
                return
            stage = "commit"
            for _confirm in range(MAX_CONFIRMS):
                server = self.pick(server + 1)
                try:
                    result = self.call(server, commit, {**commit_args, **{k: quote for k in ("quote", "expected")
                                                                            if k in commit_args}})
                except Refused as exc:
                    fresh = exc.error.get("fresh") if exc.status == 409 else None
                    if fresh is None:
                        raise
                    self.refused(base, server, stage, exc)
                    quote = fresh
                    continue
                self.counts["acks"] += 1
                self.write(kind="ack", server=server, **base, result=facts(result))
                return
            self.write(kind="gave-up", server=server, **base)
        except Refused as exc:
            self.refused(base, server, stage, exc)
        except Unanswered as exc:
            self.unanswered(base, server, stage, exc)

    def unanswered(self, base: dict[str, Any], server: int, stage: str, exc: Unanswered) -> None:
        self.counts["unanswered"] += 1
        self.write(kind="unanswered", server=server, **base, stage=stage, error=str(exc))

    def refused(self, base: dict[str, Any], server: int, stage: str, exc: Refused) -> None:
        self.counts["refusals"] += 1
        self.write(kind="refused", server=server, **base, stage=stage, status=exc.status,
                   type=exc.error.get("type"), message=exc.error.get("message"),
                   raw=exc.error.get("raw"))


def main(argv: list[str]) -> int:
    out, go, urls, token, mode, *rest = argv
    attempts, until = 10**9, None
    if "--attempts" in rest:
        i = rest.index("--attempts")
        attempts = int(rest[i + 1])
        del rest[i:i + 2]
    if "--until" in rest:
        i = rest.index("--until")
        until = Path(rest[i + 1])
        del rest[i:i + 2]
    worker = int(Path(out).stem.rsplit("-", 1)[-1]) if Path(out).stem.rsplit("-", 1)[-1].isdigit() else 0
    racer = Racer(Path(out), urls, token, worker)
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not Path(go).exists():  # start together with the other workers
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.002)

    for attempt in range(attempts):
        if until is not None and until.exists():
            break
        if mode == "generate":
            bank, email, start = rest
            racer.attempt("generate", attempt, ("quote_generate", {
                "bank": bank, "type": "node-lock", "months": 1, "quantity": 1, "start": {"$date": start}, "email": email,
            }), "generate", {"quote": None}, lambda rows: [row["activation_id"] for row in rows])
        elif mode == "renew":
            ids = rest[0].split(",")
            aid = ids[attempt % len(ids)]  # every worker at once on the same license
            racer.attempt("renew", attempt, ("quote_renew", {"activation_id": aid, "months": 1}), "renew",
                          {"quote": None},
                          lambda row: {"activation_id": row["activation_id"], "expires_on": row["expires_on"]})
        elif mode == "seat":
            team, emails = rest[0], rest[1].split(",")
            if attempt >= len(emails):
                break
            email = emails[attempt]
            racer.attempt("seat", attempt, ("quote_team_add", {"team_name": team, "email": email}), "team_add",
                          {"team_name": team, "email": email, "expected": None},
                          lambda row, email=email: {"email": email, "pool": row.get("id")})
        else:
            sys.exit(f"unknown mode {mode!r}")
    racer.write(kind="done", **racer.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
