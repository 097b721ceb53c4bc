"""My subjects (我的备案) and a subject's page: numbers, websites, the open order, and every action with
its availability, reason and way out (from the same guards the services use)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _l

from beian.core.http import language
from beian.orders.choices import OPEN_STATES
from beian.orders.models import Order
from beian.orders.selectors import open_order_of, order_stages
from beian.orders.services.common import cancellation_form_url
from beian.registry.selectors import subject_actions, subject_get, subjects_visible_to
from beian.rules import natures, provinces
from beian.web.errors import service_errors_as_404

ACTION_LABELS = {
    "cancel_subject": (_l("注销主体"), "danger"),
    "add_website": (_l("新增网站"), "secondary"),
    "change_subject": (_l("变更主体信息"), "secondary"),
    "cancel_website": (_l("注销网站"), "danger"),
    "change_website": (_l("变更网站信息"), "secondary"),
    "cancel_access": (_l("取消接入"), "secondary"),
    "add_access": (_l("接入备案"), "secondary"),
}
ACTION_URLS = {
    "cancel_subject": "subject_cancel",
    "add_website": "subject_add_website",
    "change_subject": "subject_change",
    "cancel_website": "website_cancel",
    "change_website": "website_change",
    "cancel_access": "website_cancel_access",
    "add_access": "website_add_access",
}


def action_rows(availabilities: dict, object_id: int, en: bool) -> list[dict]:
    """Each action as the page shows it: a button, or a disabled button with the reason and the way out."""
    rows = []
    for kind, a in availabilities.items():
        if a.reason == "already_served_here":
            continue  # 接入备案 is only an action for a website not served here
        label, style = ACTION_LABELS[kind]
        context = a.context or {}
        rows.append(
            {
                "kind": kind,
                "label": label,
                "style": style,
                "url": reverse(ACTION_URLS[kind], args=[object_id]),
                "allowed": a.allowed,
                "reason": a.reason,
                "message": (a.message_en if en else a.message) if not a.allowed else "",
                "blocking_order": a.blocking_order,
                "abandonable": context.get("abandonable", False),
                "offline_guide": context.get("offline_guide"),
            }
        )
    return rows


@login_required
def subject_list(request):
    subjects = list(
        subjects_visible_to(request.user)
        .annotate(active_websites=Count("websites", filter=Q(websites__status="active")))
        .order_by("-id")[:500]
    )
    open_orders = {
        o.subject_id: o
        for o in Order.objects.filter(subject__in=[s.pk for s in subjects], state__in=OPEN_STATES)
    }
    rows = [
        {"subject": s, "open_order": open_orders.get(s.pk), "province": provinces.by_code(s.province)}
        for s in subjects
    ]
    return render(request, "registry/subject_list.html", {"rows": rows, "nav": "subjects"})


@login_required
@service_errors_as_404
def subject_detail(request, subject_id: int):
    subject = subject_get(request.user, subject_id)
    actions = subject_actions(subject, request.user)
    order = open_order_of(subject)
    en = language().startswith("en")
    websites = [
        {
            "site": site,
            "domains": list(site.domains.all()),
            "actions": action_rows(actions["websites"].get(site.pk, {}), site.pk, en),
            "form_url": cancellation_form_url(site.number, "website")
            if site.status == "active" and site.number
            else None,
        }
        for site in subject.websites.all()
        if site.status in ("active", "pending")
    ]
    return render(
        request,
        "registry/subject_detail.html",
        {
            "subject_form_url": cancellation_form_url(subject.number, "subject") if subject.number else None,
            "subject_form_url_docx": cancellation_form_url(subject.number, "subject", fmt="docx")
            if subject.number
            else None,
            "subject": subject,
            "province": provinces.by_code(subject.province),
            "certificate": natures.certificate_type(subject.certificate_type),
            "subject_actions": action_rows(actions["subject"], subject.pk, en),
            "websites": websites,
            "past_websites": [s for s in subject.websites.all() if s.status == "cancelled"],
            "order": order,
            "stages": order_stages(order) if order else [],
            "en": en,
            "nav": "subjects",
        },
    )
