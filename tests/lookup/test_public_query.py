"""公共查询: detection, the exact MIIT fields and nothing private, cancelled filings not found, ranking,
two-character names on both backends, batch limits, rate limits, and the generic-plan trap."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from django.db import connection

from beian.lookup import throttle
from beian.orders import services
from beian.orders.workflow import Action, move
from beian.registry.models import Subject
from beian.registry.search import spaced
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


def rename(subject, name):
    Subject.objects.filter(pk=subject.pk).update(name=name, name_chars=spaced(name))


@pytest.fixture
def filings():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["tencent-music.cn"], ["tencent-games.cn", "tgame.net"]))

    rename(a, "深圳腾讯音乐科技有限公司")
    b = f.filed_subject(owner, domains_per_site=(["tengxun.cn"],))
    rename(b, "腾讯")
    c = f.filed_subject(owner, domains_per_site=(["txkj.cn"],))
    rename(c, "腾讯科技（北京）有限公司")
    d = f.filed_subject(owner, domains_per_site=(["other.cn"],))
    rename(d, "阿里巴巴网络技术有限公司")
    for s in (a, b, c, d):
        s.refresh_from_db()
    return {"a": a, "b": b, "c": c, "d": d, "owner": owner}


def get(client, q, **extra):
    return client.get("/api/v1/public/filings", {"q": q, **extra})


def names(client, q):
    """The subjects found, in order (a subject's websites are consecutive rows)."""
    return list(dict.fromkeys(r["unit_name"] for r in get(client, q).json()["results"]))


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


def test_a_number_in_folded_digit_forms_is_still_a_number(client, filings):
    """Fullwidth, mathematical and circled digits fold to ASCII ones (NFKC) as the parser reads them: such a
    number is looked up as a number, not searched as a name."""
    a = filings["a"]
    digits = "".join(c for c in a.number if c.isdigit())
    forms = {
        "fullwidth": "".join(chr(0xFF10 + int(c)) for c in digits),
        "math bold": "".join(chr(0x1D7CE + int(c)) for c in digits),
    }
    for label, folded in forms.items():
        q = a.number.replace(digits, folded)
        body = get(client, q).json()
        assert body["query"]["detected"] == "filing_number", label
        assert [r["website_number"] for r in body["results"]] == [a.number + "-1", a.number + "-2"], label
    assert get(client, "腾讯音乐").json()["query"]["detected"] == "name"


def test_fields_are_exactly_what_miit_shows_and_nothing_private(client, filings):
    a = filings["a"]
    response = get(client, a.number)
    row = response.json()["results"][0]
    assert set(row) == FIELDS
    assert row["unit_name"] == "深圳腾讯音乐科技有限公司" and row["nature"] == "企业"
    assert row["subject_number"] == a.number and row["domain"] == "tencent-music.cn"
    assert row["limit_access"] is False and row["content_type"]
    site = a.websites.get(sequence=1)
    assert row["approved_at"] == site.approved_at.astimezone(UTC).date().isoformat()
    site2 = a.websites.get(sequence=2)
    type(site2).objects.filter(pk=site2.pk).update(limit_access=True, content_type="")
    row2 = get(client, site2.number).json()["results"][0]
    assert row2["domain"] == "tencent-games.cn, tgame.net"  # in the order they were filed
    assert row2["limit_access"] is True and row2["content_type"] == "无"
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


def test_one_character_three_characters_and_latin_letters(client, filings):
    """Bigram index: a longer query is a phrase of its bigrams, one character is a prefix query on them (the
    name's last character included), letters are case-insensitive."""
    rename(filings["d"], "QQ音乐传媒工作室")
    assert names(client, "讯音乐") == ["深圳腾讯音乐科技有限公司"]
    assert names(client, "腾音") == []  # adjacent, in order
    assert names(client, "qq音") == names(client, "Qq音乐") == ["QQ音乐传媒工作室"]
    assert names(client, "室") == ["QQ音乐传媒工作室"]  # the last character: no bigram starts with it
    assert set(names(client, "讯")) == {"腾讯", "腾讯科技（北京）有限公司", "深圳腾讯音乐科技有限公司"}
    assert names(client, "（）") == [] and names(client, "") == []  # nothing the index holds: nothing found


@pytest.mark.parametrize(
    "text",
    [
        "tgame.net",
        "WWW.TGame.NET",
        "https://www.tgame.net/",
        "http://a.b.example.com.cn",
        "https://www.tgame.net:8443/x",
        "www.beijing.gov.cn",
        "https://gov.cn",
        "com.cn",
        "example.unknowntld",
        "xn--fiqs8s.cn",
        "ab--cd.cn",
        "-bad.cn",
        "a.123",
        "1.2.3.4",
        "例子.中国",
        "a" * 64 + ".cn",
        ("a" * 60 + ".") * 4 + "cn",
        "ftp://example.com",
    ],
)
def test_the_plain_host_fast_path_agrees_with_the_domain_rules(text):
    from beian.lookup.selectors import _filing_name
    from beian.rules import domains as domain_rules
    from beian.rules.errors import RulesError

    try:
        expected = domain_rules.analyze(text).filing_name
    except RulesError as exc:
        expected = exc.code
    try:
        got = _filing_name(text)
    except RulesError as exc:
        got = exc.code
    assert got == expected


def test_each_query_is_one_sql_statement(client, filings, django_assert_num_queries):
    a = filings["a"]
    for q in (a.number, a.number + "-2", "tgame.net", "腾讯", "腾讯音乐", "讯"):
        with django_assert_num_queries(1):
            assert get(client, q).json()["results"], q


CASES = [
    {"q": "腾讯"},
    {"q": "腾讯", "page": "2"},
    {"q": "tgame.net", "page": "50"},
    {"q": ""},
    {},
    {"page": "1"},
    {"q": "腾讯", "page": "0"},
    {"q": "腾讯", "page": "51"},
    {"q": "腾讯", "page": "abc"},
    {"q": "腾讯", "page": "+1"},
    {"q": "腾讯", "page": ["1", "2"]},
    {"q": ["腾讯", "阿里"]},
    {"q": "腾" * 1001},
    {"q": "腾" * 1000},
]


# Answered by the WSGI lane (lookup.lane) without Django's middleware; the rest is handed to Django.
LANE_CASES = [
    {"q": "腾讯"},
    {"q": "腾讯", "page": "2"},
    {"q": "tgame.net", "page": "50"},
    {"q": ""},
    {"q": "腾" * 1000},
]
PATH = "/api/v1/public/filings"


def assert_same_answer(lane, django):
    """Status, body and every header alike — but the two LocaleMiddleware adds (Content-Language, and Accept-Language
    in Vary): the lane's JSON is the same in every language."""
    assert lane.status_code == django.status_code
    assert lane.content == django.content

    def headers(response):
        h = {k: v for k, v in response.headers.items() if k not in ("Content-Language", "Vary")}
        vary = {v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()} - {
            "Accept-Language"
        }
        return h, vary

    assert headers(lane) == headers(django)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_lane_answers_exactly_as_django(client, filings, lang):
    """GET /api/v1/public/filings meets the WSGI lane first (as in `beian serve`); whatever the parameters, the
    answer is the one Django's full stack gives (status, body, headers; the 422 body in the asked language), and
    the lane really serves the common request."""
    from django.test import Client

    for params in CASES:
        served = client.get(PATH, params, HTTP_ACCEPT_LANGUAGE=lang)
        assert served.served_by_lane == (params in LANE_CASES), params
        assert_same_answer(served, Client().get(PATH, params, HTTP_ACCEPT_LANGUAGE=lang))
    bad = client.get(PATH, {"q": "x", "page": "0"}, HTTP_ACCEPT_LANGUAGE=lang).json()
    assert bad["code"] == "invalid_input" and bad["fields"] == ["page"]
    assert bad["message"].startswith("Invalid request" if lang == "en" else "请求内容不正确")
    assert client.post(PATH, {"q": "x"}).status_code == 405
    for raw in (
        "q=%E8%85%BE+%E8%AE%AF",
        "q=%FF%FE",
        "page=2&q=tgame.net",
        "q=a&x=1",
        "%71=tgame.net",
        "q=\xe8",
    ):
        served = client.get(f"{PATH}?{raw}")
        assert_same_answer(served, Client().get(f"{PATH}?{raw}"))
        assert served.served_by_lane == (
            raw in ("q=%E8%85%BE+%E8%AE%AF", "q=%FF%FE", "page=2&q=tgame.net")
        ), raw


def test_the_lane_keeps_hsts_redirects_hosts_cors_and_failures_as_django_does(
    client, settings, filings, monkeypatch
):
    from django.test import Client

    from tests.lane_client import LaneClient

    def ask(**extra):  # a fresh client each time: Django's middleware keeps the settings it was loaded with
        return LaneClient().get(PATH, {"q": "tgame.net"}, **extra)

    https = {"HTTP_X_FORWARDED_PROTO": "https"}
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.BEIAN_PUBLIC_CORS_ORIGINS = ["https://a.example", "https://b.example"]
    lane = ask(**https)
    assert lane.served_by_lane and lane["Strict-Transport-Security"] == "max-age=3600"
    assert lane["Access-Control-Allow-Origin"] == "https://a.example,https://b.example"
    assert_same_answer(lane, Client().get(PATH, {"q": "tgame.net"}, **https))
    plain = ask()
    assert plain.served_by_lane and "Strict-Transport-Security" not in plain
    assert_same_answer(plain, Client().get(PATH, {"q": "tgame.net"}))

    settings.SECURE_SSL_REDIRECT = True  # plain HTTP: Django's redirect; HTTPS: the lane
    redirect = ask()
    assert not redirect.served_by_lane and redirect.status_code == 301
    assert ask(**https).served_by_lane
    settings.SECURE_SSL_REDIRECT = False

    for host in ("evil.example", "testserver:8000"):  # Django judges the Host: 400, or allowed with its port
        answered = ask(HTTP_HOST=host)
        assert answered.served_by_lane == (host != "evil.example")
        assert_same_answer(answered, Client().get(PATH, {"q": "tgame.net"}, HTTP_HOST=host))
    assert ask(HTTP_HOST="evil.example").status_code == 400

    settings.BEIAN_PUBLIC_RATE, settings.BEIAN_PUBLIC_BURST = 0.01, 2
    assert [ask().served_by_lane for _ in range(2)] == [True, True]
    throttled = ask(HTTP_ACCEPT_LANGUAGE="en")
    assert (
        not throttled.served_by_lane and throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    )
    assert throttled.json()["message"].startswith("Too many queries")
    settings.BEIAN_PUBLIC_RATE, settings.BEIAN_PUBLIC_BURST = 10, 100
    throttle.reset()

    def broken(q):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("beian.lookup.selectors.detect", broken)
    failed = LaneClient(raise_request_exception=False).get(PATH, {"q": "tgame.net"})
    assert not failed.served_by_lane and failed.status_code == 500
    assert failed["Content-Type"].startswith("application/json") and "database" not in failed.content.decode()


def served(method: str, path: str, query: str) -> tuple[str, dict, bytes]:
    """A request to web.wsgi.application, what granian serves (the lane around Django's handler): the status line,
    the headers and the body as a server would send them."""
    import io

    from django.core import signals
    from django.db import close_old_connections

    from beian.web.wsgi import application

    answered = {}
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }

    def start_response(status, headers, exc=None):
        answered.update(status=status, headers=dict(headers))

    # as Django's test client does: request_started and request_finished would close the test transaction's
    # connection
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        body = b"".join(application(environ, start_response))
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)
    return answered["status"], answered["headers"], body


def test_beian_serve_runs_the_lane_in_front_of_django(filings):
    status, _, body = served("GET", PATH, "q=tgame.net")
    assert status == "200 OK" and json.loads(body)["results"][0]["domain"] == "tencent-games.cn, tgame.net"
    assert served("GET", "/ping", "")[0] == "200 OK"


def test_head_answers_as_get_does_without_the_body(filings):
    # HEAD was refused (405); a monitor or a link checker asks it
    status, headers, body = served("GET", PATH, "q=%E8%85%BE%E8%AE%AF")  # 腾讯
    head_status, head_headers, head_body = served("HEAD", PATH, "q=%E8%85%BE%E8%AE%AF")
    assert (status, head_status) == ("200 OK", "200 OK")
    assert head_body == b"" and len(body) > 0
    assert head_headers["Content-Type"] == headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(head_headers["Content-Length"]) == len(body)
    missing_status, _, missing_body = served("HEAD", PATH, "")
    assert missing_status.startswith("422") and missing_body == b""
    assert served("HEAD", "/query/", "q=%E8%85%BE%E8%AE%AF")[::2] == ("200 OK", b"")  # any path


def test_rebuild_migration_turns_old_rows_into_bigrams(client, filings):
    """registry 0005 rewrites name_chars from the name and rebuilds the index (the per-character form of
    0004 finds nothing any more under the bigram queries)."""
    import importlib
    from types import SimpleNamespace

    migration = importlib.import_module("beian.registry.migrations.0005_name_bigrams")
    for s in Subject.objects.all():
        Subject.objects.filter(pk=s.pk).update(name_chars=migration.per_character(s.name))
    assert names(client, "讯音乐") == []

    def execute(sql):
        with connection.cursor() as cur:
            cur.execute(sql)

    if connection.vendor == "postgresql":
        execute("SET CONSTRAINTS ALL IMMEDIATE")  # the fixture's deferred checks; a migration starts without
    migration.rebuild(None, SimpleNamespace(connection=connection, execute=execute))
    assert names(client, "讯音乐") == ["深圳腾讯音乐科技有限公司"]
    assert all(s.name_chars == spaced(s.name) for s in Subject.objects.all())


def test_pages_follow_next(client):
    owner = f.user()
    for i in range(25):
        rename(f.filed_subject(owner, domains_per_site=([f"page{i}.cn"],)), f"分页测试公司{i:02d}")
    pages = [get(client, "分页", page=n).json() for n in (1, 2, 3)]  # ten subjects a page
    assert [(len(p["results"]), p["next"]) for p in pages] == [(10, 2), (10, 3), (5, None)]
    shown = [r["website_number"] for p in pages for r in p["results"]]
    assert len(set(shown)) == 25


def test_paging_through_contains_matches_shows_each_subject_once_after_renames(client):
    # Matches of the contains tier, some renamed afterwards: on PostgreSQL a rename moves the row in the heap,
    # the order its index scan yields. Walking every page must still show every subject exactly once.
    owner = f.user()
    subjects = [f.filed_subject(owner, domains_per_site=([f"walk{i}.cn"],)) for i in range(45)]
    for i, subject in enumerate(subjects):
        rename(subject, f"测试翻页公司{i:02d}")
    for subject in subjects[:5]:
        rename(subject, Subject.objects.get(pk=subject.pk).name + "（更名）")
    seen, page = [], 1
    while page:
        answer = get(client, "翻页", page=page).json()
        seen += [r["unit_name"] for r in answer["results"]]
        page = answer["next"]
    assert len(seen) == 45
    assert sorted(seen) == sorted(Subject.objects.get(pk=s.pk).name for s in subjects)


def force_phrase_plan(monkeypatch, plan: str) -> None:
    """PostgreSQL takes ``plan`` for every phrase, with the ``rare`` parameter it needs (any bigram of the phrase
    for "posting": each match holds all of them)."""
    from beian.lookup import selectors
    from beian.registry.search import rare_bigrams

    def forced(term):
        rare = {"posting": term.split()[-1], "phrase": rare_bigrams(term)}.get(plan)
        return plan, rare

    monkeypatch.setattr(selectors, "_pg_phrase_plan", forced)


@pytest.mark.parametrize(  # PostgreSQL's plans ("phrase" needs an uncommon bigram), and the one it judges
    "plan",
    [
        pytest.param("ordered", marks=pytest.mark.postgres),
        pytest.param("all", marks=pytest.mark.postgres),
        pytest.param("posting", marks=pytest.mark.postgres),
        None,
    ],
)
@pytest.mark.parametrize("count", [25, 5])
def test_a_phrase_of_common_bigrams_finds_exactly_the_names_holding_it(client, count, plan, monkeypatch):
    # 有限 限公 公司 are in most unit names: PostgreSQL reads a phrase in id order or through its index, as its
    # sample of names judges cheaper (plan None); whichever plan runs, exactly the names holding the phrase, each once
    from beian.lookup import selectors

    if plan:
        force_phrase_plan(monkeypatch, plan)
    monkeypatch.setattr(selectors, "_sample", None)  # judged on this test's names
    owner = f.user()
    holding = []
    for i in range(count):
        subject = f.filed_subject(owner, domains_per_site=([f"common{i}.cn"],))
        rename(subject, f"测试{i:02d}有限公司")
        holding.append(f"测试{i:02d}有限公司")
    for i, name in enumerate(["有限责任公司测", "公司有限测试", "有限公测司"]):  # the bigrams, not the phrase
        rename(f.filed_subject(owner, domains_per_site=([f"near{i}.cn"],)), name)
    seen, page = [], 1
    while page:
        answer = get(client, "有限公司", page=page).json()
        seen += [r["unit_name"] for r in answer["results"]]
        page = answer["next"]
    assert sorted(seen) == sorted(holding)


@pytest.mark.parametrize(
    "plan", ["ordered", "phrase", "all", "posting", None]
)  # the contains tier's plans (PostgreSQL)
def test_a_shell_subject_takes_no_place_on_a_page(client, plan, monkeypatch):
    """空壳主体: an active subject whose last website was cancelled has nothing to show; a page of names is ten
    subjects that do, then the next page, in either tier."""
    from beian.registry.models import Website

    if plan:
        force_phrase_plan(monkeypatch, plan)
    owner = f.user()
    listed = []
    for i in range(16):
        name = f"{'空壳测试' if i % 2 else '测试空壳'}公司{i:02d}"  # half in the prefix tier, half only contain it
        subject = f.filed_subject(owner, domains_per_site=([f"shell{i}.cn"],))
        rename(subject, name)
        if i % 4 == 3:
            Website.objects.filter(subject=subject).update(status="cancelled")
        else:
            listed.append(name)
    pages = [get(client, "空壳", page=n).json() for n in (1, 2)]
    assert [p["next"] for p in pages] == [2, None]
    seen = [[r["unit_name"] for r in p["results"]] for p in pages]
    assert [len(names) for names in seen] == [10, 2]
    assert sorted(seen[0] + seen[1]) == sorted(listed)


@pytest.mark.parametrize(
    "plan", ["ordered", "prefix", None]
)  # each plan for one character, and the judged one
def test_one_character_finds_exactly_the_names_holding_it_anywhere(client, plan, monkeypatch):
    # the character first, inside, last (its own token) and twice; names without it are not found
    from beian.lookup import selectors

    if plan:
        monkeypatch.setattr(selectors, "_char_plan", lambda char: plan)
    monkeypatch.setattr(selectors, "_sample", None)  # judged on this test's names
    owner = f.user()
    holding = [f"鑫{i:02d}测试公司" for i in range(8)] + [f"测{i:02d}鑫试公司" for i in range(8)]
    holding += ["测试公司鑫", "鑫测试鑫鑫公司"]
    for i, name in enumerate([*holding, "测试公司甲", "金金金公司"]):
        rename(f.filed_subject(owner, domains_per_site=([f"char{i}.cn"],)), name)
    seen, page = [], 1
    while page:
        answer = get(client, "鑫", page=page).json()
        seen += [r["unit_name"] for r in answer["results"]]
        page = answer["next"]
    assert sorted(seen) == sorted(holding)
    starting = sorted(n for n in holding if n.startswith("鑫"))
    assert seen[: len(starting)] == starting  # the prefix tier first, in code point order


def test_a_common_character_is_read_in_id_order_and_a_rare_one_through_the_index(monkeypatch):
    from beian.lookup import selectors

    owner = f.user()
    for i in range(30):
        rename(f.filed_subject(owner, domains_per_site=([f"pc{i}.cn"],)), f"测试{i:02d}州立有限公司")
    rename(f.filed_subject(owner, domains_per_site=(["pcrare.cn"],)), "独一无二科技有限公司")
    monkeypatch.setattr(selectors, "_sample", None)
    assert selectors._char_plan("州") == "ordered"
    assert selectors._char_plan("独") == "prefix"
    assert selectors._char_plan("无") == "prefix"


@pytest.mark.postgres
def test_postgresql_judges_a_phrase_s_plan_from_the_sample(monkeypatch):
    """The plan follows the sample: a phrase most names hold is read in id order (it stops after a page); a phrase
    some names hold, or even one, walks its rarest bigram's rows (at millions of subjects its posting lists would
    be long); a phrase no sampled name holds goes to the index, whose posting lists are then short; two characters are one
    bigram, whose rows are exactly its matches."""
    import dataclasses

    from beian.lookup import selectors
    from beian.registry.search import query_terms

    owner = f.user()
    for i in range(30):
        rename(f.filed_subject(owner, domains_per_site=([f"plan{i}.cn"],)), f"测试{i:02d}餐饮管理有限公司")
    for i in range(5):
        rename(f.filed_subject(owner, domains_per_site=([f"dish{i}.cn"],)), f"测试{i:02d}独特餐厅有限公司")
    rename(f.filed_subject(owner, domains_per_site=(["rare.cn"],)), "独一无二科技有限公司")
    monkeypatch.setattr(selectors, "_sample", None)
    sample = selectors._name_sample()
    assert selectors._name_sample() is sample  # kept between queries
    monkeypatch.setattr(
        selectors, "_sample", dataclasses.replace(sample, active=3_000_000)
    )  # the scale

    def plan(q):
        return selectors._pg_phrase_plan(query_terms(q, "postgresql")[1])

    assert plan("餐饮管理") == ("ordered", None)
    assert plan("独特餐厅") == ("posting", "独特")  # the first of its equally rare bigrams
    assert plan("独一无二") == ("posting", "独一")  # held once: too few to judge by, its rarest bigram walked
    assert plan("没有这个") == ("phrase", "没有 有这 这个")
    assert plan("腾讯") == ("bigram", "腾讯")


@pytest.mark.postgres
def test_postgresql_judges_a_rare_phrase_s_plan_from_the_bigram_counts(monkeypatch):
    """A phrase the sample holds once or twice walks its rarest bigram's rows, the rarest as counted; one the sample
    never holds asks GIN for its two rarest bigrams when the rarest is in few names (for the rarest alone when the
    next is in many), else for its uncommon bigrams, or its two rarest when all are common. Without counts (never
    counted) it judges as before them."""
    import dataclasses

    from beian.lookup import selectors
    from beian.registry.search import query_terms

    owner = f.user()
    rename(f.filed_subject(owner, domains_per_site=(["once.cn"],)), "测试星河远航科技有限公司")
    for i in range(3):
        rename(f.filed_subject(owner, domains_per_site=([f"pad{i}.cn"],)), f"测试{i}远方文化有限公司")
    monkeypatch.setattr(selectors, "_sample", None)
    sample = selectors._name_sample()
    assert sample.rows == {}  # never counted in this test's database

    def plan(q, **rows):
        counted = {
            b: rows.get(b, 0)
            for b in ("星河", "河远", "远航", "没有", "有这", "这个", "互联", "联网", "网络")
        }
        given = dataclasses.replace(sample, active=3_000_000, rows=counted if rows else {})
        monkeypatch.setattr(selectors, "_sample", given)
        return selectors._pg_phrase_plan(query_terms(q, "postgresql")[1])

    # held once in the sample: the rows of its rarest bigram, by the counts (by the sample when never counted)
    assert plan("星河远航", 星河=9000, 河远=300, 远航=5000) == ("posting", "河远")
    assert plan("星河远航") == ("posting", "星河")  # equally rare in the sample: the first
    # never held: GIN
    assert plan("没有这个") == ("phrase", "没有 有这 这个")  # never counted: its uncommon bigrams
    assert plan("没有这个", 没有=40, 有这=150, 这个=90000) == ("phrase", "没有 有这")
    assert plan("没有这个", 没有=40, 有这=8000, 这个=90000) == ("phrase", "没有")
    assert plan("没有这个", 没有=400, 有这=800, 这个=90000) == ("phrase", "没有 有这 这个")
    assert plan("互联网络", 互联=9000, 联网=12000, 网络=260000) == ("phrase", "互联 联网")  # all common
    assert plan("互联网络") == ("all", None)


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
def test_only_the_public_querys_statements_are_prepared_on_postgresql(client, filings):
    """Django's statements stay unprepared (the connection's prepare_threshold stays None); what is prepared is the
    public query's own: here the name function's call (lookup.db), whose plans keep to the indexes
    (tests/lookup/test_pg_execution.py)."""
    for _ in range(10):
        assert get(client, "腾讯").status_code == 200
    assert connection.connection.prepare_threshold is None
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        assert [s for (s,) in cur.fetchall() if "beian_name_page(" not in s] == []


@pytest.mark.postgres  # SQLite's in-memory test database is never closed
@pytest.mark.django_db(transaction=True)
def test_the_lane_closes_a_connection_past_its_age_as_django_would(client):
    """Outside a test's transaction, as in `beian serve`: after answering, the lane closes a connection past
    CONN_MAX_AGE (what Django's request_finished does), and the next query opens a fresh one."""
    import time

    f.filed_subject(f.user(), domains_per_site=(["aged.cn"],))
    assert client.get(PATH, {"q": "aged.cn"}).served_by_lane
    assert connection.connection is not None  # kept between requests (CONN_MAX_AGE)
    connection.close_at = time.monotonic() - 1
    answer = client.get(PATH, {"q": "aged.cn"})
    assert answer.served_by_lane and answer.json()["results"][0]["domain"] == "aged.cn"
    assert connection.connection is None
    assert client.get(PATH, {"q": "aged.cn"}).json()["results"][0]["domain"] == "aged.cn"


def test_a_phrase_is_found_whole_not_as_its_bigrams_scattered(client):
    """The index is asked for a phrase's uncommon bigrams; a name holding them apart is not a match."""
    owner = f.user()
    rename(f.filed_subject(owner, domains_per_site=(["whole.cn"],)), "深圳腾讯音乐娱乐科技有限公司")
    rename(f.filed_subject(owner, domains_per_site=(["apart.cn"],)), "讯音工作室与音乐乐娱公司")
    assert names(client, "讯音乐娱") == ["深圳腾讯音乐娱乐科技有限公司"]
    assert names(client, "音乐娱乐科技") == ["深圳腾讯音乐娱乐科技有限公司"]
