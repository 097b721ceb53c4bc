"""The applicant's pages: file, change, cancel (with the preview of what stops), verify, abandon, recover.

Every page asks the same guards as the API before it shows a form, and shows a service refusal beside
the field it is about.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from beian.core.errors import ServiceError, throttled_page
from beian.core.http import client_ip, language
from beian.orders import forms, recovery, services, verification
from beian.orders.choices import KIND_EN, Kind, State
from beian.orders.selectors import order_get, order_stages, orders_visible_to
from beian.orders.services import guards
from beian.orders.services.guards import availability
from beian.orders.workflow import Action, legal_actions, move
from beian.registry.models import Domain
from beian.registry.selectors import subject_get, website_get
from beian.rules import provinces
from beian.web.errors import add_service_error, service_errors_as_404

# Refusals whose context names no form field, placed by their code.
CODE_FIELDS = {
    "bad_uscc": "certificate_number",
    "bad_uscc_check": "certificate_number",
    "bad_resident_id": "certificate_number",
    "bad_resident_id_check": "certificate_number",
    "bad_certificate_number": "certificate_number",
    "empty_certificate_number": "certificate_number",
    "certificate_type_not_allowed": "certificate_type",
    "certificate_in_use": "certificate_number",
    "unknown_province": "province",
    "domain_already_filed": "domain",
    "irreversible_confirmation_required": "acknowledge_irreversible",
    "last_domain": "remove_domains",
    "domain_not_on_website": "remove_domains",
    "responsible_name": "responsible_name",
}
SERVICE_FIELDS = {"website_responsible_name": "website_responsible_name", "name": "name"}


def show_error(form, exc: ServiceError, *, field_names: dict | None = None) -> None:
    if "field" not in exc.context and exc.code in CODE_FIELDS:
        exc.context["field"] = CODE_FIELDS[exc.code]
    add_service_error(form, exc, fields=field_names)


def _posted(request):
    """The submitted data of a POST (even an empty one: an unchecked form still gets its errors), else None."""
    return request.POST if request.method == "POST" else None


def _en() -> bool:
    return language().startswith("en")


def _kind_title(kind) -> str:
    """The order kind as a page title: 注销网站, or "Cancel website" in English."""
    return KIND_EN[Kind(kind)].capitalize() if _en() else Kind(kind).label


def _blocked_page(request, availability_, title, back_url):
    return render(
        request,
        "orders/unavailable.html",
        {"a": availability_, "title": title, "back_url": back_url, "en": _en()},
        status=availability_.status,  # 403 for someone who may see the subject but is not its applicant
    )


def _cancel_page(request, *, kind: Kind, subject, website=None):
    user = request.user
    back = redirect("subject_detail", subject.pk).url
    title = _kind_title(kind)
    a = availability(kind, subject, website, user)
    if not a.allowed:
        return _blocked_page(request, a, title, back)
    preview = services.cancellation_preview(kind=kind, subject=subject, website=website)
    form = forms.CancelForm(_posted(request))
    refusal = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if kind == Kind.CANCEL_SUBJECT:
                order = services.cancel_subject_submit(
                    actor=user, subject=subject, password=data["password"] or None, ip=client_ip(request),
                    acknowledge_irreversible=data["acknowledge_irreversible"], reason=data["reason"],
                )  # fmt: skip
            else:
                order = services.cancel_website_submit(
                    actor=user, website=website, password=data["password"] or None, ip=client_ip(request),
                    acknowledge_irreversible=data["acknowledge_irreversible"], reason=data["reason"],
                )  # fmt: skip
        except ServiceError as exc:
            show_error(form, exc)
            refusal = exc
        else:
            if order.state == State.AWAITING_VERIFICATION:
                return redirect("order_verify", order.pk)
            messages.success(request, _("注销申请已提交管局审核（订单 #%(id)s）。") % {"id": order.pk})
            return redirect("order_detail", order.pk)
    response = render(
        request,
        "orders/cancel.html",
        {
            "kind": kind,
            "title": title,
            "subject": subject,
            "website": website,
            "preview": preview,
            "form": form,
            "sms_mode": settings.BEIAN_CANCELLATION_VERIFICATION == "sms",
            "province": provinces.by_code(subject.province),
            "back_url": back,
            "en": _en(),
            "nav": "subjects",
        },
    )
    return throttled_page(response, refusal)


@login_required
@service_errors_as_404
def subject_cancel(request, subject_id: int):
    return _cancel_page(request, kind=Kind.CANCEL_SUBJECT, subject=subject_get(request.user, subject_id))


@login_required
@service_errors_as_404
def website_cancel(request, website_id: int):
    site = website_get(request.user, website_id)
    return _cancel_page(request, kind=Kind.CANCEL_WEBSITE, subject=site.subject, website=site)


@login_required
@service_errors_as_404
def website_cancel_access(request, website_id: int):
    site = website_get(request.user, website_id)
    subject = site.subject
    a = availability(Kind.CANCEL_ACCESS, subject, site, request.user)
    if not a.allowed:
        return _blocked_page(
            request, a, _kind_title(Kind.CANCEL_ACCESS), redirect("subject_detail", subject.pk).url
        )
    preview = services.cancellation_preview(kind=Kind.CANCEL_ACCESS, subject=subject, website=site)
    form = forms.CancelAccessForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            order = services.cancel_access_submit(
                actor=request.user,
                website=site,
                other_provider_serves=form.cleaned_data["other_provider_serves"],
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("取消接入申请已提交（订单 #%(id)s）。") % {"id": order.pk})
            return redirect("order_detail", order.pk)
    return render(
        request,
        "orders/cancel_access.html",
        {"website": site, "subject": subject, "preview": preview, "form": form, "nav": "subjects"},
    )


@login_required
@service_errors_as_404
def website_add_access(request, website_id: int):
    site = website_get(request.user, website_id)
    a = availability(Kind.ADD_ACCESS, site.subject, site, request.user)
    if not a.allowed:
        return _blocked_page(
            request, a, _kind_title(Kind.ADD_ACCESS), redirect("subject_detail", site.subject_id).url
        )
    if request.method == "POST":
        try:
            order = services.add_access_submit(actor=request.user, website=site)
        except ServiceError as exc:
            messages.error(request, exc.message(language()))
        else:
            messages.success(request, _("接入备案已提交（订单 #%(id)s）。") % {"id": order.pk})
            return redirect("order_detail", order.pk)
    return render(
        request, "orders/add_access.html", {"website": site, "subject": site.subject, "nav": "subjects"}
    )


@login_required
@service_errors_as_404
def website_change(request, website_id: int):
    site = website_get(request.user, website_id)
    subject = site.subject
    a = availability(Kind.CHANGE_WEBSITE, subject, site, request.user)
    if not a.allowed:
        return _blocked_page(request, a, _("变更网站信息"), redirect("subject_detail", subject.pk).url)
    domains = list(site.domains.filter(status="active"))
    initial = {
        "website_name": site.name,
        "homepage": site.homepage,
        "content_type": site.content_type,
        "website_responsible_name": site.responsible_name,
        "website_responsible_mobile": site.responsible_mobile,
        "website_responsible_email": site.responsible_email,
    }
    form = forms.ChangeWebsiteForm(_posted(request), initial=initial, domains=domains)
    if request.method == "POST" and form.is_valid():
        data = form.website_data()
        current = {"name": site.name, "homepage": site.homepage, "content_type": site.content_type, "responsible_name": site.responsible_name,
                   "responsible_mobile": site.responsible_mobile, "responsible_email": site.responsible_email}  # fmt: skip
        changes = {k: v for k, v in data.items() if v != current[k] and not (k == "content_type" and not v)}
        try:
            order = services.change_website_submit(
                actor=request.user, website=site, changes=changes, remove_domains=form.cleaned_data["remove_domains"],
                acknowledge_irreversible=form.cleaned_data["acknowledge_irreversible"],
            )  # fmt: skip
        except ServiceError as exc:
            show_error(
                form,
                exc,
                field_names={"name": "website_name", "responsible_name": "website_responsible_name"},
            )
        else:
            messages.success(request, _("变更网站信息已提交接入商初审（订单 #%(id)s）。") % {"id": order.pk})
            return redirect("order_detail", order.pk)
    return render(
        request,
        "orders/change_website.html",
        {
            "website": site,
            "subject": subject,
            "form": form,
            "domains": domains,
            "single_domain": len(domains) == 1,
            "nav": "subjects",
        },
    )


@login_required
@service_errors_as_404
def subject_change(request, subject_id: int):
    subject = subject_get(request.user, subject_id)
    a = availability(Kind.CHANGE_SUBJECT, subject, None, request.user)
    if not a.allowed:
        return _blocked_page(request, a, _("变更主体信息"), redirect("subject_detail", subject.pk).url)
    initial = {
        k: getattr(subject, k)
        for k in ("name", "address", "responsible_name", "responsible_mobile", "responsible_email")
    }
    form = forms.ChangeSubjectForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.subject_data().items() if v != initial[k]}
        try:
            order = services.change_subject_submit(actor=request.user, subject=subject, changes=changes)
        except ServiceError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("变更主体信息已提交接入商初审（订单 #%(id)s）。") % {"id": order.pk})
            return redirect("order_detail", order.pk)
    return render(
        request, "orders/change_subject.html", {"subject": subject, "form": form, "nav": "subjects"}
    )


@login_required
@service_errors_as_404
def subject_add_website(request, subject_id: int):
    subject = subject_get(request.user, subject_id)
    a = availability(Kind.ADD_WEBSITE, subject, None, request.user)
    if not a.allowed:
        return _blocked_page(
            request, a, _kind_title(Kind.ADD_WEBSITE), redirect("subject_detail", subject.pk).url
        )
    form = forms.AddWebsiteForm(_posted(request))
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            order = services.add_website_submit(
                actor=request.user,
                subject=subject,
                website=form.website_data(),
                domain=form.cleaned_data["domain"],
            )
        except ServiceError as exc:
            show_error(form, exc)
            if exc.code == "domain_already_filed":
                conflict = exc.context
        else:
            messages.success(request, _("新增网站已提交接入商初审（订单 #%(id)s）。") % {"id": order.pk})
            return redirect("order_detail", order.pk)
    return render(
        request,
        "orders/filing_form.html",
        {
            "form": form,
            "subject": subject,
            "title": _kind_title(Kind.ADD_WEBSITE),
            "conflict": conflict,
            "nav": "subjects",
        },
    )


@login_required
def new_filing(request):
    try:
        guards.filer(request.user)
    except ServiceError as exc:
        raise PermissionDenied(exc.message(language())) from None
    form = forms.NewFilingForm(_posted(request))
    conflict = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            order = services.new_filing_submit(
                actor=request.user, province=d["province"], nature=d["nature"], certificate_type=d["certificate_type"],
                certificate_number=d["certificate_number"], subject=form.subject_data(), website=form.website_data(), domain=d["domain"],
            )  # fmt: skip
        except ServiceError as exc:
            show_error(form, exc)
            if exc.code == "domain_already_filed":
                conflict = exc.context
        else:
            messages.success(request, _("首次备案已提交接入商初审（订单 #%(id)s）。") % {"id": order.pk})
            return redirect("order_detail", order.pk)
    return render(
        request,
        "orders/filing_form.html",
        {"form": form, "title": _kind_title(Kind.NEW_FILING), "conflict": conflict, "nav": "subjects"},
    )


def validate_domain(request):
    """Inline validation (htmx): what the rules say of the domain typed so far, and whether it is free."""
    from beian.core.errors import Conflict, Invalid
    from beian.orders.services import common

    value = request.GET.get("domain", "").strip()
    result = {"value": value}
    if value:
        try:
            info = common.filing_domain(value)
            result["info"] = info
            common.ensure_domain_free(info.filing_name, None)
        except (Invalid, Conflict) as exc:
            result["error"] = exc.message(language())
            result["conflict"] = exc.context if exc.code == "domain_already_filed" else None
    return render(request, "orders/_domain_check.html", result)


@login_required
def order_list(request):
    orders = orders_visible_to(request.user).order_by("-id")[:200]
    return render(request, "orders/order_list.html", {"orders": orders, "nav": "orders"})


@login_required
@service_errors_as_404
def order_detail(request, order_id: int):
    order = order_get(request.user, order_id)
    owner = order.subject.owner_id == request.user.pk
    moves = legal_actions(order)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "stages": order_stages(order),
            "events": order.events.select_related("actor").all(),
            "can_abandon": owner and Action.ABANDON in moves,
            "can_verify": owner and order.state == State.AWAITING_VERIFICATION,
            "at_bureau": order.state == State.BUREAU_REVIEW,
            "payload": order.payload,
            "changes": forms.change_rows(order),
            "released": Domain.objects.filter(
                website__subject=order.subject,
                name__in=order.payload.get("stops_serving", []),
                status="released",
            ).exists(),
            "nav": "orders",
        },
    )


@login_required
@require_POST
@service_errors_as_404
def order_abandon(request, order_id: int):
    order = order_get(request.user, order_id)
    try:
        move(order, Action.ABANDON, actor=request.user, expected_state=order.state)
    except ServiceError as exc:
        messages.error(request, exc.message(language()))
    else:
        messages.success(request, _("订单 #%(id)s 已放弃。") % {"id": order.pk})
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("order_detail", order.pk)


@login_required
@service_errors_as_404
def order_verify(request, order_id: int):
    order = order_get(request.user, order_id)
    if order.state != State.AWAITING_VERIFICATION:
        return redirect("order_detail", order.pk)
    form = forms.CodeForm(_posted(request))
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            verification.sms_verify(
                order_id=order.pk, code=form.cleaned_data["code"], actor=request.user, ip=client_ip(request)
            )
        except ServiceError as exc:
            show_error(form, exc)
            refusal = exc
            order.refresh_from_db()
            if order.state != State.AWAITING_VERIFICATION:
                messages.error(request, exc.message(language()))
                return redirect("order_detail", order.pk)
        else:
            messages.success(request, _("短信核验通过，注销申请已提交管局审核。"))
            return redirect("order_detail", order.pk)
    recipient = verification.sms_recipient(order)
    response = render(
        request,
        "orders/verify.html",
        {
            "order": order,
            "form": form,
            "masked_mobile": f"{recipient[:3]}****{recipient[-4:]}" if len(recipient) >= 7 else recipient,
            "resend_at": verification.sms_resend_available_at(order),
            "expires_at": order.sms_sent_at + verification.SMS_CODE_TTL if order.sms_sent_at else None,
            "nav": "orders",
        },
    )
    return throttled_page(response, refusal)


@login_required
@require_POST
@service_errors_as_404
def order_resend(request, order_id: int):
    order = order_get(request.user, order_id)
    try:
        verification.sms_resend(order_id=order.pk, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message(language()))
    else:
        messages.success(request, _("新的验证码已发送，原验证码失效。"))
    return redirect("order_verify", order.pk)


def password_recover(request):
    form = forms.RecoveryForm(_posted(request))
    sent = False
    refusal = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            recovery.recovery_request(
                number=d["number"],
                certificate_type=d["certificate_type"],
                certificate_number=d["certificate_number"],
                ip=client_ip(request),
            )
            sent = True
        except ServiceError as exc:
            show_error(form, exc)
            refusal = exc
    response = render(request, "orders/password_recover.html", {"form": form, "sent": sent})
    return throttled_page(response, refusal)


def password_reset(request):
    form = forms.ResetForm(_posted(request), initial={"token": request.GET.get("token", "")})
    if request.method == "POST" and form.is_valid():
        try:
            subject = recovery.password_reset(
                token=form.cleaned_data["token"], new_password=form.cleaned_data["new_password"]
            )
        except ServiceError as exc:
            show_error(form, exc)  # a bad token is shown above the form, with the way to a new link
        else:
            messages.success(
                request, _("主体 %(number)s 的备案密码已重置，请使用新密码。") % {"number": subject.number}
            )
            return redirect("home")
    return render(request, "orders/password_reset.html", {"form": form})
