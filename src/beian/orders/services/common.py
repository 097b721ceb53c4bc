"""What every submission shares: the subject lock, the one-open-order rule, domain checks, order creation."""

from __future__ import annotations

import re
from contextlib import contextmanager

from django.db import IntegrityError, transaction

from beian.core import clock
from beian.core.errors import Conflict, Invalid
from beian.orders.choices import OPEN_STATES, Channel, Kind, Verification
from beian.orders.models import Order
from beian.orders.services import guards
from beian.orders.workflow import Action, find_transition, illegal, record, stage_eta
from beian.registry.choices import HELD_DOMAIN_STATES, DomainStatus
from beian.registry.models import Domain, Subject
from beian.rules import domains as domain_rules
from beian.rules import provinces
from beian.rules.errors import DomainError

MOBILE = re.compile(r"^1[3-9]\d{9}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def lock_subject(subject_id: int) -> Subject:
    return Subject.objects.select_for_update().select_related("owner").get(pk=subject_id)


def text(field: str, value, *, max_length: int = 200, required: bool = True, label: str = "") -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    label = label or field
    if required and not value:
        raise Invalid("required", f"请填写{label}", f"{field} is required", field=field)
    if len(value) > max_length:
        raise Invalid(
            "too_long",
            f"{label}最多 {max_length} 个字符",
            f"{field} is {max_length} characters at most",
            field=field,
        )
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        raise Invalid(
            "control_characters",
            f"{label}含有不可见的控制字符",
            f"{field} contains control characters",
            field=field,
        )
    return value


def mobile(field: str, value) -> str:
    value = text(field, value, max_length=20, label="手机号码").replace(" ", "").replace("-", "")
    if value.startswith("+86"):
        value = value[3:]
    if not MOBILE.match(value):
        raise Invalid(
            "bad_mobile",
            "手机号码应为 11 位中国大陆手机号，例如 13800138000",
            "A mobile number is 11 digits, e.g. 13800138000",
            field=field,
        )
    return value


def email(field: str, value) -> str:
    value = text(field, value, max_length=200, label="电子邮箱")
    if not EMAIL.match(value):
        raise Invalid(
            "bad_email",
            "电子邮箱格式不正确，例如 name@example.com",
            "The e-mail address is not valid, e.g. name@example.com",
            field=field,
        )
    return value


def filing_domain(value: str, *, field: str = "domain") -> domain_rules.Domain:
    """The domain a new website files: normalised, on an approved TLD, reduced to what a filing covers."""
    try:
        info = domain_rules.analyze(value or "")
    except DomainError as exc:
        raise Invalid(exc.code, exc.message_zh, exc.message_en, field=field, **exc.context) from None
    if not info.tld_approved:
        tld = domain_rules.to_unicode(info.tld)
        raise Invalid(
            "tld_not_approved",
            f"顶级域 .{tld} 未获工信部批准，使用该后缀的域名不能备案",
            f"The TLD .{tld} is not approved by MIIT: domains under it cannot be filed",
            field=field,
            tld=info.tld,
        )
    return info


def domain_conflict(name: str, holder: Domain, subject: Subject | None) -> Conflict:
    website = holder.website
    holder_subject = website.subject
    same = subject is not None and holder_subject.pk == subject.pk
    number = website.number or holder_subject.number
    province = provinces.by_code(holder_subject.province)
    context = {
        "domain": name,
        "filing_number": number,
        "pending": holder.status == DomainStatus.RESERVED,
        "same_subject": same,
    }
    if holder.status == DomainStatus.RESERVED:
        zh = f"域名 {domain_rules.to_unicode(name)} 正在另一个备案订单中申请，不能重复备案"
        en = f"The domain {name} is being filed in another order and cannot be filed again"
    else:
        zh = f"域名 {domain_rules.to_unicode(name)} 已有备案（{number}），不能重复备案"
        en = f"The domain {name} is already filed ({number}) and cannot be filed again"
    if not same and holder.status == DomainStatus.ACTIVE:
        context.update(
            province=province.code,
            province_name=province.name,
            bureau=province.bureau,
            offline_channel=province.offline_channel.value,
            offline_url=province.offline_url,
            offline_guide=f"/provinces/{province.code}",
            cancellation_form=cancellation_form_url(number, "website", new_owner_domain=name),
        )
        zh += (
            f"。若该域名已归您所有，但备案属于原持有人，请持域名证书向{province.bureau}申请线下注销"
            f"（{province.offline_channel.label_zh}）；注销通过后即可重新备案"
        )
        en += (
            f". If the domain is now yours but the filing is the previous owner's, apply to the {province.bureau_en} "
            f"for an offline cancellation with the domain certificate ({province.offline_channel.label_en}); "
            "once it is approved you can file the domain"
        )
    elif same and holder.status == DomainStatus.ACTIVE:
        zh += "，它已在您的主体下备案"
        en += ", under your own subject"
    return Conflict("domain_already_filed", zh, en, **context)


def cancellation_form_url(
    number: str, kind: str, *, new_owner_domain: str | None = None, fmt: str = "pdf"
) -> str:
    """Where the pre-filled 注销备案申请表 of a filing is generated (see beian.offline)."""
    from urllib.parse import quote, urlencode

    query = {
        "format": fmt,
        "type": kind,
        **({"new_owner_domain": new_owner_domain} if new_owner_domain else {}),
    }
    return f"/api/v1/filings/{quote(number)}/cancellation-form?{urlencode(query)}"


def ensure_domain_free(name: str, subject: Subject | None) -> None:
    holder = (
        Domain.objects.select_related("website__subject")
        .filter(name=name, status__in=HELD_DOMAIN_STATES)
        .first()
    )
    if holder is not None:
        raise domain_conflict(name, holder, subject)


@contextmanager
def constraint_conflicts(subject: Subject | None = None, domain: str | None = None):
    """Turn a unique-constraint race lost at commit time into the same 409 a pre-check gives."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        message = str(exc)
        if "one_open_per_subject" in message or "beian_order.subject_id" in message:
            blocking = (
                Order.objects.filter(subject=subject, state__in=OPEN_STATES).first() if subject else None
            )
            if blocking is not None:
                raise guards.order_in_progress(blocking) from None
            raise Conflict(
                "order_in_progress", "该主体有进行中的订单", "The subject has an order in progress"
            ) from None
        if "unique_held_name" in message or "beian_domain.name" in message:
            holder = (
                Domain.objects.select_related("website__subject")
                .filter(name=domain, status__in=HELD_DOMAIN_STATES)
                .first()
            )
            if holder is not None:
                raise domain_conflict(domain, holder, subject) from None
            raise Conflict(
                "domain_already_filed",
                "该域名已被其他订单占用",
                "The domain is held by another order",
                domain=domain,
            ) from None
        if "unique_live_certificate" in message or "beian_subject.certificate" in message:
            raise certificate_in_use() from None
        raise


def certificate_in_use() -> Conflict:
    return Conflict(
        "certificate_in_use",
        "该证件已有备案主体（或正在首次备案）：请在原主体下新增网站，不要重复首次备案",
        "A subject with this certificate is already filed (or being filed): add a website to it instead",
    )


def create_order(
    *,
    kind: Kind,
    subject: Subject,
    actor,
    website=None,
    payload: dict | None = None,
    channel: Channel = Channel.ONLINE,
    verification: Verification = Verification.NONE,
    action: Action = Action.SUBMIT,
    note: str = "",
    data: dict | None = None,
) -> Order:
    """Create an order in its initial state with its first timeline event; inside the caller's transaction."""
    transition = find_transition(kind, None, action)
    if transition is None:
        raise illegal(None, kind, None, action)
    now = clock.now()
    order = Order(
        kind=kind,
        subject=subject,
        website=website,
        state=transition.target,
        province=subject.province,
        channel=channel,
        payload=payload or {},
        verification=verification,
        submitted_by=actor,
        created_at=now,
        updated_at=now,
        stage_entered_at=now,
    )
    stage_eta(order)
    with constraint_conflicts(subject=subject):
        order.save()
    record(order, action, "", actor=actor, note=note, data=data)
    return order
