"""The vendor feed: what the vendor granted an organization, read over HTTP and reconciled into the
store (Refresh banks, `elp banks refresh`), and the organization's requests POSTed back to it.

The feed is one JSON document per organization (GET <feed>?organization=<id>, the token as
`Authorization: Bearer`), validated by the models below: strict types (a number written as a
string is refused, a date is "YYYY-MM-DD") and no field ELP does not know (a misspelt field is
refused and named, never silently taken as its default). A feed that cannot be read or validated
changes nothing and is said in one line.

Reconciling happens in one transaction, after the network I/O (the store's lock is never held
while waiting for the vendor). A line that would break a rule the organization relies on is
refused and named, and the rest of the feed applies: a bank whose granted credits would fall below
its used credits, whose expiry would move before a license it covers (or its start after one),
whose product would change, a bank the feed leaves out that has licenses, a pool below the seats
its members hold, a request already answered otherwise. A request answered by a refused line is
refused with it, and a request marked granted is refused (it stays open) unless the feed's figure
for its bank (pool) rises, against the store, by at least what this feed's granted requests give
it: a request is never closed by a grant that did not arrive.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from elp_tui.config import ConfigError, FeedSettings, feed_settings
from elp_tui.i18n import N_, _
from elp_tui.models import Bank, Product, SeatPool
from elp_tui.portal import mail
from elp_tui.portal.base import (
    T_BANKS, T_HOLDERS, T_LEDGER, T_LICENSES, T_POOLS, T_PRODUCTS, T_REQUESTS, T_TEAMS, T_USERS, PortalBase,
)
from elp_tui.portal.errors import InvalidInput, PortalError, RuleViolation
from elp_tui.portal.inputs import MAX_COUNT, MAX_NAME, MAX_TEXT, MAX_VERSION, check_text, name_key
from elp_tui.store.repository import Transaction

if TYPE_CHECKING:
    import httpx

# Who answered a request closed by the feed (Request.answered_by), and the actor of nothing else.
FEED_ACTOR = "vendor feed"
# Seconds to wait for the vendor: to connect, and for each read. ELP_FEED_TIMEOUT sets both.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
# A feed is a few kilobytes per organization; far more is a wrong URL or a hostile server.
MAX_FEED_BYTES = 8 * 1024 * 1024


class FeedError(PortalError):
    """The feed could not be read, or is not a valid feed: one line saying which, nothing changed."""


# -- the feed's format ----------------------------------------------------------------------------
def _one_line(value: str) -> str:
    """Text from the vendor is shown on screens and in the log: the checks typed text gets (no
    control or invisible characters), and no spaces around it (names are compared as written)."""
    try:
        check_text(value, _("the text"), limit=MAX_TEXT)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None
    if value != value.strip():
        raise ValueError(_("has spaces around it"))
    return value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_one_line)]
Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_one_line)]
Version = Annotated[str, Field(min_length=1, max_length=MAX_VERSION, pattern=r"^[0-9]+(\.[0-9]+)*$")]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Url = Annotated[str, Field(max_length=MAX_TEXT, pattern=r"^https?://\S+$"), AfterValidator(_one_line)]


class FeedModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


BankId = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class FeedBank(FeedModel):
    id: BankId
    product: Name
    credits_requested: Count
    credits_granted: Count
    start: dt.date
    expires_on: dt.date
    product_version: Version | None = None
    portable: bool = False

    @model_validator(mode="after")
    def _expires_after_start(self) -> "FeedBank":
        if self.expires_on <= self.start:
            raise ValueError(f"expires_on {self.expires_on} is not after start {self.start}")
        return self


class FeedPool(FeedModel):
    product: Name
    seats: Count


class FeedDownloads(FeedModel):
    windows: Url | None = None
    macos: Url | None = None
    linux: Url | None = None


class FeedBuild(FeedModel):
    product: Name
    version: Version
    released: dt.date
    downloads: FeedDownloads = FeedDownloads()


class FeedRequest(FeedModel):
    id: Annotated[int, Field(ge=1)]  # the organization's request number, as ELP sent it
    state: Literal["requested", "granted", "declined"]
    bank: Name | None = None  # where the grant went: a bank ID (a pool ID for seats); default the request's
    credits: Count | None = None  # granted; default what was asked
    seats: Count | None = None
    reason: Text | None = None


class Feed(FeedModel):
    organization: Name
    banks: list[FeedBank]  # every bank of the organization: required, so a feed without it removes nothing
    seat_pools: list[FeedPool]
    builds: list[FeedBuild] = Field(default_factory=list)
    requests: list[FeedRequest] = Field(default_factory=list)

    @model_validator(mode="after")
    def _each_once(self) -> "Feed":
        for what, keys in (("banks", [b.id.upper() for b in self.banks]),
                           ("seat_pools", [name_key(p.product) for p in self.seat_pools]),
                           ("requests", [r.id for r in self.requests])):
            twice = sorted({str(k) for k in keys if keys.count(k) > 1})
            if twice:
                raise ValueError(f"{what} lists {', '.join(twice)} more than once")
        return self


def _where(loc: tuple[Any, ...]) -> str:
    """('banks', 1, 'credits_granted') -> banks[1].credits_granted"""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_feed(raw: bytes) -> Feed:
    """The feed, or FeedError naming the first wrong field."""
    try:
        return Feed.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = _where(first["loc"])
        if first["type"] == "json_invalid":
            raise FeedError(_("The vendor feed is not JSON ({error}). Nothing was changed; tell the vendor.").format(error=first["msg"])) from None
        problem = first["msg"].removeprefix("Value error, ")
        if "input" in first and first["type"] not in ("missing", "extra_forbidden") and not isinstance(first["input"], (dict, list)):
            problem += f" (got {json.dumps(first['input'], default=str)[:60]})"
        more = len(exc.errors()) - 1
        if more:
            problem += " " + _("(and {n} more problems)").format(n=more)
        raise FeedError(
            _("The vendor feed is not valid: {field}: {problem}. Nothing was changed; tell the vendor.").format(
                field=where or _("the document"), problem=problem)
        ) from None


# -- talking to the vendor --------------------------------------------------------------------------
def _httpx() -> Any:
    """httpx, imported when the vendor is called: importing it loads rich (its command line's
    pretty printer), which the data layers and the CLI's other commands must not pay for."""
    import httpx

    return httpx


def feed_timeout(env: Any = None) -> "httpx.Timeout":
    """ELP_FEED_TIMEOUT (seconds, for connecting and for each read), else the defaults."""
    httpx = _httpx()
    env = os.environ if env is None else env
    text = (env.get("ELP_FEED_TIMEOUT") or "").strip()
    if not text:
        return httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise ConfigError(_("ELP_FEED_TIMEOUT={value!r} is not a number of seconds: use e.g. 10.").format(value=text))
    return httpx.Timeout(seconds)


def _headers(settings: FeedSettings) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "elp-tui"}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    return headers


def _http_refusal(url: str, status: int) -> str:
    if status in (401, 403):
        return _("The vendor feed refused ELP's token (HTTP {status}): check ELP_VENDOR_TOKEN.").format(status=status)
    if status == 404:
        return _("The vendor feed at {url} was not found (HTTP 404): check the feed's address ('elp vendor setup --feed', or ELP_VENDOR_FEED).").format(url=url)
    if status >= 500:
        return _("The vendor feed at {url} failed (HTTP {status}): try again later.").format(url=url, status=status)
    return _("The vendor feed at {url} answered HTTP {status} instead of the feed.").format(url=url, status=status)


def _transport_problem(url: str, exc: Exception, timeout: "httpx.Timeout") -> str:
    httpx = _httpx()
    if isinstance(exc, httpx.TimeoutException):
        seconds = timeout.read if isinstance(exc, httpx.ReadTimeout) else timeout.connect
        return _("The vendor feed at {url} did not answer within {seconds:g} seconds: try again later.").format(
            url=url, seconds=seconds or 0)
    if isinstance(exc, httpx.ConnectError) and "SSL" in str(exc):  # reached, but no TLS we can trust
        return _("The vendor feed at {url} failed its TLS handshake ({error}): check the URL (https or http) "
                 "and the server's certificate.").format(url=url, error=str(exc)[:120])
    if isinstance(exc, httpx.ConnectError):
        return _("The vendor feed at {url} cannot be reached (offline?): check the network or the feed's address ('elp vendor setup --feed', or ELP_VENDOR_FEED).").format(url=url)
    return _("The vendor feed at {url} could not be read ({error}).").format(url=url, error=type(exc).__name__)


def fetch_feed(settings: FeedSettings, organization: str) -> Feed:
    """GET the organization's feed; FeedError (one line, nothing changed) if it cannot be had."""
    httpx = _httpx()
    timeout = feed_timeout()
    nothing = " " + _("Nothing was changed.")
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            with client.stream("GET", settings.url, params={"organization": organization}, headers=_headers(settings)) as response:
                if response.status_code != 200:
                    raise FeedError(_http_refusal(settings.url, response.status_code) + nothing)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_FEED_BYTES:
                        raise FeedError(
                            _("The vendor feed at {url} is larger than {limit} MB: check the feed's address ('elp vendor setup --feed', or ELP_VENDOR_FEED).").format(
                                url=settings.url, limit=MAX_FEED_BYTES // (1024 * 1024)) + nothing)
    except httpx.HTTPError as exc:
        raise FeedError(_transport_problem(settings.url, exc, timeout) + nothing) from None
    feed = parse_feed(bytes(body))
    if feed.organization != organization:
        raise FeedError(
            _("The vendor feed is for organization {theirs!r}, not yours ({ours}): check the feed's address ('elp vendor setup --feed', or ELP_VENDOR_FEED). "
              "Nothing was changed.").format(theirs=feed.organization, ours=organization)
        )
    return feed


def post_request(settings: FeedSettings, request: dict[str, Any]) -> str | None:
    """POST a request to <feed>/requests: None when the vendor took it, else why not (one line)."""
    httpx = _httpx()
    timeout = feed_timeout()
    url = settings.requests_url
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, json=request, headers=_headers(settings))
    except httpx.TimeoutException:
        return _("{url} did not answer within {seconds:g} seconds").format(url=url, seconds=timeout.read or 0)
    except httpx.HTTPError as exc:
        return _("{url} cannot be reached ({error})").format(url=url, error=type(exc).__name__)
    if not 200 <= response.status_code < 300:
        return _("{url} answered HTTP {status}").format(url=url, status=response.status_code)
    return None


def feed_note(request: dict[str, Any]) -> str | None:
    """What to tell the person who made `request` about its POST to the feed (None: no feed)."""
    if request.get("posted"):
        return _("Sent to the vendor's feed as well.")
    if request.get("posted") is False:
        return _("The request is recorded (its email to the vendor is queued), but the vendor's feed did not take it: "
                 "{error}.").format(error=(request.get("post_error") or "").rstrip("."))
    return None


# -- reconciling ------------------------------------------------------------------------------------
class Skip(Exception):
    """A feed line refused: the message names it; the rest of the feed applies."""


def _bank_line(bank: dict[str, Any]) -> str:
    return _("new bank {bank} ({product}): {credits} credits, {start} .. {end}").format(
        bank=bank["id"], product=bank["product"], credits=bank["credits_granted"], start=bank["start"], end=bank["expires_on"])


KIND_NAMES = {"credits": N_("credits"), "seats": N_("seats")}
BANK_FIELDS = ("credits_requested", "credits_granted", "start", "expires_on", "product_version", "portable")


class FeedMixin(PortalBase):
    def _vendor_feed(self, product: str | None = None) -> FeedSettings | None:
        """The feed this machine reads: the store's vendor's, else ELP_VENDOR_FEED / the config file
        (ConfigError when those name another feed than the store's)."""
        vendor = self._vendor_for(self.store.read(), product)
        return feed_settings((vendor or {}).get("feed"))

    def _pull_feed(self, actor: str, settings: FeedSettings) -> list[str]:
        """GET the feed (no lock held), then reconcile it in one transaction with one activity entry.
        The lines say what changed (one per bank, pool, build, request) and what was refused."""
        db = self.store.read()
        org = self._actor(db, actor)["organization"]
        feed = fetch_feed(settings, org)
        with self.store.transaction() as tx:
            me = self._actor(tx, actor)
            if me["organization"] != org:  # moved meanwhile: the feed was for the organization it left
                raise RuleViolation(_("You changed organization during the refresh: refresh again."))
            reconcile = Reconcile(self, tx, me, feed)
            changes, refused, credits, seats = reconcile.run()
            if changes:  # else nothing was written: a feed with only refused lines leaves the store as it was
                details = _("from {url}").format(url=settings.shown) + ": " + reconcile.summary()
                self._log(tx, org, me["email"], "banks-refresh", FEED_ACTOR, details, credits=credits, seats=seats)
        return changes + [_("refused: {line}").format(line=r) for r in refused]

    def _send_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """After the request committed: POST it to the feed, if one is configured. A failure never
        undoes the request: the result says it (`post_error`) and the activity log records it."""
        out = dict(request, posted=None, post_error=None)
        try:
            settings = self._vendor_feed(request.get("product"))
            if settings is None:
                return out
            problem = post_request(settings, request)
        except Exception as exc:  # noqa: BLE001 - the request is committed: a failed POST is said, never raised
            problem = str(exc) or type(exc).__name__
        if problem is None:
            out["posted"] = True
            return out
        out.update(posted=False, post_error=problem)
        try:
            with self.store.transaction() as tx:
                self._log(tx, request["organization"], request["actor"], "request-post-failed", f"#{request['id']}",
                          f"not sent to the vendor's feed: {problem}")
        except PortalError:
            pass  # the request and its email stand; the failure is still said to the user
        return out


class Reconcile:
    """One feed applied to one organization inside one transaction."""

    def __init__(self, portal: FeedMixin, db: Transaction, me: dict[str, Any], feed: Feed):
        self.portal, self.db, self.me, self.feed = portal, db, me, feed
        self.org = me["organization"]
        self.changes: list[str] = []
        self.refused: list[str] = []
        self.credits = 0  # granted credits added (or removed) by this refresh, for the activity entry
        self.seats = 0
        self.refused_targets: set[str] = set()
        # What the store held before this refresh, so a grant is checked against what the feed adds.
        self.banks_before = {b["id"]: b["credits_granted"] for b in db.find(T_BANKS, organization=self.org)}
        self.pools_before = {p["id"]: p["seats"] for p in db.find(T_POOLS, organization=self.org)}
        self.granted_to: dict[str, int] = {}  # running total of this feed's granted requests, per bank or pool
        self.closed: list[str] = []  # "#5 granted", for the activity entry

    def run(self) -> tuple[list[str], list[str], int, int]:
        db = self.db
        used = db.sums(T_LEDGER, "credits", by="bank")
        licenses: dict[str, list[dict[str, Any]]] = {}
        for lic in db.find(T_LICENSES, organization=self.org):
            licenses.setdefault(lic["bank"], []).append(lic)
        for build in self.feed.builds:
            self._line(self._build, build)
        bank_plans = [self._line(self._plan_bank, fb, used, licenses) for fb in self.feed.banks]
        pool_plans = [self._line(self._plan_pool, fp) for fp in self.feed.seat_pools]
        listed_banks = {fb.id.upper() for fb in self.feed.banks}
        listed_pools = {name_key(fp.product) for fp in self.feed.seat_pools}
        # New banks and pools first (a grant may go to one), then the answers, then the new totals
        # (a decline lowers what was requested; the feed's totals are what stays).
        for plan in bank_plans + pool_plans:
            if plan is not None and plan["new"]:
                plan["apply"]()
        for fr in self.feed.requests:
            self._line(self._answer, fr)
        for plan in bank_plans + pool_plans:
            if plan is not None and not plan["new"]:
                plan["apply"]()
        for bank in db.find(T_BANKS, organization=self.org):
            if bank["id"] not in listed_banks:
                self._line(self._drop_bank, bank, licenses)
        for pool in db.find(T_POOLS, organization=self.org):
            if name_key(pool["product"]) not in listed_pools:
                self._line(self._drop_pool, pool)
        return self.changes, self.refused, self.credits, self.seats

    def summary(self) -> str:
        """The refresh's activity entry: what changed, what was refused, which requests it closed
        (their answers have no entry of their own)."""
        parts = self.changes + [_("refused: {line}").format(line=r) for r in self.refused]
        if self.closed:
            parts.append(_("requests closed: {requests}").format(requests=", ".join(self.closed)))
        return "; ".join(parts)

    def _line(self, step: Any, *args: Any) -> Any:
        try:
            return step(*args)
        except Skip as exc:
            self.refused.append(str(exc))
            return None

    # -- the catalog --------------------------------------------------------------------------------
    def _product(self, name: str, kind: str) -> None:
        """The catalog entry for `name` (created if new); Skip if it is sold the other way or reads
        like another product."""
        db = self.db
        catalog = db.get(T_PRODUCTS, name=name)
        if catalog is None:
            for other in db.all(T_PRODUCTS):
                if name_key(other["name"]) == name_key(name):
                    raise Skip(_("product {name!r} reads like the existing {other!r}: the vendor must use one name.").format(
                        name=name, other=other["name"]))
            db.insert(T_PRODUCTS, Product(name=name, kind=kind).to_doc())  # type: ignore[arg-type]
        elif catalog.get("kind", "credits") != kind:
            sold = catalog.get("kind", "credits")
            raise Skip(_("{product} is sold as {kind}, not {other}.").format(
                product=name, kind=_(KIND_NAMES.get(sold, sold)), other=_(KIND_NAMES[kind])))

    def _build(self, fb: FeedBuild) -> None:
        db = self.db
        kind = "seats" if any(p.product == fb.product for p in self.feed.seat_pools) else "credits"
        catalog = db.get(T_PRODUCTS, name=fb.product)
        if catalog is None:
            try:
                self._product(fb.product, kind)
            except Skip as exc:
                raise Skip(_("build {product} {version}: {reason}").format(
                    product=fb.product, version=fb.version, reason=exc)) from None
            catalog = db.get(T_PRODUCTS, name=fb.product)
        doc = {"version": fb.version, "released": fb.released.isoformat(),
               "downloads": {os_name: url for os_name, url in fb.downloads.model_dump().items() if url}}
        builds = list(catalog.get("builds", []))
        old = next((b for b in builds if b["version"] == fb.version), None)
        if old == doc:
            return
        if old is None:
            builds.append(doc)
            self.changes.append(_("new build {product} {version} (released {released})").format(
                product=fb.product, version=fb.version, released=doc["released"]))
        else:
            builds[builds.index(old)] = doc
            self.changes.append(_("build {product} {version} updated").format(product=fb.product, version=fb.version))
        db.update(T_PRODUCTS, {"builds": builds}, name=fb.product)

    # -- banks --------------------------------------------------------------------------------------
    def _plan_bank(self, fb: FeedBank, used: dict[str, int], licenses: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
        db = self.db
        bank_id = fb.id.upper()
        doc = Bank(id=bank_id, organization=self.org, product=fb.product, credits_requested=fb.credits_requested,
                   credits_granted=fb.credits_granted, start=fb.start, expires_on=fb.expires_on,
                   product_version=fb.product_version, portable=fb.portable).to_doc()
        old = db.get(T_BANKS, id=bank_id)
        if old is None:
            def insert() -> None:
                try:
                    today = self.portal.today()
                    if fb.expires_on <= today:  # as the vendor's own grant: credits that could never be spent
                        raise Skip(_("it expires on {end}, which is not after today ({today}): its credits could never be spent, "
                                     "so it is not added. Ask the vendor to correct its expiry.").format(
                                         end=fb.expires_on, today=today))
                    self._product(fb.product, "credits")
                except Skip as exc:
                    self.refused.append(_("bank {bank}: {reason}").format(bank=bank_id, reason=exc))
                    self.refused_targets.add(bank_id)
                    return
                db.insert(T_BANKS, doc)
                self.credits += fb.credits_granted
                self.changes.append(_bank_line(doc))
            return {"new": True, "apply": insert}
        refuse = self._bank_refusal(old, doc, used.get(bank_id, 0), licenses.get(bank_id, []))
        if refuse:
            self.refused_targets.add(bank_id)
            raise Skip(_("bank {bank}: {reason}").format(bank=bank_id, reason=refuse))
        before = {f: old.get(f) for f in BANK_FIELDS}

        def update() -> None:
            now = db.get(T_BANKS, id=bank_id) or old
            diff = {f: doc[f] for f in BANK_FIELDS if now.get(f) != doc[f]}
            if diff:
                db.update(T_BANKS, diff, id=bank_id)
            shown = [f"{f} {before[f]} → {doc[f]}" for f in BANK_FIELDS if before[f] != doc[f]]
            if shown:
                self.credits += doc["credits_granted"] - before["credits_granted"]
                self.changes.append(_("{bank} ({product}): {what}").format(
                    bank=bank_id, product=doc["product"], what=", ".join(shown)))
        return {"new": False, "apply": update}

    def _bank_refusal(self, old: dict[str, Any], doc: dict[str, Any], used: int, licenses: list[dict[str, Any]]) -> str | None:
        if old["organization"] != self.org:
            return _("it belongs to another organization")
        if old["product"] != doc["product"]:
            return _("its product would change from {old} to {new}").format(old=old["product"], new=doc["product"])
        if doc["credits_granted"] < used:
            return _("{granted} credits granted would be below the {used} already used").format(
                granted=doc["credits_granted"], used=used)
        if licenses:
            last = max(lic["expires_on"] for lic in licenses)
            if doc["expires_on"] < last:
                return _("expiry {date} would be before {last}, when a license it covers ends").format(
                    date=doc["expires_on"], last=last)
            first = min(lic["start"] for lic in licenses)
            if doc["start"] > first:
                return _("start {date} would be after {first}, when a license it covers starts").format(
                    date=doc["start"], first=first)
        return None

    def _drop_bank(self, bank: dict[str, Any], licenses: dict[str, list[dict[str, Any]]]) -> None:
        db = self.db
        if licenses.get(bank["id"]):
            raise Skip(_("bank {bank} is not in the feed but has licenses: it stays").format(bank=bank["id"]))
        if db.exists(T_REQUESTS, target=bank["id"], state="requested"):
            raise Skip(_("bank {bank} is not in the feed but has an open request: it stays").format(bank=bank["id"]))
        db.remove(T_BANKS, id=bank["id"])
        self.credits -= bank["credits_granted"]
        self.changes.append(_("bank {bank} ({product}) removed: the vendor no longer lists it").format(
            bank=bank["id"], product=bank["product"]))

    # -- seat pools -----------------------------------------------------------------------------------
    def _org_pool(self, product: str) -> dict[str, Any] | None:
        return next((p for p in self.db.find(T_POOLS, organization=self.org) if name_key(p["product"]) == name_key(product)), None)

    def _plan_pool(self, fp: FeedPool) -> dict[str, Any] | None:
        db = self.db
        old = self._org_pool(fp.product)
        if old is None:
            def insert() -> None:
                try:
                    self._product(fp.product, "seats")
                except Skip as exc:
                    self.refused.append(_("seat pool of {product}: {reason}").format(product=fp.product, reason=exc))
                    return
                pool = SeatPool(id=self.portal._next_id(db, T_POOLS, "SP-"), organization=self.org, product=fp.product,
                                seats=fp.seats).to_doc()
                db.insert(T_POOLS, pool)
                self.seats += fp.seats
                self.changes.append(_("new seat pool {pool} ({product}): {seats} seats").format(
                    pool=pool["id"], product=fp.product, seats=fp.seats))
            return {"new": True, "apply": insert}
        held = db.count(T_HOLDERS, pool=old["id"])
        if fp.seats < held:
            self.refused_targets.add(old["id"])
            raise Skip(_("seat pool {pool} ({product}): {seats} seats would be fewer than the {held} its members hold").format(
                pool=old["id"], product=old["product"], seats=fp.seats, held=held))
        before = old["seats"]

        def update() -> None:
            now = db.get(T_POOLS, id=old["id"]) or old
            if now["seats"] != fp.seats:
                db.update(T_POOLS, {"seats": fp.seats}, id=old["id"])
            if before != fp.seats:
                self.seats += fp.seats - before
                self.changes.append(_("seat pool {pool} ({product}): seats {old} → {new}").format(
                    pool=old["id"], product=old["product"], old=before, new=fp.seats))
        return {"new": False, "apply": update}

    def _drop_pool(self, pool: dict[str, Any]) -> None:
        db = self.db
        if db.exists(T_HOLDERS, pool=pool["id"]) or db.exists(T_TEAMS, pool=pool["id"]):
            raise Skip(_("seat pool {pool} ({product}) is not in the feed but has teams or members: it stays").format(
                pool=pool["id"], product=pool["product"]))
        if db.exists(T_REQUESTS, target=pool["id"], state="requested"):
            raise Skip(_("seat pool {pool} is not in the feed but has an open request: it stays").format(pool=pool["id"]))
        db.remove(T_POOLS, id=pool["id"])
        self.seats -= pool["seats"]
        self.changes.append(_("seat pool {pool} ({product}) removed: the vendor no longer lists it").format(
            pool=pool["id"], product=pool["product"]))

    # -- requests -------------------------------------------------------------------------------------
    def _answer(self, fr: FeedRequest) -> None:
        if fr.state == "requested":
            return
        db = self.db
        request = db.get(T_REQUESTS, id=fr.id)
        if request is None or request["organization"] != self.org:
            raise Skip(_("request #{id} is not one of your organization's requests").format(id=fr.id))
        if request["state"] == fr.state:
            return  # answered by an earlier refresh
        if request["state"] != "requested":
            raise Skip(_("request #{id} was already {state}; the feed says {new}").format(
                id=fr.id, state=request["state"], new=fr.state))
        seats = request["kind"] == "seats"
        target = fr.bank or request["target"]
        if not seats:
            target = target.upper()
        if target in self.refused_targets or request["target"] in self.refused_targets:
            raise Skip(_("request #{id}: its bank or pool's line was refused, so it stays open").format(id=fr.id))
        amount = (fr.seats if seats else fr.credits) if fr.state == "granted" else None
        need = 0
        if fr.state == "granted":
            need = self.granted_to.get(target, 0) + (request["amount"] if amount is None else amount)
            totals = self._feed_total(target, seats)  # None: no such bank or pool, which the closing refuses
            if totals is not None and totals[1] - totals[0] < need:
                what = (_("request #{id}: the feed grants {n} seats to {target}, but lists {target} with {new} seats "
                          "(it had {old}; at least {goal} needed): nothing was added, so the request stays open")
                        if seats else
                        _("request #{id}: the feed grants {n} credits to {target}, but lists {target} with {new} credits "
                          "granted (it had {old}; at least {goal} needed): nothing was added, so the request stays open"))
                raise Skip(what.format(id=fr.id, n=need - self.granted_to.get(target, 0), target=target,
                                       old=totals[0], new=totals[1], goal=totals[0] + need))
        try:  # the same closing as the vendor's own grant or decline (portal/vendor.py)
            closed = self.portal._close_request(db, request, fr.state, by=FEED_ACTOR, amount=amount, target=target, reason=fr.reason, apply=False, log=False)
        except PortalError as exc:
            raise Skip(_("request #{id}: {reason}").format(id=fr.id, reason=exc)) from None
        unit = _("seats") if seats else _("credits")
        if fr.state == "granted":
            self.granted_to[target] = need
            self.closed.append(_("#{id} granted").format(id=fr.id))
            self.changes.append(_("request #{id} granted: {n} {unit} to {target}").format(
                id=fr.id, n=closed.get("granted"), unit=unit, target=closed.get("granted_target")))
        else:
            self.closed.append(_("#{id} declined").format(id=fr.id))
            self.changes.append(_("request #{id} declined: {reason}").format(id=fr.id, reason=fr.reason or _("no reason given")))

    def _feed_total(self, target: str, seats: bool) -> tuple[int, int] | None:
        """(before this refresh, in the feed) of the granted credits of bank `target` (the seats of
        pool `target`), None when the organization has no such bank or pool: one new to the store
        had 0 before; one the feed leaves out keeps what it had."""
        if not seats:
            if self.db.get(T_BANKS, id=target) is None:
                return None
            old = self.banks_before.get(target, 0)
            line = next((fb for fb in self.feed.banks if fb.id.upper() == target), None)
            return old, (old if line is None else line.credits_granted)
        pool = self.db.get(T_POOLS, id=target)
        if pool is None:
            return None
        old = self.pools_before.get(target, 0)
        line = next((fp for fp in self.feed.seat_pools if name_key(fp.product) == name_key(pool["product"])), None)
        return old, (old if line is None else line.seats)
