"""Shared fixtures. In strict mode (CI) a skipped test fails the run: every suite must really run."""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("BEIAN_TEST_STRICT") == "1"


def pytest_collection_modifyitems(config, items):
    """Outside tests/run.py (which deselects them), backend-specific tests skip with a visible reason."""
    from django.conf import settings

    vendor = "postgresql" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
    for item in items:
        if "postgres" in item.keywords and vendor != "postgresql":
            item.add_marker(
                pytest.mark.skip(reason="PostgreSQL only: set BEIAN_DATABASE_URL=postgresql://… to run it")
            )
        if "sqlite_only" in item.keywords and vendor != "sqlite":
            item.add_marker(pytest.mark.skip(reason="SQLite only"))


def pytest_sessionfinish(session, exitstatus):
    if not STRICT:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"BEIAN_TEST_STRICT=1: {len(skipped)} skipped test(s) count as failures", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Cheap hashes in tests (argon2id with minimal cost; MD5 for accounts): the code paths stay the same."""
    from argon2 import PasswordHasher
    from django.conf import settings

    from beian.orders import verification

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    verification.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield


@pytest.fixture(autouse=True)
def _reset_clock():
    """Tests may move the service clock; every test starts and ends at the real time."""
    from beian.core import clock

    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def client():
    """Django's test client with the public query's WSGI lane in front, as in `beian serve` (tests/lane_client)."""
    from tests.lane_client import LaneClient

    return LaneClient()


@pytest.fixture
def sites(tmp_path):
    """Sites of real `beian` processes, each with its own database, dropped afterwards (tests/security/crashkit)."""
    from tests.security.crashkit import Sites

    made = Sites(tmp_path)
    try:
        yield made
    finally:
        made.drop()
