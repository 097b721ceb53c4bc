"""Periodic order jobs run by ``beian worker``: reminders, 45-day expiry, expired SMS codes."""

from __future__ import annotations

import datetime as dt
import logging
import math

from django.conf import settings
from django.db import transaction

from beian.core import clock
from beian.core.errors import ServiceError
from beian.notify.models import Channel
from beian.notify.services import outbox_put
from beian.orders.choices import Kind, State
from beian.orders.models import Order
from beian.orders.verification import SMS_CODE_TTL, return_expired
from beian.orders.workflow import Action, move

log = logging.getLogger(__name__)
UNTOUCHED_STATES = (State.PROVIDER_REVIEW, State.AWAITING_VERIFICATION)


def expire_untouched_orders() -> int:
    """Orders untouched for BEIAN_ORDER_EXPIRY_DAYS (45) before the bureau expire; reminders on days 30 and 40."""
    now = clock.now()
    expired = 0
    cutoff = now - dt.timedelta(days=settings.BEIAN_ORDER_EXPIRY_DAYS)
    for order_id in Order.objects.filter(state__in=UNTOUCHED_STATES, updated_at__lte=cutoff).values_list(
        "id", flat=True
    ):
        try:
            move(
                order_id,
                Action.EXPIRE,
                actor=None,
                note=f"订单超过 {settings.BEIAN_ORDER_EXPIRY_DAYS} 天未处理，已自动过期",
                still=lambda locked: locked.updated_at <= cutoff,  # not touched since it was chosen
            )
            expired += 1
        except ServiceError as exc:  # moved meanwhile: nothing to do
            log.info("order %s not expired: %s", order_id, exc.code)
    # Reminders: only the latest one due (a worker that was down does not send a stale day-30 notice on day 41).
    days = settings.BEIAN_ORDER_REMINDER_DAYS
    for index in range(len(days), 0, -1):
        day = days[index - 1]
        due = Order.objects.filter(
            state__in=UNTOUCHED_STATES, updated_at__lte=now - dt.timedelta(days=day), reminders_sent__lt=index
        )
        for order in due.select_related("subject__owner"):
            # Claim the reminder and queue it in one transaction: a worker killed in between leaves neither
            # (so the next run sends it once, not twice), and of two workers only one claims it.
            with transaction.atomic():
                claimed = Order.objects.filter(pk=order.pk, reminders_sent__lt=index).update(
                    reminders_sent=index
                )
                if not claimed:
                    continue
                remaining = order.updated_at + dt.timedelta(days=settings.BEIAN_ORDER_EXPIRY_DAYS) - now
                left = max(1, math.ceil(remaining.total_seconds() / 86400))
                idle = (now - order.updated_at).days
                outbox_put(
                    channel=Channel.EMAIL,
                    recipient=order.subject.owner.email,
                    template="order_reminder",
                    subject=f"[备案] 订单 #{order.pk} 将在 {left} 天后过期",
                    body=f"您的备案订单 #{order.pk}（{Kind(order.kind).label}）已 {idle} 天未处理，{left} 天后将自动过期。",
                    order=order,
                )
    return expired


def return_expired_codes() -> int:
    """SMS codes live 24 hours: an order still awaiting verification after that is returned."""
    cutoff = clock.now() - SMS_CODE_TTL
    returned = 0
    for order_id in Order.objects.filter(
        state=State.AWAITING_VERIFICATION, sms_sent_at__lte=cutoff
    ).values_list("id", flat=True):
        try:
            return_expired(order_id)
            returned += 1
        except ServiceError as exc:
            log.info("order %s not returned: %s", order_id, exc.code)
    return returned
