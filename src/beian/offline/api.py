"""/api/v1/provinces: the province directory for offline cancellation."""

from __future__ import annotations

from typing import Any

from ninja import Router, Schema

from beian.core.errors import not_found
from beian.offline.selectors import directory, province_entry
from beian.rules import provinces
from beian.rules.errors import ProvinceError

router = Router(tags=["provinces"])


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
    "/provinces/{code}", response=ProvinceOut, summary="One province's bureau (GB/T 2260 code, e.g. 43)"
)
def get_province(request, code: str):
    try:
        return province_entry(provinces.by_code(code))
    except ProvinceError:
        raise not_found("省份", "The province", code=code) from None
