"""Domain names as a filing sees them (DOMAIN.md, "Domains")."""

from __future__ import annotations

import pytest

from beian.rules import domains
from beian.rules.domains import Scope
from beian.rules.errors import DomainError, RulesError

# (what a user types, A-label, registrable (or the exact name for .gov.cn), tld, tld_approved, scope)
ANALYSES = [
    ("example.com", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("Example.COM", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("example.com.", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("EXAMPLE.COM:8080", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("https://www.Example.com/", "www.example.com", "example.com", "com", True, Scope.REGISTRABLE),
    (
        "https://user:pw@www.Example.com:8443/a/b?c=1#d",
        "www.example.com",
        "example.com",
        "com",
        True,
        Scope.REGISTRABLE,
    ),
    ("user@example.com", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("ftp://files.example.net/pub", "files.example.net", "example.net", "net", True, Scope.REGISTRABLE),
    ("//example.com/x", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("example.com/path?q=1", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("www。example。com", "www.example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ", "www.example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("\u200fexample.com\u200f", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    ("  example.com  ", "example.com", "example.com", "com", True, Scope.REGISTRABLE),
    # public suffix list: second-level public suffixes under .cn and elsewhere
    ("www.example.com.cn", "www.example.com.cn", "example.com.cn", "cn", True, Scope.REGISTRABLE),
    ("news.sina.com.cn", "news.sina.com.cn", "sina.com.cn", "cn", True, Scope.REGISTRABLE),
    ("www.pku.edu.cn", "www.pku.edu.cn", "pku.edu.cn", "cn", True, Scope.REGISTRABLE),
    ("a.b.example.co.uk", "a.b.example.co.uk", "example.co.uk", "uk", False, Scope.REGISTRABLE),
    # well-known sites
    ("www.baidu.com", "www.baidu.com", "baidu.com", "com", True, Scope.REGISTRABLE),
    ("https://www.qq.com/", "www.qq.com", "qq.com", "com", True, Scope.REGISTRABLE),
    ("www.taobao.com", "www.taobao.com", "taobao.com", "com", True, Scope.REGISTRABLE),
    ("www.163.com", "www.163.com", "163.com", "com", True, Scope.REGISTRABLE),
    ("space.bilibili.com", "space.bilibili.com", "bilibili.com", "com", True, Scope.REGISTRABLE),
    ("www.aliyun.com", "www.aliyun.com", "aliyun.com", "com", True, Scope.REGISTRABLE),
    # .gov.cn: each name needs its own filing
    ("https://beian.miit.gov.cn/", "beian.miit.gov.cn", "beian.miit.gov.cn", "cn", True, Scope.EXACT),
    ("www.miit.gov.cn", "www.miit.gov.cn", "www.miit.gov.cn", "cn", True, Scope.EXACT),
    ("miit.gov.cn", "miit.gov.cn", "miit.gov.cn", "cn", True, Scope.EXACT),
    ("www.gov.cn", "www.gov.cn", "www.gov.cn", "cn", True, Scope.EXACT),
    # IDN: store the A-label
    ("例子.中国", "xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s", "xn--fiqs8s", True, Scope.REGISTRABLE),
    ("例子。中国", "xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s", "xn--fiqs8s", True, Scope.REGISTRABLE),
    (
        "https://www.例子.中国/",
        "www.xn--fsqu00a.xn--fiqs8s",
        "xn--fsqu00a.xn--fiqs8s",
        "xn--fiqs8s",
        True,
        Scope.REGISTRABLE,
    ),
    (
        "WWW.例子.中国.",
        "www.xn--fsqu00a.xn--fiqs8s",
        "xn--fsqu00a.xn--fiqs8s",
        "xn--fiqs8s",
        True,
        Scope.REGISTRABLE,
    ),
    (
        "xn--fsqu00a.xn--fiqs8s",
        "xn--fsqu00a.xn--fiqs8s",
        "xn--fsqu00a.xn--fiqs8s",
        "xn--fiqs8s",
        True,
        Scope.REGISTRABLE,
    ),
    ("例子.公司", "xn--fsqu00a.xn--55qx5d", "xn--fsqu00a.xn--55qx5d", "xn--55qx5d", True, Scope.REGISTRABLE),
    ("例子.网络", "xn--fsqu00a.xn--io0a7i", "xn--fsqu00a.xn--io0a7i", "xn--io0a7i", True, Scope.REGISTRABLE),
    ("例子.cn", "xn--fsqu00a.cn", "xn--fsqu00a.cn", "cn", True, Scope.REGISTRABLE),
    # approved and unapproved TLDs
    ("example.cn", "example.cn", "example.cn", "cn", True, Scope.REGISTRABLE),
    ("example.net", "example.net", "example.net", "net", True, Scope.REGISTRABLE),
    ("example.top", "example.top", "example.top", "top", True, Scope.REGISTRABLE),
    ("example.xyz", "example.xyz", "example.xyz", "xyz", True, Scope.REGISTRABLE),
    ("example.vip", "example.vip", "example.vip", "vip", True, Scope.REGISTRABLE),
    ("example.shop", "example.shop", "example.shop", "shop", True, Scope.REGISTRABLE),
    ("example.ltd", "example.ltd", "example.ltd", "ltd", True, Scope.REGISTRABLE),
    ("example.cc", "example.cc", "example.cc", "cc", True, Scope.REGISTRABLE),
    ("example.tv", "example.tv", "example.tv", "tv", True, Scope.REGISTRABLE),
    ("example.io", "example.io", "example.io", "io", False, Scope.REGISTRABLE),
    ("example.me", "example.me", "example.me", "me", False, Scope.REGISTRABLE),
    ("example.co", "example.co", "example.co", "co", False, Scope.REGISTRABLE),
    ("example.so", "example.so", "example.so", "so", False, Scope.REGISTRABLE),
    ("example.biz", "example.biz", "example.biz", "biz", False, Scope.REGISTRABLE),
    ("example.asia", "example.asia", "example.asia", "asia", False, Scope.REGISTRABLE),
    ("example.ai", "example.ai", "example.ai", "ai", False, Scope.REGISTRABLE),
    ("example.jp", "example.jp", "example.jp", "jp", False, Scope.REGISTRABLE),
    ("example.hk", "example.hk", "example.hk", "hk", False, Scope.REGISTRABLE),
    ("example.tw", "example.tw", "example.tw", "tw", False, Scope.REGISTRABLE),
]


@pytest.mark.parametrize(("text", "ascii_name", "registrable", "tld", "approved", "scope"), ANALYSES)
def test_analyze(text, ascii_name, registrable, tld, approved, scope) -> None:
    d = domains.analyze(text)
    assert d.ascii == ascii_name
    assert d.registrable == registrable
    assert d.tld == tld
    assert d.tld_approved is approved
    assert d.scope is scope
    assert domains.normalize(text) == ascii_name
    assert d.filing_name == (ascii_name if scope is Scope.EXACT else registrable)


def test_idn_is_stored_as_a_label_and_shown_as_u_label() -> None:
    d = domains.analyze("https://www.例子.中国/")
    assert d.ascii == "www.xn--fsqu00a.xn--fiqs8s"
    assert d.unicode == "www.例子.中国"
    assert domains.to_unicode("xn--fsqu00a.xn--fiqs8s") == "例子.中国"
    assert domains.to_unicode("example.com") == "example.com"
    assert domains.to_unicode("xn--zz.com") == "xn--zz.com"  # does not decode: shown as it is


def test_is_registrable() -> None:
    assert domains.analyze("example.com.cn").is_registrable
    assert not domains.analyze("www.example.com.cn").is_registrable


def test_approved_and_refused_lists_are_disjoint_data() -> None:
    approved = domains.approved_tlds()
    for tld in ("com", "cn", "net", "top", "xyz", "vip", "shop", "ltd", "cc", "tv"):
        assert tld in approved
    for tld in ("中国", "公司", "网络"):
        assert domains.normalize(f"example.{tld}").split(".")[-1] in approved
    for tld in ("io", "me", "co", "so", "biz", "asia", "hk", "tw", "jp", "ai"):
        assert tld not in approved
    assert domains.tld_data_checked()


@pytest.mark.parametrize(
    ("host", "covering"),
    [
        ("www.a.example.com", ("www.a.example.com", "a.example.com", "example.com")),
        ("example.com", ("example.com",)),
        ("https://WWW.Example.com.cn:443/", ("www.example.com.cn", "example.com.cn")),
        ("www.例子.中国", ("www.xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s")),
        ("www.beijing.gov.cn", ("www.beijing.gov.cn",)),
        ("a.b.miit.gov.cn", ("a.b.miit.gov.cn",)),
    ],
)
def test_covering_names(host: str, covering: tuple[str, ...]) -> None:
    assert domains.covering_names(host) == covering


def _label_message(label: str) -> tuple[str, str]:
    return (
        f"域名中的“{label}”无效：每一部分 1–63 个字符，只能使用字母、数字和连字符，且不能以连字符开头或结尾",
        f"Label {label!r} is not valid: 1-63 letters, digits or hyphens, not starting or ending with a hyphen",
    )


IP_ZH, IP_EN = "IP 地址不能备案，请输入域名", "An IP address cannot be filed: enter a domain name"
LONG_LABEL = "a" * 64

# (input, code, message_zh, message_en)
REFUSALS = [
    ("192.168.1.1", "ip_address", IP_ZH, IP_EN),
    ("8.8.8.8.", "ip_address", IP_ZH, IP_EN),
    ("http://192.168.1.1:8080/admin", "ip_address", IP_ZH, IP_EN),
    ("1.2.3.4:80", "ip_address", IP_ZH, IP_EN),
    ("１２７．０．０．１", "ip_address", IP_ZH, IP_EN),
    ("①.②.③.④", "ip_address", IP_ZH, IP_EN),
    ("2001:db8::1", "ip_address", IP_ZH, IP_EN),
    ("::1", "ip_address", IP_ZH, IP_EN),
    ("[::1]", "ip_address", IP_ZH, IP_EN),
    ("http://[2001:db8::1]:8080/", "ip_address", IP_ZH, IP_EN),
    ("https://[::ffff:1.2.3.4]/index.html", "ip_address", IP_ZH, IP_EN),
    (
        "com.cn",
        "public_suffix",
        "“com.cn”是公共后缀，不能单独备案，请输入其下的域名，例如 example.com.cn",
        "'com.cn' is a public suffix and cannot be filed; enter a name under it, e.g. example.com.cn",
    ),
    (
        "gov.cn",
        "public_suffix",
        "“gov.cn”是公共后缀，不能单独备案，请输入其下的域名，例如 example.gov.cn",
        "'gov.cn' is a public suffix and cannot be filed; enter a name under it, e.g. example.gov.cn",
    ),
    (
        "example.invalidtld",
        "unknown_tld",
        "顶级域“.invalidtld”不存在",
        "The top-level domain .invalidtld does not exist",
    ),
    ("example.123", "unknown_tld", "顶级域“.123”不存在", "The top-level domain .123 does not exist"),
    ("a_b.example.com", "invalid_label", *_label_message("a_b")),
    ("-example.com", "invalid_label", *_label_message("-example")),
    ("example-.com", "invalid_label", *_label_message("example-")),
    (f"{LONG_LABEL}.com", "invalid_label", *_label_message("a" * 63)),
    ("exa mple.com", "invalid_label", *_label_message("exa mple")),
    ("example.com:80:90", "invalid_label", *_label_message("com:80:90")),
    (
        "localhost",
        "single_label",
        "“localhost”缺少顶级域，请输入完整域名，例如 localhost.com",
        "'localhost' has no top-level domain: enter the full name, e.g. localhost.com",
    ),
    (
        "例子",
        "single_label",
        "“例子”缺少顶级域，请输入完整域名，例如 例子.com",
        "'例子' has no top-level domain: enter the full name, e.g. 例子.com",
    ),
    ("", "empty", "请输入域名，例如 example.com", "Enter a domain name, e.g. example.com"),
    ("   ", "empty", "请输入域名，例如 example.com", "Enter a domain name, e.g. example.com"),
    ("http://", "empty", "请输入域名，例如 example.com", "Enter a domain name, e.g. example.com"),
    (
        "example..com",
        "empty_label",
        "域名中有空的部分（连续的点）",
        "The domain name has an empty label (two dots in a row)",
    ),
    (
        ".example.com",
        "empty_label",
        "域名中有空的部分（连续的点）",
        "The domain name has an empty label (two dots in a row)",
    ),
    ("http://[::1", "invalid_url", "网址格式不正确", "The URL is not valid"),
    ("x" * 2049, "too_long", "输入过长，不是域名", "The input is too long to be a domain name"),
    (
        ".".join(["a" * 63] * 4) + ".com",
        "too_long",
        "域名总长度超过 253 个字符",
        "The domain name is longer than 253 characters",
    ),
]


@pytest.mark.parametrize(("text", "code", "message_zh", "message_en"), REFUSALS)
def test_refusals(text: str, code: str, message_zh: str, message_en: str) -> None:
    with pytest.raises(DomainError) as info:
        domains.analyze(text)
    assert info.value.code == code
    assert info.value.message_zh == message_zh
    assert info.value.message_en == message_en
    assert isinstance(info.value, RulesError)


def test_unknown_tld_context() -> None:
    with pytest.raises(DomainError) as info:
        domains.analyze("www.example.invalidtld")
    assert info.value.context["tld"] == "invalidtld"


@pytest.mark.parametrize("text", ["xn--zz.com", "ab--cd.com", "a\ufe52com", "ex!ample.中国"])
def test_other_invalid_labels(text: str) -> None:
    with pytest.raises(DomainError) as info:
        domains.normalize(text)
    assert info.value.code == "invalid_label"


@pytest.mark.parametrize("text", ["192.168.1.1", "http://[2001:db8::1]/", "localhost", "a_b.com", ""])
def test_normalize_refuses_what_analyze_refuses(text: str) -> None:
    with pytest.raises(DomainError):
        domains.normalize(text)


def test_normalize_does_not_need_a_known_tld() -> None:
    """normalize is syntax only; whether the TLD exists is analyze's question."""
    assert domains.normalize("Example.InvalidTLD.") == "example.invalidtld"


def test_not_text() -> None:
    with pytest.raises(DomainError) as info:
        domains.analyze(None)  # type: ignore[arg-type]
    assert info.value.code == "not_text"
    assert info.value.message_zh == "域名必须是文本"


def test_error_input_is_truncated() -> None:
    with pytest.raises(DomainError) as info:
        domains.analyze("x" * 2049)
    assert info.value.context["input"] == "x" * 200
