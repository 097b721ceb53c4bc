"""How the public query's statements reach the database: one place, so the hot path's execution details
(cursor kind, statement preparation, the connection's health check) are decided here and not at each call.

PostgreSQL plans most of a number or domain query's time: planning the statement (a join, the domains'
subquery, the JSON object) costs 0.3-0.6 ms of backend CPU, executing it 0.05-0.15 ms. Django's psycopg backend
binds parameters client-side and never prepares, so every query is parsed and planned again. A statement looked
up by one key (a filing number or a domain) is therefore run as a server-side prepared statement
(``fetch(..., prepare=True)``): after five custom plans PostgreSQL settles on the generic plan, which for an
equality on a unique key is the plan every value gets, and a query then costs one Bind/Execute round trip.

A name statement's plan depends on the text searched (a prefix range, a full-text match), and prepared as it is its
generic plan would be the trap in PERFORMANCE.md (a sequential scan, hundreds of times slower). So a name page is a
call of a PL/pgSQL function (``lookup.selectors.PG_NAME_FUNCTION``) that keeps each tier's plan with sequential
scans off; the call is prepared like a keyed statement. Every other statement on the connection (the ORM's) keeps
Django's client-side binding.

CONN_HEALTH_CHECKS: Django checks a reused connection with a ``SELECT 1`` before a request's first statement, a
round trip and a fifth of a number query's Python work. Here the statement itself is the check: when it finds the
connection lost and no transaction is open, the connection is replaced and the statement run again (it only
reads, so running it twice is harmless) — what the check would have done, without its round trip.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, Error, connections

# psycopg prepares a statement on its Nth run when prepare_threshold is N, never when it is None (Django's
# default). It is set to this only while a statement fetched with prepare=True runs and put back at once,
# so every other statement on the connection (the ORM's) still runs as Django configured it.
EXPLICIT_ONLY = 1 << 62

_cursor_class = None


def fetch(sql: str, params: dict, *, prepare: bool = False) -> list[tuple]:
    """Run one read-only statement of the public query and return all its rows; on PostgreSQL as a server-side
    prepared statement if ``prepare`` (only for a statement whose generic plan is right for every value)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    run = _run_prepared if prepare else _run
    check = db.health_check_enabled and not db.health_check_done and db.connection is not None
    if not check or db.in_atomic_block:
        return run(db, sql, params)  # Django's own check, if any, runs in db.cursor() / below
    db.health_check_done = True  # the statement is the check
    try:
        return run(db, sql, params)
    except Error:
        if db.connection is None or not db.connection.closed:
            raise  # the statement failed, not the connection
    db.close()
    return run(db, sql, params)


def _run(db, sql: str, params: dict) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _prepared_cursor_class():
    global _cursor_class
    if _cursor_class is None:
        import psycopg

        class PreparedCursor(psycopg.Cursor):
            """Server-side binding, each statement prepared (psycopg names and caches it per connection: a
            new connection starts with none, so names cannot collide)."""

            def execute(self, query, params=None, *, prepare=None, binary=None):
                raw = self.connection
                threshold = raw.prepare_threshold
                raw.prepare_threshold = EXPLICIT_ONLY
                try:
                    return super().execute(query, params, prepare=True, binary=binary)
                finally:
                    raw.prepare_threshold = threshold

        _cursor_class = PreparedCursor
    return _cursor_class


def _run_prepared(db, sql: str, params: dict) -> list[tuple]:
    # What db.cursor() does, with a server-binding cursor (one per connection) in place of Django's client-side
    # one: the health check, the connection, Django's error conversion (psycopg's errors become Django's, and a
    # lost connection is noted for the request's end), the refusal in a broken transaction, query logging.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = db.connection
    cur = db.__dict__.get("_beian_prepared_cursor")
    if cur is None or cur.connection is not raw:
        with db.wrap_database_errors:
            cur = db._beian_prepared_cursor = _prepared_cursor_class()(raw)
    if db.queries_logged or db.execute_wrappers:
        wrapped = db.make_debug_cursor(cur) if db.queries_logged else db.make_cursor(cur)
        wrapped.execute(sql, params)
        return wrapped.fetchall()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        cur.execute(sql, params)
        return cur.fetchall()
