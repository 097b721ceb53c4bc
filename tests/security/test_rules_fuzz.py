"""Hostile text against every parser of ``beian.rules``: what tests/rules/test_properties.py leaves open.

Already proved there (not repeated here): every text function answers a result or *some* RulesError on
arbitrary text (NUL, 10,000 characters, full width, RTL marks included); generated filing numbers
written as messily as real footers read back to their canonical form; domain normalisation is
idempotent; certificate numbers fold to a fixed point; add_workdays agrees with chinese-calendar on
valid input.

Added here:

- each parser refuses with *its own* error type (callers and the API catch those), with a code and a
  message in both languages whose context is JSON-ready;
- what a parser accepts out of hostile text (valid values salted with bidi overrides, zero-width and
  format characters, NUL and other controls, full-width forms) is clean and a fixed point: the
  canonical filing number and the domain's A-label carry none of that noise and read back to the same
  value; so does the U-label shown to users;
- the number generators (subject_number_for, website_number_for) never issue a number that does not
  read back;
- the working-day functions take any date, any count and any stage or province text: an answer or
  WorkdayError / ProvinceError, never OverflowError at the ends of the calendar.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from beian.rules import describe, domains, filing_numbers, natures, provinces, workdays
from beian.rules.errors import (
    DomainError,
    FilingNumberError,
    NatureError,
    ProvinceError,
    RulesError,
    WorkdayError,
)
from beian.rules.filing_numbers import ServiceType

# Pure functions, no database: like tests/rules, they run in the SQLite pass only (tests/run.py).
pytestmark = pytest.mark.sqlite_only

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None)

BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
CONTROLS = "\x00\x01\x08\x0b\x1b\x7f\x85\u2028\u2029"
FULL_WIDTH = "ＩＣＰＢＸＡＫ０１２３４５６７８９－．：／＠ｅｘａｍｐｌｅｃｏｍ\u3000"
HOSTILE = BIDI + ZERO_WIDTH + CONTROLS + FULL_WIDTH + "\u0301\u20dd\ufe0f\ud7ff\U0001f600\U000e0041"

# Real values to salt: every form the parsers accept, so that hostile characters land inside them.
NUMBERS = [
    "京ICP备11018762号",
    "京ICP备11018762号-1",
    "川ICP备09010050-5号",
    "陇ICP备2021003158号-2A",
    "沪ICP备2021000001号-3X",
    "京ICP证030173号",
    "粤B2-20090059-5",
    "浙B1.B2-20080224",
]
DOMAINS = [
    "example.com",
    "www.example.com.cn",
    "例子.中国",
    "https://user@Shop.Example.CN:8443/a?b#c",
    "beijing.gov.cn",
    "xn--fsqu00a.xn--fiqs8s",
    "a-b.top.",
]
CODES = ["11", "44", "51", "110000", "65", "71", "00"]
ABBREVIATIONS = [p.abbreviation for p in provinces.all_provinces()] + ["川", "京"]
NATURE_WORDS = sorted(natures.natures()) + [n.name for n in natures.natures().values()]
CERTIFICATE_WORDS = sorted(natures.certificate_types()) + [
    c.name for c in natures.certificate_types().values()
]

# What a clean output may contain: the canonical number and the A-label are plain text.
CANONICAL_NUMBER = re.compile(
    r"[\u4e00-\u9fff](?:ICP[备证][0-9]+号|B[0-9](?:\.B[0-9])*-[0-9]+)(?:-[0-9]+[AXK]?)?"
)
A_LABEL_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
NOISE = re.compile(f"[{re.escape(BIDI + ZERO_WIDTH + CONTROLS)}\\s]")


@st.composite
def salted(draw: st.DrawFn, seeds: list[str]) -> str:
    """A real value with hostile characters inserted anywhere, and sometimes its case changed."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(alphabet=HOSTILE, min_size=1, max_size=3)) + text[at:]
    if draw(st.booleans()):
        text = text.upper() if draw(st.booleans()) else text.lower()
    return text


def hostile_text(seeds: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        salted(seeds),
        st.text(alphabet=HOSTILE + "".join(seeds), max_size=60),
        st.text(max_size=200),  # any code point, surrogates excluded by Hypothesis
        st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=4).map(
            lambda s: "京ICP备" + s + "11018762号"  # lone surrogates: JSON "\ud800" escapes deliver them
        ),
        st.builds(lambda s, n: (s * n)[:10_000], salted(seeds), st.integers(300, 3_000)),
        st.just(HOSTILE * 150),
    )


def _refusal(exc: RulesError, kind: type[RulesError]) -> None:
    assert type(exc) is kind, f"{type(exc).__name__} instead of {kind.__name__}: {exc!r}"
    assert exc.code and exc.message_zh.strip() and exc.message_en.strip()
    assert exc.message("en") == exc.message_en and exc.message("zh-hans") == exc.message_zh
    # The API sends the context in the error body: it has to serialise (lone surrogates escaped).
    json.dumps(
        {k: v if isinstance(v, str | int | float | bool | None) else str(v) for k, v in exc.context.items()}
    )


def outcome(fn, kind: type[RulesError], *args):
    """``fn(*args)``, or None when it refuses with ``kind``; any other exception fails the test."""
    try:
        return fn(*args)
    except RulesError as exc:
        _refusal(exc, kind)
        return None


@FUZZ
@given(hostile_text(NUMBERS))
@example("京ICP备1101\u202e8762号")
@example("\u202e号26781011备PCI京")
@example("京ＩＣＰ备１１０１８７６２号－１")
@example("京ICP备11018762号\x00")
@example("京" + "\u200b" * 9_990 + "ICP备11018762号")
def test_filing_numbers_read_clean_or_refuse(text: str) -> None:
    number = outcome(filing_numbers.parse, FilingNumberError, text)
    if number is None:
        return
    canonical = number.canonical
    assert CANONICAL_NUMBER.fullmatch(canonical), canonical
    assert filing_numbers.parse(canonical) == replace(number, alias=None)  # 川 is read, 蜀 is written
    assert filing_numbers.canonical(text) == canonical
    assert filing_numbers.format_number(number) == canonical
    assert filing_numbers.parse(number.subject_number).canonical == number.subject_number
    assert provinces.by_code(number.province).abbreviation == canonical[0]
    assert describe.describe(canonical)["canonical"] == canonical


@FUZZ
@given(hostile_text(DOMAINS))
@example("exa\u202emple.com")
@example("例子\u200d.中国")
@example("ｅｘａｍｐｌｅ．ｃｏｍ")
@example("example.com\x00")
@example("http://example.com\u2028/")
@example("xn--" + "a" * 9_996)
def test_domains_read_clean_or_refuse(text: str) -> None:
    info = outcome(domains.analyze, DomainError, text)
    normalized = outcome(domains.normalize, DomainError, text)
    covering = outcome(domains.covering_names, DomainError, text)
    if info is None:
        assert covering is None
        return
    assert normalized == info.ascii and covering is not None
    assert A_LABEL_NAME.fullmatch(info.ascii) and len(info.ascii) <= 253, info.ascii
    assert not NOISE.search(info.unicode), repr(info.unicode)
    assert domains.analyze(info.ascii) == info
    assert domains.analyze(info.unicode) == info  # what users are shown reads back to the same name
    assert domains.covering_names(info.ascii) == covering
    assert info.filing_name in covering and info.ascii.endswith(info.registrable)


@FUZZ
@given(st.one_of(hostile_text(NUMBERS), hostile_text(DOMAINS)))
def test_describe_refuses_as_a_number_or_a_domain(text: str) -> None:
    try:
        answer = describe.describe(text)
    except (FilingNumberError, DomainError) as exc:
        _refusal(exc, type(exc))
        return
    json.dumps(answer)
    again = describe.describe(answer["canonical"] if answer["kind"] == "filing_number" else answer["ascii"])
    assert again["kind"] == answer["kind"]
    assert again.get("canonical") == answer.get("canonical") and again.get("ascii") == answer.get("ascii")


@FUZZ
@given(hostile_text(CODES), hostile_text(ABBREVIATIONS))
@example("１１", "京\u200f")
@example("11\x00", "\u202e川")
def test_provinces_resolve_or_refuse(code: str, abbreviation: str) -> None:
    by_code = outcome(provinces.by_code, ProvinceError, code)
    if by_code is not None:
        assert provinces.by_code(by_code.code) is by_code
        assert provinces.by_abbreviation(by_code.abbreviation) is by_code
    by_abbreviation = outcome(provinces.by_abbreviation, ProvinceError, abbreviation)
    if by_abbreviation is not None:
        assert provinces.by_code(by_abbreviation.code) is by_abbreviation
    assert provinces.is_abbreviation(abbreviation) is (by_abbreviation is not None)


@FUZZ
@given(hostile_text(NATURE_WORDS), hostile_text(CERTIFICATE_WORDS))
def test_natures_and_certificate_types_resolve_or_refuse(nature_text: str, certificate_text: str) -> None:
    nature = outcome(natures.nature, NatureError, nature_text)
    if nature is not None:
        assert natures.nature(nature.code) == nature
    ctype = outcome(natures.certificate_type, NatureError, certificate_text)
    if ctype is not None:
        assert natures.certificate_type(ctype.code) == ctype
    pair = outcome(natures.check_pair, NatureError, nature_text, certificate_text)
    if pair is not None:
        assert pair == (nature, ctype) and ctype.code in nature.certificate_types


@FUZZ
@given(
    hostile_text(CODES),
    st.integers(-10_000, 100_000),
    st.integers(-5, 2_000_000),
    hostile_text(NUMBERS),
    st.integers(-5, 200_000),
    st.sampled_from(list(ServiceType)),
)
@example("11", 2024, 1, "京ICP备11018762号", 0, ServiceType.WEBSITE)
@example("11", 2024, 999_999, "京ICP备11018762号", filing_numbers.MAX_SEQUENCE + 1, ServiceType.APP)
@example("11", 99_999, 1, "京ICP备11018762号-3", -1, ServiceType.WEBSITE)
@example("11", -1, 1, "粤B2-20090059", 1, ServiceType.QUICK_APP)
def test_number_generators_issue_only_numbers_that_read_back(
    province: str, year: int, sequence: int, subject_text: str, site: int, service: ServiceType
) -> None:
    try:
        subject = filing_numbers.subject_number_for(province, year, sequence)
    except (FilingNumberError, ProvinceError) as exc:
        _refusal(exc, type(exc))
    else:
        parsed = filing_numbers.parse(subject)
        assert parsed.canonical == subject and parsed.is_subject and parsed.year == year
    website = outcome(filing_numbers.website_number_for, FilingNumberError, subject_text, site, service)
    if website is not None:
        parsed = filing_numbers.parse(website)
        assert parsed.canonical == website
        assert (parsed.website_sequence, parsed.service_type) == (site, service)
        assert parsed.subject_number == filing_numbers.parse(subject_text).subject_number


DATES = st.one_of(
    st.dates(),  # 0001-01-01 .. 9999-12-31
    st.dates(dt.date(9999, 12, 1), dt.date.max),
    st.dates(dt.date.min, dt.date(1, 1, 31)),
)


@FUZZ
@given(
    DATES,
    st.integers(-(2**63), 2**63),
    hostile_text(["provider", "bureau"]),
    hostile_text(CODES),
    st.booleans(),
)
@example(dt.date.max, 1, "bureau", "11", False)
@example(dt.date(9999, 12, 27), 0, "bureau", "43", True)  # Hunan's Friday batch after the last Friday
@example(dt.date.max, workdays.MAX_WORKDAYS, "provider", "11", False)
@example(dt.date(2025, 10, 1), 0, "bureau\u200f", "１１", True)
def test_working_days_answer_or_refuse(
    day: dt.date, n: int, stage: str, province: str, cancellation: bool
) -> None:
    estimate = outcome(workdays.add_workdays, WorkdayError, day, n)
    if estimate is not None:
        assert 0 <= n <= workdays.MAX_WORKDAYS
        assert estimate.date >= day and workdays.is_workday(estimate.date)
        assert estimate.covered or (estimate.note_zh and estimate.note_en)
    batch = outcome(workdays.next_friday_batch, WorkdayError, day)
    if batch is not None:
        assert batch.date >= day and workdays.is_workday(batch.date)
    try:
        eta = workdays.review_eta(day, stage=stage, province=province, cancellation=cancellation)
    except (WorkdayError, ProvinceError) as exc:
        _refusal(exc, type(exc))
    else:
        assert eta.stage in ("provider", "bureau")
        assert day <= eta.expected <= eta.latest
