"""The PostgreSQL backend: the same store as the JSON file (`Store`), kept in a database.

`PgStore(url)` offers what the portal, the CLI and the app ask of `Store`: `read()` (a `View`),
`transaction()` (a `Transaction` whose `changes` are committed once, or not at all), `marker()`,
`wait_for_change()`, `exists()`, `create()`, `tables()`, `inspect()`, `backup()`, `replace_with()`,
`head_meta()`, `close()`. The portal's rules run exactly as on the JSON store, on the same
in-memory `Tables`: only where the documents are kept differs.

Layout (`migrate_database`, run by `elp db migrate` and by every `create()`; its version is kept
in `elp_schema`): each ELP table is a SQL table `elp_<table>` of (key bigint primary key, doc json).
`json`, not `jsonb`: the document's text is kept as written (its fields stay in their order) and
read back with orjson. The fields rules depend on are generated columns carrying constraints, so
the database itself refuses a row `elp check` would report, even one written by hand in psql:
unique activation IDs, emails (stored in lower case), bank / pool / organization / team / ledger /
request / outbox / vendor identifiers and activity numbers; foreign keys from each document to the
organization, bank, license or pool it names; CHECKs on counts (credits, seats, computers >= 0,
a license and a bank ending after they start); the vendor's staff in no organization and
everyone else in one; team names unique (case-folded) per organization; and deferred constraint
triggers that refuse a commit whose ledger makes a bank's used credits exceed its granted
credits, whose holders exceed a pool's seats, or after which a license's credits_used is not
what its ledger charged (or a ledger entry charges another bank than its license's). What
PostgreSQL cannot express simply (a gapless activity log, text without control characters,
teams' member lists against seat holders) stays with `elp check`, which runs on the database
as on the file. `elp_meta` is one row: the store's `_meta` document, its `generation`
(+1 per commit), its `epoch` (+1 when the whole store is replaced) and the counters (next
document key per table, last number of the numbered tables). `elp_changes` logs each commit's
documents (generation, table, key, document or NULL for a removal).

Reading: each PgStore keeps the committed tables in memory (`Tables`, with their indexes) and
the generation they are of. `read()` asks the database for the current generation (one tiny
query) and applies only the changes logged since (or, after a replace, reads everything again):
reads cost what they cost on the JSON store.

Concurrency, the choice made: one commit at a time per database, by a row lock. A transaction
runs `SELECT ... FROM elp_meta FOR UPDATE` first, catches up with the commits before it, runs
the portal's body on that exact state, writes its changes, bumps the generation, logs the
changes, `NOTIFY elp_changes`, and commits. Why a row lock rather than locking only the bank or
pool charged, or SERIALIZABLE with retries: the portal's body reads across tables (a generate
checks the bank, its ledger, the organization's restrictions, takes the next ledger number,
activity seq and a new activation ID) and those reads must be of the very state it commits on.
With the lock, two processes or two `elp serve` on one database behave exactly like two
processes on the JSON store (which take its file lock): one wins, the other runs after it on
its result and is told why if the credits or the seat are gone; no retry loop re-runs a body
that may already have been shown to a user as a quote. The lock is held for one body plus one
round of writes (a few milliseconds).

Numbers (activity seq, ledger, outbox and request ids, document keys) are not PostgreSQL
SEQUENCEs: a sequence is not transactional (a rolled-back or refused commit would leave a gap,
and `elp check` refuses gaps: the next number would be a duplicate). They are taken under the
row lock from the committed state, gapless and exact, as on the JSON store; unique constraints
on them back this up in the database.

Durability: a commit is acknowledged only once PostgreSQL has committed it (synchronous_commit
as the server has it, on by default); a process killed mid-transaction leaves nothing of it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import orjson

from elp_tui.i18n import _
from elp_tui.models import SCHEMA_VERSION
from elp_tui.store.db import META_TABLE, Store, StoreDamaged, StoreError, StoreExists, changes_to_write
from elp_tui.store.journal import Counters
from elp_tui.store.repository import Tables, Transaction, View, plain
from elp_tui.store.schema import TABLES, listed, problems, written_problems

PG_SCHEMA_VERSION = 1  # the database layout's version, kept in elp_schema (JSON store: models.SCHEMA_VERSION)
CHANNEL = "elp_changes"
KEEP_CHANGES = 10_000  # commits kept in elp_changes; a session further behind reads everything again
POOL_SIZE = int(os.environ.get("ELP_DB_POOL", "8") or 8)
CONNECT_TIMEOUT_S = 10

# Constraints per ELP table, over generated columns: (column, SQL expression, column type, constraint).
_COLS: dict[str, list[tuple[str, str, str]]] = {
    "organizations": [("id", "doc->>'id'", "text NOT NULL UNIQUE")],
    "users": [
        ("email", "doc->>'email'", "text NOT NULL UNIQUE CHECK (email = lower(email))"),
        ("organization", "doc->>'organization'", "text REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
        # The vendor's staff belong to no organization, everyone else to one.
        ("role", "doc->>'role'", "text CHECK ((role = 'vendor') = (organization IS NULL))"),
    ],
    "products": [("name", "doc->>'name'", "text NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED")],
    "restrictions": [
        ("organization", "doc->>'organization'", "text NOT NULL REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
        ("product", "doc->>'product'", "text NOT NULL"),
    ],
    "banks": [
        ("id", "doc->>'id'", "text NOT NULL UNIQUE"),
        ("organization", "doc->>'organization'", "text NOT NULL REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
        ("credits_granted", "(doc->>'credits_granted')::numeric", "numeric NOT NULL CHECK (credits_granted >= 0)"),
        ("credits_requested", "(doc->>'credits_requested')::numeric", "numeric NOT NULL CHECK (credits_requested >= 0)"),
        ("start", "doc->>'start'", "text NOT NULL"),
        ("expires_on", "doc->>'expires_on'", "text NOT NULL CHECK (start < expires_on)"),
    ],
    "licenses": [
        ("activation_id", "doc->>'activation_id'", "text NOT NULL UNIQUE"),
        ("organization", "doc->>'organization'", "text NOT NULL REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
        ("bank", "doc->>'bank'", "text NOT NULL REFERENCES elp_banks(id) DEFERRABLE INITIALLY DEFERRED"),
        ("computers", "(doc->>'computers')::numeric", "numeric NOT NULL CHECK (computers >= 1)"),
        ("credits_used", "(doc->>'credits_used')::numeric", "numeric CHECK (credits_used >= 0)"),
        ("start", "doc->>'start'", "text NOT NULL"),
        ("expires_on", "doc->>'expires_on'", "text NOT NULL CHECK (start < expires_on)"),
    ],
    "ledger": [
        ("id", "(doc->>'id')::numeric", "numeric NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED CHECK (id >= 1)"),
        ("bank", "doc->>'bank'", "text NOT NULL REFERENCES elp_banks(id) DEFERRABLE INITIALLY DEFERRED"),
        ("license", "doc->>'license'", "text NOT NULL REFERENCES elp_licenses(activation_id) DEFERRABLE INITIALLY DEFERRED"),
        ("credits", "(doc->>'credits')::numeric", "numeric NOT NULL CHECK (credits >= 1)"),
    ],
    "seat_pools": [
        ("id", "doc->>'id'", "text NOT NULL UNIQUE"),
        ("organization", "doc->>'organization'", "text NOT NULL REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
        ("product", "doc->>'product'", "text NOT NULL"),
        ("seats", "(doc->>'seats')::numeric", "numeric NOT NULL CHECK (seats >= 0)"),
    ],
    "seat_holders": [
        ("pool", "doc->>'pool'", "text NOT NULL REFERENCES elp_seat_pools(id) DEFERRABLE INITIALLY DEFERRED"),
        ("email", "doc->>'email'", "text NOT NULL"),
    ],
    "teams": [
        ("id", "doc->>'id'", "text NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED"),
        ("organization", "doc->>'organization'", "text NOT NULL REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
        ("pool", "doc->>'pool'", "text NOT NULL REFERENCES elp_seat_pools(id) DEFERRABLE INITIALLY DEFERRED"),
        ("name_folded", "lower(doc->>'name')", "text NOT NULL"),
    ],
    "requests": [
        ("id", "(doc->>'id')::numeric", "numeric NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED CHECK (id >= 1)"),
        ("organization", "doc->>'organization'", "text NOT NULL REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
    ],
    "activity": [
        ("seq", "(doc->>'seq')::numeric", "numeric NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED CHECK (seq >= 1)"),
        ("organization", "doc->>'organization'", "text REFERENCES elp_organizations(id) DEFERRABLE INITIALLY DEFERRED"),
    ],
    "outbox": [("id", "(doc->>'id')::numeric", "numeric NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED CHECK (id >= 1)")],
    "vendors": [("id", "doc->>'id'", "text NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED")],
    # A key or a token is who you are: one user each, never two.
    "ssh_keys": [
        ("fingerprint", "doc->>'fingerprint'", "text NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED"),
        ("email", "doc->>'email'", "text NOT NULL"),
    ],
    "tokens": [
        ("id", "doc->>'id'", "text NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED"),
        ("email", "doc->>'email'", "text NOT NULL"),
        # Only the secret's SHA-256 is ever kept: a token in clear is refused by the database too.
        ("hash", "doc->>'hash'", "text NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED CHECK (hash ~ '^[0-9a-f]{64}$')"),
    ],
}
# Unique over several columns: (table, constraint name, columns).
_MULTI_UNIQUE = [
    ("restrictions", "elp_restrictions_org_product", "organization, product"),
    ("seat_pools", "elp_seat_pools_org_product", "organization, product"),
    ("seat_holders", "elp_seat_holders_pool_email", "pool, email"),
    ("teams", "elp_teams_org_name", "organization, name_folded"),
]
# Referenced tables first (a foreign key needs its target).
_ORDER = ["organizations", "banks", "licenses", "seat_pools"]

_TRIGGERS = """
CREATE OR REPLACE FUNCTION elp_bank_not_overdrawn() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bank_id text; used numeric; granted numeric;
BEGIN
  IF TG_TABLE_NAME = 'elp_banks' THEN bank_id := NEW.id; ELSE bank_id := NEW.bank; END IF;
  SELECT credits_granted INTO granted FROM elp_banks WHERE id = bank_id;
  IF granted IS NULL THEN RETURN NULL; END IF;
  SELECT COALESCE(sum(credits), 0) INTO used FROM elp_ledger WHERE bank = bank_id;
  IF used > granted THEN
    RAISE EXCEPTION 'bank % would have % credits used of % granted (remaining below zero)', bank_id, used, granted
      USING ERRCODE = 'check_violation', CONSTRAINT = 'elp_bank_not_overdrawn';
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION elp_pool_not_over() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE pool_id text; held numeric; bought numeric;
BEGIN
  IF TG_TABLE_NAME = 'elp_seat_pools' THEN pool_id := NEW.id; ELSE pool_id := NEW.pool; END IF;
  SELECT seats INTO bought FROM elp_seat_pools WHERE id = pool_id;
  IF bought IS NULL THEN RETURN NULL; END IF;
  SELECT count(*) INTO held FROM elp_seat_holders WHERE pool = pool_id;
  IF held > bought THEN
    RAISE EXCEPTION 'pool % would have % seats held of % purchased (unused below zero)', pool_id, held, bought
      USING ERRCODE = 'check_violation', CONSTRAINT = 'elp_pool_not_over';
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION elp_license_paid() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE aid text; charged numeric; lic_bank text; lic_used numeric; other_bank text;
BEGIN
  IF TG_TABLE_NAME = 'elp_licenses' THEN aid := NEW.activation_id; ELSE aid := NEW.license; END IF;
  SELECT bank, credits_used INTO lic_bank, lic_used FROM elp_licenses WHERE activation_id = aid;
  IF lic_bank IS NULL THEN RETURN NULL; END IF;
  SELECT COALESCE(sum(credits), 0) INTO charged FROM elp_ledger WHERE license = aid;
  IF charged IS DISTINCT FROM COALESCE(lic_used, 0) THEN
    RAISE EXCEPTION 'license % would have credits_used % but its ledger sums to %', aid, COALESCE(lic_used, 0), charged
      USING ERRCODE = 'check_violation', CONSTRAINT = 'elp_license_paid';
  END IF;
  SELECT bank INTO other_bank FROM elp_ledger WHERE license = aid AND bank <> lic_bank LIMIT 1;
  IF other_bank IS NOT NULL THEN
    RAISE EXCEPTION 'a ledger entry would charge bank % for license % of bank %', other_bank, aid, lic_bank
      USING ERRCODE = 'check_violation', CONSTRAINT = 'elp_license_paid';
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS elp_ledger_license ON elp_ledger;
CREATE CONSTRAINT TRIGGER elp_ledger_license AFTER INSERT OR UPDATE ON elp_ledger
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION elp_license_paid();
DROP TRIGGER IF EXISTS elp_licenses_paid ON elp_licenses;
CREATE CONSTRAINT TRIGGER elp_licenses_paid AFTER INSERT OR UPDATE ON elp_licenses
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION elp_license_paid();
DROP TRIGGER IF EXISTS elp_ledger_bank ON elp_ledger;
CREATE CONSTRAINT TRIGGER elp_ledger_bank AFTER INSERT OR UPDATE ON elp_ledger
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION elp_bank_not_overdrawn();
DROP TRIGGER IF EXISTS elp_banks_granted ON elp_banks;
CREATE CONSTRAINT TRIGGER elp_banks_granted AFTER INSERT OR UPDATE ON elp_banks
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION elp_bank_not_overdrawn();
DROP TRIGGER IF EXISTS elp_holders_pool ON elp_seat_holders;
CREATE CONSTRAINT TRIGGER elp_holders_pool AFTER INSERT OR UPDATE ON elp_seat_holders
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION elp_pool_not_over();
DROP TRIGGER IF EXISTS elp_pools_seats ON elp_seat_pools;
CREATE CONSTRAINT TRIGGER elp_pools_seats AFTER INSERT OR UPDATE ON elp_seat_pools
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION elp_pool_not_over();
"""

_BASE = """
CREATE TABLE IF NOT EXISTS elp_schema (
  id int PRIMARY KEY CHECK (id = 1), version int NOT NULL, tables text[] NOT NULL, migrated_on timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS elp_meta (
  id int PRIMARY KEY CHECK (id = 1), doc json NOT NULL, generation bigint NOT NULL CHECK (generation >= 0),
  epoch bigint NOT NULL, counters json NOT NULL);
CREATE TABLE IF NOT EXISTS elp_changes (
  generation bigint NOT NULL, n int NOT NULL, tbl text NOT NULL, key bigint NOT NULL, doc json,
  PRIMARY KEY (generation, n));
CREATE TABLE IF NOT EXISTS elp_kept (
  name text PRIMARY KEY, kept_on timestamptz NOT NULL DEFAULT now(), tables json NOT NULL);
"""

# Every PgStore holding a pool (its threads and connections), until closed: `close_stores` lets
# go of those on one database (a test's, before the database is dropped).
_POOLED: list["PgStore"] = []
_POOLED_LOCK = threading.Lock()


def close_stores(url: str | None = None) -> None:
    """Close every open PgStore (of database `url`, or all)."""
    with _POOLED_LOCK:
        stores = [store for store in _POOLED if url is None or store.url == url]
    for store in stores:
        store.close()


_MIGRATE_LOCK = 0x454C50  # pg_advisory_xact_lock key: one migration at a time


def sql_table(table: str) -> str:
    if not re.fullmatch(r"[a-z_]{1,40}", table):
        raise StoreError(_("table {table} is not one of ELP's").format(table=table))
    return f"elp_{table}"


def display_url(url: str) -> str:
    """The URL without its password: what messages show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://?"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = "&".join(p for p in parts.query.split("&") if p and not p.lower().startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def is_url(target: Any) -> bool:
    return isinstance(target, str) and target.split("://", 1)[0].lower() in ("postgresql", "postgres")


def _dumps(doc: Any) -> str:
    return orjson.dumps(doc).decode()


def _unreachable(where: str, exc: BaseException) -> StoreError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreError(
        _("Cannot reach the database {where}: {reason}. Check the URL given with --db or ELP_DB, and that the server "
          "is running; nothing was done.").format(where=where, reason=reason))


def _connect(url: str, **kwargs: Any) -> Any:
    import psycopg

    try:
        return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, **kwargs)
    except psycopg.Error as exc:
        raise _unreachable(display_url(url), exc) from None


def schema_state(conn: Any) -> tuple[int | None, list[str]]:
    """(version, tables) recorded in a database; (None, []) if ELP's schema is not there."""
    found = conn.execute("SELECT to_regclass('elp_schema') IS NOT NULL").fetchone()[0]
    if not found:
        return None, []
    row = conn.execute("SELECT version, tables FROM elp_schema WHERE id = 1").fetchone()
    return (row[0], list(row[1])) if row else (None, [])


def migrate_database(url: str, conn: Any = None) -> list[str]:
    """Create ELP's schema in the database, or bring it to this release's version; what was done
    (an empty list: it was current). Idempotent, one migration at a time, in one transaction."""
    own = conn is None
    if own:
        conn = _connect(url, autocommit=True)
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            version, tables = schema_state(conn)
            wanted = sorted(TABLES)
            if version == PG_SCHEMA_VERSION and set(wanted) <= set(tables):
                return []
            if version is not None and version > PG_SCHEMA_VERSION:
                raise StoreError(
                    _("The database {where} has ELP schema version {found}, newer than this ELP's ({ours}): use the ELP "
                      "release that wrote it. Nothing was changed.").format(
                        where=display_url(url), found=version, ours=PG_SCHEMA_VERSION))
            done: list[str] = []
            conn.execute(_BASE)
            for table in [*_ORDER, *(t for t in wanted if t not in _ORDER)]:
                name = sql_table(table)
                if table in tables:
                    continue
                exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
                if exists:
                    continue
                columns = ["key bigint PRIMARY KEY CHECK (key >= 1)", "doc json NOT NULL"]
                for column, expression, kind in _COLS.get(table, []):
                    sql_type, _sep, rest = kind.partition(" ")
                    columns.append(f"{column} {sql_type} GENERATED ALWAYS AS ({expression}) STORED {rest}")
                conn.execute(f"CREATE TABLE {name} ({', '.join(columns)})")  # type: ignore[arg-type]
                for t, constraint, cols in _MULTI_UNIQUE:
                    if t == table:
                        conn.execute(f"ALTER TABLE {name} ADD CONSTRAINT {constraint} UNIQUE ({cols}) DEFERRABLE INITIALLY DEFERRED")  # type: ignore[arg-type]
                for column, _expr, kind in _COLS.get(table, []):
                    if "REFERENCES" in kind:
                        conn.execute(f"CREATE INDEX IF NOT EXISTS {name}_{column}_idx ON {name} ({column})")  # type: ignore[arg-type]
                done.append(_("created table {table}").format(table=name))
            conn.execute(_TRIGGERS)
            conn.execute(
                "INSERT INTO elp_schema VALUES (1, %s, %s, now()) ON CONFLICT (id) DO UPDATE "
                "SET version = EXCLUDED.version, tables = EXCLUDED.tables, migrated_on = EXCLUDED.migrated_on",
                (PG_SCHEMA_VERSION, wanted))
            done.append(_("recorded schema version {version}").format(version=PG_SCHEMA_VERSION))
            return done
    finally:
        if own:
            conn.close()


class PgStore:
    """A store in a PostgreSQL database (see the module's docstring)."""

    def __init__(self, url: str, rules: Callable[[dict[str, Any]], list[str]] | None = None):
        self.url = url
        self.path = display_url(url)
        self.rules = rules
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self._cache_lock = threading.RLock()
        self._tables: Tables | None = None
        self._generation = -1
        self._epoch = -1
        self._meta: dict[str, Any] = {}
        self._schema_checked = False
        self._listener: threading.Thread | None = None
        self._changed = threading.Condition()
        self._heard = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"PgStore({self.path!r})"

    # -- connections ---------------------------------------------------------------------
    def _configure(self, conn: Any) -> None:
        from psycopg.types.json import set_json_dumps, set_json_loads

        set_json_loads(orjson.loads, conn)
        set_json_dumps(_dumps, conn)

    def _get_pool(self) -> Any:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    if self._closed:
                        raise StoreError(_("The database {where} was closed by this session.").format(where=self.path))
                    _connect(self.url).close()  # a wrong URL or a server down: said at once, in one line
                    from psycopg_pool import ConnectionPool

                    self._pool = ConnectionPool(
                        self.url, min_size=1, max_size=max(1, POOL_SIZE), open=True, timeout=10,
                        kwargs={"connect_timeout": CONNECT_TIMEOUT_S, "autocommit": True}, configure=self._configure,
                        name="elp")
                    with _POOLED_LOCK:
                        _POOLED.append(self)
        return self._pool

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        import psycopg

        pool = self._get_pool()
        try:
            with pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:
            if isinstance(exc, psycopg.errors.QueryCanceled):
                raise
            raise _unreachable(self.path, exc) from None
        except Exception as exc:
            from psycopg_pool import PoolTimeout

            if isinstance(exc, PoolTimeout):
                raise _unreachable(self.path, exc) from None
            raise

    def close(self) -> None:
        self._closed = True
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
                with _POOLED_LOCK:
                    if self in _POOLED:
                        _POOLED.remove(self)
        with self._changed:
            self._changed.notify_all()

    # -- the schema ----------------------------------------------------------------------
    def _check_schema(self, conn: Any) -> bool:
        """Whether ELP's schema is there, current (raises if it is of another version)."""
        if self._schema_checked:
            return True
        version, tables = schema_state(conn)
        if version is None:
            return False
        if version != PG_SCHEMA_VERSION or not set(TABLES) <= set(tables):
            raise StoreError(
                _("The database {where} has ELP schema version {found}; this ELP needs version {ours}. Run "
                  "'elp --db URL db migrate' first; nothing was done.").format(
                    where=self.path, found=version, ours=PG_SCHEMA_VERSION))
        self._schema_checked = True
        return True

    def _no_store(self) -> StoreError:
        return StoreError(
            _("No store in the database {where}. Create one with 'elp --db URL init --org NAME --admin EMAIL', or move a "
              "store there with 'elp migrate --from PATH --to URL'.").format(where=self.path))

    def exists(self) -> bool:
        with self._conn() as conn:
            if not self._check_schema(conn):
                return False
            return conn.execute("SELECT 1 FROM elp_meta WHERE id = 1").fetchone() is not None

    # -- reading ---------------------------------------------------------------------------
    def _load_all(self, conn: Any) -> tuple[Tables, int, int, dict[str, Any]]:
        """Every table as committed now, read in one snapshot."""
        from psycopg.pq import TransactionStatus

        inside = conn.info.transaction_status != TransactionStatus.IDLE  # a commit's, holding the lock
        with conn.transaction():
            if not inside:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute("SELECT doc, generation, epoch, counters FROM elp_meta WHERE id = 1").fetchone()
            if row is None:
                raise self._no_store()
            meta, generation, epoch, kept = row
            data: dict[str, dict[str, Any]] = {}
            for table in TABLES:
                rows = conn.execute(f"SELECT key, doc FROM {sql_table(table)} ORDER BY key").fetchall()  # type: ignore[arg-type]
                data[table] = {str(key): doc for key, doc in rows}
        counters = Counters.of(data)
        for table, n in (kept.get("next_key") or {}).items():
            counters.next_key[table] = max(counters.next_key.get(table, 1), int(n))
        for table, n in (kept.get("last_seq") or {}).items():
            counters.last_seq[table] = max(counters.last_seq.get(table, 0), int(n))
        return Tables(data, counters=counters, lock=self._cache_lock), generation, epoch, meta

    def _caught_up(self, conn: Any, generation: int, epoch: int) -> Tables:
        """The cached tables brought to `generation` (read from `conn`, under the cache lock)."""
        if self._tables is not None and self._generation >= generation and self._epoch == epoch:
            # Another thread of this process caught the cache up past what this one read: a state
            # at least as new serves a read (a commit, holding the lock, never sees a newer one).
            return self._tables
        if self._tables is not None and self._epoch == epoch and self._generation < generation:
            rows = conn.execute(
                "SELECT generation, tbl, key, doc FROM elp_changes WHERE generation > %s AND generation <= %s "
                "ORDER BY generation, n", (self._generation, generation)).fetchall()
            if rows and rows[0][0] == self._generation + 1 and rows[-1][0] == generation:
                changes: dict[str, dict[str, Any]] = {}
                for _generation, table, key, doc in rows:
                    changes.setdefault(table, {})[str(key)] = doc
                self._tables = self._tables.applied(changes)
                self._generation = generation
                meta = conn.execute("SELECT doc FROM elp_meta WHERE id = 1").fetchone()
                self._meta = meta[0] if meta else self._meta
                return self._tables
        tables, generation, epoch, meta = self._load_all(conn)
        self._tables, self._generation, self._epoch, self._meta = tables, generation, epoch, meta
        return tables

    def _refresh(self) -> Tables:
        return self._refresh_state()[0]

    def _refresh_state(self) -> tuple[Tables, dict[str, Any]]:
        """The committed tables, caught up, and their `_meta` document (taken together). The
        cache lock is taken only once a connection is held: a thread holding it never waits for
        the pool, whose connections may be held by commits waiting for it."""
        with self._conn() as conn:
            if not self._check_schema(conn):
                raise self._no_store()
            row = conn.execute("SELECT generation, epoch FROM elp_meta WHERE id = 1").fetchone()
            if row is None:
                raise self._no_store()
            with self._cache_lock:
                tables = self._caught_up(conn, row[0], row[1])
                return tables, self._meta_doc()

    def read(self) -> View:
        return View(self._refresh())

    @staticmethod
    def view(tables: dict[str, dict[str, Any]]) -> View:
        return View(Tables(tables))

    def _meta_doc(self, generation: int | None = None) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "generation": self._generation if generation is None else generation,
                **{k: v for k, v in self._meta.items() if k not in ("schema", "generation", "commit")}}

    def tables(self) -> dict[str, dict[str, Any]]:
        current, meta = self._refresh_state()
        data = plain(current.everything())
        return {META_TABLE: {"1": meta}, **{k: v for k, v in data.items() if k != META_TABLE}}

    def head_meta(self) -> dict[str, Any] | None:
        with self._conn() as conn:
            if not self._check_schema(conn):
                return None
            row = conn.execute("SELECT doc, generation FROM elp_meta WHERE id = 1").fetchone()
        if row is None:
            return None
        return {"schema": SCHEMA_VERSION, "generation": row[1], **{k: v for k, v in row[0].items() if k != "generation"}}

    def marker(self) -> Any:
        """The committed generation (and epoch): changes with every commit, by any process; None without a store."""
        with self._conn() as conn:
            if not self._check_schema(conn):
                return None
            row = conn.execute("SELECT generation, epoch FROM elp_meta WHERE id = 1").fetchone()
        return None if row is None else (row[1], row[0])

    # -- waiting for another commit ----------------------------------------------------
    def _listen(self) -> None:
        """A thread: LISTEN on the channel every commit notifies; wakes `wait_for_change`."""
        import psycopg

        while not self._closed:
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._changed:
                        self._heard += 1
                        self._changed.notify_all()  # (re)connected: whoever waits looks again
                    while not self._closed:
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            with self._changed:
                                self._heard += 1
                                self._changed.notify_all()
            except psycopg.Error:
                time.sleep(0.5)

    def wait_for_change(self, marker: Any, timeout: float) -> Any:
        """The current marker as soon as it differs from `marker` (by NOTIFY, from any process on
        this database), or after `timeout` seconds."""
        if self._listener is None:
            with self._pool_lock:
                if self._listener is None:
                    self._listener = threading.Thread(target=self._listen, name="elp-pg-listen", daemon=True)
                    self._listener.start()
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                heard = self._heard
            now = self.marker()
            if now != marker:
                return now
            left = deadline - time.monotonic()
            if left <= 0 or self._closed:
                return now
            with self._changed:
                if self._heard == heard:
                    self._changed.wait(min(left, 1.0))

    # -- changing ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Lock the store's row, catch up, yield a Transaction, write its changes and commit (see
        the module's docstring). A body that raises writes nothing."""
        import psycopg

        with self._conn() as conn:
            if not self._check_schema(conn):
                raise self._no_store()
            new: Tables | None = None
            saving = False  # past the body: the database is being written and asked to commit
            try:
                with conn.transaction():
                    row = conn.execute("SELECT generation, epoch, counters FROM elp_meta WHERE id = 1 FOR UPDATE").fetchone()
                    if row is None:
                        raise self._no_store()
                    generation, epoch, _counters = row
                    with self._cache_lock:
                        committed = self._caught_up(conn, generation, epoch)
                    tx = Transaction(committed)
                    yield tx
                    if not tx.dirty:
                        return
                    changes = changes_to_write(tx, self.path)
                    new = committed.applied(changes)
                    saving = True
                    self._write(conn, changes, generation + 1, new.counters)
            except (psycopg.errors.IntegrityError, psycopg.errors.RaiseException, psycopg.errors.DataError) as exc:
                raise self._refused(exc) from None
            except psycopg.OperationalError as exc:
                if not saving:
                    raise
                # The COMMIT may have reached the database before the connection went: say so.
                raise StoreError(
                    _("The connection to the database {where} was lost while this change was being saved ({reason}): "
                      "it may or may not have been saved. Look (e.g. 'elp log') before doing it again.").format(
                        where=self.path, reason=str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
                ) from None
            with self._cache_lock:
                if new is not None and self._generation == generation and self._epoch == epoch:
                    self._tables, self._generation = new, generation + 1

    def _refused(self, exc: Any) -> StoreError:
        detail = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc).splitlines()[0]
        return StoreError(
            _("The database refused the change ({reason}): it would break a rule 'elp check' verifies. Nothing was "
              "written; run 'elp check' and try again.").format(reason=detail))

    def _write(self, conn: Any, changes: dict[str, dict[str, Any]], generation: int, counters: Counters,
               meta: dict[str, Any] | None = None) -> None:
        """Write one commit's documents, log them, bump the generation and notify (inside the transaction)."""
        with conn.cursor() as cur:
            for table, docs in changes.items():
                name = sql_table(table)
                gone = [int(key) for key, doc in docs.items() if doc is None]
                if gone:
                    cur.execute(f"DELETE FROM {name} WHERE key = ANY(%s)", (gone,))  # type: ignore[arg-type]
            for table, docs in changes.items():
                name = sql_table(table)
                put = [(int(key), _dumps(doc)) for key, doc in docs.items() if doc is not None]
                if put:
                    cur.executemany(
                        f"INSERT INTO {name} (key, doc) VALUES (%s, %s::json) "  # type: ignore[arg-type]
                        "ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc", put)
            log = [(generation, n, table, int(key), None if doc is None else _dumps(doc))
                   for n, (table, key, doc) in enumerate(
                       (table, key, doc) for table, docs in changes.items() for key, doc in docs.items())]
            if log:
                cur.executemany("INSERT INTO elp_changes VALUES (%s, %s, %s, %s, %s::json)", log)
            kept = _dumps({"next_key": counters.next_key, "last_seq": counters.last_seq})
            if meta is None:
                cur.execute("UPDATE elp_meta SET generation = %s, counters = %s::json WHERE id = 1", (generation, kept))
            if generation % 1000 == 0:
                cur.execute("DELETE FROM elp_changes WHERE generation <= %s", (generation - KEEP_CHANGES,))
            cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(generation)))

    def _replace(self, conn: Any, data: dict[str, dict[str, Any]], meta: dict[str, Any], generation: int, epoch: int) -> None:
        """Make the database hold exactly `data` (inside the caller's transaction): a new epoch."""
        tables = {name: docs for name, docs in data.items() if name != META_TABLE}
        refused = [name for name in tables if name not in TABLES]
        if refused:
            raise StoreError(_("table {table} is not one of ELP's").format(table=refused[0]))
        found = written_problems(tables)
        if found:
            raise StoreError(
                _("A change was refused before it reached the store {path}: {problems}. Nothing was written.").format(
                    path=self.path, problems=listed(found)))
        counters = Counters.of(tables)
        with conn.cursor() as cur:
            for table in TABLES:
                cur.execute(f"DELETE FROM {sql_table(table)}")  # type: ignore[arg-type]
            cur.execute("DELETE FROM elp_changes")
            for table, docs in tables.items():
                rows = [(int(key), _dumps(doc)) for key, doc in docs.items()]
                if rows:
                    with cur.copy(f"COPY {sql_table(table)} (key, doc) FROM STDIN") as copy:  # type: ignore[arg-type]
                        for row in rows:
                            copy.write_row(row)
            meta_doc = {k: v for k, v in meta.items() if k not in ("schema", "generation", "commit", "tables", "used", "crc")}
            kept = _dumps({"next_key": counters.next_key, "last_seq": counters.last_seq})
            cur.execute(
                "INSERT INTO elp_meta VALUES (1, %s::json, %s, %s, %s::json) ON CONFLICT (id) DO UPDATE SET "
                "doc = EXCLUDED.doc, generation = EXCLUDED.generation, epoch = EXCLUDED.epoch, counters = EXCLUDED.counters",
                (_dumps(meta_doc), generation, epoch, kept))
            cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(generation)))

    def _forget(self) -> None:
        with self._cache_lock:
            self._tables, self._generation, self._epoch = None, -1, -1

    def create(
        self,
        tables: dict[str, dict[str, Any]] | None = None,
        *,
        overwrite: bool = False,
        meta: dict[str, Any] | None = None,
        keep_previous: str | None = None,
        keep_if: Callable[[bytes], bool] | None = None,
    ) -> str | None:
        """Create the store in the database (its schema first, if missing), in one transaction.
        Refuses a database that holds a store unless `overwrite`; then, with `keep_previous`, the
        replaced store is first kept in the database (table elp_kept) if `keep_if(its _meta as
        JSON)` says so. Returns the kept copy's name, or None."""
        import psycopg

        with self._conn() as conn:
            migrate_database(self.url, conn)
            self._schema_checked = False
            self._check_schema(conn)
            try:
                with conn.transaction():
                    row = conn.execute("SELECT doc, generation, epoch FROM elp_meta WHERE id = 1 FOR UPDATE").fetchone()
                    kept = None
                    if row is not None:
                        if not overwrite:
                            raise StoreExists(
                                _("A store already exists in the database {where}; it was left untouched.").format(
                                    where=self.path))
                        raw = orjson.dumps({META_TABLE: {"1": {"schema": SCHEMA_VERSION, **row[0]}}})
                        if keep_previous is not None and (keep_if is None or keep_if(raw)):
                            kept = self._keep(conn, keep_previous)
                    generation = (row[1] + 1) if row is not None else 1
                    epoch = (row[2] + 1) if row is not None else 1
                    self._replace(conn, dict(tables or {}), dict(meta or {}), generation, epoch)
            except psycopg.errors.IntegrityError as exc:
                raise self._refused(exc) from None
            except psycopg.errors.RaiseException as exc:
                raise self._refused(exc) from None
        self._forget()
        return kept

    def _keep(self, conn: Any, name: str) -> str:
        """Keep the store about to be replaced in table elp_kept, as one JSON document (under the lock)."""
        with self._cache_lock:
            row = conn.execute("SELECT generation, epoch FROM elp_meta WHERE id = 1").fetchone()
            current = self._caught_up(conn, row[0], row[1])
            data = plain(current.everything())
            data = {META_TABLE: {"1": self._meta_doc()}, **{k: v for k, v in data.items() if k != META_TABLE}}
        stamp = name
        n = 1
        while conn.execute("SELECT 1 FROM elp_kept WHERE name = %s", (stamp,)).fetchone() is not None:
            n += 1
            stamp = f"{name}-{n}"
        conn.execute("INSERT INTO elp_kept (name, tables) VALUES (%s, %s::json)", (stamp, _dumps(data)))
        return f"{self.path} (table elp_kept, name {stamp})"

    def replace_with(
        self, tables_for: Callable[[Any], dict[str, dict[str, Any]]], keep_previous: str | None,
    ) -> tuple[dict[str, dict[str, Any]], str | None]:
        """Make the database hold `tables_for(kept)` in one transaction; the store replaced is
        first kept in table elp_kept (`kept` names it). The generation keeps growing."""
        import psycopg

        with self._conn() as conn:
            if not self._check_schema(conn):
                migrate_database(self.url, conn)
                self._schema_checked = False
                self._check_schema(conn)
            try:
                with conn.transaction():
                    row = conn.execute("SELECT generation, epoch FROM elp_meta WHERE id = 1 FOR UPDATE").fetchone()
                    kept = None
                    if row is not None and keep_previous is not None:
                        try:
                            kept = self._keep(conn, keep_previous)
                        except StoreError:
                            kept = None
                    data = dict(tables_for(kept))
                    meta = dict((data.get(META_TABLE) or {}).get("1") or {})
                    generation = max((row[0] if row else 0) + 1, 1)
                    epoch = (row[1] + 1) if row else 1
                    self._replace(conn, data, meta, generation, epoch)
            except psycopg.errors.IntegrityError as exc:
                raise self._refused(exc) from None
            except psycopg.errors.RaiseException as exc:
                raise self._refused(exc) from None
        self._forget()
        written = {k: v for k, v in data.items() if k != META_TABLE}
        return {META_TABLE: {"1": {**meta, "schema": SCHEMA_VERSION, "generation": generation}}, **written}, kept

    # -- checking and copying ----------------------------------------------------------
    def problems(self, data: dict[str, Any], twice: list[str] | None = None) -> tuple[list[str], dict[str, Any]]:
        found, clean = problems(data, self.rules)
        return list(twice or []) + found, clean

    def inspect(self) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """For `elp check`: every problem of the documents as committed now (read afresh, not from
        the cache), and the well-formed documents."""
        with self._conn() as conn:
            if not self._check_schema(conn):
                raise self._no_store()
            tables, generation, _epoch, meta = self._load_all(conn)
        data = {META_TABLE: {"1": {"schema": SCHEMA_VERSION, "generation": generation,
                                   **{k: v for k, v in meta.items() if k != "generation"}}}, **plain(tables.data)}
        return self.problems(data)

    def backup(self, target: Path, *, overwrite: bool = False) -> dict[str, dict[str, Any]]:
        """Write the committed store as a JSON store file at `target` (what `elp restore` and
        `elp migrate` read). Only a sound store is copied."""
        target = Path(target).expanduser()
        if target.exists() and not overwrite:
            raise StoreExists(
                _("{path} already exists; it was left untouched. Choose another file, or add --force to replace it.").format(path=target))
        Store._private_backup_folder(target.parent)
        data = self.tables()
        found, _clean = self.problems(data)
        if found:
            raise StoreDamaged(
                _("The store {path} is damaged: {problems}. It was not copied: run 'elp check' to list every problem.").format(
                    path=self.path, problems=listed(found)), found)
        meta = {k: v for k, v in data[META_TABLE]["1"].items() if k not in ("schema", "generation", "commit")}
        tables = {k: v for k, v in data.items() if k != META_TABLE}
        try:
            Store(target).create(tables, overwrite=True, meta=meta)
        except StoreExists:
            raise
        written = Store(target).tables()
        return written

    def compact(self) -> None:
        """Nothing to fold: PostgreSQL keeps its own files."""


def open_store(target: Any, rules: Callable[[dict[str, Any]], list[str]] | None = None) -> Any:
    """A store for `target`: a postgresql:// (or postgres://) URL -> PgStore; a path -> the JSON Store."""
    if is_url(target):
        return PgStore(str(target), rules)
    return Store(target, rules)


__all__ = ["PgStore", "open_store", "migrate_database", "display_url", "is_url", "PG_SCHEMA_VERSION"]
