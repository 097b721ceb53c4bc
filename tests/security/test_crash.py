"""Crash consistency: the real processes killed with SIGKILL at random points lose nothing they confirmed.

1. ``beian serve`` (granian) and ``beian worker`` run on a fresh database of this session's backend (a SQLite
   file; a scratch PostgreSQL database on a PostgreSQL run). A seeded stream of API calls files, approves,
   rejects, abandons, adds websites, cancels websites, subjects and access, while both processes are killed
   with SIGKILL at seeded points, several rounds, restarted each time. Afterwards: every call answered 2xx is
   in the database with its timeline; no approval is half applied (numbers, domains, change feed, audit rows,
   notifications agree); ``beian audit verify`` passes; every outbox message reached its receiver (mail:
   Django's file backend; SMS: a webhook gateway in the test, which also kills the worker in the middle of a
   delivery), none was lost, and a second copy exists only of a message the worker was killed in the middle
   of delivering (delivery is at least once; every copy carries the outbox id to dedupe on).
2. ``beian import`` of a synthetic file, killed twice mid-way and resumed, ends with the same registry as an
   uninterrupted import of the same file.
3. In process, the two crash windows the processes above cannot aim at: a mail sent again after a crash keeps
   its Message-ID; a day-30 reminder interrupted by a crash is queued once, not twice.

``BEIAN_CRASH_SEED`` replays another schedule (the kill points and choices; exact timings vary by machine).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.gate.processes import PYTHON, REPO
from tests.security.crashkit import (
    Service,
    SmsGateway,
    Stream,
    delivered,
    demo_site,
    kill_later,
    tokens_via_cli,
    wait_until,
)

SEED = int(os.environ.get("BEIAN_CRASH_SEED", "20240917"))
ROUNDS = 4


@pytest.fixture
def gateway():
    receiver = SmsGateway()
    try:
        yield receiver
    finally:
        receiver.stop()


def test_server_and_worker_killed_mid_stream_lose_nothing_confirmed(sites, gateway):
    rng = random.Random(SEED)
    site = demo_site(sites)
    site.env.update(BEIAN_SMS_BACKEND="webhook", BEIAN_SMS_WEBHOOK_URL=gateway.url)  # mail: file backend
    tokens = tokens_via_cli(site, ("applicant", "provider", "bureau-11"))  # made while the server starts
    service = Service(site)
    try:
        service.start()
        stream = Stream(service=service, rng=rng, tokens=tokens(), tag=str(SEED), sms=gateway.records)
        stream.refresh(first=True)
        for round_ in range(ROUNDS):
            if round_:
                service.start()
                stream.refresh()
            calls = rng.randint(6, 12)
            worker_at = rng.randrange(calls)
            killers = []
            for i in range(calls):
                if i == worker_at:
                    killers.append(kill_later(rng.uniform(0, 0.2), service.kill_worker))
                if i == calls - 1:  # the last call of the round runs into the server's death
                    delay = rng.uniform(0, 1.5) * stream.typical_latency()
                    killers.append(kill_later(delay, service.kill_server))
                stream.step()
            for killer in killers:
                killer.join(30)
            assert not service.server.alive() and not service.worker.alive()
        # the last stretch: the server stays up; the worker is killed twice in the middle of an SMS delivery
        # (after the gateway got it, before its answer), restarted each time
        service.start()
        stream.refresh()
        for mode, copies in (("keep", 2), ("drop", 1)):
            gateway.arm(mode, service.kill_worker)
            stream.file_and_approve()
            fired = wait_until(lambda m=mode: gateway.fired[-1:] and gateway.fired[-1][0] == m, 60)
            assert fired, gateway.fired
            service.start_worker()
            # the restarted worker sends it again: the receiver has it `copies` times, under the same id
            sms_id = gateway.fired[-1][1]
            again = wait_until(lambda i=sms_id, n=copies: gateway.copies(i) == n, 60)
            assert again, f"SMS {sms_id} ({mode}) arrived {gateway.copies(sms_id)} times, not {copies}"
        for _ in range(6):
            stream.step()
        pending = "SELECT COUNT(*) FROM beian_outbox WHERE status = 'pending'"
        drained = wait_until(lambda: site.rows(pending)[0][0] == 0, 90)
        assert drained, f"the worker left {site.rows(pending)[0][0]} messages:\n{service.worker.output()}"
    finally:
        service.stop()
    summary = (
        f"seed {SEED}: {len(stream.confirmed)} confirmed calls, {len(stream.lost)} lost, "
        f"{service.server_kills} server and {service.worker_kills} worker kills"
    )
    print(summary)
    assert stream.unexpected == [], f"{summary}\n" + "\n".join(stream.unexpected)
    assert service.server_kills == ROUNDS and service.worker_kills >= 2, summary
    approvals = [c for c in stream.confirmed if c[1] == "bureau_approve"]
    assert len(approvals) >= 3 and len(stream.confirmed) >= 20, summary  # the stream did real work

    report = site.report("api")
    kinds = Counter((o["kind"], o["state"]) for o in report["orders"].values())
    confirmed = set(stream.confirmed)
    unanswered = [
        (int(oid), action, state)
        for oid, o in report["orders"].items()
        if int(oid) not in stream.foreign
        for action, state in o["events"]
        if (int(oid), action, state) not in confirmed and action not in ("expire", "verification_failed")
    ]
    print(f"orders by kind and state: {dict(sorted(kinds.items()))}; applied, answer lost: {unanswered}")
    # (b) no half-applied move: registry, numbers, change feed, audit rows and notifications agree
    assert report["problems"] == [], "\n".join(report["problems"])
    # (a) every confirmed call is there, with its timeline event
    orders = report["orders"]
    for oid, action, state in stream.confirmed:
        assert str(oid) in orders, f"confirmed order {oid} ({action}) is gone"
        assert [action, state] in orders[str(oid)]["events"], (oid, action, state, orders[str(oid)])
    # (c) the audit chain as the operator checks it
    verify = site.beian("audit", "verify")
    assert "audit chain intact" in verify.stdout, verify.stdout
    # (d) the outbox: every message reached its receiver and is recorded as sent once; a second copy (same
    # id, for the receiver to drop) only when the worker died between sending and recording it
    counts = delivered(site.home, gateway.records())
    outbox = {(m["channel"], m["id"]): m for m in report["outbox"]}
    assert {"sms", "email"} <= {channel for channel, _ in outbox}, outbox
    assert set(counts) <= set(outbox), f"deliveries of unknown messages: {set(counts) - set(outbox)}"
    for key, message in outbox.items():
        assert message["status"] == "sent" and message["ok"] == 1, message
        assert counts[key] >= 1, f"message {key} is marked sent but never arrived: {message}"
        assert not message["sensitive_kept"], f"a delivered secret is still stored: {message}"
    (keep, kept), (drop, dropped) = gateway.fired
    assert (keep, counts[("sms", kept)]) == ("keep", 2), "accepted, then sent again after the crash"
    assert (drop, counts[("sms", dropped)]) == ("drop", 1), "lost on the way: sent again after the crash"
    duplicated = {key: n for key, n in counts.items() if n > 1}
    assert sum(n - 1 for n in duplicated.values()) <= service.worker_kills, (duplicated, summary)


def _checkpoint_line(source) -> int:
    try:
        return json.loads(source.with_name(source.name + ".checkpoint").read_text("utf-8"))["line"]
    except (FileNotFoundError, ValueError, KeyError):
        return 0  # not written yet (os.replace makes it appear whole)


def _without_import_times(exported: dict, given: dict) -> dict:
    """An exported row with the times the import itself stamped (``created_at``, and ``shell_since``,
    ``activated_at`` … when the source line ``given`` has none) reduced to whether they are set: they
    differ between two imports of the same file. Everything else is compared as it is."""
    out = {}
    for key, value in exported.items():
        if isinstance(value, list) and key in ("websites", "domains"):
            by_key = {item.get("number") or item["name"]: item for item in given.get(key) or []}
            out[key] = [
                _without_import_times(item, by_key.get(item.get("number") or item["name"], {}))
                for item in value
            ]
        elif key not in given and key.endswith(("_at", "_since")):
            out[key] = value is not None
        else:
            out[key] = value
    return out


def _parallel(*commands: tuple) -> list[str]:
    """Run (site, args...) commands at once; their stdout."""
    procs = [
        subprocess.Popen(
            [PYTHON, "-m", "beian", *args],
            env=site.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for site, *args in commands
    ]
    outs = []
    for (_, *args), proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"beian {args} exited {proc.returncode}:\n{out}\n{err}"
        outs.append(out)
    return outs


SUBJECTS, BATCH = 2000, 200


def test_import_killed_midway_resumes_to_the_same_database(sites, tmp_path):
    rng = random.Random(SEED + 1)
    killed = sites.new("import-killed")
    source = tmp_path / "killed" / "registry.jsonl"
    copy = tmp_path / "whole" / "registry.jsonl"
    source.parent.mkdir()
    copy.parent.mkdir()
    _parallel(
        (
            killed,
            "synth",
            "--subjects",
            str(SUBJECTS),
            "--seed",
            str(SEED),
            "--output",
            str(source),
            "--quiet",
        ),
        (killed, "migrate"),
    )
    whole = sites.new("import-whole", like=killed)
    shutil.copy(source, copy)
    # the reference: the same file imported without interruption (meanwhile, the other one is killed)
    reference = whole.beian_process(
        "import-whole", "import", str(copy), "--batch-size", str(BATCH), "--quiet"
    )
    committed = [0]
    for attempt in range(2):
        args = ["import", str(source), "--batch-size", str(BATCH), "--quiet", *(["--resume"] * bool(attempt))]
        proc = killed.beian_process(f"import-killed-{attempt}", *args)
        target = committed[-1] + rng.randint(1, 3) * BATCH
        wait_until(lambda p=proc, t=target: _checkpoint_line(source) >= t or not p.alive(), 120, step=0.005)
        time.sleep(rng.uniform(0, 0.05))  # usually inside the next batch's transaction
        assert proc.alive(), f"the import ended before it was killed:\n{proc.output()}"
        proc.stop(signal.SIGKILL)
        assert proc.proc.returncode == -signal.SIGKILL
        line = _checkpoint_line(source)
        assert committed[-1] < line < SUBJECTS, (committed, line)
        committed.append(line)
    resumed = killed.beian("import", str(source), "--batch-size", str(BATCH), "--quiet", "--resume")
    assert f"resumed after line {committed[-1]}" in resumed.stdout, resumed.stdout
    assert "failed 0" in resumed.stdout, resumed.stdout
    assert not source.with_name(source.name + ".checkpoint").exists()
    assert reference.proc.wait(180) == 0, reference.output()
    reference.stop()

    # the same registry: row counts, the change feed, and every subject as `beian export` writes it
    with ThreadPoolExecutor(2) as pool:
        reports = list(
            pool.map(
                lambda site: site.report("import", tmp_path / f"{site.home.parent.name}.out"), (killed, whole)
            )
        )
    for report in reports:
        assert report["problems"] == [], "\n".join(report["problems"])
    assert reports[0]["counts"] == reports[1]["counts"], reports  # no duplicate, no missing row
    assert reports[0]["counts"]["subjects"] == reports[0]["exported"] == SUBJECTS
    given = {line["number"]: line for line in map(json.loads, source.read_text("utf-8").splitlines())}
    exported = [
        {
            line["number"]: line
            for line in map(
                json.loads, (tmp_path / f"{site.home.parent.name}.out").read_text("utf-8").splitlines()
            )
        }
        for site in (killed, whole)
    ]
    assert exported[0].keys() == exported[1].keys() == given.keys()
    for number, line in given.items():
        mine, theirs = (_without_import_times(e[number], line) for e in exported)
        assert mine == theirs, number


@pytest.mark.django_db
def test_a_mail_sent_again_after_a_crash_carries_the_same_message_id():
    """In process: a delivery whose transaction never commits (the worker died after sending) is sent again
    with the same Message-ID, so the receiving side can tell it is the same message."""
    from django.core import mail
    from django.db import transaction

    from beian.notify import services as notify
    from beian.notify.models import Channel, OutboxMessage

    message = notify.outbox_put(
        channel=Channel.EMAIL, recipient="a@example.cn", template="test", subject="主题", body="正文"
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        assert notify.outbox_deliver_due() == (1, 0)
        raise RuntimeError("killed before the commit")
    assert OutboxMessage.objects.get(pk=message.pk).status == "pending"
    assert notify.outbox_deliver_due() == (1, 0)
    assert notify.outbox_deliver_due() == (0, 0)
    first, again = (m.message()["Message-ID"] for m in mail.outbox)
    assert first == again == f"<beian-outbox-{message.pk}.{message.created_at:%Y%m%d%H%M%S%f}@localhost>"
    other = notify.outbox_put(channel=Channel.EMAIL, recipient="b@example.cn", template="test", body="x")
    notify.outbox_deliver_due()
    assert mail.outbox[-1].message()["Message-ID"].startswith(f"<beian-outbox-{other.pk}.")  # one per row


class Killed(BaseException):
    """The worker dies here: SIGKILL cannot be caught, so an exception nothing handles stands in for it."""


@pytest.mark.django_db
def test_a_reminder_interrupted_by_a_crash_is_queued_once(monkeypatch):
    """In process: the worker dies right after queueing a day-30 reminder; the next run must not queue a
    second one (the claim and the message are one transaction)."""
    import datetime as dt

    from beian.core import clock
    from beian.notify.models import OutboxMessage
    from beian.orders import jobs, services
    from tests import factories as f

    order = services.new_filing_submit(actor=f.quick_user(), **f.new_filing_args(domain="crash-remind.cn"))
    clock.advance(dt.timedelta(days=31))
    queue = jobs.outbox_put

    def queue_then_die(**kwargs):
        queue(**kwargs)
        raise Killed

    monkeypatch.setattr(jobs, "outbox_put", queue_then_die)
    with pytest.raises(Killed):
        jobs.expire_untouched_orders()
    monkeypatch.setattr(jobs, "outbox_put", queue)
    jobs.expire_untouched_orders()  # the restarted worker
    jobs.expire_untouched_orders()
    reminders = OutboxMessage.objects.filter(order=order, template="order_reminder")
    assert [m.subject for m in reminders] == [f"[备案] 订单 #{order.pk} 将在 14 天后过期"]
