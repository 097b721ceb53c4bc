"""Registry writes outside the order workflow: bringing in filings that already exist.

A provider adopting beian (and the demo) loads filings MIIT already approved — including legacy
multi-domain websites that no order could create today. ``filing_import`` writes them as they are, in
one transaction with their audit entry and the FeedEntry rows of the domains served here, so that the
gate's view and the registry agree from the first row.
"""

from __future__ import annotations

from django.db import transaction

from beian.audit.services import audit_append
from beian.core import clock
from beian.core.errors import Conflict, Invalid
from beian.core.models import raise_counter
from beian.gate.models import FeedAction
from beian.gate.services import feed_append
from beian.orders.services import common
from beian.registry.choices import DomainStatus, SubjectStatus, WebsiteStatus
from beian.registry.models import Domain, Subject, Website
from beian.registry.search import spaced
from beian.rules import domains as domain_rules
from beian.rules import filing_numbers, natures
from beian.rules.errors import RulesError


def filing_import(
    *, owner, subject: dict, websites: list[dict], filing_password_hash: str = "", actor=None
) -> Subject:
    """Create an active subject with its websites and domains as MIIT has them.

    ``subject``: number, nature, name, certificate_type, certificate_number, address, responsible_*;
    each website: number, name, homepage, content_type, responsible_*, served_here, domains [names].
    """
    try:
        number = filing_numbers.parse(subject["number"])
        nat, ctype = natures.check_pair(subject["nature"], subject["certificate_type"])
        cert = natures.normalize_certificate_number(ctype.code, subject["certificate_number"])
    except RulesError as exc:
        raise Invalid(exc.code, exc.message_zh, exc.message_en, **exc.context) from None
    if not number.is_subject:
        raise Invalid(
            "not_subject_number",
            "主体备案号不能带网站序号",
            "A subject number has no website suffix",
            number=subject["number"],
        )
    try:
        site_numbers = [filing_numbers.parse(w["number"]).canonical for w in websites]
        site_domains = [domain_rules.analyze(raw).filing_name for w in websites for raw in w["domains"]]
    except RulesError as exc:
        raise Invalid(exc.code, exc.message_zh, exc.message_en, **exc.context) from None
    now = clock.now()
    with transaction.atomic():
        if (
            Subject.objects.filter(number=number.canonical).exists()
            or Website.objects.filter(number__in=site_numbers).exists()
        ):
            raise Conflict(
                "number_exists",
                f"备案号 {number.canonical} 已在系统中",
                f"The filing number {number.canonical} is already registered",
                number=number.canonical,
            )
        if Subject.objects.filter(
            certificate_type=ctype.code, certificate_number=cert, status__in=("pending", "active")
        ).exists():
            raise common.certificate_in_use()
        for name in site_domains:
            common.ensure_domain_free(name, None)
        if number.licence is filing_numbers.Licence.FILING and len(number.digits) == 10:
            # A number of the form we issue (<YYYY><6-digit sequence>): our counter must never issue it again.
            raise_counter(f"subject-number:{number.province}:{number.digits[:4]}", int(number.digits[4:]))
        subj = Subject.objects.create(
            number=number.canonical,
            province=number.province,
            nature=nat.code,
            certificate_type=ctype.code,
            certificate_number=cert,
            name=subject["name"],
            name_chars=spaced(subject["name"]),
            address=subject.get("address", ""),
            owner=owner,
            responsible_name=subject["responsible_name"],
            responsible_mobile=subject["responsible_mobile"],
            responsible_email=subject["responsible_email"],
            status=SubjectStatus.ACTIVE,
            filing_password_hash=filing_password_hash,
            approved_at=subject.get("approved_at") or now,
        )
        top = 0
        for data in websites:
            site_number = filing_numbers.parse(data["number"])
            if site_number.subject_number != subj.number or site_number.website_sequence is None:
                raise Invalid(
                    "website_number_mismatch",
                    f"网站备案号 {data['number']} 不属于主体 {subj.number}",
                    f"{data['number']} is not under {subj.number}",
                )
            top = max(top, site_number.website_sequence)
            site = Website.objects.create(
                subject=subj,
                sequence=site_number.website_sequence,
                number=site_number.canonical,
                name=data["name"],
                homepage=data.get("homepage", ""),
                content_type=data.get("content_type", "无"),
                service_type=(site_number.service_type or "website"),
                responsible_name=data.get("responsible_name", subj.responsible_name),
                responsible_mobile=data.get("responsible_mobile", subj.responsible_mobile),
                responsible_email=data.get("responsible_email", subj.responsible_email),
                status=WebsiteStatus.ACTIVE,
                served_here=data.get("served_here", True),
                is_shell=not data.get("served_here", True),
                shell_since=None if data.get("served_here", True) else now,
                approved_at=data.get("approved_at") or now,
            )
            for raw in data["domains"]:
                info = domain_rules.analyze(raw)
                common.ensure_domain_free(info.filing_name, subj)
                with common.constraint_conflicts(subject=subj, domain=info.filing_name):
                    Domain.objects.create(
                        website=site,
                        name=info.filing_name,
                        unicode=domain_rules.to_unicode(info.filing_name),
                        status=DomainStatus.ACTIVE,
                        activated_at=now,
                    )
                if site.served_here:
                    feed_append(
                        domain=info.filing_name, action=FeedAction.ALLOW, reason="import", website=site
                    )
        subj.website_counter = top
        subj.is_shell = top == 0
        subj.shell_since = now if top == 0 else None
        subj.save(update_fields=["website_counter", "is_shell", "shell_since"])
        audit_append(
            actor=actor,
            action="registry.import",
            obj=subj,
            data={"number": subj.number, "websites": [w["number"] for w in websites]},
        )
    return subj
