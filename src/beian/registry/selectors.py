"""Reads of the registry: what a user may see, and what they may do with it (``subject_actions``)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from beian.core.errors import not_found
from beian.orders.choices import Kind
from beian.orders.services.guards import Availability, availability
from beian.registry.models import Domain, Subject, Website

SUBJECT_ACTIONS = (Kind.CANCEL_SUBJECT, Kind.ADD_WEBSITE, Kind.CHANGE_SUBJECT)
WEBSITE_ACTIONS = (Kind.CANCEL_WEBSITE, Kind.CHANGE_WEBSITE, Kind.CANCEL_ACCESS, Kind.ADD_ACCESS)


def subjects_visible_to(user) -> QuerySet[Subject]:
    """Applicants see their own subjects; provider reviewers and admins all; a bureau its province."""
    qs = Subject.objects.select_related("owner")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_admin_role or user.role == "provider_reviewer":
        return qs
    if user.role == "bureau_reviewer":
        return qs.filter(province=user.province)
    return qs.filter(owner=user)


def subject_get(user, subject_id: int) -> Subject:
    subject = (
        subjects_visible_to(user)
        .prefetch_related(
            Prefetch(
                "websites",
                queryset=Website.objects.prefetch_related(
                    Prefetch("domains", queryset=Domain.objects.order_by("id"))
                ),
            )
        )
        .filter(pk=subject_id)
        .first()
    )
    if subject is None:
        raise not_found("主体", "The subject", subject=subject_id)
    return subject


def website_get(user, website_id: int) -> Website:
    website = (
        Website.objects.select_related("subject")
        .filter(pk=website_id, subject__in=subjects_visible_to(user))
        .first()
    )
    if website is None:
        raise not_found("网站", "The website", website=website_id)
    return website


def subject_actions(subject: Subject, user) -> dict:
    """Every action on the subject and its websites: allowed, or the reason and the way out."""
    return {
        "subject": {kind.value: availability(kind, subject, None, user) for kind in SUBJECT_ACTIONS},
        "websites": {
            site.pk: {kind.value: availability(kind, subject, site, user) for kind in WEBSITE_ACTIONS}
            for site in subject.websites.all()
            if site.status == "active"
        },
    }


def availability_dict(a: Availability, language: str = "zh-hans") -> dict:
    return {
        "allowed": a.allowed,
        "reason": a.reason,
        "message": (a.message_en if language.startswith("en") else a.message) if not a.allowed else None,
        "blocking_order": a.blocking_order,
        "context": a.context or None,
    }
