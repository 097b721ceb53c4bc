"""Test data built through the real services (no fixtures that bypass the engine)."""

from __future__ import annotations

import itertools

from beian.accounts.services import user_create
from beian.orders import verification
from beian.registry.services import filing_import
from beian.rules import natures

_seq = itertools.count(1)
PASSWORD = "Correct-Horse-42"


def user(username: str | None = None, role: str = "applicant", province: str = "", email: str | None = None):
    name = username or f"user{next(_seq)}"
    return user_create(
        username=name,
        password="pw-" + name,
        role=role,
        province=province,
        email=email or f"{name}@example.cn",
    )


def uscc(seed: int) -> str:
    body = f"9111010{seed:010d}"[:17]
    return body + natures.uscc_check_char(body)


def person(n: int = 0) -> dict:
    return {
        "responsible_name": "张三",
        "responsible_mobile": f"1380013{n % 10000:04d}",
        "responsible_email": f"owner{n}@example.cn",
    }


def imported_subject(
    owner,
    *,
    sites,
    name: str | None = None,
    province_abbr: str = "京",
    year: str = "2021",
    password_hash: str | None = None,
    **subject,
):
    """An active subject brought in through filing_import (as MIIT has it), with websites -1..-n made from
    ``sites`` (filing_import's website dicts without their numbers); ``subject`` overrides subject fields."""
    n = next(_seq)
    number = f"{province_abbr}ICP备{year}{n:06d}号"
    return filing_import(
        owner=owner,
        subject={
            "number": number,
            "nature": "enterprise",
            "name": name or f"测试科技有限公司{n}",
            "certificate_type": "uscc",
            "certificate_number": uscc(n),
            "address": "北京市海淀区",
            **person(n),
            **subject,
        },
        websites=[{"number": f"{number}-{i}", **site} for i, site in enumerate(sites, start=1)],
        filing_password_hash=password_hash or verification.hash_password(PASSWORD),
    )


def filed_subject(
    owner,
    *,
    province_abbr: str = "京",
    year: str = "2021",
    domains_per_site=(["example-a.cn"],),
    password: str = PASSWORD,
    served=True,
):
    """An active subject as MIIT has it, with websites -1..-n carrying the given domains."""
    sites = [{"domains": doms, "served": served} for doms in domains_per_site]
    return filed_subject_sites(owner, sites, province_abbr=province_abbr, year=year, password=password)


def new_filing_args(*, domain: str, province: str = "11", n: int | None = None) -> dict:
    n = n if n is not None else next(_seq)
    return {
        "province": province,
        "nature": "enterprise",
        "certificate_type": "uscc",
        "certificate_number": uscc(100000 + n),
        "subject": {"name": f"新公司{n}", "address": "地址", **person(n)},
        "website": {
            "name": f"新网站{n}",
            "responsible_name": "李四",
            "responsible_mobile": "13900000000",
            "responsible_email": f"site{n}@example.cn",
        },
        "domain": domain,
    }


def new_filing_body(*, domain: str, province: str = "11", n: int | None = None) -> dict:
    """The JSON body of ``POST /api/v1/orders`` for a new filing (首次备案)."""
    args = new_filing_args(domain=domain, province=province, n=n)
    return {
        "kind": "new_filing",
        "province": args["province"],
        "nature": args["nature"],
        "certificate_type": args["certificate_type"],
        "certificate_number": args["certificate_number"],
        "subject_info": args["subject"],
        "website_info": args["website"],
        "domain": args["domain"],
    }


# --- added for the workflow, effects, refusal, verification and audit suites ---------------------------


def quick_user(role: str = "applicant", province: str = ""):
    """A user without a usable password (no argon2 hashing): fast, for service-level tests."""
    name = f"quick{next(_seq)}"
    return user_create(username=name, password=None, role=role, province=province, email=f"{name}@example.cn")


def filed_subject_sites(
    owner, sites, *, province_abbr: str = "京", year: str = "2021", password: str = PASSWORD
):
    """An active subject whose websites -1..-n are given one by one.

    Each site: {"domains": [...], "served": bool (default True), "responsible_mobile": str (optional)}.
    """
    websites = []
    for i, site in enumerate(sites, start=1):
        data = {
            "name": f"网站{i}",
            "homepage": f"http://{site['domains'][0]}",
            "domains": list(site["domains"]),
            "served_here": site.get("served", True),
        }
        if site.get("responsible_mobile"):
            data["responsible_mobile"] = site["responsible_mobile"]
        websites.append(data)
    return imported_subject(
        owner,
        sites=websites,
        province_abbr=province_abbr,
        year=year,
        password_hash=verification.hash_password(password),
    )


def served_domains_in_db() -> set[str]:
    """What the gate should serve according to the registry: active domains of active websites served here."""
    from beian.registry.models import Domain

    return set(
        Domain.objects.filter(
            status="active", website__status="active", website__served_here=True
        ).values_list("name", flat=True)
    )


def assert_consistent() -> None:
    """The change feed replays to the registry's served set, and the audit chain is intact."""
    from beian.audit.services import audit_verify
    from beian.gate.services import served_set_from_feed

    assert served_set_from_feed() == served_domains_in_db()
    result = audit_verify()
    assert result.ok, result.problem
