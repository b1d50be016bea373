"""Shared fixtures: a fresh store on disk, a portal on a fixed clock, an organization with an admin."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from elp_tui.i18n import set_language
from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store

TODAY = dt.date(2026, 11, 23)
ADMIN = "admin@lumenfox.studio"
VENDOR = "desk@quillstone.example.com"  # the vendor's staff member every test store has
VENDOR_EMAIL = "enterprise@quillstone.example.com"  # where requests to the vendor go


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Tests read English messages whatever the developer's locale (LANG=fr_FR would turn the
    CLI and the app French); a test that switches to French leaves English behind it."""
    for name in ("ELP_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.setenv(name, "")  # set, then delete: the undo also removes what a command sets (elp --lang)
        monkeypatch.delenv(name)
    monkeypatch.setenv("LANG", "C.UTF-8")
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "data" / "elp.json"


@pytest.fixture
def portal(store_path) -> Portal:
    """A portal on a new store, today = 2026-11-23, one organization 'Lumenfox Studios' with ADMIN,
    and the vendor (Quillstone, requests to VENDOR_EMAIL) with one staff member, VENDOR."""
    p = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(7))
    p.init_organization("Lumenfox Studios", ADMIN)
    p.setup_vendor("Quillstone", VENDOR_EMAIL, VENDOR)
    return p


@pytest.fixture
def bank(portal) -> dict:
    """A portable 25.1 bank of 100 credits valid 2026-11-01 .. 2027-05-01."""
    from tests.helpers import grant_bank

    return grant_bank(
        portal, product="Quillstone Animate", credits=100, start="2026-11-01", expires_on="2027-05-01",
        product_version="25.1", portable=True,
    )
