"""Pages of the province directory: all 31 bureaus, and one page per province."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from beian.core.errors import Invalid, ServiceError
from beian.core.http import language
from beian.offline import services
from beian.offline.selectors import directory, province_entry
from beian.orders.services.common import cancellation_form_url
from beian.rules import provinces
from beian.rules.errors import ProvinceError
from beian.web.errors import add_service_error


def province_list(request):
    return render(
        request,
        "offline/province_list.html",
        {"entries": directory(), "checked": provinces.data_checked(), "nav": "provinces"},
    )


def province_detail(request, code: str):
    try:
        province = provinces.by_code(code)
    except ProvinceError:
        raise Http404("unknown province") from None
    return render(
        request, "offline/province_detail.html", {"p": province_entry(province), "nav": "provinces"}
    )


# --- bureau pages: register a paper application, shells -------------------------------------------------


class RegisterForm(forms.Form):
    number = forms.CharField(
        label=_l("备案号"),
        max_length=200,
        help_text=_l("注销主体填主体备案号，注销网站填网站备案号（带 -n）"),
    )
    cancellation_type = forms.ChoiceField(
        label=_l("注销类型"), choices=[("subject", _l("注销主体")), ("website", _l("注销网站"))]
    )
    received_via = forms.ChoiceField(
        label=_l("递交方式"),
        choices=[
            ("counter", _l("窗口递交")),
            ("post", _l("邮寄")),
            ("bureau_system", _l("管局系统在线申请")),
        ],
    )
    applicant_name = forms.CharField(label=_l("申请人"), max_length=200, required=False)
    new_domain_owner = forms.BooleanField(label=_l("申请人为域名新持有人（已核对域名证书）"), required=False)
    scan = forms.FileField(label=_l("申请表扫描件（PDF、JPEG 或 PNG，不超过 20 MB）"))
    note = forms.CharField(label=_l("备注"), max_length=500, required=False)


def _require_bureau(user) -> None:
    if not (user.is_admin_role or user.role == "bureau_reviewer"):
        raise PermissionDenied(_("只有管局审核员可以办理"))


@login_required
def bureau_register(request):
    _require_bureau(request.user)
    form = RegisterForm(request.POST or None, request.FILES or None)
    filing = None
    lookup = request.GET.get("number", "").strip()
    if lookup:
        try:
            filing = services.filing_lookup(lookup)
        except ServiceError as exc:
            messages.error(request, exc.message(language()))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        upload = d["scan"]
        try:
            if upload.size > services.MAX_SCAN_BYTES:
                raise Invalid(
                    "scan_too_large", "扫描件不能超过 20 MB", "The scan is larger than 20 MB", field="scan"
                )
            order = services.offline_register(
                actor=request.user,
                number=d["number"],
                cancellation_type=d["cancellation_type"],
                scan=upload.read(),
                scan_name=upload.name,
                received_via=d["received_via"],
                applicant_name=d["applicant_name"],
                new_domain_owner=d["new_domain_owner"],
                note=d["note"],
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("线下注销申请已登记为订单 #%(id)s，请在管局审核队列中审核。") % {"id": order.pk}
            )
            return redirect("review_order", order.pk)
    form_url = None
    if filing:
        number = filing.website.number if filing.website else filing.subject.number
        form_url = cancellation_form_url(number, "website" if filing.website else "subject")
    return render(
        request,
        "offline/register.html",
        {"form": form, "filing": filing, "lookup": lookup, "form_url": form_url, "nav": "bureau_register"},
    )


@login_required
def bureau_shells(request):
    _require_bureau(request.user)
    user = request.user
    code = (
        user.province
        if user.role == "bureau_reviewer"
        else (request.GET.get("province") or request.POST.get("province") or "11")
    )
    try:
        province = provinces.by_code(code)
    except ProvinceError:
        raise Http404("unknown province") from None
    results = None
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        subject_ids = [int(x) for x in request.POST.getlist("subjects") if x.isdigit()]
        website_ids = [int(x) for x in request.POST.getlist("websites") if x.isdigit()]
        shells = services.shells_of_province(province.code)
        allowed_s = {r["subject"].pk for r in shells["subjects"]}
        allowed_w = {r["website"].pk for r in shells["websites"]}
        if not subject_ids and not website_ids:
            messages.error(request, _("请至少选择一个空壳主体或空壳网站"))
        else:
            try:
                results = services.shells_force_cancel(
                    actor=user,
                    subjects=[i for i in subject_ids if i in allowed_s],
                    websites=[i for i in website_ids if i in allowed_w],
                    reason=reason,
                )
            except ServiceError as exc:
                messages.error(request, exc.message(language()))
    return render(
        request,
        "offline/shells.html",
        {
            "shells": services.shells_of_province(province.code),
            "province": province,
            "results": results,
            "nav": "bureau_shells",
        },
    )
