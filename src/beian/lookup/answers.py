"""Each active subject's public answer, stored (公共查询的结果对象).

A name page lists ten subjects with all their active websites. Building those answer objects from the live
tables (the subject, each website, its domains aggregated, JSON) was about half of a name query's statement on
SQLite at 3,000,000 subjects, and on PostgreSQL 0.73 of 1.1 ms at 200,000 (planning included). So every active
subject with an active website has one row in ``beian_subject_answer``: its websites' answer objects in
sequence order, joined by commas, exactly as the live statement would build them (``selectors.OBJECT``). A name
query joins its page of subjects to these rows by primary key.

Triggers keep the rows current in the transaction of whatever writes a subject, a website or a domain: the
workflow, the admin, an import's updates, raw SQL. An import's bulk insert (``registry.bulk``) turns them off in
its batch transaction and writes the batch's rows with one statement (:func:`suspended_for_insert`), which reads
only the batch's own rows by id range, so it stays cheap while a first load has the other indexes deferred.

The triggers (SQLite) and trigger functions (PostgreSQL) embed the object's SQL, the natures' names included.
:func:`ensure` compares them with what this code would create and, when they differ (or are missing),
re-creates them and rebuilds every row in one transaction; ``beian migrate`` and ``beian serve`` call it.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection, transaction

from beian.lookup import pgobjects, selectors

TABLE = "beian_subject_answer"
PREFIX = "beian_answer_"  # every trigger's name starts with it


def _select(where: str, *, batch: bool = False) -> str:
    """The answer rows (subject id, objects) of the active subjects that ``where`` selects (over ``s``), or
    with ``batch`` of the new websites it selects (over ``w``).

    A subject's objects in sequence order: group_concat over a subquery's ordered rows, as the live statement
    aggregates a website's domains. ``batch``: a batch's new websites by rowid range first (CROSS JOIN fixes
    SQLite's join order) and their domains, new too, read once by rowid past ``%(after)s`` and grouped, not
    looked up website by website; the objects concatenated by a window ordered by sequence. While a first load
    defers the indexes on websites and domains, this reads only the batch's rows."""
    if not batch:
        return (
            f"SELECT s.id, (SELECT group_concat(o, ',') FROM (SELECT {selectors.object_sql('sqlite')} AS o "
            f"FROM beian_website w WHERE w.subject_id = s.id AND w.status = 'active' ORDER BY w.sequence)) "
            f"FROM beian_subject s WHERE {where} AND s.status = 'active' AND EXISTS (SELECT 1 FROM beian_website "
            f"w WHERE w.subject_id = s.id AND w.status = 'active')"
        )
    obj = selectors.object_sql("sqlite", "coalesce(dm.u, '')")
    window = "OVER (PARTITION BY s.id ORDER BY w.sequence ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    return (
        f"SELECT id, objects FROM (SELECT s.id AS id, "
        f"group_concat({obj}, ',') {window} AS objects, "
        f"row_number() {window} AS n FROM beian_website w CROSS JOIN beian_subject s ON s.id = w.subject_id "
        "LEFT JOIN (SELECT website_id, group_concat(unicode, ', ') AS u FROM (SELECT website_id, unicode "
        "FROM beian_domain NOT INDEXED WHERE id > %(after)s AND status = 'active' ORDER BY website_id, id) "
        f"GROUP BY website_id) dm ON dm.website_id = w.id "
        f"WHERE {where} AND w.status = 'active' AND s.status = 'active') WHERE n = 1"
    )


def _fill(where: str, *, batch: bool = False) -> str:
    return f"INSERT INTO {TABLE} (subject_id, objects) {_select(where, batch=batch)}"


def _refresh(subject: str) -> str:
    """Trigger body: the answer row of subject ``subject`` (an SQL expression) rebuilt."""
    return f"DELETE FROM {TABLE} WHERE subject_id = {subject}; {_fill(f's.id = {subject}')};"


_WEBSITE_COLUMNS = (
    "subject_id, sequence, number, name, homepage, approved_at, content_type, limit_access, status"
)
_OF_WEBSITE = "(SELECT subject_id FROM beian_website WHERE id = {}.website_id)"  # a domain's subject


def triggers() -> dict[str, str]:
    """The triggers by name, as SQLite stores their SQL."""
    spec = {
        # a subject alone has no answer: its websites' inserts make it
        "s_au": ("AFTER UPDATE OF name, nature, number, status ON beian_subject", "", "new.id"),
        "s_ad": ("AFTER DELETE ON beian_subject", "", None),
        "w_ai": ("AFTER INSERT ON beian_website", "", "new.subject_id"),
        "w_au": (f"AFTER UPDATE OF {_WEBSITE_COLUMNS} ON beian_website", "", "new.subject_id"),
        "w_au_old": (
            "AFTER UPDATE OF subject_id ON beian_website",
            "WHEN old.subject_id IS NOT new.subject_id",
            "old.subject_id",
        ),
        "w_ad": ("AFTER DELETE ON beian_website", "", "old.subject_id"),
        "d_ai": ("AFTER INSERT ON beian_domain", "", _OF_WEBSITE.format("new")),
        "d_au": (
            "AFTER UPDATE OF website_id, unicode, status ON beian_domain",
            "",
            _OF_WEBSITE.format("new"),
        ),
        "d_au_old": (
            "AFTER UPDATE OF website_id ON beian_domain",
            "WHEN old.website_id IS NOT new.website_id",
            _OF_WEBSITE.format("old"),
        ),
        "d_ad": ("AFTER DELETE ON beian_domain", "", _OF_WEBSITE.format("old")),
    }
    out = {}
    for suffix, (event, when, subject) in spec.items():
        body = f"DELETE FROM {TABLE} WHERE subject_id = old.id;" if subject is None else _refresh(subject)
        name = PREFIX + suffix
        head = " ".join(filter(None, (f"CREATE TRIGGER {name} {event} FOR EACH ROW", when)))
        out[name] = f"{head} BEGIN {body} END"
    return out


def _stored(cur) -> dict[str, str]:
    cur.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, %s) = %s",
        [len(PREFIX), PREFIX],
    )
    return dict(cur.fetchall())


def ensure() -> bool:
    """Make the stored answers current with this code; True when they were (re)built. A no-op when the
    triggers (and on PostgreSQL their functions) are the ones this code creates: then the rows are current, the
    triggers and the import kept them so since they were built."""
    if connection.vendor == "postgresql":
        return _pg_ensure()
    wanted = triggers()
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [TABLE])
        if cur.fetchone() and _stored(cur) == wanted:
            return False
    with transaction.atomic(), connection.cursor() as cur:
        for name in _stored(cur):
            cur.execute(f"DROP TRIGGER {name}")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (subject_id INTEGER PRIMARY KEY, objects TEXT NOT NULL)"
        )
        cur.execute(f"DELETE FROM {TABLE}")
        cur.execute(_fill("1"))
        for sql in wanted.values():
            cur.execute(sql)
    return True


@contextmanager
def suspended_for_insert(website_ids: list[int], subject_ids: list[int]):
    """Inside a batch's transaction that inserts new subjects (ids ``subject_ids``) with their websites (ids
    ``website_ids``, a reserved block) and domains: the answer triggers are off, the rows written, then the batch's
    answers inserted with one statement (on PostgreSQL also the subjects' name bigrams, ``lookup.bigrams``, whose
    trigger the same setting turns off). Row by row, every website and domain insert would rebuild its subject's answer;
    while a first load defers the website and domain indexes each rebuild would even scan those tables. The
    statement reads the new websites by id range and the new domains by id (past the largest before the batch),
    so it needs no other index. SQLite drops the triggers and re-creates them from their stored SQL (inside the
    transaction, which holds the single write lock); PostgreSQL's trigger function skips while the
    transaction-local setting ``beian.answers_off`` is on."""
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        stored: dict[str, str] = {}  # SQLite: the triggers to re-create
        with_bigrams = False  # PostgreSQL: the name bigrams' table is there too
        if website_ids and pg:
            from beian.lookup import bigrams  # here: bigrams imports this module

            cur.execute(
                "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL", [TABLE, bigrams.TABLE]
            )
            present, with_bigrams = cur.fetchone()
        elif website_ids:
            stored = _stored(cur)
            present = bool(stored)
        else:
            present = False
        if not present:  # no stored answers in this schema, or nothing inserted
            yield
            return
        cur.execute("SELECT coalesce(max(id), 0) FROM beian_domain")
        after = cur.fetchone()[0]
        if pg:
            cur.execute(f"SELECT set_config('{PG_OFF}', 'on', true)")
        else:
            for name in stored:
                cur.execute(f"DROP TRIGGER {name}")
        yield
        params = {"after": after, "lo": min(website_ids), "hi": max(website_ids)}
        if pg:
            cur.execute(f"SELECT set_config('{PG_OFF}', 'off', true)")
            cur.execute("SELECT coalesce(max(id), 0) FROM beian_domain")
            params["last"] = cur.fetchone()[0]
            cur.execute(f"INSERT INTO {TABLE} (subject_id, objects) {_pg_batch_select()}", params)
            if with_bigrams:
                cur.execute(bigrams.fill_sql(), {"subjects": list(subject_ids)})
        else:
            cur.execute(_fill("w.id BETWEEN %(lo)s AND %(hi)s", batch=True), params)
            for sql in stored.values():
                cur.execute(sql)


# --- PostgreSQL: a function rebuilds one subject's row, one trigger function serves the three tables ---------
PG_OFF = "beian.answers_off"  # transaction-local: an import batch writes its answers itself
PG_REFRESH = "beian_answer_refresh"
PG_TRIGGER = "beian_answer_trigger"
_PG_TRIGGERS = {  # trigger name: (table, events)
    "beian_answer_s": ("beian_subject", "UPDATE OF name, nature, number, status OR DELETE"),
    "beian_answer_w": ("beian_website", f"INSERT OR UPDATE OF {_WEBSITE_COLUMNS} OR DELETE"),
    "beian_answer_d": ("beian_domain", "INSERT OR UPDATE OF website_id, unicode, status OR DELETE"),
}
PG_TRUNCATED = "beian_answer_truncated"  # a TRUNCATE fires no row trigger: every row is rebuilt
_PG_TRUNCATE_TRIGGERS = {
    f"beian_answer_{t[6]}t": t for t in ("beian_subject", "beian_website", "beian_domain")
}


def _pg_select(where: str, domains: str | None = None) -> str:
    obj = selectors.object_sql("postgresql", domains)
    return (
        f"SELECT s.id, string_agg({obj}, ',' ORDER BY w.sequence) FROM beian_website w "
        f"JOIN beian_subject s ON s.id = w.subject_id "
        f"WHERE {where} AND w.status = 'active' AND s.status = 'active' GROUP BY s.id"
    )


def _pg_batch_select() -> str:
    """A batch's answers whatever the planner knows of freshly loaded tables (no statistics during a first
    load): the batch's new domains by id range (``%(after)s`` < id <= ``%(last)s``) aggregated once (an
    uncorrelated subquery: an InitPlan) into a jsonb map by website id that each website looks itself up in;
    the websites by id range, their subjects by primary key. Joined to the domains instead, PostgreSQL planned a
    nested loop that aggregated the batch's domains again for every website (a 3M first load slowed to 7,000
    subjects a minute)."""
    domains = (
        "coalesce((SELECT jsonb_object_agg(website_id::text, u) FROM (SELECT website_id, "
        "string_agg(unicode, ', ' ORDER BY id) AS u FROM beian_domain WHERE id BETWEEN %(after)s + 1 AND %(last)s "
        "AND status = 'active' GROUP BY website_id) x) ->> w.id::text, '')"
    )
    return _pg_select("w.id BETWEEN %(lo)s AND %(hi)s", domains)


def _pg_rebuild_all() -> str:
    return f"DELETE FROM {TABLE}; INSERT INTO {TABLE} (subject_id, objects) {_pg_select('true')};"


def _pg_functions() -> pgobjects.Functions:
    """The functions by name (lookup.pgobjects)."""
    refresh = (
        f"DELETE FROM {TABLE} WHERE subject_id = sid; "
        f"INSERT INTO {TABLE} (subject_id, objects) {_pg_select('s.id = sid')};"
    )
    trigger = f"""
BEGIN
  IF current_setting('{PG_OFF}', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_TABLE_NAME = 'beian_subject' THEN
    PERFORM {PG_REFRESH}(OLD.id);
  ELSIF TG_TABLE_NAME = 'beian_website' THEN
    IF TG_OP <> 'INSERT' THEN PERFORM {PG_REFRESH}(OLD.subject_id); END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.subject_id IS DISTINCT FROM OLD.subject_id) THEN
      PERFORM {PG_REFRESH}(NEW.subject_id);
    END IF;
  ELSE
    IF TG_OP <> 'INSERT' THEN PERFORM {PG_REFRESH}({_OF_WEBSITE.format("OLD")}); END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.website_id IS DISTINCT FROM OLD.website_id) THEN
      PERFORM {PG_REFRESH}({_OF_WEBSITE.format("NEW")});
    END IF;
  END IF;
  RETURN NULL;
END
"""
    truncated = f"""
BEGIN
  {_pg_rebuild_all()}
  RETURN NULL;
END
"""
    on_trigger = "() RETURNS trigger LANGUAGE plpgsql"
    return {
        PG_REFRESH: ("(sid bigint) RETURNS void LANGUAGE sql", refresh),
        PG_TRIGGER: (on_trigger, trigger),
        PG_TRUNCATED: (on_trigger, truncated),
    }


def _pg_ensure() -> bool:
    functions = _pg_functions()
    triggers = {
        name: (events, table, f"FOR EACH ROW EXECUTE FUNCTION {PG_TRIGGER}()")
        for name, (table, events) in _PG_TRIGGERS.items()
    } | {
        name: ("TRUNCATE", table, f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_TRUNCATED}()")
        for name, table in _PG_TRUNCATE_TRIGGERS.items()
    }
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE])
        if cur.fetchone()[0] and pgobjects.current(cur, functions, triggers):
            return False
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (subject_id bigint PRIMARY KEY, objects text NOT NULL)"
        )
        pgobjects.install(cur, functions, triggers)
        cur.execute(_pg_rebuild_all())
    return True


def mismatches(limit: int = 100) -> list[int]:
    """Subjects whose stored answer differs from the live tables' (missing, extra or different): empty when
    the triggers and the import did their work. The live side is built website by website with the live
    statement's object and joined here, not with :func:`_select`. Reads every active website: for tests and
    audits."""
    live: dict[int, list[str]] = {}
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.id, {selectors.object_sql(connection.vendor)} FROM beian_subject s JOIN beian_website w "
            "ON w.subject_id = s.id WHERE s.status = 'active' AND w.status = 'active' ORDER BY s.id, w.sequence"
        )
        for subject, obj in cur.fetchall():
            live.setdefault(subject, []).append(obj)
        cur.execute(f"SELECT subject_id, objects FROM {TABLE}")
        kept = dict(cur.fetchall())
    wrong = {
        k for k in live.keys() | kept.keys() if kept.get(k) != (",".join(live[k]) if k in live else None)
    }
    return sorted(wrong)[:limit]
