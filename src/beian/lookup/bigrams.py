"""PostgreSQL: every subject's name bigrams as rows, in id order under each bigram (名称二元组).

A GIN index reads a bigram's whole posting list before any LIMIT applies (the trap in ``docs/performance.md``): a
two-character brand such as 腾讯, in 6,499 names at 3,000,000 subjects, cost about 1 ms a page however few names a
page shows. A B-tree on (bigram, subject id) yields a bigram's subjects in id order and stops after a page: the
contains tier of a two-character query reads the page's ten or so entries, each checked for a stored answer
(``lookup.answers``: active, not a 空壳); a longer phrase walks its rarest bigram's entries and checks each name for
the whole phrase (``lookup.selectors``, which judges from a sample of names when this is the cheaper plan).

Rows: (bigram, subject id) for every two-character token of ``Subject.name_chars`` (``registry.search``), once
per subject, whatever the subject's status — the query checks that. Triggers keep them in the transaction of
whatever writes a subject's ``name_chars``: the workflow, the admin, an import's updates, raw SQL. An import's
batch of new subjects writes its rows with one statement (``answers.suspended_for_insert``, while the same
transaction-local setting turns the answers' triggers off), and a first load defers the index like the
registry's own (``registry.bulk``). SQLite needs none of this: FTS5 yields a token's rows in rowid order.

At 3,000,000 subjects: 23.5 million rows, 994 MB of table and 708 MB of index, filled from scratch in 40–65 s.

Beside them, how many subjects hold each bigram (``COUNTS``, ``recount``, ``counts``): which of a phrase's bigrams
is rarest, for the plan a query takes.
"""

from __future__ import annotations

import time

from django.db import connection, transaction

from beian.lookup import (
    answers,  # its PG_OFF read at call time: answers → selectors → … → bulk → here
    pgobjects,
)

TABLE = "beian_subject_bigram"
INDEX = "beian_subject_bigram_key"
TRIGGER_FUNCTION = "beian_bigram_trigger"
TRUNCATE_FUNCTION = "beian_bigram_truncated"
TRIGGERS = {  # name: (events, table, what follows ON table), as lookup.pgobjects takes them
    "beian_bigram_id": (
        "INSERT OR DELETE",
        "beian_subject",
        f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER_FUNCTION}()",
    ),
    "beian_bigram_u": (
        "UPDATE OF name_chars",
        "beian_subject",
        "FOR EACH ROW WHEN (old.name_chars IS DISTINCT FROM new.name_chars) "
        f"EXECUTE FUNCTION {TRIGGER_FUNCTION}()",
    ),
    "beian_bigram_t": (
        "TRUNCATE",
        "beian_subject",
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TRUNCATE_FUNCTION}()",
    ),
}
TABLE_DDL = (
    f'CREATE TABLE IF NOT EXISTS {TABLE} (bigram text COLLATE "C" NOT NULL, subject_id bigint NOT NULL)'
)
# not unique (the rows are written distinct): so a first load defers it like the registry's other indexes
INDEX_DDL = f"CREATE INDEX {INDEX} ON {TABLE} (bigram, subject_id)"
# How many subjects hold each bigram: planner statistics of our own, which steer a phrase's plan
# (``selectors._pg_phrase_plan``) and never its answer, so they are counted again only when many names may have
# changed (every import, every ``beian migrate``), not on every write. 68,000 rows at 3,000,000 subjects, counted
# in about 5 s.
COUNTS = "beian_bigram_count"
STALE = 0.2  # counts this far from the table's size are not used (``counts``)
COUNTS_DDL = (
    f'CREATE TABLE IF NOT EXISTS {COUNTS} (bigram text COLLATE "C" PRIMARY KEY, subjects bigint NOT NULL)'
)


def rows_of(subjects: str, where: str) -> str:
    """SELECT of the (bigram, subject id) rows of the subjects ``subjects`` (a FROM item aliased ``s``) that
    ``where`` selects."""
    # distinct per subject (a name can repeat a bigram): a handful of values each, where one DISTINCT over a batch's
    # rows sorted them all (0.62 → 0.33 s for 50,000 subjects)
    return (
        f"SELECT x.t, s.id FROM {subjects}, LATERAL (SELECT DISTINCT t FROM "
        f"unnest(string_to_array(s.name_chars, ' ')) t WHERE length(t) = 2) x WHERE {where}"
    )


def _functions() -> pgobjects.Functions:
    """The trigger functions by name (lookup.pgobjects)."""
    trigger = f"""
BEGIN
  IF current_setting('{answers.PG_OFF}', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM {TABLE} WHERE bigram = ANY(string_to_array(OLD.name_chars, ' ')) AND subject_id = OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO {TABLE} (bigram, subject_id) {rows_of("(SELECT NEW.id, NEW.name_chars) s (id, name_chars)", "true")};
  END IF;
  RETURN NULL;
END
"""
    truncated = f"""
BEGIN
  TRUNCATE {TABLE};
  DELETE FROM {COUNTS};
  RETURN NULL;
END
"""
    head = "() RETURNS trigger LANGUAGE plpgsql"
    return {TRIGGER_FUNCTION: (head, trigger), TRUNCATE_FUNCTION: (head, truncated)}


def ensure() -> bool:
    """PostgreSQL: create the table, its index, functions and triggers when any is missing or differs from this
    code's, and then fill the table from every subject's name in the same transaction; True when it did. Run by
    ``beian migrate`` and ``beian serve`` beside ``answers.ensure``. A no-op on SQLite."""
    if connection.vendor != "postgresql":
        return False
    functions = _functions()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
            [TABLE, INDEX, COUNTS],
        )
        has_table, has_index, has_counts = cur.fetchone()
        installed = pgobjects.current(cur, functions, TRIGGERS)
        deferred = _deferred(cur)
    if has_table and (has_index or deferred) and installed:
        if not has_counts:
            recount()
        return False
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(TABLE_DDL)
        cur.execute(COUNTS_DDL)
        cur.execute(f"DROP INDEX IF EXISTS {INDEX}")  # filled first, then indexed: several times faster
        pgobjects.install(cur, functions, TRIGGERS)
        cur.execute(f"TRUNCATE {TABLE}")
        cur.execute(f"INSERT INTO {TABLE} (bigram, subject_id) {rows_of('beian_subject s', 'true')}")
        if not _deferred(cur):  # else a first load dropped it and re-creates it when it ends (registry.bulk)
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cur.execute(INDEX_DDL)
        cur.execute(f"ANALYZE {TABLE}")
        recount()
    if not connection.in_atomic_block:  # the visibility map, for index-only scans (autovacuum may be off)
        with connection.cursor() as cur:
            cur.execute(f"VACUUM {TABLE}")
    return True


def _deferred(cur) -> bool:
    """Whether a first load dropped the index and has it recorded to re-create (``registry.bulk``)."""
    cur.execute("SELECT to_regclass('beian_import_deferred') IS NOT NULL")
    if not cur.fetchone()[0]:
        return False
    cur.execute("SELECT 1 FROM beian_import_deferred WHERE name = %s", [INDEX])
    return cur.fetchone() is not None


_counted_at: float | None = None  # time.monotonic() when this process last counted


def recount(*, unless_counted_since: float | None = None) -> None:
    """PostgreSQL: count again how many subjects hold each bigram (``COUNTS``), in one transaction: a query meanwhile
    reads the previous counts, not a half-written table. Skipped when this process counted after
    ``unless_counted_since`` (a ``time.monotonic()`` value): ``beian migrate`` counts once, though a rebuild of the
    table during its migrations (``ensure``) counted already."""
    global _counted_at
    if connection.vendor != "postgresql":
        return
    if unless_counted_since is not None and _counted_at is not None and _counted_at >= unless_counted_since:
        return
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE])
        if not cur.fetchone()[0]:
            return  # no rows to count yet (``ensure`` creates them, then counts)
        cur.execute(COUNTS_DDL)
        # one count at a time (two would insert the same keys), while queries go on reading; not TRUNCATE, whose
        # lock would stop them for the count's seconds
        cur.execute(f"LOCK TABLE {COUNTS} IN EXCLUSIVE MODE")
        cur.execute(f"DELETE FROM {COUNTS}")
        cur.execute(f"INSERT INTO {COUNTS} SELECT bigram, count(*) FROM {TABLE} GROUP BY bigram")
    _counted_at = time.monotonic()


def counts() -> dict[str, int]:
    """Subjects holding each bigram as last counted (``recount``). Empty when never counted, not PostgreSQL, or
    stale: the rows counted differ by more than STALE from the table's rows as PostgreSQL's statistics last saw
    them (``pg_class.reltuples``, kept by autovacuum and ANALYZE), as after many filings through the console."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [COUNTS])
        if not cur.fetchone()[0]:
            return {}
        cur.execute(f"SELECT bigram, subjects FROM {COUNTS}")
        counted = dict(cur.fetchall())
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
        rows = cur.fetchone()[0]
    if rows >= 0 and abs(sum(counted.values()) - rows) > STALE * max(rows, 1):  # -1: never analysed
        return {}
    return counted


def fill_sql() -> str:
    """The rows of a batch of new subjects (ids ``%(subjects)s``), written in the batch's transaction while the
    trigger is off (``answers.suspended_for_insert``)."""
    return (
        f"INSERT INTO {TABLE} (bigram, subject_id) {rows_of('beian_subject s', 's.id = ANY(%(subjects)s)')}"
    )


def mismatches(limit: int = 100) -> list[int]:
    """Subjects whose rows differ from their name's bigrams (missing or extra): empty when the triggers and the
    import did their work. Reads every subject: for tests and audits."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT subject_id FROM (({rows_of('beian_subject s', 'true')}) EXCEPT ALL "
            f"(SELECT bigram, subject_id FROM {TABLE})) a (bigram, subject_id) UNION "
            f"SELECT subject_id FROM (SELECT bigram, subject_id FROM {TABLE} EXCEPT ALL "
            f"({rows_of('beian_subject s', 'true')})) b (bigram, subject_id) ORDER BY 1 LIMIT %s",
            [limit],
        )
        return [r[0] for r in cur.fetchall()]
