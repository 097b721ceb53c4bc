"""Confirming a cancellation: the filing password (备案密码) and MIIT-style SMS verification.

Password mode (default): ``cancel_subject`` / ``cancel_website`` need the subject's filing password at
submission. Argon2id hashes only. Five consecutive failures lock the subject's password for 30 minutes;
a success resets the count. Failures are counted per subject (spreading guesses over addresses does not
help) and each client address is throttled as well. Every check commits on its own, before the
submission, so a refused guess still counts.
"""

from __future__ import annotations

import datetime as dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.db import transaction
from django.utils import timezone

from beian.audit.services import audit_append
from beian.core import clock
from beian.core.errors import Invalid, Locked, NotAllowed
from beian.core.throttle import throttle_hit
from beian.registry.models import Subject

MAX_FAILURES = 5
LOCK_MINUTES = 30
MAX_PASSWORD_LENGTH = 128
IP_CAPACITY, IP_WINDOW_SECONDS = 20, 600  # 20 guesses per address per 10 minutes
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # no 0/O, 1/l/I

hasher = PasswordHasher()  # argon2id with the library's current parameters


def generate_password(length: int = 12) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def hash_password(password: str) -> str:
    return hasher.hash(password)


def clean_password_input(password) -> str:
    """Refuse empty, overlong or non-text passwords before anything is looked up."""
    if not isinstance(password, str) or not password:
        raise Invalid("password_required", "请填写备案密码", "Enter the filing password", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            "password_too_long",
            f"备案密码最多 {MAX_PASSWORD_LENGTH} 个字符",
            f"The filing password is {MAX_PASSWORD_LENGTH} characters at most",
            field="password",
        )
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(
            "password_not_text",
            "备案密码含有无效字符",
            "The filing password contains invalid characters",
            field="password",
        ) from None
    return password


def locked_error(until: dt.datetime) -> Locked:
    local = timezone.localtime(until)
    return Locked(
        "filing_password_locked",
        f"备案密码连续输错 {MAX_FAILURES} 次，已锁定至 {local:%H:%M}（{local:%Y-%m-%d}）；可稍后再试，或找回备案密码",
        f"The filing password was entered wrongly {MAX_FAILURES} times and is locked until {local:%Y-%m-%d %H:%M} "
        "(China time); try later or recover the password",
        field="password",
        locked_until=until.isoformat(),
    )


def filing_password_check(*, subject_id: int, password, ip: str | None, actor=None) -> None:
    """Check the subject's filing password or raise (403 wrong with attempts left, 423 locked, 429 throttled).

    Commits on its own: call it before (outside) the submission's transaction.
    """
    password = clean_password_input(password)
    if ip:
        throttle_hit(
            f"filing-password-ip:{ip}",
            capacity=IP_CAPACITY,
            per_seconds=IP_WINDOW_SECONDS,
            what_zh="备案密码尝试",
            what_en="filing password attempts",
        )
    now = clock.now()
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject_id)
        if subject.password_locked_until and subject.password_locked_until > now:
            raise locked_error(subject.password_locked_until)
        if subject.password_locked_until:  # the lock ran out: a fresh series of attempts
            subject.password_locked_until = None
            subject.password_failures = 0
        ok = False
        if subject.filing_password_hash:
            try:
                ok = hasher.verify(subject.filing_password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        if ok:
            if subject.password_failures or subject.password_locked_until:
                subject.password_failures = 0
                subject.save(update_fields=["password_failures", "password_locked_until"])
            if hasher.check_needs_rehash(subject.filing_password_hash):
                subject.filing_password_hash = hasher.hash(password)
                subject.save(update_fields=["filing_password_hash"])
            return
        subject.password_failures += 1
        if subject.password_failures >= MAX_FAILURES:
            subject.password_locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            subject.password_failures = 0
            subject.save(update_fields=["password_failures", "password_locked_until"])
            audit_append(actor=actor, action="filing_password.locked", obj=subject, data={"ip": ip or ""})
            error = locked_error(subject.password_locked_until)
        else:
            subject.save(update_fields=["password_failures", "password_locked_until"])
            remaining = MAX_FAILURES - subject.password_failures
            error = NotAllowed(
                "wrong_filing_password",
                f"备案密码不正确，还可以再试 {remaining} 次；连续输错 {MAX_FAILURES} 次将锁定 {LOCK_MINUTES} 分钟。忘记密码可找回备案密码",
                f"The filing password is wrong; {remaining} attempts left before it locks for {LOCK_MINUTES} minutes. "
                "Forgot it? Recover the filing password",
                field="password",
                attempts_remaining=remaining,
            )
    raise error  # raised after commit so the failure count stays


# --- SMS mode (BEIAN_CANCELLATION_VERIFICATION=sms) --------------------------------------------------
# Since 2020-08-17 MIIT checks a cancellation with a code sent by SMS to the responsible person: the
# subject's for 注销主体, the website's for 注销网站. The code lives 24 hours; after 5 wrong entries the
# 6th attempt returns the order (it is rejected with the reason recorded; the applicant may submit again).

SMS_CODE_TTL = dt.timedelta(hours=24)
SMS_MAX_FAILURES = 5
SMS_RESEND_COOLDOWN = dt.timedelta(seconds=60)


def _code_digest(order_id: int, code: str) -> str:
    import hashlib
    import hmac

    from django.conf import settings

    return hmac.new(
        settings.SECRET_KEY.encode(), f"sms:{order_id}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def sms_recipient(order) -> str:
    from beian.orders.choices import Kind

    if order.kind == Kind.CANCEL_WEBSITE and order.website_id:
        return order.website.responsible_mobile
    return order.subject.responsible_mobile


def sms_send_code(order) -> None:
    """Send a fresh 6-digit code for ``order`` through the outbox; inside the caller's transaction."""
    from beian.notify.models import Channel
    from beian.notify.services import outbox_put
    from beian.orders.choices import Kind

    code = f"{secrets.randbelow(1_000_000):06d}"
    order.sms_code_hash = _code_digest(order.pk, code)
    order.sms_sent_at = clock.now()
    order.save(update_fields=["sms_code_hash", "sms_sent_at"])
    what = Kind(order.kind).label
    target = (
        order.website.number
        if order.kind == Kind.CANCEL_WEBSITE and order.website_id
        else order.subject.number
    )
    outbox_put(
        channel=Channel.SMS,
        recipient=sms_recipient(order),
        template="sms_verification_code",
        body=f"【备案核验】您正在办理{what}（{target}），验证码 {code}，24 小时内有效。如非本人操作，请忽略并联系接入商。",
        order=order,
        sensitive=True,
    )


EXPIRED_NOTE = "短信验证码已过期（24 小时），订单已退回，请重新提交注销申请"


def return_expired(order_id: int):
    """Return an order whose SMS code expired (the order is rejected with the reason recorded) and give the
    refusal the applicant sees. Used by verify, resend and the worker's job alike."""
    from beian.core.errors import Conflict
    from beian.orders.workflow import Action, move

    def expired(locked) -> bool:  # judged again under the lock: a resend may have come meanwhile
        return locked.sms_sent_at is not None and locked.sms_sent_at <= clock.now() - SMS_CODE_TTL

    move(order_id, Action.VERIFICATION_FAILED, actor=None, note=EXPIRED_NOTE, still=expired)
    return Conflict(
        "code_expired",
        "短信验证码已过期（24 小时），订单已退回；请重新提交注销申请",
        "The SMS code expired (24 hours); the order was returned: submit the cancellation again",
        order=order_id,
    )


def clean_code(code) -> str:
    if not isinstance(code, str) or not code.strip():
        raise Invalid("code_required", "请填写短信验证码", "Enter the SMS code", field="code")
    code = code.strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise Invalid("code_format", "短信验证码为 6 位数字", "The SMS code is 6 digits", field="code")
    return code


def sms_verify(*, order_id: int, code, actor, ip: str | None = None):
    """Check the SMS code of an order awaiting verification; on success the order goes to the bureau."""
    from beian.core.errors import Conflict
    from beian.orders.choices import State
    from beian.orders.models import Order
    from beian.orders.workflow import Action, Actor, actor_may, move

    code = clean_code(code)
    if ip:
        throttle_hit(
            f"sms-code-ip:{ip}",
            capacity=IP_CAPACITY,
            per_seconds=IP_WINDOW_SECONDS,
            what_zh="验证码尝试",
            what_en="code attempts",
        )
    now = clock.now()
    error = None
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("subject").get(pk=order_id)
        if not actor_may(Actor.APPLICANT, actor, order.province, order.subject.owner_id):
            raise NotAllowed(
                "not_owner", "只有该主体的申请人可以核验", "Only the subject's applicant can verify"
            )
        if order.state != State.AWAITING_VERIFICATION:
            raise Conflict(
                "not_awaiting_verification",
                "该订单不在待短信核验状态",
                "The order is not awaiting SMS verification",
                order=order.pk,
                state=order.state,
            )
        if order.sms_sent_at is None or now - order.sms_sent_at > SMS_CODE_TTL:
            error = return_expired(order.pk)
        elif order.sms_failures >= SMS_MAX_FAILURES:
            move(
                order.pk,
                Action.VERIFICATION_FAILED,
                actor=None,
                note=f"短信验证码连续输错 {SMS_MAX_FAILURES} 次，订单已退回，请重新提交注销申请",
            )
            error = Conflict(
                "verification_failed",
                f"短信验证码已连续输错 {SMS_MAX_FAILURES} 次，订单已退回；请重新提交注销申请",
                f"The SMS code was wrong {SMS_MAX_FAILURES} times; the order was returned: submit the cancellation again",
                order=order.pk,
            )
        elif secrets.compare_digest(order.sms_code_hash, _code_digest(order.pk, code)):
            order.sms_code_hash = ""
            order.save(update_fields=["sms_code_hash"])
            return move(order.pk, Action.VERIFY, actor=actor)
        else:
            order.sms_failures += 1
            order.updated_at = now
            order.save(update_fields=["sms_failures", "updated_at"])
            remaining = SMS_MAX_FAILURES - order.sms_failures
            tail_zh = f"还可以再试 {remaining} 次" if remaining else "再次提交将退回订单"
            tail_en = f"{remaining} attempts left" if remaining else "the next attempt returns the order"
            error = NotAllowed(
                "wrong_code",
                f"短信验证码不正确，{tail_zh}",
                f"The SMS code is wrong; {tail_en}",
                field="code",
                attempts_remaining=remaining,
            )
    raise error


def sms_resend(*, order_id: int, actor):
    """Send a new code (after a cooldown); the old one stops working."""
    from beian.core.errors import Conflict, Throttled
    from beian.orders.choices import State
    from beian.orders.models import Order
    from beian.orders.workflow import Actor, actor_may

    now = clock.now()
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("subject", "website")
            .get(pk=order_id)
        )
        if not actor_may(Actor.APPLICANT, actor, order.province, order.subject.owner_id):
            raise NotAllowed(
                "not_owner",
                "只有该主体的申请人可以重新发送验证码",
                "Only the subject's applicant can ask for a new code",
            )
        if order.state != State.AWAITING_VERIFICATION:
            raise Conflict(
                "not_awaiting_verification",
                "该订单不在待短信核验状态",
                "The order is not awaiting SMS verification",
                order=order.pk,
                state=order.state,
            )
        if order.sms_sent_at and now - order.sms_sent_at > SMS_CODE_TTL:
            expired = return_expired(order.pk)
        elif order.sms_sent_at and now - order.sms_sent_at < SMS_RESEND_COOLDOWN:
            wait = int((SMS_RESEND_COOLDOWN - (now - order.sms_sent_at)).total_seconds()) + 1
            raise Throttled(
                "resend_cooldown",
                f"验证码已发送，请 {wait} 秒后再重新发送",
                f"A code was just sent; ask again in {wait} seconds",
                retry_after=wait,
            )
        else:
            sms_send_code(order)
            audit_append(actor=actor, action="order.sms_resent", obj=order)
            expired = None
    if expired is not None:
        raise expired  # after the commit that returned the order
    return order


def sms_resend_available_at(order) -> dt.datetime | None:
    return order.sms_sent_at + SMS_RESEND_COOLDOWN if order.sms_sent_at else None
