"""The SQLite connection's settings, as the service opens its database file."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db]


def test_sqlite_connections_use_wal_a_large_page_cache_and_mmap(tmp_path):
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from beian.web import settings as service_settings

    db = {**service_settings._database(), "NAME": str(tmp_path / "probe.sqlite3")}
    for key in ("ATOMIC_REQUESTS", "AUTOCOMMIT", "TIME_ZONE", "TEST"):
        db.setdefault(key, {} if key == "TEST" else None if key == "TIME_ZONE" else key == "AUTOCOMMIT")
    wrapper = DatabaseWrapper(db, alias="probe")
    try:
        wrapper.ensure_connection()
        raw = wrapper.connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA cache_size").fetchone()[0] == -64 * 1024
        assert raw.execute("PRAGMA mmap_size").fetchone()[0] > 0
    finally:
        wrapper.close()
