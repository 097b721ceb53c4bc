"""Filing numbers (备案号): parse every real form, format the canonical one.

Forms (DOMAIN.md, "Filing numbers"):

- subject 主体备案号 ``京ICP备11018762号`` (8 digits, two-digit year first) or ``陇ICP备2021003158号``
  (10 digits, four-digit year first);
- website 网站备案号: the subject number plus ``-n``; apps ``-nA``, mini-programs ``-nX``, quick apps
  ``-nK`` share the sequence;
- commercial licences read in the same query field, never issued: ``京ICP证030173号`` and
  ``粤B2-20090059`` (also written ``浙ICP证B2-…`` or with several categories ``B1.B2-…``).

Reading is tolerant of what real footers contain: full-width digits, letters, colons and hyphens,
em dashes, spaces anywhere, a missing 号, the suffix before 号. Output is always the clean form.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from enum import StrEnum

from beian.rules import provinces
from beian.rules.errors import FilingNumberError, ProvinceError

MAX_INPUT = 200  # longer text is not a filing number; refuse before doing any work
MAX_SEQUENCE = 99999


class Licence(StrEnum):
    FILING = "ICP备"  # 非经营性备案
    ICP_LICENCE = "ICP证"  # 经营性许可证（仅识别，不签发）
    B2 = "B2"  # 增值电信业务经营许可证 B2 类（仅识别，不签发）


class ServiceType(StrEnum):
    WEBSITE = "website"
    APP = "app"  # A
    MINI_PROGRAM = "mini_program"  # X
    QUICK_APP = "quick_app"  # K


_SUFFIX_LETTER = {
    "": ServiceType.WEBSITE,
    "A": ServiceType.APP,
    "X": ServiceType.MINI_PROGRAM,
    "K": ServiceType.QUICK_APP,
}
_LETTER_OF = {v: k for k, v in _SUFFIX_LETTER.items()}
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹘﹣－"), "-")
# Whitespace and the format characters (Unicode category Cf: soft hyphen, zero-width and direction marks …)
# that copy-pasted footers carry; one compiled class instead of a per-character category lookup.
_INVISIBLE = re.compile(
    r"[\s\U000000ad\U00000600-\U00000605\U0000061c\U000006dd\U0000070f\U00000890-\U00000891\U000008e2\U0000180e\U0000200b-\U0000200f\U0000202a-\U0000202e\U00002060-\U00002064\U00002066-\U0000206f\U0000feff\U0000fff9-\U0000fffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_DIGIT_RULES = {Licence.FILING: (8, 10), Licence.ICP_LICENCE: (6,), Licence.B2: (8,)}
_CATEGORIES = re.compile(r"B[0-9](?:[.、]B[0-9])*")  # ASCII digits only: output is the clean form


@dataclass(frozen=True, slots=True)
class FilingNumber:
    abbreviation: str  # canonical: 蜀 even when read as 川
    province: str  # GB/T 2260 code
    licence: Licence
    digits: str
    categories: tuple[str, ...] = ()  # ("B1", "B2") for licences written B1.B2-…
    website_sequence: int | None = None
    service_type: ServiceType | None = None
    alias: str | None = None  # the abbreviation as read when it was an alias (川)

    @property
    def canonical(self) -> str:
        return format_number(self)

    @property
    def subject(self) -> FilingNumber:
        """The subject's number (主体备案号): this number without its ``-n`` suffix."""
        return replace(self, website_sequence=None, service_type=None, alias=None)

    @property
    def subject_number(self) -> str:
        return format_number(self.subject)

    @property
    def is_subject(self) -> bool:
        return self.website_sequence is None

    @property
    def year(self) -> int | None:
        """The year a ``ICP备`` number was issued, read from its digits (8 digits: two-digit year)."""
        if self.licence is not Licence.FILING:
            return None
        return 2000 + int(self.digits[:2]) if len(self.digits) == 8 else int(self.digits[:4])


def _error(code: str, zh: str, en: str, text: str, **context) -> FilingNumberError:
    return FilingNumberError(code, zh, en, input=text, **context)


def normalize_text(text: str) -> str:
    """Fold what real footers contain into plain ASCII punctuation, digits and letters, no spaces."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return _INVISIBLE.sub("", folded).upper()


def parse(text: str) -> FilingNumber:
    """Read a filing number or licence in any accepted form; raise :class:`FilingNumberError` otherwise."""
    if not isinstance(text, str):
        raise _error("not_text", "备案号必须是文本", "A filing number must be text", repr(text))
    if len(text) > MAX_INPUT:
        raise _error(
            "too_long",
            f"输入过长（{len(text)} 个字符），不是备案号",
            f"The input is too long ({len(text)} characters) to be a filing number",
            text[:40],
        )
    s = normalize_text(text)
    if not s:
        raise _error(
            "empty",
            "请输入备案号，例如 京ICP备11018762号-1",
            "Enter a filing number, e.g. 京ICP备11018762号-1",
            text,
        )
    head = s[0]
    if not ("\u4e00" <= head <= "\u9fff"):
        raise _error(
            "missing_abbreviation",
            "备案号应以省份简称开头，例如 京ICP备11018762号",
            "A filing number starts with a province abbreviation, e.g. 京ICP备11018762号",
            text,
        )
    try:
        province = provinces.by_abbreviation(head)
    except ProvinceError as exc:
        raise _error(exc.code, exc.message_zh, exc.message_en, text, abbreviation=head) from None
    rest = s[1:]
    categories: tuple[str, ...] = ()
    if rest.startswith("ICP备"):
        licence, rest = Licence.FILING, rest[4:]
    elif rest.startswith("ICP证") and _CATEGORIES.match(rest[4:]):
        licence, rest = Licence.B2, rest[4:]  # 浙ICP证B2-… is a B2 licence
    elif rest.startswith("ICP证"):
        licence, rest = Licence.ICP_LICENCE, rest[4:]
    elif _CATEGORIES.match(rest):
        licence = Licence.B2
    else:
        raise _error(
            "missing_icp",
            f"“{head}”之后应为“ICP备”“ICP证”或“B2-”，例如 {head}ICP备11018762号",
            f"After {head!r} a filing number continues with ICP备, ICP证 or B2-, e.g. {head}ICP备11018762号",
            text,
        )
    if licence is Licence.B2:
        m = _CATEGORIES.match(rest)
        assert m is not None
        categories = tuple(re.split(r"[.、]", m.group()))
        rest = rest[m.end() :]
        if not rest.startswith("-"):
            raise _error(
                "missing_hyphen",
                "许可证编号的类别后应有“-”，例如 粤B2-20090059",
                "A licence number has '-' after its category, e.g. 粤B2-20090059",
                text,
            )
        rest = rest[1:]
    rest = rest.lstrip(":")
    m = re.match(r"[0-9]+", rest)
    if not m:
        raise _error(
            "missing_digits",
            f"“{licence.value}”之后缺少数字编号",
            f"The digits after {licence.value!r} are missing",
            text,
        )
    digits, rest = m.group(), rest[m.end() :]
    allowed = _DIGIT_RULES[licence]
    if len(digits) not in allowed:
        want = " 或 ".join(map(str, allowed))
        want_en = " or ".join(map(str, allowed))
        raise _error(
            "bad_digit_count",
            f"{licence.value}编号应为 {want} 位数字，实际为 {len(digits)} 位（{digits}）",
            f"A {licence.value} number has {want_en} digits, this one has {len(digits)} ({digits})",
            text,
            digits=digits,
        )
    if licence is Licence.FILING and len(digits) == 10 and not digits.startswith("20"):
        raise _error(
            "bad_year",
            f"10 位备案号以四位年份开头（20xx），“{digits[:4]}”不是有效年份",
            f"A 10-digit filing number starts with a four-digit year (20xx); {digits[:4]!r} is not one",
            text,
            digits=digits,
        )
    had_hao = rest.startswith("号")
    if had_hao:
        rest = rest[1:]
    sequence: int | None = None
    service: ServiceType | None = None
    if rest.startswith("-"):
        m = re.match(r"-([0-9]{1,6})([A-Z]?)", rest)
        if not m:
            raise _error(
                "bad_suffix",
                "“-”之后应为网站序号（如 -1），App、小程序、快应用的序号后带 A、X、K",
                "After '-' comes the website sequence (e.g. -1), followed by A, X or K for an app, mini-program or quick app",
                text,
            )
        if m.group(2) not in _SUFFIX_LETTER:
            raise _error(
                "bad_suffix",
                f"序号后缀“{m.group(2)}”无效：App 为 A，小程序为 X，快应用为 K",
                f"Suffix {m.group(2)!r} is not valid: A for an app, X for a mini-program, K for a quick app",
                text,
            )
        sequence = int(m.group(1))
        if not 1 <= sequence <= MAX_SEQUENCE:
            raise _error(
                "bad_sequence",
                f"网站序号应在 1 到 {MAX_SEQUENCE} 之间，实际为 {m.group(1)}",
                f"The website sequence is between 1 and {MAX_SEQUENCE}, not {m.group(1)}",
                text,
            )
        service = _SUFFIX_LETTER[m.group(2)]
        rest = rest[m.end() :]
        if not had_hao and rest.startswith("号"):
            rest = rest[1:]  # 滇ICP备09010050-5号: the suffix written before 号
    if rest:
        raise _error(
            "trailing_text",
            f"备案号后有多余的内容“{rest[:20]}”",
            f"Unexpected text after the filing number: {rest[:20]!r}",
            text,
        )
    return FilingNumber(
        abbreviation=province.abbreviation,
        province=province.code,
        licence=licence,
        digits=digits,
        categories=categories,
        website_sequence=sequence,
        service_type=service,
        alias=head if head != province.abbreviation else None,
    )


def format_number(number: FilingNumber) -> str:
    """The canonical text of ``number``: ``京ICP备11018762号-1``, ``京ICP证030173号``, ``粤B2-20090059-5``."""
    if number.licence is Licence.B2:
        base = f"{number.abbreviation}{'.'.join(number.categories or ('B2',))}-{number.digits}"
    else:
        base = f"{number.abbreviation}{number.licence.value}{number.digits}号"
    if number.website_sequence is None:
        return base
    return f"{base}-{number.website_sequence}{_LETTER_OF[number.service_type or ServiceType.WEBSITE]}"


def canonical(text: str) -> str:
    return parse(text).canonical


def subject_number_for(province_code: str, year: int, sequence: int) -> str:
    """The number a bureau issues to a new subject: ``<abbr>ICP备<YYYY><6-digit sequence>号``."""
    if not 1 <= sequence <= 999_999:
        raise _error(
            "sequence_exhausted",
            f"{year} 年的主体序号已用尽",
            f"Subject sequence for {year} is exhausted",
            str(sequence),
        )
    if not 1000 <= year <= 9999:  # the ten-digit form starts with a four-digit year
        raise _error(
            "bad_year", f"年份 {year} 不是四位数字", f"The year {year} does not have four digits", str(year)
        )
    abbr = provinces.by_code(province_code).abbreviation
    return f"{abbr}ICP备{year:04d}{sequence:06d}号"


def website_number_for(subject_number: str, sequence: int, service: ServiceType = ServiceType.WEBSITE) -> str:
    """The website (or app …) number ``-n`` under ``subject_number``."""
    if not 1 <= sequence <= MAX_SEQUENCE:  # never issue a number that does not read back
        raise _error(
            "bad_sequence",
            f"网站序号应在 1 到 {MAX_SEQUENCE} 之间，实际为 {sequence}",
            f"The website sequence is between 1 and {MAX_SEQUENCE}, not {sequence}",
            str(sequence),
        )
    subject = parse(subject_number).subject
    return format_number(replace(subject, website_sequence=sequence, service_type=service))
