"""The append-only audit log: each row carries the hash of the previous one (a hash chain)."""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    seq = models.BigIntegerField(unique=True)  # 1, 2, 3 … without gaps (drawn from core.Counter "audit")
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)  # username, or "system"
    actor_role = models.CharField(max_length=32)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "beian_audit_entry"
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.seq} {self.actor} {self.action} {self.object_type}:{self.object_id}"
