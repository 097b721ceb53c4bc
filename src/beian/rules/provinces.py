"""The 31 provincial bureaus (省通信管理局) that review ICP filings, as data.

Each province carries its GB/T 2260 code, its ICP abbreviation (滇 黔 蜀 陇 differ from car
plates; 川 is read as an old alias of 蜀 and never issued), its bureau's full name, and the
offline-cancellation channel the seed page describes. The data file says where each fact
comes from and when it was last checked; bureau portals move, so they stay data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from beian.rules._data import load
from beian.rules.errors import ProvinceError


class OfflineChannel(StrEnum):
    FORM_DOWNLOAD = "form_download"  # 下载注销备案申请表，填写后递交管局
    OWN_SYSTEM = "own_system"  # 上海：管局自有系统
    REGISTERED_ACCOUNT_SYSTEM = "registered_account_system"  # 四川：注册账户后申请
    ONLINE_FRIDAY_BATCH = "online_friday_batch"  # 湖南：在线申请，每周五统一处理

    @property
    def label_zh(self) -> str:
        return _CHANNEL_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _CHANNEL_LABELS[self][1]


_CHANNEL_LABELS = {
    OfflineChannel.FORM_DOWNLOAD: ("下载申请表，线下递交管局", "Download the form and hand it to the bureau"),
    OfflineChannel.OWN_SYSTEM: ("管局自有备案系统在线办理", "The bureau's own filing system"),
    OfflineChannel.REGISTERED_ACCOUNT_SYSTEM: (
        "管局备案系统（需注册账户）",
        "The bureau's system (a registered account is required)",
    ),
    OfflineChannel.ONLINE_FRIDAY_BATCH: (
        "在线提交，管局每周五统一处理",
        "Online application, processed by the bureau every Friday",
    ),
}


@dataclass(frozen=True, slots=True)
class Province:
    code: str  # GB/T 2260, two digits: "11" 北京, "62" 甘肃
    name: str  # 甘肃省
    short_name: str  # 甘肃
    name_en: str  # Gansu
    abbreviation: str  # 陇
    aliases: tuple[str, ...]  # abbreviations accepted when reading, never issued (川 for 蜀)
    bureau: str  # 甘肃省通信管理局
    bureau_en: str  # Gansu Communications Administration
    portal_code: str  # gs -> https://gs.beian.miit.gov.cn/
    offline_channel: OfflineChannel
    offline_url: str
    seed_url: str
    offline_notes_zh: str
    shell_subject_may_add_website: bool

    @property
    def friday_batch(self) -> bool:
        return self.offline_channel is OfflineChannel.ONLINE_FRIDAY_BATCH


def data_checked() -> str:
    """The date (ISO) the province data was last checked against its sources."""
    return load("provinces.json")["checked"]


def data_source() -> str:
    return load("provinces.json")["source"]


@cache
def all_provinces() -> tuple[Province, ...]:
    """The 31 provinces in GB/T 2260 order."""
    rows = load("provinces.json")["provinces"]
    return tuple(
        Province(
            **{k: v for k, v in row.items() if k not in {"aliases", "offline_channel"}},
            aliases=tuple(row["aliases"]),
            offline_channel=OfflineChannel(row["offline_channel"]),
        )
        for row in rows
    )


@cache
def _by_code() -> dict[str, Province]:
    return {p.code: p for p in all_provinces()}


@cache
def _by_abbreviation() -> dict[str, Province]:
    table = {p.abbreviation: p for p in all_provinces()}
    for p in all_provinces():
        for alias in p.aliases:
            table[alias] = p
    return table


def by_code(code: str) -> Province:
    """The province with GB/T 2260 code ``code`` ("11"; a six-digit division code is reduced to its first two)."""
    key = str(code).strip()
    if len(key) == 6 and key.isdigit():
        key = key[:2]
    try:
        return _by_code()[key]
    except KeyError:
        raise ProvinceError(
            "unknown_province",
            f"未知的省份代码 {code!r}：请使用 GB/T 2260 的两位代码，例如 11（北京）、62（甘肃）",
            f"Unknown province code {code!r}: use the two-digit GB/T 2260 code, e.g. 11 (Beijing), 62 (Gansu)",
            value=str(code),
        ) from None


def by_abbreviation(abbreviation: str) -> Province:
    """The province whose ICP abbreviation (or accepted alias such as 川) is ``abbreviation``."""
    try:
        return _by_abbreviation()[abbreviation]
    except KeyError:
        known = "".join(p.abbreviation for p in all_provinces())
        raise ProvinceError(
            "unknown_abbreviation",
            f"“{abbreviation}”不是备案号使用的省份简称；可用的简称：{known}（云南为滇、贵州为黔、四川为蜀、甘肃为陇）",
            f"{abbreviation!r} is not a province abbreviation used in filing numbers; known: {known} "
            "(Yunnan 滇, Guizhou 黔, Sichuan 蜀, Gansu 陇)",
            value=abbreviation,
        ) from None


def is_abbreviation(char: str) -> bool:
    return char in _by_abbreviation()
