"""首次备案, 新增网站, 接入备案: submissions that bring a website (and for a new filing, a subject) in.

Since 2019-04-22 (工信管函〔2019〕633号) a new website carries exactly one domain.
"""

from __future__ import annotations

from django.db import transaction

from beian.core.errors import Invalid
from beian.orders.choices import Kind
from beian.orders.models import Order
from beian.orders.services import common, guards
from beian.registry.choices import SubjectStatus, WebsiteStatus
from beian.registry.models import Domain, Subject, Website
from beian.registry.search import spaced
from beian.rules import domains as domain_rules
from beian.rules import natures, provinces
from beian.rules.errors import RulesError

SUBJECT_FIELDS = ("name", "address", "responsible_name", "responsible_mobile", "responsible_email")
WEBSITE_FIELDS = (
    "name",
    "homepage",
    "content_type",
    "responsible_name",
    "responsible_mobile",
    "responsible_email",
)


def clean_subject_fields(data: dict, *, partial: bool = False) -> dict:
    out = {}
    specs = {
        "name": lambda v: common.text("name", v, max_length=200, label="主办单位名称"),
        "address": lambda v: common.text("address", v, max_length=300, required=False, label="通信地址"),
        "responsible_name": lambda v: common.text(
            "responsible_name", v, max_length=100, label="主体负责人姓名"
        ),
        "responsible_mobile": lambda v: common.mobile("responsible_mobile", v),
        "responsible_email": lambda v: common.email("responsible_email", v),
    }
    for field, clean in specs.items():
        if partial and field not in data:
            continue
        out[field] = clean(data.get(field))
    return out


def clean_website_fields(data: dict, *, partial: bool = False) -> dict:
    out = {}
    specs = {
        "name": lambda v: common.text("website_name", v, max_length=200, label="网站名称"),
        "homepage": lambda v: common.text(
            "homepage", v, max_length=300, required=False, label="网站首页网址"
        ),
        "content_type": lambda v: (
            common.text("content_type", v, max_length=100, required=False, label="内容类型") or "无"
        ),
        "responsible_name": lambda v: common.text(
            "website_responsible_name", v, max_length=100, label="网站负责人姓名"
        ),
        "responsible_mobile": lambda v: common.mobile("website_responsible_mobile", v),
        "responsible_email": lambda v: common.email("website_responsible_email", v),
    }
    for field, clean in specs.items():
        if partial and field not in data:
            continue
        out[field] = clean(data.get(field))
    return out


def _one_domain(domains: list[str] | str | None):
    if isinstance(domains, str):
        domains = [domains]
    domains = [d for d in (domains or []) if d and d.strip()]
    if len(domains) != 1:
        raise Invalid(
            "one_domain_per_website",
            "新网站只能填写一个域名（自 2019 年 4 月 22 日起，工信管函〔2019〕633号）；其他域名请分别新增网站",
            "A new website carries exactly one domain (since 2019-04-22); add a website for each other domain",
            field="domain",
            count=len(domains),
        )
    return common.filing_domain(domains[0])


def _default_homepage(website_fields: dict, domain) -> dict:
    if not website_fields.get("homepage"):
        website_fields["homepage"] = (
            f"http://{'www.' if domain.scope == 'registrable' else ''}{domain.unicode}"
        )
    return website_fields


def _create_website(subject: Subject, fields: dict, domain) -> Website:
    website = Website.objects.create(subject=subject, status=WebsiteStatus.PENDING, **fields)
    with common.constraint_conflicts(subject=subject, domain=domain.filing_name):
        Domain.objects.create(
            website=website, name=domain.filing_name, unicode=domain_rules.to_unicode(domain.filing_name)
        )
    return website


def new_filing_submit(
    *,
    actor,
    province: str,
    nature: str,
    certificate_type: str,
    certificate_number: str,
    subject: dict,
    website: dict,
    domain: str | list[str],
) -> Order:
    """首次备案: a new subject with its first website. Both stay pending until the bureau approves."""
    guards.filer(actor)
    try:
        prov = provinces.by_code(province)
        nat, ctype = natures.check_pair(nature, certificate_type)
        cert_no = natures.normalize_certificate_number(ctype.code, certificate_number)
    except RulesError as exc:
        raise Invalid(exc.code, exc.message_zh, exc.message_en, **exc.context) from None
    subject_fields = clean_subject_fields(subject)
    website_fields = clean_website_fields(website)
    dom = _one_domain(domain)
    website_fields = _default_homepage(website_fields, dom)
    with transaction.atomic():
        if Subject.objects.filter(
            certificate_type=ctype.code, certificate_number=cert_no, status__in=("pending", "active")
        ).exists():
            raise common.certificate_in_use()
        common.ensure_domain_free(dom.filing_name, None)
        with common.constraint_conflicts():
            subj = Subject.objects.create(
                province=prov.code,
                nature=nat.code,
                certificate_type=ctype.code,
                certificate_number=cert_no,
                owner=actor,
                status=SubjectStatus.PENDING,
                name_chars=spaced(subject_fields["name"]),
                **subject_fields,
            )
        site = _create_website(subj, website_fields, dom)
        return common.create_order(
            kind=Kind.NEW_FILING, subject=subj, website=site, actor=actor, payload={"domain": dom.filing_name}
        )


def add_website_submit(*, actor, subject: Subject | int, website: dict, domain: str | list[str]) -> Order:
    """新增网站: one more website (one domain) under an active subject; it gets the next ``-n`` on approval."""
    website_fields = clean_website_fields(website)
    dom = _one_domain(domain)
    website_fields = _default_homepage(website_fields, dom)
    with transaction.atomic():
        subj = common.lock_subject(subject if isinstance(subject, int) else subject.pk)
        guards.require(Kind.ADD_WEBSITE, subj, None, actor)
        common.ensure_domain_free(dom.filing_name, subj)
        site = _create_website(subj, website_fields, dom)
        return common.create_order(
            kind=Kind.ADD_WEBSITE,
            subject=subj,
            website=site,
            actor=actor,
            payload={"domain": dom.filing_name},
        )


def add_access_submit(*, actor, website: Website | int) -> Order:
    """接入备案: a website filed but not served here (e.g. after 取消接入) is to be served here again; its number stays."""
    with transaction.atomic():
        subj = common.lock_subject(website_of(website).subject_id)
        site = website_of(website)
        guards.require(Kind.ADD_ACCESS, subj, site, actor)
        return common.create_order(kind=Kind.ADD_ACCESS, subject=subj, website=site, actor=actor)


def website_of(website: Website | int) -> Website:
    return Website.objects.select_related("subject").get(
        pk=website if isinstance(website, int) else website.pk
    )
