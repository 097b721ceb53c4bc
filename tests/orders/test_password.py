"""The filing password (备案密码) that confirms a cancellation in password mode (the default)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from argon2 import PasswordHasher
from django.apps import apps
from django.db import models
from django.utils import timezone

from beian.core import clock
from beian.core.errors import Invalid, Locked, NotAllowed, Throttled
from beian.notify.services import outbox_deliver_due
from beian.orders import services, verification
from beian.orders.choices import State
from beian.orders.models import Order
from beian.orders.workflow import Action, move
from beian.registry.models import Subject
from tests import factories as f

pytestmark = pytest.mark.django_db

WRONG = "Wrong-Guess-7f3a"


@pytest.fixture(autouse=True)
def _clock(settings, monkeypatch, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setenv("BEIAN_SMS_BACKEND", "file")
    monkeypatch.setenv("BEIAN_SMS_FILE", str(tmp_path / "sms.log"))
    yield
    clock.reset()


@pytest.fixture
def cheap_hasher(monkeypatch):
    monkeypatch.setattr(verification, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def owner():
    return f.quick_user()


@pytest.fixture
def subject(owner):
    return f.filed_subject(owner, domains_per_site=(["pw-a.cn"], ["pw-b.cn"]))


@pytest.fixture
def site(subject):
    return subject.websites.get(sequence=1)


def cancel(owner, site, password, ip=None):
    return services.cancel_website_submit(actor=owner, website=site, password=password, ip=ip)


def wrong(owner, site, ip=None):
    with pytest.raises(NotAllowed) as err:
        cancel(owner, site, WRONG, ip)
    assert err.value.code == "wrong_filing_password" and err.value.status == 403
    return err.value


def locked(owner, site, password=WRONG, ip=None):
    with pytest.raises(Locked) as err:
        cancel(owner, site, password, ip)
    assert err.value.code == "filing_password_locked" and err.value.status == 423
    return err.value


def test_five_wrong_passwords_lock_for_thirty_minutes(owner, subject, site):
    errors = [wrong(owner, site) for _ in range(4)]
    assert [e.context["attempts_remaining"] for e in errors] == [4, 3, 2, 1]
    assert "还可以再试 1 次" in errors[-1].message_zh

    lock = locked(owner, site)
    until = dt.datetime.fromisoformat(lock.context["locked_until"])
    assert abs(until - (clock.now() + dt.timedelta(minutes=30))) < dt.timedelta(seconds=10)
    assert f"{timezone.localtime(until):%H:%M}" in lock.message_zh and "锁定" in lock.message_zh

    locked(owner, site, password=f.PASSWORD)  # the right password does not open a lock
    assert not Order.objects.exists()

    clock.advance(dt.timedelta(minutes=29))
    locked(owner, site, password=f.PASSWORD)
    clock.advance(dt.timedelta(minutes=2))
    order = cancel(owner, site, f.PASSWORD)
    assert order.state == State.BUREAU_REVIEW
    subject.refresh_from_db()
    assert subject.password_failures == 0


def test_wrong_message_counts_down(owner, site):
    err = wrong(owner, site)
    assert "备案密码不正确" in err.message_zh and "还可以再试 4 次" in err.message_zh


def test_after_the_lock_a_fresh_series_starts(owner, site):
    for _ in range(4):
        wrong(owner, site)
    locked(owner, site)
    clock.advance(dt.timedelta(minutes=31))
    assert wrong(owner, site).context["attempts_remaining"] == 4


def test_success_resets_the_count(owner, subject, site):
    bureau = f.quick_user("bureau_reviewer", "11")
    for _ in range(4):
        wrong(owner, site)
    order = cancel(owner, site, f.PASSWORD)
    move(order, Action.BUREAU_REJECT, actor=bureau, note="材料不全")
    assert [wrong(owner, site).context["attempts_remaining"] for _ in range(4)] == [4, 3, 2, 1]
    locked(owner, site)


def test_failures_persist_though_the_submission_is_refused(owner, subject, site):
    """Each refused guess is committed apart from the refused submission, and counted per subject."""
    wrong(owner, site)
    assert Subject.objects.get(pk=subject.pk).password_failures == 1
    other_site = subject.websites.get(sequence=2)
    assert wrong(owner, other_site, ip="198.51.100.1").context["attempts_remaining"] == 3
    with pytest.raises(NotAllowed) as err:
        services.cancel_subject_submit(actor=owner, subject=subject, password=WRONG, ip="198.51.100.2")
    assert err.value.context["attempts_remaining"] == 2
    assert Subject.objects.get(pk=subject.pk).password_failures == 3
    assert not Order.objects.exists()
    wrong(owner, site, ip="198.51.100.3")
    locked(owner, site, ip="198.51.100.4")  # spreading guesses over addresses does not help
    assert Subject.objects.get(pk=subject.pk).password_locked_until is not None


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("", "password_required"),
        (None, "password_required"),
        (12345678, "password_required"),
        (b"Correct-Horse-42", "password_required"),
        (["Correct-Horse-42"], "password_required"),
        ("x" * 129, "password_too_long"),
        ("\ud800abc", "password_not_text"),
    ],
)
def test_bad_password_input_is_refused_without_counting(owner, subject, site, password, code):
    with pytest.raises(Invalid) as err:
        cancel(owner, site, password)
    assert err.value.code == code and err.value.status == 422 and err.value.context["field"] == "password"
    if code == "password_too_long":
        assert "128" in err.value.message_zh
    assert Subject.objects.get(pk=subject.pk).password_failures == 0
    assert not Order.objects.exists()


def test_128_characters_is_a_real_guess(owner, subject, site):
    with pytest.raises(NotAllowed) as err:
        cancel(owner, site, "x" * 128)
    assert err.value.code == "wrong_filing_password"


# --- the password is never stored in clear ---------------------------------------------------------


def rows_containing(secret: str) -> list[tuple[str, str]]:
    """(model, field) of every text value in the database that contains ``secret``."""
    hits = []
    for model in apps.get_models():
        names = [
            fld.name
            for fld in model._meta.concrete_fields
            if isinstance(fld, models.CharField | models.TextField | models.JSONField)
        ]
        if not names:
            continue
        for row in model.objects.values_list(*names):
            for name, value in zip(names, row, strict=True):
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                if secret in text:
                    hits.append((model._meta.label, name))
    return hits


def test_the_clear_password_is_in_no_row(owner):
    provider = f.quick_user("provider_reviewer")
    bureau = f.quick_user("bureau_reviewer", "11")
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="secret.cn"))
    move(move(order, Action.PROVIDER_APPROVE, actor=provider), Action.BUREAU_APPROVE, actor=bureau)
    subject = Subject.objects.get(pk=order.subject_id)
    body = subject.orders.get().messages.get(template="filing_password_issued", channel="sms").body
    issued = re.search(r"备案密码：([A-Za-z0-9]+)（", body).group(1)
    assert ("notify.OutboxMessage", "body") in rows_containing(issued)  # the scan finds it before delivery

    outbox_deliver_due()
    site = subject.websites.get()
    for _ in range(2):
        wrong(owner, site, ip="203.0.113.9")
    done = cancel(owner, site, issued, ip="203.0.113.9")
    move(done, Action.BUREAU_APPROVE, actor=bureau)
    imported = f.filed_subject(owner, domains_per_site=(["secret-two.cn"],))
    cancel(owner, imported.websites.get(), f.PASSWORD, ip="203.0.113.9")
    outbox_deliver_due()

    assert rows_containing(issued) == []
    assert rows_containing(WRONG) == []
    assert rows_containing(f.PASSWORD) == []
    assert Subject.objects.get(pk=imported.pk).filing_password_hash.startswith("$argon2id$")


# --- per-address throttle --------------------------------------------------------------------------


def test_twenty_attempts_per_address_then_throttled(owner, cheap_hasher):
    ip = "192.0.2.10"
    subjects = [f.filed_subject(owner, domains_per_site=([f"ip{i}.cn"],)) for i in range(5)]
    for subj in subjects[:4]:  # 4 × 5 wrong guesses: each subject locks at its fifth
        site = subj.websites.get()
        for _ in range(4):
            wrong(owner, site, ip=ip)
        locked(owner, site, ip=ip)
    fresh = subjects[4].websites.get()
    with pytest.raises(Throttled) as err:
        cancel(owner, fresh, f.PASSWORD, ip=ip)  # the 21st, even with the right password
    assert err.value.code == "throttled" and err.value.status == 429
    retry_after = err.value.context["retry_after"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 600
    assert str(retry_after) in err.value.message_zh
    assert Subject.objects.get(pk=subjects[4].pk).password_failures == 0  # not counted as a guess

    assert cancel(owner, fresh, f.PASSWORD, ip="192.0.2.11").state == State.BUREAU_REVIEW  # another address

    clock.advance(dt.timedelta(seconds=retry_after))
    locked(owner, subjects[0].websites.get(), ip=ip)  # a token again: the lock answers, not the throttle
