"""Writing the change feed (the gate process that reads it comes with the enforcement issue)."""

from __future__ import annotations

from django.db import connection

from beian.core import clock
from beian.core.models import next_value
from beian.gate.models import FeedAction, FeedEntry


def feed_append(*, domain: str, action: FeedAction, reason: str, website=None, order=None) -> FeedEntry:
    """Record that ``domain`` starts (allow) or stops (deny) being served; inside the approving transaction.

    On PostgreSQL the transaction also NOTIFYs ``beian_feed``: delivered on commit (and folded into one
    notification per transaction), it wakes every gate at once.
    """
    entry = FeedEntry.objects.create(
        seq=next_value("feed"),
        at=clock.now(),
        domain=domain,
        action=action,
        website=website,
        order=order,
        reason=reason,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_notify('beian_feed', '')")
    return entry


def served_set_from_feed() -> set[str]:
    """Replay the whole feed: the domains whose last entry is ``allow``."""
    served: set[str] = set()
    for domain, action in (
        FeedEntry.objects.order_by("seq").values_list("domain", "action").iterator(chunk_size=5000)
    ):
        if action == FeedAction.ALLOW:
            served.add(domain)
        else:
            served.discard(domain)
    return served
