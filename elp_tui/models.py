"""Pydantic models shared by the portal (rules) and the store (documents).

Documents are stored as plain JSON; dates are ISO strings on disk and `date` here.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2  # 2: the snapshot indexes its tables and a journal holds the commits since (1: one file)


class Role(str, Enum):
    admin = "admin"
    regular = "regular"


class UserStatus(str, Enum):
    invited = "invited"
    active = "active"
    inactive = "inactive"


class LicenseType(str, Enum):
    node_lock = "node-lock"
    multiseat = "multiseat"
    floating = "floating"


class LicenseStatus(str, Enum):
    scheduled = "scheduled"
    active = "active"
    expired = "expired"
    returned = "returned"


class SeatState(str, Enum):
    active = "active"
    pending = "pending"
    unassigned = "unassigned"


class Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", use_enum_values=False)

    def to_doc(self) -> dict:
        return self.model_dump(mode="json")


class Organization(Doc):
    id: str
    name: str
    created_on: dt.date


class User(Doc):
    email: str  # normalised to lower case
    organization: str | None
    role: Role = Role.regular
    status: UserStatus = UserStatus.invited
    invited_on: dt.date | None = None
    signed_in_on: dt.date | None = None


class Build(Doc):
    version: str
    released: dt.date
    downloads: dict[str, str] = Field(default_factory=dict)  # os -> url


class Product(Doc):
    name: str
    kind: Literal["credits", "seats"] = "credits"
    builds: list[Build] = Field(default_factory=list)


class Restriction(Doc):
    organization: str
    product: str
    enabled: bool = False
    builds: list[str] = Field(default_factory=list)


class Bank(Doc):
    id: str
    organization: str
    product: str
    credits_requested: int
    credits_granted: int
    start: dt.date
    expires_on: dt.date
    product_version: str | None = None
    portable: bool = False


class License(Doc):
    activation_id: str
    organization: str
    product: str
    bank: str
    type: LicenseType
    computers: int
    assignee: str | None
    start: dt.date
    expires_on: dt.date
    credits_used: int = 0
    created_on: dt.date | None = None


class LedgerEntry(Doc):
    id: int
    bank: str
    license: str
    credits: int
    reason: str  # generate | renew | renew-computers
    actor: str
    on: dt.date


class SeatPool(Doc):
    id: str
    organization: str
    product: str
    seats: int


class SeatHolder(Doc):
    pool: str
    email: str
    since: dt.date


class Team(Doc):
    id: str
    organization: str
    pool: str
    name: str
    members: list[str] = Field(default_factory=list)


class Request(Doc):
    id: int
    organization: str
    kind: Literal["credits", "seats"]
    target: str  # bank id or pool id
    product: str
    amount: int
    actor: str
    on: dt.date


class Activity(Doc):
    seq: int
    organization: str | None
    on: dt.date
    at: str  # wall-clock timestamp, for ordering entries of the same day
    actor: str
    action: str
    target: str = ""
    details: str = ""
    credits: int = 0
    seats: int = 0


class Email(Doc):
    id: int
    to: str
    subject: str
    body: str
    created_on: dt.date
    sent: bool = False
