"""Properties of the rules package, checked with Hypothesis.

- a filing number formatted and then written as messily as real footers do reads back to the same
  canonical form;
- domain normalisation is idempotent;
- every public function that takes text is total: a result or a :class:`RulesError`, nothing else.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from hypothesis import example, given, settings
from hypothesis import strategies as st

from beian.rules import describe, domains, filing_numbers, natures, provinces, workdays
from beian.rules.errors import RulesError
from beian.rules.filing_numbers import FilingNumber, Licence, ServiceType

FAST = settings(max_examples=300, deadline=None)

PROVINCES = provinces.all_provinces()
DASHES = ["-", "－", "—", "–", "‐", "﹣", "−", "―"]
SPACES = [" ", "\u3000", "\t", "\u00a0"]
INVISIBLE = ["\u200f", "\u200e", "\u200b", "\ufeff"]  # RTL/LTR marks, zero-width space, BOM


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def filing_number_values(draw: st.DrawFn) -> FilingNumber:
    province = draw(st.sampled_from(PROVINCES))
    licence = draw(st.sampled_from(list(Licence)))
    categories: tuple[str, ...] = ()
    if licence is Licence.FILING:
        digits = draw(st.one_of(_digits(8), _digits(8).map(lambda d: "20" + d)))
    elif licence is Licence.ICP_LICENCE:
        digits = draw(_digits(6))
    else:
        digits = draw(_digits(8))
        categories = tuple(draw(st.sampled_from([["B2"], ["B1", "B2"], ["B1"]])))
    sequence = draw(st.none() | st.integers(1, filing_numbers.MAX_SEQUENCE))
    service = None if sequence is None else draw(st.sampled_from(list(ServiceType)))
    return FilingNumber(province.abbreviation, province.code, licence, digits, categories, sequence, service)


def _full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def footer_forms(draw: st.DrawFn, number: FilingNumber) -> str:
    """``number`` written the way real footers and query boxes write it."""
    text = number.canonical
    has_hao = number.licence is not Licence.B2
    if number.abbreviation == "蜀" and draw(st.booleans()):
        text = "川" + text[1:]  # the old alias
    if number.licence is Licence.B2 and draw(st.booleans()):
        text = text[0] + "ICP证" + text[1:]  # 浙ICP证B2-…
    if has_hao and draw(st.booleans()):
        text = text.replace(
            number.licence.value, number.licence.value + draw(st.sampled_from([":", "：", " "]))
        )
    if has_hao and number.website_sequence is not None and draw(st.booleans()):
        base, suffix = text.split("号", 1)
        text = base + suffix + "号"  # 滇ICP备09010050-5号
    if has_hao and draw(st.booleans()):
        text = text.replace("号", "")
    text = "".join(draw(st.sampled_from(DASHES)) if ch == "-" else ch for ch in text)
    chars = []
    for ch in text:
        if ch.isascii() and ch.isalpha() and draw(st.booleans()):
            ch = ch.lower()
        if draw(st.integers(0, 3)) == 0:
            ch = _full_width(ch)
        chars.append(ch)
        if draw(st.integers(0, 5)) == 0:
            chars.append(draw(st.sampled_from(SPACES + INVISIBLE)))
    lead = draw(st.text(alphabet=SPACES + INVISIBLE, max_size=3))
    trail = draw(st.text(alphabet=SPACES + INVISIBLE, max_size=3))
    return lead + "".join(chars) + trail


@FAST
@given(filing_number_values(), st.data())
def test_format_then_parse_round_trips_through_footer_noise(
    number: FilingNumber, data: st.DataObject
) -> None:
    canonical = filing_numbers.format_number(number)
    assert filing_numbers.parse(canonical) == number
    assert filing_numbers.parse(canonical).canonical == canonical
    noisy = data.draw(footer_forms(number), label="footer form")
    parsed = filing_numbers.parse(noisy)
    assert parsed.canonical == canonical
    assert parsed.subject_number == filing_numbers.format_number(number.subject)
    assert parsed.province == number.province
    assert parsed.alias in (None, "川")
    assert describe.describe(noisy)["canonical"] == canonical


_ASCII_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda label: label[2:4] != "--"
)
_CJK_LABEL = st.text(alphabet="例子中国北京上海测试网络公司天气备案", min_size=1, max_size=6)
_TLDS = ["com", "cn", "net", "top", "xyz", "vip", "com.cn", "gov.cn", "中国", "公司", "io", "co.uk", "ai"]


@st.composite
def domain_names(draw: st.DrawFn) -> str:
    labels = draw(st.lists(st.one_of(_ASCII_LABEL, _CJK_LABEL), min_size=1, max_size=4))
    return ".".join([*labels, draw(st.sampled_from(_TLDS))])


@st.composite
def typed_forms(draw: st.DrawFn, name: str) -> str:
    """``name`` as a user might paste it: case, 。, trailing dot, a URL with userinfo/port/path."""
    text = "".join(ch.upper() if draw(st.booleans()) else ch for ch in name)
    text = "".join(draw(st.sampled_from([".", "。", "．"])) if ch == "." else ch for ch in text)
    if draw(st.booleans()):
        text += "."
    if draw(st.booleans()):
        scheme = draw(st.sampled_from(["http://", "https://", "HTTPS://", "ftp://"]))
        userinfo = draw(st.sampled_from(["", "user@", "user:pw@"]))
        port = draw(st.sampled_from(["", ":80", ":8443"]))
        path = draw(st.sampled_from(["", "/", "/a/b?c=1#d", "?q=例子"]))
        text = f"{scheme}{userinfo}{text}{port}{path}"
    return text


@FAST
@given(domain_names(), st.data())
def test_domain_normalisation_is_idempotent_and_ignores_how_it_was_typed(
    name: str, data: st.DataObject
) -> None:
    ascii_name = domains.normalize(name)
    assert ascii_name.isascii() and ascii_name == ascii_name.lower()
    assert domains.normalize(ascii_name) == ascii_name
    assert domains.normalize(domains.to_unicode(ascii_name)) == ascii_name
    typed = data.draw(typed_forms(name), label="typed")
    assert domains.normalize(typed) == ascii_name
    try:
        info = domains.analyze(typed)
    except RulesError as exc:
        assert exc.code == "public_suffix"  # a generated name can be a public suffix (com.cn, or the like)
        return
    assert info.ascii == ascii_name
    covering = domains.covering_names(typed)
    assert covering[0] == ascii_name
    assert covering[-1] == info.filing_name
    assert all(ascii_name.endswith(c) for c in covering)


@FAST
@given(st.text(max_size=300))
@example("①.②.③.④")
@example("example.com\u200f")
@example("ｅｘａｍｐｌｅ．ｃｏｍ")
def test_normalize_is_idempotent_on_anything_it_accepts(text: str) -> None:
    try:
        once = domains.normalize(text)
    except RulesError:
        return
    assert domains.normalize(once) == once


# Arbitrary text: everything Hypothesis likes, plus the characters real input brings.
_SPECIALS = (
    "京沪蜀川滇黔陇粤阿里云ICP备证号案-－—–:：.。．@/[]#?% \u3000\u200f\u200e\u202e\u00a0\x00"
    "0123456789１２３ＩＣＰＢＸＡＫabcxnB1B2①²٣"
)
ARBITRARY = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=_SPECIALS, max_size=80),
    st.text(alphabet=st.characters(min_codepoint=0xFF00, max_codepoint=0xFFEF), max_size=60),
    st.builds(
        lambda chunk, n: (chunk * n)[:10_000], st.text(min_size=1, max_size=10), st.integers(1000, 10_000)
    ),
    st.builds(lambda a, b: a + "://" + b, st.text(max_size=20), st.text(max_size=60)),
)
LONG = "京ICP备" + "１" * 9_994
CERTIFICATE_TYPES = sorted(natures.certificate_types())


def _total(fn, *args) -> None:
    try:
        fn(*args)
    except RulesError as exc:
        assert exc.code and exc.message_zh and exc.message_en
        assert isinstance(exc.context, dict)


@settings(max_examples=400, deadline=None)
@given(ARBITRARY)
@example("")
@example("\x00")
@example("\u200f京ICP备11018762号\u200f")
@example(LONG)
@example("x" * 10_000)
@example("http://[")
@example("[::1]:80")
@example("\ufdfa" * 300)  # expands a lot under NFKC
def test_text_functions_are_total(text: str) -> None:
    _total(filing_numbers.parse, text)
    _total(domains.analyze, text)
    _total(domains.normalize, text)
    _total(domains.covering_names, text)
    _total(describe.describe, text)
    _total(provinces.by_abbreviation, text)
    _total(provinces.by_code, text)
    _total(natures.nature, text)
    _total(natures.certificate_type, text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CERTIFICATE_TYPES), ARBITRARY)
@example("uscc", "９１３５０１００Ｍ０００１００Ｙ４３")
@example("resident_id", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X")
@example("passport", "\x00" * 10_000)
def test_certificate_numbers_are_total(certificate_type: str, text: str) -> None:
    try:
        stored = natures.normalize_certificate_number(certificate_type, text)
    except RulesError as exc:
        assert exc.code
        return
    assert stored.isascii() and 0 < len(stored) <= 64
    assert natures.normalize_certificate_number(certificate_type, stored) == stored


@settings(max_examples=100, deadline=None)
@given(ARBITRARY, st.text(max_size=20))
def test_unknown_certificate_types_are_refused(text: str, certificate_type: str) -> None:
    _total(natures.normalize_certificate_number, certificate_type, text)


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(2015, 1, 1), dt.date(2026, 11, 30)), st.integers(0, 25))
def test_add_workdays_agrees_with_chinese_calendar(start: dt.date, n: int) -> None:
    result = workdays.add_workdays(start, n)
    assert result.covered
    assert workdays.is_workday(result.date)
    if n == 0 or chinese_calendar.is_workday(start):
        assert chinese_calendar.find_workday(n, start) == result.date
    else:  # find_workday first moves to a working day; add_workdays counts the days after start
        assert chinese_calendar.find_workday(n - 1, start) == result.date
    if n:
        assert workdays.workdays_between(start, result.date) == n


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31)))
def test_hunan_batch_is_the_first_working_day_from_that_weeks_friday(submitted: dt.date) -> None:
    batch = workdays.next_friday_batch(submitted)
    friday = submitted + dt.timedelta(days=(4 - submitted.weekday()) % 7)
    assert friday.weekday() == 4 and 0 <= (friday - submitted).days <= 6
    assert batch.date >= friday
    assert workdays.is_workday(batch.date)
    assert all(
        not workdays.is_workday(friday + dt.timedelta(days=i)) for i in range((batch.date - friday).days)
    )
    last = workdays.covered_years()[1]
    assert batch.covered is (batch.date.year <= last and friday.year <= last)
    if not batch.covered:
        assert "按周一至周五估算" in batch.note_zh and "Monday to Friday assumed" in batch.note_en
