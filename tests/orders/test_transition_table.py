"""The transition table and move(): every (kind, state, action) is legal exactly when the table says so.

Orders are built through the real services and brought to each state through legal moves. A few
(kind, state) pairs cannot be reached by any legal path (a filing never waits for SMS verification, a
cancellation never sees the provider); for those the state is written directly so that move() is still
shown to refuse what the table does not list.
"""

from __future__ import annotations

import itertools

import pytest
from argon2 import PasswordHasher
from django.db import transaction

from beian.audit.models import AuditEntry
from beian.core.errors import Conflict, Invalid, NotAllowed
from beian.gate.models import FeedEntry
from beian.notify.models import OutboxMessage
from beian.orders import services, verification
from beian.orders.choices import Kind, State
from beian.orders.models import Order, OrderEvent
from beian.orders.workflow import Action, find_transition, move
from beian.registry.models import Domain, Subject, Website
from tests import factories as f

pytestmark = pytest.mark.django_db

P, V, B = State.PROVIDER_REVIEW, State.AWAITING_VERIFICATION, State.BUREAU_REVIEW
FILING_KINDS = {Kind.NEW_FILING, Kind.ADD_WEBSITE, Kind.ADD_ACCESS, Kind.CHANGE_SUBJECT, Kind.CHANGE_WEBSITE}
CANCEL_KINDS = {Kind.CANCEL_SUBJECT, Kind.CANCEL_WEBSITE}
_names = itertools.count(1)
UNREACHABLE = {(k, V) for k in FILING_KINDS | {Kind.CANCEL_ACCESS}} | {(k, P) for k in CANCEL_KINDS}
WEBSITE = {
    "name": "测试网站",
    "responsible_name": "王五",
    "responsible_mobile": "13700000000",
    "responsible_email": "site@example.cn",
}


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch):
    """Argon2id with small parameters: the table test builds many subjects."""
    monkeypatch.setattr(verification, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def expected_target(kind: Kind, state: State | None, action: Action, *, sms: bool, access_by_bureau: bool):
    """The legal moves as DOMAIN.md and ARCHITECTURE.md describe them, written independently of TRANSITIONS."""
    filing, cancel, access = kind in FILING_KINDS, kind in CANCEL_KINDS, kind == Kind.CANCEL_ACCESS
    if state is None:
        if action == Action.SUBMIT:
            return (V if sms else B) if cancel else P
        if action == Action.REGISTER_OFFLINE and cancel:
            return B
        return None
    if state in (P, V) and action == Action.ABANDON:
        return State.ABANDONED  # the applicant may abandon only before the bureau
    if state in (P, V) and action == Action.EXPIRE:
        return State.EXPIRED
    if state == P:
        if action == Action.PROVIDER_APPROVE and filing:
            return B
        if action == Action.PROVIDER_APPROVE and access:
            return B if access_by_bureau else State.APPROVED
        if action == Action.PROVIDER_REJECT and (filing or access):
            return State.REJECTED
    if state == V and cancel:
        return {Action.VERIFY: B, Action.VERIFICATION_FAILED: State.REJECTED}.get(action)
    if state == B:
        return {Action.BUREAU_APPROVE: State.APPROVED, Action.BUREAU_REJECT: State.REJECTED}.get(action)
    return None


@pytest.mark.parametrize("sms", [False, True], ids=["password", "sms"])
@pytest.mark.parametrize("access_by_bureau", [False, True], ids=["access_provider", "access_bureau"])
def test_table_matches_the_domain_rules(settings, sms, access_by_bureau):
    """find_transition() answers what DOMAIN.md allows, for submissions and for every state."""
    settings.BEIAN_CANCELLATION_VERIFICATION = "sms" if sms else "password"
    settings.BEIAN_CANCEL_ACCESS_NEEDS_BUREAU = access_by_bureau
    wrong = []
    for kind in Kind:
        for state in [None, *State]:
            for action in Action:
                row = find_transition(kind, state, action)
                got = row.target if row else None
                want = expected_target(kind, state, action, sms=sms, access_by_bureau=access_by_bureau)
                if got != want:
                    wrong.append((kind.value, state and state.value, action.value, got, want))
    assert wrong == []


class World:
    """One applicant, a provider reviewer and a Beijing bureau reviewer."""

    def __init__(self):
        self.owner = f.quick_user()
        self.provider = f.quick_user("provider_reviewer")
        self.bureau = f.quick_user("bureau_reviewer", "11")

    def actor_for(self, role: str):
        return {"applicant": self.owner, "provider": self.provider, "bureau": self.bureau, "system": None}[
            role
        ]


ACTION_ROLE = {
    Action.SUBMIT: "applicant",
    Action.PROVIDER_APPROVE: "provider",
    Action.PROVIDER_REJECT: "provider",
    Action.VERIFY: "applicant",
    Action.VERIFICATION_FAILED: "system",
    Action.BUREAU_APPROVE: "bureau",
    Action.BUREAU_REJECT: "bureau",
    Action.ABANDON: "applicant",
    Action.EXPIRE: "system",
    Action.REGISTER_OFFLINE: "bureau",
}


def submit(kind: Kind, w: World) -> Order:
    """Submit a fresh order of ``kind`` through its service."""
    n = next(_names)
    if kind == Kind.NEW_FILING:
        return services.new_filing_submit(actor=w.owner, **f.new_filing_args(domain=f"table-new{n}.cn"))
    served = kind != Kind.ADD_ACCESS
    subject = f.filed_subject(w.owner, domains_per_site=([f"table-base{n}.cn"],), served=served)
    site = subject.websites.get()
    if kind == Kind.ADD_WEBSITE:
        return services.add_website_submit(
            actor=w.owner, subject=subject, website=WEBSITE, domain=f"table-add{n}.cn"
        )
    if kind == Kind.ADD_ACCESS:
        return services.add_access_submit(actor=w.owner, website=site)
    if kind == Kind.CHANGE_SUBJECT:
        return services.change_subject_submit(
            actor=w.owner, subject=subject, changes={"name": "改名后的公司"}
        )
    if kind == Kind.CHANGE_WEBSITE:
        return services.change_website_submit(actor=w.owner, website=site, changes={"name": "改名后的网站"})
    if kind == Kind.CANCEL_SUBJECT:
        return services.cancel_subject_submit(actor=w.owner, subject=subject, password=f.PASSWORD)
    if kind == Kind.CANCEL_WEBSITE:
        return services.cancel_website_submit(actor=w.owner, website=site, password=f.PASSWORD)
    return services.cancel_access_submit(actor=w.owner, website=site)


def build(kind: Kind, state: State, w: World, settings) -> Order:
    """An order of ``kind`` in ``state``, reached through legal moves wherever a legal path exists."""
    cancel = kind in CANCEL_KINDS
    if (kind, state) in UNREACHABLE:
        order = submit(kind, w)
        Order.objects.filter(pk=order.pk).update(state=state)
        return Order.objects.get(pk=order.pk)
    if cancel and state in (V, State.ABANDONED, State.EXPIRED):
        settings.BEIAN_CANCELLATION_VERIFICATION = "sms"
    if kind == Kind.CANCEL_ACCESS and state == B:
        settings.BEIAN_CANCEL_ACCESS_NEEDS_BUREAU = True
    order = submit(kind, w)
    assert order.state == (
        V if settings.BEIAN_CANCELLATION_VERIFICATION == "sms" and cancel else B if cancel else P
    )
    if state == State.APPROVED:
        path = [Action.PROVIDER_APPROVE] if kind == Kind.CANCEL_ACCESS else [Action.BUREAU_APPROVE]
    else:
        path = {
            State.REJECTED: [Action.BUREAU_REJECT] if cancel else [Action.PROVIDER_REJECT],
            State.ABANDONED: [Action.ABANDON],
            State.EXPIRED: [Action.EXPIRE],
        }.get(state, [])
    if (state == B and not cancel) or (state == State.APPROVED and kind in FILING_KINDS):
        path = [Action.PROVIDER_APPROVE, *path]
    for action in path:
        order = move(order, action, actor=w.actor_for(ACTION_ROLE[action]), note="理由")
    assert order.state == state
    return order


def row_counts() -> dict:
    return {
        "events": OrderEvent.objects.count(),
        "audit": AuditEntry.objects.count(),
        "feed": FeedEntry.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def registry_snapshot() -> tuple:
    return (
        list(Subject.objects.values_list("id", "status", "number", "is_shell", "password_failures")),
        list(Website.objects.values_list("id", "status", "number", "served_here", "is_shell")),
        list(Domain.objects.values_list("id", "status")),
    )


@pytest.mark.parametrize("state", list(State), ids=str)
@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_move_follows_the_table(settings, kind, state):
    """Every action on an order of this kind in this state: legal moves land on the table's target and write
    the timeline; illegal ones raise illegal_transition and write nothing."""
    w = World()
    order = build(kind, state, w, settings)
    problems = []
    for action in Action:
        row = find_transition(kind, state, action)
        before, snapshot = row_counts(), registry_snapshot()
        if row is not None:
            with transaction.atomic():
                moved = move(order.pk, action, actor=w.actor_for(row.actor.value), note="理由")
                event = OrderEvent.objects.filter(order=order).last()
                after = row_counts()
                if moved.state != row.target or Order.objects.get(pk=order.pk).state != row.target:
                    problems.append((action.value, "landed on", moved.state, "want", row.target.value))
                if (event.action, event.from_state, event.to_state) != (action, state, row.target):
                    problems.append((action.value, "event", event.action, event.from_state, event.to_state))
                if after["events"] != before["events"] + 1 or after["audit"] <= before["audit"]:
                    problems.append((action.value, "timeline/audit not written"))
                transaction.set_rollback(True)  # keep the order in ``state`` for the next action
            continue
        try:
            move(order.pk, action, actor=w.actor_for(ACTION_ROLE[action]), note="理由")
        except Conflict as exc:
            if exc.code != "illegal_transition" or exc.status != 409:
                problems.append((action.value, "wrong error", exc.code))
        else:
            problems.append((action.value, "illegal move succeeded"))
            continue
        if row_counts() != before or registry_snapshot() != snapshot:
            problems.append((action.value, "illegal move wrote rows"))
        if Order.objects.get(pk=order.pk).state != state:
            problems.append((action.value, "illegal move changed the state"))
    assert problems == []


def test_illegal_message_names_state_and_action():
    """The refusal says, in Chinese, what the order is and what cannot be done."""
    w = World()
    order = services.new_filing_submit(actor=w.owner, **f.new_filing_args(domain="msg-test.cn"))
    with pytest.raises(Conflict) as err:
        move(order, Action.BUREAU_APPROVE, actor=w.bureau)
    assert err.value.code == "illegal_transition"
    assert "待接入商初审" in err.value.message_zh and "管局审核通过" in err.value.message_zh
    assert err.value.context["state"] == "provider_review" and err.value.context["action"] == "bureau_approve"


@pytest.mark.parametrize("needs_bureau", [False, True])
def test_cancel_access_provider_approval_depends_on_setting(settings, needs_bureau):
    """取消接入 is decided by the provider alone unless BEIAN_CANCEL_ACCESS_NEEDS_BUREAU is set."""
    settings.BEIAN_CANCEL_ACCESS_NEEDS_BUREAU = needs_bureau
    w = World()
    order = move(submit(Kind.CANCEL_ACCESS, w), Action.PROVIDER_APPROVE, actor=w.provider)
    assert order.state == (B if needs_bureau else State.APPROVED)
    assert Website.objects.get(pk=order.website_id).served_here is needs_bureau


@pytest.mark.parametrize("sms", [False, True], ids=["password", "sms"])
def test_cancellations_skip_the_provider(settings, sms):
    """注销主体 and 注销网站 go straight to the bureau (after SMS verification in SMS mode)."""
    settings.BEIAN_CANCELLATION_VERIFICATION = "sms" if sms else "password"
    w = World()
    for kind in (Kind.CANCEL_SUBJECT, Kind.CANCEL_WEBSITE):
        order = submit(kind, w)
        assert order.state == (V if sms else B)
        with pytest.raises(Conflict) as err:
            move(order, Action.PROVIDER_APPROVE, actor=w.provider)
        assert err.value.code == "illegal_transition"
        # let the next kind through: close this one
        if sms:
            move(order, Action.ABANDON, actor=w.owner)
        else:
            move(order, Action.BUREAU_REJECT, actor=w.bureau, note="测试")


# --- who may move ----------------------------------------------------------------------------------


@pytest.fixture
def world():
    return World()


@pytest.fixture
def filing_in_bureau(world):
    order = services.new_filing_submit(actor=world.owner, **f.new_filing_args(domain="actor-test.cn"))
    return move(order, Action.PROVIDER_APPROVE, actor=world.provider)


def assert_not_allowed(order, action, actor, note="理由"):
    before, state = row_counts(), Order.objects.get(pk=order.pk).state
    with pytest.raises(NotAllowed) as err:
        move(order, action, actor=actor, note=note)
    assert err.value.code == "not_allowed" and err.value.status == 403
    assert row_counts() == before and Order.objects.get(pk=order.pk).state == state


def test_bureau_of_another_province_is_not_allowed(world, filing_in_bureau):
    """A Guangdong reviewer cannot decide a Beijing order."""
    other = f.quick_user("bureau_reviewer", "44")
    assert_not_allowed(filing_in_bureau, Action.BUREAU_APPROVE, other)
    assert_not_allowed(filing_in_bureau, Action.BUREAU_REJECT, other)
    assert move(filing_in_bureau, Action.BUREAU_APPROVE, actor=world.bureau).state == State.APPROVED


def test_provider_reviewer_cannot_bureau_approve(world, filing_in_bureau):
    assert_not_allowed(filing_in_bureau, Action.BUREAU_APPROVE, world.provider)


def test_bureau_reviewer_cannot_do_the_provider_review(world):
    order = services.new_filing_submit(actor=world.owner, **f.new_filing_args(domain="actor-p.cn"))
    assert_not_allowed(order, Action.PROVIDER_APPROVE, world.bureau)


def test_applicant_cannot_approve(world, filing_in_bureau):
    order = services.new_filing_submit(actor=world.owner, **f.new_filing_args(domain="actor-two.cn"))
    assert_not_allowed(order, Action.PROVIDER_APPROVE, world.owner)
    assert_not_allowed(order, Action.PROVIDER_REJECT, world.owner)
    assert_not_allowed(filing_in_bureau, Action.BUREAU_APPROVE, world.owner)


def test_another_applicant_cannot_abandon(world):
    order = services.new_filing_submit(actor=world.owner, **f.new_filing_args(domain="actor-other.cn"))
    assert_not_allowed(order, Action.ABANDON, f.quick_user())
    assert_not_allowed(order, Action.ABANDON, None)


def test_system_actions_are_not_for_users(world):
    """Expiry belongs to the worker (actor None): not even a reviewer may expire an order."""
    order = services.new_filing_submit(actor=world.owner, **f.new_filing_args(domain="actor-sys.cn"))
    assert_not_allowed(order, Action.EXPIRE, world.provider)
    assert_not_allowed(order, Action.EXPIRE, world.owner)
    assert move(order, Action.EXPIRE, actor=None).state == State.EXPIRED


def test_applicant_abandons_before_the_bureau_only(world, filing_in_bureau, settings):
    """放弃: possible in provider review and SMS verification, refused once the order is at the bureau."""
    order = services.new_filing_submit(actor=world.owner, **f.new_filing_args(domain="abandon-p.cn"))
    assert move(order, Action.ABANDON, actor=world.owner).state == State.ABANDONED

    settings.BEIAN_CANCELLATION_VERIFICATION = "sms"
    subject = f.filed_subject(world.owner, domains_per_site=(["abandon-v.cn"],))
    waiting = services.cancel_subject_submit(actor=world.owner, subject=subject)
    assert waiting.state == V
    assert move(waiting, Action.ABANDON, actor=world.owner).state == State.ABANDONED

    before = row_counts()
    with pytest.raises(Conflict) as err:
        move(filing_in_bureau, Action.ABANDON, actor=world.owner)
    assert err.value.code == "illegal_transition"
    assert row_counts() == before
    assert Order.objects.get(pk=filing_in_bureau.pk).state == B


@pytest.mark.parametrize("note", ["", "   "])
@pytest.mark.parametrize("stage", ["provider", "bureau"])
def test_rejection_needs_a_reason(world, filing_in_bureau, stage, note):
    order = filing_in_bureau
    action, actor = Action.BUREAU_REJECT, world.bureau
    if stage == "provider":
        order = services.new_filing_submit(actor=world.owner, **f.new_filing_args(domain="reason.cn"))
        action, actor = Action.PROVIDER_REJECT, world.provider
    before, state = row_counts(), order.state
    with pytest.raises(Invalid) as err:
        move(order, action, actor=actor, note=note)
    assert err.value.code == "reason_required" and err.value.status == 422
    assert row_counts() == before and Order.objects.get(pk=order.pk).state == state
    rejected = move(order, action, actor=actor, note="材料不全")
    assert rejected.state == State.REJECTED and rejected.decision_note == "材料不全"


def test_expected_state_mismatch_is_stale(world, filing_in_bureau):
    """A reviewer acting on an outdated page gets stale_state and nothing changes."""
    before = row_counts()
    with pytest.raises(Conflict) as err:
        move(filing_in_bureau, Action.BUREAU_APPROVE, actor=world.bureau, expected_state=P)
    assert err.value.code == "stale_state" and err.value.context["state"] == B
    assert row_counts() == before
    assert Order.objects.get(pk=filing_in_bureau.pk).state == B
    done = move(filing_in_bureau, Action.BUREAU_APPROVE, actor=world.bureau, expected_state=B)
    assert done.state == State.APPROVED
