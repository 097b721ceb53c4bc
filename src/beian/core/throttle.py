"""Token-bucket throttling for the sensitive endpoints (filing password, recovery, SMS codes, sign-in).

The bucket lives in the database so that every worker process sees the same count, and each hit
commits in its own transaction: a refused attempt still counts.
"""

from __future__ import annotations

import math

from django.db import transaction

from beian.core import clock
from beian.core.errors import Throttled
from beian.core.models import ThrottleBucket


def throttle_hit(
    key: str, *, capacity: int, per_seconds: float, what_zh: str = "尝试", what_en: str = "attempts"
) -> None:
    """Take one token from bucket ``key`` (``capacity`` tokens refilled over ``per_seconds``) or raise 429."""
    rate = capacity / per_seconds
    now = clock.now()
    with transaction.atomic():
        bucket = ThrottleBucket.objects.select_for_update().filter(key=key[:200]).first()
        if bucket is None:
            ThrottleBucket.objects.create(key=key[:200], tokens=capacity - 1, updated_at=now)
            return
        tokens = min(capacity, bucket.tokens + max(0.0, (now - bucket.updated_at).total_seconds()) * rate)
        if tokens < 1:
            retry_after = max(1, math.ceil((1 - tokens) / rate))
            bucket.tokens, bucket.updated_at = tokens, now
            bucket.save(update_fields=["tokens", "updated_at"])
            raise Throttled(
                "throttled",
                f"{what_zh}过于频繁，请 {retry_after} 秒后再试",
                f"Too many {what_en}; try again in {retry_after} seconds",
                retry_after=retry_after,
            )
        bucket.tokens, bucket.updated_at = tokens - 1, now
        bucket.save(update_fields=["tokens", "updated_at"])
