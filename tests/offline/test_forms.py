"""The pre-filled 注销备案申请表 (GET /api/v1/filings/{number}/cancellation-form), read back as a user would:
the .docx with python-docx, the .pdf with poppler's ``pdftotext``.

The form carries what the public query shows (subject, numbers, websites, domains as U-labels), the
cancellation type, the province's bureau, the date and the materials checklist; never the certificate
number or the responsible person's phone or e-mail. Anyone holding the number may generate it (no login).
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote, unquote

import pytest
from django.test import Client

from beian.offline.selectors import MATERIALS
from beian.orders import services, verification
from beian.orders.workflow import Action, move
from beian.registry.models import Domain
from beian.registry.services import filing_import
from tests import factories as f
from tests.offline.conftest import bearer, docx_text, docx_xml, pdf_text, set_today, squash

pytestmark = pytest.mark.django_db

IDN = "例子.中国"
IDN_ACE = "xn--fsqu00a.xn--fiqs8s"
TODAY = dt.date(2026, 11, 16)
MATERIAL = {key: zh for key, zh, _ in MATERIALS}
SUBJECT_TYPE = "注销主体"
WEBSITE_TYPE = "注销网站"


def form(number: str, **params):
    return Client().get(f"/api/v1/filings/{number}/cancellation-form", params)


def read(response, fmt: str, tmp_path) -> str:
    """The form's text, whitespace removed (table cells and wrapped lines compare by content)."""
    assert response.status_code == 200, response.content[:500]
    if fmt == "docx":
        assert response["Content-Type"] == (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        )
        assert response.content.startswith(b"PK")
        return squash(docx_text(response.content))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return squash(pdf_text(response.content, tmp_path))


def assert_private_fields_absent(response, fmt: str, text: str, subject) -> None:
    secrets = {
        subject.certificate_number,
        subject.responsible_name,
        subject.responsible_mobile,
        subject.responsible_email,
        subject.owner.email,
    }
    for site in subject.websites.all():
        secrets |= {site.responsible_name, site.responsible_mobile, site.responsible_email}
    for secret in secrets:
        assert secret and secret not in text, f"the form shows {secret!r}"
    if fmt == "docx":
        xml = docx_xml(response.content)
        for secret in secrets:
            assert secret not in xml, f"the .docx stores {secret!r}"


@pytest.fixture
def company(owner):
    """A Chinese company in Beijing: -1 an ASCII domain, -2 an IDN domain, -3 cancelled (online)."""
    bureau = f.quick_user(role="bureau_reviewer", province="11")
    subject = f.filed_subject_sites(
        owner,
        [
            {"domains": ["huaxia-tech.cn"], "responsible_mobile": "13912345671"},
            {"domains": [IDN], "responsible_mobile": "13912345672"},
            {"domains": ["gone-site.cn"]},
        ],
    )
    gone = subject.websites.get(sequence=3)
    order = services.cancel_website_submit(
        actor=owner, website=gone, password=f.PASSWORD, acknowledge_irreversible=True
    )
    move(order, Action.BUREAU_APPROVE, actor=bureau)
    gone.refresh_from_db()
    assert gone.status == "cancelled"
    subject.refresh_from_db()
    return subject


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_subject_form_names_the_subject_and_every_active_website(company, fmt, tmp_path):
    set_today(TODAY)
    response = form(company.number, format=fmt, type="subject")
    text = read(response, fmt, tmp_path)

    assert company.name in text and company.name.startswith("测试科技有限公司")
    assert company.number in text
    assert "注销类型" + SUBJECT_TYPE in text
    assert "注销类型" + WEBSITE_TYPE not in text
    assert "北京市通信管理局" in text
    assert "2026年11月16日" in text
    active = company.websites.filter(status="active").order_by("sequence")
    assert active.count() == 2
    for site in active:
        assert site.number in text and site.name in text
    assert "huaxia-tech.cn" in text
    assert IDN in text, "an IDN domain is shown as its U-label"
    assert "xn--" not in text
    gone = company.websites.get(sequence=3)
    assert gone.number not in text and "gone-site.cn" not in text, "a cancelled website is not listed"
    assert MATERIAL["form"] in text and MATERIAL["id"] in text
    assert MATERIAL["domain_certificate"] not in text
    assert_private_fields_absent(response, fmt, text, company)
    disposition = unquote(response["Content-Disposition"])
    assert disposition.startswith("attachment;") and disposition.endswith(f"{company.number}.{fmt}")


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_website_number_defaults_to_cancelling_that_website(company, fmt, tmp_path):
    set_today(TODAY)
    idn_site = company.websites.get(sequence=2)
    text = read(form(idn_site.number, format=fmt), fmt, tmp_path)

    assert "注销类型" + WEBSITE_TYPE in text
    assert "注销类型" + SUBJECT_TYPE not in text
    assert company.name in text and company.number in text
    assert idn_site.number in text and idn_site.name in text
    assert IDN in text and "xn--" not in text
    other_site = company.websites.get(sequence=1)
    assert other_site.number not in text and "huaxia-tech.cn" not in text
    assert "北京市通信管理局" in text and "2026年11月16日" in text
    assert MATERIAL["form"] in text and MATERIAL["id"] in text


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_form_of_another_province_names_that_bureau(other, fmt, tmp_path):
    subject = f.filed_subject(other, province_abbr="桂", domains_per_site=(["guangxi-shop.cn"],))
    text = read(form(subject.number, format=fmt), fmt, tmp_path)
    assert "广西壮族自治区通信管理局" in text
    assert "北京市通信管理局" not in text
    assert "注销类型" + SUBJECT_TYPE in text, "a subject number defaults to cancelling the subject"


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
@pytest.mark.parametrize("given", [IDN, IDN_ACE])
def test_new_owner_form_says_so_and_asks_for_the_domain_certificate(company, fmt, given, tmp_path):
    idn_site = company.websites.get(sequence=2)
    without = read(form(idn_site.number, format=fmt), fmt, tmp_path)
    assert "新持有人" not in without

    text = read(form(idn_site.number, format=fmt, new_owner_domain=given), fmt, tmp_path)
    assert "新持有人" in text
    assert f"域名{IDN}的新持有人" in text, "the domain is shown as its U-label"
    assert MATERIAL["domain_certificate"] in text
    assert "域名证书" in text
    assert IDN_ACE not in text
    response = form(idn_site.number, format=fmt, new_owner_domain=given)
    assert_private_fields_absent(response, fmt, text, company)


def test_bad_new_owner_domain_is_422(company):
    response = form(company.number, format="pdf", new_owner_domain="not a domain!")
    assert response.status_code == 422
    assert response.json()["field"] == "new_owner_domain"


def test_type_website_with_a_subject_number_is_422(company):
    response = form(company.number, format="pdf", type="website")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "website_number_required" and body["message"]


def test_bad_type_is_422(company):
    response = form(company.number, format="pdf", type="everything")
    assert response.status_code == 422
    assert response.json()["code"] == "bad_type"


@pytest.mark.parametrize("fmt", ["doc", "html", "PDFX", ""])
def test_bad_format_is_422(company, fmt):
    response = form(company.number, format=fmt)
    assert response.status_code == 422
    assert response.json()["code"] in ("bad_format", "invalid_input")
    assert not response.content.startswith(b"%PDF")


def test_unknown_number_is_404(company):
    for number in ("京ICP备2021999999号", "京ICP备2021999999号-1", company.number[:-1] + "号-9"):
        response = form(number, format="pdf")
        assert response.status_code == 404, number
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "not_found"


def test_cancelled_numbers_are_404(company, owner):
    gone = company.websites.get(sequence=3)
    response = form(gone.number, format="docx")
    assert response.status_code == 404 and response.json()["code"] == "not_found"

    bureau = f.quick_user(role="bureau_reviewer", province="11")
    order = services.cancel_subject_submit(
        actor=owner, subject=company, password=f.PASSWORD, acknowledge_irreversible=True
    )
    assert form(company.number, format="pdf").status_code == 200, "still active while at the bureau"
    move(order, Action.BUREAU_APPROVE, actor=bureau)
    for number in [company.number, *company.websites.values_list("number", flat=True)]:
        response = form(number, format="pdf")
        assert response.status_code == 404, number
        assert response.json()["code"] == "not_found"


def test_malformed_number_is_a_clear_4xx(company):
    response = form("not-a-number", format="pdf")
    assert 400 <= response.status_code < 500 and response.status_code != 200
    assert response.json()["code"]


@pytest.mark.parametrize(
    ("abbr", "domain", "province", "bureau"),
    [
        ("粤", "yue-shop.cn", "44", "广东省通信管理局"),
        ("京", IDN, "11", "北京市通信管理局"),
    ],
)
def test_domain_conflict_points_to_offline_cancellation_and_a_working_form(
    owner, other, abbr, domain, province, bureau, tmp_path
):
    """A buyer files a domain the previous owner's filing still holds: 409, with the province page and a
    pre-filled form that names the buyer as the domain's new owner."""
    held = f.filed_subject(owner, province_abbr=abbr, domains_per_site=([domain],))
    site = held.websites.get()
    response = bearer(other).post(
        "/api/v1/orders", json.dumps(f.new_filing_body(domain=domain)), content_type="application/json"
    )
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "domain_already_filed"
    assert body["filing_number"] == site.number
    assert body["offline_guide"] == f"/provinces/{province}"
    assert body["bureau"] == bureau

    guide = Client().get(body["offline_guide"])
    assert guide.status_code == 200 and bureau in guide.content.decode()

    url = body["cancellation_form"]
    assert url.startswith("/api/v1/filings/")
    fetched = Client().get(url)
    text = read(fetched, "pdf", tmp_path)
    unicode = Domain.objects.get(website=site).unicode
    assert "新持有人" in text and f"域名{unicode}的新持有人" in text
    assert MATERIAL["domain_certificate"] in text
    assert site.number in text and bureau in text
    assert_private_fields_absent(fetched, "pdf", text, held)


@pytest.mark.parametrize(
    "written",
    [
        "{abbr}ICP备 {digits}号-2",
        "{abbr}ICP备{digits}-2号",
        "{abbr}ICP备：{digits}号－2",
        "{abbr}ＩＣＰ备{digits}号—2",
    ],
    ids=["space", "suffix-before-hao", "full-width", "em-dash"],
)
def test_number_as_written_on_real_footers_is_read(company, written, tmp_path):
    digits = company.number.removeprefix("京ICP备").removesuffix("号")
    number = written.format(abbr="京", digits=digits)
    response = Client().get(f"/api/v1/filings/{quote(number)}/cancellation-form", {"format": "docx"})
    text = read(response, "docx", tmp_path)
    site = company.websites.get(sequence=2)
    assert site.number in text and "注销类型" + WEBSITE_TYPE in text
    assert unquote(response["Content-Disposition"]).endswith(f"{site.number}.docx")


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_markup_characters_in_names_are_printed_as_text(owner, fmt, tmp_path):
    name = "P&G <宝洁> 日用品有限公司"
    subject = filing_import(
        owner=owner,
        subject={
            "number": "京ICP备2021880001号",
            "nature": "enterprise",
            "name": name,
            "certificate_type": "uscc",
            "certificate_number": f.uscc(880001),
            "address": "北京市朝阳区",
            **f.person(880001),
        },
        websites=[
            {
                "number": "京ICP备2021880001号-1",
                "name": "A&B <官网>",
                "homepage": "http://pg-markup.cn",
                "domains": ["pg-markup.cn"],
            }
        ],
        filing_password_hash=verification.hash_password(f.PASSWORD),
    )
    text = read(form(subject.number, format=fmt), fmt, tmp_path)
    assert squash(name) in text
    assert squash("A&B <官网>") in text
    assert "&amp;" not in text and "&lt;" not in text


def test_domain_held_by_a_pending_order_gives_no_offline_guide(owner, other):
    """Only an active filing is cancelled offline; a domain merely reserved by an order in progress is not."""
    services.new_filing_submit(actor=owner, **f.new_filing_args(domain="pending-domain.cn"))
    response = bearer(other).post(
        "/api/v1/orders",
        json.dumps(f.new_filing_body(domain="pending-domain.cn")),
        content_type="application/json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "domain_already_filed" and body["pending"] is True
    assert "offline_guide" not in body and "cancellation_form" not in body
