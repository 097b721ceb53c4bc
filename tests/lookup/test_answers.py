"""The stored answers (lookup.answers): after any write — the ORM, raw SQL, a whole workflow, an import's
batches, a first load with deferred indexes — a name query answers what the live tables say."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.utils import timezone

from beian.lookup import answers, selectors
from beian.orders import services
from beian.orders.workflow import Action, move
from beian.registry import bulk
from beian.registry.models import Domain, Subject, Website
from beian.registry.search import spaced
from tests import factories as f

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


def stored(subject) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT objects FROM {answers.TABLE} WHERE subject_id = %s", [subject.pk])
        row = cur.fetchone()
    return json.loads(f"[{row[0]}]") if row else []


def found(name: str) -> list[dict]:
    return selectors.public_query(name)["results"]


def test_every_kind_of_write_keeps_the_stored_answers_current():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["alpha-one.cn"], ["alpha-two.cn", "alpha-three.cn"]))
    b = f.filed_subject(owner, domains_per_site=(["beta-one.cn"],))
    Subject.objects.filter(pk=a.pk).update(
        name="星河远航科技有限公司", name_chars=spaced("星河远航科技有限公司")
    )
    assert answers.mismatches() == []
    assert [r["unit_name"] for r in found("星河远航")] == ["星河远航科技有限公司"] * 2
    assert [r["domain"] for r in stored(a)] == ["alpha-one.cn", "alpha-two.cn, alpha-three.cn"]

    site1, site2 = a.websites.order_by("sequence")
    Website.objects.filter(pk=site1.pk).update(
        name="新名字", homepage="https://alpha-one.cn/home", limit_access=True
    )
    Subject.objects.filter(pk=a.pk).update(nature="government")
    Domain.objects.filter(name="alpha-two.cn").update(status="released", released_at=timezone.now())
    Domain.objects.filter(name="beta-one.cn").update(website=site1)  # a domain moves between subjects
    assert answers.mismatches() == []
    rows = stored(a)
    assert rows[0]["website_name"] == "新名字" and rows[0]["limit_access"] is True
    assert rows[0]["domain"] == "alpha-one.cn, beta-one.cn" and rows[1]["domain"] == "alpha-three.cn"
    assert {r["nature"] for r in rows} == {"政府机关"}
    assert stored(b)[0]["domain"] == ""

    with connection.cursor() as cur:  # raw SQL is caught too
        cur.execute("UPDATE beian_website SET sequence = 9 WHERE id = %s", [site1.pk])
    assert [r["website_number"] for r in stored(a)] == [site2.number, site1.number]
    Website.objects.filter(pk=site2.pk).update(subject=b)  # a website moves: both subjects change
    # deletes, rolled back: the rows they leave dangling (feed, orders) fail the foreign keys checked at commit
    with pytest.raises(RolledBack), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM beian_domain WHERE website_id = %s", [site1.pk])
        assert answers.mismatches() == []
        cur.execute("DELETE FROM beian_website WHERE id = %s", [site1.pk])
        assert answers.mismatches() == []
        assert stored(a) == [] and found("星河远航") == []
        assert len(stored(b)) == 2
        cur.execute("DELETE FROM beian_subject WHERE id = %s", [b.pk])
        assert stored(b) == [] and answers.mismatches() == []
        raise RolledBack
    assert answers.mismatches() == [] and len(stored(b)) == 2


def test_a_workflow_cancellation_removes_the_answer_in_its_transaction():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["gamma-one.cn"], ["gamma-two.cn"]))
    Subject.objects.filter(pk=a.pk).update(name="伽马数据服务中心", name_chars=spaced("伽马数据服务中心"))
    site = a.websites.get(sequence=1)
    order = services.cancel_website_submit(actor=owner, website=site, password=f.PASSWORD)
    move(order, Action.BUREAU_APPROVE, actor=f.user(role="bureau_reviewer", province=a.province))
    assert [r["website_number"] for r in found("伽马数据")] == [a.websites.get(sequence=2).number]
    order = services.cancel_subject_submit(actor=owner, subject=a, password=f.PASSWORD)
    move(order, Action.BUREAU_APPROVE, actor=f.user(role="bureau_reviewer", province=a.province))
    assert found("伽马数据") == [] and stored(a) == []
    assert answers.mismatches() == []


def test_ensure_rebuilds_when_the_triggers_are_not_this_codes():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["delta-one.cn"],))
    assert answers.ensure() is False  # current: nothing to do
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        cur.execute(
            "DROP TRIGGER beian_answer_w ON beian_website" if pg else f"DROP TRIGGER {answers.PREFIX}w_au"
        )
        cur.execute(f"DELETE FROM {answers.TABLE}")
    assert answers.mismatches() == [a.pk]
    assert answers.ensure() is True
    assert answers.mismatches() == []
    Website.objects.filter(subject=a).update(name="改名之后")  # the dropped trigger is back
    assert stored(a)[0]["website_name"] == "改名之后"


def synth_lines(tmp_path, subjects: int, seed: int):
    from beian.lookup import synth

    path = tmp_path / "synth.jsonl"
    with path.open("w", encoding="utf-8") as out:
        synth.write(out, subjects, seed)
    return path


def renamed_lines(source, rename, count: int = 30):
    """A second file beside ``source``: its first ``count`` subjects, each renamed by ``rename``."""
    changed = []
    for line in source.read_text(encoding="utf-8").splitlines()[:count]:
        data = json.loads(line)
        data["name"] = rename(data["name"])
        changed.append(json.dumps(data, ensure_ascii=False))
    second = source.with_name("second.jsonl")
    second.write_text("\n".join(changed) + "\n", encoding="utf-8")
    return second


@pytest.mark.django_db(transaction=True)
def test_an_import_writes_the_answers_of_its_batches(tmp_path):
    """A first load (deferred indexes, batches of 100), then a second file that updates subjects."""
    first = synth_lines(tmp_path, 400, seed=3)
    summary = bulk.import_jsonl(first, batch_size=100)
    assert summary.failed == 0 and summary.inserted == 400 and summary.deferred
    assert answers.mismatches() == []
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {answers.TABLE}")
        assert cur.fetchone()[0] > 300
        cur.execute("SELECT name FROM beian_subject WHERE status = 'active' ORDER BY id LIMIT 1")
        name = cur.fetchone()[0]
    assert any(r["unit_name"] == name for r in found(name))
    second = renamed_lines(first, lambda name: name + "分部")
    summary = bulk.import_jsonl(second, batch_size=50)
    assert summary.failed == 0
    assert answers.mismatches() == []


def truncate_subjects() -> None:
    """An operator's ``TRUNCATE beian_subject CASCADE`` (as Django's flush does): no row trigger fires."""
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks may precede a TRUNCATE
        cur.execute("TRUNCATE beian_subject CASCADE")


@pytest.mark.postgres
def test_a_truncate_empties_the_answers_on_postgresql():
    """Django's flush and an operator's TRUNCATE fire no row trigger: a statement trigger rebuilds the rows."""
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["epsilon-one.cn"],))
    assert stored(a)
    truncate_subjects()
    assert stored(a) == [] and answers.mismatches() == []
