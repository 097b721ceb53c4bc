"""Subject natures (主办单位性质) and the certificate types (证件类型) each admits, as data.

Numeric ids differ between MIIT's and providers' systems, so both are keyed by stable slugs
(``enterprise``, ``uscc``); the Chinese name is what the UI shows. Two certificate numbers carry a
check character that we verify: the 18-character unified social credit code (GB 32100-2015) and
the 18-digit resident identity card number (GB 11643-1999).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from beian.rules._data import load
from beian.rules.errors import NatureError


@dataclass(frozen=True, slots=True)
class CertificateType:
    code: str
    name: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Nature:
    code: str
    name: str
    name_en: str
    certificate_types: tuple[str, ...]

    @property
    def is_individual(self) -> bool:
        return self.code == "individual"


@cache
def certificate_types() -> dict[str, CertificateType]:
    return {row["code"]: CertificateType(**row) for row in load("natures.json")["certificate_types"]}


@cache
def natures() -> dict[str, Nature]:
    return {
        row["code"]: Nature(row["code"], row["name"], row["name_en"], tuple(row["certificate_types"]))
        for row in load("natures.json")["natures"]
    }


def nature(code: str) -> Nature:
    """The nature with slug ``code``; its Chinese name (企业) is accepted too."""
    table = natures()
    if code in table:
        return table[code]
    for n in table.values():
        if code == n.name:
            return n
    raise NatureError(
        "unknown_nature",
        f"未知的主办单位性质“{code}”；可选：{'、'.join(n.name for n in table.values())}",
        f"Unknown subject nature {code!r}; choose one of: {', '.join(table)}",
        value=code,
    )


def certificate_type(code: str) -> CertificateType:
    table = certificate_types()
    if code in table:
        return table[code]
    for c in table.values():
        if code == c.name:
            return c
    raise NatureError(
        "unknown_certificate_type",
        f"未知的证件类型“{code}”",
        f"Unknown certificate type {code!r}",
        value=code,
    )


def check_pair(nature_code: str, certificate_code: str) -> tuple[Nature, CertificateType]:
    """Refuse a certificate type that the nature does not admit (个人 cannot file with a business licence)."""
    n, c = nature(nature_code), certificate_type(certificate_code)
    if c.code not in n.certificate_types:
        allowed = "、".join(certificate_types()[t].name for t in n.certificate_types)
        raise NatureError(
            "certificate_type_not_allowed",
            f"主办单位性质为“{n.name}”时不能使用“{c.name}”，可用的证件类型：{allowed}",
            f"A subject of nature {n.name_en!r} cannot use {c.name_en!r}; allowed: "
            + ", ".join(certificate_types()[t].name_en for t in n.certificate_types),
            nature=n.code,
            certificate_type=c.code,
        )
    return n, c


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# value of each character, and the weight of each position pre-applied: the check character is then one
# sum of table lookups (a bulk import checks one number a line; .index and int() per character cost ~4x)
_USCC_TERMS = tuple({ch: _USCC_CHARS.index(ch) * w for ch in _USCC_CHARS} for w in _USCC_WEIGHTS)
_ID_TERMS = tuple({str(d): d * w for d in range(10)} for w in _ID_WEIGHTS)
_USCC_FORM = re.compile(rf"[{_USCC_CHARS}]{{18}}")
_ID_FORM = re.compile(r"[0-9]{17}[0-9X]")
_OTHER_FORM = re.compile(r"[0-9A-Z()\-（）]{4,64}")


def _weighted_sum(first17: str, terms: tuple[dict[str, int], ...]) -> int | None:
    """The weighted sum of 17 characters of the table's alphabet, None for anything else."""
    try:
        if len(first17) == 17:
            return sum(map(dict.__getitem__, terms, first17))
    except (KeyError, TypeError):
        pass
    return None


def uscc_check_char(first17: str) -> str:
    total = _weighted_sum(first17, _USCC_TERMS)
    if total is None:  # not 17 code characters: raises what the plain computation raises
        total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def resident_id_check_char(first17: str) -> str:
    total = _weighted_sum(first17, _ID_TERMS)
    if total is None:  # not 17 ASCII digits: int() decides (other Unicode digits) or raises
        total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_certificate_number(certificate_code: str, number: str) -> str:
    """The certificate number as stored (full-width folded, spaces removed, upper case), checked where a
    check character exists; raise :class:`NatureError` with what is wrong otherwise."""
    ctype = certificate_type(certificate_code)
    value = "".join(unicodedata.normalize("NFKC", str(number)).split()).upper()
    if not value:
        raise NatureError(
            "empty_certificate_number",
            "请填写证件号码",
            "Enter the certificate number",
            certificate_type=ctype.code,
        )
    if len(value) > 64:
        raise NatureError(
            "certificate_number_too_long",
            "证件号码过长（最多 64 个字符）",
            "The certificate number is too long (64 characters at most)",
        )
    if ctype.code == "uscc":
        if not _USCC_FORM.fullmatch(value):
            raise NatureError(
                "bad_uscc",
                "统一社会信用代码应为 18 位，由数字和大写字母（不含 I、O、Z、S、V）组成",
                "A unified social credit code has 18 digits or capital letters (not I, O, Z, S, V)",
                value=value,
            )
        if uscc_check_char(value[:17]) != value[17]:
            raise NatureError(
                "bad_uscc_check",
                "统一社会信用代码校验位不正确，请核对后重新输入",
                "The check character of the unified social credit code is wrong; check the number",
                value=value,
            )
    elif ctype.code == "resident_id":
        if not _ID_FORM.fullmatch(value):
            raise NatureError(
                "bad_resident_id",
                "居民身份证号码应为 18 位（最后一位可为 X）",
                "A resident ID number has 18 characters (the last may be X)",
                value=value,
            )
        if resident_id_check_char(value[:17]) != value[17]:
            raise NatureError(
                "bad_resident_id_check",
                "居民身份证号码校验位不正确，请核对后重新输入",
                "The check digit of the resident ID number is wrong; check the number",
                value=value,
            )
    elif not _OTHER_FORM.fullmatch(value):
        raise NatureError(
            "bad_certificate_number",
            f"{ctype.name}号码格式不正确：只能包含字母、数字、括号和连字符，至少 4 位",
            f"The {ctype.name_en} number may contain only letters, digits, brackets and hyphens (4 or more)",
            value=value,
        )
    return value
