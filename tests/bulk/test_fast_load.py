"""A first import into an empty registry defers the secondary indexes (and PostgreSQL's foreign keys): dropped
in the first batch's transaction with a record of each, re-created after the last batch, and re-created by the
next import when the loading process died before that."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from beian.registry import bulk
from beian.registry.models import Subject
from tests.bulk.conftest import registry_dump, wipe_registry, write_lines, write_synth
from tests.bulk.test_import import assert_consistent, line

pytestmark = pytest.mark.django_db(transaction=True)


def schema() -> set[tuple[str, str]]:
    """(name, definition) of every index and foreign key of the tables an import loads."""
    tables = [*bulk.FAST_TABLES, "beian_subject_bigram"]  # and PostgreSQL's name bigrams (lookup.bigrams)
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(tables))
            cur.execute(
                f"SELECT name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name IN ({marks}) "
                "AND type IN ('index', 'trigger')",
                tables,
            )
            return set(cur.fetchall())
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        found = set(cur.fetchall())
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s)",
            [tables],
        )
        return found | set(cur.fetchall())


def recorded() -> set[str]:
    with connection.cursor() as cur:
        if bulk.DEFERRED_TABLE not in connection.introspection.table_names(cur):
            return set()
        cur.execute(f"SELECT name FROM {bulk.DEFERRED_TABLE}")
        return {r[0] for r in cur.fetchall()}


END = bulk._FastLoad.end


class Killed(BaseException):
    """SIGKILL cannot be caught: an exception nothing handles, with the clean-up it would skip disabled."""


def import_killed_after_batch(monkeypatch, path, n: int) -> None:
    """Import ``path`` (batches of 100) and kill it after its n-th committed batch, before anything restores;
    the next process (the caller) then has the clean-up again."""
    monkeypatch.setattr(bulk._FastLoad, "end", lambda self: None)  # a killed process runs no clean-up
    seen = []

    def on_batch(*_):
        seen.append(1)
        if len(seen) == n:
            raise Killed

    with pytest.raises(Killed):
        bulk.import_jsonl(path, batch_size=100, on_batch=on_batch)
    monkeypatch.setattr(bulk._FastLoad, "end", END)


def test_first_load_defers_indexes_and_puts_back_the_same_schema(tmp_path, frozen_clock):
    path = write_synth(tmp_path / "s.jsonl", 450, seed=51)
    before = schema()
    during: list[tuple[set, set]] = []
    summary = bulk.import_jsonl(
        path, batch_size=150, on_batch=lambda *_: during.append((schema(), recorded()))
    )
    assert (summary.inserted, summary.failed, summary.restored) == (450, 0, 0)
    assert summary.deferred > 0
    # while loading: what is missing is exactly what is recorded; unique indexes stayed
    missing = {name for name, _ in before - during[0][0]}
    assert len(missing) == summary.deferred and during[0][1] == missing
    assert all("UNIQUE" not in ddl.upper() for name, ddl in before if name in missing)
    assert schema() == before and recorded() == set()  # after: every one of them back, as it was
    fast = registry_dump(feed=True)
    assert_consistent()
    # the same file through the normal path (no index dropped) writes the same registry
    wipe_registry()
    normal = bulk.import_jsonl(path, batch_size=10)  # batches below FAST_MIN_LINES: the normal path
    assert normal.deferred == 0 and registry_dump(feed=True) == fast


def test_import_into_a_registry_with_subjects_keeps_its_indexes(tmp_path):
    bulk.import_jsonl(write_lines(tmp_path / "one.jsonl", [line(1)]))
    before = schema()
    during = []
    summary = bulk.import_jsonl(
        write_synth(tmp_path / "s.jsonl", 200, seed=52),
        batch_size=100,
        on_batch=lambda *_: during.append(schema()),
    )
    assert summary.inserted == 200 and summary.deferred == 0
    assert during == [before, before] and schema() == before


def test_killed_fast_load_is_restored_by_the_resume(tmp_path, monkeypatch, frozen_clock):
    path = write_synth(tmp_path / "s.jsonl", 400, seed=53)
    before = schema()
    import_killed_after_batch(monkeypatch, path, 2)
    assert Subject.objects.count() == 200
    left = recorded()
    assert left and {name for name, _ in before - schema()} == left  # the record says what is missing
    resumed = bulk.import_jsonl(path, batch_size=100, resume=True)
    assert (resumed.resumed_after, resumed.restored, resumed.inserted, resumed.deferred) == (
        200,
        len(left),
        200,
        0,
    )
    assert schema() == before and recorded() == set()
    after_resume = registry_dump(feed=True)
    wipe_registry()
    bulk.import_jsonl(path, batch_size=100)
    assert registry_dump(feed=True) == after_resume
    assert_consistent()


def test_a_later_import_restores_and_restoring_twice_is_harmless(tmp_path, monkeypatch):
    before = schema()
    import_killed_after_batch(monkeypatch, write_synth(tmp_path / "s.jsonl", 300, seed=54), 1)
    assert recorded()
    later = bulk.import_jsonl(write_lines(tmp_path / "other.jsonl", [line(1)]))  # another file, no --resume
    assert later.restored > 0 and later.inserted == 1
    assert schema() == before and recorded() == set()
    assert bulk.restore_deferred() == 0 and schema() == before


def test_uniqueness_holds_while_indexes_are_deferred(tmp_path):
    # the same domain claimed in batch 1 and in batch 2: the second claim is refused with its line
    lines = [line(n) for n in range(1, 201)] + [line(201, domains=["t5-1.com"])]
    path = write_lines(tmp_path / "dup.jsonl", lines)
    duplicates = []

    def on_batch(*_):
        if recorded():  # indexes deferred: the database itself still refuses a second subject number
            columns = ", ".join(c for c in bulk.SUBJECT_COLUMNS if c not in ("id", "status"))
            try:  # a copy of the first subject, cancelled (so no live certificate is duplicated)
                with transaction.atomic(), connection.cursor() as cur:
                    cur.execute(
                        f"INSERT INTO beian_subject ({columns}, status) SELECT {columns}, 'cancelled' "
                        "FROM beian_subject WHERE id = (SELECT min(id) FROM beian_subject)"
                    )
            except IntegrityError:
                duplicates.append("refused")
            else:
                duplicates.append("accepted")

    errors = []
    summary = bulk.import_jsonl(path, batch_size=100, on_batch=on_batch, on_error=errors.append)
    assert summary.deferred > 0 and duplicates and set(duplicates) == {"refused"}
    assert (summary.inserted, summary.failed) == (200, 1)
    assert [(e.line, e.code) for e in errors] == [(201, "domain_held")]


def test_a_file_repeating_its_subjects_ends_the_fast_load_early(tmp_path, frozen_clock):
    lines = [line(n) for n in range(1, 201)]
    path = write_lines(tmp_path / "twice.jsonl", lines + [{**x, "address": "北京"} for x in lines])
    before = schema()
    restored_during = []
    summary = bulk.import_jsonl(path, batch_size=100, on_batch=lambda *_: restored_during.append(recorded()))
    assert summary.deferred > 0 and (summary.inserted, summary.updated, summary.failed) == (200, 200, 0)
    # batches 1-2 load with the indexes deferred; batch 3 updates: the indexes are back before it writes
    assert [bool(r) for r in restored_during] == [True, True, False, False]
    assert schema() == before
    assert set(Subject.objects.values_list("address", flat=True)) == {"北京"}


def test_a_deferred_object_that_cannot_be_restored_stops_the_import(tmp_path, monkeypatch):
    import_killed_after_batch(monkeypatch, write_synth(tmp_path / "s.jsonl", 200, seed=55), 1)
    with connection.cursor() as cur:  # a definition that no longer applies (say, a column renamed since)
        cur.execute(
            f"INSERT INTO {bulk.DEFERRED_TABLE} (name, kind, table_name, ddl) VALUES "
            "('broken_idx', 'index', 'beian_subject', 'CREATE INDEX broken_idx ON beian_subject (no_such_column)')"
        )
    count = Subject.objects.count()
    with pytest.raises(bulk.DeferredRestoreFailed, match="broken_idx"):
        bulk.import_jsonl(write_lines(tmp_path / "one.jsonl", [line(1)]))
    assert Subject.objects.count() == count  # nothing imported
    assert recorded() == {"broken_idx"}  # the others are back; the broken one stays on record
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {bulk.DEFERRED_TABLE}")


@pytest.mark.postgres
def test_a_postgresql_load_gathers_statistics_as_it_grows(tmp_path):
    """Planned without statistics, a first load's own checks read whole index ranges for every chunk: the load
    analyses its tables after batches 1, 4, 16… (reltuples is -1 until a table is first analysed)."""
    path = write_synth(tmp_path / "synth.jsonl", 250)
    seen: list[float] = []

    def after_batch(_bytes, _lines, _result):
        with connection.cursor() as cur:
            cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'beian_subject'::regclass")
            seen.append(cur.fetchone()[0])

    summary = bulk.import_jsonl(path, batch_size=50, on_batch=after_batch)
    assert summary.inserted == 250 and summary.batches == 5
    assert seen[0] == -1  # the first batch's callback comes before its ANALYZE
    assert seen[1] == 50 and seen[3] == 50 and seen[4] == 200  # analysed after batches 1 and 4


@pytest.mark.postgres
def test_a_postgresql_import_leaves_its_tables_vacuumed(tmp_path):
    """Rows not yet all-visible make every index-only scan of the public query read the table too, until
    autovacuum comes round (if it is on): the import ends with VACUUM (ANALYZE) of what it loaded."""
    summary = bulk.import_jsonl(write_synth(tmp_path / "synth.jsonl", 120), batch_size=50)
    assert summary.inserted == 120
    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname, relallvisible, relpages FROM pg_class WHERE relname = ANY(%s) ORDER BY relname",
            [["beian_subject", "beian_subject_answer", "beian_website"]],
        )
        pages = cur.fetchall()
    assert [name for name, _, _ in pages] == ["beian_subject", "beian_subject_answer", "beian_website"]
    assert all(visible == total > 0 for _, visible, total in pages), pages
