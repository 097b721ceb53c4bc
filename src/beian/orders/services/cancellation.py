"""注销主体, 注销网站, 取消接入 — and the preview of what a cancellation will stop.

注销主体 retires the subject number and every website under it; 注销网站 retires one website number (the
subject becomes a shell 空壳主体 when it was the last); both go straight to the bureau once confirmed
with the filing password (or the SMS code in SMS mode). 取消接入 only stops this provider serving a
website: its number stays at MIIT and it becomes a shell website unless another provider serves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from beian.core import clock
from beian.orders import verification
from beian.orders.choices import Kind, Verification
from beian.orders.models import Order
from beian.orders.services import common, guards
from beian.orders.services.change import irreversible_error
from beian.orders.services.filing import website_of
from beian.registry.choices import DomainStatus, WebsiteStatus
from beian.registry.models import Subject, Website
from beian.rules import workdays


@dataclass
class Preview:
    """What a cancellation will do, shown before the applicant confirms."""

    kind: Kind
    subject_id: int
    subject_number: str | None
    websites: list[dict] = field(
        default_factory=list
    )  # number, name, domains [{name, unicode, tld_approved, served_here}]
    unapproved_tld_domains: list[str] = field(default_factory=list)  # one-way: never fileable again
    stops_serving: list[str] = field(default_factory=list)  # domains the gate will block on approval
    subject_becomes_shell: bool = False
    eta: workdays.Eta | None = None
    verification: str = "password"


def cancellation_preview(*, kind: Kind | str, subject: Subject, website: Website | None = None) -> Preview:
    kind = Kind(kind)
    if kind == Kind.CANCEL_SUBJECT:
        sites = list(subject.websites.filter(status=WebsiteStatus.ACTIVE).prefetch_related("domains"))
    else:
        sites = [website] if website is not None else []
    preview = Preview(
        kind=kind, subject_id=subject.pk, subject_number=subject.number, verification=verification_mode(kind)
    )
    for site in sites:
        doms = [d for d in site.domains.all() if d.status == DomainStatus.ACTIVE]
        preview.websites.append(
            {
                "id": site.pk,
                "number": site.number,
                "name": site.name,
                "served_here": site.served_here,
                "domains": [
                    {"name": d.name, "unicode": d.unicode, "tld_approved": d.tld_approved} for d in doms
                ],
            }
        )
        preview.unapproved_tld_domains += [d.name for d in doms if not d.tld_approved]
        preview.stops_serving += [d.name for d in doms if site.served_here]
    if kind == Kind.CANCEL_WEBSITE and website is not None:
        others = subject.websites.filter(status=WebsiteStatus.ACTIVE).exclude(pk=website.pk).exists()
        preview.subject_becomes_shell = not others
    if kind == Kind.CANCEL_ACCESS:
        preview.unapproved_tld_domains = []  # the filing stays: nothing is lost for good
    stage = workdays.Stage.PROVIDER if kind == Kind.CANCEL_ACCESS else workdays.Stage.BUREAU
    preview.eta = workdays.review_eta(
        clock.today(), stage=stage, province=subject.province, cancellation=kind != Kind.CANCEL_ACCESS
    )
    return preview


def verification_mode(kind: Kind) -> str:
    if kind == Kind.CANCEL_ACCESS:
        return Verification.NONE
    return Verification.SMS if settings.BEIAN_CANCELLATION_VERIFICATION == "sms" else Verification.PASSWORD


def _confirm(kind: Kind, subj: Subject, *, password, ip: str | None, actor) -> None:
    if verification_mode(kind) == Verification.PASSWORD:
        verification.filing_password_check(subject_id=subj.pk, password=password, ip=ip, actor=actor)


def _submit(kind: Kind, subject_id: int, site: Website | None, *, actor, payload: dict) -> Order:
    mode = verification_mode(kind)
    with transaction.atomic():
        locked = common.lock_subject(subject_id)
        if site is not None:
            site = Website.objects.select_related("subject").get(pk=site.pk)  # re-read under the subject lock
        guards.require(kind, locked, site, actor)  # again under the lock: the password check committed apart
        order = common.create_order(
            kind=kind, subject=locked, website=site, actor=actor, payload=payload, verification=mode
        )
        if mode == Verification.SMS:
            verification.sms_send_code(order)
    return order


def _subject(subject: Subject | int) -> Subject:
    return Subject.objects.select_related("owner").get(pk=subject if isinstance(subject, int) else subject.pk)


def cancel_subject_submit(
    *,
    actor,
    subject: Subject | int,
    password=None,
    ip: str | None = None,
    acknowledge_irreversible: bool = False,
    reason: str = "",
) -> Order:
    """注销主体: the subject number and every website under it."""
    subj = _subject(subject)
    guards.require(Kind.CANCEL_SUBJECT, subj, None, actor)  # refuse before a password attempt is spent
    preview = cancellation_preview(kind=Kind.CANCEL_SUBJECT, subject=subj)
    if preview.unapproved_tld_domains and not acknowledge_irreversible:
        raise irreversible_error(preview.unapproved_tld_domains)
    reason = common.text("reason", reason, max_length=500, required=False)
    _confirm(Kind.CANCEL_SUBJECT, subj, password=password, ip=ip, actor=actor)
    payload = {
        "reason": reason,
        "acknowledge_irreversible": bool(preview.unapproved_tld_domains),
        "stops_serving": preview.stops_serving,
    }
    return _submit(Kind.CANCEL_SUBJECT, subj.pk, None, actor=actor, payload=payload)


def cancel_website_submit(
    *,
    actor,
    website: Website | int,
    password=None,
    ip: str | None = None,
    acknowledge_irreversible: bool = False,
    reason: str = "",
) -> Order:
    """注销网站: one website number; the subject becomes a shell when it was the last website."""
    site = website_of(website)
    subj = _subject(site.subject_id)
    guards.require(Kind.CANCEL_WEBSITE, subj, site, actor)
    preview = cancellation_preview(kind=Kind.CANCEL_WEBSITE, subject=subj, website=site)
    if preview.unapproved_tld_domains and not acknowledge_irreversible:
        raise irreversible_error(preview.unapproved_tld_domains)
    reason = common.text("reason", reason, max_length=500, required=False)
    _confirm(Kind.CANCEL_WEBSITE, subj, password=password, ip=ip, actor=actor)
    payload = {
        "reason": reason,
        "acknowledge_irreversible": bool(preview.unapproved_tld_domains),
        "stops_serving": preview.stops_serving,
        "subject_becomes_shell": preview.subject_becomes_shell,
    }
    return _submit(Kind.CANCEL_WEBSITE, subj.pk, site, actor=actor, payload=payload)


def cancel_access_submit(
    *, actor, website: Website | int, other_provider_serves: bool = False, reason: str = ""
) -> Order:
    """取消接入: stop serving a website here; the filing (and its number) stays. No verification needed."""
    site = website_of(website)
    guards.require(Kind.CANCEL_ACCESS, _subject(site.subject_id), site, actor)
    reason = common.text("reason", reason, max_length=500, required=False)
    names = list(site.domains.filter(status=DomainStatus.ACTIVE).values_list("name", flat=True))
    payload = {"reason": reason, "other_provider_serves": bool(other_provider_serves), "stops_serving": names}
    return _submit(Kind.CANCEL_ACCESS, site.subject_id, site, actor=actor, payload=payload)
