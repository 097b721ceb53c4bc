"""找回备案密码: recovery without enumeration, single-use expiring tokens, strength, lock cleared."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from beian.audit.models import AuditEntry
from beian.core import clock
from beian.core.errors import Invalid, Locked, NotAllowed, Throttled
from beian.notify.models import OutboxMessage
from beian.orders import recovery, services
from beian.orders.verification import filing_password_check
from tests import factories as f

pytestmark = pytest.mark.django_db
NEW = "New-Passw0rd!"


@pytest.fixture(autouse=True)
def _clock():
    yield
    clock.reset()


def _link_token() -> str:
    message = OutboxMessage.objects.filter(template="filing_password_reset_link").latest("id")
    return re.search(r"token=([\w-]+)", message.body).group(1)


def _request(subject, **over):
    args = {
        "number": subject.number,
        "certificate_type": "uscc",
        "certificate_number": subject.certificate_number,
        "ip": "10.0.0.1",
    }
    recovery.recovery_request(**{**args, **over})


def test_matching_request_mails_a_link_to_the_responsible_person_and_texts_a_notice():
    subject = f.filed_subject(f.user())
    _request(subject, number=subject.number + "-1")  # a website number is reduced to its subject
    mail = OutboxMessage.objects.get(template="filing_password_reset_link")
    assert mail.recipient == subject.responsible_email and mail.sensitive
    assert (
        OutboxMessage.objects.get(template="filing_password_reset_notice").recipient
        == subject.responsible_mobile
    )


@pytest.mark.parametrize(
    "override",
    [
        {"certificate_number": "91110108MA01ABCD1X"},  # wrong certificate
        {"certificate_type": "resident_id"},  # wrong type
        {"number": "京ICP备2099999999号"},  # no such subject
    ],
)
def test_non_matching_request_is_silent(override):
    subject = f.filed_subject(f.user())
    before = AuditEntry.objects.count()
    _request(subject, **override)  # no exception: the same answer as a match
    assert not OutboxMessage.objects.filter(template="filing_password_reset_link").exists()
    assert AuditEntry.objects.count() == before


def test_malformed_number_is_a_clear_error():
    with pytest.raises(Invalid) as err:
        recovery.recovery_request(
            number="京ICP备123", certificate_type="uscc", certificate_number="x", ip=None
        )
    assert err.value.code == "bad_digit_count"


def test_reset_sets_password_clears_lock_and_is_single_use():
    subject = f.filed_subject(f.user())
    for _ in range(5):
        with pytest.raises((NotAllowed, Locked)):
            filing_password_check(subject_id=subject.pk, password="wrong", ip=None)
    _request(subject)
    token = _link_token()
    recovery.password_reset(token=token, new_password=NEW)
    filing_password_check(subject_id=subject.pk, password=NEW, ip=None)  # lock cleared, new password works
    with pytest.raises(NotAllowed):
        filing_password_check(subject_id=subject.pk, password=f.PASSWORD, ip=None)
    with pytest.raises(Invalid) as reused:
        recovery.password_reset(token=token, new_password="Other-Passw0rd!")
    assert reused.value.code == "token_invalid"
    assert AuditEntry.objects.filter(action="filing_password.reset", object_id=str(subject.pk)).exists()


def test_token_expires_after_30_minutes_and_newer_reset_invalidates_older_tokens():
    subject = f.filed_subject(f.user())
    _request(subject)
    first = _link_token()
    _request(subject)
    second = _link_token()
    recovery.password_reset(token=second, new_password=NEW)
    with pytest.raises(Invalid):
        recovery.password_reset(token=first, new_password="Other-Passw0rd!")
    _request(subject)
    third = _link_token()
    clock.advance(dt.timedelta(minutes=31))
    with pytest.raises(Invalid) as expired:
        recovery.password_reset(token=third, new_password="Other-Passw0rd!")
    assert expired.value.code == "token_invalid"


@pytest.mark.parametrize("weak", ["short1A", "alllowercase1", "ALLUPPER1", "a" * 129])
def test_weak_or_overlong_new_password_is_refused_and_token_kept(weak):
    subject = f.filed_subject(f.user())
    _request(subject)
    token = _link_token()
    with pytest.raises(Invalid) as err:
        recovery.password_reset(token=token, new_password=weak)
    assert err.value.code in {"password_too_weak", "password_too_long"}
    recovery.password_reset(token=token, new_password=NEW)  # the token was not spent


def test_recovery_is_throttled_per_subject_number():
    subject = f.filed_subject(f.user())
    for i in range(5):
        _request(subject, ip=f"10.0.1.{i}")
    with pytest.raises(Throttled) as err:
        _request(subject, ip="10.0.2.1")
    assert err.value.context["retry_after"] > 0


def test_admin_issues_a_link_but_never_sees_a_password():
    admin, applicant = f.user(role="admin"), f.user()
    subject = f.filed_subject(applicant)
    with pytest.raises(NotAllowed):
        recovery.password_issue_link(actor=applicant, number=subject.number)
    recovery.password_issue_link(actor=admin, number=subject.number)
    assert (
        OutboxMessage.objects.get(template="filing_password_reset_link").recipient
        == subject.responsible_email
    )
    entry = AuditEntry.objects.get(action="filing_password.link_issued_by_admin")
    assert entry.actor == admin.username


def test_cancellation_works_with_the_recovered_password():
    owner = f.user()
    subject = f.filed_subject(owner)
    _request(subject)
    recovery.password_reset(token=_link_token(), new_password=NEW)
    order = services.cancel_subject_submit(actor=owner, subject=subject, password=NEW)
    assert order.state == "bureau_review"


@pytest.mark.parametrize(
    "override", [{"number": "京ICP备2099999999号"}, {"certificate_number": "91110108MA01ABCD1X"}]
)
def test_unknown_number_and_wrong_certificate_take_the_same_path(monkeypatch, override):
    """No early return that leaks existence: both compare a certificate in constant time exactly once."""
    import hmac

    from beian.orders import recovery as module

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(
        module.hmac, "compare_digest", lambda a, b: calls.append((len(a), len(b))) or real(a, b)
    )
    subject = f.filed_subject(f.user())
    _request(subject, **override)
    assert len(calls) == 1
    assert not OutboxMessage.objects.filter(template="filing_password_reset_link").exists()
