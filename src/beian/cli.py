"""The ``beian`` command: serve, migrate, demo, check, inspect (and more as the apps grow).

Every error ends as one clear line on stderr and exit status 2, never a traceback
(``BEIAN_DEBUG=1`` shows the traceback of an unexpected error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_ERROR = 2


class CommandFailed(Exception):
    """A command could not do what was asked; the message says why and what to do."""


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
    import django

    django.setup()


def _pending_migrations() -> bool:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _restore_deferred_indexes() -> bool:
    """Indexes a killed first import left dropped (registry.bulk's fast load) come back here too; False (and
    a warning) when one could not be re-created (say, SQLite stayed locked by an import in progress)."""
    from beian.registry import bulk

    try:
        restored = bulk.restore_deferred()
    except bulk.DeferredRestoreFailed as exc:
        print(f"警告 / warning: {exc}", file=sys.stderr)
        return False
    if restored:
        print(
            f"已重建导入时暂缓的 {restored} 个索引 / re-created {restored} indexes an interrupted import had deferred"
        )
    return True


def cmd_migrate(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import call_command

    # first: a migration may alter an index that a killed import left dropped (recorded for this schema)
    if not _restore_deferred_indexes():
        return 1
    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    from beian.lookup import bigrams

    # PostgreSQL: the name bigrams counted again (how a name query is planned), unless the migrations' rebuild of
    # their table (post_migrate: bigrams.ensure) has just counted them
    bigrams.recount(unless_counted_since=started)
    print("数据库已是最新 / database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import call_command

    if _pending_migrations():
        call_command("migrate", interactive=False, verbosity=0)
    from beian.demo import load_demo

    load_demo(out=sys.stdout)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    if args.demo:
        os.environ["BEIAN_DEMO"] = "1"
    _django()
    from django.conf import settings
    from django.core.management import call_command

    _restore_deferred_indexes()
    if _pending_migrations():
        print("正在迁移数据库 / migrating the database …", flush=True)
        call_command("migrate", interactive=False, verbosity=0)
    from beian.lookup import answers, bigrams, selectors

    if answers.ensure():  # the answer objects' SQL changed with the code: rebuilt
        print("已重建公共查询的结果 / rebuilt the public query's stored answers", flush=True)
    if bigrams.ensure():  # PostgreSQL: the name bigrams' table was missing or its triggers changed: filled
        print("已重建名称二元组 / rebuilt the name bigrams", flush=True)
    selectors.ensure_name_function()
    if args.demo:
        from beian.demo import demo_loaded, load_demo

        if not demo_loaded():
            load_demo(out=sys.stdout)
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.db import connection
    from granian.constants import Interfaces
    from granian.server import Server

    print(f"beian 正在运行 / serving on http://{args.host}:{args.port}/", flush=True)
    Server(
        "beian.web.wsgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads or (2 if connection.vendor == "postgresql" else 1),
        static_path_route=["/static"],
        static_path_mount=[Path(settings.STATIC_ROOT)],
        log_access=args.access_log,
    ).serve()
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import call_command
    from django.db import connection
    from rich.console import Console
    from rich.table import Table

    from beian.rules import domains, provinces, workdays

    problems = 0
    table = Table(title="beian check")
    table.add_column("项目 / item")
    table.add_column("状态 / status")
    table.add_column("说明 / detail")

    def row(item: str, ok: bool | None, detail: str) -> None:
        nonlocal problems
        problems += ok is False
        mark = {True: "[green]OK[/]", False: "[red]FAIL[/]", None: "[yellow]WARN[/]"}[ok]
        table.add_row(item, mark, detail)

    try:
        import io

        call_command("check", stdout=io.StringIO())
        row("Django system checks", True, "")
    except Exception as exc:  # a SystemCheckError lists every problem
        row("Django system checks", False, str(exc))
    try:
        connection.ensure_connection()
        row("database", True, f"{connection.vendor} {connection.settings_dict['NAME']}")
        pending = _pending_migrations()
        row("migrations", not pending or None, "run `beian migrate`" if pending else "up to date")
    except Exception as exc:
        row("database", False, f"cannot connect: {exc}")
    first, last = workdays.covered_years()
    import datetime as dt

    next_year = dt.date.today().year + 1
    row(
        "working-day calendar",
        True if last >= next_year else None,
        f"official holidays known for {first}-{last}"
        + (
            ""
            if last >= next_year
            else f"; {next_year} falls back to Monday-Friday (upgrade chinese-calendar)"
        ),
    )
    row(
        "provinces",
        len(provinces.all_provinces()) == 31,
        f"31 bureaus, data checked {provinces.data_checked()}",
    )
    row(
        "approved TLDs",
        True,
        f"{len(domains.approved_tlds())} TLDs, data checked {domains.tld_data_checked()}",
    )
    Console().print(table)
    return EXIT_ERROR if problems else 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from beian.rules.describe import describe
    from beian.rules.errors import RulesError

    status = 0
    for text in args.text:
        try:
            print(json.dumps(describe(text), ensure_ascii=False))
        except RulesError as exc:
            print(f"beian inspect: {text!r}: {exc.message_zh} / {exc.message_en}", file=sys.stderr)
            status = EXIT_ERROR
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beian", description="ICP 备案平台 / ICP filing platform")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web service (migrates first when needed)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    # One request at a time per worker, like a sync worker: granian's default for WSGI (hundreds of threads)
    # let 50 connections fight over the GIL; measured on the public query, 1 thread gave +37 % req/s and a
    # p99 of 4 ms instead of 31 ms (docs/performance.md). On PostgreSQL a second thread runs Python while the
    # other waits for the database: +50-100 % req/s on the public query, p99 unchanged. Scale with --workers.
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per worker (default 1 on SQLite, 2 on PostgreSQL; scale with --workers)",
    )
    p.add_argument("--demo", action="store_true", help="load the demo data when the database has none")
    p.add_argument("--access-log", action="store_true")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("demo", help="load demo accounts and filings (prints credentials)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("check", help="check the configuration, database and data files")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("inspect", help="describe filing numbers or domains as JSON, one line each")
    p.add_argument("text", nargs="+")
    p.set_defaults(func=cmd_inspect)

    for register in _EXTENSIONS:
        register(sub)
    return parser


# Apps add their own sub-commands here (token, audit, worker, gate, import, export ...).
_EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    import beian.commands  # noqa: F401 - registers token, audit, worker

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except CommandFailed as exc:
        print(f"beian {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the promise: a message, never a traceback
        if os.environ.get("BEIAN_DEBUG"):
            raise
        from beian.rules.errors import RulesError

        message = (
            f"{exc.message_zh} / {exc.message_en}"
            if isinstance(exc, RulesError)
            else f"{type(exc).__name__}: {exc}"
        )
        print(f"beian {args.command}: {message}", file=sys.stderr)
        print("  (set BEIAN_DEBUG=1 to see the full traceback)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
