"""Races on PostgreSQL: real threads behind a barrier, each on its own connection, assert that one move won.

On SQLite ``select_for_update`` is a no-op and BEGIN IMMEDIATE serialises every writer, so these tests
only mean something on PostgreSQL (``BEIAN_DATABASE_URL``); CI runs them there in strict mode, where a
skip fails the run. Each race is repeated for several rounds so that the losing side really loses at
the database and not only at the first guard; where the window is too narrow to hit by chance (a row
read before the lock, checked after it), the interleaving is forced with events. After each race the
registry must hold no half-written rows, the audit chain must verify and the change feed must replay to
the served set.
"""

from __future__ import annotations

import collections
import functools
import threading

import pytest
from django.db import connection

from beian.accounts.services import user_create
from beian.audit.models import AuditEntry
from beian.audit.services import audit_verify
from beian.core import clock
from beian.core.errors import Conflict, ServiceError
from beian.core.models import current_value
from beian.gate.models import FeedEntry
from beian.gate.services import served_set_from_feed
from beian.notify.models import OutboxMessage
from beian.offline.services import offline_register
from beian.orders import services, verification
from beian.orders.models import Order, OrderEvent
from beian.orders.services import cancellation
from beian.orders.workflow import Action, move
from beian.registry.models import Domain, Subject, Website
from beian.rules import filing_numbers
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5
OPEN = ("provider_review", "awaiting_verification", "bureau_review")
PDF = b"%PDF-1.4 scanned application"
_hash: list[str] = []
_numbers = iter(range(1, 10**6))


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("race tests need PostgreSQL: set BEIAN_DATABASE_URL")


@pytest.fixture
def people():
    return {
        "owner": user_create(username="owner", password=None),
        "other": user_create(username="other", password=None),
        "provider": user_create(username="provider", password=None, role="provider_reviewer"),
        "bureau": user_create(username="bureau", password=None, role="bureau_reviewer", province="11"),
        "bureau2": user_create(username="bureau2", password=None, role="bureau_reviewer", province="11"),
    }


def race(*calls, timeout: float = 120) -> list[tuple[str, object]]:
    """Run ``calls`` at once, one thread and one connection each; ("ok", result) or ("error", exception)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, object]] = [("missing", None)] * len(calls)

    def run(i: int, call) -> None:
        try:
            barrier.wait(timeout)
            results[i] = ("ok", call())
        except BaseException as exc:  # reported to the test thread, which decides
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a racing thread hung (deadlock?)"
    return results


def one_winner(results, *codes: str) -> object:
    """Exactly one call succeeded; every other one was refused with a 409 among ``codes``."""
    wins = [value for kind, value in results if kind == "ok"]
    losses = [value for kind, value in results if kind != "ok"]
    for loss in losses:
        assert isinstance(loss, Conflict), f"the loser failed with {type(loss).__name__}: {loss!r}"
        assert loss.code in codes and loss.status == 409, (loss.code, loss.message_en)
    assert len(wins) == 1, f"{len(wins)} winners: {results}"
    return wins[0]


def filed(owner, *domains: list[str]) -> Subject:
    """An active subject with one served website per domain list, filing password ``f.PASSWORD``."""
    if not _hash:
        _hash.append(verification.hash_password(f.PASSWORD))
    n = next(_numbers)
    sites = [{"name": f"网站{i}", "domains": list(doms)} for i, doms in enumerate(domains, start=1)]
    return f.imported_subject(owner, name=f"竞态公司{n}", sites=sites, password_hash=_hash[0])


def new_filing(actor, domain: str, *, province: str = "11") -> Order:
    return services.new_filing_submit(
        actor=actor, **f.new_filing_args(domain=domain, province=province, n=next(_numbers))
    )


def at_bureau(people, domain: str) -> Order:
    order = new_filing(people["owner"], domain)
    return move(order, Action.PROVIDER_APPROVE, actor=people["provider"])


def served_in_db() -> set[str]:
    return set(
        Domain.objects.filter(
            status="active", website__status="active", website__served_here=True
        ).values_list("name", flat=True)
    )


def check_consistency() -> None:
    """No half-written rows, one open order per subject, an intact audit chain, the feed matching the registry."""
    open_orders = Order.objects.filter(state__in=OPEN)
    per_subject = collections.Counter(open_orders.values_list("subject_id", flat=True))
    assert all(n == 1 for n in per_subject.values()), per_subject
    held = collections.Counter(
        Domain.objects.filter(status__in=("reserved", "active")).values_list("name", flat=True)
    )
    assert all(n == 1 for n in held.values()), held
    for subject in Subject.objects.filter(status="pending"):
        assert open_orders.filter(subject=subject, kind="new_filing").exists(), f"orphan pending {subject}"
    for site in Website.objects.filter(status="pending"):
        assert open_orders.filter(website=site).exists(), f"orphan pending website {site}"
    for domain in Domain.objects.filter(status="reserved").select_related("website"):
        assert domain.website.status == "pending", f"orphan reserved domain {domain}"
    audited = collections.Counter(
        AuditEntry.objects.filter(object_type="order", action__startswith="order.").values_list(
            "object_id", flat=True
        )
    )
    for order in open_orders.select_related("subject", "website"):
        wanted = ("pending",) if order.kind == "new_filing" else ("active",)
        assert order.subject.status in wanted, f"open {order} on a {order.subject.status} subject"
        if order.website is not None:
            wanted = ("pending",) if order.kind in ("new_filing", "add_website") else ("active",)
            assert order.website.status in wanted, f"open {order} on a {order.website.status} website"
    for order in Order.objects.all():
        events = list(OrderEvent.objects.filter(order=order).order_by("id"))
        assert events, f"{order} has no OrderEvent"
        assert events[-1].to_state == order.state, f"{order}: timeline ends in {events[-1].to_state}"
        assert audited[str(order.pk)] == len(events), (
            f"{order}: {len(events)} events, {audited[str(order.pk)]} audited"
        )
    numbers = [n for n in Subject.objects.values_list("number", flat=True) if n]
    assert len(numbers) == len(set(numbers))
    result = audit_verify()
    assert result.ok, result
    assert served_set_from_feed() == served_in_db()


# --- (a) two cancellations of one subject ------------------------------------------------------------
def test_two_cancel_subject_submissions_create_one_order(people):
    owner = people["owner"]
    for r in range(ROUNDS):
        subject = filed(owner, [f"a{r}.cn"], [f"b{r}.cn"])

        def cancel(subject=subject):
            return services.cancel_subject_submit(actor=owner, subject=subject.pk, password=f.PASSWORD)

        order = one_winner(race(cancel, cancel), "order_in_progress")
        assert order.state == "bureau_review"
        assert Order.objects.filter(subject=subject).count() == 1
        check_consistency()


# --- (b) cancel_website against change_website of the same subject -----------------------------------
def test_cancel_website_against_change_website_of_one_subject(people):
    owner = people["owner"]
    for r in range(ROUNDS):
        subject = filed(owner, [f"c{r}.cn", f"c{r}.com"], [f"d{r}.cn"])
        first, second = subject.websites.order_by("sequence")
        changed = first if r % 2 == 0 else second  # the same website, or the other one

        def cancel(site=first):
            return services.cancel_website_submit(actor=owner, website=site.pk, password=f.PASSWORD)

        def change(site=changed):
            return services.change_website_submit(
                actor=owner, website=site.pk, changes={"name": f"改名{site.pk}"}
            )

        calls = (cancel, change) if r % 3 else (change, cancel)
        order = one_winner(race(*calls), "order_in_progress")
        assert order.kind in ("cancel_website", "change_website")
        assert list(Order.objects.filter(subject=subject).values_list("pk", flat=True)) == [order.pk]
        check_consistency()


# --- (c) two new filings of one domain ---------------------------------------------------------------
def test_two_new_filings_of_one_domain(people):
    owner, other = people["owner"], people["other"]
    for r in range(ROUNDS):
        domain = f"same{r}.cn"
        subjects_before = Subject.objects.count()
        results = race(
            lambda domain=domain: new_filing(owner, domain), lambda domain=domain: new_filing(other, domain)
        )
        order = one_winner(results, "domain_already_filed")
        assert Domain.objects.filter(name=domain).count() == 1
        assert Domain.objects.get(name=domain).website_id == order.website_id
        assert Subject.objects.count() == subjects_before + 1, "the loser left its subject behind"
        assert Order.objects.filter(payload__domain=domain).count() == 1
        check_consistency()


# --- (d) two bureau approvals of one order -----------------------------------------------------------
def test_two_bureau_approvals_of_one_order_take_effect_once(people):
    for r in range(ROUNDS):
        order = at_bureau(people, f"twice{r}.cn")
        first = functools.partial(move, order.pk, Action.BUREAU_APPROVE, actor=people["bureau"])
        second = functools.partial(
            move, order.pk, Action.BUREAU_APPROVE, actor=people["bureau2"], expected_state="bureau_review"
        )
        one_winner(race(first, second), "illegal_transition", "stale_state")
        order.refresh_from_db()
        subject = Subject.objects.get(pk=order.subject_id)
        assert order.state == "approved" and subject.status == "active" and subject.number
        assert OrderEvent.objects.filter(order=order, action="bureau_approve").count() == 1
        assert list(FeedEntry.objects.filter(order=order).values_list("domain", "action")) == [
            (f"twice{r}.cn", "allow")
        ]
        assert OutboxMessage.objects.filter(order=order, template="filing_password_issued").count() == 2
        assert (
            AuditEntry.objects.filter(action="filing_password.issued", object_id=str(subject.pk)).count() == 1
        )
        assert current_value(f"subject-number:11:{clock.today().year}") == r + 1, "a number was drawn twice"
        site = Website.objects.get(pk=order.website_id)
        assert site.sequence == 1 and subject.website_counter == 1
        check_consistency()


# --- (e) many approvals in one province at once -----------------------------------------------------
def test_concurrent_approvals_in_one_province_get_consecutive_numbers(people):
    width = 8
    issued: list[int] = []
    for r in range(ROUNDS):
        orders = [at_bureau(people, f"many{r}-{i}.cn") for i in range(width)]
        results = race(
            *[lambda o=o: move(o.pk, Action.BUREAU_APPROVE, actor=people["bureau"]) for o in orders]
        )
        failures = [value for kind, value in results if kind != "ok"]
        assert not failures, failures
        numbers = list(
            Subject.objects.filter(pk__in=[o.subject_id for o in orders]).values_list("number", flat=True)
        )
        sequences = sorted(int(filing_numbers.parse(n).digits[4:]) for n in numbers)
        assert sequences == list(range(sequences[0], sequences[0] + width)), sequences
        issued += sequences
        seqs = list(FeedEntry.objects.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1)), "the feed has gaps or duplicates"
        check_consistency()
    assert issued == list(range(1, width * ROUNDS + 1)), issued


# --- (f) the applicant abandons while the provider approves ----------------------------------------
def test_abandon_against_provider_approval(people):
    for r in range(ROUNDS):
        domain = f"quit{r}.cn"
        order = new_filing(people["owner"], domain)
        results = race(
            functools.partial(move, order.pk, Action.ABANDON, actor=people["owner"]),
            functools.partial(move, order.pk, Action.PROVIDER_APPROVE, actor=people["provider"]),
        )
        one_winner(results, "illegal_transition")
        order.refresh_from_db()
        status = Domain.objects.get(name=domain).status
        if order.state == "abandoned":
            assert status == "released" and Subject.objects.get(pk=order.subject_id).status == "withdrawn"
        else:
            assert order.state == "bureau_review" and status == "reserved"
        check_consistency()


# --- (g) a paper application registered while the online cancellation is being approved -----------------
def test_offline_registration_against_approval_of_the_same_cancellation(people):
    """The website is either still held by the online order (order_in_progress) or already cancelled: a
    second cancellation order must never be created for it."""
    owner = people["owner"]
    for r in range(ROUNDS):
        subject = filed(owner, [f"paper{r}.cn"], [f"keep{r}.cn"])
        site = subject.websites.get(sequence=1)
        order = services.cancel_website_submit(actor=owner, website=site.pk, password=f.PASSWORD)
        results = race(
            functools.partial(move, order.pk, Action.BUREAU_APPROVE, actor=people["bureau"]),
            functools.partial(
                offline_register, actor=people["bureau2"], number=site.number, scan=PDF, received_via="post"
            ),
        )
        (approved, (outcome, registered)) = results
        assert approved[0] == "ok", approved
        assert outcome == "error", (
            f"a second cancellation was registered for a cancelled website: {registered}"
        )
        assert isinstance(registered, ServiceError), repr(registered)
        assert registered.code in ("order_in_progress", "not_found", "website_not_active"), registered.code
        assert list(Order.objects.filter(website=site).values_list("pk", flat=True)) == [order.pk]
        check_consistency()


# --- (h) a cancellation submitted while another order on the same website is approved -------------------
@pytest.mark.parametrize(
    ("pending_kind", "approver", "submitted", "refusals"),
    [
        ("cancel_access", "provider", "cancel_website", ("order_in_progress", "website_not_served_here")),
        ("cancel_website", "bureau", "cancel_access", ("order_in_progress", "website_not_active")),
    ],
)
def test_cancellation_submitted_while_the_website_changes(
    people, monkeypatch, pending_kind, approver, submitted, refusals
):
    """The submission reads the website, then the other order is approved, then the submission's guards run.

    The interleaving is forced (the approval runs between the submission's first read and its checks), so the
    submission must see the website as it is now: 取消接入 approved means not served here any more, 注销网站
    approved means cancelled; either way the submission is refused and no order is filed for the website."""
    owner = people["owner"]
    read, approved = threading.Event(), threading.Event()
    real_subject = cancellation._subject

    in_submission = threading.local()

    def subject_after_the_approval(subject):
        if getattr(in_submission, "on", False):
            read.set()  # the website has been read: let the approval run and commit
            assert approved.wait(60)
        return real_subject(subject)

    monkeypatch.setattr(cancellation, "_subject", subject_after_the_approval)
    for r in range(2):
        read.clear()
        approved.clear()
        label = pending_kind.replace("_", "-")
        subject = filed(owner, [f"{label}{r}.cn"], [f"other-{label}{r}.cn"])
        site = subject.websites.get(sequence=1)
        if pending_kind == "cancel_access":
            pending = services.cancel_access_submit(actor=owner, website=site.pk)
        else:
            pending = services.cancel_website_submit(actor=owner, website=site.pk, password=f.PASSWORD)

        def approve(pending=pending):
            assert read.wait(60), "the submission never reached its checks"
            try:
                return move(
                    pending.pk,
                    Action.PROVIDER_APPROVE if approver == "provider" else Action.BUREAU_APPROVE,
                    actor=people[approver],
                )
            finally:
                approved.set()

        def submit(site=site):
            in_submission.on = True
            if submitted == "cancel_access":
                return services.cancel_access_submit(actor=owner, website=site.pk)
            return services.cancel_website_submit(actor=owner, website=site.pk, password=f.PASSWORD)

        (moved, filed_order) = race(approve, submit)
        assert moved[0] == "ok", moved
        assert filed_order[0] == "error", (
            f"{submitted} was filed for a website that changed meanwhile: {filed_order}"
        )
        assert isinstance(filed_order[1], ServiceError), repr(filed_order[1])
        assert filed_order[1].code in refusals, filed_order[1].code
        assert list(Order.objects.filter(website=site).values_list("pk", flat=True)) == [pending.pk]
        check_consistency()


def test_race_outcomes_are_service_errors_only(people):
    """A lost race is a refusal the API can render (a ServiceError), never a database error."""
    owner, other = people["owner"], people["other"]
    subject = filed(owner, ["mixed.cn"])
    site = subject.websites.get()
    calls = [
        lambda: services.cancel_subject_submit(actor=owner, subject=subject.pk, password=f.PASSWORD),
        lambda: services.cancel_website_submit(actor=owner, website=site.pk, password=f.PASSWORD),
        lambda: services.cancel_access_submit(actor=owner, website=site.pk),
        lambda: services.change_subject_submit(actor=owner, subject=subject.pk, changes={"name": "新名字"}),
        lambda: services.add_website_submit(
            actor=owner,
            subject=subject.pk,
            website={
                "name": "又一个",
                "responsible_name": "王五",
                "responsible_mobile": "13700000000",
                "responsible_email": "w@example.cn",
            },
            domain="mixed.com",
        ),
        lambda: new_filing(other, "mixed.com"),
    ]
    results = race(*calls)
    for kind, value in results:
        assert kind == "ok" or isinstance(value, ServiceError), repr(value)
    assert Order.objects.filter(subject=subject, state__in=OPEN).count() == 1
    check_consistency()
