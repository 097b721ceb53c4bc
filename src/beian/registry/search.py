"""The per-character form of a subject name that the name index is built on.

Two-character searches (腾讯, 阿里) are among the most common and no trigram index can serve them. So the
name is also stored with a space between characters ("腾 讯 科 技 …"): every character is a token, and a
search is a phrase query of the query's characters — SQLite FTS5 and PostgreSQL full-text search alike,
for one character or twenty. Letters are lower-cased so that the index is case-insensitive.
"""

from __future__ import annotations

import unicodedata


def spaced(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name or "").lower()
    return " ".join(ch for ch in folded if ch.isalnum())
