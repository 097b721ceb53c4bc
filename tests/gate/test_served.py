"""The gate's hot path without a database: host normalisation, the names a filing covers, the served set.

Pure and fast: no Django, no I/O. The Hypothesis property ties the gate's fast ASCII path to the rules
package, so that a Host header is read exactly as a filing's domain is.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from beian.gate.served import ServedSet, candidates, normalize_host
from beian.rules import domains
from beian.rules.errors import DomainError

# -- normalize_host ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("WWW.EXAMPLE.COM", "www.example.com"),
        ("example.com.", "example.com"),  # the absolute form
        ("Example.Com.", "example.com"),
        ("example.com:8080", "example.com"),
        ("example.com:443", "example.com"),
        ("example.com.:8080", "example.com"),
        (" example.com ", "example.com"),
        ("a.123", "a.123"),  # digits in the TLD position only: a name, not an address
        ("123.com", "123.com"),
        ("3com.com", "3com.com"),
        ("a-b.example.cn", "a-b.example.cn"),
        ("例子.中国", "xn--fsqu00a.xn--fiqs8s"),  # IDN: stored and matched as the A-label
        ("例子.中国.", "xn--fsqu00a.xn--fiqs8s"),
        ("例子.中国:8443", "xn--fsqu00a.xn--fiqs8s"),
        ("WWW.例子.中国", "www.xn--fsqu00a.xn--fiqs8s"),
        ("xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s"),  # already punycode
        ("XN--FSQU00A.XN--FIQS8S", "xn--fsqu00a.xn--fiqs8s"),
        ("www.xn--fsqu00a.xn--fiqs8s", "www.xn--fsqu00a.xn--fiqs8s"),
        ("例子。中国", "xn--fsqu00a.xn--fiqs8s"),  # full-width ideographic full stop
        ("例子．中国", "xn--fsqu00a.xn--fiqs8s"),  # full-width full stop
        ("example。com", "example.com"),
        ("ＥＸＡＭＰＬＥ.com", "example.com"),  # full-width Latin letters map as in filings
        ("敦煌笔记.中国", "xn--9cvu8xwzh7jr.xn--fiqs8s"),
    ],
)
def test_normalize_host_accepts(raw, expected):
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        # IP literals are never filed
        "1.2.3.4",
        "1.2.3.4:80",
        "127.0.0.1",
        "10.0.0.1.",
        "1.2.3",  # shorthand IPv4 forms are not names either
        "[::1]",
        "[::1]:8080",
        "[2001:db8::1]",
        "::1",
        "2001:db8::1",
        # malformed
        None,
        "",
        " ",
        ".",
        "a..b",
        "example..com",
        ".example.com",
        "-a.com",
        "a-.com",
        "www.-a.com",
        "a" * 64 + ".com",
        "www." + "b" * 64 + ".cn",
        "a b.com",
        "exa\tmple.com",
        "a_b.com",
        "localhost",  # one label: no TLD
        "example.com:abc",
        "example.com:80:80",
        "xn--zz.com",  # not a valid A-label
        ("a" * 63 + ".") * 4 + "com",  # 256 characters: too long
        # not a host name at all: an authority with user info, a path, a query
        "someone@example.com",
        "evil.example@example.com",
        "example.com/path",
        "example.com?x=1",
    ],
)
def test_normalize_host_rejects(raw):
    assert normalize_host(raw) is None


def test_normalize_host_label_lengths():
    assert normalize_host("a" * 63 + ".com") == "a" * 63 + ".com"
    assert normalize_host("a" * 64 + ".com") is None
    name = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters: the longest name
    assert len(name) == 253 and normalize_host(name) == name


def test_normalize_host_empty_port_is_the_name():
    """RFC 3986/9110: ``port = *DIGIT`` — ``example.com:`` is a valid Host and means example.com (as in
    ``rules.domains.normalize``)."""
    assert normalize_host("example.com:") == "example.com"


# -- the fast ASCII path agrees with the rules package --------------------------------------------------------

LDH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
labels = st.one_of(
    st.text(alphabet=LDH, min_size=1, max_size=12),
    st.text(alphabet=LDH, min_size=60, max_size=66),  # around the 63-character limit
    st.text(alphabet="0123456789", min_size=1, max_size=3),  # IPv4-like
    st.sampled_from(["www", "xn--fsqu00a", "xn--fiqs8s", "com", "cn", "gov", "XN--ZZ", "a_b", ""]),
)


@st.composite
def ascii_hosts(draw: st.DrawFn) -> str:
    host = ".".join(draw(st.lists(labels, min_size=1, max_size=5)))
    if draw(st.booleans()):
        host += "."
    if draw(st.booleans()):
        host += ":" + str(draw(st.integers(0, 65535)))
    return host


def _is_ip_literal(text: str) -> bool:
    host = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    try:
        ipaddress.ip_address(host.strip("[]").rstrip("."))
        return True
    except ValueError:
        return False


@settings(max_examples=1500, deadline=None)
@given(ascii_hosts())
@example("www.example.com")
@example("EXAMPLE.CN.:80")
@example("1.2.3.4")
@example("ab--cd.com")  # hyphens in the 3rd and 4th position (a reserved label under IDNA 2008)
@example("xn--fsqu00a.xn--fiqs8s")
def test_normalize_host_agrees_with_rules_normalize(raw):
    try:
        expected = domains.normalize(raw)
    except DomainError:
        expected = None
    got = normalize_host(raw)
    if expected is None:
        assert got is None, f"the gate reads {raw!r} as {got!r}; a filing refuses it"
    elif _is_ip_literal(raw):  # pragma: no cover - normalize refuses IP literals
        assert got is None
    else:
        assert got == expected


@settings(max_examples=300, deadline=None)
@given(ascii_hosts())
def test_normalize_host_is_idempotent(raw):
    once = normalize_host(raw)
    if once is not None:
        assert normalize_host(once) == once


# -- candidates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", ["example.com"]),
        ("www.example.com", ["www.example.com", "example.com"]),
        ("a.b.example.com", ["a.b.example.com", "b.example.com", "example.com"]),
        ("www.example.com.cn", ["www.example.com.cn", "example.com.cn", "com.cn"]),
        ("www.xn--fsqu00a.xn--fiqs8s", ["www.xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s"]),
        # .gov.cn: each name needs its own filing; a parent never covers its subdomains
        ("www.foo.gov.cn", ["www.foo.gov.cn"]),
        ("foo.gov.cn", ["foo.gov.cn"]),
        ("a.www.foo.gov.cn", ["a.www.foo.gov.cn"]),
        ("www.foo.bj.gov.cn", ["www.foo.bj.gov.cn"]),
    ],
)
def test_candidates(host, expected):
    assert list(candidates(host)) == expected


def test_candidates_never_the_tld():
    for host in ["a.com", "a.b.c.d.cn", "x.xn--fiqs8s"]:
        names = list(candidates(host))
        assert host.rsplit(".", 1)[1] not in names
        assert names[0] == host


# -- ServedSet -----------------------------------------------------------------------------------------------


def served(*names: str, position: int = 0) -> ServedSet:
    s = ServedSet()
    s.replace(names, position)
    return s


def test_new_set_is_not_loaded():
    s = ServedSet()
    assert not s.loaded and len(s) == 0 and s.position == 0 and s.lag() is None
    assert s.match("example.com") is None


def test_replace_loads_and_matches_host_and_subdomains():
    s = served("example.com", "xn--fsqu00a.xn--fiqs8s", "foo.gov.cn", position=7)
    assert s.loaded and s.position == 7 and len(s) == 3 and s.reloads == 1
    assert s.loaded_at is not None and s.lag() is not None and s.lag() < 5
    assert s.match("example.com") == "example.com"
    assert s.match("www.example.com") == "example.com"
    assert s.match("a.b.c.example.com") == "example.com"
    assert s.match("www.xn--fsqu00a.xn--fiqs8s") == "xn--fsqu00a.xn--fiqs8s"
    assert s.match("example.net") is None
    assert s.match("notexample.com") is None
    assert s.match("example.com.evil.cn") is None
    assert s.match("com") is None
    # .gov.cn: the exact name only
    assert s.match("foo.gov.cn") == "foo.gov.cn"
    assert s.match("www.foo.gov.cn") is None


def test_gov_cn_subdomain_served_only_when_filed_itself():
    s = served("foo.gov.cn")
    assert s.match("www.foo.gov.cn") is None
    s.apply([(1, "www.foo.gov.cn", "allow")])
    assert s.match("www.foo.gov.cn") == "www.foo.gov.cn"
    assert s.match("mail.foo.gov.cn") is None
    assert s.match("a.www.foo.gov.cn") is None


def test_replace_swaps_the_whole_set():
    s = served("a.cn", "b.cn", position=3)
    s.replace(["c.cn"], 10)
    assert s.match("a.cn") is None and s.match("c.cn") == "c.cn"
    assert len(s) == 1 and s.position == 10 and s.reloads == 2


def test_apply_in_order():
    s = served("a.cn", position=5)
    applied = s.apply([(6, "b.cn", "allow"), (7, "a.cn", "deny"), (8, "c.cn", "allow"), (9, "c.cn", "deny")])
    assert applied == 4 and s.applied == 4 and s.position == 9
    assert s.match("a.cn") is None and s.match("b.cn") == "b.cn" and s.match("c.cn") is None
    assert len(s) == 1


def test_apply_allow_after_deny_of_same_domain():
    s = served("a.cn", position=1)
    s.apply([(2, "a.cn", "deny"), (3, "a.cn", "allow")])
    assert s.match("www.a.cn") == "a.cn"


def test_apply_ignores_stale_entries():
    s = served("a.cn", position=10)
    assert s.apply([(9, "a.cn", "deny"), (10, "a.cn", "deny"), (3, "z.cn", "allow")]) == 0
    assert s.position == 10 and s.match("a.cn") == "a.cn" and s.match("z.cn") is None
    # a batch that overlaps what was applied: only the new part counts
    assert s.apply([(10, "a.cn", "deny"), (11, "b.cn", "allow")]) == 1
    assert s.position == 11 and s.match("a.cn") == "a.cn" and s.match("b.cn") == "b.cn"


def test_apply_updates_sync_time_even_without_news():
    s = served("a.cn", position=4)
    s.synced_at = 0.0
    assert s.apply([]) == 0
    assert s.synced_at > 0 and s.lag() < 5


def test_deny_of_unknown_domain_is_harmless():
    s = served("a.cn", position=1)
    s.apply([(2, "never-filed.cn", "deny")])
    assert len(s) == 1 and s.position == 2


def test_match_takes_normalised_hosts_from_normalize_host():
    s = served("xn--fsqu00a.xn--fiqs8s", "example.com")
    for raw in ["WWW.例子.中国", "例子。中国.", "Www.Example.Com.:8080"]:
        host = normalize_host(raw)
        assert host is not None and s.match(host) is not None, raw
