"""What a decision does to the registry: numbers, the filing password, domains, shells and the change feed.

Every scenario ends by checking that replaying the change feed gives exactly the registry's served set and
that the audit chain is intact.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from argon2 import PasswordHasher
from django.core import mail

from beian.core import clock
from beian.core.errors import Conflict
from beian.gate.models import FeedEntry
from beian.gate.services import served_set_from_feed
from beian.notify.backends import read_sms_log
from beian.notify.models import REDACTED, OutboxMessage
from beian.notify.services import outbox_deliver_due
from beian.orders import services
from beian.orders.choices import State
from beian.orders.jobs import expire_untouched_orders
from beian.orders.workflow import Action, move
from beian.registry.models import Domain, Subject, Website
from beian.registry.services import filing_import
from tests import factories as f

pytestmark = pytest.mark.django_db

WEBSITE = {
    "name": "新增的网站",
    "responsible_name": "王五",
    "responsible_mobile": "13700000000",
    "responsible_email": "site@example.cn",
}
PASSWORD_IN_BODY = re.compile(r"备案密码：([A-Za-z0-9]+)（")


@pytest.fixture(autouse=True)
def _clock_and_backends(settings, monkeypatch, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setenv("BEIAN_SMS_BACKEND", "file")
    monkeypatch.setenv("BEIAN_SMS_FILE", str(tmp_path / "sms.log"))
    yield
    clock.reset()


class World:
    def __init__(self):
        self.owner = f.quick_user()
        self.other = f.quick_user()
        self.provider = f.quick_user("provider_reviewer")
        self.bureaus = {code: f.quick_user("bureau_reviewer", code) for code in ("11", "44")}

    def approve(self, order):
        """Take an order through the reviews the table asks for, to approved."""
        if order.state == State.PROVIDER_REVIEW:
            order = move(order, Action.PROVIDER_APPROVE, actor=self.provider)
        if order.state == State.BUREAU_REVIEW:
            order = move(order, Action.BUREAU_APPROVE, actor=self.bureaus[order.province])
        assert order.state == State.APPROVED
        return order

    def file_new(self, domain: str, *, province: str = "11", actor=None, n: int | None = None):
        order = services.new_filing_submit(
            actor=actor or self.owner, **f.new_filing_args(domain=domain, province=province, n=n)
        )
        return self.approve(order)


@pytest.fixture
def w():
    return World()


def subject_sequence(number: str) -> int:
    return int(re.fullmatch(r".ICP备\d{4}(\d{6})号", number).group(1))


def issued_password(subject: Subject) -> str:
    message = OutboxMessage.objects.filter(
        template="filing_password_issued", channel="sms", recipient=subject.responsible_mobile
    ).last()
    return PASSWORD_IN_BODY.search(message.body).group(1)


def last_feed_action(domain: str) -> str | None:
    entry = FeedEntry.objects.filter(domain=domain).order_by("-seq").first()
    return entry.action if entry else None


# --- numbers ---------------------------------------------------------------------------------------


def test_new_filing_gets_subject_number_and_website_1(w):
    order = w.file_new("number-one.cn")
    subject, site = Subject.objects.get(pk=order.subject_id), Website.objects.get(pk=order.website_id)
    year = clock.today().year
    assert re.fullmatch(rf"京ICP备{year}\d{{6}}号", subject.number)
    assert subject.status == "active" and subject.approved_at is not None
    assert site.sequence == 1 and site.number == subject.number + "-1"
    assert site.status == "active" and site.served_here and not site.is_shell
    assert Domain.objects.get(name="number-one.cn").status == "active"
    assert last_feed_action("number-one.cn") == "allow"
    assert "number-one.cn" in served_set_from_feed()
    f.assert_consistent()


def test_subject_numbers_count_per_province_and_year_and_are_never_reused(w):
    first = Subject.objects.get(pk=w.file_new("seq-a.cn").subject_id)
    second = Subject.objects.get(pk=w.file_new("seq-b.cn").subject_id)
    canton = Subject.objects.get(pk=w.file_new("seq-gd.cn", province="44").subject_id)
    third = Subject.objects.get(pk=w.file_new("seq-c.cn").subject_id)
    year = clock.today().year
    assert re.fullmatch(rf"粤ICP备{year}\d{{6}}号", canton.number)
    assert subject_sequence(second.number) == subject_sequence(first.number) + 1
    assert subject_sequence(third.number) == subject_sequence(second.number) + 1  # 粤 did not draw from 京

    # cancel the newest subject: its number is retired, the next one moves on
    retired = third.number
    cancel = services.cancel_subject_submit(actor=w.owner, subject=third, password=issued_password(third))
    w.approve(cancel)
    third.refresh_from_db()
    assert third.status == "cancelled" and third.number == retired
    fourth = Subject.objects.get(pk=w.file_new("seq-c.cn").subject_id)
    assert subject_sequence(fourth.number) == subject_sequence(third.number) + 1
    numbers = [s.number for s in (first, second, canton, third, fourth)]
    assert len(set(numbers)) == len(numbers)

    # a new year starts a new sequence, under the new year's digits
    clock.advance(dt.timedelta(days=(dt.date(year + 1, 1, 2) - clock.today()).days))
    next_year = Subject.objects.get(pk=w.file_new("seq-next-year.cn").subject_id)
    assert next_year.number == f"京ICP备{year + 1}000001号"
    f.assert_consistent()


# --- the filing password ---------------------------------------------------------------------------


def test_filing_password_issued_hashed_sent_once_and_redacted(w):
    order = w.file_new("password.cn")
    subject = Subject.objects.get(pk=order.subject_id)
    assert subject.filing_password_hash.startswith("$argon2id$")
    messages = OutboxMessage.objects.filter(template="filing_password_issued")
    assert {(m.channel, m.recipient) for m in messages} == {
        ("sms", subject.responsible_mobile),
        ("email", subject.responsible_email),
    }
    assert all(m.sensitive for m in messages)
    password = issued_password(subject)
    assert password not in subject.filing_password_hash
    assert PasswordHasher().verify(subject.filing_password_hash, password)
    assert all(password in m.body for m in messages)

    outbox_deliver_due()
    assert all(m.status == "sent" and m.body == REDACTED for m in messages.all())
    delivered = [m for m in mail.outbox if subject.responsible_email in m.to]
    assert len(delivered) == 1 and password in delivered[0].body
    sms = [r for r in read_sms_log() if r["to"] == subject.responsible_mobile]
    assert len(sms) == 1 and password in sms[0]["text"]

    cancel = services.cancel_website_submit(
        actor=w.owner, website=Website.objects.get(pk=order.website_id), password=password
    )
    assert cancel.state == State.BUREAU_REVIEW
    w.approve(cancel)
    f.assert_consistent()


# --- websites --------------------------------------------------------------------------------------


def test_add_website_takes_the_next_sequence_and_never_reuses_one(w):
    subject = f.filed_subject(w.owner, domains_per_site=(["aw-one.cn"], ["aw-two.cn"]))
    third = w.approve(
        services.add_website_submit(actor=w.owner, subject=subject, website=WEBSITE, domain="aw-three.cn")
    )
    site3 = Website.objects.get(pk=third.website_id)
    assert site3.sequence == 3 and site3.number == f"{subject.number}-3" and site3.served_here
    assert last_feed_action("aw-three.cn") == "allow"

    w.approve(services.cancel_website_submit(actor=w.owner, website=site3, password=f.PASSWORD))
    fourth = w.approve(
        services.add_website_submit(actor=w.owner, subject=subject, website=WEBSITE, domain="aw-three.cn")
    )
    site4 = Website.objects.get(pk=fourth.website_id)
    assert site4.sequence == 4 and site4.number == f"{subject.number}-4"
    site3.refresh_from_db()
    assert site3.status == "cancelled" and site3.number == f"{subject.number}-3"
    assert Website.objects.filter(number=f"{subject.number}-3").count() == 1
    f.assert_consistent()


def test_rejected_add_website_releases_domain_and_does_not_use_a_sequence(w):
    subject = f.filed_subject(w.owner, domains_per_site=(["rw-one.cn"],))
    order = services.add_website_submit(actor=w.owner, subject=subject, website=WEBSITE, domain="rw-two.cn")
    move(order, Action.PROVIDER_REJECT, actor=w.provider, note="网站名称不符")
    site = Website.objects.get(pk=order.website_id)
    assert site.status == "withdrawn" and site.number is None
    assert Domain.objects.get(website=site).status == "released"
    subject.refresh_from_db()
    assert subject.status == "active" and subject.website_counter == 1
    again = w.approve(
        services.add_website_submit(actor=w.owner, subject=subject, website=WEBSITE, domain="rw-two.cn")
    )
    assert Website.objects.get(pk=again.website_id).number == f"{subject.number}-2"
    f.assert_consistent()


def test_add_access_keeps_the_number_and_allows_the_domain(w):
    subject = f.filed_subject(w.owner, domains_per_site=(["access.cn"],), served=False)
    site = subject.websites.get()
    assert site.is_shell and "access.cn" not in served_set_from_feed()
    order = w.approve(services.add_access_submit(actor=w.owner, website=site))
    number = site.number
    site.refresh_from_db()
    assert site.number == number and site.served_here and not site.is_shell
    assert last_feed_action("access.cn") == "allow"
    assert FeedEntry.objects.filter(domain="access.cn", order=order, action="allow").exists()
    f.assert_consistent()


def test_change_subject_applies_fields_on_approval_only(w):
    subject = f.filed_subject(w.owner, domains_per_site=(["cs.cn"],))
    changes = {"name": "更名后的公司", "address": "北京市朝阳区", "responsible_mobile": "13912345678"}
    order = services.change_subject_submit(actor=w.owner, subject=subject, changes=changes)
    subject.refresh_from_db()
    assert subject.name != "更名后的公司"
    w.approve(order)
    subject.refresh_from_db()
    assert (subject.name, subject.address, subject.responsible_mobile) == (
        "更名后的公司",
        "北京市朝阳区",
        "13912345678",
    )
    assert subject.number and subject.province == "11"
    f.assert_consistent()


def test_change_website_removes_a_domain_and_keeps_the_others(w):
    subject = f.filed_subject(w.owner, domains_per_site=(["cw-a.cn", "cw-b.cn", "cw-c.cn"],))
    site = subject.websites.get()
    order = services.change_website_submit(
        actor=w.owner, website=site, changes={"name": "改版网站"}, remove_domains=["cw-b.cn"]
    )
    assert Domain.objects.get(name="cw-b.cn").status == "active"  # nothing changes before approval
    w.approve(order)
    site.refresh_from_db()
    assert site.name == "改版网站" and site.status == "active"
    statuses = dict(Domain.objects.filter(website=site).values_list("name", "status"))
    assert statuses == {"cw-a.cn": "active", "cw-b.cn": "released", "cw-c.cn": "active"}
    assert last_feed_action("cw-b.cn") == "deny"
    assert {"cw-a.cn", "cw-c.cn"} <= served_set_from_feed() and "cw-b.cn" not in served_set_from_feed()
    # the removed domain is free for anybody
    w.file_new("cw-b.cn", actor=w.other)
    f.assert_consistent()


# --- cancellations ---------------------------------------------------------------------------------


def test_cancel_website_releases_domains_and_the_last_one_makes_a_shell(w):
    subject = f.filed_subject(w.owner, domains_per_site=(["cx-a.cn", "cx-a2.cn"], ["cx-b.cn"]))
    one, two = subject.websites.order_by("sequence")
    w.approve(services.cancel_website_submit(actor=w.owner, website=one, password=f.PASSWORD))
    one.refresh_from_db()
    subject.refresh_from_db()
    assert one.status == "cancelled" and not one.served_here and one.cancelled_at
    assert set(Domain.objects.filter(website=one).values_list("status", flat=True)) == {"released"}
    assert last_feed_action("cx-a.cn") == "deny" and last_feed_action("cx-a2.cn") == "deny"
    assert subject.status == "active" and not subject.is_shell
    f.assert_consistent()

    w.approve(services.cancel_website_submit(actor=w.owner, website=two, password=f.PASSWORD))
    subject.refresh_from_db()
    assert subject.status == "active" and subject.is_shell and subject.shell_since
    assert served_set_from_feed() == set()
    # released domains can be filed again by anybody
    w.file_new("cx-a.cn", actor=w.other)
    f.assert_consistent()


def test_cancel_subject_cancels_every_website(w):
    subject = f.filed_subject_sites(
        w.owner,
        [
            {"domains": ["cz-a.cn"]},
            {"domains": ["cz-b.cn", "cz-b2.cn"]},
            {"domains": ["cz-c.cn"], "served": False},
        ],
    )
    number = subject.number
    w.approve(services.cancel_subject_submit(actor=w.owner, subject=subject, password=f.PASSWORD))
    subject.refresh_from_db()
    assert subject.status == "cancelled" and subject.number == number and subject.cancelled_at
    assert set(subject.websites.values_list("status", flat=True)) == {"cancelled"}
    assert set(Domain.objects.filter(website__subject=subject).values_list("status", flat=True)) == {
        "released"
    }
    for name in ("cz-a.cn", "cz-b.cn", "cz-b2.cn"):
        assert last_feed_action(name) == "deny"
    assert last_feed_action("cz-c.cn") is None  # never served here: nothing to deny
    f.assert_consistent()
    # the certificate is free again: the same filer may file anew and gets a new number
    again = services.new_filing_submit(
        actor=w.owner,
        province="11",
        nature="enterprise",
        certificate_type="uscc",
        certificate_number=subject.certificate_number,
        subject={"name": subject.name, **f.person(1)},
        website=WEBSITE,
        domain="cz-a.cn",
    )
    assert Subject.objects.get(pk=w.approve(again).subject_id).number != number
    f.assert_consistent()


@pytest.mark.parametrize("other_provider_serves", [False, True])
def test_cancel_access_keeps_the_filing_and_the_domains(w, other_provider_serves):
    subject = f.filed_subject(w.owner, domains_per_site=(["ca-a.cn"], ["ca-b.cn"]))
    site = subject.websites.get(sequence=1)
    number = site.number
    order = services.cancel_access_submit(
        actor=w.owner, website=site, other_provider_serves=other_provider_serves
    )
    w.approve(order)
    site.refresh_from_db()
    assert site.status == "active" and site.number == number
    assert site.served_here is False and site.is_shell is (not other_provider_serves)
    assert last_feed_action("ca-a.cn") == "deny" and "ca-a.cn" not in served_set_from_feed()
    assert Domain.objects.get(name="ca-a.cn").status == "active"
    with pytest.raises(Conflict) as err:
        services.new_filing_submit(actor=w.other, **f.new_filing_args(domain="ca-a.cn"))
    assert err.value.code == "domain_already_filed"
    f.assert_consistent()

    # 接入备案 later: served again, same number
    w.approve(services.add_access_submit(actor=w.owner, website=site))
    site.refresh_from_db()
    assert site.number == number and site.served_here and not site.is_shell
    assert "ca-a.cn" in served_set_from_feed()
    f.assert_consistent()


# --- closing a new filing without approval ---------------------------------------------------------


@pytest.mark.parametrize("how", ["provider_reject", "bureau_reject", "abandon", "expire"])
def test_closed_new_filing_withdraws_and_releases(w, how):
    args = f.new_filing_args(domain="closed.cn")
    order = services.new_filing_submit(actor=w.owner, **args)
    if how == "provider_reject":
        move(order, Action.PROVIDER_REJECT, actor=w.provider, note="材料不全")
    elif how == "bureau_reject":
        order = move(order, Action.PROVIDER_APPROVE, actor=w.provider)
        move(order, Action.BUREAU_REJECT, actor=w.bureaus["11"], note="材料不全")
    elif how == "abandon":
        move(order, Action.ABANDON, actor=w.owner)
    else:
        clock.advance(dt.timedelta(days=46))
        assert expire_untouched_orders() == 1
    subject, site = Subject.objects.get(pk=order.subject_id), Website.objects.get(pk=order.website_id)
    assert subject.status == "withdrawn" and subject.number is None
    assert site.status == "withdrawn" and site.number is None
    assert Domain.objects.get(website=site).status == "released"
    assert not OutboxMessage.objects.filter(template="filing_password_issued").exists()
    f.assert_consistent()

    # the same certificate and the same domain can be filed again
    again = services.new_filing_submit(actor=w.owner, **args)
    assert again.state == State.PROVIDER_REVIEW
    w.approve(again)
    assert "closed.cn" in served_set_from_feed()
    f.assert_consistent()


@pytest.mark.parametrize(
    ("province", "abbr"), [("51", "蜀"), ("53", "滇"), ("52", "黔"), ("62", "陇"), ("44", "粤"), ("31", "沪")]
)
def test_subject_number_uses_the_bureaus_abbreviation(w, province, abbr):
    """Sichuan, Yunnan, Guizhou and Gansu differ from car plates: 蜀 滇 黔 陇."""
    bureau = f.quick_user("bureau_reviewer", province)
    order = services.new_filing_submit(
        actor=w.owner, **f.new_filing_args(domain=f"abbr{province}.cn", province=province)
    )
    order = move(move(order, Action.PROVIDER_APPROVE, actor=w.provider), Action.BUREAU_APPROVE, actor=bureau)
    subject = Subject.objects.get(pk=order.subject_id)
    assert re.fullmatch(rf"{abbr}ICP备{clock.today().year}\d{{6}}号", subject.number)
    assert Website.objects.get(pk=order.website_id).number == subject.number + "-1"


def test_allocated_number_never_collides_with_an_imported_one(w):
    """A provider adopting beian imports this year's filings; new approvals must not hand out their numbers."""
    year = clock.today().year
    number = f"京ICP备{year}000001号"
    filing_import(
        owner=w.owner,
        subject={
            "number": number,
            "nature": "enterprise",
            "name": "已备案的公司",
            "certificate_type": "uscc",
            "certificate_number": f.uscc(990001),
            **f.person(990001),
        },
        websites=[{"number": f"{number}-1", "name": "已备案网站", "domains": ["imported.cn"]}],
    )
    order = w.file_new("after-import.cn")
    assert Subject.objects.get(pk=order.subject_id).number != number
    f.assert_consistent()
