"""The PostgreSQL backend (elp_tui/store/pg.py) on a real PostgreSQL started by the tests
(tests/pg_server.py; skipped, saying why, where the machine has none): the store seam's
semantics, the rules the database itself enforces, `elp db migrate`, `elp migrate` both ways,
backup and restore, and real processes racing for the last credit or seat, or killed
mid-transaction. The portal's rule tests also run on this backend (conftest.BOTH_BACKENDS)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elp_tui.portal import Portal, fixed_clock
from elp_tui.store import StoreError, open_store
from tests.conftest import ADMIN, TODAY
from tests.helpers import grant_bank, grant_seats, store_args, store_tables
from tests.keyfiles import pub_line

ROOT = Path(__file__).resolve().parents[1]
PROCS = Path(__file__).resolve().parent / "procs"
ANA = "ana@lf.io"
BOB = "bob@lf.io"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes")


def env(**more: str) -> dict[str, str]:
    out = {**os.environ, "ELP_TODAY": TODAY.isoformat(),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **more}
    for name in ("ELP_DB", "ELP_STORE", "ELP_USER"):
        if name not in more:
            out.pop(name, None)
    return out


def elp(*argv: str, **more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elp_tui", *argv], cwd=ROOT, env=env(**more),
                          capture_output=True, text=True, timeout=120)


def fresh(target) -> Portal:
    """The store as yet another session reads it (nothing cached)."""
    return Portal(open_store(target), fixed_clock(TODAY))


def member(portal: Portal, email: str) -> None:
    portal.invite(ADMIN, email)
    portal.sign_in(email)


def sql(url: str, statement: str, *params) -> list:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params or None)
        return cur.fetchall() if cur.description else []


# -- the seam -------------------------------------------------------------------------------
def test_a_commit_is_seen_by_another_store_and_a_body_that_raises_writes_nothing(portal, store_target):
    other = open_store(store_target)
    before = other.marker()
    old_view = other.read()
    with portal.store.transaction() as db:
        db.insert("products", {"name": "Brand New", "kind": "credits", "builds": []})
    assert other.marker() != before  # another store on the database notices the commit
    assert other.read().get("products", name="Brand New") is not None
    assert old_view.get("products", name="Brand New") is None  # a view handed out earlier never changes

    marker = other.marker()
    with pytest.raises(RuntimeError):
        with portal.store.transaction() as db:
            db.insert("products", {"name": "Never", "kind": "credits", "builds": []})
            db.remove("products", name="Brand New")
            raise RuntimeError("the body changed its mind")
    assert other.marker() == marker
    assert other.read().get("products", name="Never") is None
    assert other.read().get("products", name="Brand New") is not None
    assert fresh(store_target).check() == []


def test_one_store_shared_by_threads_commits_every_change_once(portal, store_target):
    """The server and the app call one store from many threads: more threads than the pool has
    connections, committing and reading whole tables at once, lose nothing and overdraw nothing."""
    import threading

    from elp_tui.portal import RuleViolation, StaleQuote

    bank = grant_bank(portal, product="Quillstone Animate", credits=30, start="2026-11-01", expires_on="2027-05-01")
    shared = Portal(open_store(store_target), fixed_clock(TODAY))
    made: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _n in range(4):
                shared.store.tables()  # a whole read between commits
                while True:
                    try:
                        quote = shared.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1,
                                                      start=TODAY, email=ADMIN)
                        made.extend(row["activation_id"] for row in shared.generate(ADMIN, quote))
                        break
                    except StaleQuote as exc:
                        if exc.fresh is None and "short" in str(exc):
                            refused.append(str(exc))
                            break  # the credits went meanwhile
                    except RuleViolation as exc:  # no credits left: said, nothing written
                        refused.append(str(exc))
                        break
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors and not any(thread.is_alive() for thread in threads), errors
    assert len(made) == len(set(made)) == 30  # every credit spent once
    assert len(refused) == 48 - 30 and all("short" in reason for reason in refused), refused
    after = fresh(store_target)
    assert after.check() == []
    row = next(b for b in after.list_banks(ADMIN) if b["id"] == bank["id"])
    assert row["used"] == len(made)
    shared.store.close()


@pytest.mark.parametrize("backend", ["json", "pg"], indirect=True)
def test_wait_for_change_returns_on_a_commit_made_by_another_process(portal, store_target):
    marker = portal.store.marker()
    assert portal.store.wait_for_change(marker, 0.2) == marker  # nothing committed: the same marker back
    proc = subprocess.Popen([sys.executable, "-m", "elp_tui", *store_args(store_target), "--as", ADMIN, "users",
                             "invite", ANA], cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    changed = portal.store.wait_for_change(marker, 120)
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert changed != marker
    assert portal.store.read().get("users", email=ANA) is not None


def test_a_wrong_url_or_an_empty_database_is_one_clear_line(pg_url, pg_server):
    from tests.smtp_server import free_port

    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    done = elp("--db", nowhere, "--as", ADMIN, "banks", "list")
    assert done.returncode == 1
    assert done.stderr.startswith("elp: Cannot reach the database postgresql://postgres@127.0.0.1:"), done.stderr
    assert "Traceback" not in done.stderr
    done = elp("--db", pg_url, "--as", ADMIN, "banks", "list")
    assert done.returncode == 1
    assert "No store in the database" in done.stderr and "Traceback" not in done.stderr, done.stderr
    done = elp("--db", "/tmp/not-a-url.json", "check")
    assert done.returncode == 1 and "--db takes a PostgreSQL URL" in done.stderr


def test_a_password_never_shows_in_a_message():
    from elp_tui.store.pg import display_url

    assert display_url("postgresql://elp:s3cret@db.example:5432/elp?sslmode=require&password=x") == \
        "postgresql://elp@db.example:5432/elp?sslmode=require"


# -- the schema: `elp db migrate`, and rules the database refuses to break ------------------
def test_db_migrate_creates_the_schema_says_what_it_did_and_records_its_version(pg_url):
    from elp_tui.store.pg import PG_SCHEMA_VERSION

    done = elp("--db", pg_url, "db", "migrate")
    assert done.returncode == 0, done.stderr
    assert "created table elp_licenses" in done.stdout
    assert f"now has ELP schema version {PG_SCHEMA_VERSION}" in done.stdout
    assert sql(pg_url, "SELECT version FROM elp_schema") == [(PG_SCHEMA_VERSION,)]
    again = elp("--db", pg_url, "db", "migrate")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    on_a_file = elp("--store", "/tmp/x.json", "db", "migrate")
    assert on_a_file.returncode == 1 and "is for a PostgreSQL database" in on_a_file.stderr


def test_a_database_of_another_schema_version_is_refused_until_migrated(portal, store_target):
    sql(store_target, "UPDATE elp_schema SET version = 0")
    done = elp("--db", store_target, "--as", ADMIN, "banks", "list")
    assert done.returncode == 1 and "Run 'elp --db URL db migrate' first" in done.stderr, done.stderr
    assert elp("--db", store_target, "db", "migrate").returncode == 0
    assert elp("--db", store_target, "--as", ADMIN, "banks", "list").returncode == 0


# Rows written by hand (psql, another program) that `elp check` would report: the database refuses them.
HAND_MADE = {
    "a second license with the same activation ID":
        "INSERT INTO elp_licenses (key, doc) SELECT 9999, doc FROM elp_licenses LIMIT 1",
    "an email in capitals":
        """INSERT INTO elp_users (key, doc) VALUES (9999, '{"email": "ANA@LF.IO", "organization": null}')""",
    "a second user with the same email":
        "INSERT INTO elp_users (key, doc) SELECT 9999, doc FROM elp_users LIMIT 1",
    "a license of a bank that does not exist":
        """UPDATE elp_licenses SET doc = json_build_object('activation_id', 'X-1', 'organization',
           doc->>'organization', 'bank', 'BK-9999', 'computers', 1, 'start', '2026-11-23', 'expires_on', '2026-12-23')""",
    "a ledger entry that overdraws its bank":
        """INSERT INTO elp_ledger (key, doc) SELECT 9999, json_build_object('id', 9999, 'bank', doc->>'bank',
           'license', doc->>'license', 'credits', 1000) FROM elp_ledger LIMIT 1""",
    "a bank granted fewer credits than its ledger used":
        """UPDATE elp_banks SET doc = json_build_object('id', doc->>'id', 'organization', doc->>'organization',
           'credits_granted', 0, 'credits_requested', 1, 'start', doc->>'start', 'expires_on', doc->>'expires_on')""",
    "a seat holder past the pool's seats":
        """INSERT INTO elp_seat_holders (key, doc) SELECT 9000 + n, json_build_object('pool', p.doc->>'id',
           'email', 'x' || n || '@lf.io', 'since', '2026-11-23') FROM elp_seat_pools p, generate_series(1, 5) n""",
    "a negative number of seats":
        """UPDATE elp_seat_pools SET doc = json_build_object('id', doc->>'id', 'organization', doc->>'organization',
           'product', doc->>'product', 'seats', -1)""",
    "a license that ends before it starts":
        """UPDATE elp_licenses SET doc = json_build_object('activation_id', doc->>'activation_id', 'organization',
           doc->>'organization', 'bank', doc->>'bank', 'computers', 1, 'start', '2027-01-01', 'expires_on', '2026-01-01')""",
    "a license whose credits_used is not what its ledger charged":
        """UPDATE elp_licenses SET doc = (doc::jsonb || '{"credits_used": 7}')::json""",
    "a vendor's staff member inside an organization":
        """UPDATE elp_users SET doc = (doc::jsonb || '{"role": "vendor"}')::json WHERE organization IS NOT NULL""",
    "two teams of one organization with the same name":
        """INSERT INTO elp_teams (key, doc) SELECT 9999, (doc::jsonb || json_build_object('id', 'T-X',
           'name', upper(doc->>'name'))::jsonb)::json FROM elp_teams LIMIT 1""",
    "a second token with the same hash":
        "INSERT INTO elp_tokens (key, doc) SELECT 9999, (doc::jsonb || '{\"id\": \"tok-9999\"}')::json FROM elp_tokens LIMIT 1",
    "a token kept in clear instead of its hash":
        """UPDATE elp_tokens SET doc = (doc::jsonb || '{"hash": "elp_ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"}')::json""",
    "a second SSH key with the same fingerprint":
        "INSERT INTO elp_ssh_keys (key, doc) SELECT 9999, doc FROM elp_ssh_keys LIMIT 1",
    "a second activity entry with the same number":
        "INSERT INTO elp_activity (key, doc) SELECT 99999, doc FROM elp_activity LIMIT 1",
}


@pytest.mark.parametrize("what", sorted(HAND_MADE))
def test_the_database_refuses_a_hand_made_row_that_breaks_a_rule(portal, store_target, what):
    import psycopg

    bank = grant_bank(portal, product="Quillstone Animate", credits=10, start="2026-11-01", expires_on="2027-05-01")
    member(portal, ANA)
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=1, quantity=1, start=TODAY, email=ANA)
    portal.generate(ADMIN, quote)
    grant_seats(portal, "Race Seats", 2)
    portal.create_team(ADMIN, "Racers", "Race Seats")
    portal.create_token(ADMIN, "ci")
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    before = store_tables(store_target)
    with pytest.raises(psycopg.errors.IntegrityError):  # a constraint refuses it, not a typo in the SQL
        sql(store_target, HAND_MADE[what])
    assert store_tables(store_target) == before
    assert fresh(store_target).check() == []


def test_a_commit_the_database_refuses_writes_nothing_and_says_why(portal, store_target):
    bank = grant_bank(portal, product="Quillstone Animate", credits=1, start="2026-11-01", expires_on="2027-05-01")
    before = store_tables(store_target)
    with pytest.raises(StoreError) as refused:
        with portal.store.transaction() as db:  # around the portal's rules: a ledger entry the bank cannot pay
            db.insert("ledger", {"id": db.next_seq("ledger"), "bank": bank["id"], "license": "NOPE", "credits": 5,
                                 "reason": "generate", "actor": ADMIN, "on": "2026-11-23"})
    assert "The database refused the change" in str(refused.value)
    assert "Nothing was written" in str(refused.value)
    assert store_tables(store_target) == before
    member(portal, ANA)  # and the store goes on: the next commit takes the next numbers, gapless
    assert fresh(store_target).check() == []


# -- moving a store: elp migrate, backup, restore --------------------------------------------
def test_migrate_moves_a_whole_store_both_ways_checked_on_both_sides(pg_url, tmp_path):
    source = tmp_path / "a" / "elp.json"
    assert elp("--store", str(source), "demo", "--no-open").returncode == 0
    done = elp("migrate", "--from", str(source), "--to", pg_url)
    assert done.returncode == 0, done.stderr
    assert "'elp check' passes on both" in done.stdout
    assert elp("--db", pg_url, "check").returncode == 0
    back = tmp_path / "b" / "elp.json"
    done = elp("migrate", "--from", pg_url, "--to", str(back))
    assert done.returncode == 0, done.stderr
    assert elp("--store", str(back), "check").returncode == 0
    strip = lambda tables: {k: v for k, v in tables.items() if k != "_meta" and v}  # noqa: E731
    assert strip(store_tables(back)) == strip(store_tables(source)) == strip(store_tables(pg_url))
    assert store_tables(pg_url)["_meta"]["1"].get("demo") is True  # the demo mark moved too

    # A target that holds a store is refused, untouched; --force replaces it and keeps the old one.
    generation = store_tables(pg_url)["_meta"]["1"]["generation"]
    refused = elp("migrate", "--from", str(back), "--to", pg_url)
    assert refused.returncode == 1 and "already holds a store" in refused.stderr, refused.stderr
    assert store_tables(pg_url)["_meta"]["1"]["generation"] == generation
    forced = elp("migrate", "--from", str(back), "--to", pg_url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "kept as" in forced.stdout and sql(pg_url, "SELECT count(*) FROM elp_kept") == [(1,)]


def test_migrate_refuses_a_source_that_fails_check_and_writes_nothing(pg_url, tmp_path):
    source = tmp_path / "a" / "elp.json"
    assert elp("--store", str(source), "demo", "--no-open").returncode == 0
    tables = store_tables(source)
    bank = next(iter(tables["banks"].values()))
    portal = Portal(open_store(source), fixed_clock(TODAY))
    with portal.store.transaction() as db:  # drift a checked rule (not the file's structure)
        db.update("banks", {"credits_granted": 0}, id=bank["id"])
    done = elp("migrate", "--from", str(source), "--to", pg_url)
    assert done.returncode == 1 and "problem(s)" in done.stderr and "nothing was moved" in done.stderr, done.stderr
    assert open_store(pg_url).exists() is False


def test_backup_from_postgresql_and_restore_into_it(portal, store_target, tmp_path):
    backup = tmp_path / "backups" / "elp.json"
    done = elp("--db", store_target, "--as", ADMIN, "backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert elp("--store", str(backup), "check").returncode == 0
    member(portal, ANA)  # a change after the backup
    assert fresh(store_target).store.read().get("users", email=ANA) is not None
    done = elp("--db", store_target, "--as", ADMIN, "restore", str(backup), "--yes")
    assert done.returncode == 0, done.stderr
    assert "is kept as" in done.stdout and "elp_kept" in done.stdout, done.stdout
    after = fresh(store_target)
    assert after.store.read().get("users", email=ANA) is None  # the backup's state is back
    assert after.check() == []
    assert portal.store.read().get("users", email=ANA) is None  # an open session sees the restore too


# -- real processes on one database ------------------------------------------------------------
def generate_args(bank_id: str, email: str) -> list[str]:
    return ["licenses", "generate", "--bank", bank_id, "--type", "node-lock", "--months", "1",
            "--quantity", "1", "--start", TODAY.isoformat(), "--email", email, "--yes"]


def race(tmp_path: Path, url: str, tag: str, commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """One `elp --db URL` process per argv, each stopped between its quote and its commit
    (procs/cli_racer.py); once every one has quoted, they are released together."""
    go = tmp_path / f"go-{tag}"
    racers = []
    for number, argv in enumerate(commands):
        ready = tmp_path / f"ready-{tag}-{number}"
        proc = subprocess.Popen([sys.executable, str(PROCS / "cli_racer.py"), str(ready), str(go), "--db", url,
                                 "--as", ADMIN, *argv], cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        racers.append((proc, ready))
    deadline = time.monotonic() + 60
    while not all(ready.exists() for _proc, ready in racers):
        if any(proc.poll() is not None for proc, _ready in racers) or time.monotonic() > deadline:
            for proc, _ready in racers:
                proc.kill()
            raise AssertionError(f"a racer never got to its commit: {[p.communicate() for p, _r in racers]}")
        time.sleep(0.005)
    go.touch()
    results = []
    for proc, _ready in racers:
        out, err = proc.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def one_winner(results: list[subprocess.CompletedProcess]) -> subprocess.CompletedProcess:
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 1], [(r.returncode, r.stderr) for r in results]
    loser = next(r for r in results if r.returncode != 0)
    assert loser.stderr.startswith("elp: ") and "Traceback" not in loser.stderr, loser.stderr
    return loser


def test_two_processes_racing_for_the_last_credit_on_one_database(portal, store_target, tmp_path):
    member(portal, ANA)
    member(portal, BOB)
    for round_ in range(2):
        bank = grant_bank(portal, product="Quillstone Animate", credits=1, start="2026-11-01", expires_on="2027-05-01")
        results = race(tmp_path, store_target, f"credit{round_}",
                       [generate_args(bank["id"], ANA), generate_args(bank["id"], BOB)])
        loser = one_winner(results)
        assert "0 credits left" in loser.stderr and "1 short" in loser.stderr, loser.stderr
        after = fresh(store_target)
        assert after.check() == []
        row = next(b for b in after.list_banks(ADMIN) if b["id"] == bank["id"])
        assert (row["used"], row["remaining"]) == (1, 0)
    checked = elp("--db", store_target, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_two_processes_racing_for_the_last_seat_on_one_database(portal, store_target, tmp_path):
    grant_seats(portal, "Race Seats", 1)
    portal.create_team(ADMIN, "Racers", "Race Seats")
    results = race(tmp_path, store_target, "seat", [["teams", "add", "Racers", "a@lf.io", "--yes"],
                                                    ["teams", "add", "Racers", "b@lf.io", "--yes"]])
    loser = one_winner(results)
    assert "No unused seat left in the Race Seats pool" in loser.stderr, loser.stderr
    after = fresh(store_target)
    assert after.check() == []
    [pool] = [p for p in after.seats_overview(ADMIN) if p["product"] == "Race Seats"]
    assert (pool["purchased"], pool["unused"]) == (1, 0)


def spawn(script: str, *args: object) -> subprocess.Popen:
    environment = env()
    environment.pop("ELP_TODAY", None)
    return subprocess.Popen([sys.executable, str(PROCS / script), *map(str, args)], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_processes_on_one_database_lose_nothing_and_overdraw_nothing(portal, store_target, tmp_path):
    bank = grant_bank(portal, product="Quillstone Animate", credits=40, start="2026-11-01", expires_on="2027-05-01")
    go = tmp_path / "go"
    workers = [spawn("generate_worker.py", store_target, bank["id"], ADMIN, TODAY, 20, go) for _ in range(3)]
    for w in workers:
        assert w.stdout.readline().strip() == "ready"
    go.touch()
    created: list[str] = []
    refused = 0
    for w in workers:
        out, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        created += result["created"]
        refused += result["refused"]
    assert len(created) == len(set(created)) == 40  # every credit spent once, none twice
    assert refused == 60 - 40
    after = fresh(store_target)
    assert after.check() == []
    assert {lic["activation_id"] for lic in after.list_licenses(ADMIN)} >= set(created)
    ledger = store_tables(store_target)["ledger"]
    assert sorted(e["id"] for e in ledger.values()) == list(range(1, len(ledger) + 1))  # gapless numbers


def test_a_process_killed_mid_transaction_loses_nothing_acknowledged(portal, store_target):
    """SIGKILL a writer at random moments, again and again: every commit it saw succeed is
    there, the store passes check; and a process killed holding the commit lock, its rows
    written but not committed, leaves nothing of them and does not block the next commit."""
    bank = grant_bank(portal, product="Quillstone Animate", credits=1_000_000, start="2026-11-01", expires_on="2036-11-01")
    rnd = random.Random(20261127)
    reported = 0
    for kill in range(6):
        writer = spawn("writer.py", store_target, bank["id"], ADMIN, TODAY)
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        time.sleep(rnd.uniform(0.05, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        successes = [line for line in writer.stdout.read().splitlines(keepends=True) if line.endswith("\n")]
        writer.stdout.close()
        writer.stderr.close()
        data = store_tables(store_target)
        licenses = {d["activation_id"]: d for d in data["licenses"].values()}
        emails = {d["email"] for d in data["users"].values()}
        for line in successes:
            kind, key, *rest = line.split()
            if kind == "license":
                assert key in licenses, f"reported license {key} lost after kill {kill}"
            elif kind == "user":
                assert key in emails, f"reported invitation of {key} lost after kill {kill}"
            else:
                assert licenses[key]["expires_on"] >= rest[0], f"reported renewal of {key} lost after kill {kill}"
        reported += len(successes)
        assert fresh(store_target).check() == [], f"after kill {kill}"
    assert reported > 0  # the writer did commit between kills

    holder = spawn("pg_lock_holder.py", store_target, "held@lf.io")  # killed with its commit's rows written
    assert holder.stdout.readline().strip() == "inside", holder.stderr.read()
    before = store_tables(store_target)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    holder.stdout.close()
    holder.stderr.close()
    member(portal, ANA)  # the lock went with the killed process: this commit goes through
    after = store_tables(store_target)
    assert "held@lf.io" not in {d["email"] for d in after["users"].values()}
    assert after["_meta"]["1"]["generation"] == before["_meta"]["1"]["generation"] + 2  # the invitation, the sign-in
    assert fresh(store_target).check() == []


# -- the app on a database -------------------------------------------------------------------
async def test_the_app_on_a_database_shows_another_process_s_commit_by_itself(portal, store_target, tmp_path):
    from elp_tui.app import make_app
    from elp_tui.screens.licenses import LicensesPage
    from tests.helpers import until

    bank = grant_bank(portal, product="Quillstone Animate", credits=100, start="2026-11-01", expires_on="2027-05-01")
    member(portal, ANA)
    app = make_app(store_target, ADMIN, clock=TODAY, settings_file=tmp_path / "settings.json")  # the URL, as `elp --db` passes it
    async with app.run_test(size=(120, 36)) as pilot:
        number = [p.PAGE_ID for p in app.allowed_pages()].index("licenses") + 1
        await pilot.press(str(number))
        page = app.screen.query_one(LicensesPage)
        await until(pilot, lambda: page._fetched and page.display and page.table.has_focus, "licenses loaded")
        assert page.table.total_count == 0
        done = elp("--db", store_target, "--as", ADMIN, *generate_args(bank["id"], ANA))
        assert done.returncode == 0, done.stderr
        await until(pilot, lambda: page.table.total_count == 1, "the other process's license, no key pressed")
    app.portal.store.close()


def test_postgresql_killed_mid_commit_keeps_every_acknowledged_commit(tmp_path):
    """The database server itself SIGKILLed (every PostgreSQL process) while a writer commits:
    once it is started again on the same files, every commit the writer saw acknowledged is there
    and the store passes check. A server of its own, so no other test sees the crash."""
    import tempfile

    from tests.pg_server import Postgres

    folder = Path(tempfile.mkdtemp(prefix="elp-pg-crash-"))
    server = Postgres(folder)
    server.start()
    try:
        url = server.fresh_database()
        seed = Portal(open_store(url), fixed_clock(TODAY))
        seed.init_organization("Lumenfox Studios", ADMIN)
        seed.setup_vendor("Quillstone", "enterprise@quillstone.example.com", "desk@quillstone.example.com")
        bank = grant_bank(seed, product="Quillstone Animate", credits=1_000_000, start="2026-11-01", expires_on="2036-11-01")
        seed.store.close()
        writer = spawn("writer.py", url, bank["id"], ADMIN, TODAY)
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        reported = []
        while len(reported) < 20:  # let it commit a while
            line = writer.stdout.readline()
            assert line.endswith("\n"), writer.stderr.read()
            reported.append(line)
        server.kill()
        writer.wait(timeout=60)  # it cannot go on without its database
        reported += [line for line in writer.stdout.read().splitlines(keepends=True) if line.endswith("\n")]
        writer.stdout.close()
        writer.stderr.close()
        server.start()  # crash recovery from PostgreSQL's write-ahead log
        url = server.url(url.rsplit("/", 1)[1])
        data = store_tables(url)
        licenses = {d["activation_id"]: d for d in data["licenses"].values()}
        emails = {d["email"] for d in data["users"].values()}
        for line in reported:
            kind, key, *rest = line.split()
            if kind == "license":
                assert key in licenses, f"acknowledged license {key} lost in the crash"
            elif kind == "user":
                assert key in emails, f"acknowledged invitation of {key} lost in the crash"
            else:
                assert licenses[key]["expires_on"] >= rest[0], f"acknowledged renewal of {key} lost in the crash"
        assert fresh(url).check() == []
    finally:
        from elp_tui.store.pg import close_stores

        close_stores()
        server.stop()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def test_demo_on_a_database_and_a_real_store_kept_before_a_demo_replaces_it(pg_url):
    done = elp("--db", pg_url, "demo", "--no-open")
    assert done.returncode == 0, done.stderr
    assert f"elp --db {pg_url} --as" in done.stdout  # how to sign in, on the database
    assert elp("--db", pg_url, "check").returncode == 0
    again = elp("--db", pg_url, "demo", "--no-open")
    assert again.returncode == 1 and "pass --force" in again.stderr, again.stderr
    assert elp("--db", pg_url, "demo", "--no-open", "--force").returncode == 0  # a demo replaces a demo freely
    assert sql(pg_url, "SELECT count(*) FROM elp_kept") == [(0,)]
    sql(pg_url, """UPDATE elp_meta SET doc = (doc::jsonb - 'demo')::json""")  # now a real store (today: the calendar's)
    done = elp("--db", pg_url, "demo", "--no-open", "--force", ELP_TODAY="")
    assert done.returncode == 0, done.stderr
    assert "kept as" in done.stdout and "elp_kept" in done.stdout, done.stdout
    assert sql(pg_url, "SELECT count(*) FROM elp_kept") == [(1,)]  # kept before the demo replaced it


def test_sign_in_by_ssh_key_serves_a_database_as_it_serves_a_file(portal, store_target, capsys, monkeypatch):
    """sshd's AuthorizedKeysCommand on a database names it with --db in the forced command, and
    the session it forces runs the member's command on that database."""
    from elp_tui.cli import main
    from tests.keyfiles import fingerprint, key_parts, pub_line

    member(portal, ANA)
    portal.add_key(ADMIN, ANA, pub_line("ana"))
    for name in ("ELP_USER", "ELP_STORE", "ELP_DB", "ELP_TODAY", "ELP_CONFIG", "ELP_SERVER", "ELP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code = main(["--db", store_target, "ssh", "authorized-keys", "elp", *key_parts("ana")])
    out = capsys.readouterr().out
    assert code == 0 and f"--db {store_target} ssh session --key {fingerprint('ana')}" in out, out
    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", "keys list")
    code = main(["--db", store_target, "ssh", "session", "--key", fingerprint("ana")])
    out, err = capsys.readouterr()
    assert code == 0 and fingerprint("ana") in out, out + err
