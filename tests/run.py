"""Run the test suite the way `make test` and CI do.

1. the whole suite on SQLite, less the tests marked ``postgres`` (races, LISTEN/NOTIFY, plan checks);
2. when ``BEIAN_TEST_POSTGRES_URL`` is set, every database test again on PostgreSQL, less those marked
   ``sqlite_only`` (the pure ``tests/rules`` suite needs no second run).

``BEIAN_TEST_STRICT=1`` (set by ``.ci/run``) makes a missing PostgreSQL URL and any skipped test a
failure, so no backend or suite can silently drop out. pytest's exit status 5 (no tests ran) is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

STRICT = os.environ.get("BEIAN_TEST_STRICT") == "1"


def pytest(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== {label} ===", flush=True)
    code = subprocess.call([sys.executable, "-m", "pytest", *args], env=env)
    if code == 5:
        print(f"{label}: pytest collected no tests: failing", file=sys.stderr)
        return 1
    return code


def main() -> int:
    extra = sys.argv[1:]
    base = dict(os.environ)
    base.pop("BEIAN_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="beian-test-") as home:
        env = {**base, "BEIAN_HOME": home}
        status = pytest("SQLite", env, ["-m", "not postgres", *extra])
        pg = os.environ.get("BEIAN_TEST_POSTGRES_URL")
        if pg:
            env_pg = {**base, "BEIAN_HOME": home, "BEIAN_DATABASE_URL": pg}
            status = (
                pytest("PostgreSQL", env_pg, ["--ignore=tests/rules", "-m", "not sqlite_only", *extra])
                or status
            )
        elif STRICT:
            print(
                "BEIAN_TEST_STRICT=1 but BEIAN_TEST_POSTGRES_URL is not set: the PostgreSQL suite would not run",
                file=sys.stderr,
            )
            status = status or 1
        else:
            print(
                "PostgreSQL suite skipped: set BEIAN_TEST_POSTGRES_URL=postgresql://USER@HOST:5432/DB to run it"
            )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
