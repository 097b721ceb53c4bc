"""Web security of the console and the API: CSRF on every POST form found by crawling the pages, security
headers on every HTML response, secure cookies behind HTTPS, HTML-escaping of everything a user can type,
and injection strings in every query field.

Already pinned in tests/web/test_pages.py, not repeated: a fixed list of 18 POST endpoints refuses a post
without its token (here the forms are *found* on the pages, so a new form cannot be forgotten), ``fetch``
checks each page it renders for inline script/style and a CSRF token in every POST form, and the block
page escapes ``?host=<script>``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from urllib.parse import quote, urlencode, urlparse

import pytest
from django.db import connection
from django.test import Client

from beian.accounts.models import User
from beian.accounts.services import token_create
from beian.lookup import throttle as public_throttle
from beian.orders import services
from beian.orders.models import Order
from beian.orders.workflow import Action, move
from beian.registry.models import Subject, Website
from tests import factories as f
from tests.web.conftest import Page, page_problems, parse

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(autouse=True)
def _fresh_public_buckets():
    public_throttle.reset()
    yield
    public_throttle.reset()


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def bearer(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_create(user=user, name='t')}"})


# --- a world with one of every page ------------------------------------------------------------------


@pytest.fixture
def people(db):
    return {
        "owner": f.user(),
        "provider": f.user(role="provider_reviewer"),
        "bureau": f.user(role="bureau_reviewer", province="11"),
        "admin": f.user(role="admin"),
    }


@pytest.fixture
def world(people, settings):
    """A subject with every action open (a served and a shell website), an order at the provider, one at
    the bureau, and one awaiting its SMS code."""
    owner = people["owner"]
    free = f.filed_subject_sites(
        owner, [{"domains": ["free-a.cn"]}, {"domains": ["free-b.cn"], "served": False}]
    )
    at_provider = f.filed_subject(owner, domains_per_site=(["prov-a.cn"],))
    provider_order = services.change_website_submit(
        actor=owner, website=at_provider.websites.get(), changes={"name": "新名字"}
    )
    at_bureau = f.filed_subject(owner, domains_per_site=(["bur-a.cn"], ["bur-b.cn"]))
    bureau_order = services.cancel_website_submit(
        actor=owner, website=at_bureau.websites.get(sequence=2), password=f.PASSWORD
    )
    settings.BEIAN_CANCELLATION_VERIFICATION = "sms"
    sms = f.filed_subject(owner, domains_per_site=(["sms-a.cn"],))
    sms_order = services.cancel_subject_submit(actor=owner, subject=sms)
    settings.BEIAN_CANCELLATION_VERIFICATION = "password"
    return {
        "free": free,
        "served": free.websites.get(sequence=1),
        "shell": free.websites.get(sequence=2),
        "provider_order": provider_order,
        "bureau_order": bureau_order,
        "sms_order": sms_order,
        "at_bureau": at_bureau,
    }


def pages_by_role(people, world) -> dict[str, list[tuple[str, int]]]:
    free, served, shell = world["free"], world["served"], world["shell"]
    po, bo, so = world["provider_order"], world["bureau_order"], world["sms_order"]
    return {
        "anonymous": [
            ("/", 200),
            ("/accounts/login/", 200),
            ("/filing-password/recover/", 200),
            ("/filing-password/reset?token=abc", 200),
            ("/query/?q=腾讯", 200),
            ("/inspect/?q=example.cn", 200),
            ("/provinces/", 200),
            ("/provinces/43", 200),
            ("/blocked/?host=x.cn", 403),
            ("/admin/login/", 200),
        ],
        "owner": [
            ("/subjects/", 200),
            (f"/subjects/{free.pk}/", 200),
            (f"/subjects/{world['at_bureau'].pk}/", 200),
            (f"/subjects/{po.subject_id}/", 200),
            (f"/subjects/{free.pk}/cancel/", 200),
            (f"/subjects/{free.pk}/change/", 200),
            (f"/subjects/{free.pk}/add-website/", 200),
            (f"/websites/{served.pk}/cancel/", 200),
            (f"/websites/{served.pk}/change/", 200),
            (f"/websites/{served.pk}/cancel-access/", 200),
            (f"/websites/{shell.pk}/add-access/", 200),
            (f"/websites/{po.website_id}/cancel/", 409),  # blocked: offers to abandon the open order
            ("/filings/new/", 200),
            ("/orders/", 200),
            (f"/orders/{po.pk}/", 200),
            (f"/orders/{bo.pk}/", 200),
            (f"/orders/{so.pk}/verify/", 200),
        ],
        "provider": [("/review/provider/", 200), (f"/review/orders/{po.pk}/", 200)],
        "bureau": [
            ("/review/bureau/", 200),
            (f"/review/orders/{bo.pk}/", 200),
            ("/bureau/offline/", 200),
            (f"/bureau/offline/?number={quote(world['at_bureau'].number)}", 200),
            ("/bureau/shells/", 200),
        ],
    }


def client_for(role: str, people, **kwargs) -> Client:
    return Client(**kwargs) if role == "anonymous" else signed_in(people[role], **kwargs)


def post_forms(page: Page, url: str) -> list[tuple[str, dict]]:
    """Every POST target on the page (a form's action, and each button's formaction) with the data the form
    would send as it stands (hidden fields, pre-filled values, checked boxes), without the CSRF token."""
    targets = []
    for form in page.doc.find_all("form"):
        if form.attrs.get("method", "get").lower() != "post":
            continue
        data: dict[str, list[str]] = {}
        for node in form.iter():
            name = node.attrs.get("name")
            if not name or name == "csrfmiddlewaretoken":
                continue
            if node.tag == "input" and node.attrs.get("type") in ("checkbox", "radio"):
                data.setdefault(name, []).append(node.attrs.get("value", "on"))
            elif node.tag in ("input", "button"):
                data.setdefault(name, []).append(node.attrs.get("value", ""))
            elif node.tag == "textarea":
                data.setdefault(name, []).append(node.text() or "x")
            elif node.tag == "select":
                options = node.find_all("option")
                data.setdefault(name, []).append(options[0].attrs.get("value", "") if options else "")
        action = form.attrs.get("action") or url
        targets.append((action, data))
        for button in form.find_all("button"):
            if button.attrs.get("formaction"):
                targets.append((button.attrs["formaction"], data))
    return targets


def endpoint(path: str) -> str:
    """A POST target with its ids and query string taken out: /orders/<id>/abandon/."""
    return re.sub(r"/\d+(?=/|$)", "/<id>", urlparse(path).path)


def test_every_post_form_found_on_any_page_refuses_a_post_without_its_csrf_token(people, world):
    orders_before = {o.pk: o.state for o in Order.objects.all()}
    subjects_before = Subject.objects.count()
    found: set[str] = set()
    for role, urls in pages_by_role(people, world).items():
        client = client_for(role, people, enforce_csrf_checks=True)
        for url, status in urls:
            page = Page(client.get(url))
            assert page.status == status, (role, url, page.status)
            for action, data in post_forms(page, url):
                found.add(endpoint(action))
                response = client.post(action, data)
                assert response.status_code == 403 and b"CSRF" in response.content, (role, url, action)
    expected = {
        "/accounts/login/",
        "/accounts/logout/",
        "/i18n/setlang/",
        "/filing-password/recover/",
        "/filing-password/reset",
        "/admin/login/",
        "/subjects/<id>/cancel/",
        "/subjects/<id>/change/",
        "/subjects/<id>/add-website/",
        "/websites/<id>/cancel/",
        "/websites/<id>/change/",
        "/websites/<id>/cancel-access/",
        "/websites/<id>/add-access/",
        "/filings/new/",
        "/orders/<id>/abandon/",
        "/orders/<id>/verify/",
        "/orders/<id>/resend/",
        "/review/orders/<id>/approve/",
        "/review/orders/<id>/reject/",
        "/bureau/offline/",
        "/bureau/shells/",
    }
    assert expected <= found, f"forms not found on any page: {expected - found}"
    # Nothing happened: no order moved or appeared, no subject, the shell is not cancelled, still signed in.
    assert {o.pk: o.state for o in Order.objects.all()} == orders_before
    assert Subject.objects.count() == subjects_before
    assert Website.objects.get(pk=world["shell"].pk).status == "active"
    client = signed_in(people["owner"], enforce_csrf_checks=True)
    client.post("/accounts/logout/")
    assert client.get("/subjects/").status_code == 200


def test_the_api_refuses_a_session_post_without_csrf_but_not_a_bearer_token(people, world):
    owner, site = people["owner"], world["served"]
    submit = {"kind": "cancel_access", "website": site.pk, "reason": "x"}
    dry_run = {"kind": "cancel_website", "website": site.pk, "password": f.PASSWORD, "dry_run": True}
    browser = signed_in(owner, enforce_csrf_checks=True)

    def post(client, body, **headers):
        return client.post("/api/v1/orders", json.dumps(body), content_type="application/json", **headers)

    r = post(browser, submit)
    assert r.status_code == 403 and b"CSRF" in r.content
    assert not Order.objects.filter(website=site).exists()
    token = browser.get("/subjects/").cookies["csrftoken"].value  # what the pages' htmx sends as a header
    assert post(browser, dry_run, HTTP_X_CSRFTOKEN=token).status_code == 200
    # A Bearer token is never sent by a browser on its own: no CSRF token is needed with it.
    api = bearer(owner)
    api.cookies = browser.cookies
    assert post(api, dry_run).status_code == 200


# --- security headers ----------------------------------------------------------------------------


def header_problems(response) -> list[str]:
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    if not csp:
        problems.append("no Content-Security-Policy")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append(f"CSP allows inline code or eval: {csp}")
    if directives.get("script-src", directives.get("default-src")) != ["'self'"]:
        problems.append(f"script-src is not 'self' alone: {csp}")
    if response.headers.get("X-Frame-Options") != "DENY" and directives.get("frame-ancestors") != ["'none'"]:
        problems.append("framing allowed")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy") not in {"same-origin", "no-referrer", "strict-origin"}:
        problems.append(f"Referrer-Policy {response.headers.get('Referrer-Policy')!r} leaks URLs")
    return problems


def test_every_html_response_has_a_strict_csp_no_framing_nosniff_and_a_referrer_policy(people, world):
    responses = []
    for role, urls in pages_by_role(people, world).items():
        client = client_for(role, people)
        responses += [(role, url, client.get(url)) for url, _ in urls]
    owner = client_for("owner", people)
    responses += [
        ("anonymous", "/no-such-page/ (404)", Client().get("/no-such-page/")),
        ("owner", "/subjects/999999/ (404)", owner.get("/subjects/999999/")),
        ("owner", "/review/provider/ (403)", owner.get("/review/provider/")),
        ("anonymous", "CSRF failure (403)", Client(enforce_csrf_checks=True).post("/accounts/login/", {})),
        ("anonymous", "/api/v1/docs", Client().get("/api/v1/docs")),
        (
            "owner",
            "sign-in form error",
            Client().post("/accounts/login/", {"username": "x", "password": "y"}),
        ),
    ]
    html = 0
    for role, url, response in responses:
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        html += 1
        assert not header_problems(response), (role, url, header_problems(response))
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert html >= 40
    # The API docs page works under the same policy: its only scripts are this origin's files.
    docs = parse(Client().get("/api/v1/docs").content.decode())
    scripts = docs.find_all("script")
    assert scripts and all("src" in s.attrs or s.attrs.get("type") == "application/json" for s in scripts)
    # Our own pages keep the rules the policy needs (no inline script or style, tokens in forms).
    for role, url, response in responses:
        if urlparse(url).path.startswith(("/admin/", "/api/")) or " " in url:
            continue
        assert not page_problems(response), (role, url, page_problems(response))


def test_json_responses_are_not_sniffed_or_framed(people, world):
    for response in (
        Client().get("/api/v1/public/filings", {"q": "腾讯"}),
        Client().get("/api/v1/inspect", {"q": "example.cn"}),
        bearer(people["owner"]).get(f"/api/v1/orders/{world['provider_order'].pk}"),
        Client().get("/api/v1/orders"),  # 401
    ):
        assert response["Content-Type"].startswith("application/json")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


# --- cookies over HTTPS ----------------------------------------------------------------------------
# BEIAN_SECURE_COOKIES is read when settings are imported: the module is loaded again under the
# environment of a deployment and its values applied to the running settings.


def load_settings(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("BEIAN_HOME", str(tmp_path))
    monkeypatch.delenv("BEIAN_SECURE_COOKIES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import beian.web.settings as running

    spec = importlib.util.spec_from_file_location("beian_settings_probe", running.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HTTPS_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
)


def apply(settings, module) -> None:
    from django.conf import global_settings

    for name in HTTPS_SETTINGS:
        setattr(settings, name, getattr(module, name, getattr(global_settings, name)))


def test_cookies_are_plain_by_default_for_local_http(monkeypatch, tmp_path, settings):
    module = load_settings(monkeypatch, tmp_path)
    assert module.SESSION_COOKIE_SECURE is False and module.CSRF_COOKIE_SECURE is False
    assert getattr(module, "SECURE_HSTS_SECONDS", 0) == 0  # HSTS on a dev box over http would lock it out
    apply(settings, module)
    client = Client()
    r = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert r.status_code == 200 and "Strict-Transport-Security" not in r.headers


def test_beian_secure_cookies_marks_the_session_and_csrf_cookies_secure(monkeypatch, tmp_path, settings):
    module = load_settings(monkeypatch, tmp_path, BEIAN_SECURE_COOKIES="1")
    apply(settings, module)
    user = f.user("cookie-user")
    client = Client()
    page = client.get("/accounts/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    r = client.post(
        "/accounts/login/",
        {"username": user.username, "password": "pw-cookie-user"},
        secure=True,
    )
    assert r.status_code == 302
    session = r.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_behind_an_https_proxy_hsts_is_sent_and_forms_accept_the_https_origin(
    monkeypatch, tmp_path, settings
):
    """nginx ends TLS and forwards plain HTTP with X-Forwarded-Proto: https. With BEIAN_SECURE_COOKIES=1 the
    application must believe it (SECURE_PROXY_SSL_HEADER) so that HSTS is sent and a browser's sign-in
    (Origin: https://…) passes the CSRF origin check.

    FAILS until settings.py sets, under BEIAN_SECURE_COOKIES: SECURE_PROXY_SSL_HEADER =
    ("HTTP_X_FORWARDED_PROTO", "https") and SECURE_HSTS_SECONDS (one year); see the report."""
    module = load_settings(monkeypatch, tmp_path, BEIAN_SECURE_COOKIES="1")
    apply(settings, module)
    assert getattr(module, "SECURE_PROXY_SSL_HEADER", None) == ("HTTP_X_FORWARDED_PROTO", "https")
    assert getattr(module, "SECURE_HSTS_SECONDS", 0) >= 31_536_000
    user = f.user("proxy-user")
    # What nginx passes on: the browser's Host, and the scheme it was reached with.
    client = Client(enforce_csrf_checks=True, HTTP_HOST="testserver", HTTP_X_FORWARDED_PROTO="https")
    page = client.get("/accounts/login/")
    assert int(re.search(r"max-age=(\d+)", page["Strict-Transport-Security"]).group(1)) >= 31_536_000
    token = Page(page).csrf_token()
    r = client.post(
        "/accounts/login/",
        {"username": user.username, "password": "pw-proxy-user", "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="https://testserver",
    )
    assert r.status_code == 302, r.content[:500]
    assert r.cookies["sessionid"]["secure"]


# --- HTML escaping of everything a user can type -----------------------------------------------------


@pytest.fixture
def xss(people, settings):
    """Subjects, websites, orders and notes whose every free-text field is ``<script>alert(1)</script>``."""
    owner, provider = people["owner"], people["provider"]
    home = f"http://xss-one.cn/?q={XSS}"
    one = f.imported_subject(
        owner,
        name=XSS,
        address=XSS,
        responsible_name=XSS,
        sites=[
            {"name": XSS, "homepage": home, "content_type": XSS, "domains": ["xss-one.cn"]},
            {"name": XSS, "domains": ["xss-shell.cn"], "served_here": False},
        ],
    )
    at_provider = services.change_website_submit(
        actor=owner, website=one.websites.get(sequence=1), changes={"name": "新" + XSS}
    )
    two = f.imported_subject(owner, name=XSS, sites=[{"name": XSS, "domains": ["xss-two.cn"]}])
    at_bureau = services.cancel_website_submit(
        actor=owner, website=two.websites.get(), password=f.PASSWORD, reason=XSS
    )
    three = f.imported_subject(owner, name=XSS, sites=[{"name": XSS, "domains": ["xss-three.cn"]}])
    rejected = services.change_website_submit(
        actor=owner, website=three.websites.get(), changes={"name": "改" + XSS}
    )
    move(rejected, Action.PROVIDER_REJECT, actor=provider, note=XSS)
    shell = f.imported_subject(owner, name=XSS, sites=[])
    return {
        "one": one,
        "two": two,
        "shell": shell,
        "at_provider": at_provider,
        "at_bureau": at_bureau,
        "rejected": rejected,
    }


def assert_escaped(response, where: str, status: int = 200) -> None:
    html = response.content.decode()
    assert response.status_code == status, (where, response.status_code)
    assert XSS not in html, f"{where}: the raw <script> is in the page"
    assert ESCAPED in html, f"{where}: the text is not shown (escaped) at all"


def test_user_text_is_escaped_on_every_page_that_shows_it(people, xss):
    one = xss["one"]
    pages = {
        "owner": [
            "/subjects/",
            f"/subjects/{one.pk}/",
            f"/subjects/{xss['shell'].pk}/",
            "/orders/",
            f"/orders/{xss['at_provider'].pk}/",
            f"/orders/{xss['at_bureau'].pk}/",
            f"/orders/{xss['rejected'].pk}/",
        ],
        "provider": ["/review/provider/", f"/review/orders/{xss['at_provider'].pk}/"],
        "bureau": [
            "/review/bureau/",
            f"/review/orders/{xss['at_bureau'].pk}/",
            f"/bureau/offline/?number={quote(one.number)}",
            "/bureau/shells/",
        ],
        "anonymous": [f"/query/?{urlencode({'q': XSS})}", f"/query/?{urlencode({'q': one.number})}"],
    }
    for role, urls in pages.items():
        client = client_for(role, people)
        for url in urls:
            assert_escaped(client.get(url), f"{role} {url}")


def test_text_echoed_from_the_request_is_escaped(people):
    anonymous, bureau = Client(), signed_in(people["bureau"])
    cases = [
        ("sign-in name", anonymous.post("/accounts/login/", {"username": XSS, "password": "x"})),
        ("inspect", anonymous.get("/inspect/", {"q": XSS})),
        ("public query", anonymous.get("/query/", {"q": XSS})),
        (
            "recovery",
            anonymous.post(
                "/filing-password/recover/",
                {"number": XSS, "certificate_type": "uscc", "certificate_number": XSS},
            ),
        ),
        ("offline lookup", bureau.get("/bureau/offline/", {"number": XSS})),
    ]
    for where, response in cases:
        assert_escaped(response, where)
    r = anonymous.get("/validate/domain", {"domain": XSS})
    assert r.status_code == 200 and XSS not in r.content.decode()


def test_the_json_api_returns_user_text_as_data(people, xss):
    owner = bearer(people["owner"])
    r = owner.get(f"/api/v1/subjects/{xss['one'].pk}")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["name"] == XSS and XSS in json.dumps(body, ensure_ascii=False)
    r = owner.get(f"/api/v1/orders/{xss['rejected'].pk}")
    assert r.status_code == 200 and XSS in json.dumps(r.json(), ensure_ascii=False)
    r = Client().get("/api/v1/public/filings", {"q": XSS})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    rows = r.json()["results"]
    assert rows and {row["unit_name"] for row in rows} == {XSS}
    r = bearer(people["provider"]).get("/api/v1/reviews", {"stage": "provider"})
    assert r.status_code == 200 and XSS in json.dumps(r.json(), ensure_ascii=False)


# --- injection strings in every query field ---------------------------------------------------------

INJECTIONS = [
    "' OR 1=1 --",
    '"; DROP TABLE registry_subject; --',
    "'; DROP TABLE beian_subject; --",
    "%' UNION SELECT id, username, password FROM beian_user --",
    "1) OR (1=1",
    "\\",
    "\\' OR \\'1\\'=\\'1",
    "%",
    "_",
    "%_",
    "*",
    '"',
    "NEAR(a b)",
    "a OR b",
    "x" * 5000,
]
NUL = ["\x00", "a\x00b"]


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def test_injection_strings_in_every_query_field_get_a_normal_answer(people, world):
    before = (tables(), Subject.objects.count(), User.objects.count(), Order.objects.count())
    anonymous = Client()
    owner, provider = signed_in(people["owner"]), signed_in(people["provider"])
    bureau, admin = signed_in(people["bureau"]), signed_in(people["admin"])
    admin_api = bearer(people["admin"])
    owner_api = bearer(people["owner"])

    def check(response, allowed: set[int], where: str):
        assert response.status_code in allowed, (where, response.status_code, response.content[:300])

    for i, raw in enumerate(INJECTIONS + NUL):
        payload = repr(raw)[:60]
        path = quote(raw, safe="")
        if raw not in NUL:  # the public query with NUL: test_public_query_survives_a_nul_character
            r = anonymous.get("/api/v1/public/filings", {"q": raw})
            check(r, {200, 422}, f"public api {payload}")
            if r.status_code == 200:
                assert r.json()["results"] == [], payload
            r = anonymous.get("/query/", {"q": raw})
            check(r, {200}, f"public page {payload}")
            assert "没有查到有效的备案" in Page(r).text or len(raw) > 1000, payload
            r = anonymous.post(
                "/api/v1/public/filings:batch", json.dumps({"keys": [raw]}), content_type="application/json"
            )
            check(r, {200, 422}, f"batch {payload}")
        check(anonymous.get("/inspect/", {"q": raw}), {200}, f"inspect page {payload}")
        check(anonymous.get("/api/v1/inspect", {"q": raw}), {200, 400, 422}, f"inspect api {payload}")
        check(anonymous.get("/validate/domain", {"domain": raw}), {200}, f"validate {payload}")
        check(anonymous.get("/blocked/", {"host": raw}), {403}, f"blocked {payload}")
        check(anonymous.get(f"/provinces/{path}"), {404}, f"province page {payload}")
        check(anonymous.get(f"/api/v1/provinces/{path}"), {404}, f"province api {payload}")
        check(anonymous.get(f"/api/v1/filings/{path}/cancellation-form"), {400, 404, 422}, f"form {payload}")
        lists = (
            (owner, "/subjects/"),
            (owner, "/orders/"),
            (provider, "/review/provider/"),
            (bureau, "/review/bureau/"),
        )
        for client, url in lists if i < 4 or raw in NUL else ():  # no search box: ?q= etc. are ignored
            check(client.get(url, {"q": raw, "search": raw, "state": raw}), {200}, f"{url} {payload}")
        check(provider.get("/review/provider/", {"province": raw}), {404}, f"provider ?province {payload}")
        check(admin.get("/review/bureau/", {"province": raw}), {404}, f"admin ?province {payload}")
        check(admin.get("/bureau/shells/", {"province": raw}), {404}, f"shells ?province {payload}")
        check(bureau.get("/bureau/offline/", {"number": raw}), {200}, f"offline lookup {payload}")
        check(admin_api.get("/api/v1/shells", {"province": raw}), {400, 404, 422}, f"shells api {payload}")
        check(owner_api.get("/api/v1/orders", {"state": raw}), {422}, f"orders api {payload}")
        check(owner_api.get("/api/v1/subjects", {"q": raw}), {200}, f"subjects api {payload}")
        check(admin_api.get("/api/v1/reviews", {"stage": raw}), {422}, f"reviews api {payload}")
        check(
            anonymous.post("/accounts/login/", {"username": raw, "password": raw}, REMOTE_ADDR=f"10.7.{i}.1"),
            {200},
            f"sign-in {payload}",
        )
    assert (tables(), Subject.objects.count(), User.objects.count(), Order.objects.count()) == before
    assert {"beian_subject", "beian_website", "beian_domain", "beian_user"} <= before[0]


def test_public_query_survives_a_nul_character():
    """NUL cannot be stored in a PostgreSQL text value and no name holds one: the public query must answer
    "not found", not 500. FAILS on PostgreSQL until beian.lookup drops such a query (see the report)."""
    client = Client()
    for raw in NUL:
        r = client.get("/api/v1/public/filings", {"q": raw})
        assert r.status_code == 200 and r.json()["results"] == [], repr(raw)
        r = client.get("/query/", {"q": raw})
        assert r.status_code == 200 and "没有查到有效的备案" in Page(r).text, repr(raw)
        r = client.post(
            "/api/v1/public/filings:batch",
            json.dumps({"keys": [raw, "腾讯"]}),
            content_type="application/json",
        )
        assert r.status_code == 200 and r.json()[raw]["results"] == [], repr(raw)
    assert "beian_subject" in tables()


@pytest.fixture
def wildcard_names(people):
    owner = people["owner"]
    names = ["百分之百%科技有限公司", "下划线_科技有限公司", "普通科技有限公司", "另一家网络有限公司"]
    for i, name in enumerate(names):
        f.imported_subject(owner, name=name, sites=[{"name": "网站", "domains": [f"wild{i}.cn"]}])
    return names


def public_names(q: str) -> list[str]:
    r = Client().get("/api/v1/public/filings", {"q": q})
    assert r.status_code == 200, (q, r.status_code)
    return [row["unit_name"] for row in r.json()["results"]]


def test_like_wildcards_in_the_public_query_are_literal_characters(wildcard_names):
    """No tier of the name search uses LIKE: % and _ are characters. (The contains tier ignores punctuation,
    as it ignores （ vs ( in company names, so "科技%" finds what "科技" finds; it never widens a match.)"""
    for q in ("%", "_", "%%", "%_", "_%", "___"):
        got = public_names(q)
        assert all(set(q) & set(name) for name in got), (q, got)  # never "everything"
        assert "普通科技有限公司" not in got and "另一家网络有限公司" not in got, (q, got)
    assert public_names("百分之百%") == ["百分之百%科技有限公司"]
    assert public_names("下划线_") == ["下划线_科技有限公司"]
    for q in ("普%技", "普_科", "普__技", "另%有限"):  # would match as LIKE patterns
        assert public_names(q) == [], q
    page = Client().get("/query/", {"q": "%"})
    assert page.status_code == 200 and "普通科技有限公司" not in page.content.decode()
