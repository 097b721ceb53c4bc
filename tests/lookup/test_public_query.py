"""公共查询: detection, the exact MIIT fields and nothing private, cancelled filings not found, ranking,
two-character names on both backends, batch limits, rate limits, and the generic-plan trap."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from beian.lookup import throttle
from beian.orders import services
from beian.orders.workflow import Action, move
from tests import factories as f

pytestmark = pytest.mark.django_db
FIELDS = {
    "unit_name",
    "nature",
    "subject_number",
    "website_number",
    "website_name",
    "homepage",
    "domain",
    "approved_at",
    "content_type",
    "limit_access",
}


@pytest.fixture(autouse=True)
def _fresh_buckets():
    throttle.reset()
    yield
    throttle.reset()


@pytest.fixture
def filings():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["tencent-music.cn"], ["tencent-games.cn", "tgame.net"]))
    from beian.registry.models import Subject

    Subject.objects.filter(pk=a.pk).update(
        name="深圳腾讯音乐科技有限公司", name_chars="深 圳 腾 讯 音 乐 科 技 有 限 公 司"
    )
    b = f.filed_subject(owner, domains_per_site=(["tengxun.cn"],))
    Subject.objects.filter(pk=b.pk).update(name="腾讯", name_chars="腾 讯")
    c = f.filed_subject(owner, domains_per_site=(["txkj.cn"],))
    Subject.objects.filter(pk=c.pk).update(
        name="腾讯科技（北京）有限公司", name_chars="腾 讯 科 技 北 京 有 限 公 司"
    )
    d = f.filed_subject(owner, domains_per_site=(["other.cn"],))
    Subject.objects.filter(pk=d.pk).update(
        name="阿里巴巴网络技术有限公司", name_chars="阿 里 巴 巴 网 络 技 术 有 限 公 司"
    )
    for s in (a, b, c, d):
        s.refresh_from_db()
    return {"a": a, "b": b, "c": c, "d": d, "owner": owner}


def get(client, q, **extra):
    return client.get("/api/v1/public/filings", {"q": q, **extra})


def test_number_domain_and_url_are_detected(client, filings):
    a = filings["a"]
    body = get(client, a.number).json()
    assert body["query"] == {"q": a.number, "detected": "filing_number"}
    assert [r["website_number"] for r in body["results"]] == [a.number + "-1", a.number + "-2"]
    site2 = get(client, a.number.replace("号", "号-2")).json()["results"]
    assert [r["website_number"] for r in site2] == [a.number + "-2"]
    for q in ("tgame.net", "https://WWW.tgame.net:8443/path?x=1", "shop.tencent-games.cn"):
        body = get(client, q).json()
        assert body["query"]["detected"] == "domain"
        assert [r["website_number"] for r in body["results"]] == [a.number + "-2"], q


def test_fields_are_exactly_what_miit_shows_and_nothing_private(client, filings):
    a = filings["a"]
    response = get(client, a.number)
    row = response.json()["results"][0]
    assert set(row) == FIELDS
    assert row["unit_name"] == "深圳腾讯音乐科技有限公司" and row["nature"] == "企业"
    assert row["subject_number"] == a.number and row["domain"] == "tencent-music.cn"
    assert row["limit_access"] is False and row["content_type"]
    text = response.content.decode()
    for private in (
        a.certificate_number,
        a.responsible_mobile,
        a.responsible_email,
        a.responsible_name,
        a.address,
    ):
        assert private not in text


def test_a_cancelled_filing_is_simply_not_found(client, filings):
    a, owner = filings["a"], filings["owner"]
    site = a.websites.get(sequence=1)
    order = services.cancel_website_submit(actor=owner, website=site, password=f.PASSWORD)
    assert get(client, "tencent-music.cn").json()["results"]  # still found while at the bureau
    move(order, Action.BUREAU_APPROVE, actor=f.user(role="bureau_reviewer", province=a.province))
    assert get(client, "tencent-music.cn").json()["results"] == []
    assert get(client, site.number).json()["results"] == []
    assert [r["website_number"] for r in get(client, a.number).json()["results"]] == [a.number + "-2"]


def test_two_character_name_ranks_exact_then_prefix_then_contains(client, filings):
    names = [r["unit_name"] for r in get(client, "腾讯").json()["results"]]
    assert names[0] == "腾讯"
    assert names[1] == "腾讯科技（北京）有限公司"
    assert set(names[2:]) == {"深圳腾讯音乐科技有限公司"}
    assert "阿里巴巴网络技术有限公司" not in names
    assert [r["unit_name"] for r in get(client, "阿里").json()["results"]] == ["阿里巴巴网络技术有限公司"]
    assert get(client, "腾讯音乐").json()["results"][0]["unit_name"] == "深圳腾讯音乐科技有限公司"
    assert get(client, "里腾").json()["results"] == []  # characters must be adjacent, in order


def test_pages_follow_next(client):
    owner = f.user()
    from beian.registry.models import Subject

    for i in range(25):
        s = f.filed_subject(owner, domains_per_site=([f"page{i}.cn"],))
        Subject.objects.filter(pk=s.pk).update(
            name=f"分页测试公司{i:02d}", name_chars=" ".join(f"分页测试公司{i:02d}")
        )
    first = get(client, "分页").json()
    assert len(first["results"]) == 20 and first["next"] == 2
    second = get(client, "分页", page=2).json()
    assert len(second["results"]) == 5 and second["next"] is None
    assert not {r["website_number"] for r in first["results"]} & {
        r["website_number"] for r in second["results"]
    }


def test_batch_answers_each_key_and_refuses_over_100(client, filings):
    a = filings["a"]
    body = client.post(
        "/api/v1/public/filings:batch",
        json.dumps({"keys": [a.number, "tgame.net", "腾讯"]}),
        content_type="application/json",
    ).json()
    assert set(body) == {a.number, "tgame.net", "腾讯"}
    assert body["tgame.net"]["results"][0]["website_number"] == a.number + "-2"
    too_many = client.post(
        "/api/v1/public/filings:batch", json.dumps({"keys": ["x.cn"] * 101}), content_type="application/json"
    )
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "invalid_input"


def test_rate_limit_answers_429_with_retry_after(client, settings, filings):
    settings.BEIAN_PUBLIC_RATE = 1.0
    settings.BEIAN_PUBLIC_BURST = 3
    statuses = [get(client, "腾讯").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = get(client, "腾讯")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert limited.json()["code"] == "throttled"


def test_cors_header_only_when_configured(client, settings, filings):
    assert "Access-Control-Allow-Origin" not in get(client, "腾讯")
    settings.BEIAN_PUBLIC_CORS_ORIGINS = ["*"]
    assert get(client, "腾讯")["Access-Control-Allow-Origin"] == "*"


def test_query_page_shows_results_and_form_link(client, filings):
    page = client.get("/query/", {"q": "腾讯"}).content.decode()
    assert "腾讯科技（北京）有限公司" in page and "cancellation-form" in page
    assert "没有查到有效的备案" in client.get("/query/", {"q": "nothing-filed.cn"}).content.decode()


@pytest.mark.postgres
def test_no_server_side_prepared_statements_on_postgresql(client, filings):
    """The generic-plan trap: once psycopg prepares a statement, a parameterised text search can switch to a
    sequential scan. beian never lets it prepare (prepare_threshold None), however often a query runs."""
    for _ in range(10):
        assert get(client, "腾讯").status_code == 200
    assert connection.connection.prepare_threshold is None
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cur.fetchone()[0] == 0
