"""Queueing messages in the outbox (inside the caller's transaction) and delivering them after commit.

Delivery is at least once: a message is sent, then marked sent in the same transaction, so a worker killed
between the two sends it again on its next round (never zero times). Each copy carries the outbox row's id
(the SMS record's ``id``; a mail's ``Message-ID``, fixed per row) so that the receiving side can drop the
duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction

from beian.core import clock
from beian.notify.backends import send_sms
from beian.notify.models import REDACTED, Channel, DeliveryAttempt, OutboxMessage, Status

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def outbox_put(
    *,
    channel: Channel,
    recipient: str,
    template: str,
    body: str,
    subject: str = "",
    order=None,
    sensitive: bool = False,
) -> OutboxMessage | None:
    """Queue a message; call inside the transaction of the change it announces. No recipient: nothing queued."""
    if not recipient:
        return None
    now = clock.now()
    return OutboxMessage.objects.create(
        channel=channel,
        recipient=recipient,
        template=template,
        subject=subject,
        body=body,
        order=order,
        sensitive=sensitive,
        next_attempt_at=now,
        created_at=now,
    )


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def message_id(message: OutboxMessage) -> str:
    """The mail Message-ID of an outbox row: the same on every attempt (Django would draw a new one each
    time), so a copy sent again after a crash is recognisable as the same message."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<beian-outbox-{message.pk}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def _deliver(message: OutboxMessage) -> None:
    if message.channel == Channel.EMAIL:
        EmailMessage(
            message.subject or "beian",
            message.body,
            settings.DEFAULT_FROM_EMAIL,
            [message.recipient],
            headers={"Message-ID": message_id(message)},
        ).send()
    else:
        send_sms(to=message.recipient, text=message.body, message_id=message.pk)


def outbox_deliver_due(*, limit: int = 100) -> tuple[int, int]:
    """Deliver due messages; returns (sent, failed attempts). Each message is claimed under a row lock
    (``SKIP LOCKED`` on PostgreSQL, so several workers share the work)."""
    sent = failed = 0
    for _ in range(limit):
        with transaction.atomic():
            qs = OutboxMessage.objects.filter(
                status=Status.PENDING, next_attempt_at__lte=clock.now()
            ).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            message = qs.first()
            if message is None:
                break
            now = clock.now()
            message.attempts += 1
            try:
                _deliver(message)
            except Exception as exc:  # any backend failure is recorded and retried with backoff
                log.warning("outbox %s: delivery failed: %s", message.pk, exc)
                failed += 1
                message.last_error = str(exc)[:2000]
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = Status.FAILED
                    if message.sensitive:
                        message.body = REDACTED  # never keep a secret that was not delivered either
                else:
                    message.next_attempt_at = now + _backoff(message.attempts)
                DeliveryAttempt.objects.create(message=message, at=now, ok=False, error=message.last_error)
            else:
                sent += 1
                message.status = Status.SENT
                message.sent_at = now
                message.last_error = ""
                if message.sensitive:
                    message.body = REDACTED
                DeliveryAttempt.objects.create(message=message, at=now, ok=True)
            message.save()
    return sent, failed
