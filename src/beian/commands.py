"""Sub-commands of ``beian`` that need Django: token, audit, worker."""

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


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    from django.db import close_old_connections

    from beian.notify.services import outbox_deliver_due
    from beian.orders.jobs import expire_untouched_orders, return_expired_codes

    last_jobs = 0.0
    print("beian worker: delivering the outbox, expiring orders", flush=True)
    while True:
        close_old_connections()
        sent, failed = outbox_deliver_due(limit=200)
        if time.monotonic() - last_jobs >= args.jobs_interval:
            expire_untouched_orders()
            return_expired_codes()
            last_jobs = time.monotonic()
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
    from granian.constants import Interfaces
    from granian.server import Server

    if args.fail_open:
        os.environ["BEIAN_GATE_FAIL_OPEN"] = "1"
    os.environ["BEIAN_GATE_POLL_INTERVAL"] = str(args.poll_interval)
    print(f"beian gate: listening on http://{args.host}:{args.port}/check", flush=True)
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


_EXTENSIONS.append(register)
