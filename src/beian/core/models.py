"""Counters that hand out numbers inside the caller's transaction (subject numbers, audit and feed positions).

``next_value`` increments with one UPDATE … RETURNING, so the row stays locked until the caller's
transaction commits: two transactions drawing from the same counter are serialised, numbers are never
reused and commit order follows number order (what a feed reader polling ``seq > last`` relies on).
"""

from __future__ import annotations

from django.db import connection, models


class Counter(models.Model):
    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "beian_counter"

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


def next_value(name: str) -> int:
    """The next value of counter ``name`` (1 for a new counter). Call inside ``transaction.atomic``."""
    table = Counter._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET value = value + 1 WHERE name = %s RETURNING value", [name])
        row = cur.fetchone()
        if row is None:
            # First use: create it. A concurrent creator makes this INSERT conflict; then the UPDATE wins.
            cur.execute(
                f"INSERT INTO {table} (name, value) VALUES (%s, 1) ON CONFLICT (name) DO UPDATE SET value = {table}.value + 1 RETURNING value",
                [name],
            )
            row = cur.fetchone()
    return int(row[0])


def current_value(name: str) -> int:
    row = Counter.objects.filter(name=name).values_list("value", flat=True).first()
    return int(row or 0)


class ThrottleBucket(models.Model):
    """A token bucket per key (``password-ip:1.2.3.4``…), shared by every worker through the database."""

    key = models.CharField(max_length=200, primary_key=True)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "beian_throttle"

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.1f}"


def raise_counter(name: str, at_least: int) -> None:
    """Make sure counter ``name`` is at least ``at_least`` (numbers brought in from outside are never issued again)."""
    table = Counter._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
            f"SET value = CASE WHEN {table}.value < excluded.value THEN excluded.value ELSE {table}.value END",
            [name, at_least],
        )
