"""/api/v1/subjects: the applicant's subjects with their websites, open order and available actions."""

from __future__ import annotations

from django.db.models import Count, Q
from ninja import Router

from beian.accounts.auth import api_auth
from beian.orders.choices import OPEN_STATES
from beian.orders.presenters import subject_detail
from beian.orders.schemas import SubjectOut, SubjectSummaryOut, errors
from beian.registry.selectors import subject_get, subjects_visible_to

router = Router(tags=["subjects"], auth=api_auth)


@router.get("/subjects", response={200: list[SubjectSummaryOut], **errors(401)}, summary="My subjects (主体)")
def list_subjects(request):
    from beian.orders.models import Order

    qs = (
        subjects_visible_to(request.auth)
        .annotate(website_count=Count("websites", filter=Q(websites__status="active")))
        .order_by("id")
    )
    open_orders = dict(
        Order.objects.filter(subject__in=qs, state__in=OPEN_STATES).values_list("subject_id", "id")
    )
    return [
        {
            "id": s.pk,
            "number": s.number,
            "name": s.name,
            "province": s.province,
            "status": s.status,
            "is_shell": s.is_shell,
            "website_count": s.website_count,
            "open_order": open_orders.get(s.pk),
        }
        for s in qs[:1000]
    ]


@router.get(
    "/subjects/{subject_id}",
    response={200: SubjectOut, **errors(401, 404, 422)},
    summary="One subject with its websites and actions",
)
def get_subject(request, subject_id: int):
    return subject_detail(subject_get(request.auth, subject_id), request.auth)
