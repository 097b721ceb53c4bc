"""The change feed: every change to the set of domains this provider may serve, in commit order.

Rows are written in the transaction that approves the change; ``seq`` comes from ``core.Counter``
("feed"), so a reader that polls ``seq > last_seen`` never misses a row committed later with a lower
number. Replaying the feed from the start gives exactly the served set.
"""

from __future__ import annotations

from django.db import models


class FeedAction(models.TextChoices):
    ALLOW = "allow", "允许接入"
    DENY = "deny", "停止接入"


class FeedEntry(models.Model):
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    domain = models.CharField(max_length=253)  # A-label
    action = models.CharField(max_length=8, choices=FeedAction.choices)
    website = models.ForeignKey("registry.Website", on_delete=models.PROTECT, null=True, blank=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, null=True, blank=True)
    reason = models.CharField(max_length=32)  # new_filing, cancel_subject, change_website …

    class Meta:
        db_table = "beian_feed"
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.seq} {self.action} {self.domain}"
