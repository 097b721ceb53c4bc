"""找回备案密码: recovering the filing password without help, and without anyone else being able to.

1. ``recovery_request`` takes the subject number (a website number is reduced to it), the certificate
   type and number. It answers the same whether or not they match (no enumeration): both paths parse,
   look up and compare in constant time; only a match creates a token. The one-time link (30 minutes,
   stored as a SHA-256 digest, single use) goes by e-mail to the subject's responsible person, with a
   notice by SMS, through the outbox. Requests are throttled per subject number and per address.
2. ``password_reset`` checks the token, the new password's strength, sets the argon2id hash, clears the
   lockout, invalidates every other token of the subject, and audits it.
3. ``password_issue_link`` lets an admin start the same path for a subject (audited); nobody ever reads a
   password: there is only its hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction

from beian.audit.services import audit_append
from beian.core import clock
from beian.core.errors import Invalid, NotAllowed, not_found
from beian.core.throttle import throttle_hit
from beian.notify.models import Channel
from beian.notify.services import outbox_put
from beian.orders.verification import MAX_PASSWORD_LENGTH, hash_password
from beian.registry.choices import SubjectStatus
from beian.registry.models import PasswordResetToken, Subject
from beian.rules import filing_numbers, natures
from beian.rules.errors import RulesError

TOKEN_TTL = dt.timedelta(minutes=30)
MIN_LENGTH = 8
_DUMMY_CERT = "0" * 18


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _subject_number(number) -> str:
    if not isinstance(number, str):
        raise Invalid("bad_number", "请填写主体备案号", "Enter the subject's filing number", field="number")
    try:
        parsed = filing_numbers.parse(number)
    except RulesError as exc:
        raise Invalid(exc.code, exc.message_zh, exc.message_en, field="number") from None
    return parsed.subject_number


def _issue(subject: Subject, *, issued_by=None) -> None:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    PasswordResetToken.objects.create(
        subject=subject,
        token_digest=_digest(token),
        created_at=now,
        expires_at=now + TOKEN_TTL,
        issued_by=issued_by,
    )
    link = f"{settings.BEIAN_BASE_URL.rstrip('/')}/filing-password/reset?token={token}"
    outbox_put(
        channel=Channel.EMAIL,
        recipient=subject.responsible_email,
        template="filing_password_reset_link",
        subject=f"[备案] 找回备案密码：{subject.number}",
        body=(
            f"您（{subject.responsible_name}）正在找回主体 {subject.name}（{subject.number}）的备案密码。\n"
            f"请在 30 分钟内打开以下链接设置新密码（仅可使用一次）：\n{link}\n\n"
            "如非本人操作，请忽略本邮件，原密码仍然有效。\n\n"
            f"To set a new filing password for {subject.number}, open this link within 30 minutes (single use):\n{link}\n"
        ),
        sensitive=True,
    )
    outbox_put(
        channel=Channel.SMS,
        recipient=subject.responsible_mobile,
        template="filing_password_reset_notice",
        body=f"【备案】主体 {subject.number} 正在找回备案密码，重置链接已发送至负责人邮箱，30 分钟内有效。如非本人操作请忽略。",
    )


def recovery_request(*, number, certificate_type, certificate_number, ip: str | None) -> None:
    """Send a reset link when the three facts match a filed subject; say nothing either way."""
    subject_number = _subject_number(number)
    if ip:
        throttle_hit(
            f"recovery-ip:{ip}",
            capacity=10,
            per_seconds=3600,
            what_zh="找回密码请求",
            what_en="recovery requests",
        )
    throttle_hit(
        f"recovery-subject:{subject_number}",
        capacity=5,
        per_seconds=3600,
        what_zh="找回密码请求",
        what_en="recovery requests",
    )
    try:
        ctype = natures.certificate_type(str(certificate_type or ""))
        cert = natures.normalize_certificate_number(ctype.code, certificate_number or "")
    except RulesError:
        ctype, cert = None, ""  # a malformed certificate simply does not match
    with transaction.atomic():
        subject = Subject.objects.filter(number=subject_number, status=SubjectStatus.ACTIVE).first()
        stored_type = subject.certificate_type if subject else ""
        stored_cert = subject.certificate_number if subject else _DUMMY_CERT
        # Same work on every path: a constant-time comparison against the stored or a dummy value.
        cert_ok = hmac.compare_digest(stored_cert.encode(), (cert or "-").encode())
        type_ok = ctype is not None and stored_type == ctype.code
        if subject is not None and cert_ok and type_ok:
            _issue(subject)
            audit_append(
                actor=None, action="filing_password.recovery_requested", obj=subject, data={"ip": ip or ""}
            )


def check_strength(password) -> str:
    if not isinstance(password, str) or not password:
        raise Invalid(
            "password_required", "请填写新的备案密码", "Enter the new filing password", field="new_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            "password_too_long",
            f"备案密码最多 {MAX_PASSWORD_LENGTH} 个字符",
            f"At most {MAX_PASSWORD_LENGTH} characters",
            field="new_password",
        )
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if len(password) < MIN_LENGTH or classes < 3:
        raise Invalid(
            "password_too_weak",
            f"新密码至少 {MIN_LENGTH} 位，并包含大写字母、小写字母、数字、符号中的至少三类",
            f"The new password needs {MIN_LENGTH}+ characters from at least three of: upper case, lower case, digits, symbols",
            field="new_password",
        )
    return password


def password_reset(*, token, new_password) -> Subject:
    """Set a new filing password with a valid reset token; every other token of the subject stops working."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise _token_invalid()
    password = check_strength(new_password)
    now = clock.now()
    with transaction.atomic():
        row = (
            PasswordResetToken.objects.select_for_update()
            .select_related("subject")
            .filter(token_digest=_digest(token))
            .first()
        )
        if (
            row is None
            or row.used_at is not None
            or row.expires_at <= now
            or row.subject.status != SubjectStatus.ACTIVE
        ):
            raise _token_invalid()
        subject = Subject.objects.select_for_update().get(pk=row.subject_id)
        subject.filing_password_hash = hash_password(password)
        subject.password_failures = 0
        subject.password_locked_until = None
        subject.save(update_fields=["filing_password_hash", "password_failures", "password_locked_until"])
        PasswordResetToken.objects.filter(subject=subject, used_at__isnull=True).update(used_at=now)
        audit_append(
            actor=row.issued_by,
            action="filing_password.reset",
            obj=subject,
            data={"token_issued_at": row.created_at.isoformat()},
        )
        outbox_put(
            channel=Channel.SMS,
            recipient=subject.responsible_mobile,
            template="filing_password_changed",
            body=f"【备案】主体 {subject.number} 的备案密码已重置。如非本人操作，请立即联系接入商。",
        )
    return subject


def _token_invalid() -> Invalid:
    return Invalid(
        "token_invalid",
        "重置链接无效、已使用或已过期（有效期 30 分钟）；请重新找回备案密码",
        "The reset link is invalid, used or expired (30 minutes); request a new one",
        field="token",
    )


def password_issue_link(*, actor, number) -> Subject:
    """Admin: send the subject's responsible person a reset link (the admin never sees a password)."""
    if actor is None or not (actor.is_superuser or getattr(actor, "role", "") == "admin"):
        raise NotAllowed(
            "admin_only", "只有管理员可以为主体签发重置链接", "Only an admin can issue a reset link"
        )
    subject_number = _subject_number(number)
    with transaction.atomic():
        subject = Subject.objects.filter(number=subject_number, status=SubjectStatus.ACTIVE).first()
        if subject is None:
            raise not_found("主体", "The subject", number=subject_number)
        _issue(subject, issued_by=actor)
        audit_append(actor=actor, action="filing_password.link_issued_by_admin", obj=subject)
    return subject
