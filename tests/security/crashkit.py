"""Helpers of the crash-consistency tests (tests/security/test_crash.py).

A *site* is one deployment: a fresh ``BEIAN_HOME`` and a fresh database on the backend of this test
session (a SQLite file, or a scratch PostgreSQL database on the server of ``BEIAN_DATABASE_URL``, never the
pytest-django test database). The real ``beian serve`` (granian) and ``beian worker`` run against it as
subprocesses and are killed with SIGKILL; a seeded stream of API calls runs meanwhile and records every call
whose answer confirmed success. ``report_main`` runs in a subprocess pointed at the site's database and
prints, as JSON, the orders with their timelines, the outbox and every broken invariant it finds.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.gate.processes import DEMO_LOADER, PYTHON, REPO, Process, base_env, free_port, http_json, run

OPEN = ("provider_review", "awaiting_verification", "bureau_review")


# --- sites: a home and a fresh database ----------------------------------------------------------------------
def session_postgres_url() -> str | None:
    """The PostgreSQL server URL of this test session, or None when the session runs on SQLite."""
    from django.conf import settings

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return None
    url = os.environ.get("BEIAN_DATABASE_URL", "")
    assert url.startswith(("postgres://", "postgresql://")), "PostgreSQL session without BEIAN_DATABASE_URL"
    return url


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@dataclass
class Site:
    home: Path
    url: str
    env: dict[str, str]

    @property
    def vendor(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def beian(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run([PYTHON, "-m", "beian", *args], self.env, timeout=timeout)

    def beian_process(self, name: str, *args: str) -> Process:
        return Process(name, [PYTHON, "-m", "beian", *args], self.env, self.home.parent)

    def rows(self, sql: str) -> list[tuple]:
        """Rows read straight from the site's database (no Django, no subprocess)."""
        if self.vendor == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()

    def report(self, mode: str, export: Path | None = None) -> dict:
        """``report_main`` in a fresh interpreter against this site's database (``export``: also export the
        registry there, as ``beian export`` does)."""
        code = "from tests.security.crashkit import report_main; report_main()"
        out = run([PYTHON, "-c", code, mode, str(export or "")], self.env, timeout=180).stdout
        return json.loads(out.strip().splitlines()[-1])


class Sites:
    """Fresh sites on this session's backend; their PostgreSQL databases are dropped by ``drop()``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg = session_postgres_url()
        self.created: list[str] = []

    def new(self, label: str, *, like: Site | None = None) -> Site:
        """A fresh site; ``like``: a copy of that site's database (no process may be using it)."""
        home = self.root / f"{label}-{uuid.uuid4().hex[:6]}" / "home"
        home.mkdir(parents=True)
        if self.pg:
            name = f"beian_crash_{label.replace('-', '_')}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            template = f' TEMPLATE "{urlsplit(like.url).path.lstrip("/")}"' if like else ""
            _pg_admin(self.pg, f'CREATE DATABASE "{name}"{template}')
            self.created.append(name)
            url = urlunsplit(urlsplit(self.pg)._replace(path="/" + name))
        else:
            url = f"sqlite:///{home / 'beian.sqlite3'}"
            if like:
                shutil.copy(like.url.removeprefix("sqlite:///"), url.removeprefix("sqlite:///"))
        env = {
            **base_env(),
            "BEIAN_HOME": str(home),
            "BEIAN_DATABASE_URL": url,
            # the development backends: every delivery is a line (SMS) or a file (mail) we can count;
            # the API test sends SMS to its own gateway instead
            "BEIAN_SMS_BACKEND": "file",
            "BEIAN_EMAIL_BACKEND": "file",
            "BEIAN_CANCELLATION_VERIFICATION": "password",
        }
        return Site(home=home, url=url, env=env)

    def drop(self) -> None:
        for name in self.created:
            with contextlib.suppress(Exception):
                _pg_admin(self.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ``beian migrate`` and the demo loader in one interpreter (each start costs a second on a busy machine)
MIGRATE = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
from beian.cli import main
assert main(["migrate"]) == 0
"""


def demo_site(sites: Sites) -> Site:
    """A migrated site with the demo accounts and filings (cheap hashes, as the rest of the suite)."""
    site = sites.new("api")
    run([PYTHON, "-c", MIGRATE + DEMO_LOADER], site.env)
    return site


def tokens_via_cli(site: Site, users: tuple[str, ...]):
    """Start ``beian token create USER`` for each user; the returned function waits for {user: token}."""
    makers = {
        u: subprocess.Popen(
            [PYTHON, "-m", "beian", "token", "create", u, "--name", "crash"],
            env=site.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for u in users
    }

    def collect() -> dict[str, str]:
        tokens = {}
        for user, proc in makers.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, f"beian token create {user}: {err}"
            tokens[user] = out.strip().splitlines()[-1]
        return tokens

    return collect


# --- the server and the worker -------------------------------------------------------------------------------
class Service:
    """``beian serve`` and ``beian worker`` of one site, started, SIGKILLed and restarted."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.generation = 0
        self.server: Process | None = None
        self.worker: Process | None = None
        self.port = 0
        self.worker_kills = 0
        self.server_kills = 0
        self._lock = threading.Lock()  # the SMS gateway's thread kills the worker too

    def start(self, timeout: float = 90) -> None:
        """Start both and wait until the server answers /healthz."""
        self.start_worker()
        deadline = time.monotonic() + timeout
        for attempt in range(3):  # a free port can be taken by another process before the server binds it
            self.generation += 1
            self.port = free_port()
            self.server = self.site.beian_process(
                f"server-{self.generation}", "serve", "--port", str(self.port)
            )
            while self.server.alive():
                assert self.worker.alive(), f"beian worker exited:\n{self.worker.output()}"
                with contextlib.suppress(OSError, http.client.HTTPException):
                    status, _ = http_json(self.port, "GET", "/healthz", timeout=5)
                    if status == 200:
                        return
                assert time.monotonic() < deadline, f"not healthy in {timeout} s:\n{self.server.output()}"
                time.sleep(0.05)
            assert attempt < 2 and "in use" in self.server.output(), (
                f"beian serve exited:\n{self.server.output()}"
            )

    def start_worker(self) -> None:
        self.generation += 1
        self.worker = self.site.beian_process(
            f"worker-{self.generation}", "worker", "--interval", "0.1", "--jobs-interval", "3600"
        )

    def kill_server(self) -> None:
        with self._lock:
            if self.server.alive():
                self.server_kills += 1
            self.server.stop(signal.SIGKILL)  # the process group: granian's worker processes too

    def kill_worker(self) -> None:
        with self._lock:
            if self.worker.alive():
                self.worker_kills += 1
            self.worker.stop(signal.SIGKILL)

    def stop(self) -> None:
        for proc in (self.server, self.worker):
            if proc is not None:
                proc.stop(signal.SIGTERM)


class SmsGateway:
    """The SMS gateway of ``BEIAN_SMS_BACKEND=webhook``: records each message it accepts (2xx).

    ``arm(mode, kill)`` makes it kill the worker in the middle of the next delivery, before answering, i.e.
    after the message was sent and before the worker could record it as sent: ``"keep"`` accepts the
    message first (the worker must send it again: a duplicate with the same id), ``"drop"`` loses it as a
    network would (the worker must send it again, or it is lost)."""

    def __init__(self) -> None:
        gateway = self
        self.received: list[dict] = []
        self.fired: list[tuple[str, int]] = []
        self.armed: tuple | None = None
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                record = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with gateway.lock:
                    armed, gateway.armed = gateway.armed, None
                    if armed is None or armed[0] == "keep":
                        gateway.received.append(record)
                if armed is not None:
                    armed[1]()  # SIGKILL the worker while it waits for our answer
                    gateway.fired.append((armed[0], record["id"]))
                    self.close_connection = True
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def arm(self, mode: str, kill) -> None:
        with self.lock:
            self.armed = (mode, kill)

    def copies(self, message_id: int) -> int:
        with self.lock:
            return sum(record["id"] == message_id for record in self.received)

    def records(self) -> list[dict]:
        with self.lock:
            return list(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- deliveries as the receivers saw them --------------------------------------------------------------------
MAIL_ID = re.compile(rb"^Message-ID: <beian-outbox-(\d+)\.", re.MULTILINE | re.IGNORECASE)
PASSWORD_SMS = re.compile(r"主体备案号 (\S+?号)。备案密码：([^（\s]+)（")


def delivered(home: Path, sms: list[dict]) -> Counter:
    """How many times each outbox message reached a receiver: the gateway's SMS records and the mail files
    of Django's file backend (one Message-ID per copy)."""
    counts: Counter = Counter(("sms", record["id"]) for record in sms)
    mail = home / "mail"
    if mail.is_dir():
        for path in mail.iterdir():
            for match in MAIL_ID.finditer(path.read_bytes()):
                counts[("email", int(match.group(1)))] += 1
    return counts


def filing_passwords(sms: list[dict]) -> dict[str, str]:
    """Subject number → filing password, as the responsible person received them by SMS."""
    return {m.group(1): m.group(2) for record in sms if (m := PASSWORD_SMS.search(record["text"]))}


# --- the stream of API calls ---------------------------------------------------------------------------------
@dataclass
class Stream:
    """A seeded stream of API calls against ``service``; keeps what the answers confirmed.

    ``confirmed`` holds (order id, action, state after) for every call answered 2xx. A call with no answer
    (the server was killed under it) is ``lost``: it may or may not have happened. Any other answer (4xx,
    5xx) is ``unexpected``: the stream refreshes its view of the orders after every restart, so that it
    never asks for a move the engine would refuse.
    """

    service: Service
    rng: object
    tokens: dict
    tag: str
    sms: object  # () -> the SMS records the gateway accepted
    orders: dict[int, dict] = field(default_factory=dict)  # our orders: id → {kind, state, subject, website}
    foreign: set[int] = field(default_factory=set)  # orders of the demo, left alone
    subjects: set[int] = field(default_factory=set)  # subjects we may cancel / extend
    confirmed: list[tuple[int, str, str]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    password_checks: int = 0
    serial: int = 0
    latencies: list[float] = field(default_factory=list)  # of answered POSTs, seconds

    def typical_latency(self) -> float:
        """The median time a write call took so far on this machine (to aim a kill inside one)."""
        recent = sorted(self.latencies[-30:]) or [0.1]
        return recent[len(recent) // 2]

    # one call
    def call(self, who: str, method: str, path: str, body=None):
        started = time.monotonic()
        try:
            status, data = http_json(self.service.port, method, path, body, token=self.tokens[who])
        except (OSError, http.client.HTTPException) as exc:
            self.lost.append(f"{method} {path}: {type(exc).__name__}")
            return None
        if method == "POST":
            self.latencies.append(time.monotonic() - started)
        if not 200 <= status < 300:
            self.unexpected.append(f"{method} {path} as {who}: {status} {data}")
            return None
        return data

    def _order_answer(self, data, action: str) -> None:
        if not isinstance(data, dict) or "id" not in data:
            self.unexpected.append(f"{action}: answer without an id: {data!r}")
            return
        self._know(data["id"], data["kind"], data["state"], data["subject"]["id"], data.get("website"))
        self.confirmed.append((data["id"], action, data["state"]))

    def _know(self, oid: int, kind: str, state: str, subject: int, website) -> None:
        website_id = website["id"] if isinstance(website, dict) else website
        self.orders[oid] = {"kind": kind, "state": state, "subject": subject, "website": website_id}
        if kind == "new_filing" and state == "approved":
            self.subjects.add(subject)

    def refresh(self, *, first: bool = False) -> None:
        """Re-read every order the applicant has (answers lost in a crash leave our view stale)."""
        data = self.call("applicant", "GET", "/api/v1/orders")
        assert isinstance(data, list), f"cannot list the orders after a restart: {self.unexpected[-1:]}"
        for o in data:
            if first:
                self.foreign.add(o["id"])
            elif o["id"] not in self.foreign:
                self._know(o["id"], o["kind"], o["state"], o["subject"]["id"], o.get("website"))

    # the moves
    def submit_new_filing(self) -> None:
        from tests.factories import new_filing_body

        self.serial += 1
        body = new_filing_body(domain=f"crash-{self.tag}-{self.serial}.cn", n=700_000 + self.serial)
        data = self.call("applicant", "POST", "/api/v1/orders", body)
        if data is not None:
            self._order_answer(data, "submit")

    def decide(self, oid: int, approve: bool) -> None:
        state = self.orders[oid]["state"]
        who = "provider" if state == "provider_review" else "bureau-11"
        if approve:
            data = self.call(who, "POST", f"/api/v1/reviews/{oid}/approve", {"note": "同意"})
        else:
            data = self.call(who, "POST", f"/api/v1/reviews/{oid}/reject", {"reason": "材料不全"})
        stage = "provider" if state == "provider_review" else "bureau"
        if data is not None:
            self._order_answer(data, f"{stage}_{'approve' if approve else 'reject'}")

    def abandon(self, oid: int) -> None:
        data = self.call("applicant", "POST", f"/api/v1/orders/{oid}/abandon")
        if data is not None:
            self._order_answer(data, "abandon")

    def act_on_subject(self, sid: int) -> bool:
        """One of the actions the subject page offers: cancel a website or the subject, cancel or add access,
        add a website. False when nothing is available (an open order, a password not received yet)."""
        subject = self.call("applicant", "GET", f"/api/v1/subjects/{sid}")
        if subject is None:
            return False
        password = filing_passwords(self.sms()).get(subject["number"])
        choices: list[tuple[str, dict]] = []
        if subject["actions"]["add_website"]["allowed"]:
            self.serial += 1
            choices.append(
                (
                    "add_website",
                    {
                        "kind": "add_website",
                        "subject": sid,
                        "domain": f"crash-{self.tag}-{self.serial}.cn",
                        "website_info": {
                            "name": f"新增网站{self.serial}",
                            "responsible_name": "王五",
                            "responsible_mobile": "13700000000",
                            "responsible_email": f"add{self.serial}@example.cn",
                        },
                    },
                )
            )
        # the password bucket allows 20 checks per address per 10 minutes: stay well under it
        if password and self.password_checks < 12 and subject["actions"]["cancel_subject"]["allowed"]:
            choices.append(
                (
                    "cancel_subject",
                    {
                        "kind": "cancel_subject",
                        "subject": sid,
                        "password": password,
                        "acknowledge_irreversible": True,
                    },
                )
            )
        for site in subject["websites"]:
            actions = site["actions"] or {}
            if password and self.password_checks < 12 and actions.get("cancel_website", {}).get("allowed"):
                choices.append(
                    (
                        "cancel_website",
                        {
                            "kind": "cancel_website",
                            "website": site["id"],
                            "password": password,
                            "acknowledge_irreversible": True,
                        },
                    )
                )
            for kind in ("cancel_access", "add_access"):
                if actions.get(kind, {}).get("allowed"):
                    choices.append((kind, {"kind": kind, "website": site["id"]}))
        if not choices:
            return False
        kind = self.rng.choice(sorted({k for k, _ in choices}))  # each kind as likely, however many sites
        body = self.rng.choice([b for k, b in choices if k == kind])
        if "password" in body:
            self.password_checks += 1
        data = self.call("applicant", "POST", "/api/v1/orders", body)
        if data is not None:
            self._order_answer(data, "submit")
        return True

    def file_and_approve(self) -> int:
        """A new filing taken through both reviews (the approval queues the filing password SMS)."""
        self.submit_new_filing()
        oid, action, _ = self.confirmed[-1]
        assert action == "submit" and self.orders[oid]["kind"] == "new_filing", self.unexpected
        self.decide(oid, True)
        self.decide(oid, True)
        assert self.orders[oid]["state"] == "approved", (self.orders[oid], self.unexpected)
        return oid

    def step(self) -> None:
        """One call, chosen by the seeded generator among the moves our view of the orders allows."""
        open_ = {s: [o for o, v in self.orders.items() if v["state"] == s] for s in OPEN}
        moves: list[tuple[float, object]] = [(2.0, self.submit_new_filing)]
        for oid in open_["provider_review"]:
            moves += [(2.0, lambda o=oid: self.decide(o, True)), (0.3, lambda o=oid: self.decide(o, False))]
            moves.append((0.3, lambda o=oid: self.abandon(o)))
        for oid in open_["bureau_review"]:
            moves += [(2.0, lambda o=oid: self.decide(o, True)), (0.2, lambda o=oid: self.decide(o, False))]
        for sid in sorted(self.subjects):
            moves.append((1.0, lambda s=sid: self.act_on_subject(s)))
        weights, calls = zip(*moves, strict=True)
        self.rng.choices(calls, weights=weights)[0]()


def kill_later(delay: float, kill) -> threading.Thread:
    """Run ``kill`` after ``delay`` seconds in a thread (so that it lands while a call is in flight)."""

    def work() -> None:
        time.sleep(delay)
        kill()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# --- the report: runs inside Django, against the site's database ---------------------------------------------
def report_main() -> None:
    """``python -c … MODE [EXPORT]``: MODE ``api`` or ``import``; EXPORT a file for the exported registry."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
    import django

    django.setup()
    mode, export = sys.argv[1:3]
    out = api_report() if mode == "api" else import_report()
    if export:
        from beian.registry.bulk import export_jsonl

        with open(export, "w", encoding="utf-8") as fh:
            out["exported"] = export_jsonl(fh)
    sys.stdout.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")


def _common_problems() -> list[str]:
    """The suite's invariants (feed replay = served set, audit chain) and gapless counters."""
    from beian.core.models import current_value
    from beian.gate.models import FeedEntry
    from beian.gate.services import served_set_from_feed
    from tests.factories import assert_consistent, served_domains_in_db

    problems = []
    try:
        assert_consistent()
    except AssertionError as exc:  # no pytest assertion rewriting here: say what differs
        feed, registry = served_set_from_feed(), served_domains_in_db()
        problems.append(
            f"assert_consistent: {exc}; served by the feed only: {sorted(feed - registry)[:20]}, "
            f"by the registry only: {sorted(registry - feed)[:20]}"
        )
    seqs = list(FeedEntry.objects.order_by("seq").values_list("seq", flat=True))
    if seqs != list(range(1, len(seqs) + 1)) or current_value("feed") != len(seqs):
        problems.append(f"feed positions are not 1..{current_value('feed')}: {len(seqs)} rows")
    return problems


def api_report() -> dict:
    from beian.audit.models import AuditEntry
    from beian.core.models import Counter as NumberCounter
    from beian.gate.models import FeedEntry
    from beian.notify.models import OutboxMessage
    from beian.orders.models import Order
    from beian.orders.workflow import Action
    from beian.registry.models import Domain, Subject, Website
    from beian.rules import provinces

    problems = _common_problems()
    order_templates = {f"order_{a.value}" for a in Action}
    orders: dict[int, dict] = {}
    audits: dict[str, list] = {}
    for entry in AuditEntry.objects.filter(object_type="order").order_by("seq"):
        audits.setdefault(entry.object_id, []).append(
            (entry.action.removeprefix("order."), entry.data.get("from") or "", entry.data.get("to"))
        )
    issued_numbers: dict[str, list[int]] = {}
    for order in Order.objects.select_related("subject", "website").order_by("id"):
        where = f"order {order.pk} ({order.kind}, {order.state})"
        events = list(order.events.order_by("id").values_list("action", "from_state", "to_state", "data"))
        chain = [(a, f, t) for a, f, t, _ in events]
        orders[order.pk] = {"kind": order.kind, "state": order.state, "events": [[a, t] for a, _, t in chain]}
        # the timeline: submit first, each move from where the previous left, ending at the order's state
        if not chain or chain[0][1] != "" or chain[-1][2] != order.state:
            problems.append(f"{where}: timeline {chain} does not end at the order's state")
        if any(prev[2] != nxt[1] for prev, nxt in zip(chain, chain[1:], strict=False)):
            problems.append(f"{where}: timeline {chain} is not a chain of moves")
        # one audit row and one notification per move, no more, no fewer
        if audits.get(str(order.pk), []) != chain:
            problems.append(f"{where}: audit rows {audits.get(str(order.pk))} disagree with timeline {chain}")
        mails = Counter(
            OutboxMessage.objects.filter(order=order, template__in=order_templates).values_list(
                "template", flat=True
            )
        )
        if mails != Counter(f"order_{a}" for a, _, _ in chain):
            problems.append(f"{where}: notifications {dict(mails)} disagree with timeline {chain}")
        feed = list(FeedEntry.objects.filter(order=order).values_list("action", "domain"))
        decided = events[-1][3] if order.state == "approved" else {}
        subject, website = order.subject, order.website
        if order.state != "approved":
            if feed:
                problems.append(f"{where}: not approved but changed the served set: {feed}")
            if order.kind in ("new_filing", "add_website"):
                if website.number or website.status not in ("pending", "withdrawn"):
                    problems.append(f"{where}: website {website.pk} is {website.status} {website.number}")
                held = set(website.domains.values_list("status", flat=True))
                want = {"reserved"} if order.state in OPEN else {"released"}
                if held != want:
                    problems.append(f"{where}: domains {held}, expected {want}")
            if order.kind == "new_filing" and (
                subject.number or subject.status != ("pending" if order.state in OPEN else "withdrawn")
            ):
                problems.append(f"{where}: subject {subject.pk} is {subject.status} {subject.number}")
            continue
        if order.kind in ("new_filing", "add_website"):
            names = sorted(website.domains.values_list("name", flat=True))
            if not (website.number and website.number == f"{subject.number}-{website.sequence}"):
                problems.append(f"{where}: website number {website.number} (subject {subject.number})")
            if decided.get("website_number") != website.number:
                problems.append(
                    f"{where}: approval says {decided.get('website_number')}, registry {website.number}"
                )
            if sorted(feed) != sorted(("allow", n) for n in names) or decided.get("served") != names:
                problems.append(
                    f"{where}: feed {feed} / approval {decided.get('served')} for domains {names}"
                )
            if website.status == "active" and set(website.domains.values_list("status", flat=True)) != {
                "active"
            }:
                problems.append(f"{where}: an active website with domains not active")
        if order.kind == "new_filing":
            if not subject.number or decided.get("subject_number") != subject.number:
                problems.append(f"{where}: subject number {subject.number}, approval {decided}")
            else:
                issued_numbers.setdefault(subject.number[:-7], []).append(int(subject.number[-7:-1]))
            sent = OutboxMessage.objects.filter(order=order, template="filing_password_issued")
            if sorted(sent.values_list("channel", flat=True)) != ["email", "sms"]:
                problems.append(f"{where}: filing password messages {list(sent.values('channel'))}")
        if order.kind in ("cancel_website", "cancel_subject"):
            sites = [website] if order.kind == "cancel_website" else list(subject.websites.all())
            released = set(decided.get("released_domains", []))
            for site in sites:
                if site.status not in ("cancelled", "withdrawn") or site.served_here:
                    problems.append(
                        f"{where}: website {site.pk} still {site.status} served={site.served_here}"
                    )
                if site.domains.exclude(status="released").exists():
                    problems.append(f"{where}: website {site.pk} keeps domains")
            if any(action != "deny" or name not in released for action, name in feed):
                problems.append(f"{where}: feed {feed} for released {sorted(released)}")
            if order.kind == "cancel_subject" and (subject.status != "cancelled" or subject.is_shell):
                problems.append(f"{where}: subject {subject.status} shell={subject.is_shell}")
        if order.kind == "cancel_access":
            stopped = decided.get("stopped_serving", [])
            if sorted(feed) != sorted(("deny", n) for n in stopped):
                problems.append(f"{where}: feed {feed}, approval stopped {stopped}")
        if order.kind == "add_access" and sorted(feed) != sorted(
            ("allow", n) for n in decided.get("served", [])
        ):
            problems.append(f"{where}: feed {feed}, approval served {decided.get('served')}")
    # numbers come from counters in the approving transaction: issued exactly 1..counter, none lost or reused
    for prefix, seqs in issued_numbers.items():
        m = re.match(r"^(\D+)ICP备(\d{4})$", prefix)
        code = provinces.by_abbreviation(m.group(1)).code
        counter = NumberCounter.objects.filter(name=f"subject-number:{code}:{m.group(2)}").first()
        if sorted(seqs) != list(range(1, (counter.value if counter else 0) + 1)):
            problems.append(f"{prefix}: sequences {sorted(seqs)} but the counter is at {counter}")
    for s in Subject.objects.filter(number__isnull=False):
        top = max(s.websites.exclude(sequence=None).values_list("sequence", flat=True), default=0)
        if top != s.website_counter:
            problems.append(f"subject {s.number}: website counter {s.website_counter}, last website -{top}")
    held = Counter(Domain.objects.filter(status__in=("reserved", "active")).values_list("name", flat=True))
    if twice := [n for n, c in held.items() if c > 1]:
        problems.append(f"domains held twice: {twice}")
    if Website.objects.filter(status="active", subject__status="cancelled").exists():
        problems.append("an active website of a cancelled subject")
    outbox = [
        {
            "id": m.pk,
            "channel": m.channel,
            "status": m.status,
            "template": m.template,
            "attempts": m.attempts,
            "ok": m.delivery_attempts.filter(ok=True).count(),
            "sensitive_kept": m.sensitive and m.status == "sent" and "备案密码：" in m.body,
        }
        for m in OutboxMessage.objects.order_by("id")
    ]
    return {"problems": problems, "orders": orders, "outbox": outbox}


def import_report() -> dict:
    from beian.accounts.models import User
    from beian.gate.models import FeedEntry
    from beian.registry.models import Domain, Subject, Website

    return {
        "problems": _common_problems(),
        "counts": {
            "subjects": Subject.objects.count(),
            "websites": Website.objects.count(),
            "domains": Domain.objects.count(),
            "users": User.objects.count(),
            "feed": FeedEntry.objects.count(),
        },
    }
