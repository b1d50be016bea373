"""The portal's rules on a store of 100,000 licenses (issue 9): the same rule tests as on a new
store (imported from tests/test_rules_*.py, so they assert the very same outcomes), each run on
a private copy of one generated large store, with its own organization added to it. A large
store is read lazily (tables parsed when first used) and commits append to its journal: the
rules must not notice."""

from __future__ import annotations

import random

import pytest

from elp_tui.demo import write_demo
from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store
from tests.conftest import ADMIN, TODAY
from tests.helpers import copy_store, journal_path, store_tables

# The rule tests run again here, on the large store (the `portal` fixture below replaces conftest's).
from tests.test_rules_credits import (  # noqa: F401
    test_assign_gives_a_returned_license_to_another_member,
    test_assign_refused_for_non_portable_bank,
    test_expiry_is_capped_by_the_bank_and_the_partial_month_is_charged_as_one,
    test_multiseat_and_floating_make_one_license_of_n_computers,
    test_node_lock_makes_n_licenses_of_one_computer,
    test_renew_extends_and_charges_computers_times_months,
    test_renew_is_capped_by_the_bank_and_charges_only_covered_months,
    test_too_few_credits_is_refused_with_the_shortfall,
    test_used_is_the_ledger_sum_and_remaining_is_granted_minus_used,
)
from tests.test_rules_people import (  # noqa: F401
    test_deleting_a_member_with_unexpired_licenses_is_refused_and_lists_them,
    test_returning_the_licenses_lets_the_member_be_deleted,
)
from tests.test_rules_seats import (  # noqa: F401
    seats,
    test_joining_with_no_unused_seat_is_refused_saying_how_to_free_or_buy,
    test_seat_states_through_invite_sign_in_leave_rejoin_delete,
)

LICENSES = 100_000


@pytest.fixture(scope="session")
def large_store(tmp_path_factory):
    """One generated store of 100,000 licenses per test session (a few seconds to build)."""
    folder = tmp_path_factory.mktemp("large")
    folder.chmod(0o700)
    path = folder / "elp.json"
    write_demo(path, size="large", force=True, progress=False, today=TODAY)
    return path


@pytest.fixture
def portal(large_store, store_path):
    """A private copy of the large store, with an organization 'Rulebook Testers' and its admin
    ADMIN added (the rule tests' own organization; the demo's are other organizations)."""
    store_path.parent.mkdir(mode=0o700)
    copy_store(large_store, store_path)
    p = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(7))
    p.init_organization("Rulebook Testers", ADMIN)
    yield p
    for path in (store_path, journal_path(store_path)):  # ~100 MB each test: do not keep them
        path.unlink(missing_ok=True)


def test_the_large_store_holds_100k_licenses_and_stays_sound_through_commits(portal, bank, store_path):
    """The store the rule tests above run on: 100,000 licenses; commits append to the journal
    (the snapshot is not rewritten), and the whole store passes check, every bank's used credits
    (kept in the snapshot's index and followed through the journal) equal to its ledger sum."""
    snapshot = store_path.stat()
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=2, quantity=3, start=TODAY, email=ADMIN)
    portal.generate(ADMIN, quote)
    tables = store_tables(store_path)
    assert len(tables["licenses"]) == LICENSES + 1
    assert (store_path.stat().st_ino, store_path.stat().st_size) == (snapshot.st_ino, snapshot.st_size)
    fresh = Portal(Store(store_path), fixed_clock(TODAY))
    assert fresh.check() == []
    ledger: dict[str, int] = {}
    for entry in tables["ledger"].values():
        ledger[entry["bank"]] = ledger.get(entry["bank"], 0) + entry["credits"]
    [row] = fresh.list_banks(ADMIN)
    assert row["used"] == ledger[bank["id"]] == 6
