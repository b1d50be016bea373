"""Senders as real OS processes on one store and one SMTP server (aiosmtpd on 127.0.0.1): two
senders at once never send one message twice, and a sender killed after the server accepted a
message (before the outbox was told) leaves it "sending": it is not sent again by itself."""

from __future__ import annotations

import json
import signal
from collections import Counter

import pytest

from elp_tui.portal import mail
from tests.conftest import ADMIN
from tests.helpers import store_tables
from tests.test_processes import spawn, wait_ready

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes")


def queue(portal, n: int) -> list[dict]:
    with portal.store.transaction() as db:
        return [
            portal._queue(db, mail.team_joined("en", org_id="lumenfox-studios", org="Lumenfox Studios",
                                               to=f"member{i}@lumenfox.studio", inviter=ADMIN, team="Story", product="Frameloop"))
            for i in range(n)
        ]


def outbox(portal) -> dict[int, dict]:
    return {d["id"]: d for d in store_tables(portal.store.path)["outbox"].values()}


def test_two_senders_at_once_send_each_message_exactly_once(portal, store_path, smtp_server, inbox, tmp_path):
    queued = queue(portal, 40)
    go = tmp_path / "go"
    workers = [spawn("send_worker.py", store_path, smtp_server.port, go) for _ in range(2)]
    for w in workers:
        wait_ready(w)
    go.touch()
    reports = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    first, second = (set(r["sent"]) for r in reports)
    assert not first & second, "two senders sent the same message"
    assert first | second == {d["id"] for d in queued}
    arrived = Counter(m.header("Message-ID") for m in inbox.messages())
    assert arrived == Counter({d["message_id"]: 1 for d in queued})
    assert {d["state"] for d in outbox(portal).values()} == {"sent"}


def test_a_sender_killed_after_the_server_took_a_message_never_sends_it_again(portal, store_path, smtp_server, inbox, tmp_path):
    queued = queue(portal, 3)
    go = tmp_path / "go"
    go.touch()
    killed = spawn("send_worker.py", store_path, smtp_server.port, go, "die-after-send")
    wait_ready(killed)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    [taken] = [d for d in outbox(portal).values() if d["state"] != "queued"]
    assert taken["state"] == "sending" and taken["id"] == queued[0]["id"]  # sent, but never marked
    assert [m.header("Message-ID") for m in inbox.messages()] == [taken["message_id"]]
    survivor = spawn("send_worker.py", store_path, smtp_server.port, go)
    wait_ready(survivor)
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["sent"] == [d["id"] for d in queued[1:]]
    arrived = Counter(m.header("Message-ID") for m in inbox.messages())
    assert arrived == Counter({d["message_id"]: 1 for d in queued})  # the first one too: once
    assert outbox(portal)[taken["id"]]["state"] == "sending"  # shown to an admin as stuck after 10 minutes
    assert portal.check() == []
