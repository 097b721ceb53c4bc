"""/api/v1/public/filings: the public query (no sign-in, no captcha), single and batch."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
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


def wait_for(ip: str, cost: float = 1.0) -> float:
    """Take ``cost`` queries from the address's allowance: 0, or the seconds to wait (the lane asks too)."""
    return throttle.take(ip, rate=settings.BEIAN_PUBLIC_RATE, burst=settings.BEIAN_PUBLIC_BURST, cost=cost)


def _limit(request, cost: float = 1.0) -> None:
    wait = wait_for(client_ip(request), cost)
    if wait:
        raise Throttled(
            "throttled",
            f"查询过于频繁，请 {int(wait)} 秒后再试",
            f"Too many queries; try again in {int(wait)} seconds",
            retry_after=int(wait),
        )


def json_response(body: str, *, cors: bool) -> HttpResponse:
    """The public query's JSON answer, with the CORS headers the settings allow (``cors``: for GET)."""
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    origins = settings.BEIAN_PUBLIC_CORS_ORIGINS
    if cors and origins:
        response["Access-Control-Allow-Origin"] = "*" if "*" in origins else ",".join(origins)
        response["Vary"] = "Origin"
    return response


@router.api_operation(
    ["GET", "HEAD"],
    "/public/filings",
    response={200: QueryOut, **errors(422, 429)},
    summary="公共查询: a filing number, a domain or URL, or a subject name",
)
def query(request, q: str = Query(..., max_length=1000), page: int = Query(1, ge=1, le=50)):
    _limit(request)
    return json_response(
        public_query_json(q[:MAX_QUERY], page), cors=True
    )  # HEAD: its body dropped (lookup.lane)


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
    return json_response("{" + answers + "}", cors=False)
