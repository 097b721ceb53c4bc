"""Shared fixtures. In strict mode (CI) a skipped test fails the run: every suite must really run."""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("BEIAN_TEST_STRICT") == "1"


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
