"""The served set and the decision the gate makes for every request (no Django here: this is the hot path).

A host is served when it, or a parent domain, is an active domain of an active website served here;
names under ``.gov.cn`` match exactly only. The set keeps each filing name's 64-bit string hash (a Python
``int``), not the name: about 60 bytes a domain instead of 110 for a set of strings, so 5,000,000 domains
fit in about 300 MB. Two different names sharing a 64-bit hash in one process is about as likely as one in
3·10^12 lookups at that size, and the JSON explanation names the filing it matched so that a human can
check. Hashes are Python's own (``hash(str)``), computed in this process only, never stored.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterable

_ASCII_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_DIGITS_AND_DOTS = re.compile(r"^[0-9.]+$")
EXACT_ONLY = "gov.cn"
_NOT_IN_HOST = frozenset("@/?#\\ \t\r\n")


def normalize_host(raw: str | None) -> str | None:
    """The A-label form of a Host header, or None for an IP literal or a malformed name.

    Plain ASCII names (nearly all requests) take a fast path; anything else goes through
    ``rules.domains.normalize`` so that IDN, full-width dots and case behave exactly as in filings.
    """
    if not raw:
        return None
    host = raw.strip().lower()
    if host.startswith("["):
        return None  # IPv6 literal
    if ":" in host:
        host, _, port = host.rpartition(":")
        if (port and not port.isdigit()) or ":" in host:
            return None
    host = host.rstrip(".")
    if not host or len(host) > 253:
        return None
    if _ASCII_HOST.match(host) and not host.startswith("xn--") and ".xn--" not in host:
        if _DIGITS_AND_DOTS.match(host):
            return None  # IPv4 literal (or digits only: never a filed name)
        for label in host.split("."):
            if len(label) > 63 or label.startswith("-") or label.endswith("-") or label[2:4] == "--":
                return None  # the same labels rules.domains (IDNA 2008) refuses
        return host
    if any(ch in _NOT_IN_HOST for ch in host):
        return None  # user info, a path, a query: not a Host header (rules.domains would strip them)
    from beian.rules import domains
    from beian.rules.errors import DomainError

    try:
        return domains.normalize(host)
    except DomainError:
        return None


def candidates(host: str) -> Iterable[str]:
    """The names whose filing would serve ``host``: itself, then each parent above the TLD, except that a
    ``.gov.cn`` parent never covers its subdomains."""
    yield host
    labels = host.split(".")
    for i in range(1, len(labels) - 1):
        parent = ".".join(labels[i:])
        if parent == EXACT_ONLY or parent.endswith("." + EXACT_ONLY):
            continue
        yield parent


class ServedSet:
    """The domains this edge may serve, following the change feed. Thread-safe for one writer (the
    follower thread) and any number of readers (the request path): set operations hold the GIL."""

    def __init__(self) -> None:
        self._hashes: set[int] = set()
        self.position = 0  # the last FeedEntry.seq applied
        self.loaded = False
        self.loaded_at: float | None = None
        self.synced_at: float | None = None  # last successful contact with the database
        self.degraded = False
        self.reloads = 0
        self.applied = 0
        self.generation = 0  # bumped on every change: the gate's decision memo follows it
        self._salt = secrets.randbits(31)  # so that a restarted gate never repeats an earlier version
        self._lock = threading.Lock()  # serialises writers only

    def __len__(self) -> int:
        return len(self._hashes)

    def replace(self, names: Iterable[str], position: int) -> None:
        fresh = {hash(name) for name in names}
        with self._lock:
            self._hashes = fresh
            self.position = position
            self.loaded = True
            self.loaded_at = self.synced_at = time.time()
            self.reloads += 1
            self.generation += 1

    def apply(self, entries: Iterable[tuple[int, str, str]]) -> int:
        """Apply feed entries ``(seq, domain, action)`` in order; returns how many were new."""
        count = 0
        with self._lock:
            hashes = self._hashes
            for seq, domain, action in entries:
                if seq <= self.position:
                    continue
                if action == "allow":
                    hashes.add(hash(domain))
                else:
                    hashes.discard(hash(domain))
                self.position = seq
                count += 1
            self.applied += count
            if count:
                self.generation += 1  # decisions remembered for the old set are void
            self.synced_at = time.time()
        return count

    def match(self, host: str) -> str | None:
        """The filed name that serves ``host`` (normalised), or None."""
        hashes = self._hashes
        for name in candidates(host):
            if hash(name) in hashes:
                return name
        return None

    @property
    def version(self) -> int:
        """A 31-bit tag of the set's current contents, different after every change and every restart:
        nginx (docs/nginx/beian-gate-lua.conf) keeps a decision only while the version it was made at holds.
        31 bits: ngx.shared.DICT keeps it in an entry's flags, which lua-resty-core reads as a signed int."""
        return (self._salt + self.generation) & 0x7FFFFFFF

    def lag(self) -> float | None:
        return None if self.synced_at is None else max(0.0, time.time() - self.synced_at)
