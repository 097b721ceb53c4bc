"""SMS verification of cancellations (BEIAN_CANCELLATION_VERIFICATION=sms), as MIIT does it since 2020-08-17."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from beian.core import clock
from beian.core.errors import Conflict, Invalid, NotAllowed, Throttled
from beian.notify.models import OutboxMessage
from beian.orders import services
from beian.orders.choices import State
from beian.orders.jobs import return_expired_codes
from beian.orders.models import Order
from beian.orders.verification import sms_resend, sms_verify
from beian.orders.workflow import Action, move
from tests import factories as f

pytestmark = pytest.mark.django_db

CODE = re.compile(r"验证码 (\d{6})")
SITE_MOBILE = "13655556666"


@pytest.fixture(autouse=True)
def _sms_mode(settings):
    settings.BEIAN_CANCELLATION_VERIFICATION = "sms"
    yield
    clock.reset()


@pytest.fixture
def owner():
    return f.quick_user()


@pytest.fixture
def subject(owner):
    return f.filed_subject_sites(
        owner, [{"domains": ["sms-a.cn"], "responsible_mobile": SITE_MOBILE}, {"domains": ["sms-b.cn"]}]
    )


@pytest.fixture
def site(subject):
    return subject.websites.get(sequence=1)


def code_messages(order) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(order=order, template="sms_verification_code").order_by("id"))


def latest_code(order) -> str:
    return CODE.search(code_messages(order)[-1].body).group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def verify(order, code, actor):
    return sms_verify(order_id=order.pk, code=code, actor=actor)


def test_cancel_subject_sends_the_code_to_the_subjects_responsible_person(owner, subject):
    order = services.cancel_subject_submit(actor=owner, subject=subject)
    assert order.state == State.AWAITING_VERIFICATION and order.verification == "sms"
    (message,) = code_messages(order)
    assert message.channel == "sms" and message.sensitive
    assert message.recipient == subject.responsible_mobile != SITE_MOBILE
    assert CODE.search(message.body) and subject.number in message.body


def test_cancel_website_sends_the_code_to_the_websites_responsible_person(owner, subject, site):
    order = services.cancel_website_submit(actor=owner, website=site)
    assert order.state == State.AWAITING_VERIFICATION
    (message,) = code_messages(order)
    assert message.recipient == SITE_MOBILE and message.sensitive
    assert site.number in message.body


def test_the_right_code_sends_the_order_to_the_bureau(owner, site):
    order = services.cancel_website_submit(actor=owner, website=site)
    code = latest_code(order)
    assert order.sms_code_hash and code not in order.sms_code_hash
    moved = verify(order, code, owner)
    assert moved.state == State.BUREAU_REVIEW
    assert order.events.filter(action="verify", to_state="bureau_review").exists()
    with pytest.raises(Conflict) as err:  # a used code cannot be used again
        verify(order, code, owner)
    assert err.value.code == "not_awaiting_verification"


def test_five_wrong_codes_then_the_order_is_returned(owner, subject, site):
    order = services.cancel_website_submit(actor=owner, website=site)
    code = latest_code(order)
    remaining = []
    for _ in range(5):
        with pytest.raises(NotAllowed) as err:
            verify(order, other_code(code), owner)
        assert err.value.code == "wrong_code"
        remaining.append(err.value.context["attempts_remaining"])
    assert remaining == [4, 3, 2, 1, 0]
    assert "再次提交将退回订单" in err.value.message_zh
    assert Order.objects.get(pk=order.pk).state == State.AWAITING_VERIFICATION

    with pytest.raises(Conflict) as err:
        verify(order, code, owner)  # the 6th attempt returns the order, even with the right code
    assert err.value.code == "verification_failed" and "5 次" in err.value.message_zh
    order.refresh_from_db()
    assert order.state == State.REJECTED and "5 次" in order.decision_note
    event = order.events.get(action="verification_failed")
    assert (
        event.from_state == "awaiting_verification" and event.to_state == "rejected" and "5 次" in event.note
    )
    assert event.actor is None and event.actor_role == "system"

    again = services.cancel_website_submit(actor=owner, website=site)  # a new submission is possible
    assert again.state == State.AWAITING_VERIFICATION and again.pk != order.pk
    assert verify(again, latest_code(again), owner).state == State.BUREAU_REVIEW


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("12a456", "code_format"),
        ("12345", "code_format"),
        ("１２３４５６", "code_format"),
        ("", "code_required"),
        (None, "code_required"),
    ],
)
def test_malformed_codes_are_refused_without_counting(owner, site, code, error):
    order = services.cancel_website_submit(actor=owner, website=site)
    with pytest.raises(Invalid) as err:
        verify(order, code, owner)
    assert err.value.code == error and err.value.status == 422
    order.refresh_from_db()
    assert order.sms_failures == 0 and order.state == State.AWAITING_VERIFICATION


def test_only_the_applicant_may_verify(owner, site):
    order = services.cancel_website_submit(actor=owner, website=site)
    with pytest.raises(NotAllowed) as err:
        verify(order, latest_code(order), f.quick_user())
    assert err.value.code == "not_owner"
    assert Order.objects.get(pk=order.pk).state == State.AWAITING_VERIFICATION


def test_resend_has_a_cooldown_and_replaces_the_code(owner, site):
    order = services.cancel_website_submit(actor=owner, website=site)
    old = latest_code(order)
    with pytest.raises(Throttled) as err:
        sms_resend(order_id=order.pk, actor=owner)
    assert err.value.code == "resend_cooldown" and err.value.status == 429
    assert 1 <= err.value.context["retry_after"] <= 61
    assert len(code_messages(order)) == 1

    clock.advance(dt.timedelta(seconds=61))
    sms_resend(order_id=order.pk, actor=owner)
    messages = code_messages(order)
    assert len(messages) == 2 and messages[1].recipient == SITE_MOBILE and messages[1].sensitive
    new = latest_code(order)
    if new != old:  # one chance in a million that the new code equals the old one
        with pytest.raises(NotAllowed) as wrong:
            verify(order, old, owner)
        assert wrong.value.code == "wrong_code"
    assert verify(order, new, owner).state == State.BUREAU_REVIEW


def test_code_expires_after_24_hours(owner, site):
    order = services.cancel_website_submit(actor=owner, website=site)
    clock.advance(dt.timedelta(hours=23, minutes=59))
    code = latest_code(order)
    with pytest.raises(NotAllowed):
        verify(order, other_code(code), owner)  # still alive: an ordinary wrong code
    clock.advance(dt.timedelta(minutes=2))
    with pytest.raises(Conflict) as err:
        verify(order, code, owner)
    assert err.value.code == "code_expired" and "24 小时" in err.value.message_zh
    order.refresh_from_db()
    assert order.state == State.REJECTED
    assert "过期" in order.events.get(action="verification_failed").note
    assert services.cancel_website_submit(actor=owner, website=site).state == State.AWAITING_VERIFICATION


def test_worker_returns_orders_whose_code_expired(owner, subject, site):
    waiting = services.cancel_subject_submit(actor=owner, subject=subject)
    assert return_expired_codes() == 0
    clock.advance(dt.timedelta(hours=24, seconds=1))
    assert return_expired_codes() == 1
    waiting.refresh_from_db()
    assert waiting.state == State.REJECTED and "过期" in waiting.decision_note
    assert return_expired_codes() == 0  # once


def test_a_code_resent_after_the_worker_chose_the_order_keeps_it(owner, site, monkeypatch):
    """The worker picks orders by a read taken before it locks each one: a new code sent in between makes
    the order current again, judged under the lock."""
    from beian.orders import workflow

    order = services.cancel_website_submit(actor=owner, website=site)
    clock.advance(dt.timedelta(hours=24, seconds=1))
    real_move = workflow.move

    def resent_then_move(order_id, *args, **kwargs):
        Order.objects.filter(pk=order_id).update(sms_sent_at=clock.now())  # a resend, meanwhile
        return real_move(order_id, *args, **kwargs)

    monkeypatch.setattr(workflow, "move", resent_then_move)
    assert return_expired_codes() == 0
    assert Order.objects.get(pk=order.pk).state == State.AWAITING_VERIFICATION


def test_verified_order_is_not_returned_by_the_worker(owner, site):
    order = services.cancel_website_submit(actor=owner, website=site)
    verify(order, latest_code(order), owner)
    clock.advance(dt.timedelta(days=2))
    assert return_expired_codes() == 0
    assert Order.objects.get(pk=order.pk).state == State.BUREAU_REVIEW


def test_cancel_access_needs_no_verification(owner, site):
    order = services.cancel_access_submit(actor=owner, website=site)
    assert order.state == State.PROVIDER_REVIEW and order.verification == "none"
    assert code_messages(order) == []
    assert not OutboxMessage.objects.filter(channel="sms").exists()
    done = move(order, Action.PROVIDER_APPROVE, actor=f.quick_user("provider_reviewer"))
    assert done.state == State.APPROVED
