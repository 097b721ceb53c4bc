"""``beian synth``: deterministic, valid, national-looking data (no database needed)."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beian.lookup import synth
from beian.rules import domains as domain_rules
from beian.rules import filing_numbers, natures

BRANDS = ("腾讯", "阿里", "百度", "京东", "小米", "华为", "网易", "美团")


def digest(count: int, seed: int) -> str:
    out = io.StringIO()
    synth.write(out, count, seed)
    return hashlib.sha256(out.getvalue().encode()).hexdigest()


@pytest.fixture(scope="module")
def dataset() -> list[dict]:
    return [json.loads(line) for line in synth.lines(5000, seed=11)]


def test_same_seed_same_bytes_other_seed_differs():
    assert digest(400, 3) == digest(400, 3)
    assert digest(400, 3) != digest(400, 4)


def test_blocks_and_workers_do_not_change_the_output(monkeypatch):
    """Blocks are independent: generated in sequence or by two worker processes, the bytes are the same."""
    monkeypatch.setattr(synth, "BLOCK", 150)
    synth.plan.cache_clear()
    try:
        serial = "".join(synth.blocks(701, 9))
        parallel = "".join(synth.blocks(701, 9, jobs=2))
        assert synth.plan(701, 9).blocks == 5
    finally:
        synth.plan.cache_clear()
    assert serial == parallel
    assert len(serial.splitlines()) == 701


def test_every_line_is_canonical_json(dataset):
    """Lines are assembled as text: they must be exactly what json.dumps would write."""
    for line in synth.lines(1500, seed=11):
        assert json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":")) == line


def test_numbers_parse_and_are_unique(dataset):
    subjects, websites = set(), set()
    formats = collections.Counter()
    for s in dataset:
        number = filing_numbers.parse(s["number"])
        assert number.canonical == s["number"] and number.is_subject
        assert number.province == s["province"]
        assert number.licence is filing_numbers.Licence.FILING
        formats[len(number.digits)] += 1
        year = int(s["approved_at"][:4])
        assert number.year == year
        assert (len(number.digits) == 10) == (year >= 2020)
        subjects.add(s["number"])
        for n, w in enumerate(s["websites"], start=1):
            site = filing_numbers.parse(w["number"])
            assert site.canonical == w["number"]
            assert site.subject_number == s["number"] and site.website_sequence == n
            assert (site.service_type or "website") == w["service_type"]
            websites.add(w["number"])
    assert len(subjects) == len(dataset)
    assert len(websites) == sum(len(s["websites"]) for s in dataset)
    assert formats[8] > 1000 and formats[10] > 1000  # both digit formats


def test_domains_are_valid_unique_and_on_approved_tlds(dataset):
    names = [d["name"] for s in dataset for w in s["websites"] for d in w["domains"]]
    filing = []
    for i, name in enumerate(names):
        if name.isascii() and i % 10:  # the fast path (checked against analyze below) for most
            from beian.registry.bulk import domain_name

            filing.append(domain_name(name)[0])
            continue
        info = domain_rules.analyze(name)
        assert info.tld_approved, name
        filing.append(info.filing_name)
    assert len(set(filing)) == len(filing)  # one filing per domain nationwide
    tlds = {f.rsplit(".", 1)[-1] for f in filing}
    assert tlds <= domain_rules.approved_tlds()
    assert any(not n.isascii() for n in names)  # IDN (中文域名)
    assert any(n.endswith(".gov.cn") for n in names)


def test_certificates_valid_and_live_ones_unique(dataset):
    live = set()
    types = collections.Counter()
    for s in dataset:
        n, c = natures.check_pair(s["nature"], s["certificate_type"])
        assert (
            natures.normalize_certificate_number(c.code, s["certificate_number"]) == s["certificate_number"]
        )
        types[c.code] += 1
        if s["status"] == "active":
            key = (c.code, s["certificate_number"])
            assert key not in live
            live.add(key)
    assert types["uscc"] > types["resident_id"] > types["org_code"] > 0


def test_national_shape(dataset):
    count = len(dataset)
    provinces = collections.Counter(s["province"] for s in dataset)
    big = {code for code, _ in provinces.most_common(6)}
    assert big == {"44", "11", "33", "32", "31", "37"}  # 广东 北京 浙江 江苏 上海 山东
    assert provinces.most_common(1)[0][0] == "44"
    assert 0.12 < provinces["44"] / count < 0.18
    for small in ("54", "63", "64"):  # 西藏 青海 宁夏
        assert provinces[small] / count < 0.01
    assert len(provinces) >= 30
    nature = collections.Counter(s["nature"] for s in dataset)
    assert nature.most_common(2) == [
        ("enterprise", nature["enterprise"]),
        ("individual", nature["individual"]),
    ]
    assert 0.5 < nature["enterprise"] / count < 0.7 and 0.2 < nature["individual"] / count < 0.4
    assert {"institution", "government", "social_organization"} <= set(nature)
    cancelled = sum(s["status"] == "cancelled" for s in dataset)
    assert 0.03 < cancelled / count < 0.07
    websites = [w for s in dataset for w in s["websites"]]
    assert 1.4 < len(websites) / count < 2.0
    assert sum(w["served_here"] for w in websites) / len(websites) > 0.85
    suffixes = collections.Counter(w["number"][-1] for w in websites)
    assert suffixes["A"] and suffixes["X"]  # apps and mini-programs share the sequence
    legacy = [w for w in websites if len(w["domains"]) > 1]
    assert legacy and all(w["approved_at"] < "2019-04-22" for w in legacy)  # multi-domain: old filings only
    for brand in BRANDS:  # two-character searches find something
        assert sum(brand in s["name"] for s in dataset) >= 3, brand


def test_cancelled_filings_are_consistent(dataset):
    for s in dataset:
        for w in s["websites"]:
            if s["status"] == "cancelled":
                assert w["status"] == "cancelled"
            if w["status"] == "cancelled":
                assert not w["served_here"] and w["cancelled_at"] >= w["approved_at"]
                assert all(d["status"] == "released" for d in w["domains"])
            else:
                assert all(d["status"] == "active" for d in w["domains"])
        if s["status"] == "cancelled":
            assert s["cancelled_at"] >= s["approved_at"] and s["filing_password_hash"] == ""
        else:
            assert s["filing_password_hash"].startswith("$argon2id$")
        assert dt.datetime.fromisoformat(s["approved_at"]).date() <= synth.AS_OF


def test_filing_password_is_documented():
    from argon2 import PasswordHasher

    hashes = synth.password_hashes(7)
    assert PasswordHasher().verify(hashes[2], "Synth-7-2")


def test_the_importer_reads_every_line(dataset):
    from beian.registry.bulk import parse_line

    for i, line in enumerate(synth.lines(1000, seed=11), start=1):
        parse_line(line.encode(), i)  # raises LineInvalid on anything it would reject


# --- the importer's fast domain path must agree with rules.domains.analyze --------------------------------------
LABEL = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,12}[a-zA-Z0-9]|[a-z0-9]", fullmatch=True)
SUFFIX = st.sampled_from(
    [
        "com",
        "cn",
        "com.cn",
        "gov.cn",
        "edu.cn",
        "net",
        "xyz",
        "io",
        "ck",
        "bd",
        "uk",
        "co.uk",
        "unknowntld",
        "中国",
    ]
)


@settings(max_examples=200, deadline=None)
@given(labels=st.lists(LABEL, min_size=0, max_size=3), suffix=SUFFIX, upper=st.booleans())
def test_fast_domain_path_agrees_with_analyze(labels, suffix, upper):
    from beian.registry.bulk import LineInvalid, domain_name

    text = ".".join([*labels, suffix])
    text = text.upper() if upper else text
    try:
        info = domain_rules.analyze(text)
        expected = (info.filing_name, domain_rules.to_unicode(info.filing_name))
    except domain_rules.DomainError as exc:
        with pytest.raises(LineInvalid) as caught:
            domain_name(text)
        assert caught.value.code == exc.code
        return
    assert domain_name(text) == expected
