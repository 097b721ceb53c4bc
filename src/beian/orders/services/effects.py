"""What a decision does to the registry, inside the workflow's transaction.

On approval: numbers are allocated (subject ``<abbr>ICP备<YYYY><6-digit sequence>号`` from a per-province,
per-year counter; website ``-n`` from the subject's counter; neither ever reused), domains activated or
released, a FeedEntry written for every domain whose served state changes, shells marked, and for a new
filing the filing password (备案密码) issued and sent once to the subject's responsible person.
On rejection, abandonment or expiry: whatever the order reserved (a pending subject, website, domain) is
released so that it can be filed again.
"""

from __future__ import annotations

from django.db.models import F

from beian.audit.services import audit_append
from beian.core import clock
from beian.core.models import next_value
from beian.gate.models import FeedAction
from beian.gate.services import feed_append
from beian.notify.models import Channel as MessageChannel
from beian.notify.services import outbox_put
from beian.orders import verification
from beian.orders.choices import Kind
from beian.orders.models import Order
from beian.registry.choices import DomainStatus, SubjectStatus, WebsiteStatus
from beian.registry.models import Subject, Website
from beian.registry.search import spaced
from beian.rules import filing_numbers


def _allocate_subject_number(subject: Subject) -> str:
    year = clock.today().year
    sequence = next_value(f"subject-number:{subject.province}:{year}")
    return filing_numbers.subject_number_for(subject.province, year, sequence)


def _allocate_website_number(subject: Subject, website: Website) -> None:
    Subject.objects.filter(pk=subject.pk).update(website_counter=F("website_counter") + 1)
    subject.refresh_from_db(fields=["website_counter"])
    website.sequence = subject.website_counter
    website.number = filing_numbers.website_number_for(subject.number, website.sequence)


def _serve(website: Website, order: Order, *, reason: str) -> list[str]:
    names = list(website.domains.filter(status=DomainStatus.ACTIVE).values_list("name", flat=True))
    for name in names:
        feed_append(domain=name, action=FeedAction.ALLOW, reason=reason, website=website, order=order)
    return names


def _stop_serving(website: Website, order: Order, names: list[str], *, reason: str) -> None:
    for name in names:
        feed_append(domain=name, action=FeedAction.DENY, reason=reason, website=website, order=order)


def _activate_website(subject: Subject, website: Website, order: Order, now) -> list[str]:
    _allocate_website_number(subject, website)
    website.status = WebsiteStatus.ACTIVE
    website.served_here = True
    website.is_shell = False
    website.shell_since = None
    website.approved_at = now
    website.save()
    website.domains.filter(status=DomainStatus.RESERVED).update(status=DomainStatus.ACTIVE, activated_at=now)
    return _serve(website, order, reason=order.kind)


def _release_domains(
    website: Website, now, *, statuses=(DomainStatus.RESERVED, DomainStatus.ACTIVE)
) -> list[str]:
    qs = website.domains.filter(status__in=statuses)
    names = list(qs.values_list("name", flat=True))
    qs.update(status=DomainStatus.RELEASED, released_at=now)
    return names


def _cancel_website(website: Website, order: Order, now) -> list[str]:
    was_served = website.served_here
    names = _release_domains(website, now)
    website.status = WebsiteStatus.CANCELLED
    website.served_here = False
    website.is_shell = False
    website.shell_since = None
    website.cancelled_at = now
    website.save()
    if was_served:
        _stop_serving(website, order, names, reason=order.kind)
    return names


def _update_subject_shell(subject: Subject, now) -> None:
    """空壳主体: an active subject with no active website left."""
    shell = (
        subject.status == SubjectStatus.ACTIVE
        and not subject.websites.filter(status=WebsiteStatus.ACTIVE).exists()
    )
    if shell != subject.is_shell:
        subject.is_shell = shell
        subject.shell_since = now if shell else None
        subject.save(update_fields=["is_shell", "shell_since"])


def on_approved(order: Order, *, actor) -> dict:
    now = clock.now()
    subject = order.subject
    website = order.website
    kind = Kind(order.kind)
    if kind == Kind.NEW_FILING:
        subject.number = _allocate_subject_number(subject)
        subject.status = SubjectStatus.ACTIVE
        subject.approved_at = now
        password = verification.generate_password()
        subject.filing_password_hash = verification.hash_password(password)
        subject.password_failures = 0
        subject.password_locked_until = None
        subject.save()
        served = _activate_website(subject, website, order, now)
        _send_filing_password(subject, password, order)
        return {"subject_number": subject.number, "website_number": website.number, "served": served}
    if kind == Kind.ADD_WEBSITE:
        served = _activate_website(subject, website, order, now)
        _update_subject_shell(subject, now)
        return {"website_number": website.number, "served": served}
    if kind == Kind.ADD_ACCESS:
        website.served_here = True
        website.is_shell = False
        website.shell_since = None
        website.save(update_fields=["served_here", "is_shell", "shell_since"])
        return {"website_number": website.number, "served": _serve(website, order, reason=kind)}
    if kind == Kind.CHANGE_SUBJECT:
        fields = dict(order.payload.get("fields", {}))
        if "name" in fields:
            fields["name_chars"] = spaced(fields["name"])  # keeps the public query's name index in step
        for name, value in fields.items():
            setattr(subject, name, value)
        subject.save(update_fields=list(fields))
        return {"changed": sorted(order.payload.get("fields", {}))}
    if kind == Kind.CHANGE_WEBSITE:
        fields = order.payload.get("fields", {})
        for name, value in fields.items():
            setattr(website, name, value)
        if fields:
            website.save(update_fields=list(fields))
        removed = order.payload.get("remove_domains", [])
        qs = website.domains.filter(status=DomainStatus.ACTIVE, name__in=removed)
        names = list(qs.values_list("name", flat=True))
        qs.update(status=DomainStatus.RELEASED, released_at=now)
        if website.served_here:
            _stop_serving(website, order, names, reason=kind)
        return {"changed": sorted(fields), "removed_domains": names}
    if kind == Kind.CANCEL_WEBSITE:
        names = _cancel_website(website, order, now)
        _update_subject_shell(subject, now)
        return {"released_domains": names, "subject_is_shell": subject.is_shell}
    if kind == Kind.CANCEL_SUBJECT:
        released: list[str] = []
        for site in subject.websites.filter(status=WebsiteStatus.ACTIVE):
            released += _cancel_website(site, order, now)
        subject.status = SubjectStatus.CANCELLED
        subject.cancelled_at = now
        subject.is_shell = False
        subject.shell_since = None
        subject.filing_password_hash = ""
        subject.save()
        return {"released_domains": released}
    if kind == Kind.CANCEL_ACCESS:
        names = list(website.domains.filter(status=DomainStatus.ACTIVE).values_list("name", flat=True))
        website.served_here = False
        shell = not order.payload.get("other_provider_serves", False)
        website.is_shell = shell
        website.shell_since = now if shell else None
        website.save(update_fields=["served_here", "is_shell", "shell_since"])
        _stop_serving(website, order, names, reason=kind)
        return {"stopped_serving": names, "website_is_shell": shell}
    raise AssertionError(f"no effect for {kind}")  # pragma: no cover - the table lists every kind


def on_closed(order: Order, *, actor) -> None:
    """Rejected, abandoned or expired: release what the order reserved."""
    now = clock.now()
    kind = Kind(order.kind)
    if kind == Kind.NEW_FILING:
        _release_domains(order.website, now, statuses=(DomainStatus.RESERVED,))
        Website.objects.filter(pk=order.website_id).update(status=WebsiteStatus.WITHDRAWN)
        Subject.objects.filter(pk=order.subject_id).update(status=SubjectStatus.WITHDRAWN)
        order.subject.status = SubjectStatus.WITHDRAWN
    elif kind == Kind.ADD_WEBSITE:
        _release_domains(order.website, now, statuses=(DomainStatus.RESERVED,))
        Website.objects.filter(pk=order.website_id).update(status=WebsiteStatus.WITHDRAWN)


def _send_filing_password(subject: Subject, password: str, order: Order) -> None:
    text = (
        f"【备案】您的主体 {subject.name} 已通过管局审核，主体备案号 {subject.number}。备案密码：{password}"
        "（注销备案时需要，请妥善保管；本消息发送后不再保存密码）"
    )
    outbox_put(
        channel=MessageChannel.SMS,
        recipient=subject.responsible_mobile,
        template="filing_password_issued",
        body=text,
        order=order,
        sensitive=True,
    )
    outbox_put(
        channel=MessageChannel.EMAIL,
        recipient=subject.responsible_email,
        template="filing_password_issued",
        subject=f"[备案] {subject.number} 备案密码",
        body=text
        + f"\n\nYour filing {subject.number} was approved. Filing password: {password} (needed to cancel; keep it safe).",
        order=order,
        sensitive=True,
    )
    audit_append(actor=None, action="filing_password.issued", obj=subject, data={"number": subject.number})


__all__ = ["on_approved", "on_closed"]
