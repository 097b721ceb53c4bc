"""The public query's indexes: the per-character name index (FTS5 on SQLite, full-text GIN on PostgreSQL)
and a byte-order index on the name for exact and prefix matches."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE beian_subject_fts USING fts5(name_chars, content='beian_subject', content_rowid='id', tokenize='unicode61')",
    """CREATE TRIGGER beian_subject_fts_ai AFTER INSERT ON beian_subject BEGIN
         INSERT INTO beian_subject_fts(rowid, name_chars) VALUES (new.id, new.name_chars);
       END""",
    """CREATE TRIGGER beian_subject_fts_ad AFTER DELETE ON beian_subject BEGIN
         INSERT INTO beian_subject_fts(beian_subject_fts, rowid, name_chars) VALUES ('delete', old.id, old.name_chars);
       END""",
    """CREATE TRIGGER beian_subject_fts_au AFTER UPDATE OF name_chars ON beian_subject BEGIN
         INSERT INTO beian_subject_fts(beian_subject_fts, rowid, name_chars) VALUES ('delete', old.id, old.name_chars);
         INSERT INTO beian_subject_fts(rowid, name_chars) VALUES (new.id, new.name_chars);
       END""",
    "INSERT INTO beian_subject_fts(beian_subject_fts) VALUES ('rebuild')",
    "CREATE INDEX beian_subject_name_idx ON beian_subject (name)",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS beian_subject_fts_ai",
    "DROP TRIGGER IF EXISTS beian_subject_fts_ad",
    "DROP TRIGGER IF EXISTS beian_subject_fts_au",
    "DROP TABLE IF EXISTS beian_subject_fts",
    "DROP INDEX IF EXISTS beian_subject_name_idx",
]
POSTGRES = [
    "CREATE INDEX beian_subject_name_fts ON beian_subject USING gin (to_tsvector('simple', name_chars))",
    'CREATE INDEX beian_subject_name_c_idx ON beian_subject ((name COLLATE "C"))',
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS beian_subject_name_fts",
    "DROP INDEX IF EXISTS beian_subject_name_c_idx",
]


def fill_name_chars(apps, schema_editor):
    from beian.registry.search import spaced

    Subject = apps.get_model("registry", "Subject")
    for subject in Subject.objects.only("id", "name").iterator():
        Subject.objects.filter(pk=subject.pk).update(name_chars=spaced(subject.name))


def forwards(apps, schema_editor):
    fill_name_chars(apps, schema_editor)
    statements = SQLITE if schema_editor.connection.vendor == "sqlite" else POSTGRES
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    statements = SQLITE_REVERSE if schema_editor.connection.vendor == "sqlite" else POSTGRES_REVERSE
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_name_index")]
    operations = [migrations.RunPython(forwards, backwards)]
