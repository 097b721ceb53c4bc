"""The public query page (公共查询): one box, the same answer as the API."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

from beian.core.http import client_ip
from beian.lookup import throttle
from beian.lookup.selectors import public_query
from beian.orders.services.common import cancellation_form_url


def query_page(request):
    q = request.GET.get("q", "").strip()
    try:
        page = max(1, min(int(request.GET.get("page", "1")), 50))
    except ValueError:
        page = 1
    answer = None
    wait = 0.0
    if q:
        wait = throttle.take(
            client_ip(request), rate=settings.BEIAN_PUBLIC_RATE, burst=settings.BEIAN_PUBLIC_BURST
        )
        if not wait:
            answer = public_query(q, page)
            for row in answer["results"]:
                row["form_url"] = cancellation_form_url(row["website_number"], "website")
    response = render(
        request,
        "lookup/query.html",
        {"q": q, "answer": answer, "page": page, "wait": int(wait), "nav": "query"},
    )
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(int(wait))
    return response
