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
