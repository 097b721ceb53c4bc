"""PostgreSQL functions and triggers this code owns (the stored answers', the name bigrams'): whether the database
holds this code's version of each, and putting it there. A function is current when its body (``pg_proc.prosrc``)
is this code's, a trigger when it exists; a derived table is rebuilt by its owner whenever either is not."""

from __future__ import annotations

from collections.abc import Mapping

Functions = Mapping[str, tuple[str, str]]  # name: (its parameters, result and language, its body)
Triggers = Mapping[str, tuple[str, str, str]]  # name: (its events, its table, what follows ``ON table``)


def current(cur, functions: Functions, triggers: Triggers) -> bool:
    """Whether every function has this code's body and every trigger exists."""
    cur.execute("SELECT proname, prosrc FROM pg_proc WHERE proname = ANY(%s)", [list(functions)])
    stored = dict(cur.fetchall())
    cur.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)", [list(triggers)])
    there = {r[0] for r in cur.fetchall()}
    return stored == {name: body for name, (_, body) in functions.items()} and there == set(triggers)


def install(cur, functions: Functions, triggers: Triggers) -> None:
    """Create or replace the functions, then drop and create the triggers (in the caller's transaction)."""
    for name, (head, body) in functions.items():
        cur.execute(f"CREATE OR REPLACE FUNCTION {name}{head} AS $beian${body}$beian$")
    for name, (events, table, action) in triggers.items():
        cur.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        cur.execute(f"CREATE TRIGGER {name} AFTER {events} ON {table} {action}")
