"""Orders (备案订单) and their timeline. States are written only by ``orders.workflow``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from beian.orders.choices import KIND_EN, OPEN_STATES, STATE_EN, Channel, Kind, State, Verification


class Order(models.Model):
    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject = models.ForeignKey("registry.Subject", on_delete=models.PROTECT, related_name="orders")
    website = models.ForeignKey(
        "registry.Website", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    state = models.CharField(max_length=24, choices=State.choices)
    province = models.CharField(max_length=2)  # the subject's, copied so queues filter without a join
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    payload = models.JSONField(default=dict, blank=True)  # the requested change, validated at submission
    verification = models.CharField(max_length=10, choices=Verification.choices, default=Verification.NONE)
    # SMS verification (短信核验): code hash, when it was sent, wrong entries so far
    sms_code_hash = models.CharField(max_length=200, blank=True, default="")
    sms_sent_at = models.DateTimeField(null=True, blank=True)
    sms_failures = models.PositiveSmallIntegerField(default=0)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders_submitted"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders_decided",
    )
    decision_note = models.TextField(blank=True, default="")
    eta = models.DateField(null=True, blank=True)
    eta_latest = models.DateField(null=True, blank=True)
    eta_note = models.CharField(max_length=300, blank=True, default="")
    eta_note_en = models.CharField(max_length=300, blank=True, default="")
    eta_covered = models.BooleanField(default=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()  # last touched: expiry counts from here
    stage_entered_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "beian_order"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject"],
                condition=Q(state__in=[s.value for s in OPEN_STATES]),
                name="%(app_label)s_%(class)s_one_open_per_subject",
            ),
        ]
        indexes = [models.Index(fields=["state", "province", "stage_entered_at"], name="orders_queue_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def kind_en(self) -> str:
        return KIND_EN[Kind(self.kind)]

    @property
    def state_en(self) -> str:
        return STATE_EN[State(self.state)]

    @property
    def state_badge(self) -> str:
        return State(self.state).badge

    @property
    def eta_explanation(self) -> str:
        """How the ETA was worked out, in the request's language."""
        from django.utils.translation import get_language

        return (
            (self.eta_note_en or self.eta_note) if (get_language() or "").startswith("en") else self.eta_note
        )


class OrderEvent(models.Model):
    """One step of an order's timeline, as the applicant reads it."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    actor_role = models.CharField(
        max_length=32
    )  # applicant / provider_reviewer / bureau_reviewer / admin / system
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=24, blank=True, default="")
    to_state = models.CharField(max_length=24)
    note = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "beian_order_event"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.action} {self.from_state}->{self.to_state}"

    @property
    def to_state_label(self) -> str:
        from django.utils.translation import get_language

        state = State(self.to_state)
        return STATE_EN[state] if (get_language() or "").startswith("en") else state.label

    @property
    def action_label(self) -> str:
        from django.utils.translation import get_language

        from beian.orders.workflow import ACTION_LABELS, Action

        zh, en = ACTION_LABELS[Action(self.action)]
        return en if (get_language() or "").startswith("en") else zh
