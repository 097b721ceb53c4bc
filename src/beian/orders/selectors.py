"""Reads of orders: visibility, review queues, and the stages of an order's progress bar."""

from __future__ import annotations

from django.db.models import QuerySet

from beian.core.errors import Invalid, NotAllowed, not_found
from beian.orders.choices import CANCELLATION_KINDS, OPEN_STATES, Kind, State
from beian.orders.models import Order


def open_order_of(subject) -> Order | None:
    """The subject's open order (at most one). Remembered on the instance: a subject object lives for one
    page or one locked service call, and a page asks every action's guards about the same open order."""
    if "_open_order" not in subject.__dict__:
        subject.__dict__["_open_order"] = Order.objects.filter(subject=subject, state__in=OPEN_STATES).first()
    return subject.__dict__["_open_order"]


def orders_visible_to(user) -> QuerySet[Order]:
    qs = Order.objects.select_related("subject", "website", "subject__owner")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_admin_role or user.role == "provider_reviewer":
        return qs
    if user.role == "bureau_reviewer":
        return qs.filter(province=user.province)
    return qs.filter(subject__owner=user)


def order_get(user, order_id: int) -> Order:
    order = orders_visible_to(user).filter(pk=order_id).first()
    if order is None:
        raise not_found("订单", "The order", order=order_id)
    return order


def review_queue(user, stage: str) -> QuerySet[Order]:
    """Orders waiting for ``user``'s decision, oldest first: provider stage or the bureau of their province."""
    if stage not in ("provider", "bureau"):
        raise Invalid(
            "bad_stage", "stage 只能是 provider 或 bureau", "stage is provider or bureau", field="stage"
        )
    admin = user.is_superuser or user.role == "admin"
    if stage == "provider":
        if not (admin or user.role == "provider_reviewer"):
            raise NotAllowed(
                "not_reviewer",
                "只有接入商审核员可以查看初审队列",
                "Only provider reviewers see the provider queue",
            )
        qs = Order.objects.filter(state=State.PROVIDER_REVIEW)
    else:
        if not (admin or user.role == "bureau_reviewer"):
            raise NotAllowed(
                "not_reviewer",
                "只有管局审核员可以查看管局审核队列",
                "Only bureau reviewers see the bureau queue",
            )
        qs = Order.objects.filter(state=State.BUREAU_REVIEW)
        if not admin:
            qs = qs.filter(province=user.province)
    return qs.select_related("subject", "website").order_by("stage_entered_at", "id")


def is_reviewer(user) -> bool:
    return user.is_admin_role or user.role in ("provider_reviewer", "bureau_reviewer")


def reviewable_order(user, order_id: int) -> Order:
    """An order a reviewer may look at (a bureau only its province's: others are 404). Whether this
    reviewer may decide it now is the workflow's answer (403 or 409)."""
    if not is_reviewer(user):
        raise NotAllowed("not_reviewer", "只有审核员可以审核订单", "Only reviewers decide orders")
    return order_get(user, order_id)


STAGES = (
    ("submitted", "提交", "Submitted"),
    ("provider_review", "接入商初审", "Provider review"),
    ("awaiting_verification", "短信核验", "SMS verification"),
    ("bureau_review", "管局审核", "Bureau review"),
    ("done", "完成", "Done"),
)


def order_stages(order: Order) -> list[dict]:
    """The progress bar: the stages this order goes through, each done / current / upcoming / skipped."""
    kind = Kind(order.kind)
    applies = {
        "submitted": True,
        "provider_review": kind not in CANCELLATION_KINDS and order.channel == "online",
        "awaiting_verification": order.verification == "sms",
        "bureau_review": not (
            kind == Kind.CANCEL_ACCESS
            and order.state != State.BUREAU_REVIEW
            and not order.events.filter(to_state=State.BUREAU_REVIEW).exists()
        ),
        "done": True,
    }
    reached = set(order.events.values_list("to_state", flat=True))
    order_index = [s[0] for s in STAGES]
    current = order.state if order.is_open else "done"
    out = []
    for key, zh, en in STAGES:
        if not applies[key]:
            status = "skipped"
        elif key == current:
            status = "current" if order.is_open else ("done" if order.state == State.APPROVED else "stopped")
        elif key == "submitted" or key in reached or order_index.index(key) < order_index.index(current):
            status = "done"
        else:
            status = "upcoming"
        out.append({"key": key, "label": zh, "label_en": en, "status": status})
    return out
