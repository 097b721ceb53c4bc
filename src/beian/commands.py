"""Sub-commands of ``beian``: token, audit, worker, gate …, synth, import, export and backup."""

from __future__ import annotations

import argparse
import os
import sys
import time

from beian.cli import _EXTENSIONS, EXIT_ERROR, CommandFailed, _django


def cmd_token(args: argparse.Namespace) -> int:
    _django()
    from beian.accounts.services import token_create, user_by_username
    from beian.core.errors import ServiceError

    try:
        user = user_by_username(args.username)
    except ServiceError as exc:
        raise CommandFailed(f"{exc.message_zh} / {exc.message_en}") from None
    print(token_create(user=user, name=args.name))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _django()
    from beian.audit.services import audit_verify

    result = audit_verify()
    if result.ok:
        print(f"审计日志完整 / audit chain intact: {result.checked} entries")
        return 0
    print(f"审计日志被篡改 / audit chain broken at entry {result.bad_seq}: {result.problem}", file=sys.stderr)
    return EXIT_ERROR


NAME_INDEX_EVERY = 24 * 3600.0  # seconds between merges of the SQLite name index (registry.search)


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    from django.db import close_old_connections

    from beian.notify.services import outbox_deliver_due
    from beian.orders.jobs import expire_untouched_orders, return_expired_codes
    from beian.registry.search import optimize_name_index

    last_jobs = last_optimize = -NAME_INDEX_EVERY
    print("beian worker: delivering the outbox, expiring orders", flush=True)
    while True:
        close_old_connections()
        sent, failed = outbox_deliver_due(limit=200)
        if time.monotonic() - last_jobs >= args.jobs_interval:
            expire_untouched_orders()
            return_expired_codes()
            last_jobs = time.monotonic()
        if time.monotonic() - last_optimize >= NAME_INDEX_EVERY:
            optimize_name_index()  # the writes of a day left segments in SQLite's name index
            last_optimize = time.monotonic()
        if args.once:
            print(f"sent {sent}, failed attempts {failed}")
            return 0
        if not sent:
            time.sleep(args.interval)


def cmd_password_issue(args: argparse.Namespace) -> int:
    _django()
    from beian.accounts.services import user_by_username
    from beian.core.errors import ServiceError
    from beian.orders.recovery import password_issue_link

    try:
        subject = password_issue_link(actor=user_by_username(args.admin), number=args.number)
    except ServiceError as exc:
        raise CommandFailed(f"{exc.message_zh} / {exc.message_en}") from None
    print(f"重置链接已发送至 {subject.number} 的主体负责人（{subject.responsible_email}）/ reset link sent")
    return 0


def cmd_workflow_diagram(args: argparse.Namespace) -> int:
    _django()
    from beian.orders.workflow import diagram

    print(diagram())
    return 0


def cmd_gate_serve(args: argparse.Namespace) -> int:
    if args.fail_open:
        os.environ["BEIAN_GATE_FAIL_OPEN"] = "1"
    os.environ["BEIAN_GATE_POLL_INTERVAL"] = str(args.poll_interval)
    print(f"beian gate: listening on http://{args.host}:{args.port}/check ({args.server})", flush=True)
    if args.server == "asyncio":
        # the gate's own HTTP/1.1 server (uvloop + httptools): granian's cost per request is most of the gate's
        from beian.gate.server import ListenError, serve

        try:
            serve(args.host, args.port)
        except ListenError as exc:  # the address is taken or not ours
            raise CommandFailed(f"无法监听 {args.host}:{args.port} / cannot listen there: {exc}") from None
        return 0
    from granian.constants import Interfaces
    from granian.server import Server

    Server(
        "beian.gate.app:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.RSGI,
        workers=1,
        log_access=False,
        backlog=2048,
    ).serve()
    return 0


def cmd_gate_export_map(args: argparse.Namespace) -> int:
    _django()
    from pathlib import Path

    from beian.gate.nginx_map import watch, write_map

    if args.watch:
        watch(Path(args.output), reload_command=args.reload_command, interval=args.interval)
        return 0
    count, position = write_map(Path(args.output))
    print(f"wrote {count} domains (feed position {position}) to {args.output}")
    return 0


# --- bulk import / export and the synthetic dataset (registry.bulk, lookup.synth) ------------------------------
def _open_output(path: str):
    """(text stream, finish): "-" is stdout; a file is written beside and renamed into place when complete."""
    import io
    from pathlib import Path

    if path == "-":
        sys.stdout.flush()
        out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=False)
        return out, lambda ok: out.detach()  # leave sys.stdout's buffer open
    target = Path(path)
    if not target.parent.is_dir():
        raise CommandFailed(f"目录不存在 / no such directory: {target.parent}")
    tmp = target.with_name(f".{target.name}.part")
    out = open(tmp, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by finish

    def finish(ok: bool) -> None:
        out.close()
        if ok:
            os.replace(tmp, target)
        else:
            tmp.unlink(missing_ok=True)

    return out, finish


def _reader_gone() -> bool:
    """The reader of our stdout stopped early (``| head``): not an error. Later flushes go to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return True


def _progress(enabled: bool, unit: str):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[count]:,} " + unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def cmd_synth(args: argparse.Namespace) -> int:
    from beian.lookup import synth

    if not 0 < args.subjects <= synth.MAX_SUBJECTS:
        raise CommandFailed(
            f"--subjects 应在 1 到 {synth.MAX_SUBJECTS} 之间 / must be 1 … {synth.MAX_SUBJECTS}"
        )
    out, finish = _open_output(args.output)
    started = time.perf_counter()
    ok = complete = False
    try:
        with _progress(args.output != "-" and not args.quiet, "subjects") as bar:
            task = bar.add_task("生成 / synth", total=args.subjects, count=0)
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                done += n
                bar.update(task, advance=n, count=done)

            synth.write(out, args.subjects, args.seed, jobs=args.jobs, progress=advance)
        out.flush()
        ok = complete = True
    except BrokenPipeError:
        ok = _reader_gone()
    finally:
        finish(ok)
    if not complete:
        return 0
    elapsed = time.perf_counter() - started
    print(
        f"生成 {args.subjects:,} 个主体 / {args.subjects:,} subjects (seed {args.seed}) "
        f"in {elapsed:.1f} s ({args.subjects / elapsed:,.0f}/s)",
        file=sys.stderr,
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.file)
    if args.file != "-" and not path.is_file():
        raise CommandFailed(f"找不到文件 / no such file: {args.file}")
    if args.file == "-" and args.resume:
        raise CommandFailed("--resume 需要文件，不能用于标准输入 / --resume needs a file, not standard input")
    if args.batch_size < 1:
        raise CommandFailed("--batch-size 至少为 1 / --batch-size must be at least 1")
    _django()
    from beian.cli import _pending_migrations

    if _pending_migrations():
        raise CommandFailed(
            "数据库需要迁移，请先运行 beian migrate / the database needs `beian migrate` first"
        )
    from beian.registry import bulk

    if args.file != "-" and not args.resume:
        mark = bulk.read_checkpoint(path)
        if mark is not None:
            print(
                f"注意：存在检查点（第 {mark.get('line')} 行），本次从头导入；继续请加 --resume / "
                f"a checkpoint exists (line {mark.get('line')}); starting from line 1 (use --resume to continue)",
                file=sys.stderr,
            )
    total = path.stat().st_size if args.file != "-" else None
    stream = sys.stdin.buffer if args.file == "-" else None
    with _progress(not args.quiet, "lines") as bar:
        task = bar.add_task("导入 / import", total=total, count=0)
        if args.resume and total:
            mark = bulk.read_checkpoint(path)
            if mark:
                bar.update(task, completed=mark.get("offset", 0))

        def on_error(error) -> None:
            bar.console.print(str(error), markup=False, highlight=False)

        lines = 0

        def on_batch(nbytes: int, nlines: int, result) -> None:
            nonlocal lines
            lines += nlines
            bar.update(task, advance=nbytes, count=lines)

        try:
            summary = bulk.import_jsonl(
                path,
                batch_size=args.batch_size,
                resume=args.resume,
                on_error=on_error,
                on_batch=on_batch,
                stream=stream,
            )
        except KeyboardInterrupt:
            mark = bulk.read_checkpoint(path) if args.file != "-" else None
            if mark:
                print(
                    f"已中断：第 {mark['line']} 行之前已提交，加 --resume 继续 / interrupted: lines up to "
                    f"{mark['line']} are committed; run again with --resume to continue",
                    file=sys.stderr,
                )
            raise
        except bulk.DeferredRestoreFailed as exc:
            raise CommandFailed(str(exc)) from None
        except bulk.CheckpointMismatch as exc:
            raise CommandFailed(
                f"{exc}：请去掉 --resume 重新导入（重复导入是幂等的）/ import again without --resume (re-import is idempotent)"
            ) from None
    if summary.restored:
        print(
            f"已重建上次中断的导入暂缓的 {summary.restored} 个索引 / re-created {summary.restored} indexes "
            "an interrupted import had deferred"
        )
    if summary.resumed_after:
        print(f"从第 {summary.resumed_after + 1} 行继续 / resumed after line {summary.resumed_after}")
    print(
        f"读取 {summary.lines:,} 行 / lines read {summary.lines:,}; "
        f"新增 / inserted {summary.inserted:,}; 更新 / updated {summary.updated:,}; "
        f"未变 / unchanged {summary.unchanged:,}; 失败 / failed {summary.failed:,}"
    )
    print(
        f"用时 / elapsed {summary.elapsed:.1f} s; {summary.rows:,} rows written, "
        f"{summary.rows_per_second:,.0f} rows/s, {summary.lines_per_second:,.0f} subjects/s"
    )
    return 1 if summary.failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    _django()
    from beian.registry import bulk
    from beian.registry.models import Subject

    total = Subject.objects.filter(number__isnull=False, status__in=["active", "cancelled"]).count()
    out, finish = _open_output(args.output)
    started = time.perf_counter()
    ok = False
    try:
        with _progress(args.output != "-" and not args.quiet, "subjects") as bar:
            task = bar.add_task("导出 / export", total=total, count=0)
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                done += n
                bar.update(task, advance=n, count=done)

            count = bulk.export_jsonl(out, on_subject=advance)
        out.flush()
        ok = True
    except BrokenPipeError:
        ok, count = _reader_gone(), -1
    finally:
        finish(ok)
    if count >= 0:
        elapsed = time.perf_counter() - started
        print(f"导出 {count:,} 个主体 / exported {count:,} subjects in {elapsed:.1f} s", file=sys.stderr)
    return 0


# --- backup: one command whichever the database (docs/operations.md) ----------------------------------------------
def _backup_sqlite(source: str, tmp) -> None:
    """SQLite's online backup API: one step, so one consistent snapshot; in WAL mode writers carry on meanwhile."""
    import contextlib
    import sqlite3
    from pathlib import Path

    if not Path(source).is_file():  # also ":memory:": connecting would create an empty database
        raise CommandFailed(f"没有可备份的数据库文件 / no database file to back up: {source}")
    with (
        contextlib.closing(sqlite3.connect(source, timeout=10)) as src,
        contextlib.closing(sqlite3.connect(tmp)) as dst,
    ):
        src.backup(dst)
        # The copy says WAL like its source; rollback mode leaves one self-contained file (no -wal beside it).
        dst.execute("PRAGMA journal_mode=DELETE")


def _backup_postgresql(connection, tmp) -> None:
    """pg_dump's custom format (restore with pg_restore): a consistent snapshot, taken without blocking writers."""
    import shutil
    import subprocess

    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise CommandFailed(
            "找不到 pg_dump，请安装 PostgreSQL 客户端（主版本不低于服务器）/ pg_dump not found on PATH: install the "
            "PostgreSQL client tools (the server's major version or newer)"
        )
    # Connection flags and PG* variables (password, sslmode …) as Django's own dbshell derives them.
    args, env = connection.client.settings_to_cmd_args_env(
        connection.settings_dict, ["--format=custom", "--file", str(tmp)]
    )
    done = subprocess.run(
        [pg_dump, *args[1:]], env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise CommandFailed(f"pg_dump 失败 / pg_dump failed: {detail[0]}")


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    target = Path(args.dest).expanduser().absolute()
    if not target.parent.is_dir():
        raise CommandFailed(f"目录不存在 / no such directory: {target.parent}")
    if target.is_dir():
        raise CommandFailed(f"目标是目录 / DEST is a directory: {target}")
    _django()
    from django.db import connection

    vendor = connection.vendor
    if vendor == "sqlite" and Path(connection.settings_dict["NAME"]).resolve() == target.resolve():
        raise CommandFailed("目标就是数据库本身 / DEST is the database itself")
    tmp = target.with_name(f".{target.name}.part")  # renamed into place only when complete
    tmp.unlink(missing_ok=True)
    # Personal data and password hashes: readable by the owner only, whatever the umask.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    started = time.perf_counter()
    try:
        if vendor == "sqlite":
            _backup_sqlite(str(connection.settings_dict["NAME"]), tmp)
        elif vendor == "postgresql":
            _backup_postgresql(connection, tmp)
        else:
            raise CommandFailed(f"不支持的数据库 / unsupported database: {vendor}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    restore = (
        f"pg_restore --no-owner -d NEW_DATABASE {target}"
        if vendor == "postgresql"
        else "stop beian, put the file in place of the database (docs/operations.md)"
    )
    print(
        f"备份完成 / backup written: {target} ({target.stat().st_size:,} bytes, "
        f"{time.perf_counter() - started:.1f} s)\nrestore: {restore}"
    )
    return 0


def register(sub) -> None:
    p = sub.add_parser("token", help="API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    c = tsub.add_parser("create", help="create an API token for USERNAME and print it (shown once)")
    c.add_argument("username")
    c.add_argument("--name", default="cli")
    c.set_defaults(func=cmd_token)

    p = sub.add_parser("audit", help="the audit log")
    asub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = asub.add_parser("verify", help="check the hash chain; name the first bad entry")
    v.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("filing-password", help="filing passwords (备案密码)")
    fsub = p.add_subparsers(dest="password_command", required=True, metavar="ACTION")
    i = fsub.add_parser("issue", help="send the subject's responsible person a reset link (audited as ADMIN)")
    i.add_argument("number")
    i.add_argument("--admin", required=True, help="the admin account the audit entry names")
    i.set_defaults(func=cmd_password_issue)

    p = sub.add_parser("workflow", help="the order workflow")
    wsub = p.add_subparsers(dest="workflow_command", required=True, metavar="ACTION")
    d = wsub.add_parser("diagram", help="print the state diagram (Mermaid) drawn from the transition table")
    d.set_defaults(func=cmd_workflow_diagram)

    p = sub.add_parser("gate", help="the enforcement gate beside nginx")
    gsub = p.add_subparsers(dest="gate_command", required=True, metavar="ACTION")
    g = gsub.add_parser("serve", help="answer nginx auth_request: 204 serve, 403 block")
    g.add_argument("--host", default="127.0.0.1")
    g.add_argument("--port", type=int, default=8090)
    g.add_argument(
        "--poll-interval",
        type=float,
        default=0.1,
        help="seconds between feed polls (PostgreSQL also LISTENs)",
    )
    g.add_argument(
        "--fail-open", action="store_true", help="serve everything until the set is loaded (default: block)"
    )
    g.add_argument(
        "--server",
        choices=["asyncio", "granian"],
        default="asyncio",
        help="HTTP server: the gate's own on uvloop + httptools (default, faster), or its RSGI app under granian",
    )
    g.set_defaults(func=cmd_gate_serve)
    m = gsub.add_parser("export-map", help="write the served set as an nginx map")
    m.add_argument("--output", required=True)
    m.add_argument("--watch", action="store_true", help="rewrite and reload nginx whenever the feed moves")
    m.add_argument("--reload-command", default="nginx -s reload")
    m.add_argument("--interval", type=float, default=1.0)
    m.set_defaults(func=cmd_gate_export_map)

    p = sub.add_parser("worker", help="deliver mail and SMS from the outbox; run periodic jobs")
    p.add_argument("--once", action="store_true", help="one round, then exit")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
    p.add_argument("--jobs-interval", type=float, default=60.0, help="seconds between expiry runs")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("synth", help="write a synthetic national dataset (JSON Lines, docs/data-format.md)")
    p.add_argument("--subjects", type=int, required=True, help="number of subjects (主体)")
    p.add_argument("--seed", type=int, default=1, help="same seed and count: byte-identical output")
    p.add_argument("--output", default="-", help="FILE, or - for standard output (default)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (the output does not depend on it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "import",
        help="import subjects from JSON Lines (docs/data-format.md); exit 1 when some lines were rejected",
    )
    p.add_argument("file", help="FILE.jsonl, or - for standard input (no checkpoint)")
    p.add_argument("--batch-size", type=int, default=10_000, help="lines per transaction (default 10000)")
    p.add_argument(
        "--resume", action="store_true", help="continue after FILE.checkpoint's last committed line"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar (errors and summary still shown)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export every subject with its websites and domains as JSON Lines")
    p.add_argument("--output", default="-", help="FILE, or - for standard output (default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "backup",
        help="write a consistent online backup to DEST: SQLite's backup API, or pg_dump -Fc on PostgreSQL",
    )
    p.add_argument("dest", metavar="DEST", help="the backup file (replaced when the backup is complete)")
    p.set_defaults(func=cmd_backup)


_EXTENSIONS.append(register)
