"""Shared fixtures: a fresh store on disk, a portal on a fixed clock, an organization with an admin."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import Store

TODAY = dt.date(2026, 11, 23)
ADMIN = "admin@lumenfox.studio"


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "data" / "elp.json"


@pytest.fixture
def portal(store_path) -> Portal:
    """A portal on a new store, today = 2026-11-23, one organization 'Lumenfox Studios' with ADMIN."""
    p = Portal(Store(store_path), fixed_clock(TODAY), rng=random.Random(7))
    p.init_organization("Lumenfox Studios", ADMIN)
    return p


@pytest.fixture
def bank(portal) -> dict:
    """A portable 25.1 bank of 100 credits valid 2026-11-01 .. 2027-05-01."""
    return portal.add_bank(
        ADMIN, product="Quillstone Animate", credits=100, start="2026-11-01", expires_on="2027-05-01",
        product_version="25.1", portable=True,
    )
