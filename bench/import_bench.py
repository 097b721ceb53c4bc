"""Bulk import throughput against the raw insert rate of the same machine, database and run.

    .venv/bin/python bench/import_bench.py [--subjects 200000] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

1. ``beian synth`` writes N subjects to a temporary file (timed);
2. for SQLite (a temporary file) and PostgreSQL (a temporary database created through ``--pg-url`` and
   dropped afterwards): migrate, then ``registry.bulk.import_jsonl`` the file (timed: rows written / s,
   every table: accounts, subjects, websites, domains, feed), and, in the same process and database,
   insert the same number of website-sized rows into a bare table with no index (``executemany`` on
   SQLite, ``COPY`` on PostgreSQL) before and after the import;
3. print the figures and the ratio import / raw (target: ≥ 0.5): rows/s of every row the import writes (an average
   row is narrower than a website row: 13 columns against 17) over the wall-clock time of the whole import
   (read, parse, check, write, commit, checkpoint), against rows/s of pre-built website rows inserted in one
   transaction into a table without index, constraint or trigger; also the CPU seconds of the writer, the
   parse workers and (PostgreSQL) the database server process.

The machine is noisy: compare the ratio, not the absolute figures, and only within one run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RAW_COLUMNS = (
    "subject_id bigint, sequence integer, number varchar(48), name varchar(200), homepage varchar(300), "
    "content_type varchar(100), service_type varchar(20), responsible_name varchar(100), "
    "responsible_mobile varchar(20), responsible_email varchar(200), status varchar(16), served_here boolean, "
    "is_shell boolean, limit_access boolean, created_at timestamp with time zone, "
    "approved_at timestamp with time zone, cancelled_at timestamp with time zone"
)


def website_rows(count: int, vendor: str):
    """``count`` rows shaped like beian_website rows (what one synthetic website row holds)."""
    import datetime as dt

    when = dt.datetime(2021, 6, 1, 2, 0, tzinfo=dt.UTC)
    stamp = str(when.replace(tzinfo=None)) if vendor == "sqlite" else when
    base = [
        (
            n,
            1,
            f"粤ICP备2021{n:06d}号-1",
            "云栈官网",
            "https://www.yunzhanmall.com.cn",
            "无",
            "website",
            "张伟",
            "13800138000",
            f"service{n}@example.com",
            "active",
            True,
            False,
            False,
            stamp,
            stamp,
            None,
        )
        for n in range(1000)
    ]
    return itertools.islice(itertools.cycle(base), count)


def raw_insert(count: int) -> float:
    """Rows per second into a bare table of the current Django database (one transaction)."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_raw_website")
        cur.execute(f"CREATE TABLE bench_raw_website ({RAW_COLUMNS})")
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "sqlite":
            marks = ", ".join("?" * 17)
            connection.connection.executemany(
                f"INSERT INTO bench_raw_website VALUES ({marks})", website_rows(count, "sqlite")
            )
        else:
            with connection.cursor() as cur, cur.cursor.copy("COPY bench_raw_website FROM STDIN") as copy:
                for row in website_rows(count, "postgresql"):
                    copy.write_row(row)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_raw_website")
    return count / elapsed


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (the parse workers, once their pool is shut down)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _server_cpu() -> tuple[int, float] | None:
    """(pid, CPU seconds) of this connection's PostgreSQL backend (same machine: /proc), None on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(path: str, batch_size: int) -> None:
    """Runs in a process whose environment selects the database; prints one JSON line of figures."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    from beian.registry import bulk

    # time spent in the bulk writer itself (executemany / COPY into the real, indexed tables)
    writer, spent = bulk._write_rows, {}

    def timed_writer(table, columns, rows):
        started = time.perf_counter()
        writer(table, columns, rows)
        seconds, count = spent.get(table, (0.0, 0))
        spent[table] = (seconds + time.perf_counter() - started, count + len(rows))

    bulk._write_rows = timed_writer
    # the indexes a fast load (empty registry) deferred, re-created after its last batch: timed apart
    restore, restoring = bulk.restore_deferred, [0.0]

    def timed_restore():
        started = time.perf_counter()
        try:
            return restore()
        finally:
            restoring[0] += time.perf_counter() - started

    bulk.restore_deferred = timed_restore
    rows_hint = int(Path(path).stat().st_size / 1400 * 7)  # about 7 rows a subject: warm-up size
    raw_before = raw_insert(max(rows_hint, 100_000))
    cpu, workers, server = time.process_time(), _children_cpu(), _server_cpu()
    summary = bulk.import_jsonl(path, batch_size=batch_size)
    cpu, workers = time.process_time() - cpu, _children_cpu() - workers
    # starting the parse workers closes the connection: the import then ran on a new backend
    after, before, server = _server_cpu(), server, None
    if after is not None:
        server = after[1] - (before[1] if before is not None and before[0] == after[0] else 0.0)
    bulk._write_rows, bulk.restore_deferred = writer, restore
    raw_after = raw_insert(summary.rows)
    with connection.cursor() as cur:
        counts = {}
        for table in ("beian_user", "beian_subject", "beian_website", "beian_domain", "beian_feed"):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "lines": summary.lines,
                "failed": summary.failed,
                "rows": summary.rows,
                "elapsed": summary.elapsed,
                "cpu": cpu,
                "worker_cpu": workers,
                "server_cpu": server,
                "import_rows_per_s": summary.rows_per_second,
                "subjects_per_s": summary.lines_per_second,
                "raw_before": raw_before,
                "raw_after": raw_after,
                "counts": counts,
                "writer": spent,
                "deferred": summary.deferred,
                "restore_s": restoring[0],
            }
        )
    )


def run_backend(label: str, env: dict, path: Path, batch_size: int) -> dict:
    proc = subprocess.run(
        [PYTHON, __file__, "--child", str(path), "--batch-size", str(batch_size)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{label}: the import run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(label: str, r: dict) -> None:
    raw = (r["raw_before"] + r["raw_after"]) / 2
    print(f"\n{label}")
    server = f", database server {r['server_cpu']:.1f} s" if r.get("server_cpu") else ""
    print(
        f"  import: {r['lines']:,} subjects, {r['rows']:,} rows in {r['elapsed']:.1f} s: "
        f"{r['import_rows_per_s']:,.0f} rows/s, {r['subjects_per_s']:,.0f} subjects/s"
    )
    print(f"  cpu:    writer {r['cpu']:.1f} s, parse workers {r['worker_cpu']:.1f} s{server}")
    print("  rows:   " + ", ".join(f"{t.removeprefix('beian_')} {n:,}" for t, n in r["counts"].items()))
    print(
        f"  raw:    {raw:,.0f} rows/s (bare table, website-sized rows; before {r['raw_before']:,.0f}, "
        f"after {r['raw_after']:,.0f})"
    )
    seconds = sum(s for s, _ in r["writer"].values())
    written = sum(n for _, n in r["writer"].values())
    tables = ", ".join(f"{t.removeprefix('beian_')} {n / s:,.0f}/s" for t, (s, n) in r["writer"].items())
    print(
        f"  writer: {written / seconds:,.0f} rows/s into the real tables with their indexes "
        f"({seconds:.1f} s of the {r['elapsed']:.1f} s; {tables})"
    )
    if r.get("deferred"):
        print(
            f"  fast:   {r['deferred']} indexes/foreign keys deferred on the empty registry, "
            f"re-created in {r['restore_s']:.1f} s (part of the import's time)"
        )
    print(f"  ratio:  import / raw = {r['import_rows_per_s'] / raw:.2f}  (target >= 0.5)")
    print(
        "          (rows/s of every row the import writes, 5 tables, over the wall-clock time of the whole import"
        " (read, parse, check, write, commit, checkpoint) / rows/s of pre-built 17-column website rows into"
        " an unindexed table: executemany on SQLite, COPY on PostgreSQL)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.batch_size)
        return 0
    base_env = {k: v for k, v in os.environ.items() if k != "BEIAN_DATABASE_URL"}
    with tempfile.TemporaryDirectory(prefix="beian-import-bench-") as tmp:
        path = Path(tmp) / "national.jsonl"
        started = time.perf_counter()
        subprocess.run(
            [PYTHON, "-m", "beian", "synth", "--subjects", str(args.subjects), "--seed", str(args.seed),
             "--output", str(path), "--quiet"],
            env={**base_env, "BEIAN_HOME": tmp},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )  # fmt: skip
        synth_s = time.perf_counter() - started
        lines = websites = 0
        with open(path, encoding="utf-8") as fh:
            for text in fh:
                lines += 1
                websites += text.count('"service_type"')
        print(
            f"synth: {lines:,} subjects, {websites:,} websites, {path.stat().st_size / 1e6:,.0f} MB "
            f"in {synth_s:.1f} s ({lines / synth_s:,.0f} subjects/s)"
        )
        if not args.skip_sqlite:
            home = Path(tmp) / "sqlite"
            home.mkdir()
            result = run_backend("SQLite", {**base_env, "BEIAN_HOME": str(home)}, path, args.batch_size)
            report(f"SQLite ({home / 'beian.sqlite3'}, WAL, synchronous=NORMAL)", result)
        if not args.skip_pg:
            import psycopg

            name = f"beian_import_bench_{os.getpid()}"
            with psycopg.connect(args.pg_url, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
                # index builds in this backend only: parallel maintenance workers' CPU would escape the count
                admin.execute(f"ALTER DATABASE {name} SET max_parallel_maintenance_workers = 0")
            try:
                url = args.pg_url.rsplit("/", 1)[0] + "/" + name
                env = {**base_env, "BEIAN_HOME": tmp, "BEIAN_DATABASE_URL": url}
                result = run_backend("PostgreSQL", env, path, args.batch_size)
                report(f"PostgreSQL (temporary database {name})", result)
            finally:
                with psycopg.connect(args.pg_url, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
