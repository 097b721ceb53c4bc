"""/api/v1/public/filings: the public query (no sign-in, no captcha), single and batch."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, Query, Router, Schema

from beian.core.errors import Throttled
from beian.core.http import client_ip
from beian.lookup import throttle
from beian.lookup.selectors import MAX_QUERY, public_query_json
from beian.orders.schemas import errors

router = Router(tags=["public query"])


class FilingOut(Schema):
    unit_name: str
    nature: str
    subject_number: str
    website_number: str
    website_name: str
    homepage: str
    domain: str
    approved_at: str | None
    content_type: str
    limit_access: bool


class QueryOut(Schema):
    query: dict[str, str]
    results: list[FilingOut]
    next: int | None


class BatchIn(Schema):
    keys: list[str] = Field(..., min_length=1, max_length=100)


def _limit(request, cost: float = 1.0) -> None:
    wait = throttle.take(
        client_ip(request), rate=settings.BEIAN_PUBLIC_RATE, burst=settings.BEIAN_PUBLIC_BURST, cost=cost
    )
    if wait:
        raise Throttled(
            "throttled",
            f"查询过于频繁，请 {int(wait)} 秒后再试",
            f"Too many queries; try again in {int(wait)} seconds",
            retry_after=int(wait),
        )


def _json(body: str, *, cors: bool) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    origins = settings.BEIAN_PUBLIC_CORS_ORIGINS
    if cors and origins:
        response["Access-Control-Allow-Origin"] = "*" if "*" in origins else ",".join(origins)
        response["Vary"] = "Origin"
    return response


@router.get(
    "/public/filings",
    response={200: QueryOut, **errors(422, 429)},
    summary="公共查询: a filing number, a domain or URL, or a subject name",
)
def query(request, q: str = Query(..., max_length=1000), page: int = Query(1, ge=1, le=50)):
    _limit(request)
    return _json(public_query_json(q[:MAX_QUERY], page), cors=True)


# The lean path. django-ninja's per-request work (parameter validation into a pydantic model, operation
# dispatch) costs about as much as a number query itself, so web.urls routes GET /api/v1/public/filings here
# first. The common request — ``q`` given once, ``page`` absent or a plain number from 1 to 50 — is answered
# directly, with the same function as the operation above; anything else (a missing or repeated ``q``, a
# ``page`` out of range or not a plain number, another method) is handed to the ninja operation, which answers
# exactly as before (its 422 body, its 405). The operation stays the documented one in the OpenAPI schema.
PAGES = {str(n): n for n in range(1, 51)}
_ninja_view = None


def _fallback(request):
    global _ninja_view
    if _ninja_view is None:
        from django.urls import URLResolver, get_resolver

        # The ninja operation's own view, as the URLconf already holds it (behind this one).
        api_urls = next(
            p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api"
        )
        _ninja_view = next(p for p in api_urls.url_patterns if str(p.pattern) == "public/filings").callback
    return _ninja_view(request)


@csrf_exempt
def public_filings(request):
    """GET /api/v1/public/filings, ahead of the ninja operation ``query`` (same answers)."""
    params = request.GET
    if request.method != "GET" or len(params.getlist("q")) != 1:
        return _fallback(request)
    q = params["q"]
    pages = params.getlist("page")
    page = PAGES.get(pages[0]) if len(pages) == 1 else 1 if not pages else None
    if page is None or len(q) > 1000:
        return _fallback(request)
    try:
        _limit(request)
        body = public_query_json(q[:MAX_QUERY], page)
    except Exception as exc:  # answered as the API answers it: Throttled → 429, anything else → JSON 500
        from beian.web.api import api

        return api.on_exception(request, exc)
    return _json(body, cors=True)


@router.post(
    "/public/filings:batch",
    response={200: dict[str, QueryOut], **errors(400, 422, 429)},
    summary="Up to 100 keys at once",
)
def batch(request, body: BatchIn):
    _limit(request, cost=len(body.keys))
    # each answer is already JSON text: joined, not parsed and written again
    answers = ",".join(
        f"{json.dumps(key, ensure_ascii=False)}:{public_query_json(key[:MAX_QUERY], 1)}"
        for key in dict.fromkeys(body.keys)
    )
    return _json("{" + answers + "}", cors=False)
