"""``beian.rules.describe``: the JSON contract behind ``beian inspect`` and ``/api/v1/inspect``."""

from __future__ import annotations

import json

import pytest

from beian.rules import describe as describe_module
from beian.rules.describe import describe
from beian.rules.errors import DomainError, FilingNumberError, RulesError

NUMBER_KEYS = {
    "input",
    "kind",
    "canonical",
    "licence",
    "province",
    "abbreviation",
    "subject_number",
    "website_sequence",
    "service_type",
}
DOMAIN_KEYS = {"input", "kind", "ascii", "unicode", "registrable", "tld", "tld_approved", "scope"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "川ICP备09010050-5号",
            {
                "canonical": "蜀ICP备09010050号-5",
                "licence": "ICP备",
                "province": "51",
                "abbreviation": "蜀",
                "alias": "川",
                "subject_number": "蜀ICP备09010050号",
                "website_sequence": 5,
                "service_type": "website",
                "year": 2009,
            },
        ),
        (
            "陇ICP备2021003158号-1",
            {
                "canonical": "陇ICP备2021003158号-1",
                "licence": "ICP备",
                "province": "62",
                "abbreviation": "陇",
                "alias": None,
                "subject_number": "陇ICP备2021003158号",
                "website_sequence": 1,
                "service_type": "website",
                "year": 2021,
                "digit_format": 10,
                "province_name": "甘肃省",
                "bureau": "甘肃省通信管理局",
            },
        ),
        (
            "京ICP备11018762号",
            {
                "canonical": "京ICP备11018762号",
                "licence": "ICP备",
                "province": "11",
                "abbreviation": "京",
                "subject_number": "京ICP备11018762号",
                "website_sequence": None,
                "service_type": None,
                "digit_format": 8,
                "issued_by_beian": True,
            },
        ),
        (
            "粤ICP备2023123456号-12X",
            {"province": "44", "website_sequence": 12, "service_type": "mini_program"},
        ),
        ("黔ICP备2020012345号-3A", {"province": "52", "service_type": "app"}),
        ("滇ICP备2021007512号-2K", {"province": "53", "service_type": "quick_app"}),
        (
            "京ICP证030173号",
            {
                "canonical": "京ICP证030173号",
                "licence": "ICP证",
                "province": "11",
                "subject_number": "京ICP证030173号",
                "website_sequence": None,
                "service_type": None,
                "year": None,
                "digit_format": None,
                "issued_by_beian": False,
            },
        ),
        (
            "粤B2-20090059-5",
            {
                "canonical": "粤B2-20090059-5",
                "licence": "B2",
                "province": "44",
                "abbreviation": "粤",
                "subject_number": "粤B2-20090059",
                "website_sequence": 5,
                "service_type": "website",
                "issued_by_beian": False,
            },
        ),
        ("浙ICP证B2-20080224", {"canonical": "浙B2-20080224", "licence": "B2", "province": "33"}),
        ("京ＩＣＰ备１１０１８７６２号－１", {"canonical": "京ICP备11018762号-1"}),
    ],
)
def test_numbers(text: str, expected: dict) -> None:
    result = describe(text)
    assert result.keys() >= NUMBER_KEYS
    assert result["input"] == text
    assert result["kind"] == "filing_number"
    assert result["licence"] in ("ICP备", "ICP证", "B2")
    assert result["service_type"] in ("website", "app", "mini_program", "quick_app", None)
    assert isinstance(result["province"], str) and len(result["province"]) == 2
    for key, value in expected.items():
        assert result[key] == value, key
    json.dumps(result, ensure_ascii=False)  # JSON-ready


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://www.例子.中国/",
            {
                "ascii": "www.xn--fsqu00a.xn--fiqs8s",
                "unicode": "www.例子.中国",
                "registrable": "xn--fsqu00a.xn--fiqs8s",
                "tld": "xn--fiqs8s",
                "tld_unicode": "中国",
                "tld_approved": True,
                "scope": "registrable",
                "covered_by": ["www.xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s"],
            },
        ),
        (
            "www.beijing.gov.cn",
            {
                "ascii": "www.beijing.gov.cn",
                "registrable": "www.beijing.gov.cn",
                "tld": "cn",
                "tld_approved": True,
                "scope": "exact",
                "covered_by": ["www.beijing.gov.cn"],
            },
        ),
        (
            "WWW.Example.COM.CN.",
            {
                "ascii": "www.example.com.cn",
                "unicode": "www.example.com.cn",
                "registrable": "example.com.cn",
                "tld": "cn",
                "tld_approved": True,
                "scope": "registrable",
            },
        ),
        ("example.io", {"ascii": "example.io", "tld": "io", "tld_approved": False, "scope": "registrable"}),
        ("example.ai", {"tld_approved": False}),
        ("example.top", {"tld_approved": True}),
        # domains that merely contain the letters ICP are domains, not broken numbers
        ("icp.chinaz.com", {"ascii": "icp.chinaz.com", "registrable": "chinaz.com"}),
        ("https://www.ICPbeian.cn/", {"ascii": "www.icpbeian.cn", "registrable": "icpbeian.cn"}),
    ],
)
def test_domains(text: str, expected: dict) -> None:
    result = describe(text)
    assert result.keys() >= DOMAIN_KEYS
    assert result["input"] == text
    assert result["kind"] == "domain"
    assert result["scope"] in ("registrable", "exact")
    for key, value in expected.items():
        assert result[key] == value, key
    json.dumps(result, ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "error", "code"),
    [
        ("京ICP备123", FilingNumberError, "bad_digit_count"),  # reads like a number: the number's error
        ("阿里云ICP备案", FilingNumberError, "unknown_abbreviation"),
        ("京ICP备11018762号-0", FilingNumberError, "bad_sequence"),
        ("粤B2-2009005", FilingNumberError, "bad_digit_count"),
        ("192.168.1.1", DomainError, "ip_address"),
        ("http://[2001:db8::1]/", DomainError, "ip_address"),
        ("com.cn", DomainError, "public_suffix"),
        ("example.invalidtld", DomainError, "unknown_tld"),
        ("a_b.example.com", DomainError, "invalid_label"),
        ("localhost", DomainError, "single_label"),
        ("", DomainError, "empty"),
        ("x" * 10_000, DomainError, "too_long"),
        ("ICP" * 5_000, FilingNumberError, "too_long"),
    ],
)
def test_refusals(text: str, error: type[RulesError], code: str) -> None:
    with pytest.raises(error) as info:
        describe(text)
    assert info.value.code == code


def test_not_text() -> None:
    with pytest.raises(RulesError) as info:
        describe(b"example.com")  # type: ignore[arg-type]
    assert info.value.code == "not_text"
    assert info.value.message_zh == "输入必须是文本"


def test_number_and_domain_helpers_agree_with_describe() -> None:
    assert describe_module.describe_number("京ICP备11018762号-11") == describe("京ICP备11018762号-11")
    assert describe_module.describe_domain("example.com") == describe("example.com")
