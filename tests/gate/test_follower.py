"""The follower keeps the gate's served set equal to the registry: full load, change feed, LISTEN, faults.

Data is made through the real services (imported filings and orders moved through the engine); after every
approval the set must equal what the registry says is served here (an active domain of an active website
served here) and the position must be the last feed entry. Threads use their own database connections
(``transaction=True``), as the gate process does.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.db import OperationalError, connection
from django.db.models import Max

from beian.core.models import raise_counter
from beian.gate import follower as follower_module
from beian.gate.app import Gate
from beian.gate.follower import Follower, catch_up, load
from beian.gate.models import FeedEntry
from beian.gate.served import ServedSet
from beian.orders import services
from beian.orders.workflow import Action, move
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


# -- helpers -------------------------------------------------------------------------------------------------


def last_seq() -> int:
    return FeedEntry.objects.aggregate(top=Max("seq"))["top"] or 0


def assert_serves_exactly(served: ServedSet, names: set[str]) -> None:
    """The set holds exactly ``names`` (it keeps hashes: every name is in it and the sizes agree)."""
    missing = sorted(n for n in names if served.match(n) != n)
    assert not missing, f"not served but filed and served here: {missing}"
    assert len(served) == len(names), f"the set holds {len(served)} names, the registry {len(names)}"


def assert_in_sync(served: ServedSet) -> None:
    assert_serves_exactly(served, f.served_domains_in_db())
    assert served.position == last_seq()


def wait_until(predicate, timeout: float, step: float = 0.005) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    return None


def site(subject, sequence: int = 1):
    return subject.websites.get(sequence=sequence)


@pytest.fixture
def people():
    return SimpleNamespace(
        owner=f.quick_user(),
        other=f.quick_user(),
        provider=f.quick_user("provider_reviewer"),
        bureau=f.quick_user("bureau_reviewer", "11"),
    )


def engine(call, *args, **kwargs):
    """One engine call. pytest-django's SQLite test database is in memory with a shared cache, where a
    reader in another thread makes a writer fail at once with "table is locked" (a file database in WAL
    mode, as deployed, lets them run side by side): such a call rolled back and is simply made again."""
    for _ in range(200):
        try:
            return call(*args, **kwargs)
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("the test database stayed locked for 2 s")


def cancel_website(people, website):
    order = engine(services.cancel_website_submit, actor=people.owner, website=website, password=f.PASSWORD)
    return engine(move, order.pk, Action.BUREAU_APPROVE, actor=people.bureau)


def new_filing(people, domain: str):
    order = engine(services.new_filing_submit, actor=people.other, **f.new_filing_args(domain=domain))
    engine(move, order.pk, Action.PROVIDER_APPROVE, actor=people.provider)
    return engine(move, order.pk, Action.BUREAU_APPROVE, actor=people.bureau)


class ClosingFollower(Follower):
    """The gate's follower, closing its thread's database connection when it stops (so that the test
    database can be flushed and dropped)."""

    def run(self) -> None:
        try:
            super().run()
        finally:
            connection.close()


@pytest.fixture
def start_follower():
    started: list[Follower] = []

    def start(served: ServedSet, poll_interval: float = 0.05) -> Follower:
        thread = ClosingFollower(served, poll_interval=poll_interval)
        thread.start()
        started.append(thread)
        assert wait_until(lambda: served.loaded, 10), "the follower did not load the set within 10 s"
        return thread

    yield start
    for thread in started:
        thread.stop.set()
    for thread in started:
        thread.join(10)
        assert not thread.is_alive(), "the follower thread did not stop"


# -- load -----------------------------------------------------------------------------------------------------


@pytest.fixture
def registry(people):
    """Imported filings of every kind the served set must tell apart, and orders that change nothing yet."""
    alpha = f.filed_subject_sites(
        people.owner,
        [
            {"domains": ["alpha.cn", "alpha.net"]},  # a legacy two-domain website
            {"domains": ["alpha-docs.cn"], "served": False},  # filed, served by another provider
            {"domains": ["例子.中国"]},  # IDN, stored as the A-label
        ],
    )
    beta = f.filed_subject_sites(people.owner, [{"domains": ["www.beta.com.cn"]}, {"domains": ["beta.top"]}])
    gov = f.filed_subject_sites(people.owner, [{"domains": ["www.foo.gov.cn"]}])
    pending = services.new_filing_submit(actor=people.other, **f.new_filing_args(domain="pending.cn"))
    rejected = services.new_filing_submit(actor=f.quick_user(), **f.new_filing_args(domain="rejected.cn"))
    move(rejected, Action.PROVIDER_REJECT, actor=people.provider, note="材料不全")
    cancel_website(people, site(beta, 2))  # beta.top: cancelled
    return SimpleNamespace(alpha=alpha, beta=beta, gov=gov, pending=pending)


EXPECTED_AT_START = {
    "alpha.cn",
    "alpha.net",
    "xn--fsqu00a.xn--fiqs8s",
    "beta.com.cn",  # www.beta.com.cn is filed as its registrable domain
    "www.foo.gov.cn",  # .gov.cn: the exact name
}


def test_load_is_exactly_the_registry(registry):
    assert f.served_domains_in_db() == EXPECTED_AT_START
    served = ServedSet()
    size = load(served)
    assert size == len(EXPECTED_AT_START)
    assert served.loaded and served.reloads == 1 and not served.degraded
    assert_serves_exactly(served, EXPECTED_AT_START)
    assert served.position == last_seq() > 0
    for host in ["alpha-docs.cn", "pending.cn", "rejected.cn", "beta.top", "foo.gov.cn", "mail.foo.gov.cn"]:
        assert served.match(host) is None, host
    assert served.match("www.alpha.cn") == "alpha.cn"
    assert served.match("img.beta.com.cn") == "beta.com.cn"
    assert served.match("www.xn--fsqu00a.xn--fiqs8s") == "xn--fsqu00a.xn--fiqs8s"


def test_load_of_an_empty_registry():
    served = ServedSet()
    assert load(served) == 0
    assert served.loaded and len(served) == 0 and served.position == 0


def test_catch_up_follows_every_kind_of_approval(people, registry):
    served = ServedSet()
    load(served)
    assert catch_up(served) == 0

    # 注销网站 approved by the bureau: its domains stop being served
    cancel_website(people, site(registry.alpha, 1))
    assert served.match("alpha.cn") == "alpha.cn"  # nothing changes before the feed is read
    assert catch_up(served) == 2
    assert served.match("alpha.cn") is None and served.match("www.alpha.net") is None
    assert_in_sync(served)

    # 首次备案 approved (the freed domain, by another applicant): served
    new_filing(people, "alpha.cn")
    assert catch_up(served) == 1
    assert served.match("www.alpha.cn") == "alpha.cn"
    assert_in_sync(served)

    # 变更网站 removing one domain of a legacy multi-domain website: that domain stops
    legacy = f.filed_subject_sites(people.owner, [{"domains": ["delta.cn", "delta.net", "delta.com"]}])
    catch_up(served)
    assert served.match("delta.net") == "delta.net"
    order = services.change_website_submit(
        actor=people.owner, website=site(legacy), remove_domains=["delta.net"]
    )
    move(order, Action.PROVIDER_APPROVE, actor=people.provider)
    move(order, Action.BUREAU_APPROVE, actor=people.bureau)
    assert catch_up(served) == 1
    assert served.match("delta.net") is None and served.match("delta.cn") == "delta.cn"
    assert_in_sync(served)

    # 取消接入 approved by the provider: stops here, the filing stays
    order = services.cancel_access_submit(actor=people.owner, website=site(registry.beta, 1))
    move(order, Action.PROVIDER_APPROVE, actor=people.provider)
    assert catch_up(served) == 1
    assert served.match("www.beta.com.cn") is None
    assert_in_sync(served)

    # 接入备案 approved: a website filed elsewhere is now served here
    order = services.add_access_submit(actor=people.owner, website=site(registry.alpha, 2))
    move(order, Action.PROVIDER_APPROVE, actor=people.provider)
    move(order, Action.BUREAU_APPROVE, actor=people.bureau)
    assert catch_up(served) == 1
    assert served.match("alpha-docs.cn") == "alpha-docs.cn"
    assert_in_sync(served)

    # a rejected or abandoned order changes nothing
    before = served.position
    order = services.new_filing_submit(actor=f.quick_user(), **f.new_filing_args(domain="never.cn"))
    move(order, Action.PROVIDER_APPROVE, actor=people.provider)
    move(order, Action.BUREAU_REJECT, actor=people.bureau, note="驳回")
    assert catch_up(served) == 0 and served.position == before
    assert served.match("never.cn") is None
    assert_in_sync(served)

    # and a fresh load agrees with the set that followed the feed
    fresh = ServedSet()
    load(fresh)
    assert len(fresh) == len(served) and fresh.position == served.position
    assert_in_sync(fresh)


def test_cancel_subject_stops_every_website(people, registry):
    served = ServedSet()
    load(served)
    order = services.cancel_subject_submit(
        actor=people.owner, subject=registry.alpha, password=f.PASSWORD, acknowledge_irreversible=True
    )
    move(order, Action.BUREAU_APPROVE, actor=people.bureau)
    catch_up(served)
    for name in ["alpha.cn", "alpha.net", "xn--fsqu00a.xn--fiqs8s"]:
        assert served.match(name) is None, name
    assert_in_sync(served)


def test_catch_up_pages_through_a_long_feed(people):
    """More entries than one page of the feed query (10,000): every one is applied, in order."""
    served = ServedSet()
    load(served)
    start = served.position
    total = 10_050
    FeedEntry.objects.bulk_create(
        FeedEntry(
            seq=start + i,
            at="2026-01-01T00:00:00Z",
            domain=f"d{i % 10_020}.cn",
            action="allow" if i <= 10_020 else "deny",  # the last 30 deny d1..d30 again
            reason="test",
        )
        for i in range(1, total + 1)
    )
    raise_counter("feed", start + total)
    assert catch_up(served) == total
    assert served.position == start + total
    assert len(served) == 10_020 - 30
    assert served.match("d1.cn") is None and served.match("d31.cn") == "d31.cn"
    assert served.match("d10019.cn") == "d10019.cn"


def test_load_racing_with_approvals_converges(people, registry):
    """Approvals commit between the load's two reads (feed position, then served domains): the load must
    still end with the exact set. The approvals run at that moment through an execute wrapper."""
    injected: list[str] = []

    def approve_between_reads(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not injected and ("MAX(seq)" in sql or "beian_domain" in sql):
            injected.append(sql)
            cancel_website(people, site(registry.alpha, 1))  # deny alpha.cn, alpha.net
            new_filing(people, "fresh.cn")  # allow fresh.cn
        return result

    served = ServedSet()
    with connection.execute_wrapper(approve_between_reads):
        load(served)
    assert injected, "the load's first read was not seen"
    assert served.match("alpha.cn") is None and served.match("fresh.cn") == "fresh.cn"
    assert_in_sync(served)
    assert catch_up(served) == 0


@pytest.mark.postgres
def test_concurrent_approvals_during_repeated_loads(people):
    """A writer thread approving filings while the main thread loads again and again: after catch-up every
    load equals the registry."""
    owner = people.owner
    sites = [
        site(f.filed_subject_sites(owner, [{"domains": [f"busy{i}.cn"]}, {"domains": [f"spare{i}.cn"]}]))
        for i in range(4)
    ]
    errors: list[BaseException] = []
    done = threading.Event()

    def writer():
        try:
            for i, website in enumerate(sites):
                cancel_website(people, website)
                new_filing(people, f"busy{i}.cn")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    loads = 0
    while not done.is_set() or loads == 0:
        served = ServedSet()
        load(served)
        loads += 1
        catch_up(served)
        assert served.position <= last_seq()
    thread.join(30)
    assert not errors, errors
    catch_up(served)
    assert_in_sync(served)


# -- the follower thread --------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_follower_thread_polls_sqlite_within_a_second(people, registry, start_follower):
    served = ServedSet()
    start_follower(served, poll_interval=0.05)
    assert_in_sync(served)

    cancel_website(people, site(registry.alpha, 1))
    took = wait_until(lambda: served.match("alpha.cn") is None, 1.0)
    assert took is not None, "a cancellation did not reach the follower within 1 s"

    new_filing(people, "alpha.cn")
    took = wait_until(lambda: served.match("www.alpha.cn") == "alpha.cn", 1.0)
    assert took is not None, "a new filing did not reach the follower within 1 s"
    assert_in_sync(served)
    assert not served.degraded


def _pg_listener():
    import psycopg

    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.postgres
def test_approval_notifies_beian_feed_on_postgresql(people, registry):
    """The follower LISTENs on ``beian_feed``; an approving transaction must NOTIFY it on commit."""
    with _pg_listener() as listener:
        listener.execute("LISTEN beian_feed")
        cancel_website(people, site(registry.alpha, 1))
        received = list(listener.notifies(timeout=2.0, stop_after=1))
    assert received, "no NOTIFY on channel beian_feed after an approval that wrote feed entries"
    assert received[0].channel == "beian_feed"


@pytest.mark.postgres
def test_follower_listen_path_on_postgresql_within_a_second(people, registry, start_follower):
    """LISTEN/NOTIFY brings a change in milliseconds; the follower's fallback poll runs once a second. The
    approval commits right after a fallback poll, so only a notification can deliver it well within 1 s."""
    served = ServedSet()
    start_follower(served, poll_interval=0.05)
    assert_in_sync(served)

    for domain_gone, domain_new in [("alpha.cn", "fresh-one.cn"), ("www.beta.com.cn", "fresh-two.cn")]:
        synced = served.synced_at
        assert wait_until(lambda synced=synced: served.synced_at != synced, 3.0), (
            "the follower is not polling"
        )
        started = time.monotonic()
        if domain_gone == "alpha.cn":
            cancel_website(people, site(registry.alpha, 1))
        else:
            order = engine(services.cancel_access_submit, actor=people.owner, website=site(registry.beta, 1))
            engine(move, order.pk, Action.PROVIDER_APPROVE, actor=people.provider)
        committed = time.monotonic()
        took = wait_until(lambda d=domain_gone: served.match(d) is None, 1.0)
        assert took is not None, f"{domain_gone}: cancellation not picked up within 1 s of its commit"
        assert took < 0.5, (
            f"{domain_gone}: picked up {took:.2f} s after the commit (approval took "
            f"{committed - started:.2f} s): that is the 1 s fallback poll, not LISTEN/NOTIFY"
        )
        new_filing(people, domain_new)
        assert wait_until(lambda d=domain_new: served.match(d) == d, 1.0) is not None
    assert_in_sync(served)


def test_fail_static_when_the_database_is_unreachable(people, registry, start_follower, monkeypatch):
    served = ServedSet()
    start_follower(served, poll_interval=0.05)
    gate = Gate(served, follow=False)
    size, position = len(served), served.position

    def unreachable(_served):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(follower_module, "catch_up", unreachable)
    assert wait_until(lambda: served.degraded, 3.0) is not None, "the follower did not notice the outage"
    # the registry changes while the gate cannot see it: the last known set is kept, decisions continue
    cancel_website(people, site(registry.alpha, 1))
    time.sleep(0.3)
    assert served.loaded and served.degraded
    assert len(served) == size and served.position == position
    assert served.match("www.alpha.cn") == "alpha.cn"
    proto = _health(gate)
    assert proto[0] == 503 and proto[1]["status"] == "degraded" and proto[1]["size"] == size

    monkeypatch.undo()  # the database is back
    took = wait_until(lambda: not served.degraded and served.match("alpha.cn") is None, 6.0)
    assert took is not None, "the follower did not recover after the database came back"
    assert_in_sync(served)
    assert _health(gate)[0] == 200
    assert served.reloads == 1  # recovered by following the feed, not by reloading


def _health(gate: Gate) -> tuple[int, dict]:
    import asyncio
    import json

    result: dict = {}

    class Proto:
        def response_str(self, status, headers, body):
            result.update(status=status, body=json.loads(body))

    scope = SimpleNamespace(path="/healthz", query_string="", headers={})
    asyncio.run(gate.__rsgi__(scope, Proto()))
    return result["status"], result["body"]


def test_a_hung_database_call_is_not_reported_healthy(people, registry, start_follower, monkeypatch):
    """A database that stops answering without closing the connection (a network partition, a stuck
    lock) leaves the follower waiting in a query: nothing raises, so nothing sets ``degraded``. The set is
    then as stale as an unreachable database's, and /healthz must say so once no sync has succeeded for
    five seconds (the follower syncs at least once a second on both backends)."""
    served = ServedSet()
    start_follower(served, poll_interval=0.05)
    gate = Gate(served, follow=False)
    assert _health(gate)[0] == 200
    release = threading.Event()

    def hangs(_served):
        release.wait(30)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(follower_module, "catch_up", hangs)
    try:
        assert wait_until(lambda: served.lag() is not None and served.lag() > 5.0, 8.0, step=0.05) is not None
        status, body = _health(gate)
        assert status == 503 and body["status"] != "ok", (
            f"no sync for {body['lag_seconds']:.1f} s, yet /healthz answers {status} {body['status']!r}"
        )
    finally:
        monkeypatch.undo()
        release.set()


def test_follower_stops_promptly(start_follower):
    served = ServedSet()
    thread = start_follower(served, poll_interval=0.05)
    thread.stop.set()
    thread.join(3)
    assert not thread.is_alive(), "the follower thread did not stop within 3 s of being asked"
