"""Filing numbers (备案号) as real footers write them (DOMAIN.md, "Filing numbers")."""

from __future__ import annotations

import pytest

from beian.rules import filing_numbers
from beian.rules.errors import FilingNumberError, RulesError
from beian.rules.filing_numbers import FilingNumber, Licence, ServiceType

KNOWN_ABBREVIATIONS = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝蜀黔滇藏陕陇青宁新"

# (as written on a footer or typed in a query box, canonical form)
READS = [
    # DOMAIN.md examples
    ("京ICP备11018762号", "京ICP备11018762号"),
    ("京ICP备11018762号-11", "京ICP备11018762号-11"),
    ("陇ICP备2021003158号-1", "陇ICP备2021003158号-1"),
    ("京ICP证030173号", "京ICP证030173号"),
    ("京ICP证030173号-1", "京ICP证030173号-1"),
    ("粤B2-20090059", "粤B2-20090059"),
    ("粤B2-20090059-5", "粤B2-20090059-5"),
    ("粤ICP备 2022075904号-1", "粤ICP备2022075904号-1"),
    ("粤ICP备：16028473号", "粤ICP备16028473号"),
    ("滇ICP备09010050-5号", "滇ICP备09010050号-5"),
    # well-known sites' footers (clean forms, 8 and 10 digits, licences)
    ("浙B2-20080224", "浙B2-20080224"),
    ("浙B2-20080224-1", "浙B2-20080224-1"),
    ("京ICP证070359号", "京ICP证070359号"),
    ("京ICP证000007号", "京ICP证000007号"),
    ("京ICP证110745号", "京ICP证110745号"),
    ("粤B2-20090191", "粤B2-20090191"),
    ("沪ICP备13002172号-3", "沪ICP备13002172号-3"),
    ("京ICP备13052560号-1", "京ICP备13052560号-1"),
    ("京ICP备11041704号", "京ICP备11041704号"),
    ("京ICP备10046444号", "京ICP备10046444号"),
    ("京ICP备16016397号-3", "京ICP备16016397号-3"),
    ("京ICP备19004658号", "京ICP备19004658号"),
    ("沪ICP备08023580号", "沪ICP备08023580号"),
    ("浙ICP备2023012345号-2", "浙ICP备2023012345号-2"),
    # the four abbreviations that differ from car plates, and 川 read as 蜀
    ("滇ICP备2021007512号-1", "滇ICP备2021007512号-1"),
    ("黔ICP备2020012345号", "黔ICP备2020012345号"),
    ("黔ICP备16001234号-2", "黔ICP备16001234号-2"),
    ("蜀ICP备2021000001号-2", "蜀ICP备2021000001号-2"),
    ("蜀ICP备13011111号", "蜀ICP备13011111号"),
    ("川ICP备05022455号", "蜀ICP备05022455号"),
    ("川ICP备09010050-5号", "蜀ICP备09010050号-5"),
    ("陇ICP备12000123号", "陇ICP备12000123号"),
    # apps, mini-programs and quick apps share the website sequence
    ("京ICP备11018762号-3A", "京ICP备11018762号-3A"),
    ("粤ICP备2023123456号-12X", "粤ICP备2023123456号-12X"),
    ("沪ICP备2024000001号-7K", "沪ICP备2024000001号-7K"),
    ("京ICP备11018762号-3a", "京ICP备11018762号-3A"),
    # licences written 浙ICP证B2-… or with several categories
    ("浙ICP证B2-20080224", "浙B2-20080224"),
    ("粤ICP证B2-20090059号", "粤B2-20090059"),
    ("浙B1.B2-20090185", "浙B1.B2-20090185"),
    ("浙B1.B2-20090185-3", "浙B1.B2-20090185-3"),
    ("粤b2-20090059", "粤B2-20090059"),
    # full-width digits, letters, hyphens, em dash, spaces, colons, missing 号
    ("京ＩＣＰ备１１０１８７６２号－１", "京ICP备11018762号-1"),
    ("京ICP备11018762号－2", "京ICP备11018762号-2"),
    ("京ICP备11018762号—2", "京ICP备11018762号-2"),
    ("京ICP备11018762号–2", "京ICP备11018762号-2"),
    ("京ICP备11018762号 - 2", "京ICP备11018762号-2"),
    ("京 ICP 备 11018762 号", "京ICP备11018762号"),
    ("京ICP备\u300011018762号", "京ICP备11018762号"),
    ("  京ICP备11018762号-1  ", "京ICP备11018762号-1"),
    ("粤ICP备:16028473号", "粤ICP备16028473号"),
    ("粤ICP备16028473", "粤ICP备16028473号"),
    ("京ICP备11018762-1", "京ICP备11018762号-1"),
    ("京icp备11018762号", "京ICP备11018762号"),
    ("京ICP备11018762号-01", "京ICP备11018762号-1"),
    ("京ICP备11018762号\u200f", "京ICP备11018762号"),
    ("粤ＩＣＰ备２０２２０７５９０４号—１", "粤ICP备2022075904号-1"),
]


@pytest.mark.parametrize(("text", "expected"), READS)
def test_reads_real_forms(text: str, expected: str) -> None:
    assert filing_numbers.canonical(text) == expected
    assert filing_numbers.parse(text).canonical == expected


@pytest.mark.parametrize(("text", "expected"), READS)
def test_canonical_is_a_fixed_point(text: str, expected: str) -> None:
    again = filing_numbers.parse(expected)
    assert again.canonical == expected
    assert again.alias is None


def test_at_least_forty_real_world_examples() -> None:
    assert len(READS) >= 40


@pytest.mark.parametrize(
    ("text", "province", "abbreviation", "licence", "digits", "sequence", "service", "year"),
    [
        ("京ICP备11018762号", "11", "京", Licence.FILING, "11018762", None, None, 2011),
        ("京ICP备11018762号-11", "11", "京", Licence.FILING, "11018762", 11, ServiceType.WEBSITE, 2011),
        ("陇ICP备2021003158号-1", "62", "陇", Licence.FILING, "2021003158", 1, ServiceType.WEBSITE, 2021),
        ("滇ICP备09010050-5号", "53", "滇", Licence.FILING, "09010050", 5, ServiceType.WEBSITE, 2009),
        (
            "黔ICP备2020012345号-4X",
            "52",
            "黔",
            Licence.FILING,
            "2020012345",
            4,
            ServiceType.MINI_PROGRAM,
            2020,
        ),
        ("川ICP备05022455号-2A", "51", "蜀", Licence.FILING, "05022455", 2, ServiceType.APP, 2005),
        ("湘ICP备2022000001号-9K", "43", "湘", Licence.FILING, "2022000001", 9, ServiceType.QUICK_APP, 2022),
        ("京ICP证030173号", "11", "京", Licence.ICP_LICENCE, "030173", None, None, None),
        ("粤B2-20090059-5", "44", "粤", Licence.B2, "20090059", 5, ServiceType.WEBSITE, None),
        ("新ICP备2021000123号", "65", "新", Licence.FILING, "2021000123", None, None, 2021),
    ],
)
def test_fields(text, province, abbreviation, licence, digits, sequence, service, year) -> None:
    n = filing_numbers.parse(text)
    assert n.province == province
    assert n.abbreviation == abbreviation
    assert n.licence is licence
    assert n.digits == digits
    assert n.website_sequence == sequence
    assert n.service_type is service
    assert n.year == year
    assert n.is_subject is (sequence is None)


def test_chuan_is_an_alias_of_shu() -> None:
    n = filing_numbers.parse("川ICP备09010050-5号")
    assert n.abbreviation == "蜀"
    assert n.alias == "川"
    assert n.province == "51"
    assert n.canonical == "蜀ICP备09010050号-5"
    assert n.subject_number == "蜀ICP备09010050号"
    assert n.subject.alias is None
    assert filing_numbers.parse("蜀ICP备09010050号").alias is None


def test_subject_of_a_website_number() -> None:
    n = filing_numbers.parse("京ICP备11018762号-11")
    assert n.subject_number == "京ICP备11018762号"
    assert n.subject.is_subject
    assert n.subject.website_sequence is None and n.subject.service_type is None
    assert filing_numbers.parse("粤B2-20090059-5").subject_number == "粤B2-20090059"
    assert filing_numbers.parse("浙B1.B2-20090185-3").subject_number == "浙B1.B2-20090185"


def test_licence_categories() -> None:
    assert filing_numbers.parse("浙B1.B2-20090185").categories == ("B1", "B2")
    assert filing_numbers.parse("粤B2-20090059").categories == ("B2",)
    assert filing_numbers.parse("京ICP证030173号").categories == ()


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (FilingNumber("京", "11", Licence.FILING, "11018762"), "京ICP备11018762号"),
        (
            FilingNumber("京", "11", Licence.FILING, "11018762", (), 11, ServiceType.WEBSITE),
            "京ICP备11018762号-11",
        ),
        (FilingNumber("京", "11", Licence.FILING, "11018762", (), 2, None), "京ICP备11018762号-2"),
        (
            FilingNumber("京", "11", Licence.ICP_LICENCE, "030173", (), 1, ServiceType.APP),
            "京ICP证030173号-1A",
        ),
        (FilingNumber("粤", "44", Licence.B2, "20090059"), "粤B2-20090059"),
        (
            FilingNumber("浙", "33", Licence.B2, "20090185", ("B1", "B2"), 3, ServiceType.WEBSITE),
            "浙B1.B2-20090185-3",
        ),
    ],
)
def test_format_number(number: FilingNumber, expected: str) -> None:
    assert filing_numbers.format_number(number) == expected
    assert number.canonical == expected


def test_subject_number_for_issues_ten_digits_with_the_canonical_abbreviation() -> None:
    assert filing_numbers.subject_number_for("62", 2021, 3158) == "陇ICP备2021003158号"
    assert filing_numbers.subject_number_for("51", 2026, 1) == "蜀ICP备2026000001号"  # never 川
    assert filing_numbers.subject_number_for("53", 2026, 999_999) == "滇ICP备2026999999号"
    assert filing_numbers.subject_number_for("520000", 2026, 12) == "黔ICP备2026000012号"


@pytest.mark.parametrize("sequence", [0, 1_000_000, -1])
def test_subject_number_for_refuses_an_exhausted_sequence(sequence: int) -> None:
    with pytest.raises(FilingNumberError) as info:
        filing_numbers.subject_number_for("11", 2026, sequence)
    assert info.value.code == "sequence_exhausted"
    assert info.value.message_zh == "2026 年的主体序号已用尽"


def test_website_number_for() -> None:
    assert filing_numbers.website_number_for("京ICP备11018762号", 12) == "京ICP备11018762号-12"
    assert filing_numbers.website_number_for("京ICP备11018762号-3", 4) == "京ICP备11018762号-4"
    assert (
        filing_numbers.website_number_for("川ICP备05022455号", 2, ServiceType.APP) == "蜀ICP备05022455号-2A"
    )
    assert (
        filing_numbers.website_number_for("粤ICP备2023123456号", 5, ServiceType.MINI_PROGRAM)
        == "粤ICP备2023123456号-5X"
    )
    assert (
        filing_numbers.website_number_for("沪ICP备2024000001号", 6, ServiceType.QUICK_APP)
        == "沪ICP备2024000001号-6K"
    )


UNKNOWN_ABBREVIATION_ZH = (
    "“{}”不是备案号使用的省份简称；可用的简称："
    + KNOWN_ABBREVIATIONS
    + "（云南为滇、贵州为黔、四川为蜀、甘肃为陇）"
)

# (input, code, message_zh)
REFUSALS = [
    ("京ICP备1101876号", "bad_digit_count", "ICP备编号应为 8 或 10 位数字，实际为 7 位（1101876）"),
    ("京ICP备110187622号", "bad_digit_count", "ICP备编号应为 8 或 10 位数字，实际为 9 位（110187622）"),
    ("京ICP备123", "bad_digit_count", "ICP备编号应为 8 或 10 位数字，实际为 3 位（123）"),
    ("京ICP证03017号", "bad_digit_count", "ICP证编号应为 6 位数字，实际为 5 位（03017）"),
    ("粤B2-200900591", "bad_digit_count", "B2编号应为 8 位数字，实际为 9 位（200900591）"),
    ("京ICP备1918762022号", "bad_year", "10 位备案号以四位年份开头（20xx），“1918”不是有效年份"),
    ("阿里云ICP备案", "unknown_abbreviation", UNKNOWN_ABBREVIATION_ZH.format("阿")),
    ("云ICP备09010050号", "unknown_abbreviation", UNKNOWN_ABBREVIATION_ZH.format("云")),
    ("贵ICP备16001234号", "unknown_abbreviation", UNKNOWN_ABBREVIATION_ZH.format("贵")),
    ("甘ICP备12000123号", "unknown_abbreviation", UNKNOWN_ABBREVIATION_ZH.format("甘")),
    ("京ICP备11018762号-3B", "bad_suffix", "序号后缀“B”无效：App 为 A，小程序为 X，快应用为 K"),
    (
        "京ICP备11018762号-",
        "bad_suffix",
        "“-”之后应为网站序号（如 -1），App、小程序、快应用的序号后带 A、X、K",
    ),
    ("京ICP备11018762号-0", "bad_sequence", "网站序号应在 1 到 99999 之间，实际为 0"),
    ("京ICP备11018762号-100000", "bad_sequence", "网站序号应在 1 到 99999 之间，实际为 100000"),
    ("京ICP备11018762号 版权所有", "trailing_text", "备案号后有多余的内容“版权所有”"),
    ("京ICP备11018762号abc", "trailing_text", "备案号后有多余的内容“ABC”"),
    ("粤ICP备16028473号-1-2", "trailing_text", "备案号后有多余的内容“-2”"),
    ("京ICP备11018762号-1号", "trailing_text", "备案号后有多余的内容“号”"),
    ("", "empty", "请输入备案号，例如 京ICP备11018762号-1"),
    ("   \u3000", "empty", "请输入备案号，例如 京ICP备11018762号-1"),
    ("ICP备11018762号", "missing_abbreviation", "备案号应以省份简称开头，例如 京ICP备11018762号"),
    ("京备11018762号", "missing_icp", "“京”之后应为“ICP备”“ICP证”或“B2-”，例如 京ICP备11018762号"),
    ("京ICP备号", "missing_digits", "“ICP备”之后缺少数字编号"),
    ("粤B2 20090059", "missing_hyphen", "许可证编号的类别后应有“-”，例如 粤B2-20090059"),
    ("京" * 201, "too_long", "输入过长（201 个字符），不是备案号"),
    # digits other than 0-9 (Arabic-Indic here) would leak into the canonical form: refused
    ("京ICP备١١٠١٨٧٦٢号", "missing_digits", "“ICP备”之后缺少数字编号"),
]


@pytest.mark.parametrize(("text", "code", "message_zh"), REFUSALS)
def test_refusals(text: str, code: str, message_zh: str) -> None:
    with pytest.raises(FilingNumberError) as info:
        filing_numbers.parse(text)
    assert info.value.code == code
    assert info.value.message_zh == message_zh
    assert info.value.message("zh-hans") == message_zh
    assert isinstance(info.value, RulesError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "code", "message_en"),
    [
        (
            "京ICP备1101876号",
            "bad_digit_count",
            "A ICP备 number has 8 or 10 digits, this one has 7 (1101876)",
        ),
        (
            "阿里云ICP备案",
            "unknown_abbreviation",
            f"'阿' is not a province abbreviation used in filing numbers; known: {KNOWN_ABBREVIATIONS} "
            "(Yunnan 滇, Guizhou 黔, Sichuan 蜀, Gansu 陇)",
        ),
        (
            "京ICP备11018762号-3B",
            "bad_suffix",
            "Suffix 'B' is not valid: A for an app, X for a mini-program, K for a quick app",
        ),
        ("京ICP备11018762号-0", "bad_sequence", "The website sequence is between 1 and 99999, not 0"),
        (
            "京ICP备11018762号 版权所有",
            "trailing_text",
            "Unexpected text after the filing number: '版权所有'",
        ),
        ("", "empty", "Enter a filing number, e.g. 京ICP备11018762号-1"),
    ],
)
def test_refusals_in_english(text: str, code: str, message_en: str) -> None:
    with pytest.raises(FilingNumberError) as info:
        filing_numbers.parse(text)
    assert info.value.code == code
    assert info.value.message_en == message_en
    assert info.value.message("en") == message_en
    assert str(info.value) == message_en


def test_alibaba_cloud_footer_is_not_a_number() -> None:
    """Scanners must not take 阿里云ICP备案 for a number (DOMAIN.md)."""
    with pytest.raises(FilingNumberError) as info:
        filing_numbers.parse("阿里云ICP备案")
    assert info.value.context["abbreviation"] == "阿"


def test_error_context_carries_the_input() -> None:
    with pytest.raises(FilingNumberError) as info:
        filing_numbers.parse("京ICP备1101876号")
    assert info.value.context == {"input": "京ICP备1101876号", "digits": "1101876"}


def test_not_text() -> None:
    with pytest.raises(FilingNumberError) as info:
        filing_numbers.parse(11018762)  # type: ignore[arg-type]
    assert info.value.code == "not_text"
    assert info.value.message_zh == "备案号必须是文本"


def test_normalize_text_folds_footer_noise() -> None:
    assert filing_numbers.normalize_text("京ＩＣＰ备 １１０１８７６２号—１\u200f") == "京ICP备11018762号-1"
