"""The reviewers' queues and dashboards: age in working days, overdue marks, Hunan's Friday batches."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db.models import QuerySet
from django.utils import timezone

from beian.core import clock
from beian.orders.choices import CANCELLATION_KINDS, State
from beian.orders.models import Order, OrderEvent
from beian.rules import provinces, workdays

AGE_BUCKETS = ((0, 1, "0–1"), (2, 5, "2–5"), (6, 10, "6–10"), (11, 20, "11–20"), (21, 10**6, ">20"))


def queue_rows(orders: QuerySet[Order]) -> list[dict]:
    today = clock.today()
    rows = []
    for order in orders:
        entered = timezone.localdate(order.stage_entered_at)
        rows.append(
            {
                "order": order,
                "entered": entered,
                "age_workdays": workdays.workdays_between(entered, today),
                "overdue": bool(order.eta and today > order.eta),
                "batch": _batch(order, entered),
            }
        )
    return rows


def _batch(order: Order, entered: dt.date) -> dt.date | None:
    """Hunan processes online cancellation applications every Friday: the batch this order belongs to."""
    if (
        order.state == State.BUREAU_REVIEW
        and order.kind in CANCELLATION_KINDS
        and provinces.by_code(order.province).friday_batch
    ):
        return workdays.next_friday_batch(entered).date
    return None


def group_by_batch(rows: list[dict]) -> list[tuple[dt.date | None, list[dict]]]:
    groups: dict = defaultdict(list)
    for row in rows:
        groups[row["batch"]].append(row)
    return sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or dt.date.max))


def age_histogram(rows: list[dict]) -> list[tuple[str, int]]:
    counts = Counter()
    for row in rows:
        for low, high, label in AGE_BUCKETS:
            if low <= row["age_workdays"] <= high:
                counts[label] += 1
    return [(label, counts[label]) for _, _, label in AGE_BUCKETS]


def decisions_per_day(*, stage: str, province: str | None, days: int = 30) -> list[tuple[dt.date, int, int]]:
    """(day, approved, rejected) for the last ``days`` days at this stage (and province, for a bureau)."""
    today = clock.today()
    start = today - dt.timedelta(days=days - 1)
    actions = (
        ("provider_approve", "provider_reject")
        if stage == "provider"
        else ("bureau_approve", "bureau_reject")
    )
    events = OrderEvent.objects.filter(action__in=actions, at__date__gte=start - dt.timedelta(days=1))
    if province:
        events = events.filter(order__province=province)
    tally: dict[dt.date, list[int]] = {start + dt.timedelta(days=i): [0, 0] for i in range(days)}
    for at, action in events.values_list("at", "action"):
        day = timezone.localdate(at)
        if day in tally:
            tally[day][0 if action.endswith("approve") else 1] += 1
    return [(day, a, r) for day, (a, r) in sorted(tally.items())]
