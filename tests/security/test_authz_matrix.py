"""The authorisation matrix: every /api/v1 operation and every named page × every actor, one test per cell.

Actors: anonymous, applicant A, applicant B, the provider reviewer, the bureau reviewers of Beijing (X, 11)
and Shanghai (Y, 31), and an admin. Objects: A's Beijing subject/website and B's Shanghai ones, A's order at
the provider (OA) and B's (OB), an order in X's bureau queue (QX, A's) and one in Y's (QY, B's), an order id
that does not exist (NX), and one shell website per province (WA2, WB2).

Each cell states the expected status (``login`` = 302 to the sign-in page; ``>PATH`` = a redirect to a path
that starts with PATH). Every cell also checks the registry/workflow state before and after the request:
a cell without ``*`` must change nothing (a refusal, or a read); a cell with ``*`` must change something (the
allowed request is really exercised with a valid body; where the row has a ``probe``, that value must change).
List cells also check which of the tracked objects the actor sees (and that it sees no other).

Rules the table proves: another applicant's subject, website or order by id is 404 on the API and the pages;
a bureau reviewer neither sees nor decides another province's orders (404: the order is hidden, not refused);
anonymous gets 401 on the API and a redirect to sign-in on console pages; the public endpoints are open.
Role-gated endpoints (reviews, bureau pages, admin actions) answer 403 to the wrong role *before* any
lookup, whatever the id: the NX rows show that the answer is the same for an id that does not exist, so a 403
there tells nothing about another applicant's order.

The state is built once per module inside an outer transaction (rolled back at the end), and every cell
runs in its own savepoint (pytest-django's ``db``), so cells do not see each other's changes.

SQLite only: who may do what is decided in Python, the same on both backends (the PostgreSQL pass took 90 s of
the suite for no new answer); input that only PostgreSQL rejects is the fuzz suite's job, which runs on both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse

from beian.accounts.models import ApiToken, User
from beian.accounts.services import token_create, user_create
from beian.audit.models import AuditEntry
from beian.gate.models import FeedEntry
from beian.notify.models import DeliveryAttempt, OutboxMessage
from beian.offline.models import OfflineApplication
from beian.orders import services
from beian.orders.models import Order, OrderEvent
from beian.registry.models import Domain, PasswordResetToken, Subject, Website
from beian.web.api import api as ninja_api
from tests import factories as f

pytestmark = pytest.mark.sqlite_only

ACTORS = ("anonymous", "applicantA", "applicantB", "provider", "bureauX", "bureauY", "admin")
API = "/api/v1"
PDF = b"%PDF-1.4\n% scanned application\n"

# --- the objects ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authz_world(django_db_setup, django_db_blocker):
    """Users, tokens, sessions and objects, built once; rolled back when the module ends."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _build_world() -> SimpleNamespace:
    a, b = f.user("authz-a"), f.user("authz-b")
    users = {
        "anonymous": None,
        "applicantA": a,
        "applicantB": b,
        "provider": f.user("authz-provider", role="provider_reviewer"),
        "bureauX": f.user("authz-bureau-bj", role="bureau_reviewer", province="11"),
        "bureauY": f.user("authz-bureau-sh", role="bureau_reviewer", province="31"),
        "admin": user_create(username="authz-admin", password="pw-authz-admin", role="admin"),
    }
    tokens = {k: token_create(user=u, name="authz") if u else None for k, u in users.items()}
    sessions = {}
    for k, u in users.items():
        if u is not None:
            c = Client()
            c.force_login(u)
            sessions[k] = c.cookies[settings.SESSION_COOKIE_NAME].value

    # Idle subjects (no open order): a served website and a shell website (not served here) each.
    sa = f.filed_subject_sites(
        a, [{"domains": ["authz-a.cn"]}, {"domains": ["authz-a2.cn"], "served": False}]
    )
    sb = f.filed_subject_sites(
        b, [{"domains": ["authz-b.cn"]}, {"domains": ["authz-b2.cn"], "served": False}], province_abbr="沪"
    )
    # Orders at the provider (变更主体) and at the bureau (注销网站 goes straight there), one per province.
    sa2 = f.filed_subject(a, domains_per_site=(["authz-oa.cn"],))
    sb2 = f.filed_subject(b, province_abbr="沪", domains_per_site=(["authz-ob.cn"],))
    sa3 = f.filed_subject(a, domains_per_site=(["authz-qx.cn"], ["authz-qx2.cn"]))
    sb3 = f.filed_subject(b, province_abbr="沪", domains_per_site=(["authz-qy.cn"], ["authz-qy2.cn"]))
    oa = services.change_subject_submit(actor=a, subject=sa2, changes={"address": "北京市朝阳区"})
    ob = services.change_subject_submit(actor=b, subject=sb2, changes={"address": "上海市浦东新区"})
    qx = services.cancel_website_submit(
        actor=a, website=sa3.websites.get(sequence=1), password=f.PASSWORD, acknowledge_irreversible=True
    )
    qy = services.cancel_website_submit(
        actor=b, website=sb3.websites.get(sequence=1), password=f.PASSWORD, acknowledge_irreversible=True
    )
    assert (oa.state, ob.state, qx.state, qy.state) == ("provider_review",) * 2 + ("bureau_review",) * 2
    assert (oa.province, ob.province, qx.province, qy.province) == ("11", "31", "11", "31")

    objects = {
        "SA": sa,
        "SB": sb,
        "WA": sa.websites.get(sequence=1),
        "WA2": sa.websites.get(sequence=2),
        "WB": sb.websites.get(sequence=1),
        "WB2": sb.websites.get(sequence=2),
        "OA": oa,
        "OB": ob,
        "QX": qx,
        "QY": qy,
    }
    assert objects["WA2"].is_shell and objects["WB2"].is_shell
    ids = {k: o.pk for k, o in objects.items()}
    ids["NX"] = Order.objects.order_by("-pk").first().pk + 10_000  # an order id that does not exist
    return SimpleNamespace(users=users, tokens=tokens, sessions=sessions, ids=ids, **objects)


# --- state before / after ---------------------------------------------------------------------------------


def snapshot() -> dict:
    """The domain state a request may change. Left out on purpose: rate-limit buckets and counters (the
    sign-in, SMS-code and public-query throttles count refused attempts too), sessions, token last-use."""
    return {
        "orders": list(Order.objects.order_by("pk").values_list("pk", "state", "kind", "subject_id")),
        "events": OrderEvent.objects.count(),
        "audit": AuditEntry.objects.count(),
        "subjects": list(
            Subject.objects.order_by("pk").values_list(
                "pk", "status", "is_shell", "name", "address", "owner_id", "filing_password_hash"
            )
        ),
        "websites": list(Website.objects.order_by("pk").values_list("pk", "status", "served_here", "name")),
        "domains": list(Domain.objects.order_by("pk").values_list("pk", "name", "status")),
        "outbox": OutboxMessage.objects.count(),
        "deliveries": DeliveryAttempt.objects.count(),
        "feed": FeedEntry.objects.count(),
        "offline": OfflineApplication.objects.count(),
        "reset_tokens": PasswordResetToken.objects.count(),
        "users": User.objects.count(),
        "api_tokens": ApiToken.objects.count(),
    }


# --- the table --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    surface: str  # "api" | "page"
    method: str
    route: str  # API: the OpenAPI path; page: the URL name
    expect: tuple[str, ...]  # one per actor, in ACTORS order
    on: str = ""  # the object, in the test id
    url: Callable[[Any], str] | None = None  # the path (and query) from the world
    body: Callable[[Any], Any] | None = None  # JSON (API) or form data (pages)
    multipart: bool = False
    probe: Callable[[Any], Any] | None = None  # a value an allowed POST must change
    sees: dict[str, set[str]] | None = None  # list rows: actor -> tracked objects it sees
    listed: Callable[[Any], set[int]] | None = None  # the ids a list response shows
    universe: tuple[str, ...] = ()  # the tracked objects of a list row
    contains: dict[str, str] = field(default_factory=dict)  # actor -> a text the body must hold


def _e(spec: str) -> tuple[str, ...]:
    cells = tuple(spec.split())
    assert len(cells) == len(ACTORS), spec
    return cells


def ref(key: str) -> str:
    """The placeholder of an object's id in a path: ``{OA}``."""
    return "{" + key + "}"


def fmt(w, template: str) -> str:
    return template.format(**w.ids, WA_number=w.WA.number)


ROWS: list[Row] = []


def api(method: str, path: str, spec: str, *, on: str = "", fill: str | None = None, query: str = "", **kw):
    """``fill`` is the path with the placeholders of the world's ids (``{OA}``) in place of OpenAPI's."""
    concrete = fill if fill is not None else path

    def url(w) -> str:
        return API + fmt(w, concrete) + (("?" + fmt(w, query)) if query else "")

    ROWS.append(Row("api", method, path, _e(spec), on=on, url=url, **kw))


def page(method: str, name: str, spec: str, *, on: str = "", args=(), kwargs=None, query: str = "", **kw):
    def url(w) -> str:
        filled = {k: fmt(w, str(v)) for k, v in kwargs.items()} if kwargs else None
        path = reverse(name, args=[fmt(w, str(a)) for a in args], kwargs=filled)
        return path + (("?" + fmt(w, query)) if query else "")

    ROWS.append(Row("page", method, name, _e(spec), on=on, url=url, **kw))


def _json_ids(response) -> set[int]:
    return {item["id"] for item in response.json()}


def _hrefs(pattern: str) -> Callable[[Any], set[int]]:
    return lambda response: {int(m) for m in re.findall(pattern, response.content.decode())}


def _state(key: str) -> Callable[[Any], Any]:
    return lambda w: Order.objects.filter(pk=w.ids[key]).values_list("state", flat=True).first()


def _orders_of(key: str) -> Callable[[Any], int]:
    """The number of orders of subject ``key`` (or of the website ``key``'s subject)."""

    def count(w) -> int:
        obj = getattr(w, key)
        subject_id = obj.subject_id if isinstance(obj, Website) else obj.pk
        return Order.objects.filter(subject_id=subject_id).count()

    return count


def _website_status(key: str) -> Callable[[Any], Any]:
    return lambda w: Website.objects.get(pk=w.ids[key]).status


ORDER_SEES = {
    "applicantA": {"OA", "QX"},
    "applicantB": {"OB", "QY"},
    "provider": {"OA", "OB", "QX", "QY"},
    "bureauX": {"OA", "QX"},  # its province's orders, whatever the stage
    "bureauY": {"OB", "QY"},
    "admin": {"OA", "OB", "QX", "QY"},
}
SUBJECT_SEES = {
    "applicantA": {"SA"},
    "applicantB": {"SB"},
    "provider": {"SA", "SB"},
    "bureauX": {"SA"},
    "bureauY": {"SB"},
    "admin": {"SA", "SB"},
}
PROVIDER_QUEUE = {"provider": {"OA", "OB"}, "admin": {"OA", "OB"}}
BUREAU_QUEUE = {"bureauX": {"QX"}, "bureauY": {"QY"}, "admin": {"QX", "QY"}}


def new_filing_api(w) -> dict:
    return f.new_filing_body(domain="authz-new.cn", n=990_001)


def new_filing_form(w) -> dict:
    args = f.new_filing_args(domain="authz-new-page.cn", n=990_002)
    return {
        "province": args["province"],
        "nature": args["nature"],
        "certificate_type": args["certificate_type"],
        "certificate_number": args["certificate_number"],
        **args["subject"],
        "website_name": args["website"]["name"],
        "homepage": "",
        "content_type": "",
        "website_responsible_name": args["website"]["responsible_name"],
        "website_responsible_mobile": args["website"]["responsible_mobile"],
        "website_responsible_email": args["website"]["responsible_email"],
        "domain": args["domain"],
    }


def subject_form(w) -> dict:
    s = w.SA
    return {
        "name": s.name,
        "address": "北京市西城区",  # the change
        "responsible_name": s.responsible_name,
        "responsible_mobile": s.responsible_mobile,
        "responsible_email": s.responsible_email,
    }


def website_form(w, *, key: str = "WA", name: str = "改名后的网站", with_domain: bool = False) -> dict:
    site = getattr(w, key)
    data = {
        "website_name": name,
        "homepage": site.homepage,
        "content_type": site.content_type,
        "website_responsible_name": site.responsible_name or "李四",
        "website_responsible_mobile": site.responsible_mobile or "13900000000",
        "website_responsible_email": site.responsible_email or "site@example.cn",
    }
    if with_domain:
        data["domain"] = "authz-added.cn"
    return data


CANCEL_FORM = {"password": f.PASSWORD, "acknowledge_irreversible": "on", "reason": "不再运营"}

# fmt: off
# Columns:           anonymous applicantA applicantB provider bureauX bureauY admin
# ---- API: public ----
api("GET", "/openapi.json", "200 200 200 200 200 200 200")
api("GET", "/docs", "200 200 200 200 200 200 200")
api("GET", "/", "404 404 404 404 404 404 404", on="root")  # ninja's api-root: nothing there
api("GET", "/inspect", "200 200 200 200 200 200 200", query="q=authz-a.cn")
api("GET", "/public/filings", "200 200 200 200 200 200 200", query="q=authz-a.cn",
    contains={a: "authz-a.cn" for a in ACTORS})
api("HEAD", "/public/filings", "200 200 200 200 200 200 200", query="q=authz-a.cn")  # GET's answer, no body
api("POST", "/public/filings:batch", "200 200 200 200 200 200 200",
    body=lambda w: {"keys": ["authz-a.cn", "authz-b.cn"]})
api("GET", "/provinces", "200 200 200 200 200 200 200")
api("GET", "/provinces/{code}", "200 200 200 200 200 200 200", fill="/provinces/31")
api("GET", "/filings/{number}/cancellation-form", "200 200 200 200 200 200 200", on="WA",
    fill="/filings/{WA_number}/cancellation-form", query="format=docx")
# 找回备案密码 needs no account: anyone may have a link sent to the subject's responsible person.
api("POST", "/filing-password/recovery", "202* 202* 202* 202* 202* 202* 202*", on="SA",
    body=lambda w: {"number": w.SA.number, "certificate_type": "uscc",
                    "certificate_number": w.SA.certificate_number},
    probe=lambda w: PasswordResetToken.objects.count())
api("POST", "/filing-password/reset", "422 422 422 422 422 422 422",  # a bad token: the same for all
    body=lambda w: {"token": "not-a-token", "new_password": "New-Password-123"})

# ---- API: signed-in reads ----
api("GET", "/subjects", "401 200 200 200 200 200 200", listed=_json_ids, universe=("SA", "SB"),
    sees=SUBJECT_SEES)
api("GET", "/subjects/{subject_id}", "401 200 404 200 200 404 200", on="SA", fill="/subjects/{SA}")
api("GET", "/subjects/{subject_id}", "401 404 200 200 404 200 200", on="SB", fill="/subjects/{SB}")
api("GET", "/orders/preview", "401 200 404 200 200 404 200", on="WA", query="kind=cancel_website&website={WA}")
api("GET", "/orders/preview", "401 404 200 200 404 200 200", on="SB", query="kind=cancel_subject&subject={SB}")
api("GET", "/orders", "401 200 200 200 200 200 200", listed=_json_ids, universe=("OA", "OB", "QX", "QY"),
    sees=ORDER_SEES)
for key, spec in {
    "OA": "401 200 404 200 200 404 200",
    "OB": "401 404 200 200 404 200 200",
    "QX": "401 200 404 200 200 404 200",
    "QY": "401 404 200 200 404 200 200",
    "NX": "401 404 404 404 404 404 404",
}.items():
    api("GET", "/orders/{order_id}", spec, on=key, fill=f"/orders/{ref(key)}")
api("GET", "/reviews", "401 403 403 200 403 403 200", on="provider", query="stage=provider",
    listed=_json_ids, universe=("OA", "OB", "QX", "QY"), sees=PROVIDER_QUEUE)
api("GET", "/reviews", "401 403 403 403 200 200 200", on="bureau", query="stage=bureau",
    listed=_json_ids, universe=("OA", "OB", "QX", "QY"), sees=BUREAU_QUEUE)
# ?province= is the admin's filter; a bureau reviewer always gets its own province.
api("GET", "/shells", "401 403 403 403 200 200 200", query="province=11",
    listed=lambda r: {i["id"] for i in r.json()["websites"]}, universe=("WA2", "WB2"),
    sees={"bureauX": {"WA2"}, "bureauY": {"WB2"}, "admin": {"WA2"}})

# ---- API: submissions ----
# Only applicants file (the admin may act for anyone): a reviewer filing a subject it would then review.
api("POST", "/orders", "401 201* 201* 403 403 403 201*", on="new_filing", body=new_filing_api,
    probe=lambda w: Order.objects.filter(kind="new_filing").count())
api("POST", "/orders", "401 201* 404 403 403 404 201*", on="change_subject@SA",
    body=lambda w: {"kind": "change_subject", "subject": w.ids["SA"], "changes": {"address": "北京市西城区"}},
    probe=_orders_of("SA"))
api("POST", "/orders", "401 201* 404 403 403 404 201*", on="cancel_website@WA",
    body=lambda w: {"kind": "cancel_website", "website": w.ids["WA"], "password": f.PASSWORD,
                    "acknowledge_irreversible": True},
    probe=_orders_of("WA"))
api("POST", "/orders", "401 404 201* 403 404 403 201*", on="add_access@WB2",
    body=lambda w: {"kind": "add_access", "website": w.ids["WB2"]}, probe=_orders_of("WB2"))
api("POST", "/orders", "401 200 404 200 200 404 200", on="dry_run@WA",  # a preview: changes nothing
    body=lambda w: {"kind": "cancel_website", "website": w.ids["WA"], "dry_run": True})
# Abandon / SMS code on orders at the provider (verify and resend are 409 in password mode for the owner).
api("POST", "/orders/{order_id}/abandon", "401 200* 404 403 403 404 200*", on="OA",
    fill="/orders/{OA}/abandon", probe=_state("OA"))
api("POST", "/orders/{order_id}/abandon", "401 404 200* 403 404 403 200*", on="OB",
    fill="/orders/{OB}/abandon", probe=_state("OB"))
api("POST", "/orders/{order_id}/abandon", "401 409 404 409 409 404 409", on="QX",  # at the bureau: too late
    fill="/orders/{QX}/abandon")
api("POST", "/orders/{order_id}/verify", "401 409 404 403 403 404 409", on="OA",
    fill="/orders/{OA}/verify", body=lambda w: {"code": "123456"})
api("POST", "/orders/{order_id}/verify", "401 404 409 403 404 403 409", on="OB",
    fill="/orders/{OB}/verify", body=lambda w: {"code": "123456"})
api("POST", "/orders/{order_id}/resend", "401 409 404 403 403 404 409", on="OA", fill="/orders/{OA}/resend")
api("POST", "/orders/{order_id}/resend", "401 404 409 403 404 403 409", on="OB", fill="/orders/{OB}/resend")

# ---- API: decisions. Applicants: 403 whatever the id (NX shows it); a bureau: another province is 404 ----
for decision, body in (
    ("approve", lambda w: {"note": "同意"}),
    ("reject", lambda w: {"reason": "材料不全"}),
):
    for key, spec in {
        "OA": "401 403 403 200* 403 404 200*",  # at the provider: the provider decides
        "OB": "401 403 403 200* 404 403 200*",
        "QX": "401 403 403 403 200* 404 200*",  # in X's bureau queue
        "QY": "401 403 403 403 404 200* 200*",  # in Y's bureau queue
        "NX": "401 403 403 404 404 404 404",
    }.items():
        api("POST", f"/reviews/{{order_id}}/{decision}", spec, on=key, fill=f"/reviews/{ref(key)}/{decision}",
            body=body, probe=_state(key))

api("POST", "/filing-password/issue", "401 403 403 403 403 403 202*", on="SA",
    body=lambda w: {"number": w.SA.number}, probe=lambda w: PasswordResetToken.objects.count())
# A paper application: only the bureau of the filing's province (403 names the rule; filing numbers are public).
api("POST", "/offline/applications", "401 403 403 403 201* 403 201*", on="WA", multipart=True,
    body=lambda w: {"number": w.WA.number, "scan": SimpleUploadedFile("scan.pdf", PDF, "application/pdf")},
    probe=_orders_of("WA"))
api("POST", "/offline/applications", "401 403 403 403 403 201* 201*", on="WB", multipart=True,
    body=lambda w: {"number": w.WB.number, "scan": SimpleUploadedFile("scan.pdf", PDF, "application/pdf")},
    probe=_orders_of("WB"))
# 空壳清理 of Beijing's shell website: ?province= cannot take a bureau outside its province (404).
api("POST", "/shells/cleanup", "401 403 403 403 200* 404 200*", on="WA2", query="province=11",
    body=lambda w: {"websites": [w.ids["WA2"]], "reason": "空壳清理"}, probe=_website_status("WA2"))

# ---- pages: public ----
page("GET", "home", "200 >/subjects/ >/subjects/ >/review/provider/ >/review/bureau/ >/review/bureau/ >/subjects/")
page("POST", "home", "200 >/subjects/ >/subjects/ >/review/provider/ >/review/bureau/ >/review/bureau/ >/subjects/")
page("GET", "inspect", "200 200 200 200 200 200 200", query="q=authz-a.cn")
page("POST", "inspect", "200 200 200 200 200 200 200")
page("GET", "public_query", "200 200 200 200 200 200 200", query="q=authz-a.cn",
     contains={a: "authz-a.cn" for a in ACTORS})
page("POST", "public_query", "200 200 200 200 200 200 200")
# The page nginx shows for an unserved host is 403 by design, for everyone: the host is named, no sign-in.
page("GET", "blocked", "403 403 403 403 403 403 403", query="host=nowhere.cn",
     contains={a: "nowhere.cn" for a in ACTORS})
page("POST", "blocked", "403 403 403 403 403 403 403")
page("GET", "healthz", "200 200 200 200 200 200 200")
page("POST", "healthz", "200 200 200 200 200 200 200")
page("GET", "ping", "200 200 200 200 200 200 200")
page("POST", "ping", "200 200 200 200 200 200 200")
page("GET", "province_list", "200 200 200 200 200 200 200")
page("POST", "province_list", "200 200 200 200 200 200 200")
page("GET", "province_detail", "200 200 200 200 200 200 200", args=("31",))
page("POST", "province_detail", "200 200 200 200 200 200 200", args=("31",))
page("GET", "validate_domain", "200 200 200 200 200 200 200", query="domain=authz-free.cn")
page("POST", "validate_domain", "200 200 200 200 200 200 200")
page("GET", "password_recover", "200 200 200 200 200 200 200")
page("POST", "password_recover", "200* 200* 200* 200* 200* 200* 200*", on="SA",
     body=lambda w: {"number": w.SA.number, "certificate_type": "uscc",
                     "certificate_number": w.SA.certificate_number},
     probe=lambda w: PasswordResetToken.objects.count())
page("GET", "password_reset", "200 200 200 200 200 200 200", query="token=not-a-token")
page("POST", "password_reset", "200 200 200 200 200 200 200",
     body=lambda w: {"token": "not-a-token", "new_password": "New-Password-123", "confirm": "New-Password-123"})
page("GET", "login", "200 >/ >/ >/ >/ >/ >/")
page("POST", "login", "200 >/ >/ >/ >/ >/ >/", body=lambda w: {"username": "authz-a", "password": "wrong"})
page("GET", "logout", "405 405 405 405 405 405 405")
page("POST", "logout", ">/accounts/login/ " * 7)
page("GET", "admin:index", ">/admin/login/ >/admin/login/ >/admin/login/ >/admin/login/ >/admin/login/ "
     ">/admin/login/ 200")

# ---- pages: the applicant's console ----
page("GET", "subject_list", "login 200 200 200 200 200 200", listed=_hrefs(r'href="/subjects/(\d+)/"'),
     universe=("SA", "SB"), sees=SUBJECT_SEES)
page("POST", "subject_list", "login 200 200 200 200 200 200")
page("GET", "subject_detail", "login 200 404 200 200 404 200", on="SA", args=("{SA}",))
page("GET", "subject_detail", "login 404 200 200 404 200 200", on="SB", args=("{SB}",))
page("POST", "subject_detail", "login 200 404 200 200 404 200", on="SA", args=("{SA}",))
# Action pages: a reviewer who may see the subject is shown why it cannot act (403 not_owner); the admin acts.
page("GET", "subject_cancel", "login 200 404 403 403 404 200", on="SA", args=("{SA}",))
page("POST", "subject_cancel", "login >/orders/* 404 403 403 404 >/orders/*", on="SA", args=("{SA}",),
     body=lambda w: CANCEL_FORM, probe=_orders_of("SA"))
page("GET", "subject_change", "login 200 404 403 403 404 200", on="SA", args=("{SA}",))
page("POST", "subject_change", "login >/orders/* 404 403 403 404 >/orders/*", on="SA", args=("{SA}",),
     body=subject_form, probe=_orders_of("SA"))
page("GET", "subject_add_website", "login 200 404 403 403 404 200", on="SA", args=("{SA}",))
page("POST", "subject_add_website", "login >/orders/* 404 403 403 404 >/orders/*", on="SA", args=("{SA}",),
     body=lambda w: website_form(w, name="新增的网站", with_domain=True), probe=_orders_of("SA"))
page("GET", "website_cancel", "login 200 404 403 403 404 200", on="WA", args=("{WA}",))
page("POST", "website_cancel", "login >/orders/* 404 403 403 404 >/orders/*", on="WA", args=("{WA}",),
     body=lambda w: CANCEL_FORM, probe=_orders_of("WA"))
page("GET", "website_change", "login 200 404 403 403 404 200", on="WA", args=("{WA}",))
page("POST", "website_change", "login >/orders/* 404 403 403 404 >/orders/*", on="WA", args=("{WA}",),
     body=website_form, probe=_orders_of("WA"))
page("GET", "website_cancel_access", "login 200 404 403 403 404 200", on="WA", args=("{WA}",))
page("POST", "website_cancel_access", "login >/orders/* 404 403 403 404 >/orders/*", on="WA",
     args=("{WA}",), body=lambda w: {"reason": "迁移"}, probe=_orders_of("WA"))
page("GET", "website_add_access", "login 404 200 403 404 403 200", on="WB2", args=("{WB2}",))
page("POST", "website_add_access", "login 404 >/orders/* 403 404 403 >/orders/*", on="WB2",
     args=("{WB2}",), probe=_orders_of("WB2"))
page("GET", "new_filing", "login 200 200 403 403 403 200")
page("POST", "new_filing", "login >/orders/* >/orders/* 403 403 403 >/orders/*", body=new_filing_form,
     probe=lambda w: Order.objects.filter(kind="new_filing").count())
page("GET", "order_list", "login 200 200 200 200 200 200", listed=_hrefs(r'href="/orders/(\d+)/"'),
     universe=("OA", "OB", "QX", "QY"), sees=ORDER_SEES)
page("POST", "order_list", "login 200 200 200 200 200 200")
for key, spec in {
    "OA": "login 200 404 200 200 404 200",
    "OB": "login 404 200 200 404 200 200",
    "QX": "login 200 404 200 200 404 200",
    "QY": "login 404 200 200 404 200 200",
    "NX": "login 404 404 404 404 404 404",
}.items():
    page("GET", "order_detail", spec, on=key, args=(ref(key),))
page("POST", "order_detail", "login 200 404 200 200 404 200", on="OA", args=("{OA}",))
# POST-only pages. A refusal by the engine (not the owner, too late) is a flash message and a redirect back.
page("GET", "order_abandon", "login 405 405 405 405 405 405", on="OA", args=("{OA}",))
page("POST", "order_abandon", "login >/orders/{OA}/* 404 >/orders/{OA}/ >/orders/{OA}/ 404 >/orders/{OA}/*",
     on="OA", args=("{OA}",), probe=_state("OA"))
page("POST", "order_abandon", "login 404 >/orders/{OB}/* >/orders/{OB}/ 404 >/orders/{OB}/ >/orders/{OB}/*",
     on="OB", args=("{OB}",), probe=_state("OB"))
page("POST", "order_abandon", "login >/orders/{QX}/ 404 >/orders/{QX}/ >/orders/{QX}/ 404 >/orders/{QX}/",
     on="QX", args=("{QX}",))
# Not awaiting a code (password mode): the page sends whoever may see the order back to it.
page("GET", "order_verify", "login >/orders/{OA}/ 404 >/orders/{OA}/ >/orders/{OA}/ 404 >/orders/{OA}/",
     on="OA", args=("{OA}",))
page("POST", "order_verify", "login >/orders/{OA}/ 404 >/orders/{OA}/ >/orders/{OA}/ 404 >/orders/{OA}/",
     on="OA", args=("{OA}",), body=lambda w: {"code": "123456"})
page("GET", "order_resend", "login 405 405 405 405 405 405", on="OA", args=("{OA}",))
page("POST", "order_resend", "login >/orders/{OA}/verify/ 404 >/orders/{OA}/verify/ >/orders/{OA}/verify/ "
     "404 >/orders/{OA}/verify/", on="OA", args=("{OA}",))

# ---- pages: reviewers ----
page("GET", "review_queue", "login 403 403 200 403 403 200", on="provider", kwargs={"stage": "provider"},
     listed=_hrefs(r'href="/review/orders/(\d+)/"'), universe=("OA", "OB", "QX", "QY"), sees=PROVIDER_QUEUE)
page("GET", "review_queue", "login 403 403 403 200 200 200", on="bureau", kwargs={"stage": "bureau"},
     query="province=11", listed=_hrefs(r'href="/review/orders/(\d+)/"'), universe=("OA", "OB", "QX", "QY"),
     sees={"bureauX": {"QX"}, "bureauY": {"QY"}, "admin": {"QX"}})  # ?province= filters for the admin only
page("POST", "review_queue", "login 403 403 200 403 403 200", on="provider", kwargs={"stage": "provider"})
for key, spec in {
    "OA": "login 403 403 200 200 404 200",
    "OB": "login 403 403 200 404 200 200",
    "QX": "login 403 403 200 200 404 200",
    "QY": "login 403 403 200 404 200 200",
    "NX": "login 403 403 404 404 404 404",
}.items():
    page("GET", "review_order", spec, on=key, args=(ref(key),))
page("POST", "review_order", "login 403 403 200 200 404 200", on="QX", args=("{QX}",))
page("GET", "review_decide", "login 405 405 405 405 405 405", on="QX",
     kwargs={"order_id": "{QX}", "decision": "approve"})
for decision in ("approve", "reject"):
    for key, spec in {
        "OA": "login 403 403 >/review/provider/* >/review/orders/{OA}/ 404 >/review/provider/*",
        "QX": "login 403 403 >/review/orders/{QX}/ >/review/bureau/* 404 >/review/bureau/*",
        "QY": "login 403 403 >/review/orders/{QY}/ 404 >/review/bureau/* >/review/bureau/*",
        "NX": "login 403 403 404 404 404 404",
    }.items():
        page("POST", "review_decide", spec, on=f"{key}:{decision}",
             kwargs={"order_id": ref(key), "decision": decision},
             body=lambda w: {"note": "审核意见"}, probe=_state(key))

# ---- pages: bureau ----
page("GET", "bureau_register", "login 403 403 403 200 200 200")
# Registering another province's filing is refused beside the form (200, nothing registered).
page("POST", "bureau_register", "login 403 403 403 >/review/orders/* 200 >/review/orders/*", on="WA",
     multipart=True, probe=_orders_of("WA"),
     body=lambda w: {"number": w.WA.number, "cancellation_type": "website", "received_via": "counter",
                     "scan": SimpleUploadedFile("scan.pdf", PDF, "application/pdf")},
     contains={"bureauY": "只能登记本省管局的备案"})
page("GET", "bureau_shells", "login 403 403 403 200 200 200", query="province=11",
     listed=_hrefs(r'name="websites" value="(\d+)"'), universe=("WA2", "WB2"),
     sees={"bureauX": {"WA2"}, "bureauY": {"WB2"}, "admin": {"WA2"}})
# Bureau Y posting Beijing's shell: its own province's list is the only one it can clean (nothing happens).
page("POST", "bureau_shells", "login 403 403 403 200* 200 200*", on="WA2",
     body=lambda w: {"province": "11", "websites": [str(w.ids["WA2"])], "reason": "空壳清理"},
     probe=_website_status("WA2"))
# fmt: on

# Pages left out of the matrix, with the reason.
EXCLUDED_PAGES = {
    "set_language": "Django's language switch (i18n/setlang/): public by design, stores a cookie only",
    "admin:*": "Django's admin site: its own is_staff check; admin:index above shows only the admin gets in",
}
# API URL patterns that are not OpenAPI operations (the schema and its viewer, ninja's root).
API_EXTRA = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/")}


# --- the cells --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    row: Row
    actor: str
    expect: str

    @property
    def id(self) -> str:
        on = f"@{self.row.on}" if self.row.on else ""
        return f"{self.row.surface}:{self.row.method} {self.row.route}{on}-{self.actor}"


CELLS = [Cell(row, actor, spec) for row in ROWS for actor, spec in zip(ACTORS, row.expect, strict=True)]
assert len({c.id for c in CELLS}) == len(CELLS), "two rows with the same method, route and object"


def _client(w, cell: Cell) -> Client:
    if cell.row.surface == "api":
        token = w.tokens[cell.actor]
        return Client(headers={"Authorization": f"Bearer {token}"} if token else {})
    client = Client()
    if cell.actor != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[cell.actor]
    return client


def _request(w, cell: Cell):
    row = cell.row
    client = _client(w, cell)
    url = row.url(w)
    if row.method in ("GET", "HEAD"):
        return client.generic(row.method, url)
    data = row.body(w) if row.body else None
    if row.surface == "api" and not row.multipart:
        return client.post(url, json.dumps(data or {}), content_type="application/json")
    return client.post(url, data or {})


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_authz(cell: Cell, authz_world, db):
    w, row, spec = authz_world, cell.row, cell.expect
    changes = spec.endswith("*")
    spec = spec.rstrip("*")
    before, probe_before = snapshot(), row.probe(w) if row.probe else None

    response = _request(w, cell)

    status, location = response.status_code, response.get("Location", "")
    if spec == "login":
        assert (status, location.split("?")[0]) == (302, reverse("login")), (status, location)
        assert "next=" in location
    elif spec.startswith(">"):
        target = fmt(w, spec[1:])
        assert status == 302 and location.startswith(target), (status, location, target)
    else:
        assert status == int(spec), (status, response.content[:300])
    if row.surface == "api" and row.route != "/" and status in (401, 403, 404):
        assert response.json()["code"]  # the API's error body, not an HTML page

    after = snapshot()
    if changes:
        assert after != before, "an allowed request changed nothing"
        if row.probe:
            assert row.probe(w) != probe_before, "the allowed request did not do what it is for"
    else:
        assert after == before, {k: (before[k], after[k]) for k in before if before[k] != after[k]}

    if row.sees is not None and status == 200:
        universe = {w.ids[k]: k for k in row.universe}
        shown = {universe[i] for i in row.listed(response) if i in universe}
        assert shown == row.sees.get(cell.actor, set()), shown
    if cell.actor in row.contains:
        assert row.contains[cell.actor] in response.content.decode()


# --- coverage: a new endpoint or page without a row fails here --------------------------------------------


def _api_operations() -> set[tuple[str, str]]:
    schema = ninja_api.get_openapi_schema()
    return {
        (method.upper(), path.removeprefix(API))
        for path, operations in schema["paths"].items()
        for method in operations
    }


def _api_url_patterns() -> set[str]:
    patterns, _, _ = ninja_api.urls
    return {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern)).rstrip("/") for p in patterns}


def _page_names() -> set[str]:
    names: set[str] = set()

    def walk(resolver, namespace: str | None) -> None:
        for p in resolver.url_patterns:
            if hasattr(p, "url_patterns"):
                walk(p, p.namespace or namespace)
            elif p.name:
                names.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver(), None)
    return names


def test_every_api_operation_has_rows_for_every_actor():
    table = {(r.method, r.route) for r in ROWS if r.surface == "api"}
    operations = _api_operations()
    assert operations - table == set(), "API operations without a row in the matrix"
    assert table - operations - API_EXTRA == set(), "rows for operations that do not exist"
    assert _api_url_patterns() == {p or "/" for _, p in operations | API_EXTRA}, "a URL pattern without a row"


def test_every_page_has_a_get_and_a_post_row():
    names = {n for n in _page_names() if not n.startswith("api:")}
    excluded = {n for n in names if n in EXCLUDED_PAGES or f"{n.split(':')[0]}:*" in EXCLUDED_PAGES}
    covered = names - excluded
    rows = {(r.method, r.route) for r in ROWS if r.surface == "page"}
    assert {(m, n) for n in covered for m in ("GET", "POST")} - rows == set(), "pages without a row"
    assert {n for _, n in rows} <= names, "rows for pages that do not exist"
