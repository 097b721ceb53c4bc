"""/api/v1/provinces (the directory), /api/v1/filings/{number}/cancellation-form (the pre-filled form),
/api/v1/offline/applications (a bureau registers a paper application) and /api/v1/shells (空壳清理)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from beian.accounts.auth import api_auth
from beian.core.errors import Invalid, NotAllowed, not_found
from beian.offline import services
from beian.offline.selectors import directory, province_entry
from beian.orders.presenters import order_detail
from beian.orders.schemas import OrderOut, errors
from beian.rules import provinces
from beian.rules.errors import ProvinceError

router = Router(tags=["offline cancellation"])


class ProvinceOut(Schema):
    code: str
    name: str
    name_en: str
    abbreviation: str
    aliases: list[str]
    bureau: str
    bureau_en: str
    offline_channel: str
    offline_channel_label: str
    offline_channel_label_en: str
    offline_url: str
    portal_url: str
    seed_url: str
    notes: str
    needs_account: bool
    shell_subject_may_add_website: bool
    materials: list[dict[str, Any]]
    data_checked: str
    next_processing_date: str | None
    next_processing_note: str


@router.get(
    "/provinces",
    response=list[ProvinceOut],
    summary="The 31 bureaus and how each takes offline cancellations",
)
def list_provinces(request):
    return directory()


@router.get(
    "/provinces/{code}",
    response={200: ProvinceOut, **errors(404)},
    summary="One province's bureau (GB/T 2260 code, e.g. 43)",
)
def get_province(request, code: str):
    try:
        return province_entry(provinces.by_code(code))
    except ProvinceError:
        raise not_found("省份", "The province", province=code) from None


@router.get(
    "/filings/{number}/cancellation-form",
    summary="The pre-filled 注销备案申请表 (.docx or .pdf) of an active filing",
    response={200: None, **errors(404, 422)},
    openapi_extra={
        "responses": {
            200: {
                "description": "The form as an attachment",
                "content": {
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in services.FORMATS.values()
                },
            }
        }
    },
)
def cancellation_form(
    request, number: str, format: str = "pdf", type: str | None = None, new_owner_domain: str | None = None
):
    content, content_type, filename = services.cancellation_form(
        number=number, fmt=format, cancellation_type=type, new_owner_domain=new_owner_domain
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _bureau(user) -> None:
    if not (user.is_admin_role or user.role == "bureau_reviewer"):
        raise NotAllowed("not_bureau", "只有管局审核员可以办理", "Only a bureau reviewer can do this")


@router.post(
    "/offline/applications",
    response={201: OrderOut, **errors(401, 403, 404, 409, 422)},
    auth=api_auth,
    summary="A bureau registers a paper cancellation application",
)
def register_application(
    request,
    number: Form[str],
    scan: File[UploadedFile],
    type: Form[str | None] = None,
    received_via: Form[str] = "counter",
    applicant_name: Form[str] = "",
    new_domain_owner: Form[bool] = False,
    note: Form[str] = "",
):
    _bureau(request.auth)
    if scan.size and scan.size > services.MAX_SCAN_BYTES:
        raise Invalid(
            "scan_too_large",
            "扫描件不能超过 20 MB",
            "The scan is larger than 20 MB",
            field="scan",
            size=scan.size,
        )
    order = services.offline_register(
        actor=request.auth,
        number=number,
        cancellation_type=type,
        scan=scan.read(services.MAX_SCAN_BYTES + 1),
        scan_name=scan.name or "",
        received_via=received_via,
        applicant_name=applicant_name,
        new_domain_owner=new_domain_owner,
        note=note,
    )
    return Status(201, order_detail(order))


class ShellItem(Schema):
    id: int
    number: str | None
    name: str
    shell_since: Any
    days: int | None


class ShellsOut(Schema):
    province: str
    subjects: list[ShellItem]
    websites: list[ShellItem]


class CleanupIn(Schema):
    subjects: list[int] = Field(default_factory=list, max_length=1000)
    websites: list[int] = Field(default_factory=list, max_length=1000)
    reason: str = Field(..., max_length=500)


def _province_of(request, province: str | None) -> str:
    user = request.auth
    _bureau(user)
    if user.role == "bureau_reviewer":
        return user.province
    if not province:
        raise Invalid("province_required", "请指定省份代码", "Give the province code", field="province")
    return provinces.by_code(province).code


@router.get(
    "/shells",
    response={200: ShellsOut, **errors(400, 401, 403, 422)},
    auth=api_auth,
    summary="The province's shell subjects and shell websites (空壳)",
)
def list_shells(request, province: str | None = None):
    code = _province_of(request, province)
    shells = services.shells_of_province(code)
    return {
        "province": code,
        "subjects": [
            {
                "id": r["subject"].pk,
                "number": r["subject"].number,
                "name": r["subject"].name,
                "shell_since": r["subject"].shell_since,
                "days": r["days"],
            }
            for r in shells["subjects"]
        ],
        "websites": [
            {
                "id": r["website"].pk,
                "number": r["website"].number,
                "name": r["website"].name,
                "shell_since": r["website"].shell_since,
                "days": r["days"],
            }
            for r in shells["websites"]
        ],
    }


class CleanupResult(Schema):
    kind: str
    id: int
    ok: bool
    number: str | None = None
    order: int | None = Field(None, description="the approved offline order, when ok")
    code: str | None = Field(None, description="why not, when not ok")
    message: str | None = None


class CleanupOut(Schema):
    results: list[CleanupResult]


@router.post(
    "/shells/cleanup",
    response={200: CleanupOut, **errors(400, 401, 403, 404, 422)},
    exclude_none=True,
    auth=api_auth,
    summary="空壳清理: force-cancel shells of the province, each through the engine",
)
def cleanup(request, body: CleanupIn, province: str | None = None):
    code = _province_of(request, province)
    from beian.registry.models import Subject, Website

    foreign = (
        Subject.objects.filter(pk__in=body.subjects).exclude(province=code).exists()
        or Website.objects.filter(pk__in=body.websites).exclude(subject__province=code).exists()
    )
    if foreign:
        raise not_found("空壳", "The shell", province=code)
    return {
        "results": services.shells_force_cancel(
            actor=request.auth, subjects=body.subjects, websites=body.websites, reason=body.reason
        )
    }
