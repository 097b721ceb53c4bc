"""空壳: a shell subject (no website left) and a shell website (no provider serves it after 取消接入); the
bureau of the province lists them and force-cancels them, each item through the engine as an approved
offline order, audited as ``shell.force_cancel``.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from beian.audit.models import AuditEntry
from beian.core import clock
from beian.gate.models import FeedEntry
from beian.gate.services import served_set_from_feed
from beian.offline.models import OfflineApplication
from beian.orders import services
from beian.orders.models import Order
from beian.orders.workflow import Action, move
from beian.registry.models import Domain, Subject, Website
from tests import factories as f
from tests.offline.conftest import bearer

pytestmark = pytest.mark.django_db

REASON = "空壳主体、空壳网站定期清理"


class Shells:
    def __init__(self, owner, bureau, provider):
        # a shell subject: its only website cancelled (online, approved by the bureau)
        self.subject = f.filed_subject(owner, domains_per_site=(["shell-subject.cn"],))
        only = self.subject.websites.get()
        order = services.cancel_website_submit(
            actor=owner, website=only, password=f.PASSWORD, acknowledge_irreversible=True
        )
        move(order, Action.BUREAU_APPROVE, actor=bureau)
        self.subject.refresh_from_db()
        assert self.subject.is_shell and self.subject.status == "active"

        # a shell website: 取消接入 approved by the provider; its sibling -2 stays served
        self.holder = f.filed_subject(owner, domains_per_site=(["shell-site.cn"], ["alive-site.cn"]))
        self.website = self.holder.websites.get(sequence=1)
        self.alive = self.holder.websites.get(sequence=2)
        access = services.cancel_access_submit(actor=owner, website=self.website, reason="迁往其他服务商")
        move(access, Action.PROVIDER_APPROVE, actor=provider)
        self.website.refresh_from_db()
        assert self.website.is_shell and not self.website.served_here and self.website.status == "active"
        assert "shell-site.cn" not in served_set_from_feed()


@pytest.fixture
def shells(owner, bureau_11, provider):
    made = Shells(owner, bureau_11, provider)
    clock.advance(dt.timedelta(days=10))
    return made


@pytest.fixture
def guangdong_shell(other):
    subject = f.filed_subject(other, province_abbr="粤", domains_per_site=())
    assert subject.is_shell and subject.province == "44"
    return subject


def cleanup(client, **body):
    return client.post("/api/v1/shells/cleanup", json.dumps(body), content_type="application/json")


def assert_untouched(*objs) -> None:
    for obj in objs:
        obj.refresh_from_db()
        assert obj.status == "active" and obj.is_shell, obj


def test_list_shells_of_the_bureaus_province(shells, guangdong_shell, api_bureau_11, api_bureau_44):
    response = api_bureau_11.get("/api/v1/shells")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["province"] == "11"
    assert [(s["id"], s["number"], s["name"], s["days"]) for s in body["subjects"]] == [
        (shells.subject.pk, shells.subject.number, shells.subject.name, 10)
    ]
    assert [(w["id"], w["number"], w["name"], w["days"]) for w in body["websites"]] == [
        (shells.website.pk, shells.website.number, shells.website.name, 10)
    ]
    assert all(s["shell_since"] for s in body["subjects"] + body["websites"])

    gd = api_bureau_44.get("/api/v1/shells", {"province": "11"}).json()
    assert gd["province"] == "44", "a bureau reviewer sees only their own province"
    assert [s["id"] for s in gd["subjects"]] == [guangdong_shell.pk] and gd["websites"] == []


def test_shells_are_for_bureaus_only(shells, owner, provider):
    for user in (owner, provider):
        response = bearer(user).get("/api/v1/shells")
        assert response.status_code == 403 and response.json()["code"] == "not_bureau"
        assert cleanup(bearer(user), subjects=[shells.subject.pk], reason=REASON).status_code == 403
    assert_untouched(shells.subject, shells.website)


def test_cleanup_cancels_each_shell_through_the_engine(shells, owner, other, bureau_11, api_bureau_11):
    feed_before = FeedEntry.objects.count()
    response = cleanup(
        api_bureau_11, subjects=[shells.subject.pk], websites=[shells.website.pk], reason=REASON
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["kind"], r["id"], r["ok"]) for r in results] == [
        ("subject", shells.subject.pk, True),
        ("website", shells.website.pk, True),
    ]
    assert results[0]["number"] == shells.subject.number and results[1]["number"] == shells.website.number

    subject_order = Order.objects.get(pk=results[0]["order"])
    website_order = Order.objects.get(pk=results[1]["order"])
    for order, kind in ((subject_order, "cancel_subject"), (website_order, "cancel_website")):
        assert (order.kind, order.channel, order.state) == (kind, "offline", "approved")
        assert order.decided_by == bureau_11
        assert list(order.events.values_list("action", flat=True)) == ["register_offline", "bureau_approve"]
        application = OfflineApplication.objects.get(order=order)
        assert application.received_via == "shell_cleanup" and application.scan_sha256 == ""
    assert website_order.website_id == shells.website.pk

    audits = AuditEntry.objects.filter(action="shell.force_cancel").order_by("seq")
    assert [(a.object_id, a.data["number"], a.data["reason"]) for a in audits] == [
        (str(subject_order.pk), shells.subject.number, REASON),
        (str(website_order.pk), shells.website.number, REASON),
    ]
    assert all(a.actor == bureau_11.username for a in audits)

    shells.subject.refresh_from_db()
    shells.website.refresh_from_db()
    assert shells.subject.status == "cancelled" and not shells.subject.is_shell
    assert shells.website.status == "cancelled" and not shells.website.is_shell
    assert Domain.objects.get(website=shells.website).status == "released"
    shells.alive.refresh_from_db()
    assert shells.alive.status == "active" and shells.alive.served_here
    assert FeedEntry.objects.count() == feed_before, "neither shell was served here: no feed entry needed"
    assert served_set_from_feed() == f.served_domains_in_db()
    assert "alive-site.cn" in served_set_from_feed()
    f.assert_consistent()

    filing = services.new_filing_submit(actor=other, **f.new_filing_args(domain="shell-site.cn"))
    assert filing.state == "provider_review"
    listed = api_bureau_11.get("/api/v1/shells").json()
    assert listed["subjects"] == [] and listed["websites"] == []


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 501])
def test_cleanup_requires_a_reason(shells, api_bureau_11, reason):
    body = {"subjects": [shells.subject.pk], "websites": [shells.website.pk]}
    if reason is not None:
        body["reason"] = reason
    orders = Order.objects.count()
    response = cleanup(api_bureau_11, **body)
    assert response.status_code == 422, response.content
    assert response.json()["code"]
    assert Order.objects.count() == orders
    assert_untouched(shells.subject, shells.website)


def test_ids_of_another_province_are_404(shells, guangdong_shell, api_bureau_11):
    orders = Order.objects.count()
    for body in (
        {"subjects": [guangdong_shell.pk]},
        {"subjects": [shells.subject.pk, guangdong_shell.pk], "websites": [shells.website.pk]},
    ):
        response = cleanup(api_bureau_11, reason=REASON, **body)
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
    assert Order.objects.count() == orders
    assert_untouched(shells.subject, shells.website, guangdong_shell)


def test_items_that_are_not_shells_fail_alone(shells, api_bureau_11):
    response = cleanup(
        api_bureau_11,
        subjects=[shells.holder.pk, shells.subject.pk],
        websites=[shells.alive.pk, shells.website.pk],
        reason=REASON,
    )
    assert response.status_code == 200, response.content
    results = {(r["kind"], r["id"]): r for r in response.json()["results"]}
    assert len(results) == 4
    for key in (("subject", shells.holder.pk), ("website", shells.alive.pk)):
        assert results[key]["ok"] is False and results[key]["code"] == "not_a_shell"
        assert results[key]["message"]
    for key in (("subject", shells.subject.pk), ("website", shells.website.pk)):
        assert results[key]["ok"] is True
    shells.holder.refresh_from_db()
    shells.alive.refresh_from_db()
    assert shells.holder.status == "active" and shells.alive.status == "active" and shells.alive.served_here
    assert not Order.objects.filter(subject=shells.holder, kind="cancel_subject").exists()
    assert AuditEntry.objects.filter(action="shell.force_cancel").count() == 2
    f.assert_consistent()


def test_unknown_ids_fail_alone(shells, api_bureau_11):
    missing = Subject.objects.order_by("-pk").first().pk + 1000
    missing_site = Website.objects.order_by("-pk").first().pk + 1000
    response = cleanup(
        api_bureau_11, subjects=[missing, shells.subject.pk], websites=[missing_site], reason=REASON
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["id"], r["ok"]) for r in results] == [
        (missing, False),
        (shells.subject.pk, True),
        (missing_site, False),
    ]
    assert results[0]["code"] == "not_found" and results[2]["code"] == "not_found"


def test_shell_with_an_open_order_fails_alone(shells, owner, api_bureau_11):
    """A shell website whose subject has an order in progress cannot be force-cancelled now."""
    pending = services.change_subject_submit(
        actor=owner, subject=shells.holder, changes={"address": "新地址"}
    )
    response = cleanup(
        api_bureau_11, subjects=[shells.subject.pk], websites=[shells.website.pk], reason=REASON
    )
    assert response.status_code == 200
    ok = {r["kind"]: r for r in response.json()["results"]}
    assert ok["subject"]["ok"] is True
    assert ok["website"]["ok"] is False and ok["website"]["code"] == "order_in_progress"
    assert Order.objects.filter(subject=shells.holder).exclude(pk=pending.pk).count() == 1  # the 取消接入
    assert_untouched(shells.website)
    f.assert_consistent()


# --- the bureau pages ------------------------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_shells_page_lists_and_cleans_up(shells, guangdong_shell, bureau_11):
    client = signed_in(bureau_11)
    page = client.get("/bureau/shells/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "北京市通信管理局" in html
    assert shells.subject.number in html and shells.website.number in html
    assert f'value="{shells.subject.pk}"' in html and f'value="{shells.website.pk}"' in html
    assert "10 天" in html
    assert guangdong_shell.number not in html

    response = client.post(
        "/bureau/shells/",
        {
            "subjects": [str(shells.subject.pk), str(guangdong_shell.pk)],
            "websites": [str(shells.website.pk)],
            "reason": REASON,
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "已注销" in html
    shells.subject.refresh_from_db()
    shells.website.refresh_from_db()
    assert shells.subject.status == "cancelled" and shells.website.status == "cancelled"
    assert_untouched(guangdong_shell)
    assert AuditEntry.objects.filter(action="shell.force_cancel").count() == 2
    f.assert_consistent()


def test_shells_page_post_without_reason_cancels_nothing(shells, bureau_11):
    client = signed_in(bureau_11)
    response = client.post("/bureau/shells/", {"subjects": [str(shells.subject.pk)], "reason": ""})
    assert response.status_code == 200
    assert_untouched(shells.subject)
    assert not Order.objects.filter(subject=shells.subject, kind="cancel_subject").exists()


def test_bureau_pages_are_for_bureau_reviewers(shells, owner, bureau_11):
    client = signed_in(bureau_11)
    page = client.get("/bureau/offline/")
    assert page.status_code == 200
    assert 'name="scan"' in page.content.decode()
    found = client.get("/bureau/offline/", {"number": shells.website.number})
    assert found.status_code == 200
    html = found.content.decode()
    assert shells.website.number in html and "/cancellation-form" in html

    applicant = signed_in(owner)
    assert applicant.get("/bureau/offline/").status_code == 403
    assert applicant.get("/bureau/shells/").status_code == 403
    assert (
        applicant.post(
            "/bureau/shells/", {"subjects": [str(shells.subject.pk)], "reason": REASON}
        ).status_code
        == 403
    )
    assert_untouched(shells.subject)
    anonymous = Client().get("/bureau/offline/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_admin_chooses_the_province(shells, guangdong_shell, api_bureau_11):
    from beian.accounts.services import user_create

    admin = user_create(
        username="offline-admin", password=None, role="admin", email="offline-admin@example.cn"
    )
    api = bearer(admin)
    response = api.get("/api/v1/shells")
    assert response.status_code == 422 and response.json()["code"] == "province_required"
    gd = api.get("/api/v1/shells", {"province": "44"}).json()
    assert [s["id"] for s in gd["subjects"]] == [guangdong_shell.pk]
    unknown = api.get("/api/v1/shells", {"province": "99"})
    assert 400 <= unknown.status_code < 500 and unknown.json()["code"]

    client = signed_in(admin)
    page = client.get("/bureau/shells/", {"province": "44"})
    assert page.status_code == 200 and guangdong_shell.number in page.content.decode()
    assert client.get("/bureau/shells/", {"province": "99"}).status_code == 404
