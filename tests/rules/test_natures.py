"""Subject natures, certificate types and check characters (DOMAIN.md, "Subjects and websites")."""

from __future__ import annotations

import pytest

from beian.rules import natures
from beian.rules.errors import NatureError

DOMAIN_NATURES = [
    "国防机构",
    "政府机关",
    "事业单位",
    "企业",
    "个人",
    "社会团体",
    "民办非企业单位",
    "基金会",
    "律师执业机构",
    "外国在华文化中心",
    "群众性团体组织",
    "司法鉴定机构",
    "宗教团体",
    "境外机构",
    "医疗机构",
    "公证机构",
]


def test_the_sixteen_natures_of_domain_md() -> None:
    assert [n.name for n in natures.natures().values()] == DOMAIN_NATURES


def test_every_nature_admits_known_certificate_types() -> None:
    types = natures.certificate_types()
    for n in natures.natures().values():
        assert n.certificate_types
        assert set(n.certificate_types) <= set(types)


def test_nature_by_slug_or_chinese_name() -> None:
    assert natures.nature("individual") is natures.nature("个人")
    assert natures.nature("个人").is_individual
    assert not natures.nature("企业").is_individual
    assert natures.certificate_type("居民身份证") is natures.certificate_type("resident_id")


@pytest.mark.parametrize(
    ("nature", "certificate"),
    [
        ("enterprise", "uscc"),
        ("企业", "统一社会信用代码证书（营业执照）"),
        ("individual", "resident_id"),
        ("个人", "护照"),
        ("individual", "hk_macao_permit"),
        ("individual", "taiwan_permit"),
        ("individual", "foreign_permanent_residence"),
        ("government", "uscc"),
        ("institution", "institution_legal_person"),
        ("defense", "military_code"),
    ],
)
def test_check_pair_accepts(nature: str, certificate: str) -> None:
    n, c = natures.check_pair(nature, certificate)
    assert c.code in n.certificate_types


def test_an_individual_cannot_file_with_a_business_licence() -> None:
    with pytest.raises(NatureError) as info:
        natures.check_pair("个人", "uscc")
    e = info.value
    assert e.code == "certificate_type_not_allowed"
    assert e.message_zh == (
        "主办单位性质为“个人”时不能使用“统一社会信用代码证书（营业执照）”，可用的证件类型："
        "居民身份证、护照、港澳居民来往内地通行证、台湾居民来往大陆通行证、外国人永久居留身份证、"
        "港澳居民居住证、台湾居民居住证"
    )
    assert e.message_en.startswith(
        "A subject of nature 'Individual' cannot use 'Unified social credit code (business licence)'; allowed: "
        "Resident identity card, Passport"
    )
    assert e.context == {"nature": "individual", "certificate_type": "uscc"}


@pytest.mark.parametrize(
    ("nature", "certificate"),
    [("enterprise", "resident_id"), ("企业", "护照"), ("overseas", "uscc"), ("defense", "uscc")],
)
def test_check_pair_refuses(nature: str, certificate: str) -> None:
    with pytest.raises(NatureError) as info:
        natures.check_pair(nature, certificate)
    assert info.value.code == "certificate_type_not_allowed"


def test_unknown_nature_and_certificate_type() -> None:
    with pytest.raises(NatureError) as info:
        natures.nature("公司")
    assert info.value.code == "unknown_nature"
    assert info.value.message_zh == "未知的主办单位性质“公司”；可选：" + "、".join(DOMAIN_NATURES)
    with pytest.raises(NatureError) as info:
        natures.certificate_type("驾驶证")
    assert info.value.code == "unknown_certificate_type"
    assert info.value.message_zh == "未知的证件类型“驾驶证”"
    assert info.value.message_en == "Unknown certificate type '驾驶证'"
    with pytest.raises(NatureError) as info:
        natures.check_pair("个人", "驾驶证")
    assert info.value.code == "unknown_certificate_type"


# USCC (GB 32100-2015) codes published on licence pages; the check character is the 18th.
VALID_USCC = [
    "91350100M000100Y43",
    "91440300708461136T",
    "9144030071526726XG",
    "91330100716105852F",
    "91110108551385082Q",
    "91110000802100433B",
]


@pytest.mark.parametrize("code", VALID_USCC)
def test_valid_uscc(code: str) -> None:
    assert natures.uscc_check_char(code[:17]) == code[17]
    assert natures.normalize_certificate_number("uscc", code) == code


def test_uscc_is_folded() -> None:
    assert (
        natures.normalize_certificate_number("uscc", " ９１３５０１００ｍ０００１００ｙ４３ ")
        == "91350100M000100Y43"
    )


# Resident ID numbers (GB 11643-1999): the standard's own examples.
VALID_RESIDENT_IDS = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", VALID_RESIDENT_IDS)
def test_valid_resident_id(number: str) -> None:
    assert natures.resident_id_check_char(number[:17]) == number[17]
    assert natures.normalize_certificate_number("resident_id", number) == number


def test_resident_id_is_folded() -> None:
    assert natures.normalize_certificate_number("resident_id", "110105 19491231 002x") == "11010519491231002X"
    assert (
        natures.normalize_certificate_number("居民身份证", "１１０１０５１９４９１２３１００２Ｘ")
        == "11010519491231002X"
    )


# (certificate type, number, code, message_zh)
REFUSALS = [
    ("uscc", "91350100M000100Y44", "bad_uscc_check", "统一社会信用代码校验位不正确，请核对后重新输入"),
    (
        "uscc",
        "91350100M000100Y4",
        "bad_uscc",
        "统一社会信用代码应为 18 位，由数字和大写字母（不含 I、O、Z、S、V）组成",
    ),
    (
        "uscc",
        "91350100I000100Y43",
        "bad_uscc",
        "统一社会信用代码应为 18 位，由数字和大写字母（不含 I、O、Z、S、V）组成",
    ),
    (
        "resident_id",
        "110105194912310021",
        "bad_resident_id_check",
        "居民身份证号码校验位不正确，请核对后重新输入",
    ),
    ("resident_id", "11010519491231002", "bad_resident_id", "居民身份证号码应为 18 位（最后一位可为 X）"),
    ("resident_id", "320311770706001", "bad_resident_id", "居民身份证号码应为 18 位（最后一位可为 X）"),
    # Arabic-Indic digits would be stored as they are: refused
    ("resident_id", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "bad_resident_id", "居民身份证号码应为 18 位（最后一位可为 X）"),
    ("resident_id", "", "empty_certificate_number", "请填写证件号码"),
    ("passport", " \u3000 ", "empty_certificate_number", "请填写证件号码"),
    ("passport", "E1234567" * 9, "certificate_number_too_long", "证件号码过长（最多 64 个字符）"),
    (
        "passport",
        "E12#456",
        "bad_certificate_number",
        "护照号码格式不正确：只能包含字母、数字、括号和连字符，至少 4 位",
    ),
    (
        "passport",
        "E12",
        "bad_certificate_number",
        "护照号码格式不正确：只能包含字母、数字、括号和连字符，至少 4 位",
    ),
]


@pytest.mark.parametrize(("ctype", "number", "code", "message_zh"), REFUSALS)
def test_certificate_number_refusals(ctype: str, number: str, code: str, message_zh: str) -> None:
    with pytest.raises(NatureError) as info:
        natures.normalize_certificate_number(ctype, number)
    assert info.value.code == code
    assert info.value.message_zh == message_zh


def test_english_messages() -> None:
    with pytest.raises(NatureError) as info:
        natures.normalize_certificate_number("uscc", "91350100M000100Y44")
    assert (
        info.value.message_en
        == "The check character of the unified social credit code is wrong; check the number"
    )
    with pytest.raises(NatureError) as info:
        natures.normalize_certificate_number("resident_id", "110105194912310021")
    assert info.value.message_en == "The check digit of the resident ID number is wrong; check the number"


@pytest.mark.parametrize(
    ("ctype", "number", "stored"),
    [
        ("passport", "e12345678", "E12345678"),
        ("hk_macao_permit", "Ｈ１２３４５６７８", "H12345678"),
        ("org_code", "71092883-1", "71092883-1"),
        ("military_code", "（1234）", "(1234)"),
    ],
)
def test_other_certificate_numbers_are_folded(ctype: str, number: str, stored: str) -> None:
    assert natures.normalize_certificate_number(ctype, number) == stored
