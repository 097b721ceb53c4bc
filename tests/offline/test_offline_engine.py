"""线下注销, the bureau side: a paper application registered by the province's bureau becomes a
cancel_website / cancel_subject order with channel ``offline`` in ``bureau_review``; approving it has exactly
the effects of an online cancellation (feed, released domains, audit, the owner's e-mail).

Bad input is refused with a clear 4xx and a code, and nothing is stored: no order, no OfflineApplication, no
file under ``$BEIAN_HOME/scans``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from beian.audit.models import AuditEntry
from beian.core.errors import Conflict, Invalid, NotAllowed, NotFound
from beian.gate.models import FeedEntry
from beian.gate.services import served_set_from_feed
from beian.notify.models import OutboxMessage
from beian.offline import services as offline
from beian.offline.models import OfflineApplication
from beian.orders import services
from beian.orders.models import Order
from beian.orders.workflow import Action, move
from beian.registry.models import Domain
from beian.web import config
from tests import factories as f
from tests.offline.conftest import bearer, set_today

pytestmark = pytest.mark.django_db

URL = "/api/v1/offline/applications"


def pdf_scan() -> bytes:
    """A scan unique to the test (the store is content-addressed)."""
    return b"%PDF-1.4\n% scanned form " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"


def png_scan() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 4


def jpeg_scan() -> bytes:
    return b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 4


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A BEIAN_HOME of this test alone, so that the scans directory starts empty."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("BEIAN_HOME", str(path))
    assert config.home() == path.resolve()
    return path.resolve()


def scan_files(home) -> set[str]:
    scans = home / "scans"
    return {str(p.relative_to(scans)) for p in scans.rglob("*") if p.is_file()} if scans.exists() else set()


def register(client, *, number: str, scan: bytes | None = None, filename: str = "scan.pdf", **fields):
    data = {"number": number, **{k: v for k, v in fields.items() if v is not None}}
    if scan is not None:
        data["scan"] = SimpleUploadedFile(filename, scan, content_type="application/octet-stream")
    return client.post(URL, data)


def approve(client, order_id: int):
    return client.post(f"/api/v1/reviews/{order_id}/approve", json.dumps({}), content_type="application/json")


def file_new(client, domain: str):
    return client.post(
        "/api/v1/orders", json.dumps(f.new_filing_body(domain=domain)), content_type="application/json"
    )


class Snapshot:
    """Counts of everything a registration writes, to check that a refusal wrote nothing."""

    def __init__(self, home):
        self.home = home
        self.counts = self._counts()
        self.files = scan_files(home)

    def _counts(self) -> dict[str, int]:
        return {
            "orders": Order.objects.count(),
            "offline_applications": OfflineApplication.objects.count(),
            "audit": AuditEntry.objects.count(),
            "outbox": OutboxMessage.objects.count(),
            "feed": FeedEntry.objects.count(),
        }

    def assert_unchanged(self, *, files: bool = True) -> None:
        assert self._counts() == self.counts
        if files:
            assert scan_files(self.home) == self.files, "a refused registration left a file under scans/"


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    return body


@pytest.fixture
def beijing(owner):
    """Beijing subject: -1 two served domains, -2 one served domain, -3 filed here but not served."""
    return f.filed_subject_sites(
        owner,
        [
            {"domains": ["paper-shop.cn", "paper-shop.net"]},
            {"domains": ["paper-docs.cn"]},
            {"domains": ["paper-away.cn"], "served": False},
        ],
    )


@pytest.fixture
def guangdong(other):
    return f.filed_subject(other, province_abbr="粤", domains_per_site=(["yue-paper.cn"],))


def assert_owner_emailed(order: Order, template: str) -> None:
    messages = OutboxMessage.objects.filter(
        order=order, channel="email", recipient=order.subject.owner.email, template=template
    )
    assert messages.count() == 1, list(
        OutboxMessage.objects.filter(order=order).values("template", "recipient")
    )
    assert f"#{order.pk}" in messages.get().body


# --- registration and approval ------------------------------------------------------------------------


def test_register_cancel_website_over_the_api_then_approve(
    beijing, owner, bureau_11, api_bureau_11, home, other
):
    site = beijing.websites.get(sequence=1)
    scan = pdf_scan()
    digest = hashlib.sha256(scan).hexdigest()
    response = register(
        api_bureau_11,
        number=site.number,
        scan=scan,
        filename="申请表.pdf",
        type="website",
        received_via="post",
        applicant_name="王五",
        new_domain_owner="true",
        note="域名已转让给申请人",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "cancel_website" and body["channel"] == "offline"
    assert body["state"] == "bureau_review"
    assert body["website"]["number"] == site.number and body["subject"]["number"] == beijing.number
    assert body["payload"]["offline"] is True
    assert sorted(body["payload"]["stops_serving"]) == ["paper-shop.cn", "paper-shop.net"]

    order = Order.objects.get(pk=body["id"])
    assert (order.kind, order.channel, order.state) == ("cancel_website", "offline", "bureau_review")
    assert order.website_id == site.pk and order.province == "11"
    application = OfflineApplication.objects.get(order=order)
    assert application.registered_by == bureau_11
    assert application.received_via == "post"
    assert application.applicant_name == "王五"
    assert application.new_domain_owner is True
    assert application.scan_sha256 == digest
    assert application.scan_type == "application/pdf"
    assert application.scan_size == len(scan)
    assert application.scan_name == "申请表.pdf"
    stored = home / "scans" / digest[:2] / f"{digest}.pdf"
    assert stored.read_bytes() == scan
    assert scan_files(home) == {f"{digest[:2]}/{digest}.pdf"}
    assert AuditEntry.objects.filter(action="order.register_offline", object_id=str(order.pk)).exists()

    # at the bureau, nothing has changed yet: still served, the domain still held
    assert {"paper-shop.cn", "paper-shop.net"} <= served_set_from_feed()
    api_other = bearer(other)
    assert file_new(api_other, "paper-shop.cn").status_code == 409

    feed_before = FeedEntry.objects.count()
    decided = approve(api_bureau_11, order.pk)
    assert decided.status_code == 200, decided.content
    assert decided.json()["state"] == "approved" and decided.json()["channel"] == "offline"

    site.refresh_from_db()
    assert site.status == "cancelled" and not site.served_here
    denies = FeedEntry.objects.filter(order=order)
    assert FeedEntry.objects.count() == feed_before + 2
    assert sorted(denies.values_list("domain", "action")) == [
        ("paper-shop.cn", "deny"),
        ("paper-shop.net", "deny"),
    ]
    served = served_set_from_feed()
    assert "paper-shop.cn" not in served and "paper-shop.net" not in served
    assert "paper-docs.cn" in served, "the other website is untouched"
    assert set(Domain.objects.filter(website=site).values_list("status", flat=True)) == {"released"}
    f.assert_consistent()
    assert_owner_emailed(order, "order_register_offline")
    assert_owner_emailed(order, "order_bureau_approve")

    # the domain is free: another applicant files it
    filed = file_new(api_other, "paper-shop.cn")
    assert filed.status_code == 201, filed.content
    assert filed.json()["kind"] == "new_filing"


@pytest.mark.parametrize("channel", ["online", "offline"])
def test_offline_cancellation_has_the_effects_of_an_online_one(channel, owner, bureau_11, provider, other):
    """The same subject cancelled online (password) and offline (paper): the same registry, feed and mail."""
    subject = f.filed_subject_sites(
        owner, [{"domains": [f"{channel}-one.cn"]}, {"domains": [f"{channel}-two.cn"], "served": False}]
    )
    if channel == "online":
        order = services.cancel_subject_submit(
            actor=owner, subject=subject, password=f.PASSWORD, acknowledge_irreversible=True
        )
    else:
        order = offline.offline_register(actor=bureau_11, number=subject.number, scan=jpeg_scan())
        assert order.channel == "offline"
        assert OfflineApplication.objects.get(order=order).scan_type == "image/jpeg"
    assert order.kind == "cancel_subject" and order.state == "bureau_review"
    assert order.payload["stops_serving"] == [f"{channel}-one.cn"]

    order = move(order, Action.BUREAU_APPROVE, actor=bureau_11)
    assert order.state == "approved"
    subject.refresh_from_db()
    assert subject.status == "cancelled" and not subject.is_shell
    assert set(subject.websites.values_list("status", flat=True)) == {"cancelled"}
    assert set(Domain.objects.filter(website__subject=subject).values_list("status", flat=True)) == {
        "released"
    }
    assert list(FeedEntry.objects.filter(order=order).values_list("domain", "action", "reason")) == [
        (f"{channel}-one.cn", "deny", "cancel_subject")
    ], "only the served website stops being served"
    approved_event = order.events.get(action="bureau_approve")
    assert sorted(approved_event.data["released_domains"]) == [f"{channel}-one.cn", f"{channel}-two.cn"]
    f.assert_consistent()
    assert_owner_emailed(order, "order_bureau_approve")
    for domain in (f"{channel}-one.cn", f"{channel}-two.cn"):
        filing = services.new_filing_submit(actor=other, **f.new_filing_args(domain=domain))
        assert filing.state == "provider_review"


def test_register_through_the_services_defaults_the_type_from_the_number(beijing, bureau_11):
    site2 = beijing.websites.get(sequence=2)
    order = offline.offline_register(actor=bureau_11, number=site2.number, scan=png_scan())
    assert order.kind == "cancel_website" and order.website_id == site2.pk
    assert OfflineApplication.objects.get(order=order).scan_type == "image/png"
    assert OfflineApplication.objects.get(order=order).received_via == "counter"
    move(order, Action.BUREAU_REJECT, actor=bureau_11, note="材料不全")

    subject_order = offline.offline_register(
        actor=bureau_11, number=site2.number, cancellation_type="subject", scan=png_scan()
    )
    assert subject_order.kind == "cancel_subject" and subject_order.website_id is None


def test_bureau_rejection_cancels_nothing(beijing, owner, api_bureau_11):
    site = beijing.websites.get(sequence=2)
    order_id = register(api_bureau_11, number=site.number, scan=pdf_scan()).json()["id"]
    served_before = served_set_from_feed()
    response = api_bureau_11.post(
        f"/api/v1/reviews/{order_id}/reject",
        json.dumps({"reason": "签字与证件不符"}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["state"] == "rejected"
    site.refresh_from_db()
    assert site.status == "active" and site.served_here
    assert served_set_from_feed() == served_before
    f.assert_consistent()


def test_a_bureau_of_another_province_cannot_approve(beijing, api_bureau_11, api_bureau_44):
    order_id = register(api_bureau_11, number=beijing.number, scan=pdf_scan()).json()["id"]
    response = approve(api_bureau_44, order_id)
    assert response.status_code in (403, 404)
    assert Order.objects.get(pk=order_id).state == "bureau_review"


# --- refusals: a clear 4xx with a code, and nothing stored ------------------------------------------


def test_unknown_number_is_404_and_stores_nothing(beijing, api_bureau_11, home):
    before = Snapshot(home)
    for number in ("京ICP备2021999999号", beijing.number + "-9"):
        refused(register(api_bureau_11, number=number, scan=pdf_scan()), 404, "not_found")
    before.assert_unchanged()


def test_cancelled_numbers_are_404_and_store_nothing(beijing, bureau_11, api_bureau_11, home):
    site = beijing.websites.get(sequence=2)
    move(
        offline.offline_register(actor=bureau_11, number=site.number, scan=png_scan()),
        Action.BUREAU_APPROVE,
        actor=bureau_11,
    )
    before = Snapshot(home)
    refused(register(api_bureau_11, number=site.number, scan=pdf_scan()), 404, "not_found")
    before.assert_unchanged()

    move(
        offline.offline_register(actor=bureau_11, number=beijing.number, scan=png_scan()),
        Action.BUREAU_APPROVE,
        actor=bureau_11,
    )
    before = Snapshot(home)
    refused(register(api_bureau_11, number=beijing.number, scan=pdf_scan()), 404, "not_found")
    refused(register(api_bureau_11, number=beijing.number + "-1", scan=pdf_scan()), 404, "not_found")
    before.assert_unchanged()


def test_filing_of_another_province_is_403_other_province(guangdong, beijing, api_bureau_11, bureau_44, home):
    before = Snapshot(home)
    body = refused(register(api_bureau_11, number=guangdong.number, scan=pdf_scan()), 403, "other_province")
    assert body["province"] == "44"
    site = guangdong.websites.get()
    refused(register(api_bureau_11, number=site.number, scan=pdf_scan()), 403, "other_province")
    with pytest.raises(NotAllowed) as exc:
        offline.offline_register(actor=bureau_44, number=beijing.number, scan=pdf_scan())
    assert exc.value.code == "other_province"
    before.assert_unchanged()


@pytest.mark.parametrize(
    "scan",
    [
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"PK\x03\x04 a zip, not a scan",
        b"<html>%PDF-</html>",
        b"II*\x00 a TIFF",
        b"%PDF",  # the magic is "%PDF-"
    ],
    ids=["gif", "zip", "html", "tiff", "truncated-pdf"],
)
def test_scan_that_is_not_pdf_jpeg_or_png_is_422(beijing, api_bureau_11, home, scan):
    before = Snapshot(home)
    body = refused(
        register(api_bureau_11, number=beijing.number, scan=scan, filename="scan.pdf"), 422, "bad_scan_type"
    )
    assert body["field"] == "scan"
    before.assert_unchanged()


def test_scan_over_20_mb_is_422(beijing, api_bureau_11, home):
    before = Snapshot(home)
    big = b"%PDF-1.4\n" + b"0" * (offline.MAX_SCAN_BYTES - 8)
    assert len(big) == offline.MAX_SCAN_BYTES + 1
    body = refused(register(api_bureau_11, number=beijing.number, scan=big), 422, "scan_too_large")
    assert body["field"] == "scan"
    before.assert_unchanged()
    with pytest.raises(Invalid) as exc:
        offline.store_scan(big)
    assert exc.value.code == "scan_too_large"
    before.assert_unchanged()


def test_missing_or_empty_scan_is_422(beijing, api_bureau_11, home):
    before = Snapshot(home)
    response = register(api_bureau_11, number=beijing.number)
    assert response.status_code == 422 and response.json()["code"]
    refused(register(api_bureau_11, number=beijing.number, scan=b""), 422, "scan_required")
    before.assert_unchanged()


def test_applicant_and_provider_are_403(beijing, owner, provider, home):
    before = Snapshot(home)
    for user in (owner, provider):
        response = register(bearer(user), number=beijing.number, scan=pdf_scan())
        assert response.status_code == 403, response.content
        assert response.json()["code"]
    with pytest.raises(NotAllowed):
        offline.offline_register(actor=owner, number=beijing.number, scan=pdf_scan())
    before.assert_unchanged()


def test_anonymous_is_401(beijing, client, home):
    before = Snapshot(home)
    response = register(client, number=beijing.number, scan=pdf_scan())
    assert response.status_code == 401
    before.assert_unchanged()


def test_other_bad_fields_are_422(beijing, api_bureau_11, home):
    before = Snapshot(home)
    refused(
        register(api_bureau_11, number=beijing.number, scan=pdf_scan(), type="website"),
        422,
        "website_number_required",
    )
    refused(
        register(api_bureau_11, number=beijing.number, scan=pdf_scan(), received_via="pigeon"),
        422,
        "bad_channel",
    )
    response = register(api_bureau_11, number="not a filing number", scan=pdf_scan())
    assert 400 <= response.status_code < 500 and response.json()["code"]
    before.assert_unchanged()


def test_bad_cancellation_type_is_422(beijing, api_bureau_11, home):
    """The form endpoint refuses type=everything with bad_type; registration must not read it as "website"."""
    before = Snapshot(home)
    site = beijing.websites.get(sequence=1)
    for bad in ("everything", "Subject", "cancel_subject"):
        refused(register(api_bureau_11, number=site.number, scan=pdf_scan(), type=bad), 422, "bad_type")
    before.assert_unchanged()


def test_shell_cleanup_is_not_a_way_to_receive_a_paper_application(beijing, api_bureau_11, home):
    """received_via is counter, post or bureau_system (the error message says so); ``shell_cleanup`` marks
    the engine's own force-cancellations, which are audited as shell.force_cancel and check the shell."""
    before = Snapshot(home)
    refused(
        register(api_bureau_11, number=beijing.number, scan=pdf_scan(), received_via="shell_cleanup"),
        422,
        "bad_channel",
    )
    before.assert_unchanged()


def test_subject_with_an_open_order_is_409(beijing, owner, bureau_11, api_bureau_11, home):
    site = beijing.websites.get(sequence=1)
    online = services.cancel_website_submit(
        actor=owner, website=site, password=f.PASSWORD, acknowledge_irreversible=True
    )
    before = Snapshot(home)
    body = refused(register(api_bureau_11, number=beijing.number, scan=pdf_scan()), 409, "order_in_progress")
    assert body["blocking_order"] == online.pk
    refused(
        register(api_bureau_11, number=beijing.websites.get(sequence=2).number, scan=pdf_scan()),
        409,
        "order_in_progress",
    )
    with pytest.raises(Conflict) as exc:
        offline.offline_register(actor=bureau_11, number=site.number, scan=png_scan())
    assert exc.value.code == "order_in_progress"
    before.assert_unchanged(files=False)  # no order, no application (a stored scan is content-addressed)


def test_offline_order_blocks_other_orders_of_the_subject(beijing, owner, bureau_11):
    offline.offline_register(actor=bureau_11, number=beijing.number, scan=pdf_scan())
    with pytest.raises(Conflict) as exc:
        services.cancel_website_submit(
            actor=owner,
            website=beijing.websites.get(sequence=1),
            password=f.PASSWORD,
            acknowledge_irreversible=True,
        )
    assert exc.value.code == "order_in_progress"
    with pytest.raises(Conflict):
        offline.offline_register(actor=bureau_11, number=beijing.number, scan=png_scan())
    assert Order.objects.filter(subject=beijing).count() == 1


def test_filing_lookup(beijing):
    filing = offline.filing_lookup(beijing.number)
    assert filing.subject == beijing and filing.website is None
    site = beijing.websites.get(sequence=2)
    filing = offline.filing_lookup(site.number)
    assert filing.website == site
    with pytest.raises(NotFound):
        offline.filing_lookup("京ICP备2021999999号")


# --- Hunan: the bureau processes cancellations every Friday ------------------------------------------------


@pytest.mark.parametrize(
    ("today", "eta"),
    [(dt.date(2026, 3, 2), dt.date(2026, 3, 6)), (dt.date(2026, 10, 2), dt.date(2026, 10, 8))],
)
def test_offline_order_in_hunan_waits_for_the_friday_batch(owner, today, eta):
    bureau_43 = f.quick_user(role="bureau_reviewer", province="43")
    subject = f.filed_subject(owner, province_abbr="湘", domains_per_site=(["xiang-paper.cn"],))
    set_today(today)
    order = offline.offline_register(actor=bureau_43, number=subject.number, scan=pdf_scan())
    assert order.province == "43" and order.state == "bureau_review"
    assert order.eta == eta and order.eta_latest == eta
    assert "周五" in order.eta_note


# --- the bureau's registration page ------------------------------------------------------------------------


def test_registration_page_registers_a_paper_application(beijing, bureau_11, home):
    client = Client()
    client.force_login(bureau_11)
    site = beijing.websites.get(sequence=2)
    before = Snapshot(home)
    bad = client.post(
        "/bureau/offline/",
        {
            "number": site.number,
            "cancellation_type": "website",
            "received_via": "counter",
            "scan": SimpleUploadedFile("scan.gif", b"GIF89a\x01\x00", content_type="image/gif"),
        },
    )
    assert bad.status_code == 200
    assert "PDF、JPEG 或 PNG" in bad.content.decode()
    before.assert_unchanged()

    scan = png_scan()
    response = client.post(
        "/bureau/offline/",
        {
            "number": site.number,
            "cancellation_type": "website",
            "received_via": "counter",
            "applicant_name": "赵六",
            "scan": SimpleUploadedFile("scan.png", scan, content_type="image/png"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get(subject=beijing)
    assert response["Location"] == f"/review/orders/{order.pk}/"
    assert (order.kind, order.channel, order.state) == ("cancel_website", "offline", "bureau_review")
    application = OfflineApplication.objects.get(order=order)
    assert (
        application.applicant_name == "赵六" and application.scan_sha256 == hashlib.sha256(scan).hexdigest()
    )
