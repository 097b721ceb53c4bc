"""Appending to and verifying the hash-chained audit log.

Each entry's hash is SHA-256 over the canonical JSON of its fields and the previous entry's hash, so a
row modified, deleted or moved breaks the chain at that row. Positions come from ``core.Counter``
inside the caller's transaction: appends are serialised and gapless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from beian.audit.models import AuditEntry
from beian.core import clock
from beian.core.models import current_value, next_value

GENESIS = "0" * 64
COUNTER = "audit"


def _canonical(
    seq: int,
    at: dt.datetime,
    actor: str,
    actor_role: str,
    action: str,
    object_type: str,
    object_id: str,
    data: Any,
    prev_hash: str,
) -> bytes:
    body = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_role": actor_role,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(
        _canonical(
            entry.seq,
            entry.at,
            entry.actor,
            entry.actor_role,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.data,
            entry.prev_hash,
        )
    ).hexdigest()


def audit_append(
    *,
    actor,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    data: dict | None = None,
) -> AuditEntry:
    """Append one entry; call inside the transaction that makes the change it records."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
    username, role = actor_identity(actor)
    seq = next_value(COUNTER)
    prev = (
        AuditEntry.objects.filter(seq=seq - 1).values_list("hash", flat=True).first() if seq > 1 else GENESIS
    )
    entry = AuditEntry(
        seq=seq,
        at=clock.now(),
        actor=username,
        actor_role=role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=json.loads(json.dumps(data or {}, ensure_ascii=False, default=str)),
        prev_hash=prev or GENESIS,
    )
    entry.hash = entry_hash(entry)
    entry.save()
    return entry


def actor_identity(actor) -> tuple[str, str]:
    if actor is None:
        return "system", "system"
    role = "admin" if getattr(actor, "is_superuser", False) else getattr(actor, "role", "system")
    return actor.get_username(), role


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


def audit_verify() -> VerifyResult:
    """Walk the chain; name the first row that was modified, deleted, inserted or reordered."""
    expected_seq, prev, before_prev = 1, GENESIS, None
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                expected_seq,
                f"entry {expected_seq} is missing (next present is {entry.seq}): deleted",
            )
        if entry.prev_hash != prev:
            # It follows the entry two back: the one between was slipped in (and those after renumbered).
            if entry.prev_hash == before_prev:
                return VerifyResult(
                    False,
                    checked - 1,
                    entry.seq - 1,
                    f"entry {entry.seq - 1} was inserted: entry {entry.seq} follows "
                    + (f"entry {entry.seq - 2}" if entry.seq > 2 else "the start of the log"),
                )
            return VerifyResult(
                False,
                checked,
                entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1}: reordered or its predecessor altered",
            )
        if entry_hash(entry) != entry.hash:
            return VerifyResult(
                False, checked, entry.seq, f"entry {entry.seq} was modified after it was written"
            )
        before_prev, prev, expected_seq = prev, entry.hash, expected_seq + 1
        checked += 1
    head = current_value(COUNTER)
    if checked > head:  # more entries than were ever appended: the ones past the counter were added by hand
        return VerifyResult(
            False,
            head,
            head + 1,
            f"entry {head + 1} was inserted: the log holds {checked} entries but only {head} were written",
        )
    if head != checked:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"the log ends at entry {checked} but {head} were written: the last entries were deleted",
        )
    return VerifyResult(True, checked)
