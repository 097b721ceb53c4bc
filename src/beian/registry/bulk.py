"""Bulk import and export of the registry (主体, 网站, 域名) in docs/data-format.md's JSON Lines.

Import (``beian import``) reads one subject per line and commits in batches:

- **All or nothing per batch, line by line.** A line that is not valid JSON, carries an invalid number,
  claims a domain another filing holds, disagrees with its province … is reported with its line number
  and skipped; the rest of the batch commits. A skipped line writes nothing (the checks run before any
  write, and the per-line fallback below runs each line in its own savepoint).
- **Idempotent.** The key is the subject number (主体备案号); websites are keyed by their number, domains
  by (website, name). Re-importing a line updates what differs and writes nothing when nothing does;
  rows the line does not mention are left as they are (never deleted), except that a cancelled subject
  cancels all its websites and a cancelled website releases all its domains, as 注销 does.
- **Resumable.** After each batch commits, ``FILE.checkpoint`` records the last committed line and its
  byte offset; ``--resume`` continues after it. A batch interrupted before its commit left nothing, and a
  batch committed but not yet checkpointed is simply imported again (idempotent).
- **Bulk path for new subjects.** New subjects, websites, domains, owner accounts and feed entries
  (FeedEntry ``allow`` for each served domain) are written with ``executemany`` on SQLite and ``COPY`` on
  PostgreSQL, with ids reserved up front; feed positions come as one block from the ``feed`` counter
  (``UPDATE … SET value = value + n RETURNING value``), which keeps the row locked until commit like every
  other feed writer. ``name_chars`` (the name index, registry.search.spaced) is set on every subject;
  the PostgreSQL GIN index follows, and on SQLite the FTS5 insert trigger is suspended inside the batch's
  transaction while the batch is indexed with one INSERT … SELECT (see ``_fts_trigger_suspended``).
  Imported 10-digit numbers raise the
  per-province/year number counter (as ``filing_import`` does). Existing subjects are updated through
  the ORM, one savepoint per line. Within a batch, updates of subjects already in the database run
  first, then the new subjects, then lines repeating a number seen earlier in the batch.
- One audit entry per batch (``registry.bulk_import``: file, line range, counts, failed lines).
  If the bulk insert itself fails (a conflict committed by a concurrent writer after the checks), its
  savepoint undoes all of it and the new lines are inserted again one per savepoint, so that only the
  offending lines fail.
- **First load into an empty registry.** When subjects, websites, domains and the feed are all empty and the
  first batch holds at least FAST_MIN_LINES lines, that batch's transaction drops the loaded tables' indexes
  that enforce nothing (and, on PostgreSQL, their foreign keys) and records each, with the DDL that
  re-creates it, in ``beian_import_deferred`` (same transaction: the record and the schema never disagree);
  they are re-created after the last batch (see ``restore_deferred``). Unique indexes, primary keys and
  CHECK constraints stay, so no duplicate can get in meanwhile. A load killed before the end leaves them
  recorded: every import (``--resume`` or not) re-creates them before it reads its first line, and so
  should ``beian migrate`` (``restore_deferred``). A batch that meets subjects already in the database ends
  the fast load first (updates look up websites and domains by subject). While the indexes are missing,
  the site stays correct but the lookups they serve scan their tables: a subject's websites, a website's
  domains, name search (PostgreSQL's GIN index; SQLite's FTS5 table is kept), the public name order.
- Speed: the next batches are parsed in worker processes (a thread on one CPU) while this one is written, and
  turned there into the rows the bulk path writes (times already as the database's text, ids local to the
  batch): the writer maps the ids to reserved ones and runs executemany / COPY; only lines that update an
  existing subject are parsed again, in the writer. The cyclic garbage collector is off during the import
  and SQLite's page cache is raised for the writing connection (both restored).

Optional fields beyond the documented ones, written by export so that export → import is exact:
subject ``responsible_certificate_type``, ``responsible_certificate_number``, ``website_counter``,
``is_shell``, ``shell_since``, ``created_at``; website ``is_shell``, ``shell_since``, ``created_at``;
domain ``activated_at``, ``released_at``, ``created_at``. Absent, they are derived (as ``filing_import``
does) on insert and left unchanged on update. Times without an offset are read as Beijing time; keys
the format does not know are ignored.

Export (``beian export``) streams every subject with a number (active and cancelled) with its numbered
websites and their active or released domains; pending orders' reservations are not part of the format.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import gc
import hashlib
import json
import marshal
import os
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple
from zoneinfo import ZoneInfo

import orjson
from django.db import DatabaseError, connection, transaction

from beian.accounts.models import User
from beian.audit.services import audit_append
from beian.core import clock
from beian.core.models import Counter, raise_counter
from beian.gate.models import FeedAction, FeedEntry
from beian.gate.services import feed_append
from beian.lookup import answers, bigrams
from beian.registry.choices import HELD_DOMAIN_STATES, LIVE_SUBJECT_STATES, DomainStatus
from beian.registry.choices import SubjectStatus as SS
from beian.registry.choices import WebsiteStatus as WS
from beian.registry.models import Domain, Subject, Website
from beian.registry.search import optimize_name_index, spaced
from beian.rules import domains as domain_rules
from beian.rules import filing_numbers, natures, provinces
from beian.rules.errors import RulesError

BEIJING = ZoneInfo("Asia/Shanghai")
DEFAULT_OWNER = "import"
DEFAULT_BATCH = 10_000
# processes parsing ahead of the writer (0: a thread); by default one per CPU but the writer's
PARSE_WORKERS = os.environ.get("BEIAN_IMPORT_PARSE_WORKERS")
IN_CHUNK = 4000  # values per IN (...) list: well under SQLite's 32766 variables
AUDIT_ACTION = "registry.bulk_import"
FEED_REASON = "import"
_MISSING: Any = object()


# --- errors ----------------------------------------------------------------------------------------------------
class LineInvalid(Exception):
    """Why one line cannot be imported (raised while checking or applying it)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    code: str
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        return f"第 {self.line} 行 / line {self.line}: {self.message_zh} / {self.message_en}"


def _invalid(code: str, zh: str, en: str) -> LineInvalid:
    return LineInvalid(code, zh, en)


# --- parsing: one line to a record (no database) ----------------------------------------------------------------
@dataclass(slots=True)
class DomainRec:
    name: str  # A-label of the name a filing covers
    unicode: str
    status: str  # active | released
    times: dict[str, dt.datetime | None]  # activated_at, released_at, created_at when given


@dataclass(slots=True)
class WebsiteRec:
    number: str
    sequence: int
    values: dict[str, Any]  # model fields the line gives (service_type always: it follows from the number)
    domains: list[DomainRec]


@dataclass(slots=True)
class SubjectRec:
    line: int
    number: str
    counter: tuple[str, int] | None  # (counter name, sequence) for a 10-digit ICP备 number
    values: dict[str, Any]  # model fields the line gives; province, name, name_chars … always
    owner: str | None  # username, None when the line does not say
    websites: list[WebsiteRec]


# The status values as plain str: on the per-line path an enum member costs ~130 ns to look up and ~150-300 ns to
# compare (Python 3.11), some twenty times a line. Stored values are these same strings.
S_ACTIVE, S_CANCELLED = SS.ACTIVE.value, SS.CANCELLED.value
W_ACTIVE, W_CANCELLED = WS.ACTIVE.value, WS.CANCELLED.value
D_ACTIVE, D_RELEASED = DomainStatus.ACTIVE.value, DomainStatus.RELEASED.value
_RECORD_TIMES = (("approved_at", False), ("cancelled_at", True), ("created_at", False), ("shell_since", True))
_ABBREVIATIONS = {p.abbreviation: p.code for p in provinces.all_provinces()}
_FAST_SUBJECT = re.compile(rf"([{''.join(_ABBREVIATIONS)}])ICP备([0-9]{{8}}|20[0-9]{{8}})号")
_FAST_SUFFIX = re.compile(r"-([1-9][0-9]{0,4})([AXK]?)")
_SERVICE_OF_LETTER = {"": "website", "A": "app", "X": "mini_program", "K": "quick_app"}
_USERNAME = re.compile(r"[\w.@+-]{1,150}")
_SUBJECT_TEXT = (  # field, max length, required
    ("name", 200, True),
    ("address", 300, False),
    ("responsible_name", 100, True),
    ("responsible_mobile", 20, True),
    ("responsible_email", 200, True),
    ("responsible_certificate_type", 60, False),
    ("responsible_certificate_number", 64, False),
)
_WEBSITE_FLAGS = ("served_here", "limit_access", "is_shell")
_WEBSITE_TEXT = (
    ("name", 200, True),
    ("homepage", 300, False),
    ("content_type", 100, False),
    ("responsible_name", 100, False),
    ("responsible_mobile", 20, False),
    ("responsible_email", 200, False),
)


def domain_name(text: str) -> tuple[str, str]:
    """(A-label, U-label) of the name a filing of ``text`` covers (``rules.domains.filing_name``)."""
    try:
        name, uname = domain_rules.filing_name_and_unicode(text)
    except RulesError as exc:
        raise _invalid(exc.code, exc.message_zh, exc.message_en) from None
    # an A-label without "xn--" is its own U-label (to_unicode would run the IDNA decoder to say so)
    return name, (uname if "xn--" in name else name)


def _text(data: dict, key: str, max_length: int, required: bool, where: str) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise _invalid("missing_field", f"缺少字段 {where}{key}", f"Field {where}{key} is missing")
        return _MISSING
    if value.__class__ is not str:
        raise _invalid("bad_field", f"字段 {where}{key} 应为文本", f"Field {where}{key} must be text")
    if required and not value.strip():
        raise _invalid("missing_field", f"字段 {where}{key} 不能为空", f"Field {where}{key} is empty")
    if len(value) > max_length:
        raise _invalid(
            "field_too_long",
            f"字段 {where}{key} 超过 {max_length} 个字符",
            f"Field {where}{key} is longer than {max_length} characters",
        )
    return value


def _bool(data: dict, key: str, where: str) -> Any:
    value = data.get(key, _MISSING)
    if value is _MISSING or value is None:
        return _MISSING
    if value is not True and value is not False:
        raise _invalid(
            "bad_field", f"字段 {where}{key} 应为 true 或 false", f"Field {where}{key} must be true or false"
        )
    return value


def _when(data: dict, key: str, where: str, *, nullable: bool) -> Any:
    """An aware datetime, None (for a nullable field given as null) or _MISSING."""
    if key not in data:
        return _MISSING
    value = data[key]
    if value is None:
        return None if nullable else _MISSING
    if value.__class__ is not str:
        raise _invalid(
            "bad_time",
            f"字段 {where}{key} 应为 ISO 8601 时间",
            f"Field {where}{key} must be an ISO 8601 time",
        )
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(
            "bad_time",
            f"字段 {where}{key} 的时间“{value[:40]}”无法识别",
            f"Field {where}{key}: {value[:40]!r} is not an ISO 8601 time",
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=BEIJING)


@cache
def _pair(nature: str, ctype: str) -> tuple[str, str]:
    n, c = natures.check_pair(nature, ctype)
    return n.code, c.code


def _subject_number(text: Any) -> tuple[str, str, tuple[str, int] | None]:
    """(canonical number, province code, number counter) of a subject number."""
    if text.__class__ is not str:
        raise _invalid(
            "missing_field", "缺少主体备案号 number", "Field number (the subject number) is missing"
        )
    m = _FAST_SUBJECT.fullmatch(text)
    if m:
        province, digits = _ABBREVIATIONS[m[1]], m[2]
        canonical = text
    else:
        try:
            number = filing_numbers.parse(text)
        except RulesError as exc:
            raise _invalid(exc.code, exc.message_zh, exc.message_en) from None
        if not number.is_subject:
            raise _invalid(
                "not_subject_number",
                f"主体备案号 {text} 不能带网站序号",
                f"A subject number has no website suffix: {text}",
            )
        canonical, province, digits = number.canonical, number.province, number.digits
        if number.licence is not filing_numbers.Licence.FILING:
            return canonical, province, None
    counter = None
    if len(digits) == 10:  # the form we issue: our counter must never issue it again
        counter = (f"subject-number:{province}:{digits[:4]}", int(digits[4:]))
    return canonical, province, counter


def _website_number(text: Any, subject_number: str) -> tuple[str, int, str]:
    """(canonical number, sequence, service type) of a website number under ``subject_number``."""
    if text.__class__ is not str:
        raise _invalid("missing_field", "网站缺少备案号 number", "A website has no number")
    if text.startswith(subject_number):
        m = _FAST_SUFFIX.fullmatch(text, len(subject_number))
        if m:
            return text, int(m[1]), _SERVICE_OF_LETTER[m[2]]
    try:
        number = filing_numbers.parse(text)
    except RulesError as exc:
        raise _invalid(
            exc.code, f"网站备案号 {text}：{exc.message_zh}", f"Website number {text}: {exc.message_en}"
        ) from None
    if number.website_sequence is None or number.subject_number != subject_number:
        raise _invalid(
            "website_number_mismatch",
            f"网站备案号 {text} 不属于主体 {subject_number}",
            f"{text} is not a website number under {subject_number}",
        )
    return number.canonical, number.website_sequence, str(number.service_type or "website")


def _json_loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid("bad_json", f"不是有效的 JSON（{exc}）", f"Not valid JSON ({exc})") from None


def parse_line(raw: bytes | str, line: int) -> SubjectRec:
    """Check one line and normalise it; raise :class:`LineInvalid` with the reason.

    Read with orjson (3x faster than the json module: a fifth of the parse), judged as the json module reads
    it: what orjson refuses (NaN, Infinity, a lone surrogate, another encoding) is read again with json, whose
    words the error then carries; and orjson reads an integer beyond 64 bits as a float where json keeps an int,
    which no accepted field can hold but a refusal may quote, so a refused line is judged again on json's
    reading."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _parse_data(_json_loads(raw), line)
    try:
        return _parse_data(data, line)
    except LineInvalid:
        return _parse_data(_json_loads(raw), line)


def _parse_data(data: Any, line: int) -> SubjectRec:
    if data.__class__ is not dict:
        raise _invalid(
            "bad_json", "每行应为一个 JSON 对象（一个主体）", "Each line must be a JSON object (one subject)"
        )
    number, province, counter = _subject_number(data.get("number"))
    given = data.get("province")
    if given is not None and str(given) != province:
        raise _invalid(
            "province_mismatch",
            f"省份 {given} 与备案号 {number} 的省份（{province}）不一致",
            f"Province {given} does not match the number {number} (province {province})",
        )
    nature, ctype = data.get("nature"), data.get("certificate_type")
    if nature.__class__ is not str or ctype.__class__ is not str:
        raise _invalid(
            "missing_field", "缺少主办单位性质或证件类型", "Field nature or certificate_type is missing"
        )
    try:
        nature, ctype = _pair(nature, ctype)
        cert = natures.normalize_certificate_number(ctype, data.get("certificate_number") or "")
    except RulesError as exc:
        raise _invalid(exc.code, exc.message_zh, exc.message_en) from None
    values: dict[str, Any] = {
        "province": province,
        "nature": nature,
        "certificate_type": ctype,
        "certificate_number": cert,
    }
    for key, length, required in _SUBJECT_TEXT:
        value = data.get(key)
        # the common case checked inline; _text says what is wrong, or that an optional field is absent
        if value.__class__ is not str or len(value) > length or (required and not value.strip()):
            value = _text(data, key, length, required, "")
        if value is not _MISSING:
            values[key] = value
    values["name_chars"] = spaced(values["name"])
    status = data.get("status", S_ACTIVE)
    if status not in (S_ACTIVE, S_CANCELLED):
        raise _invalid(
            "bad_status",
            f"主体状态应为 active 或 cancelled，而不是 {status!r}",
            f"Subject status must be active or cancelled, not {status!r}",
        )
    values["status"] = status
    for key, nullable in _RECORD_TIMES:
        if key in data:
            when = _when(data, key, "", nullable=nullable)
            if when is not _MISSING:
                values[key] = when
    shell = data.get("is_shell")
    if shell is True or shell is False:
        values["is_shell"] = shell
    elif shell is not None:
        _bool(data, "is_shell", "")  # raises: neither true, false nor null
    password = data.get("filing_password_hash")
    if password is not None:
        if (
            password.__class__ is not str
            or (password and not password.startswith("$argon2"))
            or len(password) > 200
        ):
            raise _invalid(
                "bad_password_hash",
                "filing_password_hash 应为 argon2 哈希（不接受明文密码）",
                "filing_password_hash must be an argon2 hash (never a clear password)",
            )
        values["filing_password_hash"] = password
    counter_value = data.get("website_counter")
    if counter_value is not None:
        if counter_value.__class__ is not int or not 0 <= counter_value <= filing_numbers.MAX_SEQUENCE:
            raise _invalid(
                "bad_field", "website_counter 应为非负整数", "website_counter must be a non-negative integer"
            )
        values["website_counter"] = counter_value
    owner = data.get("owner")
    if owner is not None and (owner.__class__ is not str or not _USERNAME.fullmatch(owner)):
        raise _invalid("bad_owner", f"账户名 {owner!r} 无效", f"Owner {owner!r} is not a valid username")
    sites = data.get("websites") or []
    if sites.__class__ is not list:
        raise _invalid("bad_field", "websites 应为数组", "websites must be an array")
    websites, seen, held = [], set(), set()
    for site in sites:
        w = _parse_website(site, number, status)
        if w.number in seen:
            raise _invalid(
                "duplicate_website", f"网站备案号 {w.number} 重复", f"Website {w.number} appears twice"
            )
        seen.add(w.number)
        for d in w.domains:
            if d.status == D_ACTIVE:
                if d.name in held:
                    raise _invalid(
                        "duplicate_domain",
                        f"域名 {d.unicode} 在本主体中出现两次",
                        f"Domain {d.unicode} appears twice in this subject",
                    )
                held.add(d.name)
        websites.append(w)
    return SubjectRec(line, number, counter, values, owner, websites)


def _parse_website(site: Any, subject_number: str, subject_status: str) -> WebsiteRec:
    if site.__class__ is not dict:
        raise _invalid("bad_field", "websites 的每一项应为对象", "Each website must be an object")
    number, sequence, service = _website_number(site.get("number"), subject_number)
    where = f"{number} "
    given = site.get("service_type")
    if given is not None and given != service:
        raise _invalid(
            "service_type_mismatch",
            f"{number} 的 service_type 应为 {service}",
            f"The service_type of {number} is {service} (from its number), not {given!r}",
        )
    values: dict[str, Any] = {"service_type": service}
    for key, length, required in _WEBSITE_TEXT:
        value = site.get(key)
        if value.__class__ is not str or len(value) > length or (required and not value.strip()):
            value = _text(site, key, length, required, where)
        if value is not _MISSING:
            values[key] = value
    status = site.get("status", W_ACTIVE)
    if status not in (W_ACTIVE, W_CANCELLED):
        raise _invalid(
            "bad_status",
            f"{number} 的状态应为 active 或 cancelled",
            f"The status of {number} must be active or cancelled",
        )
    if subject_status == S_CANCELLED and status != W_CANCELLED:
        raise _invalid(
            "cancelled_subject_website",
            f"主体已注销，网站 {number} 也应为 cancelled",
            f"The subject is cancelled, so website {number} must be cancelled too",
        )
    values["status"] = status
    for key in _WEBSITE_FLAGS:
        flag = site.get(key)
        if flag is True or flag is False:
            values[key] = flag
        elif flag is not None:
            _bool(site, key, where)  # raises: neither true, false nor null
    if status == W_CANCELLED and values.get("served_here"):
        raise _invalid(
            "cancelled_served",
            f"已注销的网站 {number} 不能标记为由本接入商接入（served_here）",
            f"Cancelled website {number} cannot be served here",
        )
    for key, nullable in _RECORD_TIMES:
        if key in site:
            when = _when(site, key, where, nullable=nullable)
            if when is not _MISSING:
                values[key] = when
    raw_domains = site.get("domains") or []
    if raw_domains.__class__ is not list:
        raise _invalid(
            "bad_field", f"{number} 的 domains 应为数组", f"The domains of {number} must be an array"
        )
    domains: dict[str, DomainRec] = {}
    for item in raw_domains:
        if item.__class__ is str:
            text, d_status, times = item, D_ACTIVE, {}
        elif item.__class__ is dict:
            text, d_status = item.get("name"), item.get("status", D_ACTIVE)
            if text.__class__ is not str:
                raise _invalid("bad_domain", f"{number} 的域名缺少 name", f"A domain of {number} has no name")
            if d_status not in (D_ACTIVE, D_RELEASED):
                raise _invalid(
                    "bad_status",
                    f"域名 {text} 的状态应为 active 或 released",
                    f"The status of domain {text} must be active or released",
                )
            times = {}
            for key in ("activated_at", "released_at", "created_at"):
                if key in item:
                    when = _when(item, key, f"{text} ", nullable=key != "created_at")
                    if when is not _MISSING:
                        times[key] = when
        else:
            raise _invalid(
                "bad_domain",
                f"{number} 的域名格式不正确",
                f"A domain of {number} is neither text nor an object",
            )
        name, uname = domain_name(text)
        if status == W_CANCELLED and d_status != D_RELEASED:
            raise _invalid(
                "cancelled_domain_held",
                f"已注销的网站 {number} 的域名 {uname} 应为 released",
                f"Domain {uname} of cancelled website {number} must be released",
            )
        if name in domains:
            if domains[name].status != d_status:
                raise _invalid(
                    "duplicate_domain",
                    f"{number} 中域名 {uname} 出现两次",
                    f"Domain {uname} appears twice in {number}",
                )
            continue
        domains[name] = DomainRec(name, uname, d_status, times)
    return WebsiteRec(number, sequence, values, list(domains.values()))


# --- rows: a record with the defaults filled in --------------------------------------------------------------------
SUBJECT_COLUMNS = (
    "id", "number", "province", "nature", "name", "name_chars", "certificate_type", "certificate_number",
    "address", "owner_id", "responsible_name", "responsible_mobile", "responsible_email",
    "responsible_certificate_type", "responsible_certificate_number", "status", "website_counter", "is_shell",
    "shell_since", "filing_password_hash", "password_failures", "password_locked_until", "created_at",
    "approved_at", "cancelled_at",
)  # fmt: skip
WEBSITE_COLUMNS = (
    "id", "subject_id", "sequence", "number", "name", "homepage", "content_type", "service_type",
    "responsible_name", "responsible_mobile", "responsible_email", "status", "served_here", "is_shell",
    "shell_since", "limit_access", "created_at", "approved_at", "cancelled_at",
)  # fmt: skip
DOMAIN_COLUMNS = ("website_id", "name", "unicode", "status", "created_at", "activated_at", "released_at")
FEED_COLUMNS = ("seq", "at", "domain", "action", "website_id", "reason")
_DATETIME_COLUMNS = frozenset(
    {"shell_since", "password_locked_until", "created_at", "approved_at", "cancelled_at", "activated_at",
     "released_at", "at", "date_joined"}
)  # fmt: skip
USER_COLUMNS = (
    "id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
    "date_joined", "role", "province", "mobile",
)  # fmt: skip


def _same(value: Any) -> Any:
    return value


# The row builders make tuples in column order straight away (no dict per row, no second pass over the times):
# ``T`` turns each datetime into what the row holds (_same, or the database's text: see _time_text); ``now``
# is the default for the times the line leaves out.
def _subject_tuple(rec: SubjectRec, pk: Any, owner: Any, now: dt.datetime, T: Callable) -> tuple:
    """A SUBJECT_COLUMNS row."""
    v = rec.values
    status = v["status"]
    active = status == S_ACTIVE
    sites = rec.websites
    top = max((w.sequence for w in sites), default=0)
    shell = v.get("is_shell", _MISSING)
    if shell is _MISSING:  # 空壳主体: active with no active website
        shell = active and not any(w.values["status"] == W_ACTIVE for w in sites)
    since = v.get("shell_since", now if shell else None)
    cancelled = v.get("cancelled_at", None if active else now)
    return (
        pk, rec.number, v["province"], v["nature"], v["name"], v["name_chars"], v["certificate_type"],
        v["certificate_number"], v.get("address", ""), owner, v["responsible_name"], v["responsible_mobile"],
        v["responsible_email"], v.get("responsible_certificate_type", ""),
        v.get("responsible_certificate_number", ""), status, max(top, v.get("website_counter", 0)), shell,
        None if since is None else T(since), v.get("filing_password_hash", ""), 0, None,
        T(v.get("created_at", now)), T(v.get("approved_at", now)), None if cancelled is None else T(cancelled),
    )  # fmt: skip


def _website_tuple(
    w: WebsiteRec, pk: Any, subject_id: Any, responsible: tuple, now: dt.datetime, T: Callable
) -> tuple:
    """A WEBSITE_COLUMNS row; ``responsible``: the subject's (name, mobile, email), the default."""
    v = w.values
    status = v["status"]
    active = status == W_ACTIVE
    served = v.get("served_here", active)
    shell = v.get("is_shell", _MISSING)
    if shell is _MISSING:  # filed but served by no provider (空壳网站)
        shell = active and not served
    since = v.get("shell_since", now if shell else None)
    cancelled = v.get("cancelled_at", None if active else now)
    return (
        pk, subject_id, w.sequence, w.number, v["name"], v.get("homepage", ""), v.get("content_type", "无"),
        v["service_type"], v.get("responsible_name", responsible[0]),
        v.get("responsible_mobile", responsible[1]), v.get("responsible_email", responsible[2]), status, served,
        shell, None if since is None else T(since), v.get("limit_access", False), T(v.get("created_at", now)),
        T(v.get("approved_at", now)), None if cancelled is None else T(cancelled),
    )  # fmt: skip


_SITE_CANCELLED = WEBSITE_COLUMNS.index("cancelled_at")


def _domain_tuple(d: DomainRec, website_id: Any, site_cancelled: Any, now: Any, T: Callable) -> tuple:
    """A DOMAIN_COLUMNS row. ``now`` and ``site_cancelled`` (the website's cancellation, the default release
    time of its domains) are already what ``T`` makes."""
    active = d.status == D_ACTIVE
    t = d.times
    if not t:  # the usual case: no time given
        return (
            website_id, d.name, d.unicode, d.status, now, now if active else None,
            None if active else (site_cancelled or now),
        )  # fmt: skip
    created = t.get("created_at")
    activated = t.get("activated_at", _MISSING)
    released = t.get("released_at", _MISSING)
    if activated is _MISSING:
        activated = now if active else None
    elif activated is not None:
        activated = T(activated)
    if released is _MISSING:
        released = None if active else (site_cancelled or now)
    elif released is not None:
        released = T(released)
    return (
        website_id,
        d.name,
        d.unicode,
        d.status,
        now if created is None else T(created),
        activated,
        released,
    )


# --- a parsed batch as rows: built where it is parsed, so the writer only executes them -------------------------
class LinePlan(NamedTuple):
    """What the writer needs of one parsed line: its keys for the checks and where its rows are."""

    line: int
    number: str
    counter: tuple[str, int] | None
    live_certificate: tuple[str, str] | None  # (type, number) of an active subject
    claims: tuple[tuple[str, str, str], ...]  # (A-label, U-label, website number) of each active domain
    owner: str
    index: int  # its row in Prepared.subjects
    site0: int  # its websites: Prepared.websites[site0 : site0 + sites]
    sites: int
    domain0: int
    domains: int
    served0: int
    served: int


@dataclass(slots=True)
class Prepared:
    """A batch parsed and turned into rows with local ids (the writer maps them to reserved ids).

    Times are already text in the database's form, so the writer neither converts nor unpickles objects
    per value: pickling SubjectRec graphs between the processes cost more than parsing them (~58 µs a line
    each way, against ~18 to pickle and ~14 to unpickle these flat tuples)."""

    now: dt.datetime
    plans: list[LinePlan]
    errors: list[LineError]
    subjects: list[tuple]  # SUBJECT_COLUMNS; id: the plan's index, owner_id: the username
    websites: list[tuple]  # WEBSITE_COLUMNS; id: its index here, subject_id: the plan's index
    domains: list[tuple]  # DOMAIN_COLUMNS; website_id: the website's index here
    served: list[tuple[str, int]]  # (domain, website index here): the feed's allow entries


def _time_text(vendor: str) -> Callable[[dt.datetime], str]:
    """datetime -> the text the database stores or parses: Django's naive UTC on SQLite, ISO 8601 with its
    offset for PostgreSQL's COPY. Cached: the batch's "now" recurs in most rows."""
    cache: dict[dt.datetime, str] = {}

    def text(value: dt.datetime) -> str:
        done = cache.get(value)
        if done is None:
            done = cache[value] = _sqlite_datetime(value) if vendor == "sqlite" else value.isoformat()
        return done

    return text


def _times_as_text(columns: tuple[str, ...], text: Callable[[dt.datetime], str]) -> Callable[[tuple], tuple]:
    positions = [i for i, c in enumerate(columns) if c in _DATETIME_COLUMNS]

    def convert(row: tuple) -> tuple:
        row = list(row)
        for i in positions:
            value = row[i]
            if value is not None:
                row[i] = text(value)
        return tuple(row)

    return convert


def prepare_batch(batch: list[tuple[int, bytes]], vendor: str) -> Prepared:
    """Parse a batch and build its rows (no database: runs in the parse worker)."""
    now = clock.now()
    T = _time_text(vendor)
    tnow = T(now)
    out = Prepared(now, [], [], [], [], [], [])
    subjects, websites, domains, served = out.subjects, out.websites, out.domains, out.served
    active, site_active, live = D_ACTIVE, W_ACTIVE, S_ACTIVE
    for line, raw in batch:
        try:
            rec = parse_line(raw, line)
        except LineInvalid as exc:
            out.errors.append(LineError(line, exc.code, exc.message_zh, exc.message_en))
            continue
        index = len(subjects)
        owner = rec.owner or DEFAULT_OWNER
        v = rec.values
        subjects.append(_subject_tuple(rec, index, owner, now, T))
        responsible = (v["responsible_name"], v["responsible_mobile"], v["responsible_email"])
        subject_live = v["status"] == live
        site0, domain0, served0 = len(websites), len(domains), len(served)
        claims = []
        for w in rec.websites:
            k = len(websites)
            site = _website_tuple(w, k, index, responsible, now, T)
            websites.append(site)
            cancelled = site[_SITE_CANCELLED]
            # the gate serves (feed allow) the active domains of an active subject's active websites served here
            serving = subject_live and w.values["status"] == site_active and w.values.get("served_here", True)
            for d in w.domains:
                domains.append(_domain_tuple(d, k, cancelled, tnow, T))
                if d.status == active:
                    claims.append((d.name, d.unicode, w.number))
                    if serving:
                        served.append((d.name, k))
        out.plans.append(
            LinePlan(
                line,
                rec.number,
                rec.counter,
                (v["certificate_type"], v["certificate_number"]) if subject_live else None,
                tuple(claims),
                owner,
                index,
                site0,
                len(websites) - site0,
                domain0,
                len(domains) - domain0,
                served0,
                len(served) - served0,
            )
        )
    return out


# --- low-level writes ----------------------------------------------------------------------------------------------
def _chunks(items: list, size: int = IN_CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _select_in(sql: str, values: list, params: list | tuple = ()) -> list[tuple]:
    """Run ``sql`` whose ``{IN}`` stands for "IN (values)": one array parameter on PostgreSQL, chunks of
    placeholders on SQLite. Raw SQL: the ORM's ``__in`` costs ~10 µs a value to build. On PostgreSQL a
    semi-join on ``unnest`` rather than ``= ANY``: with 10^4 values the planner picks a sequential scan
    for ``= ANY``, which grows with the table; the join keeps to the index."""
    if not values:
        return []
    rows: list[tuple] = []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(sql.replace("{IN}", "IN (SELECT unnest(%s::text[]))"), [*params, list(values)])
            return cur.fetchall()
        for chunk in _chunks(values):
            cur.execute(sql.replace("{IN}", f"IN ({', '.join(['%s'] * len(chunk))})"), [*params, *chunk])
            rows.extend(cur.fetchall())
    return rows


def _sqlite_datetime(value: dt.datetime) -> str:
    """As Django stores an aware datetime on SQLite: naive UTC text ("2021-06-01 02:00:00[.ffffff]")."""
    return value.astimezone(dt.UTC).isoformat(" ")[:-6]  # without "+00:00"


def _reserve_ids(table: str, n: int) -> list[int]:
    """``n`` primary keys nobody else will use: a block above the AUTOINCREMENT high-water mark on SQLite
    (the transaction holds the write lock), values drawn from the identity sequence on PostgreSQL."""
    if n == 0:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cur.fetchone()
            cur.execute(f"SELECT max(id) FROM {table}")
            top = max(row[0] if row else 0, cur.fetchone()[0] or 0)
            return list(range(top + 1, top + n + 1))
        cur.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n]
        )
        return [r[0] for r in cur.fetchall()]


def _insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows holding datetimes: converted (see _time_text), then written by _write_rows."""
    if rows and connection.vendor == "sqlite":
        rows = list(map(_times_as_text(columns, _time_text("sqlite")), rows))
    _write_rows(table, columns, rows)


def _write_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """executemany on SQLite, COPY on PostgreSQL; no ORM, no per-row round trip. On SQLite, times must be
    text already (what _time_text makes)."""
    if not rows:
        return
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        marks = ", ".join("?" * len(columns))
        with connection.wrap_database_errors:  # the driver's errors as django.db's (IntegrityError …)
            connection.connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
        return
    with (
        connection.cursor() as cur,
        connection.wrap_database_errors,
        cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


FTS_TRIGGER = "beian_subject_fts_ai"  # registry migration 0004: indexes name_chars on INSERT
FTS_BULK_MIN = 100


@contextmanager
def _fts_trigger_suspended(ids: list[int]):
    """SQLite: index a batch's new subjects in the name index with one INSERT … SELECT.

    Row by row, the FTS5 insert trigger costs ~3x the rest of the subject insert. Inside the batch's
    transaction (which holds SQLite's single write lock) the trigger is dropped, the rows inserted, the
    index fed from them in one statement, and the trigger re-created from its own stored SQL: other
    connections only ever see the schema with the trigger, and a failure rolls all of it back.
    """
    with connection.cursor() as cur:
        cur.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [FTS_TRIGGER])
        row = cur.fetchone()
        if row is None:  # no name index in this schema: nothing to feed
            yield
            return
        cur.execute(f"DROP TRIGGER {FTS_TRIGGER}")
        yield
        cur.execute(
            "INSERT INTO beian_subject_fts (rowid, name_chars) "
            "SELECT id, name_chars FROM beian_subject WHERE id BETWEEN %s AND %s",
            [min(ids), max(ids)],  # the batch's reserved block: nobody else wrote inside it
        )
        cur.execute(row[0])


def _allocate(counter: str, n: int) -> int:
    """Raise counter ``counter`` by ``n`` in the caller's transaction; the first of the ``n`` values."""
    table = Counter._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET value = value + %s WHERE name = %s RETURNING value", [n, counter])
        row = cur.fetchone()
        if row is None:
            cur.execute(
                f"INSERT INTO {table} (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
                f"SET value = {table}.value + excluded.value RETURNING value",
                [counter, n],
            )
            row = cur.fetchone()
    return int(row[0]) - n + 1


def _owner_ids(usernames: Iterable[str], now: dt.datetime) -> tuple[dict[str, int], int]:
    """Ids of the owner accounts, creating missing ones (role applicant, unusable password) in bulk;
    also how many were created."""
    wanted = list(dict.fromkeys(usernames))
    found = dict(_select_in("SELECT username, id FROM beian_user WHERE username {IN}", wanted))
    missing = [u for u in wanted if u not in found]
    rows = []
    # "!" + random marks an unusable password (django.contrib.auth.hashers.UNUSABLE_PASSWORD_PREFIX): each is
    # secrets.token_urlsafe(30), 40 characters, cut from one draw (30 bytes are 40 base64 characters exactly)
    randoms = base64.urlsafe_b64encode(secrets.token_bytes(30 * len(missing))).decode("ascii")
    for i, (username, pk) in enumerate(
        zip(missing, _reserve_ids(User._meta.db_table, len(missing)), strict=True)
    ):
        password = "!" + randoms[40 * i : 40 * i + 40]
        rows.append((pk, password, False, username, "", "", "", False, True, now, "applicant", "", ""))
        found[username] = pk
    _insert_rows(User._meta.db_table, USER_COLUMNS, rows)
    return found, len(rows)


# --- one batch ---------------------------------------------------------------------------------------------------
@dataclass
class BatchResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0  # rows written (inserted or updated) in every table
    errors: list[LineError] = field(default_factory=list)


class _Batch:
    def __init__(
        self, batch: list[tuple[int, bytes]], prepared: Prepared, fast: _FastLoad | None = None
    ) -> None:
        self.batch = batch
        self.prepared = prepared
        self.fast = fast
        self.result = BatchResult(errors=list(prepared.errors))
        self.now = prepared.now

    def fail(self, plan: LinePlan | SubjectRec, exc: LineInvalid) -> None:
        self.result.errors.append(LineError(plan.line, exc.code, exc.message_zh, exc.message_en))

    def record(self, plan: LinePlan) -> SubjectRec:
        """The line parsed again (updates need the whole record, not rows): only for existing subjects."""
        if not hasattr(self, "_raws"):
            self._raws = dict(self.batch)
        return parse_line(self._raws[plan.line], plan.line)

    def run(self) -> None:
        plans = self.prepared.plans
        numbers = [p.number for p in plans]
        existing = dict(_select_in("SELECT number, id FROM beian_subject WHERE number {IN}", numbers))
        first, new, repeats, seen = [], [], [], set()
        for plan in plans:
            if plan.number in seen:
                repeats.append(plan)
            else:
                seen.add(plan.number)
                (first if plan.number in existing else new).append(plan)
        if self.fast is not None:
            if first or repeats:  # updates look subjects' websites and domains up: not without indexes
                self.fast.enabled = False
                self.fast.end()
            else:
                self.fast.maybe_begin()
        states = _load_states([existing[p.number] for p in first])
        for plan in first:
            self.update(self.record(plan), states[existing[plan.number]])
        new = self.precheck(new)
        if new:
            try:
                with transaction.atomic():
                    self.insert(new)
            except DatabaseError:
                # a conflict the checks could not see (committed meanwhile by another writer): the savepoint
                # undid the whole insert; now one line per savepoint, so that only the offending lines fail
                for plan in new:
                    self.insert_one(plan)
        for plan in repeats:
            pk = Subject.objects.filter(number=plan.number).values_list("id", flat=True).first()
            if pk is None:  # its first line failed: this one is new after all
                for ok in self.precheck([plan]):
                    self.insert_one(ok)
            else:
                self.update(self.record(plan), _load_states([pk])[pk])
        # numbers brought in from outside are never issued again (as filing_import does)
        top: dict[str, int] = {}
        for plan in plans:
            if plan.counter is not None:
                name, seq = plan.counter
                top[name] = max(top.get(name, 0), seq)
        for name, seq in sorted(top.items()):
            raise_counter(name, seq)

    # -- new subjects ---------------------------------------------------------------------------------------
    def precheck(self, plans: list[LinePlan]) -> list[LinePlan]:
        """Drop (and report) new lines that would break a constraint: checked before anything is written."""
        if not plans:
            return []
        held = "', '".join(HELD_DOMAIN_STATES)
        holders: dict[str, str | None] = dict(
            _select_in(
                "SELECT d.name, w.number FROM beian_domain d JOIN beian_website w ON w.id = d.website_id "
                f"WHERE d.status IN ('{held}') AND d.name {{IN}}",
                list(dict.fromkeys(c[0] for p in plans for c in p.claims)),
            )
        )
        live: dict[tuple[str, str], str | None] = {}
        by_type: dict[str, list[str]] = {}
        for p in plans:
            if p.live_certificate is not None:
                by_type.setdefault(p.live_certificate[0], []).append(p.live_certificate[1])
        states = "', '".join(LIVE_SUBJECT_STATES)
        for ctype, numbers in sorted(by_type.items()):
            # type = … AND number IN …: the (type, number) partial unique index answers it
            for c_number, s_number in _select_in(
                "SELECT certificate_number, number FROM beian_subject WHERE certificate_type = %s "
                f"AND status IN ('{states}') AND certificate_number {{IN}}",
                numbers,
                [ctype],
            ):
                live[ctype, c_number] = s_number
        # Website numbers are not looked up: each is its (new) subject's number plus -n, so none can exist
        # unless the registry holds an orphan, which the unique constraint and the line-by-line retry report.
        ok = []
        for p in plans:
            try:
                for name, uname, _ in p.claims:
                    if name in holders:
                        holder = holders[name]
                        raise _invalid(
                            "domain_held",
                            f"域名 {uname} 已在备案 {holder or '（进行中的订单）'} 中，同一域名只能有一个有效备案",
                            f"Domain {uname} is held by {holder or 'an order in progress'}: "
                            "one active filing per domain nationwide",
                        )
                key = p.live_certificate
                if key is not None and key in live:
                    raise _invalid(
                        "certificate_live",
                        f"证件 {key[1]} 已有有效主体 {live[key] or '（审核中）'}",
                        f"Certificate {key[1]} already has a live subject ({live[key] or 'pending'})",
                    )
            except LineInvalid as exc:
                self.fail(p, exc)
                continue
            for name, _, site_number in p.claims:  # later lines of the batch see what this one claims
                holders[name] = site_number
            if key is not None:
                live[key] = p.number
            ok.append(p)
        return ok

    def insert_one(self, plan: LinePlan) -> None:
        try:
            with transaction.atomic():
                self.insert([plan])
        except DatabaseError as exc:
            self.fail(plan, _database_refused(exc))

    def insert(self, plans: list[LinePlan]) -> None:
        """Write the prepared rows of ``plans`` with reserved ids in place of the local ones."""
        prep, now = self.prepared, self.now
        owners, created = _owner_ids((p.owner for p in plans), now)
        subject_ids = _reserve_ids(Subject._meta.db_table, len(plans))
        site_ids = iter(_reserve_ids(Website._meta.db_table, sum(p.sites for p in plans)))
        site_id: list[int] = [0] * len(prep.websites)  # local website index -> reserved id
        subjects, websites, domains, served = [], [], [], []
        all_subjects, all_sites, all_domains, all_served = (
            prep.subjects,
            prep.websites,
            prep.domains,
            prep.served,
        )
        for p, pk in zip(plans, subject_ids, strict=True):
            r = all_subjects[p.index]
            subjects.append((pk, *r[1:9], owners[p.owner], *r[10:]))
            for k in range(p.site0, p.site0 + p.sites):
                w = all_sites[k]
                site_id[k] = wid = next(site_ids)
                websites.append((wid, pk, *w[2:]))
            for d in all_domains[p.domain0 : p.domain0 + p.domains]:
                domains.append((site_id[d[0]], *d[1:]))
            for name, k in all_served[p.served0 : p.served0 + p.served]:
                served.append((name, site_id[k]))
        # SQLite: the public query's stored answers of the batch in one statement (lookup.answers)
        with answers.suspended_for_insert([w[0] for w in websites], subject_ids):
            if connection.vendor == "sqlite" and len(subjects) >= FTS_BULK_MIN:
                with _fts_trigger_suspended(subject_ids):
                    _write_rows(Subject._meta.db_table, SUBJECT_COLUMNS, subjects)
            else:
                _write_rows(Subject._meta.db_table, SUBJECT_COLUMNS, subjects)
            _write_rows(Website._meta.db_table, WEBSITE_COLUMNS, websites)
            _write_rows(Domain._meta.db_table, DOMAIN_COLUMNS, domains)
        if served:
            first = _allocate("feed", len(served))
            at = _time_text(connection.vendor)(now)
            feed = [
                (first + i, at, name, FeedAction.ALLOW.value, wid, FEED_REASON)
                for i, (name, wid) in enumerate(served)
            ]
            _write_rows(FeedEntry._meta.db_table, FEED_COLUMNS, feed)
        self.result.inserted += len(plans)
        self.result.rows += created + len(subjects) + len(websites) + len(domains) + len(served)

    # -- existing subjects ----------------------------------------------------------------------------------
    def update(self, rec: SubjectRec, state: _State) -> None:
        try:
            with transaction.atomic():
                rows = _apply_update(rec, state, self.now)
        except LineInvalid as exc:
            self.fail(rec, exc)
            return
        except DatabaseError as exc:
            self.fail(rec, _database_refused(exc))
            return
        if rows:
            self.result.updated += 1
            self.result.rows += rows
        else:
            self.result.unchanged += 1


def _database_refused(exc: Exception) -> LineInvalid:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return _invalid("database", f"数据库拒绝了这一行：{text}", f"The database refused this line: {text}")


# --- updates of existing subjects ----------------------------------------------------------------------------------
@dataclass
class _State:
    subject: dict
    owner: str
    websites: dict[str, dict]  # number -> row
    domains: dict[int, list[dict]]  # website id -> rows


_SUBJECT_STATE_FIELDS = ("id", *SUBJECT_COLUMNS[1:], "owner__username")
_WEBSITE_STATE_FIELDS = WEBSITE_COLUMNS
_DOMAIN_STATE_FIELDS = ("id", *DOMAIN_COLUMNS)


def _load_states(subject_ids: list[int]) -> dict[int, _State]:
    states: dict[int, _State] = {}
    for chunk in _chunks(subject_ids):
        for row in Subject.objects.filter(id__in=chunk).values(*_SUBJECT_STATE_FIELDS):
            states[row["id"]] = _State(row, row.pop("owner__username"), {}, {})
    site_ids: dict[int, int] = {}
    for chunk in _chunks(subject_ids):
        for row in Website.objects.filter(subject_id__in=chunk).values(*_WEBSITE_STATE_FIELDS):
            key = row["number"] or f"#{row['id']}"  # numberless (pending) websites are never matched
            states[row["subject_id"]].websites[key] = row
            site_ids[row["id"]] = row["subject_id"]
    for chunk in _chunks(list(site_ids)):
        for row in Domain.objects.filter(website_id__in=chunk).order_by("id").values(*_DOMAIN_STATE_FIELDS):
            states[site_ids[row["website_id"]]].domains.setdefault(row["website_id"], []).append(row)
    return states


def _subject_served(subject_id: int) -> set[str]:
    return set(
        Domain.objects.filter(
            website__subject_id=subject_id,
            website__status=WS.ACTIVE,
            website__served_here=True,
            status=DomainStatus.ACTIVE,
        ).values_list("name", flat=True)
    )


_FIXED = {
    "province": "省份",
    "certificate_type": "证件类型",
    "certificate_number": "证件号码",
}  # never change


def _apply_update(rec: SubjectRec, state: _State, now: dt.datetime) -> int:
    """Bring an existing subject to what the line says; the number of rows written (0: unchanged)."""
    subj = state.subject
    for key in _FIXED:
        if rec.values[key] != subj[key]:
            raise _invalid(
                "fixed_field",
                f"{rec.number} 的{_FIXED[key]}不能变更",
                f"The {key.replace('_', ' ')} of {rec.number} never changes",
            )
    cancelling = rec.values["status"] == SS.CANCELLED
    if subj["status"] == SS.CANCELLED and not cancelling:
        raise _invalid(
            "cancelled_stays",
            f"{rec.number} 已注销，注销的备案号不再使用",
            f"{rec.number} is cancelled; a cancelled number is never used again",
        )
    s_diff = {k: v for k, v in rec.values.items() if k not in _FIXED and subj.get(k, _MISSING) != v}
    if s_diff.get("website_counter", subj["website_counter"]) < subj["website_counter"]:
        del s_diff["website_counter"]  # the last sequence issued never goes back
    if s_diff.get("status") == SS.CANCELLED and "cancelled_at" not in rec.values:
        s_diff["cancelled_at"] = now
    owner_id = None
    if rec.owner is not None and rec.owner != state.owner:
        owner_id = _owner_ids([rec.owner], now)[0][rec.owner]
        s_diff["owner_id"] = owner_id
    # websites and domains: what differs, what is new
    site_updates: list[tuple[dict, dict]] = []  # (row, changes)
    site_inserts: list[WebsiteRec] = []
    domain_updates: list[tuple[dict, dict]] = []
    domain_inserts: list[tuple[WebsiteRec, dict | None, DomainRec]] = []
    listed: set[str] = set()
    for w in rec.websites:
        listed.add(w.number)
        row = state.websites.get(w.number)
        if row is None:
            site_inserts.append(w)
            domain_inserts.extend((w, None, d) for d in w.domains)
            continue
        if row["status"] == WS.CANCELLED and w.values["status"] != WS.CANCELLED:
            raise _invalid(
                "cancelled_stays",
                f"网站 {w.number} 已注销，注销的备案号不再使用",
                f"Website {w.number} is cancelled; a cancelled number is never used again",
            )
        changes = {k: v for k, v in w.values.items() if row.get(k, _MISSING) != v}
        if "is_shell" not in w.values and ("status" in changes or "served_here" in changes):
            status = w.values["status"]
            served = w.values.get("served_here", row["served_here"])
            shell = status == WS.ACTIVE and not served
            if shell != row["is_shell"]:
                changes["is_shell"] = shell
                if "shell_since" not in w.values:
                    changes["shell_since"] = now if shell else None
        if changes.get("status") == WS.CANCELLED:
            changes.setdefault("served_here", False)
            changes.setdefault("cancelled_at", now)
        if changes:
            site_updates.append((row, changes))
        existing = state.domains.get(row["id"], [])
        for d in w.domains:
            matches = [x for x in existing if x["name"] == d.name]
            if not matches:
                domain_inserts.append((w, row, d))
                continue
            held = [x for x in matches if x["status"] in HELD_DOMAIN_STATES]
            current = held[-1] if held else matches[-1]
            dchanges = {}
            if current["status"] != d.status:
                dchanges["status"] = d.status
                if d.status == DomainStatus.RELEASED:
                    dchanges["released_at"] = now
                else:
                    dchanges["activated_at"], dchanges["released_at"] = now, None
            for key, when in d.times.items():
                if current[key] != when:
                    dchanges[key] = when
                elif key in dchanges:
                    del dchanges[key]
            if current["unicode"] != d.unicode:
                dchanges["unicode"] = d.unicode
            if dchanges:
                domain_updates.append((current, dchanges))
    # 注销 cascades: a cancelled subject cancels all its websites, a cancelled website releases its domains
    cascade_sites = []
    if cancelling:
        for number, row in state.websites.items():
            if number not in listed and row["status"] == WS.ACTIVE:
                cascade_sites.append(row)
    if not (s_diff or site_updates or site_inserts or domain_updates or domain_inserts or cascade_sites):
        return 0
    # one domain, one active filing: say who holds it rather than fail on the constraint
    own_sites = {row["id"] for row in state.websites.values()}
    claimed = [d.name for _, _, d in domain_inserts if d.status == DomainStatus.ACTIVE]
    claimed += [cur["name"] for cur, ch in domain_updates if ch.get("status") == DomainStatus.ACTIVE]
    if claimed:
        for name, holder, site_id in Domain.objects.filter(
            name__in=claimed, status__in=HELD_DOMAIN_STATES
        ).values_list("name", "website__number", "website_id"):
            if site_id not in own_sites:
                raise _invalid(
                    "domain_held",
                    f"域名 {domain_rules.to_unicode(name)} 已在备案 {holder or '（进行中的订单）'} 中，同一域名只能有一个有效备案",
                    f"Domain {name} is held by {holder or 'an order in progress'}: one active filing per domain nationwide",
                )
    before = _subject_served(subj["id"])
    written = 0
    cancel_at = rec.values.get("cancelled_at") or now
    if s_diff:
        Subject.objects.filter(pk=subj["id"]).update(**s_diff)
        written += 1
    for row in cascade_sites:
        site_updates.append(
            (
                row,
                {
                    "status": WS.CANCELLED,
                    "served_here": False,
                    "is_shell": False,
                    "shell_since": None,
                    "cancelled_at": cancel_at,
                },
            )
        )
    released_sites: dict[int, dt.datetime] = {}  # website id -> its cancellation time
    for row, changes in site_updates:
        Website.objects.filter(pk=row["id"]).update(**changes)
        written += 1
        if changes.get("status") == WS.CANCELLED:
            released_sites[row["id"]] = changes.get("cancelled_at") or cancel_at
    # releases first, so that a domain moving between this subject's websites is free when claimed
    domain_updates.sort(key=lambda item: item[1].get("status") != DomainStatus.RELEASED)
    for current, dchanges in domain_updates:
        Domain.objects.filter(pk=current["id"]).update(**dchanges)
        written += 1
    for site_id, when in released_sites.items():  # what the line did not list is released too
        written += Domain.objects.filter(website_id=site_id, status__in=HELD_DOMAIN_STATES).update(
            status=DomainStatus.RELEASED, released_at=when
        )
    # new rows through the bulk writer too: the ORM's auto_now_add would overwrite a given created_at
    subject_row = {**subj, **s_diff}
    responsible = (
        subject_row["responsible_name"],
        subject_row["responsible_mobile"],
        subject_row["responsible_email"],
    )
    new_sites: dict[str, dict] = {}
    site_rows = []
    for w, pk in zip(site_inserts, _reserve_ids(Website._meta.db_table, len(site_inserts)), strict=True):
        site = _website_tuple(w, pk, subj["id"], responsible, now, _same)
        new_sites[w.number] = {"id": pk, "cancelled_at": site[_SITE_CANCELLED]}
        site_rows.append(site)
    _insert_rows(Website._meta.db_table, WEBSITE_COLUMNS, site_rows)
    domain_rows = []
    for w, row, d in domain_inserts:
        site = row if row is not None else new_sites[w.number]
        domain_rows.append(_domain_tuple(d, site["id"], site["cancelled_at"], now, _same))
    _insert_rows(Domain._meta.db_table, DOMAIN_COLUMNS, domain_rows)
    written += len(site_rows) + len(domain_rows)
    # derived subject fields: website counter, 空壳主体
    sites = Website.objects.filter(subject_id=subj["id"])
    top = max(
        [s or 0 for s in sites.values_list("sequence", flat=True)] + [rec.values.get("website_counter", 0)]
    )
    derived: dict[str, Any] = {}
    if top > (subject_row.get("website_counter") or 0):
        derived["website_counter"] = top
    if "is_shell" not in rec.values:
        shell = subject_row["status"] == SS.ACTIVE and not sites.filter(status=WS.ACTIVE).exists()
        if shell != subject_row["is_shell"]:
            derived["is_shell"] = shell
            if "shell_since" not in rec.values:
                derived["shell_since"] = now if shell else None
    if derived:
        Subject.objects.filter(pk=subj["id"]).update(**derived)
    if rec.counter is not None:
        raise_counter(*rec.counter)
    # the gate follows the registry: allow what is newly served, deny what no longer is
    after = _subject_served(subj["id"])
    site_of = dict(
        Domain.objects.filter(
            website__subject_id=subj["id"], name__in=after - before, status=DomainStatus.ACTIVE
        ).values_list("name", "website_id")
    )
    for name in sorted(after - before):
        feed_append(
            domain=name, action=FeedAction.ALLOW, reason=FEED_REASON, website=Website(pk=site_of[name])
        )
    for name in sorted(before - after):
        feed_append(domain=name, action=FeedAction.DENY, reason=FEED_REASON)
    return written + len(after ^ before)


# --- a first load into an empty registry: secondary indexes deferred -----------------------------------------
FAST_MIN_LINES = 100  # lines in the first batch for a fast load
FAST_LOCK = 0x6265_6961_6E01  # PostgreSQL advisory lock: one process decides on a fast load at a time
DEFERRED_TABLE = "beian_import_deferred"  # what a fast load dropped, with the DDL that re-creates it
FAST_TABLES = ("beian_subject", "beian_website", "beian_domain", "beian_feed")


def _fast_tables(cur) -> list[str]:
    """FAST_TABLES, and on PostgreSQL the public query's name bigrams (``lookup.bigrams``: 23.5 million rows at
    3,000,000 subjects, whose index is built in 12 s at the end where keeping it cost every batch) when present."""
    tables = list(FAST_TABLES)
    if connection.vendor == "postgresql":
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [bigrams.TABLE])
        if cur.fetchone()[0]:
            tables.append(bigrams.TABLE)
    return tables


_DEFERRED_DDL = (
    f"CREATE TABLE IF NOT EXISTS {DEFERRED_TABLE} (name varchar(128) PRIMARY KEY, kind varchar(16) NOT NULL, "
    "table_name varchar(64) NOT NULL, ddl text NOT NULL)"
)


class DeferredRestoreFailed(Exception):
    """An index or foreign key that a fast load dropped could not be re-created (it stays recorded)."""


def _deferrable(cur, tables: list[str]) -> list[tuple[str, str, str, str, str]]:
    """(name, kind, table, DDL that re-creates it, statement that drops it) of every index of the loaded
    tables that enforces nothing (unique ones, primary keys and the FTS triggers stay), and on PostgreSQL
    also their foreign keys (``tables``: ``_fast_tables``). Indexes before constraints: the order they are
    re-created in."""
    if connection.vendor == "sqlite":
        # an index backing a UNIQUE/PRIMARY KEY clause has no sql; a CREATE UNIQUE INDEX is kept too
        cur.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join(['%s'] * len(tables))}) ORDER BY tbl_name, name",
            tables,
        )
        return [
            (name, "index", table, sql, f'DROP INDEX "{name}"')
            for name, table, sql in cur.fetchall()
            if not re.match(r"\s*CREATE\s+UNIQUE\b", sql, re.IGNORECASE)
        ]
    cur.execute(
        "SELECT c.relname, t.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE i.indrelid IN (SELECT to_regclass(x) FROM unnest(%s::text[]) AS x) "
        "AND NOT i.indisunique AND NOT i.indisprimary ORDER BY t.relname, c.relname",
        [tables],
    )
    found = [(name, "index", table, ddl, f'DROP INDEX "{name}"') for name, table, ddl in cur.fetchall()]
    cur.execute(
        "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid IN (SELECT to_regclass(x) FROM unnest(%s::text[]) AS x) "
        "ORDER BY 2, 1",
        [tables],
    )
    for name, table, definition in cur.fetchall():
        found.append(
            (
                name,
                "constraint",
                table,
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}',
                f'ALTER TABLE {table} DROP CONSTRAINT "{name}"',
            )
        )
    return found


def _deferred_table_exists(cur) -> bool:
    return DEFERRED_TABLE in connection.introspection.table_names(cur)


def _registry_empty(cur, tables: list[str]) -> bool:
    for table in tables:
        cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
        if cur.fetchone() is not None:
            return False
    return True


def _defer_indexes() -> int:
    """In the caller's transaction (the first batch's): if the loaded tables are empty and nothing is deferred
    already, drop their non-unique indexes (and PostgreSQL's foreign keys) and record each with its DDL in
    DEFERRED_TABLE, in the same transaction: the record and the schema never disagree, whatever kills the
    import afterwards. Returns how many were dropped (0: the normal path)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # one process at a time decides (two that both upgraded their locks below would deadlock); the
            # others take the normal path. SQLite: BEGIN IMMEDIATE already serialises the writers.
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [FAST_LOCK])
            if not cur.fetchone()[0]:
                return 0
        tables = _fast_tables(cur)
        if not _registry_empty(cur, tables):
            return 0
        if connection.vendor == "postgresql":
            # DROP INDEX takes this lock anyway; taking it before the check stops a concurrent writer (or a
            # second import) from adding rows between the check and the drop. SQLite: BEGIN IMMEDIATE did.
            cur.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
            if not _registry_empty(cur, tables):
                return 0
        cur.execute(_DEFERRED_DDL)
        cur.execute(f"SELECT 1 FROM {DEFERRED_TABLE} LIMIT 1")
        if cur.fetchone() is not None:  # another load's drops are still recorded: it restores them
            return 0
        found = _deferrable(cur, tables)
        for name, kind, table, ddl, drop in found:
            cur.execute(
                f"INSERT INTO {DEFERRED_TABLE} (name, kind, table_name, ddl) VALUES (%s, %s, %s, %s)",
                [name, kind, table, ddl],
            )
            cur.execute(drop)
    return len(found)


def restore_deferred() -> int:
    """Re-create every index and foreign key a fast load dropped (see _defer_indexes); how many.

    Called at the start of every import (a killed fast load left them dropped) and after a fast load's last
    batch; meant for ``beian migrate`` and the server's start too. Each object is claimed by deleting its record in the transaction that
    re-creates it: two processes restoring at once never create one twice, and a failure rolls back to the
    recorded state. Raises :class:`DeferredRestoreFailed` (the rest are still attempted) when one cannot be
    re-created, for example a foreign key that a row written meanwhile violates."""
    with connection.cursor() as cur:
        if not _deferred_table_exists(cur):
            return 0
        cur.execute(
            f"SELECT name FROM {DEFERRED_TABLE} ORDER BY kind DESC, table_name, name"
        )  # indexes first
        names = [r[0] for r in cur.fetchall()]
    restored, failed = 0, []
    for name in names:
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(f"DELETE FROM {DEFERRED_TABLE} WHERE name = %s RETURNING ddl", [name])
                row = cur.fetchone()
                if row is None:  # restored meanwhile by another process
                    continue
                if connection.vendor == "postgresql":
                    cur.execute("SET LOCAL maintenance_work_mem = '256MB'")  # a GIN build's working memory
                cur.execute(row[0])
        except DatabaseError as exc:
            failed.append(f"{name}: {(str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]}")
            continue
        restored += 1
    if failed:
        raise DeferredRestoreFailed(
            "导入时暂时删除的索引或外键无法重建 / could not re-create what the import deferred: "
            + "; ".join(failed)
        )
    return restored


class _FastLoad:
    """The state of one import's fast load: begun in its first full batch, ended after its last one, or early
    when a batch meets subjects already in the database (updating them needs the indexes)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.active, self.dropped = enabled, False, 0

    def maybe_begin(self) -> None:
        if self.enabled:
            self.enabled = False  # decided once, in the first batch
            self.dropped = _defer_indexes()
            self.active = self.dropped > 0

    def end(self) -> None:
        if self.active:
            self.active = False
            restore_deferred()


# --- the import driver -----------------------------------------------------------------------------------------
def _pg_analyze() -> None:
    """PostgreSQL: planner statistics for the loaded tables. Also run during an import, after batches 1, 4,
    16, 64…: without statistics a first load's own checks were planned for a near-empty table (the live
    certificate check read each certificate type's whole index for every chunk of 4,000 numbers, so a 3M load
    slowed down as it grew, to 1,350 subjects a second past 2,000,000)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE beian_subject, beian_website, beian_domain")


def _pg_vacuum() -> None:
    """PostgreSQL, after an import: VACUUM (ANALYZE) the loaded tables (ANALYZE alone inside a transaction, where
    VACUUM cannot run). Freshly written rows are not yet all-visible, so every index-only scan of the public
    query (a name range, the stored answers' keys, the name bigrams) also reads the table's pages until autovacuum
    comes round, if it is on at all: at 3,000,000 subjects, 2.6 ms a name page instead of 0.7 (in-process, median).
    About 15 s at that size."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        # what the public query reads (the feed is the gate's)
        tables = ", ".join([t for t in _fast_tables(cur) if t != "beian_feed"] + [answers.TABLE])
    bigrams.recount()  # the names' bigrams as loaded: what a phrase's plan is judged on (lookup.selectors)
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {tables}" if connection.in_atomic_block else f"VACUUM (ANALYZE) {tables}")


def _power_of_four(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0 and n.bit_length() % 2 == 1


@dataclass
class ImportSummary:
    lines: int = 0  # non-blank lines read in this run
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    rows: int = 0
    elapsed: float = 0.0
    resumed_after: int = 0  # the checkpoint's line when --resume continued a previous run
    batches: int = 0
    restored: int = 0  # indexes and foreign keys a killed fast load had dropped, re-created first
    deferred: int = 0  # indexes and foreign keys this run dropped while loading (re-created at its end)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed else 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.elapsed if self.elapsed else 0.0


class CheckpointMismatch(Exception):
    """The input changed since its checkpoint was written: resuming would skip the wrong lines."""


def checkpoint_path(path: Path) -> Path:
    return path.with_name(path.name + ".checkpoint")


def _write_checkpoint(path: Path, data: dict) -> None:
    target = checkpoint_path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, target)  # atomic: a crash leaves the previous checkpoint or the new one


def read_checkpoint(path: Path) -> dict | None:
    try:
        return json.loads(checkpoint_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        raise CheckpointMismatch(f"{checkpoint_path(path)} is not a checkpoint this command wrote") from None


def run_batch(
    batch: list[tuple[int, bytes]],
    *,
    source: str,
    prepared: Prepared | None = None,
    fast: _FastLoad | None = None,
) -> BatchResult:
    """Check and write one batch in one transaction (with its audit entry); return what happened."""
    if prepared is None:
        prepared = prepare_batch(batch, connection.vendor)
    with transaction.atomic():
        work = _Batch(batch, prepared, fast)
        work.run()
        result = work.result
        result.errors.sort(key=lambda e: e.line)
        _audit_batch(source, batch[0][0], batch[-1][0], result)
    return result


def _audit_batch(source: str, first: int, last: int, result: BatchResult) -> None:
    audit_append(
        actor=None,
        action=AUDIT_ACTION,
        object_type="import",
        object_id=source[-64:],
        data={
            "file": source,
            "lines": [first, last],
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "failed": len(result.errors),
            "failed_lines": [e.line for e in result.errors[:200]],
        },
    )


SQLITE_CACHE_KIB = 256 * 1024


def _sqlite_cache(size: int | None) -> int | None:
    """Set this connection's SQLite ``cache_size`` (negative: KiB, positive: pages); return the previous
    value. Index pages of a growing registry soon outgrow the default 2 MiB, and each insert then reads
    them again: 10-40 % of an import."""
    if size is None or connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    previous = connection.connection.execute("PRAGMA cache_size").fetchone()[0]
    connection.connection.execute(f"PRAGMA cache_size = {int(size)}")
    return previous


TAIL = 4096  # bytes before the checkpoint's offset whose digest a resumed run checks


def _read_batches(
    fh: BinaryIO, first_line: int, batch_size: int, tail: bytes
) -> Iterator[tuple[list[tuple[int, bytes]], int, int, str]]:
    """(batch, last line number, bytes consumed, digest of the last TAIL bytes read so far).

    Blank lines are skipped (counted, not batched). The digest is kept from what was read, so that the
    checkpoint never needs to seek in a file another thread is reading."""
    batch: list[tuple[int, bytes]] = []
    raws: list[bytes] = []
    line, consumed = first_line - 1, 0
    for raw in fh:
        line += 1
        consumed += len(raw)
        raws.append(raw)
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte order mark
        if raw and not raw.isspace():  # as raw.strip() but without copying the line
            batch.append((line, raw))
        if len(batch) >= batch_size:
            tail = _keep_tail(tail, raws)
            yield batch, line, consumed, hashlib.sha256(tail).hexdigest()
            batch, raws, consumed = [], [], 0
    if batch or consumed:
        tail = _keep_tail(tail, raws)
        yield batch, line, consumed, hashlib.sha256(tail).hexdigest()


def _keep_tail(tail: bytes, raws: list[bytes]) -> bytes:
    picked, size = [], 0
    for raw in reversed(raws):
        picked.append(raw)
        size += len(raw)
        if size >= TAIL:
            break
    return (tail + b"".join(reversed(picked)))[-TAIL:]


def _parsed_ahead(batches: Iterator[tuple]) -> Iterator[tuple]:
    """Parse the next batches while this one is written: in worker processes when the machine has more than
    one CPU (parsing is pure Python and holds the GIL: measured 100-165 µs a line, as much as the writing),
    else in a thread. Parsing touches no database, so a forked worker needs no connection of its own."""
    workers = int(PARSE_WORKERS) if PARSE_WORKERS is not None else max(0, (os.cpu_count() or 1) - 1)
    vendor = connection.vendor
    if workers == 0:
        yield from _parsed_in_thread(batches, vendor)
        return
    import concurrent.futures
    import multiprocessing

    from django.db import connections

    connections.close_all()  # no connection is carried across fork(); the next query reopens it
    pending: collections.deque = collections.deque()
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork")
    ) as pool:
        try:
            for batch, last_line, consumed, digest in batches:
                pending.append(
                    (batch, last_line, consumed, digest, pool.submit(_prepare_packed, batch, vendor))
                )
                if len(pending) > workers:  # keep every worker busy one batch ahead, no more
                    *head, future = pending.popleft()
                    yield (*head, _unpack(future.result()))
            while pending:
                *head, future = pending.popleft()
                yield (*head, _unpack(future.result()))
        finally:
            for *_, future in pending:
                future.cancel()


def _prepare_packed(batch: list[tuple[int, bytes]], vendor: str) -> tuple[Prepared, bytes | None]:
    """prepare_batch in a worker, its row lists sent as one marshal blob: they hold only str, int, bool and
    None, which marshal writes ~3x faster than pickle (measured 4 against 12 µs a line), unpickled as fast."""
    out = prepare_batch(batch, vendor)
    try:
        rows = marshal.dumps((out.subjects, out.websites, out.domains, out.served))
    except ValueError:  # a value marshal does not write (a str subclass, say): pickle carries the lists
        return out, None
    out.subjects, out.websites, out.domains, out.served = [], [], [], []
    return out, rows


def _unpack(packed: tuple[Prepared, bytes | None]) -> Prepared:
    out, rows = packed
    if rows is not None:
        out.subjects, out.websites, out.domains, out.served = marshal.loads(rows)
    return out


def _parsed_in_thread(batches: Iterator[tuple], vendor: str) -> Iterator[tuple]:
    """Read and parse the next batch in a thread while this one is written (one CPU: the overlap is the
    database's own work, done with the GIL released). Stops the thread when abandoned."""
    ahead: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for batch, last_line, consumed, digest in batches:
                if not put((batch, last_line, consumed, digest, prepare_batch(batch, vendor))):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(done)

    thread = threading.Thread(target=work, name="beian-import-parse", daemon=True)
    thread.start()
    try:
        while True:
            item = ahead.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def import_jsonl(
    path: str | Path,
    *,
    batch_size: int = DEFAULT_BATCH,
    resume: bool = False,
    on_error: Callable[[LineError], None] | None = None,
    on_batch: Callable[[int, int, BatchResult], None] | None = None,
    stream: BinaryIO | None = None,
) -> ImportSummary:
    """Import a JSON Lines file (or ``stream``, without checkpoints) batch by batch; see the module doc.

    ``on_error(error)`` is called for every rejected line, ``on_batch(bytes, lines, result)`` after each
    committed batch. Raises :class:`CheckpointMismatch` when ``resume`` finds a checkpoint for other content.
    """
    started = time.perf_counter()
    summary = ImportSummary()
    src = Path(path)
    # A batch holds ~10^6 live objects (records, rows) and makes no cycles: the cyclic collector would only
    # rescan them again and again (15-25 % of the run). Off for the import, back on afterwards.
    collecting = gc.isenabled()
    gc.disable()
    cache_size: Any = _MISSING  # set on the first batch: starting the parse workers closes the connection
    fast = _FastLoad(enabled=False)  # decided on the first batch
    source = "-" if stream is not None else src.name
    offset, first_line, tail = 0, 1, b""
    fh: BinaryIO = stream if stream is not None else open(src, "rb")  # noqa: SIM115 - closed below
    try:
        if stream is None and resume:
            mark = read_checkpoint(src)
            if mark is not None:
                offset = mark.get("offset", -1)
                if not 0 <= offset <= os.fstat(fh.fileno()).st_size:
                    raise CheckpointMismatch(
                        f"{src} is shorter than its checkpoint (line {mark.get('line')})"
                    )
                fh.seek(max(0, offset - TAIL))
                tail = fh.read(offset - max(0, offset - TAIL))
                if hashlib.sha256(tail).hexdigest() != mark.get("tail_sha256"):
                    raise CheckpointMismatch(
                        f"{src} changed since its checkpoint (line {mark.get('line')}) was written"
                    )
                first_line = mark["line"] + 1
                summary.resumed_after = mark["line"]
        # whatever a killed fast load left dropped comes back before this run reads or writes anything
        summary.restored = restore_deferred()
        batches = _read_batches(fh, first_line, batch_size, tail)
        for batch, last_line, consumed, digest, parsed in _parsed_ahead(batches):
            if cache_size is _MISSING:
                cache_size = _sqlite_cache(-SQLITE_CACHE_KIB)
                # a fast load pays off from a batch's worth of rows; below that, keep the schema as it is
                fast.enabled = len(batch) >= FAST_MIN_LINES
            result = run_batch(batch, source=source, prepared=parsed, fast=fast) if batch else BatchResult()
            summary.deferred = max(summary.deferred, fast.dropped)
            offset += consumed
            summary.batches += 1 if batch else 0
            summary.lines += len(batch)
            summary.inserted += result.inserted
            summary.updated += result.updated
            summary.unchanged += result.unchanged
            summary.failed += len(result.errors)
            summary.rows += result.rows
            if stream is None:  # only after the commit: a resumed run never skips an uncommitted line
                _write_checkpoint(
                    src,
                    {
                        "input": str(src.resolve()),
                        "line": last_line,
                        "offset": offset,
                        "tail_sha256": digest,
                        "written_at": dt.datetime.now(BEIJING).isoformat(timespec="seconds"),
                    },
                )
            if on_error:
                for error in result.errors:
                    on_error(error)
            if on_batch:
                on_batch(consumed, len(batch), result)
            if summary.inserted and _power_of_four(summary.batches):
                _pg_analyze()  # the next batches' checks are planned on what is loaded by now
        fast.end()
    except BaseException:
        if fast.active:  # interrupted: put the indexes back now rather than at the next import or migrate
            with suppress(Exception):
                fast.end()
        raise
    finally:
        if stream is None:
            fh.close()
        if collecting:
            gc.enable()
        if cache_size is not _MISSING:
            _sqlite_cache(cache_size)
    if stream is None:
        checkpoint_path(src).unlink(missing_ok=True)  # done: a later --resume starts from the top
    if summary.inserted + summary.updated:
        # Planner statistics and the visibility map for what was just loaded: until autovacuum comes round,
        # PostgreSQL plans the public query through the partial status indexes with bitmap ANDs, at 3-90 ms a query
        # (measured), and its index-only scans read the table too.
        _pg_vacuum()
    if summary.inserted + summary.updated:
        optimize_name_index()  # SQLite: the batches' segments of the name index merged into one
    summary.elapsed = time.perf_counter() - started
    return summary


# --- export ------------------------------------------------------------------------------------------------------
def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(BEIJING).isoformat() if value is not None else None


def export_lines(*, chunk: int = 2000) -> Iterator[str]:
    """Every subject with a number, as JSON lines (without newline), in id order, page by page (keyset)."""
    subject_fields = (
        "id", "number", "province", "nature", "name", "certificate_type", "certificate_number", "address",
        "responsible_name", "responsible_mobile", "responsible_email", "status", "approved_at", "cancelled_at",
        "owner__username", "filing_password_hash", "responsible_certificate_type",
        "responsible_certificate_number", "website_counter", "is_shell", "shell_since", "created_at",
    )  # fmt: skip
    site_fields = (
        "id", "subject_id", "number", "name", "homepage", "content_type", "service_type", "responsible_name",
        "responsible_mobile", "responsible_email", "status", "served_here", "limit_access", "approved_at",
        "cancelled_at", "is_shell", "shell_since", "created_at",
    )  # fmt: skip
    last = 0
    while True:
        page = list(
            Subject.objects.filter(id__gt=last, number__isnull=False, status__in=[SS.ACTIVE, SS.CANCELLED])
            .order_by("id")
            .values(*subject_fields)[:chunk]
        )
        if not page:
            return
        last = page[-1]["id"]
        sites: dict[int, list[dict]] = {}
        site_rows = list(
            Website.objects.filter(
                subject_id__in=[s["id"] for s in page],
                number__isnull=False,
                status__in=[WS.ACTIVE, WS.CANCELLED],
            )
            .order_by("subject_id", "sequence", "id")
            .values(*site_fields)
        )
        domains: dict[int, list[dict]] = {}
        for part in _chunks([w["id"] for w in site_rows]):
            for d in (
                Domain.objects.filter(
                    website_id__in=part, status__in=[DomainStatus.ACTIVE, DomainStatus.RELEASED]
                )
                .order_by("id")
                .values("website_id", "name", "status", "activated_at", "released_at", "created_at")
            ):
                domains.setdefault(d.pop("website_id"), []).append(
                    {
                        "name": d["name"],
                        "status": d["status"],
                        "activated_at": _iso(d["activated_at"]),
                        "released_at": _iso(d["released_at"]),
                        "created_at": _iso(d["created_at"]),
                    }
                )
        for w in site_rows:
            sites.setdefault(w["subject_id"], []).append(
                {
                    "number": w["number"],
                    "name": w["name"],
                    "homepage": w["homepage"],
                    "content_type": w["content_type"],
                    "service_type": w["service_type"],
                    "responsible_name": w["responsible_name"],
                    "responsible_mobile": w["responsible_mobile"],
                    "responsible_email": w["responsible_email"],
                    "status": w["status"],
                    "served_here": w["served_here"],
                    "limit_access": w["limit_access"],
                    "approved_at": _iso(w["approved_at"]),
                    "cancelled_at": _iso(w["cancelled_at"]),
                    "is_shell": w["is_shell"],
                    "shell_since": _iso(w["shell_since"]),
                    "created_at": _iso(w["created_at"]),
                    "domains": domains.get(w["id"], []),
                }
            )
        for s in page:
            yield json.dumps(
                {
                    "number": s["number"],
                    "province": s["province"],
                    "nature": s["nature"],
                    "name": s["name"],
                    "certificate_type": s["certificate_type"],
                    "certificate_number": s["certificate_number"],
                    "address": s["address"],
                    "responsible_name": s["responsible_name"],
                    "responsible_mobile": s["responsible_mobile"],
                    "responsible_email": s["responsible_email"],
                    "status": s["status"],
                    "approved_at": _iso(s["approved_at"]),
                    "cancelled_at": _iso(s["cancelled_at"]),
                    "owner": s["owner__username"],
                    "filing_password_hash": s["filing_password_hash"],
                    "responsible_certificate_type": s["responsible_certificate_type"],
                    "responsible_certificate_number": s["responsible_certificate_number"],
                    "website_counter": s["website_counter"],
                    "is_shell": s["is_shell"],
                    "shell_since": _iso(s["shell_since"]),
                    "created_at": _iso(s["created_at"]),
                    "websites": sites.get(s["id"], []),
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )


def export_jsonl(out, *, on_subject: Callable[[int], None] | None = None) -> int:
    """Write every subject to the text stream ``out``; the number of subjects written.

    On PostgreSQL, outside any transaction, the pages are read from one snapshot (REPEATABLE READ); on
    SQLite a later page may see a commit made meanwhile (a read transaction would block writers here).
    """
    count = 0
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic() if snapshot else nullcontext():
        if snapshot:
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        buffer: list[str] = []
        for line in export_lines():
            buffer.append(line)
            count += 1
            if len(buffer) >= 1000:
                out.write("\n".join(buffer) + "\n")
                buffer.clear()
                if on_subject:
                    on_subject(1000)
        if buffer:
            out.write("\n".join(buffer) + "\n")
            if on_subject:
                on_subject(len(buffer))
    return count
