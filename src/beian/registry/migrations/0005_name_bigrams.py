"""The name index as character bigrams (registry.search.spaced): rebuild ``name_chars`` on every subject, and
the index over it (SQLite FTS5 ``beian_subject_fts``, PostgreSQL GIN ``beian_subject_name_fts``).

``name_chars`` becomes a text column: the bigram form is about three characters per name character (a
200-character name: 598), past the old varchar(420). SQLite does not enforce a varchar length, so there only the
model state changes (altering the column there would rebuild the table and drop its FTS triggers).
The rows are rewritten in batches with the index dropped (PostgreSQL) or its update trigger dropped (SQLite)
and the index built once at the end: a per-row index update of millions of names would take far longer.
"""

from django.db import migrations, models

BATCH = 5000
SQLITE_TRIGGER = """CREATE TRIGGER beian_subject_fts_au AFTER UPDATE OF name_chars ON beian_subject BEGIN
  INSERT INTO beian_subject_fts(beian_subject_fts, rowid, name_chars) VALUES ('delete', old.id, old.name_chars);
  INSERT INTO beian_subject_fts(rowid, name_chars) VALUES (new.id, new.name_chars);
END"""
PG_INDEX = (
    "CREATE INDEX beian_subject_name_fts ON beian_subject USING gin (to_tsvector('simple', name_chars))"
)


def rewrite(schema_editor, spaced) -> None:
    with schema_editor.connection.cursor() as cur:
        last = 0
        while True:
            cur.execute(
                "SELECT id, name FROM beian_subject WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH]
            )
            rows = cur.fetchall()
            if not rows:
                return
            cur.executemany(
                "UPDATE beian_subject SET name_chars = %s WHERE id = %s",
                [(spaced(name), pk) for pk, name in rows],
            )
            last = rows[-1][0]


def rebuild(apps, schema_editor, spaced=None):
    if spaced is None:
        from beian.registry.search import spaced
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS beian_subject_name_fts")
        rewrite(schema_editor, spaced)
        schema_editor.execute(PG_INDEX)
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS beian_subject_fts_au")
        rewrite(schema_editor, spaced)
        schema_editor.execute(SQLITE_TRIGGER)
        schema_editor.execute("INSERT INTO beian_subject_fts(beian_subject_fts) VALUES ('rebuild')")


def per_character(name: str) -> str:
    """The previous form (0004): one token per character."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", name or "").lower()
    return " ".join(ch for ch in folded if ch.isalnum())


def back(apps, schema_editor):
    rebuild(apps, schema_editor, per_character)


def widen(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE beian_subject ALTER COLUMN name_chars TYPE text")


def narrow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute("SELECT coalesce(max(length(name_chars)), 0) FROM beian_subject")
            if cur.fetchone()[0] > 420:
                return  # a name folds to more than 0004's column held (e.g. ㍿ → 株式会社): keep text
        schema_editor.execute("ALTER TABLE beian_subject ALTER COLUMN name_chars TYPE varchar(420)")


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_search_indexes")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="subject",
                    name="name_chars",
                    field=models.TextField(blank=True, default=""),
                )
            ],
            database_operations=[migrations.RunPython(widen, narrow), migrations.RunPython(rebuild, back)],
        )
    ]
