"""The hash-chained audit log: verify finds a modified, deleted, reordered or truncated entry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F

from beian.audit.models import AuditEntry
from beian.audit.services import audit_append, audit_verify, entry_hash
from beian.cli import main
from beian.core.models import Counter
from beian.orders import services
from beian.orders.workflow import Action, move
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity():
    """Real activity: a new filing through both reviews, then a cancellation. Returns the number of entries."""
    owner = f.quick_user()
    provider = f.quick_user("provider_reviewer")
    bureau = f.quick_user("bureau_reviewer", "11")
    order = services.new_filing_submit(actor=owner, **f.new_filing_args(domain="audit.cn"))
    move(move(order, Action.PROVIDER_APPROVE, actor=provider), Action.BUREAU_APPROVE, actor=bureau)
    subject = f.filed_subject(owner, domains_per_site=(["audit-two.cn"],))
    move(
        services.cancel_website_submit(actor=owner, website=subject.websites.get(), password=f.PASSWORD),
        Action.BUREAU_APPROVE,
        actor=bureau,
    )
    count = AuditEntry.objects.count()
    assert count >= 7
    return count


def test_intact_chain_verifies(activity):
    result = audit_verify()
    assert result.ok and result.checked == activity and result.bad_seq is None
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, activity + 1)
    )
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "order.submit",
        "order.provider_approve",
        "order.bureau_approve",
        "filing_password.issued",
    } <= actions


def test_entries_chain_to_their_predecessor(activity):
    entries = list(AuditEntry.objects.order_by("seq"))
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"kind": "new_filing", "note": "篡改"}},
        {"actor": "someone-else"},
        {"action": "order.abandon"},
        {"object_id": "999"},
    ],
    ids=["data", "actor", "action", "object"],
)
def test_modified_entry_is_named(activity, change):
    n = activity // 2
    AuditEntry.objects.filter(seq=n).update(**change)
    result = audit_verify()
    assert not result.ok and result.bad_seq == n and "modified" in result.problem


def test_modified_entry_with_recomputed_hash_breaks_the_next_link(activity):
    """Recomputing the row's own hash does not help: the next entry no longer follows it."""
    from beian.audit.services import entry_hash

    n = activity // 2
    entry = AuditEntry.objects.get(seq=n)
    entry.data = {"forged": True}
    entry.hash = entry_hash(entry)
    AuditEntry.objects.filter(seq=n).update(data=entry.data, hash=entry.hash)
    result = audit_verify()
    assert not result.ok and result.bad_seq == n + 1 and "does not follow" in result.problem


def test_deleted_middle_entry_is_reported_missing(activity):
    n = activity // 2
    AuditEntry.objects.filter(seq=n).delete()
    result = audit_verify()
    assert not result.ok and result.bad_seq == n and "missing" in result.problem


def test_swapped_entries_are_reported_at_the_first(activity):
    n = activity // 2
    AuditEntry.objects.filter(seq=n).update(seq=-1)
    AuditEntry.objects.filter(seq=n + 1).update(seq=n)
    AuditEntry.objects.filter(seq=-1).update(seq=n + 1)
    result = audit_verify()
    assert not result.ok and result.bad_seq == n and "reordered" in result.problem


def test_deleted_last_entry_is_reported(activity):
    AuditEntry.objects.filter(seq=activity).delete()
    result = audit_verify()
    assert not result.ok and result.bad_seq == activity and "deleted" in result.problem


def test_deleted_first_entry_is_reported(activity):
    AuditEntry.objects.filter(seq=1).delete()
    result = audit_verify()
    assert (
        not result.ok and result.bad_seq == 1 and "missing" in result.problem and "deleted" in result.problem
    )


# --- rows moved, re-dated or slipped in -------------------------------------------------------------------------
def shift(first: int, by: int) -> None:
    """Renumber every entry from ``first`` on by ``by`` (through an offset: seq is unique)."""
    AuditEntry.objects.filter(seq__gte=first).update(seq=F("seq") + 1_000_000)
    AuditEntry.objects.filter(seq__gte=1_000_000).update(seq=F("seq") - 1_000_000 + by)


def forge(seq: int, *, follows: int) -> None:
    """An entry written by hand the way audit_append would: chained to entry ``follows``, its hash right."""
    prev = AuditEntry.objects.get(seq=follows).hash if follows else "0" * 64
    entry = AuditEntry(
        seq=seq,
        at=dt.datetime.now(dt.UTC),
        actor="intruder",
        actor_role="admin",
        action="order.bureau_approve",
        object_type="order",
        object_id="1",
        data={},
        prev_hash=prev,
    )
    entry.hash = entry_hash(entry)
    entry.save()


def test_entry_moved_to_the_end_is_reported_where_it_left(activity):
    """No gap and the same count: only the chain shows that entry n now sits last."""
    n = activity // 2
    AuditEntry.objects.filter(seq=n).update(seq=-1)
    shift(n + 1, -1)
    AuditEntry.objects.filter(seq=-1).update(seq=activity)
    result = audit_verify()
    assert not result.ok and result.bad_seq == n and "reordered" in result.problem


def test_redated_entry_is_reported_as_modified(activity):
    """Moving an entry in time (before its predecessor) changes what its hash covers."""
    n = activity // 2
    earlier = AuditEntry.objects.get(seq=n - 1).at - dt.timedelta(seconds=1)
    AuditEntry.objects.filter(seq=n).update(at=earlier)
    result = audit_verify()
    assert not result.ok and result.bad_seq == n and "modified" in result.problem


def test_swapped_row_ids_do_not_reorder_the_log(activity):
    """The log's order is seq, which the hashes cover; the surrogate id orders nothing."""
    before = list(AuditEntry.objects.values_list("seq", "action"))
    n = activity // 2
    a, b = (AuditEntry.objects.get(seq=s).pk for s in (n, n + 1))
    AuditEntry.objects.filter(pk=a).update(id=-1)
    AuditEntry.objects.filter(pk=b).update(id=a)
    AuditEntry.objects.filter(pk=-1).update(id=b)
    assert list(AuditEntry.objects.values_list("seq", "action")) == before
    assert audit_verify().ok


@pytest.mark.parametrize("counter_bumped", [False, True], ids=["counter-untouched", "counter-bumped"])
def test_entry_inserted_in_the_middle_is_named(activity, counter_bumped):
    n = activity // 2
    shift(n, +1)
    forge(n, follows=n - 1)
    if counter_bumped:
        Counter.objects.filter(name="audit").update(value=F("value") + 1)
    result = audit_verify()
    assert not result.ok and result.bad_seq == n and "inserted" in result.problem
    assert result.checked == n - 1


def test_entry_inserted_first_is_named(activity):
    shift(1, +1)
    forge(1, follows=0)
    result = audit_verify()
    assert not result.ok and result.bad_seq == 1
    assert "entry 1 was inserted" in result.problem and "start of the log" in result.problem


def test_entry_appended_by_hand_is_named(activity):
    """Chained and hashed like a real one, but never drawn from the audit counter."""
    forge(activity + 1, follows=activity)
    result = audit_verify()
    assert not result.ok and result.bad_seq == activity + 1 and "inserted" in result.problem


def test_appending_after_verification_keeps_the_chain(activity):
    audit_append(actor=None, action="test.note", object_type="test", object_id="1", data={"x": "中文"})
    result = audit_verify()
    assert result.ok and result.checked == activity + 1


def test_cli_verify(activity, capsys):
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "intact" in out and str(activity) in out

    n = activity // 2
    AuditEntry.objects.filter(seq=n).update(data={"tampered": True})
    assert main(["audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert f"entry {n}" in err and "modified" in err


@pytest.mark.parametrize("tamper", ["deleted", "inserted", "reordered"])
def test_cli_verify_names_the_row_and_what_happened(activity, capsys, tamper):
    n = activity // 2
    if tamper == "deleted":
        AuditEntry.objects.filter(seq=n).delete()
    elif tamper == "inserted":
        shift(n, +1)
        forge(n, follows=n - 1)
    else:
        AuditEntry.objects.filter(seq=n).update(seq=-1)
        shift(n + 1, -1)
        AuditEntry.objects.filter(seq=-1).update(seq=activity)
    assert main(["audit", "verify"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"broken at entry {n}: entry {n} " in captured.err and tamper in captured.err
