"""Property tests: random sequences of portal operations (refusals allowed) never break the
store's invariants — credits and seats never negative, the ledger sums to `used`, a refusal
changes nothing, the ledger and activity log only grow, and `check()` finds no drift."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from elp_tui.portal import AdminRequired, Portal, PortalError, StaleQuote
from elp_tui.store import Store

from tests.helpers import only_refusal_logged, store_bytes, store_tables
from tests.helpers import grant_bank, grant_seats

TODAY = dt.date(2026, 11, 23)
ADMIN = "admin@lumenfox.studio"
OTHER_ADMIN = "boss@otter.example"
PEOPLE = ["ana@lumenfox.studio", "bob@lumenfox.studio", "cy@freelance.example", "dee@freelance.example", OTHER_ADMIN, ADMIN]
ACTORS = [ADMIN] * 5 + ["ana@lumenfox.studio", "bob@lumenfox.studio"]
VENDOR = "desk@quillstone.example.com"  # grant_bank sets the vendor up with this staff member
GRANTERS = [VENDOR] * 4 + [ADMIN, "ana@lumenfox.studio"]  # the vendor grants; an organization member is refused
TYPES = ["node-lock", "multiseat", "floating"]
SKETCH = "Quillstone Sketch"
TEAMS = ["Story", "Layout"]

people = st.sampled_from(PEOPLE)
actors = st.sampled_from(ACTORS)
granters = st.sampled_from(GRANTERS)
picks = st.integers(min_value=0, max_value=1_000)


class PortalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # A RAM folder when there is one: this test is about the rules, not the disk, and
        # fsync on a real disk would make each of the ~1,500 writes cost milliseconds.
        ram = Path("/dev/shm")
        use_ram = ram.is_dir() and os.access(ram, os.W_OK)
        self.folder = Path(tempfile.mkdtemp(prefix="elp-prop-", dir=ram if use_ram else None))
        self.day = TODAY
        self.portal = Portal(Store(self.folder / "data" / "elp.json"), lambda: self.day, rng=random.Random(0))
        self.ledger: dict[int, dict] = {}
        self.activity: dict[int, dict] = {}

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- set-up ----------------------------------------------------------------------
    @initialize()
    def organization(self) -> None:
        p = self.portal
        p.init_organization("Lumenfox Studios", ADMIN)
        first = grant_bank(p, product="Quillstone Animate", credits=40, start="2026-11-01", expires_on="2027-03-01",
                           product_version="25.1", portable=True)
        grant_bank(p, product="Quillstone Animate", credits=20, start="2026-12-01", expires_on="2027-06-01",
                   product_version="24.3", portable=True)
        grant_seats(p, SKETCH, 3)
        for team in TEAMS:
            p.create_team(ADMIN, team, SKETCH)
        other = Portal(Store(p.store.path), lambda: self.day)
        other.init_organization("Otter Works", OTHER_ADMIN)
        for email in ("ana@lumenfox.studio", "bob@lumenfox.studio"):
            p.invite(ADMIN, email)
            p.sign_in(email)
        q = p.quote_generate(ADMIN, bank=first["id"], type="multiseat", months=2, quantity=2, start=TODAY,
                             email="ana@lumenfox.studio")
        p.generate(ADMIN, q)

    # -- helpers ---------------------------------------------------------------------
    def raw(self) -> dict:
        return store_tables(self.portal.store.path)

    def attempt(self, call, name: str) -> object:
        """Run one operation; a refusal must leave the store byte-for-byte as it was, except a
        refusal of authority, which adds only its activity entry."""
        before, old = store_bytes(self.portal.store.path), store_tables(self.portal.store.path)
        try:
            result = call()
        except AdminRequired as exc:
            only_refusal_logged(old, store_tables(self.portal.store.path), exc.actor)
            event(f"{name}: refused ({type(exc).__name__})")
            return None
        except PortalError as exc:
            assert store_bytes(self.portal.store.path) == before, "a refusal changed the store"
            event(f"{name}: refused ({type(exc).__name__})")
            return None
        event(f"{name}: done")
        return result

    def banks(self) -> list[str]:
        return sorted(b["id"] for b in self.raw().get("banks", {}).values() if b["organization"] == "lumenfox-studios")

    def license_ids(self) -> list[str]:
        return sorted(lic["activation_id"] for lic in self.raw().get("licenses", {}).values())

    def pick(self, items: list, n: int):
        return items[n % len(items)] if items else None

    # -- operations ------------------------------------------------------------------
    @rule(actor=actors, bank=picks, kind=st.sampled_from(TYPES), months=st.integers(1, 8), quantity=st.integers(1, 4),
          start_in=st.integers(0, 150), email=people)
    def generate(self, actor, bank, kind, months, quantity, start_in, email):
        bank_id = self.pick(self.banks(), bank)
        start = self.day + dt.timedelta(days=start_in)

        def go():
            q = self.portal.quote_generate(actor, bank=bank_id, type=kind, months=months, quantity=quantity, start=start, email=email)
            assert q.credits == q.licenses * q.computers * q.months_charged
            assert 0 <= q.remaining_after == q.remaining_before - q.credits
            assert q.expires_on <= q.bank_expires_on
            return self.portal.generate(actor, q)

        self.attempt(go, "generate")

    @rule(actor=actors, bank=picks, months=st.integers(1, 3), quantity=st.integers(1, 3), email=people)
    def generate_with_a_stale_quote(self, actor, bank, months, quantity, email):
        bank_id = self.pick(self.banks(), bank)
        try:
            old = self.portal.quote_generate(actor, bank=bank_id, type="multiseat", months=months, quantity=quantity, start=self.day, email=email)
        except PortalError:
            return
        self.attempt(lambda: self.portal.generate(ADMIN, self.portal.quote_generate(
            ADMIN, bank=bank_id, type="node-lock", months=1, quantity=1, start=self.day, email=ADMIN)), "generate (in between)")
        before = store_bytes(self.portal.store.path)
        try:
            self.portal.generate(actor, old)
        except StaleQuote as exc:
            assert store_bytes(self.portal.store.path) == before
            assert exc.fresh is None or exc.fresh != old
            event("stale quote: refused")
        except PortalError:
            assert store_bytes(self.portal.store.path) == before
        else:
            event("stale quote: still fresh, committed")

    @rule(actor=actors, lic=picks, months=st.integers(0, 4), extra=st.integers(0, 2))
    def renew(self, actor, lic, months, extra):
        aid = self.pick(self.license_ids(), lic)
        if aid is None:
            return
        computers = next(x for x in self.raw()["licenses"].values() if x["activation_id"] == aid)["computers"] + extra

        def go():
            q = self.portal.quote_renew(actor, aid, months=months, computers=computers)
            assert q.credits == q.credits_renewal + q.credits_added_computers and q.remaining_after >= 0
            return self.portal.renew(actor, q)

        self.attempt(go, "renew")

    @rule(actor=actors, lic=picks, right_email=st.booleans(), email=people)
    def return_license(self, actor, lic, right_email, email):
        aid = self.pick(self.license_ids(), lic)
        if aid is None:
            return
        holder = next(x for x in self.raw()["licenses"].values() if x["activation_id"] == aid).get("assignee")
        self.attempt(lambda: self.portal.return_license(actor, aid, (holder or email) if right_email else email), "return")

    @rule(actor=actors, lic=picks, email=people)
    def assign(self, actor, lic, email):
        aid = self.pick(self.license_ids(), lic)
        if aid is not None:
            self.attempt(lambda: self.portal.assign_license(actor, aid, email), "assign")

    @rule(actor=actors, email=people, role=st.sampled_from(["regular", "regular", "admin"]))
    def invite(self, actor, email, role):
        self.attempt(lambda: self.portal.invite(actor, email, role), "invite")

    @rule(email=people)
    def sign_in(self, email):
        self.attempt(lambda: self.portal.sign_in(email), "sign_in")

    @rule(actor=actors, email=people)
    def delete(self, actor, email):
        self.attempt(lambda: self.portal.delete_user(actor, email), "delete")

    @rule(actor=actors, email=people, role=st.sampled_from(["regular", "admin"]))
    def set_role(self, actor, email, role):
        self.attempt(lambda: self.portal.set_role(actor, email, role), "set_role")

    @rule(actor=actors, email=people, status=st.sampled_from(["active", "inactive"]))
    def set_status(self, actor, email, status):
        self.attempt(lambda: self.portal.set_status(actor, email, status), "set_status")

    @rule(actor=actors, team=st.sampled_from(TEAMS), email=people)
    def team_add(self, actor, team, email):
        self.attempt(lambda: self.portal.team_add(actor, team, email), "team_add")

    @rule(actor=actors, team=st.sampled_from(TEAMS), email=people)
    def team_remove(self, actor, team, email):
        self.attempt(lambda: self.portal.team_remove(actor, team, email), "team_remove")

    @rule(actor=granters, seats=st.integers(1, 2))
    def add_seats(self, actor, seats):
        self.attempt(lambda: self.portal.add_seats(actor, "lumenfox-studios", SKETCH, seats), "add_seats")

    @rule(actor=granters, request=picks, grant=st.booleans(), amount=st.none() | st.integers(0, 60), bank=picks)
    def answer(self, actor, request, grant, amount, bank):
        """The vendor answers a request (open or not): granted (what was asked, or `amount`, to its
        bank or another one) or declined."""
        numbers = sorted(r["id"] for r in self.raw().get("requests", {}).values())
        number = self.pick(numbers, request) or 1
        if grant:
            target = self.pick(self.banks(), bank) if bank % 3 == 0 else None
            self.attempt(lambda: self.portal.grant_request(actor, number, amount=amount, target=target), "grant_request")
        else:
            self.attempt(lambda: self.portal.decline_request(actor, number, "not now"), "decline_request")

    @rule(actor=actors, bank=picks, amount=st.integers(0, 50), seats=st.booleans())
    def request(self, actor, bank, amount, seats):
        if seats:
            self.attempt(lambda: self.portal.request_seats(actor, SKETCH, amount), "request_seats")
        else:
            self.attempt(lambda: self.portal.request_credits(actor, self.pick(self.banks(), bank), amount), "request_credits")

    @rule(days=st.integers(1, 45))
    def time_passes(self, days):
        self.day += dt.timedelta(days=days)

    # -- invariants --------------------------------------------------------------------
    @invariant()
    def store_is_consistent(self) -> None:
        if not self.portal.store.exists():
            return
        assert self.portal.check() == []

    @invariant()
    def credits_never_negative_and_ledger_sums_to_used(self) -> None:
        if not self.portal.store.exists():
            return
        data = self.raw()
        admins = [u["email"] for u in data["users"].values()
                  if u.get("organization") == "lumenfox-studios" and u["role"] == "admin" and u["status"] == "active"]
        assert admins, "the organization lost its last active admin"
        ledger = list(data.get("ledger", {}).values())
        for row in self.portal.list_banks(admins[0]):
            entries = [e for e in ledger if e["bank"] == row["id"]]
            assert row["used"] == sum(e["credits"] for e in entries)
            assert all(e["credits"] > 0 for e in entries)
            assert 0 <= row["used"] <= row["credits_granted"]
            assert row["remaining"] >= 0 and row["remaining"] + row["forfeited"] == row["credits_granted"] - row["used"]
            licenses = [lic for lic in data.get("licenses", {}).values() if lic["bank"] == row["id"]]
            assert sum(lic["credits_used"] for lic in licenses) == row["used"]
        for pool in self.portal.seats_overview(admins[0]):
            assert pool["unused"] >= 0
            assert pool["active"] + pool["pending"] + pool["unassigned"] + pool["unused"] == pool["purchased"]

    @invariant()
    def a_request_is_answered_once_and_open_requests_stay_requested(self) -> None:
        if not self.portal.store.exists():
            return
        data = self.raw()
        banks = data.get("banks", {}).values()
        for req in data.get("requests", {}).values():
            if req["state"] == "requested":
                assert req["answered_on"] is None and req["granted"] is None
            elif req["state"] == "granted":
                assert req["granted"] >= 1 and req["answered_by"] == VENDOR
                assert req["granted_target"] is not None
            else:
                assert req["granted"] is None and req["reason"] == "not now"
        for bank in banks:
            assert bank["credits_requested"] >= bank["credits_granted"]

    @invariant()
    def ledger_and_activity_only_grow(self) -> None:
        if not self.portal.store.exists():
            return
        data = self.raw()
        ledger = {e["id"]: e for e in data.get("ledger", {}).values()}
        activity = {a["seq"]: a for a in data.get("activity", {}).values()}
        for old, new in ((self.ledger, ledger), (self.activity, activity)):
            assert all(new.get(k) == v for k, v in old.items()), "an entry was rewritten or removed"
        assert sorted(ledger) == list(range(1, len(ledger) + 1))
        assert sorted(activity) == list(range(1, len(activity) + 1))
        self.ledger, self.activity = ledger, activity


PortalMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_portal_operations_keep_every_invariant = PortalMachine.TestCase
