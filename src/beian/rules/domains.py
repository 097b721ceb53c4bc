"""Domain names as a filing sees them (DOMAIN.md, "Domains").

- What a user types is normalised: case, trailing dot, a URL with scheme/port/path, the
  full-width dot 。, Chinese labels to their A-label (IDNA 2008 with UTS #46 mapping).
- The registrable domain comes from the public suffix list (ICANN section, shipped with the
  ``publicsuffixlist`` package: no download at run time).
- A filing covers its registrable domain and every subdomain; ``.gov.cn`` names cover only themselves.
- The TLD must be one MIIT approved (data file ``data/tlds.json`` with its source and date).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

from beian.rules._data import load
from beian.rules.errors import DomainError

MAX_INPUT = 2048
_DOTS = dict.fromkeys(map(ord, "。．｡"), ".")
_LDH = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
EXACT_ONLY_SUFFIXES = ("gov.cn",)  # 政府网站：each name needs its own filing


class Scope(StrEnum):
    REGISTRABLE = "registrable"  # the filing covers the registrable domain and its subdomains
    EXACT = "exact"  # the filing covers this exact name only (.gov.cn)


@dataclass(frozen=True, slots=True)
class Domain:
    ascii: str  # A-label form, what is stored
    unicode: str  # U-label form, what is shown
    registrable: str  # A-label registrable domain (or the exact name for .gov.cn)
    tld: str  # A-label top-level domain, e.g. "cn", "xn--fiqs8s"
    tld_approved: bool
    scope: Scope

    @property
    def is_registrable(self) -> bool:
        return self.ascii == self.registrable

    @property
    def filing_name(self) -> str:
        """The name a filing of this domain is made for."""
        return self.ascii if self.scope is Scope.EXACT else self.registrable


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True, accept_unknown=False)  # an unlisted TLD does not exist


@cache
def approved_tlds() -> frozenset[str]:
    """A-labels of the TLDs MIIT approved (see ``data/tlds.json`` for source and date)."""
    return frozenset(idna.encode(t, uts46=True).decode() for t in load("tlds.json")["approved"])


def tld_data_checked() -> str:
    return load("tlds.json")["checked"]


def _error(code: str, zh: str, en: str, text: str, **context) -> DomainError:
    return DomainError(code, zh, en, input=text[:200], **context)


def _host_of(text: str) -> str:
    """The host part of what the user typed: a bare name or any URL."""
    s = unicodedata.normalize("NFC", text).translate(_DOTS).strip()
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Cf")
    if "://" in s or s.startswith("//"):  # a URL, also scheme-relative (//example.com/)
        try:
            parts = urlsplit(s)
            host = parts.hostname or ""
            if parts.netloc.startswith("[") or (parts.hostname and ":" in parts.hostname):
                host = "[" + (parts.hostname or "") + "]"
        except ValueError:
            raise _error("invalid_url", "网址格式不正确", "The URL is not valid", text) from None
        return host
    s = re.split(r"[/?#]", s, maxsplit=1)[0]
    if s.startswith("["):
        return s.split("]", 1)[0] + "]"
    if "@" in s:
        s = s.rsplit("@", 1)[1]
    if s.count(":") == 1:
        s = s.split(":", 1)[0]
    return s


def normalize(text: str) -> str:
    """The A-label form of the host in ``text``: lower case, no trailing dot, no scheme, port or path."""
    return _to_ascii(text)[0]


def _to_ascii(text: str) -> tuple[str, list[str]]:
    if not isinstance(text, str):
        raise _error("not_text", "域名必须是文本", "A domain name must be text", repr(text))
    if len(text) > MAX_INPUT:
        raise _error("too_long", "输入过长，不是域名", "The input is too long to be a domain name", text)
    host = _host_of(text)
    if not host or host == ".":
        raise _error("empty", "请输入域名，例如 example.com", "Enter a domain name, e.g. example.com", text)
    if host.startswith("[") or _is_ip(host.rstrip(".")):
        raise _ip_error(text)
    host = host.rstrip(".")
    if not host or ".." in host or host.startswith("."):
        raise _error(
            "empty_label",
            "域名中有空的部分（连续的点）",
            "The domain name has an empty label (two dots in a row)",
            text,
        )
    for label in host.split("."):
        if label.isascii() and not _LDH.match(label.lower()):
            raise _bad_label(label, text)
    try:  # label by label, so that an over-long name is reported as too_long below, not as a bad label
        ascii_name = ".".join(map(_label_to_ascii, host.split(".")))
    except idna.IDNAError as exc:
        raise _error(
            "invalid_label",
            f"域名“{host[:80]}”含有不允许的字符或格式（{exc}）：只能使用字母、数字、连字符和中文",
            f"The domain name {host[:80]!r} has a character or form that is not allowed ({exc}): use letters, digits, hyphens and Chinese",
            text,
        ) from None
    except UnicodeError:
        raise _error(
            "invalid_label",
            "域名的某一部分过长或为空",
            "A label of the domain name is empty or too long",
            text,
        ) from None
    labels = ascii_name.split(".")
    for label in labels:
        if not _LDH.match(label):
            raise _bad_label(label, text)
    if _is_ip(ascii_name):  # ①.②.③.④ maps to 1.2.3.4
        raise _ip_error(text)
    if len(ascii_name) > 253:
        raise _error(
            "too_long", "域名总长度超过 253 个字符", "The domain name is longer than 253 characters", text
        )
    if len(labels) < 2:
        raise _error(
            "single_label",
            f"“{host}”缺少顶级域，请输入完整域名，例如 {host}.com",
            f"{host!r} has no top-level domain: enter the full name, e.g. {host}.com",
            text,
        )
    return ascii_name, labels


@lru_cache(maxsize=1 << 14)
def _label_to_ascii(label: str) -> str:
    """One label's A-label (IDNA 2008, UTS #46). Remembered: top-level labels such as 中国 recur in most
    Chinese names and cost ~13 µs each to encode; an error is raised again every time (never cached)."""
    return idna.encode(label, uts46=True).decode("ascii")


def _ip_error(text: str) -> DomainError:
    return _error(
        "ip_address",
        "IP 地址不能备案，请输入域名",
        "An IP address cannot be filed: enter a domain name",
        text,
    )


def _bad_label(label: str, text: str) -> DomainError:
    return _error(
        "invalid_label",
        f"域名中的“{label[:63]}”无效：每一部分 1–63 个字符，只能使用字母、数字和连字符，且不能以连字符开头或结尾",
        f"Label {label[:63]!r} is not valid: 1-63 letters, digits or hyphens, not starting or ending with a hyphen",
        text,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(re.fullmatch(r"[\d.]+", host))  # 1.2.3 and friends are not names either


def analyze(text: str) -> Domain:
    """Normalise ``text`` and describe the domain for a filing: registrable part, TLD, approval, scope."""
    ascii_name, labels = _to_ascii(text)
    psl = _psl()
    tld = labels[-1]
    if not psl.is_public(tld):
        raise _error(
            "unknown_tld",
            f"顶级域“.{idna.decode(tld) if tld.startswith('xn--') else tld}”不存在",
            f"The top-level domain .{tld} does not exist",
            text,
            tld=tld,
        )
    registrable = psl.privatesuffix(ascii_name)
    if registrable is None:
        raise _error(
            "public_suffix",
            f"“{ascii_name}”是公共后缀，不能单独备案，请输入其下的域名，例如 example.{ascii_name}",
            f"{ascii_name!r} is a public suffix and cannot be filed; enter a name under it, e.g. example.{ascii_name}",
            text,
        )
    exact = any(ascii_name == s or ascii_name.endswith("." + s) for s in EXACT_ONLY_SUFFIXES)
    return Domain(
        ascii=ascii_name,
        unicode=to_unicode(ascii_name),
        registrable=ascii_name if exact else registrable,
        tld=tld,
        tld_approved=tld in approved_tlds(),
        scope=Scope.EXACT if exact else Scope.REGISTRABLE,
    )


_EXACT_TAILS = tuple("." + s for s in EXACT_ONLY_SUFFIXES)
# A plain lower-case LDH host name: IDNA 2008 with UTS #46 maps it to itself (unless a label holds "--": an
# A-label or reserved), so its filing name needs only the public-suffix lookup.
_PLAIN_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _plain_filing_name(text: str) -> str | None:
    """The filing name of a plain host name (no IDNA work), None when ``text`` needs analyze."""
    if len(text) <= 253 and text.isascii():
        host = text.lower()
        if "--" not in host and _PLAIN_HOST.fullmatch(host):
            registrable = _psl().privatesuffix(
                host
            )  # None: unknown TLD or a public suffix (analyze says which)
            if registrable is not None:
                exact = host in EXACT_ONLY_SUFFIXES or host.endswith(_EXACT_TAILS)
                return host if exact else registrable
    return None


def filing_name(text: str) -> str:
    """``analyze(text).filing_name`` (the A-label a filing of ``text`` is made for), without analyze's IDNA
    work (about 0.3 ms) when ``text`` is a plain host name; raises what analyze raises."""
    name = _plain_filing_name(text)
    return analyze(text).filing_name if name is None else name


def filing_name_and_unicode(text: str) -> tuple[str, str]:
    """(``filing_name(text)``, its ``to_unicode``): the U-label that analyze already decoded is reused when the
    filing name is the analysed name itself (decoding a Chinese name costs about 30 µs)."""
    name = _plain_filing_name(text)
    if name is not None:  # LDH labels without "--": no A-label, so the U-label is the name itself
        return name, name
    info = analyze(text)
    name = info.filing_name
    return name, (info.unicode if name == info.ascii else to_unicode(name))


def to_unicode(ascii_name: str) -> str:
    """The U-label form for display; an A-label that does not decode is shown as it is."""
    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError):
        return ascii_name


def covering_names(host: str) -> tuple[str, ...]:
    """The names whose filing would cover ``host`` (A-labels), most specific first.

    ``www.a.example.com`` -> (``www.a.example.com``, ``a.example.com``, ``example.com``);
    a ``.gov.cn`` name -> only itself. The caller checks which of them are filed.
    """
    info = analyze(host)
    if info.scope is Scope.EXACT:
        return (info.ascii,)
    labels = info.ascii.split(".")
    depth = len(info.registrable.split("."))
    return tuple(".".join(labels[i:]) for i in range(len(labels) - depth + 1))
