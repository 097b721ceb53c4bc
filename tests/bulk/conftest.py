"""Helpers for the bulk import/export suites: synthetic files, a canonical dump of the registry, a wipe."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from beian.lookup import synth

FIXED_NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


def write_synth(path: Path, count: int, seed: int = 1) -> Path:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        synth.write(out, count, seed)
    return path


def write_lines(path: Path, items: list) -> Path:
    """Each item: a dict (dumped as JSON) or a str (written as it is)."""
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for item in items:
            out.write((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n")
    return path


def _t(value):
    return value.astimezone(dt.UTC).isoformat() if isinstance(value, dt.datetime) else value


def registry_dump(*, feed: bool = False, audit: bool = False) -> dict:
    """The registry keyed by numbers and names (never ids): equal dumps mean equal registries."""
    from beian.audit.models import AuditEntry
    from beian.core.models import Counter
    from beian.gate.models import FeedEntry
    from beian.registry.models import Domain, Subject, Website
    from tests.factories import served_domains_in_db

    skip = {"id", "owner"}
    subject_fields = [f.attname for f in Subject._meta.concrete_fields if f.name not in skip]
    website_fields = [f.attname for f in Website._meta.concrete_fields if f.name not in {"id", "subject"}]
    domain_fields = [f.attname for f in Domain._meta.concrete_fields if f.name not in {"id", "website"}]
    dump = {
        "subjects": {
            row["number"]: {k: _t(v) for k, v in row.items()}
            for row in Subject.objects.values(*subject_fields, "owner__username", "owner__role")
        },
        "websites": {
            row["number"]: {k: _t(v) for k, v in row.items()}
            for row in Website.objects.values(*website_fields, "subject__number")
        },
        "domains": sorted(
            tuple((k, str(_t(v))) for k, v in row.items())
            for row in Domain.objects.values(*domain_fields, "website__number")
        ),
        "served": sorted(served_domains_in_db()),
        "counters": dict(
            Counter.objects.filter(name__startswith="subject-number:").values_list("name", "value")
        ),
    }
    if feed:
        dump["feed"] = [
            (e["seq"], _t(e["at"]), e["domain"], e["action"], e["reason"], e["website__number"])
            for e in FeedEntry.objects.order_by("seq").values(
                "seq", "at", "domain", "action", "reason", "website__number"
            )
        ]
    if audit:
        dump["audit"] = list(AuditEntry.objects.order_by("seq").values_list("seq", "action", "data", "hash"))
    return dump


def wipe_registry() -> None:
    """Back to an empty database (the tables a registry import writes)."""
    from beian.accounts.models import User
    from beian.audit.models import AuditEntry
    from beian.core.models import Counter
    from beian.gate.models import FeedEntry
    from beian.registry.models import Domain, Subject, Website

    for model in (FeedEntry, Domain, Website, Subject, User, AuditEntry, Counter):
        model.objects.all().delete()


@pytest.fixture
def frozen_clock(monkeypatch):
    """Service time stands still: two imports of the same file write the same timestamps."""
    from beian.core import clock

    monkeypatch.setattr(clock, "now", lambda: FIXED_NOW)
    return FIXED_NOW
