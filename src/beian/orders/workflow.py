"""The order workflow: one transition table and one function that applies a move.

Invariants (held here and by the database):

1. A subject has at most one open order (provider_review, awaiting_verification, bureau_review):
   a partial unique constraint on ``Order.subject`` plus the subject row lock taken below.
2. Only this module writes ``Order.state``. Every move happens in one transaction that re-reads the
   order and its subject under a row lock, checks the move against ``TRANSITIONS`` and the actor, and
   writes the new state, the OrderEvent, the AuditEntry, the FeedEntry rows of the registry effects and
   the OutboxMessage rows; a stale or illegal move raises ``Conflict`` and writes nothing.
3. Cancellations go straight to the bureau (after verification); ``cancel_access`` is decided by the
   provider alone unless ``BEIAN_CANCEL_ACCESS_NEEDS_BUREAU`` is set (the bureau's role is UNCONFIRMED).
4. The applicant may abandon only before the bureau; untouched orders expire after 45 days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import transaction

from beian.audit.services import audit_append
from beian.core import clock
from beian.core.errors import Conflict, Invalid, NotAllowed
from beian.notify.models import Channel as MessageChannel
from beian.notify.services import outbox_put
from beian.orders.choices import KIND_EN, STATE_EN, Kind, State
from beian.orders.models import Order, OrderEvent
from beian.rules import workdays


class Action(StrEnum):
    SUBMIT = "submit"
    PROVIDER_APPROVE = "provider_approve"
    PROVIDER_REJECT = "provider_reject"
    VERIFY = "verify"
    VERIFICATION_FAILED = "verification_failed"
    BUREAU_APPROVE = "bureau_approve"
    BUREAU_REJECT = "bureau_reject"
    ABANDON = "abandon"
    EXPIRE = "expire"
    REGISTER_OFFLINE = "register_offline"  # 线下注销: the bureau records a paper application


class Actor(StrEnum):
    APPLICANT = "applicant"  # the subject's owner
    PROVIDER = "provider"  # a provider reviewer
    BUREAU = "bureau"  # a bureau reviewer of the order's province
    SYSTEM = "system"  # the worker (expiry, verification timeouts)


class When(StrEnum):
    PASSWORD = "password"  # BEIAN_CANCELLATION_VERIFICATION=password (default)
    SMS = "sms"  # BEIAN_CANCELLATION_VERIFICATION=sms
    ACCESS_BY_PROVIDER = "access_by_provider"
    ACCESS_BY_BUREAU = "access_by_bureau"


FILING = frozenset(
    {Kind.NEW_FILING, Kind.ADD_WEBSITE, Kind.ADD_ACCESS, Kind.CHANGE_SUBJECT, Kind.CHANGE_WEBSITE}
)
CANCEL = frozenset({Kind.CANCEL_SUBJECT, Kind.CANCEL_WEBSITE})
ACCESS = frozenset({Kind.CANCEL_ACCESS})
ALL = FILING | CANCEL | ACCESS


@dataclass(frozen=True)
class Transition:
    kinds: frozenset[Kind]
    source: State | None  # None: the order does not exist yet (submission)
    action: Action
    target: State
    actor: Actor
    when: When | None = None


P, V, B = State.PROVIDER_REVIEW, State.AWAITING_VERIFICATION, State.BUREAU_REVIEW
TRANSITIONS: tuple[Transition, ...] = (
    Transition(FILING | ACCESS, None, Action.SUBMIT, P, Actor.APPLICANT),
    Transition(CANCEL, None, Action.SUBMIT, B, Actor.APPLICANT, When.PASSWORD),
    Transition(CANCEL, None, Action.SUBMIT, V, Actor.APPLICANT, When.SMS),
    Transition(CANCEL, None, Action.REGISTER_OFFLINE, B, Actor.BUREAU),
    Transition(FILING, P, Action.PROVIDER_APPROVE, B, Actor.PROVIDER),
    Transition(ACCESS, P, Action.PROVIDER_APPROVE, State.APPROVED, Actor.PROVIDER, When.ACCESS_BY_PROVIDER),
    Transition(ACCESS, P, Action.PROVIDER_APPROVE, B, Actor.PROVIDER, When.ACCESS_BY_BUREAU),
    Transition(FILING | ACCESS, P, Action.PROVIDER_REJECT, State.REJECTED, Actor.PROVIDER),
    Transition(CANCEL, V, Action.VERIFY, B, Actor.APPLICANT),
    Transition(CANCEL, V, Action.VERIFICATION_FAILED, State.REJECTED, Actor.SYSTEM),
    Transition(FILING | CANCEL | ACCESS, B, Action.BUREAU_APPROVE, State.APPROVED, Actor.BUREAU),
    Transition(FILING | CANCEL | ACCESS, B, Action.BUREAU_REJECT, State.REJECTED, Actor.BUREAU),
    Transition(ALL, P, Action.ABANDON, State.ABANDONED, Actor.APPLICANT),
    Transition(ALL, V, Action.ABANDON, State.ABANDONED, Actor.APPLICANT),
    Transition(ALL, P, Action.EXPIRE, State.EXPIRED, Actor.SYSTEM),
    Transition(ALL, V, Action.EXPIRE, State.EXPIRED, Actor.SYSTEM),
)

ACTION_LABELS = {
    Action.SUBMIT: ("提交订单", "submitted"),
    Action.PROVIDER_APPROVE: ("接入商初审通过", "approved by the provider"),
    Action.PROVIDER_REJECT: ("接入商初审驳回", "rejected by the provider"),
    Action.VERIFY: ("短信核验通过", "SMS verification passed"),
    Action.VERIFICATION_FAILED: (
        "短信核验未通过，订单已退回",
        "SMS verification failed; the order was returned",
    ),
    Action.BUREAU_APPROVE: ("管局审核通过", "approved by the bureau"),
    Action.BUREAU_REJECT: ("管局审核驳回", "rejected by the bureau"),
    Action.ABANDON: ("申请人放弃订单", "abandoned by the applicant"),
    Action.EXPIRE: ("订单超过 45 天未处理，已过期", "expired after 45 days untouched"),
    Action.REGISTER_OFFLINE: ("管局登记线下注销申请", "offline application registered by the bureau"),
}
REASON_REQUIRED = {Action.PROVIDER_REJECT, Action.BUREAU_REJECT, Action.VERIFICATION_FAILED}


def condition_holds(when: When | None) -> bool:
    if when is None:
        return True
    sms = settings.BEIAN_CANCELLATION_VERIFICATION == "sms"
    by_bureau = settings.BEIAN_CANCEL_ACCESS_NEEDS_BUREAU
    return {
        When.PASSWORD: not sms,
        When.SMS: sms,
        When.ACCESS_BY_PROVIDER: not by_bureau,
        When.ACCESS_BY_BUREAU: by_bureau,
    }[when]


def find_transition(kind: Kind | str, source: State | str | None, action: Action | str) -> Transition | None:
    for t in TRANSITIONS:
        if kind in t.kinds and t.source == source and t.action == action and condition_holds(t.when):
            return t
    return None


def legal_actions(order: Order) -> list[Action]:
    return [
        t.action
        for t in TRANSITIONS
        if order.kind in t.kinds and t.source == order.state and condition_holds(t.when)
    ]


def actor_may(actor_kind: Actor, user, order_province: str, owner_id: int) -> bool:
    """Can ``user`` act as ``actor_kind`` on an order of this province and subject owner?"""
    if actor_kind is Actor.SYSTEM:
        return user is None
    if user is None:
        return False
    if getattr(user, "is_superuser", False) or getattr(user, "role", "") == "admin":
        return True
    if actor_kind is Actor.APPLICANT:
        return user.pk == owner_id
    if actor_kind is Actor.PROVIDER:
        return user.role == "provider_reviewer"
    return user.role == "bureau_reviewer" and user.province == order_province


def illegal(order: Order | None, kind, state, action) -> Conflict:
    zh_state = State(state).label if state else "未提交"
    en_state = STATE_EN[State(state)] if state else "not submitted"
    return Conflict(
        "illegal_transition",
        f"订单当前状态为“{zh_state}”，不能执行“{ACTION_LABELS[Action(action)][0]}”",
        f"The order is {en_state}: it cannot be {ACTION_LABELS[Action(action)][1]}",
        order=order.pk if order else None,
        state=str(state) if state else None,
        action=str(action),
    )


def stage_eta(order: Order) -> None:
    """Set the ETA of the order's current stage from the working-day calendar."""
    if order.state not in (P, B):
        order.eta = order.eta_latest = None
        order.eta_note = "等待申请人完成短信核验" if order.state == V else ""
        order.eta_note_en = "Waiting for the applicant's SMS verification" if order.state == V else ""
        order.eta_covered = True
        return
    overrides = settings.BEIAN_BUREAU_REVIEW_DAYS
    typical = overrides.get(order.province, overrides.get("*")) if isinstance(overrides, dict) else None
    eta = workdays.review_eta(
        clock.today(),
        stage=workdays.Stage.PROVIDER if order.state == P else workdays.Stage.BUREAU,
        province=order.province,
        cancellation=order.kind in CANCEL,
        typical_workdays=typical,
    )
    order.eta, order.eta_latest, order.eta_covered = eta.expected, eta.latest, eta.covered
    order.eta_note, order.eta_note_en = eta.basis_zh[:300], eta.basis_en[:300]


def record(
    order: Order, action: Action, from_state: str, *, actor, note: str = "", data: dict | None = None
) -> OrderEvent:
    """Write the timeline event, the audit entry and the owner's notification of a move."""
    from beian.audit.services import actor_identity

    _, role = actor_identity(actor)
    event = OrderEvent.objects.create(
        order=order,
        at=clock.now(),
        actor=actor,
        actor_role=role,
        action=action,
        from_state=from_state or "",
        to_state=order.state,
        note=note,
        data=data or {},
    )
    audit_append(
        actor=actor,
        action=f"order.{action}",
        obj=order,
        data={
            "kind": order.kind,
            "subject": order.subject_id,
            "from": from_state or None,
            "to": order.state,
            "note": note,
            **(data or {}),
        },
    )
    owner = order.subject.owner
    label_zh, label_en = ACTION_LABELS[action]
    kind = Kind(order.kind)
    body = (
        f"您的备案订单 #{order.pk}（{kind.label}，{order.subject.name}）：{label_zh}。当前状态：{State(order.state).label}。"
        + (f"\n说明：{note}" if note else "")
        + f"\n\nOrder #{order.pk} ({KIND_EN[kind]}): {label_en}. Now: {STATE_EN[State(order.state)]}."
    )
    outbox_put(
        channel=MessageChannel.EMAIL,
        recipient=owner.email,
        template=f"order_{action}",
        subject=f"[备案] 订单 #{order.pk} {label_zh}",
        body=body,
        order=order,
    )
    return event


def move(
    order: Order | int,
    action: Action | str,
    *,
    actor,
    note: str = "",
    expected_state: str | None = None,
    data: dict | None = None,
    still: Callable[[Order], bool] | None = None,
) -> Order:
    """Apply ``action`` to ``order`` as ``actor`` (a user, or None for the system). See the module docstring."""
    from beian.orders.services.effects import on_approved, on_closed
    from beian.registry.models import Subject

    action = Action(action)
    order_id = order if isinstance(order, int) else order.pk
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("subject__owner").get(pk=order_id)
        Subject.objects.select_for_update().filter(
            pk=order.subject_id
        ).first()  # lock: serialise with submissions
        if expected_state is not None and order.state != expected_state:
            raise Conflict(
                "stale_state",
                f"订单状态已变为“{State(order.state).label}”，请刷新后重试",
                f"The order is now {STATE_EN[State(order.state)]}; reload and try again",
                order=order.pk,
                state=order.state,
            )
        if still is not None and not still(order):
            # A job chose the order by a read taken before the lock: the reason no longer holds.
            raise Conflict(
                "changed_meanwhile",
                "订单已有新的操作，请刷新后重试",
                "The order changed meanwhile; reload and try again",
                order=order.pk,
                state=order.state,
            )
        transition = find_transition(order.kind, order.state, action)
        if transition is None:
            raise illegal(order, order.kind, order.state, action)
        if not actor_may(transition.actor, actor, order.province, order.subject.owner_id):
            raise NotAllowed(
                "not_allowed",
                "您无权对该订单执行此操作",
                "You are not allowed to do this to the order",
                order=order.pk,
            )
        note = (note or "").strip()
        if action in REASON_REQUIRED and not note:
            raise Invalid(
                "reason_required", "驳回时必须填写原因", "A reason is required to reject", order=order.pk
            )
        if len(note) > 2000:
            raise Invalid("note_too_long", "说明最多 2000 个字符", "The note is 2000 characters at most")
        from_state = order.state
        now = clock.now()
        order.state = transition.target
        order.updated_at = order.stage_entered_at = now
        effect_data: dict = {}
        if transition.target in (State.APPROVED, State.REJECTED):
            order.decided_at, order.decided_by, order.decision_note = now, actor, note
        if transition.target == State.APPROVED:
            effect_data = on_approved(order, actor=actor) or {}
        elif transition.target in (State.REJECTED, State.ABANDONED, State.EXPIRED):
            on_closed(order, actor=actor)
        stage_eta(order)
        order.save()
        record(order, action, from_state, actor=actor, note=note, data={**(data or {}), **effect_data})
    return order


def diagram() -> str:
    """The state diagram drawn from ``TRANSITIONS`` (Mermaid), for docs/workflow.md."""
    lines = ["stateDiagram-v2"]
    for t in TRANSITIONS:
        kinds = "all kinds" if t.kinds == ALL else ", ".join(sorted(k.value for k in t.kinds))
        when = f" [{t.when.value}]" if t.when else ""
        source = "[*]" if t.source is None else t.source.value
        lines.append(
            f"    {source} --> {t.target.value}: {t.action.value} by {t.actor.value}{when} ({kinds})"
        )
    for final in (State.APPROVED, State.REJECTED, State.ABANDONED, State.EXPIRED):
        lines.append(f"    {final.value} --> [*]")
    return "\n".join(lines)
