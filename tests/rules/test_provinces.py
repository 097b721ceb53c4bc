"""The 31 provincial bureaus as data (DOMAIN.md, "Filing numbers", "Shells", "Offline cancellation")."""

from __future__ import annotations

import datetime as dt

import pytest

from beian.rules import provinces
from beian.rules.errors import ProvinceError
from beian.rules.provinces import OfflineChannel

ABBREVIATIONS = {
    "11": "京",
    "12": "津",
    "13": "冀",
    "14": "晋",
    "15": "蒙",
    "21": "辽",
    "22": "吉",
    "23": "黑",
    "31": "沪",
    "32": "苏",
    "33": "浙",
    "34": "皖",
    "35": "闽",
    "36": "赣",
    "37": "鲁",
    "41": "豫",
    "42": "鄂",
    "43": "湘",
    "44": "粤",
    "45": "桂",
    "46": "琼",
    "50": "渝",
    "51": "蜀",
    "52": "黔",
    "53": "滇",
    "54": "藏",
    "61": "陕",
    "62": "陇",
    "63": "青",
    "64": "宁",
    "65": "新",
}


def test_thirty_one_provinces_with_distinct_codes_and_abbreviations() -> None:
    all_ = provinces.all_provinces()
    assert len(all_) == 31
    assert len({p.code for p in all_}) == 31
    assert len({p.abbreviation for p in all_}) == 31
    assert len({p.bureau for p in all_}) == 31
    assert len({p.portal_code for p in all_}) == 31
    assert [p.code for p in all_] == sorted(p.code for p in all_)  # GB/T 2260 order
    assert {p.code: p.abbreviation for p in all_} == ABBREVIATIONS


def test_aliases_are_not_abbreviations_of_another_province() -> None:
    abbreviations = {p.abbreviation for p in provinces.all_provinces()}
    aliases = [a for p in provinces.all_provinces() for a in p.aliases]
    assert aliases == ["川"]
    assert not abbreviations & set(aliases)


@pytest.mark.parametrize(("code", "abbreviation"), sorted(ABBREVIATIONS.items()))
def test_by_code_and_by_abbreviation(code: str, abbreviation: str) -> None:
    p = provinces.by_code(code)
    assert p.code == code
    assert p.abbreviation == abbreviation
    assert provinces.by_abbreviation(abbreviation) is p
    assert provinces.is_abbreviation(abbreviation)
    assert provinces.by_code(code + "0000") is p  # a six-digit division code
    assert p.bureau == f"{p.name}通信管理局"
    if p.offline_channel is OfflineChannel.FORM_DOWNLOAD:
        assert p.offline_url == f"https://{p.portal_code}.beian.miit.gov.cn/"


@pytest.mark.parametrize(
    ("code", "url"),
    [
        ("31", "https://beian.shca.gov.cn/"),
        ("43", "http://bsdt.xca.gov.cn/zwdtportal/wzzxManage/toSitesLogoutPage.jsi"),
        ("51", "http://www.028icp.com/"),
    ],
)
def test_own_systems_keep_the_seed_page_address(code: str, url: str) -> None:
    p = provinces.by_code(code)
    assert p.offline_url == p.seed_url == url


@pytest.mark.parametrize(
    ("abbreviation", "code", "name"),
    [
        ("滇", "53", "云南省"),
        ("黔", "52", "贵州省"),
        ("蜀", "51", "四川省"),
        ("陇", "62", "甘肃省"),
        ("川", "51", "四川省"),
    ],
)
def test_odd_abbreviations_and_the_chuan_alias(abbreviation: str, code: str, name: str) -> None:
    p = provinces.by_abbreviation(abbreviation)
    assert p.code == code
    assert p.name == name


def test_chuan_is_read_but_never_issued() -> None:
    sichuan = provinces.by_abbreviation("川")
    assert sichuan.abbreviation == "蜀"
    assert sichuan.aliases == ("川",)
    assert provinces.is_abbreviation("川")


@pytest.mark.parametrize("char", ["云", "贵", "甘", "阿", "A", "", "京京"])
def test_unknown_abbreviation(char: str) -> None:
    assert not provinces.is_abbreviation(char)
    with pytest.raises(ProvinceError) as info:
        provinces.by_abbreviation(char)
    assert info.value.code == "unknown_abbreviation"
    assert info.value.context == {"value": char}


@pytest.mark.parametrize("code", ["00", "71", "81", "82", "1", "110", "abc", ""])
def test_unknown_code(code: str) -> None:
    with pytest.raises(ProvinceError) as info:
        provinces.by_code(code)
    assert info.value.code == "unknown_province"
    assert info.value.message_zh == (
        f"未知的省份代码 {code!r}：请使用 GB/T 2260 的两位代码，例如 11（北京）、62（甘肃）"
    )


@pytest.mark.parametrize(
    ("code", "bureau", "name_en"),
    [
        ("11", "北京市通信管理局", "Beijing"),
        ("44", "广东省通信管理局", "Guangdong"),
        ("45", "广西壮族自治区通信管理局", "Guangxi"),
        ("15", "内蒙古自治区通信管理局", "Inner Mongolia"),
        ("54", "西藏自治区通信管理局", "Tibet"),
        ("64", "宁夏回族自治区通信管理局", "Ningxia"),
        ("65", "新疆维吾尔自治区通信管理局", "Xinjiang"),
        ("62", "甘肃省通信管理局", "Gansu"),
        ("50", "重庆市通信管理局", "Chongqing"),
    ],
)
def test_bureau_full_names(code: str, bureau: str, name_en: str) -> None:
    p = provinces.by_code(code)
    assert p.bureau == bureau
    assert p.name_en == name_en
    assert p.bureau_en == f"{name_en} Communications Administration"


def test_offline_channels() -> None:
    channels = {p.code: p.offline_channel for p in provinces.all_provinces()}
    assert channels.pop("31") is OfflineChannel.OWN_SYSTEM
    assert channels.pop("51") is OfflineChannel.REGISTERED_ACCOUNT_SYSTEM
    assert channels.pop("43") is OfflineChannel.ONLINE_FRIDAY_BATCH
    assert set(channels.values()) == {OfflineChannel.FORM_DOWNLOAD}
    assert len(channels) == 28  # the seed lists a form for 28 provinces
    assert [p.code for p in provinces.all_provinces() if p.friday_batch] == ["43"]


@pytest.mark.parametrize("channel", list(OfflineChannel))
def test_channel_labels(channel: OfflineChannel) -> None:
    assert channel.label_zh and channel.label_en


def test_shell_subject_may_add_website() -> None:
    """津 辽 川 滇 苏 浙 沪 桂 晋 京 黔 (Huawei kb 备案注销咨询)."""
    allowed = {p.abbreviation for p in provinces.all_provinces() if p.shell_subject_may_add_website}
    assert allowed == set("津辽蜀滇苏浙沪桂晋京黔")


def test_data_is_dated_and_sourced() -> None:
    dt.date.fromisoformat(provinces.data_checked())
    assert "GB/T 2260" in provinces.data_source()
