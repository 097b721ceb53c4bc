"""The outbox: mail and SMS written in the transaction of the change they announce, delivered after
commit by ``beian worker``. A message carrying a secret (a filing password, a reset link, an SMS code)
has its body redacted once delivered."""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "邮件"
    SMS = "sms", "短信"


class Status(models.TextChoices):
    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


REDACTED = "[已在发送后删除 / removed after delivery]"


class OutboxMessage(models.Model):
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    template = models.CharField(max_length=64)  # what it is about: order_submitted, filing_password_issued …
    sensitive = models.BooleanField(default=False)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "beian_outbox"
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notify_outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.template} ({self.status})"


class DeliveryAttempt(models.Model):
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="delivery_attempts")
    at = models.DateTimeField()
    ok = models.BooleanField()
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "beian_outbox_attempt"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.message_id} {'ok' if self.ok else 'failed'} {self.at:%Y-%m-%d %H:%M:%S}"
