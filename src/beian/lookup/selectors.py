"""公共查询: one box for a filing number, a domain (or URL) or a subject name, answering exactly the fields
MIIT's public query shows — and nothing more (no responsible person, phone, e-mail, certificate number or
address, ever). Only active filings: a cancelled one is simply not found, which is how an applicant sees
that a cancellation took effect.

Name search ranks names starting with the query first (the exact name is the first of them), then names
containing it. Every query is one SQL statement — the websites, their subjects and their domains (aggregated
in the same statement; a name page reads each subject's stored answer, ``lookup.answers``) — because
on this hot path each statement costs about as much as the database work behind it. A name query's two tiers are index-limited in that statement: the name index for the prefix, the
bigram index for the contains part (FTS5 on SQLite, full-text GIN on PostgreSQL — see ``registry.search``).
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass
from json.encoder import encode_basestring  # the C string encoder behind json.dumps

from django.db import connection, transaction

from beian.lookup.db import fetch
from beian.registry.search import query_terms, rare_bigrams
from beian.rules import domains as domain_rules
from beian.rules import filing_numbers, natures
from beian.rules.errors import RulesError

PAGE_SIZE = 10
MAX_PAGE = 50
MAX_QUERY = 200
TOP = "\U0010ffff"

# A website's active domains, in id order (``{domains}`` below; ``lookup.answers`` stores objects built with
# another form of it).
DOMAINS = {
    "sqlite": """coalesce((SELECT group_concat(unicode, ', ') FROM (SELECT d.unicode FROM beian_domain d
    WHERE d.website_id = w.id AND d.status = 'active' ORDER BY d.id)), '')""",
    "postgresql": """coalesce((SELECT string_agg(d.unicode, ', ' ORDER BY d.id) FROM beian_domain d
    WHERE d.website_id = w.id AND d.status = 'active'), '')""",
}
# Each answer row is built as a JSON object by the database itself (SQLite's JSON functions, PostgreSQL's
# json_build_object): the hot path then joins the page's objects into the response without converting,
# building and re-serialising some 200 values in Python — on a page of names that was most of a request's
# work. The domains of a website are aggregated in the same statement, in id order; approved_at is shown as
# its date in UTC; a subject's nature by its Chinese name (``{natures}``, from rules.natures).
OBJECT = {
    "sqlite": """json_object('unit_name', s.name, 'nature', {natures}, 'subject_number', s.number,
  'website_number', w.number, 'website_name', w.name, 'homepage', w.homepage,
  'domain', {domains},
  'approved_at', substr(w.approved_at, 1, 10), 'content_type', coalesce(nullif(w.content_type, ''), '无'),
  'limit_access', CASE WHEN w.limit_access THEN json('true') ELSE json('false') END)""",
    "postgresql": """json_build_object('unit_name', s.name, 'nature', {natures}, 'subject_number', s.number,
  'website_number', w.number, 'website_name', w.name, 'homepage', w.homepage,
  'domain', {domains},
  'approved_at', to_char(w.approved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
  'content_type', coalesce(nullif(w.content_type, ''), '无'), 'limit_access', w.limit_access)::text""",
}
BY_KEY = """SELECT {object}, s.id
FROM beian_website w JOIN beian_subject s ON s.id = w.subject_id
WHERE {where} AND w.status = 'active' AND s.status = 'active'
ORDER BY s.id, w.sequence LIMIT %(limit)s OFFSET %(offset)s"""
WHERE = {
    "subject": "s.number = %(key)s",
    "website": "w.number = %(key)s",
    "domain": "w.id IN (SELECT website_id FROM beian_domain WHERE name = %(key)s AND status = 'active')",
}

# Names: the prefix tier (byte order, exact name first) and the contains tier (its scan order, see CONTAINS),
# merged and paged in SQL; the page's subjects then joined to their stored answers (``lookup.answers``: each active
# subject's websites' objects, joined). One more subject than a page is fetched to tell whether a next page exists.
# Each tier takes only subjects with a stored answer ({listed}): a 空壳 subject (active, no active website left)
# has nothing to show, and a page must not spend one of its ten places on it.
NAME = """WITH p AS (
  SELECT id, {name} AS k FROM beian_subject WHERE {name} >= %(q)s AND {name} < %(top)s AND status = 'active'
  AND {listed}
  ORDER BY k, id LIMIT %(want)s
), hits AS (
  SELECT 0 AS tier, k, 0 AS o, id FROM p{contains}
), pg AS (
  SELECT tier, k, o, id FROM hits ORDER BY tier, k, o, id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT a.objects, pg.id FROM pg JOIN beian_subject_answer a ON a.subject_id = pg.id
ORDER BY pg.tier, pg.k, pg.o, pg.id"""
# The contains tier is paged in the order its scan yields (``o``): each page takes the first ``want`` matches
# of the same scan, so page n+1's matches extend page n's. FTS5 yields rowid (= id) order; PostgreSQL's GIN
# bitmap scan yields heap order, which an update can change: sorting its first ``want`` by id instead would
# page through a different set each time and skip a renamed subject on every page.
CONTAINS = {
    "sqlite": """
  UNION ALL SELECT 1, '', c.id, c.id FROM (
    SELECT s.id FROM beian_subject_fts f JOIN beian_subject s ON s.id = f.rowid
    WHERE beian_subject_fts MATCH %(term)s AND s.status = 'active' AND {listed_s} LIMIT %(want)s
  ) c WHERE c.id NOT IN (SELECT id FROM p)""",
    "postgresql": """
  UNION ALL SELECT 1, '', c.o, c.id FROM (
    SELECT id, row_number() OVER () AS o FROM (
      SELECT id FROM beian_subject WHERE to_tsvector('simple', name_chars) @@ {tsquery}
      AND {active} AND {listed} LIMIT %(want)s
    ) x
  ) c WHERE c.id NOT IN (SELECT id FROM p)""",
}

# SQLite, a phrase of two bigrams or more with an uncommon one: FTS5 is asked for the uncommon bigrams only (in any
# order) and each row is checked for the whole phrase with ``instr`` on the stored bigrams (a match can only start
# on a token, see PG_PHRASE): the common bigrams' long position lists are not walked. Rowid order, as CONTAINS.
# At 3,000,000 subjects the contains tier of the bench's names cost 210 → 114 µs on average (p99 1.2 → 0.6 ms).
SQLITE_RARE = """
  UNION ALL SELECT 1, '', c.id, c.id FROM (
    SELECT s.id FROM beian_subject_fts f JOIN beian_subject s ON s.id = f.rowid
    WHERE beian_subject_fts MATCH %(rare)s AND s.status = 'active' AND instr(s.name_chars, %(spaced)s) > 0
    AND {listed_s} LIMIT %(want)s
  ) c WHERE c.id NOT IN (SELECT id FROM p)"""

# PostgreSQL, a phrase (2+ characters). A GIN bitmap scan reads every posting list it is given before any LIMIT:
# a phrase of common bigrams (科技有限公司, in most names) cost 130 ms at 3,000,000 subjects. So the GIN scan is
# given only the phrase's uncommon bigrams (registry.search.COMMON_BIGRAMS) and each row is checked for the whole
# phrase with ``strpos`` on the stored bigrams (tokens are two characters between single spaces, so a match can
# only start on a token: it is the phrase match).
PG_PHRASE = """
  UNION ALL SELECT 1, '', c.o, c.id FROM (
    SELECT id, row_number() OVER () AS o FROM (
      SELECT id FROM beian_subject WHERE to_tsvector('simple', name_chars) @@ plainto_tsquery('simple', %(rare)s)
      AND strpos(name_chars, %(term)s) > 0 AND {active} AND {listed} LIMIT %(want)s
    ) x
  ) c WHERE c.id NOT IN (SELECT id FROM p)"""
# PostgreSQL, a phrase with a page of matches in the sample: the rows of its rarest bigram (``rare``) in the bigram
# table (``lookup.bigrams``), in subject id order, each name checked for the whole phrase; it stops after ``want``
# matches where the GIN index would read every posting list first.
PG_POSTING = """
  UNION ALL SELECT 1, '', c.id, c.id FROM (
    SELECT b.subject_id AS id FROM beian_subject_bigram b JOIN beian_subject s ON s.id = b.subject_id
    WHERE b.bigram = %(rare)s AND strpos(s.name_chars, %(term)s) > 0 AND {listed_s}
    ORDER BY b.subject_id LIMIT %(want)s
  ) c WHERE c.id NOT IN (SELECT id FROM p)"""
# PostgreSQL, a two-character query (one bigram): its rows are exactly the names holding it, so none is fetched to be
# checked, each only looked up among the stored answers. A two-character brand (腾讯, 6,499 names at 3,000,000
# subjects) cost 1.3 ms a page through the GIN index; 0.43 ms so with each name fetched (PG_POSTING), 0.38 without.
PG_BIGRAM = """
  UNION ALL SELECT 1, '', c.id, c.id FROM (
    SELECT b.subject_id AS id FROM beian_subject_bigram b WHERE b.bigram = %(rare)s AND {listed_b}
    ORDER BY b.subject_id LIMIT %(want)s
  ) c WHERE c.id NOT IN (SELECT id FROM p)"""
# A phrase common as a whole (餐饮管, 管理有限责任, 科技) on PostgreSQL, and a common character on both: read in id order
# from the primary key (the order FTS5 yields too), each name checked for the phrase or the character on the stored
# bigrams (``{instr}``: strpos or instr); it stops after ``want`` matches, where a GIN bitmap scan first reads whole
# posting lists of tens of thousands of rows (20-60 ms at 3,000,000 subjects) and a one-character prefix query
# merges the lists of every bigram starting with it, on FTS5 too. Which costs less is judged per query from a
# sample of the names (``_pg_phrase_plan``, ``_char_plan``).
ORDERED = """
  UNION ALL SELECT 1, '', c.id, c.id FROM (
    SELECT id FROM beian_subject WHERE {active} AND {instr}(name_chars, %(term)s) > 0 AND {listed}
    ORDER BY id LIMIT %(want)s
  ) c WHERE c.id NOT IN (SELECT id FROM p)"""

# PostgreSQL runs a name page through a PL/pgSQL function (``ensure_name_function``) holding the NAME statement of
# every variant: PL/pgSQL keeps each statement's plan for the session, so a name query is no longer parsed and
# planned every time (planning alone was about 0.25 ms of a 0.45 ms statement), and the call itself is a prepared
# statement (lookup.db). The plans are generic — built for any parameter values — which is the trap in
# PERFORMANCE.md: for a text-search condition with an unknown query the planner guesses a share of the table
# (0.5 %) and, under a LIMIT, a sequential scan that stops early looks cheapest. Inside the function sequential
# scans are off (its SET clause, undone on return). What is left at any real size is the plan a custom plan
# gets: the prefix tier a range of the name index in its order, the contains tier the bigram index's match (or
# the primary key in id order), the page's answers by primary key; a walk of another index filtering every row
# costs the whole table too. Only a table of a few pages plans otherwise, where it costs nothing
# (tests/lookup/test_pg_execution.py checks the plans at 20,000 subjects).
PG_NAME_FUNCTION = "beian_name_page"
PG_NAME_VARIANTS = (  # "": a query with no indexed character
    "prefix",
    "all",
    "phrase",
    "ordered",
    "posting",
    "bigram",
    "",
)
# No parallel workers either: starting them costs about 5 ms, and with the "active" test hidden from the
# statistics (PG_ACTIVE) the id-order scan looked long enough to share out. No JIT: a generic plan's cost
# estimates (millions, for a scan whose LIMIT stops it after a page) passed jit_above_cost, and compiling its
# expressions cost 150-250 ms on every execution at 3,000,000 subjects.
PG_NAME_SETTINGS = [
    "enable_seqscan=off",
    "jit=off",
    "max_parallel_workers_per_gather=0",
    "plan_cache_mode=force_generic_plan",
]
PG_NAME_PARAMS = (  # the function's parameters, as the statements' %(name)s placeholders are named
    ("variant", "text"),
    ("q", "text"),
    ("top", "text"),
    ("term", "text"),
    ("rare", "text"),
    ("want", "integer"),
    ("limit", "integer"),
    ("offset", "integer"),
)
PG_NAME_CALL = (
    f"SELECT r_objects, r_id FROM {PG_NAME_FUNCTION}("
    + ", ".join(f"%({n})s::{t}" for n, t in PG_NAME_PARAMS)
    + ")"
)

SAMPLE_SIZE = 5000  # names in the sample a phrase's or a character's plan is judged on
SAMPLE_TTL = 600.0  # seconds before the sample is read again
ORDERED_ROW_COST = (
    2  # a row read in id order and checked costs about two GIN posting-list items (measured: 1.3-5)
)
POSTING_ROW_COST = (
    4  # a bigram row walked in id order, its name fetched and checked (lookup.bigrams), likewise
)
MIN_SAMPLE_HITS = 3  # fewer matches in the sample say too little about how far an id-order scan would read
FEW_ROWS = 200  # a phrase no sampled name holds, whose rarest bigram has fewer rows: GIN on its two rarest
LONG_ROWS = 5000  # … unless the second has this many rows or more: then on the rarest alone
MAX_CHECKED = 256  # sampled names checked for the whole phrase at most (the rest scaled from them)


@dataclass(frozen=True)
class _Sample:
    names: list[str]  # name_chars of the active subjects sampled
    postings: dict[str, list[int]]  # bigram → positions in ``names``
    chars: dict[str, tuple[int, int]]  # character → (names holding it, tokens starting with it)
    rows: dict[str, int]  # bigram → subjects holding it, as last counted (lookup.bigrams.counts; {} if never)
    active: float  # active subjects in the table, about
    taken_at: float


_sample: _Sample | None = None


def _name_sample() -> _Sample:
    """A sample of the active subjects' indexed names, read again every SAMPLE_TTL seconds. It only steers the
    choice of plan; the answer is the same whichever plan runs."""
    global _sample
    now = time.monotonic()
    sample = _sample
    if sample is not None and now - sample.taken_at < SAMPLE_TTL:
        return sample
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'beian_subject'::regclass")
            total = cur.fetchone()[0]
            if total < 4 * SAMPLE_SIZE:  # small, or never analysed: count it (bounded), read it all if small
                cur.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM beian_subject LIMIT %s) x", [4 * SAMPLE_SIZE + 1]
                )
                total = cur.fetchone()[0]
        else:  # SQLite: ids are dense (rows are rarely deleted), and max(id) is one lookup where count(*) reads all
            cur.execute("SELECT coalesce(max(id), 0) FROM beian_subject")
            total = cur.fetchone()[0]
        probed = None
        if total <= 4 * SAMPLE_SIZE:
            cur.execute("SELECT name_chars, status FROM beian_subject")
        elif connection.vendor == "postgresql":  # pages picked by a fixed seed: every worker judges alike
            percent = min(100.0, 100.0 * SAMPLE_SIZE / total)
            cur.execute(
                "SELECT name_chars, status FROM beian_subject TABLESAMPLE SYSTEM (%s) REPEATABLE (7)",
                [percent],
            )
        else:  # every step-th id: the same sample in every worker
            step = total // SAMPLE_SIZE
            probed = total // step
            cur.execute(
                "WITH RECURSIVE ids(x) AS (SELECT %s UNION ALL SELECT x + %s FROM ids WHERE x + %s <= %s) "
                "SELECT name_chars, status FROM beian_subject JOIN ids ON id = x",
                [step, step, step, total],
            )
        rows = cur.fetchall()
    names = [n for n, status in rows if status == "active"]
    postings: dict[str, list[int]] = {}
    holding: dict[str, int] = {}
    for i, n in enumerate(names):
        for token in n.split():
            postings.setdefault(token, []).append(i)
        for ch in set(n.replace(" ", "")):
            holding[ch] = holding.get(ch, 0) + 1
    starting: dict[str, int] = {}
    for token, positions in postings.items():
        starting[token[0]] = starting.get(token[0], 0) + len(positions)
    chars = {ch: (count, starting.get(ch, 0)) for ch, count in holding.items()}
    active = total * len(names) / (probed or len(rows)) if rows else 0.0
    from beian.lookup import bigrams  # not at the top: bigrams → answers → here

    _sample = sample = _Sample(names, postings, chars, bigrams.counts(), active, now)
    return sample


def _pg_phrase_plan(term: str) -> tuple[str, str | None]:
    """How PostgreSQL looks for a phrase of bigrams (``term``): (plan, its ``rare`` parameter). "bigram" (one bigram:
    its rows in id order, which are its matches), "posting" (the rows of the phrase's rarest bigram in id order, each
    name checked for the phrase), "ordered" (names in id order), "phrase" (GIN on some of its bigrams, each row
    checked for the phrase) or "all" (GIN on all its bigrams, when every one is common and they were never
    counted). It depends on the phrase, the sample and the bigram counts only, not on the page, so every page of a
    query takes the same plan (the contains tier's order).

    Measured on the bench's 2,000 names at 3,000,000 subjects (docs/performance.md, session 8): a phrase the sample
    holds at all is found soonest along its rarest bigram's rows, whatever their number (0.67 against 2.76 ms
    through GIN for phrases held twice); one it holds three times or more is judged by the estimates
    (``_cheaper``); one it never holds goes to GIN (``_unsampled``)."""
    bigrams = term.split()
    if len(bigrams) == 1:
        return "bigram", term
    sample = _name_sample()
    rare = rare_bigrams(term)
    looked_up = rare.split() or bigrams
    counts = [len(sample.postings.get(b, ())) for b in looked_up]
    shortest = min(counts)
    found = 0
    if shortest:
        positions = sample.postings[looked_up[counts.index(shortest)]]
        checked = positions[:: max(1, len(positions) // MAX_CHECKED)]  # evenly spread: a few µs, not 0.1 ms
        found = sum(term in sample.names[i] for i in checked)
    if not found:
        return _unsampled(bigrams, rare, sample)
    rows = sample.rows or {b: len(sample.postings.get(b, ())) for b in bigrams}  # counted, else as sampled
    rarest = min(bigrams, key=lambda b: rows.get(b, 0))
    if found < MIN_SAMPLE_HITS:
        return "posting", rarest
    hits = found * len(positions) / len(checked)
    walked = (PAGE_SIZE + 1) * len(sample.postings.get(rarest, ())) / hits  # rows until a first page, about
    plan = _cheaper(sample, hits, shortest, "phrase" if rare else "all", walked)
    return plan, {"posting": rarest, "phrase": rare}.get(plan)


def _unsampled(bigrams: list[str], rare: str, sample: _Sample) -> tuple[str, str | None]:
    """The GIN plan of a phrase no sampled name holds: its matches are few, and what it costs is the posting lists
    read and the rows they leave to fetch. Given the bigram counts, a phrase whose rarest bigram has fewer than
    FEW_ROWS rows asks for that bigram and the next rarest (both lists short, few rows left to check), or the rarest
    alone when the next has LONG_ROWS or more; otherwise for its uncommon bigrams (registry.search.COMMON_BIGRAMS),
    or, all being common, its two rarest (GIN on every bigram of 易有限责任公 read 2 million entries: 32 ms)."""
    if not sample.rows:
        return ("phrase", rare) if rare else ("all", None)
    # a bigram not counted has no row (or only rows newer than the count)
    ranked = sorted(bigrams, key=lambda b: sample.rows.get(b, 0))
    if sample.rows.get(ranked[0], 0) < FEW_ROWS:
        return "phrase", " ".join(ranked[: 1 if sample.rows.get(ranked[1], 0) >= LONG_ROWS else 2])
    return "phrase", rare or " ".join(ranked[:2])


def _char_plan(char: str) -> str:
    """How one character is looked for: "ordered" or "prefix" (the index's every bigram starting with it — all their
    posting lists, merged: a common character such as 公 or 州 cost 80-100 ms on PostgreSQL at 3,000,000 subjects,
    7-10 ms on SQLite at 400,000), the cheaper by the sample's estimate, as ``_pg_phrase_plan``."""
    sample = _name_sample()
    holding, starting = sample.chars.get(char, (0, 0))
    if holding < MIN_SAMPLE_HITS:
        return "prefix"
    return _cheaper(sample, holding, starting, "prefix")


def _cheaper(sample: _Sample, hits: float, items: int, by_index: str, walked: float | None = None) -> str:
    """The plan that costs least by the sample (``hits``: matches in it): "ordered" (names read in id order until a
    first page), "posting" (``walked`` bigram rows, when given) or ``by_index`` (the index reading ``items``
    posting-list entries in the sample)."""
    n = len(sample.names)
    costs = {"ordered": (PAGE_SIZE + 1) * n / hits * ORDERED_ROW_COST}
    if walked is not None:
        costs["posting"] = walked * POSTING_ROW_COST
    costs[by_index] = items * sample.active / n  # the posting-list entries the index reads, about
    return min(costs, key=costs.get)  # the first of equals: id order


@dataclass(frozen=True)
class Detected:
    kind: str  # filing_number | domain | name | empty
    value: str  # canonical number, filing domain (A-label) or the name text
    number: filing_numbers.FilingNumber | None = None


# Every filing number and licence holds ASCII digits once NFKC-folded, as the parser reads it (fullwidth ３,
# circled ③ and the like fold to them): a query without any, most names, skips the parser, whose failure costs
# about 10 µs (a tenth of a name page's statement at 3,000,000 subjects).
_ASCII_DIGIT = re.compile(r"[0-9]")


def detect(q: str) -> Detected:
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return Detected("empty", "")
    if _ASCII_DIGIT.search(unicodedata.normalize("NFKC", q)):
        try:
            number = filing_numbers.parse(q)
            return Detected("filing_number", number.canonical, number)
        except RulesError:
            pass
    if "." in q or "。" in q or "://" in q:
        try:
            return Detected("domain", _filing_name(q))
        except RulesError:
            pass
    return Detected("name", q)


# A plain lower-case LDH host name (after an optional http(s):// and before an optional "/"), no "--": IDNA
# maps it to itself, so its filing name is a public-suffix lookup away, without analyze()'s IDNA 2008/UTS #46
# work (most of a domain query's cost). Anything else goes through analyze(); tests check that both agree.
_URL_OF_HOST = re.compile(r"(?:https?://)?([a-z0-9.-]+)/?")  # a host, or a URL of nothing but a host


def _filing_name(q: str) -> str:
    m = _URL_OF_HOST.fullmatch(q.lower()) if q.isascii() else None
    return domain_rules.filing_name(m[1]) if m else domain_rules.analyze(q).filing_name


_sql_cache: dict[tuple, str] = {}


def natures_sql() -> str:
    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    whens = " ".join(f"WHEN {literal(code)} THEN {literal(n.name)}" for code, n in natures.natures().items())
    return f"CASE s.nature {whens} ELSE s.nature END"


def object_sql(vendor: str, domains: str | None = None) -> str:
    """A website's answer object as SQL over ``s`` (its subject) and ``w``; ``domains``: another form of
    DOMAINS."""
    return OBJECT[vendor].replace("{natures}", natures_sql()).replace("{domains}", domains or DOMAINS[vendor])


# The contains tier's "active" test on PostgreSQL, written so that the planner cannot prove a partial index's
# predicate (status = 'active') from it: otherwise every partial index (the name index, the live-certificate
# index) is a candidate for a walk of the whole table filtering each row, and a generic plan (see PG_NAME_FUNCTION)
# took one at 20,000 subjects. Left are the bigram index's match, or the primary key for id order.
PG_ACTIVE = "status || '' = 'active'"
# A subject with a stored answer: a scalar sub-select, checked on each row a tier's index yields. Written as EXISTS,
# PostgreSQL turned it into a join that the generic plans drove from the answers table.
LISTED = (
    "(SELECT true FROM beian_subject_answer a WHERE a.subject_id = {})"  # {}: the subject id's expression
)


def _sql(kind: str, vendor: str, variant: str = "") -> str:
    """The statement for one query kind and backend, built once per process. Named parameters: Django's
    SQLite backend turns them into its own with one ``%`` format, where positional ones go through a regular
    expression over the whole (long) statement on every execution."""
    key = (kind, vendor, variant)
    sql = _sql_cache.get(key)
    if sql is None:
        if kind == "name":
            pg = vendor == "postgresql"
            contains = ""
            if pg and variant == "phrase":
                contains = PG_PHRASE
            elif pg and variant == "posting":
                contains = PG_POSTING
            elif pg and variant == "bigram":
                contains = PG_BIGRAM
            elif variant == "rare":
                contains = SQLITE_RARE
            elif variant == "ordered":
                contains = ORDERED.replace("{instr}", "strpos" if pg else "instr")
            elif variant:
                contains = CONTAINS[vendor]
                if pg:
                    tsquery = {
                        "all": "phraseto_tsquery('simple', %(term)s)",
                        "prefix": "to_tsquery('simple', quote_literal(%(term)s) || ':*')",
                    }[variant]
                    contains = contains.replace("{tsquery}", tsquery)
            contains = contains.replace("{active}", PG_ACTIVE if pg else "status = 'active'")
            sql = NAME.replace("{contains}", contains).replace("{name}", 'name COLLATE "C"' if pg else "name")
            for mark, subject_id in (
                ("listed", "beian_subject.id"),
                ("listed_s", "s.id"),
                ("listed_b", "b.subject_id"),
            ):
                sql = sql.replace("{" + mark + "}", LISTED.format(subject_id))
        else:
            sql = BY_KEY.format(object=object_sql(vendor), where=WHERE[kind])
        _sql_cache[key] = sql
    return sql


def pg_name_function_body() -> str:
    """The body of the PostgreSQL name function (``pg_proc.prosrc``): a branch per variant, each the variant's NAME
    statement with the function's parameters (``p_<name>``) in place of its placeholders."""
    branches = []
    for i, variant in enumerate(PG_NAME_VARIANTS):
        sql = re.sub(r"%\((\w+)\)s", r"p_\1", _sql("name", "postgresql", variant))
        test = ("IF" if i == 0 else "ELSIF") + f" p_variant = '{variant}' THEN" if variant else "ELSE"
        branches.append(f"  {test}\n    RETURN QUERY {sql};")
    return "\nBEGIN\n" + "\n".join(branches) + "\n  END IF;\nEND\n"


def ensure_name_function() -> bool:
    """PostgreSQL: create or replace the name function when it is missing or differs from this code's; True when
    it was (re)created. Run by ``beian migrate`` (post_migrate) and ``beian serve``, beside ``answers.ensure``."""
    if connection.vendor != "postgresql":
        return False
    body = pg_name_function_body()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT prosrc, proconfig FROM pg_proc WHERE proname = %s "
            "AND pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
            [PG_NAME_FUNCTION],
        )
        if cur.fetchone() == (body, PG_NAME_SETTINGS):
            return False
        params = ", ".join(f"p_{n} {t}" for n, t in PG_NAME_PARAMS)
        clauses = " ".join(f"SET {s.replace('=', ' = ')}" for s in PG_NAME_SETTINGS)
        cur.execute(f"DROP FUNCTION IF EXISTS {PG_NAME_FUNCTION}")
        cur.execute(
            f"CREATE FUNCTION {PG_NAME_FUNCTION}({params}) RETURNS TABLE (r_objects text, r_id bigint) "
            f"LANGUAGE plpgsql STABLE {clauses} AS $beian${body}$beian$"
        )
    return True


def _by_key(kind: str, value: str, page: int) -> tuple[list[str], bool]:
    # A page is PAGE_SIZE websites here (a subject number lists a subject's websites); one more row says
    # whether there is more.
    rows = fetch(
        _sql(kind, connection.vendor),
        {"key": value, "limit": PAGE_SIZE + 1, "offset": (page - 1) * PAGE_SIZE},
        prepare=True,  # one key, one plan: a generic plan is every value's plan (lookup.db)
    )
    return [r[0] for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def _by_name(q: str, page: int) -> tuple[list[str], bool]:
    if "\x00" in q:
        return [], False  # no name holds a NUL (and PostgreSQL text cannot even compare one)
    vendor = connection.vendor
    variant, term = query_terms(q, vendor)
    params = {
        "q": q,
        "top": q + TOP,
        "want": page * PAGE_SIZE + 1,
        "limit": PAGE_SIZE + 1,
        "offset": (page - 1) * PAGE_SIZE,
    }
    if variant:
        params["term"] = term
        if vendor == "postgresql" and variant == "phrase":
            variant, params["rare"] = _pg_phrase_plan(term)
        elif vendor == "postgresql":  # one character (ORDERED finds it anywhere in the name)
            variant = _char_plan(term)
        elif variant == "prefix" and _char_plan(term[1:-2]) == "ordered":  # SQLite: term is '"公"*'
            variant = "ordered"
            params["term"] = term[1:-2]
        elif variant == "phrase":  # SQLite: term is the FTS5 phrase '"市华 华信"'
            spaced = term[1:-1]
            rare = rare_bigrams(spaced)
            if rare and " " in spaced:
                variant = "rare"
                params["spaced"] = spaced
                params["rare"] = " ".join(f'"{b}"' for b in rare.split())
    if vendor == "postgresql":
        rows = fetch(PG_NAME_CALL, {"term": None, "rare": None, **params, "variant": variant}, prepare=True)
    else:
        rows = fetch(_sql("name", vendor, variant), params)
    # Rows are websites, a page is PAGE_SIZE subjects: rows of a further subject mean a next page.
    objects: list[str] = []
    subjects, last = 0, None
    for obj, subject in rows:
        if subject != last:
            last = subject
            subjects += 1
            if subjects > PAGE_SIZE:
                return objects, True
        objects.append(obj)
    return objects, False


def public_query_json(q: str, page: int = 1) -> str:
    """The answer as a JSON document: {"query": {"q", "detected"}, "results": [...], "next": page or null}."""
    page = max(1, min(int(page or 1), MAX_PAGE))
    detected = detect(q)
    if detected.kind == "filing_number":
        number = detected.number
        rows, more = _by_key("subject" if number.is_subject else "website", number.canonical, page)
    elif detected.kind == "domain":
        rows, more = _by_key("domain", detected.value, page)
    elif detected.kind == "name":
        rows, more = _by_name(detected.value, page)
    else:
        rows, more = [], False
    text = encode_basestring((q or "")[:MAX_QUERY])
    return (
        f'{{"query":{{"q":{text},"detected":"{detected.kind}"}},'
        f'"results":[{",".join(rows)}],"next":{page + 1 if more else "null"}}}'
    )


def public_query(q: str, page: int = 1) -> dict:
    return json.loads(public_query_json(q, page))
