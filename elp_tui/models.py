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
    vendor = "vendor"  # the vendor's enterprise team: belongs to no organization (SPEC §1)


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
    language: Literal["en", "fr"] = "en"  # the language of the emails its members receive


class User(Doc):
    email: str  # normalised to lower case
    organization: str | None
    role: Role = Role.regular
    status: UserStatus = UserStatus.invited
    invited_on: dt.date | None = None
    signed_in_on: dt.date | None = None
    # The invitation's one-time enrolment code (issue 11): only its salted hash is kept, with its
    # expiry and the wrong codes tried so far (the enrolment locks at MAX_ENROL_FAILURES).
    enrol_code: str | None = None
    enrol_expires_on: dt.date | None = None
    enrol_failures: int = 0


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
    # The months asked at generation or at the last renewal that added months: what a renewal
    # repeats by default (SPEC §4 Renew). Absent in older stores: see portal.credits.license_term.
    term_months: int | None = None


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
    admins: list[str] = Field(default_factory=list)  # its Team Admins (seed 002): members of the organization


class RequestState(str, Enum):
    requested = "requested"
    granted = "granted"
    declined = "declined"


class Request(Doc):
    """A request to the vendor for more credits or seats: requested until the vendor grants it
    (which bank or pool, how many) or declines it (why)."""

    id: int
    organization: str
    kind: Literal["credits", "seats"]
    target: str  # bank id or pool id
    product: str
    amount: int
    actor: str
    on: dt.date
    state: RequestState = RequestState.requested
    answered_on: dt.date | None = None
    answered_by: str | None = None  # the vendor's email, or "vendor feed"
    granted_target: str | None = None  # the bank or pool the grant went to
    granted: int | None = None  # credits or seats granted
    reason: str | None = None  # why it was declined (or a note with the grant)


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
    via: str | None = None  # the SSH key fingerprint the change came through (None: run locally)


class MailState(str, Enum):
    queued = "queued"  # waiting for its first attempt, or for its next one after a failure
    sending = "sending"  # a sender claimed it (under the store's lock) and is talking to the server
    sent = "sent"  # the server accepted it
    failed = "failed"  # given up after too many attempts: an admin may retry it


class Email(Doc):
    """A message in the outbox, queued in the same transaction as the change that causes it."""

    id: int
    to: str
    subject: str
    body: str
    created_on: dt.date
    kind: str = "notice"  # invitation, license, request, answer, credits-expiring, license-expiring ...
    organization: str | None = None  # whose admins see it on their Outbox page (None: the vendor's)
    language: Literal["en", "fr"] = "en"
    message_id: str = ""  # stable: the same message keeps its Message-ID across attempts
    key: str | None = None  # what it is about, for messages sent once (a reminder): unique when set
    # An invitation's enrolment code is written in only as it is sent (a new code each attempt, its
    # hash stored on this user then): the store never holds a code in clear, the queued body a mask.
    enrol: str | None = None
    state: MailState = MailState.queued
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: str | None = None  # ISO timestamp: not before this (backoff)
    sending_since: str | None = None  # ISO timestamp the sender claimed it
    sent_at: str | None = None


class Vendor(Doc):
    """The vendor's enterprise team as the store knows it: who requests go to, where its feed is.
    One document per product line; `products` empty means every product not named by another."""

    id: str
    name: str
    email: str
    feed: str | None = None  # http(s) URL of its grants feed; wins over ELP_VENDOR_FEED (another one is refused)
    products: list[str] = Field(default_factory=list)


class SshKey(Doc):
    """A public key bound to a user: over SSH the key is who you are (issue 11)."""

    fingerprint: str  # "SHA256:..." as `ssh-keygen -l` prints it: unique in the store
    email: str
    organization: str | None  # None for the vendor's staff
    type: str  # ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...
    key: str  # the base64 key blob, as in an authorized_keys line
    comment: str = ""
    added_on: dt.date
    added_by: str  # who bound it: an admin's email, or the user themselves through the enrolment
    last_used_on: dt.date | None = None
    # Revoked (or its user deleted): kept so that sshd is told nothing for it, not offered the
    # enrolment as an unknown key would be. Binding it again (`elp keys add`) replaces this record.
    revoked_on: dt.date | None = None
    revoked_by: str | None = None


class ApiToken(Doc):
    """A per-user API token (issue 14): `Authorization: Bearer` to `elp serve` acts as its user.
    The secret is shown once, when it is made; the store keeps only its SHA-256 (hex)."""

    id: str  # "tok-0001": what `elp tokens revoke` takes; never reused (a revoked token stays as a record)
    email: str  # whose it is: a token acts as this user, never anyone else
    organization: str | None  # None for the vendor's staff
    name: str = ""  # what the user called it ("ci", "laptop")
    hash: str  # sha256 hex of the secret: unique in the store
    created_on: dt.date  # by the user themselves (through their SSH session, or `--as` on the server)
    last_used_on: dt.date | None = None
    revoked_on: dt.date | None = None
    revoked_by: str | None = None
