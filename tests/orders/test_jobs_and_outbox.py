"""The worker's jobs: 45-day expiry with reminders on days 30 and 40, and outbox delivery with backoff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from beian.core import clock
from beian.notify import services as notify
from beian.notify.backends import SmsError, read_sms_log
from beian.notify.models import REDACTED, Channel, DeliveryAttempt, OutboxMessage
from beian.orders import services
from beian.orders.choices import State
from beian.orders.jobs import expire_untouched_orders
from beian.orders.models import Order
from beian.orders.workflow import Action, move
from beian.registry.models import Domain, Subject, Website
from tests import factories as f

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _clock_and_backends(settings, monkeypatch, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setenv("BEIAN_SMS_BACKEND", "file")
    monkeypatch.setenv("BEIAN_SMS_FILE", str(tmp_path / "sms.log"))
    yield
    clock.reset()


@pytest.fixture
def owner():
    return f.quick_user()


@pytest.fixture
def provider():
    return f.quick_user("provider_reviewer")


def reminders(order=None) -> list[OutboxMessage]:
    qs = OutboxMessage.objects.filter(template="order_reminder")
    return list(qs.filter(order=order) if order else qs)


# --- expiry ----------------------------------------------------------------------------------------


def test_untouched_order_expires_after_45_days_and_frees_its_domain(owner):
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="stale.cn"))
    clock.advance(44 * DAY)
    assert expire_untouched_orders() == 0
    assert Order.objects.get(pk=order.pk).state == State.PROVIDER_REVIEW
    clock.advance(DAY)
    assert expire_untouched_orders() == 1
    order.refresh_from_db()
    assert order.state == State.EXPIRED
    event = order.events.get(action="expire")
    assert event.actor is None and "45" in event.note
    assert Domain.objects.get(name="stale.cn").status == "released"
    assert Subject.objects.get(pk=order.subject_id).status == "withdrawn"
    assert Website.objects.get(pk=order.website_id).status == "withdrawn"
    assert expire_untouched_orders() == 0
    again = services.new_filing_submit(actor=f.quick_user(), **f.new_filing_args(domain="stale.cn"))
    assert again.state == State.PROVIDER_REVIEW
    f.assert_consistent()


def test_an_order_touched_after_the_job_chose_it_does_not_expire(owner, monkeypatch):
    """The job picks orders by a read taken before it locks each one: an order the applicant touched in
    between (here: updated just before the move) must survive, judged again under the lock."""
    from beian.orders import jobs, workflow

    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="touched.cn"))
    clock.advance(46 * DAY)

    def touched_then_move(order_id, *args, **kwargs):
        Order.objects.filter(pk=order_id).update(updated_at=clock.now())  # the applicant, meanwhile
        return workflow.move(order_id, *args, **kwargs)

    monkeypatch.setattr(jobs, "move", touched_then_move)
    assert expire_untouched_orders() == 0
    order.refresh_from_db()
    assert order.state == State.PROVIDER_REVIEW and not order.events.filter(action="expire").exists()
    assert Domain.objects.get(name="touched.cn").status != "released"
    f.assert_consistent()


def test_expired_add_website_releases_its_domain_only(owner):
    subject = f.filed_subject(owner, domains_per_site=(["keep-me.cn"],))
    website = {
        "name": "新网站",
        "responsible_name": "王五",
        "responsible_mobile": "13700000000",
        "responsible_email": "s@example.cn",
    }
    order = services.add_website_submit(actor=owner, subject=subject, website=website, domain="let-go.cn")
    clock.advance(46 * DAY)
    assert expire_untouched_orders() == 1
    assert Domain.objects.get(name="let-go.cn").status == "released"
    assert Domain.objects.get(name="keep-me.cn").status == "active"
    assert Website.objects.get(pk=order.website_id).status == "withdrawn"
    assert Subject.objects.get(pk=subject.pk).status == "active"
    f.assert_consistent()


def test_reminders_on_day_30_and_day_40_once_each(owner):
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="remind.cn"))
    clock.advance(29 * DAY)
    expire_untouched_orders()
    assert reminders() == []
    clock.advance(DAY)
    expire_untouched_orders()
    expire_untouched_orders()
    (first,) = reminders(order)
    assert first.recipient == owner.email and first.channel == "email"
    assert "30 天未处理" in first.body and "15 天后" in first.body
    clock.advance(9 * DAY)
    expire_untouched_orders()
    assert len(reminders(order)) == 1
    clock.advance(DAY)
    expire_untouched_orders()
    expire_untouched_orders()
    first_again, second = reminders(order)
    assert first_again.pk == first.pk and "5 天后" in second.body
    clock.advance(5 * DAY)
    assert expire_untouched_orders() == 1
    assert len(reminders(order)) == 2


def test_a_late_run_does_not_send_a_stale_reminder(owner):
    """A worker that was down on day 30 and runs on day 41 must not claim 15 days are left."""
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="late.cn"))
    clock.advance(41 * DAY)
    expire_untouched_orders()
    bodies = [m.body for m in reminders(order)]
    assert bodies and not any("15 天后" in b for b in bodies), bodies


def test_order_at_the_bureau_never_expires(owner, provider):
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="patience.cn"))
    move(order, Action.PROVIDER_APPROVE, actor=provider)
    clock.advance(200 * DAY)
    assert expire_untouched_orders() == 0
    assert Order.objects.get(pk=order.pk).state == State.BUREAU_REVIEW
    assert reminders() == []
    assert Domain.objects.get(name="patience.cn").status == "reserved"


def test_closed_orders_get_no_reminders(owner):
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="closed-r.cn"))
    move(order, Action.ABANDON, actor=owner)
    clock.advance(60 * DAY)
    assert expire_untouched_orders() == 0
    assert reminders() == []


# --- outbox delivery -------------------------------------------------------------------------------


def test_outbox_delivers_mail_and_sms(owner, provider):
    bureau = f.quick_user("bureau_reviewer", "11")
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="deliver.cn"))
    move(move(order, Action.PROVIDER_APPROVE, actor=provider), Action.BUREAU_APPROVE, actor=bureau)
    subject = Subject.objects.get(pk=order.subject_id)
    queued = list(OutboxMessage.objects.all())
    emails = [m for m in queued if m.channel == Channel.EMAIL]
    sms = [m for m in queued if m.channel == Channel.SMS]
    assert emails and sms

    sent, failed = notify.outbox_deliver_due()
    assert (sent, failed) == (len(queued), 0)
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted(
        (m.recipient, m.subject) for m in emails
    )
    owner_mail = [m for m in mail.outbox if m.to == [owner.email]]
    assert any(f"#{order.pk}" in m.body for m in owner_mail)
    log = read_sms_log()
    assert [(r["to"], r["id"]) for r in log] == [(m.recipient, m.pk) for m in sms]
    assert log[0]["to"] == subject.responsible_mobile and subject.number in log[0]["text"]
    for message in OutboxMessage.objects.all():
        assert message.status == "sent" and message.attempts == 1 and message.sent_at is not None
        assert list(message.delivery_attempts.values_list("ok", flat=True)) == [True]
    assert notify.outbox_deliver_due() == (0, 0)  # nothing is sent twice
    assert len(read_sms_log()) == len(sms)


def failing_sms(monkeypatch):
    def boom(**kwargs):
        raise SmsError("gateway down")

    monkeypatch.setattr(notify, "send_sms", boom)


def test_failed_delivery_is_retried_with_backoff_then_given_up(monkeypatch):
    failing_sms(monkeypatch)
    message = notify.outbox_put(channel=Channel.SMS, recipient="13800138000", template="test", body="你好")
    waits = []
    for attempt in range(1, 9):
        before = clock.now()
        assert notify.outbox_deliver_due() == (0, 1)
        message.refresh_from_db()
        assert message.attempts == attempt and message.last_error == "gateway down"
        last = message.delivery_attempts.last()
        assert last.ok is False and last.error == "gateway down"
        if attempt < 8:
            assert message.status == "pending" and message.next_attempt_at > before
            waits.append(message.next_attempt_at - before)
            assert notify.outbox_deliver_due() == (0, 0)  # not due yet
            clock.advance(message.next_attempt_at - clock.now() + dt.timedelta(seconds=1))
    assert message.status == "failed"
    assert DeliveryAttempt.objects.filter(message=message).count() == 8
    assert all(later > earlier for earlier, later in zip(waits, waits[1:], strict=False))
    assert waits[0] >= dt.timedelta(seconds=10)
    clock.advance(dt.timedelta(days=1))
    assert notify.outbox_deliver_due() == (0, 0)
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 8


def test_a_failure_does_not_hold_up_other_messages(monkeypatch):
    failing_sms(monkeypatch)
    notify.outbox_put(channel=Channel.SMS, recipient="13800138000", template="test", body="短信")
    notify.outbox_put(
        channel=Channel.EMAIL, recipient="a@example.cn", template="test", subject="主题", body="邮件"
    )
    assert notify.outbox_deliver_due() == (1, 1)
    assert [m.to for m in mail.outbox] == [["a@example.cn"]]


def test_a_sensitive_message_that_fails_for_good_keeps_no_secret(monkeypatch):
    """The filing password is stored as a hash only: once its message is given up, the clear text goes too."""
    failing_sms(monkeypatch)
    message = notify.outbox_put(
        channel=Channel.SMS,
        recipient="13800138000",
        template="filing_password_issued",
        body="备案密码：Secret-Pw-99",
        sensitive=True,
    )
    for _ in range(8):
        notify.outbox_deliver_due()
        clock.advance(dt.timedelta(hours=2))
    message.refresh_from_db()
    assert message.status == "failed"
    assert "Secret-Pw-99" not in message.body


def test_sensitive_body_is_redacted_after_delivery():
    message = notify.outbox_put(
        channel=Channel.SMS,
        recipient="13800138000",
        template="sms_verification_code",
        body="验证码 123456",
        sensitive=True,
    )
    plain = notify.outbox_put(channel=Channel.SMS, recipient="13800138000", template="test", body="普通消息")
    notify.outbox_deliver_due()
    message.refresh_from_db()
    plain.refresh_from_db()
    assert message.body == REDACTED and plain.body == "普通消息"
    assert [r["text"] for r in read_sms_log()] == ["验证码 123456", "普通消息"]
