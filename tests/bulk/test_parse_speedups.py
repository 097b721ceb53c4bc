"""The import's faster parsing reads every line as before: orjson judged as the json module reads the line,
the domain-name and check-character shortcuts equal to the full computation."""

from __future__ import annotations

import io
import json
import random

import pytest

from beian.lookup import synth
from beian.registry import bulk
from beian.registry.models import Subject
from beian.rules import domains, natures
from beian.rules.errors import RulesError
from tests import factories as f
from tests.bulk.conftest import write_lines
from tests.bulk.test_import import line


def _outcome(parse, *args):
    """What parsing a line gives: its record's fields, or the error (code and both messages)."""
    try:
        rec = parse(*args)
    except bulk.LineInvalid as exc:
        return ("error", exc.code, exc.message_zh, exc.message_en)
    websites = [(w.number, w.sequence, w.values, [(d.name, d.unicode, d.status, d.times) for d in w.domains])
                for w in rec.websites]  # fmt: skip
    return ("ok", rec.number, rec.counter, rec.values, rec.owner, websites)


def _as_json_module_reads(raw: bytes | str, n: int):
    """The reference: the line read by the json module (as the import did before orjson)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return ("error", "bad_json", f"不是有效的 JSON（{exc}）", f"Not valid JSON ({exc})")
    return _outcome(bulk._parse_data, data, n)


def _text(item: dict) -> str:
    return json.dumps(item, ensure_ascii=False)


def _passport(n: int, number) -> dict:
    item = line(n)
    item.update(nature="individual", certificate_type="passport", certificate_number=number)
    return item


BIG = 123456789012345678901234567890  # beyond 64 bits: orjson reads it as a float, json as an int
TRICKY = [
    _text(line(1)),
    _text(line(2, sites=3)).replace('"websites"', '"extra": NaN, "websites"'),  # json reads NaN: ignored key
    _text(line(3)).replace('"websites"', '"extra": -Infinity, "big": 1e400, "websites"'),
    _text({**line(4), "province": 11}),  # a number where text is expected, the right province
    _text(line(5)).replace("{", f'{{"province": {BIG}, ', 1),
    _text({**line(6), "website_counter": 0}).replace('"website_counter": 0', f'"website_counter": {BIG}'),
    _text(_passport(7, "E12345678")).replace('"E12345678"', "123456789012345678901"),  # json: an int, valid
    _text(_passport(8, "E12345678")).replace('"E12345678"', str(BIG)),
    _text(_passport(9, "E12345678")).replace('"E12345678"', "-9223372036854775809"),
    _text({**line(10), "status": "x"}).replace('"x"', str(BIG)),  # the refusal quotes the value
    _text({**line(11), "owner": "x"}).replace('"x"', str(-BIG)),
    _text(line(12)).replace('"name": "测试12科技有限公司"', '"name": "测试\\ud800公司"'),  # a lone surrogate
    _text(line(13)).replace(
        '"name": "测试13科技有限公司"', '"name": "a", "name": "测试公司"'
    ),  # repeated key
    '{"number": "京ICP备2024000014号", ',  # broken
    '{"number": "京ICP备2024000015号"} trailing',
    '{"a": "\x01"}',  # a control character inside a string
    "[1, 2]",
    "null",
    "17",
    "",
]


@pytest.mark.parametrize("text", TRICKY)
def test_a_line_is_judged_as_the_json_module_reads_it(text):
    raw = (text + "\n").encode("utf-8", "surrogatepass")
    assert _outcome(bulk.parse_line, raw, 5) == _as_json_module_reads(raw, 5)
    assert _outcome(bulk.parse_line, text, 5) == _as_json_module_reads(text, 5)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "\xff"}\n',  # not UTF-8
        _text(line(20)).encode("utf-16"),  # another encoding the json module recognises
        b"\xef\xbb\xbf" + _text(line(21)).encode(),  # a byte order mark
    ],
)
def test_bytes_orjson_refuses_are_read_by_the_json_module(raw):
    assert _outcome(bulk.parse_line, raw, 5) == _as_json_module_reads(raw, 5)


def test_synthetic_lines_parse_as_with_the_json_module():
    out = io.StringIO()
    synth.write(out, 400, 3)
    for n, text in enumerate(out.getvalue().splitlines(), start=1):
        raw = text.encode()
        expected = _as_json_module_reads(raw, n)
        assert expected[0] == "ok"
        assert _outcome(bulk.parse_line, raw, n) == expected


@pytest.mark.django_db(transaction=True)
def test_import_keeps_what_the_json_module_accepts_and_its_error_words(tmp_path):
    """A value only the json module reads (NaN in a key the format ignores, a 21-digit passport number
    written as a JSON number) is imported; a broken line's error says what the json module says."""
    passport = _text(_passport(2, "E12345678")).replace('"E12345678"', "123456789012345678901")
    path = write_lines(
        tmp_path / "tricky.jsonl",
        [
            _text(line(1)).replace('"websites"', '"extra": NaN, "websites"'),
            passport,
            '{"number": "京ICP备2024000003号", ',
        ],
    )
    seen = []
    summary = bulk.import_jsonl(path, on_error=seen.append)
    assert (summary.inserted, summary.failed) == (2, 1)
    assert Subject.objects.get(number=line(2)["number"]).certificate_number == "123456789012345678901"
    (error,) = seen
    assert error.line == 3 and error.code == "bad_json"
    try:
        json.loads('{"number": "京ICP备2024000003号", \n')  # as the line is read: with its newline
    except ValueError as exc:
        words = str(exc)
    assert f"Not valid JSON ({words})" in str(error)


# --- check characters -----------------------------------------------------------------------------------------
def _uscc_reference(first17):
    chars = natures._USCC_CHARS
    total = sum(chars.index(ch) * w for ch, w in zip(first17, natures._USCC_WEIGHTS, strict=True))
    return chars[(31 - total % 31) % 31]


def _id_reference(first17):
    return natures._ID_CHECK[
        sum(int(ch) * w for ch, w in zip(first17, natures._ID_WEIGHTS, strict=True)) % 11
    ]


def _result(fn, arg):
    try:
        return ("ok", fn(arg))
    except Exception as exc:  # the same exception type and words as the reference
        return ("raises", type(exc), str(exc))


def test_check_characters_equal_the_plain_computation():
    rng = random.Random(11)
    uscc_inputs = ["".join(rng.choice(natures._USCC_CHARS) for _ in range(17)) for _ in range(3000)]
    id_inputs = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(3000)]
    odd = ["", "1" * 16, "1" * 18, "I" * 17, "0" * 16 + "O", "a" * 17, "١" * 17, "１" * 17, "0" * 16 + "X"]
    odd += [list("9" * 17), ["1"] * 16 + [[]], tuple("0123456789ABCDEFG"), None]
    for value in uscc_inputs + odd:
        assert _result(natures.uscc_check_char, value) == _result(_uscc_reference, value), value
    for value in id_inputs + odd:
        assert _result(natures.resident_id_check_char, value) == _result(_id_reference, value), value
    # and the numbers the factories make (valid ones) are still accepted, a changed check character refused
    for n in range(200):
        number = f.uscc(n)
        assert natures.normalize_certificate_number("uscc", number) == number
        wrong = number[:17] + ("0" if number[17] != "0" else "1")
        with pytest.raises(RulesError) as info:
            natures.normalize_certificate_number("uscc", wrong)
        assert info.value.code == "bad_uscc_check"


# --- domain names -----------------------------------------------------------------------------------------------
def _synthetic_names() -> list[str]:
    out = io.StringIO()
    synth.write(out, 400, 5)
    names = []
    for text in out.getvalue().splitlines():
        for site in json.loads(text).get("websites") or []:
            for item in site.get("domains") or []:
                names.append(item if isinstance(item, str) else item["name"])
    return names


def _variants(name: str) -> list[str]:
    return [name, name.upper(), f"www.{name}", f"https://a.b.{name}:8443/x", f"{name}.", f"m.{name}".title()]


EDGE_NAMES = [
    "example.gov.cn", "www.example.gov.cn", "gov.cn", "com.cn", "example.com.cn", "a.example.co.uk", "co.uk",
    "example.invalidtld", "xn--fiqs8s", "xn--55qx5d.xn--fiqs8s", "www.xn--55qx5d.xn--fiqs8s", "例子.中国",
    "www.例子.公司", "ab--cd.com", "xn--abc.com", "-a.com", "a-.com", "1.2.3.4", "localhost", "a..com", "",
    "a" * 64 + ".com", ".".join(["a" * 60] * 5) + ".com", "ＥＸＡＭＰＬＥ．ＣＯＭ", "city.kawasaki.jp",
    "x.city.kawasaki.jp", "a.b.kawasaki.jp", "foo.ck", "www.ck", "a.www.ck", "数字1.net", "bad_label.com",
]  # fmt: skip


def _filing(fn, text):
    try:
        return ("ok", fn(text))
    except RulesError as exc:
        return ("error", exc.code, exc.message_zh, exc.message_en)


def test_filing_name_and_unicode_equal_the_full_analysis():
    names = [v for name in _synthetic_names() for v in _variants(name)] + EDGE_NAMES
    assert any(not n.isascii() for n in names)  # Chinese names are among them
    domains._label_to_ascii.cache_clear()
    for _ in range(2):  # the second round with the label cache warm
        for text in names:
            full = _filing(lambda t: domains.analyze(t).filing_name, text)
            assert _filing(domains.filing_name, text) == full, text
            pair = _filing(domains.filing_name_and_unicode, text)
            if full[0] == "ok":
                assert pair == ("ok", (full[1], domains.to_unicode(full[1]))), text
            else:
                assert pair == full, text


def test_an_invalid_label_is_refused_every_time():
    """An error is never remembered as an answer: the same bad label fails again, with the same words."""
    first = _filing(domains.filing_name, "a\u00a0b.中国")
    assert first[0] == "error"
    assert _filing(domains.filing_name, "a\u00a0b.中国") == first


@pytest.mark.django_db(transaction=True)
def test_whitespace_lines_are_skipped_and_new_owners_get_distinct_unusable_passwords(tmp_path):
    from beian.accounts.models import User

    items = [line(1, owner="alice"), "   \t", "\r", line(2, owner="bob"), line(3, owner="carol"), "{broken"]
    seen = []
    summary = bulk.import_jsonl(write_lines(tmp_path / "owners.jsonl", items), on_error=seen.append)
    assert (summary.lines, summary.inserted, [(e.line, e.code) for e in seen]) == (4, 3, [(6, "bad_json")])
    owners = list(User.objects.filter(username__in=["alice", "bob", "carol"]))
    assert len(owners) == 3
    assert not any(u.has_usable_password() for u in owners)
    passwords = {u.password for u in owners}
    assert len(passwords) == 3 and all(p.startswith("!") and len(p) == 41 for p in passwords)
