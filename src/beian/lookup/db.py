"""How the public query's statements reach the database: one place, so the hot path's execution details
(cursor kind, statement preparation) are decided here and not at each call."""

from __future__ import annotations

from django.db import connection


def fetch(sql: str, params: dict) -> list[tuple]:
    """Run one read-only statement of the public query and return all its rows."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()
