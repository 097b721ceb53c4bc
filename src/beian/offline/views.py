"""Pages of the province directory: all 31 bureaus, and one page per province."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from beian.offline.selectors import directory, province_entry
from beian.rules import provinces
from beian.rules.errors import ProvinceError


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
