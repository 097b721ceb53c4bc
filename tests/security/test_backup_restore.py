"""Backups and restores as docs/operations.md describes them, through the real ``beian`` command.

- ``beian backup`` while the service writes: SQLite's online backup API (the database in WAL mode) and, on the
  PostgreSQL pass, ``pg_dump -Fc``; the copy is a valid database, its audit chain verifies, and it holds every
  order committed before the backup started.
- ``beian export`` restored into an empty database with ``beian migrate`` + ``beian import`` (a fresh SQLite
  file; on the PostgreSQL pass a fresh PostgreSQL database too): the same export, byte for byte, and the same
  subjects, websites and domains, row by row.
  On the PostgreSQL pass the fresh SQLite file is restored from a PostgreSQL export: the format crosses backends.
- On the PostgreSQL pass, ``pg_restore`` of the dump into an empty database: the same export, registry, change
  feed, audit chain and orders.

The writer and the commands run as separate processes, each with its own BEIAN_HOME and BEIAN_DATABASE_URL. A
scratch PostgreSQL database is named after this run's own: with ``BEIAN_DATABASE_URL=…/backup_e`` it is
``backup_e2``; it is created empty and dropped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from beian.audit.services import audit_verify
from beian.cli import main
from beian.orders import services
from beian.orders.choices import OPEN_STATES, State
from beian.orders.models import Order
from beian.orders.workflow import Action, move
from beian.registry import bulk
from tests import factories as f
from tests.bulk.conftest import registry_dump, write_synth
from tests.gate.processes import PYTHON, REPO, DemoDatabase, base_env

pytestmark = pytest.mark.django_db(transaction=True)

DJANGO = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
import django
django.setup()
"""

# Service-layer writes in a loop until the stop file appears: each line printed is an order committed approved.
WRITER = (
    DJANGO
    + """
import time
from pathlib import Path
from argon2 import PasswordHasher
from beian.accounts.services import user_create
from beian.orders import verification
verification.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # cheap, as the suite's
from beian.orders import services
from beian.orders.workflow import Action, move
from tests import factories as f
from django.db import connection

stop, tag = Path(sys.argv[1]), sys.argv[2]
if connection.vendor == "sqlite":  # keep the commits in the -wal file, as a busy server or a long reader does
    connection.cursor().execute("PRAGMA wal_autocheckpoint=0")
def account(role, province=""):
    return user_create(username=f"{tag}-{role}", password=None, role=role, province=province, email=f"{tag}-{role}@example.cn")
owner, provider, bureau = account("applicant"), account("provider_reviewer"), account("bureau_reviewer", "11")
deadline = time.monotonic() + 60
i = 0
while not stop.exists() and time.monotonic() < deadline:
    i += 1
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain=f"{tag}{i}.cn", n=700000 + i))
    move(move(order, Action.PROVIDER_APPROVE, actor=provider), Action.BUREAU_APPROVE, actor=bureau)
    print(order.pk, flush=True)
"""
)

# One process looks at a restored database the way an operator would: `beian audit verify`, `beian export`
# (the command's own entry point), then the registry row by row (tests/bulk's canonical dump) after checking
# that the change feed replays to the served set. One Django start instead of three.
EXAMINE = (
    DJANGO
    + """
import contextlib, io
from beian.cli import main
from tests.bulk.conftest import registry_dump
from tests.factories import assert_consistent
verify = io.StringIO()
with contextlib.redirect_stdout(verify), contextlib.redirect_stderr(verify):
    status = main(["audit", "verify"])
assert status == 0, verify.getvalue()
assert main(["export", "--output", sys.argv[1], "--quiet"]) == 0
assert_consistent()
full = sys.argv[2] == "full"
rows = registry_dump(feed=full, audit=full)
print(json.dumps({"verify": verify.getvalue(), "rows": rows}, ensure_ascii=False, default=str))
"""
)


# --- databases -------------------------------------------------------------------------------------------------
def _pg_url() -> str | None:
    url = os.environ.get("BEIAN_DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _pg_database(name: str) -> str:
    return urlunsplit(urlsplit(_pg_url())._replace(path="/" + name))


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_url(), autocommit=True) as conn:
        conn.execute(sql)


def _database(home: Path, url: str) -> DemoDatabase:
    home.mkdir(parents=True, exist_ok=True)
    return DemoDatabase(
        home=home, url=url, env={**base_env(), "BEIAN_HOME": str(home), "BEIAN_DATABASE_URL": url}
    )


def _sqlite_copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    """An empty SQLite database made by ``beian migrate`` once for the module (copied for each test)."""
    home = tmp_path_factory.mktemp("migrated")
    _database(home, f"sqlite:///{home / 'beian.sqlite3'}").beian("migrate")
    return home / "beian.sqlite3"


@pytest.fixture
def fresh_sqlite(migrated_sqlite, tmp_path):
    """``make(label)``: an empty SQLite database with the schema, in its own BEIAN_HOME."""

    def make(label: str) -> DemoDatabase:
        db = _database(tmp_path / label, f"sqlite:///{tmp_path / label / 'beian.sqlite3'}")
        _sqlite_copy(migrated_sqlite, db.home / "beian.sqlite3")
        return db

    return make


def query(db: DemoDatabase, sql: str) -> list[tuple]:
    """Rows read straight from ``db`` (no Django process to start)."""
    if db.vendor == "sqlite":
        with contextlib.closing(sqlite3.connect(db.url.removeprefix("sqlite:///"))) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(db.url) as conn:
        return conn.execute(sql).fetchall()


def this_database(tmp_path: Path) -> DemoDatabase:
    """The database this test process writes to (PostgreSQL only: SQLite's test database is in memory)."""
    return _database(tmp_path / "source-home", _pg_database(connection.settings_dict["NAME"]))


@pytest.fixture
def scratch_pg(tmp_path):
    """An empty PostgreSQL database (``<this run's database>2``), dropped at the end."""
    name = urlsplit(_pg_url()).path.lstrip("/") + "2"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield _database(tmp_path / "scratch-home", _pg_database(name))
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_restore(dump: Path, target: DemoDatabase) -> None:
    done = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", "-d", target.url, str(dump)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def beian_status(db: DemoDatabase, *args: str) -> subprocess.CompletedProcess:
    """``beian ARGS`` against ``db`` whatever its exit status."""
    return subprocess.run(
        [PYTHON, "-m", "beian", *args], env=db.env, cwd=REPO, capture_output=True, text=True, timeout=60
    )


@dataclass
class Restored:
    audit_entries: int  # what `beian audit verify` checked (it passed)
    export: bytes  # what `beian export` wrote
    rows: dict  # registry_dump() as JSON


def examine(db: DemoDatabase, workdir: Path, *, full: bool = False) -> Restored:
    path = workdir / f"export-{len(list(workdir.glob('export-*')))}.jsonl"
    seen = json.loads(db.python(EXAMINE, str(path), "full" if full else "registry"))
    assert "audit chain intact" in seen["verify"], seen["verify"]
    return Restored(int(seen["verify"].rsplit(":", 1)[1].split()[0]), path.read_bytes(), seen["rows"])


def rows_here(*, full: bool = False) -> dict:
    """This process's registry_dump in the JSON form a subprocess prints."""
    return json.loads(json.dumps(registry_dump(feed=full, audit=full), ensure_ascii=False, default=str))


def assert_private(path: Path) -> None:
    """Owner-only, whatever the umask: a backup holds personal data and filing-password hashes."""
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, oct(mode)


# --- a writer: the service layer committing orders in another process ------------------------------------------
class Writer:
    def __init__(self, db: DemoDatabase, workdir: Path, tag: str) -> None:
        self.stop_file = workdir / f"{tag}.stop"
        self.log = (workdir / f"{tag}.log").open("w")
        self.proc = subprocess.Popen(
            [PYTHON, "-c", WRITER, str(self.stop_file), tag],
            env=db.env, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )  # fmt: skip
        self.committed: list[int] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.committed.append(int(line))

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed) < count:
            assert self.proc.poll() is None, f"the writer died:\n{Path(self.log.name).read_text()}"
            assert time.monotonic() < deadline, f"the writer committed only {len(self.committed)} orders"
            time.sleep(0.01)

    def stop(self) -> int:
        self.stop_file.touch()
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self.reader.join(5)
            self.log.close()


@pytest.fixture
def writers(tmp_path):
    started: list[Writer] = []

    def start(db: DemoDatabase, tag: str) -> Writer:
        started.append(Writer(db, tmp_path, tag))
        return started[-1]

    yield start
    for writer in started:
        with contextlib.suppress(Exception):
            writer.stop()


# --- (a) an online backup while orders are being committed ------------------------------------------------------
@pytest.mark.parametrize(
    "vendor",
    [
        pytest.param("sqlite", marks=pytest.mark.sqlite_only),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ],
)
def test_online_backup_while_writing_holds_every_committed_order(vendor, tmp_path, writers, request):
    live = request.getfixturevalue("fresh_sqlite")("live") if vendor == "sqlite" else this_database(tmp_path)
    writer = writers(live, "online")
    writer.wait_for(5)
    committed_before = list(writer.committed)
    dest = tmp_path / "backup" / ("beian.sqlite3" if vendor == "sqlite" else "beian.dump")
    dest.parent.mkdir()
    if vendor == "sqlite":  # those orders are still in the write-ahead log: copying the main file loses them
        assert Path(live.url.removeprefix("sqlite:///") + "-wal").stat().st_size > 0
    out = live.beian("backup", str(dest))
    during = len(writer.committed) - len(committed_before)
    writer.wait_for(len(committed_before) + during + 2)  # the writer carries on after the backup
    assert writer.stop() == 0, Path(writer.log.name).read_text()  # never refused ("database is locked")
    assert "backup written" in out and str(dest) in out
    assert_private(dest)
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no .part left, no -wal needed beside it

    if vendor == "sqlite":
        with contextlib.closing(sqlite3.connect(dest)) as db:
            # The schema's CHECK constraints use REGEXP, which Django (and the sqlite3 shell) provide.
            db.create_function("REGEXP", 2, lambda pattern, value: bool(re.search(pattern, str(value))))
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
        restored = _database(tmp_path / "restored-home", f"sqlite:///{dest}")
    else:
        restored = request.getfixturevalue("scratch_pg")
        pg_restore(dest, restored)
    assert examine(restored, tmp_path).audit_entries >= 3 * len(committed_before)
    states = dict(query(restored, "SELECT id, state FROM beian_order"))
    assert {states.get(pk) for pk in committed_before} == {State.APPROVED}
    # Later orders may be caught between two of their steps (each is its own transaction), never half-written:
    # the audit chain above ends exactly where the counter says.
    assert set(states.values()) <= {State.PROVIDER_REVIEW, State.BUREAU_REVIEW, State.APPROVED}


def test_backup_refuses_a_missing_directory_and_a_directory(tmp_path, capsys):
    assert main(["backup", str(tmp_path / "missing" / "b.sqlite3")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["backup", str(tmp_path)]) == 2
    assert "DEST is a directory" in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_sqlite_backup_over_the_database_itself_is_refused(fresh_sqlite):
    db = fresh_sqlite("self")
    before = (db.home / "beian.sqlite3").read_bytes()
    done = beian_status(db, "backup", str(db.home / "beian.sqlite3"))
    assert done.returncode == 2 and "DEST is the database itself" in done.stderr
    assert (db.home / "beian.sqlite3").read_bytes() == before


@pytest.mark.postgres
def test_postgres_backup_without_pg_dump_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump here
    assert main(["backup", str(tmp_path / "b.dump")]) == 2
    err = capsys.readouterr().err
    assert "pg_dump not found" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither DEST nor a partial file


# --- (b) and (c): a populated registry, restored -----------------------------------------------------------------
def approve(order, provider, bureau):
    if order.state == State.PROVIDER_REVIEW:
        order = move(order, Action.PROVIDER_APPROVE, actor=provider)
    if order.state == State.BUREAU_REVIEW:
        order = move(order, Action.BUREAU_APPROVE, actor=bureau)
    assert order.state == State.APPROVED
    return order


@pytest.fixture
def populated(tmp_path):
    """A synthetic registry (cancelled subjects, legacy multi-domain websites, unserved ones) plus activity
    through the engine: a new filing, 注销网站, 注销主体, 取消接入. No order is left open: an export carries
    the registry only (docs/data-format.md)."""
    bulk.import_jsonl(write_synth(tmp_path / "synth.jsonl", 150, seed=9), batch_size=60)
    owner = f.quick_user()
    provider, bureau = f.quick_user("provider_reviewer"), f.quick_user("bureau_reviewer", "11")
    approve(
        services.new_filing_submit(actor=owner, **f.new_filing_args(domain="新公司.中国")), provider, bureau
    )
    legacy = f.filed_subject_sites(
        owner,
        [{"domains": ["legacy-a.cn", "legacy-b.net"]}, {"domains": ["kept.cn"]}, {"domains": ["off.cn"]}],
    )
    first, _, third = legacy.websites.order_by("number")
    approve(services.cancel_website_submit(actor=owner, website=first, password=f.PASSWORD), provider, bureau)
    approve(services.cancel_access_submit(actor=owner, website=third), provider, bureau)
    gone = f.filed_subject(owner, domains_per_site=(["gone.cn"], ["gone-too.cn"]))
    approve(services.cancel_subject_submit(actor=owner, subject=gone, password=f.PASSWORD), provider, bureau)
    assert not Order.objects.filter(state__in=OPEN_STATES).exists()
    path = tmp_path / "source.jsonl"
    assert main(["export", "--output", str(path), "--quiet"]) == 0
    assert len(path.read_text("utf-8").splitlines()) == 153
    return path


@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_export_restored_into_an_empty_database_is_the_same_registry(target, populated, tmp_path, request):
    if target == "sqlite":
        restored = request.getfixturevalue("fresh_sqlite")("restored")
    else:
        restored = request.getfixturevalue("scratch_pg")
        restored.beian("migrate")
    out = restored.beian("import", str(populated), "--quiet")
    assert "inserted 153" in out and "failed 0" in out
    seen = examine(restored, tmp_path)  # its audit chain (the import's own entries) verifies
    assert seen.export == populated.read_bytes()  # byte for byte
    assert seen.rows == rows_here()  # subjects, websites, domains, numbers, states, served set: row by row


@pytest.mark.postgres
def test_pg_dump_restored_with_pg_restore_is_the_same_database(populated, tmp_path, scratch_pg):
    open_order = services.new_filing_submit(actor=f.quick_user(), **f.new_filing_args(domain="pending.cn"))
    dump = tmp_path / "beian.dump"
    this_database(tmp_path).beian("backup", str(dump))
    assert_private(dump)
    pg_restore(dump, scratch_pg)
    seen = examine(scratch_pg, tmp_path, full=True)
    assert seen.audit_entries == audit_verify().checked
    source_export = tmp_path / "now.jsonl"
    assert main(["export", "--output", str(source_export), "--quiet"]) == 0
    assert seen.export == source_export.read_bytes()
    assert seen.rows == rows_here(full=True)  # with the change feed and the audit chain
    orders = "SELECT id, kind, state, subject_id, website_id FROM beian_order ORDER BY id"
    assert query(scratch_pg, orders) == [
        tuple(row)
        for row in Order.objects.order_by("id").values_list("id", "kind", "state", "subject_id", "website_id")
    ]
    assert (open_order.pk, State.PROVIDER_REVIEW) in query(scratch_pg, "SELECT id, state FROM beian_order")
