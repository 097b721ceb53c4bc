"""/api/v1/orders and /api/v1/reviews: submit, read, abandon, verify; provider and bureau decisions."""

from __future__ import annotations

from ninja import Query, Router, Status

from beian.accounts.auth import api_auth
from beian.core.errors import Invalid
from beian.core.http import client_ip
from beian.orders import services, verification
from beian.orders.choices import Kind, State
from beian.orders.presenters import order_detail, order_summary, preview_dict
from beian.orders.schemas import (
    CodeIn,
    DecisionIn,
    OrderIn,
    OrderOut,
    OrderSummaryOut,
    PreviewOut,
    RejectIn,
    errors,
)
from beian.orders.selectors import order_get, orders_visible_to, review_queue, reviewable_order
from beian.orders.workflow import Action, move
from beian.registry.selectors import subject_get, website_get

router = Router(tags=["orders"], auth=api_auth)
reviews = Router(tags=["reviews"], auth=api_auth)

SUBJECT_KINDS = (Kind.CANCEL_SUBJECT, Kind.ADD_WEBSITE, Kind.CHANGE_SUBJECT)


def _need(value, field: str):
    if value is None:
        raise Invalid("required", f"请提供 {field}", f"{field} is required", field=field)
    return value


def _dump(schema) -> dict:
    return schema.dict(exclude_none=True) if schema is not None else {}


def _preview(request, kind: Kind, subject_id: int | None, website_id: int | None):
    if kind == Kind.CANCEL_SUBJECT:
        subject = subject_get(request.auth, _need(subject_id, "subject"))
        return services.cancellation_preview(kind=kind, subject=subject)
    site = website_get(request.auth, _need(website_id, "website"))
    return services.cancellation_preview(kind=kind, subject=site.subject, website=site)


@router.get(
    "/orders/preview",
    response={200: PreviewOut, **errors(401, 404, 422)},
    summary="What a cancellation will stop, before confirming",
)
def preview(request, kind: Kind, subject: int | None = None, website: int | None = None):
    if kind not in (Kind.CANCEL_SUBJECT, Kind.CANCEL_WEBSITE, Kind.CANCEL_ACCESS):
        raise Invalid(
            "preview_cancellations_only",
            "只有注销和取消接入有预览",
            "Only cancellations have a preview",
            field="kind",
        )
    return preview_dict(_preview(request, kind, subject, website))


@router.post(
    "/orders",
    # 403: not the applicant, a wrong filing password or CSRF; 409: a guard refused; 423: password locked.
    response={201: OrderOut, 200: PreviewOut, **errors(400, 401, 403, 404, 409, 422, 423, 429)},
    summary="Submit an order of any kind",
)
def submit(request, body: OrderIn):
    user, kind = request.auth, body.kind
    if body.dry_run:
        if kind not in (Kind.CANCEL_SUBJECT, Kind.CANCEL_WEBSITE, Kind.CANCEL_ACCESS):
            raise Invalid(
                "dry_run_cancellations_only",
                "只有注销和取消接入支持 dry_run",
                "dry_run is for cancellations only",
                field="dry_run",
            )
        return Status(200, preview_dict(_preview(request, kind, body.subject, body.website)))
    if kind == Kind.NEW_FILING:
        order = services.new_filing_submit(
            actor=user,
            province=_need(body.province, "province"),
            nature=_need(body.nature, "nature"),
            certificate_type=_need(body.certificate_type, "certificate_type"),
            certificate_number=_need(body.certificate_number, "certificate_number"),
            subject=_dump(body.subject_info),
            website=_dump(body.website_info),
            domain=_need(body.domain, "domain"),
        )
    elif kind in SUBJECT_KINDS:
        subject = subject_get(user, _need(body.subject, "subject"))
        if kind == Kind.ADD_WEBSITE:
            order = services.add_website_submit(
                actor=user,
                subject=subject,
                website=_dump(body.website_info),
                domain=_need(body.domain, "domain"),
            )
        elif kind == Kind.CHANGE_SUBJECT:
            order = services.change_subject_submit(actor=user, subject=subject, changes=body.changes or {})
        else:
            order = services.cancel_subject_submit(
                actor=user,
                subject=subject,
                password=body.password,
                ip=client_ip(request),
                acknowledge_irreversible=body.acknowledge_irreversible,
                reason=body.reason or "",
            )
    else:
        site = website_get(user, _need(body.website, "website"))
        if kind == Kind.ADD_ACCESS:
            order = services.add_access_submit(actor=user, website=site)
        elif kind == Kind.CHANGE_WEBSITE:
            order = services.change_website_submit(
                actor=user,
                website=site,
                changes=body.changes or {},
                remove_domains=body.remove_domains or [],
                acknowledge_irreversible=body.acknowledge_irreversible,
            )
        elif kind == Kind.CANCEL_WEBSITE:
            order = services.cancel_website_submit(
                actor=user,
                website=site,
                password=body.password,
                ip=client_ip(request),
                acknowledge_irreversible=body.acknowledge_irreversible,
                reason=body.reason or "",
            )
        else:
            order = services.cancel_access_submit(
                actor=user,
                website=site,
                other_provider_serves=body.other_provider_serves,
                reason=body.reason or "",
            )
    return Status(201, order_detail(order))


@router.get(
    "/orders", response={200: list[OrderSummaryOut], **errors(401, 422)}, summary="My orders, newest first"
)
def list_orders(request, state: State | None = None, open: bool = False):
    qs = orders_visible_to(request.auth)
    if state:
        qs = qs.filter(state=state)
    if open:
        qs = qs.filter(state__in=("provider_review", "awaiting_verification", "bureau_review"))
    return [order_summary(o) for o in qs.order_by("-id")[:500]]


@router.get(
    "/orders/{order_id}",
    response={200: OrderOut, **errors(401, 404, 422)},
    summary="One order with its timeline",
)
def get_order(request, order_id: int):
    return order_detail(order_get(request.auth, order_id))


@router.post(
    "/orders/{order_id}/abandon",
    response={200: OrderOut, **errors(401, 403, 404, 409, 422)},
    summary="Abandon (放弃) an order before it reaches the bureau",
)
def abandon(request, order_id: int):
    order = order_get(request.auth, order_id)
    return order_detail(move(order, Action.ABANDON, actor=request.auth))


@router.post(
    "/orders/{order_id}/verify",
    response={200: OrderOut, **errors(400, 401, 403, 404, 409, 422, 429)},
    summary="Enter the SMS code (短信核验)",
)
def verify(request, order_id: int, body: CodeIn):
    order = order_get(request.auth, order_id)
    return order_detail(
        verification.sms_verify(order_id=order.pk, code=body.code, actor=request.auth, ip=client_ip(request))
    )


@router.post(
    "/orders/{order_id}/resend",
    response={200: OrderOut, **errors(401, 403, 404, 409, 422, 429)},
    summary="Send a new SMS code (after a cooldown)",
)
def resend(request, order_id: int):
    order = order_get(request.auth, order_id)
    return order_detail(verification.sms_resend(order_id=order.pk, actor=request.auth))


@reviews.get(
    "/reviews",
    response={200: list[OrderSummaryOut], **errors(401, 403, 422)},
    summary="The reviewer's queue, oldest first",
)
def queue(request, stage: str = Query(..., pattern="^(provider|bureau)$")):
    return [order_summary(o) for o in review_queue(request.auth, stage)[:500]]


def _decide(request, order_id: int, approve: bool, note: str):
    order = reviewable_order(request.auth, order_id)
    if order.state == State.PROVIDER_REVIEW:
        action = Action.PROVIDER_APPROVE if approve else Action.PROVIDER_REJECT
    else:
        action = Action.BUREAU_APPROVE if approve else Action.BUREAU_REJECT
    return order_detail(move(order, action, actor=request.auth, note=note, expected_state=order.state))


@reviews.post(
    "/reviews/{order_id}/approve",
    response={200: OrderOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="Approve at the reviewer's stage",
)
def approve(request, order_id: int, body: DecisionIn):
    return _decide(request, order_id, True, body.note or "")


@reviews.post(
    "/reviews/{order_id}/reject",
    response={200: OrderOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="Reject at the reviewer's stage (a reason is required)",
)
def reject(request, order_id: int, body: RejectIn):
    return _decide(request, order_id, False, body.reason)
