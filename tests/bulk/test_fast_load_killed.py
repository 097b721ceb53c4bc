"""``beian import`` killed with SIGKILL during a fast load (indexes deferred): the database says what is missing,
and the resumed import puts it back before it writes anything."""

from __future__ import annotations

import json
import signal

from tests.security.crashkit import Site, wait_until

DEFERRED = "beian_import_deferred"
TABLES = "('beian_subject', 'beian_website', 'beian_domain', 'beian_feed', 'beian_subject_bigram')"


def schema(site: Site) -> set[tuple[str, str]]:
    """(name, definition) of the indexes, triggers and foreign keys of the loaded tables."""
    if site.vendor == "sqlite":
        rows = site.rows(
            f"SELECT name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name IN {TABLES} "
            "AND type IN ('index', 'trigger')"
        )
    else:
        rows = site.rows(f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN {TABLES}")
        rows += site.rows(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid::regclass::text IN {TABLES}"
        )
    return set(rows)


def checkpoint_line(source) -> int:
    try:
        return json.loads(source.with_name(source.name + ".checkpoint").read_text("utf-8"))["line"]
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def killed_fast_load(sites, tmp_path):
    """A first import killed with SIGKILL after a few batches: (site, source file, the schema before it)."""
    site = sites.new("fast-kill")
    source = tmp_path / "registry.jsonl"
    made = site.beian("synth", "--subjects", "1200", "--seed", "9", "--output", str(source), "--quiet")
    assert made.returncode == 0, made.stderr
    assert site.beian("migrate").returncode == 0
    before = schema(site)
    proc = site.beian_process("import", "import", str(source), "--batch-size", "150", "--quiet")
    wait_until(lambda: checkpoint_line(source) >= 300 or not proc.alive(), 120, step=0.005)
    assert proc.alive(), f"the import ended before it was killed:\n{proc.output()}"
    proc.stop(signal.SIGKILL)
    assert 300 <= checkpoint_line(source) < 1200
    # what the killed load dropped is missing, and recorded (name and definition) in the database itself
    recorded = dict(site.rows(f"SELECT name, ddl FROM {DEFERRED}"))
    missing = {name for name, _ in before - schema(site)}
    assert recorded and set(recorded) == missing
    assert all("UNIQUE" not in ddl.upper() for ddl in recorded.values())
    return site, source, before


def test_fast_load_killed_then_resumed_ends_with_every_index(sites, tmp_path):
    site, source, before = killed_fast_load(sites, tmp_path)
    resumed = site.beian("import", str(source), "--batch-size", "150", "--quiet", "--resume")
    assert resumed.returncode == 0 and "failed 0" in resumed.stdout, resumed.stdout + resumed.stderr
    assert schema(site) == before
    assert site.rows(f"SELECT count(*) FROM {DEFERRED}") == [(0,)]
    assert site.rows("SELECT count(*) FROM beian_subject") == [(1200,)]


def test_fast_load_killed_then_migrate_puts_every_index_back(sites, tmp_path):
    """No import resumed: `beian migrate` (and `beian serve`, which calls the same) re-creates what is recorded."""
    site, _source, before = killed_fast_load(sites, tmp_path)
    migrated = site.beian("migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "re-created" in migrated.stdout
    assert schema(site) == before
    assert site.rows(f"SELECT count(*) FROM {DEFERRED}") == [(0,)]
