"""Plain-dict renderings of subjects and orders for the API (and for pages that want the same facts)."""

from __future__ import annotations

from beian.core.http import language
from beian.orders.choices import KIND_EN, STATE_EN, Kind, State
from beian.orders.models import Order
from beian.orders.selectors import open_order_of, order_stages
from beian.orders.workflow import Action, legal_actions
from beian.registry.selectors import availability_dict, subject_actions
from beian.rules import natures, provinces


def _en() -> bool:
    return language().startswith("en")


def ref(obj) -> dict | None:
    if obj is None:
        return None
    return {"id": obj.pk, "number": obj.number, "name": obj.name}


def kind_label(kind: str) -> str:
    return KIND_EN[Kind(kind)] if _en() else Kind(kind).label


def state_label(state: str) -> str:
    return STATE_EN[State(state)] if _en() else State(state).label


def order_summary(order: Order) -> dict:
    return {
        "id": order.pk,
        "kind": order.kind,
        "kind_label": kind_label(order.kind),
        "state": order.state,
        "state_label": state_label(order.state),
        "subject": ref(order.subject),
        "website": ref(order.website),
        "eta": order.eta,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


PUBLIC_PAYLOAD_KEYS = {
    "fields",
    "remove_domains",
    "acknowledge_irreversible",
    "reason",
    "domain",
    "stops_serving",
    "subject_becomes_shell",
    "other_provider_serves",
    "offline",
}


def order_detail(order: Order) -> dict:
    return {
        **order_summary(order),
        "channel": order.channel,
        "verification": order.verification,
        "payload": {k: v for k, v in order.payload.items() if k in PUBLIC_PAYLOAD_KEYS},
        "eta_latest": order.eta_latest,
        "eta_note": order.eta_explanation,
        "eta_covered": order.eta_covered,
        "decided_at": order.decided_at,
        "decision_note": order.decision_note,
        "abandonable": Action.ABANDON in legal_actions(order),
        "stages": order_stages(order),
        "events": [
            {
                "at": e.at,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor_role": e.actor_role,
                "note": e.note,
            }
            for e in order.events.all()
        ],
    }


def subject_detail(subject, user) -> dict:
    actions = subject_actions(subject, user)
    lang = language()
    prov = provinces.by_code(subject.province)
    nature = natures.nature(subject.nature)
    blocking = open_order_of(subject)
    return {
        "id": subject.pk,
        "number": subject.number,
        "name": subject.name,
        "province": subject.province,
        "province_name": prov.name_en if _en() else prov.name,
        "nature": subject.nature,
        "nature_label": nature.name_en if _en() else nature.name,
        "status": subject.status,
        "is_shell": subject.is_shell,
        "open_order": order_summary(blocking) if blocking else None,
        "actions": {k: availability_dict(v, lang) for k, v in actions["subject"].items()},
        "websites": [
            {
                "id": site.pk,
                "number": site.number,
                "name": site.name,
                "homepage": site.homepage,
                "content_type": site.content_type,
                "status": site.status,
                "served_here": site.served_here,
                "is_shell": site.is_shell,
                "domains": [
                    {"name": d.name, "unicode": d.unicode, "status": d.status, "tld_approved": d.tld_approved}
                    for d in site.domains.all()
                ],
                "actions": {
                    k: availability_dict(v, lang) for k, v in actions["websites"].get(site.pk, {}).items()
                }
                or None,
            }
            for site in subject.websites.all()
        ],
    }


def preview_dict(preview) -> dict:
    return {
        "kind": preview.kind.value,
        "subject": preview.subject_id,
        "subject_number": preview.subject_number,
        "websites": preview.websites,
        "unapproved_tld_domains": preview.unapproved_tld_domains,
        "stops_serving": preview.stops_serving,
        "subject_becomes_shell": preview.subject_becomes_shell,
        "verification": str(preview.verification),
        "eta": preview.eta.expected if preview.eta else None,
        "eta_latest": preview.eta.latest if preview.eta else None,
        "eta_note": (preview.eta.basis_en if _en() else preview.eta.basis_zh) if preview.eta else "",
    }
