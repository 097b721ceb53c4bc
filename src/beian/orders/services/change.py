"""变更主体 and 变更网站: field changes, and removing domains of a legacy multi-domain website.

A subject's province, certificate type and certificate number never change; nor does its nature (a
different nature is a different filer). A website's domains may only be removed, never added, and never
the last one: to drop the last domain, cancel the website (注销网站).
"""

from __future__ import annotations

from django.db import transaction

from beian.core.errors import Conflict, Invalid
from beian.orders.choices import Kind
from beian.orders.models import Order
from beian.orders.services import common, guards
from beian.orders.services.filing import clean_subject_fields, clean_website_fields, website_of
from beian.registry.choices import DomainStatus
from beian.registry.models import Subject, Website
from beian.rules import domains as domain_rules
from beian.rules.errors import DomainError

IMMUTABLE_SUBJECT_FIELDS = {
    "province": ("省份", "province"),
    "certificate_type": ("证件类型", "certificate type"),
    "certificate_number": ("证件号码", "certificate number"),
    "nature": ("主办单位性质", "nature"),
}


def change_subject_submit(*, actor, subject: Subject | int, changes: dict) -> Order:
    """变更主体: change the subject's name, address or responsible person."""
    for field, (zh, en) in IMMUTABLE_SUBJECT_FIELDS.items():
        if field in changes:
            raise Invalid(
                "immutable_field",
                f"主体的{zh}不能变更；如需变更，请注销主体后重新备案",
                f"A subject's {en} cannot change; cancel the subject and file anew instead",
                field=field,
            )
    cleaned = clean_subject_fields(changes, partial=True)
    unknown = set(changes) - set(cleaned)
    if unknown:
        raise Invalid(
            "unknown_field",
            f"不能变更的字段：{', '.join(sorted(unknown))}",
            f"Unknown fields: {', '.join(sorted(unknown))}",
            fields=sorted(unknown),
        )
    with transaction.atomic():
        subj = common.lock_subject(subject if isinstance(subject, int) else subject.pk)
        guards.require(Kind.CHANGE_SUBJECT, subj, None, actor)
        cleaned = {k: v for k, v in cleaned.items() if getattr(subj, k) != v}
        if not cleaned:
            raise Invalid("no_change", "没有需要变更的内容", "Nothing would change")
        return common.create_order(
            kind=Kind.CHANGE_SUBJECT, subject=subj, actor=actor, payload={"fields": cleaned}
        )


def change_website_submit(
    *,
    actor,
    website: Website | int,
    changes: dict | None = None,
    remove_domains: list[str] | None = None,
    acknowledge_irreversible: bool = False,
) -> Order:
    """变更网站信息: edit fields and/or remove domains (the way to drop one domain of a multi-domain website)."""
    changes = dict(changes or {})
    if "domains" in changes or "add_domains" in changes or "domain" in changes:
        raise Invalid(
            "cannot_add_domain",
            "变更网站时只能删除域名，不能新增；新域名请新增网站备案",
            "A website change may only remove domains; file a new website for a new domain",
            field="domains",
        )
    cleaned = clean_website_fields(changes, partial=True)
    unknown = set(changes) - set(cleaned)
    if unknown:
        raise Invalid(
            "unknown_field",
            f"不能变更的字段：{', '.join(sorted(unknown))}",
            f"Unknown fields: {', '.join(sorted(unknown))}",
            fields=sorted(unknown),
        )
    with transaction.atomic():
        subj = common.lock_subject(website_of(website).subject_id)
        site = website_of(website)
        guards.require(Kind.CHANGE_WEBSITE, subj, site, actor)
        active = {d.name: d for d in site.domains.filter(status=DomainStatus.ACTIVE)}
        to_remove: list[str] = []
        for raw in remove_domains or []:
            try:
                name = domain_rules.analyze(raw).filing_name
            except DomainError as exc:
                raise Invalid(exc.code, exc.message_zh, exc.message_en, field="remove_domains") from None
            if name not in active:
                raise Invalid(
                    "domain_not_on_website",
                    f"域名 {domain_rules.to_unicode(name)} 不在该网站的域名列表中",
                    f"The domain {name} is not one of this website's domains",
                    field="remove_domains",
                    domain=name,
                )
            if name not in to_remove:
                to_remove.append(name)
        if to_remove and len(to_remove) >= len(active):
            raise Conflict(
                "last_domain",
                "不能删除网站的最后一个域名；如果该网站不再使用，请注销网站",
                "The last domain of a website cannot be removed; cancel the website instead",
                field="remove_domains",
                website=site.pk,
                way_out="cancel_website",
            )
        irreversible = [n for n in to_remove if not active[n].tld_approved]
        if irreversible and not acknowledge_irreversible:
            raise irreversible_error(irreversible)
        cleaned = {k: v for k, v in cleaned.items() if getattr(site, k) != v}
        if not cleaned and not to_remove:
            raise Invalid("no_change", "没有需要变更的内容", "Nothing would change")
        payload = {
            "fields": cleaned,
            "remove_domains": to_remove,
            "acknowledge_irreversible": bool(irreversible),
        }
        return common.create_order(
            kind=Kind.CHANGE_WEBSITE, subject=subj, website=site, actor=actor, payload=payload
        )


def irreversible_error(names: list[str]) -> Invalid:
    shown = "、".join(domain_rules.to_unicode(n) for n in names)
    return Invalid(
        "irreversible_confirmation_required",
        f"域名 {shown} 的顶级域未获工信部批准：删除或注销后将永远不能再备案。确认后请勾选“我已知晓”（acknowledge_irreversible）",
        f"{', '.join(names)} use a TLD MIIT has not approved: once removed or cancelled they can never be filed again. "
        "Confirm with acknowledge_irreversible: true",
        domains=names,
    )
