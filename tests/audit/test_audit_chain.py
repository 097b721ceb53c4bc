"""The hash-chained audit log: verify finds a modified, deleted, reordered or truncated entry."""

from __future__ import annotations

import pytest

from beian.audit.models import AuditEntry
from beian.audit.services import audit_append, audit_verify
from beian.cli import main
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
    assert not result.ok and result.bad_seq == n + 1


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
    assert not result.ok and result.bad_seq == n


def test_deleted_last_entry_is_reported(activity):
    AuditEntry.objects.filter(seq=activity).delete()
    result = audit_verify()
    assert not result.ok and result.bad_seq == activity and "deleted" in result.problem


def test_deleted_first_entry_is_reported(activity):
    AuditEntry.objects.filter(seq=1).delete()
    result = audit_verify()
    assert not result.ok and result.bad_seq == 1


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
