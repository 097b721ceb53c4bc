"""SQLite's name index merged into one segment (registry.search.optimize_name_index): by an import, by the
worker, with the same answers before and after."""

from __future__ import annotations

import pytest
from django.db import connection

from beian.lookup import selectors
from beian.registry.models import Subject
from beian.registry.search import optimize_name_index, spaced
from tests import factories as f

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite_only]


def segments() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(DISTINCT segid) FROM beian_subject_fts_idx")
        return cur.fetchone()[0]


def test_a_merged_name_index_answers_the_same():
    owner = f.user()
    for i in range(6):  # each committed write leaves a segment
        s = f.filed_subject(owner, domains_per_site=([f"merge-{i}.cn"],))
        Subject.objects.filter(pk=s.pk).update(
            name=f"合并测试{i}号科技有限公司", name_chars=spaced(f"合并测试{i}号科技有限公司")
        )
    assert segments() > 1
    before = [selectors.public_query(q) for q in ("合并测试", "测试3号", "科技有限")]
    assert len(before[0]["results"]) == 6
    assert optimize_name_index() is True
    assert segments() == 1
    assert [selectors.public_query(q) for q in ("合并测试", "测试3号", "科技有限")] == before


def test_the_worker_merges_it_when_it_starts(capsys):
    from beian.cli import main

    owner = f.user()
    for i in range(3):
        f.filed_subject(owner, domains_per_site=([f"worker-{i}.cn"],))
    assert segments() > 1
    assert main(["worker", "--once"]) == 0
    assert segments() == 1


def test_an_import_leaves_one_segment(tmp_path):
    from beian.lookup import synth
    from beian.registry import bulk

    path = tmp_path / "synth.jsonl"
    with path.open("w", encoding="utf-8") as out:
        synth.write(out, 300, 5)
    assert bulk.import_jsonl(path, batch_size=50).inserted == 300
    assert segments() == 1
