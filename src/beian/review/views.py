"""Reviewer pages: the provider queue, the bureau queue of the reviewer's province (Hunan grouped by its
Friday batch), a dashboard with server-rendered charts, and the order page with approve / reject."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from beian.core.errors import NotAllowed, ServiceError
from beian.core.http import language
from beian.orders.forms import DecisionForm, change_rows
from beian.orders.selectors import order_stages, review_queue, reviewable_order
from beian.orders.workflow import Action, move
from beian.review import charts, selectors
from beian.rules import provinces
from beian.rules.errors import ProvinceError
from beian.web.errors import service_errors_as_404


@login_required
def queue(request, stage: str):
    user = request.user
    try:
        orders = review_queue(user, stage)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message(language())) from None
    province = user.province if user.role == "bureau_reviewer" else (request.GET.get("province") or None)
    if province:
        try:  # ?province= is typed by hand: an unknown code is a 404 (as on the shells page), never a 500
            province = provinces.by_code(province).code
        except ProvinceError:
            raise Http404("unknown province") from None
    if stage == "bureau" and province:
        orders = orders.filter(province=province)
    rows = selectors.queue_rows(orders[:1000])
    en = language().startswith("en")
    for row in rows:
        place = provinces.by_code(row["order"].province)
        row["province_name"] = place.name_en if en else place.short_name
    hist = selectors.age_histogram(rows)
    per_day = selectors.decisions_per_day(stage=stage, province=province)
    prov = provinces.by_code(province) if province else None
    context = {
        "stage": stage,
        "rows": rows,
        "groups": selectors.group_by_batch(rows) if prov and prov.friday_batch else None,
        "province": prov,
        "overdue": sum(r["overdue"] for r in rows),
        "decided_30": sum(a + r for _, a, r in per_day),
        "approved_30": sum(a for _, a, _ in per_day),
        "age_chart": charts.bar_chart(
            [(label, [(n, "")]) for label, n in hist], title=_("待审订单按等待时长（工作日）")
        ),
        "decision_chart": charts.bar_chart(
            [(f"{day:%m-%d}", [(a, "ok"), (r, "bad")]) for day, a, r in per_day],
            title=_("近 30 天每日审核数（通过 / 驳回）"),
        ),
        "nav": f"review_{stage}",
        "provinces": provinces.all_provinces() if user.is_superuser or user.role == "admin" else (),
    }
    return render(request, "review/queue.html", context)


@login_required
@service_errors_as_404
def order_review(request, order_id: int):
    try:
        order = reviewable_order(request.user, order_id)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message(language())) from None
    subject = order.subject
    return render(
        request,
        "review/order.html",
        {
            "order": order,
            "subject": subject,
            "province": provinces.by_code(subject.province),
            "websites": [order.website]
            if order.website
            else list(subject.websites.filter(status__in=("active", "pending"))),
            "stages": order_stages(order),
            "events": order.events.all(),
            "form": DecisionForm(),
            "changes": change_rows(order),
            "can_decide": order.state in ("provider_review", "bureau_review"),
            "nav": "review_provider" if order.state == "provider_review" else "review_bureau",
        },
    )


@login_required
@require_POST
@service_errors_as_404
def order_decide(request, order_id, decision: str):
    order_id = int(order_id)
    try:
        order = reviewable_order(request.user, order_id)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message(language())) from None
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    stage = "provider" if order.state == "provider_review" else "bureau"
    action = {
        ("provider", "approve"): Action.PROVIDER_APPROVE,
        ("provider", "reject"): Action.PROVIDER_REJECT,
        ("bureau", "approve"): Action.BUREAU_APPROVE,
        ("bureau", "reject"): Action.BUREAU_REJECT,
    }[(stage, decision)]
    try:
        move(order, action, actor=request.user, note=note, expected_state=order.state)
    except ServiceError as exc:
        messages.error(request, exc.message(language()))
        return redirect("review_order", order.pk)
    label = _("审核通过") if decision == "approve" else _("已驳回")
    messages.success(request, _("订单 #%(id)s %(label)s。") % {"id": order.pk, "label": label})
    return redirect("review_queue", stage)
