"""PostgreSQL's name bigrams (lookup.bigrams): after any write to a subject's name — the ORM, raw SQL, a delete, a
TRUNCATE, an import's batches and its first load with deferred indexes — a two-character query (its rows walked in
id order) finds exactly the names holding it."""

from __future__ import annotations

import pytest
from django.db import connection

from beian.lookup import bigrams, selectors
from beian.registry import bulk
from beian.registry.models import Subject
from beian.registry.search import spaced
from tests import factories as f
from tests.lookup.test_answers import renamed_lines, synth_lines, truncate_subjects

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def names(q: str) -> list[str]:
    return [r["unit_name"] for r in selectors.public_query(q)["results"]]


def rows_of(subject) -> set[str]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT bigram FROM {bigrams.TABLE} WHERE subject_id = %s", [subject.pk])
        return {r[0] for r in cur.fetchall()}


def rename(subject, name):
    Subject.objects.filter(pk=subject.pk).update(name=name, name_chars=spaced(name))


def held_bigrams() -> dict[str, int]:
    """How many subjects' names hold each bigram, counted here from the names."""
    held: dict[str, int] = {}
    for chars in Subject.objects.values_list("name_chars", flat=True):
        for b in {t for t in chars.split() if len(t) == 2}:
            held[b] = held.get(b, 0) + 1
    return held


def test_a_renamed_subject_is_found_by_its_new_name_only():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["bigram-a.cn"],))
    rename(a, "杭州星河远航科技有限公司")
    assert rows_of(a) == {
        "杭州",
        "州星",
        "星河",
        "河远",
        "远航",
        "航科",
        "科技",
        "技有",
        "有限",
        "限公",
        "公司",
    }
    assert names("远航") == ["杭州星河远航科技有限公司"]
    rename(a, "杭州银河启明科技有限公司")
    assert names("远航") == [] and names("启明") == ["杭州银河启明科技有限公司"]
    assert "远航" not in rows_of(a) and "启明" in rows_of(a)
    a.refresh_from_db()
    a.save()  # an ORM save that leaves the name alone rewrites no row
    assert bigrams.mismatches() == []
    with connection.cursor() as cur:  # a subject deleted (its websites and domains first)
        for table in ("beian_domain", "beian_feed"):
            cur.execute(
                f"DELETE FROM {table} WHERE website_id IN (SELECT id FROM beian_website WHERE subject_id = %s)",
                [a.pk],
            )
        cur.execute("DELETE FROM beian_website WHERE subject_id = %s", [a.pk])
        cur.execute("DELETE FROM beian_subject WHERE id = %s", [a.pk])
    assert rows_of(a) == set() and bigrams.mismatches() == []


def test_a_truncate_empties_the_bigrams():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["bigram-t.cn"],))
    assert rows_of(a)
    truncate_subjects()
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {bigrams.TABLE}")
        assert cur.fetchone()[0] == 0
    assert bigrams.counts() == {}  # and their counts


def test_ensure_rebuilds_when_the_triggers_are_not_this_codes():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["bigram-e.cn"],))
    assert bigrams.ensure() is False  # current: nothing to do
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {bigrams.COUNTS}")
    assert bigrams.ensure() is False  # only the counts were missing: counted again, nothing rebuilt
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {bigrams.TABLE}")
    assert bigrams.counts() == held_bigrams()
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER beian_bigram_u ON beian_subject")
        cur.execute(f"DELETE FROM {bigrams.TABLE}")
    assert bigrams.mismatches() == [a.pk]
    assert bigrams.ensure() is True
    assert bigrams.mismatches() == []
    rename(a, "成都青松远山文化传媒有限公司")  # the dropped trigger is back
    assert names("青松") == ["成都青松远山文化传媒有限公司"]
    with connection.cursor() as cur:
        cur.execute(f"DROP INDEX {bigrams.INDEX}")
    assert bigrams.ensure() is True  # an index dropped by hand is put back
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [bigrams.INDEX])
        assert cur.fetchone()[0]
    assert bigrams.ensure() is False and bigrams.mismatches() == []


@pytest.mark.django_db(transaction=True)
def test_an_import_writes_the_bigrams_of_its_batches(tmp_path):
    """A first load (its index deferred and rebuilt, batches of 100), then a second file that renames subjects."""
    first = synth_lines(tmp_path, 400, seed=5)
    summary = bulk.import_jsonl(first, batch_size=100)
    assert summary.failed == 0 and summary.inserted == 400 and summary.deferred
    assert bigrams.mismatches() == []
    assert bigrams.counts() == held_bigrams()  # counted when the import ended
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [bigrams.INDEX])
        assert cur.fetchone() is not None  # put back after the first load
        cur.execute(f"SELECT count(*) FROM {bigrams.TABLE}")
        assert cur.fetchone()[0] > 400 * 5
    second = renamed_lines(
        first, lambda name: name[:2] + "鹭岛" + name[2:]
    )  # found by the contains tier only
    assert bulk.import_jsonl(second, batch_size=50).failed == 0
    assert bigrams.mismatches() == []
    assert bigrams.counts() == held_bigrams() and bigrams.counts()["鹭岛"] == 30
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(DISTINCT s.name) FROM beian_subject_answer a JOIN beian_subject s ON s.id = a.subject_id "
            "WHERE s.name LIKE '%%鹭岛%%'"
        )
        listed = cur.fetchone()[0]
    seen, page = [], 1
    while page:
        answer = selectors.public_query("鹭岛", page)
        seen += [r["unit_name"] for r in answer["results"]]
        page = answer["next"]
    assert listed > 10 and len(set(seen)) == listed  # every renamed subject with a website, over pages


def test_counts_drifted_a_fifth_from_the_table_are_set_aside_until_counted_again():
    owner = f.user()
    for i in range(4):
        rename(
            f.filed_subject(owner, domains_per_site=([f"drift{i}.cn"],)), f"测试{i}青松远山文化传媒有限公司"
        )
    bigrams.recount()
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {bigrams.TABLE}")  # what autovacuum would do
    assert bigrams.counts() == held_bigrams()
    for i in range(3):  # filed through the console since: the table grew by more than a fifth
        rename(
            f.filed_subject(owner, domains_per_site=([f"drift-new{i}.cn"],)), f"新{i}白鹭洲餐饮管理有限公司"
        )
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {bigrams.TABLE}")
    assert bigrams.counts() == {}  # the plans judge from the sample alone meanwhile
    bigrams.recount()
    assert bigrams.counts() == held_bigrams() and bigrams.counts()["鹭洲"] == 3


@pytest.mark.django_db(transaction=True)
def test_two_counts_at_once_both_finish():
    """An import ending while ``beian migrate`` counts: the second count waits for the first instead of failing on
    the keys the first wrote."""
    import threading
    import time

    from django.db import transaction

    owner = f.user()
    rename(f.filed_subject(owner, domains_per_site=(["twice.cn"],)), "测试双流并行科技有限公司")
    bigrams.recount()
    counted, errors = threading.Event(), []

    def first():
        try:
            with transaction.atomic():
                bigrams.recount()
                counted.set()
                time.sleep(0.5)  # still open when the second starts
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
            counted.set()
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    counted.wait(10)
    bigrams.recount()
    thread.join(10)
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {bigrams.TABLE}")  # what autovacuum would do
    assert errors == [] and bigrams.counts()["双流"] == 1


def test_beian_migrate_counts_again_unless_its_rebuild_of_the_table_just_counted():
    """``beian migrate`` counts after its migrations (``recount(unless_counted_since=…)``); when they rebuilt the
    bigram table (``ensure``, which counts), it does not count a second time (about 5 s at 3,000,000 subjects)."""
    import time

    rename(f.filed_subject(f.user(), domains_per_site=(["once.cn"],)), "测试一次计数科技有限公司")

    def counted() -> int:
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {bigrams.COUNTS}")
            return cur.fetchone()[0]

    started = time.monotonic()
    bigrams.recount()  # as the migrations' rebuild does
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {bigrams.COUNTS}")  # so that a second count shows
    bigrams.recount(unless_counted_since=started)
    assert counted() == 0
    bigrams.recount(unless_counted_since=time.monotonic())  # no count since: counted
    assert counted() == len(held_bigrams())
