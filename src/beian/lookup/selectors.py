"""公共查询: one box for a filing number, a domain (or URL) or a subject name, answering exactly the fields
MIIT's public query shows — and nothing more (no responsible person, phone, e-mail, certificate number or
address, ever). Only active filings: a cancelled one is simply not found, which is how an applicant sees
that a cancellation took effect.

Name search ranks the exact name first, then names starting with the query, then names containing it.
Each tier is an index-limited query (the name index, then the per-character phrase index — FTS5 on
SQLite, full-text GIN on PostgreSQL — see ``registry.search``), so a two-character query costs what a
longer one does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from beian.registry.search import spaced
from beian.rules import domains as domain_rules
from beian.rules import filing_numbers, natures
from beian.rules.errors import RulesError

PAGE_SIZE = 20
MAX_PAGE = 50
MAX_QUERY = 200
TOP = "\U0010ffff"

WEBSITE_SQL = """
SELECT s.id, s.name, s.nature, s.number, w.number, w.name, w.homepage, w.approved_at, w.content_type, w.limit_access, w.id
FROM beian_website w JOIN beian_subject s ON s.id = w.subject_id
WHERE {where} AND w.status = 'active' AND s.status = 'active'
ORDER BY s.id, w.sequence
"""
DOMAINS_SQL = "SELECT website_id, unicode FROM beian_domain WHERE status = 'active' AND website_id IN ({ids}) ORDER BY id"


@dataclass(frozen=True)
class Detected:
    kind: str  # filing_number | domain | name | empty
    value: str  # canonical number, filing domain (A-label) or the name text
    number: filing_numbers.FilingNumber | None = None


def detect(q: str) -> Detected:
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return Detected("empty", "")
    try:
        number = filing_numbers.parse(q)
        return Detected("filing_number", number.canonical, number)
    except RulesError:
        pass
    if "." in q or "。" in q or "://" in q:
        try:
            return Detected("domain", domain_rules.analyze(q).filing_name)
        except RulesError:
            pass
    return Detected("name", q)


def _rows(where: str, params: list) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute(WEBSITE_SQL.format(where=where), params)
        rows = cur.fetchall()
        if not rows:
            return []
        ids = [r[10] for r in rows]
        cur.execute(DOMAINS_SQL.format(ids=",".join(["%s"] * len(ids))), ids)
        by_site: dict[int, list[str]] = {}
        for website_id, name in cur.fetchall():
            by_site.setdefault(website_id, []).append(name)
    table = natures.natures()
    return [
        {
            "subject_id": r[0],
            "unit_name": r[1],
            "nature": table[r[2]].name if r[2] in table else r[2],
            "subject_number": r[3],
            "website_number": r[4],
            "website_name": r[5],
            "homepage": r[6],
            "domain": ", ".join(by_site.get(r[10], [])),
            "approved_at": r[7].date().isoformat()
            if hasattr(r[7], "date")
            else (str(r[7])[:10] if r[7] else None),
            "content_type": r[8] or "无",
            "limit_access": bool(r[9]),
        }
        for r in rows
    ]


def _by_number(number: filing_numbers.FilingNumber) -> list[dict]:
    if number.is_subject:
        return _rows("s.number = %s", [number.canonical])
    return _rows("w.number = %s", [number.canonical])


def _by_domain(name: str) -> list[dict]:
    return _rows(
        "w.id IN (SELECT website_id FROM beian_domain WHERE name = %s AND status = 'active')", [name]
    )


def _name_ids(q: str, want: int) -> list[int]:
    """Subject ids matching ``q``: exact, then prefix, then contains; at most ``want``, active only."""
    if "\x00" in q:
        return []  # no name holds a NUL (and PostgreSQL text cannot even compare one)
    ids: list[int] = []
    seen: set[int] = set()

    def take(sql: str, params: list) -> None:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            for (pk,) in cur.fetchall():
                if pk not in seen:
                    seen.add(pk)
                    ids.append(pk)

    pg = connection.vendor == "postgresql"
    col = 'name COLLATE "C"' if pg else "name"
    take(
        f"SELECT id FROM beian_subject WHERE {col} = %s AND status = 'active' ORDER BY id LIMIT %s", [q, want]
    )
    if len(ids) < want:
        take(
            f"SELECT id FROM beian_subject WHERE {col} >= %s AND {col} < %s AND status = 'active' ORDER BY {col}, id LIMIT %s",
            [q, q + TOP, want + len(ids)],
        )
    tokens = spaced(q)
    if len(ids) < want and tokens:
        more = want - len(ids) + len(seen)
        if pg:
            take(
                "SELECT id FROM beian_subject WHERE to_tsvector('simple', name_chars) @@ phraseto_tsquery('simple', %s) "
                "AND status = 'active' LIMIT %s",
                [tokens, more],
            )
        else:
            phrase = '"' + tokens.replace('"', '""') + '"'
            take(
                "SELECT s.id FROM beian_subject_fts f JOIN beian_subject s ON s.id = f.rowid "
                "WHERE beian_subject_fts MATCH %s AND s.status = 'active' LIMIT %s",
                [phrase, more],
            )
    return ids[:want]


def _by_name(q: str, page: int) -> tuple[list[dict], bool]:
    want = page * PAGE_SIZE + 1
    ids = _name_ids(q, want)
    page_ids = ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not page_ids:
        return [], False
    rows = _rows(f"s.id IN ({','.join(['%s'] * len(page_ids))})", page_ids)
    order = {pk: i for i, pk in enumerate(page_ids)}
    rows.sort(key=lambda r: order[r["subject_id"]])
    return rows, len(ids) > page * PAGE_SIZE


def public_query(q: str, page: int = 1) -> dict:
    page = max(1, min(int(page or 1), MAX_PAGE))
    detected = detect(q)
    more = False
    if detected.kind == "filing_number":
        rows = _by_number(detected.number)
    elif detected.kind == "domain":
        rows = _by_domain(detected.value)
    elif detected.kind == "name":
        rows, more = _by_name(detected.value, page)
    else:
        rows = []
    if detected.kind in ("filing_number", "domain"):
        more = len(rows) > page * PAGE_SIZE
        rows = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    for row in rows:
        del row["subject_id"]
    return {
        "query": {"q": (q or "")[:MAX_QUERY], "detected": detected.kind},
        "results": rows,
        "next": page + 1 if more else None,
    }
