"""The indexed form of a subject name that the public query's contains search runs on.

Two-character searches (腾讯, 阿里) are among the most common and no trigram index can serve them. So the
name is stored as its overlapping character bigrams, space-separated, with its last character alone at the
end ("腾讯科技" → "腾讯 讯科 科技 技"). A two-character query is then one token, whose posting list is exactly
the names containing it; a longer query is a phrase of its bigrams (adjacent, in order), whose rarest bigram
bounds the work — where single-character tokens would have made a query of common characters (有 限 公 司)
walk the posting lists of nearly every name. A one-character query is a prefix query on the tokens (the
lone last character is there so that a name's final character is found too). SQLite FTS5 and PostgreSQL
full-text search alike; letters are lower-cased so that the search is case-insensitive.
"""

from __future__ import annotations

import unicodedata


def _chars(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return [ch for ch in folded if ch.isalnum()]


def spaced(name: str) -> str:
    """The indexed text of ``name`` (stored in ``Subject.name_chars``)."""
    chars = _chars(name)
    if not chars:
        return ""
    return " ".join([a + b for a, b in zip(chars, chars[1:], strict=False)] + [chars[-1]])


def query_terms(q: str, vendor: str) -> tuple[str, str | None]:
    """How the contains search looks for ``q``: (variant, parameter), or ("", None) when ``q`` has no
    character the index holds. Variants: "phrase" (the bigrams of a query of two characters or more) and
    "prefix" (one character). SQLite: an FTS5 query string; PostgreSQL: text for ``phraseto_tsquery``
    (phrase) or the character (prefix)."""
    chars = _chars(q)
    if not chars:
        return "", None
    if len(chars) == 1:
        if vendor == "postgresql":
            return "prefix", chars[0]
        return "prefix", '"' + chars[0].replace('"', '""') + '"*'
    bigrams = " ".join(a + b for a, b in zip(chars, chars[1:], strict=False))
    if vendor == "postgresql":
        return "phrase", bigrams
    return "phrase", '"' + bigrams.replace('"', '""') + '"'


# Bigrams in more than 0.4 % of unit names (document frequency in a 1 % sample of `beian synth --subjects
# 3000000`, whose names follow real ones: city, brand, trade, legal form). PostgreSQL's GIN index reads a
# bigram's whole posting list before any LIMIT, so a phrase is looked up by its other bigrams and checked whole
# on the row (lookup.selectors.PG_PHRASE); a phrase made only of these is read in id order instead.
COMMON_BIGRAMS = frozenset(
    [
        "公司",
        "有限",
        "限公",
        "科技",
        "技有",
        "网络",
        "州市",
        "技术",
        "络科",
        "信息",
        "北京",
        "术有",
        "管理",
        "息技",
        "上海",
        "限责",
        "责任",
        "任公",
        "文化",
        "电子",
        "理有",
        "传媒",
        "子商",
        "商务",
        "份有",
        "股份",
        "深圳",
        "务有",
        "广州",
        "化传",
        "媒有",
        "中心",
        "分公",
        "教育",
        "成都",
        "育科",
        "工作",
        "贸易",
        "圳市",
        "杭州",
        "工程",
        "武汉",
        "作室",
        "软件",
        "阳市",
        "重庆",
        "发展",
        "商贸",
        "络技",
        "易有",
        "业管",
        "程有",
        "能科",
        "智能",
        "息科",
        "郑州",
        "合肥",
        "贸有",
        "都市",
        "联网",
        "展有",
        "协会",
        "互联",
        "长沙",
        "物流",
        "企业",
        "南京",
        "件有",
        "西安",
        "供应",
    ]
)


def rare_bigrams(term: str) -> str:
    """The bigrams of a PostgreSQL phrase term (``query_terms``) that are not common ("" when none is)."""
    return " ".join(b for b in term.split() if b not in COMMON_BIGRAMS)


def optimize_name_index() -> bool:
    """SQLite: merge the FTS5 name index into one segment (FTS5's ``'optimize'``); False elsewhere.

    Every import batch, and every write, adds a segment, and FTS5 looks each bigram up in every segment: at
    3,000,000 subjects an import left 8, and merging them (1.8 s) cut the contains tier's match from 109 to
    64–83 µs and raised the throughput of 3+ character names by about a quarter (docs/performance.md).
    ``beian import`` runs it after a run that wrote subjects, ``beian worker`` once a day."""
    from django.db import connection, transaction

    if connection.vendor != "sqlite":
        return False
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'beian_subject_fts'")
        if cur.fetchone() is None:
            return False
        cur.execute("INSERT INTO beian_subject_fts(beian_subject_fts) VALUES ('optimize')")
    return True
